/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 (RFC 4648 section 4). The decoder sees outside input
 * (registrar blobs, TPM structures, payloads), so it is strict and
 * canonical: padding is required, whitespace is refused, and the unused low
 * bits of the last symbol must be zero, which makes decode(encode(x)) == x and
 * encode(decode(s)) == s for every accepted s (the fuzz target checks this).
 */
#include "b64.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one base64 symbol, or -1. No table: keeps the code obviously bounded. */
static int b64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

int kl_b64_encode(const uint8_t *in, size_t len, char **ret_str)
{
        char *out = NULL;
        size_t i, o = 0;

        if ((in == NULL && len != 0) || ret_str == NULL)
                return KL_ERR_INVAL;
        /* 4 * ceil(len / 3) + 1 without overflow */
        if (len / 3 >= (SIZE_MAX - 5) / 4)
                return KL_ERR_TOO_LONG;
        if ((out = malloc((len + 2) / 3 * 4 + 1)) == NULL)
                return KL_ERR_NOMEM;
        for (i = 0; i + 2 < len; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

                out[o++] = b64_alphabet[v >> 18 & 0x3f];
                out[o++] = b64_alphabet[v >> 12 & 0x3f];
                out[o++] = b64_alphabet[v >> 6 & 0x3f];
                out[o++] = b64_alphabet[v & 0x3f];
        }
        if (len - i == 1) {
                uint32_t v = (uint32_t)in[i] << 16;

                out[o++] = b64_alphabet[v >> 18 & 0x3f];
                out[o++] = b64_alphabet[v >> 12 & 0x3f];
                out[o++] = '=';
                out[o++] = '=';
        } else if (len - i == 2) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

                out[o++] = b64_alphabet[v >> 18 & 0x3f];
                out[o++] = b64_alphabet[v >> 12 & 0x3f];
                out[o++] = b64_alphabet[v >> 6 & 0x3f];
                out[o++] = '=';
        }
        out[o] = '\0';
        *ret_str = out;
        return 0;
}

int kl_b64_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len)
{
        const unsigned char *s = (const unsigned char *)in;
        uint8_t *out = NULL;
        size_t i, o = 0, pad = 0;
        int r = KL_ERR_INVAL;

        if ((in == NULL && len != 0) || ret_buf == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (len % 4 != 0)
                return KL_ERR_INVAL;
        /* '=' only as the last one or two symbols; anywhere else it fails b64_value() */
        if (len >= 4 && s[len - 1] == '=')
                pad = s[len - 2] == '=' ? 2 : 1;
        if ((out = malloc(len / 4 * 3 + 1)) == NULL)
                return KL_ERR_NOMEM;
        for (i = 0; i < len; i += 4) {
                int a = b64_value(s[i]), b = b64_value(s[i + 1]);
                int c = -1, d = -1;
                bool last = i + 4 == len;

                if (a < 0 || b < 0)
                        goto out;
                if (last && pad == 2) {
                        if ((b & 0x0f) != 0) /* non-canonical trailing bits */
                                goto out;
                        out[o++] = (uint8_t)(a << 2 | b >> 4);
                        break;
                }
                c = b64_value(s[i + 2]);
                if (c < 0)
                        goto out;
                if (last && pad == 1) {
                        if ((c & 0x03) != 0)
                                goto out;
                        out[o++] = (uint8_t)(a << 2 | b >> 4);
                        out[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
                        break;
                }
                d = b64_value(s[i + 3]);
                if (d < 0)
                        goto out;
                out[o++] = (uint8_t)(a << 2 | b >> 4);
                out[o++] = (uint8_t)((b & 0x0f) << 4 | c >> 2);
                out[o++] = (uint8_t)((c & 0x03) << 6 | d);
        }
        out[o] = '\0';
        *ret_buf = out;
        *ret_len = o;
        out = NULL;
        r = 0;
out:
        free(out);
        return r;
}
