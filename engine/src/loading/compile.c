/*
 * compile.c -- finishes a loaded version so deciding is table lookups: rules
 * sorted into evaluation order, each category's effective settings resolved
 * through its parents, every rule's message resolved for every declared
 * locale, the PCRE2 match limits set, the content hash taken and the matcher
 * index built.  Also owns the version's lifetime (reference counting).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core.h"
#include "loading.h"
#include "matching.h"
#include "sandbox.h"
#include "resilience/resilience.h"


/* ---- lifetime ------------------------------------------------------------- */

static void free_version(fl_version *v);

fl_version *fl_version_new(void)
{
    fl_version *v = calloc(1, sizeof *v);
    if (v) {
        atomic_init(&v->refs, 1);
        pthread_mutex_init(&v->pool_mu, NULL);
        v->destroy = free_version;
        /* canary defaults (docs/operations.md) */
        v->canary = (struct fl_canary_conf){.watch_ms = 60000, .min_decisions = 100, .max_failure_rate = 0.01,
                                            .max_unknown_increase = 0.05, .max_fail_increase = 0.10};
    }
    return v;
}


static void free_recovery(fl_recovery *r)
{
    free(r->fallback_json);
    if (r->cache_key) fl_template_free(r->cache_key);
    free(r->cache_key);
    if (r->otherwise) free_recovery(r->otherwise);
    free(r->otherwise);
}

static void free_settings(fl_settings *s)
{
    free(s->message_id);
    free(s->title);
    free_recovery(&s->recovery);
}

static void free_rule(fl_rule *r)
{
    for (uint32_t k = 0; k < r->nconds; k++) {
        fl_cond *c = &r->conds[k];
        for (uint32_t i = 0; i < c->nstrs; i++) free(c->strs[i]);
        free(c->strs);
        free(c->nums);
        free(c->tag);
        free(c->pattern);
        fl_cond_free_re(c);
    }
    free(r->conds);
    free(r->name);
    free(r->file);
    free(r->category);
    free(r->params_json);
    free(r->breaker);
    free(r->retry_budget);
    if (r->breaker_key) fl_template_free(r->breaker_key);
    free(r->breaker_key);
    free(r->fixed);
    free(r->msg);
    free(r->msg_id);
    free(r->msg_locale);
    free_settings(&r->s);
}

static void free_version(fl_version *v)
{
    fl_patterns_abandon(v); /* a version refused before fl_compile collected */
    fl_handler_pool_free(v);
    pthread_mutex_destroy(&v->pool_mu);
    for (uint32_t i = 0; i < v->nrules; i++) free_rule(&v->rules[i]);
    for (uint32_t i = 0; i < v->ncats; i++) {
        free(v->cats[i].name);
        free(v->cats[i].file);
        free_settings(&v->cats[i].s);
    }
    for (uint32_t i = 0; i < v->nlocales; i++) {
        for (uint32_t k = 0; k < v->locales[i].nmsgs; k++) fl_template_free(&v->locales[i].msgs[k]);
        free(v->locales[i].msgs);
        free(v->locales[i].name);
        free(v->locales[i].file);
    }
    for (uint32_t i = 0; i < v->nexamples; i++) {
        free(v->examples[i].name);
        free(v->examples[i].file);
        free(v->examples[i].locale);
        json_decref(v->examples[i].event);
        json_decref(v->examples[i].expect);
    }
    for (uint32_t i = 0; i < v->nsrcs; i++) {
        free(v->src_names[i]);
        if (v->src_texts) free(v->src_texts[i]);
    }
    free(v->src_names);
    free(v->src_texts);
    free(v->src_lens);
    free(v->rules);
    free(v->cats);
    free(v->locales);
    free(v->examples);
    for (uint32_t i = 0; i < v->nalerts; i++) {
        fl_alert_rule_t *a = &v->alerts[i];
        free((char *)a->name);
        free((char *)a->category);
        free((char *)a->group_by);
        free((char *)a->webhook_url);
        free((char *)a->slack_url);
        free((char *)a->smtp_url);
        free((char *)a->mail_from);
        free((char *)a->mail_to);
        free((char *)a->message);
    }
    free(v->alerts);
    for (char **p = v->logd.redact; p && *p; p++) free(*p);
    free(v->logd.redact);
    free(v->name);
    free(v->label);
    free(v->source);
    free(v->problem_base);
    fl_fleet_decl_free(v->fleet);
    free(v->default_locale_name);
    free(v->safe_category);
    free_settings(&v->safe);
    for (uint32_t i = 0; i < v->nrdecls; i++) fl_resil_decl_free(v->rdecls[i]);
    free(v->rdecls);
    fl_index_free(v->index);
    pcre2_match_context_free(v->mctx);
    free(v);
}


