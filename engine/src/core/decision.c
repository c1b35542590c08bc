/*
 * decision.c -- the decision object a host reads: reusable storage (one byte
 * buffer addressed by offsets, so the hot path allocates nothing once warm),
 * accessors, and the JSON rendering of the contract in docs/events.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int fl_decision_new(fl_decision_t **out)
{
    if (!out) return FL_EINVAL;
    fl_decision_t *d = calloc(1, sizeof *d);
    if (!d) return FL_ENOMEM;
    fl_decision_clear(d);
    *out = d;
    return FL_OK;
}

void fl_decision_free(fl_decision_t *d)
{
    if (!d) return;
    fl_sb_free(&d->buf);
    fl_sb_free(&d->json);
    free(d);
}

void fl_decision_clear(fl_decision_t *d)
{
    fl_sb_clear(&d->buf);
    fl_sb_putc(&d->buf, '\0'); /* offset 0 = absent */
    memset(d->off, 0, sizeof d->off);
    d->severity = FL_SEV_ERROR;
    d->retryable = 0;
    d->action = FL_ACTION_FAIL;
    d->delay_ms = -1;
    d->attempts_left = -1;
    d->status = 500;
    d->cache_age_ms = -1;
    d->obs_cat_off = 0;
    d->jitter_seed = 0;
}

int fl_decision_put(fl_decision_t *d, enum fl_dstr which, const char *s, size_t len)
{
    if (!s) {
        d->off[which] = 0;
        return FL_OK;
    }
    /* One reservation and one copy: the decide path puts a dozen strings.
     * s may point into buf (a value copied from another field), so it is
     * kept as an offset across the reservation, which can move buf.  The
     * usual case -- room left (the buffer is reused from decision to
     * decision), s outside -- is a plain copy with no call to reserve. */
    size_t off = d->buf.len;
    uintptr_t base = (uintptr_t)d->buf.data, at = (uintptr_t)s;
    int inside = d->buf.data && at >= base && at < base + d->buf.cap;
    if (inside || !d->buf.data || len >= d->buf.cap - off - 1) {
        if (len == SIZE_MAX || fl_sb_reserve(&d->buf, len + 1) != 0) return FL_ENOMEM;
        if (inside) s = d->buf.data + (at - base);
    }
    memmove(d->buf.data + off, s, len);
    d->buf.data[off + len] = '\0';
    d->buf.len = off + len + 1;
    d->buf.data[d->buf.len] = '\0';
    d->off[which] = (uint32_t)off;
    d->len[which] = (uint32_t)len;
    return FL_OK;
}

int fl_decision_put2(fl_decision_t *d, enum fl_dstr which, const char *a, size_t alen, const char *b, size_t blen)
{
    if (!b) return fl_decision_put(d, which, a, alen);
    size_t off = d->buf.len;
    uintptr_t base = (uintptr_t)d->buf.data, at = (uintptr_t)b;
    int inside = d->buf.data && at >= base && at < base + d->buf.cap;
    if (alen > SIZE_MAX / 2 || blen > SIZE_MAX / 2 || fl_sb_reserve(&d->buf, alen + blen + 1) != 0) return FL_ENOMEM;
    if (inside) b = d->buf.data + (at - base);
    memcpy(d->buf.data + off, a, alen); /* a is never inside the buffer (a constant of the version) */
    memmove(d->buf.data + off + alen, b, blen);
    d->buf.data[off + alen + blen] = '\0';
    d->buf.len = off + alen + blen + 1;
    d->buf.data[d->buf.len] = '\0';
    d->off[which] = (uint32_t)off;
    d->len[which] = (uint32_t)(alen + blen);
    return FL_OK;
}

/* One reservation and one copy for the seven strings a rule's match puts
 * first, rather than seven puts (a measurable share of a decision). */
