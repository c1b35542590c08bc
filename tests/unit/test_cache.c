/*
 * test_cache.c -- the stale-cache fallback (issue 19, part 6): fl_cache_put,
 * `recovery = cache { key, max_stale_ms, otherwise }`, the decision's cached
 * value and age, the fall-through on a miss, bounds and bad input.
 */
#include <jansson.h>
#include <pthread.h>
#include <time.h>

#include "core.h" /* fl_decision_jobj: the writer against jansson */
#include "flt.h"

/* The JSON writer and the jansson tree agree on d. */
static void writer_agrees(fl_decision_t *d)
{
    json_t *o = fl_decision_jobj(d), *w = json_loads(fl_decision_to_json(d), 0, NULL);
    assert_non_null(o);
    assert_non_null(w);
    assert_true(json_equal(o, w));
    json_decref(o);
    json_decref(w);
}

static const char *const POLICY =
    "policy { name = 'cache', version = '1' }\n"
    "category 'unavailable' { severity = 'error', retryable = true }\n"
    "rule 'profile' { when = { code = 'ETIMEDOUT', op = 'profile' }, category = 'unavailable',\n"
    "  recovery = cache { key = '{op}:{tags.user}', max_stale_ms = 600000,\n"
    "                     otherwise = fallback({ status = 'default' }) } }\n"
    "rule 'fresh' { when = { code = 'ETIMEDOUT', op = 'fresh' }, category = 'unavailable',\n"
    "  recovery = fallback(cache { key = '{op}:{tags.user}', max_stale_ms = 5 }) }\n"
    "rule 'retry' { when = { code = 'ETIMEDOUT', op = 'retry' }, category = 'unavailable',\n"
    "  recovery = cache { key = 'r', otherwise = retry { max_attempts = 2, jitter = 'none' } } }\n";

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void hit_carries_value_key_and_age(void **st)
{
    flt t;
    fl_diag_t d;
    const char *js;
    (void)st;
    flt_open(&t, POLICY);
    assert_int_equal(fl_cache_put(t.e, "profile:u1", "{ \"name\" : \"Ada\", \"plan\": [1, 2] }", 60000, &d), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"u1\"}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FALLBACK);
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"name\":\"Ada\",\"plan\":[1,2]}");
    assert_string_equal(fl_decision_cache_key(t.d), "profile:u1");
    assert_true(fl_decision_cache_age_ms(t.d) >= 0 && fl_decision_cache_age_ms(t.d) < 60000);
    assert_null(fl_decision_reason(t.d));
    js = fl_decision_to_json(t.d);
    assert_non_null(strstr(js, "\"fallback\":{\"name\":\"Ada\",\"plan\":[1,2]},\"cache\":{\"key\":\"profile:u1\",\"age_ms\":"));
    writer_agrees(t.d);
    /* a later put replaces the value */
    assert_int_equal(fl_cache_put(t.e, "profile:u1", "\"v2\"", 60000, &d), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"u1\"}}"), FL_OK);
    assert_string_equal(fl_decision_fallback_json(t.d), "\"v2\"");
    flt_close(&t);
}

static void miss_falls_through_to_otherwise(void **st)
{
    flt t;
    fl_diag_t d;
    (void)st;
    flt_open(&t, POLICY);
    assert_int_equal(fl_cache_put(t.e, "profile:u1", "1", 60000, &d), FL_OK);
    /* another user: nothing cached, the declared alternative */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"u2\"}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FALLBACK);
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"status\":\"default\"}");
    assert_string_equal(fl_decision_reason(t.d), "cache_miss");
    assert_int_equal(fl_decision_cache_age_ms(t.d), -1);
    assert_null(fl_decision_cache_key(t.d));
    assert_null(strstr(fl_decision_to_json(t.d), "\"cache\":{"));
    writer_agrees(t.d);
    /* no alternative declared: fail */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"fresh\",\"tags\":{\"user\":\"u2\"}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_string_equal(fl_decision_reason(t.d), "cache_miss");
    assert_null(fl_decision_fallback_json(t.d));
    /* a retry alternative keeps its own rules */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"retry\",\"attempt\":1}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_RETRY);
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"retry\",\"attempt\":2}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_string_equal(fl_decision_reason(t.d), "attempts_exhausted");
    flt_close(&t);
}

static void too_stale_or_expired_is_a_miss(void **st)
{
    flt t;
    fl_diag_t d;
    (void)st;
    flt_open(&t, POLICY);
    assert_int_equal(fl_cache_put(t.e, "fresh:u1", "1", 60000, &d), FL_OK);
    assert_int_equal(fl_cache_put(t.e, "profile:u1", "2", 1, &d), FL_OK);
    sleep_ms(20);
    /* 20 ms old, max_stale_ms 5 */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"fresh\",\"tags\":{\"user\":\"u1\"}}"), FL_OK);
    assert_int_equal(fl_decision_action(t.d), FL_ACTION_FAIL);
    assert_string_equal(fl_decision_reason(t.d), "cache_miss");
    /* ttl 1 ms: gone */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"u1\"}}"), FL_OK);
    assert_string_equal(fl_decision_fallback_json(t.d), "{\"status\":\"default\"}");
    flt_close(&t);
}

