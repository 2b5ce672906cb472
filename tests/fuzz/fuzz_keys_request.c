/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The /keys/ukey and /keys/vkey body parser the handlers use
 * (keys_parse_request): JSON, base64, RSA-OAEP with a throwaway NK made on
 * the first call, hex auth tag, base64 payload. Input: the first byte picks
 * U (even) or V (odd); the rest is the body.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#include "crypto.h"
#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static EVP_PKEY *nk;
        struct keys_share *s = NULL;
        char err[256];

        if (nk == NULL && kl_key_generate_rsa(2048, &nk) < 0)
                abort();
        if (size < 1)
                return 0;
        if (keys_parse_request(nk, data[0] == 'V' ? KEYS_V : KEYS_U, (const char *)data + 1,
                               size - 1, &s, err, sizeof(err)) == 0)
                keys_share_free(s);
        return 0;
}
