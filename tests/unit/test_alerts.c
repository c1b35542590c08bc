/*
 * test_alerts.c -- alert rules (fl_engine_alerts_*): a local HTTP receiver
 * started by the test gets the webhook and the Slack payload once the
 * threshold is crossed (measured: <= 1 s after the crossing decision), not
 * before; repeats within min_interval are suppressed; a channel answering
 * 500 is retried, then given up, and the history table records it; e-mail
 * reaches an SMTP sink (python3-aiosmtpd); bad rules are refused with the
 * rule named.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flt.h"

#define POLICY "policy { name = 'p', version = '3' }\n" \
               "rule 'u' { when = { message = re[[^down]] }, category = 'unavailable.dns' }\n" \
               "rule 'n' { when = { domain = 'http', code = 404 }, category = 'not_found' }\n"

/* ---- a tiny HTTP receiver ------------------------------------------------ */
typedef struct rx {
    int fd, port, status;
    pthread_t thr;
    pthread_mutex_t mu;
    int n;
    char path[8][64];
    char body[8][2048];
    double at[8];
} rx;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *rx_loop(void *arg)
{
    rx *r = arg;
    for (;;) {
        int c = accept(r->fd, NULL, NULL);
        if (c < 0) return NULL;
        char buf[8192];
        size_t len = 0;
        char *hdr_end = NULL;
        long clen = -1;
        while (len < sizeof buf - 1) {
            ssize_t k = read(c, buf + len, sizeof buf - 1 - len);
            if (k <= 0) break;
            len += (size_t)k;
            buf[len] = '\0';
            if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
                char *cl = strcasestr(buf, "content-length:");
                clen = cl ? atol(cl + 15) : 0;
            }
            if (hdr_end && (long)(len - (size_t)(hdr_end + 4 - buf)) >= clen) break;
        }
        pthread_mutex_lock(&r->mu);
        if (hdr_end && r->n < 8) {
            sscanf(buf, "POST %63s", r->path[r->n]);
            snprintf(r->body[r->n], sizeof r->body[r->n], "%s", hdr_end + 4);
            r->at[r->n] = now_s();
            r->n++;
        }
        int st = r->status;
        pthread_mutex_unlock(&r->mu);
        char resp[128];
        int m = snprintf(resp, sizeof resp, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", st);
        if (write(c, resp, (size_t)m) < 0) { /* the client gave up */
        }
        close(c);
    }
}

static void rx_start(rx *r, int status)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->status = status;
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->fd, 16), 0);
    socklen_t l = sizeof a;
    getsockname(r->fd, (struct sockaddr *)&a, &l);
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thr, NULL, rx_loop, r);
}

static void rx_stop(rx *r)
{
    shutdown(r->fd, SHUT_RDWR);
    close(r->fd);
    pthread_join(r->thr, NULL);
}

