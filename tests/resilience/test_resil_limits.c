/*
 * test_resil_limits.c -- rate limiter, bulkhead, retry budget and the
 * combined admission API on a fake clock; the decision-path seam
 * (fl_resil_record, fl_resil_gate_retry); Lua declarations and the
 * handlers' read-only Lua API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "fakeclock.h"
#include "resilience/resilience.h"

static fl_guard_t *guard(fl_resil_t *r, const char *b, const char *l, const char *h,
                         const char *g)
{
    fl_guard_spec_t s = {b, l, h, g};
    fl_guard_t *out = NULL;
    assert_int_equal(fl_guard_new(r, &s, &out, NULL), FL_OK);
    return out;
}

static void test_limiter_burst_and_refill(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_limiter_config_t c = {.rate = 10, .burst = 5};
    fl_permit_t p;
    fl_guard_t *g;
    (void)unused;
    assert_int_equal(fl_limiter_declare(r, "l", &c, NULL), FL_OK);
    g = guard(r, NULL, "l", NULL, NULL);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fl_admit(g, "k", &p), FL_OK);
        fl_complete(&p, NULL);
    }
    assert_int_equal(fl_admit(g, "k", &p), FL_EREFUSED);
    assert_string_equal(p.reason, "rate_limited:l");
    assert_int_equal(p.retry_after_ns, 100000000); /* one token per 100 ms */
    fake_advance_ms(&clk, 100);
    assert_int_equal(fl_admit(g, "k", &p), FL_OK);
    fl_complete(&p, NULL);
    assert_int_equal(fl_admit(g, "k", &p), FL_EREFUSED);
    /* A long pause refills only up to the burst. */
    fake_advance_ms(&clk, 10000);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fl_admit(g, "k", &p), FL_OK);
        fl_complete(&p, NULL);
    }
    assert_int_equal(fl_admit(g, "k", &p), FL_EREFUSED);
    assert_int_equal(fl_admit(g, "other", &p), FL_OK); /* per key */
    fl_complete(&p, NULL);
    /* Bad config. */
    c.rate = 0;
    assert_int_equal(fl_limiter_declare(r, "l2", &c, NULL), FL_EPOLICY_SCHEMA);
    fl_resil_free(r);
}

static void test_bulkhead_limit(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_bulkhead_config_t c = {.max_concurrent = 2};
    fl_permit_t p[3];
    fl_guard_t *g;
    (void)unused;
    assert_int_equal(fl_bulkhead_declare(r, "h", &c, NULL), FL_OK);
    g = guard(r, NULL, NULL, "h", NULL);
    assert_int_equal(fl_admit(g, NULL, &p[0]), FL_OK);
    assert_int_equal(fl_admit(g, NULL, &p[1]), FL_OK);
    assert_int_equal(fl_admit(g, NULL, &p[2]), FL_EREFUSED);
    assert_string_equal(p[2].reason, "bulkhead_full:h");
    assert_int_equal(fl_complete(&p[0], "unavailable"), FL_OK);
    assert_int_equal(fl_admit(g, NULL, &p[2]), FL_OK);
    assert_int_equal(fl_permit_release(&p[1]), FL_OK);
    assert_int_equal(fl_permit_release(&p[2]), FL_OK);
    assert_int_equal(fl_permit_release(&p[2]), FL_ESTATE);
    c.max_concurrent = 0;
    assert_int_equal(fl_bulkhead_declare(r, "h2", &c, NULL), FL_EPOLICY_SCHEMA);
    fl_resil_free(r);
}

static void test_refusal_gives_back(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_breaker_config_t bc = {.min_calls = 1, .half_open_calls = 1, .open_ms = 10};
    fl_limiter_config_t lc = {.rate = 1, .burst = 1};
    fl_bulkhead_config_t hc = {.max_concurrent = 1};
    fl_permit_t a, b;
    fl_guard_t *g;
    (void)unused;
    fl_breaker_declare(r, "b", &bc, NULL);
    fl_limiter_declare(r, "l", &lc, NULL);
    fl_bulkhead_declare(r, "h", &hc, NULL);
    g = guard(r, "b", "l", "h", NULL);
    /* Open the breaker, wait, take the single half-open probe with a
     * guard that has no bulkhead, then check the full guard. */
    {
        fl_guard_t *gb = guard(r, "b", NULL, NULL, NULL);
        assert_int_equal(fl_admit(gb, NULL, &a), FL_OK);
        fl_complete(&a, "unavailable");
        fake_advance_ms(&clk, 10);
        /* The bulkhead is full: the probe and the token must be given back. */
        {
            fl_guard_t *gh = guard(r, NULL, NULL, "h", NULL);
            assert_int_equal(fl_admit(gh, NULL, &b), FL_OK);
            assert_int_equal(fl_admit(g, NULL, &a), FL_EREFUSED);
            assert_string_equal(a.reason, "bulkhead_full:h");
            fl_permit_release(&b);
        }
        assert_int_equal(fl_admit(g, NULL, &a), FL_OK); /* probe and token again */
        fl_complete(&a, NULL);
    }
    {
        fl_breaker_stats_t st;
        fl_breaker_stats(r, "b", NULL, &st);
        assert_int_equal(st.state, FL_BREAKER_CLOSED);
    }
    assert_int_equal(fl_admit(NULL, NULL, &a), FL_EINVAL);
    assert_int_equal(fl_admit(g, NULL, NULL), FL_EINVAL);
    assert_int_equal(fl_complete(NULL, NULL), FL_EINVAL);
    fl_resil_free(r);
}

