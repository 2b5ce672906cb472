/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key objects (OpenSSL's EVP_PKEY, opaque to callers) and key files. Every
 * function that returns a key hands ownership to the caller: kl_pkey_free.
 */
#ifndef KL_PKEY_H
#define KL_PKEY_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void kl_pkey_free(EVP_PKEY *key); /* NULL-safe */
/* Another reference to key (one more kl_pkey_free); keys are safe to share across threads. */
int kl_pkey_ref(EVP_PKEY *key, EVP_PKEY **ret_key);
bool kl_pkey_is_rsa(const EVP_PKEY *key);

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

/*
 * Public keys from raw parameters (outside input): an RSA modulus (big-endian)
 * and exponent, or an uncompressed EC point 04 || X || Y on group ("P-256",
 * "P-384", "P-521"). KL_ERR_INVAL if OpenSSL refuses the values.
 */
int kl_pubkey_from_rsa(const uint8_t *n, size_t n_len, uint32_t e, EVP_PKEY **ret_key);
int kl_pubkey_from_ec_point(const char *group, const uint8_t *point, size_t point_len,
                            EVP_PKEY **ret_key);
/* Uncompressed public point of an EC key into pt (max bytes); KL_ERR_UNSUPPORTED otherwise. */
int kl_pubkey_ec_point(EVP_PKEY *key, uint8_t *pt, size_t max, size_t *ret_len);
/*
 * An RSA private key's modulus n (big-endian, exactly bits/8 bytes into n,
 * n_max at least that), public exponent and first prime p (bits/16 bytes into
 * p, which holds n_max / 2): what a TPM2B_PUBLIC and TPMT_SENSITIVE hold.
 * KL_ERR_UNSUPPORTED for exponents above 32 bits. p is secret.
 */
int kl_rsa_private_parts(EVP_PKEY *key, uint8_t *n, size_t n_max, size_t *ret_n_len,
                         uint32_t *ret_e, uint8_t *p, size_t *ret_p_len);

#endif
