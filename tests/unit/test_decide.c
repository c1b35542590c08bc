/*
 * test_decide.c -- what fl_decide decides: matching semantics (first match,
 * priority, sets, numbers, ranges, presence, tags, patterns, cause chains),
 * settings inherited through categories, recovery (every backoff and jitter,
 * caps, attempts, budgets, Retry-After), messages (locale chains, length
 * cap), the problem object, fingerprints, explain, and handlers (good, bad,
 * throwing, looping, allocating) with the engine serving on afterwards.
 */
#include <jansson.h>
#include <math.h>
#include <time.h>

#include "core.h" /* fl_decision_jobj, fl_decision_put: the writer against jansson */
#include "flt.h"

/* The direct writer (fl_decision_to_json) writes the bytes jansson wrote
 * from the decision's object before it: checked on every decision here. */
static void same_as_jansson(fl_decision_t *d, const char *s)
{
    json_t *o = fl_decision_jobj(d);
    char *want = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    assert_non_null(want);
    if (strcmp(want, s) != 0) print_error("writer: %s\njansson: %s\n", s, want);
    assert_string_equal(s, want);
    free(want);
}

/* The decision as a jansson object (caller decrefs). */
static json_t *dj(flt *t)
{
    const char *s = fl_decision_to_json(t->d);
    assert_non_null(s);
    same_as_jansson(t->d, s);
    json_error_t err;
    json_t *o = json_loads(s, 0, &err);
    if (!o) print_error("decision is not JSON: %s\n", s);
    assert_non_null(o);
    return o;
}

static const char *jstr(json_t *o, const char *path)
{
    /* "a.b" walks objects */
    char key[64];
    const char *dot;
    while ((dot = strchr(path, '.'))) {
        snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
        o = json_object_get(o, key);
        path = dot + 1;
    }
    return json_string_value(json_object_get(o, path));
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- matching -------------------------------------------------------------- */

static const char k_match_policy[] =
    "rule \"first\" { when = { message = re\"boom\" }, category = \"internal\" }\n"
    "rule \"second\" { when = { message = re\"boom\" }, category = \"unavailable\" }\n"
    "rule \"low\" { when = { message = re\"urgent\" }, category = \"internal\" }\n"
    "rule \"high\" { when = { message = re\"urgent\" }, category = \"aborted\", priority = 10 }\n"
    "rule \"neg\" { when = { message = re\"urgent|whatever\" }, category = \"aborted\", priority = -1 }\n"
    "rule \"set\" { when = { code = { \"E1\", \"E2\", 7 } }, category = \"invalid_argument\" }\n"
    "rule \"num404\" { when = { domain = \"http\", code = 404 }, category = \"not_found\" }\n"
    "rule \"str410\" { when = { domain = \"http\", code = \"410\" }, category = \"not_found.gone\" }\n"
    "rule \"http5xx\" { when = { domain = \"http\", code = range(500, 599) }, category = \"unavailable\" }\n"
    "rule \"neg-code\" { when = { domain = \"posix\", code = range(nil, -1) }, category = \"internal\" }\n"
    "rule \"op-present\" { when = { domain = \"svc\", op = present }, category = \"aborted\" }\n"
    "rule \"op-absent\" { when = { domain = \"svc\", op = absent }, category = \"cancelled\" }\n"
    "rule \"tag\" { when = { [\"tags.service\"] = \"billing\" }, category = \"data_loss\" }\n"
    "rule \"tag-nested\" { when = { tags = { tenant = re\"^t-\\\\d+$\", tier = { \"gold\", \"silver\" } } }, category = \"permission_denied\" }\n"
    "rule \"tag-num\" { when = { [\"tags.prio\"] = range(5, nil) }, category = \"resource_exhausted\" }\n"
    "rule \"op\" { when = { op = \"payments.charge\", attempt = { 2, 3 } }, category = \"deadline_exceeded\" }\n"
    "rule \"attempt-range\" { when = { op = \"payments.charge\", attempt = range(4, nil) }, category = \"aborted\" }\n"
    "rule \"elapsed\" { when = { op = \"slow\", elapsed_ms = range(1000, nil) }, category = \"deadline_exceeded\" }\n"
    "rule \"caseless\" { when = { message = re\"(?i)connection refused\" }, category = \"unavailable.refused\" }\n"
    "rule \"alt\" { when = { message = re\"timed out|timeout\" }, category = \"deadline_exceeded\" }\n"
    "rule \"noliteral\" { when = { message = re\"^\\\\d+$\" }, category = \"out_of_range\" }\n"
    "rule \"extended\" { when = { message = re\"(?x) foo \\\\s+ bar \" }, category = \"unimplemented\" }\n"
    "rule \"stack\" { when = { stack = re\"at handler\\\\.js\" }, category = \"internal.js\" }\n";

static void test_first_match_and_priority(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_match_policy);
    assert_string_equal(flt_rule(&t, "{\"message\":\"boom\"}"), "first");
    assert_string_equal(fl_decision_category(t.d), "internal");
    assert_string_equal(flt_rule(&t, "{\"message\":\"urgent\"}"), "high");
    assert_string_equal(flt_rule(&t, "{\"message\":\"whatever\"}"), "neg");
    assert_string_equal(flt_rule(&t, "{\"message\":\"nothing relevant\"}"), "default");
    assert_string_equal(fl_decision_category(t.d), "unknown");
    assert_string_equal(flt_rule(&t, "{}"), "default");
    flt_close(&t);
}

static void test_sets_numbers_ranges(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_match_policy);
    assert_string_equal(flt_rule(&t, "{\"code\":\"E1\"}"), "set");
    assert_string_equal(flt_rule(&t, "{\"code\":\"E2\"}"), "set");
    assert_string_equal(flt_rule(&t, "{\"code\":\"E3\"}"), "default");
    assert_string_equal(flt_rule(&t, "{\"code\":7}"), "set");
    assert_string_equal(flt_rule(&t, "{\"code\":\"7\"}"), "set");
    assert_string_equal(flt_rule(&t, "{\"code\":\"e1\"}"), "default"); /* codes are case-sensitive */
    /* number condition: 404, "404", "404.0", "0404" all equal 404 */
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":404}"), "num404");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"404\"}"), "num404");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"404.0\"}"), "num404");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"HTTP\",\"code\":\"0404\"}"), "num404");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"grpc\",\"code\":404}"), "default");
    /* string condition: exactly that text; integer 410 is the text "410" */
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"410\"}"), "str410");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":410}"), "str410");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"0410\"}"), "default");
    /* ranges, inclusive; numeric text counts; non-numeric never does */
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":500}"), "http5xx");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"599\"}"), "http5xx");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":600}"), "default");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":499}"), "default");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":\"5xx\"}"), "default");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"posix\",\"code\":-5}"), "neg-code");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"posix\",\"code\":0}"), "default");
    flt_close(&t);
}

static void test_presence_tags_op_attempt(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_match_policy);
    assert_string_equal(flt_rule(&t, "{\"domain\":\"svc\",\"op\":\"x\"}"), "op-present");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"svc\"}"), "op-absent");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"svc\",\"op\":null}"), "op-absent");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"service\":\"billing\"}}"), "tag");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"service\":\"Billing\"}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"tenant\":\"t-42\",\"tier\":\"gold\"}}"), "tag-nested");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"tenant\":\"t-42\",\"tier\":\"bronze\"}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"tenant\":\"x-42\",\"tier\":\"gold\"}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"tenant\":\"t-42\"}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"prio\":7}}"), "tag-num");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"prio\":\"5\"}}"), "tag-num");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"prio\":4}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"tags\":{\"prio\":\"high\"}}"), "default");
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.charge\"}"), "default"); /* attempt 1 */
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.charge\",\"attempt\":2}"), "op");
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.charge\",\"attempt\":3}"), "op");
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.charge\",\"attempt\":4}"), "attempt-range");
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.charge\",\"attempt\":400}"), "attempt-range");
    assert_string_equal(flt_rule(&t, "{\"op\":\"payments.refund\",\"attempt\":2}"), "default");
    assert_string_equal(flt_rule(&t, "{\"op\":\"slow\",\"elapsed_ms\":1000}"), "elapsed");
    assert_string_equal(flt_rule(&t, "{\"op\":\"slow\",\"elapsed_ms\":999.9}"), "default");
    assert_string_equal(flt_rule(&t, "{\"op\":\"slow\"}"), "default"); /* elapsed absent */
    flt_close(&t);
}

