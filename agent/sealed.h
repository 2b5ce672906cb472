/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed transfer (our extension, agent-api.md "Sealed objects"): a verifier
 * sends an AES key or an RSA private key duplicated to this TPM's EK behind a
 * PolicyPCR policy (POST /v2.x/keys/sealed); the agent imports it and keeps
 * only the TPM's blob in <keylime_dir>/sealed/NAME.json. This file owns the
 * request body, the stored record and their shared fields; the TPM work is
 * lib/tpm's (kl_tpm_import, kl_tpm_unseal, kl_tpm_sign_rsassa).
 */
#ifndef AGENT_SEALED_H
#define AGENT_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "key_record.h" /* KEY_RECORD_NAME_MAX */

/* Bytes of each base64 field of a request (a TPM2B_PUBLIC is < 1 KiB). */
#define SEALED_BLOB_MAX 3072

enum sealed_kind { SEALED_AES, SEALED_RSA };

struct sealed_object {
        char name[KEY_RECORD_NAME_MAX + 1];
        enum sealed_kind kind;
        uint16_t bank; /* TPM_ALG_ID of the PCR bank */
        uint32_t mask; /* PCRs 0..23 the policy covers */
        uint8_t *pub;  /* TPM2B_PUBLIC */
        size_t pub_len;
        uint8_t *priv; /* request: the duplicate; record: the TPM2B_PRIVATE Import made */
        size_t priv_len;
        uint8_t *seed; /* request only: TPM2B_ENCRYPTED_SECRET */
        size_t seed_len;
        uint8_t *parent; /* request only: the Name of the EK it was wrapped for */
        size_t parent_len;
};

void sealed_object_free(struct sealed_object *o); /* NULL-safe */

/*
 * Parses POST /keys/sealed: {"name", "kind": "aes"|"rsa", "bank", "pcrs":
 * [0, 7], "public", "duplicate", "seed", "parent"}. The public area must be of the
 * kind's type and usable only through its policy (userWithAuth clear, a
 * policy set). Returns 0 and *ret, or 400 with a status text in err. The
 * fuzz target drives this.
 */
int sealed_parse_request(const char *body, size_t len, struct sealed_object **ret, char *err,
                         size_t err_len);

/* Writes <keylime_dir>/sealed/NAME.json (mode 0600, atomically; the folder 0700). */
int sealed_record_store(const char *keylime_dir, const struct sealed_object *o);
/* Reads it back; KL_ERR_NOT_FOUND when there is no object of that name. */
int sealed_record_load(const char *keylime_dir, const char *name, struct sealed_object **ret);

/* "sha256:0,7": the policy's PCRs, for messages. */
void sealed_pcrs_str(const struct sealed_object *o, char *out, size_t len);
const char *sealed_kind_name(enum sealed_kind kind);

#endif
