/*
 * test_matcher.c -- the matcher's internals: the required-literal analysis
 * (relit.c) on a table of patterns, the literal prefilter (gramfilter.c)
 * against a naive oracle on random inputs and on the stock pack's literals,
 * with and without its vector scan, and the whole index against a
 * brute-force evaluation of every rule in order on random rule sets and
 * events (fixed seeds, so a failure reproduces).
 */
#include "flt.h"

#include "acmatch.h"
#include "core.h"
#include "matching.h"

/* A small deterministic PRNG for the property tests (splitmix64). */
static uint64_t g_rng;
static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int rn(int n) { return (int)(rnd() % (uint64_t)n); }

/* ---- required literals --------------------------------------------------------- */

static void lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

static void test_required_literals_table(void **s)
{
    (void)s;
    static const struct {
        const char *pattern;
        const char *lits[4]; /* expected, in order; empty list: none provable.
                              * Which literal is chosen is a heuristic (rarity
                              * score); soundness is what the property test checks. */
        const char *samples[4]; /* subjects the pattern matches */
    } k[] = {
        {"connection refused", {"connection refused"}, {"x connection refused y"}},
        {"(?i)Connection Refused", {"connection refused"}, {"CONNECTION REFUSED"}},
        {"timeout|timed out", {"timeout", "timed out"}, {"a timeout", "it timed out"}},
        {"colou?r", {"colo"}, {"color", "colour"}},
        {"abc*", {"ab"}, {"ab", "abccc"}},
        {"ab{2}c", {"ab"}, {"abbc"}}, /* 'b{2}' ends the run after one b */
        {"xy{2}z", {"xy"}, {"xyyz"}},
        {"x{0,3}yz", {"yz"}, {"yz", "xxxyz"}},
        {"[0-9]+ms elapsed", {"ms elapsed"}, {"150ms elapsed"}},
        {"(?:dis|re)connected", {"connected"}, {"disconnected", "reconnected"}},
        {"\\d+ errors", {" errors"}, {"12 errors"}},
        {"foo\\.bar", {"foo.bar"}, {"foo.bar"}},
        {"(?i:err)or code", {"or code"}, {"ERRor code"}},
        {"(?i)caf\xc3\xa9 closed", {" closed"}, {"CAF\xc3\x89 CLOSED"}},
        {"caf\xc3\xa9", {"caf\xc3\xa9"}, {"caf\xc3\xa9"}},
        /* groups that must occur are analysed: */
        {"(foo)", {"foo"}, {"foo"}},
        {"(?:foo|bar)?baz", {"baz"}, {"baz", "foobaz"}},
        {"(foo|)bar", {"bar"}, {"bar", "foobar"}},
        {"(?:connection|socket) (?:reset|closed)", {"connection", "socket"}, {"socket closed", "connection reset"}},
        {"(?<host>[a-z]+) unreachable", {" unreachable"}, {"db unreachable"}},
        {"aa|bb|cc", {"aa", "bb", "cc"}, {"cc"}},
        /* nothing provable: */
        {"a|", {0}, {"zzz"}},               /* empty branch matches anything */
        {"foo|b", {0}, {"b"}},              /* a branch with no literal >= 2 */
        {"(foo|)", {0}, {"foo", "zz"}},     /* a group with an empty branch */
        {"(?:x|yy)", {0}, {"x"}},           /* a group branch with no literal >= 2 */
        {"(foo)?", {0}, {"zz"}},            /* an optional group */
        {"^\\d+$", {0}, {"12345"}},
        {"(?x) foo \\s bar", {0}, {"foo bar"}}, /* extended mode is not analysed */
        {"(*UTF)abc", {0}, {"abc"}},        /* verbs are not analysed */
        {"\\Qa.b\\E", {0}, {"a.b"}},
        {"a.b", {0}, {"axb"}},
        {"[abc]+", {0}, {"b"}},
        {"x?y?", {0}, {""}},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char *out[8];
        uint32_t n = fl_required_literals(k[i].pattern, out, 8);
        uint32_t want = 0;
        while (want < 4 && k[i].lits[want]) want++;
        if (n != want) print_error("pattern /%s/: %u literals, want %u\n", k[i].pattern, n, want);
        assert_int_equal(n, want);
        for (uint32_t j = 0; j < n; j++) {
            if (strcmp(out[j], k[i].lits[j]) != 0)
                print_error("pattern /%s/: literal %u is '%s', want '%s'\n", k[i].pattern, j, out[j], k[i].lits[j]);
            assert_string_equal(out[j], k[i].lits[j]);
        }
        /* Soundness on the samples: the pattern matches, so one literal occurs. */
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)k[i].pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
        assert_non_null(re);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        for (int si = 0; si < 4 && k[i].samples[si]; si++) {
            const char *subj = k[i].samples[si];
            assert_true(pcre2_match(re, (PCRE2_SPTR)subj, strlen(subj), 0, 0, md, NULL) >= 0);
            if (!n) continue;
            char low[256];
            snprintf(low, sizeof low, "%s", subj);
            lower(low);
            int found = 0;
            for (uint32_t j = 0; j < n; j++) found |= strstr(low, out[j]) != NULL;
            assert_true(found);
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        for (uint32_t j = 0; j < n; j++) free(out[j]);
    }
}

