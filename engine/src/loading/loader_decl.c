/*
 * loader_decl.c -- reads each kind of declaration (policy, category, rule,
 * messages, example) from its Lua table into the version, validating keys,
 * types and ranges.  The rule is strict: an unknown key is an error, because
 * a misspelt `retryable` silently ignored is a production incident later.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"
#include "resilience/resilience.h"

static const char *const k_severity[] = {"debug", "info", "warning", "error", "critical", NULL};

static int find_word(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return i;
    return -1;
}

/* Check that every key of table t is in `allowed`. */
int ld_check_keys(struct ld *ld, int t, const char *const *allowed)
{
    lua_State *L = ld->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 1);
            return ld_error(ld, NULL, "keys must be names, found a %s key", luaL_typename(L, -1));
        }
        const char *k = lua_tostring(L, -1);
        if (find_word(allowed, k) < 0) {
            char key[128];
            snprintf(key, sizeof key, "%s", k);
            lua_pop(L, 1);
            return ld_error(ld, key, "unknown key '%s'", key);
        }
    }
    return FL_OK;
}

/* Optional string field; *out stays NULL when absent. */
static int opt_string(struct ld *ld, int t, const char *key, char **out)
{
    lua_getfield(ld->L, t, key);
    int rc = FL_OK;
    if (lua_isstring(ld->L, -1) && lua_type(ld->L, -1) == LUA_TSTRING) {
        free(*out);
        *out = ld_strdup(ld, lua_tostring(ld->L, -1));
    } else if (!lua_isnil(ld->L, -1)) {
        rc = ld_error(ld, key, "'%s' must be a string", key);
    }
    lua_pop(ld->L, 1);
    return rc;
}

static int opt_number(struct ld *ld, int t, const char *key, double lo, double hi, double *out)
{
    lua_getfield(ld->L, t, key);
    int rc = FL_OK;
    if (lua_type(ld->L, -1) == LUA_TNUMBER) {
        double d = lua_tonumber(ld->L, -1);
        if (!(d >= lo && d <= hi)) rc = ld_error(ld, key, "'%s' must be between %g and %g", key, lo, hi);
        else *out = d;
    } else if (!lua_isnil(ld->L, -1)) {
        rc = ld_error(ld, key, "'%s' must be a number", key);
    }
    lua_pop(ld->L, 1);
    return rc;
}

/* "__fl" marker of a constructor value (re, range, retry, ...) or NULL. */
static const char *marker(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE) return NULL;
    lua_getfield(L, idx, "__fl");
    const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 1);
    return m; /* interned in the table: stays valid while the table lives */
}

/* ---- recovery and settings ---------------------------------------------- */

static int ld_retry(struct ld *ld, int t, fl_recovery *r)
{
    static const char *const keys[] = {"backoff", "base_ms", "factor", "max_delay_ms", "jitter",
                                       "max_attempts", "budget_ms", "honor_retry_after",
                                       "max_retry_after_ms", NULL};
    static const char *const backoffs[] = {"constant", "linear", "exponential", "decorrelated", NULL};
    static const char *const jitters[] = {"none", "full", "equal", NULL};
    int rc = ld_check_keys(ld, t, keys);
    double att = 3;
    r->backoff = FL_BO_EXPONENTIAL;
    r->jitter = FL_JIT_FULL;
    r->base_ms = 100;
    r->factor = 2;
    r->max_delay_ms = 30000;
    r->budget_ms = -1;
    r->honor_retry_after = 1;
    if (rc == FL_OK) rc = opt_number(ld, t, "base_ms", 0, 86400000, &r->base_ms);
    if (rc == FL_OK) rc = opt_number(ld, t, "factor", 1, 100, &r->factor);
    if (rc == FL_OK) rc = opt_number(ld, t, "max_delay_ms", 0, 86400000, &r->max_delay_ms);
    if (rc == FL_OK) rc = opt_number(ld, t, "budget_ms", 0, 864000000, &r->budget_ms);
    if (rc == FL_OK) rc = opt_number(ld, t, "max_attempts", 1, 1000, &att);
    /* Retry-After is capped by max_delay_ms unless the policy opts in to a
     * larger hard maximum (at most 30 days, like a handler's delay_ms). */
    if (rc == FL_OK) rc = opt_number(ld, t, "max_retry_after_ms", 0, 2592000000.0, &r->max_retry_after_ms);
    if (rc == FL_OK && r->max_retry_after_ms && r->max_retry_after_ms < r->max_delay_ms)
        rc = ld_error(ld, "max_retry_after_ms", "'max_retry_after_ms' (%g) must be at least max_delay_ms (%g)",
                      r->max_retry_after_ms, r->max_delay_ms);
    r->max_attempts = (int)att;
    for (int k = 0; rc == FL_OK && k < 2; k++) {
        const char *key = k ? "jitter" : "backoff";
        lua_getfield(ld->L, t, key);
        if (!lua_isnil(ld->L, -1)) {
            const char *s = lua_type(ld->L, -1) == LUA_TSTRING ? lua_tostring(ld->L, -1) : "";
            int w = find_word(k ? jitters : backoffs, s);
            if (w < 0)
                rc = ld_error(ld, key, k ? "jitter must be \"none\", \"full\" or \"equal\""
                                         : "backoff must be \"constant\", \"linear\", "
                                           "\"exponential\" or \"decorrelated\"");
            else if (k) r->jitter = (fl_jitter)w;
            else r->backoff = (fl_backoff)w;
        }
        lua_pop(ld->L, 1);
    }
    lua_getfield(ld->L, t, "honor_retry_after");
    if (rc == FL_OK && lua_type(ld->L, -1) == LUA_TBOOLEAN) r->honor_retry_after = lua_toboolean(ld->L, -1);
    else if (rc == FL_OK && !lua_isnil(ld->L, -1)) rc = ld_error(ld, "honor_retry_after", "honor_retry_after must be a boolean");
    lua_pop(ld->L, 1);
    return rc;
}

