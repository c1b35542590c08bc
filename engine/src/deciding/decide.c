/*
 * decide.c -- fl_decide, the hot path.  Pins the current version (no lock
 * unless a reload happened since the last call), finds the first matching
 * rule (matcher.c), applies the category's settings and the recovery
 * (attempts, backoff, time budget, Retry-After), runs the rule's handler if it
 * has one, renders the message for the locale and fingerprints the event.
 * Everything but the handler is plain C over immutable version data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "deciding.h"
#include "matching.h"
#include "sandbox.h"
#include "resilience/resilience.h"

static const fl_recovery k_fail = {.set = 1, .action = FL_ACTION_FAIL, .budget_ms = -1};

/* Re-pin ctx to the engine's current version if a reload happened. */
static void repin(fl_ctx_t *ctx)
{
    unsigned gen = fl_shared_generation(ctx->sh);
    if (gen == ctx->gen && ctx->ver) return;
    unsigned got;
    fl_version *v = fl_shared_acquire(ctx->sh, &got);
    fl_health_flush(ctx); /* counts belong to the version being let go */
    if (ctx->ver) fl_shared_release(ctx->sh, ctx->ver);
    ctx->ver = v;
    ctx->gen = got;
}

static int ensure_match_data(fl_ctx_t *ctx, const fl_version *v)
{
    if (ctx->md && ctx->md_pairs >= v->max_captures) return FL_OK;
    pcre2_match_data_free(ctx->md);
    ctx->md_pairs = v->max_captures < 16 ? 16 : v->max_captures;
    ctx->md = pcre2_match_data_create(ctx->md_pairs, NULL);
    return ctx->md ? FL_OK : FL_ENOMEM;
}

/* A cache recovery: 1 when the value stored under the rendered key is
 * fresh enough (the decision is then a fallback with that value, its key
 * and its age); 0 otherwise. */
static int cache_hit(fl_ctx_t *ctx, const fl_recovery *rec, const fl_eview *ev, fl_decision_t *d)
{
    struct fl_render_env env = {ev, ctx->caps, ctx->ncaps, fl_decision_get(d, FL_DS_CATEGORY), -1, -1, 512};
    int64_t age;
    size_t klen;
    if (!ctx->sh->cache) return 0;
    fl_sb_clear(&ctx->scratch);
    if (fl_template_render(rec->cache_key, &env, &ctx->scratch) != 0 || !(klen = ctx->scratch.len) ||
        fl_sb_putc(&ctx->scratch, '\0') != 0 ||
        !fl__kvc_lookup(ctx->sh->cache, ctx->scratch.data, fl_now_ms(), rec->cache_max_stale_ms, &ctx->scratch, &age))
        return 0;
    d->action = FL_ACTION_FALLBACK;
    d->cache_age_ms = age;
    fl_decision_put(d, FL_DS_CACHE_KEY, ctx->scratch.data, klen);
    fl_decision_put(d, FL_DS_FALLBACK, ctx->scratch.data + klen + 1, ctx->scratch.len - klen - 1);
    return 1;
}

