/*
 * sandbox.h -- the Lua side: sandboxed states (allowlisted environment,
 * memory cap, CPU budget watchdog) and handler functions run in them.  The
 * only place the engine enters Lua.  Depends on core (and the bindings).
 */
#ifndef FL_SANDBOX_H
#define FL_SANDBOX_H

#include "core.h"

/* FL-SANDBOX-BEGIN (owned by sandbox.c / handler.c; docs/sandbox.md) */
struct fl_sbx;     /* per engine: the budget watchdog and the failure counters */
struct fl_wd_slot; /* one per context that has a handler state */


/* sandbox.c: the per-engine part (watchdog thread, started on first use). */
struct fl_sbx *fl_sbx_new(const fl_engine_options_t *opts);
void fl_sbx_free(struct fl_sbx *s);
/* Register / unregister m's state with the watchdog (m->L must be set).
 * Registration failing is not an error: budgets then use the count hook. */
void fl_sbx_attach(struct fl_sbx *s, struct fl_lmem *m);
void fl_sbx_detach(struct fl_lmem *m);
/* Make the table on top of the stack a read-only global `name` (pops it). */
int fl_sandbox_install(struct lua_State *L, const char *name);
/* handler.c: count a policy failure and log it once per kind and version. */
void fl_sbx_fail(struct fl_sbx *s, const char *version_id, fl_failure_kind kind, int status,
                 const char *detail);
/* The failure counters into out (zeroed when s is NULL). */
void fl_sbx_stats(const struct fl_sbx *s, fl_engine_stats_t *out);
/* FL-SANDBOX-END */

/* handler.c */
int fl_handler_run(fl_ctx_t *ctx, fl_version *v, const fl_rule *rule, const fl_eview *ev,
                   fl_decision_t *d, fl_strbuf *err);
void fl_handler_close(fl_ctx_t *ctx);
/* Build n handler states for v ahead of time (the loading thread does this
 * right after publishing, so the first handler decision after a reload does
 * not have to), and free the ones never adopted. */
void fl_handler_prebuild(struct fl_shared *sh, fl_version *v, uint32_t n, uint64_t seed);
void fl_handler_pool_free(fl_version *v);
int fl_handler_apply(fl_ctx_t *ctx, struct lua_State *L, int t, fl_decision_t *d, fl_strbuf *err);

/* sandbox.c: a new Lua state with the allowlisted environment and the
 * declaration functions, its allocator capped by mem (mem->cap 0: no cap).
 * The JIT compiler is off so the budget hook always fires.  NULL on failure
 * (diag says why). */
struct lua_State *fl_sandbox_new(struct fl_lmem *mem, uint64_t seed, fl_diag_t *diag);
/* With mem->pooled set before fl_sandbox_new, the state allocates its small
 * blocks from pools (sandbox_budget.c); free them after lua_close. */
void fl_sandbox_pool_free(struct fl_lmem *mem);
/* Run v's sources in L under a CPU budget of budget_us per file (and a
 * wall-clock limit of FL_LOAD_WALL_FACTOR times that).  On success the
 * declarations table is on top of the stack. */
int fl_sandbox_run_sources(struct lua_State *L, const fl_version *v, struct fl_lmem *mem,
                           uint32_t budget_us, fl_diag_t *diag);
/* Arm / disarm the budget of one call: budget_us of this thread's CPU time,
 * and wall_us of wall-clock time (at least budget_us) for a call that waits
 * (sleeps in a binding).  Past either, the hook raises an error (cpu_hit,
 * plus wall_hit for the wall-clock limit).  Time the thread spends
 * descheduled or blocked is not charged to the CPU budget. */
#define FL_LOAD_WALL_FACTOR 4u
void fl_sandbox_arm(struct lua_State *L, struct fl_lmem *mem, uint32_t budget_us, uint32_t wall_us);
void fl_sandbox_disarm(struct lua_State *L, struct fl_lmem *mem);

#endif /* FL_SANDBOX_H */
