/*
 * shadow.c -- shadow evaluation: a candidate policy decides a sample of the
 * live events too, on its own thread, and what it would have decided
 * differently is counted by (live rule -> candidate rule) with examples
 * (impact.c, the same counting as `faultline diff`).  The candidate decides
 * each event with the live decision's jitter seed, so an unchanged jittered
 * recovery compares equal.  The live path only copies the event's JSON and
 * a summary of the live decision into a preallocated ring; when the ring is
 * full the event is counted as skipped, never waited for.  The ring is a
 * bounded many-producer, one-consumer queue of cache-line cells: a live
 * thread claims the cells its record needs with one CAS on `tail`, fills
 * them and publishes the record with a release store of its first cell's
 * `seq`; the shadow thread reads records by that `seq` and never touches
 * the live threads' line, and the live threads read the shadow thread's
 * `head` only when the ring looks full.  An offer that is not sampled costs
 * a load and a store, no locked instruction.  (A shared mutex made the two
 * threads trade it on every event: 100 % shadowing cost the live path
 * 1.7-2x; a mutex per producer plus a `tail` the consumer polled still
 * cost ~20 %.)  Promotion loads the candidate's source into the live engine
 * (the usual checked, atomic reload).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "engine_internal.h"
#include "impact.h"

/* The queue is a ring of cells, one cache line each.  A record -- the live
 * decision's summary (struct rec), its three names one after another, the
 * event's JSON -- is a byte stream laid over as many consecutive cells as
 * it needs, CELL_DATA bytes in each (wrapping at the ring's end), so an
 * event of the usual size (tens to a few hundred bytes) costs the live
 * thread three or four lines, and the default ring (65536 cells, 4 MiB,
 * the memory of the fixed 1 KiB slots it replaced) holds about 17,000 such
 * events.  The size matters at 100 %: with the shadow thread as fast as the
 * live one, a ring that stays in the shadow core's L2 makes every cell the
 * producer writes a line to take back from that core (bench_shadow, idle:
 * 100 % cost x1.21 with 1 MiB, x1.17 with 4 MiB and above; 10 % the same).
 * A 256 KiB ring also skipped 1-2 % of a 10 % sample on a loaded machine,
 * when the shadow thread lost its core for a few ms.  The live
 * path never allocates: an event too large for the ring is skipped.  Only
 * a record's first cell gets a `seq`: position + 1,
 * stored with release after every byte of the record.  A cell's seq only
 * ever holds position + 1 for a position that maps to that cell, so the
 * shadow thread, which waits for head + 1 in the cell at head, cannot take
 * an older lap or the inside of an older record for a published record. */
#define CELL_DATA 56
struct rec { /* a record's first bytes */
    int64_t delay_ms;
    uint64_t seed;   /* the live decision's jitter seed */
    uint32_t len;    /* the event's JSON               */
    uint8_t nrule, ncat, nmid;
    int8_t action, retryable;
};

struct cell {
    _Alignas(64) _Atomic uint64_t seq; /* first cell of a record: position + 1 */
    union {
        unsigned char data[CELL_DATA];
        struct rec rec; /* in a record's first cell */
    } u;
};
_Static_assert(sizeof(struct cell) == 64, "a cell is one cache line");
_Static_assert(sizeof(struct rec) <= CELL_DATA, "a record's summary fits its first cell");

/* The names are cut where struct fl_impact_summary would cut them. */
#define NAME_MAX_LEN (sizeof ((struct fl_impact_summary *)0)->rule - 1)

