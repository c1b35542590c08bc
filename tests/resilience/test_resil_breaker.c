/*
 * test_resil_breaker.c -- circuit breaker state machine on a fake clock:
 * count and time windows, failure and slow-call rates, minimum calls,
 * half-open probes, growing open periods, operator states, categories,
 * reconfiguration that keeps counts, and a property test that replays
 * random outcome sequences against a reference model.
 */
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

typedef struct trans_log {
    int n;
    fl_breaker_state from[64], to[64];
} trans_log;

static void on_trans(void *u, const char *name, const char *key, fl_breaker_state from,
                     fl_breaker_state to)
{
    trans_log *t = u;
    (void)name;
    (void)key;
    if (t->n < 64) {
        t->from[t->n] = from;
        t->to[t->n] = to;
    }
    t->n++;
}

typedef struct fx {
    fake_clock clk;
    trans_log log;
    fl_resil_t *r;
    fl_guard_t *g;
} fx;

static fx *fx_new(const fl_breaker_config_t *c)
{
    fx *f = calloc(1, sizeof *f);
    fl_guard_spec_t spec = {"b", NULL, NULL, NULL};
    f->r = fake_registry(&f->clk, on_trans, &f->log);
    assert_int_equal(fl_breaker_declare(f->r, "b", c, NULL), FL_OK);
    assert_int_equal(fl_guard_new(f->r, &spec, &f->g, NULL), FL_OK);
    return f;
}

static void fx_free(fx *f)
{
    fl_resil_free(f->r);
    free(f);
}

/* One call through the breaker: 1 if admitted (then completed with cat
 * after dur_ms), 0 if refused. */
static int call(fx *f, const char *key, const char *cat, int64_t dur_ms)
{
    fl_permit_t p;
    int rc = fl_admit(f->g, key, &p);
    if (rc == FL_EREFUSED)
        return 0;
    assert_int_equal(rc, FL_OK);
    fake_advance_ms(&f->clk, dur_ms);
    assert_int_equal(fl_complete(&p, cat), FL_OK);
    return 1;
}

static fl_breaker_state state(fx *f, const char *key)
{
    fl_breaker_stats_t st;
    assert_int_equal(fl_breaker_stats(f->r, "b", key, &st), FL_OK);
    return st.state;
}

static void test_count_window_opens_at_rate(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .failure_rate = 0.5, .min_calls = 4, .open_ms = 1000};
    fx *f = fx_new(&c);
    (void)unused;
    /* Below min_calls nothing opens, even at 100% failures. */
    for (int i = 0; i < 3; i++)
        assert_true(call(f, "k", "unavailable", 1));
    assert_int_equal(state(f, "k"), FL_BREAKER_CLOSED);
    /* 4th failure: 4 calls, 4 failures -> open. */
    assert_true(call(f, "k", "unavailable", 1));
    assert_int_equal(state(f, "k"), FL_BREAKER_OPEN);
    assert_false(call(f, "k", NULL, 1));
    /* Other keys are independent. */
    assert_true(call(f, "other", NULL, 1));
    assert_int_equal(f->log.n, 1);
    assert_int_equal(f->log.to[0], FL_BREAKER_OPEN);
    fx_free(f);
}

static void test_rate_below_threshold_stays_closed(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .failure_rate = 0.5, .min_calls = 4};
    fx *f = fx_new(&c);
    (void)unused;
    /* Alternate success, success, failure: 33% < 50%. */
    for (int i = 0; i < 30; i++)
        assert_true(call(f, NULL, i % 3 == 2 ? "internal" : NULL, 1));
    assert_int_equal(state(f, NULL), FL_BREAKER_CLOSED);
    fx_free(f);
}

static void test_slow_calls_open(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .slow_call_ms = 100, .slow_call_rate = 0.5,
                             .min_calls = 4};
    fx *f = fx_new(&c);
    (void)unused;
    assert_true(call(f, NULL, NULL, 10));
    assert_true(call(f, NULL, NULL, 10));
    assert_true(call(f, NULL, NULL, 150)); /* slow success */
    assert_int_equal(state(f, NULL), FL_BREAKER_CLOSED);
    assert_true(call(f, NULL, NULL, 150)); /* 2 of 4 slow -> open */
    assert_int_equal(state(f, NULL), FL_BREAKER_OPEN);
    fx_free(f);
}

