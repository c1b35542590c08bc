/*
 * utf8.c -- UTF-8 checks for text that crosses the engine's boundary: event
 * fields and policy strings are validated before they reach JSON output or
 * Lua, and length caps on user messages are applied with fl_utf8_cut so a
 * truncated message never ends in half a character.  Validation follows
 * RFC 3629 (the well-formed byte sequences of Unicode table 3-7): overlong
 * encodings, UTF-16 surrogates, code points above U+10FFFF and truncated
 * sequences are all rejected.
 */
#include "util.h"

#include <stdint.h>
#include <string.h>

/* Length of a well-formed sequence starting at s[0..n) (n >= 1), or 0. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    /* The second byte's allowed range depends on the lead byte: this is
     * what excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4). */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0; /* 80..C1 (continuation or overlong lead), F5..FF */
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

int fl_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        /* ASCII dominates error messages: keep its path short, eight
         * bytes at a time. */
        if (p[i] < 0x80) {
            i++;
            for (uint64_t x; i + 8 <= len; i += 8) {
                memcpy(&x, p + i, 8);
                if (x & 0x8080808080808080ull) break;
            }
            continue;
        }
        size_t k = seq_len(p + i, len - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

size_t fl_utf8_cut(const char *s, size_t len, size_t max)
{
    if (max >= len)
        return len;
    /* s[max] is the first byte left out; if it is a continuation byte the
     * character it belongs to started earlier and must go too. */
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}
