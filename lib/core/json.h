/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Thin helpers over json-c: bounded parsing of outside input, typed getters
 * and the Keylime response envelope {"code","status","results"}.
 */
#ifndef KL_JSON_H
#define KL_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_JSON_MAX_DEPTH 16

/*
 * Parses exactly one JSON value from text[0..len) (no NUL needed); trailing
 * non-whitespace, nesting deeper than KL_JSON_MAX_DEPTH or invalid UTF-8 are
 * KL_ERR_INVAL. The caller owns *ret (json_object_put).
 */
int kl_json_parse(const char *text, size_t len, struct json_object **ret);
/* Like kl_json_parse, but the value must be an object. */
int kl_json_parse_object(const char *text, size_t len, struct json_object **ret);

/*
 * Typed member getters; the returned pointer is lent by obj.
 * KL_ERR_NOT_FOUND when the key is absent or null, KL_ERR_INVAL for a wrong type.
 */
int kl_json_get_string(struct json_object *obj, const char *key, const char **ret);
int kl_json_get_int(struct json_object *obj, const char *key, int64_t *ret);
int kl_json_get_bool(struct json_object *obj, const char *key, bool *ret);
int kl_json_get_object(struct json_object *obj, const char *key, struct json_object **ret);

/*
 * Serialises {"code": code, "status": status, "results": results}. Takes
 * ownership of results; NULL results become {} (registrar style). Returns a
 * heap string the caller frees, or NULL on ENOMEM.
 */
char *kl_json_envelope(int code, const char *status, struct json_object *results);
/* The same with "results": null (the Rust agent's answer to ukey, vkey, revocation). */
char *kl_json_envelope_null(int code, const char *status);

/* Adds key: base64(p[0..len)) to obj; KL_ERR_NOMEM on failure. */
int kl_json_add_b64(struct json_object *obj, const char *key, const uint8_t *p, size_t len);

/* Serialises obj compactly (no escaping of '/'); caller frees; NULL on ENOMEM. */
char *kl_json_to_string(struct json_object *obj);

#endif
