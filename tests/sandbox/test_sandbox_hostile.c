/*
 * test_sandbox_hostile.c -- hostile policies (docs/sandbox.md).
 *
 * Each case is a handler body planted in a small policy.  For each one the
 * test asserts that
 *   - the decision is the policy's safe one with `error` set (or, for the
 *     cases marked OK, a normal decision -- e.g. tricks on the returned
 *     table that raw access ignores),
 *   - the deciding thread's CPU time for the call stayed within the budget
 *     plus a margin (budget 10 ms of CPU, asserted < 50 ms; the measured
 *     figures are printed).  The budget counts CPU time, so this holds on a
 *     loaded machine too, where wall time says nothing about the engine;
 *     wall time is only checked against a loose sanity bound,
 *   - the engine then decides a normal event correctly, on the same context.
 * The whole suite runs on a thread with a 256 KiB stack, the documented
 * minimum for a host thread that decides (C-stack recursion through library
 * functions must be stopped well before it).
 * Further cases cover load-time hostility (top-level loops, metatables and
 * size bombs in declarations), a catastrophic PCRE2 pattern in a declarative
 * rule, the JIT, the failure counters and the once-per-kind log.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>

#include "core.h"
#include "sandbox.h"
#include "faultline.h"

#define BUDGET_US 10000
#define BOUND_MS 50.0     /* CPU ms of the deciding thread for one stopped call */
#define WALL_SANITY_MS 30000.0 /* the call returns at all (default wall limit 5 s) */
/* A runaway call is stopped by the watchdog thread; on an overloaded machine
 * that thread can be starved for many milliseconds while the deciding thread
 * still runs (seen: 111 ms of CPU within 6.4 s of wall time at load 17 on 2
 * cores).  The outcome is asserted on every try; the CPU-time bound must
 * hold on one of TRIES tries. */
#define TRIES 3

/* This thread's CPU time in ns: what the budget counts. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double g_wall_ms; /* wall time of the last decide() */

enum { SAFE, OK };

typedef struct hcase {
    const char *name;
    int expect;          /* SAFE: safe decision with error; OK: a normal one */
    const char *kind;    /* expected error kind in the decision, or NULL */
    const char *body;    /* handler body */
} hcase;

