/*
 * fingerprint.c -- stable group keys for errors.  Two occurrences of the same
 * failure rarely have the same text: hosts, ports, ids, paths, user names and
 * times differ.  fl_fp_normalize rewrites a message so those variable parts
 * become placeholders, and fl_fingerprint hashes the normalised message with
 * the decision's category, domain, code and op (XXH3-64).  The normaliser
 * runs on every decision, so it is a hand-written single-pass scanner: plain
 * text (most of a message) is classified and copied sixteen bytes at a time,
 * and only the bytes where a placeholder could start go through the rules,
 * which use a byte-class table.  No allocation, no regex, bounded output,
 * and look-ahead that never rescans the same bytes more than a constant
 * number of times, so hostile input costs linear time.
 */
#include "util.h"

#include <string.h>

/* XXH3_state_t's layout, to keep it on the stack; inlined: one short hash
 * per decision, where the library call is a measurable share. */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* ---- byte classes ------------------------------------------------------- */

enum {
    C_ALPHA = 1,   /* ASCII letter */
    C_DIGIT = 2,   /* ASCII digit */
    C_HEX = 4,     /* hex digit */
    C_SPACE = 8,   /* folded whitespace */
    C_TOK = 16,    /* part of a token (not a delimiter) */
    C_PATH = 32,   /* may appear in a path segment */
    C_WORD = 64,   /* inside a word: letter, digit or non-ASCII byte */
    C_UPPER = 128, /* ASCII upper case: lower-cased on output */
};
#define C_ALNUM (C_ALPHA | C_DIGIT)

#define NN 0
#define SP C_SPACE
#define TK C_TOK
#define PT (C_TOK | C_PATH)
#define HI (C_WORD | PT) /* bytes >= 0x80: parts of non-ASCII words */
#define DG (C_DIGIT | C_HEX | C_WORD | PT)
#define LO (C_ALPHA | C_WORD | PT)
#define LH (LO | C_HEX)
#define UP (LO | C_UPPER)
#define UH (LH | C_UPPER)
static const unsigned char k_cls[256] = {
    NN, NN, NN, NN, NN, NN, NN, NN, NN, SP, SP, SP, SP, SP, NN, NN,
    NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN, NN,
    SP, NN, NN, NN, NN, PT, NN, NN, NN, NN, NN, PT, NN, PT, PT, TK, /*  %+-./ */
    DG, DG, DG, DG, DG, DG, DG, DG, DG, DG, NN, NN, NN, NN, NN, NN,
    PT, UH, UH, UH, UH, UH, UH, UP, UP, UP, UP, UP, UP, UP, UP, UP, /* @A-O */
    UP, UP, UP, UP, UP, UP, UP, UP, UP, UP, UP, NN, TK, NN, NN, PT, /* P-Z \ _ */
    NN, LH, LH, LH, LH, LH, LH, LO, LO, LO, LO, LO, LO, LO, LO, LO,
    LO, LO, LO, LO, LO, LO, LO, LO, LO, LO, LO, NN, NN, NN, PT, NN, /* ~ */
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
    HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI, HI,
};
#undef NN
#undef SP
#undef TK
#undef PT
#undef HI
#undef DG
#undef LO
#undef LH
#undef UP
#undef UH

/* ---- scanner state ------------------------------------------------------ */

/* Per-token memory of look-aheads already done, so that no token is
 * rescanned by the same rule (that would make the scan quadratic). */
enum { TF_PATH = 1, TF_MAIL = 2 };

typedef struct fp_scan {
    const unsigned char *s;
    size_t len;
    char *out;
    size_t o, lim; /* bytes written; at most lim (= cap - 1) */
    int full;      /* an emit did not fit: stop */
    /* The current token: a maximal run of C_TOK bytes.  E-mail addresses
     * and relative paths are only recognised once their '@' or '/' is
     * reached, after their first part has been emitted; the token's start
     * lets that output be taken back. */
    size_t tok_in, tok_out;
    unsigned tok_flags;
    unsigned no_close; /* per quote kind: no closing quote further on */
} fp_scan;

/* The byte at i, or 0 past the end (0 is a delimiter, like the end). */
static inline unsigned char at(const fp_scan *f, size_t i)
{
    return i < f->len ? f->s[i] : 0;
}

