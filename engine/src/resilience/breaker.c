/*
 * breaker.c -- the circuit breaker state machine for one key.
 *
 * The state word packs (generation << 8 | state).  Every transition CASes
 * the word to a TRANSITION marker of the next generation, prepares the new
 * state's data (open deadline, half-open counters, an empty window), then
 * publishes the new state: no thread ever sees a state before its data.
 *
 * Half-open permits and results are 64-bit words tagged with the low 32 bits
 * of the generation and changed by CAS, so a permit from an older
 * generation can neither take nor return a probe slot: at most
 * half_open_calls probes are admitted per half-open period.
 *
 * Closed state costs one relaxed load to admit and one window update to
 * record; the rates are evaluated only after a failure or a slow call.
 */
#include <math.h>
#include <sched.h>
#include <stdlib.h>

#include "resilience/resilience.h"

#define ST_TRANS 7u
#define WORD(g, st) (((uint64_t)(g) << 8) | (uint64_t)(st))
#define W_ST(w) ((unsigned)((w) & 0xffu))
#define W_GEN(w) ((w) >> 8)
#define TAG(g) ((uint64_t)((g) & 0xffffffffu) << 32)
/* Half-open result word: tag | done (10 bits) | fail << 10 | slow << 20. */
#define HO_DONE(v) ((unsigned)((v) & 0x3ffu))
#define HO_FAIL(v) ((unsigned)(((v) >> 10) & 0x3ffu))
#define HO_SLOW(v) ((unsigned)(((v) >> 20) & 0x3ffu))

struct fl_bstate {
    _Atomic uint64_t word;
    _Atomic int64_t open_until;
    _Atomic uint32_t opens;
    _Atomic uint64_t ho_admit; /* tag | admitted */
    _Atomic uint64_t ho_res;   /* tag | done | fail | slow */
    _Atomic(void *) win;       /* fl_cwin or fl_twin (tagged by kind) */
    /* shared fleet mode only (fleet.c) */
    _Atomic int64_t cum[3];    /* calls, failures, slow calls counted here */
    _Atomic int64_t others[3]; /* the rest of the fleet's, in the window   */
    _Atomic int64_t closed_at; /* when this key last closed here; 0 never  */
    /* Calls by kind since the key was made, striped like limiters and
     * bulkheads (one cache line per stripe, summed when metrics are read):
     * a single counter here made two threads on one hot key write the same
     * line on every call, which cost the shared-key figure of
     * bench_executor about a quarter. */
    struct {
        _Alignas(64) _Atomic uint64_t n[FL_BCALL_N_];
    } calls[FL_STRIPES];
};

static void count(fl_bstate *s, int kind)
{
    atomic_fetch_add_explicit(&s->calls[fl_stripe()].n[kind], 1, memory_order_relaxed);
}

void fl_breaker_refused(fl_bstate *s)
{
    if (s)
        count(s, FL_BCALL_NOT_PERMITTED);
}

static void add_calls(void *state, void *arg)
{
    fl_bstate *s = state;
    uint64_t *out = arg;
    for (int i = 0; i < FL_STRIPES; i++)
        for (int k = 0; k < FL_BCALL_N_; k++)
            out[k] += atomic_load_explicit(&s->calls[i].n[k], memory_order_relaxed);
}

void fl_breaker_calls(fl_robj *o, uint64_t out[FL_BCALL_N_])
{
    for (int k = 0; k < FL_BCALL_N_; k++)
        out[k] = 0;
    if (o->dflt)
        add_calls(o->dflt, out);
    fl_keymap_each(&o->keys, add_calls, out);
}

static const fl_bcfg *cfg_of(fl_robj *o)
{
    return atomic_load_explicit(&o->cfg, memory_order_acquire);
}

static void *window_new(const fl_bcfg *c)
{
    if (c->window == FL_WINDOW_TIME)
        return fl_twin_new(c->size, 1000000000);
    return fl_cwin_new(c->size);
}

void *fl_bstate_new(void *obj)
{
    fl_robj *o = obj;
    fl_bstate *s = fl_calloc_line(sizeof *s);
    if (!s)
        return NULL;
    atomic_init(&s->win, window_new(cfg_of(o)));
    if (!atomic_load_explicit(&s->win, memory_order_relaxed)) {
        free(s);
        return NULL;
    }
    atomic_init(&s->word, WORD(1, FL_BREAKER_CLOSED));
    return s;
}

