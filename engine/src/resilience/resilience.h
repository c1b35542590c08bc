/*
 * resilience.h -- internals of the resilience subsystem (breakers, limiters,
 * bulkheads, retry budgets, executor) and the seam the engine calls.
 *
 * Layout:
 *   category.c  canonical category names -> bit masks
 *   keymap.c    sharded hash map key -> per-key state, lock-free reads
 *   window.c    count and time sliding windows (atomic counters)
 *   registry.c  fl_resil_t: named objects, config swap, retire list
 *   breaker.c   circuit breaker state machine
 *   limiter.c   token bucket (GCRA, one CAS), striped for burst >= 8
 *   bulkhead.c  concurrency limit with bounded queue, in striped shares
 *   budget.c    retry budget over a time window
 *   admit.c     fl_guard_t, fl_admit / fl_complete
 *   exec.c      fl_exec_t and the retry logic shared by call.c and run.c
 *   call.c      blocking executor (fl_call)
 *   run.c       libuv executor (fl_run)
 *   lua_decl.c  policy declarations from Lua tables; Lua read-only API
 *   gate.c      the decision path's seam: record outcomes, gate retries
 *
 * Memory: objects, configs and key states are freed only by fl_resil_free,
 * so every pointer handed out stays valid for the registry's lifetime.
 * Replaced configs and grown tables go on the registry's retire list.
 */
#ifndef FL_RESILIENCE_H
#define FL_RESILIENCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline.h"

struct lua_State;

#define FL_RNAME_MAX 127
#define FL_NCAT 16
#define FL_CAT_BIT(i) (1u << (i))

/* ---- category.c ---------------------------------------------------------- */
/* Index 0..15 of a category (refinements after '.' ignored); non-canonical
 * names give the index of "unknown". */
int fl_cat_index(const char *category);
/* 1 if `name` (without refinement) is canonical. */
int fl_cat_valid(const char *name);
/* The canonical name for an index (static string). */
const char *fl_cat_name(int index);
/* Mask of a NULL-terminated list; -1 and *bad = offending name if one is
 * not canonical.  NULL list gives `dflt`. */
int fl_cat_mask(const char *const *list, uint32_t dflt, uint32_t *out, const char **bad);

#define FL_CATS_FAILURE_DEFAULT 0x728Au /* unknown deadline resource aborted internal unavailable data_loss */
#define FL_CATS_IGNORED_DEFAULT 0x0001u /* cancelled */
#define FL_CATS_RETRY_DEFAULT 0x2288u   /* unavailable deadline resource aborted */

/* ---- window.c ------------------------------------------------------------ */
/* Count window: the last `size` outcomes.  Slot bits: 1 failure, 2 slow. */
typedef struct fl_cwin {
    uint32_t kind; /* FL_WINDOW_COUNT */
    uint32_t size;
    _Atomic uint64_t seq;
    _Atomic int64_t fails;
    _Atomic int64_t slows;
    _Atomic uint8_t slots[];
} fl_cwin;

typedef struct fl_tbucket {
    _Atomic int64_t epoch; /* bucket number, or -1 while being reset */
    _Atomic int64_t n[3];
} fl_tbucket;

/* Time window: `nb` buckets of `bucket_ns` each; three counters per bucket. */
typedef struct fl_twin {
    uint32_t kind; /* FL_WINDOW_TIME */
    uint32_t nb;
    int64_t bucket_ns;
    fl_tbucket b[];
} fl_twin;

fl_cwin *fl_cwin_new(uint32_t size);
void fl_cwin_add(fl_cwin *w, unsigned bits);
/* calls, failures, slow calls currently in the window. */
void fl_cwin_read(fl_cwin *w, int64_t out[3]);
void fl_cwin_reset(fl_cwin *w);
/* Copy the most recent outcomes of `from` into the fresh window `to`. */
void fl_cwin_carry(fl_cwin *to, fl_cwin *from);

fl_twin *fl_twin_new(uint32_t nb, int64_t bucket_ns);
void fl_twin_add(fl_twin *w, int64_t now, int64_t d0, int64_t d1, int64_t d2);
void fl_twin_sum(fl_twin *w, int64_t now, int64_t out[3]);
void fl_twin_reset(fl_twin *w);
void fl_twin_carry(fl_twin *to, fl_twin *from, int64_t now);

