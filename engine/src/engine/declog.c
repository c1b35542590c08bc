/*
 * declog.c -- the decision log: JSON Lines written by a background thread.
 *
 * The decide path (fl_decide -> sh->on_decision -> note()) copies a bounded
 * record into a slot of a lock-free bounded ring (Vyukov's MPMC queue: one
 * CAS to claim a slot, one release store to publish it) and returns; when
 * the ring is full the record is counted as dropped.  The writer thread
 * drains the ring every few milliseconds, formats the lines (plain JSON or
 * CloudEvents 1.0, with the OpenTelemetry attribute names), applies the
 * redaction patterns, appends them with write(2) and fsyncs at most
 * fsync_ms after a write.  Rotation (size, age) renames the file to
 * PATH-<UTC time>, compresses it with zstd through the storage bindings
 * (fl_storage_compress: verified before the original goes) and removes
 * rotated files older than keep_days.
 *
 * Crash safety: lines are appended whole by one write(2) each batch; a
 * crash can leave a torn last line, which the next open cuts off (the file
 * is truncated after its last '\n').
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "engine_internal.h"

#define F_SHORT 128 /* ids, category, rule, fingerprint, domain, code, op */
#define F_MSG 512   /* decision message, event message               */
#define F_STACK 1024

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
    char data[F_SHORT * 10 + F_MSG * 3 + F_STACK];
} rec;

typedef struct cell {
    _Atomic size_t seq;
    rec r;
} cell;

struct fl_declog {
    fl_log_options_t o;
    char *path;
    pcre2_code **pats;
    uint32_t npats;
    cell *ring;
    size_t mask;
    _Atomic size_t enq;
    size_t deq;                    /* writer only */
    _Atomic uint64_t seq_sev[5];   /* sampling counters */
    _Atomic uint64_t queued;       /* records enqueued */
    _Atomic uint64_t done;         /* records the writer has finished (written or failed) */
    _Atomic uint64_t synced;       /* `done` as of the last fsync */
    _Atomic uint64_t written, dropped, sampled_out, rotations, torn, werr;
    _Atomic int stop;
    _Atomic int flush_req;         /* fl_engine_log_flush waits: fsync now */
    int fd;
    uint64_t size;
    int64_t opened_ms;
    pthread_t thr;
    int thr_started;
    fl_bindings_t *bind;           /* storage root: the log's directory */
    char *dir, *base;
    struct fl_declog *prev;        /* closed logs, freed with the engine */
};

/* ---- the decide path ------------------------------------------------------ */

static void put(rec *r, int which, const char *s, size_t n)
{
    if (!s) n = 0;
    if (n > k_cap[which]) n = k_cap[which];
    uint16_t at = which ? (uint16_t)(r->off[which - 1] + r->len[which - 1]) : 0;
    r->off[which] = at;
    r->len[which] = (uint16_t)n;
    if (n) memcpy(r->data + at, s, n);
}

static void putd(rec *r, int which, const fl_decision_t *d, enum fl_dstr k)
{
    const char *s = fl_decision_get(d, k);
    put(r, which, s, s ? strlen(s) : 0);
}

static void pute(rec *r, int which, const fl_event_t *ev, fl_field f, unsigned bit, unsigned fields)
{
    if ((fields & bit) && ev->set[f]) put(r, which, ev->arena.data + ev->off[f], ev->len[f]);
    else put(r, which, NULL, 0);
}

