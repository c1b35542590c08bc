/*
 * core.h -- the engine's internal data model, shared by the core modules.
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

/* FL-SANDBOX-BEGIN (owned by sandbox.c / handler.c; docs/sandbox.md) */
struct fl_sbx;     /* per engine: the budget watchdog and the failure counters */
struct fl_wd_slot; /* one per context that has a handler state */

/* Lua allocator accounting and CPU budget state (sandbox.c).  Initialise
 * with designated initialisers ({.cap = ...}); the rest start at zero. */
struct fl_lmem {
    size_t used, cap;
    uint64_t deadline_ns;  /* 0: no budget armed */
    int cpu_hit, mem_hit;  /* set when a budget stopped the code */
    /* private to sandbox.c */
    int armed;             /* cap and in-thread checks apply only while armed */
    size_t since_check;    /* bytes allocated since the last clock read       */
    uint32_t steps;        /* metered library work since the last clock read  */
    uintptr_t stack_base;  /* frame address at arm: bounds C recursion        */
    struct lua_State *L;   /* the state this accounts for                     */
    struct fl_wd_slot *slot; /* watchdog registration, NULL: count-hook mode  */
};

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
void fl_sbx_fail(fl_engine_t *e, const char *version_id, fl_failure_kind kind, int status,
                 const char *detail);
/* engine.c */
struct fl_sbx *fl_engine_sbx(const fl_engine_t *e);
/* FL-SANDBOX-END */

/* ---- events ------------------------------------------------------------ */

#define FL_MAX_CAUSE_DEPTH 8
#define FL_MAX_EVENT_BYTES (1u << 20)

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
    pcre2_code *re;
    uint32_t ncaptures; /* named groups                                  */
} fl_cond;

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
    char *fallback_json;  /* owned JSON text for FL_ACTION_FALLBACK       */
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

