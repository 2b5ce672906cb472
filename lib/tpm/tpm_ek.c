/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 2: the EK, created from the TCG default templates
 * (EK Credential Profile 2.5, L-1 RSA-2048 and L-2 P-256) or used at a
 * persistent handle, and DER objects in NV: the EK certificate, the chain of
 * intermediates at 0x01c00100..0x01c001ff, the platform certificate.
 */
#include "tpm_internal.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_rc.h>

#include "err.h"
#include "log.h"

#define NV_EK_CERT_RSA2048 0x01c00002u
#define NV_EK_CERT_P256    0x01c0000au
#define NV_EK_CHAIN_FIRST  0x01c00100u
#define NV_EK_CHAIN_LAST   0x01c001ffu
#define NV_BUFFER_FALLBACK 512u
/* An EK certificate bigger than this is not a certificate (NV indices are small). */
#define NV_CERT_MAX (64u * 1024u)

/* PolicySecret(TPM_RH_ENDORSEMENT) digest of the TCG default EK templates. */
static const uint8_t ek_policy_sha256[32] = {
    0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
    0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* ---- EK ---------------------------------------------------------------- */

/* TCG EK Credential Profile, default templates L-1 (RSA 2048) and L-2 (P-256). */
static void ek_template(TPMI_ALG_PUBLIC alg, TPM2B_PUBLIC *p)
{
        TPMT_PUBLIC *a = &p->publicArea;

        memset(p, 0, sizeof(*p));
        a->type = alg;
        a->nameAlg = TPM2_ALG_SHA256;
        a->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                              TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                              TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
        a->authPolicy.size = sizeof(ek_policy_sha256);
        memcpy(a->authPolicy.buffer, ek_policy_sha256, sizeof(ek_policy_sha256));
        if (alg == TPM2_ALG_RSA) {
                a->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
                a->parameters.rsaDetail.symmetric.keyBits.aes = 128;
                a->parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                a->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.rsaDetail.keyBits = 2048;
                a->parameters.rsaDetail.exponent = 0;
                a->unique.rsa.size = 256; /* zeros: the size is part of the template */
        } else {
                a->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
                a->parameters.eccDetail.symmetric.keyBits.aes = 128;
                a->parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
                a->parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
                a->parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
                a->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
                a->unique.ecc.x.size = 32;
                a->unique.ecc.y.size = 32;
        }
}

int kl_tpm_ek_load(struct kl_tpm *t)
{
        TPM2B_SENSITIVE_CREATE sens = {0};
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION pcrs = {0};
        TPM2B_PUBLIC tmpl;
        TPM2B_PUBLIC *pub = NULL;
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        TPM2B_NAME *name = NULL, *qname = NULL;
        ESYS_TR h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r = KL_ERR_TPM;

        if (t->ek != ESYS_TR_NONE)
                return 0;
        if (t->ek_persistent != 0) {
                rc = Esys_TR_FromTPMPublic(t->esys, t->ek_persistent, ESYS_TR_NONE, ESYS_TR_NONE,
                                           ESYS_TR_NONE, &h);
                if (rc != TSS2_RC_SUCCESS) {
                        log_error("Esys_TR_FromTPMPublic(0x%08x): 0x%08x %s", t->ek_persistent, rc,
                                  Tss2_RC_Decode(rc));
                        r = kl_tpm_err(rc);
                        goto out;
                }
                rc = Esys_ReadPublic(t->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                     &name, &qname);
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_ReadPublic", rc);
                        goto out;
                }
        } else {
                ek_template(t->key_alg, &tmpl);
                rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                        ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs,
                                        &h, &pub, &cdata, &chash, &ticket);
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_CreatePrimary", rc);
                        h = ESYS_TR_NONE;
                        goto out;
                }
        }
        t->ek_pub = *pub;
        t->ek = h;
        h = ESYS_TR_NONE;
        r = 0;
out:
        if (h != ESYS_TR_NONE) {
                if (t->ek_persistent != 0)
                        (void)Esys_TR_Close(t->esys, &h);
                else
                        kl_tpm_flush(t, &h);
        }
        Esys_Free(pub);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        Esys_Free(name);
        Esys_Free(qname);
        return r;
}

