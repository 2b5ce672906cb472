/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_tpm_quote and the PCR functions of lib/tpm/tpm.c against a real software
 * TPM, checked twice: with lib/tpm/quote.c, and independently with tpm2-tools'
 * tpm2_checkquote on the same files a user would feed it (AK PEM, TPMS_ATTEST,
 * TPMT_SIGNATURE, the PCR blob), so the agent and our verifier cannot share
 * a bug. ctest runs it through tests/testbed/with-tpm.sh (own swtpm, TCTI,
 * TPM2TOOLS_TCTI); without TCTI it refuses to run.
 */
/* cmocka.h needs these first; the blank line keeps clang-format from sorting it above */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"
#include "crypto.h"
#include "err.h"
#include "quote.h"
#include "tpm.h"
#include "tpm_public.h"
#include "test_util.h"

#define PCR_DATA 16
#define PCR_IMA  10

static void write_bytes(const char *dir, const char *name, const void *buf, size_t len)
{
        char path[512];
        FILE *f;

        assert_true(snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path));
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

/* tpm2_checkquote on the evidence exactly as it travels; returns its exit status. */
static int checkquote(const char *pem, const struct kl_quote *q, const uint8_t *blob,
                      size_t blob_len, const char *nonce_hex)
{
        const char *base = getenv("TMPDIR");
        char dir[512], cmd[1024];
        int status;

        if (base == NULL || *base == '\0')
                base = "/tmp";
        assert_true(snprintf(dir, sizeof(dir), "%s/kl-quote-XXXXXX", base) < (int)sizeof(dir));
        assert_non_null(mkdtemp(dir));
        write_bytes(dir, "ak.pem", pem, strlen(pem));
        write_bytes(dir, "msg", q->attest, q->attest_len);
        write_bytes(dir, "sig", q->sig, q->sig_len);
        write_bytes(dir, "pcrs", blob, blob_len);
        assert_true(snprintf(cmd, sizeof(cmd),
                             "cd '%s' && tpm2_checkquote -u ak.pem -m msg -s sig -f pcrs "
                             "-g sha256 -q %s >out 2>&1; s=$?; [ $s -eq 0 ] || cat out >&2; "
                             "rm -f ak.pem msg sig pcrs out; exit $s",
                             dir, nonce_hex) < (int)sizeof(cmd));
        status = system(cmd);
        assert_int_equal(rmdir(dir), 0);
        return status;
}

/*
 * What the agent does for /quotes/integrity: PCR 16 := H(0^n || H(NK PEM)),
 * quote PCR 10 and 16 with the verifier's nonce, encode; then verify it as
 * the verifier does and with tpm2_checkquote.
 */
