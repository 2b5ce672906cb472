/* SPDX-License-Identifier: Apache-2.0 */
/*
 * REST helpers shared by the registrar and verifier stubs (see rest.h), so
 * both route, refuse and answer /version and agent lists the same way.
 */
#include "rest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "log.h"

#define STATUS_MAX 512

/* "v2", "v2.0" .. "v2.6" (len bytes at s, s[0] == 'v'): what the stubs speak. */
static bool version_supported(const char *s, size_t len)
{
        if (len == 2 && s[1] == '2')
                return true;
        return len == 4 && s[1] == '2' && s[2] == '.' && s[3] >= '0' && s[3] <= '6';
}

void kl_rest_path_parse(const char *path, struct kl_rest_path *ret)
{
        const char *rest;
        const char *slash;

        memset(ret, 0, sizeof(*ret));
        if (strcmp(path, "/version") == 0 || strcmp(path, "/version/") == 0) {
                ret->route = KL_REST_ROUTE_VERSION;
                return;
        }
        /* /v<major>[.<minor>]/... */
        if (path[0] != '/' || path[1] != 'v' || path[2] < '0' || path[2] > '9')
                return;
        ret->version = path + 1;
        ret->version_len = strcspn(path + 1, "/");
        if (!version_supported(ret->version, ret->version_len)) {
                ret->route = KL_REST_ROUTE_BAD_VERSION;
                return;
        }
        rest = path + 1 + ret->version_len;
        if (strcmp(rest, "/agents") == 0 || strcmp(rest, "/agents/") == 0) {
                ret->route = KL_REST_ROUTE_AGENTS;
                return;
        }
        if (strncmp(rest, "/agents/", 8) != 0)
                return;
        rest += 8;
        slash = strchr(rest, '/');
        ret->route = KL_REST_ROUTE_AGENT;
        ret->id = rest;
        ret->id_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
        ret->tail = rest + ret->id_len;
}

bool kl_rest_agent_id_copy(const char *id, size_t len, char out[KL_REST_AGENT_ID_MAX + 1])
{
        if (!kl_agent_id_is_valid(id, len))
                return false;
        memcpy(out, id, len); /* len <= KL_REST_AGENT_ID_MAX: checked by kl_agent_id_is_valid */
        out[len] = '\0';
        return true;
}

void kl_rest_refuse(struct kl_http_reply *reply, int code, const char *fmt, ...)
{
        char status[STATUS_MAX];
        va_list ap;

        va_start(ap, fmt);
        if (vsnprintf(status, sizeof(status), fmt, ap) < 0)
                status[0] = '\0';
        va_end(ap);
        log_warn("refused (%d): %s", code, status);
        kl_http_reply_json(reply, code, status, NULL);
}

void kl_rest_reply_internal(struct kl_http_reply *reply, int r)
{
        log_error("internal error: %s", kl_err_str(r));
        kl_http_reply_json(reply, 500, "Internal Server Error", NULL);
}

void kl_rest_reply_not_found(struct kl_http_reply *reply)
{
        kl_http_reply_json(reply, 404, "Not Found", NULL);
}

void kl_rest_reply_method_not_allowed(struct kl_http_reply *reply)
{
        kl_http_reply_json(reply, 405, "Method Not Allowed", NULL);
}

void kl_rest_reply_version(struct kl_http_reply *reply, const char *current)
{
        static const char *const versions[] = {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6"};
        kl_json *res = kl_json_object();
        kl_json *arr = kl_json_array();
        int r;

        for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
                if (kl_json_append_string(arr, versions[i]) < 0)
                        goto fail;
        }
        if (kl_json_set_string(res, "current_version", current) < 0)
                goto fail;
        r = kl_json_set(res, "supported_versions", arr); /* takes arr, also on failure */
        arr = NULL;
        if (r < 0)
                goto fail;
        kl_http_reply_json(reply, 200, "Success", res);
        return;
fail:
        kl_json_free(arr);
        kl_json_free(res);
        kl_rest_reply_internal(reply, KL_ERR_NOMEM);
}

