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

/* Reference counting (see "Ownership and lifetimes" in faultline.h): a
 * context or watch retains its engine and releases it when freed; the last
 * release frees the engine. */
void fl_engine_retain(fl_engine_t *e);
void fl_engine_release(fl_engine_t *e);

#endif /* FL_ENGINE_INTERNAL_H */
