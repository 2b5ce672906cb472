/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the files of kl_tpm share, and nothing outside lib/tpm includes: the
 * context behind struct kl_tpm, TSS return-code translation and flushing.
 * Every TSS return code is logged once, where it is met, with
 * Tss2_RC_Decode (kl_tpm_fail), and translated with kl_tpm_err.
 */
#ifndef KL_TPM_INTERNAL_H
#define KL_TPM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_esys.h>

#include "tpm.h"

struct kl_tpm {
        TSS2_TCTI_CONTEXT *tcti_ctx;
        ESYS_CONTEXT *esys;
        char *tcti;

        TPMI_ALG_HASH hash_alg;
        TPMI_ALG_PUBLIC key_alg; /* TPM2_ALG_RSA (2048) or TPM2_ALG_ECC (P-256) */
        TPMI_ALG_SIG_SCHEME sign_alg;
        TPM2B_AUTH endorsement_auth; /* secret: wiped in kl_tpm_free */
        TPM2_HANDLE ek_persistent;   /* 0: transient EK from the template */

        ESYS_TR ek; /* ESYS_TR_NONE when not loaded */
        TPM2B_PUBLIC ek_pub;
        ESYS_TR ak;
        TPM2B_PUBLIC ak_pub;
        UINT32 nv_buffer_max; /* 0 until asked */
};

/* The TPM's own response code without layer, handle/parameter/session bits. */
TSS2_RC kl_tpm_rc_base(TSS2_RC rc);
/* Keeps apart the codes a caller acts on: KL_ERR_TPM_RETRY, _AUTH, _LOCKOUT, _HANDLE. */
int kl_tpm_err(TSS2_RC rc);
/* Logs "fn: 0x... decoded" and returns kl_tpm_err(rc). */
int kl_tpm_fail(const char *fn, TSS2_RC rc);
/* Flushes a transient object or session and sets *h to ESYS_TR_NONE; failures only logged. */
void kl_tpm_flush(struct kl_tpm *t, ESYS_TR *h);
/* A TPM2B_PUBLIC marshalled, as Keylime's ek_tpm/aik_tpm; caller frees. */
int kl_tpm_marshal_public(const TPM2B_PUBLIC *pub, uint8_t **ret_buf, size_t *ret_len);
/* The same for a TPM2B_PRIVATE (the caller frees *ret_buf). */
int kl_tpm_marshal_private(const TPM2B_PRIVATE *priv, uint8_t **ret_buf, size_t *ret_len);
/*
 * Sessions (tpm_session.c). The caller flushes each on every path.
 *
 * A policy session satisfying the EK's authPolicy, PolicySecret(endorsement).
 * Every use of the EK needs a fresh one.
 */
int kl_tpm_ek_session(struct kl_tpm *t, ESYS_TR *ret);
/*
 * The same, salted by the loaded EK, with AES-128-CFB parameter encryption:
 * crypt is TPMA_SESSION_ENCRYPT (the response's first parameter) and/or
 * TPMA_SESSION_DECRYPT (the command's), or 0.
 */
int kl_tpm_ek_session_salted(struct kl_tpm *t, TPMA_SESSION crypt, ESYS_TR *ret);
/*
 * A policy session, salted by the loaded EK, that has run PolicyPCR over
 * mask (PCRs 0..23) of bank (TPM_ALG_ID) with their current values: it
 * authorises an object whose authPolicy is kl_tpm_policy_pcr of the values
 * it was sealed to, and only while the PCRs still hold them. crypt as above.
 */
/*
 * TPM2_Load of priv/pub under the loaded EK, authorised by a fresh EK
 * session (flushed here). 0 with *ret loaded; a session failure's error; or
 * KL_ERR_TPM with the TPM's code in *ret_rc, not logged, for the caller to
 * translate in its own terms.
 */
int kl_tpm_load_under_ek(struct kl_tpm *t, const TPM2B_PUBLIC *pub, const TPM2B_PRIVATE *priv,
                         ESYS_TR *ret, TSS2_RC *ret_rc);
/*
 * TPM2_Create of tmpl under the loaded EK (empty sensitive data, no outside
 * info or creation PCRs) in the EK session *s the caller chose (plain, or
 * salted with parameter encryption), which is flushed here. The caller owns
 * *ret_priv and *ret_pub (Esys_Free; wipe priv first).
 */
int kl_tpm_create_under_ek(struct kl_tpm *t, const TPM2B_PUBLIC *tmpl, ESYS_TR *s,
                           TPM2B_PRIVATE **ret_priv, TPM2B_PUBLIC **ret_pub);
int kl_tpm_pcr_session(struct kl_tpm *t, uint16_t bank, uint32_t mask, TPMA_SESSION crypt,
                       ESYS_TR *ret);
/*
 * TPM2_Certify of object (empty password auth) by the loaded AK over qual
 * (1..64 bytes): kl_tpm_certify_ak's contract for any loaded object (tpm_pcr.c).
 */
int kl_tpm_certify_object(struct kl_tpm *t, ESYS_TR object, const uint8_t *qual_data,
                          size_t qual_len, uint8_t **ret_attest, size_t *ret_attest_len,
                          uint8_t **ret_sig, size_t *ret_sig_len);

#endif
