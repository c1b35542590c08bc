/*
 * declog.c -- the decision log: JSON Lines written by a background thread.
 *
 * The decide path (fl_decide -> sh->on_decision -> note()) copies one
 * bounded record, packed, into a lock-free bounded ring per sink (many
 * producers, one reader: one CAS to claim the record's chunks against the
 * position the reader publishes, one release store to publish it) and
 * returns -- except for the error registry, which counts in a table and
 * sends a record only when a fingerprint is new in the second (see "the
 * registry's aggregation table"); when the ring is full the record is counted as dropped (or,
 * in spool mode, the reader is a spool thread: see "the spool").  The
 * writer thread
 * drains the ring every few milliseconds, formats the lines (plain JSON or
 * CloudEvents 1.0, with the OpenTelemetry attribute names), applies the
 * redaction patterns, appends them with write(2) and fsyncs at most
 * fsync_ms after a write.  Rotation (size, age) renames the file to
 * PATH-<UTC time>; a compressor thread compresses it with zstd through the
 * storage bindings (fl_storage_compress: verified before the original
 * goes) and removes rotated files older than keep_days.
 *
 * Crash safety: lines are appended whole by one write(2) each batch; a
 * crash can leave a torn last line, which the next open cuts off (the file
 * is truncated after its last '\n').
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "core.h"
#include "engine_internal.h"

#define F_SHORT 96 /* ids, category, rule, fingerprint, domain, code, op */
#define F_MSG 256   /* decision message, event message               */
#define F_STACK 256

enum { R_ID, R_CAT, R_RULE, R_FP, R_VER, R_POLNAME, R_POLVER, R_MSG, R_ERR, R_EID, R_DOM, R_CODE, R_OP, R_EMSG,
       R_STACK, R_N };
static const uint16_t k_cap[R_N] = {F_SHORT, F_SHORT, F_SHORT, F_SHORT, F_SHORT, F_SHORT, F_SHORT, F_MSG,
                                    F_MSG, F_SHORT, F_SHORT, F_SHORT, F_SHORT, F_MSG, F_STACK};

typedef struct rec {
    int64_t time_ms;
    int64_t delay_ms;
    uint8_t action, severity, retryable;
    int16_t status;
    int attempt;
    uint16_t len[R_N];
    uint16_t off[R_N];
    char data[F_SHORT * 11 + F_MSG * 3 + F_STACK]; /* k_cap: 11 short fields, 3 messages, the stack */
} rec;
_Static_assert(R_N == 15, "rec.data is sized for k_cap's 15 fields: resize both together");

/* The ring is packed: a record takes as many 64-byte chunks as its cell
 * header, record header and field bytes need (a typical decision 5 to 8,
 * instead of a fixed ~2.2 KB slot), back to back; one at the end runs on
 * into a spare tail of RING_SPARE chunks, so a record is always contiguous.
 * A record is published in a separate array, seq[first chunk] = its
 * position + 1: a value a slot never held before (positions only grow), so
 * the reader never has to clear anything, and the record's chunks are
 * only ever read by it -- each decider's store to them then finds the
 * line at most shared, never modified, in the reader's cache. */
typedef struct cell {
    int32_t tag;  /* registry: the aggregation slot the record describes, -1 none */
    uint32_t nch; /* chunks the record takes */
    rec r;
} cell;
#define CHUNK 64u
#define RING_SPARE ((sizeof(cell) + CHUNK - 1) / CHUNK)
#define RING_LINE_CHUNKS 8u /* ring_lines x 512 bytes */

/* ---- the registry's aggregation table ---------------------------------------
 *
 * The registry counts on the decide side: one entry per fingerprint (keyed
 * by a 64-bit hash of it) in a bounded open-addressed table that entries
 * never leave while the registry is open; the counts themselves are per
 * context (regblk: count[slot], a plain load and store by the one thread
 * in the context -- no locked instruction, no line another decider
 * writes), summed by the writer's sweep; no clock is read for it.  A decider sends the full record
 * into the ring only when its entry is new in the current epoch (the writer bumps the epoch every
 * REG_EPOCH_MS): the writer learns the fingerprint's category, rule, op and
 * sample from it, and sweeps the counts into SQLite by the difference with
 * what it committed: first seen is the time of the entry's first record,
 * last seen (and the minute counted) the time of the sweep that found the
 * count grown (a sweep every 10 ms or so).  A fingerprint that finds no entry within REG_PROBE
 * slots (the table is full) takes the record path: one record per decision
 * (counted in `unaggregated`, dropped when the ring is full). */
#define REG_SLOTS 4096u
#define REG_PROBE 16u
#define REG_EPOCH_MS 1000

/* Written once when a fingerprint arrives and once an epoch after: four
 * to a cache line, read by every decider, rarely invalidated. */
typedef struct regent {
    _Atomic uint64_t key;   /* hash | 1; 0 free                        */
    _Atomic uint32_t sent;  /* the epoch of the last record sent        */
    uint32_t pad;
} regent;

/* One context's counts, owned by the registry (freed with it): a context
 * takes a free block or a new one on its first decision the registry sees
 * and marks it free when it closes (fl_ctx_close), its counts kept. */
typedef struct regblk {
    struct fl_sinkblk h;            /* h.free: no context holds it */
    struct regblk *next;            /* L->blks: pushed at the front, never removed */
    _Alignas(64) _Atomic uint64_t count[REG_SLOTS];
} regblk;

/* A job for the log's syncer or compressor (see "the syncer"). */
typedef struct bjob {
    struct bjob *next;
    int fd;          /* the log's descriptor (sync) or a rotated file's (-1: none) */
    int rotated;     /* 1: fsync, close, then compress name (if any) */
    uint64_t mark;   /* sync: `done` when it was asked */
    char name[];
} bjob;

/* A queue served by one thread, started with its first job. */
typedef struct bqueue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bjob *head, **tail;
    int stop, started;
    pthread_t thr;
} bqueue;

struct fl_declog {
    fl_log_options_t o;
    char *path;
    pcre2_code **pats;
    uint32_t npats;
    unsigned char *ring;           /* (mask + 1 + RING_SPARE) chunks */
    _Atomic size_t *seq;           /* (mask + 1): per chunk, a record's position + 1 once published */
    size_t mask;                   /* chunks - 1 */
    uint16_t cap[R_N];             /* each field's cap in this sink's records (0: not chosen) */
    regent *tab;                   /* the registry's aggregation table (REG_SLOTS) */
    _Atomic uint64_t *fcount;      /* counts of contexts that could not get a block */
    regblk *_Atomic blks;          /* the contexts' counts (blk_mu to add one) */
    pthread_mutex_t blk_mu;
    _Atomic uint32_t epoch;        /* bumped by the registry writer every REG_EPOCH_MS */
    /* Read by deciders on every decision: not on a line the writer updates
     * per batch (done, written, ... below), or each read would miss. */
    _Atomic int stop;
    /* What deciders write, on lines of their own: the writer's updates of
     * deq and its counters never invalidate them (no false sharing). */
    _Alignas(64) _Atomic size_t enq; /* chunks claimed */
    _Atomic size_t deq_seen;       /* deq_pub as deciders last read it (deq_fresh) */
    _Atomic uint64_t nrec;         /* records pushed (flush waits for them) */
    _Atomic uint64_t seq_sev[5];   /* sampling counters */
    _Atomic uint64_t dropped, sampled_out, unaggregated;
    _Alignas(64) _Atomic size_t deq_pub; /* deq as published to deciders (slots before it are free) */
    _Alignas(64) size_t deq;       /* writer only */
    _Atomic uint64_t done;         /* records the writer has finished (written or failed) */
    _Atomic uint64_t synced;       /* `done` as of the last fsync */
    _Atomic uint64_t written, rotations, torn, werr;
    _Atomic int flush_req;         /* fl_engine_log_flush waits: fsync now */
    _Atomic uint64_t flush_ticket, flush_served; /* registry: flushes asked / done */
    int fd;
    uint64_t size;
    int64_t ts_ms;                 /* the formatting thread's last line time, */
    char ts[32];                   /*   formatted                            */
    size_t ts_len;
    int64_t opened_ms;
    pthread_t thr;
    int thr_started;
    fl_bindings_t *bind;           /* storage root: the log's directory */
    char *dir, *base;
    struct fl_declog *prev;        /* closed logs, freed with the engine */
    /* error registry (the same ring and writer, another sink) */
    int reg;
    sqlite3 *db;
    sqlite3_stmt *up_err, *up_min;
    uint32_t retention_s, max_rows;
    int64_t last_prune_ms;
    /* the decision log: the host's options as given (deep copies), and
     * whether the serving version's `log { ... }` was merged in */
    fl_log_options_t host;
    char **host_pats;
    int policy_applied;
    /* the spool (decision log with on_full = spool; spool_fd -1 otherwise) */
    int spool_fd;
    char *spool_path;
    rec *spool_rec;                /* the writer's (and open's) record buffer */
    uint64_t spool_max;
    pthread_mutex_t spool_mu;      /* drainer and writer only */
    uint64_t spool_end, spool_rd;  /* bytes appended / formatted (spool_mu; rd: writer) */
    uint64_t recover_left;         /* records found in the spool at open, not yet written */
    _Atomic uint64_t spooled, spool_bytes;
    _Atomic int drained;           /* the drainer has stopped */
    pthread_t drain_thr;
    int drain_started;
    /* the syncer and the compressor (see "the syncer"), the log only */
    bqueue sq, zq;
    _Atomic int sync_busy;         /* a sync job is queued or running */
    _Atomic int sync_failed;       /* the last fdatasync failed: not synced, retry */
    /* a callback sink (kind 2, alerts.c) */
    void (*consume)(void *user, const fl_obs_view *v);
    void (*idle)(void *user);
    void *user;
};

/* ---- the decide path ------------------------------------------------------ */

/* What one decision gives every sink: read once per decision (strlen,
 * the clock), copied into each open sink's slot. */
typedef struct recsrc {
    int64_t time_ms, delay_ms;
    uint8_t action, severity, retryable;
    int16_t status;
    int attempt;
    const char *p[R_N];
    size_t n[R_N];
} recsrc;

/* The log field bit that selects each event field (0: always written). */
static const uint8_t k_bit[R_N] = {[R_EID] = FL_LOG_EVENT_ID, [R_DOM] = FL_LOG_DOMAIN, [R_CODE] = FL_LOG_CODE,
                                   [R_OP] = FL_LOG_OP, [R_EMSG] = FL_LOG_MESSAGE, [R_STACK] = FL_LOG_STACK};

/* A field's bytes and length (absent: "" and 0). */
static inline void src_d(recsrc *s, int which, const fl_decision_t *d, enum fl_dstr k)
{
    s->p[which] = d->off[k] ? d->buf.data + d->off[k] : "";
    s->n[which] = d->off[k] ? d->len[k] : 0; /* the length the decision keeps */
}

static inline void src_e(recsrc *s, int which, const fl_event_t *ev, fl_field f)
{
    s->p[which] = ev->set[f] ? ev->arena.data + ev->off[f] : "";
    s->n[which] = ev->set[f] ? ev->len[f] : 0;
}

