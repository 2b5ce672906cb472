/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UEFI (TCG PC Client) crypto-agile event log replay and the measured-boot policy (see
 * uefi_log.h). Formats: TCG PC Client Platform Firmware Profile Specification 2.0,
 * section 10.2.1 (TCG_PCClientPCREvent, the SHA-1-format header event), 10.2.2
 * (TCG_EfiSpecIDEvent "Spec ID Event03"), 10.2.3 (TCG_PCR_EVENT2) and 10.4.5.3
 * (StartupLocality). Everything is little-endian. The log comes from the agent and is
 * untrusted: each length is compared with what is left (subtracting, never adding) before
 * it is used, and nothing is allocated from a stated length.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "json.h"
#include "uefi_log.h"

#define EV_NO_ACTION    0x00000003u
#define MAX_ALGS        16 /* banks a header may list; real firmware has 1-4 */
#define MAX_PCR         24
#define SPEC_ID_SIG     "Spec ID Event03"
#define STARTUP_LOC_SIG "StartupLocality"

struct rd {
        const uint8_t *p;
        size_t left;
};

static bool rd_bytes(struct rd *r, size_t n, const uint8_t **ret)
{
        if (n > r->left)
                return false;
        *ret = r->p;
        r->p += n;
        r->left -= n;
        return true;
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
        const uint8_t *b;

        if (!rd_bytes(r, 1, &b))
                return false;
        *v = b[0];
        return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
        const uint8_t *b;

        if (!rd_bytes(r, 2, &b))
                return false;
        *v = (uint16_t)(b[0] | b[1] << 8);
        return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
        const uint8_t *b;

        if (!rd_bytes(r, 4, &b))
                return false;
        *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        return true;
}

struct alg_size {
        uint16_t alg;
        uint16_t size;
};

/* The header event: its digest field is 20 zero bytes of the old format; its data says
 * which digests every later record carries and how long they are. */
static int parse_header(struct rd *r, struct alg_size *algs, uint32_t *ret_n, char *why,
                        size_t why_len)
{
        uint32_t pcr, type, size, n, i;
        uint8_t uintn, vendor_size;
        const uint8_t *digest, *data, *sig, *skip;
        struct rd ev;

        if (!rd_u32(r, &pcr) || !rd_u32(r, &type) || !rd_bytes(r, 20, &digest) ||
            !rd_u32(r, &size) || !rd_bytes(r, size, &data)) {
                kl_why_set(why, why_len, "header event truncated");
                return KL_ERR_INVAL;
        }
        if (pcr != 0 || type != EV_NO_ACTION) {
                kl_why_set(why, why_len, "first event is not an EV_NO_ACTION in PCR 0");
                return KL_ERR_INVAL;
        }
        ev.p = data;
        ev.left = size;
        if (!rd_bytes(&ev, 16, &sig) || memcmp(sig, SPEC_ID_SIG, 16) != 0) {
                kl_why_set(why, why_len, "no Spec ID Event03 header (not a crypto-agile log)");
                return KL_ERR_INVAL;
        }
        /* platformClass u32, specVersionMinor, specVersionMajor, specErrata u8 */
        if (!rd_bytes(&ev, 7, &skip) || !rd_u8(&ev, &uintn) || !rd_u32(&ev, &n)) {
                kl_why_set(why, why_len, "Spec ID event truncated");
                return KL_ERR_INVAL;
        }
        if (n == 0 || n > MAX_ALGS) {
                kl_why_set(why, why_len, "Spec ID event lists %u algorithms", n);
                return KL_ERR_INVAL;
        }
        for (i = 0; i < n; i++) {
                const struct kl_hash_alg *known;
                uint32_t j;

                if (!rd_u16(&ev, &algs[i].alg) || !rd_u16(&ev, &algs[i].size)) {
                        kl_why_set(why, why_len, "Spec ID event truncated");
                        return KL_ERR_INVAL;
                }
                known = kl_hash_alg_by_id(algs[i].alg);
                if (algs[i].size == 0 || algs[i].size > KL_MAX_DIGEST_LEN ||
                    (known != NULL && algs[i].size != known->digest_len)) {
                        kl_why_set(why, why_len, "Spec ID event: algorithm 0x%04x size %u",
                                   algs[i].alg, algs[i].size);
                        return KL_ERR_INVAL;
                }
                for (j = 0; j < i; j++) {
                        if (algs[j].alg == algs[i].alg) {
                                kl_why_set(why, why_len, "Spec ID event: algorithm 0x%04x twice",
                                           algs[i].alg);
                                return KL_ERR_INVAL;
                        }
                }
        }
        if (!rd_u8(&ev, &vendor_size) || !rd_bytes(&ev, vendor_size, &skip) || ev.left != 0) {
                kl_why_set(why, why_len, "Spec ID event: bad vendorInfo or trailing bytes");
                return KL_ERR_INVAL;
        }
        *ret_n = n;
        return 0;
}

