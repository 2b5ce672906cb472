/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy digests in software (see policy.h). Inputs are the verifier's own
 * attested PCR values; nothing here is secret.
 */
#include "policy.h"

#include <string.h>

#include "be.h"
#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "quote.h"

#define TPM_CC_POLICY_PCR 0x0000017Fu

int kl_tpm_pcr_selection(uint16_t bank, uint32_t mask, uint8_t out[KL_PCR_SELECTION_LEN])
{
        if (mask == 0 || (mask >> KL_PCR_COUNT) != 0 || kl_hash_alg_digest_len(bank) == 0)
                return KL_ERR_INVAL;
        /* u32be count = 1 || u16be hash || u8 sizeofSelect = 3 || pcrSelect[3] */
        kl_be32_put(out, 1);
        kl_be16_put(out + 4, bank);
        out[6] = 3;
        out[7] = (uint8_t)mask;
        out[8] = (uint8_t)(mask >> 8);
        out[9] = (uint8_t)(mask >> 16);
        return 0;
}

int kl_tpm_policy_pcr(const char *hash, const struct kl_pcr_set *pcrs, uint8_t *out,
                      size_t *ret_len)
{
        uint8_t msg[KL_MAX_DIGEST_LEN + 4 + KL_PCR_SELECTION_LEN + KL_MAX_DIGEST_LEN];
        size_t dlen = kl_hash_alg_digest_len(kl_hash_alg_from_name(hash)), pcr_len = 0, n = 0;
        int r;

        if (pcrs == NULL || out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (dlen == 0)
                return KL_ERR_UNSUPPORTED;
        memset(msg, 0, dlen); /* policyDigest of a fresh session */
        n = dlen;
        kl_be32_put(msg + n, TPM_CC_POLICY_PCR);
        n += 4;
        if ((r = kl_tpm_pcr_selection(pcrs->hash_alg, pcrs->mask, msg + n)) < 0)
                return r;
        n += KL_PCR_SELECTION_LEN;
        r = kl_pcr_set_digest_with(pcrs, hash, msg + n, &pcr_len);
        if (r < 0)
                return r;
        return kl_digest(hash, msg, n + pcr_len, out, ret_len);
}