static inline unsigned cls(const fp_scan *f, size_t i)
{
    return k_cls[at(f, i)];
}

static inline void emit(fp_scan *f, const char *p, size_t n)
{
    if (n > f->lim - f->o) {
        f->full = 1; /* placeholders are never cut in half */
        return;
    }
    memcpy(f->out + f->o, p, n);
    f->o += n;
}
#define EMIT(f, lit) emit((f), (lit), sizeof(lit) - 1)

/* Copies one byte, lower-cased; returns i + 1 (i when the output is full). */
static size_t literal(fp_scan *f, size_t i)
{
    unsigned char c = f->s[i];
    if (f->o >= f->lim) {
        f->full = 1;
        return i;
    }
    f->out[f->o++] = (char)((k_cls[c] & C_UPPER) ? c | 0x20 : c);
    return i + 1;
}

static size_t run_of(const fp_scan *f, size_t i, unsigned mask)
{
    size_t p = i;
    while (cls(f, p) & mask)
        p++;
    return p - i;
}

/* ---- recognisers: each returns the end of its match, or 0 --------------- */

/* 8-4-4-4-12 hex digits. */
static size_t match_uuid(const fp_scan *f, size_t i)
{
    static const unsigned char groups[5] = {8, 4, 4, 4, 12};
    size_t p = i;
    for (int g = 0; g < 5; g++) {
        if (run_of(f, p, C_HEX) != groups[g])
            return 0;
        p += groups[g];
        if (g < 4 && at(f, p++) != '-')
            return 0;
    }
    return p;
}

/* Exactly n digits at p, not followed by another digit. */
static int digits_at(const fp_scan *f, size_t p, size_t n)
{
    return run_of(f, p, C_DIGIT) == n;
}

/* "HH:MM", then optionally ":SS" and ".fraction" (required when need_sec). */
static size_t match_clock(const fp_scan *f, size_t p, int need_sec)
{
    if (!digits_at(f, p, 2) || at(f, p + 2) != ':' || !digits_at(f, p + 3, 2))
        return 0;
    size_t q = p + 5;
    if (at(f, q) == ':' && digits_at(f, q + 1, 2)) {
        q += 3;
        if (at(f, q) == '.' && (cls(f, q + 1) & C_DIGIT))
            q += 1 + run_of(f, q + 1, C_DIGIT);
    } else if (need_sec) {
        return 0;
    }
    return q;
}

/* "Z", "+HH:MM", "+HHMM", "+HH" after a time; returns p when absent. */
static size_t match_zone(const fp_scan *f, size_t p)
{
    unsigned char c = at(f, p);
    if (c == 'Z' || c == 'z')
        return p + 1;
    if ((c != '+' && c != '-') || !digits_at(f, p + 1, 2))
        return p;
    if (at(f, p + 3) == ':' && digits_at(f, p + 4, 2))
        return p + 6;
    if (digits_at(f, p + 3, 2))
        return p + 5;
    return p + 3;
}

/* A date "YYYY-MM-DD" with an optional time (after T or one space), or a
 * time of day "HH:MM:SS[.f]"; either with an optional zone. */
static size_t match_ts(const fp_scan *f, size_t i)
{
    if (digits_at(f, i, 4) && at(f, i + 4) == '-' && digits_at(f, i + 5, 2) &&
        at(f, i + 7) == '-' && digits_at(f, i + 8, 2)) {
        size_t p = i + 10;
        unsigned char c = at(f, p);
        if (c == 'T' || c == 't' || c == ' ') {
            size_t q = match_clock(f, p + 1, 0);
            if (q != 0)
                p = match_zone(f, q);
        }
        return p;
    }
    size_t q = match_clock(f, i, 1);
    if (q == 0 || at(f, q) == ':') /* "12:34:56:78" is not a time */
        return 0;
    return match_zone(f, q);
}

/* Dotted quad with every part <= 255, not part of a longer dotted run. */
static size_t match_ipv4_core(const fp_scan *f, size_t i)
{
    size_t p = i;
    for (int part = 0; part < 4; part++) {
        size_t n = run_of(f, p, C_DIGIT);
        if (n == 0 || n > 3)
            return 0;
        unsigned v = 0;
        for (size_t k = 0; k < n; k++)
            v = v * 10 + (unsigned)(f->s[p + k] - '0');
        if (v > 255)
            return 0;
        p += n;
        if (part < 3 && at(f, p++) != '.')
            return 0;
    }
    if ((cls(f, p) & C_ALNUM) || (at(f, p) == '.' && (cls(f, p + 1) & C_DIGIT)))
        return 0;
    return p;
}

