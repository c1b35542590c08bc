/*
 * test_bind_resource.c -- resource checks: sane readings, the cache (a fake
 * clock shows a reading is reused within the TTL and refreshed after it,
 * FL_RESOURCE_FRESH bypasses it), bad input, and concurrent callers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "bindings.h"
#include "bindtest.h"

static uint64_t fake_clock(void *ud)
{
    return *(uint64_t *)ud;
}

static void test_readings(void **state)
{
    (void)state;
    fl_bindings_t *b;
    fl_memory_info_t m;
    fl_disk_info_t d;
    fl_cpu_info_t c;
    fl_fd_info_t fds;
    fl_bindings_options_t o = {.cpu_window_ms = 20};
    assert_int_equal(fl_bindings_new(&o, &b), FL_OK);
    assert_int_equal(fl_resource_memory(b, 0, &m), FL_OK);
    assert_true(m.total_bytes > 0 && m.available_bytes <= m.total_bytes);
    assert_true(m.rss_bytes > 0 && m.available_pct > 0 && m.available_pct <= 100);
    printf("# memory: total %llu, available %.1f%%, rss %llu, cgroup %s %llu/%llu\n",
           (unsigned long long)m.total_bytes, m.available_pct, (unsigned long long)m.rss_bytes,
           m.in_cgroup ? "yes" : "no", (unsigned long long)m.cgroup_usage_bytes,
           (unsigned long long)m.cgroup_limit_bytes);
    assert_int_equal(fl_resource_disk(b, "/tmp", 0, &d), FL_OK);
    assert_true(d.total_bytes > 0 && d.free_bytes <= d.total_bytes);
    assert_true(d.free_pct >= 0 && d.free_pct <= 100);
    assert_int_equal(fl_resource_disk(b, "/nonexistent/x", 0, &d), FL_ENOENT);
    assert_int_equal(fl_resource_cpu(b, 0, &c), FL_OK);
    assert_true(c.ncpu >= 1 && c.usage_pct >= 0 && c.usage_pct <= 100 && c.load1 >= 0);
    assert_int_equal(fl_resource_fds(b, 0, &fds), FL_OK);
    assert_true(fds.open >= 3 && fds.limit >= fds.open);
    assert_int_equal(fl_resource_memory(NULL, 0, &m), FL_EINVAL);
    assert_int_equal(fl_resource_memory(b, 0, NULL), FL_EINVAL);
    assert_int_equal(fl_resource_disk(b, NULL, 0, &d), FL_EINVAL);
    assert_int_equal(fl_resource_cpu(NULL, 0, &c), FL_EINVAL);
    assert_int_equal(fl_resource_fds(b, 0, NULL), FL_EINVAL);
    fl_bindings_free(b);
}

static void test_cache_ttl(void **state)
{
    (void)state;
    uint64_t now = 1000000000;
    fl_bindings_t *b;
    fl_fd_info_t a, x;
    fl_bindings_options_t o = {.cache_ttl_ms = 500, .clock_ns = fake_clock, .clock_ud = &now};
    assert_int_equal(fl_bindings_new(&o, &b), FL_OK);
    assert_int_equal(fl_resource_fds(b, 0, &a), FL_OK);
    int extra[10];
    for (int i = 0; i < 10; i++)
        extra[i] = dup(0);
    now += 400000000; /* within the TTL: cached */
    assert_int_equal(fl_resource_fds(b, 0, &x), FL_OK);
    assert_int_equal(x.open, a.open);
    assert_int_equal(fl_resource_fds(b, FL_RESOURCE_FRESH, &x), FL_OK);
    assert_int_equal(x.open, a.open + 10);
    for (int i = 0; i < 10; i++)
        close(extra[i]);
    now += 400000000; /* the fresh read refilled the cache: still cached */
    assert_int_equal(fl_resource_fds(b, 0, &x), FL_OK);
    assert_int_equal(x.open, a.open + 10);
    now += 200000000; /* past the TTL */
    assert_int_equal(fl_resource_fds(b, 0, &x), FL_OK);
    assert_int_equal(x.open, a.open);
    /* disk cache keyed by path; clear drops everything */
    char *dir = bt_mkdtemp();
    fl_disk_info_t d1, d2;
    assert_int_equal(fl_resource_disk(b, dir, 0, &d1), FL_OK);
    bt_rmrf(dir);
    assert_int_equal(fl_resource_disk(b, dir, 0, &d2), FL_OK); /* cached */
    fl_bindings_cache_clear(b);
    assert_int_equal(fl_resource_disk(b, dir, 0, &d2), FL_ENOENT);
    for (int i = 0; i < 40; i++) { /* more paths than slots */
        char p[64];
        snprintf(p, sizeof p, "/tmp/%s", i % 2 ? "." : "..");
        assert_int_equal(fl_resource_disk(b, i < 20 ? p : "/", 0, &d2), FL_OK);
    }
    free(dir);
    fl_bindings_free(b);
}

static void *hammer(void *arg)
{
    fl_bindings_t *b = arg;
    for (int i = 0; i < 20000; i++) {
        fl_memory_info_t m;
        fl_disk_info_t d;
        fl_fd_info_t f;
        if (fl_resource_memory(b, 0, &m) || fl_resource_disk(b, "/tmp", 0, &d) ||
            fl_resource_fds(b, i % 5000 == 0 ? FL_RESOURCE_FRESH : 0, &f))
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    fl_bindings_t *b;
    pthread_t t[4];
    fl_bindings_options_t o = {.cache_ttl_ms = 1};
    assert_int_equal(fl_bindings_new(&o, &b), FL_OK);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, b);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    fl_bindings_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
