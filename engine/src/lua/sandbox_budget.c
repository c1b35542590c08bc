/*
 * sandbox_budget.c -- the budgets that bound sandboxed Lua (docs/sandbox.md):
 * the capped allocator, the in-thread budget and C-stack checks, the
 * per-engine watchdog thread that stops a state past its budget, and the
 * failure counters with their once-per-kind log.
 *
 * The CPU budget counts the calling thread's CPU time (its
 * CLOCK_THREAD_CPUTIME_ID clock), so time the thread spends descheduled or
 * blocked (another thread holds the core, a binding waits on fsync) is not
 * charged; a separate, larger wall-clock limit stops a call that sleeps.
 * Reading a thread CPU clock is a system call (~1 us here, no vDSO), so the
 * deciding thread never reads it in watchdog mode: the watchdog reads the
 * armed thread's clock (pthread_getcpuclockid) when it first sees the call
 * and then only once the wall time since that observation exceeds what is
 * left of the budget (a thread cannot spend CPU faster than wall time).
 * CPU spent before the watchdog's first observation (at most a tick) is not
 * counted: a late stop by up to a tick, never a spurious one.
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

/* This thread's CPU time in ns (0 if the clock cannot be read). */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of the thread whose clock is clk; 0 on failure. */
static int clock_ns(clockid_t clk, uint64_t *out)
{
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0) return 0;
    *out = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 1;
}

/* ======================================================================== */
/* Allocator, hook, in-thread checks                                        */
/* ======================================================================== */

void sbx__budget_hook(lua_State *L, lua_Debug *ar);

struct fl_lmem *sbx__lmem_of(lua_State *L)
{
    void *ud;
    lua_getallocf(L, &ud);
    return ud;
}

static int sbx__over_budget(struct fl_lmem *m);

/* Past the budget: from here on every instruction raises the error, so a
 * pcall in the policy cannot swallow it and carry on.  In watchdog mode the
 * watchdog owns the hook and has already set it. */
static void sbx__stop_everything(lua_State *L, struct fl_lmem *m)
{
    m->cpu_hit = 1;
    int watchdog_mode = m->slot && m->armed == 1;
    if (!watchdog_mode && L) lua_sethook(L, sbx__budget_hook, LUA_MASKCOUNT, 1);
}

/* May the state grow from osize to nsize bytes?  The cap, and the clock
 * every FL_ALLOC_CHECK_BYTES, while armed. */
static int may_grow(struct fl_lmem *m, size_t osize, size_t nsize)
{
    if (m->armed && nsize > osize) {
        if (m->cap && m->used - osize + nsize > m->cap) {
            m->mem_hit = 1;
            return 0;
        }
        m->since_check += nsize - osize;
        if (m->since_check > FL_ALLOC_CHECK_BYTES) {
            m->since_check = 0;
            if (sbx__over_budget(m)) {
                sbx__stop_everything(m->L, m);
                return 0; /* raises a memory error now; cpu_hit says why */
            }
        }
    }
    return 1;
}

void *sbx__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct fl_lmem *m = ud;
    if (nsize == 0) {
        free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (!may_grow(m, osize, nsize)) return NULL;
    void *p = realloc(ptr, nsize);
    if (p) m->used = m->used - osize + nsize;
    return p;
}

/* The pooled allocator (m->pooled): a block of at most POOL_MAX bytes lives
 * in a chunk, in size class (n + 15) / 16 - 1, and goes back to its class's
 * free list when freed (so churn reuses memory: the pool is bounded by the
 * peak use of each class); a larger one is malloc'd.  Lua passes a block's
 * size with every call, so the size alone says which kind a block is. */
enum { POOL_MAX = 256, POOL_CHUNK = 256 * 1024 };

static size_t pool_class(size_t n) { return (n + 15) / 16 - 1; }

/* A block of class pool_class(n).  A new chunk is refused while armed
 * when the chunks would pass the cap -- except for a shrink (growing == 0),
 * which Lua assumes cannot fail: so the pool's real memory stays within
 * the cap (plus one chunk), and the large blocks' within `used` <= cap. */
static void *pool_take(struct fl_lmem *m, size_t n, int growing)
{
    size_t k = pool_class(n), sz = (k + 1) * 16;
    void *p = m->pool_free[k];
    if (p) {
        memcpy(&m->pool_free[k], p, sizeof p); /* the next free block */
        return p;
    }
    if ((size_t)(m->pool_end - m->pool_at) < sz) {
        if (growing && m->armed && m->cap && m->pool_bytes + POOL_CHUNK > m->cap) {
            m->mem_hit = 1;
            return NULL;
        }
        char *c = malloc(POOL_CHUNK);
        if (!c) return NULL;
        m->pool_bytes += POOL_CHUNK;
        memcpy(c, &m->pool_chunks, sizeof(void *)); /* chunks linked through their first 16 bytes */
        m->pool_chunks = c;
        m->pool_at = c + 16;
        m->pool_end = c + POOL_CHUNK;
    }
    p = m->pool_at;
    m->pool_at += sz;
    return p;
}

