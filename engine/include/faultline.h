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
 *
 * Lengths -- one convention across the whole API:
 *   - A text argument that comes with a length (fl_engine_load_string,
 *     fl_event_set, fl_event_from_json) takes its length in bytes, without a
 *     terminating NUL.  FL_NUL_TERMINATED ((size_t)-1) means "up to the first
 *     NUL" (strlen).  Any other length is exact, and the text must not
 *     contain a NUL byte within it where the function says so.
 *   - Binary data (void *, e.g. checkpoints, fl_write_options_t) always takes
 *     an exact length; FL_NUL_TERMINATED has no meaning there.
 *   - Every length is checked against the function's documented maximum
 *     before anything is allocated or copied: a length above it -- including
 *     (size_t)-1 where it has no special meaning -- gives FL_ETOOBIG.  No
 *     length makes the library allocate len + 1 bytes or read past the
 *     maximum.
 *   - Buffer capacities (bufsize, cap) are sizes of caller memory the library
 *     writes to, never read from.
 *
 * Lifetimes: see "Ownership and lifetimes" before fl_engine_new.
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

/* A text length meaning "NUL-terminated": see Lengths above. */
#define FL_NUL_TERMINATED ((size_t)-1)

/* Version of the library actually linked (may differ from the header). */
FL_EXTERN const char *fl_libversion(void);

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
    FL_ECONFINED = -13, /* a path escapes the configured roots              */
    FL_EMISUSE = -14,   /* the API was used against its contract (a context
                           used by two threads at once); nothing was changed */
    FL_ESIGNATURE = -15 /* a bundle or directory is unsigned, tampered or
                         * signed by a key the engine does not trust         */
} fl_status;

#define FL_PRIMARY(code) ((int)(code) >= 0 ? (int)(code) : -((-(int)(code)) & 0xff))
#define FL_EXT(primary, n) (-((-(primary)) | ((n) << 8)))

/* Extended codes. */
#define FL_EPARSE_JSON FL_EXT(FL_EPARSE, 1)     /* malformed JSON              */
#define FL_EPARSE_UTF8 FL_EXT(FL_EPARSE, 2)     /* invalid UTF-8               */
#define FL_EPARSE_TYPE FL_EXT(FL_EPARSE, 3)     /* a field has the wrong type  */
#define FL_EPARSE_KEY FL_EXT(FL_EPARSE, 4)      /* an unknown key (strict)     */
#define FL_EPOLICY_SYNTAX FL_EXT(FL_EPOLICY, 1) /* Lua syntax error            */
#define FL_EPOLICY_RUNTIME FL_EXT(FL_EPOLICY, 2)/* error while running a file  */
#define FL_EPOLICY_SCHEMA FL_EXT(FL_EPOLICY, 3) /* wrong key, value or type    */
#define FL_EPOLICY_PATTERN FL_EXT(FL_EPOLICY, 4)/* PCRE2 pattern did not compile */
#define FL_EBUDGET_CPU FL_EXT(FL_EBUDGET, 1)    /* handler ran past its time   */
#define FL_EBUDGET_MEM FL_EXT(FL_EBUDGET, 2)    /* Lua state hit its memory cap*/
#define FL_EBUDGET_MATCH FL_EXT(FL_EBUDGET, 3)  /* PCRE2 match limit reached   */
#define FL_ESTATE_STACK FL_EXT(FL_ESTATE, 1)    /* FL_DECIDE_STACK_ON_DEMAND: add the stack */

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

/*
 * Ownership and lifetimes.
 *
 *   - An engine is reference-counted.  fl_engine_new gives the caller one
 *     reference; every context (fl_ctx_new) and every watch (fl_watch_start)
 *     takes one more, and gives it back when freed (fl_ctx_free,
 *     fl_watch_stop).  fl_engine_free drops the caller's reference: the
 *     engine itself goes when the last context and watch are gone too.  So
 *     an engine outlives its contexts and watches by construction: freeing
 *     it first is allowed -- the contexts keep deciding and the watch keeps
 *     reloading until they are freed/stopped -- but after fl_engine_free the
 *     caller must not pass that engine handle to any function again
 *     (fl_engine_free twice is undefined, like free()).
 *   - What an engine hands out (fl_engine_resil's registry, the strings of
 *     fl_version_info_t) lives as long as the engine itself.
 *   - A context belongs to one thread at a time.  Using one context from two
 *     threads at once is detected cheaply: the second fl_decide returns
 *     FL_EMISUSE at once and changes nothing (neither the context nor its
 *     `out`), like SQLite's SQLITE_MISUSE; it is a bug in the host to fix,
 *     not a condition to retry on.  Moving a context between threads between
 *     calls is fine.  fl_ctx_free must not race a decision on the same
 *     context.
 *   - Events and decisions are plain objects owned by their creator and not
 *     thread-safe; a decision's strings live until its next use or free.
 */

typedef struct fl_engine fl_engine_t;
typedef struct fl_bindings fl_bindings_t; /* see the bindings section below */

/* FL-SANDBOX-BEGIN: policy failures (docs/sandbox.md) */
/* Kinds of policy failure.  Each yields the policy's safe decision (its
 * error field says why); the engine counts them (fl_engine_stats). */
typedef enum fl_failure_kind {
    FL_FAIL_HANDLER_ERROR = 0, /* a handler raised an error, or its state could not be built */
    FL_FAIL_CPU_BUDGET,        /* a handler ran past handler_budget_us (CPU time) or handler_wall_us */
    FL_FAIL_MEMORY_BUDGET,     /* a handler's Lua state reached lua_memory_cap      */
    FL_FAIL_BAD_RETURN,        /* a handler returned a malformed or oversized value */
    FL_FAIL_MATCH_LIMIT,       /* a rule's pattern hit the PCRE2 match/depth limit  */
    FL_FAIL_KIND_COUNT_
} fl_failure_kind;

/* "handler_error" "cpu_budget" "memory_budget" "bad_return" "match_limit";
 * "?" when out of range. */
FL_EXTERN const char *fl_failure_kind_name(fl_failure_kind kind);

/* Called the first time each kind of failure happens on a policy version
 * (identified by its content id), not once per event: a flood of failing
 * events logs one line per kind.  Runs on the deciding thread, inside
 * fl_decide: keep it short, thread-safe, and do not call the engine from it.
 * `detail` is the failure text (also in the decision's error field). */
typedef void (*fl_failure_log_fn)(void *user, fl_failure_kind kind, int status,
                                  const char *version_id, const char *detail);

/* Failure counters since the engine was created (relaxed atomic reads). */
typedef struct fl_engine_stats {
    uint64_t failures[FL_FAIL_KIND_COUNT_]; /* indexed by fl_failure_kind     */
    uint64_t states_reset;                  /* handler states thrown away      */
} fl_engine_stats_t;
/* FL-SANDBOX-END */

/* Engine options.  Zero-initialise, then set what you need; zero means the
 * documented default.  Copied by fl_engine_new. */
typedef struct fl_engine_options {
    /* CPU budget for one handler call, in microseconds of the deciding
     * thread's CPU time (time spent descheduled or blocked in a binding's
     * I/O is not charged).  Default 10000 (10 ms).  Handler code runs with
     * the LuaJIT compiler off; a per-engine watchdog thread installs a
     * stopping hook once the budget is spent (docs/sandbox.md), so a
     * runaway handler stops within about 2 ms of CPU time past it. */
    uint32_t handler_budget_us;
    /* Memory cap per Lua state, in bytes.  Default 32 MiB. */
    size_t lua_memory_cap;
    /* PCRE2 match limit per pattern match.  Default 100000. */
    uint32_t match_limit;
    /* Versions kept for rollback.  Default 8. */
    uint32_t versions_kept;
    /* Seed for ids and jitter seeds (two separate streams per context, see
     * fl_ctx_set_next_seed); 0 means seeded from the OS. */
    uint64_t seed;
    /* Maximum length of a rendered message in bytes.  Default 1024; values
     * below 16 are taken as 16; a policy may lower it.  Rendering stops at
     * this length (a longer message ends in "..."), so a template that
     * repeats a large capture costs no more memory than this. */
    uint32_t max_message_len;
    /* Resource checks, storage actions and checkpoints offered to handler
     * functions as the `fl` module.  Optional; not owned (must outlive the
     * engine).  NULL: handlers see no storage or checkpoint actions. */
    fl_bindings_t *bindings;
    /* Optional: told once per failure kind and policy version (see
     * fl_failure_log_fn).  NULL: failures are only counted. */
    fl_failure_log_fn on_failure;
    void *on_failure_user;
    /* Optional Ed25519 public key (FL_KEY_PUBLIC_BYTES bytes, copied by
     * fl_engine_new).  When set, the engine loads only bundles and
     * directories whose manifest is signed by this key and whose files match
     * it (see fl_bundle_create); everything else -- unsigned, tampered,
     * signed by another key, or fl_engine_load_string -- is refused with
     * FL_ESIGNATURE and the serving version keeps serving.  NULL: any
     * policy loads (a bundle's files are still checked against its
     * manifest). */
    const unsigned char *trusted_key;
    /* Optional: told when the canary rolled a new version back by itself
     * (docs/operations.md): the refused version's id, the restored one's,
     * and why.  Called on a deciding thread: return quickly. */
    void (*on_canary)(void *user, const char *rolled_back_id, const char *restored_id, const char *why);
    void *on_canary_user;
    /* Wall-clock limit for one handler call, in microseconds: stops a
     * handler that waits (sleeps in a binding) rather than computes.
     * Default 5 s, or 10 x handler_budget_us when that is larger; never
     * below handler_budget_us.  Hitting it is a cpu_budget failure
     * (FL_EBUDGET_CPU) whose error says "wall-clock limit". */
    uint32_t handler_wall_us;
    /* Optional options of the engine's resilience registry (clock, sleep,
     * breaker listener; see fl_resil_options_t below), copied by
     * fl_engine_new.  NULL: the defaults (CLOCK_MONOTONIC, nanosleep).  A
     * host that keeps breaker state across processes gives a wall clock. */
    const struct fl_resil_options *resil;
} fl_engine_options_t;

/* sizeof(fl_engine_options_t) as this library was built: a language binding
 * that mirrors the struct (cffi, ctypes) checks it against its own copy
 * before passing options, since the struct grows between versions. */
FL_EXTERN size_t fl_engine_options_size(void);

/* Create an engine with no policy loaded.  `opts` may be NULL for defaults.
 * Returns FL_EINVAL if `out` is NULL, FL_ENOMEM on allocation failure.
 * Caller frees with fl_engine_free. */
FL_EXTERN int fl_engine_new(const fl_engine_options_t *opts, fl_engine_t **out);

/* Drop the caller's reference to the engine (see Ownership and lifetimes):
 * it is freed now if no context or watch uses it, else when the last of
 * them is freed or stopped.  The handle must not be used afterwards.  NULL
 * is a no-op. */
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
 * diagnostics as the file name).  `len` follows the length convention:
 * FL_NUL_TERMINATED for a NUL-terminated source; above 16 MiB (also any
 * other huge length) FL_ETOOBIG with nothing copied.  Same failures
 * otherwise, minus FL_ENOENT/FL_EIO.  (Files of a policy directory have the
 * same 16 MiB limit each.) */
FL_EXTERN int fl_engine_load_string(fl_engine_t *engine, const char *name,
                                    const char *source, size_t len, fl_diag_t *diag);

/* Like fl_engine_load but does not publish: validates only (compile + examples).
 * Used by `faultline check`. */
FL_EXTERN int fl_engine_check(fl_engine_t *engine, const char *dir, fl_diag_t *diag);

/* Information about a loaded version.  Strings are owned by the engine and
 * stay valid until fl_engine_free -- also after the version is dropped from
 * the history, and whatever loads or rollbacks other threads make meanwhile
 * (the engine keeps one copy of each distinct string it has published, a
 * few bytes per distinct version).  Do not free them. */
typedef struct fl_version_info {
    const char *id;       /* content hash, 16 hex digits              */
    const char *name;     /* policy name                              */
    const char *version;  /* policy's declared version string         */
    const char *source;   /* directory or name it was loaded from     */
    int64_t loaded_at_ms; /* wall-clock load time, ms since the epoch */
    uint32_t rules;       /* number of rules                          */
    uint32_t examples;    /* number of examples (all passed at load)  */
    int current;          /* 1 for the version now serving            */
} fl_version_info_t;

/* Describe the current version (a consistent snapshot, safe against a
 * concurrent reload).  FL_ESTATE if nothing is loaded, FL_EINVAL for NULL. */
FL_EXTERN int fl_engine_current(fl_engine_t *engine, fl_version_info_t *out);

