/*
 * handler_apply.c -- validates what a handler returned and applies it to the
 * decision.  Every field is checked for type and range; anything unexpected
 * (an unknown key, a wrong type, an oversized message, too many fields) makes
 * the whole return invalid, so a half-applied decision never escapes.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define FL_MAX_RETURN_FIELDS 16
#define FL_MAX_RETURN_STRING 4096
#define FL_MAX_RETURN_JSON (64 * 1024)

static int bad(fl_strbuf *err, const char *fmt, const char *a)
{
    fl_sb_puts(err, "handler returned ");
    fl_sb_printf(err, fmt, a);
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

static int apply_string(lua_State *L, const char *key, fl_decision_t *d, fl_strbuf *err)
{
    static const char *const sev[] = {"debug", "info", "warning", "error", "critical", NULL};
    static const char *const act[] = {"retry", "fallback", "ignore", "fail", NULL};
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (len > FL_MAX_RETURN_STRING) return bad(err, "an oversized '%s'", key);
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
    if (strcmp(key, "message_id") == 0) return fl_decision_put(d, FL_DS_MESSAGE_ID, s, len);
    if (strcmp(key, "message") == 0) return fl_decision_put(d, FL_DS_MESSAGE, s, len);
    return bad(err, "a string for '%s'", key);
}

static int apply_field(lua_State *L, const char *key, fl_decision_t *d, fl_strbuf *err)
{
    int t = lua_type(L, -1);
    if (strcmp(key, "params") == 0) return put_json(L, d, FL_DS_PARAMS, key, err);
    if (strcmp(key, "fallback") == 0) return put_json(L, d, FL_DS_FALLBACK, key, err);
    if (strcmp(key, "retryable") == 0) {
        if (t != LUA_TBOOLEAN) return bad(err, "a non-boolean '%s'", key);
        d->retryable = lua_toboolean(L, -1);
        return FL_OK;
    }
    if (strcmp(key, "delay_ms") == 0 || strcmp(key, "attempts_left") == 0) {
        double x = t == LUA_TNUMBER ? lua_tonumber(L, -1) : -1;
        if (!(x >= 0 && x <= 86400000.0 * 30)) return bad(err, "an invalid '%s'", key);
        if (key[0] == 'd') d->delay_ms = (int64_t)x;
        else d->attempts_left = (int)x;
        return FL_OK;
    }
    if (t == LUA_TSTRING) return apply_string(L, key, d, err);
    return bad(err, "an unexpected field '%s'", key);
}

int fl_handler_apply(fl_ctx_t *ctx, lua_State *L, int t, fl_decision_t *d, fl_strbuf *err)
{
    (void)ctx;
    if (lua_isnil(L, t)) return FL_OK;
    if (lua_type(L, t) != LUA_TTABLE) return bad(err, "a %s instead of a table or nil", luaL_typename(L, t));
    int n = 0, rc = FL_OK;
    lua_pushnil(L);
    while (rc == FL_OK && lua_next(L, t)) {
        if (++n > FL_MAX_RETURN_FIELDS) rc = bad(err, "%s", "too many fields");
        else if (lua_type(L, -2) != LUA_TSTRING) rc = bad(err, "%s", "a table with a non-string key");
        else rc = apply_field(L, lua_tostring(L, -2), d, err);
        lua_pop(L, 1);
    }
    if (rc != FL_OK) return rc == FL_ENOMEM ? FL_EHANDLER : rc;
    if (d->action == FL_ACTION_RETRY && d->delay_ms < 0) d->delay_ms = 0;
    return FL_OK;
}

/* ---- Lua value to JSON text, bounded --------------------------------------- */

static int to_json(lua_State *L, int idx, int depth, json_t **out)
{
    if (depth > 16 || !lua_checkstack(L, 4)) return -1;
    switch (lua_type(L, idx)) {
    case LUA_TNIL: *out = json_null(); return 0;
    case LUA_TBOOLEAN: *out = json_boolean(lua_toboolean(L, idx)); return 0;
    case LUA_TNUMBER: {
        double x = lua_tonumber(L, idx);
        if (!isfinite(x)) return -1;
        *out = x == floor(x) && fabs(x) < 9e15 ? json_integer((json_int_t)x) : json_real(x);
        return 0;
    }
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (!fl_utf8_valid(s, len)) return -1;
        *out = json_stringn(s, len);
        return *out ? 0 : -1;
    }
    case LUA_TTABLE: break;
    default: return -1;
    }
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    size_t n = lua_objlen(L, idx);
    json_t *o = n ? json_array() : json_object();
    int count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        json_t *v = NULL;
        int ok = ++count <= 1024 && to_json(L, -1, depth + 1, &v) == 0;
        if (ok && n && lua_type(L, -2) == LUA_TNUMBER) ok = json_array_append_new(o, v) == 0;
        else if (ok && !n && lua_type(L, -2) == LUA_TSTRING) ok = json_object_set_new(o, lua_tostring(L, -2), v) == 0;
        else if (ok) ok = (json_decref(v), 0);
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
    if (to_json(L, -1, 0, &j) != 0 || !j) return bad(err, "a '%s' that is not JSON-shaped (or too large)", key);
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
