/*
 * breaker.c -- `faultline breaker force NAME KEY STATE --fleet`: force a
 * fleet-scoped breaker key on every instance synchronised through the same
 * Redis and prefix (fl_fleet_force; docs/fleet.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char k_help[] =
    "usage: faultline breaker force NAME KEY STATE --fleet [--redis URL]\n"
    "                 [--prefix P] [--password-file FILE]\n"
    "\n"
    "Force the breaker NAME's key KEY (\"\" for the default key) on every\n"
    "instance of the fleet: each applies it within its sync_ms.\n"
    "STATE: open (refuse every call), disabled (admit every call) or closed\n"
    "(release the forced state).\n"
    "\n"
    "  --fleet               required: the state is written to Redis\n"
    "  --redis URL           redis://[[user]:password@]host[:port][/db]\n"
    "                        (default $FAULTLINE_REDIS)\n"
    "  --prefix P            the fleet's key prefix (default fl:)\n"
    "  --password-file FILE  Redis password, first line of FILE\n";

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "faultline breaker: %s\n\n", msg);
    fputs(k_help, stderr);
    return FL_EXIT_USAGE;
}

int cli_breaker(int argc, char **argv)
{
    const char *pos[4] = {NULL, NULL, NULL, NULL};
    int npos = 0, fleet = 0;
    fl_fleet_config_t cfg;
    fl_breaker_state st;
    fl_diag_t d;
    int rc;
    memset(&cfg, 0, sizeof cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(k_help, stdout);
            return FL_EXIT_OK;
        } else if (strcmp(a, "--fleet") == 0) {
            fleet = 1;
        } else if (strcmp(a, "--redis") == 0 || strcmp(a, "--prefix") == 0 ||
                   strcmp(a, "--password-file") == 0) {
            if (i + 1 >= argc)
                return usage("an option needs a value");
            if (a[2] == 'r')
                cfg.redis = argv[++i];
            else if (a[3] == 'r')
                cfg.prefix = argv[++i];
            else
                cfg.password_file = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "faultline breaker: unknown option '%s'\n\n", a);
            return usage(NULL);
        } else if (npos < 4) {
            pos[npos++] = a;
        } else {
            return usage("too many arguments");
        }
    }
    if (npos != 4 || strcmp(pos[0], "force") != 0)
        return usage("expected: force NAME KEY STATE");
    if (strcmp(pos[3], "open") == 0 || strcmp(pos[3], "forced_open") == 0)
        st = FL_BREAKER_FORCED_OPEN;
    else if (strcmp(pos[3], "disabled") == 0)
        st = FL_BREAKER_DISABLED;
    else if (strcmp(pos[3], "closed") == 0)
        st = FL_BREAKER_CLOSED;
    else
        return usage("STATE must be open, disabled or closed");
    if (!fleet)
        return usage("--fleet is required (this command changes the fleet's shared state; "
                     "a process's own breakers are forced through its API)");
    if (!cfg.redis)
        cfg.redis = getenv("FAULTLINE_REDIS");
    if (!cfg.redis || !cfg.redis[0])
        return usage("no Redis: give --redis URL or set FAULTLINE_REDIS");
    cfg.timeout_ms = 2000;
    rc = fl_fleet_force(&cfg, pos[1], pos[2], st, &d);
    if (rc == FL_EINVAL) {
        fprintf(stderr, "faultline breaker: %s\n", d.message);
        return FL_EXIT_USAGE;
    }
    if (rc != FL_OK) {
        fprintf(stderr, "faultline breaker: %s\n", d.message);
        return FL_EXIT_IO;
    }
    printf("breaker %s key \"%s\": %s fleet-wide\n", pos[1], pos[2], fl_breaker_state_name(st));
    return FL_EXIT_OK;
}
