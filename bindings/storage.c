/*
 * storage.c -- storage actions: cleanup, rotate, backup, write_atomic (zstd
 * compression is in compress.c).  Every path goes through confine.c and every
 * write through fsio.c; each action fills an fl_storage_result_t and is
 * idempotent (see faultline.h).
 */
#include "bindings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FL_CLEANUP_MAX_ENTRIES 100000
#define FL_COPY_CHUNK 65536

static fl_storage_result_t *res_or(fl_storage_result_t *res, fl_storage_result_t *scratch)
{
    return res ? res : scratch;
}

void fl_res_init(fl_storage_result_t *res)
{
    memset(res, 0, sizeof *res);
}

int fl_res_fail(fl_storage_result_t *res, int status, const char *what, const char *rel, int err)
{
    char msg[128] = "";
    if (err)
        strerror_r(err, msg, sizeof msg);
    if (!res->error[0])
        snprintf(res->error, sizeof res->error, "%.70s%s%.120s%s%.60s", what, rel ? " " : "",
                 rel ? rel : "", err ? ": " : "", msg);
    res->status = status;
    return status;
}

static int confine_fail(fl_storage_result_t *res, int rc, const char *path)
{
    const char *why = rc == FL_ECONFINED ? "refused: outside the storage roots:"
                      : rc == FL_ENOENT  ? "not found:"
                      : rc == FL_EINVAL  ? "invalid path:"
                                         : "cannot open:";
    return fl_res_fail(res, rc, why, path, 0);
}

/* ---- cleanup ------------------------------------------------------------ */

typedef struct cand {
    char *name;
    int64_t mtime;
    uint64_t size;
    int sole; /* only link: removing it frees the space */
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Collect matching regular files of the directory stream. */
static int collect(DIR *d, const char *pattern, cand **out, size_t *n, fl_storage_result_t *res)
{
    size_t cap = 0;
    struct dirent *e;
    *out = NULL;
    *n = 0;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || fnmatch(pattern, e->d_name, FNM_PERIOD) != 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            *n >= FL_CLEANUP_MAX_ENTRIES) {
            res->skipped++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            cand *grown = realloc(*out, cap * sizeof **out);
            if (!grown)
                return FL_ENOMEM;
            *out = grown;
        }
        cand *c = &(*out)[*n];
        if (!(c->name = strdup(e->d_name)))
            return FL_ENOMEM;
        c->mtime = (int64_t)st.st_mtim.tv_sec;
        c->size = (uint64_t)st.st_size;
        c->sole = st.st_nlink == 1;
        (*n)++;
    }
    return FL_OK;
}

static void remove_cands(fl_bindings_t *b, const fl_cleanup_options_t *o, int dfd, cand *c,
                         size_t n, fl_storage_result_t *res)
{
    uint64_t total = 0;
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < n; i++)
        total += c[i].size;
    for (size_t i = 0; i < n; i++) {
        int old = o->older_than_s > 0 && now - c[i].mtime > o->older_than_s;
        int over = o->max_bytes > 0 && total > o->max_bytes;
        if (!old && !over)
            continue;
        if (!o->dry_run && fl_io_unlinkat(&b->io, dfd, c[i].name, c[i].name) != 0) {
            if (errno != ENOENT) /* gone already: someone else cleaned it */
                fl_res_fail(res, fl_io_status(errno), "cannot remove", c[i].name, errno);
            continue;
        }
        total -= c[i].size;
        res->bytes_freed += c[i].sole ? c[i].size : 0;
        res->files++;
    }
}

int fl_storage_cleanup(fl_bindings_t *b, const fl_cleanup_options_t *o, fl_storage_result_t *res)
{
    fl_storage_result_t scratch;
    fl_loc loc = {.dirfd = -1};
    cand *c = NULL;
    size_t n = 0;
    DIR *d = NULL;
    int dfd = -1, rc;

    res = res_or(res, &scratch);
    fl_res_init(res);
    if (!b || !o || !o->dir || (o->older_than_s <= 0 && o->max_bytes == 0))
        return fl_res_fail(res, FL_EINVAL, "cleanup needs dir and older_than_s or max_bytes",
                           NULL, 0);
    res->dry_run = o->dry_run != 0;
    rc = fl_confine_opendir(&b->confine, o->dir, &dfd, &loc);
    if (rc) {
        confine_fail(res, rc, o->dir);
        goto cleanup;
    }
    if (!(d = fdopendir(dfd))) {
        rc = fl_res_fail(res, FL_EIO, "cannot read", loc.rel, errno);
        close(dfd);
        goto cleanup;
    }
    rc = collect(d, o->pattern && *o->pattern ? o->pattern : "*", &c, &n, res);
    if (rc) {
        fl_res_fail(res, rc, "out of memory listing", loc.rel, 0);
        goto cleanup;
    }
    if (n)
        qsort(c, n, sizeof *c, cand_cmp);
    remove_cands(b, o, dirfd(d), c, n, res);
    if (res->files && !o->dry_run)
        fl_io_fsync(&b->io, dirfd(d), loc.rel);
    rc = res->status;
cleanup:
    for (size_t i = 0; i < n; i++)
        free(c[i].name);
    free(c);
    if (d)
        closedir(d);
    fl_loc_close(&loc);
    res->status = rc;
    return rc;
}