static void test_budget_ratio_and_min(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_budget_config_t c = {.ratio = 0.1, .min_retries = 3, .window_ms = 1000};
    char why[64];
    (void)unused;
    assert_int_equal(fl_budget_declare(r, "default", &c, NULL), FL_OK);
    /* No calls yet: the minimum (3) applies. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(fl_resil_gate_retry(r, NULL, "default", "svc", why, sizeof why), FL_OK);
    assert_int_equal(fl_resil_gate_retry(r, NULL, "default", "svc", why, sizeof why),
                     FL_EREFUSED);
    assert_string_equal(why, "retry_budget:default");
    /* 100 calls: 10% = 10 retries in the window (3 used). */
    for (int i = 0; i < 100; i++) {
        fl_resil_outcome_t o = {NULL, "default", "svc", NULL, 0, 1, 0};
        fl_resil_record(r, &o);
    }
    for (int i = 0; i < 7; i++)
        assert_int_equal(fl_resil_gate_retry(r, NULL, "default", "svc", why, sizeof why), FL_OK);
    assert_int_equal(fl_resil_gate_retry(r, NULL, "default", "svc", why, sizeof why),
                     FL_EREFUSED);
    /* The window slides: after a full window everything has expired. */
    fake_advance_ms(&clk, 1100);
    assert_int_equal(fl_resil_gate_retry(r, NULL, "default", "svc", why, sizeof why), FL_OK);
    c.window_ms = 1;
    assert_int_equal(fl_budget_declare(r, "bad", &c, NULL), FL_EPOLICY_SCHEMA);
    fl_resil_free(r);
}

static void test_gate_breaker_first(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    fl_breaker_config_t bc = {.min_calls = 2, .open_ms = 500};
    fl_budget_config_t gc = {.min_retries = 1};
    fl_resil_outcome_t fail = {"payments", "default", "svc", "unavailable", 1000000, 2, 0};
    char why[64];
    int64_t calls, retries, left;
    (void)unused;
    fl_breaker_declare(r, "payments", &bc, NULL);
    fl_budget_declare(r, "default", &gc, NULL);
    assert_int_equal(fl_resil_record(r, &fail), FL_OK);
    assert_int_equal(fl_resil_gate_retry(r, "payments", "default", "svc", why, sizeof why), FL_OK);
    assert_int_equal(fl_resil_record(r, &fail), FL_OK); /* 2 of 2 failed: open */
    assert_int_equal(fl_resil_gate_retry(r, "payments", "default", "svc", why, sizeof why),
                     FL_EREFUSED);
    assert_string_equal(why, "breaker_open:payments");
    /* Nothing was taken from the budget by the refused gate. */
    {
        fl_robj *o = fl_resil_find(r, FL_RESIL_BUDGET, "default");
        fl_budget_read(o, fl_robj_state(o, "svc", fl_key_hash("svc"), NULL), fake_now(&clk),
                       &calls, &retries, &left);
        assert_int_equal(retries, 1);
        assert_int_equal(calls, 0); /* attempt 2 outcomes are not new calls */
    }
    /* Unknown names are skipped. */
    assert_int_equal(fl_resil_gate_retry(r, "nope", "nope", "svc", why, sizeof why), FL_OK);
    assert_int_equal(fl_resil_gate_retry(NULL, NULL, NULL, NULL, NULL, 0), FL_EINVAL);
    assert_int_equal(fl_resil_record(r, NULL), FL_EINVAL);
    fl_resil_free(r);
}

/* fl_resil_record_gate: the same outcomes as record then gate, from one
 * clock reading per call. */
static _Atomic int g_clock_reads;
static int64_t counting_now(void *u)
{
    atomic_fetch_add(&g_clock_reads, 1);
    return fake_now(u);
}

