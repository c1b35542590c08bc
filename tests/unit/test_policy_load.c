/*
 * test_policy_load.c -- loading policies from strings and directories.
 * Every schema error is FL_EPOLICY_* with the file, the line of the
 * declaration, a column > 0 and a message naming the key; syntax and runtime
 * errors carry Lua's position; bad patterns are FL_EPOLICY_PATTERN; a failing
 * example refuses the load and the previous version keeps serving; directory
 * problems are FL_ENOENT / FL_EIO; binary chunks and runaway files are
 * stopped.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "flt.h"
#include "util.h" /* fl_strbuf */

/* Load src as "p.lua" and check status, line, column > 0 and that the
 * message contains each of the needles (NULL-terminated list). */
static void expect_load_error(const char *src, int status, int line, ...)
{
    fl_diag_t d;
    int rc = flt_load_status(src, &d);
    char buf[1200];
    if (rc != status || (line && d.line != line))
        print_error("source:\n%s\n-> %s: %s\n", src, fl_strerror(rc), fl_diag_format(&d, buf, sizeof buf));
    assert_int_equal(rc, status);
    assert_int_equal(d.status, status);
    assert_string_equal(d.file, "p.lua");
    if (line) assert_int_equal(d.line, line);
    assert_true(d.line > 0);
    assert_true(d.col > 0);
    va_list ap;
    va_start(ap, line);
    for (const char *n; (n = va_arg(ap, const char *));) {
        if (!strstr(d.message, n)) print_error("message '%s' lacks '%s'\n", d.message, n);
        assert_non_null(strstr(d.message, n));
    }
    va_end(ap);
    /* The formatted form starts with file:line:col. */
    char want[64];
    snprintf(want, sizeof want, "p.lua:%d:%d: ", d.line, d.col);
    assert_true(strncmp(fl_diag_format(&d, buf, sizeof buf), want, strlen(want)) == 0);
}

#define SCHEMA(src, line, ...) expect_load_error(src, FL_EPOLICY_SCHEMA, line, __VA_ARGS__, (const char *)NULL)

static void test_schema_policy(void **s)
{
    (void)s;
    SCHEMA("policy { nme = \"x\" }\n", 1, "unknown key 'nme'", "policy");
    SCHEMA("\n\npolicy { name = 3 }\n", 3, "'name' must be a string");
    SCHEMA("policy { max_message_len = 5 }\n", 1, "'max_message_len'");
    SCHEMA("policy { max_message_len = \"long\" }\n", 1, "'max_message_len' must be a number");
    SCHEMA("policy { safe = 1 }\n", 1, "'safe' must be a table");
    SCHEMA("policy { safe = { category = \"nope\" } }\n", 1, "'nope' is not a category");
    SCHEMA("policy { safe = { colour = \"red\" } }\n", 1, "unknown key 'colour'", "policy.safe");
    SCHEMA("policy { default_locale = false }\n", 1, "'default_locale'");
    /* Column points at the key on the declaration's line. */
    fl_diag_t d;
    assert_int_equal(flt_load_status("policy { name = \"n\", bogus = 1 }\n", &d), FL_EPOLICY_SCHEMA);
    assert_int_equal(d.col, 22);
}