static void src_fill(recsrc *s, const fl_ctx_t *ctx, const fl_event_t *ev, const fl_decision_t *d)
{
    if (ctx->id_ms) { /* the clock read for the decision's id (the coarse one, usually) */
        s->time_ms = ctx->id_ms;
    } else {
        struct timespec now; /* the coarse clock: ~4 ms resolution, a few ns instead of ~25 */
        clock_gettime(CLOCK_REALTIME_COARSE, &now);
        s->time_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    }
    s->delay_ms = d->delay_ms;
    s->action = (uint8_t)d->action;
    s->severity = (uint8_t)((unsigned)d->severity < 5 ? (unsigned)d->severity : 4);
    s->retryable = (uint8_t)(d->retryable != 0);
    s->status = (int16_t)d->status;
    s->attempt = ev->attempt;
    src_d(s, R_ID, d, FL_DS_ID);
    src_d(s, R_CAT, d, FL_DS_CATEGORY);
    src_d(s, R_RULE, d, FL_DS_RULE);
    src_d(s, R_FP, d, FL_DS_FINGERPRINT);
    src_d(s, R_VER, d, FL_DS_VERSION_ID);
    src_d(s, R_POLNAME, d, FL_DS_POLICY);
    src_d(s, R_POLVER, d, FL_DS_POLICY_VERSION);
    src_d(s, R_MSG, d, FL_DS_MESSAGE);
    src_d(s, R_ERR, d, FL_DS_ERROR);
    src_e(s, R_EID, ev, FL_FIELD_ID);
    src_e(s, R_DOM, ev, FL_FIELD_DOMAIN);
    src_e(s, R_CODE, ev, FL_FIELD_CODE);
    src_e(s, R_OP, ev, FL_FIELD_OP);
    src_e(s, R_EMSG, ev, FL_FIELD_MESSAGE);
    src_e(s, R_STACK, ev, FL_FIELD_STACK);
}

/* Each field's length as copied (cut at the sink's cap: 0 for an event
 * field it does not choose) into len; their sum.  Branch-free and
 * unrolled: the lengths vary from record to record. */
static inline size_t rec_lens(const struct fl_declog *L, const recsrc *s, uint16_t *len)
{
    size_t at = 0;
#pragma GCC unroll 16
    for (int i = 0; i < R_N; i++) {
        size_t n = s->n[i], cap = L->cap[i];
        len[i] = (uint16_t)(n < cap ? n : cap);
        at += len[i];
    }
    return at;
}

/* memcpy of a field without a call or a loop for the short ones (most of
 * a record's): overlapping moves of 1-2, 4, 8 or 16 bytes.  Inlined per
 * field, so each field's length class has its own branch. */
static inline __attribute__((always_inline)) void copy_field(char *dst, const char *src, size_t n)
{
    if (n >= 16) {
        if (n > 32) {
            memcpy(dst, src, n);
            return;
        }
        memcpy(dst, src, 16);
        memcpy(dst + n - 16, src + n - 16, 16);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, src, 4);
        memcpy(&b, src + n - 4, 4);
        memcpy(dst, &a, 4);
        memcpy(dst + n - 4, &b, 4);
    } else if (n) { /* 1 to 3 bytes */
        dst[0] = src[0];
        dst[n >> 1] = src[n >> 1];
        dst[n - 1] = src[n - 1];
    }
}

/* Copy s into r with the lengths of rec_lens. */
static inline void rec_fill(rec *r, const recsrc *s, const uint16_t *len)
{
    r->time_ms = s->time_ms;
    r->delay_ms = s->delay_ms;
    r->action = s->action;
    r->severity = s->severity;
    r->retryable = s->retryable;
    r->status = s->status;
    r->attempt = s->attempt;
    uint16_t at = 0;
    memcpy(r->len, len, sizeof r->len);
#pragma GCC unroll 16
    for (int i = 0; i < R_N; i++) {
        r->off[i] = at;
        copy_field(r->data + at, s->p[i], len[i]);
        at = (uint16_t)(at + len[i]);
    }
}

static int stopped(struct fl_declog *L) { return !L || atomic_load_explicit(&L->stop, memory_order_relaxed); }

/* 1 if L's sampling leaves a decision of severity sev out (counted). */
static int sampled_out(struct fl_declog *L, unsigned sev)
{
    uint32_t every = L->o.sample_every[sev];
    if (every <= 1) return 0;
    uint64_t n = atomic_fetch_add_explicit(&L->seq_sev[sev], 1, memory_order_relaxed);
    if (every != UINT32_MAX && n % every == 0) return 0;
    atomic_fetch_add_explicit(&L->sampled_out, 1, memory_order_relaxed);
    return 1;
}

static cell *cell_at(struct fl_declog *L, size_t pos) { return (cell *)(L->ring + (pos & L->mask) * CHUNK); }

/* 1 if L's ring looks full (a typical record would not fit). */
static int ring_full(struct fl_declog *L)
{
    size_t enq = atomic_load_explicit(&L->enq, memory_order_relaxed);
    size_t seen = atomic_load_explicit(&L->deq_seen, memory_order_relaxed);
    if (seen > enq || enq + RING_LINE_CHUNKS - seen <= L->mask + 1) return 0; /* seen > enq: enq was stale */
    size_t pub = atomic_load_explicit(&L->deq_pub, memory_order_relaxed);
    return pub <= enq && enq + RING_LINE_CHUNKS - pub > L->mask + 1;
}

/* The reader's position as deciders last saw it (deq_seen, on their own
 * line), refreshed from deq_pub -- a line the writer stores to every few
 * records, a cache miss to read -- only when the ring looks full by it:
 * about once a ring's length instead of every record. */
static size_t deq_fresh(struct fl_declog *L)
{
    size_t d = atomic_load_explicit(&L->deq_pub, memory_order_acquire);
    if (d != atomic_load_explicit(&L->deq_seen, memory_order_relaxed))
        atomic_store_explicit(&L->deq_seen, d, memory_order_release); /* another decider acquires it */
    return d;
}

/* Claim a slot and fill it from r: 1, or 0 when the ring is full.  A slot
 * is free once the writer has published a position past its previous lap:
 * deciders read only deq_pub (a line the writer stores to once per 16
 * records), never a slot the writer just touched. */
static int push(struct fl_declog *L, const recsrc *r, int32_t tag)
{
    uint16_t len[R_N];
    size_t k = (offsetof(cell, r) + offsetof(rec, data) + rec_lens(L, r, len) + CHUNK - 1) / CHUNK;
    size_t pos = atomic_load_explicit(&L->enq, memory_order_relaxed);
    for (;;) {
        /* pos may be older than the reader's position (the reader never
         * passes enq): then pos + k - deq would wrap and refuse a record
         * that fits.  Load pos again instead. */
        size_t d = atomic_load_explicit(&L->deq_seen, memory_order_acquire);
        if (d <= pos && pos + k - d > L->mask + 1) d = deq_fresh(L);
        if (d > pos) {
            pos = atomic_load_explicit(&L->enq, memory_order_relaxed);
            continue;
        }
        if (pos + k - d > L->mask + 1) return 0;
        if (atomic_compare_exchange_weak_explicit(&L->enq, &pos, pos + k, memory_order_relaxed,
                                                  memory_order_relaxed))
            break;
    }
    atomic_fetch_add_explicit(&L->nrec, 1, memory_order_relaxed);
    cell *c = cell_at(L, pos);
    c->tag = tag;
    c->nch = (uint32_t)k;
    rec_fill(&c->r, r, len); /* field by field, straight into the ring */
    atomic_store_explicit(&L->seq[pos & L->mask], pos + 1, memory_order_release);
    return 1;
}

/* A 64-bit hash of a fingerprint, eight bytes at a time; never 0. */
static uint64_t fp_hash(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    return h | 1;
}

enum { REG_DONE = -2, REG_FALLBACK = -1 };

/* The context's block of counts in L, taken on its first decision here:
 * a block a closed context left, else a new one.  NULL: out of memory. */
static regblk *reg_block(struct fl_declog *L, fl_ctx_t *ctx)
{
    if (ctx->regb_sink == L) return (regblk *)ctx->regb;
    if (ctx->regb) /* it counted for an earlier registry: that one is closed */
        atomic_store_explicit(&ctx->regb->free, 1, memory_order_release);
    ctx->regb = NULL;
    ctx->regb_sink = L;
    pthread_mutex_lock(&L->blk_mu);
    regblk *b = atomic_load_explicit(&L->blks, memory_order_relaxed);
    for (; b; b = b->next) {
        int one = 1;
        if (atomic_compare_exchange_strong_explicit(&b->h.free, &one, 0, memory_order_acquire, memory_order_relaxed))
            break;
    }
    if (!b && (b = aligned_alloc(64, sizeof *b))) {
        memset(b, 0, sizeof *b);
        b->next = atomic_load_explicit(&L->blks, memory_order_relaxed);
        atomic_store_explicit(&L->blks, b, memory_order_release); /* the writer walks it without the lock */
    }
    pthread_mutex_unlock(&L->blk_mu);
    ctx->regb = b ? &b->h : NULL;
    return b;
}

/* Count a decision of fingerprint fp in the table: REG_DONE, the slot whose
 * record is to be sent (new in this epoch), or REG_FALLBACK (no entry). */
static int32_t reg_count(struct fl_declog *L, fl_ctx_t *ctx, uint64_t k)
{
    for (uint32_t j = 0, i = (uint32_t)(k >> 20) & (REG_SLOTS - 1); j < REG_PROBE; j++, i = (i + 1) & (REG_SLOTS - 1)) {
        regent *g = &L->tab[i];
        uint64_t cur = atomic_load_explicit(&g->key, memory_order_acquire);
        if (!cur) {
            if (!atomic_compare_exchange_strong_explicit(&g->key, &cur, k, memory_order_acq_rel,
                                                         memory_order_acquire) && cur != k)
                continue; /* another fingerprint took it */
        } else if (cur != k)
            continue;
        regblk *b = reg_block(L, ctx);
        if (b) /* one writer per block: no locked add */
            atomic_store_explicit(&b->count[i], atomic_load_explicit(&b->count[i], memory_order_relaxed) + 1,
                                  memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&L->fcount[i], 1, memory_order_relaxed);
        uint32_t ep = atomic_load_explicit(&L->epoch, memory_order_relaxed);
        if (atomic_load_explicit(&g->sent, memory_order_relaxed) == ep ||
            atomic_exchange_explicit(&g->sent, ep, memory_order_relaxed) == ep)
            return REG_DONE;
        return (int32_t)i;
    }
    return REG_FALLBACK;
}

/* The registry's part of a decision: an increment, a record now and then. */
static void reg_note(struct fl_declog *L, fl_ctx_t *ctx, uint64_t fph, recsrc *s, int *filled, const fl_event_t *ev,
                     const fl_decision_t *d)
{
    if (!fph) return; /* no fingerprint to key it by */
    int32_t tag = reg_count(L, ctx, fph);
    if (tag == REG_DONE) return;
    if (!*filled) src_fill(s, ctx, ev, d);
    *filled = 1;
    if (tag == REG_FALLBACK) atomic_fetch_add_explicit(&L->unaggregated, 1, memory_order_relaxed);
    if (push(L, s, tag)) return;
    if (tag >= 0) /* counted; the record goes with the entry's next decision */
        atomic_store_explicit(&L->tab[tag].sent, 0, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&L->dropped, 1, memory_order_relaxed);
}

