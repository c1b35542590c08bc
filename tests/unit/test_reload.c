/*
 * test_reload.c -- hot reload: fl_engine_load under load (several threads
 * deciding while 200 reloads happen, half of them broken in different ways:
 * no decision fails and every decision is attributable to a version that was
 * published), the version history (newest first, versions_kept), rollback by
 * previous / id / prefix and its errors, fl_engine_reload, reloading
 * identical content, and fl_watch_* on a directory edited the way editors
 * and deploy tools do it (write-then-rename, atomic symlink swap).
 */
#define _GNU_SOURCE /* mkdtemp, symlink, usleep via unistd, nanosleep */
#include <errno.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "flt.h"

/* ---- helpers ---------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Replace dir/name with `text` the way editors do: write a hidden temporary,
 * then rename it over the file. */
static void write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[600], dst[600];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, dst), 0);
}

/*
 * A valid version k.  Every field a decision reports encodes k, so a decision
 * can be attributed to the version that made it:
 *   message "connection refused"  -> rule "refused-vK", category
 *       "unavailable.vK", params {"version": K}, delay 100+K ms, message
 *       "down vK";
 *   domain http, code 503         -> rule "http503-vK", category
 *       "unavailable.cK", same params, delay and message.
 */
static void valid_policy(char *buf, size_t n, int k)
{
    snprintf(buf, n,
             "policy { name = \"reload\", version = \"v%d\" }\n"
             "category \"unavailable\" { severity = \"error\", retryable = true,\n"
             "  recovery = retry { backoff = \"constant\", base_ms = %d, jitter = \"none\", max_attempts = 100 } }\n"
             "rule \"refused-v%d\" { when = { message = re[[(?i)connection refused]] },\n"
             "  category = \"unavailable.v%d\", params = { version = %d } }\n"
             "rule \"http503-v%d\" { when = { domain = \"http\", code = 503 },\n"
             "  category = \"unavailable.c%d\", params = { version = %d } }\n"
             "messages \"en\" { unavailable = \"down v%d\" }\n"
             "example \"refused\" { event = { message = \"connect: connection refused\" },\n"
             "  expect = { category = \"unavailable.v%d\", action = \"retry\", delay_ms = %d } }\n",
             k, 100 + k, k, k, k, k, k, k, k, k, 100 + k);
}

/* The ways a policy edit can be broken.  Each one also claims a version label
 * and categories that no valid version uses (k >= 1000), so if one were ever
 * published the deciders would notice. */
enum broken_kind {
    B_SYNTAX,
    B_EXAMPLE,
    B_HANDLER_THROWS,
    B_BAD_PATTERN,
    B_UNKNOWN_KEY,
    B_RUNTIME_ERROR,
    B_INFINITE_LOOP,
    B_UNKNOWN_CATEGORY,
    B_MEMORY_BOMB,
    B_KINDS_
};

static const char *const k_broken_name[] = {"syntax error",  "failing example",  "handler throws",
                                            "bad pattern",   "unknown key",      "runtime error",
                                            "infinite loop", "unknown category", "memory bomb"};

/* Expected primary status of each kind. */
static const int k_broken_status[] = {FL_EPOLICY, FL_EEXAMPLE, FL_EEXAMPLE, FL_EPOLICY, FL_EPOLICY,
                                      FL_EPOLICY, FL_EBUDGET,  FL_EPOLICY,  FL_EBUDGET};

static void broken_policy(char *buf, size_t n, int kind, int k)
{
    char head[512];
    snprintf(head, sizeof head,
             "policy { name = \"reload\", version = \"broken%d\" }\n"
             "rule \"refused-b%d\" { when = { message = re[[(?i)connection refused]] },\n"
             "  category = \"unavailable.v%d\", params = { version = %d } }\n",
             k, k, k, k);
    const char *tail = "";
    switch (kind) {
    case B_SYNTAX:
        tail = "rule \"half\" { when = { message = re[[x]] , category = \n";
        break;
    case B_EXAMPLE:
        tail = "example \"wrong\" { event = { message = \"connection refused\" },\n"
               "  expect = { category = \"not_found\" } }\n";
        break;
    case B_HANDLER_THROWS:
        tail = "rule \"h\" { priority = 10, when = { op = \"h\" }, category = \"internal\",\n"
               "  handler = function(ev, d) error(\"handler blew up\") end }\n"
               "example \"h\" { event = { message = \"x\", op = \"h\" }, expect = { category = \"internal\" } }\n";
        break;
    case B_BAD_PATTERN:
        tail = "rule \"pat\" { when = { message = re[[(unclosed[a-]]] }, category = \"internal\" }\n";
        break;
    case B_UNKNOWN_KEY:
        tail = "rule \"key\" { when = { message = re[[x]] }, category = \"internal\", colour = \"red\" }\n";
        break;
    case B_RUNTIME_ERROR:
        tail = "local t = nil\nlocal x = t.field -- attempt to index a nil value\n";
        break;
    case B_INFINITE_LOOP:
        tail = "local i = 0\nwhile true do i = i + 1 end\n";
        break;
    case B_UNKNOWN_CATEGORY:
        tail = "rule \"cat\" { when = { message = re[[x]] }, category = \"not_a_category\" }\n";
        break;
    case B_MEMORY_BOMB:
        tail = "local s = \"xxxxxxxxxxxxxxxx\"\nwhile true do s = s .. s end\n";
        break;
    }
    snprintf(buf, n, "%s%s", head, tail);
}

