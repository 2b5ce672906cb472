/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Quote and policy checks of the verifier stub (see verify.h). The order
 * follows proto quote-format.md section 7: the signature is checked before
 * anything inside the attestation is believed, so a forged quote can never
 * be reported as "nonce mismatch" or pass on a lucky PCR value.
 *
 * One job in one file, though past 600 lines: deciding whether one answer
 * verifies, from the static PCR policy it is checked against (parsed here
 * because the check reads the same representation) to ver_check_answer,
 * which runs the steps in order and is the only caller of most of them.
 */
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ak_check.h"
#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "ima.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "tpm_public.h"
#include "uefi_log.h"

static const char *alg_name(uint16_t alg)
{
        const char *n = kl_hash_alg_name(alg);

        return n != NULL ? n : "?";
}

/* Adds one allowed value; bank, index and size already range-checked by the callers. */
static int policy_add(struct ver_tpm_policy *p, uint16_t alg, unsigned idx, const char *hex,
                      size_t hex_len, char *why, size_t why_len)
{
        uint8_t *val = NULL;
        size_t len = 0;
        int r = KL_ERR_INVAL;

        if (p->hash_alg != 0 && p->hash_alg != alg) {
                kl_why_set(why, why_len,
                           "all PCR policy entries must use one bank (%s and %s given)",
                           kl_hash_alg_name(p->hash_alg), kl_hash_alg_name(alg));
                goto out;
        }
        if (idx >= KL_PCR_COUNT || idx == VER_DATA_PCR) {
                kl_why_set(why, why_len, "PCR index %u not allowed in a policy (0-23, not 16)",
                           idx);
                goto out;
        }
        if (hex_len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
                hex += 2;
                hex_len -= 2;
        }
        if (hex_len > 128 || kl_hex_decode(hex, hex_len, &val, &len) < 0 ||
            len != kl_hash_alg_digest_len(alg)) {
                kl_why_set(why, why_len, "PCR %u: value must be %zu hex bytes for %s", idx,
                           kl_hash_alg_digest_len(alg), kl_hash_alg_name(alg));
                goto out;
        }
        if (p->n_allowed[idx] >= VER_PCR_ALLOWED_MAX) {
                kl_why_set(why, why_len, "PCR %u: more than %d allowed values", idx,
                           VER_PCR_ALLOWED_MAX);
                goto out;
        }
        memcpy(p->allowed[idx][p->n_allowed[idx]++], val, len);
        p->hash_alg = alg;
        p->mask |= 1u << idx;
        r = 0;
out:
        free(val);
        return r;
}

/* Decimal 0..23 of exactly len bytes. */
static int parse_index(const char *s, size_t len, unsigned *ret)
{
        unsigned v = 0;

        if (len == 0 || len > 2)
                return KL_ERR_INVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return KL_ERR_INVAL;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *ret = v;
        return v < KL_PCR_COUNT ? 0 : KL_ERR_INVAL;
}

int ver_pcr_spec_add(struct ver_tpm_policy *p, const char *spec, char *why, size_t why_len)
{
        const char *c1 = strchr(spec, ':');
        const char *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        char bank[16];
        unsigned idx = 0;
        uint16_t alg;

        if (c1 == NULL || c2 == NULL || (size_t)(c1 - spec) >= sizeof(bank)) {
                kl_why_set(why, why_len, "PCR policy '%.80s': expected BANK:INDEX:HEX", spec);
                return KL_ERR_INVAL;
        }
        memcpy(bank, spec, (size_t)(c1 - spec));
        bank[c1 - spec] = '\0';
        if ((alg = kl_hash_alg_from_name(bank)) == 0) {
                kl_why_set(why, why_len, "PCR policy '%.80s': unknown bank '%s'", spec, bank);
                return KL_ERR_INVAL;
        }
        if (parse_index(c1 + 1, (size_t)(c2 - c1 - 1), &idx) < 0) {
                kl_why_set(why, why_len, "PCR policy '%.80s': index must be 0-23", spec);
                return KL_ERR_INVAL;
        }
        return policy_add(p, alg, idx, c2 + 1, strlen(c2 + 1), why, why_len);
}