static void test_required_literals_max(void **s)
{
    (void)s;
    /* More alternatives than room: nothing (a partial list would lose matches). */
    char *out[2];
    assert_int_equal(fl_required_literals("aa|bb|cc", out, 2), 0);
    assert_int_equal(fl_required_literals("(?:aa|bb|cc)", out, 2), 0);
    assert_int_equal(fl_required_literals("aa|bb", out, 2), 2);
    free(out[0]);
    free(out[1]);
}

static void test_required_literals_random_soundness(void **s)
{
    (void)s;
    /* Random patterns from pieces; random subjects; whenever PCRE2 matches,
     * one of the literals must occur in the lower-cased subject. */
    static const char *const pieces[] = {"ab", "c", "d?", "[xy]", "e+", "(?:f|gh)", "i*", "\\.", "jk{2}",
                                         ".", "|", "l{0,2}", "mn", "(o)", "\\d", "P", "(?:ab|mn)", "(jk|)",
                                         "(?:ee|c)?", "(?<n>ab)", "(?i:p)", "(?:x(?:ab|c)d)", "(?!ab)"};
    static const char *const toks[] = {"ab", "c", "d", "x", "y", "e", "ee", "f", "gh", "i", "jk", "jkk",
                                       ".", "mn", "o", "0", "7", "P", "p", "l", " ", "AB", "MN"};
    g_rng = 12345;
    int checked = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char pat[128] = "";
        if (rn(4) == 0) strcat(pat, "(?i)");
        int np = 1 + rn(6);
        for (int i = 0; i < np; i++) strcat(pat, pieces[rn((int)(sizeof pieces / sizeof *pieces))]);
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
        if (!re) continue;
        char *lits[16];
        uint32_t n = fl_required_literals(pat, lits, 16);
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        for (int k = 0; k < 80 && n; k++) {
            char subj[64] = "";
            int nt = rn(8);
            for (int i = 0; i < nt; i++) strcat(subj, toks[rn((int)(sizeof toks / sizeof *toks))]);
            int len = (int)strlen(subj);
            if (pcre2_match(re, (PCRE2_SPTR)subj, (size_t)len, 0, 0, md, NULL) < 0) continue;
            lower(subj);
            int found = 0;
            for (uint32_t j = 0; j < n; j++) found |= strstr(subj, lits[j]) != NULL;
            if (!found) print_error("pattern /%s/ matched '%s' without any of its %u literals\n", pat, subj, n);
            assert_true(found);
            checked++;
        }
        pcre2_match_data_free(md);
        pcre2_code_free(re);
        for (uint32_t j = 0; j < n; j++) free(lits[j]);
    }
    assert_true(checked > 100); /* the property was exercised */
}

/* ---- the literal prefilter vs. naive ----------------------------------------------- */

struct hits {
    uint32_t count[64];
    uint32_t total;
    uint32_t stop_after; /* 0: never stop */
};

static int on_hit(uint32_t tag, void *arg)
{
    struct hits *h = arg;
    assert_true(tag < 64);
    h->count[tag]++;
    h->total++;
    return h->stop_after && h->total >= h->stop_after ? 7 : 0;
}

/* Overlapping, ASCII-case-insensitive occurrences of lit in s. */
static uint32_t naive_count(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    uint32_t c = 0;
    for (size_t i = 0; i + l <= n; i++) {
        size_t k = 0;
        for (; k < l; k++) {
            unsigned char a = (unsigned char)s[i + k];
            if (a >= 'A' && a <= 'Z') a = (unsigned char)(a + 32);
            if (a != (unsigned char)lit[k]) break;
        }
        c += k == l;
    }
    return c;
}

static void check_scan(const fl_ac *ac, char *const *lits, uint32_t n, const char *subj, size_t len);