static void check_quote(const char *enc)
{
        static const char nonce[] = "Ai5M5SjYjnkyv4P7itH1";
        struct kl_tpm *t = kl_test_tpm_open(enc);
        struct kl_tpm_ak_blob ak = {0};
        struct kl_tpm_public *akp = NULL;
        struct kl_pcr_set pcrs, all;
        struct kl_quote q = {0};
        struct kl_attest_info info;
        EVP_PKEY *key = NULL;
        uint8_t *ak_buf = NULL, *attest = NULL, *sig = NULL, *blob = NULL;
        size_t ak_len = 0, attest_len = 0, sig_len = 0, blob_len = 0, d_len = 0, e_len = 0;
        uint8_t d[KL_MAX_DIGEST_LEN], ext[2 * 32], expect16[KL_MAX_DIGEST_LEN], digest[64];
        char *quote = NULL, *pem = NULL, nonce_hex[2 * sizeof(nonce) + 1];
        uint32_t mask = 1u << PCR_IMA | 1u << PCR_DATA;
        double t0;

        assert_string_equal(kl_tpm_hash_alg_name(t), "sha256");
        assert_int_equal(kl_tpm_ak_create(t, &ak), 0);
        assert_int_equal(kl_tpm_ek_flush(t), 0); /* as the agent runs: AK only */
        assert_true(kl_tpm_ak_handle(t) != 0 && kl_tpm_ak_handle(t) != 0xfffu);

        assert_int_equal(kl_digest("sha256", "nk", 2, d, &d_len), 0);
        assert_int_equal(kl_tpm_pcr_reset_extend(t, PCR_DATA, d, d_len), 0);
        memset(ext, 0, 32);
        memcpy(ext + 32, d, 32);
        assert_int_equal(kl_digest("sha256", ext, sizeof(ext), expect16, &e_len), 0);

        t0 = kl_test_now_ms();
        assert_int_equal(kl_tpm_quote(t, (const uint8_t *)nonce, strlen(nonce), mask, &attest,
                                      &attest_len, &sig, &sig_len, &pcrs),
                         0);
        print_message("# quote %s PCR 10+16 on swtpm: %.1f ms\n", enc, kl_test_now_ms() - t0);
        assert_int_equal(pcrs.mask, mask);
        assert_memory_equal(pcrs.values[PCR_DATA], expect16, 32);

        /* the wire string, decoded as a verifier would */
        assert_int_equal(kl_quote_encode(attest, attest_len, sig, sig_len, &pcrs, &quote), 0);
        assert_int_equal(kl_quote_decode(quote, strlen(quote), &q), 0);
        assert_int_equal(kl_tpm_ak_public(t, &ak_buf, &ak_len), 0);
        assert_int_equal(kl_tpm_public_parse(ak_buf, ak_len, &akp), 0);
        assert_int_equal(
            kl_attest_verify_signature(akp, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len), 0);
        assert_int_equal(kl_attest_parse(q.attest, q.attest_len, &info), 0);
        assert_int_equal(info.nonce_len, strlen(nonce));
        assert_memory_equal(info.nonce, nonce, strlen(nonce));
        assert_int_equal(info.sel_hash, 0x000b);
        assert_int_equal(info.sel_mask, mask);
        assert_int_equal(kl_pcr_set_digest(&q.pcrs, digest, &d_len), 0);
        assert_int_equal(d_len, info.pcr_digest_len);
        assert_memory_equal(digest, info.pcr_digest, d_len);
        assert_memory_equal(q.pcrs.values[PCR_DATA], expect16, 32);
        assert_true(info.safe);

        /* PCR_Read of all 24 takes three calls; PCR 16 agrees with the quote */
        assert_int_equal(kl_tpm_pcr_read(t, 0x000b, 0xffffff, &all), 0);
        assert_int_equal(all.mask, 0xffffffu);
        assert_memory_equal(all.values[PCR_DATA], expect16, 32);
        assert_memory_equal(all.values[PCR_IMA], pcrs.values[PCR_IMA], 32);

        /* independent check: tpm2_checkquote with the files a user would have */
        assert_int_equal(kl_tpm_public_to_pkey(akp, &key), 0);
        assert_int_equal(kl_pubkey_to_pem(key, &pem), 0);
        assert_int_equal(kl_pcrblob_encode(&q.pcrs, &blob, &blob_len), 0);
        kl_hex_encode_to((const uint8_t *)nonce, strlen(nonce), nonce_hex);
        assert_int_equal(checkquote(pem, &q, blob, blob_len, nonce_hex), 0);
        /* and it is a real check: another nonce fails there too */
        nonce_hex[0] = nonce_hex[0] == '4' ? '5' : '4';
        assert_int_not_equal(checkquote(pem, &q, blob, blob_len, nonce_hex), 0);
        nonce_hex[0] = nonce_hex[0] == '4' ? '5' : '4';
        /* and so does a PCR value that is not the quoted one (first value byte) */
        blob[132 + 4 + 4 + 2] ^= 1;
        assert_int_not_equal(checkquote(pem, &q, blob, blob_len, nonce_hex), 0);

        /* tampering shows in our verifier */
        q.attest[q.attest_len - 1] ^= 1;
        assert_int_equal(
            kl_attest_verify_signature(akp, 0x000b, q.attest, q.attest_len, q.sig, q.sig_len),
            KL_ERR_VERIFY);

        free(blob);
        free(pem);
        EVP_PKEY_free(key);
        kl_quote_clear(&q);
        free(quote);
        free(attest);
        free(sig);
        free(ak_buf);
        kl_tpm_public_free(akp);
        kl_tpm_ak_blob_clear(&ak);
        kl_tpm_free(t);
        kl_test_assert_no_tpm_leftovers();
}

