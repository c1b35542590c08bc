/*
 * versions.c -- policy versions on disk, for operators: every version a
 * long-running `faultline eval --watch` publishes is archived under
 * DIR/.versions/<id>/ (its .lua files and a meta.json), `faultline versions`
 * lists them, and `faultline rollback ID` puts one back in place, file by
 * file with write-to-temporary-then-rename, so a running watcher reloads it
 * like any other change.  Archives and rollbacks are written from the bytes
 * an engine loaded and hashed (fl_engine_export), never copied from DIR, and
 * each is hashed again before it counts: an archive holds what it names.  The engine's own in-memory history (fl_engine_
 * versions / fl_engine_rollback) serves embedding hosts; this serves shells.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Remove dir and the plain files in it (an archive is flat). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char p[4400];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    char buf[8192];
    size_t n;
    int rc = a && b ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, n, b) != n) rc = -1;
    if (a && ferror(a)) rc = -1;
    if (a) fclose(a);
    if (b && fclose(b) != 0) rc = -1;
    return rc;
}

/* A signed directory's manifest and signature (faultline sign) go with the
 * version into `to` -- the archive, or back into DIR on rollback -- but only
 * while they still describe the .lua bytes there: a manifest that no longer
 * matches is left behind (the copy would be refused by a trusted engine
 * anyway).  Nothing to do for an unsigned directory. */
static void keep_signature(const char *from, const char *to, int check)
{
    static const char *const files[] = {"manifest.json", "manifest.sig"};
    char a[4400], b[4400];
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", from, files[i]);
        if (access(a, R_OK) != 0) return;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", from, files[i]);
        snprintf(b, sizeof b, "%s/%s", to, files[i]);
        if (copy_file(a, b) != 0) break;
    }
    if (!check) return;
    fl_diag_t d;
    if (fl_bundle_verify(to, NULL, &d) == FL_OK) return;
    fprintf(stderr, "faultline: the signature in %s does not match the version's files (%s): not kept\n", from,
            d.message);
    for (int i = 0; i < 2; i++) {
        snprintf(b, sizeof b, "%s/%s", to, files[i]);
        unlink(b);
    }
}

/* 1 if the archive at path holds the version named id (its content hashes
 * to id), else 0 with the reason in why. */
static int archive_holds(const char *path, const char *id, char *why, size_t n)
{
    char got[17];
    fl_diag_t diag;
    if (fl_policy_dir_id(path, got, &diag) != FL_OK) {
        snprintf(why, n, "%s", diag.message);
        return 0;
    }
    if (strcmp(got, id) != 0) {
        snprintf(why, n, "its files hash to %s", got);
        return 0;
    }
    return 1;
}

int cli_archive_version(fl_engine_t *e, const char *dir, const fl_version_info_t *vi)
{
    char base[4200], final[4300], tmp[4300], why[1000];
    snprintf(base, sizeof base, "%s/.versions", dir);
    snprintf(final, sizeof final, "%s/%s", base, vi->id);
    struct stat st;
    if (stat(final, &st) == 0) {
        if (archive_holds(final, vi->id, why, sizeof why)) return 0; /* ids are content hashes */
        fprintf(stderr, "faultline: archive %s does not hold its version (%s): rewriting it\n", final, why);
        remove_flat_dir(final);
    }
    if (mkdir(base, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "faultline: cannot archive version %s: %s: %s\n", vi->id, base, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", base, vi->id);
    remove_flat_dir(tmp); /* a leftover of an interrupted archive */
    fl_diag_t diag;
    if (fl_engine_export(e, vi->id, tmp, &diag) != FL_OK) {
        char buf[1200];
        fprintf(stderr, "faultline: cannot archive version %s: %s\n", vi->id, fl_diag_format(&diag, buf, sizeof buf));
        remove_flat_dir(tmp);
        return -1;
    }
    keep_signature(dir, tmp, 1);
    json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:i}", "id", vi->id, "name", vi->name, "version", vi->version,
                             "loaded_at_ms", (json_int_t)vi->loaded_at_ms, "rules", (int)vi->rules);
    char mp[4700];
    snprintf(mp, sizeof mp, "%s/meta.json", tmp);
    int rc = meta && json_dump_file(meta, mp, JSON_INDENT(2)) == 0 ? 0 : -1;
    json_decref(meta);
    if (rc == 0 && rename(tmp, final) != 0) rc = -1;
    if (rc != 0) {
        fprintf(stderr, "faultline: cannot archive version %s under %s\n", vi->id, base);
        remove_flat_dir(tmp);
    }
    return rc;
}

