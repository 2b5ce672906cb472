/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A simulated agent's TPM identity and its registration (registrar API 2.x,
 * proto-docs registration.md): software EK and AK, POST of the identity,
 * ActivateCredential in software (kl_activatecred), PUT of the auth tag. The
 * registrar cannot tell it from a TPM without an EK certificate.
 */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "json.h"
#include "makecred.h"
#include "soft_tpm.h"
#include "tpm_public.h"

#define REG_TIMEOUT_MS 30000L

int fleet_agent_keys(struct fleet_agent *a, bool rsa_ak)
{
        struct kl_tpm_public *ak = NULL;
        int r;

        if ((r = kl_key_generate_ec_p256(&a->ek)) < 0 ||
            (r = rsa_ak ? kl_key_generate_rsa(2048, &a->ak) : kl_key_generate_ec_p256(&a->ak)) <
                0 ||
            (r = kl_soft_ak_public(a->ak, &a->ak_public, &a->ak_public_len)) < 0 ||
            (r = kl_tpm_public_parse(a->ak_public, a->ak_public_len, &ak)) < 0 ||
            (r = kl_tpm_public_name(ak, a->ak_name, &a->ak_name_len)) < 0)
                goto out;
        r = pthread_mutex_init(&a->lock, NULL) == 0 ? 0 : KL_ERR_SYSTEM;
out:
        kl_tpm_public_free(ak);
        return r;
}

void fleet_agent_clear(struct fleet_agent *a)
{
        kl_pkey_free(a->ek);
        kl_pkey_free(a->ak);
        free(a->ak_public);
        pthread_mutex_destroy(&a->lock);
}

/* The registration body (registration.md "Messages"); caller frees. */
static char *registration_body(const struct fleet_agent *a, const uint8_t *ek_pub,
                               size_t ek_pub_len, const char *mtls_cert_pem, uint16_t port)
{
        kl_json *o = kl_json_object();
        char *s = NULL;

        if (kl_json_add_b64(o, "aik_tpm", a->ak_public, a->ak_public_len) == 0 &&
            kl_json_add_b64(o, "ek_tpm", ek_pub, ek_pub_len) == 0) {
                kl_json_set_null(o, "ekcert");
                kl_json_set_null(o, "iak_cert");
                kl_json_set_null(o, "idevid_cert");
                kl_json_set_string(o, "ip", a->ip);
                kl_json_set_string(o, "mtls_cert", mtls_cert_pem);
                kl_json_set_int(o, "port", port);
                s = kl_json_to_string(o);
        }
        kl_json_free(o);
        return s;
}

static int challenge_blob(const struct kl_http_response *resp, uint8_t **ret, size_t *ret_len)
{
        kl_json *env = NULL, *res = NULL;
        const char *blob = NULL;
        int r = KL_ERR_INVAL;

        if (kl_json_parse_object(resp->body, resp->body_len, &env) == 0 &&
            kl_json_get_object(env, "results", &res) == 0 &&
            kl_json_get_string(res, "blob", &blob) == 0)
                r = kl_b64_decode(blob, strlen(blob), ret, ret_len);
        kl_json_free(env);
        return r;
}

int fleet_register(const struct fleet_agent *a, const char *registrar, const char *mtls_cert_pem,
                   uint16_t port, char *why, size_t why_len)
{
        struct kl_http_response resp = {0};
        struct kl_tpm_public *ek = NULL;
        uint8_t *ek_pub = NULL, *blob = NULL;
        uint8_t cred[KL_MAX_DIGEST_LEN];
        size_t ek_pub_len = 0, blob_len = 0, cred_len = 0;
        char *body = NULL, *mac_key = NULL;
        char url[512], tag[KL_HMAC_SHA384_HEX_LEN + 1], put[KL_HMAC_SHA384_HEX_LEN + 32];
        int r;

        snprintf(url, sizeof(url), "%s/v2.6/agents/%s", registrar, a->uuid);
        if ((r = kl_soft_ek_public(a->ek, &ek_pub, &ek_pub_len)) < 0 ||
            (r = kl_tpm_public_parse(ek_pub, ek_pub_len, &ek)) < 0) {
                snprintf(why, why_len, "EK public area: %s", kl_err_str(r));
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((body = registration_body(a, ek_pub, ek_pub_len, mtls_cert_pem, port)) == NULL)
                goto out;
        if ((r = kl_http_request("POST", url, body, NULL, REG_TIMEOUT_MS, &resp)) < 0) {
                snprintf(why, why_len, "POST %s: %s", url, kl_err_str(r));
                goto out;
        }
        if (resp.status != 200 || (r = challenge_blob(&resp, &blob, &blob_len)) < 0) {
                snprintf(why, why_len, "POST: HTTP %ld: %.200s", resp.status, resp.body);
                r = KL_ERR_HTTP_STATUS;
                goto out;
        }
        kl_http_response_clear(&resp);
        if ((r = kl_activatecred(ek, a->ek, a->ak_name, a->ak_name_len, blob, blob_len, cred,
                                 &cred_len)) < 0) {
                snprintf(why, why_len, "ActivateCredential: %s", kl_err_str(r));
                goto out;
        }
        /* upstream keys the HMAC with the base64 text of the credential */
        if ((r = kl_b64_encode(cred, cred_len, &mac_key)) < 0 ||
            (r = kl_hmac_sha384_hex((const uint8_t *)mac_key, strlen(mac_key),
                                    (const uint8_t *)a->uuid, strlen(a->uuid), tag)) < 0)
                goto out;
        snprintf(put, sizeof(put), "{\"auth_tag\":\"%s\"}", tag);
        if ((r = kl_http_request("PUT", url, put, NULL, REG_TIMEOUT_MS, &resp)) < 0) {
                snprintf(why, why_len, "PUT %s: %s", url, kl_err_str(r));
                goto out;
        }
        if (resp.status != 200) {
                snprintf(why, why_len, "PUT: HTTP %ld: %.200s", resp.status, resp.body);
                r = KL_ERR_HTTP_STATUS;
                goto out;
        }
        r = 0;
out:
        kl_http_response_clear(&resp);
        kl_wipe(cred, sizeof(cred));
        kl_wipe(tag, sizeof(tag));
        if (mac_key != NULL)
                kl_secure_free(mac_key, strlen(mac_key));
        kl_tpm_public_free(ek);
        free(ek_pub);
        free(blob);
        free(body);
        return r;
}
