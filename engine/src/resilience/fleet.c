/*
 * fleet.c -- fleet-scoped breakers: state shared across instances through
 * Redis, off the decide path.
 *
 * One background thread per synchroniser.  Every sync_ms it runs, for each
 * breaker declared with scope = fleet, one Lua script on Redis (atomic, one
 * round trip) that
 *   - drops expired reports from the sorted set PREFIX b:NAME (score =
 *     expiry in Redis's own clock, so instance clocks need not agree),
 *   - adds this instance's reports "INSTANCE \x1f KEY" for the keys its own
 *     window opened (TTL ttl_ms),
 *   - returns every live report and the hash PREFIX f:NAME of fleet-wide
 *     forced states (field = key, value = "forced_open" | "disabled" |
 *     "closed").
 * A key reported open by at least `quorum` instances is opened here
 * (fl_breaker_trip); its generation is remembered so that a key opened by
 * the fleet is not re-published as this instance's own verdict (otherwise
 * the fleet would keep itself open).  Forced states are applied when they
 * change.
 *
 * A breaker with mode = shared publishes no opens: a second script adds
 * its keys' new counts to time buckets in Redis (PREFIX s:NAME \x1f KEY)
 * and returns the rest of the fleet's, which breaker.c adds to the key's own
 * window (fl_breaker_shared_others opens a key whose sum crosses a
 * threshold).  A shared-mode failure asks for an early round (at most one
 * per min(sync_ms / 4, 40 ms)).
 *
 * Redis traffic per instance is one command per fleet breaker per sync_ms,
 * whatever the decision rate, plus one round when a fleet-scoped key's own
 * window opens (breaker.c sets r->fleet_kick; the thread looks every 5 ms),
 * so an open is published at once rather than up to sync_ms later.  Deciding never touches this file.  When a
 * round fails (connect or command timeout, error reply) it is counted as a
 * fallback, logged once until a round succeeds, the connection is dropped
 * and re-made with exponential backoff (sync_ms .. 2 s).  Reports are
 * re-published every round, so a restarted Redis is reconciled within one
 * round of every instance.
 */
#include <errno.h>
#include <stdarg.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "resilience/resilience.h"

#define FLEET_MAX_SYNC 60000u
#define KICK_MS 5

/* Per fleet key memory of this instance (keymap state). */
typedef struct fl_fmem {
    _Atomic uint64_t tripped_gen; /* generation of an open we made from quorum */
    _Atomic int forced;           /* last forced value applied, -1 none        */
    int64_t after_grant;          /* limiter: lease right after our last grant */
    int64_t pub_calls, pub_retries; /* budget: cumulative counts published */
    int64_t pub_shared[3];          /* shared breaker: cumulative counts published */
} fl_fmem;

struct fl_fleet {
    fl_resil_t *r;
    char *host, *password, *user, *prefix, *instance;
    int port, db;
    uint32_t sync_ms, quorum, ttl_ms, timeout_ms;
    fl_fleet_log_fn log;
    void *log_user;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    redisContext *c;
    int ever_connected, down_logged;
    int64_t next_try_ms, backoff_ms;
    int64_t last_round_ms, round_ms; /* start of the last round; time between rounds */
    fl_keymap mem; /* "NAME\x1fKEY" -> fl_fmem */
    fl_fleet_cache_io cache; /* the stale-cache store; guarded by mu */
    _Atomic uint64_t syncs, fallbacks, reconnects, fleet_opens, forced, commands, leased;
    _Atomic int connected;
};

/* The round script.  KEYS[1] reports zset, KEYS[2] forced hash;
 * ARGV[1] ttl_ms, ARGV[2..] members to report. */
static const char ROUND_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
    "local exp = now + tonumber(ARGV[1])\n"
    "for i = 2, #ARGV do redis.call('ZADD', KEYS[1], exp, ARGV[i]) end\n"
    "if #ARGV > 1 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2) end\n"
    "return { redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[2]) }\n";

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_line(fl_fleet_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_line(fl_fleet_t *f, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (f->log)
        f->log(f->log_user, buf);
    else
        fprintf(stderr, "faultline: fleet: %s\n", buf);
}

static void *fmem_new(void *arg)
{
    fl_fmem *m = calloc(1, sizeof *m);
    (void)arg;
    if (m)
        atomic_init(&m->forced, -1);
    return m;
}

/* ---- configuration -------------------------------------------------------- */

/* Parse redis://[[user]:password@]host[:port][/db].  Never echoes the URL
 * (it may hold a password). */
static int parse_url(fl_fleet_t *f, const char *url, fl_diag_t *diag)
{
    const char *p, *at, *hs, *he, *slash;
    char *end;
    if (strncmp(url, "redis://", 8) != 0) {
        fl_rdiag(diag, FL_EINVAL, "fleet: redis URL must start with redis://");
        return FL_EINVAL;
    }
    p = url + 8;
    slash = strchr(p, '/');
    at = strrchr(p, '@');
    if (at && slash && at > slash)
        at = NULL;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (colon > p && !(f->user = strndup(p, (size_t)(colon - p))))
                return FL_ENOMEM;
            if (!(f->password = strndup(colon + 1, (size_t)(at - colon - 1))))
                return FL_ENOMEM;
        } else if (!(f->password = strndup(p, (size_t)(at - p)))) {
            return FL_ENOMEM;
        }
        p = at + 1;
    }
    hs = p;
    he = slash ? slash : p + strlen(p);
    {
        const char *colon = memchr(hs, ':', (size_t)(he - hs));
        const char *hend = colon ? colon : he;
        if (hend == hs) {
            fl_rdiag(diag, FL_EINVAL, "fleet: redis URL has no host");
            return FL_EINVAL;
        }
        if (!(f->host = strndup(hs, (size_t)(hend - hs))))
            return FL_ENOMEM;
        f->port = 6379;
        if (colon) {
            long port;
            errno = 0;
            port = strtol(colon + 1, &end, 10);
            if (errno || end != he || port < 1 || port > 65535) {
                fl_rdiag(diag, FL_EINVAL, "fleet: redis URL port must be 1..65535");
                return FL_EINVAL;
            }
            f->port = (int)port;
        }
    }
    f->db = 0;
    if (slash && slash[1]) {
        long db;
        errno = 0;
        db = strtol(slash + 1, &end, 10);
        if (errno || *end || db < 0 || db > 1000000) {
            fl_rdiag(diag, FL_EINVAL, "fleet: redis URL database must be a number");
            return FL_EINVAL;
        }
        f->db = (int)db;
    }
    return FL_OK;
}

static int read_password_file(fl_fleet_t *f, const char *path, fl_diag_t *diag)
{
    char buf[1024];
    size_t n;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fl_rdiag(diag, FL_EIO, "fleet: cannot read password_file %s: %s", path, strerror(errno));
        return FL_EIO;
    }
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    buf[strcspn(buf, "\r\n")] = 0;
    free(f->password);
    f->password = strdup(buf);
    memset(buf, 0, sizeof buf);
    return f->password ? FL_OK : FL_ENOMEM;
}

