/*
 * sandbox.c -- the Lua environment policies run in (and, in the files named
 * below, the budgets that bound it).  docs/sandbox.md is the reference:
 *
 *   - environment: built by allowlist.  Libraries are reachable only through
 *     read-only proxies; the declaration functions and every built-in are
 *     read-only globals; shared metatables are protected.  The LuaJIT
 *     compiler is off (hooks never fire inside compiled traces).
 *   - memory: a capped allocator, enforced while policy code runs.
 *   - CPU: a deadline per call.  A per-engine watchdog thread installs a
 *     stopping hook on a state whose deadline has passed (so no hook slows
 *     the interpreter before that); without a watchdog (loading) a count
 *     hook checks the clock.  The allocator and every library function that
 *     can loop in C (pattern matching, sort, coroutine resume) check the
 *     deadline themselves, because hooks only fire between VM instructions.
 *   - C stack: library functions that call back into Lua from C refuse to
 *     nest deeper than FL_CSTACK_MAX bytes of C stack (LuaJIT does not
 *     bound C-level recursion through resume, gsub, sort, format's
 *     __tostring or os.time's __index; it would crash).  The list of such
 *     functions is in docs/sandbox.md; test_cstack_every_library_function
 *     recurses through every function on a 256 KiB thread stack.
 *   - Lua patterns: string.find/match/gmatch/gsub are reimplemented here
 *     with the same semantics plus a step meter: a catastrophic pattern is
 *     stopped by the CPU budget instead of running in C to completion.
 *
 * Files: sandbox.c (environment, running the policy files), sandbox_budget.c
 * (allocator, deadline, watchdog, failure counters), sandbox_patterns.c,
 * sandbox_lib.c (the guarded library functions).
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
/* The environment                                                          */
/* ======================================================================== */

static int ro_newindex(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "attempt to modify read-only table (key '%s')", k);
}

/* Globals: a new name is stored in _G itself; a built-in name is refused. */
static int g_newindex(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1)) {
        const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
        return luaL_error(L, "'%s' is a built-in and cannot be assigned", k);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* A read-only view of the table at idx. */
static void push_proxy(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* Copy the named fields of the table at src into the table at dst. */
static void copy_fields(lua_State *L, int src, int dst, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, src, names[i]);
        lua_setfield(L, dst, names[i]);
    }
}

/* Replace field `name` of the table at t by closure f(old value). */
static void wrap_field(lua_State *L, int t, const char *name, lua_CFunction f)
{
    lua_getfield(L, t, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, t, name);
}

static const char *const k_base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                                     "tonumber", "tostring", "type", "unpack", "xpcall", "setmetatable",
                                     "getmetatable", "rawequal", "_VERSION", NULL};
static const char *const k_string[] = {"byte", "char", "format", "len", "lower", "rep", "reverse",
                                       "sub", "upper", NULL};
static const char *const k_table[] = {"concat", "insert", "maxn", "remove", "sort", NULL};
static const char *const k_os[] = {"time", "clock", "date", "difftime", NULL};
static const char *const k_math[] = {"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg",
                                     "exp", "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10",
                                     "max", "min", "modf", "pi", "pow", "rad", "random", "randomseed",
                                     "sin", "sinh", "sqrt", "tan", "tanh", NULL};
static const char *const k_bit[] = {"tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift",
                                    "arshift", "rol", "ror", "bswap", NULL};
static const char *const k_co[] = {"create", "resume", "running", "status", "yield", NULL};

/* The prelude defines the declaration functions of the policy language.  It
 * runs with the full libraries, so it may keep private references (debug's
 * getinfo for source positions, getmetatable for the final check); it
 * returns the declarations table, the functions, and the check run after
 * the last file. */
