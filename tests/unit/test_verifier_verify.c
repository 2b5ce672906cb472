/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for verifier-stub/verify.c on recorded data: the Keylime
 * checkquote vector (tests/data/quote) must pass, and its negative cases
 * (other nonce, other hash, flipped attestation or signature, other
 * selection) must fail with a reason; clock rules; PCR 16 binding; PCR
 * policy strings and JSON; the add-agent request.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "add_request.h"
#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "quote.h"
#include "test_util.h"
#include "tpm_public.h"
#include "uefi_log.h"
#include "verify.h"

struct vec {
        kl_json *obj;
        const char *nonce, *quote, *pem;
        struct kl_tpm_public *ak;
};

static int vec_setup(void **state)
{
        struct vec *v = calloc(1, sizeof(*v));
        size_t len = 0;
        char *text = kl_test_data_file("quote/checkquote-vector.json", &len);

        assert_non_null(v);
        assert_int_equal(kl_json_parse_object(text, len, &v->obj), 0);
        free(text);
        assert_int_equal(kl_json_get_string(v->obj, "nonce", &v->nonce), 0);
        assert_int_equal(kl_json_get_string(v->obj, "quote_string", &v->quote), 0);
        assert_int_equal(kl_json_get_string(v->obj, "aik_public_pem", &v->pem), 0);
        v->ak = kl_test_ak_from_pem(v->pem);
        *state = v;
        return 0;
}

static int vec_teardown(void **state)
{
        struct vec *v = *state;

        kl_tpm_public_free(v->ak);
        kl_json_free(v->obj);
        free(v);
        return 0;
}

static struct ver_quote_input vec_input(const struct vec *v)
{
        struct ver_quote_input in = {
            .quote = v->quote,
            .quote_len = strlen(v->quote),
            .hash_alg = "sha256",
            .nonce = v->nonce,
            .ak = v->ak,
            .mask = 0,
        };
        return in;
}

static void test_check_quote_vector_passes(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        char why[256] = "";
        struct timespec t0, t1;
        long us;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < 100; i++)
                assert_int_equal(ver_check_quote(&in, &pcrs, &info, why, sizeof(why)), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        us = ((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000L) / 100;
        print_message("ver_check_quote: %ld us per quote (RSA-2048 AK)\n", us);
        assert_int_equal(pcrs.mask, 1u << 16);
        assert_true(info.safe);
}

static void expect_fail(struct ver_quote_input *in, int code, const char *needle)
{
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        char why[256] = "";

        assert_int_equal(ver_check_quote(in, &pcrs, &info, why, sizeof(why)), code);
        if (strstr(why, needle) == NULL)
                fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void test_check_quote_wrong_nonce_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);
        char other[64];

        snprintf(other, sizeof(other), "%s", v->nonce);
        other[0] = other[0] == 'a' ? 'b' : 'a';
        in.nonce = other;
        expect_fail(&in, KL_ERR_VERIFY, "nonce");
        in.nonce = "Ai5M5SjYjnkyv4P7itH"; /* a prefix is not the nonce */
        expect_fail(&in, KL_ERR_VERIFY, "nonce");
        in.nonce = "";
        expect_fail(&in, KL_ERR_VERIFY, "nonce");
}

static void test_check_quote_wrong_hash_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);

        in.hash_alg = "sha1"; /* refused by the accept list, and not what was quoted */
        expect_fail(&in, KL_ERR_VERIFY, "hash_alg");
        in.hash_alg = "sha384";
        in.expected_alg = 0x000c;
        expect_fail(&in, KL_ERR_VERIFY, "signature");
        in = vec_input(v);
        in.hash_alg = "md5";
        expect_fail(&in, KL_ERR_VERIFY, "hash_alg");
}

/* upstream negatives: a flipped bit in the attestation or the signature */
static void test_check_quote_tampered_fails_signature(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);
        struct kl_quote q = {0};
        char *s = NULL;

        assert_int_equal(kl_quote_decode(v->quote, strlen(v->quote), &q), 0);
        q.attest[5] ^= 1;
        assert_int_equal(kl_quote_encode(q.attest, q.attest_len, q.sig, q.sig_len, &q.pcrs, &s), 0);
        in.quote = s;
        in.quote_len = strlen(s);
        expect_fail(&in, KL_ERR_VERIFY, "signature");
        free(s);
        q.attest[5] ^= 1;
        q.sig[q.sig_len - 1] ^= 0x80;
        assert_int_equal(kl_quote_encode(q.attest, q.attest_len, q.sig, q.sig_len, &q.pcrs, &s), 0);
        in.quote = s;
        in.quote_len = strlen(s);
        expect_fail(&in, KL_ERR_VERIFY, "signature");
        free(s);
        kl_quote_clear(&q);
}

