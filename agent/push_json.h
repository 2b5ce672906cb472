/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's side of the push model's JSON:API bodies (Keylime verifier
 * API 3.0, proto-docs/push-model.md): the requests it sends and strict
 * parsers of the verifier's answers. The parsers take outside input: any
 * failure is KL_ERR_INVAL with a reason in why, never a crash (fuzzed).
 */
#ifndef AGENT_PUSH_JSON_H
#define AGENT_PUSH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PUSH_MEDIA_TYPE    "application/vnd.api+json"
#define PUSH_ID_MAX        128 /* session and attestation ids */
#define PUSH_TOKEN_MAX     512
#define PUSH_CHALLENGE_MAX 64 /* bytes: what TPM2B_DATA can hold */

/* {"data": {"type": "session", "attributes": {agent_id, authentication_supported}}} */
char *push_json_session_request(const char *agent_id);
/* The PATCH body with the TPM2_Certify proof. */
char *push_json_session_proof(const char *session_id, const char *agent_id, const uint8_t *attest,
                              size_t attest_len, const uint8_t *sig, size_t sig_len);

/* What the capabilities request describes (see push_json_capabilities). */
struct push_caps {
        const char *hash_alg; /* "sha256": the AK's hash and the quoted bank */
        const char *sign_alg; /* "rsassa" */
        bool rsa;
        unsigned key_bits;
        const char *ak_name_hex;
        const char *ak_public_b64; /* TPM2B_PUBLIC as registered (aik_tpm) */
        const char *server_identifier;
        int64_t ima_entries; /* -1: no IMA log */
        bool uefi;
        const char *uefi_version;
        const char *boot_time; /* ISO 8601 UTC */
};
char *push_json_capabilities(const struct push_caps *c);

struct push_evidence {
        const char *quote; /* "r<attest>:<sig>:<pcrblob>": split into the three fields */
        const char *ima;   /* NULL: no ima_log item */
        size_t ima_len;
        uint64_t ima_count;
        const char *uefi_b64; /* NULL: no uefi_log item */
};
char *push_json_evidence(const struct push_evidence *e);

/* 200 to POST /sessions: the session id and the decoded challenge. */
int push_json_parse_challenge(const char *body, size_t len, char ret_id[PUSH_ID_MAX + 1],
                              uint8_t ret_challenge[PUSH_CHALLENGE_MAX], size_t *ret_len, char *why,
                              size_t why_len);
/* 200 to PATCH /sessions/{id}: evaluation "pass" and the token. Wipe ret_token after use. */
int push_json_parse_token(const char *body, size_t len, char ret_token[PUSH_TOKEN_MAX + 1],
                          char *why, size_t why_len);

/* 201 to POST /attestations: what the verifier asks for. */
struct push_request {
        char index[PUSH_ID_MAX + 1]; /* data.id; "" when absent (upstream: Location only) */
        uint8_t challenge[PUSH_CHALLENGE_MAX];
        size_t challenge_len;
        char hash_alg[16];
        char sign_alg[16];
        uint32_t mask; /* selected_subjects[hash_alg]; 0 = none asked */
        bool ima;
        uint64_t ima_offset;
        uint64_t ima_max; /* chosen entry_count; 0 = no limit */
        bool uefi;
};
int push_json_parse_request(const char *body, size_t len, struct push_request *ret, char *why,
                            size_t why_len);
/* 202 to PATCH: meta.seconds_to_next_attestation (0 when absent), data.attributes.evaluation. */
int push_json_parse_accepted(const char *body, size_t len, long *ret_next_s,
                             char ret_evaluation[16]);
/* errors[0].detail of a JSON:API error answer into out ("" when there is none). */
void push_json_error_detail(const char *body, size_t len, char *out, size_t out_len);

#endif
