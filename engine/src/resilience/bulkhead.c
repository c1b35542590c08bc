/*
 * bulkhead.c -- concurrency limit per key, with an optional bounded queue.
 *
 * Stripes: a key's max_concurrent is split into FL_STRIPES shares, each an
 * in-flight count on its own cache line; stripe i may hold
 * max / FL_STRIPES (+1 for the first max % FL_STRIPES stripes) calls.  A
 * call takes a slot in its thread's stripe (fl_stripe) and, when that share
 * is full, in the next stripes in turn; the slot is given back to the
 * stripe it came from.  The shares add up to max_concurrent, so the limit
 * is a hard bound whatever the threads do.  After a smaller max is
 * declared, stripes may hold more than their new share: until every one is
 * back within it, a call is admitted only if the sum over the stripes,
 * counted after taking its slot, is within max.  A call is refused only when
 * every share was full as it looked (as before, a racing try can see a
 * slot that is about to be freed as taken).  The fast path is one
 * fetch_add on the thread's own line (undone if over the share).
 *
 * Waiting callers (executor only) count themselves in `waiting`, then
 * sleep on a condition variable; a release signals only when someone
 * waits.  Both sides use sequentially consistent operations on the stripe
 * counts and `waiting`, so a release can never miss a waiter that is about
 * to sleep: either the releaser sees the waiter, or the waiter's retry
 * (which looks at every stripe) sees the freed slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resilience/resilience.h"

typedef struct hstripe {
    _Alignas(64) _Atomic int32_t inflight;
} hstripe;

struct fl_hstate {
    _Atomic int32_t waiting;
    _Atomic int32_t max_hi; /* largest max the shares may still hold */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    hstripe st[FL_STRIPES];
};

static const fl_hcfg *cfg_of(fl_robj *o)
{
    return atomic_load_explicit(&o->cfg, memory_order_acquire);
}

void *fl_hstate_new(void *obj)
{
    fl_hstate *s = fl_calloc_line(sizeof *s);
    pthread_condattr_t ca;
    if (!s)
        return NULL;
    atomic_init(&s->max_hi, cfg_of(obj)->max_concurrent);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

void fl_hstate_free(void *st)
{
    fl_hstate *s = st;
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* Stripe i's share of max. */
static int32_t share(int32_t max, int i)
{
    return max / FL_STRIPES + (i < max % FL_STRIPES);
}

static int take_in(fl_hstate *s, int i, int32_t max)
{
    if (atomic_fetch_add(&s->st[i].inflight, 1) < share(max, i))
        return 1;
    atomic_fetch_sub(&s->st[i].inflight, 1);
    return 0;
}

/* After a smaller max was declared, stripes may hold more than their new
 * share: admit only while the whole count is within max, and go back to
 * the fast path once every stripe is within its share. */
static int total_ok(fl_hstate *s, int32_t max, int32_t hi)
{
    int32_t sum = 0, over = 0;
    for (int i = 0; i < FL_STRIPES; i++) {
        int32_t n = atomic_load(&s->st[i].inflight);
        sum += n;
        over |= n > share(max, i);
    }
    if (sum > max)
        return 0;
    if (!over)
        atomic_compare_exchange_strong(&s->max_hi, &hi, max);
    return 1;
}

int fl_bulkhead_try(fl_robj *o, fl_hstate *s)
{
    int32_t max = cfg_of(o)->max_concurrent, hi = atomic_load(&s->max_hi);
    int first = fl_stripe();
    while (max > hi && !atomic_compare_exchange_weak(&s->max_hi, &hi, max)) {
    }
    for (int k = 0; k < FL_STRIPES; k++) {
        int i = (first + k) & (FL_STRIPES - 1);
        if (atomic_load(&s->st[i].inflight) >= share(max, i))
            continue; /* full as it looks: no write to its line */
        if (!take_in(s, i, max))
            continue;
        if (max >= hi || total_ok(s, max, hi))
            return i + 1;
        atomic_fetch_sub(&s->st[i].inflight, 1);
        return 0;
    }
    return 0;
}

void fl_bulkhead_release(fl_hstate *s, int slot)
{
    atomic_fetch_sub(&s->st[slot - 1].inflight, 1);
    if (atomic_load(&s->waiting) > 0) {
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

int32_t fl_bulkhead_inflight(fl_hstate *s)
{
    int32_t n = 0;
    for (int i = 0; i < FL_STRIPES; i++)
        n += atomic_load_explicit(&s->st[i].inflight, memory_order_relaxed);
    return n < 0 ? 0 : n;
}

static void deadline_after(struct timespec *ts, int64_t ns)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ns += ts->tv_nsec;
    ts->tv_sec += (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

int fl_bulkhead_acquire_wait(fl_robj *o, fl_hstate *s, int *slot)
{
    const fl_hcfg *c = cfg_of(o);
    struct timespec until;
    int ok = 0;
    if ((*slot = fl_bulkhead_try(o, s)) != 0)
        return 1;
    if (c->max_queue <= 0 || c->max_wait_ns <= 0)
        return 0;
    if (atomic_fetch_add(&s->waiting, 1) >= c->max_queue) {
        atomic_fetch_sub(&s->waiting, 1);
        return 0;
    }
    deadline_after(&until, c->max_wait_ns);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if ((*slot = fl_bulkhead_try(o, s)) != 0) {
            ok = 2;
            break;
        }
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) {
            ok = (*slot = fl_bulkhead_try(o, s)) != 0 ? 2 : 0;
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub(&s->waiting, 1);
    return ok;
}

int fl_hcfg_build(const char *name, const fl_bulkhead_config_t *c, fl_hcfg *out, fl_diag_t *diag)
{
    memset(out, 0, sizeof *out);
    if (c->max_concurrent < 1 || c->max_concurrent > 1000000 || c->max_queue > 1000000) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA,
                 "bulkhead '%s': max_concurrent must be 1..1000000, max_queue <= 1000000", name);
        return FL_EPOLICY_SCHEMA;
    }
    out->max_concurrent = (int32_t)c->max_concurrent;
    out->max_queue = (int32_t)c->max_queue;
    out->max_wait_ns = (int64_t)c->max_wait_ms * 1000000;
    if (c->key && strlen(c->key) >= sizeof out->key) {
        fl_rdiag(diag, FL_EPOLICY_SCHEMA, "bulkhead '%s': key template too long", name);
        return FL_EPOLICY_SCHEMA;
    }
    if (c->key)
        strcpy(out->key, c->key);
    return FL_OK;
}

int fl_bulkhead_declare(fl_resil_t *r, const char *name, const fl_bulkhead_config_t *cfg,
                        fl_diag_t *diag)
{
    fl_hcfg *c;
    int rc;
    if (!r || !cfg || !name || !name[0] || strlen(name) > FL_RNAME_MAX) {
        fl_rdiag(diag, FL_EINVAL, "bulkhead: NULL argument or bad name");
        return FL_EINVAL;
    }
    c = malloc(sizeof *c);
    if (!c)
        return FL_ENOMEM;
    rc = fl_hcfg_build(name, cfg, c, diag);
    if (rc != FL_OK) {
        free(c);
        return rc;
    }
    return fl_resil_install(r, FL_RESIL_BULKHEAD, name, c, diag);
}
