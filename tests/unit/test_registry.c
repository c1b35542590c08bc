/*
 * test_registry.c -- the error registry (fl_engine_registry_*,
 * fl_registry_query): counts per fingerprint with first/last seen and a
 * redacted sample, summaries by category/op/rule/severity over a window,
 * 1-minute counts, top N, the database is WAL, bad input refused; counts
 * exact through a ring of 4 records, from four threads, and beyond the
 * aggregation table (the record path).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "flt.h"

#define POLICY "policy { name = 'p', version = '3' }\n" \
               "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable' }\n" \
               "category 'not_found' { severity = 'warning' }\n" \
               "rule 'n' { when = { domain = 'http', code = 404 }, category = 'not_found' }\n"

static void test_registry(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/errors.db", dir);
    flt t;
    flt_open(&t, POLICY);
    fl_registry_options_t o = {0};
    o.path = path;
    const char *pats[] = {"secret=\\w+", NULL};
    o.redact_patterns = pats;
    fl_diag_t dg;
    assert_int_equal(fl_engine_registry_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(fl_engine_registry_open(t.e, &o, &dg), FL_ESTATE);
    for (int i = 0; i < 30; i++)
        assert_int_equal(flt_decide(&t, "{\"message\":\"down secret=abc\",\"op\":\"db.query\"}"), FL_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404,\"op\":\"http.get\"}"), FL_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"zzz\",\"op\":\"db.query\"}"), FL_OK);
    assert_int_equal(fl_engine_registry_flush(t.e, 5000), FL_OK);

    fl_error_row_t rows[8];
    size_t n = 0;
    fl_error_query_t q = {0};
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_OK);
    assert_int_equal(n, 3);
    assert_int_equal(rows[0].count, 30);
    assert_int_equal(rows[0].total, 30);
    assert_int_equal(rows[0].last_1m, 30);
    assert_int_equal(rows[0].last_1h, 30);
    assert_string_equal(rows[0].category, "unavailable");
    assert_string_equal(rows[0].op, "db.query");
    assert_string_equal(rows[0].rule, "u");
    assert_int_equal(strlen(rows[0].key), 16);
    assert_true(rows[0].first_seen_ms <= rows[0].last_seen_ms && rows[0].first_seen_ms > 0);
    assert_non_null(strstr(rows[0].sample, "down [REDACTED]"));
    assert_null(strstr(rows[0].sample, "abc"));
    assert_int_equal(rows[1].count, 12);
    assert_string_equal(rows[1].severity, "warning");
    assert_int_equal(rows[2].count, 5);

    q.by = "op";
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].key, "db.query");
    assert_int_equal(rows[0].count, 35);
    assert_string_equal(rows[1].key, "http.get");
    q.by = "category";
    q.top = 1;
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].key, "unavailable");
    /* a window that ended before anything happened: nothing (now 2 h later, last hour) */
    q.by = NULL;
    q.top = 0;
    q.since_ms = 3600 * 1000;
    q.now_ms = (int64_t)time(NULL) * 1000 + 2 * 3600 * 1000;
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_OK);
    assert_int_equal(n, 0);

    /* the database is in WAL mode */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);

    fl_log_stats_t ls;
    fl_engine_registry_stats(t.e, &ls);
    assert_int_equal(ls.written, 47);
    assert_int_equal(fl_engine_registry_close(t.e), FL_OK);
    assert_int_equal(fl_engine_registry_close(t.e), FL_ESTATE);

    /* bad input */
    q = (fl_error_query_t){0};
    q.by = "colour";
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_EINVAL);
    assert_non_null(strstr(dg.message, "colour"));
    q.by = NULL;
    q.since_ms = -1;
    assert_int_equal(fl_registry_query(path, &q, rows, 8, &n, &dg), FL_EINVAL);
    q.since_ms = 0;
    assert_int_equal(fl_registry_query("/nonexistent/x.db", &q, rows, 8, &n, &dg), FL_ENOENT);
    assert_int_equal(fl_registry_query(path, &q, NULL, 8, &n, &dg), FL_EINVAL);
    flt_write(dir, "junk.db", "this is not sqlite at all, not even close....................................");
    char junk[128];
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    assert_int_equal(fl_registry_query(junk, &q, rows, 8, &n, &dg), FL_EIO);
    o.path = "/nonexistent-dir-fl/e.db";
    assert_int_equal(fl_engine_registry_open(t.e, &o, &dg), FL_EIO);
    assert_int_equal(fl_engine_registry_open(t.e, NULL, &dg), FL_EINVAL);
    flt_close(&t);
    flt_rmdir(dir);
}

/* A message of its own for fingerprint i ("down" + letters: fingerprints
 * ignore digits). */
static void msg_of(char *buf, size_t n, unsigned i)
{
    char w[8];
    size_t k = 0;
    do {
        w[k++] = (char)('a' + i % 26);
        i /= 26;
    } while (i && k < sizeof w - 1);
    w[k] = '\0';
    snprintf(buf, n, "{\"message\":\"down %s\",\"op\":\"db.query\"}", w);
}

/* A temp dir, an engine on POLICY and a registry at DIR/errors.db with a
 * ring of `ring` records. */
/* Every fingerprint row of the registry at path (at most cap): their number. */
static size_t query_all(const char *path, fl_error_row_t *rows, size_t cap)
{
    fl_diag_t dg;
    fl_error_query_t q = {0};
    size_t n = 0;
    q.top = (uint32_t)cap;
    assert_int_equal(fl_registry_query(path, &q, rows, cap, &n, &dg), FL_OK);
    return n;
}

