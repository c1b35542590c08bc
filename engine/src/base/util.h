/*
 * util.h -- small internal building blocks shared by the engine modules:
 * growable string buffers (strbuf.c), UTF-8 checks (utf8.c), the random
 * stream and event ids (ids.c), time parsing and formatting (timefmt.c) and
 * message fingerprints (fingerprint.c).  Nothing here is public API.
 *
 * None of these functions keep global state; none allocate except strbuf.
 */
#ifndef FL_UTIL_H
#define FL_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- strbuf.c: growable byte buffer, always NUL-terminated -------------- */
typedef struct fl_strbuf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} fl_strbuf;

/* All return 0, or -1 on allocation failure (buffer unchanged). */
int fl_sb_reserve(fl_strbuf *sb, size_t extra);
int fl_sb_append(fl_strbuf *sb, const char *s, size_t n);
int fl_sb_puts(fl_strbuf *sb, const char *s);
int fl_sb_putc(fl_strbuf *sb, char c);
int fl_sb_printf(fl_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_sb_clear(fl_strbuf *sb); /* len = 0, keeps memory */
void fl_sb_free(fl_strbuf *sb);
/* Pointer to the contents ("" when empty, never NULL). */
const char *fl_sb_cstr(const fl_strbuf *sb);

/* ---- utf8.c ------------------------------------------------------------- */
/* 1 if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int fl_utf8_valid(const char *s, size_t len);
/* Largest n <= max such that s[0..n) ends on a character boundary.
 * Assumes s is valid UTF-8. */
size_t fl_utf8_cut(const char *s, size_t len, size_t max);

/* ---- ids.c: random stream and ids -------------------------------------- */
/* xoshiro256** -- fast, good quality, NOT for secrets. */
typedef struct fl_rng {
    uint64_t s[4];
} fl_rng;
/* seed 0 means: seed from getrandom()/time. */
void fl_rng_seed(fl_rng *r, uint64_t seed);
/* The stream of exactly this seed, 0 included (a decision's jitter seed:
 * the same seed must give the same draws on any context). */
void fl_rng_from(fl_rng *r, uint64_t seed);
/* One splitmix64 step: *x advances, the result is a well-mixed word. */
uint64_t fl_splitmix64(uint64_t *x);
uint64_t fl_rng_next(fl_rng *r);
/* Uniform double in [0, 1). */
double fl_rng_unit(fl_rng *r);
/* Uniform integer in [lo, hi] (hi >= lo). */
int64_t fl_rng_range(fl_rng *r, int64_t lo, int64_t hi);
/* RFC 9562 UUIDv7 text (36 chars + NUL) for the given Unix time in ms. */
void fl_uuid7(fl_rng *r, int64_t unix_ms, char out[37]);

/* ---- timefmt.c --------------------------------------------------------- */
/* Wall clock, ms since the epoch. */
int64_t fl_now_ms(void);
/* The clock decision ids are stamped with: the kernel's tick-updated
 * CLOCK_REALTIME_COARSE when it ticks at least every FL_ID_CLOCK_RES_MS
 * (a read of a shared page: ~5 ns against ~24 ns for CLOCK_REALTIME on the
 * bench VM, once per decision), else CLOCK_REALTIME.  Asked once per
 * context; fl_clock_ms reads it (ms since the epoch, 0 on failure). */
#define FL_ID_CLOCK_RES_MS 4
int fl_id_clock(void);
int64_t fl_clock_ms(int clock);
/* Monotonic clock, ns. */
uint64_t fl_mono_ns(void);
/* Parse RFC 3339 ("2026-11-24T15:35:24.123Z", "+01:00" offsets, lower-case
 * t/z accepted).  0 on success, -1 if malformed or out of range. */
int fl_rfc3339_parse(const char *s, size_t len, int64_t *unix_ms);
/* Format as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 chars + NUL). */
void fl_rfc3339_format(int64_t unix_ms, char out[32]);
/* Parse an IMF-fixdate / RFC 850 / asctime HTTP-date.  0 or -1. */
int fl_http_date_parse(const char *s, size_t len, int64_t *unix_s);
/* A Retry-After value: delta seconds ("120", "1.5") or an HTTP-date relative
 * to now_ms.  0 with *delay_ms >= 0 on success (a date in the past gives 0);
 * -1 if it is neither. */
int fl_retry_after_ms(const char *s, size_t len, int64_t now_ms, int64_t *delay_ms);

/* ---- fingerprint.c ----------------------------------------------------- */
/*
 * Normalise an error message so that the same failure groups together:
 * numbers, hex runs (0x..., >= 8 hex digits), UUIDs, IPv4/IPv6 addresses and
 * ports, quoted values ('...', "...", `...`), absolute and relative paths,
 * e-mail addresses, URLs' hosts, and timestamps are each replaced by a
 * placeholder (<n> <hex> <uuid> <ip> <str> <path> <email> <url> <ts>);
 * whitespace runs fold to one space; ASCII is lower-cased.  Writes at most
 * cap-1 bytes and a NUL; returns the length written.
 */
size_t fl_fp_normalize(const char *msg, size_t len, char *out, size_t cap);
/* 16 lower-case hex digits: XXH3-64 of category, domain, code, op and the
 * normalised message (any of them may be NULL). */
void fl_fingerprint(const char *category, const char *domain, const char *code,
                    const char *op, const char *msg, size_t msg_len, char out[17]);
/* The same with the lengths of category, domain, code and op known (the
 * decide path has them): parts[k] NULL or plen[k] bytes without a NUL. */
void fl_fingerprint_n(const char *const parts[4], const size_t plen[4], const char *msg, size_t msg_len,
                      char out[17]);

/* ---- JSON strings: the plain-text scan -------------------------------- */
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Does any of the 8 bytes in x need attention: a control character, '"',
 * '\\' or a non-ASCII byte?  (SWAR: the classic has-less/has-zero tricks.) */
static inline uint64_t fl_json_special8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    return ((x - ones * 0x20) | (q - ones) | (b - ones) | x) & high;
}