/* ---- the published set ------------------------------------------------------- */

#define MAX_PUB 512

typedef struct published {
    char id[MAX_PUB][17];
    int k[MAX_PUB];
    int n;
} published;

static int pub_find(const published *p, const char *id)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->id[i], id) == 0) return i;
    return -1;
}

/* ---- deciders ------------------------------------------------------------- */

#define MAX_SEEN 4096

typedef struct decider {
    pthread_t th;
    fl_engine_t *e;
    atomic_int *stop;
    int index;
    long decisions;
    long failures;       /* fl_decide != FL_OK, or a field that does not fit */
    char first_failure[512];
    /* the distinct versions seen, in the order seen */
    char seen_id[MAX_SEEN][17];
    int seen_k[MAX_SEEN];
    int nseen;
    int overflow;
    atomic_int cur_k; /* k of the latest version seen (read by the main thread) */
} decider;

static void fail_once(decider *d, const char *fmt, const char *a, const char *b)
{
    if (d->failures++ == 0) snprintf(d->first_failure, sizeof d->first_failure, fmt, a ? a : "(null)", b ? b : "(null)");
}

/* Check that one decision is exactly what version k's rule says; returns k or
 * -1 (and records why). */
static int attribute(decider *dd, const fl_decision_t *d, int http)
{
    const char *cat = fl_decision_category(d);
    const char *rule = fl_decision_rule(d);
    int k = -1, k2 = -2, k3 = -3, k4 = -4;
    char c = 0;
    if (!cat || sscanf(cat, "unavailable.%c%d", &c, &k) != 2 || c != (http ? 'c' : 'v')) {
        fail_once(dd, "unexpected category %s (rule %s)", cat, rule);
        return -1;
    }
    if (!rule || sscanf(rule, http ? "http503-v%d" : "refused-v%d", &k2) != 1 || k2 != k) {
        fail_once(dd, "rule %s does not match category %s", rule, cat);
        return -1;
    }
    const char *pj = fl_decision_params_json(d);
    if (!pj || sscanf(pj, "{\"version\":%d}", &k3) != 1 || k3 != k) {
        fail_once(dd, "params %s do not match category %s", pj, cat);
        return -1;
    }
    const char *msg = fl_decision_message(d);
    if (!msg || sscanf(msg, "down v%d", &k4) != 1 || k4 != k) {
        fail_once(dd, "message %s does not match category %s", msg, cat);
        return -1;
    }
    if (fl_decision_action(d) != FL_ACTION_RETRY || fl_decision_delay_ms(d) != 100 + k ||
        fl_decision_error(d) != NULL) {
        fail_once(dd, "action/delay/error do not match category %s (%s)", cat, fl_decision_to_json((fl_decision_t *)d));
        return -1;
    }
    return k;
}

static void *decider_main(void *arg)
{
    decider *dd = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev[2] = {NULL, NULL};
    fl_decision_t *d = NULL;
    if (fl_ctx_new(dd->e, &ctx) != FL_OK || fl_event_new(&ev[0]) != FL_OK || fl_event_new(&ev[1]) != FL_OK ||
        fl_decision_new(&d) != FL_OK) {
        fail_once(dd, "setup failed%s%s", "", "");
        goto out;
    }
    fl_event_set(ev[0], FL_FIELD_MESSAGE, "dial tcp 10.0.0.7:5432: Connection refused", (size_t)-1);
    fl_event_set(ev[1], FL_FIELD_DOMAIN, "http", (size_t)-1);
    fl_event_set(ev[1], FL_FIELD_CODE, "503", (size_t)-1);
    fl_event_set(ev[1], FL_FIELD_MESSAGE, "upstream said 503", (size_t)-1);
    char last[17] = "";
    for (long i = 0; !atomic_load_explicit(dd->stop, memory_order_relaxed); i++) {
        int http = (int)((i + dd->index) & 1);
        int rc = fl_decide(ctx, ev[http], (i % 3) ? NULL : "en", 0, d);
        dd->decisions++;
        if (rc != FL_OK) {
            fail_once(dd, "fl_decide failed: %s (%s)", fl_strerror(rc), fl_decision_error(d));
            continue;
        }
        const char *id = fl_decision_policy_version(d);
        if (!id || strlen(id) != 16) {
            fail_once(dd, "bad version id %s%s", id, "");
            continue;
        }
        int k = attribute(dd, d, http);
        if (k < 0) continue;
        if (strcmp(id, last) != 0) {
            if (dd->nseen == MAX_SEEN) {
                dd->overflow = 1;
            } else {
                snprintf(dd->seen_id[dd->nseen], 17, "%s", id);
                dd->seen_k[dd->nseen++] = k;
            }
            atomic_store_explicit(&dd->cur_k, k, memory_order_relaxed);
            snprintf(last, sizeof last, "%s", id);
        } else if (dd->nseen && dd->seen_k[dd->nseen - 1] != k) {
            fail_once(dd, "version %s answered for two different versions%s", id, "");
        }
    }
out:
    fl_decision_free(d);
    fl_event_free(ev[1]);
    fl_event_free(ev[0]);
    fl_ctx_free(ctx);
    return NULL;
}