void fl_bstate_free(void *st)
{
    fl_bstate *s = st;
    if (!s)
        return;
    free(atomic_load_explicit(&s->win, memory_order_relaxed));
    free(s);
}

void *fl_bstate_window(fl_bstate *s)
{
    return atomic_load_explicit(&s->win, memory_order_acquire);
}

static void win_read(void *w, int64_t now, int64_t out[3])
{
    if (((fl_cwin *)w)->kind == FL_WINDOW_TIME)
        fl_twin_sum(w, now, out);
    else
        fl_cwin_read(w, out);
}

static void win_reset(void *w)
{
    if (((fl_cwin *)w)->kind == FL_WINDOW_TIME)
        fl_twin_reset(w);
    else
        fl_cwin_reset(w);
}

static int64_t open_period(const fl_bcfg *c, uint32_t n)
{
    double d;
    if (c->open_max_ns <= c->open_ns)
        return c->open_ns;
    d = (double)c->open_ns * pow(c->open_factor, (double)n);
    return d >= (double)c->open_max_ns ? c->open_max_ns : (int64_t)d;
}

static void notify(fl_robj *o, const char *key, unsigned from, unsigned to)
{
    fl_resil_t *r = o->r;
    if (r->opt.on_breaker)
        r->opt.on_breaker(r->opt.listener_user, o->name, key ? key : "", (fl_breaker_state)from,
                          (fl_breaker_state)to);
}

/* Move from the state in `expect` to `to`.  1 if this thread did it. */
static int transition(fl_robj *o, fl_bstate *s, const char *key, uint64_t expect, unsigned to,
                      int64_t now)
{
    const fl_bcfg *c = cfg_of(o);
    uint64_t g = W_GEN(expect) + 1;
    if (!atomic_compare_exchange_strong_explicit(&s->word, &expect, WORD(g, ST_TRANS),
                                                 memory_order_acq_rel, memory_order_relaxed))
        return 0;
    if (to == FL_BREAKER_OPEN) {
        uint32_t n = atomic_fetch_add_explicit(&s->opens, 1, memory_order_relaxed);
        atomic_store_explicit(&s->open_until, now + open_period(c, n), memory_order_relaxed);
    } else if (to == FL_BREAKER_HALF_OPEN) {
        atomic_store_explicit(&s->ho_admit, TAG(g), memory_order_relaxed);
        atomic_store_explicit(&s->ho_res, TAG(g), memory_order_relaxed);
    } else if (to == FL_BREAKER_CLOSED) {
        win_reset(atomic_load_explicit(&s->win, memory_order_acquire));
        atomic_store_explicit(&s->opens, 0, memory_order_relaxed);
        if (c->mode == FL_FLEET_SHARED) {
            for (int k = 0; k < 3; k++)
                atomic_store_explicit(&s->others[k], 0, memory_order_relaxed);
            atomic_store_explicit(&s->closed_at, now > 0 ? now : 1, memory_order_relaxed);
        }
    }
    atomic_store_explicit(&s->word, WORD(g, to), memory_order_release);
    if (to == FL_BREAKER_OPEN && c->scope == FL_SCOPE_FLEET)
        atomic_store_explicit(&o->r->fleet_kick, 1, memory_order_relaxed);
    notify(o, key, W_ST(expect), to);
    return 1;
}

/* Take a half-open probe slot for generation g.  1 taken, 0 none left,
 * -1 the generation moved on. */
