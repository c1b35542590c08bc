"""The C side: declarations of the parts of faultline.h this package uses,
and the library, opened in cffi's ABI mode (no compiler needed at install).

Where libfaultline comes from, first match wins:
  1. $FAULTLINE_LIBRARY (a path to libfaultline.so*);
  2. the library recorded when the package was built (_config.LIBRARY: the
     in-tree build, $FAULTLINE_BUILD_DIR, or an installed copy);
  3. the dynamic linker's search (libfaultline.so.1 from /usr/lib...).
"""
from __future__ import annotations

import os

from cffi import FFI

CDEF = r"""
typedef struct fl_engine fl_engine_t;
typedef struct fl_ctx fl_ctx_t;
typedef struct fl_event fl_event_t;
typedef struct fl_decision fl_decision_t;
typedef struct fl_bindings fl_bindings_t;
typedef struct fl_watch fl_watch_t;
typedef struct fl_resil fl_resil_t;
typedef struct fl_guard fl_guard_t;

const char *fl_libversion(void);
const char *fl_strerror(int status);

typedef struct fl_diag {
    int status; int line; int col; char file[256]; char message[768];
} fl_diag_t;

typedef void (*fl_failure_log_fn)(void *user, int kind, int status,
                                  const char *version_id, const char *detail);
typedef struct fl_engine_options {
    uint32_t handler_budget_us;
    size_t lua_memory_cap;
    uint32_t match_limit;
    uint32_t versions_kept;
    uint64_t seed;
    uint32_t max_message_len;
    fl_bindings_t *bindings;
    fl_failure_log_fn on_failure;
    void *on_failure_user;
    const unsigned char *trusted_key;
    void (*on_canary)(void *user, const char *rolled_back_id, const char *restored_id, const char *why);
    void *on_canary_user;
    uint32_t handler_wall_us;
    const void *resil;
} fl_engine_options_t;

typedef struct fl_engine_stats {
    uint64_t failures[5];
    uint64_t states_reset;
} fl_engine_stats_t;

size_t fl_engine_options_size(void);
int fl_engine_new(const fl_engine_options_t *opts, fl_engine_t **out);
void fl_engine_free(fl_engine_t *engine);
int fl_engine_load(fl_engine_t *engine, const char *dir, fl_diag_t *diag);
int fl_engine_load_string(fl_engine_t *engine, const char *name, const char *source,
                          size_t len, fl_diag_t *diag);
int fl_engine_check(fl_engine_t *engine, const char *dir, fl_diag_t *diag);
int fl_cache_put(fl_engine_t *engine, const char *key, const char *value_json, uint32_t ttl_ms,
                 fl_diag_t *diag);
int fl_engine_stats(fl_engine_t *engine, fl_engine_stats_t *out);

typedef struct fl_version_info {
    const char *id; const char *name; const char *version; const char *source;
    int64_t loaded_at_ms; uint32_t rules; uint32_t examples; int current;
} fl_version_info_t;
int fl_engine_current(fl_engine_t *engine, fl_version_info_t *out);
int fl_engine_versions(fl_engine_t *engine, fl_version_info_t *out, size_t cap, size_t *count);
int fl_engine_rollback(fl_engine_t *engine, const char *id, fl_diag_t *diag);
int fl_engine_reload(fl_engine_t *engine, fl_diag_t *diag);

typedef void (*fl_reload_cb)(void *ud, int status, const fl_diag_t *diag,
                             const fl_version_info_t *current);
typedef struct fl_watch_options {
    uint32_t debounce_ms; uint32_t poll_ms; int handle_sighup;
    fl_reload_cb on_reload; void *ud;
} fl_watch_options_t;
int fl_watch_start(fl_engine_t *engine, const char *dir, const fl_watch_options_t *opts,
                   fl_watch_t **out);
int fl_watch_trigger(fl_watch_t *w);
uint64_t fl_watch_reloads(const fl_watch_t *w);
void fl_watch_stop(fl_watch_t *w);

int fl_event_new(fl_event_t **out);
void fl_event_free(fl_event_t *ev);
void fl_event_reset(fl_event_t *ev);
int fl_event_set(fl_event_t *ev, int field, const char *value, size_t len);
int fl_event_set_attempt(fl_event_t *ev, int attempt);
int fl_event_set_elapsed_ms(fl_event_t *ev, double elapsed_ms);
int fl_event_set_tag(fl_event_t *ev, const char *key, const char *value);
int fl_event_push_cause(fl_event_t *ev, fl_event_t **out);
int fl_event_set_packed(fl_event_t *ev, const char *packed, size_t len, unsigned flags, size_t *bad);

int fl_ctx_new(fl_engine_t *engine, fl_ctx_t **out);
void fl_ctx_free(fl_ctx_t *ctx);
int fl_decision_new(fl_decision_t **out);
void fl_decision_free(fl_decision_t *d);
int fl_decide(fl_ctx_t *ctx, const fl_event_t *ev, const char *locale, unsigned flags,
              fl_decision_t *out);

const char *fl_decision_id(const fl_decision_t *d);
const char *fl_decision_category(const fl_decision_t *d);
int fl_decision_severity(const fl_decision_t *d);
int fl_decision_retryable(const fl_decision_t *d);
int fl_decision_action(const fl_decision_t *d);
int64_t fl_decision_delay_ms(const fl_decision_t *d);
int fl_decision_attempts_left(const fl_decision_t *d);
const char *fl_decision_message(const fl_decision_t *d);
const char *fl_decision_message_id(const fl_decision_t *d);
const char *fl_decision_locale(const fl_decision_t *d);
const char *fl_decision_fingerprint(const fl_decision_t *d);
const char *fl_decision_rule(const fl_decision_t *d);
const char *fl_decision_policy_version(const fl_decision_t *d);
const char *fl_decision_error(const fl_decision_t *d);
const char *fl_decision_params_json(const fl_decision_t *d);
const char *fl_decision_fallback_json(const fl_decision_t *d);
int64_t fl_decision_cache_age_ms(const fl_decision_t *d);
const char *fl_decision_cache_key(const fl_decision_t *d);
const char *fl_decision_to_json(fl_decision_t *d);

fl_resil_t *fl_engine_resil(fl_engine_t *engine);
typedef struct fl_breaker_stats {
    int state; uint64_t calls; uint64_t failures; uint64_t slow_calls;
    uint32_t opens; int64_t retry_after_ns;
} fl_breaker_stats_t;
int fl_breaker_stats(fl_resil_t *r, const char *name, const char *key, fl_breaker_stats_t *out);
int fl_breaker_set_state(fl_resil_t *r, const char *name, const char *key, int state);
typedef struct fl_guard_spec {
    const char *breaker; const char *limiter; const char *bulkhead; const char *budget;
} fl_guard_spec_t;
int fl_guard_new(fl_resil_t *r, const fl_guard_spec_t *spec, fl_guard_t **out, fl_diag_t *diag);
void fl_guard_free(fl_guard_t *g);
typedef struct fl_permit {
    const char *reason; int64_t retry_after_ns; void *p_[4];
    int64_t start_ns_; uint64_t gen_; uint32_t flags_;
} fl_permit_t;
int fl_admit(fl_guard_t *g, const char *key, fl_permit_t *permit);
int fl_complete(fl_permit_t *permit, const char *category);
int fl_permit_release(fl_permit_t *permit);

typedef int (*fl_io_fault_fn)(void *ud, int op, const char *relpath);
typedef struct fl_bindings_options {
    const char *const *storage_roots; size_t storage_roots_count;
    const char *data_dir; uint32_t cache_ttl_ms; uint32_t cpu_window_ms;
    uint32_t checkpoints_kept;
    uint64_t (*clock_ns)(void *ud); void *clock_ud;
    fl_io_fault_fn io_fault; void *io_fault_ud;
} fl_bindings_options_t;
int fl_bindings_new(const fl_bindings_options_t *opts, fl_bindings_t **out);
void fl_bindings_free(fl_bindings_t *b);
void fl_bindings_cache_clear(fl_bindings_t *b);

typedef struct fl_memory_info {
    uint64_t total_bytes; uint64_t available_bytes; double available_pct;
    uint64_t rss_bytes; int in_cgroup; uint64_t cgroup_limit_bytes;
    uint64_t cgroup_usage_bytes; double cgroup_used_pct;
} fl_memory_info_t;
typedef struct fl_disk_info {
    uint64_t total_bytes; uint64_t free_bytes; double free_pct;
    uint64_t total_inodes; uint64_t free_inodes;
} fl_disk_info_t;
typedef struct fl_cpu_info {
    double load1, load5, load15; double usage_pct; int ncpu;
} fl_cpu_info_t;
typedef struct fl_fd_info { uint64_t open; uint64_t limit; double used_pct; } fl_fd_info_t;
int fl_resource_memory(fl_bindings_t *b, unsigned flags, fl_memory_info_t *out);
int fl_resource_disk(fl_bindings_t *b, const char *path, unsigned flags, fl_disk_info_t *out);
int fl_resource_cpu(fl_bindings_t *b, unsigned flags, fl_cpu_info_t *out);
int fl_resource_fds(fl_bindings_t *b, unsigned flags, fl_fd_info_t *out);

typedef struct fl_storage_result {
    int status; int dry_run; uint64_t bytes_freed; uint64_t bytes_written;
    uint32_t files; uint32_t skipped; char error[256];
} fl_storage_result_t;
typedef struct fl_cleanup_options {
    const char *dir; const char *pattern; int64_t older_than_s; uint64_t max_bytes; int dry_run;
} fl_cleanup_options_t;
int fl_storage_cleanup(fl_bindings_t *b, const fl_cleanup_options_t *o, fl_storage_result_t *res);
typedef struct fl_compress_options {
    const char *path; const char *pattern; int64_t older_than_s; int level;
    uint32_t max_files; int dry_run;
} fl_compress_options_t;
int fl_storage_compress(fl_bindings_t *b, const fl_compress_options_t *o, fl_storage_result_t *res);
typedef struct fl_rotate_options { const char *path; uint32_t keep; uint64_t min_bytes; } fl_rotate_options_t;
int fl_storage_rotate(fl_bindings_t *b, const fl_rotate_options_t *o, fl_storage_result_t *res);
typedef struct fl_backup_options { const char *path; const char *dest; } fl_backup_options_t;
int fl_storage_backup(fl_bindings_t *b, const fl_backup_options_t *o, fl_storage_result_t *res);
typedef struct fl_write_options {
    const char *path; const void *data; size_t len; uint32_t mode;
} fl_write_options_t;
int fl_storage_write_atomic(fl_bindings_t *b, const fl_write_options_t *o, fl_storage_result_t *res);
"""

