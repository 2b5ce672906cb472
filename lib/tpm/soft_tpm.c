/* SPDX-License-Identifier: Apache-2.0 */
/*
 * See soft_tpm.h. Structures are filled as tss2 types and marshalled with
 * tss2-mu, so their layout is the TSS's, not ours; signatures come from the
 * crypto room.
 */
#include "soft_tpm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

/* TCG EK Credential Profile, B.3.3: PolicySecret(TPM_RH_ENDORSEMENT), sha256 */
static const uint8_t ek_policy_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};

#define EK_ATTRS                                                                                   \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
#define AK_ATTRS                                                                                   \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static int marshal_public(const TPM2B_PUBLIC *pub, uint8_t **ret, size_t *ret_len)
{
        uint8_t *buf = malloc(sizeof(TPM2B_PUBLIC));
        size_t off = 0;
        TSS2_RC rc;

        if (buf == NULL)
                return KL_ERR_NOMEM;
        if ((rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &off)) !=
            TSS2_RC_SUCCESS) {
                log_debug("Tss2_MU_TPM2B_PUBLIC_Marshal: 0x%08x", rc);
                free(buf);
                return KL_ERR_INTERNAL;
        }
        *ret = buf;
        *ret_len = off;
        return 0;
}

/* The P-256 point of key into unique.ecc; KL_ERR_UNSUPPORTED for another curve. */
static int ecc_unique(EVP_PKEY *key, TPMS_ECC_POINT *pt)
{
        uint8_t raw[1 + 2 * 66];
        size_t len = 0;
        int r = kl_pubkey_ec_point(key, raw, sizeof(raw), &len);

        if (r < 0)
                return r;
        if (len != 1 + 2 * 32)
                return KL_ERR_UNSUPPORTED;
        pt->x.size = 32;
        memcpy(pt->x.buffer, raw + 1, 32);
        pt->y.size = 32;
        memcpy(pt->y.buffer, raw + 1 + 32, 32);
        return 0;
}

