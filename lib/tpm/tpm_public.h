/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Software view of TPM public areas (TPM 2.0 Part 2, TPM2B_PUBLIC) as they
 * travel in Keylime messages (ek_tpm, aik_tpm): strict unmarshalling, the
 * object Name, and conversion to a public key object (kl_crypto). No TPM needed; used
 * by the registrar stub and the agent alike.
 */
#ifndef KL_TPM_PUBLIC_H
#define KL_TPM_PUBLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkey.h" /* EVP_PKEY, the crypto room's key object */

struct kl_tpm_public; /* opaque: an unmarshalled TPMT_PUBLIC */

/* Parses a marshalled TPM2B_PUBLIC; the whole buffer must be consumed. */
int kl_tpm_public_parse(const uint8_t *buf, size_t len, struct kl_tpm_public **ret);
void kl_tpm_public_free(struct kl_tpm_public *p);

/* nameAlg (u16 BE) || H_nameAlg(TPMT_PUBLIC). out holds 2 + KL_MAX_DIGEST_LEN. */
int kl_tpm_public_name(const struct kl_tpm_public *p, uint8_t *out, size_t *ret_len);
/* RSA or ECC public key as an EVP_PKEY (caller frees). */
int kl_tpm_public_to_pkey(const struct kl_tpm_public *p, EVP_PKEY **ret_key);
/* Its SubjectPublicKeyInfo PEM (kl_pubkey_to_pem); the push model binds it in PCR 16. */
int kl_tpm_public_to_pem(const struct kl_tpm_public *p, char **ret_pem);
/* "sha1", "sha256", ... for the nameAlg; NULL if unknown. */
const char *kl_tpm_public_name_alg(const struct kl_tpm_public *p);
/* The unmarshalled TPMT_PUBLIC (tss2_tpm2_types.h), borrowed from p. */
struct TPMT_PUBLIC;
const struct TPMT_PUBLIC *kl_tpm_public_area(const struct kl_tpm_public *p);
bool kl_tpm_public_is_rsa(const struct kl_tpm_public *p);
/*
 * Key bits of the object's symmetric definition (what MakeCredential needs):
 * KL_ERR_UNSUPPORTED unless it is AES in CFB mode (or the key is not RSA/ECC).
 */
int kl_tpm_public_sym_aes_bits(const struct kl_tpm_public *p, unsigned *ret_bits);

#endif