static int ld_recovery(struct ld *ld, int idx, fl_recovery *r);

#define RECOVERY_KINDS "retry{...}, fallback(v), cache{...}, ignore() or fail()"

/* cache { key = "template", max_stale_ms = N, otherwise = recovery }: the
 * value the host stored under the rendered key, else `otherwise`. */
static int ld_cache(struct ld *ld, int t, fl_recovery *r)
{
    static const char *const keys[] = {"key", "max_stale_ms", "otherwise", NULL};
    lua_State *L = ld->L;
    char *key = NULL, err[256];
    double stale = 600000;
    int rc = ld_check_keys(ld, t, keys);
    if (rc == FL_OK) rc = opt_string(ld, t, "key", &key);
    if (rc == FL_OK && (!key || !key[0])) rc = ld_error(ld, "key", "cache: 'key' (a template such as \"{op}:{tags.user}\") is required");
    if (rc == FL_OK) rc = opt_number(ld, t, "max_stale_ms", 0, 2592000000.0, &stale);
    if (rc == FL_OK && !(r->cache_key = calloc(1, sizeof *r->cache_key))) rc = FL_ENOMEM;
    if (rc == FL_OK && fl_template_parse(r->cache_key, "cache", key, err, sizeof err) != 0)
        rc = ld_error(ld, "key", "cache: key: %s", err);
    free(key);
    if (rc != FL_OK) return rc;
    r->action = FL_ACTION_FALLBACK;
    r->cache_max_stale_ms = (int64_t)stale;
    lua_getfield(L, t, "otherwise");
    if (!lua_isnil(L, -1)) {
        const char *m = marker(L, lua_gettop(L));
        if (m && strcmp(m, "cache") == 0) rc = ld_error(ld, "otherwise", "cache: 'otherwise' cannot be another cache");
        else if (!(r->otherwise = calloc(1, sizeof *r->otherwise))) rc = FL_ENOMEM;
        else {
            r->otherwise->budget_ms = -1;
            rc = ld_recovery(ld, lua_gettop(L), r->otherwise);
        }
    }
    lua_pop(L, 1);
    return rc;
}

static int ld_recovery(struct ld *ld, int idx, fl_recovery *r)
{
    lua_State *L = ld->L;
    const char *m = marker(L, idx);
    if (!m) return ld_error(ld, "recovery", "recovery must be " RECOVERY_KINDS);
    r->set = 1;
    if (strcmp(m, "retry") == 0) {
        r->action = FL_ACTION_RETRY;
        lua_getfield(L, idx, "t");
        int rc = ld_retry(ld, lua_gettop(L), r);
        lua_pop(L, 1);
        return rc;
    }
    if (strcmp(m, "cache") == 0 || strcmp(m, "fallback") == 0) {
        int rc;
        lua_getfield(L, idx, m[0] == 'c' ? "t" : "value");
        if (m[0] == 'c' || (marker(L, -1) && strcmp(marker(L, -1), "cache") == 0)) {
            if (m[0] == 'f') lua_getfield(L, -1, "t"); /* fallback(cache { ... }) */
            rc = ld_cache(ld, lua_gettop(L), r);
            if (m[0] == 'f') lua_pop(L, 1);
        } else {
            r->action = FL_ACTION_FALLBACK;
            r->fallback_json = lua_isnil(L, -1) ? ld_strdup(ld, "null") : ld_to_json_text(ld, -1, "fallback");
            rc = r->fallback_json ? FL_OK : ld->oom ? FL_ENOMEM : FL_EPOLICY_SCHEMA;
        }
        lua_pop(L, 1);
        return rc;
    }
    if (strcmp(m, "ignore") == 0) r->action = FL_ACTION_IGNORE;
    else if (strcmp(m, "fail") == 0) r->action = FL_ACTION_FAIL;
    else return ld_error(ld, "recovery", "recovery must be " RECOVERY_KINDS);
    return FL_OK;
}

