/*
 * test_bind_faults.c -- storage actions under faults: a full file system
 * (a 1 MiB tmpfs mounted in a private mount namespace, or fault injection
 * where mounting is refused), a read-only file system (tmpfs remounted
 * read-only, or injection), permission denied (injection: tests run as root,
 * which chmod does not stop), and failing fsync / rename.  Each test prints
 * which method it used.  Invariants: the failure is reported with its cause,
 * originals are intact, no temporary is left behind.
 */
#define _GNU_SOURCE 1
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>

#include "bindings.h"
#include "bindtest.h"

typedef struct fault {
    int armed;
    fl_io_op op;
    int err;
    int hits;
} fault;

static int hook(void *ud, fl_io_op op, const char *rel)
{
    fault *ft = ud;
    (void)rel;
    if (ft->armed && op == ft->op) {
        ft->hits++;
        return ft->err;
    }
    return 0;
}

typedef struct fx {
    char *root;
    int mounted;
    fault ft;
    fl_bindings_t *b;
} fx;

static int g_ns_ok; /* set once in main: a private mount namespace exists */

static int mount_tmpfs(const char *dir)
{
    return g_ns_ok && mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755") == 0;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->root = bt_mkdtemp();
    f->mounted = mount_tmpfs(f->root);
    const char *roots[] = {f->root};
    fl_bindings_options_t o = {.storage_roots = roots, .storage_roots_count = 1,
                               .io_fault = hook, .io_fault_ud = &f->ft};
    assert_int_equal(fl_bindings_new(&o, &f->b), FL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    fl_bindings_free(f->b);
    if (f->mounted)
        umount2(f->root, MNT_DETACH);
    bt_rmrf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static void arm(fx *f, fl_io_op op, int err)
{
    f->ft = (fault){.armed = 1, .op = op, .err = err};
}

static void test_full_fs(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    size_t big = 300000;
    char *data = malloc(big);
    memset(data, 'd', big);
    for (int i = 0; i < 8; i++) { /* 800 KB of old logs on a 1 MiB fs */
        char n[32];
        snprintf(n, sizeof n, "old-%d.log", i);
        assert_int_equal(bt_write(f->root, n, 100000, 'a' + i, 3600 + i), 0);
    }
    printf("# full file system: %s\n", f->mounted ? "tmpfs size=1m (real ENOSPC)"
                                                 : "fault injection (mount refused)");
    if (!f->mounted)
        arm(f, FL_IO_WRITE, ENOSPC);
    snprintf(p, sizeof p, "%s/out.bin", f->root);
    fl_write_options_t w = {.path = p, .data = data, .len = big};
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_EIO);
    assert_non_null(strstr(r.error, "No space left on device"));
    assert_false(bt_exists(f->root, "out.bin"));
    assert_int_equal(bt_count_temps(f->root), 0);
    /* compressing needs room too: it fails and the original stays intact */
    if (!f->mounted)
        arm(f, FL_IO_WRITE, ENOSPC);
    fl_compress_options_t z = {.path = p};
    snprintf(p, sizeof p, "%s/old-0.log", f->root);
    int zr = fl_storage_compress(f->b, &z, &r);
    assert_true(zr == FL_OK || zr == FL_EIO);
    if (zr == FL_EIO)
        assert_int_equal(bt_size(f->root, "old-0.log"), 100000);
    else
        assert_true(bt_exists(f->root, "old-0.log.zst"));
    assert_int_equal(bt_count_temps(f->root), 0);
    /* free space as a policy would, then the write succeeds */
    fl_cleanup_options_t c = {.dir = f->root, .pattern = "old-*", .max_bytes = 200000};
    assert_int_equal(fl_storage_cleanup(f->b, &c, &r), FL_OK);
    assert_true(r.bytes_freed >= 500000);
    f->ft.armed = 0;
    snprintf(p, sizeof p, "%s/out.bin", f->root);
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_OK);
    assert_int_equal(bt_size(f->root, "out.bin"), (long)big);
    free(data);
}

