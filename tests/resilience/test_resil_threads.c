/*
 * test_resil_threads.c -- concurrency: half-open never admits more than N
 * probes per period, window counts are never lost, bulkheads never exceed
 * their limit (also with waiting callers), a limiter never hands out more
 * than its burst at one instant, a retry budget is never overdrawn, and
 * concurrent first use of keys creates each key's state once.  Run under
 * ThreadSanitizer by `ctest -L threads`.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fakeclock.h"
#include "resilience/resilience.h"

#define NT 4

typedef struct shared {
    fake_clock clk;
    fl_resil_t *r;
    fl_guard_t *g;
    _Atomic int stop;
    _Atomic int go;
    _Atomic int inflight, max_seen;
    _Atomic int admitted, refused;
    _Atomic int per_gen[65536];
    int n_each;
} shared;

static void start_threads(pthread_t *t, void *(*fn)(void *), shared *s)
{
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, s), 0);
    atomic_store(&s->go, 1);
}

static void join_threads(pthread_t *t)
{
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_go(shared *s)
{
    while (!atomic_load(&s->go)) {
    }
}

/* ---- half-open never admits more than N ----------------------------------- */

static void *probe_worker(void *arg)
{
    shared *s = arg;
    unsigned seed = (unsigned)(uintptr_t)&seed;
    wait_go(s);
    while (!atomic_load(&s->stop)) {
        fl_permit_t p;
        if (fl_admit(s->g, "k", &p) != FL_OK)
            continue;
        if (p.flags_ & 2u) /* a half-open probe: count it in its generation */
            atomic_fetch_add(&s->per_gen[p.gen_ % 65536], 1);
        seed = seed * 1103515245u + 12345u;
        fl_complete(&p, (seed >> 16) % 3 == 0 ? "unavailable" : NULL);
    }
    return NULL;
}

static void test_half_open_at_most_n(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_breaker_config_t c = {.size = 20, .min_calls = 5, .half_open_calls = 3, .open_ms = 1,
                             .failure_rate = 0.3};
    fl_guard_spec_t spec = {"b", NULL, NULL, NULL};
    pthread_t t[NT];
    int periods = 0;
    (void)unused;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_breaker_declare(s->r, "b", &c, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    start_threads(t, probe_worker, s);
    /* For 300 ms of real time, end an open period every 100 us or so. */
    for (int64_t end = real_ms() + 300; real_ms() < end;) {
        struct timespec ts = {0, 100000};
        fake_advance_ms(&s->clk, 1);
        nanosleep(&ts, NULL);
    }
    atomic_store(&s->stop, 1);
    join_threads(t);
    for (int g = 0; g < 65536; g++) {
        int n = atomic_load(&s->per_gen[g]);
        assert_true(n <= 3);
        periods += n > 0;
    }
    printf("# %d half-open periods, none admitted more than 3\n", periods);
    assert_true(periods > 5);
    fl_resil_free(s->r);
    free(s);
}

/* ---- counts never lost ---------------------------------------------------- */

static void *count_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_permit_t p;
        assert_int_equal(fl_admit(s->g, "k", &p), FL_OK);
        fl_complete(&p, i % 4 == 0 ? "unavailable" : NULL);
    }
    return NULL;
}

static void counts_exact(fl_window_kind w)
{
    shared *s = calloc(1, sizeof *s);
    fl_breaker_config_t c = {.window = w, .size = w == FL_WINDOW_COUNT ? 100000 : 60,
                             .min_calls = 1000000, .slow_call_ms = 1000000};
    fl_guard_spec_t spec = {"b", NULL, NULL, NULL};
    fl_breaker_stats_t st;
    pthread_t t[NT];
    s->n_each = 5000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_breaker_declare(s->r, "b", &c, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    start_threads(t, count_worker, s);
    join_threads(t);
    fl_breaker_stats(s->r, "b", "k", &st);
    assert_int_equal(st.calls, NT * s->n_each);
    assert_int_equal(st.failures, NT * s->n_each / 4);
    fl_resil_free(s->r);
    free(s);
}

static void test_counts_never_lost(void **unused)
{
    (void)unused;
    counts_exact(FL_WINDOW_COUNT);
    counts_exact(FL_WINDOW_TIME);
}

/* A small count window under churn: totals match the slots exactly. */
static void test_ring_totals_converge(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_breaker_config_t c = {.size = 7, .min_calls = 1000000};
    fl_guard_spec_t spec = {"b", NULL, NULL, NULL};
    pthread_t t[NT];
    fl_robj *o;
    fl_cwin *w;
    int64_t n[3];
    int fails = 0;
    (void)unused;
    s->n_each = 5000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_breaker_declare(s->r, "b", &c, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    start_threads(t, count_worker, s);
    join_threads(t);
    o = fl_resil_find(s->r, FL_RESIL_BREAKER, "b");
    w = fl_bstate_window(fl_robj_state(o, "k", fl_key_hash("k"), NULL));
    fl_cwin_read(w, n);
    for (uint32_t i = 0; i < w->size; i++)
        fails += atomic_load(&w->slots[i]) & 1;
    assert_int_equal(n[1], fails);
    fl_resil_free(s->r);
    free(s);
}

/* ---- bulkhead, limiter, budget -------------------------------------------- */

static void *bulk_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_permit_t p;
        int now, max;
        if (fl_admit(s->g, NULL, &p) != FL_OK) {
            atomic_fetch_add(&s->refused, 1);
            continue;
        }
        now = atomic_fetch_add(&s->inflight, 1) + 1;
        max = atomic_load(&s->max_seen);
        while (now > max && !atomic_compare_exchange_weak(&s->max_seen, &max, now)) {
        }
        atomic_fetch_sub(&s->inflight, 1);
        fl_complete(&p, NULL);
    }
    return NULL;
}