/* ---- 1. reloads under load ------------------------------------------------------ */

#define NDECIDERS 3
#define NLOADS 200

static void test_reload_under_load(void **s)
{
    (void)s;
    char dir[256], src[4096];
    flt_tmpdir(dir, sizeof dir);
    fl_engine_options_t o = {0};
    o.seed = 11;
    o.versions_kept = 4; /* old versions leave the history while deciders may still hold them */
    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);

    static published pub; /* big: keep it off the stack */
    memset(&pub, 0, sizeof pub);
    fl_diag_t dg;
    fl_version_info_t vi;
    int k = 0;
    valid_policy(src, sizeof src, k);
    write_atomic(dir, "policy.lua", src);
    assert_int_equal(fl_engine_load(e, dir, &dg), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    snprintf(pub.id[0], 17, "%s", vi.id);
    pub.k[0] = 0;
    pub.n = 1;

    atomic_int stop;
    atomic_init(&stop, 0);
    static decider dd[NDECIDERS];
    memset(dd, 0, sizeof dd);
    for (int i = 0; i < NDECIDERS; i++) {
        dd[i].e = e;
        dd[i].stop = &stop;
        dd[i].index = i;
        atomic_init(&dd[i].cur_k, -1);
        assert_int_equal(pthread_create(&dd[i].th, NULL, decider_main, &dd[i]), 0);
    }

    int ok_loads = 0, bad_loads = 0, bad_by_kind[B_KINDS_] = {0};
    double kind_s[B_KINDS_] = {0}, valid_s = 0;
    double t0 = now_s(), worst_load = 0, worst_valid = 0;
    for (int i = 0; i < NLOADS; i++) {
        int valid = (i % 2) == 1;
        /* Broken edits cycle through the kinds.  The infinite loop runs into
         * the loader's CPU budget (2 s of wall time) and the memory bomb into
         * the memory cap (slow under sanitizers), so those come twice each. */
        static const int cycle[] = {B_SYNTAX,      B_EXAMPLE,       B_HANDLER_THROWS,  B_BAD_PATTERN,
                                    B_UNKNOWN_KEY, B_RUNTIME_ERROR, B_UNKNOWN_CATEGORY};
        int nb = i / 2;
        int kind = (nb == 20 || nb == 70) ? B_INFINITE_LOOP
                 : (nb == 45 || nb == 95) ? B_MEMORY_BOMB
                                          : cycle[nb % 7];
        if (valid) valid_policy(src, sizeof src, ++k);
        else broken_policy(src, sizeof src, kind, 1000 + i);
        write_atomic(dir, "policy.lua", src);
        char before[17];
        assert_int_equal(fl_engine_current(e, &vi), FL_OK);
        snprintf(before, sizeof before, "%s", vi.id);
        double t = now_s();
        int rc = fl_engine_load(e, dir, &dg);
        t = now_s() - t;
        if (!valid) kind_s[kind] += t;
        else valid_s += t;
        if (!valid && t > worst_load) worst_load = t;
        if (valid && t > worst_valid) worst_valid = t;
        assert_int_equal(fl_engine_current(e, &vi), FL_OK);
        if (valid) {
            if (rc != FL_OK) {
                char b[1200];
                print_error("valid version %d refused: %s\n", k, fl_diag_format(&dg, b, sizeof b));
            }
            assert_int_equal(rc, FL_OK);
            char label[32];
            snprintf(label, sizeof label, "v%d", k);
            assert_string_equal(vi.version, label);
            assert_true(pub.n < MAX_PUB);
            assert_int_equal(pub_find(&pub, vi.id), -1); /* distinct content, distinct id */
            snprintf(pub.id[pub.n], 17, "%s", vi.id);
            pub.k[pub.n++] = k;
            ok_loads++;
        } else {
            if (FL_PRIMARY(rc) != k_broken_status[kind]) {
                char b[1200];
                print_error("broken kind '%s': got %s (%s)\n", k_broken_name[kind], fl_strerror(rc),
                            fl_diag_format(&dg, b, sizeof b));
            }
            assert_int_equal(FL_PRIMARY(rc), k_broken_status[kind]);
            assert_int_equal(dg.status, rc);
            assert_true(dg.message[0] != '\0');
            /* nothing published: the running version keeps serving */
            assert_string_equal(vi.id, before);
            bad_loads++;
            bad_by_kind[kind]++;
        }
        /* Let the deciders see most versions (and keep the loop from
         * monopolising the 2 cores under sanitizers). */
        if (i % 4 == 0) sleep_ms(1);
    }
    double elapsed = now_s() - t0;
    /* Each decider moves to the last version at its next decision; give a
     * thread that the scheduler left waiting (3 deciders, 2 cores) time to
     * run. */
    for (double end = now_s() + 5; now_s() < end;) {
        int all = 1;
        for (int i = 0; i < NDECIDERS; i++) all &= atomic_load(&dd[i].cur_k) == k;
        if (all) break;
        sleep_ms(5);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < NDECIDERS; i++) pthread_join(dd[i].th, NULL);

    assert_int_equal(ok_loads, NLOADS / 2);
    assert_int_equal(bad_loads, NLOADS / 2);
    for (int i = 0; i < B_KINDS_; i++) assert_true(bad_by_kind[i] > 0);

    long total = 0;
    int distinct_max = 0;
    for (int t = 0; t < NDECIDERS; t++) {
        if (dd[t].failures) print_error("decider %d: %ld failures, first: %s\n", t, dd[t].failures, dd[t].first_failure);
        assert_int_equal(dd[t].failures, 0);
        assert_int_equal(dd[t].overflow, 0);
        assert_true(dd[t].decisions > 0);
        total += dd[t].decisions;
        if (dd[t].nseen > distinct_max) distinct_max = dd[t].nseen;
        /* Every version a decider saw was published, carries the rule of
         * that version, and versions are seen in publication order (a
         * decider never goes back to an older version). */
        int last_pos = -1;
        for (int j = 0; j < dd[t].nseen; j++) {
            int pos = pub_find(&pub, dd[t].seen_id[j]);
            if (pos < 0) print_error("decider %d saw unpublished version %s\n", t, dd[t].seen_id[j]);
            assert_true(pos >= 0);
            assert_int_equal(dd[t].seen_k[j], pub.k[pos]);
            assert_true(pos > last_pos);
            last_pos = pos;
        }
        /* and each decider ended on the last published version */
        assert_true(dd[t].nseen > 0);
        assert_string_equal(dd[t].seen_id[dd[t].nseen - 1], pub.id[pub.n - 1]);
    }
    if (getenv("FLT_VERBOSE")) {
        print_message("load time: valid %.0f ms total", valid_s * 1e3);
        for (int i = 0; i < B_KINDS_; i++) print_message(", %s %.0f ms", k_broken_name[i], kind_s[i] * 1e3);
        print_message("\n");
    }
    /* the deciders really ran across reloads */
    assert_true(distinct_max >= 10);
    print_message("reload under load: %d loads (%d ok, %d refused) in %.2f s, slowest refused load %.1f ms "
                  "(the CPU-budget case), slowest valid load %.1f ms; "
                  "%ld decisions by %d threads, up to %d versions seen by one thread, 0 failures\n",
                  NLOADS, ok_loads, bad_loads, elapsed, worst_load * 1e3, worst_valid * 1e3, total, NDECIDERS, distinct_max);
    fl_engine_free(e);
    flt_rmdir(dir);
}