static void test_ac_vs_naive(void **s)
{
    (void)s;
    static const char *const alphabets[] = {"ab", "abc", "abcdefgh", "aA\xc3\xa9 .-"};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        g_rng = seed * 1000003;
        for (int round = 0; round < 60; round++) {
            const char *alpha = alphabets[rn(4)];
            size_t na = strlen(alpha);
            uint32_t n = (uint32_t)rn(40);
            char *lits[64];
            uint32_t tags[64];
            for (uint32_t i = 0; i < n; i++) {
                int len = 1 + rn(6);
                lits[i] = malloc((size_t)len + 1);
                for (int k = 0; k < len; k++) {
                    char c = alpha[rn((int)na)];
                    lits[i][k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); /* literals are lower-case */
                }
                lits[i][len] = '\0';
                tags[i] = i; /* duplicates of the same text get distinct tags */
            }
            fl_ac *ac = fl_ac_build(lits, tags, n);
            assert_non_null(ac);
            assert_true(fl_ac_size(ac) > 0);
            for (int k = 0; k < 20; k++) {
                char subj[300];
                size_t len = (size_t)rn(300);
                for (size_t i = 0; i < len; i++) {
                    char c = alpha[rn((int)na)];
                    subj[i] = rn(3) == 0 && c >= 'a' && c <= 'z' ? (char)(c - 32) : c; /* mixed case */
                }
                check_scan(ac, lits, n, subj, len);
            }
            fl_ac_free(ac);
            for (uint32_t i = 0; i < n; i++) free(lits[i]);
        }
    }
}

static void test_ac_edge_cases(void **s)
{
    (void)s;
    /* No literals: scans find nothing. */
    fl_ac *ac = fl_ac_build(NULL, NULL, 0);
    assert_non_null(ac);
    struct hits h;
    memset(&h, 0, sizeof h);
    assert_int_equal(fl_ac_scan(ac, "anything", 8, on_hit, &h), 0);
    assert_int_equal(h.total, 0);
    fl_ac_free(ac);
    fl_ac_free(NULL);
    /* Every byte value in a literal; NUL-free subject containing all bytes. */
    char lit[256];
    for (int i = 1; i < 256; i++) lit[i - 1] = (char)(i >= 'A' && i <= 'Z' ? i + 32 : i);
    lit[255] = '\0';
    char *lits[3] = {lit, "zz", "\xff\xfe"};
    uint32_t tags[3] = {0, 1, 2};
    ac = fl_ac_build(lits, tags, 3);
    assert_non_null(ac);
    char subj[600];
    size_t n = 0;
    for (int i = 1; i < 256; i++) subj[n++] = (char)i; /* upper-case letters fold */
    memcpy(subj + n, "ZZz\xff\xfe", 5);
    n += 5;
    memset(&h, 0, sizeof h);
    fl_ac_scan(ac, subj, n, on_hit, &h);
    assert_int_equal(h.count[0], 1);
    assert_int_equal(h.count[1], 2);
    assert_int_equal(h.count[2], 1); /* the run has fe ff, the end ff fe */
    fl_ac_free(ac);
}

/* A subject is folded and scanned in chunks of 256 bytes (gramfilter.c): a
 * literal that straddles a chunk border, or that ends exactly at it or
 * starts exactly there, is reported once, whatever the subject's length;
 * and literals nested in one another all are.  With and without the vector
 * scan. */
