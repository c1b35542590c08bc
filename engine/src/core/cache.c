/*
 * cache.c -- the stale-cache store behind `fallback = cache { ... }`.
 *
 * Hosts store last good results (fl_cache_put); a rule whose recovery is a
 * cache reads the value stored under its rendered key when it is at most
 * max_stale_ms old.  In-process: a chained hash table and an LRU list under
 * one mutex, bounded by entries and bytes (the least recently used entries
 * go first), entries dropped when their ttl passes.  A lookup copies the
 * value into the caller's buffer under the lock, so a value never changes
 * under a reader.  Times are wall-clock ms (CLOCK_REALTIME) so that ages
 * agree between instances sharing values through Redis (fleet.c).
 *
 * Fleet mode (fl__kvc_fleet on): puts made here are also queued for the
 * synchroniser to write to Redis, and every key looked up is remembered
 * (at most KV_WANT_MAX per round) so the synchroniser can refresh it from
 * Redis; both are taken once a round (fl__kvc_take_puts / _wanted).  A
 * lookup never waits for Redis.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct kv_entry {
    struct kv_entry *next;             /* hash chain   */
    struct kv_entry *newer, *older;    /* LRU list     */
    uint64_t hash;
    int64_t stored_ms, expires_ms;
    size_t klen, vlen;
    char *key, *value;                 /* one allocation: key \0 value \0 */
} kv_entry;

#define KV_WANT_MAX 256u
#define KV_WANT_SLOTS 512u
#define KV_OUT_MAX 10000u

/* A put waiting for the synchroniser (fleet mode). */
typedef struct kv_out {
    struct kv_out *next;
    int64_t stored_ms, expires_ms;
    char *key, *value; /* one allocation */
} kv_out;

struct fl_kvc {
    pthread_mutex_t mu;
    kv_entry **slot;
    uint32_t mask, n, max_entries;
    size_t bytes, max_bytes;
    kv_entry *newest, *oldest;
    int fleet;                    /* queue puts, remember lookups */
    kv_out *out, **out_tail;
    uint32_t nout;
    char *want[KV_WANT_SLOTS];    /* keys looked up since the last round */
    uint32_t nwant;
};

static uint64_t kv_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

struct fl_kvc *fl__kvc_new(uint32_t max_entries, size_t max_bytes)
{
    struct fl_kvc *c = calloc(1, sizeof *c);
    uint32_t cap = 64;
    if (!c) return NULL;
    while (cap < max_entries && cap < (1u << 24)) cap <<= 1;
    if (!(c->slot = calloc(cap, sizeof *c->slot))) {
        free(c);
        return NULL;
    }
    c->mask = cap - 1;
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->out_tail = &c->out;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void lru_unlink(struct fl_kvc *c, kv_entry *e)
{
    if (e->newer) e->newer->older = e->older;
    else c->newest = e->older;
    if (e->older) e->older->newer = e->newer;
    else c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_front(struct fl_kvc *c, kv_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) c->newest->newer = e;
    c->newest = e;
    if (!c->oldest) c->oldest = e;
}

/* Unlink e from its chain and the list and free it.  Caller holds mu. */
static void drop(struct fl_kvc *c, kv_entry *e)
{
    kv_entry **p = &c->slot[e->hash & c->mask];
    while (*p != e) p = &(*p)->next;
    *p = e->next;
    lru_unlink(c, e);
    c->n--;
    c->bytes -= e->klen + e->vlen;
    free(e);
}

static kv_entry *find(struct fl_kvc *c, const char *key, size_t klen, uint64_t h)
{
    for (kv_entry *e = c->slot[h & c->mask]; e; e = e->next)
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
    return NULL;
}

static void clear_queues(struct fl_kvc *c)
{
    while (c->out) {
        kv_out *o = c->out;
        c->out = o->next;
        free(o);
    }
    c->out_tail = &c->out;
    c->nout = 0;
    for (uint32_t i = 0; i < KV_WANT_SLOTS; i++) {
        free(c->want[i]);
        c->want[i] = NULL;
    }
    c->nwant = 0;
}

void fl__kvc_free(struct fl_kvc *c)
{
    if (!c) return;
    clear_queues(c);
    while (c->oldest) drop(c, c->oldest);
    pthread_mutex_destroy(&c->mu);
    free(c->slot);
    free(c);
}

void fl__kvc_fleet(struct fl_kvc *c, int on)
{
    pthread_mutex_lock(&c->mu);
    c->fleet = on;
    if (!on) clear_queues(c);
    pthread_mutex_unlock(&c->mu);
}

/* Queue a put for Redis (caller holds mu); the oldest goes when full. */
static void queue_out(struct fl_kvc *c, const kv_entry *e)
{
    kv_out *o = malloc(sizeof *o + e->klen + e->vlen + 2);
    if (!o) return;
    o->key = (char *)(o + 1);
    o->value = o->key + e->klen + 1;
    memcpy(o->key, e->key, e->klen + 1);
    memcpy(o->value, e->value, e->vlen + 1);
    o->stored_ms = e->stored_ms;
    o->expires_ms = e->expires_ms;
    o->next = NULL;
    *c->out_tail = o;
    c->out_tail = &o->next;
    if (++c->nout > KV_OUT_MAX) {
        kv_out *first = c->out;
        c->out = first->next;
        free(first);
        c->nout--;
    }
}

/* Remember a looked-up key for the next refresh (caller holds mu). */
static void want(struct fl_kvc *c, const char *key, size_t klen, uint64_t h)
{
    uint32_t j = (uint32_t)h & (KV_WANT_SLOTS - 1);
    for (; c->want[j]; j = (j + 1) & (KV_WANT_SLOTS - 1))
        if (strcmp(c->want[j], key) == 0) return;
    if (c->nwant >= KV_WANT_MAX) return;
    if ((c->want[j] = malloc(klen + 1))) {
        memcpy(c->want[j], key, klen + 1);
        c->nwant++;
    }
}

void fl__kvc_take_puts(struct fl_kvc *c, void (*fn)(void *arg, const char *key, const char *value,
                                                   int64_t stored_ms, int64_t expires_ms),
                       void *arg)
{
    kv_out *list;
    pthread_mutex_lock(&c->mu);
    list = c->out;
    c->out = NULL;
    c->out_tail = &c->out;
    c->nout = 0;
    pthread_mutex_unlock(&c->mu);
    while (list) {
        kv_out *o = list;
        list = o->next;
        fn(arg, o->key, o->value, o->stored_ms, o->expires_ms);
        free(o);
    }
}

void fl__kvc_take_wanted(struct fl_kvc *c, void (*fn)(void *arg, const char *key), void *arg)
{
    char *keys[KV_WANT_MAX];
    uint32_t n = 0;
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < KV_WANT_SLOTS; i++)
        if (c->want[i]) {
            keys[n++] = c->want[i];
            c->want[i] = NULL;
        }
    c->nwant = 0;
    pthread_mutex_unlock(&c->mu);
    for (uint32_t i = 0; i < n; i++) {
        fn(arg, keys[i]);
        free(keys[i]);
    }
}

