/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The /v2.x/keys routes (agent-api.md §5.2, §5.5-§5.7): the payload transport
 * key, the U and V shares of the bootstrap key, and the proof of K. The share
 * handlers answer as soon as the body parses; the payload is processed by
 * the worker in payload.c. Nothing secret is logged here.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "err.h"
#include "http_server.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "payload.h"

/* Peer text quoted in an error is cut to this many characters. */
#define ECHO_MAX 64

void api_keys_pubkey(const struct api_call *c, struct kl_http_reply *reply)
{
        kl_json *results = kl_json_object();

        if (kl_json_set_string(results, "pubkey", c->agent->nk_pem) < 0) {
                kl_json_free(results);
                api_error(reply, 500, "Unable to retrieve public key");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", results);
}

static void add_share(const struct api_call *c, enum keys_kind kind, struct kl_http_reply *reply)
{
        struct agent *a = c->agent;
        struct keys_share *s = NULL;
        uint8_t k[KEYS_KEY_MAX];
        uint8_t *payload = NULL;
        size_t len = 0, payload_len = 0, k_len = 0;
        uint64_t seq = 0;
        const char *body = kl_http_request_body(c->req, &len);
        const char *peer = kl_http_request_peer_cn(c->req);
        bool matched = false;
        char err[256];
        int code;

        if ((code = keys_parse_request(a->nk, kind, body != NULL ? body : "", len, &s, err,
                                       sizeof(err))) != 0) {
                api_error(reply, code, "%s", err);
                return;
        }
        if (kind == KEYS_U && s->payload != NULL && !a->payload_allowed) {
                /* K still counts (for /keys/verify); the payload is dropped unread. */
                log_warn("ignoring the payload sent with U: mTLS is off and "
                         "enable_insecure_payload is false");
                kl_secure_free(s->payload, s->payload_len);
                s->payload = NULL;
                s->payload_len = 0;
        }
        snprintf(s->sender, sizeof(s->sender), "%s", peer != NULL ? peer : "");
        if ((code = keys_add(a->keys, s, &matched, &payload, &payload_len, k, &k_len, &seq)) ==
            KL_ERR_EXISTS) {
                api_error(reply, 403,
                          "Bootstrap key already delivered by another verifier; restart the "
                          "agent to accept a new one");
                return;
        }
        if (code < 0) {
                api_error(reply, 500, "Failed to send %s message to keys worker",
                          kind == KEYS_U ? "UKey" : "VKey");
                return;
        }
        if (payload != NULL) {
                if (a->payload == NULL) {
                        kl_secure_free(payload, payload_len);
                        log_error("the payload could not be queued for processing");
                } else if ((code = payload_worker_submit(a->payload, seq, k, k_len, payload,
                                                         payload_len)) < 0 &&
                           code != KL_ERR_EXISTS) {
                        log_error("the payload could not be queued for processing");
                }
        }
        kl_wipe(k, sizeof(k));
        kl_http_reply_json_null(reply, 200, "Success");
}

/* POST /v2.x/keys/ukey {"auth_tag", "encrypted_key", "payload"?} */
void api_keys_ukey(const struct api_call *c, struct kl_http_reply *reply)
{
        add_share(c, KEYS_U, reply);
}

/* POST /v2.x/keys/vkey {"encrypted_key"} */
void api_keys_vkey(const struct api_call *c, struct kl_http_reply *reply)
{
        add_share(c, KEYS_V, reply);
}

/* GET /v2.x/keys/verify?challenge=C → {"hmac": hex HMAC-SHA-384(K, C)} */
void api_keys_verify(const struct api_call *c, struct kl_http_reply *reply)
{
        const char *challenge = kl_http_request_query(c->req, "challenge");
        kl_json *results = NULL;
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];
        int r;

        if (challenge == NULL) {
                api_error(reply, 400, "Query deserialize error: missing field `challenge`");
                return;
        }
        if (challenge[0] == '\0') {
                api_error(reply, 400, "No challenge provided.");
                return;
        }
        for (const char *p = challenge; *p != '\0'; p++) {
                if (!isalnum((unsigned char)*p)) {
                        api_error(reply, 400, "Parameters should be strictly alphanumeric: %.*s",
                                  ECHO_MAX, challenge);
                        return;
                }
        }
        if ((r = keys_verify_hmac(c->agent->keys, challenge, hex)) == KL_ERR_NOT_FOUND) {
                api_error(reply, 400, "Bootstrap key not yet available.");
                return;
        }
        if (r < 0 || (results = kl_json_object()) == NULL ||
            kl_json_set_string(results, "hmac", hex) < 0) {
                kl_json_free(results);
                api_error(reply, 500, "HMAC could not be computed");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", results);
}