static void test_categories_decide_failures(void **unused)
{
    const char *fails[] = {"unavailable", NULL};
    const char *ign[] = {"cancelled", "not_found", NULL};
    fl_breaker_config_t c = {.size = 10, .min_calls = 2, .failures = fails, .ignored = ign};
    fl_breaker_stats_t st;
    fx *f = fx_new(&c);
    (void)unused;
    assert_true(call(f, NULL, "invalid_argument", 1)); /* counts as success */
    assert_true(call(f, NULL, "not_found", 1));        /* not counted */
    assert_true(call(f, NULL, "cancelled.by_user", 1)); /* not counted */
    assert_int_equal(fl_breaker_stats(f->r, "b", NULL, &st), FL_OK);
    assert_int_equal(st.calls, 1);
    assert_int_equal(st.failures, 0);
    assert_true(call(f, NULL, "unavailable.dns", 1)); /* refinement counts */
    assert_int_equal(state(f, NULL), FL_BREAKER_OPEN);
    fx_free(f);
}

static void test_half_open_probes_and_close(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .min_calls = 2, .half_open_calls = 3, .open_ms = 1000};
    fl_permit_t p[4];
    fx *f = fx_new(&c);
    (void)unused;
    call(f, NULL, "unavailable", 1);
    call(f, NULL, "unavailable", 1);
    assert_int_equal(state(f, NULL), FL_BREAKER_OPEN);
    fake_advance_ms(&f->clk, 999);
    assert_int_equal(fl_admit(f->g, NULL, &p[0]), FL_EREFUSED);
    assert_string_equal(p[0].reason, "breaker_open:b");
    assert_true(p[0].retry_after_ns > 0);
    fake_advance_ms(&f->clk, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fl_admit(f->g, NULL, &p[i]), FL_OK);
    assert_int_equal(state(f, NULL), FL_BREAKER_HALF_OPEN);
    assert_int_equal(fl_admit(f->g, NULL, &p[3]), FL_EREFUSED); /* only 3 probes */
    /* A released probe gives its slot back. */
    assert_int_equal(fl_permit_release(&p[2]), FL_OK);
    assert_int_equal(fl_admit(f->g, NULL, &p[2]), FL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fl_complete(&p[i], NULL), FL_OK);
    assert_int_equal(state(f, NULL), FL_BREAKER_CLOSED);
    assert_int_equal(fl_complete(&p[0], NULL), FL_ESTATE); /* twice */
    /* The window was reset on closing. */
    {
        fl_breaker_stats_t st;
        fl_breaker_stats(f->r, "b", NULL, &st);
        assert_int_equal(st.calls, 0);
        assert_int_equal(st.opens, 0);
    }
    assert_int_equal(f->log.n, 3); /* open, half_open, closed */
    assert_int_equal(f->log.to[1], FL_BREAKER_HALF_OPEN);
    assert_int_equal(f->log.to[2], FL_BREAKER_CLOSED);
    fx_free(f);
}

static void test_open_period_grows_and_caps(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .min_calls = 1, .half_open_calls = 1, .open_ms = 100,
                             .open_max_ms = 350, .open_factor = 2};
    int64_t expect[] = {100, 200, 350, 350};
    fx *f = fx_new(&c);
    (void)unused;
    call(f, NULL, "unavailable", 0);
    for (int round = 0; round < 4; round++) {
        fl_breaker_stats_t st;
        fl_breaker_stats(f->r, "b", NULL, &st);
        assert_int_equal(st.state, FL_BREAKER_OPEN);
        assert_int_equal(st.retry_after_ns, expect[round] * 1000000);
        fake_advance_ms(&f->clk, expect[round]);
        assert_true(call(f, NULL, "unavailable", 0)); /* failed probe: reopen */
    }
    /* A successful probe closes and resets the growth. */
    fake_advance_ms(&f->clk, 350);
    assert_true(call(f, NULL, NULL, 0));
    assert_int_equal(state(f, NULL), FL_BREAKER_CLOSED);
    call(f, NULL, "unavailable", 0);
    {
        fl_breaker_stats_t st;
        fl_breaker_stats(f->r, "b", NULL, &st);
        assert_int_equal(st.retry_after_ns, 100 * 1000000);
    }
    fx_free(f);
}

