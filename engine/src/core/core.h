/*
 * core.h -- the engine's internal data model, shared by every stage: events,
 * rules, categories, message templates, the compiled version, the engine's
 * shared part, contexts and decisions.  The stages each have their own
 * header (loading.h, matching.h, deciding.h, sandbox.h); none of them is
 * included here.  Layering, bottom to top: base -> core -> matching -> lua
 * -> deciding -> loading -> engine (docs/architecture.md).
 *
 * A policy directory is loaded (loader.c) into an fl_version: rules with their
 * conditions, category settings, message catalogues and examples, all plain C
 * data.  compile.c then finishes the version: it sorts the rules, compiles
 * patterns, resolves messages per locale and builds the matcher indexes.
 * After that a version is immutable and shared by every thread that decides
 * on it; it is freed when the last reference goes (engine.c).
 */
#ifndef FL_CORE_H
#define FL_CORE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <pthread.h>
#include <jansson.h>

#include "faultline.h"
#include "util.h"

struct lua_State;
struct fl_resil;
struct fl_sbx;     /* lua/sandbox.c: per engine, the budget watchdog */
struct fl_declog;  /* engine/declog.c: the decision log */
struct fl_alerts;  /* engine/alerts.c */
struct fl_wd_slot; /* lua/sandbox.c: one per context with a handler state */

/* (lua/sandbox.c) */
/* Lua allocator accounting and CPU budget state (sandbox.c).  Initialise
 * with designated initialisers ({.cap = ...}); the rest start at zero. */
struct fl_lmem {
    size_t used, cap;
    uint64_t budget_ns;    /* CPU budget of the armed call; 0: none armed     */
    int cpu_hit, mem_hit;  /* set when a budget stopped the code */
    int wall_hit;          /* with cpu_hit: it was the wall-clock limit       */
    /* private to lua/sandbox_budget.c */
    uint64_t wall_start_ns, wall_deadline_ns; /* monotonic clock              */
    uint64_t cpu_start_ns; /* count-hook mode: thread CPU clock at arm        */
    uint64_t next_cpu_check_ns; /* count-hook mode: CPU cannot be spent before */
    int armed;             /* cap and in-thread checks apply only while armed */
    int ran;               /* lua/handler.c: a handler ran in this state, so it
                            * holds a context's data: never given to another */
    size_t since_check;    /* bytes allocated since the last clock read       */
    uint32_t steps;        /* metered library work since the last clock read  */
    uintptr_t stack_base;  /* frame address at arm: bounds C recursion        */
    struct lua_State *L;   /* the state this accounts for                     */
    struct fl_wd_slot *slot; /* watchdog registration, NULL: count-hook mode  */
    /* pooled: small blocks come from size-class free lists over chunks freed
     * all at once after lua_close (fl_sandbox_pool_free): for the short-lived
     * loading state, whose ~76,000 allocations went through malloc */
    int pooled;
    void *pool_chunks;     /* the chunks, linked                              */
    char *pool_at, *pool_end; /* the current chunk's free space              */
    void *pool_free[16];   /* free lists by size class (16-byte steps)       */
    size_t pool_bytes;     /* the chunks' total: held until pool free, so it
                            * is charged against cap like `used` (a block
                            * freed into one class does not serve another) */
};


/* ---- events ------------------------------------------------------------ */

#define FL_MAX_CAUSE_DEPTH 8
#define FL_MAX_EVENT_BYTES (1u << 20)
/* elapsed_ms above this (about 31.7 years) is refused where it enters (the
 * setter and the JSON reader): it is converted to integer nanoseconds later. */
#define FL_MAX_ELAPSED_MS 1e12

typedef struct fl_tag {
    uint32_t key_off, key_len, val_off, val_len;
} fl_tag;

struct fl_event {
    fl_strbuf arena;                 /* all field bytes, NUL-separated      */
    uint32_t off[FL_FIELD_COUNT_];   /* offset into arena                   */
    uint32_t len[FL_FIELD_COUNT_];
    uint8_t set[FL_FIELD_COUNT_];
    int attempt;
    double elapsed_ms;
    int has_elapsed;
    fl_tag *tags;
    uint32_t ntags, tags_cap;
    /* Hash index over tags (open addressing, tag index + 1, 0 = empty),
     * built once an event has more than FL_TAG_SCAN tags so that adding and
     * looking up tags stays O(1) however many there are (event.c). */
    uint32_t *tag_slots;
    uint32_t tag_slots_cap;          /* power of two, 0 when not allocated  */
    uint32_t tag_indexed;            /* tags covered by the index (0: none) */
    struct fl_event *cause;          /* owned, may be NULL                  */
};

