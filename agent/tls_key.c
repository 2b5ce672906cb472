/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's mTLS server key inside its TPM (see tls_key.h). */
#include "tls_key.h"

#include "err.h"
#include "log.h"
#include "quote_evidence.h"
#include "tpm.h"

int tls_key_load(const struct kl_agent_config *cfg, struct certified_key **ret)
{
        struct certified_key *k = NULL;
        int r = certified_record_load(cfg->keylime_dir, cfg->certified_server_key, &k);

        if (r < 0) {
                log_error("certified_server_key '%s': no such certified key in %s (%s); create it "
                          "with keylime_verifier_stub certify --name %s",
                          cfg->certified_server_key, cfg->keylime_dir, kl_err_str(r),
                          cfg->certified_server_key);
                return r;
        }
        if (k->cert_pem == NULL) {
                log_error("certified_server_key '%s' has no certificate yet", k->name);
                certified_key_free(k);
                return KL_ERR_NOT_FOUND;
        }
        *ret = k;
        return 0;
}

/* One handshake signature; the TPM is shared with the API handlers. */
static int sign(void *ctx, enum kl_tls_sign_scheme scheme, const uint8_t digest[32],
                uint8_t **ret_sig, size_t *ret_len)
{
        struct agent *a = ctx;
        const struct certified_key *k = a->tls_key;
        int r;

        pthread_mutex_lock(&a->tpm_lock);
        r = kl_tpm_certified_sign(a->tpm, k->pub, k->pub_len, k->priv, k->priv_len, digest,
                                  scheme == KL_TLS_SIGN_RSA_PSS, ret_sig, ret_len);
        agent_note_tpm_lost(a, r);
        pthread_mutex_unlock(&a->tpm_lock);
        return r;
}

void tls_key_signer(struct agent *a, struct kl_http_tls_signer *ret)
{
        *ret = (struct kl_http_tls_signer){
            .ecc = a->tls_key->ecc, .rsa_bits = 2048, .sign = sign, .ctx = a};
}
