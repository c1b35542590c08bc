/*
 * gramfilter.c -- the literal prefilter of the matcher (acmatch.h): every
 * occurrence of every literal of the rules' message patterns in a message,
 * ASCII letters case-folded.
 *
 * Why not the Aho-Corasick DFA it replaces: over the stock pack's ~4,500
 * literals (mean ~14 bytes) the DFA had ~50,000 states x 64 byte classes x 2
 * bytes = 6.5 MB of table, built in ~15 ms for every policy version, and its
 * scan is a chain of dependent loads, one per subject byte, into a table far
 * beyond L2.  This filter is ~0.25 MB, built in ~6 ms, and its per-position
 * loads do not depend on one another.  (Per decision it is about as fast as
 * the DFA was on the stock pack and the benchmark stream: see
 * docs/architecture.md for the figures and what was tried.)
 *
 * Each literal is filed under ONE window: 4 folded bytes of it -- of those,
 * the one that fewest other literals contain, then the one with the least
 * common bytes in ordinary text -- or the whole literal when it is shorter.
 * The windows' hashes set bits in a bitmap (one for 4-byte windows, a
 * 256-bit one for the few short literals), and the literals are stored once
 * per folded text, grouped by the top bits of their window's hash (a bucket
 * table, about one literal per bucket), each with its tags.
 *
 * The scan folds the subject into a stack buffer (chunk by chunk: nothing is
 * allocated, whatever the length), tests at every position the bit of the
 * window there (8 positions at a time with AVX2 when the CPU has it), and
 * only for the positions that pass reads the bucket and compares the
 * literals whose window it is, where they would start.  Every occurrence of
 * a literal contains its window at its offset: every occurrence is found,
 * and reported once, with all the literal's tags.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FL_GRAM_AVX2 1
#endif

#include "acmatch.h"

/* 2^17 bits = 16 KB of bitmap: the stock pack's 4,413 literals have 3,587
 * distinct windows, which set 3,539 bits, so a random position passes the
 * test 2.7 % of the time.  A pass costs a bucket
 * and a record read (cache misses, in a decision): 2^16 and 2^15 bits were
 * slower, 2^18 no faster (docs/architecture.md). */
#define FL_GRAM_BITS 17
/* Windows of 1 to 3 bytes (whole short literals: a handful) have their own
 * bitmap of 256 bits: it fits an AVX2 register. */
#define FL_GRAM_SHORT_BITS 8
#define FL_GRAM_MUL 0x9E3779B1u
/* Subjects are folded this many bytes at a time into a stack buffer (at
 * most FL_CAND_POS + 1). */
#define FL_GRAM_CHUNK 256

/* A literal's record in the arena (uint32_t words): this header, its tags,
 * its folded text (padded to a word).  The records are grouped by bucket (the
 * top bits of their window's hash), so a lookup reads one bucket bound and
 * then records that are next to each other. */
struct grec {
    uint32_t key;       /* its window: see gram_hash         */
    uint32_t len, woff; /* text bytes; the window's offset   */
    uint32_t ntag;
};

struct fl_ac {
    uint64_t bitmap[(1u << FL_GRAM_BITS) / 64];
    uint64_t short_bitmap[(1u << FL_GRAM_SHORT_BITS) / 64];
    uint32_t wlens;      /* bit L set: some window is L bytes long */
    int avx2;            /* the CPU has it: 8 positions at a time  */
    uint32_t tbits;      /* buckets == 1 << tbits                  */
    uint32_t *bucket;    /* records of bucket b: words [bucket[b], bucket[b + 1]) */
    uint32_t *arena;     /* the records                            */
    size_t words;
    uint32_t nlit;       /* records                                */
};

