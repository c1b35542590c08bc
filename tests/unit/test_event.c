/*
 * test_event.c -- fl_event_from_json: every field and type, every way a line
 * can be bad (each with the documented status, the field named, a column),
 * size and depth limits, and the setters that build the same events.
 */
#include "flt.h"

static fl_event_t *g_ev;

static int setup(void **s)
{
    (void)s;
    return fl_event_new(&g_ev);
}

static int teardown(void **s)
{
    (void)s;
    fl_event_free(g_ev);
    return 0;
}

static int parse(const char *json, fl_diag_t *d) { return fl_event_from_json(g_ev, json, strlen(json), d); }

/* Parse, expect failure with status `st` and a message containing `needle`;
 * the event is left reset. */
static void expect_bad(const char *json, int st, const char *needle)
{
    fl_diag_t d;
    /* Put something in the event first: a failure must leave it reset. */
    assert_int_equal(fl_event_set(g_ev, FL_FIELD_MESSAGE, "before", (size_t)-1), FL_OK);
    int rc = parse(json, &d);
    if (rc != st) print_error("%s: got %s (%s)\n", json, fl_strerror(rc), d.message);
    assert_int_equal(rc, st);
    assert_int_equal(d.status, st);
    if (needle && !strstr(d.message, needle)) print_error("message '%s' lacks '%s'\n", d.message, needle);
    if (needle) assert_non_null(strstr(d.message, needle));
    assert_null(fl_event_get(g_ev, FL_FIELD_MESSAGE));
    assert_int_equal(fl_event_attempt(g_ev), 1);
}

static void test_all_fields(void **s)
{
    (void)s;
    fl_diag_t d;
    const char *j = "{\"id\":\"ev-1\",\"time\":\"2026-11-24T15:35:24.123Z\",\"domain\":\"HTTP\","
                    "\"code\":503,\"message\":\"upstream unavailable\",\"op\":\"payments.charge\","
                    "\"attempt\":3,\"elapsed_ms\":1250.5,\"stack\":\"at x\\nat y\","
                    "\"tags\":{\"service\":\"api\",\"retry_after\":120,\"canary\":true,\"ratio\":0.25},"
                    "\"cause\":{\"message\":\"connect ECONNREFUSED\",\"code\":\"ECONNREFUSED\"}}";
    assert_int_equal(parse(j, &d), FL_OK);
    assert_int_equal(d.status, FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_ID), "ev-1");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_TIME), "2026-11-24T15:35:24.123Z");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_DOMAIN), "http"); /* domains are folded */
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "503");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_MESSAGE), "upstream unavailable");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_OP), "payments.charge");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_STACK), "at x\nat y");
    assert_int_equal(fl_event_attempt(g_ev), 3);
    assert_string_equal(fl_event_get_tag(g_ev, "service"), "api");
    assert_string_equal(fl_event_get_tag(g_ev, "retry_after"), "120");
    assert_string_equal(fl_event_get_tag(g_ev, "canary"), "true");
    assert_string_equal(fl_event_get_tag(g_ev, "ratio"), "0.25");
}

static void test_minimal_and_nulls(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(parse("{}", &d), FL_OK);
    for (int f = 0; f < FL_FIELD_COUNT_; f++) assert_null(fl_event_get(g_ev, (fl_field)f));
    assert_int_equal(fl_event_attempt(g_ev), 1);
    /* null means absent, for every field */
    assert_int_equal(parse("{\"id\":null,\"time\":null,\"domain\":null,\"code\":null,\"message\":null,"
                           "\"op\":null,\"stack\":null,\"attempt\":null,\"elapsed_ms\":null,"
                           "\"tags\":null,\"cause\":null}", &d), FL_OK);
    for (int f = 0; f < FL_FIELD_COUNT_; f++) assert_null(fl_event_get(g_ev, (fl_field)f));
    assert_int_equal(fl_event_attempt(g_ev), 1);
    /* a null tag value is skipped */
    assert_int_equal(parse("{\"tags\":{\"a\":null,\"b\":\"x\"}}", &d), FL_OK);
    assert_null(fl_event_get_tag(g_ev, "a"));
    assert_string_equal(fl_event_get_tag(g_ev, "b"), "x");
    /* unknown fields are ignored (forward compatibility) */
    assert_int_equal(parse("{\"message\":\"m\",\"extra\":{\"deep\":[1,2,3]}}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_MESSAGE), "m");
    /* surrounding whitespace is fine */
    assert_int_equal(parse("  \t{\"message\":\"m\"}  ", &d), FL_OK);
    /* parsing resets: fields of the previous event do not survive */
    assert_int_equal(parse("{\"op\":\"o\"}", &d), FL_OK);
    assert_null(fl_event_get(g_ev, FL_FIELD_MESSAGE));
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_OP), "o");
}

