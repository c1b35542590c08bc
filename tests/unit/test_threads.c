/*
 * test_threads.c -- several threads, each with its own ctx, decide
 * concurrently while the main thread reloads the policy (good versions
 * alternating with broken ones).  Every decision must be a valid decision
 * of exactly one published version, never a mix, and never an error.
 * Labelled `threads` so it also runs under ThreadSanitizer.
 */
#include <pthread.h>
#include <unistd.h>
#include <sched.h>
#include <stdatomic.h>
#include <jansson.h>

#include "flt.h"

#define NTHREADS 3

/* Version N declares rule "rN-*" with category per N, and label "N". */
static char *policy_src(int n)
{
    char *s = malloc(2048);
    snprintf(s, 2048,
             "policy { name = \"threads\", version = \"%d\" }\n"
             "category \"unavailable\" { recovery = retry { backoff = \"constant\", base_ms = %d, jitter = \"none\" } }\n"
             "rule \"r%d-msg\" { when = { message = re\"(?i)connection (?<what>refused|reset)\" }, category = \"unavailable\" }\n"
             "rule \"r%d-code\" { when = { domain = \"http\", code = range(500, 599) }, category = \"%s\" }\n"
             "rule \"r%d-handler\" { when = { op = \"h\" }, category = \"internal\", handler = function(ev, d)\n"
             "  return { message = \"v%d \" .. (ev.tags.n or \"?\") } end }\n"
             "messages \"en\" { unavailable = \"v%d: {what|down}\", internal = \"v%d internal\" }\n",
             n, 100 + n, n, n, n % 2 ? "unavailable" : "internal", n, n, n, n);
    return s;
}

struct worker {
    fl_engine_t *e;
    atomic_int *stop;
    atomic_long decisions;
    long bad;
    char why[256];
    int versions_seen[64];
};

static const char *const k_events[] = {
    "{\"id\":\"a\",\"message\":\"connect: Connection refused\"}",
    "{\"id\":\"b\",\"domain\":\"http\",\"code\":503}",
    "{\"id\":\"c\",\"op\":\"h\",\"tags\":{\"n\":\"7\"}}",
    "{\"id\":\"d\",\"message\":\"nothing matches this\"}",
};

