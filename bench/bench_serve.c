/*
 * bench_serve.c -- figures for `faultline serve` (docs/serve.md).
 *
 * Starts `faultline serve` (the binary next to this build's bench/ folder)
 * with the stock pack on an ephemeral port, then measures with its own
 * load generator (one thread, epoll, keep-alive connections):
 *   1. single-event decide, closed loop: requests/s at saturation;
 *   2. open loop at a fixed rate (default 20,000 requests/s): latency
 *      measured from each request's *scheduled* send time, so a stalled
 *      server is charged for the queue it causes (no coordinated omission);
 *   3. one NDJSON batch of 200,000 events: decisions/s to the last byte.
 * With --soak SECONDS: open loop at --rate (default 5,000/s) for that long,
 * reloading the policy every --reload-ms (default 1000) through the admin
 * endpoint, sampling the server's RSS; prints errors and RSS drift.
 *
 * With --idle N: opens N idle connections and prints the server's RSS growth.
 *
 * --threads N: the server's worker threads (default 2, as `faultline serve`).
 *
 *   bench_serve [--threads N] [--conns C] [--rate R] [--seconds S] [--soak S]
 *               [--reload-ms MS] [--idle N] [--faultline PATH]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *k_events[] = {
    "{\"message\":\"connect ECONNREFUSED 10.0.0.7:5432\",\"op\":\"db.query\",\"tags\":{\"service\":\"orders\"}}",
    "{\"domain\":\"http\",\"code\":503,\"message\":\"Service Unavailable\",\"attempt\":2}",
    "{\"domain\":\"http\",\"code\":429,\"message\":\"Too Many Requests\",\"tags\":{\"retry_after\":3}}",
    "{\"message\":\"psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint\"}",
    "{\"domain\":\"posix\",\"code\":\"ENOSPC\",\"message\":\"No space left on device\"}",
    "{\"message\":\"java.net.SocketTimeoutException: Read timed out\"}",
    "{\"domain\":\"grpc\",\"code\":14,\"message\":\"upstream connect error\"}",
    "{\"message\":\"context deadline exceeded (Client.Timeout exceeded while awaiting headers)\"}",
};
#define NEV (sizeof k_events / sizeof k_events[0])

static char g_req[NEV][1024];
static size_t g_req_len[NEV];
static int g_port;
static pid_t g_pid;
static char g_sock[96];
static size_t g_batch_bytes;
static char g_policy[256];

/* ---- the server -------------------------------------------------------- */

static void start_server(const char *bin, const char *policy, int threads, const char *tokfile)
{
    char errpath[] = "/tmp/bench_serve_err_XXXXXX";
    int efd = mkstemp(errpath);
    snprintf(g_sock, sizeof g_sock, "/tmp/bench_serve_%d.sock", (int)getpid());
    char th[16];
    snprintf(th, sizeof th, "%d", threads);
    char lis[160];
    snprintf(lis, sizeof lis, "unix:%s", g_sock);
    g_pid = fork();
    if (g_pid == 0) {
        dup2(efd, 2);
        execl(bin, bin, "serve", "-p", policy, "--listen", "127.0.0.1:0", "--listen", lis, "--threads", th,
              "--token-file", tokfile, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000 && !g_port; i++) {
        usleep(10000);
        char buf[4096] = "";
        ssize_t n = pread(efd, buf, sizeof buf - 1, 0);
        if (n > 0) buf[n] = '\0';
        const char *p = strstr(buf, "listening on 127.0.0.1:");
        if (p) g_port = atoi(p + strlen("listening on 127.0.0.1:"));
        int st;
        if (waitpid(g_pid, &st, WNOHANG) == g_pid) {
            fprintf(stderr, "bench_serve: server exited: %s\n", buf);
            exit(1);
        }
    }
    close(efd);
    unlink(errpath);
    if (!g_port) {
        fprintf(stderr, "bench_serve: server did not start\n");
        exit(1);
    }
}

static void stop_server(void)
{
    if (g_pid > 0) {
        kill(g_pid, SIGTERM);
        waitpid(g_pid, NULL, 0);
        g_pid = 0;
    }
}

static long server_status_kb(const char *field)
{
    char path[64], line[256];
    size_t fl = strlen(field);
    snprintf(path, sizeof path, "/proc/%d/status", (int)g_pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0) kb = atol(line + fl);
    if (f) fclose(f);
    return kb;
}

static long server_rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)g_pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

/* The server's CPU time (user + system) in seconds. */
static double server_cpu_s(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)g_pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
        return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return 0;
}