static void test_time_window_expires(void **unused)
{
    fl_breaker_config_t c = {.window = FL_WINDOW_TIME, .size = 10, .min_calls = 5,
                             .failure_rate = 0.5};
    fl_breaker_stats_t st;
    fx *f = fx_new(&c);
    (void)unused;
    for (int i = 0; i < 4; i++)
        call(f, NULL, "unavailable", 0);
    fl_breaker_stats(f->r, "b", NULL, &st);
    assert_int_equal(st.calls, 4);
    fake_advance_ms(&f->clk, 11000); /* all four expire */
    fl_breaker_stats(f->r, "b", NULL, &st);
    assert_int_equal(st.calls, 0);
    call(f, NULL, "unavailable", 0);
    assert_int_equal(state(f, NULL), FL_BREAKER_CLOSED); /* 1 call < min 5 */
    for (int i = 0; i < 4; i++) {
        fake_advance_ms(&f->clk, 1000);
        call(f, NULL, "unavailable", 0);
    }
    assert_int_equal(state(f, NULL), FL_BREAKER_OPEN);
    fx_free(f);
}

static void test_operator_states(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .min_calls = 1};
    fx *f = fx_new(&c);
    (void)unused;
    assert_int_equal(fl_breaker_set_state(f->r, "b", NULL, FL_BREAKER_FORCED_OPEN), FL_OK);
    assert_false(call(f, "x", NULL, 0));
    assert_int_equal(state(f, "never-used"), FL_BREAKER_FORCED_OPEN);
    assert_int_equal(fl_breaker_set_state(f->r, "b", NULL, FL_BREAKER_DISABLED), FL_OK);
    for (int i = 0; i < 10; i++)
        assert_true(call(f, "x", "unavailable", 0)); /* never opens */
    assert_int_equal(fl_breaker_set_state(f->r, "b", NULL, FL_BREAKER_CLOSED), FL_OK);
    assert_int_equal(state(f, "x"), FL_BREAKER_CLOSED);
    /* Per key. */
    assert_int_equal(fl_breaker_set_state(f->r, "b", "y", FL_BREAKER_FORCED_OPEN), FL_OK);
    assert_false(call(f, "y", NULL, 0));
    assert_true(call(f, "x", NULL, 0));
    assert_int_equal(fl_breaker_set_state(f->r, "b", "y", FL_BREAKER_CLOSED), FL_OK);
    assert_true(call(f, "y", NULL, 0));
    /* Bad input. */
    assert_int_equal(fl_breaker_set_state(f->r, "b", NULL, FL_BREAKER_OPEN), FL_EINVAL);
    assert_int_equal(fl_breaker_set_state(f->r, "nope", NULL, FL_BREAKER_CLOSED), FL_ENOENT);
    assert_int_equal(fl_breaker_set_state(NULL, "b", NULL, FL_BREAKER_CLOSED), FL_EINVAL);
    fx_free(f);
}

static void test_reconfigure_keeps_counts(void **unused)
{
    fl_breaker_config_t c = {.size = 10, .min_calls = 100, .failure_rate = 0.9};
    fl_breaker_stats_t st;
    fx *f = fx_new(&c);
    (void)unused;
    for (int i = 0; i < 8; i++)
        call(f, "k", i < 6 ? "unavailable" : NULL, 0);
    /* Same size, lower thresholds: counts kept, next failure opens. */
    c.min_calls = 5;
    c.failure_rate = 0.5;
    assert_int_equal(fl_breaker_declare(f->r, "b", &c, NULL), FL_OK);
    fl_breaker_stats(f->r, "b", "k", &st);
    assert_int_equal(st.calls, 8);
    assert_int_equal(st.failures, 6);
    /* Shrink the window to 4: keeps the 4 most recent (2 fail, 2 ok). */
    c.size = 4;
    c.min_calls = 100;
    assert_int_equal(fl_breaker_declare(f->r, "b", &c, NULL), FL_OK);
    fl_breaker_stats(f->r, "b", "k", &st);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.failures, 2);
    /* Grow to 50: keeps those 4. */
    c.size = 50;
    assert_int_equal(fl_breaker_declare(f->r, "b", &c, NULL), FL_OK);
    fl_breaker_stats(f->r, "b", "k", &st);
    assert_int_equal(st.calls, 4);
    assert_int_equal(st.failures, 2);
    fx_free(f);
}

