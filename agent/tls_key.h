/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's mTLS server key inside its TPM (our extension, option
 * certified_server_key; proto-docs/certified-key.md): a key created and
 * certified with `keylime_verifier_stub certify` signs the TLS handshakes,
 * so the private key the verifier pins never exists outside the TPM. Its
 * CA-issued certificate is what the agent serves and registers as mtls_cert.
 */
#ifndef AGENT_TLS_KEY_H
#define AGENT_TLS_KEY_H

#include "agent.h"
#include "certified_key.h"
#include "http_server.h"

/*
 * Reads certified key NAME from keylime_dir; it must have its certificate.
 * Logs why not. The caller frees *ret (certified_key_free).
 */
int tls_key_load(const struct kl_agent_config *cfg, struct certified_key **ret);
/* A signer for the server options: the agent's TPM under tpm_lock. */
void tls_key_signer(struct agent *a, struct kl_http_tls_signer *ret);

#endif
