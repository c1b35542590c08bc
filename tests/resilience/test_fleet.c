/*
 * test_fleet.c -- fleet-scoped breakers through a real redis-server started
 * on an ephemeral port under a temp dir:
 *   - four processes share a breaker: failures seen by two of them open it
 *     in all four (the quorum);
 *   - a state forced with fl_fleet_force applies on every instance, and its
 *     release too;
 *   - Redis killed mid-run: every admission still answers, the fallback is
 *     counted; Redis restarted: the connection comes back and a key one
 *     instance opened meanwhile reaches the other (reconciliation);
 *   - Redis paused (SIGSTOP): admissions never wait for it;
 *   - bad configurations are refused with a precise error that never
 *     contains the password.
 * Runs under TSan too (label threads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdatomic.h>

#include "faultline.h"
#include "redisfix.h"
#include "resilience/resilience.h"

static redisfix RF;

static int64_t now_ns(void)
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

static void quiet(void *u, const char *line)
{
    _Atomic int *n = u;
    if (n)
        atomic_fetch_add(n, 1);
    (void)line;
}

static fl_resil_t *fleet_resil(void)
{
    fl_resil_t *r = NULL;
    fl_breaker_config_t bc;
    memset(&bc, 0, sizeof bc);
    bc.min_calls = 5;
    bc.failure_rate = 0.5;
    bc.open_ms = 20000;
    bc.scope = FL_SCOPE_FLEET;
    if (fl_resil_new(NULL, &r) != FL_OK || fl_breaker_declare(r, "db", &bc, NULL) != FL_OK)
        return NULL;
    return r;
}

static fl_fleet_config_t fleet_cfg(const char *prefix, uint32_t quorum, _Atomic int *logs)
{
    fl_fleet_config_t fc;
    memset(&fc, 0, sizeof fc);
    fc.redis = RF.url;
    fc.prefix = prefix;
    fc.sync_ms = 100;
    fc.quorum = quorum;
    fc.log = quiet;
    fc.log_user = logs;
    return fc;
}

static void fail_n(fl_resil_t *r, const char *key, int n)
{
    fl_resil_outcome_t o = {.breaker = "db", .key = key, .category = "unavailable",
                            .duration_ns = -1, .attempt = 1};
    for (int i = 0; i < n; i++)
        fl_resil_record(r, &o);
}

static fl_breaker_state state_of(fl_resil_t *r, const char *key)
{
    fl_breaker_stats_t st;
    if (fl_breaker_stats(r, "db", key, &st) != FL_OK)
        return (fl_breaker_state)-1;
    return st.state;
}

/* Wait until key's state is `want`, up to ms.  Elapsed ms, or -1. */
static int wait_state(fl_resil_t *r, const char *key, fl_breaker_state want, int ms)
{
    int64_t t0 = now_ns();
    while (now_ns() - t0 < (int64_t)ms * 1000000) {
        if (state_of(r, key) == want)
            return (int)((now_ns() - t0) / 1000000);
        sleep_ms(2);
    }
    return -1;
}

/* Wait until f's rounds reach Redis (up to 5 s). */
static int wait_connected(fl_fleet_t *f)
{
    fl_fleet_stats_t s;
    for (int i = 0; i < 500; i++) {
        fl_fleet_stats(f, &s);
        if (s.connected && s.syncs >= 1)
            return 1;
        sleep_ms(10);
    }
    return 0;
}

static int setup(void **st)
{
    (void)st;
    if (rf_start(&RF) != 0) {
        fprintf(stderr, "test_fleet: cannot start redis-server (apt-get install redis-server)\n");
        return -1;
    }
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    rf_stop(&RF);
    return 0;
}

/* Child of the four-process test: 0 on success. */
/* Wait for the four children; each must exit 0. */
static void reap_four(const pid_t pids[4])
{
    for (int i = 0; i < 4; i++) {
        int ws = -1;
        assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
        assert_true(WIFEXITED(ws));
        assert_int_equal(WEXITSTATUS(ws), 0);
    }
}

/* Start the four children (one byte each on go), read each one's time in
 * ms from res, let them finish (close done) and reap them; closes the
 * three descriptors.  The worst time. */
static int go_and_collect(int go_w, int res_r, int done_w, const pid_t pids[4])
{
    int worst = 0;
    assert_int_equal(write(go_w, "gggg", 4), 4);
    for (int i = 0; i < 4; i++) {
        int ms = -1;
        assert_int_equal(read(res_r, &ms, sizeof ms), (ssize_t)sizeof ms);
        assert_true(ms >= 0);
        if (ms > worst)
            worst = ms;
    }
    close(go_w);
    close(done_w);
    reap_four(pids);
    close(res_r);
    return worst;
}