/* ---- categories ---------------------------------------------------------- */


/* Effective settings: the first value set along the chain a.b.c, a.b, a. */
static void resolve_category(fl_version *v, fl_catconf *c)
{
    static const fl_recovery k_fail = {.set = 1, .action = FL_ACTION_FAIL, .budget_ms = -1};
    c->severity = FL_SEV_ERROR;
    c->retryable = 0;
    c->status = 0;
    c->message_id = NULL;
    c->title = NULL;
    c->recovery = &k_fail;
    int got_sev = 0, got_retry = 0, got_rec = 0;
    size_t len = strlen(c->name);
    while (len > 0) {
        const fl_catconf *p = fl_category_declared(v, c->name, len);
        if (p) {
            if (!got_sev && p->s.severity >= 0) c->severity = (fl_severity)p->s.severity, got_sev = 1;
            if (!got_retry && p->s.retryable >= 0) c->retryable = p->s.retryable, got_retry = 1;
            if (!c->status && p->s.status) c->status = p->s.status;
            if (!c->message_id && p->s.message_id) c->message_id = p->s.message_id;
            if (!c->title && p->s.title) c->title = p->s.title;
            if (!got_rec && p->s.recovery.set) c->recovery = &p->s.recovery, got_rec = 1;
        }
        while (len > 0 && c->name[len - 1] != '.') len--;
        if (len > 0) len--;
    }
    if (!c->status) c->status = fl_category_status(c->name);
    if (!c->title) c->title = fl_category_title(c->name);
}

/* ---- messages ------------------------------------------------------------- */


static void link_locales(fl_version *v)
{
    const char *def = v->default_locale_name ? v->default_locale_name : "en";
    v->default_locale = -1;
    for (uint32_t i = 0; i < v->nlocales; i++)
        if (strcmp(v->locales[i].name, def) == 0) v->default_locale = (int)i;
    if (v->default_locale < 0 && v->nlocales) v->default_locale = 0;
    for (uint32_t i = 0; i < v->nlocales; i++) {
        fl_locale *l = &v->locales[i];
        size_t lang = strcspn(l->name, "-_");
        l->fallback = (int)i == v->default_locale ? -1 : v->default_locale;
        for (uint32_t k = 0; lang < strlen(l->name) && k < v->nlocales; k++)
            if (k != i && strlen(v->locales[k].name) == lang && strncmp(v->locales[k].name, l->name, lang) == 0)
                l->fallback = (int)k;
    }
}

static int resolve_rule_messages(fl_version *v, fl_rule *r)
{
    uint32_t n = v->nlocales ? v->nlocales : 1;
    r->msg = calloc(n, sizeof *r->msg);
    r->msg_id = calloc(n, sizeof *r->msg_id);
    r->msg_locale = calloc(n, sizeof *r->msg_locale);
    if (!r->msg || !r->msg_id || !r->msg_locale) return FL_ENOMEM;
    const char *id = r->s.message_id ? r->s.message_id
                   : r->cat && r->cat->message_id ? r->cat->message_id : r->category;
    for (uint32_t li = 0; li < v->nlocales; li++) {
        r->msg[li] = fl_resolve_message(v, (int)li, id, &r->msg_locale[li]);
        r->msg_id[li] = r->msg[li] ? r->msg[li]->id : NULL;
    }
    return FL_OK;
}

/* ---- the compile pass ----------------------------------------------------- */

