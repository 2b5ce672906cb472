/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation notice format and signature (see revocation.h). Upstream signs
 * with PSS and the maximum salt (Python cryptography's PSS.MAX_LENGTH); we
 * verify with RSA_PSS_SALTLEN_AUTO so any salt length the signer picked is
 * accepted, which is what the Rust agent's OpenSSL call amounts to for a
 * maximum-salt signature and does not weaken PSS.
 */
#include "revocation_notice.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "json.h"

void kl_revocation_free(struct kl_revocation *rv)
{
        if (rv == NULL)
                return;
        free(rv->msg);
        free(rv->sig);
        free(rv);
}

int kl_revocation_parse(const char *data, size_t len, struct kl_revocation **ret)
{
        kl_json *root = NULL;
        kl_json *m, *s;
        struct kl_revocation *rv = NULL;
        const char *sig;
        size_t sig_len;
        int r = KL_ERR_TOO_LONG;

        if (data == NULL || len > KL_REVOCATION_MAX)
                goto out;
        r = KL_ERR_INVAL;
        if (kl_json_parse_object(data, len, &root) < 0)
                goto out;
        m = kl_json_member(root, "msg");
        s = kl_json_member(root, "signature");
        if (!kl_json_is(m, KL_JSON_STRING) || !kl_json_is(s, KL_JSON_STRING))
                goto out;
        sig = kl_json_string_value(s);
        sig_len = kl_json_string_length(s);
        if (sig_len > KL_REVOCATION_SIG_MAX) {
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((rv = calloc(1, sizeof(*rv))) == NULL)
                goto out;
        rv->msg_len = kl_json_string_length(m);
        if ((rv->msg = malloc(rv->msg_len + 1)) == NULL)
                goto out;
        /* msg may hold NUL bytes (\u0000): copy by length, verify by length */
        memcpy(rv->msg, kl_json_string_value(m), rv->msg_len);
        rv->msg[rv->msg_len] = '\0';
        if (sig_len > 0 && (r = kl_b64_decode(sig, sig_len, &rv->sig, &rv->sig_len)) < 0)
                goto out;
        *ret = rv;
        rv = NULL;
        r = 0;
out:
        kl_revocation_free(rv);
        kl_json_free(root);
        return r;
}

int kl_revocation_verify(const struct kl_revocation *rv, EVP_PKEY *pub)
{
        EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        int r = KL_ERR_VERIFY;
        int ok;

        if (rv == NULL || pub == NULL || rv->sig_len == 0 || !EVP_PKEY_is_a(pub, "RSA"))
                goto out;
        r = KL_ERR_NOMEM;
        if ((md = EVP_MD_CTX_new()) == NULL)
                goto out;
        if (EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pub) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
                r = kl_crypto_err("EVP_DigestVerifyInit (RSA-PSS)");
                goto out;
        }
        ok = EVP_DigestVerify(md, rv->sig, rv->sig_len, (const uint8_t *)rv->msg, rv->msg_len);
        /* a bad signature is an expected outcome, not an OpenSSL failure worth logging */
        ERR_clear_error();
        r = ok == 1 ? 0 : KL_ERR_VERIFY;
out:
        EVP_MD_CTX_free(md);
        return r;
}

bool kl_revocation_cert_current(X509 *cert, time_t now)
{
        time_t t = now;

        /* X509_cmp_time: -1 when the certificate's time is before t, 1 after, 0 on error */
        return cert != NULL && X509_cmp_time(X509_get0_notBefore(cert), &t) < 0 &&
               X509_cmp_time(X509_get0_notAfter(cert), &t) > 0;
}

int kl_revocation_verify_cert(const struct kl_revocation *rv, X509 *cert)
{
        /* X509_get0_pubkey: the key stays the certificate's */
        EVP_PKEY *pub = cert != NULL ? X509_get0_pubkey(cert) : NULL;

        if (pub == NULL || !kl_revocation_cert_current(cert, time(NULL))) {
                ERR_clear_error();
                return KL_ERR_VERIFY;
        }
        return kl_revocation_verify(rv, pub);
}

int kl_revocation_sign(EVP_PKEY *key, const char *msg, size_t len, char **ret_b64)
{
        EVP_MD_CTX *md = NULL;
        EVP_PKEY_CTX *pctx = NULL;
        uint8_t *sig = NULL;
        size_t sig_len = 0;
        int r = KL_ERR_INVAL;

        if (key == NULL || msg == NULL || !EVP_PKEY_is_a(key, "RSA"))
                goto out;
        r = KL_ERR_NOMEM;
        if ((md = EVP_MD_CTX_new()) == NULL)
                goto out;
        if (EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_MAX) != 1 ||
            EVP_DigestSign(md, NULL, &sig_len, (const uint8_t *)msg, len) != 1) {
                r = kl_crypto_err("EVP_DigestSignInit (RSA-PSS)");
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((sig = malloc(sig_len)) == NULL)
                goto out;
        if (EVP_DigestSign(md, sig, &sig_len, (const uint8_t *)msg, len) != 1) {
                r = kl_crypto_err("EVP_DigestSign (RSA-PSS)");
                goto out;
        }
        r = kl_b64_encode(sig, sig_len, ret_b64);
out:
        free(sig);
        EVP_MD_CTX_free(md);
        return r;
}

int kl_revocation_body(const char *msg, const char *sig_b64, char **ret_body)
{
        kl_json *o = kl_json_object();
        char *text = NULL;
        int r = KL_ERR_NOMEM;

        if (o == NULL || msg == NULL || sig_b64 == NULL)
                goto out;
        if (kl_json_set_string(o, "msg", msg) < 0 ||
            kl_json_set_string(o, "signature", sig_b64) < 0)
                goto out;
        if ((text = kl_json_to_string(o)) == NULL)
                goto out;
        *ret_body = text;
        r = 0;
out:
        kl_json_free(o);
        return r;
}

int kl_revocation_event(const struct kl_revocation *rv, kl_json **ret)
{
        if (rv == NULL)
                return KL_ERR_INVAL;
        return kl_json_parse_object(rv->msg, rv->msg_len, ret);
}
