/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2_MakeCredential in software, for the registrar (TPM 2.0 Part 1, 24
 * "Credential Protection"; Part 2, TPM2B_ID_OBJECT) on the outer wrapper of
 * wrap.c, the strict reader of the tpm2-tools credential-blob layout the
 * agent receives, and ActivateCredential in software (wrap.c's inverse). The seed and every key
 * derived from it are wiped before return.
 */
#include "makecred.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "be.h"
#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "tpm_public.h"

#define CREDBLOB_MAGIC   0xBADCC0DEu
#define CREDBLOB_VERSION 1u
#define CRED_MAX         64

int kl_makecred_fixed(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                      const uint8_t *credential, size_t cred_len, const uint8_t *seed_in,
                      size_t seed_len, EVP_PKEY *ephemeral, uint8_t **ret_blob, size_t *ret_len)
{
        const char *hash = ek != NULL ? kl_tpm_public_name_alg(ek) : NULL;
        size_t dlen = kl_hash_alg_digest_len(kl_hash_alg_from_name(hash)), id_len = 0, blob_len;
        uint8_t id[2 + KL_MAX_DIGEST_LEN + 2 + CRED_MAX], plain[2 + CRED_MAX];
        struct kl_tpm_seed seed = {0};
        uint8_t *blob = NULL;
        int r;

        if (ek == NULL || ak_name == NULL || credential == NULL || ret_blob == NULL ||
            ret_len == NULL)
                return KL_ERR_INVAL;
        if (dlen == 0)
                return KL_ERR_UNSUPPORTED;
        /* Part 3 MakeCredential: the credential is at most one nameAlg digest */
        if (cred_len == 0 || cred_len > dlen || ak_name_len < 2 ||
            ak_name_len > 2 + KL_MAX_DIGEST_LEN)
                return KL_ERR_INVAL;
        r = kl_tpm_seed_new(ek, "IDENTITY", seed_in, seed_len, ephemeral, &seed);
        if (r < 0)
                goto out;
        /* the protected credential is a TPM2B_DIGEST (Part 1, 24.4) */
        kl_be16_put(plain, cred_len);
        memcpy(plain + 2, credential, cred_len);
        r = kl_tpm_outer_wrap(ek, &seed, ak_name, ak_name_len, plain, 2 + cred_len, id, sizeof(id),
                              &id_len);
        if (r < 0)
                goto out;

        blob_len = 4 + 4 + 2 + id_len + 2 + seed.secret_len;
        if ((blob = malloc(blob_len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        kl_be32_put(blob, CREDBLOB_MAGIC);
        kl_be32_put(blob + 4, CREDBLOB_VERSION);
        kl_be16_put(blob + 8, id_len);
        memcpy(blob + 10, id, id_len);
        kl_be16_put(blob + 10 + id_len, seed.secret_len);
        memcpy(blob + 12 + id_len, seed.secret, seed.secret_len);
        *ret_blob = blob;
        *ret_len = blob_len;
        r = 0;
out:
        kl_tpm_seed_clear(&seed);
        kl_wipe(id, sizeof(id));
        kl_wipe(plain, sizeof(plain));
        return r;
}

int kl_makecred(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                const uint8_t *credential, size_t cred_len, uint8_t **ret_blob, size_t *ret_len)
{
        return kl_makecred_fixed(ek, ak_name, ak_name_len, credential, cred_len, NULL, 0, NULL,
                                 ret_blob, ret_len);
}

int kl_credblob_split(const uint8_t *blob, size_t len, const uint8_t **ret_id_object,
                      size_t *ret_id_len, const uint8_t **ret_secret, size_t *ret_secret_len)
{
        size_t id_len, secret_len;

        if (blob == NULL || ret_id_object == NULL || ret_id_len == NULL || ret_secret == NULL ||
            ret_secret_len == NULL)
                return KL_ERR_INVAL;
        if (len < 12)
                return KL_ERR_INVAL;
        if (kl_be32_get(blob) != CREDBLOB_MAGIC || kl_be32_get(blob + 4) != CREDBLOB_VERSION)
                return KL_ERR_INVAL;
        id_len = kl_be16_get(blob + 8);
        /* subtract, never add: len >= 12 here */
        if (id_len == 0 || id_len > len - 12 || id_len > sizeof(TPMS_ID_OBJECT))
                return KL_ERR_INVAL;
        secret_len = kl_be16_get(blob + 10 + id_len);
        if (secret_len == 0 || secret_len != len - 12 - id_len ||
            secret_len > sizeof(TPMU_ENCRYPTED_SECRET))
                return KL_ERR_INVAL;
        *ret_id_object = blob + 10;
        *ret_id_len = id_len;
        *ret_secret = blob + 12 + id_len;
        *ret_secret_len = secret_len;
        return 0;
}

int kl_activatecred(const struct kl_tpm_public *ek, EVP_PKEY *ek_priv, const uint8_t *ak_name,
                    size_t ak_name_len, const uint8_t *blob, size_t blob_len, uint8_t *ret_cred,
                    size_t *ret_cred_len)
{
        const uint8_t *id = NULL, *secret = NULL;
        size_t id_len = 0, secret_len = 0, plain_len = 0, cred_len;
        struct kl_tpm_seed seed = {0};
        uint8_t plain[2 + CRED_MAX];
        int r;

        if (ek == NULL || ek_priv == NULL || ak_name == NULL || ret_cred == NULL ||
            ret_cred_len == NULL)
                return KL_ERR_INVAL;
        if ((r = kl_credblob_split(blob, blob_len, &id, &id_len, &secret, &secret_len)) < 0 ||
            (r = kl_tpm_seed_open(ek, ek_priv, "IDENTITY", secret, secret_len, &seed)) < 0)
                goto out;
        r = kl_tpm_outer_unwrap(ek, &seed, ak_name, ak_name_len, id, id_len, plain, sizeof(plain),
                                &plain_len);
        if (r == KL_ERR_TOO_LONG)
                r = KL_ERR_INVAL;
        if (r < 0)
                goto out;
        /* the protected credential is a TPM2B_DIGEST (Part 1, 24.4) */
        cred_len = plain_len >= 2 ? kl_be16_get(plain) : 0;
        if (cred_len == 0 || cred_len != plain_len - 2 || cred_len > KL_MAX_DIGEST_LEN) {
                r = KL_ERR_INVAL;
                goto out;
        }
        memcpy(ret_cred, plain + 2, cred_len);
        *ret_cred_len = cred_len;
        r = 0;
out:
        kl_tpm_seed_clear(&seed);
        kl_wipe(plain, sizeof(plain));
        return r;
}
