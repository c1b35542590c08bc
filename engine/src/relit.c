/*
 * relit.c -- the literal prefilter's other half: for a PCRE2 pattern, find
 * literal strings such that any subject the pattern matches must contain at
 * least one of them (one per top-level alternative).  The analysis is
 * deliberately conservative: anything it does not fully understand (groups,
 * classes, escapes with letters, optional atoms) ends the current literal run,
 * and a pattern it cannot prove anything about yields no literals, which only
 * costs speed, never correctness.  Literals are lower-cased because the
 * scanner runs over the lower-cased subject.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define FL_MIN_LITERAL 2

struct run {
    char cur[256], best[256];
    size_t ncur, nbest;
};

static void end_run(struct run *r)
{
    if (r->ncur > r->nbest) {
        memcpy(r->best, r->cur, r->ncur);
        r->nbest = r->ncur;
    }
    r->ncur = 0;
}

/* Index just past the group or class that starts at s[i]. */
static size_t skip_class(const char *s, size_t n, size_t i)
{
    i++;
    if (i < n && s[i] == '^') i++;
    if (i < n && s[i] == ']') i++;
    while (i < n && s[i] != ']') {
        if (s[i] == '\\') i++;
        else if (s[i] == '[' && i + 1 < n && s[i + 1] == ':') {
            const char *e = strstr(s + i + 2, ":]");
            if (e && (size_t)(e - s) < n) i = (size_t)(e - s) + 1;
        }
        i++;
    }
    return i < n ? i + 1 : n;
}

static size_t skip_group(const char *s, size_t n, size_t i)
{
    int depth = 0;
    while (i < n) {
        char c = s[i];
        if (c == '\\') i += 2;
        else if (c == '[') i = skip_class(s, n, i);
        else {
            if (c == '(') depth++;
            if (c == ')' && --depth == 0) return i + 1;
            i++;
        }
    }
    return n;
}

static size_t skip_braces(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] != '}') i++;
    return i < n ? i + 1 : n;
}

/* Skip a quantifier at s[i] (with lazy/possessive suffix); returns the new
 * index and sets *optional when the atom may occur zero times. */
static size_t skip_quant(const char *s, size_t n, size_t i, int *optional, int *quant)
{
    *optional = *quant = 0;
    if (i >= n) return i;
    if (s[i] == '*' || s[i] == '?') *optional = 1;
    else if (s[i] == '{') *optional = (i + 1 < n && (s[i + 1] == '0' || s[i + 1] == ',')), i = skip_braces(s, n, i) - 1;
    else if (s[i] != '+') return i;
    *quant = 1;
    i++;
    if (i < n && (s[i] == '?' || s[i] == '+')) i++;
    return i;
}

static void add_char(struct run *r, char c, int caseless)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x80 && caseless) { /* caseless non-ASCII: our scanner folds ASCII only */
        end_run(r);
        return;
    }
    if (r->ncur < sizeof r->cur) r->cur[r->ncur++] = (char)(u >= 'A' && u <= 'Z' ? u + 32 : u);
}

/* Longest literal run of one alternative s[0..n). */
static size_t longest_run(const char *s, size_t n, int caseless, char *out)
{
    struct run r = {.ncur = 0, .nbest = 0};
    size_t i = 0;
    while (i < n) {
        char c = s[i], lit;
        if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            int alnum = (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9');
            if (alnum) {
                end_run(&r);
                i += 2;
                if (e == 'Q') { /* \Q...\E: skip, conservatively */
                    const char *q = strstr(s + i, "\\E");
                    i = q && (size_t)(q - s) < n ? (size_t)(q - s) + 2 : n;
                } else if (i < n && (s[i] == '{' || s[i] == '<' || s[i] == '\'')) {
                    char close = s[i] == '{' ? '}' : s[i] == '<' ? '>' : '\'';
                    while (i < n && s[i] != close) i++;
                    i++;
                }
                continue;
            }
            lit = e;
            i += 2;
        } else if (c == '[') {
            end_run(&r);
            i = skip_class(s, n, i);
            int o, q;
            i = skip_quant(s, n, i, &o, &q);
            continue;
        } else if (c == '(') {
            end_run(&r);
            i = skip_group(s, n, i);
            int o, q;
            i = skip_quant(s, n, i, &o, &q);
            continue;
        } else if (strchr(".^$|*+?{)", c)) {
            end_run(&r);
            i = c == '{' ? skip_braces(s, n, i) : i + 1;
            continue;
        } else {
            lit = c;
            i++;
        }
        int optional, quant;
        i = skip_quant(s, n, i, &optional, &quant);
        if (optional) {
            end_run(&r);
            continue;
        }
        add_char(&r, lit, caseless);
        if (quant) end_run(&r);
    }
    end_run(&r);
    memcpy(out, r.best, r.nbest);
    out[r.nbest] = '\0';
    return r.nbest;
}

/* Leading (?flags) groups: returns the index after them, or -1 if the
 * pattern uses something the analysis must not touch (extended mode, verbs). */
static long skip_leading_flags(const char *p, int *caseless)
{
    size_t i = 0;
    while (p[i] == '(' && (p[i + 1] == '?' || p[i + 1] == '*')) {
        if (p[i + 1] == '*') return -1;
        size_t j = i + 2;
        while ((p[j] >= 'a' && p[j] <= 'z') || (p[j] >= 'A' && p[j] <= 'Z') || p[j] == '-') {
            if (p[j] == 'x') return -1;
            if (p[j] == 'i') *caseless = 1;
            j++;
        }
        if (p[j] != ')') break; /* (?:...), (?<name>...) etc.: a real group */
        i = j + 1;
    }
    return (long)i;
}

uint32_t fl_required_literals(const char *pattern, char **out, uint32_t max)
{
    int caseless = strstr(pattern, "(?i") != NULL;
    long start = skip_leading_flags(pattern, &caseless);
    if (start < 0) return 0;
    const char *s = pattern + start;
    size_t n = strlen(s), a = 0, i = 0;
    uint32_t count = 0;
    char lit[257];
    for (;;) {
        if (i < n && s[i] == '\\') { i += 2; continue; }
        if (i < n && s[i] == '[') { i = skip_class(s, n, i); continue; }
        if (i < n && s[i] == '(') { i = skip_group(s, n, i); continue; }
        if (i >= n || s[i] == '|') {
            size_t end = i < n ? i : n;
            if (longest_run(s + a, end - a, caseless, lit) < FL_MIN_LITERAL || count == max ||
                !(out[count] = strdup(lit)))
                goto none;
            count++;
            if (i >= n) return count;
            a = ++i;
            continue;
        }
        i++;
    }
none:
    for (uint32_t k = 0; k < count; k++) free(out[k]);
    return 0;
}
