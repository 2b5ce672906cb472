/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL 3 behind the kl_ interface: digests, HMAC, RSA-OAEP, AES, key files
 * and X.509. Every OpenSSL failure is logged here once, with the whole error
 * queue, and becomes KL_ERR_CRYPTO. Only non-deprecated OpenSSL 3 APIs are
 * used. Secret intermediates (decrypted keys, PEM of private keys) are wiped
 * before their memory is released; nothing secret is ever logged.
 */
#include "crypto.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "log.h"

/* Certificates and key files are small; anything bigger is not ours. */
#define CERT_MAX_SIZE (1024 * 1024)

int kl_crypto_err(const char *what)
{
        char line[1024];
        size_t off = 0;
        const char *file = NULL, *func = NULL, *data = NULL;
        int lineno = 0, flags = 0, n;
        unsigned long e;

        line[0] = '\0';
        while ((e = ERR_get_error_all(&file, &lineno, &func, &data, &flags)) != 0) {
                char buf[256];

                ERR_error_string_n(e, buf, sizeof(buf));
                if (off >= sizeof(line) - 1)
                        continue; /* keep draining; the line is full */
                n = snprintf(line + off, sizeof(line) - off, "%s%s%s%s", off ? "; " : "", buf,
                             (flags & ERR_TXT_STRING) && data != NULL ? ": " : "",
                             (flags & ERR_TXT_STRING) && data != NULL ? data : "");
                if (n < 0)
                        break;
                off += (size_t)n;
                if (off >= sizeof(line))
                        off = sizeof(line) - 1;
        }
        log_error("%s: %s", what, off ? line : "OpenSSL failure (no details)");
        return KL_ERR_CRYPTO;
}

int kl_random_bytes(uint8_t *buf, size_t len)
{
        while (len > 0) {
                int chunk = len > INT_MAX ? INT_MAX : (int)len;

                if (RAND_bytes(buf, chunk) != 1)
                        return kl_crypto_err("RAND_bytes");
                buf += chunk;
                len -= (size_t)chunk;
        }
        return 0;
}

/* Only the hashes the protocols use; anything else is refused, not guessed. */
static bool digest_name_ok(const char *alg)
{
        return alg != NULL && (strcmp(alg, "sha1") == 0 || strcmp(alg, "sha256") == 0 ||
                               strcmp(alg, "sha384") == 0 || strcmp(alg, "sha512") == 0);
}