/* Policy failure counters (FL-SANDBOX).  FL_EINVAL for NULL arguments. */
FL_EXTERN int fl_engine_stats(fl_engine_t *engine, fl_engine_stats_t *out);

/*
 * List the kept versions, newest first, into out[0..cap).  *count receives
 * the number kept (which may exceed cap).  Each content id is listed once
 * (loading content that is already kept moves it to the front).  Strings
 * in out stay valid until fl_engine_free (see fl_version_info_t).
 * FL_EINVAL for NULL engine/count or NULL out with cap > 0.
 */
FL_EXTERN int fl_engine_versions(fl_engine_t *engine, fl_version_info_t *out, size_t cap, size_t *count);

/*
 * Make a kept version current again.  `id` is a version id (16 hex digits,
 * or a unique prefix of at least 4); NULL means the version before the
 * current one.  The rolled-back version is republished (it becomes the
 * newest entry).  FL_ENOENT when no kept version matches (or there is no
 * previous one), FL_EINVAL when a prefix is ambiguous or too short.
 * Thread-safe; deciders pick it up at their next decision.
 */
FL_EXTERN int fl_engine_rollback(fl_engine_t *engine, const char *id, fl_diag_t *diag);

/*
 * Write the kept version `id` (all 16 hex digits) into the directory `dir`:
 * its source files with exactly the bytes that were loaded and hashed, each
 * written to a temporary and renamed into place; *.lua files in dir that
 * the version does not have are removed.  dir is created if missing (its
 * parent must exist).  The directory is then read back and hashed as a load
 * would: a result other than `id` (something else wrote there meanwhile) is
 * an error.  Used for archives and rollbacks on disk.  FL_EINVAL for NULL
 * arguments or a version loaded from a string whose name is not a *.lua
 * file name, FL_ENOENT when no kept version has this id, FL_EIO when a
 * write fails or the read-back does not hash to `id` (diag says which).
 * Thread-safe.
 */
FL_EXTERN int fl_engine_export(fl_engine_t *engine, const char *id, const char *dir, fl_diag_t *diag);

/* The content id of the policy directory `dir` -- the id fl_engine_load
 * would give it -- computed from its *.lua files without running them;
 * written to id (17 bytes, NUL-terminated).  FL_EINVAL for NULL arguments;
 * otherwise the read errors of fl_engine_load (FL_ENOENT, FL_EIO). */
FL_EXTERN int fl_policy_dir_id(const char *dir, char id[17], fl_diag_t *diag);

/* Load again from the directory of the current version (what a watch or
 * SIGHUP does).  FL_ESTATE when the current version did not come from a
 * directory.  Otherwise as fl_engine_load. */
FL_EXTERN int fl_engine_reload(fl_engine_t *engine, fl_diag_t *diag);

/* ------------------------------------------------------------------------ */
/* Watching a policy directory (hot reload)                                  */
/* ------------------------------------------------------------------------ */

typedef struct fl_watch fl_watch_t;

/* Called on the watch's own thread after every reload attempt: status is
 * FL_OK (published, or unchanged content) or the load's error, with diag
 * naming file:line:col; `current` describes the version now serving (its
 * strings are valid only during the call). */
typedef void (*fl_reload_cb)(void *ud, int status, const fl_diag_t *diag,
                             const fl_version_info_t *current);

typedef struct fl_watch_options {
    uint32_t debounce_ms;   /* quiet time after the last change; default 150   */
    uint32_t poll_ms;       /* re-check interval for symlink swaps and missed
                               events; default 1000                           */
    int handle_sighup;      /* 1: SIGHUP triggers a reload (via libuv)         */
    fl_reload_cb on_reload; /* optional                                        */
    void *ud;
} fl_watch_options_t;

/*
 * Watch `dir` and reload `engine` from it when it changes: libuv file-system
 * events on the directory and on its parent (so editors that write-then-
 * rename and a directory replaced by an atomic symlink swap are both seen),
 * debounced, plus a periodic check of the resolved path and the files' sizes
 * and times.  A reload that fails leaves the running version serving.  The
 * watch runs on its own thread and holds a reference on the engine until
 * fl_watch_stop.  FL_EINVAL for NULL arguments, FL_ENOENT if dir does not
 * exist, FL_ENOMEM.  Caller stops it with fl_watch_stop.
 */
FL_EXTERN int fl_watch_start(fl_engine_t *engine, const char *dir, const fl_watch_options_t *opts,
                             fl_watch_t **out);
/* Ask for a reload now (thread- and async-signal-safe).  FL_EINVAL on NULL. */
FL_EXTERN int fl_watch_trigger(fl_watch_t *w);
/* Number of reload attempts made so far (for tests and status lines). */
FL_EXTERN uint64_t fl_watch_reloads(const fl_watch_t *w);
/* Stop watching, join the thread and free the watch.  NULL is a no-op. */
FL_EXTERN void fl_watch_stop(fl_watch_t *w);

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

/* Set a string field; the bytes are copied.  `len` may be FL_NUL_TERMINATED
 * for a NUL-terminated string.  FL_EINVAL for a bad field or NULL value, or
 * a NUL byte within the first `len` bytes (the accessor could not return it),
 * FL_ETOOBIG above 1 MiB, FL_EPARSE_UTF8 if the value is not valid UTF-8
 * (in every failure the field is left as it was). */
FL_EXTERN int fl_event_set(fl_event_t *ev, fl_field field, const char *value, size_t len);
/* attempt >= 1 (FL_EINVAL otherwise). */
FL_EXTERN int fl_event_set_attempt(fl_event_t *ev, int attempt);
/* 0 <= elapsed_ms <= 1e12 (about 31.7 years); FL_EINVAL otherwise (also
 * for NaN and infinities).  The JSON reader applies the same range. */
FL_EXTERN int fl_event_set_elapsed_ms(fl_event_t *ev, double elapsed_ms);
/* Add or replace a string tag.  Same checks as fl_event_set (FL_EINVAL also
 * for an empty key; FL_ETOOBIG when key and value exceed 1 MiB together). */
FL_EXTERN int fl_event_set_tag(fl_event_t *ev, const char *key, const char *value);
/* Read back a field or tag; NULL when unset. */
FL_EXTERN const char *fl_event_get(const fl_event_t *ev, fl_field field);
FL_EXTERN const char *fl_event_get_tag(const fl_event_t *ev, const char *key);
FL_EXTERN int fl_event_attempt(const fl_event_t *ev);

/*
 * Parse one JSON object (the event format, docs/events.md) into `ev`, which
 * is reset first.  `len` may be FL_NUL_TERMINATED.  Failures leave `ev` reset
 * and fill diag with the column:
 * FL_EPARSE_JSON (not JSON, or not an object), FL_EPARSE_UTF8,
 * FL_EPARSE_TYPE (e.g. attempt is a string; diag names the field),
 * FL_ETOOBIG (more than 1 MiB, or `cause` nested deeper than 8).
 */
FL_EXTERN int fl_event_from_json(fl_event_t *ev, const char *json, size_t len, fl_diag_t *diag);

/* Flags for fl_event_parse. */
enum {
    FL_EVENT_STRICT = 1 << 0 /* an unknown key is an error, not a warning */
};

/*
 * fl_event_from_json with flags.  Keys of an event (and of each `cause`)
 * other than id, time, domain, code, message, op, attempt, elapsed_ms,
 * tags, stack and cause are reported, never silently dropped: by default
 * the event is read (FL_OK) and diag carries a warning naming the first
 * unknown key ("unknown key 'mesage' ignored"; diag->status stays FL_OK, so
 * check diag->message[0] to see it); with FL_EVENT_STRICT the read fails
 * with FL_EPARSE_KEY naming it.  fl_event_from_json(ev, j, n, d) is
 * fl_event_parse(ev, j, n, 0, d).  Unknown flag bits: FL_EINVAL.
 */
FL_EXTERN int fl_event_parse(fl_event_t *ev, const char *json, size_t len, unsigned flags, fl_diag_t *diag);
/* Append an empty event at the end of ev's cause chain (becoming ev's cause,
 * or its cause's cause, ...) and hand it out in *out, to be filled with the
 * setters above; fl_decide classifies by the first event in the chain that a
 * rule matches.  The cause is owned by ev: freed by fl_event_reset and
 * fl_event_free, never by the caller.  FL_EINVAL for NULL arguments,
 * FL_ETOOBIG when the chain already holds 8 causes (the JSON reader's
 * limit), FL_ENOMEM. */
FL_EXTERN int fl_event_push_cause(fl_event_t *ev, fl_event_t **out);

/*
 * Set several fields and tags in one call (for language bindings, where each
 * call across the boundary costs more than the setter itself).  `packed`
 * holds `len` bytes of records, each KEY NUL VALUE NUL, where KEY is a field
 * name ("id" "time" "domain" "code" "message" "op" "stack"), "attempt" or
 * "elapsed_ms" (decimal text), or "tags.NAME".  Records are applied in order,
 * each exactly like fl_event_set / fl_event_set_attempt /
 * fl_event_set_elapsed_ms / fl_event_set_tag (later records win).  With
 * FL_EVENT_RESET in `flags` the event is first reset (fl_event_reset, causes
 * included); otherwise records add to what it holds.  On the first record
 * that fails the call stops and returns its status (earlier records stay
 * applied; *bad, which may be NULL, receives the failing record's index):
 * FL_EINVAL (NULL ev, NULL packed with len > 0, an unknown key or flag, a bad
 * number), FL_EPARSE (a record not terminated within len), FL_ETOOBIG,
 * FL_EPARSE_UTF8, FL_ENOMEM.
 */
enum { FL_EVENT_RESET = 1 << 0 };
FL_EXTERN int fl_event_set_packed(fl_event_t *ev, const char *packed, size_t len, unsigned flags,
                                  size_t *bad);

/* ------------------------------------------------------------------------ */
/* Deciding                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct fl_ctx fl_ctx_t;
typedef struct fl_decision fl_decision_t;

/* Create a per-thread context; it holds a reference on the engine (so the
 * engine stays alive until fl_ctx_free, even after fl_engine_free).
 * FL_EINVAL for NULL arguments, FL_ENOMEM. */
FL_EXTERN int fl_ctx_new(fl_engine_t *engine, fl_ctx_t **out);
FL_EXTERN void fl_ctx_free(fl_ctx_t *ctx);

/* Every decision draws its jitter (and a decorrelated backoff's delays)
 * from a seed of its own, which fl_decision_jitter_seed reads back: the
 * context takes the next one from its own stream (from the engine's `seed`
 * option when set, so seeded runs repeat; apart from the stream ids are
 * drawn from, so neither shifts the other).  fl_ctx_set_next_seed makes the
 * next decision on ctx use `seed` instead, so that two versions deciding one
 * event with the same seed draw the same delay for the same recovery: shadow
 * evaluation replays the live decision's seed on the candidate, `faultline
 * diff` gives both sides one seed per event.  Every value is a seed, 0
 * included.  The seed is taken by the next fl_decide on ctx that decides
 * and serves that decision only (FL_ENOMEM from that call uses it up);
 * calls that decide nothing (FL_EINVAL, FL_EMISUSE, FL_ESTATE for no
 * policy, FL_ESTATE_STACK) leave it pending,
 * and a second call before it is taken replaces it.  Ids are not affected.
 * Same thread rule as fl_decide (the context's own thread).  FL_EINVAL for
 * a NULL ctx (nothing set); FL_OK otherwise. */
FL_EXTERN int fl_ctx_set_next_seed(fl_ctx_t *ctx, uint64_t seed);

/* Create a reusable decision.  Caller frees. */
FL_EXTERN int fl_decision_new(fl_decision_t **out);
FL_EXTERN void fl_decision_free(fl_decision_t *d);

/* Flags for fl_decide.  The FL_DECIDE_NO_* flags skip work a host does not
 * read; the fields they name are then absent (accessors return NULL, the
 * JSON leaves them out) and everything else is decided as without them.
 * FL_DECIDE_NO_MESSAGE skips rendering the user message: message, locale and
 * problem.detail are absent unless a handler wrote the message itself, and
 * message_id is there only when a handler or the policy's safe decision set
 * it.  FL_DECIDE_NO_ID skips the decision id ("id":null in the JSON),
 * FL_DECIDE_NO_FINGERPRINT the fingerprint.  Unknown bits are ignored. */
