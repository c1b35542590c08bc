/*
 * test_declog.c -- the decision log (fl_engine_log_*): every decision
 * becomes one JSON line with the decision, the chosen event fields and the
 * OpenTelemetry names; masking and redaction patterns; CloudEvents 1.0;
 * a torn last line is cut at open; a full ring counts what it refuses
 * (written + dropped + sampled out == decisions); sampling by severity;
 * rotation compresses with zstd; bad input is refused precisely; a
 * rollback applies the policy's `log`; a slow sink (a FIFO nobody reads)
 * loses nothing silently: drop mode counts, spool mode keeps every line;
 * a spool left by a crash is written first at the next open.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flt.h"

#define POLICY "policy { name = 'p', version = '3' }\n" \
               "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable' }\n" \
               "category 'not_found' { severity = 'warning' }\n" \
               "rule 'n' { when = { domain = 'http', code = 404 }, category = 'not_found' }\n"

/* Lines of `path` parsed as JSON (asserts each parses); returns the count. */
static int read_lines(const char *path, json_t **out, int cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[16384];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        assert_true(l > 0 && line[l - 1] == '\n');
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        if (!j) print_error("bad line %d: %s (%s)\n", n + 1, line, err.text);
        assert_non_null(j);
        if (n < cap) out[n] = j;
        else json_decref(j);
        n++;
    }
    fclose(f);
    return n;
}

static const char *sget(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_lines(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/decisions.jsonl", dir);
    flt t;
    flt_open(&t, POLICY);
    const char *pats[] = {"card [0-9]{4}", NULL};
    fl_log_options_t o = {0};
    o.path = path;
    o.fields = FL_LOG_DOMAIN | FL_LOG_CODE | FL_LOG_MESSAGE | FL_LOG_OP;
    o.mask = FL_LOG_OP;
    o.redact_patterns = pats;
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_ESTATE);
    for (int i = 0; i < 50; i++)
        assert_int_equal(flt_decide(&t, "{\"message\":\"down for card 1234 \\\"q\\\"\",\"op\":\"pay\"}"), FL_OK);
    for (int i = 0; i < 50; i++) assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    json_t *l[100];
    assert_int_equal(read_lines(path, l, 100), 100);
    assert_string_equal(sget(l[0], "category"), "unavailable");
    assert_string_equal(sget(l[0], "error.type"), "unavailable");
    assert_string_equal(sget(l[0], "action"), fl_decision_action(t.d) == FL_ACTION_RETRY ? "retry" : sget(l[0], "action"));
    assert_string_equal(sget(l[0], "exception.message"), "down for [REDACTED] \"q\"");
    assert_string_equal(sget(json_object_get(l[0], "event"), "op"), "[REDACTED]");
    assert_string_equal(sget(l[0], "rule"), "u");
    assert_string_equal(sget(l[0], "policy"), "p");
    assert_non_null(sget(l[0], "fingerprint"));
    assert_non_null(sget(l[0], "time"));
    assert_int_equal(strlen(sget(l[0], "id")), 36);
    assert_string_equal(sget(l[99], "category"), "not_found");
    assert_string_equal(sget(l[99], "exception.type"), "http:404");
    assert_string_equal(sget(json_object_get(l[99], "event"), "code"), "404");
    assert_string_not_equal(sget(l[0], "id"), sget(l[1], "id"));
    for (int i = 0; i < 100; i++) json_decref(l[i]);
    fl_log_stats_t st;
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    assert_int_equal(st.written, 100);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    assert_int_equal(fl_engine_log_close(t.e), FL_ESTATE);
    assert_int_equal(fl_engine_log_flush(t.e, 10), FL_ESTATE);
    /* closed: nothing more is written */
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    assert_int_equal(read_lines(path, l, 0), 100);

    /* reopen as CloudEvents, appending to the same file */
    o.format = FL_LOG_FORMAT_CLOUDEVENTS;
    o.mask = 0;
    o.redact_patterns = NULL;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\",\"op\":\"pay\"}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    json_t *all[101];
    assert_int_equal(read_lines(path, all, 101), 101);
    json_t *ce = all[100];
    assert_string_equal(sget(ce, "specversion"), "1.0");
    assert_string_equal(sget(ce, "type"), "dev.faultline.decision");
    assert_string_equal(sget(ce, "id"), fl_decision_id(t.d));
    assert_string_equal(sget(json_object_get(ce, "data"), "category"), "unavailable");
    assert_string_equal(sget(json_object_get(json_object_get(ce, "data"), "event"), "op"), "pay");
    for (int i = 0; i < 101; i++) json_decref(all[i]);
    flt_close(&t); /* closes the log */
    flt_rmdir(dir);
}

