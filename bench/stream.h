/*
 * stream.h -- a generated, realistic mixed stream of error events for the
 * benchmarks: HTTP statuses, errno names, SQLSTATEs, gRPC codes, AWS codes and
 * message-only errors in the styles of Python, Java, Go, Node.js, .NET, curl
 * and databases, with varying numbers, hosts, ports, paths and ids, some with
 * tags.  Deterministic for a given seed.
 */
#ifndef FL_BENCH_STREAM_H
#define FL_BENCH_STREAM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline.h"

static unsigned long long bs_state = 88172645463325252ull;
static unsigned bs_rand(void)
{
    bs_state ^= bs_state << 13;
    bs_state ^= bs_state >> 7;
    bs_state ^= bs_state << 17;
    return (unsigned)(bs_state >> 11);
}

struct bs_coded {
    const char *domain, *code, *message;
};

static const struct bs_coded bs_coded[] = {
    {"http", "503", "503 Service Unavailable"},      {"http", "429", "Too Many Requests"},
    {"http", "500", "Internal Server Error"},        {"http", "404", "Not Found"},
    {"http", "502", "Bad Gateway"},                  {"http", "401", "Unauthorized"},
    {"http", "400", "Bad Request"},                  {"http", "504", "Gateway Timeout"},
    {"posix", "ECONNREFUSED", "connection refused"}, {"posix", "ENOSPC", "no space left on device"},
    {"posix", "ENOENT", "no such file or directory"},{"posix", "EMFILE", "too many open files"},
    {"postgres", "40001", "could not serialize access due to concurrent update"},
    {"postgres", "40P01", "deadlock detected"},     {"postgres", "23505", "duplicate key value violates unique constraint"},
    {"postgres", "53300", "sorry, too many clients already"}, {"postgres", "57014", "canceling statement due to statement timeout"},
    {"grpc", "UNAVAILABLE", "transport is closing"}, {"grpc", "14", "connection reset"},
    {"grpc", "DEADLINE_EXCEEDED", "context deadline exceeded"},
    {"aws", "ThrottlingException", "Rate exceeded"}, {"aws", "ProvisionedThroughputExceededException", "throughput exceeded"},
    {"aws", "AccessDeniedException", "User is not authorized"}, {"redis", "READONLY", "READONLY You can't write against a read only replica."},
    {"mysql", "1213", "Deadlock found when trying to get lock; try restarting transaction"},
    {"sqlite", "SQLITE_BUSY", "database is locked"}, {"curl", "7", "Failed to connect to host port 443: Connection refused"},
};

static const char *const bs_msgs[] = {
    "dial tcp %I:%P: connect: connection refused",
    "read tcp %I:%P->%I:%P: read: connection reset by peer",
    "java.net.SocketTimeoutException: Read timed out after %N ms",
    "java.net.ConnectException: Connection refused (Connection refused)",
    "java.lang.OutOfMemoryError: Java heap space",
    "Traceback (most recent call last):\n  File \"/srv/app/%W.py\", line %N, in handler\nConnectionResetError: [Errno 104] Connection reset by peer",
    "FileNotFoundError: [Errno 2] No such file or directory: '/var/data/%W-%N.json'",
    "PermissionError: [Errno 13] Permission denied: '/etc/%W/secret.key'",
    "Error: connect ECONNREFUSED %I:%P",
    "Error: getaddrinfo ENOTFOUND %W.internal",
    "System.TimeoutException: The operation has timed out.",
    "System.Net.Http.HttpRequestException: No such host is known. (%W.example.com:443)",
    "context deadline exceeded",
    "context canceled",
    "x509: certificate has expired or is not yet valid: current time 2026-11-24T15:%N:00Z",
    "write /var/lib/%W/blob-%H: no space left on device",
    "open /var/log/%W.log: too many open files",
    "ERROR: duplicate key value violates unique constraint \"%W_pkey\" (SQLSTATE 23505)",
    "pq: could not serialize access due to concurrent update",
    "redis: OOM command not allowed when used memory > 'maxmemory'",
    "MOVED %N %I:%P",
    "curl: (28) Operation timed out after %N milliseconds with 0 bytes received",
    "curl: (22) The requested URL returned error: 503",
    "json.decoder.JSONDecodeError: Expecting value: line 1 column %N (char %N)",
    "NotImplementedError: %W is not supported",
    "user %W not found (id %U)",
    "request %U failed: upstream returned 502 Bad Gateway",
    "TypeError: Cannot read properties of undefined (reading '%W')",
    "panic: runtime error: index out of range [%N] with length %N",
    "the job %W was cancelled by the operator",
    "weird custom failure %N in module %W",
};

static const char *const bs_words[] = {"orders", "billing", "users", "catalog", "search", "ledger", "cache", "auth", "reports", "media"};

static void bs_expand(const char *t, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = t; *p && o + 64 < n; p++) {
        if (*p != '%') {
            out[o++] = *p;
            continue;
        }
        switch (*++p) {
        case 'I': o += (size_t)snprintf(out + o, n - o, "10.%u.%u.%u", bs_rand() % 256, bs_rand() % 256, bs_rand() % 256); break;
        case 'P': o += (size_t)snprintf(out + o, n - o, "%u", 1024 + bs_rand() % 60000); break;
        case 'N': o += (size_t)snprintf(out + o, n - o, "%u", bs_rand() % 100000); break;
        case 'H': o += (size_t)snprintf(out + o, n - o, "%08x%08x", bs_rand(), bs_rand()); break;
        case 'W': o += (size_t)snprintf(out + o, n - o, "%s", bs_words[bs_rand() % 10]); break;
        case 'U': o += (size_t)snprintf(out + o, n - o, "%08x-%04x-4%03x-a%03x-%08x%04x", bs_rand(), bs_rand() & 0xffff,
                                        bs_rand() & 0xfff, bs_rand() & 0xfff, bs_rand(), bs_rand() & 0xffff); break;
        default: out[o++] = *p; break;
        }
    }
    out[o] = '\0';
}

/* Fill ev with the i-th event of the stream: 40% coded, 60% message only. */
static void bs_event(fl_event_t *ev, size_t i)
{
    char msg[512];
    fl_event_reset(ev);
    if (i % 2 == 0) {
        char id[32];
        snprintf(id, sizeof id, "evt-%zu", i);
        fl_event_set(ev, FL_FIELD_ID, id, (size_t)-1);
    }
    unsigned r = bs_rand() % 100;
    if (r < 40) {
        const struct bs_coded *c = &bs_coded[bs_rand() % (sizeof bs_coded / sizeof *bs_coded)];
        fl_event_set(ev, FL_FIELD_DOMAIN, c->domain, (size_t)-1);
        fl_event_set(ev, FL_FIELD_CODE, c->code, (size_t)-1);
        fl_event_set(ev, FL_FIELD_MESSAGE, c->message, (size_t)-1);
    } else {
        bs_expand(bs_msgs[bs_rand() % (sizeof bs_msgs / sizeof *bs_msgs)], msg, sizeof msg);
        fl_event_set(ev, FL_FIELD_MESSAGE, msg, (size_t)-1);
    }
    if (r % 3 == 0) fl_event_set(ev, FL_FIELD_OP, "orders.save", (size_t)-1);
    if (r % 5 == 0) fl_event_set_tag(ev, "service", bs_words[r % 10]);
    fl_event_set_attempt(ev, 1 + (int)(bs_rand() % 3));
}

#endif
