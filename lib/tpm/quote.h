/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keylime quote evidence without a TPM: the "r<attest>:<sig>:<pcrblob>"
 * string, the tpm2-tools PCR blob and the PCR digest (the TPMS_ATTEST parsers
 * and the AK signature check are attest.h's). Used by the agent (to encode) and by
 * the verifier stub (to check). Every parser takes untrusted bytes: lengths
 * are checked before every copy and every input must be consumed exactly.
 * This module never talks to a TPM and never trusts a length it was given.
 *
 * Format: proto quote-format.md sections 1-3 and 7 (Keylime API 2.x).
 */
#ifndef KL_QUOTE_H
#define KL_QUOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"   /* the TPMS_ATTEST parsers and signature check, for existing callers */
#include "hash_alg.h" /* kl_hash_alg_name() and friends, for existing callers */

/* A quote string longer than this is not a quote (24 SHA-512 PCRs, RSA-4096 fit easily). */
#define KL_QUOTE_MAX_LEN (16u * 1024u)

/* One bank of PCR values. */
struct kl_pcr_set {
        uint16_t hash_alg;                /* TPM_ALG_ID of the bank, e.g. 0x000B */
        uint32_t mask;                    /* bit i = PCR i, i < 24 */
        size_t digest_len;                /* bytes per value for hash_alg */
        uint8_t values[KL_PCR_COUNT][64]; /* values[i] valid when bit i is set */
};

/*
 * tpm2-tools little-endian PCR blob (quote-format.md section 3): the values
 * in ascending PCR order, 8 per TPML_DIGEST. Exact length enforced on decode;
 * exactly one bank with a known hash; every digest must have the bank's size.
 * Encode: caller frees *ret_blob.
 */
int kl_pcrblob_encode(const struct kl_pcr_set *pcrs, uint8_t **ret_blob, size_t *ret_len);
int kl_pcrblob_decode(const uint8_t *blob, size_t len, struct kl_pcr_set *ret);

/* "r" b64(attest) ":" b64(sig) ":" b64(pcrblob); caller frees *ret_quote. */
int kl_quote_encode(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                    const struct kl_pcr_set *pcrs, char **ret_quote);

struct kl_quote {
        uint8_t *attest;
        size_t attest_len;
        uint8_t *sig;
        size_t sig_len;
        struct kl_pcr_set pcrs;
};
/*
 * Splits and decodes a quote string of len bytes (no NUL needed): exactly
 * three parts, strict base64, PCR blob decoded. KL_ERR_TOO_LONG above
 * KL_QUOTE_MAX_LEN. On success the caller releases *ret with kl_quote_clear.
 */
int kl_quote_decode(const char *s, size_t len, struct kl_quote *ret);
/* Frees the buffers and zeroes q. NULL-safe. */
void kl_quote_clear(struct kl_quote *q);

/* H_alg(values of the selected PCRs in ascending order); out holds 64 bytes. */
int kl_pcr_set_digest(const struct kl_pcr_set *pcrs, uint8_t *out, size_t *ret_len);
/* The same in another hash ("sha256"): PolicyPCR hashes the values in the session's. */
int kl_pcr_set_digest_with(const struct kl_pcr_set *pcrs, const char *hash, uint8_t *out,
                           size_t *ret_len);

#endif
