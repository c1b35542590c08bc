/*
 * acmatch.c -- Aho-Corasick for the literal prefilter.  The automaton is a
 * complete DFA over byte classes: every byte that occurs in some literal gets
 * its own class (upper- and lower-case letters share one), all other bytes
 * share class 0, so the table stays small (states x classes) and the scan is
 * one table load per subject byte, whatever the number of literals.  That is
 * what makes the cost of a decision grow sub-linearly with the rule count.
 * A long subject is scanned as two pieces at once (scan16_split), which
 * hides half the cache misses of the table walk.
 */
#include <stdlib.h>
#include <string.h>

#include "acmatch.h"

/* Set on a transition whose target state reports something (its own
 * literals or, through dict links, shorter ones): the scan then needs one
 * table load per byte and touches the output arrays only on hits. */
#define FL_AC_OUT 0x40000000
#define FL_AC_STATE 0x3fffffff

struct fl_ac {
    uint8_t cls[256];
    uint32_t ncls;
    uint32_t shift;      /* ncls == 1 << shift, or 0 when ncls is no power of two */
    uint32_t nstates;
    int32_t *next;       /* nstates * ncls; FL_AC_OUT marks targets with output */
    uint16_t *next16;    /* the same, narrowed, when states fit in 16 bits */
    uint8_t *hasout;     /* with next16: bit per state, set when it reports */
    int32_t *dict;       /* next state down the fail chain with output, -1 */
    uint32_t *depth;     /* length of the literal prefix a state stands for */
    uint32_t *out_start; /* nstates + 1, CSR into out_tags           */
    uint32_t *out_tags;
};

struct builder {
    fl_ac *ac;
    uint32_t cap;
    int32_t *fail;
    uint32_t *out_head; /* linked lists during build: per state      */
    uint32_t *link_next;
    uint32_t *link_tag;
    uint32_t nlinks;
};

static int grow(struct builder *b)
{
    fl_ac *ac = b->ac;
    uint32_t cap = b->cap ? b->cap * 2 : 64;
    int32_t *next = realloc(ac->next, (size_t)cap * ac->ncls * sizeof *next);
    if (!next) return -1;
    ac->next = next;
    uint32_t *head = realloc(b->out_head, cap * sizeof *head);
    if (!head) return -1;
    b->out_head = head;
    b->cap = cap;
    return 0;
}

static int32_t new_state(struct builder *b)
{
    fl_ac *ac = b->ac;
    if (ac->nstates == b->cap && grow(b) != 0) return -1;
    uint32_t s = ac->nstates++;
    for (uint32_t c = 0; c < ac->ncls; c++) ac->next[(size_t)s * ac->ncls + c] = -1;
    b->out_head[s] = UINT32_MAX;
    return (int32_t)s;
}

static void make_classes(fl_ac *ac, char *const *lits, uint32_t n)
{
    memset(ac->cls, 0, sizeof ac->cls);
    ac->ncls = 1;
    for (uint32_t i = 0; i < n; i++)
        for (const unsigned char *p = (const unsigned char *)lits[i]; *p; p++)
            if (!ac->cls[*p]) ac->cls[*p] = (uint8_t)(ac->ncls < 255 ? ac->ncls++ : 0);
    for (int c = 'A'; c <= 'Z'; c++) ac->cls[c] = ac->cls[c + 32];
    /* Rows of a power-of-two width turn the multiply on the scan's critical
     * path (state -> row) into a shift; unused classes cost a little table.
     * Only when that costs at most a quarter more. */
    uint32_t w = 1, sh = 0;
    while (w < ac->ncls) w *= 2, sh++;
    if (w <= ac->ncls + ac->ncls / 4) ac->ncls = w, ac->shift = sh;
}