static void note(struct fl_shared *sh, const fl_event_t *ev, const fl_decision_t *d)
{
    struct fl_declog *L = atomic_load_explicit(&sh->declog, memory_order_acquire);
    if (!L || atomic_load_explicit(&L->stop, memory_order_relaxed)) return;
    unsigned sev = (unsigned)d->severity < 5 ? (unsigned)d->severity : 4;
    uint32_t every = L->o.sample_every[sev];
    if (every > 1) {
        uint64_t n = atomic_fetch_add_explicit(&L->seq_sev[sev], 1, memory_order_relaxed);
        if (every == UINT32_MAX || n % every) {
            atomic_fetch_add_explicit(&L->sampled_out, 1, memory_order_relaxed);
            return;
        }
    }
    size_t pos = atomic_load_explicit(&L->enq, memory_order_relaxed);
    cell *c;
    for (;;) {
        c = &L->ring[pos & L->mask];
        size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
        intptr_t dif = (intptr_t)seq - (intptr_t)pos;
        if (dif == 0) {
            if (atomic_compare_exchange_weak_explicit(&L->enq, &pos, pos + 1, memory_order_relaxed,
                                                      memory_order_relaxed))
                break;
        } else if (dif < 0) {
            atomic_fetch_add_explicit(&L->dropped, 1, memory_order_relaxed);
            return;
        } else {
            pos = atomic_load_explicit(&L->enq, memory_order_relaxed);
        }
    }
    rec *r = &c->r;
    r->time_ms = fl_now_ms();
    r->delay_ms = d->delay_ms;
    r->action = (uint8_t)d->action;
    r->severity = (uint8_t)sev;
    r->retryable = (uint8_t)(d->retryable != 0);
    r->status = (int16_t)d->status;
    r->attempt = ev->attempt;
    unsigned f = L->o.fields;
    putd(r, R_ID, d, FL_DS_ID);
    putd(r, R_CAT, d, FL_DS_CATEGORY);
    putd(r, R_RULE, d, FL_DS_RULE);
    putd(r, R_FP, d, FL_DS_FINGERPRINT);
    putd(r, R_VER, d, FL_DS_VERSION_ID);
    putd(r, R_POLNAME, d, FL_DS_POLICY);
    putd(r, R_POLVER, d, FL_DS_POLICY_VERSION);
    putd(r, R_MSG, d, FL_DS_MESSAGE);
    putd(r, R_ERR, d, FL_DS_ERROR);
    pute(r, R_EID, ev, FL_FIELD_ID, FL_LOG_EVENT_ID, f);
    pute(r, R_DOM, ev, FL_FIELD_DOMAIN, FL_LOG_DOMAIN, f);
    pute(r, R_CODE, ev, FL_FIELD_CODE, FL_LOG_CODE, f);
    pute(r, R_OP, ev, FL_FIELD_OP, FL_LOG_OP, f);
    pute(r, R_EMSG, ev, FL_FIELD_MESSAGE, FL_LOG_MESSAGE, f);
    pute(r, R_STACK, ev, FL_FIELD_STACK, FL_LOG_STACK, f);
    atomic_fetch_add_explicit(&L->queued, 1, memory_order_relaxed);
    atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
}

/* ---- the writer ------------------------------------------------------------ */

static void jstr(fl_strbuf *sb, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    fl_sb_putc(sb, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        fl_sb_append(sb, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"': fl_sb_append(sb, "\\\"", 2); break;
        case '\\': fl_sb_append(sb, "\\\\", 2); break;
        case '\n': fl_sb_append(sb, "\\n", 2); break;
        case '\t': fl_sb_append(sb, "\\t", 2); break;
        case '\r': fl_sb_append(sb, "\\r", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            fl_sb_append(sb, u, 6);
        }
        }
    }
    fl_sb_append(sb, s + start, n - start);
    fl_sb_putc(sb, '"');
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

static void kv(fl_strbuf *sb, const char *key, const rec *r, int which, int *first)
{
    if (!r->len[which]) return;
    fl_sb_printf(sb, "%s\"%s\":", *first ? "" : ",", key);
    *first = 0;
    jstr(sb, r->data + r->off[which], utf8_len(r->data + r->off[which], r->len[which]));
}

/* The value of a redactable field: masked, or with the patterns applied. */
static void kv_red(struct fl_declog *L, fl_strbuf *sb, const char *key, const rec *r, int which, unsigned bit,
                   int *first)
{
    if (!r->len[which]) return;
    fl_sb_printf(sb, "%s\"%s\":", *first ? "" : ",", key);
    *first = 0;
    if (L->o.mask & bit) {
        fl_sb_puts(sb, "\"[REDACTED]\"");
        return;
    }
    const char *s = r->data + r->off[which];
    size_t n = utf8_len(s, r->len[which]);
    if (!L->npats) {
        jstr(sb, s, n);
        return;
    }
    char a[2 * F_STACK + 64], b[2 * F_STACK + 64];
    memcpy(a, s, n);
    size_t len = n;
    for (uint32_t i = 0; i < L->npats; i++) {
        PCRE2_SIZE outlen = sizeof b;
        int rc = pcre2_substitute(L->pats[i], (PCRE2_SPTR)a, len, 0, PCRE2_SUBSTITUTE_GLOBAL, NULL, NULL,
                                  (PCRE2_SPTR) "[REDACTED]", 10, (PCRE2_UCHAR *)b, &outlen);
        if (rc < 0) { /* too long after substitution: mask the whole value */
            fl_sb_puts(sb, "\"[REDACTED]\"");
            return;
        }
        memcpy(a, b, outlen);
        len = outlen;
    }
    jstr(sb, a, len);
}