static int child(int idx, int go_fd, int res_fd, int done_fd)
{
    fl_resil_t *r = fleet_resil();
    fl_fleet_t *f = NULL;
    fl_fleet_config_t fc = fleet_cfg("t4:", 2, NULL);
    fl_fleet_stats_t fs;
    char c;
    int ms, rc = 0;
    if (!r || fl_fleet_start(r, &fc, &f, NULL) != FL_OK)
        return 10;
    if (read(go_fd, &c, 1) != 1)
        return 11;
    if (idx < 2)
        fail_n(r, "pg", 10); /* own window opens */
    ms = wait_state(r, "pg", FL_BREAKER_OPEN, 5000);
    fl_fleet_stats(f, &fs);
    if (ms < 0) {
        fprintf(stderr, "# child %d: state %d syncs %llu fallbacks %llu opens %llu\n", idx,
                (int)state_of(r, "pg"), (unsigned long long)fs.syncs,
                (unsigned long long)fs.fallbacks, (unsigned long long)fs.fleet_opens);
        rc = 12;
    }
    if (idx >= 2 && fs.fleet_opens < 1)
        rc = 13;
    /* an unrelated key stays closed everywhere */
    if (state_of(r, "mysql") != FL_BREAKER_CLOSED)
        rc = 14;
    if (write(res_fd, &ms, sizeof ms) != (ssize_t)sizeof ms)
        rc = 15;
    /* Keep publishing until every instance has answered (EOF on go). */
    while (read(done_fd, &c, 1) > 0)
        ;
    fl_fleet_stop(f);
    fl_resil_free(r);
    return rc;
}

static void four_processes_share_a_breaker(void **st)
{
    int go[2], res[2], done[2], worst = 0;
    pid_t pids[4];
    (void)st;
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    assert_int_equal(pipe(done), 0);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(res[0]);
            close(done[1]);
            _exit(child(i, go[0], res[1], done[0]));
        }
    }
    close(go[0]);
    close(res[1]);
    close(done[0]);
    sleep_ms(300); /* every child connected */
    worst = go_and_collect(go[1], res[0], done[1], pids);
    printf("# four processes: breaker open everywhere after %d ms (sync_ms 100)\n", worst);
}

/* Child of the limiter test: admissions in [1.5 s, 4.5 s) after go, via
 * res_fd; 0 on success. */
static int limiter_child(int go_fd, int res_fd)
{
    fl_resil_t *r = NULL;
    fl_fleet_t *f = NULL;
    fl_fleet_config_t fc = fleet_cfg("lim:", 2, NULL);
    fl_limiter_config_t lc;
    fl_guard_spec_t sp = {.limiter = "api"};
    fl_guard_t *g;
    fl_fleet_stats_t fs;
    int64_t t0;
    long counted = 0;
    char c;
    memset(&lc, 0, sizeof lc);
    lc.rate = 400;
    lc.burst = 20;
    lc.scope = FL_SCOPE_FLEET;
    fc.timeout_ms = 1000; /* a slow round (TSan, a loaded host) is not a fallback */
    if (fl_resil_new(NULL, &r) != FL_OK || fl_limiter_declare(r, "api", &lc, NULL) != FL_OK ||
        fl_guard_new(r, &sp, &g, NULL) != FL_OK || fl_fleet_start(r, &fc, &f, NULL) != FL_OK)
        return 10;
    if (read(go_fd, &c, 1) != 1)
        return 11;
    t0 = now_ns();
    for (;;) {
        int64_t t = now_ns() - t0;
        fl_permit_t p;
        if (t >= 4500000000LL)
            break;
        if (fl_admit(g, "tenant-1", &p) == FL_OK) {
            fl_complete(&p, NULL);
            if (t >= 1500000000LL)
                counted++;
        }
        {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
    fl_fleet_stats(f, &fs);
    if (fs.leased == 0 || fs.fallbacks != 0)
        return 12;
    if (write(res_fd, &counted, sizeof counted) != (ssize_t)sizeof counted)
        return 13;
    fl_fleet_stop(f);
    fl_resil_free(r);
    return 0;
}

static void four_processes_share_a_limiter(void **st)
{
    int go[2], res[2];
    pid_t pids[4];
    long total = 0;
    double rate;
    (void)st;
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            close(res[0]);
            _exit(limiter_child(go[0], res[1]));
        }
    }
    close(go[0]);
    close(res[1]);
    sleep_ms(300);
    assert_int_equal(write(go[1], "gggg", 4), 4);
    reap_four(pids);
    for (int i = 0; i < 4; i++) {
        long n = 0;
        assert_int_equal(read(res[0], &n, sizeof n), (ssize_t)sizeof n);
        printf("# limiter child: %ld\n", n);
        assert_true(n > 0); /* every instance got a share */
        total += n;
    }
    close(go[1]);
    close(res[0]);
    rate = (double)total / 3.0;
    printf("# four processes, limiter 400/s fleet-wide: %.1f/s (%+.1f%%)\n", rate,
           (rate / 400.0 - 1) * 100);
    assert_true(rate >= 380.0 && rate <= 420.0);
}

