/*
 * observe.c -- the metrics hook on the decide path.  fl_decide calls
 * fl_obs_note once per decision while the engine's metrics are on: a few
 * increments into the context's own block of counters (struct fl_obs_blk,
 * core.h), which engine/metrics.c sums and renders as Prometheus text.
 * One thread at a time writes a context's block, so an increment is a
 * plain load and store: no locked instruction, no cache line another
 * deciding thread writes.  No lock, no I/O; one allocation, the block, on
 * the context's first observed decision.
 *
 * The duration histogram is sample-and-hold: fl_decide reads the clock
 * (twice) for 1 decision in FL_OBS_TIME_EVERY on each context, and every
 * decision is observed once, with the duration last measured on its
 * context.  _count and every bucket's count stay exact in number (each
 * decision is one observation, +Inf == _count); which bucket and _sum are
 * estimated from the timed decisions (docs/observability.md).
 */
#include <string.h>
#include <time.h>

#include "core.h"
#include "deciding.h"

uint64_t fl_obs_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void fl_obs_hold(fl_ctx_t *ctx, uint64_t dur_ns)
{
    int b = 0;
    while (b < FL_OBS_NBUCKET - 1 && dur_ns > fl_obs_bucket_ns[b]) b++;
    ctx->obs_held_ns = dur_ns;
    ctx->obs_bucket = b;
}

/* The metric index of a category, through a one-entry cache on the context:
 * consecutive decisions mostly share their top-level category. */
static int category_index(fl_ctx_t *ctx, const char *cat, size_t n)
{
    const char *dot = cat ? memchr(cat, '.', n) : NULL;
    size_t top = dot ? (size_t)(dot - cat) : n;
    if (cat && top < sizeof ctx->obs_cat && top + 1 == ctx->obs_cat_len && memcmp(ctx->obs_cat, cat, top) == 0)
        return ctx->obs_cat_idx;
    int c = fl_obs_category_index(cat);
    if (cat && top < sizeof ctx->obs_cat) {
        memcpy(ctx->obs_cat, cat, top);
        ctx->obs_cat_len = (uint8_t)(top + 1); /* 0: nothing cached */
        ctx->obs_cat_idx = (uint8_t)c;
    }
    return c;
}

/* +n on a counter: a plain load and store on the context's own block, a
 * locked add on the shared base (own == 0: no block could be allocated). */
static inline void bump(_Atomic uint64_t *p, uint64_t n, int own)
{
    if (own) atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n, memory_order_relaxed);
    else atomic_fetch_add_explicit(p, n, memory_order_relaxed);
}

void fl_obs_note(fl_ctx_t *ctx, const fl_decision_t *d, int rc)
{
    struct fl_obs *o = &ctx->sh->obs;
    if (!ctx->obs) ctx->obs = fl_obs_attach(o);
    struct fl_obs_ctr *c = ctx->obs ? &ctx->obs->c : &o->base;
    int own = ctx->obs != NULL;
    if (rc == FL_ESTATE) {
        bump(&c->no_policy, 1, own);
        return;
    }
    int k = d->obs_cat_off && d->obs_cat_off == d->off[FL_DS_CATEGORY] /* the rule's, known at compile */
                ? d->obs_cat
                : category_index(ctx, fl_decision_get(d, FL_DS_CATEGORY), d->len[FL_DS_CATEGORY]);
    unsigned a = (unsigned)d->action < 4 ? (unsigned)d->action : FL_ACTION_FAIL;
    bump(&c->decisions[k][a], 1, own);
    bump(&c->dur_bucket[ctx->obs_bucket], 1, own);
    bump(&c->dur_sum_ns, ctx->obs_held_ns, own);
}
