/*
 * handler.c -- runs a rule's handler function, the policy language's escape
 * hatch.  Each context owns one Lua state for the version it is pinned to,
 * built on first use by running the policy's files again (handlers are
 * closures of those files) and closed when the context moves to another
 * version or a handler fails: a failed state may hold half-done work, so it
 * is thrown away rather than trusted.
 *
 * Isolation (docs/sandbox.md section 5): a state that ran a handler belongs
 * to its context for good -- it is parked with its version only to be
 * closed, never adopted by another context.  Each call starts from a fresh
 * global environment: the globals the policy files defined are served
 * read-through, and whatever a handler assigns goes to a table that lives
 * for that one call.  Deliberate state goes in the per-context table passed
 * as the handler's third argument.
 *
 * Containment (docs/sandbox.md): every Lua API call that can raise an error
 * -- including allocation failures while building the event table -- runs
 * inside a protected call, so no policy can make LuaJIT panic and abort the
 * host.  Calls run under the CPU budget and memory cap of sandbox.c; any
 * budget hit counts as a failure even when the policy caught the error.
 * What a handler returns is validated field by field (handler_apply.c).
 * Error text that comes from the policy is cut to a bounded length and made
 * valid UTF-8 before it reaches the decision; the engine never calls a
 * policy metamethod (__tostring, __index, ...) outside a budget.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bindings.h"
#include "core.h"
#include "sandbox.h"

/* Budget for re-running the policy files to build a handler state. */
#define FL_STATE_BUILD_BUDGET_US 500000u
/* Default wall-clock limit of a handler call: 5 s, or 10x a budget above
 * 500 ms (fl_engine_options_t.handler_wall_us).  Generous: on an
 * overloaded machine a thread can sit descheduled for over a second (seen
 * on the 2-core reference machine at load 17), which is not the handler's
 * doing. */
#define FL_DEFAULT_WALL_US 5000000u
/* Longest error text taken from a policy. */
#define FL_MAX_ERROR_TEXT 512

void fl_handler_close(fl_ctx_t *ctx)
{
    fl_sbx_detach(&ctx->lmem);
    if (ctx->L) lua_close(ctx->L);
    ctx->L = NULL;
    ctx->lmem.L = NULL;
    if (ctx->L_ver) fl_version_unref(ctx->L_ver);
    ctx->L_ver = NULL;
    ctx->lmem.used = 0;
}

/* Append s[0..len) to err: at most `max` bytes, invalid UTF-8 and NUL bytes
 * replaced by '?', ending on a character boundary. */
static void append_clean(fl_strbuf *err, const char *s, size_t len, size_t max)
{
    size_t start = err->len;
    for (size_t i = 0; i < len && err->len - start < max;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (c == 0 || i + n > len || !fl_utf8_valid(s + i, n) || err->len - start + n > max) {
            if (err->len - start + 1 > max) break;
            fl_sb_putc(err, '?');
            i++;
            continue;
        }
        fl_sb_append(err, s + i, n);
        i += n;
    }
}

/* ---- building the state ------------------------------------------------- */

struct call_args {
    fl_ctx_t *ctx;
    const fl_rule *rule;
    const fl_eview *ev;
    const fl_decision_t *d;
};

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
        lua_rawset(L, -3);
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
    if (c) set_field(L, "category", c, (uint32_t)strlen(c));
    const char *mid = fl_decision_get(d, FL_DS_MESSAGE_ID);
    if (mid) set_field(L, "message_id", mid, (uint32_t)strlen(mid));
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

/* Upvalues of run_protected and decision_newindex. */
enum { UV_GMT = 1, UV_FILE_G, UV_STATE, UV_BUILTINS, UV_DMT };

/* _G's __newindex while handlers run: built-ins are refused as at load;
 * anything else goes to this call's own globals table, created on the first
 * assignment (_G's __index then points at it; it reads through to the
 * file globals). */