/* Seconds the threads of process `pid` (0: this thread) have spent waiting
 * for a CPU on a run queue (schedstat's second field).  On a shared machine
 * this is the scheduler's part of the latency: a request that arrives while
 * the server thread waits for a CPU waits with it. */
static double runq_wait_s(pid_t pid)
{
    unsigned long long run, wait, total = 0;
    char path[96];
    if (!pid) {
        FILE *f = fopen("/proc/thread-self/schedstat", "r");
        if (f && fscanf(f, "%llu %llu", &run, &wait) == 2) total = wait;
        if (f) fclose(f);
        return (double)total / 1e9;
    }
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fscanf(f, "%llu %llu", &run, &wait) == 2) total += wait;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return (double)total / 1e9;
}

/* The 1-minute load average: how busy the (shared) machine was. */
static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1) l = -1;
    if (f) fclose(f);
    return l;
}

static int connect_tcp(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Admin reload over the unix socket, without blocking the load generator:
 * the request is written at once (it fits the socket buffer) and the answer
 * is read when epoll reports it, so requests keep their schedule while the
 * server compiles.  Returns the connected socket, or -1. */
static int reload_start(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    memcpy(a.sun_path, g_sock, strlen(g_sock) + 1);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    /* Each reload publishes new content: a comment file that changes. */
    static unsigned gen;
    char path[300];
    snprintf(path, sizeof path, "%s/zz-bench-reload.lua", g_policy);
    FILE *pf = fopen(path, "w");
    if (pf) {
        fprintf(pf, "-- bench_serve reload %u\n", ++gen);
        fclose(pf);
    }
    const char req[] = "POST /v1/policy/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                       "Authorization: Bearer bench-token-0123456789abcdef\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The reload's answer is readable: 1 finished (0 in *ok unless it was a
 * 200), 0 more to come. */
static int reload_read(int fd, char *buf, size_t *len, size_t cap, int *ok)
{
    ssize_t n = read(fd, buf + *len, cap - 1 - *len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n > 0) {
        *len += (size_t)n;
        if (*len < cap - 1) return 0;
    }
    *ok = *len > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0;
    return 1;
}

/* ---- load generator ----------------------------------------------------- */

typedef struct conn {
    int fd;
    int busy;
    double sched; /* scheduled send time of the outstanding request */
    char buf[16384];
    size_t len;
} conn;

typedef struct stats {
    uint64_t done, errors;
    double *lat;
    size_t nlat, caplat;
} stats;

static void send_req(conn *c, uint64_t i, double sched)
{
    size_t k = i % NEV;
    if (write(c->fd, g_req[k], g_req_len[k]) != (ssize_t)g_req_len[k]) {
        perror("write");
        exit(1);
    }
    c->busy = 1;
    c->sched = sched;
    c->len = 0;
}

static const char *find_ci(const char *s, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; s + n <= end; s++) {
        size_t i = 0;
        while (i < n && (s[i] | 0x20) == lit[i]) i++;
        if (i == n) return s;
    }
    return NULL;
}

/* 1 when a full response is buffered (consumed), 0 when more is needed. */
static int response_done(conn *c, stats *st)
{
    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) return 0;
    size_t hl = (size_t)(end - c->buf) + 4;
    const char *cl = find_ci(c->buf, end, "content-length:");
    size_t body = cl && cl < end ? (size_t)atol(cl + 15) : 0;
    if (c->len < hl + body) return 0;
    if (memcmp(c->buf, "HTTP/1.1 200", 12) != 0) st->errors++;
    st->done++;
    c->busy = 0;
    return 1;
}

static void add_lat(stats *st, double v)
{
    if (st->nlat == st->caplat) {
        st->caplat = st->caplat ? st->caplat * 2 : 1 << 16;
        st->lat = realloc(st->lat, st->caplat * sizeof *st->lat);
    }
    st->lat[st->nlat++] = v;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* rate 0: closed loop.  Otherwise open loop at `rate` per second. */
/* The server's RSS sampled as each reload is answered (the new version
 * published, the dropped one freed and trimmed): "settled" memory, without
 * the transient of a compile in progress that the 1-second samples catch. */
typedef struct settled {
    double *t;
    long *kb;
    size_t n, cap;
} settled;

static void settled_add(settled *sv, double t)
{
    if (sv->n == sv->cap) {
        sv->cap = sv->cap ? sv->cap * 2 : 1024;
        sv->t = realloc(sv->t, sv->cap * sizeof *sv->t);
        sv->kb = realloc(sv->kb, sv->cap * sizeof *sv->kb);
    }
    sv->t[sv->n] = t;
    sv->kb[sv->n++] = server_rss_kb();
}

/* Mean settled RSS over [from, to) seconds of the run; 0 when no sample. */
static double settled_mean(const settled *sv, double from, double to)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < sv->n; i++)
        if (sv->t[i] >= from && sv->t[i] < to) sum += (double)sv->kb[i], k++;
    return k ? sum / (double)k : 0;
}