/* A resolved view of an event for matching: pointers into the arena. */
typedef struct fl_eview {
    const char *f[FL_FIELD_COUNT_];
    uint32_t flen[FL_FIELD_COUNT_];
    double code_num;
    int code_is_num;
    const fl_event_t *ev;
} fl_eview;

void fl_eview_init(fl_eview *v, const fl_event_t *ev);
/* Tag value or NULL; *len set when found. */
const char *fl_eview_tag(const fl_eview *v, const char *key, uint32_t *len);
/* Parse a number the way conditions compare numbers: decimal, optional sign
 * and fraction, whole string.  1 on success. */
int fl_parse_number(const char *s, size_t len, double *out);
/* event.c: set a field / add or replace a tag from bytes already checked
 * (valid UTF-8, within limits); FL_OK or FL_ENOMEM. */
int fl_event_put_field(fl_event_t *ev, fl_field f, const char *s, size_t len);
int fl_event_put_tag(fl_event_t *ev, const char *k, size_t kl, const char *v, size_t vl);
/* event.c: index of the tag named k[0..kl), or -1. */
int64_t fl_event_tag_index(const fl_event_t *ev, const char *k, size_t kl);
/* event_fast.c: read a well-formed, valid event in one pass; FL_OK, or
 * FL_EPARSE for anything else (the caller resets ev and uses the full
 * reader, which names the error). */
int fl_event_fast_json(fl_event_t *ev, const char *json, size_t len);
/* Build an event from a jansson object (used by the loader for examples). */
int fl_event_from_jvalue(fl_event_t *ev, json_t *obj, int depth, fl_diag_t *diag);

/* ---- rules ------------------------------------------------------------- */

typedef enum fl_cfield {
    FL_CF_DOMAIN, FL_CF_CODE, FL_CF_MESSAGE, FL_CF_OP, FL_CF_STACK,
    FL_CF_ATTEMPT, FL_CF_ELAPSED, FL_CF_TAG
} fl_cfield;

typedef enum fl_ckind {
    FL_CK_SET,      /* exact value or set of values */
    FL_CK_RANGE,
    FL_CK_REGEX,
    FL_CK_PRESENT,
    FL_CK_ABSENT
} fl_ckind;

typedef struct fl_cond {
    fl_cfield field;
    fl_ckind kind;
    char *tag;          /* tag name for FL_CF_TAG                        */
    char **strs;        /* FL_CK_SET: string members (numbers as text)   */
    uint32_t nstrs;
    double *nums;       /* FL_CK_SET: numeric members                    */
    uint32_t nnums;
    double lo, hi;      /* FL_CK_RANGE; +-INFINITY when open             */
    char *pattern;      /* FL_CK_REGEX                                   */
    pcre2_code *re;     /* compiled at load (so errors are reported there),
                         * never JIT-compiled: see fl_cond_re            */
    pcre2_code *_Atomic jit; /* NULL until first use; then re's JIT copy,
                         * or re itself when JIT is unavailable          */
    uint32_t ncaptures; /* named groups                                  */
} fl_cond;

/* The code to match a regex condition with (version.c).  A load compiles
 * every pattern but JIT-compiles none: a run touches a few hundred of the
 * stock pack's thousands of patterns, and JIT compilation was a quarter of
 * the load.  The first call JIT-compiles a copy of c->re and publishes it
 * (release; readers acquire); concurrent first calls may each compile, one
 * copy wins and the others are freed.  Where the JIT is unavailable (or
 * fails for this pattern) c->re itself is published: the interpreter.
 * Safe from any number of threads on a shared, finished version. */
const pcre2_code *fl_cond_re(const fl_cond *c);
/* Frees c->re and its JIT copy (the version is being freed). */
void fl_cond_free_re(fl_cond *c);

typedef enum fl_action_kind { FL_REC_NONE = -1 } fl_action_kind;

