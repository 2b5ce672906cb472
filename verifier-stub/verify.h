/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's checks as pure functions over recorded data: quote
 * (proto quote-format.md section 7 steps 1-7), static PCR policy, measured
 * boot comparison (the add-agent request is in add_request.h). Nothing here does I/O, keeps
 * global state or talks to a TPM, so unit tests and the fuzzer run exactly
 * what the poller runs. Every failure writes a one-line reason into why.
 */
#ifndef VER_VERIFY_H
#define VER_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ima.h"
#include "json.h"
#include "nonce.h"
#include "quote.h"

struct kl_tpm_public;
struct kl_uefi_pcrs;
struct kl_mb_policy;

#define VER_NONCE_LEN       KL_NONCE_LEN /* nonce.h */
#define VER_NK_PEM_MAX      16384        /* bytes of the agent's NK in PEM */
#define VER_PCR_ALLOWED_MAX 8            /* allowed values per PCR */
#define VER_DATA_PCR        16
#define VER_IMA_PCR         10
#define VER_MB_PCR_MASK     0xffu /* PCRs 0-7 are asked for when an mb policy is set */

/* Static PCR policy: for each PCR in mask, one of allowed[i][0..n_allowed[i]) must match. */
struct ver_tpm_policy {
        uint16_t hash_alg; /* the bank every entry is in; 0 = empty policy */
        uint32_t mask;
        unsigned n_allowed[KL_PCR_COUNT];
        uint8_t allowed[KL_PCR_COUNT][VER_PCR_ALLOWED_MAX][64];
};

/*
 * Adds one "BANK:INDEX:HEX" (e.g. "sha256:23:00..00") to p. All entries must
 * name the same bank (a quote covers one bank), INDEX < 24 and not 16 (the
 * agent resets PCR 16 for every quote), HEX the bank's digest size.
 */
int ver_pcr_spec_add(struct ver_tpm_policy *p, const char *spec, char *why, size_t why_len);

/*
 * tpm_policy JSON: {"hash_alg": "sha256" (optional, default sha256),
 * "<index>": "<hex>" or ["<hex>", ...], "mask": ignored}. Same rules as above.
 */
int ver_tpm_policy_from_json(kl_json *obj, struct ver_tpm_policy *p, char *why, size_t why_len);
/* The JSON form above (caller owns *ret); round-trips through ver_tpm_policy_from_json. */
int ver_tpm_policy_to_json(const struct ver_tpm_policy *p, kl_json **ret);

/* What the previous good quote said about the TPM clock. */
struct ver_clock {
        bool valid;
        uint64_t clock;
        uint32_t reset_count, restart_count;
};

/* Step 6: safe, counters never decrease, clock strictly increases while they stay equal. */
int ver_check_clock(const struct ver_clock *prev, const struct kl_attest_info *cur, char *why,
                    size_t why_len);

struct ver_quote_input {
        const char *quote; /* "r<attest>:<sig>:<pcrblob>" */
        size_t quote_len;
        const char *hash_alg;  /* the answer's hash_alg field */
        uint16_t expected_alg; /* the bank the policy is in (0 = sha256) */
        const char *nonce;     /* what we sent */
        const struct kl_tpm_public *ak;
        uint32_t mask; /* what we asked for; the agent adds PCR 16 */
        const struct ver_clock *prev;
};

/*
 * Steps 1-6: accepted hash algorithm, strict decode, AK signature, nonce,
 * selection == requested mask | PCR 16 in the expected bank, PCR digest,
 * clock. KL_ERR_VERIFY for a quote that decodes but does not verify,
 * KL_ERR_INVAL for one that does not decode. On success *ret_pcrs and
 * *ret_info hold the verified PCR values and clock.
 */
int ver_check_quote(const struct ver_quote_input *in, struct kl_pcr_set *ret_pcrs,
                    struct kl_attest_info *ret_info, char *why, size_t why_len);

/* Step 7: PCR 16 == H(0^n || H(nk_pem)) in the quote's bank. */
int ver_check_pcr16(const struct kl_pcr_set *pcrs, const char *nk_pem, size_t nk_pem_len, char *why,
                    size_t why_len);

/* Step 10: every policy PCR is quoted (in the policy's bank) with an allowed value. */
int ver_check_tpm_policy(const struct ver_tpm_policy *p, const struct kl_pcr_set *pcrs, char *why,
                         size_t why_len);

/* Step 9: replayed == quoted for every PCR the event log extended that is in the quote. */
int ver_check_mb_replay(const struct kl_uefi_pcrs *replay, const struct kl_pcr_set *pcrs, char *why,
                        size_t why_len);

/* The PCR mask to ask for: the policy's PCRs, plus 10 with IMA, plus 0-7 with an mb policy. */
uint32_t ver_quote_mask(const struct ver_tpm_policy *p, bool ima, bool mb);

/*
 * What the verifier holds about one agent between quotes. ver_check_answer
 * advances it (NK, clock, IMA position) only when a whole answer verifies.
 */
struct ver_store;
struct ver_last_good;
struct ver_attest_state {
        const char *agent_id; /* for log lines */
        struct ver_tpm_policy tpm;
        struct kl_ima_policy *ima_policy; /* NULL = none */
        struct kl_mb_policy *mb_policy;   /* NULL = none */
        struct kl_tpm_public *ak;
        char *nk_pem; /* from the last partial=0 answer; NULL before the first */
        size_t nk_pem_len;
        struct ver_clock prev;
        struct kl_ima_replay ima;
        bool ima_started;
        struct ver_store *store; /* keeps each good quote's PCRs (for seal); NULL = not kept */
        /* set: a good answer's struct ver_last_good goes here rather than into store, for
         * a caller that writes many agents' in one transaction (the poller) */
        struct ver_last_good *keep;
};

/*
 * The verification state of a stored record a: its AK, which must still be a
 * genuine AK (kl_ak_check: a quote signed by another key proves nothing), and
 * its TPM, IMA and measured boot policies. KL_ERR_INVAL with the reason in
 * why; what was loaded stays in st for the caller to free with the rest.
 */
struct ver_agent;
int ver_attest_load(struct ver_attest_state *st, const struct ver_agent *a, char *why,
                    size_t why_len);

/*
 * Takes the clock and IMA replay position of the agent's last good quote from
 * st->store (after ver_check_answer kept them there, in an earlier run): 1 when
 * resumed, 0 when there is nothing to resume (a new agent, or no store).
 */
int ver_attest_resume(struct ver_attest_state *st);

/* What the poller asked the agent for. */
struct ver_quote_request {
        const char *nonce;
        uint32_t mask;
        bool partial;       /* no pubkey in the answer: st->nk_pem binds PCR 16 */
        uint64_t ima_entry; /* the ima_ml_entry asked for */
};

/*
 * Checks one 200 answer of GET /quotes/integrity (body[0..body_len)): the
 * quote, PCR 16, the TPM policy, then the boot log and the IMA list as the
 * policies require. 0 when everything verifies (st advanced);
 * KL_ERR_VERIFY / KL_ERR_INVAL with why otherwise (st unchanged).
 */
int ver_check_answer(struct ver_attest_state *st, const struct ver_quote_request *q,
                     const char *body, size_t body_len, char *why, size_t why_len);

#endif
