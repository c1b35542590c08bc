/*
 * test_bind_checkpoint.c -- the checkpoint store: save / load / list /
 * prune, sequence numbers, the per-job cap, deduplicated saves, reopening,
 * bad input, no data dir, and concurrent savers on one object.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "bindings.h"
#include "bindtest.h"

typedef struct fx {
    char *dir;
    fl_bindings_t *b;
} fx;

static int open_store(fx *f, uint32_t kept)
{
    fl_bindings_options_t o = {.data_dir = f->dir, .checkpoints_kept = kept};
    return fl_bindings_new(&o, &f->b);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char *base = bt_mkdtemp();
    f->dir = malloc(strlen(base) + 8);
    sprintf(f->dir, "%s/data", base); /* created by fl_bindings_new */
    free(base);
    assert_int_equal(open_store(f, 3), FL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    fl_bindings_free(f->b);
    char *slash = strrchr(f->dir, '/');
    *slash = '\0';
    bt_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void test_save_load(void **state)
{
    fx *f = *state;
    int64_t seq;
    fl_checkpoint_t cp;
    assert_int_equal(fl_checkpoint_load(f->b, "job", NULL, &cp), FL_ENOENT);
    assert_int_equal(fl_checkpoint_save(f->b, "job", "extract", "a", 1, &seq), FL_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(fl_checkpoint_save(f->b, "job", "extract", "b", 1, &seq), FL_OK);
    assert_int_equal(seq, 2);
    assert_int_equal(fl_checkpoint_save(f->b, "job", "extract", "b", 1, &seq), FL_OK);
    assert_int_equal(seq, 2); /* same as the latest: not added again */
    assert_int_equal(fl_checkpoint_save(f->b, "job", "transform", "c\0d", 3, &seq), FL_OK);
    assert_int_equal(seq, 3);
    assert_int_equal(fl_checkpoint_save(f->b, "other", "extract", "", 0, &seq), FL_OK);
    assert_int_equal(seq, 1);
    assert_int_equal(fl_checkpoint_load(f->b, "job", NULL, &cp), FL_OK);
    assert_int_equal(cp.seq, 3);
    assert_string_equal(cp.stage, "transform");
    assert_int_equal(cp.len, 3);
    assert_memory_equal(cp.data, "c\0d", 3);
    assert_true(cp.created_ms > 1600000000000LL);
    fl_checkpoint_clear(&cp);
    assert_int_equal(fl_checkpoint_load(f->b, "job", "extract", &cp), FL_OK);
    assert_int_equal(cp.seq, 2);
    assert_string_equal((char *)cp.data, "b");
    fl_checkpoint_clear(&cp);
    assert_int_equal(fl_checkpoint_load_seq(f->b, "job", 1, &cp), FL_OK);
    assert_string_equal((char *)cp.data, "a");
    fl_checkpoint_clear(&cp);
    assert_int_equal(fl_checkpoint_load_seq(f->b, "job", 9, &cp), FL_ENOENT);
    /* reopen: durable */
    fl_bindings_free(f->b);
    assert_int_equal(open_store(f, 3), FL_OK);
    assert_int_equal(fl_checkpoint_load(f->b, "job", NULL, &cp), FL_OK);
    assert_int_equal(cp.seq, 3);
    fl_checkpoint_clear(&cp);
}

static void test_kept_list_prune(void **state)
{
    fx *f = *state;
    fl_checkpoint_t *list;
    size_t n;
    uint32_t removed;
    for (int i = 0; i < 10; i++) {
        char d[16];
        snprintf(d, sizeof d, "state-%d", i);
        assert_int_equal(fl_checkpoint_save(f->b, "j", "s", d, strlen(d), NULL), FL_OK);
    }
    assert_int_equal(fl_checkpoint_list(f->b, "j", &list, &n), FL_OK);
    assert_int_equal(n, 3); /* checkpoints_kept = 3 */
    assert_int_equal(list[0].seq, 10);
    assert_int_equal(list[2].seq, 8);
    assert_null(list[0].data);
    assert_int_equal(list[0].len, 7);
    fl_checkpoint_list_free(list, n);
    assert_int_equal(fl_checkpoint_prune(f->b, "j", 1, &removed), FL_OK);
    assert_int_equal(removed, 2);
    assert_int_equal(fl_checkpoint_prune(f->b, "j", 1, &removed), FL_OK);
    assert_int_equal(removed, 0); /* idempotent */
    assert_int_equal(fl_checkpoint_prune(f->b, "j", 0, &removed), FL_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(fl_checkpoint_list(f->b, "j", &list, &n), FL_OK);
    assert_int_equal(n, 0);
    assert_null(list);
}

static void test_bad_input(void **state)
{
    fx *f = *state;
    fl_checkpoint_t cp;
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(fl_checkpoint_save(NULL, "j", "s", "", 0, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_save(f->b, "", "s", "", 0, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_save(f->b, "j", NULL, "", 0, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_save(f->b, longname, "s", "", 0, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_save(f->b, "j", "s", NULL, 5, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_save(f->b, "j", "s", "x", (size_t)65 << 20, NULL),
                     FL_ETOOBIG);
    assert_int_equal(fl_checkpoint_load(f->b, "j", NULL, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_load(f->b, NULL, NULL, &cp), FL_EINVAL);
    assert_int_equal(fl_checkpoint_list(f->b, "j", NULL, NULL), FL_EINVAL);
    assert_int_equal(fl_checkpoint_prune(NULL, "j", 1, NULL), FL_EINVAL);
    fl_checkpoint_clear(NULL);
    fl_checkpoint_list_free(NULL, 0);
    /* no data dir: FL_ESTATE */
    fl_bindings_t *b;
    assert_int_equal(fl_bindings_new(NULL, &b), FL_OK);
    assert_int_equal(fl_checkpoint_save(b, "j", "s", "", 0, NULL), FL_ESTATE);
    assert_int_equal(fl_checkpoint_load(b, "j", NULL, &cp), FL_ESTATE);
    fl_bindings_free(b);
    fl_bindings_options_t o = {.data_dir = "/proc/no/such/dir"};
    assert_int_equal(fl_bindings_new(&o, &b), FL_EIO);
}

static void *saver(void *arg)
{
    fl_bindings_t *b = arg;
    for (int i = 0; i < 50; i++) {
        char d[32];
        snprintf(d, sizeof d, "%p-%d", (void *)&d, i);
        if (fl_checkpoint_save(b, "shared", "s", d, strlen(d), NULL) != FL_OK)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    fx *f = *state;
    pthread_t t[4];
    fl_checkpoint_t cp;
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, saver, f->b);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    assert_int_equal(fl_checkpoint_load(f->b, "shared", NULL, &cp), FL_OK);
    assert_int_equal(cp.seq, 200);
    fl_checkpoint_clear(&cp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kept_list_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
