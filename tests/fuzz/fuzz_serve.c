/*
 * fuzz_serve.c -- libFuzzer target: the request handlers of `faultline serve`
 * (engine/cli/serve_api.c), without sockets.  The input is split at newlines
 * into method, path?query, content-type, accept-language, authorization, and
 * the rest is the body; the first byte's low bit says whether the request
 * came over a unix socket.  A batch response is drained in small chunks.
 * The HTTP parsing itself is h2o's (fuzzed upstream).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultline.h"
#include "serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sv_server srv;
static sv_worker w;

static int setup(void)
{
    fl_engine_options_t eo = {0};
    eo.seed = 1;
    fl_diag_t diag;
    if (fl_engine_new(&eo, &srv.engine) != FL_OK ||
        fl_engine_load(srv.engine, FL_SOURCE_DIR "/tests/serve/policy", &diag) != FL_OK)
        abort();
    pthread_mutex_init(&srv.admin_mu, NULL);
    strcpy(srv.token, "fuzz-token-0123456789");
    srv.token_len = strlen(srv.token);
    srv.max_header_bytes = 16384;
    srv.lease_default_ms = 30000;
    srv.lease_max_ms = 600000;
    srv.leases = sv_leases_new(fl_engine_resil(srv.engine), 64);
    if (!srv.leases || sv_worker_init(&w, &srv) != 0) abort();
    return 1;
}

static const char *next_field(const char **p, const char *end, size_t *len)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *len = (size_t)(e - s);
    *p = nl ? nl + 1 : end;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) ready = setup();
    if (size < 1) return 0;
    /* Copy so the handlers can never read past the fuzzer's buffer unnoticed. */
    char *buf = malloc(size);
    if (!buf) return 0;
    memcpy(buf, data, size);
    const char *p = buf + 1, *end = buf + size;
    sv_req rq;
    memset(&rq, 0, sizeof rq);
    rq.unix_socket = data[0] & 1;
    size_t n;
    rq.method = next_field(&p, end, &rq.method_len);
    const char *target = next_field(&p, end, &n);
    const char *q = memchr(target, '?', n);
    rq.path = target;
    rq.path_len = q ? (size_t)(q - target) : n;
    if (q) {
        rq.query = q + 1;
        rq.query_len = n - rq.path_len - 1;
    }
    rq.content_type = next_field(&p, end, &rq.content_type_len);
    if (!rq.content_type_len) rq.content_type = NULL;
    rq.accept_language = next_field(&p, end, &rq.accept_language_len);
    if (!rq.accept_language_len) rq.accept_language = NULL;
    rq.authorization = next_field(&p, end, &rq.authorization_len);
    if (!rq.authorization_len) rq.authorization = NULL;
    rq.body = p;
    rq.body_len = (size_t)(end - p);
    rq.header_bytes = rq.content_type_len + rq.accept_language_len + rq.authorization_len;
    sv_resp rs;
    sv_handle(&w, &rq, &rs);
    if (rs.status < 200 || rs.status > 599 || !rs.content_type) abort();
    if (rs.batch) {
        sv_buf out = {0};
        for (int i = 0; i < 100000; i++) {
            out.len = 0;
            if (sv_batch_next(&w, rs.batch, &out, 512)) break;
        }
        sv_buf_free(&out);
    }
    sv_resp_free(&rs);
    sv_leases_sweep(srv.leases);
    free(buf);
    return 0;
}
