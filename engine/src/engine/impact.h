/*
 * impact.h -- counting what changes between two decisions of the same
 * event (impact.c): shared by `faultline diff` and shadow evaluation.
 * Ownership: a struct fl_impact owns its groups and their example arrays;
 * fl__impact_free releases them.  Zero-initialise, set max_examples and the
 * allow lists, then add.
 */
#ifndef FL_IMPACT_H
#define FL_IMPACT_H

#include <jansson.h>
#include <stdint.h>

#include "faultline.h"

enum {
    FL_IMPACT_CATEGORY = 1,
    FL_IMPACT_ACTION = 2,
    FL_IMPACT_RETRYABLE = 4,
    FL_IMPACT_DELAY = 8,
    FL_IMPACT_MESSAGE = 16,
    FL_IMPACT_RULE = 32,
    FL_IMPACT_NFIELDS = 6
};

/* What a host acts on, copied out of a decision (truncated to fit). */
struct fl_impact_summary {
    char rule[96], category[96], message_id[96];
    fl_action action;
    int retryable;
    int64_t delay_ms;
};

struct fl_impact_group {
    struct fl_impact_summary old, new; /* the first pair seen */
    unsigned changes;                  /* FL_IMPACT_* bits    */
    size_t count;
    int64_t old_dmin, old_dmax, new_dmin, new_dmax;
    json_t *examples;                  /* [{"where", "event"}] */
};

struct fl_impact {
    size_t max_examples;
    unsigned allow_fields;             /* FL_IMPACT_* bits that do not count as disallowed */
    char **allow_rules;                /* changes of events the new rule NAME decides are allowed */
    size_t nallow_rules;
    struct fl_impact_group *groups;
    size_t ngroups, cap;
    size_t events, changed, disallowed;
};

const char *fl__impact_field_name(int k);
void fl__impact_summarize(const fl_decision_t *d, struct fl_impact_summary *s);
unsigned fl__impact_compare(const struct fl_impact_summary *a, const struct fl_impact_summary *b);
/* Count one event decided a (old) and b (new); the changed bits (0: same). */
unsigned fl__impact_add(struct fl_impact *im, const struct fl_impact_summary *a, const struct fl_impact_summary *b,
                        const char *where, const char *event_json, size_t len);
int fl__impact_allowed(const struct fl_impact *im, unsigned changes, const char *new_rule);
/* Largest groups first. */
void fl__impact_sort(struct fl_impact *im);
json_t *fl__impact_group_json(const struct fl_impact *im, const struct fl_impact_group *g);
/* {"events", "changed", "not_allowed", "groups": [...]} (new reference). */
json_t *fl__impact_json(const struct fl_impact *im);
void fl__impact_free(struct fl_impact *im);

#endif /* FL_IMPACT_H */
