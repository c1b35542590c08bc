/*
 * bench_eval.c -- `faultline eval` against `jq -c .` on the same file, side by
 * side in one run (issue 13's target: eval >= 4x faster than jq, >= 1,000,000
 * lines/s).  The file: the events of tests/corpus/events (real error lines of
 * every domain the stock pack knows), cycled to LINES lines (default 200,000),
 * written to a temporary directory.  Each program runs REPS times (default 3)
 * with its output to /dev/null; the best wall time and the CPU time of that
 * run (user + system, all threads) are printed.  On a shared machine the CPU
 * time is the steadier figure; wall time is what a user waits.
 *
 *   bench_eval [LINES] [REPS]      eval (default threads, then --threads 1) vs jq
 *   bench_eval rss [LINES]         peak RSS of eval on a LINES-line stream
 *                                  (default 10,000,000) fed through a pipe
 *   bench_eval parse [LINES]       the event reader alone, in process: ns/line and
 *                                  MB/s of fl_event_parse (core/event_fast.c, one
 *                                  pass into the event) against jansson's
 *                                  json_loadb (a tree per line, the fallback)
 *
 * The faultline binary is the one next to this bench's build directory
 * (BUILD/faultline) or $FAULTLINE; jq is found on PATH.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline.h"


static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The corpus events, one compact JSON object per line, in one buffer. */
static char *corpus_events(size_t *n_lines, size_t *bytes)
{
    size_t cap = 1 << 20, len = 0, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/tests/corpus/events", FL_SOURCE_DIR);
    struct dirent **names;
    int nn = scandir(dir, &names, NULL, alphasort); /* sorted: the same file on every run */
    for (int d = 0; d < nn; d++) {
        char path[2 * PATH_MAX];
        size_t nl = strlen(names[d]->d_name);
        int skip = nl < 6 || strcmp(names[d]->d_name + nl - 6, ".jsonl") != 0;
        snprintf(path, sizeof path, "%s/%s", dir, names[d]->d_name);
        free(names[d]);
        if (skip) continue;
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char line[65536];
        while (fgets(line, sizeof line, f)) {
            json_t *o = json_loads(line, 0, NULL);
            json_t *ev = json_object_get(o, "event");
            char *s = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
            if (s) {
                size_t l = strlen(s);
                if (len + l + 2 > cap) {
                    cap *= 2;
                    char *p = realloc(out, cap);
                    if (!p) exit(1);
                    out = p;
                }
                memcpy(out + len, s, l);
                len += l;
                out[len++] = '\n';
                n++;
            }
            free(s);
            json_decref(o);
        }
        fclose(f);
    }
    if (nn >= 0) free(names);
    *n_lines = n;
    *bytes = len;
    return out;
}

struct run {
    double wall, cpu;
    long maxrss_kb;
    int status;
};

