/*
 * lua_bindings.c -- the Lua module `fl` offered to handler functions:
 * fl.resource.{memory,disk,cpu,fds}, fl.storage.{cleanup,compress,rotate,
 * backup,write_atomic}, fl.checkpoint.{save,load,list,prune}.
 *
 * Rules kept here: arguments are checked before any work (luaL_argerror on
 * bad ones, never a crash); C work holds no Lua state, and anything it
 * allocates is owned by a guard userdata before a lua_push* could raise, so
 * a memory error leaks nothing; storage and checkpoint actions append their
 * outcome to the decision's effects (bindings.h: FL_LUA_EFFECTS_KEY).
 */
#include "bindings.h"

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_MT "fl.guard"

static fl_bindings_t *self(lua_State *L)
{
    return (fl_bindings_t *)lua_touserdata(L, lua_upvalueindex(1));
}

static void setnum(lua_State *L, const char *k, double v)
{
    lua_pushnumber(L, v);
    lua_setfield(L, -2, k);
}

static void setstr(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static int fail(lua_State *L, int status, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s (status %d)", what, status);
    return 2;
}

/* ---- argument helpers --------------------------------------------------- */

/* String field `k` of table arg 1; NULL when absent; error if not a string. */
static const char *fstr(lua_State *L, const char *k, int required)
{
    lua_getfield(L, 1, k);
    int t = lua_type(L, -1);
    const char *s = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1); /* the table keeps the string alive */
    if ((t != LUA_TNIL && t != LUA_TSTRING) || (required && !s))
        luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a string", k));
    return s;
}

/* Non-negative number field `k` of table arg 1 (def when absent). */
static double fnum(lua_State *L, const char *k, double def, double max)
{
    lua_getfield(L, 1, k);
    int t = lua_type(L, -1);
    double v = t == LUA_TNUMBER ? lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    if ((t != LUA_TNIL && t != LUA_TNUMBER) || !(v >= 0 && v <= max))
        luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a number in 0..%f", k, max));
    return v;
}

static int fbool(lua_State *L, const char *k)
{
    lua_getfield(L, 1, k);
    int t = lua_type(L, -1), v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        luaL_argerror(L, 1, lua_pushfstring(L, "field '%s' must be a boolean", k));
    return v;
}

/* A short name: a string of 1..255 bytes. */
static const char *check_name(lua_State *L, int idx)
{
    size_t n;
    const char *s = luaL_checklstring(L, idx, &n);
    if (n == 0 || n > 255 || strlen(s) != n)
        luaL_argerror(L, idx, "must be 1..255 bytes without NUL");
    return s;
}

/* ---- effects ------------------------------------------------------------ */