/* A write that fails half-way (here RLIMIT_FSIZE: EFBIG after a short
 * write; ENOSPC does the same) must not leave part of a batch in the file:
 * the lines written after the disk has room again would follow a torn line
 * in the middle of the file.  Every line must parse; the lost ones are
 * counted as dropped with a write error. */
static void test_short_write_cut(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/decisions.jsonl", dir);
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    o.fields = FL_LOG_MESSAGE;
    fl_diag_t dg;
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    lim = old;
    lim.rlim_cur = 3000; /* a few lines, then a short write, then EFBIG */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(flt_decide(&t, "{\"message\":\"down: the disk is about to be full\"}"), FL_OK);
        if (i % 8 == 7) fl_engine_log_flush(t.e, 2000); /* several batches */
    }
    fl_engine_log_flush(t.e, 2000);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0); /* room again */
    for (int i = 0; i < 5; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down again\"}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    fl_log_stats_t st;
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    assert_true(st.dropped > 0);
    assert_true(st.write_errors > 0);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    signal(SIGXFSZ, prev);
    json_t *l[64];
    int n = read_lines(path, l, 64); /* asserts that every line parses */
    assert_int_equal((uint64_t)n, st.written);
    assert_true(n >= 5);
    assert_string_equal(sget(l[n - 1], "exception.message"), "down again");
    for (int i = 0; i < n && i < 64; i++) json_decref(l[i]);
    flt_close(&t);
    flt_rmdir(dir);
}

static void test_torn_and_bad_input(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/d.jsonl", dir);
    flt_write(dir, "d.jsonl", "{\"a\":1}\n{\"b\":2}\n{\"torn\":");
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    json_t *l[3];
    assert_int_equal(read_lines(path, l, 3), 3);
    assert_int_equal(json_integer_value(json_object_get(l[1], "b")), 2);
    assert_string_equal(sget(l[2], "category"), "unavailable");
    for (int i = 0; i < 3; i++) json_decref(l[i]);
    fl_log_stats_t st;
    fl_engine_log_stats(t.e, &st);
    assert_int_equal(st.torn_skipped, 1);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);

    assert_int_equal(fl_engine_log_open(NULL, &o, &dg), FL_EINVAL);
    assert_int_equal(fl_engine_log_open(t.e, NULL, &dg), FL_EINVAL);
    fl_log_options_t b = o;
    b.path = NULL;
    assert_int_equal(fl_engine_log_open(t.e, &b, &dg), FL_EINVAL);
    b = o;
    b.format = 7;
    assert_int_equal(fl_engine_log_open(t.e, &b, &dg), FL_EINVAL);
    b = o;
    b.ring_lines = (1u << 20) + 1;
    assert_int_equal(fl_engine_log_open(t.e, &b, &dg), FL_EINVAL);
    const char *bad[] = {"ok", "(unclosed", NULL};
    b = o;
    b.redact_patterns = bad;
    assert_int_equal(fl_engine_log_open(t.e, &b, &dg), FL_EINVAL);
    assert_non_null(strstr(dg.message, "redact pattern 2 ((unclosed)"));
    b = o;
    b.path = "/nonexistent-dir-fl/x.jsonl";
    assert_int_equal(fl_engine_log_open(t.e, &b, &dg), FL_EIO);
    assert_non_null(strstr(dg.message, "/nonexistent-dir-fl/x.jsonl"));
    assert_int_equal(fl_engine_log_flush(NULL, 1), FL_EINVAL);
    assert_int_equal(fl_engine_log_stats(t.e, NULL), FL_EINVAL);
    flt_close(&t);
    flt_rmdir(dir);
}

