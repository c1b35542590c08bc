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
static void record_success(fl_pipeline_t *p, const char *key, int attempt, int64_t dur)
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
        fl_resil_outcome_t o = {hit[i].breaker, NULL, hit[i].bkey, NULL, dur, attempt};
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

static int finish(fl_pipeline_result_t *res, fl_call_outcome oc, const char *reason, int64_t now,
                  int64_t start)
{
    res->outcome = oc;
    copy(res->reason, sizeof res->reason, reason);
    res->elapsed_ns = now - start;
    return FL_OK;
}

int fl_pipeline_call(fl_pipeline_t *p, fl_ctx_t *ctx, fl_event_t *ev, const char *key,
                     fl_pipeline_attempt_fn fn, void *user, fl_cancel_t *cancel,
                     fl_decision_t *last, fl_pipeline_result_t *res)
{
    int64_t start, now, deadline;
    char *params = NULL;
    int rc = FL_OK;
    if (!p || !ctx || !ev || !fn || !last || !res)
        return FL_EINVAL;
    if (!key)
        key = p->op ? p->op : "";
    res->outcome = FL_CALL_SUCCEEDED;
    res->attempts = 0;
    res->category[0] = res->reason[0] = '\0';
    res->fallback_json = NULL;
    /* With a guard and no deadline, the admission's clock reading is the
     * start: the success path then reads the clock twice, like fl_call. */
    start = now = p->guard && !p->deadline_ns ? -1 : fl_resil_now(p->r);
    deadline = p->deadline_ns ? start + p->deadline_ns : 0;
    for (int attempt = 1;; attempt++) {
        fl_permit_t permit;
        fl_attempt_info_t info;
        int failed;
        if (fired(cancel)) {
            now = fl_resil_now(p->r);
            rc = finish(res, FL_CALL_CANCELLED, "cancelled", now, start < 0 ? now : start);
            break;
        }
        if (deadline && now >= deadline) {
            rc = finish(res, FL_CALL_TIMED_OUT, "deadline", now, start);
            break;
        }
        if (p->guard && fl_admit(p->guard, key, &permit) != FL_OK) {
            if (start < 0)
                start = now = fl_resil_now(p->r);
            rc = finish(res, attempt == 1 ? FL_CALL_REFUSED : FL_CALL_FAILED, permit.reason, now,
                        start);
            break;
        }
        if (start < 0)
            start = now = permit.start_ns_;
        info.attempt = attempt;
        info.key = key;
        info.params = params;
        info.timeout_ns = deadline ? deadline - now : 0;
        info.deadline_ns = deadline;
        if (attempt > 1)
            fl_event_reset(ev);
        res->attempts = attempt;
        failed = fn(user, &info, ev);
        now = fl_resil_now(p->r);
        if (!failed) {
            if (p->guard)
                fl_complete_at(&permit, NULL, now);
            record_success(p, key, attempt, now - start);
            rc = finish(res, FL_CALL_SUCCEEDED, NULL, now, start);
            break;
        }
        /* The error: fill in what the attempt did not say. */
        fl_event_set_attempt(ev, attempt);
        fl_event_set_elapsed_ms(ev, (double)(now - start) / 1e6);
        if (p->op && !fl_event_get(ev, FL_FIELD_OP))
            fl_event_set(ev, FL_FIELD_OP, p->op, strlen(p->op));
        if (!fl_event_get(ev, FL_FIELD_MESSAGE))
            fl_event_set(ev, FL_FIELD_MESSAGE, "error", 5);
        fl_decide(ctx, ev, p->locale, p->flags, last);
        {
            const char *b = fl_decision_breaker_name(last), *bk = fl_decision_breaker_key(last);
            const char *cat = fl_decision_category(last);
            if (b)
                learn(p, key, b, bk ? bk : "");
            if (p->guard) {
                if (same_as_guard(p, key, b, bk))
                    fl_permit_release(&permit); /* fl_decide recorded it */
                else
                    fl_complete_at(&permit, cat ? cat : "unknown", now);
            }
            copy(res->category, sizeof res->category, cat);
        }
        if (p->on_decision)
            p->on_decision(p->decision_user, attempt, ev, last);
        switch (fl_decision_action(last)) {
        case FL_ACTION_IGNORE:
            rc = finish(res, FL_CALL_SUCCEEDED, "ignored", now, start);
            goto out;
        case FL_ACTION_FALLBACK:
            res->fallback_json = fl_decision_fallback_json(last);
            rc = finish(res, FL_CALL_FALLBACK, fl_decision_rule(last), now, start);
            goto out;
        case FL_ACTION_FAIL: {
            const char *why = fl_decision_reason(last);
            rc = finish(res, FL_CALL_FAILED, why ? why : "not_retryable", now, start);
            goto out;
        }
        case FL_ACTION_RETRY:
            break;
        }
        if (attempt >= p->max_attempts) {
            rc = finish(res, FL_CALL_FAILED, "attempts_exhausted", now, start);
            break;
        }
        {
            int64_t d = fl_decision_delay_ms(last) > 0 ? fl_decision_delay_ms(last) * MS : 0;
            const char *pj = fl_decision_params_json(last);
            if (deadline && now + d >= deadline) {
                rc = finish(res, FL_CALL_TIMED_OUT, "deadline", now, start);
                break;
            }
            free(params);
            params = pj ? strdup(pj) : NULL;
            if (wait_for(p->r, d, cancel)) {
                rc = finish(res, FL_CALL_CANCELLED, "cancelled", fl_resil_now(p->r), start);
                break;
            }
            now = fl_resil_now(p->r);
        }
    }
out:
    free(params);
    return rc;
}
