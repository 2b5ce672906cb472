/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2_Duplicate in software (see duplicate.h): builds the object's public
 * area and sensitive area, then wraps the sensitive area for the parent with
 * the outer wrapper shared with MakeCredential. The sensitive area, the seed
 * and the keys derived from it are wiped on every path.
 */
#include "duplicate.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "be.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "wrap.h"

#define OBJ_NAME_ALG     TPM2_ALG_SHA256
#define OBJ_DIGEST_LEN   32u
#define RSA_BITS         2048u
#define RSA_DEFAULT_EXPT 65537u

void kl_tpm_dup_clear(struct kl_tpm_dup *d)
{
        if (d == NULL)
                return;
        free(d->pub);
        kl_secure_free(d->priv, d->priv_len); /* wrapped, but still key material */
        free(d->seed);
        memset(d, 0, sizeof(*d));
}

/* Attributes both kinds share: policy only, importable, no dictionary-attack lockout. */
static void public_common(TPMT_PUBLIC *a, const uint8_t *policy, size_t policy_len)
{
        a->nameAlg = OBJ_NAME_ALG;
        a->objectAttributes = TPMA_OBJECT_NODA;
        a->authPolicy.size = (UINT16)policy_len;
        memcpy(a->authPolicy.buffer, policy, policy_len);
}

/* TPM2B_PUBLIC into *ret_pub, and the Name nameAlg || H(TPMT_PUBLIC) into name. */
static int marshal_public(const TPMT_PUBLIC *a, uint8_t **ret_pub, size_t *ret_pub_len,
                          uint8_t name[2 + OBJ_DIGEST_LEN])
{
        uint8_t *buf = NULL;
        size_t off = 0, dlen = 0;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        if ((buf = malloc(2 + sizeof(TPMT_PUBLIC))) == NULL)
                goto out;
        rc = Tss2_MU_TPMT_PUBLIC_Marshal(a, buf + 2, sizeof(TPMT_PUBLIC), &off);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("Tss2_MU_TPMT_PUBLIC_Marshal: 0x%08x", rc);
                r = KL_ERR_INTERNAL;
                goto out;
        }
        kl_be16_put(buf, off);
        kl_be16_put(name, OBJ_NAME_ALG);
        if ((r = kl_digest("sha256", buf + 2, off, name + 2, &dlen)) < 0)
                goto out;
        *ret_pub = buf;
        *ret_pub_len = 2 + off;
        buf = NULL;
        r = 0;
out:
        free(buf);
        return r;
}

/*
 * Part 1, 23.3.2.3: duplicate = outerHMAC || AES-CFB(TPM2B_SENSITIVE), keyed
 * from a seed encrypted to the parent with label "DUPLICATE".
 */
static int wrap_object(const struct kl_tpm_public *parent, const TPMT_PUBLIC *pub,
                       const TPMT_SENSITIVE *sens, const struct kl_tpm_dup_fixed *fixed,
                       struct kl_tpm_dup *ret)
{
        static const struct kl_tpm_dup_fixed random_all = {0};
        TPM2B_SENSITIVE s2b = {.sensitiveArea = *sens};
        uint8_t plain[sizeof(TPM2B_SENSITIVE)], name[2 + OBJ_DIGEST_LEN];
        struct kl_tpm_seed seed = {0};
        struct kl_tpm_dup d = {0};
        size_t plain_len = 0, wrapped = 0;
        TSS2_RC rc;
        int r;

