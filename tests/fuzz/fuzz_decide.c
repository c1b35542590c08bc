/*
 * fuzz_decide.c -- libFuzzer target: classification.  A fixed policy (the
 * stock pack from the source tree, plus a handler rule) is loaded once; each
 * input is an event (JSON) decided with explain on, then rendered; the
 * direct JSON writer must write the bytes jansson writes from the same
 * decision (fl_decision_jobj + json_dumps), and a decision decided with the
 * FL_DECIDE_NO_* flags must render too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core.h" /* fl_decision_jobj: the writer's reference */
#include "faultline.h"

#ifndef FL_SOURCE_DIR
#define FL_SOURCE_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fl_engine_t *g_e;
static fl_ctx_t *g_ctx;
static fl_decision_t *g_d;
static fl_event_t *g_ev;

static int setup(void)
{
    fl_engine_options_t o = {0};
    o.seed = 7;
    o.handler_budget_us = 2000;
    if (fl_engine_new(&o, &g_e) != FL_OK) return -1;
    fl_diag_t diag;
    const char *dir = getenv("FL_FUZZ_POLICY_DIR");
    if (fl_engine_load(g_e, dir ? dir : FL_SOURCE_DIR "/policies", &diag) != FL_OK) {
        fprintf(stderr, "fuzz_decide: cannot load the stock pack: %s\n", diag.message);
        return -1;
    }
    if (fl_ctx_new(g_e, &g_ctx) != FL_OK || fl_decision_new(&g_d) != FL_OK || fl_event_new(&g_ev) != FL_OK)
        return -1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup() != 0) abort();
        ready = 1;
    }
    if (fl_event_from_json(g_ev, (const char *)data, size, NULL) != FL_OK) return 0;
    static const char *const locales[] = {NULL, "fr", "de-CH", "xx"};
    fl_decide(g_ctx, g_ev, locales[size % 4], size % 3 == 0 ? FL_DECIDE_EXPLAIN : 0, g_d);
    const char *out = fl_decision_to_json(g_d);
    if (!out) abort();
    json_t *o = fl_decision_jobj(g_d);
    char *want = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (want && strcmp(want, out) != 0) {
        fprintf(stderr, "writer: %s\njansson: %s\n", out, want);
        abort();
    }
    free(want);
    fl_decide(g_ctx, g_ev, NULL, FL_DECIDE_NO_MESSAGE | FL_DECIDE_NO_ID | FL_DECIDE_NO_FINGERPRINT, g_d);
    if (!fl_decision_to_json(g_d)) abort();
    return 0;
}