/* Apply a recovery to the event: action, delay, attempts left, reason. */
static void apply_recovery(fl_ctx_t *ctx, const fl_recovery *rec, const fl_eview *ev, fl_decision_t *d)
{
    if (rec->cache_key) {
        if (cache_hit(ctx, rec, ev, d)) return;
        apply_recovery(ctx, rec->otherwise ? rec->otherwise : &k_fail, ev, d);
        if (!fl_decision_get(d, FL_DS_REASON)) fl_decision_put(d, FL_DS_REASON, "cache_miss", 10);
        return;
    }
    d->action = rec->action;
    if (rec->action == FL_ACTION_FALLBACK && rec->fallback_json)
        fl_decision_put(d, FL_DS_FALLBACK, rec->fallback_json, strlen(rec->fallback_json));
    if (rec->action != FL_ACTION_RETRY) return;
    int attempt = ev->ev->attempt;
    d->attempts_left = rec->max_attempts - attempt;
    if (d->attempts_left <= 0) {
        d->attempts_left = 0;
        d->action = FL_ACTION_FAIL;
        fl_decision_put(d, FL_DS_REASON, "attempts_exhausted", 18);
        return;
    }
    /* The decision's own seed, not the context's stream: the same seed
     * gives the same draws whatever was decided before (shadow, diff). */
    fl_rng jitter;
    fl_rng_from(&jitter, ctx->cur_seed);
    int64_t delay = fl_backoff_delay(rec, attempt, &jitter), ra;
    uint32_t len;
    const char *t = rec->honor_retry_after ? fl_eview_tag(ev, "retry_after", &len) : NULL;
    if (t && fl_retry_after_ms(t, len, fl_now_ms(), &ra) == 0 && ra > delay) {
        /* The server's Retry-After raises the delay, but never past the cap:
         * max_delay_ms, or the policy's explicit max_retry_after_ms. */
        double cap = rec->max_retry_after_ms > rec->max_delay_ms ? rec->max_retry_after_ms : rec->max_delay_ms;
        if ((double)ra > cap) {
            ra = (int64_t)cap;
            fl_decision_put(d, FL_DS_REASON, "retry_after_capped", 18);
        }
        if (ra > delay) delay = ra;
    }
    if (rec->budget_ms >= 0 && ev->ev->elapsed_ms + (double)delay > rec->budget_ms) {
        d->action = FL_ACTION_FAIL;
        fl_decision_put(d, FL_DS_REASON, "time_budget_exhausted", 21);
        return;
    }
    d->delay_ms = delay;
}

/* Severity, retryability, status and recovery from the rule and category. */
static void apply_settings(fl_ctx_t *ctx, const fl_version *v, const fl_rule *r, const char *category,
                           const fl_eview *ev, int fixed, fl_decision_t *d)
{
    const fl_catconf *c = r ? r->cat : fl_find_category(v, category);
    const fl_settings *s = r ? &r->s : NULL;
    d->severity = s && s->severity >= 0 ? (fl_severity)s->severity : c ? c->severity : FL_SEV_ERROR;
    d->retryable = s && s->retryable >= 0 ? s->retryable : c ? c->retryable : 0;
    d->status = s && s->status ? s->status : c ? c->status : fl_category_status(category);
    if (!fixed) { /* else put with the rule's fixed strings */
        const char *title = s && s->title ? s->title : c ? c->title : fl_category_title(category);
        fl_decision_put(d, FL_DS_PROBLEM_TITLE, title, strlen(title));
    }
    const fl_recovery *rec = s && s->recovery.set ? &s->recovery : c ? c->recovery : &k_fail;
    apply_recovery(ctx, rec, ev, d);
    if (r && r->params_json) fl_decision_put(d, FL_DS_PARAMS, r->params_json, strlen(r->params_json));
}

static int locale_index(fl_ctx_t *ctx, const fl_version *v, const char *locale)
{
    if (ctx->last_locale_ver != v || ctx->last_locale != locale) {
        ctx->last_locale_idx = fl_locale_index(v, locale);
        ctx->last_locale = locale;
        ctx->last_locale_ver = (fl_version *)v;
    }
    return ctx->last_locale_idx;
}

/* Render the message: the rule's precomputed template unless a handler
 * changed the category or message id. */