static fl_resil_t *budget_resil(void)
{
    fl_resil_t *r = NULL;
    fl_budget_config_t gc;
    memset(&gc, 0, sizeof gc);
    gc.ratio = 0.1;
    gc.min_retries = 1;
    gc.window_ms = 60000;
    gc.scope = FL_SCOPE_FLEET;
    if (fl_resil_new(NULL, &r) != FL_OK || fl_budget_declare(r, "rb", &gc, NULL) != FL_OK)
        return NULL;
    return r;
}

static int take_retries(fl_resil_t *r, const char *tenant)
{
    char reason[64];
    int n = 0;
    while (n < 1000 && fl_resil_gate_retry(r, NULL, "rb", tenant, reason, sizeof reason) == FL_OK)
        n++;
    return n;
}

static void retry_budget_counts_the_fleet(void **st)
{
    fl_resil_t *a = budget_resil(), *b = budget_resil();
    fl_fleet_t *fa, *fb;
    fl_fleet_config_t fc = fleet_cfg("rb:", 2, NULL);
    fl_resil_outcome_t call = {.budget = "rb", .key = "acme", .duration_ns = -1, .attempt = 1};
    int nb, na, nlocal;
    (void)st;
    assert_non_null(a);
    assert_non_null(b);
    /* Without a synchroniser B has seen no calls: min_retries only. */
    {
        fl_resil_t *solo = budget_resil();
        nlocal = take_retries(solo, "acme");
        assert_int_equal(nlocal, 1);
        fl_resil_free(solo);
    }
    assert_int_equal(fl_fleet_start(a, &fc, &fa, NULL), FL_OK);
    assert_int_equal(fl_fleet_start(b, &fc, &fb, NULL), FL_OK);
    assert_true(wait_connected(fa));
    assert_true(wait_connected(fb));
    for (int i = 0; i < 199; i++)
        assert_int_equal(fl_resil_record(a, &call), FL_OK);
    assert_int_equal(fl_resil_record(b, &call), FL_OK); /* a key syncs once used */
    sleep_ms(400); /* both publish, both learn */
    /* B may retry 10% of the fleet's 200 calls, though it made one. */
    nb = take_retries(b, "acme");
    assert_true(nb >= 18 && nb <= 20);
    /* Another tenant's quota is its own (per-tenant keys: key = "{tags.tenant}"). */
    assert_int_equal(take_retries(b, "globex"), 1);
    sleep_ms(400); /* B publishes its retries, A learns */
    na = take_retries(a, "acme");
    assert_true(na + nb <= 21);
    printf("# retry budget: B %d retries on the fleet's 200 calls, then A %d\n", nb, na);
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
}

static void one_instance_is_not_a_quorum(void **st)
{
    fl_resil_t *a = fleet_resil(), *b = fleet_resil();
    fl_fleet_t *fa, *fb;
    fl_fleet_config_t fc = fleet_cfg("q1:", 2, NULL);
    fl_fleet_stats_t s;
    (void)st;
    assert_int_equal(fl_fleet_start(a, &fc, &fa, NULL), FL_OK);
    assert_int_equal(fl_fleet_start(b, &fc, &fb, NULL), FL_OK);
    fail_n(a, "pg", 10);
    assert_int_equal(state_of(a, "pg"), FL_BREAKER_OPEN);
    sleep_ms(500);
    fl_fleet_stats(fb, &s);
    assert_true(s.syncs >= 2);
    assert_int_equal(state_of(b, "pg"), FL_BREAKER_CLOSED);
    assert_int_equal(s.fleet_opens, 0);
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
}

