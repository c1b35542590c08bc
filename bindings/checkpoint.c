/*
 * checkpoint.c -- the checkpoint store: per-job, sequence-numbered state in
 * SQLite (DATA_DIR/checkpoints.db, WAL, synchronous=FULL, so a returned save
 * survives a crash of the process or the machine).  One connection per
 * bindings object, serialised by a mutex; other processes may share the
 * file (busy timeout 5 s).  A save is one IMMEDIATE transaction: next seq,
 * insert, prune to `kept`.
 */
#include "bindings.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FL_CK_MAX_DATA (64u << 20)

struct fl_ckstore {
    pthread_mutex_t mu;
    sqlite3 *db;
    uint32_t kept;
};

static const char *const schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS checkpoint("
    "  job TEXT NOT NULL, seq INTEGER NOT NULL, stage TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(job, seq));";

int fl_ckstore_open(const char *data_dir, uint32_t kept, fl_ckstore **out)
{
    char path[4096];
    fl_ckstore *s;
    *out = NULL;
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST)
        return FL_EIO;
    if ((size_t)snprintf(path, sizeof path, "%s/checkpoints.db", data_dir) >= sizeof path)
        return FL_EINVAL;
    if (!(s = calloc(1, sizeof *s)))
        return FL_ENOMEM;
    s->kept = kept;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return FL_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        fl_ckstore_close(s);
        return FL_EIO;
    }
    *out = s;
    return FL_OK;
}

void fl_ckstore_close(fl_ckstore *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 255;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prepare `sql` and bind job as ?1.  NULL on failure. */
static sqlite3_stmt *prep(sqlite3 *db, const char *sql, const char *job)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    return st;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? FL_OK : FL_EIO;
}