static inline unsigned char fold1(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* A window's key: 4 folded bytes of a literal, or a whole literal of 1 to 3
 * bytes (its bytes in the low bits, the rest 0).  Literals hold no NUL, so
 * the key tells the window's length. */
static inline uint32_t wlen_of_key(uint32_t key) { return key >> 24 ? 4 : key >> 16 ? 3 : key >> 8 ? 2 : 1; }

static inline uint32_t wlen_of_len(uint32_t len) { return len < 4 ? len : 4; }

/* Windows of different lengths hash apart (a short one's top byte is 0). */
static inline uint32_t gram_hash(uint32_t key, uint32_t wlen)
{
    return (wlen < 4 ? key | wlen << 24 : key) * FL_GRAM_MUL;
}

static inline uint32_t wmask(uint32_t wlen) { return wlen < 4 ? (1u << (8 * wlen)) - 1 : UINT32_MAX; }

/* The bitmap for windows of wlen bytes, and the bit of hash h in it. */
static inline const uint64_t *bitmap_for(const fl_ac *g, uint32_t wlen)
{
    return wlen == 4 ? g->bitmap : g->short_bitmap;
}

static inline uint32_t bit_of(uint32_t h, uint32_t wlen)
{
    return h >> (32 - (wlen == 4 ? FL_GRAM_BITS : FL_GRAM_SHORT_BITS));
}

static inline int bit_test(const uint64_t *bm, uint32_t i) { return (int)(bm[i >> 6] >> (i & 63)) & 1; }

/* 4 bytes at p as one number, the first byte lowest (one load on a
 * little-endian machine), so that a short window is the low bytes. */
static inline uint32_t load32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The key of the window of a literal of len bytes at p. */
static uint32_t key_at(const unsigned char *p, uint32_t len)
{
    unsigned char b[4] = {0};
    memcpy(b, p, wlen_of_len(len));
    return load32(b);
}

static inline const struct grec *rec_at(const fl_ac *g, uint32_t at) { return (const struct grec *)(g->arena + at); }
static inline const uint32_t *rec_tags(const struct grec *r) { return (const uint32_t *)(r + 1); }
static inline const unsigned char *rec_text(const struct grec *r)
{
    return (const unsigned char *)(rec_tags(r) + r->ntag);
}
static inline size_t rec_words(uint32_t len, uint32_t ntag)
{
    return sizeof(struct grec) / 4 + (size_t)ntag + ((size_t)len + 3) / 4;
}

static inline uint32_t bucket_of(const fl_ac *g, uint32_t key)
{
    return gram_hash(key, wlen_of_key(key)) >> (32 - g->tbits);
}

static inline const struct grec *next_rec(const struct grec *r)
{
    return (const struct grec *)(rec_text(r) + ((r->len + 3) & ~3u));
}

/* ---- building ------------------------------------------------------------- */

struct src {
    const char *s; /* folded copy, owned by the builder */
    uint32_t len, tag;
};

static int cmp_src(const void *a, const void *b)
{
    const struct src *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->tag > y->tag) - (x->tag < y->tag);
}

/* Folded, sorted copies of the non-empty literals (equal ones adjacent);
 * *n becomes their number. */
static struct src *gather(char *const *lits, const uint32_t *tags, uint32_t *n)
{
    struct src *v = calloc(*n ? *n : 1, sizeof *v);
    uint32_t m = 0;
    for (uint32_t i = 0; v && i < *n; i++) {
        size_t len = strlen(lits[i]);
        char *c = len && len < UINT32_MAX / 2 ? malloc(len + 1) : NULL;
        if (len && !c) {
            for (uint32_t k = 0; k < m; k++) free((char *)v[k].s);
            free(v);
            return NULL;
        }
        if (!c) continue; /* an empty literal is found nowhere (as before) */
        for (size_t k = 0; k <= len; k++) c[k] = (char)fold1((unsigned char)lits[i][k]);
        v[m++] = (struct src){c, (uint32_t)len, tags[i]};
    }
    *n = m;
    if (v) qsort(v, m, sizeof *v, cmp_src);
    return v;
}

/* A distinct literal while building: src[first .. first + ntag) are its
 * copies (one per tag). */
struct ulit {
    uint32_t first, ntag, len, woff, key;
};

