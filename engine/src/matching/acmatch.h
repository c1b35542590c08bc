/*
 * acmatch.h -- Aho-Corasick automaton over ASCII-case-folded bytes, used as
 * the literal prefilter in front of PCRE2 (see matcher.c).
 */
#ifndef FL_ACMATCH_H
#define FL_ACMATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_ac fl_ac;

/* Build from n literals (lower-case), each tagged with a value reported on a
 * hit.  NULL on allocation failure.  n may be 0. */
fl_ac *fl_ac_build(char *const *lits, const uint32_t *tags, uint32_t n);
void fl_ac_free(fl_ac *ac);
/* Scan s (folded to lower case on the fly); call hit(tag, arg) once for
 * every occurrence of every literal, in no promised order (a long subject is
 * scanned as two pieces at once).  Returns 0, or the non-zero return of hit
 * (which stops the scan). */
int fl_ac_scan(const fl_ac *ac, const char *s, size_t len, int (*hit)(uint32_t tag, void *arg), void *arg);
/* 0 if every transition and output link of the automaton stays in range
 * (checked once when a version is built), -1 otherwise. */
int fl_ac_check(const fl_ac *ac);
/* Bytes the automaton occupies (for benchmarks). */
size_t fl_ac_size(const fl_ac *ac);

#endif
