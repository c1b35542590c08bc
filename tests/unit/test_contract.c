/*
 * test_contract.c -- regression tests for the API contract and containment
 * holes of issue 10 (points 3, 4, 5, 7, 9, 10, 11, 12, 13): tags, template
 * limits, Retry-After caps, float-to-int boundaries, the length convention,
 * empty policies, isolated examples, lifetimes and misuse, event keys.
 */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "flt.h"
#include "core.h" /* ctx internals: how large the render buffer grew */

/* ---- point 3: tags are indexed ------------------------------------------ */

static void test_many_tags_later_wins(void **state)
{
    (void)state;
    fl_event_t *ev;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    char k[32], v[32];
    for (int round = 0; round < 2; round++) {
        fl_event_reset(ev);
        for (int i = 0; i < 5000; i++) {
            snprintf(k, sizeof k, "k%d", i);
            snprintf(v, sizeof v, "a%d", i);
            assert_int_equal(fl_event_set_tag(ev, k, v), FL_OK);
        }
        for (int i = 0; i < 5000; i += 7) { /* replace some: later wins */
            snprintf(k, sizeof k, "k%d", i);
            snprintf(v, sizeof v, "b%d", i);
            assert_int_equal(fl_event_set_tag(ev, k, v), FL_OK);
        }
        for (int i = 0; i < 5000; i++) {
            snprintf(k, sizeof k, "k%d", i);
            snprintf(v, sizeof v, "%c%d", i % 7 ? 'a' : 'b', i);
            assert_string_equal(fl_event_get_tag(ev, k), v);
        }
        assert_null(fl_event_get_tag(ev, "k5000"));
        assert_null(fl_event_get_tag(ev, "k"));
    }
    /* After a reset with few tags, old ones are gone. */
    fl_event_reset(ev);
    assert_int_equal(fl_event_set_tag(ev, "x", "1"), FL_OK);
    assert_null(fl_event_get_tag(ev, "k1"));
    assert_string_equal(fl_event_get_tag(ev, "x"), "1");
    fl_event_free(ev);
}

/* A rule on a tag still matches when the event carries thousands of tags
 * (the lookup goes through the index). */
static void test_many_tags_json_match(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, "policy { name = 't', version = '1' }\n"
                 "rule 'svc' { when = { tags = { service = 'db' } }, category = 'unavailable' }\n");
    size_t cap = 200000, n = 0;
    char *j = malloc(cap);
    n += (size_t)snprintf(j + n, cap - n, "{\"message\":\"m\",\"tags\":{");
    for (int i = 0; i < 10000; i++) n += (size_t)snprintf(j + n, cap - n, "\"t%d\":%d,", i, i);
    n += (size_t)snprintf(j + n, cap - n, "\"service\":\"db\"}}");
    assert_string_equal(flt_rule(&t, j), "svc");
    assert_string_equal(fl_event_get_tag(t.ev, "t9999"), "9999");
    free(j);
    flt_close(&t);
}

/* ---- point 4: templates stop at the length limit ------------------------ */

/* A template repeating a 64 KiB capture 2,000 times asked for 128 MB before
 * the fix; rendering must stop at max_message_len (the scratch buffer stays
 * small) and the message ends in an ellipsis. */