static int rx_count(rx *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int rx_wait(rx *r, int n, double timeout)
{
    double until = now_s() + timeout;
    while (rx_count(r) < n && now_s() < until) usleep(2000);
    return rx_count(r) >= n;
}

static void test_webhook_and_slack(void **state)
{
    (void)state;
    rx r;
    rx_start(&r, 200);
    char hook[128], slack[128];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hook", r.port);
    snprintf(slack, sizeof slack, "http://127.0.0.1:%d/slack", r.port);
    flt t;
    flt_open(&t, POLICY);
    fl_alert_rule_t rule = {0};
    rule.name = "dns-down";
    rule.category = "unavailable";
    rule.count = 5;
    rule.window_ms = 60000;
    rule.group_by = "fingerprint";
    rule.webhook_url = hook;
    rule.slack_url = slack;
    rule.message = "{alert}: {count} x {category} in {window_s}s, e.g. \"{message}\"";
    fl_alerts_options_t o = {0};
    o.rules = &rule;
    o.nrules = 1;
    fl_diag_t dg;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_OK);
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_ESTATE);
    for (int i = 0; i < 4; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down: no such host\"}"), FL_OK);
    for (int i = 0; i < 10; i++) assert_int_equal(flt_decide(&t, "{\"domain\":\"http\",\"code\":404}"), FL_OK);
    usleep(300000);
    assert_int_equal(rx_count(&r), 0); /* below the threshold; other categories do not count */
    double t0 = now_s();
    assert_int_equal(flt_decide(&t, "{\"message\":\"down: no such host\"}"), FL_OK); /* the 5th */
    assert_true(rx_wait(&r, 2, 5.0));
    double first = r.at[0] < r.at[1] ? r.at[0] : r.at[1];
    print_message("alert latency: %.1f ms after the crossing decision\n", (first - t0) * 1000);
    assert_true(first - t0 <= 1.0);
    int hi = strcmp(r.path[0], "/hook") == 0 ? 0 : 1;
    assert_string_equal(r.path[hi], "/hook");
    assert_string_equal(r.path[1 - hi], "/slack");
    assert_non_null(strstr(r.body[hi], "\"alert\":\"dns-down\""));
    assert_non_null(strstr(r.body[hi], "\"count\":5"));
    assert_non_null(strstr(r.body[hi], "\"category\":\"unavailable.dns\""));
    assert_non_null(strstr(r.body[1 - hi],
                           "{\"text\":\"dns-down: 5 x unavailable.dns in 60s, e.g. \\\"down: no such host\\\"\"}"));
    /* min_interval: more crossings are suppressed, not sent */
    for (int i = 0; i < 5; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down: no such host\"}"), FL_OK);
    usleep(300000);
    fl_alert_stats_t st;
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_OK);
    assert_int_equal(st.fired, 1);
    assert_true(st.suppressed >= 5);
    assert_int_equal(st.delivered, 2);
    assert_int_equal(rx_count(&r), 2);
    assert_int_equal(fl_engine_alerts_stop(t.e), FL_OK);
    assert_int_equal(fl_engine_alerts_stop(t.e), FL_ESTATE);
    flt_close(&t);
    rx_stop(&r);
}

static void test_failing_channel(void **state)
{
    (void)state;
    rx r;
    rx_start(&r, 500);
    char hook[128], dir[64], db[128];
    snprintf(hook, sizeof hook, "http://127.0.0.1:%d/hook", r.port);
    flt_tmpdir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/errors.db", dir);
    flt t;
    flt_open(&t, POLICY);
    fl_alert_rule_t rule = {0};
    rule.name = "any";
    rule.count = 1;
    rule.window_ms = 1000;
    rule.webhook_url = hook;
    fl_alerts_options_t o = {0};
    o.rules = &rule;
    o.nrules = 1;
    o.history_db = db;
    fl_diag_t dg;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_OK);
    double t0 = now_s();
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    fl_alert_stats_t st = {0};
    while (now_s() - t0 < 10 && (fl_engine_alerts_stats(t.e, &st), st.failed == 0)) usleep(5000);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.delivered, 0);
    assert_int_equal(st.attempts + st.refused, 4); /* retried, then given up */
    assert_true(st.attempts >= 2);
    /* deciding was never held up by the channel */
    assert_true(now_s() - t0 < 10);
    assert_int_equal(fl_engine_alerts_stop(t.e), FL_OK);
    sqlite3 *s;
    assert_int_equal(sqlite3_open(db, &s), SQLITE_OK);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(s, "SELECT alert, channel, status FROM notifications", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "any");
    assert_string_equal((const char *)sqlite3_column_text(q, 1), "webhook");
    assert_string_equal((const char *)sqlite3_column_text(q, 2), "failed");
    sqlite3_finalize(q);
    sqlite3_close(s);
    flt_close(&t);
    rx_stop(&r);
    flt_rmdir(dir);
}

/* An SMTP sink (Debian python3-aiosmtpd) run by /usr/bin/python3: it prints
 * its port, appends each message to `out`, and exits when out.stop exists. */
