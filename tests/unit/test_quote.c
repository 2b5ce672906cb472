/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/tpm/quote.c against the Keylime vectors in tests/data/quote:
 * a verifiable SHA-256 quote (checkquote-vector.json, with the upstream
 * negative cases) and the Rust agent's SHA-1 test quote (round trip only).
 * No TPM: the TPM side is tests/unit/test_tpm_quote.c.
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

#include "b64.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "quote.h"
#include "test_util.h"
#include "tpm_public.h"

struct vec {
        kl_json *obj;
        const char *nonce, *quote, *pem, *attest_b64, *sig_b64, *blob_b64;
        kl_json *exp;
};

static void vec_load(struct vec *v)
{
        size_t len = 0;
        char *text = kl_test_data_file("quote/checkquote-vector.json", &len);

        assert_int_equal(kl_json_parse_object(text, len, &v->obj), 0);
        free(text);
        assert_int_equal(kl_json_get_string(v->obj, "nonce", &v->nonce), 0);
        assert_int_equal(kl_json_get_string(v->obj, "quote_string", &v->quote), 0);
        assert_int_equal(kl_json_get_string(v->obj, "aik_public_pem", &v->pem), 0);
        assert_int_equal(kl_json_get_string(v->obj, "quoteblob_b64", &v->attest_b64), 0);
        assert_int_equal(kl_json_get_string(v->obj, "sigblob_b64", &v->sig_b64), 0);
        assert_int_equal(kl_json_get_string(v->obj, "pcrblob_b64", &v->blob_b64), 0);
        assert_int_equal(kl_json_get_object(v->obj, "_derived_expectations", &v->exp), 0);
}

static void test_quote_decode_vector_fields(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        struct kl_attest_info info;
        kl_json *clock = NULL;
        const char *pcr16_hex, *digest_hex;
        uint8_t *a, *s, *pcr16, *digest;
        uint8_t mine[64];
        size_t a_len, s_len, pcr16_len, digest_len, mine_len = 0;
        int64_t val;

        (void)state;
        vec_load(&v);
        assert_int_equal(kl_quote_decode(v.quote, strlen(v.quote), &q), 0);
        a = kl_test_unb64(v.attest_b64, &a_len);
        s = kl_test_unb64(v.sig_b64, &s_len);
        assert_int_equal(q.attest_len, a_len);
        assert_memory_equal(q.attest, a, a_len);
        assert_int_equal(q.sig_len, s_len);
        assert_memory_equal(q.sig, s, s_len);

        assert_int_equal(q.pcrs.hash_alg, 0x000b);
        assert_int_equal(q.pcrs.mask, 1u << 16);
        assert_int_equal(q.pcrs.digest_len, 32);
        assert_int_equal(kl_json_get_string(v.exp, "pcr16_hex", &pcr16_hex), 0);
        pcr16 = kl_test_unhex(pcr16_hex, &pcr16_len);
        assert_memory_equal(q.pcrs.values[16], pcr16, 32);

        assert_int_equal(kl_attest_parse(q.attest, q.attest_len, &info), 0);
        assert_int_equal(info.nonce_len, strlen(v.nonce));
        assert_memory_equal(info.nonce, v.nonce, info.nonce_len);
        assert_int_equal(info.sel_hash, 0x000b);
        assert_int_equal(info.sel_mask, 1u << 16);
        assert_int_equal(kl_json_get_object(v.exp, "clockInfo", &clock), 0);
        assert_int_equal(kl_json_get_int(clock, "clock", &val), 0);
        assert_int_equal(info.clock, (uint64_t)val);
        assert_int_equal(kl_json_get_int(clock, "resetCount", &val), 0);
        assert_int_equal(info.reset_count, (uint32_t)val);
        assert_int_equal(kl_json_get_int(clock, "restartCount", &val), 0);
        assert_int_equal(info.restart_count, (uint32_t)val);
        assert_true(info.safe);

        assert_int_equal(kl_json_get_string(v.exp, "pcrDigest_hex", &digest_hex), 0);
        digest = kl_test_unhex(digest_hex, &digest_len);
        assert_int_equal(info.pcr_digest_len, digest_len);
        assert_memory_equal(info.pcr_digest, digest, digest_len);
        assert_int_equal(kl_pcr_set_digest(&q.pcrs, mine, &mine_len), 0);
        assert_int_equal(mine_len, digest_len);
        assert_memory_equal(mine, digest, digest_len);

        free(a);
        free(s);
        free(pcr16);
        free(digest);
        kl_quote_clear(&q);
        kl_json_free(v.obj);
}

