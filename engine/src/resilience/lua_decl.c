/*
 * lua_decl.c -- policy declarations of resilience objects, read from Lua
 * tables (breaker "name" { ... } and friends; keys in docs/resilience.md),
 * and the read-only functions handlers may call to consult the state.
 *
 * Parsing only reads the table (no Lua code runs, no error is raised); every
 * problem becomes FL_EPOLICY_SCHEMA naming the key.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

#define MAXCATS 32

/* A parsed table: numbers and strings by key, category lists. */
typedef struct lt {
    lua_State *L;
    int idx;
    const char *kind, *name;
    fl_diag_t *diag;
} lt;

static int schema(lt *t, const char *key, const char *what)
{
    fl_rdiag(t->diag, FL_EPOLICY_SCHEMA, "%s '%s': %s%s%s", t->kind, t->name, key ? key : "",
             key ? ": " : "", what);
    return FL_EPOLICY_SCHEMA;
}

/* Every key of the table must be in `allowed`. */
static int check_keys(lt *t, const char *const *allowed)
{
    lua_pushnil(t->L);
    while (lua_next(t->L, t->idx)) {
        const char *k = lua_type(t->L, -2) == LUA_TSTRING ? lua_tostring(t->L, -2) : NULL;
        const char *const *a = allowed;
        lua_pop(t->L, 1);
        for (; k && *a; a++)
            if (strcmp(*a, k) == 0)
                break;
        if (!k || !*a) {
            lua_pop(t->L, 1);
            return schema(t, k, k ? "unknown key" : "keys must be strings");
        }
    }
    return FL_OK;
}

/* Number at key (absent: leaves *out).  Range-checked. */
static int num(lt *t, const char *key, double lo, double hi, int integer, double *out)
{
    int rc = FL_OK;
    lua_getfield(t->L, t->idx, key);
    if (lua_isnil(t->L, -1))
        goto done;
    if (lua_type(t->L, -1) != LUA_TNUMBER) {
        rc = schema(t, key, "must be a number");
        goto done;
    }
    *out = lua_tonumber(t->L, -1);
    if (!isfinite(*out) || *out < lo || *out > hi || (integer && *out != floor(*out)))
        rc = schema(t, key, integer ? "integer out of range" : "number out of range");
done:
    lua_pop(t->L, 1);
    return rc;
}

static int u32(lt *t, const char *key, uint32_t *out)
{
    double v = *out;
    int rc = num(t, key, 0, 4294967295.0, 1, &v);
    *out = (uint32_t)v;
    return rc;
}

/* String at key; the pointer stays valid while the table is alive. */
static int str(lt *t, const char *key, const char **out)
{
    int rc = FL_OK;
    lua_getfield(t->L, t->idx, key);
    if (lua_type(t->L, -1) == LUA_TSTRING)
        *out = lua_tostring(t->L, -1);
    else if (!lua_isnil(t->L, -1))
        rc = schema(t, key, "must be a string");
    lua_pop(t->L, 1);
    return rc;
}

/* Array of category names at key into list (NULL-terminated). */
static int cats(lt *t, const char *key, const char **list, const char *const **out)
{
    int rc = FL_OK;
    size_t n;
    lua_getfield(t->L, t->idx, key);
    if (lua_isnil(t->L, -1))
        goto done;
    if (lua_type(t->L, -1) != LUA_TTABLE) {
        rc = schema(t, key, "must be a list of category names");
        goto done;
    }
    n = lua_objlen(t->L, -1);
    if (n >= MAXCATS) {
        rc = schema(t, key, "too many categories");
        goto done;
    }
    for (size_t i = 0; i < n && rc == FL_OK; i++) {
        lua_rawgeti(t->L, -1, (int)i + 1);
        if (lua_type(t->L, -1) != LUA_TSTRING)
            rc = schema(t, key, "must be a list of category names");
        else if (!fl_cat_valid(lua_tostring(t->L, -1)) || strchr(lua_tostring(t->L, -1), '.'))
            rc = schema(t, key, "not a canonical category");
        list[i] = lua_tostring(t->L, -1); /* anchored by the table */
        lua_pop(t->L, 1);
    }
    list[n] = NULL;
    *out = list;
done:
    lua_pop(t->L, 1);
    return rc;
}

static int parse_window(lt *t, fl_breaker_config_t *c)
{
    const char *w = NULL;
    int rc = str(t, "window", &w);
    if (rc == FL_OK && w && strcmp(w, "count") && strcmp(w, "time"))
        return schema(t, "window", "must be \"count\" or \"time\"");
    c->window = w && strcmp(w, "time") == 0 ? FL_WINDOW_TIME : FL_WINDOW_COUNT;
    return rc;
}

