/*
 * test_strbuf_utf8.c -- the growable buffer (appends, formatting, growth,
 * self-appends, overflow refusal, clear/free) and the UTF-8 checks (every
 * boundary of RFC 3629's well-formed table, overlongs, surrogates, values
 * above U+10FFFF, truncated and stray bytes, huge inputs, and the cut).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

/* ---- strbuf ------------------------------------------------------------- */

static void test_sb_empty(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    assert_non_null(fl_sb_cstr(&sb));
    assert_string_equal(fl_sb_cstr(&sb), "");
    fl_sb_clear(&sb); /* on a never-used buffer: harmless */
    assert_null(sb.data);
    fl_sb_free(&sb);
    fl_sb_free(&sb); /* twice: harmless */
    assert_null(sb.data);
    assert_int_equal(sb.len, 0);
    assert_int_equal(sb.cap, 0);
}

static void test_sb_append(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    assert_int_equal(fl_sb_append(&sb, "abc", 3), 0);
    assert_int_equal(fl_sb_puts(&sb, "def"), 0);
    assert_int_equal(fl_sb_putc(&sb, 'g'), 0);
    assert_int_equal(fl_sb_append(&sb, "xyz", 0), 0); /* zero bytes */
    assert_string_equal(fl_sb_cstr(&sb), "abcdefg");
    assert_int_equal(sb.len, 7);
    assert_true(sb.cap > sb.len);
    /* Bytes after a NUL are kept: the buffer is length-counted. */
    assert_int_equal(fl_sb_append(&sb, "h\0i", 3), 0);
    assert_int_equal(sb.len, 10);
    assert_memory_equal(sb.data, "abcdefgh\0i", 11);
    fl_sb_free(&sb);
}

static void test_sb_growth(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    for (int i = 0; i < 100000; i++)
        assert_int_equal(fl_sb_putc(&sb, (char)('a' + i % 26)), 0);
    assert_int_equal(sb.len, 100000);
    assert_true(sb.cap >= 100001);
    assert_int_equal(strlen(sb.data), 100000);
    for (int i = 0; i < 100000; i += 9973)
        assert_int_equal(sb.data[i], 'a' + i % 26);
    fl_sb_free(&sb);
}

static void test_sb_reserve(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    assert_int_equal(fl_sb_reserve(&sb, 0), 0);
    assert_non_null(sb.data); /* reserving allocates, and reads as "" */
    assert_string_equal(sb.data, "");
    assert_int_equal(fl_sb_reserve(&sb, 1000), 0);
    size_t cap = sb.cap;
    char *data = sb.data;
    assert_true(cap >= 1001);
    /* Within the reservation nothing moves. */
    for (int i = 0; i < 1000; i++)
        fl_sb_putc(&sb, 'x');
    assert_ptr_equal(sb.data, data);
    assert_int_equal(sb.cap, cap);
    fl_sb_free(&sb);
}

static void test_sb_overflow_refused(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    fl_sb_puts(&sb, "keep");
    char *data = sb.data;
    size_t cap = sb.cap;
    /* len + extra + NUL would wrap around: refused, buffer unchanged. */
    assert_int_equal(fl_sb_reserve(&sb, SIZE_MAX), -1);
    assert_int_equal(fl_sb_reserve(&sb, SIZE_MAX - sb.len), -1);
    assert_int_equal(fl_sb_append(&sb, "x", SIZE_MAX - 2), -1);
    assert_ptr_equal(sb.data, data);
    assert_int_equal(sb.cap, cap);
    assert_int_equal(sb.len, 4);
    assert_string_equal(fl_sb_cstr(&sb), "keep");
    fl_sb_free(&sb);
}

static void test_sb_self_append(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    fl_sb_puts(&sb, "0123456789");
    /* Doubling the contents repeatedly forces reallocation while the
     * source points into the old block. */
    for (int i = 0; i < 12; i++)
        assert_int_equal(fl_sb_append(&sb, sb.data, sb.len), 0);
    assert_int_equal(sb.len, 10u << 12);
    for (size_t i = 0; i < sb.len; i++)
        if (sb.data[i] != (char)('0' + i % 10))
            fail_msg("byte %zu is %c", i, sb.data[i]);
    /* A suffix of itself. */
    fl_sb_clear(&sb);
    fl_sb_puts(&sb, "abcdef");
    assert_int_equal(fl_sb_append(&sb, sb.data + 3, 3), 0);
    assert_string_equal(sb.data, "abcdefdef");
    fl_sb_free(&sb);
}