static void note(fl_ctx_t *ctx, const fl_event_t *ev, const fl_decision_t *d)
{
    struct fl_shared *sh = ctx->sh;
    struct fl_declog *sinks[3] = {atomic_load_explicit(&sh->declog, memory_order_acquire),
                                  atomic_load_explicit(&sh->errreg, memory_order_acquire),
                                  atomic_load_explicit(&sh->alertsink, memory_order_acquire)};
    recsrc s;
    unsigned sev = (unsigned)d->severity < 5 ? (unsigned)d->severity : 4;
    int filled = 0;
    /* The registry's entry and count are a likely cache miss: hash and ask
     * for them first, count last (the log's record is copied meanwhile). */
    uint64_t fph = 0;
    struct fl_declog *R = sinks[1];
    if (R && R->tab && d->off[FL_DS_FINGERPRINT] && d->len[FL_DS_FINGERPRINT]) {
        fph = fp_hash(d->buf.data + d->off[FL_DS_FINGERPRINT], d->len[FL_DS_FINGERPRINT]);
        uint32_t i = (uint32_t)(fph >> 20) & (REG_SLOTS - 1);
        __builtin_prefetch(&R->tab[i], 0, 3);
        if (ctx->regb_sink == R && ctx->regb) __builtin_prefetch(&((regblk *)ctx->regb)->count[i], 1, 3);
    }
    static const int order[3] = {0, 2, 1};
    for (int o = 0; o < 3; o++) {
        struct fl_declog *L = sinks[order[o]];
        if (stopped(L)) continue;
        if (L->tab) {
            reg_note(L, ctx, fph, &s, &filled, ev, d);
            continue;
        }
        if (sampled_out(L, sev)) continue;
        if (!ring_full(L)) { /* else dropped without reading the decision */
            if (!filled) src_fill(&s, ctx, ev, d);
            filled = 1;
            if (push(L, &s, -1)) continue;
        }
        atomic_fetch_add_explicit(&L->dropped, 1, memory_order_relaxed);
    }
}

/* ---- the writer ------------------------------------------------------------ */

/* The ring has one reader, the sink's writer thread.  A record is ready
 * when seq at deq is deq + 1 (stored by the decider that filled it); the
 * writer frees chunks by publishing deq (deq_pub) every 16 chunks and
 * after each batch, instead of a store a decider would read. */
static const rec *ring_peek(struct fl_declog *L)
{
    size_t seq = atomic_load_explicit(&L->seq[L->deq & L->mask], memory_order_acquire);
    return seq == L->deq + 1 ? &cell_at(L, L->deq)->r : NULL;
}

static void ring_publish(struct fl_declog *L)
{
    atomic_store_explicit(&L->deq_pub, L->deq, memory_order_release);
}

/* Free the record at deq (read to the end). */
static void ring_pop(struct fl_declog *L)
{
    size_t k = cell_at(L, L->deq)->nch, old = L->deq;
    L->deq += k;
    if ((old ^ L->deq) >> 4) ring_publish(L);
}

/* The writer formats every line of the log, as fast as deciders make
 * them or the ring overflows: format_line reserves room for the whole line
 * once (line_room), and the pieces below write into it without checking
 * for room or calling out; only a string that needs escapes, or a field
 * the redaction patterns rewrite, takes a slower path (fl_sb_*). */
static inline void put(fl_strbuf *sb, const char *s, size_t n)
{
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
}
#define PUT_LIT(sb, lit) put(sb, lit, sizeof lit - 1)

static inline void putc1(fl_strbuf *sb, char c) { sb->data[sb->len++] = c; }

/* s escaped, lower-case \u00xx for controls other than \n \t \r. */
static __attribute__((noinline)) void jstr_escaped(fl_strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        put(sb, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': PUT_LIT(sb, "\\\""); break;
        case '\\': PUT_LIT(sb, "\\\\"); break;
        case '\n': PUT_LIT(sb, "\\n"); break;
        case '\t': PUT_LIT(sb, "\\t"); break;
        case '\r': PUT_LIT(sb, "\\r"); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(sb, u, 6);
        }
        }
    }
    put(sb, s + start, n - start);
}

/* "s" -- the room for 6 * n + 2 bytes is reserved. */
static inline void jstr(fl_strbuf *sb, const char *s, size_t n)
{
    putc1(sb, '"');
    if (fl_json_plain_run((const unsigned char *)s, n) == n) put(sb, s, n); /* the usual case */
    else jstr_escaped(sb, s, n);
    putc1(sb, '"');
}

/* A field cut at its cap may end inside a UTF-8 sequence: keep whole
 * characters only, and replace anything invalid (events are validated, so
 * this is belt and braces). */
static size_t utf8_len(const char *s, size_t n)
{
    if (fl_utf8_valid(s, n)) return n;
    while (n > 0 && !fl_utf8_valid(s, n)) n--;
    return n;
}

/* s as a JSON string: plain ASCII (the usual case) at once, else its
 * valid UTF-8 prefix escaped. */
static inline void jfield(fl_strbuf *sb, const char *s, size_t n)
{
    putc1(sb, '"');
    if (fl_json_plain_run((const unsigned char *)s, n) == n) put(sb, s, n);
    else jstr_escaped(sb, s, utf8_len(s, n));
    putc1(sb, '"');
}

/* ,"key": (no comma for the first); klen: the key's length. */
static inline void key_put(fl_strbuf *sb, const char *key, size_t klen, int *first)
{
    if (!*first) putc1(sb, ',');
    *first = 0;
    putc1(sb, '"');
    put(sb, key, klen);
    PUT_LIT(sb, "\":");
}
#define KEY(sb, lit, first) key_put(sb, lit, sizeof lit - 1, first)

/* ,"key":N */
static void num_put(fl_strbuf *sb, const char *key, size_t klen, int64_t v)
{
    char d[24];
    int n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) d[n++] = '-';
    int first = 0;
    key_put(sb, key, klen, &first);
    while (n) putc1(sb, d[--n]);
}
#define NUM(sb, lit, v) num_put(sb, lit, sizeof lit - 1, v)

static inline void kv_n(fl_strbuf *sb, const char *key, size_t klen, const rec *r, int which, int *first)
{
    if (!r->len[which]) return;
    key_put(sb, key, klen, first);
    jfield(sb, r->data + r->off[which], r->len[which]);
}
#define KV(sb, lit, r, which, first) kv_n(sb, lit, sizeof lit - 1, r, which, first)

/* The redaction patterns applied to s (n bytes): the result into sb. */
static __attribute__((noinline)) void redact_put(struct fl_declog *L, fl_strbuf *sb, const char *s, size_t n)
{
    char a[2 * F_STACK + 64], b[2 * F_STACK + 64];
    memcpy(a, s, n);
    size_t len = n;
    for (uint32_t i = 0; i < L->npats; i++) {
        PCRE2_SIZE outlen = sizeof b;
        int rc = pcre2_substitute(L->pats[i], (PCRE2_SPTR)a, len, 0, PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                                  (PCRE2_SPTR) "[REDACTED]", 10, (PCRE2_UCHAR *)b, &outlen);
        if (rc < 0) { /* too long after substitution: mask the whole value */
            PUT_LIT(sb, "\"[REDACTED]\"");
            return;
        }
        memcpy(a, b, outlen);
        len = outlen;
    }
    putc1(sb, '"');
    if (fl_json_plain_run((const unsigned char *)a, len) == len) put(sb, a, len);
    else jstr_escaped(sb, a, len);
    putc1(sb, '"');
}

/* The value of a redactable field: masked, or with the patterns applied. */
static void kv_red(struct fl_declog *L, fl_strbuf *sb, const char *key, size_t klen, const rec *r, int which,
                   unsigned bit, int *first)
{
    if (!r->len[which]) return;
    key_put(sb, key, klen, first);
    if (L->o.mask & bit) {
        PUT_LIT(sb, "\"[REDACTED]\"");
        return;
    }
    const char *s = r->data + r->off[which];
    if (!L->npats) {
        jfield(sb, s, r->len[which]);
        return;
    }
    redact_put(L, sb, s, utf8_len(s, r->len[which]));
}
#define KV_RED(L, sb, lit, r, which, bit, first) kv_red(L, sb, lit, sizeof lit - 1, r, which, bit, first)

static const char *const k_act[4] = {"retry", "fallback", "ignore", "fail"};
static const char *const k_sev[5] = {"debug", "info", "warning", "error", "critical"};

/* Bytes a line of r can take at most: the keys and fixed text, each field
 * escaped at worst (6 bytes a byte; category twice, domain and code again
 * in exception.type), and the redactable fields at their longest after
 * the patterns (the substitution buffer). */
static size_t line_room(const struct fl_declog *L, const rec *r)
{
    size_t n = 0;
    for (int i = 0; i < R_N; i++) n += r->len[i];
    n += r->len[R_CAT] + r->len[R_DOM] + r->len[R_CODE] + 1;
    return 1024 + 6 * n + (L->npats ? 6 * 6 * (2 * F_STACK + 64) : 0);
}

/* The line's time: formatted again only when the millisecond changes
 * (many lines share one; snprintf is the costliest part of a line). */
static const char *line_time(struct fl_declog *L, int64_t ms)
{
    if (ms != L->ts_ms || !L->ts[0]) {
        fl_rfc3339_format(ms, L->ts);
        L->ts_ms = ms;
        L->ts_len = strlen(L->ts);
    }
    return L->ts;
}

