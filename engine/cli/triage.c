/*
 * triage.c -- `faultline triage`: from "we see unknown errors" to a rule.
 *
 * Decides a stream of events with the policy, keeps those that end `unknown`
 * (no rule matched) or were decided only by the pack's last-resort layer
 * (rules named "last-resort-*": low confidence), and groups their messages
 * by template, Drain-style: a message's first line is split into tokens;
 * tokens that carry variables (numbers, hex, quoted text, paths, URLs,
 * addresses) become <*>; messages with the same number of tokens and the same
 * first token are compared position by position, and join a template when at
 * least half of the constant tokens agree (the positions that differ become
 * <*>).  Groups are ranked by count; for each the command prints a
 * ready-to-edit rule skeleton: a pattern built from the template's constant
 * parts, the category the last-resort layer suggested (or `unknown`), and an
 * `example` block with the first event so `faultline check` tests the rule.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define MAX_TOKENS 64
#define MAX_TOKEN_LEN 256
#define MAX_LINE_CHARS 400
#define SIMILARITY 0.5

static const char k_help[] =
    "usage: faultline triage [-p DIR] [--top N] [--min-count N] [--max-line BYTES] [FILE...|-]\n"
    "\n"
    "Reads error events (JSON Lines) from the FILEs or standard input, decides them\n"
    "with the policy, and groups the events that end `unknown` or were decided only\n"
    "by a last-resort rule (low confidence) by message template.  Prints the groups,\n"
    "largest first, each with a rule skeleton to edit into the policy: a pattern\n"
    "from the template's constant parts, a suggested category, and an example.\n"
    "\n"
    "  -p, --policy DIR     policy directory (default: the stock pack)\n"
    "  -n, --top N          print at most N groups (default 20)\n"
    "  -m, --min-count N    print only groups of at least N events (default 1)\n"
    "      --max-line B     longest accepted input line in bytes (default 1048576)\n"
    "\n"
    "Exit status: 0; 1 when some input lines were malformed (they are counted on\n"
    "stderr and skipped); 2 usage; 3 the policy could not be loaded; 4 a FILE could\n"
    "not be read.\n";

typedef struct {
    char **tok;      /* template tokens; "<*>" for a variable position */
    int ntok;
    size_t count;
    char *example;   /* the first event's message (whole, for the example block) */
    char *suggested; /* category suggested by the last-resort rule, or "unknown" */
    char *rule;      /* the rule that decided the first event */
    char *fingerprint;
    size_t unknown;  /* how many ended `unknown` (the rest: last-resort) */
} group_t;

typedef struct {
    group_t *g;
    size_t n, cap;
    size_t seen, low, bad;
} triage_t;

static char *xstrdup(const char *s)
{
    size_t l = strlen(s) + 1;
    char *p = malloc(l);
    if (p) memcpy(p, s, l);
    return p;
}

/* Does the token carry a variable (so it must not be part of a pattern)? */
static int is_variable(const char *t)
{
    size_t l = strlen(t);
    if (l == 0) return 1;
    if (strchr(t, '/') || strstr(t, "://") || strchr(t, '@') || strchr(t, '=')) return 1;
    if (t[0] == '\'' || t[0] == '"' || t[0] == '`') return 1;
    int digits = 0, hex = 0;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)t[i];
        if (isdigit(c)) digits++;
        else if (isxdigit(c)) hex++;
    }
    if (digits) return 1; /* numbers, ports, ids, line numbers, versions */
    if (l >= 8 && hex == (int)l) return 1;
    if (t[0] == '<' && t[l - 1] == '>' && strcmp(t, "<*>") != 0) return 1;
    return 0;
}

/* Split the first non-empty line of msg into tokens (at most MAX_TOKENS).
 * Quoted runs ('...', "...", `...`) stay one token so they become one <*>. */
/* The line of msg that says what failed: the first one naming an error or
 * exception, else the first one with a letter (skips separators, blank and
 * progress lines). */
