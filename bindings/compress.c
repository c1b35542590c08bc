/*
 * compress.c -- fl_storage_compress: zstd compression of a file (or of the
 * matching files of a directory) into NAME.zst.  The output goes to a
 * temporary, is fsynced, then decompressed again and compared (length and
 * XXH3-64) with what was read from the original; only then is it renamed
 * into place and the original removed.  A file that changes while it is
 * being compressed is skipped.
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
#include <xxhash.h>
#include <zstd.h>

typedef struct zjob {
    fl_bindings_t *b;
    const char *rel;
    uint64_t in_len, out_len, hash;
    char *inbuf, *outbuf;
    size_t incap, outcap;
} zjob;

static int has_zst_suffix(const char *name)
{
    size_t n = strlen(name);
    return n >= 4 && !strcmp(name + n - 4, ".zst");
}

/* Stream src into out through zstd; hash of the input into j->hash. */
static int z_compress(zjob *j, int src, int out, int level)
{
    int rc = FL_EIO;
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    XXH3_state_t *h = XXH3_createState();
    if (!cc || !h || ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1)))
        goto cleanup;
    XXH3_64bits_reset(h);
    for (;;) {
        ssize_t r = fl_io_read_full(src, j->inbuf, j->incap);
        if (r < 0)
            goto cleanup;
        XXH3_64bits_update(h, j->inbuf, (size_t)r);
        j->in_len += (uint64_t)r;
        ZSTD_EndDirective mode = (size_t)r < j->incap ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer in = {j->inbuf, (size_t)r, 0};
        size_t left;
        do {
            ZSTD_outBuffer o = {j->outbuf, j->outcap, 0};
            left = ZSTD_compressStream2(cc, &o, &in, mode);
            if (ZSTD_isError(left) || fl_io_write_all(&j->b->io, out, j->outbuf, o.pos, j->rel))
                goto cleanup;
            j->out_len += o.pos;
        } while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
        if (mode == ZSTD_e_end)
            break;
    }
    j->hash = XXH3_64bits_digest(h);
    rc = FL_OK;
cleanup:
    ZSTD_freeCCtx(cc);
    XXH3_freeState(h);
    return rc;
}

/* Decompress fd and check length and hash against the job.  0 when equal. */
static int z_verify(zjob *j, int fd)
{
    int rc = FL_EIO;
    uint64_t len = 0;
    size_t ret = 1;
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    XXH3_state_t *h = XXH3_createState();
    if (!dc || !h)
        goto cleanup;
    XXH3_64bits_reset(h);
    for (;;) {
        ssize_t r = fl_io_read_full(fd, j->inbuf, j->incap);
        if (r <= 0) {
            if (r == 0 && ret == 0)
                break; /* a complete frame and no more input */
            goto cleanup;
        }
        ZSTD_inBuffer in = {j->inbuf, (size_t)r, 0};
        ZSTD_outBuffer o;
        do { /* until the input is used and the output not full */
            o = (ZSTD_outBuffer){j->outbuf, j->outcap, 0};
            ret = ZSTD_decompressStream(dc, &o, &in);
            if (ZSTD_isError(ret))
                goto cleanup;
            XXH3_64bits_update(h, j->outbuf, o.pos);
            len += o.pos;
        } while (in.pos < in.size || o.pos == o.size);
    }
    rc = (len == j->in_len && XXH3_64bits_digest(h) == j->hash) ? FL_OK : FL_EIO;
cleanup:
    ZSTD_freeDCtx(dc);
    XXH3_freeState(h);
    return rc;
}

