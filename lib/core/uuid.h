/* SPDX-License-Identifier: Apache-2.0 */
/* UUID strings: random v4 generation, validation and normalisation. */
#ifndef KL_UUID_H
#define KL_UUID_H

#include <stdbool.h>
#include <stddef.h>

#define KL_UUID_STR_LEN 36

/* Random version-4 UUID, lower-case hyphenated, into out[37]. */
int kl_uuid_generate(char out[KL_UUID_STR_LEN + 1]);
/* True for 8-4-4-4-12 hex digits (either case). */
bool kl_uuid_is_valid(const char *s);
/* Lower-cases a valid UUID into out[37]; KL_ERR_INVAL otherwise. */
int kl_uuid_normalize(const char *s, char out[KL_UUID_STR_LEN + 1]);
/*
 * Agent IDs as the registrar accepts them: 1..80 characters from
 * [A-Za-z0-9._-] (UUIDs, 64-hex hash_ek IDs, host names).
 */
bool kl_agent_id_is_valid(const char *s, size_t len);

#endif