int cli_versions(int argc, char **argv)
{
    static const char help[] = "usage: faultline versions [-p DIR]\n\n"
                               "Lists the policy versions archived under DIR/.versions (newest first): every\n"
                               "version `faultline eval --watch` has served.  The one whose files are in\n"
                               "DIR now is marked with '*'.\n";
    const char *dir = NULL;
    int prc = cli_parse_dir_opt(argc, argv, &dir, help);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    char base[4200];
    snprintf(base, sizeof base, "%s/.versions", dir);
    DIR *d = opendir(base);
    if (!d) {
        printf("no archived versions in %s (they are recorded by `faultline eval --watch`)\n", base);
        return FL_EXIT_OK;
    }
    json_t *all = json_array();
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char mp[4700];
        snprintf(mp, sizeof mp, "%s/%s/meta.json", base, de->d_name);
        json_t *m = json_load_file(mp, 0, NULL);
        if (m) json_array_append_new(all, m);
    }
    closedir(d);
    /* Newest first: simple selection by loaded_at_ms. */
    /* The version whose files are in DIR now: by content id, without running it. */
    char cur[17] = "";
    fl_diag_t diag;
    fl_policy_dir_id(dir, cur, &diag);
    while (json_array_size(all)) {
        size_t best = 0;
        for (size_t i = 1; i < json_array_size(all); i++)
            if (json_integer_value(json_object_get(json_array_get(all, i), "loaded_at_ms")) >
                json_integer_value(json_object_get(json_array_get(all, best), "loaded_at_ms")))
                best = i;
        json_t *m = json_array_get(all, best);
        time_t t = (time_t)(json_integer_value(json_object_get(m, "loaded_at_ms")) / 1000);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&t));
        const char *id = json_string_value(json_object_get(m, "id"));
        printf("%c %s  %s UTC  %s %s  %lld rules\n", cur[0] && id && strcmp(cur, id) == 0 ? '*' : ' ', id, when,
               json_string_value(json_object_get(m, "name")), json_string_value(json_object_get(m, "version")),
               (long long)json_integer_value(json_object_get(m, "rules")));
        json_array_remove(all, best);
    }
    json_decref(all);
    return FL_EXIT_OK;
}

int cli_rollback(int argc, char **argv)
{
    static const char help[] = "usage: faultline rollback [-p DIR] ID\n\n"
                               "Puts the archived version ID (or a unique prefix of it, see `faultline\n"
                               "versions`) back into DIR.  The version is validated first; a running\n"
                               "`faultline eval --watch` on DIR reloads it within its debounce time.\n";
    const char *dir = NULL;
    int prc = cli_parse_dir_opt(argc, argv, &dir, help);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    if (optind != argc - 1) return fputs(help, stderr), FL_EXIT_USAGE;
    const char *want = argv[optind];
    char base[4200], arch[4500] = "";
    snprintf(base, sizeof base, "%s/.versions", dir);
    DIR *d = opendir(base);
    int matches = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && strncmp(de->d_name, want, strlen(want)) == 0) {
            matches++;
            snprintf(arch, sizeof arch, "%s/%s", base, de->d_name);
        }
    if (d) closedir(d);
    if (matches != 1 || strlen(want) < 4) {
        fprintf(stderr, "faultline rollback: %s version '%s' in %s\n", matches > 1 ? "ambiguous" : "no archived", want, base);
        return FL_EXIT_BAD_INPUT;
    }
    /* The archive must hold what it names, validate, and be written back
     * from the very bytes that were hashed and validated. */
    const char *id = strrchr(arch, '/') + 1;
    char why[1000], buf[1200];
    if (!archive_holds(arch, id, why, sizeof why)) {
        fprintf(stderr, "faultline rollback: archive %s does not hold version %s: %s\n", arch, id, why);
        return FL_EXIT_BAD_INPUT;
    }
    fl_engine_t *e = NULL;
    fl_diag_t diag;
    fl_version_info_t vi = {0};
    int ok = fl_engine_new(NULL, &e) == FL_OK && fl_engine_load(e, arch, &diag) == FL_OK &&
             fl_engine_current(e, &vi) == FL_OK;
    if (!ok) {
        fprintf(stderr, "faultline rollback: archived version does not validate: %s\n", fl_diag_format(&diag, buf, sizeof buf));
        fl_engine_free(e);
        return FL_EXIT_BAD_INPUT;
    }
    if (strcmp(vi.id, id) != 0) { /* the archive changed between the check and the load */
        fprintf(stderr, "faultline rollback: archive %s changed while being read (now %s)\n", arch, vi.id);
        fl_engine_free(e);
        return FL_EXIT_BAD_INPUT;
    }
    /* The signature first: a watching engine reloads on the .lua files, and a
     * trusted one must then find the manifest that signs them. */
    char msig[4400];
    snprintf(msig, sizeof msig, "%s/manifest.sig", arch);
    if (access(msig, R_OK) == 0) keep_signature(arch, dir, 0); /* checked when archived */
    int rc = fl_engine_export(e, id, dir, &diag);
    fl_engine_free(e);
    if (rc != FL_OK) {
        fprintf(stderr, "faultline rollback: cannot put version %s into %s: %s\n", id, dir, fl_diag_format(&diag, buf, sizeof buf));
        return FL_EXIT_IO;
    }
    printf("rolled back %s to %s\n", dir, strrchr(arch, '/') + 1);
    return FL_EXIT_OK;
}
