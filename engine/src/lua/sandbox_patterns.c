/*
 * sandbox_patterns.c -- string.find/match/gmatch/gsub reimplemented with the
 * Lua 5.1 / LuaJIT semantics plus a step meter, so a catastrophic pattern
 * is stopped by the CPU budget instead of running in C to completion.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <luajit.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox_internal.h"

/* ======================================================================== */
/* Lua patterns with a step sbx__meter (Lua 5.1 / LuaJIT semantics)              */
/* ======================================================================== */

#define L_ESC '%'
#define MS_MAXCAP 32
#define MS_MAXDEPTH 200
#define CAP_UNF (-1)
#define CAP_POS (-2)

typedef struct mstate {
    const char *src, *end;
    lua_State *L;
    struct fl_lmem *m;
    int level, depth;
    struct {
        const char *init;
        ptrdiff_t len;
    } cap[MS_MAXCAP];
} mstate;

static int c_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int c_digit(int c) { return c >= '0' && c <= '9'; }
static int c_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int c_cntrl(int c) { return c < 32 || c == 127; }
static int c_punct(int c) { return c > 32 && c < 127 && !c_alpha(c) && !c_digit(c); }
static int c_xdigit(int c) { return c_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int class_match(int c, int cl)
{
    int r, lower = cl | 0x20;
    switch (c_alpha(cl) ? lower : 0) {
    case 'a': r = c_alpha(c); break;
    case 'c': r = c_cntrl(c); break;
    case 'd': r = c_digit(c); break;
    case 'l': r = c >= 'a' && c <= 'z'; break;
    case 'p': r = c_punct(c); break;
    case 's': r = c_space(c); break;
    case 'u': r = c >= 'A' && c <= 'Z'; break;
    case 'w': r = c_alpha(c) || c_digit(c); break;
    case 'x': r = c_xdigit(c); break;
    case 'z': r = c == 0; break;
    default: return cl == c;
    }
    return (cl >= 'A' && cl <= 'Z') ? !r : r;
}

static int bracket_match(mstate *ms, int c, const char *p, const char *ec)
{
    int sig = 1;
    sbx__meter(ms->L, ms->m, 1 + (uint32_t)((ec - p) >> 4));
    if (p[1] == '^') {
        sig = 0;
        p++;
    }
    while (++p < ec) {
        if (*p == L_ESC) {
            p++;
            if (class_match(c, (unsigned char)*p)) return sig;
        } else if (p[1] == '-' && p + 2 < ec) {
            p += 2;
            if ((unsigned char)p[-2] <= c && c <= (unsigned char)*p) return sig;
        } else if ((unsigned char)*p == c) {
            return sig;
        }
    }
    return !sig;
}

static const char *class_end(mstate *ms, const char *p)
{
    switch (*p++) {
    case L_ESC:
        if (*p == '\0') luaL_error(ms->L, "malformed pattern (ends with '%%')");
        return p + 1;
    case '[': {
        const char *start = p;
        if (*p == '^') p++;
        do {
            if (*p == '\0') luaL_error(ms->L, "malformed pattern (missing ']')");
            if (*(p++) == L_ESC && *p != '\0') p++;
        } while (*p != ']');
        sbx__meter(ms->L, ms->m, (uint32_t)((p - start) >> 4));
        return p + 1;
    }
    default:
        return p;
    }
}

static int single_match(mstate *ms, int c, const char *p, const char *ep)
{
    switch (*p) {
    case '.': return 1;
    case L_ESC: return class_match(c, (unsigned char)p[1]);
    case '[': return bracket_match(ms, c, p, ep - 1);
    default: return (unsigned char)*p == c;
    }
}

static const char *do_match(mstate *ms, const char *s, const char *p);

static const char *max_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    ptrdiff_t i = 0;
    while (s + i < ms->end && single_match(ms, (unsigned char)s[i], p, ep)) {
        i++;
        sbx__meter(ms->L, ms->m, 1);
    }
    while (i >= 0) {
        const char *r = do_match(ms, s + i, ep + 1);
        if (r) return r;
        i--;
    }
    return NULL;
}

static const char *min_expand(mstate *ms, const char *s, const char *p, const char *ep)
{
    for (;;) {
        const char *r = do_match(ms, s, ep + 1);
        if (r) return r;
        if (s < ms->end && single_match(ms, (unsigned char)*s, p, ep)) s++;
        else return NULL;
    }
}

static const char *start_capture(mstate *ms, const char *s, const char *p, int what)
{
    int level = ms->level;
    if (level >= MS_MAXCAP) luaL_error(ms->L, "too many captures");
    ms->cap[level].init = s;
    ms->cap[level].len = what;
    ms->level = level + 1;
    const char *r = do_match(ms, s, p);
    if (!r) ms->level--;
    return r;
}

