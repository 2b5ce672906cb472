/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/tpm/tpm.c against a real software TPM. ctest runs this binary through
 * tests/testbed/with-tpm.sh, which starts a fresh swtpm and exports TCTI,
 * TPM2TOOLS_TCTI and KL_TPM_* (EK CA directory, EK certificate files).
 * Without TCTI the binary refuses to run instead of letting tctildr probe
 * /dev/tpm* or whatever listens on 127.0.0.1:2321.
 */
/* cmocka.h needs these first; the blank line keeps clang-format from sorting it above */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "makecred.h"
#include "test_util.h"
#include "tpm.h"
#include "tpm_public.h"

static const char *tcti(void)
{
        return getenv("TCTI");
}

static void test_tpm_open_bogus_tcti_fails(void **state)
{
        struct kl_tpm_options o = {.tcti = "swtpm:host=127.0.0.1,port=1"};
        struct kl_tpm *t = NULL;
        char why[256];

        (void)state;
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_TPM_OPEN);
        assert_null(t);
        assert_non_null(strstr(why, "swtpm:host=127.0.0.1,port=1"));
}

static void test_tpm_open_missing_device_says_why(void **state)
{
        struct kl_tpm_options o = {.tcti = "device:/nonexistent"};
        struct kl_tpm *t = NULL;
        char why[256];

        (void)state;
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_TPM_OPEN);
        assert_null(t);
        assert_non_null(strstr(why, "device:/nonexistent"));
        assert_non_null(strstr(why, "No such file"));
}

static void test_tpm_open_bad_options_rejected(void **state)
{
        struct kl_tpm_options o = {.tcti = "device:/nonexistent"};
        struct kl_tpm *t = NULL;
        char why[256];

        (void)state;
        /* options are checked before the TCTI is touched */
        o.enc_alg = "rsa4096";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_UNSUPPORTED);
        assert_non_null(strstr(why, "rsa4096"));
        o.enc_alg = "bogus";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.enc_alg = "rsa";
        o.sign_alg = "ecdsa";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.sign_alg = NULL;
        o.hash_alg = "md5";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.hash_alg = NULL;
        o.ek_handle = "0x1234";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.ek_handle = " 81010001";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.ek_handle = "0x81010001x";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        o.ek_handle = NULL;
        o.owner_password = "hex:abc";
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), KL_ERR_CONFIG);
        assert_null(strstr(why, "abc")); /* never echo a password */
        assert_null(t);
}

/* The EK from the template is the key the NV certificate certifies, and the
 * certificate chains to the instance's CA. */
static void check_ek_matches_cert(const char *enc, const char *cert_env)
{
        struct kl_tpm *t = kl_test_tpm_open(enc);
        struct kl_tpm_public *pub = NULL;
        EVP_PKEY *key = NULL;
        X509 *cert = NULL, *file_cert = NULL;
        uint8_t *buf = NULL, *der = NULL, *file_der = NULL;
        size_t len = 0, der_len = 0, file_der_len = 0;
        char why[256] = "";
        double t0;
        int r;

        t0 = kl_test_now_ms();
        assert_int_equal(kl_tpm_ek_load(t), 0);
        print_message("# EK %s CreatePrimary: %.1f ms\n", enc, kl_test_now_ms() - t0);
        assert_int_equal(kl_tpm_ek_public(t, &buf, &len), 0);
        assert_int_equal(kl_tpm_public_parse(buf, len, &pub), 0);
        assert_int_equal(kl_tpm_public_is_rsa(pub), strcmp(enc, "rsa") == 0);
        assert_int_equal(kl_tpm_public_to_pkey(pub, &key), 0);

        assert_int_equal(kl_tpm_ek_cert(t, &der, &der_len), 0);
        assert_int_equal(kl_x509_parse_any(der, der_len, &cert), 0);
        assert_true(kl_pubkey_equal(key, X509_get0_pubkey(cert)));
        r = kl_x509_verify_with_ca_dir(cert, getenv("KL_TPM_EK_CA_DIR"), NULL, why, sizeof(why));
        if (r != 0)
                print_error("verify: %s\n", why);
        assert_int_equal(r, 0);

        /* the same bytes tpm-up.sh exported as PEM */
        assert_non_null(getenv(cert_env));
        assert_int_equal(kl_x509_load_file(getenv(cert_env), &file_cert), 0);
        assert_int_equal(kl_x509_to_der(file_cert, &file_der, &file_der_len), 0);
        assert_memory_equal(file_der, der, der_len);
        assert_int_equal(file_der_len, der_len);

        free(file_der);
        X509_free(file_cert);
        X509_free(cert);
        free(der);
        EVP_PKEY_free(key);
        kl_tpm_public_free(pub);
        free(buf);
        kl_tpm_free(t);
}