static void test_patterns(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_match_policy);
    assert_string_equal(flt_rule(&t, "{\"message\":\"connect: Connection REFUSED by peer\"}"), "caseless");
    assert_string_equal(fl_decision_category(t.d), "unavailable.refused");
    assert_string_equal(flt_rule(&t, "{\"message\":\"connection refused\"}"), "caseless");
    assert_string_equal(flt_rule(&t, "{\"message\":\"read timed out\"}"), "alt");
    assert_string_equal(flt_rule(&t, "{\"message\":\"request timeout\"}"), "alt");
    assert_string_equal(flt_rule(&t, "{\"message\":\"Request TIMEOUT\"}"), "default"); /* case-sensitive */
    assert_string_equal(flt_rule(&t, "{\"message\":\"12345\"}"), "noliteral");
    assert_string_equal(flt_rule(&t, "{\"message\":\"12345 \"}"), "default");
    assert_string_equal(flt_rule(&t, "{\"message\":\"the foo   bar thing\"}"), "extended");
    assert_string_equal(flt_rule(&t, "{\"message\":\"x\",\"stack\":\"Error\\n  at handler.js:10\"}"), "stack");
    assert_string_equal(flt_rule(&t, "{\"message\":\"x\",\"stack\":\"at handlerXjs\"}"), "default");
    /* A pattern never matches an absent field. */
    assert_string_equal(flt_rule(&t, "{\"op\":\"boom\"}"), "default");
    flt_close(&t);
}

static void test_captures_in_messages(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"quota\" { when = { message = re\"quota (?<what>\\\\w+) exceeded for (?<who>[a-z]+)\" },"
                 "  category = \"resource_exhausted.quota\" }\n"
                 "rule \"opt\" { when = { message = re\"missing(?: (?<thing>\\\\w+))?$\" }, category = \"not_found\" }\n"
                 "messages \"en\" {\n"
                 "  [\"resource_exhausted.quota\"] = \"Your {what} quota is used up ({who}, {op|no op}).\",\n"
                 "  not_found = \"Not found: {thing|something}. {{literal}}\",\n"
                 "}\n");
    assert_string_equal(flt_rule(&t, "{\"message\":\"quota storage exceeded for alice\"}"), "quota");
    assert_string_equal(fl_decision_message(t.d), "Your storage quota is used up (alice, no op).");
    assert_string_equal(fl_decision_message_id(t.d), "resource_exhausted.quota");
    assert_string_equal(fl_decision_locale(t.d), "en");
    assert_string_equal(flt_rule(&t, "{\"message\":\"quota cpu exceeded for bob\",\"op\":\"jobs.run\"}"), "quota");
    assert_string_equal(fl_decision_message(t.d), "Your cpu quota is used up (bob, jobs.run).");
    /* An unset optional group uses the default. */
    assert_string_equal(flt_rule(&t, "{\"message\":\"missing\"}"), "opt");
    assert_string_equal(fl_decision_message(t.d), "Not found: something. {literal}");
    assert_string_equal(flt_rule(&t, "{\"message\":\"missing invoice\"}"), "opt");
    assert_string_equal(fl_decision_message(t.d), "Not found: invoice. {literal}");
    /* Captures of one decision do not leak into the next. */
    assert_string_equal(flt_rule(&t, "{\"message\":\"missing\"}"), "opt");
    assert_string_equal(fl_decision_message(t.d), "Not found: something. {literal}");
    flt_close(&t);
}

/* A named group past the sixteenth: the contexts' match data must be sized
 * for the version's largest pattern (counted once its codes are compiled,
 * which happens on a helper thread during the load). */
static void test_capture_past_group_16(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"many\" { when = { message = re\"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)(t)"
                 "(?<tail>z+)\" }, category = \"internal\" }\n"
                 "messages \"en\" { internal = \"tail={tail|none}\" }\n");
    assert_string_equal(flt_rule(&t, "{\"message\":\"abcdefghijklmnopqrstzzz\"}"), "many");
    assert_string_equal(fl_decision_message(t.d), "tail=zzz");
    flt_close(&t);
}

static void test_cause_chain(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"db\" { when = { code = \"57P01\" }, category = \"unavailable.db\" }\n"
                 "rule \"wrap\" { when = { message = re\"wrapper failed\" }, category = \"internal\" }\n");
    /* Unmatched top event: classified by the first cause that matches. */
    assert_string_equal(flt_rule(&t, "{\"message\":\"request failed\",\"cause\":{\"message\":\"x\","
                                     "\"cause\":{\"code\":\"57P01\",\"message\":\"terminating connection\"}}}"), "db");
    assert_string_equal(fl_decision_category(t.d), "unavailable.db");
    /* The top event wins when it matches itself. */
    assert_string_equal(flt_rule(&t, "{\"message\":\"wrapper failed\",\"cause\":{\"code\":\"57P01\"}}"), "wrap");
    /* Nothing in the chain matches: default. */
    assert_string_equal(flt_rule(&t, "{\"message\":\"a\",\"cause\":{\"message\":\"b\"}}"), "default");
    /* The deepest allowed chain still classifies by its last cause. */
    assert_string_equal(flt_rule(&t, "{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":"
                                     "{\"cause\":{\"cause\":{\"code\":\"57P01\"}}}}}}}}}"), "db");
    flt_close(&t);
}

/* ---- settings ----------------------------------------------------------------- */

/*
 * Regression: an event classified by one of its causes keeps its own id (the
 * decision used to take the cause's id, or a fresh UUID).
 */
static void test_cause_chain_keeps_event_id(void **s)
{
    (void)s;

    flt t;
    flt_open(&t, "rule \"db\" { when = { code = \"57P01\" }, category = \"unavailable.db\" }\n");
    assert_int_equal(flt_decide(&t, "{\"id\":\"top\",\"message\":\"x\",\"cause\":{\"code\":\"57P01\"}}"), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "db");
    assert_string_equal(fl_decision_id(t.d), "top");
    assert_int_equal(flt_decide(&t, "{\"id\":\"top2\",\"cause\":{\"id\":\"inner\",\"code\":\"57P01\"}}"), FL_OK);
    assert_string_equal(fl_decision_id(t.d), "top2");
    flt_close(&t);
}

static void test_settings_inheritance(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "category \"unavailable\" { severity = \"warning\", retryable = true, status = 502,"
                 "  title = \"Down\", recovery = retry { backoff = \"constant\", base_ms = 50, jitter = \"none\" } }\n"
                 "category \"unavailable.dns\" { severity = \"critical\" }\n"
                 "category \"internal\" { recovery = ignore() }\n"
                 "rule \"dns\" { when = { code = \"ENOTFOUND\" }, category = \"unavailable.dns.slow\" }\n"
                 "rule \"dns-override\" { when = { code = \"EAI_AGAIN\" }, category = \"unavailable.dns\","
                 "  severity = \"info\", retryable = false, status = 504, recovery = fail() }\n"
                 "rule \"plain\" { when = { code = \"ECONNRESET\" }, category = \"unavailable\" }\n"
                 "rule \"bare\" { when = { code = \"EX\" }, category = \"aborted\" }\n"
                 "rule \"int\" { when = { code = \"EINT\" }, category = \"internal.deep.er\" }\n");
    /* a.b.c undeclared: settings from a.b, then a */
    assert_string_equal(flt_rule(&t, "{\"code\":\"ENOTFOUND\"}"), "dns");
    assert_string_equal(fl_decision_category(t.d), "unavailable.dns.slow");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_CRITICAL);
    assert_int_equal(fl_decision_retryable(t.d), 1);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_delay_ms(t.d), 50);
    json_t *o = dj(&t);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "problem"), "status")), 502);
    assert_string_equal(jstr(o, "problem.title"), "Down");
    json_decref(o);
    /* rule overrides */
    assert_string_equal(flt_rule(&t, "{\"code\":\"EAI_AGAIN\"}"), "dns-override");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_INFO);
    assert_int_equal(fl_decision_retryable(t.d), 0);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_int_equal(fl_decision_delay_ms(t.d), -1);
    o = dj(&t);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "problem"), "status")), 504);
    json_decref(o);
    assert_string_equal(flt_rule(&t, "{\"code\":\"ECONNRESET\"}"), "plain");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_WARNING);
    /* undeclared category: built-in defaults (error, not retryable, fail, gRPC status) */
    assert_string_equal(flt_rule(&t, "{\"code\":\"EX\"}"), "bare");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_ERROR);
    assert_int_equal(fl_decision_retryable(t.d), 0);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    o = dj(&t);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "problem"), "status")), 409);
    json_decref(o); /* the title: see test_problem_title_of_undeclared_category */
    assert_string_equal(flt_rule(&t, "{\"code\":\"EINT\"}"), "int");
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_IGNORE);
    /* default rule */
    assert_string_equal(flt_rule(&t, "{\"code\":\"zzz\"}"), "default");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_ERROR);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    flt_close(&t);
}

/* ---- recovery ----------------------------------------------------------------- */

