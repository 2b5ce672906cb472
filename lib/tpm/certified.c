/* SPDX-License-Identifier: Apache-2.0 */
/* The verifier's checks of a certified key (see certified.h). */
#include "certified.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "err.h"
#include "nonce.h"
#include "tpm_public.h"

static const struct {
        TPMA_OBJECT bit;
        bool want;
        const char *name;
        const char *meaning; /* what a wrong value means */
} key_attrs[] = {
    {TPMA_OBJECT_FIXEDTPM, true, "fixedTPM", "it may be duplicated out of the TPM"},
    {TPMA_OBJECT_FIXEDPARENT, true, "fixedParent", "it may be duplicated to another parent"},
    {TPMA_OBJECT_SENSITIVEDATAORIGIN, true, "sensitiveDataOrigin",
     "its private key was made outside the TPM"},
    {TPMA_OBJECT_SIGN_ENCRYPT, true, "sign", "it is not a signing key"},
    {TPMA_OBJECT_RESTRICTED, false, "restricted", "it signs only TPM-made data, not a challenge"},
    {TPMA_OBJECT_DECRYPT, false, "decrypt", "it is also a decryption key"},
};

/* Only the key sizes the agent makes: what the certificate promises. */
static int check_key(const struct kl_tpm_public *key, char *why, size_t why_len)
{
        const TPMT_PUBLIC *a = kl_tpm_public_area(key);

        for (size_t i = 0; i < sizeof(key_attrs) / sizeof(key_attrs[0]); i++)
                if (((a->objectAttributes & key_attrs[i].bit) != 0) != key_attrs[i].want) {
                        kl_why_set(why, why_len, "the key %s %s: %s",
                                   key_attrs[i].want ? "lacks" : "has", key_attrs[i].name,
                                   key_attrs[i].meaning);
                        return KL_ERR_VERIFY;
                }
        if (a->type == TPM2_ALG_RSA && a->parameters.rsaDetail.keyBits == 2048)
                return 0;
        if (a->type == TPM2_ALG_ECC && a->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256)
                return 0;
        kl_why_set(why, why_len, "the key is neither RSA-2048 nor ECC P-256 (type 0x%04x)",
                   a->type);
        return KL_ERR_VERIFY;
}

/* The hash of the AK's signing scheme: what its TPMT_SIGNATURE must use. */
static uint16_t ak_hash(const struct kl_tpm_public *ak)
{
        const TPMT_PUBLIC *a = kl_tpm_public_area(ak);

        return a->type == TPM2_ALG_RSA ? a->parameters.rsaDetail.scheme.details.anySig.hashAlg
                                       : a->parameters.eccDetail.scheme.details.anySig.hashAlg;
}

int kl_certified_check(const struct kl_tpm_public *ak, const char *nonce, const uint8_t *pub,
                       size_t pub_len, const uint8_t *attest, size_t attest_len, const uint8_t *sig,
                       size_t sig_len, struct kl_tpm_public **ret_key, char *why, size_t why_len)
{
        struct kl_certify_info info;
        struct kl_tpm_public *key = NULL;
        uint8_t name[2 + 64];
        size_t name_len = 0;
        int r = KL_ERR_VERIFY;

        if (ak == NULL || nonce == NULL || ret_key == NULL) {
                kl_why_set(why, why_len, "nothing to check");
                return KL_ERR_INVAL;
        }
        if (attest == NULL || sig == NULL ||
            kl_attest_verify_signature(ak, ak_hash(ak), attest, attest_len, sig, sig_len) < 0) {
                kl_why_set(why, why_len,
                           "the certification is not signed by the agent's AK (the registrar's "
                           "aik_tpm)");
                goto out;
        }
        if (kl_certify_parse(attest, attest_len, &info) < 0) {
                kl_why_set(why, why_len, "certify_info is not a TPMS_ATTEST of type CERTIFY");
                goto out;
        }
        if (!kl_nonce_matches(info.nonce, info.nonce_len, nonce)) {
                kl_why_set(why, why_len,
                           "the certification does not carry this request's nonce (stale or "
                           "replayed)");
                goto out;
        }
        if (pub == NULL || kl_tpm_public_parse(pub, pub_len, &key) < 0 ||
            kl_tpm_public_name(key, name, &name_len) < 0) {
                kl_why_set(why, why_len, "'public' is not a TPM2B_PUBLIC");
                goto out;
        }
        if (name_len != info.name_len || memcmp(name, info.name, name_len) != 0) {
                kl_why_set(why, why_len,
                           "the TPM certified another key than the public area received (its "
                           "Name differs): the key is not shown to be in the TPM");
                goto out;
        }
        if ((r = check_key(key, why, why_len)) < 0)
                goto out;
        *ret_key = key;
        key = NULL;
        r = 0;
out:
        kl_tpm_public_free(key);
        return r;
}

int kl_certified_prove_message(const uint8_t *challenge, size_t len, uint8_t **ret, size_t *ret_len)
{
        const size_t ctx = sizeof(KL_CERTIFIED_PROVE_CONTEXT); /* with its NUL */
        uint8_t *msg;

        if (challenge == NULL || len == 0 || len > SIZE_MAX - ctx || ret == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((msg = malloc(ctx + len)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(msg, KL_CERTIFIED_PROVE_CONTEXT, ctx);
        memcpy(msg + ctx, challenge, len);
        *ret = msg;
        *ret_len = ctx + len;
        return 0;
}