static const hcase k_cases[] = {
    /* ---- escapes ------------------------------------------------------ */
    {"io", SAFE, NULL, "return { message = io.open('/etc/passwd'):read('*a') }"},
    {"os.execute", SAFE, NULL, "os.execute('touch /tmp/fl-pwned')"},
    {"os.getenv", SAFE, NULL, "return { message = os.getenv('HOME') }"},
    {"require ffi", SAFE, NULL, "local ffi = require('ffi') ffi.cdef('int system(const char*);')"},
    {"jit on", SAFE, NULL, "(jit or require('jit')).on() while true do end"},
    {"loadstring", SAFE, NULL, "return loadstring('return 1')()"},
    {"load binary", SAFE, NULL, "return load(string.dump(function() end))()"},
    {"dofile", SAFE, NULL, "dofile('/etc/passwd')"},
    {"debug registry", SAFE, NULL, "return debug.getregistry()"},
    {"string metatable", SAFE, NULL, "getmetatable('').__index = function() while true do end end"},
    {"collectgarbage", SAFE, NULL, "collectgarbage('stop')"},
    {"newproxy __gc", SAFE, NULL, "local p = newproxy(true) getmetatable(p).__gc = function() while true do end end"},
    {"setfenv", SAFE, NULL, "setfenv(0, {})"},
    {"package.loadlib", SAFE, NULL, "package.loadlib('libc.so.6', 'system')('id')"},
    {"overwrite rule()", SAFE, NULL, "rule = function() end"},
    {"overwrite string.find", SAFE, NULL, "string.find = function() while true do end end"},
    {"unprotect _G", SAFE, NULL, "setmetatable(_G, nil)"},
    {"metatable on library", SAFE, NULL, "setmetatable(string, { __index = function() while true do end end })"},
    {"rawset", SAFE, NULL, "rawset(_G, 'rule', 1)"},
    {"fl module absent", SAFE, NULL, "fl.storage.cleanup({ dir = '/' })"},
    /* ---- runaway CPU ---------------------------------------------------- */
    {"infinite loop", SAFE, "cpu_budget", "while true do end"},
    {"hot numeric loop (JIT candidate)", SAFE, "cpu_budget", "local x = 0 for i = 1, 1e15 do x = x + i % 7 end return { delay_ms = x }"},
    {"pcall swallows the budget", SAFE, "cpu_budget", "while true do pcall(function() while true do end end) end"},
    {"return pcall(loop)", SAFE, "cpu_budget", "return pcall(function() while true do end end)"},
    {"coroutine.wrap loop", SAFE, "cpu_budget", "coroutine.wrap(function() while true do end end)()"},
    {"coroutine ping-pong", SAFE, "cpu_budget",
     "local co = coroutine.create(function() while true do coroutine.yield() end end) while true do coroutine.resume(co) end"},
    {"xpcall handler loops", SAFE, "cpu_budget", "xpcall(function() error('x') end, function() while true do end end) while true do end"},
    {"tail call forever", SAFE, "cpu_budget", "local function f() return f() end return f()"},
    /* tostring is a guarded C function: the loop recurses on the C stack */
    {"__tostring loop via tostring", SAFE, "handler",
     "local t = setmetatable({}, { __tostring = function(x) return tostring(x) end }) return { message = tostring(t) }"},
    {"huge string compares", SAFE, NULL,
     "local s = string.rep('a', 2e6) local t = s .. 'b' while s < t do end"},
    {"lua pattern bomb (find)", SAFE, "cpu_budget",
     "return { message = tostring(string.find(string.rep('a', 1e5), string.rep('a*', 50) .. 'b')) }"},
    {"lua pattern bomb (gsub)", SAFE, "cpu_budget", "local s = string.rep('a', 3e4) s:gsub('a-a-a-a-a-a-b', '')"},
    {"lua pattern bomb (gmatch)", SAFE, "cpu_budget", "for x in string.rep('a', 3e4):gmatch('.-.-.-.-b') do end"},
    {"sort huge table", SAFE, NULL,
     "local t = {} for i = 1, 2e5 do t[i] = (i * 7919) % 100003 end for r = 1, 1e9 do table.sort(t, function(a, b) return a > b end) table.sort(t) end"},
    {"table.insert far position", SAFE, NULL, "local t = {} table.insert(t, -2^31, 1)"},
    {"os.date long format", SAFE, NULL, "return { message = os.date(string.rep('%c', 1e5)) }"},
    {"os.date odd conversion", SAFE, NULL, "return { message = os.date('%Ez %Q') }"},
    /* ---- memory ------------------------------------------------------- */
    {"table bomb", SAFE, NULL, "local t = {} while true do t[#t + 1] = { i = #t } end"},
    {"string doubling", SAFE, "memory_budget", "local s = 'x' while true do s = s .. s end"},
    {"string.rep bomb", SAFE, "memory_budget", "return { message = string.rep('x', 2^30) }"},
    {"table.concat bomb", SAFE, "memory_budget",
     "local t = {} local s = string.rep('y', 2^20) for i = 1, 64 do t[i] = s end return { message = table.concat(t) }"},
    /* ---- stacks ------------------------------------------------------- */
    {"deep recursion", SAFE, NULL, "local function f(n) return 1 + f(n + 1) end return { delay_ms = f(1) }"},
    {"vararg explosion", SAFE, NULL, "local function f(...) return f(1, ...) end return f()"},
    {"unpack too many", SAFE, NULL, "local t = {} return { delay_ms = select('#', unpack(t, 1, 1e8)) }"},
    {"gsub recursion (C stack)", SAFE, NULL, "local function f(s) return (s:gsub('.', f)) end return { message = f('ab') }"},
    {"coroutine recursion (C stack)", SAFE, NULL, "local function f() coroutine.wrap(f)() end f()"},
    {"resume recursion (C stack)", SAFE, NULL,
     "local function f() local ok, e = coroutine.resume(coroutine.create(f)) error(e, 0) end f()"},
    /* C functions that call back into Lua from C: string.format's __tostring,
     * os.time's __index (SIGSEGV on a 512 KiB stack before they were guarded) */
    {"format __tostring recursion", SAFE, "handler",
     "local t t = setmetatable({}, { __tostring = function(x) local s = string.format('%s', x) return s end }) "
     "return { message = string.format('%s', t) }"},
    {"format method via tostring", SAFE, "handler",
     "local t t = setmetatable({}, { __tostring = function(x) local s = ('%s'):format(x) return s end }) "
     "return { message = tostring(t) }"},
    {"os.time __index recursion", SAFE, "handler",
     "return { delay_ms = os.time(setmetatable({}, { __index = os.time })) }"},
    /* library functions as their own metamethods: LuaJIT crashes (pcall)
     * or loops without running an instruction (tostring) */
    {"__call = pcall", OK, NULL, "local t = setmetatable({}, { __call = pcall }) return { message = tostring(pcall(t)) }"},
    {"__call = xpcall", SAFE, NULL,
     "local t = setmetatable({}, { __call = xpcall }) local r = { xpcall(t, t) } error(tostring(r[2]))"},
    {"__tostring = tostring", SAFE, "handler", "local t = setmetatable({}, { __tostring = tostring }) return { message = tostring(t) }"},
    {"sort comparator recursion", SAFE, NULL,
     "local t = {3, 2, 1} local function c(a, b) table.sort(t, c) return a < b end table.sort(t, c)"},
    {"gsub table __index recursion", SAFE, NULL,
     "local mt = {} mt.__index = function(t, k) return ('a'):gsub('a', t) end return { message = setmetatable({}, mt).x }"},
    /* ---- error objects -------------------------------------------------- */
    {"error __tostring throws", SAFE, "handler", "error(setmetatable({}, { __tostring = function() error('boom') end }))"},
    {"error __tostring loops", SAFE, "handler", "error(setmetatable({}, { __tostring = function() while true do end end }))"},
    {"huge error string", SAFE, "handler", "error(string.rep('x', 1e6))"},
    {"invalid UTF-8 error", SAFE, "handler", "error('\\255\\254 bad \\192')"},
    {"error with nil", SAFE, "handler", "error()"},
    {"__gc on a table", SAFE, NULL, "setmetatable({}, { __gc = function() while true do end end }) return 42"},
    /* ---- returns -------------------------------------------------------- */
    {"number return", SAFE, "handler", "return 42"},
    {"function return", SAFE, "handler", "return print or error"},
    {"huge message", SAFE, "handler", "return { message = string.rep('x', 1e6) }"},
    {"too many fields", SAFE, "handler", "local t = {} for i = 1, 100 do t['k' .. i] = i end return t"},
    {"unknown category", SAFE, "handler", "return { category = 'pwned' }"},
    {"attempts_left huge", SAFE, "handler", "return { attempts_left = 1e300 }"},
    {"delay NaN", SAFE, "handler", "return { action = 'retry', delay_ms = 0/0 }"},
    {"params DAG bomb", SAFE, "handler", "local t = {} for i = 1, 40 do t = { t, t } end return { params = t }"},
    {"params cycle", SAFE, "handler", "local t = {} t.self = t return { params = t }"},
    {"non-string key", SAFE, "handler", "return { [1] = 'x' }"},
    {"invalid UTF-8 category", SAFE, "handler", "return { category = '\\255' .. string.rep('z', 5000) }"},
    /* embedded NUL: C reads returned strings as C strings */
    {"NUL in a key", SAFE, "handler", "return { ['action\\0junk'] = 'retry' }"},
    {"NUL in category", SAFE, "handler", "return { category = 'internal\\0garbage' }"},
    {"NUL in action", SAFE, "handler", "return { action = 'retry\\0' }"},
    {"NUL in message", SAFE, "handler", "return { message = 'visible\\0hidden' }"},
    {"NUL in message_id", SAFE, "handler", "return { message_id = 'm\\0x' }"},
    {"NUL in a params string", SAFE, "handler", "return { params = { a = 'x\\0y' } }"},
    {"NUL in the error text", SAFE, "handler", "error('before\\0after')"},
    /* ---- tricks that raw access ignores (normal decisions) -------------- */
    {"__index/__pairs on the return", OK, NULL,
     "return setmetatable({}, { __index = function() while true do end end, __pairs = function() while true do end end })"},
    {"__index on params", OK, NULL,
     "return { params = setmetatable({ a = 1 }, { __index = function() while true do end end }) }"},
    {"long message is cut", OK, NULL, "return { message = string.rep('\\226\\130\\172', 1000) }"},
    {"tostring of huge numbers", OK, NULL, "return { message = tostring(2^1023 * 2) .. tostring(-(0/0)) .. tostring(2^63) }"},
};

