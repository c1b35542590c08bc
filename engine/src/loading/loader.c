/*
 * loader.c -- from a policy directory to plain C data.  Reads the *.lua files
 * (in name order), runs them once in a sandboxed Lua state where the
 * declaration functions record what each file declares, then walks those
 * records and fills an fl_version: rules and their conditions, category
 * settings, message catalogues and examples.  Every schema error names the
 * file, line and column of the declaration at fault.  compile.c takes over
 * from here; after loading, the Lua state is closed.
 */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core.h"
#include "loading.h"
#include "sandbox.h"
#include "loader_internal.h"

/* ---- reading the directory --------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int fl_read_file(const char *path, char **text, size_t *len, fl_diag_t *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fl_diag_set(diag, FL_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    fl_strbuf sb = {0};
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (sb.len + n > FL_MAX_POLICY_SOURCE_BYTES) {
            fclose(f);
            fl_sb_free(&sb);
            return fl_diag_set(diag, FL_ETOOBIG, path, 0, 0, "policy file is larger than %u bytes",
                               FL_MAX_POLICY_SOURCE_BYTES);
        }
        if (fl_sb_append(&sb, buf, n) != 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fl_sb_free(&sb);
        return fl_diag_set(diag, FL_EIO, path, 0, 0, "cannot read: %s", strerror(errno));
    }
    if (fl_sb_putc(&sb, '\0') != 0) return FL_ENOMEM;
    *len = sb.len - 1;
    *text = sb.data;
    return FL_OK;
}

static int list_lua_files(const char *dir, char ***names, uint32_t *count, fl_diag_t *diag)
{
    DIR *d = opendir(dir);
    if (!d)
        return fl_diag_set(diag, errno == ENOENT || errno == ENOTDIR ? FL_ENOENT : FL_EIO, dir, 0,
                           0, "cannot open policy directory: %s", strerror(errno));
    char **v = NULL;
    uint32_t n = 0, cap = 0;
    struct dirent *de;
    int rc = FL_OK;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".lua") != 0 || de->d_name[0] == '.') continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, cap * sizeof *nv);
            if (!nv) { rc = FL_ENOMEM; break; }
            v = nv;
        }
        if (!(v[n] = strdup(path))) { rc = FL_ENOMEM; break; }
        n++;
    }
    closedir(d);
    if (rc == FL_OK && n == 0)
        rc = fl_diag_set(diag, FL_ENOENT, dir, 0, 0, "no .lua policy files in this directory");
    if (rc != FL_OK) {
        for (uint32_t i = 0; i < n; i++) free(v[i]);
        free(v);
        return rc;
    }
    qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return FL_OK;
}

int fl_read_policy_dir(fl_version *v, const char *dir, fl_diag_t *diag)
{
    char **names;
    uint32_t n;
    int rc = list_lua_files(dir, &names, &n, diag);
    if (rc != FL_OK) return rc;
    v->src_names = names;
    v->src_texts = calloc(n, sizeof *v->src_texts);
    v->src_lens = calloc(n, sizeof *v->src_lens);
    v->nsrcs = n;
    if (!v->src_texts || !v->src_lens) return FL_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = fl_read_file(names[i], &v->src_texts[i], &v->src_lens[i], diag)) != FL_OK)
            return rc;
    return FL_OK;
}

/* ---- error helpers ------------------------------------------------------ */

int ld_error(struct ld *ld, const char *key, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int col = 1;
    for (uint32_t i = 0; i < ld->v->nsrcs; i++)
        if (strcmp(ld->v->src_names[i], ld->src) == 0)
            col = fl_find_column(ld->v->src_texts[i], ld->v->src_lens[i], ld->line, key);
    return fl_diag_set(ld->diag, FL_EPOLICY_SCHEMA, ld->src, ld->line, col, "%s: %s", ld->what, msg);
}

char *ld_strdup(struct ld *ld, const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) ld->oom = 1;
    return p;
}

/* ---- Lua values to JSON -------------------------------------------------- */

