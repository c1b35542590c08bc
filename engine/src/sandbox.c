/*
 * sandbox.c -- the Lua environment policies run in, and the budgets that
 * bound it.  docs/sandbox.md is the reference; in short:
 *
 *   - environment: built by allowlist.  Libraries are reachable only through
 *     read-only proxies; the declaration functions and every built-in are
 *     read-only globals; shared metatables are protected.  The LuaJIT
 *     compiler is off (hooks never fire inside compiled traces).
 *   - memory: a capped allocator, enforced while policy code runs.
 *   - CPU: a deadline per call.  A per-engine watchdog thread installs a
 *     stopping hook on a state whose deadline has passed (so no hook slows
 *     the interpreter before that); without a watchdog (loading) a count
 *     hook checks the clock.  The allocator and every library function that
 *     can loop in C (pattern matching, sort, coroutine resume) check the
 *     deadline themselves, because hooks only fire between VM instructions.
 *   - C stack: library functions that call back into Lua refuse to nest
 *     deeper than FL_CSTACK_MAX bytes of C stack (LuaJIT does not bound
 *     C-level recursion through resume, gsub or sort; it would crash).
 *   - Lua patterns: string.find/match/gmatch/gsub are reimplemented here
 *     with the same semantics plus a step meter: a catastrophic pattern is
 *     stopped by the CPU budget instead of running in C to completion.
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

#include "core.h"

/* Count-hook mode (no watchdog): instructions between two clock reads.  A
 * count hook slows the interpreter ~2.4x whatever the count (LuaJIT then
 * dispatches every instruction through its hook check), so a small count
 * costs little more and bounds the latency of expensive instructions. */
#define FL_HOOK_EVERY 100
/* Allocated bytes between two clock reads in the allocator. */
#define FL_ALLOC_CHECK_BYTES (256u << 10)
/* Metered library steps between two clock reads. */
#define FL_STEP_CHECK 4096u
/* C stack a policy may make the engine use through nested callbacks. */
#define FL_CSTACK_MAX (160u << 10)
/* Watchdog tick, and how long it stays awake without any armed state. */
#define FL_WD_TICK_NS 1000000ull
#define FL_WD_IDLE_TICKS 2000u
/* A watchdog that has not ticked for this long is not trusted (asleep,
 * starved, or gone after a fork): arm wakes it and waits up to
 * FL_WD_WAKE_NS for a tick, else falls back to the count hook (and stops
 * waiting for FL_WD_DEAD_NS). */
#define FL_WD_STALE_NS 5000000ull
#define FL_WD_WAKE_NS 5000000ull
#define FL_WD_DEAD_NS 1000000000ull
/* Expanded size of everything declared (what the loader walks). */
#define FL_DECL_MAX_NODES 4000000 /* ~200,000 rules; stops t = {t, t} doubling bombs */

/* ======================================================================== */
/* Allocator, hook, in-thread checks                                        */
/* ======================================================================== */

static void budget_hook(lua_State *L, lua_Debug *ar);

static struct fl_lmem *lmem_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

/* Past the deadline: from here on every instruction raises the error, so a
 * pcall in the policy cannot swallow it and carry on.  In watchdog mode the
 * watchdog owns the hook and has already set it. */
static void stop_everything(lua_State *L, struct fl_lmem *m)
{
    m->cpu_hit = 1;
    int watchdog_mode = m->slot && m->armed == 1;
    if (!watchdog_mode && L) lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct fl_lmem *m = ud;
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (m->armed && nsize > osize) {
        if (m->cap && m->used - osize + nsize > m->cap) {
            m->mem_hit = 1;
            return NULL;
        }
        m->since_check += nsize - osize;
        if (m->since_check > FL_ALLOC_CHECK_BYTES) {
            m->since_check = 0;
            if (m->deadline_ns && fl_mono_ns() > m->deadline_ns) {
                stop_everything(m->L, m);
                return NULL; /* raises a memory error now; cpu_hit says why */
            }
        }
    }
    void *p = realloc(ptr, nsize);
    if (p) m->used = m->used - osize + nsize;
    return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct fl_lmem *m = lmem_of(L);
    if (m->deadline_ns && fl_mono_ns() > m->deadline_ns) {
        stop_everything(L, m);
        luaL_error(L, "CPU budget exhausted");
    }
}

/* For library functions: raise the budget error if the deadline passed. */
static void check_deadline(lua_State *L, struct fl_lmem *m)
{
    if (m->deadline_ns && fl_mono_ns() > m->deadline_ns) {
        stop_everything(L, m);
        luaL_error(L, "CPU budget exhausted");
    }
}