enum {
    FL_DECIDE_EXPLAIN = 1 << 0, /* record which rules were tried and why */
    /* The event has no stack because it is costly to produce (a language
     * binding formatting a traceback): when the serving version reads the
     * stack (a rule's `stack` condition, or any handler, which sees
     * ev.stack), decide nothing -- `out` and all state are left untouched --
     * and return FL_ESTATE_STACK; the caller adds the stack and calls again.
     * Without such a version, decide as usual. */
    FL_DECIDE_STACK_ON_DEMAND = 1 << 1,
    /* The host records this call's outcomes itself (a guard-only fl_call or
     * fl_admit/fl_complete on the rule's breaker): fl_decide still gates a
     * retry on the rule's breaker and retry budget but does not record the
     * failure into them, so it is counted once. */
    FL_DECIDE_NO_RECORD = 1 << 2,
    FL_DECIDE_NO_MESSAGE = 1 << 3,    /* no user message rendered               */
    FL_DECIDE_NO_ID = 1 << 4,         /* no decision id                         */
    FL_DECIDE_NO_FINGERPRINT = 1 << 5 /* no fingerprint                         */
};

/*
 * Decide what to do about `ev`, writing into `out` (overwritten).
 * `locale` may be NULL for the policy's default locale.
 * Returns FL_OK with a policy decision, or FL_EHANDLER / FL_EBUDGET_* when a
 * handler failed: `out` then holds the policy's safe decision with its error
 * field set -- it is always a usable decision.  FL_ESTATE when no policy is
 * loaded (out holds the built-in safe decision).  FL_EINVAL for NULL args.
 * FL_EMISUSE when another thread is inside fl_decide on the same ctx at
 * that moment (nothing is touched, `out` included).  FL_ESTATE_STACK only
 * with FL_DECIDE_STACK_ON_DEMAND (above).  Never blocks on a reload.
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
/* The seed this decision's jitter was drawn from (see fl_ctx_set_next_seed);
 * every decision has one, whether or not its recovery drew anything.  0 for
 * NULL, for a decision not yet decided and when no policy was loaded --
 * ambiguous only with the seed 0 itself, which a context draws with
 * probability 2^-64 unless a caller set it. */
