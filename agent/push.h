/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push model (Keylime verifier API 3.0, proto-docs/push-model.md): the agent
 * opens no port; it authenticates to the verifier with a TPM proof of
 * possession, negotiates what to send and submits evidence every
 * attestation_interval_seconds, following upstream's state machine. Beyond
 * upstream it also submits at once (at most once a second) when the IMA log
 * grows or a PCR the verifier asked for changes, and keeps the IMA evidence
 * incremental from the verifier's starting_offset.
 */
#ifndef AGENT_PUSH_H
#define AGENT_PUSH_H

#include <stdbool.h>

#include "agent.h"
#include "config.h"
#include "identity.h"

/*
 * Push mode is chosen as upstream chooses its push agent: by running the
 * program as keylime_push_model_agent (or keylime-push-model-agent, e.g. a
 * symlink), or by an api_versions option that names only 3.0.
 */
bool push_mode_selected(const char *argv0, const struct kl_agent_config *cfg);

/* Attests until stop_fd (a signalfd) becomes readable; 0 then, < 0 on a fatal error. */
int push_run(struct agent *a, const struct agent_identity *id, int stop_fd);

#endif