static void forced_state_applies_fleet_wide(void **st)
{
    fl_resil_t *a = fleet_resil(), *b = fleet_resil();
    fl_fleet_t *fa, *fb;
    fl_fleet_config_t fc = fleet_cfg("fo:", 2, NULL);
    fl_diag_t d;
    (void)st;
    assert_int_equal(fl_fleet_start(a, &fc, &fa, NULL), FL_OK);
    assert_int_equal(fl_fleet_start(b, &fc, &fb, NULL), FL_OK);
    assert_int_equal(fl_fleet_force(&fc, "db", "pg", FL_BREAKER_FORCED_OPEN, &d), FL_OK);
    assert_true(wait_state(a, "pg", FL_BREAKER_FORCED_OPEN, 3000) >= 0);
    assert_true(wait_state(b, "pg", FL_BREAKER_FORCED_OPEN, 3000) >= 0);
    assert_int_equal(fl_fleet_force(&fc, "db", "pg", FL_BREAKER_CLOSED, &d), FL_OK);
    assert_true(wait_state(a, "pg", FL_BREAKER_CLOSED, 3000) >= 0);
    assert_true(wait_state(b, "pg", FL_BREAKER_CLOSED, 3000) >= 0);
    assert_int_equal(fl_fleet_force(&fc, "db", "pg", FL_BREAKER_OPEN, &d), FL_EINVAL);
    /* Through a running synchroniser's settings (serve's admin endpoint). */
    assert_int_equal(fl_fleet_force_with(fa, "db", "via", FL_BREAKER_FORCED_OPEN, &d), FL_OK);
    assert_true(wait_state(b, "via", FL_BREAKER_FORCED_OPEN, 3000) >= 0);
    assert_int_equal(fl_fleet_force_with(fa, "db", "via", FL_BREAKER_CLOSED, &d), FL_OK);
    assert_true(wait_state(b, "via", FL_BREAKER_CLOSED, 3000) >= 0);
    assert_int_equal(fl_fleet_force_with(NULL, "db", "via", FL_BREAKER_CLOSED, &d), FL_EINVAL);
    assert_int_equal(fl_fleet_force_with(fa, "", "via", FL_BREAKER_CLOSED, &d), FL_EINVAL);
    /* The same through the command line (when it is built: a build of this
     * test alone has no faultline binary). */
    if (access(FL_BINARY_DIR "/faultline", X_OK) == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "%s/faultline breaker force db cli open --fleet --redis %s --prefix fo: >/dev/null",
                 FL_BINARY_DIR, RF.url);
        assert_int_equal(system(cmd), 0);
        assert_true(wait_state(b, "cli", FL_BREAKER_FORCED_OPEN, 3000) >= 0);
        snprintf(cmd, sizeof cmd,
                 "%s/faultline breaker force db cli open --redis %s 2>/dev/null", FL_BINARY_DIR,
                 RF.url);
        assert_int_equal(WEXITSTATUS(system(cmd)), 2); /* --fleet is required */
    }
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
}

/* A breaker in shared mode: min_calls 20, so 6 failures are never enough
 * on one instance alone. */
static fl_resil_t *shared_resil(void)
{
    fl_resil_t *r = NULL;
    fl_breaker_config_t bc;
    memset(&bc, 0, sizeof bc);
    bc.min_calls = 20;
    bc.failure_rate = 0.5;
    bc.open_ms = 20000;
    bc.scope = FL_SCOPE_FLEET;
    bc.fleet_mode = FL_FLEET_SHARED;
    if (fl_resil_new(NULL, &r) != FL_OK || fl_breaker_declare(r, "db", &bc, NULL) != FL_OK)
        return NULL;
    return r;
}

/* Child of the shared-mode test: once connected (a byte on ready_fd), 6
 * failures here, then wait for the fleet's 24 to open the key; ms via
 * res_fd; 0 on success. */
static int shared_child(int ready_fd, int go_fd, int res_fd, int done_fd)
{
    fl_resil_t *r = shared_resil();
    fl_fleet_t *f = NULL;
    fl_fleet_config_t fc = fleet_cfg("sh4:", 2, NULL);
    fl_fleet_stats_t fs;
    char c;
    int ms, rc = 0;
    if (!r || fl_fleet_start(r, &fc, &f, NULL) != FL_OK)
        return 10;
    if (!wait_connected(f))
        return 16;
    fail_n(r, "mysql", 1); /* a key of its own, below every threshold */
    if (write(ready_fd, "r", 1) != 1 || read(go_fd, &c, 1) != 1)
        return 11;
    fail_n(r, "pg", 6);
    ms = wait_state(r, "pg", FL_BREAKER_OPEN, 5000);
    fl_fleet_stats(f, &fs);
    if (ms < 0) {
        fprintf(stderr, "# shared child: state %d syncs %llu fallbacks %llu\n",
                (int)state_of(r, "pg"), (unsigned long long)fs.syncs,
                (unsigned long long)fs.fallbacks);
        rc = 12;
    }
    if (state_of(r, "mysql") != FL_BREAKER_CLOSED)
        rc = 14;
    if (write(res_fd, &ms, sizeof ms) != (ssize_t)sizeof ms)
        rc = 15;
    while (read(done_fd, &c, 1) > 0)
        ;
    fl_fleet_stop(f);
    fl_resil_free(r);
    return rc;
}

