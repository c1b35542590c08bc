/*
 * test_bind_lua.c -- the Lua module `fl` (fl_bindings_open_lua): every
 * function from Lua, effects recorded into the registry's "fl.effects" array
 * (and not recorded without it), clean errors for bad arguments.
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

typedef struct fx {
    char *root, *data;
    fl_bindings_t *b;
    lua_State *L;
    json_t *effects;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = bt_mkdtemp();
    f->data = bt_mkdtemp();
    const char *roots[] = {f->root};
    fl_bindings_options_t o = {.storage_roots = roots, .storage_roots_count = 1,
                               .data_dir = f->data, .cpu_window_ms = 10};
    assert_int_equal(fl_bindings_new(&o, &f->b), FL_OK);
    f->L = luaL_newstate();
    luaL_openlibs(f->L);
    assert_int_equal(fl_bindings_open_lua(f->L, f->b), FL_OK);
    lua_setglobal(f->L, "fl");
    lua_pushstring(f->L, f->root);
    lua_setglobal(f->L, "ROOT");
    f->effects = json_array();
    lua_pushlightuserdata(f->L, f->effects);
    lua_setfield(f->L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    lua_close(f->L);
    json_decref(f->effects);
    fl_bindings_free(f->b);
    bt_rmrf(f->root);
    bt_rmrf(f->data);
    free(f->root);
    free(f->data);
    free(f);
    return 0;
}

/* Run chunk; returns NULL on success or the error message (static copy). */
static const char *run(fx *f, const char *chunk)
{
    static char err[512];
    if (luaL_loadstring(f->L, chunk) == 0 && lua_pcall(f->L, 0, 0, 0) == 0)
        return NULL;
    snprintf(err, sizeof err, "%s", lua_tostring(f->L, -1));
    lua_pop(f->L, 1);
    return err;
}

static void ok(fx *f, const char *chunk)
{
    const char *e = run(f, chunk);
    if (e)
        fail_msg("lua: %s", e);
}

static void test_resource(void **state)
{
    fx *f = *state;
    ok(f, "local d = assert(fl.resource.disk(ROOT))\n"
          "assert(d.free_bytes > 0 and d.free_pct > 0 and d.free_pct <= 100 and d.free_inodes)\n"
          "local m = assert(fl.resource.memory())\n"
          "assert(m.available_bytes > 0 and m.rss_bytes > 0 and type(m.in_cgroup) == 'boolean')\n"
          "local c = assert(fl.resource.cpu()); assert(c.ncpu >= 1 and c.usage_pct >= 0)\n"
          "local f = assert(fl.resource.fds()); assert(f.open > 0 and f.limit >= f.open)\n"
          "local x, err = fl.resource.disk('/no/such/path'); assert(x == nil and err)\n");
    assert_int_equal(json_array_size(f->effects), 0); /* checks are not effects */
}