/* Settings common to categories and rules. */
static int ld_settings(struct ld *ld, int t, fl_settings *s)
{
    lua_State *L = ld->L;
    int rc = FL_OK;
    s->severity = s->retryable = -1;
    lua_getfield(L, t, "severity");
    if (!lua_isnil(L, -1)) {
        s->severity = lua_type(L, -1) == LUA_TSTRING ? find_word(k_severity, lua_tostring(L, -1)) : -1;
        if (s->severity < 0) rc = ld_error(ld, "severity", "severity must be one of debug, info, warning, error, critical");
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "retryable");
    if (rc == FL_OK && lua_type(L, -1) == LUA_TBOOLEAN) s->retryable = lua_toboolean(L, -1);
    else if (rc == FL_OK && !lua_isnil(L, -1)) rc = ld_error(ld, "retryable", "retryable must be true or false");
    lua_pop(L, 1);
    double st = 0;
    if (rc == FL_OK) rc = opt_number(ld, t, "status", 100, 599, &st);
    s->status = (int)st;
    if (rc == FL_OK) rc = opt_string(ld, t, "message", &s->message_id);
    if (rc == FL_OK) rc = opt_string(ld, t, "title", &s->title);
    lua_getfield(L, t, "recovery");
    if (rc == FL_OK && !lua_isnil(L, -1)) rc = ld_recovery(ld, lua_gettop(L), &s->recovery);
    lua_pop(L, 1);
    return rc;
}

int ld_settings_public(struct ld *ld, int t, fl_settings *s) { return ld_settings(ld, t, s); }

/* ---- policy ------------------------------------------------------------- */

static int ld_safe(struct ld *ld, int s)
{
    static const char *const keys[] = {"category", "severity", "retryable", "recovery",
                                       "message", "status", "title", NULL};
    fl_version *v = ld->v;
    snprintf(ld->what, sizeof ld->what, "policy.safe");
    int rc = ld_check_keys(ld, s, keys);
    if (rc == FL_OK) rc = ld_settings(ld, s, &v->safe);
    if (rc == FL_OK) rc = opt_string(ld, s, "category", &v->safe_category);
    if (rc == FL_OK && v->safe_category && !fl_category_valid(v->safe_category))
        rc = ld_error(ld, "category", "'%s' is not a category", v->safe_category);
    return rc;
}

/* policy { canary = false | { watch_ms, min_decisions, max_failure_rate,
 * max_unknown_increase, max_fail_increase } } */
static int ld_canary(struct ld *ld, int t)
{
    static const char *const keys[] = {"watch_ms", "min_decisions", "max_failure_rate", "max_unknown_increase",
                                       "max_fail_increase", NULL};
    struct fl_canary_conf *c = &ld->v->canary;
    lua_getfield(ld->L, t, "canary");
    int idx = lua_gettop(ld->L), rc = FL_OK;
    if (lua_type(ld->L, idx) == LUA_TBOOLEAN) {
        c->off = !lua_toboolean(ld->L, idx);
    } else if (lua_type(ld->L, idx) == LUA_TTABLE) {
        double w = c->watch_ms, m = c->min_decisions;
        rc = ld_check_keys(ld, idx, keys);
        if (rc == FL_OK) rc = opt_number(ld, idx, "watch_ms", 1, 86400000, &w);
        if (rc == FL_OK) rc = opt_number(ld, idx, "min_decisions", 1, 1e9, &m);
        if (rc == FL_OK) rc = opt_number(ld, idx, "max_failure_rate", 0, 1, &c->max_failure_rate);
        if (rc == FL_OK) rc = opt_number(ld, idx, "max_unknown_increase", 0, 1, &c->max_unknown_increase);
        if (rc == FL_OK) rc = opt_number(ld, idx, "max_fail_increase", 0, 1, &c->max_fail_increase);
        c->watch_ms = (uint32_t)w;
        c->min_decisions = (uint32_t)m;
    } else if (!lua_isnil(ld->L, idx)) {
        rc = ld_error(ld, "canary", "'canary' must be a table or false");
    }
    lua_pop(ld->L, 1);
    return rc;
}