ffi = FFI()
ffi.cdef(CDEF)


def _candidates() -> list[str]:
    out = []
    env = os.environ.get("FAULTLINE_LIBRARY")
    if env:
        return [env]
    try:
        from . import _config  # written by the build backend

        if getattr(_config, "LIBRARY", None):
            out.append(_config.LIBRARY)
    except ImportError:
        pass
    out.append("libfaultline.so.1")
    out.append("libfaultline.so")
    return out


def _open():
    errors = []
    for name in _candidates():
        try:
            # RTLD_NODELETE: the library stays mapped after the interpreter
            # drops `lib` at exit -- its watch and handler-watchdog threads
            # may still be running then.
            return ffi.dlopen(name, ffi.RTLD_NOW | ffi.RTLD_NODELETE), name
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("faultline: cannot load libfaultline (set FAULTLINE_LIBRARY to its path); tried "
                      + "; ".join(errors))


lib, LIBRARY_PATH = _open()

# The options struct is mirrored above and grows between library versions:
# passing a shorter copy would let the library read past it.  Refuse a
# library this package does not match rather than corrupt memory.
if ffi.sizeof("fl_engine_options_t") != lib.fl_engine_options_size():
    raise ImportError(f"faultline: {LIBRARY_PATH} has a fl_engine_options_t of {lib.fl_engine_options_size()} "
                      f"bytes, this package expects {ffi.sizeof('fl_engine_options_t')}: install matching versions")

# Status codes (faultline.h).
FL_OK = 0
FL_EINVAL = -1
FL_ENOMEM = -2
FL_EPARSE = -3
FL_EPOLICY = -4
FL_ENOENT = -5
FL_EIO = -6
FL_ETOOBIG = -7
FL_EHANDLER = -8
FL_EBUDGET = -9
FL_EEXAMPLE = -10
FL_EREFUSED = -11
FL_ESTATE = -12
FL_ECONFINED = -13
FL_EMISUSE = -14
FL_ESIGNATURE = -15
FL_EVENT_RESET = 1
FL_DECIDE_STACK_ON_DEMAND = 2
FL_ESTATE_STACK = -((12) | (1 << 8))


def primary(code: int) -> int:
    return code if code >= 0 else -((-code) & 0xFF)


def strerror(code: int) -> str:
    return ffi.string(lib.fl_strerror(code)).decode("utf-8", "replace")
