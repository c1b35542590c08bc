/*
 * run.c -- `faultline run`: run a command under the policy.  A failed run
 * (non-zero exit, a signal, a timeout) becomes an event -- domain "exit",
 * the status as code, the last lines of stderr as message -- and the engine
 * decides through an fl_pipeline: retry after the decided delay (params
 * exported as FAULTLINE_PARAM_*), fall back (print the fallback, exit 0),
 * ignore (exit 0) or fail (the user message on stderr, the command's status).
 *
 * Breaker outcomes persist across invocations in a state file: one line per
 * outcome (wall-clock ms, breaker, key, category or "-"), replayed into the
 * engine's registry on a wall clock at start, so that a cron job stops
 * running a command whose breaker is open.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define TAIL_MAX 4096
#define STATE_MAX_LINES 2000
#define STATE_MAX_AGE_MS (24ll * 3600 * 1000)
#define EXIT_TIMEOUT 124
#define EXIT_BREAKER_OPEN 75

static const char k_help[] =
    "usage: faultline run [-p DIR] [--op NAME] [--key K] [--locale L] [--timeout S]\n"
    "                     [--state FILE] [--no-state] [--explain] -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD under the policy.  A non-zero exit, a signal or a timeout becomes an\n"
    "error event (domain \"exit\", the status as code, the last lines of stderr as\n"
    "message, op, attempt, elapsed) and the policy decides: retry after the delay\n"
    "(the decision's params exported as FAULTLINE_PARAM_<NAME>), fall back (print\n"
    "the fallback on stdout, exit 0), ignore (exit 0) or fail (print the user\n"
    "message on stderr).  Standard output passes through; stderr passes through and\n"
    "is kept for classification.  Breaker outcomes persist in a state file, so a\n"
    "breaker opened by earlier runs stops later ones from running CMD.\n"
    "\n"
    "Options:\n"
    "  -p, --policy DIR   policy directory\n"
    "  --op NAME          the event's op (default: CMD's base name)\n"
    "  --key K            the call key for remembered breakers (default: the op)\n"
    "  --locale L         locale of the user message\n"
    "  --timeout S        per-attempt time limit in seconds (fractions allowed)\n"
    "  --state FILE       breaker state file (default:\n"
    "                     $FAULTLINE_STATE_DIR, $XDG_STATE_HOME/faultline or\n"
    "                     ~/.local/state/faultline, file run-OP.state)\n"
    "  --no-state         keep no state between runs\n"
    "  --explain          print each decision (JSON) on stderr\n"
    "\n"
    "Exit status: 0 success (also after retries, ignore or fallback); the\n"
    "command's status when the policy gives up (128+N for signal N, 124 for a\n"
    "timeout); 75 when a breaker is open and CMD was not run; 2 usage error;\n"
    "3 the policy could not be loaded.\n";

/* ---- the wall clock, with a replay override --------------------------------- */

static int64_t g_replay_ns; /* non-zero while replaying the state file */

static int64_t wall_ns(void *u)
{
    struct timespec ts;
    (void)u;
    if (g_replay_ns)
        return g_replay_ns;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- state file ---------------------------------------------------------------- */

typedef struct pair {
    char breaker[64], key[128];
    int this_run; /* named by a decision in this invocation */
} pair;

typedef struct run_state {
    char path[PATH_MAX];
    int enabled;
    json_t *lines; /* array of strings (kept + new) */
    pair pairs[32];
    int npairs;
} run_state;

static void field(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap; i++)
        dst[i] = (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') ? '_' : s[i];
    dst[i] = '\0';
}

static pair *pair_find(run_state *st, const char *b, const char *k, int add)
{
    for (int i = 0; i < st->npairs; i++)
        if (strcmp(st->pairs[i].breaker, b) == 0 && strcmp(st->pairs[i].key, k) == 0)
            return &st->pairs[i];
    if (!add || st->npairs == (int)(sizeof st->pairs / sizeof st->pairs[0]))
        return NULL;
    pair *p = &st->pairs[st->npairs++];
    field(p->breaker, sizeof p->breaker, b);
    field(p->key, sizeof p->key, k);
    p->this_run = 0;
    return p;
}

static void state_add(run_state *st, const char *b, const char *k, const char *cat)
{
    char line[512], bf[64], kf[128], cf[96];
    field(bf, sizeof bf, b);
    field(kf, sizeof kf, k);
    field(cf, sizeof cf, cat ? cat : "-");
    snprintf(line, sizeof line, "%lld\t%s\t%s\t%s", (long long)(wall_ns(NULL) / 1000000), bf, kf, cf);
    json_array_append_new(st->lines, json_string(line));
}

static int mkdirs(char *path)
{
    for (char *s = path + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
            *s = '/';
            return -1;
        }
        *s = '/';
    }
    return 0;
}