struct fl_shadow {
    fl_engine_t *cand;           /* owned: the candidate version          */
    char *dir;                   /* where it was loaded from (promotion)  */
    double sample;
    struct cell *ring;           /* cap cells; position p is cell p % cap */
    uint32_t cap;
    uint32_t room;               /* cells a producer may be ahead of head */
    /* Each group on its own cache line: what live threads write, what the
     * shadow thread writes, and the rest, so that neither side takes a
     * cache miss on the other's every store. */
    _Alignas(64) _Atomic uint64_t offered; /* drives the deterministic sampling */
    _Atomic uint64_t next_sampled;         /* no offer before this one is taken */
    _Atomic uint64_t skipped;              /* sampled but not queued (full)     */
    _Atomic uint64_t accepted;             /* queued (counted at sample 1 only) */
    _Atomic uint64_t tail;                 /* cells claimed (live side)         */
    _Atomic uint64_t head_seen;            /* head as last read by a producer   */
    _Atomic int stop;                      /* written once, read by producers   */
    _Alignas(64) _Atomic uint64_t head;    /* cells taken (shadow thread)       */
    _Atomic uint64_t done;                 /* cells decided (shadow thread)     */
    _Alignas(64) pthread_mutex_t mu;       /* impact, failures, the conditions  */
    pthread_cond_t more, idle;
    struct fl_impact im;
    pthread_t th;
    int started;
    uint64_t failures;           /* candidate decisions that failed (policy error) */
};

/* A position in the ring's byte stream: cell i, byte off of its data. */
struct cursor {
    struct cell *ring;
    uint32_t cap, i, off;
};

static void put(struct cursor *w, const void *src, size_t n)
{
    const unsigned char *p = src;
    while (n) {
        size_t k = CELL_DATA - w->off < n ? CELL_DATA - w->off : n;
        memcpy(w->ring[w->i].u.data + w->off, p, k);
        p += k, n -= k, w->off += (uint32_t)k;
        if (w->off == CELL_DATA) w->off = 0, w->i = w->i + 1 == w->cap ? 0 : w->i + 1;
    }
}

static void get(struct cursor *r, void *dst, size_t n)
{
    unsigned char *p = dst;
    while (n) {
        size_t k = CELL_DATA - r->off < n ? CELL_DATA - r->off : n;
        memcpy(p, r->ring[r->i].u.data + r->off, k);
        p += k, n -= k, r->off += (uint32_t)k;
        if (r->off == CELL_DATA) r->off = 0, r->i = r->i + 1 == r->cap ? 0 : r->i + 1;
    }
}

/* Cells a record of `bytes` (struct rec included) takes. */
static uint64_t cells_for(uint64_t bytes)
{
    return (bytes + CELL_DATA - 1) / CELL_DATA;
}

/* ---- the shadow thread ------------------------------------------------------- */

static void shadow_one(struct fl_shadow *s, fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d,
                       const struct fl_impact_summary *live, uint64_t seed, const char *json, size_t len)
{
    fl_diag_t diag;
    if (fl_event_from_json(ev, json, len, &diag) != FL_OK) return;
    /* The live decision's jitter seed: the same recovery draws the same
     * delay, so only a changed recovery shows as a delay change. */
    fl_ctx_set_next_seed(ctx, seed);
    /* Only what the comparison reads: no id, no fingerprint. */
    int rc = fl_decide(ctx, ev, NULL, FL_DECIDE_NO_ID | FL_DECIDE_NO_FINGERPRINT, d);
    struct fl_impact_summary cand;
    fl__impact_summarize(d, &cand);
    pthread_mutex_lock(&s->mu);
    if (rc != FL_OK) s->failures++;
    fl__impact_add(&s->im, live, &cand, "shadow", json, len);
    pthread_mutex_unlock(&s->mu);
}

/* Copy the published record at position h out: the summary into *live,
 * the JSON into *buf (grown as needed, NUL-terminated), the seed into
 * *seed.  Returns the cells it takes (the shadow thread moves head past
 * them whatever happens next); *len is 0 when the JSON could not be kept
 * (no memory: the event is counted as skipped). */
static uint64_t take(struct fl_shadow *s, uint64_t h, struct fl_impact_summary *live, uint64_t *seed,
                     char **buf, size_t *cap, size_t *len)
{
    struct cursor r = {s->ring, s->cap, (uint32_t)(h % s->cap), sizeof(struct rec)};
    struct rec x = s->ring[r.i].u.rec;
    uint64_t cells = cells_for(sizeof x + (uint64_t)x.nrule + x.ncat + x.nmid + x.len);
    get(&r, live->rule, x.nrule);
    live->rule[x.nrule] = '\0';
    get(&r, live->category, x.ncat);
    live->category[x.ncat] = '\0';
    get(&r, live->message_id, x.nmid);
    live->message_id[x.nmid] = '\0';
    live->action = (fl_action)x.action;
    live->retryable = x.retryable;
    live->delay_ms = x.delay_ms;
    *seed = x.seed;
    *len = 0;
    if (*cap < (size_t)x.len + 1) {
        char *nb = realloc(*buf, (size_t)x.len + 1);
        if (!nb) { /* out of memory: counted as skipped, never silent */
            atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
            return cells;
        }
        *buf = nb;
        *cap = (size_t)x.len + 1;
    }
    get(&r, *buf, x.len);
    (*buf)[x.len] = '\0';
    *len = x.len;
    return cells;
}