static int extend(const char *alg, uint8_t *pcr, size_t len, const uint8_t *digest)
{
        uint8_t buf[2 * KL_SHA256_LEN];
        size_t out_len = 0;

        memcpy(buf, pcr, len);
        memcpy(buf + len, digest, len);
        return kl_digest(alg, buf, 2 * len, pcr, &out_len);
}

int kl_uefi_log_replay(const uint8_t *log, size_t len, struct kl_uefi_pcrs *ret, char *why,
                       size_t why_len)
{
        struct kl_uefi_pcrs *res = NULL;
        struct alg_size algs[MAX_ALGS];
        uint32_t n_algs = 0;
        struct rd r;
        int rc = KL_ERR_INVAL;

        kl_why_set(why, why_len, "%s", "");
        if (log == NULL || ret == NULL)
                goto out;
        if ((res = calloc(1, sizeof(*res))) == NULL) {
                rc = KL_ERR_NOMEM;
                goto out;
        }
        r.p = log;
        r.left = len;
        if ((rc = parse_header(&r, algs, &n_algs, why, why_len)) != 0)
                goto out;
        rc = KL_ERR_INVAL;
        while (r.left > 0) {
                const uint8_t *sha1 = NULL, *sha256 = NULL, *data, *d;
                uint32_t pcr, type, count, size, i;
                unsigned ev = res->n_events + 1;

                if (!rd_u32(&r, &pcr) || !rd_u32(&r, &type) || !rd_u32(&r, &count)) {
                        kl_why_set(why, why_len, "event %u: truncated", ev);
                        goto out;
                }
                if (pcr >= MAX_PCR) {
                        kl_why_set(why, why_len, "event %u: PCR %u out of range", ev, pcr);
                        goto out;
                }
                /* TCG: one digest per algorithm of the header, in any order */
                if (count != n_algs) {
                        kl_why_set(why, why_len, "event %u: %u digests, header lists %u", ev, count,
                                   n_algs);
                        goto out;
                }
                for (i = 0; i < count; i++) {
                        uint16_t alg;
                        uint32_t j;

                        if (!rd_u16(&r, &alg)) {
                                kl_why_set(why, why_len, "event %u: truncated", ev);
                                goto out;
                        }
                        for (j = 0; j < n_algs && algs[j].alg != alg; j++)
                                ;
                        if (j == n_algs) {
                                kl_why_set(why, why_len, "event %u: algorithm 0x%04x not in header",
                                           ev, alg);
                                goto out;
                        }
                        if (!rd_bytes(&r, algs[j].size, &d)) {
                                kl_why_set(why, why_len, "event %u: truncated digest", ev);
                                goto out;
                        }
                        if ((alg == KL_ALG_SHA1 && sha1 != NULL) ||
                            (alg == KL_ALG_SHA256 && sha256 != NULL)) {
                                kl_why_set(why, why_len, "event %u: algorithm 0x%04x twice", ev,
                                           alg);
                                goto out;
                        }
                        if (alg == KL_ALG_SHA1)
                                sha1 = d;
                        else if (alg == KL_ALG_SHA256)
                                sha256 = d;
                }
                if (!rd_u32(&r, &size) || !rd_bytes(&r, size, &data)) {
                        kl_why_set(why, why_len, "event %u: truncated event data", ev);
                        goto out;
                }
                res->n_events++;
                if (type == EV_NO_ACTION) {
                        /* H-CRTM platforms start PCR 0 at the locality they started in */
                        if (pcr == 0 && size == 17 &&
                            memcmp(data, STARTUP_LOC_SIG, sizeof(STARTUP_LOC_SIG)) == 0) {
                                res->sha1[0][KL_SHA1_LEN - 1] = data[16];
                                res->sha256[0][KL_SHA256_LEN - 1] = data[16];
                        }
                        continue;
                }
                if ((sha1 != NULL && (rc = extend("sha1", res->sha1[pcr], KL_SHA1_LEN, sha1))) ||
                    (sha256 != NULL &&
                     (rc = extend("sha256", res->sha256[pcr], KL_SHA256_LEN, sha256))))
                        goto out;
                rc = KL_ERR_INVAL;
                res->mask |= 1u << pcr;
        }
        *ret = *res;
        rc = 0;
out:
        free(res);
        return rc;
}

