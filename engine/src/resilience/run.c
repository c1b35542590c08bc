/*
 * run.c -- the asynchronous executor on a libuv loop, fl_run.
 *
 * One uv_timer per run serves every wait: the start tick, a limiter
 * reservation, the attempt timeout (min of attempt_timeout and the deadline)
 * and the backoff.  A timed-out or cancelled attempt is aborted through the
 * host's abort callback; its late report is accepted and ignored.  The run
 * is freed when it has finished, its timer is closed and no aborted attempt
 * is still unreported.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "resilience/resilience.h"

enum { PH_START, PH_LIMIT, PH_ATTEMPT, PH_BACKOFF, PH_DONE };

struct fl_run {
    fl_xstate x;
    fl_call_result_t res;
    uv_timer_t timer;
    fl_run_callbacks_t cb;
    void *user;
    int phase;
    int closed;      /* timer closed */
    int outstanding; /* attempts started and not reported */
    unsigned char *reported; /* per attempt number: 1 once reported */
};

static void on_timer(uv_timer_t *t);

static uint64_t ms_ceil(int64_t ns)
{
    return ns <= 0 ? 0 : (uint64_t)((ns + 999999) / 1000000);
}

static void maybe_free(fl_run_t *run)
{
    if (run->phase != PH_DONE || !run->closed || run->outstanding > 0)
        return;
    fl_x_end(&run->x);
    free(run->reported);
    free(run);
}

static void on_close(uv_handle_t *h)
{
    fl_run_t *run = h->data;
    run->closed = 1;
    maybe_free(run);
}

/* The call is over (x has filled res): tell the host, then wind down. */
static void finish(fl_run_t *run)
{
    run->phase = PH_DONE;
    uv_timer_stop(&run->timer);
    run->cb.done(run->user, run, &run->res);
    uv_close((uv_handle_t *)&run->timer, on_close);
}

static void start_attempt(fl_run_t *run)
{
    fl_attempt_info_t info;
    fl_x_start(&run->x, &info);
    run->phase = PH_ATTEMPT;
    run->outstanding++;
    if (info.timeout_ns > 0)
        uv_timer_start(&run->timer, on_timer, ms_ceil(info.timeout_ns), 0);
    run->cb.attempt(run->user, run, &info);
}

static void step(fl_run_t *run)
{
    int64_t wait;
    if (!fl_x_admit(&run->x, 0, &wait)) {
        finish(run);
        return;
    }
    if (wait > 0) {
        run->phase = PH_LIMIT;
        uv_timer_start(&run->timer, on_timer, ms_ceil(wait), 0);
        return;
    }
    start_attempt(run);
}

static void handle_outcome(fl_run_t *run, const fl_outcome_t *o)
{
    int64_t delay;
    if (fl_x_outcome(&run->x, o, &delay) == FL_X_DONE) {
        finish(run);
        return;
    }
    run->phase = PH_BACKOFF;
    uv_timer_start(&run->timer, on_timer, ms_ceil(delay), 0);
}

/* The running attempt is abandoned: the host stops it, reports later. */
static void abort_attempt(fl_run_t *run)
{
    int a = run->x.attempt;
    run->phase = PH_BACKOFF; /* anything but ATTEMPT: its report is late */
    if (run->cb.abort)
        run->cb.abort(run->user, run, a);
}

static void on_timer(uv_timer_t *t)
{
    fl_run_t *run = t->data;
    fl_outcome_t to = {"deadline_exceeded", NULL, "attempt timed out"};
    fl_x_tick(&run->x);
    switch (run->phase) {
    case PH_START:
        step(run);
        break;
    case PH_LIMIT:
        start_attempt(run);
        break;
    case PH_ATTEMPT:
        abort_attempt(run);
        handle_outcome(run, &to);
        break;
    case PH_BACKOFF:
        run->phase = PH_START;
        step(run);
        break;
    default:
        break;
    }
}

int fl_run(fl_exec_t *ex, struct uv_loop_s *loop, const char *key, const fl_run_callbacks_t *cb,
           void *user, fl_run_t **out)
{
    fl_run_t *run;
    if (out)
        *out = NULL;
    if (!ex || !loop || !cb || !cb->attempt || !cb->done)
        return FL_EINVAL;
    run = calloc(1, sizeof *run);
    if (!run || !(run->reported = calloc((size_t)ex->max_attempts + 1, 1))) {
        free(run);
        return FL_ENOMEM;
    }
    run->cb = *cb;
    run->user = user;
    uv_timer_init(loop, &run->timer);
    run->timer.data = run;
    if (fl_x_begin(ex, &run->x, key, cb->on_event ? cb->on_event : ex->on_event,
                   cb->on_event ? user : ex->event_user, &run->res) != FL_OK) {
        run->phase = PH_DONE; /* no callback: the caller sees FL_ENOMEM */
        uv_close((uv_handle_t *)&run->timer, on_close);
        return FL_ENOMEM;
    }
    run->phase = PH_START;
    uv_timer_start(&run->timer, on_timer, 0, 0);
    if (out)
        *out = run;
    return FL_OK;
}

int fl_run_attempt_done(fl_run_t *run, int attempt, const fl_outcome_t *o)
{
    if (!run || !o)
        return FL_EINVAL;
    if (attempt < 1 || attempt > run->x.attempt || run->reported[attempt])
        return FL_ESTATE;
    run->reported[attempt] = 1;
    run->outstanding--;
    if (run->phase == PH_ATTEMPT && attempt == run->x.attempt) {
        uv_timer_stop(&run->timer);
        handle_outcome(run, o);
    } else {
        maybe_free(run); /* a late report of an aborted attempt */
    }
    return FL_OK;
}

int fl_run_cancel(fl_run_t *run)
{
    if (!run)
        return FL_EINVAL;
    if (run->phase == PH_DONE)
        return FL_ESTATE;
    if (run->phase == PH_ATTEMPT)
        abort_attempt(run);
    fl_x_tick(&run->x);
    fl_x_finish(&run->x, FL_CALL_CANCELLED, "cancelled");
    finish(run);
    return FL_OK;
}