static void *run(void *arg)
{
    struct worker *w = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    if (fl_ctx_new(w->e, &ctx) || fl_event_new(&ev) || fl_decision_new(&d)) {
        w->bad++;
        snprintf(w->why, sizeof w->why, "setup failed");
        goto out;
    }
    for (long i = 0; !atomic_load(w->stop) || i < 200; i++) {
        int k = (int)(i % 4);
        fl_diag_t dg;
        if (fl_event_from_json(ev, k_events[k], strlen(k_events[k]), &dg) != FL_OK) {
            w->bad++;
            continue;
        }
        int rc = fl_decide(ctx, ev, NULL, 0, d);
        atomic_fetch_add(&w->decisions, 1);
        const char *json = fl_decision_to_json(d);
        json_t *o = json ? json_loads(json, 0, NULL) : NULL;
        const char *label = o ? json_string_value(json_object_get(json_object_get(o, "policy"), "version")) : NULL;
        int n = label ? atoi(label) : -1;
        const char *rule = fl_decision_rule(d), *cat = fl_decision_category(d), *msg = fl_decision_message(d);
        char want_rule[32] = "default", want_msg[64] = "", want_cat[32] = "unknown";
        int64_t want_delay = -1;
        switch (k) {
        case 0:
            snprintf(want_rule, sizeof want_rule, "r%d-msg", n);
            snprintf(want_cat, sizeof want_cat, "unavailable");
            snprintf(want_msg, sizeof want_msg, "v%d: refused", n);
            want_delay = 100 + n;
            break;
        case 1:
            snprintf(want_rule, sizeof want_rule, "r%d-code", n);
            snprintf(want_cat, sizeof want_cat, "%s", n % 2 ? "unavailable" : "internal");
            snprintf(want_msg, sizeof want_msg, n % 2 ? "v%d: down" : "v%d internal", n);
            want_delay = n % 2 ? 100 + n : -1;
            break;
        case 2:
            snprintf(want_rule, sizeof want_rule, "r%d-handler", n);
            snprintf(want_cat, sizeof want_cat, "internal");
            snprintf(want_msg, sizeof want_msg, "v%d 7", n);
            break;
        default:
            snprintf(want_msg, sizeof want_msg, "v%d internal", n); /* no "unknown" message: generic */
            break;
        }
        int ok = rc == FL_OK && o && n >= 0 && n < 64 && rule && strcmp(rule, want_rule) == 0 && cat &&
                 strcmp(cat, want_cat) == 0 && fl_decision_delay_ms(d) == want_delay && !fl_decision_error(d) &&
                 fl_decision_fingerprint(d) && strlen(fl_decision_fingerprint(d)) == 16 && msg &&
                 (k == 3 || strcmp(msg, want_msg) == 0);
        if (!ok) {
            if (!w->bad)
                snprintf(w->why, sizeof w->why, "rc %d, event %d: %.200s", rc, k, json ? json : "(no json)");
            w->bad++;
        } else {
            w->versions_seen[n] = 1;
        }
        json_decref(o);
    }
out:
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void test_decide_while_reloading(void **s)
{
    (void)s;
    char *v0 = policy_src(0);
    /* This test is about thread safety, not budgets: on 2 cores, 8 busy
     * threads preempt each other for tens of ms, which a 10 ms wall-clock
     * handler budget would (correctly) punish.  Budgets have their own tests. */
    static const fl_engine_options_t k_opts = {.handler_budget_us = 2000000};
    fl_engine_t *e = flt_engine_opts(v0, &k_opts);
    free(v0);
    atomic_int stop;
    atomic_init(&stop, 0);
    struct worker w[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].e = e;
        w[i].stop = &stop;
        atomic_init(&w[i].decisions, 0);
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    /* Reload only once every worker is deciding, and let them decide
     * between reloads, so reloads really overlap decisions. */
    for (int i = 0; i < NTHREADS; i++)
        while (atomic_load(&w[i].decisions) < 20) sched_yield();
    int published = 0;
    for (int r = 1; r <= 120; r++) {
        fl_diag_t d;
        int n = r % 60 + 1;
        char *src = policy_src(n);
        assert_int_equal(fl_engine_load_string(e, "threads.lua", src, strlen(src), &d), FL_OK);
        published++;
        free(src);
        /* Let every worker decide a few times on this version (bounded: a
         * loaded CI machine may not schedule them at once). */
        long prev[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) prev[i] = atomic_load(&w[i].decisions);
        for (int spin = 0; spin < 20000; spin++) {
            int all = 1;
            for (int i = 0; i < NTHREADS; i++) all &= atomic_load(&w[i].decisions) >= prev[i] + 3;
            if (all) break;
            usleep(10);
        }
        long before = atomic_load(&w[r % NTHREADS].decisions);
        while (atomic_load(&w[r % NTHREADS].decisions) < before + 5) sched_yield();
        /* A broken version now and then: refused, never served. */
        if (r % 10 == 0) {
            const char *bad = "policy { version = \"63\" }\nrule \"x\" { category = \"nope\" }\n";
            assert_int_equal(fl_engine_load_string(e, "bad.lua", bad, strlen(bad), &d), FL_EPOLICY_SCHEMA);
        }
    }
    atomic_store(&stop, 1);
    long total = 0;
    int seen[64] = {0}, nseen = 0;
    /* Join everyone before the first assertion: a failed assertion unwinds
     * this frame, which the workers' `stop` pointer refers to. */
    for (int i = 0; i < NTHREADS; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].bad) print_error("thread %d: %ld bad decisions; first: %s\n", i, w[i].bad, w[i].why);
        assert_int_equal(w[i].bad, 0);
        assert_true(atomic_load(&w[i].decisions) >= 200);
        assert_int_equal(w[i].versions_seen[63], 0);
        for (int k = 0; k < 64; k++) seen[k] |= w[i].versions_seen[k];
        total += atomic_load(&w[i].decisions);
    }
    for (int k = 0; k < 64; k++) nseen += seen[k];
    assert_true(nseen > 30); /* the workers really decided across many versions */
    assert_int_equal(published, 120);
    assert_true(total > 0);
    /* After the storm: the last version serves everyone. */
    flt t;
    t.e = e;
    assert_int_equal(fl_ctx_new(e, &t.ctx), FL_OK);
    assert_int_equal(fl_event_new(&t.ev), FL_OK);
    assert_int_equal(fl_decision_new(&t.d), FL_OK);
    assert_string_equal(flt_rule(&t, k_events[0]), "r1-msg"); /* 120 % 60 + 1 */
    flt_close(&t);
}

static void test_many_contexts_one_engine(void **s)
{
    (void)s;
    /* Contexts are independent: 8 threads, no reload, same answers. */
    char *v = policy_src(5);
    static const fl_engine_options_t k_opts = {.handler_budget_us = 2000000}; /* see above */
    fl_engine_t *e = flt_engine_opts(v, &k_opts);
    free(v);
    atomic_int stop;
    atomic_init(&stop, 1); /* each worker does its 200 decisions and stops */
    struct worker w[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].e = e;
        w[i].stop = &stop;
        atomic_init(&w[i].decisions, 0);
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < 8; i++) {
        if (w[i].bad) print_error("thread %d: %s\n", i, w[i].why);
        assert_int_equal(w[i].bad, 0);
        assert_int_equal(atomic_load(&w[i].decisions), 200);
        assert_int_equal(w[i].versions_seen[5], 1);
    }
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide_while_reloading),
        cmocka_unit_test(test_many_contexts_one_engine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