FL_EXTERN uint64_t fl_decision_jitter_seed(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_message(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_message_id(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_locale(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_fingerprint(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_rule(const fl_decision_t *d);
/* The policy's content id (16 hex digits, a hash of its sources) -- not the
 * version the policy declares; kept for compatibility: prefer
 * fl_decision_policy_content_id. */
FL_EXTERN const char *fl_decision_policy_version(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_error(const fl_decision_t *d);    /* NULL unless failed */
/* Why the recovery was changed, NULL when it was not: "attempts_exhausted",
 * "time_budget_exhausted", "breaker_open", "retry_budget_exhausted" (the
 * action became fail), or "retry_after_capped" (action retry: the event's
 * Retry-After asked for longer than the policy allows -- max_delay_ms, or
 * the retry's opt-in max_retry_after_ms -- and delay_ms is that cap), or
 * "cache_miss" (a `cache { ... }` recovery found nothing fresh enough and
 * used its `otherwise`, by default fail).
 * Also the "reason" field of the JSON form. */
FL_EXTERN const char *fl_decision_reason(const fl_decision_t *d);
/* JSON text of `params` / `fallback`, NULL when absent. */
FL_EXTERN const char *fl_decision_params_json(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_fallback_json(const fl_decision_t *d);
/* A fallback read from the stale cache (`fallback = cache { ... }`,
 * fl_cache_put): the value's age in ms when it was read, and the rendered
 * key it was stored under; -1 / NULL when the decision's fallback did not
 * come from the cache.  The value itself is fl_decision_fallback_json.  In
 * the JSON form: "cache": {"key": ..., "age_ms": N}. */
FL_EXTERN int64_t fl_decision_cache_age_ms(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_cache_key(const fl_decision_t *d);
/* FL_DECIDE_EXPLAIN only: JSON {"candidates":N,"tried":[...]}; else NULL. */
FL_EXTERN const char *fl_decision_explain_json(const fl_decision_t *d);
/* JSON array of what a handler's actions did (storage, checkpoints); NULL
 * when none ran. */
FL_EXTERN const char *fl_decision_effects_json(const fl_decision_t *d);
/* With fl_decision_error: "handler" "cpu_budget" "memory_budget" "no_policy". */
FL_EXTERN const char *fl_decision_error_kind(const fl_decision_t *d);
/* RFC 9457 problem details: type URI, title (the category's, or the
 * policy's "title.<category>" message in the message's locale), HTTP status
 * (500 for NULL).  The detail is fl_decision_message. */
FL_EXTERN const char *fl_decision_problem_type(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_problem_title(const fl_decision_t *d);
FL_EXTERN int fl_decision_problem_status(const fl_decision_t *d);
/* The deciding policy: its declared name and version (policy { name, version }),
 * and its content id (16 hex digits; two loads of the same sources share it). */
FL_EXTERN const char *fl_decision_policy_name(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_policy_declared_version(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_policy_content_id(const fl_decision_t *d);
/* The resilience objects the matching rule names: breaker name and the
 * rendered key of this event, retry budget name; NULL when the rule names
 * none.  fl_decide recorded the failure there (unless FL_DECIDE_NO_RECORD). */
FL_EXTERN const char *fl_decision_breaker_name(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_breaker_key(const fl_decision_t *d);
FL_EXTERN const char *fl_decision_retry_budget_name(const fl_decision_t *d);
/* "retry" "fallback" "ignore" "fail"; "?" when out of range. */
FL_EXTERN const char *fl_action_name(fl_action a);
/* "debug" "info" "warning" "error" "critical"; "error" when out of range. */
FL_EXTERN const char *fl_severity_name(fl_severity s);

/* Render the decision as one line of JSON (no trailing newline) into a buffer
 * owned by the decision.  Returns NULL only on allocation failure. */
FL_EXTERN const char *fl_decision_to_json(fl_decision_t *d);

/* ------------------------------------------------------------------------ */
/* Resilience state and executor (engine/src/resilience/)                    */
/* ------------------------------------------------------------------------ */
/* ------------------------------------------------------------------------ */
/* Bundles and signatures                                                    */
/* ------------------------------------------------------------------------ */
/*
 * A bundle is one file (tar + zstd) holding a policy's .lua files, its
 * tests/ (the .jsonl files) and manifest.json: format, content id, name, declared
 * version, and the SHA-256 and size of every file.  manifest.sig, when
 * present, is the hex Ed25519 signature of the manifest's exact bytes; since
 * the manifest names every file by hash, it signs the whole bundle.  A
 * directory signed with fl_bundle_sign carries the same two files.
 * fl_engine_load accepts a bundle path wherever it accepts a directory.
 * docs/operations.md walks through signing in a rollout.
 */
#define FL_KEY_PUBLIC_BYTES 32
#define FL_KEY_SECRET_BYTES 64

/* A new Ed25519 key pair.  FL_EINVAL for NULL arguments; FL_EIO if the
 * crypto library cannot start. */
FL_EXTERN int fl_key_generate(unsigned char pk[FL_KEY_PUBLIC_BYTES], unsigned char sk[FL_KEY_SECRET_BYTES]);
/* Write the policy in `dir` as the bundle `out` (replaced atomically),
 * signed with `sk` when not NULL.  The policy is loaded first and its
 * examples run: a broken policy is never bundled (its error in diag).
 * FL_EINVAL (NULL dir/out), FL_EIO, FL_ENOMEM, or the load's error. */
FL_EXTERN int fl_bundle_create(const char *dir, const char *out, const unsigned char *sk, fl_diag_t *diag);
/* Sign a bundle (rewritten atomically with manifest.sig; a bundle whose
 * files do not match its manifest is refused) or a directory (the policy is
 * loaded, then DIR/manifest.json and DIR/manifest.sig are written).
 * FL_EINVAL (NULL path/sk), FL_ESIGNATURE, FL_EIO, or the load's error. */
FL_EXTERN int fl_bundle_sign(const char *path, const unsigned char *sk, fl_diag_t *diag);
/* Check a bundle or a signed directory: every listed file present with its
 * hash (in a directory, listed files other than .lua -- tests -- may be
 * absent, as the engine does not load them; present ones must match), no
 * unlisted .lua file, and, when `pk` is not NULL, the signature.
 * FL_OK, or FL_ESIGNATURE / FL_EIO / FL_ENOENT with diag naming the first
 * problem.  FL_EINVAL for a NULL path. */
FL_EXTERN int fl_bundle_verify(const char *path, const unsigned char *pk, fl_diag_t *diag);

/* ------------------------------------------------------------------------ */
/* Shadow evaluation                                                         */
/* ------------------------------------------------------------------------ */
/*
 * A candidate policy decides a sample of the live events too, on its own
 * thread, off the critical path; what it would have decided differently is
 * counted by (live rule -> candidate rule) with examples -- the same
 * counting and report shape as `faultline diff`.  The live decision never
 * waits: fl_shadow_offer copies the event's JSON and a summary of the live
 * decision (its jitter seed included: the candidate decides with it, so an
 * unchanged jittered recovery compares equal) into a preallocated queue,
 * and counts the event as skipped when the queue is full.  Thread-safe:
 * offer from any number of deciding threads.  Sampling is deterministic:
 * offer i is taken when floor(i * sample) advances, exactly `sample` of a
 * thread's offers; offers from several threads at the same moment may read
 * the same i (both taken or neither, counted once in `offered`), so with
 * concurrent offers the share is about `sample`.  Ownership: fl_shadow_new creates the candidate engine and
 * thread; fl_shadow_free stops the thread (after the queued events) and
 * frees everything.
 */
typedef struct fl_shadow fl_shadow_t;

typedef struct fl_shadow_options {
    double sample;            /* share of offered events decided, (0, 1]; 0: 1.0 */
    uint32_t queue;           /* queue size in 64-byte cells; 0: 65536
                               * (4 MiB).  An event takes one cell per 56
                               * bytes of its JSON and the live decision's
                               * rule, category and message id, plus 32
                               * (a 100-byte event: 3-4 cells).  From 64
                               * cells on, three quarters of them hold
                               * waiting events (the rest keep the live
                               * side off the cells the shadow thread is
                               * reading)                                 */
    uint32_t examples;        /* example events kept per group; 0: 3      */
    const unsigned char *trusted_key; /* as fl_engine_options_t.trusted_key */
} fl_shadow_options_t;

/* Load the candidate (directory or bundle) and start its thread.  `opts` may
 * be NULL.  FL_EINVAL (NULL candidate/out, sample > 1), FL_ENOMEM, or the
 * candidate's load error (diag says where).  *out is NULL on failure. */
FL_EXTERN int fl_shadow_new(const char *candidate, const fl_shadow_options_t *opts, fl_shadow_t **out,
                            fl_diag_t *diag);
/* Offer one live event (its JSON text, len bytes) and the live decision.
 * FL_OK: queued; FL_EREFUSED: not in the sample, or the queue was full or
 * is smaller than the event (counted as skipped); FL_EINVAL for NULL
 * arguments.  Never blocks on the candidate and never allocates. */
FL_EXTERN int fl_shadow_offer(fl_shadow_t *s, const char *event_json, size_t len, const fl_decision_t *live);
/* Wait up to timeout_ms until every queued event is decided.  FL_OK, or
 * FL_ESTATE if some are still queued; FL_EINVAL for NULL. */
FL_EXTERN int fl_shadow_drain(fl_shadow_t *s, int timeout_ms);
/* The report so far, as compact JSON (caller frees with free()): events,
 * changed, groups [{old_rule, new_rule, count, changes, first, delay_ms,
 * examples}], candidate {id, version, source}, offered, skipped,
 * candidate_failures.  NULL for NULL s or on ENOMEM. */
FL_EXTERN char *fl_shadow_report(fl_shadow_t *s);
/* Promote: load the candidate's source into `live` (checked and atomic like
 * any load; on failure live keeps serving).  Returns the load's status. */
FL_EXTERN int fl_shadow_promote(fl_shadow_t *s, fl_engine_t *live, fl_diag_t *diag);
/* Stop and free.  NULL is a no-op. */
FL_EXTERN void fl_shadow_free(fl_shadow_t *s);

/* FL-RESILIENCE-BEGIN (owned by the resilience module; edit only inside) */
/*
 * Resilience state lives in a registry, fl_resil_t: named circuit breakers,
 * rate limiters (token bucket), bulkheads (concurrency limits) and retry
 * budgets, each holding independent state per key (e.g. per service).  The
 * engine owns one registry (policies declare into it, decisions consult it);
 * a host may also create its own with fl_resil_new and use it without any
 * policy, configured from the C structs below.  docs/resilience.md is the
 * guide.
 *
 * Threading: every function on fl_resil_t, fl_exec_t and permits is
 * thread-safe unless it says otherwise.  The admission and record paths take
 * no lock (atomics only); declaring and first use of a new key take a short
 * per-shard lock.  fl_run objects belong to the thread running their loop.
 *
 * Names and keys: an object is identified by (kind, name); names are 1..127
 * bytes.  A key selects the per-key state inside an object; NULL or "" is the
 * object's default key.  Keys are copied on first use; beyond `max_keys`
 * distinct keys per object, new keys share one overflow state (key "*").
 * Objects are never removed: state survives policy reloads and handles stay
 * valid until fl_resil_free.
 *
 * Categories: outcomes are named by the 16 canonical categories
 * ("unavailable", "deadline_exceeded", ...); a refinement after a dot is
 * ignored for counting ("unavailable.dns" counts as "unavailable"); a
 * non-canonical name counts as "unknown".  NULL means success.
 */
typedef struct fl_resil fl_resil_t;
typedef struct fl_exec fl_exec_t;
typedef struct fl_run fl_run_t;
typedef struct fl_cancel fl_cancel_t;
struct uv_loop_s; /* libuv's loop; include <uv.h> to use fl_run */

typedef enum fl_resil_kind {
    FL_RESIL_BREAKER = 0,
    FL_RESIL_LIMITER = 1,
    FL_RESIL_BULKHEAD = 2,
    FL_RESIL_BUDGET = 3
} fl_resil_kind;

typedef enum fl_breaker_state {
    FL_BREAKER_CLOSED = 0,
    FL_BREAKER_OPEN = 1,
    FL_BREAKER_HALF_OPEN = 2,
    FL_BREAKER_FORCED_OPEN = 3, /* operator: refuse everything   */
    FL_BREAKER_DISABLED = 4     /* operator: admit everything, count nothing */
} fl_breaker_state;

/* Monotonic clock in nanoseconds.  Must never go backwards. */
typedef int64_t (*fl_clock_fn)(void *user);
/* Sleep for `ns` nanoseconds (blocking executor only).  With a fake clock,
 * a test's sleep usually just advances the clock. */
typedef void (*fl_sleep_fn)(void *user, int64_t ns);
/* Called by the thread that made a breaker change state, after the change.
 * `key` is "" for the default key.  Must not call back into declare. */
typedef void (*fl_breaker_listener_fn)(void *user, const char *name, const char *key,
                                       fl_breaker_state from, fl_breaker_state to);

/* Registry options.  Zero-initialise; zero means the default.  Copied. */
typedef struct fl_resil_options {
    fl_clock_fn clock;          /* default CLOCK_MONOTONIC                  */
    void *clock_user;
    fl_sleep_fn sleep;          /* default nanosleep                        */
    void *sleep_user;
    fl_breaker_listener_fn on_breaker; /* optional                          */
    void *listener_user;
    uint32_t max_keys;          /* distinct keys per object; default 10000  */
    uint64_t seed;              /* jitter stream; 0: seeded from the clock  */
} fl_resil_options_t;

/* Create a registry.  `opts` may be NULL.  FL_EINVAL if `out` is NULL,
 * FL_ENOMEM.  Caller frees with fl_resil_free. */
FL_EXTERN int fl_resil_new(const fl_resil_options_t *opts, fl_resil_t **out);
/* Free the registry and every object, key state, executor made from it.
 * No call may be in flight.  NULL is a no-op. */
FL_EXTERN void fl_resil_free(fl_resil_t *r);
/* The registry's clock, in ns (0 for NULL). */
FL_EXTERN int64_t fl_resil_now(const fl_resil_t *r);

/* ---- configuration ------------------------------------------------------ */

typedef enum fl_window_kind { FL_WINDOW_COUNT = 0, FL_WINDOW_TIME = 1 } fl_window_kind;

/* Where an object's state lives: this process only, or shared with every
 * instance synchronised by the same fleet (fl_fleet_start, docs/fleet.md). */
typedef enum fl_scope { FL_SCOPE_LOCAL = 0, FL_SCOPE_FLEET = 1 } fl_scope;

/* How a fleet-scoped breaker uses the fleet (docs/fleet.md).  Quorum: a key
 * opens here when its own window says so or when `quorum` instances report
 * it open.  Shared: every instance adds its window's counts to time buckets
 * in Redis once per sync_ms and decides on its own fresh counts plus the
 * rest of the fleet's last fetched counts. */
typedef enum fl_fleet_mode { FL_FLEET_QUORUM = 0, FL_FLEET_SHARED = 1 } fl_fleet_mode;

/* Circuit breaker.  Zero fields take the defaults shown. */
typedef struct fl_breaker_config {
    fl_window_kind window;    /* count: last `size` calls; time: last `size` s */
    uint32_t size;            /* 100 calls, or 60 s; max 100000 / 3600      */
    double failure_rate;      /* open at >= this share of failures; 0.5     */
    /* The slow-call rule is on when either of the next two is set (the
     * other then takes its default); with neither, no call is slow and a
     * success needs no second clock reading. */
    double slow_call_rate;    /* open at >= this share of slow calls; 1.0   */
    uint32_t slow_call_ms;    /* a call at least this long is slow; 60000   */
    uint32_t min_calls;       /* no verdict on fewer calls; 20              */
    uint32_t half_open_calls; /* probes admitted in half-open; 3            */
    uint32_t open_ms;         /* first open period; 30000                   */
    uint32_t open_max_ms;     /* > open_ms: grows by open_factor up to this */
    double open_factor;       /* growth of successive open periods; 2       */
    /* NULL-terminated category lists.  failures: counted as failures
     * (default unavailable, deadline_exceeded, resource_exhausted, internal,
     * unknown, aborted, data_loss); ignored: not counted at all (default
     * cancelled).  Any other category counts as a success. */
    const char *const *failures;
    const char *const *ignored;
    const char *key;          /* key template, kept for the engine; may be NULL */
    fl_scope scope;           /* FL_SCOPE_LOCAL (default) or FL_SCOPE_FLEET  */
    fl_fleet_mode fleet_mode; /* FL_FLEET_QUORUM (default) or FL_FLEET_SHARED;
                                 shared needs scope = FL_SCOPE_FLEET
                                 (FL_EPOLICY_SCHEMA otherwise)             */
} fl_breaker_config_t;

/* Token bucket: `rate` tokens per second, at most `burst` stored. */
typedef struct fl_limiter_config {
    double rate;              /* required, > 0                              */
    uint32_t burst;           /* default max(1, rate)                       */
    uint32_t max_wait_ms;     /* executor may wait this long for a token; 0 */
    const char *key;
    fl_scope scope;           /* FL_SCOPE_FLEET: the rate holds for the whole
                                 fleet; tokens are leased from Redis in
                                 batches (never waits; docs/fleet.md)      */
} fl_limiter_config_t;

/* Bulkhead: at most `max_concurrent` calls in flight; up to `max_queue`
 * more may wait up to `max_wait_ms` (executor only; fl_admit never waits). */
typedef struct fl_bulkhead_config {
    uint32_t max_concurrent;  /* required, >= 1                             */
    uint32_t max_queue;       /* 0: no queue                                */
    uint32_t max_wait_ms;     /* 0: no wait                                 */
    const char *key;
} fl_bulkhead_config_t;

/* Retry budget: retries may be at most `ratio` of the calls made in the last
 * `window_ms`, but `min_retries` are always allowed per window. */
typedef struct fl_budget_config {
    double ratio;             /* default 0.2                                */
    uint32_t min_retries;     /* default 10                                 */
    uint32_t window_ms;       /* default 10000 (10 buckets)                 */
    const char *key;
    fl_scope scope;           /* FL_SCOPE_FLEET: calls and retries of the
                                 whole fleet count (docs/fleet.md)         */
} fl_budget_config_t;

/*
 * Declare an object, or update the same-named one in place.  An update keeps
 * the counts: thresholds apply at once; a breaker whose window changes size
 * carries over its most recent outcomes; limiter, bulkhead and budget state
 * carries over unchanged.  FL_EINVAL (NULL r/name/cfg, empty or too long
 * name), FL_EPOLICY_SCHEMA (a value out of range or an unknown category; diag
 * says which), FL_ENOMEM.  On failure nothing changes.
 */
FL_EXTERN int fl_breaker_declare(fl_resil_t *r, const char *name, const fl_breaker_config_t *cfg, fl_diag_t *diag);
FL_EXTERN int fl_limiter_declare(fl_resil_t *r, const char *name, const fl_limiter_config_t *cfg, fl_diag_t *diag);
FL_EXTERN int fl_bulkhead_declare(fl_resil_t *r, const char *name, const fl_bulkhead_config_t *cfg, fl_diag_t *diag);
FL_EXTERN int fl_budget_declare(fl_resil_t *r, const char *name, const fl_budget_config_t *cfg, fl_diag_t *diag);

/* ---- breakers: inspection and operator control -------------------------- */

typedef struct fl_breaker_stats {
    fl_breaker_state state;
    uint64_t calls;           /* in the current window                      */
    uint64_t failures;
    uint64_t slow_calls;
    uint32_t opens;           /* consecutive opens (sets the open period)   */
    int64_t retry_after_ns;   /* open: time left; else 0                    */
} fl_breaker_stats_t;

/* Snapshot of one key's state.  FL_EINVAL (NULL args), FL_ENOENT (no such
 * breaker).  A key never used reads as a fresh closed breaker. */
FL_EXTERN int fl_breaker_stats(fl_resil_t *r, const char *name, const char *key, fl_breaker_stats_t *out);
/*
 * Operator control.  `state` FL_BREAKER_FORCED_OPEN or FL_BREAKER_DISABLED
 * pins the breaker; FL_BREAKER_CLOSED releases the pin and resets it to
 * closed with an empty window.  key NULL: the whole breaker (every key,
 * present and future); otherwise that key only.  FL_EINVAL (NULL r/name,
 * OPEN or HALF_OPEN requested), FL_ENOENT (no such breaker).
 */
FL_EXTERN int fl_breaker_set_state(fl_resil_t *r, const char *name, const char *key, fl_breaker_state state);
/* "closed" "open" "half_open" "forced_open" "disabled"; "?" if out of range. */
FL_EXTERN const char *fl_breaker_state_name(fl_breaker_state s);

/* ---- admission: may this call proceed? ---------------------------------- */

/* Which objects guard a call, by name; NULL members are not used. */
typedef struct fl_guard_spec {
    const char *breaker;
    const char *limiter;
    const char *bulkhead;
    const char *budget;       /* fl_admit deposits one call into it         */
} fl_guard_spec_t;

typedef struct fl_guard fl_guard_t;

/* Resolve names once (the hot path then does no name lookup).  FL_EINVAL
 * (NULL args), FL_ENOENT (a named object is not declared; diag names it),
 * FL_ENOMEM.  Owned by the registry, freed with it (or fl_guard_free). */
FL_EXTERN int fl_guard_new(fl_resil_t *r, const fl_guard_spec_t *spec, fl_guard_t **out, fl_diag_t *diag);
FL_EXTERN void fl_guard_free(fl_guard_t *g);

/* A permit: caller-allocated (usually on the stack); fields are private
 * except `reason` and `retry_after_ns`, which fl_admit fills on refusal. */
typedef struct fl_permit {
    const char *reason;       /* "breaker_open:NAME" "rate_limited:NAME" "bulkhead_full:NAME"; NULL when admitted */
    int64_t retry_after_ns;   /* refusal: earliest sensible retry (0 unknown) */
    void *p_[4];
    int64_t start_ns_;
    uint64_t gen_;
    uint32_t flags_;
} fl_permit_t;

/*
 * Ask before a call.  FL_OK: proceed, then report with fl_complete (exactly
 * once).  FL_EREFUSED: do not call; `permit->reason` says which object
 * refused (a string owned by the registry) and nothing needs releasing.
 * Checks run breaker, limiter, bulkhead; a later refusal gives back what an
 * earlier check took.  Never waits.  FL_EINVAL for NULL g/permit.
 */
FL_EXTERN int fl_admit(fl_guard_t *g, const char *key, fl_permit_t *permit);
/*
 * Report the admitted call's outcome: `category` NULL for success, else the
 * failure's category.  The duration is measured from fl_admit (the clock is
 * read again only for a failure or when the breaker's slow-call rule or time
 * window needs the end of the call).  Releases the
 * bulkhead slot; feeds the breaker.  A permit completed twice, or never
 * admitted, gives FL_ESTATE and changes nothing.  FL_EINVAL for NULL permit.
 */
FL_EXTERN int fl_complete(fl_permit_t *permit, const char *category);
/* Give the permit back without an outcome (the call was not made). */
FL_EXTERN int fl_permit_release(fl_permit_t *permit);

/* ---- executor ----------------------------------------------------------- */

/* What an attempt produced.  category NULL: success. */
typedef struct fl_outcome {
    const char *category;
    const char *code;         /* optional, for a decide callback */
    const char *message;      /* optional */
} fl_outcome_t;

/* What the attempt function is given. */
typedef struct fl_attempt_info {
    int attempt;              /* 1, 2, ...                                  */
    const char *key;
    const char *params;       /* the previous verdict's params (JSON) or NULL */
    int64_t timeout_ns;       /* this attempt's budget (0: none)            */
    int64_t deadline_ns;      /* clock value of the overall deadline (0: none) */
} fl_attempt_info_t;

/* What to do after a failed attempt (a decide callback fills it). */
typedef struct fl_verdict {
    fl_action action;         /* RETRY, FALLBACK, IGNORE, FAIL              */
    int64_t delay_ms;         /* RETRY                                      */
    const char *params;       /* RETRY: JSON for the next attempt; copied   */
    const char *rule;         /* why; copied                                */
} fl_verdict_t;

/* Replace the built-in retry policy (e.g. with fl_decide).  Return FL_OK
 * with `v` filled; any other return counts as FAIL. */
typedef int (*fl_decide_fn)(void *user, const fl_attempt_info_t *a, const fl_outcome_t *o,
                            fl_verdict_t *v);

typedef enum fl_exec_event_kind {
    FL_EXEC_ATTEMPT = 0,      /* an attempt starts                          */
    FL_EXEC_RETRY = 1,        /* a retry is scheduled after delay_ms        */
    FL_EXEC_GIVE_UP = 2,      /* the call ends unsuccessfully (reason)      */
    FL_EXEC_SUCCESS = 3,      /* the call ends successfully                 */
    FL_EXEC_BREAKER = 4       /* this call's outcome moved the breaker      */
} fl_exec_event_kind;

typedef struct fl_exec_event {
    fl_exec_event_kind kind;
    int attempt;
    const char *key;
    const char *category;     /* the failed attempt's category, if any      */
    const char *reason;       /* GIVE_UP: why                               */
    int64_t delay_ms;         /* RETRY                                      */
    fl_breaker_state from, to;/* BREAKER                                    */
} fl_exec_event_t;
typedef void (*fl_exec_event_fn)(void *user, const fl_exec_event_t *e);

#define FL_EXEC_ZERO_DELAY 0xFFFFFFFFu

/* An executor: guards plus retry policy, resolved once, reused by calls. */
typedef struct fl_exec_config {
    fl_guard_spec_t guard;
    uint32_t max_attempts;    /* including the first; default 3            */
    uint32_t base_ms;         /* built-in backoff: base_ms * factor^(n-1);
                               * default 100; FL_EXEC_ZERO_DELAY: no wait  */
    double factor;            /* default 2                                  */
    uint32_t max_delay_ms;    /* default 30000                              */
    int jitter;               /* 0 none, 1 full (uniform 0..d)              */
    /* Categories the built-in policy retries (NULL-terminated); default
     * unavailable, deadline_exceeded, resource_exhausted, aborted. */
    const char *const *retry_on;
    uint32_t attempt_timeout_ms; /* 0: none                                 */
    uint32_t deadline_ms;     /* whole call incl. waits; 0: none            */
    fl_decide_fn decide;      /* NULL: built-in policy                      */
    void *decide_user;
    fl_exec_event_fn on_event;/* optional; called on the calling thread     */
    void *event_user;
} fl_exec_config_t;

/* FL_EINVAL (NULL args, max_attempts > 1000), FL_ENOENT (guard names an
 * undeclared object), FL_EPOLICY_SCHEMA (unknown category), FL_ENOMEM.
 * Owned by the registry (freed with it) or freed with fl_exec_free. */
FL_EXTERN int fl_exec_new(fl_resil_t *r, const fl_exec_config_t *cfg, fl_exec_t **out, fl_diag_t *diag);
FL_EXTERN void fl_exec_free(fl_exec_t *ex);

typedef enum fl_call_outcome {
    FL_CALL_SUCCEEDED = 0,    /* an attempt succeeded, or the verdict was IGNORE */
    FL_CALL_FALLBACK = 1,     /* the verdict was FALLBACK                   */
    FL_CALL_FAILED = 2,       /* attempts failed; no more retries (reason)  */
    FL_CALL_REFUSED = 3,      /* admission refused the first attempt        */
    FL_CALL_CANCELLED = 4,
    FL_CALL_TIMED_OUT = 5     /* the overall deadline passed                */
} fl_call_outcome;

typedef struct fl_call_result {
    fl_call_outcome outcome;
    int attempts;             /* attempts actually made                     */
    char category[64];        /* last failed attempt's category, or ""      */
    /* Why it ended: "" on success; "attempts_exhausted" "not_retryable"
     * "retry_budget:NAME" "breaker_open:NAME" "rate_limited:NAME"
     * "bulkhead_full:NAME" "deadline" "cancelled", or the decide callback's
     * rule (FAIL, FALLBACK).  Truncated to fit. */
    char reason[128];
    /* From the call's start to its end.  0 when the first attempt succeeded
     * and nothing needed its end time (no slow-call rule, time window,
     * attempt timeout or deadline): that path reads the clock once. */
    int64_t elapsed_ns;
} fl_call_result_t;

/* Cancellation token for fl_call: fire from any thread; the call stops before
 * its next attempt or during a wait.  fl_cancel_new: FL_EINVAL / FL_ENOMEM. */
FL_EXTERN int fl_cancel_new(fl_cancel_t **out);
FL_EXTERN void fl_cancel_fire(fl_cancel_t *c);   /* NULL: no-op */
FL_EXTERN void fl_cancel_free(fl_cancel_t *c);   /* NULL: no-op */

/* A blocking attempt: fill `out` (zeroed beforehand) and return.  It cannot
 * be preempted; an attempt that overran timeout_ns counts as
 * deadline_exceeded whatever it returned. */
typedef void (*fl_call_fn)(void *user, const fl_attempt_info_t *a, fl_outcome_t *out);

/*
 * Run `fn` under the executor on the calling thread: admission, attempts,
 * backoff sleeps (the registry's sleep), outcomes fed to breaker and budget.
 * `cancel` may be NULL.  Returns FL_OK with `res` filled whatever the call's
 * outcome; FL_EINVAL for NULL ex/fn/res.
 */
FL_EXTERN int fl_call(fl_exec_t *ex, const char *key, fl_call_fn fn, void *user,
                      fl_cancel_t *cancel, fl_call_result_t *res);

/* Asynchronous attempts on a libuv loop. */
typedef struct fl_run_callbacks {
    /* Start attempt a->attempt; report it with fl_run_attempt_done. */
    void (*attempt)(void *user, fl_run_t *run, const fl_attempt_info_t *a);
    /* The attempt timed out or the run was cancelled: stop its I/O.  The
     * host still calls fl_run_attempt_done for it; that outcome is ignored. */
    void (*abort)(void *user, fl_run_t *run, int attempt);
    /* The run is over.  Afterwards the only call allowed on `run` is
     * fl_run_attempt_done for attempts that were aborted and not yet
     * reported; `run` is freed once none is left. */
    void (*done)(void *user, fl_run_t *run, const fl_call_result_t *res);
    fl_exec_event_fn on_event;  /* optional */
} fl_run_callbacks_t;

/*
 * Start a call on `loop` (must be running or run later on this thread).
 * Backoff waits and timeouts use libuv timers; the registry's clock is used
 * for breakers and budgets.  FL_EINVAL (NULL ex/loop/cb/attempt/done),
 * FL_ENOMEM (no callback is made).  `out` may be NULL.  The first attempt
 * starts from a zero timeout, never from inside this call.
 */
FL_EXTERN int fl_run(fl_exec_t *ex, struct uv_loop_s *loop, const char *key,
                     const fl_run_callbacks_t *cb, void *user, fl_run_t **out);
/* Report attempt `attempt`.  FL_ESTATE if that attempt is not outstanding;
 * FL_EINVAL for NULL run/o. Loop thread only. */
FL_EXTERN int fl_run_attempt_done(fl_run_t *run, int attempt, const fl_outcome_t *o);
/* Cancel: aborts the running attempt or the wait; done follows with
 * FL_CALL_CANCELLED.  FL_ESTATE if already finishing.  Loop thread only. */
FL_EXTERN int fl_run_cancel(fl_run_t *run);

/* The engine's own registry: the breakers, limiters, bulkheads and retry
 * budgets its policies declare (they survive reloads).  Hosts use it with
 * the admission API and to report outcomes.  Owned by the engine; NULL for
 * a NULL engine. */
FL_EXTERN fl_resil_t *fl_engine_resil(fl_engine_t *engine);

/* ---- engine-driven execution: the policy decides every step ------------- */
/*
 * A pipeline runs an operation under the engine's policy.  Each attempt
 * reports success, or an error as an event; the pipeline asks fl_decide and
 * applies the decision: RETRY waits the decided delay (cancellable, within
 * the deadline) and passes the decision's params to the next attempt
 * (fl_attempt_info_t.params); FALLBACK ends the call with the decision's
 * fallback value; IGNORE ends it as a success; FAIL ends it with the final
 * decision (message, problem, reason) in `last`.
 *
 * Outcomes: every attempt records exactly one outcome into each breaker and
 * retry budget involved.  fl_decide records a failure into the rule's
 * breaker/budget; the optional guard admits each attempt and is told the
 * outcome, except a failure the rule's breaker already counted (same name and
 * key: the permit is given back).  A success is recorded into the guard and
 * into every breaker that earlier decisions for the same call key named (the
 * pipeline remembers up to 32 breaker/key pairs), so breakers see successes.
 * Use either a pipeline, or fl_call with FL_DECIDE_NO_RECORD in its decide
 * callback -- not both on one call.
 *
 * Lifetimes: a pipeline is the caller's; free it with fl_pipeline_free
 * before fl_engine_free.  Free order (docs/embedding.md): nothing in flight;
 * decisions, events, contexts, pipelines, executors (any order); then
 * fl_watch_stop; then fl_engine_free.  One pipeline may be
 * used by several threads at once, each with its own ctx, event and
 * decision.
 */
typedef struct fl_pipeline fl_pipeline_t;

/* One attempt.  Return 0 for success.  Otherwise describe the error in `ev`
 * (reset, empty on entry: message, domain, code, tags such as retry_after)
 * and return non-zero; the pipeline sets attempt and elapsed_ms, op (the
 * config's, unless set) and a message "error" if none was set. */
typedef int (*fl_pipeline_attempt_fn)(void *user, const fl_attempt_info_t *a, fl_event_t *ev);
/* Told each decision (optional); `d` and `ev` are valid during the call. */
typedef void (*fl_pipeline_decision_fn)(void *user, int attempt, const fl_event_t *ev,
                                        const fl_decision_t *d);

typedef struct fl_pipeline_config {
    fl_guard_spec_t guard;    /* optional admission (NULL names: none)     */
    const char *op;           /* the event's op unless the attempt set one;
                               * also the call key when the call gives none */
    const char *locale;       /* NULL: the policy's default                 */
    unsigned decide_flags;    /* FL_DECIDE_EXPLAIN (NO_RECORD is ignored)  */
    uint32_t max_attempts;    /* safety cap over the policy's; default 100 */
    uint32_t deadline_ms;     /* whole call incl. waits; 0: none            */
    fl_pipeline_decision_fn on_decision;
    void *decision_user;
} fl_pipeline_config_t;

typedef struct fl_pipeline_result {
    fl_call_outcome outcome;  /* SUCCEEDED (also IGNORE), FALLBACK, FAILED,
                               * REFUSED (guard), CANCELLED, TIMED_OUT      */
    int attempts;             /* attempts made                              */
    char category[64];        /* the last failed attempt's category, or ""  */
    /* "" on success; "ignored"; FAILED: the decision's reason
     * ("attempts_exhausted" "breaker_open" "retry_budget_exhausted"
     * "time_budget_exhausted") or "not_retryable"; FALLBACK: the rule;
     * REFUSED: the guard's refusal ("breaker_open:NAME" ...); "deadline",
     * "cancelled". */
    char reason[128];
    /* FALLBACK: the fallback value as JSON (owned by `last`), else NULL. */
    const char *fallback_json;
    /* 0 when the first attempt succeeded with no deadline and no breaker
     * learned from an earlier decision: as with fl_call, that path reads
     * the clock once. */
    int64_t elapsed_ns;
} fl_pipeline_result_t;

/* FL_EINVAL (NULL args, max_attempts > 1000), FL_ENOENT (the guard names an
 * undeclared object; diag says which), FL_ENOMEM.  Strings are copied. */
FL_EXTERN int fl_pipeline_new(fl_engine_t *engine, const fl_pipeline_config_t *cfg,
                              fl_pipeline_t **out, fl_diag_t *diag);
FL_EXTERN void fl_pipeline_free(fl_pipeline_t *p); /* NULL: no-op */
/*
 * Run `fn` under the policy on the calling thread.  `ctx` is the calling
 * thread's context; `ev` a scratch event (caller-owned, reset between
 * attempts); `last` receives each decision (the final one when the call
 * ends with a failed attempt; untouched when the first attempt succeeds).
 * `key` is the call key for the guard and the breakers remembered (NULL: the
 * config's op).  `cancel` may be NULL.  Returns FL_OK with `res` filled
 * whatever the outcome; FL_EINVAL for NULL p/ctx/ev/fn/last/res.
 */
FL_EXTERN int fl_pipeline_call(fl_pipeline_t *p, fl_ctx_t *ctx, fl_event_t *ev, const char *key,
                               fl_pipeline_attempt_fn fn, void *user, fl_cancel_t *cancel,
                               fl_decision_t *last, fl_pipeline_result_t *res);
/* The same on a libuv loop (loop thread only). */
typedef struct fl_pipeline_run fl_pipeline_run_t;
typedef struct fl_pipeline_run_callbacks {
    /* Start attempt a->attempt.  On failure describe the error in `ev` (owned
     * by the run, valid until reported), then report with
     * fl_pipeline_run_done(run, a->attempt, failed). */
    void (*attempt)(void *user, fl_pipeline_run_t *run, const fl_attempt_info_t *a, fl_event_t *ev);
    /* The call is over; `res` and `last` (the final decision, if any) are
     * valid during the callback only; `run` is freed after it. */
    void (*done)(void *user, fl_pipeline_run_t *run, const fl_pipeline_result_t *res,
                 const fl_decision_t *last);
} fl_pipeline_run_callbacks_t;
/*
 * Start a call on `loop`; the first attempt starts from a zero timer, never
 * inside this call; the decided delays are libuv timers.  `ctx` belongs to
 * the loop's thread.  FL_EINVAL (NULL p/ctx/loop/cb/attempt/done), FL_ENOMEM
 * (no callback is made).  `out` may be NULL.
 */
FL_EXTERN int fl_pipeline_run(fl_pipeline_t *p, fl_ctx_t *ctx, struct uv_loop_s *loop, const char *key,
                              const fl_pipeline_run_callbacks_t *cb, void *user, fl_pipeline_run_t **out);
/* Report attempt `attempt`: failed 0 for success.  FL_ESTATE if that attempt
 * is not outstanding (reported twice, or the run is over). */
FL_EXTERN int fl_pipeline_run_done(fl_pipeline_run_t *run, int attempt, int failed);
/* Cancel: during a wait, done follows at once (FL_CALL_CANCELLED); during an
 * attempt, once it is reported (a success still counts as one).  FL_ESTATE
 * if already over or cancelled. */
FL_EXTERN int fl_pipeline_run_cancel(fl_pipeline_run_t *run);

/*
 * Record an outcome into breaker `name` for `key` without a permit (e.g.
 * outcomes replayed from a state file): category NULL for success.  A
 * half-open breaker counts it as a probe.  FL_EINVAL (NULL r/name),
 * FL_ENOENT (no such breaker), FL_ENOMEM.
 */
FL_EXTERN int fl_breaker_report(fl_resil_t *r, const char *name, const char *key, const char *category);
/* ---- fleet: breaker state shared across instances through Redis --------- */
/*
 * A fleet synchroniser is one background thread (fleet.c) that, every
 * `sync_ms`, publishes the breakers of a registry declared with
 * scope = FL_SCOPE_FLEET to Redis and pulls what the other instances
 * published.  Deciding never waits for Redis: admission and recording stay
 * local atomics; the thread applies what it learns (a breaker key that at
 * least `quorum` instances report open is opened here; a state forced with
 * fl_fleet_force applies on every instance).  When Redis is unreachable or
 * slow each sync fails after `timeout_ms`, is counted in `fallbacks`, is
 * logged once (until it recovers), and the thread reconnects with backoff;
 * the breakers keep deciding on local state.  docs/fleet.md is the guide.
 */
typedef struct fl_fleet fl_fleet_t;

/* One line of log text (no trailing newline; never contains the password). */
typedef void (*fl_fleet_log_fn)(void *user, const char *line);

/* Zero-initialise; zero means the default.  Strings are copied. */
typedef struct fl_fleet_config {
    const char *redis;         /* "redis://[[user]:password@]host[:port][/db]";
                                  required                                  */
    const char *password_file; /* optional: password read from this file
                                  (first line); overrides the URL's        */
    const char *prefix;        /* key prefix; default "fl:"                */
    const char *instance;      /* this instance's id; default host:pid:rand */
    uint32_t sync_ms;          /* publish/pull period; default 100, 10..60000 */
    uint32_t quorum;           /* instances reporting open that open a key
                                  here; default 2                           */
    uint32_t ttl_ms;           /* lifetime of a published state; default
                                  3 * sync_ms                               */
    uint32_t timeout_ms;       /* connect and command timeout; default 50  */
    fl_fleet_log_fn log;       /* default: one line on stderr              */
    void *log_user;
} fl_fleet_config_t;

typedef struct fl_fleet_stats {
    uint64_t syncs;            /* rounds that reached Redis                 */
    uint64_t fallbacks;        /* rounds that could not (local state used)  */
    uint64_t reconnects;       /* successful connections after the first    */
    uint64_t fleet_opens;      /* keys opened here because of the quorum    */
    uint64_t forced;           /* fleet-wide forced states applied here     */
    uint64_t commands;         /* Redis commands sent                       */
    uint64_t leased;           /* limiter tokens leased from the fleet      */
    int connected;             /* 1 while the last round reached Redis      */
} fl_fleet_stats_t;

/*
 * Start synchronising `r`'s fleet-scoped breakers.  The first connection is
 * made by the thread, so this never blocks on Redis.  FL_EINVAL (NULL
 * r/cfg/out, missing or malformed URL, a value out of range; diag says
 * which -- never the password), FL_EIO (password_file unreadable),
 * FL_ENOMEM.  Stop with fl_fleet_stop before fl_resil_free.
 */
FL_EXTERN int fl_fleet_start(fl_resil_t *r, const fl_fleet_config_t *cfg, fl_fleet_t **out,
                             fl_diag_t *diag);
/* Stop the thread (waits at most about timeout_ms) and free.  NULL: no-op. */
FL_EXTERN void fl_fleet_stop(fl_fleet_t *f);
/* Counters so far.  FL_EINVAL for NULL. */
FL_EXTERN int fl_fleet_stats(fl_fleet_t *f, fl_fleet_stats_t *out);
/*
 * Force a breaker key fleet-wide: writes the state to Redis (one blocking
 * round trip, for operators and the CLI -- not for the decide path); every
 * synchroniser with the same prefix applies it within sync_ms, as
 * fl_breaker_set_state(r, name, key, state) would.  `state`:
 * FL_BREAKER_FORCED_OPEN, FL_BREAKER_DISABLED, or FL_BREAKER_CLOSED
 * (release).  key NULL or "" is the default key.  cfg gives redis,
 * password_file, prefix and timeout_ms.  FL_EINVAL (bad arguments),
 * FL_EIO (Redis unreachable or refused; diag says why).
 */
FL_EXTERN int fl_fleet_force(const fl_fleet_config_t *cfg, const char *name, const char *key,
                             fl_breaker_state state, fl_diag_t *diag);
/* The same through a running synchroniser's Redis settings (its own
 * connection is not touched: one more, short-lived, from the calling
 * thread) -- what `faultline serve`'s admin endpoint uses with
 * {"fleet": true}.  FL_EINVAL (NULL f, bad arguments), FL_EIO. */
FL_EXTERN int fl_fleet_force_with(fl_fleet_t *f, const char *name, const char *key, fl_breaker_state state,
                                  fl_diag_t *diag);
/* The synchroniser an engine started from its policy's fleet { }
 * declaration, or NULL (no declaration, NULL engine).  Owned by the engine;
 * valid until the next load or fl_engine_free. */
FL_EXTERN fl_fleet_t *fl_engine_fleet(fl_engine_t *engine);

/*
 * Stale-cache fallback (docs/fleet.md, docs/policy-language.md).  Store the
 * last good result `value_json` (any JSON value, at most 1 MiB) under `key`
 * (1..512 bytes) for `ttl_ms` (1 ms .. 30 days): a rule whose recovery is
 * `fallback = cache { key = "...", max_stale_ms = N }` answers with it while
 * it is at most max_stale_ms old.  The store belongs to the engine: every
 * context and every policy version of the engine sees it, and reloads keep
 * it.  Both strings are copied (the value in jansson's compact form); a
 * later put replaces the value and its age.  In-process the store holds at
 * most 10,000 entries and 64 MiB (least recently used first out).  While
 * the engine's policy declares `fleet { }` the value is also written to
 * Redis by the synchroniser (never on the caller's thread), so every
 * instance of the fleet can read it.  Thread-safe.  FL_EINVAL (NULL
 * engine, key or value, empty or too long key, ttl out of range, value not
 * JSON or too large; diag says which), FL_ENOMEM.
 */
FL_EXTERN int fl_cache_put(fl_engine_t *engine, const char *key, const char *value_json, uint32_t ttl_ms,
                           fl_diag_t *diag);
/* FL-RESILIENCE-END */

/* ------------------------------------------------------------------------ */
/* Observability: metrics (docs/observability.md)                           */
/* ------------------------------------------------------------------------ */
/* FL-OBSERVE-BEGIN */
/*
 * Turn the decide-path counters on (on != 0) or off.  Off by default: a
 * host that never asks for metrics pays one relaxed load per decision.  On:
 * each fl_decide adds two monotonic clock reads and a few relaxed atomic
 * increments (no lock, no allocation, no I/O).  Counters are kept while
 * off; turning on again continues from them.  FL_EINVAL for NULL.
 * Thread-safe.
 */
FL_EXTERN int fl_engine_metrics_enable(fl_engine_t *engine, int on);
/*
 * The engine's metrics as Prometheus text exposition (format 0.0.4:
 * "# HELP", "# TYPE" and sample lines, UTF-8, '\n' line ends) into buf,
 * NUL-terminated.  *len (may be NULL) receives the length of the complete
 * text without the NUL, also when it does not fit: then the call returns
 * FL_ETOOBIG and buf holds "" (cap > 0), so a caller retries with
 * cap = *len + 1 (the text may have grown a little meanwhile).  buf NULL
 * with cap 0 just measures.  FL_EINVAL (NULL engine, or NULL buf with
 * cap > 0), FL_ENOMEM.  Series and their labels: docs/observability.md;
 * the number of series is bounded by the policy's declared breakers, never
 * by events.  Thread-safe; takes no lock the decide path waits for.
 */
FL_EXTERN int fl_engine_metrics(fl_engine_t *engine, char *buf, size_t cap, size_t *len);

/* ---- decision log -------------------------------------------------------- */
/*
 * A JSON Lines file of decisions, written by a background thread.  Deciding
 * never blocks on it: fl_decide copies a bounded record (the decision and
 * the chosen event fields, each cut at a documented length), packed, into
 * a ring of `ring_lines` x 512 bytes -- a few hundred bytes of memcpy, one
 * CAS -- and the
 * writer thread formats, redacts and appends the lines.  When the ring is
 * full the record is counted in `dropped` (fl_engine_log_stats) or, with
 * on_full = FL_LOG_ON_FULL_SPOOL, goes through a spool file: never lost
 * silently.  Line shapes, redaction, rotation: docs/observability.md.
 */
enum {
    FL_LOG_FORMAT_JSON = 0,        /* one decision object per line           */
    FL_LOG_FORMAT_CLOUDEVENTS = 1  /* CloudEvents 1.0 structured JSON per line */
};
/* Bits of fl_log_options_t.fields/.mask: event fields that go in a line. */
enum {
    FL_LOG_DOMAIN = 1 << 0, FL_LOG_CODE = 1 << 1, FL_LOG_MESSAGE = 1 << 2,
    FL_LOG_OP = 1 << 3, FL_LOG_STACK = 1 << 4, FL_LOG_EVENT_ID = 1 << 5
};
typedef struct fl_log_options {
    const char *path;          /* the JSONL file (appended to; created 0640) */
    int format;                /* FL_LOG_FORMAT_*; default JSON                */
    unsigned fields;           /* FL_LOG_* bits; 0: domain, code, message, op  */
    unsigned mask;             /* FL_LOG_* bits written as "[REDACTED]"        */
    /* PCRE2 patterns; every match in the event message and stack is
     * replaced by "[REDACTED]" (by the writer thread, off the decide path).
     * NULL-terminated array, may be NULL.  Copied. */
    const char *const *redact_patterns;
    /* Log one in sample_every[severity] decisions of that severity
     * (fl_severity index); 0 or 1: every one; UINT32_MAX: none. */
    uint32_t sample_every[5];
    uint32_t ring_lines;       /* ring size in lines of 512 bytes (a typical record
                                  takes 320-512); default 1024, max 1<<20 */
    uint32_t fsync_ms;         /* fsync at most this long after a write; default 1000 */
    uint64_t max_bytes;        /* rotate past this size; default 64 MiB        */
    uint32_t max_age_s;        /* rotate a file older than this; 0: never      */
    uint32_t keep_days;        /* rotated .zst files older than this are removed; 0: 7 */
    /* What happens to records when the formatter falls behind.  DROP: a
     * record that finds the ring full is counted in `dropped`.  SPOOL: the
     * ring's reader only appends raw records to a spool file (no
     * formatting, one write(2) per batch) and the writer formats them from
     * there at its own pace, so a slow destination costs disk space, not
     * lines; records are dropped (counted) only when the spool cannot be
     * written or holds spool_max_bytes.  The spool survives a crash: the
     * next open in spool mode writes what it holds first. */
    int on_full;               /* FL_LOG_ON_FULL_*; default DROP                 */
    const char *spool_dir;     /* spool mode: directory of PATH-base.spool; NULL: the log's */
    uint64_t spool_max_bytes;  /* spool mode: bound of the spool; 0: 1 GiB        */
} fl_log_options_t;
enum { FL_LOG_ON_FULL_DROP = 0, FL_LOG_ON_FULL_SPOOL = 1 };

typedef struct fl_log_stats {
    uint64_t written;          /* lines written to the file                    */
    uint64_t dropped;          /* records refused because the ring was full    */
    uint64_t sampled_out;      /* decisions left out by sample_every           */
    uint64_t rotations;        /* files rotated                                */
    uint64_t torn_skipped;     /* torn last lines found at open and cut off    */
    uint64_t write_errors;     /* failed writes (lines counted as dropped too) */
    uint64_t spooled;          /* records appended to the spool (spool mode)    */
    uint64_t spool_bytes;      /* bytes in the spool not yet written as lines   */
    uint64_t unaggregated;     /* registry: decisions sent one record each because
                                  its fingerprint table was full (docs/observability.md) */
} fl_log_stats_t;

/* Start the decision log.  A torn last line left by a crash (no final '\n')
 * is cut off at open and counted in torn_skipped (so is a torn record at the
 * end of a spool).  FL_EINVAL (NULL engine, opts or path; ring_lines above
 * the max; bad format or on_full; a redact pattern that does not compile --
 * diag says which), FL_EIO (cannot open the file or the spool; diag says
 * why), FL_ESTATE (a log is already open), FL_ENOMEM.
 * Thread-safe; decisions made while it opens may or may not be logged. */
FL_EXTERN int fl_engine_log_open(fl_engine_t *engine, const fl_log_options_t *opts, fl_diag_t *diag);
/* Wait until every record queued so far is written and fsynced (at most
 * timeout_ms).  FL_OK; FL_EBUDGET when timeout_ms passed first; FL_ESTATE
 * (no log open); FL_EINVAL (NULL engine). */
FL_EXTERN int fl_engine_log_flush(fl_engine_t *engine, int timeout_ms);
/* Write what is queued, fsync, stop the writer and close the file.
 * FL_ESTATE when no log is open.  fl_engine_free closes it too. */
FL_EXTERN int fl_engine_log_close(fl_engine_t *engine);
/* Counters of the open (or last) log; zeroed when none was ever opened. */
FL_EXTERN int fl_engine_log_stats(fl_engine_t *engine, fl_log_stats_t *out);

/* ---- error registry -------------------------------------------------------- */
/*
 * A SQLite database (WAL) of the errors the engine has decided, keyed by
 * fingerprint: count, first and last seen, category, severity, rule, op,
 * last action and a redacted sample (the decision-log line of the first
 * occurrence), plus per-minute counts for windows and rates.  Deciding
 * threads count each decision in a bounded table keyed by fingerprint (an
 * atomic increment; a record goes through a ring only when a fingerprint is
 * new, then once a second); a background thread commits the counts in
 * batched transactions, so every decision is counted however fast they
 * come.  Beyond the table's 4096 fingerprints, decisions take one record
 * each through the ring (stats: unaggregated; dropped when it is full).
 * Several processes may read the database while it is written.  Schema and
 * queries: docs/observability.md.
 */
typedef struct fl_registry_options {
    const char *path;          /* the database file (created if missing)      */
    unsigned fields, mask;     /* event fields kept in the sample, as fl_log_options_t */
    const char *const *redact_patterns; /* applied to the sample; may be NULL */
    uint32_t ring_lines;       /* records' ring (new fingerprints, the record path); default 1024 */
    uint32_t retention_s;      /* drop what was last seen longer ago; default 7 days */
    uint32_t max_fingerprints; /* keep the most recently seen; default 100000  */
} fl_registry_options_t;

/* Same contract as fl_engine_log_open; FL_EIO when the database cannot be
 * opened or created (diag has SQLite's reason). */
FL_EXTERN int fl_engine_registry_open(fl_engine_t *engine, const fl_registry_options_t *opts, fl_diag_t *diag);
/* Wait until every decision counted so far (by this thread, or by any
 * thread before something this thread waited on) is committed; at most
 * timeout_ms.  Returns as fl_engine_log_flush. */
FL_EXTERN int fl_engine_registry_flush(fl_engine_t *engine, int timeout_ms);
FL_EXTERN int fl_engine_registry_close(fl_engine_t *engine);
/* written = decisions committed; dropped = lost (the table full and then
 * the ring full, a failed transaction of the record path, or a fingerprint
 * whose record never reached the writer before close); unaggregated. */
FL_EXTERN int fl_engine_registry_stats(fl_engine_t *engine, fl_log_stats_t *out);

/* One row of a registry query: one fingerprint, or one group. */
typedef struct fl_error_row {
    char key[256];             /* fingerprint, or the group's value ("" for none) */
    uint64_t count;            /* occurrences in the window                    */
    uint64_t total;            /* all-time count (fingerprint rows; else = count) */
    uint64_t last_1m, last_1h; /* occurrences in the last 1 and 60 minutes (minute resolution) */
    int64_t first_seen_ms, last_seen_ms;
    char category[128], severity[16], rule[128], op[128], action[16];
    char sample[2048];         /* fingerprint rows: redacted sample line, cut at the size */
} fl_error_row_t;

typedef struct fl_error_query {
    int64_t since_ms;          /* window: the last since_ms; 0: all time        */
    uint32_t top;              /* at most this many rows, largest count first; 0: 10 */
    /* NULL or "fingerprint": per fingerprint; "category", "severity", "op",
     * "rule": summed per value of that field (001's get_error_summary). */
    const char *by;
    int64_t now_ms;            /* 0: the clock; set it for reproducible output */
} fl_error_query_t;

/* Query a registry database (read-only; works while an engine writes it).
 * rows[0..*count) are filled.  FL_EINVAL (NULL path/q/count, rows NULL with
 * cap > 0, negative since_ms, unknown `by`), FL_ENOENT (no such database),
 * FL_EIO (not a registry or unreadable; diag says why). */
FL_EXTERN int fl_registry_query(const char *path, const fl_error_query_t *q, fl_error_row_t *rows, size_t cap,
                                size_t *count, fl_diag_t *diag);

/* ---- alerts ---------------------------------------------------------------- */
/*
 * Alert rules watch the decisions (off the decide path: a third ring, like
 * the decision log's) and notify a JSON webhook, a Slack incoming webhook
 * and/or e-mail (SMTP) through libcurl when `count` matching decisions of one group
 * happen within `window_ms`.  Deliveries run on their own thread from a
 * bounded queue; each attempt is admitted by the engine's breaker
 * "faultline.alerts" (keyed by channel) and retried with exponential backoff
 * and full jitter (100 ms base, 4 attempts), so a channel that is down never
 * slows deciding or evaluation.  docs/observability.md.
 */
typedef struct fl_alert_rule {
    const char *name;          /* required, shown in notifications             */
    const char *category;      /* this category or below it ("unavailable" matches
                                  "unavailable.dns"); NULL: any                */
    int min_severity;          /* fl_severity; lower ones are ignored (default debug) */
    uint32_t count;            /* threshold, >= 1 (required)                    */
    uint32_t window_ms;        /* ... within this many ms (required, >= 1)      */
    const char *group_by;      /* "fingerprint" "category" "op" "rule", or NULL: one group */
    uint32_t min_interval_ms;  /* per group: at most one notification per interval; default 300000 */
    const char *webhook_url;   /* generic JSON POST (http:// or https://); may be NULL */
    const char *slack_url;     /* Slack incoming webhook ({"text": message}); may be NULL */
    const char *smtp_url;      /* e-mail: smtp://host:port or smtps://; may be NULL */
    const char *mail_from;     /* with smtp_url: the sender address             */
    const char *mail_to;       /* with smtp_url: recipients, comma-separated    */
    /* Message template: {alert} {count} {window_s} {group} {category}
     * {fingerprint} {op} {rule} {message} (the event's message).  Default:
     * "{alert}: {count} errors in {window_s}s ({group})". */
    const char *message;
} fl_alert_rule_t;

typedef struct fl_alerts_options {
    const fl_alert_rule_t *rules;
    size_t nrules;             /* 1..64                                         */
    uint32_t queue;            /* pending notifications; default 64; beyond: dropped and counted */
    uint32_t timeout_ms;       /* per HTTP attempt; default 5000                */
    const char *history_db;    /* error registry database: every delivery and failure is
                                  recorded in its `notifications` table; may be NULL */
} fl_alerts_options_t;

typedef struct fl_alert_stats {
    uint64_t fired;            /* thresholds crossed (after min_interval)       */
    uint64_t suppressed;       /* crossings within min_interval                 */
    uint64_t delivered;        /* notifications a channel accepted (2xx)        */
    uint64_t failed;           /* notifications given up after the retries      */
    uint64_t attempts;         /* HTTP attempts made                            */
    uint64_t refused;          /* attempts the breaker refused                  */
    uint64_t dropped;          /* notifications dropped because the queue was full */
} fl_alert_stats_t;

/* Start evaluating the rules (copied).  FL_EINVAL (NULL args, no rules or
 * more than 64, a rule without name/count/window or without a channel, an
 * unknown group_by, a webhook URL not http(s), an smtp_url not smtp(s) or
 * without mail_from/mail_to; diag names the rule), FL_ESTATE
 * (alerts already started), FL_EIO (history_db cannot be opened), FL_ENOMEM. */
FL_EXTERN int fl_engine_alerts_start(fl_engine_t *engine, const fl_alerts_options_t *opts, fl_diag_t *diag);
/* Stop: pending notifications are attempted once more (bounded by the
 * timeout), then threads stop.  FL_ESTATE when not started. */
FL_EXTERN int fl_engine_alerts_stop(fl_engine_t *engine);
FL_EXTERN int fl_engine_alerts_stats(fl_engine_t *engine, fl_alert_stats_t *out);
/* FL-OBSERVE-END */

/* ------------------------------------------------------------------------ */
/* Resource checks, storage actions, checkpoints (bindings/)                 */
/* ------------------------------------------------------------------------ */
/* FL-BINDINGS-BEGIN (owned by the bindings module; edit only inside) */
/*
 * A bindings object (fl_bindings_t) is what policies act through:
 *   - resource checks (fl_resource_*), cached for a short TTL so a storm of
 *     errors does not become a storm of system calls;
 *   - storage actions (fl_storage_*), confined to the roots the host
 *     configures, idempotent, each returning what it did;
 *   - checkpoints (fl_checkpoint_*), durable per-job state in SQLite (WAL).
 * Give it to the engine (fl_engine_options_t.bindings) to offer it to handler
 * functions as the Lua module `fl` (docs/bindings.md), or call it directly.
 *
 * Thread-safety: every function in this section may be called from several
 * threads on the same fl_bindings_t at once, except fl_bindings_free.
 * Bad input: a NULL object or NULL required argument gives FL_EINVAL and
 * touches nothing.  Nothing here writes to stdout/stderr.
 */

/* Storage operations the fault-injection hook is asked about. */
typedef enum fl_io_op {
    FL_IO_OPEN_WRITE = 0, /* creating / opening a file for writing      */
    FL_IO_WRITE,          /* writing bytes                              */
    FL_IO_FSYNC,          /* fsync of a file or directory               */
    FL_IO_RENAME,         /* renaming into place                        */
    FL_IO_UNLINK          /* removing a file                            */
} fl_io_op;

/* Fault injection (tests).  Called before each storage operation with the
 * file's name relative to its root; return 0 to let it run or a positive
 * errno value (ENOSPC, EACCES, EROFS, ...) to make it fail with that error. */
typedef int (*fl_io_fault_fn)(void *ud, fl_io_op op, const char *relpath);

/* Options.  Zero-initialise, then set what you need; zero means the default.
 * Strings are copied by fl_bindings_new. */
typedef struct fl_bindings_options {
    /* Directories storage actions may touch (absolute or relative to the
     * working directory; each must exist).  Resolved once, at creation, with
     * realpath.  None: every storage action returns FL_ECONFINED. */
    const char *const *storage_roots;
    size_t storage_roots_count;
    /* Directory of the checkpoint store (checkpoints.db, SQLite WAL); created
     * (mode 0700) if missing -- its parent must exist.  NULL: checkpoint
     * functions return FL_ESTATE. */
    const char *data_dir;
    /* How long a resource check is served from the cache.  Default 1000 ms. */
    uint32_t cache_ttl_ms;
    /* Window over which fl_resource_cpu measures CPU usage when it has no
     * recent sample to compare with (it then blocks this long).  Default
     * 100 ms; max 1000. */
    uint32_t cpu_window_ms;
    /* Checkpoints kept per job (older ones are pruned on save).  Default 16. */
    uint32_t checkpoints_kept;
    /* Monotonic clock in ns for cache TTLs (tests).  NULL: CLOCK_MONOTONIC. */
    uint64_t (*clock_ns)(void *ud);
    void *clock_ud;
    /* Fault injection for the storage layer (tests).  NULL: none. */
    fl_io_fault_fn io_fault;
    void *io_fault_ud;
} fl_bindings_options_t;

/* Create a bindings object.  `opts` may be NULL (no roots, no checkpoints).
 * FL_EINVAL: `out` NULL, or more than 64 roots.  FL_ENOENT: a root does not
 * exist or is not a directory (diag-free: nothing is created).  FL_EIO: the
 * data directory or the store cannot be created or opened.  FL_ENOMEM.
 * Caller frees with fl_bindings_free (after the engines that use it). */
FL_EXTERN int fl_bindings_new(const fl_bindings_options_t *opts, fl_bindings_t **out);
/* NULL is a no-op.  No other call on `b` may be running. */
FL_EXTERN void fl_bindings_free(fl_bindings_t *b);
/* Drop every cached resource reading (next checks go to the system). */
FL_EXTERN void fl_bindings_cache_clear(fl_bindings_t *b);

/* ---- Resource checks ---------------------------------------------------- */
/* Flags: bypass the cache for this call (the fresh reading refills it). */
enum { FL_RESOURCE_FRESH = 1 << 0 };

typedef struct fl_memory_info {
    uint64_t total_bytes;        /* MemTotal                                 */
    uint64_t available_bytes;    /* MemAvailable (system-wide)               */
    double available_pct;        /* 100 * available / total                  */
    uint64_t rss_bytes;          /* this process's resident set              */
    int in_cgroup;               /* 1 when a cgroup memory limit applies     */
    uint64_t cgroup_limit_bytes; /* cgroup v2 memory.max (v1 limit_in_bytes) */
    uint64_t cgroup_usage_bytes; /* memory.current (v1 usage_in_bytes)       */
    double cgroup_used_pct;      /* 100 * usage / limit; 0 without a limit   */
} fl_memory_info_t;

typedef struct fl_disk_info {
    uint64_t total_bytes;
    uint64_t free_bytes;  /* available to unprivileged users (f_bavail) */
    double free_pct;      /* 100 * free / total                          */
    uint64_t total_inodes;
    uint64_t free_inodes; /* f_favail                                    */
} fl_disk_info_t;

typedef struct fl_cpu_info {
    double load1, load5, load15; /* load averages                          */
    double usage_pct;            /* busy share of all CPUs, 0..100, over the
                                    last window (see cpu_window_ms)       */
    int ncpu;                    /* online CPUs                            */
} fl_cpu_info_t;

typedef struct fl_fd_info {
    uint64_t open;  /* descriptors open in this process */
    uint64_t limit; /* RLIMIT_NOFILE soft limit          */
    double used_pct;
} fl_fd_info_t;

/* Each fills *out (zeroed on failure).  FL_EINVAL: NULL b/out/path.
 * FL_EIO: the system refused (/proc unreadable ...).  fl_resource_disk:
 * FL_ENOENT when `path` does not exist; resource checks are read-only and
 * not confined to the storage roots.  Cached per bindings object (disk:
 * per path, up to 32 paths) for cache_ttl_ms. */
FL_EXTERN int fl_resource_memory(fl_bindings_t *b, unsigned flags, fl_memory_info_t *out);
FL_EXTERN int fl_resource_disk(fl_bindings_t *b, const char *path, unsigned flags,
                               fl_disk_info_t *out);
FL_EXTERN int fl_resource_cpu(fl_bindings_t *b, unsigned flags, fl_cpu_info_t *out);
FL_EXTERN int fl_resource_fds(fl_bindings_t *b, unsigned flags, fl_fd_info_t *out);

/* ---- Storage actions ---------------------------------------------------- */
/*
 * Confinement: every path must lie inside a storage root.  Paths outside the
 * roots, paths with a `..` component, and symlinks that would leave the root
 * (or, where the kernel lacks openat2, any symlink) are refused with
 * FL_ECONFINED and nothing is touched.  The last component is never
 * followed if it is a symlink.  Relative paths are taken relative to the
 * first root.
 *
 * Every action is idempotent: running it again after success does nothing
 * more (or produces the same files).  Each returns its status and fills the
 * caller's result (always, also on failure; `res` may be NULL).
 */
typedef struct fl_storage_result {
    int status;            /* same as the return value                     */
    int dry_run;           /* 1 when nothing was changed on purpose        */
    uint64_t bytes_freed;  /* bytes no longer used on disk (estimate)      */
    uint64_t bytes_written;/* bytes written (compressed output, copies)    */
    uint32_t files;        /* files removed / compressed / moved / written */
    uint32_t skipped;      /* candidates left alone (not regular, busy...) */
    char error[256];       /* "" on success, else what failed and where    */
} fl_storage_result_t;

/* Remove regular files directly in `dir` whose name matches `pattern`
 * (fnmatch, default "*"; a leading '.' is never matched, so temporaries of
 * in-flight atomic writes are safe), oldest first (mtime): every one older
 * than `older_than_s`, then more until the matching files total at most
 * `max_bytes`.  At least one criterion is required (FL_EINVAL otherwise).
 * Subdirectories and symlinks are left alone.  dry_run: report only. */
typedef struct fl_cleanup_options {
    const char *dir;
    const char *pattern;
    int64_t older_than_s; /* > 0 to use */
    uint64_t max_bytes;   /* > 0 to use */
    int dry_run;
} fl_cleanup_options_t;
FL_EXTERN int fl_storage_cleanup(fl_bindings_t *b, const fl_cleanup_options_t *o,
                                 fl_storage_result_t *res);

/* Compress `path` (a regular file, or every matching regular file directly in
 * a directory) to NAME.zst with zstd.  The output is written to a temporary,
 * fsynced, decompressed again and compared with the original (length and
 * XXH64) before it is renamed into place and the original removed.  Files
 * already ending in .zst are skipped.  level: 1..19, default 3.
 * max_files: stop after this many (default 1000). */
typedef struct fl_compress_options {
    const char *path;
    const char *pattern;
    int64_t older_than_s;
    int level;
    uint32_t max_files;
    int dry_run;
} fl_compress_options_t;
FL_EXTERN int fl_storage_compress(fl_bindings_t *b, const fl_compress_options_t *o,
                                  fl_storage_result_t *res);

/* Rotate `path`: PATH.(keep) is removed, PATH.i becomes PATH.(i+1), PATH
 * becomes PATH.1 and an empty PATH is created with the same mode.  Only when
 * PATH has at least max(min_bytes, 1) bytes, so repeating it is a no-op.
 * keep: default 5, max 1000. */
typedef struct fl_rotate_options {
    const char *path;
    uint32_t keep;
    uint64_t min_bytes;
} fl_rotate_options_t;
FL_EXTERN int fl_storage_rotate(fl_bindings_t *b, const fl_rotate_options_t *o,
                                fl_storage_result_t *res);

/* Copy regular file `path` to `dest` (default PATH.bak) atomically
 * (temporary, fsync, rename, directory fsync).  Both paths are confined.
 * An identical existing copy is left as it is (files = 0). */
typedef struct fl_backup_options {
    const char *path;
    const char *dest;
} fl_backup_options_t;
FL_EXTERN int fl_storage_backup(fl_bindings_t *b, const fl_backup_options_t *o,
                                fl_storage_result_t *res);

/* Replace `path` with `data` atomically: a temporary in the same directory,
 * write, fsync, rename, fsync of the directory.  Readers see the old or the
 * new content, never a mix.  mode: default 0644.  On failure the temporary
 * is removed and `path` is unchanged.  len above 1 GiB: FL_ETOOBIG. */
typedef struct fl_write_options {
    const char *path;
    const void *data;
    size_t len;
    uint32_t mode;
} fl_write_options_t;
FL_EXTERN int fl_storage_write_atomic(fl_bindings_t *b, const fl_write_options_t *o,
                                      fl_storage_result_t *res);

/* ---- Checkpoints -------------------------------------------------------- */
/*
 * Per-job state saved at stage boundaries so a job resumes where it stopped.
 * Each save gets the next sequence number of its job (1, 2, ...).  A save is
 * durable once it returns FL_OK (SQLite WAL, synchronous=FULL): a crash or
 * SIGKILL at any moment leaves every acknowledged checkpoint intact.
 * job, stage: 1..255 bytes, no NUL.  data: at most 64 MiB (FL_ETOOBIG).
 * All return FL_ESTATE when the bindings have no data_dir, FL_EIO when the
 * store fails (busy for more than 5 s, disk full, corrupt).
 */
typedef struct fl_checkpoint {
    int64_t seq;
    int64_t created_ms; /* wall clock, ms since the epoch */
    char *stage;        /* owned by the struct            */
    void *data;         /* owned; NULL in list entries    */
    size_t len;         /* size of the data               */
} fl_checkpoint_t;

/* Save a checkpoint; *seq_out (may be NULL) receives its sequence number.
 * Saving the same stage and data as the job's latest checkpoint does not add
 * one (returns the latest's seq).  Prunes the job to checkpoints_kept. */
FL_EXTERN int fl_checkpoint_save(fl_bindings_t *b, const char *job, const char *stage,
                                 const void *data, size_t len, int64_t *seq_out);
/* Load the job's latest checkpoint (of `stage`, or of any stage when stage is
 * NULL).  FL_ENOENT when there is none.  Caller frees with
 * fl_checkpoint_clear. */
FL_EXTERN int fl_checkpoint_load(fl_bindings_t *b, const char *job, const char *stage,
                                 fl_checkpoint_t *out);
/* Load one checkpoint by sequence number.  FL_ENOENT when absent. */
FL_EXTERN int fl_checkpoint_load_seq(fl_bindings_t *b, const char *job, int64_t seq,
                                     fl_checkpoint_t *out);
/* Free what a checkpoint owns and zero it.  NULL is a no-op. */
FL_EXTERN void fl_checkpoint_clear(fl_checkpoint_t *cp);
/* The job's checkpoints, newest first, without data.  *out is NULL and
 * *count 0 when there are none.  Caller frees with fl_checkpoint_list_free. */
FL_EXTERN int fl_checkpoint_list(fl_bindings_t *b, const char *job, fl_checkpoint_t **out,
                                 size_t *count);
FL_EXTERN void fl_checkpoint_list_free(fl_checkpoint_t *list, size_t count);
/* Keep the job's newest `keep` checkpoints (keep 0 removes the job's
 * checkpoints); *removed (may be NULL) receives how many went. */
FL_EXTERN int fl_checkpoint_prune(fl_bindings_t *b, const char *job, uint32_t keep,
                                  uint32_t *removed);
/* FL-BINDINGS-END */

#ifdef __cplusplus
}
#endif
#endif /* FAULTLINE_H */
