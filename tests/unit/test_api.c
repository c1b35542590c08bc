/*
 * test_api.c -- the public functions of faultline.h (engine, event, ctx and
 * decision sections) given NULL and bad arguments: each returns what the
 * header documents and nothing crashes.  Also fl_strerror for every code,
 * fl_diag_format and the version macros.
 */
#include <math.h>

#include "flt.h"

static const char k_min_policy[] =
    "rule \"r\" { when = { message = re\"boom\" }, category = \"internal\" }\n";

/* ---- versions and status codes ------------------------------------------- */

static void test_versions(void **s)
{
    (void)s;
    char buf[32];
    snprintf(buf, sizeof buf, "%d.%d.%d", FL_VERSION_MAJOR, FL_VERSION_MINOR, FL_VERSION_PATCH);
    assert_string_equal(buf, FL_VERSION_STRING);
    assert_int_equal(FL_VERSION_HEX, (FL_VERSION_MAJOR << 16) | (FL_VERSION_MINOR << 8) | FL_VERSION_PATCH);
    assert_non_null(fl_libversion());
    assert_string_equal(fl_libversion(), FL_VERSION_STRING);
}

static void test_primary_and_ext_macros(void **s)
{
    (void)s;
    assert_int_equal(FL_PRIMARY(FL_OK), FL_OK);
    assert_int_equal(FL_PRIMARY(FL_EINVAL), FL_EINVAL);
    assert_int_equal(FL_PRIMARY(FL_EPARSE_JSON), FL_EPARSE);
    assert_int_equal(FL_PRIMARY(FL_EPARSE_UTF8), FL_EPARSE);
    assert_int_equal(FL_PRIMARY(FL_EPARSE_TYPE), FL_EPARSE);
    assert_int_equal(FL_PRIMARY(FL_EPOLICY_SYNTAX), FL_EPOLICY);
    assert_int_equal(FL_PRIMARY(FL_EPOLICY_RUNTIME), FL_EPOLICY);
    assert_int_equal(FL_PRIMARY(FL_EPOLICY_SCHEMA), FL_EPOLICY);
    assert_int_equal(FL_PRIMARY(FL_EPOLICY_PATTERN), FL_EPOLICY);
    assert_int_equal(FL_PRIMARY(FL_EBUDGET_CPU), FL_EBUDGET);
    assert_int_equal(FL_PRIMARY(FL_EBUDGET_MEM), FL_EBUDGET);
    assert_int_equal(FL_PRIMARY(FL_EBUDGET_MATCH), FL_EBUDGET);
    /* Extended codes are distinct from each other and from primaries. */
    const int ext[] = {FL_EPARSE_JSON, FL_EPARSE_UTF8, FL_EPARSE_TYPE, FL_EPOLICY_SYNTAX,
                       FL_EPOLICY_RUNTIME, FL_EPOLICY_SCHEMA, FL_EPOLICY_PATTERN,
                       FL_EBUDGET_CPU, FL_EBUDGET_MEM, FL_EBUDGET_MATCH};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        assert_true(ext[i] < 0);
        assert_true(ext[i] < -255);
        for (size_t k = i + 1; k < sizeof ext / sizeof *ext; k++) assert_int_not_equal(ext[i], ext[k]);
    }
}