static void load(int nconn, double rate, double seconds, stats *st, double reload_ms, long *rss_min, long *rss_max,
                 uint64_t *reloads, uint64_t *reload_errors, settled *sv)
{
    conn *cs = calloc((size_t)nconn, sizeof *cs);
    int ep = epoll_create1(0);
    for (int i = 0; i < nconn; i++) {
        cs[i].fd = connect_tcp();
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    /* Open loop: a timerfd wakes the loop at the next scheduled send, so the
     * generator does not spin and steal the server's CPU. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    double t0 = now_s(), next_reload = t0 + reload_ms / 1000.0, next_rss = t0;
    uint64_t sent = 0, reconnects_local = 0, *reconnects = &reconnects_local;
    unsigned rr = 0;
    double *queue = malloc(sizeof(double) * 1000000);
    int rfd = -1; /* the reload being answered */
    char rbuf[4096];
    size_t rlen = 0;
    size_t qh = 0, qt = 0;
    if (rate <= 0)
        for (int i = 0; i < nconn; i++) send_req(&cs[i], sent++, now_s());
    for (;;) {
        double t = now_s();
        if (t - t0 >= seconds) break;
        if (rate > 0) {
            uint64_t due = (uint64_t)((t - t0) * rate);
            while (sent < due && qt - qh < 1000000) {
                queue[qt++ % 1000000] = t0 + (double)sent / rate;
                sent++;
            }
            for (int k = 0; k < nconn && qh < qt; k++) {
                int i = (int)((rr + (unsigned)k) % (unsigned)nconn);
                if (!cs[i].busy) {
                    send_req(&cs[i], qh, queue[qh % 1000000]);
                    qh++;
                    rr = (unsigned)i + 1;
                }
            }
        }
        /* One reload at a time: when a compile takes longer than the
         * interval, the next one starts as soon as it is answered. */
        if (reload_ms > 0 && t >= next_reload && rfd < 0) {
            (*reloads)++;
            rlen = 0;
            rfd = reload_start();
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &rfd};
            if (rfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &ev) != 0) (*reload_errors)++;
            next_reload += reload_ms / 1000.0;
        }
        if (rss_min && t >= next_rss) {
            long kb = server_rss_kb();
            if (((long)(t - t0)) % 30 == 0 && t - t0 >= 1.0)
                printf("  t=%3.0f s: %llu requests, %llu errors, %llu reloads, server RSS %ld kB\n", t - t0,
                       (unsigned long long)st->done, (unsigned long long)st->errors, (unsigned long long)*reloads,
                       kb), fflush(stdout);
            if (t - t0 > 10.0) { /* after warm-up */
                if (*rss_min < 0 || kb < *rss_min) *rss_min = kb;
                if (kb > *rss_max) *rss_max = kb;
            }
            next_rss += 1.0;
        }
        struct epoll_event evs[256];
        if (rate > 0) {
            double at = t0 + (double)sent / rate;
            struct itimerspec its = {{0, 0}, {(time_t)at, (long)((at - (double)(time_t)at) * 1e9)}};
            if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
            timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
        }
        int n = epoll_wait(ep, evs, 256, 10);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) { /* spurious */ }
                continue;
            }
            if (evs[i].data.ptr == &rfd) {
                int ok = 0;
                if (reload_read(rfd, rbuf, &rlen, sizeof rbuf, &ok)) {
                    if (!ok) (*reload_errors)++;
                    if (sv) settled_add(sv, now_s() - t0);
                    close(rfd); /* also leaves the epoll set */
                    rfd = -1;
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
            if (r <= 0) {
                /* An idle keep-alive connection is closed by the server after
                 * --request-timeout: reconnect.  Closed mid-request: an error. */
                if (c->busy) st->errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = connect_tcp();
                c->busy = 0;
                c->len = 0;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
                (*reconnects)++;
                if (rate <= 0) send_req(c, sent++, now_s());
                continue;
            }
            c->len += (size_t)r;
            if (response_done(c, st)) {
                add_lat(st, now_s() - c->sched);
                if (rate <= 0) send_req(c, sent++, now_s());
            }
        }
    }
    if (reconnects_local) printf("  (%llu connections reconnected after the server closed them)\n",
                                 (unsigned long long)reconnects_local);
    for (int i = 0; i < nconn; i++) close(cs[i].fd);
    if (rfd >= 0) close(rfd);
    close(tfd);
    close(ep);
    free(cs);
    free(queue);
}

