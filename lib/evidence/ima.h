/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMA ASCII measurement lists (templates ima, ima-ng, ima-sig, ima-buf), replay to
 * PCR 10, runtime policy subset. Used by the verifier stub to check the list an agent sends
 * with its quote (Keylime API 2.x, GET /quotes/integrity, ima_measurement_list). Every input
 * is untrusted: lines are capped at KL_IMA_MAX_LINE bytes, policies at KL_IMA_POLICY_MAX_LEN.
 * This module never reads files and never touches a TPM.
 */
#ifndef KL_IMA_H
#define KL_IMA_H

#include <stddef.h>
#include <stdint.h>

/* A longer line is malformed (kernel names are at most PATH_MAX; ima-buf data is small). */
#define KL_IMA_MAX_LINE (1024u * 1024u)
/* Largest runtime policy accepted (Keylime allowlists of a few 100k files fit easily). */
#define KL_IMA_POLICY_MAX_LEN (256u * 1024u * 1024u)

struct kl_ima_policy;
/*
 * Keylime runtime-policy JSON subset: {"digests": {"/path": ["hex", ...]}, "excludes": ["POSIX
 * ERE regex", ...], ...other keys ignored}. A file whose digest list contains the measured digest
 * passes; a path matching an exclude passes whatever its digest; any other path fails. Errors
 * name what is wrong in why.
 *
 * Digests are hex without an algorithm prefix and are compared as bytes with the measured file
 * digest. Excludes are anchored at the start of the path, like Python's re.match in Keylime
 * ("^(" regex ")"). Lookups are O(1) (hash table on the path). On success the caller owns *ret.
 */
int kl_ima_policy_parse(const char *json, size_t len, struct kl_ima_policy **ret, char *why,
                        size_t why_len);
/* NULL-safe. */
void kl_ima_policy_free(struct kl_ima_policy *p);

/* sha1 and sha256, each over PCRs 0-7 and over PCRs 0-9 */
#define KL_IMA_BOOT_AGGREGATES_MAX 4
struct kl_uefi_pcrs;
/*
 * The "boot_aggregate" line of an IMA list is checked like any file: its digest must be in the
 * policy's digests["boot_aggregate"] (or the name excluded). As upstream Keylime does, the values
 * a measured-boot log gives are accepted too: for each bank the log extended (sha1, sha256), the
 * bank's hash over PCRs 0-7 and over PCRs 0-9 (Linux >= 5.8 adds PCRs 8 and 9 for non-sha1 banks),
 * each PCR its full digest size. This replaces the values of the previous call; replay NULL clears
 * them (no boot log with this quote). Call before kl_ima_replay for each quote.
 */
int kl_ima_policy_set_boot_aggregates(struct kl_ima_policy *p, const struct kl_uefi_pcrs *replay);

/* Running replay state kept by the verifier between polls. */
struct kl_ima_replay {
        uint16_t bank_alg; /* TPM_ALG_ID of the quoted bank (0x0004 sha1, 0x000B sha256) */
        size_t digest_len;
        uint8_t pcr10[64]; /* running PCR 10 value after `entries` lines */
        uint64_t entries;  /* complete lines consumed so far */
};
/* Zero PCR 10 and zero entries; an unknown bank_alg leaves digest_len 0 and replay fails. */
void kl_ima_replay_init(struct kl_ima_replay *st, uint16_t bank_alg);
/*
 * Replays the complete lines of text (from line st->entries on) onto st:
 * for each line, rebuild the template data from the text, value = H_bank(template data)
 * (for every template except "ima": fields as u32le length + bytes; "ima": 20-byte digest +
 * name padded to 256), or all-0xff of the bank size for a violation (template hash column all
 * zeros); check that column 2 == SHA-1(template data) (else KL_ERR_VERIFY "line N: template hash
 * mismatch"); check the entry against policy (NULL = accept all; boot_aggregate: see above);
 * PCR10 = H(PCR10 || value). quoted_pcr10 is the PCR 10 value in the quote: it must equal the
 * running value at some line boundary from the starting state up to the last line (the agent
 * reads the log after quoting, so extra trailing lines are fine); otherwise KL_ERR_VERIFY with
 * "PCR 10 does not match the IMA log". On success st holds the state after the last complete line.
 * On any failure returns KL_ERR_VERIFY (policy or mismatch) / KL_ERR_INVAL (malformed line)
 * with a why like "line 12: /usr/bin/foo: digest sha256:ab..cd not in allowlist", and st is
 * left unchanged. Lines must have pcr 10 (others: KL_ERR_INVAL).
 *
 * text is the slice of the list that starts at line st->entries (what the agent returns for
 * ima_ml_entry = st->entries); a trailing partial line is ignored and not counted. "line N" is
 * 1-based in the whole list. quoted_pcr10 holds st->digest_len bytes; NULL skips the PCR check
 * (tools only: a verifier always passes the quoted value). Violations are checked against the
 * policy like other lines (their file digest is all zeros).
 */
int kl_ima_replay(struct kl_ima_replay *st, const char *text, size_t len,
                  const struct kl_ima_policy *policy, const uint8_t *quoted_pcr10, char *why,
                  size_t why_len);

#endif