        if (fixed == NULL)
                fixed = &random_all;
        if ((r = marshal_public(pub, &d.pub, &d.pub_len, name)) < 0)
                goto out;
        rc = Tss2_MU_TPM2B_SENSITIVE_Marshal(&s2b, plain, sizeof(plain), &plain_len);
        if (rc != TSS2_RC_SUCCESS) {
                log_debug("Tss2_MU_TPM2B_SENSITIVE_Marshal: 0x%08x", rc);
                r = KL_ERR_INTERNAL;
                goto out;
        }
        r = kl_tpm_seed_new(parent, "DUPLICATE", fixed->seed, fixed->seed_len, fixed->ephemeral,
                            &seed);
        if (r < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((d.priv = malloc(sizeof(TPM2B_PRIVATE))) == NULL ||
            (d.seed = malloc(2 + seed.secret_len)) == NULL)
                goto out;
        r = kl_tpm_outer_wrap(parent, &seed, name, sizeof(name), plain, plain_len, d.priv + 2,
                              sizeof(((TPM2B_PRIVATE *)0)->buffer), &wrapped);
        if (r < 0)
                goto out;
        kl_be16_put(d.priv, wrapped);
        d.priv_len = 2 + wrapped;
        kl_be16_put(d.seed, seed.secret_len);
        memcpy(d.seed + 2, seed.secret, seed.secret_len);
        d.seed_len = 2 + seed.secret_len;
        *ret = d;
        memset(&d, 0, sizeof(d));
        r = 0;
out:
        kl_wipe(&s2b, sizeof(s2b));
        kl_wipe(plain, sizeof(plain));
        kl_tpm_seed_clear(&seed);
        if (d.priv != NULL)
                d.priv_len = sizeof(TPM2B_PRIVATE);
        kl_tpm_dup_clear(&d);
        return r;
}

int kl_tpm_dup_sealed(const struct kl_tpm_public *parent, const uint8_t *data, size_t len,
                      const uint8_t *policy, size_t policy_len,
                      const struct kl_tpm_dup_fixed *fixed, struct kl_tpm_dup *ret)
{
        TPMT_PUBLIC pub = {.type = TPM2_ALG_KEYEDHASH};
        TPMT_SENSITIVE sens = {.sensitiveType = TPM2_ALG_KEYEDHASH};
        uint8_t both[OBJ_DIGEST_LEN + KL_TPM_SEALED_MAX];
        size_t dlen = 0;
        int r;

        if (parent == NULL || data == NULL || policy == NULL || ret == NULL)
                return KL_ERR_INVAL;
        if (len == 0 || len > KL_TPM_SEALED_MAX || policy_len != OBJ_DIGEST_LEN)
                return KL_ERR_INVAL;
        public_common(&pub, policy, policy_len);
        pub.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
        /* the obfuscation value keeps unique = H(seedValue || data) from revealing data */
        sens.seedValue.size = OBJ_DIGEST_LEN;
        if (fixed != NULL && fixed->obfuscation != NULL)
                memcpy(sens.seedValue.buffer, fixed->obfuscation, OBJ_DIGEST_LEN);
        else if ((r = kl_random_bytes(sens.seedValue.buffer, OBJ_DIGEST_LEN)) < 0)
                goto out;
        sens.sensitive.bits.size = (UINT16)len;
        memcpy(sens.sensitive.bits.buffer, data, len);
        memcpy(both, sens.seedValue.buffer, OBJ_DIGEST_LEN);
        memcpy(both + OBJ_DIGEST_LEN, data, len);
        r = kl_digest("sha256", both, OBJ_DIGEST_LEN + len, pub.unique.keyedHash.buffer, &dlen);
        if (r < 0)
                goto out;
        pub.unique.keyedHash.size = (UINT16)dlen;
        r = wrap_object(parent, &pub, &sens, fixed, ret);
out:
        kl_wipe(both, sizeof(both));
        kl_wipe(&sens, sizeof(sens));
        return r;
}

int kl_tpm_dup_rsa(const struct kl_tpm_public *parent, EVP_PKEY *key, const uint8_t *policy,
                   size_t policy_len, const struct kl_tpm_dup_fixed *fixed, struct kl_tpm_dup *ret)
{
        TPMT_PUBLIC pub = {.type = TPM2_ALG_RSA};
        TPMT_SENSITIVE sens = {.sensitiveType = TPM2_ALG_RSA};
        size_t n_len = 0, p_len = 0;
        uint32_t e = 0;
        int r;

        if (parent == NULL || key == NULL || policy == NULL || ret == NULL ||
            policy_len != OBJ_DIGEST_LEN)
                return KL_ERR_INVAL;
        r = kl_rsa_private_parts(key, pub.unique.rsa.buffer, sizeof(pub.unique.rsa.buffer), &n_len,
                                 &e, sens.sensitive.rsa.buffer, &p_len);
        if (r < 0)
                goto out;
        if (n_len * 8 != RSA_BITS || p_len > sizeof(sens.sensitive.rsa.buffer)) {
                r = KL_ERR_UNSUPPORTED;
                goto out;
        }
        public_common(&pub, policy, policy_len);
        pub.objectAttributes |= TPMA_OBJECT_SIGN_ENCRYPT;
        pub.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        pub.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.parameters.rsaDetail.keyBits = RSA_BITS;
        /* Part 2, 12.2.3.5: 0 stands for 2^16 + 1 */
        pub.parameters.rsaDetail.exponent = e == RSA_DEFAULT_EXPT ? 0 : e;
        pub.unique.rsa.size = (UINT16)n_len;
        sens.sensitive.rsa.size = (UINT16)p_len;
        r = wrap_object(parent, &pub, &sens, fixed, ret);
out:
        kl_wipe(&sens, sizeof(sens));
        return r;
}
