/* SPDX-License-Identifier: Apache-2.0 */
/*
 * add/status/delete against a running verifier stub (see client.h). The add
 * request is built with the same parser the server uses for --pcr strings,
 * so a bad policy is refused here with the same reason, before any request.
 */
#include "client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "http_client.h"
#include "json.h"
#include "tenant_role.h"
#include "uuid.h"
#include "verify.h"

#define TIMEOUT_MS      30000L
#define POLICY_FILE_MAX (64u << 20)
#define TENANT_VERIFY_S 60 /* the verifier releases V after its first good quote */

struct kl_http_tls ver_client_stub_tls(const struct ver_client_options *o)
{
        return (struct kl_http_tls){
            .ca_file = o->ca_file,
            .cert_file = o->client_cert,
            .key_file = o->client_key,
        };
}

static int agent_url(const struct ver_client_options *o, char *url, size_t len)
{
        int n;

        if (o->verifier == NULL || o->uuid == NULL ||
            !kl_agent_id_is_valid(o->uuid, strlen(o->uuid))) {
                fprintf(stderr, "need --verifier URL and a valid --uuid\n");
                return KL_ERR_INVAL;
        }
        n = snprintf(url, len, "%s/v%s/agents/%s", o->verifier, "2.6", o->uuid);
        if (n < 0 || (size_t)n >= len) {
                fprintf(stderr, "--verifier URL too long\n");
                return KL_ERR_TOO_LONG;
        }
        return 0;
}

/* Prints the server's answer and maps it to an exit code. */
static int finish(const char *what, int r, struct kl_http_response *resp, bool results_only)
{
        kl_json *obj = NULL;
        kl_json *res = NULL;
        char *text = NULL;
        int rc = 1;

        if (r < 0) {
                fprintf(stderr, "%s: verifier unreachable: %s\n", what, kl_err_str(r));
                return 1;
        }
        if (resp->status != 200) {
                fprintf(stderr, "%s: HTTP %ld: %s\n", what, resp->status, resp->body);
                goto out;
        }
        if (results_only) {
                if (kl_json_parse_object(resp->body, resp->body_len, &obj) < 0 ||
                    kl_json_get_object(obj, "results", &res) < 0) {
                        fprintf(stderr, "%s: malformed answer\n", what);
                        goto out;
                }
                if ((text = kl_json_to_string(res)) == NULL) {
                        fprintf(stderr, "%s: out of memory\n", what);
                        goto out;
                }
                printf("%s\n", text);
        } else {
                printf("%s\n", resp->body);
        }
        rc = 0;
out:
        free(text);
        kl_json_free(obj);
        kl_http_response_clear(resp);
        return rc;
}

/* A policy file must be JSON; it travels as a JSON value in the request. */
static int add_policy_file(kl_json *req, const char *key, const char *path)
{
        kl_json *v = NULL;
        char *text = NULL;
        size_t len = 0;
        int r;

        if (path == NULL)
                return 0;
        if ((r = kl_file_read(path, POLICY_FILE_MAX, &text, &len)) < 0) {
                fprintf(stderr, "cannot read %s: %s\n", path, kl_err_str(r));
                return r;
        }
        if ((r = kl_json_parse(text, len, &v)) < 0) {
                fprintf(stderr, "%s is not JSON\n", path);
                goto out;
        }
        r = kl_json_set(req, key, v);
out:
        free(text);
        return r;
}

/* tpm_policy from the --pcr specs (bank sha256 when none names one); KL_ERR_INVAL, said, for a bad
 * spec. */
static int add_tpm_policy(kl_json *req, const struct ver_client_options *o)
{
        struct ver_tpm_policy *pol = calloc(1, sizeof(*pol));
        kl_json *pj = NULL;
        char why[256];
        int r = KL_ERR_NOMEM;

        if (pol == NULL)
                goto out;
        for (size_t i = 0; i < o->n_pcrs; i++) {
                if (ver_pcr_spec_add(pol, o->pcrs[i], why, sizeof(why)) < 0) {
                        fprintf(stderr, "--pcr: %s\n", why);
                        r = KL_ERR_INVAL;
                        goto out;
                }
        }
        if (pol->hash_alg == 0)
                pol->hash_alg = 0x000b;
        if ((r = ver_tpm_policy_to_json(pol, &pj)) == 0)
                r = kl_json_set(req, "tpm_policy", pj); /* takes pj */
out:
        free(pol);
        return r;
}