static void test_ac_chunk_borders(void **s)
{
    (void)s;
    char *lits[4] = {"abcdefghij", "cdef", "j", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy"};
    uint32_t tags[4] = {0, 1, 2, 3};
    fl_ac *ac = fl_ac_build(lits, tags, 4);
    assert_non_null(ac);
    static char subj[1200];
    for (int simd = 0; simd < 2; simd++) {
        fl_ac_set_simd(ac, simd);
        for (size_t len = 10; len <= 800; len += len < 90 || (len > 230 && len < 280) || (len > 500 && len < 530) ? 1 : 37)
            for (size_t at = 0; at + 10 <= len; at += at < 20 || at + 40 > len || (at > 230 && at < 270) ? 1 : 13) {
                memset(subj, 'x', len);
                memcpy(subj + at, "ABCDEFGHIJ", 10);
                struct hits h;
                memset(&h, 0, sizeof h);
                assert_int_equal(fl_ac_scan(ac, subj, len, on_hit, &h), 0);
                assert_int_equal(h.count[0], 1);
                assert_int_equal(h.count[1], 1);
                assert_int_equal(h.count[2], 1);
                assert_int_equal(h.count[3], naive_count(subj, len, lits[3]));
            }
        /* The 41-byte literal: found only when the x run before the y reaches 40. */
        memset(subj, 'x', 1000);
        subj[1000] = 'y';
        for (size_t from = 0; from <= 1000; from++) {
            struct hits h;
            memset(&h, 0, sizeof h);
            fl_ac_scan(ac, subj + from, 1001 - from, on_hit, &h);
            assert_int_equal(h.count[3], 1000 - from >= 40 ? 1 : 0);
            assert_int_equal(h.count[2], 0);
        }
    }
    fl_ac_free(ac);
}

/* Random literal sets of 1 to 40 bytes that share windows (made from a
 * small alphabet, from pieces of one another, and duplicated), against
 * random subjects up to 700 bytes (several chunks) made of those literals in
 * mixed case, glued with noise that includes NULs and bytes >= 0x80, with
 * literals placed at the very start and end: every occurrence of every
 * literal is reported, with the vector scan and without; and a callback
 * that returns non-zero after k hits gets exactly k calls, and its value
 * back. */
static void random_literal(char *out, const char *const *prev, uint32_t nprev)
{
    static const char alpha[] = "abcde AB.-\x80\xc3\xa9\xff" "09";
    int len = 1 + (rn(4) == 0 ? rn(40) : rn(12));
    if (nprev && rn(3) == 0) { /* a piece of an earlier one, maybe extended */
        const char *p = prev[rn((int)nprev)];
        int pl = (int)strlen(p), from = rn(pl), n = 1 + rn(pl - from);
        memcpy(out, p + from, (size_t)n);
        for (int k = n; k < len && n + (k - n) < 40; k++) out[k] = alpha[rn((int)sizeof alpha - 1)];
        if (len < n) len = n;
    } else
        for (int k = 0; k < len; k++) out[k] = alpha[rn((int)sizeof alpha - 1)];
    out[len] = '\0';
    lower(out);
}

static size_t random_subject(char *subj, size_t cap, char *const *lits, uint32_t n)
{
    size_t len = 0, want = (size_t)rn((int)cap - 50);
    while (len < want) {
        if (n && rn(2) == 0) {
            const char *l = lits[rn((int)n)];
            size_t ll = strlen(l);
            for (size_t k = 0; k < ll && len < cap; k++)
                subj[len++] = (char)(l[k] >= 'a' && l[k] <= 'z' && rn(2) ? l[k] - 32 : l[k]);
        } else
            subj[len++] = (char)(rn(8) == 0 ? 0 : rn(4) == 0 ? 0x80 + rn(128) : "abcde AB.-09xyz"[rn(15)]);
    }
    if (n && len + 40 < cap) { /* one at the very end */
        const char *l = lits[rn((int)n)];
        memcpy(subj + len, l, strlen(l));
        len += strlen(l);
    }
    return len;
}

static void check_scan(const fl_ac *ac, char *const *lits, uint32_t n, const char *subj, size_t len)
{
    struct hits h;
    memset(&h, 0, sizeof h);
    assert_int_equal(fl_ac_scan(ac, subj, len, on_hit, &h), 0);
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t want = naive_count(subj, len, lits[i]);
        if (h.count[i] != want) print_error("literal '%s' found %u times, want %u\n", lits[i], h.count[i], want);
        assert_int_equal(h.count[i], want);
        total += want;
    }
    assert_int_equal(h.total, total);
    if (total) {
        uint32_t k = 1 + (uint32_t)rn((int)total);
        memset(&h, 0, sizeof h);
        h.stop_after = k;
        assert_int_equal(fl_ac_scan(ac, subj, len, on_hit, &h), 7);
        assert_int_equal(h.total, k);
    }
}

static void test_ac_random_differential(void **s)
{
    (void)s;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        g_rng = seed * 7919;
        for (int round = 0; round < 40; round++) {
            char *lits[64];
            uint32_t tags[64], n = (uint32_t)rn(64);
            for (uint32_t i = 0; i < n; i++) {
                lits[i] = malloc(48);
                if (i && rn(8) == 0) strcpy(lits[i], lits[rn((int)i)]); /* a duplicate, its own tag */
                else random_literal(lits[i], (const char *const *)lits, i);
                tags[i] = i;
            }
            fl_ac *ac = fl_ac_build(lits, tags, n);
            assert_non_null(ac);
            assert_int_equal(fl_ac_check(ac), 0);
            for (int k = 0; k < 12; k++) {
                char subj[760];
                size_t len = random_subject(subj, 700, lits, n);
                if (n && rn(2)) memcpy(subj, lits[0], strlen(lits[0]) < len ? strlen(lits[0]) : len); /* at the start */
                fl_ac_set_simd(ac, 1);
                check_scan(ac, lits, n, subj, len);
                fl_ac_set_simd(ac, 0);
                check_scan(ac, lits, n, subj, len);
            }
            fl_ac_free(ac);
            for (uint32_t i = 0; i < n; i++) free(lits[i]);
        }
    }
}

/* The stock pack's literals -- those its message patterns cannot match
 * without, as the index files them -- against messages that hold some of
 * them in mixed case amid ordinary words: the same hits as a naive search,
 * per literal. */
