/*
 * bench_reload.c -- what a hot reload costs.
 *
 *  1. Reload time: fl_engine_load of a generated 1,000-rule policy directory
 *     (domain/code rules, message patterns with literals, refined categories,
 *     messages in two locales, examples that every load runs), alternating
 *     between two contents so every load publishes; median and max of 20.
 *  2. Decide latency: one decider thread times every fl_decide with
 *     CLOCK_MONOTONIC over a realistic mixed stream, first steady (no
 *     reloads), then while a second thread reloads the same policy at a fixed
 *     interval; p50 / p99 / p99.9 / max and the ratio p99(reload)/p99(steady).
 *     The decisions that re-pinned to a new version (the first after each
 *     reload) are also reported on their own: that is where the swap, and
 *     possibly the free of the old version, lands on the decider.
 *
 * Scenarios (each prints its own block):
 *   A  declarative events only, reloads every INTERVAL ms, versions_kept 8
 *   B  same, reloads back to back (worst case for 2 cores)
 *   C  same as A with versions_kept 1: the old version is dropped from the
 *      history at publish while the decider still holds it, so its last
 *      reference -- and its free -- goes on the decider thread
 *   D  as A, but 1% of events hit a rule with a handler: the first handler
 *      call after each reload builds the context's Lua state for the new
 *      version (re-running the policy's files) on the decider thread
 *
 * Usage: bench_reload [decisions per phase, default 2000000] [interval ms, default 50]
 * Prints figures, asserts nothing.  The machine has 2 cores; the load average
 * is printed with each phase because other processes may be running.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultline.h"
#include "stream.h"

#define NRULES 1000
#define NEVENTS 50000

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void loadavg(char *buf, size_t n)
{
    double l[3] = {0, 0, 0};
    if (getloadavg(l, 3) != 3) snprintf(buf, n, "?");
    else snprintf(buf, n, "%.2f %.2f %.2f", l[0], l[1], l[2]);
}

/* ---- the policy ----------------------------------------------------------- */

static const char *const k_cats[] = {"cancelled",      "unknown",          "invalid_argument", "deadline_exceeded",
                                     "not_found",      "already_exists",   "permission_denied", "resource_exhausted",
                                     "failed_precondition", "aborted",     "out_of_range",     "unimplemented",
                                     "internal",       "unavailable",      "data_loss",        "unauthenticated"};
#define NCATS 16

static FILE *open_in(const char *dir, const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    return f;
}

