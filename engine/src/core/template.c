/*
 * template.c -- message templates.  A template is parsed once at load into
 * literal segments and placeholders ({op}, {tags.service|default}, named
 * pattern captures, ...), and rendered per decision without re-parsing.  The
 * event's raw message and stack are refused as placeholders on purpose: user
 * messages must not leak internals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const struct {
    const char *name;
    fl_ph kind;
} k_names[] = {
    {"op", FL_PH_OP},           {"domain", FL_PH_DOMAIN},   {"code", FL_PH_CODE},
    {"attempt", FL_PH_ATTEMPT}, {"attempts_left", FL_PH_ATTEMPTS_LEFT},
    {"delay_s", FL_PH_DELAY_S}, {"category", FL_PH_CATEGORY},
};

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int add_seg(fl_template *t, fl_ph kind, const char *text, size_t len, const char *dflt, size_t dlen)
{
    fl_tseg *s = realloc(t->segs, (t->nsegs + 1) * sizeof *s);
    if (!s) return -1;
    t->segs = s;
    s = &t->segs[t->nsegs];
    s->kind = kind;
    s->len = (uint32_t)len;
    s->text = dupn(text, len);
    s->dflt = dflt ? dupn(dflt, dlen) : NULL;
    if (!s->text || (dflt && !s->dflt)) return -1;
    t->nsegs++;
    return 0;
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Parse the inside of one {placeholder}. */
static int add_placeholder(fl_template *t, const char *s, size_t n, char *err, size_t errlen)
{
    const char *bar = memchr(s, '|', n);
    size_t nl = bar ? (size_t)(bar - s) : n;
    const char *dflt = bar ? bar + 1 : NULL;
    size_t dl = bar ? n - nl - 1 : 0;
    if (!valid_name(s, nl)) {
        snprintf(err, errlen, "'{%.*s}' is not a placeholder name", (int)(nl > 40 ? 40 : nl), s);
        return -1;
    }
    if ((nl == 7 && memcmp(s, "message", 7) == 0) || (nl == 5 && memcmp(s, "stack", 5) == 0)) {
        snprintf(err, errlen, "{%.*s} is not available to templates: user messages must not "
                 "repeat the raw error text", (int)nl, s);
        return -1;
    }
    for (size_t i = 0; i < sizeof k_names / sizeof *k_names; i++)
        if (strlen(k_names[i].name) == nl && memcmp(k_names[i].name, s, nl) == 0)
            return add_seg(t, k_names[i].kind, s, nl, dflt, dl);
    if (nl > 5 && memcmp(s, "tags.", 5) == 0) return add_seg(t, FL_PH_TAG, s + 5, nl - 5, dflt, dl);
    return add_seg(t, FL_PH_CAPTURE, s, nl, dflt, dl);
}

int fl_template_parse(fl_template *t, const char *id, const char *src, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->id = strdup(id);
    t->source = strdup(src);
    if (!t->id || !t->source) goto oom;
    t->id_len = (uint32_t)strlen(t->id);
    fl_strbuf lit = {0};
    const char *p = src;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (fl_sb_putc(&lit, p[0]) != 0) goto oom_lit;
            p += 2;
        } else if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) {
                snprintf(err, errlen, "unclosed '{' at offset %zu", (size_t)(p - src));
                goto fail;
            }
            if (lit.len && add_seg(t, FL_PH_TEXT, lit.data, lit.len, NULL, 0) != 0) goto oom_lit;
            fl_sb_clear(&lit);
            if (add_placeholder(t, p + 1, (size_t)(close - p - 1), err, errlen) != 0) goto fail;
            p = close + 1;
        } else if (*p == '}') {
            snprintf(err, errlen, "unmatched '}' at offset %zu (write '}}' for a brace)", (size_t)(p - src));
            goto fail;
        } else {
            if (fl_sb_putc(&lit, *p++) != 0) goto oom_lit;
        }
    }
    if (lit.len && add_seg(t, FL_PH_TEXT, lit.data, lit.len, NULL, 0) != 0) goto oom_lit;
    fl_sb_free(&lit);
    return 0;
oom_lit:
    fl_sb_free(&lit);
oom:
    snprintf(err, errlen, "out of memory");
    fl_template_free(t);
    return -1;
fail:
    fl_sb_free(&lit);
    fl_template_free(t);
    return -1;
}

void fl_template_free(fl_template *t)
{
    if (!t) return;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        free(t->segs[i].text);
        free(t->segs[i].dflt);
    }
    free(t->segs);
    free(t->id);
    free(t->source);
    memset(t, 0, sizeof *t);
}

/* The value of one placeholder, or NULL when missing. */
static const char *ph_value(const fl_tseg *s, const struct fl_render_env *env, char *buf, size_t n,
                            uint32_t *len)
{
    const fl_eview *ev = env->ev;
    int f = -1;
    switch (s->kind) {
    case FL_PH_OP: f = FL_FIELD_OP; break;
    case FL_PH_DOMAIN: f = FL_FIELD_DOMAIN; break;
    case FL_PH_CODE: f = FL_FIELD_CODE; break;
    case FL_PH_CATEGORY: *len = (uint32_t)strlen(env->category); return env->category;
    case FL_PH_ATTEMPT: *len = (uint32_t)snprintf(buf, n, "%d", ev->ev->attempt); return buf;
    case FL_PH_ATTEMPTS_LEFT:
        if (env->attempts_left < 0) return NULL;
        *len = (uint32_t)snprintf(buf, n, "%d", env->attempts_left);
        return buf;
    case FL_PH_DELAY_S:
        if (env->delay_ms < 0) return NULL;
        *len = (uint32_t)snprintf(buf, n, "%lld", (long long)((env->delay_ms + 999) / 1000));
        return buf;
    case FL_PH_TAG: return fl_eview_tag(ev, s->text, len);
    case FL_PH_CAPTURE:
        for (uint32_t i = 0; i < env->ncaps; i++)
            if (strcmp(env->caps[i].name, s->text) == 0 && env->caps[i].val) {
                *len = env->caps[i].len;
                return env->caps[i].val;
            }
        return NULL;
    case FL_PH_TEXT: break;
    }
    if (f < 0 || !ev->f[f]) return NULL;
    *len = ev->flen[f];
    return ev->f[f];
}

int fl_template_render(const fl_template *t, const struct fl_render_env *env, fl_strbuf *sb)
{
    if (!t) return 0;
    size_t room = env->limit;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const fl_tseg *s = &t->segs[i];
        const char *v;
        size_t len;
        char buf[32];
        if (s->kind == FL_PH_TEXT) {
            v = s->text;
            len = s->len;
        } else {
            uint32_t l = 0;
            v = ph_value(s, env, buf, sizeof buf, &l);
            len = l;
            if (!v || len == 0) {
                v = s->dflt ? s->dflt : "";
                len = strlen(v);
            }
        }
        if (len > room) { /* stop here: nothing past the limit is produced */
            if (fl_sb_append(sb, v, room) != 0) return -1;
            return 1;
        }
        if (fl_sb_append(sb, v, len) != 0) return -1;
        room -= len;
    }
    return 0;
}
