/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_verifier_stub certify (see certify.h). Nothing the agent says is
 * believed before the AK's signature is checked: the public area it sends
 * is only the key it claims to hold, until the signed certification names it.
 */
#include "certify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "certified.h"
#include "crypto.h"
#include "err.h"
#include "http_client.h"
#include "json.h"
#include "nonce.h"
#include "tenant_role.h"
#include "tpm_public.h"

#define CHALLENGE_LEN 32
#define B64_MAX       4096

struct certify_run {
        const struct ver_certify_options *o;
        const char *name;
        struct ver_tenant *t;
        X509 *ca_cert;
        EVP_PKEY *ca_key;
};

/* The results object of an agent's answer; *ret_env owns it. */
static int results_of(const char *text, size_t len, kl_json **ret_env, kl_json **ret_res)
{
        *ret_env = NULL;
        if (text == NULL || kl_json_parse_object(text, len, ret_env) < 0 ||
            kl_json_get_object(*ret_env, "results", ret_res) < 0)
                return KL_ERR_INVAL;
        return 0;
}

/* POSTs body (which it frees) to the agent; resp is the caller's to clear. */
static int post_raw(struct certify_run *c, const char *resource, kl_json *body,
                    struct kl_http_response *resp)
{
        char *text = kl_json_to_string(body);
        int r;

        kl_json_free(body);
        if (text == NULL)
                return KL_ERR_NOMEM;
        r = ver_tenant_post(c->t, resource, text, resp);
        free(text);
        return r;
}

/* post_raw, then the answer's results: *ret_env owns them. */
static int post(struct certify_run *c, const char *resource, kl_json *body, kl_json **ret_env,
                kl_json **ret_res)
{
        struct kl_http_response resp = {0};
        int r = post_raw(c, resource, body, &resp);

        if (r == 0 && (r = results_of(resp.body, resp.body_len, ret_env, ret_res)) < 0)
                fprintf(stderr, "certify: POST %s: the answer has no results object\n", resource);
        kl_http_response_clear(&resp);
        return r;
}

static int get_b64(const kl_json *res, const char *key, uint8_t **ret, size_t *ret_len)
{
        const char *s = NULL;
        size_t n;

        if (kl_json_get_string(res, key, &s) < 0 || (n = strlen(s)) == 0 || n > B64_MAX ||
            kl_b64_decode(s, n, ret, ret_len) < 0) {
                fprintf(stderr, "certify: the agent's '%s' is not base64\n", key);
                return KL_ERR_INVAL;
        }
        return 0;
}

void ver_certify_answer_clear(struct ver_certify_answer *a)
{
        if (a == NULL)
                return;
        free(a->pub);
        free(a->attest);
        free(a->sig);
        memset(a, 0, sizeof(*a));
}

int ver_certify_parse_answer(const char *body, size_t len, struct ver_certify_answer *ret)
{
        kl_json *env = NULL, *res = NULL;
        int r;

        memset(ret, 0, sizeof(*ret));
        if ((r = results_of(body, len, &env, &res)) < 0)
                fprintf(stderr, "certify: POST /keys/certify: the answer has no results object\n");
        else if ((r = get_b64(res, "public", &ret->pub, &ret->pub_len)) == 0 &&
                 (r = get_b64(res, "certify_info", &ret->attest, &ret->attest_len)) == 0)
                r = get_b64(res, "signature", &ret->sig, &ret->sig_len);
        if (r < 0)
                ver_certify_answer_clear(ret);
        kl_json_free(env);
        return r;
}

