/* SPDX-License-Identifier: Apache-2.0 */
/* GET /v2.x/agent/info (API 2.2+): the agent's ID and TPM algorithms. */
#include "api.h"
#include "http_server.h"
#include "json.h"
#include "tpm.h"

void api_agent_info(const struct api_call *c, struct kl_http_reply *reply)
{
        struct kl_tpm *tpm = c->agent->tpm;
        struct json_object *o = json_object_new_object();

        if (o == NULL ||
            json_object_object_add(o, "agent_uuid", json_object_new_string(c->agent->agent_id)) ||
            json_object_object_add(o, "tpm_hash_alg",
                                   json_object_new_string(kl_tpm_hash_alg_name(tpm))) ||
            json_object_object_add(
                o, "tpm_enc_alg",
                json_object_new_string(kl_tpm_enc_alg_name(tpm, api_sized_alg_names(c)))) ||
            json_object_object_add(o, "tpm_sign_alg",
                                   json_object_new_string(kl_tpm_sign_alg_name(tpm))) ||
            json_object_object_add(o, "ak_handle", json_object_new_int64(kl_tpm_ak_handle(tpm)))) {
                json_object_put(o);
                api_error(reply, 500, "Out of memory");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", o);
}