static void test_record_gate_one_clock(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = NULL;
    atomic_store(&clk.now, 1000ll * 1000000000);
    atomic_store(&clk.slept, 0);
    fl_resil_options_t opt = {.clock = counting_now, .clock_user = &clk, .sleep = fake_sleep, .sleep_user = &clk, .seed = 42};
    assert_int_equal(fl_resil_new(&opt, &r), FL_OK);
    fl_breaker_config_t bc = {.min_calls = 2, .open_ms = 500};
    fl_budget_config_t gc = {.min_retries = 1};
    fl_resil_outcome_t fail = {"payments", "default", "svc", "unavailable", 1000000, 2, 0};
    char why[64];
    (void)unused;
    fl_breaker_declare(r, "payments", &bc, NULL);
    fl_budget_declare(r, "default", &gc, NULL);
    atomic_store(&g_clock_reads, 0);
    assert_int_equal(fl_resil_record_gate(r, &fail, 1, 1, why, sizeof why), FL_OK); /* 1 of 2: closed */
    assert_string_equal(why, "");
    assert_int_equal(atomic_load(&g_clock_reads), 1);
    assert_int_equal(fl_resil_record_gate(r, &fail, 1, 1, why, sizeof why), FL_EREFUSED); /* 2 of 2: open */
    assert_string_equal(why, "breaker_open:payments");
    assert_int_equal(atomic_load(&g_clock_reads), 2);
    /* A reason buffer too small is cut, not overrun. */
    char tiny[8];
    assert_int_equal(fl_resil_record_gate(r, &fail, 0, 1, tiny, sizeof tiny), FL_EREFUSED);
    assert_string_equal(tiny, "breaker");
    /* Nothing to do, or only names the registry does not know: no clock. */
    atomic_store(&g_clock_reads, 0);
    assert_int_equal(fl_resil_record_gate(r, &fail, 0, 0, why, sizeof why), FL_OK);
    fl_resil_outcome_t unknown = {"nope", "nope", "svc", "unavailable", -1, 1, 0};
    assert_int_equal(fl_resil_record_gate(r, &unknown, 1, 1, why, sizeof why), FL_OK);
    assert_int_equal(atomic_load(&g_clock_reads), 0);
    /* A reading the caller made (a pipeline, just before deciding) is used. */
    fl_resil_outcome_t timed = fail;
    timed.now = fake_now(&clk);
    assert_int_equal(fl_resil_record_gate(r, &timed, 1, 1, why, sizeof why), FL_EREFUSED);
    assert_int_equal(fl_resil_record(r, &timed), FL_OK);
    assert_int_equal(atomic_load(&g_clock_reads), 0);
    assert_int_equal(fl_resil_record_gate(NULL, &fail, 1, 1, why, sizeof why), FL_EINVAL);
    assert_int_equal(fl_resil_record_gate(r, NULL, 1, 1, why, sizeof why), FL_EINVAL);
    fl_resil_free(r);
}

/* ---- Lua ------------------------------------------------------------------ */

static int lua_table(lua_State *L, const char *src)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "return %s", src);
    assert_int_equal(luaL_loadstring(L, buf), 0);
    assert_int_equal(lua_pcall(L, 0, 1, 0), 0);
    return lua_gettop(L);
}

static void test_lua_declare_and_update(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    lua_State *L = luaL_newstate();
    fl_diag_t d;
    fl_breaker_stats_t st;
    int top;
    (void)unused;
    top = lua_table(L, "{ key = '{tags.service}', window = 'count', size = 100,"
                       " failure_rate = 0.5, slow_call_ms = 2000, slow_call_rate = 0.8,"
                       " min_calls = 20, half_open_calls = 3, open_ms = 30000,"
                       " open_max_ms = 300000,"
                       " failures = {'unavailable', 'deadline_exceeded', 'resource_exhausted'} }");
    assert_int_equal(fl_resil_declare_lua(r, L, -1, "breaker", "payments", &d), FL_OK);
    assert_int_equal(lua_gettop(L), top);
    assert_string_equal(fl_resil_key_template(r, FL_RESIL_BREAKER, "payments"), "{tags.service}");
    for (int i = 0; i < 10; i++) {
        fl_resil_outcome_t o = {"payments", NULL, "a", i < 5 ? "unavailable" : NULL, 0, 1, 0};
        fl_resil_record(r, &o);
    }
    /* A reload with a lower min_calls keeps the 10 counted calls. */
    lua_settop(L, 0);
    lua_table(L, "{ size = 100, min_calls = 5 }");
    assert_int_equal(fl_resil_declare_lua(r, L, 1, "breaker", "payments", &d), FL_OK);
    fl_breaker_stats(r, "payments", "a", &st);
    assert_int_equal(st.calls, 10);
    assert_int_equal(st.failures, 5);
    {
        fl_resil_outcome_t o = {"payments", NULL, "a", "internal", 0, 1, 0};
        fl_resil_record(r, &o); /* 6/11 >= 0.5 -> open */
    }
    fl_breaker_stats(r, "payments", "a", &st);
    assert_int_equal(st.state, FL_BREAKER_OPEN);
    /* Other kinds. */
    lua_settop(L, 0);
    lua_table(L, "{ rate = 50, burst = 10, max_wait_ms = 5 }");
    assert_int_equal(fl_resil_declare_lua(r, L, 1, "limiter", "l", &d), FL_OK);
    lua_table(L, "{ max_concurrent = 4, max_queue = 8, max_wait_ms = 100 }");
    assert_int_equal(fl_resil_declare_lua(r, L, 2, "bulkhead", "h", &d), FL_OK);
    lua_table(L, "{ ratio = 0.2, min_retries = 10, window_ms = 10000, key = '{op}' }");
    assert_int_equal(fl_resil_declare_lua(r, L, 3, "retry_budget", "default", &d), FL_OK);
    assert_string_equal(fl_resil_key_template(r, FL_RESIL_BUDGET, "default"), "{op}");
    lua_close(L);
    fl_resil_free(r);
}