int ver_tpm_policy_from_json(kl_json *obj, struct ver_tpm_policy *p, char *why, size_t why_len)
{
        uint16_t alg = 0x000b;
        const char *name = NULL;
        const char *key;
        kl_json *val;
        int r;

        memset(p, 0, sizeof(*p));
        if (!kl_json_is(obj, KL_JSON_OBJECT)) {
                kl_why_set(why, why_len, "tpm_policy must be an object");
                return KL_ERR_INVAL;
        }
        r = kl_json_get_string(obj, "hash_alg", &name);
        if (r == 0 && (alg = kl_hash_alg_from_name(name)) == 0) {
                kl_why_set(why, why_len, "tpm_policy: unknown hash_alg '%.20s'", name);
                return KL_ERR_INVAL;
        }
        if (r < 0 && r != KL_ERR_NOT_FOUND) {
                kl_why_set(why, why_len, "tpm_policy: hash_alg must be a string");
                return KL_ERR_INVAL;
        }
        for (struct kl_json_iter it = kl_json_members(obj); kl_json_next(&it, &key, &val);) {
                unsigned idx = 0;
                size_t n;

                if (strcmp(key, "hash_alg") == 0 || strcmp(key, "mask") == 0)
                        continue;
                if (parse_index(key, strlen(key), &idx) < 0) {
                        kl_why_set(why, why_len, "tpm_policy: key '%.20s' is not a PCR index 0-23",
                                   key);
                        return KL_ERR_INVAL;
                }
                if (kl_json_is(val, KL_JSON_STRING)) {
                        r = policy_add(p, alg, idx, kl_json_string_value(val),
                                       kl_json_string_length(val), why, why_len);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!kl_json_is(val, KL_JSON_ARRAY) || (n = kl_json_length(val)) == 0) {
                        kl_why_set(why, why_len, "tpm_policy: PCR %u needs a hex string or a list",
                                   idx);
                        return KL_ERR_INVAL;
                }
                for (size_t i = 0; i < n; i++) {
                        kl_json *e = kl_json_at(val, i);

                        if (!kl_json_is(e, KL_JSON_STRING)) {
                                kl_why_set(why, why_len,
                                           "tpm_policy: PCR %u: values must be strings", idx);
                                return KL_ERR_INVAL;
                        }
                        r = policy_add(p, alg, idx, kl_json_string_value(e),
                                       kl_json_string_length(e), why, why_len);
                        if (r < 0)
                                return r;
                }
        }
        if (p->mask == 0)
                p->hash_alg = alg; /* an empty policy still fixes the bank to ask for */
        return 0;
}

int ver_tpm_policy_to_json(const struct ver_tpm_policy *p, kl_json **ret)
{
        kl_json *obj = kl_json_object();
        size_t len = kl_hash_alg_digest_len(p->hash_alg);
        char hex[129];
        char key[4];
        int r = KL_ERR_NOMEM;

        if (obj == NULL)
                goto out;
        if (p->hash_alg != 0 &&
            kl_json_set_string(obj, "hash_alg", kl_hash_alg_name(p->hash_alg)) < 0)
                goto out;
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                kl_json *arr;

                if (!(p->mask & (1u << i)))
                        continue;
                snprintf(key, sizeof(key), "%u", i);
                arr = kl_json_array();
                if (kl_json_set(obj, key, arr) < 0) /* obj owns arr from here on */
                        goto out;
                for (unsigned k = 0; k < p->n_allowed[i]; k++) {
                        kl_hex_encode_to(p->allowed[i][k], len, hex);
                        if (kl_json_append_string(arr, hex) < 0)
                                goto out;
                }
        }
        *ret = obj;
        obj = NULL;
        r = 0;
out:
        kl_json_free(obj);
        return r;
}

