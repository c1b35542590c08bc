/*
 * sandbox_internal.h -- shared by the files of the Lua sandbox (lua/):
 * budgets and the watchdog (sandbox_budget.c), the metered Lua patterns
 * (sandbox_patterns.c), the other guarded library functions
 * (sandbox_lib.c) and the environment and loader (sandbox.c).  Functions
 * here cross files inside lua/ only, hence the sbx__ prefix.
 */
#ifndef FL_SANDBOX_INTERNAL_H
#define FL_SANDBOX_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>

#include "core.h"
#include "sandbox.h"


/* Count-hook mode (no watchdog): instructions between two clock reads.  A
 * count hook slows the interpreter ~2.4x whatever the count (LuaJIT then
 * dispatches every instruction through its hook check), so a small count
 * costs little more and bounds the latency of expensive instructions. */
#define FL_HOOK_EVERY 100
/* Allocated bytes between two clock reads in the allocator. */
#define FL_ALLOC_CHECK_BYTES (256u << 10)
/* Metered library steps between two clock reads. */
#define FL_STEP_CHECK 4096u
/* C stack a policy may make the engine use through nested callbacks,
 * counted from the frame that armed the call.  With the host's own frames
 * and LuaJIT's error unwinding this fits a 256 KiB thread stack (the
 * documented minimum; docs/sandbox.md). */
#define FL_CSTACK_MAX (128u << 10)
/* Watchdog tick, and how long it stays awake without any armed state. */
#define FL_WD_TICK_NS 1000000ull
#define FL_WD_IDLE_TICKS 2000u
/* A watchdog that has not ticked for this long is not trusted (asleep,
 * starved, or gone after a fork): arm wakes it and waits up to
 * FL_WD_WAKE_NS for a tick, else falls back to the count hook (and stops
 * waiting for FL_WD_DEAD_NS). */
#define FL_WD_STALE_NS 5000000ull
#define FL_WD_WAKE_NS 5000000ull
#define FL_WD_DEAD_NS 1000000000ull
/* Expanded size of everything declared (what the loader walks). */
#define FL_DECL_MAX_NODES 4000000 /* ~200,000 rules; stops t = {t, t} doubling bombs */

/* sandbox_budget.c: the accounting of the state L runs in. */
struct fl_lmem *sbx__lmem_of(lua_State *L);
/* The capped allocator every sandboxed state uses (ud: its fl_lmem). */
void *sbx__capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void *sbx__pooled_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
/* The stopping hook (count hook, or set by the watchdog past a deadline). */
void sbx__budget_hook(lua_State *L, lua_Debug *ar);
/* For library functions: raise the budget error if the deadline passed. */
void sbx__check_deadline(lua_State *L, struct fl_lmem *m);
/* For library functions that call back into Lua: bound the C stack. */
void sbx__check_cstack(lua_State *L, struct fl_lmem *m);

/* Metered library work: a clock read every FL_STEP_CHECK steps. */
static inline void sbx__meter(lua_State *L, struct fl_lmem *m, uint32_t cost)
{
    m->steps += cost;
    if (m->steps >= FL_STEP_CHECK) {
        m->steps = 0;
        sbx__check_deadline(L, m);
    }
}

/* sandbox_patterns.c: string.find / match / gmatch / gsub with a meter. */
int sbx__l_find(lua_State *L);
int sbx__l_match(lua_State *L);
int sbx__l_gmatch(lua_State *L);
int sbx__l_gsub(lua_State *L);

/* sandbox_lib.c: guarded replacements (upvalue 1: the original). */
int sbx__guarded(lua_State *L);
int sbx__co_wrap(lua_State *L);
int sbx__t_sort(lua_State *L);
int sbx__t_insert(lua_State *L);
int sbx__os_date(lua_State *L);

#endif /* FL_SANDBOX_INTERNAL_H */