static void test_template_bomb_bounded(void **state)
{
    (void)state;
    size_t reps = 2000, cap = 64 + reps * 5 + 400;
    char *src = malloc(cap);
    size_t n = (size_t)snprintf(src, cap, "policy { name = 't', version = '1' }\n"
                                "rule 'bomb' { when = { message = re[[(?<big>x+)]] }, category = 'internal',"
                                " }\nmessages 'en' { internal = '");
    for (size_t i = 0; i < reps; i++) n += (size_t)snprintf(src + n, cap - n, "{big}");
    snprintf(src + n, cap - n, "' }\n");
    flt t;
    flt_open(&t, src);
    free(src);
    size_t mlen = 64 * 1024;
    char *msg = malloc(mlen + 1);
    memset(msg, 'x', mlen);
    msg[mlen] = '\0';
    assert_int_equal(fl_event_set(t.ev, FL_FIELD_MESSAGE, msg, mlen), FL_OK);
    free(msg);
    assert_int_equal(fl_decide(t.ctx, t.ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "bomb");
    const char *m = fl_decision_message(t.d);
    assert_int_equal(strlen(m), 1024);
    assert_memory_equal(m + 1021, "\xe2\x80\xa6", 3);
    assert_true(t.ctx->scratch.cap < 64 * 1024); /* was >= 128 MB */
    flt_close(&t);
}

/* ---- point 5: Retry-After is capped ---------------------------------------- */

static const char k_ra_policy[] =
    "policy { name = 't', version = '1' }\n"
    "rule 'ra' { when = { op = 'ra' }, category = 'unavailable',"
    "  recovery = retry { backoff = 'constant', base_ms = 100, jitter = 'none', max_delay_ms = 20000 } }\n"
    "rule 'big' { when = { op = 'big' }, category = 'unavailable',"
    "  recovery = retry { backoff = 'constant', base_ms = 100, jitter = 'none', max_delay_ms = 20000,"
    "                     max_retry_after_ms = 3600000 } }\n";

static void test_retry_after_capped(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, k_ra_policy);
    /* delta seconds: three years asked, the cap given, and the decision says so */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"99999999\"}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(fl_decision_delay_ms(t.d), 20000);
    assert_non_null(fl_decision_reason(t.d));
    assert_string_equal(fl_decision_reason(t.d), "retry_after_capped");
    assert_non_null(strstr(fl_decision_to_json(t.d), "\"reason\":\"retry_after_capped\""));
    /* an HTTP-date in year 9999 */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"Fri, 31 Dec 9999 23:59:59 GMT\"}}"),
                     FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 20000);
    assert_string_equal(fl_decision_reason(t.d), "retry_after_capped");
    /* under the cap: honoured, no reason */
    assert_int_equal(flt_decide(&t, "{\"op\":\"ra\",\"tags\":{\"retry_after\":\"15\"}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 15000);
    assert_null(fl_decision_reason(t.d));
    /* opt-in: a larger hard maximum */
    assert_int_equal(flt_decide(&t, "{\"op\":\"big\",\"tags\":{\"retry_after\":\"1800\"}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 1800000);
    assert_null(fl_decision_reason(t.d));
    assert_int_equal(flt_decide(&t, "{\"op\":\"big\",\"tags\":{\"retry_after\":\"99999999\"}}"), FL_OK);
    assert_int_equal(fl_decision_delay_ms(t.d), 3600000);
    assert_string_equal(fl_decision_reason(t.d), "retry_after_capped");
    flt_close(&t);
}

static void test_retry_after_max_validated(void **state)
{
    (void)state;
    fl_diag_t d;
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'unavailable',"
                                     " recovery = retry { max_delay_ms = 5000, max_retry_after_ms = 100 } }\n"
                                     "rule 'y' { when = { op = 'y' }, category = 'internal' }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "max_retry_after_ms"));
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'unavailable',"
                                     " recovery = retry { max_retry_after_ms = 1e12 } }\n", &d),
                     FL_EPOLICY_SCHEMA);
}

/* ---- point 7: float-to-int conversions are validated where values enter --- */

static void test_elapsed_out_of_range(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, "breaker 'b' { key = '{op}' }\n"
                 "rule 'x' { when = { op = 'x' }, category = 'unavailable', breaker = 'b' }\n");
    fl_diag_t d;
    const char *huge = "{\"op\":\"x\",\"elapsed_ms\":1e308}";
    assert_int_equal(fl_event_from_json(t.ev, huge, strlen(huge), &d), FL_EPARSE_TYPE);
    assert_non_null(strstr(d.message, "elapsed_ms"));
    const char *big = "{\"op\":\"x\",\"elapsed_ms\":1e13}";
    assert_int_equal(fl_event_from_json(t.ev, big, strlen(big), &d), FL_EPARSE_TYPE);
    assert_int_equal(fl_event_set_elapsed_ms(t.ev, 1e308), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(t.ev, INFINITY), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(t.ev, NAN), FL_EINVAL);
    assert_int_equal(fl_event_set_elapsed_ms(t.ev, -1), FL_EINVAL);
    /* the largest accepted value decides (and feeds the breaker) cleanly */
    const char *max = "{\"op\":\"x\",\"elapsed_ms\":1e12}";
    assert_int_equal(fl_event_from_json(t.ev, max, strlen(max), &d), FL_OK);
    assert_int_equal(fl_decide(t.ctx, t.ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "x");
    assert_int_equal(fl_event_set_elapsed_ms(t.ev, 1e12), FL_OK);
    assert_int_equal(fl_decide(t.ctx, t.ev, NULL, 0, t.d), FL_OK);
    flt_close(&t);
}

static void test_priority_out_of_range(void **state)
{
    (void)state;
    fl_diag_t d;
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'internal', priority = 1e300 }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "priority"));
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'internal', priority = 0/0 }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'internal', priority = 2.5 }\n", &d),
                     FL_EPOLICY_SCHEMA);
    assert_int_equal(flt_load_status("rule 'x' { when = { op = 'x' }, category = 'internal', priority = -1000000 }\n", &d),
                     FL_OK);
}

