/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 6: signing keys the AK certifies (certified-key.md):
 * TPM2_Create of an unrestricted RSA-2048 or P-256 signing key under the EK
 * (fixedTPM, fixedParent, sensitiveDataOrigin: it is born in this TPM and
 * never leaves it), TPM2_Certify of it by the AK over the verifier's nonce,
 * and TPM2_Sign with it later (TPM 2.0 Part 3, Create, Load, Certify,
 * Sign). The agent keeps only the TPM2B_PUBLIC and the TPM2B_PRIVATE, which
 * only this TPM can load. The EK is left loaded or not, as it was.
 */
#include "tpm_internal.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

#define CERTIFIED_ATTRS                                                                            \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

void kl_tpm_certified_clear(struct kl_tpm_certified *c)
{
        if (c == NULL)
                return;
        free(c->pub);
        if (c->priv != NULL)
                explicit_bzero(c->priv, c->priv_len); /* wrapped by the EK, but still key */
        free(c->priv);
        free(c->attest);
        free(c->sig);
        memset(c, 0, sizeof(*c));
}

/* Scheme NULL: the signer picks it per use (PKCS#1 v1.5, PSS or ECDSA, as TLS needs). */
static void key_template(bool ecc, TPM2B_PUBLIC *p)
{
        TPMT_PUBLIC *a = &p->publicArea;

        memset(p, 0, sizeof(*p));
        a->nameAlg = TPM2_ALG_SHA256;
        a->objectAttributes = CERTIFIED_ATTRS;
        if (ecc) {
                a->type = TPM2_ALG_ECC;
                a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        } else {
                a->type = TPM2_ALG_RSA;
                a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.rsaDetail.keyBits = 2048;
        }
}

int kl_tpm_certified_create(struct kl_tpm *t, bool ecc, const uint8_t *qual, size_t qual_len,
                            struct kl_tpm_certified *ret)
{
        TPM2B_PUBLIC tmpl;
        TPM2B_PRIVATE *priv = NULL;
        TPM2B_PUBLIC *pub = NULL;
        struct kl_tpm_certified c = {0};
        bool ek_was_loaded = t != NULL && t->ek != ESYS_TR_NONE;
        ESYS_TR s = ESYS_TR_NONE, h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (t == NULL || ret == NULL || qual == NULL || qual_len == 0 || t->ak == ESYS_TR_NONE)
                return KL_ERR_INVAL;
        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        key_template(ecc, &tmpl);
        /* salted, command-encrypted: inSensitive (the key's auth) crosses the bus encrypted */
        if ((r = kl_tpm_ek_session_salted(t, TPMA_SESSION_DECRYPT, &s)) < 0 ||
            (r = kl_tpm_create_under_ek(t, &tmpl, &s, &priv, &pub)) < 0)
                goto out;
        if ((r = kl_tpm_load_under_ek(t, pub, priv, &h, &rc)) < 0) {
                if (rc != TSS2_RC_SUCCESS)
                        r = kl_tpm_fail("Esys_Load", rc);
                goto out;
        }
        if ((r = kl_tpm_certify_object(t, h, qual, qual_len, &c.attest, &c.attest_len, &c.sig,
                                       &c.sig_len)) < 0 ||
            (r = kl_tpm_marshal_public(pub, &c.pub, &c.pub_len)) < 0 ||
            (r = kl_tpm_marshal_private(priv, &c.priv, &c.priv_len)) < 0)
                goto out;
        *ret = c;
        memset(&c, 0, sizeof(c));
        r = 0;
out:
        kl_tpm_flush(t, &h);
        kl_tpm_flush(t, &s);
        if (!ek_was_loaded)
                (void)kl_tpm_ek_flush(t);
        kl_tpm_certified_clear(&c);
        if (priv != NULL)
                explicit_bzero(priv, sizeof(*priv));
        Esys_Free(priv);
        Esys_Free(pub);
        return r;
}

/* The TPM's TPMT_SIGNATURE as X.509 and TLS carry it: PKCS#1 bytes, or DER ECDSA-Sig-Value. */
static int x509_signature(const TPMT_SIGNATURE *sig, uint8_t **ret, size_t *ret_len)
{
        uint8_t *out;
        size_t len;

        if (sig->sigAlg == TPM2_ALG_ECDSA)
                return kl_ecdsa_sig_der(sig->signature.ecdsa.signatureR.buffer,
                                        sig->signature.ecdsa.signatureR.size,
                                        sig->signature.ecdsa.signatureS.buffer,
                                        sig->signature.ecdsa.signatureS.size, ret, ret_len);
        /* rsassa and rsapss share one layout */
        if ((sig->sigAlg != TPM2_ALG_RSASSA && sig->sigAlg != TPM2_ALG_RSAPSS) ||
            (len = sig->signature.rsassa.sig.size) == 0)
                return KL_ERR_TPM;
        if ((out = malloc(len)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(out, sig->signature.rsassa.sig.buffer, len);
        *ret = out;
        *ret_len = len;
        return 0;
}

int kl_tpm_certified_sign(struct kl_tpm *t, const uint8_t *pub_buf, size_t pub_len,
                          const uint8_t *priv_buf, size_t priv_len, const uint8_t digest[32],
                          bool rsa_pss, uint8_t **ret_sig, size_t *ret_len)
{
        TPM2B_PUBLIC pub = {0};
        TPM2B_PRIVATE priv = {0};
        TPM2B_DIGEST d = {.size = 32};
        TPMT_SIG_SCHEME scheme = {0};
        TPMT_TK_HASHCHECK none = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
        TPMT_SIGNATURE *sig = NULL;
        bool ek_was_loaded = t != NULL && t->ek != ESYS_TR_NONE;
        ESYS_TR h = ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (t == NULL || pub_buf == NULL || priv_buf == NULL || digest == NULL ||
            Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub_buf, pub_len, &off, &pub) != TSS2_RC_SUCCESS ||
            off != pub_len)
                return KL_ERR_INVAL;
        off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(priv_buf, priv_len, &off, &priv) != TSS2_RC_SUCCESS ||
            off != priv_len)
                return KL_ERR_INVAL;
        memcpy(d.buffer, digest, 32);
        scheme.scheme = pub.publicArea.type == TPM2_ALG_ECC ? TPM2_ALG_ECDSA
                        : rsa_pss                           ? (TPM2_ALG_ID)TPM2_ALG_RSAPSS
                                                            : (TPM2_ALG_ID)TPM2_ALG_RSASSA;
        scheme.details.any.hashAlg = TPM2_ALG_SHA256;
        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        if ((r = kl_tpm_load_under_ek(t, &pub, &priv, &h, &rc)) < 0) {
                if (rc != TSS2_RC_SUCCESS)
                        r = kl_tpm_fail("Esys_Load", rc);
                goto out;
        }
        rc = Esys_Sign(t->esys, h, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &d, &scheme, &none,
                       &sig);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_Sign", rc);
                goto out;
        }
        r = x509_signature(sig, ret_sig, ret_len);
out:
        kl_tpm_flush(t, &h);
        if (!ek_was_loaded)
                (void)kl_tpm_ek_flush(t);
        explicit_bzero(&priv, sizeof(priv));
        Esys_Free(sig);
        return r;
}