static int decision_newindex(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(UV_BUILTINS));
    if (!lua_isnil(L, -1)) {
        const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
        return luaL_error(L, "'%s' is a built-in and cannot be assigned", k);
    }
    lua_pop(L, 1);
    lua_pushliteral(L, "__index");
    lua_rawget(L, lua_upvalueindex(UV_GMT));
    if (lua_rawequal(L, -1, lua_upvalueindex(UV_FILE_G))) { /* first assignment of this call */
        lua_pop(L, 1);
        lua_createtable(L, 0, 4);
        lua_pushvalue(L, lua_upvalueindex(UV_DMT));
        lua_setmetatable(L, -2);
        lua_pushliteral(L, "__index");
        lua_pushvalue(L, -2);
        lua_rawset(L, lua_upvalueindex(UV_GMT));
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

/* Protected: fetch the handler, build its arguments, call it.  Leaves the
 * handler's first result and enough free stack for fl_handler_apply, which
 * runs unprotected and must not need to grow the stack. */
static int run_protected(lua_State *L)
{
    struct call_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    /* A fresh global environment for this call: drop the previous call's
     * globals table (no allocation: the key is interned). */
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, lua_upvalueindex(UV_FILE_G));
    lua_rawset(L, lua_upvalueindex(UV_GMT));
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.handlers");
    lua_pushstring(L, a->rule->name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_type(L, -1) != LUA_TFUNCTION)
        return luaL_error(L, "the handler of rule \"%s\" is not a function", a->rule->name);
    push_event(L, a->ctx, a->ev);
    push_decision(L, a->d);
    lua_pushvalue(L, lua_upvalueindex(UV_STATE));
    lua_call(L, 3, 1);
    if (!lua_checkstack(L, 128)) return luaL_error(L, "stack overflow");
    return 1;
}

/* Protected: map rule name -> handler (registry "fl.handlers"), move the
 * globals the policy files defined to a read-only-through table and route
 * _G through it (a fresh environment per call, see decision_newindex),
 * remember run_protected (registry "fl.run") with the per-context state
 * table, and offer the bindings as `fl`. */
static int index_handlers(lua_State *L)
{
    fl_bindings_t *b = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.decl");
    lua_newtable(L);
    lua_getfield(L, 1, "rules");
    size_t n = lua_objlen(L, 3);
    for (size_t i = 1; i <= n; i++) {
        lua_rawgeti(L, 3, (int)i);
        lua_pushliteral(L, "name");
        lua_rawget(L, -2);
        lua_pushliteral(L, "t");
        lua_rawget(L, -3);
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
            lua_pushliteral(L, "handler");
            lua_rawget(L, -2);
            lua_remove(L, -2);
            lua_rawset(L, 2);
        } else {
            lua_pop(L, 2);
        }
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.handlers");
    lua_settop(L, 0);
    /* 1 mt of _G, 2 file globals, 3 per-context state, 4 built-ins, 5 mt of
     * a call's globals */
    if (!lua_getmetatable(L, LUA_GLOBALSINDEX)) return luaL_error(L, "globals have no metatable");
    lua_newtable(L);
    for (;;) { /* move _G's entries (what the files defined) to the file globals */
        lua_pushnil(L);
        if (!lua_next(L, LUA_GLOBALSINDEX)) break;
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, 2);
        lua_pushnil(L);
        lua_rawset(L, LUA_GLOBALSINDEX);
    }
    lua_newtable(L);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.builtins");
    lua_createtable(L, 0, 1); /* file globals read through to the built-ins */
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 2);
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "__index");
    lua_pushvalue(L, 2);
    lua_rawset(L, 1);
    lua_pushliteral(L, "__newindex");
    for (int i = 1; i <= 5; i++) lua_pushvalue(L, i);
    lua_pushcclosure(L, decision_newindex, 5);
    lua_rawset(L, 1);
    for (int i = 1; i <= 5; i++) lua_pushvalue(L, i);
    lua_pushcclosure(L, run_protected, 5);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.run");
    lua_settop(L, 0);
    if (b && fl_bindings_open_lua(L, b) == FL_OK && fl_sandbox_install(L, "fl") != FL_OK)
        return luaL_error(L, "cannot install the fl module");
    return 0;
}

/* Build a handler state for v into m: run the sources, then index the
 * handlers.  NULL on failure, with diag saying why (m is left detached). */
static lua_State *build_state(struct fl_shared *sh, fl_version *v, struct fl_lmem *m, uint64_t seed, fl_diag_t *diag)
{
    const fl_engine_options_t *o = sh->opts;
    *m = (struct fl_lmem){.cap = o->lua_memory_cap};
    lua_State *L = fl_sandbox_new(m, seed, diag);
    if (!L) return NULL;
    fl_sbx_attach(sh->sbx, m);
    int rc = fl_sandbox_run_sources(L, v, m, FL_STATE_BUILD_BUDGET_US, diag);
    if (rc == FL_OK) {
        lua_settop(L, 0);
        if (lua_cpcall(L, index_handlers, o->bindings) == 0) return L;
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot index the handlers");
    }
    fl_sbx_detach(m);
    lua_close(L);
    m->L = NULL;
    return NULL;
}

/* Take a state prebuilt for v by the loading thread, if one is left.  The
 * state's allocator is re-pointed at the context's accounting.  States
 * another context parked there (m->ran) are never taken: they hold that
 * context's data. */
