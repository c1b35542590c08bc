/*
 * backoff.c -- how long to wait before the next attempt.  Implements the
 * schedules of the policy language (constant, linear, exponential, AWS's
 * decorrelated jitter) and the jitter modes (none, full, equal), always
 * capped, never negative, never overflowing however large the attempt.
 */
#include <math.h>

#include "core.h"
#include "deciding.h"

static double uniform(fl_rng *rng, double lo, double hi)
{
    return hi <= lo ? lo : lo + fl_rng_unit(rng) * (hi - lo);
}

static double decorrelated(const fl_recovery *r, int attempt, fl_rng *rng)
{
    /* sleep = min(cap, random_between(base, sleep * 3)), iterated per attempt
     * so a stateless caller gets the same distribution as a stateful one. */
    double sleep = r->base_ms;
    for (int i = 0; i < attempt && i < 64; i++) sleep = fmin(r->max_delay_ms, uniform(rng, r->base_ms, sleep * 3));
    return sleep;
}

int64_t fl_backoff_delay(const fl_recovery *r, int attempt, fl_rng *rng)
{
    if (attempt < 1) attempt = 1;
    double d;
    switch (r->backoff) {
    case FL_BO_CONSTANT: d = r->base_ms; break;
    case FL_BO_LINEAR: d = r->base_ms * attempt; break;
    case FL_BO_DECORRELATED: return (int64_t)llround(decorrelated(r, attempt, rng));
    case FL_BO_EXPONENTIAL:
    default: d = r->base_ms * pow(r->factor, fmin(attempt - 1, 1000)); break;
    }
    if (!(d <= r->max_delay_ms)) d = r->max_delay_ms; /* also catches inf */
    switch (r->jitter) {
    case FL_JIT_FULL: d = uniform(rng, 0, d); break;
    case FL_JIT_EQUAL: d = d / 2 + uniform(rng, 0, d / 2); break;
    case FL_JIT_NONE: break;
    }
    return d < 0 ? 0 : (int64_t)llround(d);
}
