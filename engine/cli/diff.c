/*
 * diff.c -- `faultline diff`: the impact of a policy change before it serves.
 * The same events are decided by two versions (OLD, NEW) and every
 * difference in what a host acts on -- category, action, retryability,
 * delay, message id -- is counted, grouped by (old rule -> new rule) with a
 * few example events each.  The exit status gates a CI step: 1 when
 * anything changed beyond what --allow names.
 *
 * Both versions draw each event's jitter from the same per-event seed, so
 * jittered delays compare equal when the recovery did not change.  Events come from FILEs, standard input,
 * or -- with no FILE -- the two policies' own test files and examples.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "engine_internal.h"
#include "impact.h"

static const char k_help[] =
    "usage: faultline diff -p OLD -p NEW [--json] [--allow WHAT]... [--examples N]\n"
    "                      [--locale L] [--max-line BYTES] [FILE...|-]\n"
    "\n"
    "Decides the same events with two policy versions and reports what changes:\n"
    "category, action, retryability, delay and message id, grouped by\n"
    "(old rule -> new rule) with counts and example events.  Events come from the\n"
    "FILEs (JSON Lines; - for standard input) or, with no FILE, from the test files\n"
    "(DIR/tests/*.jsonl) and examples of both policies.\n"
    "\n"
    "  -p, --policy DIR     given twice: OLD then NEW.  OLD may also be a version id\n"
    "                       (>= 4 hex digits) archived in NEW/.versions\n"
    "      --json           one JSON report on standard output\n"
    "      --allow WHAT     changes that do not fail the run: a field (category,\n"
    "                       action, retryable, delay, message_id, rule), or\n"
    "                       rule:NAME (any change of events NEW decides by rule NAME);\n"
    "                       repeatable, or comma-separated\n"
    "      --examples N     example events kept per group (default 3)\n"
    "  -l, --locale L       locale of the decisions compared\n"
    "      --max-line B     longest accepted line in bytes (default 1048576)\n"
    "\n"
    "Exit status: 0 nothing changed beyond --allow; 1 some change is not allowed,\n"
    "or some input lines were malformed; 2 usage; 3 a policy could not be loaded;\n"
    "4 an input file could not be read.\n";

/* Lines of a FILE are decided in batches on DIFF_WORKERS threads (the
 * calling one included), each with its own pair of contexts -- created in
 * the same order on both engines, so each pair's own streams match; the
 * jitter comes from each event's seed (decide_both) -- and counted in input
 * order by the calling thread: the report does not depend on timing. */
#define DIFF_WORKERS 2
#define DIFF_BATCH 4096

struct dline {
    size_t off, len, lineno; /* the line in the batch's text */
    int bad;                 /* the event did not parse: err says why */
    char *err;               /* malloc'd, NULL if even that failed */
    struct fl_impact_summary sum[2];
};

struct dworker {
    fl_ctx_t *ctx[2];
    fl_decision_t *d[2];
    fl_event_t *ev;
    struct diff *df;
    int index;
};

struct diff {
    fl_engine_t *e[2];
    fl_ctx_t *ctx[2];      /* the calling thread's pair (= worker 0's) */
    fl_decision_t *d[2];
    fl_event_t *ev;
    const char *locale;
    size_t max_line, bad;
    struct fl_impact im;   /* the counting, shared with shadow evaluation */
    uint64_t nfixed;       /* events from test files and examples so far */
    struct dworker w[DIFF_WORKERS];
    fl_strbuf text;        /* the batch's lines, NUL-separated */
    struct dline *lines;   /* DIFF_BATCH of them */
    size_t nlines;
};

static const char *nz(const char *s) { return s ? s : ""; }

/* Decide ev with both versions.  Both contexts draw their jitter from the
 * same seed (fl_ctx_set_next_seed), derived from the event's number n: so
 * the delays of an event whose recovery did not change compare equal,
 * whatever the versions did with the events before it (a change that stops
 * one rule's retries must not shift every later event's draw) and
 * whichever thread decides it. */
