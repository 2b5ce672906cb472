/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2_MakeCredential in software (TPM 2.0 Part 1, 24 "Credential
 * Protection"; Part 2 TPM2B_ID_OBJECT): the registrar's challenge that only
 * the TPM holding the EK can open, and only for the named AK. Output is the
 * tpm2-tools credential file layout Keylime sends as "blob":
 *   u32be 0xBADCC0DE || u32be 1 || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET
 * RSA EKs: OAEP(nameAlg, label "IDENTITY\0") of a random seed; ECC EKs:
 * ephemeral ECDH, seed = KDFe. Only sha256/sha384 name algorithms and AES
 * symmetric definitions are supported.
 */
#ifndef KL_MAKECRED_H
#define KL_MAKECRED_H

#include <stddef.h>
#include <stdint.h>

#include "pkey.h" /* EVP_PKEY */
#include "wrap.h" /* kl_kdfa, kl_kdfe and the outer wrapper */

struct kl_tpm_public;

/*
 * Builds the credential blob for credential (1..64 bytes) bound to the AK
 * name, encrypted to the EK. Caller owns *ret_blob.
 */
int kl_makecred(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                const uint8_t *credential, size_t cred_len, uint8_t **ret_blob, size_t *ret_len);

/*
 * Deterministic variant for tests: the RSA seed (nameAlg size) or the ECC
 * ephemeral private key is given instead of drawn at random. Exactly one of
 * seed / ephemeral must be non-NULL for the EK type.
 */
int kl_makecred_fixed(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                      const uint8_t *credential, size_t cred_len, const uint8_t *seed,
                      size_t seed_len, EVP_PKEY *ephemeral, uint8_t **ret_blob, size_t *ret_len);

/* Splits a blob into its TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET bodies (lent pointers). */
int kl_credblob_split(const uint8_t *blob, size_t len, const uint8_t **ret_id_object,
                      size_t *ret_id_len, const uint8_t **ret_secret, size_t *ret_secret_len);

/*
 * TPM2_ActivateCredential in software (Part 3, 12.5) for an agent whose EK is
 * a software key: opens blob with the EK's private key and checks the outer
 * HMAC against the AK name before decrypting. The credential goes into
 * ret_cred (KL_MAX_DIGEST_LEN bytes); wipe it after use. ECC EKs only
 * (KL_ERR_UNSUPPORTED for RSA); KL_ERR_VERIFY when the blob is not for this
 * EK and AK, KL_ERR_INVAL when it is malformed.
 */
int kl_activatecred(const struct kl_tpm_public *ek, EVP_PKEY *ek_priv, const uint8_t *ak_name,
                    size_t ak_name_len, const uint8_t *blob, size_t blob_len, uint8_t *ret_cred,
                    size_t *ret_cred_len);

#endif
