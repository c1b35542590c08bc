/*
 * event_fast.c -- the fast path of the event JSON reader.  One pass over the
 * text straight into the event, no intermediate tree: a 1 MiB line with
 * 100,000 tags is read in a few milliseconds (jansson builds and frees a
 * node per key and value, which costs ~100 ms for such a line).
 *
 * It accepts only what the full reader (event.c, jansson) accepts and
 * produces exactly the same event; anything else -- a syntax error, a
 * wrong type, an out-of-range number, a duplicate or unknown key, \u0000,
 * a cause nested too deep, an array -- makes it give up, and the caller
 * reads the text again with the full reader, which reports the precise
 * error (or the unknown-key warning) as before.  So error texts, columns
 * and statuses never depend on this file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core.h"

typedef struct jp {
    const char *p, *end;
    /* The decoded key and string value: a view of the text itself when the
     * string has no escape (the usual case: nothing copied), else of key or
     * val, where the escapes were decoded. */
    const char *ks, *vs;
    size_t kl, vl;
    fl_strbuf key, val;
} jp;

#define GIVE_UP (-1)

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int hex4(const char *q, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = q[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static int put_utf8(fl_strbuf *sb, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F)),
        n = 3;
    else
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    return fl_sb_append(sb, b, n);
}

/* A JSON string at j->p, decoded into sb (valid UTF-8, no NUL). */
/* The end of the run at q that a string copies as it is: up to the first
 * '"', '\\' or control character, or end.  Sixteen bytes a step where SSE2
 * is there (x86-64 always). */
static inline const char *plain_end(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1F);
    while (end - q >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bs)),
                                 _mm_cmpeq_epi8(_mm_min_epu8(x, ctl), x)); /* x <= 0x1F, unsigned */
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits) return q + __builtin_ctz(bits);
        q += 16;
    }
#endif
    while (q < end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20) q++;
    return q;
}

static int str(jp *j, fl_strbuf *sb, const char **out, size_t *outlen)
{
    if (j->p >= j->end || *j->p != '"') return GIVE_UP;
    const char *q = ++j->p, *e = plain_end(q, j->end);
    if (e < j->end && *e == '"') { /* no escape: the text itself */
        *out = q;
        *outlen = (size_t)(e - q);
        j->p = e + 1;
        return fl_utf8_valid(q, *outlen) ? 0 : GIVE_UP;
    }
    fl_sb_clear(sb);
    for (;;) {
        const char *run = q;
        q = plain_end(q, j->end);
        if (q > run && fl_sb_append(sb, run, (size_t)(q - run)) != 0) return GIVE_UP;
        if (q >= j->end || (unsigned char)*q < 0x20) return GIVE_UP;
        if (*q == '"') break;
        if (++q >= j->end) return GIVE_UP; /* the escaped character */
        char c = *q++, dec;
        unsigned cp, lo;
        switch (c) {
        case '"': case '\\': case '/': dec = c; break;
        case 'b': dec = '\b'; break;
        case 'f': dec = '\f'; break;
        case 'n': dec = '\n'; break;
        case 'r': dec = '\r'; break;
        case 't': dec = '\t'; break;
        case 'u':
            if (j->end - q < 4 || hex4(q, &cp) != 0) return GIVE_UP;
            q += 4;
            if (cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF)) return GIVE_UP;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (j->end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) != 0 || lo < 0xDC00 ||
                    lo > 0xDFFF)
                    return GIVE_UP;
                q += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (put_utf8(sb, cp) != 0) return GIVE_UP;
            continue;
        default: return GIVE_UP;
        }
        if (fl_sb_putc(sb, dec) != 0) return GIVE_UP;
    }
    j->p = q + 1;
    *out = fl_sb_cstr(sb);
    *outlen = sb->len;
    return fl_utf8_valid(*out, *outlen) ? 0 : GIVE_UP;
}

/* A JSON number: *is_int, and its value (integers exactly, as jansson reads
 * them: long long; reals with strtod). */