static void test_sb_printf(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    assert_int_equal(fl_sb_printf(&sb, "%d-%s-%c", 42, "x", 'y'), 0);
    assert_string_equal(fl_sb_cstr(&sb), "42-x-y");
    assert_int_equal(fl_sb_printf(&sb, "%s", ""), 0);
    assert_string_equal(fl_sb_cstr(&sb), "42-x-y");
    assert_int_equal(fl_sb_printf(&sb, "|%05.1f|", 2.25), 0);
    assert_string_equal(fl_sb_cstr(&sb), "42-x-y|002.2|");
    /* Longer than the spare room: the first attempt is cut, the second
     * must produce the whole text after the existing contents. */
    char big[5001];
    memset(big, 'q', 5000);
    big[5000] = '\0';
    size_t before = sb.len;
    assert_int_equal(fl_sb_printf(&sb, "<%s>", big), 0);
    assert_int_equal(sb.len, before + 5002);
    assert_int_equal(strlen(sb.data), sb.len);
    assert_memory_equal(sb.data, "42-x-y|002.2|<q", 15);
    assert_int_equal(sb.data[sb.len - 1], '>');
    assert_int_equal(sb.data[sb.len - 2], 'q');
    fl_sb_free(&sb);
    /* printf into a never-used buffer. */
    assert_int_equal(fl_sb_printf(&sb, "%s", "fresh"), 0);
    assert_string_equal(fl_sb_cstr(&sb), "fresh");
    fl_sb_free(&sb);
}

static void test_sb_clear_keeps_memory(void **state)
{
    (void)state;
    fl_strbuf sb = {0};
    fl_sb_puts(&sb, "some text that is long enough");
    char *data = sb.data;
    size_t cap = sb.cap;
    fl_sb_clear(&sb);
    assert_int_equal(sb.len, 0);
    assert_string_equal(fl_sb_cstr(&sb), "");
    assert_ptr_equal(sb.data, data);
    assert_int_equal(sb.cap, cap);
    fl_sb_puts(&sb, "new");
    assert_string_equal(fl_sb_cstr(&sb), "new");
    fl_sb_free(&sb);
}

/* ---- utf8 --------------------------------------------------------------- */

#define VALID(lit) assert_int_equal(fl_utf8_valid(lit, sizeof(lit) - 1), 1)
#define INVALID(lit) assert_int_equal(fl_utf8_valid(lit, sizeof(lit) - 1), 0)

static void test_utf8_valid_boundaries(void **state)
{
    (void)state;
    assert_int_equal(fl_utf8_valid("", 0), 1);
    VALID("plain ASCII, with \t and \x7f");
    VALID("a\0b"); /* NUL is U+0000: valid, length-counted */
    VALID("\xC2\x80");         /* U+0080, first 2-byte */
    VALID("\xDF\xBF");         /* U+07FF, last 2-byte */
    VALID("\xE0\xA0\x80");     /* U+0800, first 3-byte */
    VALID("\xED\x9F\xBF");     /* U+D7FF, just below the surrogates */
    VALID("\xEE\x80\x80");     /* U+E000, just above them */
    VALID("\xEF\xBF\xBF");     /* U+FFFF */
    VALID("\xF0\x90\x80\x80"); /* U+10000, first 4-byte */
    VALID("\xF4\x8F\xBF\xBF"); /* U+10FFFF, the last code point */
    VALID("gr\xC3\xB6\xC3\x9F" "e \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD");
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    /* Overlong encodings. */
    INVALID("\xC0\x80");         /* U+0000 in two bytes */
    INVALID("\xC1\xBF");         /* U+007F in two bytes */
    INVALID("\xE0\x80\x80");
    INVALID("\xE0\x9F\xBF");     /* U+07FF in three bytes */
    INVALID("\xF0\x80\x80\x80");
    INVALID("\xF0\x8F\xBF\xBF"); /* U+FFFF in four bytes */
    /* UTF-16 surrogates. */
    INVALID("\xED\xA0\x80"); /* U+D800 */
    INVALID("\xED\xBF\xBF"); /* U+DFFF */
    INVALID("\xED\xA0\xBD\xED\xB8\x80"); /* a CESU-8 surrogate pair */
    /* Above U+10FFFF, and bytes that never occur. */
    INVALID("\xF4\x90\x80\x80");
    INVALID("\xF5\x80\x80\x80");
    INVALID("\xF7\xBF\xBF\xBF");
    INVALID("\xF8\x88\x80\x80\x80");
    INVALID("\xFE");
    INVALID("\xFF");
    /* Stray continuation bytes. */
    INVALID("\x80");
    INVALID("a\xBF" "b");
    INVALID("\xC3\xA9\xA9");
    /* Truncated sequences, at the end and followed by ASCII. */
    INVALID("\xC3");
    INVALID("\xE2\x82");
    INVALID("\xF0\x9F\x98");
    INVALID("abc\xF0\x9F");
    INVALID("\xC3(");
    INVALID("\xE2(\xA1");
    INVALID("\xE2\x82(");
    INVALID("\xF0\x9F\x98(");
    /* Valid text, but the length given stops inside a character. */
    assert_int_equal(fl_utf8_valid("\xE2\x82\xAC", 2), 0);
    assert_int_equal(fl_utf8_valid("x\xF0\x9F\x98\x80", 4), 0);
}

