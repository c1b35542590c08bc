/*
 * pipeline.c -- engine-driven execution: the attempt function reports
 * success or an error event; the engine decides (fl_decide) and the pipeline
 * applies the decision: wait the decided delay and try again with the
 * decision's params, return the fallback, treat ignore as success, or stop
 * with the final decision.
 *
 * Outcomes are recorded once per attempt.  A failure is recorded by fl_decide
 * into the rule's breaker and retry budget; the pipeline's guard (optional)
 * admits each attempt and gets the outcome too, unless the decision named the
 * same breaker and key (then the permit is given back, so nothing is counted
 * twice).  A success is recorded into the guard and into every breaker that
 * decisions of earlier calls with the same key named: the pipeline remembers
 * them (a small table), so a breaker sees the successes as well as the
 * failures.
 *
 * This sits in the engine stage because it calls fl_decide; the resilience
 * subsystem below it knows nothing of events or decisions.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core.h"
#include "engine_internal.h"
#include "resilience/resilience.h"

#define MS 1000000ll
#define SLICE_NS 10000000ll
#define LEARN_MAX 32

typedef struct learned {
    char call_key[64];
    char breaker[FL_RNAME_MAX + 1];
    char bkey[128];
} learned;

struct fl_pipeline {
    fl_resil_t *r;
    fl_guard_t *guard;
    const char *gbreaker; /* the guard's breaker name, or NULL */
    char *op, *locale;
    unsigned flags;
    int max_attempts;
    int64_t deadline_ns;
    fl_pipeline_decision_fn on_decision;
    void *decision_user;
    pthread_mutex_t mu;
    _Atomic uint32_t nlearned;
    uint32_t next;
    learned tab[LEARN_MAX];
};

static void copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

static char *dup_or_null(const char *s, int *bad)
{
    char *p;
    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        *bad = 1;
    return p;
}

int fl_pipeline_new(fl_engine_t *e, const fl_pipeline_config_t *cfg, fl_pipeline_t **out,
                    fl_diag_t *diag)
{
    fl_pipeline_t *p;
    int bad = 0, rc;
    if (!e || !cfg || !out || cfg->max_attempts > 1000)
        return FL_EINVAL;
    *out = NULL;
    p = calloc(1, sizeof *p);
    if (!p)
        return FL_ENOMEM;
    p->r = fl_engine_resil(e);
    if (cfg->guard.breaker || cfg->guard.limiter || cfg->guard.bulkhead || cfg->guard.budget) {
        rc = fl_guard_new(p->r, &cfg->guard, &p->guard, diag);
        if (rc != FL_OK) {
            free(p);
            return rc;
        }
        p->gbreaker = p->guard->breaker ? p->guard->breaker->name : NULL;
    }
    p->op = dup_or_null(cfg->op, &bad);
    p->locale = dup_or_null(cfg->locale, &bad);
    if (bad || pthread_mutex_init(&p->mu, NULL) != 0) {
        fl_guard_free(p->guard);
        free(p->op);
        free(p->locale);
        free(p);
        return FL_ENOMEM;
    }
    p->flags = cfg->decide_flags & ~(unsigned)FL_DECIDE_NO_RECORD;
    p->max_attempts = cfg->max_attempts ? (int)cfg->max_attempts : 100;
    p->deadline_ns = (int64_t)cfg->deadline_ms * MS;
    p->on_decision = cfg->on_decision;
    p->decision_user = cfg->decision_user;
    *out = p;
    return FL_OK;
}

void fl_pipeline_free(fl_pipeline_t *p)
{
    if (!p)
        return;
    fl_guard_free(p->guard);
    pthread_mutex_destroy(&p->mu);
    free(p->op);
    free(p->locale);
    free(p);
}

