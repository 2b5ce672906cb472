/* SPDX-License-Identifier: Apache-2.0 */
/*
 * verify_bench: what one verification costs the verifier stub, on one core,
 * without the network or a TPM. bench/run.sh records one real integrity-quote
 * answer of the agent (mask 0x400, partial=0, ima_ml_entry=0) and the AK the
 * registrar holds, then this program checks them N times in a loop with the
 * stub's own code (ver_core, libkl) and prints one "OPERATION MILLISECONDS"
 * line per sample on stdout:
 *
 *   answer_parse     the JSON answer parsed (kl_json_parse_object), as the poller does first
 *   quote_check      ver_check_quote (decode, AK signature, nonce, selection, PCR digest)
 *                    + ver_check_pcr16 (NK binding), the check of every poll without IMA
 *   quote_ima_check  the same + kl_ima_replay of the whole IMA list from entry 0 against the
 *                    runtime policy, ending at the quoted PCR 10
 *   policy_parse     kl_ima_policy_parse of the allowlist (once per run; the stub does it
 *                    when an agent is added, not per quote)
 *
 *   verify_bench [-n N] ANSWER.json AIK.b64 NONCE POLICY.json
 *   verify_bench -g LINES LOG POLICY.json
 *
 * -g writes a synthetic IMA log of LINES ima-ng lines (sha256 file digests,
 * Linux >= 5.8 template data) and an allowlist with one entry per line, and
 * prints the "10:sha1=HEX,sha256=HEX" tpm2_pcrextend specs that make PCR 10
 * of a fresh TPM match the log (the same computation as
 * tests/testbed/ima-log.sh, in C because 10k lines in shell take a minute).
 *
 * A check that fails ends the run with exit 1: the recorded evidence is
 * wrong, and a number over failing checks would mean nothing. Benchmarks, not
 * tests: no thresholds.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "bench_util.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "ima.h"
#include "json.h"
#include "log.h"
#include "quote.h"
#include "tpm_public.h"
#include "verify.h"

#define ANSWER_MAX (256u * 1024u * 1024u)
#define AIK_MAX    (64u * 1024u)
#define POLICY_MAX KL_IMA_POLICY_MAX_LEN
#define ASKED_MASK (1u << VER_IMA_PCR) /* what run.sh asked for: 0x400 */
#define GEN_MAX    10000000ul

static void hex(const uint8_t *b, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 15];
        }
        out[2 * n] = '\0';
}

static void put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/*
 * ima-ng template data (what the kernel hashes): u32le length + "sha256:" NUL
 * digest, then u32le length + name NUL. Returns its length in buf.
 */
static size_t ima_ng_template(const uint8_t digest[32], const char *name, uint8_t *buf,
                              size_t buf_len)
{
        static const char alg[] = "sha256:";
        size_t name_len = strlen(name) + 1;
        size_t n = 4 + sizeof(alg) + 32 + 4 + name_len;

        if (n > buf_len)
                return 0;
        put_le32(buf, (uint32_t)(sizeof(alg) + 32));
        memcpy(buf + 4, alg, sizeof(alg)); /* with its NUL */
        memcpy(buf + 4 + sizeof(alg), digest, 32);
        put_le32(buf + 4 + sizeof(alg) + 32, (uint32_t)name_len);
        memcpy(buf + 8 + sizeof(alg) + 32, name, name_len);
        return n;
}

