/*
 * alerts.c -- alert rules and notification delivery.
 *
 * Evaluation runs on the alerts sink's thread (declog.c: fl__sink_start):
 * for each decision, each matching rule adds the decision's time to its
 * group's window (a ring of the last `count` times); when the ring is full
 * and its oldest time is within window_ms the threshold is crossed, and the
 * group is notified unless it was less than min_interval_ms ago.  A
 * notification goes into a bounded queue; a delivery thread posts it with
 * libcurl (JSON webhook, Slack payload), each attempt admitted by the
 * engine's breaker "faultline.alerts" keyed by channel and retried with
 * exponential backoff and full jitter.  Every outcome can be recorded in
 * the registry's `notifications` table.
 */
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "deciding.h"
#include "engine_internal.h"

#define MAX_RULES 64
#define MAX_GROUPS 4096 /* per rule; beyond, the least recently used group is reused */

typedef struct grp {
    char key[129];
    int64_t *times; /* ring of the last `count` decision times */
    uint32_t head, n;
    int64_t last_fired_ms, last_used_ms;
} grp;

typedef struct rule {
    fl_alert_rule_t r; /* strings owned below */
    char *name, *category, *group_by, *webhook, *slack, *message, *smtp, *from, *to;
    grp *groups;
    uint32_t ngroups;
} rule;

typedef struct note_t {
    const rule *ru;
    char group[129], category[129], fingerprint[129], op[129], rulename[129], message[513];
    uint32_t count;
    int64_t fired_ms;
} note_t;

struct fl_alerts {
    fl_engine_t *e;
    rule rules[MAX_RULES];
    size_t nrules;
    uint32_t timeout_ms;
    note_t *q;
    uint32_t qcap, qhead, qlen;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t thr;
    fl_guard_t *guard;
    sqlite3 *db;
    fl_rng rng;
    _Atomic uint64_t fired, suppressed, delivered, failed, attempts, refused, dropped;
    int from_policy; /* started from the serving version's `alert` declarations */
};

static const char *const k_groups[] = {"fingerprint", "category", "op", "rule", NULL};

/* ---- evaluation (the sink's thread) ------------------------------------------------ */

static const char *group_key(const rule *ru, const fl_obs_view *v)
{
    if (!ru->group_by) return "";
    switch (ru->group_by[0]) {
    case 'f': return v->fingerprint;
    case 'c': return v->category;
    case 'o': return v->op;
    default: return v->rule;
    }
}

static int cat_matches(const char *want, const char *cat)
{
    if (!want) return 1;
    size_t n = strlen(want);
    return strncmp(cat, want, n) == 0 && (cat[n] == '\0' || cat[n] == '.');
}

static grp *find_group(rule *ru, const char *key, int64_t now)
{
    grp *lru = NULL;
    for (uint32_t i = 0; i < ru->ngroups; i++) {
        if (strcmp(ru->groups[i].key, key) == 0) return &ru->groups[i];
        if (!lru || ru->groups[i].last_used_ms < lru->last_used_ms) lru = &ru->groups[i];
    }
    grp *g;
    if (ru->ngroups < MAX_GROUPS) {
        g = &ru->groups[ru->ngroups];
        g->times = calloc(ru->r.count, sizeof *g->times);
        if (!g->times) return NULL;
        ru->ngroups++;
    } else {
        g = lru;
    }
    snprintf(g->key, sizeof g->key, "%s", key);
    g->head = g->n = 0;
    g->last_fired_ms = INT64_MIN / 2;
    g->last_used_ms = now;
    return g;
}

