/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outer wrapper shared by MakeCredential and duplication (see wrap.h):
 * the KDFs, the seed encrypted to the parent and the HMAC-protected AES-CFB
 * blob. The seed and every key derived from it are wiped before return.
 */
#include "wrap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "be.h"
#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "tpm_public.h"

_Static_assert(KL_TPM_SECRET_MAX == sizeof(TPMU_ENCRYPTED_SECRET), "KL_TPM_SECRET_MAX");

/* caps for the KDF context strings; real ones are Names and ECC coordinates */
#define KDF_CTX_MAX   1024
#define KDF_LABEL_MAX 64

static size_t digest_size(const char *hash)
{
        return kl_hash_alg_digest_len(kl_hash_alg_from_name(hash));
}

/* Label bytes including the terminating NUL that both KDFs hash (Part 1, 11.4.10). */
static int label_len(const char *label, size_t *ret_len)
{
        size_t n;

        if (label == NULL) {
                *ret_len = 0;
                return 0;
        }
        n = strlen(label);
        if (n > KDF_LABEL_MAX)
                return KL_ERR_TOO_LONG;
        *ret_len = n + 1;
        return 0;
}

/*
 * Shared block loop: out = first bits/8 bytes of F(1) || F(2) || ..., where
 * F(i) is HMAC_key(prefix_i) for KDFa or H(prefix_i) for KDFe (key == NULL).
 * msg is prepared by the caller with room for the counter at counter_off.
 */
static int kdf_blocks(const char *hash, const uint8_t *key, size_t key_len, uint8_t *msg,
                      size_t msg_len, size_t counter_off, unsigned bits, uint8_t *out)
{
        uint8_t block[KL_MAX_DIGEST_LEN];
        size_t need = bits / 8, done = 0, blen = 0;
        uint32_t i = 1;
        int r = 0;

        while (done < need) {
                kl_be32_put(msg + counter_off, i++);
                if (key != NULL)
                        r = kl_hmac(hash, key, key_len, msg, msg_len, block, &blen);
                else
                        r = kl_digest(hash, msg, msg_len, block, &blen);
                if (r < 0)
                        break;
                if (blen > need - done)
                        blen = need - done;
                memcpy(out + done, block, blen);
                done += blen;
        }
        kl_wipe(block, sizeof(block));
        return r;
}

struct kdf_part {
        const uint8_t *p;
        size_t len;
};

/*
 * Both KDFs hash u32be(counter) || parts...: builds that message once (it
 * may hold Z or a seed, so it is wiped) and runs the block loop over it.
 */
static int kdf_run(const char *hash, const uint8_t *key, size_t key_len,
                   const struct kdf_part *parts, size_t n_parts, unsigned bits, uint8_t *out)
{
        size_t msg_len = 4, off = 4;
        uint8_t *msg;
        int r;

        for (size_t i = 0; i < n_parts; i++)
                msg_len += parts[i].len; /* each part is capped by the callers' checks */
        if ((msg = malloc(msg_len)) == NULL)
                return KL_ERR_NOMEM;
        for (size_t i = 0; i < n_parts; i++) {
                if (parts[i].len > 0)
                        memcpy(msg + off, parts[i].p, parts[i].len);
                off += parts[i].len;
        }
        r = kdf_blocks(hash, key, key_len, msg, msg_len, 0, bits, out);
        kl_secure_free(msg, msg_len);
        return r;
}

int kl_kdfa(const char *hash, const uint8_t *key, size_t key_len, const char *label,
            const uint8_t *ctx_u, size_t ctx_u_len, const uint8_t *ctx_v, size_t ctx_v_len,
            unsigned bits, uint8_t *out)
{
        uint8_t bits_be[4];
        size_t llen = 0;
        int r;

        if (digest_size(hash) == 0)
                return KL_ERR_UNSUPPORTED;
        if (key == NULL || key_len == 0 || out == NULL || bits == 0 || bits % 8 != 0 ||
            (ctx_u == NULL && ctx_u_len != 0) || (ctx_v == NULL && ctx_v_len != 0))
                return KL_ERR_INVAL;
        if (ctx_u_len > KDF_CTX_MAX || ctx_v_len > KDF_CTX_MAX || bits > 8 * 1024)
                return KL_ERR_TOO_LONG;
        r = label_len(label, &llen);
        if (r < 0)
                return r;
        kl_be32_put(bits_be, bits);
        /* u32be(i) || label || 0 || contextU || contextV || u32be(bits) */
        const struct kdf_part parts[] = {
            {(const uint8_t *)label, llen},
            {ctx_u, ctx_u_len},
            {ctx_v, ctx_v_len},
            {bits_be, sizeof(bits_be)},
        };
        return kdf_run(hash, key, key_len, parts, sizeof(parts) / sizeof(parts[0]), bits, out);
}

