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
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "fileio.h"

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

static int print_b64(const uint8_t *data, size_t len)
{
        char *b64 = NULL;

        if (kl_b64_encode(data, len, &b64) < 0)
                return 1;
        printf("%s\n", b64);
        free(b64);
        return 0;
}

static int split(void)
{
        uint8_t k[32], v[32], u[32];
        char kh[65], uh[65], vh[65];

        if (kl_random_bytes(k, 32) < 0 || kl_random_bytes(v, 32) < 0)
                return 1;
        for (size_t i = 0; i < 32; i++)
                u[i] = k[i] ^ v[i];
        kl_hex_encode_to(k, 32, kh);
        kl_hex_encode_to(u, 32, uh);
        kl_hex_encode_to(v, 32, vh);
        printf("%s %s %s\n", kh, uh, vh);
        return 0;
}

static int encrypt_payload(const char *k_hex, const char *file)
{
        uint8_t *k = NULL, *out = NULL;
        size_t k_len = 0, len = 0;
        char *in = NULL;
        int rc = 1;

        if (hex_arg(k_hex, &k, &k_len) < 0 || kl_file_read(file, 64u << 20, &in, &len) < 0 ||
            (out = malloc(16 + len + 16)) == NULL || kl_random_bytes(out, 16) < 0 ||
            kl_aes_gcm_encrypt(k, k_len, out, 16, (const uint8_t *)in, len, out + 16,
                               out + 16 + len) < 0)
                goto out;
        rc = print_b64(out, 16 + len + 16);
out:
        free(k);
        free(in);
        free(out);
        return rc;
}

static int oaep_encrypt(const char *pem_file, const char *hex)
{
        EVP_PKEY *pub = NULL;
        uint8_t *data = NULL, *ct = NULL;
        size_t len = 0, ct_len = 0;
        FILE *f = fopen(pem_file, "r");
        int rc = 1;

        if (f == NULL || (pub = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL ||
            hex_arg(hex, &data, &len) < 0 ||
            kl_rsa_oaep_encrypt(pub, "sha1", NULL, 0, data, len, &ct, &ct_len) < 0)
                goto out;
        rc = print_b64(ct, ct_len);
out:
        if (f != NULL)
                fclose(f);
        EVP_PKEY_free(pub);
        free(data);
        free(ct);
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
