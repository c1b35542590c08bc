/*
 * admit.c -- the admission API: resolve a guard (breaker, limiter, bulkhead,
 * budget) once, then ask per call whether it may proceed (fl_admit) and
 * report how it went (fl_complete).  No locks, no allocation after a key's
 * first use; a refusal gives back whatever earlier checks took.
 */
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

/* flags_: these bits, and the bulkhead slot held from bit 8. */
enum { P_LIVE = 1, P_HALF = 2, P_BULK = 4, P_SLOT_SHIFT = 8 };

int fl_guard_resolve(fl_resil_t *r, const fl_guard_spec_t *spec, struct fl_guard *g,
                     fl_diag_t *diag)
{
    static const char *const KIND[4] = {"breaker", "limiter", "bulkhead", "retry_budget"};
    const char *names[4] = {spec->breaker, spec->limiter, spec->bulkhead, spec->budget};
    fl_robj *objs[4] = {NULL, NULL, NULL, NULL};
    for (int k = 0; k < 4; k++) {
        if (!names[k])
            continue;
        objs[k] = fl_resil_find(r, (fl_resil_kind)k, names[k]);
        if (!objs[k]) {
            fl_rdiag(diag, FL_ENOENT, "%s '%s' is not declared", KIND[k], names[k]);
            return FL_ENOENT;
        }
    }
    g->r = r;
    g->breaker = objs[0];
    g->limiter = objs[1];
    g->bulkhead = objs[2];
    g->budget = objs[3];
    return FL_OK;
}

static void guard_free(void *p)
{
    free(p);
}

int fl_guard_new(fl_resil_t *r, const fl_guard_spec_t *spec, fl_guard_t **out, fl_diag_t *diag)
{
    struct fl_guard *g;
    int rc;
    if (!r || !spec || !out)
        return FL_EINVAL;
    *out = NULL;
    g = calloc(1, sizeof *g);
    if (!g)
        return FL_ENOMEM;
    rc = fl_guard_resolve(r, spec, g, diag);
    if (rc != FL_OK) {
        free(g);
        return rc;
    }
    fl_resil_own(r, g, guard_free);
    *out = g;
    return FL_OK;
}

void fl_guard_free(fl_guard_t *g)
{
    if (!g)
        return;
    fl_resil_disown(g->r, g);
    free(g);
}

static int refuse(fl_permit_t *p, fl_robj *o, int64_t retry_after)
{
    p->reason = o->reason;
    p->retry_after_ns = retry_after;
    p->flags_ = 0;
    return FL_EREFUSED;
}

int fl_admit(fl_guard_t *g, const char *key, fl_permit_t *p)
{
    int64_t now, wait = 0;
    uint64_t h = 0;
    fl_bstate *bs = NULL;
    fl_lstate *ls = NULL;
    fl_hstate *hs = NULL;
    const char *k = "";
    int half = 0, slot = 0;
    if (!g || !p)
        return FL_EINVAL;
    memset(p, 0, sizeof *p);
    now = fl_resil_clock(g->r);
    if (key && key[0])
        h = fl_key_hash(key);
    if (g->breaker) {
        if (!(bs = fl_robj_state(g->breaker, key, h, &k)))
            return FL_ENOMEM;
        if (!fl_breaker_try(g->breaker, bs, k, now, &p->gen_, &half, &wait))
            return refuse(p, g->breaker, wait);
    }
    if (g->limiter) {
        if (!(ls = fl_robj_state(g->limiter, key, h, NULL)))
            goto nomem;
        if (!fl_limiter_take(g->limiter, ls, now, 0, &wait)) {
            if (bs)
                fl_breaker_unpermit(bs, p->gen_, half);
            return refuse(p, g->limiter, wait);
        }
    }
    if (g->bulkhead) {
        if (!(hs = fl_robj_state(g->bulkhead, key, h, NULL)))
            goto nomem;
        if (!(slot = fl_bulkhead_try(g->bulkhead, hs))) {
            if (ls)
                fl_limiter_untake(g->limiter, ls);
            if (bs)
                fl_breaker_unpermit(bs, p->gen_, half);
            return refuse(p, g->bulkhead, 0);
        }
    }
    if (g->budget) {
        fl_gstate *gs = fl_robj_state(g->budget, key, h, NULL);
        if (gs)
            fl_budget_deposit(g->budget, gs, now);
    }
    p->p_[0] = g;
    p->p_[1] = bs;
    p->p_[2] = hs;
    p->p_[3] = (void *)k;
    p->start_ns_ = now;
    p->flags_ = P_LIVE | (half ? P_HALF : 0) | (hs ? P_BULK : 0) |
                ((uint32_t)slot << P_SLOT_SHIFT);
    return FL_OK;
nomem:
    if (bs)
        fl_breaker_unpermit(bs, p->gen_, half);
    memset(p, 0, sizeof *p);
    return FL_ENOMEM;
}

static int finish_at(fl_permit_t *p, const char *category, int have_outcome, int64_t at)
{
    struct fl_guard *g;
    if (!p)
        return FL_EINVAL;
    if (!(p->flags_ & P_LIVE))
        return FL_ESTATE;
    g = p->p_[0];
    if (p->p_[1]) {
        fl_robj *o = g->breaker;
        const fl_bcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
        int out = have_outcome ? fl_breaker_classify(c, category) : FL_OUT_IGNORED;
        int64_t now = at, dur = -1; /* -1: unknown, never slow */
        /* A success needs no end time unless the breaker's slow-call rule
         * or time window does; a failure may open it (open_until). */
        if (now < 0 && (c->timed || out != FL_OUT_SUCCESS))
            now = fl_resil_clock(g->r);
        if (now >= 0)
            dur = now - p->start_ns_;
        else
            now = p->start_ns_;
        fl_breaker_record(o, p->p_[1], p->p_[3], p->gen_, (p->flags_ & P_HALF) != 0, out, dur,
                          now, NULL, NULL);
    }
    if (p->flags_ & P_BULK)
        fl_bulkhead_release(p->p_[2], (int)(p->flags_ >> P_SLOT_SHIFT));
    p->flags_ = 0;
    return FL_OK;
}

int fl_complete(fl_permit_t *p, const char *category)
{
    return finish_at(p, category, 1, -1);
}

int fl_complete_at(fl_permit_t *p, const char *category, int64_t now)
{
    return finish_at(p, category, 1, now);
}

int fl_permit_release(fl_permit_t *p)
{
    return finish_at(p, NULL, 0, -1);
}
