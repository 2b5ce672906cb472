/* SPDX-License-Identifier: Apache-2.0 */
/* See verify_evidence.h. */
#include "verify_evidence.h"

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "quote.h"
#include "uefi_log.h"

int ver_check_evidence(const struct ver_evidence *ev, struct ver_evidence_state *st, char *why,
                       size_t why_len)
{
        struct ver_quote_input in = ev->quote;
        struct kl_ima_replay ima = st->ima;
        struct kl_uefi_pcrs *uefi = NULL;
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        int r;

        in.prev = &st->prev;
        if ((r = ver_check_quote(&in, &pcrs, &info, why, why_len)) < 0)
                goto out;
        r = KL_ERR_VERIFY;
        if (ver_check_pcr16(&pcrs, ev->pcr16_pem, ev->pcr16_pem_len, why, why_len) < 0 ||
            ver_check_tpm_policy(ev->tpm, &pcrs, why, why_len) < 0)
                goto out;
        /* the boot log first: its PCRs 0-9 give the IMA policy's accepted boot_aggregates */
        if ((ev->mb_policy != NULL || ev->ima_policy != NULL) && ev->mb_log != NULL) {
                if ((uefi = calloc(1, sizeof(*uefi))) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                if (kl_uefi_log_replay(ev->mb_log, ev->mb_len, uefi, why, why_len) < 0) {
                        if (ev->mb_policy != NULL)
                                goto out;
                        free(uefi); /* no mb policy: an unusable log only gives no aggregate */
                        uefi = NULL;
                }
        }
        if (ev->ima_policy != NULL) {
                if (ev->ima_text == NULL) {
                        snprintf(why, why_len, "PCR 10 quoted but no IMA list sent");
                        goto out;
                }
                if (ev->ima_from_start || !st->ima_started)
                        kl_ima_replay_init(&ima, pcrs.hash_alg);
                if ((r = kl_ima_policy_set_boot_aggregates(ev->ima_policy, uefi)) < 0 ||
                    (r = kl_ima_replay(&ima, ev->ima_text, ev->ima_len, ev->ima_policy,
                                       pcrs.values[VER_IMA_PCR], why, why_len)) < 0)
                        goto out;
                r = KL_ERR_VERIFY;
        }
        if (ev->mb_policy != NULL &&
            (uefi == NULL || ver_check_mb_replay(uefi, &pcrs, why, why_len) < 0 ||
             kl_mb_policy_check(ev->mb_policy, uefi, why, why_len) < 0)) {
                if (uefi == NULL)
                        snprintf(why, why_len, "mb policy set but no usable UEFI event log sent");
                goto out;
        }
        /* Everything verified: now the running state may advance. */
        st->prev.valid = true;
        st->prev.clock = info.clock;
        st->prev.reset_count = info.reset_count;
        st->prev.restart_count = info.restart_count;
        if (ev->ima_policy != NULL) {
                st->ima = ima;
                st->ima_started = true;
        }
        r = 0;
out:
        free(uefi);
        return r;
}
