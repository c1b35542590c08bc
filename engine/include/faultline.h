/*
 * faultline.h -- the public interface of libfaultline, an error-policy engine.
 *
 * This header is the reference manual.  A host hands the engine an error
 * event; Lua policy scripts loaded into the engine classify it, choose the
 * recovery and compose the message a person reads.  Declarative rules are
 * compiled to C matchers at load time, so a typical decision never enters Lua.
 *
 * Objects (all opaque, all prefixed fl_):
 *
 *   fl_engine_t    one per policy set.  Owns the published policy version, the
 *                  version history and the resilience state.  Thread-safe.
 *   fl_ctx_t       one per thread that decides.  Owns scratch memory, the
 *                  thread's Lua state for handler functions and its random
 *                  stream.  NOT thread-safe: never share one between threads.
 *   fl_event_t     an error event (input).  Owned by whoever created it.
 *   fl_decision_t  a decision (output).  Owned by whoever created it; reused
 *                  across calls so the hot path does not allocate.
 *
 * Error handling: every function that can fail returns an fl_status (0 on
 * success, a negative FL_E* code otherwise).  fl_strerror() names a code.
 * Functions that can say more take an optional fl_diag_t* and fill it with a
 * message and, when a policy is at fault, the policy file, line and column.
 *
 * Ownership: a returned pointer is owned by the object it came from unless the
 * comment says "caller frees".  Strings returned by accessors stay valid until
 * the owning object is next modified or freed.
 *
 * Bad input: every function documents its behaviour on bad input.  NULL where
 * an object is required gives FL_EINVAL (never a crash); accessors given NULL
 * return NULL / 0.
 */
#ifndef FAULTLINE_H
#define FAULTLINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_VERSION_MAJOR 0
#define FL_VERSION_MINOR 1
#define FL_VERSION_PATCH 0
#define FL_VERSION_STRING "0.1.0"
/* A single number for compile-time comparisons: 0xMMmmpp. */
#define FL_VERSION_HEX ((FL_VERSION_MAJOR << 16) | (FL_VERSION_MINOR << 8) | FL_VERSION_PATCH)

#if defined(_WIN32)
#define FL_EXTERN __declspec(dllexport)
#elif defined(__GNUC__)
#define FL_EXTERN __attribute__((visibility("default")))
#else
#define FL_EXTERN
#endif

/* Version of the library actually linked (may differ from the header). */
FL_EXTERN const char *fl_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Primary codes are small negative numbers.  Extended codes refine a primary
 * code in the bits above the low byte, SQLite style: FL_PRIMARY(code) gives
 * the primary code of any extended code.
 */
typedef enum fl_status {
    FL_OK = 0,
    FL_EINVAL = -1,    /* a required argument is NULL or out of range      */
    FL_ENOMEM = -2,    /* allocation failed or a memory cap was reached     */
    FL_EPARSE = -3,    /* input is not well-formed (JSON, UTF-8, types)     */
    FL_EPOLICY = -4,   /* a policy could not be loaded or compiled          */
    FL_ENOENT = -5,    /* file, directory, version or key does not exist    */
    FL_EIO = -6,       /* an operating-system I/O call failed               */
    FL_ETOOBIG = -7,   /* input exceeds a documented size or depth limit    */
    FL_EHANDLER = -8,  /* a policy handler failed; the safe decision stands */
    FL_EBUDGET = -9,   /* a CPU, memory or match budget was exhausted       */
    FL_EEXAMPLE = -10, /* a policy example or test did not hold             */
    FL_EREFUSED = -11, /* admission refused (breaker, limiter, bulkhead)    */
    FL_ESTATE = -12,   /* the object is in the wrong state for this call    */
    FL_ECONFINED = -13 /* a path escapes the configured roots               */
} fl_status;

#define FL_PRIMARY(code) ((int)(code) >= 0 ? (int)(code) : -((-(int)(code)) & 0xff))
#define FL_EXT(primary, n) (-((-(primary)) | ((n) << 8)))

