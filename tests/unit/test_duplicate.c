/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/tpm/duplicate.c, lib/tpm/policy.c and the shared outer
 * wrapper (lib/tpm/wrap.c): fixed vectors whose bytes a TPM accepted through
 * tpm2-tools (tests/data/seal/README.md says how they were checked), and the
 * refusals of bad input.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "duplicate.h"
#include "err.h"
#include "hex.h"
#include "policy.h"
#include "quote.h"
#include "test_util.h"
#include "tpm_public.h"

/* PCR 0 = 32 x 00, PCR 7 = 32 x 07 in the sha256 bank. */
static void fixed_pcrs(struct kl_pcr_set *p)
{
        memset(p, 0, sizeof(*p));
        p->hash_alg = 0x000B;
        p->digest_len = 32;
        p->mask = 1u << 0 | 1u << 7;
        memset(p->values[7], 7, 32);
}

static struct kl_tpm_public *fixed_ek(void)
{
        struct kl_tpm_public *ek = NULL;
        size_t hex_len = 0, len = 0;
        char *hex = kl_test_data_file("seal/ek-rsa2048.pub.hex", &hex_len);
        uint8_t *buf = kl_test_unhex(hex, &len);

        assert_int_equal(kl_tpm_public_parse(buf, len, &ek), 0);
        free(buf);
        free(hex);
        return ek;
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
        char *s = NULL;

        assert_int_equal(kl_hex_encode(got, len, &s), 0);
        assert_string_equal(s, want);
        free(s);
}

/* tpm2_createpolicy --policy-pcr -l sha256:0,7 -f <the values above> printed this digest. */
static void test_policy_pcr_matches_tpm2_createpolicy(void **state)
{
        struct kl_pcr_set p;
        uint8_t out[KL_MAX_DIGEST_LEN];
        size_t len = 0;

        (void)state;
        fixed_pcrs(&p);
        assert_int_equal(kl_tpm_policy_pcr("sha256", &p, out, &len), 0);
        assert_int_equal(len, 32);
        assert_hex(out, len, "f68f25c14cac2f875012beb256a79ba5b5b7d504e563462a557e908a4a8249be");
}

static void test_policy_pcr_rejects_empty_selection(void **state)
{
        struct kl_pcr_set p;
        uint8_t out[KL_MAX_DIGEST_LEN], sel[KL_PCR_SELECTION_LEN];
        size_t len = 0;

        (void)state;
        fixed_pcrs(&p);
        p.mask = 0;
        assert_int_equal(kl_tpm_policy_pcr("sha256", &p, out, &len), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_pcr_selection(0x000B, 1u << 24, sel), KL_ERR_INVAL);
        fixed_pcrs(&p);
        assert_int_equal(kl_tpm_policy_pcr("md5", &p, out, &len), KL_ERR_UNSUPPORTED);
}

static void policy_of_fixed_pcrs(uint8_t policy[32])
{
        struct kl_pcr_set p;
        size_t len = 0;

        fixed_pcrs(&p);
        assert_int_equal(kl_tpm_policy_pcr("sha256", &p, policy, &len), 0);
}

/* The sealed object of the vector: data 00..1f, seed 32 x 11, obfuscation 32 x 22. */
static void test_dup_sealed_fixed_vector(void **state)
{
        uint8_t data[32], seed[32], obf[32], policy[32];
        struct kl_tpm_dup_fixed fixed = {.seed = seed, .seed_len = 32, .obfuscation = obf};
        struct kl_tpm_public *ek = fixed_ek();
        struct kl_tpm_dup d = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (uint8_t)i;
        memset(seed, 0x11, sizeof(seed));
        memset(obf, 0x22, sizeof(obf));
        policy_of_fixed_pcrs(policy);
        assert_int_equal(kl_tpm_dup_sealed(ek, data, sizeof(data), policy, 32, &fixed, &d), 0);
        assert_hex(
            d.pub, d.pub_len,
            "004e0008000b000004000020f68f25c14cac2f875012beb256a79ba5b5b7d504e563462a557e908a4a8249"
            "be0010002087f410f2f152cab3aaa1251fc6c7b2a8b0350c5c25d42085ad2370a1b0395c6d");
        assert_hex(d.priv, d.priv_len,
                   "006c0020e30d8a4175cdbc8cfb7f43932aa51ee00344c99d3eeaefd1542022d0c94649a9c756188"
                   "02bbde6226594bab98eb3b05aec56d9e4d4e97506a2d3d99a1a2e7f11947a01362f8a3f893829a6"
                   "e70e2bcb910ed90a29e178972e170c91394282ec5490b9142aa9a011ad2914");
        /* OAEP is randomised: only the shape of the encrypted seed is fixed */
        assert_int_equal(d.seed_len, 2 + 256);
        assert_int_equal(d.seed[0] << 8 | d.seed[1], 256);
        kl_tpm_dup_clear(&d);
        kl_tpm_public_free(ek);
}

