/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Evidence as both attestation models send it: a TPM quote whose PCR 16
 * binds a public key (the NK in pull mode, the AK in push mode), the IMA
 * list from an entry on, and the UEFI event log. The pull API handlers and
 * the push client share these, so both produce the same bytes.
 */
#ifndef AGENT_QUOTE_EVIDENCE_H
#define AGENT_QUOTE_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "quote.h"

#define AGENT_DATA_PCR 16

struct kl_ima_slice;

struct agent_quote {
        char *quote;            /* "r<attest>:<sig>:<pcrblob>" */
        struct kl_pcr_set pcrs; /* the quoted values */
        /* the IMA list from the entry asked for to the end measured after the quote
         * (ima_log.h; kl_ima_slice_entry is where it starts); NULL without IMA */
        struct kl_ima_slice *ima;
};
void agent_quote_clear(struct agent_quote *q);

/*
 * When r is KL_ERR_TPM_LOST, or KL_ERR_TPM_HANDLE (a reset TPM lost the
 * loaded AK): logs it once and raises SIGTERM, so the agent
 * stops and exits non-zero (agent.tpm_lost) for the service manager to
 * restart it with a fresh TPM context.
 */
void agent_note_tpm_lost(struct agent *a, int r);

/*
 * Under the TPM lock: PCR 16 reset and extended with pcr16_digest, quote
 * over mask | PCR 16 with qualifying data nonce, then (want_ima) the IMA
 * list from ima_entry as a slice whose end is measured after the quote, so
 * it holds every event the quoted PCR 10 folded in; read it later, outside
 * the lock.
 */
int agent_take_quote(struct agent *a, const uint8_t *nonce, size_t nonce_len,
                     const uint8_t *pcr16_digest, size_t pcr16_len, uint32_t mask, bool want_ima,
                     uint64_t ima_entry, struct agent_quote *ret);

/* The UEFI event log read from offset 0 of fd, base64; NULL when it cannot be read (logged). */
char *agent_read_mb_log(int fd);

#endif
