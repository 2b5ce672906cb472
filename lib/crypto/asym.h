/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Public-key operations: RSA-OAEP, signature checks over a digest, and
 * ephemeral ECDH. Hash names are those of hash_alg.h ("sha256").
 */
#ifndef KL_ASYM_H
#define KL_ASYM_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RSA-OAEP with the given hash for OAEP and MGF1 ("sha1", "sha256") and optional label. */
int kl_rsa_oaep_encrypt(EVP_PKEY *pub, const char *hash, const uint8_t *label, size_t label_len,
                        const uint8_t *in, size_t in_len, uint8_t **ret_out, size_t *ret_len);
int kl_rsa_oaep_decrypt(EVP_PKEY *priv, const char *hash, const uint8_t *in, size_t in_len,
                        uint8_t **ret_out, size_t *ret_len);

/*
 * Checks a signature over digest (made with hash): RSASSA-PKCS1-v1_5, or
 * RSASSA-PSS (any salt length) when pss. KL_ERR_VERIFY if it does not match.
 */
int kl_rsa_verify_digest(EVP_PKEY *key, const char *hash, bool pss, const uint8_t *digest,
                         size_t digest_len, const uint8_t *sig, size_t sig_len);
/* The same for ECDSA, the signature given as big-endian r and s (as a TPM returns it). */
int kl_ecdsa_verify_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest,
                           size_t digest_len, const uint8_t *r, size_t r_len, const uint8_t *s,
                           size_t s_len);
/* Big-endian r and s as the DER ECDSA-Sig-Value X.509 and TLS use; caller frees. */
int kl_ecdsa_sig_der(const uint8_t *r_buf, size_t r_len, const uint8_t *s_buf, size_t s_len,
                     uint8_t **ret_der, size_t *ret_len);
/*
 * Checks an X.509-style signature over data with SHA-256: RSASSA-PKCS1-v1_5
 * for an RSA key, a DER ECDSA-Sig-Value for an EC key. KL_ERR_VERIFY if it does not match.
 */
int kl_verify_sha256(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig,
                     size_t sig_len);

/*
 * Signs digest (made with hash) with a private key, as a TPM's signing key
 * would: RSASSA-PKCS1-v1_5 (caller frees *ret_sig), or ECDSA with r and s
 * big-endian, each padded to the curve's coordinate size (*ret_coord).
 */
int kl_rsa_sign_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest, size_t digest_len,
                       uint8_t **ret_sig, size_t *ret_len);
int kl_ecdsa_sign_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest, size_t digest_len,
                         uint8_t r_buf[66], uint8_t s_buf[66], size_t *ret_coord);

/*
 * ECDH between peer and an ephemeral key on peer's curve: fresh, or eph when
 * not NULL (tests; KL_ERR_INVAL if it is not on that curve). Writes the
 * shared x coordinate Z, and the X || Y of the ephemeral and of the peer
 * point (coord bytes each, *ret_coord). Buffers hold 66 and 132 bytes.
 */
int kl_ecdh_ephemeral(EVP_PKEY *peer, EVP_PKEY *eph, uint8_t z[66], uint8_t eph_xy[132],
                      uint8_t peer_xy[132], size_t *ret_coord);

#endif
