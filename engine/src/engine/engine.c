/*
 * engine.c -- the engine object: options, the published version and its
 * history, the generation counter that lets contexts notice a reload without
 * a lock, per-thread contexts, and the load / check / publish sequence
 * (read, run, compile, run examples, then swap).  See docs/architecture.md
 * for the threading model.
 */
#include <assert.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/stat.h>

#include "core.h"
#include "loading.h"
#include "deciding.h"
#include "sandbox.h"
#include "engine_internal.h"
#include "resilience/resilience.h"

struct fl_engine {
    atomic_int refs;       /* the creator's + one per context and watch */
    fl_engine_options_t opts;
    struct fl_shared sh;   /* what deciders touch: current, gen, graveyard (core/shared.c) */
    pthread_mutex_t load;  /* serialises loads (they are long; deciders never take it) */
    fl_version **history;  /* oldest first; each holds one reference; guarded by sh.swap */
    uint32_t nhistory;
    unsigned char trusted_key[FL_KEY_PUBLIC_BYTES]; /* copied from the options */
    int has_key;           /* 1: only signed bundles and directories load */
    /* Interned strings of every version published (ids, names, labels,
     * sources): fl_version_info_t points here, so what fl_engine_current and
     * fl_engine_versions hand out stays valid until fl_engine_free whatever
     * reloads happen meanwhile.  One copy per distinct string; written under
     * `load` only (publish), read through pointers stored before the swap. */
    char **strs;           /* open addressing, power-of-two capacity      */
    uint32_t nstrs, strs_cap;
    fl_resil_options_t resil_opts; /* copy of opts.resil when given */
    /* Fleet synchroniser started from the current version's fleet { }
     * declaration (resilience/fleet.c); changed under `load` only. */
    fl_fleet_t *fleet;
    fl_fleet_decl_t *fleet_decl; /* what it was started from (a copy) */
    /* A canary rollback (on a deciding thread, which must not wait for
     * the alert and log threads to stop) leaves the restored version's
     * alerts and log declarations unapplied: a short-lived thread applies
     * them (apply_observers_later); should it not start, the next load,
     * reload or rollback does. */
    atomic_int obs_stale;
};

static void start_probation(fl_engine_t *e, fl_version *v);
static void canary_trip(struct fl_shared *sh, fl_version *v, const char *why);

static void default_options(fl_engine_options_t *o)
{
    if (!o->handler_budget_us) o->handler_budget_us = 10000;
    if (!o->lua_memory_cap) o->lua_memory_cap = 32u << 20;
    if (!o->match_limit) o->match_limit = 100000;
    if (!o->versions_kept) o->versions_kept = 8;
    if (!o->max_message_len) o->max_message_len = 1024;
    if (o->max_message_len < 16) o->max_message_len = 16; /* room for a cut and its ellipsis */
}

size_t fl_engine_options_size(void) { return sizeof(fl_engine_options_t); }

int fl_engine_new(const fl_engine_options_t *opts, fl_engine_t **out)
{
    if (!out) return FL_EINVAL;
    *out = NULL;
    fl_engine_t *e = calloc(1, sizeof *e);
    if (!e) return FL_ENOMEM;
    atomic_init(&e->refs, 1);
    if (opts) e->opts = *opts;
    default_options(&e->opts);
    if (e->opts.trusted_key) { /* not owned: keep a copy */
        memcpy(e->trusted_key, e->opts.trusted_key, sizeof e->trusted_key);
        e->has_key = 1;
        e->opts.trusted_key = NULL;
    }
    if (e->opts.resil) { /* not owned: keep a copy */
        e->resil_opts = *e->opts.resil;
        e->opts.resil = &e->resil_opts;
    }
    fl_shared_init(&e->sh, &e->opts);
    e->sh.on_canary = canary_trip;
    pthread_mutex_init(&e->load, NULL);
    if (fl_resil_new(e->opts.resil, &e->sh.resil) != FL_OK) {
        fl_engine_free(e);
        return FL_ENOMEM;
    }
    if (!(e->sh.sbx = fl_sbx_new(&e->opts))) { /* FL-SANDBOX */
        fl_engine_free(e);
        return FL_ENOMEM;
    }
    if (!(e->sh.cache = fl__kvc_new(FL_CACHE_MAX_ENTRIES, FL_CACHE_MAX_BYTES))) {
        fl_engine_free(e);
        return FL_ENOMEM;
    }
    *out = e;
    return FL_OK;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h ^ (h >> 31);
}

