/* SPDX-License-Identifier: Apache-2.0 */
/*
 * U/V shares and the bootstrap key K (keys-and-payloads.md). Shares are kept
 * in two bounded lists, as upstream keeps them until a partner arrives, so a
 * verifier's V may come before or after the tenant's U; a flood of shares can
 * only push out the oldest ones. Every buffer holding key material is wiped.
 */
#include "keys.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "log.h"

/* RSA-2048 ciphertext is 344 base64 characters; leave room for larger NKs. */
#define ENCRYPTED_KEY_B64_MAX 2048

struct keys_state {
        pthread_mutex_t lock;
        char *uuid;
        struct keys_share *u[KEYS_PENDING_MAX];
        size_t n_u;
        struct keys_share *v[KEYS_PENDING_MAX];
        size_t n_v;
        uint8_t k[KEYS_KEY_MAX];
        size_t k_len; /* 0: no K yet */
        uint64_t seq; /* matches so far */
        /* sender of the V that completed K: only it may send the next V */
        char k_owner[KEYS_SENDER_MAX];
};

void keys_share_free(struct keys_share *s)
{
        if (s == NULL)
                return;
        kl_secure_free(s->payload, s->payload_len);
        kl_secure_free(s, sizeof(*s));
}

static int bad(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t err_len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
        return 400;
}

/* A required string member; the text mimics the upstream agent's JSON extractor. */
static int get_field(const kl_json *obj, const char *name, bool required, const char **ret,
                     char *err, size_t err_len)
{
        int r = kl_json_get_string(obj, name, ret);

        if (r == KL_ERR_NOT_FOUND && !required) {
                *ret = NULL;
                return 0;
        }
        if (r == KL_ERR_NOT_FOUND)
                return bad(err, err_len, "Json deserialize error: missing field `%s`", name);
        if (r < 0)
                return bad(err, err_len,
                           "Json deserialize error: invalid type for field `%s`, "
                           "expected a string",
                           name);
        return 0;
}

int keys_parse_request(EVP_PKEY *nk, enum keys_kind kind, const char *body, size_t len,
                       struct keys_share **ret, char *err, size_t err_len)
{
        kl_json *obj = NULL;
        struct keys_share *s = NULL;
        const char *ek = NULL, *tag = NULL, *payload = NULL;
        uint8_t *ct = NULL, *plain = NULL, *tag_bin = NULL;
        size_t ct_len = 0, plain_len = 0, tag_len = 0;
        int code;

        if (kl_json_parse_object(body, len, &obj) < 0) {
                code = bad(err, err_len, "Json deserialize error: invalid JSON object");
                goto out;
        }
        if ((code = get_field(obj, "encrypted_key", true, &ek, err, err_len)) != 0)
                goto out;
        if (kind == KEYS_U &&
            ((code = get_field(obj, "auth_tag", true, &tag, err, err_len)) != 0 ||
             (code = get_field(obj, "payload", false, &payload, err, err_len)) != 0))
                goto out;
        if ((s = calloc(1, sizeof(*s))) == NULL) {
                code = bad(err, err_len, "Out of memory");
                goto out;
        }
        s->kind = kind;
        if (strlen(ek) > ENCRYPTED_KEY_B64_MAX || kl_b64_decode(ek, strlen(ek), &ct, &ct_len) < 0) {
                code = bad(err, err_len, "Invalid base64 encoding in encrypted_key: %s",
                           strlen(ek) > ENCRYPTED_KEY_B64_MAX ? "too long" : "invalid input");
                goto out;
        }
        if (nk == NULL || kl_rsa_oaep_decrypt(nk, "sha1", ct, ct_len, &plain, &plain_len) < 0) {
                code = bad(err, err_len,
                           "Failed to decrypt encrypted_key: RSA-OAEP decryption "
                           "failed");
                goto out;
        }
        if (plain_len != 16 && plain_len != 32) {
                code = bad(err, err_len, "%s: invalid AES key size: %zu",
                           kind == KEYS_U ? "Invalid decrypted key" : "Decrypted key is invalid",
                           plain_len);
                goto out;
        }
        memcpy(s->key, plain, plain_len);
        s->key_len = plain_len;
        if (kind == KEYS_U) {
                if (kl_hex_decode(tag, strlen(tag), &tag_bin, &tag_len) < 0) {
                        code = bad(err, err_len, "Invalid hex encoding in auth_tag: %s",
                                   "invalid character or odd length");
                        goto out;
                }
                if (tag_len != KL_SHA384_LEN) {
                        code = bad(err, err_len,
                                   "auth tag length %zu does not correspond to valid SHA-384 HMAC",
                                   tag_len);
                        goto out;
                }
                memcpy(s->auth_tag, tag_bin, KL_SHA384_LEN);
                if (payload != NULL && payload[0] != '\0' &&
                    (strlen(payload) > KEYS_PAYLOAD_MAX / 3 * 4 + 4 ||
                     kl_b64_decode(payload, strlen(payload), &s->payload, &s->payload_len) < 0)) {
                        code = bad(err, err_len, "Invalid base64 encoding in payload: %s",
                                   "invalid input");
                        goto out;
                }
        }
        *ret = s;
        s = NULL;
        code = 0;
out:
        keys_share_free(s);
        kl_json_free(obj);
        free(ct);
        free(tag_bin);
        kl_secure_free(plain, plain_len);
        return code;
}

int keys_state_new(const char *uuid, struct keys_state **ret)
{
        struct keys_state *st = calloc(1, sizeof(*st));

        if (st == NULL)
                return KL_ERR_NOMEM;
        if ((st->uuid = strdup(uuid)) == NULL) {
                free(st);
                return KL_ERR_NOMEM;
        }
        if (pthread_mutex_init(&st->lock, NULL) != 0) {
                free(st->uuid);
                free(st);
                return KL_ERR_SYSTEM;
        }
        *ret = st;
        return 0;
}