/* ---- write_atomic ------------------------------------------------------- */

/* Write `len` bytes from `data` (or copy from fd `src` when data is NULL) to a
 * temporary beside loc->name, fsync, rename into place, fsync the directory. */
static int atomic_replace(fl_bindings_t *b, fl_loc *loc, const void *data, size_t len, int src,
                          mode_t mode, fl_storage_result_t *res)
{
    char tmp[300], buf[FL_COPY_CHUNK];
    int fd = fl_io_mktemp(&b->io, loc->dirfd, loc->name, mode, tmp, loc->rel);
    if (fd < 0)
        return fl_res_fail(res, fl_io_status(errno), "cannot create a temporary for", loc->rel,
                           errno);
    int rc = FL_OK;
    if (data && fl_io_write_all(&b->io, fd, data, len, loc->rel) != 0)
        rc = fl_res_fail(res, FL_EIO, "cannot write", loc->rel, errno);
    while (!rc && !data) {
        ssize_t r = fl_io_read_full(src, buf, sizeof buf);
        if (r < 0)
            rc = fl_res_fail(res, FL_EIO, "cannot read the source of", loc->rel, errno);
        else if (r == 0)
            break;
        else if (fl_io_write_all(&b->io, fd, buf, (size_t)r, loc->rel) != 0)
            rc = fl_res_fail(res, FL_EIO, "cannot write", loc->rel, errno);
        else
            len += (size_t)r;
    }
    if (!rc && fl_io_fsync(&b->io, fd, loc->rel) != 0)
        rc = fl_res_fail(res, FL_EIO, "cannot fsync", loc->rel, errno);
    close(fd);
    if (!rc && fl_io_renameat(&b->io, loc->dirfd, tmp, loc->name, loc->rel) != 0)
        rc = fl_res_fail(res, fl_io_status(errno), "cannot rename into", loc->rel, errno);
    if (rc) {
        unlinkat(loc->dirfd, tmp, 0);
        return rc;
    }
    if (fl_io_fsync(&b->io, loc->dirfd, loc->rel) != 0)
        return fl_res_fail(res, FL_EIO, "cannot fsync the directory of", loc->rel, errno);
    res->bytes_written += len;
    res->files++;
    return FL_OK;
}

int fl_storage_write_atomic(fl_bindings_t *b, const fl_write_options_t *o,
                            fl_storage_result_t *res)
{
    fl_storage_result_t scratch;
    fl_loc loc = {.dirfd = -1};
    res = res_or(res, &scratch);
    fl_res_init(res);
    if (!b || !o || !o->path || (!o->data && o->len))
        return fl_res_fail(res, FL_EINVAL, "write_atomic needs path and data", NULL, 0);
    if (o->len > ((size_t)1 << 30))
        return fl_res_fail(res, FL_ETOOBIG, "write_atomic data is larger than 1 GiB", NULL, 0);
    int rc = fl_confine_locate(&b->confine, o->path, &loc);
    if (rc)
        return confine_fail(res, rc, o->path);
    rc = atomic_replace(b, &loc, o->data ? o->data : "", o->len,
                        -1, o->mode ? (mode_t)o->mode : 0644, res);
    fl_loc_close(&loc);
    return rc;
}

/* ---- backup ------------------------------------------------------------- */

/* 1 when fds a and b (both at offset 0) have identical content. */
static int same_content(int a, int b)
{
    char x[16384], y[16384];
    for (;;) {
        ssize_t m = fl_io_read_full(a, x, sizeof x), n = fl_io_read_full(b, y, sizeof y);
        if (m < 0 || m != n || memcmp(x, y, (size_t)m) != 0)
            return 0;
        if (m == 0)
            return 1;
    }
}

