/*
 * test_canary.c -- automatic rollback after a reload.  A version whose
 * handler starts failing on 5 % of events is rolled back by the engine
 * within its watch period while deciding goes on (every decide returns a
 * decision); a healthy version, a version with `canary = false`, and a
 * version whose share of `fail` does not rise beyond the limit stay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "faultline.h"
#include "flt.h"

#define V1 "policy { name = 'p', version = '1' }\n" \
           "rule 'r' { when = { message = re[[^ev]] }, category = 'unavailable' }\n"
/* v2: the same rule now has a handler that raises on every 20th event. */
#define V2(canary) "policy { name = 'p', version = '2'" canary " }\n" \
           "rule 'r' { when = { message = re[[^ev]] }, category = 'unavailable',\n" \
           "  handler = function(ev, d) if ev.message:find('0$') and tonumber(ev.message:sub(3)) % 20 == 0 then error('boom') end end }\n"

struct rolled {
    int calls;
    char bad[17], good[17], why[256];
};

static void on_canary(void *user, const char *bad, const char *good, const char *why)
{
    struct rolled *r = user;
    r->calls++;
    snprintf(r->bad, sizeof r->bad, "%s", bad);
    snprintf(r->good, sizeof r->good, "%s", good);
    snprintf(r->why, sizeof r->why, "%s", why);
}

static char *current_id(fl_engine_t *e, char *buf)
{
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    snprintf(buf, 17, "%s", vi.id);
    return buf;
}

/* Decide n events "ev<k>"; every call must produce a decision. */
static void decide_n(fl_ctx_t *ctx, int from, int n)
{
    fl_event_t *ev;
    fl_decision_t *d;
    fl_event_new(&ev);
    fl_decision_new(&d);
    char msg[32];
    for (int i = from; i < from + n; i++) {
        snprintf(msg, sizeof msg, "ev%d", i);
        fl_event_reset(ev);
        fl_event_set(ev, FL_FIELD_MESSAGE, msg, (size_t)-1);
        int rc = fl_decide(ctx, ev, NULL, 0, d);
        /* a policy failure still gives the safe decision, with the error */
        assert_true(rc == FL_OK || FL_PRIMARY(rc) == FL_EHANDLER || FL_PRIMARY(rc) == FL_EBUDGET);
        if (rc != FL_OK) assert_non_null(fl_decision_error(d));
        assert_non_null(fl_decision_category(d)); /* never without a decision */
    }
    fl_decision_free(d);
    fl_event_free(ev);
}

static void run(const char *v2, int expect_rollback)
{
    struct rolled r = {0};
    fl_engine_options_t o = {.on_canary = on_canary, .on_canary_user = &r};
    fl_engine_t *e;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "v1.lua", V1, strlen(V1), &d), FL_OK);
    char id1[17], id2[17], now[17];
    current_id(e, id1);
    fl_ctx_t *ctx;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    decide_n(ctx, 1, 1000); /* the old version's baseline */
    assert_int_equal(fl_engine_load_string(e, "v2.lua", v2, strlen(v2), &d), FL_OK);
    current_id(e, id2);
    assert_string_not_equal(id1, id2);
    decide_n(ctx, 1, 2000);
    current_id(e, now);
    if (expect_rollback) {
        assert_int_equal(r.calls, 1);
        assert_string_equal(now, id1);
        assert_string_equal(r.bad, id2);
        assert_string_equal(r.good, id1);
        assert_non_null(strstr(r.why, "policy failures"));
    } else {
        assert_int_equal(r.calls, 0);
        assert_string_equal(now, id2);
    }
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_failing_version_rolled_back(void **s)
{
    (void)s;
    run(V2(""), 1);
}

static void test_canary_off_keeps_version(void **s)
{
    (void)s;
    run(V2(", canary = false"), 0);
}

static void test_threshold_above_failures_keeps_version(void **s)
{
    (void)s;
    run(V2(", canary = { max_failure_rate = 0.2 }"), 0);
}

static void test_healthy_version_stays(void **s)
{
    (void)s;
    run("policy { name = 'p', version = '3' }\n"
        "rule 'r' { when = { message = re[[^ev]] }, category = 'unavailable.x' }\n", 0);
}

static void test_watch_period_over_keeps_version(void **s)
{
    (void)s;
    /* watch_ms = 1: probation ends before enough decisions are counted */
    struct rolled r = {0};
    fl_engine_options_t o = {.on_canary = on_canary, .on_canary_user = &r};
    fl_engine_t *e;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "v1.lua", V1, strlen(V1), &d), FL_OK);
    fl_ctx_t *ctx;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    decide_n(ctx, 1, 500);
    const char *v2 = V2(", canary = { watch_ms = 1, min_decisions = 1000 }");
    assert_int_equal(fl_engine_load_string(e, "v2.lua", v2, strlen(v2), &d), FL_OK);
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    decide_n(ctx, 1, 2000);
    assert_int_equal(r.calls, 0);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_bad_canary_declarations(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(flt_load_status("policy { canary = 3 }\nrule 'r' { when = { message = 'x' }, category = 'internal' }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "canary"));
    assert_int_equal(flt_load_status("policy { canary = { max_failure_rate = 2 } }\nrule 'r' { when = { message = 'x' }, category = 'internal' }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_int_equal(flt_load_status("policy { canary = { watch = 1 } }\nrule 'r' { when = { message = 'x' }, category = 'internal' }\n", &d),
                     FL_EPOLICY_SCHEMA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failing_version_rolled_back),
        cmocka_unit_test(test_canary_off_keeps_version),
        cmocka_unit_test(test_threshold_above_failures_keeps_version),
        cmocka_unit_test(test_healthy_version_stays),
        cmocka_unit_test(test_watch_period_over_keeps_version),
        cmocka_unit_test(test_bad_canary_declarations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