static void test_quote_verify_signature_vector(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        struct kl_tpm_public *ak;

        (void)state;
        vec_load(&v);
        ak = kl_test_ak_from_pem(v.pem);
        assert_int_equal(kl_quote_decode(v.quote, strlen(v.quote), &q), 0);
        assert_int_equal(
            kl_attest_verify_signature(ak, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len), 0);
        /* upstream negative: the quote was made with sha256, sha1 is expected */
        assert_int_equal(
            kl_attest_verify_signature(ak, 0x0004, q.attest, q.attest_len, q.sig, q.sig_len),
            KL_ERR_VERIFY);
        /* a truncated or padded signature is malformed, not merely wrong */
        assert_int_equal(
            kl_attest_verify_signature(ak, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len - 1),
            KL_ERR_INVAL);
        assert_int_equal(kl_attest_verify_signature(ak, 0x000b, q.attest, q.attest_len, q.sig, 3),
                         KL_ERR_INVAL);
        kl_tpm_public_free(ak);
        kl_quote_clear(&q);
        kl_json_free(v.obj);
}

/* upstream negative: flip bit 0 of byte 5 of the attestation -> signature fails */
static void test_quote_verify_signature_flipped_attest_fails(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        struct kl_tpm_public *ak;

        (void)state;
        vec_load(&v);
        ak = kl_test_ak_from_pem(v.pem);
        assert_int_equal(kl_quote_decode(v.quote, strlen(v.quote), &q), 0);
        q.attest[5] ^= 1;
        assert_int_equal(
            kl_attest_verify_signature(ak, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len),
            KL_ERR_VERIFY);
        q.attest[5] ^= 1;
        q.sig[q.sig_len - 1] ^= 0x80;
        assert_int_equal(
            kl_attest_verify_signature(ak, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len),
            KL_ERR_VERIFY);
        kl_tpm_public_free(ak);
        kl_quote_clear(&q);
        kl_json_free(v.obj);
}

/* upstream negative: another nonce than the one quoted */
static void test_attest_parse_nonce_mismatch_detected(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        struct kl_attest_info info;
        char other[64];

        (void)state;
        vec_load(&v);
        assert_int_equal(kl_quote_decode(v.quote, strlen(v.quote), &q), 0);
        assert_int_equal(kl_attest_parse(q.attest, q.attest_len, &info), 0);
        assert_true(strlen(v.nonce) < sizeof(other));
        memcpy(other, v.nonce, strlen(v.nonce) + 1);
        other[0] = 'a';
        assert_int_equal(info.nonce_len, strlen(other));
        assert_memory_not_equal(info.nonce, other, info.nonce_len);
        assert_memory_equal(info.nonce, v.nonce, info.nonce_len);
        kl_quote_clear(&q);
        kl_json_free(v.obj);
}

/* upstream negative: flip bit 0 of byte 5 of the PCR blob (the bank's hash id) */
static void test_pcrblob_decode_flipped_hash_fails(void **state)
{
        struct vec v = {0};
        struct kl_pcr_set p;
        uint8_t *blob;
        size_t len;

        (void)state;
        vec_load(&v);
        blob = kl_test_unb64(v.blob_b64, &len);
        assert_int_equal(len, 132 + 4 + 532);
        assert_int_equal(kl_pcrblob_decode(blob, len, &p), 0);
        blob[5] ^= 1;
        assert_int_equal(kl_pcrblob_decode(blob, len, &p), KL_ERR_INVAL);
        free(blob);
        kl_json_free(v.obj);
}

