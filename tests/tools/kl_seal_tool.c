/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_seal_tool: libkl's software duplication (lib/tpm/duplicate.h) for the
 * integration tests, writing the three files tpm2-tools' tpm2_import reads,
 * so that a TPM and tpm2-tools, not our own agent, judge the blob.
 *
 *   kl_seal_tool EK_PUB BANK PCRS VALUES (aes FILE | rsa PEM) OUT
 *
 * EK_PUB is a TPM2B_PUBLIC (tpm2_createek -u), PCRS a list like 0,7, VALUES
 * the selected PCR values concatenated in ascending order (tpm2_pcrread -o).
 * Writes OUT.pub (-u), OUT.dup (-i), OUT.seed (-s) and OUT.policy (the
 * PolicyPCR digest, as tpm2_createpolicy --policy-pcr writes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "duplicate.h"
#include "fileio.h"
#include "hash_alg.h"
#include "policy.h"
#include "quote.h"
#include "tpm_public.h"

static int usage(void)
{
        fprintf(stderr, "usage: kl_seal_tool EK_PUB BANK PCRS VALUES (aes FILE | rsa PEM) OUT\n");
        return 2;
}

static int parse_pcrs(const char *s, uint32_t *ret)
{
        uint32_t mask = 0;
        char *end = NULL;

        while (*s != '\0') {
                unsigned long v = strtoul(s, &end, 10);

                if (end == s || v >= KL_PCR_COUNT || (*end != ',' && *end != '\0'))
                        return -1;
                mask |= 1u << v;
                s = *end == ',' ? end + 1 : end;
        }
        *ret = mask;
        return mask != 0 ? 0 : -1;
}

static int write_out(const char *prefix, const char *ext, const uint8_t *d, size_t len)
{
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s.%s", prefix, ext);

        if (n < 0 || (size_t)n >= sizeof(path) || kl_file_write_atomic(path, d, len, 0600) < 0) {
                fprintf(stderr, "kl_seal_tool: cannot write %s.%s\n", prefix, ext);
                return -1;
        }
        return 0;
}

int main(int argc, char **argv)
{
        struct kl_pcr_set pcrs = {0};
        struct kl_tpm_public *ek = NULL;
        struct kl_tpm_dup dup = {0};
        EVP_PKEY *key = NULL;
        uint8_t policy[KL_MAX_DIGEST_LEN];
        char *ek_buf = NULL, *values = NULL, *secret = NULL;
        size_t ek_len = 0, values_len = 0, secret_len = 0, policy_len = 0, off = 0;
        int rc = 1;

        if (argc != 8 || (strcmp(argv[5], "aes") != 0 && strcmp(argv[5], "rsa") != 0))
                return usage();
        pcrs.hash_alg = kl_hash_alg_from_name(argv[2]);
        pcrs.digest_len = kl_hash_alg_digest_len(pcrs.hash_alg);
        if (pcrs.digest_len == 0 || parse_pcrs(argv[3], &pcrs.mask) < 0)
                return usage();
        if (kl_file_read(argv[1], 4096, &ek_buf, &ek_len) < 0 ||
            kl_tpm_public_parse((const uint8_t *)ek_buf, ek_len, &ek) < 0) {
                fprintf(stderr, "kl_seal_tool: %s is not a TPM2B_PUBLIC\n", argv[1]);
                goto out;
        }
        if (kl_file_read(argv[4], 4096, &values, &values_len) < 0)
                goto out;
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                if (!(pcrs.mask & (1u << i)))
                        continue;
                if (values_len - off < pcrs.digest_len)
                        break;
                memcpy(pcrs.values[i], values + off, pcrs.digest_len);
                off += pcrs.digest_len;
        }
        if (off != values_len) {
                fprintf(stderr, "kl_seal_tool: %s does not hold the selected PCR values\n",
                        argv[4]);
                goto out;
        }
        if (kl_tpm_policy_pcr("sha256", &pcrs, policy, &policy_len) < 0)
                goto out;
        if (strcmp(argv[5], "aes") == 0) {
                if (kl_file_read(argv[6], KL_TPM_SEALED_MAX, &secret, &secret_len) < 0 ||
                    kl_tpm_dup_sealed(ek, (const uint8_t *)secret, secret_len, policy, policy_len,
                                      NULL, &dup) < 0)
                        goto out;
        } else if (kl_key_load_pem(argv[6], NULL, &key) < 0 ||
                   kl_tpm_dup_rsa(ek, key, policy, policy_len, NULL, &dup) < 0) {
                goto out;
        }
        if (write_out(argv[7], "pub", dup.pub, dup.pub_len) < 0 ||
            write_out(argv[7], "dup", dup.priv, dup.priv_len) < 0 ||
            write_out(argv[7], "seed", dup.seed, dup.seed_len) < 0 ||
            write_out(argv[7], "policy", policy, policy_len) < 0)
                goto out;
        rc = 0;
out:
        if (rc != 0)
                fprintf(stderr, "kl_seal_tool: failed\n");
        kl_tpm_dup_clear(&dup);
        kl_tpm_public_free(ek);
        kl_pkey_free(key);
        free(ek_buf);
        free(values);
        kl_secure_free(secret, secret_len);
        return rc;
}