/* ---- keymap.c ------------------------------------------------------------ */
#define FL_KM_SHARDS 16

typedef struct fl_kentry {
    uint64_t hash;
    void *state;
    char key[]; /* NUL-terminated */
} fl_kentry;

typedef struct fl_ktable {
    uint32_t cap; /* power of two */
    _Atomic(fl_kentry *) slot[];
} fl_ktable;

typedef struct fl_kshard {
    _Alignas(64) pthread_mutex_t mu; /* one cache line group per shard */
    _Atomic(fl_ktable *) tab;
    uint32_t count;
    void *old_tables; /* replaced tables, freed with the map */
} fl_kshard;

typedef void *(*fl_state_new_fn)(void *arg);

typedef struct fl_keymap {
    fl_kshard shard[FL_KM_SHARDS];
    _Atomic uint32_t count;
    uint32_t max_keys;
    fl_state_new_fn make;
    void *make_arg;
    void *overflow; /* state shared by keys past max_keys */
} fl_keymap;

uint64_t fl_key_hash(const char *key);
int fl_keymap_init(fl_keymap *m, uint32_t max_keys, fl_state_new_fn make, void *arg);
/* Calls free_state on every state; frees retired tables via retire list. */
void fl_keymap_destroy(fl_keymap *m, void (*free_state)(void *));
/* State for key (created on first use); NULL only on allocation failure.
 * `key_out` (optional) receives the stored key string. */
void *fl_keymap_get(fl_keymap *m, const char *key, uint64_t hash, const char **key_out);
/* State for key if it exists, NULL otherwise. */
void *fl_keymap_find(fl_keymap *m, const char *key, uint64_t hash);
/* Visit every state (declarations, metrics; under the shard locks). */
void fl_keymap_each(fl_keymap *m, void (*fn)(void *state, void *arg), void *arg);

/* ---- registry.c ---------------------------------------------------------- */
/* Immutable configs (one per declaration; replaced, never mutated). */
typedef struct fl_bcfg {
    fl_window_kind window;
    uint32_t size, min_calls, half_open_calls;
    double failure_rate, slow_rate, open_factor;
    int64_t slow_ns, open_ns, open_max_ns; /* slow_ns INT64_MAX: no slow-call rule */
    int timed; /* an outcome needs its end time: slow-call rule or time window */
    uint32_t failures, ignored;
    char key[128];
    int scope; /* fl_scope */
    int mode;  /* fl_fleet_mode */
} fl_bcfg;

typedef struct fl_lcfg {
    int64_t interval_ns; /* 1e9 / rate */
    int64_t burst_ns;    /* burst * interval */
    int64_t max_wait_ns;
    char key[128];
    int scope; /* fl_scope */
} fl_lcfg;

typedef struct fl_hcfg {
    int32_t max_concurrent, max_queue;
    int64_t max_wait_ns;
    char key[128];
} fl_hcfg;

typedef struct fl_gcfg {
    double ratio;
    int64_t min_retries;
    uint32_t nb;
    int64_t bucket_ns;
    char key[128];
    int scope; /* fl_scope */
} fl_gcfg;

typedef struct fl_robj {
    fl_resil_kind kind;
    struct fl_resil *r;
    char name[FL_RNAME_MAX + 1];
    char reason[FL_RNAME_MAX + 32]; /* "breaker_open:NAME" etc. */
    _Atomic(const void *) cfg;
    _Atomic int forced; /* breaker: 0, FL_BREAKER_FORCED_OPEN, FL_BREAKER_DISABLED */
    void *dflt;         /* state of the default key */
    fl_keymap keys;
} fl_robj;

typedef struct fl_objtab {
    uint32_t n;
    fl_robj *obj[];
} fl_objtab;

typedef struct fl_retired {
    struct fl_retired *next;
    void (*fn)(void *);
    void *p;
} fl_retired;

