/*
 * event.c -- the error event: a small arena of field bytes plus tags and an
 * optional cause chain.  Events are built by setters (hosts) or read from one
 * JSON object (fl_event_from_json, jansson underneath).  The reader is strict
 * about types and limits and names the offending field, because a bad event
 * must produce a precise error record, never a silent guess.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int fl_event_new(fl_event_t **out)
{
    if (!out) return FL_EINVAL;
    fl_event_t *ev = calloc(1, sizeof *ev);
    if (!ev) return FL_ENOMEM;
    ev->attempt = 1;
    *out = ev;
    return FL_OK;
}

void fl_event_reset(fl_event_t *ev)
{
    if (!ev) return;
    fl_sb_clear(&ev->arena);
    memset(ev->set, 0, sizeof ev->set);
    ev->attempt = 1;
    ev->elapsed_ms = 0;
    ev->has_elapsed = 0;
    ev->ntags = 0;
    ev->tag_indexed = 0;
    if (ev->cause) {
        fl_event_free(ev->cause);
        ev->cause = NULL;
    }
}

void fl_event_free(fl_event_t *ev)
{
    if (!ev) return;
    fl_event_free(ev->cause);
    fl_sb_free(&ev->arena);
    free(ev->tags);
    free(ev->tag_slots);
    free(ev);
}

/* Append bytes + NUL to the arena; returns the offset or -1. */
static int64_t arena_add(fl_event_t *ev, const char *s, size_t len)
{
    if (len > UINT32_MAX / 2 || ev->arena.len + len + 1 > UINT32_MAX / 2) return -1;
    size_t off = ev->arena.len;
    if (fl_sb_append(&ev->arena, s, len) != 0 || fl_sb_putc(&ev->arena, '\0') != 0) return -1;
    return (int64_t)off;
}

static int set_trusted(fl_event_t *ev, fl_field f, const char *s, size_t len)
{
    int64_t off = arena_add(ev, s, len);
    if (off < 0) return FL_ENOMEM;
    if (f == FL_FIELD_DOMAIN) { /* domains compare case-insensitively */
        char *p = ev->arena.data + off;
        for (size_t i = 0; i < len; i++)
            if (p[i] >= 'A' && p[i] <= 'Z') p[i] = (char)(p[i] + 32);
    }
    ev->off[f] = (uint32_t)off;
    ev->len[f] = (uint32_t)len;
    ev->set[f] = 1;
    return FL_OK;
}

int fl_event_set(fl_event_t *ev, fl_field f, const char *s, size_t len)
{
    if (!ev || !s || (int)f < 0 || f >= FL_FIELD_COUNT_) return FL_EINVAL;
    if (len == FL_NUL_TERMINATED) len = strlen(s);
    if (len > FL_MAX_EVENT_BYTES) return FL_ETOOBIG;
    if (memchr(s, '\0', len)) return FL_EINVAL; /* fl_event_get could not return it whole */
    if (!fl_utf8_valid(s, len)) return FL_EPARSE_UTF8;
    return set_trusted(ev, f, s, len);
}

int fl_event_set_attempt(fl_event_t *ev, int attempt)
{
    if (!ev || attempt < 1) return FL_EINVAL;
    ev->attempt = attempt;
    return FL_OK;
}

int fl_event_set_elapsed_ms(fl_event_t *ev, double ms)
{
    if (!ev || !(ms >= 0 && ms <= FL_MAX_ELAPSED_MS)) return FL_EINVAL; /* also NaN, inf */
    ev->elapsed_ms = ms;
    ev->has_elapsed = 1;
    return FL_OK;
}

/* ---- tags ----------------------------------------------------------------
 * Few tags (the usual case): a linear scan.  Beyond FL_TAG_SCAN tags a hash
 * index (FNV-1a, open addressing, load <= 1/2) makes each add and lookup
 * O(1), so an event with 100,000 tags is read in linear time. */

#define FL_TAG_SCAN 16