int kl_kdfe(const char *hash, const uint8_t *z, size_t z_len, const char *label,
            const uint8_t *party_u, size_t party_u_len, const uint8_t *party_v, size_t party_v_len,
            unsigned bits, uint8_t *out)
{
        size_t llen = 0;
        int r;

        if (digest_size(hash) == 0)
                return KL_ERR_UNSUPPORTED;
        if (z == NULL || z_len == 0 || out == NULL || bits == 0 || bits % 8 != 0 ||
            (party_u == NULL && party_u_len != 0) || (party_v == NULL && party_v_len != 0))
                return KL_ERR_INVAL;
        if (z_len > KDF_CTX_MAX || party_u_len > KDF_CTX_MAX || party_v_len > KDF_CTX_MAX ||
            bits > 8 * 1024)
                return KL_ERR_TOO_LONG;
        r = label_len(label, &llen);
        if (r < 0)
                return r;
        /* u32be(i) || Z || label || 0 || partyUInfo || partyVInfo (SP 800-56A 5.8.1) */
        const struct kdf_part parts[] = {
            {z, z_len},
            {(const uint8_t *)label, llen},
            {party_u, party_u_len},
            {party_v, party_v_len},
        };
        return kdf_run(hash, NULL, 0, parts, sizeof(parts) / sizeof(parts[0]), bits, out);
}

/*
 * ECC seed: ECDH between the ephemeral key and the parent, Z = x of the
 * shared point, seed = KDFe(nameAlg, Z, label, eph.x, parent.x, digest
 * bits); the encrypted secret is the ephemeral point as TPMS_ECC_POINT.
 */
static int ecc_seed(EVP_PKEY *parent, EVP_PKEY *eph_in, const char *hash, const char *label,
                    struct kl_tpm_seed *s)
{
        uint8_t parent_xy[2 * 66], eph_xy[2 * 66], z[66];
        size_t coord = 0;
        int r;

        r = kl_ecdh_ephemeral(parent, eph_in, z, eph_xy, parent_xy, &coord);
        if (r < 0)
                goto out;
        r = kl_kdfe(hash, z, coord, label, eph_xy, coord, parent_xy, coord,
                    (unsigned)(s->seed_len * 8), s->seed);
        if (r < 0)
                goto out;
        /* TPMS_ECC_POINT: u16be(n) || x || u16be(n) || y */
        kl_be16_put(s->secret, coord);
        memcpy(s->secret + 2, eph_xy, coord);
        kl_be16_put(s->secret + 2 + coord, coord);
        memcpy(s->secret + 4 + coord, eph_xy + coord, coord);
        s->secret_len = 4 + 2 * coord;
        r = 0;
out:
        kl_wipe(z, sizeof(z));
        return r;
}

/* RSA seed: OAEP(nameAlg, label with its NUL) of the random or given seed. */
static int rsa_seed(EVP_PKEY *parent, const char *hash, const char *label, struct kl_tpm_seed *s)
{
        uint8_t *oaep = NULL;
        size_t len = 0;
        int r;

        r = kl_rsa_oaep_encrypt(parent, hash, (const uint8_t *)label, strlen(label) + 1, s->seed,
                                s->seed_len, &oaep, &len);
        if (r < 0)
                return r;
        if (len > sizeof(s->secret)) {
                free(oaep);
                return KL_ERR_UNSUPPORTED;
        }
        memcpy(s->secret, oaep, len);
        s->secret_len = len;
        free(oaep);
        return 0;
}

void kl_tpm_seed_clear(struct kl_tpm_seed *s)
{
        if (s != NULL)
                kl_wipe(s, sizeof(*s));
}

int kl_tpm_seed_new(const struct kl_tpm_public *parent, const char *label, const uint8_t *seed_in,
                    size_t seed_len, EVP_PKEY *ephemeral, struct kl_tpm_seed *ret)
{
        const char *hash = parent != NULL ? kl_tpm_public_name_alg(parent) : NULL;
        struct kl_tpm_seed s = {0};
        EVP_PKEY *key = NULL;
        bool rsa;
        int r;

        if (parent == NULL || label == NULL || ret == NULL)
                return KL_ERR_INVAL;
        if (hash == NULL || (strcmp(hash, "sha256") != 0 && strcmp(hash, "sha384") != 0))
                return KL_ERR_UNSUPPORTED;
        s.seed_len = digest_size(hash);
        rsa = kl_tpm_public_is_rsa(parent);
        if (rsa ? (ephemeral != NULL || (seed_in != NULL && seed_len != s.seed_len))
                : (seed_in != NULL))
                return KL_ERR_INVAL;
        if ((r = kl_tpm_public_to_pkey(parent, &key)) < 0)
                goto out;
        if (rsa) {
                if (seed_in != NULL)
                        memcpy(s.seed, seed_in, s.seed_len);
                else if ((r = kl_random_bytes(s.seed, s.seed_len)) < 0)
                        goto out;
                r = rsa_seed(key, hash, label, &s);
        } else {
                r = ecc_seed(key, ephemeral, hash, label, &s);
        }
        if (r < 0)
                goto out;
        *ret = s;
        r = 0;
out:
        kl_tpm_seed_clear(&s);
        kl_pkey_free(key);
        return r;
}