/* A different PCR value in the blob no longer hashes to the signed pcrDigest. */
static void test_check_quote_pcr_digest_mismatch_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);
        struct kl_quote q = {0};
        char *s = NULL;

        assert_int_equal(kl_quote_decode(v->quote, strlen(v->quote), &q), 0);
        q.pcrs.values[16][0] ^= 1;
        assert_int_equal(kl_quote_encode(q.attest, q.attest_len, q.sig, q.sig_len, &q.pcrs, &s), 0);
        in.quote = s;
        in.quote_len = strlen(s);
        expect_fail(&in, KL_ERR_VERIFY, "pcrDigest");
        free(s);
        kl_quote_clear(&q);
}

static void test_check_quote_selection_mismatch_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);

        in.mask = 1u << 23; /* asked for PCR 23, the quote has 16 only */
        expect_fail(&in, KL_ERR_VERIFY, "selection");
}

static void test_check_quote_malformed_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);

        in.quote_len = strlen(v->quote) - 1;
        expect_fail(&in, KL_ERR_INVAL, "malformed");
        in.quote = "r::";
        in.quote_len = 3;
        expect_fail(&in, KL_ERR_INVAL, "malformed");
}

static void test_check_quote_clock_goes_back_fails(void **state)
{
        struct vec *v = *state;
        struct ver_quote_input in = vec_input(v);
        struct kl_pcr_set pcrs;
        struct kl_attest_info info;
        struct ver_clock prev = {0};
        char why[256];

        assert_int_equal(ver_check_quote(&in, &pcrs, &info, why, sizeof(why)), 0);
        prev.valid = true;
        prev.clock = info.clock;
        prev.reset_count = info.reset_count;
        prev.restart_count = info.restart_count;
        in.prev = &prev;
        expect_fail(&in, KL_ERR_VERIFY, "clock did not advance"); /* a replayed quote */
        prev.clock = info.clock - 1;
        assert_int_equal(ver_check_quote(&in, &pcrs, &info, why, sizeof(why)), 0);
}

static void test_check_clock_rules(void **state)
{
        struct kl_attest_info cur = {
            .clock = 100, .reset_count = 3, .restart_count = 2, .safe = true};
        struct ver_clock prev = {.valid = true, .clock = 50, .reset_count = 3, .restart_count = 2};
        char why[128];

        (void)state;
        assert_int_equal(ver_check_clock(NULL, &cur, why, sizeof(why)), 0);
        assert_int_equal(ver_check_clock(&prev, &cur, why, sizeof(why)), 0);
        prev.clock = 100;
        assert_int_equal(ver_check_clock(&prev, &cur, why, sizeof(why)), KL_ERR_VERIFY);
        prev.clock = 500; /* a reboot: counters grew, the clock may be lower */
        cur.restart_count = 3;
        assert_int_equal(ver_check_clock(&prev, &cur, why, sizeof(why)), 0);
        cur.restart_count = 1;
        cur.reset_count = 4;
        assert_int_equal(ver_check_clock(&prev, &cur, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "restartCount"));
        cur.restart_count = 2;
        cur.reset_count = 2;
        assert_int_equal(ver_check_clock(&prev, &cur, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "resetCount"));
        cur.reset_count = 3;
        cur.clock = 1000;
        cur.safe = false;
        assert_int_equal(ver_check_clock(NULL, &cur, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "safe"));
}