int ver_check_clock(const struct ver_clock *prev, const struct kl_attest_info *cur, char *why,
                    size_t why_len)
{
        if (!cur->safe) {
                kl_why_set(why, why_len, "TPM clock is not safe (safe = 0)");
                return KL_ERR_VERIFY;
        }
        if (prev == NULL || !prev->valid)
                return 0;
        if (cur->reset_count < prev->reset_count) {
                kl_why_set(why, why_len, "TPM resetCount went back from %u to %u",
                           prev->reset_count, cur->reset_count);
                return KL_ERR_VERIFY;
        }
        if (cur->restart_count < prev->restart_count) {
                kl_why_set(why, why_len, "TPM restartCount went back from %u to %u",
                           prev->restart_count, cur->restart_count);
                return KL_ERR_VERIFY;
        }
        if (cur->reset_count == prev->reset_count && cur->restart_count == prev->restart_count &&
            cur->clock <= prev->clock) {
                kl_why_set(why, why_len, "TPM clock did not advance (%llu after %llu)",
                           (unsigned long long)cur->clock, (unsigned long long)prev->clock);
                return KL_ERR_VERIFY;
        }
        return 0;
}

/* Upstream's default accept list: sha1 is refused (quote-format.md section 6). */
static bool hash_accepted(uint16_t alg)
{
        return alg == 0x000b || alg == 0x000c || alg == 0x000d;
}

int ver_check_quote(const struct ver_quote_input *in, struct kl_pcr_set *ret_pcrs,
                    struct kl_attest_info *ret_info, char *why, size_t why_len)
{
        struct kl_quote q = {0};
        struct kl_attest_info info;
        uint8_t digest[64];
        size_t digest_len = 0;
        uint16_t want = in->expected_alg != 0 ? in->expected_alg : 0x000b;
        uint16_t alg = in->hash_alg != NULL ? kl_hash_alg_from_name(in->hash_alg) : 0;
        uint32_t sel = in->mask | (1u << VER_DATA_PCR);
        int r = KL_ERR_VERIFY;

        /* 1. algorithms */
        if (alg == 0 || !hash_accepted(alg) || alg != want) {
                kl_why_set(why, why_len, "hash_alg '%.16s' not accepted (expected %s)",
                           in->hash_alg != NULL ? in->hash_alg : "(none)", kl_hash_alg_name(want));
                goto out;
        }
        /* 2. split and decode */
        if ((r = kl_quote_decode(in->quote, in->quote_len, &q)) < 0) {
                kl_why_set(why, why_len, "quote is malformed (%s)", kl_err_str(r));
                r = KL_ERR_INVAL;
                goto out;
        }
        /* 3. the AK signature, before anything inside is believed */
        if ((r = kl_attest_verify_signature(in->ak, alg, q.attest, q.attest_len, q.sig,
                                            q.sig_len)) < 0) {
                kl_why_set(why, why_len, "quote signature does not verify with the agent's AK (%s)",
                           kl_err_str(r));
                r = KL_ERR_VERIFY;
                goto out;
        }
        r = KL_ERR_VERIFY;
        /* 4. TPMS_ATTEST and the nonce */
        if (kl_attest_parse(q.attest, q.attest_len, &info) < 0) {
                kl_why_set(why, why_len, "signed TPMS_ATTEST is malformed");
                goto out;
        }
        if (!kl_nonce_matches(info.nonce, info.nonce_len, in->nonce)) {
                kl_why_set(why, why_len, "nonce in quote does not match the nonce sent ('%.20s')",
                           in->nonce != NULL ? in->nonce : "");
                goto out;
        }
        /* 5. selection (stricter than upstream: attested == blob == requested) and digest */
        if (info.sel_hash != alg || info.sel_mask != sel || q.pcrs.hash_alg != alg ||
            q.pcrs.mask != sel) {
                kl_why_set(
                    why, why_len,
                    "PCR selection 0x%06x (%s) in quote, PCR blob 0x%06x, requested 0x%06x (%s)",
                    (unsigned)info.sel_mask, alg_name(info.sel_hash), (unsigned)q.pcrs.mask,
                    (unsigned)sel, kl_hash_alg_name(alg));
                goto out;
        }
        if (kl_pcr_set_digest(&q.pcrs, digest, &digest_len) < 0 ||
            digest_len != info.pcr_digest_len || memcmp(digest, info.pcr_digest, digest_len) != 0) {
                kl_why_set(why, why_len, "PCR values do not match the quoted pcrDigest");
                goto out;
        }
        /* 6. clock */
        if (ver_check_clock(in->prev, &info, why, why_len) < 0)
                goto out;
        *ret_pcrs = q.pcrs;
        *ret_info = info;
        r = 0;
out:
        kl_quote_clear(&q);
        return r;
}

