/*
 * test_bundle.c -- bundles and signatures: a bundle round-trips; an engine
 * with a trusted key loads only what that key signed (bundle or directory)
 * and keeps serving its version when a tampered, unsigned or foreign-signed
 * one is offered; bad arguments get precise errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "faultline.h"
#include "flt.h"

static const char k_policy[] =
    "policy { name = 'signed', version = '2.0' }\n"
    "rule 'refused' { when = { message = re[[refused]] }, category = 'unavailable' }\n"
    "example 'refused' { event = { message = 'connection refused' }, expect = { category = 'unavailable' } }\n";

struct fx {
    char dir[64], pol[128], bundle[160];
    unsigned char pk[FL_KEY_PUBLIC_BYTES], sk[FL_KEY_SECRET_BYTES];
    unsigned char pk2[FL_KEY_PUBLIC_BYTES], sk2[FL_KEY_SECRET_BYTES];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    flt_tmpdir(f->dir, sizeof f->dir);
    snprintf(f->pol, sizeof f->pol, "%s/pol", f->dir);
    assert_int_equal(mkdir(f->pol, 0755), 0);
    flt_write(f->dir, "pol/00-policy.lua", k_policy);
    snprintf(f->bundle, sizeof f->bundle, "%s/p.bundle", f->dir);
    assert_int_equal(fl_key_generate(f->pk, f->sk), FL_OK);
    assert_int_equal(fl_key_generate(f->pk2, f->sk2), FL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    flt_rmdir(f->dir);
    free(f);
    return 0;
}

static fl_engine_t *engine_with_key(const unsigned char *pk)
{
    fl_engine_options_t o = {.trusted_key = pk};
    fl_engine_t *e = NULL;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    return e;
}

static void test_bundle_roundtrip(void **state)
{
    struct fx *f = *state;
    fl_diag_t d;
    assert_int_equal(fl_bundle_create(f->pol, f->bundle, NULL, &d), FL_OK);
    assert_int_equal(fl_bundle_verify(f->bundle, NULL, &d), FL_OK);
    /* unsigned: verifying against a key fails and says why */
    assert_int_equal(fl_bundle_verify(f->bundle, f->pk, &d), FL_ESIGNATURE);
    assert_non_null(strstr(d.message, "not signed"));
    /* an engine without a key loads it like a directory, same content id */
    fl_engine_t *a = engine_with_key(NULL), *b = engine_with_key(NULL);
    assert_int_equal(fl_engine_load(a, f->bundle, &d), FL_OK);
    assert_int_equal(fl_engine_load(b, f->pol, &d), FL_OK);
    fl_version_info_t va, vb;
    assert_int_equal(fl_engine_current(a, &va), FL_OK);
    assert_int_equal(fl_engine_current(b, &vb), FL_OK);
    assert_string_equal(va.id, vb.id);
    assert_string_equal(va.version, "2.0");
    fl_engine_free(a);
    fl_engine_free(b);
}

static void test_trusted_key_refuses_what_it_did_not_sign(void **state)
{
    struct fx *f = *state;
    fl_diag_t d;
    fl_engine_t *e = engine_with_key(f->pk);
    /* unsigned directory and unsigned bundle */
    assert_int_equal(fl_engine_load(e, f->pol, &d), FL_ESIGNATURE);
    assert_int_equal(fl_bundle_create(f->pol, f->bundle, NULL, &d), FL_OK);
    assert_int_equal(fl_engine_load(e, f->bundle, &d), FL_ESIGNATURE);
    /* a string can never be signed */
    assert_int_equal(fl_engine_load_string(e, "x.lua", k_policy, strlen(k_policy), &d), FL_ESIGNATURE);
    /* signed by another key */
    assert_int_equal(fl_bundle_create(f->pol, f->bundle, f->sk2, &d), FL_OK);
    assert_int_equal(fl_engine_load(e, f->bundle, &d), FL_ESIGNATURE);
    assert_non_null(strstr(d.message, "does not match"));
    /* signed by the trusted key: loads */
    assert_int_equal(fl_bundle_sign(f->bundle, f->sk, &d), FL_OK);
    assert_int_equal(fl_bundle_verify(f->bundle, f->pk, &d), FL_OK);
    assert_int_equal(fl_engine_load(e, f->bundle, &d), FL_OK);
    fl_engine_free(e);
}

