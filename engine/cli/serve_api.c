/*
 * serve_api.c -- the HTTP API of `faultline serve`, without any I/O: a
 * request (sv_req) comes in, a response (sv_resp) goes out.  The HTTP layer
 * (serve_http.c) and the fuzzer (tests/fuzz/fuzz_serve.c) both drive it.
 *
 * Routes live in one table (k_routes); adding an endpoint is one line there
 * and one handler function.  Errors are RFC 9457 problem details.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "resilience.h" /* read-only walk of the registry for GET /v1/breakers */
#include "serve.h"

#define SV_PROBLEM_JSON "application/problem+json"
#define SV_JSON "application/json"
#define SV_NDJSON "application/x-ndjson"
#define SV_MAX_NAME 127

/* ---- buffers ------------------------------------------------------------- */

int sv_buf_put(sv_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

void sv_buf_free(sv_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void sv_resp_free(sv_resp *rs)
{
    sv_buf_free(&rs->body);
    free(rs->batch);
    rs->batch = NULL;
}

int sv_token_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    /* Time depends only on the configured token's length (blen). */
    volatile unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < blen; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        diff |= (unsigned char)(x ^ (unsigned char)b[i]);
    }
    return diff == 0;
}

/* ---- responses ----------------------------------------------------------- */

static void reply_json(sv_resp *rs, int status, json_t *o)
{
    rs->status = status;
    rs->content_type = SV_JSON;
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s) {
        sv_buf_put(&rs->body, s, strlen(s));
        free(s);
    }
    json_decref(o);
}

/* problem+json: type "about:blank#SLUG" (the same convention as a decision's
 * problem field), title, status, detail; `ext` (stolen, may be NULL) adds
 * extension members. */
static void problem(sv_resp *rs, int status, const char *slug, const char *title, const char *detail,
                    json_t *ext)
{
    char type[96];
    snprintf(type, sizeof type, "about:blank#%s", slug);
    json_t *o = ext ? ext : json_object();
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "status", json_integer(status));
    if (detail) {
        json_t *d = json_string(detail);
        if (!d) d = json_string("(detail was not valid UTF-8)");
        json_object_set_new(o, "detail", d);
    }
    sv_buf_free(&rs->body);
    rs->body_ref = NULL;
    reply_json(rs, status, o);
    rs->content_type = SV_PROBLEM_JSON;
}

/* ---- small parsers ------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) into out (cap bytes, NUL-terminated).  '+' is a
 * space when `plus`.  -1 when too long, badly encoded, or containing NUL. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap, int plus)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(s[i + 1]), l = h < 0 ? -1 : hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = h * 16 + l;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Find `name` in a query string; 1 with the raw value, 0 when absent. */
static int query_param(const sv_req *rq, const char *name, const char **v, size_t *vlen)
{
    if (!rq->query) return 0;
    size_t nl = strlen(name);
    const char *q = rq->query, *end = rq->query + rq->query_len;
    while (q && q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        const char *kend = eq ? eq : stop;
        if ((size_t)(kend - q) == nl && memcmp(q, name, nl) == 0) {
            *v = eq ? eq + 1 : stop;
            *vlen = (size_t)(stop - *v);
            return 1;
        }
        q = amp ? amp + 1 : end;
    }
    return 0;
}

static int ieq_prefix(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (!s || n < l) return 0;
    for (size_t i = 0; i < l; i++)
        if (tolower((unsigned char)s[i]) != lit[i]) return 0;
    return n == l || s[l] == ';' || s[l] == ' ';
}

static int locale_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_') return 0;
    return 1;
}

/* ?locale= first, else the first tag of Accept-Language ('*' means none).
 * 0 with out[0] = '\0' when neither; -1 with a problem set when bad. */
static int request_locale(const sv_req *rq, sv_resp *rs, char *out, size_t cap)
{
    const char *v;
    size_t vl;
    out[0] = '\0';
    if (query_param(rq, "locale", &v, &vl)) {
        if (pct_decode(v, vl, out, cap, 1) != 0 || !locale_ok(out)) {
            problem(rs, 400, "bad-locale", "Bad locale",
                    "locale must be 1-63 letters, digits, '-' or '_' (e.g. fr or de-AT)", NULL);
            return -1;
        }
        return 0;
    }
    if (rq->accept_language && rq->accept_language_len) {
        const char *s = rq->accept_language, *e = s + rq->accept_language_len;
        while (s < e && (*s == ' ' || *s == '\t')) s++;
        size_t n = 0;
        while (s + n < e && s[n] != ',' && s[n] != ';' && s[n] != ' ') n++;
        if (n == 0 || n >= cap || (n == 1 && s[0] == '*')) return 0;
        memcpy(out, s, n);
        out[n] = '\0';
        if (!locale_ok(out)) out[0] = '\0'; /* a header we cannot use is ignored */
    }
    return 0;
}

static int flag_param(const sv_req *rq, const char *name)
{
    const char *v;
    size_t vl;
    if (!query_param(rq, name, &v, &vl)) return 0;
    return vl == 0 || (vl == 1 && v[0] == '1') || (vl == 4 && memcmp(v, "true", 4) == 0);
}

