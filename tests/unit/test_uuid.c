/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "uuid.h"

static void test_uuid_generate_is_valid_v4(void **state)
{
        char a[KL_UUID_STR_LEN + 1], b[KL_UUID_STR_LEN + 1];

        (void)state;
        assert_int_equal(kl_uuid_generate(a), 0);
        assert_int_equal(kl_uuid_generate(b), 0);
        assert_true(kl_uuid_is_valid(a));
        assert_int_equal(a[14], '4');
        assert_string_not_equal(a, b);
}

static void test_uuid_normalize(void **state)
{
        char out[KL_UUID_STR_LEN + 1];

        (void)state;
        assert_int_equal(kl_uuid_normalize("D432FBB3-D2F1-4A97-9EF7-75BD81C00000", out), 0);
        assert_string_equal(out, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000");
        assert_int_equal(kl_uuid_normalize("d432fbb3d2f14a979ef775bd81c00000", out),
                         KL_ERR_INVAL);
        assert_int_equal(kl_uuid_normalize("g432fbb3-d2f1-4a97-9ef7-75bd81c00000", out),
                         KL_ERR_INVAL);
}

static void test_agent_id_is_valid(void **state)
{
        char long_id[82];

        (void)state;
        assert_true(kl_agent_id_is_valid("abc-DEF_1.2", 11));
        assert_false(kl_agent_id_is_valid("", 0));
        assert_false(kl_agent_id_is_valid("a/b", 3));
        assert_false(kl_agent_id_is_valid("a b", 3));
        memset(long_id, 'a', sizeof(long_id));
        assert_true(kl_agent_id_is_valid(long_id, 80));
        assert_false(kl_agent_id_is_valid(long_id, 81));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid_generate_is_valid_v4),
                cmocka_unit_test(test_uuid_normalize),
                cmocka_unit_test(test_agent_id_is_valid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
