/* SPDX-License-Identifier: Apache-2.0 */
/* json-c helpers; the only place that tunes json-c's tokener for outside input. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"

int kl_json_parse(const char *text, size_t len, struct json_object **ret)
{
        struct json_tokener *tok = NULL;
        struct json_object *obj = NULL;
        int r = KL_ERR_INVAL;
        size_t used;

        if (len > (size_t)INT32_MAX)
                return KL_ERR_TOO_LONG;
        if ((tok = json_tokener_new_ex(KL_JSON_MAX_DEPTH)) == NULL)
                return KL_ERR_NOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        obj = json_tokener_parse_ex(tok, text, (int)len);
        if (obj == NULL) {
                /* json-c returns NULL both for errors and for the literal null. */
                if (json_tokener_get_error(tok) == json_tokener_success)
                        r = KL_ERR_INVAL;
                goto out;
        }
        if (json_tokener_get_error(tok) != json_tokener_success)
                goto out;
        used = json_tokener_get_parse_end(tok);
        for (; used < len; used++) {
                if (strchr(" \t\r\n", text[used]) == NULL)
                        goto out;
        }
        *ret = obj;
        obj = NULL;
        r = 0;
out:
        json_object_put(obj);
        json_tokener_free(tok);
        return r;
}

int kl_json_parse_object(const char *text, size_t len, struct json_object **ret)
{
        struct json_object *obj = NULL;
        int r = kl_json_parse(text, len, &obj);

        if (r < 0)
                return r;
        if (!json_object_is_type(obj, json_type_object)) {
                json_object_put(obj);
                return KL_ERR_INVAL;
        }
        *ret = obj;
        return 0;
}

static int get_member(struct json_object *obj, const char *key, enum json_type type,
                      struct json_object **ret)
{
        struct json_object *v = NULL;

        if (obj == NULL || !json_object_object_get_ex(obj, key, &v) || v == NULL)
                return KL_ERR_NOT_FOUND;
        if (!json_object_is_type(v, type))
                return KL_ERR_INVAL;
        *ret = v;
        return 0;
}

int kl_json_get_string(struct json_object *obj, const char *key, const char **ret)
{
        struct json_object *v;
        int r = get_member(obj, key, json_type_string, &v);

        if (r == 0)
                *ret = json_object_get_string(v);
        return r;
}

int kl_json_get_int(struct json_object *obj, const char *key, int64_t *ret)
{
        struct json_object *v;
        int r = get_member(obj, key, json_type_int, &v);

        if (r == 0)
                *ret = json_object_get_int64(v);
        return r;
}

int kl_json_get_bool(struct json_object *obj, const char *key, bool *ret)
{
        struct json_object *v;
        int r = get_member(obj, key, json_type_boolean, &v);

        if (r == 0)
                *ret = json_object_get_boolean(v);
        return r;
}

int kl_json_get_object(struct json_object *obj, const char *key, struct json_object **ret)
{
        return get_member(obj, key, json_type_object, ret);
}

char *kl_json_to_string(struct json_object *obj)
{
        const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);

        return s != NULL ? strdup(s) : NULL;
}

/* {"code", "status", "results"}; results (owned, may be NULL) is serialised as given. */
static char *envelope(int code, const char *status, struct json_object *results)
{
        struct json_object *env = json_object_new_object();
        char *s = NULL;

        if (env == NULL) {
                json_object_put(results);
                return NULL;
        }
        if (json_object_object_add(env, "code", json_object_new_int(code)) != 0 ||
            json_object_object_add(env, "status", json_object_new_string(status)) != 0 ||
            json_object_object_add(env, "results", results) != 0)
                goto out;
        s = kl_json_to_string(env);
out:
        json_object_put(env);
        return s;
}

char *kl_json_envelope(int code, const char *status, struct json_object *results)
{
        if (results == NULL && (results = json_object_new_object()) == NULL)
                return NULL;
        return envelope(code, status, results);
}

char *kl_json_envelope_null(int code, const char *status)
{
        return envelope(code, status, NULL); /* json-c serialises a NULL member value as null */
}

int kl_json_add_b64(struct json_object *obj, const char *key, const uint8_t *p, size_t len)
{
        struct json_object *v = NULL;
        char *s = NULL;
        int r;

        if ((r = kl_b64_encode(p, len, &s)) < 0)
                return r;
        r = KL_ERR_NOMEM;
        if ((v = json_object_new_string(s)) != NULL && json_object_object_add(obj, key, v) == 0) {
                v = NULL;
                r = 0;
        }
        json_object_put(v);
        free(s);
        return r;
}
