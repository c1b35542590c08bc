/*
 * health.c -- counting a version's health while it serves, and the canary
 * check after a reload.  Each context counts its decisions locally (no
 * shared cache line per decision) and adds them to the version's atomics
 * every FL_HEALTH_FLUSH decisions or when it moves to another version.  A
 * flush of a version on probation compares its shares of policy failures,
 * `unknown` and `fail` with the thresholds and with the previous version's
 * shares; once one is crossed, the engine is told (sh->on_canary) once.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "deciding.h"

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Why the canary trips, or NULL while v looks healthy. */
static const char *verdict(fl_version *v, char *why, size_t n)
{
    const struct fl_canary_conf *c = &v->canary;
    uint64_t dec = atomic_load_explicit(&v->health.decisions, memory_order_relaxed);
    if (dec < c->min_decisions || dec == 0) return NULL;
    double fr = (double)atomic_load_explicit(&v->health.failures, memory_order_relaxed) / (double)dec;
    double ur = (double)atomic_load_explicit(&v->health.unknown, memory_order_relaxed) / (double)dec;
    double xr = (double)atomic_load_explicit(&v->health.fails, memory_order_relaxed) / (double)dec;
    if (fr > c->max_failure_rate && fr > v->base_failure) {
        snprintf(why, n, "policy failures on %.2f%% of %llu decisions (limit %.2f%%)", fr * 100,
                 (unsigned long long)dec, c->max_failure_rate * 100);
        return why;
    }
    if (v->base_valid && ur > v->base_unknown + c->max_unknown_increase) {
        snprintf(why, n, "unknown on %.2f%% of %llu decisions, %.2f%% before (limit +%.2f points)", ur * 100,
                 (unsigned long long)dec, v->base_unknown * 100, c->max_unknown_increase * 100);
        return why;
    }
    if (v->base_valid && xr > v->base_fail + c->max_fail_increase) {
        snprintf(why, n, "action fail on %.2f%% of %llu decisions, %.2f%% before (limit +%.2f points)", xr * 100,
                 (unsigned long long)dec, v->base_fail * 100, c->max_fail_increase * 100);
        return why;
    }
    return NULL;
}

static void check_canary(fl_ctx_t *ctx, fl_version *v)
{
    uint64_t until = atomic_load_explicit(&v->canary_until_ns, memory_order_relaxed);
    if (!until || !ctx->sh->on_canary || atomic_load_explicit(&v->canary_tripped, memory_order_relaxed)) return;
    if (mono_ns() > until) { /* probation over: healthy */
        atomic_store_explicit(&v->canary_until_ns, 0, memory_order_relaxed);
        return;
    }
    char why[200];
    if (verdict(v, why, sizeof why) && atomic_exchange(&v->canary_tripped, 1) == 0)
        ctx->sh->on_canary(ctx->sh, v, why);
}

void fl_health_flush(fl_ctx_t *ctx)
{
    fl_version *v = ctx->hl.v;
    if (!v || !ctx->hl.decisions) return;
    atomic_fetch_add_explicit(&v->health.decisions, ctx->hl.decisions, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->health.failures, ctx->hl.failures, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->health.unknown, ctx->hl.unknown, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->health.fails, ctx->hl.fails, memory_order_relaxed);
    ctx->hl.decisions = ctx->hl.failures = ctx->hl.unknown = ctx->hl.fails = 0;
    check_canary(ctx, v);
}

void fl_health_note(fl_ctx_t *ctx, const fl_decision_t *d)
{
    if (ctx->hl.v != ctx->ver) {
        fl_health_flush(ctx);
        ctx->hl.v = ctx->ver;
    }
    if (!ctx->hl.v) return;
    ctx->hl.decisions++;
    if (d->off[FL_DS_ERROR]) ctx->hl.failures++;
    if (d->action == FL_ACTION_FAIL) ctx->hl.fails++;
    const char *cat = fl_decision_get(d, FL_DS_CATEGORY);
    size_t n = d->len[FL_DS_CATEGORY]; /* known: no strncmp call per decision */
    if (cat && n >= 7 && memcmp(cat, "unknown", 7) == 0 && (n == 7 || cat[7] == '.')) ctx->hl.unknown++;
    if (ctx->hl.decisions >= FL_HEALTH_FLUSH) fl_health_flush(ctx);
}