static int state_path(run_state *st, const char *given, const char *op)
{
    char name[128];
    const char *dir = getenv("FAULTLINE_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"),
               *home = getenv("HOME");
    size_t i = 0;
    if (given) {
        snprintf(st->path, sizeof st->path, "%s", given);
        return 0;
    }
    for (; op[i] && i < sizeof name - 1; i++)
        name[i] = isalnum((unsigned char)op[i]) || op[i] == '-' || op[i] == '.' ? op[i] : '_';
    name[i] = '\0';
    if (dir && *dir)
        snprintf(st->path, sizeof st->path, "%s/run-%s.state", dir, name);
    else if (xdg && *xdg)
        snprintf(st->path, sizeof st->path, "%s/faultline/run-%s.state", xdg, name);
    else if (home && *home)
        snprintf(st->path, sizeof st->path, "%s/.local/state/faultline/run-%s.state", home, name);
    else
        return -1;
    return 0;
}

/* Read the file and replay each recent outcome on its own timestamp. */
static void state_load(run_state *st, fl_resil_t *r)
{
    FILE *f = fopen(st->path, "r");
    char line[600];
    int64_t now_ms = wall_ns(NULL) / 1000000;
    if (!f)
        return;
    flock(fileno(f), LOCK_SH);
    while (fgets(line, sizeof line, f)) {
        char *b, *k, *c, *save = NULL;
        long long ms;
        line[strcspn(line, "\n")] = '\0';
        ms = strtoll(line, &b, 10);
        if (*b != '\t' || now_ms - ms > STATE_MAX_AGE_MS || ms > now_ms + 60000)
            continue;
        {
            char copy[600];
            snprintf(copy, sizeof copy, "%s", line);
            (void)strtok_r(copy, "\t", &save);
            b = strtok_r(NULL, "\t", &save);
            k = strtok_r(NULL, "\t", &save);
            c = strtok_r(NULL, "\t", &save);
            if (!c) { /* empty key: two tabs in a row */
                c = k;
                k = "";
            }
            if (!b || !c)
                continue;
            g_replay_ns = (int64_t)ms * 1000000;
            if (fl_breaker_report(r, b, k, strcmp(c, "-") == 0 ? NULL : c) == FL_OK)
                pair_find(st, b, k, 1);
            g_replay_ns = 0;
        }
        json_array_append_new(st->lines, json_string(line));
    }
    fclose(f);
}

static void state_save(run_state *st)
{
    char tmp[PATH_MAX + 8];
    size_t n = json_array_size(st->lines), from = n > STATE_MAX_LINES ? n - STATE_MAX_LINES : 0;
    FILE *f;
    if (mkdirs(st->path) != 0 || snprintf(tmp, sizeof tmp, "%s.tmp", st->path) >= (int)sizeof tmp ||
        !(f = fopen(tmp, "w"))) {
        fprintf(stderr, "faultline run: cannot write state %s: %s\n", st->path, strerror(errno));
        return;
    }
    for (size_t i = from; i < n; i++)
        fprintf(f, "%s\n", json_string_value(json_array_get(st->lines, i)));
    if (fclose(f) != 0 || rename(tmp, st->path) != 0) {
        fprintf(stderr, "faultline run: cannot write state %s: %s\n", st->path, strerror(errno));
        unlink(tmp);
    }
}

/* ---- one attempt: run the command ------------------------------------------- */

typedef struct runner {
    char **argv;
    const char *op;
    double timeout_s;
    int explain;
    int last_status; /* what to exit with when the policy gives up */
    run_state *st;
    char tail[TAIL_MAX];
    size_t tail_len;
} runner;

static void keep_tail(runner *rn, const char *buf, size_t n)
{
    if (n >= TAIL_MAX) {
        buf += n - TAIL_MAX;
        n = TAIL_MAX;
    }
    if (rn->tail_len + n > TAIL_MAX) {
        size_t drop = rn->tail_len + n - TAIL_MAX;
        memmove(rn->tail, rn->tail + drop, rn->tail_len - drop);
        rn->tail_len -= drop;
    }
    memcpy(rn->tail + rn->tail_len, buf, n);
    rn->tail_len += n;
}

