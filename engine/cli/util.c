/*
 * util.c -- helpers shared by the subcommands: where the stock pack is, and a
 * line reader that never buffers more than its limit however long a line is,
 * so a 10 MB line becomes one precise error record instead of a memory spike.
 */
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

void cli_reader_init(cli_reader *r, FILE *f, size_t max)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->max = max;
}

void cli_reader_free(cli_reader *r)
{
    free(r->buf);
    r->buf = NULL;
}

int cli_read_line(cli_reader *r)
{
    r->len = 0;
    r->overlong = 0;
    int c;
    for (;;) {
        c = getc_unlocked(r->f);
        if (c == EOF) break;
        if (c == '\n') break;
        if (r->overlong) {
            r->overlong++;
            continue;
        }
        if (r->len == r->max) { /* too long: count the rest, keep nothing */
            r->overlong = r->len + 1;
            r->len = 0;
            continue;
        }
        if (r->len + 1 >= r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            char *b = realloc(r->buf, cap);
            if (!b) return -1;
            r->buf = b;
            r->cap = cap;
        }
        r->buf[r->len++] = (char)c;
    }
    if (c == EOF && ferror(r->f)) return -1;
    if (c == EOF && r->len == 0 && !r->overlong) return 0;
    r->lineno++;
    if (r->buf) r->buf[r->len] = '\0';
    else if (!r->overlong) {
        r->buf = malloc(1);
        if (!r->buf) return -1;
        r->cap = 1;
        r->buf[0] = '\0';
    }
    return 1;
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