static const char k_policy_fmt[] =
    "policy { name = 'hostile', safe = { category = 'internal', severity = 'critical', recovery = fail() } }\n"
    "rule 'ok' { when = { domain = 'ok' }, category = 'not_found' }\n"
    "rule 'warm' { when = { domain = 'warm' }, category = 'aborted', handler = function(ev, d) return nil end }\n"
    "rule 'evil' { when = { domain = 'evil' }, category = 'unavailable', handler = function(ev, d)\n"
    "%s\n"
    "end }\n";

typedef struct fx {
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_event_t *ev;
    int logged[FL_FAIL_KIND_COUNT_];
} fx;

static void on_failure(void *user, fl_failure_kind kind, int status, const char *vid, const char *detail)
{
    (void)status, (void)vid, (void)detail;
    ((fx *)user)->logged[kind]++;
}

static int fx_open(fx *f, const char *src, size_t cap)
{
    memset(f, 0, sizeof *f);
    fl_engine_options_t o = {0};
    o.handler_budget_us = BUDGET_US;
    o.lua_memory_cap = cap ? cap : 8u << 20;
    o.on_failure = on_failure;
    o.on_failure_user = f;
    assert_int_equal(fl_engine_new(&o, &f->e), FL_OK);
    fl_diag_t diag;
    int rc = fl_engine_load_string(f->e, "hostile.lua", src, strlen(src), &diag);
    if (rc != FL_OK) return rc;
    assert_int_equal(fl_ctx_new(f->e, &f->ctx), FL_OK);
    assert_int_equal(fl_decision_new(&f->d), FL_OK);
    assert_int_equal(fl_event_new(&f->ev), FL_OK);
    return FL_OK;
}

static void fx_close(fx *f)
{
    fl_event_free(f->ev);
    fl_decision_free(f->d);
    fl_ctx_free(f->ctx);
    fl_engine_free(f->e);
}

static int decide(fx *f, const char *domain, const char *message, double *ms)
{
    fl_event_reset(f->ev);
    fl_event_set(f->ev, FL_FIELD_DOMAIN, domain, (size_t)-1);
    if (message) fl_event_set(f->ev, FL_FIELD_MESSAGE, message, (size_t)-1);
    uint64_t t0 = fl_mono_ns(), c0 = cpu_ns();
    int rc = fl_decide(f->ctx, f->ev, NULL, 0, f->d);
    if (ms) *ms = (double)(cpu_ns() - c0) / 1e6; /* CPU time */
    g_wall_ms = (double)(fl_mono_ns() - t0) / 1e6;
    return rc;
}

static void expect_normal(fx *f)
{
    assert_int_equal(decide(f, "ok", "plain", NULL), FL_OK);
    assert_string_equal(fl_decision_category(f->d), "not_found");
    assert_null(fl_decision_error(f->d));
    assert_non_null(fl_decision_to_json(f->d));
}

