/*
 * test_fingerprint.c -- message normalisation (each placeholder, what must
 * group together and what must stay apart, whitespace and case folding,
 * quotes vs apostrophes, bounded output incl. cap 0 and 1, UTF-8 never cut
 * in half, huge and hostile inputs in linear time, the same result wherever
 * a token sits relative to the 16-byte fast path) and the fingerprint
 * itself (format, stability, the documented XXH3 construction).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <xxhash.h>

#include "util.h"

static char g_out[4096];

static const char *norm(const char *msg)
{
    size_t n = fl_fp_normalize(msg, strlen(msg), g_out, sizeof g_out);
    assert_int_equal(n, strlen(g_out));
    return g_out;
}

#define NORM_EQ(msg, want) assert_string_equal(norm(msg), want)

static void same_group(const char *a, const char *b)
{
    char na[4096];
    snprintf(na, sizeof na, "%s", norm(a));
    if (strcmp(na, norm(b)) != 0)
        fail_msg("\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a, na, b, g_out);
}

static void different_group(const char *a, const char *b)
{
    char na[4096];
    snprintf(na, sizeof na, "%s", norm(a));
    if (strcmp(na, norm(b)) == 0)
        fail_msg("\"%s\" and \"%s\" both -> \"%s\"", a, b, na);
}

/* ---- the documented examples ------------------------------------------- */

static void test_examples_group(void **state)
{
    (void)state;
    same_group("connection to 10.0.0.5:5432 refused", "connection to 192.168.1.9:6543 refused");
    same_group("user 'bob' not found", "user 'alice' not found");
    same_group("open /var/data/x.db: no such file", "open /tmp/y.db: no such file");
    same_group("request 550e8400-e29b-41d4-a716-446655440000 failed",
               "request 01932c07-9a1b-7c3e-8f00-123456789abc failed");
    same_group("bad pointer 0xdeadbeef", "bad pointer 0x7ffd1234abcd");
    same_group("expired at 2026-11-24T15:35:24Z", "expired at 2025-01-02T03:04:05.678+01:00");
    same_group("retry 3 of 5 after 250ms", "retry 4 of 5 after 1000ms");
    same_group("mail to bob@example.com bounced", "mail to a.b+c@mail.example.org bounced");
    same_group("GET https://api.example.com/v1/users/42 failed",
               "GET https://10.1.2.3:8443/v1/users/7 failed");
    same_group("connect [2001:db8::1]:443 failed", "connect [fe80::1%eth0]:80 failed");
    same_group("Connection  Refused", "connection refused");
}

static void test_examples_stay_apart(void **state)
{
    (void)state;
    different_group("connection to 10.0.0.5:5432 refused", "connection to 10.0.0.5:5432 reset");
    different_group("user 'bob' not found", "user 'bob' locked");
    different_group("open /var/data/x.db: no such file", "open /var/data/x.db: permission denied");
    different_group("disk full", "disk fail");
    different_group("timeout after 5s", "timeout after 5ms"); /* units stay */
    different_group("read/write error", "read error");
    different_group("ipv4 unreachable", "ipv6 unreachable"); /* digits inside words stay */
}

/* ---- each placeholder --------------------------------------------------- */

static void test_numbers_and_hex(void **state)
{
    (void)state;
    NORM_EQ("retry 3 of 5", "retry <n> of <n>");
    NORM_EQ("took 1.5 s, 1e10 ops, 5E-3 err", "took <n> s, <n> ops, <n> err");
    NORM_EQ("after 250ms (limit 30000)", "after <n>ms (limit <n>)");
    NORM_EQ("worker-3 and -42", "worker-<n> and -<n>");
    NORM_EQ("ID=42,rows=1000", "id=<n>,rows=<n>");
    NORM_EQ("5/10 done", "<n>/<n> done");
    NORM_EQ("v1 utf8 http2 s3", "v1 utf8 http2 s3"); /* a digit after a letter is a word */
    NORM_EQ("at 0xdeadbeef and 0X1F", "at <hex> and <hex>");
    NORM_EQ("0x and 0xZZ", "<n>x and <n>xzz");
    NORM_EQ("sha e3b0c44298fc1c149afbf4c8996fb924 tag 7f9c4d8b", "sha <hex> tag <hex>");
    NORM_EQ("DEADBEEF deadbeefs", "<hex> deadbeefs"); /* a whole word, not a prefix */
    NORM_EQ("12345678 1234567a", "<n> <hex>");        /* all digits is a number */
    NORM_EQ("abcdef1", "abcdef1");                    /* fewer than 8: a word */
    /* Words that start with hex letters stay words (copied sixteen bytes at
     * a time); four hex digits or two and a ':' send them to the rules. */
    NORM_EQ("deadline cannot be met by the fe80::1%eth0 router", "deadline cannot be met by the <ip> router");
    NORM_EQ("ab:cd::1 y, abc:1::2 z, dead:beef::1", "<ip> y, <ip> z, <ip>");
    NORM_EQ("decade ab: x deadbeefcafe", "decade ab: x <hex>");
}