static uint64_t tag_hash(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static int tag_key_eq(const fl_event_t *ev, const fl_tag *t, const char *k, size_t kl)
{
    return t->key_len == kl && memcmp(ev->arena.data + t->key_off, k, kl) == 0;
}

/* Index of the tag named k, or -1. */
static int64_t tag_find(const fl_event_t *ev, const char *k, size_t kl)
{
    if (!ev->tag_indexed) {
        for (uint32_t i = 0; i < ev->ntags; i++)
            if (tag_key_eq(ev, &ev->tags[i], k, kl)) return i;
        return -1;
    }
    uint32_t mask = ev->tag_slots_cap - 1;
    for (uint32_t s = (uint32_t)tag_hash(k, kl) & mask;; s = (s + 1) & mask) {
        uint32_t x = ev->tag_slots[s];
        if (!x) return -1;
        if (tag_key_eq(ev, &ev->tags[x - 1], k, kl)) return x - 1;
    }
}

static void slot_insert(fl_event_t *ev, uint32_t i)
{
    const fl_tag *t = &ev->tags[i];
    uint32_t mask = ev->tag_slots_cap - 1;
    uint32_t s = (uint32_t)tag_hash(ev->arena.data + t->key_off, t->key_len) & mask;
    while (ev->tag_slots[s]) s = (s + 1) & mask;
    ev->tag_slots[s] = i + 1;
}

/* Make the index cover every tag (and room for one more); -1 on ENOMEM. */
static int tag_index_grow(fl_event_t *ev)
{
    uint32_t need = ev->ntags + 1, cap = ev->tag_slots_cap;
    if (ev->tag_indexed && need * 2 <= cap) return 0;
    while (cap < need * 2) cap = cap ? cap * 2 : 64;
    if (cap != ev->tag_slots_cap) {
        uint32_t *s = realloc(ev->tag_slots, cap * sizeof *s);
        if (!s) return -1;
        ev->tag_slots = s;
        ev->tag_slots_cap = cap;
    }
    memset(ev->tag_slots, 0, cap * sizeof *ev->tag_slots);
    for (uint32_t i = 0; i < ev->ntags; i++) slot_insert(ev, i);
    ev->tag_indexed = 1;
    return 0;
}

static int tag_put(fl_event_t *ev, const char *k, size_t kl, const char *v, size_t vl)
{
    int64_t found = tag_find(ev, k, kl);
    if (found < 0 && ev->ntags == ev->tags_cap) {
        if (ev->tags_cap > UINT32_MAX / 4) return FL_ENOMEM;
        uint32_t cap = ev->tags_cap ? ev->tags_cap * 2 : 8;
        fl_tag *t = realloc(ev->tags, cap * sizeof *t);
        if (!t) return FL_ENOMEM;
        ev->tags = t;
        ev->tags_cap = cap;
    }
    if (found < 0 && ev->ntags >= FL_TAG_SCAN && tag_index_grow(ev) != 0) return FL_ENOMEM;
    int64_t vo = arena_add(ev, v, vl);
    if (vo < 0) return FL_ENOMEM;
    if (found >= 0) { /* replace: later wins, the old bytes stay in the arena */
        ev->tags[found].val_off = (uint32_t)vo;
        ev->tags[found].val_len = (uint32_t)vl;
        return FL_OK;
    }
    int64_t ko = arena_add(ev, k, kl);
    if (ko < 0) return FL_ENOMEM;
    ev->tags[ev->ntags] = (fl_tag){(uint32_t)ko, (uint32_t)kl, (uint32_t)vo, (uint32_t)vl};
    if (ev->tag_indexed) slot_insert(ev, ev->ntags);
    ev->ntags++;
    return FL_OK;
}

int fl_event_put_field(fl_event_t *ev, fl_field f, const char *s, size_t len) { return set_trusted(ev, f, s, len); }
int fl_event_put_tag(fl_event_t *ev, const char *k, size_t kl, const char *v, size_t vl)
{
    return tag_put(ev, k, kl, v, vl);
}
int64_t fl_event_tag_index(const fl_event_t *ev, const char *k, size_t kl) { return tag_find(ev, k, kl); }

int fl_event_set_tag(fl_event_t *ev, const char *key, const char *value)
{
    if (!ev || !key || !value || !*key) return FL_EINVAL;
    size_t kl = strlen(key), vl = strlen(value);
    if (kl + vl > FL_MAX_EVENT_BYTES) return FL_ETOOBIG;
    if (!fl_utf8_valid(key, kl) || !fl_utf8_valid(value, vl)) return FL_EPARSE_UTF8;
    return tag_put(ev, key, kl, value, vl);
}

int fl_event_push_cause(fl_event_t *ev, fl_event_t **out)
{
    if (!ev || !out) return FL_EINVAL;
    int depth = 0;
    while (ev->cause) {
        ev = ev->cause;
        if (++depth >= FL_MAX_CAUSE_DEPTH) return FL_ETOOBIG;
    }
    int rc = fl_event_new(&ev->cause);
    if (rc == FL_OK) *out = ev->cause;
    return rc;
}

/* One KEY NUL VALUE NUL record of fl_event_set_packed. */
static int packed_one(fl_event_t *ev, const char *k, size_t kl, const char *v, size_t vl)
{
    static const char *const names[FL_FIELD_COUNT_] = {"id", "time", "domain", "code",
                                                       "message", "op", "stack"};
    if (kl > 5 && memcmp(k, "tags.", 5) == 0) {
        k += 5, kl -= 5;
        if (kl + vl > FL_MAX_EVENT_BYTES) return FL_ETOOBIG;
        if (!fl_utf8_valid(k, kl) || !fl_utf8_valid(v, vl)) return FL_EPARSE_UTF8;
        return tag_put(ev, k, kl, v, vl);
    }
    for (int f = 0; f < FL_FIELD_COUNT_; f++)
        if (strlen(names[f]) == kl && memcmp(names[f], k, kl) == 0) return fl_event_set(ev, (fl_field)f, v, vl);
    if (vl == 0 || vl > 40) return FL_EINVAL;
    char num[48], *end = NULL;
    memcpy(num, v, vl);
    num[vl] = '\0';
    if (kl == 7 && memcmp(k, "attempt", 7) == 0) {
        long a = strtol(num, &end, 10);
        if (*end || a < 1 || a > INT32_MAX) return FL_EINVAL;
        return fl_event_set_attempt(ev, (int)a);
    }
    if (kl == 10 && memcmp(k, "elapsed_ms", 10) == 0) {
        double ms = strtod(num, &end);
        if (*end) return FL_EINVAL;
        return fl_event_set_elapsed_ms(ev, ms);
    }
    return FL_EINVAL;
}

int fl_event_set_packed(fl_event_t *ev, const char *packed, size_t len, unsigned flags, size_t *bad)
{
    if (!ev || (!packed && len > 0) || (flags & ~(unsigned)FL_EVENT_RESET)) return FL_EINVAL;
    if (flags & FL_EVENT_RESET) fl_event_reset(ev);
    size_t pos = 0, index = 0;
    while (pos < len) {
        const char *k = packed + pos;
        const char *kz = memchr(k, '\0', len - pos);
        const char *v = kz ? kz + 1 : NULL;
        const char *vz = v && v < packed + len ? memchr(v, '\0', (size_t)(packed + len - v)) : NULL;
        int rc = vz ? packed_one(ev, k, (size_t)(kz - k), v, (size_t)(vz - v)) : FL_EPARSE;
        if (rc != FL_OK) {
            if (bad) *bad = index;
            return rc;
        }
        pos = (size_t)(vz - packed) + 1;
        index++;
    }
    return FL_OK;
}

const char *fl_event_get(const fl_event_t *ev, fl_field f)
{
    if (!ev || (int)f < 0 || f >= FL_FIELD_COUNT_ || !ev->set[f]) return NULL;
    return ev->arena.data + ev->off[f];
}

const char *fl_event_get_tag(const fl_event_t *ev, const char *key)
{
    if (!ev || !key) return NULL;
    int64_t i = tag_find(ev, key, strlen(key));
    return i < 0 ? NULL : ev->arena.data + ev->tags[i].val_off;
}

int fl_event_attempt(const fl_event_t *ev) { return ev ? ev->attempt : 0; }

int fl_parse_number(const char *s, size_t len, double *out)
{
    if (!s || len == 0 || len > 64) return 0;
    if (len <= 15) { /* fast path: plain decimal integers, the usual codes */
        int64_t v = 0;
        size_t i = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
        if (i == len) {
            *out = (double)v;
            return 1;
        }
        if (i > 0 && s[i] != '.' && s[i] != 'e' && s[i] != 'E') return 0; /* "40P01", "23505x" */
    }
    char buf[72];
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *p = buf;
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) return 0; /* no "inf", "nan", " 1", ".5" */
    char *end;
    double d = strtod(buf, &end);
    if (*end != '\0' || !isfinite(d)) return 0;
    *out = d;
    return 1;
}