static int backup_is_current(fl_loc *dst, int src, const struct stat *sst)
{
    struct stat dst_st;
    if (fstatat(dst->dirfd, dst->name, &dst_st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(dst_st.st_mode) || dst_st.st_size != sst->st_size)
        return 0;
    int fd = openat(dst->dirfd, dst->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int same = same_content(src, fd);
    close(fd);
    lseek(src, 0, SEEK_SET);
    return same;
}

int fl_storage_backup(fl_bindings_t *b, const fl_backup_options_t *o, fl_storage_result_t *res)
{
    fl_storage_result_t scratch;
    fl_loc src = {.dirfd = -1}, dst = {.dirfd = -1};
    char dest[1100];
    struct stat st;
    int fd = -1, rc;

    res = res_or(res, &scratch);
    fl_res_init(res);
    if (!b || !o || !o->path)
        return fl_res_fail(res, FL_EINVAL, "backup needs path", NULL, 0);
    snprintf(dest, sizeof dest, "%s%s", o->dest ? o->dest : o->path, o->dest ? "" : ".bak");
    if ((rc = fl_confine_locate(&b->confine, o->path, &src)) != 0 ||
        (rc = fl_confine_locate(&b->confine, dest, &dst)) != 0) {
        confine_fail(res, rc, src.root ? dest : o->path);
        goto cleanup;
    }
    fd = openat(src.dirfd, src.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fl_res_fail(res, fd < 0 ? fl_io_status(errno) : FL_EINVAL,
                         "not a readable regular file:", src.rel, fd < 0 ? errno : 0);
        goto cleanup;
    }
    if (backup_is_current(&dst, fd, &st)) {
        rc = FL_OK;
        goto cleanup;
    }
    rc = atomic_replace(b, &dst, NULL, 0, fd, st.st_mode & 07777, res);
cleanup:
    if (fd >= 0)
        close(fd);
    fl_loc_close(&src);
    fl_loc_close(&dst);
    res->status = rc;
    return rc;
}

/* ---- rotate ------------------------------------------------------------- */

/* Move NAME.i(.zst) to NAME.(i+1)(.zst) for i = keep-1 .. 1; drop NAME.keep. */
static int shift_numbered(fl_bindings_t *b, fl_loc *loc, uint32_t keep, fl_storage_result_t *res)
{
    char from[300], to[300];
    for (int z = 0; z < 2; z++) {
        const char *sfx = z ? ".zst" : "";
        struct stat st;
        snprintf(to, sizeof to, "%s.%u%s", loc->name, keep, sfx);
        if (fstatat(loc->dirfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            fl_io_unlinkat(&b->io, loc->dirfd, to, to) == 0)
            res->bytes_freed += (uint64_t)st.st_size;
        for (uint32_t i = keep - 1; i >= 1; i--) {
            snprintf(from, sizeof from, "%s.%u%s", loc->name, i, sfx);
            snprintf(to, sizeof to, "%s.%u%s", loc->name, i + 1, sfx);
            if (fl_io_renameat(&b->io, loc->dirfd, from, to, from) != 0 && errno != ENOENT)
                return fl_res_fail(res, fl_io_status(errno), "cannot rotate", from, errno);
        }
    }
    return FL_OK;
}

int fl_storage_rotate(fl_bindings_t *b, const fl_rotate_options_t *o, fl_storage_result_t *res)
{
    fl_storage_result_t scratch;
    fl_loc loc = {.dirfd = -1};
    char first[300];
    struct stat st;
    int rc;

    res = res_or(res, &scratch);
    fl_res_init(res);
    if (!b || !o || !o->path || o->keep > 1000)
        return fl_res_fail(res, FL_EINVAL, "rotate needs path (keep <= 1000)", NULL, 0);
    uint32_t keep = o->keep ? o->keep : 5;
    if ((rc = fl_confine_locate(&b->confine, o->path, &loc)) != 0)
        return confine_fail(res, rc, o->path);
    if (fstatat(loc.dirfd, loc.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) /* absent: nothing to rotate */
            rc = fl_res_fail(res, fl_io_status(errno), "cannot stat", loc.rel, errno);
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fl_res_fail(res, S_ISLNK(st.st_mode) ? FL_ECONFINED : FL_EINVAL,
                         "not a regular file:", loc.rel, 0);
        goto cleanup;
    }
    if ((uint64_t)st.st_size < (o->min_bytes ? o->min_bytes : 1))
        goto cleanup; /* too small (or already rotated): nothing to do */
    if ((rc = shift_numbered(b, &loc, keep, res)) != 0)
        goto cleanup;
    snprintf(first, sizeof first, "%s.1", loc.name);
    if (fl_io_renameat(&b->io, loc.dirfd, loc.name, first, loc.rel) != 0) {
        rc = fl_res_fail(res, fl_io_status(errno), "cannot rotate", loc.rel, errno);
        goto cleanup;
    }
    res->files++;
    int fd = fl_io_openat(&b->io, loc.dirfd, loc.name, O_WRONLY | O_CREAT | O_EXCL,
                          st.st_mode & 07777, loc.rel);
    if (fd >= 0)
        close(fd);
    fl_io_fsync(&b->io, loc.dirfd, loc.rel);
cleanup:
    fl_loc_close(&loc);
    res->status = rc;
    return rc;
}
