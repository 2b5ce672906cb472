/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TLS identity: server_key (generated ECC P-256, PKCS#8, 0600,
 * when missing) and server_cert (self-signed, CN = agent ID, SAN =
 * contact_ip, when missing). The certificate PEM is what the agent
 * registers as mtls_cert; verifier and tenant pin it.
 */
#ifndef AGENT_SERVER_CERT_H
#define AGENT_SERVER_CERT_H

#include "config.h"

/* Returns the certificate PEM (caller frees). */
int server_cert_load_or_create(const struct kl_agent_config *cfg, const char *agent_id,
                               char **ret_cert_pem);

#endif