static void render_message(fl_ctx_t *ctx, const fl_version *v, const fl_rule *r, int dynamic,
                           const char *locale, const fl_eview *ev, fl_decision_t *d)
{
    int li = locale_index(ctx, v, locale);
    const fl_template *t = NULL;
    const char *loc = NULL;
    if (li >= 0 && r && !dynamic) {
        t = r->msg[li];
        loc = r->msg_locale[li];
    } else if (li >= 0) {
        const char *id = fl_decision_get(d, FL_DS_MESSAGE_ID);
        if (!id) id = fl_decision_get(d, FL_DS_CATEGORY);
        t = fl_resolve_message(v, li, id, &loc);
    }
    if (fl_decision_get(d, FL_DS_MESSAGE)) return; /* a handler wrote the text itself */
    if (v->outcome_msgs && t) { /* a message for this outcome: "<id>.<reason|action>" */
        const char *base = dynamic ? fl_decision_get(d, FL_DS_MESSAGE_ID) : NULL;
        if (!base && r && !dynamic)
            base = r->s.message_id ? r->s.message_id : r->cat && r->cat->message_id ? r->cat->message_id : r->category;
        if (!base) base = fl_decision_get(d, FL_DS_CATEGORY);
        const char *why = fl_decision_get(d, FL_DS_REASON), *oloc = NULL, *fb = loc;
        const fl_template *ot = why ? fl_resolve_outcome_message(v, li, base, why, fb, &oloc) : NULL;
        if (!ot && d->action == FL_ACTION_RETRY && d->delay_ms < 1000) /* "in a moment" wording */
            ot = fl_resolve_outcome_message(v, li, base, "retry_soon", fb, &oloc);
        if (!ot) ot = fl_resolve_outcome_message(v, li, base, fl_action_name(d->action), fb, &oloc);
        if (ot) {
            t = ot;
            loc = oloc;
        }
    }
    if (!t) {
        static const char k_generic[] = "Something went wrong. Please try again later.";
        fl_decision_put(d, FL_DS_MESSAGE, k_generic, sizeof k_generic - 1);
        fl_decision_put(d, FL_DS_MESSAGE_ID, "unknown", 7);
        return;
    }
    struct fl_render_env env = {ev, ctx->caps, ctx->ncaps, fl_decision_get(d, FL_DS_CATEGORY),
                                d->attempts_left, d->action == FL_ACTION_RETRY ? d->delay_ms : -1,
                                (size_t)v->max_message_len + 1 /* one more: tells a cut */};
    fl_sb_clear(&ctx->scratch);
    fl_template_render(t, &env, &ctx->scratch);
    size_t len = ctx->scratch.len;
    if (len > v->max_message_len) {
        len = fl_utf8_cut(fl_sb_cstr(&ctx->scratch), len, v->max_message_len - 3);
        ctx->scratch.len = len;
        fl_sb_append(&ctx->scratch, "\xe2\x80\xa6", 3); /* … */
        len += 3;
    }
    fl_decision_put(d, FL_DS_MESSAGE, fl_sb_cstr(&ctx->scratch), len);
    fl_decision_put(d, FL_DS_MESSAGE_ID, t->id, t->id_len);
    fl_decision_put(d, FL_DS_LOCALE, loc, strlen(loc));
    const char *tloc = NULL;
    const fl_template *tt = v->title_msgs ? fl_resolve_title(v, li, fl_decision_get(d, FL_DS_CATEGORY), loc, &tloc) : NULL;
    if (tt) { /* problem.title in the message's locale */
        fl_sb_clear(&ctx->scratch);
        fl_template_render(tt, &env, &ctx->scratch);
        fl_decision_put(d, FL_DS_PROBLEM_TITLE, fl_sb_cstr(&ctx->scratch), ctx->scratch.len);
    }
}

/* Id, fingerprint, and -- unless the rule's fixed strings put them
 * already (fixed) -- the policy's name, version and id and the problem type. */
