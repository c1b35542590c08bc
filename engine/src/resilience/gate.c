/*
 * gate.c -- the seam between the decision path (fl_decide) and the
 * resilience state: record what happened to a call, and decide whether a
 * retry the policy wants may go ahead.  Objects are named; unknown names are
 * skipped so that a policy referring to an object it no longer declares
 * keeps deciding.
 */
#include <string.h>

#include "resilience/resilience.h"

/* Record o into breaker b and budget g (either may be NULL); h is the hash
 * of o's key. */
static int record_into(fl_robj *b, fl_robj *g, const fl_resil_outcome_t *o, uint64_t h, int64_t now)
{
    if (b) {
        const char *k = "";
        fl_bstate *s = fl_robj_state(b, o->key, h, &k);
        const fl_bcfg *c = atomic_load_explicit(&b->cfg, memory_order_acquire);
        if (!s)
            return FL_ENOMEM;
        fl_breaker_record(b, s, k, 0, 0, fl_breaker_classify(c, o->category), o->duration_ns,
                          now, NULL, NULL);
    }
    if (g && o->attempt <= 1) {
        fl_gstate *s = fl_robj_state(g, o->key, h, NULL);
        if (!s)
            return FL_ENOMEM;
        fl_budget_deposit(g, s, now);
    }
    return FL_OK;
}

int fl_resil_record(fl_resil_t *r, const fl_resil_outcome_t *o)
{
    if (!r || !o)
        return FL_EINVAL;
    uint64_t h = o->key && o->key[0] ? fl_key_hash(o->key) : 0;
    return record_into(fl_resil_find(r, FL_RESIL_BREAKER, o->breaker),
                       o->attempt <= 1 ? fl_resil_find(r, FL_RESIL_BUDGET, o->budget) : NULL, o, h,
                       o->now ? o->now : fl_resil_clock(r));
}

int fl_breaker_report(fl_resil_t *r, const char *name, const char *key, const char *category)
{
    fl_resil_outcome_t o = {name, NULL, key, category, -1, 2, 0};
    if (!r || !name)
        return FL_EINVAL;
    if (!fl_resil_find(r, FL_RESIL_BREAKER, name))
        return FL_ENOENT;
    return fl_resil_record(r, &o);
}

static int refuse(char *reason, size_t cap, const char *why)
{
    if (reason && cap) {
        size_t n = strnlen(why, cap - 1);
        memcpy(reason, why, n);
        reason[n] = '\0';
    }
    return FL_EREFUSED;
}

/* The retry gate on breaker b and budget g (either may be NULL). */
static int gate_on(fl_robj *b, fl_robj *g, const char *key, uint64_t h, int64_t now, char *reason, size_t cap)
{
    int64_t ra = 0;
    if (b) {
        fl_bstate *s = fl_robj_state(b, key, h, NULL);
        fl_breaker_state st = s ? fl_breaker_peek(b, s, now, &ra) : FL_BREAKER_CLOSED;
        if (st == FL_BREAKER_FORCED_OPEN || (st == FL_BREAKER_OPEN && ra > 0)) {
            fl_breaker_refused(s);
            return refuse(reason, cap, b->reason);
        }
    }
    if (g) {
        fl_gstate *s = fl_robj_state(g, key, h, NULL);
        if (s && !fl_budget_withdraw(g, s, now))
            return refuse(reason, cap, g->reason);
    }
    return FL_OK;
}

int fl_resil_gate_retry(fl_resil_t *r, const char *breaker, const char *budget, const char *key,
                        char *reason, size_t reason_cap)
{
    if (!r)
        return FL_EINVAL;
    if (reason && reason_cap)
        reason[0] = '\0';
    return gate_on(fl_resil_find(r, FL_RESIL_BREAKER, breaker), fl_resil_find(r, FL_RESIL_BUDGET, budget), key,
                   key && key[0] ? fl_key_hash(key) : 0, fl_resil_clock(r), reason, reason_cap);
}

int fl_resil_record_gate(fl_resil_t *r, const fl_resil_outcome_t *o, int record, int gate, char *reason,
                         size_t reason_cap)
{
    if (!r || !o)
        return FL_EINVAL;
    if (reason && reason_cap)
        reason[0] = '\0';
    if (!record && !gate)
        return FL_OK;
    fl_robj *b = fl_resil_find(r, FL_RESIL_BREAKER, o->breaker), *g = fl_resil_find(r, FL_RESIL_BUDGET, o->budget);
    if (!b && !g)
        return FL_OK; /* names the version no longer declares: skipped */
    uint64_t h = o->key && o->key[0] ? fl_key_hash(o->key) : 0;
    int64_t now = o->now ? o->now : fl_resil_clock(r);
    int rc = record ? record_into(b, g, o, h, now) : FL_OK;
    if (!gate)
        return rc;
    /* A record that failed (no memory for the key's state) does not let the
     * retry past the gate: a refusal wins over the record's error. */
    int grc = gate_on(b, g, o->key, h, now, reason, reason_cap);
    return grc != FL_OK ? grc : rc;
}