static void test_bulkhead_never_exceeds(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_bulkhead_config_t c = {.max_concurrent = 2};
    fl_guard_spec_t spec = {NULL, NULL, "h", NULL};
    pthread_t t[NT];
    (void)unused;
    s->n_each = 20000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_bulkhead_declare(s->r, "h", &c, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    start_threads(t, bulk_worker, s);
    join_threads(t);
    assert_true(atomic_load(&s->max_seen) <= 2);
    fl_resil_free(s->r);
    free(s);
}

/* Executor callers wait in the bulkhead queue instead of failing. */
static void slow_ok(void *u, const fl_attempt_info_t *a, fl_outcome_t *o)
{
    shared *s = u;
    int now = atomic_fetch_add(&s->inflight, 1) + 1, max = atomic_load(&s->max_seen);
    (void)a;
    (void)o;
    while (now > max && !atomic_compare_exchange_weak(&s->max_seen, &max, now)) {
    }
    for (volatile int k = 0; k < 20000; k++) {
    }
    atomic_fetch_sub(&s->inflight, 1);
}

static void *queue_worker(void *arg)
{
    shared *s = arg;
    fl_exec_t *ex = (fl_exec_t *)s->g;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_call_result_t res;
        fl_call(ex, NULL, slow_ok, s, NULL, &res);
        atomic_fetch_add(res.outcome == FL_CALL_SUCCEEDED ? &s->admitted : &s->refused, 1);
    }
    return NULL;
}

static void test_bulkhead_queue_waits(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_bulkhead_config_t c = {.max_concurrent = 1, .max_queue = NT, .max_wait_ms = 5000};
    fl_exec_config_t ec = {.guard = {.bulkhead = "h"}};
    fl_exec_t *ex = NULL;
    pthread_t t[NT];
    (void)unused;
    s->n_each = 200;
    fl_resil_new(NULL, &s->r); /* real clock: waits are real */
    fl_bulkhead_declare(s->r, "h", &c, NULL);
    assert_int_equal(fl_exec_new(s->r, &ec, &ex, NULL), FL_OK);
    s->g = (fl_guard_t *)ex;
    start_threads(t, queue_worker, s);
    join_threads(t);
    assert_int_equal(atomic_load(&s->max_seen), 1);
    assert_int_equal(atomic_load(&s->admitted), NT * s->n_each); /* nobody refused */
    fl_resil_free(s->r);
    free(s);
}

static void *limit_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_permit_t p;
        if (fl_admit(s->g, "k", &p) == FL_OK) {
            atomic_fetch_add(&s->admitted, 1);
            fl_complete(&p, NULL);
        }
    }
    return NULL;
}

static void test_limiter_exact_burst(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_limiter_config_t c = {.rate = 1, .burst = 100};
    fl_guard_spec_t spec = {NULL, "l", NULL, NULL};
    pthread_t t[NT];
    (void)unused;
    s->n_each = 1000;
    s->r = fake_registry(&s->clk, NULL, NULL); /* time stands still */
    fl_limiter_declare(s->r, "l", &c, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    start_threads(t, limit_worker, s);
    join_threads(t);
    assert_int_equal(atomic_load(&s->admitted), 100);
    fl_resil_free(s->r);
    free(s);
}

static void *budget_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_resil_outcome_t o = {NULL, "g", "svc", "unavailable", 0, 1, 0};
        fl_resil_record(s->r, &o);
        if (fl_resil_gate_retry(s->r, NULL, "g", "svc", NULL, 0) == FL_OK)
            atomic_fetch_add(&s->admitted, 1);
    }
    return NULL;
}

static void test_budget_never_overdrawn(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_budget_config_t c = {.ratio = 0.1, .min_retries = 5, .window_ms = 60000};
    pthread_t t[NT];
    int total;
    (void)unused;
    s->n_each = 2000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_budget_declare(s->r, "g", &c, NULL);
    start_threads(t, budget_worker, s);
    join_threads(t);
    total = atomic_load(&s->admitted);
    printf("# %d retries allowed for %d calls\n", total, NT * s->n_each);
    assert_true(total <= NT * s->n_each / 10);
    assert_true(total >= NT * s->n_each / 10 - 2 * NT); /* refusals only under contention */
    fl_resil_free(s->r);
    free(s);
}

/* ---- keys created once ---------------------------------------------------- */

static void *key_worker(void *arg)
{
    shared *s = arg;
    fl_robj *o = fl_resil_find(s->r, FL_RESIL_BREAKER, "b");
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        char k[16];
        void *a, *b;
        snprintf(k, sizeof k, "key-%d", i % 500);
        a = fl_robj_state(o, k, fl_key_hash(k), NULL);
        b = fl_robj_state(o, k, fl_key_hash(k), NULL);
        assert_ptr_equal(a, b);
    }
    return NULL;
}

static void test_keys_created_once(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_breaker_config_t c = {.size = 4};
    pthread_t t[NT];
    fl_robj *o;
    (void)unused;
    s->n_each = 3000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_breaker_declare(s->r, "b", &c, NULL);
    start_threads(t, key_worker, s);
    join_threads(t);
    o = fl_resil_find(s->r, FL_RESIL_BREAKER, "b");
    assert_int_equal(atomic_load(&o->keys.count), 500);
    fl_resil_free(s->r);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_open_at_most_n),
        cmocka_unit_test(test_counts_never_lost),
        cmocka_unit_test(test_ring_totals_converge),
        cmocka_unit_test(test_bulkhead_never_exceeds),
        cmocka_unit_test(test_bulkhead_queue_waits),
        cmocka_unit_test(test_limiter_exact_burst),
        cmocka_unit_test(test_budget_never_overdrawn),
        cmocka_unit_test(test_keys_created_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