static void open_counting(flt *t, char *dir, size_t dn, char *path, size_t pn, uint32_t ring)
{
    flt_tmpdir(dir, dn);
    snprintf(path, pn, "%s/errors.db", dir);
    flt_open(t, POLICY);
    fl_registry_options_t o = {0};
    o.path = path;
    o.ring_lines = ring;
    fl_diag_t dg;
    assert_int_equal(fl_engine_registry_open(t->e, &o, &dg), FL_OK);
}

/* The registry counts every decision exactly, with a ring of 4 records:
 * counting is an increment per decision on the deciding thread, the ring
 * carries one record per fingerprint and second. */
static void test_exact_counts(void **state)
{
    (void)state;
    char dir[64], path[128], ev[128];
    flt t;
    fl_diag_t dg;
    open_counting(&t, dir, sizeof dir, path, sizeof path, 4);
    enum { K = 7, PER = 6000 };
    for (unsigned i = 0; i < K * PER; i++) {
        msg_of(ev, sizeof ev, i % K);
        assert_int_equal(flt_decide(&t, ev), FL_OK);
    }
    assert_int_equal(fl_engine_registry_flush(t.e, 10000), FL_OK);
    fl_error_row_t rows[K + 1];
    size_t n = query_all(path, rows, K + 1);
    assert_int_equal(n, K);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].count, PER);
        assert_int_equal(rows[i].last_1h, PER);
        assert_string_equal(rows[i].rule, "u");
        assert_non_null(strstr(rows[i].sample, "\"exception.message\":\"down "));
    }
    fl_log_stats_t ls;
    assert_int_equal(fl_engine_registry_stats(t.e, &ls), FL_OK);
    assert_int_equal(ls.written, K * PER);
    assert_int_equal(ls.dropped, 0);
    assert_int_equal(ls.unaggregated, 0);
    /* more decisions after a flush add to the same rows */
    for (unsigned i = 0; i < K; i++) {
        msg_of(ev, sizeof ev, i);
        assert_int_equal(flt_decide(&t, ev), FL_OK);
    }
    assert_int_equal(fl_engine_registry_close(t.e), FL_OK);
    fl_error_query_t q = {0};
    q.top = K + 1;
    q.by = "rule";
    assert_int_equal(fl_registry_query(path, &q, rows, K + 1, &n, &dg), FL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].count, K * PER + K);
    flt_close(&t);
    flt_rmdir(dir);
}

/* More fingerprints than the table holds: the rest take the record path
 * (counted in unaggregated) and are still all counted. */
static void test_table_full(void **state)
{
    (void)state;
    char dir[64], path[128], ev[128];
    flt t;
    fl_diag_t dg;
    open_counting(&t, dir, sizeof dir, path, sizeof path, 1u << 15);
    enum { K = 5000 };
    for (unsigned r = 0; r < 2; r++)
        for (unsigned i = 0; i < K; i++) {
            msg_of(ev, sizeof ev, i);
            assert_int_equal(flt_decide(&t, ev), FL_OK);
        }
    assert_int_equal(fl_engine_registry_flush(t.e, 10000), FL_OK);
    fl_log_stats_t ls;
    assert_int_equal(fl_engine_registry_stats(t.e, &ls), FL_OK);
    assert_int_equal(ls.dropped, 0);
    assert_true(ls.unaggregated >= 2 * (K - 4096));
    assert_true(ls.unaggregated < 2 * K);
    assert_int_equal(ls.written, 2 * K);
    fl_error_row_t rows[2];
    size_t n = 0;
    fl_error_query_t q = {0};
    q.by = "rule";
    assert_int_equal(fl_registry_query(path, &q, rows, 2, &n, &dg), FL_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].count, 2 * K);
    q.by = NULL;
    q.top = 1;
    assert_int_equal(fl_registry_query(path, &q, rows, 2, &n, &dg), FL_OK);
    assert_int_equal(rows[0].count, 2);
    flt_close(&t);
    flt_rmdir(dir);
}

/* Four threads deciding the same fingerprints at once, twice: the counts
 * are still exact (each context counts in a block of its own; the second
 * wave's contexts take the blocks the first wave's left when they closed,
 * their counts kept). */
typedef struct worker {
    fl_engine_t *e;
    int bad;
} worker;

enum { TW = 4, TK = 5, TPER = 3000 };

static void *work(void *arg)
{
    worker *w = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    char js[128];
    fl_diag_t dg;
    if (fl_ctx_new(w->e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) {
        w->bad++;
        goto cleanup;
    }
    for (unsigned i = 0; i < TK * TPER; i++) {
        msg_of(js, sizeof js, i % TK);
        if (fl_event_from_json(ev, js, strlen(js), &dg) != FL_OK || fl_decide(ctx, ev, NULL, 0, d) != FL_OK) w->bad++;
    }
cleanup:
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt t;
    open_counting(&t, dir, sizeof dir, path, sizeof path, 4);
    pthread_t th[TW];
    worker w[TW];
    for (int wave = 1; wave <= 2; wave++) {
        for (int i = 0; i < TW; i++) {
            w[i] = (worker){t.e, 0};
            assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
        }
        for (int i = 0; i < TW; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(w[i].bad, 0);
        }
        assert_int_equal(fl_engine_registry_flush(t.e, 10000), FL_OK);
        fl_error_row_t rows[TK + 1];
        size_t n = query_all(path, rows, TK + 1);
        assert_int_equal(n, TK);
        for (size_t i = 0; i < n; i++) assert_int_equal(rows[i].count, wave * TW * TPER);
        fl_log_stats_t ls;
        assert_int_equal(fl_engine_registry_stats(t.e, &ls), FL_OK);
        assert_int_equal(ls.written, wave * TW * TK * TPER);
        assert_int_equal(ls.dropped, 0);
    }
    flt_close(&t);
    flt_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_exact_counts),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