/* Latest seq of the job; *same = 1 when its stage and data equal the new ones. */
static int latest_seq(sqlite3 *db, const char *job, const char *stage, const void *data,
                      size_t len, int64_t *seq, int *same)
{
    sqlite3_stmt *st = prep(db, "SELECT seq, stage, data FROM checkpoint WHERE job=?1 "
                                "ORDER BY seq DESC LIMIT 1", job);
    if (!st)
        return FL_EIO;
    int rc = sqlite3_step(st);
    *seq = 0;
    *same = 0;
    if (rc == SQLITE_ROW) {
        *seq = sqlite3_column_int64(st, 0);
        const void *old = sqlite3_column_blob(st, 2);
        size_t olen = (size_t)sqlite3_column_bytes(st, 2);
        *same = !strcmp((const char *)sqlite3_column_text(st, 1), stage) && olen == len &&
                (len == 0 || (old && !memcmp(old, data, len)));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? FL_OK : FL_EIO;
}

static int insert_and_prune(fl_ckstore *s, const char *job, const char *stage, const void *data,
                            size_t len, int64_t seq)
{
    sqlite3_stmt *st = prep(s->db, "INSERT INTO checkpoint(job, seq, stage, created_ms, data) "
                                   "VALUES(?1, ?2, ?3, ?4, ?5)", job);
    if (!st)
        return FL_EIO;
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_text(st, 3, stage, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, wall_ms());
    sqlite3_bind_blob(st, 5, len ? data : "", (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? FL_OK : FL_EIO;
    sqlite3_finalize(st);
    if (rc)
        return rc;
    st = prep(s->db, "DELETE FROM checkpoint WHERE job=?1 AND seq<=?2", job);
    if (!st)
        return FL_EIO;
    sqlite3_bind_int64(st, 2, seq - (int64_t)s->kept);
    rc = sqlite3_step(st) == SQLITE_DONE ? FL_OK : FL_EIO;
    sqlite3_finalize(st);
    return rc;
}

int fl_checkpoint_save(fl_bindings_t *b, const char *job, const char *stage, const void *data,
                       size_t len, int64_t *seq_out)
{
    int64_t seq = 0;
    int same = 0, rc;
    if (seq_out)
        *seq_out = 0;
    if (!b || !name_ok(job) || !name_ok(stage) || (!data && len))
        return FL_EINVAL;
    if (len > FL_CK_MAX_DATA)
        return FL_ETOOBIG;
    if (!b->ckpt)
        return FL_ESTATE;
    fl_ckstore *s = b->ckpt;
    pthread_mutex_lock(&s->mu);
    if ((rc = exec(s->db, "BEGIN IMMEDIATE")) != 0)
        goto cleanup;
    rc = latest_seq(s->db, job, stage, data, len, &seq, &same);
    if (!rc && !same)
        rc = insert_and_prune(s, job, stage, data, len, ++seq);
    rc = rc ? rc : exec(s->db, "COMMIT");
    if (rc)
        exec(s->db, "ROLLBACK");
    else if (seq_out)
        *seq_out = seq;
cleanup:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Fill cp from a row (seq, stage, created_ms, data-or-length). */
static int fill(sqlite3_stmt *st, fl_checkpoint_t *cp, int with_data)
{
    memset(cp, 0, sizeof *cp);
    cp->seq = sqlite3_column_int64(st, 0);
    cp->created_ms = sqlite3_column_int64(st, 2);
    if (!(cp->stage = strdup((const char *)sqlite3_column_text(st, 1))))
        return FL_ENOMEM;
    if (!with_data) {
        cp->len = (size_t)sqlite3_column_int64(st, 3);
        return FL_OK;
    }
    const void *d = sqlite3_column_blob(st, 3);
    cp->len = (size_t)sqlite3_column_bytes(st, 3);
    if (!(cp->data = malloc(cp->len + 1))) {
        fl_checkpoint_clear(cp);
        return FL_ENOMEM;
    }
    if (cp->len)
        memcpy(cp->data, d, cp->len);
    ((char *)cp->data)[cp->len] = '\0'; /* convenient for text state */
    return FL_OK;
}

/* Run a one-row query bound to (job, ?2 = stage or seq) into out. */
static int load_one(fl_bindings_t *b, const char *sql, const char *job, const char *stage,
                    int64_t seq, fl_checkpoint_t *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!b || !out || !name_ok(job) || (stage && !name_ok(stage)))
        return FL_EINVAL;
    if (!b->ckpt)
        return FL_ESTATE;
    fl_ckstore *s = b->ckpt;
    pthread_mutex_lock(&s->mu);
    int rc = FL_EIO;
    sqlite3_stmt *st = prep(s->db, sql, job);
    if (st) {
        if (stage)
            sqlite3_bind_text(st, 2, stage, -1, SQLITE_STATIC);
        else
            sqlite3_bind_int64(st, 2, seq);
        int r = sqlite3_step(st);
        rc = r == SQLITE_ROW ? fill(st, out, 1) : r == SQLITE_DONE ? FL_ENOENT : FL_EIO;
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int fl_checkpoint_load(fl_bindings_t *b, const char *job, const char *stage, fl_checkpoint_t *out)
{
    if (stage)
        return load_one(b, "SELECT seq, stage, created_ms, data FROM checkpoint WHERE job=?1 "
                           "AND stage=?2 ORDER BY seq DESC LIMIT 1", job, stage, 0, out);
    return load_one(b, "SELECT seq, stage, created_ms, data FROM checkpoint WHERE job=?1 "
                       "AND seq>?2 ORDER BY seq DESC LIMIT 1", job, NULL, 0, out);
}

int fl_checkpoint_load_seq(fl_bindings_t *b, const char *job, int64_t seq, fl_checkpoint_t *out)
{
    return load_one(b, "SELECT seq, stage, created_ms, data FROM checkpoint WHERE job=?1 "
                       "AND seq=?2", job, NULL, seq, out);
}

void fl_checkpoint_clear(fl_checkpoint_t *cp)
{
    if (!cp)
        return;
    free(cp->stage);
    free(cp->data);
    memset(cp, 0, sizeof *cp);
}

void fl_checkpoint_list_free(fl_checkpoint_t *list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        fl_checkpoint_clear(&list[i]);
    free(list);
}

static int list_rows(sqlite3_stmt *st, fl_checkpoint_t **out, size_t *count)
{
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            fl_checkpoint_t *g = realloc(*out, cap * sizeof **out);
            if (!g)
                return FL_ENOMEM;
            *out = g;
        }
        if (fill(st, &(*out)[*count], 0))
            return FL_ENOMEM;
        (*count)++;
    }
    return r == SQLITE_DONE ? FL_OK : FL_EIO;
}

int fl_checkpoint_list(fl_bindings_t *b, const char *job, fl_checkpoint_t **out, size_t *count)
{
    if (out)
        *out = NULL;
    if (count)
        *count = 0;
    if (!b || !out || !count || !name_ok(job))
        return FL_EINVAL;
    if (!b->ckpt)
        return FL_ESTATE;
    fl_ckstore *s = b->ckpt;
    int rc = FL_EIO;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prep(s->db, "SELECT seq, stage, created_ms, length(data) FROM checkpoint "
                                   "WHERE job=?1 ORDER BY seq DESC", job);
    if (st) {
        rc = list_rows(st, out, count);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        fl_checkpoint_list_free(*out, *count);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

int fl_checkpoint_prune(fl_bindings_t *b, const char *job, uint32_t keep, uint32_t *removed)
{
    if (removed)
        *removed = 0;
    if (!b || !name_ok(job))
        return FL_EINVAL;
    if (!b->ckpt)
        return FL_ESTATE;
    fl_ckstore *s = b->ckpt;
    int rc = FL_EIO;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = prep(s->db, "DELETE FROM checkpoint WHERE job=?1 AND seq NOT IN "
                                   "(SELECT seq FROM checkpoint WHERE job=?1 "
                                   "ORDER BY seq DESC LIMIT ?2)", job);
    if (st) {
        sqlite3_bind_int64(st, 2, keep);
        if (sqlite3_step(st) == SQLITE_DONE) {
            rc = FL_OK;
            if (removed)
                *removed = (uint32_t)sqlite3_changes(s->db);
        }
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}
