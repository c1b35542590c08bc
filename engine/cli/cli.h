/*
 * cli.h -- shared pieces of the `faultline` command: exit codes, policy
 * directory resolution, the bounded line reader, and the subcommands.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdio.h>

#include "faultline.h"

/* Exit codes (documented in `faultline --help` and docs/cli.md). */
enum {
    FL_EXIT_OK = 0,
    FL_EXIT_BAD_INPUT = 1, /* some input lines were bad / check or tests failed */
    FL_EXIT_USAGE = 2,
    FL_EXIT_POLICY = 3,    /* the policy could not be loaded */
    FL_EXIT_IO = 4         /* an input file could not be read */
};

/* The policy directory: -p, $FAULTLINE_POLICY_DIR, the installed stock pack,
 * or the source tree's.  Never NULL. */
const char *cli_policy_dir(const char *given, const char *argv0);

/* Bounded line reader: lines longer than max are reported, not buffered.
 * It reads blocks with read(2) on the stream's descriptor -- a read returns
 * what a pipe holds, so a line is seen as soon as it is written (--watch) --
 * and finds newlines with memchr; a line is handed out in place (buf points
 * into the block, NUL-terminated where its newline was) and stays valid
 * until the next call.  The block holds at most about 2 x max bytes. */
typedef struct cli_reader {
    FILE *f;
    char *buf;       /* the line, NUL-terminated: "" when it was too long */
    size_t len, max;
    size_t lineno;
    size_t overlong; /* bytes of the last line when it was too long, else 0 */
    char *blk;       /* the block: [start, end) not handed out yet       */
    size_t cap, start, end;
    int fd, eof;
    char empty[1];   /* buf of an overlong line: "" owned by this reader */
} cli_reader;

/* Parse -p/--policy and -h/--help, leaving in *dir the policy directory to
 * use (see cli_policy_dir): 0 to go on, 1 after printing help, -1 on a usage
 * error (help printed to stderr). */
int cli_parse_dir_opt(int argc, char **argv, const char **dir, const char *help);

void cli_reader_init(cli_reader *r, FILE *f, size_t max);
/* 1 with a line in r->buf/len (no newline), 0 at EOF, -1 on read error. */
int cli_read_line(cli_reader *r);
void cli_reader_free(cli_reader *r);
/* 1 when the n bytes at s are only blanks (space, tab, CR): a skipped line. */
int cli_blank(const char *s, size_t n);

int cli_eval(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_test(int argc, char **argv);
int cli_versions(int argc, char **argv);
int cli_rollback(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_bundle(int argc, char **argv);
int cli_sign(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_breaker(int argc, char **argv);
int cli_errors(int argc, char **argv);
/* bundle.c: read a hex key of exactly n bytes; 0, or -1 with the reason on
 * stderr. */
int cli_read_key(const char *path, unsigned char *out, size_t n);
/* The public key from `given` or $FAULTLINE_TRUSTED_KEY: buf, or NULL when
 * neither is set; *err = 1 (reason on stderr) when the file is unusable. */
const unsigned char *cli_trusted_key(const char *given, unsigned char buf[FL_KEY_PUBLIC_BYTES], int *err);
int cli_triage(int argc, char **argv);
/* Archive version vi, kept by e, under dir/.versions/<id>: written from the
 * bytes e loaded (fl_engine_export, hash verified).  0, or -1 with a message
 * on stderr. */
int cli_archive_version(fl_engine_t *e, const char *dir, const fl_version_info_t *vi);

#endif