int ld_policy(struct ld *ld, int t)
{
    static const char *const keys[] = {"name", "version", "default_locale", "max_message_len",
                                       "safe", "problem_base", "canary", "empty", NULL};
    fl_version *v = ld->v;
    int rc = ld_check_keys(ld, t, keys);
    lua_getfield(ld->L, t, "empty");
    if (rc == FL_OK && lua_type(ld->L, -1) == LUA_TBOOLEAN) v->declared_empty = lua_toboolean(ld->L, -1);
    else if (rc == FL_OK && !lua_isnil(ld->L, -1)) rc = ld_error(ld, "empty", "'empty' must be a boolean");
    lua_pop(ld->L, 1);
    if (rc == FL_OK) rc = opt_string(ld, t, "name", &v->name);
    if (rc == FL_OK) rc = opt_string(ld, t, "version", &v->label);
    if (rc == FL_OK) rc = opt_string(ld, t, "problem_base", &v->problem_base);
    if (rc == FL_OK) rc = opt_string(ld, t, "default_locale", &v->default_locale_name);
    double mml = 0;
    if (rc == FL_OK) rc = opt_number(ld, t, "max_message_len", 16, 65536, &mml);
    v->max_message_len = (uint32_t)mml;
    if (rc == FL_OK) rc = ld_canary(ld, t);
    lua_getfield(ld->L, t, "safe");
    if (rc == FL_OK && lua_type(ld->L, -1) == LUA_TTABLE) rc = ld_safe(ld, lua_gettop(ld->L));
    else if (rc == FL_OK && !lua_isnil(ld->L, -1)) rc = ld_error(ld, "safe", "'safe' must be a table");
    lua_pop(ld->L, 1);
    return rc;
}

/* ---- categories ---------------------------------------------------------- */

int ld_category(struct ld *ld, int t)
{
    static const char *const keys[] = {"severity", "retryable", "recovery", "message", "status",
                                       "title", NULL};
    fl_version *v = ld->v;
    if (!fl_category_valid(ld->name))
        return ld_error(ld, ld->name, "'%s' is not one of the 16 canonical categories "
                                      "(optionally refined after a dot)", ld->name);
    for (uint32_t i = 0; i < v->ncats; i++)
        if (strcmp(v->cats[i].name, ld->name) == 0)
            return ld_error(ld, ld->name, "declared twice (first at %s:%d)", v->cats[i].file, v->cats[i].line);
    int rc = ld_check_keys(ld, t, keys);
    if (rc != FL_OK) return rc;
    fl_catconf *c = realloc(v->cats, (v->ncats + 1) * sizeof *c);
    if (!c) return FL_ENOMEM;
    v->cats = c;
    c = &v->cats[v->ncats++];
    memset(c, 0, sizeof *c);
    c->name = ld_strdup(ld, ld->name);
    c->file = ld_strdup(ld, ld->src);
    c->line = ld->line;
    return ld_settings(ld, t, &c->s);
}

/* ---- examples ------------------------------------------------------------ */

int ld_example(struct ld *ld, int t)
{
    static const char *const keys[] = {"event", "expect", "locale", NULL};
    fl_version *v = ld->v;
    int rc = ld_check_keys(ld, t, keys);
    if (rc != FL_OK) return rc;
    fl_example *e = realloc(v->examples, (v->nexamples + 1) * sizeof *e);
    if (!e) return FL_ENOMEM;
    v->examples = e;
    e = &v->examples[v->nexamples++];
    memset(e, 0, sizeof *e);
    e->name = ld_strdup(ld, ld->name);
    e->file = ld_strdup(ld, ld->src);
    e->line = ld->line;
    rc = opt_string(ld, t, "locale", &e->locale);
    for (int k = 0; rc == FL_OK && k < 2; k++) {
        const char *key = k ? "expect" : "event";
        lua_getfield(ld->L, t, key);
        json_t *j = lua_type(ld->L, -1) == LUA_TTABLE ? ld_to_json(ld, -1, 0, key) : NULL;
        if (!j && lua_type(ld->L, -1) != LUA_TTABLE) rc = ld_error(ld, key, "'%s' must be a table", key);
        else if (!j) rc = ld->diag && ld->diag->status ? ld->diag->status : FL_ENOMEM;
        else if (!json_is_object(j)) { /* an empty table comes out as {} already */
            json_decref(j);
            rc = ld_error(ld, key, "'%s' must be a table with named fields", key);
        } else if (k) e->expect = j;
        else e->event = j;
        lua_pop(ld->L, 1);
    }
    return rc;
}

