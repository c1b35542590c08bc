/*
 * test_pipeline.c -- engine-driven execution (fl_pipeline_*) and the decision
 * accessors: each finding of the embedding trial (issue 12) has a test here.
 *   - breakers see successes, not only failures;
 *   - a guard on the rule's own breaker does not count a failure twice, and
 *     neither does fl_call with FL_DECIDE_NO_RECORD;
 *   - the attempt reports an event; the decided delays are slept, params
 *     reach the next attempt, the fallback value comes back, ignore is a
 *     success, fail returns the final decision;
 *   - reason, explain, problem, policy name / declared version / content id;
 *   - faultline_retries_total counts each call that wanted a retry once.
 * The engine's registry runs on a fake clock: waits advance it.
 */
#include <stdatomic.h>
#include <uv.h>

#include "flt.h"

typedef struct fclock {
    _Atomic int64_t now, slept;
    _Atomic int reads;
} fclock;

static int64_t fc_now(void *u)
{
    atomic_fetch_add(&((fclock *)u)->reads, 1);
    return atomic_load(&((fclock *)u)->now);
}
static void fc_sleep(void *u, int64_t ns)
{
    atomic_fetch_add(&((fclock *)u)->now, ns);
    atomic_fetch_add(&((fclock *)u)->slept, ns);
}

static const char k_policy[] =
    "policy { name = \"pipe\", version = \"2.3.4\" }\n"
    "category \"unavailable\" { retryable = true, recovery = retry { backoff = \"constant\", base_ms = 200,"
    " jitter = \"none\", max_attempts = 3 } }\n"
    "category \"permission_denied\" { recovery = fail() }\n"
    "category \"not_found\" { recovery = fallback({ cached = true }) }\n"
    "category \"cancelled\" { recovery = ignore() }\n"
    "breaker \"up\" { key = \"{tags.service}\", failure_rate = 0.5, min_calls = 6, open_ms = 60000 }\n"
    "rule \"refused\" { when = { message = re[[(?i)connection refused]] }, category = \"unavailable\","
    " breaker = \"up\", params = { timeout_ms = 500 } }\n"
    "rule \"denied\" { when = { message = re[[(?i)permission denied]] }, category = \"permission_denied\" }\n"
    "rule \"gone\" { when = { message = re[[(?i)no such]] }, category = \"not_found\" }\n"
    "rule \"stop\" { when = { message = re[[(?i)stopped]] }, category = \"cancelled\" }\n"
    "messages \"en\" { unavailable = \"Try again.\", permission_denied = \"You may not.\" }\n";

typedef struct world {
    fclock clk;
    flt t;
} world;

static void open_world(world *w, const char *src)
{
    fl_resil_options_t ro = {0};
    fl_engine_options_t eo = {0};
    atomic_store(&w->clk.now, 1000ll * 1000000000);
    atomic_store(&w->clk.slept, 0);
    ro.clock = fc_now;
    ro.clock_user = &w->clk;
    ro.sleep = fc_sleep;
    ro.sleep_user = &w->clk;
    eo.resil = &ro; /* copied: may go out of scope */
    flt_open_opts(&w->t, src, &eo);
}

/* An attempt script: fail with scripted messages, then succeed. */
typedef struct script {
    const char *fail[8];
    int nfail, calls;
    char params_seen[8][64];
} script;

static int scripted(void *user, const fl_attempt_info_t *a, fl_event_t *ev)
{
    script *s = user;
    snprintf(s->params_seen[s->calls % 8], 64, "%s", a->params ? a->params : "");
    s->calls++;
    if (s->calls > s->nfail)
        return 0;
    const char *m = s->fail[s->calls - 1];
    fl_event_set(ev, FL_FIELD_MESSAGE, m, strlen(m));
    fl_event_set_tag(ev, "service", "db");
    return 1;
}

static fl_pipeline_t *pipe_new(world *w, const fl_pipeline_config_t *c)
{
    fl_pipeline_t *p = NULL;
    fl_diag_t d;
    assert_int_equal(fl_pipeline_new(w->t.e, c, &p, &d), FL_OK);
    return p;
}

static void run(world *w, fl_pipeline_t *p, const char *key, script *s, fl_pipeline_result_t *res)
{
    assert_int_equal(fl_pipeline_call(p, w->t.ctx, w->t.ev, key, scripted, s, NULL, w->t.d, res), FL_OK);
}

