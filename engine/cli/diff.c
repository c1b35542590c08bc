/*
 * diff.c -- `faultline diff`: the impact of a policy change before it serves.
 * The same events are decided by two versions (OLD, NEW) and every
 * difference in what a host acts on -- category, action, retryability,
 * delay, message id -- is counted, grouped by (old rule -> new rule) with a
 * few example events each.  The exit status gates a CI step: 1 when
 * anything changed beyond what --allow names.
 *
 * Both engines run with the same seed, so jittered delays compare equal
 * when the recovery did not change.  Events come from FILEs, standard input,
 * or -- with no FILE -- the two policies' own test files and examples.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core.h"
#include "engine_internal.h"

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

enum { CH_CATEGORY = 1, CH_ACTION = 2, CH_RETRYABLE = 4, CH_DELAY = 8, CH_MESSAGE = 16, CH_RULE = 32 };
static const char *const k_fields[] = {"category", "action", "retryable", "delay", "message_id", "rule"};
#define NFIELDS 6

/* One (old rule -> new rule, what changed) group. */
struct group {
    char *old_rule, *new_rule;
    unsigned changes;
    size_t count;
    char *old_cat, *new_cat;           /* first seen, for the summary   */
    fl_action old_act, new_act;
    int64_t old_dmin, old_dmax, new_dmin, new_dmax;
    json_t *examples;                  /* array of {"where":..,"event":..} */
};

struct diff {
    fl_engine_t *e[2];
    fl_ctx_t *ctx[2];
    fl_decision_t *d[2];
    fl_event_t *ev;
    const char *locale;
    size_t max_examples, max_line;
    unsigned allow_fields;
    char **allow_rules;
    size_t nallow_rules;
    struct group *groups;
    size_t ngroups, cap;
    size_t events, changed, bad, disallowed;
};

static const char *nz(const char *s) { return s ? s : ""; }

static int streq(const char *a, const char *b) { return strcmp(nz(a), nz(b)) == 0; }

static unsigned compare(fl_decision_t *a, fl_decision_t *b)
{
    unsigned ch = 0;
    if (!streq(fl_decision_category(a), fl_decision_category(b))) ch |= CH_CATEGORY;
    if (fl_decision_action(a) != fl_decision_action(b)) ch |= CH_ACTION;
    if (fl_decision_retryable(a) != fl_decision_retryable(b)) ch |= CH_RETRYABLE;
    if (fl_decision_delay_ms(a) != fl_decision_delay_ms(b)) ch |= CH_DELAY;
    if (!streq(fl_decision_message_id(a), fl_decision_message_id(b))) ch |= CH_MESSAGE;
    if (!streq(fl_decision_rule(a), fl_decision_rule(b))) ch |= CH_RULE;
    return ch;
}

static struct group *find_group(struct diff *df, const char *orule, const char *nrule, unsigned ch)
{
    for (size_t i = 0; i < df->ngroups; i++) {
        struct group *g = &df->groups[i];
        if (g->changes == ch && streq(g->old_rule, orule) && streq(g->new_rule, nrule)) return g;
    }
    if (df->ngroups == df->cap) {
        size_t nc = df->cap ? df->cap * 2 : 16;
        struct group *ng = realloc(df->groups, nc * sizeof *ng);
        if (!ng) return NULL;
        df->groups = ng;
        df->cap = nc;
    }
    struct group *g = &df->groups[df->ngroups++];
    memset(g, 0, sizeof *g);
    g->old_rule = strdup(nz(orule));
    g->new_rule = strdup(nz(nrule));
    g->old_cat = strdup(nz(fl_decision_category(df->d[0])));
    g->new_cat = strdup(nz(fl_decision_category(df->d[1])));
    g->old_act = fl_decision_action(df->d[0]);
    g->new_act = fl_decision_action(df->d[1]);
    g->old_dmin = g->new_dmin = INT64_MAX;
    g->old_dmax = g->new_dmax = INT64_MIN;
    g->changes = ch;
    g->examples = json_array();
    return g;
}

