/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keylime quote evidence without a TPM (see quote.h): encode on the agent,
 * decode and verify on the verifier stub. All inputs are untrusted; the
 * parsers read through a bounds-checked cursor and never copy a length they
 * have not checked against the destination. Never talks to a TPM.
 *
 * Formats: proto quote-format.md sections 1-3; the PCR blob is tpm2-tools' little-endian memory
 * dump of TPML_PCR_SELECTION and TPML_DIGEST, padding included.
 */
#include "quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "hash_alg.h"

/* tpm2-tools blob layout (x86-64 tpm2-tss structs). */
#define BLOB_SEL_SLOTS   16u
#define BLOB_SEL_SIZE    (4u + BLOB_SEL_SLOTS * 8u) /* 132 */
#define BLOB_DIGEST_SLOT (2u + 64u)
#define BLOB_LIST_SIZE   (4u + 8u * BLOB_DIGEST_SLOT) /* 532 */
#define BLOB_PER_LIST    8u
#define BLOB_MAX_LISTS   ((KL_PCR_COUNT + BLOB_PER_LIST - 1) / BLOB_PER_LIST)

static unsigned popcount24(uint32_t mask)
{
        return (unsigned)__builtin_popcount(mask & 0xffffffu);
}

/* A set the encoders and the digest can trust: known bank, PCRs < 24. */
static bool pcr_set_ok(const struct kl_pcr_set *p)
{
        return p != NULL && kl_hash_alg_digest_len(p->hash_alg) != 0 &&
               p->digest_len == kl_hash_alg_digest_len(p->hash_alg) &&
               (p->mask >> KL_PCR_COUNT) == 0;
}

/* ---- little-endian helpers for the blob -------------------------------- */

static void put_le16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static uint16_t get_le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get_le32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- PCR blob ---------------------------------------------------------- */