static int is_array(lua_State *L, int idx, size_t *n)
{
    size_t len = lua_objlen(L, idx), count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        count++;
        lua_pop(L, 1);
    }
    *n = len;
    return count == len;
}

json_t *ld_to_json(struct ld *ld, int idx, int depth, const char *key)
{
    lua_State *L = ld->L;
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, idx));
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (!fl_utf8_valid(s, len)) {
            ld_error(ld, key, "'%s': string is not valid UTF-8", key);
            return NULL;
        }
        return json_stringn(s, len);
    }
    case LUA_TNUMBER: {
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) {
            ld_error(ld, key, "'%s': numbers must be finite", key);
            return NULL;
        }
        if (d == floor(d) && fabs(d) < 9e15) return json_integer((json_int_t)d);
        return json_real(d);
    }
    case LUA_TTABLE: break;
    default:
        ld_error(ld, key, "'%s': a %s cannot be turned into JSON", key, luaL_typename(L, idx));
        return NULL;
    }
    if (depth > 32) {
        ld_error(ld, key, "'%s': nested deeper than 32", key);
        return NULL;
    }
    size_t n;
    json_t *out;
    if (is_array(L, idx, &n) && n > 0) {
        out = json_array();
        for (size_t i = 1; out && i <= n; i++) {
            lua_rawgeti(L, idx, (int)i);
            json_t *e = ld_to_json(ld, -1, depth + 1, key);
            lua_pop(L, 1);
            if (!e || json_array_append_new(out, e) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    out = json_object();
    lua_pushnil(L);
    while (out && lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            json_decref(out);
            ld_error(ld, key, "'%s': table keys must be strings (or a list)", key);
            return NULL;
        }
        json_t *e = ld_to_json(ld, -1, depth + 1, lua_tostring(L, -2));
        if (!e || json_object_set_new(out, lua_tostring(L, -2), e) != 0) {
            lua_pop(L, 2);
            json_decref(out);
            return NULL;
        }
        lua_pop(L, 1);
    }
    return out;
}

char *ld_to_json_text(struct ld *ld, int idx, const char *key)
{
    json_t *j = ld_to_json(ld, idx, 0, key);
    if (!j) return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    json_decref(j);
    if (!s) ld->oom = 1;
    return s;
}

/* ---- walking the declarations ------------------------------------------ */

/* s into dst[0..size), truncated as snprintf truncates; the length written. */
static size_t copy_str(char *dst, size_t size, const char *s)
{
    if (!size) return 0;
    size_t n = strnlen(s, size - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return n;
}

/* Calls fn for each record of the list D[field]; sets ld position fields. */
static int each_record(struct ld *ld, const char *field, int (*fn)(struct ld *, int))
{
    lua_State *L = ld->L;
    lua_getfield(L, -1, field);
    int list = lua_gettop(L);
    int rc = FL_OK;
    size_t n = lua_objlen(L, list);
    for (size_t i = 1; rc == FL_OK && i <= n; i++) {
        lua_rawgeti(L, list, (int)i);
        int rec = lua_gettop(L);
        lua_getfield(L, rec, "src");
        lua_getfield(L, rec, "line");
        lua_getfield(L, rec, "name");
        lua_getfield(L, rec, "kind");
        /* Copies, not snprintf: this runs once per declaration (thousands). */
        copy_str(ld->src, sizeof ld->src, lua_tostring(L, -4) ? lua_tostring(L, -4) : "?");
        ld->line = (int)lua_tointeger(L, -3);
        copy_str(ld->name, sizeof ld->name, lua_tostring(L, -2) ? lua_tostring(L, -2) : "");
        copy_str(ld->kind, sizeof ld->kind, lua_tostring(L, -1) ? lua_tostring(L, -1) : field);
        size_t k = copy_str(ld->what, sizeof ld->what, ld->kind); /* kind "name" */
        k += copy_str(ld->what + k, sizeof ld->what - k, " \"");
        k += copy_str(ld->what + k, sizeof ld->what - k, ld->name);
        copy_str(ld->what + k, sizeof ld->what - k, "\"");
        lua_pop(L, 4);
        lua_getfield(L, rec, "t");
        rc = fn(ld, lua_gettop(L));
        if (rc == FL_OK && ld->oom) rc = FL_ENOMEM;
        lua_settop(L, rec - 1);
    }
    lua_settop(L, list - 1);
    return rc;
}

/* A declaration made at most once (policy, fleet, log): the declarations
 * table is on top of the stack; when `name` is present, read its table `t`
 * with `fn`, locating errors at its file and line.  Stack unchanged. */
static int single_decl(struct ld *ld, const char *name, int (*fn)(struct ld *, int))
{
    lua_State *L = ld->L;
    int rc = FL_OK;
    lua_getfield(L, -1, name);
    if (!lua_isnil(L, -1)) {
        lua_getfield(L, -1, "src");
        lua_getfield(L, -2, "line");
        snprintf(ld->src, sizeof ld->src, "%s", lua_tostring(L, -2));
        ld->line = (int)lua_tointeger(L, -1);
        snprintf(ld->what, sizeof ld->what, "%s", name);
        lua_pop(L, 2);
        lua_getfield(L, -1, "t");
        rc = fn(ld, lua_gettop(L));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return rc;
}

int fl_load_sources(fl_version *v, const fl_engine_options_t *opts, struct fl_resil *resil,
                    fl_diag_t *diag)
{
    /* The safe decision's settings are "unset" (-1) unless `policy.safe`
     * declares them: a zeroed struct would mean severity "debug". */
    v->safe.severity = v->safe.retryable = -1;
    /* Pooled: the loading state lives for one load (its pools go at once). */
    struct fl_lmem mem = {.cap = opts->lua_memory_cap, .pooled = 1};
    lua_State *L = fl_sandbox_new(&mem, opts->seed, diag);
    if (!L) {
        fl_sandbox_pool_free(&mem);
        return diag ? diag->status : FL_ENOMEM;
    }
    /* Loading gets a generous CPU budget: it runs once, but must not hang. */
    int rc = fl_sandbox_run_sources(L, v, &mem, 2000000, diag);
    if (rc != FL_OK) goto cleanup;
    struct ld ld = {.L = L, .v = v, .diag = diag, .resil = resil};
    rc = single_decl(&ld, "policy", ld_policy);
    if (rc == FL_OK) rc = single_decl(&ld, "fleet", ld_fleet);
    if (rc == FL_OK) rc = single_decl(&ld, "log", ld_log);
    if (rc == FL_OK) rc = each_record(&ld, "categories", ld_category);
    if (rc == FL_OK) rc = each_record(&ld, "rules", ld_rule);
    if (rc == FL_OK) rc = each_record(&ld, "locales", ld_messages);
    if (rc == FL_OK) rc = each_record(&ld, "examples", ld_example);
    if (rc == FL_OK) rc = each_record(&ld, "resil", ld_resil);
    if (rc == FL_OK) rc = each_record(&ld, "alerts", ld_alert);
    if (rc == FL_OK && ld.oom) rc = FL_ENOMEM;
    /* An empty or comment-only policy (a file truncated mid-deploy, a wrong
     * directory) must not replace a serving one: refused unless it says so. */
    if (rc == FL_OK && v->nrules == 0 && v->ncats == 0 && !v->declared_empty)
        rc = fl_diag_set(diag, FL_EPOLICY_SCHEMA, v->nsrcs ? v->src_names[v->nsrcs - 1] : NULL, 0, 0,
                         "the policy declares no rules and no categories (an empty or comment-only "
                         "file?); declare policy { empty = true } to load an empty policy on purpose");
    free(ld.names);
    ld_patterns_locate(v); /* the rule table is complete */
    if (rc != FL_OK) rc = fl_patterns_collect(v, diag, rc); /* a bad pattern read first wins */
cleanup:
    lua_close(L);
    fl_sandbox_pool_free(&mem);
    return rc;
}