static const char k_recovery_policy[] =
    "rule \"const\" { when = { op = \"const\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"constant\", base_ms = 250, jitter = \"none\", max_attempts = 10 } }\n"
    "rule \"lin\" { when = { op = \"lin\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"linear\", base_ms = 100, jitter = \"none\", max_attempts = 10 } }\n"
    "rule \"exp\" { when = { op = \"exp\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"exponential\", base_ms = 100, jitter = \"none\", max_attempts = 10 } }\n"
    "rule \"exp3\" { when = { op = \"exp3\" }, category = \"unavailable\","
    "  recovery = retry { base_ms = 10, factor = 3, jitter = \"none\", max_attempts = 1000, max_delay_ms = 5000 } }\n"
    "rule \"capped\" { when = { op = \"capped\" }, category = \"unavailable\","
    "  recovery = retry { base_ms = 100, max_delay_ms = 300, jitter = \"none\", max_attempts = 100 } }\n"
    "rule \"budget\" { when = { op = \"budget\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"constant\", base_ms = 100, jitter = \"none\", budget_ms = 1000 } }\n"
    "rule \"ra\" { when = { op = \"ra\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"constant\", base_ms = 100, jitter = \"none\", max_retry_after_ms = 600000 } }\n"
    "rule \"nora\" { when = { op = \"nora\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"constant\", base_ms = 100, jitter = \"none\", honor_retry_after = false } }\n"
    "rule \"fb\" { when = { op = \"fb\" }, category = \"unavailable\", recovery = fallback({ status = \"queued\", n = 2 }) }\n"
    "rule \"fbs\" { when = { op = \"fbs\" }, category = \"unavailable\", recovery = fallback(\"cached\") }\n"
    "rule \"ign\" { when = { op = \"ign\" }, category = \"cancelled\", recovery = ignore() }\n"
    "rule \"fail\" { when = { op = \"fail\" }, category = \"unavailable\", recovery = fail() }\n"
    "rule \"params\" { when = { op = \"params\" }, category = \"unavailable\", params = { timeout_ms = 500, region = \"eu\", flags = { \"a\", \"b\" } },"
    "  recovery = retry { jitter = \"none\" } }\n"
    "rule \"full\" { when = { op = \"full\" }, category = \"unavailable\","
    "  recovery = retry { base_ms = 1000, jitter = \"full\", max_attempts = 100, max_delay_ms = 60000 } }\n"
    "rule \"equal\" { when = { op = \"equal\" }, category = \"unavailable\","
    "  recovery = retry { base_ms = 1000, jitter = \"equal\", max_attempts = 100, max_delay_ms = 60000 } }\n"
    "rule \"decor\" { when = { op = \"decor\" }, category = \"unavailable\","
    "  recovery = retry { backoff = \"decorrelated\", base_ms = 100, max_delay_ms = 2000, max_attempts = 100 } }\n";

static int64_t delay_for(flt *t, const char *op, int attempt)
{
    char j[128];
    snprintf(j, sizeof j, "{\"op\":\"%s\",\"attempt\":%d}", op, attempt);
    assert_int_equal(flt_decide(t, j), FL_OK);
    assert_string_equal(fl_decision_rule(t->d), op);
    assert_int_equal(fl_decision_action(t->d), FL_ACTION_RETRY);
    return fl_decision_delay_ms(t->d);
}

static void test_backoff_exact(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_recovery_policy);
    for (int a = 1; a <= 5; a++) assert_int_equal(delay_for(&t, "const", a), 250);
    assert_int_equal(delay_for(&t, "lin", 1), 100);
    assert_int_equal(delay_for(&t, "lin", 3), 300);
    assert_int_equal(delay_for(&t, "lin", 9), 900);
    assert_int_equal(delay_for(&t, "exp", 1), 100);
    assert_int_equal(delay_for(&t, "exp", 2), 200);
    assert_int_equal(delay_for(&t, "exp", 3), 400);
    assert_int_equal(delay_for(&t, "exp", 5), 1600);
    assert_int_equal(delay_for(&t, "exp3", 1), 10);
    assert_int_equal(delay_for(&t, "exp3", 4), 270);
    assert_int_equal(delay_for(&t, "exp3", 7), 5000); /* 7290 capped */
    assert_int_equal(delay_for(&t, "exp3", 999), 5000); /* huge exponent: capped, no overflow */
    assert_int_equal(delay_for(&t, "capped", 2), 200);
    assert_int_equal(delay_for(&t, "capped", 3), 300);
    assert_int_equal(delay_for(&t, "capped", 50), 300);
    /* attempts_left counts down */
    delay_for(&t, "exp", 1);
    assert_int_equal(fl_decision_attempts_left(t.d), 9);
    delay_for(&t, "exp", 9);
    assert_int_equal(fl_decision_attempts_left(t.d), 1);
    flt_close(&t);
}

static void test_attempts_exhausted(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_recovery_policy);
    /* default max_attempts 3 (rule "ra") */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"attempt\":2}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_attempts_left(t.d), 1);
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"attempt\":3}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_int_equal(fl_decision_attempts_left(t.d), 0);
    assert_int_equal(fl_decision_delay_ms(t.d), -1);
    json_t *o = dj(&t);
    assert_string_equal(jstr(o, "reason"), "attempts_exhausted");
    assert_string_equal(jstr(o, "action"), "fail");
    assert_int_equal(json_integer_value(json_object_get(o, "attempts_left")), 0);
    assert_null(json_object_get(o, "delay_ms"));
    json_decref(o);
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"attempt\":99}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    /* retryable stays what the category says; only the action changes */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"attempt\":1}"), FL_OK);
    o = dj(&t);
    assert_null(json_object_get(o, "reason"));
    json_decref(o);
    flt_close(&t);
}