static const char *key_line(const char *msg, const char **end)
{
    const char *first = NULL, *p = msg;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        int letters = 0, named = 0;
        for (const char *q = p; q < e; q++) {
            if (isalpha((unsigned char)*q)) letters = 1;
            if ((q + 5 <= e && (strncasecmp(q, "error", 5) == 0 || strncasecmp(q, "fatal", 5) == 0)) ||
                (q + 9 <= e && strncasecmp(q, "exception", 9) == 0))
                named = 1;
        }
        if (named) {
            *end = e;
            return p;
        }
        if (letters && !first) {
            first = p;
            *end = e;
        }
        p = *e ? e + 1 : e;
    }
    if (!first) {
        *end = msg + strlen(msg);
        return msg;
    }
    const char *e = strchr(first, '\n');
    *end = e ? e : first + strlen(first);
    return first;
}

static int tokenize(const char *msg, char tok[][MAX_TOKEN_LEN])
{
    const char *end;
    const char *p = key_line(msg, &end);
    if (end - p > MAX_LINE_CHARS) end = p + MAX_LINE_CHARS;
    int n = 0;
    while (p < end && n < MAX_TOKENS) {
        while (p < end && isspace((unsigned char)*p)) p++;
        if (p >= end) break;
        const char *s = p;
        if (*p == '\'' || *p == '"' || *p == '`') {
            char q = *p++;
            while (p < end && *p != q) p++;
            if (p < end) p++;
            while (p < end && !isspace((unsigned char)*p)) p++;
        } else {
            while (p < end && !isspace((unsigned char)*p)) p++;
        }
        size_t l = (size_t)(p - s);
        if (l >= MAX_TOKEN_LEN) l = MAX_TOKEN_LEN - 1;
        memcpy(tok[n], s, l);
        tok[n][l] = '\0';
        if (is_variable(tok[n])) strcpy(tok[n], "<*>");
        n++;
    }
    return n;
}

/* Position-wise similarity between a template and a token line of the same
 * length: agreeing constant positions over the template's constant positions. */
static double similarity(const group_t *g, char tok[][MAX_TOKEN_LEN], int n)
{
    int same = 0, constants = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(g->tok[i], "<*>") == 0) continue;
        constants++;
        if (strcmp(g->tok[i], tok[i]) == 0) same++;
    }
    return constants ? (double)same / constants : 1.0;
}

static int add_event(triage_t *t, const char *msg, const char *category, const char *rule, const char *fp)
{
    char tok[MAX_TOKENS][MAX_TOKEN_LEN];
    int n = tokenize(msg, tok);
    if (n == 0) return 0; /* nothing to group on (blank message) */
    group_t *best = NULL;
    double best_sim = 0;
    for (size_t i = 0; i < t->n; i++) {
        group_t *g = &t->g[i];
        if (g->ntok != n) continue;
        if (n > 0 && strcmp(g->tok[0], tok[0]) != 0 && strcmp(g->tok[0], "<*>") != 0) continue;
        double s = similarity(g, tok, n);
        if (s >= SIMILARITY && s > best_sim) {
            best = g;
            best_sim = s;
        }
    }
    int is_unknown = strncmp(category, "unknown", 7) == 0;
    if (best) {
        for (int i = 0; i < n; i++) {
            if (strcmp(best->tok[i], tok[i]) != 0 && strcmp(best->tok[i], "<*>") != 0) {
                free(best->tok[i]);
                best->tok[i] = xstrdup("<*>");
                if (!best->tok[i]) return -1;
            }
        }
        best->count++;
        best->unknown += (size_t)is_unknown;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        group_t *g = realloc(t->g, cap * sizeof *g);
        if (!g) return -1;
        t->g = g;
        t->cap = cap;
    }
    group_t *g = &t->g[t->n];
    memset(g, 0, sizeof *g);
    g->tok = calloc((size_t)(n ? n : 1), sizeof *g->tok);
    if (!g->tok) return -1;
    for (int i = 0; i < n; i++)
        if (!(g->tok[i] = xstrdup(tok[i]))) return -1;
    g->ntok = n;
    g->count = 1;
    g->unknown = (size_t)is_unknown;
    g->example = xstrdup(msg);
    g->suggested = xstrdup(is_unknown ? "unknown" : category);
    g->rule = xstrdup(rule ? rule : "default");
    g->fingerprint = xstrdup(fp ? fp : "");
    if (!g->example || !g->suggested || !g->rule || !g->fingerprint) return -1;
    t->n++;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const group_t *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->example, y->example);
}

