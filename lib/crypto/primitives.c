/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL 3 primitives behind the kl_ interface: the error-queue logger,
 * randomness, digests, HMAC, constant-time compare, wiping and AES. Every
 * OpenSSL failure is logged here once, with the whole error queue, and
 * becomes KL_ERR_CRYPTO. Only non-deprecated OpenSSL 3 APIs are used.
 */
#include "primitives.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "log.h"

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

/* Only the hashes the protocols use (hash_alg.h); anything else is refused, not guessed. */
static bool digest_name_ok(const char *alg)
{
        return kl_hash_alg_from_name(alg) != 0;
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

/* One CFB pass either way: CFB decryption runs the cipher forward too, only the feedback differs.
 */
static int aes_cfb(bool encrypt, const uint8_t *key, size_t key_len, const uint8_t iv[16],
                   const uint8_t *in, size_t len, uint8_t *out)
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
        if (EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, encrypt ? 1 : 0) != 1 ||
            (len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)) {
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

int kl_aes_cfb_encrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out)
{
        return aes_cfb(true, key, key_len, iv, in, len, out);
}

int kl_aes_cfb_decrypt(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in,
                       size_t len, uint8_t *out)
{
        return aes_cfb(false, key, key_len, iv, in, len, out);
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