/* Compress into a verified temporary; its name goes to tmp. */
static int z_to_temp(zjob *j, int dirfd, const char *zname, int src, int level, char tmp[300],
                     fl_storage_result_t *res)
{
    int out = fl_io_mktemp(&j->b->io, dirfd, zname, 0600, tmp, j->rel);
    if (out < 0)
        return fl_res_fail(res, fl_io_status(errno), "cannot create a temporary for", j->rel,
                           errno);
    int rc = z_compress(j, src, out, level);
    int err = errno;
    if (!rc && fl_io_fsync(&j->b->io, out, j->rel) != 0)
        rc = FL_EIO, err = errno;
    close(out);
    if (rc)
        return fl_res_fail(res, rc, "cannot compress", j->rel, err);
    int in = openat(dirfd, tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    rc = in < 0 ? FL_EIO : z_verify(j, in);
    if (in >= 0)
        close(in);
    return rc ? fl_res_fail(res, rc, "verification failed for", j->rel, 0) : FL_OK;
}

static int unchanged(int fd, const struct stat *before)
{
    struct stat now;
    return fstat(fd, &now) == 0 && now.st_size == before->st_size &&
           now.st_mtim.tv_sec == before->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

/* Rename the verified temporary into place, then remove the original. */
static int z_commit(zjob *j, int dirfd, const char *name, const char *zname, const char *tmp,
                    fl_storage_result_t *res)
{
    if (fl_io_renameat(&j->b->io, dirfd, tmp, zname, j->rel) != 0)
        return fl_res_fail(res, fl_io_status(errno), "cannot rename into", zname, errno);
    fl_io_fsync(&j->b->io, dirfd, j->rel);
    if (fl_io_unlinkat(&j->b->io, dirfd, name, j->rel) != 0 && errno != ENOENT)
        return fl_res_fail(res, fl_io_status(errno), "compressed but cannot remove", j->rel,
                           errno);
    fl_io_fsync(&j->b->io, dirfd, j->rel);
    return FL_OK;
}

int fl_compress_one(fl_bindings_t *b, int dirfd, const char *name, const char *rel, int level,
                    fl_storage_result_t *res)
{
    zjob j = {.b = b, .rel = rel, .incap = ZSTD_CStreamInSize(), .outcap = ZSTD_CStreamOutSize()};
    char zname[300], tmp[300] = "";
    struct stat st;
    int rc = FL_EIO;

    snprintf(zname, sizeof zname, "%.250s.zst", name);
    int src = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (src < 0 || fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fl_res_fail(res, src < 0 ? fl_io_status(errno) : FL_EINVAL,
                         "not a readable regular file:", rel, src < 0 ? errno : 0);
        goto cleanup;
    }
    if (j.outcap < ZSTD_DStreamOutSize())
        j.outcap = ZSTD_DStreamOutSize();
    j.inbuf = malloc(j.incap);
    j.outbuf = malloc(j.outcap);
    if (!j.inbuf || !j.outbuf) {
        rc = fl_res_fail(res, FL_ENOMEM, "out of memory compressing", rel, 0);
        goto cleanup;
    }
    if ((rc = z_to_temp(&j, dirfd, zname, src, level, tmp, res)) != 0)
        goto cleanup;
    if (!unchanged(src, &st)) {
        res->skipped++; /* being written to: leave it */
        goto cleanup;
    }
    if ((rc = z_commit(&j, dirfd, name, zname, tmp, res)) != 0)
        goto cleanup;
    tmp[0] = '\0';
    res->files++;
    res->bytes_written += j.out_len;
    res->bytes_freed += j.in_len > j.out_len ? j.in_len - j.out_len : 0;
cleanup:
    if (tmp[0])
        unlinkat(dirfd, tmp, 0);
    if (src >= 0)
        close(src);
    free(j.inbuf);
    free(j.outbuf);
    return rc;
}

/* Compress the matching files of an open directory. */
static int compress_dir(fl_bindings_t *b, const fl_compress_options_t *o, int dfd, int level,
                        fl_storage_result_t *res)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return fl_res_fail(res, FL_EIO, "cannot read directory", o->path, errno);
    }
    const char *pat = o->pattern && *o->pattern ? o->pattern : "*";
    uint32_t max = o->max_files ? o->max_files : 1000;
    int64_t now = (int64_t)time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && res->files < max) {
        struct stat st;
        if (e->d_name[0] == '.' || has_zst_suffix(e->d_name) ||
            fnmatch(pat, e->d_name, FNM_PERIOD) != 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            (o->older_than_s > 0 && now - (int64_t)st.st_mtim.tv_sec <= o->older_than_s)) {
            res->skipped++;
            continue;
        }
        if (o->dry_run)
            res->files++;
        else
            fl_compress_one(b, dirfd(d), e->d_name, e->d_name, level, res);
    }
    closedir(d);
    return res->status;
}

int fl_storage_compress(fl_bindings_t *b, const fl_compress_options_t *o,
                        fl_storage_result_t *res)
{
    fl_storage_result_t scratch;
    fl_loc loc = {.dirfd = -1};
    struct stat st;
    int rc;

    res = res ? res : &scratch;
    fl_res_init(res);
    int level = o && o->level ? o->level : 3;
    if (!b || !o || !o->path || level < 1 || level > 19)
        return fl_res_fail(res, FL_EINVAL, "compress needs path (level 1..19)", NULL, 0);
    res->dry_run = o->dry_run != 0;
    if ((rc = fl_confine_locate(&b->confine, o->path, &loc)) != 0)
        return fl_res_fail(res, rc, rc == FL_ECONFINED ? "refused: outside the storage roots:"
                                                       : "cannot open:", o->path, 0);
    if (fstatat(loc.dirfd, loc.name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        char zname[300];
        snprintf(zname, sizeof zname, "%.250s.zst", loc.name);
        /* Gone but compressed already: done before, nothing to do. */
        if (errno != ENOENT || fstatat(loc.dirfd, zname, &st, AT_SYMLINK_NOFOLLOW) != 0)
            rc = fl_res_fail(res, fl_io_status(errno), "cannot open", loc.rel, errno);
    } else if (S_ISDIR(st.st_mode)) {
        int dfd = openat(loc.dirfd, loc.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        rc = dfd < 0 ? fl_res_fail(res, fl_io_status(errno), "cannot open", loc.rel, errno)
                     : compress_dir(b, o, dfd, level, res);
    } else if (!S_ISREG(st.st_mode)) {
        rc = fl_res_fail(res, S_ISLNK(st.st_mode) ? FL_ECONFINED : FL_EINVAL,
                         "not a regular file:", loc.rel, 0);
    } else if (!has_zst_suffix(loc.name)) {
        if (o->dry_run)
            res->files++;
        else
            rc = fl_compress_one(b, loc.dirfd, loc.name, loc.rel, level, res);
    }
    fl_loc_close(&loc);
    res->status = rc;
    return rc;
}
