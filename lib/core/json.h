/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON values behind one opaque type: bounded parsing of outside input,
 * building values, typed getters, serialising, and the Keylime response
 * envelope {"code","status","results"}. json-c stays inside json.c.
 *
 * Ownership: a constructor or parse gives the caller a value to kl_json_free;
 * kl_json_set* and kl_json_append take the value they are given, also when
 * they fail; everything read from a container is lent by it.
 */
#ifndef KL_JSON_H
#define KL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opaque: only json.c knows what a kl_json is. */
typedef struct kl_json kl_json;

#define KL_JSON_MAX_DEPTH 16

enum kl_json_type {
        KL_JSON_NULL,
        KL_JSON_BOOL,
        KL_JSON_INT,
        KL_JSON_DOUBLE,
        KL_JSON_STRING,
        KL_JSON_ARRAY,
        KL_JSON_OBJECT,
};

/*
 * Parses exactly one JSON value from text[0..len) (no NUL needed); trailing
 * non-whitespace, nesting deeper than KL_JSON_MAX_DEPTH or invalid UTF-8 are
 * KL_ERR_INVAL. The caller owns *ret.
 */
int kl_json_parse(const char *text, size_t len, kl_json **ret);
/* Like kl_json_parse, but the value must be an object. */
int kl_json_parse_object(const char *text, size_t len, kl_json **ret);

/* Constructors; NULL on ENOMEM. */
kl_json *kl_json_object(void);
kl_json *kl_json_array(void);
kl_json *kl_json_string(const char *s);
kl_json *kl_json_string_len(const char *s, size_t len);
kl_json *kl_json_int(int64_t v);
kl_json *kl_json_bool(bool v);
/* Frees v and everything it holds; NULL-safe. */
void kl_json_free(kl_json *v);
/* One more owner of v (each kl_json_free drops one); returns v. */
kl_json *kl_json_ref(kl_json *v);

/*
 * obj[key] = v, replacing an earlier member. Takes v; a NULL obj or v (a
 * constructor that failed) is KL_ERR_NOMEM, so calls can be chained with ||.
 */
int kl_json_set(kl_json *obj, const char *key, kl_json *v);
int kl_json_set_string(kl_json *obj, const char *key, const char *s);
int kl_json_set_string_len(kl_json *obj, const char *key, const char *s, size_t len);
int kl_json_set_int(kl_json *obj, const char *key, int64_t v);
int kl_json_set_bool(kl_json *obj, const char *key, bool v);
/* obj[key] = null. */
int kl_json_set_null(kl_json *obj, const char *key);

/* Appends v to arr; takes v; NULL arr or v is KL_ERR_NOMEM as for kl_json_set. */
int kl_json_append(kl_json *arr, kl_json *v);
int kl_json_append_string(kl_json *arr, const char *s);
int kl_json_append_int(kl_json *arr, int64_t v);
/* Elements of an array (0 for anything else); kl_json_at is NULL out of range. */
size_t kl_json_length(const kl_json *arr);
kl_json *kl_json_at(const kl_json *arr, size_t i);

/* A NULL v is KL_JSON_NULL. */
enum kl_json_type kl_json_type_of(const kl_json *v);
bool kl_json_is(const kl_json *v, enum kl_json_type type);

/* Scalar values; NULL, 0 or false when v has another type. */
const char *kl_json_string_value(const kl_json *v);
size_t kl_json_string_length(const kl_json *v);
int64_t kl_json_int_value(const kl_json *v);
bool kl_json_bool_value(const kl_json *v);

/* obj[key], lent; NULL when absent, null, or obj is not an object. */
kl_json *kl_json_member(const kl_json *obj, const char *key);
/* Whether obj has key at all (also when its value is null). */
bool kl_json_has(const kl_json *obj, const char *key);
/* Members of an object. */
size_t kl_json_member_count(const kl_json *obj);

/*
 * Walks an object's members in insertion order:
 *   for (struct kl_json_iter it = kl_json_members(obj); kl_json_next(&it, &key, &val);)
 * key and val are lent by obj; the object must not change during the walk.
 */
struct kl_json_iter {
        const void *entry;
};
struct kl_json_iter kl_json_members(const kl_json *obj);
bool kl_json_next(struct kl_json_iter *it, const char **key, kl_json **val);

/*
 * Typed member getters; the returned pointer is lent by obj.
 * KL_ERR_NOT_FOUND when the key is absent or null, KL_ERR_INVAL for a wrong type.
 */
int kl_json_get_string(const kl_json *obj, const char *key, const char **ret);
int kl_json_get_int(const kl_json *obj, const char *key, int64_t *ret);
int kl_json_get_bool(const kl_json *obj, const char *key, bool *ret);
int kl_json_get_object(const kl_json *obj, const char *key, kl_json **ret);
int kl_json_get_array(const kl_json *obj, const char *key, kl_json **ret);

/*
 * Serialises {"code": code, "status": status, "results": results}. Takes
 * ownership of results; NULL results become {} (registrar style). Returns a
 * heap string the caller frees, or NULL on ENOMEM.
 */
char *kl_json_envelope(int code, const char *status, kl_json *results);
/* The same with "results": null (the Rust agent's answer to ukey, vkey, revocation). */
char *kl_json_envelope_null(int code, const char *status);

/*
 * The envelope of kl_json_envelope cut open at one string member of results,
 * for a string too large to hold (json_stream.h): results[key] must be the
 * string "", where the caller wants the member. *ret_prefix is the text up
 * to and including that string's opening quote, *ret_suffix the rest from
 * its closing quote (heap strings the caller frees). Takes results.
 * KL_ERR_INVAL when key is not such a member, or its text "key":"" occurs
 * elsewhere in the envelope; KL_ERR_NOMEM.
 */
int kl_json_envelope_split(int code, const char *status, kl_json *results, const char *key,
                           char **ret_prefix, char **ret_suffix);

/* Adds key: base64(p[0..len)) to obj; KL_ERR_NOMEM on failure. */
int kl_json_add_b64(kl_json *obj, const char *key, const uint8_t *p, size_t len);

/* Serialises v compactly (no escaping of '/'); caller frees; NULL on ENOMEM. */
char *kl_json_to_string(const kl_json *v);

/* Layout choices of kl_json_format. */
enum {
        KL_JSON_PRETTY = 1 << 0,       /* one member per line, indented, ": " */
        KL_JSON_ESCAPE_SLASH = 1 << 1, /* '/' written as "\/" */
};
/* Serialises v with the KL_JSON_* flags; caller frees; NULL on ENOMEM. */
char *kl_json_format(const kl_json *v, unsigned flags);

#endif