static int parse_breaker(lt *t, fl_bcfg *out)
{
    static const char *const K[] = {"key", "window", "size", "failure_rate", "slow_call_ms",
                                    "slow_call_rate", "min_calls", "half_open_calls", "open_ms",
                                    "open_max_ms", "open_factor", "failures", "ignored", "scope",
                                    "mode", NULL};
    const char *fl[MAXCATS], *ig[MAXCATS], *scope = NULL, *mode = NULL;
    fl_breaker_config_t c;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = check_keys(t, K)) || (rc = str(t, "key", &c.key)) || (rc = parse_window(t, &c)) ||
        (rc = u32(t, "size", &c.size)) || (rc = num(t, "failure_rate", 0, 1, 0, &c.failure_rate)) ||
        (rc = num(t, "slow_call_rate", 0, 1, 0, &c.slow_call_rate)) ||
        (rc = u32(t, "slow_call_ms", &c.slow_call_ms)) || (rc = u32(t, "min_calls", &c.min_calls)) ||
        (rc = u32(t, "half_open_calls", &c.half_open_calls)) ||
        (rc = u32(t, "open_ms", &c.open_ms)) || (rc = u32(t, "open_max_ms", &c.open_max_ms)) ||
        (rc = num(t, "open_factor", 1, 1000, 0, &c.open_factor)) ||
        (rc = cats(t, "failures", fl, &c.failures)) || (rc = cats(t, "ignored", ig, &c.ignored)) ||
        (rc = str(t, "scope", &scope)) || (rc = str(t, "mode", &mode)))
        return rc;
    if (scope && strcmp(scope, "local") && strcmp(scope, "fleet"))
        return schema(t, "scope", "must be \"local\" or \"fleet\"");
    c.scope = scope && strcmp(scope, "fleet") == 0 ? FL_SCOPE_FLEET : FL_SCOPE_LOCAL;
    if (mode && strcmp(mode, "quorum") && strcmp(mode, "shared"))
        return schema(t, "mode", "must be \"quorum\" or \"shared\"");
    if (mode && c.scope != FL_SCOPE_FLEET)
        return schema(t, "mode", "needs scope = \"fleet\"");
    c.fleet_mode = mode && strcmp(mode, "shared") == 0 ? FL_FLEET_SHARED : FL_FLEET_QUORUM;
    return fl_bcfg_build(t->name, &c, out, t->diag);
}

static int parse_limiter(lt *t, fl_lcfg *out)
{
    static const char *const K[] = {"key", "rate", "burst", "max_wait_ms", "scope", NULL};
    fl_limiter_config_t c;
    const char *scope = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = check_keys(t, K)) || (rc = str(t, "key", &c.key)) ||
        (rc = num(t, "rate", 0, 1e9, 0, &c.rate)) || (rc = u32(t, "burst", &c.burst)) ||
        (rc = u32(t, "max_wait_ms", &c.max_wait_ms)) || (rc = str(t, "scope", &scope)))
        return rc;
    if (scope && strcmp(scope, "local") && strcmp(scope, "fleet"))
        return schema(t, "scope", "must be \"local\" or \"fleet\"");
    c.scope = scope && strcmp(scope, "fleet") == 0 ? FL_SCOPE_FLEET : FL_SCOPE_LOCAL;
    return fl_lcfg_build(t->name, &c, out, t->diag);
}

static int parse_bulkhead(lt *t, fl_hcfg *out)
{
    static const char *const K[] = {"key", "max_concurrent", "max_queue", "max_wait_ms", NULL};
    fl_bulkhead_config_t c;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = check_keys(t, K)) || (rc = str(t, "key", &c.key)) ||
        (rc = u32(t, "max_concurrent", &c.max_concurrent)) ||
        (rc = u32(t, "max_queue", &c.max_queue)) || (rc = u32(t, "max_wait_ms", &c.max_wait_ms)))
        return rc;
    return fl_hcfg_build(t->name, &c, out, t->diag);
}

static int parse_budget(lt *t, fl_gcfg *out)
{
    static const char *const K[] = {"key", "ratio", "min_retries", "window_ms", "scope", NULL};
    fl_budget_config_t c;
    const char *scope = NULL;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = check_keys(t, K)) || (rc = str(t, "key", &c.key)) ||
        (rc = num(t, "ratio", 0, 100, 0, &c.ratio)) ||
        (rc = u32(t, "min_retries", &c.min_retries)) || (rc = u32(t, "window_ms", &c.window_ms)) ||
        (rc = str(t, "scope", &scope)))
        return rc;
    if (scope && strcmp(scope, "local") && strcmp(scope, "fleet"))
        return schema(t, "scope", "must be \"local\" or \"fleet\"");
    c.scope = scope && strcmp(scope, "fleet") == 0 ? FL_SCOPE_FLEET : FL_SCOPE_LOCAL;
    return fl_gcfg_build(t->name, &c, out, t->diag);
}

