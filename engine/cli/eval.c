/*
 * eval.c -- `faultline eval`: JSON Lines events in, one decision per line out,
 * in input order.  A malformed line becomes a decision-shaped error record
 * naming its file and line, and the run goes on; the exit status says whether
 * any line was bad.  On a terminal, a progress line is kept on stderr for
 * long runs.
 */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "core.h" /* fl_decision_json_append */
#include "util.h"

static const char k_help[] =
    "usage: faultline eval [-p DIR] [--locale L] [--explain] [--seed N] [--max-line BYTES]\n"
    "                      [--strict] [--threads N] [--no-progress] [--format FMT]\n"
    "                      [--decision-log F] [--log-on-full drop|spool] [--log-spool-dir DIR]\n"
    "                      [FILE...|-]\n"
    "\n"
    "Reads error events, one JSON object per line, from the FILEs (or standard input)\n"
    "and writes one JSON decision per line to standard output, in the same order.\n"
    "A malformed line yields an error record with its line number; the run goes on\n"
    "and the exit status is 1.\n"
    "\n"
    "  -p, --policy DIR     policy directory (default: the stock pack)\n"
    "  -l, --locale L       locale of user messages, e.g. fr or de-AT (default: policy's)\n"
    "  -x, --explain        add an `explain` field: the rules tried and why\n"
    "      --seed N         seed ids and jitter, for reproducible output\n"
    "      --max-line B     longest accepted line in bytes (default 1048576)\n"
    "      --strict         an event key the format does not define (a typo such as\n"
    "                       \"mesage\") makes the line an error record (FL_EPARSE_KEY)\n"
    "                       instead of being ignored\n"
    "  -j, --threads N      deciding threads (default: the number of cores; 1 with\n"
    "                       --seed, so ids and jitter stay reproducible, and with\n"
    "                       --watch or --shadow); output stays in input order and\n"
    "                       memory stays bounded whatever the input length\n"
    "      --no-progress    no progress line on stderr\n"
    "  -w, --watch          production loop: read standard input until it closes, write\n"
    "                       each decision at once, and reload the policy when DIR changes\n"
    "                       or on SIGHUP; a broken version is refused and the running one\n"
    "                       keeps serving.  Versions served are archived in DIR/.versions\n"
    "                       (see `faultline versions` and `faultline rollback`).\n"
    "      --shadow CAND    shadow evaluation: the candidate policy CAND (directory or\n"
    "                       bundle) also decides the events, on its own thread, never\n"
    "                       delaying the live output; differences are counted by\n"
    "                       (live rule -> candidate rule) and reported as one JSON line\n"
    "                       on stderr at the end, and on SIGUSR1.  SIGUSR2 promotes the\n"
    "                       candidate (loads it into the live engine; under --watch a\n"
    "                       later change of DIR is served again).\n"
    "      --shadow-sample R  share of events the candidate decides, 0 < R <= 1 (1)\n"
    "      --format FMT     json (default) or cloudevents: each decision as a CloudEvents\n"
    "                       1.0 event (type dev.faultline.decision, the decision as data)\n"
    "      --decision-log F also append every decision to the decision log F\n"
    "                       (docs/observability.md)\n"
    "      --log-on-full M  drop (default): a record the log's ring cannot take is\n"
    "                       counted as dropped; spool: records go through a spool file\n"
    "                       next to F, so a slow destination costs disk, not lines\n"
    "      --log-spool-dir DIR  directory of the spool (default: F's directory)\n";

struct eval_opts {
    const char *dir, *locale;
    unsigned flags;
    unsigned long long seed;
    size_t max_line;
    int progress;
    int watch;
    const char *shadow;
    double shadow_sample;
    int strict;
    int threads; /* 0: not given */
    int cloudevents;
    const char *decision_log;
    int log_on_full;
    const char *log_spool_dir;
};

struct eval_state {
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    fl_shadow_t *shadow;
    fl_engine_t *engine;
    size_t events, bad;
    struct timespec start, last;
    fl_strbuf out;
};

