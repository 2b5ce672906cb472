/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL behind one interface: digests, HMAC, constant-time compare,
 * randomness, RSA-OAEP, AES, keys and X.509. Every OpenSSL failure is
 * logged once here (the whole error queue drained) and returned as
 * KL_ERR_CRYPTO. Buffers are caller-owned unless a ret_ parameter says
 * otherwise. Secret outputs are wiped by kl_secure_free.
 */
#ifndef KL_CRYPTO_H
#define KL_CRYPTO_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* STACK_OF(X509) below; declared here so the prototype does not get its own scope */
struct stack_st_X509;

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

/* RSA-OAEP with the given hash for OAEP and MGF1 ("sha1", "sha256") and optional label. */
int kl_rsa_oaep_encrypt(EVP_PKEY *pub, const char *hash, const uint8_t *label, size_t label_len,
                        const uint8_t *in, size_t in_len, uint8_t **ret_out, size_t *ret_len);
int kl_rsa_oaep_decrypt(EVP_PKEY *priv, const char *hash, const uint8_t *in, size_t in_len,
                        uint8_t **ret_out, size_t *ret_len);

/* AES-CFB (no padding), key 16/24/32 bytes, IV 16 bytes; out holds len bytes. */
int kl_aes_cfb_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out);
/* AES-GCM with a 16-byte IV and 16-byte tag, no AAD (Keylime payloads). */
int kl_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *ct, size_t ct_len, const uint8_t tag[16], uint8_t *out);
int kl_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, uint8_t tag[16]);

/* Keys */
int kl_key_generate_ec_p256(EVP_PKEY **ret_key);
int kl_key_generate_rsa(unsigned bits, EVP_PKEY **ret_key);
/* Loads a PEM private key (optional password); KL_ERR_NOT_FOUND if the file is missing. */
int kl_key_load_pem(const char *path, const char *password, EVP_PKEY **ret_key);
/* Writes PKCS#8 PEM, mode 0600, atomically (temp file + rename). */
int kl_key_save_pem(const char *path, EVP_PKEY *key, const char *password);
/* SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----", 64-char lines). Caller frees. */
int kl_pubkey_to_pem(EVP_PKEY *key, char **ret_pem);
/* Unencrypted PKCS#8 PEM of a private key (for TLS libraries); wipe with kl_secure_free. */
int kl_key_to_pem(EVP_PKEY *key, char **ret_pem);
/* DER SubjectPublicKeyInfo of two keys are equal. */
bool kl_pubkey_equal(EVP_PKEY *a, EVP_PKEY *b);

/* X.509 */
/* Parses one certificate from PEM text, base64 DER text or raw DER (first object wins). */
int kl_x509_parse_any(const uint8_t *data, size_t len, X509 **ret_cert);
int kl_x509_load_file(const char *path, X509 **ret_cert);
int kl_x509_to_pem(X509 *cert, char **ret_pem);
int kl_x509_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_len);
int kl_x509_save_pem(const char *path, X509 *cert);
/*
 * Self-signed certificate for key, CN = cn (cut to 64 bytes), subjectAltName
 * with the IP or DNS name san (NULL or "" for none), valid from now for `days`.
 */
int kl_x509_self_signed(EVP_PKEY *key, const char *cn, const char *san, unsigned days,
                        X509 **ret_cert);
/*
 * Verifies cert against the CA certificates (PEM files, any number of certs
 * each) found in directory ca_dir, with extra untrusted intermediates. TPM
 * EK certificate quirks are tolerated (unhandled critical SAN directoryName,
 * TCG EKU, no key usage for signing). On failure returns KL_ERR_VERIFY and
 * writes OpenSSL's reason into why.
 */
int kl_x509_verify_with_ca_dir(X509 *cert, const char *ca_dir, STACK_OF(X509) * untrusted,
                               char *why, size_t why_len);
/*
 * An X509_STORE of every certificate in the PEM files (.pem, .crt, .cer) of
 * ca_dir; caller frees. KL_ERR_VERIFY with a reason when there are none.
 */
int kl_x509_store_from_dir(const char *ca_dir, X509_STORE **ret_store, char *why, size_t why_len);

#endif
