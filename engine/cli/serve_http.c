/*
 * serve_http.c -- the HTTP layer of `faultline serve`: h2o 2.2 (Debian's
 * libh2o, libuv flavour) on one libuv loop per worker thread.
 *
 * Listeners are bound by the calling thread (so a bad address is reported
 * before anything starts).  A TCP listener gets one SO_REUSEPORT socket per
 * worker, so the kernel spreads connections; a unix-socket listener is one
 * socket shared by the workers.  Each worker owns an h2o context and an
 * sv_worker (its fl_ctx_t); requests become sv_req and go to sv_handle.
 *
 * Limits: request body (h2o's max_request_entity_size), time to read a
 * request and idle keep-alive (h2o's http1 req_timeout: a slow client is
 * cut), total connections (counted here; over the limit a connection is
 * closed at accept), header bytes (checked by sv_handle).
 */
#define H2O_USE_LIBUV 1
#include <h2o.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <uv.h>

#include "serve.h"

#define SV_MAX_LISTEN 8
#define SV_MAX_THREADS 64
#define SV_CHUNK (64 * 1024)

typedef struct sv_listener {
    int is_unix;
    int fds[SV_MAX_THREADS]; /* TCP: one per worker; unix: fds[0] shared */
    char shown[300];
    char unix_path[sizeof ((struct sockaddr_un *)0)->sun_path];
} sv_listener;

typedef struct sv_thread {
    h2o_context_t h2o; /* first: a request's conn->ctx points here */
    struct sv_http *http;
    sv_worker w;
    uv_loop_t loop;
    uv_async_t stop_async;
    uv_timer_t drain_timer;
    uv_stream_t *lis[SV_MAX_LISTEN];
    h2o_accept_ctx_t accept;
    pthread_t tid;
    int started;
    size_t cut; /* requests still in flight at the drain deadline */
    uint64_t drain_deadline;
    size_t conns;    /* this loop's connections (loop thread only) */
    size_t inflight; /* requests being answered (loop thread only) */
    struct sv_conn **ctab; /* open-addressing set keyed by h2o connection */
    size_t ccap;           /* slots in ctab (a power of two; 0 before use) */
} sv_thread;

/* A connection's libuv handle, with its owner for the close callback
 * (h2o takes over handle->data). */