static void test_dup_sealed_rejects_bad_input(void **state)
{
        uint8_t data[KL_TPM_SEALED_MAX + 1] = {0}, policy[32] = {0};
        struct kl_tpm_public *ek = fixed_ek();
        struct kl_tpm_dup d = {0};

        (void)state;
        assert_int_equal(kl_tpm_dup_sealed(ek, data, 0, policy, 32, NULL, &d), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_dup_sealed(ek, data, sizeof(data), policy, 32, NULL, &d),
                         KL_ERR_INVAL);
        assert_int_equal(kl_tpm_dup_sealed(ek, data, 16, policy, 20, NULL, &d), KL_ERR_INVAL);
        assert_null(d.pub);
        kl_tpm_public_free(ek);
}

/* Random seeds: two wraps of the same object differ, the public part does not. */
static void test_dup_sealed_random_seed_differs(void **state)
{
        uint8_t data[16] = {1}, policy[32] = {0}, obf[32] = {0};
        struct kl_tpm_dup_fixed fixed = {.obfuscation = obf};
        struct kl_tpm_public *ek = fixed_ek();
        struct kl_tpm_dup a = {0}, b = {0};

        (void)state;
        assert_int_equal(kl_tpm_dup_sealed(ek, data, sizeof(data), policy, 32, &fixed, &a), 0);
        assert_int_equal(kl_tpm_dup_sealed(ek, data, sizeof(data), policy, 32, &fixed, &b), 0);
        assert_int_equal(a.pub_len, b.pub_len);
        assert_memory_equal(a.pub, b.pub, a.pub_len);
        assert_int_equal(a.priv_len, b.priv_len);
        assert_memory_not_equal(a.priv, b.priv, a.priv_len);
        kl_tpm_dup_clear(&a);
        kl_tpm_dup_clear(&b);
        kl_tpm_public_free(ek);
}

static void test_dup_rsa_public_carries_modulus(void **state)
{
        uint8_t policy[32] = {0}, n[256], p[128];
        struct kl_tpm_public *ek = fixed_ek(), *obj = NULL;
        struct kl_tpm_dup d = {0};
        EVP_PKEY *key = NULL, *pub = NULL;
        size_t n_len = 0, p_len = 0;
        uint32_t e = 0;

        (void)state;
        assert_int_equal(kl_key_generate_rsa(2048, &key), 0);
        assert_int_equal(kl_rsa_private_parts(key, n, sizeof(n), &n_len, &e, p, &p_len), 0);
        assert_int_equal(n_len, 256);
        assert_int_equal(p_len, 128);
        assert_int_equal(kl_tpm_dup_rsa(ek, key, policy, 32, NULL, &d), 0);
        assert_int_equal(kl_tpm_public_parse(d.pub, d.pub_len, &obj), 0);
        assert_int_equal(kl_tpm_public_to_pkey(obj, &pub), 0);
        assert_true(kl_pubkey_equal(pub, key));
        kl_pkey_free(pub);
        kl_tpm_public_free(obj);
        kl_tpm_dup_clear(&d);
        kl_pkey_free(key);
        assert_int_equal(kl_key_generate_ec_p256(&key), 0);
        assert_int_equal(kl_tpm_dup_rsa(ek, key, policy, 32, NULL, &d), KL_ERR_INVAL);
        kl_pkey_free(key);
        kl_tpm_public_free(ek);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_policy_pcr_matches_tpm2_createpolicy),
            cmocka_unit_test(test_policy_pcr_rejects_empty_selection),
            cmocka_unit_test(test_dup_sealed_fixed_vector),
            cmocka_unit_test(test_dup_sealed_rejects_bad_input),
            cmocka_unit_test(test_dup_sealed_random_seed_differs),
            cmocka_unit_test(test_dup_rsa_public_carries_modulus),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
