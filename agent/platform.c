/* SPDX-License-Identifier: Apache-2.0 */
/* Reads the platform certificate (see platform.h); the registrar judges it, not the agent. */
#include "platform.h"

#include <stdlib.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "platform_cert.h"

int platform_cert_read(struct kl_tpm *tpm, const struct kl_agent_config *cfg, uint8_t **ret_der,
                       size_t *ret_len, const char **ret_source)
{
        char *data = NULL;
        int r;

        *ret_der = NULL;
        *ret_len = 0;
        if (cfg->platform_cert != NULL && cfg->platform_cert[0] != '\0') {
                *ret_source = cfg->platform_cert;
                if ((r = kl_file_read(cfg->platform_cert, KL_PLATFORM_CERT_MAX, &data, ret_len)) <
                    0) {
                        log_error("cannot read platform_cert %s: %s", cfg->platform_cert,
                                  kl_err_str(r));
                        return r;
                }
                *ret_der = (uint8_t *)data;
                return 0;
        }
        *ret_source = "NV 0x01c08000";
        r = kl_tpm_nv_read_der(tpm, KL_TPM_NV_PLATFORM_CERT, ret_der, ret_len);
        if (r == KL_ERR_NOT_FOUND || r == KL_ERR_INVAL) {
                log_debug("no platform certificate in NV 0x01c08000 (%s)", kl_err_str(r));
                return 0;
        }
        return r;
}