static void test_time_budget(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_recovery_policy);
    assert_int_equal(flt_decide(&t, "{\"op\":\"budget\",\"elapsed_ms\":900}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY); /* 900 + 100 = 1000: not over */
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    assert_int_equal(flt_decide(&t, "{\"op\":\"budget\",\"elapsed_ms\":900.5}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    json_t *o = dj(&t);
    assert_string_equal(jstr(o, "reason"), "time_budget_exhausted");
    json_decref(o);
    /* no elapsed_ms counts as 0 */
    assert_int_equal(flt_decide(&t, "{\"op\":\"budget\"}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    /* a Retry-After that pushes past the budget also fails */
    assert_int_equal(flt_decide(&t, "{\"op\":\"budget\",\"tags\":{\"retry_after\":5}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    flt_close(&t);
}

static void test_retry_after(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_recovery_policy);
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":5}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 5000);
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"1.5\"}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 1500);
    /* shorter than the backoff: the backoff stands */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":0}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    /* garbage is ignored */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"soon\"}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":-3}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    /* an HTTP-date about two minutes from now */
    char date[64], j[160];
    time_t when = time(NULL) + 120;
    struct tm tm;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(j, sizeof j, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"%s\"}}", date);
    assert_int_equal(flt_decide(&t, j), FL_OK);
    int64_t d = fl_decision_delay_ms(t.d);
    assert_true(d >= 117000 && d <= 120000);
    /* a date in the past: no extra wait */
    when = time(NULL) - 3600;
    gmtime_r(&when, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(j, sizeof j, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"%s\"}}", date);
    assert_int_equal(flt_decide(&t, j), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    /* honor_retry_after = false */
    assert_int_equal(flt_decide(&t, "{\"op\":\"nora\",\"tags\":{\"retry_after\":5}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    flt_close(&t);
}

static void test_fallback_ignore_fail_params(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_recovery_policy);
    assert_string_equal(flt_rule(&t, "{\"op\":\"fb\"}"), "fb");
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FALLBACK);
    assert_int_equal(fl_decision_delay_ms(t.d), -1);
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"n\":2,\"status\":\"queued\"}");
    json_t *o = dj(&t);
    assert_string_equal(jstr(o, "fallback.status"), "queued");
    assert_string_equal(jstr(o, "action"), "fallback");
    json_decref(o);
    assert_string_equal(flt_rule(&t, "{\"op\":\"fbs\"}"), "fbs");
    assert_string_equal(fl_decision_fallback_json(t.d), "\"cached\"");
    assert_string_equal(flt_rule(&t, "{\"op\":\"ign\"}"), "ign");
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_IGNORE);
    assert_null(fl_decision_fallback_json(t.d));
    assert_string_equal(flt_rule(&t, "{\"op\":\"fail\"}"), "fail");
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_int_equal(fl_decision_attempts_left(t.d), -1);
    assert_string_equal(flt_rule(&t, "{\"op\":\"params\"}"), "params");
    assert_string_equal(fl_decision_params_json(t.d), "{\"flags\":[\"a\",\"b\"],\"region\":\"eu\",\"timeout_ms\":500}");
    assert_int_equal(fl_decision_delay_ms(t.d), 100);
    flt_close(&t);
}

static void test_jitter_bounds_property(void **s)
{
    (void)s;
    /* Over many seeds and decisions: full in [0, d], equal in [d/2, d],
     * decorrelated in [base, cap]; and each actually spreads. */
    for (uint64_t seed = 1; seed <= 25; seed++) {
        fl_engine_options_t o = {0};
        o.seed = seed * 7919;
        flt t;
        flt_open_opts(&t, k_recovery_policy, &o);
        int64_t fmin = INT64_MAX, fmax = -1, emin = INT64_MAX, emax = -1, dmin = INT64_MAX, dmax = -1;
        for (int i = 0; i < 120; i++) {
            int attempt = 1 + i % 4; /* d = 1000, 2000, 4000, 8000 */
            int64_t d = 1000LL << (attempt - 1);
            int64_t f = delay_for(&t, "full", attempt);
            assert_true(f >= 0 && f <= d);
            if (attempt == 3) fmin = f < fmin ? f : fmin, fmax = f > fmax ? f : fmax;
            int64_t e = delay_for(&t, "equal", attempt);
            assert_true(e >= d / 2 && e <= d);
            if (attempt == 3) emin = e < emin ? e : emin, emax = e > emax ? e : emax;
            int64_t x = delay_for(&t, "decor", 1 + i % 10);
            assert_true(x >= 100 && x <= 2000);
            dmin = x < dmin ? x : dmin;
            dmax = x > dmax ? x : dmax;
        }
        /* 30 samples each: the spread covers most of the range */
        assert_true(fmin < 1500 && fmax > 2500);
        assert_true(emin < 2600 && emax > 3400);
        assert_true(dmax > dmin);
        flt_close(&t);
    }
    /* The same seed gives the same delays (reproducible runs). */
    int64_t a[20], b[20];
    for (int pass = 0; pass < 2; pass++) {
        fl_engine_options_t o = {0};
        o.seed = 1234;
        flt t;
        flt_open_opts(&t, k_recovery_policy, &o);
        for (int i = 0; i < 20; i++) (pass ? b : a)[i] = delay_for(&t, "full", 3);
        flt_close(&t);
    }
    assert_memory_equal(a, b, sizeof a);
}

/* A decision's jitter seed (fl_decision_jitter_seed) replayed on another
 * context with fl_ctx_set_next_seed draws the same delays; the seed serves
 * one decision; a call that decides nothing leaves it pending; ids and
 * jitter seeds are separate streams.  Bad input: NULL ctx / decision. */
static void test_jitter_seed_api(void **s)
{
    (void)s;
    assert_int_equal(fl_ctx_set_next_seed(NULL, 1), FL_EINVAL);
    assert_true(fl_decision_jitter_seed(NULL) == 0);
    fl_engine_options_t oa = {.seed = 11}, ob = {.seed = 12};
    flt a, b;
    flt_open_opts(&a, k_recovery_policy, &oa);
    flt_open_opts(&b, k_recovery_policy, &ob);
    assert_true(fl_decision_jitter_seed(a.d) == 0); /* not decided yet */
    static const char *const ops[] = {"full", "equal", "decor"};
    for (int i = 0; i < 60; i++) {
        const char *op = ops[i % 3];
        int attempt = 1 + i % 7;
        int64_t da = delay_for(&a, op, attempt);
        uint64_t seed = fl_decision_jitter_seed(a.d);
        assert_int_equal(fl_ctx_set_next_seed(b.ctx, seed), FL_OK);
        assert_int_equal(delay_for(&b, op, attempt), da);
        assert_true(fl_decision_jitter_seed(b.d) == seed);
        delay_for(&b, op, attempt); /* the seed served one decision */
        assert_true(fl_decision_jitter_seed(b.d) != seed);
    }
    /* 0 is a seed like any other. */
    assert_int_equal(fl_ctx_set_next_seed(a.ctx, 0), FL_OK);
    int64_t d0 = delay_for(&a, "decor", 9);
    assert_true(fl_decision_jitter_seed(a.d) == 0);
    assert_int_equal(fl_ctx_set_next_seed(b.ctx, 0), FL_OK);
    assert_int_equal(delay_for(&b, "decor", 9), d0);
    flt_close(&b);

    /* Pending across a call that decides nothing (no policy yet). */
    fl_engine_t *e = flt_engine(NULL);
    fl_ctx_t *c;
    assert_int_equal(fl_ctx_new(e, &c), FL_OK);
    assert_int_equal(fl_ctx_set_next_seed(c, 77), FL_OK);
    assert_int_equal(fl_decide(c, a.ev, NULL, 0, a.d), FL_ESTATE);
    assert_true(fl_decision_jitter_seed(a.d) == 0);
    fl_diag_t dg;
    assert_int_equal(fl_engine_load_string(e, "p.lua", k_recovery_policy, strlen(k_recovery_policy), &dg), FL_OK);
    assert_int_equal(fl_decide(c, a.ev, NULL, 0, a.d), FL_OK);
    assert_true(fl_decision_jitter_seed(a.d) == 77);
    fl_ctx_free(c);
    fl_engine_free(e);
    flt_close(&a);

    /* Separate streams: the same engine seed gives the same jitter seeds
     * whether ids are drawn or not, and the same ids (their random part)
     * whether seeds are set or not. */
    flt x, y;
    flt_open_opts(&x, k_recovery_policy, &oa);
    flt_open_opts(&y, k_recovery_policy, &oa);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(flt_decide_loc(&x, "{\"op\":\"full\",\"attempt\":2}", NULL, FL_DECIDE_NO_ID), FL_OK);
        assert_int_equal(flt_decide(&y, "{\"op\":\"full\",\"attempt\":2}"), FL_OK);
        assert_true(fl_decision_jitter_seed(x.d) == fl_decision_jitter_seed(y.d));
        assert_int_equal(fl_decision_delay_ms(x.d), fl_decision_delay_ms(y.d));
    }
    flt_close(&x);
    flt_close(&y);
    flt_open_opts(&x, k_recovery_policy, &oa);
    flt_open_opts(&y, k_recovery_policy, &oa);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(fl_ctx_set_next_seed(x.ctx, (uint64_t)i), FL_OK);
        assert_int_equal(flt_decide(&x, "{\"op\":\"full\",\"attempt\":2}"), FL_OK);
        assert_int_equal(flt_decide(&y, "{\"op\":\"full\",\"attempt\":2}"), FL_OK);
        /* After the 48-bit time and the version digit: the 74 random bits. */
        assert_string_equal(fl_decision_id(x.d) + 15, fl_decision_id(y.d) + 15);
    }
    flt_close(&x);
    flt_close(&y);
}

/* ---- messages ------------------------------------------------------------------- */

static const char k_msg_policy[] =
    "policy { default_locale = \"en\", max_message_len = 64 }\n"
    "rule \"u\" { when = { code = \"U\" }, category = \"unavailable\" }\n"
    "rule \"dns\" { when = { code = \"DNS\" }, category = \"unavailable.dns\" }\n"
    "rule \"i\" { when = { code = \"I\" }, category = \"internal\" }\n"
    "rule \"nf\" { when = { code = \"NF\" }, category = \"not_found\" }\n"
    "rule \"custom\" { when = { code = \"C\" }, category = \"internal\", message = \"custom.id\" }\n"
    "rule \"long\" { when = { code = \"L\" }, category = \"data_loss\" }\n"
    "rule \"ph\" { when = { code = \"PH\" }, category = \"aborted\", recovery = retry { backoff = \"constant\", base_ms = 1500, jitter = \"none\" } }\n"
    "messages \"en\" {\n"
    "  unknown = \"Something failed.\",\n"
    "  unavailable = \"Service unavailable.\",\n"
    "  [\"unavailable.dns\"] = \"Name lookup failed.\",\n"
    "  internal = \"Internal error.\",\n"
    "  [\"custom.id\"] = \"Custom text.\",\n"
    "  data_loss = \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\n"
    "  aborted = \"{category} on {op|?} attempt {attempt}, {attempts_left} left, retry in {delay_s}s, svc {tags.service|none}, code {code}, domain {domain|-}\",\n"
    "}\n"
    "messages \"fr\" {\n"
    "  unknown = \"Quelque chose a \xc3\xa9" "chou\xc3\xa9.\",\n"
    "  unavailable = \"Service indisponible.\",\n"
    "}\n"
    "messages \"fr-CA\" {\n"
    "  internal = \"Erreur interne (CA).\",\n"
    "}\n";

static void expect_msg(flt *t, const char *code, const char *locale, const char *text, const char *id,
                       const char *loc)
{
    char j[64];
    snprintf(j, sizeof j, "{\"code\":\"%s\"}", code);
    assert_int_equal(flt_decide_loc(t, j, locale, 0), FL_OK);
    if (strcmp(fl_decision_message(t->d), text) != 0)
        print_error("code %s locale %s: got '%s'\n", code, locale ? locale : "(null)", fl_decision_message(t->d));
    assert_string_equal(fl_decision_message(t->d), text);
    assert_string_equal(fl_decision_message_id(t->d), id);
    assert_string_equal(fl_decision_locale(t->d), loc);
}

/* The FL_DECIDE_NO_* flags leave out exactly what they name; the rest of
 * the decision is the same as without them. */
static void test_skip_flags(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_msg_policy);
    static const char *const evs[] = {"{\"code\":\"U\",\"message\":\"down\"}", "{\"id\":\"ev-7\",\"code\":\"PH\",\"op\":\"x\"}",
                                      "{\"code\":\"nothing\"}"};
    for (size_t i = 0; i < sizeof evs / sizeof *evs; i++) {
        assert_int_equal(flt_decide_loc(&t, evs[i], NULL, 0), FL_OK);
        char cat[64], rule[64], fp[17], msgid[64];
        snprintf(cat, sizeof cat, "%s", fl_decision_category(t.d));
        snprintf(rule, sizeof rule, "%s", fl_decision_rule(t.d));
        snprintf(fp, sizeof fp, "%s", fl_decision_fingerprint(t.d));
        snprintf(msgid, sizeof msgid, "%s", fl_decision_message_id(t.d));
        fl_action act = fl_decision_action(t.d);
        int64_t delay = fl_decision_delay_ms(t.d);
        assert_non_null(fl_decision_message(t.d));

        assert_int_equal(flt_decide_loc(&t, evs[i], NULL, FL_DECIDE_NO_MESSAGE), FL_OK);
        assert_null(fl_decision_message(t.d));
        assert_null(fl_decision_message_id(t.d));
        assert_null(fl_decision_locale(t.d));
        assert_string_equal(fl_decision_fingerprint(t.d), fp);
        assert_non_null(fl_decision_id(t.d));
        assert_string_equal(fl_decision_category(t.d), cat);
        assert_string_equal(fl_decision_rule(t.d), rule);
        assert_int_equal(fl_decision_action(t.d), act);
        assert_int_equal(fl_decision_delay_ms(t.d), delay);
        json_t *o = dj(&t);
        assert_null(json_object_get(o, "message"));
        assert_null(json_object_get(json_object_get(o, "problem"), "detail"));
        assert_non_null(json_object_get(json_object_get(o, "problem"), "title"));
        json_decref(o);

        assert_int_equal(flt_decide_loc(&t, evs[i], NULL, FL_DECIDE_NO_ID | FL_DECIDE_NO_FINGERPRINT), FL_OK);
        assert_null(fl_decision_id(t.d));
        assert_null(fl_decision_fingerprint(t.d));
        assert_string_equal(fl_decision_message_id(t.d), msgid);
        assert_string_equal(fl_decision_category(t.d), cat);
        o = dj(&t);
        assert_true(json_is_null(json_object_get(o, "id")));
        assert_null(json_object_get(o, "fingerprint"));
        json_decref(o);
    }
    flt_close(&t);
}

static void test_locale_chain(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_msg_policy);
    /* default locale */
    expect_msg(&t, "U", NULL, "Service unavailable.", "unavailable", "en");
    expect_msg(&t, "DNS", NULL, "Name lookup failed.", "unavailable.dns", "en");
    expect_msg(&t, "NF", NULL, "Something failed.", "unknown", "en");
    expect_msg(&t, "C", NULL, "Custom text.", "custom.id", "en");
    /* fr-CA -> fr-CA */
    expect_msg(&t, "I", "fr-CA", "Erreur interne (CA).", "internal", "fr-CA");
    /* fr-CA -> fr */
    expect_msg(&t, "U", "fr-CA", "Service indisponible.", "unavailable", "fr");
    /* id parents within a locale before the next locale: unavailable.dns in fr is fr's unavailable */
    expect_msg(&t, "DNS", "fr", "Service indisponible.", "unavailable", "fr");
    /* then "unknown" of that locale */
    expect_msg(&t, "NF", "fr", "Quelque chose a \xc3\xa9" "chou\xc3\xa9.", "unknown", "fr");
    expect_msg(&t, "I", "fr", "Quelque chose a \xc3\xa9" "chou\xc3\xa9.", "unknown", "fr");
    /* fr-BE (not declared) -> fr; case-insensitive */
    expect_msg(&t, "U", "fr-BE", "Service indisponible.", "unavailable", "fr");
    expect_msg(&t, "U", "FR", "Service indisponible.", "unavailable", "fr");
    expect_msg(&t, "I", "FR-ca", "Erreur interne (CA).", "internal", "fr-CA");
    /* unknown locale -> default */
    expect_msg(&t, "U", "de-AT", "Service unavailable.", "unavailable", "en");
    expect_msg(&t, "U", "", "Service unavailable.", "unavailable", "en");
    expect_msg(&t, "U", "x", "Service unavailable.", "unavailable", "en");
    flt_close(&t);
}

static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (n < 0) return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xc0) != 0x80) return 0;
    }
    return 1;
}

