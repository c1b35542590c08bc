/*
 * test_resil_exec.c -- the executor: blocking fl_call on a fake clock
 * (retries, backoff, attempts cap, retry budget, breaker, deadline, attempt
 * timeout, decide callback and params, events, cancellation) and fl_run on
 * a libuv loop (retry, timeout with abort and late report, cancel).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <uv.h>

#include "fakeclock.h"
#include "resilience/resilience.h"

/* A scripted attempt function: outcome i of `script` ("" = success). */
typedef struct script {
    const char *const *cats;
    int n, calls;
    fake_clock *clk;
    int64_t took_ms;
    char params_seen[8][64];
    fl_cancel_t *cancel_at_2;
} script;

static void scripted(void *u, const fl_attempt_info_t *a, fl_outcome_t *out)
{
    script *s = u;
    const char *c = s->calls < s->n ? s->cats[s->calls] : "";
    if (s->calls < 8)
        snprintf(s->params_seen[s->calls], 64, "%s", a->params ? a->params : "-");
    s->calls++;
    if (s->clk)
        fake_advance_ms(s->clk, s->took_ms);
    if (s->cancel_at_2 && s->calls == 2)
        fl_cancel_fire(s->cancel_at_2);
    out->category = c[0] ? c : NULL;
}

typedef struct evlog {
    int n;
    char line[32][80];
} evlog;

static void on_ev(void *u, const fl_exec_event_t *e)
{
    evlog *l = u;
    static const char *const K[] = {"attempt", "retry", "give_up", "success", "breaker"};
    if (l->n < 32)
        snprintf(l->line[l->n], 80, "%s %d %s %lld %s", K[e->kind], e->attempt,
                 e->kind == FL_EXEC_BREAKER ? fl_breaker_state_name(e->to)
                                            : (e->reason ? e->reason : "-"),
                 (long long)e->delay_ms, e->category ? e->category : "-");
    l->n++;
}

static fl_exec_t *exec_new(fl_resil_t *r, fl_exec_config_t *c)
{
    fl_exec_t *ex = NULL;
    fl_diag_t d;
    if (fl_exec_new(r, c, &ex, &d) != FL_OK)
        fail_msg("exec: %s", d.message);
    return ex;
}

static void test_call_retries_then_succeeds(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "unavailable", ""};
    script s = {cats, 3, 0, NULL, 0, {{0}}, NULL};
    evlog ev = {0};
    fl_exec_config_t c = {.max_attempts = 5, .base_ms = 100, .on_event = on_ev, .event_user = &ev};
    fl_call_result_t res;
    fl_exec_t *ex = exec_new(r, &c);
    (void)unused;
    assert_int_equal(fl_call(ex, "k", scripted, &s, NULL, &res), FL_OK);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(res.attempts, 3);
    assert_string_equal(res.reason, "");
    assert_int_equal(atomic_load(&clk.slept), 300 * 1000000ll); /* 100 + 200 */
    assert_int_equal(ev.n, 6);
    assert_string_equal(ev.line[1], "retry 1 - 100 unavailable");
    assert_string_equal(ev.line[3], "retry 2 - 200 unavailable");
    assert_string_equal(ev.line[5], "success 3 - 0 -");
    assert_int_equal(fl_call(NULL, "k", scripted, &s, NULL, &res), FL_EINVAL);
    assert_int_equal(fl_call(ex, "k", NULL, &s, NULL, &res), FL_EINVAL);
    fl_resil_free(r);
}

static void test_call_gives_up(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "unavailable", "unavailable", "unavailable"};
    const char *perm[] = {"permission_denied"};
    script s = {cats, 4, 0, NULL, 0, {{0}}, NULL};
    script p = {perm, 1, 0, NULL, 0, {{0}}, NULL};
    fl_exec_config_t c = {.max_attempts = 3, .base_ms = 1};
    fl_call_result_t res;
    fl_exec_t *ex = exec_new(r, &c);
    (void)unused;
    fl_call(ex, NULL, scripted, &s, NULL, &res);
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(res.attempts, 3);
    assert_string_equal(res.reason, "attempts_exhausted");
    assert_string_equal(res.category, "unavailable");
    fl_call(ex, NULL, scripted, &p, NULL, &res);
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(res.attempts, 1);
    assert_string_equal(res.reason, "not_retryable");
    fl_resil_free(r);
}