/* Append r's line to sb: 0, or -1 when out of memory (nothing appended). */
static int format_line(struct fl_declog *L, const rec *r, fl_strbuf *sb)
{
    if (fl_sb_reserve(sb, line_room(L, r)) != 0) return -1;
    const char *ts = line_time(L, r->time_ms);
    int ce = L->o.format == FL_LOG_FORMAT_CLOUDEVENTS, first = 1;
    if (ce) {
        PUT_LIT(sb, "{\"specversion\":\"1.0\",\"type\":\"dev.faultline.decision\",\"source\":\"faultline\",\"id\":");
        jstr(sb, r->data + r->off[R_ID], r->len[R_ID]);
        PUT_LIT(sb, ",\"time\":\"");
        put(sb, ts, L->ts_len);
        PUT_LIT(sb, "\",\"datacontenttype\":\"application/json\",\"data\":{");
    } else {
        PUT_LIT(sb, "{\"time\":\"");
        put(sb, ts, L->ts_len);
        putc1(sb, '"');
        first = 0;
    }
    KV(sb, "id", r, R_ID, &first);
    KV(sb, "category", r, R_CAT, &first);
    PUT_LIT(sb, ",\"action\":\"");
    const char *act = k_act[r->action & 3], *sev = k_sev[r->severity < 5 ? r->severity : 4];
    put(sb, act, strlen(act));
    PUT_LIT(sb, "\",\"severity\":\"");
    put(sb, sev, strlen(sev));
    if (r->retryable) PUT_LIT(sb, "\",\"retryable\":true");
    else PUT_LIT(sb, "\",\"retryable\":false");
    if (r->delay_ms >= 0) NUM(sb, "delay_ms", r->delay_ms);
    if (r->status > 0) NUM(sb, "status", r->status);
    if (r->attempt > 0) NUM(sb, "attempt", r->attempt);
    KV(sb, "rule", r, R_RULE, &first);
    KV(sb, "fingerprint", r, R_FP, &first);
    KV(sb, "policy", r, R_POLNAME, &first);
    KV(sb, "policy_version", r, R_POLVER, &first);
    KV(sb, "version_id", r, R_VER, &first);
    KV(sb, "message", r, R_MSG, &first);
    KV(sb, "error", r, R_ERR, &first);
    /* OpenTelemetry semantic-convention names for the error itself. */
    KV(sb, "error.type", r, R_CAT, &first);
    if (r->len[R_DOM] || r->len[R_CODE]) {
        PUT_LIT(sb, ",\"exception.type\":");
        char t[2 * F_SHORT + 1];
        size_t tn = r->len[R_DOM];
        memcpy(t, r->data + r->off[R_DOM], tn);
        if (r->len[R_DOM] && r->len[R_CODE]) t[tn++] = ':';
        memcpy(t + tn, r->data + r->off[R_CODE], r->len[R_CODE]);
        tn += r->len[R_CODE];
        jfield(sb, t, tn);
    }
    KV_RED(L, sb, "exception.message", r, R_EMSG, FL_LOG_MESSAGE, &first);
    KV_RED(L, sb, "exception.stacktrace", r, R_STACK, FL_LOG_STACK, &first);
    PUT_LIT(sb, ",\"event\":{");
    int ef = 1;
    KV_RED(L, sb, "id", r, R_EID, FL_LOG_EVENT_ID, &ef);
    KV_RED(L, sb, "domain", r, R_DOM, FL_LOG_DOMAIN, &ef);
    KV_RED(L, sb, "code", r, R_CODE, FL_LOG_CODE, &ef);
    KV_RED(L, sb, "op", r, R_OP, FL_LOG_OP, &ef);
    PUT_LIT(sb, "}}");
    if (ce) putc1(sb, '}');
    putc1(sb, '\n');
    sb->data[sb->len] = '\0'; /* a strbuf stays terminated */
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A ring's reader found n records: when none, it sleeps *us, doubled each
 * empty round up to max_us and back to 50 us once records come.  A fixed
 * 2 ms nap let a busy decider fill the default ring (about 1 ms of
 * decisions at full speed) before the reader looked again. */
static void nap(int64_t *us, uint64_t n, int64_t max_us)
{
    if (n) {
        *us = 50;
        return;
    }
    struct timespec ts = {0, (long)(*us * 1000)};
    nanosleep(&ts, NULL);
    *us = *us * 2 < max_us ? *us * 2 : max_us;
}

/* Cut a torn last line: truncate after the last '\n'.  Returns 1 if cut. */
static int cut_torn(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        *size = 0;
        return 0;
    }
    off_t end = st.st_size, pos = end;
    char buf[4096];
    while (pos > 0) {
        size_t n = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        if (pread(fd, buf, n, pos - (off_t)n) != (ssize_t)n) break;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n') {
                off_t keep = pos - (off_t)n + (off_t)i;
                *size = (uint64_t)keep;
                if (keep == end) return 0;
                if (ftruncate(fd, keep) == 0) fsync(fd);
                return 1;
            }
        pos -= (off_t)n;
    }
    *size = 0; /* no complete line at all */
    if (ftruncate(fd, 0) == 0) fsync(fd);
    return 1;
}

