/*
 * watch.c -- hot reload triggers.  A watch owns a thread running a private
 * libuv loop with: fs-event handles on the policy directory and on its parent
 * (an atomic symlink swap replaces the entry in the parent, not the files in
 * the old target), a debounce timer so an editor's burst of writes becomes one
 * reload, a poll timer that compares the resolved path and a signature of
 * the *.lua files (sizes, times, names) to catch anything the kernel did not
 * report, an async handle for fl_watch_trigger and stop, and optionally a
 * SIGHUP handler.  Reloading is fl_engine_load: validate, then swap.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>
#include <xxhash.h>

#include "core.h"
#include "engine_internal.h"

struct fl_watch {
    fl_engine_t *engine;
    fl_watch_options_t opts;
    char *dir;
    char real[PATH_MAX]; /* resolved target being watched */
    uint64_t sig;        /* signature of the *.lua files */
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

/* XXH3 over the names, sizes and mtimes of the directory's *.lua files. */
static uint64_t dir_signature(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    uint64_t h = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".lua") != 0) continue;
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) != 0) continue;
        struct { int64_t size, sec, nsec; } meta = {st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
        /* Order-independent combination: readdir order is arbitrary. */
        h += XXH3_64bits_withSeed(&meta, sizeof meta, XXH3_64bits(de->d_name, l));
    }
    closedir(d);
    return h;
}

static void do_reload(fl_watch_t *w)
{
    fl_diag_t diag;
    int rc = fl_engine_load(w->engine, w->dir, &diag);
    atomic_fetch_add(&w->reloads, 1);
    w->sig = dir_signature(w->dir);
    if (w->opts.on_reload) {
        fl_version_info_t vi;
        int has = fl_engine_current(w->engine, &vi) == FL_OK;
        w->opts.on_reload(w->opts.ud, rc, &diag, has ? &vi : NULL);
    }
}

static void on_debounce(uv_timer_t *t) { do_reload(t->data); }

static void schedule(fl_watch_t *w) { uv_timer_start(&w->debounce, on_debounce, w->opts.debounce_ms, 0); }

static void on_fs(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)events;
    (void)status;
    if (file && file[0] == '.') return; /* editor swap files, our own archives */
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
    int moved = realpath(w->dir, real) && strcmp(real, w->real) != 0;
    if (moved) arm_dir(w);
    if (moved || dir_signature(w->dir) != w->sig) schedule(w);
}

static void on_parent(uv_fs_event_t *h, const char *file, int events, int status)
{
    (void)file;
    (void)events;
    (void)status;
    fl_watch_t *w = h->data;
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
    if (atomic_exchange(&w->requested, 0)) do_reload(w);
}

static void on_sighup(uv_signal_t *s, int signum)
{
    (void)signum;
    do_reload(s->data);
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
    w->sig = dir_signature(dir);
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
