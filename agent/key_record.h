/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the agent keeps of keys that live in its TPM, sealed objects
 * (sealed.h) and certified keys (certified_key.h): one JSON object per key
 * in <keylime_dir>/<folder>/NAME.json, written atomically and readable by
 * the agent's user only, and the fields their requests and records share.
 * A name is checked before it becomes part of a path.
 */
#ifndef AGENT_KEY_RECORD_H
#define AGENT_KEY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* Key names: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
#define KEY_RECORD_NAME_MAX 64
bool key_record_name_ok(const char *s);

/* obj's "name", a valid name, copied to out (KEY_RECORD_NAME_MAX + 1 bytes); or 400 and err. */
int key_record_name_field(const kl_json *obj, char *out, char *err, size_t err_len);
/* obj[key]: base64 of 1..max bytes, decoded into *ret (caller frees); or 400 and err. */
int key_record_b64_field(const kl_json *obj, const char *key, size_t max, uint8_t **ret,
                         size_t *ret_len, char *err, size_t err_len);

/* Writes obj to <keylime_dir>/<folder>/NAME.json (mode 0600; the folder 0700). */
int key_record_store(const char *keylime_dir, const char *folder, const char *name,
                     const kl_json *obj);
/*
 * Reads that file (at most max bytes) as a JSON object into *ret (caller
 * frees), its path into path for messages: KL_ERR_NOT_FOUND when there is
 * none, KL_ERR_INVAL for a bad name or a file that is not a JSON object.
 */
int key_record_load(const char *keylime_dir, const char *folder, const char *name, size_t max,
                    kl_json **ret, char *path, size_t path_len);

#endif