static int insert(struct builder *b, const char *lit, uint32_t tag)
{
    fl_ac *ac = b->ac;
    int32_t s = 0;
    for (const unsigned char *p = (const unsigned char *)lit; *p; p++) {
        size_t at = (size_t)s * ac->ncls + ac->cls[*p];
        if (ac->next[at] < 0) {
            int32_t ns = new_state(b);
            if (ns < 0) return -1;
            ac->next[at] = ns; /* ac->next may have moved: index, not pointer */
        }
        s = ac->next[at];
    }
    uint32_t *ln = realloc(b->link_next, (b->nlinks + 1) * sizeof *ln);
    if (!ln) return -1;
    b->link_next = ln;
    uint32_t *lt = realloc(b->link_tag, (b->nlinks + 1) * sizeof *lt);
    if (!lt) return -1;
    b->link_tag = lt;
    b->link_next[b->nlinks] = b->out_head[s];
    b->link_tag[b->nlinks] = tag;
    b->out_head[s] = b->nlinks++;
    return 0;
}

/* Breadth-first: fail links, complete transitions, dictionary links. */
static int link_states(struct builder *b)
{
    fl_ac *ac = b->ac;
    uint32_t n = ac->nstates, k = ac->ncls, qh = 0, qt = 1;
    int32_t *queue = malloc(n * sizeof *queue);
    b->fail = calloc(n, sizeof *b->fail);
    ac->dict = malloc(n * sizeof *ac->dict);
    ac->depth = malloc(n * sizeof *ac->depth);
    if (!queue || !b->fail || !ac->dict || !ac->depth) {
        free(queue);
        return -1;
    }
    ac->dict[0] = -1;
    ac->depth[0] = 0;
    queue[0] = 0;
    for (uint32_t c = 0; c < k; c++) {
        int32_t t = ac->next[c];
        if (t < 0) ac->next[c] = 0;
        else {
            b->fail[t] = 0;
            ac->dict[t] = -1;
            ac->depth[t] = 1;
            queue[qt++] = t;
        }
    }
    qh = 1;
    while (qh < qt) {
        int32_t s = queue[qh++];
        for (uint32_t c = 0; c < k; c++) {
            size_t at = (size_t)s * k + c;
            int32_t t = ac->next[at], f = ac->next[(size_t)b->fail[s] * k + c];
            if (t < 0) {
                ac->next[at] = f;
                continue;
            }
            b->fail[t] = f;
            ac->dict[t] = b->out_head[f] != UINT32_MAX ? f : ac->dict[f];
            ac->depth[t] = ac->depth[s] + 1;
            queue[qt++] = t;
        }
    }
    free(queue);
    return 0;
}

static void mark_outputs(fl_ac *ac)
{
    size_t n = (size_t)ac->nstates * ac->ncls;
    for (size_t i = 0; i < n; i++) {
        int32_t t = ac->next[i];
        if (ac->out_start[t] != ac->out_start[t + 1] || ac->dict[t] > 0) ac->next[i] = t | FL_AC_OUT;
    }
}

/* Half the table is half the cache footprint: most policies have well under
 * 65536 states.  The output flag moves to a small bitmap that stays in L1. */
static void narrow(fl_ac *ac)
{
    if (ac->nstates > UINT16_MAX) return;
    size_t n = (size_t)ac->nstates * ac->ncls;
    uint16_t *t = malloc(n * sizeof *t);
    uint8_t *bits = calloc((ac->nstates + 7) / 8, 1);
    if (!t || !bits) {
        free(t);
        free(bits);
        return; /* keep the wide table: slower, still correct */
    }
    for (size_t i = 0; i < n; i++) {
        int32_t v = ac->next[i];
        t[i] = (uint16_t)(v & FL_AC_STATE);
        if (v & FL_AC_OUT) bits[(v & FL_AC_STATE) >> 3] |= (uint8_t)(1u << ((v & FL_AC_STATE) & 7));
    }
    free(ac->next);
    ac->next = NULL;
    ac->next16 = t;
    ac->hasout = bits;
}