static int cmp_rules(const void *a, const void *b)
{
    const fl_rule *x = a, *y = b;
    if (x->priority != y->priority) return x->priority > y->priority ? -1 : 1;
    return x->decl_order < y->decl_order ? -1 : x->decl_order > y->decl_order;
}

void fl_version_hash(fl_version *v)
{
    XXH3_state_t *st = XXH3_createState();
    if (!st) return;
    XXH3_64bits_reset(st);
    for (uint32_t i = 0; i < v->nsrcs; i++) {
        const char *base = strrchr(v->src_names[i], '/');
        base = base ? base + 1 : v->src_names[i];
        XXH3_64bits_update(st, base, strlen(base) + 1);
        XXH3_64bits_update(st, v->src_texts[i], v->src_lens[i]);
    }
    snprintf(v->id, sizeof v->id, "%016llx", (unsigned long long)XXH3_64bits_digest(st));
    XXH3_freeState(st);
}

static int match_limits(fl_version *v, const fl_engine_options_t *opts)
{
    if (!(v->mctx = pcre2_match_context_create(NULL))) return FL_ENOMEM;
    pcre2_set_match_limit(v->mctx, opts->match_limit);
    pcre2_set_depth_limit(v->mctx, opts->match_limit / 10 + 100);
    pcre2_set_heap_limit(v->mctx, 16 * 1024); /* KiB */
    return FL_OK;
}

/* The ovector pairs the largest pattern needs (the contexts' match data are
 * sized by it).  Run once the codes are collected: before that they are
 * still being compiled on the helper thread. */
static void count_captures(fl_version *v)
{
    v->max_captures = 1;
    for (uint32_t i = 0; i < v->nrules; i++)
        for (uint32_t k = 0; k < v->rules[i].nconds; k++)
            if (v->rules[i].conds[k].re) {
                uint32_t n;
                pcre2_pattern_info(v->rules[i].conds[k].re, PCRE2_INFO_CAPTURECOUNT, &n);
                if (n + 1 > v->max_captures) v->max_captures = n + 1;
            }
}

static const fl_resil_decl_t *find_decl(const fl_version *v, fl_resil_kind kind, const char *name)
{
    for (uint32_t i = 0; i < v->nrdecls; i++)
        if (v->rdecls[i]->kind == kind && strcmp(v->rdecls[i]->name, name) == 0) return v->rdecls[i];
    return NULL;
}

/* A rule's breaker and retry budget must be declared by the same version;
 * the breaker's key template is parsed once here. */
static int resolve_resilience(fl_version *v, fl_rule *r, fl_diag_t *diag)
{
    if (r->retry_budget && !find_decl(v, FL_RESIL_BUDGET, r->retry_budget))
        return fl_diag_set(diag, FL_EPOLICY_SCHEMA, r->file, r->line, 1,
                           "rule \"%s\": retry_budget \"%s\" is not declared", r->name, r->retry_budget);
    if (!r->breaker) return FL_OK;
    const fl_resil_decl_t *d = find_decl(v, FL_RESIL_BREAKER, r->breaker);
    if (!d)
        return fl_diag_set(diag, FL_EPOLICY_SCHEMA, r->file, r->line, 1, "rule \"%s\": breaker \"%s\" is not declared",
                           r->name, r->breaker);
    const char *key = ((const fl_bcfg *)d->cfg)->key;
    char err[256];
    if (!(r->breaker_key = calloc(1, sizeof *r->breaker_key))) return FL_ENOMEM;
    if (fl_template_parse(r->breaker_key, "key", key[0] ? key : r->breaker, err, sizeof err) != 0)
        return fl_diag_set(diag, FL_EPOLICY_SCHEMA, r->file, r->line, 1, "breaker \"%s\": key: %s", r->breaker, err);
    return FL_OK;
}

/* The block of strings a match of r puts first (fl_rule.fixed): the
 * values apply_settings and put_identity in deciding/decide.c would put one
 * by one.  Rules with a handler get none. */
