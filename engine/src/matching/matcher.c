/*
 * matcher.c -- finds the first rule that matches an event without trying
 * every rule.  At compile time each rule is filed under the cheapest
 * necessary condition it has: its (domain, code) pairs, its domain, its code
 * (one hash table, XXH3-keyed), or the literals its message pattern cannot
 * match without (a hashed 4-gram filter, acmatch.h); rules with none of these go on a
 * short "always" list.  At decision time the event's own keys are looked up,
 * the message is scanned once, and only the candidates found are verified in
 * full, in evaluation order.  First match wins.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Inlined: the index hashes a short key three to five times per decision,
 * and the library call costs as much as the hash of a key that short. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "acmatch.h"
#include "core.h"
#include "matching.h"
#include "sandbox.h"

typedef struct fl_hent {
    uint64_t h;
    char *key;
    size_t klen;
    uint32_t *rules;
    uint32_t n, cap;
} fl_hent;

struct fl_index {
    fl_hent *tab;
    uint32_t mask; /* table size - 1, power of two */
    uint32_t used;
    fl_ac *ac;
    uint32_t *always;
    uint32_t nalways;
};

/* ---- hash table --------------------------------------------------------- */

/* Open addressing with linear probing.  Invariants (checked by
 * index_verify when a version is built): the size is a power of two, at
 * least FL_HT_MIN, and at most half of it is used -- so every probe sequence
 * reaches an empty slot and a lookup of an absent key ends.  The table grows
 * (doubles, rehashing) before an insert would break the load factor, however
 * many keys one rule brings. */
#define FL_HT_MIN 64u
#define FL_HT_MAX (1u << 30)

/* The slot holding key, or the empty slot where it would go; NULL only if
 * the table has no empty slot (never, while the invariants hold). */
static fl_hent *ht_find(const struct fl_index *ix, const char *key, size_t len, uint64_t h)
{
    uint32_t i = (uint32_t)h & ix->mask;
    for (uint32_t probes = 0; probes <= ix->mask; probes++, i = (i + 1) & ix->mask) {
        fl_hent *e = &ix->tab[i];
        if (!e->key) return e;
        if (e->h == h && e->klen == len && memcmp(e->key, key, len) == 0) return e;
    }
    return NULL;
}

static int ht_grow(struct fl_index *ix)
{
    uint32_t size = (ix->mask + 1) * 2;
    if (size > FL_HT_MAX) return FL_ETOOBIG;
    fl_hent *tab = calloc(size, sizeof *tab), *old = ix->tab;
    if (!tab) return FL_ENOMEM;
    uint32_t oldsize = ix->mask + 1;
    ix->tab = tab;
    ix->mask = size - 1;
    for (uint32_t i = 0; i < oldsize; i++) {
        if (!old[i].key) continue;
        uint32_t j = (uint32_t)old[i].h & ix->mask;
        while (tab[j].key) j = (j + 1) & ix->mask; /* at most half full: ends */
        tab[j] = old[i];
    }
    free(old);
    return FL_OK;
}

static int ht_add(struct fl_index *ix, const char *key, uint32_t rule)
{
    size_t len = strlen(key);
    uint64_t h = XXH3_64bits(key, len);
    fl_hent *e = ht_find(ix, key, len, h);
    if (e && !e->key && (ix->used + 1) * 2 > ix->mask + 1) {
        int rc = ht_grow(ix);
        if (rc != FL_OK) return rc;
        e = ht_find(ix, key, len, h);
    }
    if (!e) return FL_EPOLICY; /* no empty slot: impossible while the invariants hold */
    if (!e->key) {
        if (!(e->key = strdup(key))) return FL_ENOMEM;
        e->h = h;
        e->klen = len;
        ix->used++;
    }
    if (e->n && e->rules[e->n - 1] == rule) return FL_OK;
    if (e->n == e->cap) {
        uint32_t cap = e->cap ? e->cap * 2 : 2;
        uint32_t *r = realloc(e->rules, cap * sizeof *r);
        if (!r) return FL_ENOMEM;
        e->rules = r;
        e->cap = cap;
    }
    e->rules[e->n++] = rule;
    return FL_OK;
}

/* ---- building ------------------------------------------------------------ */