static void test_schema_category(void **s)
{
    (void)s;
    SCHEMA("category \"unavailable.\" { }\n", 1, "unavailable.", "canonical");
    SCHEMA("category \"flaky\" { }\n", 1, "'flaky'", "canonical");
    SCHEMA("category \"Unavailable\" { }\n", 1, "'Unavailable'");
    SCHEMA("category \"unavailable.DNS\" { }\n", 1, "'unavailable.DNS'");
    SCHEMA("category \"internal\" { }\ncategory \"internal\" { }\n", 2, "declared twice", "p.lua:1");
    SCHEMA("category \"internal\" { severity = \"loud\" }\n", 1, "severity must be one of");
    SCHEMA("category \"internal\" { severity = 3 }\n", 1, "severity");
    SCHEMA("category \"internal\" { retryable = \"yes\" }\n", 1, "retryable must be true or false");
    SCHEMA("category \"internal\" { status = 700 }\n", 1, "'status' must be between 100 and 599");
    SCHEMA("category \"internal\" { status = \"500\" }\n", 1, "'status' must be a number");
    SCHEMA("category \"internal\" { message = 5 }\n", 1, "'message' must be a string");
    SCHEMA("category \"internal\" { title = {} }\n", 1, "'title' must be a string");
    SCHEMA("category \"internal\" { recovery = \"retry\" }\n", 1, "recovery must be");
    SCHEMA("category \"internal\" { recovery = { __fl = \"teleport\" } }\n", 1, "recovery must be");
    SCHEMA("category \"internal\" { retryable = true, retryabel = true }\n", 1, "unknown key 'retryabel'",
           "category \"internal\"");
    /* retry { } keys */
    SCHEMA("category \"internal\" { recovery = retry { backof = \"linear\" } }\n", 1, "unknown key 'backof'");
    SCHEMA("category \"internal\" { recovery = retry { backoff = \"fibonacci\" } }\n", 1, "backoff must be");
    SCHEMA("category \"internal\" { recovery = retry { jitter = \"some\" } }\n", 1, "jitter must be");
    SCHEMA("category \"internal\" { recovery = retry { base_ms = -1 } }\n", 1, "'base_ms'");
    SCHEMA("category \"internal\" { recovery = retry { base_ms = \"100\" } }\n", 1, "'base_ms' must be a number");
    SCHEMA("category \"internal\" { recovery = retry { factor = 0.5 } }\n", 1, "'factor'");
    SCHEMA("category \"internal\" { recovery = retry { max_attempts = 0 } }\n", 1, "'max_attempts'");
    SCHEMA("category \"internal\" { recovery = retry { max_delay_ms = 1e12 } }\n", 1, "'max_delay_ms'");
    SCHEMA("category \"internal\" { recovery = retry { budget_ms = -5 } }\n", 1, "'budget_ms'");
    SCHEMA("category \"internal\" { recovery = retry { honor_retry_after = 1 } }\n", 1, "honor_retry_after must be a boolean");
    SCHEMA("category \"internal\" { recovery = fallback(function() end) }\n", 1, "'fallback'", "function");
}

static void test_schema_rule(void **s)
{
    (void)s;
    SCHEMA("rule \"r\" { category = \"internal\", colour = 1 }\n", 1, "unknown key 'colour'", "rule \"r\"");
    SCHEMA("rule \"r\" { category = \"flaky\" }\n", 1, "'flaky' is not one of the 16");
    SCHEMA("rule \"r\" { category = 5 }\n", 1, "'category' must be a string");
    SCHEMA("rule \"r\" { when = { message = \"x\" } }\n", 1, "needs a category");
    SCHEMA("rule \"r\" { category = \"internal\" }\n\nrule \"r\" { category = \"internal\" }\n", 3,
           "rule name used twice", "p.lua:1");
    SCHEMA("rule \"r\" { category = \"internal\", when = \"always\" }\n", 1, "'when' must be a table");
    SCHEMA("rule \"r\" { category = \"internal\", when = { mesage = \"x\" } }\n", 1,
           "unknown condition field 'mesage'");
    SCHEMA("rule \"r\" { category = \"internal\", when = { code = {} } }\n", 1, "'code': an empty set never matches");
    SCHEMA("rule \"r\" { category = \"internal\", when = { code = { {} } } }\n", 1, "'code': set members");
    SCHEMA("rule \"r\" { category = \"internal\", when = { code = true } }\n", 1, "'code'");
    SCHEMA("rule \"r\" { category = \"internal\", when = { attempt = \"2\" } }\n", 1, "'attempt': set members must be numbers");
    SCHEMA("rule \"r\" { category = \"internal\", when = { attempt = re\"2\" } }\n", 1, "'attempt' is numeric");
    SCHEMA("rule \"r\" { category = \"internal\", when = { code = range(10, 1) } }\n", 1, "range(10, 1) is empty");
    SCHEMA("rule \"r\" { category = \"internal\", when = { code = { __fl = \"maybe\" } } }\n", 1, "'code': expected a value");
    SCHEMA("rule \"r\" { category = \"internal\", when = { tags = \"x\" } }\n", 1, "'tags' must be a table");
    SCHEMA("rule \"r\" { category = \"internal\", when = { [1] = \"x\" } }\n", 1, "condition keys must be field names");
    SCHEMA("rule \"r\" { category = \"internal\", priority = \"high\" }\n", 1, "'priority' must be an integer");
    SCHEMA("rule \"r\" { category = \"internal\", handler = \"f\" }\n", 1, "'handler' must be a function");
    SCHEMA("rule \"r\" { category = \"internal\", params = 5 }\n", 1, "'params' must be a table");
    SCHEMA("rule \"r\" { category = \"internal\", params = { f = function() end } }\n", 1, "'f'", "function");
    SCHEMA("rule \"r\" { category = \"internal\", params = { [true] = 1 } }\n", 1, "table keys must be strings");
    SCHEMA("rule \"r\" { category = \"internal\", params = { x = 0/0 } }\n", 1, "finite");
    SCHEMA("rule \"r\" { category = \"internal\", params = { s = \"\\255\" } }\n", 1, "UTF-8");
    SCHEMA("rule \"r\" { category = \"internal\", severity = \"fatal\" }\n", 1, "severity must be one of");
    /* A rule spread over lines: the line of the declaration, column > 0. */
    SCHEMA("-- header\nrule \"multi\" {\n  category = \"internal\",\n  bogus = true,\n}\n", 2, "unknown key 'bogus'");
}

