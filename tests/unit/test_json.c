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
        struct json_object *o = NULL;
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
        json_object_put(o);
}

static void test_json_parse_rejects_garbage(void **state)
{
        static const char *bad[] = {"",      "{",         "{\"a\":1} x", "[1,2]",
                                    "null",  "{\"a\":1,}",  "\xff\xfe",
                                    "{\"a\"", "{\"a\":\"\xc3\x28\"}"};
        struct json_object *o = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(kl_json_parse_object(bad[i], strlen(bad[i]), &o),
                                 KL_ERR_INVAL);
}

static void test_json_parse_depth_limit(void **state)
{
        char deep[200];
        struct json_object *o = NULL;
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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_json_parse_object_ok),
                cmocka_unit_test(test_json_parse_rejects_garbage),
                cmocka_unit_test(test_json_parse_depth_limit),
                cmocka_unit_test(test_json_envelope_default_results),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
