/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's REST API as the simulator uses it: add an agent with
 * its policies (POST /v2.6/agents/{id}; AK and mTLS certificate come from the
 * registrar, as for a real agent) and read its state (GET).
 */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"

#define VER_TIMEOUT_MS 30000L

int fleet_verifier_add(const struct fleet_verifier *v, const struct fleet *f,
                       const struct fleet_agent *a, const char *tpm_policy, const char *ima_policy,
                       char *why, size_t why_len)
{
        struct kl_http_response resp = {0};
        char url[512], *body = NULL;
        int r;

        snprintf(url, sizeof(url), "%s/v2.6/agents/%s", v->url, a->uuid);
        if (asprintf(&body,
                     "{\"ip\": \"%s\", \"port\": %u, \"tpm_policy\": %s, \"ima_policy\": %s}",
                     a->ip, (unsigned)f->port, tpm_policy, ima_policy) < 0)
                return KL_ERR_NOMEM;
        r = kl_http_request("POST", url, body, &v->tls, VER_TIMEOUT_MS, &resp);
        if (r < 0)
                snprintf(why, why_len, "POST %s: %s", url, kl_err_str(r));
        else if (resp.status != 200 && resp.status != 201) {
                snprintf(why, why_len, "add: HTTP %ld: %.200s", resp.status, resp.body);
                r = KL_ERR_HTTP_STATUS;
        }
        kl_http_response_clear(&resp);
        free(body);
        return r;
}

int fleet_verifier_status(const struct fleet_verifier *v, const struct fleet_agent *a, char *state,
                          size_t state_len, char *reason, size_t reason_len, int64_t *ret_count)
{
        struct kl_http_response resp = {0};
        kl_json *env = NULL, *res = NULL;
        const char *s = NULL;
        char url[512];
        int r;

        snprintf(url, sizeof(url), "%s/v2.6/agents/%s", v->url, a->uuid);
        if ((r = kl_http_request("GET", url, NULL, &v->tls, VER_TIMEOUT_MS, &resp)) < 0)
                goto out;
        r = KL_ERR_HTTP_STATUS;
        if (resp.status != 200 || kl_json_parse_object(resp.body, resp.body_len, &env) < 0 ||
            kl_json_get_object(env, "results", &res) < 0 ||
            kl_json_get_string(res, "operational_state", &s) < 0)
                goto out;
        snprintf(state, state_len, "%s", s);
        if (kl_json_get_string(res, "last_failure", &s) < 0)
                s = "";
        snprintf(reason, reason_len, "%s", s);
        if (kl_json_get_int(res, "attestation_count", ret_count) < 0)
                *ret_count = -1;
        r = 0;
out:
        kl_json_free(env);
        kl_http_response_clear(&resp);
        return r;
}