/* For library functions that call back into Lua: bound the C stack. */
static void check_cstack(lua_State *L, struct fl_lmem *m)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (m->stack_base && here < m->stack_base && m->stack_base - here > FL_CSTACK_MAX)
        luaL_error(L, "C stack overflow (callbacks nested too deeply)");
}

static inline void meter(lua_State *L, struct fl_lmem *m, uint32_t cost)
{
    m->steps += cost;
    if (m->steps >= FL_STEP_CHECK) {
        m->steps = 0;
        check_deadline(L, m);
    }
}

/* ======================================================================== */
/* Watchdog                                                                 */
/* ======================================================================== */

enum { WD_IDLE, WD_ARMED, WD_FIRING };

struct fl_wd_slot {
    atomic_int state;
    _Atomic uint64_t deadline;
    uint64_t fired_at;        /* watchdog-private */
    lua_State *L;             /* written by the owner only while IDLE */
    struct fl_sbx *sbx;
    struct fl_wd_slot *prev, *next;
};

struct fl_sbx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, failed, stop; /* under mu */
    atomic_int sleeping;
    _Atomic uint64_t last_tick;
    _Atomic uint64_t dead_until; /* a wake-up went unanswered: don't wait */
    struct fl_wd_slot *slots;  /* under mu */
    /* failure counters (handler.c) */
    _Atomic uint64_t fails[FL_FAIL_KIND_COUNT_];
    _Atomic uint64_t logged[FL_FAIL_KIND_COUNT_]; /* version id logged last */
    _Atomic uint64_t resets;
    fl_failure_log_fn log;
    void *log_user;
};

