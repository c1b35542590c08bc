/*
 * bench_sandbox.c -- what the sandbox's budgets cost and how fast they stop
 * runaway code (docs/sandbox.md quotes these figures).
 *
 *   1. decide throughput on the stock pack (declarative: no Lua runs, the
 *      budget machinery is never armed) -- the ~0 cost claim;
 *   2. decide throughput with a handler rule (full fl_decide path);
 *   3. one handler call, in isolation, under each budget mechanism:
 *      none (JIT off), watchdog (shipped), the count-hook fallback (every
 *      100 instructions), and none with the JIT on (unsafe; reference);
 *   4. stop latency: wall time past a 10 ms budget for runaway handlers.
 *
 * Usage: bench_sandbox [seconds-per-measure]   (default 1)
 */
/* bench/CMakeLists.txt does not pass LuaJIT's include path: name Debian's. */
#if __has_include(<lauxlib.h>)
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#else
#include <luajit-2.1/lauxlib.h>
#include <luajit-2.1/lua.h>
#include <luajit-2.1/luajit.h>
#endif
#if __has_include(<lualib.h>)
#include <lualib.h>
#else
#include <luajit-2.1/lualib.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "sandbox.h"
#include "faultline.h"

static double g_secs = 1.0;

static double now_s(void) { return (double)fl_mono_ns() / 1e9; }

/* ---- 1 & 2: fl_decide throughput ------------------------------------------ */

static int load_events(fl_event_t ***out)
{
    static const char *const files[] = {"posix", "http", "grpc", "postgres", "mysql", "redis", "curl",
                                        "aws", "python", "java", "go", "node", "misc"};
    fl_event_t **evs = NULL;
    int n = 0, cap = 0;
    char line[65536];
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/corpus/events/%s.jsonl", FL_SOURCE_DIR, files[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        while (fgets(line, sizeof line, f)) {
            fl_event_t *ev;
            if (fl_event_new(&ev) != FL_OK) break;
            if (fl_event_from_json(ev, line, strlen(line), NULL) != FL_OK) {
                fl_event_free(ev);
                continue;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                evs = realloc(evs, (size_t)cap * sizeof *evs);
            }
            evs[n++] = ev;
        }
        fclose(f);
    }
    *out = evs;
    return n;
}

static double decide_rate(fl_engine_t *e, fl_event_t **evs, int n)
{
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_ctx_new(e, &ctx);
    fl_decision_new(&d);
    for (int i = 0; i < n; i++) fl_decide(ctx, evs[i], NULL, 0, d); /* warm */
    long count = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < n; i++) fl_decide(ctx, evs[i], NULL, 0, d);
        count += n;
    } while ((t = now_s()) - t0 < g_secs);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return (double)count / (t - t0);
}

/* ---- 3: one handler call under each mechanism ------------------------------ */

static const char k_handler[] =
    "return function(ev, d)\n"
    "  local m = ev.message or ''\n"
    "  local host = m:match('([%w%.]+):%d+')\n"
    "  local n = 0\n"
    "  for i = 1, 20 do n = n + #m % i end\n"
    "  if ev.attempt > 2 then return { action = 'fallback', fallback = { queued = true } } end\n"
    "  return { message_id = host and 'unavailable.host' or 'unavailable', delay_ms = n }\n"
    "end\n";

static const char k_heavy[] =
    "return function(ev, d)\n"
    "  local n = 0\n"
    "  for i = 1, 2000 do n = n + i * 3 - (i > 1000 and 1 or 0) end\n"
    "  return { delay_ms = n % 1000 }\n"
    "end\n";

enum mode { M_NONE, M_WATCHDOG, M_COUNT, M_JIT };

