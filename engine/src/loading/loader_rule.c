/*
 * loader_rule.c -- reads `rule "name" { when = {...}, ... }` declarations:
 * the conditions (exact values, sets, ranges, PCRE2 patterns, presence), the
 * decision settings the rule overrides, params and the handler flag.
 * Patterns are compiled on a helper thread while loading goes on (patterns.c),
 * a bad one reported at its rule; they are JIT-compiled only when first
 * matched (fl_cond_re).
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "loader_internal.h"

static const struct {
    const char *name;
    fl_cfield field;
    int numeric;
} k_fields[] = {
    {"domain", FL_CF_DOMAIN, 0}, {"code", FL_CF_CODE, 0},       {"message", FL_CF_MESSAGE, 0},
    {"op", FL_CF_OP, 0},         {"stack", FL_CF_STACK, 0},     {"attempt", FL_CF_ATTEMPT, 1},
    {"elapsed_ms", FL_CF_ELAPSED, 1},
};

static int push_str(struct ld *ld, fl_cond *c, const char *s, size_t len)
{
    char **n = realloc(c->strs, (c->nstrs + 1) * sizeof *n);
    if (!n) return FL_ENOMEM;
    c->strs = n;
    char *p = malloc(len + 1);
    if (!p) return FL_ENOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    if (c->field == FL_CF_DOMAIN)
        for (size_t i = 0; i < len; i++)
            if (p[i] >= 'A' && p[i] <= 'Z') p[i] = (char)(p[i] + 32);
    c->strs[c->nstrs++] = p;
    (void)ld;
    return FL_OK;
}

static int push_num(fl_cond *c, double d)
{
    double *n = realloc(c->nums, (c->nnums + 1) * sizeof *n);
    if (!n) return FL_ENOMEM;
    c->nums = n;
    c->nums[c->nnums++] = d;
    return FL_OK;
}

/* One member of an exact value or set. */
static int set_member(struct ld *ld, fl_cond *c, int idx, const char *key, int numeric)
{
    lua_State *L = ld->L;
    if (lua_type(L, idx) == LUA_TNUMBER) return push_num(c, lua_tonumber(L, idx));
    if (lua_type(L, idx) == LUA_TSTRING && !numeric) {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        return push_str(ld, c, s, len);
    }
    return ld_error(ld, key, "'%s': set members must be %s", key, numeric ? "numbers" : "strings or numbers");
}

/* Compiled on the helper thread (patterns.c); a pattern that does not
 * compile is reported as if here, with this rule's position and key. */
static int compile_pattern(struct ld *ld, fl_cond *c, const char *key)
{
    return ld_pattern_queue(ld, c->pattern, key);
}

/* A constructor value: re"...", range(lo, hi), present, absent. */
static int cond_marker(struct ld *ld, fl_cond *c, int idx, const char *m, const char *key, int numeric)
{
    lua_State *L = ld->L;
    if (strcmp(m, "re") == 0) {
        if (numeric) return ld_error(ld, key, "'%s' is numeric: use a number, a set or range()", key);
        c->kind = FL_CK_REGEX;
        lua_getfield(L, idx, "pattern");
        c->pattern = ld_strdup(ld, lua_tostring(L, -1));
        lua_pop(L, 1);
        return c->pattern ? compile_pattern(ld, c, key) : FL_ENOMEM;
    }
    if (strcmp(m, "range") == 0) {
        c->kind = FL_CK_RANGE;
        lua_getfield(L, idx, "lo");
        c->lo = lua_isnil(L, -1) ? -INFINITY : lua_tonumber(L, -1);
        lua_getfield(L, idx, "hi");
        c->hi = lua_isnil(L, -1) ? INFINITY : lua_tonumber(L, -1);
        lua_pop(L, 2);
        if (c->lo > c->hi) return ld_error(ld, key, "'%s': range(%g, %g) is empty", key, c->lo, c->hi);
        return FL_OK;
    }
    if (strcmp(m, "present") == 0 || strcmp(m, "absent") == 0) {
        c->kind = m[0] == 'p' ? FL_CK_PRESENT : FL_CK_ABSENT;
        return FL_OK;
    }
    return ld_error(ld, key, "'%s': expected a value, a set, re\"...\", range(), present or absent", key);
}

static int parse_cond(struct ld *ld, fl_cond *c, int idx, const char *key, int numeric)
{
    lua_State *L = ld->L;
    const char *m = lua_type(L, idx) == LUA_TTABLE ? (lua_getfield(L, idx, "__fl"), lua_tostring(L, -1)) : NULL;
    if (lua_type(L, idx) == LUA_TTABLE) lua_pop(L, 1);
    if (m) return cond_marker(ld, c, idx, m, key, numeric);
    c->kind = FL_CK_SET;
    if (lua_type(L, idx) != LUA_TTABLE) return set_member(ld, c, idx, key, numeric);
    size_t n = lua_objlen(L, idx);
    if (n == 0) return ld_error(ld, key, "'%s': an empty set never matches", key);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, (int)i);
        int rc = set_member(ld, c, lua_gettop(L), key, numeric);
        lua_pop(L, 1);
        if (rc != FL_OK) return rc;
    }
    return FL_OK;
}

