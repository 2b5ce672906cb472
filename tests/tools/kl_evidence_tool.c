/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-bed helper for the tests/testbed scripts and the integration tests: runs libkl's own log
 * replays on files so scripts can compare them with a software TPM.
 *   kl_evidence_tool mb-policy LOG         measured-boot policy JSON (PCRs 0-7 the log extends;
 *                                     sha256, and sha1 when the log has that bank)
 *   kl_evidence_tool uefi-pcrs LOG         "bank:pcr=hex" for every PCR the log extends
 *   kl_evidence_tool mb-check LOG POLICY   exit 0 when the log's replay passes the mb policy
 *   kl_evidence_tool ima-pcr10 LOG BANK [POLICY]
 *                                     PCR 10 after replaying an IMA ASCII log, optionally
 *                                     checking each line against a runtime policy
 * Never installed; prints errors on stderr and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "ima.h"
#include "quote.h"
#include "uefi_log.h"

#define MAX_LOG (256u * 1024u * 1024u)

static int uefi(const char *path, int policy)
{
        struct kl_uefi_pcrs pcrs;
        char why[256], hex[65];
        char *data = NULL;
        size_t len = 0;
        static const uint8_t zero[20];
        int r, i, first = 1, sha1_bank = 0;

        if ((r = kl_file_read(path, MAX_LOG, &data, &len)) != 0) {
                fprintf(stderr, "kl_evidence: %s: %s\n", path, kl_err_str(r));
                return 1;
        }
        r = kl_uefi_log_replay((const uint8_t *)data, len, &pcrs, why, sizeof(why));
        free(data);
        if (r != 0) {
                fprintf(stderr, "kl_evidence: %s: %s\n", path, why);
                return 1;
        }
        if (!policy) {
                for (i = 0; i < 24; i++) {
                        if (!(pcrs.mask & 1u << i))
                                continue;
                        kl_hex_encode_to(pcrs.sha1[i], 20, hex);
                        printf("sha1:%d=%s\n", i, hex);
                        kl_hex_encode_to(pcrs.sha256[i], 32, hex);
                        printf("sha256:%d=%s\n", i, hex);
                }
                return 0;
        }
        printf("{\"sha256\": {");
        for (i = 0; i < 8; i++) {
                if (!(pcrs.mask & 1u << i))
                        continue;
                kl_hex_encode_to(pcrs.sha256[i], 32, hex);
                printf("%s\"%d\": \"%s\"", first ? "" : ", ", i, hex);
                first = 0;
        }
        printf("}");
        /* a log without a SHA-1 bank leaves it all zeros, which no extend can give */
        for (i = 0; i < 8 && !sha1_bank; i++)
                sha1_bank = (pcrs.mask & 1u << i) && memcmp(pcrs.sha1[i], zero, 20) != 0;
        if (sha1_bank)
                printf(", \"sha1\": {");
        first = 1;
        for (i = 0; i < 8 && sha1_bank; i++) {
                if (!(pcrs.mask & 1u << i))
                        continue;
                kl_hex_encode_to(pcrs.sha1[i], 20, hex);
                printf("%s\"%d\": \"%s\"", first ? "" : ", ", i, hex);
                first = 0;
        }
        printf("%s}\n", sha1_bank ? "}" : "");
        return 0;
}

static int mb_check(const char *path, const char *policy)
{
        struct kl_mb_policy *p = NULL;
        struct kl_uefi_pcrs pcrs;
        char why[512];
        char *data = NULL, *pol = NULL;
        size_t len = 0, pol_len = 0;
        int r, ret = 1;

        if ((r = kl_file_read(path, MAX_LOG, &data, &len)) != 0 ||
            (r = kl_file_read(policy, MAX_LOG, &pol, &pol_len)) != 0) {
                fprintf(stderr, "kl_evidence: %s\n", kl_err_str(r));
                goto out;
        }
        if (kl_uefi_log_replay((const uint8_t *)data, len, &pcrs, why, sizeof(why)) != 0 ||
            kl_mb_policy_parse(pol, pol_len, &p, why, sizeof(why)) != 0 ||
            kl_mb_policy_check(p, &pcrs, why, sizeof(why)) != 0) {
                fprintf(stderr, "kl_evidence: %s\n", why);
                goto out;
        }
        ret = 0;
out:
        kl_mb_policy_free(p);
        free(data);
        free(pol);
        return ret;
}

static int ima(const char *path, const char *bank, const char *policy)
{
        struct kl_ima_policy *p = NULL;
        struct kl_ima_replay st;
        char why[512], hex[129];
        char *data = NULL;
        size_t len = 0;
        uint16_t alg = kl_hash_alg_from_name(bank);
        int r;

        if (alg == 0) {
                fprintf(stderr, "kl_evidence: unknown bank %s\n", bank);
                return 1;
        }
        if (policy != NULL) {
                char *pol = NULL;
                size_t pol_len = 0;

                if ((r = kl_file_read(policy, KL_IMA_POLICY_MAX_LEN, &pol, &pol_len)) != 0) {
                        fprintf(stderr, "kl_evidence: %s: %s\n", policy, kl_err_str(r));
                        return 1;
                }
                r = kl_ima_policy_parse(pol, pol_len, &p, why, sizeof(why));
                free(pol);
                if (r != 0) {
                        fprintf(stderr, "kl_evidence: %s: %s\n", policy, why);
                        return 1;
                }
        }
        if ((r = kl_file_read(path, MAX_LOG, &data, &len)) != 0) {
                fprintf(stderr, "kl_evidence: %s: %s\n", path, kl_err_str(r));
                kl_ima_policy_free(p);
                return 1;
        }
        kl_ima_replay_init(&st, alg);
        r = kl_ima_replay(&st, data, len, p, NULL, why, sizeof(why));
        kl_ima_policy_free(p);
        free(data);
        if (r != 0) {
                fprintf(stderr, "kl_evidence: %s: %s\n", path, why);
                return 1;
        }
        kl_hex_encode_to(st.pcr10, st.digest_len, hex);
        printf("%s\n", hex);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 3 && strcmp(argv[1], "mb-policy") == 0)
                return uefi(argv[2], 1);
        if (argc == 3 && strcmp(argv[1], "uefi-pcrs") == 0)
                return uefi(argv[2], 0);
        if (argc == 4 && strcmp(argv[1], "mb-check") == 0)
                return mb_check(argv[2], argv[3]);
        if ((argc == 4 || argc == 5) && strcmp(argv[1], "ima-pcr10") == 0)
                return ima(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
        fprintf(stderr,
                "usage: kl_evidence_tool mb-policy LOG | uefi-pcrs LOG | mb-check LOG POLICY |"
                " ima-pcr10 LOG BANK [POLICY]\n");
        return 2;
}