/* One ulit per distinct folded text; NULL on allocation failure. */
static struct ulit *distinct(const struct src *v, uint32_t n, uint32_t *nu)
{
    struct ulit *u = calloc(n ? n : 1, sizeof *u);
    *nu = 0;
    for (uint32_t i = 0; u && i < n; i++) {
        if (!i || strcmp(v[i].s, v[i - 1].s) != 0) u[(*nu)++] = (struct ulit){i, 0, v[i].len, 0, 0};
        u[*nu - 1].ntag++;
    }
    return u;
}

/* 4-byte window -> number of distinct literals that contain it. */
struct wcount {
    uint32_t *key, *n, *last; /* last: the literal that counted it last */
    uint32_t mask;
};

static uint32_t *wc_at(const struct wcount *wc, uint32_t w)
{
    uint32_t i = gram_hash(w, 4) & wc->mask;
    while (wc->n[i] && wc->key[i] != w) i = (i + 1) & wc->mask;
    return &wc->n[i];
}

static int wc_build(struct wcount *wc, const struct src *v, const struct ulit *u, uint32_t nu)
{
    size_t total = 0;
    for (uint32_t k = 0; k < nu; k++) total += u[k].len >= 4 ? u[k].len - 3 : 0;
    size_t size = 64;
    while (size < total * 2) size *= 2;
    wc->mask = (uint32_t)size - 1;
    wc->key = malloc(size * sizeof *wc->key);
    wc->n = calloc(size, sizeof *wc->n);
    wc->last = malloc(size * sizeof *wc->last);
    if (!wc->key || !wc->n || !wc->last) return -1;
    for (uint32_t k = 0; k < nu; k++)
        for (uint32_t o = 0; o + 4 <= u[k].len; o++) {
            uint32_t w = load32((const unsigned char *)v[u[k].first].s + o), *n = wc_at(wc, w);
            size_t i = (size_t)(n - wc->n);
            if (!*n) wc->key[i] = w;
            else if (wc->last[i] == k) continue;
            wc->last[i] = k;
            (*n)++;
        }
    return 0;
}

static void wc_free(struct wcount *wc)
{
    free(wc->key);
    free(wc->n);
    free(wc->last);
}

/* How common a window's bytes are in ordinary messages: spaces and frequent
 * letters make a window that passes the bitmap test often. */
static uint32_t byte_weight(unsigned char b)
{
    switch (b) {
    case ' ': return 4;
    case 'e': case 't': case 'a': case 'o': case 'i': case 'n': case 's': case 'r': return 2;
    case 'h': case 'l': case 'd': case 'c': case 'u': case 'm': case '.': case ':': return 1;
    default: return 0;
    }
}

static uint32_t commonness(uint32_t w)
{
    return byte_weight((unsigned char)w) + byte_weight((unsigned char)(w >> 8)) +
           byte_weight((unsigned char)(w >> 16)) + byte_weight((unsigned char)(w >> 24));
}

/* The offset of the 4-byte window fewest literals share, then of the least
 * common one. */
static uint32_t pick_window(const struct wcount *wc, const unsigned char *text, uint32_t len)
{
    uint64_t best = UINT64_MAX;
    uint32_t at = 0;
    for (uint32_t o = 0; o + 4 <= len; o++) {
        uint32_t w = load32(text + o);
        uint64_t score = (uint64_t)*wc_at(wc, w) << 8 | commonness(w);
        if (score < best) best = score, at = o;
    }
    return at;
}

static int choose_windows(const struct src *v, struct ulit *u, uint32_t nu)
{
    struct wcount wc = {0};
    int rc = wc_build(&wc, v, u, nu);
    for (uint32_t k = 0; rc == 0 && k < nu; k++) {
        const unsigned char *t = (const unsigned char *)v[u[k].first].s;
        u[k].woff = u[k].len >= 4 ? pick_window(&wc, t, u[k].len) : 0;
        u[k].key = key_at(t + u[k].woff, u[k].len);
    }
    wc_free(&wc);
    return rc;
}

/* A literal with its bucket, for sorting by bucket. */
struct bucketed {
    uint32_t bucket;
    struct ulit u;
};