/* Append text to a PCRE2 pattern, escaping metacharacters. */
static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (strchr("\\.^$|?*+()[]{}", *s)) fputc('\\', out);
        fputc(*s, out);
    }
}

/* A Lua string literal (double-quoted, escaped). */
static void put_lua_string(FILE *out, const char *s, size_t max)
{
    fputc('"', out);
    for (size_t i = 0; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c < 0x20) fprintf(out, "\\%03u", c);
        else fputc(c, out);
    }
    fputc('"', out);
}

static void print_group(FILE *out, const group_t *g, size_t rank)
{
    fprintf(out, "-- #%zu: %zu event%s (%zu unknown, %zu low-confidence), first decided by rule %s",
            rank, g->count, g->count == 1 ? "" : "s", g->unknown, g->count - g->unknown, g->rule);
    if (g->fingerprint[0]) fprintf(out, ", fingerprint %s", g->fingerprint);
    fputs("\n-- template:", out);
    for (int i = 0; i < g->ntok; i++) fprintf(out, " %s", g->tok[i]);
    fputc('\n', out);
    /* The pattern: constant runs joined; a variable run becomes .+? */
    char name[96];
    snprintf(name, sizeof name, "triage-%zu", rank);
    int constants = 0;
    for (int i = 0; i < g->ntok; i++) constants += strcmp(g->tok[i], "<*>") != 0;
    if (!constants) fputs("-- the template has no constant text: write the pattern by hand\n", out);
    fprintf(out, "rule \"%s\" {\n  when = { message = re[==[", name);
    if (!constants) fputs("TODO", out);
    int wrote = 0, pending_var = 0;
    for (int i = 0; i < g->ntok; i++) {
        if (strcmp(g->tok[i], "<*>") == 0) {
            pending_var = 1;
            continue;
        }
        if (wrote) fputs(pending_var ? "\\s+.+?\\s+" : "\\s+", out);
        put_escaped(out, g->tok[i]);
        wrote = 1;
        pending_var = 0;
    }
    fputs("]==] },\n", out);
    fprintf(out, "  category = \"%s\",%s\n", g->suggested,
            strcmp(g->suggested, "unknown") == 0 ? "  -- TODO: choose the category"
                                                  : "  -- suggested by the last-resort layer; check it");
    fputs("  priority = 100,\n}\n", out);
    fprintf(out, "example \"%s\" {\n  event = { message = ", name);
    put_lua_string(out, g->example, 2000);
    fprintf(out, " },\n  expect = { category = \"%s\" },\n}\n\n", g->suggested);
}

static int low_confidence(const char *category, const char *rule)
{
    if (!category || strncmp(category, "unknown", 7) == 0) return 1;
    return rule && strncmp(rule, "last-resort-", 12) == 0;
}

static int triage_stream(triage_t *t, fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d, const char *name,
                         FILE *f, size_t max_line)
{
    cli_reader r;
    cli_reader_init(&r, f, max_line);
    int rc;
    while ((rc = cli_read_line(&r)) == 1) {
        if (r.len == 0) continue;
        if (r.overlong) {
            fprintf(stderr, "faultline triage: %s:%zu: line longer than %zu bytes, skipped\n", name, r.lineno,
                    max_line);
            t->bad++;
            continue;
        }
        fl_diag_t diag;
        if (fl_event_from_json(ev, r.buf, r.len, &diag) != FL_OK) {
            fprintf(stderr, "faultline triage: %s:%zu: %s\n", name, r.lineno, diag.message);
            t->bad++;
            continue;
        }
        t->seen++;
        fl_decide(ctx, ev, NULL, 0, d);
        const char *cat = fl_decision_category(d), *rule = fl_decision_rule(d);
        const char *msg = fl_event_get(ev, FL_FIELD_MESSAGE);
        if (low_confidence(cat, rule) && msg && *msg) {
            t->low++;
            if (add_event(t, msg, cat ? cat : "unknown", rule, fl_decision_fingerprint(d)) != 0) {
                cli_reader_free(&r);
                fprintf(stderr, "faultline triage: out of memory\n");
                return FL_EXIT_IO;
            }
        }
    }
    cli_reader_free(&r);
    if (rc < 0) {
        fprintf(stderr, "faultline triage: %s: read error\n", name);
        return FL_EXIT_IO;
    }
    return FL_EXIT_OK;
}