static const char k_prelude[] =
    "local getinfo, rawgetmt, error, type, next = debug.getinfo, debug.getmetatable, error, type, next\n"
    "local D = { categories = {}, rules = {}, locales = {}, examples = {}, resil = {}, alerts = {}, n = 0 }\n"
    "local api = {}\n"
    "local function pos(level)\n"
    "  local i = getinfo(level + 1, 'Sl')\n"
    "  if not i then return '?', 0 end\n"
    "  local s = i.source or '?'\n"
    "  if s:sub(1, 1) == '@' then s = s:sub(2) end\n"
    "  return s, i.currentline or 0\n"
    "end\n"
    "local function named(kind, list)\n"
    "  return function(name)\n"
    "    local src, line = pos(2)\n"
    "    if type(name) ~= 'string' or name == '' then\n"
    "      error(kind .. ': expected a name, as in ' .. kind .. ' \"name\" { ... }', 2)\n"
    "    end\n"
    "    return function(t)\n"
    "      if type(t) ~= 'table' then error(kind .. ' \"' .. name .. '\": expected a table', 2) end\n"
    "      D.n = D.n + 1\n"
    "      list[#list + 1] = { name = name, t = t, src = src, line = line, order = D.n, kind = kind }\n"
    "    end\n"
    "  end\n"
    "end\n"
    "api.rule = named('rule', D.rules)\n"
    "api.category = named('category', D.categories)\n"
    "api.messages = named('messages', D.locales)\n"
    "api.example = named('example', D.examples)\n"
    "api.breaker = named('breaker', D.resil)\n"
    "api.limiter = named('limiter', D.resil)\n"
    "api.bulkhead = named('bulkhead', D.resil)\n"
    "api.retry_budget = named('retry_budget', D.resil)\n"
    "api.alert = named('alert', D.alerts)\n"
    "function api.policy(t)\n"
    "  local src, line = pos(2)\n"
    "  if type(t) ~= 'table' then error('policy: expected a table', 2) end\n"
    "  if D.policy then error('policy: declared twice (first at ' .. D.policy.src .. ':' .. D.policy.line .. ')', 2) end\n"
    "  D.policy = { t = t, src = src, line = line }\n"
    "end\n"
    "function api.fleet(t)\n"
    "  local src, line = pos(2)\n"
    "  if type(t) ~= 'table' then error('fleet: expected a table', 2) end\n"
    "  if D.fleet then error('fleet: declared twice (first at ' .. D.fleet.src .. ':' .. D.fleet.line .. ')', 2) end\n"
    "  D.fleet = { t = t, src = src, line = line }\n"
    "end\n"
    "function api.log(t)\n"
    "  local src, line = pos(2)\n"
    "  if type(t) ~= 'table' then error('log: expected a table', 2) end\n"
    "  if D.log then error('log: declared twice (first at ' .. D.log.src .. ':' .. D.log.line .. ')', 2) end\n"
    "  D.log = { t = t, src = src, line = line }\n"
    "end\n"
    "function api.re(p)\n"
    "  if type(p) ~= 'string' then error('re: expected a pattern string', 2) end\n"
    "  return { __fl = 're', pattern = p }\n"
    "end\n"
    "function api.range(lo, hi)\n"
    "  if (lo ~= nil and type(lo) ~= 'number') or (hi ~= nil and type(hi) ~= 'number') then\n"
    "    error('range: bounds must be numbers or nil', 2)\n"
    "  end\n"
    "  return { __fl = 'range', lo = lo, hi = hi }\n"
    "end\n"
    "api.present = { __fl = 'present' }\n"
    "api.absent = { __fl = 'absent' }\n"
    "function api.retry(t)\n"
    "  if t ~= nil and type(t) ~= 'table' then error('retry: expected a table', 2) end\n"
    "  return { __fl = 'retry', t = t or {} }\n"
    "end\n"
    "function api.fallback(v) return { __fl = 'fallback', value = v } end\n"
    "function api.ignore() return { __fl = 'ignore' } end\n"
    "function api.fail() return { __fl = 'fail' } end\n"
    "function api.cache(t)\n"
    "  if type(t) ~= 'table' then error('cache: expected a table', 2) end\n"
    "  return { __fl = 'cache', t = t }\n"
    "end\n"
    "return D, api\n";