/* ":port" (1-5 digits, then a word end) after an address; p when absent. */
static size_t match_port(const fp_scan *f, size_t p)
{
    size_t n = run_of(f, p + 1, C_DIGIT);
    if (at(f, p) == ':' && n >= 1 && n <= 5 && !(cls(f, p + 1 + n) & C_ALPHA))
        return p + 1 + n;
    return p;
}

/* IPv4 with an optional "/prefix" and ":port". */
static size_t match_ipv4(const fp_scan *f, size_t i)
{
    size_t p = match_ipv4_core(f, i);
    if (p == 0)
        return 0;
    size_t n = run_of(f, p + 1, C_DIGIT);
    if (at(f, p) == '/' && n >= 1 && n <= 2)
        p += 1 + n;
    return match_port(f, p);
}

/* RFC 4291 text form: eight groups, or fewer with one "::", possibly
 * ending in a dotted quad.  At least one decimal digit is required so that
 * C++ or Rust paths like "a::b" stay words. */
static size_t match_ipv6_core(const fp_scan *f, size_t i)
{
    size_t p = i, end = i;
    int groups = 0, dbl = 0;
    unsigned seen = 0;
    if (at(f, p) == ':') {
        if (at(f, p + 1) != ':')
            return 0;
        dbl = 1;
        p = end = i + 2;
    }
    for (;;) {
        size_t n = run_of(f, p, C_HEX);
        if (n == 0)
            break;
        if (n <= 3 && at(f, p + n) == '.') { /* embedded IPv4 ends it */
            size_t e = match_ipv4_core(f, p);
            if (e == 0)
                return 0;
            groups += 2;
            seen |= C_DIGIT;
            end = e;
            break;
        }
        if (n > 4 || ++groups > 8)
            return 0;
        for (size_t k = 0; k < n; k++)
            seen |= cls(f, p + k);
        p = end = p + n;
        if (at(f, p) == ':' && at(f, p + 1) == ':' && !dbl) {
            dbl = 1;
            p = end = p + 2;
        } else if (at(f, p) == ':' && (cls(f, p + 1) & C_HEX)) {
            p++;
        } else {
            break;
        }
    }
    if (!(seen & C_DIGIT) || (dbl ? groups > 7 : groups != 8) || (cls(f, end) & C_ALNUM))
        return 0;
    if (at(f, end) == '%' && (cls(f, end + 1) & C_ALNUM)) /* zone id: fe80::1%eth0 */
        end += 1 + run_of(f, end + 1, C_ALNUM);
    return end;
}

/* "[v6]" or "[v6]:port", at the '['. */
static size_t match_ipv6_bracketed(const fp_scan *f, size_t i)
{
    size_t e = match_ipv6_core(f, i + 1);
    if (e == 0 || at(f, e) != ']')
        return 0;
    return match_port(f, e + 1);
}

/* "0x" followed by hex digits. */
static size_t match_0x(const fp_scan *f, size_t i)
{
    if (at(f, i) != '0' || (at(f, i + 1) | 0x20) != 'x')
        return 0;
    size_t n = run_of(f, i + 2, C_HEX);
    if (n == 0 || (cls(f, i + 2 + n) & C_ALNUM))
        return 0;
    return i + 2 + n;
}

/* A number: digits, optional fraction and exponent.  A unit that follows
 * ("10ms") stays, so "10ms" and "250ms" group together but not with "10s". */
static size_t match_number(const fp_scan *f, size_t i)
{
    size_t p = i + run_of(f, i, C_DIGIT);
    if (at(f, p) == '.' && (cls(f, p + 1) & C_DIGIT))
        p += 1 + run_of(f, p + 1, C_DIGIT);
    if ((at(f, p) | 0x20) == 'e') {
        size_t q = p + 1 + (at(f, p + 1) == '+' || at(f, p + 1) == '-');
        size_t n = run_of(f, q, C_DIGIT);
        if (n > 0)
            p = q + n;
    }
    return p;
}