void kl_rest_reply_ids(struct kl_http_reply *reply, int r, char *const *ids, size_t n)
{
        kl_json *res = NULL;
        kl_json *arr = NULL;

        if (r < 0) {
                kl_rest_reply_internal(reply, r);
                return;
        }
        res = kl_json_object();
        arr = kl_json_array();
        for (size_t i = 0; i < n; i++) {
                if (kl_json_append_string(arr, ids[i]) < 0)
                        goto fail;
        }
        r = kl_json_set(res, "uuids", arr); /* takes arr, also on failure */
        arr = NULL;
        if (r < 0)
                goto fail;
        kl_http_reply_json(reply, 200, "Success", res);
        return;
fail:
        kl_json_free(arr);
        kl_json_free(res);
        kl_rest_reply_internal(reply, KL_ERR_NOMEM);
}

bool kl_rest_reply_common(struct kl_http_reply *reply, const struct kl_rest_path *p,
                          const char *method, const char *current_version)
{
        if (p->route == KL_REST_ROUTE_NONE) {
                kl_rest_reply_not_found(reply);
                return true;
        }
        if (p->route != KL_REST_ROUTE_VERSION)
                return false;
        if (strcmp(method, "GET") == 0)
                kl_rest_reply_version(reply, current_version);
        else
                kl_rest_reply_method_not_allowed(reply);
        return true;
}

void kl_rest_reply_agent_error(struct kl_http_reply *reply, int r, const char *id)
{
        if (r == KL_ERR_NOT_FOUND)
                kl_rest_refuse(reply, 404, "Agent with ID '%s' not found", id);
        else
                kl_rest_reply_internal(reply, r);
}

void kl_rest_reply_deleted(struct kl_http_reply *reply, int r, const char *id)
{
        if (r < 0) {
                kl_rest_reply_agent_error(reply, r, id);
                return;
        }
        log_info("deleted agent '%.80s'", id);
        kl_http_reply_json(reply, 200, "Success", NULL);
}

int kl_rest_parse_body(struct kl_http_reply *reply, const char *body, size_t len, kl_json **ret)
{
        int r = kl_json_parse_object(body, len, ret);

        if (r < 0)
                kl_rest_refuse(reply, 400, "Malformed JSON body: expected a JSON object");
        return r;
}

/* The minor number of "2.1" .. "2.6", or -1. */
static int minor_2x(const char *v)
{
        if (v == NULL || strlen(v) != 3 || v[0] != '2' || v[1] != '.' || v[2] < '1' || v[2] > '6')
                return -1;
        return v[2] - '0';
}

int kl_rest_pick_agent_version(const kl_json *results, char out[4])
{
        kl_json *list = NULL;
        int best = -1;

        if (kl_json_get_array(results, "supported_versions", &list) == 0) {
                for (size_t i = 0; i < kl_json_length(list); i++) {
                        int m = minor_2x(kl_json_string_value(kl_json_at(list, i)));

                        if (m > best)
                                best = m;
                }
        } else {
                best = minor_2x(kl_json_string_value(kl_json_member(results, "supported_version")));
        }
        if (best < 0)
                return KL_ERR_UNSUPPORTED;
        out[0] = '2';
        out[1] = '.';
        out[2] = (char)('0' + best);
        out[3] = '\0';
        return 0;
}

int kl_rest_get_port(const kl_json *obj, int64_t *ret)
{
        kl_json *v = kl_json_member(obj, "port");
        const char *s = kl_json_string_value(v);
        int64_t port;

        if (v == NULL) {
                *ret = -1;
                return 0;
        }
        if (kl_json_is(v, KL_JSON_INT)) {
                port = kl_json_int_value(v);
        } else if (s != NULL) {
                size_t n = strlen(s);

                if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
                        return KL_ERR_INVAL;
                port = strtol(s, NULL, 10); /* at most 5 digits: cannot overflow */
        } else {
                return KL_ERR_INVAL;
        }
        if (port < 0 || port > 65535)
                return KL_ERR_INVAL;
        *ret = port;
        return 0;
}

int kl_rest_add_str(kl_json *obj, const char *key, const char *s)
{
        return s != NULL ? kl_json_set_string(obj, key, s) : kl_json_set_null(obj, key);
}
