/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outer wrapper that MakeCredential (TPM 2.0 Part 1, 24 "Credential
 * Protection") and duplication (Part 1, 23.3.2.3 "Outer Duplication
 * Wrapper") share, in software: a seed that only the parent storage key
 * (here the EK) can recover, and a protected blob keyed from it:
 *   symKey  = KDFa(parent nameAlg, seed, "STORAGE", name, -, parent sym bits)
 *   hmacKey = KDFa(parent nameAlg, seed, "INTEGRITY", -, -, digest bits)
 *   blob    = u16be(dlen) || HMAC_hmacKey(enc || name) || enc,
 *             enc = AES-CFB_symKey(iv 0, plain)
 * The seed is OAEP(nameAlg, label) of random bytes for RSA parents and
 * KDFe(ECDH with an ephemeral key) for ECC parents; the label is "IDENTITY"
 * for credentials and "DUPLICATE" for duplication. Only sha256/sha384
 * parent name algorithms and AES-CFB parent symmetric definitions.
 * The inverse (seed_open, outer_unwrap) is TPM2_ActivateCredential in software.
 */
#ifndef KL_TPM_WRAP_H
#define KL_TPM_WRAP_H

#include <stddef.h>
#include <stdint.h>

#include "pkey.h"       /* EVP_PKEY */
#include "primitives.h" /* KL_MAX_DIGEST_LEN */

struct kl_tpm_public;

/* sizeof(TPMU_ENCRYPTED_SECRET) in tss2 (checked in wrap.c). */
#define KL_TPM_SECRET_MAX 512

/* SP 800-108 counter-mode KDF as TPM 2.0 Part 1 11.4.10.2 (KDFa). */
int kl_kdfa(const char *hash, const uint8_t *key, size_t key_len, const char *label,
            const uint8_t *ctx_u, size_t ctx_u_len, const uint8_t *ctx_v, size_t ctx_v_len,
            unsigned bits, uint8_t *out);
/* TPM 2.0 Part 1 11.4.10.3 (KDFe) for ECDH. */
int kl_kdfe(const char *hash, const uint8_t *z, size_t z_len, const char *label,
            const uint8_t *party_u, size_t party_u_len, const uint8_t *party_v, size_t party_v_len,
            unsigned bits, uint8_t *out);

/* A seed and its encryption to the parent (the TPM2B_ENCRYPTED_SECRET body). Secret. */
struct kl_tpm_seed {
        uint8_t seed[KL_MAX_DIGEST_LEN];
        size_t seed_len;
        uint8_t secret[KL_TPM_SECRET_MAX];
        size_t secret_len;
};

/*
 * Draws a seed (parent nameAlg digest size) and encrypts it to parent with
 * label. For tests, seed_in (RSA parents, exactly that size) or ephemeral
 * (ECC parents) fixes the result; at most the one matching the key type.
 */
int kl_tpm_seed_new(const struct kl_tpm_public *parent, const char *label, const uint8_t *seed_in,
                    size_t seed_len, EVP_PKEY *ephemeral, struct kl_tpm_seed *ret);
/* Wipes the seed. NULL-safe. */
void kl_tpm_seed_clear(struct kl_tpm_seed *s);

/*
 * The protected blob above for plain (a marshalled TPM2B) bound to name,
 * into out (out_max bytes; KL_ERR_TOO_LONG when it does not fit).
 */
int kl_tpm_outer_wrap(const struct kl_tpm_public *parent, const struct kl_tpm_seed *seed,
                      const uint8_t *name, size_t name_len, const uint8_t *plain, size_t plain_len,
                      uint8_t *out, size_t out_max, size_t *ret_len);

/*
 * The inverse, for a parent whose private key is in software (simulated
 * agents): the seed from its encrypted secret (ECC parents only,
 * KL_ERR_UNSUPPORTED for RSA), and plain from a protected blob, the HMAC
 * checked first (KL_ERR_VERIFY for another name, parent or seed; wipe plain).
 */
int kl_tpm_seed_open(const struct kl_tpm_public *parent, EVP_PKEY *parent_priv, const char *label,
                     const uint8_t *secret, size_t secret_len, struct kl_tpm_seed *ret);
int kl_tpm_outer_unwrap(const struct kl_tpm_public *parent, const struct kl_tpm_seed *seed,
                        const uint8_t *name, size_t name_len, const uint8_t *blob, size_t len,
                        uint8_t *plain, size_t plain_max, size_t *ret_len);

#endif