static const char *const k_act[4] = {"retry", "fallback", "ignore", "fail"};
static const char *const k_sev[5] = {"debug", "info", "warning", "error", "critical"};

static void format_line(struct fl_declog *L, const rec *r, fl_strbuf *sb)
{
    char ts[32];
    fl_rfc3339_format(r->time_ms, ts);
    int ce = L->o.format == FL_LOG_FORMAT_CLOUDEVENTS, first = 1;
    if (ce) {
        fl_sb_puts(sb, "{\"specversion\":\"1.0\",\"type\":\"dev.faultline.decision\",\"source\":\"faultline\",\"id\":");
        jstr(sb, r->data + r->off[R_ID], r->len[R_ID]);
        fl_sb_printf(sb, ",\"time\":\"%s\",\"datacontenttype\":\"application/json\",\"data\":{", ts);
    } else {
        fl_sb_printf(sb, "{\"time\":\"%s\"", ts);
        first = 0;
    }
    kv(sb, "id", r, R_ID, &first);
    kv(sb, "category", r, R_CAT, &first);
    fl_sb_printf(sb, ",\"action\":\"%s\",\"severity\":\"%s\",\"retryable\":%s", k_act[r->action & 3],
                 k_sev[r->severity < 5 ? r->severity : 4], r->retryable ? "true" : "false");
    if (r->delay_ms >= 0) fl_sb_printf(sb, ",\"delay_ms\":%lld", (long long)r->delay_ms);
    if (r->status > 0) fl_sb_printf(sb, ",\"status\":%d", r->status);
    if (r->attempt > 0) fl_sb_printf(sb, ",\"attempt\":%d", r->attempt);
    kv(sb, "rule", r, R_RULE, &first);
    kv(sb, "fingerprint", r, R_FP, &first);
    kv(sb, "policy", r, R_POLNAME, &first);
    kv(sb, "policy_version", r, R_POLVER, &first);
    kv(sb, "version_id", r, R_VER, &first);
    kv(sb, "message", r, R_MSG, &first);
    kv(sb, "error", r, R_ERR, &first);
    /* OpenTelemetry semantic-convention names for the error itself. */
    kv(sb, "error.type", r, R_CAT, &first);
    if (r->len[R_DOM] || r->len[R_CODE]) {
        fl_sb_puts(sb, ",\"exception.type\":");
        fl_strbuf t = {0};
        fl_sb_append(&t, r->data + r->off[R_DOM], r->len[R_DOM]);
        if (r->len[R_DOM] && r->len[R_CODE]) fl_sb_putc(&t, ':');
        fl_sb_append(&t, r->data + r->off[R_CODE], r->len[R_CODE]);
        jstr(sb, fl_sb_cstr(&t), utf8_len(fl_sb_cstr(&t), t.len));
        fl_sb_free(&t);
    }
    kv_red(L, sb, "exception.message", r, R_EMSG, FL_LOG_MESSAGE, &first);
    kv_red(L, sb, "exception.stacktrace", r, R_STACK, FL_LOG_STACK, &first);
    fl_sb_puts(sb, ",\"event\":{");
    int ef = 1;
    kv_red(L, sb, "id", r, R_EID, FL_LOG_EVENT_ID, &ef);
    kv_red(L, sb, "domain", r, R_DOM, FL_LOG_DOMAIN, &ef);
    kv_red(L, sb, "code", r, R_CODE, FL_LOG_CODE, &ef);
    kv_red(L, sb, "op", r, R_OP, FL_LOG_OP, &ef);
    fl_sb_puts(sb, "}}");
    if (ce) fl_sb_putc(sb, '}');
    fl_sb_putc(sb, '\n');
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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

static void rotate(struct fl_declog *L)
{
    fsync(L->fd);
    close(L->fd);
    L->fd = -1;
    char ts[32], name[4200];
    fl_rfc3339_format(fl_now_ms(), ts);
    for (char *p = ts; *p; p++)
        if (*p == ':') *p = '-';
    snprintf(name, sizeof name, "%s-%s", L->path, ts);
    if (rename(L->path, name) == 0) {
        atomic_fetch_add(&L->rotations, 1);
        if (L->bind) {
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
    }
    if (open_file(L) != 0) atomic_fetch_add(&L->werr, 1);
}

static void *writer(void *arg)
{
    struct fl_declog *L = arg;
    fl_strbuf sb = {0};
    int64_t dirty_since = -1;
    for (;;) {
        int stopping = atomic_load_explicit(&L->stop, memory_order_acquire);
        uint64_t n = 0;
        fl_sb_clear(&sb);
        for (;;) { /* drain */
            cell *c = &L->ring[L->deq & L->mask];
            size_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
            if ((intptr_t)seq - (intptr_t)(L->deq + 1) < 0) break;
            format_line(L, &c->r, &sb);
            atomic_store_explicit(&c->seq, L->deq + L->mask + 1, memory_order_release);
            L->deq++;
            n++;
            if (sb.len > (1u << 20)) break;
        }
        if (n) {
            int ok = L->fd >= 0;
            size_t off = 0;
            while (ok && off < sb.len) {
                ssize_t w = write(L->fd, sb.data + off, sb.len - off);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) ok = 0;
                else off += (size_t)w;
            }
            if (ok) {
                atomic_fetch_add(&L->written, n);
                L->size += sb.len;
                if (dirty_since < 0) dirty_since = mono_ms();
            } else {
                atomic_fetch_add(&L->werr, 1);
                atomic_fetch_add(&L->dropped, n);
            }
            atomic_fetch_add(&L->done, n);
        }
        int64_t now = mono_ms();
        uint64_t done = atomic_load(&L->done);
        if (dirty_since >= 0 && (stopping || now - dirty_since >= (int64_t)L->o.fsync_ms ||
                                 atomic_exchange(&L->flush_req, 0))) {
            if (L->fd >= 0) fdatasync(L->fd);
            dirty_since = -1;
        }
        if (dirty_since < 0) atomic_store(&L->synced, done);
        if (L->fd >= 0 && (L->size >= L->o.max_bytes ||
                           (L->o.max_age_s && L->size && fl_now_ms() - L->opened_ms >= (int64_t)L->o.max_age_s * 1000)))
            rotate(L);
        if (stopping && atomic_load(&L->queued) == atomic_load(&L->done)) break;
        if (!n) {
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    fl_sb_free(&sb);
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
        free(L->path);
        free(L->dir);
        free(L->base);
        fl_bindings_free(L->bind);
        free(L);
        L = p;
    }
}

/* Closed logs are kept (a decider may still hold the pointer it loaded)
 * and freed with the engine. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

int fl_engine_log_open(fl_engine_t *e, const fl_log_options_t *opts, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !opts || !opts->path || !opts->path[0])
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, options or path");
    if (opts->ring_lines > (1u << 20)) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "ring_lines above 1048576");
    if (opts->format != FL_LOG_FORMAT_JSON && opts->format != FL_LOG_FORMAT_CLOUDEVENTS)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "unknown log format %d", opts->format);
    struct fl_shared *sh = fl_engine_shared(e);
    struct fl_declog *L = calloc(1, sizeof *L);
    if (!L) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    L->o = *opts;
    L->o.redact_patterns = NULL;
    L->fd = -1;
    if (!L->o.fields) L->o.fields = FL_LOG_DOMAIN | FL_LOG_CODE | FL_LOG_MESSAGE | FL_LOG_OP;
    if (!L->o.fsync_ms) L->o.fsync_ms = 1000;
    if (!L->o.max_bytes) L->o.max_bytes = 64u << 20;
    size_t n = 1;
    while (n < (L->o.ring_lines ? L->o.ring_lines : 1024)) n <<= 1;
    L->ring = calloc(n, sizeof *L->ring);
    L->mask = n - 1;
    L->path = strdup(opts->path);
    int rc = FL_OK;
    if (!L->ring || !L->path) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory (ring of %zu)", n);
    for (size_t i = 0; rc == FL_OK && i < n; i++) atomic_init(&L->ring[i].seq, i);
    for (const char *const *p = opts->redact_patterns; rc == FL_OK && p && *p; p++) {
        int err;
        PCRE2_SIZE eo;
        pcre2_code *c = pcre2_compile((PCRE2_SPTR)*p, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &eo, NULL);
        if (!c) {
            PCRE2_UCHAR m[160];
            pcre2_get_error_message(err, m, sizeof m);
            rc = fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "redact pattern %u (%s): %s at offset %zu",
                             L->npats + 1, *p, (const char *)m, (size_t)eo);
            break;
        }
        pcre2_code **np = realloc(L->pats, (L->npats + 1) * sizeof *np);
        if (!np) {
            pcre2_code_free(c);
            rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
            break;
        }
        L->pats = np;
        L->pats[L->npats++] = c;
    }
    if (rc == FL_OK) {
        const char *slash = strrchr(L->path, '/');
        L->dir = slash ? strndup(L->path, (size_t)(slash - L->path) + (slash == L->path)) : strdup(".");
        L->base = strdup(slash ? slash + 1 : L->path);
        if (!L->dir || !L->base) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FL_OK && open_file(L) != 0)
        rc = fl_diag_set(diag, FL_EIO, NULL, 0, 0, "cannot open %s: %s", L->path, strerror(errno));
    if (rc == FL_OK) {
        fl_bindings_options_t bo = {0};
        const char *roots[1] = {L->dir};
        bo.storage_roots = roots;
        bo.storage_roots_count = 1;
        if (fl_bindings_new(&bo, &L->bind) != FL_OK) L->bind = NULL; /* rotation then keeps files uncompressed */
    }
    pthread_mutex_lock(&g_mu);
    struct fl_declog *cur = atomic_load(&sh->declog);
    if (rc == FL_OK && cur && !atomic_load(&cur->stop))
        rc = fl_diag_set(diag, FL_ESTATE, NULL, 0, 0, "a decision log is already open (%s)", cur->path);
    if (rc == FL_OK && pthread_create(&L->thr, NULL, writer, L) != 0)
        rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot start the writer thread");
    if (rc == FL_OK) {
        L->thr_started = 1;
        L->prev = cur;
        atomic_store_explicit(&sh->declog, L, memory_order_release);
        atomic_store_explicit(&sh->on_decision, note, memory_order_release);
    }
    pthread_mutex_unlock(&g_mu);
    if (rc != FL_OK) {
        if (L->fd >= 0) close(L->fd);
        L->prev = NULL;
        declog_free(L);
    }
    return rc;
}