static void *wd_main(void *arg)
{
    struct fl_sbx *s = arg;
    unsigned idle = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        uint64_t now = fl_mono_ns();
        atomic_store(&s->last_tick, now);
        int armed = 0;
        for (struct fl_wd_slot *w = s->slots; w; w = w->next) {
            if (atomic_load(&w->state) != WD_ARMED) continue;
            armed = 1;
            uint64_t dl = atomic_load(&w->deadline);
            if (!dl || now <= dl) continue;
            int exp = WD_ARMED;
            if (w->fired_at && now - w->fired_at < 20 * FL_WD_TICK_NS) continue;
            if (!atomic_compare_exchange_strong(&w->state, &exp, WD_FIRING)) continue;
            /* The owner cannot disarm (or close the state) while FIRING.
             * lua_sethook is the one LuaJIT call meant to be made
             * asynchronously (the standalone interpreter calls it from a
             * signal handler); it only stores the hook and switches the
             * dispatch table. */
            lua_sethook(w->L, budget_hook, LUA_MASKCOUNT, 1);
            w->fired_at = now;
            atomic_store(&w->state, WD_ARMED);
        }
        idle = armed ? 0 : idle + 1;
        if (idle >= FL_WD_IDLE_TICKS) {
            atomic_store(&s->sleeping, 1);
            int any = 0; /* re-scan after publishing `sleeping` (see arm) */
            for (struct fl_wd_slot *w = s->slots; w; w = w->next)
                if (atomic_load(&w->state) == WD_ARMED) any = 1;
            if (!any && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
            atomic_store(&s->sleeping, 0);
            idle = 0;
            continue;
        }
        pthread_mutex_unlock(&s->mu);
        struct timespec ts = {0, (long)FL_WD_TICK_NS};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct fl_sbx *fl_sbx_new(const fl_engine_options_t *opts)
{
    struct fl_sbx *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < FL_FAIL_KIND_COUNT_; i++) {
        atomic_init(&s->fails[i], 0);
        atomic_init(&s->logged[i], 0);
    }
    atomic_init(&s->resets, 0);
    atomic_init(&s->sleeping, 0);
    atomic_init(&s->last_tick, 0);
    atomic_init(&s->dead_until, 0);
    if (opts) {
        s->log = opts->on_failure;
        s->log_user = opts->on_failure_user;
    }
    return s;
}

void fl_sbx_free(struct fl_sbx *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    int started = s->started;
    pthread_mutex_unlock(&s->mu);
    if (started) pthread_join(s->th, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void fl_sbx_attach(struct fl_sbx *s, struct fl_lmem *m)
{
    if (!s || !m->L || m->slot) return;
    struct fl_wd_slot *w = calloc(1, sizeof *w);
    if (!w) return;
    atomic_init(&w->state, WD_IDLE);
    atomic_init(&w->deadline, 0);
    w->L = m->L;
    w->sbx = s;
    pthread_mutex_lock(&s->mu);
    if (!s->started && !s->failed) {
        sigset_t all, old;
        sigfillset(&all); /* the watchdog never takes the host's signals */
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&s->th, NULL, wd_main, s) == 0) s->started = 1;
        else s->failed = 1;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (!s->started) {
        pthread_mutex_unlock(&s->mu);
        free(w);
        return;
    }
    w->next = s->slots;
    if (s->slots) s->slots->prev = w;
    s->slots = w;
    pthread_mutex_unlock(&s->mu);
    m->slot = w;
}

void fl_sbx_detach(struct fl_lmem *m)
{
    struct fl_wd_slot *w = m->slot;
    if (!w) return;
    struct fl_sbx *s = w->sbx;
    pthread_mutex_lock(&s->mu); /* the watchdog scans under mu */
    if (w->prev) w->prev->next = w->next;
    else s->slots = w->next;
    if (w->next) w->next->prev = w->prev;
    pthread_mutex_unlock(&s->mu);
    free(w);
    m->slot = NULL;
}

/* Is the watchdog awake and ticking?  If not, wake it and wait for a tick
 * (typically tens of microseconds, once after each idle spell).  The caller
 * has already published an ARMED slot, so the watchdog stays awake. */
static int wd_ready(struct fl_sbx *s, uint64_t now)
{
    uint64_t t = atomic_load(&s->last_tick);
    if (!atomic_load(&s->sleeping) && t && now - t < FL_WD_STALE_NS) return 1;
    if (now < atomic_load(&s->dead_until)) return 0;
    pthread_mutex_lock(&s->mu);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (;;) {
        if (atomic_load(&s->last_tick) >= now) return 1;
        uint64_t n = fl_mono_ns();
        if (n - now > FL_WD_WAKE_NS) {
            atomic_store(&s->dead_until, n + FL_WD_DEAD_NS);
            return 0;
        }
        sched_yield();
    }
}

void fl_sandbox_arm(lua_State *L, struct fl_lmem *m, uint32_t budget_us)
{
    uint64_t now = fl_mono_ns();
    m->cpu_hit = m->mem_hit = 0;
    m->since_check = 0;
    m->steps = 0;
    m->L = L;
    m->stack_base = (uintptr_t)__builtin_frame_address(0);
    m->deadline_ns = now + (uint64_t)budget_us * 1000u;
    /* Whatever happened to this state before, its code runs interpreted:
     * the compiler off, and any trace compiled while it was on flushed
     * (switching off alone keeps entering existing traces, where hooks
     * never fire).  Policies cannot reach the jit module; this is defence
     * in depth, and costs ~0.1 us. */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_FLUSH);
    struct fl_wd_slot *w = m->slot;
    if (w) {
        w->L = L;
        w->fired_at = 0;
        atomic_store(&w->deadline, m->deadline_ns);
        atomic_store(&w->state, WD_ARMED);
        /* Watchdog mode needs a live watchdog; otherwise (first call after
         * an idle spell, starved, or forked away) use the count hook for
         * this call, with the watchdog kept out of the way. */
        if (!wd_ready(w->sbx, now)) {
            int exp = WD_ARMED;
            while (!atomic_compare_exchange_weak(&w->state, &exp, WD_IDLE)) {
                exp = WD_ARMED;
                sched_yield();
            }
            lua_sethook(L, budget_hook, LUA_MASKCOUNT, FL_HOOK_EVERY);
            m->armed = 2; /* 2: count-hook mode although registered */
            return;
        }
    } else {
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, FL_HOOK_EVERY);
    }
    m->armed = 1;
}

void fl_sandbox_disarm(lua_State *L, struct fl_lmem *m)
{
    struct fl_wd_slot *w = m->slot;
    if (w && m->armed == 1) {
        int exp = WD_ARMED;
        while (!atomic_compare_exchange_weak(&w->state, &exp, WD_IDLE)) {
            exp = WD_ARMED; /* FIRING: the watchdog is setting the hook */
            sched_yield();
        }
    }
    m->armed = 0;
    m->deadline_ns = 0;
    m->stack_base = 0;
    lua_sethook(L, NULL, 0, 0);
}