static int allowed(const struct diff *df, unsigned ch, const char *nrule)
{
    for (size_t i = 0; i < df->nallow_rules; i++)
        if (streq(df->allow_rules[i], nrule)) return 1;
    return (ch & ~df->allow_fields) == 0;
}

static void widen(int64_t *lo, int64_t *hi, int64_t v)
{
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

/* Decide the event in df->ev with both versions and record a difference. */
static void diff_event(struct diff *df, const char *where, const char *json, size_t len)
{
    df->events++;
    for (int i = 0; i < 2; i++) fl_decide(df->ctx[i], df->ev, df->locale, 0, df->d[i]);
    unsigned ch = compare(df->d[0], df->d[1]);
    if (!ch) return;
    df->changed++;
    const char *nrule = fl_decision_rule(df->d[1]);
    if (!allowed(df, ch, nrule)) df->disallowed++;
    struct group *g = find_group(df, fl_decision_rule(df->d[0]), nrule, ch);
    if (!g) return;
    g->count++;
    widen(&g->old_dmin, &g->old_dmax, fl_decision_delay_ms(df->d[0]));
    widen(&g->new_dmin, &g->new_dmax, fl_decision_delay_ms(df->d[1]));
    if (json_array_size(g->examples) < df->max_examples) {
        json_t *ev = json_loadb(json, len, 0, NULL);
        json_array_append_new(g->examples, json_pack("{s:s, s:o}", "where", where, "event", ev ? ev : json_null()));
    }
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

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static int diff_stream(struct diff *df, const char *name, FILE *f)
{
    cli_reader r;
    cli_reader_init(&r, f, df->max_line);
    int rc;
    char where[4200];
    while ((rc = cli_read_line(&r)) == 1) {
        snprintf(where, sizeof where, "%s:%zu", name, r.lineno);
        if (r.overlong) {
            df->bad++;
            fprintf(stderr, "faultline diff: %s: line longer than %zu bytes\n", where, df->max_line);
            continue;
        }
        if (!blank(r.buf, r.len)) diff_json_line(df, where, r.buf, r.len);
    }
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
        if (r.overlong || blank(r.buf, r.len)) continue;
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

static int cmp_groups(const void *a, const void *b)
{
    const struct group *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static json_t *group_json(const struct diff *df, const struct group *g)
{
    json_t *changes = json_array();
    for (int k = 0; k < NFIELDS; k++)
        if (g->changes & (1u << k)) json_array_append_new(changes, json_string(k_fields[k]));
    return json_pack("{s:s, s:s, s:I, s:o, s:b, s:{s:s, s:s, s:s, s:s}, s:{s:I, s:I, s:I, s:I}, s:O}", "old_rule",
                     g->old_rule, "new_rule", g->new_rule, "count", (json_int_t)g->count, "changes", changes,
                     "allowed", allowed(df, g->changes, g->new_rule), "first", "old_category", g->old_cat,
                     "new_category", g->new_cat, "old_action", fl_action_name(g->old_act), "new_action",
                     fl_action_name(g->new_act), "delay_ms", "old_min", (json_int_t)g->old_dmin, "old_max",
                     (json_int_t)g->old_dmax, "new_min", (json_int_t)g->new_dmin, "new_max",
                     (json_int_t)g->new_dmax, "examples", g->examples);
}

static void report_json(const struct diff *df, const fl_version_info_t vi[2])
{
    json_t *groups = json_array();
    for (size_t i = 0; i < df->ngroups; i++) json_array_append_new(groups, group_json(df, &df->groups[i]));
    json_t *o = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:I, s:I, s:I, s:I, s:o}", "old", "id", vi[0].id, "version",
                          nz(vi[0].version), "new", "id", vi[1].id, "version", nz(vi[1].version), "events",
                          (json_int_t)df->events, "changed", (json_int_t)df->changed, "not_allowed",
                          (json_int_t)df->disallowed, "bad_lines", (json_int_t)df->bad, "groups", groups);
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
}

static void report_text(const struct diff *df, const fl_version_info_t vi[2])
{
    printf("faultline diff: %s (%s) -> %s (%s): %zu events, %zu changed (%.2f%%), %zu not allowed\n", vi[0].id,
           nz(vi[0].version), vi[1].id, nz(vi[1].version), df->events, df->changed,
           df->events ? 100.0 * (double)df->changed / (double)df->events : 0.0, df->disallowed);
    for (size_t i = 0; i < df->ngroups; i++) {
        const struct group *g = &df->groups[i];
        printf("\n%7zu  %s -> %s%s\n", g->count, g->old_rule, g->new_rule,
               allowed(df, g->changes, g->new_rule) ? "   (allowed)" : "");
        if (g->changes & CH_CATEGORY) printf("         category   %s -> %s\n", g->old_cat, g->new_cat);
        if (g->changes & CH_ACTION)
            printf("         action     %s -> %s\n", fl_action_name(g->old_act), fl_action_name(g->new_act));
        if (g->changes & CH_RETRYABLE) printf("         retryable  changed\n");
        if (g->changes & CH_DELAY)
            printf("         delay_ms   %lld..%lld -> %lld..%lld\n", (long long)g->old_dmin, (long long)g->old_dmax,
                   (long long)g->new_dmin, (long long)g->new_dmax);
        if (g->changes & CH_MESSAGE) printf("         message_id changed\n");
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

static int parse_allow(struct diff *df, const char *arg)
{
    char *copy = strdup(arg), *save = NULL;
    if (!copy) return -1;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strncmp(t, "rule:", 5) == 0 && t[5]) {
            char **nr = realloc(df->allow_rules, (df->nallow_rules + 1) * sizeof *nr);
            if (!nr) break;
            df->allow_rules = nr;
            df->allow_rules[df->nallow_rules++] = strdup(t + 5);
            continue;
        }
        int k = 0;
        while (k < NFIELDS && strcmp(k_fields[k], t) != 0) k++;
        if (k == NFIELDS) {
            fprintf(stderr, "faultline diff: --allow: unknown change '%s' (category, action, retryable, delay, "
                            "message_id, rule, or rule:NAME)\n", t);
            free(copy);
            return -1;
        }
        df->allow_fields |= 1u << k;
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
    o.seed = 0x5eed; /* both sides draw the same jitter */
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

static void diff_free(struct diff *df)
{
    for (int i = 0; i < 2; i++) {
        fl_decision_free(df->d[i]);
        fl_ctx_free(df->ctx[i]);
        fl_engine_free(df->e[i]);
    }
    fl_event_free(df->ev);
    for (size_t i = 0; i < df->ngroups; i++) {
        free(df->groups[i].old_rule);
        free(df->groups[i].new_rule);
        free(df->groups[i].old_cat);
        free(df->groups[i].new_cat);
        json_decref(df->groups[i].examples);
    }
    free(df->groups);
    for (size_t i = 0; i < df->nallow_rules; i++) free(df->allow_rules[i]);
    free(df->allow_rules);
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
    struct diff df = {.max_examples = 3, .max_line = 1u << 20};
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
            if (parse_allow(&df, optarg) != 0) goto done;
            break;
        case 'e': df.max_examples = strtoul(optarg, NULL, 10); break;
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
    if (fl_event_new(&df.ev) != FL_OK) {
        rc = FL_EXIT_POLICY;
        goto done;
    }
    if ((rc = diff_inputs(&df, argc, argv, sides)) != FL_EXIT_OK) goto done;
    qsort(df.groups, df.ngroups, sizeof *df.groups, cmp_groups);
    fl_version_info_t vi[2];
    fl_engine_current(df.e[0], &vi[0]);
    fl_engine_current(df.e[1], &vi[1]);
    if (as_json) report_json(&df, vi);
    else report_text(&df, vi);
    rc = df.disallowed || df.bad ? FL_EXIT_BAD_INPUT : FL_EXIT_OK;
    goto done;
usage:
    fputs(k_help, stderr);
done:
    diff_free(&df);
    return rc;
}
