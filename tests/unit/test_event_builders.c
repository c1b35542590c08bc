/*
 * test_event_builders.c -- the builders for language bindings.
 * fl_event_push_cause: causes built by setters are classified like a JSON
 * `cause` (first matching event in the chain), the chain is bounded like the
 * JSON reader's, reset and free release it, bad arguments give FL_EINVAL.
 * fl_event_set_packed: every kind of record lands where its setter puts it;
 * malformed input stops at the bad record and names it.
 * FL_DECIDE_STACK_ON_DEMAND: asks for the stack only from versions that read
 * it, and then decides nothing.
 */
#include "flt.h"

static const char k_policy[] =
    "rule \"refused\" { when = { message = re\"connection refused\" }, category = \"unavailable\" }\n"
    "rule \"wrapped\" { when = { code = \"outer.Special\" }, category = \"aborted\" }\n";

/* The sum of faultline_decisions_total over its series (metrics on). */
static long long decisions_total(fl_engine_t *e)
{
    static char buf[1 << 16];
    size_t len = 0;
    long long sum = 0;
    assert_int_equal(fl_engine_metrics(e, buf, sizeof buf, &len), FL_OK);
    for (const char *p = buf; (p = strstr(p, "\nfaultline_decisions_total{")) != NULL; p++) {
        const char *v = strchr(p, '}');
        if (v) sum += strtoll(v + 1, NULL, 10);
    }
    return sum;
}

static void test_push_cause(void **s)
{
    (void)s;
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_event_t *ev, *c1, *c2;
    fl_decision_t *d;
    fl_diag_t diag;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "p.lua", k_policy, sizeof k_policy - 1, &diag), FL_OK);
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);

    assert_int_equal(fl_event_push_cause(NULL, &c1), FL_EINVAL);
    assert_int_equal(fl_event_push_cause(ev, NULL), FL_EINVAL);

    /* Outer event matches nothing; its cause's cause does. */
    fl_event_set(ev, FL_FIELD_MESSAGE, "request failed", (size_t)-1);
    assert_int_equal(fl_event_push_cause(ev, &c1), FL_OK);
    fl_event_set(c1, FL_FIELD_MESSAGE, "while talking to db", (size_t)-1);
    assert_int_equal(fl_event_push_cause(ev, &c2), FL_OK); /* appended after c1 */
    assert_ptr_not_equal(c1, c2);
    fl_event_set(c2, FL_FIELD_MESSAGE, "connection refused", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_category(d), "unavailable");
    assert_string_equal(fl_decision_rule(d), "refused");

    /* The event itself wins over its causes. */
    fl_event_set(ev, FL_FIELD_CODE, "outer.Special", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "wrapped");

    /* Reset drops the chain. */
    fl_event_reset(ev);
    fl_event_set(ev, FL_FIELD_MESSAGE, "request failed", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "default");

    /* Bounded like the JSON reader: 8 causes, then FL_ETOOBIG. */
    for (int i = 0; i < 8; i++) assert_int_equal(fl_event_push_cause(ev, &c1), FL_OK);
    assert_int_equal(fl_event_push_cause(ev, &c1), FL_ETOOBIG);

    fl_event_free(ev); /* frees the chain */
    fl_decision_free(d);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

#define PK(lit) lit, sizeof lit - 1

