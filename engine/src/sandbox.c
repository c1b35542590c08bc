/*
 * sandbox.c -- the Lua environment policies run in.  A state is built with a
 * capped allocator, only allowlisted libraries and globals, the LuaJIT
 * compiler switched off (so the instruction-count hook that enforces the CPU
 * budget fires everywhere; LuaJIT never runs hooks inside compiled traces),
 * and the prelude that defines the declaration functions of the policy
 * language.  See docs/sandbox.md for the full allowlist and its reasons.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Instructions between two budget checks: small enough to stop a loop
 * within microseconds, large enough that the hook costs little. */
#define FL_HOOK_EVERY 1000

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct fl_lmem *m = ud;
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (m->cap && nsize > osize && m->used - osize + nsize > m->cap) {
        m->mem_hit = 1;
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p) m->used = m->used - osize + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    void *ud;
    lua_getallocf(L, &ud);
    struct fl_lmem *m = ud;
    if (m->deadline_ns && fl_mono_ns() > m->deadline_ns) {
        m->cpu_hit = 1;
        /* Keep firing on every instruction so a pcall in the policy cannot
         * swallow the error and carry on. */
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "CPU budget exhausted");
    }
}

void fl_sandbox_arm(lua_State *L, struct fl_lmem *m, uint32_t budget_us)
{
    m->cpu_hit = m->mem_hit = 0;
    m->deadline_ns = fl_mono_ns() + (uint64_t)budget_us * 1000u;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, FL_HOOK_EVERY);
}

void fl_sandbox_disarm(lua_State *L, struct fl_lmem *m)
{
    m->deadline_ns = 0;
    lua_sethook(L, NULL, 0, 0);
}

static const char *const k_allowed_globals[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
    "tostring", "type", "unpack", "xpcall", "setmetatable", "getmetatable",
    "rawequal", "string", "table", "math", "os", "bit", "coroutine", "_G",
    "_VERSION",
    /* the declaration functions defined by the prelude */
    "policy", "category", "rule", "messages", "example", "re", "range", "present", "absent",
    "retry", "fallback", "ignore", "fail", "breaker", "limiter", "bulkhead", "retry_budget", NULL};

/* Remove every global not on the allowlist, and trim `os` and `string`. */
static void restrict_globals(lua_State *L)
{
    lua_newtable(L); /* names to drop */
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, LUA_GLOBALSINDEX)) {
        lua_pop(L, 1);
        int keep = 0;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; k_allowed_globals[i]; i++)
                if (strcmp(lua_tostring(L, -1), k_allowed_globals[i]) == 0) keep = 1;
        if (!keep) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, ++n);
        }
    }
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_pushnil(L);
        lua_rawset(L, LUA_GLOBALSINDEX);
    }
    lua_pop(L, 1);
    /* os: only the clock functions. */
    lua_newtable(L);
    lua_getglobal(L, "os");
    const char *keep_os[] = {"time", "clock", "date", "difftime", NULL};
    for (int i = 0; keep_os[i]; i++) {
        lua_getfield(L, -1, keep_os[i]);
        lua_setfield(L, -3, keep_os[i]);
    }
    lua_pop(L, 1);
    lua_setglobal(L, "os");
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    /* The shared string metatable must not be reachable for writing. */
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

static void open_lib(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

/* Defines policy/category/rule/messages/example/re/range/... and returns the
 * declarations table.  Runs before restrict_globals, so it may keep a private
 * reference to debug.getinfo for source positions. */
static const char k_prelude[] =
    "local getinfo, error, type, pairs = debug.getinfo, error, type, pairs\n"
    "local D = { categories = {}, rules = {}, locales = {}, examples = {}, resil = {}, n = 0 }\n"
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
    "rule = named('rule', D.rules)\n"
    "category = named('category', D.categories)\n"
    "messages = named('messages', D.locales)\n"
    "example = named('example', D.examples)\n"
    "breaker = named('breaker', D.resil)\n"
    "limiter = named('limiter', D.resil)\n"
    "bulkhead = named('bulkhead', D.resil)\n"
    "retry_budget = named('retry_budget', D.resil)\n"
    "function policy(t)\n"
    "  local src, line = pos(2)\n"
    "  if type(t) ~= 'table' then error('policy: expected a table', 2) end\n"
    "  if D.policy then error('policy: declared twice (first at ' .. D.policy.src .. ':' .. D.policy.line .. ')', 2) end\n"
    "  D.policy = { t = t, src = src, line = line }\n"
    "end\n"
    "function re(p)\n"
    "  if type(p) ~= 'string' then error('re: expected a pattern string', 2) end\n"
    "  return { __fl = 're', pattern = p }\n"
    "end\n"
    "function range(lo, hi)\n"
    "  if (lo ~= nil and type(lo) ~= 'number') or (hi ~= nil and type(hi) ~= 'number') then\n"
    "    error('range: bounds must be numbers or nil', 2)\n"
    "  end\n"
    "  return { __fl = 'range', lo = lo, hi = hi }\n"
    "end\n"
    "present = { __fl = 'present' }\n"
    "absent = { __fl = 'absent' }\n"
    "function retry(t)\n"
    "  if t ~= nil and type(t) ~= 'table' then error('retry: expected a table', 2) end\n"
    "  return { __fl = 'retry', t = t or {} }\n"
    "end\n"
    "function fallback(v) return { __fl = 'fallback', value = v } end\n"
    "function ignore() return { __fl = 'ignore' } end\n"
    "function fail() return { __fl = 'fail' } end\n"
    "return D\n";

lua_State *fl_sandbox_new(struct fl_lmem *mem, uint64_t seed, fl_diag_t *diag)
{
    lua_State *L = lua_newstate(capped_alloc, mem);
    if (!L) {
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot create a Lua state");
        return NULL;
    }
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    open_lib(L, "", luaopen_base);
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
    if (luaL_loadbuffer(L, k_prelude, sizeof k_prelude - 1, "=prelude") != 0 ||
        lua_pcall(L, 0, 1, 0) != 0) {
        fl_diag_set(diag, FL_EPOLICY, NULL, 0, 0, "prelude: %s", lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.decl");
    restrict_globals(L);
    /* math.random: a per-state stream, seeded by the engine. */
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "randomseed");
    lua_pushnumber(L, (double)(seed % 2147483647u));
    lua_pcall(L, 1, 0, 0);
    lua_pop(L, 1);
    return L;
}

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
            return fl_diag_set(diag, status, file, (int)line, col, "%s", text);
        }
    }
    return fl_diag_set(diag, status, NULL, 0, 0, "%s", msg);
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
        if (luaL_loadbuffer(L, v->src_texts[i], v->src_lens[i], chunk) != 0) {
            int st = mem->mem_hit ? FL_EBUDGET_MEM : FL_EPOLICY_SYNTAX;
            lua_error_diag(diag, st, lua_tostring(L, -1), v);
            lua_pop(L, 1);
            return st;
        }
        fl_sandbox_arm(L, mem, budget_us);
        int rc = lua_pcall(L, 0, 0, 0);
        fl_sandbox_disarm(L, mem);
        if (rc != 0) {
            int st = mem->cpu_hit ? FL_EBUDGET_CPU : mem->mem_hit ? FL_EBUDGET_MEM
                                                                  : FL_EPOLICY_RUNTIME;
            lua_error_diag(diag, st, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL, v);
            if (st != FL_EPOLICY_RUNTIME && !diag->file[0])
                fl_diag_set(diag, st, v->src_names[i], 0, 0, "%s", fl_strerror(st));
            lua_pop(L, 1);
            return st;
        }
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.decl");
    return FL_OK;
}
