/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed attestations from outside (see attest.h): the TPMS_ATTEST of a quote
 * or of a certification, and the AK's TPMT_SIGNATURE over it. Every input is
 * untrusted and read through a bounds-checked big-endian cursor; every buffer
 * must be consumed exactly.
 *
 * Formats: TPM 2.0 Part 2 (TPMS_ATTEST 10.12.12, TPMS_CERTIFY_INFO 10.12.3,
 * TPMT_SIGNATURE 11.3.4).
 */
#include "attest.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "log.h"
#include "tpm_public.h"

#define ALG_RSASSA        0x0014u
#define ALG_RSAPSS        0x0016u
#define ALG_ECDSA         0x0018u
#define TPM_GENERATED     0xFF544347u
#define ST_ATTEST_QUOTE   0x8018u
#define ST_ATTEST_CERTIFY 0x8017u

/* ---- TPMS_ATTEST ------------------------------------------------------- */

/* Big-endian cursor: every read checks what is left, by subtraction. */
struct cur {
        const uint8_t *p;
        size_t left;
        bool bad;
};

static uint64_t get_be(struct cur *c, size_t n)
{
        uint64_t v = 0;
        size_t i;

        if (c->bad || n > c->left) {
                c->bad = true;
                return 0;
        }
        for (i = 0; i < n; i++)
                v = v << 8 | c->p[i];
        c->p += n;
        c->left -= n;
        return v;
}

/* A TPM2B: u16 size then at most cap bytes, lent through *ret_ptr. */
static size_t take_2b(struct cur *c, size_t cap, const uint8_t **ret_ptr)
{
        size_t n = (size_t)get_be(c, 2);

        *ret_ptr = NULL;
        if (c->bad || n > cap || n > c->left) {
                c->bad = true;
                return 0;
        }
        *ret_ptr = c->p;
        c->p += n;
        c->left -= n;
        return n;
}

/* A TPM2B copied into out, which holds cap bytes. */
static size_t get_2b(struct cur *c, uint8_t *out, size_t cap)
{
        const uint8_t *p;
        size_t n = take_2b(c, cap, &p);

        if (p != NULL && n > 0)
                memcpy(out, p, n);
        return n;
}

int kl_attest_parse(const uint8_t *attest, size_t len, struct kl_attest_info *ret)
{
        struct kl_attest_info a;
        struct cur c = {.p = attest, .left = len};
        const uint8_t *skip;
        size_t sel_size, i;
        uint64_t safe;

        memset(&a, 0, sizeof(a));
        if (attest == NULL || ret == NULL)
                return KL_ERR_INVAL;
        if (get_be(&c, 4) != TPM_GENERATED || get_be(&c, 2) != ST_ATTEST_QUOTE)
                return KL_ERR_INVAL;
        (void)take_2b(&c, 2 + 64, &skip); /* qualifiedSigner: a TPM2B_NAME */
        a.nonce_len = get_2b(&c, a.nonce, sizeof(a.nonce));
        a.clock = get_be(&c, 8);
        a.reset_count = (uint32_t)get_be(&c, 4);
        a.restart_count = (uint32_t)get_be(&c, 4);
        safe = get_be(&c, 1);
        a.firmware_version = get_be(&c, 8);
        if (c.bad || safe > 1)
                return KL_ERR_INVAL;
        a.safe = safe == 1;
        if (get_be(&c, 4) != 1) /* TPML_PCR_SELECTION.count: exactly one bank */
                return KL_ERR_INVAL;
        a.sel_hash = (uint16_t)get_be(&c, 2);
        sel_size = (size_t)get_be(&c, 1);
        if (c.bad || sel_size > 4 || kl_hash_alg_digest_len(a.sel_hash) == 0)
                return KL_ERR_INVAL;
        for (i = 0; i < sel_size; i++)
                a.sel_mask |= (uint32_t)get_be(&c, 1) << (8 * i);
        if ((a.sel_mask >> KL_PCR_COUNT) != 0)
                return KL_ERR_INVAL;
        a.pcr_digest_len = get_2b(&c, a.pcr_digest, sizeof(a.pcr_digest));
        if (c.bad || c.left != 0)
                return KL_ERR_INVAL;
        *ret = a;
        return 0;
}