static int cmp_bucketed(const void *a, const void *b)
{
    const struct bucketed *x = a, *y = b;
    if (x->bucket != y->bucket) return (x->bucket > y->bucket) - (x->bucket < y->bucket);
    return (x->u.first > y->u.first) - (x->u.first < y->u.first);
}

/* Write literal k's record at word `at` of the arena. */
static void put_record(fl_ac *g, uint32_t at, const struct src *v, const struct ulit *k)
{
    struct grec *r = (struct grec *)(g->arena + at);
    *r = (struct grec){k->key, k->len, k->woff, k->ntag};
    uint32_t *tags = (uint32_t *)(r + 1);
    for (uint32_t t = 0; t < k->ntag; t++) tags[t] = v[k->first + t].tag;
    memcpy(tags + k->ntag, v[k->first].s, k->len);
}

static void set_bit(fl_ac *g, uint32_t key)
{
    uint32_t wlen = wlen_of_key(key), b = bit_of(gram_hash(key, wlen), wlen);
    uint64_t *bm = wlen == 4 ? g->bitmap : g->short_bitmap;
    bm[b >> 6] |= 1ull << (b & 63);
    g->wlens |= 1u << wlen;
}

/* About one literal per bucket: the records, grouped by bucket, and a bit
 * per window. */
static int file_windows(fl_ac *g, const struct src *v, const struct ulit *u, uint32_t nu)
{
    for (g->tbits = 4; g->tbits < 30 && (1u << g->tbits) < nu; g->tbits++) {}
    struct bucketed *k = calloc(nu ? nu : 1, sizeof *k);
    g->bucket = calloc(((size_t)1 << g->tbits) + 1, sizeof *g->bucket);
    if (!k || !g->bucket) goto fail;
    for (uint32_t i = 0; i < nu; i++) {
        k[i] = (struct bucketed){bucket_of(g, u[i].key), u[i]};
        g->words += rec_words(u[i].len, u[i].ntag);
    }
    qsort(k, nu, sizeof *k, cmp_bucketed);
    if (g->words > UINT32_MAX || !(g->arena = calloc(g->words, sizeof *g->arena))) goto fail;
    uint32_t at = 0, b = 0;
    for (uint32_t i = 0; i < nu; i++) {
        while (b <= k[i].bucket) g->bucket[b++] = at;
        put_record(g, at, v, &k[i].u);
        set_bit(g, k[i].u.key);
        at += rec_words(k[i].u.len, k[i].u.ntag);
    }
    while (b <= 1u << g->tbits) g->bucket[b++] = at;
    g->nlit = nu;
    free(k);
    return 0;
fail:
    free(k);
    return -1;
}

fl_ac *fl_ac_build(char *const *lits, const uint32_t *tags, uint32_t n)
{
    fl_ac *g = calloc(1, sizeof *g);
    struct src *v = NULL;
    struct ulit *u = NULL;
    uint32_t nu = 0;
    int ok = 0;
    if (!g || !(v = gather(lits, tags, &n)) || !(u = distinct(v, n, &nu))) goto cleanup;
    fl_ac_set_simd(g, 1);
    ok = !nu || (choose_windows(v, u, nu) == 0 && file_windows(g, v, u, nu) == 0);
cleanup:
    for (uint32_t i = 0; v && i < n; i++) free((char *)v[i].s);
    free(v);
    free(u);
    if (!ok) {
        fl_ac_free(g);
        return NULL;
    }
    return g;
}

void fl_ac_set_simd(fl_ac *g, int on)
{
#ifdef FL_GRAM_AVX2
    __atomic_store_n(&g->avx2, on && __builtin_cpu_supports("avx2"), __ATOMIC_RELAXED);
#else
    (void)g, (void)on;
#endif
}

void fl_ac_free(fl_ac *g)
{
    if (!g) return;
    free(g->bucket);
    free(g->arena);
    free(g);
}

size_t fl_ac_size(const fl_ac *g)
{
    if (!g) return 0;
    return sizeof *g + (g->bucket ? (((size_t)1 << g->tbits) + 1) * sizeof *g->bucket : 0) + g->words * 4;
}