static void test_schema_messages_and_examples(void **s)
{
    (void)s;
    SCHEMA("messages \"en\" { unknown = 5 }\n", 1, "entries must be id = \"template\" strings");
    SCHEMA("messages \"en\" { unknown = \"oops {op\" }\n", 1, "message 'unknown'", "unclosed '{'");
    SCHEMA("messages \"en\" { unknown = \"oops } there\" }\n", 1, "unmatched '}'");
    SCHEMA("messages \"en\" { unknown = \"raw: {message}\" }\n", 1, "{message} is not available");
    SCHEMA("messages \"en\" { unknown = \"raw: {stack}\" }\n", 1, "{stack} is not available");
    SCHEMA("messages \"en\" { unknown = \"{bad name!}\" }\n", 1, "not a placeholder name");
    SCHEMA("messages \"en\" { internal = \"a\" }\nmessages \"en\" { internal = \"b\" }\n", 2,
           "message 'internal' is defined twice");
    SCHEMA("example \"e\" { expect = { category = \"unknown\" } }\n", 1, "'event' must be a table");
    SCHEMA("example \"e\" { event = {}, expect = \"unknown\" }\n", 1, "'expect' must be a table");
    SCHEMA("example \"e\" { event = {}, expect = {}, when = 1 }\n", 1, "unknown key 'when'");
    SCHEMA("example \"e\" { event = {}, expect = { \"unknown\" } }\n", 1, "'expect' must be a table with named fields");
}

static void test_syntax_error(void **s)
{
    (void)s;
    /* Unclosed table: Lua reports the line where it gave up. */
    fl_diag_t d;
    const char *src = "rule \"a\" { category = \"internal\" }\n"
                      "rule \"b\" { category = \"internal\"\n"
                      "rule \"c\" { category = \"internal\" }\n";
    assert_int_equal(flt_load_status(src, &d), FL_EPOLICY_SYNTAX);
    assert_string_equal(d.file, "p.lua");
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 1); /* near 'rule' */
    assert_non_null(strstr(d.message, "near 'rule'"));
    /* A stray token mid-line: the column points at it. */
    assert_int_equal(flt_load_status("local x = 1\nlocal y = 1 ! 2\n", &d), FL_EPOLICY_SYNTAX);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.col, 13);
    assert_non_null(strstr(d.message, "'!'"));
    /* Unfinished string. */
    expect_load_error("messages \"en\" { unknown = \"abc }\n", FL_EPOLICY_SYNTAX, 1, "unfinished string", NULL);
}

/* Declarations must be plain data (checked in C after the last file,
 * sandbox.c check_decl): each refusal with its message, and the same
 * values shared rather than nested still load. */
