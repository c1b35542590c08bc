/*
 * gate.c -- the seam between the decision path (fl_decide) and the
 * resilience state: record what happened to a call, and decide whether a
 * retry the policy wants may go ahead.  Objects are named; unknown names are
 * skipped so that a policy referring to an object it no longer declares
 * keeps deciding.
 */
#include <stdio.h>

#include "resilience/resilience.h"

int fl_resil_record(fl_resil_t *r, const fl_resil_outcome_t *o)
{
    int64_t now;
    uint64_t h;
    fl_robj *b, *g;
    if (!r || !o)
        return FL_EINVAL;
    now = fl_resil_clock(r);
    h = o->key && o->key[0] ? fl_key_hash(o->key) : 0;
    b = fl_resil_find(r, FL_RESIL_BREAKER, o->breaker);
    if (b) {
        const char *k = "";
        fl_bstate *s = fl_robj_state(b, o->key, h, &k);
        const fl_bcfg *c = atomic_load_explicit(&b->cfg, memory_order_acquire);
        if (!s)
            return FL_ENOMEM;
        fl_breaker_record(b, s, k, 0, 0, fl_breaker_classify(c, o->category), o->duration_ns,
                          now, NULL, NULL);
    }
    g = o->attempt <= 1 ? fl_resil_find(r, FL_RESIL_BUDGET, o->budget) : NULL;
    if (g) {
        fl_gstate *s = fl_robj_state(g, o->key, h, NULL);
        if (!s)
            return FL_ENOMEM;
        fl_budget_deposit(g, s, now);
    }
    return FL_OK;
}

int fl_breaker_report(fl_resil_t *r, const char *name, const char *key, const char *category)
{
    fl_resil_outcome_t o = {name, NULL, key, category, -1, 2};
    if (!r || !name)
        return FL_EINVAL;
    if (!fl_resil_find(r, FL_RESIL_BREAKER, name))
        return FL_ENOENT;
    return fl_resil_record(r, &o);
}

static int refuse(char *reason, size_t cap, const char *why)
{
    if (reason && cap)
        snprintf(reason, cap, "%s", why);
    return FL_EREFUSED;
}

int fl_resil_gate_retry(fl_resil_t *r, const char *breaker, const char *budget, const char *key,
                        char *reason, size_t reason_cap)
{
    int64_t now, ra = 0;
    uint64_t h;
    fl_robj *b, *g;
    if (!r)
        return FL_EINVAL;
    if (reason && reason_cap)
        reason[0] = '\0';
    now = fl_resil_clock(r);
    h = key && key[0] ? fl_key_hash(key) : 0;
    b = fl_resil_find(r, FL_RESIL_BREAKER, breaker);
    if (b) {
        fl_bstate *s = fl_robj_state(b, key, h, NULL);
        fl_breaker_state st = s ? fl_breaker_peek(b, s, now, &ra) : FL_BREAKER_CLOSED;
        if (st == FL_BREAKER_FORCED_OPEN || (st == FL_BREAKER_OPEN && ra > 0)) {
            fl_breaker_refused(s);
            return refuse(reason, reason_cap, b->reason);
        }
    }
    g = fl_resil_find(r, FL_RESIL_BUDGET, budget);
    if (g) {
        fl_gstate *s = fl_robj_state(g, key, h, NULL);
        if (s && !fl_budget_withdraw(g, s, now))
            return refuse(reason, reason_cap, g->reason);
    }
    return FL_OK;
}