static void test_strerror_every_code(void **s)
{
    (void)s;
    static const struct { int code; const char *prefix; } k[] = {
        {FL_OK, "FL_OK:"},
        {FL_EINVAL, "FL_EINVAL:"},
        {FL_ENOMEM, "FL_ENOMEM:"},
        {FL_EPARSE, "FL_EPARSE:"},
        {FL_EPOLICY, "FL_EPOLICY:"},
        {FL_ENOENT, "FL_ENOENT:"},
        {FL_EIO, "FL_EIO:"},
        {FL_ETOOBIG, "FL_ETOOBIG:"},
        {FL_EHANDLER, "FL_EHANDLER:"},
        {FL_EBUDGET, "FL_EBUDGET:"},
        {FL_EEXAMPLE, "FL_EEXAMPLE:"},
        {FL_EREFUSED, "FL_EREFUSED:"},
        {FL_ESTATE, "FL_ESTATE:"},
        {FL_ECONFINED, "FL_ECONFINED:"},
        {FL_EMISUSE, "FL_EMISUSE:"},
        {FL_EPARSE_JSON, "FL_EPARSE_JSON:"},
        {FL_EPARSE_UTF8, "FL_EPARSE_UTF8:"},
        {FL_EPARSE_TYPE, "FL_EPARSE_TYPE:"},
        {FL_EPARSE_KEY, "FL_EPARSE_KEY:"},
        {FL_EPOLICY_SYNTAX, "FL_EPOLICY_SYNTAX:"},
        {FL_EPOLICY_RUNTIME, "FL_EPOLICY_RUNTIME:"},
        {FL_EPOLICY_SCHEMA, "FL_EPOLICY_SCHEMA:"},
        {FL_EPOLICY_PATTERN, "FL_EPOLICY_PATTERN:"},
        {FL_EBUDGET_CPU, "FL_EBUDGET_CPU:"},
        {FL_EBUDGET_MEM, "FL_EBUDGET_MEM:"},
        {FL_EBUDGET_MATCH, "FL_EBUDGET_MATCH:"},
        {FL_ESIGNATURE, "FL_ESIGNATURE:"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        const char *m = fl_strerror(k[i].code);
        assert_non_null(m);
        assert_true(strncmp(m, k[i].prefix, strlen(k[i].prefix)) == 0);
        assert_true(strlen(m) > strlen(k[i].prefix) + 2); /* has an English text */
        /* Every name is distinct. */
        for (size_t j = 0; j < i; j++) assert_string_not_equal(m, fl_strerror(k[j].code));
    }
    /* Unknown codes: a constant text, never NULL. */
    const int unknown[] = {1, 12345, -16, -99, -255, FL_EXT(FL_EPARSE, 9), FL_EXT(FL_EINVAL, 1), INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        assert_string_equal(fl_strerror(unknown[i]), "unknown status");
}

static void test_diag_format(void **s)
{
    (void)s;
    char buf[256];
    fl_diag_t d;
    memset(&d, 0, sizeof d);
    /* Bad buffers. */
    assert_null(fl_diag_format(&d, NULL, 10));
    assert_null(fl_diag_format(&d, buf, 0));
    /* NULL diag: empty string. */
    strcpy(buf, "junk");
    assert_ptr_equal(fl_diag_format(NULL, buf, sizeof buf), buf);
    assert_string_equal(buf, "");
    /* file:line:col: message */
    d.status = FL_EPOLICY_SCHEMA;
    snprintf(d.file, sizeof d.file, "p/10-x.lua");
    d.line = 12;
    d.col = 7;
    snprintf(d.message, sizeof d.message, "rule \"x\": unknown key 'foo'");
    assert_ptr_equal(fl_diag_format(&d, buf, sizeof buf), buf);
    assert_string_equal(buf, "p/10-x.lua:12:7: rule \"x\": unknown key 'foo'");
    /* Unknown column prints 1. */
    d.col = 0;
    fl_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "p/10-x.lua:12:1: rule \"x\": unknown key 'foo'");
    /* A file without a line. */
    d.line = 0;
    fl_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "p/10-x.lua: rule \"x\": unknown key 'foo'");
    /* No file: just the message. */
    d.file[0] = '\0';
    fl_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "rule \"x\": unknown key 'foo'");
    /* No file, no message: the status name. */
    d.message[0] = '\0';
    d.status = FL_ENOENT;
    fl_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, fl_strerror(FL_ENOENT));
    /* Truncation: NUL-terminated, bufsize - 1 bytes. */
    snprintf(d.file, sizeof d.file, "abcdef.lua");
    d.line = 3;
    d.col = 4;
    snprintf(d.message, sizeof d.message, "a long message");
    char small[8];
    assert_ptr_equal(fl_diag_format(&d, small, sizeof small), small);
    assert_string_equal(small, "abcdef.");
    char one[1];
    fl_diag_format(&d, one, 1);
    assert_int_equal(one[0], '\0');
}