struct fl_resil {
    fl_resil_options_t opt;
    pthread_mutex_t mu; /* declare, retire list, exec/guard lists */
    _Atomic(fl_objtab *) objs;
    fl_retired *retired;
    _Atomic uint64_t rng;
    struct fl_owned *owned; /* guards and executors to free */
    _Atomic int fleet_kick; /* a fleet-scoped key opened: publish now (fleet.c) */
    _Atomic int fleet_up;   /* a synchroniser's last round reached Redis */
    _Atomic int fleet_push; /* a shared-mode key counted a failure (fleet.c) */
    _Atomic uint64_t retries[5]; /* calls that retried, by how it ended (FL_RETRY_*) */
};

/* How a call that wanted a retry ended (faultline_retries_total).  Counted
 * where the engine runs the loop: the executor (exec.c) and pipelines. */
enum { FL_RETRY_SUCCESS, FL_RETRY_EXHAUSTED, FL_RETRY_BUDGET, FL_RETRY_BREAKER, FL_RETRY_FAILED, FL_RETRY_N_ };
static inline void fl_resil_count_retry(struct fl_resil *r, int result)
{
    if (r && result >= 0 && result < FL_RETRY_N_)
        atomic_fetch_add_explicit(&r->retries[result], 1, memory_order_relaxed);
}

int64_t fl_resil_clock(const struct fl_resil *r);
/* Stripes: limiters and bulkheads split one key's state into FL_STRIPES
 * shares on their own cache lines, so threads on different CPUs admit on
 * one hot key without writing the same line.  fl_stripe() is the calling
 * thread's share: its CPU (sched_getcpu) modulo FL_STRIPES.  Any stripe is
 * correct from any thread; the CPU only spreads the writes. */
#define FL_STRIPES 8
int fl_stripe(void);
/* Zeroed memory on its own cache lines (no false sharing between keys);
 * free with free(). */
void *fl_calloc_line(size_t size);
void fl_resil_sleep(const struct fl_resil *r, int64_t ns);
/* Uniform in [0, n) from the registry's stream (thread-safe). */
uint64_t fl_resil_rand(struct fl_resil *r, uint64_t n);
fl_robj *fl_resil_find(struct fl_resil *r, fl_resil_kind kind, const char *name);
/* Put `p` on the retire list (freed by fn at registry free).  Caller holds
 * r->mu (declarations do).  -1 on ENOMEM (then p is leaked, never freed
 * under a reader). */
int fl_resil_retire(struct fl_resil *r, void (*fn)(void *), void *p);
/* Track a guard/executor for freeing with the registry. */
void fl_resil_own(struct fl_resil *r, void *p, void (*fn)(void *));
void fl_resil_disown(struct fl_resil *r, void *p);
/* Declare with an already-validated config (takes ownership of cfg). */
int fl_resil_install(struct fl_resil *r, fl_resil_kind kind, const char *name, void *cfg,
                     fl_diag_t *diag);
