/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key objects and key files: generation, PEM private keys (PKCS#8, optionally
 * encrypted, written atomically with mode 0600), public keys as PEM, and keys
 * built from raw public parameters (what a TPM public area carries). The PEM
 * of a private key is wiped before its memory is released.
 */
#include "pkey.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "err.h"
#include "fileio.h"
#include "pem_io.h"
#include "primitives.h"

/* Keys */

int kl_key_generate_ec_p256(EVP_PKEY **ret_key)
{
        EVP_PKEY *key;

        if (ret_key == NULL)
                return KL_ERR_INVAL;
        if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
                return kl_crypto_err("EC P-256 key generation");
        *ret_key = key;
        return 0;
}

int kl_key_generate_rsa(unsigned bits, EVP_PKEY **ret_key)
{
        EVP_PKEY *key;

        if (ret_key == NULL || bits < 2048 || bits > 8192)
                return KL_ERR_INVAL;
        if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) == NULL)
                return kl_crypto_err("RSA key generation");
        *ret_key = key;
        return 0;
}

struct pw_arg {
        const char *password;
};

/* Never prompts: no password configured means an encrypted key fails to load. */
static int pw_cb(char *buf, int size, int rwflag, void *u)
{
        const struct pw_arg *a = u;
        size_t len;

        (void)rwflag;
        if (a == NULL || a->password == NULL || size <= 0)
                return -1;
        len = strlen(a->password);
        if (len > (size_t)size)
                return -1;
        memcpy(buf, a->password, len);
        return (int)len;
}

int kl_key_load_pem(const char *path, const char *password, EVP_PKEY **ret_key)
{
        struct pw_arg pw = {.password = password};
        uint8_t *data = NULL;
        size_t len = 0;
        BIO *bio = NULL;
        EVP_PKEY *key = NULL;
        int r;

        if (path == NULL || ret_key == NULL)
                return KL_ERR_INVAL;
        r = kl_pem_read_small_file(path, &data, &len);
        if (r < 0)
                goto out;
        if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((key = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &pw)) == NULL) {
                r = kl_crypto_err("PEM_read_bio_PrivateKey");
                goto out;
        }
        *ret_key = key;
        r = 0;
out:
        BIO_free(bio);
        kl_secure_free(data, len);
        return r;
}

int kl_key_save_pem(const char *path, EVP_PKEY *key, const char *password)
{
        struct pw_arg pw = {.password = password};
        BIO *bio = NULL;
        char *pem = NULL;
        size_t pem_len = 0;
        int r = KL_ERR_CRYPTO;

        if (path == NULL || key == NULL)
                return KL_ERR_INVAL;
        /* secmem BIO: the private key PEM is cleansed when the BIO is freed */
        if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (PEM_write_bio_PKCS8PrivateKey(bio, key, password ? EVP_aes_256_cbc() : NULL, NULL, 0,
                                          password ? pw_cb : NULL, password ? &pw : NULL) != 1) {
                r = kl_crypto_err("PEM_write_bio_PKCS8PrivateKey");
                goto out;
        }
        r = kl_pem_bio_to_string(bio, &pem, &pem_len);
        if (r < 0)
                goto out;
        r = kl_file_write_atomic(path, pem, pem_len, 0600);
out:
        kl_secure_free(pem, pem_len);
        BIO_free(bio);
        return r;
}

static int write_pubkey(BIO *bio, void *obj)
{
        return PEM_write_bio_PUBKEY(bio, obj);
}

static int write_privkey(BIO *bio, void *obj)
{
        return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
}

int kl_pubkey_to_pem(EVP_PKEY *key, char **ret_pem)
{
        return key != NULL ? kl_pem_string(write_pubkey, key, "PEM_write_bio_PUBKEY", ret_pem)
                           : KL_ERR_INVAL;
}

int kl_key_to_pem(EVP_PKEY *key, char **ret_pem)
{
        return key != NULL ? kl_pem_string(write_privkey, key, "PEM_write_bio_PrivateKey", ret_pem)
                           : KL_ERR_INVAL;
}

bool kl_pubkey_equal(EVP_PKEY *a, EVP_PKEY *b)
{
        unsigned char *da = NULL, *db = NULL;
        int la, lb;
        bool eq = false;

        if (a == NULL || b == NULL)
                return false;
        la = i2d_PUBKEY(a, &da);
        lb = i2d_PUBKEY(b, &db);
        if (la > 0 && lb > 0)
                eq = la == lb && memcmp(da, db, (size_t)la) == 0;
        else
                ERR_clear_error();
        OPENSSL_free(da);
        OPENSSL_free(db);
        return eq;
}

void kl_pkey_free(EVP_PKEY *key)
{
        EVP_PKEY_free(key);
}