/* ---- engine -------------------------------------------------------------- */

static void test_engine_bad_args(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(NULL, NULL), FL_EINVAL);
    fl_engine_options_t o = {0};
    assert_int_equal(fl_engine_new(&o, NULL), FL_EINVAL);
    fl_engine_free(NULL); /* no-op */

    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK); /* NULL opts: defaults */
    assert_non_null(e);

    assert_int_equal(fl_engine_load(NULL, "x", &d), FL_EINVAL);
    assert_int_equal(d.status, FL_EINVAL);
    assert_true(strlen(d.message) > 0);
    assert_int_equal(fl_engine_load(e, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_engine_load(e, NULL, NULL), FL_EINVAL); /* diag optional */
    assert_int_equal(fl_engine_check(NULL, "x", &d), FL_EINVAL);
    assert_int_equal(fl_engine_check(e, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_engine_load_string(NULL, "n", "", 0, &d), FL_EINVAL);
    assert_int_equal(fl_engine_load_string(e, NULL, "", 0, &d), FL_EINVAL);
    assert_int_equal(fl_engine_load_string(e, "n", NULL, 0, &d), FL_EINVAL);
    assert_int_equal(fl_engine_load_string(e, "n", NULL, 0, NULL), FL_EINVAL);

    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(NULL, &vi), FL_EINVAL);
    assert_int_equal(fl_engine_current(e, NULL), FL_EINVAL);
    /* Nothing loaded yet. */
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
    /* Failed loads publish nothing. */
    assert_int_equal(fl_engine_load(e, "/nonexistent/faultline/dir", &d), FL_ENOENT);
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
    fl_engine_free(e);
}