/* Remember that calls with `key` report to breaker/bkey. */
static void learn(fl_pipeline_t *p, const char *key, const char *breaker, const char *bkey)
{
    uint32_t n;
    pthread_mutex_lock(&p->mu);
    n = atomic_load_explicit(&p->nlearned, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) {
        learned *l = &p->tab[i];
        if (strcmp(l->call_key, key) == 0 && strcmp(l->breaker, breaker) == 0 &&
            strcmp(l->bkey, bkey) == 0) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
    }
    {
        learned *l = &p->tab[n < LEARN_MAX ? n : p->next++ % LEARN_MAX];
        copy(l->call_key, sizeof l->call_key, key);
        copy(l->breaker, sizeof l->breaker, breaker);
        copy(l->bkey, sizeof l->bkey, bkey);
    }
    if (n < LEARN_MAX)
        atomic_store_explicit(&p->nlearned, n + 1, memory_order_release);
    pthread_mutex_unlock(&p->mu);
}

static int same_as_guard(const fl_pipeline_t *p, const char *key, const char *breaker,
                         const char *bkey)
{
    return p->gbreaker && breaker && strcmp(p->gbreaker, breaker) == 0 &&
           strcmp(key, bkey ? bkey : "") == 0;
}

/* A success: one outcome into every breaker calls with `key` reported to. */
static void record_success(fl_pipeline_t *p, const char *key, int attempt, int64_t dur, int64_t now)
{
    learned hit[LEARN_MAX];
    uint32_t n, k = 0;
    if (atomic_load_explicit(&p->nlearned, memory_order_acquire) == 0)
        return;
    pthread_mutex_lock(&p->mu);
    n = atomic_load_explicit(&p->nlearned, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(p->tab[i].call_key, key) == 0 &&
            !same_as_guard(p, key, p->tab[i].breaker, p->tab[i].bkey))
            hit[k++] = p->tab[i];
    pthread_mutex_unlock(&p->mu);
    for (uint32_t i = 0; i < k; i++) {
        fl_resil_outcome_t o = {hit[i].breaker, NULL, hit[i].bkey, NULL, dur, attempt, now};
        fl_resil_record(p->r, &o);
    }
}

static int fired(fl_cancel_t *c)
{
    return c && fl_cancel_fired(c);
}

/* Sleep ns unless cancelled first.  1 if cancelled. */
static int wait_for(fl_resil_t *r, int64_t ns, fl_cancel_t *c)
{
    while (ns > 0) {
        int64_t step = c && ns > SLICE_NS ? SLICE_NS : ns;
        if (fired(c))
            return 1;
        fl_resil_sleep(r, step);
        ns -= step;
    }
    return fired(c);
}

/* ---- one call: the steps shared by the blocking and the libuv drivers ---- */

typedef struct pstate {
    fl_pipeline_t *p;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *last;
    const char *key;
    char *params; /* the last decision's params (owned) */
    int attempt;
    int held;     /* permit admitted */
    int retried;  /* a retry was granted (faultline_retries_total) */
    int retry_end; /* 1 + FL_RETRY_* when a refused retry ends the call */
    int64_t start, now, deadline;
    fl_permit_t permit;
    fl_pipeline_result_t *res;
} pstate;

enum { PS_DONE = 0, PS_RETRY = 1 };

static void ps_finish(pstate *s, fl_call_outcome oc, const char *reason)
{
    if (s->start < 0)
        s->start = s->now = fl_resil_now(s->p->r);
    s->res->outcome = oc;
    copy(s->res->reason, sizeof s->res->reason, reason);
    s->res->elapsed_ns = s->now - s->start;
    if (s->retry_end)
        fl_resil_count_retry(s->p->r, s->retry_end - 1);
    else if (s->retried)
        fl_resil_count_retry(s->p->r, oc == FL_CALL_SUCCEEDED ? FL_RETRY_SUCCESS : FL_RETRY_FAILED);
}