int kl_pcrblob_encode(const struct kl_pcr_set *pcrs, uint8_t **ret_blob, size_t *ret_len)
{
        uint8_t *blob = NULL, *list = NULL;
        size_t len, nlists, slot = 0;
        unsigned i;
        int r = KL_ERR_INVAL;

        if (!pcr_set_ok(pcrs) || ret_blob == NULL || ret_len == NULL)
                goto out;
        nlists = (popcount24(pcrs->mask) + BLOB_PER_LIST - 1) / BLOB_PER_LIST;
        len = BLOB_SEL_SIZE + 4 + nlists * BLOB_LIST_SIZE;
        if ((blob = calloc(1, len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        /* one bank in slot 0; the other 15 slots stay zero as tpm2-tools leaves them */
        put_le32(blob, 1);
        put_le16(blob + 4, pcrs->hash_alg);
        blob[6] = 3; /* sizeofSelect: 24 PCRs */
        blob[7] = (uint8_t)pcrs->mask;
        blob[8] = (uint8_t)(pcrs->mask >> 8);
        blob[9] = (uint8_t)(pcrs->mask >> 16);
        put_le32(blob + BLOB_SEL_SIZE, (uint32_t)nlists);
        for (i = 0; i < KL_PCR_COUNT; i++) {
                uint8_t *d;

                if (!(pcrs->mask & (1u << i)))
                        continue;
                list = blob + BLOB_SEL_SIZE + 4 + (slot / BLOB_PER_LIST) * BLOB_LIST_SIZE;
                put_le32(list, get_le32(list) + 1);
                d = list + 4 + (slot % BLOB_PER_LIST) * BLOB_DIGEST_SLOT;
                put_le16(d, (uint16_t)pcrs->digest_len);
                memcpy(d + 2, pcrs->values[i], pcrs->digest_len);
                slot++;
        }
        *ret_blob = blob;
        *ret_len = len;
        blob = NULL;
        r = 0;
out:
        free(blob);
        return r;
}

int kl_pcrblob_decode(const uint8_t *blob, size_t len, struct kl_pcr_set *ret)
{
        struct kl_pcr_set p;
        uint32_t nlists, count;
        size_t want, l, k, dlen;
        unsigned pcr = 0, nvals;

        memset(&p, 0, sizeof(p));
        if (blob == NULL || ret == NULL || len < BLOB_SEL_SIZE + 4)
                return KL_ERR_INVAL;
        /* exactly one bank: the quote covers one, and we check values against it */
        if (get_le32(blob) != 1)
                return KL_ERR_INVAL;
        p.hash_alg = get_le16(blob + 4);
        if ((p.digest_len = kl_hash_alg_digest_len(p.hash_alg)) == 0)
                return KL_ERR_INVAL;
        /* sizeofSelect 3 (or 0: nothing selected); the 4th select byte is never used */
        if ((blob[6] != 3 && blob[6] != 0) || blob[10] != 0)
                return KL_ERR_INVAL;
        if (blob[6] == 3)
                p.mask = (uint32_t)blob[7] | (uint32_t)blob[8] << 8 | (uint32_t)blob[9] << 16;
        nvals = popcount24(p.mask);
        nlists = get_le32(blob + BLOB_SEL_SIZE);
        /* checked before the multiplication, so the length cannot wrap */
        if (nlists != (nvals + BLOB_PER_LIST - 1) / BLOB_PER_LIST || nlists > BLOB_MAX_LISTS)
                return KL_ERR_INVAL;
        want = BLOB_SEL_SIZE + 4 + (size_t)nlists * BLOB_LIST_SIZE;
        if (len != want)
                return KL_ERR_INVAL;
        for (l = 0; l < nlists; l++) {
                const uint8_t *list = blob + BLOB_SEL_SIZE + 4 + l * BLOB_LIST_SIZE;

                count = get_le32(list);
                if (count == 0 || count > BLOB_PER_LIST)
                        return KL_ERR_INVAL;
                for (k = 0; k < count; k++) {
                        const uint8_t *d = list + 4 + k * BLOB_DIGEST_SLOT;

                        dlen = get_le16(d);
                        if (dlen != p.digest_len)
                                return KL_ERR_INVAL;
                        while (pcr < KL_PCR_COUNT && !(p.mask & (1u << pcr)))
                                pcr++;
                        if (pcr >= KL_PCR_COUNT)
                                return KL_ERR_INVAL; /* more values than selected PCRs */
                        memcpy(p.values[pcr], d + 2, dlen);
                        pcr++;
                }
        }
        /* every selected PCR got exactly one value */
        while (pcr < KL_PCR_COUNT && !(p.mask & (1u << pcr)))
                pcr++;
        if (pcr < KL_PCR_COUNT)
                return KL_ERR_INVAL;
        *ret = p;
        return 0;
}

/* ---- quote string ------------------------------------------------------ */

int kl_quote_encode(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
                    const struct kl_pcr_set *pcrs, char **ret_quote)
{
        char *a = NULL, *s = NULL, *p = NULL, *q = NULL;
        uint8_t *blob = NULL;
        size_t blob_len = 0, n;
        int r;

        if (attest == NULL || sig == NULL || ret_quote == NULL || attest_len == 0 || sig_len == 0) {
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((r = kl_pcrblob_encode(pcrs, &blob, &blob_len)) < 0 ||
            (r = kl_b64_encode(attest, attest_len, &a)) < 0 ||
            (r = kl_b64_encode(sig, sig_len, &s)) < 0 ||
            (r = kl_b64_encode(blob, blob_len, &p)) < 0)
                goto out;
        n = 1 + strlen(a) + 1 + strlen(s) + 1 + strlen(p) + 1;
        if ((q = malloc(n)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        r = snprintf(q, n, "r%s:%s:%s", a, s, p);
        if (r < 0 || (size_t)r != n - 1) {
                r = KL_ERR_INTERNAL;
                goto out;
        }
        *ret_quote = q;
        q = NULL;
        r = 0;
out:
        free(a);
        free(s);
        free(p);
        free(q);
        free(blob);
        return r;
}

void kl_quote_clear(struct kl_quote *q)
{
        if (q == NULL)
                return;
        free(q->attest);
        free(q->sig);
        memset(q, 0, sizeof(*q));
}

int kl_quote_decode(const char *s, size_t len, struct kl_quote *ret)
{
        struct kl_quote q;
        const char *part[3], *end, *c;
        size_t plen[3], i;
        uint8_t *blob = NULL;
        size_t blob_len = 0;
        int r = KL_ERR_INVAL;

        memset(&q, 0, sizeof(q));
        if (s == NULL || ret == NULL)
                goto out;
        if (len > KL_QUOTE_MAX_LEN) {
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        /* "r" marks the uncompressed format; API 1.0's zlib parts are refused */
        if (len < 1 || s[0] != 'r')
                goto out;
        end = s + len;
        c = s + 1;
        for (i = 0; i < 3; i++) {
                const char *colon = memchr(c, ':', (size_t)(end - c));

                if (i < 2 && colon == NULL)
                        goto out;
                if (i == 2 && colon != NULL)
                        goto out; /* a fourth part */
                part[i] = c;
                plen[i] = (size_t)((colon != NULL ? colon : end) - c);
                if (plen[i] == 0)
                        goto out;
                c = colon != NULL ? colon + 1 : end;
        }
        if ((r = kl_b64_decode(part[0], plen[0], &q.attest, &q.attest_len)) < 0 ||
            (r = kl_b64_decode(part[1], plen[1], &q.sig, &q.sig_len)) < 0 ||
            (r = kl_b64_decode(part[2], plen[2], &blob, &blob_len)) < 0)
                goto out;
        if (q.attest_len == 0 || q.sig_len == 0) {
                r = KL_ERR_INVAL;
                goto out;
        }
        if ((r = kl_pcrblob_decode(blob, blob_len, &q.pcrs)) < 0)
                goto out;
        *ret = q;
        memset(&q, 0, sizeof(q));
        r = 0;
out:
        kl_quote_clear(&q);
        free(blob);
        return r;
}

int kl_pcr_set_digest_with(const struct kl_pcr_set *pcrs, const char *hash, uint8_t *out,
                           size_t *ret_len)
{
        uint8_t buf[KL_PCR_COUNT * 64];
        size_t n = 0;
        unsigned i;

        if (!pcr_set_ok(pcrs) || out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        for (i = 0; i < KL_PCR_COUNT; i++) {
                if (!(pcrs->mask & (1u << i)))
                        continue;
                memcpy(buf + n, pcrs->values[i], pcrs->digest_len);
                n += pcrs->digest_len;
        }
        return kl_digest(hash, buf, n, out, ret_len);
}

int kl_pcr_set_digest(const struct kl_pcr_set *pcrs, uint8_t *out, size_t *ret_len)
{
        if (!pcr_set_ok(pcrs))
                return KL_ERR_INVAL;
        return kl_pcr_set_digest_with(pcrs, kl_hash_alg_name(pcrs->hash_alg), out, ret_len);
}
