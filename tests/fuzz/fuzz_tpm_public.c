/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: TPM2B_PUBLIC from the wire, then its Name and OpenSSL key. */
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "tpm_public.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_tpm_public *p = NULL;
        uint8_t name[2 + KL_MAX_DIGEST_LEN];
        size_t name_len = 0;
        EVP_PKEY *key = NULL;
        unsigned bits = 0;

        if (kl_tpm_public_parse(data, size, &p) != 0)
                return 0;
        (void)kl_tpm_public_name(p, name, &name_len);
        (void)kl_tpm_public_sym_aes_bits(p, &bits);
        if (kl_tpm_public_to_pkey(p, &key) == 0)
                EVP_PKEY_free(key);
        kl_tpm_public_free(p);
        return 0;
}