static void test_tpm_ek_cert_rsa_matches_ek(void **state)
{
        (void)state;
        check_ek_matches_cert("rsa", "KL_TPM_EK_CERT_RSA");
}

static void test_tpm_ek_cert_ecc_matches_ek(void **state)
{
        (void)state;
        check_ek_matches_cert("ecc", "KL_TPM_EK_CERT_ECC");
}

static void test_tpm_ek_load_persistent_is_template_key(void **state)
{
        struct kl_tpm_options o = {.tcti = tcti(), .ek_handle = "81010001"};
        struct kl_tpm *t = NULL, *u = kl_test_tpm_open("rsa");
        struct kl_tpm_public *p1 = NULL, *p2 = NULL;
        EVP_PKEY *k1 = NULL, *k2 = NULL;
        uint8_t *b1 = NULL, *b2 = NULL;
        size_t l1 = 0, l2 = 0;
        char why[256];

        (void)state;
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), 0);
        assert_int_equal(kl_tpm_ek_public(t, &b1, &l1), 0);
        assert_int_equal(kl_tpm_ek_public(u, &b2, &l2), 0);
        assert_int_equal(kl_tpm_public_parse(b1, l1, &p1), 0);
        assert_int_equal(kl_tpm_public_parse(b2, l2, &p2), 0);
        assert_int_equal(kl_tpm_public_to_pkey(p1, &k1), 0);
        assert_int_equal(kl_tpm_public_to_pkey(p2, &k2), 0);
        assert_true(kl_pubkey_equal(k1, k2));
        /* freeing a persistent EK must not evict it */
        kl_tpm_free(t);
        t = NULL;
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), 0);
        assert_int_equal(kl_tpm_ek_load(t), 0);

        EVP_PKEY_free(k1);
        EVP_PKEY_free(k2);
        kl_tpm_public_free(p1);
        kl_tpm_public_free(p2);
        free(b1);
        free(b2);
        kl_tpm_free(t);
        kl_tpm_free(u);
}

/* The EK policy session also satisfies a persistent EK made by the provisioning. */
static void test_tpm_ak_create_under_persistent_ek(void **state)
{
        struct kl_tpm_options o = {.tcti = tcti(), .enc_alg = "ecc", .ek_handle = "0x81010002"};
        struct kl_tpm_ak_blob blob = {0};
        struct kl_tpm *t = NULL;
        char why[256];

        (void)state;
        assert_int_equal(kl_tpm_open(&o, &t, why, sizeof(why)), 0);
        assert_int_equal(kl_tpm_ak_create(t, &blob), 0);
        assert_int_equal(kl_tpm_ek_flush(t), 0); /* forgets it, does not evict it */
        assert_int_equal(kl_tpm_ak_load(t, &blob), 0);
        kl_tpm_ak_blob_clear(&blob);
        kl_tpm_free(t);
        kl_test_assert_no_tpm_leftovers();
}