static void record(lua_State *L, const char *action, const char *target, int ok,
                   uint64_t freed, uint64_t files, const char *error, int dry_run)
{
    lua_getfield(L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    json_t *arr = lua_type(L, -1) == LUA_TLIGHTUSERDATA ? lua_touserdata(L, -1) : NULL;
    lua_pop(L, 1);
    if (!arr || !json_is_array(arr))
        return;
    json_t *o = json_object(), *t = json_string(target ? target : "");
    if (!o) {
        json_decref(t);
        return;
    }
    json_object_set_new(o, "action", json_string(action));
    json_object_set_new(o, "target", t ? t : json_string("?"));
    json_object_set_new(o, "ok", json_boolean(ok));
    json_object_set_new(o, "bytes_freed", json_integer((json_int_t)freed));
    json_object_set_new(o, "files", json_integer((json_int_t)files));
    if (dry_run)
        json_object_set_new(o, "dry_run", json_true());
    if (error && *error) {
        json_t *e = json_string(error);
        json_object_set_new(o, "error", e ? e : json_string("(error text not UTF-8)"));
    }
    json_array_append_new(arr, o);
}

/* ---- fl.resource -------------------------------------------------------- */

static int l_memory(lua_State *L)
{
    fl_memory_info_t m;
    int rc = fl_resource_memory(self(L), 0, &m);
    if (rc)
        return fail(L, rc, "memory check failed");
    lua_createtable(L, 0, 8);
    setnum(L, "total_bytes", (double)m.total_bytes);
    setnum(L, "available_bytes", (double)m.available_bytes);
    setnum(L, "available_pct", m.available_pct);
    setnum(L, "rss_bytes", (double)m.rss_bytes);
    lua_pushboolean(L, m.in_cgroup);
    lua_setfield(L, -2, "in_cgroup");
    setnum(L, "cgroup_limit_bytes", (double)m.cgroup_limit_bytes);
    setnum(L, "cgroup_usage_bytes", (double)m.cgroup_usage_bytes);
    setnum(L, "cgroup_used_pct", m.cgroup_used_pct);
    return 1;
}

static int l_disk(lua_State *L)
{
    fl_disk_info_t d;
    int rc = fl_resource_disk(self(L), luaL_checkstring(L, 1), 0, &d);
    if (rc)
        return fail(L, rc, rc == FL_ENOENT ? "no such path" : "disk check failed");
    lua_createtable(L, 0, 5);
    setnum(L, "total_bytes", (double)d.total_bytes);
    setnum(L, "free_bytes", (double)d.free_bytes);
    setnum(L, "free_pct", d.free_pct);
    setnum(L, "total_inodes", (double)d.total_inodes);
    setnum(L, "free_inodes", (double)d.free_inodes);
    return 1;
}

static int l_cpu(lua_State *L)
{
    fl_cpu_info_t c;
    int rc = fl_resource_cpu(self(L), 0, &c);
    if (rc)
        return fail(L, rc, "cpu check failed");
    lua_createtable(L, 0, 5);
    setnum(L, "load1", c.load1);
    setnum(L, "load5", c.load5);
    setnum(L, "load15", c.load15);
    setnum(L, "usage_pct", c.usage_pct);
    setnum(L, "ncpu", c.ncpu);
    return 1;
}

static int l_fds(lua_State *L)
{
    fl_fd_info_t f;
    int rc = fl_resource_fds(self(L), 0, &f);
    if (rc)
        return fail(L, rc, "fd check failed");
    lua_createtable(L, 0, 3);
    setnum(L, "open", (double)f.open);
    setnum(L, "limit", (double)f.limit);
    setnum(L, "used_pct", f.used_pct);
    return 1;
}

/* ---- fl.storage --------------------------------------------------------- */

/* Record the effect and return the result as a table. */
static int storage_result(lua_State *L, const char *action, const char *target,
                          const fl_storage_result_t *r)
{
    record(L, action, target, r->status == FL_OK, r->bytes_freed, r->files, r->error,
           r->dry_run);
    lua_createtable(L, 0, 7);
    lua_pushboolean(L, r->status == FL_OK);
    lua_setfield(L, -2, "ok");
    setnum(L, "bytes_freed", (double)r->bytes_freed);
    setnum(L, "bytes_written", (double)r->bytes_written);
    setnum(L, "files", r->files);
    setnum(L, "skipped", r->skipped);
    lua_pushboolean(L, r->dry_run);
    lua_setfield(L, -2, "dry_run");
    if (r->error[0])
        setstr(L, "error", r->error);
    return 1;
}

static int l_cleanup(lua_State *L)
{
    fl_cleanup_options_t o = {0};
    fl_storage_result_t r;
    luaL_checktype(L, 1, LUA_TTABLE);
    o.dir = fstr(L, "dir", 1);
    o.pattern = fstr(L, "pattern", 0);
    o.older_than_s = (int64_t)fnum(L, "older_than_s", 0, 1e12);
    o.max_bytes = (uint64_t)fnum(L, "max_bytes", 0, 9e15);
    o.dry_run = fbool(L, "dry_run");
    if (o.older_than_s <= 0 && o.max_bytes == 0)
        luaL_argerror(L, 1, "needs older_than_s or max_bytes");
    fl_storage_cleanup(self(L), &o, &r);
    return storage_result(L, "storage.cleanup", o.dir, &r);
}

static int l_compress(lua_State *L)
{
    fl_compress_options_t o = {0};
    fl_storage_result_t r;
    luaL_checktype(L, 1, LUA_TTABLE);
    o.path = fstr(L, "path", 1);
    o.pattern = fstr(L, "pattern", 0);
    o.older_than_s = (int64_t)fnum(L, "older_than_s", 0, 1e12);
    o.level = (int)fnum(L, "level", 3, 19);
    o.max_files = (uint32_t)fnum(L, "max_files", 1000, 1e6);
    o.dry_run = fbool(L, "dry_run");
    if (o.level < 1)
        luaL_argerror(L, 1, "field 'level' must be 1..19");
    fl_storage_compress(self(L), &o, &r);
    return storage_result(L, "storage.compress", o.path, &r);
}

static int l_rotate(lua_State *L)
{
    fl_rotate_options_t o = {0};
    fl_storage_result_t r;
    luaL_checktype(L, 1, LUA_TTABLE);
    o.path = fstr(L, "path", 1);
    o.keep = (uint32_t)fnum(L, "keep", 5, 1000);
    o.min_bytes = (uint64_t)fnum(L, "min_bytes", 0, 9e15);
    fl_storage_rotate(self(L), &o, &r);
    return storage_result(L, "storage.rotate", o.path, &r);
}

static int l_backup(lua_State *L)
{
    fl_backup_options_t o = {0};
    fl_storage_result_t r;
    luaL_checktype(L, 1, LUA_TTABLE);
    o.path = fstr(L, "path", 1);
    o.dest = fstr(L, "dest", 0);
    fl_storage_backup(self(L), &o, &r);
    return storage_result(L, "storage.backup", o.path, &r);
}

/* write_atomic(path, data) or write_atomic{path=, data=, mode=}. */
static int l_write_atomic(lua_State *L)
{
    fl_write_options_t o = {0};
    fl_storage_result_t r;
    if (lua_type(L, 1) == LUA_TTABLE) {
        o.path = fstr(L, "path", 1);
        lua_getfield(L, 1, "data");
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 1, "field 'data' must be a string");
        o.data = lua_tolstring(L, -1, &o.len); /* stays on the stack */
        o.mode = (uint32_t)fnum(L, "mode", 0644, 07777);
    } else {
        o.path = luaL_checkstring(L, 1);
        o.data = luaL_checklstring(L, 2, &o.len);
    }
    fl_storage_write_atomic(self(L), &o, &r);
    return storage_result(L, "storage.write_atomic", o.path, &r);
}

