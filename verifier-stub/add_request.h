/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The body of POST /v2.x/agents/{id} to the verifier stub: outside input,
 * parsed and validated whole (address, TPM policy, IMA and measured-boot
 * policies, V share) before anything is stored. Pure, like verify.h.
 */
#ifndef VER_ADD_REQUEST_H
#define VER_ADD_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "verify.h"

/* POST /v2.x/agents/{id} body, see proto-docs/verifier-stub.md. */
struct ver_add_request {
        char *ip;     /* NULL = from the registrar */
        int64_t port; /* -1 = from the registrar */
        struct ver_tpm_policy tpm_policy;
        char *tpm_policy_json; /* normalised; never NULL after success */
        char *ima_policy;      /* compact JSON text; NULL = none */
        char *mb_policy;       /* compact JSON text; NULL = none */
        char *v;               /* base64 of the V share (16 or 32 bytes); NULL = none */
};
/* Parses and validates the whole request (policies included). */
int ver_add_request_parse(const char *body, size_t len, struct ver_add_request *ret, char *why,
                          size_t why_len);
void ver_add_request_clear(struct ver_add_request *r);

#endif
