/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Is this public area a genuine TPM attestation key? A registrar or verifier
 * only ever sees the AK's TPM2B_PUBLIC; the attributes in it are what the TPM
 * enforces for the key's whole life (TPM 2.0 Part 1, 27 "Object Attributes";
 * Part 2, 8.3 TPMA_OBJECT). An AK must be exactly a restricted signing key that
 * never left the TPM: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
 * restricted and sign, nothing else (what tpm2_createak and the Keylime agents
 * make). Otherwise root on the agent host could register an ordinary, importable
 * key and sign any "quote" with it.
 */
#ifndef KL_AK_CHECK_H
#define KL_AK_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct kl_tpm_public;

/* Defaults: every hash and scheme the agent can be configured with. */
#define KL_AK_HASH_ALGS_DEFAULT "sha256,sha384,sha512"
#define KL_AK_SIGN_ALGS_DEFAULT "rsassa,rsapss,ecdsa,ecschnorr"

/*
 * Checks the AK's type (RSA or ECC), its attributes, its name algorithm and its
 * signing scheme with the scheme's hash against comma-separated lists of
 * accepted names (hash_algs: "sha1", "sha256", "sha384", "sha512"; sign_algs:
 * "rsassa", "rsapss", "ecdsa", "ecschnorr"; NULL = the defaults above), as
 * Keylime's accept_tpm_hash_algs and accept_tpm_signing_algs. 0 if acceptable,
 * else KL_ERR_VERIFY with one sentence naming the first problem in why.
 */
int kl_ak_check(const struct kl_tpm_public *ak, const char *hash_algs, const char *sign_algs,
                char *why, size_t why_len);
/* A list for kl_ak_check names only known algorithms (for option checking at startup). */
bool kl_ak_hash_algs_valid(const char *list);
bool kl_ak_sign_algs_valid(const char *list);

#endif
