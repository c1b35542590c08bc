/*
 * resource.c -- resource checks: memory (system, process RSS, cgroup v2 with
 * a v1 fallback), disk space and inodes per path, load and CPU usage, file
 * descriptors.  Every reading is cached in the bindings object for
 * cache_ttl_ms under one mutex; a refresh happens with the mutex held, so a
 * storm of concurrent checks costs one set of system calls.
 */
#include "bindings.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define NO_LIMIT (UINT64_C(1) << 62)

int fl_rescache_init(fl_rescache *rc, uint64_t ttl_ns, uint64_t cpu_window_ns)
{
    memset(rc, 0, sizeof *rc);
    rc->ttl_ns = ttl_ns;
    rc->cpu_window_ns = cpu_window_ns;
    return pthread_mutex_init(&rc->mu, NULL) ? FL_ENOMEM : FL_OK;
}

void fl_rescache_fini(fl_rescache *rc)
{
    pthread_mutex_destroy(&rc->mu);
}

void fl_bindings_cache_clear(fl_bindings_t *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->cache.mu);
    b->cache.mem_at = b->cache.cpu_at = b->cache.fds_at = 0;
    for (int i = 0; i < FL_DISK_CACHE; i++)
        b->cache.disk[i].at_ns = 0;
    pthread_mutex_unlock(&b->cache.mu);
}

/* Read a small file into buf (NUL-terminated).  Returns length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = fl_io_read_full(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

/* Value of "Key:   123 kB" in /proc/meminfo text, in bytes. */
static uint64_t meminfo_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) * 1024u : 0;
}

static int read_u64_file(const char *path, uint64_t *v)
{
    char buf[64];
    if (slurp(path, buf, sizeof buf) <= 0)
        return -1;
    *v = strncmp(buf, "max", 3) == 0 ? NO_LIMIT : strtoull(buf, NULL, 10);
    return 0;
}

/* The cgroup path of this process for v2 ("0::/x") or v1 memory ("N:memory:/x"). */
static int own_cgroup(int v2, char *out, size_t cap)
{
    char buf[4096], *save = NULL;
    if (slurp("/proc/self/cgroup", buf, sizeof buf) < 0)
        return -1;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        int is_v2 = c1[1] == ':' && !strncmp(line, "0:", 2);
        int is_mem = !strncmp(c1 + 1, "memory:", 7);
        if ((v2 && is_v2) || (!v2 && is_mem)) {
            snprintf(out, cap, "%s", c2 + 1);
            return 0;
        }
    }
    return -1;
}

/* Try MOUNT/CG/FILE then MOUNT/FILE; 0 when both files exist. */
static int cg_try(fl_rescache *rc, const char *mnt, const char *cg, const char *lim,
                  const char *use)
{
    uint64_t v;
    for (int pass = 0; pass < 2; pass++) {
        const char *mid = pass == 0 ? cg : "";
        snprintf(rc->cg_limit, sizeof rc->cg_limit, "%s%s/%s", mnt, mid, lim);
        snprintf(rc->cg_usage, sizeof rc->cg_usage, "%s%s/%s", mnt, mid, use);
        if (read_u64_file(rc->cg_limit, &v) == 0 && read_u64_file(rc->cg_usage, &v) == 0)
            return 0;
    }
    return -1;
}

/* Find the memory controller files once (v2 first, then v1). */
static void cg_lookup(fl_rescache *rc)
{
    char line[1024], cg[400];
    FILE *f = fopen("/proc/self/mounts", "re");
    rc->cg_state = -1;
    if (!f)
        return;
    while (rc->cg_state < 0 && fgets(line, sizeof line, f)) {
        char dev[128], mnt[256], type[32], opts[512];
        if (sscanf(line, "%127s %255s %31s %511s", dev, mnt, type, opts) != 4)
            continue;
        if (!strcmp(type, "cgroup2") && own_cgroup(1, cg, sizeof cg) == 0 &&
            cg_try(rc, mnt, strcmp(cg, "/") ? cg : "", "memory.max", "memory.current") == 0)
            rc->cg_state = 1;
        else if (!strcmp(type, "cgroup") && strstr(opts, "memory") &&
                 own_cgroup(0, cg, sizeof cg) == 0 &&
                 cg_try(rc, mnt, strcmp(cg, "/") ? cg : "", "memory.limit_in_bytes",
                        "memory.usage_in_bytes") == 0)
            rc->cg_state = 1;
    }
    fclose(f);
}