static void test_retry_then_success(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    c.op = "db.query";
    fl_pipeline_t *p = pipe_new(&w, &c);
    script s = {{"connect: Connection refused", "Connection refused"}, 2, 0, {{0}}};
    fl_pipeline_result_t res;
    run(&w, p, NULL, &s, &res);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(res.attempts, 3);
    assert_int_equal(s.calls, 3);
    /* two decided delays of 200 ms, slept on the registry's clock */
    assert_int_equal(atomic_load(&w.clk.slept), 400ll * 1000000);
    /* the decision's params reach the next attempt */
    assert_string_equal(s.params_seen[0], "");
    assert_string_equal(s.params_seen[1], "{\"timeout_ms\":500}");
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* faultline_retries_total{result="..."} in the engine's metrics. */
static long long retries(world *w, const char *result)
{
    char buf[32768], series[96];
    size_t len;
    assert_int_equal(fl_engine_metrics(w->t.e, buf, sizeof buf, &len), FL_OK);
    int n = snprintf(series, sizeof series, "faultline_retries_total{result=\"%s\"} ", result);
    const char *at = strstr(buf, series);
    assert_non_null(at);
    return atoll(at + n);
}

/* Each call that wanted a retry is counted once, by how it ended. */
static void test_retries_counted(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    c.op = "db.query";
    fl_pipeline_t *p = pipe_new(&w, &c);
    fl_pipeline_result_t res;
    fl_resil_t *r = fl_engine_resil(w.t.e);
    /* each call starts on a closed breaker "up" (the rule's): empty window */
    assert_int_equal(fl_breaker_set_state(r, "up", NULL, FL_BREAKER_CLOSED), FL_OK);
    script ok = {{"Connection refused"}, 1, 0, {{0}}};
    run(&w, p, NULL, &ok, &res); /* one retry, then success */
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(fl_breaker_set_state(r, "up", NULL, FL_BREAKER_CLOSED), FL_OK);
    script out = {{"Connection refused", "Connection refused", "Connection refused"}, 3, 0, {{0}}};
    run(&w, p, NULL, &out, &res); /* the policy's max_attempts */
    assert_string_equal(res.reason, "attempts_exhausted");
    assert_int_equal(fl_breaker_set_state(r, "up", NULL, FL_BREAKER_CLOSED), FL_OK);
    script denied = {{"Permission denied"}, 1, 0, {{0}}};
    run(&w, p, NULL, &denied, &res); /* never wanted a retry: not counted */
    assert_int_equal(fl_breaker_set_state(r, "up", NULL, FL_BREAKER_CLOSED), FL_OK);
    script mixed = {{"Connection refused", "Permission denied"}, 2, 0, {{0}}};
    run(&w, p, NULL, &mixed, &res); /* retried, then failed otherwise */
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(fl_breaker_set_state(r, "up", NULL, FL_BREAKER_FORCED_OPEN), FL_OK);
    script open = {{"Connection refused"}, 1, 0, {{0}}};
    run(&w, p, NULL, &open, &res); /* fl_decide refuses the retry: breaker */
    assert_string_equal(res.reason, "breaker_open");
    assert_int_equal(retries(&w, "success"), 1);
    assert_int_equal(retries(&w, "exhausted"), 1);
    assert_int_equal(retries(&w, "failed"), 1);
    assert_int_equal(retries(&w, "breaker"), 1);
    assert_int_equal(retries(&w, "budget"), 0);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* Issue 13: a first attempt's success through a guard reads the clock once
 * (the guard's breaker has no slow-call rule; no deadline; no breaker
 * learned yet), as guard-only fl_call does. */
static void test_success_reads_clock_once(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    c.guard.breaker = "up";
    fl_pipeline_t *p = pipe_new(&w, &c);
    script s = {{NULL}, 0, 0, {{0}}};
    fl_pipeline_result_t res;
    atomic_store(&w.clk.reads, 0);
    run(&w, p, "db", &s, &res);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(atomic_load(&w.clk.reads), 1);
    assert_int_equal(res.elapsed_ns, 0);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

static void test_fail_returns_final_decision(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    c.op = "files.read";
    fl_pipeline_t *p = pipe_new(&w, &c);
    script s = {{"open: Permission denied"}, 1, 0, {{0}}};
    fl_pipeline_result_t res;
    run(&w, p, NULL, &s, &res);
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(res.attempts, 1);
    assert_string_equal(res.category, "permission_denied");
    assert_string_equal(res.reason, "not_retryable");
    assert_string_equal(fl_decision_message(w.t.d), "You may not.");
    assert_string_equal(fl_event_get(w.t.ev, FL_FIELD_OP), "files.read");
    assert_int_equal(atomic_load(&w.clk.slept), 0);

    /* attempts run out: the reason says so */
    script s2 = {{"Connection refused", "Connection refused", "Connection refused"}, 3, 0, {{0}}};
    run(&w, p, NULL, &s2, &res);
    assert_int_equal(res.outcome, FL_CALL_FAILED);
    assert_int_equal(res.attempts, 3);
    assert_string_equal(res.reason, "attempts_exhausted");
    assert_string_equal(fl_decision_reason(w.t.d), "attempts_exhausted");
    fl_pipeline_free(p);
    flt_close(&w.t);
}

static void test_fallback_and_ignore(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    fl_pipeline_t *p = pipe_new(&w, &c);
    script s = {{"No such file"}, 1, 0, {{0}}};
    fl_pipeline_result_t res;
    run(&w, p, "k", &s, &res);
    assert_int_equal(res.outcome, FL_CALL_FALLBACK);
    assert_non_null(res.fallback_json);
    assert_string_equal(res.fallback_json, "{\"cached\":true}");
    script s2 = {{"job stopped"}, 1, 0, {{0}}};
    run(&w, p, "k", &s2, &res);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    assert_string_equal(res.reason, "ignored");
    assert_int_equal(res.attempts, 1);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* Finding 1: fl_decide alone feeds the breaker failures only, so it opens on
 * the sixth failure however many calls succeeded. */
static void test_breaker_sees_successes(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_resil_t *r = fl_engine_resil(w.t.e);
    fl_pipeline_config_t c = {0};
    c.max_attempts = 1; /* one attempt per call: count outcomes simply */
    fl_pipeline_t *p = pipe_new(&w, &c);
    fl_pipeline_result_t res;
    script f = {{"Connection refused"}, 1, 0, {{0}}};
    run(&w, p, "db", &f, &res); /* teaches the pipeline: calls "db" report to up/db */
    for (int i = 0; i < 10; i++) {
        script ok = {{0}, 0, 0, {{0}}};
        run(&w, p, "db", &ok, &res);
        assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    }
    for (int i = 0; i < 5; i++) {
        script bad = {{"Connection refused"}, 1, 0, {{0}}};
        run(&w, p, "db", &bad, &res);
    }
    fl_breaker_stats_t bs;
    assert_int_equal(fl_breaker_stats(r, "up", "db", &bs), FL_OK);
    assert_int_equal(bs.failures, 6);
    assert_int_equal(bs.calls, 16);
    assert_int_equal(bs.state, FL_BREAKER_CLOSED); /* 6 of 16 < 50% */
    /* a different call key does not feed that breaker with its successes */
    script ok = {{0}, 0, 0, {{0}}};
    run(&w, p, "other", &ok, &res);
    assert_int_equal(fl_breaker_stats(r, "up", "db", &bs), FL_OK);
    assert_int_equal(bs.calls, 16);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* Finding 2: the same breaker as guard and as the rule's breaker counted each
 * failed attempt twice. */
static void test_guard_no_double_count(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_resil_t *r = fl_engine_resil(w.t.e);
    fl_pipeline_config_t c = {0};
    c.guard.breaker = "up";
    fl_pipeline_t *p = pipe_new(&w, &c);
    fl_pipeline_result_t res;
    script s = {{"Connection refused", "Connection refused"}, 2, 0, {{0}}};
    run(&w, p, "db", &s, &res);
    assert_int_equal(res.outcome, FL_CALL_SUCCEEDED);
    fl_breaker_stats_t bs;
    assert_int_equal(fl_breaker_stats(r, "up", "db", &bs), FL_OK);
    assert_int_equal(bs.failures, 2);
    assert_int_equal(bs.calls, 3);
    /* a first-attempt success through the guard counts once */
    script ok = {{0}, 0, 0, {{0}}};
    run(&w, p, "db", &ok, &res);
    assert_int_equal(fl_breaker_stats(r, "up", "db", &bs), FL_OK);
    assert_int_equal(bs.calls, 4);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* Guard-only fl_call whose decide callback asks the engine with
 * FL_DECIDE_NO_RECORD: one failure per failed attempt. */
typedef struct gctx {
    world *w;
} gctx;

static int decide_cb(void *user, const fl_attempt_info_t *a, const fl_outcome_t *o, fl_verdict_t *v)
{
    gctx *g = user;
    fl_event_reset(g->w->t.ev);
    fl_event_set(g->w->t.ev, FL_FIELD_MESSAGE, o->message, strlen(o->message));
    fl_event_set_tag(g->w->t.ev, "service", "db");
    fl_event_set_attempt(g->w->t.ev, a->attempt);
    fl_decide(g->w->t.ctx, g->w->t.ev, NULL, FL_DECIDE_NO_RECORD, g->w->t.d);
    v->action = fl_decision_action(g->w->t.d);
    v->delay_ms = fl_decision_delay_ms(g->w->t.d);
    return FL_OK;
}

static void refused_attempt(void *user, const fl_attempt_info_t *a, fl_outcome_t *out)
{
    (void)user;
    (void)a;
    out->category = "unavailable";
    out->message = "Connection refused";
}

static void test_call_no_record(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_resil_t *r = fl_engine_resil(w.t.e);
    gctx g = {&w};
    fl_exec_config_t ec = {0};
    ec.guard.breaker = "up";
    ec.max_attempts = 2;
    ec.decide = decide_cb;
    ec.decide_user = &g;
    fl_exec_t *ex = NULL;
    fl_diag_t d;
    assert_int_equal(fl_exec_new(r, &ec, &ex, &d), FL_OK);
    fl_call_result_t res;
    assert_int_equal(fl_call(ex, "db", refused_attempt, NULL, NULL, &res), FL_OK);
    assert_int_equal(res.attempts, 2);
    fl_breaker_stats_t bs;
    assert_int_equal(fl_breaker_stats(r, "up", "db", &bs), FL_OK);
    assert_int_equal(bs.failures, 2);
    fl_exec_free(ex);
    flt_close(&w.t);
}

/* Finding 5: accessors for every decision field. */
static void test_accessors(void **st)
{
    (void)st;
    flt t;
    flt_open(&t, k_policy);
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"Connection refused\",\"tags\":{\"service\":\"db\"}}",
                                    NULL, FL_DECIDE_EXPLAIN), FL_OK);
    assert_string_equal(fl_decision_policy_name(t.d), "pipe");
    assert_string_equal(fl_decision_policy_declared_version(t.d), "2.3.4");
    assert_int_equal(strlen(fl_decision_policy_content_id(t.d)), 16);
    assert_string_equal(fl_decision_policy_content_id(t.d), fl_decision_policy_version(t.d));
    assert_string_equal(fl_decision_breaker_name(t.d), "up");
    assert_string_equal(fl_decision_breaker_key(t.d), "db");
    assert_null(fl_decision_retry_budget_name(t.d));
    assert_null(fl_decision_reason(t.d));
    assert_non_null(strstr(fl_decision_explain_json(t.d), "\"tried\""));
    assert_string_equal(fl_decision_problem_type(t.d), "about:blank#unavailable");
    assert_non_null(fl_decision_problem_title(t.d));
    assert_int_equal(fl_decision_problem_status(t.d), 503);
    assert_null(fl_decision_effects_json(t.d));
    assert_null(fl_decision_error_kind(t.d));
    assert_int_equal(flt_decide(&t, "{\"message\":\"Connection refused\",\"attempt\":3}"), FL_OK);
    assert_string_equal(fl_decision_reason(t.d), "attempts_exhausted");
    assert_null(fl_decision_explain_json(t.d));
    assert_int_equal(fl_decision_problem_status(NULL), 500);
    assert_null(fl_decision_reason(NULL));
    flt_close(&t);
}

/* Finding 4: after attempts run out or a breaker opens, the category's retry
 * message rendered "Nouvel essai dans  s.".  Messages by outcome. */
static const char k_msgs[] =
    "category \"unavailable\" { retryable = true, recovery = retry { backoff = \"constant\", base_ms = 50,"
    " jitter = \"none\", max_attempts = 2 } }\n"
    "category \"not_found\" { recovery = fallback(0) }\n"
    "rule \"refused\" { when = { message = re[[refused]] }, category = \"unavailable.connection_refused\" }\n"
    "rule \"gone\" { when = { message = re[[gone]] }, category = \"not_found\" }\n"
    "messages \"en\" { unavailable = \"Retrying in {delay_s} s.\",\n"
    "  [\"unavailable.attempts_exhausted\"] = \"Gave up after {attempt} attempts.\",\n"
    "  [\"not_found.fallback\"] = \"Showing a saved copy.\", not_found = \"Not found.\" }\n"
    "messages \"it\" { unavailable = \"Nuovo tentativo tra {delay_s} s.\",\n"
    "  [\"unavailable.retry_soon\"] = \"Nuovo tentativo tra un attimo.\" }\n"
    "messages \"fr\" { unavailable = \"Nouvel essai dans {delay_s} s.\",\n"
    "  [\"unavailable.attempts_exhausted\"] = \"Abandon après {attempt} essais.\",\n"
    "  [\"title.unavailable\"] = \"Service indisponible\" }\n"
    "messages \"de\" { unavailable = \"Neuer Versuch in {delay_s} s.\" }\n";

static void test_messages_by_outcome(void **st)
{
    (void)st;
    flt t;
    flt_open(&t, k_msgs);
    assert_int_equal(flt_decide(&t, "{\"message\":\"refused\",\"attempt\":1}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Retrying in 1 s."); /* 50 ms rounds up */
    assert_string_equal(fl_decision_message_id(t.d), "unavailable");
    assert_int_equal(flt_decide(&t, "{\"message\":\"refused\",\"attempt\":2}"), FL_OK);
    assert_string_equal(fl_decision_reason(t.d), "attempts_exhausted");
    assert_string_equal(fl_decision_message(t.d), "Gave up after 2 attempts.");
    assert_string_equal(fl_decision_message_id(t.d), "unavailable.attempts_exhausted");
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"refused\",\"attempt\":2}", "fr", 0), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Abandon après 2 essais.");
    assert_string_equal(fl_decision_locale(t.d), "fr");
    /* problem.title localized like the message ("title.<category>", parents) */
    assert_string_equal(fl_decision_problem_title(t.d), "Service indisponible");
    /* de has only the category's message: it is not replaced by English */
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"refused\",\"attempt\":2}", "de", 0), FL_OK);
    assert_string_equal(fl_decision_locale(t.d), "de");
    assert_string_equal(fl_decision_problem_title(t.d), "Service unavailable"); /* no de title */
    /* a delay under a second: the "retry_soon" message when there is one */
    assert_int_equal(flt_decide_loc(&t, "{\"message\":\"refused\",\"attempt\":1}", "it", 0), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Nuovo tentativo tra un attimo.");
    assert_string_equal(fl_decision_message_id(t.d), "unavailable.retry_soon");
    /* by action */
    assert_int_equal(flt_decide(&t, "{\"message\":\"gone\"}"), FL_OK);
    assert_string_equal(fl_decision_message(t.d), "Showing a saved copy.");
    flt_close(&t);
}

static void test_bad_args(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    fl_pipeline_t *p = NULL;
    fl_diag_t d;
    fl_pipeline_result_t res;
    assert_int_equal(fl_pipeline_new(NULL, &c, &p, &d), FL_EINVAL);
    c.max_attempts = 5000;
    assert_int_equal(fl_pipeline_new(w.t.e, &c, &p, &d), FL_EINVAL);
    c.max_attempts = 0;
    c.guard.breaker = "nope";
    assert_int_equal(fl_pipeline_new(w.t.e, &c, &p, &d), FL_ENOENT);
    c.guard.breaker = NULL;
    p = pipe_new(&w, &c);
    assert_int_equal(fl_pipeline_call(p, w.t.ctx, w.t.ev, NULL, NULL, NULL, NULL, w.t.d, &res), FL_EINVAL);
    assert_int_equal(fl_pipeline_call(p, NULL, w.t.ev, NULL, scripted, NULL, NULL, w.t.d, &res), FL_EINVAL);
    assert_int_equal(fl_breaker_report(fl_engine_resil(w.t.e), "nope", "k", NULL), FL_ENOENT);
    assert_int_equal(fl_breaker_report(NULL, "up", "k", NULL), FL_EINVAL);
    fl_pipeline_free(p);
    fl_pipeline_free(NULL);
    flt_close(&w.t);
}

/* Cancellation during the decided wait. */
static int cancel_then_fail(void *user, const fl_attempt_info_t *a, fl_event_t *ev)
{
    (void)a;
    fl_cancel_fire(user);
    fl_event_set(ev, FL_FIELD_MESSAGE, "Connection refused", 18);
    return 1;
}

static void test_cancel(void **st)
{
    (void)st;
    world w;
    open_world(&w, k_policy);
    fl_pipeline_config_t c = {0};
    fl_pipeline_t *p = pipe_new(&w, &c);
    fl_cancel_t *cn = NULL;
    assert_int_equal(fl_cancel_new(&cn), FL_OK);
    fl_pipeline_result_t res;
    assert_int_equal(fl_pipeline_call(p, w.t.ctx, w.t.ev, "k", cancel_then_fail, cn, cn, w.t.d, &res), FL_OK);
    assert_int_equal(res.outcome, FL_CALL_CANCELLED);
    assert_int_equal(res.attempts, 1);
    fl_cancel_free(cn);
    fl_pipeline_free(p);
    flt_close(&w.t);
}

/* ---- on a libuv loop ---------------------------------------------------- */

typedef struct arun {
    script s;
    int done_calls;
    fl_pipeline_result_t res;
    char msg[128];
    fl_pipeline_run_t *run;
    int cancel_after_first;
} arun;

static void a_attempt(void *user, fl_pipeline_run_t *run, const fl_attempt_info_t *a, fl_event_t *ev)
{
    arun *r = user;
    int failed = scripted(&r->s, a, ev);
    assert_int_equal(fl_pipeline_run_done(run, a->attempt, failed), FL_OK);
    assert_int_equal(fl_pipeline_run_done(run, a->attempt, failed), FL_ESTATE); /* once only */
    if (r->cancel_after_first && a->attempt == 1)
        assert_int_equal(fl_pipeline_run_cancel(run), FL_OK);
}

static void a_done(void *user, fl_pipeline_run_t *run, const fl_pipeline_result_t *res, const fl_decision_t *last)
{
    arun *r = user;
    (void)run;
    r->done_calls++;
    r->res = *res;
    snprintf(r->msg, sizeof r->msg, "%s", fl_decision_message(last) ? fl_decision_message(last) : "");
}

static void test_run_on_loop(void **st)
{
    (void)st;
    flt t;
    flt_open(&t, k_policy);
    fl_pipeline_config_t c = {0};
    c.op = "db.query";
    fl_pipeline_t *p = NULL;
    fl_diag_t d;
    assert_int_equal(fl_pipeline_new(t.e, &c, &p, &d), FL_OK);
    uv_loop_t loop;
    uv_loop_init(&loop);
    fl_pipeline_run_callbacks_t cb = {a_attempt, a_done};
    arun r = {{{"Connection refused", "Connection refused"}, 2, 0, {{0}}}, 0, {0}, "", NULL, 0};
    uint64_t t0 = uv_hrtime();
    assert_int_equal(fl_pipeline_run(p, t.ctx, &loop, NULL, &cb, &r, NULL), FL_OK);
    assert_int_equal(r.s.calls, 0); /* never from inside fl_pipeline_run */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(r.done_calls, 1);
    assert_int_equal(r.res.outcome, FL_CALL_SUCCEEDED);
    assert_int_equal(r.res.attempts, 3);
    assert_true(uv_hrtime() - t0 >= 400ull * 1000000); /* two decided 200 ms waits */
    assert_string_equal(r.s.params_seen[1], "{\"timeout_ms\":500}");

    /* fail: the final decision reaches done */
    arun f = {{{"Permission denied"}, 1, 0, {{0}}}, 0, {0}, "", NULL, 0};
    assert_int_equal(fl_pipeline_run(p, t.ctx, &loop, NULL, &cb, &f, NULL), FL_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(f.res.outcome, FL_CALL_FAILED);
    assert_string_equal(f.msg, "You may not.");

    /* cancelled during the decided wait */
    arun k = {{{"Connection refused", "Connection refused"}, 2, 0, {{0}}}, 0, {0}, "", NULL, 1};
    assert_int_equal(fl_pipeline_run(p, t.ctx, &loop, NULL, &cb, &k, NULL), FL_OK);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(k.done_calls, 1);
    assert_int_equal(k.res.outcome, FL_CALL_CANCELLED);
    assert_int_equal(k.s.calls, 1);

    assert_int_equal(fl_pipeline_run(NULL, t.ctx, &loop, NULL, &cb, &k, NULL), FL_EINVAL);
    assert_int_equal(uv_loop_close(&loop), 0);
    fl_pipeline_free(p);
    flt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_then_success),
        cmocka_unit_test(test_success_reads_clock_once),
        cmocka_unit_test(test_fail_returns_final_decision),
        cmocka_unit_test(test_fallback_and_ignore),
        cmocka_unit_test(test_breaker_sees_successes),
        cmocka_unit_test(test_guard_no_double_count),
        cmocka_unit_test(test_call_no_record),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_messages_by_outcome),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_run_on_loop),
        cmocka_unit_test(test_retries_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
