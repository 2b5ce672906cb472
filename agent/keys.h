/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bootstrap key K = U xor V (Keylime secret delivery, agent API 2.x
 * /keys/ukey, /keys/vkey, /keys/verify). Owns the shares that wait for their
 * partner and the current K; all of it is secret and wiped when dropped.
 * Never logs key material. Thread-safe: the HTTP workers share one state.
 */
#ifndef AGENT_KEYS_H
#define AGENT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Shares waiting for a partner, per kind; the oldest is dropped beyond this. */
#define KEYS_PENDING_MAX 16
#define KEYS_KEY_MAX     32
/* A payload is at most the request body (4 MiB); the decoded ciphertext is smaller. */
#define KEYS_PAYLOAD_MAX (4u << 20)
/* Room for the sender's certificate CN (the server caps it below this). */
#define KEYS_SENDER_MAX 256

enum keys_kind { KEYS_U, KEYS_V };

/* One decrypted share as received. */
struct keys_share {
        enum keys_kind kind;
        uint8_t key[KEYS_KEY_MAX];
        size_t key_len;                  /* 16 or 32 */
        uint8_t auth_tag[KL_SHA384_LEN]; /* U only */
        uint8_t *payload; /* U only, optional: IV || ciphertext || tag; NULL = none */
        size_t payload_len;
        /* subject CN of the client certificate that sent it; "" = unauthenticated */
        char sender[KEYS_SENDER_MAX];
};

/* Wipes the key and the payload and frees the share. NULL-safe. */
void keys_share_free(struct keys_share *s);

/*
 * Parses a ukey or vkey body (JSON) and RSA-OAEP-decrypts (SHA-1, no label)
 * encrypted_key with the NK. On success returns 0 and *ret (caller frees with
 * keys_share_free); otherwise returns 400 and writes the upstream agent's
 * status text into err (agent-api.md §5.5/§5.6). This is the handler's only
 * parser, and the one the fuzz target drives.
 */
int keys_parse_request(EVP_PKEY *nk, enum keys_kind kind, const char *body, size_t len,
                       struct keys_share **ret, char *err, size_t err_len);

struct keys_state;

/* uuid: the agent ID the tenant's auth tag is computed over (copied). */
int keys_state_new(const char *uuid, struct keys_state **ret);
void keys_state_free(struct keys_state *st); /* NULL-safe; wipes everything */

/*
 * Adds a share (ownership moves in, even on error) and tries every waiting
 * (U, V) pair: K' = U xor V of equal lengths is accepted when
 * HMAC-SHA-384(K', uuid) equals the U's auth tag (constant-time). On a match
 * both lists are emptied and K' replaces the current K.
 *
 * Once a K exists it is bound to the verifier that delivered its V (the V
 * share's sender): a V from anyone else is refused with KL_ERR_EXISTS, so a
 * client with some other certificate from the trusted CA cannot replace K
 * (CVE-2021-43310 class). A V from that same verifier resets the binding
 * (re-adding the agent); an unauthenticated V ("" sender) never does, and a
 * restart clears it. U shares are still accepted: a U alone cannot complete
 * a pair without that verifier's V. *ret_matched tells
 * whether that happened; then, if the U carried a payload, *ret_payload /
 * *ret_payload_len hand it over (caller wipes and frees) and *ret_k gets a
 * copy of K (*ret_k_len bytes; the caller wipes it). Otherwise these stay
 * NULL / 0. *ret_seq numbers the matches (1, 2, ...; 0 when none): HTTP
 * threads hand the payload over after the lock is released, so the worker
 * uses it to refuse a payload that arrives after a newer K's.
 */
int keys_add(struct keys_state *st, struct keys_share *share, bool *ret_matched,
             uint8_t **ret_payload, size_t *ret_payload_len, uint8_t ret_k[KEYS_KEY_MAX],
             size_t *ret_k_len, uint64_t *ret_seq);

/* How many U and V shares are waiting (tests and bounds). */
void keys_pending(struct keys_state *st, size_t *ret_u, size_t *ret_v);

/*
 * hex(HMAC-SHA-384(K, challenge)) into out. KL_ERR_NOT_FOUND while there is
 * no K ("Bootstrap key not yet available.").
 */
int keys_verify_hmac(struct keys_state *st, const char *challenge,
                     char out[KL_HMAC_SHA384_HEX_LEN + 1]);

#endif