void fl_eview_init(fl_eview *v, const fl_event_t *ev)
{
    v->ev = ev;
    for (int i = 0; i < FL_FIELD_COUNT_; i++) {
        v->f[i] = ev->set[i] ? ev->arena.data + ev->off[i] : NULL;
        v->flen[i] = ev->set[i] ? ev->len[i] : 0;
    }
    v->code_is_num = v->f[FL_FIELD_CODE] &&
                     fl_parse_number(v->f[FL_FIELD_CODE], v->flen[FL_FIELD_CODE], &v->code_num);
}

const char *fl_eview_tag(const fl_eview *v, const char *key, uint32_t *len)
{
    const fl_event_t *ev = v->ev;
    int64_t i = tag_find(ev, key, strlen(key));
    if (i < 0) return NULL;
    *len = ev->tags[i].val_len;
    return ev->arena.data + ev->tags[i].val_off;
}

/* ---- JSON reader -------------------------------------------------------- */

static int type_error(fl_diag_t *d, const char *field, const char *want)
{
    return fl_diag_set(d, FL_EPARSE_TYPE, NULL, 0, 0, "field '%s' must be %s", field, want);
}

/* U+FFFD REPLACEMENT CHARACTER: what a NUL of the JSON input is stored as. */
#define FL_NUL_STANDIN "\xEF\xBF\xBD"