/* Expected values; bit i of a mask set when the policy names PCR i in that bank. */
struct kl_mb_policy {
        uint32_t sha1_mask, sha256_mask;
        uint8_t sha1[MAX_PCR][KL_SHA1_LEN];
        uint8_t sha256[MAX_PCR][KL_SHA256_LEN];
};

static int parse_bank(const kl_json *bank, const char *name, size_t dlen, uint32_t *mask,
                      uint8_t *values, char *why, size_t why_len)
{
        const char *key;
        kl_json *val;

        if (!kl_json_is(bank, KL_JSON_OBJECT)) {
                kl_why_set(why, why_len, "%s: not an object", name);
                return KL_ERR_INVAL;
        }
        for (struct kl_json_iter it = kl_json_members(bank); kl_json_next(&it, &key, &val);) {
                size_t kl = strlen(key), hl, i;
                unsigned pcr = 0;
                const char *hex;
                uint8_t *dec = NULL;
                size_t dec_len = 0;

                /* "0".."23", decimal, no sign, no leading zero */
                if (kl == 0 || kl > 2 || (kl == 2 && key[0] == '0')) {
                        kl_why_set(why, why_len, "%s: bad PCR index '%.8s'", name, key);
                        return KL_ERR_INVAL;
                }
                for (i = 0; i < kl; i++) {
                        if (key[i] < '0' || key[i] > '9') {
                                kl_why_set(why, why_len, "%s: bad PCR index '%.8s'", name, key);
                                return KL_ERR_INVAL;
                        }
                        pcr = pcr * 10 + (unsigned)(key[i] - '0');
                }
                if (pcr >= MAX_PCR) {
                        kl_why_set(why, why_len, "%s: PCR %u out of range", name, pcr);
                        return KL_ERR_INVAL;
                }
                if (!kl_json_is(val, KL_JSON_STRING)) {
                        kl_why_set(why, why_len, "%s: PCR %u: not a string", name, pcr);
                        return KL_ERR_INVAL;
                }
                hex = kl_json_string_value(val);
                hl = kl_json_string_length(val);
                if (hl != 2 * dlen || kl_hex_decode(hex, hl, &dec, &dec_len) != 0 ||
                    dec_len != dlen) {
                        free(dec);
                        kl_why_set(why, why_len, "%s: PCR %u: not %zu hex digits", name, pcr,
                                   2 * dlen);
                        return KL_ERR_INVAL;
                }
                memcpy(values + pcr * dlen, dec, dlen);
                free(dec);
                *mask |= 1u << pcr;
        }
        return 0;
}

