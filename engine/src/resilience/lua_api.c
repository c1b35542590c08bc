/*
 * lua_api.c -- read-only functions a handler may call to consult the
 * resilience state: breaker_state, limiter_tokens, budget_left,
 * bulkhead_inflight.  Each takes (name [, key]) and returns nil for an
 * undeclared name.  Looking at a key never creates its state.
 */
#include <lauxlib.h>
#include <lua.h>

#include "resilience/resilience.h"

/* The object and the key's state (NULL when the key was never used). */
static fl_robj *lookup(lua_State *L, fl_resil_kind kind, void **state)
{
    fl_resil_t *r = lua_touserdata(L, lua_upvalueindex(1));
    const char *name = luaL_checkstring(L, 1);
    const char *key = luaL_optstring(L, 2, NULL);
    fl_robj *o = fl_resil_find(r, kind, name);
    *state = NULL;
    if (o)
        *state = (!key || !key[0]) ? o->dflt : fl_keymap_find(&o->keys, key, fl_key_hash(key));
    return o;
}

static int l_breaker_state(lua_State *L)
{
    void *s;
    fl_robj *o = lookup(L, FL_RESIL_BREAKER, &s);
    fl_breaker_state st = FL_BREAKER_CLOSED;
    if (!o)
        return lua_pushnil(L), 1;
    if (s)
        st = fl_breaker_peek(o, s, fl_resil_clock(o->r), NULL);
    else if (atomic_load_explicit(&o->forced, memory_order_relaxed))
        st = (fl_breaker_state)atomic_load_explicit(&o->forced, memory_order_relaxed);
    lua_pushstring(L, fl_breaker_state_name(st));
    return 1;
}

static int l_limiter_tokens(lua_State *L)
{
    void *s;
    fl_robj *o = lookup(L, FL_RESIL_LIMITER, &s);
    const fl_lcfg *c;
    if (!o)
        return lua_pushnil(L), 1;
    c = atomic_load_explicit(&o->cfg, memory_order_acquire);
    lua_pushnumber(L, s ? fl_limiter_available(o, s, fl_resil_clock(o->r))
                        : (double)c->burst_ns / (double)c->interval_ns);
    return 1;
}

static int l_budget_left(lua_State *L)
{
    void *s;
    fl_robj *o = lookup(L, FL_RESIL_BUDGET, &s);
    int64_t left;
    if (!o)
        return lua_pushnil(L), 1;
    if (s) {
        fl_budget_read(o, s, fl_resil_clock(o->r), NULL, NULL, &left);
    } else {
        const fl_gcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
        left = c->min_retries;
    }
    lua_pushnumber(L, (lua_Number)left);
    return 1;
}

static int l_bulkhead_inflight(lua_State *L)
{
    void *s;
    fl_robj *o = lookup(L, FL_RESIL_BULKHEAD, &s);
    if (!o)
        return lua_pushnil(L), 1;
    lua_pushnumber(L, s ? (lua_Number)fl_bulkhead_inflight(s) : 0);
    return 1;
}

int fl_resil_push_lua_api(fl_resil_t *r, lua_State *L)
{
    static const luaL_Reg F[] = {{"breaker_state", l_breaker_state},
                                 {"limiter_tokens", l_limiter_tokens},
                                 {"budget_left", l_budget_left},
                                 {"bulkhead_inflight", l_bulkhead_inflight},
                                 {NULL, NULL}};
    if (!r || !L)
        return FL_EINVAL;
    lua_createtable(L, 0, 4);
    for (const luaL_Reg *f = F; f->name; f++) {
        lua_pushlightuserdata(L, r);
        lua_pushcclosure(L, f->func, 1);
        lua_setfield(L, -2, f->name);
    }
    return FL_OK;
}