/* Hand-written rules for the stream's real-world events (stream.h). */
static const char *const k_real_rules =
    "rule \"http-unavailable\" { when = { domain = \"http\", code = { 502, 503, 504 } }, category = \"unavailable.http\" }\n"
    "rule \"http-429\" { when = { domain = \"http\", code = 429 }, category = \"resource_exhausted.rate_limited\" }\n"
    "rule \"http-500\" { when = { domain = \"http\", code = 500 }, category = \"internal\" }\n"
    "rule \"http-404\" { when = { domain = \"http\", code = 404 }, category = \"not_found\" }\n"
    "rule \"http-401\" { when = { domain = \"http\", code = 401 }, category = \"unauthenticated\" }\n"
    "rule \"http-400\" { when = { domain = \"http\", code = 400 }, category = \"invalid_argument\" }\n"
    "rule \"posix-refused\" { when = { domain = \"posix\", code = \"ECONNREFUSED\" }, category = \"unavailable.connection_refused\" }\n"
    "rule \"posix-nospc\" { when = { domain = \"posix\", code = \"ENOSPC\" }, category = \"resource_exhausted.disk_full\" }\n"
    "rule \"posix-noent\" { when = { domain = \"posix\", code = \"ENOENT\" }, category = \"not_found\" }\n"
    "rule \"posix-mfile\" { when = { domain = \"posix\", code = \"EMFILE\" }, category = \"resource_exhausted.fds\" }\n"
    "rule \"pg-serialization\" { when = { domain = \"postgres\", code = { \"40001\", \"40P01\" } }, category = \"aborted\" }\n"
    "rule \"pg-unique\" { when = { domain = \"postgres\", code = \"23505\" }, category = \"already_exists\" }\n"
    "rule \"pg-53\" { when = { domain = \"postgres\", code = re[[^53]] }, category = \"resource_exhausted\" }\n"
    "rule \"pg-cancel\" { when = { domain = \"postgres\", code = \"57014\" }, category = \"deadline_exceeded\" }\n"
    "rule \"grpc-unavailable\" { when = { domain = \"grpc\", code = { \"UNAVAILABLE\", 14 } }, category = \"unavailable\" }\n"
    "rule \"grpc-deadline\" { when = { domain = \"grpc\", code = \"DEADLINE_EXCEEDED\" }, category = \"deadline_exceeded\" }\n"
    "rule \"aws-throttle\" { when = { domain = \"aws\", code = { \"ThrottlingException\", \"ProvisionedThroughputExceededException\" } }, category = \"resource_exhausted.rate_limited\" }\n"
    "rule \"aws-denied\" { when = { domain = \"aws\", code = \"AccessDeniedException\" }, category = \"permission_denied\" }\n"
    "rule \"redis-readonly\" { when = { domain = \"redis\", code = \"READONLY\" }, category = \"unavailable.replica\" }\n"
    "rule \"mysql-deadlock\" { when = { domain = \"mysql\", code = 1213 }, category = \"aborted\" }\n"
    "rule \"sqlite-busy\" { when = { domain = \"sqlite\", code = \"SQLITE_BUSY\" }, category = \"unavailable.busy\" }\n"
    "rule \"curl-connect\" { when = { domain = \"curl\", code = 7 }, category = \"unavailable.connection_refused\" }\n"
    "rule \"msg-refused\" { when = { message = re[[(?i)connection refused|ECONNREFUSED]] }, category = \"unavailable.connection_refused\" }\n"
    "rule \"msg-reset\" { when = { message = re[[(?i)connection reset]] }, category = \"unavailable.connection_reset\" }\n"
    "rule \"msg-timeout\" { when = { message = re[[(?i)timed out|timeout]] }, category = \"deadline_exceeded\" }\n"
    "rule \"msg-deadline\" { when = { message = re[[context deadline exceeded]] }, category = \"deadline_exceeded\" }\n"
    "rule \"msg-canceled\" { when = { message = re[[(?i)\\bcancel(?:l)?ed\\b]] }, category = \"cancelled\" }\n"
    "rule \"msg-nospace\" { when = { message = re[[(?i)no space left on device]] }, category = \"resource_exhausted.disk_full\" }\n"
    "rule \"msg-fds\" { when = { message = re[[(?i)too many open files]] }, category = \"resource_exhausted.fds\" }\n"
    "rule \"msg-oom\" { when = { message = re[[OutOfMemoryError|OOM command not allowed]] }, category = \"resource_exhausted.memory\" }\n"
    "rule \"msg-denied\" { when = { message = re[[(?i)permission denied]] }, category = \"permission_denied\" }\n"
    "rule \"msg-notfound\" { when = { message = re[[(?i)no such (?:file|host)|not found|ENOTFOUND]] }, category = \"not_found\" }\n"
    "rule \"msg-duplicate\" { when = { message = re[[duplicate key value violates unique constraint \"(?<constraint>\\w+)\"]] }, category = \"already_exists\" }\n"
    "rule \"msg-serialize\" { when = { message = re[[could not serialize access]] }, category = \"aborted\" }\n"
    "rule \"msg-cert\" { when = { message = re[[x509: certificate has expired]] }, category = \"unavailable.tls\" }\n"
    "rule \"msg-moved\" { when = { message = re[[^MOVED \\d+ ]] }, category = \"unavailable.moved\" }\n"
    "rule \"msg-unsupported\" { when = { message = re[[(?i)not (?:supported|implemented)|NotImplementedError]] }, category = \"unimplemented\" }\n"
    "rule \"msg-json\" { when = { message = re[[JSONDecodeError]] }, category = \"invalid_argument.json\" }\n"
    "rule \"msg-bug\" { when = { message = re[[TypeError: Cannot read properties|index out of range]] }, category = \"internal.bug\" }\n"
    "rule \"msg-502\" { when = { message = re[[502 Bad Gateway]] }, category = \"unavailable.http\" }\n";
#define NREAL 40

/* Handler rule: 1% of events in scenario D have op "payments.charge". */
static const char *const k_handler_rule =
    "rule \"charge-fallback\" { priority = 5, when = { op = \"payments.charge\" }, category = \"unavailable\",\n"
    "  handler = function(ev, d)\n"
    "    if ev.attempt >= 2 then return { action = \"fallback\", fallback = { status = \"queued\" } } end\n"
    "  end }\n";

/* Write the policy into dir; `variant` changes the version label (and thus
 * the content hash) so alternate loads publish. */