static void test_engine_load_and_current(void **s)
{
    (void)s;
    fl_engine_t *e = NULL;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    /* An empty source is refused (issue 10); declared empty it loads, and
     * everything is "unknown". */
    assert_int_equal(fl_engine_load_string(e, "empty.lua", "", 0, &d), FL_EPOLICY_SCHEMA);
    const char *empty = "policy { empty = true }\n";
    assert_int_equal(fl_engine_load_string(e, "empty.lua", empty, strlen(empty), &d), FL_OK);
    assert_int_equal(d.status, FL_OK); /* cleared on success */
    assert_string_equal(d.message, "");
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 0);
    assert_int_equal(vi.current, 1);
    assert_string_equal(vi.source, "empty.lua");
    assert_int_equal(strlen(vi.id), 16);
    assert_true(vi.loaded_at_ms > 1600000000000LL);

    const char *src = "policy { name = \"api\", version = \"2.5\" }\n"
                      "rule \"a\" { category = \"internal\" }\n"
                      "rule \"b\" { category = \"unavailable\" }\n"
                      "example \"x\" { event = { message = \"m\" }, expect = { rule = \"a\" } }\n";
    assert_int_equal(fl_engine_load_string(e, "api.lua", src, strlen(src), &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.name, "api");
    assert_string_equal(vi.version, "2.5");
    assert_int_equal(vi.rules, 2);
    assert_int_equal(vi.examples, 1);
    /* The id is a content hash: the same content gives the same id. */
    char id1[17];
    snprintf(id1, sizeof id1, "%s", vi.id);
    assert_int_equal(fl_engine_load_string(e, "api.lua", src, strlen(src), &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id1);
    /* A length shorter than the text only loads that prefix (len is honoured). */
    size_t cut = strlen("policy { name = \"api\", version = \"2.5\" }\n"
                        "rule \"a\" { category = \"internal\" }\n");
    assert_int_equal(fl_engine_load_string(e, "api.lua", src, cut, &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 1);
    assert_string_not_equal(vi.id, id1);
    fl_engine_free(e);
}

static void test_engine_check_does_not_publish(void **s)
{
    (void)s;
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "00.lua", k_min_policy);
    fl_engine_t *e = NULL;
    fl_diag_t d;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_check(e, dir, &d), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 1);
    assert_string_equal(vi.source, dir);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_versions_rollback_reload_bad_args(void **s)
{
    (void)s;
    fl_diag_t d;
    fl_version_info_t vi[4];
    size_t count = 99;
    assert_int_equal(fl_engine_versions(NULL, vi, 4, &count), FL_EINVAL);
    fl_engine_t *e = flt_engine(NULL);
    assert_int_equal(fl_engine_versions(e, vi, 4, NULL), FL_EINVAL);
    assert_int_equal(fl_engine_versions(e, NULL, 4, &count), FL_EINVAL);
    assert_int_equal(fl_engine_versions(e, NULL, 0, &count), FL_OK); /* just the count */
    assert_int_equal(count, 0);
    assert_int_equal(fl_engine_rollback(NULL, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_engine_rollback(e, NULL, &d), FL_ENOENT); /* nothing to go back to */
    assert_true(strlen(d.message) > 0);
    assert_int_equal(fl_engine_reload(NULL, &d), FL_EINVAL);
    assert_int_equal(fl_engine_reload(e, &d), FL_ESTATE); /* nothing loaded */

    const char *a = "policy { version = \"a\", empty = true }\n", *b = "policy { version = \"b\", empty = true }\n";
    assert_int_equal(fl_engine_load_string(e, "a.lua", a, strlen(a), &d), FL_OK);
    assert_int_equal(fl_engine_rollback(e, NULL, &d), FL_ENOENT); /* only one version */
    assert_int_equal(fl_engine_reload(e, &d), FL_ESTATE);         /* not from a directory */
    assert_int_equal(fl_engine_load_string(e, "b.lua", b, strlen(b), &d), FL_OK);
    assert_int_equal(fl_engine_versions(e, vi, 4, &count), FL_OK);
    assert_int_equal(count, 2);
    assert_string_equal(vi[0].version, "b"); /* newest first */
    assert_int_equal(vi[0].current, 1);
    assert_string_equal(vi[1].version, "a");
    assert_int_equal(vi[1].current, 0);
    /* cap smaller than the count: fills cap, reports the count */
    assert_int_equal(fl_engine_versions(e, vi, 1, &count), FL_OK);
    assert_int_equal(count, 2);
    /* bad ids */
    assert_int_equal(fl_engine_rollback(e, "abc", &d), FL_EINVAL);            /* too short */
    assert_int_equal(fl_engine_rollback(e, "0123456789abcdef0", &d), FL_EINVAL); /* too long */
    assert_int_equal(fl_engine_rollback(e, "zzzz", &d), FL_ENOENT);
    fl_version_info_t cur;
    assert_int_equal(fl_engine_current(e, &cur), FL_OK);
    assert_string_equal(cur.version, "b"); /* failures change nothing */
    assert_int_equal(fl_engine_rollback(e, NULL, &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &cur), FL_OK);
    assert_string_equal(cur.version, "a");
    fl_engine_free(e);
}

static void test_watch_bad_args(void **s)
{
    (void)s;
    fl_watch_t *w = NULL;
    fl_engine_t *e = flt_engine(NULL);
    assert_int_equal(fl_watch_start(NULL, "/tmp", NULL, &w), FL_EINVAL);
    assert_int_equal(fl_watch_start(e, NULL, NULL, &w), FL_EINVAL);
    assert_int_equal(fl_watch_start(e, "/tmp", NULL, NULL), FL_EINVAL);
    assert_int_equal(fl_watch_start(e, "/nonexistent/faultline/dir", NULL, &w), FL_ENOENT);
    assert_null(w);
    assert_int_equal(fl_watch_trigger(NULL), FL_EINVAL);
    assert_int_equal(fl_watch_reloads(NULL), 0);
    fl_watch_stop(NULL);
    fl_engine_free(e);
}

/* ---- events -------------------------------------------------------------- */

static void test_event_bad_args(void **s)
{
    (void)s;
    assert_int_equal(fl_event_new(NULL), FL_EINVAL);
    fl_event_free(NULL);
    fl_event_reset(NULL);

    fl_event_t *ev = NULL;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_event_attempt(ev), 1);
    for (int f = 0; f < FL_FIELD_COUNT_; f++) assert_null(fl_event_get(ev, (fl_field)f));

    assert_int_equal(fl_event_set(NULL, FL_FIELD_MESSAGE, "x", 1), FL_EINVAL);
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, NULL, 0), FL_EINVAL);
    assert_int_equal(fl_event_set(ev, (fl_field)-1, "x", 1), FL_EINVAL);
    assert_int_equal(fl_event_set(ev, FL_FIELD_COUNT_, "x", 1), FL_EINVAL);
    assert_int_equal(fl_event_set(ev, (fl_field)1000, "x", 1), FL_EINVAL);
    /* Invalid UTF-8 leaves the field unset. */
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "bad \xff byte", (size_t)-1), FL_EPARSE_UTF8);
    assert_null(fl_event_get(ev, FL_FIELD_MESSAGE));
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "\xc0\xaf", 2), FL_EPARSE_UTF8); /* overlong */
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "\xed\xa0\x80", 3), FL_EPARSE_UTF8); /* surrogate */
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "\xe2\x82", 2), FL_EPARSE_UTF8); /* truncated */
    assert_null(fl_event_get(ev, FL_FIELD_MESSAGE));
    /* Over 1 MiB: FL_ETOOBIG (the field is left unset). */
    size_t big = (1u << 20) + 1;
    char *b = malloc(big);
    assert_non_null(b);
    memset(b, 'a', big);
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, b, big), FL_ETOOBIG);
    assert_null(fl_event_get(ev, FL_FIELD_MESSAGE));
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, b, 1u << 20), FL_OK); /* exactly the limit */
    assert_int_equal(strlen(fl_event_get(ev, FL_FIELD_MESSAGE)), 1u << 20);
    free(b);
    /* len is honoured; embedded text after len is not read. */
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "payments.charge", 8), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "payments");
    /* An empty string is a set, empty field (not NULL). */
    assert_int_equal(fl_event_set(ev, FL_FIELD_STACK, "", (size_t)-1), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_STACK), "");

    assert_int_equal(fl_event_set_attempt(NULL, 2), FL_EINVAL);
    assert_int_equal(fl_event_set_attempt(ev, 0), FL_EINVAL);
    assert_int_equal(fl_event_set_attempt(ev, -5), FL_EINVAL);
    assert_int_equal(fl_event_attempt(ev), 1);
    assert_int_equal(fl_event_set_attempt(ev, 3), FL_OK);
    assert_int_equal(fl_event_attempt(ev), 3);
    assert_int_equal(fl_event_attempt(NULL), 0);

    assert_int_equal(fl_event_set_elapsed_ms(NULL, 1), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(ev, -1), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(ev, NAN), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(ev, INFINITY), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(ev, 0), FL_OK);
    assert_int_equal(fl_event_set_elapsed_ms(ev, 12.5), FL_OK);

    assert_int_equal(fl_event_set_tag(NULL, "k", "v"), FL_EINVAL);
    assert_int_equal(fl_event_set_tag(ev, NULL, "v"), FL_EINVAL);
    assert_int_equal(fl_event_set_tag(ev, "", "v"), FL_EINVAL);
    assert_int_equal(fl_event_set_tag(ev, "k", NULL), FL_EINVAL);
    assert_int_equal(fl_event_set_tag(ev, "k\xff", "v"), FL_EPARSE_UTF8);
    assert_int_equal(fl_event_set_tag(ev, "k", "v\xff"), FL_EPARSE_UTF8);
    assert_null(fl_event_get_tag(ev, "k"));
    assert_int_equal(fl_event_set_tag(ev, "k", "v1"), FL_OK);
    assert_int_equal(fl_event_set_tag(ev, "k", "v2"), FL_OK); /* replaces */
    assert_string_equal(fl_event_get_tag(ev, "k"), "v2");
    assert_null(fl_event_get_tag(ev, NULL));
    assert_null(fl_event_get_tag(NULL, "k"));
    assert_null(fl_event_get_tag(ev, "missing"));

    assert_null(fl_event_get(NULL, FL_FIELD_MESSAGE));
    assert_null(fl_event_get(ev, (fl_field)-1));
    assert_null(fl_event_get(ev, FL_FIELD_COUNT_));

    /* reset clears everything, including attempt and tags */
    fl_event_reset(ev);
    assert_null(fl_event_get(ev, FL_FIELD_MESSAGE));
    assert_null(fl_event_get(ev, FL_FIELD_OP));
    assert_null(fl_event_get_tag(ev, "k"));
    assert_int_equal(fl_event_attempt(ev), 1);

    /* from_json with NULL arguments */
    fl_diag_t d;
    assert_int_equal(fl_event_from_json(NULL, "{}", 2, &d), FL_EINVAL);
    assert_int_equal(d.status, FL_EINVAL);
    assert_int_equal(fl_event_from_json(ev, NULL, 0, &d), FL_EINVAL);
    assert_int_equal(fl_event_from_json(ev, "{", 1, NULL), FL_EPARSE_JSON); /* diag optional */
    fl_event_free(ev);
}