/* ---- point 9: one length convention, no length crashes anything ---------- */

static void test_length_convention(void **state)
{
    (void)state;
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    const char *src = "rule 'x' { when = { op = 'x' }, category = 'internal' }\n";
    /* FL_NUL_TERMINATED: strlen (crashed before: len + 1 wrapped to 0) */
    assert_int_equal(fl_engine_load_string(e, "p.lua", src, FL_NUL_TERMINATED, &d), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 1);
    /* other huge lengths: refused before anything is copied */
    assert_int_equal(fl_engine_load_string(e, "p.lua", src, FL_NUL_TERMINATED - 1, &d), FL_ETOOBIG);
    assert_int_equal(d.status, FL_ETOOBIG);
    assert_int_equal(fl_engine_load_string(e, "p.lua", src, (size_t)1 << 40, &d), FL_ETOOBIG);
    fl_engine_free(e);

    fl_event_t *ev;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    const char *j = "{\"message\":\"m\",\"op\":\"o\"}";
    assert_int_equal(fl_event_from_json(ev, j, FL_NUL_TERMINATED, &d), FL_OK);
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "o");
    assert_int_equal(fl_event_from_json(ev, j, FL_NUL_TERMINATED - 1, &d), FL_ETOOBIG);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "abc", FL_NUL_TERMINATED), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "abc", FL_NUL_TERMINATED - 1), FL_ETOOBIG);
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "abc");
    fl_event_free(ev);
}

static void test_write_atomic_huge_len(void **state)
{
    (void)state;
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    const char *roots[] = {dir};
    fl_bindings_options_t bo = {0};
    bo.storage_roots = roots;
    bo.storage_roots_count = 1;
    fl_bindings_t *b;
    assert_int_equal(fl_bindings_new(&bo, &b), FL_OK);
    fl_write_options_t w = {0};
    char path[128];
    snprintf(path, sizeof path, "%s/f", dir);
    w.path = path;
    w.data = "abc";
    w.len = FL_NUL_TERMINATED; /* binary data: no meaning, too big */
    fl_storage_result_t r;
    assert_int_equal(fl_storage_write_atomic(b, &w, &r), FL_ETOOBIG);
    assert_int_equal(access(path, F_OK), -1);
    w.len = 3;
    assert_int_equal(fl_storage_write_atomic(b, &w, &r), FL_OK);
    fl_bindings_free(b);
    flt_rmdir(dir);
}

/* ---- point 10: an empty policy is refused unless declared empty ----------- */