typedef struct fl_rule {
    char *name;
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

/* A handler state built ahead of time for a version (handler.c). */
struct fl_pooled {
    struct lua_State *L;
    struct fl_lmem *m; /* heap: the state's allocator accounting until adopted */
};

typedef struct fl_version {
    atomic_int refs;
    char id[17];
    char *name, *label, *source;
    int64_t loaded_at_ms;
    int default_locale;        /* index into locales                 */
    char *default_locale_name;
    uint32_t max_message_len;
    char *problem_base;
    fl_settings safe;
    char *safe_category;

    fl_rule *rules;          /* sorted into evaluation order */
    uint32_t nrules;
    fl_catconf *cats;
    uint32_t ncats;
    fl_locale *locales;
    uint32_t nlocales;
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
    pthread_mutex_t pool_mu;   /* guards pool                           */
    struct fl_pooled *pool;    /* prebuilt handler states, see handler.c */
    uint32_t npool;
    struct fl_resil_decl **rdecls; /* breaker/limiter/... declarations  */
    uint32_t nrdecls;
    struct fl_index *index;
    pcre2_match_context *mctx; /* match limits, shared read-only         */
    uint32_t max_captures;     /* largest ovector any pattern needs      */
} fl_version;

fl_version *fl_version_new(void);
/* compile.c: set v->id from the sources (XXH3 of names and contents). */
void fl_version_hash(fl_version *v);
void fl_version_ref(fl_version *v);
void fl_version_unref(fl_version *v);

/* loader.c: read `nsrcs` Lua sources into v (rules, categories, messages,
 * examples).  Sources are copied into v.  The resilience declarations are
 * passed to `resil` when not NULL. */
int fl_load_sources(fl_version *v, const fl_engine_options_t *opts,
                    struct fl_resil *resil, fl_diag_t *diag);
/* loader.c: read every *.lua file of dir into v->src_*.  */
int fl_read_policy_dir(fl_version *v, const char *dir, fl_diag_t *diag);

/* compile.c: finish a loaded version.  */
int fl_compile(fl_version *v, const fl_engine_options_t *opts, fl_diag_t *diag);
/* compile.c: find the settings for a category (most specific first). */
const fl_catconf *fl_find_category(const fl_version *v, const char *name);
/* compile.c: the 16 canonical names; 1 if `name`'s top level is one. */
int fl_category_valid(const char *name);
/* compile.c: built-in problem title for a category's top level. */
const char *fl_category_title(const char *name);
/* compile.c: default HTTP status for a top-level category (gRPC mapping). */
int fl_category_status(const char *name);

/* compile.c: message lookup along the locale chain (see the language doc). */
const fl_template *fl_resolve_message(const fl_version *v, int locale_idx, const char *id,
                                      const char **locale_used);
/* compile.c: index of the declared locale serving `want` (-1: no locales). */
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

/* ---- contexts and decisions -------------------------------------------- */

typedef struct fl_capture {
    const char *name;
    const char *val;
    uint32_t len;
} fl_capture;

#define FL_MAX_CAPTURES 16

struct fl_ctx {
    fl_engine_t *engine;
    fl_version *ver;          /* pinned, one reference held              */
    unsigned gen;             /* engine generation when pinned           */
    pcre2_match_data *md;
    uint32_t md_pairs;
    fl_rng rng;
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
};

/* Decision storage: every string lives in `buf`, addressed by offset so the
 * buffer can grow.  Offset 0 means absent (buf starts with a NUL).  */
enum fl_dstr {
    FL_DS_ID, FL_DS_CATEGORY, FL_DS_MESSAGE, FL_DS_MESSAGE_ID, FL_DS_LOCALE,
    FL_DS_FINGERPRINT, FL_DS_RULE, FL_DS_POLICY, FL_DS_POLICY_VERSION, FL_DS_VERSION_ID,
    FL_DS_PARAMS, FL_DS_FALLBACK, FL_DS_ERROR, FL_DS_ERROR_KIND, FL_DS_REASON,
    FL_DS_PROBLEM_TYPE, FL_DS_PROBLEM_TITLE, FL_DS_EFFECTS, FL_DS_EXPLAIN, FL_DS_COUNT_
};

struct fl_decision {
    fl_strbuf buf;
    uint32_t off[FL_DS_COUNT_];
    fl_severity severity;
    int retryable;
    fl_action action;
    int64_t delay_ms;
    int attempts_left;
    int status;
    fl_strbuf json;           /* fl_decision_to_json output             */
};

void fl_decision_clear(fl_decision_t *d);
/* The decision as a jansson object (caller decrefs); NULL on ENOMEM. */
json_t *fl_decision_jobj(const fl_decision_t *d);
int fl_decision_put(fl_decision_t *d, enum fl_dstr which, const char *s, size_t len);
const char *fl_decision_get(const fl_decision_t *d, enum fl_dstr which);

/* matcher.c */
int fl_index_build(fl_version *v, fl_diag_t *diag);
void fl_index_free(struct fl_index *ix);
/* First matching rule for the view, or NULL.  Fills ctx->caps. */
const fl_rule *fl_match(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev);

/* relit.c: required literals of a pattern.  Returns the number of literals
 * written to out (each malloc'd, lower-cased), 0 if none can be proven. */
uint32_t fl_required_literals(const char *pattern, char **out, uint32_t max);

/* backoff.c: delay for a retry after `attempt` failed.  */
int64_t fl_backoff_delay(const fl_recovery *r, int attempt, fl_rng *rng);

/* template.c: render into sb; NULL-safe; returns 0 or -1 (ENOMEM). */
struct fl_render_env {
    const fl_eview *ev;
    const fl_capture *caps;
    uint32_t ncaps;
    const char *category;
    int attempts_left;
    int64_t delay_ms;
};
int fl_template_render(const fl_template *t, const struct fl_render_env *env, fl_strbuf *sb);

/* handler.c */
int fl_handler_run(fl_ctx_t *ctx, fl_version *v, const fl_rule *rule, const fl_eview *ev,
                   fl_decision_t *d, fl_strbuf *err);
void fl_handler_close(fl_ctx_t *ctx);
/* Build n handler states for v ahead of time (the loading thread does this
 * right after publishing, so the first handler decision after a reload does
 * not have to), and free the ones never adopted. */
void fl_handler_prebuild(fl_engine_t *e, fl_version *v, uint32_t n, uint64_t seed);
void fl_handler_pool_free(fl_version *v);
int fl_handler_apply(fl_ctx_t *ctx, struct lua_State *L, int t, fl_decision_t *d, fl_strbuf *err);

/* sandbox.c: a new Lua state with the allowlisted environment and the
 * declaration functions, its allocator capped by mem (mem->cap 0: no cap).
 * The JIT compiler is off so the budget hook always fires.  NULL on failure
 * (diag says why). */
struct lua_State *fl_sandbox_new(struct fl_lmem *mem, uint64_t seed, fl_diag_t *diag);
/* Run v's sources in L under a CPU budget of budget_us.  On success the
 * declarations table is on top of the stack. */
int fl_sandbox_run_sources(struct lua_State *L, const fl_version *v, struct fl_lmem *mem,
                           uint32_t budget_us, fl_diag_t *diag);
/* Arm / disarm the CPU budget: the hook raises an error once past it. */
void fl_sandbox_arm(struct lua_State *L, struct fl_lmem *mem, uint32_t budget_us);
void fl_sandbox_disarm(struct lua_State *L, struct fl_lmem *mem);

/* engine.c internals used by decide.c and the loader */
struct fl_resil *fl_engine_resil_internal(const fl_engine_t *e);
/* Drop a reference from the decide path: a last reference is not freed
 * here (that can take milliseconds) but handed to the next load. */
void fl_engine_release(fl_engine_t *e, fl_version *v);
/* Count contexts that run handlers (delta +1 / -1). */
void fl_engine_handler_users(fl_engine_t *e, int delta);
fl_version *fl_engine_acquire(fl_engine_t *e, unsigned *gen);
unsigned fl_engine_generation(const fl_engine_t *e);
const fl_engine_options_t *fl_engine_opts(const fl_engine_t *e);
/* Decide on an explicit version (examples, tests). */
int fl_decide_on(fl_ctx_t *ctx, fl_version *v, const fl_event_t *ev, const char *locale,
                 unsigned flags, fl_decision_t *out);
/* examples.c: compare a decision with expected fields; 0 when all hold,
 * 1 with why filled when one does not, -1 on ENOMEM. */
int fl_expect_check(const fl_decision_t *d, json_t *expect, char *why, size_t n);
/* Run a version's examples on a private context; diag names the failure. */
int fl_run_examples(fl_engine_t *e, fl_version *v, fl_diag_t *diag);

#endif /* FL_CORE_H */
