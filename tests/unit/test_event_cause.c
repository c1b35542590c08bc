/*
 * test_event_cause.c -- fl_event_push_cause: causes built by setters are
 * classified like a JSON `cause` (first matching event in the chain), the
 * chain is bounded like the JSON reader's, reset and free release it, and bad
 * arguments give FL_EINVAL.
 */
#include "flt.h"

static const char k_policy[] =
    "rule \"refused\" { when = { message = re\"connection refused\" }, category = \"unavailable\" }\n"
    "rule \"wrapped\" { when = { code = \"outer.Special\" }, category = \"aborted\" }\n";

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