static void test_full_ring_sampling_rotation(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.jsonl", dir);
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    o.ring_lines = 4;
    o.sample_every[FL_SEV_WARNING] = UINT32_MAX; /* not_found is a warning: none */
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    const int N = 20000;
    for (int i = 0; i < N; i++) {
        assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
        assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404}"), FL_OK);
    }
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    fl_log_stats_t st;
    fl_engine_log_stats(t.e, &st);
    /* nothing is lost silently */
    assert_int_equal(st.written + st.dropped + st.sampled_out, 2 * N);
    assert_int_equal(st.sampled_out, N);
    assert_true(st.written > 0);

    /* rotation: 300 lines of ~600 bytes past a 20 kB limit */
    o.ring_lines = 0;
    o.max_bytes = 20000;
    o.sample_every[FL_SEV_WARNING] = 0;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
        if (i % 50 == 49) assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    }
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    fl_engine_log_stats(t.e, &st);
    assert_int_equal(st.written, 300);
    assert_true(st.rotations >= 1);
    DIR *d = opendir(dir);
    int zst = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, "r.jsonl-") && strstr(de->d_name, ".zst")) zst++;
    closedir(d);
    assert_true(zst >= 1);
    flt_close(&t);
    flt_rmdir(dir);
}

static void test_policy_log(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.jsonl", dir);
    const char *with_log = POLICY "log { fields = { 'message', 'op' }, mask = { 'op' }, redact = { 'card [0-9]{4}' },\n"
                                  "      sample = { warning = 4294967295 }, on_full = 'spool' }\n";
    flt t;
    flt_open(&t, with_log);
    fl_log_options_t o = {0};
    o.path = path; /* the host chooses where; the policy what */
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"domain\":\"net\",\"message\":\"down card 1234\",\"op\":\"pay\"}"), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404}"), FL_OK); /* a warning: sampled out */
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    json_t *l[4];
    assert_int_equal(read_lines(path, l, 4), 1);
    fl_log_stats_t st;
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    assert_int_equal(st.spooled, 1); /* the policy's on_full: through the spool */
    assert_string_equal(sget(l[0], "exception.message"), "down [REDACTED]");
    json_t *ev = json_object_get(l[0], "event");
    assert_string_equal(sget(ev, "op"), "[REDACTED]");
    assert_null(json_object_get(ev, "domain")); /* not in fields */
    json_decref(l[0]);
    /* a version without `log` goes back to the host's settings */
    assert_int_equal(fl_engine_load_string(t.e, "p2.lua", POLICY, strlen(POLICY), &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"domain\":\"net\",\"message\":\"down card 1234\",\"op\":\"pay\"}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    assert_int_equal(read_lines(path, l, 4), 2);
    ev = json_object_get(l[1], "event");
    assert_string_equal(sget(ev, "op"), "pay");
    assert_string_equal(sget(ev, "domain"), "net");
    assert_string_equal(sget(l[1], "exception.message"), "down card 1234");
    json_decref(l[0]);
    json_decref(l[1]);
    /* bad declarations */
    static const char *const bad[] = {"log { fields = { 'colour' } }\n", "log { redact = { '(' } }\n",
                                      "log { sample = { loud = 1 } }\n", "log { path = '/etc/x' }\n",
                                      "log {}\nlog {}\n", "log { on_full = 'later' }\n", "log { on_full = 1 }\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char b[1024];
        snprintf(b, sizeof b, "%s%s", POLICY, bad[i]);
        int rc = fl_engine_load_string(t.e, "bad.lua", b, strlen(b), &dg);
        if (rc == FL_OK) print_error("accepted: %s", bad[i]);
        assert_true(rc < 0);
    }
    flt_close(&t);
    flt_rmdir(dir);
}

/* The op of the last line of path (the lines are checked by read_lines). */
static void last_op(const char *path, int want_lines, const char *want_op)
{
    json_t *l[8];
    int n = read_lines(path, l, 8);
    assert_int_equal(n, want_lines);
    assert_string_equal(sget(json_object_get(l[n - 1], "event"), "op"), want_op);
    for (int i = 0; i < n; i++) json_decref(l[i]);
}

/* A rollback (and a reload back to a version) applies the `log { ... }`
 * of the version that serves again. */
static void test_policy_log_after_rollback(void **state)
{
    (void)state;
    char dir[64], path[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/p.jsonl", dir);
    const char *with_log = POLICY "log { mask = { 'op' } }\n";
    const char *ev = "{\"message\":\"down\",\"op\":\"pay\"}";
    flt t;
    flt_open(&t, with_log);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(t.e, &vi), FL_OK);
    char v1[17];
    snprintf(v1, sizeof v1, "%s", vi.id);
    fl_log_options_t o = {0};
    o.path = path;
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, ev), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    last_op(path, 1, "[REDACTED]");
    assert_int_equal(fl_engine_load_string(t.e, "p2.lua", POLICY, strlen(POLICY), &dg), FL_OK);
    assert_int_equal(flt_decide(&t, ev), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    last_op(path, 2, "pay");
    assert_int_equal(fl_engine_rollback(t.e, v1, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, ev), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    last_op(path, 3, "[REDACTED]"); /* the rolled-back version's mask again */
    assert_int_equal(fl_engine_rollback(t.e, NULL, &dg), FL_OK); /* back to the version without `log` */
    assert_int_equal(flt_decide(&t, ev), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 5000), FL_OK);
    last_op(path, 4, "pay");
    flt_close(&t);
    flt_rmdir(dir);
}

/* An automatic canary rollback also brings back the restored version's
 * `log { ... }`: v1 masks `op`; v2 has no `log` and a handler failing on
 * every 20th event, so the engine rolls it back while deciding.  The
 * declarations are applied off the deciding thread: wait for them (up to
 * 10 s, polling) rather than assume when. */
#define CANARY_V1 "policy { name = 'p', version = '1' }\n" \
                  "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable' }\n" \
                  "log { mask = { 'op' } }\n"
#define CANARY_V2 "policy { name = 'p', version = '2' }\n" \
                  "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable',\n" \
                  "  handler = function(ev, d) if tonumber(ev.message:sub(5)) % 20 == 0 then error('boom') end end }\n"

static void canary_cb(void *user, const char *bad, const char *good, const char *why)
{
    (void)bad, (void)good, (void)why;
    ++*(int *)user;
}

/* The event's op in the last line of path ("" when there is none). */
static const char *last_line_op(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[16384], last[16384] = "";
    while (fgets(line, sizeof line, f)) memcpy(last, line, sizeof last);
    fclose(f);
    json_t *j = last[0] ? json_loads(last, 0, NULL) : NULL;
    const char *op = j ? sget(json_object_get(j, "event"), "op") : NULL;
    snprintf(buf, n, "%s", op ? op : "");
    json_decref(j);
    return buf;
}

static void test_policy_log_after_canary_rollback(void **state)
{
    (void)state;
    char dir[64], path[128], ev[64], op[64];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.jsonl", dir);
    int trips = 0;
    fl_engine_options_t eo = {.on_canary = canary_cb, .on_canary_user = &trips};
    flt t;
    flt_open_opts(&t, CANARY_V1, &eo);
    fl_diag_t dg;
    for (int i = 1; i <= 1000; i++) { /* the old version's baseline */
        snprintf(ev, sizeof ev, "{\"message\":\"down%d\",\"op\":\"pay\"}", i);
        flt_decide(&t, ev);
    }
    assert_int_equal(fl_engine_load_string(t.e, "v2.lua", CANARY_V2, strlen(CANARY_V2), &dg), FL_OK);
    fl_log_options_t o = {0};
    o.path = path;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK); /* v2 declares no mask */
    for (int i = 1; i <= 2000 && trips == 0; i++) {
        snprintf(ev, sizeof ev, "{\"message\":\"down%d\",\"op\":\"pay\"}", i);
        flt_decide(&t, ev);
    }
    assert_int_equal(trips, 1);
    for (int tries = 0; tries < 1000; tries++) { /* until v1's mask is in force */
        assert_int_equal(flt_decide(&t, "{\"message\":\"down1\",\"op\":\"pay\"}"), FL_OK);
        /* While the declarations are applied the log is reopened: a flush
         * then finds none open (FL_ESTATE). */
        int rc = fl_engine_log_flush(t.e, 5000);
        if (rc != FL_OK) assert_int_equal(rc, FL_ESTATE);
        if (rc == FL_OK && strcmp(last_line_op(path, op, sizeof op), "[REDACTED]") == 0) break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_string_equal(last_line_op(path, op, sizeof op), "[REDACTED]");
    flt_close(&t);
    flt_rmdir(dir);
}

/* ---- a slow sink: the log is a FIFO nobody reads yet ------------------------ */

typedef struct fifo_reader {
    pthread_t thr;
    const char *path;
    _Atomic long lines;
} fifo_reader;

/* Count the lines coming out of the FIFO until every writer has closed it. */
static void *read_fifo(void *arg)
{
    fifo_reader *fr = arg;
    int fd = open(fr->path, O_RDONLY);
    if (fd < 0) return NULL;
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n') atomic_fetch_add(&fr->lines, 1);
    close(fd);
    return NULL;
}

#define SLOW_N 20000

/* 20,000 decisions while the log's writer is stuck in write(2) on a FIFO
 * (its 64 KiB buffer full; the writer holds at most ~1 MiB of formatted
 * lines), into a ring of 256.  Drop mode: what the ring could not take is
 * counted, and the lines that come out are exactly the others.  Spool mode:
 * every record goes to the spool while the writer is stuck, and every line
 * comes out once the FIFO is read. */
static void run_slow_sink(int on_full, const char *dir)
{
    char path[128], spool[128];
    snprintf(path, sizeof path, "%s/slow.jsonl", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    mkdir(spool, 0700);
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    o.ring_lines = 256;
    o.on_full = on_full;
    o.spool_dir = spool;
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    fl_log_stats_t st;
    for (int i = 0; i < SLOW_N; i++) {
        assert_int_equal(flt_decide(&t, "{\"message\":\"down\",\"op\":\"db\"}"), FL_OK);
        /* spool mode: give the spool thread the CPU every half ring (under
         * load a thread can stay descheduled longer than a bounded ring
         * lasts; such records are counted as dropped, as drop mode shows) */
        for (int w = 0; on_full == FL_LOG_ON_FULL_SPOOL && (i % 128 == 127 || i == SLOW_N - 1) && w < 10000; w++) {
            fl_engine_log_stats(t.e, &st);
            if (st.spooled + st.dropped >= (uint64_t)i + 1) break;
            usleep(1000);
        }
    }
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    if (on_full == FL_LOG_ON_FULL_SPOOL) {
        assert_int_equal(st.dropped, 0);
        assert_int_equal(st.spooled, SLOW_N);
        assert_true(st.spool_bytes > 0); /* the writer is stuck: lines wait in the spool */
        struct stat sp;
        snprintf(spool + strlen(spool), sizeof spool - strlen(spool), "/slow.jsonl.spool");
        assert_int_equal(stat(spool, &sp), 0);
    } else {
        assert_true(st.dropped > 0); /* the writer cannot hold 20,000 lines */
        assert_int_equal(st.spooled, 0);
    }
    fifo_reader fr = {.path = path};
    atomic_init(&fr.lines, 0);
    assert_int_equal(pthread_create(&fr.thr, NULL, read_fifo, &fr), 0);
    assert_int_equal(fl_engine_log_flush(t.e, 60000), FL_OK);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    pthread_join(fr.thr, NULL);
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    if (st.written + st.dropped != SLOW_N)
        print_error("written %llu dropped %llu\n", (unsigned long long)st.written, (unsigned long long)st.dropped);
    assert_int_equal(st.written + st.dropped, SLOW_N);
    assert_int_equal(atomic_load(&fr.lines), (long)st.written); /* none lost silently */
    if (on_full == FL_LOG_ON_FULL_SPOOL) {
        assert_int_equal(atomic_load(&fr.lines), SLOW_N); /* every line came out */
        assert_int_equal(st.spool_bytes, 0);
        struct stat sp;
        assert_int_equal(stat(spool, &sp), -1); /* written out: the spool is gone */
    }
    flt_close(&t);
    unlink(path);
}

static void test_slow_sink(void **state)
{
    (void)state;
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    run_slow_sink(FL_LOG_ON_FULL_DROP, dir);
    run_slow_sink(FL_LOG_ON_FULL_SPOOL, dir);
    flt_rmdir(dir);
}

/* A spool left by a crash is written first at the next open in spool mode;
 * a torn record at its end is cut and counted. */
static void test_spool_recovery(void **state)
{
    (void)state;
    char dir[64], path[128], spool[160];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.jsonl", dir);
    snprintf(spool, sizeof spool, "%s.spool", path);
    /* the log is a FIFO already full: the writer blocks on its first write,
     * so the spool keeps the records (it is cut only once they are out) */
    assert_int_equal(mkfifo(path, 0600), 0);
    int full = open(path, O_RDWR | O_NONBLOCK);
    assert_true(full >= 0);
    static char junk[4096];
    memset(junk, 'x', sizeof junk);
    junk[sizeof junk - 1] = '\n';
    long njunk = 0;
    while (write(full, junk, sizeof junk) == (ssize_t)sizeof junk) njunk++;
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    o.on_full = FL_LOG_ON_FULL_SPOOL;
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down\",\"op\":\"a\"}"), FL_OK);
    fl_log_stats_t st;
    for (int w = 0; w < 5000 && (fl_engine_log_stats(t.e, &st), st.spooled < 3); w++) usleep(1000);
    assert_int_equal(st.spooled, 3);
    /* keep a copy of the spool as a crash would have left it */
    FILE *in = fopen(spool, "rb");
    assert_non_null(in);
    static char bytes[1 << 16];
    size_t n = fread(bytes, 1, sizeof bytes, in);
    fclose(in);
    assert_true(n > 0);
    fifo_reader fr = {.path = path};
    atomic_init(&fr.lines, 0);
    assert_int_equal(pthread_create(&fr.thr, NULL, read_fifo, &fr), 0);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    close(full);
    pthread_join(fr.thr, NULL);
    assert_int_equal(atomic_load(&fr.lines), 3 + njunk); /* the junk, then the 3 lines */
    assert_int_equal(unlink(path), 0);
    FILE *out = fopen(spool, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(bytes, 1, n, out), n);
    assert_int_equal(fwrite(bytes, 1, 20, out), 20); /* the start of a fourth record */
    fclose(out);
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\",\"op\":\"b\"}"), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 10000), FL_OK);
    assert_int_equal(fl_engine_log_close(t.e), FL_OK);
    json_t *l[4];
    assert_int_equal(read_lines(path, l, 4), 4); /* the 3 recovered, then the new one */
    assert_string_equal(sget(json_object_get(l[0], "event"), "op"), "a");
    assert_string_equal(sget(json_object_get(l[3], "event"), "op"), "b");
    for (int i = 0; i < 4; i++) json_decref(l[i]);
    assert_int_equal(fl_engine_log_stats(t.e, &st), FL_OK);
    assert_int_equal(st.torn_skipped, 1);
    /* bad on_full */
    o.on_full = 7;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_EINVAL);
    assert_non_null(strstr(dg.message, "on_full"));
    o.on_full = FL_LOG_ON_FULL_SPOOL;
    o.spool_dir = "/nonexistent/dir";
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_EIO);
    assert_non_null(strstr(dg.message, "spool"));
    flt_close(&t);
    flt_rmdir(dir);
}