/* Parse a JSON object body; NULL with a problem set otherwise. */
static json_t *body_object(const sv_req *rq, sv_resp *rs, int empty_ok)
{
    if (rq->body_len == 0 && empty_ok) return json_object();
    json_error_t je;
    json_t *o = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        char msg[300];
        if (!o)
            snprintf(msg, sizeof msg, "body is not valid JSON: %s (column %d)", je.text, je.column);
        else
            snprintf(msg, sizeof msg, "body must be a JSON object");
        json_decref(o);
        problem(rs, 400, "bad-json", "Malformed JSON body", msg, NULL);
        return NULL;
    }
    return o;
}

/* An optional string member: 0 absent, 1 present, -1 wrong type/length (problem set). */
static int opt_string(json_t *o, const char *name, const char **out, size_t maxlen, sv_resp *rs)
{
    json_t *v = json_object_get(o, name);
    *out = NULL;
    if (!v || json_is_null(v)) return 0;
    char msg[160];
    if (!json_is_string(v) || json_string_length(v) > maxlen || json_string_length(v) != strlen(json_string_value(v))) {
        snprintf(msg, sizeof msg, "'%s' must be a string of at most %zu bytes", name, maxlen);
        problem(rs, 400, "bad-field", "Bad field", msg, NULL);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

static json_t *version_json(const fl_version_info_t *vi)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:b}", "id", vi->id, "name", vi->name ? vi->name : "",
                     "version", vi->version ? vi->version : "", "source", vi->source ? vi->source : "",
                     "loaded_at_ms", (json_int_t)vi->loaded_at_ms, "rules", (int)vi->rules, "examples",
                     (int)vi->examples, "current", vi->current);
}

/* ---- deciding ------------------------------------------------------------ */

static void decide_error_record(sv_buf *out, size_t line, int status, const char *msg, int col)
{
    json_t *o = json_pack("{s:n, s:I, s:s, s:s, s:b, s:s, s:s}", "id", "line", (json_int_t)line, "category",
                          "invalid_argument", "severity", "error", "retryable", 0, "action", "fail", "rule", "input");
    json_t *e = json_pack("{s:s, s:s, s:I}", "kind", "input", "status", fl_strerror(status), "line", (json_int_t)line);
    json_t *m = json_string(msg);
    json_object_set_new(e, "message", m ? m : json_string("malformed input"));
    if (col > 0) json_object_set_new(e, "column", json_integer(col));
    json_object_set_new(o, "error", e);
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        sv_buf_put(out, s, strlen(s));
        sv_buf_put(out, "\n", 1);
    }
    free(s);
    json_decref(o);
}

int sv_batch_next(sv_worker *w, sv_batch *b, sv_buf *out, size_t chunk)
{
    while (b->off < b->len && out->len < chunk) {
        const char *s = b->body + b->off;
        size_t rest = b->len - b->off;
        const char *nl = memchr(s, '\n', rest);
        size_t n = nl ? (size_t)(nl - s) : rest;
        b->off += nl ? n + 1 : n;
        b->lineno++;
        size_t m = n;
        if (m && s[m - 1] == '\r') m--;
        size_t k = 0;
        while (k < m && (s[k] == ' ' || s[k] == '\t')) k++;
        if (k == m) continue; /* blank line */
        b->lines++;
        fl_diag_t diag;
        int rc = fl_event_from_json(w->ev, s, m, &diag);
        if (rc != FL_OK) {
            char msg[1024];
            b->bad++;
            snprintf(msg, sizeof msg, "line %zu: %s", b->lineno, diag.message);
            decide_error_record(out, b->lineno, rc, msg, diag.col);
            continue;
        }
        fl_decide(w->ctx, w->ev, b->has_locale ? b->locale : NULL, b->flags, w->d);
        const char *json = fl_decision_to_json(w->d);
        if (json) {
            sv_buf_put(out, json, strlen(json));
            sv_buf_put(out, "\n", 1);
        }
        if (w->srv->shadow) fl_shadow_offer(w->srv->shadow, s, m, w->d);
    }
    return b->off >= b->len;
}

static void h_decide(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    char locale[64];
    if (request_locale(rq, rs, locale, sizeof locale) != 0) return;
    unsigned flags = flag_param(rq, "explain") ? FL_DECIDE_EXPLAIN : 0;
    if (ieq_prefix(rq->content_type, rq->content_type_len, SV_NDJSON)) {
        sv_batch *b = calloc(1, sizeof *b);
        if (!b) {
            problem(rs, 503, "out-of-memory", "Out of memory", "cannot start the batch", NULL);
            return;
        }
        b->body = rq->body;
        b->len = rq->body_len;
        b->flags = flags;
        b->has_locale = locale[0] != '\0';
        memcpy(b->locale, locale, sizeof b->locale);
        rs->status = 200;
        rs->content_type = SV_NDJSON;
        rs->batch = b;
        return;
    }
    /* Any other media type is read as one JSON event (curl -d sends
     * application/x-www-form-urlencoded). */
    if (rq->body_len == 0) {
        problem(rs, 400, "bad-event", "Malformed event", "the body is empty; send one JSON event object", NULL);
        return;
    }
    fl_diag_t diag;
    int rc = fl_event_from_json(w->ev, rq->body, rq->body_len, &diag);
    if (rc != FL_OK) {
        json_t *ext = json_pack("{s:s}", "code", fl_strerror(rc));
        if (diag.col > 0) json_object_set_new(ext, "column", json_integer(diag.col));
        int too_big = FL_PRIMARY(rc) == FL_ETOOBIG;
        problem(rs, too_big ? 413 : 400, too_big ? "event-too-large" : "bad-event",
                too_big ? "Event too large" : "Malformed event", diag.message, ext);
        return;
    }
    fl_decide(w->ctx, w->ev, locale[0] ? locale : NULL, flags, w->d);
    const char *json = fl_decision_to_json(w->d);
    if (!json) {
        problem(rs, 503, "out-of-memory", "Out of memory", "cannot render the decision", NULL);
        return;
    }
    rs->status = 200;
    rs->content_type = SV_JSON;
    rs->body_ref = json; /* the decision's buffer: no copy until h2o's */
    rs->body_ref_len = strlen(json);
    if (w->srv->shadow) fl_shadow_offer(w->srv->shadow, rq->body, rq->body_len, w->d);
}