/* "ip" and "port" from --agent HOST:PORT ("[v6]:port" without the brackets); KL_ERR_INVAL, said,
 * when it is not one. */
static int add_agent_address(kl_json *req, const char *agent)
{
        const char *colon = agent != NULL ? strrchr(agent, ':') : NULL;
        char host[256];
        char *end = NULL;
        long port = 0;
        size_t hlen = 0;

        if (agent == NULL)
                return 0; /* the verifier takes the registrar's */
        if (colon != NULL && (hlen = (size_t)(colon - agent)) > 0 && hlen < sizeof(host))
                port = strtol(colon + 1, &end, 10);
        if (end == NULL || *end != '\0' || port < 1 || port > 65535) {
                fprintf(stderr, "--agent must be HOST:PORT\n");
                return KL_ERR_INVAL;
        }
        if (agent[0] == '[' && hlen >= 2 && colon[-1] == ']') {
                memcpy(host, agent + 1, hlen - 2);
                host[hlen - 2] = '\0';
        } else {
                memcpy(host, agent, hlen);
                host[hlen] = '\0';
        }
        if (kl_json_set_string(req, "ip", host) < 0)
                return KL_ERR_NOMEM;
        return kl_json_set_int(req, "port", port);
}

/*
 * POST /v2.6/agents/{uuid} with tpm_policy, the agent's address, the IMA and
 * boot policies, then V when playing the tenant; a bad option exits 2 before
 * anything is sent.
 */
int ver_client_add(const struct ver_client_options *o)
{
        struct kl_http_response resp = {0};
        struct kl_http_tls tls = ver_client_stub_tls(o);
        struct ver_tenant *tenant = NULL;
        kl_json *req = NULL;
        char url[1024];
        char *body = NULL, *v_b64 = NULL;
        int rc = 1;
        int r;

        if (agent_url(o, url, sizeof(url)) < 0)
                return 2;
        if ((req = kl_json_object()) == NULL)
                goto out;
        if ((r = add_tpm_policy(req, o)) < 0 || (r = add_agent_address(req, o->agent)) < 0) {
                rc = r == KL_ERR_INVAL ? 2 : 1;
                goto out;
        }
        if (add_policy_file(req, "ima_policy", o->ima_policy_file) < 0 ||
            add_policy_file(req, "mb_policy", o->mb_policy_file) < 0) {
                rc = 2;
                goto out;
        }
        /* the tenant's U goes to the agent first; V travels in this request */
        if (o->payload != NULL &&
            (ver_tenant_send_u(o, &tenant, &v_b64) < 0 || kl_json_set_string(req, "v", v_b64) < 0))
                goto out;
        if ((body = kl_json_to_string(req)) == NULL)
                goto out;
        r = kl_http_request("POST", url, body, &tls, TIMEOUT_MS, &resp);
        rc = finish("add", r, &resp, false);
        if (rc == 0 && tenant != NULL && ver_tenant_verify(tenant, TENANT_VERIFY_S) < 0)
                rc = 1;
out:
        ver_tenant_free(tenant);
        if (v_b64 != NULL)
                kl_secure_free(v_b64, strlen(v_b64));
        if (body != NULL)
                kl_secure_free(body, strlen(body)); /* holds V */
        kl_json_free(req);
        return rc;
}

/* One bodiless request on the agent's record; what = the subcommand, for finish. */
static int agent_request(const struct ver_client_options *o, const char *method, const char *what,
                         bool print)
{
        struct kl_http_response resp = {0};
        struct kl_http_tls tls = ver_client_stub_tls(o);
        char url[1024];
        int r;

        if (agent_url(o, url, sizeof(url)) < 0)
                return 2;
        r = kl_http_request(method, url, NULL, &tls, TIMEOUT_MS, &resp);
        return finish(what, r, &resp, print);
}

int ver_client_status(const struct ver_client_options *o)
{
        return agent_request(o, "GET", "status", true);
}

int ver_client_delete(const struct ver_client_options *o)
{
        return agent_request(o, "DELETE", "delete", false);
}