static void test_uuids_and_timestamps(void **state)
{
    (void)state;
    NORM_EQ("id 550E8400-E29B-41D4-A716-446655440000.", "id <uuid>.");
    NORM_EQ("id 550e8400-e29b-41d4-a716-44665544000", "id <hex>-e29b-<n>d4-a716-<n>");
    NORM_EQ("at 2026-11-24T15:35:24Z", "at <ts>");
    NORM_EQ("at 2026-11-24t15:35:24.123456z!", "at <ts>!");
    NORM_EQ("at 2026-11-24 15:35:24+01:00 ok", "at <ts> ok");
    NORM_EQ("on 2026-11-24 at 15:35:24.5", "on <ts> at <ts>");
    NORM_EQ("at 12:30:45Z.", "at <ts>.");
    NORM_EQ("Nov 24 15:35:24 host", "nov <n> <ts> host");
    NORM_EQ("at 10:30 sharp", "at <n>:<n> sharp"); /* no seconds: not a time */
}

static void test_addresses(void **state)
{
    (void)state;
    NORM_EQ("to 10.0.0.5:5432 refused", "to <ip> refused");
    NORM_EQ("from 203.0.113.7, again", "from <ip>, again");
    NORM_EQ("route 10.0.0.0/8 via 10.0.0.1", "route <ip> via <ip>");
    NORM_EQ("999.1.1.1 is no address", "<n>.<n> is no address");
    NORM_EQ("1.2.3.4.5", "<n>.<n>.<n>");
    NORM_EQ("peer 2001:db8::ff00:42:8329 gone", "peer <ip> gone");
    NORM_EQ("peer 2001:0db8:0000:0000:0000:ff00:0042:8329 gone", "peer <ip> gone");
    NORM_EQ("peer ::1 and ::ffff:192.0.2.128", "peer <ip> and <ip>");
    NORM_EQ("peer fe80::1%eth0: down", "peer <ip>: down");
    NORM_EQ("listen [::]:8080 and [2001:db8::1]:443", "listen [::]:<n> and <ip>");
    NORM_EQ("std::vector a::b dead::beef", "std::vector a::b dead::beef"); /* no digit */
    NORM_EQ("1:2:3:4:5:6:7:8:9", "<n>:<n>:<n>:<n>:<n>:<n>:<n>:<n>:<n>"); /* 9 groups */
    NORM_EQ("mail bob.smith+x@example.co.uk now", "mail <email> now");
    NORM_EQ("mail root@localhost now", "mail root@localhost now"); /* one label */
    NORM_EQ("@home and a@ and @b.com", "@home and a@ and @b.com");
}

static void test_urls_and_paths(void **state)
{
    (void)state;
    NORM_EQ("GET https://user:pw@api.example.com:8443/v1/users/42?x=1 503",
            "get https://<url>/v1/users/<n>?x=<n> <n>");
    NORM_EQ("see http://example.com.", "see http://<url>.");
    NORM_EQ("jdbc:postgresql://db1:5432/app", "jdbc:postgresql://<url>/app");
    NORM_EQ("file:///etc/passwd", "file://<path>");
    NORM_EQ("open /var/lib/app/seg-000123.db: failed", "open <path>: failed");
    NORM_EQ("at /srv/x.", "at <path>.");
    NORM_EQ("in (/tmp/a b)", "in (<path> b)");
    NORM_EQ("read config/app.yaml: bad", "read <path>: bad");
    NORM_EQ("run ./deploy.sh and ../x and ~/y", "run <path> and <path> and <path>");
    NORM_EQ("copy C:\\Users\\bob\\x.txt now", "copy <path> now");
    NORM_EQ("read/write application/json 1.5/2.5", "read/write application/json <n>/<n>");
    NORM_EQ("a / b //", "a / b //");
}