static void test_empty_policy_refused(void **state)
{
    (void)state;
    fl_engine_t *e = flt_engine("rule 'x' { when = { op = 'x' }, category = 'internal' }\n");
    fl_version_info_t before, after;
    assert_int_equal(fl_engine_current(e, &before), FL_OK);
    char id[17];
    snprintf(id, sizeof id, "%s", before.id);
    fl_diag_t d;
    const char *bad[] = {"", "-- just a comment\n", "  \n\n", "policy { name = 'p', version = '2' }\n",
                         "messages 'en' { internal = 'x' }\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(fl_engine_load_string(e, "p.lua", bad[i], strlen(bad[i]), &d), FL_EPOLICY_SCHEMA);
        assert_non_null(strstr(d.message, "no rules and no categories"));
        assert_non_null(strstr(d.message, "empty = true"));
        assert_int_equal(fl_engine_current(e, &after), FL_OK);
        assert_string_equal(after.id, id); /* the serving version stays */
        assert_int_equal(after.rules, 1);
    }
    /* declared empty on purpose: loads */
    const char *ok = "policy { name = 'p', version = '3', empty = true }\n";
    assert_int_equal(fl_engine_load_string(e, "p.lua", ok, strlen(ok), &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &after), FL_OK);
    assert_int_equal(after.rules, 0);
    const char *wrong = "policy { empty = 'yes' }\n";
    assert_int_equal(fl_engine_load_string(e, "p.lua", wrong, strlen(wrong), &d), FL_EPOLICY_SCHEMA);
    /* categories alone are a policy */
    const char *cats = "category 'unavailable' { severity = 'warning' }\n";
    assert_int_equal(fl_engine_load_string(e, "p.lua", cats, strlen(cats), &d), FL_OK);
    fl_engine_free(e);

    /* a directory whose only file was truncated: fl_engine_check refuses too */
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "a.lua", "");
    e = flt_engine(NULL);
    assert_int_equal(fl_engine_check(e, dir, &d), FL_EPOLICY_SCHEMA);
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EPOLICY_SCHEMA);
    fl_engine_free(e);
    flt_rmdir(dir);
}

/* ---- point 11: examples run against fresh, isolated resilience state ------ */

static void test_examples_isolated_from_production(void **state)
{
    (void)state;
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    char src[1024];
    for (int i = 0; i < 4; i++) { /* each load differs (version), so each runs its examples */
        snprintf(src, sizeof src,
                 "policy { name = 'p', version = '%d' }\n"
                 "breaker 'b' { key = '{op}', min_calls = 3, failure_rate = 0.5, open_ms = 600000 }\n"
                 "rule 'down' { when = { op = 'x' }, category = 'unavailable', breaker = 'b',"
                 "  recovery = retry { max_attempts = 5 } }\n"
                 "example 'one' { event = { op = 'x' }, expect = { action = 'retry' } }\n"
                 "example 'two' { event = { op = 'x' }, expect = { action = 'retry' } }\n", i);
        int rc = fl_engine_load_string(e, "p.lua", src, strlen(src), &d);
        if (rc != FL_OK) print_error("load %d: %s\n", i, d.message);
        assert_int_equal(rc, FL_OK);
        fl_breaker_stats_t bs;
        assert_int_equal(fl_breaker_stats(fl_engine_resil(e), "b", "x", &bs), FL_OK);
        assert_int_equal(bs.calls, 0); /* production never saw the examples */
        assert_int_equal(bs.state, FL_BREAKER_CLOSED);
    }
    /* production state is used by real decisions, and survives reloads */
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *dec;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&dec), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "x", FL_NUL_TERMINATED), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, dec), FL_OK);
    fl_breaker_stats_t bs;
    assert_int_equal(fl_breaker_stats(fl_engine_resil(e), "b", "x", &bs), FL_OK);
    assert_int_equal(bs.calls, 1);
    assert_int_equal(fl_decision_action(dec), FL_ACTION_RETRY);
    fl_decision_free(dec);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

/* ---- point 13: smaller contract holes ------------------------------------- */

static void test_unknown_event_keys(void **state)
{
    (void)state;
    fl_event_t *ev;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    fl_diag_t d;
    const char *typo = "{\"mesage\":\"connection refused\",\"op\":\"x\"}";
    /* default: read, with a warning naming the key */
    assert_int_equal(fl_event_from_json(ev, typo, strlen(typo), &d), FL_OK);
    assert_int_equal(d.status, FL_OK);
    assert_non_null(strstr(d.message, "'mesage'"));
    assert_string_equal(fl_event_get(ev, FL_FIELD_OP), "x");
    /* strict: an error naming the key, the event left reset */
    assert_int_equal(fl_event_parse(ev, typo, strlen(typo), FL_EVENT_STRICT, &d), FL_EPARSE_KEY);
    assert_int_equal(d.status, FL_EPARSE_KEY);
    assert_non_null(strstr(d.message, "'mesage'"));
    assert_null(fl_event_get(ev, FL_FIELD_OP));
    /* in a cause too */
    const char *nested = "{\"message\":\"m\",\"cause\":{\"message\":\"c\",\"cod\":5}}";
    assert_int_equal(fl_event_parse(ev, nested, strlen(nested), FL_EVENT_STRICT, &d), FL_EPARSE_KEY);
    assert_non_null(strstr(d.message, "'cause.cod'"));
    /* a clean event: no warning, strict or not */
    const char *clean = "{\"id\":\"a\",\"time\":\"2026-01-01T00:00:00Z\",\"domain\":\"http\",\"code\":503,"
                        "\"message\":\"m\",\"op\":\"o\",\"attempt\":2,\"elapsed_ms\":5,\"tags\":{\"a\":1},"
                        "\"stack\":\"s\",\"cause\":{\"message\":\"c\"}}";
    assert_int_equal(fl_event_parse(ev, clean, strlen(clean), FL_EVENT_STRICT, &d), FL_OK);
    assert_string_equal(d.message, "");
    assert_int_equal(fl_event_from_json(ev, clean, strlen(clean), &d), FL_OK);
    assert_string_equal(d.message, "");
    assert_int_equal(fl_event_parse(ev, clean, strlen(clean), 0x80, &d), FL_EINVAL);
    assert_string_equal(fl_strerror(FL_EPARSE_KEY), "FL_EPARSE_KEY: unknown key");
    fl_event_free(ev);
}