static void test_hostile_handlers(void **state)
{
    (void)state;
    size_t n = sizeof k_cases / sizeof k_cases[0];
    double worst = 0;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const hcase *c = &k_cases[i];
        char src[4096];
        snprintf(src, sizeof src, k_policy_fmt, c->body);
        fx f;
        assert_int_equal(fx_open(&f, src, 0), FL_OK);
        double ms = 0;
        int rc = 0, ok = 0;
        for (int try = 0; try < TRIES && !ok; try++) {
            /* Build the handler state first: the timed call measures the budget. */
            assert_int_equal(decide(&f, "warm", NULL, NULL), FL_OK);
            rc = decide(&f, "evil", "x", &ms);
            const char *err = fl_decision_error(f.d);
            const char *json = fl_decision_to_json(f.d);
            const char *kind = fl_decision_get(f.d, FL_DS_ERROR_KIND);
            printf("  %-34s cpu %6.2f ms (wall %7.2f)  rc=%-4d %-14s %.90s\n", c->name, ms, g_wall_ms, rc,
                   kind ? kind : "-", err ? err : "(no error)");
            ok = json != NULL && g_wall_ms < WALL_SANITY_MS;
            if (c->expect == SAFE) {
                ok = ok && rc != FL_OK && err && strlen(err) <= 1100 &&
                     strcmp(fl_decision_category(f.d), "internal") == 0 &&
                     fl_decision_action(f.d) == FL_ACTION_FAIL;
                if (c->kind) ok = ok && kind && strcmp(kind, c->kind) == 0;
                if (strcmp(c->name, "NUL in the error text") == 0) ok = ok && err && strstr(err, "before?after");
            } else {
                ok = ok && rc == FL_OK && !err;
                if (fl_decision_message(f.d)) ok = ok && strlen(fl_decision_message(f.d)) <= 1024;
        }
        if (!ok) break; /* a wrong outcome is never retried */
        ok = ms < BOUND_MS;
        if (!ok) printf("  (over the CPU bound: watchdog starved? trying again)\n");
        }
        if (!ok) {
            printf("  ^^^ FAILED: %s\n", c->name);
            failures++;
        }
        if (ms > worst) worst = ms;
        /* The engine keeps serving: a normal event, then the handler again. */
        expect_normal(&f);
        assert_int_equal(decide(&f, "warm", NULL, NULL), FL_OK);
        expect_normal(&f);
        fx_close(&f);
    }
    printf("  %zu hostile handlers, worst CPU time %.2f ms (budget %.0f ms, bound %.0f ms)\n", n, worst,
           BUDGET_US / 1000.0, BOUND_MS);
    assert_true(n >= 30);
    assert_int_equal(failures, 0);
}

/* ---- load time ----------------------------------------------------------- */

static void test_hostile_files(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *src;
        int status; /* primary code expected from the load */
    } files[] = {
        {"top-level loop", "while true do end", FL_EBUDGET},
        {"top-level memory bomb", "local s = 'x' while true do s = s .. s end", FL_EBUDGET},
        {"metatable on a rule", "rule 'r' (setmetatable({ category = 'internal' }, { __index = function() while true do end end }))", FL_EPOLICY},
        {"metatable deep in when", "rule 'r' { category = 'internal', when = setmetatable({}, { __index = function() while true do end end }) }", FL_EPOLICY},
        {"declaration DAG bomb", "local t = {} for i = 1, 40 do t = { t, t } end rule 'r' { category = 'internal', params = t }", FL_EPOLICY},
        {"declaration cycle", "local t = {} t[1] = t rule 'r' { category = 'internal', params = t }", FL_EPOLICY},
        {"binary chunk", "\033LJ\002", FL_EPOLICY},
        {"hijack rule()", "rule = function() end", FL_EPOLICY},
        {"io at load", "io.open('/etc/passwd')", FL_EPOLICY},
    };
    fx f;
    const char *good = "rule 'ok' { when = { domain = 'ok' }, category = 'not_found' }";
    assert_int_equal(fx_open(&f, good, 0), FL_OK);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        fl_diag_t diag;
        uint64_t t0 = cpu_ns();
        int rc = fl_engine_load_string(f.e, "bad.lua", files[i].src, strlen(files[i].src), &diag);
        double ms = (double)(cpu_ns() - t0) / 1e6; /* CPU time */
        printf("  load %-24s %8.2f ms  %s: %.80s\n", files[i].name, ms, fl_strerror(rc), diag.message);
        assert_int_equal(FL_PRIMARY(rc), files[i].status);
        assert_true(ms < 2500); /* loading has a 2 s CPU budget */
        expect_normal(&f);      /* the previous version keeps serving */
    }
    fx_close(&f);
}

/* ---- PCRE2 limits in declarative rules ------------------------------------ */

static void test_pcre_catastrophic(void **state)
{
    (void)state;
    const char *src = "rule 'cat' { when = { message = re'(a+)+$' }, category = 'internal' }\n"
                      "rule 'ok' { when = { domain = 'ok' }, category = 'not_found' }\n";
    fx f;
    assert_int_equal(fx_open(&f, src, 0), FL_OK);
    char msg[4096];
    memset(msg, 'a', sizeof msg - 2);
    msg[sizeof msg - 2] = 'b';
    msg[sizeof msg - 1] = '\0';
    double ms;
    int rc = decide(&f, "x", msg, &ms);
    printf("  (a+)+$ on 4 KiB of a..b: %.2f ms, match errors %llu, rule %s\n", ms,
           (unsigned long long)f.ctx->match_errors, fl_decision_rule(f.d));
    assert_int_equal(rc, FL_OK);
    assert_true(ms < BOUND_MS);
    assert_true(f.ctx->match_errors >= 1);
    assert_string_equal(fl_decision_rule(f.d), "default");
    expect_normal(&f);
    fx_close(&f);
}

/* ---- the JIT --------------------------------------------------------------- */

static int run_code(lua_State *L)
{
    luaL_loadstring(L, lua_touserdata(L, 1));
    lua_call(L, 0, 0);
    return 0;
}