/* ---- contexts, decisions, fl_decide ------------------------------------------ */

static void test_ctx_and_decision_bad_args(void **s)
{
    (void)s;
    fl_engine_t *e = flt_engine(k_min_policy);
    fl_ctx_t *ctx = NULL;
    assert_int_equal(fl_ctx_new(NULL, &ctx), FL_EINVAL);
    assert_int_equal(fl_ctx_new(e, NULL), FL_EINVAL);
    fl_ctx_free(NULL);
    assert_int_equal(fl_decision_new(NULL), FL_EINVAL);
    fl_decision_free(NULL);

    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    fl_decision_t *d = NULL;
    fl_event_t *ev = NULL;
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decide(NULL, ev, NULL, 0, d), FL_EINVAL);
    assert_int_equal(fl_decide(ctx, NULL, NULL, 0, d), FL_EINVAL);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, NULL), FL_EINVAL);
    /* An empty event is fine: the default rule. */
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "default");
    assert_string_equal(fl_decision_category(d), "unknown");
    /* Unknown flag bits are ignored; an empty locale is the default locale. */
    assert_int_equal(fl_decide(ctx, ev, "", 0x80000000u, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "default");
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_decide_without_policy(void **s)
{
    (void)s;
    fl_engine_t *e = NULL;
    fl_ctx_t *ctx = NULL;
    fl_decision_t *d = NULL;
    fl_event_t *ev = NULL;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "boom", (size_t)-1), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_ESTATE);
    /* The built-in safe decision: usable, with error set. */
    assert_string_equal(fl_decision_category(d), "unknown");
    assert_string_equal(fl_decision_rule(d), "default");
    assert_int_equal(fl_decision_action(d), FL_ACTION_FAIL);
    assert_non_null(fl_decision_error(d));
    assert_non_null(fl_decision_to_json(d));
    assert_non_null(strstr(fl_decision_to_json(d), "\"error\""));
    /* A policy arrives: the same ctx picks it up. */
    fl_diag_t dg;
    assert_int_equal(fl_engine_load_string(e, "p.lua", k_min_policy, strlen(k_min_policy), &dg), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_rule(d), "r");
    assert_null(fl_decision_error(d));
    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_decision_accessors_null(void **s)
{
    (void)s;
    assert_null(fl_decision_id(NULL));
    assert_null(fl_decision_category(NULL));
    assert_int_equal(fl_decision_severity(NULL), FL_SEV_ERROR);
    assert_int_equal(fl_decision_retryable(NULL), 0);
    assert_int_equal(fl_decision_action(NULL), FL_ACTION_FAIL);
    assert_int_equal(fl_decision_delay_ms(NULL), -1);
    assert_int_equal(fl_decision_attempts_left(NULL), -1);
    assert_true(fl_decision_jitter_seed(NULL) == 0);
    assert_int_equal(fl_ctx_set_next_seed(NULL, 42), FL_EINVAL);
    assert_null(fl_decision_message(NULL));
    assert_null(fl_decision_message_id(NULL));
    assert_null(fl_decision_locale(NULL));
    assert_null(fl_decision_fingerprint(NULL));
    assert_null(fl_decision_rule(NULL));
    assert_null(fl_decision_policy_version(NULL));
    assert_null(fl_decision_error(NULL));
    assert_null(fl_decision_params_json(NULL));
    assert_null(fl_decision_fallback_json(NULL));
    assert_null(fl_decision_to_json(NULL));

    /* A fresh decision: every string absent, renders as JSON. */
    fl_decision_t *d = NULL;
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_null(fl_decision_id(d));
    assert_null(fl_decision_category(d));
    assert_null(fl_decision_message(d));
    assert_null(fl_decision_error(d));
    assert_int_equal(fl_decision_delay_ms(d), -1);
    assert_int_equal(fl_decision_action(d), FL_ACTION_FAIL);
    const char *j = fl_decision_to_json(d);
    assert_non_null(j);
    assert_int_equal(j[0], '{');
    assert_non_null(strstr(j, "\"id\":null"));
    fl_decision_free(d);
}