/* Length of the leading run of p[0..n) that a JSON string can hold as it
 * is: no control character, '"', '\\' or non-ASCII byte (core/decision.c's
 * writer, engine/declog.c's lines). */
static inline size_t fl_json_plain_run(const unsigned char *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    if (n >= 16) { /* 16 bytes a step; as signed bytes, controls and non-ASCII are < 0x20 */
        const __m128i sp = _mm_set1_epi8(0x20), q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\');
#define FL_SPECIAL16(at)                                                                                   \
    ({                                                                                                     \
        __m128i x_ = _mm_loadu_si128((const __m128i *)(const void *)(p + (at)));                           \
        (unsigned)_mm_movemask_epi8(                                                                       \
            _mm_or_si128(_mm_cmplt_epi8(x_, sp), _mm_or_si128(_mm_cmpeq_epi8(x_, q), _mm_cmpeq_epi8(x_, bs)))); \
    })
        for (; i + 16 <= n; i += 16) {
            unsigned bits = FL_SPECIAL16(i);
            if (bits) return i + (size_t)__builtin_ctz(bits);
        }
        if (i < n) { /* the tail: the last 16 bytes, overlapping what was checked */
            unsigned bits = FL_SPECIAL16(n - 16) >> (16 - (n - i));
            return bits ? i + (size_t)__builtin_ctz(bits) : n;
        }
#undef FL_SPECIAL16
        return n;
    }
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        if (fl_json_special8(x)) break;
    }
    if (i >= 8 && i < n && i + 8 > n) { /* the loop ran out (did not stop): the last 8 bytes, overlapping */
        uint64_t x;
        memcpy(&x, p + n - 8, 8);
        if (!fl_json_special8(x)) return n;
    }
    for (; i < n; i++)
        if (p[i] < 0x20 || p[i] == '"' || p[i] == '\\' || p[i] >= 0x80) break;
    return i;
}

#endif /* FL_UTIL_H */