static void decide_both(fl_ctx_t *const ctx[2], fl_decision_t *const d[2], const fl_event_t *ev,
                        const char *locale, uint64_t n, struct fl_impact_summary sum[2])
{
    for (int k = 0; k < 2; k++) {
        fl_ctx_set_next_seed(ctx[k], 0x5eedull + n * 0x9e3779b97f4a7c15ull);
        fl_decide(ctx[k], ev, locale, FL_DECIDE_NO_ID | FL_DECIDE_NO_FINGERPRINT, d[k]);
        fl__impact_summarize(d[k], &sum[k]);
    }
}

/* Decide the event in df->ev with both versions and record a difference. */
static void diff_event(struct diff *df, const char *where, const char *json, size_t len)
{
    struct fl_impact_summary sum[2];
    decide_both(df->ctx, df->d, df->ev, df->locale, ++df->nfixed, sum);
    fl__impact_add(&df->im, &sum[0], &sum[1], where, json, len);
}

static void diff_json_line(struct diff *df, const char *where, const char *buf, size_t len)
{
    fl_diag_t diag;
    if (fl_event_from_json(df->ev, buf, len, &diag) != FL_OK) {
        df->bad++;
        fprintf(stderr, "faultline diff: %s: %s\n", where, diag.message);
        return;
    }
    diff_event(df, where, buf, len);
}

/* Worker w's share of the batch: every DIFF_WORKERS-th line from w. */
static void *diff_work(void *arg)
{
    struct dworker *w = arg;
    struct diff *df = w->df;
    for (size_t i = (size_t)w->index; i < df->nlines; i += DIFF_WORKERS) {
        struct dline *l = &df->lines[i];
        fl_diag_t diag;
        if (fl_event_from_json(w->ev, df->text.data + l->off, l->len, &diag) != FL_OK) {
            l->bad = 1;
            l->err = strdup(diag.message);
            continue;
        }
        decide_both(w->ctx, w->d, w->ev, df->locale, l->lineno, l->sum);
    }
    return NULL;
}

/* Decide the batch on the workers, then count it in input order. */
static void diff_flush(struct diff *df, const char *name)
{
    pthread_t tid[DIFF_WORKERS];
    int started[DIFF_WORKERS] = {0};
    for (int k = 1; k < DIFF_WORKERS && df->nlines > (size_t)k; k++)
        started[k] = pthread_create(&tid[k], NULL, diff_work, &df->w[k]) == 0;
    diff_work(&df->w[0]);
    for (int k = 1; k < DIFF_WORKERS; k++) {
        if (started[k]) pthread_join(tid[k], NULL);
        else if (df->nlines > (size_t)k) diff_work(&df->w[k]); /* no thread: done here */
    }
    char where[4200];
    for (size_t i = 0; i < df->nlines; i++) {
        struct dline *l = &df->lines[i];
        snprintf(where, sizeof where, "%s:%zu", name, l->lineno);
        if (l->bad) {
            df->bad++;
            fprintf(stderr, "faultline diff: %s: %s\n", where, l->err ? l->err : "out of memory");
            free(l->err);
            continue;
        }
        fl__impact_add(&df->im, &l->sum[0], &l->sum[1], where, df->text.data + l->off, l->len);
    }
    df->nlines = 0;
    fl_sb_clear(&df->text);
}

static int diff_stream(struct diff *df, const char *name, FILE *f)
{
    cli_reader r;
    cli_reader_init(&r, f, df->max_line);
    int rc;
    while ((rc = cli_read_line(&r)) == 1) {
        if (r.overlong) {
            diff_flush(df, name); /* its message in line order */
            df->bad++;
            fprintf(stderr, "faultline diff: %s:%zu: line longer than %zu bytes\n", name, r.lineno, df->max_line);
            continue;
        }
        if (cli_blank(r.buf, r.len)) continue;
        struct dline *l = &df->lines[df->nlines];
        *l = (struct dline){.off = df->text.len, .len = r.len, .lineno = r.lineno};
        if (fl_sb_append(&df->text, r.buf, r.len) != 0 || fl_sb_append(&df->text, "", 1) != 0) {
            rc = -1;
            break;
        }
        if (++df->nlines == DIFF_BATCH) diff_flush(df, name);
    }
    diff_flush(df, name);
    cli_reader_free(&r);
    return rc < 0 ? -1 : 0;
}