/* symKey and hmacKey from the seed (see wrap.h); sym_key holds 32, hmac_key one digest. */
static int outer_keys(const char *hash, const struct kl_tpm_seed *seed, unsigned sym_bits,
                      const uint8_t *name, size_t name_len, uint8_t *sym_key, uint8_t *hmac_key)
{
        int r = kl_kdfa(hash, seed->seed, seed->seed_len, "STORAGE", name, name_len, NULL, 0,
                        sym_bits, sym_key);

        if (r < 0)
                return r;
        return kl_kdfa(hash, seed->seed, seed->seed_len, "INTEGRITY", NULL, 0, NULL, 0,
                       (unsigned)(digest_size(hash) * 8), hmac_key);
}

/* HMAC_hmacKey(enc || name) into mac (one digest). */
static int outer_hmac(const char *hash, const uint8_t *hmac_key, const uint8_t *enc, size_t enc_len,
                      const uint8_t *name, size_t name_len, uint8_t *mac)
{
        size_t dlen = digest_size(hash), mac_len = 0;
        uint8_t *mac_in;
        int r;

        if ((mac_in = malloc(enc_len + name_len)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(mac_in, enc, enc_len);
        memcpy(mac_in + enc_len, name, name_len);
        r = kl_hmac(hash, hmac_key, dlen, mac_in, enc_len + name_len, mac, &mac_len);
        if (r == 0 && mac_len != dlen)
                r = KL_ERR_INTERNAL;
        free(mac_in); /* ciphertext and a public name only */
        return r;
}

/* What wrap and unwrap check first: a known nameAlg, a seed, a name that fits. */
static int outer_params(const struct kl_tpm_public *parent, const struct kl_tpm_seed *seed,
                        size_t name_len, const char **ret_hash, unsigned *ret_sym_bits)
{
        const char *hash = parent != NULL ? kl_tpm_public_name_alg(parent) : NULL;

        if (hash == NULL || digest_size(hash) == 0 || seed == NULL || seed->seed_len == 0)
                return KL_ERR_INVAL;
        if (name_len > 2 + KL_MAX_DIGEST_LEN)
                return KL_ERR_TOO_LONG;
        *ret_hash = hash;
        return kl_tpm_public_sym_aes_bits(parent, ret_sym_bits);
}

int kl_tpm_outer_wrap(const struct kl_tpm_public *parent, const struct kl_tpm_seed *seed,
                      const uint8_t *name, size_t name_len, const uint8_t *plain, size_t plain_len,
                      uint8_t *out, size_t out_max, size_t *ret_len)
{
        static const uint8_t zero_iv[16];
        uint8_t sym_key[32], hmac_key[KL_MAX_DIGEST_LEN];
        const char *hash = NULL;
        unsigned sym_bits = 0;
        size_t dlen;
        int r;

        if (name == NULL || plain == NULL || out == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((r = outer_params(parent, seed, name_len, &hash, &sym_bits)) < 0)
                return r;
        dlen = digest_size(hash);
        if (out_max < 2 + dlen || plain_len > out_max - 2 - dlen)
                return KL_ERR_TOO_LONG;
        r = outer_keys(hash, seed, sym_bits, name, name_len, sym_key, hmac_key);
        if (r < 0)
                goto out;
        r = kl_aes_cfb_encrypt(sym_key, sym_bits / 8, zero_iv, plain, plain_len, out + 2 + dlen);
        if (r < 0)
                goto out;
        r = outer_hmac(hash, hmac_key, out + 2 + dlen, plain_len, name, name_len, out + 2);
        if (r < 0)
                goto out;
        kl_be16_put(out, dlen);
        *ret_len = 2 + dlen + plain_len;
        r = 0;
out:
        kl_wipe(sym_key, sizeof(sym_key));
        kl_wipe(hmac_key, sizeof(hmac_key));
        return r;
}

int kl_tpm_outer_unwrap(const struct kl_tpm_public *parent, const struct kl_tpm_seed *seed,
                        const uint8_t *name, size_t name_len, const uint8_t *blob, size_t len,
                        uint8_t *plain, size_t plain_max, size_t *ret_len)
{
        static const uint8_t zero_iv[16];
        uint8_t sym_key[32], hmac_key[KL_MAX_DIGEST_LEN], mac[KL_MAX_DIGEST_LEN];
        const char *hash = NULL;
        unsigned sym_bits = 0;
        size_t dlen, enc_len;
        int r;

        if (name == NULL || blob == NULL || plain == NULL || ret_len == NULL)
                return KL_ERR_INVAL;
        if ((r = outer_params(parent, seed, name_len, &hash, &sym_bits)) < 0)
                return r;
        dlen = digest_size(hash);
        if (len < 2 + dlen || kl_be16_get(blob) != dlen)
                return KL_ERR_INVAL;
        enc_len = len - 2 - dlen;
        if (enc_len > plain_max)
                return KL_ERR_TOO_LONG;
        r = outer_keys(hash, seed, sym_bits, name, name_len, sym_key, hmac_key);
        if (r < 0)
                goto out;
        if ((r = outer_hmac(hash, hmac_key, blob + 2 + dlen, enc_len, name, name_len, mac)) < 0)
                goto out;
        /* integrity first (Part 1, 24.5): another name, parent or seed fails here */
        if (!kl_mem_equal_ct(mac, dlen, blob + 2, dlen)) {
                r = KL_ERR_VERIFY;
                goto out;
        }
        r = kl_aes_cfb_decrypt(sym_key, sym_bits / 8, zero_iv, blob + 2 + dlen, enc_len, plain);
        if (r < 0)
                goto out;
        *ret_len = enc_len;
        r = 0;
out:
        kl_wipe(sym_key, sizeof(sym_key));
        kl_wipe(hmac_key, sizeof(hmac_key));
        return r;
}

/* The ECC seed from the parent's side: the ephemeral point of secret against its private key. */
static int ecc_seed_open(EVP_PKEY *priv, const char *hash, const char *label, const uint8_t *secret,
                         size_t secret_len, struct kl_tpm_seed *s)
{
        uint8_t pt[1 + 2 * 66], parent_xy[2 * 66], eph_xy[2 * 66], z[66];
        EVP_PKEY *eph = NULL;
        const char *group;
        size_t n, coord = 0;
        int r = KL_ERR_INVAL;

        /* TPMS_ECC_POINT: u16be(n) || x || u16be(n) || y */
        if (secret_len < 4 || (n = kl_be16_get(secret)) == 0 || n > 66 || secret_len != 4 + 2 * n ||
            kl_be16_get(secret + 2 + n) != n)
                goto out;
        group = n == 32 ? "P-256" : n == 48 ? "P-384" : n == 66 ? "P-521" : NULL;
        if (group == NULL)
                goto out;
        pt[0] = 0x04; /* uncompressed */
        memcpy(pt + 1, secret + 2, n);
        memcpy(pt + 1 + n, secret + 4 + n, n);
        if ((r = kl_pubkey_from_ec_point(group, pt, 1 + 2 * n, &eph)) < 0)
                goto out;
        /* Z is the same from both sides: the parent's private key, the ephemeral point */
        if ((r = kl_ecdh_ephemeral(eph, priv, z, parent_xy, eph_xy, &coord)) < 0)
                goto out;
        r = kl_kdfe(hash, z, coord, label, eph_xy, coord, parent_xy, coord,
                    (unsigned)(s->seed_len * 8), s->seed);
out:
        kl_wipe(z, sizeof(z));
        kl_pkey_free(eph);
        return r;
}

int kl_tpm_seed_open(const struct kl_tpm_public *parent, EVP_PKEY *parent_priv, const char *label,
                     const uint8_t *secret, size_t secret_len, struct kl_tpm_seed *ret)
{
        const char *hash = parent != NULL ? kl_tpm_public_name_alg(parent) : NULL;
        struct kl_tpm_seed s = {0};
        int r;

        if (parent == NULL || parent_priv == NULL || label == NULL || secret == NULL ||
            ret == NULL || secret_len > sizeof(s.secret))
                return KL_ERR_INVAL;
        if (hash == NULL || (strcmp(hash, "sha256") != 0 && strcmp(hash, "sha384") != 0))
                return KL_ERR_UNSUPPORTED;
        if (kl_tpm_public_is_rsa(parent))
                return KL_ERR_UNSUPPORTED; /* would need OAEP decryption with the label */
        s.seed_len = digest_size(hash);
        if ((r = ecc_seed_open(parent_priv, hash, label, secret, secret_len, &s)) < 0)
                goto out;
        memcpy(s.secret, secret, secret_len);
        s.secret_len = secret_len;
        *ret = s;
out:
        kl_tpm_seed_clear(&s);
        return r;
}