typedef enum fl_backoff { FL_BO_CONSTANT, FL_BO_LINEAR, FL_BO_EXPONENTIAL, FL_BO_DECORRELATED } fl_backoff;
typedef enum fl_jitter { FL_JIT_NONE, FL_JIT_FULL, FL_JIT_EQUAL } fl_jitter;

typedef struct fl_recovery {
    int set;              /* 0: inherit                                   */
    fl_action action;
    fl_backoff backoff;
    fl_jitter jitter;
    double base_ms, factor, max_delay_ms, budget_ms; /* budget < 0: none  */
    int max_attempts;
    int honor_retry_after;
    double max_retry_after_ms; /* opt-in hard maximum for Retry-After; 0: max_delay_ms */
    char *fallback_json;  /* owned JSON text for FL_ACTION_FALLBACK       */
    /* fallback = cache { key, max_stale_ms, otherwise }: the value the host
     * stored under the rendered key (fl_cache_put) when at most
     * max_stale_ms old, else `otherwise` (NULL: fail, reason cache_miss). */
    struct fl_template *cache_key; /* owned; NULL: not a cache recovery */
    int64_t cache_max_stale_ms;
    struct fl_recovery *otherwise; /* owned, never itself a cache      */
} fl_recovery;

/* Settings shared by categories and rules; unset fields inherit. */
typedef struct fl_settings {
    int severity;         /* -1 unset */
    int retryable;        /* -1 unset */
    int status;           /* 0 unset  */
    char *message_id;     /* NULL unset */
    char *title;
    fl_recovery recovery;
} fl_settings;

struct fl_template;

/* The decision strings every match of a rule starts with, in the order of
 * fl_rule.fixed (see fl_decision_put_fixed). */
enum { FL_FX_CATEGORY, FL_FX_RULE, FL_FX_TITLE, FL_FX_TYPE, FL_FX_POLICY, FL_FX_VERSION, FL_FX_VERSION_ID,
       FL_FX_COUNT_ };

typedef struct fl_rule {
    char *name;
    uint32_t name_len, category_len; /* set at compile: the decide path copies them */
    char *file;
    int line;
    int priority;
    uint32_t decl_order;
    char *category;       /* NULL only with a handler                     */
    fl_settings s;
    char *params_json;    /* owned, NULL if none                          */
    fl_cond *conds;
    uint32_t nconds;
    int has_handler;
    uint32_t index;       /* position after sorting = evaluation order    */
    struct fl_catconf *cat;          /* resolved at compile               */
    const struct fl_template **msg;  /* per declared locale, at compile   */
    const char **msg_id;             /* id actually found, per locale     */
    const char **msg_locale;         /* locale actually used, per locale  */
    char *breaker;        /* resilience hooks: names, or NULL             */
    char *retry_budget;
    struct fl_template *breaker_key; /* key template of the breaker, owned */
    /* The FL_FX_* strings (category, rule, problem title and type, policy
     * name, version and id), NUL-terminated one after the other, laid out at
     * compile so the decide path copies them in one go.  Owned; NULL for a
     * rule with a handler, whose category is only known when it has run. */
    char *fixed;
    uint32_t fixed_len;
    uint32_t fixed_off[FL_FX_COUNT_], fixed_slen[FL_FX_COUNT_];
    uint8_t obs_cat;      /* fl_obs_category_index(category), with fixed  */
} fl_rule;

typedef struct fl_catconf {
    char *name;
    char *file;
    int line;
    fl_settings s;        /* as declared                                  */
    /* effective values after inheritance (compile.c) */
    fl_severity severity;
    int retryable;
    int status;
    const char *message_id;
    const char *title;
    const fl_recovery *recovery;
} fl_catconf;

/* ---- messages ---------------------------------------------------------- */

typedef enum fl_ph {
    FL_PH_TEXT, FL_PH_OP, FL_PH_DOMAIN, FL_PH_CODE, FL_PH_ATTEMPT, FL_PH_ATTEMPTS_LEFT,
    FL_PH_DELAY_S, FL_PH_CATEGORY, FL_PH_TAG, FL_PH_CAPTURE
} fl_ph;

typedef struct fl_tseg {
    fl_ph kind;
    char *text;   /* literal text, or the tag / capture name */
    uint32_t len;
    char *dflt;   /* default for a missing value, may be NULL */
} fl_tseg;

typedef struct fl_template {
    char *id;
    uint32_t id_len;
    char *source;
    fl_tseg *segs;
    uint32_t nsegs;
} fl_template;

