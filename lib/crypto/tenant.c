/* SPDX-License-Identifier: Apache-2.0 */
/* Tenant-side key split and payload encryption (see tenant.h). */
#include "tenant.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"

#define GCM_IV_LEN   16
#define GCM_TAG_LEN  16
#define KEY_FILE_MAX 4096

int kl_bootstrap_keys_generate(struct kl_bootstrap_keys *ret)
{
        int r;

        if ((r = kl_random_bytes(ret->k, sizeof(ret->k))) < 0 ||
            (r = kl_random_bytes(ret->v, sizeof(ret->v))) < 0)
                return r;
        for (size_t i = 0; i < KL_BOOTSTRAP_KEY_LEN; i++)
                ret->u[i] = ret->k[i] ^ ret->v[i];
        return 0;
}

void kl_bootstrap_keys_wipe(struct kl_bootstrap_keys *keys)
{
        kl_wipe(keys, sizeof(*keys));
}

/* Decodes one base64 line of exactly KL_BOOTSTRAP_KEY_LEN bytes into out. */
static int decode_key_line(const char *line, size_t len, uint8_t *out)
{
        uint8_t *buf = NULL;
        size_t n = 0;
        int r = kl_b64_decode(line, len, &buf, &n);

        if (r == 0 && n != KL_BOOTSTRAP_KEY_LEN)
                r = KL_ERR_INVAL;
        if (r == 0)
                memcpy(out, buf, n);
        kl_secure_free(buf, n);
        return r;
}

int kl_bootstrap_keys_load(const char *path, struct kl_bootstrap_keys *ret)
{
        uint8_t *dst[3] = {ret->k, ret->u, ret->v};
        char *text = NULL, *p;
        size_t len = 0;
        int r;

        if ((r = kl_file_read(path, KEY_FILE_MAX, &text, &len)) < 0)
                return r;
        p = text;
        for (size_t i = 0; i < 3; i++) {
                size_t line = strcspn(p, "\r\n");

                if (line == 0 || (r = decode_key_line(p, line, dst[i])) < 0) {
                        r = KL_ERR_INVAL;
                        goto out;
                }
                p += line;
                p += strspn(p, "\r\n");
        }
        for (size_t i = 0; i < KL_BOOTSTRAP_KEY_LEN; i++) {
                if ((ret->k[i] ^ ret->v[i]) != ret->u[i]) {
                        r = KL_ERR_INVAL;
                        goto out;
                }
        }
        r = 0;
out:
        if (r < 0)
                kl_bootstrap_keys_wipe(ret);
        kl_secure_free(text, len);
        return r;
}

int kl_tenant_encrypt_payload(const uint8_t *k, size_t k_len, const uint8_t *data, size_t len,
                              char **ret_b64)
{
        uint8_t *buf = NULL;
        size_t total;
        int r;

        if (len > SIZE_MAX - GCM_IV_LEN - GCM_TAG_LEN)
                return KL_ERR_TOO_LONG;
        total = GCM_IV_LEN + len + GCM_TAG_LEN;
        if ((buf = malloc(total)) == NULL)
                return KL_ERR_NOMEM;
        if ((r = kl_random_bytes(buf, GCM_IV_LEN)) < 0 ||
            (r = kl_aes_gcm_encrypt(k, k_len, buf, GCM_IV_LEN, data, len, buf + GCM_IV_LEN,
                                    buf + GCM_IV_LEN + len)) < 0 ||
            (r = kl_b64_encode(buf, total, ret_b64)) < 0)
                goto out;
out:
        kl_secure_free(buf, total);
        return r;
}

int kl_tenant_wrap_share(const char *nk_pem, const uint8_t *share, size_t len, char **ret_b64)
{
        EVP_PKEY *nk = NULL;
        BIO *bio = NULL;
        uint8_t *ct = NULL;
        size_t ct_len = 0;
        int r = KL_ERR_NOMEM;

        if ((bio = BIO_new_mem_buf(nk_pem, -1)) == NULL)
                goto out;
        if ((nk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
                r = kl_crypto_err("PEM_read_bio_PUBKEY");
                goto out;
        }
        if ((r = kl_rsa_oaep_encrypt(nk, "sha1", NULL, 0, share, len, &ct, &ct_len)) < 0 ||
            (r = kl_b64_encode(ct, ct_len, ret_b64)) < 0)
                goto out;
out:
        free(ct);
        EVP_PKEY_free(nk);
        BIO_free(bio);
        return r;
}
