/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's TPM, part 4: PCR banks, PCR reads and resets, quotes over a
 * PCR selection with the AK (Keylime quote-format.md section 4), and the
 * AK's certification of itself (the push model's proof of possession).
 */
#include "tpm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include "err.h"
#include "hash_alg.h"
#include "log.h"
#include "quote.h"

/* ---- PCR banks (for the agent's --check) ------------------------------- */

int kl_tpm_pcr_banks(struct kl_tpm *tpm, char *out, size_t len)
{
        TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        size_t used = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (tpm == NULL || out == NULL || len == 0)
                goto out;
        out[0] = '\0';
        rc = Esys_GetCapability(tpm->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS,
                                0, 1, &more, &cap);
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_GetCapability(PCRS)", rc);
                goto out;
        }
        r = 0;
        for (UINT32 i = 0; i < cap->data.assignedPCR.count && i < TPM2_NUM_PCR_BANKS; i++) {
                const TPMS_PCR_SELECTION *sel = &cap->data.assignedPCR.pcrSelections[i];
                const struct kl_hash_alg *h = kl_hash_alg_by_id(sel->hash); /* sm3_256 too */
                bool allocated = false;
                int n;

                /* a bank the TPM implements but has no PCR allocated to is not usable */
                for (UINT8 b = 0; b < sel->sizeofSelect && b < TPM2_PCR_SELECT_MAX; b++)
                        allocated = allocated || sel->pcrSelect[b] != 0;
                if (!allocated)
                        continue;
                if (h != NULL)
                        n = snprintf(out + used, len - used, "%s%s", used ? "," : "", h->name);
                else
                        n = snprintf(out + used, len - used, "%s0x%04x", used ? "," : "",
                                     (unsigned)sel->hash);
                if (n < 0 || (size_t)n >= len - used) {
                        r = KL_ERR_TOO_LONG;
                        goto out;
                }
                used += (size_t)n;
        }
out:
        Esys_Free(cap);
        return r;
}

/* ---- PCRs and quotes (Keylime quote-format.md section 4) -------------- */

/* PCR_Read and Quote disagree when a PCR is extended in between: try again. */
#define QUOTE_ATTEMPTS 5

/* One bank, PCRs 0..23 of mask. */
static void pcr_selection(TPMI_ALG_HASH alg, uint32_t mask, TPML_PCR_SELECTION *sel)
{
        memset(sel, 0, sizeof(*sel));
        sel->count = 1;
        sel->pcrSelections[0].hash = alg;
        sel->pcrSelections[0].sizeofSelect = 3;
        sel->pcrSelections[0].pcrSelect[0] = (BYTE)mask;
        sel->pcrSelections[0].pcrSelect[1] = (BYTE)(mask >> 8);
        sel->pcrSelections[0].pcrSelect[2] = (BYTE)(mask >> 16);
}

int kl_tpm_pcr_reset_extend(struct kl_tpm *t, unsigned pcr, const uint8_t *digest, size_t len)
{
        TPML_DIGEST_VALUES v;
        TSS2_RC rc;

        if (t == NULL || digest == NULL || pcr >= KL_PCR_COUNT ||
            len != kl_hash_alg_digest_len(t->hash_alg))
                return KL_ERR_INVAL;
        rc = Esys_PCR_Reset(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                            ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS)
                return kl_tpm_fail("Esys_PCR_Reset", rc);
        memset(&v, 0, sizeof(v));
        v.count = 1;
        v.digests[0].hashAlg = t->hash_alg;
        memcpy(v.digests[0].digest.sha512, digest, len); /* the union's largest member */
        rc = Esys_PCR_Extend(t->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, &v);
        if (rc != TSS2_RC_SUCCESS)
                return kl_tpm_fail("Esys_PCR_Extend", rc);
        return 0;
}