/* s[0..*len), a string jansson decoded, with each NUL ("\u0000" is valid
 * JSON, and some clients leave a C string's terminator in their messages)
 * as U+FFFD, built in *tmp when there is one: every field of an event is a
 * C string.  Only this reader can meet a NUL (the fast path gives up on
 * "\u0000", fl_event_set refuses one).  NULL when out of memory. */
static const char *json_text(const char *s, size_t *len, fl_strbuf *tmp)
{
    if (!memchr(s, '\0', *len)) return s;
    fl_sb_clear(tmp);
    for (const char *p = s, *end = s + *len; p < end;) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        size_t run = z ? (size_t)(z - p) : (size_t)(end - p);
        if (fl_sb_append(tmp, p, run) != 0 || (z && fl_sb_append(tmp, FL_NUL_STANDIN, 3) != 0)) return NULL;
        p += run + (z != NULL);
    }
    *len = tmp->len;
    return fl_sb_cstr(tmp);
}

/* Format a JSON scalar as text (numbers without a needless ".0"). */
static int scalar_text(json_t *v, char *buf, size_t n, const char **s, size_t *len)
{
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *len = json_string_length(v);
    } else if (json_is_integer(v)) {
        *len = (size_t)snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        *s = buf;
    } else if (json_is_real(v)) {
        *len = (size_t)snprintf(buf, n, "%.17g", json_real_value(v));
        *s = buf;
    } else if (json_is_boolean(v)) {
        *s = json_is_true(v) ? "true" : "false";
        *len = strlen(*s);
    } else {
        return -1;
    }
    return 0;
}

/* set_trusted and tag_put for strings jansson decoded (json_text). */
static int set_json(fl_event_t *ev, fl_field f, const char *s, size_t len)
{
    fl_strbuf tmp = {0};
    const char *t = json_text(s, &len, &tmp);
    int rc = t ? set_trusted(ev, f, t, len) : FL_ENOMEM;
    fl_sb_free(&tmp);
    return rc;
}

static int tag_put_json(fl_event_t *ev, const char *k, const char *v, size_t vl)
{
    fl_strbuf tmp = {0};
    const char *t = json_text(v, &vl, &tmp);
    int rc = t ? tag_put(ev, k, strlen(k), t, vl) : FL_ENOMEM;
    fl_sb_free(&tmp);
    return rc;
}