static void test_eval_strict_cli(void **state)
{
    (void)state;
    char dir[64], cmd[1024], out[4096];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "p.lua", "rule 'x' { when = { op = 'x' }, category = 'internal' }\n");
    flt_write(dir, "in.jsonl", "{\"mesage\":\"m\",\"op\":\"x\"}\n");
    for (int strict = 0; strict < 2; strict++) {
        snprintf(cmd, sizeof cmd, "%s/faultline eval -p %s --no-progress %s %s/in.jsonl", FL_BINARY_DIR, dir,
                 strict ? "--strict" : "", dir);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        int st = pclose(p);
        if (strict) {
            assert_int_not_equal(st, 0);
            assert_non_null(strstr(out, "FL_EPARSE_KEY"));
            assert_non_null(strstr(out, "mesage"));
        } else {
            assert_int_equal(st, 0);
            assert_non_null(strstr(out, "\"rule\":\"x\""));
        }
    }
    flt_rmdir(dir);
}

static void test_small_contract_holes(void **state)
{
    (void)state;
    assert_string_equal(fl_action_name((fl_action)99), "?");
    assert_string_equal(fl_action_name(FL_ACTION_FAIL), "fail");
    /* embedded NUL refused: the accessor could not return it */
    fl_event_t *ev;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "ok", 2), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_MESSAGE, "ab\0cd", 5), FL_EINVAL);
    assert_string_equal(fl_event_get(ev, FL_FIELD_MESSAGE), "ok");
    fl_event_free(ev);

    /* versions: an id listed once */
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    const char *a = "policy { version = 'a' }\nrule 'x' { category = 'internal' }\n";
    const char *b = "policy { version = 'b' }\nrule 'x' { category = 'internal' }\n";
    assert_int_equal(fl_engine_load_string(e, "p.lua", a, strlen(a), &d), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "p.lua", b, strlen(b), &d), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "p.lua", a, strlen(a), &d), FL_OK);
    fl_version_info_t vs[8];
    size_t n = 0;
    assert_int_equal(fl_engine_versions(e, vs, 8, &n), FL_OK);
    assert_int_equal(n, 2);
    assert_string_not_equal(vs[0].id, vs[1].id);
    assert_string_equal(vs[0].version, "a");
    assert_int_equal(vs[0].current, 1);

    /* fl_engine_current's strings survive the version being dropped */
    fl_engine_options_t o = {0};
    o.versions_kept = 1;
    fl_engine_t *e1 = flt_engine_opts(a, &o);
    fl_version_info_t cur;
    assert_int_equal(fl_engine_current(e1, &cur), FL_OK);
    char id[17];
    snprintf(id, sizeof id, "%s", cur.id);
    assert_int_equal(fl_engine_load_string(e1, "p.lua", b, strlen(b), &d), FL_OK); /* frees version a */
    assert_string_equal(cur.id, id); /* ASan: no use after free */
    assert_string_equal(cur.version, "a");
    assert_string_equal(cur.source, "test.lua");
    fl_engine_free(e1);
    fl_engine_free(e);
}

/* ---- point 12: lifetimes and misuse ----------------------------------------- */

/* Freeing the engine before its context (or while a watch runs) is not a use
 * after free: the context and the watch hold references (run under ASan). */
