/*
 * decision.c -- the decision object a host reads: reusable storage (one byte
 * buffer addressed by offsets, so the hot path allocates nothing once warm),
 * accessors, and the JSON rendering of the contract in PRODUCT.md.
 */
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
}

int fl_decision_put(fl_decision_t *d, enum fl_dstr which, const char *s, size_t len)
{
    if (!s) {
        d->off[which] = 0;
        return FL_OK;
    }
    size_t off = d->buf.len;
    if (fl_sb_append(&d->buf, s, len) != 0 || fl_sb_putc(&d->buf, '\0') != 0) return FL_ENOMEM;
    d->off[which] = (uint32_t)off;
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

const char *fl_decision_to_json(fl_decision_t *d)
{
    if (!d) return NULL;
    json_t *o = fl_decision_jobj(d);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) return NULL;
    fl_sb_clear(&d->json);
    int rc = fl_sb_puts(&d->json, s);
    free(s);
    return rc == 0 ? fl_sb_cstr(&d->json) : NULL;
}