static void *shadow_main(void *arg)
{
    struct fl_shadow *s = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    struct fl_impact_summary live;
    char *buf = NULL; /* owned: the event being decided, copied out of its record */
    size_t bufcap = 0;
    if (fl_ctx_new(s->cand, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK)
        goto cleanup;
    uint64_t h = 0; /* the next position to take (only this thread moves head) */
    for (;;) {
        struct cell *x = &s->ring[h % s->cap];
        if (atomic_load_explicit(&x->seq, memory_order_acquire) != h + 1) {
            if (atomic_load(&s->stop) && atomic_load(&s->tail) == h) break; /* stopping and drained */
            /* Empty: tell fl_shadow_drain, then sleep.  The producer
             * signals only when the queue looks half full (a wake-up per
             * event would cost the live path a futex call); otherwise the
             * queue is drained every millisecond. */
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 1000000;
            if (t.tv_nsec >= 1000000000L) t.tv_sec++, t.tv_nsec -= 1000000000L;
            pthread_mutex_lock(&s->mu);
            pthread_cond_broadcast(&s->idle);
            if (atomic_load_explicit(&x->seq, memory_order_acquire) != h + 1 && !atomic_load(&s->stop))
                pthread_cond_timedwait(&s->more, &s->mu, &t);
            pthread_mutex_unlock(&s->mu);
            continue;
        }
        /* Copy the record out: a producer may reuse its cells once head
         * moves past them. */
        size_t len;
        uint64_t seed;
        h += take(s, h, &live, &seed, &buf, &bufcap, &len);
        atomic_store_explicit(&s->head, h, memory_order_release);
        if (len > 0)
            shadow_one(s, ctx, ev, d, &live, seed, buf, len);
        atomic_store_explicit(&s->done, h, memory_order_release);
    }
cleanup:
    free(buf);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

/* ---- API ----------------------------------------------------------------------- */

int fl_shadow_new(const char *candidate, const fl_shadow_options_t *opts, fl_shadow_t **out, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!candidate || !out) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL candidate or out");
    *out = NULL;
    double sample = opts && opts->sample > 0 ? opts->sample : 1.0;
    uint32_t cap = opts && opts->queue ? opts->queue : 65536;
    if (sample > 1.0 || cap > (1u << 24))
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "sample must be in (0, 1] and queue <= 16777216");
    struct fl_shadow *s = aligned_alloc(64, (sizeof *s + 63) & ~(size_t)63); /* _Alignas members */
    if (s) memset(s, 0, sizeof *s);
    if (!s) return FL_ENOMEM;
    s->sample = sample;
    s->cap = cap;
    s->room = cap >= 64 ? cap - cap / 4 : cap;
    s->im.max_examples = opts && opts->examples ? opts->examples : 3;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    pthread_cond_init(&s->idle, NULL);
    fl_engine_options_t eo = {0};
    if (opts) eo.trusted_key = opts->trusted_key;
    s->ring = aligned_alloc(64, (size_t)cap * sizeof *s->ring); /* sizeof is 64 */
    if (s->ring) memset(s->ring, 0, (size_t)cap * sizeof *s->ring);
    int rc = s->ring && (s->dir = strdup(candidate)) ? FL_OK : FL_ENOMEM;
    if (rc == FL_OK) rc = fl_engine_new(&eo, &s->cand);
    if (rc == FL_OK) rc = fl_engine_load(s->cand, candidate, diag);
    if (rc == FL_OK) rc = pthread_create(&s->th, NULL, shadow_main, s) == 0 ? FL_OK : FL_ENOMEM;
    if (rc != FL_OK) {
        fl_shadow_free(s);
        return rc;
    }
    s->started = 1;
    *out = s;
    return FL_OK;
}