static int kind_of(const char *kind, fl_resil_kind *k, size_t *size)
{
    static const char *const N[4] = {"breaker", "limiter", "bulkhead", "retry_budget"};
    static const size_t S[4] = {sizeof(fl_bcfg), sizeof(fl_lcfg), sizeof(fl_hcfg),
                                sizeof(fl_gcfg)};
    for (int i = 0; i < 4; i++)
        if (kind && strcmp(kind, N[i]) == 0) {
            *k = (fl_resil_kind)i;
            *size = S[i];
            return 0;
        }
    return -1;
}

static int parse_kind(lt *t, fl_resil_kind k, void *cfg)
{
    switch (k) {
    case FL_RESIL_BREAKER:
        return parse_breaker(t, cfg);
    case FL_RESIL_LIMITER:
        return parse_limiter(t, cfg);
    case FL_RESIL_BULKHEAD:
        return parse_bulkhead(t, cfg);
    default:
        return parse_budget(t, cfg);
    }
}

int fl_resil_parse_lua(lua_State *L, int table_index, const char *kind, const char *name,
                       fl_resil_decl_t **out, fl_diag_t *diag)
{
    fl_resil_decl_t *d = NULL;
    fl_resil_kind k;
    size_t size;
    int top, rc;
    lt t;
    if (!L || !out || !name || !name[0] || strlen(name) > FL_RNAME_MAX ||
        kind_of(kind, &k, &size) != 0) {
        fl_rdiag(diag, FL_EINVAL, "resilience declaration: bad kind or name");
        return FL_EINVAL;
    }
    *out = NULL;
    top = lua_gettop(L);
    if (table_index < 0 && table_index > LUA_REGISTRYINDEX)
        table_index = top + table_index + 1;
    t = (lt){L, table_index, kind, name, diag};
    if (lua_type(L, table_index) != LUA_TTABLE)
        return schema(&t, NULL, "expects a table");
    d = calloc(1, sizeof *d);
    if (!d || !(d->cfg = calloc(1, size))) {
        free(d);
        return FL_ENOMEM;
    }
    d->kind = k;
    strcpy(d->name, name);
    rc = parse_kind(&t, k, d->cfg);
    lua_settop(L, top);
    if (rc != FL_OK) {
        fl_resil_decl_free(d);
        return rc;
    }
    *out = d;
    return FL_OK;
}

int fl_resil_apply(fl_resil_t *r, const fl_resil_decl_t *d, fl_diag_t *diag)
{
    static const size_t S[4] = {sizeof(fl_bcfg), sizeof(fl_lcfg), sizeof(fl_hcfg),
                                sizeof(fl_gcfg)};
    void *cfg;
    if (!r || !d || (unsigned)d->kind > 3)
        return FL_EINVAL;
    cfg = malloc(S[d->kind]);
    if (!cfg)
        return FL_ENOMEM;
    memcpy(cfg, d->cfg, S[d->kind]);
    return fl_resil_install(r, d->kind, d->name, cfg, diag);
}

void fl_resil_decl_free(fl_resil_decl_t *d)
{
    if (!d)
        return;
    free(d->cfg);
    free(d);
}

int fl_resil_declare_lua(fl_resil_t *r, lua_State *L, int table_index, const char *kind,
                         const char *name, fl_diag_t *diag)
{
    fl_resil_decl_t *d = NULL;
    int rc = fl_resil_parse_lua(L, table_index, kind, name, &d, diag);
    if (rc == FL_OK && r)
        rc = fl_resil_apply(r, d, diag);
    fl_resil_decl_free(d);
    return rc;
}

const char *fl_resil_key_template(fl_resil_t *r, fl_resil_kind kind, const char *name)
{
    fl_robj *o = fl_resil_find(r, kind, name);
    const void *c;
    if (!o)
        return NULL;
    c = atomic_load_explicit(&o->cfg, memory_order_acquire);
    switch (kind) {
    case FL_RESIL_BREAKER:
        return ((const fl_bcfg *)c)->key;
    case FL_RESIL_LIMITER:
        return ((const fl_lcfg *)c)->key;
    case FL_RESIL_BULKHEAD:
        return ((const fl_hcfg *)c)->key;
    default:
        return ((const fl_gcfg *)c)->key;
    }
}