static void enqueue_note(struct fl_alerts *A, const rule *ru, const grp *g, const fl_obs_view *v)
{
    pthread_mutex_lock(&A->mu);
    if (A->qlen == A->qcap) {
        pthread_mutex_unlock(&A->mu);
        atomic_fetch_add(&A->dropped, 1);
        return;
    }
    note_t *n = &A->q[(A->qhead + A->qlen) % A->qcap];
    n->ru = ru;
    snprintf(n->group, sizeof n->group, "%s", g->key);
    snprintf(n->category, sizeof n->category, "%s", v->category);
    snprintf(n->fingerprint, sizeof n->fingerprint, "%s", v->fingerprint);
    snprintf(n->op, sizeof n->op, "%s", v->op);
    snprintf(n->rulename, sizeof n->rulename, "%s", v->rule);
    snprintf(n->message, sizeof n->message, "%s", v->message);
    n->count = g->n;
    n->fired_ms = fl_now_ms();
    A->qlen++;
    pthread_cond_signal(&A->cv);
    pthread_mutex_unlock(&A->mu);
}

static void consume(void *user, const fl_obs_view *v)
{
    struct fl_alerts *A = user;
    for (size_t i = 0; i < A->nrules; i++) {
        rule *ru = &A->rules[i];
        if (v->severity < ru->r.min_severity || !cat_matches(ru->category, v->category)) continue;
        grp *g = find_group(ru, group_key(ru, v), v->time_ms);
        if (!g) continue;
        g->last_used_ms = v->time_ms;
        uint32_t c = ru->r.count;
        g->times[g->head] = v->time_ms;
        g->head = (g->head + 1) % c;
        if (g->n < c) g->n++;
        if (g->n < c) continue;
        int64_t oldest = g->times[g->head]; /* the slot written next is the oldest */
        if (v->time_ms - oldest > (int64_t)ru->r.window_ms) continue;
        if (v->time_ms - g->last_fired_ms < (int64_t)ru->r.min_interval_ms) {
            atomic_fetch_add(&A->suppressed, 1);
            continue;
        }
        g->last_fired_ms = v->time_ms;
        atomic_fetch_add(&A->fired, 1);
        enqueue_note(A, ru, g, v);
    }
}

/* ---- delivery (its own thread) -------------------------------------------------------- */

static void jesc(fl_strbuf *sb, const char *s)
{
    fl_sb_putc(sb, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fl_sb_putc(sb, '\\');
            fl_sb_putc(sb, (char)c);
        } else if (c < 0x20) {
            fl_sb_printf(sb, "\\u%04x", c);
        } else {
            fl_sb_putc(sb, (char)c);
        }
    }
    fl_sb_putc(sb, '"');
}

static void render(const note_t *n, fl_strbuf *out)
{
    const char *t = n->ru->message ? n->ru->message : "{alert}: {count} errors in {window_s}s ({group})";
    while (*t) {
        const char *open = strchr(t, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            fl_sb_puts(out, t);
            break;
        }
        fl_sb_append(out, t, (size_t)(open - t));
        size_t k = (size_t)(close - open - 1);
        const char *name = open + 1;
#define IS(s) (k == strlen(s) && memcmp(name, s, k) == 0)
        if (IS("alert")) fl_sb_puts(out, n->ru->name);
        else if (IS("count")) fl_sb_printf(out, "%u", n->count);
        else if (IS("window_s")) fl_sb_printf(out, "%g", n->ru->r.window_ms / 1000.0);
        else if (IS("group")) fl_sb_puts(out, n->group[0] ? n->group : "all");
        else if (IS("category")) fl_sb_puts(out, n->category);
        else if (IS("fingerprint")) fl_sb_puts(out, n->fingerprint);
        else if (IS("op")) fl_sb_puts(out, n->op);
        else if (IS("rule")) fl_sb_puts(out, n->rulename);
        else if (IS("message")) fl_sb_puts(out, n->message);
        else fl_sb_append(out, open, (size_t)(close - open + 1)); /* unknown: kept as written */
#undef IS
        t = close + 1;
    }
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One POST; 1 when the channel answered 2xx. */
static int post(struct fl_alerts *A, const char *url, const char *body)
{
    CURL *c = curl_easy_init();
    if (!c) return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)A->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    int ok = curl_easy_perform(c) == CURLE_OK && curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
             code >= 200 && code < 300;
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return ok;
}

