/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registrar stub routes (Keylime registrar API 2.1-2.6):
 *   GET    /version
 *   POST   /v2[.x]/agents/{id}        register (also POST /v2[.x]/agents, id in body)
 *   PUT    /v2[.x]/agents/{id}        activate (also PUT|POST .../{id}/activate)
 *   GET    /v2[.x]/agents[/]          list    (mTLS listener only)
 *   GET    /v2[.x]/agents/{id}        show    (mTLS listener only; 404 until activated)
 *   DELETE /v2[.x]/agents/{id}        delete  (mTLS listener only)
 * As upstream, agents use the plain HTTP listener, where the routes for the
 * tenant and verifier answer 400; only clients with a certificate from the
 * verifier/tenant CA reach them, on the mTLS listener.
 * Every answer is a {"code","status","results"} envelope. Outside input is
 * checked field by field with caps before it reaches a parser; refusals are
 * logged as warnings with their reason, never with the auth tag or key.
 * One job just past 600 lines: registration's field checks are most of it,
 * split into named steps (parse, TPM keys, EK certificate, challenge, commit).
 */
#include "api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ak_check.h"
#include "b64.h"
#include "crypto.h"
#include "db.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "log.h"
#include "makecred.h"
#include "platform.h"
#include "rest.h"
#include "store.h"
#include "tpm_public.h"
#include "uuid.h"

/* Caps on field text, well above anything a TPM or a sane agent produces. */
#define TPM_PUBLIC_TEXT_MAX 8192
#define CERT_TEXT_MAX       (256 * 1024)
#define EKCERT_CHAIN_MAX    16
#define IP_TEXT_MAX         255
#define AUTH_TAG_TEXT_MAX   256
#define CREDENTIAL_LEN      32

int reg_api_init(struct reg_api *api, struct reg_store *store, const struct reg_api_config *cfg)
{
        memset(api, 0, sizeof(*api));
        api->store = store;
        if (cfg != NULL)
                api->cfg = *cfg;
        if (pthread_mutex_init(&api->lock, NULL) != 0)
                return KL_ERR_SYSTEM;
        return 0;
}

void reg_api_fini(struct reg_api *api)
{
        pthread_mutex_destroy(&api->lock);
}

/*
 * Keylime's Binary type: base64 first, else hex with an optional 0x. Returns
 * KL_ERR_NOT_FOUND when absent/null, KL_ERR_INVAL when not decodable.
 */
static int get_binary(kl_json *obj, const char *key, uint8_t **ret, size_t *ret_len)
{
        const char *s = NULL;
        size_t n;
        int r;

        if ((r = kl_json_get_string(obj, key, &s)) < 0)
                return r;
        n = strlen(s);
        if (n == 0)
                return KL_ERR_NOT_FOUND;
        if (n > TPM_PUBLIC_TEXT_MAX)
                return KL_ERR_INVAL;
        if (kl_b64_decode(s, n, ret, ret_len) == 0)
                return 0;
        if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                s += 2;
                n -= 2;
        }
        if (n > 0 && kl_hex_decode(s, n, ret, ret_len) == 0)
                return 0;
        return KL_ERR_INVAL;
}

/* mtls_cert is OneOf(Certificate, "disabled"); stored as given. */
static bool mtls_cert_ok(const char *s)
{
        X509 *c = NULL;
        size_t n = strlen(s);

        if (strcmp(s, "disabled") == 0)
                return true;
        if (n > CERT_TEXT_MAX || kl_x509_parse_any((const uint8_t *)s, n, &c) < 0)
                return false;
        kl_x509_free(c);
        return true;
}

/* Optional string field: absent/null → *ret NULL. */
static int get_opt_string(kl_json *obj, const char *key, size_t max, const char **ret)
{
        int r = kl_json_get_string(obj, key, ret);

        if (r == KL_ERR_NOT_FOUND) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        return strlen(*ret) <= max ? 0 : KL_ERR_INVAL;
}

