/*
 * test_lazy_jit.c -- patterns are JIT-compiled at first use, not at load
 * (fl_cond_re, core/version.c): a condition matches the same before and after
 * its JIT copy exists; a loaded version holds no JIT copy until a pattern is
 * asked for; several threads asking for the same fresh pattern at once all
 * get the one published copy (run under TSan: ctest -L threads).
 */
#include <pthread.h>

#include "flt.h"

#include "core.h"
#include "engine_internal.h"

static const char *const k_pattern = "(?<host>[a-z0-9.-]+):(?<port>[0-9]+) (?:connection )?refused";
static const struct {
    const char *subject;
    int match;
    const char *host;
} k_subjects[] = {
    {"connect db.internal:5432 connection refused", 1, "db.internal"},
    {"cache-1:6379 refused (retrying)", 1, "cache-1"},
    {"db.internal:5432 connection reset", 0, NULL},
    {"", 0, NULL},
    {"caf\xc3\xa9 web:80 refused", 1, "web"}, /* UTF-8 before the match */
    {"caf\xc3\xa9:80 refused", 0, NULL},      /* [a-z] is ASCII: no host before the colon */
};

static void make_cond(fl_cond *c)
{
    memset(c, 0, sizeof *c);
    c->kind = FL_CK_REGEX;
    int err;
    PCRE2_SIZE off;
    c->re = pcre2_compile((PCRE2_SPTR)k_pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off, NULL);
    assert_non_null(c->re);
}

/* Matches every subject with code, checking the result and the host capture. */
static int check_subjects(const pcre2_code *code)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    int bad = 0;
    for (size_t i = 0; i < sizeof k_subjects / sizeof *k_subjects; i++) {
        const char *s = k_subjects[i].subject;
        int rc = pcre2_match(code, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_NO_UTF_CHECK, md, NULL);
        if ((rc >= 0) != k_subjects[i].match) bad++;
        if (rc >= 0 && k_subjects[i].host) {
            PCRE2_UCHAR buf[64];
            PCRE2_SIZE len = sizeof buf;
            if (pcre2_substring_copy_byname(md, (PCRE2_SPTR) "host", buf, &len) != 0 ||
                strcmp((char *)buf, k_subjects[i].host) != 0)
                bad++;
        }
    }
    pcre2_match_data_free(md);
    return bad;
}

static int jit_available(void)
{
    uint32_t jit = 0;
    pcre2_config(PCRE2_CONFIG_JIT, &jit);
    return (int)jit;
}

static void test_same_matches_before_and_after_jit(void **s)
{
    (void)s;
    fl_cond c;
    make_cond(&c);
    assert_null(atomic_load(&c.jit)); /* nothing compiled yet */
    assert_int_equal(check_subjects(c.re), 0); /* the interpreter */
    const pcre2_code *j = fl_cond_re(&c);
    assert_non_null(j);
    assert_ptr_equal(atomic_load(&c.jit), j);
    if (jit_available()) {
        assert_ptr_not_equal(j, c.re);
        size_t jsize = 0;
        assert_int_equal(pcre2_pattern_info(j, PCRE2_INFO_JITSIZE, &jsize), 0);
        assert_true(jsize > 0);
    }
    assert_int_equal(check_subjects(j), 0);    /* the JIT copy */
    assert_int_equal(check_subjects(c.re), 0); /* the original still works */
    uint32_t n1 = 0, n2 = 0;
    pcre2_pattern_info(c.re, PCRE2_INFO_NAMECOUNT, &n1);
    pcre2_pattern_info(j, PCRE2_INFO_NAMECOUNT, &n2);
    assert_int_equal(n1, 2);
    assert_int_equal(n2, n1);
    assert_ptr_equal(fl_cond_re(&c), j); /* compiled once */
    fl_cond_free_re(&c);
    assert_null(c.re);
    assert_null(atomic_load(&c.jit));
}

/* A load compiles every pattern (a bad one is still reported at load) but
 * JIT-compiles none. */
static void test_load_compiles_without_jit(void **s)
{
    (void)s;
    fl_engine_t *e = flt_engine("rule \"refused\" { when = { message = re\"(?<host>[a-z]+) refused\" },"
                                " category = \"unavailable\" }\n"
                                "rule \"timeout\" { when = { message = re\"time(d)? ?out\" }, category = \"deadline_exceeded\" }\n");
    unsigned gen;
    fl_version *v = fl_shared_acquire(fl_engine_shared(e), &gen);
    assert_non_null(v);
    int regexes = 0;
    for (uint32_t i = 0; i < v->nrules; i++)
        for (uint32_t k = 0; k < v->rules[i].nconds; k++) {
            const fl_cond *c = &v->rules[i].conds[k];
            if (c->kind != FL_CK_REGEX) continue;
            regexes++;
            assert_non_null(c->re);
            assert_null(atomic_load(&c->jit));
            size_t jsize = 1;
            assert_int_equal(pcre2_pattern_info(c->re, PCRE2_INFO_JITSIZE, &jsize), 0);
            assert_int_equal(jsize, 0);
            assert_non_null(fl_cond_re(c)); /* freed with the version */
        }
    assert_int_equal(regexes, 2);
    fl_shared_release(fl_engine_shared(e), v);
    fl_engine_free(e);

    fl_engine_t *e2 = NULL;
    fl_engine_options_t o = {.seed = 42};
    assert_int_equal(fl_engine_new(&o, &e2), FL_OK);
    fl_diag_t d;
    const char *bad = "rule \"bad\" { when = { message = re\"(unclosed\" }, category = \"unavailable\" }\n";
    assert_int_equal(fl_engine_load_string(e2, "test.lua", bad, strlen(bad), &d), FL_EPOLICY_PATTERN);
    assert_non_null(strstr(d.message, "does not compile at offset"));
    assert_int_equal(d.line, 1);
    fl_engine_free(e2);
}

