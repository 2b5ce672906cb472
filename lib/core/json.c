/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The only user of json-c: a kl_json is a json_object, and this file is the
 * only one that tunes json-c's tokener for outside input. struct kl_json is
 * never defined; its pointers are json_object pointers cast at this file's
 * border (jo() inward, (kl_json *) outward), which keeps json-c's types and
 * header out of every other file without a wrapper allocation per value.
 */
#include "json.h"

#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"

/* A kl_json is a json_object; reading functions take it const, json-c does not. */
static struct json_object *jo(const kl_json *v)
{
        return (struct json_object *)(uintptr_t)v;
}

int kl_json_parse(const char *text, size_t len, kl_json **ret)
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
        *ret = (kl_json *)obj;
        obj = NULL;
        r = 0;
out:
        json_object_put(obj);
        json_tokener_free(tok);
        return r;
}

int kl_json_parse_object(const char *text, size_t len, kl_json **ret)
{
        kl_json *obj = NULL;
        int r = kl_json_parse(text, len, &obj);

        if (r < 0)
                return r;
        if (!kl_json_is(obj, KL_JSON_OBJECT)) {
                kl_json_free(obj);
                return KL_ERR_INVAL;
        }
        *ret = obj;
        return 0;
}

kl_json *kl_json_object(void)
{
        return (kl_json *)json_object_new_object();
}

kl_json *kl_json_array(void)
{
        return (kl_json *)json_object_new_array();
}

kl_json *kl_json_string(const char *s)
{
        return s != NULL ? (kl_json *)json_object_new_string(s) : NULL;
}

kl_json *kl_json_string_len(const char *s, size_t len)
{
        if (s == NULL || len > (size_t)INT_MAX)
                return NULL;
        return (kl_json *)json_object_new_string_len(s, (int)len);
}

kl_json *kl_json_int(int64_t v)
{
        return (kl_json *)json_object_new_int64(v);
}

kl_json *kl_json_bool(bool v)
{
        return (kl_json *)json_object_new_boolean(v);
}

void kl_json_free(kl_json *v)
{
        json_object_put(jo(v));
}

kl_json *kl_json_ref(kl_json *v)
{
        return (kl_json *)json_object_get(jo(v));
}

int kl_json_set(kl_json *obj, const char *key, kl_json *v)
{
        if (obj == NULL || v == NULL) {
                kl_json_free(v);
                return KL_ERR_NOMEM;
        }
        if (!kl_json_is(obj, KL_JSON_OBJECT)) {
                kl_json_free(v);
                return KL_ERR_INVAL;
        }
        if (json_object_object_add(jo(obj), key, jo(v)) != 0) {
                kl_json_free(v);
                return KL_ERR_NOMEM;
        }
        return 0;
}

int kl_json_set_string(kl_json *obj, const char *key, const char *s)
{
        return kl_json_set(obj, key, kl_json_string(s));
}

int kl_json_set_string_len(kl_json *obj, const char *key, const char *s, size_t len)
{
        return kl_json_set(obj, key, kl_json_string_len(s, len));
}

int kl_json_set_int(kl_json *obj, const char *key, int64_t v)
{
        return kl_json_set(obj, key, kl_json_int(v));
}

int kl_json_set_bool(kl_json *obj, const char *key, bool v)
{
        return kl_json_set(obj, key, kl_json_bool(v));
}

int kl_json_set_null(kl_json *obj, const char *key)
{
        /* json-c writes a member whose value is NULL as null. */
        if (obj == NULL)
                return KL_ERR_NOMEM;
        if (!kl_json_is(obj, KL_JSON_OBJECT))
                return KL_ERR_INVAL;
        return json_object_object_add(jo(obj), key, NULL) == 0 ? 0 : KL_ERR_NOMEM;
}

int kl_json_append(kl_json *arr, kl_json *v)
{
        if (arr == NULL || v == NULL) {
                kl_json_free(v);
                return KL_ERR_NOMEM;
        }
        if (!kl_json_is(arr, KL_JSON_ARRAY)) {
                kl_json_free(v);
                return KL_ERR_INVAL;
        }
        if (json_object_array_add(jo(arr), jo(v)) != 0) {
                kl_json_free(v);
                return KL_ERR_NOMEM;
        }
        return 0;
}