static int read_tags(fl_event_t *ev, json_t *tags, fl_diag_t *d)
{
    if (!json_is_object(tags)) return type_error(d, "tags", "an object");
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        char buf[64];
        const char *s;
        size_t len;
        if (json_is_null(v)) continue;
        if (scalar_text(v, buf, sizeof buf, &s, &len) != 0) {
            char name[128];
            snprintf(name, sizeof name, "tags.%s", k);
            return type_error(d, name, "a string, number or boolean");
        }
        if (tag_put_json(ev, k, s, len) != FL_OK) return FL_ENOMEM;
    }
    return FL_OK;
}

static int read_code(fl_event_t *ev, json_t *v, fl_diag_t *d)
{
    char buf[64];
    const char *s;
    size_t len;
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != floor(x) || fabs(x) > 9e15) return type_error(d, "code", "a string or an integer");
        len = (size_t)snprintf(buf, sizeof buf, "%.0f", x);
        s = buf;
    } else if (json_is_string(v) || json_is_integer(v)) {
        scalar_text(v, buf, sizeof buf, &s, &len);
    } else {
        return type_error(d, "code", "a string or an integer");
    }
    return set_json(ev, FL_FIELD_CODE, s, len);
}

static int read_numbers(fl_event_t *ev, json_t *obj, fl_diag_t *d)
{
    json_t *a = json_object_get(obj, "attempt");
    if (a && !json_is_null(a)) {
        double x = json_is_integer(a) ? (double)json_integer_value(a)
                                      : json_is_real(a) ? json_real_value(a) : -1;
        if (!json_is_number(a) || x < 1 || x != floor(x) || x > 1e9)
            return type_error(d, "attempt", "an integer >= 1");
        ev->attempt = (int)x;
    }
    json_t *e = json_object_get(obj, "elapsed_ms");
    if (e && !json_is_null(e)) {
        if (!json_is_number(e) || !(json_number_value(e) >= 0 && json_number_value(e) <= FL_MAX_ELAPSED_MS))
            return type_error(d, "elapsed_ms", "a number between 0 and 1e12");
        ev->elapsed_ms = json_number_value(e);
        ev->has_elapsed = 1;
    }
    return FL_OK;
}

static const struct { const char *name; fl_field f; } k_string_fields[] = {
    {"id", FL_FIELD_ID}, {"time", FL_FIELD_TIME}, {"domain", FL_FIELD_DOMAIN},
    {"message", FL_FIELD_MESSAGE}, {"op", FL_FIELD_OP}, {"stack", FL_FIELD_STACK},
};

int fl_event_from_jvalue(fl_event_t *ev, json_t *obj, int depth, fl_diag_t *d)
{
    if (!json_is_object(obj))
        return fl_diag_set(d, FL_EPARSE_JSON, NULL, 0, 0, "an event must be a JSON object");
    for (size_t i = 0; i < sizeof k_string_fields / sizeof *k_string_fields; i++) {
        json_t *v = json_object_get(obj, k_string_fields[i].name);
        if (!v || json_is_null(v)) continue;
        if (!json_is_string(v)) return type_error(d, k_string_fields[i].name, "a string");
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (k_string_fields[i].f == FL_FIELD_TIME) {
            int64_t ms;
            if (fl_rfc3339_parse(s, len, &ms) != 0)
                return type_error(d, "time", "an RFC 3339 timestamp");
        }
        if (set_json(ev, k_string_fields[i].f, s, len) != FL_OK) return FL_ENOMEM;
    }
    json_t *v = json_object_get(obj, "code");
    int rc;
    if (v && !json_is_null(v) && (rc = read_code(ev, v, d)) != FL_OK) return rc;
    if ((rc = read_numbers(ev, obj, d)) != FL_OK) return rc;
    v = json_object_get(obj, "tags");
    if (v && !json_is_null(v) && (rc = read_tags(ev, v, d)) != FL_OK) return rc;
    v = json_object_get(obj, "cause");
    if (v && !json_is_null(v)) {
        if (depth >= FL_MAX_CAUSE_DEPTH)
            return fl_diag_set(d, FL_ETOOBIG, NULL, 0, 0, "'cause' is nested deeper than %d",
                               FL_MAX_CAUSE_DEPTH);
        if (!json_is_object(v)) return type_error(d, "cause", "an event object");
        if ((rc = fl_event_new(&ev->cause)) != FL_OK) return rc;
        if ((rc = fl_event_from_jvalue(ev->cause, v, depth + 1, d)) != FL_OK) return rc;
    }
    return FL_OK;
}