/* ======================================================================== */
/* Lua patterns with a step meter (Lua 5.1 / LuaJIT semantics)              */
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
    meter(ms->L, ms->m, 1 + (uint32_t)((ec - p) >> 4));
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
        meter(ms->L, ms->m, (uint32_t)((p - start) >> 4));
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
        meter(ms->L, ms->m, 1);
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
        meter(ms->L, ms->m, 1);
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
    meter(ms->L, ms->m, 1 + (uint32_t)(len >> 6));
    if ((size_t)(ms->end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *do_match(mstate *ms, const char *s, const char *p)
{
    if (++ms->depth > MS_MAXDEPTH) luaL_error(ms->L, "pattern too complex");
init:
    meter(ms->L, ms->m, 1);
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
    ms->m = lmem_of(L);
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

static int l_find(lua_State *L) { return find_aux(L, 1); }
static int l_match(lua_State *L) { return find_aux(L, 0); }

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

static int l_gmatch(lua_State *L)
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
    meter(ms->L, ms->m, 1 + (uint32_t)(l >> 4));
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
        check_cstack(L, ms->m);
        lua_pushvalue(L, 3);
        int n = push_captures(ms, s, e);
        lua_call(L, n, 1);
        break;
    }
    default: /* table */
        check_cstack(L, ms->m);
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

static int l_gsub(lua_State *L)
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

/* ======================================================================== */
/* Other guarded library functions                                          */
/* ======================================================================== */

/* Call upvalue 1 with this function's arguments. */
static int forward(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* A C function the policy can reach that calls back into Lua: check the
 * deadline and the C stack on entry, then forward. */
static int guarded(lua_State *L)
{
    struct fl_lmem *m = lmem_of(L);
    check_deadline(L, m);
    check_cstack(L, m);
    return forward(L);
}

/* coroutine.wrap, built on the guarded resume. */
static int co_wrap_aux(lua_State *L)
{
    struct fl_lmem *m = lmem_of(L);
    check_cstack(L, m);
    int n = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(2)); /* resume */
    lua_pushvalue(L, lua_upvalueindex(1)); /* the coroutine */
    for (int i = 1; i <= n; i++) lua_pushvalue(L, i);
    lua_call(L, n + 1, LUA_MULTRET);
    if (!lua_toboolean(L, n + 1)) {
        lua_settop(L, n + 2);
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return lua_gettop(L) - n - 1;
}

static int co_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, lua_upvalueindex(1)); /* coroutine.create */
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_pushvalue(L, lua_upvalueindex(2)); /* guarded resume */
    lua_pushcclosure(L, co_wrap_aux, 2);
    return 1;
}

/* table.sort: every comparison goes through this metered comparator. */
static int sort_cmp(lua_State *L)
{
    struct fl_lmem *m = lmem_of(L);
    meter(L, m, 4);
    check_cstack(L, m);
    if (lua_isnil(L, lua_upvalueindex(1))) {
        lua_pushboolean(L, lua_lessthan(L, 1, 2));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

static int t_sort(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushcclosure(L, sort_cmp, 1); /* the user's comparator or nil */
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 0);
    return 0;
}

/* table.insert: LuaJIT's loops in C from #t+1 down to any int32 position. */
static int t_insert(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    int nargs = lua_gettop(L);
    if (nargs == 3) {
        lua_Number n = (lua_Number)lua_objlen(L, 1), pos = luaL_checknumber(L, 2);
        if (!(pos >= 1 && pos <= n + 1 && pos == floor(pos))) luaL_argerror(L, 2, "position out of bounds");
    } else if (nargs != 2) {
        luaL_error(L, "wrong number of arguments to 'insert'");
    }
    return forward(L);
}

/* os.date: a bounded format with the C99 conversions only. */
static int os_date(lua_State *L)
{
    size_t len = 0;
    const char *f = luaL_optlstring(L, 1, "%c", &len);
    if (len > 256) luaL_argerror(L, 1, "format longer than 256 bytes");
    for (size_t i = 0; i < len; i++)
        if (f[i] == '%') {
            char c = i + 1 < len ? f[++i] : '\0';
            if (!c || !strchr("aAbBcCdDeFgGhHIjmMnprRStTuUVwWxXyYzZ%", c))
                luaL_argerror(L, 1, "unsupported conversion in format");
        } else if (f[i] == '\0') {
            luaL_argerror(L, 1, "format contains a NUL byte");
        }
    if (!lua_isnoneornil(L, 2)) {
        lua_Number t = luaL_checknumber(L, 2);
        if (!(t >= -1e11 && t <= 1e11)) luaL_argerror(L, 2, "time out of range");
    }
    return forward(L);
}

/* ======================================================================== */
/* The environment                                                          */
/* ======================================================================== */

static int ro_newindex(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "attempt to modify read-only table (key '%s')", k);
}

/* Globals: a new name is stored in _G itself; a built-in name is refused. */
static int g_newindex(lua_State *L)
{
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (!lua_isnil(L, -1)) {
        const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
        return luaL_error(L, "'%s' is a built-in and cannot be assigned", k);
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    return 0;
}

/* A read-only view of the table at idx. */
static void push_proxy(lua_State *L, int idx)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* Copy the named fields of the table at src into the table at dst. */
static void copy_fields(lua_State *L, int src, int dst, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        lua_getfield(L, src, names[i]);
        lua_setfield(L, dst, names[i]);
    }
}

/* Replace field `name` of the table at t by closure f(old value). */
static void wrap_field(lua_State *L, int t, const char *name, lua_CFunction f)
{
    lua_getfield(L, t, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, t, name);
}

static const char *const k_base[] = {"assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                                     "tonumber", "tostring", "type", "unpack", "xpcall", "setmetatable",
                                     "getmetatable", "rawequal", "_VERSION", NULL};
static const char *const k_string[] = {"byte", "char", "format", "len", "lower", "rep", "reverse",
                                       "sub", "upper", NULL};
static const char *const k_table[] = {"concat", "insert", "maxn", "remove", "sort", NULL};
static const char *const k_os[] = {"time", "clock", "date", "difftime", NULL};
static const char *const k_math[] = {"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg",
                                     "exp", "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10",
                                     "max", "min", "modf", "pi", "pow", "rad", "random", "randomseed",
                                     "sin", "sinh", "sqrt", "tan", "tanh", NULL};
static const char *const k_bit[] = {"tobit", "tohex", "bnot", "band", "bor", "bxor", "lshift", "rshift",
                                    "arshift", "rol", "ror", "bswap", NULL};
static const char *const k_co[] = {"create", "resume", "running", "status", "yield", NULL};

/* The prelude defines the declaration functions of the policy language.  It
 * runs with the full libraries, so it may keep private references (debug's
 * getinfo for source positions, getmetatable for the final check); it
 * returns the declarations table, the functions, and the check run after
 * the last file. */
static const char k_prelude[] =
    "local getinfo, rawgetmt, error, type, next = debug.getinfo, debug.getmetatable, error, type, next\n"
    "local D = { categories = {}, rules = {}, locales = {}, examples = {}, resil = {}, n = 0 }\n"
    "local api = {}\n"
    "local function pos(level)\n"
    "  local i = getinfo(level + 1, 'Sl')\n"
    "  if not i then return '?', 0 end\n"
    "  local s = i.source or '?'\n"
    "  if s:sub(1, 1) == '@' then s = s:sub(2) end\n"
    "  return s, i.currentline or 0\n"
    "end\n"
    "local function named(kind, list)\n"
    "  return function(name)\n"
    "    local src, line = pos(2)\n"
    "    if type(name) ~= 'string' or name == '' then\n"
    "      error(kind .. ': expected a name, as in ' .. kind .. ' \"name\" { ... }', 2)\n"
    "    end\n"
    "    return function(t)\n"
    "      if type(t) ~= 'table' then error(kind .. ' \"' .. name .. '\": expected a table', 2) end\n"
    "      D.n = D.n + 1\n"
    "      list[#list + 1] = { name = name, t = t, src = src, line = line, order = D.n, kind = kind }\n"
    "    end\n"
    "  end\n"
    "end\n"
    "api.rule = named('rule', D.rules)\n"
    "api.category = named('category', D.categories)\n"
    "api.messages = named('messages', D.locales)\n"
    "api.example = named('example', D.examples)\n"
    "api.breaker = named('breaker', D.resil)\n"
    "api.limiter = named('limiter', D.resil)\n"
    "api.bulkhead = named('bulkhead', D.resil)\n"
    "api.retry_budget = named('retry_budget', D.resil)\n"
    "function api.policy(t)\n"
    "  local src, line = pos(2)\n"
    "  if type(t) ~= 'table' then error('policy: expected a table', 2) end\n"
    "  if D.policy then error('policy: declared twice (first at ' .. D.policy.src .. ':' .. D.policy.line .. ')', 2) end\n"
    "  D.policy = { t = t, src = src, line = line }\n"
    "end\n"
    "function api.re(p)\n"
    "  if type(p) ~= 'string' then error('re: expected a pattern string', 2) end\n"
    "  return { __fl = 're', pattern = p }\n"
    "end\n"
    "function api.range(lo, hi)\n"
    "  if (lo ~= nil and type(lo) ~= 'number') or (hi ~= nil and type(hi) ~= 'number') then\n"
    "    error('range: bounds must be numbers or nil', 2)\n"
    "  end\n"
    "  return { __fl = 'range', lo = lo, hi = hi }\n"
    "end\n"
    "api.present = { __fl = 'present' }\n"
    "api.absent = { __fl = 'absent' }\n"
    "function api.retry(t)\n"
    "  if t ~= nil and type(t) ~= 'table' then error('retry: expected a table', 2) end\n"
    "  return { __fl = 'retry', t = t or {} }\n"
    "end\n"
    "function api.fallback(v) return { __fl = 'fallback', value = v } end\n"
    "function api.ignore() return { __fl = 'ignore' } end\n"
    "function api.fail() return { __fl = 'fail' } end\n"
    /* The engine reads declarations from C, outside any budget: they must be
     * plain data -- no metatables (an __index function would run unbudgeted),
     * no cycles, and a bounded size when shared tables are expanded. */
    "local function check(limit)\n"
    "  local size = {}\n"
    "  local function walk(v, depth)\n"
    "    if type(v) ~= 'table' then return 1 end\n"
    "    local s = size[v]\n"
    "    if s == false then error('declarations contain a cycle', 0) end\n"
    "    if s then return s end\n"
    "    if rawgetmt(v) ~= nil then\n"
    "      error('a table in a declaration has a metatable: declarations must be plain data', 0)\n"
    "    end\n"
    "    if depth > 64 then error('declarations are nested deeper than 64 tables', 0) end\n"
    "    size[v] = false\n"
    "    local n = 1\n"
    "    for k, x in next, v do\n"
    "      n = n + walk(k, depth + 1) + walk(x, depth + 1)\n"
    "      if n > limit then error('declarations are too large (over ' .. limit .. ' values once shared tables are expanded)', 0) end\n"
    "    end\n"
    "    size[v] = n\n"
    "    return n\n"
    "  end\n"
    "  walk(D, 0)\n"
    "end\n"
    "return D, api, check\n";

static void open_lib(lua_State *L, const char *name, lua_CFunction f)
{
    lua_pushcfunction(L, f);
    lua_pushstring(L, name);
    lua_call(L, 1, 0);
}

struct build_args {
    uint64_t seed;
    const char *err;
};

/* Runs protected (lua_cpcall): builds the environment. */
static int build_env(lua_State *L)
{
    struct build_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    open_lib(L, "", luaopen_base); /* also opens coroutine */
    open_lib(L, LUA_STRLIBNAME, luaopen_string);
    open_lib(L, LUA_TABLIBNAME, luaopen_table);
    open_lib(L, LUA_MATHLIBNAME, luaopen_math);
    open_lib(L, LUA_OSLIBNAME, luaopen_os);
    open_lib(L, LUA_BITLIBNAME, luaopen_bit);
    open_lib(L, LUA_DBLIBNAME, luaopen_debug);
    if (luaL_loadbuffer(L, k_prelude, sizeof k_prelude - 1, "=prelude") != 0) {
        a->err = "prelude does not compile";
        return lua_error(L);
    }
    lua_call(L, 0, 3);                               /* 1 D, 2 api, 3 check */
    lua_pushvalue(L, 3);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.check");
    lua_pushvalue(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.decl");
    lua_settop(L, 2);
    int G = 3, B = 4, api = 2;
    lua_pushvalue(L, LUA_GLOBALSINDEX);              /* 3 G */
    lua_newtable(L);                                 /* 4 B: the built-ins */
    copy_fields(L, G, B, k_base);
    lua_pushnil(L);                                  /* the declaration functions */
    while (lua_next(L, api)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, B);
    }
    /* string: the real table stays the string metatable's __index, with the
     * metered pattern functions; policies see a read-only proxy. */
    lua_getfield(L, G, "string");                    /* 5 */
    lua_newtable(L);                                 /* 6 the allowlisted string table */
    copy_fields(L, 5, 6, k_string);
    lua_pushcfunction(L, l_find);
    lua_setfield(L, 6, "find");
    lua_pushcfunction(L, l_match);
    lua_setfield(L, 6, "match");
    lua_pushcfunction(L, l_gmatch);
    lua_setfield(L, 6, "gmatch");
    lua_pushcfunction(L, l_gsub);
    lua_setfield(L, 6, "gsub");
    lua_pushliteral(L, "");
    if (!lua_getmetatable(L, -1)) {
        a->err = "no string metatable";
        return lua_error(L);
    }
    lua_pushvalue(L, 6);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable("") gives false */
    lua_pop(L, 2);
    push_proxy(L, 6);
    lua_setfield(L, B, "string");
    lua_settop(L, 4);
    /* table */
    lua_getfield(L, G, "table");                     /* 5 */
    lua_newtable(L);                                 /* 6 */
    copy_fields(L, 5, 6, k_table);
    wrap_field(L, 6, "sort", t_sort);
    wrap_field(L, 6, "insert", t_insert);
    push_proxy(L, 6);
    lua_setfield(L, B, "table");
    lua_settop(L, 4);
    /* os: clocks only */
    lua_getfield(L, G, "os");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_os);
    wrap_field(L, 6, "date", os_date);
    push_proxy(L, 6);
    lua_setfield(L, B, "os");
    lua_settop(L, 4);
    /* math, bit */
    lua_getfield(L, G, "math");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_math);
    lua_getfield(L, 6, "randomseed"); /* a per-state stream, seeded by the engine */
    lua_pushnumber(L, (double)(a->seed % 2147483647u));
    lua_call(L, 1, 0);
    push_proxy(L, 6);
    lua_setfield(L, B, "math");
    lua_settop(L, 4);
    lua_getfield(L, G, "bit");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_bit);
    push_proxy(L, 6);
    lua_setfield(L, B, "bit");
    lua_settop(L, 4);
    /* coroutine: resume and wrap are guarded (C stack, deadline) */
    lua_getfield(L, G, "coroutine");
    lua_newtable(L);
    copy_fields(L, 5, 6, k_co);
    wrap_field(L, 6, "resume", guarded);
    lua_getfield(L, 6, "create");
    lua_getfield(L, 6, "resume");
    lua_pushcclosure(L, co_wrap, 2);
    lua_setfield(L, 6, "wrap");
    push_proxy(L, 6);
    lua_setfield(L, B, "coroutine");
    lua_settop(L, 4);
    /* _G names the globals table itself */
    lua_pushvalue(L, G);
    lua_setfield(L, B, "_G");
    /* Empty _G, then route reads of built-ins to B and refuse writes. */
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, G)) break;
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, G);
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, B);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, B);
    lua_pushcclosure(L, g_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, G);
    lua_pushvalue(L, B);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.builtins");
    /* Drop what only the engine needed: loaded modules stay reachable from
     * the registry only. */
    lua_settop(L, 0);
    return 0;
}

