/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCG PC Client crypto-agile binary event log (binary_bios_measurements),
 * TCG PC Client Platform Firmware Profile 2.0 section 10, and a measured-boot policy of
 * expected PCR values. Used by the verifier stub on the log the agent returns with a quote
 * (mb_measurement_list). The log is untrusted: every length is checked against what is left
 * before it is used. Never reads files, never touches a TPM.
 */
#ifndef KL_UEFI_LOG_H
#define KL_UEFI_LOG_H

#include <stddef.h>
#include <stdint.h>

struct kl_uefi_pcrs {
        uint32_t mask; /* PCRs some event extended */
        uint8_t sha1[24][20];
        uint8_t sha256[24][32];
        unsigned n_events;
};
/* Parses the log (Spec ID Event03 header, TCG_PCR_EVENT2 records, strict bounds) and replays
 * every event except EV_NO_ACTION into sha1 and sha256 banks starting from zeros (PCR 0 starts
 * at ...03 when a StartupLocality event says locality 3). KL_ERR_INVAL + why on malformed input.
 *
 * n_events counts the TCG_PCR_EVENT2 records after the header, EV_NO_ACTION included. Every
 * record must carry a digest for each algorithm of the header; a bank whose algorithm the
 * header does not list (SHA-256-only firmware has no sha1) stays all zeros. */
int kl_uefi_log_replay(const uint8_t *log, size_t len, struct kl_uefi_pcrs *ret, char *why,
                       size_t why_len);
/* Measured-boot policy: JSON {"sha256": {"0": "hex", "7": "hex", ...}, "sha1": {...}} — expected
 * replayed values per PCR. Other top-level keys, PCRs outside 0-23 and hex of the wrong length
 * are KL_ERR_INVAL with why. The caller owns *ret. */
struct kl_mb_policy;
int kl_mb_policy_parse(const char *json, size_t len, struct kl_mb_policy **ret, char *why,
                       size_t why_len);
/* NULL-safe. */
void kl_mb_policy_free(struct kl_mb_policy *p);
/* Checks a replay against the policy: every PCR the policy names must have been extended by the
 * log and equal the expected value. KL_ERR_VERIFY + why ("PCR 7: event log gives ab.., policy
 * expects cd..") */
int kl_mb_policy_check(const struct kl_mb_policy *p, const struct kl_uefi_pcrs *replay, char *why,
                       size_t why_len);

#endif