int kl_certify_parse(const uint8_t *attest, size_t len, struct kl_certify_info *ret)
{
        struct kl_certify_info a;
        struct cur c = {.p = attest, .left = len};
        const uint8_t *skip;

        memset(&a, 0, sizeof(a));
        if (attest == NULL || ret == NULL)
                return KL_ERR_INVAL;
        if (get_be(&c, 4) != TPM_GENERATED || get_be(&c, 2) != ST_ATTEST_CERTIFY)
                return KL_ERR_INVAL;
        (void)take_2b(&c, 2 + 64, &skip); /* qualifiedSigner */
        a.nonce_len = get_2b(&c, a.nonce, sizeof(a.nonce));
        /* clockInfo and firmwareVersion: skipped, the challenge is what makes it fresh */
        (void)get_be(&c, 8);
        (void)get_be(&c, 4);
        (void)get_be(&c, 4);
        if (get_be(&c, 1) > 1) /* safe */
                return KL_ERR_INVAL;
        (void)get_be(&c, 8); /* firmwareVersion */
        a.name_len = get_2b(&c, a.name, sizeof(a.name));
        (void)take_2b(&c, 2 + 64, &skip); /* qualifiedName */
        if (c.bad || c.left != 0)
                return KL_ERR_INVAL;
        *ret = a;
        return 0;
}

/* ---- signature --------------------------------------------------------- */

int kl_attest_verify_signature(const struct kl_tpm_public *ak, uint16_t expected_hash_alg,
                               const uint8_t *attest, size_t attest_len, const uint8_t *sig,
                               size_t sig_len)
{
        struct cur c = {.p = sig, .left = sig_len};
        EVP_PKEY *key = NULL;
        const uint8_t *sig_bytes = NULL, *rp = NULL, *sp = NULL;
        uint8_t digest[KL_MAX_DIGEST_LEN];
        size_t digest_len = 0, sig_bytes_len = 0, rl = 0, sl = 0;
        uint16_t sig_alg, sig_hash;
        const char *hash;
        bool rsa;
        int r = KL_ERR_INVAL;

        if (ak == NULL || attest == NULL || sig == NULL)
                goto out;
        rsa = kl_tpm_public_is_rsa(ak);
        sig_alg = (uint16_t)get_be(&c, 2);
        sig_hash = (uint16_t)get_be(&c, 2);
        if (c.bad)
                goto out;
        if (sig_hash != expected_hash_alg) {
                log_debug("quote signed with hash 0x%04x, expected 0x%04x", sig_hash,
                          expected_hash_alg);
                r = KL_ERR_VERIFY;
                goto out;
        }
        if ((rsa && sig_alg != ALG_RSASSA && sig_alg != ALG_RSAPSS) ||
            (!rsa && sig_alg != ALG_ECDSA)) {
                log_debug("signature scheme 0x%04x does not fit the %s AK", sig_alg,
                          rsa ? "RSA" : "EC");
                r = KL_ERR_VERIFY;
                goto out;
        }
        if (rsa) {
                sig_bytes_len = take_2b(&c, 512, &sig_bytes); /* RSA-4096 at most */
        } else {
                rl = take_2b(&c, 66, &rp); /* P-521 at most */
                sl = take_2b(&c, 66, &sp);
                if (c.bad || c.left != 0 || rl == 0 || sl == 0)
                        goto out;
                sig_bytes_len = rl + sl;
        }
        if (c.bad || c.left != 0 || sig_bytes_len == 0) {
                r = KL_ERR_INVAL;
                goto out;
        }
        hash = kl_hash_alg_name(sig_hash);
        if ((r = kl_digest(hash, attest, attest_len, digest, &digest_len)) < 0)
                goto out;
        if ((r = kl_tpm_public_to_pkey(ak, &key)) < 0)
                goto out;
        if (rsa)
                r = kl_rsa_verify_digest(key, hash, sig_alg == ALG_RSAPSS, digest, digest_len,
                                         sig_bytes, sig_bytes_len);
        else
                r = kl_ecdsa_verify_digest(key, hash, digest, digest_len, rp, rl, sp, sl);
out:
        kl_pkey_free(key);
        return r;
}
