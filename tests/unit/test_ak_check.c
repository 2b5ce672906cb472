/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/tpm/ak_check.c: which public areas pass as an AK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "ak_check.h"
#include "err.h"
#include "tpm_public.h"

#define AK_ATTRS                                                                                   \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/* The agent's RSA-2048 AK (kl_tpm_ak_create's template) with a dummy modulus. */
static TPMT_PUBLIC rsa_ak(void)
{
        TPMT_PUBLIC p;

        memset(&p, 0, sizeof(p));
        p.type = TPM2_ALG_RSA;
        p.nameAlg = TPM2_ALG_SHA256;
        p.objectAttributes = AK_ATTRS;
        p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
        p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
        p.parameters.rsaDetail.keyBits = 2048;
        p.unique.rsa.size = 256;
        memset(p.unique.rsa.buffer, 0xa5, 256);
        return p;
}

static TPMT_PUBLIC ecc_ak(void)
{
        TPMT_PUBLIC p;

        memset(&p, 0, sizeof(p));
        p.type = TPM2_ALG_ECC;
        p.nameAlg = TPM2_ALG_SHA256;
        p.objectAttributes = AK_ATTRS;
        p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
        p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
        p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
        p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
        p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
        p.unique.ecc.x.size = 32;
        p.unique.ecc.y.size = 32;
        memset(p.unique.ecc.x.buffer, 1, 32);
        memset(p.unique.ecc.y.buffer, 2, 32);
        return p;
}

/* kl_ak_check on the marshalled-and-parsed area, as it comes off the wire. */
static int check(TPMT_PUBLIC area, const char *hashes, const char *signs, char *why, size_t len)
{
        TPM2B_PUBLIC t;
        uint8_t buf[sizeof(TPM2B_PUBLIC)];
        size_t off = 0;
        struct kl_tpm_public *p = NULL;
        int r;

        memset(&t, 0, sizeof(t));
        t.publicArea = area;
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&t, buf, sizeof(buf), &off), 0);
        assert_int_equal(kl_tpm_public_parse(buf, off, &p), 0);
        why[0] = '\0';
        r = kl_ak_check(p, hashes, signs, why, len);
        kl_tpm_public_free(p);
        return r;
}

static void assert_refused(TPMT_PUBLIC area, const char *hashes, const char *signs,
                           const char *reason_part)
{
        char why[256];

        assert_int_equal(check(area, hashes, signs, why, sizeof(why)), KL_ERR_VERIFY);
        if (strstr(why, reason_part) == NULL)
                fail_msg("reason '%s' does not mention '%s'", why, reason_part);
}

static void test_ak_check_accepts_agent_aks(void **state)
{
        char why[256];
        TPMT_PUBLIC p = rsa_ak();

        (void)state;
        assert_int_equal(check(p, NULL, NULL, why, sizeof(why)), 0);
        p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
        assert_int_equal(check(p, "sha256", "rsapss", why, sizeof(why)), 0);
        assert_int_equal(check(ecc_ak(), NULL, NULL, why, sizeof(why)), 0);
        p = ecc_ak();
        p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECSCHNORR;
        assert_int_equal(check(p, NULL, "ecschnorr", why, sizeof(why)), 0);
}

static void test_ak_check_attributes(void **state)
{
        TPMT_PUBLIC p = rsa_ak();

        (void)state;
        p.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
        assert_refused(p, NULL, NULL, "lacks restricted");
        p = rsa_ak();
        p.objectAttributes &= ~TPMA_OBJECT_FIXEDTPM;
        assert_refused(p, NULL, NULL, "lacks fixedTPM");
        p = rsa_ak();
        p.objectAttributes &= ~TPMA_OBJECT_FIXEDPARENT;
        assert_refused(p, NULL, NULL, "lacks fixedParent");
        p = rsa_ak();
        p.objectAttributes &= ~TPMA_OBJECT_SENSITIVEDATAORIGIN;
        assert_refused(p, NULL, NULL, "lacks sensitiveDataOrigin");
        p = rsa_ak();
        p.objectAttributes &= ~TPMA_OBJECT_USERWITHAUTH;
        assert_refused(p, NULL, NULL, "lacks userWithAuth");
        p = ecc_ak();
        p.objectAttributes |= TPMA_OBJECT_DECRYPT;
        assert_refused(p, NULL, NULL, "has decrypt");
        p = rsa_ak();
        p.objectAttributes |= TPMA_OBJECT_NODA;
        assert_refused(p, NULL, NULL, "has noDA");
        p = rsa_ak();
        p.objectAttributes |= 0x00000001; /* reserved bit 0 */
        assert_refused(p, NULL, NULL, "unexpected object attributes");
}

static void test_ak_check_algorithms(void **state)
{
        TPMT_PUBLIC p = rsa_ak();

        (void)state;
        p.nameAlg = TPM2_ALG_SHA1;
        assert_refused(p, NULL, NULL, "name algorithm sha1");
        p = rsa_ak();
        assert_refused(p, "sha384", NULL, "name algorithm sha256");
        p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSAPSS;
        assert_refused(p, NULL, "rsassa", "signing scheme rsapss");
        p = rsa_ak();
        p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA1;
        assert_refused(p, NULL, NULL, "rsassa hash sha1");
        p = ecc_ak();
        assert_refused(p, NULL, "rsassa,rsapss", "signing scheme ecdsa");
}

static void test_ak_check_not_an_asymmetric_key(void **state)
{
        TPMT_PUBLIC p;

        (void)state;
        memset(&p, 0, sizeof(p));
        p.type = TPM2_ALG_KEYEDHASH;
        p.nameAlg = TPM2_ALG_SHA256;
        p.objectAttributes = AK_ATTRS;
        p.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_HMAC;
        p.parameters.keyedHashDetail.scheme.details.hmac.hashAlg = TPM2_ALG_SHA256;
        p.unique.keyedHash.size = 32;
        assert_refused(p, NULL, NULL, "not an RSA or ECC key");
}

static void test_ak_check_lists(void **state)
{
        (void)state;
        assert_true(kl_ak_hash_algs_valid("sha256"));
        assert_true(kl_ak_hash_algs_valid(KL_AK_HASH_ALGS_DEFAULT));
        assert_true(kl_ak_sign_algs_valid(KL_AK_SIGN_ALGS_DEFAULT));
        assert_false(kl_ak_hash_algs_valid(""));
        assert_false(kl_ak_hash_algs_valid("sha256,"));
        assert_false(kl_ak_hash_algs_valid("sha256,md5"));
        assert_false(kl_ak_hash_algs_valid("sha2"));
        assert_false(kl_ak_sign_algs_valid("rsassa,,ecdsa"));
        assert_false(kl_ak_sign_algs_valid("sha256"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ak_check_accepts_agent_aks),
            cmocka_unit_test(test_ak_check_attributes),
            cmocka_unit_test(test_ak_check_algorithms),
            cmocka_unit_test(test_ak_check_not_an_asymmetric_key),
            cmocka_unit_test(test_ak_check_lists),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