static void test_declarations_plain_data(void **s)
{
    (void)s;
    static const struct {
        const char *src, *msg;
    } k[] = {
        {"local t = {} t.x = t\nrule \"a\" { when = { code = \"1\" }, category = \"unknown\", params = t }\n",
         "declarations contain a cycle"},
        {"rule \"a\" { when = { code = \"1\" }, category = \"unknown\", params = { x = setmetatable({}, {}) } }\n",
         "a table in a declaration has a metatable: declarations must be plain data"},
        {"local t = {} local c = t for i = 1, 70 do c.x = {} c = c.x end\n"
         "rule \"a\" { when = { code = \"1\" }, category = \"unknown\", params = t }\n",
         "declarations are nested deeper than 64 tables"},
        {"local t = {1} for i = 1, 25 do t = {t, t} end\n"
         "rule \"a\" { when = { code = \"1\" }, category = \"unknown\", params = t }\n",
         "declarations are too large (over 4000000 values once shared tables are expanded)"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        fl_diag_t d;
        assert_int_equal(flt_load_status(k[i].src, &d), FL_EPOLICY_SCHEMA);
        if (strcmp(d.message, k[i].msg) != 0) print_error("case %zu: '%s'\n", i, d.message);
        assert_string_equal(d.message, k[i].msg);
    }
    fl_diag_t d;
    /* shared, not nested: 20 levels deep, 2^10 expanded values */
    assert_int_equal(flt_load_status("local t = {1} for i = 1, 10 do t = {t, t} end\n"
                                     "local c = {} local top = c for i = 1, 20 do c.x = {} c = c.x end\n"
                                     "rule \"a\" { when = { code = \"1\" }, category = \"unknown\","
                                     " params = { t = t, deep = top, again = t } }\n", &d), FL_OK);
}

static void test_runtime_error(void **s)
{
    (void)s;
    expect_load_error("local a = 1\nerror(\"policy refuses to load\")\n", FL_EPOLICY_RUNTIME, 2,
                      "policy refuses to load", NULL);
    expect_load_error("\n\nlocal t = nil\nlocal x = t.field\n", FL_EPOLICY_RUNTIME, 4, "index", NULL);
    /* The sandbox: no io, os.execute, require, load, debug. */
    expect_load_error("io.open(\"/etc/passwd\")\n", FL_EPOLICY_RUNTIME, 1, "io", NULL);
    expect_load_error("os.execute(\"true\")\n", FL_EPOLICY_RUNTIME, 1, "execute", NULL);
    expect_load_error("require(\"os\")\n", FL_EPOLICY_RUNTIME, 1, "require", NULL);
    expect_load_error("loadstring(\"return 1\")\n", FL_EPOLICY_RUNTIME, 1, "loadstring", NULL);
    expect_load_error("debug.getinfo(1)\n", FL_EPOLICY_RUNTIME, 1, "debug", NULL);
    expect_load_error("string.dump(print)\n", FL_EPOLICY_RUNTIME, 1, "dump", NULL);
    /* Declaration functions used wrongly. */
    expect_load_error("rule(42)\n", FL_EPOLICY_RUNTIME, 1, "expected a name", NULL);
    expect_load_error("rule \"x\" (\"not a table\")\n", FL_EPOLICY_RUNTIME, 1, "expected a table", NULL);
    expect_load_error("policy {}\npolicy {}\n", FL_EPOLICY_RUNTIME, 2, "declared twice", NULL);
    expect_load_error("local r = re(5)\n", FL_EPOLICY_RUNTIME, 1, "re: expected a pattern string", NULL);
    expect_load_error("local r = range(\"a\")\n", FL_EPOLICY_RUNTIME, 1, "range: bounds", NULL);
}

static void test_bad_pattern(void **s)
{
    (void)s;
    expect_load_error("rule \"r\" { category = \"internal\", when = { message = re\"(unclosed\" } }\n",
                      FL_EPOLICY_PATTERN, 1, "pattern /(unclosed/ does not compile", "'message'", NULL);
    expect_load_error("\nrule \"r2\" { category = \"internal\", when = { op = re\"a{2,1}\" } }\n",
                      FL_EPOLICY_PATTERN, 2, "'op'", "rule \"r2\"", NULL);
    expect_load_error("rule \"r\" { category = \"internal\", when = { [\"tags.x\"] = re\"[z-a]\" } }\n",
                      FL_EPOLICY_PATTERN, 1, "tags.x", NULL);
    assert_int_equal(FL_PRIMARY(FL_EPOLICY_PATTERN), FL_EPOLICY);
    /* Patterns are compiled on a helper thread while loading goes on
     * (loading/patterns.c); the error reported is still the first one in
     * declaration order: a bad pattern before a schema error wins, ... */
    expect_load_error("rule \"a\" { category = \"internal\", when = { message = re\"(x\" } }\n"
                      "rule \"b\" { category = \"internal\", when = { bogus = 1 } }\n",
                      FL_EPOLICY_PATTERN, 1, "rule \"a\"", "pattern /(x/", NULL);
    /* ... in the same rule too (conditions are read in key order) ... */
    expect_load_error("rule \"a\" { category = \"internal\", when = { message = re\"(x\", zzz = 1 } }\n",
                      FL_EPOLICY_PATTERN, 1, "pattern /(x/", NULL);
    /* ... and before an error found when the version is compiled; */
    expect_load_error("rule \"a\" { category = \"internal\", when = { message = re\"ok\" }, breaker = \"nope\" }\n"
                      "rule \"b\" { category = \"internal\", when = { message = re\"a{2,1}\" } }\n",
                      FL_EPOLICY_PATTERN, 2, "rule \"b\"", "numbers out of order", NULL);
    /* a schema error read first wins, and of two bad patterns the first. */
    expect_load_error("rule \"a\" { category = \"internal\", when = { aaa = 1, message = re\"(x\" } }\n",
                      FL_EPOLICY_SCHEMA, 1, "unknown condition field 'aaa'", NULL);
    expect_load_error("rule \"a\" { category = \"internal\", when = { bogus = 1 } }\n"
                      "rule \"b\" { category = \"internal\", when = { message = re\"(x\" } }\n",
                      FL_EPOLICY_SCHEMA, 1, "'bogus'", NULL);
    expect_load_error("rule \"a\" { category = \"internal\", when = { message = re\"ok\" } }\n"
                      "rule \"b\" { category = \"internal\", when = { message = re\"[z-a]\" } }\n"
                      "rule \"c\" { category = \"internal\", when = { message = re\"(x\" } }\n",
                      FL_EPOLICY_PATTERN, 2, "rule \"b\"", "range out of order", NULL);
}

/* Many patterns (compiled by two threads at once) load and match as
 * compiled one by one; named groups are still counted for captures. */
static void test_many_patterns(void **s)
{
    (void)s;
    fl_strbuf src = {0};
    for (int i = 0; i < 2000; i++)
        fl_sb_printf(&src, "rule \"r%d\" { category = \"internal\", when = { message = re\"(?<n>w%04d)x\" } }\n", i, i);
    fl_sb_puts(&src, "rule \"last\" { category = \"unavailable\", when = { message = re\"(?<host>[a-z]+) refused\" } }\n");
    fl_engine_t *e = flt_engine(src.data);
    fl_sb_free(&src);
    fl_ctx_t *ctx;
    fl_event_t *ev;
    fl_decision_t *d;
    assert_int_equal(fl_ctx_new(e, &ctx), FL_OK);
    assert_int_equal(fl_event_new(&ev), FL_OK);
    assert_int_equal(fl_decision_new(&d), FL_OK);
    static const struct {
        const char *msg, *rule;
    } k[] = {{"a w1234x b", "r1234"}, {"w0000x", "r0"}, {"w1999x", "r1999"}, {"db refused", "last"}, {"w2000x", "default"}};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        fl_event_reset(ev);
        fl_event_set(ev, FL_FIELD_MESSAGE, k[i].msg, strlen(k[i].msg));
        fl_decide(ctx, ev, NULL, 0, d);
        if (strcmp(fl_decision_rule(d), k[i].rule) != 0) print_error("%s -> %s\n", k[i].msg, fl_decision_rule(d));
        assert_string_equal(fl_decision_rule(d), k[i].rule);
    }
    fl_decision_free(d);
    fl_event_free(ev);
    fl_ctx_free(ctx);
    fl_engine_free(e);
}