static void test_message_length_cap(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, k_msg_policy);
    assert_int_equal(flt_decide(&t, "{\"code\":\"L\"}"), FL_OK);
    const char *m = fl_decision_message(t.d);
    size_t n = strlen(m);
    assert_true(n <= 64);
    assert_true(n >= 60);
    assert_true(utf8_ok(m));
    assert_string_equal(m + n - 3, "\xe2\x80\xa6"); /* … */
    /* 60 bytes of é (30 chars), then the ellipsis */
    assert_int_equal(n, 63);
    flt_close(&t);
    /* The engine's cap applies when lower than the policy's. */
    fl_engine_options_t o = {0};
    o.max_message_len = 20;
    flt_open_opts(&t, k_msg_policy, &o);
    assert_int_equal(flt_decide(&t, "{\"code\":\"L\"}"), FL_OK);
    m = fl_decision_message(t.d);
    assert_true(strlen(m) <= 20);
    assert_true(utf8_ok(m));
    assert_string_equal(m + strlen(m) - 3, "\xe2\x80\xa6");
    /* short messages are untouched */
    assert_int_equal(flt_decide(&t, "{\"code\":\"U\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Service unavailable."); /* exactly 20 bytes: kept */
    assert_int_equal(flt_decide(&t, "{\"code\":\"C\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Custom text.");
    flt_close(&t);
}

static void test_placeholders(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"ph\" { when = { code = \"PH\" }, category = \"aborted\","
                 "  recovery = retry { backoff = \"constant\", base_ms = 1500, jitter = \"none\" } }\n"
                 "messages \"en\" { aborted = \"{category} on {op|?} attempt {attempt}, {attempts_left} left,"
                 " retry in {delay_s}s, svc {tags.service|none}, code {code}, domain {domain|-}\" }\n");
    assert_int_equal(flt_decide(&t, "{\"code\":\"PH\",\"op\":\"db.query\",\"attempt\":2,\"tags\":{\"service\":\"api\"}}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d),
                        "aborted on db.query attempt 2, 1 left, retry in 2s, svc api, code PH, domain -");
    assert_int_equal(flt_decide(&t, "{\"code\":\"PH\",\"domain\":\"SQL\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d),
                        "aborted on ? attempt 1, 2 left, retry in 2s, svc none, code PH, domain sql");
    /* attempts exhausted: no delay, the placeholder is empty */
    assert_int_equal(flt_decide(&t, "{\"code\":\"PH\",\"attempt\":3}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d),
                        "aborted on ? attempt 3, 0 left, retry in s, svc none, code PH, domain -");
    flt_close(&t);
}

static void test_no_messages_declared(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"r\" { category = \"internal\" }\n");
    assert_int_equal(flt_decide(&t, "{}"), FL_OK);
    assert_non_null(fl_decision_message(t.d));
    assert_true(strlen(fl_decision_message(t.d)) > 0);
    assert_string_equal(fl_decision_message_id(t.d), "unknown");
    flt_close(&t);
}

/* ---- problem, fingerprint, explain ------------------------------------------------ */

static void test_problem_object(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "policy { name = \"shop\", version = \"4.2\", problem_base = \"https://errors.example.com/\" }\n"
                 "category \"not_found\" { title = \"No such thing\" }\n"
                 "rule \"nf\" { when = { code = \"NF\" }, category = \"not_found.order\" }\n"
                 "rule \"st\" { when = { code = \"ST\" }, category = \"unavailable\", status = 599 }\n"
                 "messages \"en\" { not_found = \"We could not find it.\" }\n");
    assert_int_equal(flt_decide(&t, "{\"id\":\"abc\",\"code\":\"NF\"}"), FL_OK);
    json_t *o = dj(&t);
    assert_string_equal(jstr(o, "id"), "abc");
    assert_string_equal(jstr(o, "problem.type"), "https://errors.example.com/not_found.order");
    assert_string_equal(jstr(o, "problem.title"), "No such thing");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "problem"), "status")), 404);
    assert_string_equal(jstr(o, "problem.detail"), "We could not find it.");
    assert_string_equal(jstr(o, "policy.name"), "shop");
    assert_string_equal(jstr(o, "policy.version"), "4.2");
    assert_int_equal(strlen(jstr(o, "policy.id")), 16);
    assert_string_equal(jstr(o, "policy.id"), fl_decision_policy_version(t.d));
    assert_string_equal(jstr(o, "rule"), "nf");
    assert_string_equal(jstr(o, "severity"), "error");
    assert_true(json_is_false(json_object_get(o, "retryable")));
    assert_null(json_object_get(o, "error"));
    assert_null(json_object_get(o, "explain"));
    json_decref(o);
    assert_int_equal(flt_decide(&t, "{\"code\":\"ST\"}"), FL_OK);
    o = dj(&t);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "problem"), "status")), 599);
    assert_string_equal(jstr(o, "problem.type"), "https://errors.example.com/unavailable");
    json_decref(o);
    /* default problem_base */
    flt_close(&t);
    flt_open(&t, "rule \"r\" { category = \"internal\" }\n");
    assert_int_equal(flt_decide(&t, "{}"), FL_OK);
    o = dj(&t);
    assert_string_equal(jstr(o, "problem.type"), "about:blank#internal");
    json_decref(o);
    flt_close(&t);
}