static void ps_begin(pstate *s, fl_pipeline_t *p, fl_ctx_t *ctx, fl_event_t *ev, const char *key,
                     fl_decision_t *last, fl_pipeline_result_t *res)
{
    s->p = p;
    s->ctx = ctx;
    s->ev = ev;
    s->last = last;
    s->key = key ? key : p->op ? p->op : "";
    s->params = NULL;
    s->attempt = 0;
    s->held = 0;
    s->retried = s->retry_end = 0;
    s->res = res;
    res->outcome = FL_CALL_SUCCEEDED;
    res->attempts = 0;
    res->category[0] = res->reason[0] = '\0';
    res->fallback_json = NULL;
    res->elapsed_ns = 0;
    /* With a guard and no deadline, the admission's clock reading is the
     * start: the success path then reads the clock twice, like fl_call. */
    s->start = s->now = p->guard && !p->deadline_ns ? -1 : fl_resil_now(p->r);
    s->deadline = p->deadline_ns ? s->start + p->deadline_ns : 0;
}

/* Admit the next attempt and fill info.  1: go; 0: the call is over. */
static int ps_admit(pstate *s, fl_attempt_info_t *info)
{
    fl_pipeline_t *p = s->p;
    if (s->deadline && s->now >= s->deadline) {
        if (s->retried)
            s->retry_end = 1 + FL_RETRY_EXHAUSTED;
        ps_finish(s, FL_CALL_TIMED_OUT, "deadline");
        return 0;
    }
    if (p->guard) {
        if (fl_admit(p->guard, s->key, &s->permit) != FL_OK) {
            if (s->retried && s->permit.reason && strncmp(s->permit.reason, "breaker", 7) == 0)
                s->retry_end = 1 + FL_RETRY_BREAKER;
            ps_finish(s, s->attempt == 0 ? FL_CALL_REFUSED : FL_CALL_FAILED, s->permit.reason);
            return 0;
        }
        s->held = 1;
        if (s->start < 0)
            s->start = s->now = s->permit.start_ns_;
    }
    s->attempt++;
    s->res->attempts = s->attempt;
    if (s->attempt > 1)
        fl_event_reset(s->ev);
    info->attempt = s->attempt;
    info->key = s->key;
    info->params = s->params;
    info->timeout_ns = s->deadline ? s->deadline - s->now : 0;
    info->deadline_ns = s->deadline;
    return 1;
}

/* The attempt ended (failed: ev describes the error).  PS_DONE (res final)
 * or PS_RETRY after *delay_ns. */
