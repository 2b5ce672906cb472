/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Routing of the agent API. The error texts match the upstream agent's: the
 * verifier re-negotiates only when a 400's status contains "API version not
 * supported", and operators grep for the others.
 */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "revocation.h"
#include "tls_key.h"

#define TRUSTED_CA_MAX (1u << 20)
#define PEM_FILE_MAX   (64u * 1024)

void api_error(struct kl_http_reply *reply, int code, const char *fmt, ...)
{
        char status[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(status, sizeof(status), fmt, ap);
        va_end(ap);
        kl_http_reply_json(reply, code, status, NULL);
}

bool api_sized_alg_names(const struct api_call *c)
{
        return c->minor >= 5;
}

struct route {
        const char *method;
        const char *name;
        api_handler handler;
        unsigned min_minor; /* first 2.x that serves it */
};

/* A resource ("/keys") and the answers upstream gives for unknown sub-paths. */
struct resource {
        const char *name;
        unsigned min_minor;
        const struct route *routes;
        size_t n_routes;
        const char *get_unknown;  /* 400 text for an unknown GET sub-path, or NULL */
        const char *post_unknown; /* 400 text for an unknown POST sub-path, or NULL */
        const char *allow;        /* Allow header for other methods */
};

static const struct route keys_routes[] = {
    {"GET", "pubkey", api_keys_pubkey, 1},
    {"GET", "verify", api_keys_verify, 1},
    {"POST", "ukey", api_keys_ukey, 1},
    {"POST", "vkey", api_keys_vkey, 1},
    {"POST", "sealed", api_keys_sealed, 1}, /* our extension: agent-api.md "Sealed objects" */
    /* our extension: agent-api.md "Certified keys" */
    {"POST", "certify", api_keys_certify, 1},
    {"POST", "certificate", api_keys_certificate, 1},
    {"POST", "prove", api_keys_prove, 1},
};
static const struct route quotes_routes[] = {
    {"GET", "identity", api_quotes_identity, 1},
    {"GET", "integrity", api_quotes_integrity, 1},
};
static const struct route notifications_routes[] = {
    {"POST", "revocation", api_notifications_revocation, 1},
};
static const struct route agent_routes[] = {
    {"GET", "info", api_agent_info, 2},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct resource resources[] = {
    {"keys", 1, keys_routes, N(keys_routes),
     "URI not supported, only /pubkey and /verify are supported for GET in /keys interface",
     "URI not supported, only /ukey and /vkey are supported for POST in /keys interface",
     "GET, POST"},
    {"quotes", 1, quotes_routes, N(quotes_routes),
     "URI not supported, only /identity and /integrity are supported for GET in /quotes/ "
     "interface",
     NULL, "GET"},
    {"notifications", 1, notifications_routes, N(notifications_routes), NULL,
     "URI not supported, only /revocation is supported for POST in /notifications/ "
     "interface",
     "POST"},
    {"agent", 2, agent_routes, N(agent_routes),
     "URI not supported, only /info is supported for GET in /agent interface", NULL, "GET"},
};

/* A routing error: status code, status text, Allow header. */
static void route_error(struct api_route *rt, int code, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void route_error(struct api_route *rt, int code, const char *allow, const char *fmt, ...)
{
        va_list ap;

        rt->handler = NULL;
        rt->code = code;
        rt->allow = allow;
        va_start(ap, fmt);
        vsnprintf(rt->error, sizeof(rt->error), fmt, ap);
        va_end(ap);
}

static void method_not_supported(struct api_route *rt, const char *allow)
{
        route_error(rt, 405, allow, "Method is not supported");
}

/* "v2.6" (the first path segment, seg_len bytes) → the enabled version string, or NULL. */
static const char *match_version(const char *const *versions, size_t n, const char *seg,
                                 size_t seg_len, unsigned *ret_minor)
{
        for (size_t i = 0; i < n; i++) {
                const char *v = versions[i];

                if (strlen(v) == seg_len - 1 && memcmp(seg + 1, v, seg_len - 1) == 0) {
                        *ret_minor = (unsigned)strtoul(v + 2, NULL, 10);
                        return v;
                }
        }
        return NULL;
}

/* True for a "v<digits>.<digits>" segment (a version we may not serve). */
static bool looks_like_version(const char *seg, size_t len)
{
        size_t digits = 0;
        bool dot = false;

        if (len < 4 || seg[0] != 'v')
                return false;
        for (size_t i = 1; i < len; i++) {
                if (seg[i] == '.' && !dot && digits > 0) {
                        dot = true;
                        digits = 0;
                } else if (seg[i] >= '0' && seg[i] <= '9') {
                        digits++;
                } else {
                        return false;
                }
        }
        return dot && digits > 0;
}

static void unknown_top_level(const char *const *versions, size_t n, const char *method,
                              struct api_route *rt)
{
        char list[256] = "";
        size_t off = 0;

        if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
                method_not_supported(rt, "GET, POST");
                return;
        }
        for (size_t i = 0; i < n; i++) {
                int w = snprintf(list + off, sizeof(list) - off, "/v%s, ", versions[i]);

                if (w < 0 || (size_t)w >= sizeof(list) - off)
                        break;
                off += (size_t)w;
        }
        route_error(rt, 400, NULL, "Not Implemented: Use %.*sor /version interfaces", (int)off,
                    list);
}

static void resolve_scoped(const char *method, const char *rest, struct api_route *rt)
{
        const struct resource *res = NULL;
        const char *slash;
        size_t res_len;

        if (*rest == '/')
                rest++;
        slash = strchr(rest, '/');
        res_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
        for (size_t i = 0; i < N(resources); i++) {
                if (strlen(resources[i].name) == res_len &&
                    memcmp(resources[i].name, rest, res_len) == 0 &&
                    rt->minor >= resources[i].min_minor)
                        res = &resources[i];
        }
        if (res == NULL) {
                if (strcmp(method, "GET") == 0)
                        route_error(rt, 400, NULL,
                                    "Not Implemented: Use /agent, /keys, or /quotes interfaces");
                else if (strcmp(method, "POST") == 0)
                        route_error(rt, 400, NULL,
                                    "Not Implemented: Use /keys or /notifications interfaces");
                else
                        method_not_supported(rt, "GET, POST");
                return;
        }
        rest = slash != NULL ? slash + 1 : "";
        for (size_t i = 0; i < res->n_routes; i++) {
                const struct route *r = &res->routes[i];

                if (strcmp(r->method, method) == 0 && strcmp(r->name, rest) == 0 &&
                    rt->minor >= r->min_minor) {
                        rt->handler = r->handler;
                        return;
                }
        }
        if (strcmp(method, "GET") == 0 && res->get_unknown != NULL)
                route_error(rt, 400, NULL, "%s", res->get_unknown);
        else if (strcmp(method, "POST") == 0 && res->post_unknown != NULL)
                route_error(rt, 400, NULL, "%s", res->post_unknown);
        else
                method_not_supported(rt, res->allow);
}

void api_route_resolve(const char *const *versions, size_t n_versions, const char *method,
                       const char *path, struct api_route *rt)
{
        size_t seg_len;

        memset(rt, 0, sizeof(*rt));
        if (strcmp(path, "/version") == 0) {
                if (strcmp(method, "GET") == 0)
                        rt->is_version = true;
                else
                        method_not_supported(rt, "GET");
                return;
        }
        seg_len = path[0] == '/' ? strcspn(path + 1, "/") : 0;
        if (seg_len > 0 && looks_like_version(path + 1, seg_len)) {
                rt->version = match_version(versions, n_versions, path + 1, seg_len, &rt->minor);
                if (rt->version == NULL)
                        route_error(rt, 400, NULL, "API version not supported: %.*s",
                                    (int)(seg_len > 16 ? 16 : seg_len), path + 1);
                else
                        resolve_scoped(method, path + 1 + seg_len, rt);
                return;
        }
        unknown_top_level(versions, n_versions, method, rt);
}

static void api_version(struct agent *a, struct kl_http_reply *reply)
{
        kl_json *results = kl_json_object();
        kl_json *list = kl_json_array();
        int r = kl_json_set_string(results, "supported_version", a->versions[a->n_versions - 1]);

        for (size_t i = 0; r == 0 && i < a->n_versions; i++)
                r = kl_json_append_string(list, a->versions[i]);
        /* kl_json_set takes list also when it fails */
        if (kl_json_set(results, "supported_versions", list) < 0 || r < 0) {
                kl_json_free(results);
                api_error(reply, 500, "Out of memory");
                return;
        }
        kl_http_reply_json(reply, 200, "Success", results);
}

static void route(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct agent *a = ctx;
        const char *method = kl_http_request_method(req);
        struct api_route rt;
        struct api_call call;

        log_debug("%s %.200s", method, kl_http_request_path(req));
        api_route_resolve(a->versions, a->n_versions, method, kl_http_request_path(req), &rt);
        if (rt.is_version) {
                api_version(a, reply);
        } else if (rt.handler != NULL) {
                call = (struct api_call){
                    .agent = a, .req = req, .version = rt.version, .minor = rt.minor};
                rt.handler(&call, reply);
        } else {
                kl_http_reply_json(reply, rt.code, rt.error, NULL);
                reply->allow = rt.allow;
        }
}

/* Concatenates the trusted_client_ca files (a Keylime list; relative to keylime_dir). */
static int load_client_cas(const struct kl_agent_config *cfg, char **ret_pem)
{
        char **items = NULL;
        size_t n = 0, len = 0;
        char *all = NULL;
        int r;

        if ((r = kl_config_parse_list(cfg->trusted_client_ca, &items, &n)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                char path[4096];
                char *pem = NULL, *grown;
                size_t pem_len = 0;
                int w;

                if (strcmp(items[i], "default") == 0)
                        w = snprintf(path, sizeof(path), "%s/cv_ca/cacert.crt", cfg->keylime_dir);
                else if (items[i][0] == '/')
                        w = snprintf(path, sizeof(path), "%s", items[i]);
                else
                        w = snprintf(path, sizeof(path), "%s/%s", cfg->keylime_dir, items[i]);
                if (w < 0 || (size_t)w >= sizeof(path))
                        continue;
                if ((r = kl_file_read(path, PEM_FILE_MAX, &pem, &pem_len)) < 0) {
                        log_warn("ignoring trusted_client_ca entry %s: %s", path, kl_err_str(r));
                        continue;
                }
                if (len + pem_len + 2 > TRUSTED_CA_MAX ||
                    (grown = realloc(all, len + pem_len + 2)) == NULL) {
                        free(pem);
                        continue;
                }
                all = grown;
                memcpy(all + len, pem, pem_len);
                len += pem_len;
                all[len++] = '\n';
                all[len] = '\0';
                free(pem);
        }
        kl_strv_free(items);
        if (all == NULL)
                return KL_ERR_NOT_FOUND;
        *ret_pem = all;
        return 0;
}

int api_start(struct agent *a, struct kl_http_server **ret)
{
        const struct kl_agent_config *cfg = a->cfg;
        struct kl_http_server_options o = {
            .host = cfg->ip,
            .port = cfg->port,
            .max_body = 4u << 20,        /* a 1 MiB payload arrives base64-encoded in JSON */
            .max_body_total = 16u << 20, /* all bodies in flight: four whole payloads */
            .connection_limit = 1000,
            /* one host holding sockets open must not lock the verifier out (CVE-2023-38200) */
            .per_ip_limit = 32,
            .timeout_s = 10, /* idle or slow clients are dropped, not waited for */
            .threads = 2,
        };
        EVP_PKEY *pkey = NULL;
        char *cert = NULL, *key = NULL, *cas = NULL;
        size_t len;
        int r;

        if (cfg->enable_agent_mtls && a->tls_key != NULL) {
                tls_key_signer(a, &a->tls_signer);
                o.tls_signer = &a->tls_signer;
                o.tls_cert_pem = a->tls_key->cert_pem;
        } else if (cfg->enable_agent_mtls) {
                /* GnuTLS gets the key unencrypted: server_key_password is OpenSSL's job. */
                if ((r = kl_file_read(cfg->server_cert, PEM_FILE_MAX, &cert, &len)) < 0 ||
                    (r = kl_key_load_pem(cfg->server_key, cfg->server_key_password, &pkey)) < 0 ||
                    (r = kl_key_to_pem(pkey, &key)) < 0) {
                        log_error("cannot load the TLS certificate/key: %s", kl_err_str(r));
                        goto out;
                }
                o.tls_cert_pem = cert;
                o.tls_key_pem = key;
        }
        if (cfg->enable_agent_mtls) {
                if ((r = load_client_cas(cfg, &cas)) < 0) {
                        log_error("no usable trusted_client_ca ('%s'): mTLS needs the CA that "
                                  "issues the verifier's and tenant's client certificates",
                                  cfg->trusted_client_ca);
                        r = KL_ERR_CONFIG;
                        goto out;
                }
                o.tls_client_ca_pem = cas;
        }
        if ((r = kl_http_server_start(&o, route, a, ret)) < 0) {
                log_error("cannot listen on %s:%u: %s", cfg->ip, (unsigned)cfg->port,
                          kl_err_str(r));
                goto out;
        }
        log_info("serving the agent API (v%s..v%s) on %s:%u over %s", a->versions[0],
                 a->versions[a->n_versions - 1], cfg->ip, (unsigned)kl_http_server_port(*ret),
                 cfg->enable_agent_mtls ? "HTTPS with client certificates" : "plain HTTP");
out:
        kl_pkey_free(pkey);
        free(cert);
        if (key != NULL)
                kl_secure_free(key, strlen(key));
        free(cas);
        return r;
}