int ver_check_pcr16(const struct kl_pcr_set *pcrs, const char *nk_pem, size_t nk_pem_len, char *why,
                    size_t why_len)
{
        const char *name = kl_hash_alg_name(pcrs->hash_alg);
        uint8_t buf[128];
        uint8_t want[64];
        size_t n = 0;
        size_t len = pcrs->digest_len;

        if (!(pcrs->mask & (1u << VER_DATA_PCR)) || name == NULL) {
                kl_why_set(why, why_len, "PCR 16 is not in the quote");
                return KL_ERR_VERIFY;
        }
        if (nk_pem == NULL || nk_pem_len == 0) {
                kl_why_set(why, why_len, "no NK public key to check PCR 16 against");
                return KL_ERR_VERIFY;
        }
        memset(buf, 0, len);
        if (kl_digest(name, nk_pem, nk_pem_len, buf + len, &n) < 0 || n != len ||
            kl_digest(name, buf, 2 * len, want, &n) < 0 || n != len) {
                kl_why_set(why, why_len, "cannot hash the NK public key");
                return KL_ERR_CRYPTO;
        }
        if (memcmp(want, pcrs->values[VER_DATA_PCR], len) != 0) {
                kl_why_set(why, why_len, "PCR 16 does not bind the agent's NK public key");
                return KL_ERR_VERIFY;
        }
        return 0;
}

int ver_check_tpm_policy(const struct ver_tpm_policy *p, const struct kl_pcr_set *pcrs, char *why,
                         size_t why_len)
{
        char got[129];
        char exp[129];

        if (p->mask == 0)
                return 0;
        if (p->hash_alg != pcrs->hash_alg) {
                kl_why_set(why, why_len, "quote is in bank %s, the PCR policy in %s",
                           alg_name(pcrs->hash_alg), kl_hash_alg_name(p->hash_alg));
                return KL_ERR_VERIFY;
        }
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                bool ok = false;

                if (!(p->mask & (1u << i)))
                        continue;
                if (!(pcrs->mask & (1u << i))) {
                        kl_why_set(why, why_len,
                                   "PCR %u is in the policy but missing from the quote", i);
                        return KL_ERR_VERIFY;
                }
                for (unsigned k = 0; k < p->n_allowed[i] && !ok; k++)
                        ok = memcmp(p->allowed[i][k], pcrs->values[i], pcrs->digest_len) == 0;
                if (!ok) {
                        kl_hex_encode_to(pcrs->values[i], pcrs->digest_len, got);
                        kl_hex_encode_to(p->allowed[i][0], pcrs->digest_len, exp);
                        kl_why_set(why, why_len, "PCR %u (%s) is %s, policy allows %s%s", i,
                                   kl_hash_alg_name(pcrs->hash_alg), got, exp,
                                   p->n_allowed[i] > 1 ? " (and others)" : "");
                        return KL_ERR_VERIFY;
                }
        }
        return 0;
}

int ver_check_mb_replay(const struct kl_uefi_pcrs *replay, const struct kl_pcr_set *pcrs, char *why,
                        size_t why_len)
{
        char got[129];
        char exp[129];

        if (pcrs->hash_alg != 0x0004 && pcrs->hash_alg != 0x000b) {
                kl_why_set(why, why_len,
                           "measured boot replay supports sha1 and sha256 banks, not %s",
                           alg_name(pcrs->hash_alg));
                return KL_ERR_VERIFY;
        }
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                const uint8_t *v;

                if (!(replay->mask & pcrs->mask & (1u << i)))
                        continue;
                v = pcrs->hash_alg == 0x0004 ? replay->sha1[i] : replay->sha256[i];
                if (memcmp(v, pcrs->values[i], pcrs->digest_len) != 0) {
                        kl_hex_encode_to(pcrs->values[i], pcrs->digest_len, got);
                        kl_hex_encode_to(v, pcrs->digest_len, exp);
                        kl_why_set(why, why_len,
                                   "PCR %u (%s) is %s, the boot event log replays to %s", i,
                                   kl_hash_alg_name(pcrs->hash_alg), got, exp);
                        return KL_ERR_VERIFY;
                }
        }
        return 0;
}

