/*
 * loading.h -- the loading stage: read a policy directory, run its Lua
 * declarations, compile the result into an immutable version (indexes,
 * resolved messages) and run its examples.  Depends on every stage below.
 */
#ifndef FL_LOADING_H
#define FL_LOADING_H

#include "core.h"

/* Largest policy source, per file or per fl_engine_load_string. */
#define FL_MAX_POLICY_SOURCE_BYTES (16u << 20)

/* compile.c: a new, empty version (one reference; v->destroy set). */
fl_version *fl_version_new(void);
/* compile.c: set v->id from the sources (XXH3 of names and contents). */
void fl_version_hash(fl_version *v);
/* loader.c: read `nsrcs` Lua sources into v (rules, categories, messages,
 * examples).  Sources are copied into v.  The resilience declarations are
 * passed to `resil` when not NULL. */
int fl_load_sources(fl_version *v, const fl_engine_options_t *opts,
                    struct fl_resil *resil, fl_diag_t *diag);
/* loader.c: a whole file into *text (malloc'd, NUL-terminated; *len bytes
 * without the NUL).  FL_EIO (cannot open or read), FL_ETOOBIG (larger than
 * FL_MAX_POLICY_SOURCE_BYTES), FL_ENOMEM; diag names the file. */
int fl_read_file(const char *path, char **text, size_t *len, fl_diag_t *diag);
/* loader.c: read every *.lua file of dir into v->src_*.  */
int fl_read_policy_dir(fl_version *v, const char *dir, fl_diag_t *diag);

/* patterns.c: wait for the rules' patterns (compiled on a helper thread
 * since fl_load_sources queued them) and put each code in its condition.
 * The first pattern that does not compile replaces rc with
 * FL_EPOLICY_PATTERN and diag with the loader's diagnostic for it (it was
 * read before whatever error rc reports).  fl_compile calls it; _abandon
 * (free_version) only waits and frees. */
int fl_patterns_collect(fl_version *v, fl_diag_t *diag, int rc);
void fl_patterns_abandon(fl_version *v);

/* compile.c: finish a loaded version.  */
int fl_compile(fl_version *v, const fl_engine_options_t *opts, fl_diag_t *diag);
/* examples.c: compare a decision with expected fields; 0 when all hold,
 * 1 with why filled when one does not, -1 on ENOMEM. */
int fl_expect_check(const fl_decision_t *d, json_t *expect, char *why, size_t n);
/* Run a version's examples on a private context over a private shared part
 * (sh's options and sandbox, a fresh resilience registry holding only v's
 * declarations): examples never touch sh's resilience state.  diag names
 * the failure. */
int fl_run_examples(struct fl_shared *sh, fl_version *v, fl_diag_t *diag);

#endif /* FL_LOADING_H */
