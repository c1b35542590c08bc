/*
 * fuzz_policy.c -- libFuzzer target: the policy loader.  The input is loaded
 * as a policy source with small budgets (1 ms handlers, 4 MiB Lua memory);
 * when it loads, a few events are decided on it, so handlers it declares
 * run too.  Whatever the input, loading and deciding must neither crash nor
 * leak; policy failures are expected and fine.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "faultline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const k_events[] = {
    "{\"message\":\"connect ECONNREFUSED 127.0.0.1:5432\"}",
    "{\"domain\":\"http\",\"code\":503,\"op\":\"payments.charge\",\"attempt\":2,\"tags\":{\"retry_after\":\"3\"}}",
    "{\"domain\":\"postgres\",\"code\":\"40001\",\"message\":\"could not serialize access\"}",
    "{\"message\":\"x\",\"cause\":{\"domain\":\"posix\",\"code\":\"ENOSPC\"}}",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    fl_engine_options_t o = {0};
    o.handler_budget_us = 1000;
    o.lua_memory_cap = 4u << 20;
    o.seed = 1;
    fl_engine_t *e;
    if (fl_engine_new(&o, &e) != FL_OK) return 0;
    fl_diag_t diag;
    if (fl_engine_load_string(e, "fuzz.lua", (const char *)data, size, &diag) == FL_OK) {
        fl_ctx_t *ctx = NULL;
        fl_decision_t *d = NULL;
        fl_event_t *ev = NULL;
        if (fl_ctx_new(e, &ctx) == FL_OK && fl_decision_new(&d) == FL_OK && fl_event_new(&ev) == FL_OK) {
            for (size_t i = 0; i < sizeof k_events / sizeof *k_events; i++) {
                if (fl_event_from_json(ev, k_events[i], strlen(k_events[i]), NULL) != FL_OK) continue;
                fl_decide(ctx, ev, i % 2 ? "fr" : NULL, FL_DECIDE_EXPLAIN, d);
                fl_decision_to_json(d);
            }
        }
        fl_event_free(ev);
        fl_decision_free(d);
        fl_ctx_free(ctx);
    }
    fl_engine_free(e);
    return 0;
}