static const fl_cond *find_cond(const fl_rule *r, fl_cfield f, fl_ckind k)
{
    for (uint32_t i = 0; i < r->nconds; i++)
        if (r->conds[i].field == f && r->conds[i].kind == k) return &r->conds[i];
    return NULL;
}

/* The text forms of a set's members, numbers as %.17g. */
static uint32_t member_texts(const fl_cond *c, char (*buf)[40], const char **out, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->nstrs && n < max; i++) out[n++] = c->strs[i];
    for (uint32_t i = 0; i < c->nnums && n < max; i++, n++) {
        snprintf(buf[i], 40, "%.17g", c->nums[i]);
        out[n] = buf[i];
    }
    return n;
}

#define FL_MAX_KEYS 256

static int index_by_keys(struct fl_index *ix, const fl_rule *r, const fl_cond *dom, const fl_cond *code)
{
    char nb[FL_MAX_KEYS][40], cb[FL_MAX_KEYS][40], key[600];
    const char *ds[FL_MAX_KEYS], *cs[FL_MAX_KEYS];
    uint32_t nd = dom ? member_texts(dom, nb, ds, FL_MAX_KEYS) : 1;
    uint32_t nc = code ? member_texts(code, cb, cs, FL_MAX_KEYS) : 1;
    if (!dom) ds[0] = "*";
    if (!code) cs[0] = "*";
    for (uint32_t i = 0; i < nd; i++)
        for (uint32_t j = 0; j < nc; j++) {
            snprintf(key, sizeof key, "%s\x1f%s", ds[i], cs[j]);
            int rc = ht_add(ix, key, r->index);
            if (rc != FL_OK) return rc;
        }
    return FL_OK;
}

struct lits {
    char **s;
    uint32_t *tag;
    uint32_t n, cap;
};

static int lits_add(struct lits *l, char *s, uint32_t tag)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 64;
        char **ns = realloc(l->s, cap * sizeof *ns);
        uint32_t *nt = ns ? realloc(l->tag, cap * sizeof *nt) : NULL;
        if (ns) l->s = ns;
        if (!nt) return FL_ENOMEM;
        l->tag = nt;
        l->cap = cap;
    }
    l->s[l->n] = s;
    l->tag[l->n++] = tag;
    return FL_OK;
}

static int index_rule(struct fl_index *ix, const fl_rule *r, struct lits *lits)
{
    const fl_cond *dom = find_cond(r, FL_CF_DOMAIN, FL_CK_SET);
    const fl_cond *code = find_cond(r, FL_CF_CODE, FL_CK_SET);
    if (dom && dom->nnums) dom = NULL;
    if ((dom && dom->nstrs > FL_MAX_KEYS) || (code && code->nstrs + code->nnums > FL_MAX_KEYS)) dom = code = NULL;
    if (dom || code) return index_by_keys(ix, r, dom, code);
    const fl_cond *msg = find_cond(r, FL_CF_MESSAGE, FL_CK_REGEX);
    char *found[32];
    uint32_t n = msg ? fl_required_literals(msg->pattern, found, 32) : 0;
    for (uint32_t i = 0; i < n; i++)
        if (lits_add(lits, found[i], r->index) != FL_OK) {
            for (; i < n; i++) free(found[i]);
            return FL_ENOMEM;
        }
    if (n) return FL_OK;
    uint32_t *a = realloc(ix->always, (ix->nalways + 1) * sizeof *a);
    if (!a) return FL_ENOMEM;
    ix->always = a;
    ix->always[ix->nalways++] = r->index;
    return FL_OK;
}

/* The invariants of a built index, checked once per version: NULL when
 * they hold, else what is broken.  The hash table: a power-of-two size of at
 * least FL_HT_MIN, at most half used, `used` equal to the occupied slots,
 * every key found where a lookup looks for it (its probe run from its home
 * slot has no hole), every rule list non-empty, sorted and in range.  The
 * always list: rule numbers in range.  The literal filter: its own
 * structure (fl_ac_check; its tags are the rule numbers the index gave it). */