static void test_bad_config(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *bad[] = {"unavailable", "no_such_category", NULL};
    fl_breaker_config_t c = {.failure_rate = 1.5};
    fl_diag_t d;
    (void)unused;
    assert_int_equal(fl_breaker_declare(r, "b", &c, &d), FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "failure_rate"));
    c.failure_rate = 0;
    c.failures = bad;
    assert_int_equal(fl_breaker_declare(r, "b", &c, &d), FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "no_such_category"));
    assert_int_equal(fl_breaker_declare(r, "", &c, &d), FL_EINVAL);
    assert_int_equal(fl_breaker_declare(r, "b", NULL, &d), FL_EINVAL);
    assert_int_equal(fl_breaker_declare(NULL, "b", &c, &d), FL_EINVAL);
    assert_null(fl_resil_find(r, FL_RESIL_BREAKER, "b")); /* nothing declared */
    {
        fl_breaker_stats_t st;
        assert_int_equal(fl_breaker_stats(r, "b", NULL, &st), FL_ENOENT);
    }
    fl_resil_free(r);
    fl_resil_free(NULL);
}

/* ---- property test: random outcomes against a reference model ------------ */

typedef struct model {
    int st; /* 0 closed 1 open 2 half */
    int ring[16], n, pos;
    int64_t until;
    int opens, ho_admit, ho_done, ho_fail;
} model;

static int m_rates(const model *m, int size, int min, double fr)
{
    int fails = 0, calls = m->n < size ? m->n : size;
    for (int i = 0; i < calls; i++)
        fails += m->ring[i];
    return calls >= min && calls > 0 && (double)fails >= fr * calls;
}

static void m_open(model *m, int64_t now, int64_t open_ns, int64_t max_ns)
{
    int64_t d = open_ns << m->opens;
    m->st = 1;
    m->until = now + (d > max_ns ? max_ns : d);
    m->opens++;
}

static void test_property_random_sequences(void **unused)
{
    const int SIZE = 8, MIN = 4, HO = 2;
    uint64_t seed = 12345;
    int transitions = 0;
    (void)unused;
    for (int run = 0; run < 200; run++) {
        fl_breaker_config_t c = {.size = (uint32_t)SIZE, .min_calls = (uint32_t)MIN,
                                 .half_open_calls = (uint32_t)HO, .failure_rate = 0.5,
                                 .open_ms = 10, .open_max_ms = 40};
        fx *f = fx_new(&c);
        model m = {0};
        for (int step = 0; step < 300; step++) {
            int64_t now;
            int fail, admitted, expect;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            fail = (int)((seed >> 33) % 100) < (run % 10) * 10;
            if ((seed >> 20) % 4 == 0)
                fake_advance_ms(&f->clk, (int64_t)((seed >> 40) % 15));
            now = fake_now(&f->clk);
            /* Model admission. */
            if (m.st == 1 && now >= m.until) {
                m.st = 2;
                m.ho_admit = m.ho_done = m.ho_fail = 0;
            }
            expect = m.st == 0 || (m.st == 2 && m.ho_admit < HO);
            admitted = call(f, NULL, fail ? "unavailable" : NULL, 0);
            assert_int_equal(admitted, expect);
            if (!admitted)
                continue;
            if (m.st == 0) {
                m.ring[m.pos] = fail;
                m.pos = (m.pos + 1) % SIZE;
                m.n++;
                if (fail && m_rates(&m, SIZE, MIN, 0.5))
                    m_open(&m, now, 10000000, 40000000);
            } else {
                m.ho_admit++;
                m.ho_done++;
                m.ho_fail += fail;
                if (m.ho_fail >= 0.5 * HO) {
                    m_open(&m, now, 10000000, 40000000);
                } else if (m.ho_done == HO) {
                    m.st = 0;
                    m.n = m.pos = m.opens = 0;
                    memset(m.ring, 0, sizeof m.ring);
                }
            }
            assert_int_equal((int)state(f, NULL), m.st);
        }
        transitions += f->log.n;
        fx_free(f);
    }
    assert_true(transitions > 1000); /* the sequences do exercise the machine */
    printf("# property: %d transitions checked\n", transitions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_window_opens_at_rate),
        cmocka_unit_test(test_rate_below_threshold_stays_closed),
        cmocka_unit_test(test_slow_calls_open),
        cmocka_unit_test(test_categories_decide_failures),
        cmocka_unit_test(test_half_open_probes_and_close),
        cmocka_unit_test(test_open_period_grows_and_caps),
        cmocka_unit_test(test_time_window_expires),
        cmocka_unit_test(test_operator_states),
        cmocka_unit_test(test_reconfigure_keeps_counts),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_property_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
