/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2_Duplicate in software (TPM 2.0 Part 1, 23.3 "Duplication"; Part 3,
 * TPM2_Import): an object made outside any TPM, wrapped so that only the TPM
 * holding the parent (the agent's EK) can import it, with the outer wrapper
 * of wrap.h (label "DUPLICATE") and no inner wrapper (Import's symmetricAlg
 * TPM_ALG_NULL). The object's authPolicy is the caller's policy digest and
 * userWithAuth is clear, so the object is usable only through a policy
 * session; fixedTPM and fixedParent are clear, as Import requires.
 *
 * The three outputs are the marshalled structures Import takes, the same
 * bytes tpm2-tools' tpm2_import reads with -u, -i and -s.
 */
#ifndef KL_TPM_DUPLICATE_H
#define KL_TPM_DUPLICATE_H

#include <stddef.h>
#include <stdint.h>

#include "pkey.h" /* EVP_PKEY */

struct kl_tpm_public;

/* Most bytes a sealed data object holds (MAX_SYM_DATA). */
#define KL_TPM_SEALED_MAX 128

struct kl_tpm_dup {
        uint8_t *pub; /* TPM2B_PUBLIC of the object */
        size_t pub_len;
        uint8_t *priv; /* TPM2B_PRIVATE: the duplicate */
        size_t priv_len;
        uint8_t *seed; /* TPM2B_ENCRYPTED_SECRET: inSymSeed */
        size_t seed_len;
};
/* Frees the buffers and zeroes d. NULL-safe. */
void kl_tpm_dup_clear(struct kl_tpm_dup *d);

/*
 * Fixed randomness, for test vectors only: the seed (RSA parents) or the
 * ECDH ephemeral key (ECC parents), and a sealed object's obfuscation value
 * (32 bytes). NULL members are drawn at random.
 */
struct kl_tpm_dup_fixed {
        const uint8_t *seed;
        size_t seed_len;
        EVP_PKEY *ephemeral;
        const uint8_t *obfuscation;
};

/*
 * A sealed data object (KEYEDHASH, nameAlg sha256) holding data (1..128
 * bytes, e.g. an AES key), behind policy (a sha256 policy digest), wrapped
 * to parent. fixed is NULL outside tests. On success the caller clears *ret.
 */
int kl_tpm_dup_sealed(const struct kl_tpm_public *parent, const uint8_t *data, size_t len,
                      const uint8_t *policy, size_t policy_len,
                      const struct kl_tpm_dup_fixed *fixed, struct kl_tpm_dup *ret);

/*
 * An RSA signing key (2048 bits, nameAlg sha256, scheme left to the signer)
 * behind policy, wrapped to parent. The private key's prime is the secret.
 */
int kl_tpm_dup_rsa(const struct kl_tpm_public *parent, EVP_PKEY *key, const uint8_t *policy,
                   size_t policy_len, const struct kl_tpm_dup_fixed *fixed, struct kl_tpm_dup *ret);

#endif