static void clear_list(struct keys_share **list, size_t *n)
{
        for (size_t i = 0; i < *n; i++) {
                keys_share_free(list[i]);
                list[i] = NULL;
        }
        *n = 0;
}

void keys_state_free(struct keys_state *st)
{
        if (st == NULL)
                return;
        clear_list(st->u, &st->n_u);
        clear_list(st->v, &st->n_v);
        kl_wipe(st->k, sizeof(st->k));
        pthread_mutex_destroy(&st->lock);
        free(st->uuid);
        free(st);
}

/* Appends, dropping the oldest share when the list is full. */
static void push_bounded(struct keys_share **list, size_t *n, struct keys_share *s)
{
        if (*n == KEYS_PENDING_MAX) {
                keys_share_free(list[0]);
                memmove(list, list + 1, (KEYS_PENDING_MAX - 1) * sizeof(list[0]));
                (*n)--;
                log_warn("more than %d key shares wait for a partner; dropping the oldest",
                         KEYS_PENDING_MAX);
        }
        list[(*n)++] = s;
}

/* K' = U xor V accepted when its HMAC over the UUID is U's auth tag. */
static bool pair_matches(const struct keys_state *st, const struct keys_share *u,
                         const struct keys_share *v, uint8_t k[KEYS_KEY_MAX])
{
        uint8_t mac[KL_MAX_DIGEST_LEN];
        size_t mac_len = 0;
        bool ok = false;

        if (u->key_len != v->key_len)
                return false;
        for (size_t i = 0; i < u->key_len; i++)
                k[i] = u->key[i] ^ v->key[i];
        if (kl_hmac("sha384", k, u->key_len, (const uint8_t *)st->uuid, strlen(st->uuid), mac,
                    &mac_len) == 0)
                ok = kl_mem_equal_ct(mac, mac_len, u->auth_tag, sizeof(u->auth_tag));
        kl_wipe(mac, sizeof(mac));
        if (!ok)
                kl_wipe(k, KEYS_KEY_MAX);
        return ok;
}

int keys_add(struct keys_state *st, struct keys_share *share, bool *ret_matched,
             uint8_t **ret_payload, size_t *ret_payload_len, uint8_t ret_k[KEYS_KEY_MAX],
             size_t *ret_k_len, uint64_t *ret_seq)
{
        uint8_t k[KEYS_KEY_MAX];
        struct keys_share *u = NULL;
        bool matched = false;

        *ret_matched = false;
        *ret_payload = NULL;
        *ret_payload_len = 0;
        *ret_k_len = 0;
        *ret_seq = 0;
        pthread_mutex_lock(&st->lock);
        if (share->kind == KEYS_V && st->k_len > 0 &&
            (share->sender[0] == '\0' || strcmp(share->sender, st->k_owner) != 0)) {
                pthread_mutex_unlock(&st->lock);
                log_warn("refusing a V share from '%.64s': the bootstrap key was delivered by "
                         "'%.64s'; only it (or an agent restart) may replace the key",
                         share->sender[0] != '\0' ? share->sender : "an unauthenticated client",
                         st->k_owner);
                keys_share_free(share);
                return KL_ERR_EXISTS;
        }
        if (share->kind == KEYS_U)
                push_bounded(st->u, &st->n_u, share);
        else
                push_bounded(st->v, &st->n_v, share);
        /* Newest U first: the tenant's latest share wins when several match. */
        for (size_t i = st->n_u; i-- > 0 && !matched;) {
                for (size_t j = st->n_v; j-- > 0 && !matched;) {
                        if (pair_matches(st, st->u[i], st->v[j], k)) {
                                matched = true;
                                u = st->u[i];
                                memcpy(st->k_owner, st->v[j]->sender, sizeof(st->k_owner));
                        }
                }
        }
        if (matched) {
                kl_wipe(st->k, sizeof(st->k));
                memcpy(st->k, k, u->key_len);
                st->k_len = u->key_len;
                *ret_seq = ++st->seq;
                if (u->payload != NULL) {
                        *ret_payload = u->payload;
                        *ret_payload_len = u->payload_len;
                        u->payload = NULL;
                        u->payload_len = 0;
                        memcpy(ret_k, k, u->key_len);
                        *ret_k_len = u->key_len;
                }
                clear_list(st->u, &st->n_u);
                clear_list(st->v, &st->n_v);
        } else if (st->n_u > 0 && st->n_v > 0) {
                /* Only a count: which share was wrong is of no use to an attacker's probe. */
                log_info("key shares do not combine to a key matching the auth tag yet "
                         "(%zu U, %zu V waiting)",
                         st->n_u, st->n_v);
        }
        pthread_mutex_unlock(&st->lock);
        kl_wipe(k, sizeof(k));
        *ret_matched = matched;
        if (matched)
                log_info("bootstrap key derived from U and V; auth tag verified");
        return 0;
}

void keys_pending(struct keys_state *st, size_t *ret_u, size_t *ret_v)
{
        pthread_mutex_lock(&st->lock);
        *ret_u = st->n_u;
        *ret_v = st->n_v;
        pthread_mutex_unlock(&st->lock);
}

int keys_verify_hmac(struct keys_state *st, const char *challenge,
                     char out[KL_HMAC_SHA384_HEX_LEN + 1])
{
        int r = KL_ERR_NOT_FOUND;

        pthread_mutex_lock(&st->lock);
        if (st->k_len > 0)
                r = kl_hmac_sha384_hex(st->k, st->k_len, (const uint8_t *)challenge,
                                       strlen(challenge), out);
        pthread_mutex_unlock(&st->lock);
        return r;
}
