/*
 * watch.c -- hot reload triggers.  A watch owns a thread running a private
 * libuv loop with: fs-event handles on the policy directory and on its parent
 * (an atomic symlink swap replaces the entry in the parent, not the files in
 * the old target), a debounce timer so an editor's burst of writes becomes one
 * reload, a poll timer that compares the resolved path and a signature of
 * the *.lua files (sizes, times, names) to catch anything the kernel did not
 * report, an async handle for fl_watch_trigger and stop, and optionally a
 * SIGHUP handler.  Reloading is fl_engine_load: validate, then swap.
 *
 * What the watch compares is content, not events (issue 22):
 *  - the baseline is the id of the content the engine loaded from the
 *    directory (the directory is read once per attempt, and that read is
 *    what is hashed and built), so an edit made while a load was running is
 *    seen as a difference, including one made during the host's initial load
 *    (checked when the watch starts);
 *  - content that was refused is not built again until it changes (a
 *    refused edit costs one load, however many events follow it);
 *  - only events that name a *.lua file of the directory, or the
 *    directory's own entry in its parent, arm the debounce, and a pending
 *    debounce is not pushed back past poll_ms: a change is served within
 *    debounce_ms + poll_ms (plus the load itself) whatever else is written
 *    next to the policy;
 *  - the file signature the poll compares is taken before each read; while a
 *    file's mtime is within FL_RACY_MS of the time the signature was taken
 *    (a later write could keep size and mtime), the poll re-checks content.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>
#include <xxhash.h>

#include "core.h"
#include "engine_internal.h"

/* mtimes this recent (ms) do not prove that the content is unchanged. */
#define FL_RACY_MS 2000

struct fl_watch {
    fl_engine_t *engine;
    fl_watch_options_t opts;
    char *dir;
    char real[PATH_MAX]; /* resolved target being watched */
    char base[256];      /* the directory's name in its parent */
    uint64_t sig;        /* signature of the *.lua files, taken before the last read */
    int racy;            /* sig cannot vouch for the content (see FL_RACY_MS) */
    char loaded[17];     /* id of the content loaded from dir ("" unknown) */
    char refused[17];    /* id of the content last refused ("" none) */
    uint64_t pending_since; /* loop time the pending debounce was first armed */
    uv_loop_t loop;
    uv_fs_event_t ev_dir, ev_parent;
    uv_timer_t debounce, poll;
    uv_async_t async;
    uv_signal_t sighup;
    uv_thread_t thread;
    atomic_int stopping;
    atomic_int requested;
    atomic_ullong reloads;
};

/* XXH3 over the names, sizes and mtimes of the directory's *.lua files;
 * *racy set when one was modified within FL_RACY_MS of now. */
static uint64_t dir_signature(const char *dir, int *racy)
{
    *racy = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t h = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || de->d_name[0] == '.' || strcmp(de->d_name + l - 4, ".lua") != 0) continue; /* as the loader */
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) != 0) continue;
        struct { int64_t size, sec, nsec; } meta = {st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
        int64_t age_ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 + (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        if (age_ms < FL_RACY_MS) *racy = 1;
        /* Order-independent combination: readdir order is arbitrary. */
        h += XXH3_64bits_withSeed(&meta, sizeof meta, XXH3_64bits(de->d_name, l));
    }
    closedir(d);
    return h;
}

/* One reload attempt.  Unless forced (SIGHUP, fl_watch_trigger), content
 * equal to what is loaded or to what was refused is not built again, and
 * nothing is reported. */
static void do_reload(fl_watch_t *w, int forced)
{
    fl_diag_t diag;
    char id[17];
    int skipped = 0;
    const char *skip[2] = {w->loaded[0] ? w->loaded : NULL, w->refused[0] ? w->refused : NULL};
    w->sig = dir_signature(w->dir, &w->racy); /* before the read: a later write shows */
    int rc = fl_engine_load_dir_id(w->engine, w->dir, forced ? NULL : skip, id, &skipped, &diag);
    if (skipped) return;
    atomic_fetch_add(&w->reloads, 1);
    if (rc == FL_OK) {
        memcpy(w->loaded, id, sizeof id);
        w->refused[0] = '\0';
    } else if (id[0]) {
        memcpy(w->refused, id, sizeof id);
    }
    if (w->opts.on_reload) {
        fl_version_info_t vi;
        int has = fl_engine_current(w->engine, &vi) == FL_OK;
        w->opts.on_reload(w->opts.ud, rc, &diag, has ? &vi : NULL);
    }
}

static void on_debounce(uv_timer_t *t) { do_reload(t->data, 0); }

/* Arm the debounce, or re-arm it -- but a pending reload is never pushed
 * back more than poll_ms after it was first asked for. */
static void schedule(fl_watch_t *w)
{
    uint64_t now = uv_now(&w->loop);
    if (uv_is_active((uv_handle_t *)&w->debounce)) {
        if (now - w->pending_since >= w->opts.poll_ms) return;
    } else {
        w->pending_since = now;
    }
    uv_timer_start(&w->debounce, on_debounce, w->opts.debounce_ms, 0);
}

static int is_policy_file(const char *file)
{
    size_t l = strlen(file);
    return file[0] != '.' && l > 4 && strcmp(file + l - 4, ".lua") == 0;
}

