/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certified keys (proto-docs/certified-key.md): what a verifier checks
 * before it issues a certificate to a key an agent says lives in its TPM.
 * The agent answers with the key's TPM2B_PUBLIC and a TPM2_Certify of it by
 * the AK over the verifier's nonce (TPM 2.0 Part 3, 18.2); only the AK's
 * signature makes the public area's attributes believable, and only the
 * Name in the signed TPMS_ATTEST ties them to the key received. No TPM needed.
 */
#ifndef KL_CERTIFIED_H
#define KL_CERTIFIED_H

#include <stddef.h>
#include <stdint.h>

struct kl_tpm_public;

/*
 * Checks, in this order, with one sentence naming the first failure in why:
 * the signature over attest with the AK (its own scheme's hash); attest is a
 * CERTIFY; its qualifying data is nonce (the characters sent); its certified
 * Name is the Name of pub; pub is an RSA-2048 or ECC P-256 key with
 * fixedTPM, fixedParent, sensitiveDataOrigin and sign, and neither restricted
 * nor decrypt. 0 and *ret_key (pub parsed; caller frees) or KL_ERR_VERIFY.
 */
int kl_certified_check(const struct kl_tpm_public *ak, const char *nonce, const uint8_t *pub,
                       size_t pub_len, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
                       size_t sig_len, struct kl_tpm_public **ret_key, char *why, size_t why_len);

/*
 * What POST /keys/prove signs: KL_CERTIFIED_PROVE_CONTEXT, a NUL, then the
 * challenge. The fixed prefix keeps a challenge from being a message the key
 * signs elsewhere (a TLS handshake, when it is the agent's server key): a
 * TLS 1.3 CertificateVerify input starts with 64 spaces, a TLS 1.2 one with
 * the client's random. *ret (caller frees) or KL_ERR_NOMEM / KL_ERR_INVAL.
 */
#define KL_CERTIFIED_PROVE_CONTEXT "keylime-agent-c certified key proof v1"
int kl_certified_prove_message(const uint8_t *challenge, size_t len, uint8_t **ret,
                               size_t *ret_len);

#endif