int kl_json_append_string(kl_json *arr, const char *s)
{
        return kl_json_append(arr, kl_json_string(s));
}

int kl_json_append_int(kl_json *arr, int64_t v)
{
        return kl_json_append(arr, kl_json_int(v));
}

size_t kl_json_length(const kl_json *arr)
{
        return kl_json_is(arr, KL_JSON_ARRAY) ? json_object_array_length(jo(arr)) : 0;
}

kl_json *kl_json_at(const kl_json *arr, size_t i)
{
        if (i >= kl_json_length(arr))
                return NULL;
        return (kl_json *)json_object_array_get_idx(jo(arr), i);
}

enum kl_json_type kl_json_type_of(const kl_json *v)
{
        switch (json_object_get_type(jo(v))) {
        case json_type_boolean:
                return KL_JSON_BOOL;
        case json_type_int:
                return KL_JSON_INT;
        case json_type_double:
                return KL_JSON_DOUBLE;
        case json_type_string:
                return KL_JSON_STRING;
        case json_type_array:
                return KL_JSON_ARRAY;
        case json_type_object:
                return KL_JSON_OBJECT;
        case json_type_null:
        default:
                return KL_JSON_NULL;
        }
}

bool kl_json_is(const kl_json *v, enum kl_json_type type)
{
        return kl_json_type_of(v) == type;
}

const char *kl_json_string_value(const kl_json *v)
{
        return kl_json_is(v, KL_JSON_STRING) ? json_object_get_string(jo(v)) : NULL;
}

size_t kl_json_string_length(const kl_json *v)
{
        return kl_json_is(v, KL_JSON_STRING) ? (size_t)json_object_get_string_len(jo(v)) : 0;
}

int64_t kl_json_int_value(const kl_json *v)
{
        return kl_json_is(v, KL_JSON_INT) ? json_object_get_int64(jo(v)) : 0;
}

bool kl_json_bool_value(const kl_json *v)
{
        return kl_json_is(v, KL_JSON_BOOL) && json_object_get_boolean(jo(v));
}

kl_json *kl_json_member(const kl_json *obj, const char *key)
{
        struct json_object *v = NULL;

        if (!kl_json_is(obj, KL_JSON_OBJECT) || !json_object_object_get_ex(jo(obj), key, &v))
                return NULL;
        return (kl_json *)v;
}

bool kl_json_has(const kl_json *obj, const char *key)
{
        return kl_json_is(obj, KL_JSON_OBJECT) && json_object_object_get_ex(jo(obj), key, NULL);
}

size_t kl_json_member_count(const kl_json *obj)
{
        return kl_json_is(obj, KL_JSON_OBJECT) ? (size_t)json_object_object_length(jo(obj)) : 0;
}

struct kl_json_iter kl_json_members(const kl_json *obj)
{
        struct kl_json_iter it = {NULL};

        if (kl_json_is(obj, KL_JSON_OBJECT))
                it.entry = lh_table_head(json_object_get_object(jo(obj)));
        return it;
}

bool kl_json_next(struct kl_json_iter *it, const char **key, kl_json **val)
{
        const struct lh_entry *e = it->entry;

        if (e == NULL)
                return false;
        *key = (const char *)lh_entry_k(e);
        *val = (kl_json *)lh_entry_v(e);
        it->entry = lh_entry_next(e);
        return true;
}

static int get_member(const kl_json *obj, const char *key, enum kl_json_type type, kl_json **ret)
{
        kl_json *v = kl_json_member(obj, key);

        if (v == NULL)
                return KL_ERR_NOT_FOUND;
        if (!kl_json_is(v, type))
                return KL_ERR_INVAL;
        *ret = v;
        return 0;
}

int kl_json_get_string(const kl_json *obj, const char *key, const char **ret)
{
        kl_json *v;
        int r = get_member(obj, key, KL_JSON_STRING, &v);

        if (r == 0)
                *ret = kl_json_string_value(v);
        return r;
}

int kl_json_get_int(const kl_json *obj, const char *key, int64_t *ret)
{
        kl_json *v;
        int r = get_member(obj, key, KL_JSON_INT, &v);

        if (r == 0)
                *ret = kl_json_int_value(v);
        return r;
}