/* A path body from p: path bytes and '/' (plus '\\' when windows), without
 * a trailing '.' (the end of a sentence, not of the file name). */
static size_t path_end(const fp_scan *f, size_t p, int windows)
{
    size_t start = p;
    for (;;) {
        unsigned char c = at(f, p);
        if (!(k_cls[c] & C_PATH) && c != '/' && !(windows && c == '\\'))
            break;
        p++;
    }
    while (p > start && f->s[p - 1] == '.')
        p--;
    return p;
}

/* 1 if s[a..e) ends in a file extension: '.', then 1-10 alphanumerics with
 * at least one letter ("x.db", "a.tar.gz", not "1.5"). */
static int has_extension(const fp_scan *f, size_t a, size_t e)
{
    size_t dot = e;
    while (dot > a && f->s[dot - 1] != '.')
        dot--;
    if (dot == a || e - dot < 1 || e - dot > 10)
        return 0;
    unsigned seen = 0;
    for (size_t k = dot; k < e; k++) {
        unsigned c = k_cls[f->s[k]];
        if (!(c & C_ALNUM))
            return 0;
        seen |= c;
    }
    return (seen & C_ALPHA) != 0;
}

/* A domain after '@': two or more labels of alphanumerics and '-'. */
static size_t match_domain(const fp_scan *f, size_t p)
{
    int labels = 0;
    size_t end = 0;
    for (;;) {
        size_t n = 0;
        while ((cls(f, p + n) & C_ALNUM) || at(f, p + n) == '-')
            n++;
        if (n == 0)
            break;
        labels++;
        end = p + n;
        if (at(f, end) != '.' || !(cls(f, end + 1) & C_ALNUM))
            break;
        p = end + 1;
    }
    return labels >= 2 ? end : 0;
}

/* 1 if a word starting with bytes c1 c2 needs no rule: see step_letter. */
static inline int plain_start(unsigned char c1, unsigned char c2)
{
    unsigned k1 = k_cls[c1], k2 = k_cls[c2];
    return (k1 & C_ALPHA) && c2 != ':' && !(k1 & k2 & C_HEX);
}

/* ---- steps: each handles the byte at i and returns where to go on ------- */

/* Rules for a token that starts with a hex digit or letter: UUID, long hex
 * run, IPv6.  n is the length of the hex run at i.  Returns 0 if none. */
static size_t try_hexish(fp_scan *f, size_t i, size_t n)
{
    size_t e;
    if (n == 8 && at(f, i + 8) == '-' && (e = match_uuid(f, i)) != 0) {
        EMIT(f, "<uuid>");
        return e;
    }
    /* An address does not start right after a ':' ("1:2:...:9"). */
    if (n <= 4 && at(f, i + n) == ':' && (i == 0 || f->s[i - 1] != ':') &&
        (e = match_ipv6_core(f, i)) != 0) {
        EMIT(f, "<ip>");
        return e;
    }
    /* A run of 8+ hex digits that is a whole word and not just a number
     * (all digits is a number: handled by the caller). */
    if (n >= 8 && !(cls(f, i + n) & C_ALNUM) && run_of(f, i, C_DIGIT) < n) {
        EMIT(f, "<hex>");
        return i + n;
    }
    return 0;
}

static size_t step_digit(fp_scan *f, size_t i)
{
    /* Most are plain numbers ("3", "250ms"): only a hex letter, 'x', '-',
     * ':' or '.' after the digits can make them anything else. */
    size_t d = run_of(f, i, C_DIGIT), e;
    unsigned char next = at(f, i + d);
    if (!(k_cls[next] & C_HEX) && next != '-' && next != ':' && next != '.' && next != 'x' &&
        next != 'X') {
        EMIT(f, "<n>");
        return i + d;
    }
    size_t n = run_of(f, i, C_HEX);
    if ((e = try_hexish(f, i, n)) != 0)
        return e;
    if ((e = match_ts(f, i)) != 0) {
        EMIT(f, "<ts>");
        return e;
    }
    if ((e = match_ipv4(f, i)) != 0) {
        EMIT(f, "<ip>");
        return e;
    }
    if ((e = match_0x(f, i)) != 0) {
        EMIT(f, "<hex>");
        return e;
    }
    EMIT(f, "<n>");
    return match_number(f, i);
}

