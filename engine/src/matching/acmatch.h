/*
 * acmatch.h -- the literal prefilter in front of PCRE2 (see matcher.c):
 * finds every occurrence of a set of literals in a message, ASCII letters
 * case-insensitively.  Implemented by gramfilter.c, a hashed 4-gram filter
 * (the names fl_ac_* are from the Aho-Corasick automaton it replaced).
 */
#ifndef FL_ACMATCH_H
#define FL_ACMATCH_H

#include <stddef.h>
#include <stdint.h>

typedef struct fl_ac fl_ac;

/* Build from n literals (lower-case; ASCII letters are folded anyway), each
 * tagged with a value reported on a hit.  Equal literals are all reported,
 * each with its tag; an empty literal never is.  NULL on allocation failure.
 * n may be 0. */
fl_ac *fl_ac_build(char *const *lits, const uint32_t *tags, uint32_t n);
void fl_ac_free(fl_ac *ac);
/* Scan s (ASCII letters folded to lower case; every other byte, NUL
 * included, exact); call hit(tag, arg) once for every occurrence of every
 * literal, in no promised order.  Returns 0, or the non-zero return of hit
 * (which stops the scan).  Allocates nothing, whatever len. */
int fl_ac_scan(const fl_ac *ac, const char *s, size_t len, int (*hit)(uint32_t tag, void *arg), void *arg);
/* 0 if every table entry and record of the filter is in range and
 * consistent (checked once when a version is built), -1 otherwise. */
int fl_ac_check(const fl_ac *ac);
/* Bytes the filter occupies (for benchmarks). */
size_t fl_ac_size(const fl_ac *ac);
/* For tests: use the vector (AVX2) scan when the CPU has it (on: the
 * default) or the plain one (off).  Same results either way. */
void fl_ac_set_simd(fl_ac *ac, int on);

#endif