/* ---- message catalogues -------------------------------------------------- */

int ld_messages(struct ld *ld, int t)
{
    fl_version *v = ld->v;
    fl_locale *loc = NULL;
    for (uint32_t i = 0; i < v->nlocales; i++)
        if (strcmp(v->locales[i].name, ld->name) == 0) loc = &v->locales[i];
    if (!loc) {
        fl_locale *nl = realloc(v->locales, (v->nlocales + 1) * sizeof *nl);
        if (!nl) return FL_ENOMEM;
        v->locales = nl;
        loc = &v->locales[v->nlocales++];
        memset(loc, 0, sizeof *loc);
        loc->name = ld_strdup(ld, ld->name);
        loc->file = ld_strdup(ld, ld->src);
        loc->line = ld->line;
    }
    lua_State *L = ld->L;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 2);
            return ld_error(ld, NULL, "entries must be id = \"template\" strings");
        }
        const char *id = lua_tostring(L, -2), *src = lua_tostring(L, -1);
        for (uint32_t i = 0; i < loc->nmsgs; i++)
            if (strcmp(loc->msgs[i].id, id) == 0) {
                char key[128];
                snprintf(key, sizeof key, "%s", id);
                lua_pop(L, 2);
                return ld_error(ld, key, "message '%s' is defined twice for locale %s", key, ld->name);
            }
        fl_template *m = realloc(loc->msgs, (loc->nmsgs + 1) * sizeof *m);
        if (!m) return FL_ENOMEM;
        loc->msgs = m;
        char err[256];
        if (fl_template_parse(&loc->msgs[loc->nmsgs], id, src, err, sizeof err) != 0) {
            char key[128];
            snprintf(key, sizeof key, "%s", id);
            lua_pop(L, 2);
            return ld_error(ld, key, "message '%s': %s", key, err);
        }
        loc->nmsgs++;
        lua_pop(L, 1);
    }
    return FL_OK;
}

/* ---- resilience declarations ------------------------------------------- */

/* fleet { redis = ..., prefix = ..., sync_ms = ... }: validated now (a bad
 * URL is a load error), started by the engine when the version is
 * published (engine.c).  The URL may hold a password: errors never echo it. */
int ld_fleet(struct ld *ld, int t)
{
    static const char *const keys[] = {"redis", "prefix", "password_file", "sync_ms", "quorum",
                                       "ttl_ms", "timeout_ms", NULL};
    fl_fleet_decl_t *d = calloc(1, sizeof *d);
    double sync = 0, quorum = 0, ttl = 0, timeout = 0;
    int rc;
    if (!d) return FL_ENOMEM;
    ld->v->fleet = d;
    rc = ld_check_keys(ld, t, keys);
    if (rc == FL_OK) rc = opt_string(ld, t, "redis", &d->redis);
    if (rc == FL_OK) rc = opt_string(ld, t, "prefix", &d->prefix);
    if (rc == FL_OK) rc = opt_string(ld, t, "password_file", &d->password_file);
    if (rc == FL_OK) rc = opt_number(ld, t, "sync_ms", 10, 60000, &sync);
    if (rc == FL_OK) rc = opt_number(ld, t, "quorum", 1, 1000, &quorum);
    if (rc == FL_OK) rc = opt_number(ld, t, "ttl_ms", 10, 600000, &ttl);
    if (rc == FL_OK) rc = opt_number(ld, t, "timeout_ms", 1, 60000, &timeout);
    if (rc != FL_OK) return rc;
    if (!d->redis) return ld_error(ld, "redis", "fleet: 'redis' (a redis:// URL) is required");
    d->sync_ms = (uint32_t)sync;
    d->quorum = (uint32_t)quorum;
    d->ttl_ms = (uint32_t)ttl;
    d->timeout_ms = (uint32_t)timeout;
    fl_fleet_config_t cfg;
    fl_diag_t sub;
    fl_diag_clear(&sub);
    fl_fleet_decl_config(d, &cfg);
    rc = fl_fleet_validate(&cfg, &sub);
    if (rc != FL_OK) return ld_error(ld, NULL, "%s", sub.message[0] ? sub.message : fl_strerror(rc));
    return FL_OK;
}

/* breaker / limiter / bulkhead / retry_budget: parsed and validated now,
 * applied to the engine's registry only when the version is published. */