static void test_jit_cannot_be_turned_on(void **state)
{
    (void)state;
    /* From policy code: every road to the jit module is closed. */
    const char *probe = "return { message = tostring(jit) .. tostring(rawget) .. tostring(require) .. "
                        "tostring(package) .. tostring(getfenv) .. tostring(debug) .. tostring(_G.jit) }";
    char src[4096];
    snprintf(src, sizeof src, k_policy_fmt, probe);
    fx f;
    assert_int_equal(fx_open(&f, src, 0), FL_OK);
    assert_int_equal(decide(&f, "evil", "x", NULL), FL_OK);
    assert_string_equal(fl_decision_message(f.d), "nilnilnilnilnilnilnil");
    fx_close(&f);

    /* From C: a state whose JIT was switched on (the library opened, so the
     * compiler really works) and which already holds a compiled trace for
     * a loop is still stopped: arming switches the compiler off and
     * flushes the traces.  Without the flush, f(1e15) below runs in its
     * trace forever (measured: the hook never fires). */
    struct fl_lmem m = {.cap = 8u << 20};
    fl_diag_t diag;
    lua_State *L = fl_sandbox_new(&m, 1, &diag);
    assert_non_null(L);
    lua_pushcfunction(L, luaopen_jit);
    lua_pushstring(L, "jit");
    lua_call(L, 1, 0);
    lua_settop(L, 0);
    luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    assert_int_equal(lua_cpcall(L, run_code,
                                "f = function(n) local x = 0 for i = 1, n do x = x + i % 7 end return x end f(1e6)"), 0);
    static const char *const loops[] = {"f(1e15)", "while true do end"};
    for (int i = 0; i < 2; i++) {
        uint64_t t0 = cpu_ns();
        fl_sandbox_arm(L, &m, BUDGET_US, 1000000);
        int rc = lua_cpcall(L, run_code, (void *)loops[i]);
        fl_sandbox_disarm(L, &m);
        double ms = (double)(cpu_ns() - t0) / 1e6;
        printf("  JIT switched on, trace compiled, then armed: %-18s stopped after %.2f ms CPU\n", loops[i], ms);
        assert_int_not_equal(rc, 0);
        assert_true(m.cpu_hit);
        assert_true(ms < BOUND_MS);
        lua_settop(L, 0);
        luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    }
    lua_close(L);
}

/* ---- the budget counts CPU time; a separate wall-clock limit ---------------- */

/* A host function that waits without using CPU (like a binding in fsync). */
static int c_sleep(lua_State *L)
{
    double ms = luaL_checknumber(L, 1);
    struct timespec ts = {0, (long)(ms * 1e6)};
    while (nanosleep(&ts, &ts) != 0) {}
    return 0;
}

static int run_armed(lua_State *L, struct fl_lmem *m, uint32_t budget_us, uint32_t wall_us, const char *code)
{
    fl_sandbox_arm(L, m, budget_us, wall_us);
    int rc = luaL_loadstring(L, code) || lua_pcall(L, 0, 0, 0);
    fl_sandbox_disarm(L, m);
    lua_settop(L, 0);
    return rc;
}

static void test_budget_counts_cpu_time(void **state)
{
    (void)state;
    for (int wd = 0; wd < 2; wd++) { /* count-hook mode, then with the watchdog */
        struct fl_lmem m = {.cap = 8u << 20};
        fl_diag_t diag;
        lua_State *L = fl_sandbox_new(&m, 1, &diag);
        assert_non_null(L);
        struct fl_sbx *s = NULL;
        if (wd) {
            s = fl_sbx_new(NULL);
            assert_non_null(s);
            fl_sbx_attach(s, &m);
        }
        lua_newtable(L);
        lua_pushcfunction(L, c_sleep);
        lua_setfield(L, -2, "sleep");
        assert_int_equal(fl_sandbox_install(L, "host"), FL_OK);
        /* 60 ms of waiting (no CPU) and a little work, within a 10 ms CPU
         * budget: not a budget failure.  With a wall-clock budget it was. */
        uint64_t t0 = fl_mono_ns();
        int rc = run_armed(L, &m, BUDGET_US, 1000000,
                           "for i = 1, 3 do host.sleep(20) local x = 0 for j = 1, 1000 do x = x + j end end");
        printf("  %s: 3 x 20 ms asleep in a host function, budget 10 ms CPU: rc %d, cpu_hit %d (%.1f ms wall)\n",
               wd ? "watchdog" : "count hook", rc, m.cpu_hit, (double)(fl_mono_ns() - t0) / 1e6);
        assert_int_equal(rc, 0);
        assert_false(m.cpu_hit);
        /* The wall-clock limit stops a call that waits too long. */
        rc = run_armed(L, &m, BUDGET_US, 30000, "host.sleep(60) while true do end");
        assert_int_not_equal(rc, 0);
        assert_true(m.cpu_hit);
        assert_true(m.wall_hit);
        /* Computing is stopped by the CPU budget, not the wall limit. */
        uint64_t c0 = cpu_ns();
        rc = run_armed(L, &m, BUDGET_US, 5000000, "while true do end");
        double ms = (double)(cpu_ns() - c0) / 1e6;
        printf("  %s: runaway loop stopped after %.2f ms CPU\n", wd ? "watchdog" : "count hook", ms);
        assert_int_not_equal(rc, 0);
        assert_true(m.cpu_hit);
        assert_false(m.wall_hit);
        assert_true(ms < BOUND_MS);
        fl_sbx_detach(&m);
        lua_close(L);
        fl_sbx_free(s);
    }
}

/* ---- counters and the once-per-kind log ------------------------------------ */

