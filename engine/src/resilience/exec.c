/*
 * exec.c -- the executor core: one call's admission, attempt bookkeeping,
 * outcome recording and retry decision, shared by the blocking fl_call
 * (call.c) and the libuv fl_run (run.c), which only differ in how they wait.
 *
 * Per attempt: breaker -> limiter (may reserve a future token) -> bulkhead;
 * after it: record into the breaker, release the bulkhead, ask the verdict
 * (built-in backoff policy or the decide callback), and gate a retry on the
 * attempt cap, the deadline, the breaker and the retry budget, in that order.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

#define MS 1000000ll
enum { HELD_PERMIT = 1, HELD_SLOT = 2 };

static void exec_free_cb(void *p)
{
    free(p);
}

int fl_exec_new(fl_resil_t *r, const fl_exec_config_t *c, fl_exec_t **out, fl_diag_t *diag)
{
    fl_exec_t *ex;
    const char *bad = NULL;
    int rc;
    if (!r || !c || !out || c->max_attempts > 1000)
        return FL_EINVAL;
    *out = NULL;
    ex = calloc(1, sizeof *ex);
    if (!ex)
        return FL_ENOMEM;
    rc = fl_guard_resolve(r, &c->guard, &ex->g, diag);
    if (rc == FL_OK && fl_cat_mask(c->retry_on, FL_CATS_RETRY_DEFAULT, &ex->retry_mask, &bad)) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "retry_on: '%s' is not a canonical category", bad);
        rc = FL_EPOLICY_SCHEMA;
    }
    if (rc != FL_OK) {
        free(ex);
        return rc;
    }
    ex->r = r;
    ex->max_attempts = c->max_attempts ? (int)c->max_attempts : 3;
    ex->base_ns = c->base_ms == FL_EXEC_ZERO_DELAY ? 0 : (int64_t)(c->base_ms ? c->base_ms : 100) * MS;
    ex->factor = c->factor >= 1.0 ? c->factor : 2.0;
    ex->max_delay_ns = (int64_t)(c->max_delay_ms ? c->max_delay_ms : 30000) * MS;
    ex->jitter = c->jitter;
    ex->attempt_timeout_ns = (int64_t)c->attempt_timeout_ms * MS;
    ex->deadline_ns = (int64_t)c->deadline_ms * MS;
    ex->decide = c->decide;
    ex->decide_user = c->decide_user;
    ex->on_event = c->on_event;
    ex->event_user = c->event_user;
    fl_resil_own(r, ex, exec_free_cb);
    *out = ex;
    return FL_OK;
}

void fl_exec_free(fl_exec_t *ex)
{
    if (!ex)
        return;
    fl_resil_disown(ex->r, ex);
    free(ex);
}

static void emit(fl_xstate *x, fl_exec_event_kind kind, const char *cat, const char *reason,
                 int64_t delay_ms, fl_breaker_state from, fl_breaker_state to)
{
    fl_exec_event_t e;
    if (!x->on_event)
        return;
    e.kind = kind;
    e.attempt = x->attempt;
    e.key = x->key ? x->key : "";
    e.category = cat;
    e.reason = reason;
    e.delay_ms = delay_ms;
    e.from = from;
    e.to = to;
    x->on_event(x->event_user, &e);
}

/* Give back what an admitted attempt holds, without an outcome. */
static void abandon(fl_xstate *x)
{
    if ((x->held & HELD_PERMIT) && x->bs)
        fl_breaker_unpermit(x->bs, x->gen, x->half);
    if (x->held & HELD_SLOT)
        fl_bulkhead_release(x->hs, x->hslot);
    x->held = 0;
}

