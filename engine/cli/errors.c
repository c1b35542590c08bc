/*
 * errors.c -- `faultline errors`: what the error registry (written by an
 * engine with fl_engine_registry_open, e.g. `faultline serve --registry F`)
 * holds: the top fingerprints, or counts by category, severity, op or rule,
 * over a window.  A table for people, --json for tools.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char k_help[] =
    "usage: faultline errors [--db F] [--since DUR] [--top N] [--by WHAT] [--json]\n"
    "\n"
    "Prints what the error registry holds: the most frequent fingerprints, or\n"
    "counts summed by category, severity, op or rule, over a window.\n"
    "\n"
    "  --db F         registry database (default $FAULTLINE_ERRORS_DB, else errors.db)\n"
    "  --since DUR    window: 90s, 15m, 1h, 7d or all (default all)\n"
    "  --top N        at most N rows (default 10, max 10000)\n"
    "  --by WHAT      fingerprint (default), category, severity, op or rule\n"
    "  --json         one JSON object on standard output\n";

/* "90s" "15m" "1h" "7d" "all" -> ms (0 for all); -1 if malformed. */
static int64_t parse_dur(const char *s)
{
    if (strcmp(s, "all") == 0) return 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || v <= 0 || v > 100000000 || end[0] == '\0' || end[1] != '\0') return -1;
    switch (*end) {
    case 's': return v * 1000;
    case 'm': return v * 60000;
    case 'h': return v * 3600000;
    case 'd': return v * 86400000;
    default: return -1;
    }
}

static void fmt_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_errors(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},   {"since", required_argument, NULL, 's'},
        {"top", required_argument, NULL, 'n'},  {"by", required_argument, NULL, 'b'},
        {"json", no_argument, NULL, 'J'},       {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = getenv("FAULTLINE_ERRORS_DB");
    if (!db || !*db) db = "errors.db";
    fl_error_query_t q = {0};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's':
            q.since_ms = parse_dur(optarg);
            if (q.since_ms < 0) {
                fprintf(stderr, "faultline errors: --since '%s': use a number with s, m, h or d (90s, 15m, 1h, 7d), or all\n",
                        optarg);
                return FL_EXIT_USAGE;
            }
            break;
        case 'n': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 10000) {
                fprintf(stderr, "faultline errors: --top '%s': a whole number from 1 to 10000\n", optarg);
                return FL_EXIT_USAGE;
            }
            q.top = (uint32_t)v;
            break;
        }
        case 'b': q.by = optarg; break;
        case 'J': json = 1; break;
        case 'h': fputs(k_help, stdout); return FL_EXIT_OK;
        default: fputs(k_help, stderr); return FL_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faultline errors: unexpected argument '%s'\n", argv[optind]);
        return FL_EXIT_USAGE;
    }
    if (!q.top) q.top = 10;
    fl_error_row_t *rows = calloc(q.top, sizeof *rows);
    if (!rows) return FL_EXIT_IO;
    size_t n = 0;
    fl_diag_t d;
    int rc = fl_registry_query(db, &q, rows, q.top, &n, &d);
    if (rc != FL_OK) {
        char buf[1200];
        fprintf(stderr, "faultline errors: %s\n", fl_diag_format(&d, buf, sizeof buf));
        free(rows);
        return rc == FL_EINVAL ? FL_EXIT_USAGE : FL_EXIT_IO;
    }
    int by_fp = !q.by || strcmp(q.by, "fingerprint") == 0;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            fl_error_row_t *r = &rows[i];
            char f[32], l[32];
            fmt_time(r->first_seen_ms, f);
            fmt_time(r->last_seen_ms, l);
            json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", by_fp ? "fingerprint" : q.by, r->key, "count",
                                  (json_int_t)r->count, "last_1m", (json_int_t)r->last_1m, "last_1h",
                                  (json_int_t)r->last_1h, "first_seen", f, "last_seen", l);
            if (by_fp) {
                json_object_set_new(o, "total", json_integer((json_int_t)r->total));
                json_object_set_new(o, "category", json_string(r->category));
                json_object_set_new(o, "severity", json_string(r->severity));
                json_object_set_new(o, "rule", json_string(r->rule));
                json_object_set_new(o, "op", json_string(r->op));
                json_object_set_new(o, "action", json_string(r->action));
                json_t *s = json_loads(r->sample, 0, NULL);
                json_object_set_new(o, "sample", s ? s : json_string(r->sample));
            }
            json_array_append_new(arr, o);
        }
        json_t *out = json_pack("{s:s, s:s, s:o}", "db", db, "by", by_fp ? "fingerprint" : q.by, "rows", arr);
        char *s = json_dumps(out, JSON_COMPACT);
        if (s) puts(s);
        free(s);
        json_decref(out);
    } else if (n == 0) {
        printf("no errors recorded in %s%s\n", db, q.since_ms ? " in that window" : "");
    } else if (by_fp) {
        printf("%-16s %8s %6s %6s  %-20s %-28s %-16s %s\n", "FINGERPRINT", "COUNT", "1M", "1H", "LAST SEEN", "CATEGORY",
               "OP", "RULE");
        for (size_t i = 0; i < n; i++) {
            char l[32];
            fmt_time(rows[i].last_seen_ms, l);
            printf("%-16s %8llu %6llu %6llu  %-20s %-28s %-16s %s\n", rows[i].key, (unsigned long long)rows[i].count,
                   (unsigned long long)rows[i].last_1m, (unsigned long long)rows[i].last_1h, l, rows[i].category,
                   rows[i].op[0] ? rows[i].op : "-", rows[i].rule);
        }
    } else {
        char head[32];
        snprintf(head, sizeof head, "%s", q.by);
        for (char *p = head; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        printf("%-32s %8s %6s %6s  %s\n", head, "COUNT", "1M", "1H", "LAST SEEN");
        for (size_t i = 0; i < n; i++) {
            char l[32];
            fmt_time(rows[i].last_seen_ms, l);
            printf("%-32s %8llu %6llu %6llu  %s\n", rows[i].key[0] ? rows[i].key : "-",
                   (unsigned long long)rows[i].count, (unsigned long long)rows[i].last_1m,
                   (unsigned long long)rows[i].last_1h, l);
        }
    }
    free(rows);
    return FL_EXIT_OK;
}
