/*
 * registry.c -- fl_resil_t: the named objects (breakers, limiters, bulkheads,
 * budgets), their configs, and the memory that must outlive readers.
 *
 * The object list is an immutable array published through an atomic pointer
 * (copy on declare); lookups take no lock.  A declaration of an existing
 * name swaps in a new immutable config and lets the kind resize its state;
 * the old config and array go on the retire list, freed with the registry.
 */
#define _GNU_SOURCE /* sched_getcpu */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resilience/resilience.h"

struct fl_owned {
    struct fl_owned *next;
    void *p;
    void (*fn)(void *);
};

typedef struct kind_ops {
    const char *reason; /* refusal reason prefix */
    void *(*make)(void *obj);
    void (*free_state)(void *st);
    void (*reconfig)(fl_robj *o);
} kind_ops;

static void no_reconfig(fl_robj *o)
{
    (void)o;
}

static const kind_ops OPS[4] = {
    {"breaker_open", fl_bstate_new, fl_bstate_free, fl_breaker_reconfig},
    {"rate_limited", fl_lstate_new, free, fl_limiter_reconfig},
    {"bulkhead_full", fl_hstate_new, fl_hstate_free, no_reconfig},
    {"retry_budget", fl_gstate_new, fl_gstate_free, fl_budget_reconfig},
};

