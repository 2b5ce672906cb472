/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registration with a Keylime registrar (API 2.x, plain HTTP as upstream's
 * pull agent): pick the API version from GET /version, POST the identity,
 * answer the MakeCredential challenge with ActivateCredential and PUT the
 * auth tag. Transient failures are retried with exponential back-off
 * (exponential_backoff_* options); a 403 is final.
 */
#ifndef AGENT_REGISTRATION_H
#define AGENT_REGISTRATION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "identity.h"
#include "tpm.h"

/*
 * mtls_cert_pem NULL registers "disabled". Returns 0 once the registrar marked
 * us active; KL_ERR_CANCELED when stop_fd (a signalfd, or -1) became readable
 * during a back-off wait.
 */
int registration_run(struct kl_tpm *tpm, const struct kl_agent_config *cfg,
                     const struct agent_identity *id, const char *mtls_cert_pem, int stop_fd);

/* Enabled agent API versions from the api_versions option, oldest first; NULL-terminated
 * static strings. */
int registration_enabled_versions(const char *api_versions, const char **out, size_t max,
                                  size_t *ret_n);

/*
 * The registrar answers the agent parses, apart from the HTTP exchange (and
 * fuzzed alone). registration_pick_version: a GET /version body; picks the
 * registrar's current_version when enabled, else the newest enabled one in
 * supported_versions (*ret is one of enabled, or NULL when the body names
 * neither); KL_ERR_UNSUPPORTED when it lists versions but none is enabled,
 * KL_ERR_INVAL when the body is not an envelope with results.
 */
int registration_pick_version(const char *body, size_t len, const char **enabled, size_t n_enabled,
                              const char **ret);
/* A POST /agents/{id} 200 body: results.blob, base64-decoded into *ret_blob (caller frees). */
int registration_parse_challenge(const char *body, size_t len, uint8_t **ret_blob, size_t *ret_len);

#endif