int kl_json_get_bool(const kl_json *obj, const char *key, bool *ret)
{
        kl_json *v;
        int r = get_member(obj, key, KL_JSON_BOOL, &v);

        if (r == 0)
                *ret = kl_json_bool_value(v);
        return r;
}

int kl_json_get_object(const kl_json *obj, const char *key, kl_json **ret)
{
        return get_member(obj, key, KL_JSON_OBJECT, ret);
}

int kl_json_get_array(const kl_json *obj, const char *key, kl_json **ret)
{
        return get_member(obj, key, KL_JSON_ARRAY, ret);
}

char *kl_json_format(const kl_json *v, unsigned flags)
{
        int f = (flags & KL_JSON_PRETTY) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                         : JSON_C_TO_STRING_PLAIN;
        const char *s;

        if (!(flags & KL_JSON_ESCAPE_SLASH))
                f |= JSON_C_TO_STRING_NOSLASHESCAPE;
        s = json_object_to_json_string_ext(jo(v), f);
        return s != NULL ? strdup(s) : NULL;
}

char *kl_json_to_string(const kl_json *v)
{
        return kl_json_format(v, 0);
}

/* {"code", "status", "results"}; results (owned, may be NULL) is serialised as given. */
static char *envelope(int code, const char *status, kl_json *results)
{
        kl_json *env = kl_json_object();
        char *s = NULL;

        if (env == NULL) {
                kl_json_free(results);
                return NULL;
        }
        if (kl_json_set_int(env, "code", code) < 0 ||
            kl_json_set_string(env, "status", status) < 0 ||
            (results != NULL ? kl_json_set(env, "results", results)
                             : kl_json_set_null(env, "results")) < 0)
                goto out;
        s = kl_json_to_string(env);
out:
        kl_json_free(env);
        return s;
}

char *kl_json_envelope(int code, const char *status, kl_json *results)
{
        if (results == NULL && (results = kl_json_object()) == NULL)
                return NULL;
        return envelope(code, status, results);
}

char *kl_json_envelope_null(int code, const char *status)
{
        return envelope(code, status, NULL);
}

int kl_json_envelope_split(int code, const char *status, kl_json *results, const char *key,
                           char **ret_prefix, char **ret_suffix)
{
        kl_json *k = NULL, *hole = kl_json_member(results, key);
        char *text = NULL, *quoted = NULL, *needle = NULL, *prefix = NULL, *suffix = NULL;
        const char *at;
        size_t needle_len, cut;
        int r = KL_ERR_INVAL;

        if (!kl_json_is(hole, KL_JSON_STRING) || kl_json_string_length(hole) != 0)
                goto out;
        /* "key":"" with the key escaped as the serialiser escapes it */
        r = KL_ERR_NOMEM;
        if ((k = kl_json_string(key)) == NULL || (quoted = kl_json_to_string(k)) == NULL)
                goto out;
        needle_len = strlen(quoted) + 3;
        if ((needle = malloc(needle_len + 1)) == NULL)
                goto out;
        (void)snprintf(needle, needle_len + 1, "%s:\"\"", quoted);
        text = kl_json_envelope(code, status, results);
        results = NULL; /* taken, also on failure */
        if (text == NULL)
                goto out;
        /* Inside a serialised string every quote is escaped, so only a member matches; the
         * same key in a nested object would too, hence the check that it is the only one. */
        r = KL_ERR_INVAL;
        if ((at = strstr(text, needle)) == NULL || strstr(at + 1, needle) != NULL)
                goto out;
        cut = (size_t)(at - text) + needle_len - 1; /* at the closing quote */
        r = KL_ERR_NOMEM;
        if ((prefix = strndup(text, cut)) == NULL || (suffix = strdup(text + cut)) == NULL)
                goto out;
        *ret_prefix = prefix;
        *ret_suffix = suffix;
        prefix = suffix = NULL;
        r = 0;
out:
        kl_json_free(results);
        kl_json_free(k);
        free(text);
        free(quoted);
        free(needle);
        free(prefix);
        free(suffix);
        return r;
}

int kl_json_add_b64(kl_json *obj, const char *key, const uint8_t *p, size_t len)
{
        char *s = NULL;
        int r;

        if ((r = kl_b64_encode(p, len, &s)) < 0)
                return r;
        r = kl_json_set_string(obj, key, s);
        free(s);
        return r;
}
