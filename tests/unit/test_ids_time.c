/*
 * test_ids_time.c -- the random stream (xoshiro256** known answers, seeding,
 * unit and range draws incl. bias), UUIDv7 layout, the clocks, RFC 3339
 * parsing and formatting (offsets, fractions, leap years, every range
 * check, malformed text; timegm as an independent oracle), the three
 * HTTP-date forms, and Retry-After values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "util.h"

/* ---- rng ---------------------------------------------------------------- */

static void test_rng_known_answer(void **state)
{
    (void)state;
    /* The reference xoshiro256** from state {1, 2, 3, 4}. */
    fl_rng r = {{1, 2, 3, 4}};
    assert_int_equal(fl_rng_next(&r), 11520u);
    assert_int_equal(fl_rng_next(&r), 0u);
    assert_int_equal(fl_rng_next(&r), 1509978240u);
    assert_true(fl_rng_next(&r) == 1215971899390074240ULL);
}

static void test_rng_seeding(void **state)
{
    (void)state;
    fl_rng a, b, c;
    fl_rng_seed(&a, 42);
    fl_rng_seed(&b, 42);
    fl_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = fl_rng_next(&a);
        assert_true(x == fl_rng_next(&b)); /* same seed, same stream */
        differ += x != fl_rng_next(&c);
    }
    assert_true(differ > 95);
    /* Seed 0 draws from the OS: two such streams differ, and no state is
     * the all-zero one xoshiro cannot leave. */
    fl_rng_seed(&a, 0);
    fl_rng_seed(&b, 0);
    assert_true(memcmp(a.s, b.s, sizeof a.s) != 0);
    assert_true((a.s[0] | a.s[1] | a.s[2] | a.s[3]) != 0);
    /* Even seed 1 (a tiny number) spreads over all four words. */
    fl_rng_seed(&a, 1);
    for (int i = 0; i < 4; i++)
        assert_true(a.s[i] != 0 && a.s[i] != 1);
}

static void test_rng_unit(void **state)
{
    (void)state;
    fl_rng r;
    fl_rng_seed(&r, 7);
    double sum = 0, lo = 1, hi = 0;
    for (int i = 0; i < 200000; i++) {
        double u = fl_rng_unit(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    assert_true(sum / 200000 > 0.49 && sum / 200000 < 0.51);
    assert_true(lo < 0.001 && hi > 0.999);
    /* The largest possible draw, (2^53 - 1) * 2^-53, is still below 1. */
    assert_true((double)((UINT64_MAX) >> 11) * 0x1.0p-53 < 1.0);
}

static void test_rng_range_edges(void **state)
{
    (void)state;
    fl_rng r;
    fl_rng_seed(&r, 9);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(fl_rng_range(&r, 5, 5), 5);
        assert_int_equal(fl_rng_range(&r, -7, -7), -7);
        int64_t v = fl_rng_range(&r, -3, 3);
        assert_true(v >= -3 && v <= 3);
        v = fl_rng_range(&r, INT64_MAX - 1, INT64_MAX);
        assert_true(v == INT64_MAX - 1 || v == INT64_MAX);
        v = fl_rng_range(&r, INT64_MIN, INT64_MIN + 1);
        assert_true(v == INT64_MIN || v == INT64_MIN + 1);
    }
    /* The whole int64 range: both signs show up. */
    int neg = 0, pos = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t v = fl_rng_range(&r, INT64_MIN, INT64_MAX);
        neg += v < 0;
        pos += v > 0;
    }
    assert_true(neg > 400 && pos > 400);
}

static void test_rng_range_uniform(void **state)
{
    (void)state;
    fl_rng r;
    fl_rng_seed(&r, 11);
    int count[10] = {0};
    for (int i = 0; i < 100000; i++) {
        int64_t v = fl_rng_range(&r, 10, 19);
        assert_true(v >= 10 && v <= 19);
        count[v - 10]++;
    }
    for (int k = 0; k < 10; k++)
        assert_true(count[k] > 9400 && count[k] < 10600);
    /* A span of 3 * 2^62, [INT64_MIN, 2^62): a plain modulo would land
     * in the first 2^62 values half the time; an unbiased draw does so a
     * third of the time. */
    const int64_t hi = (int64_t)((1ULL << 62) - 1);
    int below = 0, n = 30000;
    for (int i = 0; i < n; i++) {
        int64_t v = fl_rng_range(&r, INT64_MIN, hi);
        assert_true(v <= hi);
        below += (uint64_t)v - (uint64_t)INT64_MIN < (1ULL << 62);
    }
    double frac = (double)below / n;
    assert_true(frac > 0.31 && frac < 0.36);
}

