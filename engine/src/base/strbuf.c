/*
 * strbuf.c -- the growable byte buffer the engine uses to build JSON, user
 * messages and diagnostics.  The contents are always NUL-terminated so they
 * can be handed to C string APIs directly, capacity grows geometrically so
 * appending n bytes costs amortised O(n), and every failure path leaves the
 * buffer exactly as it was, so a caller can report the error and still use
 * (or free) what it had built.
 */
#include "util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Smallest allocation: avoids a string of tiny reallocs for short texts. */
#define SB_MIN_CAP 64

int fl_sb_reserve(fl_strbuf *sb, size_t extra)
{
    /* Room needed: current contents, the extra bytes and the NUL. */
    if (extra > SIZE_MAX - 1 - sb->len)
        return -1;
    size_t need = sb->len + extra + 1;
    if (sb->data != NULL && need <= sb->cap)
        return 0;

    size_t cap = sb->cap < SB_MIN_CAP ? SB_MIN_CAP : sb->cap;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) { /* doubling would overflow: take exactly what is needed */
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(sb->data, cap);
    if (p == NULL)
        return -1;
    if (sb->data == NULL)
        p[0] = '\0'; /* a fresh buffer must read as "" */
    sb->data = p;
    sb->cap = cap;
    return 0;
}

int fl_sb_append(fl_strbuf *sb, const char *s, size_t n)
{
    /* s may point into the buffer itself (appending a copy of part of
     * it); growing can move the buffer, so remember s as an offset. */
    uintptr_t base = (uintptr_t)sb->data, at = (uintptr_t)s;
    int inside = sb->data != NULL && at >= base && at < base + sb->cap;
    size_t off = inside ? (size_t)(at - base) : 0;
    if (fl_sb_reserve(sb, n) != 0)
        return -1;
    if (inside)
        s = sb->data + off;
    if (n > 0)
        memmove(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
    return 0;
}

int fl_sb_puts(fl_strbuf *sb, const char *s)
{
    return fl_sb_append(sb, s, strlen(s));
}

int fl_sb_putc(fl_strbuf *sb, char c)
{
    if (sb->data && sb->cap - sb->len >= 2) { /* room for c and the NUL: no call */
        sb->data[sb->len++] = c;
        sb->data[sb->len] = '\0';
        return 0;
    }
    return fl_sb_append(sb, &c, 1);
}

int fl_sb_printf(fl_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_list ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);

    /* First try to format into the spare room; most calls fit. */
    size_t room = sb->data != NULL ? sb->cap - sb->len : 0;
    char *dst = sb->data != NULL ? sb->data + sb->len : NULL;
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        if (sb->data != NULL)
            sb->data[sb->len] = '\0'; /* a failed vsnprintf may have written */
        return -1;
    }
    if ((size_t)n >= room) {
        /* Did not fit: grow and format again.  On failure the old
         * contents are intact because vsnprintf only wrote past len. */
        if (fl_sb_reserve(sb, (size_t)n) != 0) {
            va_end(ap2);
            if (sb->data != NULL)
                sb->data[sb->len] = '\0';
            return -1;
        }
        vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap2);
    }
    va_end(ap2);
    sb->len += (size_t)n;
    return 0;
}

void fl_sb_clear(fl_strbuf *sb)
{
    sb->len = 0;
    if (sb->data != NULL)
        sb->data[0] = '\0';
}

void fl_sb_free(fl_strbuf *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->len = 0;
    sb->cap = 0;
}

const char *fl_sb_cstr(const fl_strbuf *sb)
{
    return sb->data != NULL ? sb->data : "";
}