static size_t step_letter(fp_scan *f, size_t i)
{
    /* Most words start with nothing special: UUIDs, hex runs and IPv6
     * start with two hex digits (or one and a ':'), C:\ with a ':'. */
    if (plain_start(f->s[i], at(f, i + 1)))
        return literal(f, i);
    size_t e;
    if ((cls(f, i) & C_HEX) && (e = try_hexish(f, i, run_of(f, i, C_HEX))) != 0)
        return e;
    if (at(f, i + 1) == ':' && at(f, i + 2) == '\\') { /* C:\dir\file */
        e = path_end(f, i + 3, 1);
        EMIT(f, "<path>");
        return e;
    }
    return literal(f, i);
}

/* ', " or `: the whole quoted value becomes <str>.  A ' only opens after a
 * non-word byte and only closes before one, so apostrophes in "can't" or
 * "users'" are left alone. */
static size_t step_quote(fp_scan *f, size_t i)
{
    unsigned char q = f->s[i];
    unsigned bit = q == '\'' ? 1u : q == '"' ? 2u : 4u;
    if ((f->no_close & bit) || (q == '\'' && i > 0 && (k_cls[f->s[i - 1]] & C_ALNUM)))
        return literal(f, i);
    size_t j = i + 1;
    if (q != '\'') {
        const unsigned char *p = memchr(f->s + j, q, f->len - j);
        j = p != NULL ? (size_t)(p - f->s) : f->len;
    } else {
        while (j < f->len && (f->s[j] != '\'' || (cls(f, j + 1) & C_ALNUM)))
            j++;
    }
    if (j >= f->len) {
        /* Whether a byte closes does not depend on the opener, so no later
         * opener of this kind can find a closer either. */
        f->no_close |= bit;
        return literal(f, i);
    }
    EMIT(f, "<str>");
    return j + 1;
}

/* '/' starts an absolute path at a token start; inside a token it may be
 * the first slash of a relative path ("./x", "../x", "~/x", "dir/x.ext"),
 * in which case the token's output so far is taken back. */
static size_t step_slash(fp_scan *f, size_t i)
{
    if (i == f->tok_in) {
        size_t e = path_end(f, i + 1, 0);
        if (e == i + 1 || !(cls(f, i + 1) & C_PATH)) /* "/", "//" */
            return literal(f, i);
        EMIT(f, "<path>");
        return e;
    }
    if (f->tok_flags & TF_PATH)
        return literal(f, i);
    f->tok_flags |= TF_PATH;
    const unsigned char *t = f->s + f->tok_in;
    size_t e = path_end(f, i, 0), seg = e;
    while (seg > i && f->s[seg - 1] != '/')
        seg--;
    int rel = (t[0] == '.' && (t[1] == '/' || (t[1] == '.' && t[2] == '/'))) ||
              (t[0] == '~' && t[1] == '/') || has_extension(f, seg, e);
    if (!rel)
        return literal(f, i);
    f->o = f->tok_out;
    EMIT(f, "<path>");
    return e;
}

/* '@' inside a token of e-mail local-part bytes, then a domain. */
static size_t step_at(fp_scan *f, size_t i)
{
    if (i == f->tok_in || (f->tok_flags & TF_MAIL))
        return literal(f, i);
    f->tok_flags |= TF_MAIL; /* a later '@' would have this one in its local part */
    for (size_t k = f->tok_in; k < i; k++)
        if (!(k_cls[f->s[k]] & C_ALNUM) && !memchr("._%+-", f->s[k], 5))
            return literal(f, i);
    size_t e = match_domain(f, i + 1);
    if (e == 0)
        return literal(f, i);
    f->o = f->tok_out;
    EMIT(f, "<email>");
    return e;
}

/* "scheme://authority": the authority (user, host, port) becomes <url>;
 * the path after it is normalised like any text.  Also "::1" IPv6. */