static void test_unknown_sections_and_globals(void **s)
{
    (void)s;
    /* A misspelt declaration function is a runtime error naming it. */
    expect_load_error("rul \"r\" { category = \"internal\" }\n", FL_EPOLICY_RUNTIME, 1, "rul", NULL);
    /* Plain Lua is allowed: loops, helpers, string building. */
    fl_diag_t d;
    const char *src = "local function mk(n) rule(\"r\" .. n) { category = \"internal\", when = { code = n } } end\n"
                      "for i = 1, 50 do mk(i) end\n";
    fl_engine_t *e = flt_engine(src);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 50);
    fl_engine_free(e);
    (void)d;
}

static void test_failing_example_keeps_previous_version(void **s)
{
    (void)s;
    flt t;
    flt_open(&t, "policy { name = \"p\", version = \"1\" }\n"
                 "rule \"v1\" { category = \"internal\" }\n");
    fl_version_info_t v1, now;
    assert_int_equal(fl_engine_current(t.e, &v1), FL_OK);
    char id1[17];
    snprintf(id1, sizeof id1, "%s", v1.id);
    assert_string_equal(flt_rule(&t, "{\"message\":\"x\"}"), "v1");

    const char *bad[] = {
        /* failing example */
        "policy { name = \"p\", version = \"2\" }\n"
        "rule \"v2\" { category = \"unavailable\" }\n"
        "example \"wrong\" { event = { message = \"x\" }, expect = { category = \"internal\" } }\n",
        /* syntax error */
        "rule \"v2\" { category = \n",
        /* schema error */
        "rule \"v2\" { category = \"nope\" }\n",
        /* bad pattern */
        "rule \"v2\" { category = \"internal\", when = { message = re\"(\" } }\n",
        /* runtime error */
        "error('no')\n",
    };
    const int want[] = {FL_EEXAMPLE, FL_EPOLICY_SYNTAX, FL_EPOLICY_SCHEMA, FL_EPOLICY_PATTERN, FL_EPOLICY_RUNTIME};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fl_diag_t d;
        assert_int_equal(fl_engine_load_string(t.e, "p.lua", bad[i], strlen(bad[i]), &d), want[i]);
        assert_int_equal(fl_engine_current(t.e, &now), FL_OK);
        assert_string_equal(now.id, id1);
        assert_string_equal(now.version, "1");
        assert_string_equal(flt_rule(&t, "{\"message\":\"x\"}"), "v1");
    }
    /* The example's failure names the example, its file and line, and why. */
    fl_diag_t d;
    assert_int_equal(fl_engine_load_string(t.e, "p.lua", bad[0], strlen(bad[0]), &d), FL_EEXAMPLE);
    assert_string_equal(d.file, "p.lua");
    assert_int_equal(d.line, 3);
    assert_true(d.col > 0);
    assert_non_null(strstr(d.message, "example \"wrong\""));
    assert_non_null(strstr(d.message, "category"));
    assert_non_null(strstr(d.message, "\"internal\""));
    assert_non_null(strstr(d.message, "\"unavailable\""));
    /* A good version then replaces it. */
    const char *good = "policy { name = \"p\", version = \"3\" }\nrule \"v3\" { category = \"internal\" }\n"
                       "example \"ok\" { event = { message = \"x\" }, expect = { rule = \"v3\", category = \"internal\" } }\n";
    assert_int_equal(fl_engine_load_string(t.e, "p.lua", good, strlen(good), &d), FL_OK);
    assert_string_equal(flt_rule(&t, "{\"message\":\"x\"}"), "v3");
    assert_int_equal(fl_engine_current(t.e, &now), FL_OK);
    assert_string_equal(now.version, "3");
    assert_int_equal(now.examples, 1);
    flt_close(&t);
}