/* ---- uuid7 -------------------------------------------------------------- */

static void check_uuid_shape(const char *u)
{
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '7');                /* version */
    assert_non_null(strchr("89ab", u[19]));      /* variant 10 */
}

/* Ids are stamped with the coarse clock when it is fine enough: the same
 * wall time in the same unit (ms since the epoch), at most a tick behind.
 * The bound is a second, so a loaded machine cannot make this fail; a unit
 * mix-up (s, us) or the wrong clock (monotonic) would miss it by far. */
static void test_id_clock(void **state)
{
    (void)state;
    int c = fl_id_clock();
    assert_true(c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE);
    int64_t before = fl_now_ms(), t = fl_clock_ms(c), after = fl_now_ms();
    assert_true(t <= after);
    assert_true(t >= before - 1000);
    assert_int_equal(fl_clock_ms(-12345), 0); /* no such clock */
}

static void test_uuid7_layout(void **state)
{
    (void)state;
    fl_rng r;
    fl_rng_seed(&r, 5);
    char u[37];
    /* The RFC 9562 example time: 0x017F22E279B0 ms. */
    fl_uuid7(&r, 0x017F22E279B0LL, u);
    check_uuid_shape(u);
    assert_memory_equal(u, "017f22e2-79b0-7", 15);
    fl_uuid7(&r, 0, u);
    check_uuid_shape(u);
    assert_memory_equal(u, "00000000-0000-7", 15);
    fl_uuid7(&r, -5, u); /* before the epoch: clamped to 0 */
    assert_memory_equal(u, "00000000-0000-7", 15);
    fl_uuid7(&r, 0xFFFFFFFFFFFFLL, u); /* the last 48-bit time */
    assert_memory_equal(u, "ffffffff-ffff-7", 15);
    /* The variant and version bits must not depend on the random bits:
     * many draws, every one well formed. */
    unsigned seen19 = 0;
    for (int i = 0; i < 2000; i++) {
        fl_uuid7(&r, 1764000000000LL + i, u);
        check_uuid_shape(u);
        seen19 |= 1u << (strchr("89ab", u[19]) - "89ab");
    }
    assert_int_equal(seen19, 0xF); /* all four variant digits occur */
}

static void test_uuid7_order_and_uniqueness(void **state)
{
    (void)state;
    fl_rng r;
    fl_rng_seed(&r, 0);
    char prev[37], cur[37];
    fl_uuid7(&r, 1000, prev);
    for (int64_t ms = 1001; ms < 3000; ms++) {
        fl_uuid7(&r, ms, cur);
        assert_true(strcmp(prev, cur) < 0); /* text order is time order */
        memcpy(prev, cur, sizeof cur);
    }
    char a[37], b[37];
    fl_uuid7(&r, 5000, a);
    fl_uuid7(&r, 5000, b);
    assert_string_not_equal(a, b); /* same ms: the random bits differ */
    /* Same seed, same ids. */
    fl_rng r1, r2;
    fl_rng_seed(&r1, 77);
    fl_rng_seed(&r2, 77);
    fl_uuid7(&r1, 123456, a);
    fl_uuid7(&r2, 123456, b);
    assert_string_equal(a, b);
}

/* ---- clocks ------------------------------------------------------------- */

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = fl_now_ms();
    int64_t sys = (int64_t)time(NULL) * 1000;
    assert_true(now > sys - 2000 && now < sys + 2000);
    uint64_t a = fl_mono_ns();
    struct timespec ts = {0, 2000000}; /* 2 ms */
    nanosleep(&ts, NULL);
    uint64_t b = fl_mono_ns();
    assert_true(b >= a + 2000000);
    assert_true(b - a < 2000000000ULL);
}