/* ---- shadow evaluation (docs/operations.md) ------------------------------------ */

static void policy_result(sv_worker *w, sv_resp *rs, int rc, const fl_diag_t *diag, const char *what);

static void h_shadow(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    (void)rq, (void)rest, (void)rest_len;
    char *rep = w->srv->shadow ? fl_shadow_report(w->srv->shadow) : NULL;
    if (!w->srv->shadow) {
        problem(rs, 404, "no-shadow", "No shadow candidate", "start the server with --shadow CAND", NULL);
        return;
    }
    if (!rep) {
        problem(rs, 503, "out-of-memory", "Out of memory", "cannot render the report", NULL);
        return;
    }
    rs->status = 200;
    rs->content_type = SV_JSON;
    sv_buf_put(&rs->body, rep, strlen(rep));
    free(rep);
}

static void h_shadow_promote(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    (void)rq, (void)rest, (void)rest_len;
    if (!w->srv->shadow) {
        problem(rs, 404, "no-shadow", "No shadow candidate", "start the server with --shadow CAND", NULL);
        return;
    }
    fl_diag_t diag;
    memset(&diag, 0, sizeof diag);
    pthread_mutex_lock(&w->srv->admin_mu);
    int rc = fl_shadow_promote(w->srv->shadow, w->srv->engine, &diag);
    pthread_mutex_unlock(&w->srv->admin_mu);
    policy_result(w, rs, rc, &diag, "promoted");
}

/* ---- admission with leases ----------------------------------------------- */

typedef struct sv_guard_ent {
    char spec[4 * (SV_MAX_NAME + 1)];
    size_t spec_len;
    fl_guard_t *g;
} sv_guard_ent;

typedef struct sv_lease {
    fl_permit_t permit;
    int64_t expires_ms;
    uint32_t gen;
    uint64_t nonce;
    int used;
    uint32_t next_free;
} sv_lease;

#define SV_GUARDS_MAX 256