static int open_file(struct fl_declog *L)
{
    L->fd = open(L->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (L->fd < 0) return -1;
    if (cut_torn(L->fd, &L->size)) atomic_fetch_add(&L->torn, 1);
    L->opened_ms = fl_now_ms();
    return 0;
}

/* ---- the syncer, rotation and the compressor ------------------------------------
 *
 * The writer never waits for the disk.  An fsync of the log (every fsync_ms,
 * on a flush, before a rotated file is closed) took 30-150 ms when lines
 * came fast, and compressing a rotated file (zstd, then read back and
 * compared) about as much CPU per line as formatting and writing it; done
 * on the writer thread, either stopped the ring's draining for as long and
 * deciders dropped lines meanwhile.  So:
 *
 *  - the writer queues jobs for a syncer thread (started with the first
 *    job; FIFO): "fdatasync the log and then count the lines up to `mark`
 *    as synced" (at most one in flight: sync_busy), and "a rotated file:
 *    fsync, close, compress";
 *  - rotation renames the live file and opens a new one at once; the old
 *    descriptor goes to the syncer, which fsyncs and closes it and queues
 *    the name for the compressor;
 *  - a compressor thread (started with the first name) cuts a torn last
 *    line (only a crash leaves one), compresses, and removes expired files.
 *    At open, rotated files a crash left uncompressed are queued too.
 *
 * Closing the log joins the writer, then the syncer (its queue done), then
 * the compressor (its queue done): a closed log is synced and its rotated
 * files compressed, as before.  Without threads (pthread_create failed) the
 * jobs run inline, as before. */
static void bq_init(bqueue *q)
{
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
    q->tail = &q->head;
}

static void bq_destroy(bqueue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

/* Queue j, starting the thread (fn) if needed: 1, or 0 if no thread could
 * be started (the caller runs j itself). */
static int bq_put(bqueue *q, bjob *j, void *(*fn)(void *), void *arg)
{
    pthread_mutex_lock(&q->mu);
    if (!q->started && !q->stop && pthread_create(&q->thr, NULL, fn, arg) == 0) q->started = 1;
    int ok = q->started;
    if (ok) {
        j->next = NULL;
        *q->tail = j;
        q->tail = &j->next;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return ok;
}

/* The next job, waiting for one; NULL once stopped and empty. */
static bjob *bq_get(bqueue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->head && !q->stop) pthread_cond_wait(&q->cv, &q->mu);
    bjob *j = q->head;
    if (j && !(q->head = j->next)) q->tail = &q->head;
    pthread_mutex_unlock(&q->mu);
    return j;
}

/* Its thread finishes the queue and stops. */
static void bq_stop(bqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->stop = 1;
    int started = q->started;
    q->started = 0;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    if (started) pthread_join(q->thr, NULL);
}

static bjob *job_new(int fd, int rotated, uint64_t mark, const char *name)
{
    size_t n = name ? strlen(name) + 1 : 1;
    bjob *j = malloc(sizeof *j + n);
    if (!j) return NULL;
    j->fd = fd;
    j->rotated = rotated;
    j->mark = mark;
    memcpy(j->name, name ? name : "", n);
    return j;
}

static int cut_torn(int fd, uint64_t *size);

static void compress_one(struct fl_declog *L, const char *name)
{
    int fd = open(name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) { /* a torn last line (a crash) is not kept in the archive */
        uint64_t size;
        if (cut_torn(fd, &size)) atomic_fetch_add(&L->torn, 1);
        close(fd);
    }
    fl_storage_result_t res;
    fl_compress_options_t co = {0};
    co.path = name;
    fl_storage_compress(L->bind, &co, &res);
    fl_cleanup_options_t cl = {0};
    char pat[4200];
    snprintf(pat, sizeof pat, "%s-*.zst", L->base);
    cl.dir = L->dir;
    cl.pattern = pat;
    cl.older_than_s = (int64_t)(L->o.keep_days ? L->o.keep_days : 7) * 86400;
    fl_storage_cleanup(L->bind, &cl, &res);
}

/* At the usual priority: SCHED_IDLE would leave the writer the whole core,
 * but an unprivileged thread cannot come back from it (RLIMIT_NICE), and
 * close waits for this thread -- under a saturated CPU, for a very long
 * time.  As its own thread it only shares the CPU with the writer, which
 * needs a fraction of a core (~0.3 us a line). */
static void *compressor(void *arg)
{
    struct fl_declog *L = arg;
    for (bjob *j; (j = bq_get(&L->zq));) {
        compress_one(L, j->name);
        free(j);
    }
    return NULL;
}

/* Hand a rotated file to the compressor (compressed here if it cannot be). */
static void queue_compress(struct fl_declog *L, const char *name)
{
    if (!L->bind) return; /* no storage bindings: rotated files stay as they are */
    bjob *j = job_new(-1, 0, 0, name);
    if (j && bq_put(&L->zq, j, compressor, L)) return;
    free(j);
    compress_one(L, name);
}

/* A syncer's job (name: a rotated file to compress, or NULL). */
static void run_job(struct fl_declog *L, int fd, int rotated, uint64_t mark, const char *name)
{
    if (!rotated) {
        /* Lines count as synced only when fdatasync says so (EIO, ENOSPC at
         * writeback): a flush must not acknowledge what is not on disk. */
        /* EINVAL: a file that cannot be synced (a FIFO, a character
         * device): nothing to wait for, as before. */
        if (fdatasync(fd) == 0 || errno == EINVAL) {
            atomic_store(&L->synced, mark);
        } else {
            atomic_fetch_add(&L->werr, 1);
            atomic_store(&L->sync_failed, 1);
        }
        atomic_store_explicit(&L->sync_busy, 0, memory_order_release); /* after synced: see writer */
        return;
    }
    if (fsync(fd) != 0) atomic_fetch_add(&L->werr, 1);
    close(fd);
    if (name && name[0]) queue_compress(L, name);
}

static void *syncer(void *arg)
{
    struct fl_declog *L = arg;
    for (bjob *j; (j = bq_get(&L->sq));) {
        run_job(L, j->fd, j->rotated, j->mark, j->name);
        free(j);
    }
    return NULL;
}

/* Queue a job for the syncer (run here if it cannot be queued; without
 * memory for it, a rotated file is left uncompressed). */
static void post_job(struct fl_declog *L, int fd, int rotated, uint64_t mark, const char *name)
{
    bjob *j = job_new(fd, rotated, mark, name);
    if (j && bq_put(&L->sq, j, syncer, L)) return;
    run_job(L, fd, rotated, mark, j ? name : NULL);
    free(j);
}

/* The name a rotated file gets: PATH-<UTC time>, and -1, -2, ... if a
 * second rotation falls in the same millisecond (it must not replace the
 * first, which may still wait for the compressor). */
static void rotated_name(const struct fl_declog *L, char *name, size_t cap)
{
    char ts[32], zst[4300];
    fl_rfc3339_format(fl_now_ms(), ts);
    for (char *p = ts; *p; p++)
        if (*p == ':') *p = '-';
    for (int k = 0; k < 1000; k++) {
        if (k) snprintf(name, cap, "%s-%s-%d", L->path, ts, k);
        else snprintf(name, cap, "%s-%s", L->path, ts);
        snprintf(zst, sizeof zst, "%s.zst", name);
        if (access(name, F_OK) != 0 && access(zst, F_OK) != 0) return;
    }
}

static void rotate(struct fl_declog *L)
{
    char name[4200];
    rotated_name(L, name, sizeof name);
    int fd = L->fd, ok = rename(L->path, name) == 0;
    L->fd = -1;
    if (ok) atomic_fetch_add(&L->rotations, 1);
    post_job(L, fd, 1, 0, ok ? name : NULL); /* fsync, close, compress: off this thread */
    if (open_file(L) != 0) atomic_fetch_add(&L->werr, 1);
}

/* Rotated files of this log that a crash left uncompressed (PATH-<UTC
 * time>..., not .zst): queued for the compressor at open. */
static void queue_leftovers(struct fl_declog *L)
{
    DIR *d = L->bind ? opendir(L->dir) : NULL;
    size_t bn = strlen(L->base);
    for (struct dirent *de; d && (de = readdir(d));) {
        const char *n = de->d_name;
        size_t len = strlen(n);
        if (strncmp(n, L->base, bn) != 0 || n[bn] != '-' || len < bn + 25 || n[bn + 5] != '-' || n[bn + 11] != 'T' ||
            (len >= 4 && strcmp(n + len - 4, ".zst") == 0))
            continue;
        char full[4400];
        snprintf(full, sizeof full, "%s/%s", L->dir, n);
        queue_compress(L, full);
    }
    if (d) closedir(d);
}

/* ---- the spool (on_full = spool) -------------------------------------------------
 *
 * The ring's reader is then the drainer thread, which only appends raw
 * records to PATH-base.spool: a frame per record (length, check word, the
 * record up to its last used byte), one write(2) per batch, fdatasync at
 * the log's cadence.  The writer thread reads frames from its offset,
 * formats and appends the lines to the log; when it has caught up, the
 * spool is truncated to zero.  spool_mu is shared by these two threads
 * only (deciders never see it): the drainer holds it across its write so
 * the writer never truncates bytes whose length is not yet counted. */

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return 0;
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

#define SPOOL_MAGIC 0x464c5350u /* "FLSP" */
#define REC_HEAD offsetof(rec, data)

static size_t rec_size(const rec *r) { return REC_HEAD + (size_t)r->off[R_N - 1] + r->len[R_N - 1]; }

/* 1 if the n bytes at p are a record whose fields lie inside it. */
static int rec_valid(const rec *r, size_t n)
{
    if (n < REC_HEAD || n > sizeof *r) return 0;
    for (int i = 0; i < R_N; i++) /* every field inside the record: safe to format */
        if (r->len[i] > k_cap[i] || REC_HEAD + (size_t)r->off[i] + r->len[i] > n) return 0;
    return REC_HEAD + (size_t)r->off[R_N - 1] + r->len[R_N - 1] <= n;
}

/* The frame at p (avail bytes): its size, 0 if incomplete, -1 if corrupt.
 * A valid record is copied into out. */
static long frame_get(const char *p, size_t avail, rec *out)
{
    uint32_t h[2];
    if (avail < sizeof h) return 0;
    memcpy(h, p, sizeof h);
    if ((h[0] ^ SPOOL_MAGIC) != h[1] || h[0] < REC_HEAD || h[0] > sizeof *out) return -1;
    if (avail < sizeof h + h[0]) return 0;
    memcpy(out, p + sizeof h, h[0]);
    return rec_valid(out, h[0]) ? (long)(sizeof h + h[0]) : -1;
}

static void *drainer(void *arg)
{
    struct fl_declog *L = arg;
    fl_strbuf sb = {0};
    int64_t dirty = -1, nap_us = 1000;
    for (;;) {
        int stopping = atomic_load_explicit(&L->stop, memory_order_acquire);
        uint64_t n = 0;
        const rec *r;
        int oom = 0;
        fl_sb_clear(&sb);
        while (n < 4096 && (r = ring_peek(L))) {
            uint32_t h[2] = {(uint32_t)rec_size(r), (uint32_t)rec_size(r) ^ SPOOL_MAGIC};
            oom |= fl_sb_append(&sb, (const char *)h, sizeof h) != 0;
            oom |= fl_sb_append(&sb, (const char *)r, h[0]) != 0;
            ring_pop(L);
            n++;
        }
        ring_publish(L);
        if (n) {
            pthread_mutex_lock(&L->spool_mu);
            int ok = !oom && L->spool_end + sb.len <= L->spool_max && write_all(L->spool_fd, sb.data, sb.len);
            if (ok) L->spool_end += sb.len;
            else if (ftruncate(L->spool_fd, (off_t)L->spool_end) != 0) atomic_fetch_add(&L->werr, 1);
            pthread_mutex_unlock(&L->spool_mu);
            if (ok) {
                atomic_fetch_add(&L->spooled, n);
                atomic_fetch_add(&L->spool_bytes, sb.len);
                if (dirty < 0) dirty = mono_ms();
            } else { /* counted, never silent */
                atomic_fetch_add(&L->werr, 1);
                atomic_fetch_add(&L->dropped, n);
                atomic_fetch_add(&L->done, n);
            }
        }
        if (dirty >= 0 && (stopping || mono_ms() - dirty >= (int64_t)L->o.fsync_ms)) {
            fdatasync(L->spool_fd);
            dirty = -1;
        }
        if (stopping && (uint64_t)atomic_load(&L->enq) == L->deq) break;
        nap(&nap_us, n, 1000);
    }
    fl_sb_free(&sb);
    atomic_store(&L->drained, 1);
    return NULL;
}

/* Format lines from the spool into sb (up to about 1 MiB).  Their number. */
static uint64_t drain_spool(struct fl_declog *L, fl_strbuf *sb, fl_strbuf *chunk)
{
    pthread_mutex_lock(&L->spool_mu);
    if (L->spool_rd == L->spool_end && L->spool_end && ftruncate(L->spool_fd, 0) == 0)
        L->spool_rd = L->spool_end = 0; /* caught up: start the file again */
    uint64_t end = L->spool_end;
    pthread_mutex_unlock(&L->spool_mu);
    uint64_t n = 0, start = L->spool_rd;
    while (L->spool_rd < end && sb->len <= (1u << 20)) {
        size_t want = end - L->spool_rd < (256u << 10) ? (size_t)(end - L->spool_rd) : (256u << 10);
        fl_sb_clear(chunk);
        if (fl_sb_reserve(chunk, want) != 0 || pread(L->spool_fd, chunk->data, want, (off_t)L->spool_rd) != (ssize_t)want)
            break;
        size_t at = 0;
        long f;
        while ((f = frame_get(chunk->data + at, want - at, L->spool_rec)) > 0) {
            if (format_line(L, L->spool_rec, sb) == 0) {
                n++;
            } else { /* out of memory: counted, never silent */
                atomic_fetch_add(&L->dropped, 1);
                atomic_fetch_add(&L->done, 1);
            }
            at += (size_t)f;
        }
        if (f < 0) { /* a corrupt frame: the rest of the spool is unreadable */
            atomic_fetch_add(&L->torn, 1);
            at = (size_t)(end - L->spool_rd);
        }
        if (!at) break;
        L->spool_rd += at;
    }
    atomic_fetch_sub(&L->spool_bytes, L->spool_rd - start);
    return n;
}

/* Open the spool; a spool left by a crash is kept (its records are written
 * first), cut after its last whole frame.  0 or -1 (errno). */
static int spool_open(struct fl_declog *L)
{
    L->spool_fd = open(L->spool_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (L->spool_fd < 0) return -1;
    struct stat st;
    if (fstat(L->spool_fd, &st) != 0) return -1;
    uint64_t at = 0, size = (uint64_t)st.st_size;
    char buf[sizeof(rec) + 8];
    for (;;) {
        size_t want = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf;
        if (!want || pread(L->spool_fd, buf, want, (off_t)at) != (ssize_t)want) break;
        long f = frame_get(buf, want, L->spool_rec);
        if (f <= 0) break;
        at += (uint64_t)f;
        L->recover_left++;
    }
    if (at < size) {
        atomic_fetch_add(&L->torn, 1);
        if (ftruncate(L->spool_fd, (off_t)at) != 0) return -1;
    }
    L->spool_end = at;
    atomic_store(&L->spool_bytes, at);
    return 0;
}

/* ---- the error registry sink ------------------------------------------------ */

static const char k_schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS errors(fingerprint TEXT PRIMARY KEY, count INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, category TEXT, severity TEXT, rule TEXT,"
    " op TEXT, action TEXT, sample TEXT);"
    "CREATE INDEX IF NOT EXISTS errors_last ON errors(last_seen);"
    "CREATE TABLE IF NOT EXISTS error_minutes(fingerprint TEXT NOT NULL, minute INTEGER NOT NULL,"
    " count INTEGER NOT NULL, category TEXT, severity TEXT, rule TEXT, op TEXT,"
    " PRIMARY KEY(fingerprint, minute)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS error_minutes_minute ON error_minutes(minute);"
    "CREATE TABLE IF NOT EXISTS notifications(id INTEGER PRIMARY KEY, time INTEGER NOT NULL, alert TEXT,"
    " channel TEXT, status TEXT, detail TEXT);";

static const char k_up_err[] =
    "INSERT INTO errors(fingerprint,count,first_seen,last_seen,category,severity,rule,op,action,sample)"
    " VALUES(?1,?9,?2,?10,?3,?4,?5,?6,?7,?8) ON CONFLICT(fingerprint) DO UPDATE SET count=count+?9,"
    " last_seen=max(last_seen,?10), category=?3, severity=?4, rule=?5, op=?6, action=?7";
static const char k_up_min[] =
    "INSERT INTO error_minutes(fingerprint,minute,count,category,severity,rule,op) VALUES(?1,?2,?7,?3,?4,?5,?6)"
    " ON CONFLICT(fingerprint,minute) DO UPDATE SET count=count+?7";

/* One (fingerprint, minute) of a drained batch: records are summed here so
 * that a batch costs one upsert per distinct fingerprint and minute, and the
 * sample line is formatted once per such pair, not once per record. */
typedef struct agg {
    uint64_t hash;
    int64_t minute, first_ms, last_ms;
    uint32_t count;
    uint8_t sev, act;
    char fp[F_SHORT + 1], cat[F_SHORT + 1], rule[F_SHORT + 1], op[F_SHORT + 1];
    char *sample;
} agg;

#define AGG_SLOTS 1024 /* distinct pairs per transaction; the batch ends when full */

static void cpf(char *dst, const rec *r, int which)
{
    memcpy(dst, r->data + r->off[which], r->len[which]);
    dst[r->len[which]] = '\0';
}

/* What a row says of its fingerprint, from r (the latest record); the
 * sample is the first occurrence's line, kept once set. */
static void agg_describe(struct fl_declog *L, agg *g, const rec *r, fl_strbuf *tmp)
{
    g->sev = r->severity;
    g->act = r->action;
    cpf(g->fp, r, R_FP);
    cpf(g->cat, r, R_CAT);
    cpf(g->rule, r, R_RULE);
    cpf(g->op, r, R_OP);
    if (g->sample) return;
    fl_sb_clear(tmp);
    format_line(L, r, tmp);
    if (tmp->len) tmp->len--; /* no '\n' */
    g->sample = strndup(fl_sb_cstr(tmp), tmp->len);
}

/* Add r to the table; 0, or -1 when the table is full (r not added). */
static int agg_add(struct fl_declog *L, agg *tab, uint32_t *used, const rec *r, fl_strbuf *tmp)
{
    int64_t minute = r->time_ms / 60000;
    uint64_t h = 1469598103934665603ull;
    for (uint16_t i = 0; i < r->len[R_FP]; i++) h = (h ^ (unsigned char)r->data[r->off[R_FP] + i]) * 1099511628211ull;
    h ^= (uint64_t)minute * 0x9e3779b97f4a7c15ull;
    h |= 1;
    for (uint32_t k = 0, i = (uint32_t)h & (2 * AGG_SLOTS - 1);; k++, i = (i + 1) & (2 * AGG_SLOTS - 1)) {
        agg *g = &tab[i];
        if (g->hash == h && g->minute == minute && strlen(g->fp) == r->len[R_FP] &&
            memcmp(g->fp, r->data + r->off[R_FP], r->len[R_FP]) == 0) {
            g->count++;
            if (r->time_ms > g->last_ms) g->last_ms = r->time_ms;
            if (r->time_ms < g->first_ms) g->first_ms = r->time_ms;
            g->sev = r->severity;
            g->act = r->action;
            return 0;
        }
        if (!g->hash) {
            if (*used >= AGG_SLOTS) return -1;
            (*used)++;
            g->hash = h;
            g->minute = minute;
            g->first_ms = g->last_ms = r->time_ms;
            g->count = 1;
            g->sample = NULL;
            agg_describe(L, g, r, tmp);
            return 0;
        }
    }
}

static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static int agg_put(struct fl_declog *L, const agg *g)
{
    const char *sev = k_sev[g->sev < 5 ? g->sev : 4], *act = k_act[g->act & 3];
    sqlite3_stmt *a = L->up_err, *b = L->up_min;
    bind_s(a, 1, g->fp);
    sqlite3_bind_int64(a, 2, g->first_ms);
    bind_s(a, 3, g->cat);
    sqlite3_bind_text(a, 4, sev, -1, SQLITE_STATIC);
    bind_s(a, 5, g->rule);
    bind_s(a, 6, g->op);
    sqlite3_bind_text(a, 7, act, -1, SQLITE_STATIC);
    sqlite3_bind_text(a, 8, g->sample ? g->sample : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 9, g->count);
    sqlite3_bind_int64(a, 10, g->last_ms);
    int rc = sqlite3_step(a);
    sqlite3_reset(a);
    bind_s(b, 1, g->fp);
    sqlite3_bind_int64(b, 2, g->minute);
    bind_s(b, 3, g->cat);
    sqlite3_bind_text(b, 4, sev, -1, SQLITE_STATIC);
    bind_s(b, 5, g->rule);
    bind_s(b, 6, g->op);
    sqlite3_bind_int64(b, 7, g->count);
    int rc2 = sqlite3_step(b);
    sqlite3_reset(b);
    return rc == SQLITE_DONE && rc2 == SQLITE_DONE ? 0 : -1;
}

/* Retention: minute rows and fingerprints older than retention_s, then the
 * least recently seen fingerprints beyond max_rows. */
static void reg_prune(struct fl_declog *L)
{
    char sql[512];
    int64_t cut = fl_now_ms() - (int64_t)L->retention_s * 1000;
    snprintf(sql, sizeof sql,
             "DELETE FROM error_minutes WHERE minute < %lld; DELETE FROM errors WHERE last_seen < %lld;"
             "DELETE FROM errors WHERE fingerprint IN (SELECT fingerprint FROM errors ORDER BY last_seen DESC"
             " LIMIT -1 OFFSET %u);"
             "DELETE FROM error_minutes WHERE fingerprint NOT IN (SELECT fingerprint FROM errors);",
             (long long)(cut / 60000), (long long)cut, L->max_rows);
    sqlite3_exec(L->db, sql, NULL, NULL, NULL);
}

/* What the registry writer knows of a table entry: the latest record of
 * its fingerprint (category, rule, op, ...), its sample, and the count it
 * has committed (flushed) or is committing (pend). */
typedef struct regmeta {
    uint64_t flushed, pend;
    agg a;
} regmeta;

/* The registry writer's state. */
typedef struct regw {
    agg *tab;         /* records of the record path, summed per batch */
    uint32_t used;
    regmeta **meta;   /* per table slot, from the slot's first record */
    uint32_t *known;  /* the slots that have meta, in arrival order */
    uint32_t nknown;
    uint64_t *sum;    /* per slot: the counts summed over the contexts' blocks */
    int64_t epoch_ms;
    fl_strbuf tmp;
} regw;

/* Learn (or refresh) what slot's fingerprint is from r. */
static void meta_set(struct fl_declog *L, regw *w, int32_t slot, const rec *r)
{
    regmeta *m = w->meta[slot];
    if (!m) {
        if (!(m = calloc(1, sizeof *m))) return; /* its counts wait: orphans are counted at close */
        w->meta[slot] = m;
        w->known[w->nknown++] = (uint32_t)slot;
    }
    agg *g = &m->a;
    if (!g->first_ms) g->first_ms = r->time_ms;
    agg_describe(L, g, r, &w->tmp);
}

/* Drain the ring: entry records into meta, record-path records into tab.
 * Their number (*fallback: record-path ones). */
static uint64_t reg_drain(struct fl_declog *L, regw *w, uint64_t *fallback)
{
    uint64_t n = 0;
    for (;;) {
        cell *c = cell_at(L, L->deq);
        const rec *r = ring_peek(L);
        if (!r) break;
        if (c->tag >= 0) meta_set(L, w, c->tag, r);
        else if (agg_add(L, w->tab, &w->used, r, &w->tmp) != 0) break; /* table full: next batch */
        else (*fallback)++;
        ring_pop(L);
        if (++n >= 16384) break;
    }
    ring_publish(L);
    return n;
}

/* Each known entry's count not yet committed (into m->pend and m->a): the
 * decisions to commit, last seen now. */
static uint64_t reg_sweep(struct fl_declog *L, regw *w)
{
    int64_t now = fl_now_ms();
    uint64_t total = 0;
    for (uint32_t k = 0; k < w->nknown; k++)
        w->sum[w->known[k]] = atomic_load_explicit(&L->fcount[w->known[k]], memory_order_relaxed);
    /* block by block: each block's lines are read in order, once */
    for (regblk *b = atomic_load_explicit(&L->blks, memory_order_acquire); b; b = b->next)
        for (uint32_t k = 0; k < w->nknown; k++)
            w->sum[w->known[k]] += atomic_load_explicit(&b->count[w->known[k]], memory_order_relaxed);
    for (uint32_t k = 0; k < w->nknown; k++) {
        uint32_t i = w->known[k];
        regmeta *m = w->meta[i];
        uint64_t c = w->sum[i];
        m->pend = c;
        if (c == m->flushed) continue;
        m->a.hash = 1;
        m->a.count = (uint32_t)(c - m->flushed);
        m->a.last_ms = now > m->a.first_ms ? now : m->a.first_ms;
        m->a.minute = m->a.last_ms / 60000;
        total += c - m->flushed;
    }
    return total;
}

/* One transaction: the record path's sums and the swept counts.  1 if committed. */
static int reg_commit(struct fl_declog *L, regw *w)
{
    int ok = sqlite3_exec(L->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
    for (uint32_t i = 0; ok && w->used && i < 2 * AGG_SLOTS; i++)
        if (w->tab[i].hash && agg_put(L, &w->tab[i]) != 0) ok = 0;
    for (uint32_t k = 0; ok && k < w->nknown; k++) {
        regmeta *m = w->meta[w->known[k]];
        if (m->pend != m->flushed && agg_put(L, &m->a) != 0) ok = 0;
    }
    if (ok && sqlite3_exec(L->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) ok = 0;
    if (!ok) sqlite3_exec(L->db, "ROLLBACK", NULL, NULL, NULL);
    for (uint32_t k = 0; ok && k < w->nknown; k++) {
        regmeta *m = w->meta[w->known[k]];
        m->flushed = m->pend;
    }
    for (uint32_t i = 0; w->used && i < 2 * AGG_SLOTS; i++) free(w->tab[i].sample);
    if (w->used) memset(w->tab, 0, 2 * AGG_SLOTS * sizeof *w->tab);
    w->used = 0;
    return ok;
}

/* Closing: counts of entries whose record never reached the writer (the
 * ring was full each time) cannot be written without a fingerprint. */
static uint64_t reg_orphans(struct fl_declog *L, regw *w)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < REG_SLOTS; i++) {
        if (w->meta[i]) continue;
        n += atomic_load_explicit(&L->fcount[i], memory_order_relaxed);
        for (regblk *b = atomic_load_explicit(&L->blks, memory_order_acquire); b; b = b->next)
            n += atomic_load_explicit(&b->count[i], memory_order_relaxed);
    }
    return n;
}

/* One round of the registry writer: 1 when it is time to stop. */
static int reg_round(struct fl_declog *L, regw *w)
{
    int stopping = atomic_load_explicit(&L->stop, memory_order_acquire);
    uint64_t ticket = atomic_load_explicit(&L->flush_ticket, memory_order_acquire);
    int64_t now = mono_ms();
    if (now - w->epoch_ms >= REG_EPOCH_MS) { /* entries send a fresh record */
        atomic_fetch_add_explicit(&L->epoch, 1, memory_order_relaxed);
        w->epoch_ms = now;
    }
    uint64_t fallback = 0, n = reg_drain(L, w, &fallback);
    uint64_t swept = reg_sweep(L, w);
    int ok = 1;
    if (w->used || swept) {
        ok = reg_commit(L, w);
        atomic_fetch_add(&L->written, (ok ? swept + fallback : 0));
        if (!ok) { /* the record path's sums are lost (counted); swept counts are retried */
            atomic_fetch_add(&L->werr, 1);
            atomic_fetch_add(&L->dropped, fallback);
        }
    }
    if (ok) atomic_store_explicit(&L->flush_served, ticket, memory_order_release);
    int64_t wall = fl_now_ms();
    if (wall - L->last_prune_ms >= 60000) {
        reg_prune(L);
        L->last_prune_ms = wall;
    }
    if (stopping && (uint64_t)atomic_load(&L->enq) == L->deq) {
        atomic_fetch_add(&L->dropped, reg_orphans(L, w));
        return 1;
    }
    if (n < 64 && atomic_load(&L->flush_ticket) == ticket) { /* let decisions gather */
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static void *reg_writer(void *arg)
{
    struct fl_declog *L = arg;
    regw w = {0};
    w.tab = calloc(2 * AGG_SLOTS, sizeof *w.tab);
    w.meta = calloc(REG_SLOTS, sizeof *w.meta);
    w.known = calloc(REG_SLOTS, sizeof *w.known);
    w.sum = calloc(REG_SLOTS, sizeof *w.sum);
    w.epoch_ms = mono_ms();
    while (w.tab && w.meta && w.known && w.sum && !reg_round(L, &w)) {
    }
    for (uint32_t i = 0; w.meta && i < REG_SLOTS; i++) {
        if (w.meta[i]) free(w.meta[i]->a.sample);
        free(w.meta[i]);
    }
    free(w.meta);
    free(w.known);
    free(w.sum);
    free(w.tab); /* out of memory at start: the ring fills, records are counted as dropped */
    fl_sb_free(&w.tmp);
    return NULL;
}

static void vcopy(char *dst, size_t cap, const rec *r, int which)
{
    size_t n = r->len[which] < cap - 1 ? r->len[which] : cap - 1;
    memcpy(dst, r->data + r->off[which], n);
    dst[n] = '\0';
}

static void *cb_writer(void *arg)
{
    struct fl_declog *L = arg;
    fl_obs_view *v = malloc(sizeof *v);
    if (!v) return NULL;
    int64_t nap_us = 2000;
    for (;;) {
        int stopping = atomic_load_explicit(&L->stop, memory_order_acquire);
        uint64_t n = 0;
        for (;;) {
            const rec *r = ring_peek(L);
            if (!r) break;
            v->time_ms = r->time_ms;
            v->action = r->action;
            v->severity = r->severity;
            vcopy(v->id, sizeof v->id, r, R_ID);
            vcopy(v->category, sizeof v->category, r, R_CAT);
            vcopy(v->fingerprint, sizeof v->fingerprint, r, R_FP);
            vcopy(v->rule, sizeof v->rule, r, R_RULE);
            vcopy(v->op, sizeof v->op, r, R_OP);
            vcopy(v->domain, sizeof v->domain, r, R_DOM);
            vcopy(v->code, sizeof v->code, r, R_CODE);
            vcopy(v->message, sizeof v->message, r, R_EMSG);
            ring_pop(L);
            L->consume(L->user, v);
            n++;
            if (n >= 4096) break;
        }
        ring_publish(L);
        if (n) {
            atomic_fetch_add(&L->written, n);
            atomic_fetch_add(&L->done, n);
        }
        atomic_store(&L->synced, atomic_load(&L->done));
        if (L->idle) L->idle(L->user);
        if (stopping && atomic_load(&L->nrec) == atomic_load(&L->done)) break;
        nap(&nap_us, n, 2000);
    }
    free(v);
    return NULL;
}

/* Format the ring's records into sb (up to about 1 MiB).  Their number. */
static uint64_t drain_ring(struct fl_declog *L, fl_strbuf *sb)
{
    uint64_t n = 0;
    const rec *r;
    while (sb->len <= (1u << 20) && (r = ring_peek(L))) {
        if (format_line(L, r, sb) == 0) {
            n++;
        } else { /* out of memory: counted, never silent */
            atomic_fetch_add(&L->dropped, 1);
            atomic_fetch_add(&L->done, 1);
        }
        ring_pop(L);
    }
    ring_publish(L);
    return n;
}

/* Append sb's lines (n records) to the log. */
static void put_lines(struct fl_declog *L, const fl_strbuf *sb, uint64_t n, int64_t *dirty_since)
{
    if (L->fd >= 0 && write_all(L->fd, sb->data, sb->len)) {
        atomic_fetch_add(&L->written, n);
        L->size += sb->len;
        if (*dirty_since < 0) *dirty_since = mono_ms();
    } else {
        /* A short write (ENOSPC) may have appended part of the batch: cut
         * it, or the next batch would follow a torn line mid-file (only
         * this thread appends, so L->size is the last good end). */
        if (L->fd >= 0 && ftruncate(L->fd, (off_t)L->size) != 0) atomic_fetch_add(&L->werr, 1);
        atomic_fetch_add(&L->werr, 1);
        atomic_fetch_add(&L->dropped, n);
    }
    /* records recovered from a spool at open were never in the ring */
    uint64_t old = n < L->recover_left ? n : L->recover_left;
    L->recover_left -= old;
    atomic_fetch_add(&L->done, n - old);
}

static int writer_done(struct fl_declog *L)
{
    if (L->spool_fd < 0) return atomic_load(&L->nrec) == atomic_load(&L->done);
    if (!atomic_load(&L->drained)) return 0;
    pthread_mutex_lock(&L->spool_mu);
    int empty = L->spool_rd == L->spool_end;
    pthread_mutex_unlock(&L->spool_mu);
    return empty;
}

static void *writer(void *arg)
{
    struct fl_declog *L = arg;
    fl_strbuf sb = {0}, chunk = {0};
    int64_t dirty_since = -1, nap_us = 2000;
    queue_leftovers(L);
    for (;;) {
        int stopping = atomic_load_explicit(&L->stop, memory_order_acquire);
        fl_sb_clear(&sb);
        uint64_t n = L->spool_fd < 0 ? drain_ring(L, &sb) : drain_spool(L, &sb, &chunk);
        if (n) put_lines(L, &sb, n, &dirty_since);
        int64_t now = mono_ms();
        uint64_t done = atomic_load(&L->done);
        int busy = atomic_load_explicit(&L->sync_busy, memory_order_acquire);
        /* A failed sync leaves the lines unsynced: sync them again at the
         * next interval (not when stopping: close must not wait forever). */
        if (!busy && atomic_exchange(&L->sync_failed, 0) && !stopping && dirty_since < 0) dirty_since = now;
        if (dirty_since >= 0 && !busy && (stopping || now - dirty_since >= (int64_t)L->o.fsync_ms ||
                                          atomic_exchange(&L->flush_req, 0))) {
            if (L->fd >= 0) { /* the syncer counts `done` as synced once fdatasync returns */
                atomic_store(&L->sync_busy, 1);
                busy = 1;
                post_job(L, L->fd, 0, done, NULL);
            }
            dirty_since = -1;
        }
        /* Nothing written since the last sync, none under way: all done is
         * synced (busy was read after the syncer's store of synced). */
        if (dirty_since < 0 && !busy) atomic_store(&L->synced, done);
        if (L->fd >= 0 && (L->size >= L->o.max_bytes ||
                           (L->o.max_age_s && L->size && fl_now_ms() - L->opened_ms >= (int64_t)L->o.max_age_s * 1000)))
            rotate(L);
        if (stopping && writer_done(L) && dirty_since < 0) break; /* the last sync asked */
        nap(&nap_us, n, 2000);
    }
    fl_sb_free(&sb);
    fl_sb_free(&chunk);
    return NULL;
}

/* ---- public API --------------------------------------------------------------- */

static void declog_free(struct fl_declog *L)
{
    while (L) {
        struct fl_declog *p = L->prev;
        for (uint32_t i = 0; i < L->npats; i++) pcre2_code_free(L->pats[i]);
        free(L->pats);
        free(L->ring);
        free((void *)L->seq);
        free(L->tab);
        free((void *)L->fcount);
        for (regblk *b = atomic_load(&L->blks), *nb; b; b = nb) {
            nb = b->next;
            free(b);
        }
        pthread_mutex_destroy(&L->blk_mu);
        bq_destroy(&L->sq);
        bq_destroy(&L->zq);
        free(L->path);
        free(L->dir);
        free(L->base);
        fl_bindings_free(L->bind);
        for (char **hp = L->host_pats; hp && *hp; hp++) free(*hp);
        free(L->host_pats);
        free((char *)L->host.path);
        sqlite3_finalize(L->up_err);
        sqlite3_finalize(L->up_min);
        if (L->db) sqlite3_close(L->db);
        if (L->spool_fd >= 0) close(L->spool_fd);
        free(L->spool_path);
        free(L->spool_rec);
        free((char *)L->host.spool_dir);
        pthread_mutex_destroy(&L->spool_mu);
        free(L);
        L = p;
    }
}

/* Serialises opening and closing (deciders never take it). */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

/* which: 0 the decision log, 1 the registry, 2 the alerts sink */
static struct fl_declog *_Atomic *slot_of(fl_engine_t *e, int which)
{
    struct fl_shared *sh = fl_engine_shared(e);
    return which == 2 ? &sh->alertsink : which ? &sh->errreg : &sh->declog;
}

static struct fl_declog *open_sink(fl_engine_t *e, int reg)
{
    struct fl_declog *L = e ? atomic_load(slot_of(e, reg)) : NULL;
    return L && !atomic_load(&L->stop) ? L : NULL;
}

/* Common part of opening a log or a registry: options, ring, patterns. */
static int sink_new(const fl_log_options_t *opts, struct fl_declog **out, fl_diag_t *diag)
{
    *out = NULL;
    if (opts->ring_lines > (1u << 20)) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "ring_lines above 1048576");
    if (opts->format != FL_LOG_FORMAT_JSON && opts->format != FL_LOG_FORMAT_CLOUDEVENTS)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "unknown log format %d", opts->format);
    struct fl_declog *L = aligned_alloc(64, sizeof *L); /* its producer lines are 64-byte aligned */
    if (!L) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    memset(L, 0, sizeof *L);
    *out = L;
    L->o = *opts;
    L->o.redact_patterns = NULL;
    L->o.spool_dir = NULL;
    L->fd = L->spool_fd = -1;
    pthread_mutex_init(&L->spool_mu, NULL);
    pthread_mutex_init(&L->blk_mu, NULL);
    bq_init(&L->sq);
    bq_init(&L->zq);
    if (opts->on_full != FL_LOG_ON_FULL_DROP && opts->on_full != FL_LOG_ON_FULL_SPOOL)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "unknown on_full %d (drop or spool)", opts->on_full);
    if (!L->o.fields) L->o.fields = FL_LOG_DOMAIN | FL_LOG_CODE | FL_LOG_MESSAGE | FL_LOG_OP;
    for (int i = 0; i < R_N; i++) L->cap[i] = !k_bit[i] || (L->o.fields & k_bit[i]) ? k_cap[i] : 0;
    if (!L->o.fsync_ms) L->o.fsync_ms = 1000;
    if (!L->o.max_bytes) L->o.max_bytes = 64u << 20;
    size_t n = 1, want = (size_t)(L->o.ring_lines ? L->o.ring_lines : 1024) * RING_LINE_CHUNKS;
    while (n < want || n < 2 * RING_SPARE) n <<= 1; /* room for two of the longest records */
    L->ring = aligned_alloc(CHUNK, (n + RING_SPARE) * CHUNK);
    L->seq = calloc(n, sizeof *L->seq); /* every seq 0: nothing ready (position 0 is published as 1) */
    L->mask = n - 1;
    L->path = strdup(opts->path);
    if (!L->ring || !L->seq || !L->path) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory (ring of %zu)", n);
    for (const char *const *p = opts->redact_patterns; p && *p; p++) {
        int err;
        PCRE2_SIZE eo;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)*p, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &eo, NULL);
        if (!c) {
            PCRE2_UCHAR m[160];
            pcre2_get_error_message(err, m, sizeof m);
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "redact pattern %u (%s): %s at offset %zu", L->npats + 1,
                               *p, (const char *)m, (size_t)eo);
        }
        pcre2_code **np = realloc(L->pats, (L->npats + 1) * sizeof *np);
        if (!np) {
            pcre2_code_free(c);
            return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
        }
        L->pats = np;
        L->pats[L->npats++] = c;
    }
    return FL_OK;
}