int kl_tpm_ek_flush(struct kl_tpm *t)
{
        TSS2_RC rc;

        if (t == NULL || t->ek == ESYS_TR_NONE)
                return 0;
        if (t->ek_persistent != 0) {
                /* forget our reference only: the persistent key stays in the TPM */
                rc = Esys_TR_Close(t->esys, &t->ek);
                t->ek = ESYS_TR_NONE;
                return rc == TSS2_RC_SUCCESS ? 0 : kl_tpm_fail("Esys_TR_Close", rc);
        }
        rc = Esys_FlushContext(t->esys, t->ek);
        t->ek = ESYS_TR_NONE;
        return rc == TSS2_RC_SUCCESS ? 0 : kl_tpm_fail("Esys_FlushContext", rc);
}

int kl_tpm_ek_public(struct kl_tpm *t, uint8_t **ret_buf, size_t *ret_len)
{
        int r;

        if ((r = kl_tpm_ek_load(t)) < 0)
                return r;
        return kl_tpm_marshal_public(&t->ek_pub, ret_buf, ret_len);
}

/* ---- NV: EK certificates -------------------------------------------------- */

static UINT32 nv_buffer_max(struct kl_tpm *t)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc;

        if (t->nv_buffer_max != 0)
                return t->nv_buffer_max;
        t->nv_buffer_max = NV_BUFFER_FALLBACK;
        rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
                log_warn("Esys_GetCapability(NV_BUFFER_MAX): 0x%08x %s (using %u)", rc,
                         Tss2_RC_Decode(rc), NV_BUFFER_FALLBACK);
        } else if (cap->data.tpmProperties.count >= 1 &&
                   cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
                   cap->data.tpmProperties.tpmProperty[0].value > 0) {
                t->nv_buffer_max = cap->data.tpmProperties.tpmProperty[0].value;
        }
        Esys_Free(cap);
        if (t->nv_buffer_max > sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer))
                t->nv_buffer_max = sizeof(((TPM2B_MAX_NV_BUFFER *)0)->buffer);
        return t->nv_buffer_max;
}

/*
 * Length of the DER object at the start of buf (tag, length, contents), or 0
 * when buf does not start with a complete definite-length SEQUENCE. Real TPMs
 * pad EK certificate indices, so the NV size is not the certificate size.
 */
static size_t der_seq_len(const uint8_t *buf, size_t len)
{
        size_t hdr, body = 0, i, n;

        if (len < 2 || buf[0] != 0x30)
                return 0;
        if (buf[1] < 0x80) {
                hdr = 2;
                body = buf[1];
        } else {
                n = buf[1] & 0x7fu;
                if (n == 0 || n > 3 || len < 2 + n)
                        return 0;
                for (i = 0; i < n; i++)
                        body = body << 8 | buf[2 + i];
                hdr = 2 + n;
        }
        if (body > len - hdr)
                return 0;
        return hdr + body;
}