static void four_processes_share_a_window(void **st)
{
    int ready[2], go[2], res[2], done[2], worst = 0;
    pid_t pids[4];
    char rb[4];
    (void)st;
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(res), 0);
    assert_int_equal(pipe(done), 0);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            close(res[0]);
            close(done[1]);
            _exit(shared_child(ready[1], go[0], res[1], done[0]));
        }
    }
    close(ready[1]);
    close(go[0]);
    close(res[1]);
    close(done[0]);
    /* every child connected, then all fail at once */
    for (size_t got = 0; got < sizeof rb;) {
        ssize_t n = read(ready[0], rb + got, sizeof rb - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(ready[0]);
    worst = go_and_collect(go[1], res[0], done[1], pids);
    printf("# shared window: 4 x 6 failures opened every instance after %d ms (sync_ms 100)\n",
           worst);
}

/* Shared mode with Redis gone: the local window decides (6 failures do not
 * open, 20 do), every record answers, the fallback is counted and logged
 * once; after the restart the counts flow again. */
static void shared_mode_falls_back_to_local(void **st)
{
    fl_resil_t *a = shared_resil(), *b = shared_resil();
    fl_fleet_t *fa, *fb;
    _Atomic int logs = 0;
    fl_fleet_config_t fca = fleet_cfg("shk:", 2, &logs), fcb = fleet_cfg("shk:", 2, NULL);
    fl_fleet_stats_t s;
    (void)st;
    assert_int_equal(fl_fleet_start(a, &fca, &fa, NULL), FL_OK);
    assert_int_equal(fl_fleet_start(b, &fcb, &fb, NULL), FL_OK);
    assert_true(wait_connected(fa));
    assert_true(wait_connected(fb));
    fail_n(b, "pg", 15); /* B's counts reach Redis, then A */
    sleep_ms(400);
    rf_kill(&RF);
    for (int i = 0; i < 200; i++) {
        fl_fleet_stats(fa, &s);
        if (s.fallbacks > 0 && !s.connected)
            break;
        sleep_ms(10);
    }
    assert_true(s.fallbacks > 0);
    assert_int_equal(s.connected, 0);
    /* 6 + B's 15 would open; on the local window alone 6 do not. */
    fail_n(a, "pg", 6);
    assert_int_equal(state_of(a, "pg"), FL_BREAKER_CLOSED);
    fail_n(a, "pg", 14);
    assert_int_equal(state_of(a, "pg"), FL_BREAKER_OPEN);
    assert_int_equal(atomic_load(&logs), 1);
    assert_int_equal(rf_start(&RF), 0);
    for (int i = 0; i < 600; i++) {
        fl_fleet_stats(fa, &s);
        if (s.connected)
            break;
        sleep_ms(10);
    }
    assert_int_equal(s.connected, 1);
    /* Counts A could not publish go with the next round: B learns them. */
    fail_n(b, "pg", 1);
    assert_true(wait_state(b, "pg", FL_BREAKER_OPEN, 3000) >= 0);
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
}

static void redis_killed_then_restarted(void **st)
{
    fl_resil_t *a = fleet_resil(), *b = fleet_resil();
    fl_fleet_t *fa, *fb;
    _Atomic int logs_a = 0;
    fl_fleet_config_t fca = fleet_cfg("k:", 1, &logs_a), fcb = fleet_cfg("k:", 1, NULL);
    fl_fleet_stats_t s;
    int64_t worst = 0;
    (void)st;
    assert_int_equal(fl_fleet_start(a, &fca, &fa, NULL), FL_OK);
    assert_int_equal(fl_fleet_start(b, &fcb, &fb, NULL), FL_OK);
    assert_true(wait_connected(fa));
    assert_true(wait_connected(fb));

    rf_kill(&RF);
    /* Decisions keep coming while Redis is gone: every one answers. */
    for (int i = 0; i < 400; i++) {
        int64_t t0 = now_ns(), dt;
        fl_resil_outcome_t o = {.breaker = "db", .key = "cache", .category = NULL,
                                .duration_ns = -1, .attempt = 1};
        assert_int_equal(fl_resil_record(a, &o), FL_OK);
        assert_int_equal(state_of(a, "cache"), FL_BREAKER_CLOSED);
        dt = now_ns() - t0;
        if (dt > worst)
            worst = dt;
        if (i % 10 == 0)
            sleep_ms(2);
    }
    for (int i = 0; i < 200; i++) {
        fl_fleet_stats(fa, &s);
        if (s.fallbacks > 0 && !s.connected)
            break;
        sleep_ms(10);
    }
    assert_true(s.fallbacks > 0);
    assert_int_equal(s.connected, 0);
    assert_int_equal(atomic_load(&logs_a), 1); /* logged once */

    /* While Redis is down A opens a key of its own; B cannot know yet. */
    fail_n(a, "pg", 10);
    assert_int_equal(state_of(a, "pg"), FL_BREAKER_OPEN);
    sleep_ms(300);
    assert_int_equal(state_of(b, "pg"), FL_BREAKER_CLOSED);

    assert_int_equal(rf_start(&RF), 0);
    /* Reconnect (backoff at most 2 s) and reconcile. */
    assert_true(wait_state(b, "pg", FL_BREAKER_OPEN, 6000) >= 0);
    /* A's own round may still be on its way back (on a busy machine B was
     * seen to reconcile first): wait for it rather than sample once. */
    assert_true(wait_connected(fa));
    fl_fleet_stats(fa, &s);
    assert_true(s.reconnects >= 1);
    assert_int_equal(s.connected, 1);
    assert_int_equal(atomic_load(&logs_a), 2); /* down once, back once */
    printf("# redis killed: slowest admission %.3f ms\n", (double)worst / 1e6);
    fl_fleet_stop(fa);
    fl_fleet_stop(fb);
    fl_resil_free(a);
    fl_resil_free(b);
}

static void paused_redis_never_delays_admission(void **st)
{
    fl_resil_t *a = fleet_resil();
    fl_fleet_t *fa;
    fl_fleet_config_t fc = fleet_cfg("p:", 2, NULL);
    fl_fleet_stats_t s0, s1;
    int64_t worst = 0, t_stop;
    (void)st;
    fc.timeout_ms = 1000; /* a sync round waits up to 1 s on the paused server */
    assert_int_equal(fl_fleet_start(a, &fc, &fa, NULL), FL_OK);
    assert_true(wait_connected(fa));
    fl_fleet_stats(fa, &s0);
    kill(RF.pid, SIGSTOP);
    for (int i = 0; i < 300; i++) {
        int64_t t0 = now_ns(), dt;
        uint64_t gen;
        int half;
        int64_t ra;
        fl_robj *o = fl_resil_find(a, FL_RESIL_BREAKER, "db");
        fl_bstate *bs = fl_robj_state(o, "pg", fl_key_hash("pg"), NULL);
        fail_n(a, "other", 1);
        (void)fl_breaker_try(o, bs, "pg", fl_resil_now(a), &gen, &half, &ra);
        dt = now_ns() - t0;
        if (dt > worst)
            worst = dt;
        sleep_ms(5);
    }
    fl_fleet_stats(fa, &s1);
    kill(RF.pid, SIGCONT);
    /* A round that waited on the paused server is a fallback.  An
     * admission that waited on Redis would have taken ~1 s. */
    assert_true(s1.fallbacks > s0.fallbacks);
    assert_true(worst < 200 * 1000000LL);
    t_stop = now_ns();
    fl_fleet_stop(fa);
    assert_true(now_ns() - t_stop < 3000 * 1000000LL);
    printf("# redis paused: slowest admission %.3f ms\n", (double)worst / 1e6);
    fl_resil_free(a);
}

static void bad_configurations(void **st)
{
    fl_resil_t *r = fleet_resil();
    fl_fleet_t *f = (fl_fleet_t *)1;
    fl_fleet_config_t fc;
    fl_diag_t d;
    fl_breaker_config_t bc;
    (void)st;
    memset(&fc, 0, sizeof fc);
    assert_int_equal(fl_fleet_start(NULL, &fc, &f, NULL), FL_EINVAL);
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EINVAL);
    assert_null(f);
    assert_non_null(strstr(d.message, "redis URL is required"));
    fc.redis = "http://x";
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "redis://"));
    fc.redis = "redis://:s3cret@127.0.0.1:99999/0";
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "port"));
    assert_null(strstr(d.message, "s3cret"));
    fc.redis = "redis://127.0.0.1:6379/x";
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "database"));
    fc.redis = "redis://127.0.0.1:6379/0";
    fc.sync_ms = 5;
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "sync_ms"));
    fc.sync_ms = 0;
    fc.password_file = "/nonexistent/fleet-password";
    assert_int_equal(fl_fleet_start(r, &fc, &f, &d), FL_EIO);
    assert_non_null(strstr(d.message, "password_file"));
    memset(&bc, 0, sizeof bc);
    bc.scope = (fl_scope)7;
    assert_int_equal(fl_breaker_declare(r, "x", &bc, &d), FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "scope"));
    bc.scope = FL_SCOPE_LOCAL;
    bc.fleet_mode = FL_FLEET_SHARED;
    assert_int_equal(fl_breaker_declare(r, "x", &bc, &d), FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "mode = shared needs scope = fleet"));
    bc.scope = FL_SCOPE_FLEET;
    bc.fleet_mode = (fl_fleet_mode)3;
    assert_int_equal(fl_breaker_declare(r, "x", &bc, &d), FL_EPOLICY_SCHEMA);
    assert_non_null(strstr(d.message, "quorum or shared"));
    fl_resil_free(r);
}

