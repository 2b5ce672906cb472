/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM identity: EK (public area, certificate, NV chain), the
 * agent ID derived per the uuid option, and the AK (reused from
 * agent_data.json when it still fits, else created and persisted).
 */
#ifndef AGENT_IDENTITY_H
#define AGENT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tpm.h"

#define AGENT_ID_MAX 80

struct agent_identity {
        char agent_id[AGENT_ID_MAX + 1];
        uint8_t *ek_public; /* marshalled TPM2B_PUBLIC */
        size_t ek_public_len;
        char *ek_cert_pem;      /* EK certificate then NV chain, PEM; NULL when the TPM has none */
        uint8_t *platform_cert; /* DER TCG platform certificate; NULL = none (platform.h) */
        size_t platform_cert_len;
        uint8_t *ak_public; /* marshalled TPM2B_PUBLIC */
        size_t ak_public_len;
        bool ak_reused;
};

/* The TPM options of cfg (EK handle, owner password, algorithms); flush_leftovers false. */
struct kl_tpm_options identity_tpm_options(const struct kl_agent_config *cfg);

/* Loads the EK, reads its certificate, resolves the agent ID and loads or creates the AK. */
int identity_load(struct kl_tpm *tpm, const struct kl_agent_config *cfg,
                  struct agent_identity *ret);
void identity_clear(struct agent_identity *id);

/* lower-case hex SHA-256 of the EK public key in PEM (Keylime's hash_ek) into out[65]. */
int identity_hash_ek(const uint8_t *ek_public, size_t len, char out[65]);

#endif
