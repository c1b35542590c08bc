/*
 * shared.c -- the part of an engine that deciding threads touch: the
 * published version and its generation, the graveyard of versions the
 * decide path let go of, and the pointers to the per-engine services
 * (options, sandbox watchdog, resilience registry).  It lives in the core
 * layer so that deciding and the Lua side never call up into the engine
 * object (engine/engine.c), which owns and publishes into it.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void fl_shared_init(struct fl_shared *sh, const fl_engine_options_t *opts)
{
    sh->opts = opts;
    pthread_mutex_init(&sh->swap, NULL);
    pthread_mutex_init(&sh->grave, NULL);
    atomic_init(&sh->gen, 1);
    atomic_init(&sh->nctx, 0);
    atomic_init(&sh->handler_users, 0);
    memset(&sh->obs, 0, sizeof sh->obs);
    pthread_mutex_init(&sh->obs.mu, NULL);
    atomic_init(&sh->on_decision, NULL);
    atomic_init(&sh->declog, NULL);
    atomic_init(&sh->errreg, NULL);
    atomic_init(&sh->alertsink, NULL);
    sh->alerts = NULL;
}

/* The 16 gRPC-style top-level categories (docs/taxonomy.md), "ok" and
 * "other" for any top-level name a policy invents: a metric label drawn
 * from this table cannot grow the number of series. */
const char *const fl_obs_category_names[FL_OBS_NCAT] = {
    "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
    "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
    "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated", "ok", "other",
};

/* Upper bounds of the decide duration histogram, nanoseconds (integers:
 * the decide path compares without a division; metrics.c prints seconds). */
const uint64_t fl_obs_bucket_ns[FL_OBS_NBUCKET - 1] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 10000000, 100000000,
};

int fl_obs_category_index(const char *c)
{
    if (!c) return 1;
    size_t n = strcspn(c, ".");
    for (int i = 0; i < FL_OBS_NCAT - 1; i++)
        if (fl_obs_category_names[i][0] == c[0] && strlen(fl_obs_category_names[i]) == n &&
            memcmp(fl_obs_category_names[i], c, n) == 0)
            return i;
    return FL_OBS_NCAT - 1;
}

static void ctr_add(struct fl_obs_ctr *to, struct fl_obs_ctr *from, int locked)
{
    _Atomic uint64_t *a = &to->decisions[0][0], *b = &from->decisions[0][0];
    size_t n = sizeof *to / sizeof *a; /* the struct is nothing but counters */
    for (size_t i = 0; i < n; i++) {
        uint64_t v = atomic_load_explicit(&b[i], memory_order_relaxed);
        if (locked) atomic_fetch_add_explicit(&a[i], v, memory_order_relaxed);
        else atomic_store_explicit(&a[i], atomic_load_explicit(&a[i], memory_order_relaxed) + v, memory_order_relaxed);
    }
}

void fl_obs_sum(struct fl_obs *o, struct fl_obs_ctr *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&o->mu);
    ctr_add(out, &o->base, 0);
    for (struct fl_obs_blk *b = o->live; b; b = b->next) ctr_add(out, &b->c, 0);
    pthread_mutex_unlock(&o->mu);
}

struct fl_obs_blk *fl_obs_attach(struct fl_obs *o)
{
    struct fl_obs_blk *b = aligned_alloc(64, (sizeof *b + 63) & ~(size_t)63); /* no line shared with another context's */
    if (!b) return NULL;
    memset(b, 0, sizeof *b);
    pthread_mutex_lock(&o->mu);
    b->next = o->live;
    o->live = b;
    pthread_mutex_unlock(&o->mu);
    return b;
}

void fl_obs_detach(struct fl_obs *o, struct fl_obs_blk *b)
{
    if (!b) return;
    pthread_mutex_lock(&o->mu);
    for (struct fl_obs_blk **p = &o->live; *p; p = &(*p)->next)
        if (*p == b) {
            *p = b->next;
            break;
        }
    ctr_add(&o->base, &b->c, 1); /* under mu: a sum sees it in the block or in base, once */
    pthread_mutex_unlock(&o->mu);
    free(b);
}

void fl_shared_destroy(struct fl_shared *sh)
{
    fl_shared_bury(sh);
    pthread_mutex_destroy(&sh->obs.mu);
    pthread_mutex_destroy(&sh->grave);
    pthread_mutex_destroy(&sh->swap);
}

unsigned fl_shared_generation(const struct fl_shared *sh)
{
    return atomic_load_explicit(&((struct fl_shared *)sh)->gen, memory_order_acquire);
}

fl_version *fl_shared_acquire(struct fl_shared *sh, unsigned *gen)
{
    pthread_mutex_lock(&sh->swap);
    fl_version *v = sh->current;
    if (v) fl_version_ref(v);
    *gen = atomic_load_explicit(&sh->gen, memory_order_relaxed);
    pthread_mutex_unlock(&sh->swap);
    return v;
}

void fl_shared_release(struct fl_shared *sh, fl_version *v)
{
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_lock(&sh->grave);
    fl_version **g = realloc(sh->graveyard, (sh->ngrave + 1) * sizeof *g);
    if (g) {
        sh->graveyard = g;
        sh->graveyard[sh->ngrave++] = v;
    }
    pthread_mutex_unlock(&sh->grave);
    if (!g) { /* cannot defer: free it here rather than leak it */
        atomic_store(&v->refs, 1);
        fl_version_unref(v);
    }
}

void fl_shared_bury(struct fl_shared *sh)
{
    pthread_mutex_lock(&sh->grave);
    fl_version **g = sh->graveyard;
    uint32_t n = sh->ngrave;
    sh->graveyard = NULL;
    sh->ngrave = 0;
    pthread_mutex_unlock(&sh->grave);
    for (uint32_t i = 0; i < n; i++) {
        atomic_store(&g[i]->refs, 1);
        fl_version_unref(g[i]);
    }
    free(g);
}
