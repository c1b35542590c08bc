/*
 * bindtest.h -- helpers shared by the bindings tests (tests/bindings/):
 * scratch directories, small file writers, recursive removal.
 * Header-only (static functions); include after the cmocka headers.
 */
#ifndef FL_BINDTEST_H
#define FL_BINDTEST_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static inline char *bt_mkdtemp(void)
{
    char tmpl[] = "/tmp/fl-bind-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

/* Remove a directory tree (no symlinks followed). */
static inline void bt_rmrf(const char *dir)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char p[2048];
        struct stat st;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
            continue;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            bt_rmrf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Write `len` bytes of byte `c` to dir/name; mtime `age_s` seconds ago. */
static inline int bt_write(const char *dir, const char *name, size_t len, int c, int age_s)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    for (size_t i = 0; i < len; i++)
        fputc(c, f);
    if (fclose(f) != 0)
        return -1;
    if (age_s > 0) {
        struct timeval tv[2];
        gettimeofday(&tv[0], NULL);
        tv[0].tv_sec -= age_s;
        tv[1] = tv[0];
        return utimes(p, tv);
    }
    return 0;
}

static inline int bt_exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0;
}

static inline long bt_size(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return lstat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Read a whole small file into a malloc'd NUL-terminated buffer. */
static inline char *bt_read(const char *dir, const char *name, size_t *len)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

/* Number of leftover temporaries (".NAME.XXXXXXXX.tmp") in dir. */
static inline int bt_count_temps(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' && l > 4 && !strcmp(e->d_name + l - 4, ".tmp"))
            n++;
    }
    closedir(d);
    return n;
}

#endif /* FL_BINDTEST_H */