/* The string keys of table t, sorted.  Conditions are read -- and so
 * checked, and reported by explain -- in this order: Lua's own table order
 * differs from one state to the next (string hashes are seeded), which made
 * the same policy explain the same event differently from run to run. */
#define FL_MAX_KEYS_SORTED 64
struct keylist {
    char k[FL_MAX_KEYS_SORTED][128];
    int n;
};

static int cmp_key(const void *a, const void *b) { return strcmp(a, b); }

static int sorted_keys(struct ld *ld, int t, struct keylist *kl, const char *errkey, const char *notstring)
{
    lua_State *L = ld->L;
    kl->n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        size_t len = 0;
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!k || len >= sizeof kl->k[0] || kl->n == FL_MAX_KEYS_SORTED) {
            lua_pop(L, 1);
            if (!k) return ld_error(ld, errkey, "%s", notstring);
            return ld_error(ld, errkey, len >= sizeof kl->k[0] ? "a condition name is too long"
                                                               : "more than 64 conditions in one table");
        }
        memcpy(kl->k[kl->n++], k, len + 1);
    }
    qsort(kl->k, (size_t)kl->n, sizeof kl->k[0], cmp_key);
    return FL_OK;
}

static fl_cond *new_cond(fl_rule *r)
{
    fl_cond *c = realloc(r->conds, (r->nconds + 1) * sizeof *c);
    if (!c) return NULL;
    r->conds = c;
    c = &r->conds[r->nconds++];
    memset(c, 0, sizeof *c);
    return c;
}

static int add_tag_cond(struct ld *ld, fl_rule *r, const char *tag, int idx, const char *key)
{
    fl_cond *c = new_cond(r);
    if (!c) return FL_ENOMEM;
    c->field = FL_CF_TAG;
    if (!(c->tag = ld_strdup(ld, tag))) return FL_ENOMEM;
    return parse_cond(ld, c, idx, key, 0);
}

static int when_entry(struct ld *ld, fl_rule *r, const char *key, int idx)
{
    lua_State *L = ld->L;
    if (strncmp(key, "tags.", 5) == 0 && key[5]) return add_tag_cond(ld, r, key + 5, idx, key);
    if (strcmp(key, "tags") == 0) {
        if (lua_type(L, idx) != LUA_TTABLE) return ld_error(ld, key, "'tags' must be a table of tag conditions");
        struct keylist kl;
        int rc = sorted_keys(ld, idx, &kl, key, "tag names must be strings");
        for (int i = 0; rc == FL_OK && i < kl.n; i++) {
            lua_getfield(L, idx, kl.k[i]);
            rc = add_tag_cond(ld, r, kl.k[i], lua_gettop(L), kl.k[i]);
            lua_pop(L, 1);
        }
        return rc;
    }
    for (size_t i = 0; i < sizeof k_fields / sizeof *k_fields; i++)
        if (strcmp(key, k_fields[i].name) == 0) {
            fl_cond *c = new_cond(r);
            if (!c) return FL_ENOMEM;
            c->field = k_fields[i].field;
            return parse_cond(ld, c, idx, key, k_fields[i].numeric);
        }
    return ld_error(ld, key, "unknown condition field '%s' (domain, code, message, op, stack, "
                             "attempt, elapsed_ms, tags.NAME)", key);
}

static int ld_when(struct ld *ld, fl_rule *r, int t)
{
    lua_State *L = ld->L;
    struct keylist kl;
    int rc = sorted_keys(ld, t, &kl, "when", "condition keys must be field names");
    for (int i = 0; rc == FL_OK && i < kl.n; i++) {
        lua_getfield(L, t, kl.k[i]);
        rc = when_entry(ld, r, kl.k[i], lua_gettop(L));
        lua_pop(L, 1);
    }
    return rc;
}