static size_t step_colon(fp_scan *f, size_t i)
{
    size_t e;
    if (at(f, i + 1) == ':' && (i == 0 || !(k_cls[f->s[i - 1]] & C_ALNUM)) &&
        (e = match_ipv6_core(f, i)) != 0) {
        EMIT(f, "<ip>");
        return e;
    }
    if (at(f, i + 1) != '/' || at(f, i + 2) != '/' || i == f->tok_in ||
        !(k_cls[f->s[f->tok_in]] & C_ALPHA))
        return literal(f, i);
    for (size_t k = f->tok_in; k < i; k++)
        if (!(k_cls[f->s[k]] & C_ALNUM) && f->s[k] != '+' && f->s[k] != '.' && f->s[k] != '-')
            return literal(f, i);
    e = i + 3;
    while (e < f->len && !(k_cls[f->s[e]] & C_SPACE) && !memchr("/?#\"'`<>,;()", f->s[e], 12))
        e++;
    while (e > i + 3 && f->s[e - 1] == '.')
        e--;
    if (e == i + 3 && at(f, e) == '/') { /* file:///etc/x */
        EMIT(f, "://<path>");
        return path_end(f, e + 1, 0);
    }
    if (e == i + 3)
        return literal(f, i);
    EMIT(f, "://<url>");
    f->tok_flags |= TF_PATH; /* the rest is the URL's path, not a file path */
    return e;
}

static size_t step_space(fp_scan *f, size_t i)
{
    if (f->o > 0 && f->out[f->o - 1] != ' ') {
        if (f->o >= f->lim) {
            f->full = 1;
            return i;
        }
        f->out[f->o++] = ' ';
    }
    return i + run_of(f, i, C_SPACE);
}

/* Everything that is not the middle of a word. */
static size_t step(fp_scan *f, size_t i)
{
    unsigned char c = f->s[i];
    unsigned k = k_cls[c];
    if (k & C_SPACE)
        return step_space(f, i);
    if (k & C_DIGIT)
        return step_digit(f, i);
    if (k & C_ALPHA)
        return step_letter(f, i);
    switch (c) {
    case '\'':
    case '"':
    case '`':
        return step_quote(f, i);
    case '/':
        return step_slash(f, i);
    case '@':
        return step_at(f, i);
    case ':':
        return step_colon(f, i);
    case '[': {
        size_t e = match_ipv6_bracketed(f, i);
        if (e == 0)
            return literal(f, i);
        EMIT(f, "<ip>");
        return e;
    }
    default:
        return literal(f, i);
    }
}

/* ---- plain text, sixteen bytes at a time --------------------------------
 * GCC/Clang generic vectors: SSE2 on x86-64, NEON on ARM, plain integer
 * code elsewhere, from one source.  A comparison gives 0xFF or 0 per byte. */
typedef unsigned char fp_v16 __attribute__((vector_size(16)));

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FP_LE64(v) __builtin_bswap64(v)
#else
#define FP_LE64(v) (v)
#endif