/* A log and a registry open together get the same record per decision and
 * keep their own event fields and sampling: the registry sees every
 * decision, including those the log samples out, and keeps the op the log
 * leaves out. */
static void test_log_and_registry(void **state)
{
    (void)state;
    char dir[64], path[128], db[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/l.jsonl", dir);
    snprintf(db, sizeof db, "%s/r.db", dir);
    flt t;
    flt_open(&t, POLICY);
    fl_log_options_t o = {0};
    o.path = path;
    o.fields = FL_LOG_MESSAGE;                   /* the log leaves out the op ... */
    o.sample_every[FL_SEV_WARNING] = UINT32_MAX; /* ... and every warning */
    fl_registry_options_t ro = {0};
    ro.path = db;
    ro.fields = FL_LOG_OP | FL_LOG_MESSAGE;      /* the registry keeps the op */
    fl_diag_t dg;
    assert_int_equal(fl_engine_log_open(t.e, &o, &dg), FL_OK);
    assert_int_equal(fl_engine_registry_open(t.e, &ro, &dg), FL_OK);
    for (int i = 0; i < 5; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down\",\"op\":\"db\"}"), FL_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404,\"op\":\"web\"}"), FL_OK);
    assert_int_equal(fl_engine_registry_flush(t.e, 10000), FL_OK);
    assert_int_equal(fl_engine_log_flush(t.e, 10000), FL_OK);
    fl_error_query_t q = {0};
    q.by = "op";
    fl_error_row_t rows[4];
    size_t n = 0;
    assert_int_equal(fl_registry_query(db, &q, rows, 4, &n, &dg), FL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].key, "db");
    assert_int_equal(rows[0].count, 5);
    assert_string_equal(rows[1].key, "web");
    assert_int_equal(rows[1].count, 3); /* sampled out of the log, not of the registry */
    json_t *l[8];
    assert_int_equal(read_lines(path, l, 8), 5);
    assert_null(json_object_get(json_object_get(l[0], "event"), "op")); /* the log's own fields */
    for (int i = 0; i < 5; i++) json_decref(l[i]);
    fl_log_stats_t ls, rs;
    assert_int_equal(fl_engine_log_stats(t.e, &ls), FL_OK);
    assert_int_equal(fl_engine_registry_stats(t.e, &rs), FL_OK);
    assert_int_equal(ls.written, 5);
    assert_int_equal(ls.sampled_out, 3);
    assert_int_equal(rs.written, 8);
    assert_int_equal(rs.dropped + ls.dropped, 0);
    flt_close(&t);
    flt_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_short_write_cut),
        cmocka_unit_test(test_torn_and_bad_input),
        cmocka_unit_test(test_full_ring_sampling_rotation),
        cmocka_unit_test(test_policy_log),
        cmocka_unit_test(test_policy_log_after_rollback),
        cmocka_unit_test(test_policy_log_after_canary_rollback),
        cmocka_unit_test(test_slow_sink),
        cmocka_unit_test(test_spool_recovery),
        cmocka_unit_test(test_log_and_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