static void test_quotes(void **state)
{
    (void)state;
    NORM_EQ("user 'bob' \"x y\" `cmd --x`", "user <str> <str> <str>");
    NORM_EQ("'' \"\"", "<str> <str>");
    NORM_EQ("can't open users' file 'x'", "can't open users' file <str>");
    NORM_EQ("key 'don't' ok", "key <str> ok"); /* an apostrophe inside a quote */
    NORM_EQ("say \"quoted 'inner' part\" end", "say <str> end");
    NORM_EQ("unclosed 'quote here", "unclosed 'quote here");
    NORM_EQ("unclosed \"quote here", "unclosed \"quote here");
    NORM_EQ("a \"b\" c \"d", "a <str> c \"d");
}

static void test_whitespace_and_case(void **state)
{
    (void)state;
    NORM_EQ("  Timeout \t\n after\r\n\n  5 s  ", "timeout after <n> s");
    NORM_EQ("ERROR: Foo BAR", "error: foo bar");
    NORM_EQ("", "");
    NORM_EQ(" \t\n ", "");
    /* Non-ASCII is kept byte for byte; only ASCII folds. */
    NORM_EQ("\xC3\x9C" "BER gr\xC3\xB6\xC3\x9F" "e 12", "\xC3\x9C" "ber gr\xC3\xB6\xC3\x9F" "e <n>");
    /* Control bytes and NUL pass through as themselves. */
    char out[16];
    size_t n = fl_fp_normalize("a\0B\x01", 4, out, sizeof out);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a\0b\x01", 5);
}

/* ---- bounded output ----------------------------------------------------- */

static void test_cap_zero_and_one(void **state)
{
    (void)state;
    char out[8];
    memset(out, 'X', sizeof out);
    assert_int_equal(fl_fp_normalize("hello", 5, out, 0), 0);
    assert_int_equal(out[0], 'X'); /* nothing written */
    assert_int_equal(fl_fp_normalize("hello", 5, out, 1), 0);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'X');
    assert_int_equal(fl_fp_normalize("", 0, out, 1), 0);
    assert_int_equal(fl_fp_normalize("12", 2, out, 1), 0);
    assert_int_equal(out[0], '\0');
}

static void test_cap_truncates_cleanly(void **state)
{
    (void)state;
    const char *msg = "connection to 10.0.0.5:5432 refused by peer 550e8400-e29b-41d4-a716-"
                      "446655440000 after 3 attempts at 2026-11-24T15:35:24Z";
    char full[256];
    size_t nfull = fl_fp_normalize(msg, strlen(msg), full, sizeof full);
    for (size_t cap = 1; cap <= nfull + 2; cap++) {
        char out[256];
        memset(out, 'X', sizeof out);
        size_t n = fl_fp_normalize(msg, strlen(msg), out, cap);
        assert_true(n < cap);
        assert_int_equal(out[n], '\0');
        assert_int_equal(out[cap], 'X'); /* never past cap */
        /* A prefix of the full result (minus a trailing space), and a
         * placeholder is never cut in half. */
        assert_memory_equal(out, full, n);
        int open = 0;
        for (size_t k = 0; k < n; k++)
            open = out[k] == '<' ? 1 : out[k] == '>' ? 0 : open;
        assert_int_equal(open, 0);
    }
}

static void test_cap_keeps_utf8_whole(void **state)
{
    (void)state;
    const char *msg = "\xC3\xA9\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";
    size_t len = strlen(msg);
    for (size_t cap = 1; cap <= len + 1; cap++) {
        char out[32];
        size_t n = fl_fp_normalize(msg, len, out, cap);
        assert_true(n < cap);
        assert_int_equal(fl_utf8_valid(out, n), 1);
        assert_memory_equal(out, msg, n);
        assert_int_equal(n, fl_utf8_cut(msg, len, cap - 1));
    }
}

/* ---- huge and hostile inputs -------------------------------------------- */

static char *repeat(const char *unit, size_t total)
{
    size_t ul = strlen(unit);
    char *s = malloc(total + 1);
    assert_non_null(s);
    for (size_t i = 0; i < total; i++)
        s[i] = unit[i % ul];
    s[total] = '\0';
    return s;
}