/*
 * Regression: a decided category with no `category` declaration (including
 * the default rule's "unknown") still gets the built-in problem title.
 */
static void test_problem_title_of_undeclared_category(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"a\" { when = { code = \"A\" }, category = \"aborted\" }\n"
                 "rule \"u\" { when = { code = \"U\" }, category = \"unavailable.x\", status = 599 }\n");
    assert_int_equal(flt_decide(&t, "{\"code\":\"A\"}"), FL_OK);
    json_t *o = dj(&t);
    assert_non_null(jstr(o, "problem.title"));
    assert_string_equal(jstr(o, "problem.title"), "Aborted");
    json_decref(o);
    assert_int_equal(flt_decide(&t, "{\"code\":\"U\"}"), FL_OK);
    o = dj(&t);
    assert_non_null(jstr(o, "problem.title"));
    assert_string_equal(jstr(o, "problem.title"), "Service unavailable");
    json_decref(o);
    assert_int_equal(flt_decide(&t, "{\"code\":\"none\"}"), FL_OK); /* default rule */
    o = dj(&t);
    assert_non_null(jstr(o, "problem.title"));
    assert_string_equal(jstr(o, "problem.title"), "Unknown error");
    json_decref(o);
    flt_close(&t);
}

static void test_fingerprint(void **s)
{
    (void)s;
    flt t, t2;
    flt_open(&t, "rule \"r\" { when = { message = re\"timeout\" }, category = \"deadline_exceeded\" }\n");
    char fp1[17], fp2[17];
    assert_int_equal(flt_decide(&t, "{\"id\":\"a\",\"message\":\"timeout after 30s connecting to 10.0.0.1:5432 (request 7f3a9c2e-1b4d-4e5f-8a9b-0c1d2e3f4a5b)\"}"), FL_OK);
    snprintf(fp1, sizeof fp1, "%s", fl_decision_fingerprint(t.d));
    assert_int_equal(strlen(fp1), 16);
    for (int i = 0; i < 16; i++) assert_non_null(strchr("0123456789abcdef", fp1[i]));
    /* numbers, addresses, ids, event id differ: same fingerprint */
    assert_int_equal(flt_decide(&t, "{\"id\":\"b\",\"message\":\"timeout after 45s connecting to 10.9.8.7:6543 (request 00000000-1111-4222-8333-444444444444)\"}"), FL_OK);
    assert_string_equal(fl_decision_fingerprint(t.d), fp1);
    /* another engine, another seed: still the same (stable) */
    fl_engine_options_t o = {0};
    o.seed = 99;
    flt_open_opts(&t2, "rule \"r\" { when = { message = re\"timeout\" }, category = \"deadline_exceeded\" }\n", &o);
    assert_int_equal(flt_decide(&t2, "{\"message\":\"timeout after 1s connecting to 127.0.0.1:1 (request 7f3a9c2e-1b4d-4e5f-8a9b-0c1d2e3f4a5b)\"}"), FL_OK);
    assert_string_equal(fl_decision_fingerprint(t2.d), fp1);
    flt_close(&t2);
    /* a different message: different fingerprint */
    assert_int_equal(flt_decide(&t, "{\"message\":\"timeout while reading the response body\"}"), FL_OK);
    snprintf(fp2, sizeof fp2, "%s", fl_decision_fingerprint(t.d));
    assert_string_not_equal(fp2, fp1);
    /* same message, different domain or op: different group */
    assert_int_equal(flt_decide(&t, "{\"message\":\"timeout while reading the response body\",\"op\":\"x\"}"), FL_OK);
    assert_string_not_equal(fl_decision_fingerprint(t.d), fp2);
    assert_int_equal(flt_decide(&t, "{\"message\":\"disk full\"}"), FL_OK);
    assert_string_not_equal(fl_decision_fingerprint(t.d), fp2);
    flt_close(&t);
}

static void test_explain_is_reproducible(void **s)
{
    (void)s;
    /* Conditions are checked in a fixed order (sorted by name), so the first
     * failing one -- what explain reports -- is the same in every engine. */
    for (int i = 0; i < 12; i++) {
        fl_engine_options_t o = {0};
        o.seed = (uint64_t)i + 1;
        flt t;
        flt_open_opts(&t, "rule \"multi\" { when = { op = \"x\", tags = { zone = \"a\", app = \"b\" },"
                          " attempt = 2, message = re\"zz\", domain = \"d\" }, category = \"internal\" }\n", &o);
        assert_int_equal(flt_decide_loc(&t, "{\"message\":\"zz\",\"op\":\"y\",\"domain\":\"d\"}", NULL,
                                        FL_DECIDE_EXPLAIN), FL_OK);
        json_t *j = dj(&t);
        json_t *tried = json_object_get(json_object_get(j, "explain"), "tried");
        assert_string_equal(jstr(json_array_get(tried, 0), "failed"), "attempt did not match");
        json_decref(j);
        assert_int_equal(flt_decide_loc(&t, "{\"message\":\"zz\",\"op\":\"x\",\"attempt\":2,\"domain\":\"d\","
                                            "\"tags\":{\"zone\":\"q\",\"app\":\"q\"}}", NULL, FL_DECIDE_EXPLAIN), FL_OK);
        j = dj(&t);
        tried = json_object_get(json_object_get(j, "explain"), "tried");
        assert_string_equal(jstr(json_array_get(tried, 0), "failed"), "tags.app did not match");
        json_decref(j);
        flt_close(&t);
    }
}

/* Candidates come from the scan in the order of the message, not of the
 * rules; they are tried in rule order however many fail first (the first
 * few are picked one by one, the rest sorted at once). */
static void test_explain_tries_many_candidates_in_order(void **s)
{
    (void)s;
    fl_strbuf src = {0}, msg = {0};
    for (int i = 0; i < 40; i++)
        fl_sb_printf(&src, "rule \"r%d\" { when = { message = re\"w%dx\"%s }, category = \"internal\" }\n", i,
                     39 - i, i == 35 ? "" : ", op = \"never\"");
    fl_sb_puts(&msg, "{\"message\":\"");
    for (int i = 0; i < 40; i++) fl_sb_printf(&msg, "w%dx ", i); /* r0's literal comes last */
    fl_sb_puts(&msg, "\"}");
    flt t;
    flt_open(&t, src.data);
    assert_int_equal(flt_decide_loc(&t, msg.data, NULL, FL_DECIDE_EXPLAIN), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "r35");
    json_t *o = dj(&t), *ex = json_object_get(o, "explain"), *tried = json_object_get(ex, "tried");
    assert_int_equal(json_integer_value(json_object_get(ex, "candidates")), 40);
    assert_int_equal(json_array_size(tried), 36);
    for (int i = 0; i < 36; i++) {
        char want[8];
        snprintf(want, sizeof want, "r%d", i);
        assert_string_equal(jstr(json_array_get(tried, (size_t)i), "rule"), want);
        assert_true(json_is_true(json_object_get(json_array_get(tried, (size_t)i), "matched")) == (i == 35));
    }
    json_decref(o);
    assert_int_equal(flt_decide(&t, msg.data), FL_OK); /* the same without explain */
    assert_string_equal(fl_decision_rule(t.d), "r35");
    flt_close(&t);
    fl_sb_free(&src);
    fl_sb_free(&msg);
}

static void test_explain(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"a\" { when = { message = re\"disk\", op = \"write\" }, category = \"resource_exhausted\" }\n"
                 "rule \"b\" { when = { message = re\"disk\" }, category = \"internal\" }\n"
                 "rule \"c\" { when = { message = re\"network\" }, category = \"unavailable\" }\n");
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"disk full\",\"op\":\"read\"}", NULL, FL_DECIDE_EXPLAIN), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "b");
    json_t *o = dj(&t);
    json_t *ex = json_object_get(o, "explain");
    assert_non_null(ex);
    json_t *tried = json_object_get(ex, "tried");
    assert_true(json_is_array(tried));
    assert_int_equal(json_array_size(tried), 2); /* "c" was never a candidate */
    assert_string_equal(jstr(json_array_get(tried, 0), "rule"), "a");
    assert_true(json_is_false(json_object_get(json_array_get(tried, 0), "matched")));
    assert_string_equal(jstr(json_array_get(tried, 0), "failed"), "op did not match");
    assert_string_equal(jstr(json_array_get(tried, 1), "rule"), "b");
    assert_true(json_is_true(json_object_get(json_array_get(tried, 1), "matched")));
    assert_int_equal(json_integer_value(json_object_get(ex, "candidates")), 2);
    json_decref(o);
    /* no match: every candidate listed as failed */
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"nothing\"}", NULL, FL_DECIDE_EXPLAIN), FL_OK);
    o = dj(&t);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "explain"), "tried")), 0);
    json_decref(o);
    /* without the flag: no explain field */
    assert_int_equal(flt_decide(&t, "{\"message\":\"disk full\"}"), FL_OK);
    o = dj(&t);
    assert_null(json_object_get(o, "explain"));
    json_decref(o);
    flt_close(&t);
}

/* ---- handlers --------------------------------------------------------------------- */