/* ---- fl.checkpoint ------------------------------------------------------ */

typedef struct guard {
    fl_checkpoint_t cp;
    fl_checkpoint_t *list;
    size_t count;
} guard;

static int guard_gc(lua_State *L)
{
    guard *g = luaL_checkudata(L, 1, GUARD_MT);
    fl_checkpoint_clear(&g->cp);
    fl_checkpoint_list_free(g->list, g->count);
    g->list = NULL;
    g->count = 0;
    return 0;
}

static guard *new_guard(lua_State *L)
{
    guard *g = lua_newuserdata(L, sizeof *g);
    memset(g, 0, sizeof *g);
    luaL_getmetatable(L, GUARD_MT);
    lua_setmetatable(L, -2);
    return g;
}

static int l_save(lua_State *L)
{
    size_t len;
    int64_t seq = 0;
    const char *job = check_name(L, 1), *stage = check_name(L, 2);
    const char *data = luaL_checklstring(L, 3, &len);
    int rc = fl_checkpoint_save(self(L), job, stage, data, len, &seq);
    record(L, "checkpoint.save", job, rc == FL_OK, 0, rc == FL_OK,
           rc ? "checkpoint save failed" : NULL, 0);
    if (rc)
        return fail(L, rc, "checkpoint save failed");
    lua_pushnumber(L, (double)seq);
    return 1;
}