/* Run argv with stdin from in_fd (or /dev/null), stdout to /dev/null. */
static struct run run(char *const argv[], int in_fd)
{
    struct run r = {0, 0, 0, -1};
    double t0 = now_s();
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(in_fd >= 0 ? in_fd : null, 0);
        dup2(null, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (in_fd >= 0) close(in_fd);
    struct rusage ru;
    int st;
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0) return r;
    r.wall = now_s() - t0;
    r.cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
            (double)ru.ru_stime.tv_usec / 1e6;
    r.maxrss_kb = ru.ru_maxrss;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

static struct run best_of(char *const argv[], int reps)
{
    struct run best = {0, 0, 0, -1};
    for (int i = 0; i < reps; i++) {
        struct run r = run(argv, -1);
        if (r.status != 0 && r.status != 1) return r;
        if (best.status < 0 || r.wall < best.wall) best = r;
    }
    return best;
}

static void faultline_path(char *out, size_t n)
{
    const char *env = getenv("FAULTLINE");
    if (env) {
        snprintf(out, n, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
    self[l > 0 ? l : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    if (strlen(self) + sizeof "/../faultline" <= n) {
        strcpy(out, self);
        strcat(out, "/../faultline");
    } else {
        snprintf(out, n, "faultline");
    }
}

static int bench_rss(unsigned long long lines, const char *fl)
{
    size_t n, bytes;
    char *ev = corpus_events(&n, &bytes);
    if (!ev || !n) return fprintf(stderr, "bench_eval: no corpus events under %s\n", FL_SOURCE_DIR), 1;
    int p[2];
    if (pipe(p) != 0) return 1;
    pid_t feeder = fork();
    if (feeder == 0) { /* write `lines` lines into the pipe, cycling the corpus */
        close(p[0]);
        signal(SIGPIPE, SIG_DFL);
        FILE *w = fdopen(p[1], "w");
        unsigned long long done = 0;
        while (done < lines) {
            const char *s = ev;
            while (s < ev + bytes && done < lines) {
                const char *e = memchr(s, '\n', (size_t)(ev + bytes - s));
                fwrite(s, 1, (size_t)(e - s + 1), w);
                s = e + 1;
                done++;
            }
        }
        fclose(w);
        _exit(0);
    }
    close(p[1]);
    char *argv[] = {(char *)fl, "eval", "--no-progress", "-", NULL};
    struct run r = run(argv, p[0]);
    waitpid(feeder, NULL, 0);
    printf("eval on a %llu-line stream through a pipe: peak RSS %.1f MB (target < 64 MB), %.1f s wall, %.1f s CPU, "
           "%.0f lines/s wall, exit %d\n",
           lines, (double)r.maxrss_kb / 1024.0, r.wall, r.cpu, (double)lines / r.wall, r.status);
    free(ev);
    return r.status == 0 ? 0 : 1;
}

static int bench_parse(unsigned long long lines)
{
    size_t n, bytes;
    char *ev = corpus_events(&n, &bytes);
    if (!ev || !n) return fprintf(stderr, "bench_eval: no corpus events under %s\n", FL_SOURCE_DIR), 1;
    fl_event_t *e;
    fl_event_new(&e);
    double best_fl = 1e30, best_j = 1e30;
    unsigned long long bad = 0, done = 0;
    for (int rep = 0; rep < 5; rep++) {
        for (int which = 0; which < 2; which++) {
            double t0 = now_s();
            done = 0;
            while (done < lines) {
                const char *s = ev;
                while (s < ev + bytes && done < lines) {
                    const char *nl = memchr(s, '\n', (size_t)(ev + bytes - s));
                    if (which == 0) {
                        fl_diag_t d;
                        if (fl_event_parse(e, s, (size_t)(nl - s), 0, &d) != FL_OK) bad++;
                    } else {
                        json_t *j = json_loadb(s, (size_t)(nl - s), 0, NULL);
                        if (!j) bad++;
                        json_decref(j);
                    }
                    s = nl + 1;
                    done++;
                }
            }
            double t = now_s() - t0;
            if (which == 0 && t < best_fl) best_fl = t;
            if (which == 1 && t < best_j) best_j = t;
        }
    }
    double mb = (double)bytes / (double)n * (double)lines / 1e6;
    printf("event reader on %llu corpus lines (%.1f MB), best of 5, 1 thread%s:\n", lines, mb,
           bad ? " -- SOME LINES FAILED" : "");
    printf("  fl_event_parse (event_fast)  %7.1f ns/line  %7.0f MB/s\n", best_fl * 1e9 / (double)lines, mb / best_fl);
    printf("  jansson json_loadb (tree)    %7.1f ns/line  %7.0f MB/s\n", best_j * 1e9 / (double)lines, mb / best_j);
    fl_event_free(e);
    free(ev);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    char fl[PATH_MAX];
    faultline_path(fl, sizeof fl);
    if (argc > 1 && strcmp(argv[1], "parse") == 0) return bench_parse(argc > 2 ? strtoull(argv[2], NULL, 10) : 200000ull);
    if (argc > 1 && strcmp(argv[1], "rss") == 0)
        return bench_rss(argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000ull, fl);
    unsigned long long lines = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000ull;
    int reps = argc > 2 ? atoi(argv[2]) : 3;
    if (lines == 0 || reps < 1) return fprintf(stderr, "usage: bench_eval [LINES] [REPS] | bench_eval rss [LINES]\n"), 2;
    size_t n, bytes;
    char *ev = corpus_events(&n, &bytes);
    if (!ev || !n) return fprintf(stderr, "bench_eval: no corpus events under %s\n", FL_SOURCE_DIR), 1;
    char dir[] = "/tmp/bench_eval.XXXXXX";
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/events.jsonl", dir);
    FILE *f = fopen(file, "w");
    if (!f) return perror(file), 1;
    unsigned long long done = 0;
    size_t total = 0;
    while (done < lines) {
        const char *s = ev;
        while (s < ev + bytes && done < lines) {
            const char *e = memchr(s, '\n', (size_t)(ev + bytes - s));
            fwrite(s, 1, (size_t)(e - s + 1), f);
            total += (size_t)(e - s + 1);
            s = e + 1;
            done++;
        }
    }
    fclose(f);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("file: %llu lines (%zu distinct corpus events cycled), %.1f MB; %ld cores; best of %d\n", lines, n,
           (double)total / 1e6, cores, reps);
    char *a_eval[] = {fl, "eval", "--no-progress", file, NULL};
    char *a_eval1[] = {fl, "eval", "--no-progress", "--threads", "1", file, NULL};
    char *a_jq[] = {"jq", "-c", ".", file, NULL};
    struct run re = best_of(a_eval, reps), r1 = best_of(a_eval1, reps), rj = best_of(a_jq, reps);
    if (re.status != 0 || r1.status != 0) {
        fprintf(stderr, "bench_eval: %s eval exited %d (set $FAULTLINE to the binary)\n", fl, re.status ? re.status : r1.status);
        unlink(file);
        rmdir(dir);
        free(ev);
        return 1;
    }
    if (rj.status != 0) printf("jq: not runnable (exit %d); install the Debian package jq\n", rj.status);
    printf("%-34s %8s %8s %12s %12s\n", "", "wall s", "CPU s", "lines/s wall", "lines/s CPU");
    struct {
        const char *name;
        struct run r;
    } rows[] = {{"faultline eval (default threads)", re}, {"faultline eval --threads 1", r1}, {"jq -c .", rj}};
    for (int i = 0; i < 3; i++)
        printf("%-34s %8.3f %8.3f %12.0f %12.0f\n", rows[i].name, rows[i].r.wall, rows[i].r.cpu,
               (double)lines / rows[i].r.wall, (double)lines / rows[i].r.cpu);
    if (rj.status == 0) {
        printf("eval vs jq, wall: %.2fx faster (target >= 4x); CPU: %.2fx less\n", rj.wall / re.wall, rj.cpu / re.cpu);
        printf("eval --threads 1 vs jq, wall: %.2fx; CPU: %.2fx\n", rj.wall / r1.wall, rj.cpu / r1.cpu);
    }
    printf("eval lines/s (wall, default threads): %.0f (target >= 1,000,000)\n", (double)lines / re.wall);
    unlink(file);
    rmdir(dir);
    free(ev);
    return 0;
}