/* Deterministic sampling: accept offer i when floor(i * rate) advances.
 * The count is a relaxed load and store, not an atomic increment: a
 * locked instruction on every offer (nine in ten of them refused at 10 %)
 * also waits until every earlier store of the live thread -- the copy of
 * the last queued event among them, into lines the shadow thread had read
 * -- has reached the cache.  On one thread the count is exact.  Threads offering at the same moment can read
 * the same count: then both offers are sampled or neither and `offered`
 * counts them once -- each thread still samples about `rate` of its own
 * offers, and `offered` is a lower bound. */
static int sampled(struct fl_shadow *s)
{
    if (s->sample >= 1.0) return 1; /* offered = accepted + skipped */
    uint64_t i = atomic_load_explicit(&s->offered, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->offered, i, memory_order_relaxed);
    /* The floating-point test only from the next sampled offer on: the
     * others compare two integers. */
    if (i < atomic_load_explicit(&s->next_sampled, memory_order_relaxed)) return 0;
    if ((uint64_t)((double)i * s->sample) == (uint64_t)((double)(i - 1) * s->sample)) return 0;
    /* The first j > i where floor(j * rate) advances again: estimated,
     * then moved to the exact one with the same floating-point test. */
    uint64_t k = (uint64_t)((double)i * s->sample) + 1;
    double est = (double)k / s->sample;
    uint64_t j = est >= 0x1p63 ? UINT64_MAX : est <= (double)i ? i + 1 : (uint64_t)est;
    while (j != UINT64_MAX && j > i + 1 && (uint64_t)((double)(j - 1) * s->sample) >= k) j--;
    while (j != UINT64_MAX && (uint64_t)((double)j * s->sample) < k) j++;
    atomic_store_explicit(&s->next_sampled, j, memory_order_relaxed);
    return 1;
}

/* Claim `cells` cells at the tail; UINT64_MAX when the queue is full.
 * *h_out: the head the claim was checked against. */
static uint64_t claim(struct fl_shadow *s, uint64_t cells, uint64_t *h_out)
{
    uint64_t t = atomic_load_explicit(&s->tail, memory_order_relaxed), h;
    do {
        /* Position t reuses the cell of t - cap, free once head passed it.
         * head is read again only when the ring looks full, and then on
         * one skipped offer in 16: reading it on every event took a miss
         * on the line the shadow thread writes.  "Full" leaves a quarter
         * of a large ring free: when the shadow thread is the slower one
         * (at 100 % it decides as much as the live path), a producer
         * writing the cells the consumer has just read pulls each line back
         * from the other core; the gap costs no events in that steady
         * state (as many are skipped either way) and keeps the two apart. */
        h = atomic_load_explicit(&s->head_seen, memory_order_acquire);
        /* t came from an earlier load: the shadow thread may have passed
         * it since (head never passes tail), and t - h would wrap. */
        if (h > t) t = atomic_load_explicit(&s->tail, memory_order_relaxed);
        if (t + cells - h > s->room && (atomic_load_explicit(&s->skipped, memory_order_relaxed) & 15) == 0) {
            h = atomic_load_explicit(&s->head, memory_order_acquire);
            atomic_store_explicit(&s->head_seen, h, memory_order_release);
        }
        if (t + cells - h > s->room || atomic_load_explicit(&s->stop, memory_order_relaxed)) return UINT64_MAX;
    } while (!atomic_compare_exchange_weak_explicit(&s->tail, &t, t + cells, memory_order_relaxed,
                                                    memory_order_relaxed));
    *h_out = h;
    return t;
}