/* The test bed stores the EK CA's intermediate in NV 0x01c00100, as makers ship it. */
static void test_tpm_ek_chain_holds_the_intermediate(void **state)
{
        struct kl_tpm *t = kl_test_tpm_open("rsa");
        uint8_t **ders = NULL;
        uint8_t *want = NULL;
        size_t *lens = NULL, n = 99, want_len = 0, pem_len = 0;
        char path[512], *pem;
        X509 *c = NULL;

        (void)state;
        snprintf(path, sizeof(path), "%s/intermediate.pem", getenv("KL_TPM_EK_CA_DIR"));
        assert_int_equal(kl_file_read(path, 65536, &pem, &pem_len), 0);
        assert_int_equal(kl_x509_parse_any((const uint8_t *)pem, pem_len, &c), 0);
        assert_int_equal(kl_x509_to_der(c, &want, &want_len), 0);
        assert_int_equal(kl_tpm_ek_chain(t, &ders, &lens, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(lens[0], want_len);
        assert_memory_equal(ders[0], want, want_len);
        kl_tpm_der_list_free(ders, lens, n);
        X509_free(c);
        free(want);
        free(pem);
        kl_tpm_free(t);
}

/* NV 0x01c08000 holds the test bed's platform certificate, trimmed to its DER. */
static void test_tpm_nv_read_platform_cert(void **state)
{
        struct kl_tpm *t;
        const char *file = getenv("KL_TPM_PLATFORM_CERT");
        uint8_t *der = NULL;
        size_t len = 0, want_len = 0;
        char *want = NULL;

        (void)state;
        if (file == NULL || *file == '\0')
                skip(); /* the test bed was run without kl_platform_cert_tool */
        t = kl_test_tpm_open("rsa");
        assert_int_equal(kl_file_read(file, 65536, &want, &want_len), 0);
        assert_int_equal(kl_tpm_nv_read_der(t, KL_TPM_NV_PLATFORM_CERT, &der, &len), 0);
        assert_int_equal(len, want_len);
        assert_memory_equal(der, want, len);
        free(der);
        /* an index that is not defined */
        assert_int_equal(kl_tpm_nv_read_der(t, 0x01c08001, &der, &len), KL_ERR_NOT_FOUND);
        free(want);
        kl_tpm_free(t);
}

/* AK persisted as a blob loads again in a new context and is the same key. */
static void check_ak_roundtrip(const char *enc, const char *rust_sign)
{
        struct kl_tpm *t = kl_test_tpm_open(enc);
        struct kl_tpm_ak_blob blob = {0};
        uint8_t *a = NULL, *b = NULL;
        size_t a_len = 0, b_len = 0;
        double t0;

        assert_string_equal(kl_tpm_hash_alg_rust_name(t), "Sha256");
        assert_string_equal(kl_tpm_sign_alg_rust_name(t), rust_sign);
        assert_int_equal(kl_tpm_ak_public(t, &a, &a_len), KL_ERR_INVAL); /* none yet */
        assert_int_equal(kl_tpm_ek_load(t), 0);
        t0 = kl_test_now_ms();
        assert_int_equal(kl_tpm_ak_create(t, &blob), 0);
        print_message("# AK %s Create+Load: %.1f ms\n", enc, kl_test_now_ms() - t0);
        assert_int_equal(kl_tpm_ak_public(t, &a, &a_len), 0);
        /* aik_tpm is a TPM2B_PUBLIC; the blob's public the same TPMT_PUBLIC unsized */
        assert_int_equal(a_len, blob.pub_len + 2);
        assert_int_equal((size_t)(a[0] << 8 | a[1]), blob.pub_len);
        assert_memory_equal(a + 2, blob.pub, blob.pub_len);
        kl_tpm_free(t);

        t = kl_test_tpm_open(enc);
        t0 = kl_test_now_ms();
        assert_int_equal(kl_tpm_ak_load(t, &blob), 0);
        print_message("# AK %s Load (with EK): %.1f ms\n", enc, kl_test_now_ms() - t0);
        assert_int_equal(kl_tpm_ak_public(t, &b, &b_len), 0);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);

        /* a damaged blob is refused, and the loaded AK stays usable */
        blob.pub_len--;
        assert_int_equal(kl_tpm_ak_load(t, &blob), KL_ERR_INVAL);
        blob.pub_len++;
        blob.priv[blob.priv_len - 1] ^= 1;
        assert_true(kl_tpm_ak_load(t, &blob) < 0);
        free(b);
        assert_int_equal(kl_tpm_ak_public(t, &b, &b_len), 0);
        assert_memory_equal(a, b, a_len);

        free(a);
        free(b);
        kl_tpm_ak_blob_clear(&blob);
        kl_tpm_free(t);
        kl_test_assert_no_tpm_leftovers();
}

static void test_tpm_ak_load_rsa_same_public(void **state)
{
        (void)state;
        check_ak_roundtrip("rsa", "RsaSsa");
}

static void test_tpm_ak_load_ecc_same_public(void **state)
{
        (void)state;
        check_ak_roundtrip("ecc", "EcDsa");
}

/*
 * The registrar's challenge end to end: software MakeCredential to the EK
 * for the AK's name opens in the TPM; a blob for another name or a cut-off
 * blob does not, and nothing stays loaded afterwards.
 */
static void check_activate(const char *enc)
{
        struct kl_tpm *t = kl_test_tpm_open(enc);
        struct kl_tpm_ak_blob ak = {0};
        struct kl_tpm_public *ek = NULL, *akp = NULL;
        uint8_t *ek_buf = NULL, *ak_buf = NULL, *blob = NULL, *bad = NULL, *secret = NULL;
        size_t ek_len = 0, ak_len = 0, blob_len = 0, bad_len = 0, secret_len = 0;
        uint8_t name[2 + KL_MAX_DIGEST_LEN], cred[32];
        size_t name_len = 0;
        double t0;

        assert_int_equal(kl_tpm_ak_create(t, &ak), 0);
        assert_int_equal(kl_tpm_ek_public(t, &ek_buf, &ek_len), 0);
        assert_int_equal(kl_tpm_ak_public(t, &ak_buf, &ak_len), 0);
        assert_int_equal(kl_tpm_public_parse(ek_buf, ek_len, &ek), 0);
        assert_int_equal(kl_tpm_public_parse(ak_buf, ak_len, &akp), 0);
        assert_int_equal(kl_tpm_public_name(akp, name, &name_len), 0);
        assert_int_equal(name_len, 34);
        assert_int_equal(kl_random_bytes(cred, sizeof(cred)), 0);

        assert_int_equal(kl_makecred(ek, name, name_len, cred, sizeof(cred), &blob, &blob_len), 0);
        t0 = kl_test_now_ms();
        assert_int_equal(kl_tpm_activate_credential(t, blob, blob_len, &secret, &secret_len), 0);
        print_message("# ActivateCredential %s: %.1f ms\n", enc, kl_test_now_ms() - t0);
        assert_int_equal(secret_len, sizeof(cred));
        assert_memory_equal(secret, cred, sizeof(cred));
        kl_secure_free(secret, secret_len);
        secret = NULL;

        /* bound to another AK name: the TPM's integrity check fails */
        name[name_len - 1] ^= 0x5a;
        assert_int_equal(kl_makecred(ek, name, name_len, cred, sizeof(cred), &bad, &bad_len), 0);
        assert_int_equal(kl_tpm_activate_credential(t, bad, bad_len, &secret, &secret_len),
                         KL_ERR_TPM);
        assert_null(secret);

        /* cut short: refused by the parser, before any TPM command */
        assert_int_equal(kl_tpm_activate_credential(t, blob, blob_len - 1, &secret, &secret_len),
                         KL_ERR_INVAL);
        assert_int_equal(kl_tpm_activate_credential(t, blob, 11, &secret, &secret_len),
                         KL_ERR_INVAL);
        assert_null(secret);

        /* the agent flushes a transient EK after activation; the AK stays */
        assert_int_equal(kl_tpm_ek_flush(t), 0);
        kl_tpm_free(t);
        kl_test_assert_no_tpm_leftovers();

        free(bad);
        free(blob);
        kl_tpm_public_free(ek);
        kl_tpm_public_free(akp);
        free(ek_buf);
        free(ak_buf);
        kl_tpm_ak_blob_clear(&ak);
}

static void test_tpm_activate_credential_rsa(void **state)
{
        (void)state;
        check_activate("rsa");
}

static void test_tpm_activate_credential_ecc(void **state)
{
        (void)state;
        check_activate("ecc");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_tpm_open_bogus_tcti_fails, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_open_missing_device_says_why,
                                   kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_open_bad_options_rejected, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ek_cert_rsa_matches_ek, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ek_cert_ecc_matches_ek, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ek_load_persistent_is_template_key,
                                   kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ak_create_under_persistent_ek,
                                   kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ek_chain_holds_the_intermediate,
                                   kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_nv_read_platform_cert, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ak_load_rsa_same_public, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_ak_load_ecc_same_public, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_activate_credential_rsa, kl_test_flush_tpm_leftovers),
            cmocka_unit_test_setup(test_tpm_activate_credential_ecc, kl_test_flush_tpm_leftovers),
        };
        const char *v = tcti();

        /* An empty TCTI would make tctildr probe devices and 127.0.0.1:2321. */
        if (v == NULL || *v == '\0' || getenv("KL_TPM_EK_CA_DIR") == NULL) {
                fprintf(stderr, "test_tpm: TCTI/KL_TPM_* not set; run it as "
                                "tests/testbed/with-tpm.sh DIR -- test_tpm\n");
                return 1;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