static void write_policy(const char *dir, int variant)
{
    mkdir(dir, 0755);
    FILE *f = open_in(dir, "00-policy.lua");
    fprintf(f, "policy { name = \"bench-1000\", version = \"1.0.%d\", default_locale = \"en\" }\n", variant);
    for (int c = 0; c < NCATS; c++) {
        int retry = c == 3 || c == 7 || c == 9 || c == 13;
        fprintf(f, "category \"%s\" { severity = \"%s\", retryable = %s, recovery = %s }\n", k_cats[c],
                c == 14 ? "critical" : c == 0 ? "info" : "error", retry ? "true" : "false",
                retry ? "retry { backoff = \"exponential\", base_ms = 100, max_delay_ms = 20000, max_attempts = 4 }"
                      : "fail()");
        for (int r = 0; r < 6; r++)
            fprintf(f, "category \"%s.g%d\" { severity = \"%s\" }\n", k_cats[c], r, r % 2 ? "warning" : "error");
    }
    fclose(f);

    /* 1,000 rules in four files: the real ones, then generated ones --
     * 40% domain/code, 60% message patterns with a literal. */
    FILE *rf[3] = {open_in(dir, "10-rules.lua"), open_in(dir, "11-rules.lua"), open_in(dir, "12-rules.lua")};
    fputs(k_real_rules, rf[0]);
    fputs(k_handler_rule, rf[0]);
    for (int i = NREAL + 1; i < NRULES; i++) {
        FILE *o = rf[i * 3 / NRULES];
        const char *cat = k_cats[i % NCATS];
        if (i % 5 < 2) {
            fprintf(o, "rule \"gen-code-%d\" { when = { domain = \"svc%d\", code = %d }, category = \"%s.g%d\"%s }\n", i,
                    i % 37, i, cat, i % 6, i % 10 == 0 ? ", params = { shard = 3, mode = \"ro\" }" : "");
        } else {
            switch (i % 3) {
            case 0:
                fprintf(o, "rule \"gen-msg-%d\" { when = { message = re[[(?i)failure w%dx(?: at (?<where>\\w+))?]] }, "
                           "category = \"%s.g%d\" }\n", i, i, cat, i % 6);
                break;
            case 1:
                fprintf(o, "rule \"gen-msg-%d\" { when = { message = re[[E%05d: (?<what>[a-z]+) failed]] }, "
                           "category = \"%s\" }\n", i, i, cat);
                break;
            default:
                fprintf(o, "rule \"gen-msg-%d\" { when = { message = re[[(?i)\\bquota q%d exceeded\\b]], "
                           "op = present }, category = \"%s.g%d\", priority = %d }\n", i, i, cat, i % 6, i % 4);
                break;
            }
        }
    }
    for (int i = 0; i < 3; i++) fclose(rf[i]);

    /* Messages in two locales, with placeholders. */
    static const char *const loc[2] = {"en", "fr"};
    static const char *const tmpl[2] = {"%s: the operation {op|} failed (attempt {attempt}). Retry in {delay_s|a few} s.",
                                        "%s : l'operation {op|} a echoue (tentative {attempt})."};
    f = open_in(dir, "30-messages.lua");
    for (int l = 0; l < 2; l++) {
        fprintf(f, "messages \"%s\" {\n", loc[l]);
        for (int c = 0; c < NCATS; c++) {
            fprintf(f, "  [\"%s\"] = \"", k_cats[c]);
            fprintf(f, tmpl[l], k_cats[c]);
            fprintf(f, "\",\n");
            for (int r = 0; r < 6; r += 2) {
                fprintf(f, "  [\"%s.g%d\"] = \"", k_cats[c], r);
                fprintf(f, tmpl[l], k_cats[c]);
                fprintf(f, " (g%d)\",\n", r);
            }
        }
        fprintf(f, "}\n");
    }
    fclose(f);

    /* Examples: every load runs them. */
    f = open_in(dir, "90-examples.lua");
    fprintf(f, "example \"refused\" { event = { message = \"dial tcp 10.0.0.1:5432: connect: connection refused\" },\n"
               "  expect = { category = \"unavailable.connection_refused\" } }\n"
               "example \"http 503\" { event = { domain = \"http\", code = 503 }, expect = { category = \"unavailable.http\" } }\n"
               "example \"fr\" { event = { domain = \"http\", code = 404 }, locale = \"fr\", expect = { locale = \"fr\" } }\n");
    for (int i = NREAL + 5; i < NRULES; i += 97)
        fprintf(f, "example \"gen %d\" { event = { domain = \"svc%d\", code = %d, message = \"x\" }, "
                   "expect = { rule = \"gen-code-%d\" } }\n", i - i % 5, (i - i % 5) % 37, i - i % 5, i - i % 5);
    fclose(f);
}

