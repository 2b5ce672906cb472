/* SPDX-License-Identifier: Apache-2.0 */
/* Load or create the agent's TLS key and self-signed certificate (see server_cert.h). */
#include "server_cert.h"

#include <stdlib.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

/* Long enough to outlive any deployment; the verifier pins the certificate anyway. */
#define SERVER_CERT_DAYS 3650

int server_cert_load_or_create(const struct kl_agent_config *cfg, const char *agent_id,
                               char **ret_cert_pem)
{
        EVP_PKEY *key = NULL;
        X509 *cert = NULL;
        int r;

        r = kl_key_load_pem(cfg->server_key, cfg->server_key_password, &key);
        if (r == KL_ERR_NOT_FOUND) {
                if ((r = kl_key_generate_ec_p256(&key)) < 0 ||
                    (r = kl_key_save_pem(cfg->server_key, key, cfg->server_key_password)) < 0) {
                        log_error("cannot create the TLS key %s: %s", cfg->server_key,
                                  kl_err_str(r));
                        goto out;
                }
                log_info("created TLS key %s", cfg->server_key);
        } else if (r < 0) {
                log_error("cannot load the TLS key %s: %s", cfg->server_key, kl_err_str(r));
                goto out;
        }

        r = kl_x509_load_file(cfg->server_cert, &cert);
        if (r == 0) {
                if (!kl_x509_matches_key(cert, key)) {
                        log_error("the TLS certificate %s does not match the key %s",
                                  cfg->server_cert, cfg->server_key);
                        r = KL_ERR_KEY_MISMATCH;
                        goto out;
                }
        } else if (r == KL_ERR_NOT_FOUND) {
                if ((r = kl_x509_self_signed(key, agent_id, cfg->contact_ip, SERVER_CERT_DAYS,
                                             &cert)) < 0 ||
                    (r = kl_x509_save_pem(cfg->server_cert, cert)) < 0) {
                        log_error("cannot create the TLS certificate %s: %s", cfg->server_cert,
                                  kl_err_str(r));
                        goto out;
                }
                log_info("created self-signed TLS certificate %s", cfg->server_cert);
        } else {
                log_error("cannot load the TLS certificate %s: %s", cfg->server_cert,
                          kl_err_str(r));
                goto out;
        }
        r = kl_x509_to_pem(cert, ret_cert_pem);
out:
        kl_x509_free(cert);
        kl_pkey_free(key);
        return r;
}