int kl_digest(const char *alg, const void *data, size_t len, uint8_t *out, size_t *ret_len)
{
        size_t md_len = 0;

        if (!digest_name_ok(alg))
                return KL_ERR_UNSUPPORTED;
        if ((data == NULL && len != 0) || out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (EVP_Q_digest(NULL, alg, NULL, len ? data : "", len, out, &md_len) != 1)
                return kl_crypto_err("EVP_Q_digest");
        *ret_len = md_len;
        return 0;
}

int kl_hmac(const char *alg, const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
            uint8_t *out, size_t *ret_len)
{
        static const uint8_t empty[1];
        size_t mac_len = 0;

        if (!digest_name_ok(alg))
                return KL_ERR_UNSUPPORTED;
        if ((key == NULL && key_len != 0) || (msg == NULL && msg_len != 0) || out == NULL ||
            ret_len == NULL)
                return KL_ERR_INVAL;
        /* OpenSSL refuses a NULL key even with length 0; an empty one is legal HMAC. */
        if (EVP_Q_mac(NULL, "HMAC", NULL, alg, NULL, key_len ? key : empty, key_len,
                      msg_len ? msg : empty, msg_len, out, KL_MAX_DIGEST_LEN, &mac_len) == NULL)
                return kl_crypto_err("EVP_Q_mac");
        *ret_len = mac_len;
        return 0;
}

int kl_hmac_sha384_hex(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                       char out[KL_HMAC_SHA384_HEX_LEN + 1])
{
        uint8_t mac[KL_MAX_DIGEST_LEN];
        size_t mac_len = 0;
        int r;

        r = kl_hmac("sha384", key, key_len, msg, msg_len, mac, &mac_len);
        if (r < 0)
                return r;
        if (mac_len != KL_SHA384_LEN)
                return KL_ERR_INTERNAL;
        kl_hex_encode_to(mac, mac_len, out);
        return 0;
}

bool kl_mem_equal_ct(const void *a, size_t a_len, const void *b, size_t b_len)
{
        if (a_len != b_len)
                return false;
        if (a_len == 0)
                return true;
        return CRYPTO_memcmp(a, b, a_len) == 0;
}

void kl_wipe(void *p, size_t len)
{
        if (p != NULL && len > 0)
                OPENSSL_cleanse(p, len);
}

void kl_secure_free(void *p, size_t len)
{
        if (p == NULL)
                return;
        kl_wipe(p, len);
        free(p);
}

/* RSA-OAEP */

static int oaep_ctx(EVP_PKEY *key, const char *hash, bool encrypt, EVP_PKEY_CTX **ret_ctx)
{
        EVP_PKEY_CTX *ctx = NULL;
        int r = KL_ERR_CRYPTO;

        if (hash == NULL || (strcmp(hash, "sha1") != 0 && strcmp(hash, "sha256") != 0 &&
                             strcmp(hash, "sha384") != 0 && strcmp(hash, "sha512") != 0))
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

/* AES */

static const EVP_CIPHER *aes_cipher(const char *mode, size_t key_len)
{
        bool cfb = strcmp(mode, "cfb") == 0;

        switch (key_len) {
        case 16:
                return cfb ? EVP_aes_128_cfb128() : EVP_aes_128_gcm();
        case 24:
                return cfb ? EVP_aes_192_cfb128() : EVP_aes_192_gcm();
        case 32:
                return cfb ? EVP_aes_256_cfb128() : EVP_aes_256_gcm();
        default:
                return NULL;
        }
}

int kl_aes_cfb_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out)
{
        const EVP_CIPHER *cipher = aes_cipher("cfb", key_len);
        EVP_CIPHER_CTX *ctx = NULL;
        int n = 0, r = KL_ERR_CRYPTO;

        if (cipher == NULL || key == NULL || iv == NULL || (len > 0 && (in == NULL || out == NULL)))
                return KL_ERR_INVAL;
        if (len > INT_MAX)
                return KL_ERR_TOO_LONG;
        if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
                return KL_ERR_NOMEM;
        if (EVP_EncryptInit_ex(ctx, cipher, NULL, key, iv) != 1 ||
            (len > 0 && EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1)) {
                r = kl_crypto_err("AES-CFB");
                goto out;
        }
        if ((size_t)n != len) {
                r = KL_ERR_INTERNAL;
                goto out;
        }
        r = 0;
out:
        EVP_CIPHER_CTX_free(ctx);
        return r;
}

int kl_aes_gcm_decrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *ct, size_t ct_len, const uint8_t tag[16], uint8_t *out)
{
        const EVP_CIPHER *cipher = aes_cipher("gcm", key_len);
        EVP_CIPHER_CTX *ctx = NULL;
        uint8_t tag_copy[16], scratch[16];
        int n = 0, fin = 0, r = KL_ERR_CRYPTO;

        if (cipher == NULL || key == NULL || iv == NULL || iv_len == 0 || iv_len > 128 ||
            tag == NULL || (ct_len > 0 && (ct == NULL || out == NULL)))
                return KL_ERR_INVAL;
        if (ct_len > INT_MAX)
                return KL_ERR_TOO_LONG;
        memcpy(tag_copy, tag, sizeof(tag_copy)); /* the ctrl takes a non-const pointer */
        if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
                return KL_ERR_NOMEM;
        if (EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
            EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) != 1 ||
            (ct_len > 0 && EVP_DecryptUpdate(ctx, out, &n, ct, (int)ct_len) != 1) ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag_copy) != 1) {
                r = kl_crypto_err("AES-GCM decrypt");
                goto out;
        }
        if (EVP_DecryptFinal_ex(ctx, out != NULL ? out + n : scratch, &fin) != 1) {
                /* wrong key or tampered data: wipe the unauthenticated plaintext */
                ERR_clear_error();
                if (out != NULL)
                        kl_wipe(out, ct_len);
                r = KL_ERR_VERIFY;
                goto out;
        }
        r = 0;