static void test_code_forms(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(parse("{\"code\":404}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "404");
    assert_int_equal(parse("{\"code\":-2}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "-2");
    assert_int_equal(parse("{\"code\":\"23505\"}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "23505");
    assert_int_equal(parse("{\"code\":\"ECONNREFUSED\"}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "ECONNREFUSED");
    /* an integral float is an integer code */
    assert_int_equal(parse("{\"code\":503.0}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "503");
    assert_int_equal(parse("{\"code\":5e2}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_CODE), "500");
    /* a fractional float, a bool, an array, an object are not codes */
    expect_bad("{\"code\":503.5}", FL_EPARSE_TYPE, "'code'");
    expect_bad("{\"code\":true}", FL_EPARSE_TYPE, "'code'");
    expect_bad("{\"code\":[503]}", FL_EPARSE_TYPE, "'code'");
    expect_bad("{\"code\":{\"n\":1}}", FL_EPARSE_TYPE, "'code'");
    expect_bad("{\"code\":1e300}", FL_EPARSE_TYPE, "'code'");
}

static void test_wrong_types_name_the_field(void **s)
{
    (void)s;
    static const struct { const char *json; const char *field; } k[] = {
        {"{\"id\":1}", "'id'"},
        {"{\"time\":1700000000}", "'time'"},
        {"{\"time\":\"yesterday\"}", "'time'"},
        {"{\"time\":\"2026-13-40T99:00:00Z\"}", "'time'"},
        {"{\"domain\":[\"http\"]}", "'domain'"},
        {"{\"message\":42}", "'message'"},
        {"{\"message\":{\"text\":\"x\"}}", "'message'"},
        {"{\"op\":false}", "'op'"},
        {"{\"stack\":[\"a\",\"b\"]}", "'stack'"},
        {"{\"attempt\":\"2\"}", "'attempt'"},
        {"{\"attempt\":0}", "'attempt'"},
        {"{\"attempt\":-1}", "'attempt'"},
        {"{\"attempt\":1.5}", "'attempt'"},
        {"{\"attempt\":true}", "'attempt'"},
        {"{\"attempt\":1e12}", "'attempt'"},
        {"{\"elapsed_ms\":\"10\"}", "'elapsed_ms'"},
        {"{\"elapsed_ms\":-0.5}", "'elapsed_ms'"},
        {"{\"tags\":[\"a\"]}", "'tags'"},
        {"{\"tags\":\"service=api\"}", "'tags'"},
        {"{\"tags\":{\"service\":{\"name\":\"api\"}}}", "'tags.service'"},
        {"{\"tags\":{\"list\":[1,2]}}", "'tags.list'"},
        {"{\"cause\":\"root\"}", "'cause'"},
        {"{\"cause\":[{}]}", "'cause'"},
        {"{\"cause\":{\"attempt\":\"x\"}}", "'attempt'"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) expect_bad(k[i].json, FL_EPARSE_TYPE, k[i].field);
    /* Good values of the same fields. */
    fl_diag_t d;
    assert_int_equal(parse("{\"attempt\":2.0,\"elapsed_ms\":0,\"time\":\"2026-01-02T03:04:05+01:00\"}", &d), FL_OK);
    assert_int_equal(fl_event_attempt(g_ev), 2);
}

static void test_malformed_json_with_column(void **s)
{
    (void)s;
    fl_diag_t d;
    static const struct { const char *json; int col; } k[] = {
        {"{\"message\": }", 13},
        {"{\"message\":\"x\",}", 16},
        {"{message:\"x\"}", 8}, /* jansson points at the end of the bad token */
        {"{\"a\":1} trailing", 16},
        {"not json", 3},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        int rc = parse(k[i].json, &d);
        assert_int_equal(rc, FL_EPARSE_JSON);
        assert_int_equal(d.status, FL_EPARSE_JSON);
        if (d.col != k[i].col) print_error("%s: column %d, want %d (%s)\n", k[i].json, d.col, k[i].col, d.message);
        assert_int_equal(d.col, k[i].col);
        assert_true(d.col > 0);
        char want[32];
        snprintf(want, sizeof want, "(column %d)", k[i].col);
        assert_non_null(strstr(d.message, want));
        assert_string_equal(d.file, "");
    }
    /* Not an object. */
    expect_bad("[1,2,3]", FL_EPARSE_JSON, "object");
    expect_bad("\"just a string\"", FL_EPARSE_JSON, NULL);
    expect_bad("42", FL_EPARSE_JSON, NULL);
    expect_bad("null", FL_EPARSE_JSON, NULL);
    /* Truncated. */
    expect_bad("{\"message\":\"unterminated", FL_EPARSE_JSON, NULL);
    expect_bad("{", FL_EPARSE_JSON, NULL);
    /* Duplicate keys are refused rather than silently resolved. */
    expect_bad("{\"message\":\"a\",\"message\":\"b\"}", FL_EPARSE_JSON, "duplicate");
}

/* "\u0000" is valid JSON (phpredis leaves a C string's terminator in its
 * messages): the event keeps the text, each NUL stored as U+FFFD, so every
 * field stays a C string and nothing after the NUL is lost.  A raw NUL byte
 * is not JSON and stays an error; fl_event_set still refuses NULs. */
static void test_escaped_nul(void **s)
{
    (void)s;
    fl_diag_t d;
    const char *j = "{\"message\":\"WRONGTYPE a\\u0000b\\u0000\",\"domain\":\"Re\\u0000dis\","
                    "\"tags\":{\"k\":\"v\\u0000w\"},\"cause\":{\"message\":\"\\u0000\"}}";
    assert_int_equal(fl_event_from_json(g_ev, j, strlen(j), &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_MESSAGE), "WRONGTYPE a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_DOMAIN), "re\xEF\xBF\xBD" "dis"); /* lower-cased as ever */
    assert_string_equal(fl_event_get_tag(g_ev, "k"), "v\xEF\xBF\xBD" "w");
    static const char raw[] = "{\"message\":\"a\0b\"}";
    assert_int_not_equal(fl_event_from_json(g_ev, raw, sizeof raw - 1, &d), FL_OK);
    assert_int_equal(fl_event_set(g_ev, FL_FIELD_MESSAGE, "a\0b", 3), FL_EINVAL);
}

static void test_empty_input(void **s)
{
    (void)s;
    expect_bad("", FL_EPARSE_JSON, NULL);
    expect_bad("   ", FL_EPARSE_JSON, NULL);
    fl_diag_t d;
    assert_int_equal(fl_event_from_json(g_ev, "{}", 0, &d), FL_EPARSE_JSON); /* len wins */
    assert_true(d.col >= 1);
}

static void test_invalid_utf8(void **s)
{
    (void)s;
    expect_bad("{\"message\":\"caf\xe9\"}", FL_EPARSE_UTF8, NULL);       /* Latin-1 byte */
    expect_bad("{\"message\":\"\xc0\xaf\"}", FL_EPARSE_UTF8, NULL);      /* overlong */
    expect_bad("{\"message\":\"\xed\xa0\x80\"}", FL_EPARSE_UTF8, NULL);  /* surrogate */
    expect_bad("{\"message\":\"\xf4\x90\x80\x80\"}", FL_EPARSE_UTF8, NULL); /* > U+10FFFF */
    expect_bad("{\"tags\":{\"k\xff\":\"v\"}}", FL_EPARSE_UTF8, NULL);     /* in a key */
    fl_diag_t d;
    assert_int_equal(parse("{\"message\":\"caf\xe9\"}", &d), FL_EPARSE_UTF8);
    assert_true(d.col > 0);
    /* Valid multibyte text, raw and escaped, is fine. */
    assert_int_equal(parse("{\"message\":\"caf\xc3\xa9 \\u00e9 \xf0\x9f\x98\x80 \\ud83d\\ude00\"}", &d), FL_OK);
    assert_string_equal(fl_event_get(g_ev, FL_FIELD_MESSAGE), "caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80 \xf0\x9f\x98\x80");
    /* A lone escaped surrogate is not valid. */
    assert_int_not_equal(parse("{\"message\":\"\\ud83d\"}", &d), FL_OK);
    assert_int_equal(FL_PRIMARY(d.status), FL_EPARSE);
}

static void test_size_limit(void **s)
{
    (void)s;
    const size_t limit = 1u << 20;
    char *buf = malloc(limit + 64);
    assert_non_null(buf);
    /* Exactly 1 MiB of JSON: accepted. */
    size_t head = strlen("{\"message\":\""), n = limit - head - 2;
    memcpy(buf, "{\"message\":\"", head);
    memset(buf + head, 'x', n);
    memcpy(buf + head + n, "\"}", 2);
    fl_diag_t d;
    assert_int_equal(fl_event_from_json(g_ev, buf, limit, &d), FL_OK);
    assert_int_equal(strlen(fl_event_get(g_ev, FL_FIELD_MESSAGE)), n);
    /* One byte more: FL_ETOOBIG, naming the size and the limit. */
    memcpy(buf + head, "x", 1);
    memset(buf + head, 'x', n + 1);
    memcpy(buf + head + n + 1, "\"}", 2);
    assert_int_equal(fl_event_from_json(g_ev, buf, limit + 1, &d), FL_ETOOBIG);
    assert_int_equal(d.status, FL_ETOOBIG);
    assert_non_null(strstr(d.message, "1048577"));
    assert_non_null(strstr(d.message, "1048576"));
    assert_null(fl_event_get(g_ev, FL_FIELD_MESSAGE));
    free(buf);
}

static char *nested_causes(int depth)
{
    /* {"message":"m0","cause":{"message":"m1","cause":{...}}} */
    size_t cap = (size_t)depth * 48 + 64;
    char *s = malloc(cap), *p = s;
    for (int i = 0; i <= depth; i++) {
        p += sprintf(p, "{\"message\":\"m%d\"", i);
        if (i < depth) p += sprintf(p, ",\"cause\":");
    }
    for (int i = 0; i <= depth; i++) *p++ = '}';
    *p = '\0';
    return s;
}

static void test_cause_depth(void **s)
{
    (void)s;
    fl_diag_t d;
    /* 8 nested causes: accepted. */
    char *ok = nested_causes(8);
    assert_int_equal(parse(ok, &d), FL_OK);
    free(ok);
    /* 9: FL_ETOOBIG naming 'cause' and the limit. */
    char *bad = nested_causes(9);
    int rc = parse(bad, &d);
    assert_int_equal(rc, FL_ETOOBIG);
    assert_non_null(strstr(d.message, "'cause'"));
    assert_non_null(strstr(d.message, "8"));
    assert_null(fl_event_get(g_ev, FL_FIELD_MESSAGE));
    free(bad);
    char *worse = nested_causes(200);
    assert_int_equal(parse(worse, &d), FL_ETOOBIG);
    free(worse);
}

static void test_deep_arrays(void **s)
{
    (void)s;
    /* 3000 nested arrays in an ignored field: refused by the parser's depth
     * limit as FL_ETOOBIG, no stack overflow. */
    size_t depth = 3000;
    char *j = malloc(depth * 2 + 64), *p = j;
    p += sprintf(p, "{\"x\":");
    for (size_t i = 0; i < depth; i++) *p++ = '[';
    for (size_t i = 0; i < depth; i++) *p++ = ']';
    *p++ = '}';
    *p = '\0';
    fl_diag_t d;
    assert_int_equal(parse(j, &d), FL_ETOOBIG);
    assert_true(d.col > 0);
    /* Same for objects. */
    free(j);
    j = malloc(depth * 6 + 16);
    p = j;
    for (size_t i = 0; i < depth; i++) p += sprintf(p, "{\"a\":");
    *p++ = '1';
    for (size_t i = 0; i < depth; i++) *p++ = '}';
    *p = '\0';
    assert_int_equal(parse(j, &d), FL_ETOOBIG);
    free(j);
    /* Moderate nesting in an unknown field is fine. */
    assert_int_equal(parse("{\"x\":[[[[[[[[[[1]]]]]]]]]],\"message\":\"m\"}", &d), FL_OK);
}

static void test_tags_types(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(parse("{\"tags\":{\"n\":42,\"neg\":-7,\"f\":1.5,\"t\":true,\"fa\":false,\"s\":\"\"}}", &d), FL_OK);
    assert_string_equal(fl_event_get_tag(g_ev, "n"), "42");
    assert_string_equal(fl_event_get_tag(g_ev, "neg"), "-7");
    assert_string_equal(fl_event_get_tag(g_ev, "f"), "1.5");
    assert_string_equal(fl_event_get_tag(g_ev, "t"), "true");
    assert_string_equal(fl_event_get_tag(g_ev, "fa"), "false");
    assert_string_equal(fl_event_get_tag(g_ev, "s"), "");
    assert_int_equal(parse("{\"tags\":{}}", &d), FL_OK);
    assert_null(fl_event_get_tag(g_ev, "n"));
}

static void test_setters_build_the_same_event(void **s)
{
    (void)s;
    /* An event built by setters decides like the same event parsed. */
    flt t;
    flt_open(&t, "rule \"r\" { when = { domain = \"http\", code = 503, op = \"x\","
                 " [\"tags.service\"] = \"api\", attempt = range(2, 5) }, category = \"unavailable\" }\n");
    fl_event_t *ev = NULL;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_DOMAIN, "HTTP", (size_t)-1), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_DOMAIN), "http");
    assert_int_equal(fl_event_set(ev, FL_FIELD_CODE, "503", (size_t)-1), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "x", (size_t)-1), FL_OK);
    assert_int_equal(fl_event_set_tag(ev, "service", "api"), FL_OK);
    assert_int_equal(fl_decide(t.ctx, ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "default"); /* attempt 1 is outside 2..5 */
    assert_int_equal(fl_event_set_attempt(ev, 2), FL_OK);
    assert_int_equal(fl_decide(t.ctx, ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "r");
    assert_string_equal(flt_rule(&t, "{\"domain\":\"http\",\"code\":503,\"op\":\"x\",\"attempt\":2,"
                                     "\"tags\":{\"service\":\"api\"}}"), "r");
    /* Setting a field twice keeps the last value. */
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "y", (size_t)-1), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "y");
    assert_int_equal(fl_decide(t.ctx, ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "default");
    fl_event_free(ev);
    flt_close(&t);
}

static void test_reuse_many_times(void **s)
{
    (void)s;
    /* Reusing one event for many parses keeps memory bounded and values right. */
    fl_diag_t d;
    char j[128];
    for (int i = 0; i < 2000; i++) {
        snprintf(j, sizeof j, "{\"message\":\"m%d\",\"tags\":{\"i\":%d},\"attempt\":%d}", i, i, i % 7 + 1);
        assert_int_equal(parse(j, &d), FL_OK);
        char want[16];
        snprintf(want, sizeof want, "%d", i);
        assert_string_equal(fl_event_get_tag(g_ev, "i"), want);
        assert_int_equal(fl_event_attempt(g_ev), i % 7 + 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_minimal_and_nulls),
        cmocka_unit_test(test_code_forms),
        cmocka_unit_test(test_wrong_types_name_the_field),
        cmocka_unit_test(test_malformed_json_with_column),
        cmocka_unit_test(test_escaped_nul),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_cause_depth),
        cmocka_unit_test(test_deep_arrays),
        cmocka_unit_test(test_tags_types),
        cmocka_unit_test(test_setters_build_the_same_event),
        cmocka_unit_test(test_reuse_many_times),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
