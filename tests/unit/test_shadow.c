/*
 * test_shadow.c -- shadow evaluation (engine/src/engine/shadow.c): the
 * queue between live threads and the shadow thread.  Several live threads
 * offer at once; every accepted offer is decided by the candidate exactly
 * once (drain, then the report's counts); sampling is exact; a full queue
 * skips and counts, never blocks; freeing with work queued neither hangs
 * nor leaks; records of any size wrap around the ring intact; the live
 * decision's jitter seed reaches the candidate.  Labelled threads, so the
 * TSan run covers the lock-free handoff.
 */
#include <pthread.h>
#include <jansson.h>

#include "flt.h"

/* Live: "refused" is retried.  Candidate: it fails instead. */
static const char *k_live =
    "policy { name = \"shadow-test\", version = \"1\" }\n"
    "category \"unavailable\" { retryable = true,\n"
    "  recovery = retry { backoff = \"constant\", base_ms = 10, jitter = \"none\", max_attempts = 3 } }\n"
    "rule \"refused\" { when = { message = re[[refused]] }, category = \"unavailable\" }\n";
static const char *k_cand =
    "policy { name = \"shadow-test\", version = \"2\" }\n"
    "category \"unavailable\" { retryable = true, recovery = fail() }\n"
    "rule \"refused\" { when = { message = re[[refused]] }, category = \"unavailable\" }\n";

typedef struct world {
    char dir[256];
    fl_engine_t *live;
} world;

static void open_world(world *w)
{
    flt_tmpdir(w->dir, sizeof w->dir);
    flt_write(w->dir, "00-policy.lua", k_cand);
    w->live = flt_engine(k_live);
}

static void close_world(world *w)
{
    fl_engine_free(w->live);
    flt_rmdir(w->dir);
}

/* A shadow of w's candidate with this sample rate and queue size. */
static fl_shadow_t *new_shadow(world *w, double sample, uint32_t queue)
{
    fl_shadow_options_t so = {.sample = sample, .queue = queue};
    fl_shadow_t *sh = NULL;
    fl_diag_t diag;
    assert_int_equal(fl_shadow_new(w->dir, &so, &sh, &diag), FL_OK);
    return sh;
}

static long long report_int(fl_shadow_t *s, const char *key)
{
    char *txt = fl_shadow_report(s);
    assert_non_null(txt);
    json_t *o = json_loads(txt, 0, NULL);
    assert_non_null(o);
    json_t *v = json_object_get(o, key);
    assert_true(json_is_integer(v));
    long long n = json_integer_value(v);
    json_decref(o);
    free(txt);
    return n;
}