static void test_check_pcr16_binding(void **state)
{
        static const char pem[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        struct kl_pcr_set pcrs = {.hash_alg = 0x000b, .digest_len = 32, .mask = 1u << 16};
        uint8_t buf[64] = {0};
        size_t n = 0;
        char why[128];

        (void)state;
        assert_int_equal(kl_digest("sha256", pem, strlen(pem), buf + 32, &n), 0);
        assert_int_equal(kl_digest("sha256", buf, 64, pcrs.values[16], &n), 0);
        assert_int_equal(ver_check_pcr16(&pcrs, pem, strlen(pem), why, sizeof(why)), 0);
        assert_int_equal(ver_check_pcr16(&pcrs, pem, strlen(pem) - 1, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_int_equal(ver_check_pcr16(&pcrs, NULL, 0, why, sizeof(why)), KL_ERR_VERIFY);
        pcrs.mask = 1u << 10;
        assert_int_equal(ver_check_pcr16(&pcrs, pem, strlen(pem), why, sizeof(why)), KL_ERR_VERIFY);
}

static void test_pcr_spec_add_rules(void **state)
{
        struct ver_tpm_policy p;
        char spec[200];
        char why[256];

        (void)state;
        memset(&p, 0, sizeof(p));
        snprintf(spec, sizeof(spec), "sha256:23:%064d", 0);
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), 0);
        snprintf(spec, sizeof(spec), "sha256:23:0x%064d", 1);
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), 0);
        assert_int_equal(p.mask, 1u << 23);
        assert_int_equal(p.n_allowed[23], 2);
        assert_int_equal(p.hash_alg, 0x000b);
        snprintf(spec, sizeof(spec), "sha1:22:%040d", 0); /* another bank */
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), KL_ERR_INVAL);
        snprintf(spec, sizeof(spec), "sha256:16:%064d", 0); /* the data PCR */
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), KL_ERR_INVAL);
        snprintf(spec, sizeof(spec), "sha256:24:%064d", 0);
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), KL_ERR_INVAL);
        snprintf(spec, sizeof(spec), "sha256:7:%062d", 0); /* short */
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), KL_ERR_INVAL);
        assert_int_equal(ver_pcr_spec_add(&p, "sha256:7", why, sizeof(why)), KL_ERR_INVAL);
        assert_int_equal(ver_pcr_spec_add(&p, "md5:7:00", why, sizeof(why)), KL_ERR_INVAL);
        assert_int_equal(ver_pcr_spec_add(&p, "sha256:-1:00", why, sizeof(why)), KL_ERR_INVAL);
        assert_int_equal(ver_pcr_spec_add(&p, "", why, sizeof(why)), KL_ERR_INVAL);
        assert_int_equal(p.mask, 1u << 23);
}

static void test_tpm_policy_check_and_json_roundtrip(void **state)
{
        struct ver_tpm_policy p, again;
        struct kl_pcr_set pcrs = {.hash_alg = 0x000b, .digest_len = 32};
        kl_json *j = NULL;
        char spec[200];
        char why[256];

        (void)state;
        memset(&p, 0, sizeof(p));
        snprintf(spec, sizeof(spec), "sha256:23:%064d", 0);
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), 0);
        snprintf(spec, sizeof(spec), "sha256:7:%064d", 7);
        assert_int_equal(ver_pcr_spec_add(&p, spec, why, sizeof(why)), 0);
        assert_int_equal(ver_quote_mask(&p, true, false), (1u << 23) | (1u << 7) | (1u << 10));
        assert_int_equal(ver_quote_mask(&p, false, true), (1u << 23) | 0xff);

        pcrs.mask = (1u << 23) | (1u << 16);
        assert_int_equal(ver_check_tpm_policy(&p, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "PCR 7 is in the policy but missing"));
        pcrs.mask |= 1u << 7;
        pcrs.values[7][31] = 0x07;
        assert_int_equal(ver_check_tpm_policy(&p, &pcrs, why, sizeof(why)), 0);
        pcrs.values[23][0] = 1;
        assert_int_equal(ver_check_tpm_policy(&p, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "PCR 23 (sha256) is 01"));
        pcrs.hash_alg = 0x0004;
        assert_int_equal(ver_check_tpm_policy(&p, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);

        assert_int_equal(ver_tpm_policy_to_json(&p, &j), 0);
        assert_int_equal(ver_tpm_policy_from_json(j, &again, why, sizeof(why)), 0);
        assert_memory_equal(&p, &again, sizeof(p));
        kl_json_free(j);
}