struct counts {
    uint32_t *count;
    uint32_t n;
};

static int count_hit(uint32_t tag, void *arg)
{
    struct counts *c = arg;
    assert_true(tag < c->n);
    c->count[tag]++;
    return 0;
}

static uint32_t stock_literals(char **out, uint32_t max)
{
    fl_engine_t *e = NULL;
    fl_engine_options_t o = {0};
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_diag_t diag;
    o.seed = 1;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load(e, FL_SOURCE_DIR "/policies", &diag), FL_OK);
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    fl_decide(ctx, ev, NULL, 0, d); /* pins the version */
    const fl_version *v = ctx->ver;
    uint32_t n = 0;
    for (uint32_t i = 0; i < v->nrules; i++)
        for (uint32_t k = 0; k < v->rules[i].nconds; k++) {
            const fl_cond *c = &v->rules[i].conds[k];
            if (c->field == FL_CF_MESSAGE && c->kind == FL_CK_REGEX && n + 32 <= max)
                n += fl_required_literals(c->pattern, out + n, 32);
        }
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    return n;
}

static void test_ac_stock_literals(void **s)
{
    (void)s;
    static char *lits[20000];
    uint32_t n = stock_literals(lits, 20000), *tags = malloc(n * sizeof *tags);
    assert_true(n > 1000);
    for (uint32_t i = 0; i < n; i++) tags[i] = i;
    fl_ac *ac = fl_ac_build(lits, tags, n);
    assert_non_null(ac);
    assert_int_equal(fl_ac_check(ac), 0);
    assert_true(fl_ac_size(ac) > 0);
    struct counts c = {calloc(n, sizeof *c.count), n};
    static const char *const words[] = {"the ", "request ", "failed: ", "at ", "10.0.0.7:5432 ", "Error ",
                                        "user=42 ", "(retry) ", "timeout ", "\xc3\xa9t\xc3\xa9 "};
    g_rng = 4242;
    for (int k = 0; k < 150; k++) {
        char subj[600];
        size_t len = 0;
        for (int w = rn(12); w >= 0 && len < 450; w--) {
            const char *t = rn(3) ? words[rn(10)] : lits[rn((int)n)];
            for (size_t i = 0; t[i] && len < 450; i++)
                subj[len++] = (char)(t[i] >= 'a' && t[i] <= 'z' && rn(3) == 0 ? t[i] - 32 : t[i]);
        }
        for (int simd = 0; simd < 2; simd++) {
            fl_ac_set_simd(ac, simd);
            memset(c.count, 0, n * sizeof *c.count);
            assert_int_equal(fl_ac_scan(ac, subj, len, count_hit, &c), 0);
            for (uint32_t i = 0; i < n; i++) {
                uint32_t want = naive_count(subj, len, lits[i]);
                if (c.count[i] != want) print_error("stock literal '%s' found %u times, want %u\n", lits[i], c.count[i], want);
                assert_int_equal(c.count[i], want);
            }
        }
    }
    fl_ac_free(ac);
    for (uint32_t i = 0; i < n; i++) free(lits[i]);
    free(c.count);
    free(tags);
}

/* ---- the index never loses a match --------------------------------------------------- */

enum { C_DOMAIN, C_CODE, C_MSG, C_OP, C_TAG, C_ATTEMPT, C_NCOND };

struct grule {
    int has[C_NCOND];
    int domain;   /* index into k_rdomains */
    int code;     /* index into k_rcodes */
    int msg;      /* index into k_patterns */
    int op;       /* 0 "a", 1 present, 2 absent */
    int attempt;  /* 0 range(2,nil), 1 {1,2} */
    int priority;
    pcre2_code *re;
};

static const char *const k_rdomains[][2] = {{"http", NULL}, {"posix", "Grpc"}, {"HTTP", "redis"}};
static const char *const k_rcodes[] = {"\"404\"", "404", "{ \"E1\", 500 }", "range(400, 499)", "\"E1\"", "{ 7, \"ECONNRESET\" }"};
static const char *const k_patterns[] = {
    "timeout", "(?i)connection refused", "timed out|timeout", "colou?r", "^\\d+$", "(?x) foo \\s bar",
    "[0-9]+ms", "(?:dis|re)connect", "a|", "refused$", "(?i)DISK FULL", "ab{2}c", "x*yz",
    "caf\xc3\xa9", "(?i)caf\xc3\xa9", "\\Qa.b\\E", "foo\\.bar", "(?i:err)or", "^$", "(?<w>\\w+) failed",
};
static const char *const k_words[] = {
    "timeout", "Connection REFUSED", "timed out", "color", "colour", "12345", "foo bar", "150ms",
    "disconnect", "reconnect", "refused", "disk full", "DISK FULL", "abbc", "yz", "caf\xc3\xa9",
    "CAF\xc3\x89", "a.b", "foo.bar", "ERRor", "job failed", "x", "",
};
static const char *const k_edomains[] = {NULL, "http", "HTTP", "posix", "grpc", "redis"};
static const char *const k_ecodes[] = {NULL, "\"404\"", "404", "\"0404\"", "\"404.0\"", "\"E1\"", "\"e1\"", "500",
                                        "\"500\"", "7", "\"ECONNRESET\"", "-1", "450", "\"4x4\""};

