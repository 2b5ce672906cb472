/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/evidence/ima.c: template hashes and PCR 10 replay on the Keylime vector
 * (expected values computed once with an independent Python script), incremental replay,
 * quoted-PCR matching, runtime policy, violations, every template, malformed lines, speed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hex.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "ima.h"
#include "test_util.h"
#include "uefi_log.h"

#define ALG_SHA1   0x0004
#define ALG_SHA256 0x000B

/* PCR 10 after the whole vector and after its first 400 lines (Python, hashlib). */
#define VEC_SHA1_ALL   "82231c67a69da98dc5b3aa10f6343d33109225fc"
#define VEC_SHA256_ALL "c4a065637fc6a7c55f2811dd06cb45dd037133be2b3dc5c3e6fbe6bf061db724"
#define VEC_SHA1_400   "e608cf02eed24756a432fbfecf78755b98d95a90"
#define VEC_SHA256_400 "043733541f8688fea3932cba10f79aa3301158ac966dabdf10263be017efc1ec"

static char *vec;
static size_t vec_len;

static int load_vector(void **state)
{
        char path[4096];
        const char *dir = getenv("KL_TEST_DATA");

        (void)state;
        snprintf(path, sizeof(path), "%s/ima/ascii_runtime_measurements", dir ? dir : "tests/data");
        return kl_file_read(path, 1 << 20, &vec, &vec_len) == 0 ? 0 : -1;
}

static int free_vector(void **state)
{
        (void)state;
        free(vec);
        return 0;
}

/* Offset of 0-based line n in vec. */
static size_t line_offset(size_t n)
{
        size_t off = 0;

        while (n-- > 0)
                off = (size_t)((char *)memchr(vec + off, '\n', vec_len - off) - vec) + 1;
        return off;
}

static void put32(uint8_t *p, size_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/*
 * Writes one ASCII line for template tmpl ("ima-ng", "ima-sig", "ima-buf", "ima") with a
 * correct template hash; extra is the sig/buf hex or NULL. Returns the template data's
 * SHA-256 in *ret_sha256 (what the sha256 bank gets).
 */
static void make_line(char *out, size_t out_len, const char *tmpl, const char *alg,
                      const char *dhex, const char *name, const char *extra, uint8_t *ret_sha256)
{
        uint8_t td[2048], d[64], h[64];
        size_t o = 0, dl = strlen(dhex) / 2, nl = strlen(name), hl = 0, i;
        char thex[41];

        for (i = 0; i < dl; i++)
                sscanf(dhex + 2 * i, "%2hhx", &d[i]);
        if (strcmp(tmpl, "ima") == 0) {
                memcpy(td, d, dl);
                memset(td + dl, 0, 256);
                memcpy(td + dl, name, nl);
                o = dl + 256;
        } else {
                put32(td, strlen(alg) + 2 + dl);
                o = 4;
                memcpy(td + o, alg, strlen(alg));
                o += strlen(alg);
                td[o++] = ':';
                td[o++] = 0;
                memcpy(td + o, d, dl);
                o += dl;
                put32(td + o, nl + 1);
                o += 4;
                memcpy(td + o, name, nl + 1);
                o += nl + 1;
                if (strcmp(tmpl, "ima-ng") != 0) {
                        size_t el = extra ? strlen(extra) / 2 : 0;

                        put32(td + o, el);
                        o += 4;
                        for (i = 0; i < el; i++)
                                sscanf(extra + 2 * i, "%2hhx", &td[o++]);
                }
        }
        assert_int_equal(kl_digest("sha1", td, o, h, &hl), 0);
        kl_hex_encode_to(h, 20, thex);
        if (ret_sha256 != NULL)
                assert_int_equal(kl_digest("sha256", td, o, ret_sha256, &hl), 0);
        if (strcmp(tmpl, "ima") == 0)
                snprintf(out, out_len, "10 %s ima %s %s\n", thex, dhex, name);
        else
                snprintf(out, out_len, "10 %s %s %s:%s %s%s%s\n", thex, tmpl, alg, dhex, name,
                         extra ? " " : "", extra ? extra : "");
}

static void test_ima_replay_vector_sha1_and_sha256(void **state)
{
        struct kl_ima_replay st;
        char why[256];

        (void)state;
        kl_ima_replay_init(&st, ALG_SHA1);
        assert_int_equal(st.digest_len, 20);
        /* NULL policy: succeeding means every template hash recomputed */
        assert_int_equal(kl_ima_replay(&st, vec, vec_len, NULL, NULL, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 826);
        kl_test_hex_eq(st.pcr10, 20, VEC_SHA1_ALL);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, vec, vec_len, NULL, NULL, why, sizeof(why)), 0);
        kl_test_hex_eq(st.pcr10, 32, VEC_SHA256_ALL);
}

