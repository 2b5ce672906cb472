/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_data.json: the persisted AK, in the Rust agent's format so either
 * agent can take over the other's state:
 *   {"ak_hash_alg": "Sha256", "ak_sign_alg": "RsaSsa",
 *    "ak_public": [bytes of TPMT_PUBLIC], "ak_private": [bytes of TPM2B_PRIVATE buffer],
 *    "ek_hash": [ASCII bytes of the hash_ek hex string]}
 * The AK is reused only when the algorithms and the EK hash all match.
 */
#ifndef AGENT_DATA_H
#define AGENT_DATA_H

#include "tpm.h"

struct agent_data {
        char *ak_hash_alg;
        char *ak_sign_alg;
        char *ek_hash; /* hex string */
        struct kl_tpm_ak_blob ak;
};

/* KL_ERR_NOT_FOUND when the file does not exist; KL_ERR_INVAL when it is malformed. */
int agent_data_load(const char *path, struct agent_data *ret);
/* Writes atomically with mode 0600. */
int agent_data_save(const char *path, const struct agent_data *data);
void agent_data_clear(struct agent_data *data);

#endif