static double since(const struct timespec *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

static void progress(struct eval_state *st, int final)
{
    if (!final && (st->events & 0x3fff)) return;
    double t = since(&st->start);
    if (!final && (t < 1.0 || since(&st->last) < 0.25)) return;
    clock_gettime(CLOCK_MONOTONIC, &st->last);
    fprintf(stderr, "\r%zu events, %zu bad, %.0f/s%s", st->events, st->bad, t > 0 ? (double)st->events / t : 0.0,
            final ? "\n" : "");
}

/* An error record, appended to out (one line, newline included). */
static void error_record(fl_strbuf *out, const char *file, size_t line, int status, const char *msg, int col)
{
    json_t *o = json_pack("{s:n, s:s, s:I, s:s, s:s, s:b, s:s, s:s}", "id", "file", file, "line", (json_int_t)line,
                          "category", "invalid_argument", "severity", "error", "retryable", 0, "action", "fail",
                          "rule", "input");
    json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "kind", "input", "status", fl_strerror(status), "line",
                          (json_int_t)line, "message", msg);
    if (col > 0) json_object_set_new(e, "column", json_integer(col));
    json_object_set_new(o, "error", e);
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        fl_sb_puts(out, s);
        fl_sb_putc(out, '\n');
    }
    free(s);
    json_decref(o);
}

/* One line: its decision or error record appended to out; 1 if it was bad. */
static int decide_line(fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d, const struct eval_opts *o, const char *file,
                       const char *buf, size_t len, size_t lineno, size_t overlong, size_t max, fl_strbuf *out)
{
    char msg[1024];
    if (overlong) {
        snprintf(msg, sizeof msg, "line %zu is %zu bytes; the limit is %zu (--max-line)", lineno, overlong, max);
        error_record(out, file, lineno, FL_ETOOBIG, msg, 0);
        return 1;
    }
    fl_diag_t diag;
    int rc = fl_event_parse(ev, buf, len, o->strict ? FL_EVENT_STRICT : 0, &diag);
    if (rc != FL_OK) {
        snprintf(msg, sizeof msg, "line %zu: %s", lineno, diag.message);
        error_record(out, file, lineno, rc, msg, diag.col);
        return 1;
    }
    fl_decide(ctx, ev, o->locale, o->flags, d);
    if (!o->cloudevents) { /* the JSON written straight into the output */
        fl_decision_json_append(d, out);
        return 0;
    }
    const char *json = fl_decision_to_json(d);
    if (json) { /* CloudEvents 1.0, the decision as data */
        char ts[40];
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);
        fl_sb_printf(out,
                     "{\"specversion\":\"1.0\",\"type\":\"dev.faultline.decision\",\"source\":\"faultline\","
                     "\"id\":\"%s\",\"time\":\"%s\",\"datacontenttype\":\"application/json\",\"data\":%s}\n",
                     fl_decision_id(d) ? fl_decision_id(d) : "", ts, json);
    }
    return 0;
}

static void eval_line(struct eval_state *st, const struct eval_opts *o, const char *file, cli_reader *r)
{
    st->events++;
    fl_sb_clear(&st->out);
    int bad = decide_line(st->ctx, st->ev, st->d, o, file, r->buf, r->len, r->lineno, r->overlong, r->max, &st->out);
    st->bad += (size_t)bad;
    if (st->out.len) fwrite(st->out.data, 1, st->out.len, stdout);
    if (st->shadow && !bad) fl_shadow_offer(st->shadow, r->buf, r->len, st->d); /* after the live output */
}

/* The canary rolled a new version back by itself: say so (docs/operations.md). */
static void on_canary(void *user, const char *bad, const char *good, const char *why)
{
    (void)user;
    fprintf(stderr, "faultline: canary rolled back %s to %s: %s\n", bad, good, why);
}

/* Shadow signals: SIGUSR1 reports, SIGUSR2 promotes, both at the next event. */
static volatile sig_atomic_t g_shadow_report, g_shadow_promote;
static void on_shadow_signal(int sig)
{
    if (sig == SIGUSR1) g_shadow_report = 1;
    else g_shadow_promote = 1;
}

static void shadow_report(fl_shadow_t *sh)
{
    char *rep = fl_shadow_report(sh);
    if (rep) fprintf(stderr, "faultline: shadow %s\n", rep);
    free(rep);
}

static void shadow_signals(struct eval_state *st)
{
    if (!st->shadow) return;
    if (g_shadow_report) {
        g_shadow_report = 0;
        shadow_report(st->shadow);
    }
    if (g_shadow_promote) {
        g_shadow_promote = 0;
        fl_diag_t d;
        char buf[1200];
        if (fl_shadow_promote(st->shadow, st->engine, &d) == FL_OK) fprintf(stderr, "faultline: shadow candidate promoted\n");
        else fprintf(stderr, "faultline: promotion refused: %s\n", fl_diag_format(&d, buf, sizeof buf));
    }
}

