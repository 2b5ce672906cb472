/* SPDX-License-Identifier: Apache-2.0 */
/* The /v2.x/keys routes: the payload transport key (U/V delivery comes with payloads). */
#include "api.h"
#include "http_server.h"
#include "json.h"

void api_keys_pubkey(const struct api_call *c, struct kl_http_reply *reply)
{
        struct json_object *results = json_object_new_object();
        struct json_object *pem = json_object_new_string(c->agent->nk_pem);

        if (results == NULL || pem == NULL ||
            json_object_object_add(results, "pubkey", pem) != 0) {
                json_object_put(pem);
                json_object_put(results);
                api_error(reply, 500, "Unable to retrieve public key");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", results);
}