static void test_engine_outlives_ctx_and_watch(void **state)
{
    (void)state;
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "p.lua", "rule 'x' { when = { op = 'x' }, category = 'unavailable' }\n");
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    fl_ctx_t *ctx;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    fl_watch_t *w;
    fl_watch_options_t wo = {0};
    wo.debounce_ms = 10;
    assert_int_equal(fl_watch_start(e, dir, &wo, &w), FL_OK);
    fl_engine_free(e); /* the host's reference: ctx and watch keep it alive */
    fl_event_t *ev;
    fl_decision_t *dec;
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&dec), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "x", FL_NUL_TERMINATED), FL_OK);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, dec), FL_OK);
    assert_string_equal(fl_decision_rule(dec), "x");
    /* the watch still reloads the (living) engine */
    flt_write(dir, "p.lua", "rule 'y' { when = { op = 'x' }, category = 'unavailable' }\n");
    assert_int_equal(fl_watch_trigger(w), FL_OK);
    for (int i = 0; i < 3000 && strcmp(fl_decision_rule(dec), "y") != 0; i++) { /* up to 30 s on a busy machine */
        usleep(10000);
        assert_int_equal(fl_decide(ctx, ev, NULL, 0, dec), FL_OK);
    }
    assert_string_equal(fl_decision_rule(dec), "y");
    fl_watch_stop(w);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, dec), FL_OK);
    fl_ctx_free(ctx); /* the last reference: the engine goes here */
    fl_decision_free(dec);
    fl_event_free(ev);
    flt_rmdir(dir);
}

struct misuse {
    fl_ctx_t *ctx;
    atomic_int slow_done;
    int slow_rc;
    long misuse_seen;
    long ok_seen;
};

static void *slow_decider(void *arg)
{
    struct misuse *m = arg;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_event_new(&ev);
    fl_decision_new(&d);
    fl_event_set(ev, FL_FIELD_OP, "slow", FL_NUL_TERMINATED);
    int rc;
    while ((rc = fl_decide(m->ctx, ev, NULL, 0, d)) == FL_EMISUSE) {
    }
    m->slow_rc = rc;
    if (rc == FL_OK && strcmp(fl_decision_rule(d), "slow") != 0) m->slow_rc = -1000;
    atomic_store(&m->slow_done, 1);
    fl_decision_free(d);
    fl_event_free(ev);
    return NULL;
}

/* One ctx used by two threads at once: the second gets FL_EMISUSE, and
 * neither decision is corrupted. */
static void test_ctx_concurrent_use_is_misuse(void **state)
{
    (void)state;
    fl_engine_options_t o = {0};
    o.handler_budget_us = 30000000; /* the slow handler must not hit its budget, even on a busy machine */
    flt t;
    flt_open_opts(&t, "rule 'slow' { when = { op = 'slow' }, category = 'unavailable',"
                      "  handler = function(ev, d) local x = 0 for i = 1, 3000000 do x = x + i end return nil end }\n"
                      "rule 'fast' { when = { op = 'fast' }, category = 'internal' }\n", &o);
    struct misuse m = {.ctx = t.ctx};
    atomic_init(&m.slow_done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, slow_decider, &m), 0);
    assert_int_equal(fl_event_set(t.ev, FL_FIELD_OP, "fast", FL_NUL_TERMINATED), FL_OK);
    while (!atomic_load(&m.slow_done)) {
        int rc = fl_decide(t.ctx, t.ev, NULL, 0, t.d);
        if (rc == FL_EMISUSE) m.misuse_seen++;
        else {
            assert_int_equal(rc, FL_OK);
            assert_string_equal(fl_decision_rule(t.d), "fast");
            m.ok_seen++;
        }
        sched_yield(); /* let the slow thread in */
    }
    pthread_join(th, NULL);
    if (m.slow_rc != FL_OK) print_error("slow decision: %d %s\n", m.slow_rc, fl_strerror(m.slow_rc));
    assert_int_equal(m.slow_rc, FL_OK);
    assert_true(m.misuse_seen > 0);
    /* the ctx is usable again afterwards */
    assert_int_equal(fl_decide(t.ctx, t.ev, NULL, 0, t.d), FL_OK);
    assert_string_equal(fl_decision_rule(t.d), "fast");
    flt_close(&t);
}

