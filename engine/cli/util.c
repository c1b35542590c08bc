/*
 * util.c -- helpers shared by the subcommands: where the stock pack is, and a
 * line reader that never buffers more than its limit however long a line is,
 * so a 10 MB line becomes one precise error record instead of a memory spike.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *cli_policy_dir(const char *given, const char *argv0)
{
    static char rel[4096]; /* process-lifetime, written once */
    if (given) return given;
    const char *env = getenv("FAULTLINE_POLICY_DIR");
    if (env && *env) return env;
    /* Next to the binary first: an installed tree under any prefix. */
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(rel, sizeof rel, "%s/../share/faultline/policies", exe);
            if (is_dir(rel)) return rel;
        }
    }
    (void)argv0;
    if (is_dir(FL_POLICY_INSTALL_DIR)) return FL_POLICY_INSTALL_DIR;
    return FL_POLICY_SOURCE_DIR;
}

enum { READ_BLOCK = 64 * 1024 };

void cli_reader_init(cli_reader *r, FILE *f, size_t max)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->max = max;
    r->fd = fileno(f); /* -1 (a memory stream): read through stdio */
}

void cli_reader_free(cli_reader *r)
{
    free(r->blk);
    r->blk = NULL;
    r->buf = NULL;
}

/* The next bytes into the block after what is pending, which moves to the
 * front; the block doubles when the pending part fills it (it is at most
 * max bytes: more would be an overlong line, discarded).  0, or -1 on error. */
static int fill(cli_reader *r)
{
    size_t pending = r->end - r->start;
    if (r->start) {
        memmove(r->blk, r->blk + r->start, pending);
        r->start = 0;
        r->end = pending;
    }
    if (r->cap - r->end < READ_BLOCK / 4) {
        size_t cap = r->cap ? r->cap * 2 : READ_BLOCK;
        char *b = realloc(r->blk, cap + 1); /* + 1: room for the NUL of a last line */
        if (!b) return -1;
        r->blk = b;
        r->cap = cap;
    }
    for (;;) {
        ssize_t n = r->fd >= 0 ? read(r->fd, r->blk + r->end, r->cap - r->end)
                               : (ssize_t)fread(r->blk + r->end, 1, r->cap - r->end, r->f);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || (n == 0 && r->fd < 0 && ferror(r->f))) return -1;
        if (n == 0) r->eof = 1;
        r->end += (size_t)n;
        return 0;
    }
}

int cli_read_line(cli_reader *r)
{
    r->len = 0;
    r->overlong = 0;
    size_t scan = r->start; /* where the search for the newline goes on */
    for (;;) {
        char *nl = r->end > scan ? memchr(r->blk + scan, '\n', r->end - scan) : NULL;
        size_t stop = nl ? (size_t)(nl - r->blk) : r->end, n = stop - r->start;
        if (r->overlong || n > r->max) { /* too long: count the rest, keep nothing */
            r->overlong += n;
            r->start = stop;
        }
        if (nl || (r->eof && (r->overlong || n))) { /* a line, or the last one without a newline */
            r->lineno++;
            if (r->overlong) {
                r->empty[0] = '\0';
                r->buf = r->empty;
            } else {
                r->buf = r->blk + r->start;
                r->len = n;
                r->buf[n] = '\0'; /* where the newline was, or the block's spare byte */
            }
            r->start = nl ? stop + 1 : stop;
            return 1;
        }
        if (r->eof) return 0;
        if (r->overlong) r->start = r->end = 0; /* nothing of it is kept */
        scan = r->end - r->start;
        if (fill(r) != 0) return -1;
    }
}

int cli_parse_dir_opt(int argc, char **argv, const char **dir, const char *help)
{
    static const struct option longs[] = {{"policy", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "p:h", longs, NULL)) != -1) {
        if (c == 'p') *dir = optarg;
        else if (c == 'h') return fputs(help, stdout), 1;
        else return fputs(help, stderr), -1;
    }
    *dir = cli_policy_dir(*dir, argv[0]);
    return 0;
}

int cli_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}