static void reload_keeps_the_cache(void **st)
{
    flt t;
    fl_diag_t d;
    (void)st;
    flt_open(&t, POLICY);
    assert_int_equal(fl_cache_put(t.e, "profile:u1", "[true]", 60000, &d), FL_OK);
    assert_int_equal(fl_engine_load_string(t.e, "test.lua", POLICY, strlen(POLICY), &d), FL_OK);
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"u1\"}}"), FL_OK);
    assert_string_equal(fl_decision_fallback_json(t.d), "[true]");
    flt_close(&t);
}

static void the_store_is_bounded(void **st)
{
    flt t;
    fl_diag_t d;
    char key[32];
    (void)st;
    flt_open(&t, POLICY);
    assert_int_equal(fl_cache_put(t.e, "profile:first", "0", 60000, &d), FL_OK);
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(fl_cache_put(t.e, key, "1", 60000, &d), FL_OK);
    }
    /* 10,001 puts into 10,000 entries: the least recently used went */
    assert_int_equal(flt_decide(&t, "{\"code\":\"ETIMEDOUT\",\"op\":\"profile\",\"tags\":{\"user\":\"first\"}}"), FL_OK);
    assert_string_equal(fl_decision_reason(t.d), "cache_miss");
    flt_close(&t);
}

static void bad_input(void **st)
{
    flt t;
    fl_diag_t d;
    char big[600];
    (void)st;
    flt_open(&t, POLICY);
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(fl_cache_put(NULL, "k", "1", 1000, &d), FL_EINVAL);
    assert_int_equal(fl_cache_put(t.e, NULL, "1", 1000, &d), FL_EINVAL);
    assert_int_equal(fl_cache_put(t.e, "k", NULL, 1000, NULL), FL_EINVAL);
    assert_int_equal(fl_cache_put(t.e, "", "1", 1000, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "1..512 bytes"));
    assert_int_equal(fl_cache_put(t.e, big, "1", 1000, &d), FL_EINVAL);
    assert_int_equal(fl_cache_put(t.e, "k", "1", 0, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "ttl_ms"));
    assert_int_equal(fl_cache_put(t.e, "k", "1", 2592000001u, &d), FL_EINVAL);
    assert_int_equal(fl_cache_put(t.e, "k", "{\"a\":", 1000, &d), FL_EINVAL);
    assert_non_null(strstr(d.message, "not JSON"));
    flt_close(&t);
}

static void policy_errors(void **st)
{
    static const char *const bad[][2] = {
        {"recovery = cache { max_stale_ms = 5 }", "'key'"},
        {"recovery = cache { key = 'x', colour = 1 }", "colour"},
        {"recovery = cache { key = 'x', max_stale_ms = -1 }", "max_stale_ms"},
        {"recovery = cache { key = 'x', otherwise = cache { key = 'y' } }", "another cache"},
        {"recovery = cache { key = 'x', otherwise = 7 }", "recovery must be"},
        {"recovery = cache { key = '{tags.user' }", "key"},
        {"recovery = cache('x')", "cache: expected a table"},
    };
    (void)st;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char src[512];
        fl_diag_t d;
        snprintf(src, sizeof src,
                 "policy { name = 'p', version = '1' }\n"
                 "category 'unavailable' { severity = 'error' }\n"
                 "rule 'r' { when = { code = 'x' }, category = 'unavailable', %s }\n",
                 bad[i][0]);
        assert_int_not_equal(flt_load_status(src, &d), FL_OK);
        if (!strstr(d.message, bad[i][1])) print_error("case %zu: %s\n", i, d.message);
        assert_non_null(strstr(d.message, bad[i][1]));
    }
}

typedef struct {
    fl_engine_t *e;
    int id, bad;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    char key[32], val[32];
    if (fl_ctx_new(a->e, &ctx) != FL_OK || fl_event_new(&ev) != FL_OK || fl_decision_new(&d) != FL_OK) {
        a->bad = 1;
        return NULL;
    }
    fl_event_set(ev, FL_FIELD_CODE, "ETIMEDOUT", 9);
    fl_event_set(ev, FL_FIELD_OP, "profile", 7);
    fl_event_set_tag(ev, "user", "shared");
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "profile:%d", i % 50);
        snprintf(val, sizeof val, "[%d,%d]", a->id, i);
        if (fl_cache_put(a->e, i % 2 ? key : "profile:shared", val, 60000, NULL) != FL_OK) a->bad = 1;
        if (fl_decide(ctx, ev, NULL, 0, d) != FL_OK || fl_decision_action(d) != FL_ACTION_FALLBACK ||
            fl_decision_fallback_json(d)[0] != '[')
            a->bad = 1;
    }
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    return NULL;
}

static void threads_put_and_decide(void **st)
{
    fl_engine_t *e = flt_engine(POLICY);
    pthread_t th[4];
    worker_arg a[4];
    (void)st;
    assert_int_equal(fl_cache_put(e, "profile:shared", "[0,0]", 60000, NULL), FL_OK);
    for (int i = 0; i < 4; i++) {
        a[i] = (worker_arg){e, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(a[i].bad, 0);
    }
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_carries_value_key_and_age),
        cmocka_unit_test(miss_falls_through_to_otherwise),
        cmocka_unit_test(too_stale_or_expired_is_a_miss),
        cmocka_unit_test(reload_keeps_the_cache),
        cmocka_unit_test(the_store_is_bounded),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(policy_errors),
        cmocka_unit_test(threads_put_and_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
