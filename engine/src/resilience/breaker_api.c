/*
 * breaker_api.c -- the public breaker functions: configuration (defaults and
 * validation), declaration, statistics and operator control.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resilience/resilience.h"

#define MS 1000000ll

static int bad(fl_diag_t *d, const char *name, const char *what)
{
    fl_rdiag(d, FL_EPOLICY_SCHEMA, "breaker '%s': %s", name ? name : "?", what);
    return FL_EPOLICY_SCHEMA;
}

static int rate_ok(double v)
{
    return v > 0.0 && v <= 1.0;
}

/* Validate and fill in defaults.  `out->key` is left for the caller. */
int fl_bcfg_build(const char *name, const fl_breaker_config_t *c, fl_bcfg *out, fl_diag_t *diag)
{
    const char *badcat = NULL;
    memset(out, 0, sizeof *out);
    out->window = c->window;
    if (c->window != FL_WINDOW_COUNT && c->window != FL_WINDOW_TIME)
        return bad(diag, name, "window must be count or time");
    out->size = c->size ? c->size : (c->window == FL_WINDOW_TIME ? 60 : 100);
    if (out->size > (c->window == FL_WINDOW_TIME ? 3600u : 100000u))
        return bad(diag, name, "size too large (max 100000 calls / 3600 s)");
    out->failure_rate = c->failure_rate ? c->failure_rate : 0.5;
    out->slow_rate = c->slow_call_rate ? c->slow_call_rate : 1.0;
    if (!rate_ok(out->failure_rate) || !rate_ok(out->slow_rate))
        return bad(diag, name, "failure_rate and slow_call_rate must be in (0, 1]");
    /* The slow-call rule is on when either of its fields is given; off, no
     * call is slow and a success needs no second clock reading. */
    out->slow_ns = c->slow_call_ms || c->slow_call_rate
                       ? (int64_t)(c->slow_call_ms ? c->slow_call_ms : 60000) * MS
                       : INT64_MAX;
    out->timed = out->slow_ns != INT64_MAX || c->window == FL_WINDOW_TIME;
    out->min_calls = c->min_calls ? c->min_calls : 20;
    out->half_open_calls = c->half_open_calls ? c->half_open_calls : 3;
    if (out->half_open_calls > 1000)
        return bad(diag, name, "half_open_calls must be <= 1000");
    out->open_ns = (int64_t)(c->open_ms ? c->open_ms : 30000) * MS;
    out->open_max_ns = (int64_t)c->open_max_ms * MS;
    out->open_factor = c->open_factor ? c->open_factor : 2.0;
    if (out->open_factor < 1.0)
        return bad(diag, name, "open_factor must be >= 1");
    if (fl_cat_mask(c->failures, FL_CATS_FAILURE_DEFAULT, &out->failures, &badcat) != 0 ||
        fl_cat_mask(c->ignored, FL_CATS_IGNORED_DEFAULT, &out->ignored, &badcat) != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "'%s' is not a canonical category", badcat);
        return bad(diag, name, msg);
    }
    if (c->key && strlen(c->key) >= sizeof out->key)
        return bad(diag, name, "key template too long");
    if (c->key)
        strcpy(out->key, c->key);
    if (c->scope != FL_SCOPE_LOCAL && c->scope != FL_SCOPE_FLEET)
        return bad(diag, name, "scope must be local or fleet");
    out->scope = c->scope;
    if (c->fleet_mode != FL_FLEET_QUORUM && c->fleet_mode != FL_FLEET_SHARED)
        return bad(diag, name, "fleet mode must be quorum or shared");
    if (c->fleet_mode == FL_FLEET_SHARED && c->scope != FL_SCOPE_FLEET)
        return bad(diag, name, "mode = shared needs scope = fleet");
    out->mode = c->fleet_mode;
    return FL_OK;
}

static int name_ok(const char *name)
{
    return name && name[0] && strlen(name) <= FL_RNAME_MAX;
}

int fl_breaker_declare(fl_resil_t *r, const char *name, const fl_breaker_config_t *cfg,
                       fl_diag_t *diag)
{
    fl_bcfg *c;
    int rc;
    if (!r || !cfg || !name_ok(name)) {
        fl_rdiag(diag, FL_EINVAL, "breaker: NULL argument or bad name");
        return FL_EINVAL;
    }
    c = malloc(sizeof *c);
    if (!c)
        return FL_ENOMEM;
    rc = fl_bcfg_build(name, cfg, c, diag);
    if (rc != FL_OK) {
        free(c);
        return rc;
    }
    return fl_resil_install(r, FL_RESIL_BREAKER, name, c, diag);
}

int fl_breaker_stats(fl_resil_t *r, const char *name, const char *key, fl_breaker_stats_t *out)
{
    fl_robj *o;
    fl_bstate *s;
    if (!r || !name || !out)
        return FL_EINVAL;
    memset(out, 0, sizeof *out);
    o = fl_resil_find(r, FL_RESIL_BREAKER, name);
    if (!o)
        return FL_ENOENT;
    s = (!key || !key[0]) ? o->dflt : fl_keymap_find(&o->keys, key, fl_key_hash(key));
    if (!s) {
        int forced = atomic_load_explicit(&o->forced, memory_order_relaxed);
        out->state = forced ? (fl_breaker_state)forced : FL_BREAKER_CLOSED;
        return FL_OK;
    }
    fl_breaker_fill_stats(o, s, fl_resil_clock(r), out);
    return FL_OK;
}

static void close_one(void *st, void *arg)
{
    fl_robj *o = arg;
    fl_breaker_force_key(o, st, NULL, FL_BREAKER_CLOSED, fl_resil_clock(o->r));
}

int fl_breaker_set_state(fl_resil_t *r, const char *name, const char *key, fl_breaker_state state)
{
    fl_robj *o;
    if (!r || !name)
        return FL_EINVAL;
    if (state != FL_BREAKER_CLOSED && state != FL_BREAKER_FORCED_OPEN &&
        state != FL_BREAKER_DISABLED)
        return FL_EINVAL;
    o = fl_resil_find(r, FL_RESIL_BREAKER, name);
    if (!o)
        return FL_ENOENT;
    if (key) {
        const char *k = key;
        fl_bstate *s = fl_robj_state(o, key, fl_key_hash(key), &k);
        if (!s)
            return FL_ENOMEM;
        fl_breaker_force_key(o, s, k, state, fl_resil_clock(r));
        return FL_OK;
    }
    if (state == FL_BREAKER_CLOSED) {
        atomic_store_explicit(&o->forced, 0, memory_order_relaxed);
        close_one(o->dflt, o);
        fl_keymap_each(&o->keys, close_one, o);
    } else {
        atomic_store_explicit(&o->forced, (int)state, memory_order_relaxed);
    }
    return FL_OK;
}

const char *fl_breaker_state_name(fl_breaker_state s)
{
    static const char *const N[] = {"closed", "open", "half_open", "forced_open", "disabled"};
    return (unsigned)s < 5 ? N[s] : "?";
}