int kl_pkey_ref(EVP_PKEY *key, EVP_PKEY **ret_key)
{
        if (key == NULL || EVP_PKEY_up_ref(key) != 1)
                return KL_ERR_INVAL;
        *ret_key = key;
        return 0;
}

bool kl_pkey_is_rsa(const EVP_PKEY *key)
{
        return key != NULL && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

/* Public key of type from the parameters in bld; OpenSSL's refusal is bad input. */
static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret_key)
{
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        EVP_PKEY *key = NULL;
        int r = KL_ERR_CRYPTO;

        if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL) {
                r = kl_crypto_err("EVP_PKEY_CTX_new_from_name");
                goto out;
        }
        if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
                /* outside input: a point off the curve is bad data, not our failure */
                ERR_clear_error();
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret_key = key;
        r = 0;
out:
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        return r;
}

int kl_pubkey_from_rsa(const uint8_t *n, size_t n_len, uint32_t e, EVP_PKEY **ret_key)
{
        OSSL_PARAM_BLD *bld = NULL;
        BIGNUM *bn_n = NULL, *bn_e = NULL;
        int r = KL_ERR_INVAL;

        if (n == NULL || n_len == 0 || n_len > INT_MAX || ret_key == NULL)
                goto out;
        r = KL_ERR_NOMEM;
        if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
            (bn_n = BN_bin2bn(n, (int)n_len, NULL)) == NULL || (bn_e = BN_new()) == NULL ||
            BN_set_word(bn_e, e) != 1)
                goto out;
        if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
                goto out;
        r = pkey_fromdata("RSA", bld, ret_key);
out:
        BN_free(bn_n);
        BN_free(bn_e);
        OSSL_PARAM_BLD_free(bld);
        return r;
}

int kl_pubkey_from_ec_point(const char *group, const uint8_t *point, size_t point_len,
                            EVP_PKEY **ret_key)
{
        OSSL_PARAM_BLD *bld = NULL;
        int r = KL_ERR_INVAL;

        if (group == NULL || point == NULL || point_len == 0 || ret_key == NULL)
                goto out;
        r = KL_ERR_NOMEM;
        if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1)
                goto out;
        r = pkey_fromdata("EC", bld, ret_key);
out:
        OSSL_PARAM_BLD_free(bld);
        return r;
}

int kl_pubkey_ec_point(EVP_PKEY *key, uint8_t *pt, size_t max, size_t *ret_len)
{
        size_t len = 0;

        if (key == NULL || pt == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, max, &len) != 1)
                return kl_crypto_err("EC public point");
        if (len < 3 || pt[0] != 0x04 || (len - 1) % 2 != 0)
                return KL_ERR_UNSUPPORTED; /* compressed points are not produced here */
        *ret_len = len;
        return 0;
}

/* One big-endian BIGNUM parameter of key into out, left-padded to exactly len bytes. */
static int bn_param(EVP_PKEY *key, const char *name, uint8_t *out, size_t len)
{
        BIGNUM *bn = NULL;
        int r = KL_ERR_INVAL;

        if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
                ERR_clear_error();
                goto out;
        }
        if (len > INT_MAX || BN_bn2binpad(bn, out, (int)len) < 0)
                goto out;
        r = 0;
out:
        BN_clear_free(bn);
        return r;
}

int kl_rsa_private_parts(EVP_PKEY *key, uint8_t *n, size_t n_max, size_t *ret_n_len,
                         uint32_t *ret_e, uint8_t *p, size_t *ret_p_len)
{
        BIGNUM *e = NULL;
        size_t len;
        int r = KL_ERR_INVAL;

        if (key == NULL || !kl_pkey_is_rsa(key) || n == NULL || ret_n_len == NULL ||
            ret_e == NULL || p == NULL || ret_p_len == NULL)
                return KL_ERR_INVAL;
        len = (size_t)EVP_PKEY_get_bits(key) / 8;
        if (len == 0 || len > n_max || EVP_PKEY_get_bits(key) % 16 != 0)
                return KL_ERR_UNSUPPORTED;
        if ((r = bn_param(key, OSSL_PKEY_PARAM_RSA_N, n, len)) < 0 ||
            (r = bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, p, len / 2)) < 0)
                goto out;
        r = KL_ERR_UNSUPPORTED;
        if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
                ERR_clear_error();
                r = KL_ERR_INVAL;
                goto out;
        }
        if (BN_num_bits(e) > 32)
                goto out;
        *ret_e = (uint32_t)BN_get_word(e);
        *ret_n_len = len;
        *ret_p_len = len / 2;
        r = 0;
out:
        BN_free(e);
        if (r < 0)
                kl_wipe(p, len / 2);
        return r;
}
