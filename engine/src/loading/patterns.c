/*
 * patterns.c -- the rules' PCRE2 patterns are compiled on a second thread
 * while the loader goes on: the main thread reads the declarations and
 * builds the matcher's index (which reads a pattern's text, never its
 * code), the helper compiles what the loader queued, and the codes are
 * collected when the version is finished (fl_compile) or refused.  The
 * stock pack has thousands of patterns; compiling them was an eighth of its
 * load, now off the critical path on a machine with a core to spare.
 *
 * Diagnostics are the ones an immediate compile gave: the loader stops at
 * its first error, so every pattern queued was read before that error; the
 * first pattern (in declaration order) that does not compile is reported,
 * with its rule's file, line and key, in place of any later error.
 *
 * Jobs live in fixed chunks (they never move; the chunk table grows under
 * the mutex); the helper takes jobs under the mutex, and the main thread
 * takes what is left when it collects, then joins: the join publishes the
 * helper's results.  A job's target condition is only located at the end
 * of fl_load_sources (ld_patterns_locate): until then a rule's conditions
 * and the rule table itself may move.  Without a thread (pthread_create
 * failed) the main thread compiles everything when it collects.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader_internal.h"

enum { CHUNK = 256 };

struct pjob {
    const char *pattern; /* the condition's own copy: stable */
    char *key;           /* the condition key, for the diagnostic's column */
    uint32_t rule, cond; /* indices at queue time (the rule table moves)  */
    fl_cond *c;          /* located by ld_patterns_locate                 */
    const char *file, *name;
    int line;
    /* results, written by whichever thread compiled the job */
    pcre2_code *re;
    int err;
    PCRE2_SIZE off;
};

struct fl_pcomp {
    pthread_mutex_t mu;
    pthread_cond_t more;
    struct pjob **chunks;
    size_t nchunks, n, next; /* jobs queued, jobs taken */
    int closed, started;
    pthread_t tid;
};

static struct pjob *job_at(struct fl_pcomp *p, size_t i) { return &p->chunks[i / CHUNK][i % CHUNK]; }

static void compile_job(struct pjob *j)
{
    j->re = pcre2_compile((PCRE2_SPTR)j->pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &j->err, &j->off, NULL);
}

/* Take and compile jobs until none is left; the helper waits for more until
 * the queue is closed, the main thread (wait 0) does not.  Called and
 * returns with p->mu held. */
static void drain(struct fl_pcomp *p, int wait)
{
    for (;;) {
        while (wait && p->next == p->n && !p->closed) pthread_cond_wait(&p->more, &p->mu);
        if (p->next == p->n) return;
        struct pjob *j = job_at(p, p->next++);
        pthread_mutex_unlock(&p->mu);
        compile_job(j);
        pthread_mutex_lock(&p->mu);
    }
}

static void *helper_main(void *arg)
{
    struct fl_pcomp *p = arg;
    pthread_mutex_lock(&p->mu);
    drain(p, 1);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int ld_pattern_queue(struct ld *ld, const char *pattern, const char *key)
{
    fl_version *v = ld->v;
    struct fl_pcomp *p = v->pcomp;
    if (!p) {
        if (!(p = calloc(1, sizeof *p))) return FL_ENOMEM;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->more, NULL);
        v->pcomp = p;
        p->started = pthread_create(&p->tid, NULL, helper_main, p) == 0;
    }
    char *k = strdup(key);
    if (!k) return FL_ENOMEM;
    pthread_mutex_lock(&p->mu);
    if (p->n == p->nchunks * CHUNK) {
        struct pjob **t = realloc(p->chunks, (p->nchunks + 1) * sizeof *t);
        struct pjob *c = t ? calloc(CHUNK, sizeof *c) : NULL;
        if (t) p->chunks = t;
        if (!c) {
            pthread_mutex_unlock(&p->mu);
            free(k);
            return FL_ENOMEM;
        }
        p->chunks[p->nchunks++] = c;
    }
    struct pjob *j = job_at(p, p->n);
    j->pattern = pattern;
    j->key = k;
    j->rule = v->nrules - 1; /* the rule being read */
    j->cond = v->rules[j->rule].nconds - 1;
    p->n++;
    pthread_cond_signal(&p->more);
    pthread_mutex_unlock(&p->mu);
    return FL_OK;
}

void ld_patterns_locate(fl_version *v)
{
    struct fl_pcomp *p = v->pcomp;
    if (!p) return;
    pthread_mutex_lock(&p->mu); /* p->n and the chunk table */
    size_t n = p->n;
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < n; i++) { /* the fields the helper never reads */
        struct pjob *j = job_at(p, i);
        fl_rule *r = &v->rules[j->rule];
        j->c = &r->conds[j->cond];
        j->file = r->file;
        j->name = r->name;
        j->line = r->line;
    }
}

/* Every job compiled, the helper joined. */
static void finish_jobs(struct fl_pcomp *p)
{
    pthread_mutex_lock(&p->mu);
    p->closed = 1;
    pthread_cond_broadcast(&p->more);
    drain(p, 0);
    pthread_mutex_unlock(&p->mu);
    if (p->started) pthread_join(p->tid, NULL);
}

static void free_pcomp(struct fl_pcomp *p)
{
    for (size_t i = 0; i < p->n; i++) free(job_at(p, i)->key);
    for (size_t i = 0; i < p->nchunks; i++) free(p->chunks[i]);
    free(p->chunks);
    pthread_cond_destroy(&p->more);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int fl_patterns_collect(fl_version *v, fl_diag_t *diag, int rc)
{
    struct fl_pcomp *p = v->pcomp;
    if (!p) return rc;
    finish_jobs(p);
    int failed = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct pjob *j = job_at(p, i);
        if (!j->c) { /* never located (the load stopped first): nothing holds it */
            pcre2_code_free(j->re);
            j->re = NULL;
        } else {
            j->c->re = j->re;
            if (j->re) pcre2_pattern_info(j->re, PCRE2_INFO_NAMECOUNT, &j->c->ncaptures);
        }
        if (j->re || failed) continue;
        failed = 1;
        rc = FL_EPOLICY_PATTERN;
        if (!diag) continue;
        /* The diagnostic the loader gave when it compiled at once. */
        struct ld ld = {.v = v, .diag = diag, .line = j->line};
        snprintf(ld.src, sizeof ld.src, "%s", j->file ? j->file : "?");
        snprintf(ld.what, sizeof ld.what, "rule \"%s\"", j->name ? j->name : "");
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(j->err, msg, sizeof msg);
        ld_error(&ld, j->key, "'%s': pattern /%s/ does not compile at offset %zu: %s", j->key, j->pattern,
                 (size_t)j->off, (char *)msg);
        diag->status = FL_EPOLICY_PATTERN;
    }
    free_pcomp(p);
    v->pcomp = NULL;
    return rc;
}

void fl_patterns_abandon(fl_version *v)
{
    if (!v->pcomp) return;
    fl_patterns_collect(v, NULL, FL_OK);
}