static void test_add_request_parse(void **state)
{
        struct ver_add_request r = {0};
        char why[256];
        char body[512];

        (void)state;
        snprintf(body, sizeof(body),
                 "{\"ip\":\"127.0.0.1\",\"port\":\"9002\",\"tpm_policy\":{\"23\":\"%064d\"}}", 0);
        assert_int_equal(ver_add_request_parse(body, strlen(body), &r, why, sizeof(why)), 0);
        assert_string_equal(r.ip, "127.0.0.1");
        assert_int_equal(r.port, 9002);
        assert_int_equal(r.tpm_policy.mask, 1u << 23);
        assert_null(r.ima_policy);
        ver_add_request_clear(&r);
        /* upstream sends tpm_policy as JSON text */
        snprintf(body, sizeof(body), "{\"tpm_policy\":\"{\\\"23\\\":[\\\"%064d\\\"]}\"}", 0);
        assert_int_equal(ver_add_request_parse(body, strlen(body), &r, why, sizeof(why)), 0);
        assert_int_equal(r.port, -1);
        assert_int_equal(r.tpm_policy.mask, 1u << 23);
        ver_add_request_clear(&r);
        assert_int_equal(ver_add_request_parse("{}", 2, &r, why, sizeof(why)), 0);
        assert_int_equal(r.tpm_policy.hash_alg, 0x000b);
        ver_add_request_clear(&r);

        static const char *const bad[] = {
            "",
            "[]",
            "{",
            "{\"port\":0}",
            "{\"port\":70000}",
            "{\"port\":\"x\"}",
            "{\"ip\":\"a b\"}",
            "{\"ip\":7}",
            "{\"tpm_policy\":{\"99\":\"00\"}}",
            "{\"tpm_policy\":{\"23\":\"00\"}}",
            "{\"tpm_policy\":[1]}",
            "{\"tpm_policy\":\"{\"}",
            "{\"tpm_policy\":{\"23\":[]}}",
            "{\"ima_policy\":{\"digests\":7}}",
            "{\"mb_policy\":{\"sha256\":{\"99\":\"00\"}}}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                if (ver_add_request_parse(bad[i], strlen(bad[i]), &r, why, sizeof(why)) !=
                    KL_ERR_INVAL)
                        fail_msg("accepted: %s", bad[i]);
                assert_true(why[0] != '\0');
        }
}

static void test_mb_replay_compare(void **state)
{
        struct kl_uefi_pcrs rep;
        struct kl_pcr_set pcrs = {.hash_alg = 0x000b, .digest_len = 32};
        char why[256];

        (void)state;
        memset(&rep, 0, sizeof(rep));
        rep.mask = 0x3; /* the log extended PCRs 0 and 1 */
        rep.sha256[0][0] = 0xaa;
        rep.sha256[1][0] = 0xbb;
        pcrs.mask = 0x1 | (1u << 16); /* PCR 1 not quoted: not compared */
        pcrs.values[0][0] = 0xaa;
        assert_int_equal(ver_check_mb_replay(&rep, &pcrs, why, sizeof(why)), 0);
        pcrs.mask |= 0x2;
        assert_int_equal(ver_check_mb_replay(&rep, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "PCR 1"));
        pcrs.values[1][0] = 0xbb;
        assert_int_equal(ver_check_mb_replay(&rep, &pcrs, why, sizeof(why)), 0);
        pcrs.hash_alg = 0x000c;
        assert_int_equal(ver_check_mb_replay(&rep, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
}

static void test_nonce_generate_alphanumeric(void **state)
{
        char a[VER_NONCE_LEN + 1];
        char b[VER_NONCE_LEN + 1];

        (void)state;
        assert_int_equal(kl_nonce_generate(a, VER_NONCE_LEN), 0);
        assert_int_equal(kl_nonce_generate(b, VER_NONCE_LEN), 0);
        assert_int_equal(strlen(a), VER_NONCE_LEN);
        assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789"),
                         VER_NONCE_LEN);
        assert_string_not_equal(a, b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_check_quote_vector_passes, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_wrong_nonce_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_wrong_hash_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_tampered_fails_signature, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_pcr_digest_mismatch_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_selection_mismatch_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_malformed_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test_setup_teardown(test_check_quote_clock_goes_back_fails, vec_setup,
                                            vec_teardown),
            cmocka_unit_test(test_check_clock_rules),
            cmocka_unit_test(test_check_pcr16_binding),
            cmocka_unit_test(test_pcr_spec_add_rules),
            cmocka_unit_test(test_tpm_policy_check_and_json_roundtrip),
            cmocka_unit_test(test_add_request_parse),
            cmocka_unit_test(test_mb_replay_compare),
            cmocka_unit_test(test_nonce_generate_alphanumeric),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