int cli_triage(int argc, char **argv)
{
    static const struct option longs[] = {{"policy", required_argument, NULL, 'p'},
                                          {"top", required_argument, NULL, 'n'},
                                          {"min-count", required_argument, NULL, 'm'},
                                          {"max-line", required_argument, NULL, 'L'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    long top = 20, min_count = 1;
    size_t max_line = 1u << 20;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:n:m:h", longs, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'p': dir = optarg; break;
        case 'n':
        case 'm': {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1) {
                fprintf(stderr, "faultline triage: --%s needs a positive integer, got '%s'\n",
                        c == 'n' ? "top" : "min-count", optarg);
                return FL_EXIT_USAGE;
            }
            if (c == 'n') top = v;
            else min_count = v;
            break;
        }
        case 'L': {
            long long v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < 16) {
                fprintf(stderr, "faultline triage: --max-line needs an integer >= 16, got '%s'\n", optarg);
                return FL_EXIT_USAGE;
            }
            max_line = (size_t)v;
            break;
        }
        case 'h': fputs(k_help, stdout); return FL_EXIT_OK;
        default: fputs(k_help, stderr); return FL_EXIT_USAGE;
        }
    }
    dir = cli_policy_dir(dir, argv[0]);
    fl_engine_t *e = NULL;
    fl_diag_t diag;
    char buf[1200];
    if (fl_engine_new(NULL, &e) != FL_OK) return fprintf(stderr, "faultline triage: out of memory\n"), FL_EXIT_IO;
    if (fl_engine_load(e, dir, &diag) != FL_OK) {
        fprintf(stderr, "%s\n", fl_diag_format(&diag, buf, sizeof buf));
        fl_engine_free(e);
        return FL_EXIT_POLICY;
    }
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    triage_t t;
    memset(&t, 0, sizeof t);
    int rc = FL_EXIT_OK;
    if (fl_ctx_new(e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) {
        fprintf(stderr, "faultline triage: out of memory\n");
        rc = FL_EXIT_IO;
    }
    if (rc == FL_EXIT_OK && optind >= argc) rc = triage_stream(&t, ctx, ev, d, "-", stdin, max_line);
    for (int i = optind; i < argc && rc == FL_EXIT_OK; i++) {
        if (strcmp(argv[i], "-") == 0) {
            rc = triage_stream(&t, ctx, ev, d, "-", stdin, max_line);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "faultline triage: cannot open %s\n", argv[i]);
            rc = FL_EXIT_IO;
            break;
        }
        rc = triage_stream(&t, ctx, ev, d, argv[i], f, max_line);
        fclose(f);
    }
    if (rc == FL_EXIT_OK) {
        qsort(t.g, t.n, sizeof *t.g, by_count);
        printf("-- faultline triage: %zu events, %zu unknown or low-confidence, %zu groups", t.seen, t.low, t.n);
        if (t.bad) printf(", %zu malformed lines skipped", t.bad);
        printf("\n-- Edit each skeleton (pattern, category), add it to the policy, then `faultline check`.\n\n");
        size_t shown = 0;
        for (size_t i = 0; i < t.n && (long)shown < top; i++) {
            if ((long)t.g[i].count < min_count) break;
            print_group(stdout, &t.g[i], ++shown);
        }
        if (t.bad) rc = FL_EXIT_BAD_INPUT;
    }
    for (size_t i = 0; i < t.n; i++) {
        for (int k = 0; k < t.g[i].ntok; k++) free(t.g[i].tok[k]);
        free(t.g[i].tok);
        free(t.g[i].example);
        free(t.g[i].suggested);
        free(t.g[i].rule);
        free(t.g[i].fingerprint);
    }
    free(t.g);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    return rc;
}
