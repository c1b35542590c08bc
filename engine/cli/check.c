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
#include <sys/stat.h>

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

/* ---- placeholders that can never be set, or may be empty ------------------ */

static const char *ph_name(const fl_tseg *g, char *buf, size_t n)
{
    static const char *const k[] = {"", "op", "domain", "code", "attempt", "attempts_left", "delay_s", "category"};
    if (g->kind == FL_PH_TAG) snprintf(buf, n, "tags.%s", g->text);
    else if (g->kind == FL_PH_CAPTURE) snprintf(buf, n, "%s", g->text);
    else snprintf(buf, n, "%s", (unsigned)g->kind < sizeof k / sizeof *k ? k[g->kind] : "?");
    return buf;
}

/* Does any rule's pattern have a named group `name`? */
static int captured(const fl_version *v, const char *name)
{
    for (uint32_t i = 0; i < v->nrules; i++)
        for (uint32_t j = 0; j < v->rules[i].nconds; j++) {
            const fl_cond *c = &v->rules[i].conds[j];
            uint32_t cnt = 0, size = 0;
            PCRE2_SPTR tab = NULL;
            if (!c->re || pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &cnt) != 0 || !cnt) continue;
            pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
            pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &tab);
            for (uint32_t k = 0; tab && k < cnt; k++)
                if (strcmp((const char *)tab + k * size + 2, name) == 0) return 1;
        }
    return 0;
}

/*
 * Lint the messages of the policy in dir (already known to load): an error
 * for a placeholder that can never be set ({delay_s} in a message for an
 * outcome that is not a retry; a capture no pattern defines), a warning for
 * one that may render empty (a tag, code, op, domain or capture without a
 * default; {delay_s} in a message also used when there is no retry).
 * Returns the number of errors.
 */
static int lint_messages(const char *dir)
{
    struct stat st;
    fl_engine_options_t o = {0};
    fl_diag_t d;
    int errors = 0;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return 0; /* bundles: checked when built */
    o.max_message_len = 1024;
    fl_version *v = fl_version_new();
    if (!v) return 0;
    if (fl_read_policy_dir(v, dir, &d) != FL_OK || fl_load_sources(v, &o, NULL, &d) != FL_OK ||
        fl_compile(v, &o, &d) != FL_OK) {
        fl_version_unref(v);
        return 0;
    }
    for (uint32_t li = 0; li < v->nlocales; li++) {
        const fl_locale *l = &v->locales[li];
        for (uint32_t m = 0; m < l->nmsgs; m++) {
            const fl_template *t = &l->msgs[m];
            const char *dot = strrchr(t->id, '.');
            const char *outcome = fl_is_outcome_message_id(t->id) ? dot + 1 : NULL;
            for (uint32_t k = 0; k < t->nsegs; k++) {
                const fl_tseg *g = &t->segs[k];
                char nm[160];
                if (g->kind == FL_PH_TEXT) continue;
                if (g->kind == FL_PH_DELAY_S && outcome && strncmp(outcome, "retry", 5) != 0) {
                    fprintf(stderr, "%s:%d: error: messages \"%s\" %s: {delay_s} can never be set: "
                            "there is no delay when the outcome is %s\n", l->file ? l->file : dir, l->line,
                            l->name, t->id, outcome);
                    errors++;
                } else if (g->kind == FL_PH_CAPTURE && !captured(v, g->text)) {
                    fprintf(stderr, "%s:%d: error: messages \"%s\" %s: {%s} can never be set: no rule's "
                            "pattern has a group (?<%s>...)\n", l->file ? l->file : dir, l->line, l->name,
                            t->id, g->text, g->text);
                    errors++;
                } else if (g->kind == FL_PH_DELAY_S && !outcome) {
                    fprintf(stderr, "%s:%d: warning: messages \"%s\" %s: {delay_s} is empty when the action "
                            "is not retry (attempts exhausted, breaker open); put it in \"%s.retry\"\n",
                            l->file ? l->file : dir, l->line, l->name, t->id, t->id);
                } else if (!g->dflt && (g->kind == FL_PH_TAG || g->kind == FL_PH_CODE || g->kind == FL_PH_OP ||
                                        g->kind == FL_PH_DOMAIN || g->kind == FL_PH_CAPTURE)) {
                    fprintf(stderr, "%s:%d: warning: messages \"%s\" %s: {%s} is empty when the event "
                            "has no value for it; give a default: {%s|...}\n", l->file ? l->file : dir,
                            l->line, l->name, t->id, ph_name(g, nm, sizeof nm), nm);
                }
            }
        }
    }
    fl_version_unref(v);
    return errors;
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
    if (rc == FL_EXIT_OK && lint_messages(dir) > 0) {
        fprintf(stderr, "%s: placeholders that can never be set (see above)\n", dir);
        rc = FL_EXIT_BAD_INPUT;
    }
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
