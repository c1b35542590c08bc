/*
 * bench_resource.c -- cost of the resource checks (bindings/resource.c):
 * cached (served from the TTL cache: target <= 100 ns), uncached
 * (FL_RESOURCE_FRESH: the system calls, mean and worst call), and cached
 * with two threads contending for the cache mutex.  Prints its figures.
 */
#include <faultline.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A clock that jumps 200 ms per reading: every check finds its cache stale
 * and its last CPU sample old enough, so no call waits for a CPU window. */
static uint64_t jumping_clock(void *ud)
{
    uint64_t *t = ud;
    return *t += 200000000u;
}

typedef struct sink {
    fl_memory_info_t m;
    fl_disk_info_t d;
    fl_cpu_info_t c;
    fl_fd_info_t f;
} sink;

static int check(fl_bindings_t *b, int which, unsigned flags, sink *s)
{
    switch (which) {
    case 0:
        return fl_resource_memory(b, flags, &s->m);
    case 1:
        return fl_resource_disk(b, "/tmp", flags, &s->d);
    case 2:
        return fl_resource_cpu(b, flags, &s->c);
    default:
        return fl_resource_fds(b, flags, &s->f);
    }
}

static const char *const names[] = {"memory", "disk", "cpu", "fds"};

static void run(fl_bindings_t *b, int which, unsigned flags, int n, const char *label)
{
    sink s;
    double worst = 0, t0 = now_ns();
    check(b, which, 0, &s); /* warm */
    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        double a = flags ? now_ns() : 0;
        if (check(b, which, flags, &s) != FL_OK) {
            printf("%-8s %-9s FAILED\n", names[which], label);
            return;
        }
        if (flags && now_ns() - a > worst)
            worst = now_ns() - a;
    }
    double per = (now_ns() - t0) / n;
    if (flags)
        printf("%-8s %-9s %9.0f ns/call  (worst %.1f us, %d calls)\n", names[which], label, per,
               worst / 1000, n);
    else
        printf("%-8s %-9s %9.1f ns/call  (%d calls)\n", names[which], label, per, n);
}

static void *contend(void *arg)
{
    sink s;
    for (int i = 0; i < 2000000; i++)
        check(arg, 0, 0, &s);
    return NULL;
}

int main(void)
{
    fl_bindings_t *b, *fresh;
    uint64_t t = 1;
    fl_bindings_options_t o = {.cache_ttl_ms = 60000};
    fl_bindings_options_t fo = {.clock_ns = jumping_clock, .clock_ud = &t};
    if (fl_bindings_new(&o, &b) != FL_OK || fl_bindings_new(&fo, &fresh) != FL_OK)
        return 1;
    printf("bench_resource: resource checks, cached (TTL hit) and uncached\n");
    for (int w = 0; w < 4; w++)
        run(b, w, 0, 5000000, "cached");
    for (int w = 0; w < 4; w++)
        run(fresh, w, FL_RESOURCE_FRESH, w == 2 ? 5000 : 20000, "uncached");
    pthread_t th[2];
    double t0 = now_ns();
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, contend, b);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("memory   cached x2 threads: %.1f ns/call per thread\n", (now_ns() - t0) / 2000000);
    printf("note: fl_resource_cpu without a sample 0.1-10 s old also waits cpu_window_ms "
           "(default 100 ms) once\n");
    fl_bindings_free(fresh);
    fl_bindings_free(b);
    return 0;
}