int fl__kvc_store(struct fl_kvc *c, const char *key, const char *value, size_t vlen, int64_t stored_ms,
                  int64_t expires_ms, int publish)
{
    size_t klen = strlen(key);
    uint64_t h = kv_hash(key, klen);
    kv_entry *e = malloc(sizeof *e + klen + vlen + 2), *old;
    if (!e) return FL_ENOMEM;
    e->key = (char *)(e + 1);
    e->value = e->key + klen + 1;
    memcpy(e->key, key, klen + 1);
    memcpy(e->value, value, vlen);
    e->value[vlen] = '\0';
    e->klen = klen;
    e->vlen = vlen;
    e->hash = h;
    e->stored_ms = stored_ms;
    e->expires_ms = expires_ms;
    pthread_mutex_lock(&c->mu);
    if ((old = find(c, key, klen, h))) {
        if (old->stored_ms > stored_ms || (!publish && old->stored_ms == stored_ms)) { /* nothing newer */
            pthread_mutex_unlock(&c->mu);
            free(e);
            return FL_OK;
        }
        drop(c, old);
    }
    while (c->oldest && (c->n + 1 > c->max_entries || c->bytes + klen + vlen > c->max_bytes)) drop(c, c->oldest);
    e->next = c->slot[h & c->mask];
    c->slot[h & c->mask] = e;
    lru_front(c, e);
    c->n++;
    c->bytes += klen + vlen;
    if (publish && c->fleet) queue_out(c, e);
    pthread_mutex_unlock(&c->mu);
    return FL_OK;
}

int fl__kvc_lookup(struct fl_kvc *c, const char *key, int64_t now_ms, int64_t max_stale_ms, fl_strbuf *out,
                   int64_t *age_ms)
{
    size_t klen = strlen(key);
    uint64_t h = kv_hash(key, klen);
    int hit = 0;
    kv_entry *e;
    pthread_mutex_lock(&c->mu);
    if (c->fleet) want(c, key, klen, h);
    e = find(c, key, klen, h);
    if (e && e->expires_ms <= now_ms) {
        drop(c, e);
        e = NULL;
    }
    if (e) {
        int64_t age = now_ms > e->stored_ms ? now_ms - e->stored_ms : 0;
        lru_unlink(c, e);
        lru_front(c, e);
        if (age <= max_stale_ms && fl_sb_append(out, e->value, e->vlen) == 0) {
            *age_ms = age;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

uint32_t fl__kvc_count(struct fl_kvc *c)
{
    uint32_t n;
    pthread_mutex_lock(&c->mu);
    n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}