static void pool_give(struct fl_lmem *m, void *p, size_t n)
{
    size_t k = pool_class(n);
    memcpy(p, &m->pool_free[k], sizeof p);
    m->pool_free[k] = p;
}

void *sbx__pooled_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct fl_lmem *m = ud;
    int small_old = ptr && osize <= POOL_MAX, small_new = nsize <= POOL_MAX;
    if (nsize == 0) {
        if (small_old) pool_give(m, ptr, osize);
        else free(ptr);
        m->used -= osize;
        return NULL;
    }
    if (!may_grow(m, osize, nsize)) return NULL;
    void *p;
    if (ptr && small_old && small_new && pool_class(osize) == pool_class(nsize)) {
        p = ptr; /* same class: the block already has the room */
    } else if (ptr && !small_old && !small_new) {
        p = realloc(ptr, nsize);
    } else {
        p = small_new ? pool_take(m, nsize, nsize > osize) : malloc(nsize);
        if (!p) return NULL; /* out of memory, as realloc can be: the size says a block's kind, so none is kept */
        if (ptr) {
            memcpy(p, ptr, osize < nsize ? osize : nsize);
            if (small_old) pool_give(m, ptr, osize);
            else free(ptr);
        }
    }
    if (p) m->used = m->used - osize + nsize;
    return p;
}

void fl_sandbox_pool_free(struct fl_lmem *m)
{
    void *c = m->pool_chunks;
    while (c) {
        void *next;
        memcpy(&next, c, sizeof next);
        free(c);
        c = next;
    }
    m->pool_chunks = NULL;
    m->pool_at = m->pool_end = NULL;
    m->pool_bytes = 0;
    memset(m->pool_free, 0, sizeof m->pool_free);
}

static void budget_error(lua_State *L, struct fl_lmem *m)
{
    sbx__stop_everything(L, m);
    luaL_error(L, m->wall_hit ? "wall-clock limit exceeded" : "CPU budget exhausted");
}

void sbx__budget_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    struct fl_lmem *m = sbx__lmem_of(L);
    if (sbx__over_budget(m)) budget_error(L, m);
}

/* For library functions: raise the budget error if the budget is spent. */
void sbx__check_deadline(lua_State *L, struct fl_lmem *m)
{
    if (sbx__over_budget(m)) budget_error(L, m);
}

/* For library functions that call back into Lua: bound the C stack. */
void sbx__check_cstack(lua_State *L, struct fl_lmem *m)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (m->stack_base && here < m->stack_base && m->stack_base - here > FL_CSTACK_MAX)
        luaL_error(L, "C stack overflow (callbacks nested too deeply)");
}

/* ======================================================================== */
/* Watchdog                                                                 */
/* ======================================================================== */

enum { WD_IDLE, WD_ARMED, WD_FIRING };

