/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, sessions (and loading under the EK, which needs one):
 * policy sessions for the EK's authPolicy
 * (PolicySecret(endorsement)) and for objects sealed to PCRs (PolicyPCR),
 * plain or salted by the EK with AES-128-CFB parameter encryption so that
 * secrets the TPM returns (a credential, unsealed data) cross the bus
 * encrypted (TPM 2.0 Part 1, 21 "Session-based encryption"). Every session
 * is continueSession: the caller's kl_tpm_flush is always the one that ends it.
 */
#include "tpm_internal.h"

#include <stdbool.h>

#include "err.h"
#include "log.h"

/* A fresh sha256 policy session; salted with the loaded EK when salted. */
static int start_policy(struct kl_tpm *t, bool salted, ESYS_TR *ret)
{
        TPMT_SYM_DEF plain = {.algorithm = TPM2_ALG_NULL};
        TPMT_SYM_DEF aes = {
            .algorithm = TPM2_ALG_AES, .keyBits = {.aes = 128}, .mode = {.aes = TPM2_ALG_CFB}};
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if (salted && t->ek == ESYS_TR_NONE)
                return KL_ERR_INVAL;
        rc = Esys_StartAuthSession(t->esys, salted ? t->ek : ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, NULL, TPM2_SE_POLICY,
                                   salted ? &aes : &plain, TPM2_ALG_SHA256, &s);
        if (rc != TSS2_RC_SUCCESS) {
                s = ESYS_TR_NONE;
                r = kl_tpm_fail("Esys_StartAuthSession", rc);
                goto out;
        }
        rc = Esys_TRSess_SetAttributes(t->esys, s, TPMA_SESSION_CONTINUESESSION, 0xff);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_TRSess_SetAttributes", rc);
                goto out;
        }
        *ret = s;
        s = ESYS_TR_NONE;
        r = 0;
out:
        kl_tpm_flush(t, &s);
        return r;
}

/*
 * Sets the encrypt/decrypt attributes wanted for the next command (after the
 * policy commands) and moves *s to *ret; on failure *s stays for the flush.
 */
static int hand_over(struct kl_tpm *t, ESYS_TR *s, TPMA_SESSION crypt, ESYS_TR *ret)
{
        TSS2_RC rc;

        if (crypt != 0) {
                rc = Esys_TRSess_SetAttributes(t->esys, *s, crypt,
                                               TPMA_SESSION_ENCRYPT | TPMA_SESSION_DECRYPT);
                if (rc != TSS2_RC_SUCCESS)
                        return kl_tpm_fail("Esys_TRSess_SetAttributes", rc);
        }
        *ret = *s;
        *s = ESYS_TR_NONE;
        return 0;
}

static int ek_session(struct kl_tpm *t, bool salted, TPMA_SESSION crypt, ESYS_TR *ret)
{
        TPM2B_NONCE nonce = {0};
        TPM2B_DIGEST cphash = {0};
        TPM2B_NONCE ref = {0};
        TPM2B_TIMEOUT *timeout = NULL;
        TPMT_TK_AUTH *ticket = NULL;
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if ((r = start_policy(t, salted, &s)) < 0)
                goto out;
        rc = Esys_PolicySecret(t->esys, ESYS_TR_RH_ENDORSEMENT, s, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &nonce, &cphash, &ref, 0, &timeout, &ticket);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_PolicySecret", rc);
                goto out;
        }
        r = hand_over(t, &s, crypt, ret);
out:
        kl_tpm_flush(t, &s);
        Esys_Free(timeout);
        Esys_Free(ticket);
        return r;
}

int kl_tpm_ek_session(struct kl_tpm *t, ESYS_TR *ret)
{
        return ek_session(t, false, 0, ret);
}

int kl_tpm_ek_session_salted(struct kl_tpm *t, TPMA_SESSION crypt, ESYS_TR *ret)
{
        return ek_session(t, true, crypt, ret);
}

int kl_tpm_pcr_session(struct kl_tpm *t, uint16_t bank, uint32_t mask, TPMA_SESSION crypt,
                       ESYS_TR *ret)
{
        TPML_PCR_SELECTION sel = {.count = 1};
        TPM2B_DIGEST current = {0}; /* empty: the TPM takes the PCRs' current values */
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if (mask == 0 || (mask >> 24) != 0)
                return KL_ERR_INVAL;
        sel.pcrSelections[0].hash = bank;
        sel.pcrSelections[0].sizeofSelect = 3;
        sel.pcrSelections[0].pcrSelect[0] = (BYTE)mask;
        sel.pcrSelections[0].pcrSelect[1] = (BYTE)(mask >> 8);
        sel.pcrSelections[0].pcrSelect[2] = (BYTE)(mask >> 16);
        if ((r = start_policy(t, true, &s)) < 0)
                goto out;
        rc = Esys_PolicyPCR(t->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_PolicyPCR", rc);
                goto out;
        }
        r = hand_over(t, &s, crypt, ret);
out:
        kl_tpm_flush(t, &s);
        return r;
}

int kl_tpm_load_under_ek(struct kl_tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
                         ESYS_TR *ret, TSS2_RC *ret_rc)
{
        ESYS_TR s = ESYS_TR_NONE, h = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if ((r = kl_tpm_ek_session(t, &s)) < 0)
                return r;
        rc = Esys_Load(t->esys, t->ek, s, ESYS_TR_NONE, ESYS_TR_NONE, priv, pub, &h);
        kl_tpm_flush(t, &s);
        if (rc != TSS2_RC_SUCCESS) {
                *ret_rc = rc;
                return KL_ERR_TPM;
        }
        *ret = h;
        return 0;
}

int kl_tpm_create_under_ek(struct kl_tpm *t, const TPM2B_PUBLIC *tmpl, ESYS_TR *s,
                           TPM2B_PRIVATE **ret_priv, TPM2B_PUBLIC **ret_pub)
{
        TPM2B_SENSITIVE_CREATE sens = {0};
        TPM2B_DATA outside = {0};
        TPML_PCR_SELECTION pcrs = {0};
        TPM2B_CREATION_DATA *cdata = NULL;
        TPM2B_DIGEST *chash = NULL;
        TPMT_TK_CREATION *ticket = NULL;
        TSS2_RC rc = Esys_Create(t->esys, t->ek, *s, ESYS_TR_NONE, ESYS_TR_NONE, &sens, tmpl,
                                 &outside, &pcrs, ret_priv, ret_pub, &cdata, &chash, &ticket);

        kl_tpm_flush(t, s);
        Esys_Free(cdata);
        Esys_Free(chash);
        Esys_Free(ticket);
        return rc == TSS2_RC_SUCCESS ? 0 : kl_tpm_fail("Esys_Create", rc);
}
