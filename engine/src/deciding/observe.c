/*
 * observe.c -- the metrics hook on the decide path.  fl_decide calls
 * fl_obs_note once per decision while the engine's metrics are on: a few
 * relaxed atomic increments into fixed-size arrays of struct fl_obs (core.h),
 * which engine/metrics.c renders as Prometheus text.  No lock, no
 * allocation, no I/O.
 *
 * The duration histogram is sample-and-hold: fl_decide reads the clock
 * (twice) for 1 decision in FL_OBS_TIME_EVERY on each context, and every
 * decision is observed once, with the duration last measured on its
 * context.  _count and every bucket's count stay exact in number (each
 * decision is one observation, +Inf == _count); which bucket and _sum are
 * estimated from the timed decisions (docs/observability.md).
 */
#include <time.h>

#include "core.h"
#include "deciding.h"

uint64_t fl_obs_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void fl_obs_note(struct fl_shared *sh, const fl_decision_t *d, int rc, uint64_t dur_ns)
{
    struct fl_obs *o = &sh->obs;
    if (rc == FL_ESTATE) {
        atomic_fetch_add_explicit(&o->no_policy, 1, memory_order_relaxed);
        return;
    }
    int c = fl_obs_category_index(fl_decision_get(d, FL_DS_CATEGORY));
    unsigned a = (unsigned)d->action < 4 ? (unsigned)d->action : FL_ACTION_FAIL;
    atomic_fetch_add_explicit(&o->decisions[c][a], 1, memory_order_relaxed);
    int b = 0;
    while (b < FL_OBS_NBUCKET - 1 && dur_ns > fl_obs_bucket_ns[b]) b++;
    atomic_fetch_add_explicit(&o->dur_bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->dur_sum_ns, dur_ns, memory_order_relaxed);
}
