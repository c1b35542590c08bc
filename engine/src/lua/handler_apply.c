/*
 * handler_apply.c -- validates what a handler returned and applies it to the
 * decision.  Every field is checked for type and range; anything unexpected
 * (an unknown key, a wrong type, an oversized message, too many fields) makes
 * the whole return invalid, so a half-applied decision never escapes.
 *
 * This runs outside the Lua budget, so it only uses raw access (lua_next,
 * lua_rawgeti, lua_objlen): a metatable on the returned table is never
 * consulted, no policy code runs, and no Lua value is converted in place.
 * Sizes are bounded: 16 fields, 4 KiB strings, `params`/`fallback` at most
 * 2048 values in all (shared sub-tables count each time they appear) and
 * 64 KiB of JSON.  A returned `message` is cut to the policy's
 * max_message_len like a rendered template.  No returned string (key or
 * value, params and fallback included) may contain a NUL byte: C reads these
 * as C strings, so "action\0junk" would otherwise be taken as "action".
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "sandbox.h"

#define FL_MAX_RETURN_FIELDS 16
#define FL_MAX_RETURN_STRING 4096
#define FL_MAX_RETURN_JSON (64 * 1024)
#define FL_MAX_RETURN_NODES 2048
#define FL_MAX_ATTEMPTS_LEFT 1000000

static int bad(fl_strbuf *err, const char *fmt, const char *a)
{
    char arg[80]; /* policy text: bounded here, made UTF-8 by the caller */
    snprintf(arg, sizeof arg, "%s", a);
    fl_sb_puts(err, "handler returned ");
    fl_sb_printf(err, fmt, arg);
    return FL_EHANDLER;
}

static int word(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return i;
    return -1;
}

/* JSON-shaped value at the top of the stack into the decision slot. */
static int put_json(lua_State *L, fl_decision_t *d, enum fl_dstr slot, const char *key, fl_strbuf *err);

static int apply_string(fl_ctx_t *ctx, lua_State *L, const char *key, fl_decision_t *d, fl_strbuf *err)
{
    static const char *const sev[] = {"debug", "info", "warning", "error", "critical", NULL};
    static const char *const act[] = {"retry", "fallback", "ignore", "fail", NULL};
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len > FL_MAX_RETURN_STRING) return bad(err, "an oversized '%s'", key);
    if (memchr(s, '\0', len)) return bad(err, "a '%s' with an embedded NUL byte", key);
    if (!fl_utf8_valid(s, len)) return bad(err, "a '%s' that is not valid UTF-8", key);
    if (strcmp(key, "category") == 0) {
        if (!fl_category_valid(s)) return bad(err, "an unknown category '%s'", s);
        return fl_decision_put(d, FL_DS_CATEGORY, s, len);
    }
    if (strcmp(key, "severity") == 0) {
        int w = word(sev, s);
        if (w < 0) return bad(err, "an unknown severity '%s'", s);
        d->severity = (fl_severity)w;
        return FL_OK;
    }
    if (strcmp(key, "action") == 0) {
        int w = word(act, s);
        if (w < 0) return bad(err, "an unknown action '%s'", s);
        d->action = (fl_action)w;
        return FL_OK;
    }
    if (strcmp(key, "message_id") == 0) {
        if (len == 0 || len > 128) return bad(err, "a '%s' that is empty or longer than 128 bytes", key);
        return fl_decision_put(d, FL_DS_MESSAGE_ID, s, len);
    }
    if (strcmp(key, "message") == 0) {
        uint32_t max = ctx && ctx->L_ver ? ctx->L_ver->max_message_len : 1024;
        if (max >= 4 && len > max) { /* cut like a rendered template: ..."…" */
            fl_strbuf sb = {0};
            size_t cut = fl_utf8_cut(s, len, max - 3);
            int rc = fl_sb_append(&sb, s, cut) || fl_sb_append(&sb, "\xe2\x80\xa6", 3)
                         ? FL_ENOMEM
                         : fl_decision_put(d, FL_DS_MESSAGE, sb.data, sb.len);
            fl_sb_free(&sb);
            return rc;
        }
        return fl_decision_put(d, FL_DS_MESSAGE, s, len);
    }
    return bad(err, "a string for '%s'", key);
}

static int apply_field(fl_ctx_t *ctx, lua_State *L, const char *key, fl_decision_t *d, fl_strbuf *err)
{
    int t = lua_type(L, -1);
    if (strcmp(key, "params") == 0) return put_json(L, d, FL_DS_PARAMS, key, err);
    if (strcmp(key, "fallback") == 0) return put_json(L, d, FL_DS_FALLBACK, key, err);
    if (strcmp(key, "retryable") == 0) {
        if (t != LUA_TBOOLEAN) return bad(err, "a non-boolean '%s'", key);
        d->retryable = lua_toboolean(L, -1);
        return FL_OK;
    }
    if (strcmp(key, "delay_ms") == 0) {
        double x = t == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
        if (!(x >= 0 && x <= 86400000.0 * 30)) return bad(err, "an invalid '%s' (0 .. 30 days in ms)", key);
        d->delay_ms = (int64_t)x;
        return FL_OK;
    }
    if (strcmp(key, "attempts_left") == 0) {
        double x = t == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
        if (!(x >= 0 && x <= FL_MAX_ATTEMPTS_LEFT)) return bad(err, "an invalid '%s' (0 .. 1000000)", key);
        d->attempts_left = (int)x;
        return FL_OK;
    }
    static const char *const strings[] = {"category", "severity", "action", "message_id", "message", NULL};
    if (word(strings, key) >= 0) {
        if (t != LUA_TSTRING) return bad(err, "a non-string '%s'", key);
        return apply_string(ctx, L, key, d, err);
    }
    return bad(err, "an unexpected field '%s'", key);
}