typedef struct fl_locale {
    char *name;
    char *file;
    int line;
    fl_template *msgs;
    uint32_t nmsgs;
    int fallback;  /* index of the next locale in the chain, -1 at the end */
} fl_locale;

/* ---- examples ---------------------------------------------------------- */

typedef struct fl_example {
    char *name;
    char *file;
    int line;
    json_t *event;   /* owned */
    json_t *expect;  /* owned */
    char *locale;
} fl_example;

/* ---- matcher ----------------------------------------------------------- */

struct fl_ac;    /* acmatch.c */
struct fl_index; /* matcher.c */

/* ---- a loaded, compiled, immutable policy version ----------------------- */

/* A version's health while it serves (deciding/health.c): what the canary
 * compares after a reload.  Contexts count locally and add their counts
 * here every FL_HEALTH_FLUSH decisions, so deciding threads do not share a
 * cache line per decision. */
#define FL_HEALTH_FLUSH 64
struct fl_health {
    _Atomic uint64_t decisions, failures, unknown, fails;
};

/* Canary settings (policy { canary = {...} }); loading fills the defaults. */
struct fl_canary_conf {
    int off;                   /* canary = false                          */
    uint32_t watch_ms;         /* how long after a reload it watches      */
    uint32_t min_decisions;    /* no verdict on fewer                     */
    double max_failure_rate;   /* policy failures / decisions             */
    double max_unknown_increase; /* share of unknown, above the old version's */
    double max_fail_increase;  /* share of action fail, above the old one's */
};

/* A handler state built ahead of time for a version (handler.c). */
struct fl_pooled {
    struct lua_State *L;
    struct fl_lmem *m; /* heap: the state's allocator accounting until adopted */
};

typedef struct fl_version {
    atomic_int refs;
    void (*destroy)(struct fl_version *v); /* frees every part (loading/compile.c) */
    char id[17];
    char *name, *label, *source;
    int64_t loaded_at_ms;
    int default_locale;        /* index into locales                 */
    char *default_locale_name;
    uint32_t max_message_len;
    char *problem_base;
    /* strlen of name, label and problem_base, set at compile: every
     * decision copies them */
    uint32_t name_len, label_len, problem_base_len;
    fl_settings safe;
    char *safe_category;

    fl_rule *rules;          /* sorted into evaluation order */
    struct fl_pcomp *pcomp;  /* loading: patterns being compiled (loading/patterns.c) */
    uint32_t nrules;
    fl_alert_rule_t *alerts; /* `alert` declarations (strings owned)     */
    uint32_t nalerts;
    struct {                 /* `log { ... }`: what decision-log lines hold */
        int declared;
        unsigned fields, mask;   /* FL_LOG_* bits                         */
        char **redact;           /* NULL-terminated patterns, owned       */
        uint32_t sample_every[5];
        int on_full;             /* 0 unset, else 1 + FL_LOG_ON_FULL_*    */
    } logd;
    fl_catconf *cats;
    uint32_t ncats;
    fl_locale *locales;
    uint32_t nlocales;
    int outcome_msgs; /* some message id ends in an outcome (".attempts_exhausted", ...) */
    int title_msgs;   /* some message id is "title.<category>" (localized problem titles) */
    fl_example *examples;
    uint32_t nexamples;

    /* Lua sources, kept so each context can build its handler state. */
    char **src_names;
    char **src_texts;
    size_t *src_lens;
    uint32_t nsrcs;
    uint32_t nhandlers;
    int reads_stack;           /* a rule's stack condition, or a handler */

    int from_dir;              /* loaded from a directory (reloadable)  */
    int declared_empty;        /* policy { empty = true }: no rules on purpose */
    /* id, name, label, source as interned by the engine that published it
     * (engine.c): what fl_version_info_t points at, valid for the engine's
     * lifetime even after this version is freed.  NULL until published. */
    const char *info[4];
    pthread_mutex_t pool_mu;   /* guards pool                           */
    struct fl_pooled *pool;    /* prebuilt handler states, see handler.c */
    uint32_t npool;
    struct fl_resil_decl **rdecls; /* breaker/limiter/... declarations  */
    uint32_t nrdecls;
    struct fl_fleet_decl *fleet;   /* fleet { ... } or NULL (resilience/fleet.c) */
    struct fl_index *index;
    pcre2_match_context *mctx; /* match limits, shared read-only         */
    uint32_t max_captures;     /* largest ovector any pattern needs      */
    struct fl_health health;   /* counted while it serves                */
    struct fl_canary_conf canary;
    _Atomic uint64_t canary_until_ns; /* 0: not on probation             */
    double base_failure, base_unknown, base_fail; /* the previous version's shares */
    int base_valid;            /* the previous version had min_decisions */
    atomic_int canary_tripped; /* the rollback was asked for once        */
} fl_version;