static void test_utf8_huge(void **state)
{
    (void)state;
    size_t n = 1u << 20;
    char *s = malloc(n);
    assert_non_null(s);
    /* 1 MiB of 4-, 3-, 2- and 1-byte characters (10 bytes per round). */
    static const char unit[] = "\xF0\x9F\x98\x80\xE2\x82\xAC\xC3\xA9z";
    for (size_t i = 0; i < n; i++)
        s[i] = unit[i % 10];
    size_t whole = n - n % 10;
    assert_int_equal(fl_utf8_valid(s, whole), 1);
    /* Cut inside the last emoji: invalid. */
    assert_int_equal(fl_utf8_valid(s, whole + 2), 0);
    /* One bad byte deep inside. */
    s[whole / 2 + 1] = '\xFF';
    assert_int_equal(fl_utf8_valid(s, whole), 0);
    free(s);
}

static void test_utf8_cut(void **state)
{
    (void)state;
    const char *s = "a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80";
    size_t len = strlen(s); /* 1+2+1+3+1+4 = 12 */
    assert_int_equal(len, 12);
    assert_int_equal(fl_utf8_cut(s, len, 100), len);
    assert_int_equal(fl_utf8_cut(s, len, len), len);
    assert_int_equal(fl_utf8_cut(s, len, 0), 0);
    assert_int_equal(fl_utf8_cut(s, len, 1), 1);
    assert_int_equal(fl_utf8_cut(s, len, 2), 1); /* inside é */
    assert_int_equal(fl_utf8_cut(s, len, 3), 3);
    assert_int_equal(fl_utf8_cut(s, len, 5), 4); /* inside € */
    assert_int_equal(fl_utf8_cut(s, len, 6), 4);
    assert_int_equal(fl_utf8_cut(s, len, 11), 8); /* inside the emoji */
    /* For every limit: a boundary, within the limit, and the largest. */
    for (size_t max = 0; max <= len + 1; max++) {
        size_t n = fl_utf8_cut(s, len, max);
        assert_true(n <= max);
        assert_true(n <= len);
        assert_int_equal(fl_utf8_valid(s, n), 1);
        for (size_t m = n + 1; m <= max && m <= len; m++)
            assert_int_equal(fl_utf8_valid(s, m), 0);
    }
    /* Pure ASCII cuts exactly. */
    assert_int_equal(fl_utf8_cut("hello", 5, 3), 3);
    /* A string of one 4-byte character and a limit below it: nothing. */
    assert_int_equal(fl_utf8_cut("\xF0\x9F\x98\x80", 4, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sb_empty),
        cmocka_unit_test(test_sb_append),
        cmocka_unit_test(test_sb_growth),
        cmocka_unit_test(test_sb_reserve),
        cmocka_unit_test(test_sb_overflow_refused),
        cmocka_unit_test(test_sb_self_append),
        cmocka_unit_test(test_sb_printf),
        cmocka_unit_test(test_sb_clear_keeps_memory),
        cmocka_unit_test(test_utf8_valid_boundaries),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_utf8_huge),
        cmocka_unit_test(test_utf8_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
