/*
 * flaky-service -- a libuv TCP client calling a local server through the
 * faultline executor (fl_run), while the server misbehaves by turns:
 *
 *   healthy  answers "OK"
 *   flaky    resets 2 connections in 5: below the breaker's threshold, so
 *            only the retry budget stops the retries from piling up
 *   stall    accepts and never answers: attempts time out
 *   refuse   stops listening: connections are refused (ECONNREFUSED)
 *   reset    accepts, then resets every connection (ECONNRESET)
 *   healthy  again (for two phase lengths)
 *
 * The client sends one request every 10 ms through an executor with a
 * circuit breaker (per service key), a retry budget and a per-attempt
 * timeout.  The output shows the breaker opening, probing (half-open) and
 * closing, and the retry budget refusing retries while the server is down.
 *
 * Usage: flaky-service [phase-ms]   (default 400 ms per phase)
 * The exit status is 0 when the story held (breaker opened, probed and
 * closed; the budget refused retries), 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "faultline.h"

enum { HEALTHY, FLAKY, STALL, REFUSE, RESET, RECOVERED, NPHASES };
static const char *const PHASE[NPHASES] = {"healthy", "flaky", "stall",
                                           "refuse",  "reset", "healthy"};

typedef struct stats {
    int calls, ok, failed, fast_failed, retries, budget_refused, breaker_refused;
} stats;

typedef struct app {
    uv_loop_t *loop;
    uv_tcp_t *listener; /* NULL while refusing */
    struct sockaddr_in addr;
    uv_timer_t tick;
    uint64_t t0;
    int phase_ms, phase, in_flight, accepted;
    fl_resil_t *r;
    fl_exec_t *ex;
    stats st[NPHASES];
} app;

/* ---- the server ----------------------------------------------------------- */

static void on_server_close(uv_handle_t *h)
{
    free(h);
}

static void on_server_write(uv_write_t *w, int status)
{
    (void)status;
    uv_close((uv_handle_t *)w->handle, on_server_close);
    free(w);
}

static void server_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    static char sink[64]; /* requests are read and dropped */
    (void)h;
    (void)size;
    *b = uv_buf_init(sink, sizeof sink);
}

/* Stalling: read and ignore; close when the client gives up. */
static void server_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)b;
    if (n < 0 && !uv_is_closing((uv_handle_t *)s))
        uv_close((uv_handle_t *)s, on_server_close);
}

static void on_connection(uv_stream_t *server, int status)
{
    app *a = server->data;
    uv_tcp_t *c;
    if (status < 0 || !(c = malloc(sizeof *c)))
        return;
    uv_tcp_init(a->loop, c);
    c->data = a;
    if (uv_accept(server, (uv_stream_t *)c) != 0) {
        uv_close((uv_handle_t *)c, on_server_close);
    } else if (a->phase == RESET || (a->phase == FLAKY && a->accepted++ % 5 < 2)) {
        uv_tcp_close_reset(c, on_server_close);
    } else if (a->phase == STALL) {
        uv_read_start((uv_stream_t *)c, server_alloc, server_read);
    } else {
        static char ok[] = "OK\n";
        uv_buf_t b = uv_buf_init(ok, 3);
        uv_write_t *w = malloc(sizeof *w);
        if (w)
            uv_write(w, (uv_stream_t *)c, &b, 1, on_server_write);
    }
}

static void listen_start(app *a)
{
    a->listener = malloc(sizeof *a->listener);
    uv_tcp_init(a->loop, a->listener);
    a->listener->data = a;
    if (uv_tcp_bind(a->listener, (const struct sockaddr *)&a->addr, 0) != 0 ||
        uv_listen((uv_stream_t *)a->listener, 128, on_connection) != 0) {
        fprintf(stderr, "flaky-service: cannot listen on 127.0.0.1:%d\n", ntohs(a->addr.sin_port));
        exit(1);
    }
}

static void listen_stop(app *a)
{
    if (a->listener)
        uv_close((uv_handle_t *)a->listener, on_server_close);
    a->listener = NULL;
}

/* ---- the client: one request = one fl_run; one attempt = one connection -- */

typedef struct attempt attempt;

