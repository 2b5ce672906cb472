/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM objects made from software keys, for simulated agents and tests: the
 * public areas a TPM reports for an EK (TCG EK template) and for an AK
 * (restricted signing key) or any signing key, and quotes and certifications
 * built and signed as TPM2_Quote and TPM2_Certify do (TPM 2.0 Part 3, 18.4, 18.2). A verifier
 * cannot tell them from a TPM's by their format; only the key's origin differs. Never used by the
 * agent.
 */
#ifndef KL_SOFT_TPM_H
#define KL_SOFT_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "pkey.h"  /* EVP_PKEY */
#include "quote.h" /* struct kl_pcr_set */

/*
 * Marshalled TPM2B_PUBLIC of key (caller frees *ret): an EK (ECC P-256,
 * nameAlg sha256, AES-128-CFB, the TCG EK policy), or an AK (nameAlg sha256,
 * ECDSA-SHA256 on P-256 or RSASSA-SHA256 on RSA-2048, the attributes
 * kl_ak_check wants). KL_ERR_UNSUPPORTED for other keys.
 */
int kl_soft_ek_public(EVP_PKEY *key, uint8_t **ret, size_t *ret_len);
int kl_soft_ak_public(EVP_PKEY *key, uint8_t **ret, size_t *ret_len);
/*
 * An unrestricted signing key's TPM2B_PUBLIC (scheme NULL, nameAlg sha256,
 * RSA-2048 or P-256) with attrs (TPMA_OBJECT bits; restricted is refused):
 * a software key that claims whatever attributes it likes.
 */
int kl_soft_signing_public(EVP_PKEY *key, uint32_t attrs, uint8_t **ret, size_t *ret_len);

/* The TPMS_CLOCK_INFO a quote carries (safe is always set). */
struct kl_soft_clock {
        uint64_t clock; /* ms */
        uint32_t reset_count, restart_count;
};

/*
 * A quote over pcrs (one bank) with nonce as qualifying data, signed by ak
 * (SHA-256): the marshalled TPMS_ATTEST and TPMT_SIGNATURE, caller frees both.
 */
int kl_soft_quote(EVP_PKEY *ak, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *nonce,
                  size_t nonce_len, const struct kl_soft_clock *clk, const struct kl_pcr_set *pcrs,
                  uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                  size_t *ret_sig_len);

/*
 * A TPMS_ATTEST of type CERTIFY (TPM2_Certify, Part 3, 18.2) of the object
 * named name, nonce as qualifying data, signed by ak (SHA-256).
 */
int kl_soft_certify(EVP_PKEY *ak, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *nonce,
                    size_t nonce_len, const uint8_t *name, size_t name_len, uint8_t **ret_attest,
                    size_t *ret_attest_len, uint8_t **ret_sig, size_t *ret_sig_len);

#endif