typedef struct upload {
    const char *p;
    size_t left;
} upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
    upload *u = ud;
    size_t k = size * n < u->left ? size * n : u->left;
    memcpy(buf, u->p, k);
    u->p += k;
    u->left -= k;
    return k;
}

/* One e-mail; 1 when the server accepted it. */
static int send_mail(struct fl_alerts *A, const rule *ru, const char *subject, const char *text)
{
    CURL *c = curl_easy_init();
    if (!c) return 0;
    fl_strbuf m = {0};
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    fl_sb_printf(&m, "Date: %s\r\nFrom: <%s>\r\nTo: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
                 date, ru->from, ru->to, subject);
    for (const char *p = text; *p; p++) { /* bare LF -> CRLF */
        if (*p == '\n') fl_sb_putc(&m, '\r');
        fl_sb_putc(&m, *p);
    }
    fl_sb_puts(&m, "\r\n");
    struct curl_slist *rcpt = NULL;
    char addr[256];
    for (const char *p = ru->to; *p;) {
        size_t k = strcspn(p, ",");
        while (k && (*p == ' ')) p++, k--;
        snprintf(addr, sizeof addr, "<%.*s>", (int)k, p);
        rcpt = curl_slist_append(rcpt, addr);
        p += k;
        if (*p == ',') p++;
    }
    char from[260];
    snprintf(from, sizeof from, "<%s>", ru->from);
    upload u = {fl_sb_cstr(&m), m.len};
    curl_easy_setopt(c, CURLOPT_URL, ru->smtp);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)A->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    int ok = curl_easy_perform(c) == CURLE_OK;
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    fl_sb_free(&m);
    return ok;
}

