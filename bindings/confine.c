/*
 * confine.c -- confinement of storage paths to the configured roots.
 *
 * A path is first checked lexically (no `..` component, inside a root by
 * whole components), then its parent directory is opened *relative to the
 * root's directory descriptor*: with openat2(RESOLVE_BENEATH) where the
 * kernel has it (symlinks are followed only while they stay beneath the
 * root; the kernel refuses escapes with EXDEV), otherwise by a walk of
 * openat(O_NOFOLLOW) calls that refuses every symlink.  Callers then act on
 * (directory fd, last component) with *at() calls that never follow the
 * last component, so a path cannot be redirected between check and use.
 */
#include "bindings.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FL_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_CLOEXEC)

static int sys_openat2(int dirfd, const char *path, int flags)
{
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
#else
    (void)dirfd, (void)path, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

int fl_confine_init(fl_confine *c, const char *const *roots, size_t count)
{
    memset(c, 0, sizeof *c);
    if (!count)
        return FL_OK;
    c->roots = calloc(count, sizeof *c->roots);
    if (!c->roots)
        return FL_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        char *rp = roots[i] ? realpath(roots[i], NULL) : NULL;
        int fd = rp ? open(rp, FL_DIR_FLAGS) : -1;
        if (fd < 0) {
            free(rp);
            fl_confine_fini(c);
            return FL_ENOENT;
        }
        c->roots[c->count].path = rp;
        c->roots[c->count].len = strlen(rp);
        c->roots[c->count].fd = fd;
        c->count++;
    }
    /* Probe openat2 once: old kernels and some seccomp filters lack it. */
    int fd = sys_openat2(c->roots[0].fd, ".", FL_DIR_FLAGS);
    if (fd >= 0)
        close(fd);
    else
        c->no_openat2 = 1;
    return FL_OK;
}

void fl_confine_fini(fl_confine *c)
{
    for (size_t i = 0; i < c->count; i++) {
        free(c->roots[i].path);
        close(c->roots[i].fd);
    }
    free(c->roots);
    memset(c, 0, sizeof *c);
}

void fl_loc_close(fl_loc *loc)
{
    if (loc->dirfd >= 0)
        close(loc->dirfd);
    loc->dirfd = -1;
}

/* Normalise `in` into `out`: drop empty and "." components, refuse "..".
 * Keeps a leading '/'.  0, FL_ECONFINED or FL_EINVAL (too long). */
static int lexical_clean(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = in;
    if (*p == '/')
        out[o++] = '/';
    while (*p) {
        while (*p == '/')
            p++;
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || (n == 1 && s[0] == '.'))
            continue;
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return FL_ECONFINED;
        if (o + n + 2 >= cap)
            return FL_EINVAL;
        if (o && out[o - 1] != '/')
            out[o++] = '/';
        memcpy(out + o, s, n);
        o += n;
    }
    out[o] = '\0';
    return FL_OK;
}

/* The root containing absolute clean path `p` (longest match); *rel points
 * into p after the root ("" for the root itself). */
static const fl_root *match_root(const fl_confine *c, const char *p, const char **rel)
{
    const fl_root *best = NULL;
    for (size_t i = 0; i < c->count; i++) {
        const fl_root *r = &c->roots[i];
        size_t n = r->len;
        if (n == 1) { /* the root "/" */
            if (!best) {
                best = r;
                *rel = p + 1;
            }
            continue;
        }
        if (strncmp(p, r->path, n) != 0 || (p[n] != '\0' && p[n] != '/'))
            continue;
        if (!best || n > best->len) {
            best = r;
            *rel = p[n] ? p + n + 1 : p + n;
        }
    }
    return best;
}

/* Canonicalise the parent of absolute `clean` with realpath (the path may
 * reach a root through a symlink above it), writing into buf. */
static int canon_parent(const char *clean, char *buf, size_t cap)
{
    char parent[1024], rp[PATH_MAX];
    const char *slash = strrchr(clean, '/');
    size_t n = (size_t)(slash - clean);
    memcpy(parent, clean, n ? n : 1);
    parent[n ? n : 1] = '\0';
    if (!realpath(parent, rp))
        return FL_ECONFINED; /* not lexically in a root, and no way to get there */
    int w = snprintf(buf, cap, "%s/%s", strcmp(rp, "/") ? rp : "", slash + 1);
    return (w < 0 || (size_t)w >= cap) ? FL_EINVAL : FL_OK;
}

