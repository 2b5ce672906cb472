/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifier stub routes (mTLS only, a subset shaped like Keylime's verifier API 2.x):
 *   GET    /version
 *   GET    /v2[.x]/agents[/]          list
 *   POST   /v2[.x]/agents/{id}        add (or re-add) an agent to attest
 *   GET    /v2[.x]/agents/{id}        state, attestation_count, last_failure, ...
 *   DELETE /v2[.x]/agents/{id}        stop attesting
 * Every answer is a {"code","status","results"} envelope; every refusal is a
 * 4xx with a reason, and nothing a client sends can stop the server.
 */
#include "api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "add_request.h"
#include "ak_check.h"
#include "b64.h"
#include "db.h"
#include "err.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "push_api.h"
#include "rest.h"
#include "store.h"
#include "tpm_public.h"
#include "uuid.h"
#include "verify.h"

#define STATUS_MAX   512
#define AIK_TEXT_MAX 8192
#define CERT_MAX     (256 * 1024)

/* The registrar's record (registrar API 2.x GET /agents/{id}): AK, mTLS certificate, address. */
static int registrar_lookup(struct ver_api *api, const char *id, struct ver_agent *rec, char *why,
                            size_t why_len)
{
        struct kl_http_response resp = {0};
        kl_json *obj = NULL;
        kl_json *res = NULL;
        struct kl_tpm_public *ak = NULL;
        const char *s = NULL;
        char url[1024];
        char ak_why[256] = "";
        int n = snprintf(url, sizeof(url), "%s/v2.6/agents/%s", api->registrar_url, id);
        int r = KL_ERR_TOO_LONG;

        if (n < 0 || (size_t)n >= sizeof(url))
                goto out;
        if ((r = kl_http_request("GET", url, NULL, &api->registrar_tls, api->timeout_ms, &resp)) <
            0) {
                snprintf(why, why_len, "registrar unreachable (%s)", kl_err_str(r));
                goto out;
        }
        r = KL_ERR_NOT_FOUND;
        if (resp.status != 200) {
                snprintf(why, why_len, "registrar has no active agent '%s' (HTTP %ld)", id,
                         resp.status);
                goto out;
        }
        r = KL_ERR_INVAL;
        if (kl_json_parse_object(resp.body, resp.body_len, &obj) < 0 ||
            kl_json_get_object(obj, "results", &res) < 0 ||
            kl_json_get_string(res, "aik_tpm", &s) < 0 || strlen(s) > AIK_TEXT_MAX ||
            kl_b64_decode(s, strlen(s), &rec->aik_tpm, &rec->aik_tpm_len) < 0 ||
            kl_tpm_public_parse(rec->aik_tpm, rec->aik_tpm_len, &ak) < 0) {
                snprintf(why, why_len, "registrar record of '%s' has no valid aik_tpm", id);
                goto out;
        }
        /* The registrar may be one that does not look at the AK (upstream's does not). */
        if (kl_ak_check(ak, NULL, NULL, ak_why, sizeof(ak_why)) < 0) {
                snprintf(why, why_len, "refusing the AK of '%s' from the registrar: %s", id,
                         ak_why);
                goto out;
        }
        if (kl_json_get_string(res, "mtls_cert", &s) == 0 && strlen(s) <= CERT_MAX &&
            (rec->mtls_cert = strdup(s)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (rec->ip == NULL && kl_json_get_string(res, "ip", &s) == 0 && strlen(s) <= 255 &&
            (rec->ip = strdup(s)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (rec->port < 0) {
                int64_t port = 0;

                if (kl_json_get_int(res, "port", &port) == 0 && port > 0 && port <= 65535)
                        rec->port = port;
        }
        r = 0;
out:
        kl_tpm_public_free(ak);
        kl_json_free(obj);
        kl_http_response_clear(&resp);
        return r;
}

static void handle_add(struct ver_api *api, const char *id, const char *body, size_t len,
                       struct kl_http_reply *reply)
{
        struct ver_add_request req = {0};
        struct ver_agent rec = {0};
        char why[STATUS_MAX] = "";
        int r;

        if (ver_add_request_parse(body, len, &req, why, sizeof(why)) < 0) {
                kl_rest_refuse(reply, 400, "%s", why[0] != '\0' ? why : "invalid request");
                goto out;
        }
        if (api->registrar_url == NULL) {
                kl_rest_refuse(reply, 400, "no registrar configured (serve --registrar URL)");
                goto out;
        }
        rec.agent_id = (char *)(uintptr_t)id;
        rec.ip = req.ip;
        req.ip = NULL;
        rec.port = req.port;
        if ((r = registrar_lookup(api, id, &rec, why, sizeof(why))) < 0) {
                if (r == KL_ERR_NOMEM)
                        kl_rest_reply_internal(reply, r);
                else
                        kl_rest_refuse(reply, r == KL_ERR_NOT_FOUND ? 404 : 400, "%s", why);
                goto out;
        }
        if (rec.ip == NULL || rec.port < 0) {
                kl_rest_refuse(reply, 400, "no address for agent '%s': give ip and port", id);
                goto out;
        }
        rec.tpm_policy = req.tpm_policy_json;
        rec.ima_policy = req.ima_policy;
        rec.mb_policy = req.mb_policy;
        rec.v = req.v;
        if ((r = ver_store_add(api->store, &rec)) < 0) {
                kl_rest_reply_internal(reply, r);
                goto out;
        }
        log_info("added agent '%.80s' at %s port %lld (mask 0x%x%s%s)", id, rec.ip,
                 (long long)rec.port,
                 (unsigned)ver_quote_mask(&req.tpm_policy, req.ima_policy != NULL,
                                          req.mb_policy != NULL),
                 req.ima_policy != NULL ? ", IMA policy" : "",
                 req.mb_policy != NULL ? ", mb policy" : "");
        kl_http_reply_json(reply, 200, "Success", NULL);
out:
        free(rec.ip);
        free(rec.aik_tpm);
        free(rec.mtls_cert);
        ver_add_request_clear(&req);
}

static void handle_show(struct ver_api *api, const char *id, struct kl_http_reply *reply)
{
        kl_json *res = NULL;
        kl_json *pol = NULL;
        struct ver_agent *a = NULL;
        int r = ver_store_get(api->store, id, &a);

        if (r < 0) {
                kl_rest_reply_agent_error(reply, r, id);
                goto out;
        }
        if (kl_json_parse_object(a->tpm_policy, strlen(a->tpm_policy), &pol) < 0)
                pol = NULL;
        res = kl_json_object();
        if (kl_rest_add_str(res, "agent_id", a->agent_id) < 0 ||
            kl_rest_add_str(res, "operational_state", a->state) < 0 ||
            kl_json_set_int(res, "attestation_count", a->attestation_count) < 0 ||
            kl_rest_add_str(res, "last_failure", a->last_failure) < 0 ||
            kl_json_set_int(res, "last_success", a->last_success) < 0 ||
            kl_rest_add_str(res, "ip", a->ip) < 0 || kl_json_set_int(res, "port", a->port) < 0 ||
            kl_rest_add_str(res, "api_version", a->api_version) < 0)
                goto nomem;
        /* res takes pol, also when that fails; an unreadable stored policy shows as null */
        r = pol != NULL ? kl_json_set(res, "tpm_policy", pol) : kl_json_set_null(res, "tpm_policy");
        pol = NULL;
        if (r < 0 || kl_json_set_bool(res, "has_ima_policy", a->ima_policy != NULL) < 0 ||
            kl_json_set_bool(res, "has_mb_policy", a->mb_policy != NULL) < 0)
                goto nomem;
        kl_http_reply_json(reply, 200, "Success", res);
        res = NULL;
        goto out;
nomem:
        kl_rest_reply_internal(reply, KL_ERR_NOMEM);
out:
        kl_json_free(pol);
        kl_json_free(res);
        ver_agent_free(a);
}

static void handle_list(struct ver_api *api, struct kl_http_reply *reply)
{
        char **ids = NULL;
        size_t n = 0;
        int r = ver_store_list(api->store, &ids, &n);

        kl_rest_reply_ids(reply, r, ids, n);
        kl_db_strv_free(ids, n);
}

void ver_api_handle_push(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct ver_api *api = ctx;

        if (api->push != NULL && ver_push_path(kl_http_request_path(req)))
                ver_push_handle(api->push, req, reply);
        else
                kl_rest_refuse(reply, 400,
                               "HTTPS with a client certificate required: this listener serves "
                               "push agents only");
}

void ver_api_handle(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct ver_api *api = ctx;
        const char *method = kl_http_request_method(req);
        struct kl_rest_path p;
        const char *body;
        char id[KL_REST_AGENT_ID_MAX + 1];
        size_t blen = 0;
        bool is_get = strcmp(method, "GET") == 0;

        if (api->push != NULL && ver_push_path(kl_http_request_path(req))) {
                ver_push_handle(api->push, req, reply);
                return;
        }
        body = kl_http_request_body(req, &blen);
        kl_rest_path_parse(kl_http_request_path(req), &p);
        if (kl_rest_reply_common(reply, &p, method, VER_API_CURRENT_VERSION))
                return;
        if (p.route == KL_REST_ROUTE_BAD_VERSION) {
                kl_rest_refuse(reply, 400, "API version not supported: %.*s",
                               p.version_len > 16 ? 16 : (int)p.version_len, p.version);
                return;
        }
        if (p.route == KL_REST_ROUTE_AGENTS) {
                if (is_get)
                        handle_list(api, reply);
                else
                        kl_rest_reply_method_not_allowed(reply);
                return;
        }
        /* one trailing slash is allowed; anything else past the ID makes it invalid */
        if ((p.tail[0] != '\0' && strcmp(p.tail, "/") != 0) ||
            !kl_rest_agent_id_copy(p.id, p.id_len, id)) {
                kl_rest_refuse(reply, 400, "Invalid agent ID");
                return;
        }
        if (is_get)
                handle_show(api, id, reply);
        else if (strcmp(method, "POST") == 0)
                handle_add(api, id, body, blen, reply);
        else if (strcmp(method, "DELETE") == 0)
                kl_rest_reply_deleted(reply, ver_store_delete(api->store, id), id);
        else
                kl_rest_reply_method_not_allowed(reply);
}
