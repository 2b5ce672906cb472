/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Symmetric primitives and helpers: the OpenSSL error logger, randomness,
 * digests, HMAC, constant-time compare, wiping and AES. Buffers are
 * caller-owned. Hash names are those of hash_alg.h ("sha256").
 */
#ifndef KL_PRIMITIVES_H
#define KL_PRIMITIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_SHA1_LEN            20
#define KL_SHA256_LEN          32
#define KL_SHA384_LEN          48
#define KL_SHA512_LEN          64
#define KL_MAX_DIGEST_LEN      64
#define KL_HMAC_SHA384_HEX_LEN 96

/* Logs the OpenSSL error queue with context and clears it; returns KL_ERR_CRYPTO. */
int kl_crypto_err(const char *what);

int kl_random_bytes(uint8_t *buf, size_t len);

/* alg: "sha1", "sha256", "sha384", "sha512"; out must hold KL_MAX_DIGEST_LEN. */
int kl_digest(const char *alg, const void *data, size_t len, uint8_t *out, size_t *ret_len);

int kl_hmac(const char *alg, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
            uint8_t *out, size_t *ret_len);
/* Keylime's tag: lower-case hex of HMAC-SHA-384(key, msg) into out[97]. */
int kl_hmac_sha384_hex(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                       char out[KL_HMAC_SHA384_HEX_LEN + 1]);
/* Constant time over the contents; lengths are public and compared first. */
bool kl_mem_equal_ct(const void *a, size_t a_len, const void *b, size_t b_len);

/* Wipes then frees. NULL-safe. */
void kl_secure_free(void *p, size_t len);
void kl_wipe(void *p, size_t len);

/* AES-CFB (no padding), key 16/24/32 bytes, IV 16 bytes; out holds len bytes. */
int kl_aes_cfb_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out);
int kl_aes_cfb_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out);
/* AES-GCM with a 16-byte IV and 16-byte tag, no AAD (Keylime payloads). */
int kl_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *ct, size_t ct_len, const uint8_t tag[16], uint8_t *out);
int kl_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, uint8_t tag[16]);

#endif
