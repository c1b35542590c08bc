/*
 * budget.c -- retry budget: retries may be at most `ratio` of the calls seen
 * in a sliding time window (10 buckets), with `min_retries` always allowed,
 * as Envoy's retry budgets and gRPC's retry throttling intend: when a
 * dependency fails wholesale, retries stay a fraction of the traffic instead
 * of multiplying it.
 *
 * A withdrawal counts itself first and checks after; one that finds the
 * budget overdrawn takes itself back.  So concurrent withdrawals may refuse
 * spuriously under contention but never overdraw.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

struct fl_gstate {
    _Atomic(fl_twin *) win; /* n[0] calls, n[1] retries */
    /* fleet scope only (fleet.c) */
    _Atomic int64_t tot_calls, tot_retries;       /* cumulative, published */
    _Atomic int64_t other_calls, other_retries;   /* the rest of the fleet */
};

static fl_twin *win(fl_gstate *s);

void fl_budget_fleet_totals(fl_gstate *s, int64_t now, int64_t *calls, int64_t *retries,
                            int64_t window[2])
{
    int64_t n[3];
    fl_twin_sum(win(s), now, n);
    window[0] = n[0];
    window[1] = n[1];
    *calls = atomic_load_explicit(&s->tot_calls, memory_order_relaxed);
    *retries = atomic_load_explicit(&s->tot_retries, memory_order_relaxed);
}

void fl_budget_fleet_others(fl_gstate *s, int64_t calls, int64_t retries)
{
    atomic_store_explicit(&s->other_calls, calls, memory_order_relaxed);
    atomic_store_explicit(&s->other_retries, retries, memory_order_relaxed);
}

/* Window sums, plus the rest of the fleet's for a fleet-scoped key. */
static void sum(fl_robj *o, fl_gstate *s, int64_t now, int64_t n[3]);

static const fl_gcfg *cfg_of(fl_robj *o)
{
    return atomic_load_explicit(&o->cfg, memory_order_acquire);
}

void *fl_gstate_new(void *obj)
{
    const fl_gcfg *c = cfg_of(obj);
    fl_gstate *s = fl_calloc_line(sizeof *s);
    fl_twin *w = fl_twin_new(c->nb, c->bucket_ns);
    if (!s || !w) {
        free(s);
        free(w);
        return NULL;
    }
    atomic_init(&s->win, w);
    return s;
}

void fl_gstate_free(void *st)
{
    fl_gstate *s = st;
    if (!s)
        return;
    free(atomic_load_explicit(&s->win, memory_order_relaxed));
    free(s);
}

static fl_twin *win(fl_gstate *s)
{
    return atomic_load_explicit(&s->win, memory_order_acquire);
}

static int fleet_on(fl_robj *o, const fl_gcfg *c)
{
    return c->scope == FL_SCOPE_FLEET &&
           atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed);
}

static void sum(fl_robj *o, fl_gstate *s, int64_t now, int64_t n[3])
{
    const fl_gcfg *c = cfg_of(o);
    fl_twin_sum(win(s), now, n);
    if (fleet_on(o, c)) {
        n[0] += atomic_load_explicit(&s->other_calls, memory_order_relaxed);
        n[1] += atomic_load_explicit(&s->other_retries, memory_order_relaxed);
    }
}

void fl_budget_deposit(fl_robj *o, fl_gstate *s, int64_t now)
{
    fl_twin_add(win(s), now, 1, 0, 0);
    if (cfg_of(o)->scope == FL_SCOPE_FLEET)
        atomic_fetch_add_explicit(&s->tot_calls, 1, memory_order_relaxed);
}

static int64_t allowed(const fl_gcfg *c, int64_t calls)
{
    int64_t a = (int64_t)floor(c->ratio * (double)calls);
    return a > c->min_retries ? a : c->min_retries;
}