static int eval_stream_threads(struct eval_state *st, const struct eval_opts *o, const char *file, FILE *f, int n);

static int eval_stream(struct eval_state *st, const struct eval_opts *o, const char *file, FILE *f)
{
    if (o->threads > 1) return eval_stream_threads(st, o, file, f, o->threads);
    cli_reader r;
    cli_reader_init(&r, f, o->max_line);
    int rc;
    while ((rc = cli_read_line(&r)) == 1) {
        if (!r.overlong && cli_blank(r.buf, r.len)) continue;
        eval_line(st, o, file, &r);
        if (o->progress) progress(st, 0);
        shadow_signals(st);
    }
    cli_reader_free(&r);
    if (rc < 0) {
        fprintf(stderr, "faultline eval: %s: read error\n", file);
        return FL_EXIT_IO;
    }
    return FL_EXIT_OK;
}

/*
 * The threaded pipeline: this thread reads lines into batches and writes the
 * finished batches in input order; `threads` workers, each with its own
 * context, event and decision, decide whole batches.  A ring of
 * RING_PER_THREAD * threads batches bounds memory: a batch holds at most
 * BATCH_LINES lines and closes once it holds BATCH_BYTES of input (one line
 * can be --max-line long), so memory does not grow with the input's length.
 */
enum { BATCH_LINES = 512, BATCH_BYTES = 256 * 1024, RING_PER_THREAD = 3 };

struct line_ref {
    size_t off, len, lineno, overlong;
};

struct batch {
    fl_strbuf in, out;
    struct line_ref *lines;
    size_t n, bad;
    int state; /* B_FREE, B_READY (filled), B_BUSY (a worker has it), B_DONE */
};
enum { B_FREE, B_READY, B_BUSY, B_DONE };

struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t work, done; /* work: a batch is ready or the end; done: a batch finished */
    struct batch *ring;
    size_t nring, filled, taken; /* batches filled by the reader, taken by workers */
    int end;
    const struct eval_opts *o;
    const char *file;
    size_t max;
    fl_engine_t *engine;
};

struct worker {
    struct pipe *p;
    pthread_t tid;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pipe *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->taken == p->filled && !p->end) pthread_cond_wait(&p->work, &p->mu);
        if (p->taken == p->filled) break;
        struct batch *b = &p->ring[p->taken++ % p->nring];
        b->state = B_BUSY;
        pthread_mutex_unlock(&p->mu);
        fl_sb_clear(&b->out);
        b->bad = 0;
        for (size_t i = 0; i < b->n; i++) {
            const struct line_ref *l = &b->lines[i];
            b->bad += (size_t)decide_line(w->ctx, w->ev, w->d, p->o, p->file, b->in.data + l->off, l->len, l->lineno,
                                          l->overlong, p->max, &b->out);
        }
        pthread_mutex_lock(&p->mu);
        b->state = B_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Write every finished batch at the head of the ring; wait 1: block until
 * the head is written (the reader needs its slot), wait 2: until all are.
 * Called with p->mu held. */