static void fleet_free(fl_fleet_t *f)
{
    if (!f)
        return;
    if (f->password) {
        memset(f->password, 0, strlen(f->password));
        free(f->password);
    }
    free(f->user);
    free(f->host);
    free(f->prefix);
    free(f->instance);
    if (f->c)
        redisFree(f->c);
    free(f);
}

static int configure(fl_fleet_t *f, const fl_fleet_config_t *cfg, fl_diag_t *diag)
{
    int rc;
    if (!cfg->redis || !cfg->redis[0]) {
        fl_rdiag(diag, FL_EINVAL, "fleet: redis URL is required");
        return FL_EINVAL;
    }
    if ((rc = parse_url(f, cfg->redis, diag)) != FL_OK)
        return rc;
    if (cfg->password_file && (rc = read_password_file(f, cfg->password_file, diag)) != FL_OK)
        return rc;
    f->sync_ms = cfg->sync_ms ? cfg->sync_ms : 100;
    if (f->sync_ms < 10 || f->sync_ms > FLEET_MAX_SYNC) {
        fl_rdiag(diag, FL_EINVAL, "fleet: sync_ms must be in 10..60000");
        return FL_EINVAL;
    }
    f->quorum = cfg->quorum ? cfg->quorum : 2;
    f->ttl_ms = cfg->ttl_ms ? cfg->ttl_ms : 3 * f->sync_ms;
    if (f->ttl_ms < f->sync_ms) {
        fl_rdiag(diag, FL_EINVAL, "fleet: ttl_ms must be >= sync_ms");
        return FL_EINVAL;
    }
    f->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 50;
    if (f->timeout_ms > 60000) {
        fl_rdiag(diag, FL_EINVAL, "fleet: timeout_ms must be <= 60000");
        return FL_EINVAL;
    }
    f->prefix = strdup(cfg->prefix ? cfg->prefix : "fl:");
    if (cfg->instance) {
        f->instance = strdup(cfg->instance);
    } else {
        char host[128] = "host", buf[256];
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = 0;
        snprintf(buf, sizeof buf, "%s:%ld:%08llx", host, (long)getpid(),
                 (unsigned long long)(fl_resil_rand(f->r, 0xffffffffu)));
        f->instance = strdup(buf);
    }
    if (!f->prefix || !f->instance)
        return FL_ENOMEM;
    if (strchr(f->instance, '\x1f')) {
        fl_rdiag(diag, FL_EINVAL, "fleet: instance id must not contain \\x1f");
        return FL_EINVAL;
    }
    f->log = cfg->log;
    f->log_user = cfg->log_user;
    return FL_OK;
}

/* ---- connection ----------------------------------------------------------- */

static redisReply *cmd(fl_fleet_t *f, redisContext *c, int argc, const char **argv,
                       const size_t *lens)
{
    if (f)
        atomic_fetch_add_explicit(&f->commands, 1, memory_order_relaxed);
    return redisCommandArgv(c, argc, argv, lens);
}

/* What a sync round owns at its end: the reply, the argument strings it
 * formatted (owned[0..nown)) and the argument vector. */
static void round_free(redisReply *rep, char **owned, size_t nown, const char **av)
{
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < nown; i++)
        free(owned[i]);
    free(owned);
    free((void *)av);
}

/* Run a script round's command and check its reply: an array of `want`
 * elements.  The reply (free with freeReplyObject), or NULL with err set
 * (not connected, the connection's error, the script's error prefixed by
 * `what`, or a reply of another shape). */
static redisReply *script_call(fl_fleet_t *f, int argc, const char **argv, const size_t *lens, size_t want,
                               const char *what, char *err, size_t errcap)
{
    if (!f->c) {
        snprintf(err, errcap, "not connected");
        return NULL;
    }
    redisReply *rep = cmd(f, f->c, argc, argv, lens);
    if (!rep) {
        snprintf(err, errcap, "%s", f->c->errstr[0] ? f->c->errstr : "no reply");
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR)
        snprintf(err, errcap, "%s refused: %.200s", what, rep->str);
    else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != want)
        snprintf(err, errcap, "unexpected reply");
    else
        return rep;
    freeReplyObject(rep);
    return NULL;
}

