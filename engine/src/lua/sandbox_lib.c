/*
 * sandbox_lib.c -- the other library functions the sandbox replaces because
 * they can loop in C or call back into Lua (coroutine.wrap/resume,
 * table.sort/insert, os.date): each checks the deadline and bounds the C
 * stack before re-entering Lua.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox_internal.h"

/* ======================================================================== */
/* Other sbx__guarded library functions                                          */
/* ======================================================================== */

/* Call upvalue 1 with this function's arguments. */
static int sbx__forward(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* A C function the policy can reach that calls back into Lua: check the
 * deadline and the C stack on entry, then sbx__forward. */
int sbx__guarded(lua_State *L)
{
    struct fl_lmem *m = sbx__lmem_of(L);
    sbx__check_deadline(L, m);
    sbx__check_cstack(L, m);
    return sbx__forward(L);
}

/* coroutine.wrap, built on the sbx__guarded resume. */
static int co_wrap_aux(lua_State *L)
{
    struct fl_lmem *m = sbx__lmem_of(L);
    sbx__check_cstack(L, m);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2)); /* resume */
    lua_pushvalue(L, lua_upvalueindex(1)); /* the coroutine */
    for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
    lua_call(L, n + 1, LUA_MULTRET);
    if (!lua_toboolean(L, n + 1)) {
        lua_settop(L, n + 2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return lua_gettop(L) - n - 1;
}

int sbx__co_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, lua_upvalueindex(1)); /* coroutine.create */
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_pushvalue(L, lua_upvalueindex(2)); /* sbx__guarded resume */
    lua_pushcclosure(L, co_wrap_aux, 2);
    return 1;
}

/* table.sort: every comparison goes through this metered comparator. */
static int sbx__sort_cmp(lua_State *L)
{
    struct fl_lmem *m = sbx__lmem_of(L);
    sbx__meter(L, m, 4);
    sbx__check_cstack(L, m);
    if (lua_isnil(L, lua_upvalueindex(1))) {
        lua_pushboolean(L, lua_lessthan(L, 1, 2));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

int sbx__t_sort(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushcclosure(L, sbx__sort_cmp, 1); /* the user's comparator or nil */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 0);
    return 0;
}

/* table.insert: LuaJIT's loops in C from #t+1 down to any int32 position. */
int sbx__t_insert(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int nargs = lua_gettop(L);
    if (nargs == 3) {
        lua_Number n = (lua_Number)lua_objlen(L, 1), pos = luaL_checknumber(L, 2);
        if (!(pos >= 1 && pos <= n + 1 && pos == floor(pos))) luaL_argerror(L, 2, "position out of bounds");
    } else if (nargs != 2) {
        luaL_error(L, "wrong number of arguments to 'insert'");
    }
    return sbx__forward(L);
}

/* os.date: a bounded format with the C99 conversions only. */
int sbx__os_date(lua_State *L)
{
    size_t len = 0;
    const char *f = luaL_optlstring(L, 1, "%c", &len);
    if (len > 256) luaL_argerror(L, 1, "format longer than 256 bytes");
    for (size_t i = 0; i < len; i++)
        if (f[i] == '%') {
            char c = i + 1 < len ? f[++i] : '\0';
            if (!c || !strchr("aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%", c))
                luaL_argerror(L, 1, "unsupported conversion in format");
        } else if (f[i] == '\0') {
            luaL_argerror(L, 1, "format contains a NUL byte");
        }
    if (!lua_isnoneornil(L, 2)) {
        lua_Number t = luaL_checknumber(L, 2);
        if (!(t >= -1e11 && t <= 1e11)) luaL_argerror(L, 2, "time out of range");
    }
    return sbx__forward(L);
}