/* Publish L as the engine's log (reg 0) or registry (reg 1) and start its
 * writer; frees L on failure. */
static int sink_start(fl_engine_t *e, struct fl_declog *L, int rc, fl_diag_t *diag)
{
    pthread_mutex_lock(&g_mu);
    struct fl_declog *_Atomic *slot = slot_of(e, L->reg);
    struct fl_declog *cur = atomic_load(slot);
    if (rc == FL_OK && cur && !atomic_load(&cur->stop))
        rc = fl_diag_set(diag, FL_ESTATE, NULL, 0, 0, "a %s is already open (%s)",
                         L->reg == 2 ? "alerts sink" : L->reg ? "registry" : "decision log", cur->path);
    if (rc == FL_OK && L->spool_fd >= 0) {
        if (pthread_create(&L->drain_thr, NULL, drainer, L) != 0)
            rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot start the spool thread");
        else
            L->drain_started = 1;
    }
    if (rc == FL_OK && pthread_create(&L->thr, NULL, L->reg == 2 ? cb_writer : L->reg ? reg_writer : writer, L) != 0)
        rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot start the writer thread");
    if (rc != FL_OK && L && L->drain_started) { /* nothing was queued: it stops at once */
        atomic_store(&L->stop, 1);
        pthread_join(L->drain_thr, NULL);
    }
    if (rc == FL_OK) {
        L->thr_started = 1;
        L->prev = cur; /* a decider may still hold it: freed with the engine */
        atomic_store_explicit(slot, L, memory_order_release);
        atomic_store_explicit(&fl_engine_shared(e)->on_decision, note, memory_order_release);
    }
    pthread_mutex_unlock(&g_mu);
    if (rc != FL_OK && L) {
        if (L->fd >= 0) close(L->fd);
        L->prev = NULL;
        declog_free(L);
    }
    return rc;
}