static void write_done(struct pipe *p, struct eval_state *st, size_t *head, int wait)
{
    while (*head < p->filled) {
        struct batch *b = &p->ring[*head % p->nring];
        if (b->state != B_DONE) {
            if (!wait) return;
            pthread_cond_wait(&p->done, &p->mu);
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        if (b->out.len) fwrite(b->out.data, 1, b->out.len, stdout);
        st->events += b->n;
        st->bad += b->bad;
        pthread_mutex_lock(&p->mu);
        b->state = B_FREE;
        ++*head;
        if (wait == 1) wait = 0; /* the head moved: room for the reader */
    }
}

static int eval_stream_threads(struct eval_state *st, const struct eval_opts *o, const char *file, FILE *f, int n)
{
    struct pipe p = {.o = o, .file = file, .max = o->max_line, .engine = st->engine};
    struct worker *ws = calloc((size_t)n, sizeof *ws);
    p.nring = (size_t)n * RING_PER_THREAD;
    p.ring = calloc(p.nring, sizeof *p.ring);
    int rc = FL_EXIT_OK, started = 0;
    if (!ws || !p.ring) {
        free(ws);
        free(p.ring);
        fprintf(stderr, "faultline eval: out of memory\n");
        return FL_EXIT_IO;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.work, NULL);
    pthread_cond_init(&p.done, NULL);
    for (size_t i = 0; i < p.nring; i++) {
        p.ring[i].lines = malloc(BATCH_LINES * sizeof *p.ring[i].lines);
        if (!p.ring[i].lines) rc = FL_EXIT_IO;
    }
    for (int i = 0; i < n && rc == FL_EXIT_OK; i++) {
        ws[i].p = &p;
        if (fl_ctx_new(st->engine, &ws[i].ctx) != FL_OK || fl_event_new(&ws[i].ev) != FL_OK ||
            fl_decision_new(&ws[i].d) != FL_OK || pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
            rc = FL_EXIT_IO;
            break;
        }
        started++;
    }
    if (rc != FL_EXIT_OK) fprintf(stderr, "faultline eval: cannot start the deciding threads\n");
    cli_reader r;
    cli_reader_init(&r, f, o->max_line);
    size_t head = 0;
    int rrc = 1;
    while (rc == FL_EXIT_OK && rrc == 1) {
        pthread_mutex_lock(&p.mu);
        write_done(&p, st, &head, p.filled - head == p.nring); /* a full ring waits for its head */
        struct batch *b = &p.ring[p.filled % p.nring];
        pthread_mutex_unlock(&p.mu);
        fl_sb_clear(&b->in);
        b->n = 0;
        while (b->n < BATCH_LINES && b->in.len < BATCH_BYTES && (rrc = cli_read_line(&r)) == 1) {
            if (!r.overlong && cli_blank(r.buf, r.len)) continue;
            struct line_ref *l = &b->lines[b->n];
            l->off = b->in.len;
            l->len = r.len;
            l->lineno = r.lineno;
            l->overlong = r.overlong;
            if (fl_sb_append(&b->in, r.overlong ? "" : r.buf, r.overlong ? 0 : r.len) != 0 ||
                fl_sb_putc(&b->in, '\0') != 0) {
                rrc = -1;
                break;
            }
            b->n++;
        }
        pthread_mutex_lock(&p.mu);
        if (b->n) {
            b->state = B_READY;
            p.filled++;
            pthread_cond_signal(&p.work);
        }
        pthread_mutex_unlock(&p.mu);
        if (o->progress) progress(st, 0);
    }
    pthread_mutex_lock(&p.mu);
    write_done(&p, st, &head, started > 0 ? 2 : 0);
    p.end = 1;
    pthread_cond_broadcast(&p.work);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < started; i++) pthread_join(ws[i].tid, NULL);
    for (int i = 0; i < n; i++) {
        fl_decision_free(ws[i].d);
        fl_event_free(ws[i].ev);
        fl_ctx_free(ws[i].ctx);
    }
    for (size_t i = 0; i < p.nring; i++) {
        fl_sb_free(&p.ring[i].in);
        fl_sb_free(&p.ring[i].out);
        free(p.ring[i].lines);
    }
    free(p.ring);
    free(ws);
    pthread_cond_destroy(&p.work);
    pthread_cond_destroy(&p.done);
    pthread_mutex_destroy(&p.mu);
    cli_reader_free(&r);
    if (rc == FL_EXIT_OK && rrc < 0) {
        fprintf(stderr, "faultline eval: %s: read error\n", file);
        rc = FL_EXIT_IO;
    }
    return rc;
}

/* Watch mode: report every reload attempt on stderr, archive what serves. */
struct watch_ud {
    fl_engine_t *engine;
    const char *dir;
    char serving[17];
};

static void on_reload(void *ud, int status, const fl_diag_t *diag, const fl_version_info_t *cur)
{
    struct watch_ud *w = ud;
    const char *dir = w->dir;
    char buf[1200];
    if (status == FL_OK && cur && strcmp(cur->id, w->serving) == 0) return; /* content unchanged */
    if (status == FL_OK && cur) {
        snprintf(w->serving, sizeof w->serving, "%s", cur->id);
        fprintf(stderr, "faultline: serving policy %s %s (id %s, %u rules)\n", cur->name, cur->version, cur->id,
                cur->rules);
        cli_archive_version(w->engine, dir, cur);
    } else {
        fprintf(stderr, "faultline: reload refused, still serving %s: %s\n", cur ? cur->id : "nothing",
                fl_diag_format(diag, buf, sizeof buf));
    }
}

