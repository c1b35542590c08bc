/*
 * test_resil_stripes.c -- the hot-key paths (issue 13): one key hammered by
 * several threads keeps exact totals, a breaker opens where its window
 * says, a bulkhead's limit and a limiter's burst stay hard bounds across
 * the stripes (high-water mark checked with an atomic) and across a new
 * config, and the success
 * path reads the clock once unless a slow-call rule, a time window, a
 * timeout or a deadline needs the end of the call.  Labelled threads: run
 * under ThreadSanitizer by ./dev sanitize.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fakeclock.h"
#include "resilience/resilience.h"

#define NT 4

typedef struct shared {
    fake_clock clk;
    fl_resil_t *r;
    fl_guard_t *g;
    _Atomic int go;
    _Atomic int inflight, high;
    _Atomic int admitted, refused;
    int n_each;
    int fail_every; /* 0: all succeed */
} shared;

static void run_threads(shared *s, void *(*fn)(void *))
{
    pthread_t t[NT];
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, s), 0);
    atomic_store(&s->go, 1);
    for (int i = 0; i < NT; i++)
        pthread_join(t[i], NULL);
}

static void wait_go(shared *s)
{
    while (!atomic_load(&s->go))
        sched_yield();
}

/* ---- one key: every outcome counted exactly ------------------------------- */

static void *count_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 1; i <= s->n_each; i++) {
        fl_permit_t p;
        if (fl_admit(s->g, "hot", &p) != FL_OK) {
            atomic_fetch_add(&s->refused, 1);
            continue;
        }
        atomic_fetch_add(&s->admitted, 1);
        fl_complete(&p, s->fail_every && i % s->fail_every == 0 ? "unavailable" : NULL);
    }
    return NULL;
}

static void test_one_key_totals(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    /* never opens: the window keeps every outcome of the run */
    fl_breaker_config_t bc = {.size = 100000, .min_calls = 100000, .failure_rate = 1.0};
    fl_limiter_config_t lc = {.rate = 1e9, .burst = 1000000};
    /* 8 slots per stripe: a share looks full only with 8 calls in it, and
     * the other threads hold at most NT - 1, so nobody is ever refused */
    fl_bulkhead_config_t hc = {.max_concurrent = 8 * FL_STRIPES};
    fl_guard_spec_t spec = {"b", "l", "h", NULL};
    fl_breaker_stats_t st;
    fl_resil_t *r;
    (void)unused;
    s->n_each = 5000;
    s->fail_every = 7;
    r = s->r = fake_registry(&s->clk, NULL, NULL); /* time stands still */
    assert_int_equal(fl_breaker_declare(r, "b", &bc, NULL), FL_OK);
    assert_int_equal(fl_limiter_declare(r, "l", &lc, NULL), FL_OK);
    assert_int_equal(fl_bulkhead_declare(r, "h", &hc, NULL), FL_OK);
    assert_int_equal(fl_guard_new(r, &spec, &s->g, NULL), FL_OK);
    run_threads(s, count_worker);
    /* a burst larger than the run, more slots than threads: nobody refused */
    assert_int_equal(atomic_load(&s->refused), 0);
    assert_int_equal(atomic_load(&s->admitted), NT * s->n_each);
    assert_int_equal(fl_breaker_stats(r, "b", "hot", &st), FL_OK);
    assert_int_equal(st.state, FL_BREAKER_CLOSED);
    assert_int_equal(st.calls, NT * s->n_each);
    assert_int_equal(st.failures, NT * (s->n_each / 7));
    assert_int_equal(fl_bulkhead_inflight(fl_robj_state(fl_resil_find(r, FL_RESIL_BULKHEAD, "h"),
                                                        "hot", fl_key_hash("hot"), NULL)),
                     0);
    /* every token taken is gone: burst - calls left (time stood still) */
    assert_true(fl_limiter_available(fl_resil_find(r, FL_RESIL_LIMITER, "l"),
                                     fl_robj_state(fl_resil_find(r, FL_RESIL_LIMITER, "l"), "hot",
                                                   fl_key_hash("hot"), NULL),
                                     fl_resil_now(r)) == 1000000.0 - NT * s->n_each);
    fl_resil_free(r);
    free(s);
}

/* A success into a full window of successes writes nothing; the window's
 * counts are still those of its last `size` outcomes. */
