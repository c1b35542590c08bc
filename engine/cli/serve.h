/*
 * serve.h -- `faultline serve`: the engine as a local HTTP service.
 *
 * Three layers, so the request handling can be fuzzed without sockets:
 *   serve.c       the command: options, engine, worker threads, signals, drain
 *   serve_http.c  the HTTP layer (h2o, libuv flavour): listeners, limits,
 *                 turning an h2o request into an sv_req and an sv_resp back
 *   serve_api.c   the API: routing table, handlers, problem+json, the NDJSON
 *                 batch state machine, admission leases.  No I/O.
 * docs/serve.md is the user's guide.
 */
#ifndef FL_SERVE_H
#define FL_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline.h"

/* Growable byte buffer (responses). */
typedef struct sv_buf {
    char *p;
    size_t len, cap;
} sv_buf;

int sv_buf_put(sv_buf *b, const char *s, size_t n); /* 0, or -1 on ENOMEM */
void sv_buf_free(sv_buf *b);

typedef struct sv_leases sv_leases; /* admission permits with a lease */

/* Server-wide settings and shared state.  Immutable after start except where
 * a lock or atomic says otherwise. */
/* A file served from memory (the dashboard, compiled in by
 * dashboard/embed.cmake); tables end with a NULL path. */
typedef struct sv_asset {
    const char *path, *type;
    const unsigned char *data;
    size_t len;
} sv_asset;
extern const sv_asset sv_dashboard_assets[];

typedef struct sv_server {
    fl_engine_t *engine;
    const sv_asset *assets;   /* GET / and its files; NULL: no dashboard  */
    const char *registry;     /* --registry database, for the dashboard; may be NULL */
    char token[256];     /* admin bearer token; "" when no --token-file     */
    size_t token_len;
    size_t max_header_bytes; /* sum of header names and values            */
    size_t max_batch_lines;  /* 0: unlimited                              */
    uint32_t lease_default_ms, lease_max_ms;
    sv_leases *leases;
    pthread_mutex_t admin_mu; /* reload / rollback one at a time          */
    fl_shadow_t *shadow;      /* --shadow candidate, or NULL               */
} sv_server;

/* Per worker thread: one deciding context (contexts are single-threaded). */
typedef struct sv_worker {
    sv_server *srv;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
} sv_worker;

/* A request as the API sees it.  Strings are not NUL-terminated. */
typedef struct sv_req {
    const char *method; size_t method_len;
    const char *path; size_t path_len;   /* without the query string */
    const char *query; size_t query_len; /* after '?', may be empty   */
    const char *content_type; size_t content_type_len;       /* NULL if absent */
    const char *accept_language; size_t accept_language_len; /* NULL if absent */
    const char *authorization; size_t authorization_len;     /* NULL if absent */
    const char *body; size_t body_len;
    size_t header_bytes; /* total size of header names and values */
    int unix_socket;     /* 1 when the request came over a unix-socket listener */
} sv_req;

/* NDJSON batch: decides the body line by line, a chunk at a time. */
typedef struct sv_batch {
    const char *body;
    size_t len, off;
    size_t lineno, lines, bad;
    char locale[64];
    int has_locale;
    unsigned flags;
    size_t max_lines;
} sv_batch;

typedef struct sv_resp {
    int status;
    const char *content_type; /* static string */
    sv_buf body;
    /* Instead of body: bytes the worker owns (the decision's JSON), valid
     * until the worker's next request; the HTTP layer copies them out.
     * Saves the single-event path a buffer per request. */
    const char *body_ref;
    size_t body_ref_len;
    const char *hdr_name, *hdr_value; /* one optional extra header (static or in body_extra) */
    char hdr_buf[64];
    sv_batch *batch;          /* non-NULL: stream this instead of body (owned by the response) */
} sv_resp;

/* Handle one request (any thread with its own worker).  Never fails: on any
 * error `rs` holds a problem+json response. */
void sv_handle(sv_worker *w, const sv_req *rq, sv_resp *rs);
/* 1 when the request goes to a route that may take long (reload, rollback):
 * the HTTP layer then runs sv_handle on libuv's thread pool with a worker
 * that has no deciding context. */
int sv_route_slow(const sv_req *rq);
/* Append the next decisions of a batch to `out` until it holds at least
 * `chunk` bytes or the body ends.  Returns 1 when the batch is finished. */
int sv_batch_next(sv_worker *w, sv_batch *b, sv_buf *out, size_t chunk);
void sv_resp_free(sv_resp *rs);

/* Leases: admit/complete over HTTP.  A permit not completed within its lease
 * is released (its bulkhead slot given back) by sv_leases_sweep. */
sv_leases *sv_leases_new(fl_resil_t *r, uint32_t cap);
void sv_leases_free(sv_leases *l);
/* Release expired permits; returns how many. */
size_t sv_leases_sweep(sv_leases *l);
size_t sv_leases_active(sv_leases *l);

int sv_worker_init(sv_worker *w, sv_server *srv);
void sv_worker_free(sv_worker *w);

/* Constant-time comparison of a presented token with the configured one. */
int sv_token_equal(const char *a, size_t alen, const char *b, size_t blen);

/* ---- HTTP layer (serve_http.c) ------------------------------------------- */
typedef struct sv_http sv_http;

typedef struct sv_http_options {
    const char *const *listen; /* "127.0.0.1:PORT", "[::1]:PORT", "unix:/path" */
    size_t nlisten;
    unsigned threads;
    size_t max_body;
    uint32_t request_timeout_ms; /* reading a request (and idle keep-alive) */
    uint32_t max_conns;
} sv_http_options_t;

/* Bind every listener (in the calling thread, so errors are reported before
 * anything starts); `err` receives a message on failure (returns -1). */
int sv_http_bind(sv_http **out, sv_server *srv, const sv_http_options_t *o, char *err, size_t errlen);
/* The bound addresses, for the start line ("127.0.0.1:41234, unix:/x"). */
const char *sv_http_addresses(sv_http *h);
/* Start the worker threads. */
int sv_http_start(sv_http *h, char *err, size_t errlen);
/* Stop accepting, finish in-flight requests for at most drain_ms, join the
 * workers.  Idle keep-alive connections are cut.  Returns the number of
 * requests still in flight when it gave up. */
size_t sv_http_stop(sv_http *h, uint32_t drain_ms);
void sv_http_free(sv_http *h);
size_t sv_http_connections(sv_http *h);

int cli_serve(int argc, char **argv);

#endif