static int flatten_outputs(struct builder *b)
{
    fl_ac *ac = b->ac;
    ac->out_start = calloc(ac->nstates + 1, sizeof *ac->out_start);
    ac->out_tags = malloc((b->nlinks ? b->nlinks : 1) * sizeof *ac->out_tags);
    if (!ac->out_start || !ac->out_tags) return -1;
    uint32_t at = 0;
    for (uint32_t s = 0; s < ac->nstates; s++) {
        ac->out_start[s] = at;
        for (uint32_t l = b->out_head[s]; l != UINT32_MAX; l = b->link_next[l])
            ac->out_tags[at++] = b->link_tag[l];
    }
    ac->out_start[ac->nstates] = at;
    return 0;
}

fl_ac *fl_ac_build(char *const *lits, const uint32_t *tags, uint32_t n)
{
    struct builder b = {0};
    fl_ac *ac = calloc(1, sizeof *ac);
    if (!ac) return NULL;
    b.ac = ac;
    make_classes(ac, lits, n);
    int ok = new_state(&b) == 0;
    for (uint32_t i = 0; ok && i < n; i++) ok = insert(&b, lits[i], tags[i]) == 0;
    ok = ok && ac->nstates <= FL_AC_STATE && link_states(&b) == 0 && flatten_outputs(&b) == 0;
    if (ok) mark_outputs(ac);
    if (ok) narrow(ac);
    free(b.fail);
    free(b.out_head);
    free(b.link_next);
    free(b.link_tag);
    if (!ok) {
        fl_ac_free(ac);
        return NULL;
    }
    return ac;
}

void fl_ac_free(fl_ac *ac)
{
    if (!ac) return;
    free(ac->next);
    free(ac->next16);
    free(ac->hasout);
    free(ac->dict);
    free(ac->depth);
    free(ac->out_start);
    free(ac->out_tags);
    free(ac);
}

int fl_ac_check(const fl_ac *ac)
{
    if (!ac || !ac->nstates || (!ac->next && !ac->next16)) return -1;
    size_t n = (size_t)ac->nstates * ac->ncls;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = ac->next16 ? ac->next16[i] : (uint32_t)ac->next[i] & FL_AC_STATE;
        if (t >= ac->nstates) return -1;
    }
    for (uint32_t st = 0; st < ac->nstates; st++)
        if (ac->dict[st] >= (int32_t)ac->nstates || ac->out_start[st] > ac->out_start[st + 1]) return -1;
    return 0;
}

size_t fl_ac_size(const fl_ac *ac)
{
    if (!ac) return 0;
    size_t cell = ac->next16 ? 2 : 4;
    return sizeof *ac + (size_t)ac->nstates * (ac->ncls * cell + 12) + ac->out_start[ac->nstates] * 4;
}

/* Report the literals that end in state st and are longer than `floor`
 * bytes.  A state's own literals are depth[st] long and its dict chain leads
 * to ever shorter ones, so the walk stops at the first one too short. */
static int report(const fl_ac *ac, int32_t st, uint32_t floor, int (*hit)(uint32_t, void *), void *arg)
{
    const uint32_t *os = ac->out_start;
    for (int32_t t = os[st] != os[st + 1] ? st : ac->dict[st]; t > 0 && ac->depth[t] > floor; t = ac->dict[t])
        for (uint32_t o = os[t]; o < os[t + 1]; o++) {
            int rc = hit(ac->out_tags[o], arg);
            if (rc) return rc;
        }
    return 0;
}

/* Subjects shorter than this are scanned in one run (the split's bookkeeping
 * would cost more than it saves). */
#define FL_AC_SPLIT_MIN 24
#define FL_AC_RUNS 2

/* One step of the narrow automaton: the row of st (a shift when rows are a
 * power of two wide: no multiply on the chain), then the byte's class. */
static inline uint32_t step16(const fl_ac *ac, int shifted, uint32_t st, unsigned char c)
{
    size_t row = shifted ? (size_t)st << ac->shift : (size_t)st * ac->ncls;
    return ac->next16[row + ac->cls[c]];
}

