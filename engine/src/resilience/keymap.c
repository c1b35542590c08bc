/*
 * keymap.c -- per-key state: a hash map split into 16 shards.
 *
 * Readers never lock: each shard publishes an open-addressing table of
 * entry pointers (release stores, acquire loads).  Inserting takes the
 * shard's mutex, re-probes, and either fills a slot or publishes a doubled
 * table.  Entries are never moved or freed while the map lives; a replaced
 * table is kept on the shard's old-table chain until the map is destroyed,
 * so a reader holding it stays safe.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "resilience/resilience.h"

#define KM_INIT_CAP 8u

typedef struct old_table {
    struct old_table *next;
    fl_ktable *t;
} old_table;

uint64_t fl_key_hash(const char *key)
{
    return XXH3_64bits(key, strlen(key));
}

static fl_ktable *table_new(uint32_t cap)
{
    fl_ktable *t = calloc(1, sizeof *t + cap * sizeof(_Atomic(fl_kentry *)));
    if (t)
        t->cap = cap;
    return t;
}

int fl_keymap_init(fl_keymap *m, uint32_t max_keys, fl_state_new_fn make, void *arg)
{
    memset(m, 0, sizeof *m);
    m->max_keys = max_keys;
    m->make = make;
    m->make_arg = arg;
    for (int i = 0; i < FL_KM_SHARDS; i++) {
        fl_ktable *t = table_new(KM_INIT_CAP);
        if (!t)
            return -1;
        pthread_mutex_init(&m->shard[i].mu, NULL);
        atomic_init(&m->shard[i].tab, t);
    }
    return 0;
}

/* Probe t for key; returns the entry or NULL, and the first empty index. */
static fl_kentry *probe(fl_ktable *t, const char *key, uint64_t h, uint32_t *empty)
{
    uint32_t mask = t->cap - 1;
    for (uint32_t i = (uint32_t)(h >> 4) & mask, n = 0; n < t->cap; i = (i + 1) & mask, n++) {
        fl_kentry *e = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!e) {
            if (empty)
                *empty = i;
            return NULL;
        }
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL; /* never full: load factor <= 1/2 */
}

void *fl_keymap_find(fl_keymap *m, const char *key, uint64_t hash)
{
    fl_kshard *s = &m->shard[hash & (FL_KM_SHARDS - 1)];
    fl_kentry *e = probe(atomic_load_explicit(&s->tab, memory_order_acquire), key, hash, NULL);
    return e ? e->state : NULL;
}

/* Double the shard's table (shard lock held).  0 or -1. */
static int grow(fl_kshard *s)
{
    fl_ktable *old = atomic_load_explicit(&s->tab, memory_order_relaxed);
    fl_ktable *t = table_new(old->cap * 2);
    old_table *link = malloc(sizeof *link);
    if (!t || !link)
        goto fail;
    for (uint32_t i = 0; i < old->cap; i++) {
        fl_kentry *e = atomic_load_explicit(&old->slot[i], memory_order_relaxed);
        uint32_t at = 0;
        if (e && !probe(t, e->key, e->hash, &at))
            atomic_store_explicit(&t->slot[at], e, memory_order_relaxed);
    }
    link->t = old;
    link->next = s->old_tables;
    s->old_tables = link;
    atomic_store_explicit(&s->tab, t, memory_order_release);
    return 0;
fail:
    free(t);
    free(link);
    return -1;
}

static fl_kentry *entry_new(fl_keymap *m, const char *key, uint64_t h)
{
    size_t n = strlen(key);
    fl_kentry *e = malloc(sizeof *e + n + 1);
    if (!e)
        return NULL;
    e->hash = h;
    memcpy(e->key, key, n + 1);
    e->state = m->make(m->make_arg);
    if (!e->state) {
        free(e);
        return NULL;
    }
    return e;
}

/* Slow path: insert under the shard lock. */
static fl_kentry *insert(fl_keymap *m, fl_kshard *s, const char *key, uint64_t h)
{
    fl_kentry *e;
    fl_ktable *t;
    uint32_t at = 0;
    pthread_mutex_lock(&s->mu);
    t = atomic_load_explicit(&s->tab, memory_order_relaxed);
    e = probe(t, key, h, &at);
    if (e)
        goto done;
    if (atomic_load_explicit(&m->count, memory_order_relaxed) >= m->max_keys)
        goto done; /* e NULL: caller uses the overflow state */
    if ((s->count + 1) * 2 > t->cap) {
        if (grow(s) != 0)
            goto done;
        t = atomic_load_explicit(&s->tab, memory_order_relaxed);
        probe(t, key, h, &at);
    }
    e = entry_new(m, key, h);
    if (!e)
        goto done;
    s->count++;
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_store_explicit(&t->slot[at], e, memory_order_release);
done:
    pthread_mutex_unlock(&s->mu);
    return e;
}

/* The shared state for keys past max_keys, made once. */
static void *overflow(fl_keymap *m)
{
    fl_kshard *s = &m->shard[0];
    void *st;
    pthread_mutex_lock(&s->mu);
    if (!m->overflow)
        m->overflow = m->make(m->make_arg);
    st = m->overflow;
    pthread_mutex_unlock(&s->mu);
    return st;
}

void *fl_keymap_get(fl_keymap *m, const char *key, uint64_t hash, const char **key_out)
{
    fl_kshard *s = &m->shard[hash & (FL_KM_SHARDS - 1)];
    fl_kentry *e = probe(atomic_load_explicit(&s->tab, memory_order_acquire), key, hash, NULL);
    if (!e)
        e = insert(m, s, key, hash);
    if (!e) {
        if (key_out)
            *key_out = "*";
        return atomic_load_explicit(&m->count, memory_order_relaxed) >= m->max_keys ? overflow(m)
                                                                                   : NULL;
    }
    if (key_out)
        *key_out = e->key;
    return e->state;
}

void fl_keymap_each(fl_keymap *m, void (*fn)(void *state, void *arg), void *arg)
{
    for (int i = 0; i < FL_KM_SHARDS; i++) {
        fl_kshard *s = &m->shard[i];
        fl_ktable *t;
        pthread_mutex_lock(&s->mu);
        t = atomic_load_explicit(&s->tab, memory_order_relaxed);
        for (uint32_t k = 0; k < t->cap; k++) {
            fl_kentry *e = atomic_load_explicit(&t->slot[k], memory_order_relaxed);
            if (e)
                fn(e->state, arg);
        }
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_lock(&m->shard[0].mu); /* overflow() sets it under this lock */
    void *ov = m->overflow;
    pthread_mutex_unlock(&m->shard[0].mu);
    if (ov)
        fn(ov, arg);
}

void fl_keymap_destroy(fl_keymap *m, void (*free_state)(void *))
{
    for (int i = 0; i < FL_KM_SHARDS; i++) {
        fl_kshard *s = &m->shard[i];
        fl_ktable *t = atomic_load_explicit(&s->tab, memory_order_relaxed);
        old_table *o;
        if (!t)
            continue;
        for (uint32_t k = 0; k < t->cap; k++) {
            fl_kentry *e = atomic_load_explicit(&t->slot[k], memory_order_relaxed);
            if (e) {
                free_state(e->state);
                free(e);
            }
        }
        free(t);
        for (o = s->old_tables; o;) {
            old_table *next = o->next;
            free(o->t);
            free(o);
            o = next;
        }
        pthread_mutex_destroy(&s->mu);
    }
    if (m->overflow)
        free_state(m->overflow);
}
