/*
 * bindings.h -- internal header of the bindings modules (bindings/): the
 * fl_bindings object and the seams between its parts.
 *
 *   bindings.c      fl_bindings_new/free, the clock
 *   confine.c       path confinement to the storage roots (openat2 / walk)
 *   fsio.c          I/O helpers with the fault-injection hook
 *   resource.c      cached resource checks
 *   storage.c       cleanup, rotate, backup, write_atomic
 *   compress.c      zstd compression with verification
 *   checkpoint.c    the SQLite checkpoint store
 *   lua_bindings.c  the Lua module `fl`
 *
 * Public API: the FL-BINDINGS section of faultline.h.  The engine's handler
 * code uses fl_bindings_open_lua() below.
 */
#ifndef FL_BINDINGS_H
#define FL_BINDINGS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline.h"

struct lua_State;

/*
 * Push a table `fl` with sub-tables `resource`, `storage` and `checkpoint`
 * (functions bound to `b`) onto L's stack.  Returns FL_OK with the table on
 * top, or FL_EINVAL (L or b NULL; nothing pushed).  May raise a Lua memory
 * error like any lua_push* (call it where that is handled).  `b` must
 * outlive L.
 *
 * Effects: each storage or checkpoint action called from Lua appends a
 * jansson object {"action", "target", "ok", "bytes_freed", "files",
 * "error"?, "dry_run"?} to the json_t* array found as a light userdata in L's registry
 * under the key "fl.effects" (FL_LUA_EFFECTS_KEY).  Absent key: not recorded.
 */
#define FL_LUA_EFFECTS_KEY "fl.effects"
int fl_bindings_open_lua(struct lua_State *L, fl_bindings_t *b);

/* ---- confine.c ---------------------------------------------------------- */
typedef struct fl_root {
    char *path; /* realpath, no trailing slash (except "/") */
    size_t len;
    int fd;     /* O_PATH|O_DIRECTORY */
} fl_root;

typedef struct fl_confine {
    fl_root *roots;
    size_t count;
    int no_openat2; /* 1: use the component walk (kernel lacks openat2, tests) */
} fl_confine;

/* 0, FL_ENOENT (a root missing / not a directory), FL_ENOMEM. */
int fl_confine_init(fl_confine *c, const char *const *roots, size_t count);
void fl_confine_fini(fl_confine *c);

/* A confined location: the directory holding the target, opened, and the
 * target's last component. */
typedef struct fl_loc {
    int dirfd;         /* owned; -1 when unset */
    char name[256];    /* last component ("." for a root itself) */
    char rel[1024];    /* path relative to the root, for messages/hooks */
    const fl_root *root;
} fl_loc;

/* Resolve `path` to its parent directory inside a root.  FL_EINVAL (empty,
 * too long), FL_ECONFINED (outside every root, `..`, symlink escape),
 * FL_ENOENT (a parent is missing), FL_EIO.  On success the caller closes
 * loc->dirfd with fl_loc_close. */
int fl_confine_locate(const fl_confine *c, const char *path, fl_loc *loc);
void fl_loc_close(fl_loc *loc);
/* Open a directory confined (O_DIRECTORY|O_NOFOLLOW).  Same failures. */
int fl_confine_opendir(const fl_confine *c, const char *path, int *fd, fl_loc *loc);

/* ---- fsio.c ------------------------------------------------------------- */
typedef struct fl_fsio {
    fl_io_fault_fn fault;
    void *ud;
} fl_fsio;

/* Each returns 0 or -1 with errno set (injected or real). */
int fl_io_check(const fl_fsio *io, fl_io_op op, const char *rel);
int fl_io_openat(const fl_fsio *io, int dirfd, const char *name, int flags, mode_t mode,
                 const char *rel);
int fl_io_write_all(const fl_fsio *io, int fd, const void *buf, size_t len, const char *rel);
int fl_io_fsync(const fl_fsio *io, int fd, const char *rel);
int fl_io_renameat(const fl_fsio *io, int dirfd, const char *from, const char *to,
                   const char *rel);
int fl_io_unlinkat(const fl_fsio *io, int dirfd, const char *name, const char *rel);
/* Read up to len bytes (loops on short reads); returns bytes read or -1. */
ssize_t fl_io_read_full(int fd, void *buf, size_t len);
/* Map an errno to an fl_status (ENOENT -> FL_ENOENT, ELOOP/EXDEV ->
 * FL_ECONFINED, ENOMEM -> FL_ENOMEM, else FL_EIO). */
int fl_io_status(int err);
/* Create a unique ".NAME.XXXXXX.tmp" in dirfd (O_EXCL|O_NOFOLLOW); its name
 * goes to tmpname.  Returns the fd or -1. */
int fl_io_mktemp(const fl_fsio *io, int dirfd, const char *name, mode_t mode,
                 char tmpname[300], const char *rel);

/* ---- storage.c / compress.c: shared result helpers ---------------------- */
void fl_res_init(fl_storage_result_t *res);
int fl_res_fail(fl_storage_result_t *res, int status, const char *what, const char *rel,
                int err);
/* Compress one regular file `name` in dirfd (see fl_storage_compress). */
int fl_compress_one(fl_bindings_t *b, int dirfd, const char *name, const char *rel, int level,
                    fl_storage_result_t *res);

/* ---- resource.c --------------------------------------------------------- */
#define FL_DISK_CACHE 32
typedef struct fl_disk_slot {
    uint64_t hash;
    uint64_t at_ns; /* 0: empty */
    char path[256];
    fl_disk_info_t info;
} fl_disk_slot;

typedef struct fl_rescache {
    pthread_mutex_t mu;
    uint64_t ttl_ns;
    uint64_t cpu_window_ns;
    uint64_t mem_at, cpu_at, fds_at; /* 0: empty */
    fl_memory_info_t mem;
    fl_cpu_info_t cpu;
    fl_fd_info_t fds;
    uint64_t cpu_prev_busy, cpu_prev_total, cpu_prev_at; /* last /proc/stat */
    fl_disk_slot disk[FL_DISK_CACHE];
    unsigned disk_next;
    int cg_state;       /* 0 not looked up, 1 found, -1 none */
    char cg_limit[512]; /* memory.max or memory.limit_in_bytes */
    char cg_usage[512]; /* memory.current or memory.usage_in_bytes */
} fl_rescache;

int fl_rescache_init(fl_rescache *rc, uint64_t ttl_ns, uint64_t cpu_window_ns);
void fl_rescache_fini(fl_rescache *rc);

/* ---- checkpoint.c ------------------------------------------------------- */
typedef struct fl_ckstore fl_ckstore;
/* Open (creating) DATA_DIR/checkpoints.db.  FL_EIO / FL_ENOMEM. */
int fl_ckstore_open(const char *data_dir, uint32_t kept, fl_ckstore **out);
void fl_ckstore_close(fl_ckstore *s);

/* ---- bindings.c --------------------------------------------------------- */
struct fl_bindings {
    fl_confine confine;
    fl_fsio io;
    fl_rescache cache;
    fl_ckstore *ckpt; /* NULL without data_dir */
    uint64_t (*clock_ns)(void *ud);
    void *clock_ud;
};

uint64_t fl_bindings_now_ns(const fl_bindings_t *b);

#endif /* FL_BINDINGS_H */