static int parse_opts(int argc, char **argv, struct eval_opts *o)
{
    static const struct option longs[] = {
        {"policy", required_argument, 0, 'p'}, {"locale", required_argument, 0, 'l'},
        {"explain", no_argument, 0, 'x'},      {"seed", required_argument, 0, 's'},
        {"max-line", required_argument, 0, 'm'}, {"no-progress", no_argument, 0, 'q'},
        {"watch", no_argument, 0, 'w'},        {"help", no_argument, 0, 'h'},
        {"shadow", required_argument, 0, 'D'}, {"shadow-sample", required_argument, 0, 'R'},
        {"strict", no_argument, 0, 'S'},      {"threads", required_argument, 0, 'j'},
        {"format", required_argument, 0, 'F'}, {"decision-log", required_argument, 0, 'G'},
        {"log-on-full", required_argument, 0, 'O'}, {"log-spool-dir", required_argument, 0, 'P'},
        {0, 0, 0, 0}};
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "p:l:xwhj:", longs, NULL)) != -1) {
        switch (c) {
        case 'p': o->dir = optarg; break;
        case 'l': o->locale = optarg; break;
        case 'x': o->flags |= FL_DECIDE_EXPLAIN; break;
        case 's':
            o->seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg) return fprintf(stderr, "faultline eval: --seed needs a number\n"), -1;
            break;
        case 'm':
            o->max_line = strtoull(optarg, &end, 10);
            if (*end || o->max_line < 16) return fprintf(stderr, "faultline eval: --max-line needs a number >= 16\n"), -1;
            break;
        case 'q': o->progress = 0; break;
        case 'w': o->watch = 1; break;
        case 'D': o->shadow = optarg; break;
        case 'R':
            o->shadow_sample = strtod(optarg, &end);
            if (*end || !(o->shadow_sample > 0 && o->shadow_sample <= 1))
                return fprintf(stderr, "faultline eval: --shadow-sample needs a number in (0, 1]\n"), -1;
            break;
        case 'S': o->strict = 1; break;
        case 'j': {
            unsigned long long t = strtoull(optarg, &end, 10);
            if (*end || !*optarg || t < 1 || t > 256)
                return fprintf(stderr, "faultline eval: --threads needs a number from 1 to 256\n"), -1;
            o->threads = (int)t;
            break;
        }
        case 'F':
            if (strcmp(optarg, "json") == 0) o->cloudevents = 0;
            else if (strcmp(optarg, "cloudevents") == 0) o->cloudevents = 1;
            else {
                fprintf(stderr, "faultline eval: --format is json or cloudevents, not '%s'\n", optarg);
                return -1;
            }
            break;
        case 'G': o->decision_log = optarg; break;
        case 'O':
            if (strcmp(optarg, "drop") == 0) o->log_on_full = FL_LOG_ON_FULL_DROP;
            else if (strcmp(optarg, "spool") == 0) o->log_on_full = FL_LOG_ON_FULL_SPOOL;
            else return fprintf(stderr, "faultline eval: --log-on-full is drop or spool, not '%s'\n", optarg), -1;
            break;
        case 'P': o->log_spool_dir = optarg; break;
        case 'h': fputs(k_help, stdout); return 1;
        default: fputs(k_help, stderr); return -1;
        }
    }
    return 0;
}