/* Connect, authenticate, select.  NULL and errbuf on failure. */
static redisContext *connect_to(fl_fleet_t *f, char *err, size_t errcap)
{
    struct timeval tv = {(time_t)(f->timeout_ms / 1000), (suseconds_t)(f->timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(f->host, f->port, tv);
    redisReply *rep;
    if (!c || c->err) {
        snprintf(err, errcap, "%s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (f->password) {
        const char *av[3] = {"AUTH", f->user ? f->user : f->password, f->password};
        int ac = f->user ? 3 : 2;
        if (!f->user)
            av[1] = f->password;
        rep = cmd(f, c, ac, av, NULL);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errcap, "authentication refused");
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(rep);
    }
    if (f->db) {
        char db[16];
        const char *av[2] = {"SELECT", db};
        snprintf(db, sizeof db, "%d", f->db);
        rep = cmd(f, c, 2, av, NULL);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errcap, "SELECT %d refused", f->db);
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(rep);
    }
    return c;
}

static void round_failed(fl_fleet_t *f, const char *why)
{
    int64_t now = mono_ms();
    atomic_fetch_add_explicit(&f->fallbacks, 1, memory_order_relaxed);
    atomic_store_explicit(&f->connected, 0, memory_order_relaxed);
    atomic_store_explicit(&f->r->fleet_up, 0, memory_order_relaxed);
    if (!f->down_logged) {
        log_line(f, "redis at %s:%d unavailable (%s); deciding on local state", f->host, f->port,
                 why);
        f->down_logged = 1;
    }
    if (f->c) {
        redisFree(f->c);
        f->c = NULL;
    }
    f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : (int64_t)f->sync_ms;
    if (f->backoff_ms > 2000)
        f->backoff_ms = 2000;
    f->next_try_ms = now + f->backoff_ms;
}

/* ---- one round ------------------------------------------------------------ */

typedef struct kref {
    char *key;
    void *s;
} kref;

typedef struct klist {
    kref *v;
    size_t n, cap;
} klist;

static int klist_add(klist *l, const char *key, void *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        kref *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    if (!(l->v[l->n].key = strdup(key)))
        return -1;
    l->v[l->n++].s = s;
    return 0;
}

static void klist_free(klist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
}

/* Every key state of a breaker (the default key as ""). */
static void collect_keys(fl_robj *o, klist *l)
{
    klist_add(l, "", o->dflt);
    for (int i = 0; i < FL_KM_SHARDS; i++) {
        fl_kshard *sh = &o->keys.shard[i];
        fl_ktable *t;
        pthread_mutex_lock(&sh->mu);
        t = atomic_load_explicit(&sh->tab, memory_order_acquire);
        for (uint32_t j = 0; t && j < t->cap; j++) {
            fl_kentry *e = atomic_load_explicit(&t->slot[j], memory_order_acquire);
            if (e && e->state != o->keys.overflow)
                klist_add(l, e->key, e->state);
        }
        pthread_mutex_unlock(&sh->mu);
    }
}

static fl_fmem *mem_of(fl_fleet_t *f, const char *name, const char *key)
{
    char buf[FL_RNAME_MAX + 1 + 512];
    int n = snprintf(buf, sizeof buf, "%s\x1f%s", name, key);
    if (n < 0 || (size_t)n >= sizeof buf)
        return NULL;
    return fl_keymap_get(&f->mem, buf, fl_key_hash(buf), NULL);
}

static int parse_forced(const char *v)
{
    if (strcmp(v, "forced_open") == 0)
        return FL_BREAKER_FORCED_OPEN;
    if (strcmp(v, "disabled") == 0)
        return FL_BREAKER_DISABLED;
    if (strcmp(v, "closed") == 0)
        return FL_BREAKER_CLOSED;
    return -1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sync one breaker.  0 ok, -1 Redis failed (errbuf). */
static int sync_breaker(fl_fleet_t *f, fl_robj *o, char *err, size_t errcap)
{
    const fl_bcfg *bc = atomic_load_explicit(&o->cfg, memory_order_acquire);
    int shared = bc->mode == FL_FLEET_SHARED; /* no open reports: counts instead */
    klist keys = {0};
    const char **av = NULL;
    size_t *lens = NULL;
    char **owned = NULL;
    size_t nown = 0, ac = 0;
    char zkey[512], hkey[512], ttl[24], script_len[8];
    redisReply *rep = NULL;
    int64_t now = fl_resil_clock(f->r);
    int rc = -1;

    collect_keys(o, &keys);
    av = calloc(keys.n + 6, sizeof *av);
    lens = calloc(keys.n + 6, sizeof *lens);
    owned = calloc(keys.n + 1, sizeof *owned);
    if (!av || !lens || !owned) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    snprintf(zkey, sizeof zkey, "%sb:%s", f->prefix, o->name);
    snprintf(hkey, sizeof hkey, "%sf:%s", f->prefix, o->name);
    snprintf(ttl, sizeof ttl, "%u", f->ttl_ms);
    (void)script_len;
    av[ac++] = "EVAL";
    av[ac++] = ROUND_LUA;
    av[ac++] = "2";
    av[ac++] = zkey;
    av[ac++] = hkey;
    av[ac++] = ttl;
    for (size_t i = 0; i < keys.n; i++) {
        uint64_t gen;
        unsigned st = fl_breaker_raw(keys.v[i].s, &gen);
        fl_fmem *m;
        if (st != FL_BREAKER_OPEN || shared)
            continue;
        m = mem_of(f, o->name, keys.v[i].key);
        if (m && atomic_load_explicit(&m->tripped_gen, memory_order_relaxed) == gen)
            continue; /* opened by the fleet, not by our own window */
        {
            size_t n = strlen(f->instance) + 1 + strlen(keys.v[i].key) + 1;
            char *mb = malloc(n);
            if (!mb)
                continue;
            snprintf(mb, n, "%s\x1f%s", f->instance, keys.v[i].key);
            owned[nown++] = mb;
            av[ac++] = mb;
        }
    }
    for (size_t i = 0; i < ac; i++)
        lens[i] = strlen(av[i]);
    rep = script_call(f, (int)ac, av, lens, 2, "script", err, errcap);
    if (!rep)
        goto out;
    /* Count reports per key (members are unique per instance and key):
     * sort the keys, count runs. */
    {
        redisReply *mem = rep->element[0];
        size_t nm = 0;
        const char **ks = mem->type == REDIS_REPLY_ARRAY && mem->elements
                              ? malloc(mem->elements * sizeof *ks)
                              : NULL;
        for (size_t i = 0; ks && i < mem->elements; i++) {
            const char *sep;
            if (mem->element[i]->type != REDIS_REPLY_STRING)
                continue;
            if ((sep = strchr(mem->element[i]->str, '\x1f')))
                ks[nm++] = sep + 1;
        }
        if (nm)
            qsort(ks, nm, sizeof *ks, cmp_str);
        for (size_t i = 0; i < nm;) {
            size_t j = i + 1;
            while (j < nm && strcmp(ks[j], ks[i]) == 0)
                j++;
            if (j - i >= f->quorum) {
                const char *stored;
                fl_bstate *s = fl_robj_state(o, ks[i], fl_key_hash(ks[i]), &stored);
                uint64_t gen;
                if (s && fl_breaker_trip(o, s, stored, now, &gen)) {
                    fl_fmem *m = mem_of(f, o->name, stored);
                    if (m)
                        atomic_store_explicit(&m->tripped_gen, gen, memory_order_relaxed);
                    atomic_fetch_add_explicit(&f->fleet_opens, 1, memory_order_relaxed);
                }
            }
            i = j;
        }
        free(ks);
    }
    /* Fleet-wide forced states. */
    {
        redisReply *h = rep->element[1];
        for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
            const char *k = h->element[i]->str, *v = h->element[i + 1]->str;
            int want = v ? parse_forced(v) : -1;
            fl_fmem *m;
            if (!k || want < 0)
                continue;
            m = mem_of(f, o->name, k);
            if (!m || atomic_load_explicit(&m->forced, memory_order_relaxed) == want)
                continue;
            if (want == FL_BREAKER_CLOSED &&
                atomic_load_explicit(&m->forced, memory_order_relaxed) < 0) {
                atomic_store_explicit(&m->forced, want, memory_order_relaxed);
                continue; /* a release we never saw forced: nothing to undo */
            }
            if (fl_breaker_set_state(f->r, o->name, k[0] ? k : NULL, (fl_breaker_state)want) ==
                FL_OK) {
                atomic_store_explicit(&m->forced, want, memory_order_relaxed);
                atomic_fetch_add_explicit(&f->forced, 1, memory_order_relaxed);
            }
        }
    }
    rc = 0;
out:
    round_free(rep, owned, nown, av);
    free(lens);
    klist_free(&keys);
    return rc;
}

/* The shared-mode script.  KEYS[i]: the hash of one breaker key's counts,
 * fields "BUCKET:KIND:INSTANCE" (KIND c calls, f failures, s slow; BUCKET
 * in Redis's clock).  ARGV[1] bucket ms, ARGV[2] buckets in the window,
 * ARGV[3] this instance, then per key: new calls, failures, slow calls, and
 * how many ms ago the key last closed here (-1 never).  Adds this
 * instance's new counts to the current bucket, drops buckets out of the
 * window, and returns per key the other instances' counts in the buckets
 * that began after the key closed here. */
static const char SHARED_LUA[] =
    "local t = redis.call('TIME')\n"
    "local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local bms, nb, me = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]\n"
    "local b = math.floor(ms / bms)\n"
    "local kinds = { 'c', 'f', 's' }\n"
    "local out = {}\n"
    "for i = 1, #KEYS do\n"
    "  local k, a = KEYS[i], 3 + 4 * (i - 1)\n"
    "  for j = 1, 3 do\n"
    "    local d = tonumber(ARGV[a + j])\n"
    "    if d ~= 0 then redis.call('HINCRBY', k, b .. ':' .. kinds[j] .. ':' .. me, d) end\n"
    "  end\n"
    "  local age = tonumber(ARGV[a + 4])\n"
    "  local cut = age >= 0 and ms - age or -1\n"
    "  local n = { c = 0, f = 0, s = 0 }\n"
    "  local all = redis.call('HGETALL', k)\n"
    "  for j = 1, #all, 2 do\n"
    "    local fb, kind, inst = string.match(all[j], '^(%d+):(%a):(.*)$')\n"
    "    fb = tonumber(fb)\n"
    "    if not fb or fb <= b - nb then redis.call('HDEL', k, all[j])\n"
    "    elseif inst ~= me and fb * bms >= cut then n[kind] = (n[kind] or 0) + tonumber(all[j + 1]) end\n"
    "  end\n"
    "  redis.call('PEXPIRE', k, bms * nb * 2)\n"
    "  out[3 * i - 2], out[3 * i - 1], out[3 * i] = n.c, n.f, n.s\n"
    "end\n"
    "return out\n";

/* Shared mode's Redis window: the breaker's own span for a time window,
 * 100 x sync_ms (10 s at the default) for a count window, whose `size`
 * calls cannot be split between instances; buckets of at least sync_ms, at
 * most 20 of them. */
static void shared_window(const fl_fleet_t *f, const fl_bcfg *c, int64_t *bms, int64_t *nb)
{
    int64_t span = c->window == FL_WINDOW_TIME ? (int64_t)c->size * 1000 : 100 * (int64_t)f->sync_ms;
    *bms = span / 20 > (int64_t)f->sync_ms ? span / 20 : (int64_t)f->sync_ms;
    *nb = (span + *bms - 1) / *bms;
}

/* Build the shared script's per-key arguments: new counts since the last
 * published ones, and the age of the key's last close. */
static int shared_args(fl_fleet_t *f, fl_robj *o, klist *keys, const char **av, size_t *ac,
                       char **owned, size_t *nown, int64_t (*cum)[3], fl_fmem **mk)
{
    int64_t now = fl_resil_clock(f->r);
    for (size_t i = 0; i < keys->n; i++) {
        int64_t closed;
        size_t n = strlen(f->prefix) + strlen(o->name) + strlen(keys->v[i].key) + 8;
        char *k = malloc(n);
        if (!k)
            return -1;
        snprintf(k, n, "%ss:%s\x1f%s", f->prefix, o->name, keys->v[i].key);
        owned[(*nown)++] = k;
        av[3 + i] = k;
        fl_breaker_shared_counts(keys->v[i].s, cum[i], &closed);
        if (!(mk[i] = mem_of(f, o->name, keys->v[i].key)))
            return -1;
        for (int j = 0; j < 4; j++) {
            char *a = malloc(24);
            if (!a)
                return -1;
            if (j < 3)
                snprintf(a, 24, "%lld", (long long)(cum[i][j] - mk[i]->pub_shared[j]));
            else
                snprintf(a, 24, "%lld", closed ? (long long)((now - closed) / 1000000) : -1LL);
            owned[(*nown)++] = a;
            av[*ac + 4 * i + (size_t)j] = a;
        }
    }
    *ac += 4 * keys->n;
    return 0;
}

/* Shared mode: publish this instance's new counts of every key of a
 * breaker, learn the rest of the fleet's, and open the keys whose sum
 * crosses a threshold: one command for all its keys.  Counts a failed round
 * could not publish go with the next one that succeeds. */
static int sync_shared(fl_fleet_t *f, fl_robj *o, char *err, size_t errcap)
{
    const fl_bcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
    klist keys = {0};
    const char **av = NULL;
    char **owned = NULL;
    size_t ac, nown = 0, nk;
    char bms_s[24], nb_s[24], nkeys[24];
    redisReply *rep = NULL;
    int64_t(*cum)[3] = NULL, bms, nb;
    fl_fmem **mk = NULL;
    int rc = -1;

    collect_keys(o, &keys);
    nk = keys.n;
    av = calloc(5 * nk + 8, sizeof *av);
    owned = calloc(5 * nk + 1, sizeof *owned);
    cum = calloc(nk + 1, sizeof *cum);
    mk = calloc(nk + 1, sizeof *mk);
    shared_window(f, c, &bms, &nb);
    snprintf(bms_s, sizeof bms_s, "%lld", (long long)bms);
    snprintf(nb_s, sizeof nb_s, "%lld", (long long)nb);
    snprintf(nkeys, sizeof nkeys, "%zu", nk);
    if (!av || !owned || !cum || !mk) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    ac = 3 + nk;
    av[ac++] = bms_s;
    av[ac++] = nb_s;
    av[ac++] = f->instance;
    if (shared_args(f, o, &keys, av, &ac, owned, &nown, cum, mk) != 0) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    av[0] = "EVAL";
    av[1] = SHARED_LUA;
    av[2] = nkeys;
    rep = script_call(f, (int)ac, av, NULL, 3 * nk, "shared breaker script", err, errcap);
    if (!rep)
        goto out;
    for (size_t i = 0; i < nk; i++) {
        int64_t n[3];
        for (int j = 0; j < 3; j++) {
            redisReply *e = rep->element[3 * i + (size_t)j];
            n[j] = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
            mk[i]->pub_shared[j] = cum[i][j];
        }
        if (fl_breaker_shared_others(o, keys.v[i].s, keys.v[i].key[0] ? keys.v[i].key : NULL, n,
                                     fl_resil_clock(f->r)))
            atomic_fetch_add_explicit(&f->fleet_opens, 1, memory_order_relaxed);
    }
    rc = 0;
out:
    round_free(rep, owned, nown, av);
    free(cum);
    free(mk);
    klist_free(&keys);
    return rc;
}

/* The lease script.  KEYS[1]: sorted set of the instances that asked
 * within ttl (score = expiry, Redis clock); KEYS[1 + i]: the GCRA
 * theoretical arrival time (us) of one limiter key.  ARGV[1] interval (us),
 * ARGV[2] burst (us), ARGV[3] this instance, ARGV[4] tokens per round for the
 * whole fleet, ARGV[5] ttl (ms), ARGV[5 + i] the tokens wanted for
 * KEYS[1 + i].  Grants at most what the fleet-wide rate allows now, and at
 * most a fair share of a round (1.25 x the round / instances asking) so the
 * first to ask cannot starve the others; advances the TAT by what it
 * grants. */
static const char LEASE_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local iv, burst = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local ms = math.floor(now / 1000)\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)\n"
    "redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[5]), ARGV[3])\n"
    "redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]) * 2)\n"
    "local n = redis.call('ZCARD', KEYS[1])\n"
    "local share = math.ceil(tonumber(ARGV[4]) * 1.25 / n)\n"
    "local out = {}\n"
    "for i = 2, #KEYS do\n"
    "  local want = tonumber(ARGV[4 + i])\n"
    "  if want > share then want = share end\n"
    "  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
    "  if tat < now then tat = now end\n"
    "  local g = math.floor((now + burst - tat) / iv)\n"
    "  if g > want then g = want end\n"
    "  if g < 0 then g = 0 end\n"
    "  if g > 0 then\n"
    "    tat = tat + g * iv\n"
    "    redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX',\n"
    "               math.ceil((tat - now) / 1000) + 1000)\n"
    "  end\n"
    "  out[i - 1] = g\n"
    "end\n"
    "return out\n";

