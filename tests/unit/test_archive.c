/*
 * test_archive.c -- fl_engine_export and fl_policy_dir_id (issue 22): a
 * version written out holds exactly the bytes that were loaded, even when
 * the policy directory changed after the load (the CLI's archives used to be
 * copied from the directory and named after a different content), extra
 * *.lua files of the target are removed, the result hashes to the id, and
 * bad arguments get precise errors.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <unistd.h>

#include "flt.h"

static void put(const char *dir, const char *name, const char *text) { flt_write(dir, name, text); }

static void test_export_holds_what_was_loaded(void **s)
{
    (void)s;
    char dir[256], out[300], id[17], got[17];
    flt_tmpdir(dir, sizeof dir);
    put(dir, "a.lua", "policy { name = \"arch\", version = \"A\" }\n");
    put(dir, "b.lua", "rule \"r\" { when = { message = re[[boom]] }, category = \"internal\" }\n");
    fl_engine_t *e = NULL;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    snprintf(id, sizeof id, "%s", vi.id);
    assert_int_equal(fl_policy_dir_id(dir, got, &d), FL_OK);
    assert_string_equal(got, id); /* the id a load gives */

    /* The directory moves on after the load: new content, a file gone, one added. */
    put(dir, "a.lua", "policy { name = \"arch\", version = \"B\" }\n");
    char p[400];
    snprintf(p, sizeof p, "%s/b.lua", dir);
    assert_int_equal(unlink(p), 0);
    put(dir, "c.lua", "this is not even Lua");
    assert_int_equal(fl_policy_dir_id(dir, got, &d), FL_OK);
    assert_string_not_equal(got, id);

    /* The export still holds A, byte for byte. */
    snprintf(out, sizeof out, "%s/out", dir);
    assert_int_equal(fl_engine_export(e, id, out, &d), FL_OK);
    assert_int_equal(fl_policy_dir_id(out, got, &d), FL_OK);
    assert_string_equal(got, id);
    fl_engine_t *e2 = NULL;
    assert_int_equal(fl_engine_new(NULL, &e2), FL_OK);
    assert_int_equal(fl_engine_load(e2, out, &d), FL_OK);
    assert_int_equal(fl_engine_current(e2, &vi), FL_OK);
    assert_string_equal(vi.id, id);
    assert_string_equal(vi.version, "A");
    fl_engine_free(e2);

    /* Exporting into the policy directory itself (a rollback): the extra
     * c.lua goes, b.lua comes back, the directory hashes to the id. */
    assert_int_equal(fl_engine_export(e, id, dir, &d), FL_OK);
    assert_int_equal(fl_policy_dir_id(dir, got, &d), FL_OK);
    assert_string_equal(got, id);
    snprintf(p, sizeof p, "%s/c.lua", dir);
    assert_int_not_equal(access(p, F_OK), 0);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_export_errors(void **s)
{
    (void)s;
    char dir[256], id[17];
    flt_tmpdir(dir, sizeof dir);
    fl_engine_t *e = NULL;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_export(NULL, "0123456789abcdef", dir, &d), FL_EINVAL);
    assert_int_equal(fl_engine_export(e, NULL, dir, &d), FL_EINVAL);
    assert_int_equal(fl_engine_export(e, "0123456789abcdef", NULL, &d), FL_EINVAL);
    assert_int_equal(fl_engine_export(e, "0123456789abcdef", dir, &d), FL_ENOENT);
    assert_non_null(strstr(d.message, "0123456789abcdef"));
    assert_int_equal(fl_policy_dir_id(NULL, id, &d), FL_EINVAL);
    assert_int_equal(fl_policy_dir_id(dir, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_policy_dir_id(dir, id, &d), FL_ENOENT); /* no .lua files */
    assert_string_equal(id, "");
    /* A string source whose name a directory cannot hold. */
    const char *src = "policy { version = \"s\", empty = true }\n";
    assert_int_equal(fl_engine_load_string(e, "inline", src, strlen(src), &d), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(fl_engine_export(e, vi.id, dir, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "inline"));
    /* A target whose parent does not exist. */
    char deep[400];
    snprintf(deep, sizeof deep, "%s/no/such", dir);
    assert_int_equal(fl_engine_load_string(e, "ok.lua", src, strlen(src), &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(fl_engine_export(e, vi.id, deep, &d), FL_EIO);
    fl_engine_free(e);
    flt_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_holds_what_was_loaded),
        cmocka_unit_test(test_export_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