out:
        EVP_CIPHER_CTX_free(ctx);
        return r;
}

int kl_aes_gcm_encrypt(const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *pt, size_t pt_len, uint8_t *out, uint8_t tag[16])
{
        const EVP_CIPHER *cipher = aes_cipher("gcm", key_len);
        EVP_CIPHER_CTX *ctx = NULL;
        uint8_t scratch[16];
        int n = 0, fin = 0, r = KL_ERR_CRYPTO;

        if (cipher == NULL || key == NULL || iv == NULL || iv_len == 0 || iv_len > 128 ||
            tag == NULL || (pt_len > 0 && (pt == NULL || out == NULL)))
                return KL_ERR_INVAL;
        if (pt_len > INT_MAX)
                return KL_ERR_TOO_LONG;
        if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
                return KL_ERR_NOMEM;
        if (EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1 ||
            EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) != 1 ||
            (pt_len > 0 && EVP_EncryptUpdate(ctx, out, &n, pt, (int)pt_len) != 1) ||
            EVP_EncryptFinal_ex(ctx, out != NULL ? out + n : scratch, &fin) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
                r = kl_crypto_err("AES-GCM encrypt");
                goto out;
        }
        r = 0;
out:
        EVP_CIPHER_CTX_free(ctx);
        return r;
}

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

/* Reads a whole small file (key or certificate); KL_ERR_NOT_FOUND if missing. */
static int read_small_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
        return kl_file_read(path, CERT_MAX_SIZE, (char **)ret_buf, ret_len);
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
        r = read_small_file(path, &data, &len);
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