static void put_identity(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev, unsigned flags, int fixed,
                         fl_decision_t *d)
{
    if (flags & FL_DECIDE_NO_ID) {
    } else if (ev->f[FL_FIELD_ID]) {
        fl_decision_put(d, FL_DS_ID, ev->f[FL_FIELD_ID], ev->flen[FL_FIELD_ID]);
    } else {
        char id[37];
        ctx->id_ms = fl_clock_ms(ctx->id_clock);
        fl_uuid7(&ctx->rng, ctx->id_ms, id);
        fl_decision_put(d, FL_DS_ID, id, 36);
    }
    if (!(flags & FL_DECIDE_NO_FINGERPRINT)) {
        char fp[17];
        const char *parts[4] = {fl_decision_get(d, FL_DS_CATEGORY), ev->f[FL_FIELD_DOMAIN], ev->f[FL_FIELD_CODE],
                                ev->f[FL_FIELD_OP]};
        const size_t plen[4] = {d->len[FL_DS_CATEGORY], ev->flen[FL_FIELD_DOMAIN], ev->flen[FL_FIELD_CODE],
                                ev->flen[FL_FIELD_OP]};
        fl_fingerprint_n(parts, plen, ev->f[FL_FIELD_MESSAGE], ev->flen[FL_FIELD_MESSAGE], fp);
        fl_decision_put(d, FL_DS_FINGERPRINT, fp, 16);
    }
    if (fixed) return;
    fl_decision_put(d, FL_DS_POLICY, v->name, v->name_len);
    fl_decision_put(d, FL_DS_POLICY_VERSION, v->label, v->label_len);
    fl_decision_put(d, FL_DS_VERSION_ID, v->id, 16);
    fl_decision_put2(d, FL_DS_PROBLEM_TYPE, v->problem_base, v->problem_base_len,
                     fl_decision_get(d, FL_DS_CATEGORY), d->len[FL_DS_CATEGORY]);
}

/* The policy's safe decision, after a handler failed. */
static void safe_decision(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev, int status,
                          const char *why, fl_decision_t *d)
{
    const char *rule = fl_decision_get(d, FL_DS_RULE), *fx = fl_decision_get(d, FL_DS_EFFECTS);
    char rulebuf[256];
    snprintf(rulebuf, sizeof rulebuf, "%s", rule ? rule : "default");
    char *effects = fx ? strdup(fx) : NULL;
    fl_decision_clear(d);
    d->jitter_seed = ctx->cur_seed;
    fl_decision_put(d, FL_DS_RULE, rulebuf, strlen(rulebuf));
    if (effects) fl_decision_put(d, FL_DS_EFFECTS, effects, strlen(effects));
    free(effects);
    fl_decision_put(d, FL_DS_CATEGORY, v->safe_category, strlen(v->safe_category));
    const fl_catconf *c = fl_find_category(v, v->safe_category);
    d->severity = v->safe.severity >= 0 ? (fl_severity)v->safe.severity : FL_SEV_ERROR;
    d->retryable = v->safe.retryable >= 0 ? v->safe.retryable : 0;
    d->status = v->safe.status ? v->safe.status : c ? c->status : fl_category_status(v->safe_category);
    apply_recovery(ctx, v->safe.recovery.set ? &v->safe.recovery : &k_fail, ev, d);
    const char *mid = v->safe.message_id ? v->safe.message_id : "unknown";
    fl_decision_put(d, FL_DS_MESSAGE_ID, mid, strlen(mid));
    const char *title = v->safe.title ? v->safe.title : c ? c->title : fl_category_title(v->safe_category);
    fl_decision_put(d, FL_DS_PROBLEM_TITLE, title, strlen(title));
    const char *kind = status == FL_EBUDGET_CPU ? "cpu_budget"
                     : status == FL_EBUDGET_MEM ? "memory_budget" : "handler";
    fl_decision_put(d, FL_DS_ERROR_KIND, kind, strlen(kind));
    fl_decision_put(d, FL_DS_ERROR, why, strlen(why));
}

/* The breaker key of rule r for this event, in key (cap bytes): its
 * template rendered, or its text as it is when it has no placeholder (the
 * usual case: the breaker's name). */
static void breaker_key(fl_ctx_t *ctx, const fl_rule *r, const fl_eview *ev, const fl_decision_t *d, char *key,
                        size_t cap)
{
    const fl_template *t = r->breaker_key;
    const char *src = "";
    size_t n = 0;
    if (t && t->nsegs == 1 && t->segs[0].kind == FL_PH_TEXT) {
        src = t->segs[0].text;
        n = t->segs[0].len;
    } else if (t) {
        struct fl_render_env env = {ev, ctx->caps, ctx->ncaps, fl_decision_get(d, FL_DS_CATEGORY), -1, -1, cap - 1};
        fl_sb_clear(&ctx->scratch);
        fl_template_render(t, &env, &ctx->scratch);
        src = fl_sb_cstr(&ctx->scratch);
        n = ctx->scratch.len;
    }
    if (n > cap - 1) n = cap - 1; /* where the render would have stopped */
    memcpy(key, src, n);
    key[n] = '\0';
}

