/*
 * main.c -- the `faultline` command: dispatches to eval, check and test.
 */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli.h"
#include "serve.h"

static const char k_usage[] =
    "usage: faultline <command> [options]\n"
    "\n"
    "Commands:\n"
    "  eval   [-p DIR] [--locale L] [--explain] [--watch] [FILE...|-]\n"
    "         JSON Lines error events in, one JSON decision per line out, same order.\n"
    "         --watch: keep reading standard input and reload the policy when DIR\n"
    "         changes or on SIGHUP (the production loop in a terminal).\n"
    "  check  [-p DIR]\n"
    "         Validate a policy directory and run its examples.\n"
    "  test   [-p DIR] [FILE...]\n"
    "         Run policy test files (JSON Lines; default DIR/tests/*.jsonl).\n"
    "  versions [-p DIR]\n"
    "         List the policy versions archived by `eval --watch`.\n"
    "  rollback [-p DIR] ID\n"
    "         Put an archived version back in place (a watching process reloads it).\n"
    "  serve  [-p DIR] [--listen ADDR]... [--token-file F] [--watch] [--threads N]\n"
    "         The engine as a local HTTP service (docs/serve.md).\n"
    "  errors [--db F] [--since DUR] [--top N] [--by WHAT] [--json]\n"
    "         What the error registry holds: top fingerprints or counts by field.\n"
    "  diff   -p OLD -p NEW [--json] [--allow WHAT]... [FILE...|-]\n"
    "         Decide the same events with two versions; report what changes.\n"
    "  run    [-p DIR] [--op NAME] [--timeout S] [--explain] ... -- CMD [ARGS...]\n"
    "         Run a command under the policy: retry, fall back or fail as it decides.\n"
    "  bench  [-p DIR] [--threads N] [FILE]\n"
    "         Decisions/s of a policy on your events; the costliest rules.\n"
    "  bundle [-p DIR] -o FILE [-k KEY]   one-file policy bundle (tar + zstd, manifest)\n"
    "  keygen -o PREFIX                   Ed25519 key pair for signing bundles\n"
    "  sign   -k KEY PATH                 sign a bundle or a policy directory\n"
    "  verify [-k PUBKEY] PATH            check a bundle's files and signature\n"
    "  triage [-p DIR] [--top N] [--min-count N] [FILE...|-]\n"
    "         Group the events that end `unknown` or low-confidence by message\n"
    "         template and print a rule skeleton for each, largest group first.\n"
    "  breaker force NAME KEY STATE --fleet [--redis URL]\n"
    "         Force a fleet-scoped breaker key on every instance (through Redis).\n"
    "\n"
    "Options common to all commands:\n"
    "  -p, --policy DIR   policy directory (default: $FAULTLINE_POLICY_DIR, else the\n"
    "                     installed stock pack)\n"
    "  -h, --help         this help; `faultline COMMAND --help` for a command's options\n"
    "  --version          print the version\n"
    "\n"
    "Environment:\n"
    "  FAULTLINE_POLICY_DIR   default policy directory\n"
    "  FAULTLINE_TRUSTED_KEY  public key file: eval and check then load only policies\n"
    "                         signed by it (`faultline sign`)\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  some input lines were malformed (eval), the policy is invalid (check),\n"
    "     or some tests failed (test)\n"
    "  2  usage error\n"
    "  3  the policy could not be loaded\n"
    "  4  an input file could not be read\n";

/* A fixed mmap threshold for glibc's malloc.  By default the threshold
 * rises each time a large mmapped block is freed, so after the first reload
 * a version's big tables (matcher, automaton, Lua) land in the heap arenas,
 * interleaved with what stays, and each reload leaves holes that RSS keeps:
 * `bench_serve --soak 60 --rate 5000` (a reload a second) measured RSS
 * 159-201 MB (26 % spread) with the default, 156-163 MB (4.7 %) with a fixed
 * 128 KiB threshold.  Blocks that large are few (tables, buffers), so the
 * extra mmap calls cost nothing measurable.  Embedders that reload often
 * can do the same (docs/embedding.md); the library leaves the host's
 * allocator settings alone. */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv)
{
    tune_malloc();
    if (argc < 2) {
        fputs(k_usage, stderr);
        return FL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(k_usage, stdout);
        return FL_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("faultline %s\n", fl_libversion());
        return FL_EXIT_OK;
    }
    if (strcmp(cmd, "eval") == 0) return cli_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0) return cli_check(argc - 1, argv + 1);
    if (strcmp(cmd, "test") == 0) return cli_test(argc - 1, argv + 1);
    if (strcmp(cmd, "versions") == 0) return cli_versions(argc - 1, argv + 1);
    if (strcmp(cmd, "rollback") == 0) return cli_rollback(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0) return cli_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cli_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "bundle") == 0) return cli_bundle(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0) return cli_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "sign") == 0) return cli_sign(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0) return cli_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0) return cli_serve(argc - 1, argv + 1);
    if (strcmp(cmd, "triage") == 0) return cli_triage(argc - 1, argv + 1);
    if (strcmp(cmd, "breaker") == 0) return cli_breaker(argc - 1, argv + 1);
    if (strcmp(cmd, "errors") == 0) return cli_errors(argc - 1, argv + 1);
    fprintf(stderr, "faultline: unknown command '%s'\n\n%s", cmd, k_usage);
    return FL_EXIT_USAGE;
}