/* Extended codes. */
#define FL_EPARSE_JSON FL_EXT(FL_EPARSE, 1)     /* malformed JSON              */
#define FL_EPARSE_UTF8 FL_EXT(FL_EPARSE, 2)     /* invalid UTF-8               */
#define FL_EPARSE_TYPE FL_EXT(FL_EPARSE, 3)     /* a field has the wrong type  */
#define FL_EPOLICY_SYNTAX FL_EXT(FL_EPOLICY, 1) /* Lua syntax error            */
#define FL_EPOLICY_RUNTIME FL_EXT(FL_EPOLICY, 2)/* error while running a file  */
#define FL_EPOLICY_SCHEMA FL_EXT(FL_EPOLICY, 3) /* wrong key, value or type    */
#define FL_EPOLICY_PATTERN FL_EXT(FL_EPOLICY, 4)/* PCRE2 pattern did not compile */
#define FL_EBUDGET_CPU FL_EXT(FL_EBUDGET, 1)    /* handler ran past its time   */
#define FL_EBUDGET_MEM FL_EXT(FL_EBUDGET, 2)    /* Lua state hit its memory cap*/
#define FL_EBUDGET_MATCH FL_EXT(FL_EBUDGET, 3)  /* PCRE2 match limit reached   */

/* A constant English name for any code ("FL_EPARSE_JSON: malformed JSON").
 * Unknown codes give "unknown status".  Never NULL. */
FL_EXTERN const char *fl_strerror(int status);

/*
 * Diagnostics.  Caller-allocated; every function taking one fills it on
 * failure (and clears it on success).  `file` is empty when no file is at
 * fault; `line`/`col` are 0 when unknown.
 */
typedef struct fl_diag {
    int status;
    int line;
    int col;
    char file[256];
    char message[768];
} fl_diag_t;

/* Format as "file:line:col: message" (or just "message") into buf.  Returns
 * buf.  Truncates to bufsize; bufsize 0 or NULL buf returns NULL. */
FL_EXTERN const char *fl_diag_format(const fl_diag_t *diag, char *buf, size_t bufsize);

/* ------------------------------------------------------------------------ */
/* Engine                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct fl_engine fl_engine_t;

/* Engine options.  Zero-initialise, then set what you need; zero means the
 * documented default.  Copied by fl_engine_new. */
typedef struct fl_engine_options {
    /* CPU budget for one handler call, in microseconds.  Default 10000
     * (10 ms).  The budget is enforced by an instruction-count hook; handler
     * code runs with the LuaJIT compiler off so the hook always fires. */
    uint32_t handler_budget_us;
    /* Memory cap per Lua state, in bytes.  Default 32 MiB. */
    size_t lua_memory_cap;
    /* PCRE2 match limit per pattern match.  Default 100000. */
    uint32_t match_limit;
    /* Versions kept for rollback.  Default 8. */
    uint32_t versions_kept;
    /* Seed for ids and jitter; 0 means seeded from the OS. */
    uint64_t seed;
    /* Maximum length of a rendered message in bytes.  Default 1024; a
     * policy may lower it. */
    uint32_t max_message_len;
} fl_engine_options_t;

/* Create an engine with no policy loaded.  `opts` may be NULL for defaults.
 * Returns FL_EINVAL if `out` is NULL, FL_ENOMEM on allocation failure.
 * Caller frees with fl_engine_free. */
FL_EXTERN int fl_engine_new(const fl_engine_options_t *opts, fl_engine_t **out);

/* Free the engine.  All contexts created from it must be freed first
 * (checked in debug builds).  NULL is a no-op. */
FL_EXTERN void fl_engine_free(fl_engine_t *engine);

/*
 * Load the policy directory `dir` (every *.lua file directly in it, in name
 * order), compile it, run its examples, and publish it as the current version.
 * On any failure nothing is published and the running version keeps serving.
 * Failures: FL_EINVAL (NULL engine/dir), FL_ENOENT (missing directory or no
 * .lua files), FL_EIO (unreadable file), FL_EPOLICY_* (diag names file:line:col),
 * FL_EEXAMPLE (an example's expectation failed; diag names it).
 * Thread-safe: may be called while other threads decide.
 */