int fl_shadow_offer(fl_shadow_t *s, const char *event_json, size_t len, const fl_decision_t *live)
{
    if (!s || !event_json || !live) return FL_EINVAL;
    if (!sampled(s)) return FL_EREFUSED;
    const char *name[3] = {fl_decision_rule(live), fl_decision_category(live), fl_decision_message_id(live)};
    size_t n[3];
    for (int i = 0; i < 3; i++) n[i] = name[i] ? strnlen(name[i], NAME_MAX_LEN) : 0;
    uint64_t h, cells = len > (uint64_t)s->room * CELL_DATA ? UINT64_MAX
                                                              : cells_for(sizeof(struct rec) + n[0] + n[1] + n[2] + len);
    uint64_t t = cells <= s->room ? claim(s, cells, &h) : UINT64_MAX; /* larger than the queue: skipped */
    if (t == UINT64_MAX) {
        atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
        return FL_EREFUSED;
    }
    if (s->sample >= 1.0) /* the line is ours since the CAS: no miss */
        atomic_fetch_add_explicit(&s->accepted, 1, memory_order_relaxed);
    /* The cells are ours: the consumer's reads of them happened before its
     * release of head, which we (or the producer that stored head_seen)
     * acquired. */
    uint32_t at = (uint32_t)(t % s->cap);
    struct rec *x = &s->ring[at].u.rec;
    /* Field by field in place (a struct built on the stack and copied in
     * was read back before its stores had left the store buffer). */
    x->delay_ms = fl_decision_delay_ms(live);
    x->seed = fl_decision_jitter_seed(live);
    x->len = (uint32_t)len;
    x->nrule = (uint8_t)n[0];
    x->ncat = (uint8_t)n[1];
    x->nmid = (uint8_t)n[2];
    x->action = (int8_t)fl_decision_action(live);
    x->retryable = (int8_t)fl_decision_retryable(live);
    struct cursor w = {s->ring, s->cap, at, sizeof(struct rec)};
    for (int i = 0; i < 3; i++) put(&w, name[i], n[i]);
    put(&w, event_json, len);
    atomic_store_explicit(&s->ring[at].seq, t + 1, memory_order_release);
    uint64_t half = s->cap / 2;
    if (t - h < half && t + cells - h >= half) { /* a hint: the shadow thread also wakes every ms */
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->more);
        pthread_mutex_unlock(&s->mu);
    }
    return FL_OK;
}

int fl_shadow_drain(fl_shadow_t *s, int timeout_ms)
{
    if (!s) return FL_EINVAL;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    /* The shadow thread broadcasts `idle` under mu each time it finds the
     * queue empty, after storing `done`: checked under mu, no wake-up is
     * lost. */
    while (atomic_load(&s->done) < atomic_load(&s->tail) && rc == 0)
        rc = pthread_cond_timedwait(&s->idle, &s->mu, &until);
    int left = atomic_load(&s->done) < atomic_load(&s->tail);
    pthread_mutex_unlock(&s->mu);
    return left ? FL_ESTATE : FL_OK;
}

char *fl_shadow_report(fl_shadow_t *s)
{
    if (!s) return NULL;
    pthread_mutex_lock(&s->mu);
    fl__impact_sort(&s->im);
    json_t *o = fl__impact_json(&s->im);
    pthread_mutex_unlock(&s->mu);
    fl_version_info_t vi;
    if (fl_engine_current(s->cand, &vi) == FL_OK)
        json_object_set_new(o, "candidate", json_pack("{s:s, s:s, s:s}", "id", vi.id, "version",
                                                      vi.version ? vi.version : "", "source", s->dir));
    uint64_t offered = s->sample >= 1.0 ? atomic_load(&s->accepted) + atomic_load(&s->skipped) : atomic_load(&s->offered);
    json_object_set_new(o, "offered", json_integer((json_int_t)offered));
    json_object_set_new(o, "skipped", json_integer((json_int_t)atomic_load(&s->skipped)));
    json_object_set_new(o, "candidate_failures", json_integer((json_int_t)s->failures));
    char *txt = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return txt;
}

int fl_shadow_promote(fl_shadow_t *s, fl_engine_t *live, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!s || !live) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL shadow or engine");
    return fl_engine_load(live, s->dir, diag);
}

void fl_shadow_free(fl_shadow_t *s)
{
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        atomic_store(&s->stop, 1);
        pthread_cond_signal(&s->more);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    free(s->ring);
    fl__impact_free(&s->im);
    fl_engine_free(s->cand);
    free(s->dir);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