uint32_t ver_quote_mask(const struct ver_tpm_policy *p, bool ima, bool mb)
{
        uint32_t m = p != NULL ? p->mask : 0;

        if (ima)
                m |= 1u << VER_IMA_PCR;
        if (mb)
                m |= VER_MB_PCR_MASK;
        return m;
}

/* ---- one answer, step by step ---- */

/* The fields of a quote answer; nk is a copy of pubkey (partial=0 only). */
struct answer {
        kl_json *obj;
        kl_json *res;
        const char *quote;
        const char *hash_alg;
        char *nk;
        size_t nk_len;
};

static void answer_clear(struct answer *a)
{
        free(a->nk);
        kl_json_free(a->obj);
}

static int answer_parse(const char *body, size_t len, bool partial, struct answer *a, char *why,
                        size_t why_len)
{
        const char *pubkey = NULL;

        if (kl_json_parse_object(body, len, &a->obj) < 0 ||
            kl_json_get_object(a->obj, "results", &a->res) < 0 ||
            kl_json_get_string(a->res, "quote", &a->quote) < 0 ||
            kl_json_get_string(a->res, "hash_alg", &a->hash_alg) < 0) {
                kl_why_set(why, why_len, "malformed quote answer (no results.quote/hash_alg)");
                return KL_ERR_INVAL;
        }
        if (partial)
                return 0;
        if (kl_json_get_string(a->res, "pubkey", &pubkey) < 0 ||
            (a->nk_len = strlen(pubkey)) == 0 || a->nk_len > VER_NK_PEM_MAX) {
                kl_why_set(why, why_len, "partial=0 answer without a usable pubkey");
                return KL_ERR_INVAL;
        }
        return (a->nk = strdup(pubkey)) != NULL ? 0 : KL_ERR_NOMEM;
}

/* Steps 1-7 and 10: the quote itself, PCR 16 bound to the NK, the static PCR policy. */
static int check_quote_pcrs(const struct ver_attest_state *st, const struct ver_quote_request *q,
                            const struct answer *a, struct kl_pcr_set *pcrs,
                            struct kl_attest_info *info, char *why, size_t why_len)
{
        struct ver_quote_input in = {
            .quote = a->quote,
            .quote_len = strlen(a->quote),
            .hash_alg = a->hash_alg,
            .expected_alg = st->tpm.hash_alg,
            .nonce = q->nonce,
            .ak = st->ak,
            .mask = q->mask,
            .prev = &st->prev,
        };
        int r;

        if ((r = ver_check_quote(&in, pcrs, info, why, why_len)) < 0)
                return r;
        if (ver_check_pcr16(pcrs, q->partial ? st->nk_pem : a->nk,
                            q->partial ? st->nk_pem_len : a->nk_len, why, why_len) < 0 ||
            ver_check_tpm_policy(&st->tpm, pcrs, why, why_len) < 0)
                return KL_ERR_VERIFY;
        return 0;
}

/*
 * Replays mb_measurement_list into *ret_uefi (NULL when there is none, or
 * it is unusable and no mb policy needs it: then it only gives no
 * boot_aggregate to IMA).
 */
static int replay_boot_log(const struct ver_attest_state *st, kl_json *res,
                           struct kl_uefi_pcrs **ret_uefi, char *why, size_t why_len)
{
        struct kl_uefi_pcrs *uefi = NULL;
        const char *mb = NULL;
        uint8_t *bin = NULL;
        size_t len = 0;
        int r = 0;