/* Bounded copy (snprintf costs more than the whole success path). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < cap; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

void fl_x_tick(fl_xstate *x)
{
    x->now = fl_resil_clock(x->ex->r);
}

void fl_x_finish(fl_xstate *x, fl_call_outcome outcome, const char *reason)
{
    fl_call_result_t *res = x->res;
    abandon(x);
    res->outcome = outcome;
    copy(res->reason, sizeof res->reason, reason);
    res->elapsed_ns = x->now - x->start_ns;
    if (x->retry_end)
        fl_resil_count_retry(x->ex->r, x->retry_end - 1);
    else if (x->retried)
        fl_resil_count_retry(x->ex->r, outcome == FL_CALL_SUCCEEDED ? FL_RETRY_SUCCESS : FL_RETRY_FAILED);
    if (outcome == FL_CALL_SUCCEEDED)
        emit(x, FL_EXEC_SUCCESS, NULL, NULL, 0, 0, 0);
    else
        emit(x, FL_EXEC_GIVE_UP, res->category[0] ? res->category : NULL, res->reason, 0, 0, 0);
}

int fl_x_begin(fl_exec_t *ex, fl_xstate *x, const char *key, fl_exec_event_fn fn, void *user,
               fl_call_result_t *res)
{
    uint64_t h = key && key[0] ? fl_key_hash(key) : 0;
    memset(x, 0, sizeof *x);
    res->outcome = FL_CALL_SUCCEEDED;
    res->attempts = 0;
    res->category[0] = res->reason[0] = '\0';
    res->elapsed_ns = 0;
    x->ex = ex;
    x->key = key;
    x->bkey = "";
    x->res = res;
    x->on_event = fn;
    x->event_user = user;
    x->start_ns = x->now = fl_resil_clock(ex->r);
    x->deadline_ns = ex->deadline_ns ? x->start_ns + ex->deadline_ns : 0;
    if ((ex->g.breaker && !(x->bs = fl_robj_state(ex->g.breaker, key, h, &x->bkey))) ||
        (ex->g.limiter && !(x->ls = fl_robj_state(ex->g.limiter, key, h, NULL))) ||
        (ex->g.bulkhead && !(x->hs = fl_robj_state(ex->g.bulkhead, key, h, NULL))) ||
        (ex->g.budget && !(x->gs = fl_robj_state(ex->g.budget, key, h, NULL)))) {
        fl_x_finish(x, FL_CALL_FAILED, "out_of_memory");
        return FL_ENOMEM;
    }
    if (x->gs)
        fl_budget_deposit(ex->g.budget, x->gs, x->start_ns);
    return FL_OK;
}

static int refused(fl_xstate *x, fl_robj *o)
{
    if (x->retried && o == x->ex->g.breaker)
        x->retry_end = 1 + FL_RETRY_BREAKER;
    abandon(x);
    fl_x_finish(x, x->attempt == 0 ? FL_CALL_REFUSED : FL_CALL_FAILED, o->reason);
    return 0;
}

int fl_x_admit(fl_xstate *x, int block, int64_t *wait_ns)
{
    fl_exec_t *ex = x->ex;
    int64_t now = x->attempt == 0 ? x->now : (x->now = fl_resil_clock(ex->r)), ra;
    *wait_ns = 0;
    if (x->deadline_ns && now >= x->deadline_ns) {
        if (x->retried)
            x->retry_end = 1 + FL_RETRY_EXHAUSTED;
        fl_x_finish(x, FL_CALL_TIMED_OUT, "deadline");
        return 0;
    }
    if (x->bs && !fl_breaker_try(ex->g.breaker, x->bs, x->bkey, now, &x->gen, &x->half, &ra))
        return refused(x, ex->g.breaker);
    x->held = HELD_PERMIT; /* a breaker permit (maybe a half-open probe) */
    if (x->ls) {
        const fl_lcfg *lc = atomic_load_explicit(&ex->g.limiter->cfg, memory_order_acquire);
        if (!fl_limiter_take(ex->g.limiter, x->ls, now, lc->max_wait_ns, wait_ns))
            return refused(x, ex->g.limiter);
    }
    if (x->hs) {
        int got = block ? fl_bulkhead_acquire_wait(ex->g.bulkhead, x->hs, &x->hslot)
                        : (x->hslot = fl_bulkhead_try(ex->g.bulkhead, x->hs)) != 0;
        if (!got) {
            if (x->ls)
                fl_limiter_untake(ex->g.limiter, x->ls);
            return refused(x, ex->g.bulkhead);
        }
        x->held |= HELD_SLOT;
        if (got == 2)
            x->now = -1; /* waited: fl_x_start re-reads the clock */
    }
    if (*wait_ns > 0)
        x->now = -1;
    return 1;
}

void fl_x_start(fl_xstate *x, fl_attempt_info_t *info)
{
    fl_exec_t *ex = x->ex;
    int64_t now = x->now >= 0 ? x->now : fl_resil_clock(ex->r), t = ex->attempt_timeout_ns;
    x->now = now;
    x->attempt++;
    x->res->attempts = x->attempt;
    x->attempt_ns = now;
    if (x->deadline_ns && (t == 0 || x->deadline_ns - now < t))
        t = x->deadline_ns - now > 0 ? x->deadline_ns - now : 1;
    x->info.attempt = x->attempt;
    x->info.key = x->key;
    x->info.params = x->params;
    x->info.timeout_ns = t;
    x->info.deadline_ns = x->deadline_ns;
    if (info)
        *info = x->info;
    emit(x, FL_EXEC_ATTEMPT, NULL, NULL, 0, 0, 0);
}

/* Feed the finished attempt to the breaker; release the bulkhead. */
static void settle(fl_xstate *x, const fl_bcfg *bc, const char *cat, int64_t dur, int64_t now)
{
    fl_robj *b = x->ex->g.breaker;
    fl_breaker_state from, to;
    if (x->bs) {
        int out = fl_breaker_classify(bc, cat);
        if (fl_breaker_record(b, x->bs, x->bkey, x->gen, x->half, out, dur, now, &from, &to))
            emit(x, FL_EXEC_BREAKER, cat, NULL, 0, from, to);
    }
    if (x->held & HELD_SLOT)
        fl_bulkhead_release(x->hs, x->hslot);
    x->held = 0;
}