/* Lease tokens for every key of a fleet-scoped limiter: one command.  Each
 * key asks for 1.5x the attempts it saw since the last round (at least 1),
 * minus what it still holds, capped at two rounds of the full rate. */
static int sync_limiter(fl_fleet_t *f, fl_robj *o, char *err, size_t errcap)
{
    const fl_lcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
    klist keys = {0};
    const char **av = NULL;
    char **owned = NULL;
    size_t ac = 0, nk = 0, nown = 0;
    char iv[32], burst[32], share[32], ttl[24], akey[512];
    redisReply *rep = NULL;
    int rc = -1;
    /* Tokens the fleet earns in one of this instance's rounds, measured
     * (a loaded host's rounds come late: the share must follow). */
    int64_t el = f->round_ms;
    double per_round;
    if (el < (int64_t)f->sync_ms)
        el = f->sync_ms;
    if (el > 10 * (int64_t)f->sync_ms)
        el = 10 * (int64_t)f->sync_ms;
    per_round = (double)el * 1e6 / (double)c->interval_ns;
    int64_t cap = (int64_t)(2 * per_round) + (c->burst_ns / c->interval_ns) + 1;

    collect_keys(o, &keys);
    av = calloc(2 * keys.n + 12, sizeof *av);
    owned = calloc(2 * keys.n + 1, sizeof *owned);
    fl_lstate **ls = calloc(keys.n + 1, sizeof *ls);
    fl_fmem **mk = calloc(keys.n + 1, sizeof *mk);
    if (!av || !owned || !ls || !mk) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    /* EVAL script numkeys k1..kn iv burst w1..wn: keys first, wants after. */
    {
        int64_t *want = calloc(keys.n + 1, sizeof *want);
        if (!want) {
            snprintf(err, errcap, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < keys.n; i++) {
            int64_t leased, refused = fl_limiter_fleet_demand(keys.v[i].s, &leased);
            fl_fmem *m = mem_of(f, o->name, keys.v[i].key);
            int64_t spent = m && m->after_grant > leased ? m->after_grant - leased : 0;
            int64_t demand = spent + refused, w = demand + demand / 2 + 1;
            if (m)
                m->after_grant = leased; /* until a grant below raises it */
            mk[nk] = m;
            if (w > cap)
                w = cap;
            w -= leased;
            if (w <= 0)
                continue;
            want[nk] = w;
            ls[nk] = keys.v[i].s;
            {
                size_t n = strlen(f->prefix) + strlen(o->name) + strlen(keys.v[i].key) + 8;
                char *k = malloc(n);
                if (!k)
                    continue;
                snprintf(k, n, "%sl:%s%s", f->prefix, o->name, keys.v[i].key);
                owned[nown++] = k;
            }
            nk++;
        }
        if (nk == 0) {
            free(want);
            rc = 0;
            goto out;
        }
        {
            char nkeys[24];
            snprintf(nkeys, sizeof nkeys, "%zu", nk + 1);
            snprintf(iv, sizeof iv, "%.3f", (double)c->interval_ns / 1000.0);
            /* Leases are taken once a round: the bucket must hold a round's
             * tokens on top of the burst, or rounds that come together
             * would find only `burst` and the fleet would fall short. */
            snprintf(burst, sizeof burst, "%.3f",
                     ((double)c->burst_ns + per_round * (double)c->interval_ns) / 1000.0);
            snprintf(share, sizeof share, "%.3f", per_round);
            snprintf(ttl, sizeof ttl, "%u", f->ttl_ms);
            snprintf(akey, sizeof akey, "%sla:%s", f->prefix, o->name);
            av[ac++] = "EVAL";
            av[ac++] = LEASE_LUA;
            av[ac++] = strdup(nkeys);
            owned[nown++] = (char *)av[ac - 1];
            av[ac++] = akey;
            for (size_t i = 0; i < nk; i++)
                av[ac++] = owned[i];
            av[ac++] = iv;
            av[ac++] = burst;
            av[ac++] = f->instance;
            av[ac++] = share;
            av[ac++] = ttl;
            for (size_t i = 0; i < nk; i++) {
                char *w = malloc(24);
                if (w)
                    snprintf(w, 24, "%lld", (long long)want[i]);
                owned[nown++] = w;
                av[ac++] = w ? w : "0";
            }
        }
        free(want);
    }
    rep = script_call(f, (int)ac, av, NULL, nk, "lease script", err, errcap);
    if (!rep)
        goto out;
    for (size_t i = 0; i < nk; i++)
        if (rep->element[i]->type == REDIS_REPLY_INTEGER && rep->element[i]->integer > 0) {
            fl_limiter_fleet_grant(ls[i], rep->element[i]->integer);
            if (mk[i])
                mk[i]->after_grant += rep->element[i]->integer;
            atomic_fetch_add_explicit(&f->leased, (uint64_t)rep->element[i]->integer,
                                      memory_order_relaxed);
        }
    rc = 0;
out:
    round_free(rep, owned, nown, av);
    free(ls);
    free(mk);
    klist_free(&keys);
    return rc;
}

/* The budget script.  KEYS[i]: a hash of per-bucket counts ("c<bucket>",
 * "r<bucket>", Redis clock) of one budget key; ARGV[1] bucket (ms),
 * ARGV[2] buckets in the window, ARGV[1 + 2i], ARGV[2 + 2i] this instance's
 * new calls and retries for KEYS[i].  Adds them, drops buckets out of the
 * window, returns the fleet's calls and retries in the window per key. */
static const char BUDGET_LUA[] =
    "local t = redis.call('TIME')\n"
    "local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "local bms, nb = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "local b = math.floor(ms / bms)\n"
    "local out = {}\n"
    "for i = 1, #KEYS do\n"
    "  local k = KEYS[i]\n"
    "  local dc, dr = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])\n"
    "  if dc ~= 0 then redis.call('HINCRBY', k, 'c' .. b, dc) end\n"
    "  if dr ~= 0 then redis.call('HINCRBY', k, 'r' .. b, dr) end\n"
    "  local c, r = 0, 0\n"
    "  local all = redis.call('HGETALL', k)\n"
    "  for j = 1, #all, 2 do\n"
    "    local fld = all[j]\n"
    "    if tonumber(string.sub(fld, 2)) <= b - nb then redis.call('HDEL', k, fld)\n"
    "    elseif string.sub(fld, 1, 1) == 'c' then c = c + tonumber(all[j + 1])\n"
    "    else r = r + tonumber(all[j + 1]) end\n"
    "  end\n"
    "  redis.call('PEXPIRE', k, bms * nb * 2)\n"
    "  out[2 * i - 1] = c\n"
    "  out[2 * i] = r\n"
    "end\n"
    "return out\n";

/* Publish a fleet-scoped retry budget's new calls and retries and learn the
 * rest of the fleet's: one command for all its keys.  Counts not published
 * because a round failed go with the next one that succeeds. */
static int sync_budget(fl_fleet_t *f, fl_robj *o, char *err, size_t errcap)
{
    const fl_gcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
    klist keys = {0};
    const char **av = NULL;
    char **owned = NULL;
    size_t ac = 0, nown = 0, nk;
    char bms[24], nb[24], nkeys[24];
    redisReply *rep = NULL;
    int64_t now = fl_resil_clock(f->r);
    int64_t(*cnt)[4] = NULL; /* total calls, total retries, window calls, window retries */
    fl_fmem **mk = NULL;
    int rc = -1;

    collect_keys(o, &keys);
    nk = keys.n;
    av = calloc(3 * nk + 8, sizeof *av);
    owned = calloc(3 * nk + 1, sizeof *owned);
    cnt = calloc(nk + 1, sizeof *cnt);
    mk = calloc(nk + 1, sizeof *mk);
    if (!av || !owned || !cnt || !mk) {
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    snprintf(bms, sizeof bms, "%lld", (long long)(c->bucket_ns / 1000000 ? c->bucket_ns / 1000000 : 1));
    snprintf(nb, sizeof nb, "%u", c->nb);
    snprintf(nkeys, sizeof nkeys, "%zu", nk);
    av[ac++] = "EVAL";
    av[ac++] = BUDGET_LUA;
    av[ac++] = nkeys;
    for (size_t i = 0; i < nk; i++) {
        size_t n = strlen(f->prefix) + strlen(o->name) + strlen(keys.v[i].key) + 8;
        char *k = malloc(n);
        if (!k) {
            snprintf(err, errcap, "out of memory");
            goto out;
        }
        snprintf(k, n, "%sg:%s\x1f%s", f->prefix, o->name, keys.v[i].key);
        owned[nown++] = k;
        av[ac++] = k;
    }
    av[ac++] = bms;
    av[ac++] = nb;
    for (size_t i = 0; i < nk; i++) {
        int64_t w[2];
        char *a = malloc(24), *b = malloc(24);
        fl_budget_fleet_totals(keys.v[i].s, now, &cnt[i][0], &cnt[i][1], w);
        cnt[i][2] = w[0];
        cnt[i][3] = w[1];
        mk[i] = mem_of(f, o->name, keys.v[i].key);
        if (!a || !b || !mk[i]) {
            free(a);
            free(b);
            snprintf(err, errcap, "out of memory");
            goto out;
        }
        snprintf(a, 24, "%lld", (long long)(cnt[i][0] - mk[i]->pub_calls));
        snprintf(b, 24, "%lld", (long long)(cnt[i][1] - mk[i]->pub_retries));
        owned[nown++] = a;
        owned[nown++] = b;
        av[ac++] = a;
        av[ac++] = b;
    }
    rep = script_call(f, (int)ac, av, NULL, 2 * nk, "budget script", err, errcap);
    if (!rep)
        goto out;
    for (size_t i = 0; i < nk; i++) {
        redisReply *rc0 = rep->element[2 * i], *rr = rep->element[2 * i + 1];
        int64_t fc = rc0->type == REDIS_REPLY_INTEGER ? rc0->integer : 0;
        int64_t fr = rr->type == REDIS_REPLY_INTEGER ? rr->integer : 0;
        int64_t oc = fc - cnt[i][2], orr = fr - cnt[i][3];
        mk[i]->pub_calls = cnt[i][0];
        mk[i]->pub_retries = cnt[i][1];
        fl_budget_fleet_others(keys.v[i].s, oc > 0 ? oc : 0, orr > 0 ? orr : 0);
    }
    rc = 0;
out:
    round_free(rep, owned, nown, av);
    free(cnt);
    free(mk);
    klist_free(&keys);
    return rc;
}

/* ---- the stale-cache store ------------------------------------------------ */

/* The commands of one cache round: SETs then one MGET, pipelined. */
typedef struct cache_round {
    fl_fleet_t *f;
    redisContext *c;
    int64_t now;
    size_t sent;
    char **keys; /* wanted, prefixed */
    size_t nkeys, cap;
    int oom;
} cache_round;

static void cache_send_put(void *arg, const char *key, const char *value, int64_t stored_ms,
                           int64_t expires_ms)
{
    cache_round *cr = arg;
    int64_t ttl = expires_ms - cr->now;
    size_t kl = strlen(cr->f->prefix) + 2 + strlen(key) + 1, vl = strlen(value) + 48;
    char *k = malloc(kl), *v = malloc(vl), px[24];
    const char *av[5];
    size_t lens[5];
    if (!k || !v || ttl <= 0) {
        cr->oom |= !k || !v;
        free(k);
        free(v);
        return;
    }
    snprintf(k, kl, "%sc:%s", cr->f->prefix, key);
    snprintf(v, vl, "%lld %lld %s", (long long)stored_ms, (long long)expires_ms, value);
    snprintf(px, sizeof px, "%lld", (long long)ttl);
    av[0] = "SET", av[1] = k, av[2] = v, av[3] = "PX", av[4] = px;
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(av[i]);
    if (redisAppendCommandArgv(cr->c, 5, av, lens) == REDIS_OK)
        cr->sent++;
    free(k);
    free(v);
}

static void cache_want(void *arg, const char *key)
{
    cache_round *cr = arg;
    size_t kl = strlen(cr->f->prefix) + 2 + strlen(key) + 1;
    char *k;
    if (cr->nkeys == cr->cap) {
        size_t nc = cr->cap ? cr->cap * 2 : 32;
        char **nv = realloc(cr->keys, nc * sizeof *nv);
        if (!nv) {
            cr->oom = 1;
            return;
        }
        cr->keys = nv;
        cr->cap = nc;
    }
    if (!(k = malloc(kl))) {
        cr->oom = 1;
        return;
    }
    snprintf(k, kl, "%sc:%s", cr->f->prefix, key);
    cr->keys[cr->nkeys++] = k;
}

/* Store one MGET answer "STORED EXPIRES JSON" under key (unprefixed). */
static void cache_store(fl_fleet_t *f, const fl_fleet_cache_io *io, const char *pkey, redisReply *v)
{
    char *end;
    long long stored, expires;
    if (!v || v->type != REDIS_REPLY_STRING)
        return;
    stored = strtoll(v->str, &end, 10);
    if (*end != ' ')
        return;
    expires = strtoll(end + 1, &end, 10);
    if (*end != ' ')
        return;
    end++;
    io->store(io->user, pkey + strlen(f->prefix) + 2, end, v->len - (size_t)(end - v->str), stored,
              expires);
}

/* One cache round: write the queued puts, refresh the keys looked up. */
static int sync_cache(fl_fleet_t *f, const fl_fleet_cache_io *io, char *err, size_t errcap)
{
    cache_round cr = {.f = f, .c = f->c};
    redisReply *rep = NULL;
    int rc = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cr.now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    io->take_puts(io->user, cache_send_put, &cr);
    io->take_wanted(io->user, cache_want, &cr);
    if (cr.nkeys) {
        const char **av = malloc((cr.nkeys + 1) * sizeof *av);
        if (av) {
            av[0] = "MGET";
            for (size_t i = 0; i < cr.nkeys; i++)
                av[i + 1] = cr.keys[i];
            if (redisAppendCommandArgv(f->c, (int)cr.nkeys + 1, av, NULL) != REDIS_OK)
                cr.oom = 1;
            free(av);
        } else {
            cr.oom = 1;
        }
    }
    atomic_fetch_add_explicit(&f->commands, cr.sent + (cr.nkeys ? 1 : 0), memory_order_relaxed);
    for (size_t i = 0; i < cr.sent + (cr.nkeys && !cr.oom ? 1 : 0); i++) {
        if (redisGetReply(f->c, (void **)&rep) != REDIS_OK || !rep) {
            snprintf(err, errcap, "%s", f->c->errstr[0] ? f->c->errstr : "no reply");
            goto out;
        }
        if (rep->type == REDIS_REPLY_ERROR) {
            snprintf(err, errcap, "cache command refused: %.200s", rep->str);
            goto out;
        }
        if (i == cr.sent && rep->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j < rep->elements && j < cr.nkeys; j++)
                cache_store(f, io, cr.keys[j], rep->element[j]);
        freeReplyObject(rep);
        rep = NULL;
    }
    rc = 0;
out:
    if (rep)
        freeReplyObject(rep);
    for (size_t i = 0; i < cr.nkeys; i++)
        free(cr.keys[i]);
    free(cr.keys);
    return rc;
}

void fl_fleet_cache_attach(fl_fleet_t *f, const fl_fleet_cache_io *io)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    if (io)
        f->cache = *io;
    else
        memset(&f->cache, 0, sizeof f->cache);
    pthread_mutex_unlock(&f->mu);
}

static void round_once(fl_fleet_t *f)
{
    char err[256] = "";
    fl_objtab *t;
    int64_t start = mono_ms();
    f->round_ms = f->last_round_ms ? start - f->last_round_ms : f->sync_ms;
    f->last_round_ms = start;
    if (!f->c) {
        if (mono_ms() < f->next_try_ms) {
            atomic_fetch_add_explicit(&f->fallbacks, 1, memory_order_relaxed);
            return;
        }
        f->c = connect_to(f, err, sizeof err);
        if (!f->c) {
            round_failed(f, err);
            return;
        }
        if (f->ever_connected)
            atomic_fetch_add_explicit(&f->reconnects, 1, memory_order_relaxed);
        f->ever_connected = 1;
    }
    t = atomic_load_explicit(&f->r->objs, memory_order_acquire);
    for (uint32_t i = 0; i < t->n; i++) {
        fl_robj *o = t->obj[i];
        int rc = 0;
        if (o->kind == FL_RESIL_BREAKER) {
            const fl_bcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
            if (c->scope == FL_SCOPE_FLEET)
                rc = sync_breaker(f, o, err, sizeof err);
            if (rc == 0 && c->scope == FL_SCOPE_FLEET && c->mode == FL_FLEET_SHARED)
                rc = sync_shared(f, o, err, sizeof err);
        } else if (o->kind == FL_RESIL_LIMITER) {
            const fl_lcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
            if (c->scope == FL_SCOPE_FLEET)
                rc = sync_limiter(f, o, err, sizeof err);
        } else if (o->kind == FL_RESIL_BUDGET) {
            const fl_gcfg *c = atomic_load_explicit(&o->cfg, memory_order_acquire);
            if (c->scope == FL_SCOPE_FLEET)
                rc = sync_budget(f, o, err, sizeof err);
        }
        if (rc != 0) {
            round_failed(f, err);
            return;
        }
    }
    {
        fl_fleet_cache_io io;
        pthread_mutex_lock(&f->mu);
        io = f->cache;
        pthread_mutex_unlock(&f->mu);
        if (io.take_puts && sync_cache(f, &io, err, sizeof err) != 0) {
            round_failed(f, err);
            return;
        }
    }
    if (f->down_logged)
        log_line(f, "redis at %s:%d is back; fleet state reconciles", f->host, f->port);
    f->down_logged = 0;
    f->backoff_ms = 0;
    atomic_store_explicit(&f->connected, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&f->r->fleet_up, memory_order_relaxed))
        atomic_store_explicit(&f->r->fleet_up, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&f->syncs, 1, memory_order_relaxed);
}