lua_State *fl_sandbox_new(struct fl_lmem *mem, uint64_t seed, fl_diag_t *diag)
{
    lua_State *L = lua_newstate(capped_alloc, mem);
    if (!L) {
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot create a Lua state");
        return NULL;
    }
    mem->L = L;
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    struct build_args a = {seed, NULL};
    if (lua_cpcall(L, build_env, &a) != 0) {
        fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot build the policy environment: %s",
                    a.err ? a.err : lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error");
        lua_close(L);
        mem->L = NULL;
        return NULL;
    }
    return L;
}

/* A read-only copy of the table at idx: functions become guarded closures
 * (deadline and C-stack checks on entry: a binding may call back into Lua
 * through an __index on its argument), sub-tables read-only copies too. */
static void push_frozen(lua_State *L, int idx, int depth)
{
    idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
    if (depth > 4) luaL_error(L, "module nested too deeply");
    lua_newtable(L);
    int copy = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            push_frozen(L, -1, depth + 1);
            lua_remove(L, -2);
        } else if (lua_type(L, -1) == LUA_TFUNCTION) {
            lua_pushcclosure(L, guarded, 1);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, copy);
    }
    push_proxy(L, copy);
    lua_remove(L, copy);
}

static int install(lua_State *L)
{
    const char *name = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.install");
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.install");
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.builtins");
    push_frozen(L, 1, 0);
    lua_setfield(L, -2, name);
    return 0;
}