/* 32 characters from [A-Za-z0-9], unbiased (rejection sampling). */
static int random_credential(uint8_t out[CREDENTIAL_LEN])
{
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        uint8_t rnd[64];
        size_t have = 0;
        int r;

        while (have < CREDENTIAL_LEN) {
                if ((r = kl_random_bytes(rnd, sizeof(rnd))) < 0)
                        goto out;
                for (size_t i = 0; i < sizeof(rnd) && have < CREDENTIAL_LEN; i++) {
                        if (rnd[i] < 62 * 4)
                                out[have++] = (uint8_t)alphabet[rnd[i] % 62];
                }
        }
        r = 0;
out:
        kl_wipe(rnd, sizeof(rnd));
        return r;
}

static bool blob_equal(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
        return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static bool text_equal(const char *a, const char *b)
{
        return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * CVE-2025-13609 class: a known agent ID may not silently change its TPM
 * identity. A previously unset value may be filled in; clearing or changing
 * a set one is refused.
 */
static bool identity_changed(const struct reg_agent *old, const struct reg_agent *new)
{
        if (old->ek_tpm != NULL &&
            !blob_equal(old->ek_tpm, old->ek_tpm_len, new->ek_tpm, new->ek_tpm_len))
                return true;
        if (old->aik_tpm != NULL &&
            !blob_equal(old->aik_tpm, old->aik_tpm_len, new->aik_tpm, new->aik_tpm_len))
                return true;
        if (old->ekcert != NULL &&
            !blob_equal(old->ekcert, old->ekcert_len, new->ekcert, new->ekcert_len))
                return true;
        return false;
}

/* One registration on its way through the steps of reg_api_register. */
struct registration {
        const char *agent_id;    /* lent: from the path, or from req */
        kl_json *req;            /* the parsed body; the strings below are lent from it */
        const char *ekcert_text; /* NULL or "" = none */
        const char *mtls;
        const char *ip;
        struct reg_agent rec; /* what is stored; owns ek_tpm, aik_tpm, ekcert, platform */
        struct kl_tpm_public *ek;
        struct kl_tpm_public *ak;
        X509 *cert; /* the EK certificate, NULL = none */
        STACK_OF(X509) * chain;
        char *key;      /* base64 credential, the activation HMAC key: secret */
        char *blob_b64; /* the MakeCredential blob the agent activates with */
};

static void registration_clear(struct registration *g)
{
        if (g->key != NULL)
                kl_secure_free(g->key, strlen(g->key));
        free(g->blob_b64);
        free(g->rec.ek_tpm);
        free(g->rec.aik_tpm);
        free(g->rec.ekcert);
        free(g->rec.platform);
        kl_x509_free(g->cert);
        kl_x509_chain_free(g->chain);
        kl_tpm_public_free(g->ek);
        kl_tpm_public_free(g->ak);
        kl_json_free(g->req);
}

/* Step 1: the body's fields, each checked and capped; 400 names the first bad one. */
static int parse_fields(struct registration *g, const char *body, size_t len,
                        struct kl_http_reply *reply)
{
        const char *bad = NULL;

        if (kl_rest_parse_body(reply, body, len, &g->req) < 0)
                return -1;
        if (g->agent_id == NULL && kl_json_get_string(g->req, "agent_id", &g->agent_id) < 0)
                bad = "agent_id";
        else if (!kl_agent_id_is_valid(g->agent_id, strlen(g->agent_id))) {
                kl_rest_refuse(reply, 400, "Invalid agent ID");
                return -1;
        } else if (get_binary(g->req, "aik_tpm", &g->rec.aik_tpm, &g->rec.aik_tpm_len) < 0)
                bad = "aik_tpm";
        else if (get_binary(g->req, "ek_tpm", &g->rec.ek_tpm, &g->rec.ek_tpm_len) < 0)
                bad = "ek_tpm";
        else if (get_opt_string(g->req, "ekcert", CERT_TEXT_MAX, &g->ekcert_text) < 0)
                bad = "ekcert";
        else if (get_opt_string(g->req, "mtls_cert", CERT_TEXT_MAX, &g->mtls) < 0 ||
                 (g->mtls != NULL && !mtls_cert_ok(g->mtls)))
                bad = "mtls_cert";
        else if (get_opt_string(g->req, "ip", IP_TEXT_MAX, &g->ip) < 0)
                bad = "ip";
        else if (kl_rest_get_port(g->req, &g->rec.port) < 0)
                bad = "port";
        if (bad != NULL) {
                kl_rest_refuse(reply, 400, "Missing or invalid field '%s'", bad);
                return -1;
        }
        return 0;
}

/* Step 2: both TPM public areas unmarshal completely, and the AK is a genuine AK. */
static int check_tpm_keys(struct reg_api *api, struct registration *g, struct kl_http_reply *reply)
{
        char why[256];

        if (kl_tpm_public_parse(g->rec.ek_tpm, g->rec.ek_tpm_len, &g->ek) < 0) {
                kl_rest_refuse(reply, 400, "Invalid TPM2B_PUBLIC in field 'ek_tpm'");
                return -1;
        }
        if (kl_tpm_public_parse(g->rec.aik_tpm, g->rec.aik_tpm_len, &g->ak) < 0) {
                kl_rest_refuse(reply, 400, "Invalid TPM2B_PUBLIC in field 'aik_tpm'");
                return -1;
        }
        /* beyond upstream, which does not look */
        if (kl_ak_check(g->ak, api->cfg.ak_hash_algs, api->cfg.ak_sign_algs, why, sizeof(why)) <
            0) {
                kl_rest_refuse(reply, 400, "Refused 'aik_tpm' of agent '%s': %s", g->agent_id, why);
                return -1;
        }
        return 0;
}

/*
 * Step 3: the EK certificate certifies the EK that was sent and, by this
 * stub's policy (stricter than upstream's registrar), is required and chains
 * to --ek-ca-dir.
 */
static int check_ek_cert(struct reg_api *api, struct registration *g, struct kl_http_reply *reply)
{
        EVP_PKEY *ek_key = NULL;
        char why[256] = "";
        int r = -1, e;

        if (g->ekcert_text != NULL && g->ekcert_text[0] != '\0') {
                /* a PEM bundle: the EK certificate, then untrusted intermediates; or base64 DER */
                if (strlen(g->ekcert_text) > CERT_TEXT_MAX ||
                    kl_x509_parse_bundle(g->ekcert_text, EKCERT_CHAIN_MAX, &g->cert, &g->chain) <
                        0) {
                        kl_rest_refuse(reply, 400, "Missing or invalid field 'ekcert'");
                        goto out;
                }
                if (kl_tpm_public_to_pkey(g->ek, &ek_key) < 0 ||
                    !kl_x509_matches_key(g->cert, ek_key)) {
                        kl_rest_refuse(reply, 400,
                                       "EK certificate public key does not match 'ek_tpm' for "
                                       "agent '%s'",
                                       g->agent_id);
                        goto out;
                }
                if ((e = kl_x509_to_der(g->cert, &g->rec.ekcert, &g->rec.ekcert_len)) < 0) {
                        kl_rest_reply_internal(reply, e);
                        goto out;
                }
        }
        if (g->cert == NULL && api->cfg.require_ek_cert) {
                kl_rest_refuse(reply, 403, "EK certificate required for agent '%s'", g->agent_id);
                goto out;
        }
        if (g->cert != NULL && api->cfg.ek_ca_dir != NULL &&
            kl_x509_verify_with_ca_dir(g->cert, api->cfg.ek_ca_dir, g->chain, why, sizeof(why)) <
                0) {
                kl_rest_refuse(reply, 403, "EK certificate of agent '%s' is not trusted: %s",
                               g->agent_id, why[0] != '\0' ? why : "verification failed");
                goto out;
        }
        r = 0;
out:
        kl_pkey_free(ek_key);
        return r;
}

/* Step 5, prepared before the store is touched: the MakeCredential challenge. */
static int make_challenge(struct registration *g, struct kl_http_reply *reply)
{
        uint8_t credential[CREDENTIAL_LEN];
        uint8_t ak_name[2 + KL_MAX_DIGEST_LEN];
        size_t ak_name_len = 0, blob_len = 0;
        uint8_t *blob = NULL;
        int r = -1;

        if (kl_tpm_public_name(g->ak, ak_name, &ak_name_len) < 0 ||
            random_credential(credential) < 0 ||
            kl_b64_encode(credential, sizeof(credential), &g->key) < 0 ||
            kl_makecred(g->ek, ak_name, ak_name_len, credential, sizeof(credential), &blob,
                        &blob_len) < 0 ||
            kl_b64_encode(blob, blob_len, &g->blob_b64) < 0)
                kl_rest_refuse(reply, 400, "Could not register agent with invalid data");
        else
                r = 0;
        kl_wipe(credential, sizeof(credential));
        free(blob);
        return r;
}

/*
 * Step 4, then the commit, as one step against racing registrations: a known
 * ID keeps its TPM identity, an active one its pinned mtls_cert, and an
 * active record stays active (its EK, AK and EK certificate stay proven), so
 * a re-registration followed by a wrong auth tag cannot delete it.
 */
static int commit(struct reg_api *api, struct registration *g, struct kl_http_reply *reply)
{
        struct reg_agent *old = NULL;
        int r;

        pthread_mutex_lock(&api->lock);
        r = reg_store_get(api->store, g->agent_id, &old);
        if (r < 0 && r != KL_ERR_NOT_FOUND) {
                kl_rest_reply_internal(reply, r);
                goto out;
        }
        r = KL_ERR_EXISTS;
        if (old != NULL && identity_changed(old, &g->rec)) {
                kl_rest_refuse(reply, 403,
                               "Agent re-registration with different TPM identity is forbidden for "
                               "security reasons (agent '%s')",
                               g->agent_id);
                goto out;
        }
        if (old != NULL && old->active && !text_equal(old->mtls_cert, g->mtls)) {
                /* the verifier pins this certificate: only an administrator may re-point it */
                kl_rest_refuse(reply, 403,
                               "Agent '%s' is active; its mtls_cert changes only after it is "
                               "deleted through the registrar's mTLS listener",
                               g->agent_id);
                goto out;
        }
        g->rec.agent_id = (char *)(uintptr_t)g->agent_id;
        g->rec.mtls_cert = (char *)(uintptr_t)g->mtls;
        g->rec.ip = (char *)(uintptr_t)g->ip;
        g->rec.key = g->key;
        g->rec.active = old != NULL && old->active;
        g->rec.regcount = old != NULL ? old->regcount + 1 : 1;
        if ((r = reg_store_put(api->store, &g->rec)) < 0)
                kl_rest_reply_internal(reply, r);
out:
        pthread_mutex_unlock(&api->lock);
        reg_agent_free(old);
        return r;
}

void reg_api_register(struct reg_api *api, const char *agent_id, const char *body, size_t len,
                      struct kl_http_reply *reply)
{
        struct registration g = {.agent_id = agent_id};
        kl_json *results = NULL;

        if (parse_fields(&g, body, len, reply) < 0 || check_tpm_keys(api, &g, reply) < 0 ||
            check_ek_cert(api, &g, reply) < 0 ||
            /* the platform certificate must name that EK certificate (platform.h) */
            reg_platform_check(&api->cfg, g.req, g.agent_id, g.cert, &g.rec.platform, reply) < 0 ||
            make_challenge(&g, reply) < 0 || commit(api, &g, reply) < 0)
                goto out;
        if ((results = kl_json_object()) == NULL ||
            kl_json_set_string(results, "blob", g.blob_b64) < 0) {
                kl_json_free(results);
                kl_rest_reply_internal(reply, KL_ERR_NOMEM);
                goto out;
        }
        log_info("registered agent '%.80s' (regcount %lld%s)", g.agent_id,
                 (long long)g.rec.regcount, g.cert != NULL ? ", EK certificate checked" : "");
        kl_http_reply_json(reply, 200, "Success", results);
out:
        registration_clear(&g);
}

void reg_api_activate(struct reg_api *api, const char *agent_id, const char *body, size_t len,
                      struct kl_http_reply *reply)
{
        kl_json *req = NULL;
        struct reg_agent *a = NULL;
        const char *tag = NULL;
        char expected[KL_HMAC_SHA384_HEX_LEN + 1];
        bool locked = false;
        int r;

        expected[0] = '\0';
        if (!kl_agent_id_is_valid(agent_id, strlen(agent_id))) {
                kl_rest_refuse(reply, 400, "Invalid agent ID");
                goto out;
        }
        if (kl_rest_parse_body(reply, body, len, &req) < 0)
                goto out;
        if (kl_json_get_string(req, "auth_tag", &tag) < 0 || strlen(tag) > AUTH_TAG_TEXT_MAX) {
                kl_rest_refuse(reply, 400, "Missing or invalid field 'auth_tag'");
                goto out;
        }
        pthread_mutex_lock(&api->lock);
        locked = true;
        if ((r = reg_store_get(api->store, agent_id, &a)) < 0) {
                kl_rest_reply_agent_error(reply, r, agent_id);
                goto out;
        }
        /* The HMAC key is the base64 text of the credential, as Keylime does. */
        if (a->key == NULL ||
            kl_hmac_sha384_hex((const uint8_t *)a->key, strlen(a->key), (const uint8_t *)agent_id,
                               strlen(agent_id), expected) < 0 ||
            !kl_mem_equal_ct(tag, strlen(tag), expected, KL_HMAC_SHA384_HEX_LEN)) {
                if (a->active) {
                        /* Proven once already: a wrong tag from anyone must not undo that. */
                        kl_rest_refuse(reply, 400,
                                       "Auth tag for agent '%s' does not match expected value; "
                                       "the agent stays active",
                                       agent_id);
                        goto out;
                }
                /* As upstream: a wrong tag removes an inactive record; register anew. */
                r = reg_store_delete(api->store, agent_id);
                if (r < 0 && r != KL_ERR_NOT_FOUND) {
                        kl_rest_reply_internal(reply, r);
                        goto out;
                }
                kl_rest_refuse(
                    reply, 400,
                    "Auth tag for agent '%s' does not match expected value. The agent has "
                    "been deleted from the database and will need to be restarted to "
                    "reattempt registration",
                    agent_id);
                goto out;
        }
        if ((r = reg_store_set_active(api->store, agent_id, true)) < 0) {
                kl_rest_reply_internal(reply, r);
                goto out;
        }
        log_info("activated agent '%.80s'", agent_id);
        kl_http_reply_json(reply, 200, "Success", NULL);
out:
        if (locked)
                pthread_mutex_unlock(&api->lock);
        kl_wipe(expected, sizeof(expected));
        reg_agent_free(a);
        kl_json_free(req);
}

static void handle_list(struct reg_api *api, struct kl_http_reply *reply)
{
        char **ids = NULL;
        size_t n = 0;
        int r = reg_store_list(api->store, &ids, &n);

        kl_rest_reply_ids(reply, r, ids, n);
        kl_db_strv_free(ids, n);
}

/* base64 of p, or null when there is none. */
static int add_b64(kl_json *res, const char *key, const uint8_t *p, size_t len)
{
        return p != NULL ? kl_json_add_b64(res, key, p, len) : kl_json_set_null(res, key);
}

static void handle_show(struct reg_api *api, const char *agent_id, struct kl_http_reply *reply)
{
        kl_json *res = NULL;
        struct reg_agent *a = NULL;
        int r = reg_store_get(api->store, agent_id, &a);

        if (r < 0) {
                kl_rest_reply_agent_error(reply, r, agent_id);
                goto out;
        }
        if (!a->active) {
                kl_rest_refuse(reply, 404, "Agent with ID '%s' has not been activated", agent_id);
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((res = kl_json_object()) == NULL || kl_rest_add_str(res, "agent_id", a->agent_id) ||
            add_b64(res, "ek_tpm", a->ek_tpm, a->ek_tpm_len) ||
            add_b64(res, "ekcert", a->ekcert, a->ekcert_len) ||
            add_b64(res, "aik_tpm", a->aik_tpm, a->aik_tpm_len) ||
            kl_rest_add_str(res, "mtls_cert", a->mtls_cert) || kl_rest_add_str(res, "ip", a->ip) ||
            (a->port >= 0 ? kl_json_set_int(res, "port", a->port)
                          : kl_json_set_null(res, "port")) ||
            kl_json_set_int(res, "regcount", a->regcount) || reg_platform_show(res, a->platform)) {
                kl_rest_reply_internal(reply, r);
                goto out;
        }
        kl_http_reply_json(reply, 200, "Success", res);
        res = NULL;
out:
        kl_json_free(res);
        reg_agent_free(a);
}

static void handle_delete(struct reg_api *api, const char *agent_id, struct kl_http_reply *reply)
{
        int r;

        pthread_mutex_lock(&api->lock);
        r = reg_store_delete(api->store, agent_id);
        pthread_mutex_unlock(&api->lock);
        kl_rest_reply_deleted(reply, r, agent_id);
}

/* Upstream answers a tenant/verifier route on the agents' HTTP port with 400. */
static bool need_mtls(bool authenticated, struct kl_http_reply *reply)
{
        if (!authenticated)
                kl_rest_refuse(reply, 400,
                               "HTTPS required: listing, showing and deleting agents is served "
                               "on the registrar's mTLS listener only");
        return !authenticated;
}

static void route(struct reg_api *api, bool authenticated, const struct kl_http_request *req,
                  struct kl_http_reply *reply)
{
        const char *method = kl_http_request_method(req);
        struct kl_rest_path p;
        const char *body;
        char id[KL_REST_AGENT_ID_MAX + 1];
        size_t blen = 0;
        bool is_get = strcmp(method, "GET") == 0;
        bool is_post = strcmp(method, "POST") == 0;
        bool is_put = strcmp(method, "PUT") == 0;
        bool is_delete = strcmp(method, "DELETE") == 0;

        body = kl_http_request_body(req, &blen);
        kl_rest_path_parse(kl_http_request_path(req), &p);
        if (kl_rest_reply_common(reply, &p, method, REG_API_CURRENT_VERSION))
                return;
        if (p.route == KL_REST_ROUTE_BAD_VERSION) {
                kl_rest_refuse(reply, 400, "API version '%.*s' not supported",
                               p.version_len > 16 ? 16 : (int)p.version_len, p.version);
                return;
        }
        if (p.route == KL_REST_ROUTE_AGENTS) {
                if (is_get && !need_mtls(authenticated, reply))
                        handle_list(api, reply);
                else if (is_post)
                        reg_api_register(api, NULL, body, blen, reply);
                else if (!is_get)
                        kl_rest_reply_method_not_allowed(reply);
                return;
        }
        if (p.tail[0] != '\0' && strcmp(p.tail, "/activate") != 0) {
                kl_rest_reply_not_found(reply);
                return;
        }
        if (!kl_rest_agent_id_copy(p.id, p.id_len, id)) {
                kl_rest_refuse(reply, 400, "Invalid agent ID");
                return;
        }
        if (p.tail[0] != '\0') {
                if (is_put || is_post)
                        reg_api_activate(api, id, body, blen, reply);
                else
                        kl_rest_reply_method_not_allowed(reply);
                return;
        }
        if ((is_get || is_delete) && need_mtls(authenticated, reply))
                return;
        if (is_get)
                handle_show(api, id, reply);
        else if (is_post)
                reg_api_register(api, id, body, blen, reply);
        else if (is_put)
                reg_api_activate(api, id, body, blen, reply);
        else if (is_delete)
                handle_delete(api, id, reply);
        else
                kl_rest_reply_method_not_allowed(reply);
}

void reg_api_handle_agents(void *ctx, const struct kl_http_request *req,
                           struct kl_http_reply *reply)
{
        route(ctx, false, req, reply);
}

void reg_api_handle_mtls(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        route(ctx, true, req, reply);
}
