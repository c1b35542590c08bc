/*
 * registry.c -- reading the error registry that declog.c writes: the top
 * fingerprints, or counts summed by category, severity, op or rule, over a
 * window, with 1-minute and 1-hour counts (minute resolution).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "core.h"

static void cp(char *dst, size_t n, const unsigned char *s)
{
    snprintf(dst, n, "%s", s ? (const char *)s : "");
}

int fl_registry_query(const char *path, const fl_error_query_t *q, fl_error_row_t *rows, size_t cap, size_t *count,
                      fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (count) *count = 0;
    if (!path || !q || !count || (!rows && cap))
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL path, query, count or rows");
    if (q->since_ms < 0) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "negative window");
    const char *col = NULL;
    if (q->by && strcmp(q->by, "fingerprint") != 0) {
        static const char *const ok[] = {"category", "severity", "op", "rule"};
        for (size_t i = 0; i < 4; i++)
            if (strcmp(q->by, ok[i]) == 0) col = ok[i];
        if (!col)
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0,
                               "cannot group by '%s' (fingerprint, category, severity, op or rule)", q->by);
    }
    struct stat st;
    if (stat(path, &st) != 0) return fl_diag_set(diag, FL_ENOENT, path, 0, 0, "no such registry");
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int rc = fl_diag_set(diag, FL_EIO, path, 0, 0, "cannot open: %s", db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 5000);
    int64_t now = q->now_ms ? q->now_ms : fl_now_ms();
    int64_t nowm = now / 60000;
    int64_t since = q->since_ms ? (now - q->since_ms) / 60000 : 0;
    char sql[1400];
    if (!col)
        snprintf(sql, sizeof sql,
                 "SELECT e.fingerprint, SUM(m.count), e.count,"
                 " (SELECT COALESCE(SUM(count),0) FROM error_minutes x WHERE x.fingerprint=e.fingerprint AND x.minute>=?2),"
                 " (SELECT COALESCE(SUM(count),0) FROM error_minutes x WHERE x.fingerprint=e.fingerprint AND x.minute>=?3),"
                 " e.first_seen, e.last_seen, e.category, e.severity, e.rule, e.op, e.action, e.sample"
                 " FROM errors e JOIN error_minutes m ON m.fingerprint=e.fingerprint WHERE m.minute>=?1"
                 " GROUP BY e.fingerprint ORDER BY 2 DESC, e.fingerprint LIMIT ?4");
    else
        snprintf(sql, sizeof sql,
                 "SELECT COALESCE(%s,''), SUM(count), SUM(count),"
                 " SUM(CASE WHEN minute>=?2 THEN count ELSE 0 END), SUM(CASE WHEN minute>=?3 THEN count ELSE 0 END),"
                 " MIN(minute)*60000, MAX(minute)*60000+59999, NULL, NULL, NULL, NULL, NULL, NULL"
                 " FROM error_minutes WHERE minute>=?1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?4",
                 col);
    sqlite3_stmt *stm = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stm, NULL) != SQLITE_OK) {
        int rc = fl_diag_set(diag, FL_EIO, path, 0, 0, "not a faultline registry: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return rc;
    }
    sqlite3_bind_int64(stm, 1, since);
    sqlite3_bind_int64(stm, 2, nowm - 1);
    sqlite3_bind_int64(stm, 3, nowm - 60);
    sqlite3_bind_int64(stm, 4, (sqlite3_int64)(q->top ? q->top : 10));
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(stm)) == SQLITE_ROW) {
        if (n < cap) {
            fl_error_row_t *r = &rows[n];
            memset(r, 0, sizeof *r);
            cp(r->key, sizeof r->key, sqlite3_column_text(stm, 0));
            r->count = (uint64_t)sqlite3_column_int64(stm, 1);
            r->total = (uint64_t)sqlite3_column_int64(stm, 2);
            r->last_1m = (uint64_t)sqlite3_column_int64(stm, 3);
            r->last_1h = (uint64_t)sqlite3_column_int64(stm, 4);
            r->first_seen_ms = sqlite3_column_int64(stm, 5);
            r->last_seen_ms = sqlite3_column_int64(stm, 6);
            cp(r->category, sizeof r->category, sqlite3_column_text(stm, 7));
            cp(r->severity, sizeof r->severity, sqlite3_column_text(stm, 8));
            cp(r->rule, sizeof r->rule, sqlite3_column_text(stm, 9));
            cp(r->op, sizeof r->op, sqlite3_column_text(stm, 10));
            cp(r->action, sizeof r->action, sqlite3_column_text(stm, 11));
            cp(r->sample, sizeof r->sample, sqlite3_column_text(stm, 12));
        }
        n++;
    }
    int out = FL_OK;
    if (rc != SQLITE_DONE) out = fl_diag_set(diag, FL_EIO, path, 0, 0, "query failed: %s", sqlite3_errmsg(db));
    sqlite3_finalize(stm);
    sqlite3_close(db);
    *count = n < cap ? n : cap;
    return out;
}