/* The condition semantics of docs/policy-language.md, written independently. */
static int num_of(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) return 0;
    char *end;
    *out = strtod(s, &end);
    return *end == '\0';
}

static int code_matches(int rc, const char *ecode)
{
    if (!ecode) return 0;
    double x = 0;
    int isnum = num_of(ecode, &x);
    switch (rc) {
    case 0: return strcmp(ecode, "404") == 0;
    case 1: return isnum && x == 404;
    case 2: return strcmp(ecode, "E1") == 0 || (isnum && x == 500);
    case 3: return isnum && x >= 400 && x <= 499;
    case 4: return strcmp(ecode, "E1") == 0;
    case 5: return strcmp(ecode, "ECONNRESET") == 0 || (isnum && x == 7);
    }
    return 0;
}

struct gevent {
    const char *domain;
    char code[16];
    int has_code;
    char msg[128];
    int has_msg;
    const char *op;
    const char *tag;
    int attempt;
};

static int rule_matches(const struct grule *r, const struct gevent *e, pcre2_match_data *md)
{
    if (r->has[C_DOMAIN]) {
        if (!e->domain) return 0;
        int ok = 0;
        for (int i = 0; i < 2; i++)
            if (k_rdomains[r->domain][i] && strcasecmp(k_rdomains[r->domain][i], e->domain) == 0) ok = 1;
        if (!ok) return 0;
    }
    if (r->has[C_CODE] && !code_matches(r->code, e->has_code ? e->code : NULL)) return 0;
    if (r->has[C_MSG]) {
        if (!e->has_msg) return 0;
        if (pcre2_match(r->re, (PCRE2_SPTR)e->msg, strlen(e->msg), 0, 0, md, NULL) < 0) return 0;
    }
    if (r->has[C_OP]) {
        if (r->op == 0 && !(e->op && strcmp(e->op, "a") == 0)) return 0;
        if (r->op == 1 && !e->op) return 0;
        if (r->op == 2 && e->op) return 0;
    }
    if (r->has[C_TAG] && !(e->tag && strcmp(e->tag, "x") == 0)) return 0;
    if (r->has[C_ATTEMPT]) {
        if (r->attempt == 0 && e->attempt < 2) return 0;
        if (r->attempt == 1 && e->attempt > 2) return 0;
    }
    return 1;
}