static const char k_handler_policy[] =
    "policy { safe = { category = \"unavailable\", severity = \"critical\", message = \"safe.msg\","
    "  recovery = retry { backoff = \"constant\", base_ms = 5, jitter = \"none\" } } }\n"
    "messages \"en\" { [\"safe.msg\"] = \"Safe.\", unknown = \"U.\", [\"my.id\"] = \"Mine {op}.\" }\n"
    "rule \"fields\" { when = { op = \"fields\" }, category = \"internal\", handler = function(ev, d)\n"
    "  return { category = \"unavailable.custom\", severity = \"warning\", retryable = true, action = \"fallback\",\n"
    "           fallback = { status = \"queued\" }, params = { n = 1 }, message_id = \"my.id\" } end }\n"
    "rule \"sees\" { when = { op = \"sees\", message = re\"code (?<num>\\\\d+)\" }, category = \"internal\", handler = function(ev, d)\n"
    "  return { message = table.concat({ ev.message, ev.op, ev.tags.k, ev.captures.num, tostring(ev.attempt),\n"
    "           d.category, d.action, d.severity, tostring(d.retryable) }, '|') } end }\n"
    "rule \"retry\" { when = { op = \"retry\" }, category = \"internal\", handler = function(ev, d)\n"
    "  return { action = \"retry\", delay_ms = 1234, attempts_left = 7 } end }\n"
    "rule \"retry0\" { when = { op = \"retry0\" }, category = \"internal\", handler = function(ev, d)\n"
    "  return { action = \"retry\" } end }\n"
    "rule \"nil\" { when = { op = \"nil\" }, category = \"aborted\", severity = \"info\", handler = function(ev, d) return nil end }\n"
    "rule \"nocat\" { when = { op = \"nocat\" }, handler = function(ev, d) return { category = \"not_found\" } end }\n"
    "rule \"bad-num\" { when = { op = \"bad-num\" }, category = \"internal\", handler = function() return 42 end }\n"
    "rule \"bad-str\" { when = { op = \"bad-str\" }, category = \"internal\", handler = function() return \"retry\" end }\n"
    "rule \"bad-key\" { when = { op = \"bad-key\" }, category = \"internal\", handler = function() return { colour = \"red\" } end }\n"
    "rule \"bad-cat\" { when = { op = \"bad-cat\" }, category = \"internal\", handler = function() return { category = \"flaky\" } end }\n"
    "rule \"bad-act\" { when = { op = \"bad-act\" }, category = \"internal\", handler = function() return { action = \"explode\" } end }\n"
    "rule \"bad-sev\" { when = { op = \"bad-sev\" }, category = \"internal\", handler = function() return { severity = \"loud\" } end }\n"
    "rule \"bad-delay\" { when = { op = \"bad-delay\" }, category = \"internal\", handler = function() return { delay_ms = -5 } end }\n"
    "rule \"bad-retryable\" { when = { op = \"bad-retryable\" }, category = \"internal\", handler = function() return { retryable = \"yes\" } end }\n"
    "rule \"bad-msg\" { when = { op = \"bad-msg\" }, category = \"internal\", handler = function() return { message = 5 } end }\n"
    "rule \"bad-utf8\" { when = { op = \"bad-utf8\" }, category = \"internal\", handler = function() return { message = \"\\255\" } end }\n"
    "rule \"bad-fb\" { when = { op = \"bad-fb\" }, category = \"internal\", handler = function() return { fallback = function() end } end }\n"
    "rule \"bad-many\" { when = { op = \"bad-many\" }, category = \"internal\", handler = function()\n"
    "  local t = {} for i = 1, 20 do t['k' .. i] = 1 end return t end }\n"
    "rule \"bad-long\" { when = { op = \"bad-long\" }, category = \"internal\", handler = function() return { message = string.rep('x', 5000) } end }\n"
    "rule \"bad-arr\" { when = { op = \"bad-arr\" }, category = \"internal\", handler = function() return { 1, 2 } end }\n"
    "rule \"throws\" { when = { op = \"throws\" }, category = \"internal\", handler = function() error(\"kaboom\") end }\n"
    "rule \"throws-tbl\" { when = { op = \"throws-tbl\" }, category = \"internal\", handler = function() error({ code = 1 }) end }\n"
    "rule \"loop\" { when = { op = \"loop\" }, category = \"internal\", handler = function() while true do end end }\n"
    "rule \"loop-pcall\" { when = { op = \"loop-pcall\" }, category = \"internal\", handler = function()\n"
    "  while true do pcall(function() while true do end end) end end }\n"
    "rule \"mem\" { when = { op = \"mem\" }, category = \"internal\", handler = function()\n"
    "  local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 1048576 + i) end end }\n"
    "rule \"state\" { when = { op = \"state\" }, category = \"internal\", handler = function(ev, d, state)\n"
    "  COUNT = (COUNT or 0) + 1 state.n = (state.n or 0) + 1\n"
    "  return { message = tostring(COUNT) .. ' ' .. tostring(state.n) } end }\n"
    "rule \"plain\" { when = { op = \"plain\" }, category = \"internal\" }\n";

static fl_engine_options_t handler_opts(void)
{
    fl_engine_options_t o = {0};
    o.handler_budget_us = 20000;
    o.lua_memory_cap = 8u << 20;
    return o;
}