int kl_tpm_pcr_read(struct kl_tpm *t, uint16_t hash_alg, uint32_t mask, struct kl_pcr_set *ret)
{
        struct kl_pcr_set p;
        TPML_PCR_SELECTION sel;
        TPML_PCR_SELECTION *out_sel = NULL;
        TPML_DIGEST *vals = NULL;
        UINT32 counter = 0;
        uint32_t left = mask;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        memset(&p, 0, sizeof(p));
        if (t == NULL || ret == NULL || (mask >> KL_PCR_COUNT) != 0 ||
            (p.digest_len = kl_hash_alg_digest_len(hash_alg)) == 0)
                goto out;
        p.hash_alg = hash_alg;
        p.mask = mask;
        /* a TPM returns at most 8 digests per PCR_Read: ask again for the rest */
        while (left != 0) {
                const TPMS_PCR_SELECTION *s;
                uint32_t got = 0;
                unsigned i, k = 0;

                pcr_selection(hash_alg, left, &sel);
                rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel,
                                   &counter, &out_sel, &vals);
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_PCR_Read", rc);
                        goto out;
                }
                s = &out_sel->pcrSelections[0];
                if (out_sel->count >= 1 && s->hash == hash_alg) {
                        for (i = 0; i < s->sizeofSelect && i < TPM2_PCR_SELECT_MAX; i++)
                                got |= (uint32_t)s->pcrSelect[i] << (8 * i);
                }
                /* nothing read (bank not allocated) or more than asked: do not loop forever */
                if (got == 0 || (got & ~left) != 0 ||
                    (unsigned)__builtin_popcount(got) != vals->count) {
                        log_error("PCR_Read of bank 0x%04x mask 0x%06x returned mask 0x%06x "
                                  "with %u digests",
                                  hash_alg, left, got, vals->count);
                        r = KL_ERR_TPM;
                        goto out;
                }
                for (i = 0; i < KL_PCR_COUNT; i++) {
                        if (!(got & (1u << i)))
                                continue;
                        if (vals->digests[k].size != p.digest_len) {
                                log_error("PCR_Read returned a %u-byte digest for PCR %u",
                                          vals->digests[k].size, i);
                                r = KL_ERR_TPM;
                                goto out;
                        }
                        memcpy(p.values[i], vals->digests[k].buffer, p.digest_len);
                        k++;
                }
                left &= ~got;
                Esys_Free(out_sel);
                Esys_Free(vals);
                out_sel = NULL;
                vals = NULL;
        }
        *ret = p;
        r = 0;
out:
        Esys_Free(out_sel);
        Esys_Free(vals);
        return r;
}

/* The TPMS_ATTEST bytes and marshalled TPMT_SIGNATURE of a signed attestation (caller frees). */
static int attest_out(const TPM2B_ATTEST *attest, const TPMT_SIGNATURE *signature,
                      uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                      size_t *ret_sig_len)
{
        uint8_t *a = malloc(attest->size > 0 ? attest->size : 1);
        uint8_t *sig = malloc(sizeof(TPMT_SIGNATURE));
        size_t sig_len = 0;
        TSS2_RC rc;

        if (a == NULL || sig == NULL) {
                free(a);
                free(sig);
                return KL_ERR_NOMEM;
        }
        memcpy(a, attest->attestationData, attest->size);
        rc = Tss2_MU_TPMT_SIGNATURE_Marshal(signature, sig, sizeof(TPMT_SIGNATURE), &sig_len);
        if (rc != TSS2_RC_SUCCESS) {
                free(a);
                free(sig);
                return kl_tpm_fail("Tss2_MU_TPMT_SIGNATURE_Marshal", rc);
        }
        *ret_attest = a;
        *ret_attest_len = attest->size;
        *ret_sig = sig;
        *ret_sig_len = sig_len;
        return 0;
}