static int adopt_state(fl_ctx_t *ctx, fl_version *v)
{
    struct fl_pooled p = {NULL, NULL};
    pthread_mutex_lock(&v->pool_mu);
    for (uint32_t i = v->npool; i-- > 0;)
        if (!v->pool[i].m->ran) {
            p = v->pool[i];
            v->pool[i] = v->pool[--v->npool];
            break;
        }
    pthread_mutex_unlock(&v->pool_mu);
    if (!p.L) return 0;
    void *ud;
    lua_Alloc f = lua_getallocf(p.L, &ud);
    ctx->lmem = *p.m;
    ctx->lmem.L = p.L;
    ctx->lmem.slot = NULL;
    lua_setallocf(p.L, f, &ctx->lmem);
    free(p.m);
    fl_sbx_attach(ctx->sh->sbx, &ctx->lmem);
    ctx->L = p.L;
    fl_version_ref(v);
    ctx->L_ver = v;
    return 1;
}

/* The context moved to another version: hand its healthy state to the
 * version it was built for instead of closing it here (closing a state that
 * holds a large policy takes milliseconds).  It is closed with that version,
 * which the next load frees, off the decide path; marked `ran`, it is never
 * adopted by another context. */
static void park_state(fl_ctx_t *ctx)
{
    fl_version *old = ctx->L_ver;
    struct fl_lmem *m = malloc(sizeof *m);
    if (!m) {
        fl_handler_close(ctx);
        return;
    }
    fl_sbx_detach(&ctx->lmem);
    *m = ctx->lmem;
    void *ud;
    lua_Alloc f = lua_getallocf(ctx->L, &ud);
    lua_setallocf(ctx->L, f, m);
    pthread_mutex_lock(&old->pool_mu); /* grow and push in one critical section */
    struct fl_pooled *np = realloc(old->pool, (old->npool + 1) * sizeof *np);
    if (np) {
        old->pool = np;
        old->pool[old->npool++] = (struct fl_pooled){ctx->L, m};
    }
    pthread_mutex_unlock(&old->pool_mu);
    if (!np) { /* cannot park: take the accounting back and close it here */
        lua_setallocf(ctx->L, f, &ctx->lmem);
        free(m);
        fl_handler_close(ctx);
        return;
    }
    ctx->L = NULL;
    ctx->lmem = (struct fl_lmem){0};
    ctx->L_ver = NULL;
    fl_shared_release(ctx->sh, old);
}

static int open_state(fl_ctx_t *ctx, fl_version *v, fl_strbuf *err)
{
    if (!ctx->uses_handlers) { /* counted once: the loader prebuilds this many */
        ctx->uses_handlers = 1;
        atomic_fetch_add(&ctx->sh->handler_users, 1);
    }
    if (adopt_state(ctx, v)) return FL_OK;
    fl_diag_t diag;
    fl_diag_clear(&diag);
    lua_State *L = build_state(ctx->sh, v, &ctx->lmem, fl_rng_next(&ctx->rng), &diag);
    if (!L) goto fail;
    ctx->L = L;
    fl_version_ref(v);
    ctx->L_ver = v;
    return FL_OK;
fail:
    fl_sb_puts(err, "cannot prepare the handler state: ");
    append_clean(err, diag.message, strlen(diag.message), FL_MAX_ERROR_TEXT);
    fl_handler_close(ctx);
    return diag.status == FL_EBUDGET_CPU || diag.status == FL_EBUDGET_MEM ? diag.status : FL_EHANDLER;
}

void fl_handler_prebuild(struct fl_shared *sh, fl_version *v, uint32_t n, uint64_t seed)
{
    for (uint32_t i = 0; i < n && v->nhandlers; i++) {
        struct fl_lmem *m = calloc(1, sizeof *m);
        fl_diag_t diag;
        lua_State *L = m ? build_state(sh, v, m, seed + i, &diag) : NULL;
        if (!L) {
            free(m);
            return;
        }
        fl_sbx_detach(m); /* idle until adopted; adoption re-attaches */
        pthread_mutex_lock(&v->pool_mu);
        struct fl_pooled *np = realloc(v->pool, (v->npool + 1) * sizeof *np);
        if (np) {
            v->pool = np;
            v->pool[v->npool++] = (struct fl_pooled){L, m};
        }
        pthread_mutex_unlock(&v->pool_mu);
        if (!np) {
            lua_close(L);
            free(m);
            return;
        }
    }
}

void fl_handler_pool_free(fl_version *v)
{
    for (uint32_t i = 0; i < v->npool; i++) {
        lua_close(v->pool[i].L);
        free(v->pool[i].m);
    }
    free(v->pool);
    v->pool = NULL;
    v->npool = 0;
}

/* ---- running a handler -------------------------------------------------- */