/* Copies a memory BIO's contents into a NUL-terminated heap string. */
static int bio_to_string(BIO *bio, char **ret_str, size_t *ret_len)
{
        char *data = NULL, *s;
        long len = BIO_get_mem_data(bio, &data);

        if (len < 0 || data == NULL)
                return KL_ERR_INTERNAL;
        if ((s = malloc((size_t)len + 1)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(s, data, (size_t)len);
        s[len] = '\0';
        *ret_str = s;
        if (ret_len != NULL)
                *ret_len = (size_t)len;
        return 0;
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
        r = bio_to_string(bio, &pem, &pem_len);
        if (r < 0)
                goto out;
        r = kl_file_write_atomic(path, pem, pem_len, 0600);
out:
        kl_secure_free(pem, pem_len);
        BIO_free(bio);
        return r;
}

/* PEM text of one OpenSSL object through a memory BIO (callers wipe private keys). */
typedef int (*pem_writer)(BIO *bio, void *obj);

static int write_pubkey(BIO *bio, void *obj)
{
        return PEM_write_bio_PUBKEY(bio, obj);
}

static int write_privkey(BIO *bio, void *obj)
{
        return PEM_write_bio_PrivateKey(bio, obj, NULL, NULL, 0, NULL, NULL);
}

static int write_x509(BIO *bio, void *obj)
{
        return PEM_write_bio_X509(bio, obj);
}

static int pem_string(pem_writer write, void *obj, const char *what, char **ret_pem)
{
        BIO *bio = NULL;
        int r;

        if (ret_pem == NULL)
                return KL_ERR_INVAL;
        if ((bio = BIO_new(BIO_s_mem())) == NULL)
                return KL_ERR_NOMEM;
        if (write(bio, obj) != 1) {
                r = kl_crypto_err(what);
                goto out;
        }
        r = bio_to_string(bio, ret_pem, NULL);
out:
        BIO_free(bio);
        return r;
}

int kl_pubkey_to_pem(EVP_PKEY *key, char **ret_pem)
{
        return key != NULL ? pem_string(write_pubkey, key, "PEM_write_bio_PUBKEY", ret_pem)
                           : KL_ERR_INVAL;
}

int kl_key_to_pem(EVP_PKEY *key, char **ret_pem)
{
        return key != NULL ? pem_string(write_privkey, key, "PEM_write_bio_PrivateKey", ret_pem)
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

/* X.509 */

static bool is_space(uint8_t c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* base64 DER text, possibly line-wrapped (as a PEM body would be) */
static int x509_from_b64(const uint8_t *data, size_t len, X509 **ret_cert)
{
        char *compact = NULL;
        uint8_t *der = NULL;
        const unsigned char *p;
        size_t n = 0, der_len = 0;
        X509 *cert = NULL;
        int r = KL_ERR_NOMEM;

        if ((compact = malloc(len + 1)) == NULL)
                goto out;
        for (size_t i = 0; i < len; i++) {
                if (!is_space(data[i]))
                        compact[n++] = (char)data[i];
        }
        r = kl_b64_decode(compact, n, &der, &der_len);
        if (r < 0)
                goto out;
        p = der;
        if ((cert = d2i_X509(NULL, &p, (long)der_len)) == NULL) {
                ERR_clear_error();
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret_cert = cert;
        r = 0;
out:
        free(compact);
        free(der);
        return r;
}

int kl_x509_parse_any(const uint8_t *data, size_t len, X509 **ret_cert)
{
        static const char pem_begin[] = "-----BEGIN";
        const unsigned char *p;
        size_t skip = 0;
        BIO *bio = NULL;
        X509 *cert = NULL;
        int r = KL_ERR_INVAL;

        if (data == NULL || ret_cert == NULL || len == 0)
                return KL_ERR_INVAL;
        if (len > CERT_MAX_SIZE)
                return KL_ERR_TOO_LONG;
        while (skip < len && is_space(data[skip]))
                skip++;
        if (len - skip >= sizeof(pem_begin) - 1 &&
            memcmp(data + skip, pem_begin, sizeof(pem_begin) - 1) == 0) {
                if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
                        ERR_clear_error();
                        goto out;
                }
        } else if (data[0] == 0x30) {
                /* DER SEQUENCE; '0' (0x30) cannot start a valid base64 certificate ("MII…") */
                p = data;
                if ((cert = d2i_X509(NULL, &p, (long)len)) == NULL) {
                        ERR_clear_error();
                        goto out;
                }
        } else {
                r = x509_from_b64(data, len, &cert);
                if (r < 0)
                        goto out;
        }
        *ret_cert = cert;
        r = 0;
out:
        BIO_free(bio);
        return r;
}

int kl_x509_load_file(const char *path, X509 **ret_cert)
{
        uint8_t *data = NULL;
        size_t len = 0;
        int r;

        if (path == NULL || ret_cert == NULL)
                return KL_ERR_INVAL;
        r = read_small_file(path, &data, &len);
        if (r < 0)
                return r;
        r = kl_x509_parse_any(data, len, ret_cert);
        free(data);
        return r;
}

int kl_x509_to_pem(X509 *cert, char **ret_pem)
{
        return cert != NULL ? pem_string(write_x509, cert, "PEM_write_bio_X509", ret_pem)
                            : KL_ERR_INVAL;
}

int kl_x509_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_len)
{
        unsigned char *der = NULL;
        uint8_t *copy;
        int len;

        if (cert == NULL || ret_der == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((len = i2d_X509(cert, &der)) <= 0)
                return kl_crypto_err("i2d_X509");
        /* hand out malloc() memory so callers free() as everywhere else */
        if ((copy = malloc((size_t)len)) == NULL) {
                OPENSSL_free(der);
                return KL_ERR_NOMEM;
        }
        memcpy(copy, der, (size_t)len);
        OPENSSL_free(der);
        *ret_der = copy;
        *ret_len = (size_t)len;
        return 0;
}

int kl_x509_save_pem(const char *path, X509 *cert)
{
        char *pem = NULL;
        int r;

        if (path == NULL || cert == NULL)
                return KL_ERR_INVAL;
        r = kl_x509_to_pem(cert, &pem);
        if (r < 0)
                return r;
        r = kl_file_write_atomic(path, pem, strlen(pem), 0644);
        free(pem);
        return r;
}

/* subjectAltName with one IP (v4 or v6) or DNS entry, built as data, not config text */
static int add_san(X509 *cert, const char *san)
{
        GENERAL_NAMES *gens = NULL;
        GENERAL_NAME *gen = NULL;
        ASN1_OCTET_STRING *ip = NULL;
        ASN1_IA5STRING *dns = NULL;
        int r = KL_ERR_CRYPTO;

        if ((gens = sk_GENERAL_NAME_new_null()) == NULL || (gen = GENERAL_NAME_new()) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((ip = a2i_IPADDRESS(san)) != NULL) {
                GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
                ip = NULL;
        } else {
                ERR_clear_error();
                if (san[0] == '\0' || strlen(san) > 253) {
                        r = KL_ERR_INVAL;
                        goto out;
                }
                if ((dns = ASN1_IA5STRING_new()) == NULL ||
                    ASN1_STRING_set(dns, san, (int)strlen(san)) != 1) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
                dns = NULL;
        }
        if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        gen = NULL;
        if (X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0, X509V3_ADD_REPLACE) != 1) {
                r = kl_crypto_err("X509_add1_ext_i2d(subjectAltName)");
                goto out;
        }
        r = 0;
out:
        ASN1_OCTET_STRING_free(ip);
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gen);
        GENERAL_NAMES_free(gens);
        return r;
}

int kl_x509_self_signed(EVP_PKEY *key, const char *cn, const char *san, unsigned days,
                        X509 **ret_cert)
{
        X509 *cert = NULL;
        X509_NAME *name = NULL;
        BASIC_CONSTRAINTS *bc = NULL;
        BIGNUM *serial = NULL;
        uint8_t rnd[20];
        size_t cn_len;
        int r = KL_ERR_CRYPTO;

        if (key == NULL || cn == NULL || cn[0] == '\0' || ret_cert == NULL || days == 0 ||
            days > 36500)
                return KL_ERR_INVAL;
        /* X.520 caps CN at 64; long agent ids are cut on a UTF-8 character boundary */
        cn_len = strlen(cn);
        if (cn_len > 64) {
                cn_len = 64;
                while (cn_len > 0 && ((uint8_t)cn[cn_len] & 0xc0) == 0x80)
                        cn_len--;
        }
        r = kl_random_bytes(rnd, sizeof(rnd));
        if (r < 0)
                return r;
        rnd[0] &= 0x7f; /* positive, at most 20 octets (RFC 5280 4.1.2.2) */
        rnd[0] |= 0x01; /* and non-zero */
        r = KL_ERR_CRYPTO;
        if ((cert = X509_new()) == NULL || (name = X509_NAME_new()) == NULL ||
            (bc = BASIC_CONSTRAINTS_new()) == NULL ||
            (serial = BN_bin2bn(rnd, sizeof(rnd), NULL)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (X509_set_version(cert, X509_VERSION_3) != 1 ||
            BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL ||
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
                                       (int)cn_len, -1, 0) != 1 ||
            X509_set_subject_name(cert, name) != 1 || X509_set_issuer_name(cert, name) != 1 ||
            X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
            X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) == NULL ||
            X509_set_pubkey(cert, key) != 1) {
                r = kl_crypto_err("building certificate");
                goto out;
        }
        bc->ca = 0;
        if (X509_add1_ext_i2d(cert, NID_basic_constraints, bc, 1, X509V3_ADD_REPLACE) != 1) {
                r = kl_crypto_err("X509_add1_ext_i2d(basicConstraints)");
                goto out;
        }
        if (san != NULL && san[0] != '\0') {
                r = add_san(cert, san);
                if (r < 0)
                        goto out;
                r = KL_ERR_CRYPTO;
        }
        if (X509_sign(cert, key, EVP_sha256()) <= 0) {
                r = kl_crypto_err("X509_sign");
                goto out;
        }
        *ret_cert = cert;
        cert = NULL;
        r = 0;
out:
        BN_free(serial);
        BASIC_CONSTRAINTS_free(bc);
        X509_NAME_free(name);
        X509_free(cert);
        return r;
}

static bool has_cert_suffix(const char *name)
{
        size_t len = strlen(name);

        if (len < 5)
                return false;
        return strcmp(name + len - 4, ".pem") == 0 || strcmp(name + len - 4, ".crt") == 0 ||
               strcmp(name + len - 4, ".cer") == 0;
}

/* Adds every certificate of a PEM file to store; returns how many, or < 0. */
static int store_add_pem_file(X509_STORE *store, const char *path)
{
        uint8_t *data = NULL;
        size_t len = 0;
        BIO *bio = NULL;
        X509 *cert = NULL;
        int r, count = 0;

        r = read_small_file(path, &data, &len);
        if (r < 0)
                goto out;
        if ((bio = BIO_new_mem_buf(data, (int)len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        while ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
                if (X509_STORE_add_cert(store, cert) != 1) {
                        X509_free(cert);
                        r = kl_crypto_err("X509_STORE_add_cert");
                        goto out;
                }
                X509_free(cert);
                count++;
        }
        ERR_clear_error(); /* the end of the file shows up as a "no start line" error */
        r = count;
out:
        BIO_free(bio);
        free(data);
        return r;
}

int kl_x509_store_from_dir(const char *ca_dir, X509_STORE **ret_store, char *why, size_t why_len)
{
        X509_STORE *store = NULL;
        DIR *d = NULL;
        struct dirent *e;
        int r = KL_ERR_NOMEM, loaded = 0;

        if (why != NULL && why_len > 0)
                why[0] = '\0';
        if (ca_dir == NULL)
                return KL_ERR_INVAL;
        if ((store = X509_STORE_new()) == NULL)
                goto out;
        if ((d = opendir(ca_dir)) == NULL) {
                kl_why_set(why, why_len, "cannot open CA directory %s", ca_dir);
                r = errno == ENOENT ? KL_ERR_NOT_FOUND : KL_ERR_IO;
                goto out;
        }
        while ((e = readdir(d)) != NULL) {
                char path[PATH_MAX];
                struct stat st;
                int n;

                if (e->d_name[0] == '.' || !has_cert_suffix(e->d_name))
                        continue;
                n = snprintf(path, sizeof(path), "%s/%s", ca_dir, e->d_name);
                if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                n = store_add_pem_file(store, path);
                if (n < 0) {
                        /* one unreadable file must not hide the others */
                        log_warn("ignoring CA file %s: %s", path, kl_err_str(n));
                        continue;
                }
                loaded += n;
        }
        if (loaded == 0) {
                kl_why_set(why, why_len, "no CA certificates in %s", ca_dir);
                r = KL_ERR_VERIFY;
                goto out;
        }
        *ret_store = store;
        store = NULL;
        r = 0;
out:
        if (d != NULL)
                closedir(d);
        X509_STORE_free(store);
        return r;
}

int kl_x509_verify_with_ca_dir(X509 *cert, const char *ca_dir, STACK_OF(X509) * untrusted,
                               char *why, size_t why_len)
{
        X509_STORE *store = NULL;
        X509_STORE_CTX *ctx = NULL;
        int r, ok;

        if (why != NULL && why_len > 0)
                why[0] = '\0';
        if (cert == NULL || ca_dir == NULL)
                return KL_ERR_INVAL;
        if ((r = kl_x509_store_from_dir(ca_dir, &store, why, why_len)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((ctx = X509_STORE_CTX_new()) == NULL)
                goto out;
        if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1) {
                r = kl_crypto_err("X509_STORE_CTX_init");
                goto out;
        }
        /*
         * No purpose or trust setting: EK certificates carry the TCG EKU
         * 2.23.133.8.1, which any TLS purpose check would refuse. OpenSSL
         * handles the critical subjectAltName (directoryName) itself.
         */
        ok = X509_verify_cert(ctx);
        if (ok != 1) {
                int err = X509_STORE_CTX_get_error(ctx);

                kl_why_set(why, why_len, "%s", X509_verify_cert_error_string(err));
                ERR_clear_error();
                r = KL_ERR_VERIFY;
                goto out;
        }
        r = 0;
out:
        X509_STORE_CTX_free(ctx);
        X509_STORE_free(store);
        return r;
}