static void test_action_and_severity_names(void **s)
{
    (void)s;
    assert_string_equal(fl_action_name(FL_ACTION_RETRY), "retry");
    assert_string_equal(fl_action_name(FL_ACTION_FALLBACK), "fallback");
    assert_string_equal(fl_action_name(FL_ACTION_IGNORE), "ignore");
    assert_string_equal(fl_action_name(FL_ACTION_FAIL), "fail");
    assert_string_equal(fl_action_name((fl_action)17), "?");
    assert_string_equal(fl_action_name((fl_action)-1), "?");
    assert_string_equal(fl_severity_name(FL_SEV_DEBUG), "debug");
    assert_string_equal(fl_severity_name(FL_SEV_INFO), "info");
    assert_string_equal(fl_severity_name(FL_SEV_WARNING), "warning");
    assert_string_equal(fl_severity_name(FL_SEV_ERROR), "error");
    assert_string_equal(fl_severity_name(FL_SEV_CRITICAL), "critical");
    assert_string_equal(fl_severity_name((fl_severity)99), "error");
    assert_string_equal(fl_severity_name((fl_severity)-3), "error");
}

static void test_decision_reuse_overwrites(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "rule \"p\" { when = { message = re\"boom\" }, category = \"internal\","
                 "  params = { a = 1 }, recovery = fallback({ x = true }) }\n");
    assert_int_equal(flt_decide(&t, "{\"id\":\"e1\",\"message\":\"boom\"}"), FL_OK);
    assert_string_equal(fl_decision_params_json(t.d), "{\"a\":1}");
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"x\":true}");
    assert_string_equal(fl_decision_id(t.d), "e1");
    /* The next decision into the same object drops what no longer applies. */
    assert_int_equal(flt_decide(&t, "{\"message\":\"other\"}"), FL_OK);
    assert_null(fl_decision_params_json(t.d));
    assert_null(fl_decision_fallback_json(t.d));
    assert_string_not_equal(fl_decision_id(t.d), "e1");
    assert_int_equal(strlen(fl_decision_id(t.d)), 36); /* a UUIDv7 */
    assert_int_equal(fl_decision_id(t.d)[14], '7');
    flt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_primary_and_ext_macros),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_engine_bad_args),
        cmocka_unit_test(test_engine_load_and_current),
        cmocka_unit_test(test_engine_check_does_not_publish),
        cmocka_unit_test(test_versions_rollback_reload_bad_args),
        cmocka_unit_test(test_watch_bad_args),
        cmocka_unit_test(test_event_bad_args),
        cmocka_unit_test(test_ctx_and_decision_bad_args),
        cmocka_unit_test(test_decide_without_policy),
        cmocka_unit_test(test_decision_accessors_null),
        cmocka_unit_test(test_action_and_severity_names),
        cmocka_unit_test(test_decision_reuse_overwrites),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