/* Spool mode: PATH-base.spool in spool_dir (default: the log's directory). */
static int log_spool_open(struct fl_declog *L, const fl_log_options_t *opts, fl_diag_t *diag)
{
    const char *dir = opts->spool_dir && opts->spool_dir[0] ? opts->spool_dir : L->dir;
    size_t n = strlen(dir) + strlen(L->base) + 8;
    L->spool_max = opts->spool_max_bytes ? opts->spool_max_bytes : (uint64_t)1 << 30;
    L->spool_path = malloc(n);
    L->spool_rec = malloc(sizeof *L->spool_rec);
    if (!L->spool_path || !L->spool_rec) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    snprintf(L->spool_path, n, "%s/%s.spool", dir, L->base);
    if (spool_open(L) != 0)
        return fl_diag_set(diag, FL_EIO, NULL, 0, 0, "cannot open spool %s: %s", L->spool_path, strerror(errno));
    return FL_OK;
}

int fl_engine_log_open(fl_engine_t *e, const fl_log_options_t *opts, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !opts || !opts->path || !opts->path[0])
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, options or path");
    /* The serving version's `log { ... }` decides what lines hold. */
    struct fl_shared *sh = fl_engine_shared(e);
    unsigned gen;
    fl_version *v = fl_shared_acquire(sh, &gen);
    fl_log_options_t m = *opts;
    int applied = v && v->logd.declared;
    if (applied) {
        if (v->logd.fields) m.fields = v->logd.fields;
        m.mask = v->logd.mask;
        if (v->logd.redact) m.redact_patterns = (const char *const *)v->logd.redact;
        for (int k = 0; k < 5; k++)
            if (v->logd.sample_every[k]) m.sample_every[k] = v->logd.sample_every[k];
        if (v->logd.on_full) m.on_full = v->logd.on_full - 1;
    }
    struct fl_declog *L;
    int rc = sink_new(&m, &L, diag);
    if (v) fl_version_unref(v);
    if (L) {
        L->policy_applied = applied;
        L->host = *opts;
        L->host.path = strdup(opts->path);
        size_t np = 0;
        while (opts->redact_patterns && opts->redact_patterns[np]) np++;
        L->host_pats = calloc(np + 1, sizeof *L->host_pats);
        for (size_t i = 0; L->host_pats && i < np; i++) L->host_pats[i] = strdup(opts->redact_patterns[i]);
        L->host.redact_patterns = (const char *const *)L->host_pats;
        L->host.spool_dir = opts->spool_dir ? strdup(opts->spool_dir) : NULL;
        if (rc == FL_OK && (!L->host.path || !L->host_pats || (opts->spool_dir && !L->host.spool_dir)))
            rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FL_OK) {
        const char *slash = strrchr(L->path, '/');
        L->dir = slash ? strndup(L->path, (size_t)(slash - L->path) + (slash == L->path)) : strdup(".");
        L->base = strdup(slash ? slash + 1 : L->path);
        if (!L->dir || !L->base) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FL_OK && open_file(L) != 0)
        rc = fl_diag_set(diag, FL_EIO, NULL, 0, 0, "cannot open %s: %s", L->path, strerror(errno));
    if (rc == FL_OK && m.on_full == FL_LOG_ON_FULL_SPOOL) rc = log_spool_open(L, opts, diag);
    if (rc == FL_OK) {
        fl_bindings_options_t bo = {0};
        const char *roots[1] = {L->dir};
        bo.storage_roots = roots;
        bo.storage_roots_count = 1;
        if (fl_bindings_new(&bo, &L->bind) != FL_OK) L->bind = NULL; /* rotated files stay uncompressed */
    }
    if (!L) return rc;
    return sink_start(e, L, rc, diag);
}

