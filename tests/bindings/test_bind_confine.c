/*
 * test_bind_confine.c -- confinement of storage actions to the roots:
 * outside paths, `..`, symlink escapes (directory and file), relative paths,
 * in-root symlinks, both with openat2 and with the O_NOFOLLOW walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bindings.h"
#include "bindtest.h"

typedef struct fx {
    char *root, *outside;
    fl_bindings_t *b;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = bt_mkdtemp();
    f->outside = bt_mkdtemp();
    char p[1024], q[1024];
    snprintf(p, sizeof p, "%s/sub", f->root);
    mkdir(p, 0755);
    bt_write(f->root, "sub/a.log", 100, 'a', 0);
    bt_write(f->outside, "secret.log", 100, 's', 0);
    /* escapes: a directory symlink and a file symlink pointing outside */
    snprintf(p, sizeof p, "%s/escape", f->root);
    symlink(f->outside, p);
    snprintf(p, sizeof p, "%s/outside.log", f->outside);
    snprintf(q, sizeof q, "%s/sub/link.log", f->root);
    symlink(p, q);
    /* an in-root relative symlink */
    snprintf(p, sizeof p, "%s/alias", f->root);
    symlink("sub", p);
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
    bt_rmrf(f->outside);
    free(f->root);
    free(f->outside);
    free(f);
    return 0;
}

static int write_to(fx *f, const char *fmt, const char *a)
{
    char p[2048];
    fl_storage_result_t r;
    snprintf(p, sizeof p, fmt, a);
    fl_write_options_t w = {.path = p, .data = "x", .len = 1};
    return fl_storage_write_atomic(f->b, &w, &r);
}

static void refusals(fx *f)
{
    assert_int_equal(write_to(f, "%s/x", f->outside), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s/sub/../../x", f->root), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s/../x", f->root), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s/escape/new.txt", f->root), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s", "../x"), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s", "/"), FL_ECONFINED);
    assert_int_equal(write_to(f, "%s", "/etc/passwd"), FL_ECONFINED);
    /* prefix trickery: ROOTx is not inside ROOT */
    assert_int_equal(write_to(f, "%sx/y", f->root), FL_ECONFINED);
    assert_false(bt_exists(f->outside, "new.txt"));
    assert_false(bt_exists(f->outside, "x"));

    /* cleanup through a symlinked directory, compress of a symlink */
    fl_storage_result_t r;
    char p[1024];
    snprintf(p, sizeof p, "%s/escape", f->root);
    fl_cleanup_options_t c = {.dir = p, .max_bytes = 1};
    assert_int_equal(fl_storage_cleanup(f->b, &c, &r), FL_ECONFINED);
    assert_non_null(strstr(r.error, "refused"));
    assert_true(bt_exists(f->outside, "secret.log"));
    snprintf(p, sizeof p, "%s/sub/link.log", f->root);
    fl_compress_options_t z = {.path = p};
    assert_int_equal(fl_storage_compress(f->b, &z, &r), FL_ECONFINED);
    /* writing over a symlink replaces the link, never the target */
    assert_int_equal(write_to(f, "%s/sub/link.log", f->root), FL_OK);
    assert_false(bt_exists(f->outside, "outside.log"));
}

static void test_refused_openat2(void **state)
{
    fx *f = *state;
    refusals(f);
}

static void test_refused_walk(void **state)
{
    fx *f = *state;
    f->b->confine.no_openat2 = 1;
    refusals(f);
    /* the walk refuses every symlink, also in-root ones */
    assert_int_equal(write_to(f, "%s/alias/b.txt", f->root), FL_ECONFINED);
}

static void test_allowed(void **state)
{
    fx *f = *state;
    assert_int_equal(write_to(f, "%s/sub/b.txt", f->root), FL_OK);
    assert_true(bt_exists(f->root, "sub/b.txt"));
    assert_int_equal(write_to(f, "%s", "sub/rel.txt"), FL_OK); /* relative: first root */
    assert_true(bt_exists(f->root, "sub/rel.txt"));
    assert_int_equal(write_to(f, "%s/./sub//c.txt", f->root), FL_OK);
    if (!f->b->confine.no_openat2) { /* in-root symlink allowed with openat2 */
        assert_int_equal(write_to(f, "%s/alias/d.txt", f->root), FL_OK);
        assert_true(bt_exists(f->root, "sub/d.txt"));
    }
    assert_int_equal(write_to(f, "%s/missing/x", f->root), FL_ENOENT);
    assert_int_equal(write_to(f, "%s", ""), FL_EINVAL);
    printf("# confinement: %s\n", f->b->confine.no_openat2 ? "walk" : "openat2");
}

static void test_no_roots(void **state)
{
    (void)state;
    fl_bindings_t *b;
    fl_storage_result_t r;
    assert_int_equal(fl_bindings_new(NULL, &b), FL_OK);
    fl_write_options_t w = {.path = "/tmp/x", .data = "x", .len = 1};
    assert_int_equal(fl_storage_write_atomic(b, &w, &r), FL_ECONFINED);
    fl_bindings_free(b);
    const char *bad[] = {"/nonexistent/fl-root"};
    fl_bindings_options_t o = {.storage_roots = bad, .storage_roots_count = 1};
    assert_int_equal(fl_bindings_new(&o, &b), FL_ENOENT);
    assert_null(b);
    assert_int_equal(fl_bindings_new(&o, NULL), FL_EINVAL);
    assert_int_equal(fl_storage_write_atomic(NULL, &w, &r), FL_EINVAL);
    assert_int_equal(fl_storage_write_atomic(b, NULL, NULL), FL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_openat2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowed, setup, teardown),
        cmocka_unit_test(test_no_roots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
