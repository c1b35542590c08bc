/*
 * deciding.h -- the deciding stage: match, apply the rule or handler, the
 * recovery (backoff, Retry-After), resilience gates, message, problem,
 * fingerprint and id.  Depends on core, matching and the Lua side; never on
 * loading or the engine object.
 */
#ifndef FL_DECIDING_H
#define FL_DECIDING_H

#include "core.h"

/* backoff.c: delay for a retry after `attempt` failed.  */
int64_t fl_backoff_delay(const fl_recovery *r, int attempt, fl_rng *rng);

/* Open a context deciding on sh (e: the public handle, may be NULL).
 * Returns FL_OK or FL_ENOMEM. */
int fl_ctx_open(struct fl_shared *sh, fl_engine_t *e, fl_ctx_t **out);
void fl_ctx_close(fl_ctx_t *c);
/* health.c: count d (decided on ctx->ver) for the canary. */
void fl_health_note(fl_ctx_t *ctx, const fl_decision_t *d);
/* health.c: add the context's counts to their version and check its
 * canary; call before the context lets go of that version. */
void fl_health_flush(fl_ctx_t *ctx);
/* observe.c: count one decision (rc: fl_decide's result) into the
 * context's counters, with the duration last held (fl_obs_hold); no lock,
 * one allocation on the context's first call. */
void fl_obs_note(fl_ctx_t *ctx, const fl_decision_t *d, int rc);
/* observe.c: hold dur_ns as the context's measured decide duration. */
void fl_obs_hold(fl_ctx_t *ctx, uint64_t dur_ns);
uint64_t fl_obs_now_ns(void);
/* Decide on an explicit version (examples, tests). */
int fl_decide_on(fl_ctx_t *ctx, fl_version *v, const fl_event_t *ev, const char *locale,
                 unsigned flags, fl_decision_t *out);

#endif /* FL_DECIDING_H */