struct sv_leases {
    pthread_mutex_t mu;
    fl_resil_t *r;
    sv_lease *slot;
    uint32_t cap, free_head, active;
    sv_guard_ent guards[SV_GUARDS_MAX];
    size_t nguards;
    uint64_t rng;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

sv_leases *sv_leases_new(fl_resil_t *r, uint32_t cap)
{
    sv_leases *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->slot = calloc(cap ? cap : 1, sizeof *l->slot);
    if (!l->slot) {
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    l->r = r;
    l->cap = cap;
    for (uint32_t i = 0; i < cap; i++) l->slot[i].next_free = i + 1;
    l->free_head = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    l->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)l;
    return l;
}

static void lease_free_slot(sv_leases *l, uint32_t i)
{
    l->slot[i].used = 0;
    l->slot[i].gen++;
    l->slot[i].next_free = l->free_head;
    l->free_head = i;
    l->active--;
}

void sv_leases_free(sv_leases *l)
{
    if (!l) return;
    for (uint32_t i = 0; i < l->cap; i++)
        if (l->slot[i].used) fl_permit_release(&l->slot[i].permit);
    for (size_t i = 0; i < l->nguards; i++) fl_guard_free(l->guards[i].g);
    pthread_mutex_destroy(&l->mu);
    free(l->slot);
    free(l);
}

size_t sv_leases_sweep(sv_leases *l)
{
    size_t n = 0;
    int64_t now = now_ms();
    pthread_mutex_lock(&l->mu);
    for (uint32_t i = 0; i < l->cap && l->active; i++) {
        if (l->slot[i].used && l->slot[i].expires_ms <= now) {
            fl_permit_release(&l->slot[i].permit);
            lease_free_slot(l, i);
            n++;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return n;
}

size_t sv_leases_active(sv_leases *l)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->active;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* Guards are resolved once per distinct spec and kept (under l->mu). */
static fl_guard_t *guard_for(sv_leases *l, const char *const names[4], int *status, fl_diag_t *diag)
{
    char spec[sizeof ((sv_guard_ent *)0)->spec];
    size_t len = 0;
    for (int i = 0; i < 4; i++) {
        size_t n = names[i] ? strlen(names[i]) : 0;
        memcpy(spec + len, names[i] ? names[i] : "", n);
        len += n;
        spec[len++] = '\0';
    }
    for (size_t i = 0; i < l->nguards; i++)
        if (l->guards[i].spec_len == len && memcmp(l->guards[i].spec, spec, len) == 0) return l->guards[i].g;
    if (l->nguards >= SV_GUARDS_MAX) {
        *status = FL_ETOOBIG;
        return NULL;
    }
    fl_guard_spec_t gs = {names[0], names[1], names[2], names[3]};
    fl_guard_t *g = NULL;
    *status = fl_guard_new(l->r, &gs, &g, diag);
    if (*status != FL_OK) return NULL;
    sv_guard_ent *e = &l->guards[l->nguards++];
    memcpy(e->spec, spec, len);
    e->spec_len = len;
    e->g = g;
    return g;
}

static void h_admit(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    sv_leases *l = w->srv->leases;
    json_t *o = body_object(rq, rs, 0);
    if (!o) return;
    static const char *const fields[4] = {"breaker", "limiter", "bulkhead", "budget"};
    const char *names[4], *key = NULL;
    int any = 0;
    for (int i = 0; i < 4; i++) {
        int r = opt_string(o, fields[i], &names[i], SV_MAX_NAME, rs);
        if (r < 0) goto done;
        if (r > 0 && !names[i][0]) names[i] = NULL;
        any |= names[i] != NULL;
    }
    if (opt_string(o, "key", &key, 1024, rs) < 0) goto done;
    if (!any) {
        problem(rs, 400, "bad-field", "Bad field",
                "name at least one of 'breaker', 'limiter', 'bulkhead', 'budget'", NULL);
        goto done;
    }
    int64_t lease = w->srv->lease_default_ms;
    json_t *lv = json_object_get(o, "lease_ms");
    if (lv && !json_is_null(lv)) {
        if (!json_is_integer(lv) || json_integer_value(lv) < 1 || json_integer_value(lv) > w->srv->lease_max_ms) {
            char msg[128];
            snprintf(msg, sizeof msg, "'lease_ms' must be an integer from 1 to %u", w->srv->lease_max_ms);
            problem(rs, 400, "bad-field", "Bad field", msg, NULL);
            goto done;
        }
        lease = json_integer_value(lv);
    }
    pthread_mutex_lock(&l->mu);
    int st = FL_OK;
    fl_diag_t diag;
    memset(&diag, 0, sizeof diag);
    fl_guard_t *g = guard_for(l, names, &st, &diag);
    if (!g) {
        pthread_mutex_unlock(&l->mu);
        if (FL_PRIMARY(st) == FL_ENOENT)
            problem(rs, 404, "unknown-object", "Unknown resilience object", diag.message, NULL);
        else
            problem(rs, 503, "too-many-guards", "Too many guard combinations",
                    "at most 256 distinct breaker/limiter/bulkhead/budget combinations", NULL);
        goto done;
    }
    if (l->free_head >= l->cap) {
        pthread_mutex_unlock(&l->mu);
        problem(rs, 503, "too-many-permits", "Too many permits",
                "every permit slot is leased; complete permits or wait for leases to expire", NULL);
        goto done;
    }
    uint32_t i = l->free_head;
    sv_lease *s = &l->slot[i];
    memset(&s->permit, 0, sizeof s->permit);
    int rc = fl_admit(g, key, &s->permit);
    if (rc != FL_OK) {
        const char *reason = s->permit.reason ? s->permit.reason : fl_strerror(rc);
        int64_t ra = s->permit.retry_after_ns;
        pthread_mutex_unlock(&l->mu);
        reply_json(rs, 200, json_pack("{s:b, s:s, s:I}", "admitted", 0, "reason", reason, "retry_after_ms",
                                      (json_int_t)((ra + 999999) / 1000000)));
        goto done;
    }
    l->free_head = s->next_free;
    s->used = 1;
    s->expires_ms = now_ms() + lease;
    s->nonce = splitmix(&l->rng);
    l->active++;
    char id[40];
    snprintf(id, sizeof id, "%08x%08x%016llx", i, s->gen, (unsigned long long)s->nonce);
    pthread_mutex_unlock(&l->mu);
    reply_json(rs, 200, json_pack("{s:b, s:s, s:I}", "admitted", 1, "permit", id, "lease_ms", (json_int_t)lease));
done:
    json_decref(o);
}

static int parse_hex(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0) return -1;
        v = v << 4 | (uint64_t)h;
    }
    *out = v;
    return 0;
}

static void h_complete(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    sv_leases *l = w->srv->leases;
    json_t *o = body_object(rq, rs, 0);
    if (!o) return;
    const char *id = NULL, *cat = NULL;
    if (opt_string(o, "permit", &id, 64, rs) < 0 || opt_string(o, "category", &cat, SV_MAX_NAME, rs) < 0) goto done;
    json_t *rel = json_object_get(o, "release");
    int release = rel && json_is_true(rel);
    uint64_t idx, gen, nonce;
    if (!id || strlen(id) != 32 || parse_hex(id, 8, &idx) || parse_hex(id + 8, 8, &gen) ||
        parse_hex(id + 16, 16, &nonce)) {
        problem(rs, 400, "bad-field", "Bad field", "'permit' must be the 32-hex-digit id /v1/admit returned", NULL);
        goto done;
    }
    pthread_mutex_lock(&l->mu);
    sv_lease *s = idx < l->cap ? &l->slot[idx] : NULL;
    if (!s || !s->used || s->gen != (uint32_t)gen || s->nonce != nonce) {
        pthread_mutex_unlock(&l->mu);
        problem(rs, 404, "unknown-permit", "Unknown permit",
                "no such permit: it was completed already, its lease expired, or it was never issued", NULL);
        goto done;
    }
    int rc = release ? fl_permit_release(&s->permit) : fl_complete(&s->permit, cat && *cat ? cat : NULL);
    lease_free_slot(l, (uint32_t)idx);
    pthread_mutex_unlock(&l->mu);
    reply_json(rs, 200, json_pack("{s:b, s:s}", "completed", rc == FL_OK, "outcome",
                                  release ? "released" : (cat && *cat ? cat : "success")));
done:
    json_decref(o);
}

/* ---- policy -------------------------------------------------------------- */

/* The kept versions (newest 32) as a JSON array, and the serving one in
 * *cur (JSON null when none); both new references. */
static json_t *versions_json(sv_worker *w, json_t **cur)
{
    fl_version_info_t vi[32];
    size_t n = 0;
    *cur = NULL;
    pthread_mutex_lock(&w->srv->admin_mu);
    fl_engine_versions(w->srv->engine, vi, 32, &n);
    if (n > 32) n = 32;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, version_json(&vi[i]));
        if (vi[i].current && !*cur) *cur = version_json(&vi[i]);
    }
    pthread_mutex_unlock(&w->srv->admin_mu);
    if (!*cur) *cur = json_null();
    return arr;
}