static void test_huge_inputs_linear(void **state)
{
    (void)state;
    /* Patterns aimed at every look-ahead: if any rescanned its input from
     * each position, 512 KiB of it would take minutes, not milliseconds. */
    static const char *const units[] = {
        "a/", "a@", "'", "'a", "\"", "`", "1.", "1:", ":", "::", "[", "[1:", "a.b", "x", " ",
        "\t ", "http:", "http://", "0x", "deadbeef", "1-", "2026-", "12:", "/", "./", "a:\\",
        "a b ", "A1 ", "\xC3\xA9", "\xF0",
    };
    size_t total = 512 * 1024;
    char out[1024];
    uint64_t t0 = fl_mono_ns();
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        char *s = repeat(units[u], total);
        size_t n = fl_fp_normalize(s, total, out, sizeof out);
        assert_true(n < sizeof out);
        assert_int_equal(out[n], '\0');
        /* With a huge output buffer, the whole input is processed; no
         * placeholder is more than three times what it replaces ("1"). */
        char *big = malloc(3 * total + 16);
        assert_non_null(big);
        n = fl_fp_normalize(s, total, big, 3 * total + 16);
        assert_int_equal(big[n], '\0');
        assert_true(n <= 3 * total);
        free(big);
        free(s);
    }
    uint64_t ms = (fl_mono_ns() - t0) / 1000000;
    assert_true(ms < 5000); /* generous: sanitizers, a loaded machine */
}

/* ---- the 16-byte fast path agrees with the byte-wise rules -------------- */

static void test_same_result_at_every_offset(void **state)
{
    (void)state;
    /* A token's normalisation must not depend on where it falls relative
     * to the 16-byte blocks the scanner copies plain text in. */
    static const char *const msgs[] = {
        "to 10.0.0.5:5432 refused", "user 'bob' x", "open /var/x.db: no", "id 0xdeadbeef",
        "at 2026-11-24T15:35:24Z", "mail a@b.com", "GET http://h:1/p", "read config/a.yaml",
        "can't 'x'", "A  B\tC", "peer fe80::1 x", "C:\\x\\y z", "(3) [::1]:80,x",
        /* Words starting with hex letters: plain unless four or more hex
         * digits follow, or two or three and a ':' (checked in vectors). */
        "deadline cannot", "at deadbeef x", "ab:cd::1 y", "abc:1::2 y", "dead:beef::1 z",
        "face:b00c:0:0:0:0:0:1 w", "deadbeefcafe", "abcd-1234", "decade ab: x", "feed",
    };
    for (size_t m = 0; m < sizeof msgs / sizeof *msgs; m++) {
        char want[256];
        snprintf(want, sizeof want, "%s", norm(msgs[m]));
        /* lead 0: a short message, normalised from a zero-padded copy to
         * its end; lead 500: too long for the copy, so its last bytes go
         * through the byte-wise rules. */
        for (size_t k = 0; k < 80; k++) {
            size_t pad = k % 40 + (k < 40 ? 0 : 500);
            char in[1024], expect[1024];
            memset(in, 'q', pad);
            in[pad] = ' ';
            snprintf(in + pad + 1, sizeof in - pad - 1, "%s tail words here", msgs[m]);
            memset(expect, 'q', pad);
            expect[pad] = ' ';
            snprintf(expect + pad + 1, sizeof expect - pad - 1, "%s tail words here", want);
            const char *got = norm(in);
            const char *exp = pad == 0 ? expect + 1 : expect;
            if (strcmp(got, exp) != 0)
                fail_msg("pad %zu: \"%s\" -> \"%s\", want \"%s\"", pad, in, got, exp);
        }
    }
}

/* ---- the fingerprint ---------------------------------------------------- */

static void fp(const char *cat, const char *dom, const char *code, const char *op,
               const char *msg, char out[17])
{
    fl_fingerprint(cat, dom, code, op, msg, msg ? strlen(msg) : 0, out);
}