/* ---- several threads, one fresh pattern ------------------------------------ */

enum { NTHREADS = 6, ROUNDS = 40 };

struct race {
    pthread_barrier_t go;
    fl_cond *c;
    const pcre2_code *got[NTHREADS];
    int bad[NTHREADS];
};

struct arg {
    struct race *r;
    int i;
};

static void *racer(void *p)
{
    struct arg *a = p;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(&a->r->go); /* the main thread made a fresh cond */
        const pcre2_code *code = fl_cond_re(a->r->c);
        a->r->got[a->i] = code;
        a->r->bad[a->i] += check_subjects(code);
        pthread_barrier_wait(&a->r->go); /* the main thread checks and frees */
        pthread_barrier_wait(&a->r->go);
    }
    return NULL;
}

static void test_threads_share_one_copy(void **s)
{
    (void)s;
    struct race r = {0};
    pthread_barrier_init(&r.go, NULL, NTHREADS + 1);
    pthread_t t[NTHREADS];
    struct arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (struct arg){&r, i};
        assert_int_equal(pthread_create(&t[i], NULL, racer, &args[i]), 0);
    }
    for (int round = 0; round < ROUNDS; round++) {
        fl_cond c;
        make_cond(&c);
        r.c = &c;
        pthread_barrier_wait(&r.go);
        pthread_barrier_wait(&r.go);
        const pcre2_code *j = atomic_load(&c.jit);
        assert_non_null(j);
        for (int i = 0; i < NTHREADS; i++) assert_ptr_equal(r.got[i], j);
        if (jit_available()) assert_ptr_not_equal(j, c.re);
        fl_cond_free_re(&c);
        pthread_barrier_wait(&r.go);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r.bad[i], 0);
    }
    pthread_barrier_destroy(&r.go);
}

/* Threads deciding on one freshly loaded version: the same decisions as one
 * thread, whichever thread JIT-compiles a pattern first. */
struct dec {
    fl_engine_t *e;
    int bad;
};

static const char *const k_msgs[][2] = {
    {"db:5432 connection refused", "unavailable"},
    {"request timed out after 30s", "deadline_exceeded"},
    {"disk quota exceeded for user 1000", "resource_exhausted"},
    {"something else entirely", "unknown"},
};

static void *decider(void *p)
{
    struct dec *d = p;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *dec;
    if (fl_ctx_new(d->e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&dec) != FL_OK) {
        d->bad++;
        return NULL;
    }
    for (int i = 0; i < 200; i++) {
        size_t k = (size_t)i % (sizeof k_msgs / sizeof *k_msgs);
        fl_event_reset(ev);
        fl_event_set(ev, FL_FIELD_DOMAIN, "app", 3);
        fl_event_set(ev, FL_FIELD_MESSAGE, k_msgs[k][0], strlen(k_msgs[k][0]));
        fl_decide(ctx, ev, NULL, 0, dec);
        if (strcmp(fl_decision_category(dec), k_msgs[k][1]) != 0) d->bad++;
    }
    fl_decision_free(dec);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void test_threads_decide_on_fresh_version(void **s)
{
    (void)s;
    fl_engine_t *e = flt_engine("rule \"refused\" { when = { message = re\"(?<host>[a-z]+):\\\\d+ connection refused\" },"
                                " category = \"unavailable\" }\n"
                                "rule \"timeout\" { when = { message = re\"time(d)? ?out\" }, category = \"deadline_exceeded\" }\n"
                                "rule \"quota\" { when = { message = re\"(?i)QUOTA exceeded\" }, category = \"resource_exhausted\" }\n");
    enum { N = 4 };
    pthread_t t[N];
    struct dec d[N];
    for (int i = 0; i < N; i++) {
        d[i] = (struct dec){e, 0};
        assert_int_equal(pthread_create(&t[i], NULL, decider, &d[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(d[i].bad, 0);
    }
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_matches_before_and_after_jit),
        cmocka_unit_test(test_load_compiles_without_jit),
        cmocka_unit_test(test_threads_share_one_copy),
        cmocka_unit_test(test_threads_decide_on_fresh_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