static int64_t mono_clock(void *user)
{
    struct timespec ts;
    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void real_sleep(void *user, int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    (void)user;
    if (ns > 0)
        while (nanosleep(&ts, &ts) != 0) {
        }
}

void fl_rdiag(fl_diag_t *d, int status, const char *fmt, ...)
{
    va_list ap;
    if (!d)
        return;
    memset(d, 0, sizeof *d);
    d->status = status;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
}

int fl_resil_new(const fl_resil_options_t *opts, fl_resil_t **out)
{
    fl_resil_t *r;
    fl_objtab *t;
    if (!out)
        return FL_EINVAL;
    *out = NULL;
    r = calloc(1, sizeof *r);
    t = calloc(1, sizeof *t);
    if (!r || !t) {
        free(r);
        free(t);
        return FL_ENOMEM;
    }
    if (opts)
        r->opt = *opts;
    if (!r->opt.clock)
        r->opt.clock = mono_clock;
    if (!r->opt.sleep)
        r->opt.sleep = real_sleep;
    if (!r->opt.max_keys)
        r->opt.max_keys = 10000;
    atomic_init(&r->rng, r->opt.seed ? r->opt.seed : (uint64_t)mono_clock(NULL));
    pthread_mutex_init(&r->mu, NULL);
    atomic_init(&r->objs, t);
    *out = r;
    return FL_OK;
}

static void free_obj(fl_robj *o)
{
    const kind_ops *k = &OPS[o->kind];
    fl_keymap_destroy(&o->keys, k->free_state);
    if (o->dflt)
        k->free_state(o->dflt);
    free((void *)atomic_load_explicit(&o->cfg, memory_order_relaxed));
    free(o);
}

void fl_resil_free(fl_resil_t *r)
{
    fl_objtab *t;
    if (!r)
        return;
    while (r->owned) {
        struct fl_owned *o = r->owned;
        r->owned = o->next;
        o->fn(o->p);
        free(o);
    }
    t = atomic_load_explicit(&r->objs, memory_order_relaxed);
    for (uint32_t i = 0; i < t->n; i++)
        free_obj(t->obj[i]);
    free(t);
    while (r->retired) {
        fl_retired *x = r->retired;
        r->retired = x->next;
        x->fn(x->p);
        free(x);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int64_t fl_resil_now(const fl_resil_t *r)
{
    return r ? fl_resil_clock(r) : 0;
}

void *fl_calloc_line(size_t size)
{
    size_t n = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, n ? n : 64);
    if (p)
        memset(p, 0, n ? n : 64);
    return p;
}

int fl_stripe(void)
{
    int cpu = sched_getcpu(); /* vDSO: a few ns, no system call */
    return cpu < 0 ? 0 : cpu & (FL_STRIPES - 1);
}

int64_t fl_resil_clock(const fl_resil_t *r)
{
    return r->opt.clock(r->opt.clock_user);
}

void fl_resil_sleep(const fl_resil_t *r, int64_t ns)
{
    r->opt.sleep(r->opt.sleep_user, ns);
}

uint64_t fl_resil_rand(fl_resil_t *r, uint64_t n)
{
    /* splitmix64 over an atomic counter: thread-safe, no lock. */
    uint64_t z = atomic_fetch_add_explicit(&r->rng, 0x9E3779B97F4A7C15ull, memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return n ? z % n : 0;
}

fl_robj *fl_resil_find(fl_resil_t *r, fl_resil_kind kind, const char *name)
{
    fl_objtab *t;
    if (!r || !name)
        return NULL;
    t = atomic_load_explicit(&r->objs, memory_order_acquire);
    for (uint32_t i = 0; i < t->n; i++)
        if (t->obj[i]->kind == kind && strcmp(t->obj[i]->name, name) == 0)
            return t->obj[i];
    return NULL;
}

int fl_resil_retire(fl_resil_t *r, void (*fn)(void *), void *p)
{
    fl_retired *x = malloc(sizeof *x);
    if (!x)
        return -1;
    x->fn = fn;
    x->p = p;
    x->next = r->retired; /* r->mu is held by the declaring thread */
    r->retired = x;
    return 0;
}

void fl_resil_own(fl_resil_t *r, void *p, void (*fn)(void *))
{
    struct fl_owned *o = malloc(sizeof *o);
    if (!o)
        return; /* then it is the caller's to free; documented as leak-free path */
    o->p = p;
    o->fn = fn;
    pthread_mutex_lock(&r->mu);
    o->next = r->owned;
    r->owned = o;
    pthread_mutex_unlock(&r->mu);
}

void fl_resil_disown(fl_resil_t *r, void *p)
{
    pthread_mutex_lock(&r->mu);
    for (struct fl_owned **pp = &r->owned; *pp; pp = &(*pp)->next) {
        if ((*pp)->p == p) {
            struct fl_owned *o = *pp;
            *pp = o->next;
            free(o);
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void *fl_robj_state(fl_robj *o, const char *key, uint64_t hash, const char **key_out)
{
    if (!key || !key[0]) {
        if (key_out)
            *key_out = "";
        return o->dflt;
    }
    return fl_keymap_get(&o->keys, key, hash, key_out);
}

static fl_robj *obj_new(fl_resil_t *r, fl_resil_kind kind, const char *name, void *cfg)
{
    fl_robj *o = fl_calloc_line(sizeof *o); /* its shards are line-aligned */
    if (!o)
        return NULL;
    o->kind = kind;
    o->r = r;
    snprintf(o->name, sizeof o->name, "%s", name);
    snprintf(o->reason, sizeof o->reason, "%s:%s", OPS[kind].reason, name);
    atomic_init(&o->cfg, cfg);
    if (fl_keymap_init(&o->keys, r->opt.max_keys, OPS[kind].make, o) != 0)
        goto fail;
    o->dflt = OPS[kind].make(o);
    if (!o->dflt)
        goto fail;
    return o;
fail:
    atomic_store(&o->cfg, NULL);
    free_obj(o);
    return NULL;
}

/* Publish a copy of the object array with `o` appended (r->mu held). */
static int publish(fl_resil_t *r, fl_robj *o)
{
    fl_objtab *old = atomic_load_explicit(&r->objs, memory_order_relaxed);
    fl_objtab *t = malloc(sizeof *t + (old->n + 1) * sizeof(fl_robj *));
    fl_retired *x = malloc(sizeof *x);
    if (!t || !x) {
        free(t);
        free(x);
        return -1;
    }
    memcpy(t->obj, old->obj, old->n * sizeof(fl_robj *));
    t->obj[old->n] = o;
    t->n = old->n + 1;
    x->fn = free;
    x->p = old;
    x->next = r->retired;
    r->retired = x;
    atomic_store_explicit(&r->objs, t, memory_order_release);
    return 0;
}

/* Replace the config of `o` (r->mu held). */
static int update(fl_resil_t *r, fl_robj *o, void *cfg)
{
    fl_retired *x = malloc(sizeof *x);
    if (!x)
        return -1;
    x->fn = free;
    x->p = (void *)atomic_exchange_explicit(&o->cfg, cfg, memory_order_acq_rel);
    x->next = r->retired;
    r->retired = x;
    OPS[o->kind].reconfig(o);
    return 0;
}

int fl_resil_install(fl_resil_t *r, fl_resil_kind kind, const char *name, void *cfg,
                     fl_diag_t *diag)
{
    int rc = FL_OK;
    fl_robj *o;
    pthread_mutex_lock(&r->mu);
    o = fl_resil_find(r, kind, name);
    if (o) {
        if (update(r, o, cfg) != 0)
            rc = FL_ENOMEM;
    } else {
        o = obj_new(r, kind, name, cfg);
        if (!o) {
            rc = FL_ENOMEM;
        } else if (publish(r, o) != 0) {
            free_obj(o); /* frees cfg too */
            cfg = NULL;
            rc = FL_ENOMEM;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (rc != FL_OK) {
        free(cfg);
        fl_rdiag(diag, rc, "out of memory declaring '%s'", name);
    } else if (diag) {
        memset(diag, 0, sizeof *diag);
    }
    return rc;
}
