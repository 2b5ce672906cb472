/* SPDX-License-Identifier: Apache-2.0 */
/* Registrar client: register and activate (see registration.h). */
#include "registration.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "http_client.h"
#include "http_retry.h"
#include "json.h"
#include "log.h"
#include "notify.h"

#define REQUEST_TIMEOUT_MS 30000L
#define URL_MAX            512

static const char *const supported_versions[] = {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6"};
#define N_SUPPORTED (sizeof(supported_versions) / sizeof(supported_versions[0]))

int registration_enabled_versions(const char *api_versions, const char **out, size_t max,
                                  size_t *ret_n)
{
        char **items = NULL;
        size_t n_items = 0, n = 0;
        int r;

        if (max < N_SUPPORTED)
                return KL_ERR_INVAL;
        if (strcmp(api_versions, "latest") == 0) {
                out[0] = supported_versions[N_SUPPORTED - 1];
                *ret_n = 1;
                return 0;
        }
        if (strcmp(api_versions, "default") != 0) {
                if ((r = kl_config_parse_list(api_versions, &items, &n_items)) < 0)
                        return r;
                for (size_t i = 0; i < N_SUPPORTED; i++) {
                        for (size_t j = 0; j < n_items; j++) {
                                if (strcmp(items[j], supported_versions[i]) == 0) {
                                        out[n++] = supported_versions[i];
                                        break;
                                }
                        }
                }
                kl_strv_free(items);
        }
        if (n == 0) { /* as upstream: nothing usable left means all */
                for (size_t i = 0; i < N_SUPPORTED; i++)
                        out[n++] = supported_versions[i];
        }
        *ret_n = n;
        return 0;
}

/*
 * The signalfd of SIGINT/SIGTERM while registration_run runs (it runs before
 * any thread exists), so a stop request ends the back-off at once and the
 * caller still flushes its TPM objects.
 */
static int cancel_fd = -1;

static int format_url(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int format_url(char *out, size_t len, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(out, len, fmt, ap);
        va_end(ap);
        return n < 0 || (size_t)n >= len ? KL_ERR_TOO_LONG : 0;
}

/* One registrar request under upstream's retry policy (http_retry.h). */
static int request_with_retry(const struct kl_agent_config *cfg, const char *method,
                              const char *url, const char *body, struct kl_http_response *ret)
{
        const struct http_retry rt = {.cfg = cfg, .stop_fd = cancel_fd, .peer = "registrar"};

        return http_retry_request(&rt, method, url, body, NULL, NULL, REQUEST_TIMEOUT_MS, ret);
}

/* The "status" text of a Keylime envelope, for error messages (capped when logged). */
static const char *reply_status(const kl_json *env)
{
        const char *s = NULL;

        return env != NULL && kl_json_get_string(env, "status", &s) == 0 ? s : "(no status)";
}

static int base_url(const struct kl_agent_config *cfg, char *out, size_t len)
{
        bool v6 = strchr(cfg->registrar_ip, ':') != NULL;

        return format_url(out, len, "http://%s%s%s:%u", v6 ? "[" : "", cfg->registrar_ip,
                          v6 ? "]" : "", (unsigned)cfg->registrar_port);
}

static bool list_has(const char **list, size_t n, const char *v)
{
        for (size_t i = 0; i < n; i++) {
                if (strcmp(list[i], v) == 0)
                        return true;
        }
        return false;
}

int registration_pick_version(const char *body, size_t len, const char **enabled, size_t n_enabled,
                              const char **ret)
{
        kl_json *env = NULL, *results = NULL, *list = NULL;
        const char *current = NULL;
        int r = KL_ERR_INVAL;

        *ret = NULL;
        if (kl_json_parse_object(body, len, &env) < 0 ||
            kl_json_get_object(env, "results", &results) < 0)
                goto out;
        if (kl_json_get_string(results, "current_version", &current) == 0) {
                for (size_t i = 0; i < n_enabled; i++) {
                        if (strcmp(enabled[i], current) == 0)
                                *ret = enabled[i];
                }
        }
        if (*ret == NULL && kl_json_get_array(results, "supported_versions", &list) == 0) {
                const char *theirs[64];
                size_t n = 0;

                for (size_t i = 0; i < kl_json_length(list) && n < 64; i++) {
                        const char *v = kl_json_string_value(kl_json_at(list, i));

                        if (v != NULL)
                                theirs[n++] = v;
                }
                for (size_t i = n_enabled; i-- > 0;) {
                        if (list_has(theirs, n, enabled[i])) {
                                *ret = enabled[i];
                                break;
                        }
                }
                if (*ret == NULL) {
                        r = KL_ERR_UNSUPPORTED;
                        goto out;
                }
        }
        r = 0;
out:
        kl_json_free(env);
        return r;
}

/*
 * Picks the registrar API version as upstream does (registration_pick_version).
 * Leaves *ret NULL when the registrar has no /version (older than API 2.3).
 */
static int negotiate_version(const struct kl_agent_config *cfg, const char *base,
                             const char **enabled, size_t n_enabled, const char **ret)
{
        struct kl_http_response resp = {0};
        char url[URL_MAX];
        int r;

        *ret = NULL;
        if ((r = format_url(url, sizeof(url), "%s/version", base)) < 0)
                return r;
        if ((r = request_with_retry(cfg, "GET", url, NULL, &resp)) < 0) {
                log_error("registrar at %s not reachable: %s", base, kl_err_str(r));
                return r;
        }
        r = resp.status == 200
                ? registration_pick_version(resp.body, resp.body_len, enabled, n_enabled, ret)
                : KL_ERR_INVAL;
        if (r == KL_ERR_UNSUPPORTED) {
                log_error("registrar supports none of the agent's API versions");
        } else if (r < 0) {
                log_info("registrar has no usable /version (HTTP %ld); will probe versions",
                         resp.status);
                r = 0;
        }
        kl_http_response_clear(&resp);
        return r;
}

static kl_json *registration_body(const struct kl_agent_config *cfg,
                                  const struct agent_identity *id, const char *mtls_cert_pem)
{
        kl_json *body = kl_json_object();

        /* Field order and nulls as the Rust agent sends them. */
        if (kl_json_add_b64(body, "aik_tpm", id->ak_public, id->ak_public_len) < 0 ||
            kl_json_add_b64(body, "ek_tpm", id->ek_public, id->ek_public_len) < 0 ||
            (id->ek_cert_pem != NULL ? kl_json_set_string(body, "ekcert", id->ek_cert_pem)
                                     : kl_json_set_null(body, "ekcert")) < 0 ||
            kl_json_set_null(body, "iak_cert") < 0 || kl_json_set_null(body, "idevid_cert") < 0 ||
            kl_json_set_string(body, "ip", cfg->contact_ip) < 0 ||
            kl_json_set_string(body, "mtls_cert",
                               mtls_cert_pem != NULL ? mtls_cert_pem : "disabled") < 0 ||
            kl_json_set_int(body, "port", cfg->contact_port) < 0 ||
            /* Beyond upstream, which ignores fields it does not know; only when there is one. */
            (id->platform_cert != NULL && kl_json_add_b64(body, "platform_cert", id->platform_cert,
                                                          id->platform_cert_len) < 0)) {
                kl_json_free(body);
                return NULL;
        }
        return body;
}

/*
 * POSTs the identity; on 200 returns the decoded challenge blob. A 403 (the
 * ID belongs to another TPM) is KL_ERR_EXISTS, other refusals KL_ERR_HTTP_STATUS.
 */
int registration_parse_challenge(const char *body, size_t len, uint8_t **ret_blob, size_t *ret_len)
{
        kl_json *env = NULL, *results = NULL;
        const char *blob = NULL;
        int r = KL_ERR_INVAL;

        if (kl_json_parse_object(body, len, &env) == 0 &&
            kl_json_get_object(env, "results", &results) == 0 &&
            kl_json_get_string(results, "blob", &blob) == 0 &&
            kl_b64_decode(blob, strlen(blob), ret_blob, ret_len) == 0)
                r = 0;
        kl_json_free(env);
        return r;
}

static int post_registration(const struct kl_agent_config *cfg, const char *base,
                             const char *version, const struct agent_identity *id, const char *body,
                             uint8_t **ret_blob, size_t *ret_len)
{
        struct kl_http_response resp = {0};
        kl_json *env = NULL;
        char url[URL_MAX];
        int r;

        if ((r = format_url(url, sizeof(url), "%s/v%s/agents/%s", base, version, id->agent_id)) < 0)
                goto out;
        if ((r = request_with_retry(cfg, "POST", url, body, &resp)) < 0) {
                log_error("registration at %s failed: %s", url, kl_err_str(r));
                goto out;
        }
        (void)kl_json_parse_object(resp.body, resp.body_len, &env);
        if (resp.status == 403) {
                log_error("the registrar refused agent %s (403: %.200s); it will not accept "
                          "this TPM identity under this ID (if the ID was registered by another "
                          "TPM, delete it at the registrar or configure another uuid)",
                          id->agent_id, reply_status(env));
                r = KL_ERR_EXISTS;
                goto out;
        }
        if (resp.status != 200) {
                log_error("registration of %s failed: HTTP %ld: %.200s", id->agent_id, resp.status,
                          reply_status(env));
                r = KL_ERR_HTTP_STATUS;
                goto out;
        }
        if (registration_parse_challenge(resp.body, resp.body_len, ret_blob, ret_len) < 0) {
                log_error("registrar answered without a valid challenge blob");
                r = KL_ERR_INVAL;
                goto out;
        }
        r = 0;
out:
        kl_json_free(env);
        kl_http_response_clear(&resp);
        return r;
}

/* ActivateCredential, then PUT hex(HMAC-SHA-384(base64(credential), agent ID)). */
static int activate(struct kl_tpm *tpm, const struct kl_agent_config *cfg, const char *base,
                    const char *version, const struct agent_identity *id, const uint8_t *blob,
                    size_t blob_len)
{
        struct kl_http_response resp = {0};
        kl_json *env = NULL;
        uint8_t *secret = NULL;
        size_t secret_len = 0;
        char *mac_key = NULL;
        char tag[KL_HMAC_SHA384_HEX_LEN + 1];
        char body[KL_HMAC_SHA384_HEX_LEN + 32];
        char url[URL_MAX];
        int r;

        if ((r = kl_tpm_activate_credential(tpm, blob, blob_len, &secret, &secret_len)) < 0) {
                log_error("TPM2_ActivateCredential failed: %s", kl_err_str(r));
                goto out;
        }
        /* Upstream keys the HMAC with the base64 text of the credential, not its bytes. */
        if ((r = kl_b64_encode(secret, secret_len, &mac_key)) < 0 ||
            (r = kl_hmac_sha384_hex((const uint8_t *)mac_key, strlen(mac_key),
                                    (const uint8_t *)id->agent_id, strlen(id->agent_id), tag)) < 0)
                goto out;
        snprintf(body, sizeof(body), "{\"auth_tag\":\"%s\"}", tag);
        if ((r = format_url(url, sizeof(url), "%s/v%s/agents/%s", base, version, id->agent_id)) < 0)
                goto out;
        if ((r = request_with_retry(cfg, "PUT", url, body, &resp)) < 0) {
                log_error("activation at %s failed: %s", url, kl_err_str(r));
                goto out;
        }
        if (resp.status != 200) {
                (void)kl_json_parse_object(resp.body, resp.body_len, &env);
                log_error("activation of %s refused: HTTP %ld: %.200s", id->agent_id, resp.status,
                          reply_status(env));
                r = KL_ERR_HTTP_STATUS;
                goto out;
        }
        r = 0;
out:
        kl_json_free(env);
        kl_http_response_clear(&resp);
        kl_wipe(tag, sizeof(tag));
        kl_wipe(body, sizeof(body));
        if (mac_key != NULL)
                kl_secure_free(mac_key, strlen(mac_key));
        kl_secure_free(secret, secret_len);
        return r;
}

int registration_run(struct kl_tpm *tpm, const struct kl_agent_config *cfg,
                     const struct agent_identity *id, const char *mtls_cert_pem, int stop_fd)
{
        const char *enabled[N_SUPPORTED], *version = NULL;
        kl_json *body_obj = NULL;
        uint8_t *blob = NULL;
        size_t n_enabled = 0, blob_len = 0;
        char *body = NULL;
        char base[URL_MAX];
        int r;

        cancel_fd = stop_fd;
        if ((r = base_url(cfg, base, sizeof(base))) < 0 ||
            (r = registration_enabled_versions(cfg->api_versions, enabled, N_SUPPORTED,
                                               &n_enabled)) < 0)
                goto out;
        if ((body_obj = registration_body(cfg, id, mtls_cert_pem)) == NULL ||
            (body = kl_json_to_string(body_obj)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        kl_notify_status("registering with the registrar at %s", base);
        if ((r = negotiate_version(cfg, base, enabled, n_enabled, &version)) < 0)
                goto out;
        if (version != NULL) {
                r = post_registration(cfg, base, version, id, body, &blob, &blob_len);
        } else {
                /* No /version: try newest to oldest; a 403 is final. */
                for (size_t i = n_enabled; i-- > 0;) {
                        version = enabled[i];
                        r = post_registration(cfg, base, version, id, body, &blob, &blob_len);
                        if (r != KL_ERR_HTTP_STATUS)
                                break;
                }
        }
        if (r < 0)
                goto out;
        log_info("registered agent %s with the registrar (API %s); activating", id->agent_id,
                 version);
        kl_notify_status("registered with %s (API %s); activating the AK", base, version);
        if ((r = activate(tpm, cfg, base, version, id, blob, blob_len)) < 0)
                goto out;
        log_info("agent %s activated at the registrar", id->agent_id);
out:
        cancel_fd = -1;
        free(blob);
        free(body);
        kl_json_free(body_obj);
        return r;
}