static void open_lib(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

struct build_args {
    uint64_t seed;
    const char *err;
};

/* Runs protected (lua_cpcall): builds the environment. */
static int build_env(lua_State *L)
{
    struct build_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    open_lib(L, "", luaopen_base); /* also opens coroutine */
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
    if (luaL_loadbuffer(L, k_prelude, sizeof k_prelude - 1, "=prelude") != 0) {
        a->err = "prelude does not compile";
        return lua_error(L);
    }
    lua_call(L, 0, 2);                               /* 1 D, 2 api */
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.decl");
    lua_settop(L, 2);
    int G = 3, B = 4, api = 2;
    lua_pushvalue(L, LUA_GLOBALSINDEX);              /* 3 G */
    lua_newtable(L);                                 /* 4 B: the built-ins */
    copy_fields(L, G, B, k_base);
    /* pcall, xpcall and tostring call a value they are given (tostring its
     * __tostring) as VM fast functions.  Used as their own metamethods
     * (__call = pcall, __tostring = tostring) LuaJIT crashes (SIGSEGV) or
     * loops forever without running an instruction, so no hook can stop
     * it.  As guarded C functions the same recursion goes through the C
     * stack guard and the budget check. */
    wrap_field(L, B, "pcall", sbx__guarded);
    wrap_field(L, B, "xpcall", sbx__guarded);
    wrap_field(L, B, "tostring", sbx__guarded);
    lua_pushnil(L);                                  /* the declaration functions */
    while (lua_next(L, api)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, B);
    }
    /* string: the real table stays the string metatable's __index, with the
     * metered pattern functions; policies see a read-only proxy. */
    lua_getfield(L, G, "string");                    /* 5 */
    lua_newtable(L);                                 /* 6 the allowlisted string table */
    copy_fields(L, 5, 6, k_string);
    /* format("%s", t) calls t's __tostring from C (lua_call): guarded like
     * every library function that re-enters Lua from C (docs/sandbox.md). */
    wrap_field(L, 6, "format", sbx__guarded);
    lua_pushcfunction(L, sbx__l_find);
    lua_setfield(L, 6, "find");
    lua_pushcfunction(L, sbx__l_match);
    lua_setfield(L, 6, "match");
    lua_pushcfunction(L, sbx__l_gmatch);
    lua_setfield(L, 6, "gmatch");
    lua_pushcfunction(L, sbx__l_gsub);
    lua_setfield(L, 6, "gsub");
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1)) {
        a->err = "no string metatable";
        return lua_error(L);
    }
    lua_pushvalue(L, 6);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable("") gives false */
    lua_pop(L, 2);
    push_proxy(L, 6);
    lua_setfield(L, B, "string");
    lua_settop(L, 4);
    /* table */
    lua_getfield(L, G, "table");                     /* 5 */
    lua_newtable(L);                                 /* 6 */
    copy_fields(L, 5, 6, k_table);
    wrap_field(L, 6, "sort", sbx__t_sort);
    wrap_field(L, 6, "insert", sbx__t_insert);
    push_proxy(L, 6);
    lua_setfield(L, B, "table");
    lua_settop(L, 4);
    /* os: clocks only */
    lua_getfield(L, G, "os");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_os);
    wrap_field(L, 6, "date", sbx__os_date);
    wrap_field(L, 6, "time", sbx__guarded); /* reads its table with __index */
    push_proxy(L, 6);
    lua_setfield(L, B, "os");
    lua_settop(L, 4);
    /* math, bit */
    lua_getfield(L, G, "math");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_math);
    lua_getfield(L, 6, "randomseed"); /* a per-state stream, seeded by the engine */
    lua_pushnumber(L, (double)(a->seed % 2147483647u));
    lua_call(L, 1, 0);
    push_proxy(L, 6);
    lua_setfield(L, B, "math");
    lua_settop(L, 4);
    lua_getfield(L, G, "bit");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_bit);
    push_proxy(L, 6);
    lua_setfield(L, B, "bit");
    lua_settop(L, 4);
    /* coroutine: resume and wrap are sbx__guarded (C stack, deadline) */
    lua_getfield(L, G, "coroutine");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_co);
    wrap_field(L, 6, "resume", sbx__guarded);
    lua_getfield(L, 6, "create");
    lua_getfield(L, 6, "resume");
    lua_pushcclosure(L, sbx__co_wrap, 2);
    lua_setfield(L, 6, "wrap");
    push_proxy(L, 6);
    lua_setfield(L, B, "coroutine");
    lua_settop(L, 4);
    /* _G names the globals table itself */
    lua_pushvalue(L, G);
    lua_setfield(L, B, "_G");
    /* Empty _G, then route reads of built-ins to B and refuse writes. */
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, G)) break;
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, G);
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, B);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, B);
    lua_pushcclosure(L, g_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, G);
    lua_pushvalue(L, B);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.builtins");
    /* Drop what only the engine needed: loaded modules stay reachable from
     * the registry only. */
    lua_settop(L, 0);
    return 0;
}

lua_State *fl_sandbox_new(struct fl_lmem *mem, uint64_t seed, fl_diag_t *diag)
{
    lua_State *L = lua_newstate(mem->pooled ? sbx__pooled_alloc : sbx__capped_alloc, mem);
    if (!L) {
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot create a Lua state");
        return NULL;
    }
    mem->L = L;
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    struct build_args a = {seed, NULL};
    if (lua_cpcall(L, build_env, &a) != 0) {
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot build the policy environment: %s",
                    a.err ? a.err : lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error");
        lua_close(L);
        mem->L = NULL;
        return NULL;
    }
    return L;
}

