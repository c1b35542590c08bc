/*
 * limiter.c -- rate limiter: a token bucket kept as GCRA (generic cell rate
 * algorithm).  The state of a bucket is one atomic "theoretical arrival
 * time"; taking a token is one CAS, and a caller allowed to wait gets a
 * reserved slot and the time to wait for it.
 *
 * Stripes: a key whose burst is at least FL_STRIPES tokens is FL_STRIPES
 * buckets on their own cache lines, each with 1/FL_STRIPES of the rate
 * (FL_STRIPES times the interval) and its share of the burst's tokens (the
 * first burst % FL_STRIPES buckets hold one more).  A call
 * takes a token from its thread's bucket (fl_stripe), else from the next
 * ones in turn; only when none has a token now does it reserve a future one
 * (max_wait) in the bucket that has one soonest, or refuse with that wait.
 * Each bucket holds at most its share, so over any interval T the key
 * admits at most burst + rate * T, as one bucket would: the rate stays a
 * hard bound, and one thread alone still gets all of it.  A smaller burst
 * keeps one bucket (stripe 0): a share would be under one token.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

typedef struct lstripe {
    _Alignas(64) _Atomic int64_t tat;
} lstripe;

struct fl_lstate {
    _Atomic int64_t lease;    /* fleet scope: tokens leased from Redis, unspent */
    _Atomic int64_t refused;  /* fleet scope: refusals since the last round */
    int n;                    /* buckets the tats are laid out for (declare only) */
    int64_t iv;               /* and their interval */
    lstripe st[FL_STRIPES];
};

static int buckets(const struct fl_lcfg *c, int64_t *interval);

static const fl_lcfg *cfg_of(fl_robj *o)
{
    return atomic_load_explicit(&o->cfg, memory_order_acquire);
}

void *fl_lstate_new(void *obj)
{
    fl_lstate *s = fl_calloc_line(sizeof(fl_lstate));
    if (s)
        s->n = buckets(cfg_of(obj), &s->iv);
    return s;
}

/* A new config moved a key between one bucket and stripes: carry the
 * tokens it owes (taken ahead of the refill) into the new layout, so the
 * change neither hands out a fresh burst nor takes one away. */
static void relayout(void *st, void *arg)
{
    fl_lstate *s = st;
    fl_robj *o = arg;
    int64_t now = fl_resil_clock(o->r), iv, owed = 0;
    int n = buckets(cfg_of(o), &iv);
    if (n == s->n)
        return; /* same layout: the tats carry over as they are */
    for (int i = 0; i < s->n; i++) {
        int64_t tat = atomic_load_explicit(&s->st[i].tat, memory_order_relaxed);
        if (tat > now)
            owed += (tat - now + s->iv - 1) / s->iv;
    }
    for (int i = 0; i < n; i++)
        atomic_store_explicit(&s->st[i].tat, now + (owed / n + (i < owed % n)) * iv,
                              memory_order_relaxed);
    s->n = n;
    s->iv = iv;
}

void fl_limiter_reconfig(fl_robj *o)
{
    relayout(o->dflt, o);
    fl_keymap_each(&o->keys, relayout, o);
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

/* The buckets of a key under config c: how many, and each one's interval. */
static int buckets(const fl_lcfg *c, int64_t *interval)
{
    int n = c->burst_ns >= FL_STRIPES * c->interval_ns ? FL_STRIPES : 1;
    *interval = c->interval_ns * n;
    return n;
}

/* Bucket i's burst in ns: its share of the burst's tokens (the first
 * burst % n buckets hold one more), each worth its interval. */
static int64_t burst_of(const fl_lcfg *c, int n, int64_t iv, int i)
{
    int64_t tokens = c->burst_ns / c->interval_ns;
    return n == 1 ? c->burst_ns : (tokens / n + (i < tokens % n)) * iv;
}

/* Take a token now from bucket b.  1 taken; 0 none now (*wait: until one). */
static int take_now(_Atomic int64_t *b, int64_t burst, int64_t iv, int64_t now, int64_t *wait)
{
    int64_t tat = atomic_load_explicit(b, memory_order_relaxed);
    for (;;) {
        int64_t nt = (tat > now ? tat : now) + iv;
        *wait = nt - now - burst;
        if (*wait > 0)
            return 0;
        if (atomic_compare_exchange_weak_explicit(b, &tat, nt, memory_order_relaxed,
                                                  memory_order_relaxed))
            return 1;
    }
}

/* Reserve the next token of bucket b if it comes within max_wait. */
static int reserve(_Atomic int64_t *b, int64_t burst, int64_t iv, int64_t now,
                   int64_t max_wait_ns, int64_t *wait_ns)
{
    int64_t tat = atomic_load_explicit(b, memory_order_relaxed);
    for (;;) {
        int64_t nt = (tat > now ? tat : now) + iv;
        int64_t wait = nt - now - burst;
        if (wait > max_wait_ns) {
            *wait_ns = wait;
            return 0;
        }
        if (atomic_compare_exchange_weak_explicit(b, &tat, nt, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *wait_ns = wait > 0 ? wait : 0;
            return 1;
        }
    }
}

int fl_limiter_take(fl_robj *o, fl_lstate *s, int64_t now, int64_t max_wait_ns, int64_t *wait_ns)
{
    const fl_lcfg *c = cfg_of(o);
    int64_t iv, wait, best_wait = INT64_MAX;
    int n, first, best = 0;
    if (c->scope == FL_SCOPE_FLEET && atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed))
        return take_leased(c, s, wait_ns);
    n = buckets(c, &iv);
    first = n > 1 ? fl_stripe() : 0;
    for (int k = 0; k < n; k++) {
        int i = (first + k) & (n - 1);
        if (take_now(&s->st[i].tat, burst_of(c, n, iv, i), iv, now, &wait)) {
            *wait_ns = 0;
            return 1;
        }
        if (wait < best_wait) {
            best_wait = wait;
            best = i;
        }
    }
    return reserve(&s->st[best].tat, burst_of(c, n, iv, best), iv, now, max_wait_ns, wait_ns);
}

void fl_limiter_untake(fl_robj *o, fl_lstate *s)
{
    const fl_lcfg *c = cfg_of(o);
    int64_t iv;
    int n;
    if (c->scope == FL_SCOPE_FLEET && atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&s->lease, 1, memory_order_relaxed);
        return;
    }
    /* Into this thread's bucket: a bucket whose tat is behind `now` is
     * full and the token is lost (never more than a share). */
    n = buckets(c, &iv);
    atomic_fetch_sub_explicit(&s->st[n > 1 ? fl_stripe() : 0].tat, iv, memory_order_relaxed);
}

double fl_limiter_available(fl_robj *o, fl_lstate *s, int64_t now)
{
    const fl_lcfg *c = cfg_of(o);
    int64_t iv;
    int n = buckets(c, &iv);
    double v = 0;
    for (int i = 0; i < n; i++) {
        int64_t tat = atomic_load_explicit(&s->st[i].tat, memory_order_relaxed);
        int64_t used = tat > now ? tat - now : 0, burst = burst_of(c, n, iv, i);
        if (used < burst)
            v += (double)(burst - used) / (double)iv;
    }
    return v;
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
