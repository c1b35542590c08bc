/*
 * fakeclock.h -- an injectable clock for the resilience tests: time moves
 * only when a test (or the registry's sleep) advances it.
 */
#ifndef FL_TEST_FAKECLOCK_H
#define FL_TEST_FAKECLOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include "faultline.h"

typedef struct fake_clock {
    _Atomic int64_t now;
    _Atomic int64_t slept; /* total ns slept through fake_sleep */
} fake_clock;

static inline int64_t fake_now(void *u)
{
    return atomic_load(&((fake_clock *)u)->now);
}

static inline void fake_sleep(void *u, int64_t ns)
{
    atomic_fetch_add(&((fake_clock *)u)->now, ns);
    atomic_fetch_add(&((fake_clock *)u)->slept, ns);
}

static inline void fake_advance_ms(fake_clock *c, int64_t ms)
{
    atomic_fetch_add(&c->now, ms * 1000000);
}

/* A registry on the fake clock (starting at 1000 s). */
static inline fl_resil_t *fake_registry(fake_clock *c, fl_breaker_listener_fn l, void *lu)
{
    fl_resil_options_t o = {0};
    fl_resil_t *r = NULL;
    atomic_store(&c->now, 1000ll * 1000000000);
    atomic_store(&c->slept, 0);
    o.clock = fake_now;
    o.clock_user = c;
    o.sleep = fake_sleep;
    o.sleep_user = c;
    o.on_breaker = l;
    o.listener_user = lu;
    o.seed = 42;
    if (fl_resil_new(&o, &r) != FL_OK)
        return NULL;
    return r;
}

#endif
