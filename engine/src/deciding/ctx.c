/*
 * ctx.c -- a deciding context: per-thread scratch (PCRE2 match data,
 * candidate lists, render buffers), the pinned version and the Lua handler
 * state.  A context belongs to one engine's shared part (core/shared.c);
 * fl_ctx_new in engine/engine.c opens one on the engine's, and the examples
 * of a version being loaded open one on a private, isolated shared part.
 */
#include <stdlib.h>

#include "core.h"
#include "deciding.h"
#include "sandbox.h"

int fl_ctx_open(struct fl_shared *sh, fl_engine_t *e, fl_ctx_t **out)
{
    fl_ctx_t *c = calloc(1, sizeof *c);
    if (!c) return FL_ENOMEM;
    c->engine = e;
    c->sh = sh;
    c->last_locale_idx = -1;
    c->lmem.cap = sh->opts->lua_memory_cap;
    uint64_t seed = sh->opts->seed;
    if (seed) seed += (uint64_t)atomic_fetch_add(&sh->nctx, 1) * 0x9e3779b97f4a7c15ull;
    else atomic_fetch_add(&sh->nctx, 1);
    fl_rng_seed(&c->rng, seed);
    /* The jitter seeds' stream: from the configured seed when there is one
     * (seeded runs repeat), else from the OS like `rng`.  Its own constant
     * keeps it apart from `rng`, which the same seed starts. */
    if (seed) {
        c->seed_stream = seed ^ 0x6a09e667f3bcc909ull;
    } else {
        fl_rng os;
        fl_rng_seed(&os, 0);
        c->seed_stream = fl_rng_next(&os);
    }
    c->id_clock = fl_id_clock();
    *out = c;
    return FL_OK;
}

int fl_ctx_set_next_seed(fl_ctx_t *ctx, uint64_t seed)
{
    if (!ctx) return FL_EINVAL;
    ctx->next_seed = seed;
    ctx->has_next_seed = 1;
    return FL_OK;
}

void fl_ctx_close(fl_ctx_t *c)
{
    if (!c) return;
    fl_health_flush(c);
    fl_obs_detach(&c->sh->obs, c->obs);
    if (c->regb) atomic_store_explicit(&c->regb->free, 1, memory_order_release);
    fl_handler_close(c);
    if (c->ver) fl_version_unref(c->ver);
    if (c->uses_handlers) atomic_fetch_sub(&c->sh->handler_users, 1);
    atomic_fetch_sub(&c->sh->nctx, 1);
    pcre2_match_data_free(c->md);
    free(c->cand);
    free(c->stamp);
    fl_sb_free(&c->scratch);
    fl_sb_free(&c->explain);
    free(c);
}
