/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TCG platform certificate the agent sends with its registration (beyond
 * Keylime, in the extra field "platform_cert"): the DER file named by the
 * platform_cert option, else the TPM's NV index 0x01c08000.
 */
#ifndef AGENT_PLATFORM_H
#define AGENT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tpm.h"

/*
 * *ret_der (caller frees) is the certificate, or NULL when the option is empty
 * and the TPM has none; *ret_source says where it came from ("NV 0x01c08000" or
 * the file). A configured file that cannot be read is an error.
 */
int platform_cert_read(struct kl_tpm *tpm, const struct kl_agent_config *cfg, uint8_t **ret_der,
                       size_t *ret_len, const char **ret_source);

#endif
