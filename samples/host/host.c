/*
 * host.c -- the smallest useful program that embeds libfaultline.
 *
 * It does what a real host does, using only the public header:
 *
 *   1. create an engine and load a policy directory into it (once, at start);
 *   2. create a context for the thread that decides, and one reusable
 *      decision object;
 *   3. for each error the program meets: describe it as an event, ask the
 *      engine for a decision, act on it (here: print it);
 *   4. free everything, contexts before the engine.
 *
 * Usage:  host [POLICY_DIR]
 *
 * Without an argument it loads FL_SAMPLE_POLICY_DIR, which the build sets to
 * the installed stock pack (see CMakeLists.txt and Makefile next to this file).
 *
 * Output: for every event, lines of the form
 *     <label>: category=... severity=... retryable=... action=... delay_ms=... ...
 *     <label>: message=...
 *     <label>: json={...}
 * Exit status: 0 when every call succeeded, 1 otherwise.
 */
#include <faultline.h>

#include <stdio.h>
#include <string.h>

/* Accessors return NULL for absent fields; print those as "-". */
static const char *or_dash(const char *s)
{
    return s ? s : "-";
}

/*
 * Report a failed call.  Every fl_ function that can fail returns a status
 * (0 = FL_OK, negative = an FL_E* code); fl_strerror names it.  Functions that
 * take an fl_diag_t also fill it with a message and, when a policy file is at
 * fault, its file:line:col -- fl_diag_format renders that in the usual
 * compiler style.
 */
static void report(const char *what, int status, const fl_diag_t *diag)
{
    fprintf(stderr, "host: %s: %s\n", what, fl_strerror(status));
    if (diag != NULL && diag->message[0] != '\0') {
        char buf[1200];
        const char *text = fl_diag_format(diag, buf, sizeof buf);
        if (text != NULL)
            fprintf(stderr, "host:   %s\n", text);
    }
}

/* Print what the host would act on.  The strings belong to `d` and stay valid
 * until `d` is used for the next decision. */
static void print_decision(const char *label, fl_decision_t *d)
{
    printf("%s: category=%s severity=%s retryable=%s action=%s delay_ms=%lld"
           " attempts_left=%d rule=%s message_id=%s locale=%s\n",
           label, or_dash(fl_decision_category(d)),
           fl_severity_name(fl_decision_severity(d)),
           fl_decision_retryable(d) ? "true" : "false",
           fl_action_name(fl_decision_action(d)),
           (long long)fl_decision_delay_ms(d), fl_decision_attempts_left(d),
           or_dash(fl_decision_rule(d)), or_dash(fl_decision_message_id(d)),
           or_dash(fl_decision_locale(d)));
    printf("%s: message=%s\n", label, or_dash(fl_decision_message(d)));
    printf("%s: fingerprint=%s\n", label, or_dash(fl_decision_fingerprint(d)));
    if (fl_decision_fallback_json(d) != NULL)
        printf("%s: fallback=%s\n", label, fl_decision_fallback_json(d));
    if (fl_decision_error(d) != NULL) /* the policy failed; this is its safe decision */
        printf("%s: error=%s\n", label, fl_decision_error(d));

    /* The whole decision as one JSON line -- what `faultline eval` prints. */
    const char *json = fl_decision_to_json(d);
    printf("%s: json=%s\n", label, json != NULL ? json : "(out of memory)");
}

/*
 * Decide on `ev` and print the result.  Returns 0 on success.
 *
 * fl_decide always leaves a usable decision in `d`: on FL_EHANDLER or
 * FL_EBUDGET_* a policy handler failed and `d` holds the policy's safe
 * decision (with its error field set); a host acts on it all the same.
 */
static int decide_and_print(fl_ctx_t *ctx, const char *label, const fl_event_t *ev,
                            fl_decision_t *d)
{
    int rc = fl_decide(ctx, ev, NULL /* policy's default locale */, 0, d);
    if (rc != FL_OK)
        report(label, rc, NULL);
    print_decision(label, d);
    return rc == FL_OK ? 0 : 1;
}