static const char *index_verify(const struct fl_index *ix, uint32_t nrules)
{
    uint32_t size = ix->mask + 1, occupied = 0;
    if (!ix->tab || size < FL_HT_MIN || (size & ix->mask)) return "hash table size is not a power of two >= 64";
    if (ix->used * 2 > size) return "hash table is more than half full";
    for (uint32_t i = 0; i < size; i++) {
        const fl_hent *e = &ix->tab[i];
        if (!e->key) continue;
        occupied++;
        if (ht_find(ix, e->key, e->klen, e->h) != e) return "a hash table key is not found by lookup";
        if (!e->n || e->n > e->cap) return "a hash table entry has no rules";
        for (uint32_t k = 0; k < e->n; k++)
            if (e->rules[k] >= nrules || (k && e->rules[k] <= e->rules[k - 1])) return "a hash table rule list is unsorted or out of range";
    }
    if (occupied != ix->used) return "hash table count differs from its occupied slots";
    for (uint32_t i = 0; i < ix->nalways; i++)
        if (ix->always[i] >= nrules) return "the always list has a rule out of range";
    if (!ix->ac || fl_ac_check(ix->ac) != 0) return "the literal filter has an entry out of range";
    return NULL;
}

int fl_index_build(fl_version *v, fl_diag_t *diag)
{
    struct fl_index *ix = calloc(1, sizeof *ix);
    struct lits lits = {0};
    int rc = FL_ENOMEM;
    if (!ix) goto cleanup;
    uint32_t size = 64;
    while (size < v->nrules * 4u) size *= 2;
    if (!(ix->tab = calloc(size, sizeof *ix->tab))) goto cleanup;
    ix->mask = size - 1;
    v->index = ix;
    for (uint32_t i = 0; i < v->nrules; i++)
        if ((rc = index_rule(ix, &v->rules[i], &lits)) != FL_OK) goto cleanup;
    if (!(ix->ac = fl_ac_build(lits.s, lits.tag, lits.n))) {
        rc = FL_ENOMEM;
        goto cleanup;
    }
    const char *broken = index_verify(ix, v->nrules);
    assert(!broken && "rule index invariant");
    if (broken) {
        for (uint32_t i = 0; i < lits.n; i++) free(lits.s[i]);
        free(lits.s);
        free(lits.tag);
        return fl_diag_set(diag, FL_EPOLICY, NULL, 0, 0, "cannot build the rule index: %s", broken);
    }
    rc = FL_OK;
cleanup:
    for (uint32_t i = 0; i < lits.n; i++) free(lits.s[i]);
    free(lits.s);
    free(lits.tag);
    if (rc != FL_OK) fl_diag_set(diag, rc, NULL, 0, 0, "cannot build the rule index: %s", fl_strerror(rc));
    return rc;
}

void fl_index_free(struct fl_index *ix)
{
    if (!ix) return;
    for (uint32_t i = 0; ix->tab && i <= ix->mask; i++) {
        free(ix->tab[i].key);
        free(ix->tab[i].rules);
    }
    free(ix->tab);
    fl_ac_free(ix->ac);
    free(ix->always);
    free(ix);
}

/* ---- candidates ---------------------------------------------------------- */

static int cand_add(uint32_t rule, void *arg)
{
    fl_ctx_t *ctx = arg;
    if (ctx->stamp[rule] == ctx->epoch) return 0; /* already a candidate */
    ctx->stamp[rule] = ctx->epoch;
    if (ctx->ncand == ctx->cand_cap) {
        uint32_t cap = ctx->cand_cap ? ctx->cand_cap * 2 : 64;
        uint32_t *c = realloc(ctx->cand, cap * sizeof *c);
        if (!c) return 0; /* candidates dropped only under memory exhaustion */
        ctx->cand = c;
        ctx->cand_cap = cap;
    }
    ctx->cand[ctx->ncand++] = rule;
    return 0;
}