/* Least time between a round and an early one for shared-mode failures:
 * sync_ms / 4, at most 40 ms, at least KICK_MS. */
static int64_t push_gap_ms(const fl_fleet_t *f)
{
    int64_t g = (int64_t)f->sync_ms / 4;
    return g > 40 ? 40 : g < KICK_MS ? KICK_MS : g;
}

static void *fleet_main(void *arg)
{
    fl_fleet_t *f = arg;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    pthread_mutex_lock(&f->mu);
    while (!f->stop) {
        int64_t ns, push_gap = push_gap_ms(f);
        pthread_mutex_unlock(&f->mu);
        atomic_store_explicit(&f->r->fleet_push, 0, memory_order_relaxed);
        round_once(f);
        pthread_mutex_lock(&f->mu);
        ns = until.tv_nsec + (int64_t)f->sync_ms * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        {
            /* A round that overran: start the next one from now. */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec > until.tv_sec ||
                (now.tv_sec == until.tv_sec && now.tv_nsec > until.tv_nsec))
                until = now;
        }
        /* Sleep until the next round, looking every KICK_MS for a key
         * whose own window just opened: that one is published at once, so
         * the fleet converges within one sync_ms of the open. */
        while (!f->stop) {
            struct timespec now, step;
            int64_t sn;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec > until.tv_sec ||
                (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec))
                break;
            if (atomic_exchange_explicit(&f->r->fleet_kick, 0, memory_order_relaxed) ||
                (mono_ms() - f->last_round_ms >= push_gap &&
                 atomic_exchange_explicit(&f->r->fleet_push, 0, memory_order_relaxed))) {
                /* Shared-mode failures get an early round, at most one per
                 * push_gap: Redis traffic stays bounded whatever the
                 * decision rate, and the fleet sees them within push_gap. */
                pthread_mutex_unlock(&f->mu);
                round_once(f);
                pthread_mutex_lock(&f->mu);
                continue;
            }
            sn = now.tv_nsec + KICK_MS * 1000000;
            step.tv_sec = now.tv_sec + (time_t)(sn / 1000000000);
            step.tv_nsec = (long)(sn % 1000000000);
            if (step.tv_sec > until.tv_sec ||
                (step.tv_sec == until.tv_sec && step.tv_nsec > until.tv_nsec))
                step = until;
            pthread_cond_timedwait(&f->cv, &f->mu, &step);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* ---- public API ----------------------------------------------------------- */

int fl_fleet_start(fl_resil_t *r, const fl_fleet_config_t *cfg, fl_fleet_t **out, fl_diag_t *diag)
{
    fl_fleet_t *f;
    pthread_condattr_t ca;
    int rc;
    if (out)
        *out = NULL;
    if (!r || !cfg || !out)
        return FL_EINVAL;
    f = calloc(1, sizeof *f);
    if (!f)
        return FL_ENOMEM;
    f->r = r;
    if ((rc = configure(f, cfg, diag)) != FL_OK) {
        fleet_free(f);
        return rc;
    }
    if (fl_keymap_init(&f->mem, 1u << 20, fmem_new, NULL) != 0) {
        fleet_free(f);
        return FL_ENOMEM;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        fl_keymap_destroy(&f->mem, free);
        fleet_free(f);
        return FL_ENOMEM;
    }
    *out = f;
    return FL_OK;
}

void fl_fleet_stop(fl_fleet_t *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    atomic_store_explicit(&f->r->fleet_up, 0, memory_order_relaxed);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    fl_keymap_destroy(&f->mem, free);
    fleet_free(f);
}

int fl_fleet_stats(fl_fleet_t *f, fl_fleet_stats_t *out)
{
    if (!f || !out)
        return FL_EINVAL;
    out->syncs = atomic_load_explicit(&f->syncs, memory_order_relaxed);
    out->fallbacks = atomic_load_explicit(&f->fallbacks, memory_order_relaxed);
    out->reconnects = atomic_load_explicit(&f->reconnects, memory_order_relaxed);
    out->fleet_opens = atomic_load_explicit(&f->fleet_opens, memory_order_relaxed);
    out->forced = atomic_load_explicit(&f->forced, memory_order_relaxed);
    out->commands = atomic_load_explicit(&f->commands, memory_order_relaxed);
    out->leased = atomic_load_explicit(&f->leased, memory_order_relaxed);
    out->connected = atomic_load_explicit(&f->connected, memory_order_relaxed);
    return FL_OK;
}

static int force_args_ok(const char *name, fl_breaker_state state, fl_diag_t *diag)
{
    if (name && name[0] && strlen(name) <= FL_RNAME_MAX &&
        (state == FL_BREAKER_FORCED_OPEN || state == FL_BREAKER_DISABLED || state == FL_BREAKER_CLOSED))
        return FL_OK;
    fl_rdiag(diag, FL_EINVAL, "fleet force: need a breaker name and forced_open, disabled "
                              "or closed");
    return FL_EINVAL;
}

/* Write the forced state with f's settings on a connection of our own. */
static int force_on(fl_fleet_t *f, const char *name, const char *key, fl_breaker_state state,
                    fl_diag_t *diag)
{
    char err[256], hkey[512];
    const char *av[4];
    int rc = FL_OK;
    redisContext *c = connect_to(f, err, sizeof err);
    if (!c) {
        fl_rdiag(diag, FL_EIO, "fleet force: redis at %s:%d: %s", f->host, f->port, err);
        return FL_EIO;
    }
    snprintf(hkey, sizeof hkey, "%sf:%s", f->prefix, name);
    av[0] = "HSET";
    av[1] = hkey;
    av[2] = key ? key : "";
    av[3] = fl_breaker_state_name(state);
    redisReply *rep = cmd(NULL, c, 4, av, NULL);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        fl_rdiag(diag, FL_EIO, "fleet force: redis refused HSET: %s", rep ? rep->str : c->errstr);
        rc = FL_EIO;
    }
    if (rep)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

int fl_fleet_force(const fl_fleet_config_t *cfg, const char *name, const char *key,
                   fl_breaker_state state, fl_diag_t *diag)
{
    if (!cfg)
        return force_args_ok(NULL, state, diag);
    int rc = force_args_ok(name, state, diag);
    if (rc != FL_OK)
        return rc;
    fl_fleet_t *f = calloc(1, sizeof *f);
    if (!f)
        return FL_ENOMEM;
    if (fl_resil_new(NULL, &f->r) != FL_OK) {
        free(f);
        return FL_ENOMEM;
    }
    rc = configure(f, cfg, diag);
    if (rc == FL_OK)
        rc = force_on(f, name, key, state, diag);
    fl_resil_free(f->r);
    f->r = NULL;
    fleet_free(f);
    return rc;
}

int fl_fleet_force_with(fl_fleet_t *f, const char *name, const char *key, fl_breaker_state state,
                        fl_diag_t *diag)
{
    if (!f)
        return force_args_ok(NULL, state, diag);
    int rc = force_args_ok(name, state, diag);
    return rc != FL_OK ? rc : force_on(f, name, key, state, diag);
}

/* ---- the policy declaration ------------------------------------------------- */

int fl_fleet_validate(const fl_fleet_config_t *cfg, fl_diag_t *diag)
{
    fl_fleet_t *f;
    fl_fleet_config_t c;
    int rc;
    if (!cfg)
        return FL_EINVAL;
    f = calloc(1, sizeof *f);
    if (!f)
        return FL_ENOMEM;
    c = *cfg;
    if (!c.instance)
        c.instance = "validate"; /* no registry here to draw a random id from */
    rc = configure(f, &c, diag);
    fleet_free(f);
    return rc;
}

void fl_fleet_decl_config(const fl_fleet_decl_t *d, fl_fleet_config_t *out)
{
    memset(out, 0, sizeof *out);
    out->redis = d->redis;
    out->prefix = d->prefix;
    out->password_file = d->password_file;
    out->sync_ms = d->sync_ms;
    out->quorum = d->quorum;
    out->ttl_ms = d->ttl_ms;
    out->timeout_ms = d->timeout_ms;
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int fl_fleet_decl_same(const fl_fleet_decl_t *a, const fl_fleet_decl_t *b)
{
    if (!a || !b)
        return a == b;
    return str_eq(a->redis, b->redis) && str_eq(a->prefix, b->prefix) &&
           str_eq(a->password_file, b->password_file) && a->sync_ms == b->sync_ms &&
           a->quorum == b->quorum && a->ttl_ms == b->ttl_ms && a->timeout_ms == b->timeout_ms;
}

static char *dup_or_null(const char *s, int *oom)
{
    char *p;
    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        *oom = 1;
    return p;
}

fl_fleet_decl_t *fl_fleet_decl_copy(const fl_fleet_decl_t *d)
{
    int oom = 0;
    fl_fleet_decl_t *c;
    if (!d || !(c = calloc(1, sizeof *c)))
        return NULL;
    *c = *d;
    c->redis = dup_or_null(d->redis, &oom);
    c->prefix = dup_or_null(d->prefix, &oom);
    c->password_file = dup_or_null(d->password_file, &oom);
    if (oom) {
        fl_fleet_decl_free(c);
        return NULL;
    }
    return c;
}

void fl_fleet_decl_free(fl_fleet_decl_t *d)
{
    if (!d)
        return;
    if (d->redis) {
        memset(d->redis, 0, strlen(d->redis)); /* may hold a password */
        free(d->redis);
    }
    free(d->prefix);
    free(d->password_file);
    free(d);
}
