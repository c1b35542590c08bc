/*
 * bench.c -- `faultline bench`: how fast a policy decides a host's own events
 * (OPA's `opa bench` and `--profile` are the precedent).  The events (JSON
 * Lines from FILE or standard input) are read once; each thread, with its
 * own context, then decides them over and over for about a second.  Printed:
 * decisions/s and ns/decision, the share of decisions that entered a Lua
 * handler, and the ten costliest rules -- the time spent in decisions that
 * ended on each rule, its share of the total, and how many there were.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core.h" /* fl_ctx.handler_runs */

static const char k_help[] =
    "usage: faultline bench [-p DIR] [--threads N] [--seconds S] [FILE|-]\n"
    "\n"
    "Decides the events of FILE (JSON Lines; standard input by default) over and over\n"
    "for about S seconds and prints decisions/s, ns/decision, the share of decisions\n"
    "that entered a Lua handler and the ten costliest rules (time share, decisions).\n"
    "Malformed lines are counted and skipped.\n"
    "\n"
    "  -p, --policy DIR     policy directory (default: the stock pack)\n"
    "  -j, --threads N      deciding threads, each with its own context (default 1)\n"
    "      --seconds S      how long to decide, 0.05 to 600 (default 1)\n";

/* Per-rule totals: an open-addressing table keyed by rule name. */
struct rstat {
    char *name;
    uint64_t n, ns;
};

struct rtable {
    struct rstat *v;
    size_t cap, used;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int rt_add(struct rtable *t, const char *name, uint64_t n, uint64_t ns)
{
    if ((t->used + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct rstat *v = calloc(cap, sizeof *v);
        if (!v) return -1;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->v[i].name) continue;
            size_t j = hash_str(t->v[i].name) & (cap - 1);
            while (v[j].name) j = (j + 1) & (cap - 1);
            v[j] = t->v[i];
        }
        free(t->v);
        t->v = v;
        t->cap = cap;
    }
    size_t j = hash_str(name) & (t->cap - 1);
    while (t->v[j].name && strcmp(t->v[j].name, name) != 0) j = (j + 1) & (t->cap - 1);
    if (!t->v[j].name) {
        if (!(t->v[j].name = strdup(name))) return -1;
        t->used++;
    }
    t->v[j].n += n;
    t->v[j].ns += ns;
    return 0;
}

static void rt_free(struct rtable *t)
{
    for (size_t i = 0; i < t->cap; i++) free(t->v[i].name);
    free(t->v);
}

struct bench_thread {
    pthread_t tid;
    fl_engine_t *engine;
    fl_event_t **evs;
    size_t nev;
    double seconds;
    uint64_t decisions, lua, ns;
    struct rtable rules;
    int failed;
};

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void *bench_main(void *arg)
{
    struct bench_thread *b = arg;
    fl_ctx_t *ctx = NULL;
    fl_decision_t *d = NULL;
    if (fl_ctx_new(b->engine, &ctx) != FL_OK || fl_decision_new(&d) != FL_OK) {
        b->failed = 1;
        goto out;
    }
    for (size_t i = 0; i < b->nev; i++) fl_decide(ctx, b->evs[i], NULL, 0, d); /* warm up */
    ctx->handler_runs = 0;
    uint64_t start = now_ns(), end = start + (uint64_t)(b->seconds * 1e9), t0 = start;
    /* Per rule: the time of each decision, attributed to the rule it ended on. */
    while (t0 < end) {
        for (size_t i = 0; i < b->nev; i++) {
            fl_decide(ctx, b->evs[i], NULL, 0, d);
            uint64_t t1 = now_ns();
            const char *rule = fl_decision_rule(d);
            if (rt_add(&b->rules, rule ? rule : "default", 1, t1 - t0) != 0) b->failed = 1;
            t0 = t1;
        }
        b->decisions += b->nev;
    }
    b->ns = t0 - start;
    b->lua = ctx->handler_runs;
out:
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return NULL;
}

static int by_time(const void *a, const void *b)
{
    const struct rstat *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* Read the events; malformed lines are counted.  0, or an exit code. */
static int read_events(const char *path, fl_event_t ***out, size_t *n, size_t *bad)
{
    FILE *f = path && strcmp(path, "-") != 0 ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "faultline bench: cannot open %s: %s\n", path, strerror(errno));
        return FL_EXIT_IO;
    }
    cli_reader r;
    cli_reader_init(&r, f, 1u << 20);
    size_t cap = 0;
    fl_event_t **evs = NULL;
    int rc, ret = 0;
    fl_event_t *ev = NULL;
    while ((rc = cli_read_line(&r)) == 1) {
        if (r.overlong) {
            (*bad)++;
            continue;
        }
        size_t k = 0;
        while (k < r.len && (r.buf[k] == ' ' || r.buf[k] == '\t' || r.buf[k] == '\r')) k++;
        if (k == r.len) continue;
        if (!ev && fl_event_new(&ev) != FL_OK) {
            ret = FL_EXIT_IO;
            break;
        }
        fl_diag_t diag;
        if (fl_event_parse(ev, r.buf, r.len, 0, &diag) != FL_OK) {
            (*bad)++;
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            fl_event_t **p = realloc(evs, cap * sizeof *p);
            if (!p) {
                ret = FL_EXIT_IO;
                break;
            }
            evs = p;
        }
        evs[(*n)++] = ev;
        ev = NULL;
    }
    fl_event_free(ev);
    cli_reader_free(&r);
    if (f != stdin) fclose(f);
    if (rc < 0 && !ret) {
        fprintf(stderr, "faultline bench: %s: read error\n", path ? path : "-");
        ret = FL_EXIT_IO;
    } else if (ret) {
        fprintf(stderr, "faultline bench: out of memory\n");
    }
    *out = evs;
    return ret;
}