        *ret_uefi = NULL;
        if ((st->mb_policy == NULL && st->ima_policy == NULL) ||
            kl_json_get_string(res, "mb_measurement_list", &mb) != 0)
                return 0;
        if ((uefi = calloc(1, sizeof(*uefi))) == NULL)
                return KL_ERR_NOMEM;
        if (kl_b64_decode(mb, strlen(mb), &bin, &len) < 0 ||
            kl_uefi_log_replay(bin, len, uefi, why, why_len) < 0) {
                if (st->mb_policy != NULL) {
                        if (bin == NULL)
                                kl_why_set(why, why_len, "mb_measurement_list is not base64");
                        r = KL_ERR_VERIFY;
                }
                free(uefi);
                uefi = NULL;
        }
        free(bin);
        *ret_uefi = uefi;
        return r;
}

/* Which entry the IMA list must start at: 0 after a restart, else where the last one ended. */
static int check_ima_entry(const struct ver_attest_state *st, const struct ver_quote_request *q,
                           int64_t entry, char *why, size_t why_len)
{
        if (entry == 0 || !st->ima_started) {
                /* the agent restarted the list (or we never started): replay from 0 */
                if (entry != 0) {
                        kl_why_set(why, why_len, "ima_measurement_list_entry %lld, expected 0",
                                   (long long)entry);
                        return KL_ERR_VERIFY;
                }
                return 0;
        }
        if ((uint64_t)entry != q->ima_entry) {
                kl_why_set(why, why_len,
                           "ima_measurement_list_entry %lld, expected %llu (invalid_ima_entry_nb)",
                           (long long)entry, (unsigned long long)q->ima_entry);
                return KL_ERR_VERIFY;
        }
        return 0;
}

/* Step 8: replays the IMA list sent into *ima (a copy of st->ima) against the quoted PCR 10. */
static int replay_ima(const struct ver_attest_state *st, const struct ver_quote_request *q,
                      kl_json *res, const struct kl_pcr_set *pcrs, const struct kl_uefi_pcrs *uefi,
                      struct kl_ima_replay *ima, char *why, size_t why_len)
{
        kl_json *v = kl_json_member(res, "ima_measurement_list");
        int64_t entry = 0;
        int r;

        if (!kl_json_is(v, KL_JSON_STRING)) {
                kl_why_set(why, why_len, "PCR 10 quoted but no ima_measurement_list sent");
                return KL_ERR_VERIFY;
        }
        if (kl_json_get_int(res, "ima_measurement_list_entry", &entry) == KL_ERR_INVAL ||
            entry < 0) {
                kl_why_set(why, why_len, "invalid ima_measurement_list_entry");
                return KL_ERR_VERIFY;
        }
        log_debug("agent '%s': asked ima_ml_entry=%llu, got entry %lld (%zu bytes)", st->agent_id,
                  (unsigned long long)q->ima_entry, (long long)entry, kl_json_string_length(v));
        if ((r = check_ima_entry(st, q, entry, why, why_len)) < 0)
                return r;
        if (entry == 0 || !st->ima_started)
                kl_ima_replay_init(ima, pcrs->hash_alg);
        if ((r = kl_ima_policy_set_boot_aggregates(st->ima_policy, uefi)) < 0)
                return r;
        return kl_ima_replay(ima, kl_json_string_value(v), kl_json_string_length(v), st->ima_policy,
                             pcrs->values[VER_IMA_PCR], why, why_len);
}

/* Step 9: the boot log replays to the quoted PCRs and satisfies the mb policy. */
static int check_boot(const struct ver_attest_state *st, const struct kl_uefi_pcrs *uefi,
                      const struct kl_pcr_set *pcrs, char *why, size_t why_len)
{
        if (uefi == NULL) {
                kl_why_set(why, why_len, "mb policy set but no usable mb_measurement_list");
                return KL_ERR_VERIFY;
        }
        if (ver_check_mb_replay(uefi, pcrs, why, why_len) < 0 ||
            kl_mb_policy_check(st->mb_policy, uefi, why, why_len) < 0)
                return KL_ERR_VERIFY;
        return 0;
}

/* What a restarted verifier resumes from (struct ver_last_good); a failure only costs that. */
static void keep_last_good(const struct ver_attest_state *st, const struct kl_pcr_set *pcrs)
{
        struct ver_last_good g = {
            .at = (int64_t)time(NULL),
            .pcrs = *pcrs,
            .clock = st->prev.clock,
            .reset_count = st->prev.reset_count,
            .restart_count = st->prev.restart_count,
            .has_ima = st->ima_started,
            .ima = st->ima,
        };
        int r;

        if (st->keep != NULL) {
                *st->keep = g;
                return;
        }
        if (st->store != NULL && (r = ver_store_set_last_good(st->store, st->agent_id, &g)) < 0)
                log_warn("agent %s: cannot keep the last good quote's state (ignoring): %s",
                         st->agent_id, kl_err_str(r));
}