static void test_call_budget_holds(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "unavailable", "unavailable"};
    fl_budget_config_t gc = {.ratio = 0.1, .min_retries = 2, .window_ms = 60000};
    fl_exec_config_t c = {.max_attempts = 3, .base_ms = 1, .guard = {.budget = "g"}};
    fl_call_result_t res;
    fl_exec_t *ex;
    int retries = 0, refused = 0;
    (void)unused;
    fl_budget_declare(r, "g", &gc, NULL);
    ex = exec_new(r, &c);
    /* 50 calls that always fail: without a budget 100 retries; with it at
     * most max(2, 10% of 50) = 5. */
    for (int i = 0; i < 50; i++) {
        script s = {cats, 3, 0, NULL, 0, {{0}}, NULL};
        fl_call(ex, "svc", scripted, &s, NULL, &res);
        retries += res.attempts - 1;
        refused += strcmp(res.reason, "retry_budget:g") == 0;
    }
    assert_true(retries <= 5);
    assert_true(retries >= 2);
    assert_true(refused >= 45);
    fl_resil_free(r);
}

static void test_call_breaker_fail_fast(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "unavailable", "unavailable"};
    fl_breaker_config_t bc = {.min_calls = 2, .open_ms = 10000};
    evlog ev = {0};
    fl_exec_config_t c = {.max_attempts = 3, .base_ms = 10, .guard = {.breaker = "b"},
                          .on_event = on_ev, .event_user = &ev};
    script s = {cats, 3, 0, NULL, 0, {{0}}, NULL};
    fl_call_result_t res;
    fl_exec_t *ex;
    (void)unused;
    fl_breaker_declare(r, "b", &bc, NULL);
    ex = exec_new(r, &c);
    fl_call(ex, "svc", scripted, &s, NULL, &res);
    /* Attempt 2 opened the breaker: no third attempt, no wait. */
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(res.attempts, 2);
    assert_string_equal(res.reason, "breaker_open:b");
    assert_string_equal(ev.line[3], "breaker 2 open 0 unavailable");
    /* The next call is refused before any attempt. */
    s.calls = 0;
    fl_call(ex, "svc", scripted, &s, NULL, &res);
    assert_int_equal(res.outcome, FL_CALL_REFUSED);
    assert_int_equal(res.attempts, 0);
    assert_int_equal(s.calls, 0);
    fl_resil_free(r);
}

static void test_call_timeouts(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"", "", ""};
    script s = {cats, 3, 0, &clk, 60, {{0}}, NULL};
    fl_exec_config_t c = {.max_attempts = 5, .base_ms = 100, .attempt_timeout_ms = 50,
                          .deadline_ms = 400};
    fl_call_result_t res;
    fl_exec_t *ex = exec_new(r, &c);
    (void)unused;
    /* Every attempt overruns 50 ms: deadline_exceeded; backoff 100, 200;
     * 60+100+60+200 = 420 > 400 -> the third wait would pass the deadline. */
    fl_call(ex, NULL, scripted, &s, NULL, &res);
    assert_int_equal(res.outcome, FL_CALL_TIMED_OUT);
    assert_string_equal(res.reason, "deadline");
    assert_string_equal(res.category, "deadline_exceeded");
    assert_int_equal(res.attempts, 2);
    fl_resil_free(r);
}

/* A decide callback that retries with params, then falls back. */
static int decide(void *u, const fl_attempt_info_t *a, const fl_outcome_t *o, fl_verdict_t *v)
{
    (void)u;
    (void)o;
    if (a->attempt == 1) {
        v->action = FL_ACTION_RETRY;
        v->delay_ms = 5;
        v->params = "{\"replica\":true}";
        return FL_OK;
    }
    v->action = FL_ACTION_FALLBACK;
    v->rule = "charge-fallback";
    return FL_OK;
}

