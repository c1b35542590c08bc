/*
 * serve.c -- `faultline serve`: the engine as a local HTTP service
 * (docs/serve.md).  This file is the command: options, the engine, the token,
 * signals (SIGTERM/SIGINT drain and exit, SIGHUP reloads), --watch, and the
 * lease sweeper, all on the main thread's libuv loop; the HTTP workers run in
 * serve_http.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cli.h"
#include "serve.h"

static const char k_help[] =
    "usage: faultline serve [-p DIR] [--listen ADDR]... [--token-file F] [--watch] [--threads N]\n"
    "                       [--max-body BYTES] [--max-header BYTES] [--max-conns N]\n"
    "                       [--request-timeout MS] [--drain MS] [--max-permits N] [--seed N]\n"
    "                       [--decision-log F] [--log-format FMT] [--log-on-full drop|spool]\n"
    "                       [--log-spool-dir DIR] [--registry F]\n"
    "\n"
    "Serves the policy over HTTP/1.1 (JSON; errors are application/problem+json):\n"
    "  POST /v1/decide            one event (application/json) or a batch (application/x-ndjson)\n"
    "  POST /v1/admit, /v1/complete   admission to breakers, limiters, bulkheads, budgets\n"
    "  GET  /v1/policy            current and kept versions\n"
    "  POST /v1/policy/reload, /v1/policy/rollback   (admin)\n"
    "  GET  /v1/breakers, PUT /v1/breakers/{name}[/{key}]   (PUT is admin)\n"
    "  GET  /healthz, /readyz, /metrics (Prometheus text exposition)\n"
    "  GET  /  the live dashboard (Server-Sent Events from /v1/dashboard/events)\n"
    "See docs/serve.md.  Runs until SIGTERM or SIGINT, then drains and exits 0;\n"
    "SIGHUP reloads the policy.\n"
    "\n"
    "  -p, --policy DIR        policy directory (default: the stock pack)\n"
    "  -L, --listen ADDR       127.0.0.1:PORT, [::1]:PORT or unix:/path; repeatable\n"
    "                          (default 127.0.0.1:7787; PORT 0 picks a free port)\n"
    "  -t, --token-file F      admin bearer token (first line of F; 16-255 bytes).\n"
    "                          Without it admin endpoints answer only on unix sockets.\n"
    "  -w, --watch             reload when DIR changes (as `eval --watch`)\n"
    "  -j, --threads N         worker threads (default 2)\n"
    "      --max-body B        largest request body (default 67108864 = 64 MiB)\n"
    "      --max-header B      largest total of request headers (default 16384)\n"
    "      --max-conns N       open connections (default 20000)\n"
    "      --request-timeout MS  time to send a request, and keep-alive idle time\n"
    "                          (default 10000)\n"
    "      --drain MS          on SIGTERM, time allowed for in-flight requests (default 5000)\n"
    "      --max-permits N     admission permits leased at once (default 10000)\n"
    "      --lease MS          default permit lease (default 30000; max 600000)\n"
    "      --seed N            seed ids and jitter (tests)\n"
    "      --shadow CAND       shadow evaluation: the candidate policy CAND (directory or\n"
    "                          bundle) also decides the events off the request path;\n"
    "                          GET /v1/shadow reports the differences, POST\n"
    "                          /v1/shadow/promote (admin) loads CAND (docs/operations.md)\n"
    "      --shadow-sample R   share of events the candidate decides, 0 < R <= 1 (1)\n"
    "      --decision-log F    append every decision to F (JSON Lines; docs/observability.md)\n"
    "      --log-format FMT    json (default) or cloudevents (CloudEvents 1.0)\n"
    "      --log-on-full M     drop (default: what the log's ring cannot take is counted as\n"
    "                          dropped) or spool (records go through a spool file)\n"
    "      --log-spool-dir DIR directory of the spool (default: the log's directory)\n"
    "      --registry F        keep the error registry in F (SQLite; see `faultline errors`)\n";

struct serve_opts {
    const char *dir;
    const char *listen[8];
    size_t nlisten;
    const char *token_file;
    int watch;
    unsigned long threads, max_conns, max_permits, request_timeout, drain, lease;
    unsigned long long max_body, max_header, seed;
    const char *shadow;
    double shadow_sample;
    const char *decision_log, *registry, *log_spool_dir;
    int log_format, log_on_full;
};

static int num_opt(const char *name, const char *s, unsigned long long lo, unsigned long long hi,
                   unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi || s[0] == '-') {
        fprintf(stderr, "faultline serve: %s needs a number from %llu to %llu\n", name, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct serve_opts *o)
{
    static const struct option longs[] = {
        {"policy", required_argument, 0, 'p'},     {"listen", required_argument, 0, 'L'},
        {"token-file", required_argument, 0, 't'}, {"watch", no_argument, 0, 'w'},
        {"threads", required_argument, 0, 'j'},    {"max-body", required_argument, 0, 1},
        {"max-header", required_argument, 0, 2},   {"max-conns", required_argument, 0, 3},
        {"request-timeout", required_argument, 0, 4}, {"drain", required_argument, 0, 5},
        {"max-permits", required_argument, 0, 6},  {"lease", required_argument, 0, 7},
        {"seed", required_argument, 0, 8},         {"help", no_argument, 0, 'h'},
        {"shadow", required_argument, 0, 12},      {"shadow-sample", required_argument, 0, 13},
        {"decision-log", required_argument, 0, 9}, {"log-format", required_argument, 0, 10},
        {"registry", required_argument, 0, 11},
        {"log-on-full", required_argument, 0, 14}, {"log-spool-dir", required_argument, 0, 15},
        {0, 0, 0, 0}};
    int c;
    unsigned long long v;
    while ((c = getopt_long(argc, argv, "p:L:t:wj:h", longs, NULL)) != -1) {
        switch (c) {
        case 'p': o->dir = optarg; break;
        case 'L':
            if (o->nlisten >= 8) return fprintf(stderr, "faultline serve: at most 8 --listen addresses\n"), -1;
            o->listen[o->nlisten++] = optarg;
            break;
        case 't': o->token_file = optarg; break;
        case 'w': o->watch = 1; break;
        case 'j': if (num_opt("--threads", optarg, 1, 64, &v)) return -1; o->threads = v; break;
        case 1: if (num_opt("--max-body", optarg, 1024, 1ull << 32, &v)) return -1; o->max_body = v; break;
        case 2: if (num_opt("--max-header", optarg, 256, 1u << 20, &v)) return -1; o->max_header = v; break;
        case 3: if (num_opt("--max-conns", optarg, 1, 1000000, &v)) return -1; o->max_conns = v; break;
        case 4: if (num_opt("--request-timeout", optarg, 10, 3600000, &v)) return -1; o->request_timeout = v; break;
        case 5: if (num_opt("--drain", optarg, 0, 600000, &v)) return -1; o->drain = v; break;
        case 6: if (num_opt("--max-permits", optarg, 1, 10000000, &v)) return -1; o->max_permits = v; break;
        case 7: if (num_opt("--lease", optarg, 1, 600000, &v)) return -1; o->lease = v; break;
        case 8: if (num_opt("--seed", optarg, 0, ~0ull, &v)) return -1; o->seed = v; break;
        case 12: o->shadow = optarg; break;
        case 13: {
            char *end;
            o->shadow_sample = strtod(optarg, &end);
            if (*end || !(o->shadow_sample > 0 && o->shadow_sample <= 1))
                return fprintf(stderr, "faultline serve: --shadow-sample needs a number in (0, 1]\n"), -1;
            break;
        }
        case 9: o->decision_log = optarg; break;
        case 10:
            if (strcmp(optarg, "json") == 0) o->log_format = FL_LOG_FORMAT_JSON;
            else if (strcmp(optarg, "cloudevents") == 0) o->log_format = FL_LOG_FORMAT_CLOUDEVENTS;
            else {
                fprintf(stderr, "faultline serve: --log-format is json or cloudevents, not '%s'\n", optarg);
                return -1;
            }
            break;
        case 11: o->registry = optarg; break;
        case 14:
            if (strcmp(optarg, "drop") == 0) o->log_on_full = FL_LOG_ON_FULL_DROP;
            else if (strcmp(optarg, "spool") == 0) o->log_on_full = FL_LOG_ON_FULL_SPOOL;
            else return fprintf(stderr, "faultline serve: --log-on-full is drop or spool, not '%s'\n", optarg), -1;
            break;
        case 15: o->log_spool_dir = optarg; break;
        case 'h': fputs(k_help, stdout); return 1;
        default: fputs(k_help, stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faultline serve: unexpected argument '%s'\n%s", argv[optind], k_help);
        return -1;
    }
    return 0;
}

/* The token: the first line of the file, 16-255 bytes, no control characters.
 * A file others can read is refused (it is a credential). */