int fl_sandbox_install(lua_State *L, const char *name)
{
    if (!L || !name || lua_type(L, -1) != LUA_TTABLE) return FL_EINVAL;
    /* lua_cpcall runs with an empty stack: hand the table over through the
     * registry. */
    lua_setfield(L, LUA_REGISTRYINDEX, "fl.install");
    int rc = lua_cpcall(L, install, (void *)name);
    if (rc != 0) lua_pop(L, 1); /* the error */
    return rc == 0 ? FL_OK : FL_ENOMEM;
}

/* ======================================================================== */
/* Running the policy files                                                 */
/* ======================================================================== */

/* Turn a Lua error message "file:line: text" into a diag. */
static int lua_error_diag(fl_diag_t *diag, int status, const char *msg, const fl_version *v)
{
    if (!msg) msg = "(error object is not a string)";
    const char *c1 = strchr(msg, ':');
    if (c1) {
        char *end;
        long line = strtol(c1 + 1, &end, 10);
        if (end != c1 + 1 && *end == ':' && line > 0) {
            char file[256];
            size_t fl = (size_t)(c1 - msg) < sizeof file - 1 ? (size_t)(c1 - msg) : sizeof file - 1;
            memcpy(file, msg, fl);
            file[fl] = '\0';
            int col = 1;
            for (uint32_t i = 0; i < v->nsrcs; i++)
                if (strcmp(v->src_names[i], file) == 0) {
                    const char *near = strstr(end, "near '");
                    char tok[64] = "";
                    if (near) sscanf(near + 6, "%63[^']", tok);
                    col = fl_find_column(v->src_texts[i], v->src_lens[i], (int)line, tok);
                }
            const char *text = end + 1;
            while (*text == ' ') text++;
            return fl_diag_set(diag, status, file, (int)line, col, "%.600s", text);
        }
    }
    return fl_diag_set(diag, status, NULL, 0, 0, "%.700s", msg);
}