/* ---- the event stream ----------------------------------------------------- */

/* 50% stream.h (real-world, many misses), 25% generated codes, 25% generated
 * messages; `handler_pct` percent get op "payments.charge". */
static fl_event_t **make_events(int handler_pct)
{
    bs_state = 88172645463325252ull;
    fl_event_t **evs = malloc(NEVENTS * sizeof *evs);
    char msg[256], dom[16], code[16];
    for (size_t i = 0; i < NEVENTS; i++) {
        fl_event_new(&evs[i]);
        fl_event_t *ev = evs[i];
        int k = NREAL + 1 + (int)(bs_rand() % (NRULES - NREAL - 1));
        switch (i % 4) {
        case 0:
            fl_event_reset(ev);
            snprintf(dom, sizeof dom, "svc%d", k % 37);
            snprintf(code, sizeof code, "%d", k);
            fl_event_set(ev, FL_FIELD_DOMAIN, dom, (size_t)-1);
            fl_event_set(ev, FL_FIELD_CODE, code, (size_t)-1);
            fl_event_set(ev, FL_FIELD_MESSAGE, "request failed", (size_t)-1);
            break;
        case 1:
            fl_event_reset(ev);
            if (k % 3 == 1) snprintf(msg, sizeof msg, "E%05d: upload failed for tenant %u", k, bs_rand() % 1000);
            else if (k % 3 == 2) snprintf(msg, sizeof msg, "worker %u: quota q%d exceeded", bs_rand() % 64, k);
            else snprintf(msg, sizeof msg, "worker 17: failure w%dx at stage%u, retrying later", k, bs_rand() % 9);
            fl_event_set(ev, FL_FIELD_MESSAGE, msg, (size_t)-1);
            fl_event_set(ev, FL_FIELD_OP, "jobs.run", (size_t)-1);
            break;
        default:
            bs_event(ev, i);
            break;
        }
        if (handler_pct && (int)(bs_rand() % 100) < handler_pct)
            fl_event_set(ev, FL_FIELD_OP, "payments.charge", (size_t)-1);
    }
    return evs;
}

/* ---- reload timing ---------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int load_or_die(fl_engine_t *e, const char *dir)
{
    fl_diag_t dg;
    int rc = fl_engine_load(e, dir, &dg);
    if (rc != FL_OK) {
        char b[1200];
        fprintf(stderr, "load %s failed: %s (%s)\n", dir, fl_diag_format(&dg, b, sizeof b), fl_strerror(rc));
        exit(1);
    }
    return rc;
}

static void bench_load(const char *dirs[2])
{
    fl_engine_t *e;
    fl_engine_new(NULL, &e);
    load_or_die(e, dirs[1]);
    uint64_t t[20];
    for (int i = 0; i < 20; i++) {
        uint64_t t0 = mono_ns();
        load_or_die(e, dirs[i % 2]);
        t[i] = mono_ns() - t0;
    }
    /* identical content: built and validated, then not republished */
    uint64_t same[5];
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = mono_ns();
        load_or_die(e, dirs[1]);
        same[i] = mono_ns() - t0;
    }
    fl_version_info_t vi;
    fl_engine_current(e, &vi);
    qsort(t, 20, sizeof *t, cmp_u64);
    qsort(same, 5, sizeof *same, cmp_u64);
    char la[64];
    loadavg(la, sizeof la);
    printf("reload of a %u-rule policy (%u examples, 2 locales, 5 files): median %.1f ms, min %.1f ms, max %.1f ms "
           "over 20 loads  [target <= 50 ms]  (identical content: median %.1f ms)  load avg %s\n",
           vi.rules, vi.examples, t[9] / 1e6, t[0] / 1e6, t[19] / 1e6, same[2] / 1e6, la);
    fl_engine_free(e);

    /* What freeing one version costs (the work a decider does when it drops
     * the last reference): an engine holding exactly one version, freed. */
    uint64_t fr[5];
    for (int i = 0; i < 5; i++) {
        fl_engine_options_t o = {0};
        o.versions_kept = 1;
        fl_engine_new(&o, &e);
        load_or_die(e, dirs[0]);
        uint64_t t0 = mono_ns();
        fl_engine_free(e);
        fr[i] = mono_ns() - t0;
    }
    qsort(fr, 5, sizeof *fr, cmp_u64);
    printf("freeing one version of that policy: median %.2f ms, max %.2f ms over 5\n", fr[2] / 1e6, fr[4] / 1e6);
}