static int take_probe(fl_bstate *s, uint64_t g, uint32_t n)
{
    uint64_t v = atomic_load_explicit(&s->ho_admit, memory_order_acquire);
    for (;;) {
        if ((v & 0xffffffff00000000ull) != TAG(g))
            return -1;
        if ((v & 0xffffffffu) >= n)
            return 0;
        if (atomic_compare_exchange_weak_explicit(&s->ho_admit, &v, v + 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    }
}

void fl_breaker_unpermit(fl_bstate *s, uint64_t gen, int half)
{
    uint64_t v;
    if (!half)
        return;
    v = atomic_load_explicit(&s->ho_admit, memory_order_acquire);
    while ((v & 0xffffffff00000000ull) == TAG(gen) && (v & 0xffffffffu) > 0)
        if (atomic_compare_exchange_weak_explicit(&s->ho_admit, &v, v - 1, memory_order_acq_rel,
                                                  memory_order_acquire))
            return;
}

static int try_permit(fl_robj *o, fl_bstate *s, const char *key, int64_t now, uint64_t *gen,
                      int *half, int64_t *retry_after_ns)
{
    int forced = atomic_load_explicit(&o->forced, memory_order_relaxed);
    *gen = 0;
    *half = 0;
    *retry_after_ns = 0;
    if (forced)
        return forced == FL_BREAKER_DISABLED;
    for (;;) {
        uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
        int64_t until;
        int got;
        switch (W_ST(w)) {
        case FL_BREAKER_CLOSED:
            *gen = W_GEN(w);
            return 1;
        case FL_BREAKER_DISABLED:
            return 1;
        case FL_BREAKER_OPEN:
            until = atomic_load_explicit(&s->open_until, memory_order_relaxed);
            if (now < until) {
                *retry_after_ns = until - now;
                return 0;
            }
            transition(o, s, key, w, FL_BREAKER_HALF_OPEN, now);
            continue;
        case FL_BREAKER_HALF_OPEN:
            got = take_probe(s, W_GEN(w), cfg_of(o)->half_open_calls);
            if (got < 0)
                continue;
            *gen = W_GEN(w);
            *half = got;
            return got;
        default: /* forced open, or a transition in progress */
            return 0;
        }
    }
}

int fl_breaker_try(fl_robj *o, fl_bstate *s, const char *key, int64_t now, uint64_t *gen,
                   int *half, int64_t *retry_after_ns)
{
    int ok = try_permit(o, s, key, now, gen, half, retry_after_ns);
    if (!ok)
        count(s, FL_BCALL_NOT_PERMITTED);
    return ok;
}

int fl_breaker_classify(const fl_bcfg *c, const char *category)
{
    uint32_t bit;
    if (!category)
        return FL_OUT_SUCCESS;
    bit = FL_CAT_BIT(fl_cat_index(category));
    if (c->ignored & bit)
        return FL_OUT_IGNORED;
    return (c->failures & bit) ? FL_OUT_FAILURE : FL_OUT_SUCCESS;
}

/* 1 if counts n (calls, failures, slow calls) open a breaker. */
static int over(const fl_bcfg *c, const int64_t n[3])
{
    if (n[0] < (int64_t)c->min_calls || n[0] == 0)
        return 0;
    return (double)n[1] >= c->failure_rate * (double)n[0] ||
           (double)n[2] >= c->slow_rate * (double)n[0];
}

/* Shared mode: count into the cumulative totals fleet.c publishes; a
 * failure asks the synchroniser for an early round (at most one per
 * sync_ms, fleet.c).  The load first keeps the flag's line shared. */
static void shared_count(fl_robj *o, fl_bstate *s, int fail, int slow)
{
    atomic_fetch_add_explicit(&s->cum[0], 1, memory_order_relaxed);
    if (fail)
        atomic_fetch_add_explicit(&s->cum[1], 1, memory_order_relaxed);
    if (slow)
        atomic_fetch_add_explicit(&s->cum[2], 1, memory_order_relaxed);
    if ((fail || slow) && !atomic_load_explicit(&o->r->fleet_push, memory_order_relaxed))
        atomic_store_explicit(&o->r->fleet_push, 1, memory_order_relaxed);
}

/* The key's window, plus the rest of the fleet's counts in shared mode
 * while a synchroniser reaches Redis. */
static void verdict_counts(fl_robj *o, const fl_bcfg *c, fl_bstate *s, void *win, int64_t now,
                           int64_t n[3])
{
    win_read(win, now, n);
    if (c->mode != FL_FLEET_SHARED || !atomic_load_explicit(&o->r->fleet_up, memory_order_relaxed))
        return;
    for (int k = 0; k < 3; k++)
        n[k] += atomic_load_explicit(&s->others[k], memory_order_relaxed);
}

/* Closed: count, and open when a rate crosses its threshold. */
static int record_closed(fl_robj *o, fl_bstate *s, const char *key, uint64_t w, int fail,
                         int slow, int64_t now)
{
    const fl_bcfg *c = cfg_of(o);
    void *win = atomic_load_explicit(&s->win, memory_order_acquire);
    int64_t n[3];
    if (((fl_cwin *)win)->kind == FL_WINDOW_TIME)
        fl_twin_add(win, now, 1, fail, slow);
    else
        fl_cwin_add(win, (unsigned)fail | ((unsigned)slow << 1));
    if (c->mode == FL_FLEET_SHARED)
        shared_count(o, s, fail, slow);
    if (!fail && !slow)
        return 0;
    verdict_counts(o, c, s, win, now, n);
    if (!over(c, n))
        return 0;
    return transition(o, s, key, w, FL_BREAKER_OPEN, now);
}

/* Half-open: count the probe; the probe that settles it moves the state. */
static int record_half(fl_robj *o, fl_bstate *s, const char *key, uint64_t w, int fail, int slow,
                       int64_t now)
{
    const fl_bcfg *c = cfg_of(o);
    uint64_t v = atomic_load_explicit(&s->ho_res, memory_order_acquire), nv;
    double n = (double)c->half_open_calls;
    for (;;) {
        if ((v & 0xffffffff00000000ull) != TAG(W_GEN(w)) || HO_DONE(v) >= c->half_open_calls)
            return 0;
        nv = v + 1 + ((uint64_t)fail << 10) + ((uint64_t)slow << 20);
        if (atomic_compare_exchange_weak_explicit(&s->ho_res, &v, nv, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    if ((double)HO_FAIL(nv) >= c->failure_rate * n || (double)HO_SLOW(nv) >= c->slow_rate * n)
        return transition(o, s, key, w, FL_BREAKER_OPEN, now);
    if (HO_DONE(nv) == c->half_open_calls)
        return transition(o, s, key, w, FL_BREAKER_CLOSED, now);
    return 0;
}

int fl_breaker_record(fl_robj *o, fl_bstate *s, const char *key, uint64_t gen, int half,
                      int out, int64_t duration_ns, int64_t now, fl_breaker_state *from,
                      fl_breaker_state *to)
{
    uint64_t w;
    int slow, moved = 0;
    if (out == FL_OUT_IGNORED) {
        count(s, FL_BCALL_IGNORED);
        fl_breaker_unpermit(s, gen, half);
        return 0;
    }
    slow = duration_ns >= 0 && duration_ns >= cfg_of(o)->slow_ns;
    count(s, out == FL_OUT_FAILURE ? FL_BCALL_FAILED : FL_BCALL_SUCCESSFUL);
    if (slow)
        count(s, out == FL_OUT_FAILURE ? FL_BCALL_SLOW_FAILED : FL_BCALL_SLOW_SUCCESSFUL);
    if (atomic_load_explicit(&o->forced, memory_order_relaxed))
        return 0;
    w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (W_ST(w) == FL_BREAKER_CLOSED)
        moved = record_closed(o, s, key, w, out == FL_OUT_FAILURE, slow, now);
    else if (W_ST(w) == FL_BREAKER_HALF_OPEN && (!half || gen == W_GEN(w)))
        moved = record_half(o, s, key, w, out == FL_OUT_FAILURE, slow, now);
    if (moved && from && to) {
        *from = (fl_breaker_state)W_ST(w);
        *to = (fl_breaker_state)W_ST(atomic_load_explicit(&s->word, memory_order_acquire));
    }
    return moved;
}

fl_breaker_state fl_breaker_peek(fl_robj *o, fl_bstate *s, int64_t now, int64_t *retry_after_ns)
{
    int forced = atomic_load_explicit(&o->forced, memory_order_relaxed);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    int64_t until;
    if (retry_after_ns)
        *retry_after_ns = 0;
    if (forced)
        return (fl_breaker_state)forced;
    if (W_ST(w) == ST_TRANS)
        return FL_BREAKER_OPEN;
    if (W_ST(w) == FL_BREAKER_OPEN && retry_after_ns) {
        until = atomic_load_explicit(&s->open_until, memory_order_relaxed);
        *retry_after_ns = until > now ? until - now : 0;
    }
    return (fl_breaker_state)W_ST(w);
}

void fl_breaker_fill_stats(fl_robj *o, fl_bstate *s, int64_t now, fl_breaker_stats_t *st)
{
    int64_t n[3];
    win_read(atomic_load_explicit(&s->win, memory_order_acquire), now, n);
    st->state = fl_breaker_peek(o, s, now, &st->retry_after_ns);
    st->calls = (uint64_t)n[0];
    st->failures = (uint64_t)n[1];
    st->slow_calls = (uint64_t)n[2];
    st->opens = atomic_load_explicit(&s->opens, memory_order_relaxed);
}

void fl_breaker_force_key(fl_robj *o, fl_bstate *s, const char *key, fl_breaker_state st,
                          int64_t now)
{
    for (;;) {
        uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
        if (W_ST(w) == ST_TRANS) {
            sched_yield();
            continue;
        }
        if (st == FL_BREAKER_CLOSED) {
            if (transition(o, s, key, w, FL_BREAKER_CLOSED, now))
                return;
            continue;
        }
        if (atomic_compare_exchange_strong_explicit(&s->word, &w, WORD(W_GEN(w) + 1, st),
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            notify(o, key, W_ST(w), st);
            return;
        }
    }
}

unsigned fl_breaker_raw(fl_bstate *s, uint64_t *gen)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (gen)
        *gen = W_GEN(w);
    return W_ST(w);
}

int fl_breaker_trip(fl_robj *o, fl_bstate *s, const char *key, int64_t now, uint64_t *gen)
{
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    if (atomic_load_explicit(&o->forced, memory_order_relaxed) || W_ST(w) != FL_BREAKER_CLOSED)
        return 0;
    if (!transition(o, s, key, w, FL_BREAKER_OPEN, now))
        return 0;
    *gen = W_GEN(w) + 1;
    return 1;
}

void fl_breaker_shared_counts(fl_bstate *s, int64_t cum[3], int64_t *closed_at)
{
    for (int k = 0; k < 3; k++)
        cum[k] = atomic_load_explicit(&s->cum[k], memory_order_relaxed);
    *closed_at = atomic_load_explicit(&s->closed_at, memory_order_relaxed);
}

int fl_breaker_shared_others(fl_robj *o, fl_bstate *s, const char *key, const int64_t n[3],
                             int64_t now)
{
    const fl_bcfg *c = cfg_of(o);
    uint64_t w = atomic_load_explicit(&s->word, memory_order_acquire);
    int64_t sum[3];
    for (int k = 0; k < 3; k++)
        atomic_store_explicit(&s->others[k], n[k] > 0 ? n[k] : 0, memory_order_relaxed);
    if (W_ST(w) != FL_BREAKER_CLOSED || atomic_load_explicit(&o->forced, memory_order_relaxed))
        return 0;
    verdict_counts(o, c, s, atomic_load_explicit(&s->win, memory_order_acquire), now, sum);
    if (!over(c, sum))
        return 0;
    return transition(o, s, key, w, FL_BREAKER_OPEN, now);
}

/* Give one key's state a window matching the (new) config, keeping counts. */
static void resize_one(void *st, void *arg)
{
    fl_bstate *s = st;
    fl_robj *o = arg;
    const fl_bcfg *c = cfg_of(o);
    void *old = atomic_load_explicit(&s->win, memory_order_acquire), *nw;
    uint32_t kind = ((fl_cwin *)old)->kind;
    uint32_t size = kind == FL_WINDOW_TIME ? ((fl_twin *)old)->nb : ((fl_cwin *)old)->size;
    if (kind == (uint32_t)c->window && size == c->size)
        return;
    nw = window_new(c);
    if (!nw)
        return; /* keep the old window: counts stay, size change deferred */
    if (kind == FL_WINDOW_COUNT && c->window == FL_WINDOW_COUNT)
        fl_cwin_carry(nw, old);
    else if (kind == FL_WINDOW_TIME && c->window == FL_WINDOW_TIME)
        fl_twin_carry(nw, old, fl_resil_clock(o->r));
    atomic_store_explicit(&s->win, nw, memory_order_release);
    if (fl_resil_retire(o->r, free, old) != 0)
        return; /* leaked, never freed under a reader */
}

void fl_breaker_reconfig(fl_robj *o)
{
    resize_one(o->dflt, o);
    fl_keymap_each(&o->keys, resize_one, o);
}