static void test_ima_replay_chunks_equal_whole(void **state)
{
        struct kl_ima_replay st, whole, saved;
        size_t off = line_offset(400);
        uint8_t bad[32];
        char why[256];

        (void)state;
        kl_ima_replay_init(&whole, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&whole, vec, vec_len, NULL, NULL, why, sizeof(why)), 0);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, vec, off, NULL, NULL, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 400);
        kl_test_hex_eq(st.pcr10, 32, VEC_SHA256_400);
        saved = st;
        /* the second poll gets the list from ima_ml_entry = 400 and the quoted PCR */
        memcpy(bad, whole.pcr10, 32);
        bad[7] ^= 1;
        assert_int_equal(kl_ima_replay(&st, vec + off, vec_len - off, NULL, bad, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "does not match"));
        assert_memory_equal(&st, &saved, sizeof(st)); /* unchanged on failure */
        assert_int_equal(
            kl_ima_replay(&st, vec + off, vec_len - off, NULL, whole.pcr10, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 826);
        assert_memory_equal(st.pcr10, whole.pcr10, 32);
        /* nothing new: the start state must match */
        assert_int_equal(kl_ima_replay(&st, "", 0, NULL, whole.pcr10, why, sizeof(why)), 0);
        assert_int_equal(kl_ima_replay(&st, "", 0, NULL, bad, why, sizeof(why)), KL_ERR_VERIFY);
}