static void test_fingerprint_format_and_grouping(void **state)
{
    (void)state;
    char a[17], b[17];
    fp("unavailable", "postgres", "08006", "db.query", "connection to 10.0.0.5:5432 refused", a);
    assert_int_equal(strlen(a), 16);
    for (int i = 0; i < 16; i++)
        assert_non_null(strchr("0123456789abcdef", a[i]));
    fp("unavailable", "postgres", "08006", "db.query", "connection to 192.168.1.9:6543 refused", b);
    assert_string_equal(a, b);
    /* Each part counts. */
    const char *variants[][5] = {
        {"internal", "postgres", "08006", "db.query", "connection to 1.2.3.4 refused"},
        {"unavailable", "mysql", "08006", "db.query", "connection to 1.2.3.4 refused"},
        {"unavailable", "postgres", "08001", "db.query", "connection to 1.2.3.4 refused"},
        {"unavailable", "postgres", "08006", "db.exec", "connection to 1.2.3.4 refused"},
        {"unavailable", "postgres", "08006", "db.query", "connection to 1.2.3.4 reset"},
    };
    for (size_t i = 0; i < 5; i++) {
        fp(variants[i][0], variants[i][1], variants[i][2], variants[i][3], variants[i][4], b);
        assert_string_not_equal(a, b);
    }
    /* Part boundaries are part of the key. */
    fp("ab", "c", NULL, NULL, "m", a);
    fp("a", "bc", NULL, NULL, "m", b);
    assert_string_not_equal(a, b);
    /* A missing part is the empty string; a missing message too. */
    fp(NULL, NULL, NULL, NULL, NULL, a);
    fp("", "", "", "", "", b);
    assert_string_equal(a, b);
    fp("x", NULL, "y", NULL, "m", a);
    fp("x", "", "y", "", "m", b);
    assert_string_equal(a, b);
}

static void expect_construction(const char *cat, const char *dom, const char *code,
                                const char *op, const char *msg)
{
    /* XXH3-64 of cat NUL dom NUL code NUL op NUL normalised-message. */
    size_t cap = strlen(cat) + strlen(dom) + strlen(code) + strlen(op) + 4 + 1024;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t o = 0;
    const char *parts[4] = {cat, dom, code, op};
    for (int k = 0; k < 4; k++) {
        memcpy(buf + o, parts[k], strlen(parts[k]));
        o += strlen(parts[k]);
        buf[o++] = '\0';
    }
    o += fl_fp_normalize(msg, strlen(msg), buf + o, 1024);
    char want[17], got[17];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)XXH3_64bits(buf, o));
    fp(cat, dom, code, op, msg, got);
    assert_string_equal(got, want);
    free(buf);
}

static void test_fingerprint_construction(void **state)
{
    (void)state;
    expect_construction("unavailable", "postgres", "08006", "db.query",
                        "Connection to 10.0.0.5:5432 refused");
    expect_construction("", "", "", "", "");
    /* Parts too long for the one-call buffer take the streaming path; the
     * value is the same construction. */
    char *longop = repeat("payments.charge.", 2000);
    expect_construction("unavailable", "http", "503", longop, "upstream 'x' failed");
    free(longop);
    /* Messages past the normalisation limit: only the first 1023 bytes of
     * the normalised text count. */
    char *m1 = repeat("word ", 4000), *m2 = repeat("word ", 5000);
    char a[17], b[17];
    fp("c", "d", "e", "f", m1, a);
    fp("c", "d", "e", "f", m2, b);
    assert_string_equal(a, b);
    expect_construction("c", "d", "e", "f", m1);
    free(m1);
    free(m2);
}

static void test_fingerprint_stable_value(void **state)
{
    (void)state;
    /* Fingerprints are stored and compared across versions and hosts: the
     * value for a fixed input must not change by accident. */
    char a[17];
    fp("unavailable", "postgres", "08006", "db.query",
       "ERROR: could not connect to server 10.0.0.5:5432 (attempt 3 of 5): Connection "
       "refused after 250ms",
       a);
    char b[17];
    expect_construction("unavailable", "postgres", "08006", "db.query",
                        "error: could not connect to server <ip> (attempt <n> of <n>): "
                        "connection refused after <n>ms");
    fp("unavailable", "postgres", "08006", "db.query",
       "error: could not connect to server <ip> (attempt <n> of <n>): connection refused "
       "after <n>ms",
       b);
    /* The normalised text normalises to itself here, so both agree. */
    assert_string_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_group),
        cmocka_unit_test(test_examples_stay_apart),
        cmocka_unit_test(test_numbers_and_hex),
        cmocka_unit_test(test_uuids_and_timestamps),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_urls_and_paths),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_whitespace_and_case),
        cmocka_unit_test(test_cap_zero_and_one),
        cmocka_unit_test(test_cap_truncates_cleanly),
        cmocka_unit_test(test_cap_keeps_utf8_whole),
        cmocka_unit_test(test_huge_inputs_linear),
        cmocka_unit_test(test_same_result_at_every_offset),
        cmocka_unit_test(test_fingerprint_format_and_grouping),
        cmocka_unit_test(test_fingerprint_construction),
        cmocka_unit_test(test_fingerprint_stable_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