static void h_policy(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    json_t *cur, *arr = versions_json(w, &cur);
    json_t *o = json_object();
    json_object_set_new(o, "current", cur);
    json_object_set_new(o, "versions", arr);
    reply_json(rs, 200, o);
}

static void policy_result(sv_worker *w, sv_resp *rs, int rc, const fl_diag_t *diag, const char *what)
{
    fl_version_info_t vi;
    if (rc == FL_OK && fl_engine_current(w->srv->engine, &vi) == FL_OK) {
        json_t *o = json_pack("{s:s}", "status", what);
        json_object_set_new(o, "current", version_json(&vi));
        reply_json(rs, 200, o);
        return;
    }
    char buf[1200];
    fl_diag_format(diag, buf, sizeof buf);
    json_t *ext = json_pack("{s:s}", "code", fl_strerror(rc));
    int p = FL_PRIMARY(rc);
    if (p == FL_ENOENT)
        problem(rs, 404, "unknown-version", "Unknown version", buf, ext);
    else if (p == FL_EINVAL)
        problem(rs, 400, "bad-version-id", "Bad version id", buf, ext);
    else if (p == FL_ESTATE)
        problem(rs, 409, "not-reloadable", "Cannot reload", buf, ext);
    else
        problem(rs, 422, "policy-refused", "Policy refused; the running version keeps serving", buf, ext);
}

static void h_reload(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    fl_diag_t diag;
    memset(&diag, 0, sizeof diag);
    pthread_mutex_lock(&w->srv->admin_mu);
    int rc = fl_engine_reload(w->srv->engine, &diag);
    pthread_mutex_unlock(&w->srv->admin_mu);
    policy_result(w, rs, rc, &diag, "reloaded");
}

static void h_rollback(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    json_t *o = body_object(rq, rs, 1);
    if (!o) return;
    const char *id = NULL;
    if (opt_string(o, "id", &id, 16, rs) >= 0) {
        fl_diag_t diag;
        memset(&diag, 0, sizeof diag);
        pthread_mutex_lock(&w->srv->admin_mu);
        int rc = fl_engine_rollback(w->srv->engine, id, &diag);
        pthread_mutex_unlock(&w->srv->admin_mu);
        if (rc != FL_OK && !diag.message[0])
            snprintf(diag.message, sizeof diag.message, "%s", id ? "no kept version matches this id" : "no previous version");
        policy_result(w, rs, rc, &diag, "rolled_back");
    }
    json_decref(o);
}

/* ---- breakers ------------------------------------------------------------ */

static json_t *breaker_json(fl_resil_t *r, const char *name, const char *key)
{
    fl_breaker_stats_t st;
    if (fl_breaker_stats(r, name, key, &st) != FL_OK) return NULL;
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:i, s:I}", "name", name, "key", key ? key : "", "state",
                     fl_breaker_state_name(st.state), "calls", (json_int_t)st.calls, "failures",
                     (json_int_t)st.failures, "slow_calls", (json_int_t)st.slow_calls, "opens", (int)st.opens,
                     "retry_after_ms", (json_int_t)(st.retry_after_ns / 1000000));
}

static void h_breakers(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    char key[1025] = "";
    const char *v;
    size_t vl;
    if (query_param(rq, "key", &v, &vl) && pct_decode(v, vl, key, sizeof key, 1) != 0) {
        problem(rs, 400, "bad-key", "Bad key", "key must be percent-encoded and at most 1024 bytes", NULL);
        return;
    }
    fl_resil_t *r = fl_engine_resil(w->srv->engine);
    json_t *arr = json_array();
    /* Objects are never removed and the table is published atomically. */
    fl_objtab *t = r ? atomic_load_explicit(&r->objs, memory_order_acquire) : NULL;
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (t->obj[i]->kind != FL_RESIL_BREAKER) continue;
        json_t *b = breaker_json(r, t->obj[i]->name, key[0] ? key : NULL);
        if (b) json_array_append_new(arr, b);
    }
    json_t *o = json_object();
    json_object_set_new(o, "breakers", arr);
    reply_json(rs, 200, o);
}