static void test_example_with_bad_event(void **s)
{
    (void)s;
    fl_diag_t d;
    assert_int_equal(flt_load_status("example \"e\" { event = { attempt = \"two\" }, expect = {} }\n"
                                     "rule \"r\" { category = \"internal\" }\n", &d),
                     FL_EEXAMPLE);
    assert_non_null(strstr(d.message, "bad event"));
    assert_non_null(strstr(d.message, "'attempt'"));
    assert_int_equal(d.line, 1);
}

/* ---- directories ----------------------------------------------------------- */

static void test_missing_and_empty_dirs(void **s)
{
    (void)s;
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load(e, "/nonexistent/faultline-policy", &d), FL_ENOENT);
    assert_string_equal(d.file, "/nonexistent/faultline-policy");
    assert_non_null(strstr(d.message, "cannot open policy directory"));
    assert_non_null(strstr(d.message, strerror(ENOENT)));
    /* A regular file where a directory is expected. */
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "notadir", "x");
    char p[128];
    snprintf(p, sizeof p, "%s/notadir", dir);
    assert_int_equal(fl_engine_load(e, p, &d), FL_ENOENT);
    /* A directory with no .lua files (other files, hidden .lua, a .lua directory). */
    flt_write(dir, "README.md", "not a policy");
    flt_write(dir, "rules.lua.bak", "error('must not run')");
    flt_write(dir, ".hidden.lua", "error('must not run')");
    snprintf(p, sizeof p, "%s/sub.lua", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(fl_engine_load(e, dir, &d), FL_ENOENT);
    assert_string_equal(d.file, dir);
    assert_non_null(strstr(d.message, "no .lua policy files"));
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_non_regular_entries_are_skipped(void **s)
{
    (void)s;
    /* The loader only reads regular files: a dangling symlink and a FIFO
     * named *.lua are skipped (a FIFO would otherwise block the load). */
    char dir[64], p[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(p, sizeof p, "%s/10-dangling.lua", dir);
    assert_int_equal(symlink("/nonexistent/target.lua", p), 0);
    snprintf(p, sizeof p, "%s/20-fifo.lua", dir);
    assert_int_equal(mkfifo(p, 0644), 0);
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load(e, dir, &d), FL_ENOENT); /* nothing loadable */
    flt_write(dir, "00-real.lua", "rule \"real\" { category = \"internal\" }\n");
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 1);
    /* A symlink to a regular file is followed. */
    char target[128];
    snprintf(target, sizeof target, "%s/00-real.lua", dir);
    snprintf(p, sizeof p, "%s/30-link.lua", dir);
    flt_write(dir, "extra.txt", "rule \"linked\" { category = \"internal\" }\n");
    snprintf(target, sizeof target, "%s/extra.txt", dir);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_int_equal(vi.rules, 2);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_unreadable_file(void **s)
{
    (void)s;
    /* A .lua entry that opens but cannot be read is FL_EIO naming the file.
     * As root, chmod 000 does not stop reads, so use a file whose read()
     * fails: /proc/self/mem at offset 0 (unmapped) gives EIO.  As another
     * user, chmod 000 gives EACCES at open. */
    char dir[64], p[128];
    flt_tmpdir(dir, sizeof dir);
    snprintf(p, sizeof p, "%s/10-bad.lua", dir);
    if (geteuid() == 0) {
        if (symlink("/proc/self/mem", p) != 0) {
            flt_rmdir(dir);
            skip();
        }
    } else {
        flt_write(dir, "10-bad.lua", "rule \"x\" { category = \"internal\" }\n");
        assert_int_equal(chmod(p, 0), 0);
    }
    flt_write(dir, "00-ok.lua", "rule \"ok\" { category = \"internal\" }\n");
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EIO);
    assert_string_equal(d.file, p);
    assert_true(strstr(d.message, "cannot read") || strstr(d.message, "cannot open"));
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_dir_order_and_file_names_in_errors(void **s)
{
    (void)s;
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    /* Files run in byte order of their names, in one state: "B" < "a" < "b". */
    flt_write(dir, "B.lua", "ORDER = 'B'\n");
    flt_write(dir, "a.lua", "assert(ORDER == 'B', 'B.lua must run first') ORDER = ORDER .. 'a'\n");
    flt_write(dir, "b.lua", "assert(ORDER == 'Ba', 'a.lua must run second')\n"
                            "rule \"first\" { category = \"internal\", when = { code = 1 } }\n");
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load(e, dir, &d), FL_OK);
    /* An error in the second file names that file (its path). */
    flt_write(dir, "c.lua", "\n\nrule \"x\" { category = \"internal\", bogus = 1 }\n");
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EPOLICY_SCHEMA);
    char want[128];
    snprintf(want, sizeof want, "%s/c.lua", dir);
    assert_string_equal(d.file, want);
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 35);
    /* A duplicate rule across files names the first one. */
    flt_write(dir, "c.lua", "rule \"first\" { category = \"internal\" }\n");
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EPOLICY_SCHEMA);
    snprintf(want, sizeof want, "first at %s/b.lua:2", dir);
    assert_non_null(strstr(d.message, want));
    /* A syntax error in a file names it. */
    flt_write(dir, "c.lua", "rule \"x\" {{\n");
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EPOLICY_SYNTAX);
    snprintf(want, sizeof want, "%s/c.lua", dir);
    assert_string_equal(d.file, want);
    /* fl_engine_check reports the same as load. */
    fl_diag_t d2;
    assert_int_equal(fl_engine_check(e, dir, &d2), FL_EPOLICY_SYNTAX);
    assert_string_equal(d2.message, d.message);
    fl_engine_free(e);
    flt_rmdir(dir);
}