/* -g: the log, the allowlist and the extend specs (stdout). */
static int generate(unsigned long lines, const char *log_path, const char *policy_path)
{
        FILE *log = NULL, *pol = NULL;
        uint8_t digest[32], tmpl[512], h1[20], h256[32];
        char name[64], dhex[65], h1hex[41], h256hex[65];
        size_t tlen, dlen;
        int r = KL_ERR_IO;

        if ((log = fopen(log_path, "we")) == NULL || (pol = fopen(policy_path, "we")) == NULL) {
                fprintf(stderr, "verify_bench: cannot write %s or %s: %s\n", log_path, policy_path,
                        strerror(errno));
                goto out;
        }
        fprintf(pol,
                "{\"meta\": {\"version\": 1, \"generator\": \"verify_bench\"}, \"digests\": {");
        for (unsigned long i = 1; i <= lines; i++) {
                /* a distinct, reproducible file digest and path per line */
                memset(digest, 0, sizeof(digest));
                put_le32(digest + 28, (uint32_t)i);
                digest[0] = 0xbe;
                snprintf(name, sizeof(name), "/usr/lib/bench/file%lu", i);
                if ((tlen = ima_ng_template(digest, name, tmpl, sizeof(tmpl))) == 0) {
                        r = KL_ERR_INTERNAL;
                        goto out;
                }
                if ((r = kl_digest("sha1", tmpl, tlen, h1, &dlen)) < 0 ||
                    (r = kl_digest("sha256", tmpl, tlen, h256, &dlen)) < 0)
                        goto out;
                hex(digest, 32, dhex);
                hex(h1, 20, h1hex);
                hex(h256, 32, h256hex);
                fprintf(log, "10 %s ima-ng sha256:%s %s\n", h1hex, dhex, name);
                fprintf(pol, "%s\"%s\": [\"%s\"]", i > 1 ? ", " : "", name, dhex);
                printf("10:sha1=%s,sha256=%s\n", h1hex, h256hex);
        }
        fprintf(pol, "}, \"excludes\": []}\n");
        r = 0;
out:
        if (log != NULL && fclose(log) != 0 && r == 0)
                r = KL_ERR_IO;
        if (pol != NULL && fclose(pol) != 0 && r == 0)
                r = KL_ERR_IO;
        return r;
}

static int read_ak(const char *path, struct kl_tpm_public **ret)
{
        char *text = NULL;
        uint8_t *bin = NULL;
        size_t len = 0, bin_len = 0;
        int r;

        if ((r = kl_file_read(path, AIK_MAX, &text, &len)) < 0)
                goto out;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
                len--;
        if ((r = kl_b64_decode(text, len, &bin, &bin_len)) < 0 ||
            (r = kl_tpm_public_parse(bin, bin_len, ret)) < 0)
                goto out;
        r = 0;
out:
        free(text);
        free(bin);
        return r;
}

struct evidence {
        const char *quote, *hash_alg, *pubkey, *ima;
        size_t ima_len;
        const char *nonce;
        const struct kl_tpm_public *ak;
};

/* One poll's checks without IMA; ret_pcrs for the IMA replay. */
static int check_quote(const struct evidence *e, struct kl_pcr_set *ret_pcrs, char *why,
                       size_t why_len)
{
        struct ver_quote_input in = {0};
        struct kl_attest_info info;
        int r;

        in.quote = e->quote;
        in.quote_len = strlen(e->quote);
        in.hash_alg = e->hash_alg;
        in.expected_alg = 0; /* sha256, the stub's default */
        in.nonce = e->nonce;
        in.ak = e->ak;
        in.mask = ASKED_MASK;
        in.prev = NULL; /* the same quote every time: no clock history */
        if ((r = ver_check_quote(&in, ret_pcrs, &info, why, why_len)) < 0)
                return r;
        return ver_check_pcr16(ret_pcrs, e->pubkey, strlen(e->pubkey), why, why_len);
}

static int check_quote_ima(const struct evidence *e, const struct kl_ima_policy *policy, char *why,
                           size_t why_len)
{
        struct kl_pcr_set pcrs;
        struct kl_ima_replay st;
        int r;

        if ((r = check_quote(e, &pcrs, why, why_len)) < 0)
                return r;
        kl_ima_replay_init(&st, pcrs.hash_alg);
        return kl_ima_replay(&st, e->ima, e->ima_len, policy, pcrs.values[VER_IMA_PCR], why,
                             why_len);
}