typedef struct sv_conn {
    union {
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    sv_thread *t;
    h2o_socket_t *sock;    /* h2o's socket (freed after our close callback) */
    const void *key;       /* h2o's connection (sock->data), req->conn */
    size_t dispatched;     /* sock->bytes_read when its last request began */
} sv_conn;

struct sv_http {
    sv_server *srv;
    sv_http_options_t o;
    h2o_globalconf_t config;
    sv_listener lis[SV_MAX_LISTEN];
    size_t nlis;
    sv_thread *th;
    unsigned nth;
    _Atomic size_t conns;
    uint32_t drain_ms;
    char addrs[1024];
};

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* ---- streaming NDJSON ---------------------------------------------------- */

typedef struct sv_stream {
    h2o_generator_t super;
    sv_thread *t;
    sv_batch *batch;
    sv_buf buf;
} sv_stream;

static void stream_send(sv_stream *s, h2o_req_t *req)
{
    s->buf.len = 0;
    int done = sv_batch_next(&s->t->w, s->batch, &s->buf, SV_CHUNK);
    h2o_iovec_t v = h2o_iovec_init(s->buf.p ? s->buf.p : "", s->buf.len);
    h2o_send(req, &v, 1, done ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void stream_proceed(h2o_generator_t *g, h2o_req_t *req)
{
    stream_send((sv_stream *)g, req);
}

static void stream_stop(h2o_generator_t *g, h2o_req_t *req)
{
    (void)g;
    (void)req;
}

static void stream_dispose(void *p)
{
    sv_stream *s = p;
    sv_buf_free(&s->buf);
    free(s->batch);
}

/* ---- requests ------------------------------------------------------------ */

static const char *header(h2o_req_t *req, const h2o_token_t *tok, size_t *len)
{
    ssize_t i = h2o_find_header(&req->headers, tok, -1);
    if (i < 0) {
        *len = 0;
        return NULL;
    }
    *len = req->headers.entries[i].value.len;
    return req->headers.entries[i].value.base;
}

static void respond(sv_thread *t, h2o_req_t *req, sv_resp *rs)
{
    req->res.status = rs->status;
    req->res.reason = reason_of(rs->status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, rs->content_type,
                   strlen(rs->content_type));
    if (rs->hdr_name) {
        h2o_iovec_t v = h2o_strdup(&req->pool, rs->hdr_value, SIZE_MAX);
        h2o_add_header_by_str(&req->pool, &req->res.headers, rs->hdr_name, strlen(rs->hdr_name), 0, NULL, v.base,
                              v.len);
    }
    if (rs->batch) {
        sv_stream *s = h2o_mem_alloc_shared(&req->pool, sizeof *s, stream_dispose);
        memset(s, 0, sizeof *s);
        s->super.proceed = stream_proceed;
        s->super.stop = stream_stop;
        s->t = t;
        s->batch = rs->batch;
        rs->batch = NULL;
        h2o_start_response(req, &s->super);
        stream_send(s, req);
    } else if (rs->body_ref) {
        req->res.content_length = rs->body_ref_len;
        h2o_send_inline(req, rs->body_ref, rs->body_ref_len);
    } else {
        req->res.content_length = rs->body.len;
        h2o_send_inline(req, rs->body.p ? rs->body.p : "", rs->body.len);
    }
}

/* ---- slow routes on the thread pool ---------------------------------------
 * A reload compiles a policy (tens to hundreds of ms): it runs on libuv's
 * thread pool with a copy of the request, and the answer is sent from the
 * loop thread.  If the client goes away meanwhile, h2o disposes of the
 * request; the link (in the request's pool) tells the job not to answer. */
typedef struct sv_job sv_job;
typedef struct sv_link {
    sv_job *job;
} sv_link;

struct sv_job {
    uv_work_t work;
    sv_thread *t;
    h2o_req_t *req;
    sv_link *link; /* NULL once the request is gone */
    sv_req rq;     /* pointers into `copy` */
    sv_resp rs;
    char copy[];
};

static void link_dispose(void *p)
{
    sv_link *l = p;
    if (l->job) l->job->link = NULL;
}

static void job_work(uv_work_t *w)
{
    sv_job *j = (sv_job *)w;
    sv_worker admin = {j->t->http->srv, NULL, NULL, NULL}; /* no deciding context */
    sv_handle(&admin, &j->rq, &j->rs);
}

static void job_after(uv_work_t *w, int status)
{
    sv_job *j = (sv_job *)w;
    if (j->link) {
        j->link->job = NULL;
        if (status != 0) {
            sv_resp_free(&j->rs);
            memset(&j->rs, 0, sizeof j->rs);
            j->rs.status = 503;
            j->rs.content_type = "application/problem+json";
            const char *b = "{\"type\":\"about:blank#internal\",\"title\":\"Internal error\",\"status\":503}";
            sv_buf_put(&j->rs.body, b, strlen(b));
        }
        respond(j->t, j->req, &j->rs);
    }
    sv_resp_free(&j->rs);
    free(j);
}

static const char *dup_into(char **at, const char *s, size_t n)
{
    if (!s) return NULL;
    char *d = *at;
    memcpy(d, s, n);
    *at += n;
    return d;
}

/* A 503 problem when the server itself cannot take a request on. */
static void respond_503(sv_thread *t, h2o_req_t *req, const char *type, const char *title)
{
    sv_resp rs;
    char b[200];
    memset(&rs, 0, sizeof rs);
    rs.status = 503;
    rs.content_type = "application/problem+json";
    int n = snprintf(b, sizeof b, "{\"type\":\"about:blank#%s\",\"title\":\"%s\",\"status\":503}", type, title);
    sv_buf_put(&rs.body, b, (size_t)n);
    respond(t, req, &rs);
    sv_resp_free(&rs);
}

static void offload(sv_thread *t, h2o_req_t *req, const sv_req *rq)
{
    size_t n = rq->method_len + rq->path_len + rq->query_len + rq->content_type_len + rq->accept_language_len +
               rq->authorization_len + rq->body_len;
    sv_job *j = calloc(1, sizeof *j + n + 1);
    if (!j) {
        respond_503(t, req, "out-of-memory", "Out of memory");
        return;
    }
    char *at = j->copy;
    j->rq = *rq;
    j->rq.method = dup_into(&at, rq->method, rq->method_len);
    j->rq.path = dup_into(&at, rq->path, rq->path_len);
    j->rq.query = dup_into(&at, rq->query, rq->query_len);
    j->rq.content_type = dup_into(&at, rq->content_type, rq->content_type_len);
    j->rq.accept_language = dup_into(&at, rq->accept_language, rq->accept_language_len);
    j->rq.authorization = dup_into(&at, rq->authorization, rq->authorization_len);
    j->rq.body = dup_into(&at, rq->body, rq->body_len);
    j->t = t;
    j->req = req;
    j->link = h2o_mem_alloc_shared(&req->pool, sizeof *j->link, link_dispose);
    j->link->job = j;
    if (uv_queue_work(&t->loop, &j->work, job_work, job_after) != 0) {
        j->link->job = NULL;
        free(j);
        respond_503(t, req, "internal", "Internal error");
    }
}

/* ---- the connection set ----------------------------------------------------
 *
 * Why: a drain must wait for a request whose body is still arriving, which
 * h2o 2.2 does not expose (on_req runs only once the whole body is read).
 * Each connection remembers how many bytes its socket had read when its last
 * request was dispatched; more bytes than that are a request in progress.
 * on_req finds its connection here, keyed by h2o's connection pointer
 * (sock->data after h2o_accept).  Linear probing, backward-shift deletion;
 * loop thread only. */

static size_t conn_slot(const sv_thread *t, const void *key)
{
    uintptr_t k = (uintptr_t)key;
    k ^= k >> 17;
    k *= (uintptr_t)0x9E3779B97F4A7C15ull;
    return (size_t)(k >> 7) & (t->ccap - 1);
}

static sv_conn *conn_find(sv_thread *t, const void *key)
{
    if (!t->ccap) return NULL;
    for (size_t i = conn_slot(t, key);; i = (i + 1) & (t->ccap - 1)) {
        if (!t->ctab[i]) return NULL;
        if (t->ctab[i]->key == key) return t->ctab[i];
    }
}

static void conn_put_slot(sv_thread *t, sv_conn *c)
{
    size_t i = conn_slot(t, c->key);
    while (t->ctab[i] && t->ctab[i]->key != c->key) i = (i + 1) & (t->ccap - 1);
    t->ctab[i] = c; /* an equal key is a closed connection whose memory h2o reused */
}

/* Returns 0, or -1 when out of memory (the connection is then not tracked:
 * a drain does not wait for a body it is still reading). */
static int conn_add(sv_thread *t, sv_conn *c)
{
    if ((t->conns + 1) * 2 > t->ccap) {
        size_t ncap = t->ccap ? t->ccap * 2 : 64, ocap = t->ccap;
        sv_conn **ntab = calloc(ncap, sizeof *ntab), **otab = t->ctab;
        if (!ntab) return -1;
        t->ctab = ntab;
        t->ccap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (otab[i]) conn_put_slot(t, otab[i]);
        free(otab);
    }
    conn_put_slot(t, c);
    return 0;
}

static void conn_remove(sv_thread *t, sv_conn *c)
{
    if (!t->ccap) return;
    size_t i = conn_slot(t, c->key), m = t->ccap - 1;
    while (t->ctab[i] && t->ctab[i] != c) i = (i + 1) & m;
    if (!t->ctab[i]) return; /* replaced by a newer connection with the same key */
    t->ctab[i] = NULL;
    for (size_t j = (i + 1) & m; t->ctab[j]; j = (j + 1) & m) { /* backward shift */
        size_t home = conn_slot(t, t->ctab[j]->key);
        if (((j - home) & m) >= ((j - i) & m)) {
            t->ctab[i] = t->ctab[j];
            t->ctab[j] = NULL;
            i = j;
        }
    }
}

/* Connections in the middle of receiving a request (loop thread only). */
static size_t conns_receiving(const sv_thread *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->ccap; i++)
        if (t->ctab[i] && t->ctab[i]->sock->bytes_read > t->ctab[i]->dispatched) n++;
    return n;
}

/* Runs when h2o disposes of the request (its response is written or the
 * connection is gone): the request is no longer in flight. */
static void req_done(void *p)
{
    sv_thread **t = p;
    (*t)->inflight--;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    (void)self;
    sv_thread *t = (sv_thread *)req->conn->ctx;
    sv_thread **tag = h2o_mem_alloc_shared(&req->pool, sizeof *tag, req_done);
    *tag = t;
    t->inflight++;
    sv_conn *c = conn_find(t, req->conn);
    if (c) c->dispatched = c->sock->bytes_read; /* later bytes are the next request */
    sv_req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = req->method.base;
    rq.method_len = req->method.len;
    rq.path = req->path.base;
    rq.path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    if (req->query_at != SIZE_MAX) {
        rq.query = req->path.base + req->query_at + 1;
        rq.query_len = req->path.len - req->query_at - 1;
    }
    rq.content_type = header(req, H2O_TOKEN_CONTENT_TYPE, &rq.content_type_len);
    rq.accept_language = header(req, H2O_TOKEN_ACCEPT_LANGUAGE, &rq.accept_language_len);
    rq.authorization = header(req, H2O_TOKEN_AUTHORIZATION, &rq.authorization_len);
    rq.body = req->entity.base;
    rq.body_len = req->entity.base ? req->entity.len : 0;
    for (size_t i = 0; i < req->headers.size; i++)
        rq.header_bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (req->conn->callbacks->get_peername &&
        req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss) > 0)
        rq.unix_socket = ss.ss_family == AF_UNIX;

    if (sv_route_slow(&rq)) {
        offload(t, req, &rq);
        return 0;
    }
    sv_resp rs;
    sv_handle(&t->w, &rq, &rs);
    respond(t, req, &rs);
    sv_resp_free(&rs);
    return 0;
}

/* ---- connections --------------------------------------------------------- */

static void on_conn_close(uv_handle_t *h)
{
    sv_conn *c = (sv_conn *)h;
    if (c->key) conn_remove(c->t, c);
    c->t->conns--;
    atomic_fetch_sub(&c->t->http->conns, 1);
    free(c);
}

static void on_refused_close(uv_handle_t *h)
{
    free(h);
}

static void on_accept(uv_stream_t *lis, int status)
{
    sv_thread *t = lis->data;
    if (status != 0) return;
    sv_conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->t = t;
    int is_tcp = lis->type == UV_TCP;
    if (is_tcp)
        uv_tcp_init(&t->loop, &c->h.tcp);
    else
        uv_pipe_init(&t->loop, &c->h.pipe, 0);
    if (uv_accept(lis, (uv_stream_t *)&c->h) != 0) {
        uv_close((uv_handle_t *)&c->h, on_refused_close);
        return;
    }
    if (atomic_load(&t->http->conns) >= t->http->o.max_conns) {
        uv_close((uv_handle_t *)&c->h, on_refused_close); /* over the connection limit */
        return;
    }
    if (is_tcp) uv_tcp_nodelay(&c->h.tcp, 1);
    atomic_fetch_add(&t->http->conns, 1);
    t->conns++;
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)&c->h, on_conn_close);
    h2o_accept(&t->accept, sock); /* plain HTTP/1: sets sock->data to the connection now */
    c->sock = sock;
    c->key = sock->data;
    if (c->key && conn_add(t, c) != 0) c->key = NULL;
}