/* The first key of obj (or of its cause chain) that is not an event key:
 * 1 with path filled ("cause.mesage"), else 0. */
static int unknown_key(json_t *obj, char *path, size_t n, int depth)
{
    static const char *const known[] = {"id", "time", "domain", "code", "message", "op", "attempt",
                                        "elapsed_ms", "tags", "stack", "cause", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        int ok = 0;
        for (int i = 0; known[i] && !ok; i++) ok = strcmp(k, known[i]) == 0;
        if (!ok) {
            char prefix[8 * 6 + 1] = "";
            for (int i = 0; i < depth; i++) strcat(prefix, "cause.");
            snprintf(path, n, "%s%.80s%s", prefix, k, strlen(k) > 80 ? "..." : "");
            return 1;
        }
    }
    json_t *c = json_object_get(obj, "cause");
    return c && json_is_object(c) && depth < FL_MAX_CAUSE_DEPTH ? unknown_key(c, path, n, depth + 1) : 0;
}

int fl_event_from_json(fl_event_t *ev, const char *json, size_t len, fl_diag_t *d)
{
    return fl_event_parse(ev, json, len, 0, d);
}

int fl_event_parse(fl_event_t *ev, const char *json, size_t len, unsigned flags, fl_diag_t *d)
{
    fl_diag_clear(d);
    if (!ev || !json) return fl_diag_set(d, FL_EINVAL, NULL, 0, 0, "NULL event or text");
    if (flags & ~(unsigned)FL_EVENT_STRICT) return fl_diag_set(d, FL_EINVAL, NULL, 0, 0, "unknown flags");
    fl_event_reset(ev);
    if (len == FL_NUL_TERMINATED) len = strnlen(json, (size_t)FL_MAX_EVENT_BYTES + 1);
    if (len > FL_MAX_EVENT_BYTES)
        return fl_diag_set(d, FL_ETOOBIG, NULL, 0, 0, "event is %zu bytes; the limit is %u",
                           len, FL_MAX_EVENT_BYTES);
    /* One pass straight into the event for well-formed input; anything
     * else is read again by jansson below, which names the error. */
    if (fl_event_fast_json(ev, json, len) == FL_OK) return FL_OK;
    fl_event_reset(ev);
    json_error_t err;
    /* JSON_ALLOW_NUL: "\u0000" in a string is valid JSON; arena_add stores
     * it as U+FFFD (docs/events.md). */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!root) {
        enum json_error_code c = json_error_code(&err);
        int st = c == json_error_invalid_utf8 ? FL_EPARSE_UTF8
               : c == json_error_stack_overflow ? FL_ETOOBIG : FL_EPARSE_JSON;
        if (len == 0 || c == json_error_premature_end_of_input)
            st = FL_EPARSE_JSON;
        fl_diag_set(d, st, NULL, 0, err.column > 0 ? err.column : (int)err.position + 1,
                    "%s (column %d)", err.text, err.column > 0 ? err.column : (int)err.position + 1);
        return st;
    }
    int rc = fl_event_from_jvalue(ev, root, 0, d);
    char key[128];
    if (rc == FL_OK && unknown_key(root, key, sizeof key, 0)) {
        if (flags & FL_EVENT_STRICT) {
            rc = fl_diag_set(d, FL_EPARSE_KEY, NULL, 0, 0, "unknown key '%s' (an event has id, time, domain, "
                             "code, message, op, attempt, elapsed_ms, tags, stack, cause)", key);
        } else if (d) {
            fl_diag_set(d, FL_OK, NULL, 0, 0, "unknown key '%s' ignored", key);
            d->status = FL_OK;
        }
    }
    json_decref(root);
    if (rc != FL_OK) fl_event_reset(ev);
    return rc;
}