static void test_counted_and_logged_once(void **state)
{
    (void)state;
    const char *src =
        "rule 'ok' { when = { domain = 'ok' }, category = 'not_found' }\n"
        "rule 'err' { when = { domain = 'err' }, category = 'internal', handler = function() error('x') end }\n"
        "rule 'cpu' { when = { domain = 'cpu' }, category = 'internal', handler = function() while true do end end }\n"
        "rule 'mem' { when = { domain = 'mem' }, category = 'internal', handler = function() local s = 'x' while true do s = s .. s end end }\n"
        "rule 'ret' { when = { domain = 'ret' }, category = 'internal', handler = function() return 1 end }\n";
    fx f;
    assert_int_equal(fx_open(&f, src, 0), FL_OK);
    const char *doms[] = {"err", "cpu", "mem", "ret"};
    for (int round = 0; round < 5; round++)
        for (int i = 0; i < 4; i++) {
            double ms;
            assert_int_not_equal(decide(&f, doms[i], NULL, &ms), FL_OK);
            assert_true(ms < BOUND_MS + 20); /* includes rebuilding the state */
            expect_normal(&f);
        }
    fl_engine_stats_t st;
    assert_int_equal(fl_engine_stats(f.e, &st), FL_OK);
    assert_int_equal(st.failures[FL_FAIL_HANDLER_ERROR], 5);
    assert_int_equal(st.failures[FL_FAIL_CPU_BUDGET], 5);
    assert_int_equal(st.failures[FL_FAIL_MEMORY_BUDGET], 5);
    assert_int_equal(st.failures[FL_FAIL_BAD_RETURN], 5);
    assert_int_equal(st.states_reset, 20);
    for (int k = 0; k < FL_FAIL_MATCH_LIMIT; k++) assert_int_equal(f.logged[k], 1);
    assert_string_equal(fl_failure_kind_name(FL_FAIL_CPU_BUDGET), "cpu_budget");
    assert_int_equal(fl_engine_stats(NULL, &st), FL_EINVAL);
    fx_close(&f);
}

/* ---- Lua patterns: the metered matcher keeps Lua's semantics --------------- */

static void test_pattern_semantics(void **state)
{
    (void)state;
    static const struct {
        const char *expr, *want;
    } cases[] = {
        {"string.find('hello world', 'o w')", "5 7"},
        {"string.find('hello', 'l+')", "3 4"},
        {"string.find('a.b', '.', 1, true)", "2 2"},
        {"string.find('abc', '', 10)", "4 3"},
        {"string.find('abc', 'b', -1)", "nil"},
        {"string.find('abc', 'b', -2)", "2 2"},
        {"string.match('key = value', '(%w+)%s*=%s*(%w+)')", "key value"},
        {"string.match('  x', '^%s*()')", "3"},
        {"string.match('f(a(b)c)', '%b()')", "(a(b)c)"},
        {"string.match('THE (quick) fox', '%f[%a]%a+')", "THE"},
        {"string.match('hello hello', '(h%a+) %1')", "hello"},
        {"string.match('2024-01-02', '(%d+)-(%d+)-(%d+)')", "2024 01 02"},
        {"string.match('abc', '[^a]+')", "bc"},
        {"string.match('a-b', '[%-]')", "-"},
        {"string.match('x123', '%a%d-$')", "x123"},
        {"string.match('aaa', 'a-b')", "nil"},
        {"string.match('aaab', 'a?a?b')", "aab"},
        {"string.gsub('hello world', 'o', '0')", "hell0 w0rld 2"},
        {"string.gsub('abc', '%w', '%0%0')", "aabbcc 3"},
        {"string.gsub('abc', '', '-')", "-a-b-c- 4"},
        {"string.gsub('hello world', '(%w+)', '<%1>')", "<hello> <world> 2"},
        {"string.gsub('abc', 'b', { b = 'B' })", "aBc 1"},
        {"string.gsub('abc', '%w', function(c) return c:upper() end, 2)", "ABc 2"},
        {"string.gsub('abc', '^a', 'x')", "xbc 1"},
        {"table.concat({ ('a,b,,c'):match('([^,]*),([^,]*),([^,]*),([^,]*)') }, '|')", "a|b||c"},
    };
    struct fl_lmem m = {.cap = 8u << 20};
    fl_diag_t diag;
    lua_State *L = fl_sandbox_new(&m, 1, &diag);
    assert_non_null(L);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char code[512];
        snprintf(code, sizeof code,
                 "local r = { %s } local o = {} for i = 1, select('#', unpack(r)) do o[#o + 1] = tostring(r[i]) end "
                 "if #o == 0 then return 'nil' end return table.concat(o, ' ')",
                 cases[i].expr);
        fl_sandbox_arm(L, &m, 1000000, 4000000);
        int rc = luaL_loadstring(L, code) || lua_pcall(L, 0, 1, 0);
        fl_sandbox_disarm(L, &m);
        const char *got = lua_tostring(L, -1);
        if (rc || strcmp(got, cases[i].want) != 0) printf("  %s -> %s (want %s)\n", cases[i].expr, got, cases[i].want);
        assert_int_equal(rc, 0);
        assert_string_equal(got, cases[i].want);
        lua_pop(L, 1);
    }
    lua_close(L);
}

/* ---- the fl module is read-only and guarded -------------------------------- */