static void test_ima_replay_trailing_lines_after_quote(void **state)
{
        struct kl_ima_replay st, at400;
        char why[256];
        uint8_t pcr[20];

        (void)state;
        kl_ima_replay_init(&at400, ALG_SHA1);
        assert_int_equal(kl_ima_replay(&at400, vec, line_offset(400), NULL, NULL, why, sizeof(why)),
                         0);
        memcpy(pcr, at400.pcr10, 20);
        /* the agent quoted at line 400 and then read 426 more lines */
        kl_ima_replay_init(&st, ALG_SHA1);
        assert_int_equal(kl_ima_replay(&st, vec, vec_len, NULL, pcr, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 826);
        kl_test_hex_eq(st.pcr10, 20, VEC_SHA1_ALL);
        /* a trailing partial line is neither consumed nor counted */
        kl_ima_replay_init(&st, ALG_SHA1);
        assert_int_equal(
            kl_ima_replay(&st, vec, line_offset(400) + 30, NULL, pcr, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 400);
}

static void test_ima_replay_tampered_line(void **state)
{
        struct kl_ima_replay st;
        char *copy = malloc(vec_len), why[256];
        size_t off = line_offset(11); /* line 12, 1-based */
        char *digest;

        (void)state;
        assert_non_null(copy);
        memcpy(copy, vec, vec_len);
        digest = strstr(copy + off, "sha1:") + 5;
        *digest = *digest == 'a' ? 'b' : 'a';
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, copy, vec_len, NULL, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_string_equal(why, "line 12: template hash mismatch");
        assert_int_equal(st.entries, 0);
        free(copy);
}

static void test_ima_policy_pass_fail_exclude(void **state)
{
        const char *d1 = "1111111111111111111111111111111111111111111111111111111111111111";
        const char *d2 = "2222222222222222222222222222222222222222222222222222222222222222";
        struct kl_ima_policy *p = NULL;
        struct kl_ima_replay st;
        char l1[512], l2[512], l3[512], text[4096], why[512], policy[1024];

        (void)state;
        make_line(l1, sizeof(l1), "ima-ng", "sha256", d1, "/usr/bin/foo", NULL, NULL);
        make_line(l2, sizeof(l2), "ima-ng", "sha256", d2, "/tmp/scratch/x", NULL, NULL);
        make_line(l3, sizeof(l3), "ima-ng", "sha256", d2, "/usr/bin/foo", NULL, NULL);
        snprintf(policy, sizeof(policy),
                 "{\"meta\": {\"version\": 1}, \"digests\": {\"/usr/bin/foo\": [\"%s\", \"%s\"]},"
                 " \"excludes\": [\"/tmp/.*\"], \"keyrings\": {}}",
                 "abcd", d1);
        assert_int_equal(kl_ima_policy_parse(policy, strlen(policy), &p, why, sizeof(why)), 0);
        snprintf(text, sizeof(text), "%s%s", l1, l2);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, text, strlen(text), p, NULL, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 2);
        /* right path, wrong digest */
        assert_int_equal(kl_ima_replay(&st, l3, strlen(l3), p, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "line 3: /usr/bin/foo: digest sha256:2222"));
        assert_non_null(strstr(why, "not in allowlist"));
        assert_int_equal(st.entries, 2);
        kl_ima_policy_free(p);
        /* excludes are anchored at the start, like Keylime's re.match */
        p = NULL;
        snprintf(policy, sizeof(policy), "{\"excludes\": [\"scratch\"]}");
        assert_int_equal(kl_ima_policy_parse(policy, strlen(policy), &p, why, sizeof(why)), 0);
        assert_int_equal(kl_ima_replay(&st, l2, strlen(l2), p, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        kl_ima_policy_free(p);
        kl_ima_policy_free(NULL);
}

/* A boot_aggregate line replays against a policy only with a digest it or the boot log allows. */
static void test_ima_boot_aggregate_checked(void **state)
{
        struct kl_uefi_pcrs *boot = calloc(1, sizeof(*boot));
        struct kl_ima_policy *p = NULL;
        struct kl_ima_replay st;
        uint8_t d[32];
        char good10[65], good8[65], sha1_8[41], line[512], why[512], policy[256];
        const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
        size_t dl = 0, i;

        (void)state;
        assert_non_null(boot);
        for (i = 0; i < 10; i++) {
                memset(boot->sha256[i], (int)(0x10 + i), 32);
                memset(boot->sha1[i], (int)(0x40 + i), 20);
        }
        /* what the kernel logs: H(PCR 0 || ... || PCR 9) of the sha256 bank (Linux >= 5.8) */
        assert_int_equal(kl_digest("sha256", boot->sha256, 10 * 32, d, &dl), 0);
        kl_hex_encode_to(d, 32, good10);
        assert_int_equal(kl_digest("sha256", boot->sha256, 8 * 32, d, &dl), 0);
        kl_hex_encode_to(d, 32, good8);
        assert_int_equal(kl_digest("sha1", boot->sha1, 8 * 20, d, &dl), 0);
        kl_hex_encode_to(d, 20, sha1_8);
        assert_int_equal(kl_ima_policy_parse("{\"digests\": {}}", 15, &p, why, sizeof(why)), 0);

        /* no boot log and not in the policy: any digest is refused (it was accepted before) */
        make_line(line, sizeof(line), "ima-ng", "sha256", good10, "boot_aggregate", NULL, NULL);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "line 1: boot_aggregate: digest sha256:"));
        /* the boot log's PCRs 0-9 give the right value: accepted */
        assert_int_equal(kl_ima_policy_set_boot_aggregates(p, boot), 0);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)), 0);
        /* PCRs 0-7 (older kernels) and the sha1 bank over PCRs 0-7 too */
        make_line(line, sizeof(line), "ima-ng", "sha256", good8, "boot_aggregate", NULL, NULL);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)), 0);
        make_line(line, sizeof(line), "ima", "sha1", sha1_8, "boot_aggregate", NULL, NULL);
        kl_ima_replay_init(&st, ALG_SHA1);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)), 0);
        /* a wrong boot_aggregate (all zeros: the TPM was not used at boot) is refused */
        make_line(line, sizeof(line), "ima-ng", "sha256", wrong, "boot_aggregate", NULL, NULL);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "boot_aggregate: digest sha256:0000"));
        assert_int_equal(st.entries, 0);
        /* the next quote's log has another boot: the old values no longer count */
        boot->sha256[3][0] ^= 1;
        assert_int_equal(kl_ima_policy_set_boot_aggregates(p, boot), 0);
        make_line(line, sizeof(line), "ima-ng", "sha256", good10, "boot_aggregate", NULL, NULL);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_int_equal(kl_ima_policy_set_boot_aggregates(p, NULL), 0);
        kl_ima_policy_free(p);

        /* a policy that lists the value accepts it without a boot log, as upstream does */
        snprintf(policy, sizeof(policy), "{\"digests\": {\"boot_aggregate\": [\"%s\"]}}", good10);
        assert_int_equal(kl_ima_policy_parse(policy, strlen(policy), &p, why, sizeof(why)), 0);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), p, NULL, why, sizeof(why)), 0);
        /* a NULL policy still accepts everything (tools only) */
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), NULL, NULL, why, sizeof(why)), 0);
        assert_int_equal(kl_ima_policy_set_boot_aggregates(NULL, boot), KL_ERR_INVAL);
        kl_ima_policy_free(p);
        free(boot);
}