/* ---- RFC 3339 ----------------------------------------------------------- */

static int parse(const char *s, int64_t *ms)
{
    return fl_rfc3339_parse(s, strlen(s), ms);
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = 0x5555;
    if (parse(s, &ms) != 0)
        fail_msg("rejected: %s", s);
    return ms;
}

static void parse_bad(const char *s)
{
    int64_t ms = 0x5555;
    if (parse(s, &ms) != -1)
        fail_msg("accepted: %s", s);
    assert_true(ms == 0x5555); /* untouched on failure */
}

static void test_rfc3339_values(void **state)
{
    (void)state;
    assert_true(parse_ok("1970-01-01T00:00:00Z") == 0);
    assert_true(parse_ok("2000-01-01T00:00:00Z") == 946684800000LL);
    assert_true(parse_ok("2024-02-29T12:00:00Z") == 1709208000000LL);
    assert_true(parse_ok("2026-11-24T15:35:24Z") == 1795534524000LL);
    assert_true(parse_ok("2026-11-24T15:35:24.123Z") == 1795534524123LL);
    assert_true(parse_ok("2026-11-24t15:35:24.123z") == 1795534524123LL);
    assert_true(parse_ok("2026-11-24 15:35:24Z") == 1795534524000LL);
    /* Fractions: any precision, truncated to ms. */
    assert_true(parse_ok("1970-01-01T00:00:00.5Z") == 500);
    assert_true(parse_ok("1970-01-01T00:00:00.05Z") == 50);
    assert_true(parse_ok("1970-01-01T00:00:00.123456789Z") == 123);
    assert_true(parse_ok("1970-01-01T00:00:00.999999Z") == 999);
    /* Offsets: local time minus the offset is UTC. */
    assert_true(parse_ok("2026-11-24T16:35:24+01:00") == 1795534524000LL);
    assert_true(parse_ok("2026-11-24T10:05:24-05:30") == 1795534524000LL);
    assert_true(parse_ok("2026-11-24T15:35:24-00:00") == 1795534524000LL);
    assert_true(parse_ok("2026-11-25T01:35:24.5+10:00") == 1795534524500LL);
    /* Before 1970 and the ends of the four-digit range. */
    assert_true(parse_ok("1969-12-31T23:59:59.999Z") == -1);
    assert_true(parse_ok("0000-01-01T00:00:00Z") == -62167219200000LL);
    assert_true(parse_ok("9999-12-31T23:59:59.999Z") == 253402300799999LL);
    /* A leap second lands on the next minute's first second. */
    assert_true(parse_ok("2016-12-31T23:59:60Z") == parse_ok("2017-01-01T00:00:00Z"));
}

static void test_rfc3339_leap_years(void **state)
{
    (void)state;
    parse_ok("2024-02-29T00:00:00Z");
    parse_ok("2000-02-29T00:00:00Z"); /* divisible by 400 */
    parse_ok("1600-02-29T00:00:00Z");
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z"); /* divisible by 100 only */
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
    parse_ok("2026-04-30T00:00:00Z");
    parse_bad("2026-04-31T00:00:00Z");
    parse_bad("2026-06-31T00:00:00Z");
    parse_bad("2026-09-31T00:00:00Z");
    parse_bad("2026-11-31T00:00:00Z");
    parse_ok("2026-12-31T00:00:00Z");
}

static void test_rfc3339_agrees_with_timegm(void **state)
{
    (void)state;
    /* Every day from 1899 to 2101 at a varying time of day. */
    for (int y = 1899; y <= 2101; y++) {
        for (int m = 1; m <= 12; m++) {
            for (int d = 1; d <= 31; d++) {
                struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
                                .tm_hour = (y + d) % 24, .tm_min = (m * 7) % 60,
                                .tm_sec = d % 60};
                time_t t = timegm(&tm);
                char buf[64];
                snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y,
                         (unsigned)m, (unsigned)d, (unsigned)(y + d) % 24u,
                         (unsigned)(m * 7) % 60u, (unsigned)d % 60u);
                int64_t ms;
                int rc = parse(buf, &ms);
                if (tm.tm_mday != d) { /* timegm normalised it: not a real date */
                    assert_int_equal(rc, -1);
                    continue;
                }
                assert_int_equal(rc, 0);
                assert_true(ms == (int64_t)t * 1000);
            }
        }
    }
}