/* ---- decide latency ---------------------------------------------------------- */

typedef struct run {
    fl_engine_t *e;
    fl_event_t **evs;
    size_t n;
    uint32_t *lat;      /* ns per decision */
    uint32_t *repin;    /* latencies of the decisions that moved to a new version */
    size_t nrepin;
    uint32_t *hfirst;   /* first handler decision after a move */
    size_t nhfirst;
    long errors;
    atomic_int *done;
} run;

static void *decider_main(void *arg)
{
    run *r = arg;
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_ctx_new(r->e, &ctx);
    fl_decision_new(&d);
    for (size_t i = 0; i < NEVENTS; i++) fl_decide(ctx, r->evs[i], NULL, 0, d); /* warm up */
    char last[17];
    memcpy(last, fl_decision_policy_version(d), 17);
    int handler_cold = 0;
    for (size_t i = 0; i < r->n; i++) {
        const fl_event_t *ev = r->evs[i % NEVENTS];
        const char *loc = (i % 7 == 0) ? "fr" : NULL;
        uint64_t t0 = mono_ns();
        int rc = fl_decide(ctx, ev, loc, 0, d);
        uint64_t dt = mono_ns() - t0;
        uint32_t ns = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
        r->lat[i] = ns;
        if (rc != FL_OK) r->errors++;
        const char *id = fl_decision_policy_version(d);
        if (memcmp(id, last, 16) != 0) {
            memcpy(last, id, 16);
            if (r->nrepin < 100000) r->repin[r->nrepin++] = ns;
            handler_cold = 1;
        }
        if (handler_cold) {
            const char *op = fl_event_get(ev, FL_FIELD_OP);
            if (op && strcmp(op, "payments.charge") == 0) {
                if (r->nhfirst < 100000) r->hfirst[r->nhfirst++] = ns;
                handler_cold = 0;
            }
        }
    }
    atomic_store(r->done, 1);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return NULL;
}

typedef struct reloader {
    fl_engine_t *e;
    const char **dirs;
    uint32_t interval_ms;
    atomic_int *done;
    uint64_t *times;
    size_t n, cap;
    long errors;
} reloader;

static void *reloader_main(void *arg)
{
    reloader *rl = arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; !atomic_load(rl->done); i++) {
        if (rl->interval_ms) {
            next.tv_nsec += (long)rl->interval_ms * 1000000L;
            while (next.tv_nsec >= 1000000000L) {
                next.tv_nsec -= 1000000000L;
                next.tv_sec++;
            }
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
            }
            if (atomic_load(rl->done)) break;
        }
        fl_diag_t dg;
        uint64_t t0 = mono_ns();
        int rc = fl_engine_load(rl->e, rl->dirs[i % 2], &dg);
        uint64_t dt = mono_ns() - t0;
        if (rc != FL_OK) rl->errors++;
        if (rl->n < rl->cap) rl->times[rl->n++] = dt;
    }
    return NULL;
}

typedef struct stats {
    double p50, p99, p999, max, mean;
} stats;

static stats summarize(uint32_t *v, size_t n)
{
    stats s = {0, 0, 0, 0, 0};
    if (!n) return s;
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    qsort(v, n, sizeof *v, cmp_u32);
    s.p50 = v[n / 2];
    s.p99 = v[(size_t)((double)n * 0.99)];
    s.p999 = v[(size_t)((double)n * 0.999)];
    s.max = v[n - 1];
    s.mean = sum / (double)n;
    return s;
}

static void print_stats(const char *label, stats s, long errors, size_t n, double secs)
{
    char la[64];
    loadavg(la, sizeof la);
    printf("  %-26s p50 %6.0f ns  p99 %7.0f ns  p99.9 %8.0f ns  max %10.0f ns  mean %6.0f ns  "
           "%.2f M dec/s  errors %ld  load avg %s\n",
           label, s.p50, s.p99, s.p999, s.max, s.mean, (double)n / secs / 1e6, errors, la);
}

/* One phase: the decider alone, or with a reloader every interval_ms
 * (interval 0: back to back; interval < 0: no reloader). */