static void test_index_equals_brute_force(void **s)
{
    (void)s;
    int matched = 0, total = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        g_rng = seed * 7777;
        int nrules = 1 + rn(40);
        struct grule rules[40];
        fl_strbuf src = {0};
        for (int i = 0; i < nrules; i++) {
            struct grule *r = &rules[i];
            memset(r, 0, sizeof *r);
            r->has[C_DOMAIN] = rn(10) < 3;
            r->has[C_CODE] = rn(10) < 3;
            r->has[C_MSG] = rn(10) < 6;
            r->has[C_OP] = rn(10) < 2;
            r->has[C_TAG] = rn(10) < 1;
            r->has[C_ATTEMPT] = rn(10) < 1;
            r->domain = rn(3);
            r->code = rn(6);
            r->msg = rn((int)(sizeof k_patterns / sizeof *k_patterns));
            r->op = rn(3);
            r->attempt = rn(2);
            r->priority = rn(5) == 0 ? rn(3) - 1 : 0;
            fl_sb_printf(&src, "rule \"r%d\" { category = \"internal\", priority = %d, when = {", i, r->priority);
            if (r->has[C_DOMAIN])
                fl_sb_printf(&src, " domain = { \"%s\"%s%s%s },", k_rdomains[r->domain][0],
                             k_rdomains[r->domain][1] ? ", \"" : "",
                             k_rdomains[r->domain][1] ? k_rdomains[r->domain][1] : "",
                             k_rdomains[r->domain][1] ? "\"" : "");
            if (r->has[C_CODE]) fl_sb_printf(&src, " code = %s,", k_rcodes[r->code]);
            if (r->has[C_MSG]) fl_sb_printf(&src, " message = re[==[%s]==],", k_patterns[r->msg]);
            if (r->has[C_OP]) fl_sb_printf(&src, " op = %s,", r->op == 0 ? "\"a\"" : r->op == 1 ? "present" : "absent");
            if (r->has[C_TAG]) fl_sb_printf(&src, " [\"tags.service\"] = \"x\",");
            if (r->has[C_ATTEMPT]) fl_sb_printf(&src, " attempt = %s,", r->attempt == 0 ? "range(2, nil)" : "{ 1, 2 }");
            fl_sb_puts(&src, " } }\n");
            int err;
            PCRE2_SIZE off;
            r->re = pcre2_compile((PCRE2_SPTR)k_patterns[r->msg], PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
            assert_non_null(r->re);
        }
        /* Evaluation order: priority (higher first), then declaration. */
        int order[40], no = 0;
        for (int p = 1; p >= -1; p--)
            for (int i = 0; i < nrules; i++)
                if (rules[i].priority == p) order[no++] = i;
        assert_int_equal(no, nrules);
        flt t;
        flt_open(&t, fl_sb_cstr(&src));
        pcre2_match_data *md = pcre2_match_data_create(32, NULL);
        for (int k = 0; k < 300; k++) {
            struct gevent e;
            memset(&e, 0, sizeof e);
            e.domain = k_edomains[rn(6)];
            const char *code = k_ecodes[rn((int)(sizeof k_ecodes / sizeof *k_ecodes))];
            if (code) {
                e.has_code = 1;
                snprintf(e.code, sizeof e.code, "%.*s", (int)strlen(code) - (code[0] == '"') * 2,
                         code + (code[0] == '"'));
            }
            if (rn(8)) {
                e.has_msg = 1;
                int nw = 1 + rn(3);
                for (int w = 0; w < nw; w++) {
                    if (w) strcat(e.msg, " ");
                    strcat(e.msg, k_words[rn((int)(sizeof k_words / sizeof *k_words))]);
                }
            }
            e.op = rn(3) == 0 ? NULL : rn(2) ? "a" : "b";
            e.tag = rn(3) == 0 ? "x" : NULL;
            e.attempt = 1 + rn(4);
            /* the event as JSON */
            char j[512], msgj[300];
            fl_strbuf jb = {0};
            fl_sb_printf(&jb, "{\"attempt\":%d", e.attempt);
            if (e.domain) fl_sb_printf(&jb, ",\"domain\":\"%s\"", e.domain);
            if (code) fl_sb_printf(&jb, ",\"code\":%s", code);
            if (e.has_msg) {
                snprintf(msgj, sizeof msgj, "%s", e.msg);
                fl_sb_printf(&jb, ",\"message\":\"%s\"", msgj);
            }
            if (e.op) fl_sb_printf(&jb, ",\"op\":\"%s\"", e.op);
            if (e.tag) fl_sb_printf(&jb, ",\"tags\":{\"service\":\"%s\"}", e.tag);
            fl_sb_puts(&jb, "}");
            snprintf(j, sizeof j, "%s", fl_sb_cstr(&jb));
            fl_sb_free(&jb);
            /* brute force */
            char want[16] = "default";
            for (int i = 0; i < nrules; i++)
                if (rule_matches(&rules[order[i]], &e, md)) {
                    snprintf(want, sizeof want, "r%d", order[i]);
                    break;
                }
            const char *got = flt_rule(&t, j);
            if (strcmp(got, want) != 0) print_error("seed %llu: event %s: index chose %s, brute force %s\nrules:\n%s",
                                                    (unsigned long long)seed, j, got, want, fl_sb_cstr(&src));
            assert_string_equal(got, want);
            matched += strcmp(want, "default") != 0;
            total++;
        }
        pcre2_match_data_free(md);
        for (int i = 0; i < nrules; i++) pcre2_code_free(rules[i].re);
        flt_close(&t);
        fl_sb_free(&src);
    }
    /* the generator produces both outcomes in quantity */
    assert_true(matched > total / 5);
    assert_true(total - matched > total / 20);
}

/* ---- adversarial key counts ------------------------------------------------------------ */

/* Rules whose domain x code sets bring as many keys as the hash table has
 * slots, or one more, or cross a growth step: issue 22 (a 9 x 8 rule hung
 * the loader; an 8 x 8 rule filled the table so every lookup of an absent
 * key spun).  Each shape is loaded and decided against a brute-force
 * evaluation of the rules in order, with present and absent keys. */
struct kshape {
    int nrules;
    int nd[4], nc[4]; /* per rule; 0 means the condition is absent */
};