static void test_ima_policy_parse_errors(void **state)
{
        static const char *bad[] = {
            "[]",
            "{\"digests\": []}",
            "{\"digests\": {\"/a\": \"00\"}}",
            "{\"digests\": {\"/a\": [\"0g\"]}}",
            "{\"digests\": {\"/a\": [\"abc\"]}}",
            "{\"digests\": {\"/a\": [1]}}",
            "{\"excludes\": \"x\"}",
            "{\"excludes\": [\"(\"]}",
            "{\"excludes\": [2]}",
            "{\"digests\": {}",
        };
        struct kl_ima_policy *p = NULL;
        char why[256];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_int_not_equal(
                    kl_ima_policy_parse(bad[i], strlen(bad[i]), &p, why, sizeof(why)), 0);
                assert_null(p);
                assert_true(why[0] != '\0');
        }
        assert_int_equal(kl_ima_policy_parse("{}", 2, &p, why, sizeof(why)), 0);
        kl_ima_policy_free(p);
}

/* Regexes whose compiled form grows exponentially in glibc are refused up front. */
static void test_ima_policy_excludes_untamed_regex(void **state)
{
        static const char *bad[] = {
            "{\"excludes\": [\".+++++++++++++++++++++++++++++++*\"]}",
            "{\"excludes\": [\"a**\"]}",
            "{\"excludes\": [\"a{1000}\"]}",
            "{\"excludes\": [\"(ab){3}\"]}",
            "{\"excludes\": [\"((((a)+)+)+)+\"]}",
        };
        static const char *good[] = {
            "{\"excludes\": [\"/tmp/.*\", \"/var/log/[a-z]+\\\\.log\", \"x{2,3}\"]}",
            "{\"excludes\": [\"[+*]+\", \"a\\\\++\", \"(/usr)?/lib/(x|y)*\"]}",
        };
        struct kl_ima_policy *p = NULL;
        char why[256];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(
                    kl_ima_policy_parse(bad[i], strlen(bad[i]), &p, why, sizeof(why)),
                    KL_ERR_INVAL);
                assert_non_null(strstr(why, "not supported"));
        }
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                assert_int_equal(
                    kl_ima_policy_parse(good[i], strlen(good[i]), &p, why, sizeof(why)), 0);
                kl_ima_policy_free(p);
                p = NULL;
        }
}

