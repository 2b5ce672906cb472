/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolves the agent's TPM identity (see identity.h). Upstream's rule holds:
 * the same EK and the same algorithms give the same AK across restarts, so a
 * restarted agent is accepted by a registrar that refuses identity changes.
 */
#include "identity.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_data.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "log.h"
#include "platform.h"
#include "tpm_public.h"
#include "uuid.h"

int identity_hash_ek(const uint8_t *ek_public, size_t len, char out[65])
{
        struct kl_tpm_public *pub = NULL;
        EVP_PKEY *key = NULL;
        char *pem = NULL;
        uint8_t digest[KL_MAX_DIGEST_LEN];
        size_t dlen = 0;
        int r;

        if ((r = kl_tpm_public_parse(ek_public, len, &pub)) < 0 ||
            (r = kl_tpm_public_to_pkey(pub, &key)) < 0 || (r = kl_pubkey_to_pem(key, &pem)) < 0 ||
            (r = kl_digest("sha256", pem, strlen(pem), digest, &dlen)) < 0)
                goto out;
        kl_hex_encode_to(digest, dlen, out);
out:
        free(pem);
        kl_pkey_free(key);
        kl_tpm_public_free(pub);
        return r;
}

/* The host's fully qualified name, falling back to the plain host name. */
static int fqdn(char *out, size_t len)
{
        struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
        char host[256];

        if (gethostname(host, sizeof(host)) != 0)
                return KL_ERR_SYSTEM;
        host[sizeof(host) - 1] = '\0';
        if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai->ai_canonname != NULL)
                snprintf(out, len, "%s", ai->ai_canonname);
        else
                snprintf(out, len, "%s", host);
        freeaddrinfo(ai);
        return 0;
}

static int resolve_agent_id(const char *mode, const char *ek_hash, char *out, size_t len)
{
        char buf[256];

        if (strcmp(mode, "hash_ek") == 0) {
                snprintf(out, len, "%s", ek_hash);
                return 0;
        }
        if (strcmp(mode, "hostname") == 0) {
                /* An extension the Python agent had; the ID must still be registrar-safe. */
                if (fqdn(buf, sizeof(buf)) == 0 && kl_agent_id_is_valid(buf, strlen(buf))) {
                        snprintf(out, len, "%s", buf);
                        return 0;
                }
                log_warn("host name is not usable as an agent ID; using a random UUID");
        } else if (kl_uuid_normalize(mode, buf) == 0) {
                snprintf(out, len, "%s", buf);
                return 0;
        } else if (strcmp(mode, "generate") != 0) {
                /* Upstream semantics: an unknown mode falls back to a random UUID. */
                log_warn("misformatted UUID '%.80s'; using a random UUID", mode);
        }
        if (kl_uuid_generate(buf) < 0)
                return KL_ERR_SYSTEM;
        snprintf(out, len, "%s", buf);
        return 0;
}