static void test_rfc3339_ranges(void **state)
{
    (void)state;
    parse_bad("2026-00-10T00:00:00Z");
    parse_bad("2026-13-10T00:00:00Z");
    parse_bad("2026-01-00T00:00:00Z");
    parse_bad("2026-01-32T00:00:00Z");
    parse_bad("2026-01-10T24:00:00Z");
    parse_bad("2026-01-10T00:60:00Z");
    parse_bad("2026-01-10T00:00:61Z");
    parse_bad("2026-01-10T00:00:00+24:00");
    parse_bad("2026-01-10T00:00:00+01:60");
    parse_ok("2026-01-10T23:59:59+23:59");
}

static void test_rfc3339_malformed(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("Z");
    parse_bad("2026-11-24");
    parse_bad("2026-11-24T15:35");
    parse_bad("2026-11-24T15:35:24");       /* no offset */
    parse_bad("2026-11-24T15:35:24.Z");     /* empty fraction */
    parse_bad("2026-11-24T15:35:24.12");    /* fraction, no offset */
    parse_bad("2026-11-24T15:35:24+0100");  /* offset without ':' */
    parse_bad("2026-11-24T15:35:24+01");
    parse_bad("2026-11-24T15:35:24+01:00x");
    parse_bad("2026-11-24T15:35:24Zx");
    parse_bad("2026-11-24T15:35:24ZZ");
    parse_bad("2026-11-24X15:35:24Z");
    parse_bad("2026-11-24T15-35-24Z");
    parse_bad("2026/11/24T15:35:24Z");
    parse_bad("2O26-11-24T15:35:24Z");      /* letter O */
    parse_bad("2026-1-24T15:35:24Z");
    parse_bad("26-11-24T15:35:24Z");
    parse_bad("+2026-11-24T15:35:24Z");
    parse_bad(" 2026-11-24T15:35:24Z");
    parse_bad("2026-11-24T15:35:24 Z");
    parse_bad("2026-11-24T15:35:2aZ");
    parse_bad("-026-11-24T15:35:24Z");
    /* The length is what counts, not a NUL. */
    int64_t ms;
    assert_int_equal(fl_rfc3339_parse("2026-11-24T15:35:24Z", 19, &ms), -1);
    assert_int_equal(fl_rfc3339_parse("2026-11-24T15:35:24Z\0", 21, &ms), -1);
    assert_int_equal(fl_rfc3339_parse("2026-11-24T15:35:24Zjunk", 20, &ms), 0);
    assert_true(ms == 1795534524000LL);
}