static void history(struct fl_alerts *A, const note_t *n, const char *channel, const char *status, const char *detail)
{
    if (!A->db) return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(A->db, "INSERT INTO notifications(time,alert,channel,status,detail) VALUES(?,?,?,?,?)", -1,
                           &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, fl_now_ms());
    sqlite3_bind_text(st, 2, n->ru->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, channel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_finalize(st);
}

static int stopping(struct fl_alerts *A)
{
    pthread_mutex_lock(&A->mu);
    int s = A->stop;
    pthread_mutex_unlock(&A->mu);
    return s;
}

/* Deliver body to url with retries, each attempt admitted by the breaker. */
static void deliver(struct fl_alerts *A, const note_t *n, const char *channel, const char *url, const char *body)
{
    int mail = strcmp(channel, "email") == 0;
    fl_recovery rec = {0};
    rec.backoff = FL_BO_EXPONENTIAL;
    rec.jitter = FL_JIT_FULL;
    rec.base_ms = 100;
    rec.factor = 2;
    rec.max_delay_ms = 2000;
    char detail[160] = "";
    for (int attempt = 1; attempt <= 4; attempt++) {
        fl_permit_t p;
        if (A->guard && fl_admit(A->guard, channel, &p) != FL_OK) {
            atomic_fetch_add(&A->refused, 1);
            snprintf(detail, sizeof detail, "refused: %s", p.reason ? p.reason : "breaker");
        } else {
            atomic_fetch_add(&A->attempts, 1);
            int ok = mail ? send_mail(A, n->ru, url, body) : post(A, url, body);
            if (A->guard) fl_complete(&p, ok ? NULL : "unavailable");
            if (ok) {
                atomic_fetch_add(&A->delivered, 1);
                snprintf(detail, sizeof detail, "attempt %d", attempt);
                history(A, n, channel, "delivered", detail);
                return;
            }
            snprintf(detail, sizeof detail, "attempt %d failed", attempt);
        }
        if (attempt == 4 || stopping(A)) break;
        int64_t ms = fl_backoff_delay(&rec, attempt, &A->rng);
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&A->failed, 1);
    history(A, n, channel, "failed", detail);
}

static void *delivery(void *arg)
{
    struct fl_alerts *A = arg;
    fl_strbuf msg = {0}, body = {0};
    for (;;) {
        pthread_mutex_lock(&A->mu);
        while (!A->qlen && !A->stop) pthread_cond_wait(&A->cv, &A->mu);
        if (!A->qlen && A->stop) {
            pthread_mutex_unlock(&A->mu);
            break;
        }
        note_t n = A->q[A->qhead];
        A->qhead = (A->qhead + 1) % A->qcap;
        A->qlen--;
        pthread_mutex_unlock(&A->mu);
        fl_sb_clear(&msg);
        render(&n, &msg);
        char ts[32];
        fl_rfc3339_format(n.fired_ms, ts);
        if (n.ru->webhook) {
            fl_sb_clear(&body);
            fl_sb_puts(&body, "{\"alert\":");
            jesc(&body, n.ru->name);
            fl_sb_puts(&body, ",\"group\":");
            jesc(&body, n.group);
            fl_sb_printf(&body, ",\"count\":%u,\"window_ms\":%u,\"fired_at\":\"%s\",\"category\":", n.count,
                         n.ru->r.window_ms, ts);
            jesc(&body, n.category);
            fl_sb_puts(&body, ",\"fingerprint\":");
            jesc(&body, n.fingerprint);
            fl_sb_puts(&body, ",\"op\":");
            jesc(&body, n.op);
            fl_sb_puts(&body, ",\"rule\":");
            jesc(&body, n.rulename);
            fl_sb_puts(&body, ",\"message\":");
            jesc(&body, fl_sb_cstr(&msg));
            fl_sb_putc(&body, '}');
            deliver(A, &n, "webhook", n.ru->webhook, fl_sb_cstr(&body));
        }
        if (n.ru->smtp) {
            fl_strbuf subj = {0};
            fl_sb_printf(&subj, "[faultline] %s: %u in %gs (%s)", n.ru->name, n.count, n.ru->r.window_ms / 1000.0,
                         n.group[0] ? n.group : "all");
            for (size_t i = 0; i < subj.len; i++) /* no header injection */
                if (subj.data[i] == '\r' || subj.data[i] == '\n') subj.data[i] = ' ';
            deliver(A, &n, "email", fl_sb_cstr(&subj), fl_sb_cstr(&msg));
            fl_sb_free(&subj);
        }
        if (n.ru->slack) {
            fl_sb_clear(&body);
            fl_sb_puts(&body, "{\"text\":");
            jesc(&body, fl_sb_cstr(&msg));
            fl_sb_putc(&body, '}');
            deliver(A, &n, "slack", n.ru->slack, fl_sb_cstr(&body));
        }
    }
    fl_sb_free(&msg);
    fl_sb_free(&body);
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

static void alerts_free(struct fl_alerts *A)
{
    if (!A) return;
    for (size_t i = 0; i < A->nrules; i++) {
        rule *ru = &A->rules[i];
        for (uint32_t g = 0; g < ru->ngroups; g++) free(ru->groups[g].times);
        free(ru->groups);
        free(ru->name);
        free(ru->category);
        free(ru->group_by);
        free(ru->webhook);
        free(ru->slack);
        free(ru->message);
        free(ru->smtp);
        free(ru->from);
        free(ru->to);
    }
    free(A->q);
    if (A->db) sqlite3_close(A->db);
    pthread_mutex_destroy(&A->mu);
    pthread_cond_destroy(&A->cv);
    free(A);
}

static char *dup0(const char *s) { return s ? strdup(s) : NULL; }

static int url_ok(const char *u) { return !u || strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0; }

static pthread_mutex_t g_amu = PTHREAD_MUTEX_INITIALIZER;

int fl_engine_alerts_start(fl_engine_t *e, const fl_alerts_options_t *o, fl_diag_t *diag)
{
    fl_diag_clear(diag);
    if (!e || !o || !o->rules) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "NULL engine, options or rules");
    if (o->nrules < 1 || o->nrules > MAX_RULES)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "%zu alert rules (1 to %d)", o->nrules, MAX_RULES);
    for (size_t i = 0; i < o->nrules; i++) {
        const fl_alert_rule_t *r = &o->rules[i];
        const char *nm = r->name && r->name[0] ? r->name : NULL;
        if (!nm) return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "alert rule %zu has no name", i + 1);
        if (!r->count || !r->window_ms || r->count > 100000)
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "alert \"%s\": count (1..100000) and window_ms are required", nm);
        if (!r->webhook_url && !r->slack_url && !r->smtp_url)
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "alert \"%s\": no channel (webhook_url, slack_url or smtp_url)",
                               nm);
        if (r->smtp_url && ((strncmp(r->smtp_url, "smtp://", 7) != 0 && strncmp(r->smtp_url, "smtps://", 8) != 0) ||
                            !r->mail_from || !r->mail_from[0] || !r->mail_to || !r->mail_to[0] ||
                            strpbrk(r->mail_from, "\r\n<>") || strpbrk(r->mail_to, "\r\n<>")))
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0,
                               "alert \"%s\": smtp_url must be smtp:// or smtps:// with mail_from and mail_to "
                               "(plain addresses)", nm);
        if (!url_ok(r->webhook_url) || !url_ok(r->slack_url))
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "alert \"%s\": a URL must start with http:// or https://", nm);
        int gb = !r->group_by;
        for (size_t k = 0; !gb && k_groups[k]; k++) gb = strcmp(r->group_by, k_groups[k]) == 0;
        if (!gb)
            return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0,
                               "alert \"%s\": group_by '%s' (fingerprint, category, op or rule)", nm, r->group_by);
    }
    struct fl_shared *sh = fl_engine_shared(e);
    pthread_mutex_lock(&g_amu);
    if (sh->alerts) {
        pthread_mutex_unlock(&g_amu);
        return fl_diag_set(diag, FL_ESTATE, NULL, 0, 0, "alerts are already started");
    }
    struct fl_alerts *A = calloc(1, sizeof *A);
    int rc = A ? FL_OK : fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    if (A) {
        pthread_mutex_init(&A->mu, NULL);
        pthread_cond_init(&A->cv, NULL);
        A->e = e;
        A->timeout_ms = o->timeout_ms ? o->timeout_ms : 5000;
        A->qcap = o->queue ? o->queue : 64;
        A->q = calloc(A->qcap, sizeof *A->q);
        fl_rng_seed(&A->rng, 0);
        if (!A->q) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; rc == FL_OK && i < o->nrules; i++) {
        rule *ru = &A->rules[A->nrules++];
        ru->r = o->rules[i];
        if (!ru->r.min_interval_ms) ru->r.min_interval_ms = 300000;
        ru->name = dup0(o->rules[i].name);
        ru->category = dup0(o->rules[i].category);
        ru->group_by = dup0(o->rules[i].group_by);
        ru->webhook = dup0(o->rules[i].webhook_url);
        ru->slack = dup0(o->rules[i].slack_url);
        ru->message = dup0(o->rules[i].message);
        ru->smtp = dup0(o->rules[i].smtp_url);
        ru->from = dup0(o->rules[i].mail_from);
        ru->to = dup0(o->rules[i].mail_to);
        ru->groups = calloc(MAX_GROUPS, sizeof *ru->groups);
        if (!ru->name || !ru->groups) rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (rc == FL_OK && o->history_db) {
        if (sqlite3_open_v2(o->history_db, &A->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
            sqlite3_busy_timeout(A->db, 5000) != SQLITE_OK ||
            sqlite3_exec(A->db,
                         "CREATE TABLE IF NOT EXISTS notifications(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
                         " alert TEXT, channel TEXT, status TEXT, detail TEXT)",
                         NULL, NULL, NULL) != SQLITE_OK)
            rc = fl_diag_set(diag, FL_EIO, NULL, 0, 0, "cannot open %s: %s", o->history_db,
                             A->db ? sqlite3_errmsg(A->db) : "out of memory");
    }
    if (rc == FL_OK) {
        fl_resil_t *r = fl_engine_resil(e);
        fl_breaker_config_t bc = {0};
        bc.min_calls = 4;
        bc.failure_rate = 0.5;
        bc.open_ms = 30000;
        const char *fails[] = {"unavailable", NULL};
        bc.failures = fails;
        fl_diag_t d2;
        fl_guard_spec_t gs = {0};
        gs.breaker = "faultline.alerts";
        if (!r || fl_breaker_declare(r, "faultline.alerts", &bc, &d2) != FL_OK ||
            fl_guard_new(r, &gs, &A->guard, &d2) != FL_OK)
            A->guard = NULL; /* deliveries then go without a breaker */
    }
    if (rc == FL_OK && pthread_create(&A->thr, NULL, delivery, A) != 0)
        rc = fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "cannot start the delivery thread");
    if (rc == FL_OK) {
        rc = fl__sink_start(e, 0, consume, NULL, A, diag);
        if (rc != FL_OK) {
            pthread_mutex_lock(&A->mu);
            A->stop = 1;
            pthread_cond_signal(&A->cv);
            pthread_mutex_unlock(&A->mu);
            pthread_join(A->thr, NULL);
        }
    }
    if (rc == FL_OK) sh->alerts = A;
    else alerts_free(A);
    pthread_mutex_unlock(&g_amu);
    return rc;
}

