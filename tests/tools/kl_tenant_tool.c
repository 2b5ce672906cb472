/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_tenant_tool: the tenant's side of Keylime secret delivery for the
 * integration tests (keys-and-payloads.md §2, §5), built on libkl so the
 * formats match what the agent expects. The openssl CLI cannot do AES-GCM
 * with a 16-byte IV, hence this tool.
 *
 *   split                          prints "K U V" in hex: K, V random 32 bytes, U = K xor V
 *   encrypt-payload K_HEX FILE     prints base64(IV16 || AES-GCM(K, FILE) || tag16)
 *   oaep-encrypt PUBKEY_PEM HEX    prints base64(RSA-OAEP-SHA1(pubkey, bytes))
 *   hmac K_HEX MESSAGE             prints hex HMAC-SHA-384(K, MESSAGE)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fileio.h"
#include "hex.h"
#include "tenant.h"

static int usage(void)
{
        fprintf(stderr, "usage: kl_tenant_tool split | encrypt-payload K_HEX FILE | "
                        "oaep-encrypt PUBKEY_PEM HEX | hmac K_HEX MESSAGE\n");
        return 2;
}

static int hex_arg(const char *s, uint8_t **ret, size_t *ret_len)
{
        if (kl_hex_decode(s, strlen(s), ret, ret_len) < 0) {
                fprintf(stderr, "kl_tenant_tool: bad hex\n");
                return -1;
        }
        return 0;
}

static int split(void)
{
        struct kl_bootstrap_keys keys;
        char kh[65], uh[65], vh[65];

        if (kl_bootstrap_keys_generate(&keys) < 0)
                return 1;
        kl_hex_encode_to(keys.k, sizeof(keys.k), kh);
        kl_hex_encode_to(keys.u, sizeof(keys.u), uh);
        kl_hex_encode_to(keys.v, sizeof(keys.v), vh);
        kl_bootstrap_keys_wipe(&keys);
        printf("%s %s %s\n", kh, uh, vh);
        return 0;
}

static int encrypt_payload(const char *k_hex, const char *file)
{
        uint8_t *k = NULL;
        size_t k_len = 0, len = 0;
        char *in = NULL, *b64 = NULL;
        int rc = 1;

        if (hex_arg(k_hex, &k, &k_len) < 0 || kl_file_read(file, 64u << 20, &in, &len) < 0 ||
            kl_tenant_encrypt_payload(k, k_len, (const uint8_t *)in, len, &b64) < 0)
                goto out;
        printf("%s\n", b64);
        rc = 0;
out:
        free(k);
        free(in);
        free(b64);
        return rc;
}

static int oaep_encrypt(const char *pem_file, const char *hex)
{
        uint8_t *data = NULL;
        size_t len = 0, pem_len = 0;
        char *pem = NULL, *b64 = NULL;
        int rc = 1;

        if (kl_file_read(pem_file, 16384, &pem, &pem_len) < 0 || hex_arg(hex, &data, &len) < 0 ||
            kl_tenant_wrap_share(pem, data, len, &b64) < 0)
                goto out;
        printf("%s\n", b64);
        rc = 0;
out:
        free(pem);
        free(data);
        free(b64);
        return rc;
}

static int hmac(const char *k_hex, const char *msg)
{
        char out[KL_HMAC_SHA384_HEX_LEN + 1];
        uint8_t *k = NULL;
        size_t k_len = 0;
        int rc = 1;

        if (hex_arg(k_hex, &k, &k_len) == 0 &&
            kl_hmac_sha384_hex(k, k_len, (const uint8_t *)msg, strlen(msg), out) == 0) {
                printf("%s\n", out);
                rc = 0;
        }
        free(k);
        return rc;
}

int main(int argc, char **argv)
{
        if (argc == 2 && strcmp(argv[1], "split") == 0)
                return split();
        if (argc == 4 && strcmp(argv[1], "encrypt-payload") == 0)
                return encrypt_payload(argv[2], argv[3]);
        if (argc == 4 && strcmp(argv[1], "oaep-encrypt") == 0)
                return oaep_encrypt(argv[2], argv[3]);
        if (argc == 4 && strcmp(argv[1], "hmac") == 0)
                return hmac(argv[2], argv[3]);
        return usage();
}