/* ---- binding ------------------------------------------------------------- */

static int bind_tcp(sv_listener *L, const char *spec, unsigned nth, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    char host[64];
    const char *colon;
    int v6 = spec[0] == '[';
    if (v6) {
        const char *rb = strchr(spec, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - spec - 1) >= sizeof host) goto bad;
        memcpy(host, spec + 1, (size_t)(rb - spec - 1));
        host[rb - spec - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host) goto bad;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535) goto bad;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) goto bad;
        if (!IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) goto notlocal;
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1) goto bad;
        if ((ntohl(a->sin_addr.s_addr) >> 24) != 127) goto notlocal;
        sl = sizeof *a;
    }
    for (unsigned i = 0; i < nth; i++) {
        int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
            bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 4096) != 0) {
            snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        L->fds[i] = fd;
        if (i == 0) { /* port 0: the others bind the port the kernel chose */
            getsockname(fd, (struct sockaddr *)&ss, &sl);
            int p = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
            snprintf(L->shown, sizeof L->shown, v6 ? "[%s]:%d" : "%s:%d", host, p);
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "bad --listen address '%s' (use 127.0.0.1:PORT, [::1]:PORT or unix:/path)", spec);
    return -1;
notlocal:
    snprintf(err, errlen, "--listen %s: only loopback addresses (127.0.0.0/8, ::1) and unix sockets are served", spec);
    return -1;
}