/* PUT /v1/breakers/{name}[/{key}]  body {"state": "forced_open"|"disabled"|"closed"|"reset",
 * "fleet": true|false}: with "fleet": true the forced state is also written to
 * Redis for every instance of the fleet (fl_fleet_force_with; 409 when this
 * server's policy declares no fleet, 503 when Redis refuses). */
static void h_breaker_put(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    char name[SV_MAX_NAME + 1], key[1025];
    const char *slash = memchr(rest, '/', rest_len);
    size_t nl = slash ? (size_t)(slash - rest) : rest_len;
    int has_key = slash != NULL;
    if (nl == 0 || pct_decode(rest, nl, name, sizeof name, 0) != 0 ||
        (has_key && (pct_decode(slash + 1, rest_len - nl - 1, key, sizeof key, 0) != 0 || !key[0]))) {
        problem(rs, 400, "bad-path", "Bad path",
                "use PUT /v1/breakers/{name} or /v1/breakers/{name}/{key} (percent-encoded)", NULL);
        return;
    }
    json_t *o = body_object(rq, rs, 0);
    if (!o) return;
    const char *s = NULL;
    if (opt_string(o, "state", &s, 32, rs) < 0) goto done;
    fl_breaker_state st;
    if (s && strcmp(s, "forced_open") == 0) st = FL_BREAKER_FORCED_OPEN;
    else if (s && strcmp(s, "disabled") == 0) st = FL_BREAKER_DISABLED;
    else if (s && (strcmp(s, "closed") == 0 || strcmp(s, "reset") == 0)) st = FL_BREAKER_CLOSED;
    else {
        problem(rs, 400, "bad-field", "Bad field",
                "'state' must be \"forced_open\", \"disabled\", \"closed\" or \"reset\"", NULL);
        goto done;
    }
    json_t *fv = json_object_get(o, "fleet");
    if (fv && !json_is_boolean(fv)) {
        problem(rs, 400, "bad-field", "Bad field", "'fleet' must be true or false", NULL);
        goto done;
    }
    fl_resil_t *r = fl_engine_resil(w->srv->engine);
    int rc = fl_breaker_set_state(r, name, has_key ? key : NULL, st);
    if (rc != FL_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "no breaker named '%s' is declared", name);
        problem(rs, FL_PRIMARY(rc) == FL_ENOENT ? 404 : 400, "unknown-breaker", "Unknown breaker", msg, NULL);
        goto done;
    }
    if (fv && json_is_true(fv)) {
        fl_fleet_t *fleet = fl_engine_fleet(w->srv->engine);
        fl_diag_t diag;
        if (!fleet) {
            problem(rs, 409, "no-fleet", "No fleet",
                    "this server's policy declares no fleet { }: the state was set here only", NULL);
            goto done;
        }
        if (fl_fleet_force_with(fleet, name, has_key ? key : NULL, st, &diag) != FL_OK) {
            problem(rs, 503, "fleet-unavailable", "Fleet unavailable", diag.message, NULL);
            goto done;
        }
    }
    json_t *b = breaker_json(r, name, has_key ? key : NULL);
    reply_json(rs, 200, b ? b : json_object());
done:
    json_decref(o);
}

/* ---- stale cache --------------------------------------------------------- */

/* PUT /v1/cache/{key}  body {"value": any JSON, "ttl_ms": N}: fl_cache_put. */
static void h_cache_put(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    char key[513];
    if (rest_len == 0 || pct_decode(rest, rest_len, key, sizeof key, 0) != 0 || !key[0]) {
        problem(rs, 400, "bad-path", "Bad path", "use PUT /v1/cache/{key} (percent-encoded, 1..512 bytes)", NULL);
        return;
    }
    json_t *o = body_object(rq, rs, 0);
    if (!o) return;
    json_t *v = json_object_get(o, "value"), *t = json_object_get(o, "ttl_ms");
    char *text = NULL;
    if (!v || !json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 2592000000LL) {
        problem(rs, 400, "bad-field", "Bad field",
                "body must be {\"value\": any JSON, \"ttl_ms\": 1..2592000000}", NULL);
        goto done;
    }
    if (!(text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY))) {
        problem(rs, 500, "internal", "Internal error", "out of memory", NULL);
        goto done;
    }
    fl_diag_t d;
    int rc = fl_cache_put(w->srv->engine, key, text, (uint32_t)json_integer_value(t), &d);
    if (rc != FL_OK) {
        problem(rs, FL_PRIMARY(rc) == FL_EINVAL ? 400 : 500, "bad-field", "Bad field", d.message, NULL);
        goto done;
    }
    json_t *r = json_object();
    json_object_set_new(r, "stored", json_true());
    json_object_set_new(r, "key", json_string(key));
    json_object_set_new(r, "ttl_ms", json_integer(json_integer_value(t)));
    reply_json(rs, 200, r);
done:
    free(text);
    json_decref(o);
}

/* ---- health -------------------------------------------------------------- */

static void h_health(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    reply_json(rs, 200, json_pack("{s:s}", "status", "ok"));
}

