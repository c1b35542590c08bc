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
#include "matching.h"

#define FL_MIN_LITERAL 2

struct run {
    char cur[256];
    size_t ncur;
};

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

/* Append to the current run; returns 0 when the byte must end the run
 * instead (caseless non-ASCII: the scanner folds ASCII only). */
static int add_char(struct run *r, char c, int caseless)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x80 && caseless) return 0;
    if (r->ncur < sizeof r->cur) r->cur[r->ncur++] = (char)(u >= 'A' && u <= 'Z' ? u + 32 : u);
    return 1;
}

/* How selective a literal is likely to be: longer is better, digits and
 * punctuation are rarer than letters, and the words every error message
 * contains are nearly useless as a prefilter. */
static int lit_score(const char *s, size_t n)
{
    static const char *const common[] = {"error", "exception", "failed", "failure", "unable", "cannot",
                                         "could not", "invalid", "the ", " the", "not ", " not", NULL};
    int score = (int)n * 4;
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == ':') score += 3;
    for (int i = 0; common[i]; i++) {
        size_t cl = strlen(common[i]);
        for (size_t k = 0; k + cl <= n; k++)
            if (memcmp(s + k, common[i], cl) == 0) score -= (int)cl * 4;
    }
    return score;
}

struct litset {
    char *lits[32];
    uint32_t n;
    int score; /* of the weakest member */
};

static void litset_clear(struct litset *ls)
{
    for (uint32_t i = 0; i < ls->n; i++) free(ls->lits[i]);
    ls->n = 0;
    ls->score = -1000000;
}

static uint32_t literals_of(const char *s, size_t n, int caseless, char **out, uint32_t max);

/* A group that must occur (not followed by an optional quantifier) and whose
 * every alternative has a literal gives a set of literals. */
static void group_literals(const char *s, size_t start, size_t end, int caseless, struct litset *best)
{
    size_t i = start + 1;
    if (i < end && s[i] == '?') {
        if (s[i + 1] == ':') i += 2;
        else if (s[i + 1] == '<' && s[i + 2] != '=' && s[i + 2] != '!') {
            while (i < end && s[i] != '>') i++;
            i++;
        } else if (s[i + 1] == 'P' && s[i + 2] == '<') {
            while (i < end && s[i] != '>') i++;
            i++;
        } else {
            return; /* lookaround, conditionals, inline options: leave alone */
        }
    }
    if (end <= i + 1) return;
    struct litset g = {.n = 0, .score = 0};
    g.n = literals_of(s + i, end - 1 - i, caseless, g.lits, 32);
    if (!g.n) return;
    g.score = 1000000;
    for (uint32_t k = 0; k < g.n; k++) {
        int sc = lit_score(g.lits[k], strlen(g.lits[k]));
        if (sc < g.score) g.score = sc;
    }
    if (g.score > best->score) {
        litset_clear(best);
        *best = g;
    } else {
        litset_clear(&g);
    }
}

/* End the current run, keeping it in best if it scores higher. */
static void keep_best(struct run *r, char *best, int *bestscore)
{
    if (r->ncur >= FL_MIN_LITERAL) {
        int sc = lit_score(r->cur, r->ncur);
        if (sc > *bestscore) {
            *bestscore = sc;
            memcpy(best, r->cur, r->ncur);
            best[r->ncur] = '\0';
        }
    }
    r->ncur = 0;
}

/* Literal set of one alternative s[0..n): the best plain run, or the best
 * group of alternatives, whichever is more selective. */
static uint32_t seq_literals(const char *s, size_t n, int caseless, char **out, uint32_t max)
{
    struct run r = {.ncur = 0};
    struct litset grp = {.n = 0, .score = -1000000};
    size_t i = 0;
    /* The plain-run tracker keeps the longest run; rescore all runs instead. */
    char bestlit[257] = "";
    int bestscore = -1000000;
    while (i < n) {
        char c = s[i], lit;
        if (c == '\\' && i + 1 < n) {
            char e = s[i + 1];
            int alnum = (e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9');
            if (alnum) {
                goto flush_then_escape;
            }
            lit = e;
            i += 2;
        } else if (c == '[') {
            goto flush_then_class;
        } else if (c == '(') {
            goto flush_then_group;
        } else if (strchr(".^$|*+?{)", c)) {
            goto flush_then_meta;
        } else {
            lit = c;
            i++;
        }
        {
            int optional, quant;
            i = skip_quant(s, n, i, &optional, &quant);
            if (optional) goto flush;
            if (!add_char(&r, lit, caseless) || quant) goto flush;
            continue;
        }
    flush_then_escape:
        if (r.ncur) goto flush_first;
        i += 2;
        {
            char e = s[i - 1];
            if (e == 'Q') {
                const char *q = strstr(s + i, "\\E");
                i = q && (size_t)(q - s) < n ? (size_t)(q - s) + 2 : n;
            } else if (i < n && (s[i] == '{' || s[i] == '<' || s[i] == '\'')) {
                char close = s[i] == '{' ? '}' : s[i] == '<' ? '>' : '\'';
                while (i < n && s[i] != close) i++;
                i++;
            }
        }
        continue;
    flush_then_class:
        if (r.ncur) goto flush_first;
        {
            int o, q;
            i = skip_quant(s, n, skip_class(s, n, i), &o, &q);
        }
        continue;
    flush_then_group:
        if (r.ncur) goto flush_first;
        {
            size_t gend = skip_group(s, n, i);
            int o, q;
            size_t after = skip_quant(s, n, gend, &o, &q);
            if (!o) group_literals(s, i, gend, caseless, &grp);
            i = after;
        }
        continue;
    flush_then_meta:
        if (r.ncur) goto flush_first;
        i = c == '{' ? skip_braces(s, n, i) : i + 1;
        continue;
    flush_first: /* score the finished run, then re-dispatch the same byte */
        keep_best(&r, bestlit, &bestscore);
        continue;
    flush:
        keep_best(&r, bestlit, &bestscore);
    }
    keep_best(&r, bestlit, &bestscore);
    if (grp.n && grp.score > bestscore && grp.n <= max) {
        for (uint32_t k = 0; k < grp.n; k++) out[k] = grp.lits[k];
        return grp.n;
    }
    litset_clear(&grp);
    if (bestscore == -1000000 || max == 0) return 0;
    return (out[0] = strdup(bestlit)) ? 1 : 0;
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

/* Literals for a whole (sub)pattern: one set member per top-level
 * alternative; 0 when any alternative has none. */
static uint32_t literals_of(const char *s, size_t n, int caseless, char **out, uint32_t max)
{
    size_t a = 0, i = 0;
    uint32_t count = 0;
    for (;;) {
        if (i < n && s[i] == '\\') { i += 2; continue; }
        if (i < n && s[i] == '[') { i = skip_class(s, n, i); continue; }
        if (i < n && s[i] == '(') { i = skip_group(s, n, i); continue; }
        if (i >= n || s[i] == '|') {
            size_t end = i < n ? i : n;
            uint32_t got = seq_literals(s + a, end - a, caseless, out + count, max - count);
            if (!got) goto none;
            count += got;
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

uint32_t fl_required_literals(const char *pattern, char **out, uint32_t max)
{
    int caseless = strstr(pattern, "(?i") != NULL;
    long start = skip_leading_flags(pattern, &caseless);
    if (start < 0) return 0;
    return literals_of(pattern + start, strlen(pattern + start), caseless, out, max);
}