static int rule_fields(struct ld *ld, fl_rule *r, int t)
{
    lua_State *L = ld->L;
    int rc = FL_OK;
    lua_getfield(L, t, "when");
    if (lua_type(L, -1) == LUA_TTABLE) rc = ld_when(ld, r, lua_gettop(L));
    else if (!lua_isnil(L, -1)) rc = ld_error(ld, "when", "'when' must be a table of conditions");
    lua_pop(L, 1);
    lua_getfield(L, t, "priority");
    if (rc == FL_OK && lua_type(L, -1) == LUA_TNUMBER) {
        double p = lua_tonumber(L, -1); /* range first: converting an out-of-range double is UB */
        if (!(p >= -1e6 && p <= 1e6) || p != floor(p))
            rc = ld_error(ld, "priority", "'priority' must be an integer between -1000000 and 1000000");
        else r->priority = (int)p;
    } else if (rc == FL_OK && !lua_isnil(L, -1)) {
        rc = ld_error(ld, "priority", "'priority' must be an integer");
    }
    lua_pop(L, 1);
    lua_getfield(L, t, "handler");
    if (rc == FL_OK && lua_type(L, -1) == LUA_TFUNCTION) r->has_handler = 1;
    else if (rc == FL_OK && !lua_isnil(L, -1)) rc = ld_error(ld, "handler", "'handler' must be a function");
    lua_pop(L, 1);
    lua_getfield(L, t, "params");
    if (rc == FL_OK && lua_type(L, -1) == LUA_TTABLE) {
        r->params_json = ld_to_json_text(ld, -1, "params");
        if (!r->params_json) rc = ld->oom ? FL_ENOMEM : FL_EPOLICY_SCHEMA;
    } else if (rc == FL_OK && !lua_isnil(L, -1)) {
        rc = ld_error(ld, "params", "'params' must be a table");
    }
    lua_pop(L, 1);
    return rc;
}

static int opt_str(struct ld *ld, int t, const char *key, char **out)
{
    lua_getfield(ld->L, t, key);
    int rc = FL_OK;
    if (lua_type(ld->L, -1) == LUA_TSTRING) *out = ld_strdup(ld, lua_tostring(ld->L, -1));
    else if (!lua_isnil(ld->L, -1)) rc = ld_error(ld, key, "'%s' must be a string", key);
    lua_pop(ld->L, 1);
    return rc;
}

/* The slot of rule name s in ld->names: the slot holding it, or the empty
 * slot where it goes.  The table is kept at most half full. */
static uint32_t *name_slot(struct ld *ld, const char *s)
{
    uint32_t mask = ld->names_cap - 1, i = (uint32_t)XXH3_64bits(s, strlen(s)) & mask;
    for (;; i = (i + 1) & mask)
        if (!ld->names[i] || strcmp(ld->v->rules[ld->names[i] - 1].name, s) == 0) return &ld->names[i];
}

/* Index (+1) of the rule already named s, or 0. */
static uint32_t names_find(struct ld *ld, const char *s)
{
    return ld->names_cap ? *name_slot(ld, s) : 0;
}

/* File rule number `rule` (the newest) under its name; the table doubles
 * before it would be more than half full.  FL_ENOMEM leaves it as it was. */
static int names_add(struct ld *ld, uint32_t rule)
{
    if ((rule + 1) * 2 > ld->names_cap) {
        uint32_t cap = ld->names_cap ? ld->names_cap * 2 : 256, *old = ld->names, oldcap = ld->names_cap;
        uint32_t *t = calloc(cap, sizeof *t);
        if (!t) return FL_ENOMEM;
        ld->names = t;
        ld->names_cap = cap;
        for (uint32_t i = 0; i < oldcap; i++)
            if (old[i]) *name_slot(ld, ld->v->rules[old[i] - 1].name) = old[i];
        free(old);
    }
    *name_slot(ld, ld->v->rules[rule].name) = rule + 1;
    return FL_OK;
}

int ld_rule(struct ld *ld, int t)
{
    static const char *const keys[] = {"when", "category", "severity", "retryable", "recovery",
                                       "message", "status", "title", "params", "priority",
                                       "handler", "breaker", "retry_budget", NULL};
    fl_version *v = ld->v;
    uint32_t dup = names_find(ld, ld->name);
    if (dup)
        return ld_error(ld, ld->name, "rule name used twice (first at %s:%d)", v->rules[dup - 1].file, v->rules[dup - 1].line);
    int rc = ld_check_keys(ld, t, keys);
    if (rc != FL_OK) return rc;
    fl_rule *r = realloc(v->rules, (v->nrules + 1) * sizeof *r);
    if (!r) return FL_ENOMEM;
    v->rules = r;
    r = &v->rules[v->nrules];
    memset(r, 0, sizeof *r);
    r->decl_order = v->nrules++;
    r->name = ld_strdup(ld, ld->name);
    r->file = ld_strdup(ld, ld->src);
    r->line = ld->line;
    if (!r->name || names_add(ld, r->decl_order) != FL_OK) return FL_ENOMEM;
    rc = opt_str(ld, t, "category", &r->category);
    if (rc == FL_OK && r->category && !fl_category_valid(r->category))
        rc = ld_error(ld, "category", "'%s' is not one of the 16 canonical categories", r->category);
    if (rc == FL_OK) rc = ld_settings_public(ld, t, &r->s);
    if (rc == FL_OK) rc = opt_str(ld, t, "breaker", &r->breaker);
    if (rc == FL_OK) rc = opt_str(ld, t, "retry_budget", &r->retry_budget);
    if (rc == FL_OK) rc = rule_fields(ld, r, t);
    if (rc == FL_OK && !r->category && !r->has_handler)
        rc = ld_error(ld, ld->name, "a rule needs a category (or a handler that returns one)");
    return rc;
}