int kl_soft_ek_public(EVP_PKEY *key, uint8_t **ret, size_t *ret_len)
{
        TPM2B_PUBLIC pub = {0};
        TPMT_PUBLIC *t = &pub.publicArea;
        int r;

        if (key == NULL || ret == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if (kl_pkey_is_rsa(key))
                return KL_ERR_UNSUPPORTED;
        t->type = TPM2_ALG_ECC;
        t->nameAlg = TPM2_ALG_SHA256;
        t->objectAttributes = EK_ATTRS;
        t->authPolicy.size = sizeof(ek_policy_sha256);
        memcpy(t->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
        t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
        t->parameters.eccDetail.symmetric.keyBits.aes = 128;
        t->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        t->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
        t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        if ((r = ecc_unique(key, &t->unique.ecc)) < 0)
                return r;
        return marshal_public(&pub, ret, ret_len);
}

/* The RSA modulus of key into unique.rsa; 2048-bit keys with exponent 65537 only. */
static int rsa_unique(EVP_PKEY *key, TPM2B_PUBLIC_KEY_RSA *n)
{
        uint8_t p[sizeof(n->buffer) / 2];
        size_t len = 0, p_len = 0;
        uint32_t e = 0;
        int r = kl_rsa_private_parts(key, n->buffer, sizeof(n->buffer), &len, &e, p, &p_len);

        kl_wipe(p, sizeof(p)); /* only the public half is wanted */
        if (r < 0)
                return r;
        if (len != 256 || e != 65537)
                return KL_ERR_UNSUPPORTED;
        n->size = (UINT16)len;
        return 0;
}

/* A signing key's public area: restricted with the AK's SHA-256 scheme, or scheme NULL. */
static int signing_public(EVP_PKEY *key, uint32_t attrs, bool restricted, uint8_t **ret,
                          size_t *ret_len)
{
        TPM2B_PUBLIC pub = {0};
        TPMT_PUBLIC *t = &pub.publicArea;
        int r;

        if (key == NULL || ret == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        t->nameAlg = TPM2_ALG_SHA256;
        t->objectAttributes = attrs;
        if (kl_pkey_is_rsa(key)) {
                t->type = TPM2_ALG_RSA;
                t->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
                t->parameters.rsaDetail.scheme.scheme =
                    restricted ? TPM2_ALG_RSASSA : TPM2_ALG_NULL;
                t->parameters.rsaDetail.scheme.details.rsassa.hashAlg =
                    restricted ? TPM2_ALG_SHA256 : 0;
                t->parameters.rsaDetail.keyBits = 2048;
                t->parameters.rsaDetail.exponent = 0; /* the default, 65537 */
                r = rsa_unique(key, &t->unique.rsa);
        } else {
                t->type = TPM2_ALG_ECC;
                t->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
                t->parameters.eccDetail.scheme.scheme = restricted ? TPM2_ALG_ECDSA : TPM2_ALG_NULL;
                t->parameters.eccDetail.scheme.details.ecdsa.hashAlg =
                    restricted ? TPM2_ALG_SHA256 : 0;
                t->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                t->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
                r = ecc_unique(key, &t->unique.ecc);
        }
        if (r < 0)
                return r;
        return marshal_public(&pub, ret, ret_len);
}

int kl_soft_ak_public(EVP_PKEY *key, uint8_t **ret, size_t *ret_len)
{
        return signing_public(key, AK_ATTRS, true, ret, ret_len);
}

int kl_soft_signing_public(EVP_PKEY *key, uint32_t attrs, uint8_t **ret, size_t *ret_len)
{
        if ((attrs & TPMA_OBJECT_RESTRICTED) != 0)
                return KL_ERR_INVAL;
        return signing_public(key, attrs, false, ret, ret_len);
}

/* TPMT_SIGNATURE over attest: RSASSA or ECDSA with SHA-256, as the AK's scheme says. */
static int sign_attest(EVP_PKEY *ak, const uint8_t *attest, size_t attest_len, TPMT_SIGNATURE *sig)
{
        uint8_t digest[KL_MAX_DIGEST_LEN], r_buf[66], s_buf[66];
        uint8_t *rsa_sig = NULL;
        size_t dlen = 0, len = 0, coord = 0;
        int r;

        if ((r = kl_digest("sha256", attest, attest_len, digest, &dlen)) < 0)
                return r;
        if (kl_pkey_is_rsa(ak)) {
                if ((r = kl_rsa_sign_digest(ak, "sha256", digest, dlen, &rsa_sig, &len)) < 0)
                        return r;
                if (len > sizeof(sig->signature.rsassa.sig.buffer)) {
                        free(rsa_sig);
                        return KL_ERR_UNSUPPORTED;
                }
                sig->sigAlg = TPM2_ALG_RSASSA;
                sig->signature.rsassa.hash = TPM2_ALG_SHA256;
                sig->signature.rsassa.sig.size = (UINT16)len;
                memcpy(sig->signature.rsassa.sig.buffer, rsa_sig, len);
                free(rsa_sig);
                return 0;
        }
        if ((r = kl_ecdsa_sign_digest(ak, "sha256", digest, dlen, r_buf, s_buf, &coord)) < 0)
                return r;
        if (coord > sizeof(sig->signature.ecdsa.signatureR.buffer))
                return KL_ERR_UNSUPPORTED;
        sig->sigAlg = TPM2_ALG_ECDSA;
        sig->signature.ecdsa.hash = TPM2_ALG_SHA256;
        sig->signature.ecdsa.signatureR.size = (UINT16)coord;
        memcpy(sig->signature.ecdsa.signatureR.buffer, r_buf, coord);
        sig->signature.ecdsa.signatureS.size = (UINT16)coord;
        memcpy(sig->signature.ecdsa.signatureS.buffer, s_buf, coord);
        return 0;
}

/* Marshals a, signs it with ak: the TPMS_ATTEST and TPMT_SIGNATURE, caller frees both. */
static int attest_out(const TPMS_ATTEST *a, EVP_PKEY *ak, uint8_t **ret_attest,
                      size_t *ret_attest_len, uint8_t **ret_sig, size_t *ret_sig_len)
{
        TPMT_SIGNATURE sig = {0};
        uint8_t *attest = NULL, *sig_buf = NULL;
        size_t attest_len = 0, sig_len = 0;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        if ((attest = malloc(sizeof(TPMS_ATTEST))) == NULL ||
            (sig_buf = malloc(sizeof(TPMT_SIGNATURE))) == NULL)
                goto out;
        r = KL_ERR_INTERNAL;
        if ((rc = Tss2_MU_TPMS_ATTEST_Marshal(a, attest, sizeof(TPMS_ATTEST), &attest_len)) !=
            TSS2_RC_SUCCESS) {
                log_debug("Tss2_MU_TPMS_ATTEST_Marshal: 0x%08x", rc);
                goto out;
        }
        if ((r = sign_attest(ak, attest, attest_len, &sig)) < 0)
                goto out;
        r = KL_ERR_INTERNAL;
        if ((rc = Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, sig_buf, sizeof(TPMT_SIGNATURE),
                                                 &sig_len)) != TSS2_RC_SUCCESS) {
                log_debug("Tss2_MU_TPMT_SIGNATURE_Marshal: 0x%08x", rc);
                goto out;
        }
        *ret_attest = attest;
        *ret_attest_len = attest_len;
        *ret_sig = sig_buf;
        *ret_sig_len = sig_len;
        attest = sig_buf = NULL;
        r = 0;
out:
        free(attest);
        free(sig_buf);
        return r;
}

int kl_soft_quote(EVP_PKEY *ak, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *nonce,
                  size_t nonce_len, const struct kl_soft_clock *clk, const struct kl_pcr_set *pcrs,
                  uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                  size_t *ret_sig_len)
{
        TPMS_ATTEST a = {0};
        TPML_PCR_SELECTION *sel = &a.attested.quote.pcrSelect;
        size_t dlen = 0;
        int r = KL_ERR_INVAL;

        if (ak == NULL || ak_name == NULL || clk == NULL || pcrs == NULL || ret_attest == NULL ||
            ret_attest_len == NULL || ret_sig == NULL || ret_sig_len == NULL ||
            ak_name_len > sizeof(a.qualifiedSigner.name) ||
            nonce_len > sizeof(a.extraData.buffer) || (nonce == NULL && nonce_len != 0))
                return KL_ERR_INVAL;
        a.magic = TPM2_GENERATED_VALUE;
        a.type = TPM2_ST_ATTEST_QUOTE;
        a.qualifiedSigner.size = (UINT16)ak_name_len;
        memcpy(a.qualifiedSigner.name, ak_name, ak_name_len);
        a.extraData.size = (UINT16)nonce_len;
        if (nonce_len > 0)
                memcpy(a.extraData.buffer, nonce, nonce_len);
        a.clockInfo.clock = clk->clock;
        a.clockInfo.resetCount = clk->reset_count;
        a.clockInfo.restartCount = clk->restart_count;
        a.clockInfo.safe = TPM2_YES;
        sel->count = 1;
        sel->pcrSelections[0].hash = pcrs->hash_alg;
        sel->pcrSelections[0].sizeofSelect = 3;
        for (unsigned i = 0; i < 3; i++)
                sel->pcrSelections[0].pcrSelect[i] = (BYTE)(pcrs->mask >> (8 * i));
        if ((r = kl_pcr_set_digest(pcrs, a.attested.quote.pcrDigest.buffer, &dlen)) < 0)
                return r;
        a.attested.quote.pcrDigest.size = (UINT16)dlen;
        return attest_out(&a, ak, ret_attest, ret_attest_len, ret_sig, ret_sig_len);
}

int kl_soft_certify(EVP_PKEY *ak, const uint8_t *ak_name, size_t ak_name_len, const uint8_t *nonce,
                    size_t nonce_len, const uint8_t *name, size_t name_len, uint8_t **ret_attest,
                    size_t *ret_attest_len, uint8_t **ret_sig, size_t *ret_sig_len)
{
        TPMS_ATTEST a = {0};

        if (ak == NULL || ak_name == NULL || name == NULL || ret_attest == NULL ||
            ret_attest_len == NULL || ret_sig == NULL || ret_sig_len == NULL ||
            ak_name_len > sizeof(a.qualifiedSigner.name) ||
            name_len > sizeof(a.attested.certify.name.name) ||
            nonce_len > sizeof(a.extraData.buffer) || (nonce == NULL && nonce_len != 0))
                return KL_ERR_INVAL;
        a.magic = TPM2_GENERATED_VALUE;
        a.type = TPM2_ST_ATTEST_CERTIFY;
        a.qualifiedSigner.size = (UINT16)ak_name_len;
        memcpy(a.qualifiedSigner.name, ak_name, ak_name_len);
        a.extraData.size = (UINT16)nonce_len;
        if (nonce_len > 0)
                memcpy(a.extraData.buffer, nonce, nonce_len);
        a.clockInfo.safe = TPM2_YES;
        a.attested.certify.name.size = (UINT16)name_len;
        memcpy(a.attested.certify.name.name, name, name_len);
        return attest_out(&a, ak, ret_attest, ret_attest_len, ret_sig, ret_sig_len);
}
