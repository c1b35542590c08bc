/*
 * engine_internal.h -- the engine object seen from inside the library (and
 * from tests and benches that poke at internals): its shared part, which
 * deciding contexts point at.  Nothing below the engine layer includes this.
 */
#ifndef FL_ENGINE_INTERNAL_H
#define FL_ENGINE_INTERNAL_H

#include "core.h"

/* The engine's shared part (never NULL for a valid engine). */
struct fl_shared *fl_engine_shared(fl_engine_t *e);

/* bundle.c: read a bundle's .lua files into v (names "BUNDLE/file.lua"),
 * after checking every file against the manifest and, when pk is not NULL,
 * the manifest's Ed25519 signature against pk.  FL_ESIGNATURE says why a
 * bundle is refused. */
int fl__bundle_read_sources(fl_version *v, const char *path, const unsigned char *pk, fl_diag_t *diag);
/* bundle.c: with pk set, the sources loaded into v from dir must be exactly
 * those DIR/manifest.json lists, and the manifest signed by pk. */
int fl__trust_check_dir(const fl_version *v, const char *dir, const unsigned char *pk, fl_diag_t *diag);
/* Reference counting (see "Ownership and lifetimes" in faultline.h): a
 * context or watch retains its engine and releases it when freed; the last
 * release frees the engine. */
void fl_engine_retain(fl_engine_t *e);
void fl_engine_release(fl_engine_t *e);
/* fl_engine_load for the watch: the directory is read once and hashed; the
 * content id of what was read (the id a successful load publishes, or the
 * id of the content refused) goes to id_out ("" when the directory could
 * not be read).  Content whose id equals skip_ids[0] or skip_ids[1] (either
 * may be NULL; skip_ids itself may be NULL) is not built: FL_OK with
 * *skipped = 1. */
int fl_engine_load_dir_id(fl_engine_t *e, const char *dir, const char *const skip_ids[2], char id_out[17],
                          int *skipped, fl_diag_t *diag);

/* The kept version with exactly this id, with a reference the caller drops
 * (fl_version_unref); NULL if none. */
fl_version *fl_engine_kept(fl_engine_t *e, const char *id);

/* metrics.c: count a load that published (0), changed nothing (1) or
 * failed (2) in the engine's faultline_policy_reloads_total. */
void fl__metrics_reload(fl_engine_t *e, int result);

/* declog.c: close the decision log and free every log the engine opened
 * (engine_destroy: no context is left deciding). */
void fl__declog_destroy(fl_engine_t *e);

/* declog.c: a third sink on the same ring machinery, for alerts.c: every
 * decision is copied into the ring and `consume` runs on the sink's thread
 * for each (NUL-terminated copies of the fields); `idle` runs after each
 * drain (and every few ms when there is nothing).  One such sink per engine. */
typedef struct fl_obs_view {
    int64_t time_ms;
    int action, severity;
    char id[129], category[129], fingerprint[129], rule[129], op[129], domain[129], code[129];
    char message[513]; /* the event's message */
} fl_obs_view;
int fl__sink_start(fl_engine_t *e, uint32_t ring_lines, void (*consume)(void *user, const fl_obs_view *v),
                   void (*idle)(void *user), void *user, fl_diag_t *diag);
int fl__sink_stop(fl_engine_t *e);
/* declog.c: after v was published, reopen the decision log when v or the
 * version before declares `log { ... }` (what the lines hold changes). */
void fl__declog_apply(fl_engine_t *e, const fl_version *v);
/* alerts.c: after v was published, run its `alert` declarations (restarting
 * policy-declared alerts; alerts the host started stay as they are). */
void fl__alerts_apply(fl_engine_t *e, const fl_version *v);
/* alerts.c: stop delivery and free the alert state (engine_destroy). */
void fl__alerts_destroy(fl_engine_t *e);

#endif /* FL_ENGINE_INTERNAL_H */