static int layout_fixed(const fl_version *v, fl_rule *r)
{
    if (r->has_handler || !r->category) return FL_OK;
    const fl_catconf *c = r->cat;
    const char *title = r->s.title ? r->s.title : c ? c->title : fl_category_title(r->category);
    fl_strbuf sb = {0};
    const char *part[FL_FX_COUNT_][2] = {
        [FL_FX_CATEGORY] = {r->category, ""}, [FL_FX_RULE] = {r->name, ""},
        [FL_FX_TITLE] = {title, ""},           [FL_FX_TYPE] = {v->problem_base, r->category},
        [FL_FX_POLICY] = {v->name, ""},        [FL_FX_VERSION] = {v->label, ""},
        [FL_FX_VERSION_ID] = {v->id, ""},
    };
    for (int k = 0; k < FL_FX_COUNT_; k++) {
        r->fixed_off[k] = (uint32_t)sb.len;
        if (fl_sb_puts(&sb, part[k][0]) != 0 || fl_sb_puts(&sb, part[k][1]) != 0) goto nomem;
        r->fixed_slen[k] = (uint32_t)sb.len - r->fixed_off[k];
        if (fl_sb_append(&sb, "", 1) != 0) goto nomem; /* the NUL, kept in the block */
    }
    r->fixed = sb.data;
    r->fixed_len = (uint32_t)sb.len;
    r->obs_cat = (uint8_t)fl_obs_category_index(r->category);
    return FL_OK;
nomem:
    fl_sb_free(&sb);
    return FL_ENOMEM;
}

static int compile_version(fl_version *v, const fl_engine_options_t *opts, fl_diag_t *diag)
{
    if (!v->name) v->name = strdup("policy");
    if (!v->label) v->label = strdup("0");
    if (!v->problem_base) v->problem_base = strdup("about:blank#");
    if (!v->safe_category) v->safe_category = strdup("unknown");
    if (!v->name || !v->label || !v->problem_base || !v->safe_category) return FL_ENOMEM;
    v->name_len = (uint32_t)strlen(v->name);
    v->label_len = (uint32_t)strlen(v->label);
    v->problem_base_len = (uint32_t)strlen(v->problem_base);
    if (!v->max_message_len || v->max_message_len > opts->max_message_len) v->max_message_len = opts->max_message_len;
    if (!v->id[0]) fl_version_hash(v); /* the loader usually did it already */
    if (v->nrules > 1) qsort(v->rules, v->nrules, sizeof *v->rules, cmp_rules);
    for (uint32_t i = 0; i < v->ncats; i++) resolve_category(v, &v->cats[i]);
    link_locales(v);
    for (uint32_t li = 0; li < v->nlocales; li++) /* messages by outcome in use? */
        for (uint32_t m = 0; m < v->locales[li].nmsgs; m++)
        {
            if (fl_is_outcome_message_id(v->locales[li].msgs[m].id)) v->outcome_msgs = 1;
            if (strncmp(v->locales[li].msgs[m].id, "title.", 6) == 0) v->title_msgs = 1;
        }
    for (uint32_t i = 0; i < v->nrules; i++) {
        fl_rule *r = &v->rules[i];
        r->index = i;
        r->name_len = (uint32_t)strlen(r->name);
        r->category_len = r->category ? (uint32_t)strlen(r->category) : 0;
        r->cat = (fl_catconf *)fl_find_category(v, r->category);
        if (r->has_handler) v->nhandlers++;
        for (uint32_t k = 0; k < r->nconds; k++)
            if (r->conds[k].field == FL_CF_STACK) v->reads_stack = 1;
        if (resolve_rule_messages(v, r) != FL_OK || layout_fixed(v, r) != FL_OK) return FL_ENOMEM;
        int rc = resolve_resilience(v, r, diag);
        if (rc != FL_OK) return rc;
    }
    if (v->nhandlers) v->reads_stack = 1; /* handlers see ev.stack */
    int rc = match_limits(v, opts);
    if (rc == FL_OK) rc = fl_index_build(v, diag);
    return rc;
}

int fl_compile(fl_version *v, const fl_engine_options_t *opts, fl_diag_t *diag)
{
    /* The index reads patterns' texts only: their codes are collected after
     * it, the helper thread having compiled them meanwhile. */
    int rc = fl_patterns_collect(v, diag, compile_version(v, opts, diag));
    if (rc == FL_OK) count_captures(v);
    return rc;
}