int fl_decision_put_fixed(fl_decision_t *d, const fl_rule *r)
{
    static const enum fl_dstr which[FL_FX_COUNT_] = {FL_DS_CATEGORY, FL_DS_RULE, FL_DS_PROBLEM_TITLE,
                                                     FL_DS_PROBLEM_TYPE, FL_DS_POLICY, FL_DS_POLICY_VERSION,
                                                     FL_DS_VERSION_ID};
    if (fl_sb_reserve(&d->buf, (size_t)r->fixed_len + 1) != 0) return FL_ENOMEM;
    uint32_t base = (uint32_t)d->buf.len;
    memcpy(d->buf.data + base, r->fixed, r->fixed_len);
    d->buf.len = base + r->fixed_len;
    d->buf.data[d->buf.len] = '\0';
    for (int k = 0; k < FL_FX_COUNT_; k++) {
        d->off[which[k]] = base + r->fixed_off[k];
        d->len[which[k]] = r->fixed_slen[k];
    }
    /* The category's metric index, valid while the category stays at this
     * offset: a later put of another category appends elsewhere. */
    d->obs_cat_off = d->off[FL_DS_CATEGORY];
    d->obs_cat = r->obs_cat;
    return FL_OK;
}

const char *fl_decision_get(const fl_decision_t *d, enum fl_dstr which)
{
    return d && d->off[which] ? d->buf.data + d->off[which] : NULL;
}

const char *fl_decision_id(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_ID); }
const char *fl_decision_category(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_CATEGORY); }
fl_severity fl_decision_severity(const fl_decision_t *d) { return d ? d->severity : FL_SEV_ERROR; }
int fl_decision_retryable(const fl_decision_t *d) { return d ? d->retryable : 0; }
fl_action fl_decision_action(const fl_decision_t *d) { return d ? d->action : FL_ACTION_FAIL; }
int64_t fl_decision_delay_ms(const fl_decision_t *d) { return d && d->action == FL_ACTION_RETRY ? d->delay_ms : -1; }
int fl_decision_attempts_left(const fl_decision_t *d) { return d ? d->attempts_left : -1; }
uint64_t fl_decision_jitter_seed(const fl_decision_t *d) { return d ? d->jitter_seed : 0; }
const char *fl_decision_message(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_MESSAGE); }
const char *fl_decision_message_id(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_MESSAGE_ID); }
const char *fl_decision_locale(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_LOCALE); }
const char *fl_decision_fingerprint(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_FINGERPRINT); }
const char *fl_decision_rule(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_RULE); }
const char *fl_decision_policy_version(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_VERSION_ID); }
const char *fl_decision_error(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_ERROR); }
const char *fl_decision_reason(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_REASON); }
const char *fl_decision_params_json(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_PARAMS); }
const char *fl_decision_fallback_json(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_FALLBACK); }
int64_t fl_decision_cache_age_ms(const fl_decision_t *d) { return d ? d->cache_age_ms : -1; }
const char *fl_decision_cache_key(const fl_decision_t *d)
{
    return d && d->cache_age_ms >= 0 ? fl_decision_get(d, FL_DS_CACHE_KEY) : NULL;
}
const char *fl_decision_explain_json(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_EXPLAIN); }
const char *fl_decision_effects_json(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_EFFECTS); }
const char *fl_decision_error_kind(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_ERROR_KIND); }
const char *fl_decision_problem_type(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_PROBLEM_TYPE); }
const char *fl_decision_problem_title(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_PROBLEM_TITLE); }
int fl_decision_problem_status(const fl_decision_t *d) { return d ? d->status : 500; }
const char *fl_decision_policy_name(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_POLICY); }
const char *fl_decision_policy_declared_version(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_POLICY_VERSION); }
const char *fl_decision_policy_content_id(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_VERSION_ID); }
const char *fl_decision_breaker_name(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_BREAKER); }
const char *fl_decision_breaker_key(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_BREAKER_KEY); }
const char *fl_decision_retry_budget_name(const fl_decision_t *d) { return fl_decision_get(d, FL_DS_BUDGET); }

const char *fl_action_name(fl_action a)
{
    static const char *const n[] = {"retry", "fallback", "ignore", "fail"};
    return (unsigned)a < 4 ? n[a] : "?";
}

const char *fl_severity_name(fl_severity s)
{
    static const char *const n[] = {"debug", "info", "warning", "error", "critical"};
    return (unsigned)s < 5 ? n[s] : "error";
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v) json_object_set_new(o, key, json_string(v));
}

static void set_raw(json_t *o, const char *key, const char *text)
{
    if (!text) return;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (v) json_object_set_new(o, key, v);
}

