/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TPMT_SIGNATURE of a quote (kl_attest_verify_signature): scheme, hash,
 * RSA sizes, ECDSA r and s. Input: a u16 big-endian length, that many bytes
 * of TPM2B_PUBLIC (the AK), then the signature; the hash it names is the one
 * expected, so parsing goes on to the key check.
 */
#include <stdint.h>

#include "quote.h"
#include "tpm_public.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t attest[] = "\xff\x54\x43\x47\x80\x18 not a real TPMS_ATTEST";
        struct kl_tpm_public *ak = NULL;
        size_t ak_len;
        uint16_t hash;

        if (size < 2)
                return 0;
        ak_len = (size_t)data[0] << 8 | data[1];
        if (ak_len > size - 2 || kl_tpm_public_parse(data + 2, ak_len, &ak) != 0)
                return 0;
        data += 2 + ak_len;
        size -= 2 + ak_len;
        hash = 0x000b;
        if (size >= 4)
                hash = (uint16_t)(data[2] << 8 | data[3]);
        (void)kl_attest_verify_signature(ak, hash, attest, sizeof(attest) - 1, data, size);
        kl_tpm_public_free(ak);
        return 0;
}