static int run(unsigned long n, const char *answer_path, const char *aik_path, const char *nonce,
               const char *policy_path)
{
        char *answer = NULL, *policy_text = NULL;
        size_t answer_len = 0, policy_len = 0;
        kl_json *obj = NULL, *res = NULL, *ml = NULL;
        struct kl_tpm_public *ak = NULL;
        struct kl_ima_policy *policy = NULL;
        struct evidence e = {0};
        struct kl_pcr_set pcrs;
        char why[512] = "";
        double t0;
        int r;

        if ((r = kl_file_read(answer_path, ANSWER_MAX, &answer, &answer_len)) < 0 ||
            (r = kl_file_read(policy_path, POLICY_MAX, &policy_text, &policy_len)) < 0) {
                snprintf(why, sizeof(why), "cannot read %s or %s", answer_path, policy_path);
                goto out;
        }
        if ((r = read_ak(aik_path, &ak)) < 0) {
                snprintf(why, sizeof(why), "%s: not a base64 TPM2B_PUBLIC", aik_path);
                goto out;
        }
        t0 = bench_now_ms();
        if ((r = kl_ima_policy_parse(policy_text, policy_len, &policy, why, sizeof(why))) < 0)
                goto out;
        bench_sample("policy_parse", t0);
        if ((r = kl_json_parse_object(answer, answer_len, &obj)) < 0 ||
            (r = kl_json_get_object(obj, "results", &res)) < 0 ||
            (r = kl_json_get_string(res, "quote", &e.quote)) < 0 ||
            (r = kl_json_get_string(res, "hash_alg", &e.hash_alg)) < 0 ||
            (r = kl_json_get_string(res, "pubkey", &e.pubkey)) < 0 ||
            !kl_json_is(ml = kl_json_member(res, "ima_measurement_list"), KL_JSON_STRING)) {
                r = r < 0 ? r : KL_ERR_INVAL;
                snprintf(why, sizeof(why), "%s: not a partial=0 answer with an IMA list",
                         answer_path);
                goto out;
        }
        e.ima = kl_json_string_value(ml);
        e.ima_len = kl_json_string_length(ml);
        e.nonce = nonce;
        e.ak = ak;

        for (unsigned long i = 0; i < n; i++) {
                kl_json *again = NULL;

                t0 = bench_now_ms();
                r = kl_json_parse_object(answer, answer_len, &again);
                bench_sample("answer_parse", t0);
                kl_json_free(again);
                if (r < 0) {
                        snprintf(why, sizeof(why), "answer no longer parses");
                        goto out;
                }
                t0 = bench_now_ms();
                if ((r = check_quote(&e, &pcrs, why, sizeof(why))) < 0)
                        goto out;
                bench_sample("quote_check", t0);
                t0 = bench_now_ms();
                if ((r = check_quote_ima(&e, policy, why, sizeof(why))) < 0)
                        goto out;
                bench_sample("quote_ima_check", t0);
        }
        r = 0;
out:
        if (r < 0)
                fprintf(stderr, "verify_bench: %s (%s)\n", why[0] ? why : "failed", kl_err_str(r));
        kl_json_free(obj);
        kl_ima_policy_free(policy);
        kl_tpm_public_free(ak);
        free(answer);
        free(policy_text);
        return r;
}

int main(int argc, char **argv)
{
        unsigned long n = 100, gen = 0;
        int c;

        while ((c = getopt(argc, argv, "n:g:")) != -1) {
                switch (c) {
                case 'n':
                        if (bench_parse_uint(optarg, 1, 10000000ul, &n) < 0)
                                goto usage;
                        break;
                case 'g':
                        if (bench_parse_uint(optarg, 1, GEN_MAX, &gen) < 0)
                                goto usage;
                        break;
                default:
                        goto usage;
                }
        }
        kl_log_set_level(KL_LOG_WARNING);
        if (gen > 0) {
                if (argc - optind != 2)
                        goto usage;
                return generate(gen, argv[optind], argv[optind + 1]) < 0 ? 1 : 0;
        }
        if (argc - optind != 4)
                goto usage;
        return run(n, argv[optind], argv[optind + 1], argv[optind + 2], argv[optind + 3]) < 0 ? 1
                                                                                              : 0;
usage:
        fprintf(stderr, "usage: verify_bench [-n N] ANSWER.json AIK.b64 NONCE POLICY.json\n"
                        "       verify_bench -g LINES LOG POLICY.json\n");
        return 2;
}
