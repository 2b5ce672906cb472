/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"

static void test_json_parse_object_ok(void **state)
{
        kl_json *o = NULL;
        const char *s = NULL;
        int64_t i = 0;
        const char *text = " {\"a\": \"x\", \"n\": 5} \n";

        (void)state;
        assert_int_equal(kl_json_parse_object(text, strlen(text), &o), 0);
        assert_int_equal(kl_json_get_string(o, "a", &s), 0);
        assert_string_equal(s, "x");
        assert_int_equal(kl_json_get_int(o, "n", &i), 0);
        assert_int_equal(i, 5);
        assert_int_equal(kl_json_get_string(o, "n", &s), KL_ERR_INVAL);
        assert_int_equal(kl_json_get_string(o, "missing", &s), KL_ERR_NOT_FOUND);
        kl_json_free(o);
}

static void test_json_parse_rejects_garbage(void **state)
{
        static const char *bad[] = {"",         "{",      "{\"a\":1} x",
                                    "[1,2]",    "null",   "{\"a\":1,}",
                                    "\xff\xfe", "{\"a\"", "{\"a\":\"\xc3\x28\"}"};
        kl_json *o = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(kl_json_parse_object(bad[i], strlen(bad[i]), &o), KL_ERR_INVAL);
}

static void test_json_parse_depth_limit(void **state)
{
        char deep[200];
        kl_json *o = NULL;
        size_t n = 0;

        (void)state;
        for (int i = 0; i < 40; i++)
                deep[n++] = '[';
        for (int i = 0; i < 40; i++)
                deep[n++] = ']';
        assert_int_equal(kl_json_parse(deep, n, &o), KL_ERR_INVAL);
}

static void test_json_envelope_default_results(void **state)
{
        char *s = kl_json_envelope(404, "Not Found", NULL);

        (void)state;
        assert_non_null(s);
        assert_string_equal(s, "{\"code\":404,\"status\":\"Not Found\",\"results\":{}}");
        free(s);
}

static void test_json_envelope_null_results(void **state)
{
        char *s = kl_json_envelope_null(200, "Success");

        (void)state;
        assert_string_equal(s, "{\"code\":200,\"status\":\"Success\",\"results\":null}");
        free(s);
}

/* The shapes the services answer with: nested objects, arrays, every scalar. */
static void test_json_build_and_serialise(void **state)
{
        kl_json *o = kl_json_object();
        kl_json *list = kl_json_array();
        char *s;

        (void)state;
        assert_int_equal(kl_json_set_string(o, "path", "/a/b"), 0);
        assert_int_equal(kl_json_set_int(o, "n", -5000000000), 0);
        assert_int_equal(kl_json_set_bool(o, "ok", true), 0);
        assert_int_equal(kl_json_set_null(o, "none"), 0);
        assert_int_equal(kl_json_set_string_len(o, "raw", "a\0b", 3), 0);
        assert_int_equal(kl_json_append_int(list, 1), 0);
        assert_int_equal(kl_json_append_string(list, "x"), 0);
        assert_int_equal(kl_json_append(list, kl_json_object()), 0);
        assert_int_equal(kl_json_set(o, "list", list), 0);
        assert_int_equal(kl_json_set_int(o, "n", 7), 0); /* replaces, keeps its place */
        s = kl_json_to_string(o);
        assert_string_equal(s, "{\"path\":\"/a/b\",\"n\":7,\"ok\":true,\"none\":null,"
                               "\"raw\":\"a\\u0000b\",\"list\":[1,\"x\",{}]}");
        free(s);
        s = kl_json_format(o, KL_JSON_ESCAPE_SLASH);
        assert_non_null(strstr(s, "\"path\":\"\\/a\\/b\""));
        free(s);
        kl_json_free(o);
}

static void test_json_pretty(void **state)
{
        kl_json *o = kl_json_object();
        kl_json *a = kl_json_array();
        char *s;

        (void)state;
        assert_int_equal(kl_json_append_int(a, 1), 0);
        assert_int_equal(kl_json_set(o, "a", a), 0);
        assert_int_equal(kl_json_set_string(o, "s", "x"), 0);
        s = kl_json_format(o, KL_JSON_PRETTY);
        assert_string_equal(s, "{\n  \"a\": [\n    1\n  ],\n  \"s\": \"x\"\n}");
        free(s);
        kl_json_free(o);
}