int ld_resil(struct ld *ld, int t)
{
    fl_version *v = ld->v;
    for (uint32_t i = 0; i < v->nrdecls; i++)
        if (strcmp(v->rdecls[i]->name, ld->name) == 0 &&
            v->rdecls[i]->kind == (strcmp(ld->kind, "breaker") == 0 ? FL_RESIL_BREAKER
                                   : strcmp(ld->kind, "limiter") == 0 ? FL_RESIL_LIMITER
                                   : strcmp(ld->kind, "bulkhead") == 0 ? FL_RESIL_BULKHEAD : FL_RESIL_BUDGET))
            return ld_error(ld, ld->name, "declared twice");
    fl_resil_decl_t *d = NULL;
    fl_diag_t sub;
    fl_diag_clear(&sub);
    int rc = fl_resil_parse_lua(ld->L, t, ld->kind, ld->name, &d, &sub);
    if (rc != FL_OK) return ld_error(ld, NULL, "%s", sub.message[0] ? sub.message : fl_strerror(rc));
    fl_resil_decl_t **n = realloc(v->rdecls, (v->nrdecls + 1) * sizeof *n);
    if (!n) {
        fl_resil_decl_free(d);
        return FL_ENOMEM;
    }
    v->rdecls = n;
    v->rdecls[v->nrdecls++] = d;
    return FL_OK;
}

/* ---- alerts ---------------------------------------------------------------- */

/* alert "name" { when = { category = "...", severity = "..." },
 *   threshold = { count = N, window_ms = W }, group_by = "fingerprint",
 *   min_interval_ms = M, message = "...",
 *   notify = { webhook = URL, slack = URL, email = { smtp = URL, from = A, to = "a, b" } } }
 * Checked here as far as the policy can say; the engine checks the rest
 * (URL schemes, addresses) when it starts the alerts (engine/alerts.c). */
