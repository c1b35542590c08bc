/*
 * test_bind_kill.c -- crash durability of the checkpoint store.  1,000 times
 * (FL_KILLS overrides): fork a writer that saves checkpoints in a loop and
 * reports each acknowledged sequence number through a pipe, SIGKILL it at a
 * random moment, then reopen the store, run PRAGMA integrity_check, and
 * check that the last acknowledged checkpoint is present and intact and that
 * the latest is that one or the single save in flight.  Labelled slow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <time.h>

#include "bindings.h"
#include "bindtest.h"

#define JOB "kill-test"

typedef struct hdr {
    uint32_t magic, len;
    uint64_t hash;
} hdr;

static uint64_t fnv(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    while (n--)
        h = (h ^ *p++) * 1099511628211u;
    return h;
}

static int payload_ok(const fl_checkpoint_t *cp)
{
    hdr h;
    if (cp->len < sizeof h)
        return 0;
    memcpy(&h, cp->data, sizeof h);
    return h.magic == 0xC0FFEE && h.len == cp->len - sizeof h &&
           h.hash == fnv((const unsigned char *)cp->data + sizeof h, h.len);
}

static void writer(const char *dir, int fd, unsigned seed)
{
    fl_bindings_t *b;
    fl_bindings_options_t o = {.data_dir = dir, .checkpoints_kept = 4};
    static unsigned char buf[sizeof(hdr) + 20000];
    if (fl_bindings_new(&o, &b) != FL_OK)
        _exit(2);
    for (unsigned i = 0;; i++) {
        hdr h = {.magic = 0xC0FFEE, .len = 100 + (unsigned)rand_r(&seed) % 19000};
        for (uint32_t k = 0; k < h.len; k++)
            buf[sizeof h + k] = (unsigned char)(rand_r(&seed) + i);
        h.hash = fnv(buf + sizeof h, h.len);
        memcpy(buf, &h, sizeof h);
        int64_t seq;
        if (fl_checkpoint_save(b, JOB, i % 2 ? "odd" : "even", buf, sizeof h + h.len, &seq))
            _exit(3);
        if (write(fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
            _exit(4);
    }
}

/* Collect the acknowledged sequence numbers; returns how many. */
static int drain(int fd, int64_t *max_acked)
{
    int64_t s;
    int n = 0;
    while (read(fd, &s, sizeof s) == (ssize_t)sizeof s) {
        if (s > *max_acked)
            *max_acked = s;
        n++;
    }
    return n;
}

static int integrity_ok(const char *dir)
{
    char path[1100];
    sqlite3 *db;
    sqlite3_stmt *st;
    int ok = 0;
    snprintf(path, sizeof path, "%s/checkpoints.db", dir);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK) {
        ok = sqlite3_step(st) == SQLITE_ROW &&
             !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return ok;
}

/* Verify the store after a kill.  `base` is the newest checkpoint known to
 * be committed: the child's last acknowledged save, or the latest seen at the
 * previous check when the child acknowledged none.  The latest must be base
 * or base + 1 (the one save in flight when the kill came: committed, not yet
 * acknowledged); both must load with an intact payload.  0 or a failure code. */
static int verify(const char *dir, int64_t base, int64_t *latest, int *inflight)
{
    fl_bindings_t *b;
    fl_checkpoint_t cp;
    fl_bindings_options_t o = {.data_dir = dir, .checkpoints_kept = 4};
    int rc = 0;
    char path[1100];
    snprintf(path, sizeof path, "%s/checkpoints.db", dir);
    if (base == 0 && access(path, F_OK) != 0) {
        *latest = 0; /* killed before it created the store: nothing was committed */
        return 0;
    }
    if (!integrity_ok(dir))
        return 1;
    if (fl_bindings_new(&o, &b) != FL_OK)
        return 2;
    int lr = fl_checkpoint_load(b, JOB, NULL, &cp);
    if (lr == FL_ENOENT && base == 0) {
        *latest = 0;
    } else if (lr != FL_OK || !payload_ok(&cp) || cp.seq < base || cp.seq > base + 1) {
        printf("# latest: status %d, seq %lld, payload %s; expected %lld or one more\n", lr,
               (long long)cp.seq, lr ? "-" : payload_ok(&cp) ? "ok" : "BAD", (long long)base);
        rc = 3;
    } else {
        *latest = cp.seq;
        *inflight += cp.seq == base + 1;
    }
    fl_checkpoint_clear(&cp);
    if (!rc && base > 0 && (fl_checkpoint_load_seq(b, JOB, base, &cp) != FL_OK || !payload_ok(&cp)))
        rc = 4;
    fl_checkpoint_clear(&cp);
    fl_bindings_free(b);
    return rc;
}

static void test_kills(void **state)
{
    (void)state;
    char *base = bt_mkdtemp();
    const char *env = getenv("FL_KILLS");
    int kills = env ? atoi(env) : 1000, mid_save = 0, inflight = 0, acks = 0;
    int64_t acked = 0, latest = 0;
    unsigned seed = (unsigned)time(NULL);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    printf("# %d kills, seed %u, store %s\n", kills, seed, base);
    for (int i = 0; i < kills; i++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            writer(base, p[1], seed + (unsigned)i);
        }
        close(p[1]);
        /* Odd rounds kill 0-5 ms after the first acknowledged save (in the
         * middle of the save loop), even rounds 0-12 ms after the fork (in
         * the open and recovery too). */
        int64_t first = 0;
        int got_first = i % 2 && read(p[0], &first, sizeof first) == (ssize_t)sizeof first;
        struct timespec d = {0, (long)(rand_r(&seed) % (i % 2 ? 5000 : 12000)) * 1000};
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status)); /* killed, not failed */
        int64_t acked_now = first;
        int n = drain(p[0], &acked_now) + got_first;
        close(p[0]);
        acks += n;
        mid_save += n > 0;
        if (n)
            acked = acked_now;
        int rc = verify(base, n ? acked_now : latest, &latest, &inflight);
        if (rc)
            fail_msg("kill %d: store check failed (%d), last acknowledged seq %lld", i, rc,
                     (long long)acked);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("# %d kills in %.1f s: %d acknowledged saves (last seq %lld), %d kills after saves "
           "had started, %d with a committed-but-unacknowledged save; 0 corrupt, 0 lost\n",
           kills, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
           acks, (long long)acked, mid_save, inflight);
    assert_true(mid_save >= kills / 2); /* at least the odd rounds landed while saving */
    bt_rmrf(base);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kills)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
