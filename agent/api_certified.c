/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v2.x/keys/certify, /keys/certificate, /keys/prove (our extension;
 * agent-api.md "Certified keys"): a signing key born in this TPM, certified
 * by the AK over the verifier's nonce, its CA certificate, and signatures
 * that prove the key is here. mTLS only, as for payloads and sealed
 * objects: without client authentication anyone could replace a key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "certified.h" /* lib/tpm: kl_certified_prove_message */
#include "certified_key.h"
#include "crypto.h"
#include "err.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "quote_evidence.h"
#include "tpm.h"
#include "tpm_public.h"

/* The parsed body, or false with the answer given. */
static bool parse(const struct api_call *c, enum certified_route route, struct certified_request *q,
                  struct kl_http_reply *reply)
{
        size_t len = 0;
        const char *body = kl_http_request_body(c->req, &len);
        char err[256];
        int code;

        if (!c->agent->cfg->enable_agent_mtls) {
                api_error(reply, 403, "Certified keys are served only with enable_agent_mtls");
                return false;
        }
        if ((code = certified_parse_request(route, body != NULL ? body : "", len, q, err,
                                            sizeof(err))) != 0) {
                api_error(reply, code, "%s", err);
                return false;
        }
        return true;
}

/* The stored key NAME, or false with 404/500 given. */
static bool load(const struct api_call *c, const char *name, struct certified_key **ret,
                 struct kl_http_reply *reply)
{
        int r = certified_record_load(c->agent->cfg->keylime_dir, name, ret);

        if (r == KL_ERR_NOT_FOUND)
                api_error(reply, 404, "No certified key '%s'", name);
        else if (r < 0)
                api_error(reply, 500, "Cannot read certified key '%s': %s", name, kl_err_str(r));
        return r == 0;
}