static void wrong_password_is_never_logged(void **st)
{
    fl_resil_t *r = fleet_resil();
    fl_fleet_t *f;
    fl_fleet_config_t fc;
    char url[128];
    fl_diag_t d;
    (void)st;
    /* The fixture has no password: AUTH is refused. */
    snprintf(url, sizeof url, "redis://:hunter2@127.0.0.1:%d/0", RF.port);
    memset(&fc, 0, sizeof fc);
    fc.redis = url;
    assert_int_equal(fl_fleet_force(&fc, "db", "", FL_BREAKER_FORCED_OPEN, &d), FL_EIO);
    assert_null(strstr(d.message, "hunter2"));
    assert_non_null(strstr(d.message, "authentication"));
    fc.log = quiet;
    assert_int_equal(fl_fleet_start(r, &fc, &f, NULL), FL_OK);
    fl_fleet_stop(f);
    fl_resil_free(r);
}

static void policy_declares_the_fleet(void **st)
{
    fl_engine_t *e;
    fl_diag_t d;
    char src[1024];
    fl_fleet_stats_t fs;
    fl_breaker_stats_t bs;
    (void)st;
    snprintf(src, sizeof src,
             "policy { name = 'p', version = '1' }\n"
             "fleet { redis = '%s', prefix = 'pol:', sync_ms = 50 }\n"
             "breaker 'db' { key = '{tags.db}', scope = 'fleet', min_calls = 5 }\n"
             "category 'unavailable' { severity = 'error' }\n"
             "rule 'r' { when = { code = 'x' }, category = 'unavailable', breaker = 'db' }\n",
             RF.url);
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "p.lua", src, strlen(src), &d), FL_OK);
    assert_non_null(fl_engine_fleet(e));
    sleep_ms(300);
    assert_int_equal(fl_fleet_stats(fl_engine_fleet(e), &fs), FL_OK);
    assert_true(fs.syncs >= 2);
    assert_int_equal(fs.connected, 1);
    /* A state forced fleet-wide reaches the engine's registry. */
    {
        fl_fleet_config_t fc = fleet_cfg("pol:", 2, NULL);
        assert_int_equal(fl_fleet_force(&fc, "db", "pg", FL_BREAKER_FORCED_OPEN, &d), FL_OK);
    }
    for (int i = 0; i < 300; i++) {
        fl_breaker_stats(fl_engine_resil(e), "db", "pg", &bs);
        if (bs.state == FL_BREAKER_FORCED_OPEN)
            break;
        sleep_ms(10);
    }
    assert_int_equal(bs.state, FL_BREAKER_FORCED_OPEN);
    /* Reloading without the declaration stops the synchroniser. */
    snprintf(src, sizeof src,
             "policy { name = 'p', version = '2' }\n"
             "category 'unavailable' { severity = 'error' }\n"
             "rule 'r' { when = { code = 'x' }, category = 'unavailable' }\n");
    assert_int_equal(fl_engine_load_string(e, "p.lua", src, strlen(src), &d), FL_OK);
    assert_null(fl_engine_fleet(e));
    fl_engine_free(e);
}