/* ---- checking ------------------------------------------------------------- */

/* The record at word `at` of bucket b: inside the bucket, a folded NUL-free
 * text whose window at woff is its key, its key in bucket b with its bit
 * set, tags.  Returns the word after it, 0 if broken. */
static uint32_t check_record(const fl_ac *g, uint32_t at, uint32_t end, uint32_t b)
{
    if (end - at < sizeof(struct grec) / 4) return 0;
    const struct grec *r = rec_at(g, at);
    if (!r->len || !r->ntag || r->len > UINT32_MAX - 3 || r->ntag > end - at ||
        rec_words(r->len, r->ntag) > end - at || rec_words(r->len, r->ntag) < r->ntag)
        return 0;
    if (r->woff > r->len - wlen_of_len(r->len) || key_at(rec_text(r) + r->woff, r->len) != r->key) return 0;
    uint32_t wlen = wlen_of_key(r->key);
    if (bucket_of(g, r->key) != b || !bit_test(bitmap_for(g, wlen), bit_of(gram_hash(r->key, wlen), wlen)) ||
        !(g->wlens >> wlen & 1)) /* the scan skips window lengths not in the mask */
        return 0;
    for (uint32_t k = 0; k < r->len; k++)
        if (!rec_text(r)[k] || fold1(rec_text(r)[k]) != rec_text(r)[k]) return 0;
    return at + rec_words(r->len, r->ntag);
}

int fl_ac_check(const fl_ac *g)
{
    if (!g) return -1;
    if (!g->nlit) return 0;
    if (g->tbits < 4 || g->tbits > 30 || !g->bucket || !g->arena || g->bucket[0] != 0) return -1;
    uint32_t nrec = 0, nb = 1u << g->tbits;
    if (g->bucket[nb] != g->words) return -1;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t at = g->bucket[b], end = g->bucket[b + 1];
        if (end < at || end > g->words) return -1;
        for (; at < end; nrec++)
            if (!(at = check_record(g, at, end, b))) return -1;
    }
    return nrec == g->nlit ? 0 : -1;
}

/* ---- scanning -------------------------------------------------------------- */

#ifdef __SSE2__
static inline void fold16(unsigned char *d, const unsigned char *s)
{
    const __m128i a = _mm_set1_epi8('A'), z = _mm_set1_epi8('Z' - 'A'), bit = _mm_set1_epi8(0x20);
    __m128i x = _mm_loadu_si128((const __m128i *)s), y = _mm_sub_epi8(x, a);
    __m128i upper = _mm_cmpeq_epi8(_mm_min_epu8(y, z), y); /* y <= 25, unsigned */
    _mm_storeu_si128((__m128i *)d, _mm_or_si128(x, _mm_and_si128(upper, bit)));
}
#endif

/* n bytes of s, ASCII letters lower-cased, into d. */
static void fold(unsigned char *d, const unsigned char *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    if (n >= 16) {
        for (; i + 16 <= n; i += 16) fold16(d + i, s + i);
        if (i < n) fold16(d + n - 16, s + n - 16); /* the rest, overlapping */
        return;
    }
#endif
    for (; i < n; i++) d[i] = fold1(s[i]);
}

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* a[0 .. n) == b[0 .. n): 8 bytes at a time, the last 8 overlapping. */
static inline int eq_bytes(const unsigned char *a, const unsigned char *b, uint32_t n)
{
    if (n < 8) return memcmp(a, b, n) == 0;
    for (uint32_t i = 0; i + 8 < n; i += 8)
        if (load64(a + i) != load64(b + i)) return 0;
    return load64(a + n - 8) == load64(b + n - 8);
}

static int eq_folding(const unsigned char *s, const unsigned char *lit, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (fold1(s[k]) != lit[k]) return 0;
    return 1;
}

/* The subject as the scan sees it: the raw bytes, and a folded copy of
 * buf_len bytes of it starting at base (followed by 16 NULs). */
struct subject {
    const unsigned char *s;
    size_t len;
    const unsigned char *buf;
    size_t base, buf_len;
};