static void test_pcrblob_decode_bad_lengths_fail(void **state)
{
        struct vec v = {0};
        struct kl_pcr_set p;
        uint8_t *blob, *big;
        size_t len;

        (void)state;
        vec_load(&v);
        blob = kl_test_unb64(v.blob_b64, &len);
        for (size_t n = 0; n < len; n++)
                assert_int_equal(kl_pcrblob_decode(blob, n, &p), KL_ERR_INVAL);
        big = calloc(1, len + 532);
        assert_non_null(big);
        memcpy(big, blob, len);
        assert_int_equal(kl_pcrblob_decode(big, len + 1, &p), KL_ERR_INVAL);
        big[132] = 2; /* claims a second list that the selection does not need */
        assert_int_equal(kl_pcrblob_decode(big, len + 532, &p), KL_ERR_INVAL);
        blob[0] = 2; /* two banks */
        assert_int_equal(kl_pcrblob_decode(blob, len, &p), KL_ERR_INVAL);
        blob[0] = 1;
        blob[140] = 31; /* digest size is not the bank's */
        assert_int_equal(kl_pcrblob_decode(blob, len, &p), KL_ERR_INVAL);
        blob[140] = 32;
        blob[9] |= 2; /* PCR 16 and 17 selected, one value */
        assert_int_equal(kl_pcrblob_decode(blob, len, &p), KL_ERR_INVAL);
        free(big);
        free(blob);
        kl_json_free(v.obj);
}

/* Ten PCRs take two TPML_DIGEST lists (8 + 2), and come back in order. */
static void test_pcrblob_encode_ten_pcrs_roundtrip(void **state)
{
        struct kl_pcr_set in, out;
        uint8_t *blob = NULL;
        size_t len = 0;

        (void)state;
        memset(&in, 0, sizeof(in));
        in.hash_alg = 0x000c;
        in.digest_len = 48;
        in.mask = 0x8003ff;
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                if (in.mask & (1u << i))
                        memset(in.values[i], (int)(0xa0 + i), 48);
        }
        assert_int_equal(kl_pcrblob_encode(&in, &blob, &len), 0);
        assert_int_equal(len, 132 + 4 + 2 * 532);
        assert_int_equal(blob[132], 2);       /* numDigestLists */
        assert_int_equal(blob[136], 8);       /* first list: PCRs 0..7 */
        assert_int_equal(blob[136 + 532], 3); /* second: PCRs 8, 9, 23 */
        assert_int_equal(blob[140], 48);
        assert_int_equal(kl_pcrblob_decode(blob, len, &out), 0);
        assert_int_equal(out.mask, in.mask);
        assert_int_equal(out.hash_alg, in.hash_alg);
        assert_memory_equal(out.values[23], in.values[23], 48);
        assert_memory_equal(out.values[9], in.values[9], 48);
        free(blob);
        in.mask |= 1u << 24;
        assert_int_equal(kl_pcrblob_encode(&in, &blob, &len), KL_ERR_INVAL);
        in.mask = 1;
        in.digest_len = 32;
        assert_int_equal(kl_pcrblob_encode(&in, &blob, &len), KL_ERR_INVAL);
}

static void check_roundtrip(const char *text, size_t len)
{
        struct kl_quote q = {0};
        char *again = NULL;

        assert_int_equal(kl_quote_decode(text, len, &q), 0);
        assert_int_equal(kl_quote_encode(q.attest, q.attest_len, q.sig, q.sig_len, &q.pcrs, &again),
                         0);
        assert_int_equal(strlen(again), len);
        assert_memory_equal(again, text, len);
        free(again);
        kl_quote_clear(&q);
}

static void test_quote_encode_roundtrip_identical(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        struct kl_attest_info info;
        size_t len = 0;
        char *text = kl_test_data_file("quote/test-quote.txt", &len);

        (void)state;
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                len--;
        check_roundtrip(text, len);
        /* the Rust test quote: SHA-1 bank, PCR 16, nonce "TEST" */
        assert_int_equal(kl_quote_decode(text, len, &q), 0);
        assert_int_equal(q.pcrs.hash_alg, 0x0004);
        assert_int_equal(q.pcrs.mask, 1u << 16);
        assert_int_equal(kl_attest_parse(q.attest, q.attest_len, &info), 0);
        assert_int_equal(info.nonce_len, 4);
        assert_memory_equal(info.nonce, "TEST", 4);
        assert_int_equal(info.sel_hash, 0x0004);
        kl_quote_clear(&q);
        free(text);

        vec_load(&v);
        check_roundtrip(v.quote, strlen(v.quote));
        kl_json_free(v.obj);
}

