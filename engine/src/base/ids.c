/*
 * ids.c -- the engine's random stream and event ids.  Each context owns an
 * fl_rng (xoshiro256**): backoff jitter and sampling need fast, decent
 * randomness without locks or global state, not cryptographic strength.
 * Event ids are RFC 9562 UUIDv7 so that they sort by creation time: a 48-bit
 * millisecond timestamp, the version and variant bits, and 74 random bits
 * taken from the caller's stream.
 */
#include "util.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* splitmix64 step: turns any 64-bit input (even 0 or a counter) into a
 * well-mixed word; the xoshiro authors recommend it for seeding. */
uint64_t fl_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Entropy when getrandom() is unavailable (old kernel, seccomp): the clocks
 * differ between calls and processes, the addresses differ under ASLR and
 * between contexts, the pid between processes. */
static uint64_t weak_entropy(const fl_rng *r)
{
    struct timespec rt = {0}, mt = {0};
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    uint64_t x = (uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec;
    uint64_t m = 0;
    m ^= fl_splitmix64(&x);
    x ^= (uint64_t)mt.tv_sec * 1000000000ULL + (uint64_t)mt.tv_nsec;
    m ^= rotl(fl_splitmix64(&x), 17);
    x ^= (uint64_t)(uintptr_t)r ^ ((uint64_t)(uintptr_t)&m << 32);
    m ^= rotl(fl_splitmix64(&x), 31);
    x ^= (uint64_t)getpid();
    return m ^ fl_splitmix64(&x);
}

void fl_rng_seed(fl_rng *r, uint64_t seed)
{
    if (seed == 0) {
        uint64_t buf[4];
        ssize_t got = getrandom(buf, sizeof buf, GRND_NONBLOCK);
        if (got == (ssize_t)sizeof buf && (buf[0] | buf[1] | buf[2] | buf[3]) != 0) {
            memcpy(r->s, buf, sizeof buf);
            return;
        }
        seed = weak_entropy(r);
    }
    fl_rng_from(r, seed);
}

void fl_rng_from(fl_rng *r, uint64_t seed)
{
    /* splitmix64 of any seed cannot give four zero words, the one state
     * xoshiro must never be in. */
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = fl_splitmix64(&x);
}

uint64_t fl_rng_next(fl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double fl_rng_unit(fl_rng *r)
{
    /* The top 53 bits fill a double's mantissa exactly: every value is a
     * multiple of 2^-53 in [0, 1), never 1.0. */
    return (double)(fl_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t fl_rng_range(fl_rng *r, int64_t lo, int64_t hi)
{
    /* Work in unsigned arithmetic: hi - lo can exceed INT64_MAX. */
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
    if (span == 0) /* the whole int64 range: every draw is fair */
        return (int64_t)fl_rng_next(r);
    /* Rejection sampling: drop the lowest (2^64 mod span) values so the
     * remaining ones are a whole number of copies of [0, span). */
    uint64_t threshold = (0 - span) % span;
    uint64_t x;
    do {
        x = fl_rng_next(r);
    } while (x < threshold);
    /* Conversion back wraps modulo 2^64 (GCC and Clang define it so). */
    return (int64_t)((uint64_t)lo + x % span);
}

static void put_hex(char *out, const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 0x0F];
    }
}

void fl_uuid7(fl_rng *r, int64_t unix_ms, char out[37])
{
    /* Times before the epoch cannot be represented; 48 bits last until
     * the year 10889, after which the field wraps as RFC 9562 allows. */
    uint64_t ms = unix_ms < 0 ? 0 : (uint64_t)unix_ms & 0xFFFFFFFFFFFFULL;
    uint64_t a = fl_rng_next(r), b = fl_rng_next(r);
    uint8_t u[16];
    for (int i = 0; i < 6; i++)
        u[i] = (uint8_t)(ms >> (40 - 8 * i));
    for (int i = 0; i < 2; i++)
        u[6 + i] = (uint8_t)(a >> (56 - 8 * i));
    for (int i = 0; i < 8; i++)
        u[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    u[6] = (uint8_t)(0x70 | (u[6] & 0x0F)); /* version 7 */
    u[8] = (uint8_t)(0x80 | (u[8] & 0x3F)); /* variant 10 */

    put_hex(out, u, 4);
    out[8] = '-';
    put_hex(out + 9, u + 4, 2);
    out[13] = '-';
    put_hex(out + 14, u + 6, 2);
    out[18] = '-';
    put_hex(out + 19, u + 8, 2);
    out[23] = '-';
    put_hex(out + 24, u + 10, 6);
    out[36] = '\0';
}
