/* SPDX-License-Identifier: Apache-2.0 */
/* Hex codec: digests, nonces and TPM names travel as hex in JSON and logs. */
#include "hex.h"

#include <stdlib.h>

#include "err.h"

static const char hex_digits[] = "0123456789abcdef";

int kl_hex_digit_value(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

void kl_hex_encode_to(const uint8_t *in, size_t len, char *out)
{
        for (size_t i = 0; i < len; i++) {
                out[2 * i] = hex_digits[in[i] >> 4];
                out[2 * i + 1] = hex_digits[in[i] & 0x0f];
        }
        out[2 * len] = '\0';
}

int kl_hex_encode(const uint8_t *in, size_t len, char **ret_str)
{
        char *out;

        if ((in == NULL && len != 0) || ret_str == NULL)
                return KL_ERR_INVAL;
        if (len >= (SIZE_MAX - 1) / 2)
                return KL_ERR_TOO_LONG;
        if ((out = malloc(2 * len + 1)) == NULL)
                return KL_ERR_NOMEM;
        kl_hex_encode_to(in, len, out);
        *ret_str = out;
        return 0;
}

bool kl_hex_decode_to(const char *in, size_t len, uint8_t *out)
{
        const unsigned char *s = (const unsigned char *)in;

        if (len % 2 != 0)
                return false;
        for (size_t i = 0; i < len / 2; i++) {
                int hi = kl_hex_digit_value(s[2 * i]), lo = kl_hex_digit_value(s[2 * i + 1]);

                if (hi < 0 || lo < 0)
                        return false;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return true;
}

bool kl_hex_is(const char *in, size_t len)
{
        const unsigned char *s = (const unsigned char *)in;

        if (len % 2 != 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (kl_hex_digit_value(s[i]) < 0)
                        return false;
        }
        return true;
}

int kl_hex_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len)
{
        uint8_t *out;

        if ((in == NULL && len != 0) || ret_buf == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (len % 2 != 0)
                return KL_ERR_INVAL;
        if ((out = malloc(len / 2 + 1)) == NULL)
                return KL_ERR_NOMEM;
        if (!kl_hex_decode_to(in, len, out)) {
                free(out);
                return KL_ERR_INVAL;
        }
        out[len / 2] = '\0';
        *ret_buf = out;
        *ret_len = len / 2;
        return 0;
}