/* Set a field or tag and remember the first failure (keeps the sample short). */
#define CHECK(call)                                  \
    do {                                             \
        int rc_ = (call);                            \
        if (rc_ != FL_OK) {                          \
            report(#call, rc_, NULL);                \
            failures++;                              \
        }                                            \
    } while (0)

int main(int argc, char **argv)
{
#ifdef FL_SAMPLE_POLICY_DIR
    const char *policy_dir = argc > 1 ? argv[1] : FL_SAMPLE_POLICY_DIR;
#else
    const char *policy_dir = argc > 1 ? argv[1] : NULL;
#endif
    fl_engine_t *engine = NULL;
    fl_ctx_t *ctx = NULL;
    fl_event_t *ev = NULL;
    fl_decision_t *d = NULL;
    fl_diag_t diag;
    int failures = 0;
    int rc;

    if (policy_dir == NULL) {
        fprintf(stderr, "usage: %s POLICY_DIR\n", argv[0]);
        return 2;
    }
    printf("libfaultline %s (header %s), policy directory %s\n", fl_libversion(),
           FL_VERSION_STRING, policy_dir);

    /* 1. One engine per policy set.  NULL options: the documented defaults
     *    (10 ms handler budget, 32 MiB per Lua state, ...). */
    rc = fl_engine_new(NULL, &engine);
    if (rc != FL_OK) {
        report("fl_engine_new", rc, NULL);
        return 1;
    }

    /* Load, compile and self-test the policy, then publish it.  On failure
     * nothing is published; diag says where (e.g. "10-http.lua:12:5: ..."). */
    memset(&diag, 0, sizeof diag);
    rc = fl_engine_load(engine, policy_dir, &diag);
    if (rc != FL_OK) {
        report("fl_engine_load", rc, &diag);
        fl_engine_free(engine);
        return 1;
    }
    fl_version_info_t info;
    if (fl_engine_current(engine, &info) == FL_OK)
        printf("policy %s %s (id %s), %u rules\n", or_dash(info.name),
               or_dash(info.version), or_dash(info.id), (unsigned)info.rules);

    /* 2. One context per deciding thread (this program has one thread), and a
     *    decision and an event that are reused for every call. */
    rc = fl_ctx_new(engine, &ctx);
    if (rc == FL_OK)
        rc = fl_decision_new(&d);
    if (rc == FL_OK)
        rc = fl_event_new(&ev);
    if (rc != FL_OK) {
        report("allocating the context, decision or event", rc, NULL);
        failures++;
        goto out;
    }

    /* 3a. An event built field by field: an HTTP 503 from a payment call. */
    CHECK(fl_event_set(ev, FL_FIELD_DOMAIN, "http", (size_t)-1));
    CHECK(fl_event_set(ev, FL_FIELD_CODE, "503", (size_t)-1));
    CHECK(fl_event_set(ev, FL_FIELD_MESSAGE, "503 Service Unavailable", (size_t)-1));
    CHECK(fl_event_set(ev, FL_FIELD_OP, "payments.charge", (size_t)-1));
    CHECK(fl_event_set_tag(ev, "service", "checkout"));
    CHECK(fl_event_set_tag(ev, "tenant", "acme"));
    failures += decide_and_print(ctx, "http-503", ev, d);

    /* 3b. The same event object, reset and reused: no domain, no code, only
     *     the message a database driver wrote -- the second attempt. */
    fl_event_reset(ev);
    CHECK(fl_event_set(ev, FL_FIELD_MESSAGE, "connect ECONNREFUSED 10.0.0.7:5432",
                       (size_t)-1));
    CHECK(fl_event_set(ev, FL_FIELD_OP, "orders.load", (size_t)-1));
    CHECK(fl_event_set_attempt(ev, 2));
    failures += decide_and_print(ctx, "refused", ev, d);

    /* 3c. An event that arrives as JSON (the format `faultline eval` reads),
     *     e.g. from a log pipeline.  fl_event_from_json resets `ev` first. */
    static const char rate_limited[] =
        "{\"domain\": \"http\", \"code\": 429, \"message\": \"429 Too Many Requests\","
        " \"op\": \"search.query\", \"tags\": {\"retry_after\": \"2\", \"tenant\": \"acme\"}}";
    memset(&diag, 0, sizeof diag);
    rc = fl_event_from_json(ev, rate_limited, sizeof rate_limited - 1, &diag);
    if (rc != FL_OK) {
        report("fl_event_from_json", rc, &diag);
        failures++;
    } else {
        failures += decide_and_print(ctx, "json-429", ev, d);
    }

    /* 3d. Something no rule knows about: the policy's default decision. */
    fl_event_reset(ev);
    CHECK(fl_event_set(ev, FL_FIELD_MESSAGE, "the flux capacitor is out of alignment",
                       (size_t)-1));
    failures += decide_and_print(ctx, "unmatched", ev, d);

    /* 3e. Bad input is an error status plus a diagnostic, never a crash.
     *     This one is expected to fail (truncated JSON). */
    static const char broken[] = "{\"message\": \"disk full\", ";
    memset(&diag, 0, sizeof diag);
    rc = fl_event_from_json(ev, broken, sizeof broken - 1, &diag);
    if (rc == FL_OK) {
        fprintf(stderr, "host: truncated JSON was accepted\n");
        failures++;
    } else {
        char buf[1200];
        printf("bad-json: rejected as expected: %s (%s)\n", fl_strerror(rc),
               or_dash(fl_diag_format(&diag, buf, sizeof buf)));
    }

out:
    /* 4. Free in reverse order: every context before its engine.  The free
     *    functions accept NULL, so this also cleans up after a failure. */
    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    fl_engine_free(engine);

    printf("%s\n", failures == 0 ? "host: ok" : "host: FAILED");
    return failures == 0 ? 0 : 1;
}