typedef struct producer {
    fl_engine_t *live;
    fl_shadow_t *sh;
    int n, accepted, skipped;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_diag_t diag;
    const char *j = "{\"message\":\"connection refused\"}";
    if (fl_ctx_new(p->live, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) return NULL;
    for (int i = 0; i < p->n; i++) {
        if (fl_event_from_json(ev, j, strlen(j), &diag) != FL_OK) break;
        fl_decide(ctx, ev, NULL, 0, d);
        int rc = fl_shadow_offer(p->sh, j, strlen(j), d);
        if (rc == FL_OK)
            p->accepted++;
        else if (rc == FL_EREFUSED)
            p->skipped++;
    }
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void run_producers(world *w, fl_shadow_t *sh, producer *p, int np, int n)
{
    pthread_t th[8];
    for (int i = 0; i < np; i++) {
        p[i] = (producer){.live = w->live, .sh = sh, .n = n};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < np; i++) pthread_join(th[i], NULL);
}

/* Four live threads, a queue big enough: every offer is decided once, and
 * every one is counted as a change (retry -> fail). */
static void test_every_offer_decided_once(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = new_shadow(&w, 1.0, 1 << 16);
    producer p[4];
    run_producers(&w, sh, p, 4, 5000);
    int accepted = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(p[i].skipped, 0);
        accepted += p[i].accepted;
    }
    assert_int_equal(accepted, 20000);
    assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
    assert_int_equal(report_int(sh, "offered"), 20000);
    assert_int_equal(report_int(sh, "events"), 20000);
    assert_int_equal(report_int(sh, "changed"), 20000);
    assert_int_equal(report_int(sh, "skipped"), 0);
    fl_shadow_free(sh);
    close_world(&w);
}

/* A tiny queue under two fast producers: offers are skipped and counted,
 * never waited for; what was accepted is decided, nothing else. */
static void test_full_queue_skips(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = new_shadow(&w, 1.0, 4);
    producer p[2];
    run_producers(&w, sh, p, 2, 20000);
    long long accepted = p[0].accepted + p[1].accepted, skipped = p[0].skipped + p[1].skipped;
    assert_int_equal(accepted + skipped, 40000);
    assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
    assert_int_equal(report_int(sh, "events"), accepted);
    assert_int_equal(report_int(sh, "skipped"), skipped);
    fl_shadow_free(sh);
    close_world(&w);
}

/* Deterministic sampling: 10 % of 1,000 offers is exactly 100, and any
 * rate takes exactly floor(n * rate) of n offers on one thread (the offers
 * between two sampled ones are refused by an integer comparison). */
static void test_sampling_is_exact(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = new_shadow(&w, 0.1, 4096);
    producer p[1];
    run_producers(&w, sh, p, 1, 1000);
    assert_int_equal(p[0].accepted, 100);
    assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
    assert_int_equal(report_int(sh, "events"), 100);
    fl_shadow_free(sh);
    static const double rates[] = {0.3, 1.0 / 3, 0.999, 0.0005, 0.7071};
    for (size_t r = 0; r < sizeof rates / sizeof *rates; r++) {
        sh = new_shadow(&w, rates[r], 1 << 14);
        run_producers(&w, sh, p, 1, 3000);
        assert_int_equal(p[0].skipped, 3000 - p[0].accepted); /* refused: not sampled, none full */
        assert_int_equal(p[0].accepted, (int)(uint64_t)(3000.0 * rates[r]));
        assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
        assert_int_equal(report_int(sh, "offered"), 3000);
        assert_int_equal(report_int(sh, "skipped"), 0);
        fl_shadow_free(sh);
    }
    close_world(&w);
}

/* Freed with work queued: the shadow thread finishes what was accepted and
 * stops (no hang; ASan sees no leak). */
static void test_free_with_work_queued(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = new_shadow(&w, 1.0, 1 << 14);
    producer p[1];
    run_producers(&w, sh, p, 1, 3000);
    fl_shadow_free(sh);
    close_world(&w);
}

/* Records of many sizes through a small ring: they wrap around its end
 * in every position, and each accepted one reaches the candidate intact
 * (it still parses and matches: every decided event is a change).  An
 * event larger than the whole queue is skipped and counted. */
static void test_records_wrap_intact(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = new_shadow(&w, 1.0, 64); /* 48 cells of room: 2,688 bytes */
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_diag_t diag;
    assert_int_equal(fl_ctx_new(w.live, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    static char j[6000];
    long long accepted = 0, skipped = 0;
    for (int i = 0; i < 3000; i++) {
        int pad = i == 1500 ? 5000 : (i * 37) % 700; /* one event larger than the queue */
        int n = snprintf(j, sizeof j, "{\"message\":\"%*s connection refused\"}", pad, "");
        assert_int_equal(fl_event_from_json(ev, j, (size_t)n, &diag), FL_OK);
        assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
        int rc = fl_shadow_offer(sh, j, (size_t)n, d);
        if (i == 1500) assert_int_equal(rc, FL_EREFUSED);
        if (rc == FL_OK) accepted++;
        else skipped++;
        if (i % 50 == 0) fl_shadow_drain(sh, 1000); /* let the ring empty now and then */
    }
    assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
    assert_true(accepted > 100);
    assert_int_equal(report_int(sh, "events"), accepted);
    assert_int_equal(report_int(sh, "changed"), accepted);
    assert_int_equal(report_int(sh, "skipped"), skipped);
    assert_int_equal(report_int(sh, "offered"), 3000);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_shadow_free(sh);
    close_world(&w);
}

/* A shadow of the very same policy over events whose recoveries draw
 * jitter (full, equal, decorrelated): the candidate replays each live
 * decision's jitter seed, so nothing is reported as changed. */
static void test_identical_version_jitter_unchanged(void **st)
{
    (void)st;
    static const char *const pol =
        "policy { name = \"shadow-jitter\", version = \"1\" }\n"
        "rule \"full\" { when = { op = \"full\" }, category = \"unavailable\","
        "  recovery = retry { base_ms = 1000, jitter = \"full\", max_attempts = 100, max_delay_ms = 60000 } }\n"
        "rule \"equal\" { when = { op = \"equal\" }, category = \"unavailable\","
        "  recovery = retry { base_ms = 1000, jitter = \"equal\", max_attempts = 100, max_delay_ms = 60000 } }\n"
        "rule \"decor\" { when = { op = \"decor\" }, category = \"unavailable\","
        "  recovery = retry { backoff = \"decorrelated\", base_ms = 100, max_delay_ms = 20000, max_attempts = 100 } }\n";
    char dir[256];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "00-policy.lua", pol);
    fl_engine_t *live = flt_engine(pol);
    fl_shadow_options_t so = {.sample = 1.0, .queue = 1 << 14};
    fl_shadow_t *sh = NULL;
    fl_diag_t diag;
    assert_int_equal(fl_shadow_new(dir, &so, &sh, &diag), FL_OK);
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    assert_int_equal(fl_ctx_new(live, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    static const char *const ops[] = {"full", "equal", "decor"};
    int offered = 0;
    for (int i = 0; i < 600; i++) {
        char j[96];
        int n = snprintf(j, sizeof j, "{\"op\":\"%s\",\"attempt\":%d}", ops[i % 3], 1 + i % 9);
        assert_int_equal(fl_event_from_json(ev, j, (size_t)n, &diag), FL_OK);
        assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
        assert_int_equal(fl_decision_action(d), FL_ACTION_RETRY);
        if (fl_shadow_offer(sh, j, (size_t)n, d) == FL_OK) offered++;
    }
    assert_int_equal(fl_shadow_drain(sh, 60000), FL_OK);
    assert_int_equal(report_int(sh, "events"), offered);
    assert_true(offered > 0);
    assert_int_equal(report_int(sh, "changed"), 0);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_shadow_free(sh);
    fl_engine_free(live);
    flt_rmdir(dir);
}

/* Bad input: precise status, nothing created. */
static void test_bad_input(void **st)
{
    (void)st;
    world w;
    open_world(&w);
    fl_shadow_t *sh = (fl_shadow_t *)&w;
    fl_diag_t diag;
    fl_shadow_options_t bad = {.sample = 1.5};
    assert_int_equal(fl_shadow_new(w.dir, &bad, &sh, &diag), FL_EINVAL);
    assert_null(sh);
    assert_int_equal(fl_shadow_new(NULL, NULL, &sh, &diag), FL_EINVAL);
    assert_int_not_equal(fl_shadow_new("/nonexistent/policy", NULL, &sh, &diag), FL_OK);
    assert_null(sh);
    fl_decision_t *d;
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_shadow_offer(NULL, "{}", 2, d), FL_EINVAL);
    assert_int_equal(fl_shadow_drain(NULL, 0), FL_EINVAL);
    assert_null(fl_shadow_report(NULL));
    fl_shadow_free(NULL);
    fl_decision_free(d);
    close_world(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_offer_decided_once),
        cmocka_unit_test(test_full_queue_skips),
        cmocka_unit_test(test_sampling_is_exact),
        cmocka_unit_test(test_free_with_work_queued),
        cmocka_unit_test(test_records_wrap_intact),
        cmocka_unit_test(test_identical_version_jitter_unchanged),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