void fl_version_ref(fl_version *v);
void fl_version_unref(fl_version *v);

/* version.c: find the settings for a category (most specific first). */
const fl_catconf *fl_find_category(const fl_version *v, const char *name);
/* version.c: the 16 canonical names; 1 if `name`'s top level is one. */
int fl_category_valid(const char *name);
/* version.c: built-in problem title for a category's top level. */
const char *fl_category_title(const char *name);
/* version.c: default HTTP status for a top-level category (gRPC mapping). */
int fl_category_status(const char *name);

/* version.c: message lookup along the locale chain (see the language doc). */
/* Outcome suffixes of message ids: "retry" "fallback" "ignore" "fail" and
 * the reasons; 1 if `id` ends in ".<one of them>". */
int fl_is_outcome_message_id(const char *id);
/* The message for `id` + "." + `outcome` in locale li's chain, trying id,
 * then its parents (a.b.outcome, a.outcome); the walk stops after the
 * locale named `upto` (a pointer from the version; NULL: the whole chain),
 * so an outcome message never replaces one in a closer locale.  NULL if
 * none. */
const fl_template *fl_resolve_outcome_message(const fl_version *v, int locale_idx, const char *id,
                                              const char *outcome, const char *upto, const char **locale);
/* The localized problem title "title.<category>" (then its parents) in
 * locale li's chain up to the locale named `upto`; NULL if none. */
const fl_template *fl_resolve_title(const fl_version *v, int locale_idx, const char *category,
                                    const char *upto, const char **locale);
const fl_template *fl_resolve_message(const fl_version *v, int locale_idx, const char *id,
                                      const char **locale_used);
/* version.c: index of the declared locale serving `want` (-1: no locales). */
int fl_locale_index(const fl_version *v, const char *want);

/* template.c */
int fl_template_parse(fl_template *t, const char *id, const char *src, char *err, size_t errlen);
void fl_template_free(fl_template *t);