json_t *fl_decision_jobj(const fl_decision_t *d)
{
    json_t *o = json_object();
    if (!o) return NULL;
    const char *id = fl_decision_get(d, FL_DS_ID);
    json_object_set_new(o, "id", id ? json_string(id) : json_null());
    set_str(o, "category", fl_decision_get(d, FL_DS_CATEGORY));
    json_object_set_new(o, "severity", json_string(fl_severity_name(d->severity)));
    json_object_set_new(o, "retryable", json_boolean(d->retryable));
    json_object_set_new(o, "action", json_string(fl_action_name(d->action)));
    if (d->action == FL_ACTION_RETRY) json_object_set_new(o, "delay_ms", json_integer(d->delay_ms));
    if (d->attempts_left >= 0 && (d->action == FL_ACTION_RETRY || fl_decision_get(d, FL_DS_REASON)))
        json_object_set_new(o, "attempts_left", json_integer(d->attempts_left));
    set_raw(o, "params", fl_decision_get(d, FL_DS_PARAMS));
    set_raw(o, "fallback", fl_decision_get(d, FL_DS_FALLBACK));
    if (d->cache_age_ms >= 0) {
        json_t *c = json_object();
        set_str(c, "key", fl_decision_get(d, FL_DS_CACHE_KEY));
        json_object_set_new(c, "age_ms", json_integer(d->cache_age_ms));
        json_object_set_new(o, "cache", c);
    }
    set_str(o, "message", fl_decision_get(d, FL_DS_MESSAGE));
    set_str(o, "message_id", fl_decision_get(d, FL_DS_MESSAGE_ID));
    set_str(o, "locale", fl_decision_get(d, FL_DS_LOCALE));
    json_t *p = json_object();
    set_str(p, "type", fl_decision_get(d, FL_DS_PROBLEM_TYPE));
    set_str(p, "title", fl_decision_get(d, FL_DS_PROBLEM_TITLE));
    json_object_set_new(p, "status", json_integer(d->status));
    set_str(p, "detail", fl_decision_get(d, FL_DS_MESSAGE));
    json_object_set_new(o, "problem", p);
    set_str(o, "fingerprint", fl_decision_get(d, FL_DS_FINGERPRINT));
    set_str(o, "rule", fl_decision_get(d, FL_DS_RULE));
    set_str(o, "reason", fl_decision_get(d, FL_DS_REASON));
    if (fl_decision_get(d, FL_DS_POLICY)) {
        json_t *pol = json_object();
        set_str(pol, "name", fl_decision_get(d, FL_DS_POLICY));
        set_str(pol, "version", fl_decision_get(d, FL_DS_POLICY_VERSION));
        set_str(pol, "id", fl_decision_get(d, FL_DS_VERSION_ID));
        json_object_set_new(o, "policy", pol);
    }
    set_raw(o, "effects", fl_decision_get(d, FL_DS_EFFECTS));
    if (fl_decision_get(d, FL_DS_ERROR)) {
        json_t *e = json_object();
        set_str(e, "kind", fl_decision_get(d, FL_DS_ERROR_KIND));
        set_str(e, "message", fl_decision_get(d, FL_DS_ERROR));
        json_object_set_new(o, "error", e);
    }
    set_raw(o, "explain", fl_decision_get(d, FL_DS_EXPLAIN));
    return o;
}

/*
 * The JSON writer: straight into d->json, no tree, keys in contract order,
 * each string escaped once.  It writes the bytes json_dumps(fl_decision_jobj(d),
 * JSON_COMPACT) wrote (tests/cli/golden and test_decide's writer check compare
 * them): jansson's escapes (\" \\ \b \f \n \r \t, other controls as \u00XX in
 * upper-case hex, '/' and non-ASCII as they are), a string that is not valid
 * UTF-8 left out as jansson leaves it out.  params, fallback and effects are
 * jansson's own compact output already (the loader and the handler write them
 * with json_dumps), so they are copied as they are; explain is built by hand
 * and goes through jansson (cold: only with FL_DECIDE_EXPLAIN).
 */