/* An engine with a fleet declaration and a cache recovery. */
static fl_engine_t *cache_engine(void)
{
    fl_engine_t *e;
    fl_diag_t d;
    char src[1024];
    snprintf(src, sizeof src,
             "policy { name = 'p', version = '1' }\n"
             "fleet { redis = '%s', prefix = 'pc:', sync_ms = 50 }\n"
             "category 'unavailable' { severity = 'error' }\n"
             "rule 'r' { when = { code = 'x' }, category = 'unavailable',\n"
             "  recovery = cache { key = '{op}:{tags.user}', max_stale_ms = 60000 } }\n",
             RF.url);
    if (fl_engine_new(NULL, &e) != FL_OK)
        return NULL;
    if (fl_engine_load_string(e, "p.lua", src, strlen(src), &d) != FL_OK) {
        fprintf(stderr, "# cache_engine: %s\n", d.message);
        fl_engine_free(e);
        return NULL;
    }
    return e;
}

/* Decide {code x, op get, tags.user u1} on e; 1 if the cache answered. */
static int cache_decide(fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d)
{
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    return fl_decision_cache_age_ms(d) >= 0;
}

/* A value one instance stores reaches another through Redis; deciding never
 * waits for it (a key this instance never saw falls through once). */
static void the_cache_is_shared(void **st)
{
    fl_engine_t *a = cache_engine(), *b = cache_engine();
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    int hit = 0, misses = 0;
    (void)st;
    assert_non_null(a);
    assert_non_null(b);
    assert_true(wait_connected(fl_engine_fleet(a)));
    assert_true(wait_connected(fl_engine_fleet(b)));
    assert_int_equal(fl_ctx_new(b, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_CODE, "x", 1), FL_OK);
    assert_int_equal(fl_event_set(ev, FL_FIELD_OP, "get", 3), FL_OK);
    assert_int_equal(fl_event_set_tag(ev, "user", "u1"), FL_OK);
    assert_int_equal(fl_cache_put(a, "get:u1", "{\"name\":\"Ada\"}", 60000, NULL), FL_OK);
    for (int i = 0; i < 300 && !hit; i++) {
        if (!(hit = cache_decide(ctx, ev, d))) {
            misses++;
            assert_int_equal(fl_decision_action(d), FL_ACTION_FAIL);
            assert_string_equal(fl_decision_reason(d), "cache_miss");
            sleep_ms(10);
        }
    }
    assert_true(hit);
    assert_string_equal(fl_decision_fallback_json(d), "{\"name\":\"Ada\"}");
    assert_string_equal(fl_decision_cache_key(d), "get:u1");
    assert_true(misses >= 1); /* the first decision did not wait for Redis */
    /* a later put on A replaces B's copy within a round or two */
    sleep_ms(5);
    assert_int_equal(fl_cache_put(a, "get:u1", "\"v2\"", 60000, NULL), FL_OK);
    for (int i = 0; i < 300; i++) {
        cache_decide(ctx, ev, d);
        if (strcmp(fl_decision_fallback_json(d), "\"v2\"") == 0)
            break;
        sleep_ms(10);
    }
    assert_string_equal(fl_decision_fallback_json(d), "\"v2\"");
    printf("# shared cache: B fell through %d time(s) before A's value arrived\n", misses);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(a);
    fl_engine_free(b);
}

