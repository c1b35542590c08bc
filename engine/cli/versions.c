/*
 * versions.c -- policy versions on disk, for operators: every version a
 * long-running `faultline eval --watch` publishes is archived under
 * DIR/.versions/<id>/ (its .lua files and a meta.json), `faultline versions`
 * lists them, and `faultline rollback ID` puts one back in place, file by
 * file with write-to-temporary-then-rename, so a running watcher reloads it
 * like any other change.  The engine's own in-memory history (fl_engine_
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

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in) return -1;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", to, (long)getpid());
    FILE *out = fopen(tmp, "wb");
    int rc = out ? 0 : -1;
    char buf[65536];
    size_t n;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    if (ferror(in)) rc = -1;
    fclose(in);
    if (out && (fflush(out) != 0 || fsync(fileno(out)) != 0)) rc = -1;
    if (out && fclose(out) != 0) rc = -1;
    if (rc == 0 && rename(tmp, to) != 0) rc = -1;
    if (rc != 0) unlink(tmp);
    return rc;
}

static int is_lua(const char *name)
{
    size_t l = strlen(name);
    return l > 4 && name[0] != '.' && strcmp(name + l - 4, ".lua") == 0;
}

/* Copy every *.lua of `from` into `to` (created). */
static int copy_lua_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    if (!d) return -1;
    mkdir(to, 0755);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        if (!is_lua(de->d_name)) continue;
        char a[4200], b[4200];
        snprintf(a, sizeof a, "%s/%s", from, de->d_name);
        snprintf(b, sizeof b, "%s/%s", to, de->d_name);
        rc = copy_file(a, b);
    }
    closedir(d);
    return rc;
}

int cli_archive_version(const char *dir, const fl_version_info_t *vi)
{
    char base[4200], final[4300], tmp[4300];
    snprintf(base, sizeof base, "%s/.versions", dir);
    snprintf(final, sizeof final, "%s/%s", base, vi->id);
    struct stat st;
    if (stat(final, &st) == 0) return 0; /* already archived: ids are content hashes */
    if (mkdir(base, 0755) != 0 && errno != EEXIST) return -1;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", base, vi->id);
    if (copy_lua_files(dir, tmp) != 0) return -1;
    json_t *meta = json_pack("{s:s, s:s, s:s, s:I, s:i}", "id", vi->id, "name", vi->name, "version", vi->version,
                             "loaded_at_ms", (json_int_t)vi->loaded_at_ms, "rules", (int)vi->rules);
    char mp[4700];
    snprintf(mp, sizeof mp, "%s/meta.json", tmp);
    int rc = meta && json_dump_file(meta, mp, JSON_INDENT(2)) == 0 ? 0 : -1;
    json_decref(meta);
    if (rc == 0 && rename(tmp, final) != 0) rc = -1;
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
    fl_engine_t *e = NULL;
    fl_version_info_t cur = {0};
    fl_diag_t diag;
    if (fl_engine_new(NULL, &e) == FL_OK && fl_engine_check(e, dir, &diag) == FL_OK) {
        fl_engine_load(e, dir, &diag);
        fl_engine_current(e, &cur);
    }
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
        printf("%c %s  %s UTC  %s %s  %lld rules\n", cur.id && id && strcmp(cur.id, id) == 0 ? '*' : ' ', id, when,
               json_string_value(json_object_get(m, "name")), json_string_value(json_object_get(m, "version")),
               (long long)json_integer_value(json_object_get(m, "rules")));
        json_array_remove(all, best);
    }
    json_decref(all);
    fl_engine_free(e);
    return FL_EXIT_OK;
}

/* Remove *.lua files of dir that the archive does not have. */
static void remove_extra(const char *dir, const char *arch)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_lua(de->d_name)) continue;
        char a[4200], p[4200];
        struct stat st;
        snprintf(a, sizeof a, "%s/%s", arch, de->d_name);
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(a, &st) != 0) unlink(p);
    }
    closedir(d);
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
    fl_engine_t *e = NULL;
    fl_diag_t diag;
    char buf[1200];
    int ok = fl_engine_new(NULL, &e) == FL_OK && fl_engine_check(e, arch, &diag) == FL_OK;
    fl_engine_free(e);
    if (!ok) {
        fprintf(stderr, "faultline rollback: archived version does not validate: %s\n", fl_diag_format(&diag, buf, sizeof buf));
        return FL_EXIT_BAD_INPUT;
    }
    if (copy_lua_files(arch, dir) != 0) {
        fprintf(stderr, "faultline rollback: cannot write into %s: %s\n", dir, strerror(errno));
        return FL_EXIT_IO;
    }
    remove_extra(dir, arch);
    printf("rolled back %s to %s\n", dir, strrchr(arch, '/') + 1);
    return FL_EXIT_OK;
}
