/* SPDX-License-Identifier: Apache-2.0 */
/* The add-agent request of the verifier stub (see add_request.h). */
#include "add_request.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "ima.h"
#include "json.h"
#include "rest.h"
#include "uefi_log.h"

#define ADD_BODY_MAX    (4u << 20) /* policies included */
#define IP_TEXT_MAX     255
#define POLICY_TEXT_MAX (4u << 20)

void ver_add_request_clear(struct ver_add_request *r)
{
        if (r == NULL)
                return;
        free(r->ip);
        free(r->tpm_policy_json);
        free(r->ima_policy);
        free(r->mb_policy);
        if (r->v != NULL)
                kl_secure_free(r->v, strlen(r->v));
        memset(r, 0, sizeof(*r));
}

/* An optional policy member: absent/null → NULL; otherwise validated and kept as compact text. */
static int take_policy(kl_json *req, const char *key, bool ima, char **ret, char *why,
                       size_t why_len)
{
        kl_json *v = kl_json_member(req, key);
        struct kl_ima_policy *ip = NULL;
        struct kl_mb_policy *mp = NULL;
        char sub[200];
        char *text = NULL;
        int r = KL_ERR_INVAL;

        *ret = NULL;
        if (v == NULL)
                return 0;
        /* A policy may come as an object or as the JSON text of one (upstream sends text). */
        if (kl_json_is(v, KL_JSON_STRING))
                text = strdup(kl_json_string_value(v));
        else
                text = kl_json_to_string(v);
        if (text == NULL)
                return KL_ERR_NOMEM;
        if (strlen(text) > POLICY_TEXT_MAX) {
                kl_why_set(why, why_len, "%s is too large", key);
                goto out;
        }
        sub[0] = '\0';
        r = ima ? kl_ima_policy_parse(text, strlen(text), &ip, sub, sizeof(sub))
                : kl_mb_policy_parse(text, strlen(text), &mp, sub, sizeof(sub));
        if (r < 0) {
                kl_why_set(why, why_len, "invalid %s: %s", key,
                           sub[0] != '\0' ? sub : kl_err_str(r));
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret = text;
        text = NULL;
        r = 0;
out:
        kl_ima_policy_free(ip);
        kl_mb_policy_free(mp);
        free(text);
        return r;
}

/* "v": the tenant's V share, base64 of 16 or 32 bytes (as upstream's add request). */
static int take_v(kl_json *req, char **ret, char *why, size_t why_len)
{
        const char *s = NULL;
        uint8_t *v = NULL;
        size_t n = 0;
        int r = kl_json_get_string(req, "v", &s);

        if (r == KL_ERR_NOT_FOUND)
                return 0;
        if (r < 0 || kl_b64_decode(s, strlen(s), &v, &n) < 0 || (n != 16 && n != 32)) {
                kl_secure_free(v, n);
                kl_why_set(why, why_len, "invalid field 'v': expected base64 of 16 or 32 bytes");
                return KL_ERR_INVAL;
        }
        kl_secure_free(v, n);
        if ((*ret = strdup(s)) == NULL)
                return KL_ERR_NOMEM;
        return 0;
}

/* Optional "ip": a host name or address (checked for its characters only). */
static int take_ip(kl_json *req, char **ret, char *why, size_t why_len)
{
        const char *ip = NULL;
        int r = kl_json_get_string(req, "ip", &ip);

        if (r == KL_ERR_NOT_FOUND)
                return 0;
        if (r < 0 || ip[0] == '\0' || strlen(ip) > IP_TEXT_MAX ||
            strspn(ip, "0123456789abcdefABCDEF.:-_"
                       "ghijklmnopqrstuvwxyz"
                       "GHIJKLMNOPQRSTUVWXYZ") != strlen(ip)) {
                kl_why_set(why, why_len, "invalid field 'ip'");
                return KL_ERR_INVAL;
        }
        return (*ret = strdup(ip)) != NULL ? 0 : KL_ERR_NOMEM;
}

/* Optional "port" (kl_rest_get_port), here in 1..65535; -1 stays when absent. */
static int take_port(kl_json *req, int64_t *ret, char *why, size_t why_len)
{
        int64_t port = -1;

        if (kl_rest_get_port(req, &port) < 0 || port == 0) {
                kl_why_set(why, why_len, "invalid field 'port'");
                return KL_ERR_INVAL;
        }
        if (port > 0)
                *ret = port;
        return 0;
}

/* Optional "tpm_policy" (an object, or upstream's JSON text of one), kept normalised. */
static int take_tpm_policy(kl_json *req, struct ver_add_request *a, char *why, size_t why_len)
{
        kl_json *v = kl_json_member(req, "tpm_policy");
        kl_json *parsed = NULL;
        kl_json *pj = NULL;
        int r;

        if (v != NULL) {
                /* upstream sends tpm_policy as JSON text; accept both */
                if (kl_json_is(v, KL_JSON_STRING)) {
                        const char *s = kl_json_string_value(v);

                        if (kl_json_parse_object(s, strlen(s), &parsed) < 0) {
                                kl_why_set(why, why_len, "tpm_policy is not a JSON object");
                                return KL_ERR_INVAL;
                        }
                        v = parsed;
                }
                r = ver_tpm_policy_from_json(v, &a->tpm_policy, why, why_len);
                kl_json_free(parsed);
                if (r < 0)
                        return r;
        } else {
                a->tpm_policy.hash_alg = 0x000b;
        }
        r = 0;
        if (ver_tpm_policy_to_json(&a->tpm_policy, &pj) < 0 ||
            (a->tpm_policy_json = kl_json_to_string(pj)) == NULL)
                r = KL_ERR_NOMEM;
        kl_json_free(pj);
        return r;
}

int ver_add_request_parse(const char *body, size_t len, struct ver_add_request *ret, char *why,
                          size_t why_len)
{
        struct ver_add_request a = {.port = -1};
        kl_json *req = NULL;
        int r = KL_ERR_INVAL;

        if (len > ADD_BODY_MAX || kl_json_parse_object(body, len, &req) < 0) {
                kl_why_set(why, why_len, "malformed JSON body: expected a JSON object");
                goto out;
        }
        if ((r = take_ip(req, &a.ip, why, why_len)) < 0 ||
            (r = take_port(req, &a.port, why, why_len)) < 0 ||
            (r = take_tpm_policy(req, &a, why, why_len)) < 0 ||
            (r = take_policy(req, "ima_policy", true, &a.ima_policy, why, why_len)) < 0 ||
            (r = take_policy(req, "mb_policy", false, &a.mb_policy, why, why_len)) < 0 ||
            (r = take_v(req, &a.v, why, why_len)) < 0)
                goto out;
        *ret = a;
        memset(&a, 0, sizeof(a));
        r = 0;
out:
        kl_json_free(req);
        ver_add_request_clear(&a);
        return r;
}
