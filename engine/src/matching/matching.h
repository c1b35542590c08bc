/*
 * matching.h -- the matching stage: the per-version index (domain x code hash
 * table, hashed 4-gram literal prefilter, PCRE2 patterns) built once at load
 * and queried per decision.  Depends on core only.
 */
#ifndef FL_MATCHING_H
#define FL_MATCHING_H

#include "core.h"

/* matcher.c */
int fl_index_build(fl_version *v, fl_diag_t *diag);
void fl_index_free(struct fl_index *ix);
/* First matching rule for the view, or NULL.  Fills ctx->caps. */
const fl_rule *fl_match(fl_ctx_t *ctx, const fl_version *v, const fl_eview *ev);

/* relit.c: required literals of a pattern.  Returns the number of literals
 * written to out (each malloc'd, lower-cased), 0 if none can be proven. */
uint32_t fl_required_literals(const char *pattern, char **out, uint32_t max);

#endif /* FL_MATCHING_H */
