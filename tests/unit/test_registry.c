/*
 * test_registry.c -- the error registry (fl_engine_registry_*,
 * fl_registry_query): counts per fingerprint with first/last seen and a
 * redacted sample, summaries by category/op/rule/severity over a window,
 * 1-minute counts, top N, the database is WAL, bad input refused.
 */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