static void test_binary_chunk_refused(void **s)
{
    (void)s;
    static const char chunk[] = "\033LJ\002\000some bytecode";
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    assert_int_equal(fl_engine_load_string(e, "bin.lua", chunk, sizeof chunk - 1, &d), FL_EPOLICY_SYNTAX);
    assert_string_equal(d.file, "bin.lua");
    assert_int_equal(d.line, 1);
    assert_int_equal(d.col, 1);
    assert_non_null(strstr(d.message, "binary"));
    /* Same from a directory. */
    char dir[64];
    flt_tmpdir(dir, sizeof dir);
    flt_write(dir, "x.lua", "\033Lua");
    assert_int_equal(fl_engine_load(e, dir, &d), FL_EPOLICY_SYNTAX);
    assert_non_null(strstr(d.message, "binary"));
    fl_engine_free(e);
    flt_rmdir(dir);
}


static void test_infinite_loop_stopped(void **s)
{
    (void)s;
    const char *srcs[] = {
        "rule \"r\" { category = \"internal\" }\nwhile true do end\n",
        /* pcall cannot swallow the budget error */
        "while true do pcall(function() while true do end end) end\n",
    };
    for (size_t i = 0; i < 2; i++) {
        fl_engine_t *e = flt_engine(NULL);
        fl_diag_t d;
        /* The load budget is 2 s of this thread's CPU time (the wall-clock
         * limit is 4x that): measure CPU time, which a loaded machine does
         * not inflate. */
        struct timespec a, b;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
        int rc = fl_engine_load_string(e, "loop.lua", srcs[i], strlen(srcs[i]), &d);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
        double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        assert_int_equal(rc, FL_EBUDGET_CPU);
        assert_string_equal(d.file, "loop.lua");
        assert_true(took < 4.0);
        fl_version_info_t vi;
        assert_int_equal(fl_engine_current(e, &vi), FL_ESTATE);
        fl_engine_free(e);
    }
}