static void test_fl_module_read_only(void **state)
{
    (void)state;
    fl_bindings_t *b;
    assert_int_equal(fl_bindings_new(NULL, &b), FL_OK);
    static const struct {
        const char *body;
        int ok;
    } cases[] = {
        {"return { message = type(fl.resource.memory) .. type(fl.storage.cleanup) }", 1},
        {"fl.storage.cleanup = function() end", 0},
        {"fl.resource = {}", 0},
        {"fl = {}", 0},
        {"setmetatable(fl.storage, {})", 0},
        {"local t = setmetatable({}, { __index = function(t, k) return fl.storage.cleanup(t) end }) "
         "fl.storage.cleanup(t)", 0},
        {"local t = setmetatable({}, { __index = function() while true do end end }) fl.storage.cleanup(t)", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char src[4096];
        snprintf(src, sizeof src, k_policy_fmt, cases[i].body);
        fl_engine_options_t o = {0};
        o.handler_budget_us = BUDGET_US;
        o.bindings = b;
        fl_engine_t *e;
        fl_ctx_t *ctx;
        fl_decision_t *d;
        fl_event_t *ev;
        fl_diag_t diag;
        assert_int_equal(fl_engine_new(&o, &e), FL_OK);
        assert_int_equal(fl_engine_load_string(e, "fl.lua", src, strlen(src), &diag), FL_OK);
        fl_ctx_new(e, &ctx);
        fl_decision_new(&d);
        fl_event_new(&ev);
        fl_event_set(ev, FL_FIELD_DOMAIN, "evil", 4);
        uint64_t t0 = cpu_ns();
        int rc = fl_decide(ctx, ev, NULL, 0, d);
        double ms = (double)(cpu_ns() - t0) / 1e6;
        printf("  fl: %-60.60s %6.2f ms CPU %s\n", cases[i].body, ms,
               fl_decision_error(d) ? fl_decision_error(d) : fl_decision_message(d));
        if (cases[i].ok) {
            assert_int_equal(rc, FL_OK);
            assert_string_equal(fl_decision_message(d), "functionfunction");
        } else {
            assert_int_not_equal(rc, FL_OK);
            assert_non_null(fl_decision_error(d));
        }
        assert_true(ms < BOUND_MS);
        fl_event_free(ev);
        fl_decision_free(d);
        fl_ctx_free(ctx);
        fl_engine_free(e);
    }
    fl_bindings_free(b);
}

/* ---- isolation: nothing a handler writes is seen by another context -------- */

static const char k_iso_src[] =
    "local shared = {}\n"
    "rule 'w' { when = { domain = 'w' }, category = 'internal', handler = function(ev, d, state)\n"
    "  LEAK = 'A' state.secret = 'A' shared.x = 'A' end }\n"
    "rule 'r' { when = { domain = 'r' }, category = 'internal', handler = function(ev, d, state)\n"
    "  return { message = tostring(LEAK) .. ' ' .. tostring(state.secret) .. ' ' .. tostring(shared.x) } end }\n"
    "rule 'g' { when = { domain = 'g' }, category = 'internal', handler = function(ev, d, state)\n"
    "  local before = tostring(G) G = 'set' return { message = before .. ' ' .. G } end }\n"
    "rule 'fail' { when = { domain = 'fail' }, category = 'internal', handler = function() error('x') end }\n";

static const char *iso_decide(fl_ctx_t *ctx, fl_event_t *ev, fl_decision_t *d, const char *dom)
{
    fl_event_reset(ev);
    fl_event_set(ev, FL_FIELD_DOMAIN, dom, strlen(dom));
    if (fl_decide(ctx, ev, NULL, 0, d) != FL_OK) return "(failed)";
    return fl_decision_message(d) ? fl_decision_message(d) : "(none)";
}

static void test_isolation_between_contexts(void **state)
{
    (void)state;
    fl_engine_options_t o = {0};
    o.handler_budget_us = BUDGET_US;
    fl_engine_t *e;
    fl_diag_t diag;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "iso.lua", k_iso_src, strlen(k_iso_src), &diag), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    char v1[17];
    snprintf(v1, sizeof v1, "%s", vi.id);
    fl_event_t *ev;
    fl_decision_t *d;
    fl_ctx_t *a, *b[4];
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_ctx_new(e, &a), FL_OK);
    /* Same context: globals are fresh for every call, the state table and
     * the file's own values stay. */
    assert_string_not_equal(iso_decide(a, ev, d, "w"), "(failed)");
    assert_string_equal(iso_decide(a, ev, d, "r"), "nil A A");
    assert_string_equal(iso_decide(a, ev, d, "g"), "nil set");
    assert_string_equal(iso_decide(a, ev, d, "g"), "nil set");
    /* Version 2 loads (a parks its version-1 state), then version 1 is
     * rolled back: new contexts on version 1 must not adopt a's state. */
    char v2src[sizeof k_iso_src + 16];
    snprintf(v2src, sizeof v2src, "%s-- v2\n", k_iso_src);
    assert_int_equal(fl_engine_load_string(e, "iso.lua", v2src, strlen(v2src), &diag), FL_OK);
    assert_string_equal(iso_decide(a, ev, d, "r"), "nil nil nil");
    assert_int_equal(fl_engine_rollback(e, v1, &diag), FL_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fl_ctx_new(e, &b[i]), FL_OK);
        const char *got = iso_decide(b[i], ev, d, "r");
        printf("  ctx B%d on the rolled-back version reads: %s\n", i, got);
        assert_string_equal(got, "nil nil nil");
    }
    assert_string_equal(iso_decide(a, ev, d, "r"), "nil nil nil");
    /* After a failure the context's state is rebuilt: its state table too. */
    assert_string_not_equal(iso_decide(a, ev, d, "w"), "(failed)");
    assert_string_equal(iso_decide(a, ev, d, "fail"), "(failed)");
    assert_string_equal(iso_decide(a, ev, d, "r"), "nil nil nil");
    for (int i = 0; i < 4; i++) fl_ctx_free(b[i]);
    fl_ctx_free(a);
    fl_decision_free(d);
    fl_event_free(ev);
    fl_engine_free(e);
}

/* ---- every library function, recursing through every metamethod ---------- */

/* For each function a policy can reach and a few argument shapes, a table
 * whose every metamethod calls the function again with the same arguments
 * (through a Lua function, or the function itself as the metamethod):
 * any C function that re-enters Lua from C recurses on the C stack.  Each
 * attempt runs under pcall; the process must survive (this suite runs on a
 * 256 KiB stack) and every attempt must end. */
