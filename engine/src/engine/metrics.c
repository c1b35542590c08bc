/*
 * metrics.c -- Prometheus text exposition (format 0.0.4) of an engine's
 * counters into a caller's buffer: decisions by category and action, the
 * decide duration histogram, policy failures by kind, reloads by result,
 * breaker states and the serving policy.  The counters live in
 * struct fl_obs (core.h), bumped by deciding/observe.c.  Every label set is
 * drawn from a fixed table (categories are cut to their top-level name and
 * mapped onto the 16 standard ones, "ok" or "other"), except breaker names
 * and the policy's id and version, which the policy declares -- one series
 * per declared breaker, never per key (docs/observability.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "engine_internal.h"
#include "resilience/resilience.h"

static const char *const k_actions[4] = {"retry", "fallback", "ignore", "fail"};
static const char *const k_reloads[FL_OBS_RELOAD_N_] = {"success", "unchanged", "failure"};

int fl_engine_metrics_enable(fl_engine_t *e, int on)
{
    if (!e) return FL_EINVAL;
    atomic_store_explicit(&fl_engine_shared(e)->obs.on, on != 0, memory_order_relaxed);
    return FL_OK;
}

void fl__metrics_reload(fl_engine_t *e, int result)
{
    if (e && result >= 0 && result < FL_OBS_RELOAD_N_)
        atomic_fetch_add_explicit(&fl_engine_shared(e)->obs.reloads[result], 1, memory_order_relaxed);
}

/* A buffer that remembers an allocation failure. */
typedef struct mbuf {
    fl_strbuf sb;
    int oom;
} mbuf;

static void PR(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void PR(mbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp || fl_sb_append(&b->sb, tmp, (size_t)n) != 0) b->oom = 1;
}

static void AP(mbuf *b, const char *s, size_t n)
{
    if (fl_sb_append(&b->sb, s, n) != 0) b->oom = 1;
}

static uint64_t ld(_Atomic uint64_t *p) { return atomic_load_explicit(p, memory_order_relaxed); }

/* A label value with \\, " and newline escaped (exposition format). */
static void put_label(mbuf *sb, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\') AP(sb, "\\\\", 2);
        else if (*s == '"') AP(sb, "\\\"", 2);
        else if (*s == '\n') AP(sb, "\\n", 2);
        else AP(sb, s, 1);
    }
}