/* A test file: each line {"event": {...}, "expect": {...}}. */
static void diff_test_file(struct diff *df, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return;
    cli_reader r;
    cli_reader_init(&r, f, df->max_line);
    char where[4700];
    while (cli_read_line(&r) == 1) {
        if (r.overlong || cli_blank(r.buf, r.len)) continue;
        json_t *tc = json_loadb(r.buf, r.len, 0, NULL);
        json_t *ev = json_object_get(tc, "event");
        char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
        snprintf(where, sizeof where, "%s:%zu", path, r.lineno);
        if (s) diff_json_line(df, where, s, strlen(s));
        free(s);
        json_decref(tc);
    }
    cli_reader_free(&r);
    fclose(f);
}

static void diff_tests_of(struct diff *df, const char *dir)
{
    char tdir[4200], path[4600];
    snprintf(tdir, sizeof tdir, "%s/tests", dir);
    struct dirent **names = NULL;
    int n = scandir(tdir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(names[i]->d_name);
        if (l > 6 && strcmp(names[i]->d_name + l - 6, ".jsonl") == 0) {
            snprintf(path, sizeof path, "%s/%s", tdir, names[i]->d_name);
            diff_test_file(df, path);
        }
        free(names[i]);
    }
    free(names);
}

/* The examples of the version engine e serves (internal: the CLI is built
 * with the library's headers, as `check` is). */
static void diff_examples_of(struct diff *df, fl_engine_t *e, const char *dir)
{
    unsigned gen;
    struct fl_shared *sh = fl_engine_shared(e);
    fl_version *v = fl_shared_acquire(sh, &gen);
    if (!v) return;
    char where[4300];
    for (uint32_t i = 0; i < v->nexamples; i++) {
        char *s = json_dumps(v->examples[i].event, JSON_COMPACT);
        snprintf(where, sizeof where, "%s: example \"%s\"", dir, v->examples[i].name);
        if (s) diff_json_line(df, where, s, strlen(s));
        free(s);
    }
    fl_version_unref(v);
}

/* ---- report ----------------------------------------------------------------- */

static void report_json(const struct diff *df, const fl_version_info_t vi[2])
{
    json_t *o = fl__impact_json(&df->im);
    json_object_set_new(o, "old", json_pack("{s:s, s:s}", "id", vi[0].id, "version", nz(vi[0].version)));
    json_object_set_new(o, "new", json_pack("{s:s, s:s}", "id", vi[1].id, "version", nz(vi[1].version)));
    json_object_set_new(o, "bad_lines", json_integer((json_int_t)df->bad));
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(o);
}

static void report_text(const struct diff *df, const fl_version_info_t vi[2])
{
    const struct fl_impact *im = &df->im;
    printf("faultline diff: %s (%s) -> %s (%s): %zu events, %zu changed (%.2f%%), %zu not allowed\n", vi[0].id,
           nz(vi[0].version), vi[1].id, nz(vi[1].version), im->events, im->changed,
           im->events ? 100.0 * (double)im->changed / (double)im->events : 0.0, im->disallowed);
    for (size_t i = 0; i < im->ngroups; i++) {
        const struct fl_impact_group *g = &im->groups[i];
        printf("\n%7zu  %s -> %s%s\n", g->count, g->old.rule, g->new.rule,
               fl__impact_allowed(im, g->changes, g->new.rule) ? "   (allowed)" : "");
        if (g->changes & FL_IMPACT_CATEGORY) printf("         category   %s -> %s\n", g->old.category, g->new.category);
        if (g->changes & FL_IMPACT_ACTION)
            printf("         action     %s -> %s\n", fl_action_name(g->old.action), fl_action_name(g->new.action));
        if (g->changes & FL_IMPACT_RETRYABLE) printf("         retryable  %s -> %s\n", g->old.retryable ? "true" : "false", g->new.retryable ? "true" : "false");
        if (g->changes & FL_IMPACT_DELAY)
            printf("         delay_ms   %lld..%lld -> %lld..%lld\n", (long long)g->old_dmin, (long long)g->old_dmax,
                   (long long)g->new_dmin, (long long)g->new_dmax);
        if (g->changes & FL_IMPACT_MESSAGE) printf("         message_id %s -> %s\n", g->old.message_id, g->new.message_id);
        size_t n = json_array_size(g->examples);
        for (size_t k = 0; k < n; k++) {
            json_t *x = json_array_get(g->examples, k);
            char *s = json_dumps(json_object_get(x, "event"), JSON_COMPACT);
            printf("         e.g. %s  %.160s\n", json_string_value(json_object_get(x, "where")), s ? s : "");
            free(s);
        }
    }
}

