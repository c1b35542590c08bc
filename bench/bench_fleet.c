/*
 * bench_fleet.c -- fleet mode figures (docs/fleet.md).  Starts its own
 * redis-server (Debian's) on an ephemeral port under a temp dir.
 *
 *   bench_fleet [decisions]          default 2000000
 *
 * Prints:
 *   1. decide (ns per decision) through a rule bound to a breaker and a
 *      retry budget, both scope = "local" vs both "fleet" with the
 *      synchroniser running against Redis, and the ratio (target <= 1.2);
 *      the same for admission (fl_admit + fl_complete) through a breaker
 *      and a limiter (the fleet limiter spends leased tokens);
 *   2. convergence: one instance's window opens a key; time until a second
 *      instance (quorum 1) has it open -- median and max of 20 trials, with
 *      sync_ms 100 (target <= sync_ms + 50 ms);
 *   3. Redis commands sent per instance per second while deciding flat out
 *      (bounded by sync_ms, independent of the decision rate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/resilience/redisfix.h"
#include "faultline.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static fl_engine_t *engine_for(const char *scope, const char *url, const char *prefix,
                               const char *mode)
{
    char src[2048];
    fl_engine_t *e;
    fl_diag_t d;
    char fleet[256] = "", md[64] = "";
    if (mode)
        snprintf(md, sizeof md, ", mode = '%s'", mode);
    if (url)
        snprintf(fleet, sizeof fleet, "fleet { redis = '%s', prefix = '%s', sync_ms = 100 }\n",
                 url, prefix);
    snprintf(src, sizeof src,
             "policy { name = 'bench', version = '1' }\n%s"
             "breaker 'db' { key = '{tags.db}', scope = '%s'%s, min_calls = 1000000 }\n"
             "retry_budget 'rb' { ratio = 1.0, min_retries = 1000000000, scope = '%s' }\n"
             "category 'unavailable' { severity = 'error', retryable = true,\n"
             "  recovery = retry { max_attempts = 3, base_ms = 10 } }\n"
             "rule 'refused' { when = { code = 'ECONNREFUSED' }, category = 'unavailable',\n"
             "  breaker = 'db', retry_budget = 'rb' }\n",
             fleet, scope, md, scope);
    if (fl_engine_new(NULL, &e) != FL_OK)
        return NULL;
    if (fl_engine_load_string(e, "bench.lua", src, strlen(src), &d) != FL_OK) {
        fprintf(stderr, "bench_fleet: load: %s\n", d.message);
        fl_engine_free(e);
        return NULL;
    }
    return e;
}

static double time_decide(fl_engine_t *e, size_t n)
{
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_event_t *ev[8];
    int64_t t0;
    fl_ctx_new(e, &ctx);
    fl_decision_new(&d);
    for (int i = 0; i < 8; i++) {
        char db[16];
        fl_event_new(&ev[i]);
        fl_event_set(ev[i], FL_FIELD_CODE, "ECONNREFUSED", (size_t)-1);
        snprintf(db, sizeof db, "pg%d", i);
        fl_event_set_tag(ev[i], "db", db);
    }
    for (size_t i = 0; i < 10000; i++)
        fl_decide(ctx, ev[i % 8], NULL, 0, d);
    t0 = mono_ns();
    for (size_t i = 0; i < n; i++)
        fl_decide(ctx, ev[i % 8], NULL, 0, d);
    t0 = mono_ns() - t0;
    for (int i = 0; i < 8; i++)
        fl_event_free(ev[i]);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return (double)t0 / (double)n;
}

/* fl_admit + fl_complete through a breaker and a limiter of `scope`; with
 * url, a synchroniser runs against Redis.  ns per admission. */