int fl_handler_apply(fl_ctx_t *ctx, lua_State *L, int t, fl_decision_t *d, fl_strbuf *err)
{
    if (lua_isnil(L, t)) return FL_OK;
    if (lua_type(L, t) != LUA_TTABLE) return bad(err, "a %s instead of a table or nil", luaL_typename(L, t));
    int n = 0, rc = FL_OK;
    lua_pushnil(L);
    while (rc == FL_OK && lua_next(L, t)) {
        if (++n > FL_MAX_RETURN_FIELDS) rc = bad(err, "%s", "too many fields");
        else if (lua_type(L, -2) != LUA_TSTRING) rc = bad(err, "%s", "a table with a non-string key");
        else {
            size_t klen;
            const char *k = lua_tolstring(L, -2, &klen); /* a string key: no conversion */
            rc = memchr(k, '\0', klen) ? bad(err, "a key '%s' with an embedded NUL byte", k)
                                       : apply_field(ctx, L, k, d, err);
        }
        lua_pop(L, 1);
    }
    if (rc != FL_OK) return rc == FL_ENOMEM ? FL_EHANDLER : rc;
    if (d->action == FL_ACTION_RETRY && d->delay_ms < 0) d->delay_ms = 0;
    return FL_OK;
}

/* ---- Lua value to JSON text, bounded --------------------------------------- */

/* *budget counts every value converted, so a table shared many times (or a
 * DAG of shared tables) cannot make the conversion exponential. */
static int to_json(lua_State *L, int idx, int depth, int *budget, json_t **out)
{
    if (depth > 16 || --*budget < 0 || !lua_checkstack(L, 4)) return -1;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: *out = json_null(); return 0;
    case LUA_TBOOLEAN: *out = json_boolean(lua_toboolean(L, idx)); return 0;
    case LUA_TNUMBER: {
        double x = lua_tonumber(L, idx);
        if (!isfinite(x)) return -1;
        *out = x == floor(x) && fabs(x) < 9e15 ? json_integer((json_int_t)x) : json_real(x);
        return *out ? 0 : -1;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (len > FL_MAX_RETURN_JSON || memchr(s, '\0', len) || !fl_utf8_valid(s, len)) return -1;
        *out = json_stringn(s, len);
        return *out ? 0 : -1;
    }
    case LUA_TTABLE: break;
    default: return -1;
    }
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    size_t n = lua_objlen(L, idx);
    size_t count = 0;
    /* Classify with raw iteration: an array has exactly the keys 1..n. */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;
        int kt = lua_type(L, -1);
        if (count > 1024 || (n ? kt != LUA_TNUMBER : kt != LUA_TSTRING)) {
            lua_pop(L, 1);
            return -1;
        }
        if (n) {
            double k = lua_tonumber(L, -1);
            if (!(k >= 1 && k <= (double)n && k == floor(k))) {
                lua_pop(L, 1);
                return -1;
            }
        }
    }
    if (n && count != n) return -1;
    json_t *o = n ? json_array() : json_object();
    if (!o) return -1;
    if (n) {
        for (size_t i = 1; i <= n; i++) {
            json_t *v = NULL;
            lua_rawgeti(L, idx, (int)i);
            int ok = to_json(L, -1, depth + 1, budget, &v) == 0 && json_array_append_new(o, v) == 0;
            lua_pop(L, 1);
            if (!ok) {
                json_decref(o);
                return -1;
            }
        }
        *out = o;
        return 0;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        json_t *v = NULL;
        size_t klen;
        const char *k = lua_tolstring(L, -2, &klen); /* a string key: no conversion */
        int ok = klen <= 256 && strlen(k) == klen && fl_utf8_valid(k, klen) &&
                 to_json(L, -1, depth + 1, budget, &v) == 0 && json_object_set_new(o, k, v) == 0;
        lua_pop(L, 1);
        if (!ok) {
            lua_pop(L, 1);
            json_decref(o);
            return -1;
        }
    }
    *out = o;
    return 0;
}

static int put_json(lua_State *L, fl_decision_t *d, enum fl_dstr slot, const char *key, fl_strbuf *err)
{
    json_t *j = NULL;
    int budget = FL_MAX_RETURN_NODES;
    if (to_json(L, -1, 0, &budget, &j) != 0 || !j)
        return bad(err, "a '%s' that is not JSON-shaped (or too large)", key);
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (!s || strlen(s) > FL_MAX_RETURN_JSON) {
        free(s);
        return bad(err, "an oversized '%s'", key);
    }
    int rc = fl_decision_put(d, slot, s, strlen(s));
    free(s);
    return rc;
}
