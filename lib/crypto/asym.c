/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Public-key operations: RSA-OAEP, signature checks over a digest (RSASSA,
 * RSAPSS, ECDSA given as r and s), signing with software keys, and ephemeral ECDH. A bad signature
 * or a point off the curve is an answer about outside input (KL_ERR_VERIFY / KL_ERR_INVAL), not an
 * OpenSSL failure, so it is not logged as one.
 */
#include "asym.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "err.h"
#include "hash_alg.h"
#include "pkey.h"
#include "primitives.h"

/* RSA-OAEP */

static int oaep_ctx(EVP_PKEY *key, const char *hash, bool encrypt, EVP_PKEY_CTX **ret_ctx)
{
        EVP_PKEY_CTX *ctx = NULL;
        int r = KL_ERR_CRYPTO;

        if (kl_hash_alg_from_name(hash) == 0) /* hash_alg.h's supported hashes only */
                return KL_ERR_UNSUPPORTED;
        if (key == NULL || !EVP_PKEY_is_a(key, "RSA"))
                return KL_ERR_INVAL;
        if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL) {
                r = kl_crypto_err("EVP_PKEY_CTX_new_from_pkey");
                goto out;
        }
        if ((encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, hash, NULL) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, hash, NULL) <= 0) {
                r = kl_crypto_err("RSA-OAEP setup");
                goto out;
        }
        *ret_ctx = ctx;
        ctx = NULL;
        r = 0;
out:
        EVP_PKEY_CTX_free(ctx);
        return r;
}

