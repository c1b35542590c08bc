/*
 * limiter.c -- rate limiter: a token bucket kept as GCRA (generic cell rate
 * algorithm).  The whole state is one atomic "theoretical arrival time";
 * taking a token is one CAS, and a caller allowed to wait gets a reserved
 * slot and the time to wait for it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

struct fl_lstate {
    _Atomic int64_t tat;
    _Atomic int64_t lease;    /* fleet scope: tokens leased from Redis, unspent */
    _Atomic int64_t refused;  /* fleet scope: refusals since the last round */
};

static const fl_lcfg *cfg_of(fl_robj *o)
{
    return atomic_load_explicit(&o->cfg, memory_order_acquire);
}

void *fl_lstate_new(void *obj)
{
    (void)obj;
    return fl_calloc_line(sizeof(fl_lstate));
}

/* Fleet scope with a synchroniser up: spend a leased token (never waits). */
static int take_leased(const fl_lcfg *c, fl_lstate *s, int64_t *wait_ns)
{
    int64_t v = atomic_load_explicit(&s->lease, memory_order_relaxed);
    while (v > 0)
        if (atomic_compare_exchange_weak_explicit(&s->lease, &v, v - 1, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *wait_ns = 0;
            return 1;
        }
    atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
    *wait_ns = c->interval_ns;
    return 0;
}

int64_t fl_limiter_fleet_demand(fl_lstate *s, int64_t *leased)
{
    *leased = atomic_load_explicit(&s->lease, memory_order_relaxed);
    return atomic_exchange_explicit(&s->refused, 0, memory_order_relaxed);
}

void fl_limiter_fleet_grant(fl_lstate *s, int64_t tokens)
{
    atomic_fetch_add_explicit(&s->lease, tokens, memory_order_relaxed);
}

int fl_limiter_take(fl_robj *o, fl_lstate *s, int64_t now, int64_t max_wait_ns, int64_t *wait_ns)
{
    const fl_lcfg *c = cfg_of(o);
    int64_t tat;
    if (c->scope == FL_SCOPE_FLEET && atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed))
        return take_leased(c, s, wait_ns);
    tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
    for (;;) {
        int64_t nt = (tat > now ? tat : now) + c->interval_ns;
        int64_t wait = nt - now - c->burst_ns;
        if (wait > max_wait_ns) {
            *wait_ns = wait;
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(&s->tat, &tat, nt, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *wait_ns = wait > 0 ? wait : 0;
            return 1;
        }
    }
}

void fl_limiter_untake(fl_robj *o, fl_lstate *s)
{
    if (cfg_of(o)->scope == FL_SCOPE_FLEET &&
        atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&s->lease, 1, memory_order_relaxed);
        return;
    }
    atomic_fetch_sub_explicit(&s->tat, cfg_of(o)->interval_ns, memory_order_relaxed);
}

double fl_limiter_available(fl_robj *o, fl_lstate *s, int64_t now)
{
    const fl_lcfg *c = cfg_of(o);
    int64_t tat = atomic_load_explicit(&s->tat, memory_order_relaxed);
    int64_t used = tat > now ? tat - now : 0;
    double v = (double)(c->burst_ns - used) / (double)c->interval_ns;
    return v < 0 ? 0 : v;
}

int fl_lcfg_build(const char *name, const fl_limiter_config_t *c, fl_lcfg *out, fl_diag_t *diag)
{
    double burst;
    memset(out, 0, sizeof *out);
    if (!(c->rate > 0) || c->rate > 1e9 || !isfinite(c->rate)) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "limiter '%s': rate must be in (0, 1e9] per second", name);
        return FL_EPOLICY_SCHEMA;
    }
    burst = c->burst ? (double)c->burst : (c->rate < 1 ? 1 : floor(c->rate));
    out->interval_ns = (int64_t)(1e9 / c->rate);
    if (out->interval_ns < 1)
        out->interval_ns = 1;
    out->burst_ns = (int64_t)(burst * (double)out->interval_ns);
    out->max_wait_ns = (int64_t)c->max_wait_ms * 1000000;
    if (c->key && strlen(c->key) >= sizeof out->key) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "limiter '%s': key template too long", name);
        return FL_EPOLICY_SCHEMA;
    }
    if (c->key)
        strcpy(out->key, c->key);
    if (c->scope != FL_SCOPE_LOCAL && c->scope != FL_SCOPE_FLEET) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "limiter '%s': scope must be local or fleet", name);
        return FL_EPOLICY_SCHEMA;
    }
    out->scope = c->scope;
    return FL_OK;
}

int fl_limiter_declare(fl_resil_t *r, const char *name, const fl_limiter_config_t *cfg,
                       fl_diag_t *diag)
{
    fl_lcfg *c;
    int rc;
    if (!r || !cfg || !name || !name[0] || strlen(name) > FL_RNAME_MAX) {
        fl_rdiag(diag, FL_EINVAL, "limiter: NULL argument or bad name");
        return FL_EINVAL;
    }
    c = malloc(sizeof *c);
    if (!c)
        return FL_ENOMEM;
    rc = fl_lcfg_build(name, cfg, c, diag);
    if (rc != FL_OK) {
        free(c);
        return rc;
    }
    return fl_resil_install(r, FL_RESIL_LIMITER, name, c, diag);
}
