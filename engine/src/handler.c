/*
 * handler.c -- runs a rule's handler function, the policy language's escape
 * hatch.  Each context owns one Lua state for the version it is pinned to,
 * built on first use by running the policy's files again (handlers are
 * closures of those files) and closed when the context moves to another
 * version or a handler fails: a failed state may hold half-done work, so it
 * is thrown away rather than trusted.  Calls run under the CPU budget and
 * memory cap of sandbox.c; what a handler returns is validated field by field.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "core.h"
#include "resilience/resilience.h"

void fl_handler_close(fl_ctx_t *ctx)
{
    if (ctx->L) lua_close(ctx->L);
    ctx->L = NULL;
    if (ctx->L_ver) fl_version_unref(ctx->L_ver);
    ctx->L_ver = NULL;
    ctx->lmem.used = 0;
}

/* fl.resil: read-only views of the engine's breakers, limiters and budgets. */
static void add_resil_api(fl_ctx_t *ctx, lua_State *L)
{
    lua_getglobal(L, "fl");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setglobal(L, "fl");
    }
    if (fl_resil_push_lua_api(fl_engine_resil_internal(ctx->engine), L) == FL_OK) lua_setfield(L, -2, "resil");
    lua_pop(L, 1);
}

/* Build the state: run the sources, then map rule name -> handler in the
 * registry table "fl.handlers". */
static int open_state(fl_ctx_t *ctx, fl_version *v, fl_strbuf *err)
{
    const fl_engine_options_t *o = fl_engine_opts(ctx->engine);
    fl_diag_t diag;
    fl_diag_clear(&diag);
    ctx->lmem = (struct fl_lmem){0, o->lua_memory_cap, 0, 0, 0};
    lua_State *L = fl_sandbox_new(&ctx->lmem, fl_rng_next(&ctx->rng), &diag);
    if (!L) goto fail;
    ctx->L = L;
    if (fl_sandbox_run_sources(L, v, &ctx->lmem, 2000000, &diag) != FL_OK) goto fail;
    if (o->bindings) { /* the host's resource, storage and checkpoint actions */
        if (fl_bindings_open_lua(L, o->bindings) != FL_OK) {
            fl_diag_set(&diag, FL_EHANDLER, NULL, 0, 0, "cannot open the fl bindings");
            goto fail;
        }
        lua_setglobal(L, "fl");
    }
    add_resil_api(ctx, L);
    lua_newtable(L);
    lua_getfield(L, -2, "rules");
    size_t n = lua_objlen(L, -1);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, (int)i);
        lua_getfield(L, -1, "name");
        lua_getfield(L, -2, "t");
        lua_getfield(L, -1, "handler");
        lua_remove(L, -2);
        lua_settable(L, -5);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.handlers");
    lua_settop(L, 0);
    fl_version_ref(v);
    ctx->L_ver = v;
    return FL_OK;
fail:
    fl_sb_printf(err, "cannot prepare the handler state: %s", diag.message);
    fl_handler_close(ctx);
    return FL_EHANDLER;
}

static void set_field(lua_State *L, const char *k, const char *v, uint32_t len)
{
    if (!v) return;
    lua_pushlstring(L, v, len);
    lua_setfield(L, -2, k);
}

static void push_event(lua_State *L, fl_ctx_t *ctx, const fl_eview *ev)
{
    static const char *const names[] = {"id", "time", "domain", "code", "message", "op", "stack"};
    lua_createtable(L, 0, 12);
    for (int f = 0; f < FL_FIELD_COUNT_; f++) set_field(L, names[f], ev->f[f], ev->flen[f]);
    lua_pushinteger(L, ev->ev->attempt);
    lua_setfield(L, -2, "attempt");
    if (ev->ev->has_elapsed) {
        lua_pushnumber(L, ev->ev->elapsed_ms);
        lua_setfield(L, -2, "elapsed_ms");
    }
    lua_createtable(L, 0, (int)ev->ev->ntags);
    for (uint32_t i = 0; i < ev->ev->ntags; i++) {
        const fl_tag *t = &ev->ev->tags[i];
        lua_pushlstring(L, ev->ev->arena.data + t->key_off, t->key_len);
        lua_pushlstring(L, ev->ev->arena.data + t->val_off, t->val_len);
        lua_settable(L, -3);
    }
    lua_setfield(L, -2, "tags");
    lua_createtable(L, 0, (int)ctx->ncaps);
    for (uint32_t i = 0; i < ctx->ncaps; i++) set_field(L, ctx->caps[i].name, ctx->caps[i].val, ctx->caps[i].len);
    lua_setfield(L, -2, "captures");
}