/* The rule's breaker and retry budget: record this failure, then gate a
 * retry (one call: one clock reading for both).  A refused retry becomes
 * `fail` with the reason as its rule. */
static void apply_resilience(fl_ctx_t *ctx, const fl_rule *r, const fl_eview *ev, unsigned flags,
                             fl_decision_t *d)
{
    if (!r || (!r->breaker && !r->retry_budget)) return;
    fl_resil_t *res = ctx->sh->resil;
    char key[256] = "";
    if (r->breaker_key) breaker_key(ctx, r, ev, d, key, sizeof key);
    size_t klen = strlen(key);
    if (r->breaker) {
        fl_decision_put(d, FL_DS_BREAKER, r->breaker, strlen(r->breaker));
        fl_decision_put(d, FL_DS_BREAKER_KEY, key, klen);
    }
    if (r->retry_budget) fl_decision_put(d, FL_DS_BUDGET, r->retry_budget, strlen(r->retry_budget));
    fl_resil_outcome_t o = {r->breaker, r->retry_budget, key, fl_decision_get(d, FL_DS_CATEGORY),
                            ev->ev->has_elapsed && ev->ev->elapsed_ms <= FL_MAX_ELAPSED_MS ? (int64_t)(ev->ev->elapsed_ms * 1e6) : -1, ev->ev->attempt,
                            ctx->resil_now};
    char reason[160];
    int gate = d->action == FL_ACTION_RETRY;
    if (fl_resil_record_gate(res, &o, !(flags & FL_DECIDE_NO_RECORD), gate, reason, sizeof reason) != FL_EREFUSED)
        return;
    d->action = FL_ACTION_FAIL;
    d->delay_ms = -1;
    fl_decision_put(d, FL_DS_RULE, reason, strlen(reason));
    const char *why = strncmp(reason, "breaker", 7) == 0 ? "breaker_open" : "retry_budget_exhausted";
    fl_decision_put(d, FL_DS_REASON, why, strlen(why));
}

/* The first matching rule for the event (view, initialised by the caller)
 * or, failing that, for the first of its causes that matches, in which case
 * view becomes that cause's (root-cause classification). */
static const fl_rule *match_chain(fl_ctx_t *ctx, const fl_version *v, const fl_event_t *ev, fl_eview *view)
{
    const fl_rule *r = fl_match(ctx, v, view);
    for (const fl_event_t *c = ev->cause; !r && c; c = c->cause) {
        fl_eview cv;
        fl_eview_init(&cv, c);
        if ((r = fl_match(ctx, v, &cv))) *view = cv;
    }
    return r;
}