/* Does the literal of record r occur where its window would be at subject
 * position pos? */
static int occurs(const struct grec *r, const struct subject *sj, size_t pos)
{
    if (r->len <= 4) return 1; /* the window is the whole literal */
    if (pos < r->woff || pos - r->woff + r->len > sj->len) return 0;
    size_t start = pos - r->woff;
    if (start >= sj->base && start + r->len <= sj->base + sj->buf_len)
        return eq_bytes(sj->buf + (start - sj->base), rec_text(r), r->len);
    return eq_folding(sj->s + start, rec_text(r), r->len); /* across a chunk border */
}

/* Report every literal whose window is key (of wlen bytes, at subject
 * position pos) and that occurs there.  The bucket of key holds the records. */
static int report(const fl_ac *g, uint32_t key, uint32_t wlen, const struct subject *sj, size_t pos,
                  int (*hit)(uint32_t, void *), void *arg)
{
    uint32_t b = bucket_of(g, key);
    const struct grec *r = rec_at(g, g->bucket[b]), *end = rec_at(g, g->bucket[b + 1]);
    /* A window of the subject with NULs may look like a shorter one's key. */
    if (wlen_of_key(key) != wlen) return 0;
    for (; r < end; r = next_rec(r)) {
        if (r->key != key || !occurs(r, sj, pos)) continue;
        for (uint32_t t = 0; t < r->ntag; t++) {
            int rc = hit(rec_tags(r)[t], arg);
            if (rc) return rc;
        }
    }
    return 0;
}

/* Candidates: positions of buf whose window passed its bitmap, with the
 * window's length in the top bits. */
#define FL_CAND_POS 0x0fffu
#define FL_CAND_WLEN_SHIFT 12

/* The number of positions in the chunk with a whole window of wlen bytes. */
static inline size_t positions(size_t buf_len, uint32_t wlen)
{
    if (buf_len < wlen) return 0;
    return buf_len - wlen + 1 < FL_GRAM_CHUNK ? buf_len - wlen + 1 : FL_GRAM_CHUNK;
}

/* Append to at[n ..) the positions of buf whose window of wlen bytes has its
 * bit set; returns the new n.  No branch: a set bit is hard to predict. */
static size_t candidates(const fl_ac *g, const unsigned char *buf, size_t buf_len, uint32_t wlen, uint16_t *at,
                         size_t n)
{
    const uint32_t mask = wmask(wlen), npos = (uint32_t)positions(buf_len, wlen);
    const uint64_t *bm = bitmap_for(g, wlen);
    for (uint32_t i = 0; i < npos; i++) {
        at[n] = (uint16_t)(i | wlen << FL_CAND_WLEN_SHIFT);
        n += (size_t)bit_test(bm, bit_of(gram_hash(load32(buf + i) & mask, wlen), wlen));
    }
    return n;
}

static size_t candidates_plain(const fl_ac *g, const unsigned char *buf, size_t buf_len, uint16_t *at)
{
    size_t n = 0;
    for (uint32_t wlen = 4; wlen >= 1; wlen--)
        if (g->wlens >> wlen & 1) n = candidates(g, buf, buf_len, wlen, at, n);
    return n;
}

#ifdef FL_GRAM_AVX2
/* The bits of windows of wlen bytes at buf[i .. i + 8), given the 8 windows
 * w: 8 hashes, then the 8 bitmap words -- for 4-byte windows in one gather
 * (the bitmap read as 32-bit words: the same bits on a little-endian
 * machine); the short bitmap is 256 bits: it fits a register, and one
 * permute picks the words. */