/* The engine's copy of s (NULL for NULL, or on ENOMEM).  Caller holds e->load. */
static const char *intern(fl_engine_t *e, const char *s)
{
    if (!s) return NULL;
    if ((e->nstrs + 1) * 2 > e->strs_cap) {
        uint32_t cap = e->strs_cap ? e->strs_cap * 2 : 64;
        char **t = calloc(cap, sizeof *t);
        if (!t) return NULL;
        for (uint32_t i = 0; i < e->strs_cap; i++) {
            if (!e->strs[i]) continue;
            uint32_t j = (uint32_t)str_hash(e->strs[i]) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = e->strs[i];
        }
        free(e->strs);
        e->strs = t;
        e->strs_cap = cap;
    }
    uint32_t mask = e->strs_cap - 1, j = (uint32_t)str_hash(s) & mask;
    for (; e->strs[j]; j = (j + 1) & mask)
        if (strcmp(e->strs[j], s) == 0) return e->strs[j];
    if (!(e->strs[j] = strdup(s))) return NULL;
    e->nstrs++;
    return e->strs[j];
}

void fl_engine_retain(fl_engine_t *e) { atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed); }

static void engine_destroy(fl_engine_t *e)
{
    assert(atomic_load(&e->sh.nctx) == 0);
    fl__declog_destroy(e);
    for (uint32_t i = 0; i < e->nhistory; i++) fl_version_unref(e->history[i]);
    free(e->history);
    fl_fleet_stop(e->fleet);
    fl_fleet_decl_free(e->fleet_decl);
    fl_shared_destroy(&e->sh);
    fl_resil_free(e->sh.resil);
    fl_sbx_free(e->sh.sbx); /* FL-SANDBOX: stops the watchdog thread */
    fl__kvc_free(e->sh.cache);
    pthread_mutex_destroy(&e->load);
    for (uint32_t i = 0; i < e->strs_cap; i++) free(e->strs[i]);
    free(e->strs);
    free(e);
}

void fl_engine_release(fl_engine_t *e)
{
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) engine_destroy(e);
}

void fl_engine_free(fl_engine_t *e) { fl_engine_release(e); }

/* Before publishing: build the handler states the deciding threads will
 * want, here on the loading thread rather than in their first handler
 * decision after the swap. */
static void prebuild(fl_engine_t *e, fl_version *v)
{
    int n = atomic_load(&e->sh.handler_users);
    if (v->nhandlers && n > 0) fl_handler_prebuild(&e->sh, v, (uint32_t)(n > 64 ? 64 : n), (uint64_t)fl_now_ms());
}

int fl_engine_stats(fl_engine_t *e, fl_engine_stats_t *out)
{
    if (!e || !out) return FL_EINVAL;
    fl_sbx_stats(e->sh.sbx, out);
    return FL_OK;
}

struct fl_shared *fl_engine_shared(fl_engine_t *e) { return &e->sh; }

fl_resil_t *fl_engine_resil(fl_engine_t *e) { return e ? e->sh.resil : NULL; }

/* Give the pages of a dropped version back to the system.  Without it malloc
 * keeps them in its arenas, and over thousands of reloads fragmentation
 * makes RSS creep up while the memory in use stays flat (issue 22,
 * bench/bench_versions). */