/* The last few non-empty lines of stderr (at most 5, 1000 bytes). */
static void tail_message(runner *rn, char *out, size_t cap)
{
    size_t end = rn->tail_len, start;
    int lines = 0;
    while (end > 0 && (rn->tail[end - 1] == '\n' || rn->tail[end - 1] == '\r'))
        end--;
    start = end;
    while (start > 0 && lines < 5) {
        if (rn->tail[start - 1] == '\n')
            lines++;
        if (lines == 5)
            break;
        start--;
    }
    if (end - start > 1000)
        start = end - 1000;
    while (start < end && (rn->tail[start] & 0xC0) == 0x80)
        start++; /* not in the middle of a UTF-8 sequence */
    snprintf(out, cap, "%.*s", (int)(end - start), rn->tail + start);
}

static void export_params(const char *params)
{
    json_t *o = params ? json_loads(params, 0, NULL) : NULL;
    const char *k;
    json_t *v;
    if (!json_is_object(o)) {
        json_decref(o);
        return;
    }
    json_object_foreach(o, k, v) {
        char name[160], *text = NULL;
        size_t i, n = (size_t)snprintf(name, sizeof name, "FAULTLINE_PARAM_");
        for (i = 0; k[i] && n + 1 < sizeof name; i++)
            name[n++] = isalnum((unsigned char)k[i]) ? (char)toupper((unsigned char)k[i]) : '_';
        name[n] = '\0';
        if (json_is_string(v))
            setenv(name, json_string_value(v), 1);
        else if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
            setenv(name, text, 1);
        free(text);
    }
    json_decref(o);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int attempt(void *user, const fl_attempt_info_t *a, fl_event_t *ev)
{
    runner *rn = user;
    int errp[2], status = 0, timed_out = 0, open = 1;
    pid_t pid;
    int64_t t_end = rn->timeout_s > 0 ? mono_ms() + (int64_t)(rn->timeout_s * 1000) : 0;
    char msg[1100], code[32];
    rn->tail_len = 0;
    fflush(stdout);
    fflush(stderr);
    if (pipe(errp) != 0) {
        snprintf(msg, sizeof msg, "cannot create a pipe: %s", strerror(errno));
        fl_event_set(ev, FL_FIELD_MESSAGE, msg, strlen(msg));
        rn->last_status = 1;
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        char n[16];
        dup2(errp[1], 2);
        close(errp[0]);
        close(errp[1]);
        snprintf(n, sizeof n, "%d", a->attempt);
        setenv("FAULTLINE_ATTEMPT", n, 1);
        export_params(a->params);
        execvp(rn->argv[0], rn->argv);
        fprintf(stderr, "faultline run: cannot run %s: %s\n", rn->argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(errp[1]);
    if (pid < 0) {
        close(errp[0]);
        snprintf(msg, sizeof msg, "cannot start %s: %s", rn->argv[0], strerror(errno));
        fl_event_set(ev, FL_FIELD_MESSAGE, msg, strlen(msg));
        rn->last_status = 1;
        return 1;
    }
    while (open) {
        struct pollfd pf = {errp[0], POLLIN, 0};
        int wait = t_end ? (int)(t_end - mono_ms()) : -1;
        char buf[4096];
        ssize_t n;
        if (t_end && wait <= 0) {
            timed_out = 1;
            kill(pid, SIGTERM);
            break;
        }
        if (poll(&pf, 1, wait) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (!pf.revents)
            continue;
        n = read(errp[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            open = 0;
            break;
        }
        keep_tail(rn, buf, (size_t)n);
        if (write(2, buf, (size_t)n) < 0) { /* pass through; a closed stderr is not fatal */
        }
    }
    if (timed_out) { /* SIGTERM sent: give it 2 s, then SIGKILL */
        int64_t until = mono_ms() + 2000;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (mono_ms() >= until) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
        }
    } else {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
    close(errp[0]);
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    tail_message(rn, msg, sizeof msg);
    if (timed_out) {
        rn->last_status = EXIT_TIMEOUT;
        snprintf(code, sizeof code, "timeout");
        if (!msg[0])
            snprintf(msg, sizeof msg, "%s timed out after %g s", rn->argv[0], rn->timeout_s);
        fl_event_set_tag(ev, "timeout", "true");
    } else if (WIFSIGNALED(status)) {
        rn->last_status = 128 + WTERMSIG(status);
        snprintf(code, sizeof code, "%d", rn->last_status);
        if (!msg[0])
            snprintf(msg, sizeof msg, "%s was killed by signal %d", rn->argv[0], WTERMSIG(status));
        char sig[16];
        snprintf(sig, sizeof sig, "%d", WTERMSIG(status));
        fl_event_set_tag(ev, "signal", sig);
    } else {
        rn->last_status = WEXITSTATUS(status);
        snprintf(code, sizeof code, "%d", rn->last_status);
        if (!msg[0])
            snprintf(msg, sizeof msg, "%s exited with status %d", rn->argv[0], rn->last_status);
    }
    fl_event_set(ev, FL_FIELD_DOMAIN, "exit", 4);
    fl_event_set(ev, FL_FIELD_CODE, code, strlen(code));
    fl_event_set(ev, FL_FIELD_MESSAGE, msg, strlen(msg));
    fl_event_set(ev, FL_FIELD_OP, rn->op, strlen(rn->op));
    fl_event_set_tag(ev, "command", rn->argv[0]);
    return 1;
}

static void on_decision(void *user, int n, const fl_event_t *ev, const fl_decision_t *d)
{
    runner *rn = user;
    const char *b = fl_decision_breaker_name(d);
    (void)ev;
    if (b && rn->st->enabled) {
        const char *k = fl_decision_breaker_key(d) ? fl_decision_breaker_key(d) : "";
        pair *p = pair_find(rn->st, b, k, 1);
        if (p)
            p->this_run = 1;
        state_add(rn->st, b, k, fl_decision_category(d));
    }
    if (rn->explain) {
        fl_decision_t *dd = (fl_decision_t *)d; /* to_json only fills its buffer */
        const char *j = fl_decision_to_json(dd);
        fprintf(stderr, "faultline run: attempt %d: %s\n", n, j ? j : "?");
    }
}

/* A breaker this op reported to is open: do not run the command. */
static int breaker_open(run_state *st, fl_resil_t *r, const char *cmd)
{
    for (int i = 0; i < st->npairs; i++) {
        fl_breaker_stats_t bs;
        if (fl_breaker_stats(r, st->pairs[i].breaker, st->pairs[i].key, &bs) != FL_OK)
            continue;
        if (bs.state == FL_BREAKER_FORCED_OPEN || (bs.state == FL_BREAKER_OPEN && bs.retry_after_ns > 0)) {
            fprintf(stderr,
                    "faultline run: breaker '%s'%s%s%s is open after %llu failures in %llu calls; "
                    "not running %s (next try in %.0f s)\n",
                    st->pairs[i].breaker, st->pairs[i].key[0] ? " (key " : "", st->pairs[i].key,
                    st->pairs[i].key[0] ? ")" : "", (unsigned long long)bs.failures,
                    (unsigned long long)bs.calls, cmd, (double)bs.retry_after_ns / 1e9);
            return 1;
        }
    }
    return 0;
}

static void print_fallback(const char *json)
{
    json_t *v = json ? json_loads(json, JSON_DECODE_ANY, NULL) : NULL;
    if (json_is_string(v))
        printf("%s\n", json_string_value(v));
    else if (json)
        printf("%s\n", json);
    json_decref(v);
    fflush(stdout);
}

int cli_run(int argc, char **argv)
{
    enum { O_OP = 256, O_KEY, O_LOCALE, O_TIMEOUT, O_STATE, O_NO_STATE, O_EXPLAIN };
    static const struct option opts[] = {
        {"policy", required_argument, 0, 'p'}, {"op", required_argument, 0, O_OP},
        {"key", required_argument, 0, O_KEY},   {"locale", required_argument, 0, O_LOCALE},
        {"timeout", required_argument, 0, O_TIMEOUT}, {"state", required_argument, 0, O_STATE},
        {"no-state", no_argument, 0, O_NO_STATE}, {"explain", no_argument, 0, O_EXPLAIN},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *dir = NULL, *op = NULL, *key = NULL, *locale = NULL, *state = NULL;
    int c, no_state = 0, rc;
    runner rn;
    run_state st;
    memset(&rn, 0, sizeof rn);
    memset(&st, 0, sizeof st);
    optind = 1;
    while ((c = getopt_long(argc, argv, "+p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': dir = optarg; break;
        case O_OP: op = optarg; break;
        case O_KEY: key = optarg; break;
        case O_LOCALE: locale = optarg; break;
        case O_TIMEOUT: {
            char *end;
            rn.timeout_s = strtod(optarg, &end);
            if (*end || !(rn.timeout_s > 0) || rn.timeout_s > 86400 * 7) {
                fprintf(stderr, "faultline run: --timeout '%s': give seconds, more than 0 and at most 604800\n",
                        optarg);
                return FL_EXIT_USAGE;
            }
            break;
        }
        case O_STATE: state = optarg; break;
        case O_NO_STATE: no_state = 1; break;
        case O_EXPLAIN: rn.explain = 1; break;
        case 'h': fputs(k_help, stdout); return FL_EXIT_OK;
        default: fputs(k_help, stderr); return FL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "faultline run: no command given (faultline run [options] -- CMD [ARGS...])\n\n%s", k_help);
        return FL_EXIT_USAGE;
    }
    rn.argv = argv + optind;
    if (!op) {
        const char *slash = strrchr(rn.argv[0], '/');
        op = slash ? slash + 1 : rn.argv[0];
    }
    if (!op[0]) {
        fprintf(stderr, "faultline run: --op must not be empty\n");
        return FL_EXIT_USAGE;
    }
    rn.op = op;
    rn.st = &st;
    dir = cli_policy_dir(dir, argv[0]);

    fl_resil_options_t ro = {0};
    ro.clock = wall_ns; /* breaker state outlives the process: wall time */
    unsigned char kbuf[FL_KEY_PUBLIC_BYTES];
    int bad_key;
    fl_engine_options_t eo = {0};
    eo.trusted_key = cli_trusted_key(NULL, kbuf, &bad_key);
    eo.resil = &ro;
    if (bad_key)
        return FL_EXIT_USAGE;
    fl_engine_t *e = NULL;
    fl_diag_t diag;
    char dbuf[1200];
    if (fl_engine_new(&eo, &e) != FL_OK) {
        fprintf(stderr, "faultline run: out of memory\n");
        return FL_EXIT_POLICY;
    }
    if ((rc = fl_engine_load(e, dir, &diag)) != FL_OK) {
        fprintf(stderr, "faultline run: policy %s: %s\n", dir, fl_diag_format(&diag, dbuf, sizeof dbuf));
        fl_engine_free(e);
        return FL_EXIT_POLICY;
    }
    st.lines = json_array();
    st.enabled = !no_state && st.lines;
    if (st.enabled && state_path(&st, state, op) != 0) {
        fprintf(stderr, "faultline run: no state directory (set FAULTLINE_STATE_DIR or HOME, or give --state)\n");
        st.enabled = 0;
    }
    if (st.enabled)
        state_load(&st, fl_engine_resil(e));
    if (st.enabled && breaker_open(&st, fl_engine_resil(e), rn.argv[0])) {
        json_decref(st.lines);
        fl_engine_free(e);
        return EXIT_BREAKER_OPEN;
    }

    fl_pipeline_config_t pc = {0};
    pc.op = op;
    pc.locale = locale;
    pc.decide_flags = rn.explain ? FL_DECIDE_EXPLAIN : 0;
    pc.on_decision = on_decision;
    pc.decision_user = &rn;
    fl_pipeline_t *p = NULL;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_pipeline_result_t res;
    int code = FL_EXIT_OK;
    if (fl_pipeline_new(e, &pc, &p, &diag) != FL_OK || fl_ctx_new(e, &ctx) != FL_OK ||
        fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) {
        fprintf(stderr, "faultline run: out of memory\n");
        code = FL_EXIT_POLICY;
        goto out;
    }
    fl_pipeline_call(p, ctx, ev, key ? key : op, attempt, &rn, NULL, d, &res);
    switch (res.outcome) {
    case FL_CALL_SUCCEEDED:
        code = FL_EXIT_OK;
        if (st.enabled) /* successes reach every breaker this op reported to */
            for (int i = 0; i < st.npairs; i++) {
                if (!st.pairs[i].this_run)
                    fl_breaker_report(fl_engine_resil(e), st.pairs[i].breaker, st.pairs[i].key, NULL);
                state_add(&st, st.pairs[i].breaker, st.pairs[i].key, NULL);
            }
        break;
    case FL_CALL_FALLBACK:
        print_fallback(res.fallback_json);
        code = FL_EXIT_OK;
        break;
    default: {
        const char *m = fl_decision_message(d);
        fprintf(stderr, "%s\n", m ? m : "The command failed.");
        code = rn.last_status ? rn.last_status : 1;
        break;
    }
    }
    if (st.enabled) {
        int fd = open(st.path, O_RDONLY);
        if (fd >= 0)
            flock(fd, LOCK_EX);
        state_save(&st);
        if (fd >= 0)
            close(fd);
    }
out:
    fl_decision_free(d);
    fl_event_free(ev);
    fl_pipeline_free(p);
    fl_ctx_free(ctx);
    fl_engine_free(e);
    json_decref(st.lines);
    return code;
}