static int bind_unix(sv_listener *L, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof a.sun_path) {
        snprintf(err, errlen, "--listen unix:%s: the path must be 1-%zu bytes", path, sizeof a.sun_path - 1);
        return -1;
    }
    strcpy(a.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path); /* a stale socket */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    mode_t old = umask(0077); /* owner only: the socket grants admin access without a token */
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (rc == 0) rc = chmod(path, 0600);
    if (rc != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errlen, "cannot listen on unix:%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    L->is_unix = 1;
    L->fds[0] = fd;
    snprintf(L->unix_path, sizeof L->unix_path, "%s", path);
    snprintf(L->shown, sizeof L->shown, "unix:%s", path);
    return 0;
}

/* Close the listening sockets (and remove unix socket files) bound so far. */
static void close_listeners(sv_http *h)
{
    for (size_t i = 0; i < h->nlis; i++) {
        for (size_t j = 0; j < SV_MAX_THREADS; j++)
            if (h->lis[i].fds[j] >= 0) close(h->lis[i].fds[j]);
        if (h->lis[i].is_unix && h->lis[i].unix_path[0]) unlink(h->lis[i].unix_path);
    }
}

int sv_http_bind(sv_http **out, sv_server *srv, const sv_http_options_t *o, char *err, size_t errlen)
{
    *out = NULL;
    if (o->nlisten > SV_MAX_LISTEN || o->threads < 1 || o->threads > SV_MAX_THREADS) {
        snprintf(err, errlen, "at most %d --listen addresses and 1-%d --threads", SV_MAX_LISTEN, SV_MAX_THREADS);
        return -1;
    }
    sv_http *h = calloc(1, sizeof *h);
    if (!h) return snprintf(err, errlen, "out of memory"), -1;
    h->srv = srv;
    h->o = *o;
    for (size_t i = 0; i < SV_MAX_LISTEN; i++)
        for (size_t j = 0; j < SV_MAX_THREADS; j++) h->lis[i].fds[j] = -1;
    for (size_t i = 0; i < o->nlisten; i++) {
        const char *spec = o->listen[i];
        int rc = strncmp(spec, "unix:", 5) == 0 ? bind_unix(&h->lis[i], spec + 5, err, errlen)
                                                : bind_tcp(&h->lis[i], spec, o->threads, err, errlen);
        h->nlis = i + 1;
        if (rc != 0) { /* nothing of h2o's exists yet: close what was bound and free it all */
            close_listeners(h);
            free(h);
            return -1;
        }
        size_t l = strlen(h->addrs);
        snprintf(h->addrs + l, sizeof h->addrs - l, "%s%s", l ? ", " : "", h->lis[i].shown);
    }
    h2o_config_init(&h->config);
    h->config.server_name = h2o_iovec_init(H2O_STRLIT("faultline"));
    h->config.max_request_entity_size = o->max_body;
    h->config.http1.req_timeout = o->request_timeout_ms;
    h->config.http1.upgrade_to_http2 = 0;
    h2o_hostconf_t *host = h2o_config_register_host(&h->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    h2o_handler_t *hd = h2o_create_handler(path, sizeof *hd);
    hd->on_req = on_req;
    *out = h;
    return 0;
}

const char *sv_http_addresses(sv_http *h)
{
    return h->addrs;
}

size_t sv_http_connections(sv_http *h)
{
    return atomic_load(&h->conns);
}

/* ---- workers ------------------------------------------------------------- */

static void close_cb_free(uv_handle_t *h)
{
    free(h);
}

static void on_drain_tick(uv_timer_t *tm)
{
    sv_thread *t = tm->data;
    /* Idle keep-alive connections do not hold the drain up: they are cut.
     * One still receiving a request does. */
    size_t busy = t->inflight + conns_receiving(t);
    if (busy == 0 || uv_now(&t->loop) >= t->drain_deadline) {
        t->cut = busy;
        uv_stop(&t->loop);
    }
}

static void on_stop(uv_async_t *a)
{
    sv_thread *t = a->data;
    for (size_t i = 0; i < SV_MAX_LISTEN; i++)
        if (t->lis[i]) {
            uv_close((uv_handle_t *)t->lis[i], close_cb_free);
            t->lis[i] = NULL;
        }
    h2o_context_request_shutdown(&t->h2o); /* keep-alive connections close after their response */
    t->drain_deadline = uv_now(&t->loop) + t->http->drain_ms;
    uv_timer_init(&t->loop, &t->drain_timer);
    t->drain_timer.data = t;
    uv_timer_start(&t->drain_timer, on_drain_tick, 0, 10);
}

static void *worker_main(void *arg)
{
    sv_thread *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int thread_setup(sv_http *h, sv_thread *t, unsigned idx, char *err, size_t errlen)
{
    t->http = h;
    if (sv_worker_init(&t->w, h->srv) != 0) return snprintf(err, errlen, "out of memory"), -1;
    uv_loop_init(&t->loop);
    h2o_context_init(&t->h2o, &t->loop, &h->config);
    t->accept.ctx = &t->h2o;
    t->accept.hosts = h->config.hosts;
    uv_async_init(&t->loop, &t->stop_async, on_stop);
    t->stop_async.data = t;
    for (size_t i = 0; i < h->nlis; i++) {
        sv_listener *L = &h->lis[i];
        int fd = L->is_unix ? dup(L->fds[0]) : L->fds[idx];
        if (!L->is_unix) L->fds[idx] = -1; /* now owned by libuv */
        uv_stream_t *s;
        int rc;
        if (L->is_unix) {
            uv_pipe_t *p = calloc(1, sizeof *p);
            uv_pipe_init(&t->loop, p, 0);
            rc = uv_pipe_open(p, fd);
            s = (uv_stream_t *)p;
        } else {
            uv_tcp_t *tc = calloc(1, sizeof *tc);
            uv_tcp_init(&t->loop, tc);
            rc = uv_tcp_open(tc, fd);
            s = (uv_stream_t *)tc;
        }
        s->data = t;
        t->lis[i] = s;
        if (rc == 0) rc = uv_listen(s, 4096, on_accept);
        if (rc != 0) return snprintf(err, errlen, "cannot listen on %s: %s", L->shown, uv_strerror(rc)), -1;
    }
    return 0;
}

int sv_http_start(sv_http *h, char *err, size_t errlen)
{
    h->th = calloc(h->o.threads, sizeof *h->th);
    if (!h->th) return snprintf(err, errlen, "out of memory"), -1;
    h->nth = h->o.threads;
    for (unsigned i = 0; i < h->nth; i++)
        if (thread_setup(h, &h->th[i], i, err, errlen) != 0) return -1;
    for (unsigned i = 0; i < h->nth; i++) {
        if (pthread_create(&h->th[i].tid, NULL, worker_main, &h->th[i]) != 0)
            return snprintf(err, errlen, "cannot start worker threads"), -1;
        h->th[i].started = 1;
    }
    return 0;
}

size_t sv_http_stop(sv_http *h, uint32_t drain_ms)
{
    h->drain_ms = drain_ms;
    for (unsigned i = 0; i < h->nth; i++)
        if (h->th[i].started) uv_async_send(&h->th[i].stop_async);
    for (unsigned i = 0; i < h->nth; i++)
        if (h->th[i].started) {
            pthread_join(h->th[i].tid, NULL);
            h->th[i].started = 0;
        }
    size_t cut = 0;
    for (unsigned i = 0; i < h->nth; i++) cut += h->th[i].cut;
    return cut;
}

/* The process is exiting when this is called: worker loops are not torn
 * down (h2o 2.2 cannot close idle keep-alive connections, and disposing of a
 * context that still has connections asserts), so the server object is kept
 * reachable for leak checkers instead of freed. */
static sv_http *g_kept;

void sv_http_free(sv_http *h)
{
    if (!h) return;
    /* Deciding contexts are freed, so the engine can be. */
    for (unsigned i = 0; h->th && i < h->nth; i++) sv_worker_free(&h->th[i].w);
    close_listeners(h);
    g_kept = h;
}

/* Under AddressSanitizer: h2o keeps per-thread free lists of recycled
 * memory that die with the worker threads; they are not leaks of ours. */
#if defined(__SANITIZE_ADDRESS__)
#define SV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SV_ASAN 1
#endif
#endif
#ifdef SV_ASAN
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:h2o_mem_alloc_recycle\n";
}
#endif