static void expect_schema(lua_State *L, const char *kind, const char *src, const char *needle)
{
    fl_diag_t d;
    lua_settop(L, 0);
    lua_table(L, src);
    assert_int_equal(fl_resil_declare_lua(NULL, L, 1, kind, "x", &d), FL_EPOLICY_SCHEMA);
    if (!strstr(d.message, needle))
        fail_msg("'%s' not in '%s'", needle, d.message);
    assert_int_equal(lua_gettop(L), 1);
}

static void test_lua_errors(void **unused)
{
    lua_State *L = luaL_newstate();
    fl_diag_t d;
    (void)unused;
    expect_schema(L, "breaker", "{ sise = 10 }", "sise: unknown key");
    expect_schema(L, "breaker", "{ size = 'ten' }", "size: must be a number");
    expect_schema(L, "breaker", "{ size = 1.5 }", "size: integer out of range");
    expect_schema(L, "breaker", "{ failure_rate = 2 }", "failure_rate");
    expect_schema(L, "breaker", "{ window = 'sliding' }", "window");
    expect_schema(L, "breaker", "{ failures = {'unavailable', 'oops'} }", "canonical");
    expect_schema(L, "breaker", "{ failures = 'unavailable' }", "list of category names");
    expect_schema(L, "breaker", "{ [1] = 2 }", "keys must be strings");
    expect_schema(L, "limiter", "{ burst = 3 }", "rate");
    expect_schema(L, "bulkhead", "{ max_queue = 3 }", "max_concurrent");
    expect_schema(L, "retry_budget", "{ ratio = -1 }", "ratio");
    expect_schema(L, "breaker", "42", "expects a table");
    lua_settop(L, 0);
    lua_table(L, "{}");
    assert_int_equal(fl_resil_declare_lua(NULL, L, 1, "fuse", "x", &d), FL_EINVAL);
    assert_int_equal(fl_resil_declare_lua(NULL, L, 1, "breaker", "", &d), FL_EINVAL);
    assert_int_equal(fl_resil_declare_lua(NULL, L, 1, "breaker", "ok", &d), FL_OK);
    lua_close(L);
}

static void test_lua_consult_api(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    lua_State *L = luaL_newstate();
    fl_breaker_config_t bc = {.min_calls = 1};
    fl_limiter_config_t lc = {.rate = 10, .burst = 4};
    fl_budget_config_t gc = {.min_retries = 7};
    (void)unused;
    luaL_openlibs(L);
    fl_breaker_declare(r, "b", &bc, NULL);
    fl_limiter_declare(r, "l", &lc, NULL);
    fl_budget_declare(r, "g", &gc, NULL);
    assert_int_equal(fl_resil_push_lua_api(r, L), FL_OK);
    lua_setglobal(L, "resil");
    {
        fl_resil_outcome_t o = {"b", NULL, "svc", "unavailable", 0, 1, 0};
        fl_resil_record(r, &o);
    }
    assert_int_equal(luaL_dostring(L, "assert(resil.breaker_state('b', 'svc') == 'open')\n"
                                      "assert(resil.breaker_state('b', 'new') == 'closed')\n"
                                      "assert(resil.breaker_state('nope') == nil)\n"
                                      "assert(resil.limiter_tokens('l') == 4)\n"
                                      "assert(resil.budget_left('g', 'k') == 7)\n"),
                     0);
    lua_close(L);
    fl_resil_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limiter_burst_and_refill),
        cmocka_unit_test(test_bulkhead_limit),
        cmocka_unit_test(test_refusal_gives_back),
        cmocka_unit_test(test_budget_ratio_and_min),
        cmocka_unit_test(test_gate_breaker_first),
        cmocka_unit_test(test_record_gate_one_clock),
        cmocka_unit_test(test_lua_declare_and_update),
        cmocka_unit_test(test_lua_errors),
        cmocka_unit_test(test_lua_consult_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
