/*
 * check.c -- `faultline check` (validate a policy directory and run its
 * examples) and `faultline test` (run JSON Lines test files against it).
 * Errors are printed as file:line:col: message so editors can jump to them.
 */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core.h"
#include "loading.h"


static int load(fl_engine_t **e, const char *dir, const char *cmd)
{
    fl_diag_t diag;
    char buf[1200];
    unsigned char key[FL_KEY_PUBLIC_BYTES];
    int bad_key;
    fl_engine_options_t o = {.trusted_key = cli_trusted_key(NULL, key, &bad_key)};
    if (bad_key) return FL_EXIT_USAGE;
    if (fl_engine_new(&o, e) != FL_OK) return fprintf(stderr, "faultline %s: out of memory\n", cmd), FL_EXIT_IO;
    int rc = fl_engine_load(*e, dir, &diag);
    if (rc == FL_OK) return FL_EXIT_OK;
    fprintf(stderr, "%s\n", fl_diag_format(&diag, buf, sizeof buf));
    return FL_PRIMARY(rc) == FL_EPOLICY || rc == FL_EEXAMPLE ? FL_EXIT_BAD_INPUT : FL_EXIT_POLICY;
}

int cli_check(int argc, char **argv)
{
    static const char help[] = "usage: faultline check [-p DIR]\n\n"
                               "Loads the policy directory, compiles every rule and pattern, and runs the\n"
                               "policy's examples.  Prints file:line:col: message for the first problem.\n"
                               "Exit status 0 when valid, 1 when not, 3 when the directory cannot be read.\n";
    const char *dir = NULL;
    int prc = cli_parse_dir_opt(argc, argv, &dir, help);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    fl_engine_t *e = NULL;
    int rc = load(&e, dir, "check");
    if (rc == FL_EXIT_OK) {
        fl_version_info_t vi;
        fl_engine_current(e, &vi);
        printf("%s: ok: policy %s %s (id %s), %u rules, %u examples passed\n", dir, vi.name, vi.version, vi.id,
               vi.rules, vi.examples);
    }
    fl_engine_free(e);
    return rc;
}

/* ---- test ---------------------------------------------------------------- */

struct tally {
    int passed, failed;
};

static void run_case(fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d, json_t *tc, const char *where,
                     struct tally *t)
{
    const char *name = json_string_value(json_object_get(tc, "name"));
    json_t *event = json_object_get(tc, "event"), *expect = json_object_get(tc, "expect");
    char why[1024] = "";
    fl_diag_t diag;
    if (!json_is_object(event) || !json_is_object(expect)) {
        snprintf(why, sizeof why, "a test case needs \"event\" and \"expect\" objects");
    } else if (fl_event_from_jvalue(ev, event, 0, &diag) != FL_OK) {
        snprintf(why, sizeof why, "bad event: %s", diag.message);
    } else {
        fl_decide(ctx, ev, json_string_value(json_object_get(tc, "locale")), 0, d);
        fl_expect_check(d, expect, why, sizeof why);
    }
    fl_event_reset(ev);
    if (why[0]) {
        t->failed++;
        printf("FAIL %s %s: %s\n", where, name ? name : "", why);
    } else {
        t->passed++;
    }
}

static int test_file(fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d, const char *path, struct tally *t)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fprintf(stderr, "faultline test: cannot open %s\n", path), FL_EXIT_IO;
    cli_reader r;
    cli_reader_init(&r, f, 1u << 20);
    int rc;
    while ((rc = cli_read_line(&r)) == 1) {
        if (r.len == 0 || r.buf[0] == '#') continue;
        char where[600];
        snprintf(where, sizeof where, "%s:%zu", path, r.lineno);
        json_error_t err;
        json_t *tc = r.overlong ? NULL : json_loadb(r.buf, r.len, 0, &err);
        if (!tc) {
            t->failed++;
            printf("FAIL %s: not a JSON test case: %s\n", where, r.overlong ? "line too long" : err.text);
            continue;
        }
        run_case(ctx, ev, d, tc, where, t);
        json_decref(tc);
    }
    cli_reader_free(&r);
    fclose(f);
    return rc < 0 ? FL_EXIT_IO : FL_EXIT_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The .jsonl files of DIR/tests, sorted. */
static int default_files(const char *dir, char ***out, int *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests", dir);
    DIR *d = opendir(path);
    *n = 0;
    *out = NULL;
    if (!d) return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 7 || strcmp(de->d_name + l - 6, ".jsonl") != 0) continue;
        char **v = realloc(*out, (size_t)(*n + 1) * sizeof *v);
        if (!v) break;
        *out = v;
        size_t pl = strlen(path) + l + 2;
        if (!((*out)[*n] = malloc(pl))) break;
        snprintf((*out)[*n], pl, "%s/%s", path, de->d_name);
        (*n)++;
    }
    closedir(d);
    qsort(*out, (size_t)*n, sizeof **out, cmp_str);
    return 0;
}

int cli_test(int argc, char **argv)
{
    static const char help[] = "usage: faultline test [-p DIR] [FILE...]\n\n"
                               "Runs JSON Lines test files against the policy; each line is\n"
                               "{\"name\": ..., \"event\": {...}, \"locale\": \"fr\", \"expect\": {...}}.\n"
                               "Without FILEs, runs DIR/tests/*.jsonl.  Prints each failure and a summary\n"
                               "line \"N passed, M failed\".  Exit status 0 when all pass, 1 otherwise.\n";
    const char *dir = NULL;
    int prc = cli_parse_dir_opt(argc, argv, &dir, help);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    fl_engine_t *e = NULL;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    char **files = NULL;
    int nfiles = 0, owned = 0;
    struct tally t = {0, 0};
    int rc = load(&e, dir, "test");
    if (rc != FL_EXIT_OK) goto cleanup;
    if (fl_ctx_new(e, &ctx) || fl_event_new(&ev) || fl_decision_new(&d)) {
        rc = FL_EXIT_IO;
        goto cleanup;
    }
    if (optind < argc) {
        files = argv + optind;
        nfiles = argc - optind;
    } else {
        default_files(dir, &files, &nfiles);
        owned = 1;
    }
    if (nfiles == 0) fprintf(stderr, "faultline test: no test files (looked in %s/tests/*.jsonl)\n", dir);
    for (int i = 0; i < nfiles && rc == FL_EXIT_OK; i++) rc = test_file(ctx, ev, d, files[i], &t);
    printf("%d passed, %d failed\n", t.passed, t.failed);
    if (rc == FL_EXIT_OK && (t.failed || nfiles == 0)) rc = FL_EXIT_BAD_INPUT;
cleanup:
    if (owned) {
        for (int i = 0; i < nfiles; i++) free(files[i]);
        free(files);
    }
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    return rc;
}