static void policy_fleet_errors(void **st)
{
    fl_engine_t *e;
    fl_diag_t d;
    const char *bad[][2] = {
        {"fleet { prefix = 'x:' }\n", "'redis'"},
        {"fleet { redis = 'redis://:pw-s3cret@h:0/0' }\n", "port"},
        {"fleet { redis = 'redis://h', sync_ms = 1 }\n", "sync_ms"},
        {"fleet { redis = 'redis://h', colour = 1 }\n", "colour"},
        {"breaker 'b' { scope = 'galaxy' }\n", "scope"},
        {"breaker 'b' { scope = 'fleet', mode = 'pooled' }\n", "\"quorum\" or \"shared\""},
        {"breaker 'b' { mode = 'shared' }\n", "needs scope"},
    };
    (void)st;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char src[512];
        snprintf(src, sizeof src,
                 "policy { name = 'p', version = '1' }\n%s"
                 "category 'unavailable' { severity = 'error' }\n"
                 "rule 'r' { when = { code = 'x' }, category = 'unavailable' }\n",
                 bad[i][0]);
        assert_int_not_equal(fl_engine_load_string(e, "p.lua", src, strlen(src), &d), FL_OK);
        if (!strstr(d.message, bad[i][1]))
            fprintf(stderr, "# case %zu: %s\n", i, d.message);
        assert_non_null(strstr(d.message, bad[i][1]));
        assert_null(strstr(d.message, "s3cret"));
        assert_int_equal(d.line, 2);
    }
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_configurations),
        cmocka_unit_test(policy_fleet_errors),
        cmocka_unit_test(policy_declares_the_fleet),
        cmocka_unit_test(four_processes_share_a_breaker),
        cmocka_unit_test(four_processes_share_a_limiter),
        cmocka_unit_test(retry_budget_counts_the_fleet),
        cmocka_unit_test(one_instance_is_not_a_quorum),
        cmocka_unit_test(forced_state_applies_fleet_wide),
        cmocka_unit_test(wrong_password_is_never_logged),
        cmocka_unit_test(paused_redis_never_delays_admission),
        cmocka_unit_test(redis_killed_then_restarted),
        /* issue 19's last parts, after the tests above so they run as before */
        cmocka_unit_test(four_processes_share_a_window),
        cmocka_unit_test(the_cache_is_shared),
        cmocka_unit_test(shared_mode_falls_back_to_local),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
