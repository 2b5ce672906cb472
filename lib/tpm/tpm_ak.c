/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 3: the AK (created under the EK, persisted by the
 * agent as Keylime's agent_data.json does: TPMT_PUBLIC and the TPM2B_PRIVATE
 * buffer without size prefixes) and ActivateCredential for the registrar's
 * challenge (TPM 2.0 Part 3, ActivateCredential and PolicySecret).
 */
#include "tpm_internal.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "err.h"
#include "hash_alg.h"
#include "log.h"
#include "makecred.h"

/* ---- sessions and the AK ---------------------------------------------- */

static void ak_template(const struct kl_tpm *t, TPM2B_PUBLIC *p)
{
        TPMT_PUBLIC *a = &p->publicArea;

        memset(p, 0, sizeof(*p));
        a->type = t->key_alg;
        a->nameAlg = TPM2_ALG_SHA256;
        a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
        if (t->key_alg == TPM2_ALG_RSA) {
                a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.rsaDetail.scheme.scheme = t->sign_alg;
                a->parameters.rsaDetail.scheme.details.anySig.hashAlg = t->hash_alg;
                a->parameters.rsaDetail.keyBits = 2048;
                a->parameters.rsaDetail.exponent = 0;
        } else {
                a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
                a->parameters.eccDetail.scheme.scheme = t->sign_alg;
                a->parameters.eccDetail.scheme.details.anySig.hashAlg = t->hash_alg;
                a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        }
}

/* Loads private/public under the EK and makes it the current AK. */
static int ak_load(struct kl_tpm *t, const TPM2B_PRIVATE *priv, const TPM2B_PUBLIC *pub)
{
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc = TSS2_RC_SUCCESS;
        int r = kl_tpm_load_under_ek(t, pub, priv, &h, &rc);

        if (r < 0)
                return rc != TSS2_RC_SUCCESS ? kl_tpm_fail("Esys_Load", rc) : r;
        kl_tpm_flush(t, &t->ak);
        t->ak = h;
        t->ak_pub = *pub;
        return 0;
}

void kl_tpm_ak_blob_clear(struct kl_tpm_ak_blob *b)
{
        if (b == NULL)
                return;
        free(b->pub);
        if (b->priv != NULL)
                explicit_bzero(b->priv, b->priv_len); /* wrapped by the EK, but still key */
        free(b->priv);
        memset(b, 0, sizeof(*b));
}

int kl_tpm_ak_create(struct kl_tpm *t, struct kl_tpm_ak_blob *ret_blob)
{
        TPM2B_PUBLIC tmpl;
        TPM2B_PRIVATE *priv = NULL;
        TPM2B_PUBLIC *pub = NULL;
        struct kl_tpm_ak_blob blob = {0};
        ESYS_TR s = ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        /* a loaded AK would take the slot Create needs on a 3-slot TPM */
        kl_tpm_flush(t, &t->ak);
        ak_template(t, &tmpl);
        if ((r = kl_tpm_ek_session(t, &s)) < 0 ||
            (r = kl_tpm_create_under_ek(t, &tmpl, &s, &priv, &pub)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((blob.pub = malloc(sizeof(TPMT_PUBLIC))) == NULL ||
            (blob.priv = malloc(priv->size == 0 ? 1 : priv->size)) == NULL)
                goto out;
        rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, blob.pub, sizeof(TPMT_PUBLIC), &off);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Tss2_MU_TPMT_PUBLIC_Marshal", rc);
                goto out;
        }
        blob.pub_len = off;
        memcpy(blob.priv, priv->buffer, priv->size);
        blob.priv_len = priv->size;
        if ((r = ak_load(t, priv, pub)) < 0)
                goto out;
        *ret_blob = blob;
        memset(&blob, 0, sizeof(blob));
        r = 0;
out:
        kl_tpm_flush(t, &s);
        kl_tpm_ak_blob_clear(&blob);
        if (priv != NULL)
                explicit_bzero(priv, sizeof(*priv));
        Esys_Free(priv);
        Esys_Free(pub);
        return r;
}

int kl_tpm_ak_load(struct kl_tpm *t, const struct kl_tpm_ak_blob *blob)
{
        TPM2B_PUBLIC pub = {0};
        TPM2B_PRIVATE priv = {0};
        size_t off = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (blob == NULL || blob->pub == NULL || blob->priv == NULL ||
            blob->priv_len > sizeof(priv.buffer))
                goto out;
        rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(blob->pub, blob->pub_len, &off, &pub.publicArea);
        if (rc != TSS2_RC_SUCCESS || off != blob->pub_len) {
                log_debug("AK public blob does not unmarshal (0x%08x, %zu of %zu bytes)", rc, off,
                          blob->pub_len);
                goto out;
        }
        memcpy(priv.buffer, blob->priv, blob->priv_len);
        priv.size = (UINT16)blob->priv_len;
        if ((r = kl_tpm_ek_load(t)) < 0)
                goto out;
        r = ak_load(t, &priv, &pub);
out:
        explicit_bzero(&priv, sizeof(priv));
        return r;
}

int kl_tpm_ak_public(struct kl_tpm *t, uint8_t **ret_buf, size_t *ret_len)
{
        if (t->ak == ESYS_TR_NONE)
                return KL_ERR_INVAL;
        return kl_tpm_marshal_public(&t->ak_pub, ret_buf, ret_len);
}

/* ---- credential activation (registrar challenge) ----------------------- */

int kl_tpm_activate_credential(struct kl_tpm *t, const uint8_t *blob, size_t blob_len,
                               uint8_t **ret_secret, size_t *ret_len)
{
        TPM2B_ID_OBJECT id = {0};
        TPM2B_ENCRYPTED_SECRET secret = {0};
        TPM2B_DIGEST *cert_info = NULL;
        const uint8_t *id_p = NULL, *sec_p = NULL;
        size_t id_len = 0, sec_len = 0;
        uint8_t *out = NULL;
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        /* Everything about the blob is checked before the TPM sees it. */
        r = kl_credblob_split(blob, blob_len, &id_p, &id_len, &sec_p, &sec_len);
        if (r < 0)
                goto out;
        r = KL_ERR_INVAL;
        if (id_len == 0 || id_len > sizeof(id.credential) || sec_len == 0 ||
            sec_len > sizeof(secret.secret))
                goto out;
        memcpy(id.credential, id_p, id_len);
        id.size = (UINT16)id_len;
        memcpy(secret.secret, sec_p, sec_len);
        secret.size = (UINT16)sec_len;
        if (t->ak == ESYS_TR_NONE)
                goto out;
        /* salted and response-encrypted: the credential crosses the bus encrypted */
        if ((r = kl_tpm_ek_load(t)) < 0 ||
            (r = kl_tpm_ek_session_salted(t, TPMA_SESSION_ENCRYPT, &s)) < 0)
                goto out;
        rc = Esys_ActivateCredential(t->esys, t->ak, t->ek, ESYS_TR_PASSWORD, s, ESYS_TR_NONE, &id,
                                     &secret, &cert_info);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_ActivateCredential", rc);
                goto out;
        }
        if ((out = malloc(cert_info->size == 0 ? 1 : cert_info->size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        memcpy(out, cert_info->buffer, cert_info->size);
        *ret_secret = out;
        *ret_len = cert_info->size;
        out = NULL;
        r = 0;
out:
        kl_tpm_flush(t, &s);
        if (cert_info != NULL)
                explicit_bzero(cert_info, sizeof(*cert_info));
        Esys_Free(cert_info);
        return r;
}

uint32_t kl_tpm_ak_handle(const struct kl_tpm *t)
{
        return t->ak;
}
