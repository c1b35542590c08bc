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
 *   4. stop latency: CPU time (and wall time) past a 10 ms budget for
 *      runaway handlers;
 *   5. C-stack recursion through library functions, decided on a thread
 *      with a 256 KiB stack: time to the safe decision.
 *
 * Usage: bench_sandbox [seconds-per-measure]   (default 1)
 *        bench_sandbox spurious [seconds] [threads]   (default 60, 8)
 *          threads decide a ~2 us handler with the default budget for that
 *          long; prints the budget failures (expected 0: the budget counts
 *          CPU time, not time spent descheduled).
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "sandbox.h"
#include "faultline.h"

static double g_secs = 1.0;

static double now_s(void) { return (double)fl_mono_ns() / 1e9; }

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
    printf("\n4. stop latency, budget 10 ms, 20 runs each (CPU time of fl_decide minus the budget;\n"
           "   wall time minus the budget for reference, inflated by any other load)\n");
    printf("   %-28s %10s %10s %12s\n", "runaway handler", "median", "max", "wall median");
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
        double over[20], wall[20];
        for (int i = 0; i < 20; i++) {
            fl_decide(ctx, w, NULL, 0, d); /* rebuild the state outside the measure */
            uint64_t t0 = fl_mono_ns(), c0 = cpu_ns();
            fl_decide(ctx, x, NULL, 0, d);
            over[i] = (double)(cpu_ns() - c0) / 1e6 - 10.0;
            wall[i] = (double)(fl_mono_ns() - t0) / 1e6 - 10.0;
        }
        qsort(over, 20, sizeof *over, cmp_d);
        qsort(wall, 20, sizeof *wall, cmp_d);
        printf("   %-28s %+8.2f ms %+8.2f ms %+10.2f ms\n", k_runaway[k].name, over[10], over[19], wall[10]);
        fl_event_free(w);
        fl_event_free(x);
        fl_decision_free(d);
        fl_ctx_free(ctx);
        fl_engine_free(e);
    }
}

/* ---- 5: C-stack recursion on a 256 KiB host stack -------------------------- */

static const struct {
    const char *name, *body;
} k_cstack[] = {
    {"string.format %s __tostring",
     "local t t = setmetatable({}, { __tostring = function(x) local s = string.format('%s', x) return s end }) "
     "return { message = string.format('%s', t) }"},
    {"os.time __index", "return { delay_ms = os.time(setmetatable({}, { __index = os.time })) }"},
    {"coroutine.wrap", "local function f() coroutine.wrap(f)() end f()"},
    {"gsub table __index",
     "local mt = {} mt.__index = function(t, k) return ('a'):gsub('a', t) end return { message = setmetatable({}, mt).x }"},
    {"sort comparator", "local t = {3, 2, 1} local function c(a, b) table.sort(t, c) return a < b end table.sort(t, c)"},
};

static void *cstack_thread(void *arg)
{
    (void)arg;
    printf("\n5. C-stack recursion through library functions, on a 256 KiB thread stack, budget 10 ms\n"
           "   (20 runs each: time of fl_decide to the safe decision)\n");
    printf("   %-30s %12s %12s %12s\n", "recursion through", "CPU median", "CPU max", "wall max");
    for (size_t k = 0; k < sizeof k_cstack / sizeof *k_cstack; k++) {
        char src[1024];
        snprintf(src, sizeof src,
                 "rule 'w' { when = { domain = 'w' }, category = 'internal', handler = function() end }\n"
                 "rule 'x' { when = { domain = 'x' }, category = 'internal', handler = function() %s end }\n",
                 k_cstack[k].body);
        fl_engine_options_t o = {0};
        o.handler_budget_us = 10000;
        fl_engine_t *e;
        fl_engine_new(&o, &e);
        fl_diag_t diag;
        if (fl_engine_load_string(e, "c.lua", src, strlen(src), &diag) != FL_OK) {
            printf("   %s: load failed: %s\n", k_cstack[k].name, diag.message);
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
        double cpu[20], wall[20];
        int safe = 0;
        for (int i = 0; i < 20; i++) {
            fl_decide(ctx, w, NULL, 0, d);
            uint64_t t0 = fl_mono_ns(), c0 = cpu_ns();
            int rc = fl_decide(ctx, x, NULL, 0, d);
            cpu[i] = (double)(cpu_ns() - c0) / 1e6;
            wall[i] = (double)(fl_mono_ns() - t0) / 1e6;
            safe += rc != FL_OK && fl_decision_error(d) != NULL;
        }
        qsort(cpu, 20, sizeof *cpu, cmp_d);
        qsort(wall, 20, sizeof *wall, cmp_d);
        printf("   %-30s %9.2f ms %9.2f ms %9.2f ms  (%d/20 safe decisions)\n", k_cstack[k].name, cpu[10], cpu[19],
               wall[19], safe);
        fl_event_free(w);
        fl_event_free(x);
        fl_decision_free(d);
        fl_ctx_free(ctx);
        fl_engine_free(e);
    }
    return NULL;
}

static void cstack_on_small_stack(void)
{
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256u << 10);
    if (pthread_create(&th, &attr, cstack_thread, NULL) == 0) pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
}