static void test_call_decide_params_fallback(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "internal"};
    script s = {cats, 2, 0, NULL, 0, {{0}}, NULL};
    fl_exec_config_t c = {.max_attempts = 5, .decide = decide};
    fl_call_result_t res;
    fl_exec_t *ex = exec_new(r, &c);
    (void)unused;
    fl_call(ex, NULL, scripted, &s, NULL, &res);
    assert_int_equal(res.outcome, FL_CALL_FALLBACK);
    assert_string_equal(res.reason, "charge-fallback");
    assert_string_equal(s.params_seen[0], "-");
    assert_string_equal(s.params_seen[1], "{\"replica\":true}");
    fl_resil_free(r);
}

static void test_call_cancel(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *cats[] = {"unavailable", "unavailable", "unavailable"};
    fl_cancel_t *cancel = NULL;
    fl_exec_config_t c = {.max_attempts = 5, .base_ms = 100};
    fl_call_result_t res;
    fl_exec_t *ex = exec_new(r, &c);
    script s = {cats, 3, 0, NULL, 0, {{0}}, NULL};
    (void)unused;
    assert_int_equal(fl_cancel_new(&cancel), FL_OK);
    s.cancel_at_2 = cancel;
    fl_call(ex, NULL, scripted, &s, cancel, &res);
    assert_int_equal(res.outcome, FL_CALL_CANCELLED);
    assert_int_equal(res.attempts, 2);
    fl_cancel_free(cancel);
    fl_exec_free(ex); /* explicit free is fine too */
    fl_resil_free(r);
}

static void test_exec_bad_config(void **unused)
{
    fake_clock clk;
    fl_resil_t *r = fake_registry(&clk, NULL, NULL);
    const char *bad[] = {"nope", NULL};
    fl_exec_config_t c = {.guard = {.breaker = "missing"}};
    fl_exec_t *ex = NULL;
    fl_diag_t d;
    (void)unused;
    assert_int_equal(fl_exec_new(r, &c, &ex, &d), FL_ENOENT);
    assert_non_null(strstr(d.message, "missing"));
    c.guard.breaker = NULL;
    c.retry_on = bad;
    assert_int_equal(fl_exec_new(r, &c, &ex, &d), FL_EPOLICY_SCHEMA);
    assert_int_equal(fl_exec_new(NULL, &c, &ex, &d), FL_EINVAL);
    fl_resil_free(r);
}

/* ---- fl_run on libuv ----------------------------------------------------- */

typedef struct arun {
    uv_loop_t *loop;
    const char *const *cats;
    int n, started, aborted, done;
    int hang;          /* attempts that never answer until aborted */
    fl_call_result_t res;
    uv_timer_t t;
    fl_run_t *run;
    int pending;       /* attempt answered by the timer */
} arun;

static void answer(uv_timer_t *t)
{
    arun *a = t->data;
    fl_outcome_t o = {NULL, NULL, NULL};
    const char *c = a->pending - 1 < a->n ? a->cats[a->pending - 1] : "";
    o.category = c[0] ? c : NULL;
    assert_int_equal(fl_run_attempt_done(a->run, a->pending, &o), FL_OK);
}

static void a_attempt(void *u, fl_run_t *run, const fl_attempt_info_t *info)
{
    arun *a = u;
    a->run = run;
    a->started++;
    a->pending = info->attempt;
    if (a->hang)
        return;
    uv_timer_start(&a->t, answer, 1, 0);
}

static void a_abort(void *u, fl_run_t *run, int attempt)
{
    arun *a = u;
    fl_outcome_t o = {"cancelled", NULL, NULL};
    a->aborted++;
    /* Report the aborted attempt right away (late report: ignored). */
    assert_int_equal(fl_run_attempt_done(run, attempt, &o), FL_OK);
    assert_int_equal(fl_run_attempt_done(run, attempt, &o), FL_ESTATE);
}

