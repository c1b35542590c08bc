/*
 * bench_observe.c -- what watching the engine costs (issue 16).
 *
 * Decide throughput on the stock pack over the realistic mixed stream of
 * bench/stream.h, one thread, with every observability feature off, then
 * with them on: metrics (fl_engine_metrics_enable), the decision log
 * (fl_engine_log_open) and the error registry (fl_engine_registry_open),
 * both writing to a temp dir.  Runs
 * alternate off/on five times and keep the best of each, so a neighbour's
 * CPU burst does not land on one side only.  Also printed: the deciding
 * thread's CPU with metrics only and with metrics + registry (what each
 * stage costs), how many decisions the registry counted of those made
 * while it was open, and how many took its record path.
 * Target: all on / all off >= 0.9 (the deciding thread's CPU).
 *
 * Usage: bench_observe [POLICY_DIR] [DECISIONS]   (prints figures; no asserts)
 */
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "stream.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double g_cpu_ns; /* the deciding thread's CPU time per decision, last run */

static double run(fl_ctx_t *ctx, fl_decision_t *d, fl_event_t **evs, size_t nev, size_t total, unsigned *sink)
{
    double t0 = now_s(), c0 = cpu_s();
    for (size_t i = 0; i < total; i++) {
        fl_decide(ctx, evs[i % nev], NULL, 0, d);
        *sink += (unsigned)d->action;
    }
    g_cpu_ns = (cpu_s() - c0) * 1e9 / (double)total;
    return (now_s() - t0) * 1e9 / (double)total;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : FL_SOURCE_DIR "/policies";
    size_t total = argc > 2 ? strtoull(argv[2], NULL, 10) : 300000;
    size_t nev = 50000;
    fl_engine_options_t o = {0};
    o.seed = 1;
    fl_engine_t *e;
    fl_diag_t diag;
    if (fl_engine_new(&o, &e) != FL_OK || fl_engine_load(e, dir, &diag) != FL_OK) {
        char buf[1200];
        fprintf(stderr, "bench_observe: cannot load %s: %s\n", dir, fl_diag_format(&diag, buf, sizeof buf));
        return 1;
    }
    fl_event_t **evs = malloc(nev * sizeof *evs);
    for (size_t i = 0; i < nev; i++) {
        fl_event_new(&evs[i]);
        bs_event(evs[i], i);
    }
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_ctx_new(e, &ctx);
    fl_decision_new(&d);
    unsigned sink = 0;
    run(ctx, d, evs, nev, nev, &sink); /* warm up */
    char tmpl[] = "/tmp/bench_observe_XXXXXX", path[64];
    if (!mkdtemp(tmpl)) return 1;
    snprintf(path, sizeof path, "%s/decisions.jsonl", tmpl);
    fl_log_options_t lo = {0};
    lo.path = path;
    if (getenv("FL_BENCH_RING")) lo.ring_lines = (uint32_t)atoi(getenv("FL_BENCH_RING"));
    char dbpath[80];
    snprintf(dbpath, sizeof dbpath, "%s/errors.db", tmpl);
    fl_registry_options_t ro = {0};
    ro.path = dbpath;
    ro.ring_lines = lo.ring_lines;
    double off = 1e30, on = 1e30, met = 1e30, off_cpu = 1e30, on_cpu = 1e30, met_cpu = 1e30, reg_cpu = 1e30;
    fl_log_stats_t st = {0};
    for (int r = 0; r < 5; r++) {
        fl_engine_metrics_enable(e, 0);
        double a = run(ctx, d, evs, nev, total, &sink);
        if (g_cpu_ns < off_cpu) off_cpu = g_cpu_ns;
        fl_engine_metrics_enable(e, 1);
        double m = run(ctx, d, evs, nev, total, &sink);
        if (g_cpu_ns < met_cpu) met_cpu = g_cpu_ns;
        if (fl_engine_registry_open(e, &ro, &diag) != FL_OK) {
            fprintf(stderr, "bench_observe: registry: %s\n", diag.message);
            return 1;
        }
        run(ctx, d, evs, nev, total / 2, &sink); /* metrics + registry: CPU only */
        if (g_cpu_ns < reg_cpu) reg_cpu = g_cpu_ns;
        if (fl_engine_log_open(e, &lo, &diag) != FL_OK) {
            fprintf(stderr, "bench_observe: log: %s\n", diag.message);
            return 1;
        }
        double b = run(ctx, d, evs, nev, total, &sink);
        if (g_cpu_ns < on_cpu) on_cpu = g_cpu_ns;
        fl_engine_log_close(e);
        fl_engine_registry_close(e);
        fl_log_stats_t rs;
        fl_engine_registry_stats(e, &rs);
        st.rotations += rs.written; /* (registry: decisions committed) */
        st.sampled_out += rs.dropped;
        st.unaggregated += rs.unaggregated;
        fl_log_stats_t s;
        fl_engine_log_stats(e, &s);
        st.written += s.written;
        st.dropped += s.dropped;
        unlink(path);
        char side[100];
        unlink(dbpath);
        snprintf(side, sizeof side, "%s-wal", dbpath);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", dbpath);
        unlink(side);
        if (a < off) off = a;
        if (m < met) met = m;
        if (b < on) on = b;
    }
    fl_engine_metrics_enable(e, 0);
    DIR *dd = opendir(tmpl); /* the rotated, compressed logs */
    for (struct dirent *de; dd && (de = readdir(dd));) {
        char f[400];
        if (de->d_name[0] == '.') continue;
        snprintf(f, sizeof f, "%s/%s", tmpl, de->d_name);
        unlink(f);
    }
    if (dd) closedir(dd);
    if (rmdir(tmpl) != 0) fprintf(stderr, "bench_observe: cannot remove %s\n", tmpl);
    printf("decide, all off:             %8.0f ns/decision  %10.0f decisions/s\n", off, 1e9 / off);
    printf("decide, metrics on:          %8.0f ns/decision  %10.0f decisions/s  (%.3fx)\n", met, 1e9 / met, off / met);
    printf("decide, metrics+log+registry:%8.0f ns/decision  %10.0f decisions/s\n", on, 1e9 / on);
    printf("throughput all on / all off: %8.3f  (wall clock; the writer threads compete for the cores)\n", off / on);
    printf("deciding thread CPU per decision: off %.0f ns, metrics %.0f, metrics+registry %.0f, all on %.0f ns"
           " -> %.3fx  (target >= 0.9)\n",
           off_cpu, met_cpu, reg_cpu, on_cpu, off_cpu / on_cpu);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double la[1] = {0};
    if (getloadavg(la, 1) == 1) printf("(%ld cores online, load average %.2f)\n", ncpu, la[0]);
    printf("log lines written %llu, dropped (ring full) %llu; registry decisions counted %llu of %llu, dropped %llu\n",
           (unsigned long long)st.written, (unsigned long long)st.dropped, (unsigned long long)st.rotations,
           (unsigned long long)(5 * (total + total / 2)), (unsigned long long)st.sampled_out);
    printf("registry: decisions that took the record path (table full) %llu\n", (unsigned long long)st.unaggregated);
    printf("(sink %u)\n", sink);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    for (size_t i = 0; i < nev; i++) fl_event_free(evs[i]);
    free(evs);
    fl_engine_free(e);
    return 0;
}
