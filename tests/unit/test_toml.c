/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/core/toml.c: every accepted type and syntax, and for each
 * rejected construct the "LINE: message" error with the right line number.
 * Values are flattened by dump_cb into "table.key=VALUE@LINE;" so a whole
 * document can be compared at once.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "toml.h"

struct dump {
        char out[4096];
        size_t len;
        int calls;
        int stop_at; /* return KL_ERR_CONFIG on this call (1-based); 0 = never */
};

static void dump_add(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dump_add(struct dump *d, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(d->out + d->len, sizeof(d->out) - d->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0 && (size_t)n < sizeof(d->out) - d->len);
        d->len += (size_t)n;
}

static void dump_value(struct dump *d, const struct kl_toml_value *v)
{
        switch (v->type) {
        case KL_TOML_STRING:
                assert_int_equal(strlen(v->u.str.ptr), v->u.str.len);
                dump_add(d, "\"%s\"", v->u.str.ptr);
                break;
        case KL_TOML_INT:
                dump_add(d, "%" PRId64, v->u.i);
                break;
        case KL_TOML_BOOL:
                dump_add(d, "%s", v->u.b ? "true" : "false");
                break;
        case KL_TOML_ARRAY:
                dump_add(d, "[");
                for (size_t i = 0; i < v->u.arr.n; i++) {
                        if (i > 0)
                                dump_add(d, ",");
                        dump_value(d, &v->u.arr.items[i]);
                }
                dump_add(d, "]");
                break;
        }
}

static int dump_cb(void *ctx, const char *table, const char *key, const struct kl_toml_value *value,
                   unsigned line)
{
        struct dump *d = ctx;

        d->calls++;
        if (d->stop_at != 0 && d->calls == d->stop_at)
                return KL_ERR_CONFIG;
        dump_add(d, "%s.%s=", table, key);
        dump_value(d, value);
        dump_add(d, "@%u;", line);
        return 0;
}

/* Parses text; asserts success and returns the dump. */
static const char *parse_ok(struct dump *d, const char *text)
{
        char err[128] = "unset";
        int r;

        memset(d, 0, sizeof(*d));
        r = kl_toml_parse(text, strlen(text), dump_cb, d, err, sizeof(err));
        if (r != 0)
                fail_msg("parse failed (%d): %s\ninput:\n%s", r, err, text);
        assert_string_equal(err, "");
        return d->out;
}

/* Parses text; asserts KL_ERR_INVAL and that the error starts with want. */
static void parse_bad(const char *text, const char *want)
{
        struct dump d;
        char err[128] = "";
        int r;

        memset(&d, 0, sizeof(d));
        r = kl_toml_parse(text, strlen(text), dump_cb, &d, err, sizeof(err));
        if (r != KL_ERR_INVAL || strncmp(err, want, strlen(want)) != 0)
                fail_msg("input:\n%s\nwant KL_ERR_INVAL and '%s...', got %d '%s'", text, want, r,
                         err);
}

static void test_toml_parse_all_types(void **state)
{
        struct dump d;
        const char *text = "top = \"root\"\n"
                           "[agent]\n"
                           "s = \"hello\"\n"
                           "lit = 'C:\\path\\n'\n"
                           "empty = \"\"\n"
                           "i = 42\n"
                           "neg = -17\n"
                           "pos = +5\n"
                           "zero = 0\n"
                           "mzero = -0\n"
                           "big = 1_000_000\n"
                           "t = true\n"
                           "f = false\n"
                           "arr = [1, \"two\", true]\n"
                           "none = []\n"
                           "[other]\n"
                           "s = 'x'\n";

        (void)state;
        assert_string_equal(parse_ok(&d, text), ".top=\"root\"@1;"
                                                "agent.s=\"hello\"@3;"
                                                "agent.lit=\"C:\\path\\n\"@4;"
                                                "agent.empty=\"\"@5;"
                                                "agent.i=42@6;"
                                                "agent.neg=-17@7;"
                                                "agent.pos=5@8;"
                                                "agent.zero=0@9;"
                                                "agent.mzero=0@10;"
                                                "agent.big=1000000@11;"
                                                "agent.t=true@12;"
                                                "agent.f=false@13;"
                                                "agent.arr=[1,\"two\",true]@14;"
                                                "agent.none=[]@15;"
                                                "other.s=\"x\"@17;");
}

static void test_toml_parse_int_limits(void **state)
{
        struct dump d;

        (void)state;
        assert_string_equal(parse_ok(&d, "a = 9223372036854775807\nb = -9223372036854775808\n"),
                            ".a=9223372036854775807@1;.b=-9223372036854775808@2;");
        assert_string_equal(parse_ok(&d, "a = 9_223_372_036_854_775_807"),
                            ".a=9223372036854775807@1;");
}

static void test_toml_parse_escapes(void **state)
{
        struct dump d;

        (void)state;
        assert_string_equal(parse_ok(&d, "a = \"q\\\"b\\\\t\\tn\\nr\\rb\\bf\\f\"\n"),
                            ".a=\"q\"b\\t\tn\nr\rb\bf\f\"@1;");
        /* \u and \U become UTF-8: é (2 bytes), € (3 bytes), 😀 (4 bytes). */
        assert_string_equal(parse_ok(&d, "a = \"\\u00e9\\u20AC\\U0001F600\\u0041\"\n"),
                            ".a=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                            "A\"@1;");
        /* Raw UTF-8 passes through; a literal string keeps backslashes. */
        assert_string_equal(parse_ok(&d, "a = \"\xc3\xa9t\xc3\xa9\"\nb = '\\u00e9'\n"),
                            ".a=\"\xc3\xa9t\xc3\xa9\"@1;.b=\"\\u00e9\"@2;");
}

static void test_toml_parse_keys(void **state)
{
        struct dump d;

        (void)state;
        assert_string_equal(parse_ok(&d, "bare_Key-1 = 1\n\"quoted key\" = 2\n'lit.key' = 3\n"
                                         "\"\" = 4\n\"esc\\u0041\" = 5\n"),
                            ".bare_Key-1=1@1;.quoted key=2@2;.lit.key=3@3;.=4@4;.escA=5@5;");
        assert_string_equal(parse_ok(&d, "[ \"my table\" ]\nk=1\n['t2']\nk=2\n"),
                            "my table.k=1@2;t2.k=2@4;");
        /* The same key in two tables is fine. */
        assert_string_equal(parse_ok(&d, "[a]\nk=1\n[b]\nk=2\n"), "a.k=1@2;b.k=2@4;");
}

static void test_toml_parse_arrays(void **state)
{
        struct dump d;
        const char *multi = "a = [\n"
                            "  1,   # first\n"
                            "  # a comment line\n"
                            "\n"
                            "  [2, [3, []]],\n"
                            "  'x',\n"
                            "]  # trailing comment\n"
                            "b = 1\n";

        (void)state;
        assert_string_equal(parse_ok(&d, multi), ".a=[1,[2,[3,[]]],\"x\"]@1;.b=1@8;");
        assert_string_equal(parse_ok(&d, "a = [1,2,]\n"), ".a=[1,2]@1;");
        assert_string_equal(parse_ok(&d, "a=[[[[[[[[1]]]]]]]]"), ".a=[[[[[[[[1]]]]]]]]@1;");
        assert_string_equal(parse_ok(&d, "a = [ \"]\" , '[' ]"), ".a=[\"]\",\"[\"]@1;");
}

static void test_toml_parse_comments_and_whitespace(void **state)
{
        struct dump d;
        const char *text = "\xef\xbb\xbf# leading comment with UTF-8 \xc3\xa9\r\n"
                           "\r\n"
                           "   \t\n"
                           "[agent] # header comment\r\n"
                           "\ta\t=\t1\t# comment\r\n"
                           "b=\"#not a comment\"#comment\n"
                           "c = 'x' #\n"
                           "# last line, no newline";

        (void)state;
        assert_string_equal(parse_ok(&d, text),
                            "agent.a=1@5;agent.b=\"#not a comment\"@6;agent.c=\"x\"@7;");
        assert_string_equal(parse_ok(&d, ""), "");
        assert_string_equal(parse_ok(&d, "\n\n# only comments\n"), "");
        assert_int_equal(kl_toml_parse(NULL, 0, NULL, NULL, NULL, 0), 0);
}

static void test_toml_parse_rejects_strings(void **state)
{
        (void)state;
        parse_bad("a = 1\nb = \"abc\n", "2: unterminated string");
        parse_bad("a = \"abc", "1: unterminated string");
        parse_bad("a = 'abc\nb = 1", "1: unterminated string");
        parse_bad("\n\nx = \"\\q\"", "3: invalid escape sequence '\\q'");
        parse_bad("x = \"\\", "1: unterminated string");
        parse_bad("x = \"\\u12zz\"", "1: invalid \\u escape: expected 4 hex digits");
        parse_bad("x = \"\\u12", "1: truncated \\u escape");
        parse_bad("x = \"\\uD800\"", "1: invalid \\u escape: surrogate");
        parse_bad("x = \"\\UDFFF0000\"", "1: invalid \\U escape: beyond");
        parse_bad("x = \"\\U00110000\"", "1: invalid \\U escape: beyond");
        parse_bad("x = \"\\u0000\"", "1: \\u0000 (NUL) is not allowed");
        parse_bad("x = \"a\x01\"", "1: control character");
        parse_bad("x = \"a\xff\"", "1: invalid UTF-8");
        parse_bad("x = \"\xc0\xaf\"", "1: invalid UTF-8");     /* overlong '/' */
        parse_bad("x = \"\xed\xa0\x80\"", "1: invalid UTF-8"); /* raw surrogate */
        parse_bad("x = \"\"\"multi\"\"\"", "1: multi-line strings are not supported");
        parse_bad("x = '''multi'''", "1: multi-line strings are not supported");
        {
                const char nul[] = "a = \"x\0y\"";
                char err[64];

                assert_int_equal(kl_toml_parse(nul, sizeof(nul) - 1, NULL, NULL, err, sizeof(err)),
                                 KL_ERR_INVAL);
                assert_string_equal(err, "1: control character 0x00 in string");
        }
}

static void test_toml_parse_rejects_structure(void **state)
{
        (void)state;
        parse_bad("a=1\n[t]\na=1\nb=2\nb=3\n", "5: duplicate key 'b'");
        parse_bad("a=1\na=2\n", "2: duplicate key 'a'");
        parse_bad("[t]\n[u]\n[t]\n", "3: duplicate table [t]");
        parse_bad("t = 1\n[t]\n", "2: table [t] redefines key 't'");
        parse_bad("[agent]\n[[servers]]\n", "2: arrays of tables ([[...]]) are not supported");
        parse_bad("[a.b]\n", "1: dotted table names are not supported");
        parse_bad("[a\n", "1: expected ']'");
        parse_bad("[]\n", "1: expected a key");
        parse_bad("[a] x\n", "1: unexpected text after table header");
        parse_bad("a.b = 1\n", "1: dotted keys are not supported");
        parse_bad("\na 1\n", "2: expected '=' after key 'a'");
        parse_bad("a\n", "1: expected '=' after key 'a'");
        parse_bad("= 1\n", "1: expected a key");
        parse_bad("a = 1 x\n", "1: unexpected text after value");
        parse_bad("a = \"s\" \"t\"\n", "1: unexpected text after value");
        parse_bad("a = true false\n", "1: unexpected text after value");
        parse_bad("a =\n", "1: missing value");
        parse_bad("a = # nothing\n", "1: missing value");
        parse_bad("a = yes\n", "1: invalid value");
        parse_bad("a = truex\n", "1: invalid value");
        parse_bad("a = {b = 1}\n", "1: inline tables are not supported");
        parse_bad("a = 1\rb = 2\n", "1: carriage return without line feed");
        parse_bad("# bad \x01 comment\n", "1: control character in comment");
        parse_bad("# bad \xfe comment\n", "1: invalid UTF-8 in comment");
}

static void test_toml_parse_rejects_numbers(void **state)
{
        (void)state;
        parse_bad("a = 1.5\n", "1: floats are not supported");
        parse_bad("a = 1e5\n", "1: floats are not supported");
        parse_bad("a = inf\n", "1: floats are not supported");
        parse_bad("a = -nan\n", "1: floats are not supported");
        parse_bad("a = 1979-05-27\n", "1: dates and times are not supported");
        parse_bad("a = 07:32:00\n", "1: leading zeros are not allowed");
        parse_bad("a = 012\n", "1: leading zeros are not allowed");
        parse_bad("a = 0_1\n", "1: leading zeros are not allowed");
        parse_bad("a = 0x1F\n", "1: only decimal integers are supported");
        parse_bad("a = 1__0\n", "1: '_' must stand between digits");
        parse_bad("a = 10_\n", "1: '_' must stand between digits");
        parse_bad("a = 12abc\n", "1: invalid integer");
        parse_bad("a = +\n", "1: invalid value");
        parse_bad("\n\na = 9223372036854775808\n", "3: integer out of range");
        parse_bad("a = -9223372036854775809\n", "1: integer out of range");
        parse_bad("a = 99999999999999999999999\n", "1: integer out of range");
}

static void test_toml_parse_rejects_arrays(void **state)
{
        (void)state;
        parse_bad("a = [[[[[[[[[1]]]]]]]]]\n", "1: arrays nested deeper than 8 levels");
        parse_bad("x = 1\na = [\n1,\n2\n3]\n", "5: expected ',' or ']' in array");
        parse_bad("a = [1,,2]\n", "1: invalid value");
        parse_bad("a = [,]\n", "1: invalid value");
        parse_bad("a = [1, 2\n\n", "3: unterminated array");
        parse_bad("a = [\n", "2: unterminated array");
        parse_bad("a = [1.5]\n", "1: floats are not supported");
}

static void test_toml_parse_limits(void **state)
{
        size_t cap = KL_TOML_MAX_INPUT + 1, len = 0;
        char *big = malloc(cap);
        char err[128];
        int i;

        (void)state;
        assert_non_null(big);
        /* One byte over the input cap. */
        memset(big, ' ', cap);
        assert_int_equal(kl_toml_parse(big, cap, NULL, NULL, err, sizeof(err)), KL_ERR_INVAL);
        assert_string_equal(err, "1: input larger than 1048576 bytes");

        /* An array of 4097 items. */
        len = (size_t)snprintf(big, cap, "a = [");
        for (i = 0; i < 4097; i++)
                len += (size_t)snprintf(big + len, cap - len, "1,");
        len += (size_t)snprintf(big + len, cap - len, "]\n");
        assert_int_equal(kl_toml_parse(big, len, NULL, NULL, err, sizeof(err)), KL_ERR_INVAL);
        assert_string_equal(err, "1: array longer than 4096 items");

        /* 70000 distinct keys: rejected after 65536, and quickly (hashed, not quadratic). */
        len = 0;
        for (i = 0; i < 70000; i++)
                len += (size_t)snprintf(big + len, cap - len, "k%d=1\n", i);
        assert_int_equal(kl_toml_parse(big, len, NULL, NULL, err, sizeof(err)), KL_ERR_INVAL);
        assert_string_equal(err, "65537: more than 65536 keys and tables");
        free(big);
}

static void test_toml_parse_callback_stops(void **state)
{
        struct dump d;
        char err[64];
        const char *text = "a = 1\nb = 2\nc = 3\n";

        (void)state;
        memset(&d, 0, sizeof(d));
        d.stop_at = 2;
        assert_int_equal(kl_toml_parse(text, strlen(text), dump_cb, &d, err, sizeof(err)),
                         KL_ERR_CONFIG);
        assert_int_equal(d.calls, 2);
        assert_string_equal(d.out, ".a=1@1;");
        assert_string_equal(err, "2: configuration error");
}

static void test_toml_parse_small_errbuf(void **state)
{
        char err[6];
        const char *text = "\n\n\n\n\n\n\n\n\n\n\n\na = \"unterminated";

        (void)state;
        memset(err, 'X', sizeof(err));
        assert_int_equal(kl_toml_parse(text, strlen(text), NULL, NULL, err, sizeof(err)),
                         KL_ERR_INVAL);
        assert_string_equal(err, "13: u");
        assert_int_equal(kl_toml_parse(text, strlen(text), NULL, NULL, err, 0), KL_ERR_INVAL);
        assert_int_equal(kl_toml_parse(text, strlen(text), NULL, NULL, NULL, 0), KL_ERR_INVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_toml_parse_all_types),
            cmocka_unit_test(test_toml_parse_int_limits),
            cmocka_unit_test(test_toml_parse_escapes),
            cmocka_unit_test(test_toml_parse_keys),
            cmocka_unit_test(test_toml_parse_arrays),
            cmocka_unit_test(test_toml_parse_comments_and_whitespace),
            cmocka_unit_test(test_toml_parse_rejects_strings),
            cmocka_unit_test(test_toml_parse_rejects_structure),
            cmocka_unit_test(test_toml_parse_rejects_numbers),
            cmocka_unit_test(test_toml_parse_rejects_arrays),
            cmocka_unit_test(test_toml_parse_limits),
            cmocka_unit_test(test_toml_parse_callback_stops),
            cmocka_unit_test(test_toml_parse_small_errbuf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