static void test_ima_violation_extends_ff(void **state)
{
        const char *zeros64 = "0000000000000000000000000000000000000000000000000000000000000000";
        struct kl_ima_replay st;
        uint8_t buf[64], want[32];
        size_t hl = 0;
        char line[256], why[256];

        (void)state;
        snprintf(line, sizeof(line), "10 %.40s ima-ng sha256:%s /var/log/messages\n", zeros64,
                 zeros64);
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), NULL, NULL, why, sizeof(why)), 0);
        memset(buf, 0, 32);
        memset(buf + 32, 0xff, 32);
        assert_int_equal(kl_digest("sha256", buf, 64, want, &hl), 0);
        assert_memory_equal(st.pcr10, want, 32);
        kl_ima_replay_init(&st, ALG_SHA1);
        assert_int_equal(kl_ima_replay(&st, line, strlen(line), NULL, NULL, why, sizeof(why)), 0);
        memset(buf, 0, 20);
        memset(buf + 20, 0xff, 20);
        assert_int_equal(kl_digest("sha1", buf, 40, want, &hl), 0);
        assert_memory_equal(st.pcr10, want, 20);
}

static void test_ima_templates_sig_buf_ima(void **state)
{
        const char *d = "abababababababababababababababababababababababababababababababab";
        char lines[4][512], text[4096], why[256];
        uint8_t vals[4][32], pcr[32] = {0}, buf[64];
        struct kl_ima_replay st;
        size_t hl = 0;
        int i;

        (void)state;
        make_line(lines[0], 512, "ima-sig", "sha256", d, "/usr/bin/signed",
                  "030204aabbccdd0102030405", vals[0]);
        make_line(lines[1], 512, "ima-sig", "sha256", d, "/usr/bin/unsigned", NULL, vals[1]);
        make_line(lines[2], 512, "ima-buf", "sha256", d, "kexec-cmdline",
                  "726f6f743d2f6465762f736461", vals[2]);
        make_line(lines[3], 512, "ima", NULL, "0123456789abcdef0123456789abcdef01234567",
                  "/sbin/init", NULL, vals[3]);
        snprintf(text, sizeof(text), "%s%s%s%s", lines[0], lines[1], lines[2], lines[3]);
        for (i = 0; i < 4; i++) {
                memcpy(buf, pcr, 32);
                memcpy(buf + 32, vals[i], 32);
                assert_int_equal(kl_digest("sha256", buf, 64, pcr, &hl), 0);
        }
        kl_ima_replay_init(&st, ALG_SHA256);
        assert_int_equal(kl_ima_replay(&st, text, strlen(text), NULL, pcr, why, sizeof(why)), 0);
        assert_int_equal(st.entries, 4);
        assert_memory_equal(st.pcr10, pcr, 32);
}

