/*
 * test_bind_storage.c -- storage actions on a plain directory: cleanup by
 * age, budget and pattern (oldest first, dry run, idempotent), zstd
 * compression (round trip, idempotent), rotation, backup, atomic writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <zstd.h>

#include "bindings.h"
#include "bindtest.h"

typedef struct fx {
    char *root;
    fl_bindings_t *b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = bt_mkdtemp();
    const char *roots[] = {f->root};
    fl_bindings_options_t o = {.storage_roots = roots, .storage_roots_count = 1};
    assert_int_equal(fl_bindings_new(&o, &f->b), FL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    fl_bindings_free(f->b);
    bt_rmrf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void test_cleanup_age_pattern(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    bt_write(f->root, "old1.log", 1000, 'a', 7200);
    bt_write(f->root, "old2.log", 1000, 'a', 3700);
    bt_write(f->root, "new.log", 1000, 'a', 0);
    bt_write(f->root, "old.dat", 1000, 'a', 7200);
    bt_write(f->root, ".hidden.log", 1000, 'a', 7200);
    fl_cleanup_options_t o = {.dir = f->root, .pattern = "*.log", .older_than_s = 3600,
                              .dry_run = 1};
    assert_int_equal(fl_storage_cleanup(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 2);
    assert_int_equal(r.bytes_freed, 2000);
    assert_true(r.dry_run);
    assert_true(bt_exists(f->root, "old1.log")); /* dry run touched nothing */
    o.dry_run = 0;
    assert_int_equal(fl_storage_cleanup(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 2);
    assert_false(bt_exists(f->root, "old1.log"));
    assert_false(bt_exists(f->root, "old2.log"));
    assert_true(bt_exists(f->root, "new.log"));
    assert_true(bt_exists(f->root, "old.dat"));
    assert_true(bt_exists(f->root, ".hidden.log"));
    /* idempotent */
    assert_int_equal(fl_storage_cleanup(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 0);
    assert_int_equal(r.bytes_freed, 0);
}

static void test_cleanup_budget_oldest_first(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    snprintf(p, sizeof p, "%s/sub", f->root);
    mkdir(p, 0755);
    for (int i = 0; i < 5; i++) {
        char n[32];
        snprintf(n, sizeof n, "f%d.log", i);
        bt_write(f->root, n, 1000, 'a', 1000 * (5 - i)); /* f0 oldest */
    }
    fl_cleanup_options_t o = {.dir = f->root, .max_bytes = 2500};
    assert_int_equal(fl_storage_cleanup(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 3);
    assert_int_equal(r.bytes_freed, 3000);
    assert_false(bt_exists(f->root, "f0.log"));
    assert_false(bt_exists(f->root, "f2.log"));
    assert_true(bt_exists(f->root, "f3.log"));
    assert_true(bt_exists(f->root, "f4.log"));
    assert_true(bt_exists(f->root, "sub")); /* directories are left alone */
    assert_int_equal(fl_storage_cleanup(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 0);
    /* no criterion: refused */
    fl_cleanup_options_t none = {.dir = f->root};
    assert_int_equal(fl_storage_cleanup(f->b, &none, &r), FL_EINVAL);
    assert_true(r.error[0] != '\0');
    fl_cleanup_options_t nodir = {.dir = "sub/missing", .max_bytes = 1};
    assert_int_equal(fl_storage_cleanup(f->b, &nodir, &r), FL_ENOENT);
}

static void test_compress(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    size_t n = 200000, zlen = 0;
    char *orig = malloc(n);
    for (size_t i = 0; i < n; i++)
        orig[i] = "abcdefgh\n"[i % 9] + (char)(i / 50000);
    snprintf(p, sizeof p, "%s/big.log", f->root);
    FILE *fp = fopen(p, "wb");
    fwrite(orig, 1, n, fp);
    fclose(fp);
    bt_write(f->root, "empty.log", 0, 'a', 0);
    bt_write(f->root, "keep.dat", 100, 'a', 0);
    fl_compress_options_t o = {.path = f->root, .pattern = "*.log"};
    assert_int_equal(fl_storage_compress(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 2);
    assert_true(r.bytes_freed > 100000);
    assert_false(bt_exists(f->root, "big.log"));
    assert_true(bt_exists(f->root, "keep.dat"));
    assert_int_equal(bt_count_temps(f->root), 0);
    char *z = bt_read(f->root, "big.log.zst", &zlen);
    assert_non_null(z);
    char *back = malloc(n + 10);
    size_t got = ZSTD_decompress(back, n + 10, z, zlen);
    assert_false(ZSTD_isError(got));
    assert_int_equal(got, n);
    assert_memory_equal(back, orig, n);
    free(z), free(back), free(orig);
    /* idempotent: a second run (dir or the original file name) does nothing */
    assert_int_equal(fl_storage_compress(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 0);
    fl_compress_options_t one = {.path = p};
    assert_int_equal(fl_storage_compress(f->b, &one, &r), FL_OK);
    assert_int_equal(r.files, 0);
    one.level = 42;
    assert_int_equal(fl_storage_compress(f->b, &one, &r), FL_EINVAL);
}

static void test_rotate(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    snprintf(p, sizeof p, "%s/app.log", f->root);
    fl_rotate_options_t o = {.path = p, .keep = 2};
    for (int i = 0; i < 3; i++) {
        bt_write(f->root, "app.log", 10 + (size_t)i, 'a', 0);
        assert_int_equal(fl_storage_rotate(f->b, &o, &r), FL_OK);
        assert_int_equal(r.files, 1);
    }
    assert_int_equal(bt_size(f->root, "app.log"), 0);
    assert_int_equal(bt_size(f->root, "app.log.1"), 12);
    assert_int_equal(bt_size(f->root, "app.log.2"), 11);
    assert_false(bt_exists(f->root, "app.log.3"));
    /* empty current file: nothing to do (idempotent) */
    assert_int_equal(fl_storage_rotate(f->b, &o, &r), FL_OK);
    assert_int_equal(r.files, 0);
    assert_int_equal(bt_size(f->root, "app.log.1"), 12);
}

static void test_backup_and_write(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024], d[1024];
    snprintf(p, sizeof p, "%s/state.json", f->root);
    fl_write_options_t w = {.path = p, .data = "{\"a\":1}", .len = 7};
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_OK);
    assert_int_equal(r.files, 1);
    assert_int_equal(r.bytes_written, 7);
    w.data = "{\"a\":2}";
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_OK);
    char *s = bt_read(f->root, "state.json", NULL);
    assert_string_equal(s, "{\"a\":2}");
    free(s);
    assert_int_equal(bt_count_temps(f->root), 0);

    fl_backup_options_t b = {.path = p};
    assert_int_equal(fl_storage_backup(f->b, &b, &r), FL_OK);
    assert_int_equal(r.files, 1);
    s = bt_read(f->root, "state.json.bak", NULL);
    assert_string_equal(s, "{\"a\":2}");
    free(s);
    assert_int_equal(fl_storage_backup(f->b, &b, &r), FL_OK);
    assert_int_equal(r.files, 0); /* identical copy: left alone */
    snprintf(d, sizeof d, "%s/copy.json", f->root);
    b.dest = d;
    assert_int_equal(fl_storage_backup(f->b, &b, &r), FL_OK);
    assert_true(bt_exists(f->root, "copy.json"));
    b.dest = "/tmp/fl-outside-copy.json";
    assert_int_equal(fl_storage_backup(f->b, &b, &r), FL_ECONFINED);
    b.dest = NULL;
    b.path = "nothere";
    assert_int_equal(fl_storage_backup(f->b, &b, &r), FL_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cleanup_age_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_budget_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_and_write, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