/* ---- 2. versions, rollback, reload ------------------------------------------------ */

static void load_k(fl_engine_t *e, const char *dir, int k, char id_out[17])
{
    char src[4096];
    fl_diag_t dg;
    valid_policy(src, sizeof src, k);
    write_atomic(dir, "policy.lua", src);
    int rc = fl_engine_load(e, dir, &dg);
    if (rc != FL_OK) {
        char b[1200];
        print_error("load v%d: %s\n", k, fl_diag_format(&dg, b, sizeof b));
    }
    assert_int_equal(rc, FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    if (id_out) snprintf(id_out, 17, "%s", vi.id);
}

static const char *current_label(fl_engine_t *e)
{
    static _Thread_local char buf[64];
    fl_version_info_t vi;
    if (fl_engine_current(e, &vi) != FL_OK) return "(none)";
    snprintf(buf, sizeof buf, "%s", vi.version);
    return buf;
}

static void test_versions_list(void **s)
{
    (void)s;
    char dir[256], id[6][17];
    flt_tmpdir(dir, sizeof dir);
    fl_engine_options_t o = {.seed = 3, .versions_kept = 3};
    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    size_t count = 99;
    fl_version_info_t vs[8];
    assert_int_equal(fl_engine_versions(e, vs, 8, &count), FL_OK);
    assert_int_equal(count, 0);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);

    for (int k = 1; k <= 5; k++) {
        load_k(e, dir, k, id[k]);
        assert_int_equal(fl_engine_versions(e, vs, 8, &count), FL_OK);
        assert_int_equal(count, k < 3 ? (size_t)k : 3u);
        /* newest first, only the newest is current */
        for (size_t i = 0; i < count; i++) {
            char label[16];
            snprintf(label, sizeof label, "v%d", k - (int)i);
            assert_string_equal(vs[i].version, label);
            assert_string_equal(vs[i].id, id[k - i]);
            assert_int_equal(vs[i].current, i == 0);
            assert_string_equal(vs[i].name, "reload");
            assert_string_equal(vs[i].source, dir);
            assert_int_equal(vs[i].rules, 2);
            assert_int_equal(vs[i].examples, 1);
            if (i) assert_true(vs[i].loaded_at_ms <= vs[i - 1].loaded_at_ms);
        }
    }
    /* count says how many are kept even when cap is smaller */
    assert_int_equal(fl_engine_versions(e, vs, 1, &count), FL_OK);
    assert_int_equal(count, 3);
    assert_string_equal(vs[0].version, "v5");
    assert_int_equal(fl_engine_versions(e, NULL, 0, &count), FL_OK);
    assert_int_equal(count, 3);
    assert_int_equal(fl_engine_versions(e, NULL, 2, &count), FL_EINVAL);
    assert_int_equal(fl_engine_versions(e, vs, 2, NULL), FL_EINVAL);
    assert_int_equal(fl_engine_versions(NULL, vs, 2, &count), FL_EINVAL);
    assert_int_equal(fl_engine_current(NULL, &vi), FL_EINVAL);
    assert_int_equal(fl_engine_current(e, NULL), FL_EINVAL);

    /* v1 and v2 left the history: they cannot be rolled back to */
    fl_diag_t dg;
    assert_int_equal(fl_engine_rollback(e, id[1], &dg), FL_ENOENT);
    assert_int_equal(dg.status, FL_ENOENT);
    assert_int_equal(fl_engine_rollback(e, id[2], NULL), FL_ENOENT);
    assert_string_equal(current_label(e), "v5");
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_rollback(void **s)
{
    (void)s;
    char dir[256], id[5][17];
    flt_tmpdir(dir, sizeof dir);
    fl_engine_options_t o = {.seed = 3, .versions_kept = 8};
    fl_engine_t *e = NULL;
    fl_diag_t dg;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    /* nothing loaded: nothing to roll back to */
    assert_int_equal(fl_engine_rollback(e, NULL, &dg), FL_ENOENT);
    assert_int_equal(fl_engine_rollback(NULL, NULL, &dg), FL_EINVAL);
    load_k(e, dir, 1, id[1]);
    /* a single version: no previous one */
    assert_int_equal(fl_engine_rollback(e, NULL, &dg), FL_ENOENT);
    assert_string_equal(current_label(e), "v1");
    load_k(e, dir, 2, id[2]);
    load_k(e, dir, 3, id[3]);
    load_k(e, dir, 4, id[4]);

    /* NULL: back one */
    assert_int_equal(fl_engine_rollback(e, NULL, &dg), FL_OK);
    assert_string_equal(current_label(e), "v3");
    /* the rolled-back version is republished as the newest entry, once */
    fl_version_info_t vs[8];
    size_t count = 0;
    assert_int_equal(fl_engine_versions(e, vs, 8, &count), FL_OK);
    assert_int_equal(count, 4);
    assert_string_equal(vs[0].id, id[3]);
    assert_int_equal(vs[0].current, 1);
    for (size_t i = 1; i < count; i++) {
        assert_string_not_equal(vs[i].id, id[3]);
        assert_int_equal(vs[i].current, 0);
    }

    /* a decider picks the rollback up at its next decision */
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    fl_event_set(ev, FL_FIELD_MESSAGE, "connection refused", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_category(d), "unavailable.v3");
    assert_string_equal(fl_decision_policy_version(d), id[3]);

    /* by full id */
    assert_int_equal(fl_engine_rollback(e, id[1], &dg), FL_OK);
    assert_string_equal(current_label(e), "v1");
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_category(d), "unavailable.v1");
    assert_string_equal(fl_decision_policy_version(d), id[1]);

    /* by a unique prefix (the shortest allowed is 4 digits) */
    char pre[17];
    int found = 0;
    for (size_t n = 4; n <= 16 && !found; n++) {
        snprintf(pre, n + 1, "%s", id[2]);
        int unique = 1;
        for (int j = 1; j <= 4; j++)
            if (j != 2 && strncmp(id[j], pre, n) == 0) unique = 0;
        found = unique;
    }
    assert_true(found);
    assert_int_equal(fl_engine_rollback(e, pre, &dg), FL_OK);
    assert_string_equal(current_label(e), "v2");
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_category(d), "unavailable.v2");

    /* rolling back to the current version is allowed and changes nothing */
    assert_int_equal(fl_engine_rollback(e, id[2], &dg), FL_OK);
    assert_string_equal(current_label(e), "v2");

    /* too short, too long -> FL_EINVAL; unknown -> FL_ENOENT; nothing changes */
    memcpy(pre, id[4], 3);
    pre[3] = '\0';
    assert_int_equal(fl_engine_rollback(e, pre, &dg), FL_EINVAL);
    assert_int_equal(dg.status, FL_EINVAL);
    assert_true(dg.message[0] != '\0');
    assert_int_equal(fl_engine_rollback(e, "", &dg), FL_EINVAL);
    char longer[32];
    snprintf(longer, sizeof longer, "%s0", id[4]);
    assert_int_equal(fl_engine_rollback(e, longer, &dg), FL_EINVAL);
    char unknown[17];
    snprintf(unknown, sizeof unknown, "%s", id[4]);
    for (int tries = 0; tries < 16; tries++) { /* change the first digit until no kept id has it */
        unknown[0] = "0123456789abcdef"[tries];
        int clash = 0;
        for (int j = 1; j <= 4; j++)
            if (id[j][0] == unknown[0]) clash = 1;
        if (!clash) break;
    }
    assert_int_equal(fl_engine_rollback(e, unknown, &dg), FL_ENOENT);
    assert_int_equal(dg.status, FL_ENOENT);
    assert_int_equal(fl_engine_rollback(e, "zzzz", &dg), FL_ENOENT);
    assert_string_equal(current_label(e), "v2");
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, d), FL_OK);
    assert_string_equal(fl_decision_category(d), "unavailable.v2");

    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    flt_rmdir(dir);
}

