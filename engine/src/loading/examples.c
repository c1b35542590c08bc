/*
 * examples.c -- checks a decision against expected fields.  Used for the
 * `example` blocks every load runs before a version may serve, and for the
 * JSONL test files of `faultline test`.  Comparison is on the JSON form of the
 * decision, so any contract field can be expected.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "loading.h"
#include "deciding.h"
#include "resilience/resilience.h"

int fl_expect_check(const fl_decision_t *d, json_t *expect, char *why, size_t n)
{
    json_t *got = fl_decision_jobj(d);
    if (!got) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    const char *key;
    json_t *want;
    int rc = 0;
    json_object_foreach(expect, key, want) {
        json_t *have = json_object_get(got, key);
        if (have ? json_equal(have, want) : json_is_null(want)) continue;
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *h = have ? json_dumps(have, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        snprintf(why, n, "expected %s = %s, got %s", key, w ? w : "?", h ? h : "(absent)");
        free(w);
        free(h);
        rc = 1;
        break;
    }
    json_decref(got);
    return rc;
}

/* A private shared part for one run of examples: the engine's options and
 * sandbox watchdog, but its own, fresh resilience registry with the
 * version's declarations applied.  Examples that hit a breaker count into
 * this registry only; production state never sees them, and every load's
 * examples start from the same (empty) state. */
static int private_shared(struct fl_shared *priv, const struct fl_shared *sh, const fl_version *v,
                          fl_diag_t *diag)
{
    memset(priv, 0, sizeof *priv);
    fl_shared_init(priv, sh->opts);
    priv->sbx = sh->sbx;
    if (fl_resil_new(NULL, &priv->resil) != FL_OK)
        return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    for (uint32_t i = 0; i < v->nrdecls; i++) {
        int rc = fl_resil_apply(priv->resil, v->rdecls[i], diag);
        if (rc != FL_OK) return rc;
    }
    return FL_OK;
}

int fl_run_examples(struct fl_shared *sh, fl_version *v, fl_diag_t *diag)
{
    if (v->nexamples == 0) return FL_OK;
    struct fl_shared priv;
    fl_ctx_t *ctx = NULL;
    fl_decision_t *d = NULL;
    fl_event_t *ev = NULL;
    int rc = private_shared(&priv, sh, v, diag);
    if (rc == FL_OK) rc = fl_ctx_open(&priv, NULL, &ctx);
    if (rc == FL_OK) rc = fl_decision_new(&d);
    if (rc == FL_OK) rc = fl_event_new(&ev);
    for (uint32_t i = 0; rc == FL_OK && i < v->nexamples; i++) {
        const fl_example *x = &v->examples[i];
        fl_diag_t ed;
        fl_diag_clear(&ed);
        fl_event_reset(ev);
        if (fl_event_from_jvalue(ev, x->event, 0, &ed) != FL_OK) {
            rc = fl_diag_set(diag, FL_EEXAMPLE, x->file, x->line, 1, "example \"%s\": bad event: %s",
                             x->name, ed.message);
            break;
        }
        int drc = fl_decide_on(ctx, v, ev, x->locale, 0, d);
        char why[512];
        if (drc != FL_OK && !json_object_get(x->expect, "error")) {
            rc = fl_diag_set(diag, FL_EEXAMPLE, x->file, x->line, 1, "example \"%s\": the policy failed: %s",
                             x->name, fl_decision_error(d) ? fl_decision_error(d) : fl_strerror(drc));
        } else if (fl_expect_check(d, x->expect, why, sizeof why) != 0) {
            rc = fl_diag_set(diag, FL_EEXAMPLE, x->file, x->line, 1, "example \"%s\": %s", x->name, why);
        }
    }
    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_close(ctx);
    fl_resil_free(priv.resil);
    fl_shared_destroy(&priv);
    return rc;
}
