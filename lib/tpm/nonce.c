/* SPDX-License-Identifier: Apache-2.0 */
/* Quote nonces: checked on the agent, generated and compared on the verifier (nonce.h). */
#include "nonce.h"

#include <ctype.h>
#include <string.h>

#include "err.h"
#include "primitives.h"

enum kl_nonce_fault kl_nonce_check(const char *nonce)
{
        size_t n;

        if (nonce == NULL)
                return KL_NONCE_MISSING;
        for (n = 0; nonce[n] != '\0'; n++) {
                if (!isalnum((unsigned char)nonce[n]))
                        return KL_NONCE_NOT_ALNUM;
        }
        if (n == 0)
                return KL_NONCE_NOT_ALNUM;
        return n > KL_NONCE_MAX ? KL_NONCE_TOO_LONG : KL_NONCE_OK;
}

int kl_nonce_generate(char *out, size_t len)
{
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t rnd[64];
        size_t have = 0;
        int r;

        if (out == NULL || len == 0 || len > KL_NONCE_MAX)
                return KL_ERR_INVAL;
        while (have < len) {
                if ((r = kl_random_bytes(rnd, sizeof(rnd))) < 0)
                        return r;
                for (size_t i = 0; i < sizeof(rnd) && have < len; i++) {
                        if (rnd[i] < 62 * 4) /* 248 = 4 * 62: no modulo bias */
                                out[have++] = alphabet[rnd[i] % 62];
                }
        }
        out[len] = '\0';
        return 0;
}

bool kl_nonce_matches(const uint8_t *got, size_t got_len, const char *sent)
{
        size_t n = sent != NULL ? strlen(sent) : 0;

        /* the nonce is public: a plain compare is enough */
        return n != 0 && got != NULL && got_len == n && memcmp(got, sent, n) == 0;
}
