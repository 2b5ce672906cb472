/* SPDX-License-Identifier: Apache-2.0 */
/* A TLS server key held by a signer, for GnuTLS (see tls_signer.h). */
#include "tls_signer.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

struct kl_tls_signer_state {
        const struct kl_http_tls_signer *signer;
        gnutls_pcert_st pcert;
        bool have_pcert;
        gnutls_privkey_t key;
};

static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kl_tls_signer_state *active;

/* The handshake's signature algorithms this key can make, and how. */
static int scheme_of(const struct kl_http_tls_signer *s, gnutls_sign_algorithm_t algo,
                     enum kl_tls_sign_scheme *ret)
{
        if (s->ecc &&
            (algo == GNUTLS_SIGN_ECDSA_SECP256R1_SHA256 || algo == GNUTLS_SIGN_ECDSA_SHA256))
                *ret = KL_TLS_SIGN_ECDSA;
        else if (!s->ecc && algo == GNUTLS_SIGN_RSA_PSS_RSAE_SHA256)
                *ret = KL_TLS_SIGN_RSA_PSS;
        else if (!s->ecc && algo == GNUTLS_SIGN_RSA_SHA256)
                *ret = KL_TLS_SIGN_RSA_PKCS1; /* TLS 1.2 clients without PSS */
        else
                return -1;
        return 0;
}

static int key_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
        const struct kl_tls_signer_state *st = userdata;
        enum kl_tls_sign_scheme scheme;

        (void)key;
        if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
                return st->signer->ecc ? GNUTLS_PK_ECDSA : GNUTLS_PK_RSA;
        if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
                return st->signer->ecc ? 256 : (int)st->signer->rsa_bits;
        if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
                return st->signer->ecc ? GNUTLS_SIGN_ECDSA_SECP256R1_SHA256
                                       : GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
        if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
                return scheme_of(st->signer,
                                 (gnutls_sign_algorithm_t)GNUTLS_FLAGS_TO_SIGN_ALGO(flags),
                                 &scheme) == 0;
        return GNUTLS_E_UNKNOWN_PK_ALGORITHM;
}

/* Hands the holder one SHA-256 digest; GnuTLS frees *signature. */
static int sign_digest(const struct kl_tls_signer_state *st, enum kl_tls_sign_scheme scheme,
                       const uint8_t digest[32], gnutls_datum_t *signature)
{
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        int r;

        if ((r = st->signer->sign(st->signer->ctx, scheme, digest, &sig, &sig_len)) < 0) {
                log_error("TLS handshake: the server key did not sign: %s", kl_err_str(r));
                return GNUTLS_E_PK_SIGN_FAILED;
        }
        r = 0;
        if (sig_len > UINT32_MAX || (signature->data = gnutls_malloc(sig_len)) == NULL)
                r = GNUTLS_E_MEMORY_ERROR;
        else {
                memcpy(signature->data, sig, sig_len);
                signature->size = (unsigned)sig_len;
        }
        free(sig);
        return r;
}

static int sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
                     unsigned int flags, const gnutls_datum_t *data, gnutls_datum_t *signature)
{
        const struct kl_tls_signer_state *st = userdata;
        enum kl_tls_sign_scheme scheme;
        uint8_t digest[32];

        (void)key;
        (void)flags;
        if (scheme_of(st->signer, algo, &scheme) < 0)
                return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
        if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data->data, data->size, digest) < 0)
                return GNUTLS_E_HASH_FAILED;
        return sign_digest(st, scheme, digest, signature);
}

/*
 * GnuTLS signs some handshakes through the hash callback: ECDSA and RSA-PSS
 * get the digest, RSA PKCS#1 v1.5 its DigestInfo (the TPM adds that itself).
 */
static int sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo, void *userdata,
                     unsigned int flags, const gnutls_datum_t *hash, gnutls_datum_t *signature)
{
        static const uint8_t sha256_info[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                0x01, 0x05, 0x00, 0x04, 0x20};
        const struct kl_tls_signer_state *st = userdata;
        enum kl_tls_sign_scheme scheme = KL_TLS_SIGN_ECDSA;
        const uint8_t *d = hash->data;
        size_t len = hash->size;

        (void)key;
        if (!st->signer->ecc && ((flags & GNUTLS_PRIVKEY_SIGN_FLAG_RSA_PSS) != 0 ||
                                 gnutls_sign_get_pk_algorithm(algo) == GNUTLS_PK_RSA_PSS))
                scheme = KL_TLS_SIGN_RSA_PSS;
        else if (!st->signer->ecc) {
                scheme = KL_TLS_SIGN_RSA_PKCS1;
                if (len == sizeof(sha256_info) + 32 &&
                    memcmp(d, sha256_info, sizeof(sha256_info)) == 0) {
                        d += sizeof(sha256_info);
                        len = 32;
                }
        }
        if (len != 32)
                return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM; /* only SHA-256 */
        return sign_digest(st, scheme, d, signature);
}

static int retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
                    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
        int r = -1;

        (void)session;
        (void)req_ca_rdn;
        (void)nreqs;
        (void)pk_algos;
        (void)pk_algos_length;
        pthread_mutex_lock(&active_lock);
        if (active != NULL) {
                /* GnuTLS does not free what a retrieve_function2 returns */
                *pcert = &active->pcert;
                *pcert_length = 1;
                *privkey = active->key;
                r = 0;
        }
        pthread_mutex_unlock(&active_lock);
        return r;
}

void *kl_tls_signer_callback(void)
{
        gnutls_certificate_retrieve_function2 *cb = retrieve;

        return (void *)cb;
}

int kl_tls_signer_start(const struct kl_http_tls_signer *signer, const char *cert_pem,
                        struct kl_tls_signer_state **ret)
{
        struct kl_tls_signer_state *st = NULL;
        gnutls_datum_t pem;
        int r = KL_ERR_INVAL;

        if (signer == NULL || signer->sign == NULL || cert_pem == NULL || ret == NULL ||
            strlen(cert_pem) > UINT32_MAX)
                return KL_ERR_INVAL;
        if ((st = calloc(1, sizeof(*st))) == NULL)
                return KL_ERR_NOMEM;
        st->signer = signer;
        pem.data = (unsigned char *)(uintptr_t)cert_pem;
        pem.size = (unsigned)strlen(cert_pem);
        if (gnutls_pcert_import_x509_raw(&st->pcert, &pem, GNUTLS_X509_FMT_PEM, 0) < 0) {
                log_error("the TLS certificate does not parse");
                goto out;
        }
        st->have_pcert = true;
        r = KL_ERR_CRYPTO;
        if (gnutls_privkey_init(&st->key) < 0 ||
            gnutls_privkey_import_ext4(st->key, st, sign_data, sign_hash, NULL, NULL, key_info, 0) <
                0)
                goto out;
        pthread_mutex_lock(&active_lock);
        r = active != NULL ? KL_ERR_EXISTS : 0;
        if (r == 0)
                active = st;
        pthread_mutex_unlock(&active_lock);
        if (r < 0)
                goto out;
        *ret = st;
        return 0;
out:
        kl_tls_signer_stop(st);
        return r;
}

void kl_tls_signer_stop(struct kl_tls_signer_state *st)
{
        if (st == NULL)
                return;
        pthread_mutex_lock(&active_lock);
        if (active == st)
                active = NULL;
        pthread_mutex_unlock(&active_lock);
        if (st->key != NULL)
                gnutls_privkey_deinit(st->key);
        if (st->have_pcert)
                gnutls_pcert_deinit(&st->pcert);
        free(st);
}
