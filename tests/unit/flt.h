/*
 * flt.h -- small helpers shared by the engine-core unit tests (cmocka).
 * Header-only; every test file that includes it gets its own static copies.
 */
#ifndef FLT_H
#define FLT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "faultline.h"

/* An engine with a fixed seed and the policy `src` loaded (asserts success). */
static inline fl_engine_t *flt_engine_opts(const char *src, const fl_engine_options_t *o)
{
    fl_engine_options_t opts = {0};
    if (o) opts = *o;
    if (!opts.seed) opts.seed = 42;
    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(&opts, &e), FL_OK);
    if (src) {
        fl_diag_t d;
        int rc = fl_engine_load_string(e, "test.lua", src, strlen(src), &d);
        if (rc != FL_OK) {
            char buf[1200];
            print_error("load failed: %s (%s)\n", fl_diag_format(&d, buf, sizeof buf), fl_strerror(rc));
        }
        assert_int_equal(rc, FL_OK);
    }
    return e;
}

static inline fl_engine_t *flt_engine(const char *src) { return flt_engine_opts(src, NULL); }

/* Load `src` into a fresh engine and return the status; diag filled. */
static inline int flt_load_status(const char *src, fl_diag_t *d)
{
    fl_engine_t *e = NULL;
    fl_engine_options_t o = {0};
    o.seed = 7;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    int rc = fl_engine_load_string(e, "p.lua", src, strlen(src), d);
    fl_engine_free(e);
    return rc;
}

/* A bundle for deciding: engine, ctx, event, decision. */
typedef struct flt {
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
} flt;

static inline void flt_open_opts(flt *t, const char *src, const fl_engine_options_t *o)
{
    t->e = flt_engine_opts(src, o);
    assert_int_equal(fl_ctx_new(t->e, &t->ctx), FL_OK);
    assert_int_equal(fl_event_new(&t->ev), FL_OK);
    assert_int_equal(fl_decision_new(&t->d), FL_OK);
}

static inline void flt_open(flt *t, const char *src) { flt_open_opts(t, src, NULL); }

static inline void flt_close(flt *t)
{
    fl_decision_free(t->d);
    fl_event_free(t->ev);
    fl_ctx_free(t->ctx);
    fl_engine_free(t->e);
    memset(t, 0, sizeof *t);
}

/* Parse `json` as the event and decide; returns fl_decide's status. */
static inline int flt_decide_loc(flt *t, const char *json, const char *locale, unsigned flags)
{
    fl_diag_t dg;
    int rc = fl_event_from_json(t->ev, json, strlen(json), &dg);
    if (rc != FL_OK) print_error("bad test event %s: %s\n", json, dg.message);
    assert_int_equal(rc, FL_OK);
    return fl_decide(t->ctx, t->ev, locale, flags, t->d);
}

static inline int flt_decide(flt *t, const char *json) { return flt_decide_loc(t, json, NULL, 0); }

/* Decide and return the rule name (asserts FL_OK). */
static inline const char *flt_rule(flt *t, const char *json)
{
    assert_int_equal(flt_decide(t, json), FL_OK);
    return fl_decision_rule(t->d);
}

/* Make a fresh temp directory; path written to buf. */
static inline void flt_tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/fltXXXXXX");
    assert_non_null(mkdtemp(buf));
}

static inline void flt_write(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* rm -r of a flat temp directory made by flt_tmpdir. */
static inline void flt_rmdir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#endif
