/*
 * shadow.c -- shadow evaluation: a candidate policy decides a sample of the
 * live events too, on its own thread, and what it would have decided
 * differently is counted by (live rule -> candidate rule) with examples
 * (impact.c, the same counting as `faultline diff`).  The live path only
 * copies the event's JSON and a summary of the live decision into a
 * preallocated ring slot; when the ring is full the event is counted as
 * skipped, never waited for.  The ring is a bounded many-producer,
 * one-consumer queue (the decision log's design): a live thread claims a
 * position with one CAS on `tail`, fills the slot and publishes it with a
 * release store of the slot's `seq`; the shadow thread reads slots by
 * their `seq` and never touches the live threads' line, and the live
 * threads read the shadow thread's `head` only when the ring looks full.
 * (A shared mutex made the two threads trade it on every event: 100 %
 * shadowing cost the live path 1.7-2x; a mutex per producer plus a `tail`
 * the consumer polled still cost ~20 %.)  Promotion loads the candidate's
 * source into the live engine (the usual checked, atomic reload).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "engine_internal.h"
#include "impact.h"

/* A slot is written by one producer and only read by the shadow thread
 * (which copies what it needs out), in as few cache lines as the event
 * takes: the live decision's three names packed one after another, then
 * the event's JSON, inline up to SLOT_INLINE bytes in all (else in `big`,
 * which the slot keeps for its next laps).  A fixed-size summary struct
 * and a swapped buffer cost ten line transfers an event instead of ~five. */
#define SLOT_INLINE 960
struct slot {
    _Alignas(64) _Atomic uint64_t seq; /* position + 1 once published */
    int64_t delay_ms;
    uint64_t seed;        /* the live decision's jitter seed          */
    uint32_t len;         /* the event's JSON                        */
    uint8_t nrule, ncat, nmid;
    int8_t action, retryable;
    char *big;            /* owned; used when the data does not fit inline */
    size_t bigcap;
    char data[SLOT_INLINE]; /* rule, category, message id, JSON (no NULs) */
};

struct fl_shadow {
    fl_engine_t *cand;           /* owned: the candidate version          */
    char *dir;                   /* where it was loaded from (promotion)  */
    double sample;
    struct slot *ring;           /* cap slots; slot i holds position i % cap */
    uint32_t cap;
    uint32_t room;               /* positions a producer may be ahead of head */
    /* Each group on its own cache line: what live threads write, what the
     * shadow thread writes, and the rest, so that neither side takes a
     * cache miss on the other's every store. */
    _Alignas(64) _Atomic uint64_t offered; /* drives the deterministic sampling */
    _Atomic uint64_t skipped;              /* sampled but the ring was full     */
    _Atomic uint64_t tail;                 /* positions claimed (live side)     */
    _Atomic uint64_t head_seen;            /* head as last read by a producer   */
    _Alignas(64) _Atomic uint64_t head;    /* positions taken (shadow thread)   */
    _Atomic uint64_t done;                 /* positions decided (shadow thread) */
    _Alignas(64) pthread_mutex_t mu;       /* impact, failures, the conditions  */
    pthread_cond_t more, idle;
    _Atomic int stop;
    struct fl_impact im;
    pthread_t th;
    int started;
    uint64_t failures;           /* candidate decisions that failed (policy error) */
};

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

static const char *slot_data(const struct slot *x)
{
    size_t n = (size_t)x->nrule + x->ncat + x->nmid + x->len;
    return n <= SLOT_INLINE ? x->data : x->big;
}

