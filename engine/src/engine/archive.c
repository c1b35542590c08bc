/*
 * archive.c -- a kept version's exact sources written to a directory, and
 * the content id of a directory computed as a load would.  An archive (the
 * CLI's DIR/.versions/<id>/) and a rollback are written from the bytes the
 * engine loaded and hashed -- never copied from the policy directory, which
 * may have changed since -- and read back and hashed before they count.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "core.h"
#include "loading.h"
#include "engine_internal.h"

int fl_policy_dir_id(const char *dir, char id[17], fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (id) id[0] = '\0';
    if (!dir || !id) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL directory or id buffer");
    fl_version *v = fl_version_new();
    if (!v) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    int rc = fl_read_policy_dir(v, dir, diag);
    if (rc == FL_OK) {
        fl_version_hash(v);
        memcpy(id, v->id, sizeof v->id);
    }
    fl_version_unref(v);
    return rc;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int write_file(const char *dir, const char *name, const char *text, size_t len, fl_diag_t *diag)
{
    char tmp[PATH_MAX], dst[PATH_MAX];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.export-%ld", dir, name, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return fl_diag_set(diag, FL_EIO, tmp, 0, 0, "cannot create: %s", strerror(errno));
    int ok = fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, dst) == 0) return FL_OK;
    err = errno ? errno : err;
    unlink(tmp);
    return fl_diag_set(diag, FL_EIO, dst, 0, 0, "cannot write: %s", strerror(err));
}

/* Remove the *.lua files of dir that v does not have. */
static void remove_others(const char *dir, const fl_version *v)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || de->d_name[0] == '.' || strcmp(de->d_name + l - 4, ".lua") != 0) continue;
        int keep = 0;
        for (uint32_t i = 0; i < v->nsrcs && !keep; i++) keep = strcmp(base_name(v->src_names[i]), de->d_name) == 0;
        if (keep) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
}

int fl_engine_export(fl_engine_t *e, const char *id, const char *dir, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !id || !dir) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, id or directory");
    fl_version *v = fl_engine_kept(e, id);
    if (!v) return fl_diag_set(diag, FL_ENOENT, NULL, 0, 0, "no kept version has the id '%s'", id);
    int rc = FL_OK;
    for (uint32_t i = 0; i < v->nsrcs && rc == FL_OK; i++) {
        const char *name = base_name(v->src_names[i]);
        size_t l = strlen(name);
        if (l < 5 || name[0] == '.' || strcmp(name + l - 4, ".lua") != 0)
            rc = fl_diag_set(diag, FL_EINVAL, NULL, 0, 0,
                             "version %s has a source named '%s', which a policy directory cannot hold", id, name);
    }
    if (rc == FL_OK && mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = fl_diag_set(diag, FL_EIO, dir, 0, 0, "cannot create: %s", strerror(errno));
    for (uint32_t i = 0; i < v->nsrcs && rc == FL_OK; i++)
        rc = write_file(dir, base_name(v->src_names[i]), v->src_texts[i], v->src_lens[i], diag);
    if (rc == FL_OK) remove_others(dir, v);
    fl_version_unref(v);
    if (rc != FL_OK) return rc;
    /* Read back: what the directory now holds must hash to the id. */
    char got[17];
    fl_diag_t rd;
    rc = fl_policy_dir_id(dir, got, &rd);
    if (rc != FL_OK) return fl_diag_set(diag, FL_EIO, dir, 0, 0, "cannot read back the export: %s", rd.message);
    if (strcmp(got, id) != 0)
        return fl_diag_set(diag, FL_EIO, dir, 0, 0,
                           "written version %s but the directory now hashes to %s (written to concurrently?)", id, got);
    return FL_OK;
}