static void test_read_only(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    bt_write(f->root, "a.log", 1000, 'a', 7200);
    bt_write(f->root, "b.log", 1000, 'b', 7200);
    int ro = f->mounted && mount(NULL, f->root, NULL, MS_REMOUNT | MS_RDONLY, "size=1m") == 0;
    printf("# read-only file system: %s\n", ro ? "tmpfs remounted read-only"
                                              : "fault injection (EROFS)");
    if (!ro)
        arm(f, FL_IO_UNLINK, EROFS);
    fl_cleanup_options_t c = {.dir = f->root, .older_than_s = 60};
    assert_int_equal(fl_storage_cleanup(f->b, &c, &r), FL_EIO);
    assert_non_null(strstr(r.error, "Read-only file system"));
    assert_int_equal(r.files, 0);
    assert_true(bt_exists(f->root, "a.log") && bt_exists(f->root, "b.log"));
    if (!ro)
        arm(f, FL_IO_OPEN_WRITE, EROFS);
    snprintf(p, sizeof p, "%s/a.log", f->root);
    fl_compress_options_t z = {.path = p};
    assert_int_equal(fl_storage_compress(f->b, &z, &r), FL_EIO);
    assert_non_null(strstr(r.error, "Read-only file system"));
    assert_int_equal(bt_size(f->root, "a.log"), 1000);
    fl_write_options_t w = {.path = p, .data = "x", .len = 1};
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_EIO);
    assert_int_equal(bt_size(f->root, "a.log"), 1000);
    if (ro)
        mount(NULL, f->root, NULL, MS_REMOUNT, "size=1m");
}

static void test_permission_denied(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    bt_write(f->root, "a.log", 1000, 'a', 7200);
    printf("# permission denied: fault injection (EACCES; root ignores modes)\n");
    arm(f, FL_IO_UNLINK, EACCES);
    fl_cleanup_options_t c = {.dir = f->root, .older_than_s = 60};
    assert_int_equal(fl_storage_cleanup(f->b, &c, &r), FL_EIO);
    assert_non_null(strstr(r.error, "Permission denied"));
    assert_non_null(strstr(r.error, "a.log"));
    assert_true(bt_exists(f->root, "a.log"));
    arm(f, FL_IO_OPEN_WRITE, EACCES);
    snprintf(p, sizeof p, "%s/new.txt", f->root);
    fl_write_options_t w = {.path = p, .data = "x", .len = 1};
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_EIO);
    assert_non_null(strstr(r.error, "Permission denied"));
    assert_false(bt_exists(f->root, "new.txt"));
}

static void test_fsync_and_rename_faults(void **state)
{
    fx *f = *state;
    fl_storage_result_t r;
    char p[1024];
    snprintf(p, sizeof p, "%s/state", f->root);
    fl_write_options_t w = {.path = p, .data = "old", .len = 3};
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_OK);
    w.data = "new";
    arm(f, FL_IO_FSYNC, EIO);
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_EIO);
    arm(f, FL_IO_RENAME, EIO);
    assert_int_equal(fl_storage_write_atomic(f->b, &w, &r), FL_EIO);
    char *s = bt_read(f->root, "state", NULL);
    assert_string_equal(s, "old");
    free(s);
    /* compress: rename of the verified output fails; the original stays */
    bt_write(f->root, "c.log", 5000, 'c', 0);
    snprintf(p, sizeof p, "%s/c.log", f->root);
    fl_compress_options_t z = {.path = p};
    assert_int_equal(fl_storage_compress(f->b, &z, &r), FL_EIO);
    assert_int_equal(bt_size(f->root, "c.log"), 5000);
    assert_false(bt_exists(f->root, "c.log.zst"));
    assert_int_equal(bt_count_temps(f->root), 0);
    f->ft.armed = 0;
    assert_int_equal(fl_storage_compress(f->b, &z, &r), FL_OK);
    assert_false(bt_exists(f->root, "c.log"));
}

int main(void)
{
    /* A private mount namespace so test mounts never leak to the host. */
    g_ns_ok = !getenv("FL_BIND_NO_MOUNT") && unshare(CLONE_NEWNS) == 0 &&
              mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    printf("# mount namespace: %s\n", g_ns_ok ? "private (tmpfs mounts available)"
                                              : "unavailable (fault injection only)");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_fs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fsync_and_rename_faults, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
