/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TPM2_MakeCredential in software, for the registrar (TPM 2.0 Part 1, 24
 * "Credential Protection"; Part 2, TPM2B_ID_OBJECT), plus the KDFs it uses
 * the strict reader of the tpm2-tools credential-blob layout the agent
 * receives, and TPM2_ActivateCredential in software (its inverse, for simulated agents). The seed
 * and every key derived from it are wiped before return.
 */
#include "makecred.h"

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "log.h"
#include "tpm_public.h"

#define CREDBLOB_MAGIC   0xBADCC0DEu
#define CREDBLOB_VERSION 1u
#define CRED_MAX         64
/* caps for the KDF context strings; real ones are Names and ECC coordinates */
#define KDF_CTX_MAX   1024
#define KDF_LABEL_MAX 64

static void put_u16(uint8_t *p, size_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t get_u16(const uint8_t *p)
{
        return (size_t)p[0] << 8 | p[1];
}

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
                put_u32(msg + counter_off, i++);
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
        put_u32(bits_be, bits);
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
 * ECC seed: ECDH between the ephemeral key and the EK, Z = x of the shared
 * point, seed = KDFe(nameAlg, Z, "IDENTITY", eph.x, ek.x, digest bits);
 * the encrypted secret is the ephemeral point as TPMS_ECC_POINT.
 */
static int ecc_seed(EVP_PKEY *ek, EVP_PKEY *eph_in, const char *hash, uint8_t *seed,
                    size_t seed_len, uint8_t *secret, size_t *ret_secret_len)
{
        uint8_t ek_xy[2 * 66], eph_xy[2 * 66], z[66];
        size_t coord = 0;
        int r;

        r = kl_ecdh_ephemeral(ek, eph_in, z, eph_xy, ek_xy, &coord);
        if (r < 0)
                goto out;
        r = kl_kdfe(hash, z, coord, "IDENTITY", eph_xy, coord, ek_xy, coord,
                    (unsigned)(seed_len * 8), seed);
        if (r < 0)
                goto out;
        /* TPMS_ECC_POINT: u16be(n) || x || u16be(n) || y */
        put_u16(secret, coord);
        memcpy(secret + 2, eph_xy, coord);
        put_u16(secret + 2 + coord, coord);
        memcpy(secret + 4 + coord, eph_xy + coord, coord);
        *ret_secret_len = 4 + 2 * coord;
        r = 0;
out:
        kl_wipe(z, sizeof(z));
        return r;
}

/*
 * The two keys a credential's seed gives (Part 1, 24.4 and 24.5): the AES key
 * bound to the object's name, and the outer HMAC key.
 */
static int derive_keys(const char *hash, const uint8_t *seed, size_t seed_len, unsigned sym_bits,
                       const uint8_t *name, size_t name_len, uint8_t sym_key[32],
                       uint8_t hmac_key[KL_MAX_DIGEST_LEN])
{
        int r =
            kl_kdfa(hash, seed, seed_len, "STORAGE", name, name_len, NULL, 0, sym_bits, sym_key);

        if (r < 0)
                return r;
        return kl_kdfa(hash, seed, seed_len, "INTEGRITY", NULL, 0, NULL, 0,
                       (unsigned)(digest_size(hash) * 8), hmac_key);
}

/* outerHMAC = HMAC(hmac_key, encIdentity || name); mac holds one digest. */
static int outer_hmac(const char *hash, const uint8_t *hmac_key, const uint8_t *enc, size_t enc_len,
                      const uint8_t *name, size_t name_len, uint8_t *mac)
{
        uint8_t mac_in[2 + CRED_MAX + 2 + KL_MAX_DIGEST_LEN];
        size_t dlen = digest_size(hash), mac_len = 0;
        int r;

        if (enc_len > 2 + CRED_MAX || name_len > 2 + KL_MAX_DIGEST_LEN)
                return KL_ERR_INVAL;
        memcpy(mac_in, enc, enc_len);
        memcpy(mac_in + enc_len, name, name_len);
        r = kl_hmac(hash, hmac_key, dlen, mac_in, enc_len + name_len, mac, &mac_len);
        if (r == 0 && mac_len != dlen)
                r = KL_ERR_INTERNAL;
        kl_wipe(mac_in, sizeof(mac_in));
        return r;
}

/* idObject body = u16be(hmac len) || outerHMAC || encIdentity (Part 1, 24.4 and 24.5) */
static int build_id_object(const char *hash, const uint8_t *seed, size_t seed_len,
                           unsigned sym_bits, const uint8_t *name, size_t name_len,
                           const uint8_t *cred, size_t cred_len, uint8_t *id, size_t *ret_len)
{
        static const uint8_t zero_iv[16];
        uint8_t sym_key[32], hmac_key[KL_MAX_DIGEST_LEN], plain[2 + CRED_MAX];
        size_t dlen = digest_size(hash), enc_len = 2 + cred_len;
        uint8_t *enc = id + 2 + dlen;
        int r;

        r = derive_keys(hash, seed, seed_len, sym_bits, name, name_len, sym_key, hmac_key);
        if (r < 0)
                goto out;
        put_u16(plain, cred_len);
        memcpy(plain + 2, cred, cred_len);
        r = kl_aes_cfb_encrypt(sym_key, sym_bits / 8, zero_iv, plain, enc_len, enc);
        if (r < 0)
                goto out;
        r = outer_hmac(hash, hmac_key, enc, enc_len, name, name_len, id + 2);
        if (r < 0)
                goto out;
        put_u16(id, dlen);
        *ret_len = 2 + dlen + enc_len;
        r = 0;
out:
        kl_wipe(sym_key, sizeof(sym_key));
        kl_wipe(hmac_key, sizeof(hmac_key));
        kl_wipe(plain, sizeof(plain));
        return r;
}

int kl_makecred_fixed(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                      const uint8_t *credential, size_t cred_len, const uint8_t *seed_in,
                      size_t seed_len, EVP_PKEY *ephemeral, uint8_t **ret_blob, size_t *ret_len)
{
        static const uint8_t identity_label[] = "IDENTITY"; /* 9 bytes with the NUL */
        const char *hash = kl_tpm_public_name_alg(ek);
        size_t dlen = digest_size(hash), id_len = 0, secret_len = 0, blob_len;
        uint8_t seed[KL_MAX_DIGEST_LEN], id[2 + KL_MAX_DIGEST_LEN + 2 + CRED_MAX];
        uint8_t ecc_secret[4 + 2 * 66];
        uint8_t *oaep = NULL, *blob = NULL;
        const uint8_t *secret;
        EVP_PKEY *ek_key = NULL;
        unsigned sym_bits = 0;
        bool rsa;
        int r;

        if (ek == NULL || ak_name == NULL || credential == NULL || ret_blob == NULL ||
            ret_len == NULL)
                return KL_ERR_INVAL;
        if (hash == NULL || (strcmp(hash, "sha256") != 0 && strcmp(hash, "sha384") != 0))
                return KL_ERR_UNSUPPORTED;
        /* Part 3 MakeCredential: the credential is at most one nameAlg digest */
        if (cred_len == 0 || cred_len > dlen || ak_name_len < 2 ||
            ak_name_len > 2 + KL_MAX_DIGEST_LEN)
                return KL_ERR_INVAL;
        rsa = kl_tpm_public_is_rsa(ek);
        if (rsa ? (ephemeral != NULL || (seed_in != NULL && seed_len != dlen)) : (seed_in != NULL))
                return KL_ERR_INVAL;
        r = kl_tpm_public_sym_aes_bits(ek, &sym_bits);
        if (r < 0)
                goto out;
        r = kl_tpm_public_to_pkey(ek, &ek_key);
        if (r < 0)
                goto out;

        if (rsa) {
                if (seed_in != NULL)
                        memcpy(seed, seed_in, dlen);
                else if ((r = kl_random_bytes(seed, dlen)) < 0)
                        goto out;
                r = kl_rsa_oaep_encrypt(ek_key, hash, identity_label, sizeof(identity_label), seed,
                                        dlen, &oaep, &secret_len);
                if (r < 0)
                        goto out;
                secret = oaep;
        } else {
                r = ecc_seed(ek_key, ephemeral, hash, seed, dlen, ecc_secret, &secret_len);
                if (r < 0)
                        goto out;
                secret = ecc_secret;
        }
        if (secret_len > sizeof(TPMU_ENCRYPTED_SECRET)) {
                r = KL_ERR_UNSUPPORTED;
                goto out;
        }
        r = build_id_object(hash, seed, dlen, sym_bits, ak_name, ak_name_len, credential, cred_len,
                            id, &id_len);
        if (r < 0)
                goto out;

        blob_len = 4 + 4 + 2 + id_len + 2 + secret_len;
        if ((blob = malloc(blob_len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        put_u32(blob, CREDBLOB_MAGIC);
        put_u32(blob + 4, CREDBLOB_VERSION);
        put_u16(blob + 8, id_len);
        memcpy(blob + 10, id, id_len);
        put_u16(blob + 10 + id_len, secret_len);
        memcpy(blob + 12 + id_len, secret, secret_len);
        *ret_blob = blob;
        *ret_len = blob_len;
        r = 0;
out:
        kl_wipe(seed, sizeof(seed));
        kl_wipe(id, sizeof(id));
        free(oaep);
        kl_pkey_free(ek_key);
        return r;
}

int kl_makecred(const struct kl_tpm_public *ek, const uint8_t *ak_name, size_t ak_name_len,
                const uint8_t *credential, size_t cred_len, uint8_t **ret_blob, size_t *ret_len)
{
        return kl_makecred_fixed(ek, ak_name, ak_name_len, credential, cred_len, NULL, 0, NULL,
                                 ret_blob, ret_len);
}

int kl_credblob_split(const uint8_t *blob, size_t len, const uint8_t **ret_id_object,
                      size_t *ret_id_len, const uint8_t **ret_secret, size_t *ret_secret_len)
{
        size_t id_len, secret_len;

        if (blob == NULL || ret_id_object == NULL || ret_id_len == NULL || ret_secret == NULL ||
            ret_secret_len == NULL)
                return KL_ERR_INVAL;
        if (len < 12)
                return KL_ERR_INVAL;
        if (get_u32(blob) != CREDBLOB_MAGIC || get_u32(blob + 4) != CREDBLOB_VERSION)
                return KL_ERR_INVAL;
        id_len = get_u16(blob + 8);
        /* subtract, never add: len >= 12 here */
        if (id_len == 0 || id_len > len - 12 || id_len > sizeof(TPMS_ID_OBJECT))
                return KL_ERR_INVAL;
        secret_len = get_u16(blob + 10 + id_len);
        if (secret_len == 0 || secret_len != len - 12 - id_len ||
            secret_len > sizeof(TPMU_ENCRYPTED_SECRET))
                return KL_ERR_INVAL;
        *ret_id_object = blob + 10;
        *ret_id_len = id_len;
        *ret_secret = blob + 12 + id_len;
        *ret_secret_len = secret_len;
        return 0;
}

/* The seed from an ECC EK's encrypted secret (a TPMS_ECC_POINT): ecc_seed run from the EK's side.
 */
static int ecc_seed_open(EVP_PKEY *ek_priv, const char *hash, const uint8_t *secret,
                         size_t secret_len, uint8_t *seed, size_t seed_len)
{
        uint8_t pt[1 + 2 * 66], ek_xy[2 * 66], eph_xy[2 * 66], z[66];
        EVP_PKEY *eph = NULL;
        size_t n, coord = 0;
        const char *group;
        int r = KL_ERR_INVAL;

        if (secret_len < 4 || (n = get_u16(secret)) == 0 || n > 66 || secret_len != 4 + 2 * n ||
            get_u16(secret + 2 + n) != n)
                goto out;
        group = n == 32 ? "P-256" : n == 48 ? "P-384" : n == 66 ? "P-521" : NULL;
        if (group == NULL)
                goto out;
        pt[0] = 0x04; /* uncompressed */
        memcpy(pt + 1, secret + 2, n);
        memcpy(pt + 1 + n, secret + 4 + n, n);
        if ((r = kl_pubkey_from_ec_point(group, pt, 1 + 2 * n, &eph)) < 0)
                goto out;
        /* Z is symmetric: the EK's private key against the ephemeral public point */
        if ((r = kl_ecdh_ephemeral(eph, ek_priv, z, ek_xy, eph_xy, &coord)) < 0)
                goto out;
        r = kl_kdfe(hash, z, coord, "IDENTITY", eph_xy, coord, ek_xy, coord,
                    (unsigned)(seed_len * 8), seed);
out:
        kl_wipe(z, sizeof(z));
        kl_pkey_free(eph);
        return r;
}

int kl_activatecred(const struct kl_tpm_public *ek, EVP_PKEY *ek_priv, const uint8_t *ak_name,
                    size_t ak_name_len, const uint8_t *blob, size_t blob_len, uint8_t *ret_cred,
                    size_t *ret_cred_len)
{
        static const uint8_t zero_iv[16];
        const char *hash = kl_tpm_public_name_alg(ek);
        const uint8_t *id = NULL, *secret = NULL, *enc;
        size_t id_len = 0, secret_len = 0, dlen = digest_size(hash), enc_len, cred_len;
        uint8_t seed[KL_MAX_DIGEST_LEN], sym_key[32], hmac_key[KL_MAX_DIGEST_LEN];
        uint8_t mac[KL_MAX_DIGEST_LEN], plain[2 + CRED_MAX];
        unsigned sym_bits = 0;
        int r;

        if (ek == NULL || ek_priv == NULL || ak_name == NULL || ret_cred == NULL ||
            ret_cred_len == NULL || ak_name_len < 2 || ak_name_len > 2 + KL_MAX_DIGEST_LEN)
                return KL_ERR_INVAL;
        if (hash == NULL || (strcmp(hash, "sha256") != 0 && strcmp(hash, "sha384") != 0))
                return KL_ERR_UNSUPPORTED;
        if (kl_tpm_public_is_rsa(ek))
                return KL_ERR_UNSUPPORTED; /* needs OAEP decryption with the "IDENTITY" label */
        if ((r = kl_credblob_split(blob, blob_len, &id, &id_len, &secret, &secret_len)) < 0 ||
            (r = kl_tpm_public_sym_aes_bits(ek, &sym_bits)) < 0)
                return r;
        /* idObject: u16be(dlen) || outerHMAC || encIdentity of at least the u16 size */
        if (id_len < 2 + dlen + 2 || get_u16(id) != dlen || id_len - 2 - dlen > 2 + CRED_MAX)
                return KL_ERR_INVAL;
        enc = id + 2 + dlen;
        enc_len = id_len - 2 - dlen;
        r = ecc_seed_open(ek_priv, hash, secret, secret_len, seed, dlen);
        if (r < 0)
                goto out;
        r = derive_keys(hash, seed, dlen, sym_bits, ak_name, ak_name_len, sym_key, hmac_key);
        if (r < 0)
                goto out;
        if ((r = outer_hmac(hash, hmac_key, enc, enc_len, ak_name, ak_name_len, mac)) < 0)
                goto out;
        /* Part 1, 24.5: the integrity check comes first, a wrong AK name or EK fails here */
        if (!kl_mem_equal_ct(mac, dlen, id + 2, dlen)) {
                r = KL_ERR_VERIFY;
                goto out;
        }
        if ((r = kl_aes_cfb_decrypt(sym_key, sym_bits / 8, zero_iv, enc, enc_len, plain)) < 0)
                goto out;
        cred_len = get_u16(plain);
        if (cred_len == 0 || cred_len != enc_len - 2 || cred_len > dlen) {
                r = KL_ERR_INVAL;
                goto out;
        }
        memcpy(ret_cred, plain + 2, cred_len);
        *ret_cred_len = cred_len;
        r = 0;
out:
        kl_wipe(seed, sizeof(seed));
        kl_wipe(sym_key, sizeof(sym_key));
        kl_wipe(hmac_key, sizeof(hmac_key));
        kl_wipe(plain, sizeof(plain));
        return r;
}