static void on_fs(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)events;
    (void)status;
    /* Editor swap files, our own archives, anything not loaded: ignored. */
    if (file && !is_policy_file(file)) return;
    schedule(h->data);
}

static void arm_dir(fl_watch_t *w)
{
    char real[PATH_MAX];
    if (!realpath(w->dir, real)) return;
    if (strcmp(real, w->real) == 0 && uv_is_active((uv_handle_t *)&w->ev_dir)) return;
    snprintf(w->real, sizeof w->real, "%s", real);
    uv_fs_event_stop(&w->ev_dir);
    uv_fs_event_start(&w->ev_dir, on_fs, w->real, 0);
}

static void on_poll(uv_timer_t *t)
{
    fl_watch_t *w = t->data;
    char real[PATH_MAX];
    int moved = realpath(w->dir, real) && strcmp(real, w->real) != 0, racy;
    if (moved) arm_dir(w);
    if (moved || w->racy || dir_signature(w->dir, &racy) != w->sig) schedule(w);
}

static void on_parent(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)events;
    (void)status;
    fl_watch_t *w = h->data;
    /* Only the directory's own entry matters here: a log written next to
     * the policy must neither delay nor cause reloads. */
    if (file && strcmp(file, w->base) != 0) return;
    arm_dir(w); /* the entry may now point elsewhere */
    schedule(w);
}

static void on_async(uv_async_t *a)
{
    fl_watch_t *w = a->data;
    if (atomic_load(&w->stopping)) {
        uv_stop(&w->loop);
        return;
    }
    if (atomic_exchange(&w->requested, 0)) do_reload(w, 1);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    do_reload(s->data, 1);
}

static void run(void *arg)
{
    fl_watch_t *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

static int init_handles(fl_watch_t *w)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", w->dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    snprintf(w->base, sizeof w->base, "%s", slash ? slash + 1 : parent);
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == parent) parent[1] = '\0';
    else *slash = '\0';
    uv_handle_t *hs[] = {(uv_handle_t *)&w->ev_dir, (uv_handle_t *)&w->ev_parent, (uv_handle_t *)&w->debounce,
                         (uv_handle_t *)&w->poll, (uv_handle_t *)&w->async};
    if (uv_fs_event_init(&w->loop, &w->ev_dir) || uv_fs_event_init(&w->loop, &w->ev_parent) ||
        uv_timer_init(&w->loop, &w->debounce) || uv_timer_init(&w->loop, &w->poll) ||
        uv_async_init(&w->loop, &w->async, on_async))
        return FL_ENOMEM;
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) hs[i]->data = w;
    arm_dir(w);
    uv_fs_event_start(&w->ev_parent, on_parent, parent, 0);
    uv_timer_start(&w->poll, on_poll, w->opts.poll_ms, w->opts.poll_ms);
    if (w->loaded[0]) uv_timer_start(&w->debounce, on_debounce, 0, 0); /* the start check */
    if (w->opts.handle_sighup) {
        uv_signal_init(&w->loop, &w->sighup);
        w->sighup.data = w;
        uv_signal_start(&w->sighup, on_sighup, SIGHUP);
    }
    return FL_OK;
}

int fl_watch_start(fl_engine_t *e, const char *dir, const fl_watch_options_t *opts, fl_watch_t **out)
{
    if (!e || !dir || !out) return FL_EINVAL;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return FL_ENOENT;
    fl_watch_t *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return FL_ENOMEM;
    }
    w->engine = e;
    fl_engine_retain(e); /* released by fl_watch_stop: the engine outlives its watch */
    if (opts) w->opts = *opts;
    if (!w->opts.debounce_ms) w->opts.debounce_ms = 150;
    if (!w->opts.poll_ms) w->opts.poll_ms = 1000;
    w->sig = dir_signature(dir, &w->racy);
    /* The baseline is what the engine loaded from this directory.  The
     * first turn of the loop compares it with the directory's content now:
     * an edit made during the host's load is picked up, not lost. */
    fl_version_info_t vi;
    char a[PATH_MAX], b[PATH_MAX];
    int same_dir = fl_engine_current(e, &vi) == FL_OK && vi.source && realpath(vi.source, a) &&
                   realpath(dir, b) && strcmp(a, b) == 0;
    if (same_dir) snprintf(w->loaded, sizeof w->loaded, "%s", vi.id);
    if (uv_loop_init(&w->loop) != 0 || init_handles(w) != FL_OK || uv_thread_create(&w->thread, run, w) != 0) {
        fl_watch_stop(w);
        return FL_ENOMEM;
    }
    *out = w;
    return FL_OK;
}

int fl_watch_trigger(fl_watch_t *w)
{
    if (!w) return FL_EINVAL;
    atomic_store(&w->requested, 1);
    return uv_async_send(&w->async) == 0 ? FL_OK : FL_ESTATE;
}

uint64_t fl_watch_reloads(const fl_watch_t *w) { return w ? atomic_load(&((fl_watch_t *)w)->reloads) : 0; }

static void close_cb(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

void fl_watch_stop(fl_watch_t *w)
{
    if (!w) return;
    if (w->thread) {
        atomic_store(&w->stopping, 1);
        uv_async_send(&w->async);
        uv_thread_join(&w->thread);
    }
    uv_walk(&w->loop, close_cb, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    fl_engine_t *e = w->engine;
    free(w->dir);
    free(w);
    fl_engine_release(e);
}