static void test_ima_malformed_lines(void **state)
{
        static const char *bad[] = {
            "11 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng sha1:00 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e26 ima-ng sha1:00 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e2zz ima-ng sha1:00 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-xx sha1:00 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng sha1:0 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng :00 boot_aggregate\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng sha1:00\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima 00 x\n",
            "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-buf sha1:00 name\n",
            "\n",
            "10\n",
        };
        struct kl_ima_replay st;
        char text[512], why[256];
        size_t i, first = line_offset(1);

        (void)state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                /* a good first line, so the bad one is line 2 */
                assert_true(first + strlen(bad[i]) < sizeof(text));
                memcpy(text, vec, first);
                memcpy(text + first, bad[i], strlen(bad[i]));
                kl_ima_replay_init(&st, ALG_SHA1);
                assert_int_equal(
                    kl_ima_replay(&st, text, first + strlen(bad[i]), NULL, NULL, why, sizeof(why)),
                    KL_ERR_INVAL);
                assert_true(strncmp(why, "line 2:", 7) == 0);
                assert_int_equal(st.entries, 0);
        }
        kl_ima_replay_init(&st, ALG_SHA256);
        st.digest_len = 20; /* not a state kl_ima_replay_init made for sha256 */
        assert_int_equal(kl_ima_replay(&st, vec, vec_len, NULL, NULL, why, sizeof(why)),
                         KL_ERR_INVAL);
        kl_ima_replay_init(&st, 0x0012);
        assert_int_equal(kl_ima_replay(&st, vec, vec_len, NULL, NULL, why, sizeof(why)),
                         KL_ERR_INVAL);
}

/* 10k lines checked against a 10k-path allowlist: the lookup must not be a linear scan. */
static void test_ima_replay_speed_10k(void **state)
{
        enum { N = 10000 };
        char *text = malloc(N * 160), *policy = malloc(N * 120 + 64), dhex[65], name[64];
        size_t tl = 0, pl = 0;
        struct kl_ima_policy *p = NULL;
        struct kl_ima_replay st;
        struct timespec t0, t1;
        char why[256];
        double secs;
        int i;

        (void)state;
        assert_non_null(text);
        assert_non_null(policy);
        pl += (size_t)snprintf(policy, 64, "{\"digests\": {");
        for (i = 0; i < N; i++) {
                snprintf(dhex, sizeof(dhex), "%064x", i * 7919 + 1);
                snprintf(name, sizeof(name), "/usr/lib/file%05d.so", i);
                make_line(text + tl, 160, "ima-ng", "sha256", dhex, name, NULL, NULL);
                tl += strlen(text + tl);
                pl += (size_t)snprintf(policy + pl, 120, "%s\"%s\": [\"%s\"]", i ? ", " : "", name,
                                       dhex);
        }
        pl += (size_t)snprintf(policy + pl, 64, "}}");
        assert_int_equal(kl_ima_policy_parse(policy, pl, &p, why, sizeof(why)), 0);
        kl_ima_replay_init(&st, ALG_SHA256);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(kl_ima_replay(&st, text, tl, p, NULL, why, sizeof(why)), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("# ima replay: %d lines, %d-path allowlist, sha256 bank: %.3f s (%.0f entries/s)\n",
               N, N, secs, N / secs);
        assert_int_equal(st.entries, N);
        /* ~0.04 s on the dev VM (~3 s under valgrind); the bound leaves room for both */
        assert_true(secs < 10.0);
        kl_ima_policy_free(p);
        free(text);
        free(policy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ima_replay_vector_sha1_and_sha256),
            cmocka_unit_test(test_ima_replay_chunks_equal_whole),
            cmocka_unit_test(test_ima_replay_trailing_lines_after_quote),
            cmocka_unit_test(test_ima_replay_tampered_line),
            cmocka_unit_test(test_ima_policy_pass_fail_exclude),
            cmocka_unit_test(test_ima_boot_aggregate_checked),
            cmocka_unit_test(test_ima_policy_parse_errors),
            cmocka_unit_test(test_ima_policy_excludes_untamed_regex),
            cmocka_unit_test(test_ima_violation_extends_ff),
            cmocka_unit_test(test_ima_templates_sig_buf_ima),
            cmocka_unit_test(test_ima_malformed_lines),
            cmocka_unit_test(test_ima_replay_speed_10k),
        };

        return cmocka_run_group_tests(tests, load_vector, free_vector);
}
