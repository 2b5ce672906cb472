/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/core/b64.c: RFC 4648 vectors, strictness. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"

/* RFC 4648 section 10 */
static const char *const rfc_plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const rfc_b64[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

static void test_b64_encode_rfc4648_vectors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rfc_plain) / sizeof(rfc_plain[0]); i++) {
                char *s = NULL;

                assert_int_equal(
                    kl_b64_encode((const uint8_t *)rfc_plain[i], strlen(rfc_plain[i]), &s), 0);
                assert_string_equal(s, rfc_b64[i]);
                free(s);
        }
}

static void test_b64_decode_rfc4648_vectors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rfc_plain) / sizeof(rfc_plain[0]); i++) {
                uint8_t *buf = NULL;
                size_t len = 99;

                assert_int_equal(kl_b64_decode(rfc_b64[i], strlen(rfc_b64[i]), &buf, &len), 0);
                assert_int_equal(len, strlen(rfc_plain[i]));
                assert_memory_equal(buf, rfc_plain[i], len);
                assert_int_equal(buf[len], 0); /* documented trailing NUL */
                free(buf);
        }
}

static void test_b64_decode_rejects_malformed(void **state)
{
        static const char *const bad[] = {
            "Zg=",          /* length not a multiple of 4 */
            "Zg",           /* padding missing */
            "Zm9v\n",       /* whitespace */
            "Zm 9v",        /* whitespace inside */
            "Z===",         /* too much padding */
            "====",         /* padding only */
            "Zg==Zg==",     /* padding in the middle */
            "Zm=v",         /* '=' before a symbol */
            "Zm9-",         /* URL-safe alphabet */
            "Zh==",         /* non-zero trailing bits */
            "Zm9=",         /* non-zero trailing bits */
            "Zm9v\0\0\0\0", /* embedded NUL */
        };
        static const size_t bad_len[] = {3, 2, 5, 5, 4, 4, 8, 4, 4, 4, 4, 8};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint8_t *buf = NULL;
                size_t len = 0;

                assert_int_equal(kl_b64_decode(bad[i], bad_len[i], &buf, &len), KL_ERR_INVAL);
                assert_null(buf);
        }
}

static void test_b64_roundtrip_all_byte_values(void **state)
{
        uint8_t in[256], *out = NULL;
        size_t len = 0;
        char *s = NULL;

        (void)state;
        for (size_t i = 0; i < sizeof(in); i++)
                in[i] = (uint8_t)(255 - i);
        for (size_t n = 0; n <= sizeof(in); n += 37) {
                assert_int_equal(kl_b64_encode(in, n, &s), 0);
                assert_int_equal(strlen(s), (n + 2) / 3 * 4);
                assert_int_equal(kl_b64_decode(s, strlen(s), &out, &len), 0);
                assert_int_equal(len, n);
                assert_memory_equal(out, in, n);
                free(out);
                free(s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_b64_encode_rfc4648_vectors),
            cmocka_unit_test(test_b64_decode_rfc4648_vectors),
            cmocka_unit_test(test_b64_decode_rejects_malformed),
            cmocka_unit_test(test_b64_roundtrip_all_byte_values),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