static double time_admit(fl_scope scope, const char *url, size_t n)
{
    fl_resil_t *r;
    fl_fleet_t *f = NULL;
    fl_breaker_config_t bc;
    fl_limiter_config_t lc;
    fl_guard_spec_t sp = {.breaker = "db", .limiter = "api"};
    fl_guard_t *g;
    int64_t t0;
    size_t ok = 0;
    memset(&bc, 0, sizeof bc);
    memset(&lc, 0, sizeof lc);
    bc.scope = scope;
    lc.scope = scope;
    lc.rate = 1e8; /* never the bottleneck: the figure is the admission cost */
    fl_resil_new(NULL, &r);
    fl_breaker_declare(r, "db", &bc, NULL);
    fl_limiter_declare(r, "api", &lc, NULL);
    fl_guard_new(r, &sp, &g, NULL);
    if (url) {
        fl_fleet_config_t fc;
        memset(&fc, 0, sizeof fc);
        fc.redis = url;
        fc.prefix = "bench-admit:";
        fl_fleet_start(r, &fc, &f, NULL);
        sleep_ms(300);
    }
    /* Warm up for 0.5 s: leases follow the demand of the previous rounds. */
    t0 = mono_ns();
    while (mono_ns() - t0 < 500000000LL) {
        fl_permit_t p;
        if (fl_admit(g, "k", &p) == FL_OK)
            fl_complete(&p, NULL);
    }
    t0 = mono_ns();
    for (size_t i = 0; i < n; i++) {
        fl_permit_t p;
        if (fl_admit(g, "k", &p) == FL_OK) {
            fl_complete(&p, NULL);
            ok++;
        }
    }
    t0 = mono_ns() - t0;
    if (ok < n / 2)
        fprintf(stderr, "bench_fleet: only %zu of %zu admitted\n", ok, n);
    fl_fleet_stop(f);
    fl_resil_free(r);
    return (double)t0 / (double)n;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Failures through the public admission API. */
static void fail_through(fl_resil_t *r, const char *key, int n)
{
    fl_guard_spec_t sp = {.breaker = "db"};
    fl_guard_t *g;
    fl_guard_new(r, &sp, &g, NULL);
    for (int i = 0; i < n; i++) {
        fl_permit_t p;
        if (fl_admit(g, key, &p) == FL_OK)
            fl_complete(&p, "unavailable");
    }
}

static fl_breaker_state state_of(fl_resil_t *r, const char *key)
{
    fl_breaker_stats_t st;
    fl_breaker_stats(r, "db", key, &st);
    return st.state;
}

/* One convergence trial between two registries.  Quorum mode (quorum 1):
 * A's own window opens (10 failures, min_calls 5), ms until B is open.
 * Shared mode: A and B see 12 failures each (min_calls 20: neither opens
 * alone), ms until both are open.  -1 if not within 3 s. */
static int converge_trial(const char *url, int trial, int shared)
{
    fl_resil_t *a, *b;
    fl_fleet_t *fa, *fb;
    fl_breaker_config_t bc;
    fl_fleet_config_t fc;
    char key[32], prefix[32];
    int64_t t0;
    int ms = -1;
    memset(&bc, 0, sizeof bc);
    bc.min_calls = shared ? 20 : 5;
    bc.scope = FL_SCOPE_FLEET;
    bc.fleet_mode = shared ? FL_FLEET_SHARED : FL_FLEET_QUORUM;
    fl_resil_new(NULL, &a);
    fl_resil_new(NULL, &b);
    fl_breaker_declare(a, "db", &bc, NULL);
    fl_breaker_declare(b, "db", &bc, NULL);
    memset(&fc, 0, sizeof fc);
    snprintf(prefix, sizeof prefix, "conv%d%c:", trial, shared ? 's' : 'q');
    fc.redis = url;
    fc.prefix = prefix;
    fc.sync_ms = 100;
    fc.quorum = 1;
    fl_fleet_start(a, &fc, &fa, NULL);
    fl_fleet_start(b, &fc, &fb, NULL);
    for (int w = 0; w < 500; w++) { /* both connected: measure sync, not connect */
        fl_fleet_stats_t sa, sb;
        fl_fleet_stats(fa, &sa);
        fl_fleet_stats(fb, &sb);
        if (sa.connected && sb.connected)
            break;
        sleep_ms(10);
    }
    sleep_ms(37 * (trial % 3)); /* vary the phase of the rounds */
    snprintf(key, sizeof key, "k%d", trial);
    t0 = mono_ns();
    fail_through(a, key, shared ? 12 : 10);
    if (shared)
        fail_through(b, key, 12);
    while (mono_ns() - t0 < 3000000000LL) {
        if (state_of(b, key) == FL_BREAKER_OPEN &&
            (!shared || state_of(a, key) == FL_BREAKER_OPEN)) {
            ms = (int)((mono_ns() - t0) / 1000000);
            break;
        }
        sleep_ms(1);
    }
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
    return ms;
}

static void converge(const char *url, int shared)
{
    int ms[20], missed = 0;
    for (int trial = 0; trial < 20; trial++)
        if ((ms[trial] = converge_trial(url, trial, shared)) < 0)
            missed++;
    qsort(ms, 20, sizeof ms[0], cmp_int);
    printf("convergence, %s (sync_ms 100, 20 trials): median %d ms, max %d ms, "
           "%d not converged in 3 s (target <= 150 ms)\n",
           shared ? "shared mode, 2 x 12 failures, min_calls 20" : "quorum mode, quorum 1",
           ms[10], ms[19], missed);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 2000000;
    redisfix rf;
    fl_engine_t *loc, *flt;
    double t_loc, t_flt;
    fl_fleet_stats_t s0, s1;
    int64_t w0;
    memset(&rf, 0, sizeof rf);
    if (rf_start(&rf) != 0) {
        fprintf(stderr, "bench_fleet: cannot start redis-server\n");
        return 1;
    }
    loc = engine_for("local", NULL, NULL, NULL);
    flt = engine_for("fleet", rf.url, "bench:", "quorum");
    if (!loc || !flt)
        return 1;
    sleep_ms(300); /* connected, first rounds done */
    fl_fleet_stats(fl_engine_fleet(flt), &s0);
    w0 = mono_ns();
    t_flt = time_decide(flt, n);
    fl_fleet_stats(fl_engine_fleet(flt), &s1);
    {
        double secs = (double)(mono_ns() - w0) / 1e9;
        t_loc = time_decide(loc, n);
        printf("decide, breaker + retry budget, scope local: %.1f ns\n", t_loc);
        printf("decide, breaker + retry budget, scope fleet: %.1f ns (ratio %.2f, target <= 1.2)\n",
               t_flt, t_flt / t_loc);
        printf("redis traffic while deciding %.0f decisions/s: %.1f commands/s per instance "
               "(sync_ms 100; %llu rounds, %llu fallbacks)\n",
               1e9 / t_flt, (double)(s1.commands - s0.commands) / secs,
               (unsigned long long)(s1.syncs - s0.syncs),
               (unsigned long long)(s1.fallbacks - s0.fallbacks));
    }
    fl_engine_free(flt);
    {
        fl_engine_t *shd = engine_for("fleet", rf.url, "bench-shared:", "shared");
        double t_shd;
        if (!shd)
            return 1;
        sleep_ms(300);
        fl_fleet_stats(fl_engine_fleet(shd), &s0);
        w0 = mono_ns();
        t_shd = time_decide(shd, n);
        fl_fleet_stats(fl_engine_fleet(shd), &s1);
        {
            double secs = (double)(mono_ns() - w0) / 1e9;
            t_loc = time_decide(loc, n);
            printf("decide, breaker (shared mode) + retry budget, scope fleet: %.1f ns "
                   "(local again %.1f ns; ratio %.2f, target <= 1.2)\n",
                   t_shd, t_loc, t_shd / t_loc);
            printf("redis traffic, shared mode, every decision a failure: %.1f commands/s per "
                   "instance (%llu rounds)\n",
                   (double)(s1.commands - s0.commands) / secs,
                   (unsigned long long)(s1.syncs - s0.syncs));
        }
        fl_engine_free(shd);
    }
    fl_engine_free(loc);
    {
        double a_loc = time_admit(FL_SCOPE_LOCAL, NULL, n);
        double a_flt = time_admit(FL_SCOPE_FLEET, rf.url, n);
        printf("admit+complete, breaker + limiter, scope local: %.1f ns\n", a_loc);
        printf("admit+complete, breaker + limiter, scope fleet: %.1f ns (ratio %.2f, target <= 1.2)\n",
               a_flt, a_flt / a_loc);
    }

    converge(rf.url, 0);
    converge(rf.url, 1);
    rf_stop(&rf);
    return 0;
}
