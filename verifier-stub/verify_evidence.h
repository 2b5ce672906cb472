/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One piece of evidence checked end to end: quote (verify.h steps 1-7),
 * PCR policy, IMA replay and measured boot, in that order, advancing the
 * agent's running state only when everything verified. The pull poller and
 * the push routes (API 3.0) both decode their wire form into struct
 * ver_evidence and call this, so both modes apply exactly the same checks.
 * No I/O, no globals.
 */
#ifndef VER_VERIFY_EVIDENCE_H
#define VER_VERIFY_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ima.h"
#include "verify.h"

struct kl_mb_policy;

/* What survives from one verified piece of evidence to the next. */
struct ver_evidence_state {
        struct ver_clock prev;
        struct kl_ima_replay ima;
        bool ima_started;
};

struct ver_evidence {
        struct ver_quote_input quote; /* .prev is taken from the state */
        const char *pcr16_pem;        /* the key PCR 16 binds (NK in pull, AK in push) */
        size_t pcr16_pem_len;
        const struct ver_tpm_policy *tpm;
        struct kl_ima_policy *ima_policy; /* NULL = no IMA check; gets the boot aggregates */
        const char *ima_text;             /* NULL = the agent sent no list */
        size_t ima_len;
        bool ima_from_start;                  /* the list starts at entry 0: replay from scratch */
        const struct kl_mb_policy *mb_policy; /* NULL = no measured boot check */
        const uint8_t *mb_log; /* decoded UEFI event log; NULL = none sent (or undecodable) */
        size_t mb_len;
};

/*
 * KL_ERR_VERIFY (or KL_ERR_INVAL for evidence that does not decode) with a
 * one-line reason in why; on success 0 and *st advanced (clock, IMA position).
 */
int ver_check_evidence(const struct ver_evidence *ev, struct ver_evidence_state *st, char *why,
                       size_t why_len);

#endif
