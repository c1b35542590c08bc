/*
 * fsio.c -- the storage layer's system calls, each preceded by the
 * fault-injection hook (fl_bindings_options_t.io_fault) so tests can make a
 * write fail with ENOSPC, EACCES or EROFS where they cannot arrange it for
 * real.  Everything retries EINTR and short writes.
 */
#include "bindings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

int fl_io_check(const fl_fsio *io, fl_io_op op, const char *rel)
{
    if (!io->fault)
        return 0;
    int err = io->fault(io->ud, op, rel ? rel : "");
    if (err > 0) {
        errno = err;
        return -1;
    }
    return 0;
}

int fl_io_openat(const fl_fsio *io, int dirfd, const char *name, int flags, mode_t mode,
                 const char *rel)
{
    if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) && fl_io_check(io, FL_IO_OPEN_WRITE, rel))
        return -1;
    int fd;
    do
        fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

int fl_io_write_all(const fl_fsio *io, int fd, const void *buf, size_t len, const char *rel)
{
    const char *p = buf;
    if (fl_io_check(io, FL_IO_WRITE, rel))
        return -1;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fl_io_fsync(const fl_fsio *io, int fd, const char *rel)
{
    if (fl_io_check(io, FL_IO_FSYNC, rel))
        return -1;
    int r;
    do
        r = fsync(fd);
    while (r < 0 && errno == EINTR);
    /* Objects that cannot be synchronised (some file systems' directories)
     * give EINVAL: nothing to make durable, not a failure. */
    if (r < 0 && errno == EINVAL)
        return 0;
    return r;
}

int fl_io_renameat(const fl_fsio *io, int dirfd, const char *from, const char *to,
                   const char *rel)
{
    if (fl_io_check(io, FL_IO_RENAME, rel))
        return -1;
    return renameat(dirfd, from, dirfd, to);
}

int fl_io_unlinkat(const fl_fsio *io, int dirfd, const char *name, const char *rel)
{
    if (fl_io_check(io, FL_IO_UNLINK, rel))
        return -1;
    return unlinkat(dirfd, name, 0);
}

ssize_t fl_io_read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int fl_io_status(int err)
{
    switch (err) {
    case ENOENT:
        return FL_ENOENT;
    case ELOOP:
    case EXDEV:
        return FL_ECONFINED;
    case ENOMEM:
        return FL_ENOMEM;
    default:
        return FL_EIO;
    }
}

int fl_io_mktemp(const fl_fsio *io, int dirfd, const char *name, mode_t mode,
                 char tmpname[300], const char *rel)
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned char rnd[4];
        if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
            memcpy(rnd, &tries, sizeof rnd);
        snprintf(tmpname, 300, ".%.200s.%02x%02x%02x%02x.tmp", name, rnd[0], rnd[1], rnd[2],
                 rnd[3]);
        int fd = fl_io_openat(io, dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL, mode, rel);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}