/* Message text of the error value without calling into policy code (a
 * __tostring metamethod could itself throw or loop). */
static void error_text(lua_State *L, const fl_rule *rule, fl_strbuf *err)
{
    fl_sb_printf(err, "rule \"%.128s\": handler failed: ", rule->name);
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        append_clean(err, s, len, FL_MAX_ERROR_TEXT);
    } else {
        fl_sb_printf(err, "it raised a %s value", luaL_typename(L, -1));
    }
}

static void put_effects(fl_decision_t *d, json_t *effects)
{
    if (json_array_size(effects) > 0) {
        char *text = json_dumps(effects, JSON_COMPACT);
        if (text) fl_decision_put(d, FL_DS_EFFECTS, text, strlen(text));
        free(text);
    }
    json_decref(effects);
}

static void record_failure(fl_ctx_t *ctx, fl_version *v, fl_failure_kind kind, int rc, fl_strbuf *err)
{
    fl_sbx_fail(ctx->sh->sbx, v->id, kind, rc, fl_sb_cstr(err));
}

int fl_handler_run(fl_ctx_t *ctx, fl_version *v, const fl_rule *rule, const fl_eview *ev,
                   fl_decision_t *d, fl_strbuf *err)
{
    if (ctx->L && ctx->L_ver != v) park_state(ctx);
    if (!ctx->L) {
        int rc = open_state(ctx, v, err);
        if (rc != FL_OK) {
            record_failure(ctx, v, rc == FL_EBUDGET_CPU ? FL_FAIL_CPU_BUDGET
                                   : rc == FL_EBUDGET_MEM ? FL_FAIL_MEMORY_BUDGET
                                                          : FL_FAIL_HANDLER_ERROR, rc, err);
            return rc;
        }
    }
    lua_State *L = ctx->L;
    struct fl_lmem *m = &ctx->lmem;
    struct call_args args = {ctx, rule, ev, d};
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.run"); /* no allocation: the key is interned */
    lua_pushlightuserdata(L, &args);
    /* Actions the handler performs through `fl` are collected for the
     * decision's `effects`; only hosts that configured bindings have any. */
    json_t *effects = ctx->sh->opts->bindings ? json_array() : NULL;
    if (effects) {
        lua_pushlightuserdata(L, effects);
        lua_setfield(L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
    }
    const fl_engine_options_t *o = ctx->sh->opts;
    uint32_t wall = o->handler_wall_us ? o->handler_wall_us
                    : o->handler_budget_us > FL_DEFAULT_WALL_US / 10 ? o->handler_budget_us * 10u
                                                                  : FL_DEFAULT_WALL_US;
    m->ran = 1; /* holds this context's data from now on */
    fl_sandbox_arm(L, m, o->handler_budget_us, wall);
    int prc = lua_pcall(L, 1, 1, 0);
    fl_sandbox_disarm(L, m);
    if (effects) {
        lua_pushnil(L);
        lua_setfield(L, LUA_REGISTRYINDEX, FL_LUA_EFFECTS_KEY);
        put_effects(d, effects); /* even when the handler then fails: they happened */
    }
    int rc = FL_OK;
    fl_failure_kind kind = FL_FAIL_HANDLER_ERROR;
    if (m->cpu_hit) { /* even if the policy caught the error */
        rc = FL_EBUDGET_CPU;
        kind = FL_FAIL_CPU_BUDGET;
        if (m->wall_hit)
            fl_sb_printf(err, "rule \"%.128s\": handler exceeded its wall-clock limit (%u ms)", rule->name,
                         (unsigned)(wall / 1000));
        else
            fl_sb_printf(err, "rule \"%.128s\": handler exceeded its CPU budget", rule->name);
    } else if (m->mem_hit || prc == LUA_ERRMEM) {
        rc = FL_EBUDGET_MEM;
        kind = FL_FAIL_MEMORY_BUDGET;
        fl_sb_printf(err, "rule \"%.128s\": handler exceeded its memory cap", rule->name);
    } else if (prc != 0) {
        rc = FL_EHANDLER;
        error_text(L, rule, err);
    } else {
        rc = fl_handler_apply(ctx, L, lua_gettop(L), d, err);
        kind = FL_FAIL_BAD_RETURN;
    }
    if (rc != FL_OK) {
        fl_strbuf raw = *err; /* policy-supplied text: bound it, make it UTF-8 */
        *err = (fl_strbuf){0};
        append_clean(err, fl_sb_cstr(&raw), raw.len, 2 * FL_MAX_ERROR_TEXT);
        fl_sb_free(&raw);
        record_failure(ctx, v, kind, rc, err);
        fl_handler_close(ctx);
    } else {
        lua_settop(L, 0);
    }
    return rc;
}