/* diag helpers (status.c) */
int fl_diag_set(fl_diag_t *d, int status, const char *file, int line, int col,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void fl_diag_clear(fl_diag_t *d);
/* Column (1-based) of `token` on `line` of `text`, or 1. */
int fl_find_column(const char *text, size_t len, int line, const char *token);

/* ---- the engine's shared part (shared.c) ---------------------------------- */

/* What deciding threads touch of an engine.  The engine object owns one and
 * publishes versions into it; contexts point at it.  Keeping it here, below
 * the stages, is what lets deciding and the Lua side run without calling up
 * into engine/engine.c.  A private one (examples) holds its own resil. */
/* Observability counters (engine/metrics.c renders them).  The decide path
 * bumps them only while `on` is set (fl_obs_note in deciding/observe.c),
 * each context in a block of its own (struct fl_obs_blk); label sets are
 * fixed-size arrays, so the number of series is bounded by construction. */
#define FL_OBS_NCAT 18 /* the 16 top-level categories, "ok", "other"     */
#define FL_OBS_NBUCKET 12 /* decide duration buckets (the last is +Inf)    */
#define FL_OBS_TIME_EVERY 16 /* a context times 1 decision in 16 (docs/observability.md) */
enum { FL_OBS_RELOAD_OK, FL_OBS_RELOAD_UNCHANGED, FL_OBS_RELOAD_FAILED, FL_OBS_RELOAD_N_ };
struct fl_obs_ctr {
    _Atomic uint64_t decisions[FL_OBS_NCAT][4]; /* [category][fl_action]    */
    _Atomic uint64_t dur_bucket[FL_OBS_NBUCKET];  /* not cumulative         */
    _Atomic uint64_t dur_sum_ns;
    _Atomic uint64_t no_policy;                 /* FL_ESTATE decisions     */
};
/* One context's counters.  Only that context's thread writes them, with a
 * plain load and store (no locked instruction: a locked add drains the
 * store buffer on every decision); readers sum the blocks under obs.mu.
 * Atomic types only so that a reader never sees a torn value. */
struct fl_obs_blk {
    struct fl_obs_ctr c;
    struct fl_obs_blk *next;   /* obs.live, under obs.mu */
};
struct fl_obs {
    atomic_int on;
    struct fl_obs_ctr base;    /* closed contexts' counts; locked adds for a
                                * context that could not get a block       */
    _Atomic uint64_t reloads[FL_OBS_RELOAD_N_];
    pthread_mutex_t mu;        /* guards live (never taken while deciding) */
    struct fl_obs_blk *live;   /* the open contexts' blocks                */
};
/* shared.c: the counters summed over base and every live block. */
void fl_obs_sum(struct fl_obs *o, struct fl_obs_ctr *out);
/* shared.c: a block for a context (NULL: out of memory), and its counts
 * folded into base when the context closes. */
struct fl_obs_blk *fl_obs_attach(struct fl_obs *o);
void fl_obs_detach(struct fl_obs *o, struct fl_obs_blk *b);
extern const char *const fl_obs_category_names[FL_OBS_NCAT];
extern const uint64_t fl_obs_bucket_ns[FL_OBS_NBUCKET - 1]; /* upper bounds, ns */
/* Index of a category's top-level name in fl_obs_category_names. */
int fl_obs_category_index(const char *category);

/* A context's share of a decision sink (engine/declog.c: the error
 * registry's counts), owned by the sink: a context only marks it free when
 * it closes, for the next context to take. */
struct fl_sinkblk {
    _Atomic int free;
};

struct fl_shared {
    const fl_engine_options_t *opts; /* the engine's, outlives this        */
    struct fl_sbx *sbx;              /* budget watchdog + failure counters */
    struct fl_resil *resil;          /* breakers, limiters, budgets        */
    pthread_mutex_t swap;            /* guards current (and the engine's history) */
    fl_version *current;
    atomic_uint gen;                 /* bumped on every publish            */
    pthread_mutex_t grave;           /* guards graveyard                   */
    fl_version **graveyard;          /* unreferenced, freed off the decide path */
    uint32_t ngrave;
    atomic_int nctx;                 /* open contexts                      */
    atomic_int handler_users;        /* contexts that ran a handler: states to prebuild */
    /* The canary tripped on v (why: a short text); set by the engine, called
     * on a deciding thread, must not block.  NULL: no canary. */
    void (*on_canary)(struct fl_shared *sh, fl_version *v, const char *why);
    struct fl_obs obs;               /* metrics counters (zeroed by init)  */
    /* Called after each decision while set (decision log, registry): must
     * only copy what it needs and never block.  Set by the engine. */
    _Atomic(void (*)(fl_ctx_t *ctx, const fl_event_t *ev, const fl_decision_t *d)) on_decision;
    struct fl_declog *_Atomic declog; /* engine/declog.c: the open decision log */
    struct fl_declog *_Atomic errreg; /* engine/declog.c: the open error registry */
    struct fl_declog *_Atomic alertsink; /* engine/declog.c: the ring feeding alerts.c */
    struct fl_alerts *alerts;        /* engine/alerts.c: alert rules and delivery */
    struct fl_kvc *cache;            /* core/cache.c: the stale-cache store (fl_cache_put) */
};

/* cache.c: the stale-cache store.  Bounded by entries and bytes (LRU);
 * thread-safe.  Times are wall-clock ms. */
#define FL_CACHE_MAX_ENTRIES 10000u
#define FL_CACHE_MAX_BYTES ((size_t)64 << 20)
struct fl_kvc *fl__kvc_new(uint32_t max_entries, size_t max_bytes);
void fl__kvc_free(struct fl_kvc *c);
/* Store a copy; an older value than the one held is ignored.  With
 * `publish` and fleet mode on, also queued for Redis.  FL_ENOMEM. */
int fl__kvc_store(struct fl_kvc *c, const char *key, const char *value, size_t vlen, int64_t stored_ms,
                  int64_t expires_ms, int publish);
/* Fleet mode on or off (off drops what is queued). */
void fl__kvc_fleet(struct fl_kvc *c, int on);
/* The synchroniser's side: every queued put, and every key looked up since
 * the last call (each handed to fn once, then forgotten). */
void fl__kvc_take_puts(struct fl_kvc *c, void (*fn)(void *arg, const char *key, const char *value,
                                                   int64_t stored_ms, int64_t expires_ms),
                       void *arg);
void fl__kvc_take_wanted(struct fl_kvc *c, void (*fn)(void *arg, const char *key), void *arg);
/* 1 and the value appended to out, *age_ms, when key holds an unexpired
 * value at most max_stale_ms old; 0 otherwise. */
int fl__kvc_lookup(struct fl_kvc *c, const char *key, int64_t now_ms, int64_t max_stale_ms, fl_strbuf *out,
                   int64_t *age_ms);
uint32_t fl__kvc_count(struct fl_kvc *c);

void fl_shared_init(struct fl_shared *sh, const fl_engine_options_t *opts);
/* Frees what the graveyard holds; current and resil are the owner's. */
void fl_shared_destroy(struct fl_shared *sh);
unsigned fl_shared_generation(const struct fl_shared *sh);
/* The current version with a reference taken (NULL: none yet). */
fl_version *fl_shared_acquire(struct fl_shared *sh, unsigned *gen);
/* Drop a reference from the decide path: a last reference is not freed
 * here (that can take milliseconds) but handed to the next load. */
void fl_shared_release(struct fl_shared *sh, fl_version *v);
/* Free what the decide path let go of (the loading thread calls this). */
void fl_shared_bury(struct fl_shared *sh);

/* ---- versions: reference counts and lookups (version.c) ------------------- */

void fl_version_ref(fl_version *v);
/* Drops a reference; the last one calls v->destroy (set by its builder). */
void fl_version_unref(fl_version *v);
/* The declared category named by the first len bytes of name, or NULL. */
const fl_catconf *fl_category_declared(const fl_version *v, const char *name, size_t len);

/* ---- contexts and decisions -------------------------------------------- */

typedef struct fl_capture {
    const char *name;
    const char *val;
    uint32_t len;
} fl_capture;

#define FL_MAX_CAPTURES 16

struct fl_ctx {
    atomic_int busy;          /* 1 while a thread is inside fl_decide (misuse check) */
    fl_engine_t *engine;      /* the public handle it was opened on (may be NULL) */
    struct fl_shared *sh;     /* what it decides on                      */
    fl_version *ver;          /* pinned, one reference held              */
    unsigned gen;             /* engine generation when pinned           */
    pcre2_match_data *md;
    uint32_t md_pairs;
    fl_rng rng;               /* ids and handler states' seeds           */
    /* Jitter: each decision draws from a seed of its own, taken from this
     * splitmix stream (apart from `rng`, so ids never shift the draws), or
     * the caller's, set by fl_ctx_set_next_seed for the next decision. */
    uint64_t seed_stream;
    uint64_t next_seed;
    int has_next_seed;
    uint64_t cur_seed;        /* the seed of the decision being made     */
    int id_clock;             /* fl_id_clock(): what decision ids are stamped with */
    uint32_t *cand;           /* candidate rule indices                  */
    uint32_t ncand, cand_cap;
    uint32_t *stamp;          /* stamp[rule] == epoch: already a candidate */
    uint32_t nstamp, epoch;
    fl_capture caps[FL_MAX_CAPTURES];
    uint32_t ncaps;
    fl_strbuf scratch;
    fl_strbuf explain;        /* JSON array text when explaining         */
    int explaining;
    struct lua_State *L;      /* handler state for `ver`, lazily built   */
    fl_version *L_ver;
    struct fl_lmem lmem;      /* allocator accounting for L              */
    int uses_handlers;        /* counted in the engine's handler users   */
    const char *last_locale;  /* cache: last requested locale string     */
    int last_locale_idx;
    uint64_t match_errors;    /* PCRE2 limits hit (counted, not fatal)   */
    fl_version *last_locale_ver;
    uint64_t handler_runs;    /* decisions that entered Lua (faultline bench) */
    struct {                  /* health counts not yet added to hver   */
        fl_version *v;
        uint32_t decisions, failures, unknown, fails;
    } hl;
    uint32_t obs_tick;        /* metrics: decisions seen, for timing 1 in FL_OBS_TIME_EVERY */
    uint64_t obs_held_ns;     /* metrics: the duration last measured on this context */
    int obs_bucket;           /* metrics: its histogram bucket           */
    struct fl_obs_blk *obs;   /* metrics: this context's counters (lazily) */
    char obs_cat[24];         /* metrics: the last category's top-level name, */
    uint8_t obs_cat_len;      /*   its length + 1 (0: none) and its index  */
    uint8_t obs_cat_idx;
    int64_t id_ms;            /* wall-clock ms this decision's id was stamped with
                               * (0: none): the decision log's time, read once */
    struct fl_sinkblk *regb;  /* the error registry's counts of this context */
    const void *regb_sink;    /*   and the registry they belong to (declog.c) */
    int64_t resil_now;        /* sh->resil's clock as a pipeline read it just before
                               * this fl_decide (0: none): spares the decide path a read */
};

/* Decision storage: every string lives in `buf`, addressed by offset so the
 * buffer can grow.  Offset 0 means absent (buf starts with a NUL).  */
enum fl_dstr {
    FL_DS_ID, FL_DS_CATEGORY, FL_DS_MESSAGE, FL_DS_MESSAGE_ID, FL_DS_LOCALE,
    FL_DS_FINGERPRINT, FL_DS_RULE, FL_DS_POLICY, FL_DS_POLICY_VERSION, FL_DS_VERSION_ID,
    FL_DS_PARAMS, FL_DS_FALLBACK, FL_DS_ERROR, FL_DS_ERROR_KIND, FL_DS_REASON,
    FL_DS_PROBLEM_TYPE, FL_DS_PROBLEM_TITLE, FL_DS_EFFECTS, FL_DS_EXPLAIN,
    FL_DS_BREAKER, FL_DS_BREAKER_KEY, FL_DS_BUDGET, /* what the rule's resilience names */
    FL_DS_CACHE_KEY,      /* a cache recovery's rendered key, on a hit      */
    FL_DS_COUNT_
};

struct fl_decision {
    fl_strbuf buf;
    uint32_t off[FL_DS_COUNT_];
    uint32_t len[FL_DS_COUNT_]; /* length of each present string (the JSON writer's strlen) */
    fl_severity severity;
    int retryable;
    fl_action action;
    int64_t delay_ms;
    int attempts_left;
    int status;
    int64_t cache_age_ms;     /* age of the cached fallback; -1 none    */
    uint32_t obs_cat_off;     /* metrics: obs_cat is the index of the category */
    uint8_t obs_cat;          /*   at this offset (0: none; see put_fixed)   */
    uint64_t jitter_seed;     /* what its jitter was (or would be) drawn from */
    fl_strbuf json;           /* fl_decision_to_json output             */
};

void fl_decision_clear(fl_decision_t *d);
/* fl_decision_to_json's text and a newline appended to out, written there
 * directly (the CLI's output batches); -1 (out unchanged) on ENOMEM. */
int fl_decision_json_append(const fl_decision_t *d, fl_strbuf *out);
/* The decision as a jansson object (caller decrefs); NULL on ENOMEM. */
json_t *fl_decision_jobj(const fl_decision_t *d);
int fl_decision_put(fl_decision_t *d, enum fl_dstr which, const char *s, size_t len);
/* Put a rule's FL_FX_* strings at once (r->fixed must not be NULL). */
int fl_decision_put_fixed(fl_decision_t *d, const struct fl_rule *r);
/* Put the concatenation a + b (b may point into the decision's buffer). */
int fl_decision_put2(fl_decision_t *d, enum fl_dstr which, const char *a, size_t alen, const char *b, size_t blen);
const char *fl_decision_get(const fl_decision_t *d, enum fl_dstr which);



/* template.c: render into sb, appending at most env->limit bytes (0: no
 * output at all) -- rendering stops there, so the memory a render takes is
 * bounded by the limit whatever the template repeats.  NULL-safe; returns 1
 * when the output was cut at the limit, 0 when it is complete, -1 (ENOMEM). */
struct fl_render_env {
    const fl_eview *ev;
    const fl_capture *caps;
    uint32_t ncaps;
    const char *category;
    int attempts_left;
    int64_t delay_ms;
    size_t limit;
};
int fl_template_render(const fl_template *t, const struct fl_render_env *env, fl_strbuf *sb);



#endif /* FL_CORE_H */