int kl_tpm_quote(struct kl_tpm *t, const uint8_t *nonce, size_t nonce_len, uint32_t mask,
                 uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                 size_t *ret_sig_len, struct kl_pcr_set *ret_pcrs)
{
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        TPM2B_DATA qual = {0};
        TPMT_SIG_SCHEME scheme = {0};
        TPML_PCR_SELECTION sel;
        TPM2B_ATTEST *quoted = NULL;
        TPMT_SIGNATURE *signature = NULL;
        uint8_t digest[64];
        size_t digest_len = 0;
        int attempt, r = KL_ERR_INVAL;
        TSS2_RC rc;

        if (t == NULL || (nonce == NULL && nonce_len > 0) || nonce_len > 64 ||
            nonce_len > sizeof(qual.buffer) || mask == 0 || (mask >> KL_PCR_COUNT) != 0 ||
            ret_attest == NULL || ret_attest_len == NULL || ret_sig == NULL ||
            ret_sig_len == NULL || ret_pcrs == NULL || t->ak == ESYS_TR_NONE)
                goto out;
        if (nonce_len > 0)
                memcpy(qual.buffer, nonce, nonce_len);
        qual.size = (UINT16)nonce_len;
        scheme.scheme = t->sign_alg;
        scheme.details.any.hashAlg = t->hash_alg;
        pcr_selection(t->hash_alg, mask, &sel);
        for (attempt = 0; attempt < QUOTE_ATTEMPTS; attempt++) {
                Esys_Free(quoted);
                Esys_Free(signature);
                quoted = NULL;
                signature = NULL;
                if ((r = kl_tpm_pcr_read(t, t->hash_alg, mask, &pcrs)) < 0)
                        goto out;
                rc = Esys_Quote(t->esys, t->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qual,
                                &scheme, &sel, &quoted, &signature);
                if (rc != TSS2_RC_SUCCESS && kl_tpm_rc_base(rc) == TPM2_RC_SIZE) {
                        /* qualifyingData is bounded by the TPM's largest digest + 2 */
                        log_debug("Esys_Quote: %zu-byte nonce too long for this TPM (%s)",
                                  nonce_len, Tss2_RC_Decode(rc));
                        r = KL_ERR_INVAL;
                        goto out;
                }
                if (rc != TSS2_RC_SUCCESS) {
                        r = kl_tpm_fail("Esys_Quote", rc);
                        goto out;
                }
                /* check what the TPM signed before handing it on */
                if (kl_attest_parse(quoted->attestationData, quoted->size, &info) < 0 ||
                    info.sel_hash != t->hash_alg || info.sel_mask != mask ||
                    info.nonce_len != nonce_len ||
                    (nonce_len > 0 && memcmp(info.nonce, nonce, nonce_len) != 0)) {
                        log_error("TPM2_Quote returned an attestation for other data");
                        r = KL_ERR_TPM;
                        goto out;
                }
                if ((r = kl_pcr_set_digest(&pcrs, digest, &digest_len)) < 0)
                        goto out;
                if (digest_len == info.pcr_digest_len &&
                    memcmp(digest, info.pcr_digest, digest_len) == 0)
                        break;
                log_debug("PCRs changed between PCR_Read and Quote (attempt %d)", attempt + 1);
        }
        if (attempt == QUOTE_ATTEMPTS) {
                log_error("PCRs kept changing during %d quote attempts", QUOTE_ATTEMPTS);
                r = KL_ERR_TPM_RETRY;
                goto out;
        }
        if ((r = attest_out(quoted, signature, ret_attest, ret_attest_len, ret_sig, ret_sig_len)) <
            0)
                goto out;
        *ret_pcrs = pcrs;
out:
        Esys_Free(quoted);
        Esys_Free(signature);
        return r;
}

int kl_tpm_certify_object(struct kl_tpm *t, ESYS_TR object, const uint8_t *qual_data,
                          size_t qual_len, uint8_t **ret_attest, size_t *ret_attest_len,
                          uint8_t **ret_sig, size_t *ret_sig_len)
{
        TPM2B_DATA qual = {0};
        TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
        TPM2B_ATTEST *certified = NULL;
        TPMT_SIGNATURE *signature = NULL;
        int r = KL_ERR_INVAL;
        TSS2_RC rc;

        if (t == NULL || qual_data == NULL || qual_len == 0 || qual_len > sizeof(qual.buffer) ||
            t->ak == ESYS_TR_NONE || object == ESYS_TR_NONE)
                goto out;
        memcpy(qual.buffer, qual_data, qual_len);
        qual.size = (UINT16)qual_len;
        /* inScheme NULL: the AK's own scheme, which the verifier negotiated from our config */
        rc = Esys_Certify(t->esys, object, t->ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                          &qual, &scheme, &certified, &signature);
        if (rc != TSS2_RC_SUCCESS && kl_tpm_rc_base(rc) == TPM2_RC_SIZE) {
                log_debug("Esys_Certify: %zu-byte challenge too long for this TPM (%s)", qual_len,
                          Tss2_RC_Decode(rc));
                goto out;
        }
        if (rc != TSS2_RC_SUCCESS) {
                r = kl_tpm_fail("Esys_Certify", rc);
                goto out;
        }
        r = attest_out(certified, signature, ret_attest, ret_attest_len, ret_sig, ret_sig_len);
out:
        Esys_Free(certified);
        Esys_Free(signature);
        return r;
}

int kl_tpm_certify_ak(struct kl_tpm *t, const uint8_t *qual_data, size_t qual_len,
                      uint8_t **ret_attest, size_t *ret_attest_len, uint8_t **ret_sig,
                      size_t *ret_sig_len)
{
        return kl_tpm_certify_object(t, t != NULL ? t->ak : ESYS_TR_NONE, qual_data, qual_len,
                                     ret_attest, ret_attest_len, ret_sig, ret_sig_len);
}