static int number(jp *j, int *is_int, long long *iv, double *dv)
{
    const char *s = j->p, *q = s;
    if (q < j->end && *q == '-') q++;
    if (q >= j->end || *q < '0' || *q > '9') return GIVE_UP;
    if (*q == '0') q++;
    else while (q < j->end && *q >= '0' && *q <= '9') q++;
    *is_int = 1;
    if (q < j->end && *q == '.') {
        *is_int = 0;
        if (++q >= j->end || *q < '0' || *q > '9') return GIVE_UP;
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < j->end && (*q == 'e' || *q == 'E')) {
        *is_int = 0;
        if (++q < j->end && (*q == '+' || *q == '-')) q++;
        if (q >= j->end || *q < '0' || *q > '9') return GIVE_UP;
        while (q < j->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - s);
    char buf[64];
    if (n >= sizeof buf || (*is_int && n > 18)) return GIVE_UP; /* long: let jansson judge */
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (*is_int) {
        *iv = strtoll(buf, NULL, 10);
        *dv = (double)*iv;
    } else {
        *dv = strtod(buf, NULL);
        if (!isfinite(*dv)) return GIVE_UP;
    }
    j->p = q;
    return 0;
}

static int literal(jp *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return GIVE_UP;
    j->p += n;
    return 0;
}

/* A scalar value: kind 's' string (j->vs, j->vl), 'i' integer, 'r' real,
 * 't'/'f' booleans, 'n' null.  Objects and arrays give up. */
static int scalar(jp *j, char *kind, long long *iv, double *dv)
{
    if (j->p >= j->end) return GIVE_UP;
    switch (*j->p) {
    case '"': *kind = 's'; return str(j, &j->val, &j->vs, &j->vl);
    case 't': *kind = 't'; return literal(j, "true");
    case 'f': *kind = 'f'; return literal(j, "false");
    case 'n': *kind = 'n'; return literal(j, "null");
    default: {
        int is_int;
        if (number(j, &is_int, iv, dv) != 0) return GIVE_UP;
        *kind = is_int ? 'i' : 'r';
        return 0;
    }
    }
}

/* Iterate an object's members: call at '{'; each call to next() leaves
 * j->key filled and j->p at the value; returns 1 per member, 0 at '}'. */
static int obj_open(jp *j)
{
    ws(j);
    if (j->p >= j->end || *j->p != '{') return GIVE_UP;
    j->p++;
    return 0;
}

static int obj_next(jp *j, int first)
{
    ws(j);
    if (j->p >= j->end) return GIVE_UP;
    if (*j->p == '}') {
        j->p++;
        return 0;
    }
    if (!first) {
        if (*j->p != ',') return GIVE_UP;
        j->p++;
        ws(j);
    }
    if (str(j, &j->key, &j->ks, &j->kl) != 0) return GIVE_UP;
    ws(j);
    if (j->p >= j->end || *j->p != ':') return GIVE_UP;
    j->p++;
    ws(j);
    return 1;
}

static int tags(jp *j, fl_event_t *ev)
{
    if (obj_open(j) != 0) return GIVE_UP;
    for (int first = 1;; first = 0) {
        int r = obj_next(j, first);
        if (r <= 0) return r;
        char kind, buf[64];
        long long iv = 0;
        double dv = 0;
        if (scalar(j, &kind, &iv, &dv) != 0) return GIVE_UP;
        const char *k = j->ks;
        size_t kl = j->kl;
        if (fl_event_tag_index(ev, k, kl) >= 0) return GIVE_UP; /* duplicate: jansson reports it */
        const char *v = buf;
        size_t vl;
        switch (kind) {
        case 'n': continue;
        case 's': v = j->vs, vl = j->vl; break;
        case 't': v = "true", vl = 4; break;
        case 'f': v = "false", vl = 5; break;
        case 'i': vl = (size_t)snprintf(buf, sizeof buf, "%lld", iv); break;
        default: vl = (size_t)snprintf(buf, sizeof buf, "%.17g", dv); break;
        }
        if (fl_event_put_tag(ev, k, kl, v, vl) != FL_OK) return GIVE_UP;
    }
}

/* v in decimal, written backwards ending at end (printf's "%lld"). */
static const char *fmt_int(char *end, long long v, size_t *n)
{
    char *t = end;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do *--t = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--t = '-';
    *n = (size_t)(end - t);
    return t;
}

static int event_obj(jp *j, fl_event_t *ev, int depth)
{
#define FLD(s, f) {s, sizeof s - 1, f}
    static const struct { const char *name; size_t len; int f; } fields[] = {
        FLD("id", FL_FIELD_ID), FLD("time", FL_FIELD_TIME), FLD("domain", FL_FIELD_DOMAIN),
        FLD("message", FL_FIELD_MESSAGE), FLD("op", FL_FIELD_OP), FLD("stack", FL_FIELD_STACK),
        FLD("code", FL_FIELD_CODE), FLD("attempt", -1), FLD("elapsed_ms", -2), FLD("tags", -3), FLD("cause", -4),
    };
#undef FLD
    enum { NFIELDS = sizeof fields / sizeof *fields };
    unsigned seen = 0;
    if (obj_open(j) != 0) return GIVE_UP;
    for (int first = 1;; first = 0) {
        int r = obj_next(j, first);
        if (r <= 0) return r;
        int w = -1;
        for (int i = 0; i < NFIELDS && w < 0; i++)
            if (j->kl == fields[i].len && memcmp(j->ks, fields[i].name, j->kl) == 0) w = i;
        if (w < 0 || (seen & (1u << w))) return GIVE_UP; /* unknown or duplicate key */
        seen |= 1u << w;
        int f = fields[w].f;
        if (f == -3 || f == -4) { /* objects (or null) */
            if (j->p < j->end && *j->p == 'n') {
                if (literal(j, "null") != 0) return GIVE_UP;
                continue;
            }
            if (f == -3) {
                if (tags(j, ev) != 0) return GIVE_UP;
                continue;
            }
            fl_event_free(ev->cause); /* a reused event may still hold one */
            ev->cause = NULL;
            if (depth >= FL_MAX_CAUSE_DEPTH || fl_event_new(&ev->cause) != FL_OK) return GIVE_UP;
            if (event_obj(j, ev->cause, depth + 1) != 0) return GIVE_UP;
            continue;
        }
        char kind, buf[64];
        long long iv = 0;
        double dv = 0;
        if (scalar(j, &kind, &iv, &dv) != 0) return GIVE_UP;
        if (kind == 'n') continue;
        if (f == -1) { /* attempt: an integer >= 1, at most 1e9 */
            if ((kind != 'i' && kind != 'r') || !(dv >= 1 && dv <= 1e9) || dv != floor(dv)) return GIVE_UP;
            ev->attempt = (int)dv;
        } else if (f == -2) { /* elapsed_ms */
            if ((kind != 'i' && kind != 'r') || !(dv >= 0 && dv <= FL_MAX_ELAPSED_MS)) return GIVE_UP;
            ev->elapsed_ms = dv;
            ev->has_elapsed = 1;
        } else if (f == FL_FIELD_CODE) {
            const char *s = buf;
            size_t n;
            if (kind == 's') s = j->vs, n = j->vl;
            else if (kind == 'i') s = fmt_int(buf + sizeof buf, iv, &n);
            else if (kind == 'r' && dv == floor(dv) && fabs(dv) <= 9e15) n = (size_t)snprintf(buf, sizeof buf, "%.0f", dv);
            else return GIVE_UP;
            if (fl_event_put_field(ev, FL_FIELD_CODE, s, n) != FL_OK) return GIVE_UP;
        } else {
            if (kind != 's') return GIVE_UP;
            int64_t ms;
            if (f == FL_FIELD_TIME && fl_rfc3339_parse(j->vs, j->vl, &ms) != 0) return GIVE_UP;
            if (fl_event_put_field(ev, (fl_field)f, j->vs, j->vl) != FL_OK) return GIVE_UP;
        }
    }
}

int fl_event_fast_json(fl_event_t *ev, const char *json, size_t len)
{
    jp j = {.p = json, .end = json + len};
    int rc = event_obj(&j, ev, 0);
    if (rc == 0) {
        ws(&j);
        if (j.p != j.end) rc = GIVE_UP;
    }
    fl_sb_free(&j.key);
    fl_sb_free(&j.val);
    return rc == 0 ? FL_OK : FL_EPARSE;
}