/* ---- point 3: the one-pass reader agrees with the full reader --------------- */

static void expect_same_event(const fl_event_t *a, const fl_event_t *b)
{
    for (;;) {
        if (!a || !b) {
            assert_true(!a && !b);
            return;
        }
        for (int f = 0; f < FL_FIELD_COUNT_; f++) {
            const char *x = fl_event_get(a, (fl_field)f), *y = fl_event_get(b, (fl_field)f);
            assert_true((x == NULL) == (y == NULL));
            if (x) {
                assert_int_equal(a->len[f], b->len[f]);
                assert_memory_equal(x, y, a->len[f]);
            }
        }
        assert_int_equal(a->attempt, b->attempt);
        assert_int_equal(a->has_elapsed, b->has_elapsed);
        assert_true(a->elapsed_ms == b->elapsed_ms);
        assert_int_equal(a->ntags, b->ntags);
        for (uint32_t i = 0; i < a->ntags; i++) {
            const fl_tag *s = &a->tags[i], *t = &b->tags[i];
            assert_int_equal(s->key_len, t->key_len);
            assert_int_equal(s->val_len, t->val_len);
            assert_memory_equal(a->arena.data + s->key_off, b->arena.data + t->key_off, s->key_len);
            assert_memory_equal(a->arena.data + s->val_off, b->arena.data + t->val_off, s->val_len);
        }
        a = a->cause;
        b = b->cause;
    }
}

/* Differential check of one text: whenever the fast path accepts it, the
 * full (jansson) reader accepts it too, with no unknown key, and builds the
 * same event.  Returns 1 when the fast path accepted it. */
static int differential(const char *text, size_t len)
{
    fl_event_t *fast, *full;
    assert_int_equal(fl_event_new(&fast), FL_OK);
    assert_int_equal(fl_event_new(&full), FL_OK);
    int fast_ok = len <= FL_MAX_EVENT_BYTES && fl_event_fast_json(fast, text, len) == FL_OK;
    if (fast_ok) {
        json_error_t err;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        if (!root) print_error("fast path accepted what jansson refuses: %.*s (%s)\n", (int)len, text, err.text);
        assert_non_null(root);
        fl_diag_t d;
        int rc = fl_event_from_jvalue(full, root, 0, &d);
        if (rc != FL_OK) print_error("fast path accepted %.*s; full reader: %s\n", (int)len, text, d.message);
        assert_int_equal(rc, FL_OK);
        json_decref(root);
        expect_same_event(fast, full);
        /* and the public reader (fast path + fallback) reports no warning */
        assert_int_equal(fl_event_parse(full, text, len, FL_EVENT_STRICT, &d), FL_OK);
    }
    fl_event_free(fast);
    fl_event_free(full);
    return fast_ok;
}