static int ps_outcome(pstate *s, int failed, int64_t *delay_ns)
{
    fl_pipeline_t *p = s->p;
    fl_decision_t *last = s->last;
    fl_event_t *ev = s->ev;
    *delay_ns = 0;
    if (!failed) {
        /* As fl_call: a first attempt's success reads the clock once unless
         * a deadline or a breaker learned for this pipeline needs the end
         * (fl_complete reads it for a guard breaker that needs it). */
        int once = s->attempt == 1 && !s->deadline &&
                   atomic_load_explicit(&p->nlearned, memory_order_acquire) == 0;
        if (!once)
            s->now = fl_resil_now(p->r);
        if (s->held && once)
            fl_complete(&s->permit, NULL);
        else if (s->held)
            fl_complete_at(&s->permit, NULL, s->now);
        s->held = 0;
        record_success(p, s->key, s->attempt, once ? -1 : s->now - s->start, once ? 0 : s->now);
        ps_finish(s, FL_CALL_SUCCEEDED, NULL);
        return PS_DONE;
    }
    s->now = fl_resil_now(p->r);
    /* The error: fill in what the attempt did not say. */
    fl_event_set_attempt(ev, s->attempt);
    fl_event_set_elapsed_ms(ev, (double)(s->now - s->start) / 1e6);
    if (p->op && !fl_event_get(ev, FL_FIELD_OP))
        fl_event_set(ev, FL_FIELD_OP, p->op, strlen(p->op));
    if (!fl_event_get(ev, FL_FIELD_MESSAGE))
        fl_event_set(ev, FL_FIELD_MESSAGE, "error", 5);
    /* The decide path records into the same registry: it takes this
     * reading rather than making its own. */
    if (s->ctx->sh->resil == p->r) s->ctx->resil_now = s->now;
    fl_decide(s->ctx, ev, p->locale, p->flags, last);
    s->ctx->resil_now = 0;
    {
        const char *b = fl_decision_breaker_name(last), *bk = fl_decision_breaker_key(last);
        const char *cat = fl_decision_category(last);
        if (b)
            learn(p, s->key, b, bk ? bk : "");
        if (s->held) {
            if (same_as_guard(p, s->key, b, bk))
                fl_permit_release(&s->permit); /* fl_decide recorded it */
            else
                fl_complete_at(&s->permit, cat ? cat : "unknown", s->now);
        }
        s->held = 0;
        copy(s->res->category, sizeof s->res->category, cat);
    }
    if (p->on_decision)
        p->on_decision(p->decision_user, s->attempt, ev, last);
    switch (fl_decision_action(last)) {
    case FL_ACTION_IGNORE:
        ps_finish(s, FL_CALL_SUCCEEDED, "ignored");
        return PS_DONE;
    case FL_ACTION_FALLBACK:
        s->res->fallback_json = fl_decision_fallback_json(last);
        ps_finish(s, FL_CALL_FALLBACK, fl_decision_rule(last));
        return PS_DONE;
    case FL_ACTION_FAIL: {
        const char *why = fl_decision_reason(last); /* set when fl_decide refused a retry */
        if (why && strcmp(why, "breaker_open") == 0)
            s->retry_end = 1 + FL_RETRY_BREAKER;
        else if (why && strcmp(why, "retry_budget_exhausted") == 0)
            s->retry_end = 1 + FL_RETRY_BUDGET;
        else if (why && (strcmp(why, "attempts_exhausted") == 0 || strcmp(why, "time_budget_exhausted") == 0))
            s->retry_end = 1 + FL_RETRY_EXHAUSTED;
        ps_finish(s, FL_CALL_FAILED, why ? why : "not_retryable");
        return PS_DONE;
    }
    case FL_ACTION_RETRY:
        break;
    }
    s->retry_end = 1 + FL_RETRY_EXHAUSTED; /* unless the retry goes ahead below */
    if (s->attempt >= p->max_attempts) {
        ps_finish(s, FL_CALL_FAILED, "attempts_exhausted");
        return PS_DONE;
    }
    {
        int64_t d = fl_decision_delay_ms(last) > 0 ? fl_decision_delay_ms(last) * MS : 0;
        const char *pj = fl_decision_params_json(last);
        if (s->deadline && s->now + d >= s->deadline) {
            ps_finish(s, FL_CALL_TIMED_OUT, "deadline");
            return PS_DONE;
        }
        free(s->params);
        s->params = pj ? strdup(pj) : NULL;
        *delay_ns = d;
    }
    s->retry_end = 0;
    s->retried = 1;
    return PS_RETRY;
}

/* The call stops between attempts (cancelled). */
static void ps_cancel(pstate *s)
{
    if (s->held)
        fl_permit_release(&s->permit);
    s->held = 0;
    s->now = fl_resil_now(s->p->r);
    ps_finish(s, FL_CALL_CANCELLED, "cancelled");
}

static void ps_end(pstate *s)
{
    if (s->held)
        fl_permit_release(&s->permit);
    s->held = 0;
    free(s->params);
    s->params = NULL;
}

/* ---- blocking ------------------------------------------------------------ */

int fl_pipeline_call(fl_pipeline_t *p, fl_ctx_t *ctx, fl_event_t *ev, const char *key,
                     fl_pipeline_attempt_fn fn, void *user, fl_cancel_t *cancel,
                     fl_decision_t *last, fl_pipeline_result_t *res)
{
    pstate s;
    if (!p || !ctx || !ev || !fn || !last || !res)
        return FL_EINVAL;
    ps_begin(&s, p, ctx, ev, key, last, res);
    for (;;) {
        fl_attempt_info_t info;
        int64_t delay;
        if (fired(cancel)) {
            ps_cancel(&s);
            break;
        }
        if (!ps_admit(&s, &info))
            break;
        if (ps_outcome(&s, fn(user, &info, ev) != 0, &delay) == PS_DONE)
            break;
        if (wait_for(p->r, delay, cancel)) {
            ps_cancel(&s);
            break;
        }
        s.now = fl_resil_now(p->r);
    }
    ps_end(&s);
    return FL_OK;
}