static inline int reports(const fl_ac *ac, uint32_t st)
{
    return ac->hasout[st >> 3] & (1u << (st & 7));
}

#define FL_AC_REPORT(st, floor)                                                 \
    do {                                                                        \
        if (reports(ac, st)) {                                                  \
            int rc_ = report(ac, (int32_t)(st), (floor), hit, arg);             \
            if (rc_) return rc_;                                                \
        }                                                                       \
    } while (0)

/* The byte loop is one dependent chain of table loads (state -> row -> next
 * state), and a table of tens of thousands of states misses L1 on most of
 * them: the scan waits on memory, not on work.  So a long subject is cut
 * into FL_AC_RUNS pieces scanned at once, their loads overlapping.  Run r
 * starts at the root at the start of its piece, so it finds every literal
 * that starts there or later; at the end of its piece it goes on and reports
 * only the literals that started in its piece (longer than the bytes the
 * next run has seen), and stops as soon as its state is no deeper than what
 * the next run has seen: from there on both are in the same state.  Each
 * run thus reports exactly the occurrences that start in its piece: every
 * occurrence once, as by one run over the whole subject. */
static inline int scan16_split(const fl_ac *ac, int shifted, const unsigned char *s, size_t len,
                               int (*hit)(uint32_t, void *), void *arg)
{
    size_t piece = len / FL_AC_RUNS, i;
    uint32_t st[FL_AC_RUNS] = {0};
    for (i = 0; i < piece; i++)
        for (int r = 0; r < FL_AC_RUNS; r++) {
            st[r] = step16(ac, shifted, st[r], s[(size_t)r * piece + i]);
            FL_AC_REPORT(st[r], 0);
        }
    for (i = FL_AC_RUNS * piece; i < len; i++) { /* the last run takes the rest */
        st[FL_AC_RUNS - 1] = step16(ac, shifted, st[FL_AC_RUNS - 1], s[i]);
        FL_AC_REPORT(st[FL_AC_RUNS - 1], 0);
    }
    for (int r = 0; r < FL_AC_RUNS - 1; r++) {
        size_t end = (size_t)(r + 1) * piece; /* where the next run started */
        uint32_t a = st[r];
        for (i = end; i < len && ac->depth[a] > i - end; i++) {
            a = step16(ac, shifted, a, s[i]);
            FL_AC_REPORT(a, (uint32_t)(i + 1 - end));
        }
    }
    return 0;
}

static inline int scan16_run(const fl_ac *ac, int shifted, const unsigned char *s, size_t len,
                             int (*hit)(uint32_t, void *), void *arg)
{
    if (len >= FL_AC_SPLIT_MIN) return scan16_split(ac, shifted, s, len, hit, arg);
    uint32_t st = 0;
    for (size_t i = 0; i < len; i++) {
        st = step16(ac, shifted, st, s[i]);
        FL_AC_REPORT(st, 0);
    }
    return 0;
}

/* Two copies of the loop, so that the shift-or-multiply choice is made once
 * per scan rather than once per byte. */
static int scan16(const fl_ac *ac, const unsigned char *s, size_t len, int (*hit)(uint32_t, void *), void *arg)
{
    if (ac->shift) return scan16_run(ac, 1, s, len, hit, arg);
    return scan16_run(ac, 0, s, len, hit, arg);
}

int fl_ac_scan(const fl_ac *ac, const char *s, size_t len, int (*hit)(uint32_t, void *), void *arg)
{
    if (ac->next16) return scan16(ac, (const unsigned char *)s, len, hit, arg);
    const uint32_t k = ac->ncls;
    const int32_t *next = ac->next;
    int32_t st = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t to = next[(size_t)st * k + ac->cls[(unsigned char)s[i]]];
        st = to & FL_AC_STATE;
        if (!(to & FL_AC_OUT)) continue;
        int rc = report(ac, st, 0, hit, arg);
        if (rc) return rc;
    }
    return 0;
}