/* Asks for a key and checks its certification; *ret_key is the key proven to be in the TPM. */
static int certified_key(struct certify_run *c, EVP_PKEY **ret_key)
{
        const char *alg = c->o->alg != NULL ? c->o->alg : "rsa";
        kl_json *body = kl_json_object();
        struct kl_http_response resp = {0};
        struct ver_certify_answer ans = {0};
        struct kl_tpm_public *key = NULL;
        char nonce[KL_NONCE_LEN + 1], why[256];
        int r;

        if ((r = kl_nonce_generate(nonce, KL_NONCE_LEN)) < 0)
                goto out;
        if (body == NULL || kl_json_set_string(body, "name", c->name) < 0 ||
            kl_json_set_string(body, "alg", alg) < 0 ||
            kl_json_set_string(body, "nonce", nonce) < 0) {
                kl_json_free(body);
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((r = post_raw(c, "/keys/certify", body, &resp)) < 0 ||
            (r = ver_certify_parse_answer(resp.body, resp.body_len, &ans)) < 0)
                goto out;
        if ((r = kl_certified_check(ver_tenant_ak(c->t), nonce, ans.pub, ans.pub_len, ans.attest,
                                    ans.attest_len, ans.sig, ans.sig_len, &key, why, sizeof(why))) <
            0) {
                fprintf(stderr, "certify: no certificate for key '%s' of agent %s: %s\n", c->name,
                        c->o->client->uuid, why);
                goto out;
        }
        if ((r = kl_tpm_public_to_pkey(key, ret_key)) < 0)
                fprintf(stderr, "certify: the key's public area is not a usable key\n");
        else
                printf("certify: agent %s's AK certifies %s key '%s' as created in its TPM "
                       "(fixedTPM, fixedParent, sensitiveDataOrigin), over nonce %s\n",
                       c->o->client->uuid, kl_tpm_public_is_rsa(key) ? "RSA-2048" : "ECC P-256",
                       c->name, nonce);
out:
        kl_tpm_public_free(key);
        ver_certify_answer_clear(&ans);
        kl_http_response_clear(&resp);
        return r;
}

/* The agent signs a fresh challenge; its signature must verify with the certificate's key. */
static int prove(struct certify_run *c, X509 *cert)
{
        kl_json *body = kl_json_object(), *env = NULL, *res = NULL;
        uint8_t challenge[CHALLENGE_LEN], *sig = NULL, *msg = NULL;
        size_t sig_len = 0, msg_len = 0;
        EVP_PKEY *key = kl_x509_public_key(cert);
        int r;

        if (key == NULL || body == NULL ||
            (r = kl_random_bytes(challenge, sizeof(challenge))) < 0 ||
            kl_json_set_string(body, "name", c->name) < 0 ||
            kl_json_add_b64(body, "challenge", challenge, sizeof(challenge)) < 0) {
                kl_json_free(body);
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((r = post(c, "/keys/prove", body, &env, &res)) < 0 ||
            (r = get_b64(res, "signature", &sig, &sig_len)) < 0)
                goto out;
        if ((r = kl_certified_prove_message(challenge, sizeof(challenge), &msg, &msg_len)) < 0)
                goto out;
        if ((r = kl_verify_sha256(key, msg, msg_len, sig, sig_len)) < 0)
                fprintf(stderr, "certify: the agent's signature over the challenge does not verify "
                                "with the certificate's key\n");
out:
        kl_pkey_free(key);
        free(msg);
        free(sig);
        kl_json_free(env);
        return r;
}

static int send_cert(struct certify_run *c, X509 *cert)
{
        kl_json *body = kl_json_object(), *env = NULL, *res = NULL;
        char *pem = NULL;
        int r;

        if ((r = kl_x509_to_pem(cert, &pem)) < 0 || body == NULL ||
            kl_json_set_string(body, "name", c->name) < 0 ||
            kl_json_set_string(body, "certificate", pem) < 0) {
                kl_json_free(body);
                r = r < 0 ? r : KL_ERR_NOMEM;
                goto out;
        }
        r = post(c, "/keys/certificate", body, &env, &res);
out:
        free(pem);
        kl_json_free(env);
        return r;
}

static int load_issuer(struct certify_run *c)
{
        int r;

        if ((r = kl_x509_load_file(c->o->issuer_cert, &c->ca_cert)) < 0) {
                fprintf(stderr, "certify: cannot load --issuer-cert %s: %s\n", c->o->issuer_cert,
                        kl_err_str(r));
                return r;
        }
        if ((r = kl_key_load_pem(c->o->issuer_key, NULL, &c->ca_key)) < 0)
                fprintf(stderr, "certify: cannot load --issuer-key %s: %s\n", c->o->issuer_key,
                        kl_err_str(r));
        return r;
}

int ver_certify(const struct ver_certify_options *o)
{
        struct certify_run c = {.o = o, .name = o->name != NULL ? o->name : "certified"};
        const char *alg = o->alg != NULL ? o->alg : "rsa";
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        unsigned long days = 365;
        char *end = NULL;
        int r, status = 1;

        if (o->days != NULL)
                days = strtoul(o->days, &end, 10);
        if (o->client->uuid == NULL || o->out == NULL || o->issuer_cert == NULL ||
            o->issuer_key == NULL || (strcmp(alg, "rsa") != 0 && strcmp(alg, "ecc") != 0) ||
            (o->days != NULL && (end == o->days || *end != '\0' || days == 0 || days > 36500))) {
                fprintf(stderr, "certify needs --uuid, --out FILE, --issuer-cert PEM and "
                                "--issuer-key PEM; --alg rsa|ecc, --days 1..36500\n");
                return 2;
        }
        if (load_issuer(&c) < 0 || ver_tenant_open(o->client, &c.t) < 0 ||
            certified_key(&c, &key) < 0)
                goto out;
        r = kl_x509_issue(key, o->subject != NULL ? o->subject : o->client->uuid, NULL,
                          (unsigned)days, c.ca_cert, c.ca_key, &cert);
        if (r < 0) {
                fprintf(stderr, "certify: cannot issue the certificate: %s%s\n", kl_err_str(r),
                        r == KL_ERR_INVAL ? " (a bad --subject, or --issuer-key is not the key "
                                            "of --issuer-cert)"
                                          : "");
                goto out;
        }
        if (send_cert(&c, cert) < 0 || prove(&c, cert) < 0)
                goto out;
        if ((r = kl_x509_save_pem(o->out, cert)) < 0) {
                fprintf(stderr, "certify: cannot write %s: %s\n", o->out, kl_err_str(r));
                goto out;
        }
        printf("certify: issued a certificate to key '%s' of agent %s; its signature over a "
               "challenge verifies; saved to %s\n",
               c.name, o->client->uuid, o->out);
        status = 0;
out:
        kl_x509_free(cert);
        kl_pkey_free(key);
        kl_x509_free(c.ca_cert);
        kl_pkey_free(c.ca_key);
        ver_tenant_free(c.t);
        return status;
}