static void unpack(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copy a published slot out (the summary into *live, the JSON into *buf,
 * grown as needed).  FL_ENOMEM leaves the slot to be skipped. */
static int take(const struct slot *x, struct fl_impact_summary *live, char **buf, size_t *cap)
{
    const char *p = slot_data(x);
    if (*cap < (size_t)x->len + 1) {
        char *nb = realloc(*buf, (size_t)x->len + 1);
        if (!nb) return FL_ENOMEM;
        *buf = nb;
        *cap = (size_t)x->len + 1;
    }
    unpack(live->rule, sizeof live->rule, p, x->nrule);
    p += x->nrule;
    unpack(live->category, sizeof live->category, p, x->ncat);
    p += x->ncat;
    unpack(live->message_id, sizeof live->message_id, p, x->nmid);
    p += x->nmid;
    memcpy(*buf, p, x->len);
    (*buf)[x->len] = '\0';
    live->action = (fl_action)x->action;
    live->retryable = x->retryable;
    live->delay_ms = x->delay_ms;
    return FL_OK;
}

/* Fill slot x with the event and the live decision's summary. */
static int pack(struct slot *x, const char *json, size_t len, const fl_decision_t *d)
{
    const char *name[3] = {fl_decision_rule(d), fl_decision_category(d), fl_decision_message_id(d)};
    size_t n[3], total = len;
    for (int i = 0; i < 3; i++) {
        n[i] = name[i] ? strnlen(name[i], sizeof ((struct fl_impact_summary *)0)->rule - 1) : 0;
        total += n[i];
    }
    char *p = x->data;
    if (total > SLOT_INLINE) {
        if (x->bigcap < total) {
            char *nb = malloc(total);
            if (!nb) return FL_ENOMEM;
            free(x->big);
            x->big = nb;
            x->bigcap = total;
        }
        p = x->big;
    }
    for (int i = 0; i < 3; i++) {
        memcpy(p, name[i] ? name[i] : "", n[i]);
        p += n[i];
    }
    memcpy(p, json, len);
    x->nrule = (uint8_t)n[0];
    x->ncat = (uint8_t)n[1];
    x->nmid = (uint8_t)n[2];
    x->len = (uint32_t)len;
    x->action = (int8_t)fl_decision_action(d);
    x->retryable = (int8_t)fl_decision_retryable(d);
    x->delay_ms = fl_decision_delay_ms(d);
    x->seed = fl_decision_jitter_seed(d);
    return FL_OK;
}

static void *shadow_main(void *arg)
{
    struct fl_shadow *s = arg;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    struct fl_impact_summary live;
    char *buf = NULL; /* owned: the event being decided, copied out of its slot */
    size_t bufcap = 0;
    if (fl_ctx_new(s->cand, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK)
        goto cleanup;
    uint64_t h = 0; /* the next position to take (only this thread moves head) */
    for (;;) {
        struct slot *x = &s->ring[h % s->cap];
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
        /* Copy the slot out: the producer may reuse it once head moves. */
        size_t len = x->len;
        uint64_t seed = x->seed;
        int ok = len > 0 && take(x, &live, &buf, &bufcap) == FL_OK;
        atomic_store_explicit(&s->head, ++h, memory_order_release);
        if (ok)
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
    uint32_t cap = opts && opts->queue ? opts->queue : 4096;
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
    s->ring = aligned_alloc(64, (size_t)cap * sizeof *s->ring); /* sizeof is a multiple of 64 */
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

/* Deterministic sampling: accept offer i when floor(i * rate) advances. */
static int sampled(struct fl_shadow *s)
{
    if (s->sample >= 1.0) return 1; /* offered = tail + skipped: no counter to bump */
    uint64_t i = atomic_fetch_add_explicit(&s->offered, 1, memory_order_relaxed) + 1;
    return (uint64_t)((double)i * s->sample) != (uint64_t)((double)(i - 1) * s->sample);
}

int fl_shadow_offer(fl_shadow_t *s, const char *event_json, size_t len, const fl_decision_t *live)
{
    if (!s || !event_json || !live) return FL_EINVAL;
    if (!sampled(s)) return FL_EREFUSED;
    uint64_t t = atomic_load_explicit(&s->tail, memory_order_relaxed), h;
    do {
        /* Position t reuses the slot of t - cap, free once head passed it.
         * head is read again only when the ring looks full, and then on
         * one skipped offer in 16: reading it on every event took a miss
         * on the line the shadow thread writes.  "Full" leaves a quarter
         * of a large ring free: when the shadow thread is the slower one
         * (at 100 % it decides as much as the live path), a producer
         * writing the slot the consumer has just read pulls each line back
         * from the other core; the gap costs no events in that steady
         * state (as many are skipped either way) and keeps the two apart. */
        h = atomic_load_explicit(&s->head_seen, memory_order_acquire);
        if (t - h >= s->room && (atomic_load_explicit(&s->skipped, memory_order_relaxed) & 15) == 0) {
            h = atomic_load_explicit(&s->head, memory_order_acquire);
            atomic_store_explicit(&s->head_seen, h, memory_order_release);
        }
        if (t - h >= s->room || atomic_load_explicit(&s->stop, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
            return FL_EREFUSED;
        }
    } while (!atomic_compare_exchange_weak_explicit(&s->tail, &t, t + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    /* The slot is ours: the consumer's reads of it happened before its
     * release of head, which we (or the producer that stored head_seen)
     * acquired. */
    struct slot *x = &s->ring[t % s->cap];
    int rc = pack(x, event_json, len, live);
    if (rc != FL_OK)
        x->len = 0, x->nrule = x->ncat = x->nmid = 0; /* published empty: the consumer skips it */
    atomic_store_explicit(&x->seq, t + 1, memory_order_release);
    if (t + 1 - h == s->cap / 2) { /* a hint: the shadow thread also wakes every ms */
        pthread_mutex_lock(&s->mu);
        pthread_cond_signal(&s->more);
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
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
    uint64_t offered = s->sample >= 1.0 ? atomic_load(&s->tail) + atomic_load(&s->skipped) : atomic_load(&s->offered);
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
    for (uint32_t i = 0; s->ring && i < s->cap; i++) free(s->ring[i].big);
    free(s->ring);
    fl__impact_free(&s->im);
    fl_engine_free(s->cand);
    free(s->dir);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