static double handler_ns(const char *code, enum mode mode, struct fl_sbx *sbx)
{
    struct fl_lmem m = {.cap = 32u << 20};
    fl_diag_t diag;
    lua_State *L = fl_sandbox_new(&m, 1, &diag);
    if (!L) return -1;
    if (mode == M_WATCHDOG) fl_sbx_attach(sbx, &m);
    luaL_loadstring(L, code);
    lua_call(L, 0, 1);
    int fn = lua_gettop(L);
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "connect ECONNREFUSED db.internal:5432");
    lua_setfield(L, -2, "message");
    lua_pushinteger(L, 1);
    lua_setfield(L, -2, "attempt");
    int ev = lua_gettop(L);
    if (mode == M_JIT) { /* the compiler needs its library opened to work */
        lua_pushcfunction(L, luaopen_jit);
        lua_pushstring(L, "jit");
        lua_call(L, 1, 0);
        luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    }
    long count = 0;
    double t0 = now_s(), t;
    do {
        for (int i = 0; i < 1000; i++) {
            lua_pushvalue(L, fn);
            lua_pushvalue(L, ev);
            lua_newtable(L);
            if (mode == M_WATCHDOG) {
                fl_sandbox_arm(L, &m, 10000, 1000000);
            } else if (mode == M_COUNT) {
                struct fl_wd_slot *keep = m.slot;
                m.slot = NULL;
                fl_sandbox_arm(L, &m, 10000, 1000000);
                m.slot = keep;
            }
            lua_pcall(L, 2, 1, 0);
            if (mode == M_WATCHDOG || mode == M_COUNT) fl_sandbox_disarm(L, &m);
            lua_pop(L, 1);
        }
        count += 1000;
    } while ((t = now_s()) - t0 < g_secs);
    fl_sbx_detach(&m);
    lua_close(L);
    return (t - t0) * 1e9 / (double)count;
}

/* ---- 4: stop latency ------------------------------------------------------ */