static void trim_heap(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* The stale-cache store as the synchroniser sees it (resilience/fleet.c). */
static void cache_take_puts(void *u, void (*fn)(void *, const char *, const char *, int64_t, int64_t), void *arg)
{
    fl__kvc_take_puts(u, fn, arg);
}

static void cache_take_wanted(void *u, void (*fn)(void *, const char *), void *arg)
{
    fl__kvc_take_wanted(u, fn, arg);
}

static void cache_store(void *u, const char *key, const char *value, size_t vlen, int64_t stored_ms,
                        int64_t expires_ms)
{
    fl__kvc_store(u, key, value, vlen, stored_ms, expires_ms, 0);
}

/* Start, restart or stop the fleet synchroniser so that it matches v's
 * fleet { } declaration.  Starting never waits for Redis (the thread
 * connects); stopping waits at most the old config's timeout.  The
 * stale-cache store is shared while a synchroniser runs. */
static int fleet_follow(fl_engine_t *e, fl_version *v)
{
    if (fl_fleet_decl_same(e->fleet_decl, v->fleet)) return FL_OK;
    fl__kvc_fleet(e->sh.cache, 0);
    fl_fleet_stop(e->fleet);
    fl_fleet_decl_free(e->fleet_decl);
    e->fleet = NULL;
    e->fleet_decl = NULL;
    if (!v->fleet) return FL_OK;
    fl_fleet_config_t cfg;
    fl_diag_t d;
    fl_fleet_decl_config(v->fleet, &cfg);
    if (!(e->fleet_decl = fl_fleet_decl_copy(v->fleet))) return FL_ENOMEM;
    int rc = fl_fleet_start(e->sh.resil, &cfg, &e->fleet, &d);
    if (rc != FL_OK) {
        fl_fleet_decl_free(e->fleet_decl);
        e->fleet_decl = NULL;
        return rc;
    }
    fl_fleet_cache_io io = {e->sh.cache, cache_take_puts, cache_take_wanted, cache_store};
    fl_fleet_cache_attach(e->fleet, &io);
    fl__kvc_fleet(e->sh.cache, 1);
    return rc;
}

fl_fleet_t *fl_engine_fleet(fl_engine_t *e) { return e ? e->fleet : NULL; }

/* Make v current; the engine takes over the caller's reference.  The
 * version's resilience declarations are applied first (in place, keeping
 * counts), so its first decision already sees its breakers. */
static int publish(fl_engine_t *e, fl_version *v)
{
    const char *src[4] = {v->id, v->name, v->label, v->source};
    for (int i = 0; i < 4; i++) /* once per version: a republished one has them */
        if (src[i] && !v->info[i] && !(v->info[i] = intern(e, src[i]))) return FL_ENOMEM;
    for (uint32_t i = 0; i < v->nrdecls; i++) {
        fl_diag_t d;
        int rc = fl_resil_apply(e->sh.resil, v->rdecls[i], &d);
        if (rc != FL_OK) return rc;
    }
    int frc = fleet_follow(e, v);
    if (frc != FL_OK) return frc;
    /* Grow the history before taking the swap lock: nothing that can fail
     * or take long happens while deciders might wait on it. */
    fl_version **h = malloc((e->nhistory + 1) * sizeof *h);
    fl_version **drop = malloc((e->nhistory + 1) * sizeof *drop);
    if (!h || !drop) {
        free(h);
        free(drop);
        return FL_ENOMEM;
    }
    uint32_t ndrop = 0, n = 0;
    fl_version **old;
    pthread_mutex_lock(&e->sh.swap);
    /* An id is listed once: an older entry with the same content goes. */
    for (uint32_t i = 0; i < e->nhistory; i++)
        if (e->history[i] != v && strcmp(e->history[i]->id, v->id) == 0) drop[ndrop++] = e->history[i];
        else h[n++] = e->history[i];
    h[n++] = v;
    e->nhistory = n;
    old = e->history;
    e->history = h;
    e->sh.current = v;
    if (e->nhistory > e->opts.versions_kept) {
        drop[ndrop++] = e->history[0];
        memmove(e->history, e->history + 1, --e->nhistory * sizeof *h);
    }
    atomic_fetch_add_explicit(&e->sh.gen, 1, memory_order_release);
    pthread_mutex_unlock(&e->sh.swap);
    free(old);
    for (uint32_t i = 0; i < ndrop; i++) fl_version_unref(drop[i]);
    free(drop);
    if (ndrop) trim_heap();
    return FL_OK;
}

/* Load, compile and validate v (sources already in place). */
static int build_version(fl_engine_t *e, fl_version *v, fl_diag_t *diag)
{
    int rc = fl_load_sources(v, &e->opts, NULL, diag);
    if (rc == FL_OK) rc = fl_compile(v, &e->opts, diag);
    if (rc == FL_OK) rc = fl_run_examples(&e->sh, v, diag);
    if (rc == FL_OK) v->loaded_at_ms = fl_now_ms();
    return rc;
}

static int same_as_current(fl_engine_t *e, const fl_version *v)
{
    pthread_mutex_lock(&e->sh.swap);
    int same = e->sh.current && strcmp(e->sh.current->id, v->id) == 0 && e->sh.current->from_dir == v->from_dir &&
               strcmp(e->sh.current->source, v->source) == 0;
    pthread_mutex_unlock(&e->sh.swap);
    return same;
}

/* The serving version v's alerts and log declarations take effect: after
 * a load, a reload and a rollback.  Under e->load (v cannot go). */
static void apply_observers(fl_engine_t *e, const fl_version *v)
{
    atomic_store(&e->obs_stale, 0);
    if (!v) return;
    fl__alerts_apply(e, v);
    fl__declog_apply(e, v);
}

/* Build v (sources in place) and, if do_publish, publish it -- unless its
 * content is the current version's, which is then kept.  Takes the
 * caller's reference on v.  Loads are serialised by e->load. */
static int finish_load(fl_engine_t *e, fl_version *v, int do_publish, fl_diag_t *diag)
{
    int publishing = do_publish;
    pthread_mutex_lock(&e->load);
    fl_shared_bury(&e->sh);
    fl_version_hash(v);
    int rc = FL_OK;
    if (do_publish && same_as_current(e, v)) {
        do_publish = 0; /* unchanged: nothing to build or publish */
    } else {
        rc = build_version(e, v, diag);
        if (rc == FL_OK && do_publish) {
            prebuild(e, v); /* before it is visible: no decider waits for a state */
            start_probation(e, v);
            rc = publish(e, v);
            if (rc == FL_OK) {
                apply_observers(e, v); /* still referenced: the engine holds it, under e->load */
                v = NULL;              /* the engine holds it now */
            }
        }
    }
    if (rc == FL_OK && !do_publish && publishing && atomic_load(&e->obs_stale)) apply_observers(e, e->sh.current);
    if (v) fl_version_unref(v);
    pthread_mutex_unlock(&e->load);
    if (publishing) fl__metrics_reload(e, rc != FL_OK ? 2 : do_publish ? 0 : 1);
    return rc;
}

/* Read dir once; its content id goes to id_out (when not NULL) and, when it
 * equals skip_ids[0] or skip_ids[1], nothing is built (*skipped = 1). */
static int load_dir(fl_engine_t *e, const char *dir, int do_publish, const char *const *skip_ids, char *id_out,
                    int *skipped, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (id_out) id_out[0] = '\0';
    if (skipped) *skipped = 0;
    if (!e || !dir) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine or directory");
    fl_version *v = fl_version_new();
    if (!v || !(v->source = strdup(dir))) {
        fl_version_unref(v);
        return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    v->from_dir = 1;
    struct stat st;
    const unsigned char *pk = e->has_key ? e->trusted_key : NULL;
    int bundle = stat(dir, &st) == 0 && S_ISREG(st.st_mode);
    int rc = bundle ? fl__bundle_read_sources(v, dir, pk, diag) : fl_read_policy_dir(v, dir, diag);
    if (rc == FL_OK && !bundle) rc = fl__trust_check_dir(v, dir, pk, diag);
    if (rc != FL_OK) {
        fl_version_unref(v);
        return rc;
    }
    if (id_out || skip_ids) fl_version_hash(v);
    if (id_out) memcpy(id_out, v->id, sizeof v->id);
    for (int i = 0; skip_ids && i < 2; i++)
        if (skip_ids[i] && strcmp(skip_ids[i], v->id) == 0) {
            fl_version_unref(v);
            if (skipped) *skipped = 1;
            return FL_OK;
        }
    return finish_load(e, v, do_publish, diag);
}

int fl_engine_load(fl_engine_t *e, const char *dir, fl_diag_t *diag) { return load_dir(e, dir, 1, NULL, NULL, NULL, diag); }
int fl_engine_check(fl_engine_t *e, const char *dir, fl_diag_t *diag) { return load_dir(e, dir, 0, NULL, NULL, NULL, diag); }

int fl_engine_load_dir_id(fl_engine_t *e, const char *dir, const char *const skip_ids[2], char id_out[17],
                          int *skipped, fl_diag_t *diag)
{
    return load_dir(e, dir, 1, skip_ids, id_out, skipped, diag);
}

fl_version *fl_engine_kept(fl_engine_t *e, const char *id)
{
    fl_version *v = NULL;
    if (!e || !id) return NULL;
    pthread_mutex_lock(&e->sh.swap);
    for (uint32_t i = 0; i < e->nhistory && !v; i++)
        if (strcmp(e->history[i]->id, id) == 0) v = e->history[i];
    if (v) fl_version_ref(v);
    pthread_mutex_unlock(&e->sh.swap);
    return v;
}

int fl_engine_load_string(fl_engine_t *e, const char *name, const char *src, size_t len, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !name || !src) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, name or source");
    if (e->has_key)
        return fl_diag_set(diag, FL_ESIGNATURE, name, 0, 0,
                           "the engine only loads signed bundles or directories; a string cannot be signed");
    if (len == FL_NUL_TERMINATED) len = strlen(src);
    if (len > FL_MAX_POLICY_SOURCE_BYTES)
        return fl_diag_set(diag, FL_ETOOBIG, name, 0, 0, "policy source is %zu bytes; the limit is %u", len,
                           FL_MAX_POLICY_SOURCE_BYTES);
    fl_version *v = fl_version_new();
    if (!v) return FL_ENOMEM;
    v->src_names = calloc(1, sizeof *v->src_names);
    v->src_texts = calloc(1, sizeof *v->src_texts);
    v->src_lens = calloc(1, sizeof *v->src_lens);
    v->source = strdup(name);
    if (v->src_names && v->src_texts && v->src_lens) {
        v->nsrcs = 1;
        v->src_names[0] = strdup(name);
        v->src_texts[0] = malloc(len + 1);
        if (v->src_texts[0]) {
            memcpy(v->src_texts[0], src, len);
            v->src_texts[0][len] = '\0';
        }
        v->src_lens[0] = len;
    }
    if (!v->source || !v->nsrcs || !v->src_names[0] || !v->src_texts[0]) {
        fl_version_unref(v);
        return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return finish_load(e, v, 1, diag);
}

/* Strings from the engine's interned copies (valid until fl_engine_free). */
static fl_version_info_t info_of(const fl_version *v, const fl_version *current)
{
    return (fl_version_info_t){v->info[0], v->info[1], v->info[2], v->info[3], v->loaded_at_ms,
                               v->nrules, v->nexamples, v == current};
}

int fl_engine_current(fl_engine_t *e, fl_version_info_t *out)
{
    if (!e || !out) return FL_EINVAL;
    pthread_mutex_lock(&e->sh.swap);
    fl_version *v = e->sh.current;
    if (v) {
        *out = info_of(v, v);
    }
    pthread_mutex_unlock(&e->sh.swap);
    return v ? FL_OK : FL_ESTATE;
}

int fl_engine_versions(fl_engine_t *e, fl_version_info_t *out, size_t cap, size_t *count)
{
    if (!e || !count || (!out && cap)) return FL_EINVAL;
    pthread_mutex_lock(&e->sh.swap);
    *count = e->nhistory;
    for (size_t i = 0; i < cap && i < e->nhistory; i++)
        out[i] = info_of(e->history[e->nhistory - 1 - i], e->sh.current);
    pthread_mutex_unlock(&e->sh.swap);
    return FL_OK;
}

/* The kept version matching id (a prefix of >= 4 hex digits), or NULL with
 * *status saying why. */
static fl_version *find_kept(fl_engine_t *e, const char *id, int *status)
{
    fl_version *found = NULL;
    *status = FL_ENOENT;
    if (!id) {
        for (uint32_t i = e->nhistory; i-- > 0;)
            if (e->history[i] != e->sh.current) return *status = FL_OK, e->history[i];
        return NULL;
    }
    size_t n = strlen(id);
    if (n < 4 || n > 16) return *status = FL_EINVAL, NULL;
    for (uint32_t i = 0; i < e->nhistory; i++)
        if (strncmp(e->history[i]->id, id, n) == 0) {
            if (found && found != e->history[i] && strcmp(found->id, e->history[i]->id) != 0)
                return *status = FL_EINVAL, NULL;
            found = e->history[i];
        }
    if (found) *status = FL_OK;
    return found;
}

/* Republish the kept version matching id (NULL: the previous one).  The
 * caller holds e->load. */
static int rollback_locked(fl_engine_t *e, const char *id, fl_diag_t *diag)
{
    pthread_mutex_lock(&e->sh.swap);
    int st;
    fl_version *v = find_kept(e, id, &st);
    if (v) fl_version_ref(v);
    pthread_mutex_unlock(&e->sh.swap);
    if (!v) {
        return fl_diag_set(diag, st, NULL, 0, 0, st == FL_EINVAL ? "version id '%s' is ambiguous or too short"
                                                                  : "no kept version matches '%s'",
                           id ? id : "(previous)");
    }
    /* Republishing moves it to the newest slot; drop its older entry so a
     * version appears in the history once. */
    pthread_mutex_lock(&e->sh.swap);
    for (uint32_t i = 0; i < e->nhistory; i++)
        if (e->history[i] == v) {
            memmove(e->history + i, e->history + i + 1, (e->nhistory - i - 1) * sizeof *e->history);
            e->nhistory--;
            fl_version_unref(v); /* the history's reference; ours is still held */
            break;
        }
    pthread_mutex_unlock(&e->sh.swap);
    atomic_store(&v->canary_until_ns, 0); /* a version put back is not on probation */
    int rc = publish(e, v);
    if (rc != FL_OK) fl_version_unref(v);
    return rc;
}

int fl_engine_rollback(fl_engine_t *e, const char *id, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine");
    pthread_mutex_lock(&e->load);
    int rc = rollback_locked(e, id, diag);
    if (rc == FL_OK) apply_observers(e, e->sh.current); /* current changes only under e->load */
    pthread_mutex_unlock(&e->load);
    return rc;
}

/* ---- canary ------------------------------------------------------------------ */

/* A new version goes on probation: its health is compared with the version
 * it replaces (docs/operations.md).  Called before publish, under e->load. */
static void start_probation(fl_engine_t *e, fl_version *v)
{
    pthread_mutex_lock(&e->sh.swap);
    fl_version *old = e->sh.current;
    if (old) fl_version_ref(old);
    pthread_mutex_unlock(&e->sh.swap);
    if (!old || v->canary.off) goto done;
    uint64_t dec = atomic_load(&old->health.decisions);
    v->base_valid = dec >= v->canary.min_decisions && dec > 0;
    if (dec) {
        v->base_failure = (double)atomic_load(&old->health.failures) / (double)dec;
        v->base_unknown = (double)atomic_load(&old->health.unknown) / (double)dec;
        v->base_fail = (double)atomic_load(&old->health.fails) / (double)dec;
    }
    atomic_store(&v->canary_until_ns, fl_mono_ns() + (uint64_t)v->canary.watch_ms * 1000000ull);
done:
    fl_version_unref(old);
}

/* The body of the thread canary_trip starts: it holds a reference on the
 * engine, so the engine lives until it is done (and may be freed here). */
static void *apply_observers_main(void *arg)
{
    fl_engine_t *e = arg;
    pthread_mutex_lock(&e->load);
    if (atomic_load(&e->obs_stale)) apply_observers(e, e->sh.current); /* under load: current stays */
    pthread_mutex_unlock(&e->load);
    fl_engine_release(e);
    return NULL;
}

/* Apply the serving version's observers off the deciding thread.  If the
 * thread cannot start, obs_stale stays set for the next load. */
static void apply_observers_later(fl_engine_t *e)
{
    pthread_t t;
    pthread_attr_t a;
    atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed); /* the caller's context holds one too */
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, apply_observers_main, e) != 0)
        atomic_fetch_sub_explicit(&e->refs, 1, memory_order_relaxed);
    pthread_attr_destroy(&a);
}