static void test_index_adversarial_key_counts(void **s)
{
    (void)s;
    static const struct kshape shapes[] = {
        {1, {8}, {8}},         {1, {9}, {8}},          {1, {1}, {64}},         {1, {64}, {1}},
        {1, {1}, {65}},        {1, {0}, {64}},         {1, {64}, {0}},         {1, {16}, {16}},
        {1, {33}, {8}},        {1, {256}, {1}},        {1, {1}, {256}},        {1, {64}, {64}},
        {1, {256}, {256}},     {2, {8, 1}, {8, 1}},    {2, {8, 1}, {8, 2}},    {3, {4, 4, 1}, {8, 8, 1}},
        {2, {8, 9}, {8, 8}},   {4, {8, 8, 8, 8}, {8, 8, 8, 8}}, {3, {16, 0, 2}, {4, 64, 0}},
        {2, {127, 1}, {1, 1}}, {2, {128, 1}, {1, 1}},  {2, {129, 0}, {1, 3}},
    };
    g_rng = 4242;
    int matched = 0, total = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const struct kshape *sh = &shapes[si];
        /* Rule i: domains d<off>..d<off+nd-1>, codes c<off>.. (every third a
         * number); offsets overlap so several rules share keys. */
        int off[4];
        fl_strbuf src = {0};
        for (int i = 0; i < sh->nrules; i++) {
            off[i] = i * 3;
            fl_sb_printf(&src, "rule \"r%d\" { category = \"internal\", when = {", i);
            if (sh->nd[i]) {
                fl_sb_puts(&src, " domain = {");
                for (int k = 0; k < sh->nd[i]; k++) fl_sb_printf(&src, "%s\"d%d\"", k ? "," : "", off[i] + k);
                fl_sb_puts(&src, " },");
            }
            if (sh->nc[i]) {
                fl_sb_puts(&src, " code = {");
                for (int k = 0; k < sh->nc[i]; k++) {
                    int c = off[i] + k;
                    if (c % 3 == 0) fl_sb_printf(&src, "%s%d", k ? "," : "", 1000 + c);
                    else fl_sb_printf(&src, "%s\"c%d\"", k ? "," : "", c);
                }
                fl_sb_puts(&src, " },");
            }
            fl_sb_puts(&src, " } }\n");
        }
        flt t;
        flt_open(&t, fl_sb_cstr(&src)); /* the loader must not hang */
        int maxk = 0;
        for (int i = 0; i < sh->nrules; i++) {
            if (off[i] + sh->nd[i] > maxk) maxk = off[i] + sh->nd[i];
            if (off[i] + sh->nc[i] > maxk) maxk = off[i] + sh->nc[i];
        }
        for (int k = 0; k < 200; k++) {
            int d = rn(6) == 0 ? -1 : rn(maxk + 4), c = rn(6) == 0 ? -1 : rn(maxk + 4);
            if (k == 0) d = 1, c = 1; /* the event that hung the 8 x 8 policy */
            char j[128];
            int n = snprintf(j, sizeof j, "{\"message\":\"x\"");
            if (d >= 0) n += snprintf(j + n, sizeof j - (size_t)n, ",\"domain\":\"d%d\"", d);
            if (c >= 0 && c % 3 == 0) n += snprintf(j + n, sizeof j - (size_t)n, ",\"code\":%d", 1000 + c);
            else if (c >= 0) n += snprintf(j + n, sizeof j - (size_t)n, ",\"code\":\"c%d\"", c);
            snprintf(j + n, sizeof j - (size_t)n, "}");
            char want[16] = "default";
            for (int i = 0; i < sh->nrules; i++) {
                int dok = !sh->nd[i] || (d >= off[i] && d < off[i] + sh->nd[i]);
                int cok = !sh->nc[i] || (c >= off[i] && c < off[i] + sh->nc[i]);
                if (dok && cok) {
                    snprintf(want, sizeof want, "r%d", i);
                    break;
                }
            }
            const char *got = flt_rule(&t, j);
            if (strcmp(got, want) != 0)
                print_error("shape %zu: event %s: index chose %s, brute force %s\n", si, j, got, want);
            assert_string_equal(got, want);
            matched += strcmp(want, "default") != 0;
            total++;
        }
        flt_close(&t);
        fl_sb_free(&src);
    }
    assert_true(matched > total / 5);
    assert_true(total - matched > total / 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_literals_table),
        cmocka_unit_test(test_required_literals_max),
        cmocka_unit_test(test_required_literals_random_soundness),
        cmocka_unit_test(test_ac_vs_naive),
        cmocka_unit_test(test_ac_edge_cases),
        cmocka_unit_test(test_ac_chunk_borders),
        cmocka_unit_test(test_ac_random_differential),
        cmocka_unit_test(test_ac_stock_literals),
        cmocka_unit_test(test_index_equals_brute_force),
        cmocka_unit_test(test_index_adversarial_key_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
