/*
 * bench_versions.c -- the memory a kept version costs, and that it stays
 * bounded over many reloads (issue 22, point 7).
 *
 * The stock pack (policies/, 2,576 rules) is copied to a temporary
 * directory; each reload rewrites one extra file there (a comment carrying
 * the reload number), so every load is a new version that is built and
 * published, and the oldest of the kept ones (versions_kept, default 8) is
 * dropped.  A context decides one event after each reload, so versions are
 * also pinned and released the way a deciding thread does it.
 *
 * Printed:
 *   - heap in use (mallinfo2) and RSS after the engine is created, after the
 *     first load, and after each load until the history is full: the cost of
 *     one kept version is the heap growth per load while nothing is dropped;
 *   - heap and RSS every REPORT reloads up to N, and the growth between the
 *     first checkpoint after the history filled and the last one: bounded
 *     means that growth stays near zero however long the run.
 *
 * Usage: bench_versions [reloads, default 1000] [versions kept, default 8]
 * (the long run of docs/architecture.md: bench_versions 10000)
 * Prints figures, asserts nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faultline.h"

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* malloc'd bytes in use, small (arenas) and large (mmapped) chunks alike.
 * PCRE2's JIT code is mmapped by PCRE2 itself: it shows in RSS only. */
static double heap_mb(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)(mi.uordblks + mi.hblkhd) / (1 << 20);
}

/* What malloc holds from the system (arenas + mmapped chunks): in use + free. */
static double footprint_mb(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)(mi.arena + mi.hblkhd) / (1 << 20);
}

static double rss_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

static int copy_pack(const char *from, const char *to)
{
    DIR *d = opendir(from);
    if (!d) return -1;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".lua") != 0) continue;
        char a[4096], b[4096], buf[65536];
        snprintf(a, sizeof a, "%s/%s", from, de->d_name);
        snprintf(b, sizeof b, "%s/%s", to, de->d_name);
        FILE *in = fopen(a, "rb"), *out = fopen(b, "wb");
        size_t r;
        while (in && out && (r = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, r, out);
        if (in) fclose(in);
        if (out) fclose(out);
        n++;
    }
    closedir(d);
    return n;
}

static void bump(const char *dir, long k)
{
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.zz-bench.tmp", dir);
    snprintf(dst, sizeof dst, "%s/zz-bench.lua", dir);
    FILE *f = fopen(tmp, "wb");
    if (!f) return;
    fprintf(f, "-- reload %ld\n", k);
    fclose(f);
    rename(tmp, dst);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    uint32_t kept = argc > 2 ? (uint32_t)atol(argv[2]) : 8;
    if (n < kept + 2) n = kept + 2;
    char dir[] = "/tmp/bench_versionsXXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    if (copy_pack(FL_SOURCE_DIR "/policies", dir) <= 0) return fprintf(stderr, "cannot copy the stock pack\n"), 1;

    printf("bench_versions: stock pack, %ld reloads, versions_kept %u\n", n, kept);
    double h0 = heap_mb(), r0 = rss_mb();
    fl_engine_options_t o = {0};
    o.versions_kept = kept;
    o.seed = 1;
    fl_engine_t *e = NULL;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_diag_t diag;
    if (fl_engine_new(&o, &e) != FL_OK || fl_ctx_new(e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK ||
        fl_decision_new(&d) != FL_OK)
        return fprintf(stderr, "out of memory\n"), 1;
    const char *evj = "{\"domain\":\"http\",\"code\":503,\"message\":\"upstream connect error\"}";
    if (fl_event_from_json(ev, evj, strlen(evj), &diag) != FL_OK) return 1;
    printf("  %-28s heap %8.1f MB  rss %8.1f MB\n", "before the engine", h0, r0);
    printf("  %-28s heap %8.1f MB  rss %8.1f MB\n", "engine created", heap_mb(), rss_mb());

    double heap_at[64] = {0}, t0 = mono_s(), worst = 0;
    double plateau_heap = 0, plateau_rss = 0, last_heap = 0, last_rss = 0;
    long report = n >= 2000 ? 1000 : n / 8 > 0 ? n / 8 : 1, plateau_at = 0, failed = 0;
    for (long k = 1; k <= n; k++) {
        bump(dir, k);
        double t = mono_s();
        if (fl_engine_load(e, dir, &diag) != FL_OK) {
            failed++;
            fprintf(stderr, "reload %ld failed: %s\n", k, diag.message);
            continue;
        }
        t = mono_s() - t;
        if (t > worst) worst = t;
        if (fl_decide(ctx, ev, NULL, 0, d) != FL_OK) failed++;
        if (k <= (long)kept + 1 && k < 64) {
            heap_at[k] = heap_mb();
            char what[64];
            snprintf(what, sizeof what, "after load %ld", k);
            printf("  %-28s heap %8.1f MB  rss %8.1f MB\n", what, heap_at[k], rss_mb());
        }
        if (k == 2L * kept) plateau_heap = heap_mb(), plateau_rss = rss_mb(), plateau_at = k;
        if (k % report == 0 || k == n) {
            last_heap = heap_mb();
            last_rss = rss_mb();
            printf("  after %6ld reloads            heap %8.1f MB  rss %8.1f MB  malloc footprint %7.1f MB  "
                   "(%.1f s, %.1f ms/reload, worst %.0f ms)\n",
                   k, last_heap, last_rss, footprint_mb(), mono_s() - t0, (mono_s() - t0) * 1e3 / (double)k,
                   worst * 1e3);
            fflush(stdout);
        }
    }
    if (kept >= 2 && kept + 1 < 64) {
        double per = (heap_at[kept] - heap_at[1]) / (kept - 1);
        printf("memory per kept version (heap growth per load while none is dropped): %.2f MB\n", per);
    }
    printf("growth from reload %ld (history full) to reload %ld: heap %+.1f MB, rss %+.1f MB\n", plateau_at, n,
           last_heap - plateau_heap, last_rss - plateau_rss);
    printf("failed reloads or decisions: %ld\n", failed);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