/* An ambiguous prefix needs two kept versions whose ids share their first 4
 * digits: load small in-memory variants until two collide (about 300 loads
 * expected for 65536 prefixes). */
static void test_rollback_ambiguous_prefix(void **s)
{
    (void)s;
    enum { MAXV = 3000 };
    fl_engine_options_t o = {.seed = 3, .versions_kept = MAXV};
    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    static char ids[MAXV][17];
    static int by_prefix[65536];
    memset(by_prefix, 0, sizeof by_prefix);
    int a = -1, b = -1;
    fl_diag_t dg;
    for (int i = 0; i < MAXV && a < 0; i++) {
        char src[256];
        snprintf(src, sizeof src,
                 "policy { version = \"p%d\" }\nrule \"r\" { when = { code = %d }, category = \"internal\" }\n", i, i);
        assert_int_equal(fl_engine_load_string(e, "amb.lua", src, strlen(src), &dg), FL_OK);
        fl_version_info_t vi;
        assert_int_equal(fl_engine_current(e, &vi), FL_OK);
        snprintf(ids[i], 17, "%s", vi.id);
        unsigned p = (unsigned)strtoul((char[5]){ids[i][0], ids[i][1], ids[i][2], ids[i][3], 0}, NULL, 16);
        if (by_prefix[p]) {
            a = by_prefix[p] - 1;
            b = i;
        } else {
            by_prefix[p] = i + 1;
        }
    }
    assert_true(a >= 0);
    char pre[17];
    snprintf(pre, 5, "%s", ids[a]);
    assert_int_equal(fl_engine_rollback(e, pre, &dg), FL_EINVAL);
    assert_int_equal(dg.status, FL_EINVAL);
    /* a longer prefix that tells them apart works */
    size_t n = 4;
    while (n < 16 && strncmp(ids[a], ids[b], n) == 0) n++;
    snprintf(pre, n + 1, "%s", ids[a]);
    assert_int_equal(fl_engine_rollback(e, pre, &dg), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, ids[a]);
    fl_engine_free(e);
}