static const char k_smtp_sink[] =
    "import socket, sys, os, time\n"
    "from aiosmtpd.controller import Controller\n"
    "out = sys.argv[1]\n"
    "class H:\n"
    "    async def handle_DATA(self, server, session, env):\n"
    "        with open(out, 'ab') as f:\n"
    "            f.write(('FROM %s\\nTO %s\\n' % (env.mail_from, ','.join(env.rcpt_tos))).encode() + env.content + b'\\n--END--\\n')\n"
    "        return '250 OK'\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
    "c = Controller(H(), hostname='127.0.0.1', port=port); c.start()\n"
    "print(port, flush=True)\n"
    "t = time.time()\n"
    "while not os.path.exists(out + '.stop') and time.time() - t < 60: time.sleep(0.05)\n"
    "c.stop()\n";

static void test_smtp(void **state)
{
    (void)state;
    char dir[64], script[128], out[128], cmd[512], stop[160];
    flt_tmpdir(dir, sizeof dir);
    snprintf(script, sizeof script, "%s/sink.py", dir);
    snprintf(out, sizeof out, "%s/mail.txt", dir);
    snprintf(stop, sizeof stop, "%s.stop", out);
    flt_write(dir, "sink.py", k_smtp_sink);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, out);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int port = 0;
    assert_int_equal(fscanf(p, "%d", &port), 1);
    char url[64];
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
    flt t;
    flt_open(&t, POLICY);
    fl_alert_rule_t rule = {0};
    rule.name = "mail-me";
    rule.count = 2;
    rule.window_ms = 10000;
    rule.smtp_url = url;
    rule.mail_from = "faultline@example.test";
    rule.mail_to = "ops@example.test, oncall@example.test";
    fl_alerts_options_t o = {0};
    o.rules = &rule;
    o.nrules = 1;
    fl_diag_t dg;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    fl_alert_stats_t st = {0};
    double t0 = now_s();
    while (now_s() - t0 < 10 && (fl_engine_alerts_stats(t.e, &st), st.delivered + st.failed == 0)) usleep(5000);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(fl_engine_alerts_stop(t.e), FL_OK);
    flt_close(&t);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char mail[4096];
    size_t n = fread(mail, 1, sizeof mail - 1, f);
    mail[n] = '\0';
    fclose(f);
    assert_non_null(strstr(mail, "FROM faultline@example.test"));
    assert_non_null(strstr(mail, "TO ops@example.test,oncall@example.test"));
    assert_non_null(strstr(mail, "Subject: [faultline] mail-me: 2 in 10s (all)"));
    assert_non_null(strstr(mail, "mail-me: 2 errors in 10s (all)"));
    flt_write(dir, "mail.txt.stop", "");
    pclose(p);
    flt_rmdir(dir);
}

