/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/tpm/soft_tpm.c and kl_activatecred (lib/tpm/makecred.c):
 * software EK and AK public areas are what a registrar and verifier accept,
 * ActivateCredential opens what the (vector-checked) MakeCredential made and
 * nothing else, and software quotes parse and verify as a TPM's do.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ak_check.h"
#include "crypto.h"
#include "err.h"
#include "makecred.h"
#include "nonce.h"
#include "soft_tpm.h"
#include "tpm_public.h"

static struct kl_tpm_public *parsed(EVP_PKEY *key, bool ek)
{
        struct kl_tpm_public *p = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;

        assert_int_equal(
            ek ? kl_soft_ek_public(key, &buf, &len) : kl_soft_ak_public(key, &buf, &len), 0);
        assert_int_equal(kl_tpm_public_parse(buf, len, &p), 0);
        free(buf);
        return p;
}

static void test_activatecred_opens_makecred_blob(void **state)
{
        EVP_PKEY *ek_key = NULL, *ak_key = NULL, *other = NULL;
        struct kl_tpm_public *ek, *ak;
        uint8_t name[2 + 64], cred[32], got[64], *blob = NULL;
        size_t name_len = 0, blob_len = 0, got_len = 0;
        unsigned bits = 0;

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&ek_key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&ak_key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&other), 0);
        ek = parsed(ek_key, true);
        ak = parsed(ak_key, false);
        assert_false(kl_tpm_public_is_rsa(ek));
        assert_int_equal(kl_tpm_public_sym_aes_bits(ek, &bits), 0);
        assert_int_equal(bits, 128);
        assert_int_equal(kl_tpm_public_name(ak, name, &name_len), 0);
        assert_int_equal(kl_random_bytes(cred, sizeof(cred)), 0);
        assert_int_equal(kl_makecred(ek, name, name_len, cred, sizeof(cred), &blob, &blob_len), 0);

        assert_int_equal(kl_activatecred(ek, ek_key, name, name_len, blob, blob_len, got, &got_len),
                         0);
        assert_int_equal(got_len, sizeof(cred));
        assert_memory_equal(got, cred, sizeof(cred));
        /* another AK's name, another EK's key, a flipped bit: the integrity HMAC refuses */
        name[name_len - 1] ^= 1;
        assert_int_equal(kl_activatecred(ek, ek_key, name, name_len, blob, blob_len, got, &got_len),
                         KL_ERR_VERIFY);
        name[name_len - 1] ^= 1;
        assert_int_equal(kl_activatecred(ek, other, name, name_len, blob, blob_len, got, &got_len),
                         KL_ERR_VERIFY);
        blob[12] ^= 1;
        assert_int_equal(kl_activatecred(ek, ek_key, name, name_len, blob, blob_len, got, &got_len),
                         KL_ERR_VERIFY);
        assert_int_equal(
            kl_activatecred(ek, ek_key, name, name_len, blob, blob_len - 1, got, &got_len),
            KL_ERR_INVAL);
        free(blob);
        kl_tpm_public_free(ek);
        kl_tpm_public_free(ak);
        kl_pkey_free(ek_key);
        kl_pkey_free(ak_key);
        kl_pkey_free(other);
}

static void quote_roundtrip(EVP_PKEY *key)
{
        struct kl_tpm_public *ak = parsed(key, false);
        struct kl_pcr_set pcrs = {
            .hash_alg = 0x000b, .mask = 1u << 10 | 1u << 16, .digest_len = 32};
        struct kl_soft_clock clk = {.clock = 1234, .reset_count = 2, .restart_count = 3};
        struct kl_attest_info info;
        uint8_t name[2 + 64], digest[64], *attest = NULL, *sig = NULL;
        size_t name_len = 0, attest_len = 0, sig_len = 0, dlen = 0;
        char why[256];

        assert_int_equal(kl_ak_check(ak, NULL, NULL, why, sizeof(why)), 0);
        assert_int_equal(kl_tpm_public_name(ak, name, &name_len), 0);
        memset(pcrs.values[10], 0xaa, 32);
        memset(pcrs.values[16], 0x16, 32);
        assert_int_equal(kl_soft_quote(key, name, name_len, (const uint8_t *)"abc123", 6, &clk,
                                       &pcrs, &attest, &attest_len, &sig, &sig_len),
                         0);
        assert_int_equal(kl_attest_parse(attest, attest_len, &info), 0);
        assert_true(kl_nonce_matches(info.nonce, info.nonce_len, "abc123"));
        assert_int_equal(info.sel_hash, 0x000b);
        assert_int_equal(info.sel_mask, pcrs.mask);
        assert_int_equal(info.clock, 1234);
        assert_int_equal(info.reset_count, 2);
        assert_true(info.safe);
        assert_int_equal(kl_pcr_set_digest(&pcrs, digest, &dlen), 0);
        assert_int_equal(info.pcr_digest_len, dlen);
        assert_memory_equal(info.pcr_digest, digest, dlen);
        assert_int_equal(kl_attest_verify_signature(ak, 0x000b, attest, attest_len, sig, sig_len),
                         0);
        sig[sig_len - 1] ^= 1;
        assert_int_equal(kl_attest_verify_signature(ak, 0x000b, attest, attest_len, sig, sig_len),
                         KL_ERR_VERIFY);
        free(attest);
        free(sig);
        kl_tpm_public_free(ak);
}

static void test_soft_quote_ecc_and_rsa_verify(void **state)
{
        EVP_PKEY *ecc = NULL, *rsa = NULL;

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&ecc), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &rsa), 0);
        quote_roundtrip(ecc);
        quote_roundtrip(rsa);
        kl_pkey_free(ecc);
        kl_pkey_free(rsa);
}

static void test_soft_public_refuses_other_keys(void **state)
{
        EVP_PKEY *rsa = NULL, *rsa3072 = NULL;
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_key_generate_rsa(2048, &rsa), 0);
        assert_int_equal(kl_key_generate_rsa(3072, &rsa3072), 0);
        assert_int_equal(kl_soft_ek_public(rsa, &buf, &len), KL_ERR_UNSUPPORTED);
        assert_int_equal(kl_soft_ak_public(rsa3072, &buf, &len), KL_ERR_UNSUPPORTED);
        assert_null(buf);
        kl_pkey_free(rsa);
        kl_pkey_free(rsa3072);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_activatecred_opens_makecred_blob),
            cmocka_unit_test(test_soft_quote_ecc_and_rsa_verify),
            cmocka_unit_test(test_soft_public_refuses_other_keys),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
