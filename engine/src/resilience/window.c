/*
 * window.c -- sliding windows for breakers and retry budgets.
 *
 * Count window: a ring of `size` one-byte slots and a sequence number.  A
 * writer takes a sequence number (fetch_add), swaps its outcome into the
 * slot (exchange) and adjusts the failure/slow totals by the difference
 * between the new and the evicted outcome.  Because every change to a slot
 * goes through an exchange whose difference is applied to the totals, the
 * totals always converge to the slots' contents: no count is ever lost.
 * A success added to a full window that holds no failure and no slow call
 * writes nothing (the ring would be the same), so the common case on a hot
 * key only reads the window's first cache line.
 *
 * Time window: `nb` buckets of `bucket_ns`; bucket i holds epoch e where
 * e % nb == i.  A writer that finds an older epoch claims the bucket by CAS
 * to -1, zeroes it and publishes the new epoch; others spin for those few
 * stores.  Counts written into a bucket being recycled were about to expire.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

fl_cwin *fl_cwin_new(uint32_t size)
{
    fl_cwin *w = fl_calloc_line(sizeof *w + size);
    if (!w)
        return NULL;
    w->kind = FL_WINDOW_COUNT;
    w->size = size;
    return w;
}

static void apply_delta(fl_cwin *w, unsigned oldb, unsigned newb)
{
    int df = (int)(newb & 1u) - (int)(oldb & 1u);
    int ds = (int)((newb >> 1) & 1u) - (int)((oldb >> 1) & 1u);
    if (df)
        atomic_fetch_add_explicit(&w->fails, df, memory_order_relaxed);
    if (ds)
        atomic_fetch_add_explicit(&w->slows, ds, memory_order_relaxed);
}

void fl_cwin_add(fl_cwin *w, unsigned bits)
{
    uint64_t n;
    /* A success into a full window of successes changes nothing: every
     * slot is a success, so evicting the oldest for it leaves the same
     * ring whatever its rotation.  Only reads: one hot key scales. */
    if (bits == 0 && atomic_load_explicit(&w->seq, memory_order_relaxed) >= w->size &&
        atomic_load_explicit(&w->fails, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&w->slows, memory_order_relaxed) == 0)
        return;
    n = atomic_fetch_add_explicit(&w->seq, 1, memory_order_relaxed);
    _Atomic uint8_t *slot = &w->slots[n % w->size];
    unsigned old;
    /* Success over success is the common case: avoid the store. */
    if (bits == 0 && atomic_load_explicit(slot, memory_order_relaxed) == 0)
        return;
    old = atomic_exchange_explicit(slot, (uint8_t)bits, memory_order_relaxed);
    apply_delta(w, old, bits);
}

static int64_t clamp(int64_t v, int64_t hi)
{
    return v < 0 ? 0 : v > hi ? hi : v;
}

void fl_cwin_read(fl_cwin *w, int64_t out[3])
{
    uint64_t n = atomic_load_explicit(&w->seq, memory_order_relaxed);
    out[0] = n < w->size ? (int64_t)n : (int64_t)w->size;
    out[1] = clamp(atomic_load_explicit(&w->fails, memory_order_relaxed), out[0]);
    out[2] = clamp(atomic_load_explicit(&w->slows, memory_order_relaxed), out[0]);
}

void fl_cwin_reset(fl_cwin *w)
{
    atomic_store_explicit(&w->seq, 0, memory_order_relaxed);
    for (uint32_t i = 0; i < w->size; i++) {
        unsigned old = atomic_exchange_explicit(&w->slots[i], 0, memory_order_relaxed);
        if (old)
            apply_delta(w, old, 0);
    }
}

void fl_cwin_carry(fl_cwin *to, fl_cwin *from)
{
    uint64_t n = atomic_load_explicit(&from->seq, memory_order_relaxed);
    uint64_t have = n < from->size ? n : from->size;
    uint64_t keep = have < to->size ? have : to->size;
    for (uint64_t i = n - keep; i < n; i++) {
        unsigned b = atomic_load_explicit(&from->slots[i % from->size], memory_order_relaxed);
        fl_cwin_add(to, b);
    }
}

fl_twin *fl_twin_new(uint32_t nb, int64_t bucket_ns)
{
    fl_twin *w = fl_calloc_line(sizeof *w + nb * sizeof(fl_tbucket));
    if (!w)
        return NULL;
    w->kind = FL_WINDOW_TIME;
    w->nb = nb;
    w->bucket_ns = bucket_ns;
    for (uint32_t i = 0; i < nb; i++)
        atomic_init(&w->b[i].epoch, INT64_MIN);
    return w;
}

/* The bucket for epoch e, recycled if it held an older one. */
static fl_tbucket *bucket_for(fl_twin *w, int64_t e)
{
    fl_tbucket *b = &w->b[(uint64_t)e % w->nb];
    for (int spins = 0;; spins++) {
        int64_t cur = atomic_load_explicit(&b->epoch, memory_order_acquire);
        if (cur >= e)
            return b; /* current, or newer (a late writer): count it there */
        if (cur == -1) {
            if (spins > 64)
                sched_yield();
            continue;
        }
        if (atomic_compare_exchange_weak_explicit(&b->epoch, &cur, -1, memory_order_acquire,
                                                  memory_order_relaxed)) {
            for (int k = 0; k < 3; k++)
                atomic_store_explicit(&b->n[k], 0, memory_order_relaxed);
            atomic_store_explicit(&b->epoch, e, memory_order_release);
            return b;
        }
    }
}

void fl_twin_add(fl_twin *w, int64_t now, int64_t d0, int64_t d1, int64_t d2)
{
    fl_tbucket *b = bucket_for(w, now / w->bucket_ns);
    if (d0)
        atomic_fetch_add_explicit(&b->n[0], d0, memory_order_relaxed);
    if (d1)
        atomic_fetch_add_explicit(&b->n[1], d1, memory_order_relaxed);
    if (d2)
        atomic_fetch_add_explicit(&b->n[2], d2, memory_order_relaxed);
}

void fl_twin_sum(fl_twin *w, int64_t now, int64_t out[3])
{
    int64_t e = now / w->bucket_ns;
    out[0] = out[1] = out[2] = 0;
    for (uint32_t i = 0; i < w->nb; i++) {
        int64_t be = atomic_load_explicit(&w->b[i].epoch, memory_order_acquire);
        if (be < 0 || be <= e - (int64_t)w->nb)
            continue;
        for (int k = 0; k < 3; k++)
            out[k] += atomic_load_explicit(&w->b[i].n[k], memory_order_relaxed);
    }
    for (int k = 0; k < 3; k++)
        if (out[k] < 0)
            out[k] = 0;
}

void fl_twin_reset(fl_twin *w)
{
    for (uint32_t i = 0; i < w->nb; i++)
        for (int k = 0; k < 3; k++)
            atomic_store_explicit(&w->b[i].n[k], 0, memory_order_relaxed);
}

void fl_twin_carry(fl_twin *to, fl_twin *from, int64_t now)
{
    for (uint32_t i = 0; i < from->nb; i++) {
        int64_t be = atomic_load_explicit(&from->b[i].epoch, memory_order_acquire);
        int64_t t, n[3];
        if (be < 0)
            continue;
        t = be * from->bucket_ns;
        if (t <= now - (int64_t)to->nb * to->bucket_ns || t > now)
            continue;
        for (int k = 0; k < 3; k++)
            n[k] = atomic_load_explicit(&from->b[i].n[k], memory_order_relaxed);
        fl_twin_add(to, t, n[0], n[1], n[2]);
    }
}