static void test_reload_and_identical_content(void **s)
{
    (void)s;
    char dir[256], id1[17], id2[17], src[4096];
    flt_tmpdir(dir, sizeof dir);
    fl_engine_options_t o = {.seed = 3, .versions_kept = 8};
    fl_engine_t *e = NULL;
    fl_diag_t dg;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    /* nothing loaded */
    assert_int_equal(fl_engine_reload(e, &dg), FL_ESTATE);
    assert_int_equal(fl_engine_reload(NULL, &dg), FL_EINVAL);
    /* a version from a string has no directory to reload from */
    valid_policy(src, sizeof src, 7);
    assert_int_equal(fl_engine_load_string(e, "s.lua", src, strlen(src), &dg), FL_OK);
    assert_int_equal(fl_engine_reload(e, &dg), FL_ESTATE);
    assert_int_equal(dg.status, FL_ESTATE);

    load_k(e, dir, 1, id1);
    /* reload picks up the directory's new content */
    valid_policy(src, sizeof src, 2);
    write_atomic(dir, "policy.lua", src);
    assert_int_equal(fl_engine_reload(e, &dg), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.version, "v2");
    snprintf(id2, sizeof id2, "%s", vi.id);
    assert_string_not_equal(id1, id2);
    /* a broken edit: reload fails, v2 keeps serving */
    broken_policy(src, sizeof src, B_SYNTAX, 1);
    write_atomic(dir, "policy.lua", src);
    int rc = fl_engine_reload(e, &dg);
    assert_int_equal(FL_PRIMARY(rc), FL_EPOLICY);
    assert_true(strstr(dg.file, "policy.lua") != NULL);
    assert_true(dg.line > 0);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id2);
    /* the directory vanishes: reload fails, v2 keeps serving */
    char moved[300];
    snprintf(moved, sizeof moved, "%s.gone", dir);
    assert_int_equal(rename(dir, moved), 0);
    assert_int_equal(fl_engine_reload(e, &dg), FL_ENOENT);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id2);
    assert_int_equal(rename(moved, dir), 0);

    /* identical content, loaded twice: same id, and the history is not
     * flooded with copies -- rollback still reaches the previous content */
    valid_policy(src, sizeof src, 2);
    write_atomic(dir, "policy.lua", src);
    size_t before = 0, after = 0;
    fl_version_info_t vs[8];
    assert_int_equal(fl_engine_versions(e, vs, 8, &before), FL_OK);
    assert_int_equal(fl_engine_load(e, dir, &dg), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id2);
    assert_int_equal(fl_engine_reload(e, &dg), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id2);
    assert_int_equal(fl_engine_versions(e, vs, 8, &after), FL_OK);
    int copies = 0;
    for (size_t i = 0; i < after && i < 8; i++) copies += strcmp(vs[i].id, id2) == 0;
    if (copies != 1 || after != before)
        print_error("identical content: %zu kept before, %zu after, %d entries with id %s\n", before, after, copies, id2);
    assert_int_equal(copies, 1);
    assert_int_equal(after, before);
    assert_int_equal(fl_engine_rollback(e, NULL, &dg), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_not_equal(vi.id, id2);

    fl_engine_free(e);
    flt_rmdir(dir);
}

