/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "err.h"
#include "nonce.h"

/* What the agent's quote routes accept and why they refuse the rest. */
static void test_check(void **state)
{
        char longest[KL_NONCE_MAX + 2];

        (void)state;
        assert_int_equal(kl_nonce_check("a"), KL_NONCE_OK);
        assert_int_equal(kl_nonce_check("AbC019xyz"), KL_NONCE_OK);
        assert_int_equal(kl_nonce_check(NULL), KL_NONCE_MISSING);
        assert_int_equal(kl_nonce_check(""), KL_NONCE_NOT_ALNUM);
        assert_int_equal(kl_nonce_check("ab-c"), KL_NONCE_NOT_ALNUM);
        assert_int_equal(kl_nonce_check("a b"), KL_NONCE_NOT_ALNUM);
        assert_int_equal(kl_nonce_check("caf\xc3\xa9"), KL_NONCE_NOT_ALNUM);
        memset(longest, 'a', KL_NONCE_MAX);
        longest[KL_NONCE_MAX] = '\0';
        assert_int_equal(kl_nonce_check(longest), KL_NONCE_OK);
        longest[KL_NONCE_MAX] = 'a';
        longest[KL_NONCE_MAX + 1] = '\0';
        assert_int_equal(kl_nonce_check(longest), KL_NONCE_TOO_LONG);
}

/* What the verifier generates passes the agent's check, and differs every time. */
static void test_generate_passes_check(void **state)
{
        char a[KL_NONCE_LEN + 1], b[KL_NONCE_LEN + 1], big[KL_NONCE_MAX + 2];

        (void)state;
        assert_int_equal(kl_nonce_generate(a, KL_NONCE_LEN), 0);
        assert_int_equal(kl_nonce_generate(b, KL_NONCE_LEN), 0);
        assert_int_equal(strlen(a), KL_NONCE_LEN);
        assert_int_equal(kl_nonce_check(a), KL_NONCE_OK);
        assert_string_not_equal(a, b);
        assert_int_equal(kl_nonce_generate(big, KL_NONCE_MAX), 0);
        assert_int_equal(kl_nonce_check(big), KL_NONCE_OK);
        assert_int_equal(kl_nonce_generate(big, KL_NONCE_MAX + 1), KL_ERR_INVAL);
        assert_int_equal(kl_nonce_generate(big, 0), KL_ERR_INVAL);
}

static void test_matches(void **state)
{
        (void)state;
        assert_true(kl_nonce_matches((const uint8_t *)"abc", 3, "abc"));
        assert_false(kl_nonce_matches((const uint8_t *)"abd", 3, "abc"));
        assert_false(kl_nonce_matches((const uint8_t *)"abc", 2, "abc"));
        assert_false(kl_nonce_matches((const uint8_t *)"", 0, ""));
        assert_false(kl_nonce_matches((const uint8_t *)"abc", 3, NULL));
        assert_false(kl_nonce_matches(NULL, 3, "abc"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_check),
            cmocka_unit_test(test_generate_passes_check),
            cmocka_unit_test(test_matches),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