static void test_signed_directory_tampered_is_refused_and_old_version_serves(void **state)
{
    struct fx *f = *state;
    fl_diag_t d;
    assert_int_equal(fl_bundle_sign(f->pol, f->sk, &d), FL_OK);
    fl_engine_t *e = engine_with_key(f->pk);
    assert_int_equal(fl_engine_load(e, f->pol, &d), FL_OK);
    fl_version_info_t before;
    assert_int_equal(fl_engine_current(e, &before), FL_OK);
    char id[17];
    snprintf(id, sizeof id, "%s", before.id);
    /* one byte changed in one file */
    char tampered[sizeof k_policy];
    memcpy(tampered, k_policy, sizeof k_policy);
    char *p = strstr(tampered, "'2.0'");
    p[1] = '3';
    flt_write(f->dir, "pol/00-policy.lua", tampered);
    assert_int_equal(fl_engine_load(e, f->pol, &d), FL_ESIGNATURE);
    assert_non_null(strstr(d.message, "00-policy.lua"));
    /* an added file is refused too */
    flt_write(f->dir, "pol/00-policy.lua", k_policy);
    flt_write(f->dir, "pol/50-extra.lua", "rule 'x' { when = { message = 'x' }, category = 'internal' }\n");
    assert_int_equal(fl_engine_load(e, f->pol, &d), FL_ESIGNATURE);
    assert_non_null(strstr(d.message, "not listed"));
    /* the version that was serving still serves */
    fl_version_info_t now;
    assert_int_equal(fl_engine_current(e, &now), FL_OK);
    assert_string_equal(now.id, id);
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *dec;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&dec), FL_OK);
    fl_event_set(ev, FL_FIELD_MESSAGE, "connection refused", (size_t)-1);
    assert_int_equal(fl_decide(ctx, ev, NULL, 0, dec), FL_OK);
    assert_string_equal(fl_decision_category(dec), "unavailable");
    fl_decision_free(dec);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    fl_diag_t d;
    assert_int_equal(fl_key_generate(NULL, f->sk), FL_EINVAL);
    assert_int_equal(fl_bundle_create(NULL, f->bundle, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_bundle_create(f->pol, NULL, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_bundle_sign(f->bundle, NULL, &d), FL_EINVAL);
    assert_int_equal(fl_bundle_verify(NULL, NULL, &d), FL_EINVAL);
    /* a broken policy is never bundled */
    char bdir[128];
    snprintf(bdir, sizeof bdir, "%s/broken", f->dir);
    assert_int_equal(mkdir(bdir, 0755), 0);
    flt_write(f->dir, "broken/00.lua", "rule 'x' { when = { message = 'x' }, category = 'nonsense' }\n");
    char broken[128], out[160];
    snprintf(broken, sizeof broken, "%s/broken", f->dir);
    snprintf(out, sizeof out, "%s/broken.bundle", f->dir);
    assert_int_not_equal(fl_bundle_create(broken, out, NULL, &d), FL_OK);
    FILE *x = fopen(out, "r");
    assert_null(x);
    /* a file that is not a bundle */
    flt_write(f->dir, "junk.bundle", "definitely not a tar");
    snprintf(out, sizeof out, "%s/junk.bundle", f->dir);
    assert_int_not_equal(fl_bundle_verify(out, NULL, &d), FL_OK);
    fl_engine_t *e = engine_with_key(NULL);
    assert_int_equal(fl_engine_load(e, out, &d), FL_ENOENT);
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bundle_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trusted_key_refuses_what_it_did_not_sign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signed_directory_tampered_is_refused_and_old_version_serves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