int cli_eval(int argc, char **argv)
{
    struct eval_opts o = {NULL, NULL, 0, 0, 1u << 20, isatty(2), 0, NULL, 1.0, 0, 0, 0, NULL, FL_LOG_ON_FULL_DROP, NULL};
    int prc = parse_opts(argc, argv, &o);
    if (prc) return prc > 0 ? FL_EXIT_OK : FL_EXIT_USAGE;
    if (o.watch || o.shadow) o.threads = 1; /* one decision, one line, at once; the shadow sees them in order */
    /* Batch output: big writes (stdio's default for a pipe or file is one
     * write(2) per 4 KiB, about six lines: 30,000 system calls for 200,000
     * lines on one thread).  --watch switches to line buffering below.
     * Static, not on the stack or the heap: stdout uses it until the
     * process exits, after this function has returned. */
    static char outbuf[1 << 18];
    if (!o.watch) setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    if (!o.threads) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        o.threads = o.seed || nc < 1 ? 1 : nc > 64 ? 64 : (int)nc;
    }
    fl_engine_options_t eo = {0};
    eo.seed = o.seed;
    fl_engine_t *e = NULL;
    struct eval_state st = {0};
    fl_diag_t diag;
    char buf[1200];
    int rc = FL_EXIT_OK;
    const char *dir = cli_policy_dir(o.dir, argv[0]);
    unsigned char key[FL_KEY_PUBLIC_BYTES];
    int bad_key;
    eo.trusted_key = cli_trusted_key(NULL, key, &bad_key); /* $FAULTLINE_TRUSTED_KEY */
    eo.on_canary = on_canary;
    if (bad_key) {
        rc = FL_EXIT_USAGE;
        goto cleanup;
    }
    if (fl_engine_new(&eo, &e) != FL_OK || fl_ctx_new(e, &st.ctx) != FL_OK || fl_event_new(&st.ev) != FL_OK ||
        fl_decision_new(&st.d) != FL_OK) {
        fprintf(stderr, "faultline eval: out of memory\n");
        rc = FL_EXIT_IO;
        goto cleanup;
    }
    if (fl_engine_load(e, dir, &diag) != FL_OK) {
        fprintf(stderr, "faultline eval: cannot load policy %s:\n  %s\n", dir, fl_diag_format(&diag, buf, sizeof buf));
        rc = FL_EXIT_POLICY;
        goto cleanup;
    }
    st.engine = e;
    if (o.decision_log) {
        fl_log_options_t lo = {0};
        lo.path = o.decision_log;
        lo.format = o.cloudevents ? FL_LOG_FORMAT_CLOUDEVENTS : FL_LOG_FORMAT_JSON;
        lo.on_full = o.log_on_full;
        lo.spool_dir = o.log_spool_dir;
        if (fl_engine_log_open(e, &lo, &diag) != FL_OK) {
            fprintf(stderr, "faultline eval: --decision-log: %s\n", fl_diag_format(&diag, buf, sizeof buf));
            rc = FL_EXIT_IO;
            goto cleanup;
        }
    }
    if (o.shadow) {
        fl_shadow_options_t so = {.sample = o.shadow_sample, .trusted_key = eo.trusted_key};
        if (fl_shadow_new(o.shadow, &so, &st.shadow, &diag) != FL_OK) {
            fprintf(stderr, "faultline eval: cannot load the shadow candidate %s:\n  %s\n", o.shadow,
                    fl_diag_format(&diag, buf, sizeof buf));
            rc = FL_EXIT_POLICY;
            goto cleanup;
        }
        signal(SIGUSR1, on_shadow_signal);
        signal(SIGUSR2, on_shadow_signal);
    }
    clock_gettime(CLOCK_MONOTONIC, &st.start);
    st.last = st.start;
    fl_watch_t *watch = NULL;
    struct watch_ud wud = {e, dir, ""};
    if (o.watch) {
        fl_version_info_t vi;
        fl_engine_current(e, &vi);
        on_reload(&wud, FL_OK, NULL, &vi);
        fl_watch_options_t wo = {.handle_sighup = 1, .on_reload = on_reload, .ud = &wud};
        if (fl_watch_start(e, dir, &wo, &watch) != FL_OK) {
            fprintf(stderr, "faultline eval: cannot watch %s\n", dir);
            rc = FL_EXIT_POLICY;
            goto cleanup;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);
        o.progress = 0;
    }
    if (optind >= argc) rc = eval_stream(&st, &o, "-", stdin);
    for (int i = optind; i < argc && rc == FL_EXIT_OK; i++) {
        if (strcmp(argv[i], "-") == 0) {
            rc = eval_stream(&st, &o, "-", stdin);
            continue;
        }
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "faultline eval: cannot open %s: %s\n", argv[i], strerror(errno));
            rc = FL_EXIT_IO;
            break;
        }
        rc = eval_stream(&st, &o, argv[i], f);
        fclose(f);
    }
    fl_watch_stop(watch);
    if (o.progress && since(&st.start) >= 1.0) progress(&st, 1);
    if (rc == FL_EXIT_OK && st.bad) rc = FL_EXIT_BAD_INPUT;
    if (st.shadow) {
        fflush(stdout);
        fl_shadow_drain(st.shadow, 60000);
        shadow_report(st.shadow);
    }
cleanup:
    fflush(stdout);
    fl_decision_free(st.d);
    fl_event_free(st.ev);
    fl_ctx_free(st.ctx);
    fl_shadow_free(st.shadow);
    fl_engine_free(e);
    fl_sb_free(&st.out);
    return rc;
}
