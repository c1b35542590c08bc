/*
 * bench_template_bomb.c -- peak memory of the template bomb: a message
 * template that repeats a named capture 20,000 times, decided for an event
 * whose message (and so the capture) is 1 MB.  Rendered in full that asks
 * for ~20 GB; rendering stops at max_message_len, so the decision should
 * cost no more than the event itself.  Prints the process's peak resident
 * set (getrusage) before and after the decision, and the decision time.
 *
 * Usage: bench_template_bomb      (prints figures; no asserts)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "faultline.h"

static long peak_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(void)
{
    const size_t reps = 20000, mlen = 1000 * 1000;
    size_t cap = reps * 5 + 512, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src + n, cap - n,
                          "policy { name = 'bomb', version = '1' }\n"
                          "rule 'bomb' { when = { message = re[[(?<big>x+)]] }, category = 'internal' }\n"
                          "messages 'en' { internal = '");
    for (size_t i = 0; i < reps; i++) n += (size_t)snprintf(src + n, cap - n, "{big}");
    snprintf(src + n, cap - n, "' }\n");
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_diag_t dg;
    if (fl_engine_new(NULL, &e) != FL_OK || fl_engine_load_string(e, "bomb.lua", src, n + 3, &dg) != FL_OK) {
        fprintf(stderr, "load failed: %s\n", dg.message);
        return 1;
    }
    free(src);
    fl_ctx_new(e, &ctx);
    fl_event_new(&ev);
    fl_decision_new(&d);
    char *msg = malloc(mlen);
    memset(msg, 'x', mlen);
    fl_event_set(ev, FL_FIELD_MESSAGE, msg, mlen);
    free(msg);
    long before = peak_kib();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = fl_decide(ctx, ev, NULL, 0, d);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long after = peak_kib();
    printf("template: {big} x %zu, capture %zu bytes (full render would be %.1f GB)\n", reps, mlen,
           (double)reps * (double)mlen / 1e9);
    printf("decide: %s, message %zu bytes, %.2f ms\n", fl_strerror(rc), strlen(fl_decision_message(d)),
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    printf("peak RSS: %ld KiB before the decision, %ld KiB after (+%ld KiB)\n", before, after, after - before);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    return 0;
}