static int read_token(const char *path, sv_server *srv)
{
    FILE *f = fopen(path, "r");
    if (!f) return fprintf(stderr, "faultline serve: cannot read --token-file %s: %s\n", path, strerror(errno)), -1;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fclose(f);
        fprintf(stderr, "faultline serve: --token-file %s is readable by others; chmod 600 it\n", path);
        return -1;
    }
    char line[512];
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    size_t n = strcspn(line, "\r\n");
    line[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x21 || line[i] == 0x7f) n = 0;
    if (n < 16 || n >= sizeof srv->token) {
        fprintf(stderr, "faultline serve: --token-file %s: the token must be 16-255 printable characters\n", path);
        return -1;
    }
    memcpy(srv->token, line, n + 1);
    srv->token_len = n;
    return 0;
}

/* ---- the main loop: signals and the lease sweeper -------------------------- */

struct serve_main {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t sweep;
    sv_server *srv;
    int stop_signal;
};

static void on_stop_signal(uv_signal_t *s, int signum)
{
    struct serve_main *m = s->data;
    m->stop_signal = signum;
    uv_stop(&m->loop);
}

static void on_hup(uv_signal_t *s, int signum)
{
    (void)signum;
    struct serve_main *m = s->data;
    fl_diag_t diag;
    char buf[1200];
    pthread_mutex_lock(&m->srv->admin_mu);
    int rc = fl_engine_reload(m->srv->engine, &diag);
    pthread_mutex_unlock(&m->srv->admin_mu);
    fl_version_info_t vi;
    if (rc == FL_OK && fl_engine_current(m->srv->engine, &vi) == FL_OK)
        fprintf(stderr, "faultline serve: SIGHUP: serving policy %s %s (id %s, %u rules)\n", vi.name, vi.version,
                vi.id, vi.rules);
    else
        fprintf(stderr, "faultline serve: SIGHUP: reload refused, the running version keeps serving: %s\n",
                fl_diag_format(&diag, buf, sizeof buf));
}