int fl_decide_on(fl_ctx_t *ctx, fl_version *v, const fl_event_t *ev, const char *locale, unsigned flags,
                 fl_decision_t *d)
{
    fl_decision_clear(d);
    /* Taken before anything can fail, so a caller's seed is used once. */
    ctx->cur_seed = ctx->has_next_seed ? ctx->next_seed : fl_splitmix64(&ctx->seed_stream);
    ctx->has_next_seed = 0;
    d->jitter_seed = ctx->cur_seed;
    if (ensure_match_data(ctx, v) != FL_OK) return FL_ENOMEM;
    ctx->explaining = (flags & FL_DECIDE_EXPLAIN) != 0;
    if (ctx->explaining) fl_sb_clear(&ctx->explain);
    fl_eview top, view; /* top: the event itself, for id and fingerprint */
    fl_eview_init(&top, ev);
    view = top;
    const fl_rule *r = match_chain(ctx, v, ev, &view);
    const char *category = r && r->category ? r->category : "unknown";
    int fixed = r && r->fixed && fl_decision_put_fixed(d, r) == FL_OK;
    if (!fixed) {
        fl_decision_put(d, FL_DS_CATEGORY, category, r && r->category ? r->category_len : 7);
        fl_decision_put(d, FL_DS_RULE, r ? r->name : "default", r ? r->name_len : 7);
    }
    apply_settings(ctx, v, r, category, &view, fixed, d);
    int rc = FL_OK, dynamic = 0;
    if (r && r->has_handler) {
        fl_strbuf err = {0};
        ctx->handler_runs++;
        rc = fl_handler_run(ctx, v, r, &view, d, &err);
        if (rc == FL_OK) dynamic = 1;
        else safe_decision(ctx, v, &view, rc, fl_sb_cstr(&err), d);
        fl_sb_free(&err);
    }
    if (rc == FL_OK) apply_resilience(ctx, r, &view, flags, d);
    if (!(flags & FL_DECIDE_NO_MESSAGE)) render_message(ctx, v, r, dynamic || rc != FL_OK, locale, &view, d);
    put_identity(ctx, v, &top, flags, fixed && rc == FL_OK, d);
    if (ctx->explaining) {
        fl_sb_clear(&ctx->scratch);
        fl_sb_printf(&ctx->scratch, "{\"candidates\":%u,\"tried\":[%s]}", ctx->ncand, fl_sb_cstr(&ctx->explain));
        fl_decision_put(d, FL_DS_EXPLAIN, fl_sb_cstr(&ctx->scratch), ctx->scratch.len);
    }
    return rc;
}

int fl_decide(fl_ctx_t *ctx, const fl_event_t *ev, const char *locale, unsigned flags, fl_decision_t *out)
{
    if (!ctx || !ev || !out) return FL_EINVAL;
    /* A context is one thread's: a second thread inside it at the same time
     * would corrupt its scratch and Lua state.  One uncontended atomic
     * exchange catches it (SQLite's SQLITE_MISUSE is the model). */
    if (atomic_exchange_explicit(&ctx->busy, 1, memory_order_acquire)) return FL_EMISUSE;
    int rc;
    struct fl_shared *sh = ctx->sh;
    int obs = atomic_load_explicit(&sh->obs.on, memory_order_relaxed);
    /* The clock is read for 1 decision in FL_OBS_TIME_EVERY per context;
     * the others are observed with the duration last measured (observe.c). */
    int timed = obs && ctx->obs_tick++ % FL_OBS_TIME_EVERY == 0;
    uint64_t t0 = timed ? fl_obs_now_ns() : 0;
    ctx->id_ms = 0;
    repin(ctx);
    if (!ctx->ver) {
        fl_decision_clear(out);
        fl_decision_put(out, FL_DS_CATEGORY, "unknown", 7);
        fl_decision_put(out, FL_DS_RULE, "default", 7);
        fl_decision_put(out, FL_DS_ERROR_KIND, "no_policy", 9);
        fl_decision_put(out, FL_DS_ERROR, "no policy is loaded", 19);
        rc = FL_ESTATE;
    } else if ((flags & FL_DECIDE_STACK_ON_DEMAND) && ctx->ver->reads_stack && !ev->set[FL_FIELD_STACK]) {
        rc = FL_ESTATE_STACK; /* checked on the pinned version: no race with a reload */
    } else {
        rc = fl_decide_on(ctx, ctx->ver, ev, locale, flags, out);
        fl_health_note(ctx, out);
    }
    if (timed) fl_obs_hold(ctx, fl_obs_now_ns() - t0);
    /* FL_ESTATE_STACK decided nothing and left `out` as it was (the
     * previous decision): neither metrics nor the log and registry see it. */
    if (obs && rc != FL_ESTATE_STACK) fl_obs_note(ctx, out, rc);
    void (*hook)(fl_ctx_t *, const fl_event_t *, const fl_decision_t *) =
        atomic_load_explicit(&sh->on_decision, memory_order_acquire);
    if (hook && rc != FL_ESTATE && rc != FL_ESTATE_STACK) hook(ctx, ev, out);
    atomic_store_explicit(&ctx->busy, 0, memory_order_release);
    return rc;
}
