/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's side of the push model's JSON:API bodies (Keylime
 * verifier API 3.0, proto-docs/push-model.md): strict parsers of what an
 * agent sends to /sessions and /agents/{id}/attestations, and the error
 * object every refusal carries. Pure functions over outside input: every
 * failure is KL_ERR_INVAL with a reason in why (sent back as the detail),
 * never a crash; the fuzzer runs exactly these.
 */
#ifndef VER_PUSH_JSON_H
#define VER_PUSH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rest.h"

#define VER_PUSH_MEDIA_TYPE "application/vnd.api+json"
#define VER_PUSH_BANKS      4 /* sha1, sha256, sha384, sha512: index = ver_push_bank_index */

/* POST /v3.0/sessions: the agent and "tpm_pop" among authentication_supported. */
int ver_push_parse_session_create(const char *body, size_t len,
                                  char ret_agent_id[KL_REST_AGENT_ID_MAX + 1], char *why,
                                  size_t why_len);

/* PATCH /v3.0/sessions/{id}: the TPM2_Certify proof, decoded. Free with ver_push_pop_clear. */
struct ver_push_pop {
        char agent_id[KL_REST_AGENT_ID_MAX + 1];
        uint8_t *message; /* TPMS_ATTEST */
        size_t message_len;
        uint8_t *signature; /* TPMT_SIGNATURE */
        size_t signature_len;
};
int ver_push_parse_session_pop(const char *body, size_t len, struct ver_push_pop *ret, char *why,
                               size_t why_len);
void ver_push_pop_clear(struct ver_push_pop *p);

/* POST /v3.0/agents/{id}/attestations: what the agent can provide. */
struct ver_push_caps {
        bool quote;                 /* a tpm_quote capability was offered */
        uint32_t hash_algs;         /* bit ver_push_bank_index(alg) per hash_algorithms entry */
        bool rsassa, rsapss, ecdsa; /* signature_schemes */
        uint32_t subjects[VER_PUSH_BANKS]; /* available_subjects: PCR mask per bank */
        bool ima;                          /* ima_log offered with partial access, text/plain */
        int64_t ima_entry_count;
        bool uefi;          /* uefi_log offered as application/octet-stream */
        char boot_time[40]; /* system_info.boot_time; "" when absent */
};
int ver_push_parse_capabilities(const char *body, size_t len, struct ver_push_caps *ret, char *why,
                                size_t why_len);

/* PATCH /v3.0/agents/{id}/attestations/{index}: the evidence. Free with ver_push_evidence_clear. */
struct ver_push_evidence {
        char *quote;       /* "r<message>:<signature>:<subject_data>", the pull-mode form */
        char *ima_entries; /* NULL when no ima_log item */
        size_t ima_len;
        char *uefi_log; /* base64 (checked); NULL when no uefi_log item */
};
int ver_push_parse_evidence(const char *body, size_t len, struct ver_push_evidence *ret, char *why,
                            size_t why_len);
void ver_push_evidence_clear(struct ver_push_evidence *e);

/* 0 sha1, 1 sha256, 2 sha384, 3 sha512, -1 for anything else. */
int ver_push_bank_index(const char *name);

/* {"errors": [{"status": "<code>", "title": ..., "detail": detail}]}; NULL on ENOMEM. */
char *ver_push_error_body(int code, const char *detail);

#endif