static const char k_every_fn[] =
    "local names = { 'assert', 'error', 'ipairs', 'next', 'pairs', 'pcall', 'select', 'tonumber', 'tostring',\n"
    "  'type', 'unpack', 'xpcall', 'setmetatable', 'getmetatable', 'rawequal',\n"
    "  'string.byte', 'string.char', 'string.find', 'string.format', 'string.gmatch', 'string.gsub',\n"
    "  'string.len', 'string.lower', 'string.match', 'string.rep', 'string.reverse', 'string.sub', 'string.upper',\n"
    "  'table.concat', 'table.insert', 'table.maxn', 'table.remove', 'table.sort',\n"
    "  'math.abs', 'math.ceil', 'math.floor', 'math.fmod', 'math.max', 'math.min', 'math.modf', 'math.pow',\n"
    "  'math.random', 'math.sqrt', 'math.ldexp', 'math.frexp', 'bit.tobit', 'bit.tohex', 'bit.band', 'bit.bor',\n"
    "  'bit.lshift', 'os.time', 'os.clock', 'os.date', 'os.difftime',\n"
    "  'coroutine.create', 'coroutine.resume', 'coroutine.running', 'coroutine.status', 'coroutine.wrap',\n"
    "  'coroutine.yield' }\n"
    "local tested, cstack = 0, 0\n"
    "for _, name in ipairs(names) do\n"
    "  local a, b = name:match('^(%w+)%.(%w+)$')\n"
    "  local f = a and _G[a][b] or _G[name]\n"
    "  assert(type(f) == 'function', name)\n"
    "  for direct = 0, 1 do for shape = 1, 7 do\n"
    "    local t\n"
    "    local function args()\n"
    "      if shape == 1 then return t elseif shape == 2 then return '%s', t elseif shape == 3 then return t, t\n"
    "      elseif shape == 4 then return 'x', 'x', t elseif shape == 5 then return 1, t\n"
    "      elseif shape == 6 then return { t, t, t } else return t, 1, t end\n"
    "    end\n"
    "    local function again() local r = f(args()) return r end\n"
    "    local function mm() local r = again() return r end\n"
    "    local m = direct == 1 and f or mm -- the C function itself as the metamethod, or a Lua one\n"
    "    t = setmetatable({}, { __index = m, __newindex = m, __tostring = m, __lt = m, __le = m, __eq = m,\n"
    "                           __concat = m, __call = m, __unm = m, __add = m, __len = m })\n"
    "    local ok, e = pcall(again)\n"
    "    tested = tested + 1\n"
    "    if not ok and type(e) == 'string' and e:find('C stack overflow', 1, true) then cstack = cstack + 1 end\n"
    "  end end\n"
    "end\n"
    "return { message = tested .. ' ' .. cstack .. ' ' .. #names }\n";

static void test_cstack_every_library_function(void **state)
{
    (void)state;
    char src[8192];
    snprintf(src, sizeof src,
             "rule 'ok' { when = { domain = 'ok' }, category = 'not_found' }\n"
             "rule 'evil' { when = { domain = 'evil' }, category = 'unavailable', handler = function(ev, d)\n%s\nend }\n",
             k_every_fn);
    fl_engine_options_t o = {0};
    o.handler_budget_us = 20000000; /* hundreds of recursions: a large budget */
    o.handler_wall_us = 120000000;
    o.lua_memory_cap = 64u << 20;
    fl_engine_t *e;
    fl_ctx_t *ctx;
    fl_decision_t *d;
    fl_event_t *ev;
    fl_diag_t diag;
    assert_int_equal(fl_engine_new(&o, &e), FL_OK);
    assert_int_equal(fl_engine_load_string(e, "every.lua", src, strlen(src), &diag), FL_OK);
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    fl_event_set(ev, FL_FIELD_DOMAIN, "evil", 4);
    uint64_t c0 = cpu_ns();
    int rc = fl_decide(ctx, ev, NULL, 0, d);
    double ms = (double)(cpu_ns() - c0) / 1e6;
    const char *msg = fl_decision_message(d);
    printf("  every library function x 7 argument shapes x 2, recursing through metamethods: %.1f ms CPU, "
           "rc %d, \"tested C-stack-errors functions\" = %s %s\n", ms, rc, msg ? msg : "-",
           fl_decision_error(d) ? fl_decision_error(d) : "");
    assert_int_equal(rc, FL_OK);
    unsigned tested = 0, cstack = 0, nfn = 0;
    assert_int_equal(sscanf(msg, "%u %u %u", &tested, &cstack, &nfn), 3);
    assert_true(nfn >= 60);
    assert_int_equal(tested, nfn * 7 * 2);
    assert_true(cstack >= 3); /* format, os.time, gsub, sort, ... hit the guard */
    fl_event_free(ev);
    fl_decision_free(d);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

/* The documented minimum stack of a host thread that decides. */
#define HOST_STACK (256u << 10)

static const struct CMUnitTest *g_tests;
static size_t g_ntests;

static void *run_suite(void *arg)
{
    (void)arg;
    static int rc;
    rc = _cmocka_run_group_tests("test_sandbox_hostile", g_tests, g_ntests, NULL, NULL);
    return &rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_semantics),
        cmocka_unit_test(test_hostile_handlers),
        cmocka_unit_test(test_hostile_files),
        cmocka_unit_test(test_pcre_catastrophic),
        cmocka_unit_test(test_jit_cannot_be_turned_on),
        cmocka_unit_test(test_budget_counts_cpu_time),
        cmocka_unit_test(test_counted_and_logged_once),
        cmocka_unit_test(test_fl_module_read_only),
        cmocka_unit_test(test_cstack_every_library_function),
        cmocka_unit_test(test_isolation_between_contexts),
    };
    /* Everything runs on a 256 KiB thread stack. */
    g_tests = tests;
    g_ntests = sizeof tests / sizeof tests[0];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (pthread_attr_setstacksize(&attr, HOST_STACK) != 0) return 2;
    pthread_t th;
    if (pthread_create(&th, &attr, run_suite, NULL) != 0) return 2;
    void *ret;
    pthread_join(th, &ret);
    pthread_attr_destroy(&attr);
    return *(int *)ret;
}