__attribute__((target("avx2"))) static inline unsigned bits8(const fl_ac *g, __m256i w, uint32_t wlen)
{
    const __m256i mask = _mm256_set1_epi32((int)wmask(wlen)), salt = _mm256_set1_epi32(wlen < 4 ? (int)(wlen << 24) : 0);
    const __m256i mul = _mm256_set1_epi32((int)FL_GRAM_MUL), low5 = _mm256_set1_epi32(31);
    __m256i h = _mm256_mullo_epi32(_mm256_or_si256(_mm256_and_si256(w, mask), salt), mul), idx, word;
    if (wlen == 4) {
        idx = _mm256_srli_epi32(h, 32 - FL_GRAM_BITS);
        word = _mm256_i32gather_epi32((const int *)g->bitmap, _mm256_srli_epi32(idx, 5), 4);
    } else {
        idx = _mm256_srli_epi32(h, 32 - FL_GRAM_SHORT_BITS);
        word = _mm256_permutevar8x32_epi32(_mm256_loadu_si256((const __m256i *)g->short_bitmap), _mm256_srli_epi32(idx, 5));
    }
    __m256i bit = _mm256_sllv_epi32(word, _mm256_sub_epi32(low5, _mm256_and_si256(idx, low5)));
    return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(bit)); /* the bit, moved to the sign */
}

/* The same as candidates_plain, 8 positions at a time: the 8 windows from
 * one 16-byte load and a shuffle, tested for every window length present.
 * The last round masks off the positions past the end; it reads up to
 * buf[buf_len + 14]. */
__attribute__((target("avx2"))) static size_t candidates_avx2(const fl_ac *g, const unsigned char *buf, size_t buf_len,
                                                              uint16_t *at)
{
    const __m256i ctl = _mm256_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7,
                                         8, 9, 7, 8, 9, 10);
    size_t n = 0, end = positions(buf_len, 1);
    for (size_t i = 0; i < end; i += 8) {
        __m256i w = _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(buf + i))), ctl);
        for (uint32_t wlen = 4; wlen >= 1; wlen--) {
            size_t npos = positions(buf_len, wlen);
            if (!(g->wlens >> wlen & 1) || i >= npos) continue;
            unsigned m = bits8(g, w, wlen);
            if (npos - i < 8) m &= (1u << (npos - i)) - 1;
            for (; m; m &= m - 1) at[n++] = (uint16_t)((i + (unsigned)__builtin_ctz(m)) | wlen << FL_CAND_WLEN_SHIFT);
        }
    }
    return n;
}
#endif

/* The chunk in sj->buf: first the positions whose window has its bit set
 * (independent loads, no branch per position), then their buckets. */
static int scan_chunk(const fl_ac *g, const struct subject *sj, int (*hit)(uint32_t, void *), void *arg)
{
    uint16_t at[4 * FL_GRAM_CHUNK]; /* a position per window length at most */
#ifdef FL_GRAM_AVX2
    int avx2 = __atomic_load_n(&g->avx2, __ATOMIC_RELAXED); /* fl_ac_set_simd may run meanwhile */
    size_t n = avx2 ? candidates_avx2(g, sj->buf, sj->buf_len, at) : candidates_plain(g, sj->buf, sj->buf_len, at);
#else
    size_t n = candidates_plain(g, sj->buf, sj->buf_len, at);
#endif
    for (size_t k = 0; k < n; k++) {
        uint32_t wlen = at[k] >> FL_CAND_WLEN_SHIFT, pos = at[k] & FL_CAND_POS;
        int rc = report(g, load32(sj->buf + pos) & wmask(wlen), wlen, sj, sj->base + pos, hit, arg);
        if (rc) return rc;
    }
    return 0;
}

int fl_ac_scan(const fl_ac *g, const char *s, size_t len, int (*hit)(uint32_t, void *), void *arg)
{
    unsigned char buf[FL_GRAM_CHUNK + 3 + 16];
    struct subject sj = {(const unsigned char *)s, len, buf, 0, 0};
    if (!g->nlit) return 0;
    for (; sj.base < len; sj.base += FL_GRAM_CHUNK) {
        sj.buf_len = len - sj.base < FL_GRAM_CHUNK + 3 ? len - sj.base : FL_GRAM_CHUNK + 3;
        fold(buf, sj.s + sj.base, sj.buf_len);
        memset(buf + sj.buf_len, 0, 16);
        int rc = scan_chunk(g, &sj, hit, arg);
        if (rc) return rc;
    }
    return 0;
}