static const char *end_capture(mstate *ms, const char *s, const char *p)
{
    int l = -1;
    for (int i = ms->level - 1; i >= 0; i--)
        if (ms->cap[i].len == CAP_UNF) {
            l = i;
            break;
        }
    if (l < 0) luaL_error(ms->L, "invalid pattern capture");
    ms->cap[l].len = s - ms->cap[l].init;
    const char *r = do_match(ms, s, p);
    if (!r) ms->cap[l].len = CAP_UNF;
    return r;
}

static const char *match_balance(mstate *ms, const char *s, const char *p)
{
    if (p[0] == '\0' || p[1] == '\0') luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms->end || *s != *p) return NULL;
    int b = *p, e = p[1], cont = 1;
    while (++s < ms->end) {
        sbx__meter(ms->L, ms->m, 1);
        if (*s == e) {
            if (--cont == 0) return s + 1;
        } else if (*s == b) {
            cont++;
        }
    }
    return NULL;
}

static const char *match_capture(mstate *ms, const char *s, int c)
{
    int l = c - '1';
    if (l < 0 || l >= ms->level || ms->cap[l].len == CAP_UNF) luaL_error(ms->L, "invalid capture index");
    if (ms->cap[l].len < 0) return NULL; /* a position capture matches nothing */
    size_t len = (size_t)ms->cap[l].len;
    sbx__meter(ms->L, ms->m, 1 + (uint32_t)(len >> 6));
    if ((size_t)(ms->end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *do_match(mstate *ms, const char *s, const char *p)
{
    if (++ms->depth > MS_MAXDEPTH) luaL_error(ms->L, "pattern too complex");
init:
    sbx__meter(ms->L, ms->m, 1);
    switch (*p) {
    case '(':
        s = p[1] == ')' ? start_capture(ms, s, p + 2, CAP_POS) : start_capture(ms, s, p + 1, CAP_UNF);
        break;
    case ')':
        s = end_capture(ms, s, p + 1);
        break;
    case L_ESC:
        if (p[1] == 'b') {
            s = match_balance(ms, s, p + 2);
            if (s) {
                p += 4;
                goto init;
            }
            break;
        }
        if (p[1] == 'f') {
            p += 2;
            if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
            const char *ep = class_end(ms, p);
            int prev = s == ms->src ? '\0' : (unsigned char)s[-1];
            int cur = s < ms->end ? (unsigned char)*s : '\0';
            if (!bracket_match(ms, prev, p, ep - 1) && bracket_match(ms, cur, p, ep - 1)) {
                p = ep;
                goto init;
            }
            s = NULL;
            break;
        }
        if (c_digit((unsigned char)p[1])) {
            s = match_capture(ms, s, (unsigned char)p[1]);
            if (s) {
                p += 2;
                goto init;
            }
            break;
        }
        goto dflt;
    case '\0':
        break;
    case '$':
        if (p[1] != '\0') goto dflt;
        s = s == ms->end ? s : NULL;
        break;
    default:
    dflt: {
        const char *ep = class_end(ms, p);
        int m = s < ms->end && single_match(ms, (unsigned char)*s, p, ep);
        switch (*ep) {
        case '?': {
            const char *r;
            if (m && (r = do_match(ms, s + 1, ep + 1)) != NULL) {
                s = r;
                break;
            }
            p = ep + 1;
            goto init;
        }
        case '*':
            s = max_expand(ms, s, p, ep);
            break;
        case '+':
            s = m ? max_expand(ms, s + 1, p, ep) : NULL;
            break;
        case '-':
            s = min_expand(ms, s, p, ep);
            break;
        default:
            if (!m) {
                s = NULL;
                break;
            }
            s++;
            p = ep;
            goto init;
        }
        break;
    }
    }
    ms->depth--;
    return s;
}

static void push_onecapture(mstate *ms, int i, const char *s, const char *e)
{
    if (i >= ms->level) {
        if (i == 0) lua_pushlstring(ms->L, s, (size_t)(e - s));
        else luaL_error(ms->L, "invalid capture index");
        return;
    }
    ptrdiff_t l = ms->cap[i].len;
    if (l == CAP_UNF) luaL_error(ms->L, "unfinished capture");
    if (l == CAP_POS) lua_pushinteger(ms->L, ms->cap[i].init - ms->src + 1);
    else lua_pushlstring(ms->L, ms->cap[i].init, (size_t)l);
}

static int push_captures(mstate *ms, const char *s, const char *e)
{
    int n = (ms->level == 0 && s) ? 1 : ms->level;
    luaL_checkstack(ms->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_onecapture(ms, i, s, e);
    return n;
}

static void ms_init(mstate *ms, lua_State *L, const char *s, size_t len)
{
    ms->L = L;
    ms->m = sbx__lmem_of(L);
    ms->src = s;
    ms->end = s + len;
    ms->level = ms->depth = 0;
}

static int has_specials(const char *p, size_t lp)
{
    for (size_t i = 0; i < lp; i++)
        if (p[i] && strchr("^$*+?.([%-", p[i])) return 1;
    return 0;
}

static int find_aux(lua_State *L, int find)
{
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    lua_Number init = luaL_optnumber(L, 3, 1);
    size_t st;
    if (!(init == init)) init = 1;
    if (init < 0) st = -init >= (lua_Number)ls ? 0 : ls - (size_t)(-init);
    else st = init <= 1 ? 0 : init - 1 >= (lua_Number)ls ? ls : (size_t)(init - 1);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *q = lp == 0 ? s + st : memmem(s + st, ls - st, p, lp);
        if (q) {
            lua_pushinteger(L, q - s + 1);
            lua_pushinteger(L, (lua_Integer)(q - s + (ptrdiff_t)lp));
            return 2;
        }
    } else {
        mstate ms;
        ms_init(&ms, L, s, ls);
        int anchor = *p == '^';
        if (anchor) p++;
        const char *s1 = s + st;
        do {
            ms.level = ms.depth = 0;
            const char *r = do_match(&ms, s1, p);
            if (r) {
                if (find) {
                    lua_pushinteger(L, s1 - s + 1);
                    lua_pushinteger(L, r - s);
                    return push_captures(&ms, NULL, NULL) + 2;
                }
                return push_captures(&ms, s1, r);
            }
        } while (s1++ < ms.end && !anchor);
    }
    lua_pushnil(L);
    return 1;
}

int sbx__l_find(lua_State *L) { return find_aux(L, 1); }
int sbx__l_match(lua_State *L) { return find_aux(L, 0); }

static int gmatch_aux(lua_State *L)
{
    size_t ls;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tostring(L, lua_upvalueindex(2));
    size_t pos = (size_t)lua_tonumber(L, lua_upvalueindex(3));
    mstate ms;
    ms_init(&ms, L, s, ls);
    for (; pos <= ls; pos++) {
        ms.level = ms.depth = 0;
        const char *src = s + pos;
        const char *e = do_match(&ms, src, p);
        if (e) {
            size_t np = (size_t)(e - s);
            if (e == src) np++;
            lua_pushnumber(L, (lua_Number)np);
            lua_replace(L, lua_upvalueindex(3));
            return push_captures(&ms, src, e);
        }
    }
    return 0;
}

int sbx__l_gmatch(lua_State *L)
{
    luaL_checkstring(L, 1);
    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    lua_pushnumber(L, 0);
    lua_pushcclosure(L, gmatch_aux, 3);
    return 1;
}

static void add_s(mstate *ms, luaL_Buffer *b, const char *s, const char *e)
{
    size_t l;
    const char *news = lua_tolstring(ms->L, 3, &l);
    sbx__meter(ms->L, ms->m, 1 + (uint32_t)(l >> 4));
    for (size_t i = 0; i < l; i++) {
        if (news[i] != L_ESC) {
            luaL_addchar(b, news[i]);
            continue;
        }
        i++; /* news is NUL-terminated: news[l] is '\0' */
        unsigned char c = (unsigned char)news[i];
        if (!c_digit(c)) luaL_addchar(b, (char)c);
        else if (c == '0') luaL_addlstring(b, s, (size_t)(e - s));
        else {
            push_onecapture(ms, c - '1', s, e);
            luaL_addvalue(b);
        }
    }
}

static void add_value(mstate *ms, luaL_Buffer *b, const char *s, const char *e)
{
    lua_State *L = ms->L;
    switch (lua_type(L, 3)) {
    case LUA_TNUMBER:
    case LUA_TSTRING:
        add_s(ms, b, s, e);
        return;
    case LUA_TFUNCTION: {
        sbx__check_cstack(L, ms->m);
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    default: /* table */
        sbx__check_cstack(L, ms->m);
        push_onecapture(ms, 0, s, e);
        lua_gettable(L, 3);
        break;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_pushlstring(L, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
}

int sbx__l_gsub(lua_State *L)
{
    size_t srcl;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checkstring(L, 2);
    int tr = lua_type(L, 3);
    lua_Number max_s = luaL_optnumber(L, 4, (lua_Number)srcl + 1);
    luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                  "string/function/table expected");
    lua_settop(L, 3);
    int anchor = *p == '^';
    if (anchor) p++;
    mstate ms;
    ms_init(&ms, L, src, srcl);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Number n = 0;
    while (n < max_s) {
        ms.level = ms.depth = 0;
        const char *e = do_match(&ms, src, p);
        if (e) {
            n++;
            add_value(&ms, &b, src, e);
        }
        if (e && e > src) src = e;
        else if (src < ms.end) luaL_addchar(&b, *src++);
        else break;
        if (anchor) break;
    }
    luaL_addlstring(&b, src, (size_t)(ms.end - src));
    luaL_pushresult(&b);
    lua_pushnumber(L, n);
    return 2;
}