/* ---- options and setup ---------------------------------------------------------- */

static int parse_allow(struct fl_impact *im, const char *arg)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy) return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strncmp(t, "rule:", 5) == 0 && t[5]) {
            char **nr = realloc(im->allow_rules, (im->nallow_rules + 1) * sizeof *nr);
            if (!nr) break;
            im->allow_rules = nr;
            im->allow_rules[im->nallow_rules++] = strdup(t + 5);
            continue;
        }
        int k = 0;
        while (k < FL_IMPACT_NFIELDS && strcmp(fl__impact_field_name(k), t) != 0) k++;
        if (k == FL_IMPACT_NFIELDS) {
            fprintf(stderr, "faultline diff: --allow: unknown change '%s' (category, action, retryable, delay, "
                            "message_id, rule, or rule:NAME)\n", t);
            free(copy);
            return -1;
        }
        im->allow_fields |= 1u << k;
    }
    free(copy);
    return 0;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* OLD as a directory, or as a version id archived under NEW/.versions. */
static int resolve_old(const char *old, const char *new_dir, char *out, size_t n)
{
    if (is_dir(old)) return snprintf(out, n, "%s", old), 0;
    size_t len = strlen(old);
    if (len < 4 || len > 16 || strspn(old, "0123456789abcdef") != len) return -1;
    char base[4200];
    snprintf(base, sizeof base, "%s/.versions", new_dir);
    DIR *d = opendir(base);
    if (!d) return -1;
    int found = 0;
    for (struct dirent *de; (de = readdir(d));)
        if (strncmp(de->d_name, old, len) == 0) {
            if ((size_t)snprintf(out, n, "%s/%s", base, de->d_name) >= n) found = 2; /* too long */
            found++;
        }
    closedir(d);
    return found == 1 ? 0 : -1;
}

static int open_side(struct diff *df, int i, const char *dir)
{
    fl_engine_options_t o = {0};
    o.seed = 0x5eed; /* reproducible runs (jitter: decide_both's seeds) */
    fl_diag_t diag;
    if (fl_engine_new(&o, &df->e[i]) != FL_OK) return FL_EXIT_POLICY;
    if (fl_engine_load(df->e[i], dir, &diag) != FL_OK) {
        fprintf(stderr, "faultline diff: %s: %s:%d:%d: %s\n", i ? "NEW" : "OLD", diag.file, diag.line, diag.col,
                diag.message);
        return FL_EXIT_POLICY;
    }
    if (fl_ctx_new(df->e[i], &df->ctx[i]) != FL_OK || fl_decision_new(&df->d[i]) != FL_OK) return FL_EXIT_POLICY;
    return FL_EXIT_OK;
}

/* The workers: 0 uses the calling thread's pair; the others get their own,
 * side by side on the two engines (same order: same seeds). */
static int open_workers(struct diff *df)
{
    if (!(df->lines = calloc(DIFF_BATCH, sizeof *df->lines))) return FL_EXIT_POLICY;
    for (int k = 0; k < DIFF_WORKERS; k++) {
        struct dworker *w = &df->w[k];
        w->df = df;
        w->index = k;
        if (k == 0) {
            w->ctx[0] = df->ctx[0], w->ctx[1] = df->ctx[1], w->d[0] = df->d[0], w->d[1] = df->d[1], w->ev = df->ev;
            continue;
        }
        for (int i = 0; i < 2; i++)
            if (fl_ctx_new(df->e[i], &w->ctx[i]) != FL_OK || fl_decision_new(&w->d[i]) != FL_OK) return FL_EXIT_POLICY;
        if (fl_event_new(&w->ev) != FL_OK) return FL_EXIT_POLICY;
    }
    return FL_EXIT_OK;
}

