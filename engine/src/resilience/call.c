/*
 * call.c -- the blocking executor, fl_call, and its cancellation token.
 * Waits (limiter reservations, backoff) use the registry's sleep function
 * in slices of at most 10 ms so that a cancellation is seen promptly.
 */
#include <stdlib.h>

#include "resilience/resilience.h"

#define SLICE_NS 10000000ll

struct fl_cancel {
    _Atomic int fired;
};

int fl_cancel_new(fl_cancel_t **out)
{
    if (!out)
        return FL_EINVAL;
    *out = calloc(1, sizeof **out);
    return *out ? FL_OK : FL_ENOMEM;
}

void fl_cancel_fire(fl_cancel_t *c)
{
    if (c)
        atomic_store_explicit(&c->fired, 1, memory_order_release);
}

void fl_cancel_free(fl_cancel_t *c)
{
    free(c);
}

int fl_cancel_fired(fl_cancel_t *c)
{
    return c && atomic_load_explicit(&c->fired, memory_order_acquire);
}

static int fired(fl_cancel_t *c)
{
    return c && atomic_load_explicit(&c->fired, memory_order_acquire);
}

/* Sleep ns unless cancelled first.  1 if cancelled. */
static int wait_for(fl_resil_t *r, int64_t ns, fl_cancel_t *c)
{
    while (ns > 0) {
        int64_t step = c && ns > SLICE_NS ? SLICE_NS : ns;
        if (fired(c))
            return 1;
        fl_resil_sleep(r, step);
        ns -= step;
    }
    return fired(c);
}

int fl_call(fl_exec_t *ex, const char *key, fl_call_fn fn, void *user, fl_cancel_t *cancel,
            fl_call_result_t *res)
{
    fl_xstate x;
    if (!ex || !fn || !res)
        return FL_EINVAL;
    if (fl_x_begin(ex, &x, key, ex->on_event, ex->event_user, res) != FL_OK)
        goto done;
    for (;;) {
        fl_attempt_info_t info;
        fl_outcome_t out = {0};
        int64_t wait;
        if (fired(cancel)) {
            fl_x_tick(&x);
            fl_x_finish(&x, FL_CALL_CANCELLED, "cancelled");
            break;
        }
        if (!fl_x_admit(&x, 1, &wait))
            break;
        if (wait > 0 && wait_for(ex->r, wait, cancel)) {
            fl_x_tick(&x);
            fl_x_finish(&x, FL_CALL_CANCELLED, "cancelled");
            break;
        }
        fl_x_start(&x, &info);
        fn(user, &info, &out);
        if (fl_x_outcome(&x, &out, &wait) == FL_X_DONE)
            break;
        if (wait_for(ex->r, wait, cancel)) {
            fl_x_tick(&x);
            fl_x_finish(&x, FL_CALL_CANCELLED, "cancelled");
            break;
        }
    }
done:
    fl_x_end(&x);
    return FL_OK;
}