int cli_bench(int argc, char **argv)
{
    static const struct option longs[] = {{"policy", required_argument, 0, 'p'},
                                          {"threads", required_argument, 0, 'j'},
                                          {"seconds", required_argument, 0, 's'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    const char *dir = NULL;
    int threads = 1, c;
    double seconds = 1.0;
    char *end;
    while ((c = getopt_long(argc, argv, "p:j:h", longs, NULL)) != -1) {
        switch (c) {
        case 'p': dir = optarg; break;
        case 'j': {
            unsigned long long t = strtoull(optarg, &end, 10);
            if (*end || !*optarg || t < 1 || t > 256)
                return fprintf(stderr, "faultline bench: --threads needs a number from 1 to 256\n"), FL_EXIT_USAGE;
            threads = (int)t;
            break;
        }
        case 's':
            seconds = strtod(optarg, &end);
            if (*end || !(seconds >= 0.05 && seconds <= 600))
                return fprintf(stderr, "faultline bench: --seconds needs a number from 0.05 to 600\n"), FL_EXIT_USAGE;
            break;
        case 'h': fputs(k_help, stdout); return FL_EXIT_OK;
        default: fputs(k_help, stderr); return FL_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fputs(k_help, stderr);
        return FL_EXIT_USAGE;
    }
    const char *file = optind < argc ? argv[optind] : "-";
    dir = cli_policy_dir(dir, argv[0]);
    fl_engine_t *e = NULL;
    fl_diag_t diag;
    char buf[1200];
    int rc = FL_EXIT_OK;
    fl_event_t **evs = NULL;
    size_t nev = 0, bad = 0;
    struct bench_thread *ts = NULL;
    if (fl_engine_new(NULL, &e) != FL_OK) {
        fprintf(stderr, "faultline bench: out of memory\n");
        return FL_EXIT_IO;
    }
    if (fl_engine_load(e, dir, &diag) != FL_OK) {
        fprintf(stderr, "faultline bench: cannot load policy %s:\n  %s\n", dir, fl_diag_format(&diag, buf, sizeof buf));
        rc = FL_EXIT_POLICY;
        goto done;
    }
    if ((rc = read_events(file, &evs, &nev, &bad)) != 0) goto done;
    if (nev == 0) {
        fprintf(stderr, "faultline bench: %s holds no valid event (%zu malformed lines)\n", file, bad);
        rc = FL_EXIT_BAD_INPUT;
        goto done;
    }
    ts = calloc((size_t)threads, sizeof *ts);
    if (!ts) {
        rc = FL_EXIT_IO;
        goto done;
    }
    int started = 0;
    for (int i = 0; i < threads; i++) {
        ts[i] = (struct bench_thread){.engine = e, .evs = evs, .nev = nev, .seconds = seconds};
        if (pthread_create(&ts[i].tid, NULL, bench_main, &ts[i]) != 0) break;
        started++;
    }
    uint64_t decisions = 0, lua = 0, ns = 0, wall = 0;
    struct rtable all = {0};
    int failed = started < threads;
    for (int i = 0; i < started; i++) {
        pthread_join(ts[i].tid, NULL);
        decisions += ts[i].decisions;
        lua += ts[i].lua;
        ns += ts[i].ns;
        if (ts[i].ns > wall) wall = ts[i].ns;
        failed |= ts[i].failed;
        for (size_t k = 0; k < ts[i].rules.cap; k++)
            if (ts[i].rules.v[k].name && rt_add(&all, ts[i].rules.v[k].name, ts[i].rules.v[k].n, ts[i].rules.v[k].ns))
                failed = 1;
        rt_free(&ts[i].rules);
    }
    if (failed || !decisions) {
        fprintf(stderr, "faultline bench: cannot run the deciding threads\n");
        rc = FL_EXIT_IO;
        rt_free(&all);
        goto done;
    }
    fl_version_info_t vi;
    fl_engine_current(e, &vi);
    printf("policy %s %s (id %s, %u rules); %zu events from %s (%zu malformed lines skipped); %d thread%s\n", vi.name,
           vi.version, vi.id, vi.rules, nev, file, bad, threads, threads > 1 ? "s" : "");
    printf("%llu decisions in %.2f s: %.0f decisions/s, %.0f ns/decision (per thread, timer included)\n",
           (unsigned long long)decisions, (double)wall / 1e9, (double)decisions * 1e9 / (double)wall,
           (double)ns / (double)decisions);
    printf("entered Lua: %.1f%% of decisions\n", 100.0 * (double)lua / (double)decisions);
    qsort(all.v, all.cap, sizeof *all.v, by_time);
    printf("costliest rules (time of the decisions that ended on them):\n");
    printf("  %-40s %7s %12s %12s\n", "rule", "time %", "decisions", "ns/decision");
    for (size_t k = 0; k < all.cap && k < 10 && all.v[k].name; k++)
        printf("  %-40.40s %6.1f%% %12llu %12.0f\n", all.v[k].name, 100.0 * (double)all.v[k].ns / (double)ns,
               (unsigned long long)all.v[k].n, (double)all.v[k].ns / (double)all.v[k].n);
    rt_free(&all);
done:
    free(ts);
    for (size_t i = 0; i < nev; i++) fl_event_free(evs[i]);
    free(evs);
    fl_engine_free(e);
    return rc;
}