static void push_cp(lua_State *L, const fl_checkpoint_t *cp, int with_data)
{
    lua_createtable(L, 0, 4);
    setnum(L, "seq", (double)cp->seq);
    setstr(L, "stage", cp->stage);
    setnum(L, "created_ms", (double)cp->created_ms);
    if (with_data) {
        lua_pushlstring(L, cp->data, cp->len);
        lua_setfield(L, -2, "data");
    } else {
        setnum(L, "size", (double)cp->len);
    }
}

static int l_load(lua_State *L)
{
    const char *job = check_name(L, 1);
    const char *stage = lua_isnoneornil(L, 2) ? NULL : check_name(L, 2);
    guard *g = new_guard(L);
    int rc = fl_checkpoint_load(self(L), job, stage, &g->cp);
    if (rc == FL_ENOENT) {
        lua_pushnil(L);
        return 1;
    }
    if (rc)
        return fail(L, rc, "checkpoint load failed");
    push_cp(L, &g->cp, 1);
    fl_checkpoint_clear(&g->cp);
    return 1;
}

static int l_list(lua_State *L)
{
    const char *job = check_name(L, 1);
    guard *g = new_guard(L);
    int rc = fl_checkpoint_list(self(L), job, &g->list, &g->count);
    if (rc)
        return fail(L, rc, "checkpoint list failed");
    lua_createtable(L, (int)g->count, 0);
    for (size_t i = 0; i < g->count; i++) {
        push_cp(L, &g->list[i], 0);
        lua_rawseti(L, -2, (int)i + 1);
    }
    return 1;
}

static int l_prune(lua_State *L)
{
    const char *job = check_name(L, 1);
    lua_Number keep = luaL_checknumber(L, 2);
    uint32_t removed = 0;
    if (!(keep >= 0 && keep <= 1e6))
        luaL_argerror(L, 2, "must be 0..1000000");
    int rc = fl_checkpoint_prune(self(L), job, (uint32_t)keep, &removed);
    record(L, "checkpoint.prune", job, rc == FL_OK, 0, removed,
           rc ? "checkpoint prune failed" : NULL, 0);
    if (rc)
        return fail(L, rc, "checkpoint prune failed");
    lua_pushnumber(L, removed);
    return 1;
}

/* ---- the module --------------------------------------------------------- */

static void add_lib(lua_State *L, fl_bindings_t *b, const char *name, const luaL_Reg *fns)
{
    lua_newtable(L);
    for (; fns->name; fns++) {
        lua_pushlightuserdata(L, b);
        lua_pushcclosure(L, fns->func, 1);
        lua_setfield(L, -2, fns->name);
    }
    lua_setfield(L, -2, name);
}

int fl_bindings_open_lua(lua_State *L, fl_bindings_t *b)
{
    static const luaL_Reg resource[] = {
        {"memory", l_memory}, {"disk", l_disk}, {"cpu", l_cpu}, {"fds", l_fds}, {NULL, NULL}};
    static const luaL_Reg storage[] = {{"cleanup", l_cleanup},   {"compress", l_compress},
                                       {"rotate", l_rotate},     {"backup", l_backup},
                                       {"write_atomic", l_write_atomic}, {NULL, NULL}};
    static const luaL_Reg checkpoint[] = {
        {"save", l_save}, {"load", l_load}, {"list", l_list}, {"prune", l_prune}, {NULL, NULL}};
    if (!L || !b)
        return FL_EINVAL;
    if (luaL_newmetatable(L, GUARD_MT)) {
        lua_pushcfunction(L, guard_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    add_lib(L, b, "resource", resource);
    add_lib(L, b, "storage", storage);
    add_lib(L, b, "checkpoint", checkpoint);
    return FL_OK;
}