static void test_tpm_quote_rsa_verifies(void **state)
{
        (void)state;
        check_quote("rsa");
}

static void test_tpm_quote_ecc_verifies(void **state)
{
        (void)state;
        check_quote("ecc");
}

static void test_tpm_quote_bad_arguments_invalid(void **state)
{
        struct kl_tpm *t = kl_test_tpm_open("rsa");
        struct kl_tpm_ak_blob ak = {0};
        struct kl_pcr_set pcrs;
        uint8_t nonce[65], *attest = NULL, *sig = NULL, d[32] = {0};
        size_t attest_len = 0, sig_len = 0;

        (void)state;
        memset(nonce, 'a', sizeof(nonce));
        /* no AK yet */
        assert_int_equal(
            kl_tpm_quote(t, nonce, 20, 0x400, &attest, &attest_len, &sig, &sig_len, &pcrs),
            KL_ERR_INVAL);
        assert_int_equal(kl_tpm_ak_create(t, &ak), 0);
        assert_int_equal(kl_tpm_ek_flush(t), 0);
        assert_int_equal(kl_tpm_quote(t, nonce, 20, 1u << 24 | 0x400, &attest, &attest_len, &sig,
                                      &sig_len, &pcrs),
                         KL_ERR_INVAL);
        assert_int_equal(
            kl_tpm_quote(t, nonce, 65, 0x400, &attest, &attest_len, &sig, &sig_len, &pcrs),
            KL_ERR_INVAL);
        assert_int_equal(kl_tpm_quote(t, nonce, 20, 0, &attest, &attest_len, &sig, &sig_len, &pcrs),
                         KL_ERR_INVAL);
        assert_null(attest);
        assert_null(sig);
        /* 64 bytes is the agent's limit and fits swtpm's TPM2B_DATA (SHA-512: 66) */
        assert_int_equal(
            kl_tpm_quote(t, nonce, 64, 0x400, &attest, &attest_len, &sig, &sig_len, &pcrs), 0);
        assert_int_equal(kl_tpm_pcr_read(t, 0x000b, 1u << 24, &pcrs), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_pcr_read(t, 0x0012, 1, &pcrs), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_pcr_reset_extend(t, 16, d, 20), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_pcr_reset_extend(t, 24, d, 32), KL_ERR_INVAL);
        /* PCR 10 is not resettable at locality 0: the TPM says no */
        assert_true(kl_tpm_pcr_reset_extend(t, 10, d, 32) < 0);
        free(attest);
        free(sig);
        kl_tpm_ak_blob_clear(&ak);
        kl_tpm_free(t);
        kl_test_assert_no_tpm_leftovers();
}

static void test_tpm_alg_names_as_api_reports(void **state)
{
        struct kl_tpm *t = kl_test_tpm_open("ecc");

        (void)state;
        assert_string_equal(kl_tpm_hash_alg_name(t), "sha256");
        assert_string_equal(kl_tpm_enc_alg_name(t, false), "ecc");
        assert_string_equal(kl_tpm_enc_alg_name(t, true), "ecc256");
        assert_string_equal(kl_tpm_sign_alg_name(t), "ecdsa");
        kl_tpm_free(t);
        t = kl_test_tpm_open("rsa");
        assert_string_equal(kl_tpm_enc_alg_name(t, false), "rsa");
        assert_string_equal(kl_tpm_enc_alg_name(t, true), "rsa2048");
        assert_string_equal(kl_tpm_sign_alg_name(t), "rsassa");
        kl_tpm_free(t);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_tpm_quote_rsa_verifies, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_quote_ecc_verifies, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_quote_bad_arguments_invalid,
                                   kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_alg_names_as_api_reports, kl_test_flush_tpm_leftovers),
        };

        if (getenv("TCTI") == NULL) {
                fprintf(stderr, "TCTI is not set: run through tests/testbed/with-tpm.sh\n");
                return 1;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
