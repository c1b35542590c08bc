/*
 * bindings.c -- the fl_bindings object: creation from options, teardown, the
 * clock used for cache TTLs.  The parts live in their own modules (see
 * bindings.h); this file only wires them together.
 */
#include "bindings.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FL_MAX_ROOTS 64

static uint64_t default_clock_ns(void *ud)
{
    (void)ud;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fl_bindings_now_ns(const fl_bindings_t *b)
{
    uint64_t t = b->clock_ns(b->clock_ud);
    return t ? t : 1; /* 0 means "empty" in the cache */
}

int fl_bindings_new(const fl_bindings_options_t *opts, fl_bindings_t **out)
{
    fl_bindings_options_t o;
    fl_bindings_t *b = NULL;
    int rc;

    if (!out)
        return FL_EINVAL;
    *out = NULL;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    if (o.storage_roots_count > FL_MAX_ROOTS || (o.storage_roots_count && !o.storage_roots))
        return FL_EINVAL;
    if (!o.cache_ttl_ms)
        o.cache_ttl_ms = 1000;
    if (!o.cpu_window_ms)
        o.cpu_window_ms = 100;
    if (o.cpu_window_ms > 1000)
        o.cpu_window_ms = 1000;
    if (!o.checkpoints_kept)
        o.checkpoints_kept = 16;

    b = calloc(1, sizeof *b);
    if (!b)
        return FL_ENOMEM;
    b->clock_ns = o.clock_ns ? o.clock_ns : default_clock_ns;
    b->clock_ud = o.clock_ud;
    b->io.fault = o.io_fault;
    b->io.ud = o.io_fault_ud;
    rc = fl_rescache_init(&b->cache, (uint64_t)o.cache_ttl_ms * 1000000u,
                          (uint64_t)o.cpu_window_ms * 1000000u);
    if (rc)
        goto fail_cache;
    rc = fl_confine_init(&b->confine, o.storage_roots, o.storage_roots_count);
    if (rc)
        goto fail_confine;
    if (o.data_dir) {
        rc = fl_ckstore_open(o.data_dir, o.checkpoints_kept, &b->ckpt);
        if (rc)
            goto fail_store;
    }
    *out = b;
    return FL_OK;

fail_store:
    fl_confine_fini(&b->confine);
fail_confine:
    fl_rescache_fini(&b->cache);
fail_cache:
    free(b);
    return rc;
}

void fl_bindings_free(fl_bindings_t *b)
{
    if (!b)
        return;
    fl_ckstore_close(b->ckpt);
    fl_confine_fini(&b->confine);
    fl_rescache_fini(&b->cache);
    free(b);
}