/* Everything verified: the state moves to what this answer proved. */
static void advance(struct ver_attest_state *st, struct answer *a,
                    const struct kl_attest_info *info, const struct kl_ima_replay *ima,
                    const struct kl_pcr_set *pcrs)
{
        if (a->nk != NULL) {
                free(st->nk_pem);
                st->nk_pem = a->nk;
                st->nk_pem_len = a->nk_len;
                a->nk = NULL;
        }
        st->prev.valid = true;
        st->prev.clock = info->clock;
        st->prev.reset_count = info->reset_count;
        st->prev.restart_count = info->restart_count;
        if (st->ima_policy != NULL) {
                st->ima = *ima;
                st->ima_started = true;
        }
        keep_last_good(st, pcrs);
}

int ver_attest_load(struct ver_attest_state *st, const struct ver_agent *a, char *why,
                    size_t why_len)
{
        kl_json *pol = NULL;
        int r = KL_ERR_INVAL;

        if (a->aik_tpm == NULL || kl_tpm_public_parse(a->aik_tpm, a->aik_tpm_len, &st->ak) < 0) {
                snprintf(why, why_len, "stored aik_tpm is not a TPM2B_PUBLIC");
                goto out;
        }
        if (kl_ak_check(st->ak, NULL, NULL, why, why_len) < 0 ||
            kl_json_parse_object(a->tpm_policy, strlen(a->tpm_policy), &pol) < 0 ||
            ver_tpm_policy_from_json(pol, &st->tpm, why, why_len) < 0)
                goto out;
        if (a->ima_policy != NULL && kl_ima_policy_parse(a->ima_policy, strlen(a->ima_policy),
                                                         &st->ima_policy, why, why_len) < 0)
                goto out;
        if (a->mb_policy != NULL && kl_mb_policy_parse(a->mb_policy, strlen(a->mb_policy),
                                                       &st->mb_policy, why, why_len) < 0)
                goto out;
        r = 0;
out:
        kl_json_free(pol);
        return r;
}

int ver_attest_resume(struct ver_attest_state *st)
{
        struct ver_last_good g;
        int r;

        if (st->store == NULL || (r = ver_store_get_last_good(st->store, st->agent_id, &g)) < 0)
                return 0;
        st->prev.valid = true;
        st->prev.clock = g.clock;
        st->prev.reset_count = g.reset_count;
        st->prev.restart_count = g.restart_count;
        if (st->ima_policy != NULL && g.has_ima) {
                st->ima = g.ima;
                st->ima_started = true;
        }
        return 1;
}

int ver_check_answer(struct ver_attest_state *st, const struct ver_quote_request *q,
                     const char *body, size_t body_len, char *why, size_t why_len)
{
        struct answer a = {0};
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        struct kl_ima_replay ima = st->ima;
        struct kl_uefi_pcrs *uefi = NULL;
        int r;

        if ((r = answer_parse(body, body_len, q->partial, &a, why, why_len)) < 0 ||
            (r = check_quote_pcrs(st, q, &a, &pcrs, &info, why, why_len)) < 0)
                goto out;
        /* the boot log is replayed first: its PCRs 0-9 give the accepted boot_aggregates */
        if ((r = replay_boot_log(st, a.res, &uefi, why, why_len)) < 0)
                goto out;
        if (st->ima_policy != NULL &&
            (r = replay_ima(st, q, a.res, &pcrs, uefi, &ima, why, why_len)) < 0)
                goto out;
        if (st->mb_policy != NULL && (r = check_boot(st, uefi, &pcrs, why, why_len)) < 0)
                goto out;
        advance(st, &a, &info, &ima, &pcrs);
        r = 0;
out:
        free(uefi);
        answer_clear(&a);
        return r;
}