static void test_clean_window_skip_exact(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_breaker_config_t bc = {.size = 10, .min_calls = 1000};
    fl_guard_spec_t spec = {"b", NULL, NULL, NULL};
    fl_guard_t *g = NULL;
    fl_breaker_stats_t st;
    fl_permit_t p;
    (void)unused;
    fl_breaker_declare(r, "b", &bc, NULL);
    fl_guard_new(r, &spec, &g, NULL);
    for (int i = 0; i < 25; i++) { /* 10 fill the window, 15 are skipped */
        assert_int_equal(fl_admit(g, NULL, &p), FL_OK);
        fl_complete(&p, NULL);
    }
    fl_breaker_stats(r, "b", NULL, &st);
    assert_int_equal(st.calls, 10);
    assert_int_equal(st.failures, 0);
    assert_int_equal(fl_admit(g, NULL, &p), FL_OK);
    fl_complete(&p, "unavailable");
    for (int i = 0; i < 9; i++) { /* the failure is one of the last 10 */
        assert_int_equal(fl_admit(g, NULL, &p), FL_OK);
        fl_complete(&p, NULL);
        fl_breaker_stats(r, "b", NULL, &st);
        assert_int_equal(st.failures, 1);
    }
    assert_int_equal(fl_admit(g, NULL, &p), FL_OK);
    fl_complete(&p, NULL); /* ... and the tenth success evicts it */
    fl_breaker_stats(r, "b", NULL, &st);
    assert_int_equal(st.calls, 10);
    assert_int_equal(st.failures, 0);
    fl_resil_free(r);
}

/* ---- the breaker opens where its window says, under contention ----------- */

typedef struct opens {
    _Atomic int closed_to_open, other;
} opens;

static void on_breaker(void *u, const char *name, const char *key, fl_breaker_state from,
                       fl_breaker_state to)
{
    opens *o = u;
    (void)name;
    (void)key;
    if (from == FL_BREAKER_CLOSED && to == FL_BREAKER_OPEN)
        atomic_fetch_add(&o->closed_to_open, 1);
    else
        atomic_fetch_add(&o->other, 1);
}

static void test_breaker_opens_at_min_calls(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    opens o = {0};
    fl_breaker_config_t bc = {.size = 100, .min_calls = 20, .failure_rate = 0.5};
    fl_bulkhead_config_t hc = {.max_concurrent = 3};
    fl_guard_spec_t spec = {"b", NULL, "h", NULL};
    fl_breaker_stats_t st;
    (void)unused;
    s->n_each = 200;
    s->fail_every = 1; /* every call fails */
    s->r = fake_registry(&s->clk, on_breaker, &o);
    fl_breaker_declare(s->r, "b", &bc, NULL);
    fl_bulkhead_declare(s->r, "h", &hc, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    run_threads(s, count_worker);
    assert_int_equal(fl_breaker_stats(s->r, "b", "hot", &st), FL_OK);
    assert_int_equal(st.state, FL_BREAKER_OPEN);
    assert_int_equal(atomic_load(&o.closed_to_open), 1);
    assert_int_equal(atomic_load(&o.other), 0);
    /* Opened by the outcome that brought the window to min_calls; calls
     * already admitted (at most the other threads', one each) still count. */
    assert_true(st.calls >= 20 && st.calls <= 20 + NT - 1);
    assert_int_equal(st.failures, st.calls);
    /* admitted while closed: those outcomes, plus at most one in flight
     * per thread whose outcome came after the open (not counted) */
    assert_true(atomic_load(&s->admitted) <= 20 + 2 * NT);
    fl_resil_free(s->r);
    free(s);
}

/* ---- bulkhead: the limit is a hard bound across stripes ------------------- */

static void *bulk_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (int i = 0; i < s->n_each; i++) {
        fl_permit_t p;
        int cur, hw;
        if (fl_admit(s->g, "hot", &p) != FL_OK) {
            atomic_fetch_add(&s->refused, 1);
            continue;
        }
        cur = atomic_fetch_add(&s->inflight, 1) + 1;
        hw = atomic_load(&s->high);
        while (cur > hw && !atomic_compare_exchange_weak(&s->high, &hw, cur)) {
        }
        if (i % 4 == 0)
            sched_yield(); /* hold the slot while others try */
        atomic_fetch_sub(&s->inflight, 1);
        atomic_fetch_add(&s->admitted, 1);
        fl_complete(&p, NULL);
    }
    return NULL;
}