/* State for a key of an object; key NULL/"" is the default. */
void *fl_robj_state(fl_robj *o, const char *key, uint64_t hash, const char **key_out);
void fl_rdiag(fl_diag_t *d, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- breaker.c ----------------------------------------------------------- */
typedef struct fl_bstate fl_bstate;
/* Calls a breaker saw, by kind (faultline_breaker_calls_total, resilience4j's
 * kinds): each recorded outcome is successful, failed or ignored; slow
 * successful and slow failed calls are also counted in the slow kinds;
 * not_permitted counts admissions and retries the breaker refused.  Counted
 * per key state (the line the call writes anyway), summed when read. */
enum { FL_BCALL_SUCCESSFUL, FL_BCALL_FAILED, FL_BCALL_IGNORED, FL_BCALL_NOT_PERMITTED, FL_BCALL_SLOW_SUCCESSFUL,
       FL_BCALL_SLOW_FAILED, FL_BCALL_N_ };
/* A retry refused by the breaker's state (not through fl_breaker_try). */
void fl_breaker_refused(fl_bstate *s);
/* The calls of every key of breaker o, summed into out[FL_BCALL_N_]. */
void fl_breaker_calls(fl_robj *o, uint64_t out[FL_BCALL_N_]);
void *fl_bstate_new(void *obj);
void fl_bstate_free(void *st);
/* Config was replaced: resize the windows of every key, keeping counts. */
void fl_breaker_reconfig(fl_robj *o);
int fl_bcfg_build(const char *name, const fl_breaker_config_t *c, fl_bcfg *out, fl_diag_t *diag);

enum { FL_OUT_SUCCESS = 0, FL_OUT_FAILURE = 1, FL_OUT_IGNORED = 2 };
/* Classify a category against a breaker's config. */
int fl_breaker_classify(const fl_bcfg *c, const char *category);

/* Admission.  1 admitted (*gen, *half set), 0 refused (*retry_after_ns). */
int fl_breaker_try(fl_robj *o, fl_bstate *s, const char *key, int64_t now, uint64_t *gen,
                   int *half, int64_t *retry_after_ns);
/* Record an outcome (FL_OUT_*) that took duration_ns (< 0: unknown, never
 * slow).  gen/half from fl_breaker_try, or gen 0 / half 0 for an outcome
 * with no permit.  Returns 1 and fills from/to if it changed the state. */
int fl_breaker_record(fl_robj *o, fl_bstate *s, const char *key, uint64_t gen, int half,
                      int out, int64_t duration_ns, int64_t now, fl_breaker_state *from,
                      fl_breaker_state *to);
/* Give back a half-open permit without an outcome. */
void fl_breaker_unpermit(fl_bstate *s, uint64_t gen, int half);
/* Current visible state; *retry_after_ns while open. */
fl_breaker_state fl_breaker_peek(fl_robj *o, fl_bstate *s, int64_t now, int64_t *retry_after_ns);
void fl_breaker_fill_stats(fl_robj *o, fl_bstate *s, int64_t now, fl_breaker_stats_t *st);
/* The key's current window (fl_cwin or fl_twin; `kind` tells).  Tests. */
void *fl_bstate_window(fl_bstate *s);
/* Operator state for one key. */
void fl_breaker_force_key(fl_robj *o, fl_bstate *s, const char *key, fl_breaker_state st,
                          int64_t now);

/* Fleet hooks (fleet.c).  The raw state word: state (FL_BREAKER_*) and
 * generation. */
unsigned fl_breaker_raw(fl_bstate *s, uint64_t *gen);
/* Open a closed key as its own window would (open period and listener
 * included).  1 and *gen (the open state's generation) if this call did it. */
int fl_breaker_trip(fl_robj *o, fl_bstate *s, const char *key, int64_t now, uint64_t *gen);
/* Shared mode: this key's cumulative calls, failures and slow calls counted
 * here since it was created, and when it last closed (resil clock, ns; 0
 * never). */
void fl_breaker_shared_counts(fl_bstate *s, int64_t cum[3], int64_t *closed_at);
/* Shared mode: the rest of the fleet's calls, failures and slow calls in
 * the window (added to this key's own while r->fleet_up), then open the key
 * if the sum crosses a threshold.  1 if this call opened it. */
int fl_breaker_shared_others(fl_robj *o, fl_bstate *s, const char *key, const int64_t n[3],
                             int64_t now);

/* ---- limiter.c ----------------------------------------------------------- */
typedef struct fl_lstate fl_lstate;
void *fl_lstate_new(void *obj);
/* Config was replaced: a key that moves between one bucket and stripes
 * (burst crossing FL_STRIPES tokens) keeps the tokens it owes. */
void fl_limiter_reconfig(fl_robj *o);
int fl_lcfg_build(const char *name, const fl_limiter_config_t *c, fl_lcfg *out, fl_diag_t *diag);
/* Take one token.  max_wait_ns: how long the caller may wait.  Returns 1 with
 * *wait_ns (0 = now) to wait before proceeding, or 0 (refused; *wait_ns is
 * the time until a token would be available). */
int fl_limiter_take(fl_robj *o, fl_lstate *s, int64_t now, int64_t max_wait_ns, int64_t *wait_ns);
/* Give back a token taken by fl_limiter_take (a later check refused). */
void fl_limiter_untake(fl_robj *o, fl_lstate *s);
/* Tokens available now (fractional). */
double fl_limiter_available(fl_robj *o, fl_lstate *s, int64_t now);
/* Fleet hooks (fleet.c).  A fleet-scoped key takes from tokens leased from
 * Redis while r->fleet_up, and from its local bucket otherwise.  Refusals
 * since the last call, and the tokens still leased (the success path
 * touches only the lease). */
int64_t fl_limiter_fleet_demand(fl_lstate *s, int64_t *leased);
void fl_limiter_fleet_grant(fl_lstate *s, int64_t tokens);

/* ---- bulkhead.c ---------------------------------------------------------- */
typedef struct fl_hstate fl_hstate;
void *fl_hstate_new(void *obj);
void fl_hstate_free(void *st);
int fl_hcfg_build(const char *name, const fl_bulkhead_config_t *c, fl_hcfg *out, fl_diag_t *diag);
/* Take a slot: its stripe + 1 (give it to fl_bulkhead_release), 0 refused. */
int fl_bulkhead_try(fl_robj *o, fl_hstate *s);
/* Wait up to the config's max_wait for a slot if the queue has room
 * (real time, CLOCK_MONOTONIC).  1 acquired at once, 2 acquired after
 * waiting (*slot set), 0 refused. */
int fl_bulkhead_acquire_wait(fl_robj *o, fl_hstate *s, int *slot);
void fl_bulkhead_release(fl_hstate *s, int slot);
int32_t fl_bulkhead_inflight(fl_hstate *s);

/* ---- budget.c ------------------------------------------------------------ */
typedef struct fl_gstate fl_gstate;
void *fl_gstate_new(void *obj);
void fl_gstate_free(void *st);
int fl_gcfg_build(const char *name, const fl_budget_config_t *c, fl_gcfg *out, fl_diag_t *diag);
void fl_budget_deposit(fl_robj *o, fl_gstate *s, int64_t now);
/* Take one retry.  1 allowed (counted), 0 exhausted. */
int fl_budget_withdraw(fl_robj *o, fl_gstate *s, int64_t now);
/* calls and retries in the window, and the retries still allowed. */
void fl_budget_read(fl_robj *o, fl_gstate *s, int64_t now, int64_t *calls, int64_t *retries,
                    int64_t *left);
void fl_budget_reconfig(fl_robj *o);
/* Fleet hooks (fleet.c).  Calls and retries counted here since the key was
 * created (cumulative), and the rest of the fleet's calls and retries in the
 * window, which a fleet-scoped key adds to its own while r->fleet_up. */
void fl_budget_fleet_totals(fl_gstate *s, int64_t now, int64_t *calls, int64_t *retries,
                            int64_t window[2]);
void fl_budget_fleet_others(fl_gstate *s, int64_t calls, int64_t retries);

/* ---- admit.c ------------------------------------------------------------- */
struct fl_guard {
    fl_resil_t *r;
    fl_robj *breaker, *limiter, *bulkhead, *budget;
};
/* fl_complete with the clock reading `now` the caller already has. */
int fl_complete_at(fl_permit_t *p, const char *category, int64_t now);
/* Resolve a spec into g (no allocation). */
int fl_guard_resolve(fl_resil_t *r, const fl_guard_spec_t *spec, struct fl_guard *g,
                     fl_diag_t *diag);

/* call.c: has the token fired?  (NULL: no) */
int fl_cancel_fired(fl_cancel_t *c);

/* ---- exec.c: the executor core shared by fl_call and fl_run --------------- */
struct fl_exec {
    fl_resil_t *r;
    struct fl_guard g;
    int max_attempts, jitter;
    int64_t base_ns, max_delay_ns, attempt_timeout_ns, deadline_ns;
    double factor;
    uint32_t retry_mask;
    fl_decide_fn decide;
    void *decide_user;
    fl_exec_event_fn on_event;
    void *event_user;
};

/* One call in progress. */
typedef struct fl_xstate {
    fl_exec_t *ex;
    const char *key;  /* caller's key */
    const char *bkey; /* the breaker's stored key ("" default) */
    fl_bstate *bs;
    fl_lstate *ls;
    fl_hstate *hs;
    fl_gstate *gs;
    fl_exec_event_fn on_event;
    void *event_user;
    int attempt;      /* attempts started */
    int held;         /* an admitted attempt holds breaker/bulkhead */
    int hslot;        /* the bulkhead slot held (fl_bulkhead_try) */
    int half;
    int retried;      /* a retry was granted (faultline_retries_total) */
    int retry_end;    /* 1 + FL_RETRY_* when a refused retry ends the call */
    uint64_t gen;
    int64_t start_ns, deadline_ns, attempt_ns;
    int64_t now;      /* last clock reading (saves re-reading it) */
    char *params;     /* owned */
    fl_attempt_info_t info; /* of the current attempt */
    fl_call_result_t *res;
} fl_xstate;

enum { FL_X_DONE = 0, FL_X_RETRY = 1 };

/* Resolve the key's state, deposit the call into the budget.  FL_OK or
 * FL_ENOMEM (res filled as FAILED). */
int fl_x_begin(fl_exec_t *ex, fl_xstate *x, const char *key, fl_exec_event_fn fn, void *user,
               fl_call_result_t *res);
/* Admit the next attempt.  1 admitted, after waiting *wait_ns (limiter);
 * 0 refused or past the deadline (res final).  block: may wait in the
 * bulkhead queue. */
int fl_x_admit(fl_xstate *x, int block, int64_t *wait_ns);
/* The attempt starts now: fills info, emits ATTEMPT. */
void fl_x_start(fl_xstate *x, fl_attempt_info_t *info);
/* The attempt ended with `o` (category may be overridden by a timeout).
 * FL_X_DONE (res final) or FL_X_RETRY after *delay_ns. */
int fl_x_outcome(fl_xstate *x, const fl_outcome_t *o, int64_t *delay_ns);
/* Re-read the clock after a wait (admission, start and finish use the
 * last reading: a first attempt's success reads the clock once, twice when
 * a slow-call rule, a time window, a timeout or a deadline needs its end). */
void fl_x_tick(fl_xstate *x);
/* End the call as `outcome` with `reason` (cancel, deadline), giving back
 * an admitted attempt without an outcome. */
void fl_x_finish(fl_xstate *x, fl_call_outcome outcome, const char *reason);
void fl_x_end(fl_xstate *x);

/* ---- the engine seam (gate.c, lua_decl.c) -------------------------------- */

/* One outcome seen by the decision path. */
typedef struct fl_resil_outcome {
    const char *breaker;  /* breaker name or NULL */
    const char *budget;   /* budget name or NULL */
    const char *key;      /* rendered key or NULL */
    const char *category; /* NULL: success */
    int64_t duration_ns;  /* < 0: unknown (never slow) */
    int attempt;          /* 1: a new call (deposited into the budget) */
    int64_t now;          /* the registry's clock if the caller just read it; 0: read it */
} fl_resil_outcome_t;

/*
 * Record an outcome: into the breaker's window (no permit: half-open counts
 * it as a probe) and, for attempt <= 1, one call into the budget.  Unknown
 * names are skipped.  FL_EINVAL for NULL r/o.
 */
int fl_resil_record(fl_resil_t *r, const fl_resil_outcome_t *o);

/*
 * May the failed call be retried?  FL_OK: yes -- one retry was taken from the
 * budget.  FL_EREFUSED: no; `reason` gets "breaker_open:NAME" (the breaker
 * for key is open with time left, or forced open) or
 * "retry_budget:NAME".  The breaker is checked first and nothing is taken
 * from the budget when it refuses.  NULL or unknown names are not checked.
 * FL_EINVAL for NULL r.
 */
int fl_resil_gate_retry(fl_resil_t *r, const char *breaker, const char *budget, const char *key,
                        char *reason, size_t reason_cap);

/*
 * What the decision path does for a failed call: fl_resil_record of o (when
 * record is set), then, when gate is set, fl_resil_gate_retry on o's breaker,
 * budget and key -- with one clock reading, one lookup of each object and
 * one hash of the key for both.  Returns FL_EREFUSED when the gate
 * refuses, else the record's error (FL_ENOMEM), else FL_OK.  FL_EINVAL for
 * NULL r/o.
 */
int fl_resil_record_gate(fl_resil_t *r, const fl_resil_outcome_t *o, int record, int gate, char *reason,
                         size_t reason_cap);

/* A parsed declaration (validated, not yet applied). */
typedef struct fl_resil_decl {
    fl_resil_kind kind;
    char name[FL_RNAME_MAX + 1];
    void *cfg; /* fl_bcfg / fl_lcfg / fl_hcfg / fl_gcfg */
} fl_resil_decl_t;

/*
 * Read the Lua table at `table_index` as a `kind` ("breaker" "limiter"
 * "bulkhead" "retry_budget") declaration named `name`.  Unknown keys, wrong
 * types and out-of-range values give FL_EPOLICY_SCHEMA with the key in diag
 * (the loader adds file:line).  Caller frees *out with fl_resil_decl_free.
 * Leaves the Lua stack as it found it.
 */
int fl_resil_parse_lua(struct lua_State *L, int table_index, const char *kind, const char *name,
                       fl_resil_decl_t **out, fl_diag_t *diag);
/* Apply a parsed declaration (create, or update in place keeping counts).
 * The decl stays owned by the caller. */
int fl_resil_apply(fl_resil_t *r, const fl_resil_decl_t *d, fl_diag_t *diag);
void fl_resil_decl_free(fl_resil_decl_t *d);
/* Parse + apply.  r NULL: validate only. */
int fl_resil_declare_lua(fl_resil_t *r, struct lua_State *L, int table_index, const char *kind,
                         const char *name, fl_diag_t *diag);
/* The key template of an object ("" if none), or NULL if not declared. */
const char *fl_resil_key_template(fl_resil_t *r, fl_resil_kind kind, const char *name);
/*
 * Push a table of read-only functions for handlers (their upvalue is r, which
 * must outlive L): breaker_state(name [,key]) -> "closed"|...|nil,
 * limiter_tokens(name [,key]) -> number|nil, budget_left(name [,key]) ->
 * integer|nil, bulkhead_inflight(name [,key]) -> integer|nil.
 */
int fl_resil_push_lua_api(fl_resil_t *r, struct lua_State *L);

/* ---- fleet.c: the policy's fleet { ... } declaration ---------------------- */
typedef struct fl_fleet_decl {
    char *redis, *prefix, *password_file;
    uint32_t sync_ms, quorum, ttl_ms, timeout_ms;
} fl_fleet_decl_t;
/* Check a configuration without starting anything (load time).  FL_OK or
 * FL_EINVAL/FL_EIO with diag (never the password). */
int fl_fleet_validate(const fl_fleet_config_t *cfg, fl_diag_t *diag);
/* The config a declaration describes (pointers into d). */
void fl_fleet_decl_config(const fl_fleet_decl_t *d, fl_fleet_config_t *out);
/* 1 if two declarations (either may be NULL) describe the same fleet. */
int fl_fleet_decl_same(const fl_fleet_decl_t *a, const fl_fleet_decl_t *b);
fl_fleet_decl_t *fl_fleet_decl_copy(const fl_fleet_decl_t *d);
void fl_fleet_decl_free(fl_fleet_decl_t *d);

/* The stale-cache store a synchroniser shares through Redis (the engine's,
 * core/cache.c), seen through callbacks so this subsystem does not depend
 * on the engine's core.  Once a round the thread writes every put queued
 * since the last round (SET PREFIX c:KEY "STORED EXPIRES JSON" PX ttl) and
 * reads back every key looked up since the last round (one MGET), storing
 * what it finds (store(), never re-queued). */
typedef struct fl_fleet_cache_io {
    void *user;
    void (*take_puts)(void *user, void (*fn)(void *arg, const char *key, const char *value,
                                             int64_t stored_ms, int64_t expires_ms),
                      void *arg);
    void (*take_wanted)(void *user, void (*fn)(void *arg, const char *key), void *arg);
    void (*store)(void *user, const char *key, const char *value, size_t vlen, int64_t stored_ms,
                  int64_t expires_ms);
} fl_fleet_cache_io;
/* Attach (io copied) or detach (NULL) the store; takes effect next round. */
void fl_fleet_cache_attach(fl_fleet_t *f, const fl_fleet_cache_io *io);

#endif /* FL_RESILIENCE_H */