static int alerts_stop(fl_engine_t *e)
{
    struct fl_shared *sh = fl_engine_shared(e);
    pthread_mutex_lock(&g_amu);
    struct fl_alerts *A = sh->alerts;
    if (!A) {
        pthread_mutex_unlock(&g_amu);
        return FL_ESTATE;
    }
    fl__sink_stop(e); /* evaluation ends: nothing more is queued */
    pthread_mutex_lock(&A->mu);
    A->stop = 1;
    pthread_cond_signal(&A->cv);
    pthread_mutex_unlock(&A->mu);
    pthread_join(A->thr, NULL);
    sh->alerts = NULL;
    pthread_mutex_unlock(&g_amu);
    alerts_free(A); /* the guard belongs to the engine's registry */
    return FL_OK;
}

int fl_engine_alerts_stop(fl_engine_t *e) { return e ? alerts_stop(e) : FL_EINVAL; }

int fl_engine_alerts_stats(fl_engine_t *e, fl_alert_stats_t *out)
{
    if (!e || !out) return FL_EINVAL;
    memset(out, 0, sizeof *out);
    struct fl_alerts *A = fl_engine_shared(e)->alerts;
    if (!A) return FL_ESTATE;
    out->fired = atomic_load(&A->fired);
    out->suppressed = atomic_load(&A->suppressed);
    out->delivered = atomic_load(&A->delivered);
    out->failed = atomic_load(&A->failed);
    out->attempts = atomic_load(&A->attempts);
    out->refused = atomic_load(&A->refused);
    out->dropped = atomic_load(&A->dropped);
    return FL_OK;
}

void fl__alerts_apply(fl_engine_t *e, const fl_version *v)
{
    struct fl_shared *sh = fl_engine_shared(e);
    pthread_mutex_lock(&g_amu);
    struct fl_alerts *A = sh->alerts;
    int host_owned = A && !A->from_policy;
    pthread_mutex_unlock(&g_amu);
    if (host_owned) return; /* alerts the host started through the C API win */
    if (A) alerts_stop(e);
    if (!v || !v->nalerts) return;
    fl_alerts_options_t o = {0};
    o.rules = v->alerts;
    o.nrules = v->nalerts;
    fl_diag_t d;
    if (fl_engine_alerts_start(e, &o, &d) == FL_OK) {
        pthread_mutex_lock(&g_amu);
        if (sh->alerts) sh->alerts->from_policy = 1;
        pthread_mutex_unlock(&g_amu);
    }
}

void fl__alerts_destroy(fl_engine_t *e)
{
    if (fl_engine_shared(e)->alerts) alerts_stop(e);
}