static int run_status(const struct fl_lmem *mem, int prc, int otherwise)
{
    if (mem->cpu_hit) return FL_EBUDGET_CPU;
    if (mem->mem_hit || prc == LUA_ERRMEM) return FL_EBUDGET_MEM;
    return otherwise;
}

int fl_sandbox_run_sources(lua_State *L, const fl_version *v, struct fl_lmem *mem,
                           uint32_t budget_us, fl_diag_t *diag)
{
    for (uint32_t i = 0; i < v->nsrcs; i++) {
        if (v->src_lens[i] > 0 && v->src_texts[i][0] == '\033')
            return fl_diag_set(diag, FL_EPOLICY_SYNTAX, v->src_names[i], 1, 1,
                               "binary (precompiled) chunks are not accepted");
        char chunk[300];
        snprintf(chunk, sizeof chunk, "@%s", v->src_names[i]);
        fl_sandbox_arm(L, mem, budget_us);
        int lrc = luaL_loadbuffer(L, v->src_texts[i], v->src_lens[i], chunk);
        int rc = lrc == 0 ? lua_pcall(L, 0, 0, 0) : lrc;
        fl_sandbox_disarm(L, mem);
        if (rc != 0) {
            int st = run_status(mem, rc, lrc ? FL_EPOLICY_SYNTAX : FL_EPOLICY_RUNTIME);
            lua_error_diag(diag, st, lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL, v);
            if ((st == FL_EBUDGET_CPU || st == FL_EBUDGET_MEM) && !diag->file[0])
                fl_diag_set(diag, st, v->src_names[i], 0, 0, "%s", fl_strerror(st));
            lua_pop(L, 1);
            return st;
        }
    }
    /* Declarations must be plain data before C code reads them. */
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.check");
    lua_pushnumber(L, FL_DECL_MAX_NODES);
    fl_sandbox_arm(L, mem, budget_us);
    int rc = lua_pcall(L, 1, 0, 0);
    fl_sandbox_disarm(L, mem);
    if (rc != 0) {
        int st = run_status(mem, rc, FL_EPOLICY_SCHEMA);
        fl_diag_set(diag, st, v->nsrcs ? v->src_names[v->nsrcs - 1] : NULL, 0, 0, "%.700s",
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : fl_strerror(st));
        lua_pop(L, 1);
        return st;
    }
    lua_getfield(L, LUA_REGISTRYINDEX, "fl.decl");
    return FL_OK;
}