static void lookup(fl_ctx_t *ctx, const struct fl_index *ix, const char *d, size_t dl, const char *c, size_t cl)
{
    char key[600];
    if (dl + cl + 2 > sizeof key) return;
    memcpy(key, d, dl);
    key[dl] = '\x1f';
    memcpy(key + dl + 1, c, cl);
    size_t len = dl + 1 + cl;
    const fl_hent *e = ht_find(ix, key, len, XXH3_64bits(key, len));
    for (uint32_t i = 0; e && e->key && i < e->n; i++) cand_add(e->rules[i], ctx);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Candidates are tried in rule order, and the first one usually matches:
 * rather than sorting them all, bring the smallest remaining one to
 * position i when it is needed (one pass over the rest); past
 * FL_LAZY_PICKS tries the remainder is sorted at once. */
#define FL_LAZY_PICKS 8

static void next_candidate(fl_ctx_t *ctx, uint32_t i)
{
    uint32_t *c = ctx->cand, n = ctx->ncand;
    if (i > FL_LAZY_PICKS) return; /* sorted already */
    if (i == FL_LAZY_PICKS) {
        qsort(c + i, n - i, sizeof *c, cmp_u32);
        return;
    }
    uint32_t m = i;
    for (uint32_t k = i + 1; k < n; k++)
        if (c[k] < c[m]) m = k;
    uint32_t t = c[i];
    c[i] = c[m];
    c[m] = t;
}

/* Candidates are deduplicated with per-rule stamps: O(1) per hit, and the
 * array is only cleared when the epoch counter wraps. */
static int prepare_stamps(fl_ctx_t *ctx, uint32_t nrules)
{
    if (ctx->nstamp < nrules) {
        uint32_t *s = calloc(nrules, sizeof *s);
        if (!s) return -1;
        free(ctx->stamp);
        ctx->stamp = s;
        ctx->nstamp = nrules;
        ctx->epoch = 0;
    }
    if (++ctx->epoch == 0) {
        memset(ctx->stamp, 0, ctx->nstamp * sizeof *ctx->stamp);
        ctx->epoch = 1;
    }
    return 0;
}

/* "404" is already in the form rules' numbers are indexed under; "0404",
 * "404.0" and "4e2" are not.  Saves a printf on the common path. */
static int canonical_int(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (n == i || n - i > 15 || (s[i] == '0' && n - i > 1)) return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static void collect(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev)
{
    const struct fl_index *ix = v->index;
    ctx->ncand = 0;
    if (prepare_stamps(ctx, v->nrules) != 0) return;
    const char *d = ev->f[FL_FIELD_DOMAIN], *c = ev->f[FL_FIELD_CODE];
    size_t dl = ev->flen[FL_FIELD_DOMAIN], cl = ev->flen[FL_FIELD_CODE];
    char num[40];
    size_t nl = 0;
    int alt = ev->code_is_num && !canonical_int(c, cl);
    if (alt) nl = (size_t)snprintf(num, sizeof num, "%.17g", ev->code_num);
    alt = alt && (nl != cl || memcmp(num, c, cl) != 0);
    if (ix->used) {
        if (d && c) lookup(ctx, ix, d, dl, c, cl);
        if (d && c && alt) lookup(ctx, ix, d, dl, num, nl);
        if (d) lookup(ctx, ix, d, dl, "*", 1);
        if (c) lookup(ctx, ix, "*", 1, c, cl);
        if (c && alt) lookup(ctx, ix, "*", 1, num, nl);
    }
    if (ev->f[FL_FIELD_MESSAGE])
        fl_ac_scan(ix->ac, ev->f[FL_FIELD_MESSAGE], ev->flen[FL_FIELD_MESSAGE], cand_add, ctx);
    for (uint32_t i = 0; i < ix->nalways; i++) cand_add(ix->always[i], ctx);
}

/* ---- verification ----------------------------------------------------------- */

static void keep_captures(fl_ctx_t *ctx, const fl_cond *c, const char *subj)
{
    PCRE2_SPTR table;
    uint32_t count, size;
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMETABLE, &table);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(c->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ctx->md);
    uint32_t pairs = pcre2_get_ovector_count(ctx->md);
    for (uint32_t i = 0; i < count && ctx->ncaps < FL_MAX_CAPTURES; i++) {
        const unsigned char *e = table + (size_t)i * size;
        uint32_t g = (uint32_t)(e[0] << 8 | e[1]);
        if (g >= pairs || ov[2 * g] == PCRE2_UNSET) continue; /* the match data is sized for the version */
        ctx->caps[ctx->ncaps++] = (fl_capture){(const char *)e + 2, subj + ov[2 * g],
                                               (uint32_t)(ov[2 * g + 1] - ov[2 * g])};
    }
}

static int match_regex(fl_ctx_t *ctx, const fl_version *v, const fl_cond *c, const char *s, uint32_t len)
{
    int rc = pcre2_match(fl_cond_re(c), (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, ctx->md, v->mctx);
    if (rc > 0 || rc == 0) {
        if (c->ncaptures) keep_captures(ctx, c, s);
        return 1;
    }
    if (rc != PCRE2_ERROR_NOMATCH) { /* match limit or similar: counted, logged once per kind */
        ctx->match_errors++;
        fl_sbx_fail(ctx->sh->sbx, v->id, FL_FAIL_MATCH_LIMIT, FL_EBUDGET_MATCH, c->pattern);
    }
    return 0;
}

/* The value a condition looks at; numeric fields are rendered in *num. */
static const char *cond_value(const fl_cond *c, const fl_eview *ev, uint32_t *len, double *num, int *has_num)
{
    *has_num = 0;
    switch (c->field) {
    case FL_CF_ATTEMPT: *num = ev->ev->attempt; *has_num = 1; *len = 0; return "";
    case FL_CF_ELAPSED:
        if (!ev->ev->has_elapsed) return NULL;
        *num = ev->ev->elapsed_ms;
        *has_num = 1;
        *len = 0;
        return "";
    case FL_CF_TAG: return fl_eview_tag(ev, c->tag, len);
    case FL_CF_CODE:
        if (ev->code_is_num) *num = ev->code_num, *has_num = 1;
        break;
    default: break;
    }
    static const int fmap[] = {FL_FIELD_DOMAIN, FL_FIELD_CODE, FL_FIELD_MESSAGE, FL_FIELD_OP, FL_FIELD_STACK};
    int f = fmap[c->field];
    *len = ev->flen[f];
    return ev->f[f];
}

static int cond_holds(fl_ctx_t *ctx, const fl_version *v, const fl_cond *c, const fl_eview *ev)
{
    uint32_t len = 0;
    double num = 0;
    int has_num;
    const char *s = cond_value(c, ev, &len, &num, &has_num);
    if (c->kind == FL_CK_PRESENT || c->kind == FL_CK_ABSENT) return (s != NULL) == (c->kind == FL_CK_PRESENT);
    if (!s) return 0;
    if (!has_num && (c->kind == FL_CK_RANGE || c->nnums) && c->field != FL_CF_CODE)
        has_num = fl_parse_number(s, len, &num);
    switch (c->kind) {
    case FL_CK_SET:
        for (uint32_t i = 0; i < c->nstrs; i++)
            if (strlen(c->strs[i]) == len && memcmp(c->strs[i], s, len) == 0) return 1;
        for (uint32_t i = 0; has_num && i < c->nnums; i++)
            if (c->nums[i] == num) return 1;
        return 0;
    case FL_CK_RANGE: return has_num && num >= c->lo && num <= c->hi;
    case FL_CK_REGEX: return match_regex(ctx, v, c, s, len);
    default: return 0;
    }
}

static void explain_try(fl_ctx_t *ctx, const fl_rule *r, int matched, const fl_cond *failed)
{
    static const char *const names[] = {"domain", "code", "message", "op", "stack", "attempt", "elapsed_ms", "tags."};
    fl_strbuf *sb = &ctx->explain;
    fl_sb_puts(sb, sb->len ? "," : "");
    json_t *o = json_pack("{s:s, s:b}", "rule", r->name, "matched", matched);
    if (o && failed) {
        char why[160];
        snprintf(why, sizeof why, "%s%s did not match", names[failed->field],
                 failed->field == FL_CF_TAG ? failed->tag : "");
        json_object_set_new(o, "failed", json_string(why));
    }
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (t) fl_sb_puts(sb, t);
    free(t);
    json_decref(o);
}

const fl_rule *fl_match(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev)
{
    collect(ctx, v, ev);
    for (uint32_t i = 0; i < ctx->ncand; i++) {
        next_candidate(ctx, i);
        const fl_rule *r = &v->rules[ctx->cand[i]];
        const fl_cond *failed = NULL;
        ctx->ncaps = 0;
        for (uint32_t k = 0; k < r->nconds && !failed; k++)
            if (!cond_holds(ctx, v, &r->conds[k], ev)) failed = &r->conds[k];
        if (ctx->explaining) explain_try(ctx, r, !failed, failed);
        if (!failed) return r;
    }
    ctx->ncaps = 0;
    return NULL;
}
