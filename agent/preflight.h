/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_agent --check: a preflight an operator runs on a new machine before
 * enabling the service. It never registers and never writes to keylime_dir.
 */
#ifndef AGENT_PREFLIGHT_H
#define AGENT_PREFLIGHT_H

#include "config.h"

/*
 * Prints one line per check to stdout, "ok    <what>: <detail>", "warn  ..."
 * (reported, not a failure) or "FAIL  ...": configuration sources, keylime_dir,
 * TPM and TCTI, EK and EK certificate (chained to the CA certificates in
 * ek_ca_dir when not NULL), allocated PCR banks, IMA and measured-boot logs,
 * the secure tmpfs mount, the registrar's GET /version.
 * Returns 0 when no check failed, 1 otherwise.
 */
int preflight_run(const struct kl_agent_config *cfg, const char *ek_ca_dir);

#endif