static stats phase(const char *label, fl_engine_t *e, fl_event_t **evs, size_t n, const char **dirs, int interval_ms,
                   int show_handler)
{
    atomic_int done;
    atomic_init(&done, 0);
    run r = {e, evs, n, malloc(n * sizeof(uint32_t)), malloc(100000 * sizeof(uint32_t)), 0,
             malloc(100000 * sizeof(uint32_t)), 0, 0, &done};
    reloader rl = {e, dirs, interval_ms > 0 ? (uint32_t)interval_ms : 0, &done, malloc(100000 * sizeof(uint64_t)), 0,
                   100000, 0};
    pthread_t td, tr;
    uint64_t t0 = mono_ns();
    pthread_create(&td, NULL, decider_main, &r);
    if (interval_ms >= 0) pthread_create(&tr, NULL, reloader_main, &rl);
    pthread_join(td, NULL);
    if (interval_ms >= 0) pthread_join(tr, NULL);
    double secs = (double)(mono_ns() - t0) / 1e9;
    stats s = summarize(r.lat, n);
    print_stats(label, s, r.errors, n, secs);
    if (interval_ms >= 0) {
        qsort(rl.times, rl.n, sizeof *rl.times, cmp_u64);
        stats rp = summarize(r.repin, r.nrepin);
        printf("  %-26s %zu reloads (%ld failed), load median %.1f ms max %.1f ms; the %zu decisions that moved to "
               "a new version: p50 %.0f ns  p99 %.0f ns  max %.0f ns\n",
               "", rl.n, rl.errors, rl.n ? rl.times[rl.n / 2] / 1e6 : 0, rl.n ? rl.times[rl.n - 1] / 1e6 : 0,
               r.nrepin, rp.p50, rp.p99, rp.max);
        if (show_handler && r.nhfirst) {
            stats hf = summarize(r.hfirst, r.nhfirst);
            printf("  %-26s first handler decision after each move (%zu): p50 %.2f ms  max %.2f ms\n", "", r.nhfirst,
                   hf.p50 / 1e6, hf.max / 1e6);
        }
    }
    free(r.lat);
    free(r.repin);
    free(r.hfirst);
    free(rl.times);
    return s;
}

static void scenario(const char *title, const char **dirs, size_t n, int interval_ms, uint32_t kept, int handler_pct)
{
    fl_engine_options_t o = {0};
    o.versions_kept = kept;
    fl_engine_t *e;
    fl_engine_new(&o, &e);
    load_or_die(e, dirs[0]);
    fl_event_t **evs = make_events(handler_pct);
    printf("\n%s\n", title);
    stats st = phase("steady (no reloads)", e, evs, n, dirs, -1, 0);
    char label[64];
    if (interval_ms) snprintf(label, sizeof label, "reload every %d ms", interval_ms);
    else snprintf(label, sizeof label, "reloads back to back");
    stats rl = phase(label, e, evs, n, dirs, interval_ms, handler_pct > 0);
    printf("  p99(reload)/p99(steady) = %.2f  [target <= 2.0]   p99.9 ratio %.2f   max ratio %.1f\n", rl.p99 / st.p99,
           rl.p999 / st.p999, rl.max / st.max);
    for (size_t i = 0; i < NEVENTS; i++) fl_event_free(evs[i]);
    free(evs);
    fl_engine_free(e);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
    int interval = argc > 2 ? atoi(argv[2]) : 50;
    if (n < 1000) n = 1000;
    char base[] = "/tmp/flbenchXXXXXX";
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    char a[64], b[64];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(b, sizeof b, "%s/b", base);
    write_policy(a, 1);
    write_policy(b, 2);
    const char *dirs[2] = {a, b};
    char la[64];
    loadavg(la, sizeof la);
    printf("faultline bench_reload: %ld CPUs online, load avg %s, %zu decisions per phase, 1 decider thread\n",
           sysconf(_SC_NPROCESSORS_ONLN), la, n);
    bench_load(dirs);

    char t[128];
    snprintf(t, sizeof t, "A. declarative events, reload every %d ms, versions_kept 8", interval);
    scenario(t, dirs, n, interval, 8, 0);
    scenario("B. declarative events, reloads back to back, versions_kept 8", dirs, n, 0, 8, 0);
    snprintf(t, sizeof t, "C. as A with versions_kept 1 (old version freed by the decider's last unref)");
    scenario(t, dirs, n, interval, 1, 0);
    snprintf(t, sizeof t, "D. as A with 1%% of events hitting a handler rule");
    scenario(t, dirs, n, interval, 8, 1);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
    return 0;
}