static void builtin(fl_exec_t *ex, const fl_xstate *x, const char *cat, fl_verdict_t *v)
{
    double d;
    memset(v, 0, sizeof *v);
    if (!(ex->retry_mask & FL_CAT_BIT(fl_cat_index(cat)))) {
        v->action = FL_ACTION_FAIL;
        v->rule = "not_retryable";
        return;
    }
    d = (double)ex->base_ns * pow(ex->factor, (double)(x->attempt - 1));
    if (d > (double)ex->max_delay_ns)
        d = (double)ex->max_delay_ns;
    if (ex->jitter && d >= 1.0)
        d = (double)fl_resil_rand(ex->r, (uint64_t)d + 1);
    v->action = FL_ACTION_RETRY;
    v->delay_ms = (int64_t)(d / (double)MS);
    if (d > 0 && v->delay_ms == 0 && d >= (double)MS / 2)
        v->delay_ms = 1;
}

/* Gate a retry.  Returns NULL if allowed (budget taken), else the reason. */
static const char *gate(fl_xstate *x, int64_t now, int64_t delay_ns, fl_call_outcome *oc)
{
    fl_exec_t *ex = x->ex;
    int64_t ra = 0;
    *oc = FL_CALL_FAILED;
    x->retry_end = 1 + FL_RETRY_EXHAUSTED;
    if (x->attempt >= ex->max_attempts)
        return "attempts_exhausted";
    if (x->deadline_ns && now + delay_ns >= x->deadline_ns) {
        *oc = FL_CALL_TIMED_OUT;
        return "deadline";
    }
    if (x->bs) {
        fl_breaker_state st = fl_breaker_peek(ex->g.breaker, x->bs, now, &ra);
        if (st == FL_BREAKER_FORCED_OPEN || (st == FL_BREAKER_OPEN && ra > delay_ns)) {
            x->retry_end = 1 + FL_RETRY_BREAKER;
            fl_breaker_refused(x->bs);
            return ex->g.breaker->reason;
        }
    }
    x->retry_end = 1 + FL_RETRY_BUDGET;
    if (x->gs && !fl_budget_withdraw(ex->g.budget, x->gs, now))
        return ex->g.budget->reason;
    x->retry_end = 0;
    return NULL;
}

static int verdict_retry(fl_xstate *x, const fl_verdict_t *v, int64_t now, int64_t *delay_ns)
{
    fl_call_outcome oc;
    int64_t d = v->delay_ms > 0 ? v->delay_ms * MS : 0;
    const char *why = gate(x, now, d, &oc);
    if (why) {
        fl_x_finish(x, oc, why);
        return FL_X_DONE;
    }
    if (v->params) {
        char *p = strdup(v->params);
        if (p) {
            free(x->params);
            x->params = p;
        }
    }
    *delay_ns = d;
    x->retried = 1;
    emit(x, FL_EXEC_RETRY, x->res->category, NULL, d / MS, 0, 0);
    return FL_X_RETRY;
}

int fl_x_outcome(fl_xstate *x, const fl_outcome_t *o, int64_t *delay_ns)
{
    fl_exec_t *ex = x->ex;
    const char *cat = o ? o->category : NULL;
    const fl_bcfg *bc =
        x->bs ? atomic_load_explicit(&ex->g.breaker->cfg, memory_order_acquire) : NULL;
    int64_t now = x->now, dur = -1; /* -1: unknown, never slow */
    fl_outcome_t eff = {cat, o ? o->code : NULL, o ? o->message : NULL};
    fl_verdict_t v;
    *delay_ns = 0;
    /* A first attempt that succeeded needs no end time unless a slow-call
     * rule, a time window, a timeout or a deadline does: one clock read. */
    if (cat || x->attempt > 1 || x->info.timeout_ns || (bc && bc->timed)) {
        now = x->now = fl_resil_clock(ex->r);
        dur = now - x->attempt_ns;
    }
    if (x->info.timeout_ns && dur > x->info.timeout_ns)
        eff.category = cat = "deadline_exceeded";
    settle(x, bc, cat, dur, now);
    if (!cat) {
        fl_x_finish(x, FL_CALL_SUCCEEDED, NULL);
        return FL_X_DONE;
    }
    copy(x->res->category, sizeof x->res->category, cat);
    if (!ex->decide)
        builtin(ex, x, cat, &v);
    else if ((memset(&v, 0, sizeof v), ex->decide(ex->decide_user, &x->info, &eff, &v)) != FL_OK)
        v.action = FL_ACTION_FAIL;
    switch (v.action) {
    case FL_ACTION_RETRY:
        return verdict_retry(x, &v, now, delay_ns);
    case FL_ACTION_IGNORE:
        fl_x_finish(x, FL_CALL_SUCCEEDED, v.rule);
        return FL_X_DONE;
    case FL_ACTION_FALLBACK:
        fl_x_finish(x, FL_CALL_FALLBACK, v.rule);
        return FL_X_DONE;
    default:
        fl_x_finish(x, FL_CALL_FAILED, v.rule ? v.rule : "not_retryable");
        return FL_X_DONE;
    }
}

void fl_x_end(fl_xstate *x)
{
    abandon(x);
    free(x->params);
    x->params = NULL;
}
