/*
 * test_metrics.c -- fl_engine_metrics: Prometheus text exposition of the
 * decide-path counters.  Counting is off until enabled; decisions are
 * counted by top-level category and action; the histogram is cumulative
 * and its count equals the decisions; reloads, policy info, breaker states
 * and failures appear; breaker calls by kind and retries by result after a
 * scripted sequence of executor calls, breakers past 64 summed as _other; a too-small buffer gives FL_ETOOBIG with the needed
 * length; label values are escaped; bad arguments are refused.
 */
#include <pthread.h>
#include <unistd.h>

#include "flt.h"

#define POLICY "policy { name = 'p\"q', version = '3' }\n" \
               "breaker 'db' { key = '{op}' }\n" \
               "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable.dns' }\n" \
               "rule 'n' { when = { message = re[[^nf]] }, category = 'not_found', recovery = ignore() }\n" \
               "rule 'h' { when = { message = re[[^boom]] }, category = 'internal',\n" \
               "  handler = function(ev, d) error('boom') end }\n"

static char *render(fl_engine_t *e)
{
    size_t need = 0;
    assert_int_equal(fl_engine_metrics(e, NULL, 0, &need), FL_ETOOBIG);
    assert_true(need > 100);
    char *buf = malloc(need + 4096);
    size_t len = 0;
    assert_int_equal(fl_engine_metrics(e, buf, need + 4096, &len), FL_OK);
    assert_int_equal(strlen(buf), len);
    return buf;
}

/* The value of the sample line starting with `series ` (-1: absent). */
static long long sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return atoll(p + n + 1);
    return -1;
}

/* Decisions of a category, whatever their action. */
static long long by_cat(const char *text, const char *cat)
{
    static const char *const acts[] = {"retry", "fallback", "ignore", "fail"};
    long long n = 0;
    char series[128];
    for (int a = 0; a < 4; a++) {
        snprintf(series, sizeof series, "faultline_decisions_total{category=\"%s\",action=\"%s\"}", cat, acts[a]);
        long long v = sample(text, series);
        if (v > 0) n += v;
    }
    return n;
}

static void test_counts(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY);
    /* off by default: nothing is counted */
    assert_int_equal(flt_decide(&t, "{\"message\":\"down 1\"}"), FL_OK);
    char *m = render(t.e);
    assert_int_equal(sample(m, "faultline_decide_duration_seconds_count"), 0);
    assert_int_equal(by_cat(m, "unavailable"), 0);
    free(m);

    assert_int_equal(fl_engine_metrics_enable(t.e, 1), FL_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down 1\"}"), FL_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"nf\"}"), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"zzz\"}"), FL_OK);
    flt_decide(&t, "{\"message\":\"boom\"}");
    m = render(t.e);
    assert_int_equal(by_cat(m, "unavailable"), 5);
    assert_int_equal(sample(m, "faultline_decisions_total{category=\"not_found\",action=\"ignore\"}"), 3);
    /* a sub-category is counted under its top-level name */
    assert_null(strstr(m, "unavailable.dns"));
    /* "zzz" matches nothing; the failing handler gives the safe decision */
    assert_int_equal(by_cat(m, "unknown") + by_cat(m, "internal"), 2);
    assert_int_equal(sample(m, "faultline_decide_duration_seconds_count"), 10);
    assert_int_equal(sample(m, "faultline_decide_duration_seconds_bucket{le=\"+Inf\"}"), 10);
    /* cumulative buckets never decrease */
    long long prev = 0;
    for (const char *p = strstr(m, "_bucket{le="); p; p = strstr(p + 1, "_bucket{le=")) {
        long long v = atoll(strchr(p, ' ') + 1);
        assert_true(v >= prev);
        prev = v;
    }
    assert_int_equal(sample(m, "faultline_handler_failures_total{kind=\"handler_error\"}"), 1);
    assert_int_equal(sample(m, "faultline_policy_reloads_total{result=\"success\"}"), 1);
    assert_non_null(strstr(m, "faultline_policy_info{id=\""));
    assert_non_null(strstr(m, "name=\"p\\\"q\",version=\"3\"} 1\n")); /* escaped quote */
    assert_int_equal(sample(m, "faultline_breaker_state{breaker=\"db\",state=\"closed\"}"), 1);
    assert_int_equal(sample(m, "faultline_breaker_state{breaker=\"db\",state=\"open\"}"), 0);
    assert_non_null(strstr(m, "# TYPE faultline_decide_duration_seconds histogram\n"));
    free(m);

    /* off again: counts stay, nothing more is added */
    assert_int_equal(fl_engine_metrics_enable(t.e, 0), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down 1\"}"), FL_OK);
    m = render(t.e);
    assert_int_equal(by_cat(m, "unavailable"), 5);
    free(m);
    flt_close(&t);
}