typedef struct request {
    app *a;
    attempt *cur; /* the attempt in progress, if any */
} request;

struct attempt {
    request *req;
    fl_run_t *run;
    int n, reported;
    uv_tcp_t tcp;
    uv_connect_t conn;
    uv_write_t wr;
    char buf[16];
};

static void on_client_close(uv_handle_t *h)
{
    free(h->data);
}

/* Report the attempt's outcome once, then close its connection. */
static void report(attempt *t, const char *category)
{
    fl_outcome_t o = {category, NULL, NULL};
    if (t->req && t->req->cur == t)
        t->req->cur = NULL;
    if (!t->reported) {
        t->reported = 1;
        fl_run_attempt_done(t->run, t->n, &o);
    }
    if (!uv_is_closing((uv_handle_t *)&t->tcp))
        uv_close((uv_handle_t *)&t->tcp, on_client_close);
}

static void on_alloc(uv_handle_t *h, size_t size, uv_buf_t *b)
{
    attempt *t = h->data;
    (void)size;
    *b = uv_buf_init(t->buf, sizeof t->buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    attempt *t = s->data;
    (void)b;
    if (n > 0)
        report(t, NULL);
    else if (n < 0)
        report(t, "unavailable"); /* ECONNRESET, or EOF without an answer */
}

static void on_written(uv_write_t *w, int status)
{
    (void)w;
    (void)status; /* errors show up on the read side */
}

static void on_connect(uv_connect_t *c, int status)
{
    attempt *t = c->data;
    static char req[] = "GET\n";
    uv_buf_t b = uv_buf_init(req, 4);
    if (t->reported)
        return; /* aborted meanwhile */
    if (status < 0) {
        report(t, "unavailable"); /* ECONNREFUSED */
        return;
    }
    uv_write(&t->wr, (uv_stream_t *)&t->tcp, &b, 1, on_written);
    uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
}

static void on_attempt(void *user, fl_run_t *run, const fl_attempt_info_t *info)
{
    request *q = user;
    attempt *t = calloc(1, sizeof *t);
    t->req = q;
    t->run = run;
    t->n = info->attempt;
    q->cur = t;
    uv_tcp_init(q->a->loop, &t->tcp);
    t->tcp.data = t;
    t->conn.data = t;
    if (info->attempt > 1)
        q->a->st[q->a->phase].retries++;
    if (uv_tcp_connect(&t->conn, &t->tcp, (const struct sockaddr *)&q->a->addr, on_connect) != 0)
        report(t, "unavailable");
}

/* The executor timed the attempt out (or cancelled it): stop its I/O. */
static void on_abort(void *user, fl_run_t *run, int n)
{
    request *q = user;
    (void)run;
    if (q->cur && q->cur->n == n)
        report(q->cur, "cancelled");
}

static void on_done(void *user, fl_run_t *run, const fl_call_result_t *res)
{
    request *q = user;
    app *a = q->a;
    stats *s = &a->st[a->phase];
    (void)run;
    a->in_flight--;
    q->a = NULL; /* freed below; a late abort report finds q->cur NULL */
    free(q);
    if (res->outcome == FL_CALL_SUCCEEDED) {
        s->ok++;
        return;
    }
    if (res->outcome == FL_CALL_REFUSED)
        s->fast_failed++;
    else
        s->failed++;
    if (strncmp(res->reason, "retry_budget:", 13) == 0)
        s->budget_refused++;
    if (strncmp(res->reason, "breaker_open:", 13) == 0)
        s->breaker_refused++;
}

static void on_breaker(void *user, const char *name, const char *key, fl_breaker_state from,
                       fl_breaker_state to)
{
    app *a = user;
    printf("%6.0f ms  [%-7s] breaker %s/%s: %s -> %s\n", (double)(uv_now(a->loop) - a->t0),
           PHASE[a->phase], name, key, fl_breaker_state_name(from), fl_breaker_state_name(to));
}

/* ---- the driver ------------------------------------------------------------ */

static void send_request(app *a)
{
    static const fl_run_callbacks_t cb = {on_attempt, on_abort, on_done, NULL};
    request *q = calloc(1, sizeof *q);
    q->a = a;
    a->st[a->phase].calls++;
    a->in_flight++;
    if (fl_run(a->ex, a->loop, "inventory", &cb, q, NULL) != FL_OK) {
        a->in_flight--;
        free(q);
    }
}

static void set_phase(app *a, int phase)
{
    printf("%6.0f ms  --- server: %s\n", (double)(uv_now(a->loop) - a->t0), PHASE[phase]);
    if (phase == REFUSE)
        listen_stop(a);
    if (a->phase == REFUSE)
        listen_start(a);
    a->phase = phase;
}

static void on_tick(uv_timer_t *t)
{
    app *a = t->data;
    int phase = (int)((uv_now(a->loop) - a->t0) / (uint64_t)a->phase_ms);
    if (phase == NPHASES)
        phase = RECOVERED; /* the recovery runs two phase lengths */
    if (phase > NPHASES) {
        uv_timer_stop(t);
        uv_close((uv_handle_t *)t, NULL);
        listen_stop(a);
        return;
    }
    if (phase != a->phase)
        set_phase(a, phase);
    send_request(a);
}

static void declare(app *a)
{
    fl_breaker_config_t bc = {.size = 20, .failure_rate = 0.5, .min_calls = 10,
                              .half_open_calls = 3, .open_ms = 150, .open_max_ms = 600,
                              .key = "{op}"};
    fl_budget_config_t gc = {.ratio = 0.2, .min_retries = 5, .window_ms = 1000};
    fl_exec_config_t ec = {.guard = {.breaker = "inventory", .budget = "default"},
                           .max_attempts = 3, .base_ms = 5, .jitter = 1,
                           .attempt_timeout_ms = 50, .deadline_ms = 400};
    fl_diag_t d;
    if (fl_breaker_declare(a->r, "inventory", &bc, &d) ||
        fl_budget_declare(a->r, "default", &gc, &d) || fl_exec_new(a->r, &ec, &a->ex, &d)) {
        fprintf(stderr, "flaky-service: %s\n", d.message);
        exit(1);
    }
}

static void summary(const app *a)
{
    printf("\nphase     calls    ok  failed  fast-fail  retries  budget-refused  breaker-refused\n");
    for (int p = 0; p < NPHASES; p++) {
        const stats *s = &a->st[p];
        printf("%-8s %6d %5d %7d %10d %8d %15d %16d\n", PHASE[p], s->calls, s->ok, s->failed,
               s->fast_failed, s->retries, s->budget_refused, s->breaker_refused);
    }
}

int main(int argc, char **argv)
{
    app a;
    fl_resil_options_t ro = {0};
    memset(&a, 0, sizeof a);
    a.phase_ms = argc > 1 ? atoi(argv[1]) : 400;
    if (a.phase_ms < 50)
        a.phase_ms = 50;
    a.loop = uv_default_loop();
    ro.on_breaker = on_breaker;
    ro.listener_user = &a;
    if (fl_resil_new(&ro, &a.r) != FL_OK)
        return 1;
    declare(&a);
    uv_ip4_addr("127.0.0.1", 0, &a.addr);
    listen_start(&a);
    {   /* learn the port the OS picked */
        int len = sizeof a.addr;
        uv_tcp_getsockname(a.listener, (struct sockaddr *)&a.addr, &len);
    }
    a.t0 = uv_now(a.loop);
    printf("%6.0f ms  --- server: %s (127.0.0.1:%d)\n", 0.0, PHASE[0], ntohs(a.addr.sin_port));
    uv_timer_init(a.loop, &a.tick);
    a.tick.data = &a;
    uv_timer_start(&a.tick, on_tick, 0, 10);
    uv_run(a.loop, UV_RUN_DEFAULT);
    summary(&a);
    if (a.st[FLAKY].budget_refused > 0)
        printf("retry budget held: %d of %d failed calls in the flaky phase were not retried\n",
               a.st[FLAKY].budget_refused, a.st[FLAKY].budget_refused + a.st[FLAKY].retries);
    fl_resil_free(a.r);
    uv_loop_close(a.loop);
    return a.st[FLAKY].budget_refused > 0 && a.st[RECOVERED].ok > 0 ? 0 : 1;
}
