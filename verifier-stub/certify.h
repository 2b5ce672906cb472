/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The certify command (certified keys, proto-docs/certified-key.md): has
 * the agent create a signing key in its TPM and certify it with its AK
 * over a fresh nonce, checks that certification against the AK the
 * registrar holds, issues the key an X.509 certificate from --issuer-cert
 * and --issuer-key, hands it to the agent, and checks the agent's signature
 * over a challenge with the certificate's key. A key that fails a check
 * gets no certificate; the reason is printed. Returns an exit code.
 */
#ifndef VER_CERTIFY_H
#define VER_CERTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"

struct ver_certify_options {
        const struct ver_client_options *client; /* uuid, registrar, TLS files, agent */
        const char *out;                         /* where the certificate PEM goes */
        const char *subject;                     /* "/CN=a/O=b" or a CN; default the UUID */
        const char *alg;                         /* "rsa" (default) or "ecc" */
        const char *name;                        /* the agent's name for it; default "certified" */
        const char *issuer_cert;                 /* the CA that issues it */
        const char *issuer_key;
        const char *days; /* validity, default 365 */
};

int ver_certify(const struct ver_certify_options *o);

/* The agent's answer to POST /keys/certify, decoded; nothing in it is checked yet. */
struct ver_certify_answer {
        uint8_t *pub; /* TPM2B_PUBLIC of the key */
        size_t pub_len;
        uint8_t *attest; /* certify_info: TPMS_ATTEST */
        size_t attest_len;
        uint8_t *sig; /* TPMT_SIGNATURE by the AK */
        size_t sig_len;
};
/*
 * {"results": {"public", "certify_info", "signature"}} (base64 each, at most
 * 4096 characters): 0 and *ret (clear it), or KL_ERR_INVAL with the reason on
 * stderr. The fuzz target drives this.
 */
int ver_certify_parse_answer(const char *body, size_t len, struct ver_certify_answer *ret);
void ver_certify_answer_clear(struct ver_certify_answer *a); /* NULL-safe */

#endif