static void diff_free(struct diff *df)
{
    for (int k = 1; k < DIFF_WORKERS; k++) {
        for (int i = 0; i < 2; i++) {
            fl_decision_free(df->w[k].d[i]);
            fl_ctx_free(df->w[k].ctx[i]);
        }
        fl_event_free(df->w[k].ev);
    }
    free(df->lines);
    fl_sb_free(&df->text);
    for (int i = 0; i < 2; i++) {
        fl_decision_free(df->d[i]);
        fl_ctx_free(df->ctx[i]);
        fl_engine_free(df->e[i]);
    }
    fl_event_free(df->ev);
    fl__impact_free(&df->im);
}

static int diff_inputs(struct diff *df, int argc, char **argv, const char *const dirs[2])
{
    if (optind >= argc) {
        for (int i = 0; i < 2; i++) {
            diff_tests_of(df, dirs[i]);
            diff_examples_of(df, df->e[i], dirs[i]);
        }
        return FL_EXIT_OK;
    }
    for (int i = optind; i < argc; i++) {
        int is_stdin = strcmp(argv[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "faultline diff: %s: %s\n", argv[i], strerror(errno));
            return FL_EXIT_IO;
        }
        int rc = diff_stream(df, is_stdin ? "<stdin>" : argv[i], f);
        if (!is_stdin) fclose(f);
        if (rc < 0) {
            fprintf(stderr, "faultline diff: %s: read error\n", argv[i]);
            return FL_EXIT_IO;
        }
    }
    return FL_EXIT_OK;
}

int cli_diff(int argc, char **argv)
{
    static const struct option longs[] = {
        {"policy", required_argument, 0, 'p'}, {"json", no_argument, 0, 'j'},
        {"allow", required_argument, 0, 'a'},  {"examples", required_argument, 0, 'e'},
        {"locale", required_argument, 0, 'l'}, {"max-line", required_argument, 0, 'm'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    struct diff df = {.max_line = 1u << 20, .im = {.max_examples = 3}};
    const char *dirs[2] = {NULL, NULL};
    int ndirs = 0, as_json = 0, c, rc = FL_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:l:h", longs, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (ndirs == 2) goto usage;
            dirs[ndirs++] = optarg;
            break;
        case 'j': as_json = 1; break;
        case 'a':
            if (parse_allow(&df.im, optarg) != 0) goto done;
            break;
        case 'e': df.im.max_examples = strtoul(optarg, NULL, 10); break;
        case 'l': df.locale = optarg; break;
        case 'm': df.max_line = strtoul(optarg, NULL, 10); break;
        case 'h': fputs(k_help, stdout); rc = FL_EXIT_OK; goto done;
        default: goto usage;
        }
    }
    if (ndirs != 2 || df.max_line == 0) goto usage;
    char old_dir[4400];
    if (resolve_old(dirs[0], dirs[1], old_dir, sizeof old_dir) != 0) {
        fprintf(stderr, "faultline diff: OLD '%s' is neither a directory nor one version id archived in %s/.versions\n",
                dirs[0], dirs[1]);
        rc = FL_EXIT_POLICY;
        goto done;
    }
    const char *const sides[2] = {old_dir, dirs[1]};
    if ((rc = open_side(&df, 0, sides[0])) != FL_EXIT_OK || (rc = open_side(&df, 1, sides[1])) != FL_EXIT_OK)
        goto done;
    if (fl_event_new(&df.ev) != FL_OK || open_workers(&df) != FL_EXIT_OK) {
        rc = FL_EXIT_POLICY;
        goto done;
    }
    if ((rc = diff_inputs(&df, argc, argv, sides)) != FL_EXIT_OK) goto done;
    fl__impact_sort(&df.im);
    fl_version_info_t vi[2];
    fl_engine_current(df.e[0], &vi[0]);
    fl_engine_current(df.e[1], &vi[1]);
    if (as_json) report_json(&df, vi);
    else report_text(&df, vi);
    rc = df.im.disallowed || df.bad ? FL_EXIT_BAD_INPUT : FL_EXIT_OK;
    goto done;
usage:
    fputs(k_help, stderr);
done:
    diff_free(&df);
    return rc;
}