static void on_sweep(uv_timer_t *t)
{
    struct serve_main *m = t->data;
    sv_leases_sweep(m->srv->leases);
}

static void on_watch_reload(void *ud, int status, const fl_diag_t *diag, const fl_version_info_t *cur)
{
    char *serving = ud;
    char buf[1200];
    if (status == FL_OK && cur && strcmp(cur->id, serving) == 0) return;
    if (status == FL_OK && cur) {
        snprintf(serving, 17, "%s", cur->id);
        fprintf(stderr, "faultline serve: serving policy %s %s (id %s, %u rules)\n", cur->name, cur->version,
                cur->id, cur->rules);
    } else {
        fprintf(stderr, "faultline serve: reload refused, still serving %s: %s\n", cur ? cur->id : "nothing",
                fl_diag_format(diag, buf, sizeof buf));
    }
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

int cli_serve(int argc, char **argv)
{
    struct serve_opts o = {0};
    o.threads = 2;
    o.max_body = 64ull << 20;
    o.max_header = 16384;
    o.max_conns = 20000;
    o.request_timeout = 10000;
    o.drain = 5000;
    o.max_permits = 10000;
    o.lease = 30000;
    int prc = parse_opts(argc, argv, &o);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    if (o.nlisten == 0) o.listen[o.nlisten++] = "127.0.0.1:7787";

    static sv_server srv; /* process lifetime */
    memset(&srv, 0, sizeof srv);
    pthread_mutex_init(&srv.admin_mu, NULL);
    srv.max_header_bytes = o.max_header;
    srv.lease_default_ms = (uint32_t)o.lease;
    srv.lease_max_ms = 600000;
    if (o.token_file && read_token(o.token_file, &srv) != 0) return FL_EXIT_USAGE;

    int rc = FL_EXIT_OK;
    char err[1200];
    fl_engine_options_t eo = {0};
    eo.seed = o.seed;
    fl_engine_t *e = NULL;
    sv_http *http = NULL;
    fl_watch_t *watch = NULL;
    const char *dir = cli_policy_dir(o.dir, argv[0]);
    if (fl_engine_new(&eo, &e) != FL_OK) {
        fprintf(stderr, "faultline serve: out of memory\n");
        return FL_EXIT_IO;
    }
    srv.engine = e;
    srv.assets = sv_dashboard_assets;
    srv.registry = o.registry;
    fl_engine_metrics_enable(e, 1); /* GET /metrics */
    fl_diag_t diag;
    if (fl_engine_load(e, dir, &diag) != FL_OK) {
        fprintf(stderr, "faultline serve: cannot load policy %s:\n  %s\n", dir, fl_diag_format(&diag, err, sizeof err));
        rc = FL_EXIT_POLICY;
        goto out;
    }
    if (o.shadow) {
        fl_shadow_options_t so = {.sample = o.shadow_sample};
        if (fl_shadow_new(o.shadow, &so, &srv.shadow, &diag) != FL_OK) {
            fprintf(stderr, "faultline serve: cannot load the shadow candidate %s:\n  %s\n", o.shadow,
                    fl_diag_format(&diag, err, sizeof err));
            rc = FL_EXIT_POLICY;
            goto out;
        }
    }
    if (o.decision_log) {
        fl_log_options_t lo = {0};
        lo.path = o.decision_log;
        lo.format = o.log_format;
        lo.on_full = o.log_on_full;
        lo.spool_dir = o.log_spool_dir;
        if (fl_engine_log_open(e, &lo, &diag) != FL_OK) {
            fprintf(stderr, "faultline serve: --decision-log: %s\n", fl_diag_format(&diag, err, sizeof err));
            rc = FL_EXIT_IO;
            goto out;
        }
    }
    if (o.registry) {
        fl_registry_options_t ro = {0};
        ro.path = o.registry;
        if (fl_engine_registry_open(e, &ro, &diag) != FL_OK) {
            fprintf(stderr, "faultline serve: --registry: %s\n", fl_diag_format(&diag, err, sizeof err));
            rc = FL_EXIT_IO;
            goto out;
        }
    }
    srv.leases = sv_leases_new(fl_engine_resil(e), (uint32_t)o.max_permits);
    if (!srv.leases) {
        fprintf(stderr, "faultline serve: out of memory\n");
        rc = FL_EXIT_IO;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Room for --max-conns descriptors (the soft limit is often 1024). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o.max_conns + 256) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > o.max_conns + 256 ? o.max_conns + 256 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < o.max_conns)
            fprintf(stderr, "faultline serve: warning: the descriptor limit (%lu) is below --max-conns\n",
                    (unsigned long)rl.rlim_cur);
    }
    sv_http_options_t ho = {o.listen, o.nlisten, (unsigned)o.threads, (size_t)o.max_body,
                            (uint32_t)o.request_timeout, (uint32_t)o.max_conns};
    if (sv_http_bind(&http, &srv, &ho, err, sizeof err) != 0) {
        fprintf(stderr, "faultline serve: %s\n", err);
        rc = FL_EXIT_USAGE;
        goto out;
    }

    static struct serve_main m;
    memset(&m, 0, sizeof m);
    m.srv = &srv;
    uv_loop_init(&m.loop);
    uv_signal_init(&m.loop, &m.sigterm);
    uv_signal_init(&m.loop, &m.sigint);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&m.sigint, on_stop_signal, SIGINT);
    uv_timer_init(&m.loop, &m.sweep);
    m.sweep.data = &m;
    uv_timer_start(&m.sweep, on_sweep, 100, 100);
    static char serving[17];
    fl_version_info_t vi;
    fl_engine_current(e, &vi);
    snprintf(serving, sizeof serving, "%s", vi.id);
    if (o.watch) {
        fl_watch_options_t wo = {.handle_sighup = 1, .on_reload = on_watch_reload, .ud = serving};
        if (fl_watch_start(e, dir, &wo, &watch) != FL_OK) {
            fprintf(stderr, "faultline serve: cannot watch %s\n", dir);
            rc = FL_EXIT_POLICY;
            goto out_loop;
        }
    } else {
        uv_signal_init(&m.loop, &m.sighup);
        m.sighup.data = &m;
        uv_signal_start(&m.sighup, on_hup, SIGHUP);
    }
    if (sv_http_start(http, err, sizeof err) != 0) {
        fprintf(stderr, "faultline serve: %s\n", err);
        sv_http_stop(http, 0); /* the workers that did start */
        rc = FL_EXIT_IO;
        goto out_loop;
    }
    fprintf(stderr, "faultline serve: listening on %s; policy %s %s (id %s, %u rules); %lu threads\n",
            sv_http_addresses(http), vi.name, vi.version, vi.id, vi.rules, o.threads);
    fflush(stderr);
    uv_run(&m.loop, UV_RUN_DEFAULT);
    /* Stopping: a repeated SIGTERM changes nothing (the drain is bounded by
     * --drain).  Without this, closing the signal handles below would
     * restore the default action and a second SIGTERM would kill the
     * process half-way through its teardown. */
    signal(SIGTERM, SIG_IGN);
    size_t left = sv_http_stop(http, (uint32_t)o.drain);
    fprintf(stderr, "faultline serve: %s: stopped%s\n", m.stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
            left ? " (requests still in flight at the drain deadline were cut)" : "");
out_loop:
    fl_watch_stop(watch);
    watch = NULL;
    uv_walk(&m.loop, close_handle, NULL);
    uv_run(&m.loop, UV_RUN_DEFAULT);
    uv_loop_close(&m.loop);
out:
    fl_watch_stop(watch);
    sv_http_free(http);
    sv_leases_free(srv.leases);
    fl_shadow_free(srv.shadow);
    fl_engine_free(e);
    return rc;
}