static int parse_banks(const kl_json *root, struct kl_mb_policy *p, char *why, size_t why_len)
{
        const char *key;
        kl_json *val;

        for (struct kl_json_iter it = kl_json_members(root); kl_json_next(&it, &key, &val);) {
                int r;

                /* strict: a misspelt bank would otherwise silently check nothing */
                if (strcmp(key, "sha1") == 0)
                        r = parse_bank(val, "sha1", KL_SHA1_LEN, &p->sha1_mask, &p->sha1[0][0], why,
                                       why_len);
                else if (strcmp(key, "sha256") == 0)
                        r = parse_bank(val, "sha256", KL_SHA256_LEN, &p->sha256_mask,
                                       &p->sha256[0][0], why, why_len);
                else {
                        kl_why_set(why, why_len, "unknown key '%.32s' (want sha1, sha256)", key);
                        r = KL_ERR_INVAL;
                }
                if (r != 0)
                        return r;
        }
        return 0;
}

int kl_mb_policy_parse(const char *json, size_t len, struct kl_mb_policy **ret, char *why,
                       size_t why_len)
{
        kl_json *root = NULL;
        struct kl_mb_policy *p = NULL;
        int r = KL_ERR_INVAL;

        kl_why_set(why, why_len, "%s", "");
        if (json == NULL || ret == NULL)
                goto out;
        if (len > 1024 * 1024) {
                kl_why_set(why, why_len, "policy too large");
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        if ((r = kl_json_parse_object(json, len, &root)) != 0) {
                kl_why_set(why, why_len, "not a JSON object");
                goto out;
        }
        if ((p = calloc(1, sizeof(*p))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((r = parse_banks(root, p, why, why_len)) != 0)
                goto out;
        *ret = p;
        p = NULL;
        r = 0;
out:
        free(p);
        kl_json_free(root);
        return r;
}

void kl_mb_policy_free(struct kl_mb_policy *p)
{
        free(p);
}

static int check_bank(const char *name, uint32_t mask, uint32_t extended, const uint8_t *want,
                      const uint8_t *got, size_t dlen, char *why, size_t why_len)
{
        char a[2 * KL_SHA256_LEN + 1], b[2 * KL_SHA256_LEN + 1];
        unsigned i;

        for (i = 0; i < MAX_PCR; i++) {
                if (!(mask & 1u << i))
                        continue;
                if (!(extended & 1u << i)) {
                        kl_why_set(why, why_len, "PCR %u: no event in the log extends it (%s)", i,
                                   name);
                        return KL_ERR_VERIFY;
                }
                if (memcmp(want + i * dlen, got + i * dlen, dlen) != 0) {
                        kl_hex_encode_to(got + i * dlen, dlen, a);
                        kl_hex_encode_to(want + i * dlen, dlen, b);
                        kl_why_set(why, why_len, "PCR %u: event log gives %s:%s, policy expects %s",
                                   i, name, a, b);
                        return KL_ERR_VERIFY;
                }
        }
        return 0;
}

int kl_mb_policy_check(const struct kl_mb_policy *p, const struct kl_uefi_pcrs *replay, char *why,
                       size_t why_len)
{
        int r;

        kl_why_set(why, why_len, "%s", "");
        if (p == NULL || replay == NULL)
                return KL_ERR_INVAL;
        if ((r = check_bank("sha256", p->sha256_mask, replay->mask, &p->sha256[0][0],
                            &replay->sha256[0][0], KL_SHA256_LEN, why, why_len)) != 0)
                return r;
        return check_bank("sha1", p->sha1_mask, replay->mask, &p->sha1[0][0], &replay->sha1[0][0],
                          KL_SHA1_LEN, why, why_len);
}