/* ======================================================================== */
/* Failure counters and the once-per-kind log                               */
/* ======================================================================== */

const char *fl_failure_kind_name(fl_failure_kind kind)
{
    static const char *const names[] = {"handler_error", "cpu_budget", "memory_budget", "bad_return",
                                        "match_limit"};
    return (unsigned)kind < FL_FAIL_KIND_COUNT_ ? names[kind] : "?";
}

void fl_sbx_fail(fl_engine_t *e, const char *version_id, fl_failure_kind kind, int status,
                 const char *detail)
{
    struct fl_sbx *s = e ? fl_engine_sbx(e) : NULL;
    if (!s || (unsigned)kind >= FL_FAIL_KIND_COUNT_) return;
    atomic_fetch_add_explicit(&s->fails[kind], 1, memory_order_relaxed);
    if (kind != FL_FAIL_MATCH_LIMIT) atomic_fetch_add_explicit(&s->resets, 1, memory_order_relaxed);
    if (!s->log) return;
    /* One line per kind and policy version: the version's content id (16 hex
     * digits) names it; +1 keeps 0 for "never logged". */
    uint64_t id = (version_id ? strtoull(version_id, NULL, 16) : 0) + 1;
    if (atomic_exchange(&s->logged[kind], id) != id)
        s->log(s->log_user, kind, status, version_id ? version_id : "", detail ? detail : "");
}

int fl_engine_stats(fl_engine_t *e, fl_engine_stats_t *out)
{
    if (!e || !out) return FL_EINVAL;
    struct fl_sbx *s = fl_engine_sbx(e);
    memset(out, 0, sizeof *out);
    if (!s) return FL_OK;
    for (int i = 0; i < FL_FAIL_KIND_COUNT_; i++)
        out->failures[i] = atomic_load_explicit(&s->fails[i], memory_order_relaxed);
    out->states_reset = atomic_load_explicit(&s->resets, memory_order_relaxed);
    return FL_OK;
}