static void reply_results(struct kl_http_reply *reply, kl_json *results, int r)
{
        if (r < 0 || results == NULL) {
                kl_json_free(results);
                api_error(reply, 500, "Out of memory");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", results);
}

void api_keys_certify(const struct api_call *c, struct kl_http_reply *reply)
{
        struct agent *a = c->agent;
        struct certified_request q;
        struct kl_tpm_certified made = {0};
        struct certified_key k = {0};
        kl_json *results = NULL;
        int r;

        if (!parse(c, CERTIFIED_CERTIFY, &q, reply))
                return;
        pthread_mutex_lock(&a->tpm_lock);
        r = kl_tpm_certified_create(a->tpm, q.ecc, (const uint8_t *)q.nonce, strlen(q.nonce),
                                    &made);
        agent_note_tpm_lost(a, r);
        pthread_mutex_unlock(&a->tpm_lock);
        if (r < 0) {
                api_error(reply, 500, "Cannot create and certify a key: %s", kl_err_str(r));
                goto out;
        }
        /* a new key replaces an older one of the name, and its certificate with it */
        snprintf(k.name, sizeof(k.name), "%s", q.name);
        k.ecc = q.ecc;
        k.pub = made.pub;
        k.pub_len = made.pub_len;
        k.priv = made.priv;
        k.priv_len = made.priv_len;
        if ((r = certified_record_store(a->cfg->keylime_dir, &k)) < 0) {
                api_error(reply, 500, "Cannot store certified key '%s': %s", q.name, kl_err_str(r));
                goto out;
        }
        log_info("created %s key '%s' in the TPM, certified by the AK",
                 q.ecc ? "ECC P-256" : "RSA-2048", q.name);
        r = (results = kl_json_object()) == NULL ? KL_ERR_NOMEM : 0;
        if (r == 0 && (kl_json_set_string(results, "name", q.name) < 0 ||
                       kl_json_set_string(results, "alg", q.ecc ? "ecc" : "rsa") < 0 ||
                       kl_json_add_b64(results, "public", made.pub, made.pub_len) < 0 ||
                       kl_json_add_b64(results, "certify_info", made.attest, made.attest_len) < 0 ||
                       kl_json_add_b64(results, "signature", made.sig, made.sig_len) < 0))
                r = KL_ERR_NOMEM;
        reply_results(reply, results, r);
out:
        kl_tpm_certified_clear(&made);
        certified_request_clear(&q);
}

/* The certificate is for this key: its public key is the TPM key's. */
static int cert_matches(const struct certified_key *k, const char *pem, char *why, size_t len)
{
        struct kl_tpm_public *pub = NULL;
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        int r = KL_ERR_INVAL;

        if (kl_x509_parse_any((const uint8_t *)pem, strlen(pem), &cert) < 0)
                snprintf(why, len, "'certificate' does not parse as X.509");
        else if (kl_tpm_public_parse(k->pub, k->pub_len, &pub) < 0 ||
                 kl_tpm_public_to_pkey(pub, &key) < 0)
                snprintf(why, len, "the stored key's public area is unreadable");
        else if (!kl_x509_matches_key(cert, key))
                snprintf(why, len, "the certificate is for another public key than this TPM key");
        else
                r = 0;
        kl_pkey_free(key);
        kl_tpm_public_free(pub);
        kl_x509_free(cert);
        return r;
}

void api_keys_certificate(const struct api_call *c, struct kl_http_reply *reply)
{
        struct certified_request q;
        struct certified_key *k = NULL;
        kl_json *results = NULL;
        char why[128];
        int r;

        if (!parse(c, CERTIFIED_CERTIFICATE, &q, reply))
                return;
        if (!load(c, q.name, &k, reply))
                goto out;
        if (cert_matches(k, q.cert_pem, why, sizeof(why)) < 0) {
                api_error(reply, 400, "Refused certificate for '%s': %s; nothing stored", q.name,
                          why);
                goto out;
        }
        free(k->cert_pem);
        k->cert_pem = q.cert_pem;
        q.cert_pem = NULL;
        if ((r = certified_record_store(c->agent->cfg->keylime_dir, k)) < 0) {
                api_error(reply, 500, "Cannot store the certificate of '%s': %s", q.name,
                          kl_err_str(r));
                goto out;
        }
        log_info("stored the certificate of TPM key '%s'", q.name);
        r = (results = kl_json_object()) == NULL || kl_json_set_string(results, "name", q.name) < 0
                ? KL_ERR_NOMEM
                : 0;
        reply_results(reply, results, r);
out:
        certified_key_free(k);
        certified_request_clear(&q);
}

void api_keys_prove(const struct api_call *c, struct kl_http_reply *reply)
{
        struct agent *a = c->agent;
        struct certified_request q;
        struct certified_key *k = NULL;
        kl_json *results = NULL;
        uint8_t digest[KL_MAX_DIGEST_LEN], *sig = NULL, *msg = NULL;
        size_t dlen = 0, sig_len = 0, msg_len = 0;
        int r;

        if (!parse(c, CERTIFIED_PROVE, &q, reply))
                return;
        if (!load(c, q.name, &k, reply))
                goto out;
        if ((r = kl_certified_prove_message(q.challenge, q.challenge_len, &msg, &msg_len)) < 0 ||
            (r = kl_digest("sha256", msg, msg_len, digest, &dlen)) < 0) {
                api_error(reply, 500, "Cannot hash the challenge: %s", kl_err_str(r));
                goto out;
        }
        pthread_mutex_lock(&a->tpm_lock);
        r = kl_tpm_certified_sign(a->tpm, k->pub, k->pub_len, k->priv, k->priv_len, digest, false,
                                  &sig, &sig_len);
        agent_note_tpm_lost(a, r);
        pthread_mutex_unlock(&a->tpm_lock);
        if (r < 0) {
                api_error(reply, 500, "The TPM did not sign with '%s': %s", q.name, kl_err_str(r));
                goto out;
        }
        r = (results = kl_json_object()) == NULL ? KL_ERR_NOMEM : 0;
        if (r == 0 && (kl_json_set_string(results, "name", q.name) < 0 ||
                       kl_json_set_string(results, "hash", "sha256") < 0 ||
                       kl_json_add_b64(results, "signature", sig, sig_len) < 0))
                r = KL_ERR_NOMEM;
        reply_results(reply, results, r);
out:
        free(msg);
        free(sig);
        certified_key_free(k);
        certified_request_clear(&q);
}
