/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tenant's side of Keylime secret delivery (bootstrap key K split into
 * U and V, payload encryption), shared by the verifier stub's tenant role and
 * the test tools. Formats as the agent expects them: U and V travel
 * RSA-OAEP(SHA-1, MGF1-SHA-1) encrypted to the agent's NK; the payload is
 * base64(IV(16) || AES-GCM(K, data) || tag(16)); the auth tag is
 * hex HMAC-SHA-384(K, agent ID).
 */
#ifndef KL_TENANT_H
#define KL_TENANT_H

#include <stddef.h>
#include <stdint.h>

#define KL_BOOTSTRAP_KEY_LEN 32

struct kl_bootstrap_keys {
        uint8_t k[KL_BOOTSTRAP_KEY_LEN];
        uint8_t u[KL_BOOTSTRAP_KEY_LEN];
        uint8_t v[KL_BOOTSTRAP_KEY_LEN];
};

/* K and V random, U = K xor V. */
int kl_bootstrap_keys_generate(struct kl_bootstrap_keys *ret);
/* Upstream's key file: three base64 lines K, U, V (32 bytes each, U = K xor V checked). */
int kl_bootstrap_keys_load(const char *path, struct kl_bootstrap_keys *ret);
void kl_bootstrap_keys_wipe(struct kl_bootstrap_keys *keys);

/* base64(IV || AES-256-GCM(k, data) || tag), IV random. Caller frees. */
int kl_tenant_encrypt_payload(const uint8_t *k, size_t k_len, const uint8_t *data, size_t len,
                              char **ret_b64);
/* base64(RSA-OAEP-SHA1(NK, share)) with the NK given as a PEM public key. Caller frees. */
int kl_tenant_wrap_share(const char *nk_pem, const uint8_t *share, size_t len, char **ret_b64);

#endif