static int append_pem(char **acc, const uint8_t *der, size_t der_len)
{
        X509 *cert = NULL;
        char *pem = NULL, *joined = NULL;
        size_t old = *acc != NULL ? strlen(*acc) : 0;
        int r;

        if ((r = kl_x509_parse_any(der, der_len, &cert)) < 0 ||
            (r = kl_x509_to_pem(cert, &pem)) < 0)
                goto out;
        if ((joined = realloc(*acc, old + strlen(pem) + 1)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(joined + old, pem, strlen(pem) + 1);
        *acc = joined;
out:
        free(pem);
        kl_x509_free(cert);
        return r;
}

/* EK certificate then the NV CA chain, as PEM blocks (what the Rust agent sends). */
static int read_ek_certs(struct kl_tpm *tpm, char **ret_pem)
{
        uint8_t *der = NULL, **chain = NULL;
        size_t der_len = 0, *chain_lens = NULL, n = 0;
        char *pem = NULL;
        int r;

        r = kl_tpm_ek_cert(tpm, &der, &der_len);
        if (r == KL_ERR_NOT_FOUND) {
                *ret_pem = NULL;
                return 0;
        }
        if (r < 0 || (r = append_pem(&pem, der, der_len)) < 0)
                goto out;
        if (kl_tpm_ek_chain(tpm, &chain, &chain_lens, &n) == 0) {
                for (size_t i = 0; i < n; i++) {
                        if (append_pem(&pem, chain[i], chain_lens[i]) < 0)
                                log_warn("ignoring unreadable certificate %zu of the NV EK chain",
                                         i);
                }
        }
        *ret_pem = pem;
        pem = NULL;
out:
        kl_tpm_der_list_free(chain, chain_lens, n);
        free(pem);
        free(der);
        return r;
}

/* Reuses the persisted AK when it belongs to this EK and configuration, else makes one. */
static int load_or_create_ak(struct kl_tpm *tpm, const char *path, const char *ek_hash,
                             bool *ret_reused)
{
        struct agent_data data = {0};
        const char *hash_name = kl_tpm_hash_alg_rust_name(tpm);
        const char *sign_name = kl_tpm_sign_alg_rust_name(tpm);
        int r;

        *ret_reused = false;
        r = agent_data_load(path, &data);
        if (r == 0 && strcmp(data.ak_hash_alg, hash_name) == 0 &&
            strcmp(data.ak_sign_alg, sign_name) == 0 && strcmp(data.ek_hash, ek_hash) == 0) {
                if (kl_tpm_ak_load(tpm, &data.ak) == 0) {
                        *ret_reused = true;
                        agent_data_clear(&data);
                        return 0;
                }
                log_warn("the AK in %s does not load; creating a new one", path);
        } else if (r == 0) {
                log_info("the AK in %s belongs to another EK or algorithm; creating a new one",
                         path);
        } else if (r != KL_ERR_NOT_FOUND) {
                log_warn("ignoring unreadable %s: %s", path, kl_err_str(r));
        }
        agent_data_clear(&data);

        if ((r = kl_tpm_ak_create(tpm, &data.ak)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((data.ak_hash_alg = strdup(hash_name)) == NULL ||
            (data.ak_sign_alg = strdup(sign_name)) == NULL ||
            (data.ek_hash = strdup(ek_hash)) == NULL)
                goto out;
        if ((r = agent_data_save(path, &data)) < 0)
                log_error("cannot write %s: %s", path, kl_err_str(r));
out:
        agent_data_clear(&data);
        return r;
}

struct kl_tpm_options identity_tpm_options(const struct kl_agent_config *cfg)
{
        return (struct kl_tpm_options){
            .ek_handle = cfg->ek_handle,
            .owner_password = cfg->tpm_ownerpassword,
            .hash_alg = cfg->tpm_hash_alg,
            .enc_alg = cfg->tpm_encryption_alg,
            .sign_alg = cfg->tpm_signing_alg,
        };
}

int identity_load(struct kl_tpm *tpm, const struct kl_agent_config *cfg, struct agent_identity *ret)
{
        struct agent_identity id = {0};
        const char *platform_source = NULL;
        char ek_hash[65];
        int r;

        if ((r = kl_tpm_ek_load(tpm)) < 0 ||
            (r = kl_tpm_ek_public(tpm, &id.ek_public, &id.ek_public_len)) < 0)
                goto out;
        if ((r = identity_hash_ek(id.ek_public, id.ek_public_len, ek_hash)) < 0)
                goto out;
        log_info("EK loaded (%s), hash_ek %s",
                 cfg->ek_handle[0] == '\0' || strcmp(cfg->ek_handle, "generate") == 0
                     ? "transient, created from the TCG template"
                     : cfg->ek_handle,
                 ek_hash);
        if ((r = read_ek_certs(tpm, &id.ek_cert_pem)) < 0) {
                log_error("cannot read the EK certificate from NV: %s", kl_err_str(r));
                goto out;
        }
        if (id.ek_cert_pem == NULL)
                log_warn("the TPM holds no EK certificate; registering without one (the "
                         "registrar decides whether to accept that)");
        else
                log_info("EK certificate read from NV");
        if ((r = platform_cert_read(tpm, cfg, &id.platform_cert, &id.platform_cert_len,
                                    &platform_source)) < 0)
                goto out;
        if (id.platform_cert != NULL)
                log_info("platform certificate read from %s (%zu bytes)", platform_source,
                         id.platform_cert_len);
        if ((r = resolve_agent_id(cfg->uuid, ek_hash, id.agent_id, sizeof(id.agent_id))) < 0)
                goto out;
        if ((r = load_or_create_ak(tpm, cfg->agent_data_path, ek_hash, &id.ak_reused)) < 0 ||
            (r = kl_tpm_ak_public(tpm, &id.ak_public, &id.ak_public_len)) < 0)
                goto out;
        log_info("AK %s (%s, %s)", id.ak_reused ? "loaded from agent data" : "created",
                 kl_tpm_hash_alg_rust_name(tpm), kl_tpm_sign_alg_rust_name(tpm));
        *ret = id;
        memset(&id, 0, sizeof(id));
out:
        identity_clear(&id);
        return r;
}

void identity_clear(struct agent_identity *id)
{
        free(id->ek_public);
        free(id->ek_cert_pem);
        free(id->platform_cert);
        free(id->ak_public);
        memset(id, 0, sizeof(*id));
}
