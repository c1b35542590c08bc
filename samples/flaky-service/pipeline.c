/*
 * pipeline.c -- the flaky service again, engine-driven: the client does not
 * classify anything.  Each attempt reports success or the error it saw (an
 * event: message, domain, code, tags); the policy below decides -- retry
 * after its delay, fail fast while the breaker is open -- and the pipeline
 * (fl_pipeline_call) applies the decision and counts every outcome, successes
 * included, into the rule's breaker.
 *
 * The service misbehaves by phases: healthy, down (connections refused),
 * healthy again.  Output: one line per phase with what the calls did, and the
 * breaker's own counts, which show the successes it was told about.
 *
 * Usage: flaky-pipeline [calls-per-phase]   (default 200)
 * Exit 0 when the story held: successes counted, the breaker opened while
 * the service was down and closed again after it came back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faultline.h"

static const char k_policy[] =
    "policy { name = \"flaky\", version = \"1.0.0\" }\n"
    "category \"unavailable\" { retryable = true,\n"
    "  recovery = retry { backoff = \"exponential\", base_ms = 1, max_delay_ms = 4, jitter = \"full\","
    " max_attempts = 3 } }\n"
    "breaker \"svc\" { key = \"{tags.service}\", failure_rate = 0.5, min_calls = 20, open_ms = 100 }\n"
    "rule \"refused\" { when = { message = re[[(?i)connection refused]] },\n"
    "  category = \"unavailable.connection_refused\", breaker = \"svc\" }\n"
    "messages \"en\" { unavailable = \"The inventory service is unavailable; retrying.\",\n"
    "  [\"unavailable.attempts_exhausted\"] = \"The inventory service is unavailable. Please try later.\",\n"
    "  [\"unavailable.breaker_open\"] = \"The inventory service is down; not calling it for now.\" }\n";

enum { HEALTHY, DOWN, RECOVERED, NPHASES };
static const char *const PHASE[NPHASES] = {"healthy", "down", "healthy again"};

typedef struct service {
    int phase, served;
} service;

/* One attempt: 0 on success, else the error as an event. */
static int call_service(void *user, const fl_attempt_info_t *a, fl_event_t *ev)
{
    service *s = user;
    (void)a;
    if (s->phase != DOWN) {
        s->served++;
        return 0;
    }
    fl_event_set(ev, FL_FIELD_DOMAIN, "posix", (size_t)-1);
    fl_event_set(ev, FL_FIELD_CODE, "ECONNREFUSED", (size_t)-1);
    fl_event_set(ev, FL_FIELD_MESSAGE, "connect to 127.0.0.1:8080: Connection refused", (size_t)-1);
    fl_event_set_tag(ev, "service", "inventory");
    return 1;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    int per_phase = argc > 1 ? atoi(argv[1]) : 200, ok = 1, opened = 0;
    fl_engine_t *e = NULL;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_pipeline_t *p = NULL;
    fl_diag_t diag;
    fl_pipeline_config_t pc = {0};
    service svc = {0, 0};
    char last_msg[256] = "";
    if (per_phase < 50)
        per_phase = 50;
    pc.op = "inventory.get";
    pc.guard.breaker = "svc"; /* admission: fail fast while open (counted once) */
    if (fl_engine_new(NULL, &e) != FL_OK ||
        fl_engine_load_string(e, "flaky.lua", k_policy, strlen(k_policy), &diag) != FL_OK ||
        fl_ctx_new(e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK ||
        fl_pipeline_new(e, &pc, &p, &diag) != FL_OK) {
        fprintf(stderr, "flaky-pipeline: setup failed: %s\n", diag.message);
        return 1;
    }
    for (svc.phase = HEALTHY; svc.phase < NPHASES; svc.phase++) {
        int succeeded = 0, failed = 0, fast = 0, attempts = 0;
        fl_breaker_stats_t bs;
        for (int i = 0; i < per_phase; i++) {
            fl_pipeline_result_t res;
            fl_pipeline_call(p, ctx, ev, "inventory", call_service, &svc, NULL, d, &res);
            attempts += res.attempts;
            if (res.outcome == FL_CALL_SUCCEEDED)
                succeeded++;
            else if (res.outcome == FL_CALL_REFUSED)
                fast++;
            else {
                failed++;
                snprintf(last_msg, sizeof last_msg, "%s [%s]", fl_decision_message(d), res.reason);
            }
            if (fl_breaker_stats(fl_engine_resil(e), "svc", "inventory", &bs) == FL_OK &&
                bs.state == FL_BREAKER_OPEN)
                opened = 1;
            pause_ms(2);
        }
        fl_breaker_stats(fl_engine_resil(e), "svc", "inventory", &bs);
        printf("%-14s calls %4d: ok %4d, failed %3d, failed fast %4d, attempts %4d | breaker %s, "
               "window %llu calls / %llu failures\n",
               PHASE[svc.phase], per_phase, succeeded, failed, fast, attempts,
               fl_breaker_state_name(bs.state), (unsigned long long)bs.calls,
               (unsigned long long)bs.failures);
        if (svc.phase == HEALTHY && (bs.calls < 20 || bs.failures != 0))
            ok = 0; /* the breaker must have seen the successes */
        if (svc.phase == RECOVERED && (bs.state != FL_BREAKER_CLOSED || succeeded < per_phase / 2))
            ok = 0;
        if (svc.phase == DOWN && last_msg[0])
            printf("%-14s last message: %s\n", "", last_msg);
    }
    if (!opened)
        ok = 0;
    printf("%s\n", ok ? "successes counted; the breaker opened while the service was down and closed after"
                      : "the story did not hold");
    fl_pipeline_free(p);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    return ok ? 0 : 1;
}
