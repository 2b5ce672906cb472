/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy digests in software (TPM 2.0 Part 1, 19.7 "Enhanced Authorization"),
 * what a verifier puts into an object's authPolicy and the TPM recomputes in
 * a policy session. Only TPM2_PolicyPCR so far.
 */
#ifndef KL_TPM_POLICY_H
#define KL_TPM_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct kl_pcr_set;

/* Largest TPML_PCR_SELECTION of one bank: count, hash, sizeofSelect, 3 bytes. */
#define KL_PCR_SELECTION_LEN 10

/* TPML_PCR_SELECTION of one bank (TPM_ALG_ID) and mask (PCRs 0..23), marshalled. */
int kl_tpm_pcr_selection(uint16_t bank, uint32_t mask, uint8_t out[KL_PCR_SELECTION_LEN]);

/*
 * Part 3, 23.7 PolicyPCR from a fresh session: H(0...0 || TPM_CC_PolicyPCR ||
 * TPML_PCR_SELECTION || H(selected values in ascending order)), all in the
 * session hash ("sha256"), whatever the bank. out holds KL_MAX_DIGEST_LEN.
 * KL_ERR_INVAL for an empty mask or a bank/size mismatch.
 */
int kl_tpm_policy_pcr(const char *hash, const struct kl_pcr_set *pcrs, uint8_t *out,
                      size_t *ret_len);

#endif