/* The rest of "s" from i, the first byte that is not plain (see c_str). */
static __attribute__((noinline)) char *c_str_escaped(char *o, const char *s, size_t n, size_t i)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)s;
    if (!fl_utf8_valid(s + i, n - i)) return NULL; /* s[0..i) is ASCII: valid as it is */
    *o++ = '"';
    memcpy(o, s, i);
    o += i;
    while (i < n) {
        unsigned char c = p[i++];
        if (c >= 0x80) *o++ = (char)c; /* non-ASCII: as it is */
        else *o++ = '\\';
        switch (c >= 0x80 ? 0x80 : c) {
        case 0x80: break;
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
        size_t run = fl_json_plain_run(p + i, n - i); /* the plain text up to the next special byte */
        memcpy(o, p + i, run);
        o += run;
        i += run;
    }
    *o++ = '"';
    return o;
}

/* "s" escaped at o, which has room for 6 * n + 2 bytes (the worst case: all
 * \u00XX); the new end, or NULL when s is not valid UTF-8 (jansson's
 * json_string() is NULL: the key is left out).  Inlined: the usual case --
 * plain ASCII -- is a scan and a copy. */
static inline __attribute__((always_inline)) char *c_str(char *o, const char *s, size_t n)
{
    size_t i = fl_json_plain_run((const unsigned char *)s, n);
    if (i < n) return c_str_escaped(o, s, n, i);
    *o++ = '"';
    memcpy(o, s, n);
    o += n;
    *o++ = '"';
    return o;
}

/*
 * The writer proper works on a cursor: write_json reserves, once per
 * decision, a bound on everything it can write (every decision string --
 * they all live in d->buf, so 6 * d->buf.len covers their escaped forms,
 * plus the message once more for problem.detail -- and FIXED_ROOM for the
 * keys, punctuation, numbers and constant names), so no write checks room.
 * A "field" is its key and value, preceded by ',' unless it is the first of
 * its object (first).  Keys are short literals, their lengths known when
 * compiling (the macros).
 */
enum { FIXED_ROOM = 1024 };

struct jw {
    char *o;   /* cursor */
    int first; /* the next key is the first of its object */
};

static inline __attribute__((always_inline)) void c_keyn(struct jw *w, const char *key, size_t k)
{
    char *o = w->o;
    if (!w->first) *o++ = ',';
    *o++ = '"';
    memcpy(o, key, k);
    o += k;
    *o++ = '"';
    *o++ = ':';
    w->o = o;
    w->first = 0;
}
#define c_key(w, key) c_keyn(w, key, sizeof(key) - 1)

/* ,"key":"value"; nothing when v is absent, the key taken back when the
 * value is left out (not UTF-8). */
static inline __attribute__((always_inline)) void c_fieldn(struct jw *w, const char *key, size_t klen, const char *v,
                                                           size_t vlen)
{
    if (!v) return;
    struct jw mark = *w;
    c_keyn(w, key, klen);
    char *o = c_str(w->o, v, vlen);
    if (o) w->o = o;
    else *w = mark;
}
/* A decision string (its length kept by fl_decision_put) or a C string. */
#define c_field(w, key, d, which) c_fieldn(w, key, sizeof(key) - 1, fl_decision_get(d, which), (d)->len[which])
#define c_fieldz(w, key, v) c_fieldn(w, key, sizeof(key) - 1, v, strlen(v))

static void c_intn(struct jw *w, const char *key, size_t klen, long long v)
{
    c_keyn(w, key, klen);
    char tmp[24], *t = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do *--t = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *--t = '-';
    size_t n = (size_t)(tmp + sizeof tmp - t);
    memcpy(w->o, t, n);
    w->o += n;
}
#define c_int(w, key, v) c_intn(w, key, sizeof(key) - 1, v)

/* A JSON text already in jansson's compact form (params, fallback, effects:
 * decision strings, so inside the bound), or a short constant. */
static void c_rawn(struct jw *w, const char *key, size_t klen, const char *text)
{
    if (!text) return;
    c_keyn(w, key, klen);
    size_t n = strlen(text);
    memcpy(w->o, text, n);
    w->o += n;
}
#define c_raw(w, key, text) c_rawn(w, key, sizeof(key) - 1, text)

static void c_open(struct jw *w, char c)
{
    *w->o++ = c;
    w->first = 1;
}

/* A JSON text of unknown form (explain): parsed and written back by
 * jansson, after the bounded part (b->len is up to date). */
static int w_reparse(fl_strbuf *b, int first, const char *key, const char *text)
{
    if (!text) return 0;
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!v) return 0;
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    int rc = !s || fl_sb_printf(b, "%s\"%s\":%s", first ? "" : ",", key, s) != 0 ? -1 : 0;
    free(s);
    return rc;
}