static void test_quote_decode_malformed_fails(void **state)
{
        struct vec v = {0};
        struct kl_quote q = {0};
        char *s, *big;
        size_t len;

        (void)state;
        vec_load(&v);
        len = strlen(v.quote);
        s = strdup(v.quote);
        assert_non_null(s);
        assert_int_equal(kl_quote_decode(s, 0, &q), KL_ERR_INVAL);
        assert_int_equal(kl_quote_decode(s + 1, len - 1, &q), KL_ERR_INVAL); /* no "r" */
        assert_int_equal(kl_quote_decode(s, len - 1, &q), KL_ERR_INVAL);     /* bad base64 */
        s[len - 2] = ':';                                                    /* a fourth part */
        assert_int_equal(kl_quote_decode(s, len, &q), KL_ERR_INVAL);
        memcpy(s, v.quote, len);
        *strrchr(s, ':') = '\0'; /* only two parts */
        assert_int_equal(kl_quote_decode(s, strlen(s), &q), KL_ERR_INVAL);
        assert_int_equal(kl_quote_decode("r::", 3, &q), KL_ERR_INVAL);
        big = calloc(1, KL_QUOTE_MAX_LEN + 2);
        assert_non_null(big);
        memset(big, 'A', KL_QUOTE_MAX_LEN + 1);
        big[0] = 'r';
        assert_int_equal(kl_quote_decode(big, KL_QUOTE_MAX_LEN + 1, &q), KL_ERR_TOO_LONG);
        assert_null(q.attest);
        free(big);
        free(s);
        kl_json_free(v.obj);
}

static void test_attest_parse_truncated_or_padded_fails(void **state)
{
        struct vec v = {0};
        struct kl_attest_info info;
        uint8_t *a, *padded;
        size_t len;

        (void)state;
        vec_load(&v);
        a = kl_test_unb64(v.attest_b64, &len);
        for (size_t n = 0; n < len; n++)
                assert_int_equal(kl_attest_parse(a, n, &info), KL_ERR_INVAL);
        padded = calloc(1, len + 1);
        assert_non_null(padded);
        memcpy(padded, a, len);
        assert_int_equal(kl_attest_parse(padded, len + 1, &info), KL_ERR_INVAL);
        a[0] ^= 1; /* magic */
        assert_int_equal(kl_attest_parse(a, len, &info), KL_ERR_INVAL);
        a[0] ^= 1;
        a[7] = 0x17; /* TPM_ST_ATTEST_CERTIFY, not a quote */
        assert_int_equal(kl_attest_parse(a, len, &info), KL_ERR_INVAL);
        free(padded);
        free(a);
        kl_json_free(v.obj);
}

static void test_hash_alg_name_both_ways(void **state)
{
        (void)state;
        assert_int_equal(kl_hash_alg_from_name("sha1"), 0x0004);
        assert_int_equal(kl_hash_alg_from_name("sha256"), 0x000b);
        assert_int_equal(kl_hash_alg_from_name("sha384"), 0x000c);
        assert_int_equal(kl_hash_alg_from_name("sha512"), 0x000d);
        assert_int_equal(kl_hash_alg_from_name("sm3_256"), 0);
        assert_int_equal(kl_hash_alg_from_name(NULL), 0);
        assert_string_equal(kl_hash_alg_name(0x000b), "sha256");
        assert_string_equal(kl_hash_alg_name(0x0004), "sha1");
        assert_null(kl_hash_alg_name(0x0012));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_quote_decode_vector_fields),
            cmocka_unit_test(test_quote_verify_signature_vector),
            cmocka_unit_test(test_quote_verify_signature_flipped_attest_fails),
            cmocka_unit_test(test_attest_parse_nonce_mismatch_detected),
            cmocka_unit_test(test_pcrblob_decode_flipped_hash_fails),
            cmocka_unit_test(test_pcrblob_decode_bad_lengths_fail),
            cmocka_unit_test(test_pcrblob_encode_ten_pcrs_roundtrip),
            cmocka_unit_test(test_quote_encode_roundtrip_identical),
            cmocka_unit_test(test_quote_decode_malformed_fails),
            cmocka_unit_test(test_attest_parse_truncated_or_padded_fails),
            cmocka_unit_test(test_hash_alg_name_both_ways),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