/* A read-only copy of the table at idx: functions become sbx__guarded closures
 * (deadline and C-stack checks on entry: a binding may call back into Lua
 * through an __index on its argument), sub-tables read-only copies too. */
static void push_frozen(lua_State *L, int idx, int depth)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    if (depth > 4) luaL_error(L, "module nested too deeply");
    lua_newtable(L);
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            push_frozen(L, -1, depth + 1);
            lua_remove(L, -2);
        } else if (lua_type(L, -1) == LUA_TFUNCTION) {
            lua_pushcclosure(L, sbx__guarded, 1);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, copy);
    }
    push_proxy(L, copy);
    lua_remove(L, copy);
}

static int install(lua_State *L)
{
    const char *name = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.install");
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.install");
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.builtins");
    push_frozen(L, 1, 0);
    lua_setfield(L, -2, name);
    return 0;
}

int fl_sandbox_install(lua_State *L, const char *name)
{
    if (!L || !name || lua_type(L, -1) != LUA_TTABLE) return FL_EINVAL;
    /* lua_cpcall runs with an empty stack: hand the table over through the
     * registry. */
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.install");
    int rc = lua_cpcall(L, install, (void *)name);
    if (rc != 0) lua_pop(L, 1); /* the error */
    return rc == 0 ? FL_OK : FL_ENOMEM;
}

/* ======================================================================== */
/* Running the policy files                                                 */
/* ======================================================================== */

/* Turn a Lua error message "file:line: text" into a diag. */
static int lua_error_diag(fl_diag_t *diag, int status, const char *msg, const fl_version *v)
{
    if (!msg) msg = "(error object is not a string)";
    const char *c1 = strchr(msg, ':');
    if (c1) {
        char *end;
        long line = strtol(c1 + 1, &end, 10);
        if (end != c1 + 1 && *end == ':' && line > 0) {
            char file[256];
            size_t fl = (size_t)(c1 - msg) < sizeof file - 1 ? (size_t)(c1 - msg) : sizeof file - 1;
            memcpy(file, msg, fl);
            file[fl] = '\0';
            int col = 1;
            for (uint32_t i = 0; i < v->nsrcs; i++)
                if (strcmp(v->src_names[i], file) == 0) {
                    const char *near = strstr(end, "near '");
                    char tok[64] = "";
                    if (near) sscanf(near + 6, "%63[^']", tok);
                    col = fl_find_column(v->src_texts[i], v->src_lens[i], (int)line, tok);
                }
            const char *text = end + 1;
            while (*text == ' ') text++;
            return fl_diag_set(diag, status, file, (int)line, col, "%.600s", text);
        }
    }
    return fl_diag_set(diag, status, NULL, 0, 0, "%.700s", msg);
}

static int run_status(const struct fl_lmem *mem, int prc, int otherwise)
{
    if (mem->cpu_hit) return FL_EBUDGET_CPU;
    if (mem->mem_hit || prc == LUA_ERRMEM) return FL_EBUDGET_MEM;
    return otherwise;
}

/* ---- the declarations are plain data --------------------------------------
 *
 * The engine reads declarations from C, outside any budget: they must be
 * plain data -- no metatables (an __index function would run unbudgeted),
 * no cycles, and a bounded size when shared tables are expanded (a table
 * counts 1 plus its keys' and values' sizes, each time it is reached).
 * Written in C (it was Lua, in the prelude: a fifth of the stock pack's
 * load); the same walk -- `next` order, checks in the same order, the same
 * messages -- so the same policy fails with the same error.  Only raw
 * table operations: no policy code runs.  Tables are told apart by
 * address (LuaJIT does not move objects) in an open-addressing map, owned
 * by the caller so that an error (a longjmp) does not leak it. */
struct decl_walk {
    const void **key; /* the tables seen */
    double *size;     /* their sizes; -1 while being walked (a cycle) */
    size_t cap, used;
    double limit;
    int oom;          /* the map could not grow: FL_ENOMEM, not a schema error */
};

static size_t walk_slot(const struct decl_walk *w, const void *t)
{
    size_t i = ((uintptr_t)t >> 4) * 0x9e3779b97f4a7c15ull >> 7 & (w->cap - 1);
    while (w->key[i] && w->key[i] != t) i = (i + 1) & (w->cap - 1);
    return i;
}