/* A failed constructor or a NULL container never leaks nor crashes the chain. */
static void test_json_set_takes_value_on_failure(void **state)
{
        kl_json *arr = kl_json_array();
        kl_json *o = kl_json_object();

        (void)state;
        assert_int_equal(kl_json_set(NULL, "k", kl_json_string("v")), KL_ERR_NOMEM);
        assert_int_equal(kl_json_set(o, "k", NULL), KL_ERR_NOMEM);
        assert_int_equal(kl_json_append(NULL, kl_json_int(1)), KL_ERR_NOMEM);
        assert_int_equal(kl_json_set(arr, "k", kl_json_int(1)), KL_ERR_INVAL);
        assert_int_equal(kl_json_append(o, kl_json_int(1)), KL_ERR_INVAL);
        assert_int_equal(kl_json_set_null(NULL, "k"), KL_ERR_NOMEM);
        assert_null(kl_json_string(NULL));
        assert_int_equal(kl_json_member_count(o), 0);
        assert_int_equal(kl_json_length(arr), 0);
        kl_json_free(arr);
        kl_json_free(o);
        kl_json_free(NULL);
}

static void test_json_read_values(void **state)
{
        const char *text = "{\"s\":\"a\\u0000b\",\"i\":42,\"b\":false,\"z\":null,"
                           "\"l\":[1,\"x\"],\"o\":{\"k\":true},\"d\":1.5}";
        kl_json *o = NULL, *v = NULL;
        const char *key;
        bool b = true;
        size_t n = 0;

        (void)state;
        assert_int_equal(kl_json_parse_object(text, strlen(text), &o), 0);
        assert_int_equal(kl_json_string_length(kl_json_member(o, "s")), 3);
        assert_int_equal(kl_json_int_value(kl_json_member(o, "i")), 42);
        assert_int_equal(kl_json_get_bool(o, "b", &b), 0);
        assert_false(b);
        assert_null(kl_json_member(o, "z"));
        assert_true(kl_json_has(o, "z"));
        assert_false(kl_json_has(o, "missing"));
        assert_int_equal(kl_json_get_string(o, "z", &key), KL_ERR_NOT_FOUND);
        assert_int_equal(kl_json_get_array(o, "l", &v), 0);
        assert_int_equal(kl_json_length(v), 2);
        assert_int_equal(kl_json_type_of(kl_json_at(v, 0)), KL_JSON_INT);
        assert_string_equal(kl_json_string_value(kl_json_at(v, 1)), "x");
        assert_null(kl_json_at(v, 2));
        assert_null(kl_json_string_value(kl_json_at(v, 0))); /* no conversions */
        assert_int_equal(kl_json_int_value(kl_json_at(v, 1)), 0);
        assert_int_equal(kl_json_get_object(o, "l", &v), KL_ERR_INVAL);
        assert_int_equal(kl_json_get_object(o, "o", &v), 0);
        assert_true(kl_json_bool_value(kl_json_member(v, "k")));
        assert_true(kl_json_is(kl_json_member(o, "d"), KL_JSON_DOUBLE));
        assert_true(kl_json_is(NULL, KL_JSON_NULL));
        assert_null(kl_json_member(kl_json_at(NULL, 0), "k"));
        assert_int_equal(kl_json_member_count(o), 7);
        for (struct kl_json_iter it = kl_json_members(o); kl_json_next(&it, &key, &v); n++) {
                static const char *order[] = {"s", "i", "b", "z", "l", "o", "d"};

                assert_string_equal(key, order[n]);
        }
        assert_int_equal(n, 7);
        kl_json_free(o);
}

static void test_json_iter_non_object(void **state)
{
        kl_json *a = kl_json_array(), *v;
        struct kl_json_iter it = kl_json_members(a);
        const char *key;

        (void)state;
        assert_false(kl_json_next(&it, &key, &v));
        it = kl_json_members(NULL);
        assert_false(kl_json_next(&it, &key, &v));
        kl_json_free(a);
}

/* kl_json_ref: a value held by two containers lives until both let go. */
static void test_json_ref(void **state)
{
        kl_json *shared = kl_json_string("s");
        kl_json *a = kl_json_array(), *b = kl_json_array();
        char *s;

        (void)state;
        assert_int_equal(kl_json_append(a, kl_json_ref(shared)), 0);
        assert_int_equal(kl_json_append(b, shared), 0);
        kl_json_free(a);
        s = kl_json_to_string(b);
        assert_string_equal(s, "[\"s\"]");
        free(s);
        kl_json_free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_parse_object_ok),
            cmocka_unit_test(test_json_parse_rejects_garbage),
            cmocka_unit_test(test_json_parse_depth_limit),
            cmocka_unit_test(test_json_envelope_default_results),
            cmocka_unit_test(test_json_envelope_null_results),
            cmocka_unit_test(test_json_build_and_serialise),
            cmocka_unit_test(test_json_pretty),
            cmocka_unit_test(test_json_set_takes_value_on_failure),
            cmocka_unit_test(test_json_read_values),
            cmocka_unit_test(test_json_iter_non_object),
            cmocka_unit_test(test_json_ref),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
