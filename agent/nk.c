/* SPDX-License-Identifier: Apache-2.0 */
/* Load or create the payload transport key (see nk.h). */
#include "nk.h"

#include <string.h>

#include "err.h"
#include "log.h"

#define NK_BITS 2048

int nk_load_or_create(struct agent *a)
{
        const struct kl_agent_config *cfg = a->cfg;
        EVP_PKEY *key = NULL;
        int r;

        r = kl_key_load_pem(cfg->payload_key, cfg->payload_key_password, &key);
        if (r == KL_ERR_NOT_FOUND) {
                if ((r = kl_key_generate_rsa(NK_BITS, &key)) < 0 ||
                    (r = kl_key_save_pem(cfg->payload_key, key, cfg->payload_key_password)) < 0) {
                        log_error("cannot create the payload key %s: %s", cfg->payload_key,
                                  kl_err_str(r));
                        goto out;
                }
                log_info("created payload key %s", cfg->payload_key);
        } else if (r < 0) {
                log_error("cannot load the payload key %s: %s", cfg->payload_key, kl_err_str(r));
                goto out;
        }
        if (!kl_pkey_is_rsa(key)) {
                log_error("the payload key %s is not an RSA key", cfg->payload_key);
                r = KL_ERR_UNSUPPORTED;
                goto out;
        }
        if ((r = kl_pubkey_to_pem(key, &a->nk_pem)) < 0 ||
            (r = kl_digest(cfg->tpm_hash_alg, a->nk_pem, strlen(a->nk_pem), a->nk_digest,
                           &a->nk_digest_len)) < 0)
                goto out;
        a->nk = key;
        key = NULL;
out:
        kl_pkey_free(key);
        return r;
}