/* Reads an NV index holding a DER object. KL_ERR_NOT_FOUND if not defined. */
static int nv_read_der(struct kl_tpm *t, TPM2_HANDLE index, uint8_t **ret_der, size_t *ret_len)
{
        TPM2B_NV_PUBLIC *nvpub = NULL;
        TPM2B_NAME *nvname = NULL;
        TPM2B_MAX_NV_BUFFER *data = NULL;
        ESYS_TR nv = ESYS_TR_NONE, auth;
        uint8_t *buf = NULL;
        size_t size = 0, off = 0, der_len;
        UINT32 chunk;
        TSS2_RC rc;
        int r = KL_ERR_TPM;

        rc = Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
        if (rc != TSS2_RC_SUCCESS) {
                nv = ESYS_TR_NONE;
                if (kl_tpm_rc_base(rc) == TPM2_RC_HANDLE) {
                        log_debug("NV index 0x%08x is not defined", index);
                        r = KL_ERR_NOT_FOUND;
                } else {
                        log_error("Esys_TR_FromTPMPublic(0x%08x): 0x%08x %s", index, rc,
                                  Tss2_RC_Decode(rc));
                        r = kl_tpm_err(rc);
                }
                goto out;
        }
        rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nvpub,
                                &nvname);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_NV_ReadPublic", rc);
                goto out;
        }
        size = nvpub->nvPublic.dataSize;
        if (size == 0 || size > NV_CERT_MAX) {
                log_error("NV index 0x%08x has an implausible size %zu", index, size);
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((buf = malloc(size)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        /* Owner auth (empty on a fresh TPM) as Keylime reads it; the index's own
         * (empty) auth when the owner has a password and the index allows it. */
        auth = ESYS_TR_RH_OWNER;
        if (!(nvpub->nvPublic.attributes & TPMA_NV_OWNERREAD) &&
            (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD))
                auth = nv;
        chunk = nv_buffer_max(t);
        while (off < size) {
                UINT16 want = (UINT16)(size - off < chunk ? size - off : chunk);

                rc = Esys_NV_Read(t->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  want, (UINT16)off, &data);
                if (rc != TSS2_RC_SUCCESS && auth == ESYS_TR_RH_OWNER &&
                    kl_tpm_err(rc) == KL_ERR_TPM_AUTH &&
                    (nvpub->nvPublic.attributes & TPMA_NV_AUTHREAD)) {
                        log_debug("owner read of NV 0x%08x refused, trying the index auth", index);
                        auth = nv;
                        continue;
                }
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_NV_Read", rc);
                        goto out;
                }
                if (data->size == 0 || data->size > want) {
                        log_error("Esys_NV_Read returned %u bytes for %u", data->size, want);
                        r = KL_ERR_TPM;
                        goto out;
                }
                memcpy(buf + off, data->buffer, data->size);
                off += data->size;
                Esys_Free(data);
                data = NULL;
        }
        if ((der_len = der_seq_len(buf, size)) == 0) {
                log_debug("NV index 0x%08x does not hold a DER object", index);
                r = KL_ERR_INVAL;
                goto out;
        }
        *ret_der = buf;
        *ret_len = der_len;
        buf = NULL;
        r = 0;
out:
        if (nv != ESYS_TR_NONE)
                (void)Esys_TR_Close(t->esys, &nv);
        Esys_Free(data);
        Esys_Free(nvpub);
        Esys_Free(nvname);
        free(buf);
        return r;
}

int kl_tpm_ek_cert(struct kl_tpm *t, uint8_t **ret_der, size_t *ret_len)
{
        TPMI_ALG_PUBLIC alg = t->ek != ESYS_TR_NONE ? t->ek_pub.publicArea.type : t->key_alg;

        return nv_read_der(t, alg == TPM2_ALG_RSA ? NV_EK_CERT_RSA2048 : NV_EK_CERT_P256, ret_der,
                           ret_len);
}

int kl_tpm_nv_read_der(struct kl_tpm *t, uint32_t index, uint8_t **ret_der, size_t *ret_len)
{
        return nv_read_der(t, index, ret_der, ret_len);
}

void kl_tpm_der_list_free(uint8_t **ders, size_t *lens, size_t n)
{
        size_t i;

        if (ders != NULL) {
                for (i = 0; i < n; i++)
                        free(ders[i]);
        }
        free(ders);
        free(lens);
}

int kl_tpm_ek_chain(struct kl_tpm *t, uint8_t ***ret_ders, size_t **ret_lens, size_t *ret_n)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_YES;
        TPM2_HANDLE next = NV_EK_CHAIN_FIRST;
        uint8_t **ders = NULL;
        size_t *lens = NULL, n = 0, i;
        TSS2_RC rc;
        int r = KL_ERR_NOMEM;

        /* at most 256 indices in the range: allocate for all of them once */
        ders = calloc(NV_EK_CHAIN_LAST - NV_EK_CHAIN_FIRST + 1, sizeof(*ders));
        lens = calloc(NV_EK_CHAIN_LAST - NV_EK_CHAIN_FIRST + 1, sizeof(*lens));
        if (ders == NULL || lens == NULL)
                goto out;
        while (more == TPM2_YES && next <= NV_EK_CHAIN_LAST) {
                rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                        TPM2_CAP_HANDLES, next, NV_EK_CHAIN_LAST - next + 1, &more,
                                        &cap);
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_GetCapability(HANDLES)", rc);
                        goto out;
                }
                if (cap->data.handles.count == 0)
                        break;
                for (i = 0; i < cap->data.handles.count; i++) {
                        TPM2_HANDLE h = cap->data.handles.handle[i];

                        if (h < next || h > NV_EK_CHAIN_LAST) {
                                more = TPM2_NO;
                                break;
                        }
                        next = h + 1;
                        r = nv_read_der(t, h, &ders[n], &lens[n]);
                        if (r == KL_ERR_INVAL || r == KL_ERR_NOT_FOUND) {
                                log_warn("NV index 0x%08x holds no certificate, ignoring", h);
                                continue;
                        }
                        if (r < 0)
                                goto out;
                        n++;
                }
                Esys_Free(cap);
                cap = NULL;
        }
        *ret_ders = ders;
        *ret_lens = lens;
        *ret_n = n;
        ders = NULL;
        lens = NULL;
        r = 0;
out:
        Esys_Free(cap);
        kl_tpm_der_list_free(ders, lens, n);
        return r;
}