static void bulkhead_bound(int max)
{
    shared *s = calloc(1, sizeof *s);
    fl_bulkhead_config_t hc = {.max_concurrent = (uint32_t)max};
    fl_guard_spec_t spec = {NULL, NULL, "h", NULL};
    fl_permit_t held[16];
    fl_permit_t p;
    s->n_each = 20000;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_bulkhead_declare(s->r, "h", &hc, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    run_threads(s, bulk_worker);
    print_message("# max_concurrent %d: high-water %d, %d admitted, %d refused\n", max,
                  atomic_load(&s->high), atomic_load(&s->admitted), atomic_load(&s->refused));
    assert_true(atomic_load(&s->high) <= max);
    assert_int_equal(atomic_load(&s->admitted) + atomic_load(&s->refused), NT * s->n_each);
    /* one thread alone gets every slot, whichever stripes hold them */
    for (int i = 0; i < max; i++)
        assert_int_equal(fl_admit(s->g, "hot", &held[i]), FL_OK);
    assert_int_equal(fl_admit(s->g, "hot", &p), FL_EREFUSED);
    assert_string_equal(p.reason, "bulkhead_full:h");
    fl_complete(&held[0], NULL);
    assert_int_equal(fl_admit(s->g, "hot", &held[0]), FL_OK);
    for (int i = 0; i < max; i++)
        fl_complete(&held[i], NULL);
    fl_resil_free(s->r);
    free(s);
}

static void test_bulkhead_hard_bound(void **unused)
{
    (void)unused;
    bulkhead_bound(3);  /* fewer slots than stripes: most shares are 0 */
    bulkhead_bound(13); /* shares of 2 and 1 */
}

/* A smaller limit declared while slots are held: nothing more is admitted
 * until the calls in flight are under the new limit. */
static void test_bulkhead_shrink(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_bulkhead_config_t hc = {.max_concurrent = 10};
    fl_guard_spec_t spec = {NULL, NULL, "h", NULL};
    fl_guard_t *g = NULL;
    fl_permit_t held[10], p;
    (void)unused;
    fl_bulkhead_declare(r, "h", &hc, NULL);
    fl_guard_new(r, &spec, &g, NULL);
    for (int i = 0; i < 10; i++)
        assert_int_equal(fl_admit(g, NULL, &held[i]), FL_OK);
    hc.max_concurrent = 4;
    fl_bulkhead_declare(r, "h", &hc, NULL);
    for (int i = 0; i < 10; i++) {
        int in_flight = 10 - i, got = fl_admit(g, NULL, &p);
        if (got == FL_OK) {
            assert_true(in_flight < 4);
            fl_complete(&p, NULL);
        }
        fl_complete(&held[i], NULL);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(fl_admit(g, NULL, &held[i]), FL_OK);
    assert_int_equal(fl_admit(g, NULL, &p), FL_EREFUSED);
    fl_resil_free(r);
}

/* ---- limiter: burst and rate are hard bounds across stripes -------------- */

static void *drain_worker(void *arg)
{
    shared *s = arg;
    wait_go(s);
    for (;;) {
        fl_permit_t p;
        if (fl_admit(s->g, "hot", &p) != FL_OK)
            return NULL; /* time stands still: no token comes back */
        atomic_fetch_add(&s->admitted, 1);
        fl_complete(&p, NULL);
    }
}

static int drain(shared *s)
{
    atomic_store(&s->admitted, 0);
    atomic_store(&s->go, 0);
    run_threads(s, drain_worker);
    return atomic_load(&s->admitted);
}

static void test_limiter_striped_bounds(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_limiter_config_t lc = {.rate = 1000, .burst = 50}; /* 8 buckets of 6 or 7 */
    fl_guard_spec_t spec = {NULL, "l", NULL, NULL};
    (void)unused;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_limiter_declare(s->r, "l", &lc, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    assert_int_equal(drain(s), 50); /* the whole burst, not one more */
    fake_advance_ms(&s->clk, 8);     /* one interval of each bucket */
    assert_int_equal(drain(s), 8);   /* = rate * 8 ms */
    fake_advance_ms(&s->clk, 24);
    assert_int_equal(drain(s), 24);
    fake_advance_ms(&s->clk, 1000); /* refills up to the burst only */
    assert_int_equal(drain(s), 50);
    fl_resil_free(s->r);
    free(s);
}

/* A new burst that moves a key between one bucket and stripes keeps what
 * it owes: as one bucket whose burst changed would. */
static void test_limiter_relayout(void **unused)
{
    shared *s = calloc(1, sizeof *s);
    fl_limiter_config_t lc = {.rate = 1000, .burst = 4}; /* one bucket */
    fl_guard_spec_t spec = {NULL, "l", NULL, NULL};
    (void)unused;
    s->r = fake_registry(&s->clk, NULL, NULL);
    fl_limiter_declare(s->r, "l", &lc, NULL);
    fl_guard_new(s->r, &spec, &s->g, NULL);
    assert_int_equal(drain(s), 4);
    lc.burst = 40; /* 8 buckets now; 4 tokens still owed */
    fl_limiter_declare(s->r, "l", &lc, NULL);
    assert_int_equal(drain(s), 36);
    lc.burst = 4; /* back to one bucket, owing 40: 36 ms before the next */
    fl_limiter_declare(s->r, "l", &lc, NULL);
    assert_int_equal(drain(s), 0);
    fake_advance_ms(&s->clk, 36);
    assert_int_equal(drain(s), 0);
    fake_advance_ms(&s->clk, 1);
    assert_int_equal(drain(s), 1);
    fl_resil_free(s->r);
    free(s);
}

/* ---- clock reads on the success path --------------------------------------- */

typedef struct counting_clock {
    _Atomic int64_t now;
    _Atomic int reads;
    int64_t step; /* added by every read */
} counting_clock;

static int64_t count_now(void *u)
{
    counting_clock *c = u;
    atomic_fetch_add(&c->reads, 1);
    return atomic_fetch_add(&c->now, c->step) + c->step;
}

static void ok_fn(void *u, const fl_attempt_info_t *a, fl_outcome_t *o)
{
    (void)u;
    (void)a;
    (void)o;
}

/* Clock reads of one fl_call and of one fl_admit + fl_complete. */
static void reads_of(const fl_breaker_config_t *bc, uint32_t timeout_ms, uint32_t deadline_ms,
                     int *call_reads, int *admit_reads, fl_breaker_stats_t *st)
{
    counting_clock clk = {.now = 1000000000, .step = 61000000000ll}; /* 61 s per read */
    fl_resil_options_t o = {.clock = count_now, .clock_user = &clk};
    fl_resil_t *r = NULL;
    fl_budget_config_t gc = {0};
    fl_exec_config_t ec = {.guard = {.breaker = "b", .budget = "g"},
                           .attempt_timeout_ms = timeout_ms, .deadline_ms = deadline_ms};
    fl_guard_spec_t spec = {"b", NULL, NULL, "g"};
    fl_exec_t *ex = NULL;
    fl_guard_t *g = NULL;
    fl_call_result_t res;
    fl_permit_t p;
    assert_int_equal(fl_resil_new(&o, &r), FL_OK);
    assert_int_equal(fl_breaker_declare(r, "b", bc, NULL), FL_OK);
    assert_int_equal(fl_budget_declare(r, "g", &gc, NULL), FL_OK);
    assert_int_equal(fl_exec_new(r, &ec, &ex, NULL), FL_OK);
    assert_int_equal(fl_guard_new(r, &spec, &g, NULL), FL_OK);
    atomic_store(&clk.reads, 0);
    assert_int_equal(fl_call(ex, "k", ok_fn, NULL, NULL, &res), FL_OK);
    *call_reads = atomic_load(&clk.reads);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    atomic_store(&clk.reads, 0);
    assert_int_equal(fl_admit(g, "k", &p), FL_OK);
    assert_int_equal(fl_complete(&p, NULL), FL_OK);
    *admit_reads = atomic_load(&clk.reads);
    fl_breaker_stats(r, "b", "k", st);
    fl_resil_free(r);
}

static void test_success_clock_reads(void **unused)
{
    fl_breaker_config_t plain = {0}, slow = {.slow_call_ms = 60000}, timed = {.window = FL_WINDOW_TIME};
    fl_breaker_stats_t st;
    int call, admit;
    (void)unused;
    reads_of(&plain, 0, 0, &call, &admit, &st);
    assert_int_equal(call, 1);
    assert_int_equal(admit, 1);
    assert_int_equal(st.slow_calls, 0); /* no slow-call rule: nothing is slow */
    /* a slow-call rule needs the duration: exact, with a second read (each
     * read here moves the clock 61 s, so both calls were slow) */
    reads_of(&slow, 0, 0, &call, &admit, &st);
    assert_int_equal(call, 2);
    assert_int_equal(admit, 2);
    assert_int_equal(st.slow_calls, 2);
    reads_of(&timed, 0, 0, &call, &admit, &st); /* counted in the bucket it ended in */
    assert_int_equal(call, 2);
    assert_int_equal(admit, 2);
    reads_of(&plain, 0, 1000000, &call, &admit, &st); /* a deadline */
    assert_int_equal(call, 2);
    reads_of(&plain, 1000000, 0, &call, &admit, &st); /* an attempt timeout */
    assert_int_equal(call, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_key_totals),
        cmocka_unit_test(test_clean_window_skip_exact),
        cmocka_unit_test(test_breaker_opens_at_min_calls),
        cmocka_unit_test(test_bulkhead_hard_bound),
        cmocka_unit_test(test_bulkhead_shrink),
        cmocka_unit_test(test_limiter_striped_bounds),
        cmocka_unit_test(test_limiter_relayout),
        cmocka_unit_test(test_success_clock_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
