/*
 * impact.c -- what changes between two decisions of the same event, counted
 * by (old rule -> new rule, what changed) with a few example events.  One
 * module so that `faultline diff` (two versions, offline) and shadow
 * evaluation (a candidate beside the live version) count the same way and
 * report the same shape.  Not thread-safe: each user serialises its calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "impact.h"

static const char *const k_fields[FL_IMPACT_NFIELDS] = {"category", "action", "retryable", "delay", "message_id",
                                                        "rule"};

const char *fl__impact_field_name(int k) { return k >= 0 && k < FL_IMPACT_NFIELDS ? k_fields[k] : "?"; }

/* Cut at n - 1 bytes like snprintf, without its formatting machinery: the
 * live path of a shadow calls this three times per event (snprintf made it
 * ~250 ns of a ~1,200 ns event). */
static void put(char *dst, size_t n, const char *s)
{
    size_t len = s ? strnlen(s, n - 1) : 0;
    memcpy(dst, s ? s : "", len);
    dst[len] = '\0';
}

void fl__impact_summarize(const fl_decision_t *d, struct fl_impact_summary *s)
{
    put(s->rule, sizeof s->rule, fl_decision_rule(d));
    put(s->category, sizeof s->category, fl_decision_category(d));
    put(s->message_id, sizeof s->message_id, fl_decision_message_id(d));
    s->action = fl_decision_action(d);
    s->retryable = fl_decision_retryable(d);
    s->delay_ms = fl_decision_delay_ms(d);
}

unsigned fl__impact_compare(const struct fl_impact_summary *a, const struct fl_impact_summary *b)
{
    unsigned ch = 0;
    if (strcmp(a->category, b->category) != 0) ch |= FL_IMPACT_CATEGORY;
    if (a->action != b->action) ch |= FL_IMPACT_ACTION;
    if (a->retryable != b->retryable) ch |= FL_IMPACT_RETRYABLE;
    if (a->delay_ms != b->delay_ms) ch |= FL_IMPACT_DELAY;
    if (strcmp(a->message_id, b->message_id) != 0) ch |= FL_IMPACT_MESSAGE;
    if (strcmp(a->rule, b->rule) != 0) ch |= FL_IMPACT_RULE;
    return ch;
}

static struct fl_impact_group *find(struct fl_impact *im, const struct fl_impact_summary *a,
                                    const struct fl_impact_summary *b, unsigned ch)
{
    for (size_t i = 0; i < im->ngroups; i++) {
        struct fl_impact_group *g = &im->groups[i];
        if (g->changes == ch && !strcmp(g->old.rule, a->rule) && !strcmp(g->new.rule, b->rule)) return g;
    }
    if (im->ngroups == im->cap) {
        size_t nc = im->cap ? im->cap * 2 : 16;
        struct fl_impact_group *ng = realloc(im->groups, nc * sizeof *ng);
        if (!ng) return NULL;
        im->groups = ng;
        im->cap = nc;
    }
    struct fl_impact_group *g = &im->groups[im->ngroups++];
    memset(g, 0, sizeof *g);
    g->old = *a;
    g->new = *b;
    g->changes = ch;
    g->old_dmin = g->new_dmin = INT64_MAX;
    g->old_dmax = g->new_dmax = INT64_MIN;
    g->examples = json_array();
    return g;
}

static void widen(int64_t *lo, int64_t *hi, int64_t v)
{
    if (v < *lo) *lo = v;
    if (v > *hi) *hi = v;
}

int fl__impact_allowed(const struct fl_impact *im, unsigned ch, const char *new_rule)
{
    for (size_t i = 0; i < im->nallow_rules; i++)
        if (!strcmp(im->allow_rules[i], new_rule)) return 1;
    return (ch & ~im->allow_fields) == 0;
}

unsigned fl__impact_add(struct fl_impact *im, const struct fl_impact_summary *a, const struct fl_impact_summary *b,
                        const char *where, const char *event_json, size_t len)
{
    im->events++;
    unsigned ch = fl__impact_compare(a, b);
    if (!ch) return 0;
    im->changed++;
    if (!fl__impact_allowed(im, ch, b->rule)) im->disallowed++;
    struct fl_impact_group *g = find(im, a, b, ch);
    if (!g) return ch;
    g->count++;
    widen(&g->old_dmin, &g->old_dmax, a->delay_ms);
    widen(&g->new_dmin, &g->new_dmax, b->delay_ms);
    if (json_array_size(g->examples) < im->max_examples) {
        json_t *ev = event_json ? json_loadb(event_json, len, 0, NULL) : NULL;
        json_array_append_new(g->examples,
                              json_pack("{s:s, s:o}", "where", where ? where : "", "event", ev ? ev : json_null()));
    }
    return ch;
}

static int cmp_groups(const void *x, const void *y)
{
    const struct fl_impact_group *a = x, *b = y;
    return a->count < b->count ? 1 : a->count > b->count ? -1 : 0;
}

void fl__impact_sort(struct fl_impact *im)
{
    if (im->ngroups > 1) qsort(im->groups, im->ngroups, sizeof *im->groups, cmp_groups); /* never qsort(NULL, 0) */
}

json_t *fl__impact_group_json(const struct fl_impact *im, const struct fl_impact_group *g)
{
    json_t *changes = json_array();
    for (int k = 0; k < FL_IMPACT_NFIELDS; k++)
        if (g->changes & (1u << k)) json_array_append_new(changes, json_string(k_fields[k]));
    return json_pack("{s:s, s:s, s:I, s:o, s:b, s:{s:s, s:s, s:s, s:s}, s:{s:I, s:I, s:I, s:I}, s:O}", "old_rule",
                     g->old.rule, "new_rule", g->new.rule, "count", (json_int_t)g->count, "changes", changes,
                     "allowed", fl__impact_allowed(im, g->changes, g->new.rule), "first", "old_category",
                     g->old.category, "new_category", g->new.category, "old_action", fl_action_name(g->old.action),
                     "new_action", fl_action_name(g->new.action), "delay_ms", "old_min", (json_int_t)g->old_dmin,
                     "old_max", (json_int_t)g->old_dmax, "new_min", (json_int_t)g->new_dmin, "new_max",
                     (json_int_t)g->new_dmax, "examples", g->examples);
}

json_t *fl__impact_json(const struct fl_impact *im)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < im->ngroups; i++) json_array_append_new(groups, fl__impact_group_json(im, &im->groups[i]));
    return json_pack("{s:I, s:I, s:I, s:o}", "events", (json_int_t)im->events, "changed", (json_int_t)im->changed,
                     "not_allowed", (json_int_t)im->disallowed, "groups", groups);
}

void fl__impact_free(struct fl_impact *im)
{
    for (size_t i = 0; i < im->ngroups; i++) json_decref(im->groups[i].examples);
    free(im->groups);
    for (size_t i = 0; i < im->nallow_rules; i++) free(im->allow_rules[i]);
    free(im->allow_rules);
    memset(im, 0, sizeof *im);
}
