/*
 * bench_crash.c -- the decision log and the error registry survive SIGKILL
 * (issue 16).  100 times: fork a child that opens the log (fsync every
 * 50 ms) and the registry on the same files and decides events as fast as
 * it can, acknowledging through a pipe, every 500 decisions, how many lines
 * and registry records fl_engine_log_flush / fl_engine_registry_flush have
 * confirmed; SIGKILL it after 150-400 ms; then check
 *   - every complete line of the log parses as JSON (a torn last line is
 *     allowed: the next open cuts it -- and the next child does),
 *   - the log holds at least the lines acknowledged by the killed child,
 *   - the registry passes PRAGMA integrity_check and its total count is at
 *     least the records acknowledged.
 * Prints the counts and a verdict.  Usage: bench_crash [KILLS] [POLICY_DIR]
 */
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "stream.h"

static void child(const char *dir, const char *log, const char *db, int wfd)
{
    fl_engine_options_t o = {0};
    fl_engine_t *e;
    fl_diag_t d;
    if (fl_engine_new(&o, &e) != FL_OK || fl_engine_load(e, dir, &d) != FL_OK) _exit(3);
    fl_log_options_t lo = {0};
    lo.path = log;
    lo.fsync_ms = 50;
    lo.max_bytes = 1ull << 40; /* no rotation: the parent follows one file */
    lo.ring_lines = 4096;
    fl_registry_options_t ro = {0};
    ro.path = db;
    ro.ring_lines = 4096;
    if (fl_engine_log_open(e, &lo, &d) != FL_OK || fl_engine_registry_open(e, &ro, &d) != FL_OK) _exit(4);
    fl_ctx_t *ctx;
    fl_decision_t *dec;
    fl_event_t *ev;
    fl_ctx_new(e, &ctx);
    fl_decision_new(&dec);
    fl_event_new(&ev);
    for (size_t i = 0;; i++) {
        bs_event(ev, i);
        fl_decide(ctx, ev, NULL, 0, dec);
        if (i % 500 == 499) {
            fl_log_stats_t ls, rs;
            if (fl_engine_log_flush(e, 5000) != FL_OK || fl_engine_registry_flush(e, 5000) != FL_OK) continue;
            fl_engine_log_stats(e, &ls);
            fl_engine_registry_stats(e, &rs);
            uint64_t ack[2] = {ls.written, rs.written};
            if (write(wfd, ack, sizeof ack) != sizeof ack) _exit(5);
        }
    }
}

/* Complete lines from offset *off; all must parse.  Returns -1 on a bad line. */
static long check_log(const char *path, long *off, uint64_t *lines)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    fseek(f, *off, SEEK_SET);
    static char buf[1 << 16];
    long bad = 0;
    while (fgets(buf, sizeof buf, f)) {
        size_t n = strlen(buf);
        if (buf[n - 1] != '\n') break; /* torn tail: cut by the next open */
        json_t *j = json_loads(buf, 0, NULL);
        if (!j) bad++;
        json_decref(j);
        (*lines)++;
        *off += (long)n;
    }
    fclose(f);
    return bad ? -1 : 0;
}

static long long reg_total(const char *db, int *ok)
{
    sqlite3 *s;
    long long total = -1;
    struct stat sb;
    *ok = stat(db, &sb) != 0; /* not created yet (killed before it opened): fine */
    if (*ok) return 0;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return -1;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        *ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(s, "SELECT COALESCE(SUM(count),0) FROM errors", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    return total;
}

int main(int argc, char **argv)
{
    int kills = argc > 1 ? atoi(argv[1]) : 100;
    const char *dir = argc > 2 ? argv[2] : FL_SOURCE_DIR "/policies";
    char tmpl[] = "/tmp/bench_crash_XXXXXX", log[80], db[80];
    if (!mkdtemp(tmpl)) return 1;
    snprintf(log, sizeof log, "%s/decisions.jsonl", tmpl);
    snprintf(db, sizeof db, "%s/errors.db", tmpl);
    srand((unsigned)time(NULL));
    long off = 0;
    uint64_t lines = 0, lost_runs = 0, bad_runs = 0, corrupt = 0, short_reg = 0, acked_total = 0, torn_cut = 0;
    for (int k = 0; k < kills; k++) {
        uint64_t before = lines;
        int ok0;
        long long reg_before = reg_total(db, &ok0);
        if (reg_before < 0) reg_before = 0;
        int p[2];
        if (pipe(p) != 0) return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            child(dir, log, db, p[1]);
            _exit(0);
        }
        close(p[1]);
        struct timespec ts = {0, (long)(150 + rand() % 250) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        uint64_t ack[2] = {0, 0}, a[2];
        while (read(p[0], a, sizeof a) == (ssize_t)sizeof a) memcpy(ack, a, sizeof a);
        close(p[0]);
        acked_total += ack[0];
        struct stat st;
        if (stat(log, &st) == 0 && st.st_size < off) { /* the child cut a torn line: rescan from 0 */
            off = 0;
            lines = 0;
            before = 0;
            torn_cut++;
        }
        uint64_t l0 = lines;
        if (check_log(log, &off, &lines) < 0) bad_runs++;
        (void)l0;
        if (lines - before < ack[0]) lost_runs++;
        int ok;
        long long total = reg_total(db, &ok);
        if (!ok) corrupt++;
        if (total - reg_before < (long long)ack[1]) short_reg++;
    }
    printf("kills: %d   lines in log: %llu   lines acknowledged before the kills: %llu\n", kills,
           (unsigned long long)lines, (unsigned long long)acked_total);
    printf("runs with an unparsable line: %llu   runs that lost acknowledged lines: %llu\n",
           (unsigned long long)bad_runs, (unsigned long long)lost_runs);
    printf("registry: integrity_check failures: %llu   runs that lost acknowledged records: %llu\n",
           (unsigned long long)corrupt, (unsigned long long)short_reg);
    printf("torn tails cut at reopen: %llu\n", (unsigned long long)torn_cut);
    printf("verdict: %s\n", bad_runs || lost_runs || corrupt || short_reg ? "FAIL" : "ok");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
    if (system(cmd) != 0) return 1;
    return bad_runs || lost_runs || corrupt || short_reg ? 1 : 0;
}
