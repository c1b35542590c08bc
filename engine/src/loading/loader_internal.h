/*
 * loader_internal.h -- shared between loader.c (running files, walking the
 * records) and loader_decl.c (reading each kind of declaration).
 */
#ifndef FL_LOADER_INTERNAL_H
#define FL_LOADER_INTERNAL_H

#include "core.h"
#include "loading.h"

struct ld {
    struct lua_State *L;
    fl_version *v;
    fl_diag_t *diag;
    struct fl_resil *resil;
    char src[256];   /* file of the declaration being read */
    int line;
    char name[128];
    char what[200];  /* 'rule "x"' for messages */
    char kind[32];   /* declaration kind: rule, breaker, ... */
    int oom;
    /* Rule names seen so far (open addressing, rule index + 1, 0 = empty):
     * a duplicate is found in O(1) instead of comparing every rule. */
    uint32_t *names;
    uint32_t names_cap; /* power of two, 0 when not allocated */
};

/* patterns.c: queue the pattern of the newest condition of the rule being
 * read (compiled on the helper thread); locate the queued conditions once
 * the rule table is complete (end of fl_load_sources). */
int ld_pattern_queue(struct ld *ld, const char *pattern, const char *key);
void ld_patterns_locate(fl_version *v);

int ld_error(struct ld *ld, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
char *ld_strdup(struct ld *ld, const char *s);
int ld_fleet(struct ld *ld, int t);
json_t *ld_to_json(struct ld *ld, int idx, int depth, const char *key);
char *ld_to_json_text(struct ld *ld, int idx, const char *key);

int ld_check_keys(struct ld *ld, int t, const char *const *allowed);
int ld_settings_public(struct ld *ld, int t, fl_settings *s);
int ld_policy(struct ld *ld, int t);
int ld_category(struct ld *ld, int t);
int ld_rule(struct ld *ld, int t);
int ld_messages(struct ld *ld, int t);
int ld_example(struct ld *ld, int t);
int ld_resil(struct ld *ld, int t);
int ld_alert(struct ld *ld, int t);
int ld_log(struct ld *ld, int t);

#endif