/* Contexts on several threads count into blocks of their own: the sum is
 * exact while they are open and stays so after they close (a closing
 * context's counts are folded into the engine's). */
enum { MT = 3, MPER = 2000 };

typedef struct mworker {
    fl_engine_t *e;
    int bad; /* no cmocka assertion off the main thread */
} mworker;

static void *decide_many(void *arg)
{
    mworker *w = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_diag_t dg;
    if (fl_ctx_new(w->e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) {
        w->bad++;
        goto cleanup;
    }
    for (int i = 0; i < MPER; i++) {
        const char *js = i % 2 ? "{\"message\":\"nf\"}" : "{\"message\":\"down\"}";
        if (fl_event_from_json(ev, js, strlen(js), &dg) != FL_OK || fl_decide(ctx, ev, NULL, 0, d) != FL_OK) w->bad++;
    }
cleanup:
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void test_contexts_and_threads(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY);
    assert_int_equal(fl_engine_metrics_enable(t.e, 1), FL_OK);
    for (int i = 0; i < 7; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    pthread_t th[MT];
    mworker w[MT];
    for (int i = 0; i < MT; i++) {
        w[i] = (mworker){t.e, 0};
        assert_int_equal(pthread_create(&th[i], NULL, decide_many, &w[i]), 0);
    }
    for (int i = 0; i < MT; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    char *m = render(t.e); /* the threads' contexts are closed, t's is open */
    assert_int_equal(by_cat(m, "unavailable"), 7 + MT * MPER / 2);
    assert_int_equal(sample(m, "faultline_decisions_total{category=\"not_found\",action=\"ignore\"}"), MT * MPER / 2);
    assert_int_equal(sample(m, "faultline_decide_duration_seconds_count"), 7 + MT * MPER);
    free(m);
    fl_ctx_free(t.ctx); /* and once every context is closed */
    t.ctx = NULL;
    m = render(t.e);
    assert_int_equal(sample(m, "faultline_decide_duration_seconds_count"), 7 + MT * MPER);
    free(m);
    flt_close(&t);
}

static void test_reloads_and_args(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY);
    fl_diag_t d;
    assert_int_equal(fl_engine_load_string(t.e, "test.lua", POLICY, strlen(POLICY), &d), FL_OK);
    assert_true(fl_engine_load_string(t.e, "bad.lua", "rule {", 6, &d) < 0);
    char *m = render(t.e);
    assert_int_equal(sample(m, "faultline_policy_reloads_total{result=\"success\"}"), 1);
    assert_int_equal(sample(m, "faultline_policy_reloads_total{result=\"unchanged\"}"), 1);
    assert_int_equal(sample(m, "faultline_policy_reloads_total{result=\"failure\"}"), 1);
    free(m);

    char small[16];
    size_t len = 0;
    assert_int_equal(fl_engine_metrics(t.e, small, sizeof small, &len), FL_ETOOBIG);
    assert_string_equal(small, "");
    assert_true(len > sizeof small);
    assert_int_equal(fl_engine_metrics(NULL, small, sizeof small, &len), FL_EINVAL);
    assert_int_equal(fl_engine_metrics(t.e, NULL, 5, &len), FL_EINVAL);
    assert_int_equal(fl_engine_metrics_enable(NULL, 1), FL_EINVAL);
    flt_close(&t);
}

/* An attempt function playing a script: outcome i of cats ("" success);
 * "slow" succeeds after 2 ms; "force" forces breaker svc open, then fails. */
typedef struct script {
    fl_resil_t *r;
    const char *const *cats;
    int n, i;
} script;

static void scripted(void *u, const fl_attempt_info_t *a, fl_outcome_t *out)
{
    (void)a;
    script *s = u;
    const char *c = s->i < s->n ? s->cats[s->i] : "";
    s->i++;
    if (strcmp(c, "slow") == 0) {
        usleep(2000); /* at least 2 ms: slow for a 1 ms threshold, whatever the load */
        c = "";
    } else if (strcmp(c, "force") == 0) {
        assert_int_equal(fl_breaker_set_state(s->r, "svc", NULL, FL_BREAKER_FORCED_OPEN), FL_OK);
        c = "unavailable";
    }
    out->category = c[0] ? c : NULL;
}

static void call(fl_exec_t *ex, fl_resil_t *r, const char *const *cats, int n, fl_call_outcome want)
{
    script s = {r, cats, n, 0};
    fl_call_result_t res;
    assert_int_equal(fl_call(ex, NULL, scripted, &s, NULL, &res), FL_OK);
    if (res.outcome != want) print_error("outcome %d (%s), want %d\n", res.outcome, res.reason, want);
    assert_int_equal(res.outcome, want);
}

static long long calls_of(const char *m, const char *breaker, const char *kind)
{
    char series[160];
    snprintf(series, sizeof series, "faultline_breaker_calls_total{breaker=\"%s\",kind=\"%s\"}", breaker, kind);
    return sample(m, series);
}

static long long retries_of(const char *m, const char *result)
{
    char series[96];
    snprintf(series, sizeof series, "faultline_retries_total{result=\"%s\"}", result);
    return sample(m, series);
}

/* faultline_breaker_calls_total and faultline_retries_total after a
 * scripted sequence of executor calls on the engine's registry. */
static void test_breaker_calls_and_retries(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY);
    fl_resil_t *r = fl_engine_resil(t.e);
    fl_diag_t d;
    fl_breaker_config_t bc = {0};
    bc.slow_call_ms = 1;
    assert_int_equal(fl_breaker_declare(r, "svc", &bc, &d), FL_OK);
    fl_budget_config_t gc = {0};
    gc.ratio = 0.01; /* one retry (min_retries) in the hour */
    gc.min_retries = 1;
    gc.window_ms = 3600000;
    assert_int_equal(fl_budget_declare(r, "rb", &gc, &d), FL_OK);
    fl_exec_config_t c = {0};
    c.guard.breaker = "svc";
    c.max_attempts = 3;
    c.base_ms = FL_EXEC_ZERO_DELAY;
    fl_exec_t *ex, *bx;
    assert_int_equal(fl_exec_new(r, &c, &ex, &d), FL_OK);
    fl_exec_config_t cb = c;
    cb.guard.breaker = NULL;
    cb.guard.budget = "rb";
    assert_int_equal(fl_exec_new(r, &cb, &bx, &d), FL_OK);

    char *m = render(t.e); /* present before any call, at zero */
    assert_int_equal(calls_of(m, "svc", "successful"), 0);
    assert_int_equal(retries_of(m, "success"), 0);
    free(m);

    const char *const a[] = {"unavailable", ""}, *const b[] = {"unavailable", "unavailable", "unavailable"};
    const char *const ok[] = {""}, *const slow[] = {"slow"}, *const cancelled[] = {"cancelled"};
    const char *const nr[] = {"unavailable", "permission_denied"}, *const force[] = {"force"};
    call(ex, r, a, 2, FL_CALL_SUCCEEDED);         /* failed 1, successful 1; retry success */
    call(ex, r, b, 3, FL_CALL_FAILED);            /* failed 3; retry exhausted */
    call(ex, r, ok, 1, FL_CALL_SUCCEEDED);        /* successful 1; no retry */
    call(ex, r, slow, 1, FL_CALL_SUCCEEDED);      /* successful 1, slow_successful 1 */
    call(ex, r, cancelled, 1, FL_CALL_FAILED);    /* ignored 1; not retryable: no retry */
    call(ex, r, nr, 2, FL_CALL_FAILED);           /* failed 1, successful 1; retry failed */
    call(ex, r, force, 1, FL_CALL_FAILED);        /* failed 1, retry refused: not_permitted 1, breaker */
    call(ex, r, ok, 1, FL_CALL_REFUSED);          /* forced open: not_permitted 1 */
    call(bx, r, a, 2, FL_CALL_SUCCEEDED);         /* the budget's one retry: success */
    call(bx, r, b, 3, FL_CALL_FAILED);            /* the budget refuses: budget */
    m = render(t.e);
    assert_int_equal(calls_of(m, "svc", "successful"), 4);
    assert_int_equal(calls_of(m, "svc", "failed"), 6);
    assert_int_equal(calls_of(m, "svc", "ignored"), 1);
    assert_int_equal(calls_of(m, "svc", "not_permitted"), 2);
    assert_int_equal(calls_of(m, "svc", "slow_successful"), 1);
    assert_int_equal(calls_of(m, "svc", "slow_failed"), 0);
    assert_int_equal(calls_of(m, "db", "successful"), 0); /* declared by the policy, never called */
    assert_int_equal(retries_of(m, "success"), 2);
    assert_int_equal(retries_of(m, "exhausted"), 1);
    assert_int_equal(retries_of(m, "budget"), 1);
    assert_int_equal(retries_of(m, "breaker"), 1);
    assert_int_equal(retries_of(m, "failed"), 1);
    assert_non_null(strstr(m, "# TYPE faultline_breaker_calls_total counter\n"));
    assert_non_null(strstr(m, "# TYPE faultline_retries_total counter\n"));
    free(m);
    fl_exec_free(ex);
    fl_exec_free(bx);
    flt_close(&t);
}

/* Breakers past the first 64 are summed under breaker="_other". */
static void test_breaker_cap(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY); /* declares "db" */
    fl_resil_t *r = fl_engine_resil(t.e);
    fl_diag_t d;
    fl_breaker_config_t bc = {0};
    char name[32];
    for (int i = 0; i < 70; i++) {
        snprintf(name, sizeof name, "b%02d", i);
        assert_int_equal(fl_breaker_declare(r, name, &bc, &d), FL_OK);
        assert_int_equal(fl_breaker_report(r, name, NULL, "unavailable"), FL_OK);
    }
    char *m = render(t.e);
    int shown = 0;
    for (const char *p = m; (p = strstr(p, "faultline_breaker_calls_total{breaker=\"")); p++) {
        const char *k = strstr(p, ",kind=\"failed\"}"), *eol = strchr(p, '\n');
        if (k && eol && k < eol) shown++;
    }
    assert_int_equal(shown, 65); /* 64 breakers and _other */
    assert_int_equal(calls_of(m, "b62", "failed"), 1);
    assert_int_equal(calls_of(m, "b63", "failed"), -1);
    assert_int_equal(calls_of(m, "_other", "failed"), 7); /* b63..b69 */
    free(m);
    flt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_contexts_and_threads),
        cmocka_unit_test(test_reloads_and_args),
        cmocka_unit_test(test_breaker_calls_and_retries),
        cmocka_unit_test(test_breaker_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