static void push_decision(lua_State *L, const fl_decision_t *d)
{
    lua_createtable(L, 0, 8);
    const char *c = fl_decision_get(d, FL_DS_CATEGORY);
    set_field(L, "category", c, (uint32_t)strlen(c));
    lua_pushstring(L, fl_severity_name(d->severity));
    lua_setfield(L, -2, "severity");
    lua_pushboolean(L, d->retryable);
    lua_setfield(L, -2, "retryable");
    lua_pushstring(L, fl_action_name(d->action));
    lua_setfield(L, -2, "action");
    if (d->action == FL_ACTION_RETRY) {
        lua_pushnumber(L, (double)d->delay_ms);
        lua_setfield(L, -2, "delay_ms");
    }
    lua_pushinteger(L, d->attempts_left);
    lua_setfield(L, -2, "attempts_left");
}

static void put_effects(fl_decision_t *d, json_t *effects)
{
    if (effects && json_array_size(effects) > 0) {
        char *s = json_dumps(effects, JSON_COMPACT);
        if (s) fl_decision_put(d, FL_DS_EFFECTS, s, strlen(s));
        free(s);
    }
    json_decref(effects);
}

/* Message text of the error value without calling into policy code (a
 * __tostring metamethod could itself throw or loop). */
static void error_text(lua_State *L, fl_strbuf *err)
{
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        fl_sb_append(err, s, len > 512 ? 512 : len);
    } else {
        fl_sb_printf(err, "handler raised a %s value", luaL_typename(L, -1));
    }
}



int fl_handler_run(fl_ctx_t *ctx, fl_version *v, const fl_rule *rule, const fl_eview *ev,
                   fl_decision_t *d, fl_strbuf *err)
{
    if (ctx->L && ctx->L_ver != v) fl_handler_close(ctx);
    if (!ctx->L) {
        int rc = open_state(ctx, v, err);
        if (rc != FL_OK) return rc;
    }
    lua_State *L = ctx->L;
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.handlers");
    lua_getfield(L, -1, rule->name);
    lua_remove(L, -2);
    push_event(L, ctx, ev);
    push_decision(L, d);
    fl_sandbox_arm(L, &ctx->lmem, fl_engine_opts(ctx->engine)->handler_budget_us);
    json_t *effects = json_array(); /* actions the handler performs, for `effects` */
    lua_pushlightuserdata(L, effects);
    lua_setfield(L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    int prc = lua_pcall(L, 2, 1, 0);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    put_effects(d, effects); /* even on failure: the actions really happened */
    fl_sandbox_disarm(L, &ctx->lmem);
    int rc = FL_OK;
    if (prc != 0) {
        rc = ctx->lmem.cpu_hit ? FL_EBUDGET_CPU : ctx->lmem.mem_hit || prc == LUA_ERRMEM ? FL_EBUDGET_MEM : FL_EHANDLER;
        if (rc == FL_EBUDGET_CPU) fl_sb_printf(err, "rule \"%s\": handler exceeded its CPU budget", rule->name);
        else if (rc == FL_EBUDGET_MEM) fl_sb_printf(err, "rule \"%s\": handler exceeded its memory cap", rule->name);
        else error_text(L, err);
    } else {
        rc = fl_handler_apply(ctx, L, lua_gettop(L), d, err);
    }
    if (rc != FL_OK) fl_handler_close(ctx);
    else lua_settop(L, 0);
    return rc;
}
