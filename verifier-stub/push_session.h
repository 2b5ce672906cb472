/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push-model authentication sessions (verifier API 3.0 /sessions, proto
 * push-model.md section 3), in memory: a verifier restart forgets every
 * token, so agents authenticate again (as after any 401). A session is
 * created with a one-time challenge; the first proof answers it for good
 * (a replayed proof finds no session); a passing proof activates a bearer
 * token "<session id>.<secret>" valid for the session lifetime, extended by
 * each accepted use, and revokes the agent's older tokens. Thread-safe.
 */
#ifndef VER_PUSH_SESSION_H
#define VER_PUSH_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "uuid.h"
#include "verify.h"

struct ver_push_sessions;

#define VER_PUSH_TOKEN_MAX      (KL_UUID_STR_LEN + 1 + 64)
#define VER_PUSH_SESSIONS_MAX   4096 /* pending and active together */
#define VER_PUSH_CHALLENGE_LIFE 60   /* seconds, upstream's nonce_lifetime */
#define VER_PUSH_SESSION_LIFE   180  /* seconds, upstream's session_lifetime */

int ver_push_sessions_new(struct ver_push_sessions **ret);
void ver_push_sessions_free(struct ver_push_sessions *s); /* NULL-safe; wipes tokens */

/* A pending session with a fresh challenge; KL_ERR_TOO_LONG when the table is full. */
int ver_push_session_create(struct ver_push_sessions *s, const char *agent_id,
                            char ret_id[KL_UUID_STR_LEN + 1], char ret_nonce[VER_NONCE_LEN + 1],
                            time_t *ret_expires);
/*
 * Takes the challenge of pending session id for agent_id, once: the session
 * leaves the pending state whatever the outcome. KL_ERR_NOT_FOUND (unknown,
 * already answered, or another agent's), KL_ERR_VERIFY when the challenge expired.
 */
int ver_push_session_take(struct ver_push_sessions *s, const char *id, const char *agent_id,
                          char ret_nonce[VER_NONCE_LEN + 1], time_t *ret_created,
                          time_t *ret_expires);
/* After a passing proof: the bearer token of session id (the agent's older ones are revoked). */
int ver_push_session_activate(struct ver_push_sessions *s, const char *id, const char *agent_id,
                              char ret_token[VER_PUSH_TOKEN_MAX + 1], time_t *ret_expires);
/*
 * 0 when token is the agent's live token (its lifetime is then extended),
 * KL_ERR_VERIFY otherwise (unknown, expired, revoked, another agent's).
 */
int ver_push_session_check(struct ver_push_sessions *s, const char *agent_id, const char *token);

#endif