static void test_handler_returns_fields(void **s)
{
    (void)s;
    fl_engine_options_t o = handler_opts();
    flt t;
    flt_open_opts(&t, k_handler_policy, &o);
    assert_int_equal(flt_decide(&t, "{\"op\":\"fields\"}"), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "fields");
    assert_string_equal(fl_decision_category(t.d), "unavailable.custom");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_WARNING);
    assert_int_equal(fl_decision_retryable(t.d), 1);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FALLBACK);
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"status\":\"queued\"}");
    assert_string_equal(fl_decision_params_json(t.d), "{\"n\":1}");
    assert_string_equal(fl_decision_message_id(t.d), "my.id");
    assert_string_equal(fl_decision_message(t.d), "Mine fields.");
    assert_null(fl_decision_error(t.d));
    json_t *j = dj(&t);
    assert_string_equal(jstr(j, "problem.type"), "about:blank#unavailable.custom");
    json_decref(j);

    assert_int_equal(flt_decide(&t, "{\"op\":\"sees\",\"message\":\"error code 42\",\"attempt\":2,\"tags\":{\"k\":\"v\"}}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "error code 42|sees|v|42|2|internal|fail|error|false");

    assert_int_equal(flt_decide(&t, "{\"op\":\"retry\"}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_delay_ms(t.d), 1234);
    assert_int_equal(fl_decision_attempts_left(t.d), 7);
    /* retry without a delay: 0, never negative */
    assert_int_equal(flt_decide(&t, "{\"op\":\"retry0\"}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_delay_ms(t.d), 0);
    /* nil keeps the decision */
    assert_int_equal(flt_decide(&t, "{\"op\":\"nil\"}"), FL_OK);
    assert_string_equal(fl_decision_category(t.d), "aborted");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_INFO);
    assert_null(fl_decision_error(t.d));
    /* a rule with no category gets it from the handler */
    assert_int_equal(flt_decide(&t, "{\"op\":\"nocat\"}"), FL_OK);
    assert_string_equal(fl_decision_category(t.d), "not_found");
    /* globals are fresh for every call; the per-ctx state table (the
     * handler's third argument) persists between calls on one ctx */
    assert_int_equal(flt_decide(&t, "{\"op\":\"state\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "1 1");
    assert_int_equal(flt_decide(&t, "{\"op\":\"state\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "1 2");
    flt_close(&t);
}

/* The decision after a handler failure: the policy's safe decision. */
static void expect_safe(flt *t, const char *op, int status, const char *kind, const char *needle)
{
    char j[64];
    snprintf(j, sizeof j, "{\"op\":\"%s\"}", op);
    int rc = flt_decide(t, j);
    if (rc != status) print_error("op %s: %s, error %s\n", op, fl_strerror(rc), fl_decision_error(t->d));
    assert_int_equal(rc, status);
    assert_string_equal(fl_decision_rule(t->d), op);
    assert_string_equal(fl_decision_category(t->d), "unavailable");
    assert_int_equal(fl_decision_severity(t->d), FL_SEV_CRITICAL);
    assert_int_equal(fl_decision_action(t->d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_delay_ms(t->d), 5);
    assert_string_equal(fl_decision_message(t->d), "Safe.");
    assert_string_equal(fl_decision_message_id(t->d), "safe.msg");
    assert_null(fl_decision_fallback_json(t->d));
    const char *err = fl_decision_error(t->d);
    assert_non_null(err);
    if (needle && !strstr(err, needle)) print_error("op %s: error '%s' lacks '%s'\n", op, err, needle);
    if (needle) assert_non_null(strstr(err, needle));
    json_t *o = dj(t);
    assert_string_equal(jstr(o, "error.kind"), kind);
    assert_string_equal(jstr(o, "error.message"), err);
    assert_non_null(jstr(o, "fingerprint"));
    json_decref(o);
    /* the engine keeps deciding */
    assert_string_equal(flt_rule(t, "{\"op\":\"plain\"}"), "plain");
    assert_null(fl_decision_error(t->d));
    assert_int_equal(flt_decide(t, "{\"op\":\"fields\"}"), FL_OK);
    assert_string_equal(fl_decision_category(t->d), "unavailable.custom");
}

static void test_handler_bad_returns(void **s)
{
    (void)s;
    fl_engine_options_t o = handler_opts();
    flt t;
    flt_open_opts(&t, k_handler_policy, &o);
    expect_safe(&t, "bad-num", FL_EHANDLER, "handler", "a number instead of a table");
    expect_safe(&t, "bad-str", FL_EHANDLER, "handler", "a string instead of a table");
    expect_safe(&t, "bad-key", FL_EHANDLER, "handler", "'colour'");
    expect_safe(&t, "bad-cat", FL_EHANDLER, "handler", "unknown category 'flaky'");
    expect_safe(&t, "bad-act", FL_EHANDLER, "handler", "unknown action 'explode'");
    expect_safe(&t, "bad-sev", FL_EHANDLER, "handler", "unknown severity 'loud'");
    expect_safe(&t, "bad-delay", FL_EHANDLER, "handler", "'delay_ms'");
    expect_safe(&t, "bad-retryable", FL_EHANDLER, "handler", "'retryable'");
    expect_safe(&t, "bad-msg", FL_EHANDLER, "handler", "'message'");
    expect_safe(&t, "bad-utf8", FL_EHANDLER, "handler", "UTF-8");
    expect_safe(&t, "bad-fb", FL_EHANDLER, "handler", "'fallback'");
    expect_safe(&t, "bad-many", FL_EHANDLER, "handler", "handler returned "); /* 20 keys: refused at the first bad one */
    expect_safe(&t, "bad-long", FL_EHANDLER, "handler", "oversized 'message'");
    expect_safe(&t, "bad-arr", FL_EHANDLER, "handler", "non-string key");
    expect_safe(&t, "throws", FL_EHANDLER, "handler", "kaboom");
    expect_safe(&t, "throws-tbl", FL_EHANDLER, "handler", "table value");
    flt_close(&t);
}

static void test_handler_budgets(void **s)
{
    (void)s;
    fl_engine_options_t o = handler_opts();
    flt t;
    flt_open_opts(&t, k_handler_policy, &o);
    double t0 = now_s();
    expect_safe(&t, "loop", FL_EBUDGET_CPU, "cpu_budget", "CPU budget");
    expect_safe(&t, "loop-pcall", FL_EBUDGET_CPU, "cpu_budget", "CPU budget");
    assert_true(now_s() - t0 < 2.0); /* 2 x 20 ms budget, plus rebuilding the state */
    expect_safe(&t, "mem", FL_EBUDGET_MEM, "memory_budget", "memory");
    /* A failed state is thrown away and rebuilt: the per-ctx state restarts. */
    assert_int_equal(flt_decide(&t, "{\"op\":\"state\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "1 1");
    /* Many failures in a row do not wear the engine down. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(flt_decide(&t, "{\"op\":\"throws\"}"), FL_EHANDLER);
        assert_int_equal(flt_decide(&t, "{\"op\":\"retry\"}"), FL_OK);
        assert_int_equal(fl_decision_delay_ms(t.d), 1234);
    }
    flt_close(&t);
}

static void test_handler_default_safe(void **s)
{
    (void)s;
    /* Without a declared safe: unknown, error, fail. */
    flt t;
    flt_open(&t, "rule \"h\" { category = \"internal\", handler = function() error('x') end }\n");
    assert_int_equal(flt_decide(&t, "{}"), FL_EHANDLER);
    assert_string_equal(fl_decision_category(t.d), "unknown");
    assert_int_equal(fl_decision_severity(t.d), FL_SEV_ERROR);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_string_equal(fl_decision_rule(t.d), "h");
    assert_non_null(fl_decision_error(t.d));
    assert_non_null(fl_decision_message(t.d));
    flt_close(&t);
}

static void test_handler_after_reload(void **s)
{
    (void)s;
    /* A ctx moves its handler state to the new version after a reload. */
    flt t;
    flt_open(&t, "rule \"h\" { category = \"internal\", handler = function() return { message = 'v1' } end }\n");
    assert_int_equal(flt_decide(&t, "{}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "v1");
    const char *v2 = "rule \"h\" { category = \"internal\", handler = function() return { message = 'v2' } end }\n";
    fl_diag_t d;
    assert_int_equal(fl_engine_load_string(t.e, "p.lua", v2, strlen(v2), &d), FL_OK);
    assert_int_equal(flt_decide(&t, "{}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "v2");
    flt_close(&t);
}

/* Every string field with every escape jansson writes, non-ASCII kept,
 * invalid UTF-8 left out with its key, each numeric and raw field. */
static void test_writer_escapes(void **s)
{
    (void)s;
    static const char *const nasty[] = {
        "plain", "", "q\"uote", "back\\slash", "a/b", "\b\f\n\r\t", "\x01\x1f\x7f end",
        "caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80", "bad \xff utf8", "\xed\xa0\x80 surrogate", "trail \xc3",
        "a plain prefix of more than 8 bytes, then \" and \\ and \x1f and \xc3\xa9 late", "0123456789abcdef\x7f",
        "0123456789\"bcdefghijklmnopqrstuvwxyz", /* a special in an 8-byte word that is not the last */
    };
    const size_t n = sizeof nasty / sizeof *nasty;
    fl_decision_t *d;
    assert_int_equal(fl_decision_new(&d), FL_OK);
    for (size_t i = 0; i < n * 4; i++) {
        fl_decision_clear(d);
        const char *v = nasty[i % n], *w = nasty[(i * 7 + 3) % n];
        for (int k = 0; k < FL_DS_COUNT_; k++) {
            if (k == FL_DS_PARAMS || k == FL_DS_FALLBACK || k == FL_DS_EFFECTS || k == FL_DS_EXPLAIN) continue;
            if ((k + i) % 5 == 0 && k != FL_DS_ID) continue; /* some absent */
            const char *x = (k & 1) ? v : w;
            fl_decision_put(d, (enum fl_dstr)k, x, strlen(x));
        }
        d->action = (fl_action)(i % 4);
        d->retryable = (int)(i & 1);
        d->severity = (fl_severity)(i % 5);
        d->delay_ms = (int64_t)i * 1000003;
        d->attempts_left = (int)(i % 3) - 1;
        d->status = 400 + (int)i;
        json_t *p = json_pack("{s:s, s:f, s:[i, b, n]}", "k", v, "x", 0.1 * (double)i, "l", (int)i, 1);
        char *pt = p ? json_dumps(p, JSON_COMPACT) : NULL;
        json_decref(p);
        if (pt && (i & 1)) fl_decision_put(d, FL_DS_PARAMS, pt, strlen(pt));
        if (pt && (i & 2)) fl_decision_put(d, FL_DS_FALLBACK, "null", 4);
        if (pt && (i & 4)) fl_decision_put(d, FL_DS_EFFECTS, "[{\"a\":1}]", 9);
        static const char ex[] = "{\"candidates\": 2, \"tried\":[\"\\u00e9\\/\"]}";
        if (i % 3 == 0) fl_decision_put(d, FL_DS_EXPLAIN, ex, strlen(ex));
        free(pt);
        const char *out = fl_decision_to_json(d);
        assert_non_null(out);
        same_as_jansson(d, out);
    }
    fl_decision_clear(d); /* no id at all: "id":null */
    const char *out = fl_decision_to_json(d);
    assert_non_null(out);
    assert_memory_equal(out, "{\"id\":null,", 11);
    same_as_jansson(d, out);
    fl_decision_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_and_priority),
        cmocka_unit_test(test_sets_numbers_ranges),
        cmocka_unit_test(test_presence_tags_op_attempt),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_captures_in_messages),
        cmocka_unit_test(test_capture_past_group_16),
        cmocka_unit_test(test_cause_chain),
        cmocka_unit_test(test_cause_chain_keeps_event_id),
        cmocka_unit_test(test_settings_inheritance),
        cmocka_unit_test(test_backoff_exact),
        cmocka_unit_test(test_attempts_exhausted),
        cmocka_unit_test(test_time_budget),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_fallback_ignore_fail_params),
        cmocka_unit_test(test_jitter_bounds_property),
        cmocka_unit_test(test_locale_chain),
        cmocka_unit_test(test_message_length_cap),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_no_messages_declared),
        cmocka_unit_test(test_problem_object),
        cmocka_unit_test(test_problem_title_of_undeclared_category),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_explain_tries_many_candidates_in_order),
        cmocka_unit_test(test_explain_is_reproducible),
        cmocka_unit_test(test_handler_returns_fields),
        cmocka_unit_test(test_handler_bad_returns),
        cmocka_unit_test(test_handler_budgets),
        cmocka_unit_test(test_handler_default_safe),
        cmocka_unit_test(test_handler_after_reload),
        cmocka_unit_test(test_writer_escapes),
        cmocka_unit_test(test_skip_flags),
        cmocka_unit_test(test_jitter_seed_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
