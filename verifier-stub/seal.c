/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keylime_verifier_stub seal (see seal.h). The key never leaves this
 * process unwrapped: it is duplicated in software to the EK the registrar
 * holds (lib/tpm/duplicate.h), which only that agent's TPM can import, and
 * the object's policy is PolicyPCR over values this verifier attested.
 */
#include "seal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "duplicate.h"
#include "err.h"
#include "fileio.h"
#include "hash_alg.h"
#include "http_client.h"
#include "json.h"
#include "policy.h"
#include "quote.h"
#include "store.h"
#include "tenant_role.h"
#include "tpm_public.h"

static int parse_pcrs(const char *s, uint32_t *ret)
{
        uint32_t mask = 0;
        char *end = NULL;

        if (s == NULL || *s == '\0')
                return KL_ERR_INVAL;
        while (*s != '\0') {
                unsigned long v = strtoul(s, &end, 10);

                if (end == s || v >= KL_PCR_COUNT || (*end != ',' && *end != '\0'))
                        return KL_ERR_INVAL;
                mask |= 1u << v;
                s = *end == ',' ? end + 1 : end;
        }
        *ret = mask;
        return 0;
}

/* The requested PCRs out of the last good quote, or why they are not there. */
static int attested_pcrs(const struct ver_seal_options *o, uint16_t bank, uint32_t mask,
                         struct kl_pcr_set *ret)
{
        struct ver_store *store = NULL;
        struct ver_last_good good;
        char when[32] = "?";
        struct tm tm;
        time_t t;
        int r;

        if ((r = ver_store_open(o->db, &store)) < 0) {
                fprintf(stderr, "seal: cannot open the verifier's store %s\n", o->db);
                return r;
        }
        r = ver_store_get_last_good(store, o->client->uuid, &good);
        ver_store_close(store);
        if (r == KL_ERR_NOT_FOUND) {
                fprintf(stderr,
                        "seal: agent %s has no good quote in %s yet: nothing attests "
                        "the PCR values to seal to\n",
                        o->client->uuid, o->db);
                return r;
        }
        if (r < 0)
                return r;
        if (good.pcrs.hash_alg != bank || (good.pcrs.mask & mask) != mask) {
                fprintf(stderr,
                        "seal: the last good quote of %s covers %s PCRs 0x%06x, not all of "
                        "%s 0x%06x: add them to the agent's tpm_policy\n",
                        o->client->uuid, kl_hash_alg_name(good.pcrs.hash_alg),
                        (unsigned)good.pcrs.mask, kl_hash_alg_name(bank), (unsigned)mask);
                return KL_ERR_INVAL;
        }
        *ret = good.pcrs;
        ret->mask = mask;
        t = (time_t)good.at;
        if (gmtime_r(&t, &tm) != NULL)
                strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("seal: binding to %s PCRs of agent %s as attested at %s\n", kl_hash_alg_name(bank),
               o->client->uuid, when);
        return 0;
}

static int wrap_key(const struct ver_seal_options *o, const struct kl_tpm_public *ek,
                    const uint8_t *policy, size_t policy_len, struct kl_tpm_dup *ret)
{
        EVP_PKEY *key = NULL;
        char *data = NULL;
        size_t len = 0;
        int r;

        if (o->aes_key_file != NULL) {
                if ((r = kl_file_read(o->aes_key_file, KL_TPM_SEALED_MAX, &data, &len)) < 0 ||
                    (len != 16 && len != 24 && len != 32)) {
                        fprintf(stderr, "seal: %s must hold a raw AES key of 16, 24 or 32 bytes\n",
                                o->aes_key_file);
                        r = r < 0 ? r : KL_ERR_INVAL;
                        goto out;
                }
                r = kl_tpm_dup_sealed(ek, (const uint8_t *)data, len, policy, policy_len, NULL,
                                      ret);
        } else {
                if ((r = kl_key_load_pem(o->rsa_key_file, NULL, &key)) < 0) {
                        fprintf(stderr, "seal: cannot load the private key %s: %s\n",
                                o->rsa_key_file, kl_err_str(r));
                        goto out;
                }
                r = kl_tpm_dup_rsa(ek, key, policy, policy_len, NULL, ret);
        }
        if (r < 0)
                fprintf(stderr, "seal: cannot wrap the key for the agent's EK: %s\n",
                        kl_err_str(r));
out:
        kl_secure_free(data, len);
        kl_pkey_free(key);
        return r;
}