static void a_done(void *u, fl_run_t *run, const fl_call_result_t *res)
{
    arun *a = u;
    (void)run;
    a->done++;
    a->res = *res;
    uv_close((uv_handle_t *)&a->t, NULL);
}

static void run_loop(arun *a, fl_exec_t *ex)
{
    fl_run_callbacks_t cb = {a_attempt, a_abort, a_done, NULL};
    uv_timer_init(a->loop, &a->t);
    a->t.data = a;
    assert_int_equal(fl_run(ex, a->loop, "svc", &cb, a, NULL), FL_OK);
    assert_int_equal(a->started, 0); /* never from inside fl_run */
    uv_run(a->loop, UV_RUN_DEFAULT);
}

static void test_run_retries(void **unused)
{
    fl_resil_t *r = NULL;
    const char *cats[] = {"unavailable", "unavailable", ""};
    fl_exec_config_t c = {.max_attempts = 4, .base_ms = 2};
    uv_loop_t loop;
    arun a = {&loop, cats, 3, 0, 0, 0, 0, {0}, {0}, NULL, 0};
    (void)unused;
    uv_loop_init(&loop);
    fl_resil_new(NULL, &r);
    run_loop(&a, exec_new(r, &c));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(a.res.attempts, 3);
    assert_true(a.res.elapsed_ns >= 6 * 1000000); /* 2 + 4 ms of backoff */
    assert_int_equal(uv_loop_close(&loop), 0);     /* every handle closed */
    fl_resil_free(r);
}

static void test_run_timeout_aborts(void **unused)
{
    fl_resil_t *r = NULL;
    fl_exec_config_t c = {.max_attempts = 2, .base_ms = 1, .attempt_timeout_ms = 5};
    uv_loop_t loop;
    arun a = {&loop, NULL, 0, 0, 0, 0, 1, {0}, {0}, NULL, 0};
    (void)unused;
    uv_loop_init(&loop);
    fl_resil_new(NULL, &r);
    run_loop(&a, exec_new(r, &c));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.aborted, 2);
    assert_int_equal(a.res.outcome, FL_CALL_FAILED);
    assert_string_equal(a.res.category, "deadline_exceeded");
    assert_string_equal(a.res.reason, "attempts_exhausted");
    assert_int_equal(uv_loop_close(&loop), 0);
    fl_resil_free(r);
}

static void cancel_soon(uv_timer_t *t)
{
    arun *a = t->data;
    assert_int_equal(fl_run_cancel(a->run), FL_OK);
}

static void test_run_cancel(void **unused)
{
    fl_resil_t *r = NULL;
    fl_exec_config_t c = {.max_attempts = 2};
    fl_run_callbacks_t cb = {a_attempt, a_abort, a_done, NULL};
    uv_loop_t loop;
    uv_timer_t t;
    arun a = {&loop, NULL, 0, 0, 0, 0, 1, {0}, {0}, NULL, 0};
    (void)unused;
    uv_loop_init(&loop);
    fl_resil_new(NULL, &r);
    uv_timer_init(&loop, &a.t);
    a.t.data = &a;
    uv_timer_init(&loop, &t);
    t.data = &a;
    assert_int_equal(fl_run(exec_new(r, &c), &loop, NULL, &cb, &a, &a.run), FL_OK);
    uv_timer_start(&t, cancel_soon, 3, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(a.res.outcome, FL_CALL_CANCELLED);
    assert_int_equal(a.aborted, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    fl_resil_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_retries_then_succeeds),
        cmocka_unit_test(test_call_gives_up),
        cmocka_unit_test(test_call_budget_holds),
        cmocka_unit_test(test_call_breaker_fail_fast),
        cmocka_unit_test(test_call_timeouts),
        cmocka_unit_test(test_call_decide_params_fallback),
        cmocka_unit_test(test_call_cancel),
        cmocka_unit_test(test_exec_bad_config),
        cmocka_unit_test(test_run_retries),
        cmocka_unit_test(test_run_timeout_aborts),
        cmocka_unit_test(test_run_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