FL_EXTERN int fl_engine_load(fl_engine_t *engine, const char *dir, fl_diag_t *diag);

/* Like fl_engine_load but from an in-memory source named `name` (used in
 * diagnostics as the file name).  Same failures, minus FL_ENOENT/FL_EIO. */
FL_EXTERN int fl_engine_load_string(fl_engine_t *engine, const char *name,
                                    const char *source, size_t len, fl_diag_t *diag);

/* Like fl_engine_load but does not publish: validates only (compile + examples).
 * Used by `faultline check`. */
FL_EXTERN int fl_engine_check(fl_engine_t *engine, const char *dir, fl_diag_t *diag);

/* Information about a loaded version.  Strings are owned by the engine and
 * stay valid while the version is kept (see versions_kept). */
typedef struct fl_version_info {
    const char *id;       /* content hash, 16 hex digits              */
    const char *name;     /* policy name                              */
    const char *version;  /* policy's declared version string         */
    const char *source;   /* directory or name it was loaded from     */
    int64_t loaded_at_ms; /* wall-clock load time, ms since the epoch */
    uint32_t rules;       /* number of rules                          */
    int current;          /* 1 for the version now serving            */
} fl_version_info_t;

/* Describe the current version.  FL_ESTATE if nothing is loaded. */
FL_EXTERN int fl_engine_current(fl_engine_t *engine, fl_version_info_t *out);

/* ------------------------------------------------------------------------ */
/* Events                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct fl_event fl_event_t;

/* String fields of an event. */
typedef enum fl_field {
    FL_FIELD_ID = 0,
    FL_FIELD_TIME,    /* RFC 3339 */
    FL_FIELD_DOMAIN,
    FL_FIELD_CODE,    /* string form; integer codes are kept as decimal text */
    FL_FIELD_MESSAGE,
    FL_FIELD_OP,
    FL_FIELD_STACK,
    FL_FIELD_COUNT_
} fl_field;

/* Create an empty event (attempt 1, no fields).  Caller frees. */
FL_EXTERN int fl_event_new(fl_event_t **out);
FL_EXTERN void fl_event_free(fl_event_t *ev);
/* Clear all fields for reuse without freeing memory. */
FL_EXTERN void fl_event_reset(fl_event_t *ev);

/* Set a string field; the bytes are copied.  `len` may be (size_t)-1 for a
 * NUL-terminated string.  FL_EINVAL for a bad field or NULL value,
 * FL_EPARSE_UTF8 if the value is not valid UTF-8 (the field is left unset). */
FL_EXTERN int fl_event_set(fl_event_t *ev, fl_field field, const char *value, size_t len);
/* attempt >= 1 (FL_EINVAL otherwise). */
FL_EXTERN int fl_event_set_attempt(fl_event_t *ev, int attempt);
/* elapsed_ms >= 0 (FL_EINVAL otherwise). */
FL_EXTERN int fl_event_set_elapsed_ms(fl_event_t *ev, double elapsed_ms);
/* Add or replace a string tag.  Same checks as fl_event_set. */
FL_EXTERN int fl_event_set_tag(fl_event_t *ev, const char *key, const char *value);
/* Read back a field or tag; NULL when unset. */
FL_EXTERN const char *fl_event_get(const fl_event_t *ev, fl_field field);
FL_EXTERN const char *fl_event_get_tag(const fl_event_t *ev, const char *key);
FL_EXTERN int fl_event_attempt(const fl_event_t *ev);

/*
 * Parse one JSON object (the event format of PRODUCT.md) into `ev`, which is
 * reset first.  Failures leave `ev` reset and fill diag with the column:
 * FL_EPARSE_JSON (not JSON, or not an object), FL_EPARSE_UTF8,
 * FL_EPARSE_TYPE (e.g. attempt is a string; diag names the field),
 * FL_ETOOBIG (more than 1 MiB, or `cause` nested deeper than 8).
 */