static const struct {
    const char *name, *body;
} k_runaway[] = {
    {"interpreter loop", "while true do end"},
    {"hot loop (JIT candidate)", "local x = 0 for i = 1, 1e15 do x = x + i % 7 end"},
    {"pcall swallowing", "while true do pcall(function() while true do end end) end"},
    {"coroutine loop", "coroutine.wrap(function() while true do end end)()"},
    {"2 MB string compares", "local s = string.rep('a', 2e6) local t = s .. 'b' while s < t do end"},
    {"Lua pattern bomb", "string.find(string.rep('a', 1e5), string.rep('a*', 50) .. 'b')"},
    {"table.sort 200k", "local t = {} for i = 1, 2e5 do t[i] = (i * 7919) % 100003 end while true do table.sort(t) end"},
};

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stop_latency(void)
{
    printf("\n4. stop latency, budget 10 ms, 20 runs each (wall time of fl_decide minus the budget)\n");
    printf("   %-28s %10s %10s\n", "runaway handler", "median", "max");
    for (size_t k = 0; k < sizeof k_runaway / sizeof *k_runaway; k++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "rule 'w' { when = { domain = 'w' }, category = 'internal', handler = function() end }\n"
                 "rule 'x' { when = { domain = 'x' }, category = 'internal', handler = function() %s end }\n",
                 k_runaway[k].body);
        fl_engine_options_t o = {0};
        o.handler_budget_us = 10000;
        fl_engine_t *e;
        fl_engine_new(&o, &e);
        fl_diag_t diag;
        if (fl_engine_load_string(e, "r.lua", src, strlen(src), &diag) != FL_OK) {
            printf("   %s: load failed: %s\n", k_runaway[k].name, diag.message);
            fl_engine_free(e);
            continue;
        }
        fl_ctx_t *ctx;
        fl_decision_t *d;
        fl_event_t *w, *x;
        fl_ctx_new(e, &ctx);
        fl_decision_new(&d);
        fl_event_new(&w);
        fl_event_new(&x);
        fl_event_set(w, FL_FIELD_DOMAIN, "w", 1);
        fl_event_set(x, FL_FIELD_DOMAIN, "x", 1);
        double over[20];
        for (int i = 0; i < 20; i++) {
            fl_decide(ctx, w, NULL, 0, d); /* rebuild the state outside the measure */
            uint64_t t0 = fl_mono_ns();
            fl_decide(ctx, x, NULL, 0, d);
            over[i] = (double)(fl_mono_ns() - t0) / 1e6 - 10.0;
        }
        qsort(over, 20, sizeof *over, cmp_d);
        printf("   %-28s %+8.2f ms %+8.2f ms\n", k_runaway[k].name, over[10], over[19]);
        fl_event_free(w);
        fl_event_free(x);
        fl_decision_free(d);
        fl_ctx_free(ctx);
        fl_engine_free(e);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) g_secs = atof(argv[1]) > 0 ? atof(argv[1]) : 1.0;
    fl_event_t **evs;
    int n = load_events(&evs);
    fl_engine_t *e;
    fl_diag_t diag;
    fl_engine_new(NULL, &e);
    if (n == 0 || fl_engine_load(e, FL_SOURCE_DIR "/policies", &diag) != FL_OK) {
        fprintf(stderr, "bench_sandbox: cannot load the stock pack or events: %s\n", diag.message);
        return 1;
    }
    double stock = decide_rate(e, evs, n);
    fl_engine_stats_t st;
    fl_engine_stats(e, &st);
    printf("1. stock pack, %d corpus events (declarative: the budget is never armed)\n", n);
    printf("   %.0f decisions/s on one core\n", stock);
    fl_engine_free(e);

    const char *hsrc = "rule 'h' { category = 'unavailable', handler = (function()\n"
                       "  return function(ev, d)\n"
                       "    local m = ev.message or ''\n"
                       "    local host = m:match('([%w%.]+):%d+')\n"
                       "    local n = 0\n"
                       "    for i = 1, 20 do n = n + #m % i end\n"
                       "    if ev.attempt > 2 then return { action = 'fallback', fallback = { queued = true } } end\n"
                       "    return { message_id = host and 'unavailable.host' or 'unavailable', delay_ms = n }\n"
                       "  end end)() }\n";
    fl_engine_new(NULL, &e);
    if (fl_engine_load_string(e, "h.lua", hsrc, strlen(hsrc), &diag) != FL_OK) {
        fprintf(stderr, "bench_sandbox: %s\n", diag.message);
        return 1;
    }
    double hrate = decide_rate(e, evs, n);
    printf("\n2. a policy whose only rule has a handler (every decision enters Lua), same events\n");
    printf("   %.0f decisions/s (%.2f us per decision)\n", hrate, 1e6 / hrate);

    struct fl_sbx *sbx = fl_sbx_new(NULL);
    const char *names[2] = {"small handler (match + 20-step loop)", "compute handler (2000-step arithmetic loop)"};
    const char *codes[2] = {k_handler, k_heavy};
    printf("\n3. one handler call in isolation (pcall), ns per call\n");
    for (int h = 0; h < 2; h++) {
        double none = handler_ns(codes[h], M_NONE, NULL);
        double wd = handler_ns(codes[h], M_WATCHDOG, sbx);
        double cnt = handler_ns(codes[h], M_COUNT, NULL);
        double jit = handler_ns(codes[h], M_JIT, NULL);
        printf("   %s\n", names[h]);
        printf("     JIT off, no budget            %8.0f ns\n", none);
        printf("     JIT off, watchdog (shipped)   %8.0f ns  %+6.1f%%\n", wd, 100 * (wd - none) / none);
        printf("     JIT off, count hook (fallback) %7.0f ns  %+6.1f%%\n", cnt, 100 * (cnt - none) / none);
        printf("     JIT on,  no budget (unsafe)   %8.0f ns  %+6.1f%%\n", jit, 100 * (jit - none) / none);
    }
    fl_sbx_free(sbx);
    fl_engine_free(e);

    stop_latency();
    for (int i = 0; i < n; i++) fl_event_free(evs[i]);
    free(evs);
    return 0;
}