static int errno_to_confine_status(int err)
{
    switch (err) {
    case EXDEV:
    case ELOOP:
        return FL_ECONFINED;
    case ENOENT:
    case ENOTDIR:
        return FL_ENOENT;
    case ENOMEM:
        return FL_ENOMEM;
    default:
        return FL_EIO;
    }
}

/* Open directory `rel` (clean, relative; "" = the root) beneath root fd. */
static int open_beneath(const fl_confine *c, int rootfd, const char *rel, int *out)
{
    if (!c->no_openat2) {
        int fd = sys_openat2(rootfd, *rel ? rel : ".", FL_DIR_FLAGS);
        if (fd < 0)
            return errno_to_confine_status(errno);
        *out = fd;
        return FL_OK;
    }
    int cur = openat(rootfd, ".", FL_DIR_FLAGS);
    if (cur < 0)
        return errno_to_confine_status(errno);
    const char *p = rel;
    while (*p) {
        char comp[256];
        const char *s = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (*p == '/')
            p++;
        if (n >= sizeof comp) {
            close(cur);
            return FL_EINVAL;
        }
        memcpy(comp, s, n);
        comp[n] = '\0';
        int next = openat(cur, comp, FL_DIR_FLAGS | O_NOFOLLOW);
        int err = errno;
        close(cur);
        if (next < 0)
            return errno_to_confine_status(err == ENOTDIR ? ELOOP : err);
        cur = next;
    }
    *out = cur;
    return FL_OK;
}

/* Split clean relative path into the parent part (in buf) and the name. */
static int split_rel(const char *rel, char *parent, size_t cap, fl_loc *loc)
{
    const char *slash = strrchr(rel, '/');
    const char *name = slash ? slash + 1 : rel;
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    if (strlen(name) >= sizeof loc->name || plen >= cap || strlen(rel) >= sizeof loc->rel)
        return FL_EINVAL;
    memcpy(parent, rel, plen);
    parent[plen] = '\0';
    strcpy(loc->name, *name ? name : ".");
    strcpy(loc->rel, *rel ? rel : ".");
    return FL_OK;
}

int fl_confine_locate(const fl_confine *c, const char *path, fl_loc *loc)
{
    char clean[1024], canon[1100], parent[1024];
    const char *rel = NULL;
    const fl_root *root = NULL;
    int rc;

    loc->dirfd = -1;
    loc->root = NULL;
    if (!path || !*path || strlen(path) >= sizeof clean)
        return FL_EINVAL;
    if (!c->count)
        return FL_ECONFINED;
    rc = lexical_clean(path, clean, sizeof clean);
    if (rc)
        return rc;
    if (clean[0] != '/') {
        root = &c->roots[0];
        rel = clean;
    } else if (!(root = match_root(c, clean, &rel))) {
        if (!strcmp(clean, "/"))
            return FL_ECONFINED;
        rc = canon_parent(clean, canon, sizeof canon);
        if (rc)
            return rc;
        if (!(root = match_root(c, canon, &rel)))
            return FL_ECONFINED;
    }
    rc = split_rel(rel, parent, sizeof parent, loc);
    if (rc)
        return rc;
    rc = open_beneath(c, root->fd, parent, &loc->dirfd);
    if (rc)
        return rc;
    loc->root = root;
    return FL_OK;
}

int fl_confine_opendir(const fl_confine *c, const char *path, int *fd, fl_loc *loc)
{
    int rc = fl_confine_locate(c, path, loc);
    if (rc)
        return rc;
    *fd = openat(loc->dirfd, loc->name, FL_DIR_FLAGS | O_NOFOLLOW);
    if (*fd < 0) {
        rc = errno_to_confine_status(errno == ENOTDIR ? ELOOP : errno);
        struct stat st;
        /* A regular file is not an escape: say it is not a directory. */
        if (fstatat(loc->dirfd, loc->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode))
            rc = FL_EINVAL;
        fl_loc_close(loc);
    }
    return rc;
}