static void h_ready(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    fl_version_info_t vi;
    if (fl_engine_current(w->srv->engine, &vi) != FL_OK) {
        problem(rs, 503, "not-ready", "Not ready", "no policy is loaded", NULL);
        return;
    }
    reply_json(rs, 200, json_pack("{s:s, s:s}", "status", "ready", "policy", vi.id));
}

/* GET /metrics: Prometheus text exposition (fl_engine_metrics). */
static void h_metrics(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    size_t need = 0;
    int rc = fl_engine_metrics(w->srv->engine, NULL, 0, &need);
    for (int tries = 0; rc == FL_ETOOBIG && tries < 3; tries++) {
        char *buf = malloc(need + 1024);
        if (!buf) break;
        rc = fl_engine_metrics(w->srv->engine, buf, need + 1024, &need);
        if (rc == FL_OK) {
            rs->status = 200;
            rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
            sv_buf_put(&rs->body, buf, need);
        }
        free(buf);
    }
    if (rc != FL_OK) problem(rs, 503, "metrics-unavailable", "Metrics unavailable", fl_strerror(rc), NULL);
}

/* GET /, /dashboard.css, /dashboard.js: the dashboard, from memory. */
static void h_asset(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    const char *want = rq->path_len == 1 ? "/index.html" : NULL;
    for (const sv_asset *a = w->srv->assets; a && a->path; a++) {
        if (want ? strcmp(a->path, want) != 0
                 : strlen(a->path) != rq->path_len || memcmp(a->path, rq->path, rq->path_len) != 0)
            continue;
        rs->status = 200;
        rs->content_type = a->type;
        rs->hdr_name = "cache-control";
        rs->hdr_value = "no-cache";
        sv_buf_put(&rs->body, (const char *)a->data, a->len);
        return;
    }
    problem(rs, 404, "not-found", "Not found", "this server has no dashboard", NULL);
}

/* GET /v1/dashboard/events: one Server-Sent Events `snapshot` (metrics text,
 * policy versions, breakers, top fingerprints from the registry), then the
 * stream ends; `retry: 1000` makes the browser's EventSource reconnect a
 * second later, so each update is a fresh, consistent snapshot. */
static void h_dash_events(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len)
{
    json_t *o = json_object();
    size_t need = 0;
    char *mt = NULL;
    if (fl_engine_metrics(w->srv->engine, NULL, 0, &need) == FL_ETOOBIG && (mt = malloc(need + 4096)) &&
        fl_engine_metrics(w->srv->engine, mt, need + 4096, &need) == FL_OK)
        json_object_set_new(o, "metrics", json_string(mt));
    free(mt);
    json_t *cur, *arr = versions_json(w, &cur);
    json_object_set_new(o, "policy", json_pack("{s:o, s:o}", "current", cur, "versions", arr));
    fl_resil_t *r = fl_engine_resil(w->srv->engine);
    json_t *br = json_array();
    fl_objtab *t = r ? atomic_load_explicit(&r->objs, memory_order_acquire) : NULL;
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (t->obj[i]->kind != FL_RESIL_BREAKER) continue;
        json_t *b = breaker_json(r, t->obj[i]->name, NULL);
        if (b) json_array_append_new(br, b);
    }
    json_object_set_new(o, "breakers", br);
    json_t *top = json_null();
    fl_error_row_t *rows = w->srv->registry ? calloc(10, sizeof *rows) : NULL;
    fl_error_query_t q = {0};
    q.top = 10;
    fl_diag_t d;
    size_t n = 0;
    if (rows && fl_registry_query(w->srv->registry, &q, rows, 10, &n, &d) == FL_OK) {
        top = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(top, json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "fingerprint", rows[i].key, "count",
                                                 (json_int_t)rows[i].count, "last_1m", (json_int_t)rows[i].last_1m,
                                                 "category", rows[i].category, "op", rows[i].op, "rule", rows[i].rule));
    } else if (w->srv->registry) {
        top = json_array(); /* not written yet */
    }
    free(rows);
    json_object_set_new(o, "top", top);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    rs->status = 200;
    rs->content_type = "text/event-stream";
    rs->hdr_name = "cache-control";
    rs->hdr_value = "no-cache";
    sv_buf_put(&rs->body, "retry: 1000\nevent: snapshot\ndata: ", 34);
    if (s) sv_buf_put(&rs->body, s, strlen(s));
    sv_buf_put(&rs->body, "\n\n", 2);
    free(s);
}

/* ---- routing ------------------------------------------------------------- */

typedef void (*sv_route_fn)(sv_worker *w, const sv_req *rq, sv_resp *rs, const char *rest, size_t rest_len);

/* The route table.  `prefix` routes pass the rest of the path to the handler.
 * `admin` routes need the bearer token (or, without a token file, a unix
 * socket).  `slow` routes may take long (a reload compiles a policy): the
 * HTTP layer runs them off the event loop so deciding is not held up; they
 * must not use the worker's deciding context.  Issue 16 (metrics,
 * dashboard) adds its lines here. */
