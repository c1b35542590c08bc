/*
 * redisfix.h -- a real redis-server (Debian's) for fleet tests and benches:
 * started on an ephemeral port, in a temp dir, without persistence.
 * Header-only; static functions.
 */
#ifndef FL_REDISFIX_H
#define FL_REDISFIX_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct redisfix {
    pid_t pid;
    int port;
    char dir[256];
    char url[64];
} redisfix;

static int rf_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int port, s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0) {
        close(s);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* 1 if a PING on the fixture's port answers within 100 ms. */
static int rf_ping(const redisfix *rf)
{
    struct timeval tv = {0, 100000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", rf->port, tv);
    redisReply *r;
    int ok = 0;
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return 0;
    }
    redisSetTimeout(c, tv);
    r = redisCommand(c, "PING");
    ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Start (or restart, same port and dir) the server.  0 ok, -1 failed. */
static int rf_start(redisfix *rf)
{
    char port[16];
    pid_t pid;
    if (!rf->dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(rf->dir, sizeof rf->dir, "%s/fl-redis-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(rf->dir))
            return -1;
        rf->port = rf_free_port();
        if (rf->port <= 0)
            return -1;
        snprintf(rf->url, sizeof rf->url, "redis://127.0.0.1:%d/0", rf->port);
    }
    snprintf(port, sizeof port, "%d", rf->port);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", rf->dir, "--daemonize", "no",
               "--enable-debug-command", "local", (char *)NULL);
        /* redis before 7 has no enable-debug-command */
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", rf->dir, "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    rf->pid = pid;
    for (int i = 0; i < 500; i++) {
        struct timespec ts = {0, 10000000};
        int st;
        if (rf_ping(rf))
            return 0;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            rf->pid = 0;
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* Kill the server (SIGKILL) and reap it. */
static void rf_kill(redisfix *rf)
{
    if (rf->pid > 0) {
        kill(rf->pid, SIGCONT);
        kill(rf->pid, SIGKILL);
        waitpid(rf->pid, NULL, 0);
        rf->pid = 0;
    }
}

/* Kill and remove the temp dir. */
static void rf_stop(redisfix *rf)
{
    char cmd[300];
    rf_kill(rf);
    if (rf->dir[0] && strncmp(rf->dir, "/", 1) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", rf->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "redisfix: could not remove %s\n", rf->dir);
    }
    rf->dir[0] = 0;
}

#endif