/* The POST /keys/sealed body (agent-api.md "Sealed objects"). */
static int request_body(const struct ver_seal_options *o, const struct kl_tpm_public *ek,
                        uint16_t bank, uint32_t mask, const struct kl_tpm_dup *d, char **ret)
{
        const char *kind = o->aes_key_file != NULL ? "aes" : "rsa";
        kl_json *obj = kl_json_object(), *pcrs = kl_json_array();
        uint8_t ek_name[2 + KL_MAX_DIGEST_LEN];
        size_t ek_name_len = 0;
        int r = KL_ERR_NOMEM;

        if (obj == NULL || pcrs == NULL)
                goto out;
        if ((r = kl_tpm_public_name(ek, ek_name, &ek_name_len)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        for (unsigned i = 0; i < KL_PCR_COUNT; i++)
                if ((mask & (1u << i)) && kl_json_append_int(pcrs, i) < 0)
                        goto out;
        if (kl_json_set_string(obj, "name", o->name != NULL ? o->name : kind) < 0 ||
            kl_json_set_string(obj, "kind", kind) < 0 ||
            kl_json_set_string(obj, "bank", kl_hash_alg_name(bank)) < 0)
                goto out;
        r = kl_json_set(obj, "pcrs", pcrs); /* takes pcrs */
        pcrs = NULL;
        if (r < 0)
                goto out;
        if ((r = kl_json_add_b64(obj, "public", d->pub, d->pub_len)) < 0 ||
            (r = kl_json_add_b64(obj, "duplicate", d->priv, d->priv_len)) < 0 ||
            (r = kl_json_add_b64(obj, "seed", d->seed, d->seed_len)) < 0 ||
            (r = kl_json_add_b64(obj, "parent", ek_name, ek_name_len)) < 0)
                goto out;
        r = (*ret = kl_json_to_string(obj)) != NULL ? 0 : KL_ERR_NOMEM;
out:
        kl_json_free(pcrs);
        kl_json_free(obj);
        return r;
}

int ver_seal(const struct ver_seal_options *o)
{
        struct ver_tenant *t = NULL;
        struct kl_http_response resp = {0};
        struct kl_pcr_set pcrs;
        struct kl_tpm_dup dup = {0};
        uint8_t policy[KL_MAX_DIGEST_LEN];
        size_t policy_len = 0;
        uint32_t mask = 0;
        uint16_t bank = kl_hash_alg_from_name(o->bank != NULL ? o->bank : "sha256");
        char *body = NULL;
        int status = 1;

        if (o->client->uuid == NULL || (o->aes_key_file == NULL) == (o->rsa_key_file == NULL) ||
            parse_pcrs(o->pcrs, &mask) < 0 || bank == 0) {
                fprintf(stderr, "seal needs --uuid, one of --aes-key FILE and --rsa-key PEM, "
                                "--pcrs LIST (e.g. 0,7) and a known --bank\n");
                return 2;
        }
        if (attested_pcrs(o, bank, mask, &pcrs) < 0 ||
            kl_tpm_policy_pcr("sha256", &pcrs, policy, &policy_len) < 0)
                goto out;
        if (ver_tenant_open(o->client, &t) < 0)
                goto out;
        if (ver_tenant_ek(t) == NULL) {
                fprintf(stderr, "seal: the registrar holds no ek_tpm for %s\n", o->client->uuid);
                goto out;
        }
        if (wrap_key(o, ver_tenant_ek(t), policy, policy_len, &dup) < 0 ||
            request_body(o, ver_tenant_ek(t), bank, mask, &dup, &body) < 0 ||
            ver_tenant_post(t, "/keys/sealed", body, &resp) < 0)
                goto out;
        printf("seal: agent %s imported the key: %.300s\n", o->client->uuid, resp.body);
        status = 0;
out:
        kl_http_response_clear(&resp);
        free(body);
        kl_tpm_dup_clear(&dup);
        ver_tenant_free(t);
        return status;
}
