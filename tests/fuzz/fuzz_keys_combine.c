/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What follows the RSA-OAEP step of /keys/ukey and /keys/vkey, which
 * fuzz_keys_request cannot get past: share pairing in keys_add (lengths, the
 * auth-tag check, the pending bounds), /keys/verify's HMAC, then AES-GCM
 * payload decryption and delivery (unzip) with the K that matched.
 *
 * Input: byte 0 is flags (bit 0: 32-byte K, else 16; bit 1: the harness
 * computes the right auth tag, else 48 bytes come from the input; bit 2: the
 * harness encrypts the rest with K, else the rest is the blob as sent; bit 3:
 * V before U; bits 4-7: decoy shares added first), then K, then the mask
 * (U = mask, V = K xor mask), then the tag if not computed, then the payload.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "keys.h"
#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UUID "d432fbb3-d2f1-4a97-9ef7-75bd81c0e001"

static char dir[64];

static void remove_dir(void)
{
        (void)payload_remove_tree(AT_FDCWD, dir);
}

static struct keys_share *share(enum keys_kind kind, const uint8_t *key, size_t len)
{
        struct keys_share *s = calloc(1, sizeof(*s));

        if (s == NULL)
                abort();
        s->kind = kind;
        memcpy(s->key, key, len);
        s->key_len = len;
        return s;
}

/* IV(16) || AES-GCM(K, plain) || tag(16), as the tenant sends it; NULL if too big */
static uint8_t *encrypt(const uint8_t *k, size_t k_len, const uint8_t *plain, size_t len,
                        size_t *ret_len)
{
        uint8_t *blob = malloc(len + 32);

        if (blob == NULL)
                abort();
        memset(blob, 0x5a, 16);
        if (kl_aes_gcm_encrypt(k, k_len, blob, 16, plain, len, blob + 16, blob + 16 + len) < 0)
                abort();
        *ret_len = len + 32;
        return blob;
}

static void deliver(const uint8_t *k, size_t k_len, const uint8_t *blob, size_t len)
{
        struct payload_opts o = {
            .secure_dir = dir,
            .enc_keyname = "derived_tci_key",
            .dec_payload_file = "decrypted_payload",
            .extract_zip = true,
            .script = "",
        };
        uint8_t *plain = NULL;
        size_t plain_len = 0;

        if (payload_decrypt(k, k_len, blob, len, &plain, &plain_len) < 0)
                return;
        payload_limits_default(&o.lim, 4u << 20);
        (void)payload_deliver(&o, k, k_len, plain, plain_len);
        kl_secure_free(plain, plain_len);
        (void)payload_remove_tree(AT_FDCWD, dir);
        if (mkdir(dir, 0700) != 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct keys_state *st = NULL;
        struct keys_share *u, *v;
        uint8_t k[KEYS_KEY_MAX], vkey[KEYS_KEY_MAX], got_k[KEYS_KEY_MAX];
        uint8_t *payload = NULL, *blob = NULL;
        size_t k_len, need, payload_len = 0, got_len = 0, blob_len = 0, i;
        uint64_t seq = 0;
        bool matched = false;
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];

        if (dir[0] == '\0') {
                snprintf(dir, sizeof(dir), "%s", "/tmp/kl-fuzz-keys.XXXXXX");
                if (mkdtemp(dir) == NULL)
                        abort();
                atexit(remove_dir);
        }
        if (size < 1)
                return 0;
        k_len = (data[0] & 1) ? 32 : 16;
        need = 1 + 2 * k_len + ((data[0] & 2) ? 0 : KL_SHA384_LEN);
        if (size < need)
                return 0;
        memcpy(k, data + 1, k_len);
        for (i = 0; i < k_len; i++)
                vkey[i] = k[i] ^ data[1 + k_len + i];
        u = share(KEYS_U, data + 1 + k_len, k_len);
        v = share(KEYS_V, vkey, k_len);
        if (data[0] & 2) {
                size_t tag_len = 0;

                if (kl_hmac("sha384", k, k_len, (const uint8_t *)UUID, strlen(UUID), u->auth_tag,
                            &tag_len) < 0)
                        abort();
        } else {
                memcpy(u->auth_tag, data + 1 + 2 * k_len, KL_SHA384_LEN);
        }
        if (size > need) {
                if (data[0] & 4) {
                        blob = encrypt(k, k_len, data + need, size - need, &blob_len);
                } else {
                        blob_len = size - need;
                        if ((blob = malloc(blob_len)) == NULL)
                                abort();
                        memcpy(blob, data + need, blob_len);
                }
                u->payload = blob;
                u->payload_len = blob_len;
        }
        if (keys_state_new(UUID, &st) < 0)
                abort();
        /* decoys: unmatched halves the pairing must skip (and bound) */
        for (i = 0; i < (size_t)(data[0] >> 4); i++)
                (void)keys_add(st, share(i % 2 ? KEYS_V : KEYS_U, data + 1, (i % 3) ? k_len : 16),
                               &matched, &payload, &payload_len, got_k, &got_len, &seq);
        kl_secure_free(payload, payload_len);
        payload = NULL;
        (void)keys_add(st, (data[0] & 8) ? v : u, &matched, &payload, &payload_len, got_k, &got_len,
                       &seq);
        kl_secure_free(payload, payload_len);
        payload = NULL;
        (void)keys_add(st, (data[0] & 8) ? u : v, &matched, &payload, &payload_len, got_k, &got_len,
                       &seq);
        (void)keys_verify_hmac(st, "challenge", hex);
        if (matched && payload != NULL)
                deliver(got_k, got_len, payload, payload_len);
        kl_secure_free(payload, payload_len);
        kl_wipe(got_k, sizeof(got_k));
        keys_state_free(st);
        return 0;
}
