/*
 * test_bind_sample_policy.c -- the handlers of samples/pipeline/policy run
 * against the real `fl` module, without the engine: the policy files are run
 * with stand-ins for the declaration functions that keep each rule's table,
 * then the handlers are called as the engine would call them.  Checks the
 * story the sample tells: storage full -> clean up, compress, retry (and
 * fail once nothing is left to free); memory pressure -> retry with the
 * batch halved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bindings.h"
#include "bindtest.h"

/* Declaration stand-ins: rule "name" { spec } stores spec in RULES. */
static const char *const prelude =
    "RULES = {}\n"
    "local function named(store) return function(name) return function(spec)\n"
    "  if store then store[name] = spec end end end end\n"
    "policy = function(t) end\n"
    "category = named(nil); messages = named(nil); example = named(nil)\n"
    "rule = named(RULES)\n"
    "retry = function(t) return {kind='retry', t} end\n"
    "fallback = function(v) return {kind='fallback', v} end\n"
    "ignore = function() return {kind='ignore'} end\n"
    "fail = function() return {kind='fail'} end\n"
    "re = function(s) return {re=s} end\n"
    "range = function(a, b) return {a, b} end\n"
    "present, absent = {}, {}\n";

typedef struct fx {
    char *work;
    fl_bindings_t *b;
    lua_State *L;
    json_t *effects;
} fx;

static void load_policy(lua_State *L)
{
    static const char *const files[] = {"00-policy.lua", "10-rules.lua"};
    assert_int_equal(luaL_dostring(L, prelude), 0);
    for (size_t i = 0; i < 2; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/samples/pipeline/policy/%s", FL_SOURCE_DIR, files[i]);
        if (luaL_dofile(L, p) != 0)
            fail_msg("%s: %s", p, lua_tostring(L, -1));
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char p[1024];
    f->work = bt_mkdtemp();
    snprintf(p, sizeof p, "%s/spool", f->work);
    mkdir(p, 0755);
    for (int i = 0; i < 8; i++) { /* as the sample: six old logs, two recent */
        char n[64];
        snprintf(n, sizeof n, "spool/worker-%d.log", i);
        bt_write(f->work, n, 100000, 'a' + i, i < 6 ? 7200 : 60);
    }
    const char *roots[] = {f->work};
    fl_bindings_options_t o = {.storage_roots = roots, .storage_roots_count = 1};
    assert_int_equal(fl_bindings_new(&o, &f->b), FL_OK);
    f->L = luaL_newstate();
    luaL_openlibs(f->L);
    assert_int_equal(fl_bindings_open_lua(f->L, f->b), FL_OK);
    lua_setglobal(f->L, "fl");
    f->effects = json_array();
    lua_pushlightuserdata(f->L, f->effects);
    lua_setfield(f->L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    load_policy(f->L);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    lua_close(f->L);
    json_decref(f->effects);
    fl_bindings_free(f->b);
    bt_rmrf(f->work);
    free(f->work);
    free(f);
    return 0;
}

/* Call RULES[rule].handler(ev, d) and store the result in global R. */
static void call(fx *f, const char *rule, const char *message, const char *batch)
{
    char chunk[1024];
    snprintf(chunk, sizeof chunk,
             "local ev = {message = [[%s]], attempt = 1, tags = {batch_size = '%s'}}\n"
             "local d = {category = 'resource_exhausted', action = 'retry'}\n"
             "R = RULES['%s'].handler(ev, d)\n",
             message, batch, rule);
    if (luaL_dostring(f->L, chunk) != 0)
        fail_msg("handler %s: %s", rule, lua_tostring(f->L, -1));
}

static void expect(fx *f, const char *lua_condition)
{
    char chunk[512];
    snprintf(chunk, sizeof chunk, "assert(%s)", lua_condition);
    if (luaL_dostring(f->L, chunk) != 0)
        fail_msg("%s", lua_tostring(f->L, -1));
}

static void test_storage_full(void **state)
{
    fx *f = *state;
    call(f, "storage-full", "write out/part-00512.dat: No space left on device", "64");
    expect(f, "R.action == 'retry' and R.delay_ms == 0");
    expect(f, "R.params.files_removed == 6 and R.params.files_compressed == 2");
    expect(f, "R.params.freed_bytes > 790000");
    assert_int_equal(json_array_size(f->effects), 2);
    json_t *c = json_array_get(f->effects, 0), *z = json_array_get(f->effects, 1);
    assert_string_equal(json_string_value(json_object_get(c, "action")), "storage.cleanup");
    assert_string_equal(json_string_value(json_object_get(c, "target")), "spool");
    assert_int_equal(json_integer_value(json_object_get(c, "bytes_freed")), 600000);
    assert_string_equal(json_string_value(json_object_get(z, "action")), "storage.compress");
    assert_int_equal(json_integer_value(json_object_get(z, "files")), 2);
    assert_true(bt_exists(f->work, "spool/worker-7.log.zst"));
    assert_false(bt_exists(f->work, "spool/worker-0.log"));
    /* again: nothing left to free, so the policy gives up */
    call(f, "storage-full", "No space left on device", "64");
    expect(f, "R.action == 'fail'");
}

static void test_memory_pressure(void **state)
{
    fx *f = *state;
    call(f, "memory-pressure", "transform: cannot allocate memory for 256 records", "256");
    expect(f, "R.action == 'retry' and R.params.batch_size == 128");
    call(f, "memory-pressure", "Cannot allocate memory", "1");
    expect(f, "R.action == 'fail'");
    assert_int_equal(json_array_size(f->effects), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_storage_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_pressure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