/* ---- on a libuv loop ------------------------------------------------------ */

struct fl_pipeline_run {
    pstate s;
    uv_timer_t timer;
    fl_pipeline_run_callbacks_t cb;
    void *user;
    fl_event_t *ev;
    fl_decision_t *last;
    fl_pipeline_result_t res;
    int outstanding; /* an attempt is out and not yet reported */
    int cancelled, over;
};

static void run_closed(uv_handle_t *h)
{
    fl_pipeline_run_t *run = h->data;
    fl_event_free(run->ev);
    fl_decision_free(run->last);
    free(run);
}

static void run_over(fl_pipeline_run_t *run)
{
    run->over = 1;
    ps_end(&run->s);
    run->cb.done(run->user, run, &run->res, run->last);
    uv_close((uv_handle_t *)&run->timer, run_closed);
}

static void run_next(uv_timer_t *t)
{
    fl_pipeline_run_t *run = t->data;
    fl_attempt_info_t info;
    if (run->cancelled) {
        ps_cancel(&run->s);
        run_over(run);
        return;
    }
    run->s.now = fl_resil_now(run->s.p->r);
    if (!ps_admit(&run->s, &info)) {
        run_over(run);
        return;
    }
    run->outstanding = 1;
    run->cb.attempt(run->user, run, &info, run->ev);
}

int fl_pipeline_run(fl_pipeline_t *p, fl_ctx_t *ctx, struct uv_loop_s *loop, const char *key,
                    const fl_pipeline_run_callbacks_t *cb, void *user, fl_pipeline_run_t **out)
{
    fl_pipeline_run_t *run;
    if (out)
        *out = NULL;
    if (!p || !ctx || !loop || !cb || !cb->attempt || !cb->done)
        return FL_EINVAL;
    run = calloc(1, sizeof *run);
    if (!run)
        return FL_ENOMEM;
    if (fl_event_new(&run->ev) != FL_OK || fl_decision_new(&run->last) != FL_OK ||
        uv_timer_init(loop, &run->timer) != 0) {
        fl_event_free(run->ev);
        fl_decision_free(run->last);
        free(run);
        return FL_ENOMEM;
    }
    run->timer.data = run;
    run->cb = *cb;
    run->user = user;
    ps_begin(&run->s, p, ctx, run->ev, key, run->last, &run->res);
    uv_timer_start(&run->timer, run_next, 0, 0);
    if (out)
        *out = run;
    return FL_OK;
}

int fl_pipeline_run_done(fl_pipeline_run_t *run, int attempt, int failed)
{
    int64_t delay;
    if (!run)
        return FL_EINVAL;
    if (run->over || !run->outstanding || attempt != run->s.attempt)
        return FL_ESTATE;
    run->outstanding = 0;
    if (ps_outcome(&run->s, failed, &delay) == PS_DONE) {
        run_over(run);
        return FL_OK;
    }
    if (run->cancelled) {
        ps_cancel(&run->s);
        run_over(run);
        return FL_OK;
    }
    uv_timer_start(&run->timer, run_next, (uint64_t)((delay + MS - 1) / MS), 0);
    return FL_OK;
}

int fl_pipeline_run_cancel(fl_pipeline_run_t *run)
{
    if (!run)
        return FL_EINVAL;
    if (run->over || run->cancelled)
        return FL_ESTATE;
    run->cancelled = 1;
    if (!run->outstanding) { /* waiting: stop now */
        uv_timer_stop(&run->timer);
        ps_cancel(&run->s);
        run_over(run);
    }
    return FL_OK;
}