int fl_engine_registry_open(fl_engine_t *e, const fl_registry_options_t *opts, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !opts || !opts->path || !opts->path[0])
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, options or path");
    fl_log_options_t lo = {0};
    lo.path = opts->path;
    lo.fields = opts->fields;
    lo.mask = opts->mask;
    lo.redact_patterns = opts->redact_patterns;
    lo.ring_lines = opts->ring_lines;
    struct fl_declog *L;
    int rc = sink_new(&lo, &L, diag);
    if (!L) return rc;
    L->reg = 1;
    L->tab = rc == FL_OK ? aligned_alloc(64, REG_SLOTS * sizeof *L->tab) : NULL;
    L->fcount = rc == FL_OK ? calloc(REG_SLOTS, sizeof *L->fcount) : NULL;
    if (L->tab && L->fcount) memset(L->tab, 0, REG_SLOTS * sizeof *L->tab);
    else if (rc == FL_OK) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory (registry table)");
    atomic_init(&L->epoch, 1);
    L->retention_s = opts->retention_s ? opts->retention_s : 7 * 86400;
    L->max_rows = opts->max_fingerprints ? opts->max_fingerprints : 100000;
    if (rc == FL_OK) {
        char *err = NULL;
        if (sqlite3_open_v2(L->path, &L->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(L->db, 5000) != SQLITE_OK || sqlite3_exec(L->db, k_schema, NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_prepare_v2(L->db, k_up_err, -1, &L->up_err, NULL) != SQLITE_OK ||
            sqlite3_prepare_v2(L->db, k_up_min, -1, &L->up_min, NULL) != SQLITE_OK)
            rc = fl_diag_set(diag, FL_EIO, NULL, 0, 0, "cannot open registry %s: %s", L->path,
                             err ? err : L->db ? sqlite3_errmsg(L->db) : "out of memory");
        sqlite3_free(err);
    }
    return sink_start(e, L, rc, diag);
}

static int sink_flush(fl_engine_t *e, int reg, int timeout_ms)
{
    if (!e) return FL_EINVAL;
    struct fl_declog *L = open_sink(e, reg);
    if (!L) return FL_ESTATE;
    int64_t until = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    if (L->tab) { /* the registry: a round of its writer that began after this call */
        uint64_t t = atomic_fetch_add(&L->flush_ticket, 1) + 1;
        while (atomic_load(&L->flush_served) < t) {
            if (mono_ms() >= until) return FL_EBUDGET;
            struct timespec ts = {0, 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        return FL_OK;
    }
    uint64_t want = atomic_load(&L->nrec);
    while (atomic_load(&L->synced) < want) {
        atomic_store(&L->flush_req, 1);
        if (mono_ms() >= until) return FL_EBUDGET;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return FL_OK;
}

static int sink_close(fl_engine_t *e, int reg)
{
    if (!e) return FL_EINVAL;
    pthread_mutex_lock(&g_mu);
    struct fl_declog *L = open_sink(e, reg);
    if (!L) {
        pthread_mutex_unlock(&g_mu);
        return FL_ESTATE;
    }
    struct fl_shared *sh = fl_engine_shared(e);
    atomic_store_explicit(&L->stop, 1, memory_order_release);
    if (!open_sink(e, 0) && !open_sink(e, 1) && !open_sink(e, 2))
        atomic_store_explicit(&sh->on_decision, NULL, memory_order_release);
    pthread_mutex_unlock(&g_mu);
    pthread_join(L->thr, NULL);
    bq_stop(&L->sq); /* after the writer, which queues its last jobs */
    bq_stop(&L->zq); /* after the syncer, which queues rotated files */
    if (L->drain_started) pthread_join(L->drain_thr, NULL);
    L->drain_started = 0;
    if (L->spool_fd >= 0) { /* written out: the spool goes */
        if (L->spool_rd == L->spool_end) unlink(L->spool_path);
        close(L->spool_fd);
        L->spool_fd = -1;
    }
    if (L->fd >= 0) {
        fsync(L->fd);
        close(L->fd);
        L->fd = -1;
    }
    if (L->db) {
        sqlite3_finalize(L->up_err);
        sqlite3_finalize(L->up_min);
        L->up_err = L->up_min = NULL;
        sqlite3_close(L->db);
        L->db = NULL;
    }
    return FL_OK;
}

static int sink_stats(fl_engine_t *e, int reg, fl_log_stats_t *out)
{
    if (!e || !out) return FL_EINVAL;
    memset(out, 0, sizeof *out);
    struct fl_declog *L = atomic_load(slot_of(e, reg));
    if (!L) return FL_OK;
    out->written = atomic_load(&L->written);
    out->dropped = atomic_load(&L->dropped);
    out->sampled_out = atomic_load(&L->sampled_out);
    out->rotations = atomic_load(&L->rotations);
    out->torn_skipped = atomic_load(&L->torn);
    out->write_errors = atomic_load(&L->werr);
    out->spooled = atomic_load(&L->spooled);
    out->spool_bytes = atomic_load(&L->spool_bytes);
    out->unaggregated = atomic_load(&L->unaggregated);
    return FL_OK;
}

int fl_engine_log_flush(fl_engine_t *e, int timeout_ms) { return sink_flush(e, 0, timeout_ms); }
int fl_engine_log_close(fl_engine_t *e) { return sink_close(e, 0); }
int fl_engine_log_stats(fl_engine_t *e, fl_log_stats_t *out) { return sink_stats(e, 0, out); }
int fl_engine_registry_flush(fl_engine_t *e, int timeout_ms) { return sink_flush(e, 1, timeout_ms); }
int fl_engine_registry_close(fl_engine_t *e) { return sink_close(e, 1); }
int fl_engine_registry_stats(fl_engine_t *e, fl_log_stats_t *out) { return sink_stats(e, 1, out); }

void fl__declog_destroy(fl_engine_t *e)
{
    fl__alerts_destroy(e);
    for (int reg = 0; reg < 3; reg++) {
        if (open_sink(e, reg)) sink_close(e, reg);
        declog_free(atomic_load(slot_of(e, reg)));
        atomic_store(slot_of(e, reg), NULL);
    }
}

int fl__sink_start(fl_engine_t *e, uint32_t ring_lines, void (*consume)(void *user, const fl_obs_view *v),
                   void (*idle)(void *user), void *user, fl_diag_t *diag)
{
    fl_log_options_t lo = {0};
    lo.path = "(alerts)";
    lo.ring_lines = ring_lines;
    struct fl_declog *L;
    int rc = sink_new(&lo, &L, diag);
    if (!L) return rc;
    L->reg = 2;
    L->consume = consume;
    L->idle = idle;
    L->user = user;
    return sink_start(e, L, rc, diag);
}

int fl__sink_stop(fl_engine_t *e) { return sink_close(e, 2); }

void fl__declog_apply(fl_engine_t *e, const fl_version *v)
{
    struct fl_declog *L = open_sink(e, 0);
    if (!L || (!v->logd.declared && !L->policy_applied)) return;
    fl_log_options_t h = L->host; /* L stays allocated until the engine goes */
    fl_diag_t d;
    if (sink_close(e, 0) == FL_OK) fl_engine_log_open(e, &h, &d);
}
