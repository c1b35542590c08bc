/*
 * timefmt.c -- the clocks and the time formats the engine meets: the wall
 * clock for event times and Retry-After dates, the monotonic clock for
 * budgets and benchmarks, RFC 3339 for event `time` fields and decision
 * output, and the three HTTP-date forms of RFC 9110 for Retry-After headers.
 * Calendar arithmetic is done here (days from a proleptic Gregorian date)
 * rather than with timegm/gmtime so that parsing is pure, thread-safe and
 * independent of the process's TZ and locale.
 */
#include "util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MS_PER_DAY 86400000LL

int fl_id_clock(void)
{
#ifdef CLOCK_REALTIME_COARSE
    struct timespec res;
    if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0 && res.tv_sec == 0 &&
        res.tv_nsec <= FL_ID_CLOCK_RES_MS * 1000000L)
        return CLOCK_REALTIME_COARSE;
#endif
    return CLOCK_REALTIME;
}

int64_t fl_clock_ms(int clock)
{
    struct timespec ts;
    if (clock_gettime((clockid_t)clock, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fl_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t fl_mono_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- calendar ----------------------------------------------------------- */

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const unsigned char dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date.  Counting years
 * from March puts the leap day last, so a month's first day-of-year is a
 * linear formula; 400-year eras make it exact for negative years too. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                               /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;       /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- small scanners ----------------------------------------------------- */

/* The value of exactly n ASCII digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Seconds since the epoch of a validated UTC date and time.  Second 60 is
 * a leap second; POSIX time has no such second, so it lands on the next
 * minute's :00, as timegm would do. */
static int civil_to_unix(int64_t y, int mo, int d, int h, int mi, int sec, int64_t *out)
{
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    return 0;
}

/* "HH:MM:SS" at s (8 bytes available). */
static int parse_hms(const char *s, int *h, int *mi, int *sec)
{
    if (s[2] != ':' || s[5] != ':')
        return -1;
    *h = digits(s, 2);
    *mi = digits(s + 3, 2);
    *sec = digits(s + 6, 2);
    return (*h < 0 || *mi < 0 || *sec < 0) ? -1 : 0;
}

/* ---- RFC 3339 ----------------------------------------------------------- */

/* Fractional seconds after the '.', as milliseconds (extra digits are
 * truncated: RFC 3339 allows any precision).  Advances *i. */
static int parse_frac_ms(const char *s, size_t len, size_t *i, int *ms)
{
    size_t start = *i;
    int v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - start < 3)
            v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    size_t n = *i - start;
    if (n == 0)
        return -1;
    for (; n < 3; n++)
        v *= 10;
    *ms = v;
    return 0;
}

/* "Z", "z" or "+HH:MM" / "-HH:MM" filling the rest of the string: the
 * offset in seconds east of UTC. */
static int parse_offset(const char *s, size_t len, int64_t *off_s)
{
    if (len == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *off_s = 0;
        return 0;
    }
    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return -1;
    int h = digits(s + 1, 2), m = digits(s + 4, 2);
    if (h < 0 || h > 23 || m < 0 || m > 59)
        return -1;
    *off_s = (s[0] == '-' ? -1 : 1) * (int64_t)(h * 3600 + m * 60);
    return 0;
}

int fl_rfc3339_parse(const char *s, size_t len, int64_t *unix_ms)
{
    /* YYYY-MM-DDTHH:MM:SS is 19 bytes; the shortest offset ("Z") makes 20. */
    if (len < 20 || s[4] != '-' || s[7] != '-')
        return -1;
    /* RFC 3339 5.6 permits a space instead of the T; some systems emit it. */
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return -1;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h, mi, sec;
    if (y < 0 || mo < 0 || d < 0 || parse_hms(s + 11, &h, &mi, &sec) != 0)
        return -1;
    size_t i = 19;
    int ms = 0;
    if (s[i] == '.') {
        i++;
        if (parse_frac_ms(s, len, &i, &ms) != 0)
            return -1;
    }
    int64_t off, t;
    if (i >= len || parse_offset(s + i, len - i, &off) != 0)
        return -1;
    if (civil_to_unix(y, mo, d, h, mi, sec, &t) != 0)
        return -1;
    *unix_ms = (t - off) * 1000 + ms;
    return 0;
}

void fl_rfc3339_format(int64_t unix_ms, char out[32])
{
    /* Floor division so that times before 1970 format correctly. */
    int64_t days = unix_ms / MS_PER_DAY, rem = unix_ms % MS_PER_DAY;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int ms = (int)(rem % 1000), s = (int)(rem / 1000 % 60);
    int mi = (int)(rem / 60000 % 60), h = (int)(rem / 3600000);
    /* Years outside 0..9999 are not RFC 3339; they still print in full
     * (at most 27 bytes) rather than being silently wrapped. */
    snprintf(out, 32, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, h, mi, s,
             ms);
}

/* ---- HTTP-date (RFC 9110 5.6.7) ----------------------------------------- */

static const char *const k_months = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const char *const k_days[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                      "Friday", "Saturday", "Sunday"};

/* Month number 1..12 of a three-letter name (case-sensitive, as the
 * grammar says), or -1. */
static int month_of(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(s, k_months + 3 * i, 3) == 0)
            return i + 1;
    return -1;
}

/* 1 if s[0..n) is a day name: the 3-letter form when full is 0.  The name
 * is checked but not matched against the date: senders that get the
 * weekday wrong still mean the date they wrote. */
static int is_day_name(const char *s, size_t n, int full)
{
    for (int i = 0; i < 7; i++) {
        size_t dl = full ? strlen(k_days[i]) : 3;
        if (n == dl && memcmp(s, k_days[i], dl) == 0)
            return 1;
    }
    return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int parse_imf(const char *s, size_t len, int64_t *t)
{
    if (len != 29 || !is_day_name(s, 3, 0) || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
        s[11] != ' ' || s[16] != ' ' || memcmp(s + 25, " GMT", 4) != 0)
        return -1;
    int d = digits(s + 5, 2), mo = month_of(s + 8), y = digits(s + 12, 4), h, mi, sec;
    if (d < 0 || mo < 0 || y < 0 || parse_hms(s + 17, &h, &mi, &sec) != 0)
        return -1;
    return civil_to_unix(y, mo, d, h, mi, sec, t);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT".  RFC 9110: a two-digit year more than
 * 50 years in the future means the most recent past year with those
 * digits -- so the answer depends on today's date. */
static int parse_rfc850(const char *s, size_t len, int64_t *t)
{
    const char *comma = memchr(s, ',', len < 10 ? len : 10);
    if (comma == NULL || !is_day_name(s, (size_t)(comma - s), 1))
        return -1;
    const char *p = comma + 1;
    if (len - (size_t)(p - s) != 23 || p[0] != ' ' || p[3] != '-' || p[7] != '-' ||
        p[10] != ' ' || memcmp(p + 19, " GMT", 4) != 0)
        return -1;
    int d = digits(p + 1, 2), mo = month_of(p + 4), yy = digits(p + 8, 2), h, mi, sec;
    if (d < 0 || mo < 0 || yy < 0 || parse_hms(p + 11, &h, &mi, &sec) != 0)
        return -1;
    int64_t now_days = fl_now_ms() / MS_PER_DAY, cy;
    int cm, cd;
    civil_from_days(now_days, &cy, &cm, &cd);
    int64_t y = cy - cy % 100 + yy;
    if (y > cy + 50)
        y -= 100;
    return civil_to_unix(y, mo, d, h, mi, sec, t);
}

/* "Sun Nov  6 08:49:37 1994" (the day is space-padded, or two digits) */
static int parse_asctime(const char *s, size_t len, int64_t *t)
{
    if (len != 24 || !is_day_name(s, 3, 0) || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' ||
        s[19] != ' ')
        return -1;
    int mo = month_of(s + 4);
    int d = s[8] == ' ' ? digits(s + 9, 1) : digits(s + 8, 2);
    int y = digits(s + 20, 4), h, mi, sec;
    if (mo < 0 || d < 0 || y < 0 || parse_hms(s + 11, &h, &mi, &sec) != 0)
        return -1;
    return civil_to_unix(y, mo, d, h, mi, sec, t);
}

int fl_http_date_parse(const char *s, size_t len, int64_t *unix_s)
{
    if (len < 24)
        return -1;
    /* The fourth byte tells the forms apart: ',' after a short day name
     * (IMF-fixdate), ' ' (asctime), a letter (RFC 850's full day name). */
    if (s[3] == ',')
        return parse_imf(s, len, unix_s);
    if (s[3] == ' ')
        return parse_asctime(s, len, unix_s);
    return parse_rfc850(s, len, unix_s);
}

/* ---- Retry-After -------------------------------------------------------- */

/* RFC 9110 1.2.2: a delta-seconds too large to represent counts as 2^31. */
#define DELTA_MAX_S 2147483648LL

/* "120" or "1.5" filling s[0..len): milliseconds, rounded up so that a
 * client never retries earlier than it was asked to. */
static int parse_delta_ms(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    int64_t sec = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        sec = sec * 10 + (s[i] - '0');
        if (sec > DELTA_MAX_S)
            sec = DELTA_MAX_S; /* saturate: later digits cannot shrink it */
        i++;
    }
    if (i == 0)
        return -1;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        size_t start = ++i;
        int round_up = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (i - start < 3)
                frac = frac * 10 + (s[i] - '0');
            else if (s[i] != '0')
                round_up = 1;
            i++;
        }
        if (i == start)
            return -1; /* "1." */
        for (size_t n = i - start; n < 3; n++)
            frac *= 10;
        frac += round_up;
    }
    if (i != len)
        return -1;
    int64_t v = sec * 1000 + frac;
    *ms = v > DELTA_MAX_S * 1000 ? DELTA_MAX_S * 1000 : v;
    return 0;
}

int fl_retry_after_ms(const char *s, size_t len, int64_t now_ms, int64_t *delay_ms)
{
    /* Header values may carry optional whitespace on either side. */
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0)
        return -1;
    if (s[0] >= '0' && s[0] <= '9')
        return parse_delta_ms(s, len, delay_ms);

    int64_t t;
    if (fl_http_date_parse(s, len, &t) != 0)
        return -1;
    int64_t d;
    if (__builtin_sub_overflow(t * 1000, now_ms, &d))
        d = now_ms < 0 ? INT64_MAX : 0; /* now is absurdly far from the date */
    *delay_ms = d < 0 ? 0 : d;
    return 0;
}