static void head(mbuf *sb, const char *name, const char *type, const char *help)
{
    PR(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One series per declared breaker, at most FL_METRICS_BREAKERS of them (in
 * declaration order); the calls of any further ones are summed under
 * breaker="_other" and their state is not shown.  Never one per key. */
#define FL_METRICS_BREAKERS 64

static void put_breaker(mbuf *sb, const char *series, const char *name)
{
    PR(sb, "%s{breaker=\"", series);
    put_label(sb, name);
    AP(sb, "\",", 2);
}

static void render_breaker_state(mbuf *sb, fl_resil_t *r, fl_robj *const *b, uint32_t n)
{
    static const char *const kinds[3] = {"call", "failure", "slow"};
    head(sb, "faultline_breaker_state", "gauge",
         "Circuit breaker state of each declared breaker's default key (1 for the current state).");
    for (uint32_t i = 0; i < n; i++) {
        fl_breaker_stats_t bs;
        if (fl_breaker_stats(r, b[i]->name, NULL, &bs) != FL_OK) continue;
        for (int s = FL_BREAKER_CLOSED; s <= FL_BREAKER_DISABLED; s++) {
            put_breaker(sb, "faultline_breaker_state", b[i]->name);
            PR(sb, "state=\"%s\"} %d\n", fl_breaker_state_name((fl_breaker_state)s), (int)bs.state == s);
        }
    }
    head(sb, "faultline_breaker_window_calls", "gauge", "Calls and failures in the breaker's current window.");
    for (uint32_t i = 0; i < n; i++) {
        fl_breaker_stats_t bs;
        if (fl_breaker_stats(r, b[i]->name, NULL, &bs) != FL_OK) continue;
        uint64_t v[3] = {bs.calls, bs.failures, bs.slow_calls};
        for (int k = 0; k < 3; k++) {
            put_breaker(sb, "faultline_breaker_window_calls", b[i]->name);
            PR(sb, "kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)v[k]);
        }
    }
}

static void put_calls(mbuf *sb, const char *name, const uint64_t c[FL_BCALL_N_])
{
    static const char *const kinds[FL_BCALL_N_] = {"successful",      "failed",         "ignored", "not_permitted",
                                                   "slow_successful", "slow_failed"};
    for (int k = 0; k < FL_BCALL_N_; k++) {
        put_breaker(sb, "faultline_breaker_calls_total", name);
        PR(sb, "kind=\"%s\"} %llu\n", kinds[k], (unsigned long long)c[k]);
    }
}

static void render_breakers(fl_engine_t *e, mbuf *sb)
{
    fl_resil_t *r = fl_engine_resil(e);
    fl_objtab *t = r ? atomic_load_explicit(&r->objs, memory_order_acquire) : NULL;
    fl_robj *b[FL_METRICS_BREAKERS];
    uint32_t n = 0, more = 0;
    uint64_t other[FL_BCALL_N_] = {0}, c[FL_BCALL_N_];
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (t->obj[i]->kind != FL_RESIL_BREAKER) continue;
        if (n < FL_METRICS_BREAKERS) {
            b[n++] = t->obj[i];
            continue;
        }
        fl_breaker_calls(t->obj[i], c);
        for (int k = 0; k < FL_BCALL_N_; k++) other[k] += c[k];
        more++;
    }
    render_breaker_state(sb, r, b, n);
    head(sb, "faultline_breaker_calls_total", "counter",
         "Calls each breaker saw, by kind (slow_* are also counted in successful or failed).");
    for (uint32_t i = 0; i < n; i++) {
        fl_breaker_calls(b[i], c);
        put_calls(sb, b[i]->name, c);
    }
    if (more) put_calls(sb, "_other", other);
}

static void render_retries(fl_engine_t *e, mbuf *sb)
{
    static const char *const res[FL_RETRY_N_] = {"success", "exhausted", "budget", "breaker", "failed"};
    fl_resil_t *r = fl_engine_resil(e);
    head(sb, "faultline_retries_total", "counter",
         "Calls the executor or a pipeline retried or wanted to retry, by how the retrying ended.");
    for (int k = 0; k < FL_RETRY_N_; k++)
        PR(sb, "faultline_retries_total{result=\"%s\"} %llu\n", res[k],
           r ? (unsigned long long)atomic_load_explicit(&r->retries[k], memory_order_relaxed) : 0ull);
}

static int fl__metrics_render(fl_engine_t *e, mbuf *sb)
{
    struct fl_shared *sh = fl_engine_shared(e);
    struct fl_obs *o = &sh->obs;
    struct fl_obs_ctr sum; /* every context's counters, added up */
    fl_obs_sum(o, &sum);

    head(sb, "faultline_decisions_total", "counter", "Decisions by top-level category and action.");
    for (int c = 0; c < FL_OBS_NCAT; c++)
        for (int a = 0; a < 4; a++) {
            uint64_t n = ld(&sum.decisions[c][a]);
            if (n)
                PR(sb, "faultline_decisions_total{category=\"%s\",action=\"%s\"} %llu\n",
                             fl_obs_category_names[c], k_actions[a], (unsigned long long)n);
        }
    head(sb, "faultline_decisions_without_policy_total", "counter", "Decide calls made before any policy was loaded.");
    PR(sb, "faultline_decisions_without_policy_total %llu\n", (unsigned long long)ld(&sum.no_policy));

    head(sb, "faultline_decide_duration_seconds", "histogram", "Time fl_decide took, seconds.");
    uint64_t cum = 0;
    for (int b = 0; b < FL_OBS_NBUCKET; b++) {
        cum += ld(&sum.dur_bucket[b]);
        if (b < FL_OBS_NBUCKET - 1)
            PR(sb, "faultline_decide_duration_seconds_bucket{le=\"%g\"} %llu\n", (double)fl_obs_bucket_ns[b] / 1e9,
                         (unsigned long long)cum);
        else
            PR(sb, "faultline_decide_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    PR(sb, "faultline_decide_duration_seconds_sum %.9f\n", (double)ld(&sum.dur_sum_ns) / 1e9);
    PR(sb, "faultline_decide_duration_seconds_count %llu\n", (unsigned long long)cum);

    fl_engine_stats_t st;
    memset(&st, 0, sizeof st);
    fl_engine_stats(e, &st);
    head(sb, "faultline_handler_failures_total", "counter", "Policy failures by kind (each gave the safe decision).");
    for (int k = 0; k < FL_FAIL_KIND_COUNT_; k++)
        PR(sb, "faultline_handler_failures_total{kind=\"%s\"} %llu\n",
                     fl_failure_kind_name((fl_failure_kind)k), (unsigned long long)st.failures[k]);
    head(sb, "faultline_handler_states_reset_total", "counter", "Handler Lua states thrown away after a failure.");
    PR(sb, "faultline_handler_states_reset_total %llu\n", (unsigned long long)st.states_reset);

    head(sb, "faultline_policy_reloads_total", "counter", "Policy loads and reloads by result.");
    for (int r = 0; r < FL_OBS_RELOAD_N_; r++)
        PR(sb, "faultline_policy_reloads_total{result=\"%s\"} %llu\n", k_reloads[r],
                     (unsigned long long)ld(&o->reloads[r]));

    fl_version_info_t vi;
    head(sb, "faultline_policy_info", "gauge", "The policy version now serving (value 1).");
    if (fl_engine_current(e, &vi) == FL_OK) {
        PR(sb, "faultline_policy_info{id=\"");
        put_label(sb, vi.id);
        PR(sb, "\",name=\"");
        put_label(sb, vi.name);
        PR(sb, "\",version=\"");
        put_label(sb, vi.version);
        PR(sb, "\"} 1\n");
        head(sb, "faultline_policy_loaded_timestamp_seconds", "gauge", "When the serving version was loaded.");
        PR(sb, "faultline_policy_loaded_timestamp_seconds %.3f\n", (double)vi.loaded_at_ms / 1000.0);
    }

    render_breakers(e, sb);
    render_retries(e, sb);
    fl_log_stats_t ls, rs;
    fl_engine_log_stats(e, &ls);
    fl_engine_registry_stats(e, &rs);
    head(sb, "faultline_decision_log_records_total", "counter",
         "Decision-log records by outcome (dropped: the ring was full or a write failed).");
    PR(sb, "faultline_decision_log_records_total{result=\"written\"} %llu\n", (unsigned long long)ls.written);
    PR(sb, "faultline_decision_log_records_total{result=\"dropped\"} %llu\n", (unsigned long long)ls.dropped);
    PR(sb, "faultline_decision_log_records_total{result=\"sampled_out\"} %llu\n", (unsigned long long)ls.sampled_out);
    head(sb, "faultline_decision_log_rotations_total", "counter", "Decision-log files rotated.");
    PR(sb, "faultline_decision_log_rotations_total %llu\n", (unsigned long long)ls.rotations);
    head(sb, "faultline_registry_records_total", "counter", "Error-registry records by outcome.");
    PR(sb, "faultline_registry_records_total{result=\"written\"} %llu\n", (unsigned long long)rs.written);
    PR(sb, "faultline_registry_records_total{result=\"dropped\"} %llu\n", (unsigned long long)rs.dropped);
    return sb->oom ? FL_ENOMEM : FL_OK;
}

int fl_engine_metrics(fl_engine_t *e, char *buf, size_t cap, size_t *len)
{
    if (len) *len = 0;
    if (!e || (!buf && cap)) return FL_EINVAL;
    mbuf mb = {{0}, 0};
    int rc = fl__metrics_render(e, &mb);
    if (rc == FL_OK) {
        if (len) *len = mb.sb.len;
        if (mb.sb.len >= cap) {
            if (cap) buf[0] = '\0';
            rc = FL_ETOOBIG;
        } else {
            memcpy(buf, fl_sb_cstr(&mb.sb), mb.sb.len + 1);
        }
    }
    fl_sb_free(&mb.sb);
    return rc;
}
