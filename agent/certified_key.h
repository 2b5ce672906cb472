/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certified keys (our extension, agent-api.md "Certified keys",
 * proto-docs/certified-key.md): a verifier asks the agent to create a
 * signing key in its TPM and certify it with the AK over its nonce (POST
 * /keys/certify), sends back the X.509 certificate its CA issued for it
 * (POST /keys/certificate) and has the key sign a challenge (POST
 * /keys/prove). This file owns the three request bodies and the record kept
 * in <keylime_dir>/certified/NAME.json; the TPM work is lib/tpm's
 * (kl_tpm_certified_create, kl_tpm_certified_sign).
 */
#ifndef AGENT_CERTIFIED_KEY_H
#define AGENT_CERTIFIED_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key_record.h" /* KEY_RECORD_NAME_MAX: the names of sealed objects too */
#include "nonce.h"

#define CERTIFIED_CHALLENGE_MAX 1024        /* bytes a prove request may ask to sign */
#define CERTIFIED_CERT_MAX      (16 * 1024) /* characters of a certificate PEM */

enum certified_route { CERTIFIED_CERTIFY, CERTIFIED_CERTIFICATE, CERTIFIED_PROVE };

/*
 * certify:     {"name", "alg": "rsa"|"ecc", "nonce": 1..64 of [A-Za-z0-9]}
 * certificate: {"name", "certificate": PEM}
 * prove:       {"name", "challenge": base64 of 1..CERTIFIED_CHALLENGE_MAX bytes}
 */
struct certified_request {
        char name[KEY_RECORD_NAME_MAX + 1];
        bool ecc;
        char nonce[KL_NONCE_MAX + 1];
        char *cert_pem;
        uint8_t *challenge;
        size_t challenge_len;
};
void certified_request_clear(struct certified_request *q);
/* 0, or 400 with a status text in err (500 when out of memory). The fuzz target drives this. */
int certified_parse_request(enum certified_route route, const char *body, size_t len,
                            struct certified_request *ret, char *err, size_t err_len);

/* What the agent keeps: the TPM's blobs and, once issued, the certificate. */
struct certified_key {
        char name[KEY_RECORD_NAME_MAX + 1];
        bool ecc;
        uint8_t *pub; /* TPM2B_PUBLIC */
        size_t pub_len;
        uint8_t *priv; /* TPM2B_PRIVATE (loadable by this TPM only) */
        size_t priv_len;
        char *cert_pem; /* NULL until POST /keys/certificate */
};
void certified_key_free(struct certified_key *k); /* NULL-safe */
/* Writes <keylime_dir>/certified/NAME.json (0600, atomically; the folder 0700). */
int certified_record_store(const char *keylime_dir, const struct certified_key *k);
/* Reads it back; KL_ERR_NOT_FOUND when there is no key of that name. */
int certified_record_load(const char *keylime_dir, const char *name, struct certified_key **ret);

#endif