static int write_json(const fl_decision_t *d, fl_strbuf *b)
{
    size_t strs = d->buf.len + (fl_decision_get(d, FL_DS_MESSAGE) ? d->len[FL_DS_MESSAGE] : 0);
    if (strs > (SIZE_MAX - FIXED_ROOM) / 6 || fl_sb_reserve(b, 6 * strs + FIXED_ROOM) != 0) return -1;
    struct jw w = {b->data + b->len, 1};
    const char *id = fl_decision_get(d, FL_DS_ID);
    *w.o++ = '{';
    if (id) c_field(&w, "id", d, FL_DS_ID);
    else c_raw(&w, "id", "null");
    c_field(&w, "category", d, FL_DS_CATEGORY);
    c_fieldz(&w, "severity", fl_severity_name(d->severity));
    c_raw(&w, "retryable", d->retryable ? "true" : "false");
    c_fieldz(&w, "action", fl_action_name(d->action));
    if (d->action == FL_ACTION_RETRY) c_int(&w, "delay_ms", (long long)d->delay_ms);
    if (d->attempts_left >= 0 && (d->action == FL_ACTION_RETRY || fl_decision_get(d, FL_DS_REASON)))
        c_int(&w, "attempts_left", d->attempts_left);
    c_raw(&w, "params", fl_decision_get(d, FL_DS_PARAMS));
    c_raw(&w, "fallback", fl_decision_get(d, FL_DS_FALLBACK));
    if (d->cache_age_ms >= 0) { /* a fallback read from the stale cache */
        c_key(&w, "cache");
        c_open(&w, '{');
        c_field(&w, "key", d, FL_DS_CACHE_KEY);
        c_int(&w, "age_ms", (long long)d->cache_age_ms);
        *w.o++ = '}';
        w.first = 0;
    }
    c_field(&w, "message", d, FL_DS_MESSAGE);
    c_field(&w, "message_id", d, FL_DS_MESSAGE_ID);
    c_field(&w, "locale", d, FL_DS_LOCALE);
    c_key(&w, "problem");
    c_open(&w, '{');
    c_field(&w, "type", d, FL_DS_PROBLEM_TYPE);
    c_field(&w, "title", d, FL_DS_PROBLEM_TITLE);
    c_int(&w, "status", d->status);
    c_field(&w, "detail", d, FL_DS_MESSAGE);
    *w.o++ = '}';
    w.first = 0;
    c_field(&w, "fingerprint", d, FL_DS_FINGERPRINT);
    c_field(&w, "rule", d, FL_DS_RULE);
    c_field(&w, "reason", d, FL_DS_REASON);
    if (fl_decision_get(d, FL_DS_POLICY)) {
        c_key(&w, "policy");
        c_open(&w, '{');
        c_field(&w, "name", d, FL_DS_POLICY);
        c_field(&w, "version", d, FL_DS_POLICY_VERSION);
        c_field(&w, "id", d, FL_DS_VERSION_ID);
        *w.o++ = '}';
        w.first = 0;
    }
    c_raw(&w, "effects", fl_decision_get(d, FL_DS_EFFECTS));
    if (fl_decision_get(d, FL_DS_ERROR)) {
        c_key(&w, "error");
        c_open(&w, '{');
        c_field(&w, "kind", d, FL_DS_ERROR_KIND);
        c_field(&w, "message", d, FL_DS_ERROR);
        *w.o++ = '}';
        w.first = 0;
    }
    *w.o = '\0';
    b->len = (size_t)(w.o - b->data);
    if (w_reparse(b, w.first, "explain", fl_decision_get(d, FL_DS_EXPLAIN)) != 0) return -1;
    return fl_sb_putc(b, '}');
}

int fl_decision_json_append(const fl_decision_t *d, fl_strbuf *out)
{
    size_t mark = out->len;
    if (write_json(d, out) != 0 || fl_sb_putc(out, '\n') != 0) {
        out->len = mark;
        if (out->data) out->data[mark] = '\0';
        return -1;
    }
    return 0;
}

const char *fl_decision_to_json(fl_decision_t *d)
{
    if (!d) return NULL;
    fl_sb_clear(&d->json);
    if (write_json(d, &d->json) != 0) return NULL;
    return fl_sb_cstr(&d->json);
}