int ld_alert(struct ld *ld, int t)
{
    static const char *const keys[] = {"when", "threshold", "group_by", "min_interval_ms", "message", "notify", NULL};
    static const char *const when_keys[] = {"category", "severity", NULL};
    static const char *const th_keys[] = {"count", "window_ms", NULL};
    static const char *const nt_keys[] = {"webhook", "slack", "email", NULL};
    static const char *const em_keys[] = {"smtp", "from", "to", NULL};
    static const char *const sev[] = {"debug", "info", "warning", "error", "critical", NULL};
    fl_version *v = ld->v;
    for (uint32_t i = 0; i < v->nalerts; i++)
        if (strcmp(v->alerts[i].name, ld->name) == 0) return ld_error(ld, ld->name, "declared twice");
    if (v->nalerts >= 64) return ld_error(ld, NULL, "more than 64 alerts");
    fl_alert_rule_t *n = realloc(v->alerts, (v->nalerts + 1) * sizeof *n);
    if (!n) return FL_ENOMEM;
    v->alerts = n;
    fl_alert_rule_t *a = &v->alerts[v->nalerts++];
    memset(a, 0, sizeof *a);
    a->name = ld_strdup(ld, ld->name);
    char *s = NULL;
    int rc = ld_check_keys(ld, t, keys);
    lua_State *L = ld->L;
    if (rc == FL_OK) {
        lua_getfield(L, t, "when");
        int w = lua_gettop(L);
        if (lua_istable(L, w)) {
            rc = ld_check_keys(ld, w, when_keys);
            if (rc == FL_OK) rc = opt_string(ld, w, "category", &s);
            if (rc == FL_OK && s && !fl_category_valid(s)) rc = ld_error(ld, "category", "'%s' is not a category", s);
            a->category = s;
            s = NULL;
            if (rc == FL_OK) rc = opt_string(ld, w, "severity", &s);
            if (rc == FL_OK && s) {
                int k = find_word(sev, s);
                if (k < 0) rc = ld_error(ld, "severity", "'%s' is not a severity (debug, info, warning, error, critical)", s);
                else a->min_severity = k;
            }
            free(s);
            s = NULL;
        } else if (!lua_isnil(L, w)) {
            rc = ld_error(ld, "when", "'when' must be a table");
        }
        lua_pop(L, 1);
    }
    if (rc == FL_OK) {
        lua_getfield(L, t, "threshold");
        int h = lua_gettop(L);
        double c = 0, wms = 0;
        if (!lua_istable(L, h)) rc = ld_error(ld, "threshold", "'threshold' = { count = N, window_ms = W } is required");
        if (rc == FL_OK) rc = ld_check_keys(ld, h, th_keys);
        if (rc == FL_OK) rc = opt_number(ld, h, "count", 1, 100000, &c);
        if (rc == FL_OK) rc = opt_number(ld, h, "window_ms", 1, 86400000, &wms);
        if (rc == FL_OK && (c < 1 || wms < 1)) rc = ld_error(ld, "threshold", "threshold needs count and window_ms");
        a->count = (uint32_t)c;
        a->window_ms = (uint32_t)wms;
        lua_pop(L, 1);
    }
    double mi = 0;
    if (rc == FL_OK) rc = opt_number(ld, t, "min_interval_ms", 0, 86400000, &mi);
    a->min_interval_ms = (uint32_t)mi;
    if (rc == FL_OK) rc = opt_string(ld, t, "group_by", &s);
    if (rc == FL_OK && s && strcmp(s, "fingerprint") && strcmp(s, "category") && strcmp(s, "op") && strcmp(s, "rule"))
        rc = ld_error(ld, "group_by", "'%s': group_by is fingerprint, category, op or rule", s);
    a->group_by = s;
    s = NULL;
    if (rc == FL_OK) rc = opt_string(ld, t, "message", &s);
    a->message = s;
    s = NULL;
    if (rc == FL_OK) {
        lua_getfield(L, t, "notify");
        int nt = lua_gettop(L);
        if (!lua_istable(L, nt)) rc = ld_error(ld, "notify", "'notify' = { webhook = URL, slack = URL, email = {...} } is required");
        if (rc == FL_OK) rc = ld_check_keys(ld, nt, nt_keys);
        if (rc == FL_OK) rc = opt_string(ld, nt, "webhook", &s);
        a->webhook_url = s;
        s = NULL;
        if (rc == FL_OK) rc = opt_string(ld, nt, "slack", &s);
        a->slack_url = s;
        s = NULL;
        if (rc == FL_OK) {
            lua_getfield(L, nt, "email");
            int em = lua_gettop(L);
            if (lua_istable(L, em)) {
                rc = ld_check_keys(ld, em, em_keys);
                if (rc == FL_OK) rc = opt_string(ld, em, "smtp", &s);
                a->smtp_url = s;
                s = NULL;
                if (rc == FL_OK) rc = opt_string(ld, em, "from", &s);
                a->mail_from = s;
                s = NULL;
                if (rc == FL_OK) rc = opt_string(ld, em, "to", &s);
                a->mail_to = s;
                s = NULL;
            } else if (!lua_isnil(L, em)) {
                rc = ld_error(ld, "email", "'email' must be a table { smtp = URL, from = ADDR, to = ADDRS }");
            }
            lua_pop(L, 1);
        }
        if (rc == FL_OK && !a->webhook_url && !a->slack_url && !a->smtp_url)
            rc = ld_error(ld, "notify", "notify names no channel (webhook, slack or email)");
        if (rc == FL_OK && ((a->webhook_url && strncmp(a->webhook_url, "http://", 7) && strncmp(a->webhook_url, "https://", 8)) ||
                            (a->slack_url && strncmp(a->slack_url, "http://", 7) && strncmp(a->slack_url, "https://", 8))))
            rc = ld_error(ld, "notify", "webhook and slack URLs must start with http:// or https://");
        if (rc == FL_OK && a->smtp_url &&
            ((strncmp(a->smtp_url, "smtp://", 7) && strncmp(a->smtp_url, "smtps://", 8)) || !a->mail_from ||
             !a->mail_to || strpbrk(a->mail_from, "\r\n<>") || strpbrk(a->mail_to, "\r\n<>")))
            rc = ld_error(ld, "email", "email needs smtp = smtp:// or smtps:// URL, from and to (plain addresses)");
        lua_pop(L, 1);
    }
    free(s);
    return rc;
}

/* ---- log ------------------------------------------------------------------------ */

/* A list of words from table t[key] into a bit set of `words` (bit i). */
static int word_bits(struct ld *ld, int t, const char *key, const char *const *words, unsigned *out)
{
    lua_State *L = ld->L;
    lua_getfield(L, t, key);
    int idx = lua_gettop(L), rc = FL_OK;
    if (lua_istable(L, idx)) {
        *out = 0;
        for (int i = 1;; i++) {
            lua_rawgeti(L, idx, i);
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            int k = lua_type(L, -1) == LUA_TSTRING ? find_word(words, lua_tostring(L, -1)) : -1;
            if (k < 0) rc = ld_error(ld, key, "'%s' lists fields of domain, code, message, op, stack, id", key);
            else *out |= 1u << k;
            lua_pop(L, 1);
            if (rc != FL_OK) break;
        }
    } else if (!lua_isnil(L, idx)) {
        rc = ld_error(ld, key, "'%s' must be a list of field names", key);
    }
    lua_pop(L, 1);
    return rc;
}

