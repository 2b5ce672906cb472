/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v2.x/agent/info (API 2.2+): the agent's ID and TPM algorithms. */
#include "api.h"
#include "http_server.h"
#include "json.h"
#include "tpm.h"

void api_agent_info(const struct api_call *c, struct kl_http_reply *reply)
{
        struct kl_tpm *tpm = c->agent->tpm;
        kl_json *o = kl_json_object();

        if (kl_json_set_string(o, "agent_uuid", c->agent->agent_id) < 0 ||
            kl_json_set_string(o, "tpm_hash_alg", kl_tpm_hash_alg_name(tpm)) < 0 ||
            kl_json_set_string(o, "tpm_enc_alg", kl_tpm_enc_alg_name(tpm, api_sized_alg_names(c))) <
                0 ||
            kl_json_set_string(o, "tpm_sign_alg", kl_tpm_sign_alg_name(tpm)) < 0 ||
            kl_json_set_int(o, "ak_handle", kl_tpm_ak_handle(tpm)) < 0) {
                kl_json_free(o);
                api_error(reply, 500, "Out of memory");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", o);
}
