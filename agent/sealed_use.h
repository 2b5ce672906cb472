/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's commands that use a sealed object (keylime_agent(8) --unseal,
 * --sign): each opens the TPM as a passer-by, loads the stored object under
 * the EK and uses it through a PolicyPCR session, so it works only while the
 * PCRs hold the values it was sealed to. Each returns a process exit code.
 */
#ifndef AGENT_SEALED_USE_H
#define AGENT_SEALED_USE_H

#include "config.h"

/* Unseals an AES key into <keylime_dir>/secure/unsealed/NAME (0600); prints the path. */
int sealed_use_unseal(const struct kl_agent_config *cfg, const char *name);
/* Signs in_file (RSASSA-PKCS1-v1_5, SHA-256) with the RSA key NAME; the raw signature to out_file.
 */
int sealed_use_sign(const struct kl_agent_config *cfg, const char *name, const char *in_file,
                    const char *out_file);

#endif