static const struct sv_route {
    const char *method;
    const char *path;
    int prefix;
    int admin;
    int slow;
    sv_route_fn fn;
} k_routes[] = {
    {"POST", "/v1/decide", 0, 0, 0, h_decide},
    {"POST", "/v1/admit", 0, 0, 0, h_admit},
    {"POST", "/v1/complete", 0, 0, 0, h_complete},
    {"GET", "/v1/policy", 0, 0, 0, h_policy},
    {"POST", "/v1/policy/reload", 0, 1, 1, h_reload},
    {"POST", "/v1/policy/rollback", 0, 1, 1, h_rollback},
    {"GET", "/v1/breakers", 0, 0, 0, h_breakers},
    {"PUT", "/v1/breakers/", 1, 1, 0, h_breaker_put},
    {"PUT", "/v1/cache/", 1, 1, 0, h_cache_put},
    {"GET", "/v1/shadow", 0, 0, 0, h_shadow},
    {"POST", "/v1/shadow/promote", 0, 1, 1, h_shadow_promote},
    {"GET", "/healthz", 0, 0, 0, h_health},
    {"GET", "/readyz", 0, 0, 0, h_ready},
    {"GET", "/metrics", 0, 0, 0, h_metrics},
    {"GET", "/", 0, 0, 0, h_asset},
    {"GET", "/dashboard.css", 0, 0, 0, h_asset},
    {"GET", "/dashboard.js", 0, 0, 0, h_asset},
    {"GET", "/v1/dashboard/events", 0, 0, 0, h_dash_events},
};

static int route_match(const struct sv_route *r, const sv_req *rq)
{
    size_t pl = strlen(r->path);
    return r->prefix ? rq->path_len > pl && memcmp(rq->path, r->path, pl) == 0
                     : rq->path_len == pl && memcmp(rq->path, r->path, pl) == 0;
}

static int method_is(const struct sv_route *r, const sv_req *rq)
{
    return rq->method_len == strlen(r->method) && memcmp(rq->method, r->method, rq->method_len) == 0;
}

int sv_route_slow(const sv_req *rq)
{
    for (size_t i = 0; i < sizeof k_routes / sizeof k_routes[0]; i++)
        if (route_match(&k_routes[i], rq) && method_is(&k_routes[i], rq)) return k_routes[i].slow;
    return 0;
}

static int authorized(sv_worker *w, const sv_req *rq, sv_resp *rs)
{
    const sv_server *srv = w->srv;
    if (!srv->token_len) {
        if (rq->unix_socket) return 1;
        problem(rs, 403, "admin-disabled", "Admin endpoints disabled",
                "start the server with --token-file, or call admin endpoints over a unix socket", NULL);
        return 0;
    }
    const char *a = rq->authorization;
    size_t n = rq->authorization_len;
    if (a && n > 7 && strncasecmp(a, "Bearer ", 7) == 0 && sv_token_equal(a + 7, n - 7, srv->token, srv->token_len))
        return 1;
    problem(rs, 401, "unauthorized", "Unauthorized", "admin endpoints need 'Authorization: Bearer <token>'", NULL);
    rs->hdr_name = "www-authenticate";
    rs->hdr_value = "Bearer";
    return 0;
}

void sv_handle(sv_worker *w, const sv_req *rq, sv_resp *rs)
{
    memset(rs, 0, sizeof *rs);
    if (w->srv->max_header_bytes && rq->header_bytes > w->srv->max_header_bytes) {
        char msg[120];
        snprintf(msg, sizeof msg, "request headers total %zu bytes; the limit is %zu", rq->header_bytes,
                 w->srv->max_header_bytes);
        problem(rs, 431, "headers-too-large", "Request header fields too large", msg, NULL);
        return;
    }
    int path_seen = 0;
    char allow[64] = "";
    for (size_t i = 0; i < sizeof k_routes / sizeof k_routes[0]; i++) {
        const struct sv_route *r = &k_routes[i];
        size_t pl = strlen(r->path);
        if (!route_match(r, rq)) continue;
        path_seen = 1;
        if (!method_is(r, rq)) {
            if (!allow[0]) snprintf(allow, sizeof allow, "%s", r->method);
            continue;
        }
        if (r->admin && !authorized(w, rq, rs)) return;
        r->fn(w, rq, rs, rq->path + pl, rq->path_len - pl);
        if (!rs->status) problem(rs, 500, "internal", "Internal error", "the handler produced no response", NULL);
        return;
    }
    if (path_seen) {
        problem(rs, 405, "method-not-allowed", "Method not allowed", "this path does not take this method", NULL);
        snprintf(rs->hdr_buf, sizeof rs->hdr_buf, "%s", allow);
        rs->hdr_name = "allow";
        rs->hdr_value = rs->hdr_buf;
        return;
    }
    problem(rs, 404, "not-found", "Not found", "no such endpoint; see docs/serve.md", NULL);
}

/* ---- workers ------------------------------------------------------------- */

int sv_worker_init(sv_worker *w, sv_server *srv)
{
    memset(w, 0, sizeof *w);
    w->srv = srv;
    if (fl_ctx_new(srv->engine, &w->ctx) != FL_OK || fl_event_new(&w->ev) != FL_OK ||
        fl_decision_new(&w->d) != FL_OK) {
        sv_worker_free(w);
        return -1;
    }
    return 0;
}

void sv_worker_free(sv_worker *w)
{
    fl_decision_free(w->d);
    fl_event_free(w->ev);
    fl_ctx_free(w->ctx);
    w->d = NULL;
    w->ev = NULL;
    w->ctx = NULL;
}