struct fl_wd_slot {
    atomic_int state;
    /* The armed call, written by the owner before it stores ARMED; seq is
     * bumped by every arm so the watchdog can tell calls apart. */
    _Atomic uint64_t seq, budget_ns, wall_start, wall_deadline;
    atomic_int clk;           /* the owner thread's CPU clock (a clockid_t)   */
    atomic_int stop;          /* set by the watchdog before the hook: 1 CPU, 2 wall */
    /* watchdog-private */
    uint64_t obs_seq;         /* the call last observed                       */
    uint64_t obs_cpu;         /* owner's CPU clock when first observed         */
    uint64_t next_read;       /* wall time before which the budget cannot be spent */
    int obs_ok;               /* obs_cpu could be read                        */
    uint64_t fired_at;
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
            uint64_t seq = atomic_load(&w->seq);
            uint64_t budget = atomic_load(&w->budget_ns), wall_dl = atomic_load(&w->wall_deadline);
            clockid_t clk = (clockid_t)atomic_load(&w->clk);
            if (seq != w->obs_seq) { /* a new call: take its CPU baseline */
                w->obs_seq = seq;
                w->obs_ok = clock_ns(clk, &w->obs_cpu);
                w->next_read = now + budget;
                w->fired_at = 0;
            }
            int why = 0;
            if (wall_dl && now > wall_dl) {
                why = 2;
            } else if (w->obs_ok && budget && now >= w->next_read) {
                uint64_t c, used;
                if (clock_ns(clk, &c)) {
                    used = c > w->obs_cpu ? c - w->obs_cpu : 0;
                    if (used > budget) why = 1;
                    else w->next_read = now + (budget - used);
                }
            }
            if (!why) continue;
            int exp = WD_ARMED;
            if (w->fired_at && now - w->fired_at < 20 * FL_WD_TICK_NS) continue;
            if (!atomic_compare_exchange_strong(&w->state, &exp, WD_FIRING)) continue;
            if (atomic_load(&w->seq) != seq) { /* re-armed meanwhile: not this call */
                atomic_store(&w->state, WD_ARMED);
                continue;
            }
            atomic_store(&w->stop, why);
            /* The owner cannot disarm (or close the state) while FIRING.
             * lua_sethook is the one LuaJIT call meant to be made
             * asynchronously (the standalone interpreter calls it from a
             * signal handler); it only stores the hook and switches the
             * dispatch table. */
            lua_sethook(w->L, sbx__budget_hook, LUA_MASKCOUNT, 1);
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
    atomic_init(&w->seq, 0);
    atomic_init(&w->budget_ns, 0);
    atomic_init(&w->wall_start, 0);
    atomic_init(&w->wall_deadline, 0);
    atomic_init(&w->clk, 0);
    atomic_init(&w->stop, 0);
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

/* Is the armed call past its budget?  Watchdog mode: the watchdog said so
 * (a flag; no clock read).  Count-hook mode: the wall-clock limit, then --
 * only once enough wall time passed for the budget to be spent at all --
 * this thread's CPU clock. */
static int sbx__over_budget(struct fl_lmem *m)
{
    if (m->cpu_hit) return 1;
    if (!m->budget_ns) return 0;
    if (m->armed == 1 && m->slot) {
        int why = atomic_load_explicit(&m->slot->stop, memory_order_relaxed);
        if (!why) return 0;
        m->wall_hit = why == 2;
        return 1;
    }
    uint64_t now = fl_mono_ns();
    if (now > m->wall_deadline_ns) {
        m->wall_hit = 1;
        return 1;
    }
    if (now < m->next_cpu_check_ns) return 0;
    uint64_t c = thread_cpu_ns();
    uint64_t used = c > m->cpu_start_ns ? c - m->cpu_start_ns : 0;
    if (used > m->budget_ns) return 1;
    m->next_cpu_check_ns = now + (m->budget_ns - used);
    return 0;
}

/* Count-hook mode needs the CPU clock at arm (a system call; watchdog mode
 * leaves this to the watchdog). */
static void count_mode_start(struct fl_lmem *m)
{
    m->cpu_start_ns = thread_cpu_ns();
    m->next_cpu_check_ns = m->wall_start_ns + m->budget_ns;
}

void fl_sandbox_arm(lua_State *L, struct fl_lmem *m, uint32_t budget_us, uint32_t wall_us)
{
    uint64_t now = fl_mono_ns();
    m->cpu_hit = m->mem_hit = m->wall_hit = 0;
    m->since_check = 0;
    m->steps = 0;
    m->L = L;
    m->stack_base = (uintptr_t)__builtin_frame_address(0);
    m->budget_ns = (uint64_t)(budget_us ? budget_us : 1) * 1000u;
    m->wall_start_ns = now;
    m->wall_deadline_ns = now + (uint64_t)(wall_us > budget_us ? wall_us : budget_us) * 1000u;
    /* Whatever happened to this state before, its code runs interpreted:
     * the compiler off, and any trace compiled while it was on flushed
     * (switching off alone keeps entering existing traces, where hooks
     * never fire).  Policies cannot reach the jit module; this is defence
     * in depth, and costs ~0.1 us. */
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_FLUSH);
    struct fl_wd_slot *w = m->slot;
    if (w) {
        clockid_t clk;
        if (pthread_getcpuclockid(pthread_self(), &clk) != 0) clk = CLOCK_THREAD_CPUTIME_ID;
        w->L = L;
        atomic_store_explicit(&w->budget_ns, m->budget_ns, memory_order_relaxed);
        atomic_store_explicit(&w->wall_start, now, memory_order_relaxed);
        atomic_store_explicit(&w->wall_deadline, m->wall_deadline_ns, memory_order_relaxed);
        atomic_store_explicit(&w->clk, (int)clk, memory_order_relaxed);
        atomic_store_explicit(&w->stop, 0, memory_order_relaxed);
        atomic_fetch_add(&w->seq, 1);
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
            count_mode_start(m);
            lua_sethook(L, sbx__budget_hook, LUA_MASKCOUNT, FL_HOOK_EVERY);
            m->armed = 2; /* 2: count-hook mode although registered */
            return;
        }
        m->armed = 1;
    } else {
        count_mode_start(m);
        lua_sethook(L, sbx__budget_hook, LUA_MASKCOUNT, FL_HOOK_EVERY);
        m->armed = 2;
    }
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
    m->budget_ns = 0;
    m->stack_base = 0;
    lua_sethook(L, NULL, 0, 0);
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

void fl_sbx_fail(struct fl_sbx *s, const char *version_id, fl_failure_kind kind, int status,
                 const char *detail)
{
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

void fl_sbx_stats(const struct fl_sbx *s, fl_engine_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s) return;
    for (int i = 0; i < FL_FAIL_KIND_COUNT_; i++)
        out->failures[i] = atomic_load_explicit(&s->fails[i], memory_order_relaxed);
    out->states_reset = atomic_load_explicit(&s->resets, memory_order_relaxed);
}