static void test_packed(void **s)
{
    (void)s;
    fl_event_t *ev;
    size_t bad = 99;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_event_set_packed(NULL, PK("op\0x\0"), 0, NULL), FL_EINVAL);
    assert_int_equal(fl_event_set_packed(ev, NULL, 3, 0, NULL), FL_EINVAL);
    assert_int_equal(fl_event_set_packed(ev, PK("op\0x\0"), 2, NULL), FL_EINVAL); /* unknown flag */
    assert_int_equal(fl_event_set_packed(ev, NULL, 0, 0, NULL), FL_OK);

    assert_int_equal(fl_event_set_packed(ev, PK("domain\0Python\0code\0ValueError\0message\0bad value\0"
                                              "op\0pay.charge\0stack\0Traceback\0id\0e1\0time\0"
                                              "2026-01-01T00:00:00Z\0attempt\0" "3\0elapsed_ms\0" "12.5\0"
                                              "tags.service\0checkout\0tags.service\0cart\0"), 0, &bad),
                     FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_DOMAIN), "python"); /* lower-cased like the setter */
    assert_string_equal(fl_event_get(ev, FL_FIELD_CODE), "ValueError");
    assert_string_equal(fl_event_get(ev, FL_FIELD_MESSAGE), "bad value");
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "pay.charge");
    assert_string_equal(fl_event_get(ev, FL_FIELD_STACK), "Traceback");
    assert_string_equal(fl_event_get(ev, FL_FIELD_ID), "e1");
    assert_string_equal(fl_event_get(ev, FL_FIELD_TIME), "2026-01-01T00:00:00Z");
    assert_int_equal(fl_event_attempt(ev), 3);
    assert_string_equal(fl_event_get_tag(ev, "service"), "cart"); /* later wins */

    /* Empty values are values. */
    assert_int_equal(fl_event_set_packed(ev, PK("message\0\0"), 0, NULL), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_MESSAGE), "");

    /* Failures name the record; earlier records stay applied. */
    assert_int_equal(fl_event_set_packed(ev, PK("op\0a\0colour\0red\0"), 0, &bad), FL_EINVAL);
    assert_int_equal(bad, 1);
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "a");
    assert_int_equal(fl_event_set_packed(ev, PK("attempt\0" "0\0"), 0, &bad), FL_EINVAL);
    assert_int_equal(bad, 0);
    assert_int_equal(fl_event_set_packed(ev, PK("attempt\0" "2x\0"), 0, &bad), FL_EINVAL);
    assert_int_equal(fl_event_set_packed(ev, PK("elapsed_ms\0-1\0"), 0, &bad), FL_EINVAL);
    assert_int_equal(fl_event_set_packed(ev, PK("tags.\0x\0"), 0, &bad), FL_EINVAL);
    assert_int_equal(fl_event_set_packed(ev, PK("op\0b\0message\0unterminated"), 0, &bad), FL_EPARSE);
    assert_int_equal(bad, 1);
    assert_int_equal(fl_event_set_packed(ev, PK("op\0c\0message"), 0, &bad), FL_EPARSE);
    assert_int_equal(fl_event_set_packed(ev, PK("message\0\xff\xfe\0"), 0, &bad), FL_EPARSE_UTF8);
    assert_int_equal(fl_event_set_packed(ev, PK("tags.k\0\xc3\0"), 0, &bad), FL_EPARSE_UTF8);
    assert_string_equal(fl_event_get(ev, FL_FIELD_MESSAGE), "");

    /* FL_EVENT_RESET: only the new records remain. */
    assert_int_equal(fl_event_set_packed(ev, PK("code\0E1\0"), FL_EVENT_RESET, &bad), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_CODE), "E1");
    assert_null(fl_event_get(ev, FL_FIELD_MESSAGE));
    assert_null(fl_event_get(ev, FL_FIELD_OP));
    assert_null(fl_event_get_tag(ev, "service"));
    assert_int_equal(fl_event_attempt(ev), 1);
    fl_event_free(ev);
}

static void test_stack_on_demand(void **s)
{
    (void)s;
    static const char plain[] = "rule \"boom\" { when = { message = re\"boom\" }, category = \"internal\" }\n";
    static const char by_stack[] =
        "rule \"db\" { when = { stack = re\"in query\" }, category = \"unavailable\" }\n"
        "rule \"boom\" { when = { message = re\"boom\" }, category = \"internal\" }\n";
    static const char with_handler[] =
        "rule \"h\" { when = { message = re\"boom\" }, category = \"internal\",\n"
        "  handler = function(ev, d) return nil end }\n";
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_diag_t diag;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_string_equal(fl_strerror(FL_ESTATE_STACK),
                        "FL_ESTATE_STACK: this policy reads the stack; decide again with it");
    assert_int_equal(FL_PRIMARY(FL_ESTATE_STACK), FL_ESTATE);
    fl_event_set(ev, FL_FIELD_MESSAGE, "boom", (size_t)-1);

    /* A version that does not read the stack decides as usual. */
    assert_int_equal(fl_engine_load_string(e, "p.lua", plain, sizeof plain - 1, &diag), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, FL_DECIDE_STACK_ON_DEMAND, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "boom");

    /* One with a stack condition asks for it and leaves the decision alone,
     * and no observer sees the untouched decision as a new one. */
    assert_int_equal(fl_engine_load_string(e, "p.lua", by_stack, sizeof by_stack - 1, &diag), FL_OK);
    assert_int_equal(fl_engine_metrics_enable(e, 1), FL_OK);
    long long before = decisions_total(e);
    assert_int_equal(fl_decide(ctx, ev, NULL, FL_DECIDE_STACK_ON_DEMAND, d), FL_ESTATE_STACK);
    assert_string_equal(fl_decision_rule(d), "boom"); /* untouched */
    assert_int_equal(decisions_total(e), before);
    fl_event_set(ev, FL_FIELD_STACK, "File x, in query", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, FL_DECIDE_STACK_ON_DEMAND, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "db");
    fl_event_reset(ev);
    fl_event_set(ev, FL_FIELD_MESSAGE, "boom", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK); /* without the flag: as usual */
    assert_string_equal(fl_decision_rule(d), "boom");

    /* Handlers see ev.stack: a version with one asks too. */
    assert_int_equal(fl_engine_load_string(e, "p.lua", with_handler, sizeof with_handler - 1, &diag), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, FL_DECIDE_STACK_ON_DEMAND, d), FL_ESTATE_STACK);
    fl_event_set(ev, FL_FIELD_STACK, "s", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, FL_DECIDE_STACK_ON_DEMAND, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "h");

    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_cause),
        cmocka_unit_test(test_packed),
        cmocka_unit_test(test_stack_on_demand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