static void test_policy_declared(void **state)
{
    (void)state;
    rx r;
    rx_start(&r, 200);
    char src[1024];
    snprintf(src, sizeof src,
             POLICY "alert 'dns' { when = { category = 'unavailable', severity = 'debug' },\n"
                    "  threshold = { count = 3, window_ms = 10000 }, group_by = 'category', min_interval_ms = 60000,\n"
                    "  message = '{alert} {count} {category}',\n"
                    "  notify = { webhook = 'http://127.0.0.1:%d/from-policy' } }\n",
             r.port);
    flt t;
    flt_open(&t, src);
    fl_alert_stats_t st;
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_OK); /* started by the load */
    for (int i = 0; i < 3; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    assert_true(rx_wait(&r, 1, 5.0));
    assert_string_equal(r.path[0], "/from-policy");
    assert_non_null(strstr(r.body[0], "\"message\":\"dns 3 unavailable.dns\""));
    /* a version without alerts stops them */
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(t.e, &vi), FL_OK);
    char v1[17];
    snprintf(v1, sizeof v1, "%s", vi.id);
    fl_diag_t dg;
    assert_int_equal(fl_engine_load_string(t.e, "p2.lua", POLICY, strlen(POLICY), &dg), FL_OK);
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_ESTATE);
    /* a rollback to the version with alerts starts them again (fresh
     * windows: three more decisions cross the threshold) */
    assert_int_equal(fl_engine_rollback(t.e, v1, &dg), FL_OK);
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(flt_decide(&t, "{\"message\":\"down\"}"), FL_OK);
    assert_true(rx_wait(&r, 2, 5.0));
    assert_string_equal(r.path[1], "/from-policy");
    /* and a rollback to the version without them stops them */
    assert_int_equal(fl_engine_rollback(t.e, NULL, &dg), FL_OK);
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_ESTATE);
    /* bad declarations are refused at load, naming the problem */
    static const char *const bad[] = {
        "alert 'a' { notify = { webhook = 'http://x/' } }\n",                                     /* no threshold */
        "alert 'a' { threshold = { count = 1, window_ms = 1 } }\n",                               /* no notify */
        "alert 'a' { threshold = { count = 1, window_ms = 1 }, notify = { webhook = 'ftp://x' } }\n",
        "alert 'a' { threshold = { count = 1, window_ms = 1 }, group_by = 'colour', notify = { slack = 'http://x' } }\n",
        "alert 'a' { threshold = { count = 1, window_ms = 1 }, notify = { email = { smtp = 'smtp://h' } } }\n",
        "alert 'a' { when = { category = 'nope' }, threshold = { count = 1, window_ms = 1 }, notify = { slack = 'http://x' } }\n",
        "alert 'a' { threshold = { count = 1, window_ms = 1 }, notify = { slack = 'http://x' }, colour = 1 }\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char b[1024];
        snprintf(b, sizeof b, "%s%s", POLICY, bad[i]);
        int rc = fl_engine_load_string(t.e, "bad.lua", b, strlen(b), &dg);
        if (rc == FL_OK) print_error("accepted: %s", bad[i]);
        assert_true(rc < 0);
        assert_non_null(strstr(dg.message, "alert"));
    }
    flt_close(&t);
    rx_stop(&r);
}

static void test_bad_rules(void **state)
{
    (void)state;
    flt t;
    flt_open(&t, POLICY);
    fl_alert_rule_t rule = {0};
    fl_alerts_options_t o = {0};
    o.rules = &rule;
    o.nrules = 1;
    fl_diag_t dg;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL); /* no name */
    rule.name = "x";
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL); /* no count */
    assert_non_null(strstr(dg.message, "alert \"x\""));
    rule.count = 3;
    rule.window_ms = 100;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL); /* no channel */
    rule.webhook_url = "ftp://h/x";
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL);
    rule.webhook_url = NULL;
    rule.smtp_url = "smtp://127.0.0.1:1";
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL); /* no mail_from/mail_to */
    rule.mail_from = "a@b";
    rule.mail_to = "c@d\r\nBcc: x@y";
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL); /* header injection */
    rule.smtp_url = NULL;
    rule.webhook_url = "http://127.0.0.1:1/x";
    rule.group_by = "colour";
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL);
    assert_non_null(strstr(dg.message, "colour"));
    o.nrules = 0;
    assert_int_equal(fl_engine_alerts_start(t.e, &o, &dg), FL_EINVAL);
    assert_int_equal(fl_engine_alerts_start(NULL, &o, &dg), FL_EINVAL);
    fl_alert_stats_t st;
    assert_int_equal(fl_engine_alerts_stats(t.e, &st), FL_ESTATE);
    assert_int_equal(fl_engine_alerts_stop(t.e), FL_ESTATE);
    flt_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_and_slack),
        cmocka_unit_test(test_failing_channel),
        cmocka_unit_test(test_smtp),
        cmocka_unit_test(test_policy_declared),
        cmocka_unit_test(test_bad_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