static void test_rfc3339_format(void **state)
{
    (void)state;
    char out[32];
    fl_rfc3339_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    fl_rfc3339_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    fl_rfc3339_format(1709208000123LL, out);
    assert_string_equal(out, "2024-02-29T12:00:00.123Z");
    fl_rfc3339_format(1795534524007LL, out);
    assert_string_equal(out, "2026-11-24T15:35:24.007Z");
    fl_rfc3339_format(253402300799999LL, out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    fl_rfc3339_format(-62167219200000LL, out);
    assert_string_equal(out, "0000-01-01T00:00:00.000Z");
    /* Out of RFC 3339's range: still printed in full, within 32 bytes. */
    fl_rfc3339_format(INT64_MAX, out);
    assert_true(strlen(out) < 32);
    fl_rfc3339_format(INT64_MIN, out);
    assert_true(strlen(out) < 32);
    /* Round trips across the whole four-digit range. */
    fl_rng r;
    fl_rng_seed(&r, 3);
    for (int i = 0; i < 20000; i++) {
        int64_t t = fl_rng_range(&r, -62167219200000LL, 253402300799999LL);
        fl_rfc3339_format(t, out);
        assert_int_equal(strlen(out), 24);
        int64_t back;
        assert_int_equal(fl_rfc3339_parse(out, 24, &back), 0);
        assert_true(back == t);
    }
}

/* ---- HTTP-date ---------------------------------------------------------- */

static int http(const char *s, int64_t *t)
{
    return fl_http_date_parse(s, strlen(s), t);
}

static void test_http_date_forms(void **state)
{
    (void)state;
    int64_t t = 0;
    /* The RFC 9110 example, in its three forms. */
    assert_int_equal(http("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_true(t == 784111777);
    t = 0;
    assert_int_equal(http("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
    assert_true(t == 784111777);
    t = 0;
    assert_int_equal(http("Sun Nov  6 08:49:37 1994", &t), 0);
    assert_true(t == 784111777);
    t = 0;
    assert_int_equal(http("Sun Nov 06 08:49:37 1994", &t), 0); /* 2DIGIT day */
    assert_true(t == 784111777);
    assert_int_equal(http("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
    assert_true(t == 0);
    assert_int_equal(http("Thu, 29 Feb 2024 12:00:00 GMT", &t), 0);
    assert_true(t == 1709208000);
    assert_int_equal(http("Wednesday, 31-Dec-25 23:59:59 GMT", &t), 0);
    assert_true(t == 1767225599);
}

static void test_http_date_two_digit_years(void **state)
{
    (void)state;
    /* RFC 9110: more than 50 years ahead means the previous century. */
    int64_t now_s = fl_now_ms() / 1000;
    struct tm tm;
    time_t tt = (time_t)now_s;
    gmtime_r(&tt, &tm);
    int cy = tm.tm_year + 1900;
    char buf[64];
    int64_t t;
    /* Ten years ahead: this century. */
    snprintf(buf, sizeof buf, "Monday, 01-Jan-%02d 00:00:00 GMT", (cy + 10) % 100);
    assert_int_equal(http(buf, &t), 0);
    struct tm want = {.tm_year = cy + 10 - 1900, .tm_mon = 0, .tm_mday = 1};
    assert_true(t == (int64_t)timegm(&want));
    /* Sixty years ahead: a hundred years earlier. */
    snprintf(buf, sizeof buf, "Monday, 01-Jan-%02d 00:00:00 GMT", (cy + 60) % 100);
    assert_int_equal(http(buf, &t), 0);
    want.tm_year = cy + 60 - 100 - 1900;
    assert_true(t == (int64_t)timegm(&want));
}

static void test_http_date_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 nov 1994 08:49:37 GMT",    /* names are case-sensitive */
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Noz 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",    /* no 31 November */
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",     /* day needs two digits */
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",   /* trailing space */
        "Sun, 06 Nov 1994 08:49:37",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08.49.37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sonday, 06-Nov-94 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",      /* short name in RFC 850 form */
        "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sunday, 06-Nov-9x 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",          /* one space before the day */
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov 31 08:49:37 1994",
        "Sun Nov  x 08:49:37 1994",
        "Sun, 06 Nov 1994 08:49:37 GMT\n",
        "Wednesday,",
        "2026-11-24T15:35:24Z",
        "120",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t t = 12345;
        if (http(bad[i], &t) != -1)
            fail_msg("accepted: \"%s\"", bad[i]);
        assert_true(t == 12345);
    }
    /* Truncated: every prefix of a good date is bad. */
    const char *good = "Sun, 06 Nov 1994 08:49:37 GMT";
    for (size_t n = 0; n < strlen(good); n++) {
        int64_t t;
        assert_int_equal(fl_http_date_parse(good, n, &t), -1);
    }
}

/* ---- Retry-After -------------------------------------------------------- */

static int64_t ra_ok(const char *s, int64_t now)
{
    int64_t d = -77;
    if (fl_retry_after_ms(s, strlen(s), now, &d) != 0)
        fail_msg("rejected: \"%s\"", s);
    assert_true(d >= 0);
    return d;
}

static void ra_bad(const char *s)
{
    int64_t d = -77;
    if (fl_retry_after_ms(s, strlen(s), 0, &d) != -1)
        fail_msg("accepted: \"%s\"", s);
    assert_true(d == -77);
}

static void test_retry_after_delta(void **state)
{
    (void)state;
    assert_true(ra_ok("120", 0) == 120000);
    assert_true(ra_ok("0", 0) == 0);
    assert_true(ra_ok("007", 0) == 7000);
    assert_true(ra_ok("1.5", 0) == 1500);
    assert_true(ra_ok("0.25", 0) == 250);
    assert_true(ra_ok("2.125", 0) == 2125);
    assert_true(ra_ok("1.0001", 0) == 1001); /* rounded up, never early */
    assert_true(ra_ok("0.0004", 0) == 1);
    assert_true(ra_ok("3.000000", 0) == 3000);
    assert_true(ra_ok("  30\t", 0) == 30000); /* optional whitespace */
    /* Too large to represent: 2^31 seconds (RFC 9110 1.2.2). */
    assert_true(ra_ok("2147483648", 0) == 2147483648000LL);
    assert_true(ra_ok("99999999999999999999999999", 0) == 2147483648000LL);
    assert_true(ra_ok("99999999999999999999.999", 0) == 2147483648000LL);
    /* Independent of now. */
    assert_true(ra_ok("5", 1795534524000LL) == 5000);
}

static void test_retry_after_date(void **state)
{
    (void)state;
    int64_t date_ms = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_true(ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", date_ms - 30000) == 30000);
    assert_true(ra_ok("Sunday, 06-Nov-94 08:49:37 GMT", date_ms - 1) == 1);
    assert_true(ra_ok("Sun Nov  6 08:49:37 1994", date_ms - 2500) == 2500);
    assert_true(ra_ok(" Sun, 06 Nov 1994 08:49:37 GMT ", date_ms - 1000) == 1000);
    /* Now, and past dates: retry at once. */
    assert_true(ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", date_ms) == 0);
    assert_true(ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", date_ms + 86400000) == 0);
    assert_true(ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MAX) == 0);
    /* A "now" absurdly far in the past does not overflow. */
    assert_true(ra_ok("Sun, 06 Nov 1994 08:49:37 GMT", INT64_MIN) > 0);
}

static void test_retry_after_bad(void **state)
{
    (void)state;
    ra_bad("");
    ra_bad("   ");
    ra_bad("-1");
    ra_bad("-0");
    ra_bad("+5");
    ra_bad("1.");
    ra_bad(".5");
    ra_bad("1.5.2");
    ra_bad("1,5");
    ra_bad("12abc");
    ra_bad("12 34");
    ra_bad("1e3");
    ra_bad("0x10");
    ra_bad("abc");
    ra_bad("soon");
    ra_bad("Sun, 31 Nov 1994 08:49:37 GMT");
    ra_bad("Sun, 06 Nov 1994 08:49:37");
    ra_bad("2026-11-24T15:35:24Z"); /* RFC 3339 is not an HTTP-date */
    int64_t d = -77;
    /* The length is what counts. */
    assert_int_equal(fl_retry_after_ms("12x", 2, 0, &d), 0);
    assert_true(d == 12000);
    assert_int_equal(fl_retry_after_ms("1\0" "2", 3, 0, &d), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_known_answer),
        cmocka_unit_test(test_rng_seeding),
        cmocka_unit_test(test_rng_unit),
        cmocka_unit_test(test_rng_range_edges),
        cmocka_unit_test(test_rng_range_uniform),
        cmocka_unit_test(test_id_clock),
        cmocka_unit_test(test_uuid7_layout),
        cmocka_unit_test(test_uuid7_order_and_uniqueness),
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_rfc3339_values),
        cmocka_unit_test(test_rfc3339_leap_years),
        cmocka_unit_test(test_rfc3339_agrees_with_timegm),
        cmocka_unit_test(test_rfc3339_ranges),
        cmocka_unit_test(test_rfc3339_malformed),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_http_date_forms),
        cmocka_unit_test(test_http_date_two_digit_years),
        cmocka_unit_test(test_http_date_bad),
        cmocka_unit_test(test_retry_after_delta),
        cmocka_unit_test(test_retry_after_date),
        cmocka_unit_test(test_retry_after_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
