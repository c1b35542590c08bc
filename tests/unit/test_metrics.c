/*
 * test_metrics.c -- fl_engine_metrics: Prometheus text exposition of the
 * decide-path counters.  Counting is off until enabled; decisions are
 * counted by top-level category and action; the histogram is cumulative
 * and its count equals the decisions; reloads, policy info, breaker states
 * and failures appear; a too-small buffer gives FL_ETOOBIG with the needed
 * length; label values are escaped; bad arguments are refused.
 */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_reloads_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