/* log { on_full = "drop" | "spool" }: 0 unset, 1 + FL_LOG_ON_FULL_*. */
static int log_on_full(struct ld *ld, int t, int *out)
{
    char *w = NULL;
    int rc = opt_string(ld, t, "on_full", &w);
    if (rc == FL_OK && w) {
        if (strcmp(w, "drop") == 0) *out = 1 + FL_LOG_ON_FULL_DROP;
        else if (strcmp(w, "spool") == 0) *out = 1 + FL_LOG_ON_FULL_SPOOL;
        else rc = ld_error(ld, "on_full", "on_full must be \"drop\" or \"spool\", not \"%s\"", w);
    }
    free(w);
    return rc;
}

/* log { fields = {...}, mask = {...}, redact = { "pattern", ... },
 *       sample = { debug = N, info = N, ... }, on_full = "drop" | "spool" }
 * -- what the decision log's lines hold and whether a slow destination drops
 * or spools them; the host chooses where they go (docs/observability.md). */
int ld_log(struct ld *ld, int t)
{
    static const char *const keys[] = {"fields", "mask", "redact", "sample", "on_full", NULL};
    /* bit order = FL_LOG_DOMAIN, CODE, MESSAGE, OP, STACK, EVENT_ID */
    static const char *const fields[] = {"domain", "code", "message", "op", "stack", "id", NULL};
    static const char *const sev[] = {"debug", "info", "warning", "error", "critical", NULL};
    fl_version *v = ld->v;
    lua_State *L = ld->L;
    v->logd.declared = 1;
    int rc = ld_check_keys(ld, t, keys);
    if (rc == FL_OK) rc = word_bits(ld, t, "fields", fields, &v->logd.fields);
    if (rc == FL_OK) rc = word_bits(ld, t, "mask", fields, &v->logd.mask);
    if (rc == FL_OK) rc = log_on_full(ld, t, &v->logd.on_full);
    if (rc == FL_OK) {
        lua_getfield(L, t, "redact");
        int r = lua_gettop(L);
        if (lua_istable(L, r)) {
            size_t n = lua_objlen(L, r);
            if (n > 64) rc = ld_error(ld, "redact", "at most 64 redact patterns");
            v->logd.redact = rc == FL_OK ? calloc(n + 1, sizeof *v->logd.redact) : NULL;
            if (rc == FL_OK && !v->logd.redact) rc = FL_ENOMEM;
            for (size_t i = 1; rc == FL_OK && i <= n; i++) {
                lua_rawgeti(L, r, (int)i);
                if (lua_type(L, -1) != LUA_TSTRING) {
                    rc = ld_error(ld, "redact", "redact patterns must be strings");
                } else {
                    int err;
                    PCRE2_SIZE off;
                    pcre2_code *c = pcre2_compile((PCRE2_SPTR)lua_tostring(L, -1), PCRE2_ZERO_TERMINATED, PCRE2_UTF,
                                                  &err, &off, NULL);
                    if (!c) {
                        PCRE2_UCHAR m[160];
                        pcre2_get_error_message(err, m, sizeof m);
                        rc = ld_error(ld, "redact", "redact pattern %zu: %s at offset %zu", i, (const char *)m,
                                      (size_t)off);
                    }
                    pcre2_code_free(c);
                    if (rc == FL_OK) v->logd.redact[i - 1] = ld_strdup(ld, lua_tostring(L, -1));
                }
                lua_pop(L, 1);
            }
        } else if (!lua_isnil(L, r)) {
            rc = ld_error(ld, "redact", "'redact' must be a list of patterns");
        }
        lua_pop(L, 1);
    }
    if (rc == FL_OK) {
        lua_getfield(L, t, "sample");
        int s = lua_gettop(L);
        if (lua_istable(L, s)) {
            rc = ld_check_keys(ld, s, sev);
            for (int k = 0; rc == FL_OK && sev[k]; k++) {
                double n = 0;
                rc = opt_number(ld, s, sev[k], 0, 4294967295.0, &n);
                v->logd.sample_every[k] = (uint32_t)n;
            }
        } else if (!lua_isnil(L, s)) {
            rc = ld_error(ld, "sample", "'sample' must be a table { debug = N, info = N, ... }");
        }
        lua_pop(L, 1);
    }
    return rc;
}
