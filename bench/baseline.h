/*
 * baseline.h -- the hand-written C classifier the engine is measured
 * against: the same rules, the same first-match semantics, written the way a
 * careful C programmer would without an engine -- a hand-rolled hash table
 * (FNV-1a, open addressing) for domain/code rules, and for every other rule,
 * in order, a memmem() check of the pattern's literal on the lower-cased
 * message before PCRE2 (JIT) runs.  It computes the rule only (no message,
 * fingerprint, id or JSON).  Rule data is read from a loaded version so both
 * sides classify with exactly the same rules.
 */
#ifndef FL_BENCH_BASELINE_H
#define FL_BENCH_BASELINE_H

#include <string.h>

#include "core.h"
#include "engine_internal.h"
#include "matching.h"

struct bl_rule {
    const fl_rule *r;
    char *lits[8];
    int nlits;
};

struct bl_slot {
    char key[80];
    uint32_t rules[8];
    int n;
};

struct baseline {
    fl_version *v;
    struct bl_rule *rules;
    uint32_t n;
    uint32_t *scan; /* rules not in the hash, in order */
    uint32_t nscan;
    struct bl_slot *tab;
    uint32_t mask;
    pcre2_match_data *md;
    char low[4096];
};

static uint32_t bl_fnv(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static struct bl_slot *bl_slot(struct baseline *b, const char *k, size_t n)
{
    for (uint32_t i = bl_fnv(k, n) & b->mask;; i = (i + 1) & b->mask)
        if (!b->tab[i].key[0] || (strlen(b->tab[i].key) == n && memcmp(b->tab[i].key, k, n) == 0)) return &b->tab[i];
}

static int bl_hash_rule(struct baseline *b, const fl_rule *r, uint32_t idx)
{
    const fl_cond *d = NULL, *c = NULL;
    for (uint32_t k = 0; k < r->nconds; k++) {
        if (r->conds[k].field == FL_CF_DOMAIN && r->conds[k].kind == FL_CK_SET && !r->conds[k].nnums) d = &r->conds[k];
        if (r->conds[k].field == FL_CF_CODE && r->conds[k].kind == FL_CK_SET) c = &r->conds[k];
    }
    if (!d && !c) return 0;
    uint32_t nd = d ? d->nstrs : 1, nc = c ? c->nstrs + c->nnums : 1;
    for (uint32_t i = 0; i < nd; i++)
        for (uint32_t j = 0; j < nc; j++) {
            char key[80], num[40];
            const char *cs = "*";
            if (c && j < c->nstrs) cs = c->strs[j];
            else if (c) snprintf(num, sizeof num, "%.17g", c->nums[j - c->nstrs]), cs = num;
            snprintf(key, sizeof key, "%s\x1f%s", d ? d->strs[i] : "*", cs);
            struct bl_slot *s = bl_slot(b, key, strlen(key));
            if (!s->key[0]) snprintf(s->key, sizeof s->key, "%s", key);
            if (s->n < 8) s->rules[s->n++] = idx;
            else return 0; /* too many: fall back to scanning this rule */
        }
    return 1;
}

static struct baseline *baseline_new(fl_engine_t *e)
{
    struct baseline *b = calloc(1, sizeof *b);
    unsigned gen;
    b->v = fl_shared_acquire(fl_engine_shared(e), &gen);
    b->n = b->v->nrules;
    b->rules = calloc(b->n, sizeof *b->rules);
    b->scan = calloc(b->n, sizeof *b->scan);
    uint32_t size = 1024;
    while (size < b->n * 8) size *= 2;
    b->tab = calloc(size, sizeof *b->tab);
    b->mask = size - 1;
    b->md = pcre2_match_data_create(64, NULL);
    for (uint32_t i = 0; i < b->n; i++) {
        const fl_rule *r = &b->v->rules[i];
        b->rules[i].r = r;
        for (uint32_t k = 0; k < r->nconds; k++)
            if (r->conds[k].field == FL_CF_MESSAGE && r->conds[k].kind == FL_CK_REGEX)
                b->rules[i].nlits = (int)fl_required_literals(r->conds[k].pattern, b->rules[i].lits, 8);
        if (!bl_hash_rule(b, r, i)) b->scan[b->nscan++] = i;
    }
    return b;
}

static void baseline_free(struct baseline *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        for (int k = 0; k < b->rules[i].nlits; k++) free(b->rules[i].lits[k]);
    free(b->rules);
    free(b->scan);
    free(b->tab);
    pcre2_match_data_free(b->md);
    fl_version_unref(b->v);
    free(b);
}

static int bl_cond(struct baseline *b, const fl_cond *c, const fl_event_t *ev)
{
    const char *s = NULL;
    size_t len = 0;
    double num = 0;
    int isnum = 0;
    switch (c->field) {
    case FL_CF_ATTEMPT: num = ev->attempt, isnum = 1, s = ""; break;
    case FL_CF_ELAPSED: if (ev->has_elapsed) num = ev->elapsed_ms, isnum = 1, s = ""; break;
    case FL_CF_TAG: s = fl_event_get_tag(ev, c->tag); break;
    default: {
        static const fl_field map[] = {FL_FIELD_DOMAIN, FL_FIELD_CODE, FL_FIELD_MESSAGE, FL_FIELD_OP, FL_FIELD_STACK};
        s = fl_event_get(ev, map[c->field]);
    }
    }
    if (c->kind == FL_CK_PRESENT) return s != NULL;
    if (c->kind == FL_CK_ABSENT) return s == NULL;
    if (!s) return 0;
    len = isnum ? 0 : strlen(s);
    if (!isnum && (c->kind == FL_CK_RANGE || c->nnums)) isnum = fl_parse_number(s, len, &num);
    if (c->kind == FL_CK_SET) {
        for (uint32_t i = 0; i < c->nstrs; i++)
            if (strcmp(c->strs[i], s) == 0) return 1;
        for (uint32_t i = 0; isnum && i < c->nnums; i++)
            if (c->nums[i] == num) return 1;
        return 0;
    }
    if (c->kind == FL_CK_RANGE) return isnum && num >= c->lo && num <= c->hi;
    return pcre2_match(c->re, (PCRE2_SPTR)s, len, 0, 0, b->md, NULL) >= 0;
}

static int bl_rule_matches(struct baseline *b, uint32_t idx, const fl_event_t *ev, size_t lowlen)
{
    const struct bl_rule *br = &b->rules[idx];
    if (br->nlits) {
        int any = 0;
        for (int k = 0; k < br->nlits && !any; k++) any = memmem(b->low, lowlen, br->lits[k], strlen(br->lits[k])) != NULL;
        if (!any) return 0;
    }
    for (uint32_t k = 0; k < br->r->nconds; k++)
        if (!bl_cond(b, &br->r->conds[k], ev)) return 0;
    return 1;
}

static void bl_lookup(struct baseline *b, const char *d, const char *c, uint32_t *cand, int *nc)
{
    char key[80];
    int n = snprintf(key, sizeof key, "%s\x1f%s", d, c);
    if (n <= 0 || n >= (int)sizeof key) return;
    struct bl_slot *s = bl_slot(b, key, (size_t)n);
    for (int i = 0; s->key[0] && i < s->n && *nc < 32; i++) cand[(*nc)++] = s->rules[i];
}

/* Index of the first matching rule, or -1. */
static int baseline_classify(struct baseline *b, const fl_event_t *ev)
{
    const char *m = fl_event_get(ev, FL_FIELD_MESSAGE), *d = fl_event_get(ev, FL_FIELD_DOMAIN);
    const char *c = fl_event_get(ev, FL_FIELD_CODE);
    size_t n = 0;
    for (; m && m[n] && n < sizeof b->low - 1; n++) b->low[n] = (char)((m[n] >= 'A' && m[n] <= 'Z') ? m[n] + 32 : m[n]);
    b->low[n] = '\0';
    uint32_t cand[32];
    int nc = 0;
    if (d && c) bl_lookup(b, d, c, cand, &nc);
    if (d) bl_lookup(b, d, "*", cand, &nc);
    if (c) bl_lookup(b, "*", c, cand, &nc);
    uint32_t best = UINT32_MAX;
    for (int i = 0; i < nc; i++)
        if (cand[i] < best && bl_rule_matches(b, cand[i], ev, n)) best = cand[i];
    for (uint32_t i = 0; i < b->nscan && b->scan[i] < best; i++)
        if (bl_rule_matches(b, b->scan[i], ev, n)) return (int)b->scan[i];
    return best == UINT32_MAX ? -1 : (int)best;
}

/* How many events both sides classify with the same rule. */
static int baseline_agreement(struct baseline *b, fl_engine_t *e, fl_event_t **evs, size_t n)
{
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_ctx_new(e, &ctx);
    fl_decision_new(&d);
    int agree = 0;
    for (size_t i = 0; i < n; i++) {
        fl_decide(ctx, evs[i], NULL, 0, d);
        int bi = baseline_classify(b, evs[i]);
        const char *want = bi < 0 ? "default" : b->v->rules[bi].name;
        agree += strcmp(want, fl_decision_rule(d)) == 0;
    }
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return agree;
}

#endif