/* sh->on_canary: on a deciding thread, so it never waits for a load in
 * progress -- it clears the trip flag and the next flush asks again. */
static void canary_trip(struct fl_shared *sh, fl_version *v, const char *why)
{
    fl_engine_t *e = (fl_engine_t *)((char *)sh - offsetof(fl_engine_t, sh));
    if (pthread_mutex_trylock(&e->load) != 0) {
        atomic_store(&v->canary_tripped, 0);
        return;
    }
    pthread_mutex_lock(&e->sh.swap);
    int still_current = e->sh.current == v;
    fl_version *prev = NULL;
    for (uint32_t i = e->nhistory; still_current && i-- > 0;)
        if (e->history[i] != v) {
            prev = e->history[i];
            break;
        }
    char bad[17], good[17] = "";
    snprintf(bad, sizeof bad, "%s", v->id);
    if (prev) snprintf(good, sizeof good, "%s", prev->id);
    pthread_mutex_unlock(&e->sh.swap);
    fl_diag_t d;
    int rc = prev ? rollback_locked(e, good, &d) : FL_ENOENT;
    if (rc == FL_OK) atomic_store(&e->obs_stale, 1);
    pthread_mutex_unlock(&e->load);
    if (rc == FL_OK) apply_observers_later(e);
    if (rc == FL_OK && e->opts.on_canary) e->opts.on_canary(e->opts.on_canary_user, bad, good, why);
}

int fl_engine_reload(fl_engine_t *e, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine");
    char dir[4096] = "";
    pthread_mutex_lock(&e->sh.swap);
    int ok = e->sh.current && e->sh.current->from_dir;
    if (ok) snprintf(dir, sizeof dir, "%s", e->sh.current->source);
    pthread_mutex_unlock(&e->sh.swap);
    if (!ok) return fl_diag_set(diag, FL_ESTATE, NULL, 0, 0, "the current version was not loaded from a directory");
    return fl_engine_load(e, dir, diag);
}

/* ---- contexts -------------------------------------------------------------- */

int fl_ctx_new(fl_engine_t *e, fl_ctx_t **out)
{
    if (!e || !out) return FL_EINVAL;
    int rc = fl_ctx_open(&e->sh, e, out);
    if (rc == FL_OK) fl_engine_retain(e); /* the engine outlives its contexts */
    return rc;
}

void fl_ctx_free(fl_ctx_t *c)
{
    if (!c) return;
    fl_engine_t *e = c->engine;
    fl_ctx_close(c);
    fl_engine_release(e);
}