FL_EXTERN int fl_event_from_json(fl_event_t *ev, const char *json, size_t len, fl_diag_t *diag);

/* ------------------------------------------------------------------------ */
/* Deciding                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct fl_ctx fl_ctx_t;
typedef struct fl_decision fl_decision_t;

/* Create a per-thread context.  Caller frees with fl_ctx_free before freeing
 * the engine.  FL_EINVAL for NULL arguments. */
FL_EXTERN int fl_ctx_new(fl_engine_t *engine, fl_ctx_t **out);
FL_EXTERN void fl_ctx_free(fl_ctx_t *ctx);

/* Create a reusable decision.  Caller frees. */
FL_EXTERN int fl_decision_new(fl_decision_t **out);
FL_EXTERN void fl_decision_free(fl_decision_t *d);

/* Flags for fl_decide. */
enum {
    FL_DECIDE_EXPLAIN = 1 << 0 /* record which rules were tried and why */
};

/*
 * Decide what to do about `ev`, writing into `out` (overwritten).
 * `locale` may be NULL for the policy's default locale.
 * Returns FL_OK with a policy decision, or FL_EHANDLER / FL_EBUDGET_* when a
 * handler failed: `out` then holds the policy's safe decision with its error
 * field set -- it is always a usable decision.  FL_ESTATE when no policy is
 * loaded (out holds the built-in safe decision).  FL_EINVAL for NULL args.
 * Never blocks on a reload.
 */
FL_EXTERN int fl_decide(fl_ctx_t *ctx, const fl_event_t *ev, const char *locale,
                        unsigned flags, fl_decision_t *out);

/* Decision accessors.  Strings are owned by the decision; NULL when absent. */
typedef enum fl_action { FL_ACTION_RETRY, FL_ACTION_FALLBACK, FL_ACTION_IGNORE, FL_ACTION_FAIL } fl_action;
typedef enum fl_severity { FL_SEV_DEBUG, FL_SEV_INFO, FL_SEV_WARNING, FL_SEV_ERROR, FL_SEV_CRITICAL } fl_severity;

FL_EXTERN const char *fl_decision_id(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_category(const fl_decision_t *d);
FL_EXTERN fl_severity fl_decision_severity(const fl_decision_t *d);
FL_EXTERN int fl_decision_retryable(const fl_decision_t *d);
FL_EXTERN fl_action fl_decision_action(const fl_decision_t *d);
FL_EXTERN int64_t fl_decision_delay_ms(const fl_decision_t *d);     /* -1 unless retry */
FL_EXTERN int fl_decision_attempts_left(const fl_decision_t *d);    /* -1 if unbounded/none */
FL_EXTERN const char *fl_decision_message(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_message_id(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_locale(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_fingerprint(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_rule(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_policy_version(const fl_decision_t *d); /* version id */
FL_EXTERN const char *fl_decision_error(const fl_decision_t *d);    /* NULL unless failed */
/* JSON text of `params` / `fallback`, NULL when absent. */
FL_EXTERN const char *fl_decision_params_json(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_fallback_json(const fl_decision_t *d);
FL_EXTERN const char *fl_action_name(fl_action a);
FL_EXTERN const char *fl_severity_name(fl_severity s);

/* Render the decision as one line of JSON (no trailing newline) into a buffer
 * owned by the decision.  Returns NULL only on allocation failure. */
FL_EXTERN const char *fl_decision_to_json(fl_decision_t *d);

/* ------------------------------------------------------------------------ */
/* Resilience state and executor (engine/src/resilience/)                    */
/* ------------------------------------------------------------------------ */
/* FL-RESILIENCE-BEGIN (owned by the resilience module; edit only inside) */
/* FL-RESILIENCE-END */

/* ------------------------------------------------------------------------ */
/* Resource checks, storage actions, checkpoints (bindings/)                 */
/* ------------------------------------------------------------------------ */
/* FL-BINDINGS-BEGIN (owned by the bindings module; edit only inside) */
/* FL-BINDINGS-END */

#ifdef __cplusplus
}
#endif
#endif /* FAULTLINE_H */
