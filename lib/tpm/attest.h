/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed attestations as a verifier receives them: strict parsers of the
 * TPMS_ATTEST a quote (TPM2_Quote) or a certification (TPM2_Certify) signs,
 * and the check of the AK's TPMT_SIGNATURE over those bytes. No TPM needed.
 */
#ifndef KL_ATTEST_H
#define KL_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kl_tpm_public;

#define KL_PCR_COUNT 24 /* PCRs 0..23: what a selection may name */

/* What a verifier needs from TPMS_ATTEST (TPM 2.0 Part 2, 10.12.12). */
struct kl_attest_info {
        uint8_t nonce[64]; /* extraData */
        size_t nonce_len;
        uint64_t clock;
        uint32_t reset_count, restart_count;
        bool safe;
        uint64_t firmware_version;
        uint16_t sel_hash; /* the single bank selected */
        uint32_t sel_mask;
        uint8_t pcr_digest[64];
        size_t pcr_digest_len;
};
/*
 * Strict TPMS_ATTEST (quote) parse, big-endian: magic, type, extraData of at
 * most 64 bytes, safe 0/1, exactly one bank with PCRs < 24, whole buffer
 * consumed. KL_ERR_INVAL otherwise.
 */
int kl_attest_parse(const uint8_t *attest, size_t len, struct kl_attest_info *ret);

/* What a verifier needs from a TPMS_ATTEST of type CERTIFY (Part 2, 10.12.3). */
struct kl_certify_info {
        uint8_t nonce[64]; /* extraData */
        size_t nonce_len;
        uint8_t name[2 + 64]; /* the certified object's Name */
        size_t name_len;
};
/* Strict TPMS_ATTEST (certify) parse: magic, type, sizes, whole buffer consumed. */
int kl_certify_parse(const uint8_t *attest, size_t len, struct kl_certify_info *ret);

/*
 * Checks the TPMT_SIGNATURE over attest with the AK: RSASSA (PKCS#1 v1.5) or
 * RSAPSS for an RSA AK, ECDSA (r,s converted to DER) for an EC AK. The
 * signature's hash alg must equal expected_hash_alg. KL_ERR_VERIFY on a bad
 * or mismatching signature, KL_ERR_INVAL on a malformed one.
 */
int kl_attest_verify_signature(const struct kl_tpm_public *ak, uint16_t expected_hash_alg,
                               const uint8_t *attest, size_t attest_len, const uint8_t *sig,
                               size_t sig_len);

#endif