static int read_memory(fl_rescache *rc, fl_memory_info_t *m)
{
    char buf[8192];
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long size = 0, resident = 0;

    memset(m, 0, sizeof *m);
    if (slurp("/proc/meminfo", buf, sizeof buf) <= 0)
        return FL_EIO;
    m->total_bytes = meminfo_field(buf, "MemTotal:");
    m->available_bytes = meminfo_field(buf, "MemAvailable:");
    if (m->total_bytes)
        m->available_pct = 100.0 * (double)m->available_bytes / (double)m->total_bytes;
    if (slurp("/proc/self/statm", buf, sizeof buf) > 0 &&
        sscanf(buf, "%llu %llu", &size, &resident) == 2)
        m->rss_bytes = (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
    if (rc->cg_state == 0)
        cg_lookup(rc);
    uint64_t lim, use;
    if (rc->cg_state > 0 && read_u64_file(rc->cg_limit, &lim) == 0 &&
        read_u64_file(rc->cg_usage, &use) == 0 && lim < NO_LIMIT) {
        m->in_cgroup = 1;
        m->cgroup_limit_bytes = lim;
        m->cgroup_usage_bytes = use;
        m->cgroup_used_pct = lim ? 100.0 * (double)use / (double)lim : 100.0;
    }
    return FL_OK;
}

/* The cache discipline every whole-system check shares: under the cache
 * mutex, re-read when asked to or when the entry is older than the TTL
 * (a failed read is not cached), then copy the entry out (zeroed on error). */
typedef int (*fl_read_fn)(fl_bindings_t *b, fl_rescache *c, uint64_t now, void *dst);

static int cached_check(fl_bindings_t *b, unsigned flags, uint64_t *at, void *entry, size_t size,
                        fl_read_fn read, void *out)
{
    uint64_t now = fl_bindings_now_ns(b);
    fl_rescache *c = &b->cache;
    int rc = FL_OK;
    pthread_mutex_lock(&c->mu);
    if ((flags & FL_RESOURCE_FRESH) || !*at || now - *at >= c->ttl_ns) {
        rc = read(b, c, now, entry);
        *at = rc ? 0 : now;
    }
    if (rc)
        memset(out, 0, size);
    else
        memcpy(out, entry, size);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

static int read_memory_fn(fl_bindings_t *b, fl_rescache *c, uint64_t now, void *dst)
{
    (void)b;
    (void)now;
    return read_memory(c, dst);
}

int fl_resource_memory(fl_bindings_t *b, unsigned flags, fl_memory_info_t *out)
{
    if (!b || !out)
        return FL_EINVAL;
    return cached_check(b, flags, &b->cache.mem_at, &b->cache.mem, sizeof *out, read_memory_fn, out);
}

/* ---- disk --------------------------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211u;
    return h;
}

static int read_disk(const char *path, fl_disk_info_t *d)
{
    struct statvfs sv;
    memset(d, 0, sizeof *d);
    if (statvfs(path, &sv) != 0)
        return errno == ENOENT || errno == ENOTDIR ? FL_ENOENT : FL_EIO;
    uint64_t fr = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    d->total_bytes = (uint64_t)sv.f_blocks * fr;
    d->free_bytes = (uint64_t)sv.f_bavail * fr;
    d->free_pct = d->total_bytes ? 100.0 * (double)d->free_bytes / (double)d->total_bytes : 0;
    d->total_inodes = sv.f_files;
    d->free_inodes = sv.f_favail;
    return FL_OK;
}

static fl_disk_slot *disk_slot(fl_rescache *c, const char *path, uint64_t h)
{
    for (int i = 0; i < FL_DISK_CACHE; i++)
        if (c->disk[i].at_ns && c->disk[i].hash == h && !strcmp(c->disk[i].path, path))
            return &c->disk[i];
    return NULL;
}

int fl_resource_disk(fl_bindings_t *b, const char *path, unsigned flags, fl_disk_info_t *out)
{
    if (!b || !path || !out)
        return FL_EINVAL;
    if (strlen(path) >= sizeof b->cache.disk[0].path) /* too long to cache */
        return read_disk(path, out);
    uint64_t now = fl_bindings_now_ns(b), h = fnv1a(path);
    fl_rescache *c = &b->cache;
    int rc = FL_OK;
    pthread_mutex_lock(&c->mu);
    fl_disk_slot *s = disk_slot(c, path, h);
    if (!s || (flags & FL_RESOURCE_FRESH) || now - s->at_ns >= c->ttl_ns) {
        if (!s) {
            s = &c->disk[c->disk_next++ % FL_DISK_CACHE];
            s->hash = h;
            strcpy(s->path, path);
        }
        rc = read_disk(path, &s->info);
        s->at_ns = rc ? 0 : now;
    }
    *out = s->info;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* ---- cpu ---------------------------------------------------------------- */

static int proc_stat(uint64_t *busy, uint64_t *total)
{
    char buf[512];
    unsigned long long v[8] = {0};
    if (slurp("/proc/stat", buf, sizeof buf) <= 0 ||
        sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) < 4)
        return FL_EIO;
    *total = 0;
    for (int i = 0; i < 8; i++)
        *total += v[i];
    *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    return FL_OK;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Usage since the previous /proc/stat sample when it is between one window
 * and 10 s old, otherwise over a fresh window (sleeping). */
static int read_cpu(fl_bindings_t *b, fl_rescache *c, uint64_t now, fl_cpu_info_t *o)
{
    double la[3] = {0, 0, 0};
    uint64_t busy, total;
    memset(o, 0, sizeof *o);
    if (getloadavg(la, 3) < 0)
        return FL_EIO;
    o->load1 = la[0], o->load5 = la[1], o->load15 = la[2];
    o->ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t age = now - c->cpu_prev_at;
    if (!c->cpu_prev_at || age < c->cpu_window_ns || age > UINT64_C(10000000000)) {
        if (proc_stat(&c->cpu_prev_busy, &c->cpu_prev_total))
            return FL_EIO;
        sleep_ns(c->cpu_window_ns);
        now = fl_bindings_now_ns(b);
    }
    if (proc_stat(&busy, &total))
        return FL_EIO;
    if (total > c->cpu_prev_total)
        o->usage_pct = 100.0 * (double)(busy - c->cpu_prev_busy) /
                       (double)(total - c->cpu_prev_total);
    c->cpu_prev_busy = busy, c->cpu_prev_total = total, c->cpu_prev_at = now;
    return FL_OK;
}

static int read_cpu_fn(fl_bindings_t *b, fl_rescache *c, uint64_t now, void *dst)
{
    return read_cpu(b, c, now, dst);
}

int fl_resource_cpu(fl_bindings_t *b, unsigned flags, fl_cpu_info_t *out)
{
    if (!b || !out)
        return FL_EINVAL;
    return cached_check(b, flags, &b->cache.cpu_at, &b->cache.cpu, sizeof *out, read_cpu_fn, out);
}

/* ---- file descriptors --------------------------------------------------- */

static int read_fds(fl_fd_info_t *o)
{
    struct rlimit rl;
    memset(o, 0, sizeof *o);
    DIR *d = opendir("/proc/self/fd");
    if (!d || getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        if (d)
            closedir(d);
        return FL_EIO;
    }
    struct dirent *e;
    uint64_t n = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    o->open = n ? n - 1 : 0; /* minus the directory stream itself */
    o->limit = rl.rlim_cur == RLIM_INFINITY ? NO_LIMIT : (uint64_t)rl.rlim_cur;
    o->used_pct = o->limit ? 100.0 * (double)o->open / (double)o->limit : 0;
    return FL_OK;
}

static int read_fds_fn(fl_bindings_t *b, fl_rescache *c, uint64_t now, void *dst)
{
    (void)b;
    (void)c;
    (void)now;
    return read_fds(dst);
}

int fl_resource_fds(fl_bindings_t *b, unsigned flags, fl_fd_info_t *out)
{
    if (!b || !out)
        return FL_EINVAL;
    return cached_check(b, flags, &b->cache.fds_at, &b->cache.fds, sizeof *out, read_fds_fn, out);
}