int kl_rsa_oaep_encrypt(EVP_PKEY *pub, const char *hash, const uint8_t *label, size_t label_len,
                        const uint8_t *in, size_t in_len, uint8_t **ret_out, size_t *ret_len)
{
        EVP_PKEY_CTX *ctx = NULL;
        unsigned char *lbl = NULL;
        uint8_t *out = NULL;
        size_t out_len = 0;
        int r;

        if ((in == NULL && in_len != 0) || (label == NULL && label_len != 0) || ret_out == NULL ||
            ret_len == NULL)
                return KL_ERR_INVAL;
        r = oaep_ctx(pub, hash, true, &ctx);
        if (r < 0)
                goto out;
        if (label_len > 0) {
                /* set0 takes ownership of an OPENSSL_malloc'd copy */
                if ((lbl = OPENSSL_memdup(label, label_len)) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, lbl, (int)label_len) <= 0) {
                        r = kl_crypto_err("EVP_PKEY_CTX_set0_rsa_oaep_label");
                        goto out;
                }
                lbl = NULL;
        }
        if (EVP_PKEY_encrypt(ctx, NULL, &out_len, in, in_len) <= 0) {
                r = kl_crypto_err("EVP_PKEY_encrypt");
                goto out;
        }
        if ((out = malloc(out_len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (EVP_PKEY_encrypt(ctx, out, &out_len, in, in_len) <= 0) {
                r = kl_crypto_err("EVP_PKEY_encrypt");
                goto out;
        }
        *ret_out = out;
        *ret_len = out_len;
        out = NULL;
        r = 0;
out:
        free(out);
        OPENSSL_free(lbl);
        EVP_PKEY_CTX_free(ctx);
        return r;
}

int kl_rsa_oaep_decrypt(EVP_PKEY *priv, const char *hash, const uint8_t *in, size_t in_len,
                        uint8_t **ret_out, size_t *ret_len)
{
        EVP_PKEY_CTX *ctx = NULL;
        uint8_t *tmp = NULL, *out = NULL;
        size_t tmp_size = 0, out_len = 0;
        int r;

        if (in == NULL || in_len == 0 || ret_out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        r = oaep_ctx(priv, hash, false, &ctx);
        if (r < 0)
                goto out;
        if (EVP_PKEY_decrypt(ctx, NULL, &tmp_size, in, in_len) <= 0) {
                r = kl_crypto_err("EVP_PKEY_decrypt");
                goto out;
        }
        if ((tmp = malloc(tmp_size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        out_len = tmp_size;
        if (EVP_PKEY_decrypt(ctx, tmp, &out_len, in, in_len) <= 0) {
                /* wrong key or tampered input: a verification failure, not a crash */
                ERR_clear_error();
                r = KL_ERR_VERIFY;
                goto out;
        }
        /* exact-size copy so the caller can wipe exactly *ret_len bytes */
        if ((out = malloc(out_len + 1)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(out, tmp, out_len);
        out[out_len] = 0;
        *ret_out = out;
        *ret_len = out_len;
        out = NULL;
        r = 0;
out:
        kl_secure_free(tmp, tmp_size);
        EVP_PKEY_CTX_free(ctx);
        return r;
}

/* Signatures */

/* A verify context for digests made with hash; RSA padding set when rsa_padding != 0. */
static int verify_ctx(EVP_PKEY *key, const char *hash, int rsa_padding, EVP_PKEY_CTX **ret_ctx)
{
        const EVP_MD *md = hash != NULL ? EVP_get_digestbyname(hash) : NULL;
        EVP_PKEY_CTX *ctx = NULL;

        if (md == NULL || (ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL ||
            EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, md) != 1) {
                EVP_PKEY_CTX_free(ctx);
                return kl_crypto_err("EVP_PKEY_verify_init");
        }
        if (rsa_padding != 0 &&
            (EVP_PKEY_CTX_set_rsa_padding(ctx, rsa_padding) != 1 ||
             (rsa_padding == RSA_PKCS1_PSS_PADDING &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_AUTO) != 1))) {
                EVP_PKEY_CTX_free(ctx);
                return kl_crypto_err("EVP_PKEY_CTX_set_rsa_padding");
        }
        *ret_ctx = ctx;
        return 0;
}

static int verify_with(EVP_PKEY *key, const char *hash, int rsa_padding, const uint8_t *digest,
                       size_t digest_len, const uint8_t *sig, size_t sig_len)
{
        EVP_PKEY_CTX *ctx = NULL;
        int r;

        if (key == NULL || digest == NULL || sig == NULL || sig_len == 0)
                return KL_ERR_INVAL;
        if ((r = verify_ctx(key, hash, rsa_padding, &ctx)) < 0)
                return r;
        if (EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len) != 1) {
                /* a bad signature is an answer, not an OpenSSL failure: no error log */
                ERR_clear_error();
                r = KL_ERR_VERIFY;
        }
        EVP_PKEY_CTX_free(ctx);
        return r;
}

int kl_rsa_verify_digest(EVP_PKEY *key, const char *hash, bool pss, const uint8_t *digest,
                         size_t digest_len, const uint8_t *sig, size_t sig_len)
{
        return verify_with(key, hash, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING, digest,
                           digest_len, sig, sig_len);
}

int kl_ecdsa_sig_der(const uint8_t *r_buf, size_t r_len, const uint8_t *s_buf, size_t s_len,
                     uint8_t **ret_der, size_t *ret_len)
{
        ECDSA_SIG *es = NULL;
        BIGNUM *br = NULL, *bs = NULL;
        uint8_t *der = NULL;
        int n, r = KL_ERR_CRYPTO;

        if (r_buf == NULL || s_buf == NULL || r_len == 0 || s_len == 0 || r_len > 66 || s_len > 66)
                return KL_ERR_INVAL;
        if ((es = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(r_buf, (int)r_len, NULL)) == NULL ||
            (bs = BN_bin2bn(s_buf, (int)s_len, NULL)) == NULL) {
                r = kl_crypto_err("ECDSA_SIG_new");
                goto out;
        }
        if (ECDSA_SIG_set0(es, br, bs) != 1) {
                r = kl_crypto_err("ECDSA_SIG_set0");
                goto out;
        }
        br = bs = NULL; /* owned by es now */
        if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
                r = kl_crypto_err("i2d_ECDSA_SIG");
                goto out;
        }
        /* the caller's free(), not OpenSSL's: callers outside this room cannot reach it */
        if ((*ret_der = malloc((size_t)n)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(*ret_der, der, (size_t)n);
        *ret_len = (size_t)n;
        r = 0;
out:
        OPENSSL_free(der);
        BN_free(br);
        BN_free(bs);
        ECDSA_SIG_free(es);
        return r;
}

int kl_ecdsa_verify_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest,
                           size_t digest_len, const uint8_t *r_buf, size_t r_len,
                           const uint8_t *s_buf, size_t s_len)
{
        uint8_t *der = NULL;
        size_t der_len = 0;
        int r;

        /* 66 bytes: a P-521 coordinate, the largest curve a TPM offers */
        if (r_buf == NULL || s_buf == NULL || r_len == 0 || s_len == 0 || r_len > 66 || s_len > 66)
                return KL_ERR_INVAL;
        if ((r = kl_ecdsa_sig_der(r_buf, r_len, s_buf, s_len, &der, &der_len)) < 0)
                return r;
        r = verify_with(key, hash, 0, digest, digest_len, der, der_len);
        free(der);
        return r;
}

int kl_verify_sha256(EVP_PKEY *key, const uint8_t *data, size_t len, const uint8_t *sig,
                     size_t sig_len)
{
        uint8_t digest[KL_MAX_DIGEST_LEN];
        size_t digest_len = 0;
        int r;

        if (key == NULL || data == NULL)
                return KL_ERR_INVAL;
        if ((r = kl_digest("sha256", data, len, digest, &digest_len)) < 0)
                return r;
        return verify_with(key, "sha256", EVP_PKEY_is_a(key, "RSA") ? RSA_PKCS1_PADDING : 0, digest,
                           digest_len, sig, sig_len);
}

/* Signing (software keys standing in for a TPM's: simulators and tests) */

/* The raw signature over digest; for EC keys the DER ECDSA-Sig-Value. Caller frees *ret_sig. */
static int sign_with(EVP_PKEY *key, const char *hash, const uint8_t *digest, size_t digest_len,
                     uint8_t **ret_sig, size_t *ret_len)
{
        const EVP_MD *md = hash != NULL ? EVP_get_digestbyname(hash) : NULL;
        EVP_PKEY_CTX *ctx = NULL;
        uint8_t *sig = NULL;
        size_t len = 0;
        int r = KL_ERR_CRYPTO;

        if (key == NULL || digest == NULL || md == NULL)
                return KL_ERR_INVAL;
        if ((ctx = EVP_PKEY_CTX_new(key, NULL)) == NULL || EVP_PKEY_sign_init(ctx) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
            (EVP_PKEY_is_a(key, "RSA") &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
            EVP_PKEY_sign(ctx, NULL, &len, digest, digest_len) != 1) {
                r = kl_crypto_err("EVP_PKEY_sign_init");
                goto out;
        }
        if ((sig = malloc(len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (EVP_PKEY_sign(ctx, sig, &len, digest, digest_len) != 1) {
                r = kl_crypto_err("EVP_PKEY_sign");
                goto out;
        }
        *ret_sig = sig;
        *ret_len = len;
        sig = NULL;
        r = 0;
out:
        free(sig);
        EVP_PKEY_CTX_free(ctx);
        return r;
}

int kl_rsa_sign_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest, size_t digest_len,
                       uint8_t **ret_sig, size_t *ret_len)
{
        if (key == NULL || !EVP_PKEY_is_a(key, "RSA"))
                return KL_ERR_INVAL;
        return sign_with(key, hash, digest, digest_len, ret_sig, ret_len);
}

int kl_ecdsa_sign_digest(EVP_PKEY *key, const char *hash, const uint8_t *digest, size_t digest_len,
                         uint8_t r_buf[66], uint8_t s_buf[66], size_t *ret_coord)
{
        ECDSA_SIG *es = NULL;
        uint8_t *der = NULL;
        const uint8_t *p;
        size_t der_len = 0;
        int bits, coord, r;

        if (key == NULL || !EVP_PKEY_is_a(key, "EC") || ret_coord == NULL)
                return KL_ERR_INVAL;
        bits = EVP_PKEY_get_bits(key);
        coord = (bits + 7) / 8;
        if (bits <= 0 || coord > 66)
                return KL_ERR_UNSUPPORTED;
        if ((r = sign_with(key, hash, digest, digest_len, &der, &der_len)) < 0)
                return r;
        p = der;
        if ((es = d2i_ECDSA_SIG(NULL, &p, (long)der_len)) == NULL ||
            BN_bn2binpad(ECDSA_SIG_get0_r(es), r_buf, coord) != coord ||
            BN_bn2binpad(ECDSA_SIG_get0_s(es), s_buf, coord) != coord) {
                r = kl_crypto_err("ECDSA_SIG r,s");
                goto out;
        }
        *ret_coord = (size_t)coord;
        r = 0;
out:
        ECDSA_SIG_free(es);
        free(der);
        return r;
}

/* ECDH */

/* The ephemeral key: eph_in (up-referenced) if it is on group, else a fresh one. */
static int ephemeral_on(const char *group, EVP_PKEY *eph_in, EVP_PKEY **ret_eph)
{
        char eph_group[64];
        size_t glen = 0;

        if (eph_in == NULL) {
                if ((*ret_eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group)) == NULL)
                        return kl_crypto_err("ephemeral EC key");
                return 0;
        }
        if (!EVP_PKEY_is_a(eph_in, "EC") ||
            EVP_PKEY_get_utf8_string_param(eph_in, OSSL_PKEY_PARAM_GROUP_NAME, eph_group,
                                           sizeof(eph_group), &glen) != 1 ||
            strcmp(group, eph_group) != 0) {
                ERR_clear_error();
                return KL_ERR_INVAL; /* the ephemeral key must be on the peer's curve */
        }
        if (EVP_PKEY_up_ref(eph_in) != 1)
                return KL_ERR_CRYPTO;
        *ret_eph = eph_in;
        return 0;
}

int kl_ecdh_ephemeral(EVP_PKEY *peer, EVP_PKEY *eph_in, uint8_t z[66], uint8_t eph_xy[132],
                      uint8_t peer_xy[132], size_t *ret_coord)
{
        EVP_PKEY *eph = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        char group[64];
        uint8_t peer_pt[1 + 132], eph_pt[1 + 132];
        size_t peer_len = 0, eph_len = 0, z_len = 66, glen = 0, coord;
        int r = KL_ERR_CRYPTO;

        if (peer == NULL || z == NULL || eph_xy == NULL || peer_xy == NULL || ret_coord == NULL)
                return KL_ERR_INVAL;
        if (EVP_PKEY_get_utf8_string_param(peer, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                           &glen) != 1) {
                r = kl_crypto_err("EC peer curve");
                goto out;
        }
        if ((r = ephemeral_on(group, eph_in, &eph)) < 0)
                goto out;
        if ((r = kl_pubkey_ec_point(peer, peer_pt, sizeof(peer_pt), &peer_len)) < 0 ||
            (r = kl_pubkey_ec_point(eph, eph_pt, sizeof(eph_pt), &eph_len)) < 0)
                goto out;
        coord = (peer_len - 1) / 2;
        if (eph_len != peer_len || coord > 66) {
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, eph, NULL)) == NULL ||
            EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer) <= 0 ||
            EVP_PKEY_derive(ctx, z, &z_len) <= 0) {
                r = kl_crypto_err("ECDH");
                goto out;
        }
        if (z_len != coord) {
                r = KL_ERR_INTERNAL;
                goto out;
        }
        memcpy(eph_xy, eph_pt + 1, 2 * coord);
        memcpy(peer_xy, peer_pt + 1, 2 * coord);
        *ret_coord = coord;
        r = 0;
out:
        if (r < 0)
                kl_wipe(z, 66);
        EVP_PKEY_CTX_free(ctx);
        kl_pkey_free(eph);
        return r;
}