int fl_budget_withdraw(fl_robj *o, fl_gstate *s, int64_t now)
{
    const fl_gcfg *c = cfg_of(o);
    fl_twin *w = win(s);
    int64_t n[3];
    sum(o, s, now, n);
    if (n[1] >= allowed(c, n[0]))
        return 0;
    fl_twin_add(w, now, 0, 1, 0);
    sum(o, s, now, n);
    if (n[1] > allowed(c, n[0])) {
        fl_twin_add(w, now, 0, -1, 0);
        return 0;
    }
    if (c->scope == FL_SCOPE_FLEET)
        atomic_fetch_add_explicit(&s->tot_retries, 1, memory_order_relaxed);
    return 1;
}

void fl_budget_read(fl_robj *o, fl_gstate *s, int64_t now, int64_t *calls, int64_t *retries,
                    int64_t *left)
{
    int64_t n[3], a;
    sum(o, s, now, n);
    a = allowed(cfg_of(o), n[0]) - n[1];
    if (calls)
        *calls = n[0];
    if (retries)
        *retries = n[1];
    if (left)
        *left = a > 0 ? a : 0;
}

static void resize_one(void *st, void *arg)
{
    fl_gstate *s = st;
    fl_robj *o = arg;
    const fl_gcfg *c = cfg_of(o);
    fl_twin *old = win(s), *nw;
    if (old->nb == c->nb && old->bucket_ns == c->bucket_ns)
        return;
    nw = fl_twin_new(c->nb, c->bucket_ns);
    if (!nw)
        return;
    fl_twin_carry(nw, old, fl_resil_clock(o->r));
    atomic_store_explicit(&s->win, nw, memory_order_release);
    fl_resil_retire(o->r, free, old);
}

void fl_budget_reconfig(fl_robj *o)
{
    resize_one(o->dflt, o);
    fl_keymap_each(&o->keys, resize_one, o);
}

int fl_gcfg_build(const char *name, const fl_budget_config_t *c, fl_gcfg *out, fl_diag_t *diag)
{
    uint32_t ms;
    memset(out, 0, sizeof *out);
    out->ratio = c->ratio ? c->ratio : 0.2;
    if (!(out->ratio > 0) || out->ratio > 100 || !isfinite(out->ratio)) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "retry_budget '%s': ratio must be in (0, 100]", name);
        return FL_EPOLICY_SCHEMA;
    }
    out->min_retries = c->min_retries ? c->min_retries : 10;
    ms = c->window_ms ? c->window_ms : 10000;
    if (ms < 10 || ms > 3600000) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "retry_budget '%s': window_ms must be 10..3600000", name);
        return FL_EPOLICY_SCHEMA;
    }
    out->nb = 10;
    out->bucket_ns = (int64_t)ms * 100000; /* ms * 1e6 / 10 */
    if (c->key && strlen(c->key) >= sizeof out->key) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "retry_budget '%s': key template too long", name);
        return FL_EPOLICY_SCHEMA;
    }
    if (c->key)
        strcpy(out->key, c->key);
    if (c->scope != FL_SCOPE_LOCAL && c->scope != FL_SCOPE_FLEET) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "retry_budget '%s': scope must be local or fleet", name);
        return FL_EPOLICY_SCHEMA;
    }
    out->scope = c->scope;
    return FL_OK;
}

int fl_budget_declare(fl_resil_t *r, const char *name, const fl_budget_config_t *cfg,
                      fl_diag_t *diag)
{
    fl_gcfg *c;
    int rc;
    if (!r || !cfg || !name || !name[0] || strlen(name) > FL_RNAME_MAX) {
        fl_rdiag(diag, FL_EINVAL, "retry_budget: NULL argument or bad name");
        return FL_EINVAL;
    }
    c = malloc(sizeof *c);
    if (!c)
        return FL_ENOMEM;
    rc = fl_gcfg_build(name, cfg, c, diag);
    if (rc != FL_OK) {
        free(c);
        return rc;
    }
    return fl_resil_install(r, FL_RESIL_BUDGET, name, c, diag);
}