/* ---- spurious: many deciding threads on few cores ------------------------- */

struct spur {
    fl_engine_t *e;
    double secs;
    unsigned long n, cpu_fail, wall_fail, other;
};

static void *spur_thread(void *arg)
{
    struct spur *s = arg;
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_event_t *ev;
    fl_ctx_new(s->e, &ctx);
    fl_decision_new(&d);
    fl_event_new(&ev);
    fl_event_set(ev, FL_FIELD_DOMAIN, "h", 1);
    fl_event_set(ev, FL_FIELD_MESSAGE, "connect to db.internal:5432 failed", (size_t)-1);
    uint64_t end = fl_mono_ns() + (uint64_t)(s->secs * 1e9);
    while (fl_mono_ns() < end)
        for (int i = 0; i < 64; i++) {
            int rc = fl_decide(ctx, ev, NULL, 0, d);
            s->n++;
            if (rc == FL_EBUDGET_CPU) {
                const char *err = fl_decision_error(d);
                if (err && strstr(err, "wall-clock")) s->wall_fail++;
                else s->cpu_fail++;
            } else if (rc != FL_OK) {
                s->other++;
            }
        }
    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    return NULL;
}

static int spurious(int argc, char **argv)
{
    double secs = argc > 2 && atof(argv[2]) > 0 ? atof(argv[2]) : 60;
    int nth = argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 8;
    if (nth > 64) nth = 64;
    const char *src = "rule 'h' { when = { domain = 'h' }, category = 'unavailable', handler = function(ev, d)\n"
                      "  local host = (ev.message or ''):match('([%w%.]+):%d+')\n"
                      "  return { message_id = host and 'unavailable.host' or 'unavailable' } end }\n";
    fl_engine_t *e;
    fl_diag_t diag;
    fl_engine_new(NULL, &e); /* default budget: 10 ms of CPU, wall limit 5 s */
    if (fl_engine_load_string(e, "s.lua", src, strlen(src), &diag) != FL_OK) {
        fprintf(stderr, "bench_sandbox: %s\n", diag.message);
        return 1;
    }
    struct spur s[64];
    pthread_t th[64];
    for (int i = 0; i < nth; i++) {
        s[i] = (struct spur){e, secs, 0, 0, 0, 0};
        pthread_create(&th[i], NULL, spur_thread, &s[i]);
    }
    unsigned long n = 0, cpu = 0, wall = 0, other = 0;
    for (int i = 0; i < nth; i++) {
        pthread_join(th[i], NULL);
        n += s[i].n;
        cpu += s[i].cpu_fail;
        wall += s[i].wall_fail;
        other += s[i].other;
    }
    fl_engine_stats_t st;
    fl_engine_stats(e, &st);
    printf("spurious budget failures: %d deciding threads for %.0f s, a ~2 us handler, default budget (10 ms CPU)\n",
           nth, secs);
    printf("   %lu handler decisions, %lu CPU-budget failures, %lu wall-limit failures, %lu other failures "
           "(engine counter cpu_budget: %llu)\n",
           n, cpu, wall, other, (unsigned long long)st.failures[FL_FAIL_CPU_BUDGET]);
    fl_engine_free(e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "spurious") == 0) return spurious(argc, argv);
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
    {
        /* The budget's own cost per call: arm + disarm with the watchdog
         * (best of 10 runs of 20,000: robust to other load on the machine). */
        struct fl_lmem m = {.cap = 8u << 20};
        lua_State *L = fl_sandbox_new(&m, 1, &diag);
        fl_sbx_attach(sbx, &m);
        double best = 1e18, best_count = 1e18;
        for (int r = 0; r < 10; r++) {
            uint64_t t0 = fl_mono_ns();
            for (int i = 0; i < 20000; i++) {
                fl_sandbox_arm(L, &m, 10000, 1000000);
                fl_sandbox_disarm(L, &m);
            }
            double ns = (double)(fl_mono_ns() - t0) / 20000;
            if (ns < best) best = ns;
        }
        fl_sbx_detach(&m);
        for (int r = 0; r < 10; r++) { /* count-hook mode reads the CPU clock at arm */
            uint64_t t0 = fl_mono_ns();
            for (int i = 0; i < 20000; i++) {
                fl_sandbox_arm(L, &m, 10000, 1000000);
                fl_sandbox_disarm(L, &m);
            }
            double ns = (double)(fl_mono_ns() - t0) / 20000;
            if (ns < best_count) best_count = ns;
        }
        lua_close(L);
        printf("   arm + disarm of one call: watchdog mode %.0f ns, count-hook mode %.0f ns (best of 10)\n", best,
               best_count);
    }
    fl_sbx_free(sbx);
    fl_engine_free(e);

    stop_latency();
    cstack_on_small_stack();
    for (int i = 0; i < n; i++) fl_event_free(evs[i]);
    free(evs);
    return 0;
}
