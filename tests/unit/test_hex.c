/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/core/hex.c: round trip, strictness, the allocation-free variants. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>

#include "err.h"
#include "hex.h"

static void test_hex_encode_decode(void **state)
{
        const uint8_t in[] = {0x00, 0x01, 0xab, 0xff};
        uint8_t *buf = NULL;
        size_t len = 0;
        char *s = NULL, fixed[9];

        (void)state;
        assert_int_equal(kl_hex_encode(in, sizeof(in), &s), 0);
        assert_string_equal(s, "0001abff");
        kl_hex_encode_to(in, sizeof(in), fixed);
        assert_string_equal(fixed, "0001abff");
        assert_int_equal(kl_hex_decode("0001ABff", 8, &buf, &len), 0);
        assert_int_equal(len, 4);
        assert_memory_equal(buf, in, 4);
        free(buf);
        free(s);
}

static void test_hex_decode_rejects_malformed(void **state)
{
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_hex_decode("abc", 3, &buf, &len), KL_ERR_INVAL);
        assert_int_equal(kl_hex_decode("zz", 2, &buf, &len), KL_ERR_INVAL);
        assert_int_equal(kl_hex_decode("0x12", 4, &buf, &len), KL_ERR_INVAL);
        assert_int_equal(kl_hex_decode("1 ", 2, &buf, &len), KL_ERR_INVAL);
        assert_null(buf);
}

static void test_hex_decode_to_fills_caller_buffer(void **state)
{
        uint8_t out[4] = {0};
        const uint8_t want[] = {0xde, 0xad, 0xbe, 0xef};

        (void)state;
        assert_true(kl_hex_decode_to("DEADbeef", 8, out));
        assert_memory_equal(out, want, sizeof(want));
        assert_false(kl_hex_decode_to("dead0", 5, out));
        assert_false(kl_hex_decode_to("de-d", 4, out));
        assert_false(kl_hex_decode_to("g0", 2, out));
}

static void test_hex_is_accepts_only_even_hex(void **state)
{
        (void)state;
        assert_true(kl_hex_is("", 0));
        assert_true(kl_hex_is("00aAfF99", 8));
        assert_false(kl_hex_is("abc", 3));
        assert_false(kl_hex_is("0x", 2));
        assert_false(kl_hex_is("\xff\xff", 2));
}

static void test_hex_digit_value_every_byte(void **state)
{
        (void)state;
        for (int c = -1; c < 256; c++) {
                int v = kl_hex_digit_value(c);

                if (c >= '0' && c <= '9')
                        assert_int_equal(v, c - '0');
                else if (c >= 'a' && c <= 'f')
                        assert_int_equal(v, c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        assert_int_equal(v, c - 'A' + 10);
                else
                        assert_int_equal(v, -1);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hex_encode_decode),
            cmocka_unit_test(test_hex_decode_rejects_malformed),
            cmocka_unit_test(test_hex_decode_to_fills_caller_buffer),
            cmocka_unit_test(test_hex_is_accepts_only_even_hex),
            cmocka_unit_test(test_hex_digit_value_every_byte),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