static void test_memory_bomb_at_load(void **s)
{
    (void)s;
    fl_engine_options_t o = {0};
    o.lua_memory_cap = 4u << 20;
    fl_engine_t *e = flt_engine_opts(NULL, &o);
    const char *src = "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n";
    fl_diag_t d;
    assert_int_equal(fl_engine_load_string(e, "mem.lua", src, strlen(src), &d), FL_EBUDGET_MEM);
    assert_string_equal(d.file, "mem.lua");
    /* The engine still loads a sane policy afterwards. */
    const char *ok = "rule \"r\" { category = \"internal\" }\n";
    assert_int_equal(fl_engine_load_string(e, "ok.lua", ok, strlen(ok), &d), FL_OK);
    fl_engine_free(e);
}

/* The loading state's small blocks come from per-size-class pools that are
 * only freed after the load: memory dropped in one class does not serve the
 * next, so the pools are charged against the cap too.  Churn within one
 * class reuses its free list and stays well inside it. */
static void test_memory_churn_at_load(void **s)
{
    (void)s;
    fl_engine_options_t o = {0};
    o.lua_memory_cap = 4u << 20;
    fl_engine_t *e = flt_engine_opts(NULL, &o);
    fl_diag_t d;
    /* ~1 MB of strings of one size, dropped, ten times over: loads (the
     * collector frees each round's, the pool's free list serves the next). */
    const char *same = "for round = 1, 10 do\n"
                       "  local t = {}\n"
                       "  for i = 1, 10000 do t[i] = string.rep('y', 60) .. i end\n"
                       "  t = nil\n"
                       "end\n"
                       "rule \"r\" { category = \"internal\" }\n";
    int rc = fl_engine_load_string(e, "same.lua", same, strlen(same), &d);
    if (rc != FL_OK) print_error("%s: %s\n", fl_strerror(rc), d.message);
    assert_int_equal(rc, FL_OK);
    /* The same, each round in another size class: each round is under the
     * cap, their pools together would be ten times it. */
    const char *classes = "for round = 1, 14 do\n"
                          "  local t = {}\n"
                          "  for i = 1, 5000 do t[i] = string.rep('y', round * 16) .. i end\n"
                          "  t = nil\n"
                          "end\n";
    assert_int_equal(fl_engine_load_string(e, "classes.lua", classes, strlen(classes), &d), FL_EBUDGET_MEM);
    assert_string_equal(d.file, "classes.lua");
    fl_engine_free(e);
}

static void test_stock_pack_loads(void **s)
{
    (void)s;
    fl_engine_t *e = flt_engine(NULL);
    fl_diag_t d;
    char buf[1200];
    int rc = fl_engine_load(e, FL_SOURCE_DIR "/policies", &d);
    if (rc != FL_OK) print_error("%s\n", fl_diag_format(&d, buf, sizeof buf));
    assert_int_equal(rc, FL_OK);
    fl_version_info_t vi;
    assert_int_equal(fl_engine_current(e, &vi), FL_OK);
    assert_true(vi.rules > 100);
    assert_true(vi.examples > 0);
    fl_engine_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_policy),
        cmocka_unit_test(test_schema_category),
        cmocka_unit_test(test_schema_rule),
        cmocka_unit_test(test_schema_messages_and_examples),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_runtime_error),
        cmocka_unit_test(test_declarations_plain_data),
        cmocka_unit_test(test_bad_pattern),
        cmocka_unit_test(test_many_patterns),
        cmocka_unit_test(test_unknown_sections_and_globals),
        cmocka_unit_test(test_failing_example_keeps_previous_version),
        cmocka_unit_test(test_example_with_bad_event),
        cmocka_unit_test(test_missing_and_empty_dirs),
        cmocka_unit_test(test_non_regular_entries_are_skipped),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_dir_order_and_file_names_in_errors),
        cmocka_unit_test(test_binary_chunk_refused),
        cmocka_unit_test(test_infinite_loop_stopped),
        cmocka_unit_test(test_memory_bomb_at_load),
        cmocka_unit_test(test_memory_churn_at_load),
        cmocka_unit_test(test_stock_pack_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
