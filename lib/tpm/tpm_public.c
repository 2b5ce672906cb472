/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2B_PUBLIC as it arrives from the network (ek_tpm, aik_tpm): strict
 * unmarshalling with libtss2-mu, the object Name (TPM 2.0 Part 1, 16 "Names")
 * and conversion to a public key object (kl_crypto). Input is untrusted: the whole
 * buffer must be one canonical TPM2B_PUBLIC, and every TPM2B size is checked
 * before it is used. Never talks to a TPM.
 */
#include "tpm_public.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "log.h"

struct kl_tpm_public {
        TPMT_PUBLIC pub;
        /* the OpenSSL key of an RSA or ECC area, built once: a verifier checks
         * every quote of an agent with the same AK, and building the key cost
         * as much as the signature check. NULL if OpenSSL cannot express it. */
        EVP_PKEY *key;
};

static int rsa_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret_key);
static int ecc_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret_key);

int kl_tpm_public_parse(const uint8_t *buf, size_t len, struct kl_tpm_public **ret)
{
        struct kl_tpm_public *p = NULL;
        TPM2B_PUBLIC tpm2b;
        uint8_t again[sizeof(TPMT_PUBLIC)];
        size_t off = 0, again_len = 0;
        TSS2_RC rc;
        int r = KL_ERR_INVAL;

        if (buf == NULL || ret == NULL)
                return KL_ERR_INVAL;
        if (len < 2 || len > sizeof(TPM2B_PUBLIC))
                return len < 2 ? KL_ERR_INVAL : KL_ERR_TOO_LONG;
        /* the outer size must cover exactly the rest of the buffer */
        if (((size_t)buf[0] << 8 | buf[1]) != len - 2)
                return KL_ERR_INVAL;
        memset(&tpm2b, 0, sizeof(tpm2b));
        rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &tpm2b);
        if (rc != TSS2_RC_SUCCESS || off != len) {
                log_debug("TPM2B_PUBLIC rejected: rc 0x%08x, %zu of %zu bytes used", rc, off, len);
                goto out;
        }
        /*
         * The Name is computed over our own marshalling; insist that it is
         * byte-identical to what we were given, so the Name is that of the
         * bytes the peer sent.
         */
        rc = Tss2_MU_TPMT_PUBLIC_Marshal(&tpm2b.publicArea, again, sizeof(again), &again_len);
        if (rc != TSS2_RC_SUCCESS || again_len != len - 2 ||
            memcmp(again, buf + 2, again_len) != 0) {
                log_debug("TPM2B_PUBLIC rejected: not in canonical form");
                goto out;
        }
        if (tpm2b.publicArea.type != TPM2_ALG_RSA && tpm2b.publicArea.type != TPM2_ALG_ECC &&
            tpm2b.publicArea.type != TPM2_ALG_KEYEDHASH &&
            tpm2b.publicArea.type != TPM2_ALG_SYMCIPHER)
                goto out;
        if ((p = calloc(1, sizeof(*p))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        p->pub = tpm2b.publicArea;
        if (p->pub.type == TPM2_ALG_RSA)
                (void)rsa_to_pkey(&p->pub, &p->key);
        else if (p->pub.type == TPM2_ALG_ECC)
                (void)ecc_to_pkey(&p->pub, &p->key);
        *ret = p;
        r = 0;
out:
        return r;
}

void kl_tpm_public_free(struct kl_tpm_public *p)
{
        if (p == NULL)
                return;
        kl_pkey_free(p->key);
        free(p);
}

int kl_tpm_public_name(const struct kl_tpm_public *p, uint8_t *out, size_t *ret_len)
{
        uint8_t buf[sizeof(TPMT_PUBLIC)];
        size_t len = 0, dlen = 0;
        const char *alg;
        int r;

        if (p == NULL || out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((alg = kl_hash_alg_name(p->pub.nameAlg)) == NULL)
                return KL_ERR_UNSUPPORTED;
        if (Tss2_MU_TPMT_PUBLIC_Marshal(&p->pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
                return KL_ERR_INTERNAL; /* it unmarshalled, so it must marshal */
        r = kl_digest(alg, buf, len, out + 2, &dlen);
        if (r < 0)
                return r;
        out[0] = (uint8_t)(p->pub.nameAlg >> 8);
        out[1] = (uint8_t)(p->pub.nameAlg & 0xff);
        *ret_len = 2 + dlen;
        return 0;
}

const char *kl_tpm_public_name_alg(const struct kl_tpm_public *p)
{
        return p == NULL ? NULL : kl_hash_alg_name(p->pub.nameAlg);
}

const struct TPMT_PUBLIC *kl_tpm_public_area(const struct kl_tpm_public *p)
{
        return &p->pub;
}

bool kl_tpm_public_is_rsa(const struct kl_tpm_public *p)
{
        return p != NULL && p->pub.type == TPM2_ALG_RSA;
}

int kl_tpm_public_sym_aes_bits(const struct kl_tpm_public *p, unsigned *ret_bits)
{
        const TPMT_SYM_DEF_OBJECT *sym;
        unsigned bits;

        if (p == NULL || ret_bits == NULL)
                return KL_ERR_INVAL;
        if (p->pub.type == TPM2_ALG_RSA)
                sym = &p->pub.parameters.rsaDetail.symmetric;
        else if (p->pub.type == TPM2_ALG_ECC)
                sym = &p->pub.parameters.eccDetail.symmetric;
        else
                return KL_ERR_UNSUPPORTED;
        if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB)
                return KL_ERR_UNSUPPORTED;
        bits = sym->keyBits.aes;
        if (bits != 128 && bits != 192 && bits != 256)
                return KL_ERR_UNSUPPORTED;
        *ret_bits = bits;
        return 0;
}

static int rsa_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret_key)
{
        const TPM2B_PUBLIC_KEY_RSA *n = &pub->unique.rsa;
        uint32_t exp = pub->parameters.rsaDetail.exponent;

        /* Part 2: the modulus fills keyBits exactly */
        if (n->size == 0 || n->size > sizeof(n->buffer) ||
            n->size * 8u != pub->parameters.rsaDetail.keyBits || (n->buffer[0] & 0x80) == 0)
                return KL_ERR_INVAL;
        if (exp == 0)
                exp = 65537; /* Part 2 TPMS_RSA_PARMS: zero means the default 2^16 + 1 */
        return kl_pubkey_from_rsa(n->buffer, n->size, exp, ret_key);
}

static int ecc_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret_key)
{
        const TPMS_ECC_POINT *pt = &pub->unique.ecc;
        uint8_t point[1 + 2 * 66];
        const char *group;
        size_t coord;

        switch (pub->parameters.eccDetail.curveID) {
        case TPM2_ECC_NIST_P256:
                group = "P-256";
                coord = 32;
                break;
        case TPM2_ECC_NIST_P384:
                group = "P-384";
                coord = 48;
                break;
        case TPM2_ECC_NIST_P521:
                group = "P-521";
                coord = 66;
                break;
        default:
                return KL_ERR_UNSUPPORTED;
        }
        /* coordinates may come without leading zeros; left-pad to the field size */
        if (pt->x.size == 0 || pt->y.size == 0 || pt->x.size > coord || pt->y.size > coord)
                return KL_ERR_INVAL;
        memset(point, 0, sizeof(point));
        point[0] = 0x04; /* uncompressed (SEC 1, 2.3.3) */
        memcpy(point + 1 + coord - pt->x.size, pt->x.buffer, pt->x.size);
        memcpy(point + 1 + 2 * coord - pt->y.size, pt->y.buffer, pt->y.size);
        return kl_pubkey_from_ec_point(group, point, 1 + 2 * coord, ret_key);
}

int kl_tpm_public_to_pkey(const struct kl_tpm_public *p, EVP_PKEY **ret_key)
{
        if (p == NULL || ret_key == NULL)
                return KL_ERR_INVAL;
        if (p->key != NULL)
                return kl_pkey_ref(p->key, ret_key);
        if (p->pub.type == TPM2_ALG_RSA)
                return rsa_to_pkey(&p->pub, ret_key);
        if (p->pub.type == TPM2_ALG_ECC)
                return ecc_to_pkey(&p->pub, ret_key);
        return KL_ERR_UNSUPPORTED;
}

int kl_tpm_public_to_pem(const struct kl_tpm_public *p, char **ret_pem)
{
        EVP_PKEY *key = NULL;
        int r;

        if ((r = kl_tpm_public_to_pkey(p, &key)) == 0)
                r = kl_pubkey_to_pem(key, ret_pem);
        kl_pkey_free(key);
        return r;
}