/* ---- 3. watching a directory ------------------------------------------------------ */

typedef struct watch_log {
    atomic_int calls;
    atomic_int last_status;
} watch_log;

static void on_reload(void *ud, int status, const fl_diag_t *diag, const fl_version_info_t *cur)
{
    (void)diag;
    (void)cur;
    watch_log *l = ud;
    atomic_store(&l->last_status, status);
    atomic_fetch_add(&l->calls, 1);
}

/* Wait up to `ms` for the current version's label to become `label`. */
static int wait_label(fl_engine_t *e, const char *label, int ms)
{
    double end = now_s() + ms / 1000.0;
    do {
        if (strcmp(current_label(e), label) == 0) return 1;
        sleep_ms(10);
    } while (now_s() < end);
    return strcmp(current_label(e), label) == 0;
}

static int wait_reloads(fl_watch_t *w, uint64_t more_than, int ms)
{
    double end = now_s() + ms / 1000.0;
    do {
        if (fl_watch_reloads(w) > more_than) return 1;
        sleep_ms(10);
    } while (now_s() < end);
    return fl_watch_reloads(w) > more_than;
}

static void test_watch(void **s)
{
    (void)s;
    char base[256], v1[300], v2[300], cur[300], tmp[300], src[4096];
    flt_tmpdir(base, sizeof base);
    snprintf(v1, sizeof v1, "%s/v1", base);
    snprintf(v2, sizeof v2, "%s/v2", base);
    snprintf(cur, sizeof cur, "%s/cur", base);
    snprintf(tmp, sizeof tmp, "%s/.cur.tmp", base);
    assert_int_equal(mkdir(v1, 0755), 0);
    valid_policy(src, sizeof src, 1);
    write_atomic(v1, "policy.lua", src);
    assert_int_equal(symlink("v1", cur), 0);

    fl_engine_options_t o = {.seed = 5};
    fl_engine_t *e = NULL;
    fl_diag_t dg;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load(e, cur, &dg), FL_OK);

    fl_watch_t *w = NULL;
    watch_log log;
    atomic_init(&log.calls, 0);
    atomic_init(&log.last_status, 1);
    fl_watch_options_t wo = {.debounce_ms = 50, .poll_ms = 300, .on_reload = on_reload, .ud = &log};
    assert_int_equal(fl_watch_start(NULL, cur, &wo, &w), FL_EINVAL);
    assert_int_equal(fl_watch_start(e, NULL, &wo, &w), FL_EINVAL);
    assert_int_equal(fl_watch_start(e, cur, &wo, NULL), FL_EINVAL);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing", base);
    assert_int_equal(fl_watch_start(e, missing, &wo, &w), FL_ENOENT);
    assert_int_equal(fl_watch_trigger(NULL), FL_EINVAL);
    assert_int_equal(fl_watch_reloads(NULL), 0);
    fl_watch_stop(NULL);

    assert_int_equal(fl_watch_start(e, cur, &wo, &w), FL_OK);
    assert_non_null(w);
    assert_int_equal(fl_watch_reloads(w), 0);

    /* an editor saves: write-then-rename inside the watched target */
    valid_policy(src, sizeof src, 2);
    write_atomic(v1, "policy.lua", src);
    double t = now_s();
    int got = wait_label(e, "v2", 2000);
    if (!got) print_error("edit not picked up within 2 s (reloads %llu)\n", (unsigned long long)fl_watch_reloads(w));
    assert_true(got);
    print_message("watch: edit picked up in %.0f ms\n", (now_s() - t) * 1e3);
    assert_true(fl_watch_reloads(w) >= 1);
    char id2[17];
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    snprintf(id2, sizeof id2, "%s", vi.id);
    sleep_ms(150); /* let any trailing events of that save settle */

    /* a broken edit is attempted, refused, and v2 keeps serving */
    uint64_t n = fl_watch_reloads(w);
    broken_policy(src, sizeof src, B_BAD_PATTERN, 3);
    write_atomic(v1, "policy.lua", src);
    assert_true(wait_reloads(w, n, 2000));
    sleep_ms(100);
    assert_int_equal(FL_PRIMARY(atomic_load(&log.last_status)), FL_EPOLICY);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_string_equal(vi.id, id2);
    assert_string_equal(vi.version, "v2");

    /* a deploy swaps the symlink atomically to a new directory */
    assert_int_equal(mkdir(v2, 0755), 0);
    valid_policy(src, sizeof src, 3);
    write_atomic(v2, "policy.lua", src);
    assert_int_equal(symlink("v2", tmp), 0);
    assert_int_equal(rename(tmp, cur), 0);
    t = now_s();
    got = wait_label(e, "v3", 2000);
    if (!got) print_error("symlink swap not picked up within 2 s (current %s)\n", current_label(e));
    assert_true(got);
    print_message("watch: symlink swap picked up in %.0f ms\n", (now_s() - t) * 1e3);
    sleep_ms(150);

    /* the watch follows the new target: an edit in v2/ is seen ... */
    valid_policy(src, sizeof src, 4);
    write_atomic(v2, "policy.lua", src);
    got = wait_label(e, "v4", 2000);
    if (!got) print_error("edit after the swap not picked up within 2 s (current %s)\n", current_label(e));
    assert_true(got);
    sleep_ms(150);
    /* ... and one in the old target v1/ no longer matters */
    n = fl_watch_reloads(w);
    valid_policy(src, sizeof src, 99);
    write_atomic(v1, "policy.lua", src);
    sleep_ms(500);
    assert_string_equal(current_label(e), "v4");

    /* an explicit trigger reloads (same content: still v4) */
    n = fl_watch_reloads(w);
    int calls = atomic_load(&log.calls);
    assert_int_equal(fl_watch_trigger(w), FL_OK);
    assert_true(wait_reloads(w, n, 2000));
    assert_true(atomic_load(&log.calls) > calls);
    assert_int_equal(atomic_load(&log.last_status), FL_OK);
    assert_string_equal(current_label(e), "v4");

    fl_watch_stop(w);
    /* after stop nothing reloads */
    valid_policy(src, sizeof src, 5);
    write_atomic(v2, "policy.lua", src);
    sleep_ms(400);
    assert_string_equal(current_label(e), "v4");
    fl_engine_free(e);
    flt_rmdir(base);
}

/* Start and stop a watch quickly, repeatedly, while triggering. */
static void test_watch_start_stop(void **s)
{
    (void)s;
    char dir[256], src[4096];
    flt_tmpdir(dir, sizeof dir);
    valid_policy(src, sizeof src, 1);
    write_atomic(dir, "policy.lua", src);
    fl_engine_t *e = NULL;
    fl_diag_t dg;
    assert_int_equal(fl_engine_new(NULL, &e), FL_OK);
    assert_int_equal(fl_engine_load(e, dir, &dg), FL_OK);
    for (int i = 0; i < 20; i++) {
        fl_watch_t *w = NULL;
        assert_int_equal(fl_watch_start(e, dir, NULL, &w), FL_OK);
        if (i % 2) assert_int_equal(fl_watch_trigger(w), FL_OK);
        fl_watch_stop(w);
    }
    assert_string_equal(current_label(e), "v1");
    fl_engine_free(e);
    flt_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_under_load),
        cmocka_unit_test(test_versions_list),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_rollback_ambiguous_prefix),
        cmocka_unit_test(test_reload_and_identical_content),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_watch_start_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