static inline fp_v16 vload(const unsigned char *p)
{
    fp_v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* A byte mask as two words, byte j of the vector in bits 8j..8j+7. */
static inline void vbits(fp_v16 m, uint64_t w[2])
{
    memcpy(w, &m, 16);
    w[0] = FP_LE64(w[0]);
    w[1] = FP_LE64(w[1]);
}

/* Index of the first set byte of a mask, 16 if none. */
static inline unsigned vfirst(const uint64_t w[2])
{
    if (w[0] != 0)
        return (unsigned)__builtin_ctzll(w[0]) / 8;
    if (w[1] != 0)
        return 8 + (unsigned)__builtin_ctzll(w[1]) / 8;
    return 16;
}

/* 1 + index of the last set byte below n, 0 if none. */
static inline unsigned vlast_before(const uint64_t w[2], unsigned n)
{
    uint64_t lo = w[0], hi = w[1];
    if (n < 8) {
        lo &= (1ULL << (8 * n)) - 1;
        hi = 0;
    } else if (n < 16) {
        hi &= (1ULL << (8 * (n - 8))) - 1;
    }
    if (hi != 0)
        return 8 + (63 - (unsigned)__builtin_clzll(hi)) / 8 + 1;
    if (lo != 0)
        return (63 - (unsigned)__builtin_clzll(lo)) / 8 + 1;
    return 0;
}

static inline fp_v16 vword(fp_v16 v)
{
    fp_v16 lc = v | 0x20; /* folds A-Z onto a-z */
    return (fp_v16)((lc >= 'a') & (lc <= 'z')) | (fp_v16)((v >= '0') & (v <= '9')) |
           (fp_v16)(v >= 0x80);
}

/* What copy_text needs to know about sixteen bytes. */
typedef struct fp_chunk {
    fp_v16 low;     /* the bytes, lower-cased */
    fp_v16 special; /* bytes a rule must look at (step) */
    fp_v16 delim;   /* plain bytes that end a token (not C_TOK) */
} fp_chunk;

/* Classifies cur, given the byte before (prev) and after (next) each.
 * Plain: word bytes, punctuation step() copies as it is, single spaces,
 * and word starts that step_letter copies as they are.  Special: other
 * whitespace, space runs, quotes, / @ : [, and word starts that are
 * digits, two hex digits, or a letter and ':'. */
static inline void vclassify(fp_v16 prev, fp_v16 cur, fp_v16 next, fp_chunk *c)
{
    fp_v16 lc = cur | 0x20, lcn = next | 0x20;
    fp_v16 digit = (fp_v16)((cur >= '0') & (cur <= '9'));
    fp_v16 word = vword(cur), start = ~vword(prev);
    fp_v16 hex = digit | (fp_v16)((lc >= 'a') & (lc <= 'f'));
    fp_v16 hexn = (fp_v16)(((next >= '0') & (next <= '9')) | ((lcn >= 'a') & (lcn <= 'f')));
    fp_v16 sp = (fp_v16)(cur == ' ');
    fp_v16 ws = (fp_v16)((cur >= '\t') & (cur <= '\r')) | sp;
    fp_v16 rule = (fp_v16)((cur == '\'') | (cur == '"') | (cur == '`') | (cur == '/') |
                           (cur == '@') | (cur == ':') | (cur == '['));
    fp_v16 tokp = (fp_v16)((cur == '.') | (cur == '_') | (cur == '-') | (cur == '+') |
                           (cur == '%') | (cur == '~') | (cur == '\\'));
    fp_v16 upper = (fp_v16)((cur >= 'A') & (cur <= 'Z'));
    c->low = cur | (upper & 0x20);
    c->special = (ws & ~sp) | rule | (sp & (fp_v16)(prev == ' ')) |
                 (word & start & (digit | (hex & hexn) | (fp_v16)(next == ':')));
    c->delim = ~(word | tokp);
}

/* Copies plain text from i (inside a word, or a non-word byte): words,
 * lower-cased, single spaces and inert punctuation.  That is the bulk of
 * most messages, so it goes sixteen bytes at a time with no per-byte
 * branch, storing all sixteen and keeping the plain prefix, and tracks
 * token starts on the way.  Returns where a rule is needed. */
static size_t copy_text(fp_scan *f, size_t i)
{
    const unsigned char *s = f->s;
    size_t p = i, o = f->o, len = f->len, lim = f->lim;
    while (p > 0 && len - p >= 17 && lim - o >= 16) {
        fp_chunk c;
        uint64_t wspec[2], wdelim[2];
        vclassify(vload(s + p - 1), vload(s + p), vload(s + p + 1), &c);
        memcpy(f->out + o, &c.low, 16);
        vbits(c.special, wspec);
        unsigned n = vfirst(wspec);
        /* Byte j starts a token if byte j - 1 is a delimiter. */
        vbits(c.delim, wdelim);
        wdelim[1] = (wdelim[1] << 8) | (wdelim[0] >> 56);
        wdelim[0] = (wdelim[0] << 8) | (k_cls[s[p - 1]] & C_TOK ? 0 : 0x80);
        unsigned j = vlast_before(wdelim, n);
        if (j != 0) {
            f->tok_in = p + j - 1;
            f->tok_out = o + j - 1;
            f->tok_flags = 0;
        }
        p += n;
        o += n;
        if (n < 16) {
            f->o = o;
            return p;
        }
    }
    /* The last few bytes: words only; the caller's rules do the rest. */
    unsigned k;
    while (p < len && ((k = k_cls[s[p]]) & C_WORD) && p > 0 && (k_cls[s[p - 1]] & C_WORD)) {
        if (o >= lim) {
            f->full = 1;
            break;
        }
        f->out[o++] = (char)(s[p++] | ((k & C_UPPER) >> 2));
    }
    f->o = o;
    return p;
}

/* Handles s[i], which is not inside a word: a delimiter, or the first byte
 * of a word.  Tracks where tokens start (see fp_scan). */
static size_t step_at_boundary(fp_scan *f, size_t i)
{
    if (i == 0 || !(k_cls[f->s[i - 1]] & C_TOK)) {
        f->tok_in = i;
        f->tok_out = f->o;
        f->tok_flags = 0;
    }
    return step(f, i);
}

size_t fl_fp_normalize(const char *msg, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    fp_scan f = {.s = (const unsigned char *)msg, .len = len, .out = out, .lim = cap - 1};
    size_t i = 0;
    /* Rules and plain text alternate: copy_text stops exactly where a
     * rule is needed, and every rule is applied through step(). */
    while (i < len && !f.full) {
        i = step_at_boundary(&f, i);
        if (i < len && !f.full)
            i = copy_text(&f, i);
    }
    /* Stopped inside a multi-byte character: drop its copied part. */
    if (f.full && i < len && (f.s[i] & 0xC0) == 0x80) {
        while (f.o > 0 && ((unsigned char)out[f.o - 1] & 0xC0) == 0x80)
            f.o--;
        if (f.o > 0 && (unsigned char)out[f.o - 1] >= 0xC0)
            f.o--;
    }
    if (f.o > 0 && out[f.o - 1] == ' ')
        f.o--;
    out[f.o] = '\0';
    return f.o;
}

/* ---- the fingerprint ---------------------------------------------------- */

/* Normalised messages longer than this are fingerprinted by their start:
 * beyond it, two messages are the same failure for grouping purposes. */
#define FP_MSG_MAX 1024
/* Category, domain, code and op up to this long (with separators) are
 * hashed with the message in one XXH3 call; longer ones stream. */
#define FP_PREFIX_MAX 512

static void to_hex16(uint64_t h, char out[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 15; k >= 0; k--) {
        out[k] = hex[h & 0xF];
        h >>= 4;
    }
    out[16] = '\0';
}

/* The hash is XXH3-64 of: category NUL domain NUL code NUL op NUL message.
 * No C string contains a NUL, so ("ab","c") and ("a","bc") differ; a
 * missing part hashes like "".  One call over a stack buffer is much
 * cheaper than a streaming state for short inputs; both give the same
 * value, so the fallback for huge parts changes nothing. */
void fl_fingerprint(const char *category, const char *domain, const char *code,
                    const char *op, const char *msg, size_t msg_len, char out[17])
{
    const char *parts[4] = {category, domain, code, op};
    size_t plen[4];
    for (int k = 0; k < 4; k++)
        plen[k] = parts[k] != NULL ? strlen(parts[k]) : 0;
    fl_fingerprint_n(parts, plen, msg, msg_len, out);
}

void fl_fingerprint_n(const char *const parts[4], const size_t plen_in[4], const char *msg, size_t msg_len,
                      char out[17])
{
    size_t plen[4], total = 0;
    for (int k = 0; k < 4; k++) {
        plen[k] = parts[k] != NULL ? plen_in[k] : 0;
        total += plen[k] + 1;
    }
    char buf[FP_PREFIX_MAX + FP_MSG_MAX];
    if (total <= FP_PREFIX_MAX) {
        size_t o = 0;
        for (int k = 0; k < 4; k++) {
            if (plen[k] > 0)
                memcpy(buf + o, parts[k], plen[k]);
            o += plen[k];
            buf[o++] = '\0';
        }
        size_t n = msg != NULL ? fl_fp_normalize(msg, msg_len, buf + o, FP_MSG_MAX) : 0;
        to_hex16(XXH3_64bits(buf, o + n), out);
        return;
    }
    size_t n = msg != NULL ? fl_fp_normalize(msg, msg_len, buf, FP_MSG_MAX) : 0;
    XXH3_state_t st;
    XXH3_INITSTATE(&st);
    XXH3_64bits_reset(&st);
    for (int k = 0; k < 4; k++) {
        if (plen[k] > 0)
            XXH3_64bits_update(&st, parts[k], plen[k]);
        XXH3_64bits_update(&st, "", 1);
    }
    XXH3_64bits_update(&st, buf, n);
    to_hex16(XXH3_64bits_digest(&st), out);
}