static int walk_fail(lua_State *L, const char *msg)
{
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* The slot for a table seen for the first time; the map doubles before it
 * would be more than half full. */
static size_t walk_add(lua_State *L, struct decl_walk *w, const void *t)
{
    if ((w->used + 1) * 2 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024, oldcap = w->cap;
        const void **key = calloc(cap, sizeof *key), **oldkey = w->key;
        double *size = malloc(cap * sizeof *size), *oldsize = w->size;
        if (!key || !size) {
            free(key);
            free(size);
            w->oom = 1;
            walk_fail(L, "not enough memory");
        }
        w->key = key;
        w->size = size;
        w->cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (oldkey[i]) {
                size_t j = walk_slot(w, oldkey[i]);
                w->key[j] = oldkey[i];
                w->size[j] = oldsize[i];
            }
        free(oldkey);
        free(oldsize);
    }
    size_t i = walk_slot(w, t);
    w->key[i] = t;
    w->used++;
    return i;
}

/* The size of the value at the top of the stack (left there). */
static double walk(lua_State *L, struct decl_walk *w, int depth)
{
    if (lua_type(L, -1) != LUA_TTABLE) return 1;
    const void *t = lua_topointer(L, -1);
    size_t i = w->cap ? walk_slot(w, t) : 0;
    if (w->cap && w->key[i]) {
        if (w->size[i] < 0) walk_fail(L, "declarations contain a cycle");
        return w->size[i];
    }
    if (lua_getmetatable(L, -1)) walk_fail(L, "a table in a declaration has a metatable: declarations must be plain data");
    if (depth > 64) walk_fail(L, "declarations are nested deeper than 64 tables");
    i = walk_add(L, w, t);
    w->size[i] = -1;
    luaL_checkstack(L, 4, "declarations are nested too deep");
    double n = 1;
    int at = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, at)) { /* key at -2, value at -1; a non-table counts 1 */
        if (lua_type(L, -2) == LUA_TTABLE) {
            lua_pushvalue(L, -2);
            n += walk(L, w, depth + 1);
            lua_pop(L, 1);
        } else {
            n += 1;
        }
        n += lua_type(L, -1) == LUA_TTABLE ? walk(L, w, depth + 1) : 1;
        lua_pop(L, 1);
        if (n > w->limit) {
            char msg[120];
            snprintf(msg, sizeof msg, "declarations are too large (over %.14g values once shared tables are expanded)",
                     w->limit);
            walk_fail(L, msg);
        }
    }
    w->size[walk_slot(w, t)] = n; /* the map may have grown: look again */
    return n;
}

static int check_decl(lua_State *L)
{
    struct decl_walk *w = lua_touserdata(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.decl");
    walk(L, w, 0);
    return 0;
}

int fl_sandbox_run_sources(lua_State *L, const fl_version *v, struct fl_lmem *mem,
                           uint32_t budget_us, fl_diag_t *diag)
{
    for (uint32_t i = 0; i < v->nsrcs; i++) {
        if (v->src_lens[i] > 0 && v->src_texts[i][0] == '\033')
            return fl_diag_set(diag, FL_EPOLICY_SYNTAX, v->src_names[i], 1, 1,
                               "binary (precompiled) chunks are not accepted");
        char chunk[300];
        snprintf(chunk, sizeof chunk, "@%s", v->src_names[i]);
        fl_sandbox_arm(L, mem, budget_us, budget_us * FL_LOAD_WALL_FACTOR);
        int lrc = luaL_loadbuffer(L, v->src_texts[i], v->src_lens[i], chunk);
        int rc = lrc == 0 ? lua_pcall(L, 0, 0, 0) : lrc;
        fl_sandbox_disarm(L, mem);
        if (rc != 0) {
            int st = run_status(mem, rc, lrc ? FL_EPOLICY_SYNTAX : FL_EPOLICY_RUNTIME);
            lua_error_diag(diag, st, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL, v);
            if ((st == FL_EBUDGET_CPU || st == FL_EBUDGET_MEM) && !diag->file[0])
                fl_diag_set(diag, st, v->src_names[i], 0, 0, "%s", fl_strerror(st));
            lua_pop(L, 1);
            return st;
        }
    }
    /* Declarations must be plain data before C code reads them. */
    struct decl_walk w = {.limit = FL_DECL_MAX_NODES};
    int rc = lua_cpcall(L, check_decl, &w);
    free(w.key);
    free(w.size);
    if (rc != 0) {
        int st = w.oom ? FL_ENOMEM : run_status(mem, rc, FL_EPOLICY_SCHEMA);
        fl_diag_set(diag, st, v->nsrcs ? v->src_names[v->nsrcs - 1] : NULL, 0, 0, "%.700s",
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : fl_strerror(st));
        lua_pop(L, 1);
        return st;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.decl");
    return FL_OK;
}