static void test_storage_effects(void **state)
{
    fx *f = *state;
    bt_write(f->root, "a.log", 1000, 'a', 7200);
    bt_write(f->root, "b.log", 1000, 'b', 7200);
    bt_write(f->root, "c.log", 50000, 'c', 0);
    ok(f, "local r = fl.storage.cleanup{dir=ROOT, older_than_s=3600, pattern='*.log', dry_run=true}\n"
          "assert(r.ok and r.files == 2 and r.bytes_freed == 2000 and r.dry_run)\n"
          "r = fl.storage.cleanup{dir=ROOT, older_than_s=3600, pattern='*.log'}\n"
          "assert(r.ok and r.files == 2)\n"
          "r = fl.storage.compress{path=ROOT .. '/c.log'}\n"
          "assert(r.ok and r.files == 1 and r.bytes_freed > 40000, r.error)\n"
          "r = fl.storage.write_atomic(ROOT .. '/state', 'hello')\n"
          "assert(r.ok and r.bytes_written == 5)\n"
          "r = fl.storage.write_atomic{path=ROOT .. '/state2', data='x', mode=384}\n"
          "assert(r.ok)\n"
          "r = fl.storage.backup{path=ROOT .. '/state'}\n"
          "assert(r.ok and r.files == 1)\n"
          "r = fl.storage.rotate{path=ROOT .. '/state', keep=2}\n"
          "assert(r.ok and r.files == 1)\n"
          "r = fl.storage.cleanup{dir='/etc', max_bytes=1}\n"
          "assert(not r.ok and r.error:find('refused'))\n");
    assert_int_equal(json_array_size(f->effects), 8);
    json_t *e = json_array_get(f->effects, 1);
    assert_string_equal(json_string_value(json_object_get(e, "action")), "storage.cleanup");
    assert_string_equal(json_string_value(json_object_get(e, "target")), f->root);
    assert_true(json_is_true(json_object_get(e, "ok")));
    assert_int_equal(json_integer_value(json_object_get(e, "bytes_freed")), 2000);
    assert_int_equal(json_integer_value(json_object_get(e, "files")), 2);
    assert_null(json_object_get(e, "error"));
    e = json_array_get(f->effects, 7);
    assert_true(json_is_false(json_object_get(e, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(e, "error")), "refused"));
    char *s = json_dumps(f->effects, JSON_COMPACT);
    printf("# effects: %.300s...\n", s);
    free(s);
    /* without the registry key: nothing recorded, still works */
    lua_pushnil(f->L);
    lua_setfield(f->L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    ok(f, "assert(fl.storage.write_atomic(ROOT .. '/s3', 'y').ok)");
    assert_int_equal(json_array_size(f->effects), 8);
}

static void test_checkpoint(void **state)
{
    fx *f = *state;
    ok(f, "assert(fl.checkpoint.load('job') == nil)\n"
          "assert(fl.checkpoint.save('job', 'extract', 'one') == 1)\n"
          "assert(fl.checkpoint.save('job', 'transform', 'two\\0bytes') == 2)\n"
          "local c = fl.checkpoint.load('job')\n"
          "assert(c.seq == 2 and c.stage == 'transform' and c.data == 'two\\0bytes')\n"
          "assert(fl.checkpoint.load('job', 'extract').data == 'one')\n"
          "local l = fl.checkpoint.list('job')\n"
          "assert(#l == 2 and l[1].seq == 2 and l[2].size == 3 and l[1].data == nil)\n"
          "assert(fl.checkpoint.prune('job', 1) == 1)\n"
          "assert(#fl.checkpoint.list('job') == 1)\n");
    assert_int_equal(json_array_size(f->effects), 3);
    json_t *e = json_array_get(f->effects, 0);
    assert_string_equal(json_string_value(json_object_get(e, "action")), "checkpoint.save");
    assert_string_equal(json_string_value(json_object_get(e, "target")), "job");
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    static const char *const bad[] = {
        "fl.storage.cleanup()",
        "fl.storage.cleanup('x')",
        "fl.storage.cleanup{}",
        "fl.storage.cleanup{dir=ROOT}",
        "fl.storage.cleanup{dir=42, older_than_s=1}",
        "fl.storage.cleanup{dir=ROOT, older_than_s='soon'}",
        "fl.storage.cleanup{dir=ROOT, older_than_s=-5}",
        "fl.storage.cleanup{dir=ROOT, max_bytes=0/0}",
        "fl.storage.cleanup{dir=ROOT, max_bytes=1, dry_run='yes'}",
        "fl.storage.compress{path=ROOT, level=99}",
        "fl.storage.compress{path={}}",
        "fl.storage.rotate{path=ROOT, keep=5000}",
        "fl.storage.write_atomic(ROOT)",
        "fl.storage.write_atomic{path=ROOT}",
        "fl.resource.disk()",
        "fl.resource.disk({})",
        "fl.checkpoint.save('job', 'stage')",
        "fl.checkpoint.save('', 'stage', 'x')",
        "fl.checkpoint.save(string.rep('j', 300), 'stage', 'x')",
        "fl.checkpoint.save('a\\0b', 'stage', 'x')",
        "fl.checkpoint.load()",
        "fl.checkpoint.prune('job')",
        "fl.checkpoint.prune('job', -1)",
        "fl.checkpoint.list(nil)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *e = run(f, bad[i]);
        if (!e)
            fail_msg("no error for %s", bad[i]);
        if (!strstr(e, "bad argument"))
            fail_msg("unclean error for %s: %s", bad[i], e);
    }
    assert_int_equal(json_array_size(f->effects), 0);
    assert_int_equal(fl_bindings_open_lua(NULL, f->b), FL_EINVAL);
    assert_int_equal(fl_bindings_open_lua(f->L, NULL), FL_EINVAL);
    /* the guard metatable is protected */
    ok(f, "collectgarbage(); collectgarbage()");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_effects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