static struct fl_declog *open_log(fl_engine_t *e)
{
    struct fl_declog *L = e ? atomic_load(&fl_engine_shared(e)->declog) : NULL;
    return L && !atomic_load(&L->stop) ? L : NULL;
}

int fl_engine_log_flush(fl_engine_t *e, int timeout_ms)
{
    if (!e) return FL_EINVAL;
    struct fl_declog *L = open_log(e);
    if (!L) return FL_ESTATE;
    uint64_t want = atomic_load(&L->queued);
    int64_t until = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    while (atomic_load(&L->synced) < want) {
        atomic_store(&L->flush_req, 1);
        if (mono_ms() >= until) return FL_EBUDGET;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return FL_OK;
}

int fl_engine_log_close(fl_engine_t *e)
{
    if (!e) return FL_EINVAL;
    pthread_mutex_lock(&g_mu);
    struct fl_declog *L = open_log(e);
    if (!L) {
        pthread_mutex_unlock(&g_mu);
        return FL_ESTATE;
    }
    struct fl_shared *sh = fl_engine_shared(e);
    atomic_store_explicit(&sh->on_decision, NULL, memory_order_release);
    atomic_store_explicit(&L->stop, 1, memory_order_release);
    pthread_mutex_unlock(&g_mu);
    pthread_join(L->thr, NULL);
    if (L->fd >= 0) {
        fsync(L->fd);
        close(L->fd);
        L->fd = -1;
    }
    return FL_OK;
}

int fl_engine_log_stats(fl_engine_t *e, fl_log_stats_t *out)
{
    if (!e || !out) return FL_EINVAL;
    memset(out, 0, sizeof *out);
    struct fl_declog *L = atomic_load(&fl_engine_shared(e)->declog);
    if (!L) return FL_OK;
    out->written = atomic_load(&L->written);
    out->dropped = atomic_load(&L->dropped);
    out->sampled_out = atomic_load(&L->sampled_out);
    out->rotations = atomic_load(&L->rotations);
    out->torn_skipped = atomic_load(&L->torn);
    out->write_errors = atomic_load(&L->werr);
    return FL_OK;
}

void fl__declog_destroy(fl_engine_t *e)
{
    if (open_log(e)) fl_engine_log_close(e);
    struct fl_shared *sh = fl_engine_shared(e);
    declog_free(atomic_load(&sh->declog));
    atomic_store(&sh->declog, NULL);
}