static void test_fast_reader_agrees(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "{}",
        " {\"message\":\"m\"} \n",
        "{\"id\":\"a\",\"time\":\"2026-01-01T00:00:00.5+01:00\",\"domain\":\"HTTP\",\"code\":503,\"message\":\"x\","
        "\"op\":\"o\",\"attempt\":2,\"elapsed_ms\":12.5,\"stack\":\"s\",\"tags\":{\"a\":1,\"b\":-2.5,\"c\":true,"
        "\"d\":false,\"e\":null,\"f\":\"str\",\"g\":1e3,\"\":\"empty key\"},\"cause\":{\"code\":\"x\",\"cause\":"
        "{\"message\":\"deep\"}}}",
        "{\"code\":404.0,\"attempt\":3.0,\"elapsed_ms\":0}",
        "{\"code\":-0,\"tags\":{\"n\":-0.0,\"m\":0.1,\"big\":123456789012345678}}",
        "{\"message\":\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20ac \\ud83d\\ude00 caf\xc3\xa9\"}",
        "{\"id\":null,\"code\":null,\"attempt\":null,\"elapsed_ms\":null,\"tags\":null,\"cause\":null}",
        "{\"message\":\"m\",\"elapsed_ms\":1e12}",
    };
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
        if (!differential(valid[i], strlen(valid[i]))) print_error("fast path refused valid event %zu\n", i);
        assert_true(differential(valid[i], strlen(valid[i])));
    }
    /* Texts the fast path must leave to the full reader (which names the error). */
    static const char *const refused[] = {
        "", "[]", "{", "{\"message\":\"m\"", "{\"message\":\"m\",}", "{\"mesage\":\"m\"}",
        "{\"message\":\"m\",\"message\":\"n\"}", "{\"tags\":{\"a\":1,\"a\":2}}", "{\"message\":\"a\\u0000b\"}",
        "{\"message\":\"\\ud800\"}", "{\"message\":\"\\udc00x\"}", "{\"message\":\"bad \xff\"}",
        "{\"message\":\"ctl \x01\"}", "{\"code\":1.5}", "{\"code\":true}", "{\"attempt\":0}", "{\"attempt\":\"2\"}",
        "{\"attempt\":1.5}", "{\"elapsed_ms\":-1}", "{\"elapsed_ms\":1e13}", "{\"time\":\"yesterday\"}",
        "{\"tags\":{\"a\":[1]}}", "{\"tags\":{\"a\":{}}}", "{\"tags\":[]}", "{\"message\":1}", "{\"code\":01}",
        "{\"code\":1e999}", "{\"code\":12345678901234567890}", "{} x", "{\"message\":\"m\"}}", "nul",
        "{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{\"cause\":{}}}}}}}}}}",
        "{\"message\":tru}", "{\"message\" \"m\"}", "{\"a\\u0000\":1}",
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        fl_event_t *ev;
        assert_int_equal(fl_event_new(&ev), FL_OK);
        if (fl_event_fast_json(ev, refused[i], strlen(refused[i])) == FL_OK)
            print_error("fast path accepted %s\n", refused[i]);
        assert_int_not_equal(fl_event_fast_json(ev, refused[i], strlen(refused[i])), FL_OK);
        fl_event_free(ev);
    }
    /* Mutations of the fuzz seeds: wherever the fast path says yes, the full
     * reader says the same. */
    char path[512];
    snprintf(path, sizeof path, "ls %s/tests/fuzz/corpus/event/*.json", FL_SOURCE_DIR);
    FILE *ls = popen(path, "r");
    assert_non_null(ls);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    int files = 0, accepted = 0;
    while (fgets(path, sizeof path, ls)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        json_t *seed = json_loadb(buf, n, 0, NULL); /* corpus records wrap the event */
        json_t *inner = seed ? json_object_get(seed, "event") : NULL;
        char *text = inner ? json_dumps(inner, files % 2 ? JSON_COMPACT : JSON_INDENT(2)) : NULL;
        if (text && strlen(text) < sizeof buf) {
            n = strlen(text);
            memcpy(buf, text, n);
        }
        free(text);
        json_decref(seed);
        files++;
        accepted += differential(buf, n);
        for (int m = 0; m < 300; m++) {
            char mut[65536];
            memcpy(mut, buf, n);
            for (int k = 0; k < 1 + m % 3; k++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                size_t at = n ? (size_t)(rng % n) : 0;
                static const char pool[] = "{}[]\":,\\u0123456789.eE-+ntfabc \xc3\xa9\xff";
                if (n) mut[at] = pool[(rng >> 32) % (sizeof pool - 1)];
            }
            differential(mut, n);
        }
    }
    pclose(ls);
    assert_true(files > 10);
    assert_true(accepted > files / 2); /* the fast path really serves real events */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_tags_later_wins),
        cmocka_unit_test(test_many_tags_json_match),
        cmocka_unit_test(test_fast_reader_agrees),
        cmocka_unit_test(test_template_bomb_bounded),
        cmocka_unit_test(test_retry_after_capped),
        cmocka_unit_test(test_retry_after_max_validated),
        cmocka_unit_test(test_elapsed_out_of_range),
        cmocka_unit_test(test_priority_out_of_range),
        cmocka_unit_test(test_length_convention),
        cmocka_unit_test(test_write_atomic_huge_len),
        cmocka_unit_test(test_empty_policy_refused),
        cmocka_unit_test(test_examples_isolated_from_production),
        cmocka_unit_test(test_unknown_event_keys),
        cmocka_unit_test(test_eval_strict_cli),
        cmocka_unit_test(test_small_contract_holes),
        cmocka_unit_test(test_engine_outlives_ctx_and_watch),
        cmocka_unit_test(test_ctx_concurrent_use_is_misuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