static double pct(stats *st, double p)
{
    if (!st->nlat) return 0;
    qsort(st->lat, st->nlat, sizeof *st->lat, cmpd);
    size_t i = (size_t)(p * (double)(st->nlat - 1));
    return st->lat[i];
}

/* One NDJSON batch of n events; decisions/s measured to the last byte. */
static double batch(size_t n, size_t *lines_out)
{
    size_t cap = n * 128 + 1024, len = 0;
    char *body = malloc(cap);
    for (size_t i = 0; i < n; i++) {
        const char *e = k_events[i % NEV];
        size_t l = strlen(e);
        memcpy(body + len, e, l);
        len += l;
        body[len++] = '\n';
    }
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
    g_batch_bytes = len;
    int fd = connect_tcp();
    double t0 = now_s();
    if (write(fd, head, (size_t)hl) != hl) exit(1);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, body + off, len - off);
        if (w <= 0) exit(1);
        off += (size_t)w;
    }
    static char buf[1 << 16];
    size_t lines = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++) lines += buf[i] == '\n';
    double t = now_s() - t0;
    close(fd);
    free(body);
    *lines_out = lines;
    return (double)n / t;
}

int main(int argc, char **argv)
{
    int threads = 2, conns = 32; /* 2: the server's own default */
    double rate = 20000, seconds = 5, soak = 0, reload_ms = 1000;
    int idle = 0;
    char bin[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--conns") && i + 1 < argc) conns = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--soak") && i + 1 < argc) soak = atof(argv[++i]);
        else if (!strcmp(argv[i], "--reload-ms") && i + 1 < argc) reload_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--idle") && i + 1 < argc) idle = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--faultline") && i + 1 < argc) snprintf(bin, sizeof bin, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_serve [--threads N] [--conns C] [--rate R] [--seconds S] [--soak S] "
                            "[--reload-ms MS] [--idle N] [--faultline PATH]\n");
            return 2;
        }
    }
    if (!bin[0]) { /* build-dir/bench/bench_serve -> build-dir/faultline */
        ssize_t n = readlink("/proc/self/exe", bin, sizeof bin - 32);
        if (n <= 0) return 1;
        bin[n] = '\0';
        char *s = strrchr(bin, '/');
        *s = '\0';
        s = strrchr(bin, '/');
        strcpy(s, "/faultline");
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t k = 0; k < NEV; k++)
        g_req_len[k] = (size_t)snprintf(g_req[k], sizeof g_req[k],
                                        "POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        "Content-Length: %zu\r\n\r\n%s", strlen(k_events[k]), k_events[k]);
    char tok[] = "/tmp/bench_serve_tok_XXXXXX";
    int tfd = mkstemp(tok);
    if (tfd < 0 || write(tfd, "bench-token-0123456789abcdef\n", 29) != 29) return 1;
    close(tfd);
    /* A private copy of the stock pack, so the soak can change it. */
    snprintf(g_policy, sizeof g_policy, "/tmp/bench_serve_policy_%d", (int)getpid());
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && cp -r %s %s", g_policy, FL_SOURCE_DIR "/policies", g_policy);
    if (system(cmd) != 0) return 1;
    start_server(bin, g_policy, threads, tok);
    atexit(stop_server); /* also when a phase exits on an error */
    printf("faultline serve: stock pack, %d server thread(s), 127.0.0.1:%d; load average %.2f on %ld CPUs\n",
           threads, g_port, loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
    if (idle > 0) { /* N idle keep-alive connections: the server's memory per connection */
        int *fds = malloc(sizeof(int) * (size_t)idle);
        long before = server_rss_kb();
        for (int i = 0; i < idle; i++) fds[i] = connect_tcp();
        usleep(500000);
        long after = server_rss_kb();
        printf("%d idle connections: server RSS %ld kB -> %ld kB (%.2f kB per connection)\n", idle, before, after,
               (double)(after - before) / idle);
        for (int i = 0; i < idle; i++) close(fds[i]);
        free(fds);
        stop_server();
        unlink(tok);
        snprintf(cmd, sizeof cmd, "rm -rf %s", g_policy);
        return system(cmd) != 0;
    }
    if (soak > 0) {
        stats st = {0};
        long rmin = -1, rmax = 0;
        uint64_t reloads = 0, rerr = 0;
        long rss0 = server_rss_kb();
        settled sv = {0};
        load(conns, rate, soak, &st, reload_ms, &rmin, &rmax, &reloads, &rerr, &sv);
        printf("soak: %.0f s at %.0f req/s: %llu requests, %llu errors; %llu reloads, %llu failed;\n"
               "      p99 %.3f ms; server RSS %ld kB at start, %ld..%ld kB after warm-up (%.1f%% spread)\n",
               soak, rate, (unsigned long long)st.done, (unsigned long long)st.errors, (unsigned long long)reloads,
               (unsigned long long)rerr, pct(&st, 0.99) * 1e3, rss0, rmin, rmax,
               rmin > 0 ? 100.0 * (double)(rmax - rmin) / (double)rmin : 0.0);
        long smin = -1, smax = 0;
        for (size_t i = 0; i < sv.n; i++)
            if (sv.t[i] >= 10.0) { /* after warm-up, as above */
                if (smin < 0 || sv.kb[i] < smin) smin = sv.kb[i];
                if (sv.kb[i] > smax) smax = sv.kb[i];
            }
        double first = settled_mean(&sv, 10.0, 70.0), last = settled_mean(&sv, soak - 60.0, soak + 1.0);
        printf("      settled RSS (sampled as each reload is answered): %ld..%ld kB (%.1f%% spread); mean of the\n"
               "      first minute after warm-up %.0f kB, of the last minute %.0f kB (drift %+.1f%%)\n",
               smin, smax, smin > 0 ? 100.0 * (double)(smax - smin) / (double)smin : 0.0, first, last,
               first > 0 ? 100.0 * (last - first) / first : 0.0);
        free(sv.t);
        free(sv.kb);
        stop_server();
        unlink(tok);
        snprintf(cmd, sizeof cmd, "rm -rf %s", g_policy);
        if (system(cmd) != 0) return 1;
        return st.errors || rerr ? 1 : 0;
    }
    stats st = {0};
    load(conns, 0, 1, &st, 0, NULL, NULL, NULL, NULL, NULL); /* warm-up */
    memset(&st, 0, sizeof st);
    double cpu0 = server_cpu_s();
    load(conns, 0, seconds, &st, 0, NULL, NULL, NULL, NULL, NULL);
    double cpu = server_cpu_s() - cpu0;
    printf("decide, keep-alive, closed loop, %d connections: %.0f requests/s (%llu errors); p50 %.3f ms p99 %.3f ms\n"
           "  server CPU %.2f s for %.1f s: %.0f requests per server CPU-second\n",
           conns, (double)st.done / seconds, (unsigned long long)st.errors, pct(&st, 0.5) * 1e3, pct(&st, 0.99) * 1e3,
           cpu, seconds, cpu > 0 ? (double)st.done / cpu : 0.0);
    free(st.lat);
    memset(&st, 0, sizeof st);
    double sw0 = runq_wait_s(g_pid), gw0 = runq_wait_s(0);
    load(conns, rate, seconds, &st, 0, NULL, NULL, NULL, NULL, NULL);
    double sw = runq_wait_s(g_pid) - sw0, gw = runq_wait_s(0) - gw0;
    printf("decide, open loop at %.0f requests/s, %d connections: %llu done (%llu errors); "
           "latency from scheduled send: p50 %.3f ms p99 %.3f ms p99.9 %.3f ms max %.3f ms\n"
           "  waiting for a CPU (run queue) during the %.0f s: server threads %.0f ms, load generator %.0f ms; "
           "load average %.2f\n",
           rate, conns, (unsigned long long)st.done, (unsigned long long)st.errors, pct(&st, 0.5) * 1e3,
           pct(&st, 0.99) * 1e3, pct(&st, 0.999) * 1e3, pct(&st, 1.0) * 1e3, seconds, sw * 1e3, gw * 1e3,
           loadavg());
    free(st.lat);
    double best = 0;
    size_t lines = 0;
    double bcpu = 1e9;
    for (int i = 0; i < 3; i++) {
        double c0 = server_cpu_s();
        double r = batch(200000, &lines);
        double c = server_cpu_s() - c0;
        if (r > best) best = r;
        if (c > 0 && c < bcpu) bcpu = c;
    }
    printf("NDJSON batch of 200,000 events (best of 3): %.0f decisions/s; %.0f decisions per server CPU-second\n"
           "  server RSS now %ld kB, peak %ld kB (the batch body is %.1f MB)\n",
           best, 200000.0 / bcpu, server_status_kb("VmRSS:"), server_status_kb("VmHWM:"),
           (double)g_batch_bytes / 1e6);
    stop_server();
    unlink(tok);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_policy);
    return system(cmd) != 0;
}
