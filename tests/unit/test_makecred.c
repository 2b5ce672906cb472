/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/tpm/makecred.c and lib/tpm/tpm_public.c: KDFs, MakeCredential
 * against the upstream vectors (tests/data/registrar), Name derivation and
 * EK-key-vs-certificate checks on the registrar docs example, blob splitting.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "makecred.h"
#include "test_util.h"
#include "tpm_public.h"

static const char *jstr(kl_json *obj, const char *key)
{
        const char *s = NULL;

        assert_int_equal(kl_json_get_string(obj, key, &s), 0);
        return s;
}

static kl_json *jobj(kl_json *obj, const char *key)
{
        kl_json *o = NULL;

        assert_int_equal(kl_json_get_object(obj, key, &o), 0);
        return o;
}

static struct kl_tpm_public *parse_hex_public(const char *s)
{
        struct kl_tpm_public *p = NULL;
        size_t len = 0;
        uint8_t *buf = kl_test_unhex(s, &len);

        assert_int_equal(kl_tpm_public_parse(buf, len, &p), 0);
        free(buf);
        return p;
}

/* P-256 key from a decimal private scalar; the public point is computed here. */
static EVP_PKEY *p256_from_decimal(const char *dec)
{
        BIGNUM *priv = NULL;
        EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
        EC_POINT *pt = NULL;
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *params = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY *key = NULL;
        uint8_t pub[65];

        assert_non_null(group);
        assert_non_null(bld);
        assert_non_null(ctx);
        assert_true(BN_dec2bn(&priv, dec) > 0);
        pt = EC_POINT_new(group);
        assert_non_null(pt);
        assert_int_equal(EC_POINT_mul(group, pt, priv, NULL, NULL, NULL), 1);
        assert_int_equal(
            EC_POINT_point2oct(group, pt, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub), NULL),
            sizeof(pub));
        assert_int_equal(
            OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0), 1);
        assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv), 1);
        assert_int_equal(
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)), 1);
        params = OSSL_PARAM_BLD_to_param(bld);
        assert_non_null(params);
        assert_true(EVP_PKEY_fromdata_init(ctx) > 0);
        assert_true(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) > 0);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(bld);
        EVP_PKEY_CTX_free(ctx);
        EC_POINT_free(pt);
        EC_GROUP_free(group);
        BN_clear_free(priv);
        return key;
}

/* KDFa with two blocks and truncation, checked against an independent HMAC chain. */
static void test_kdfa_matches_counter_mode_definition(void **state)
{
        const uint8_t key[] = "0123456789abcdef0123456789abcdef";
        const uint8_t u[] = {1, 2, 3}, v[] = {4, 5};
        uint8_t out[48], expect[64], msg[4 + 5 + 3 + 2 + 4];
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_kdfa("sha256", key, 32, "TEST", u, 3, v, 2, 384, out), 0);
        for (uint8_t i = 1; i <= 2; i++) {
                const uint8_t head[] = {0, 0, 0, i, 'T', 'E', 'S', 'T', 0,
                                        1, 2, 3, 4, 5,   0,   0,   1,   128};

                memcpy(msg, head, sizeof(msg));
                assert_int_equal(
                    kl_hmac("sha256", key, 32, msg, sizeof(msg), expect + 32 * (i - 1), &len), 0);
        }
        assert_memory_equal(out, expect, 48);
        /* bits must be whole bytes; unknown hashes are refused */
        assert_int_equal(kl_kdfa("sha256", key, 32, "TEST", u, 3, v, 2, 12, out), KL_ERR_INVAL);
        assert_int_equal(kl_kdfa("md5", key, 32, "TEST", u, 3, v, 2, 128, out), KL_ERR_UNSUPPORTED);
}

static void test_kdfe_matches_single_block_definition(void **state)
{
        const uint8_t z[] = {9, 9, 9}, pu[] = {1}, pv[] = {2};
        const uint8_t msg[] = {0,   0,   0,   1,   9,   9,   9, 'I', 'D',
                               'E', 'N', 'T', 'I', 'T', 'Y', 0, 1,   2};
        uint8_t out[32], expect[64];
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_kdfe("sha256", z, 3, "IDENTITY", pu, 1, pv, 1, 256, out), 0);
        assert_int_equal(kl_digest("sha256", msg, sizeof(msg), expect, &len), 0);
        assert_memory_equal(out, expect, 32);
}

static void test_makecred_fixed_rsa_vector_prefix(void **state)
{
        kl_json *root = kl_test_json_file("registrar/makecredential-vectors.json");
        kl_json *v = jobj(root, "rsa");
        struct kl_tpm_public *ek = parse_hex_public(jstr(v, "ek_tpm_hex"));
        size_t cred_len, name_len, seed_len, pre_len, blob_len = 0;
        uint8_t *cred = kl_test_unhex(jstr(v, "credential_hex"), &cred_len);
        uint8_t *name = kl_test_unhex(jstr(v, "aik_name_hex"), &name_len);
        uint8_t *seed = kl_test_unhex(jstr(v, "seed_hex"), &seed_len);
        uint8_t *prefix = kl_test_unhex(jstr(v, "expected_blob_prefix_hex"), &pre_len);
        uint8_t *blob = NULL;

        (void)state;
        assert_true(kl_tpm_public_is_rsa(ek));
        assert_int_equal(kl_makecred_fixed(ek, name, name_len, cred, cred_len, seed, seed_len, NULL,
                                           &blob, &blob_len),
                         0);
        /* §4: RSA-2048/SHA-256/32-byte credential gives a 336-byte blob */
        assert_int_equal(blob_len, 336);
        assert_int_equal(pre_len, 80);
        assert_memory_equal(blob, prefix, pre_len);
        free(blob);
        blob = NULL;
        /* a wrong seed size for the nameAlg is refused */
        assert_int_equal(
            kl_makecred_fixed(ek, name, name_len, cred, cred_len, seed, 20, NULL, &blob, &blob_len),
            KL_ERR_INVAL);
        free(prefix);
        free(seed);
        free(name);
        free(cred);
        kl_tpm_public_free(ek);
        kl_json_free(root);
}

/*
 * The RSA secret is OAEP(SHA-256, label "IDENTITY" with its NUL) of the
 * seed: checked by decrypting it like the TPM would, with a key made here.
 */
static void test_makecred_fixed_rsa_secret_decrypts_to_seed(void **state)
{
        TPM2B_PUBLIC pub;
        uint8_t wire[sizeof(TPM2B_PUBLIC)], seed[32], name[34] = {0x00, 0x0b}, cred[32] = {1};
        uint8_t plain[512];
        size_t wire_len = 0, blob_len = 0, id_len = 0, sec_len = 0, plain_len = sizeof(plain);
        BIGNUM *n = NULL;
        EVP_PKEY *key = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        struct kl_tpm_public *ek = NULL;
        uint8_t *blob = NULL, *label = NULL;
        const uint8_t *id = NULL, *sec = NULL;

        (void)state;
        memset(seed, 0x5a, sizeof(seed));
        assert_int_equal(kl_key_generate_rsa(2048, &key), 0);
        assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        memset(&pub, 0, sizeof(pub));
        pub.publicArea.type = TPM2_ALG_RSA;
        pub.publicArea.nameAlg = TPM2_ALG_SHA256;
        pub.publicArea.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
        pub.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
        pub.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 128;
        pub.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
        pub.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
        pub.publicArea.parameters.rsaDetail.keyBits = 2048;
        pub.publicArea.unique.rsa.size = 256;
        assert_int_equal(BN_bn2binpad(n, pub.publicArea.unique.rsa.buffer, 256), 256);
        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, wire, sizeof(wire), &wire_len),
                         TSS2_RC_SUCCESS);
        assert_int_equal(kl_tpm_public_parse(wire, wire_len, &ek), 0);
        assert_int_equal(kl_makecred_fixed(ek, name, sizeof(name), cred, sizeof(cred), seed,
                                           sizeof(seed), NULL, &blob, &blob_len),
                         0);
        assert_int_equal(kl_credblob_split(blob, blob_len, &id, &id_len, &sec, &sec_len), 0);
        assert_int_equal(sec_len, 256);
        ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        assert_non_null(ctx);
        label = OPENSSL_memdup("IDENTITY", 9);
        assert_non_null(label);
        assert_true(EVP_PKEY_decrypt_init(ctx) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, "sha256", NULL) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, "sha256", NULL) > 0);
        assert_true(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, 9) > 0);
        assert_true(EVP_PKEY_decrypt(ctx, plain, &plain_len, sec, sec_len) > 0);
        assert_int_equal(plain_len, sizeof(seed));
        assert_memory_equal(plain, seed, sizeof(seed));
        EVP_PKEY_CTX_free(ctx);
        free(blob);
        kl_tpm_public_free(ek);
        BN_free(n);
        EVP_PKEY_free(key);
}

static void test_makecred_fixed_ecc_vector_whole_blob(void **state)
{
        kl_json *root = kl_test_json_file("registrar/makecredential-vectors.json");
        kl_json *v = jobj(root, "ecc_p256");
        struct kl_tpm_public *ek = parse_hex_public(jstr(v, "ek_tpm_hex"));
        EVP_PKEY *eph = p256_from_decimal(jstr(v, "ephemeral_private_key_decimal"));
        size_t cred_len, name_len, exp_len, blob_len = 0;
        uint8_t *cred = kl_test_unhex(jstr(v, "credential_hex"), &cred_len);
        uint8_t *name = kl_test_unhex(jstr(v, "aik_name_hex"), &name_len);
        uint8_t *expect = kl_test_unhex(jstr(v, "expected_blob_hex"), &exp_len);
        uint8_t *blob = NULL;

        (void)state;
        assert_false(kl_tpm_public_is_rsa(ek));
        assert_int_equal(
            kl_makecred_fixed(ek, name, name_len, cred, cred_len, NULL, 0, eph, &blob, &blob_len),
            0);
        assert_int_equal(blob_len, exp_len);
        assert_memory_equal(blob, expect, exp_len);
        free(blob);
        free(expect);
        free(name);
        free(cred);
        EVP_PKEY_free(eph);
        kl_tpm_public_free(ek);
        kl_json_free(root);
}

/* Random seeds / ephemeral keys: the layout holds and two runs differ. */
static void test_makecred_random_rsa_and_ecc_layout(void **state)
{
        kl_json *root = kl_test_json_file("registrar/makecredential-vectors.json");
        const char *which[] = {"rsa", "ecc_p256"};

        (void)state;
        for (size_t k = 0; k < 2; k++) {
                kl_json *v = jobj(root, which[k]);
                struct kl_tpm_public *ek = parse_hex_public(jstr(v, "ek_tpm_hex"));
                size_t cred_len, name_len, len1 = 0, len2 = 0, id_len = 0, sec_len = 0;
                uint8_t *cred = kl_test_unhex(jstr(v, "credential_hex"), &cred_len);
                uint8_t *name = kl_test_unhex(jstr(v, "aik_name_hex"), &name_len);
                uint8_t *b1 = NULL, *b2 = NULL;
                const uint8_t *id = NULL, *sec = NULL;

                assert_int_equal(kl_makecred(ek, name, name_len, cred, cred_len, &b1, &len1), 0);
                assert_int_equal(kl_makecred(ek, name, name_len, cred, cred_len, &b2, &len2), 0);
                assert_int_equal(len1, len2);
                assert_memory_not_equal(b1, b2, len1);
                assert_int_equal(kl_credblob_split(b1, len1, &id, &id_len, &sec, &sec_len), 0);
                assert_int_equal(id_len, 2 + 32 + 2 + cred_len);
                assert_int_equal(sec_len, k == 0 ? 256 : 4 + 2 * 32);
                assert_ptr_equal(id, b1 + 10);
                /* a credential longer than the nameAlg digest is refused (Part 3) */
                assert_int_equal(kl_makecred(ek, name, name_len, b1, 33, &b2, &len2), KL_ERR_INVAL);
                free(b1);
                free(b2);
                free(name);
                free(cred);
                kl_tpm_public_free(ek);
        }
        kl_json_free(root);
}

static void test_credblob_split_rejects_malformed(void **state)
{
        uint8_t blob[20] = {0xba, 0xdc, 0xc0, 0xde, 0, 0,   0,   1,   0,   3,
                            'a',  'b',  'c',  0,    5, 'v', 'w', 'x', 'y', 'z'};
        const uint8_t *id = NULL, *sec = NULL;
        size_t id_len = 0, sec_len = 0;

        (void)state;
        assert_int_equal(kl_credblob_split(blob, sizeof(blob), &id, &id_len, &sec, &sec_len), 0);
        assert_int_equal(id_len, 3);
        assert_memory_equal(id, "abc", 3);
        assert_int_equal(sec_len, 5);
        assert_memory_equal(sec, "vwxyz", 5);
        /* trailing byte, short blob, truncated id, bad magic, bad version */
        assert_int_equal(kl_credblob_split(blob, sizeof(blob) - 1, &id, &id_len, &sec, &sec_len),
                         KL_ERR_INVAL);
        assert_int_equal(kl_credblob_split(blob, 11, &id, &id_len, &sec, &sec_len), KL_ERR_INVAL);
        blob[9] = 0xff;
        assert_int_equal(kl_credblob_split(blob, sizeof(blob), &id, &id_len, &sec, &sec_len),
                         KL_ERR_INVAL);
        blob[9] = 3;
        blob[0] = 0;
        assert_int_equal(kl_credblob_split(blob, sizeof(blob), &id, &id_len, &sec, &sec_len),
                         KL_ERR_INVAL);
        blob[0] = 0xba;
        blob[7] = 2;
        assert_int_equal(kl_credblob_split(blob, sizeof(blob), &id, &id_len, &sec, &sec_len),
                         KL_ERR_INVAL);
}

static void test_credblob_split_docs_example(void **state)
{
        kl_json *root = kl_test_json_file("registrar/registrar-docs-example.json");
        kl_json *res = jobj(jobj(root, "post_agents_response_example"), "results");
        size_t len = 0, id_len = 0, sec_len = 0;
        uint8_t *blob = kl_test_unb64(jstr(res, "blob"), &len);
        const uint8_t *id = NULL, *sec = NULL;

        (void)state;
        assert_int_equal(len, 336);
        assert_int_equal(kl_credblob_split(blob, len, &id, &id_len, &sec, &sec_len), 0);
        assert_int_equal(id_len, 68);
        assert_int_equal(sec_len, 256);
        free(blob);
        kl_json_free(root);
}

static void check_name(kl_json *body, const char *field, const char *expect_hex,
                       const char *expect_alg)
{
        size_t len = 0, name_len = 0;
        uint8_t *buf = kl_test_unb64(jstr(body, field), &len);
        struct kl_tpm_public *p = NULL;
        uint8_t name[2 + KL_MAX_DIGEST_LEN];
        char name_hex[2 * sizeof(name) + 1];

        assert_int_equal(kl_tpm_public_parse(buf, len, &p), 0);
        assert_string_equal(kl_tpm_public_name_alg(p), expect_alg);
        assert_int_equal(kl_tpm_public_name(p, name, &name_len), 0);
        assert_int_equal(name_len, 34);
        kl_hex_encode_to(name, name_len, name_hex);
        assert_string_equal(name_hex, expect_hex);
        kl_tpm_public_free(p);
        free(buf);
}

static void test_tpm_public_name_docs_example(void **state)
{
        kl_json *root = kl_test_json_file("registrar/registrar-docs-example.json");
        kl_json *derived = jobj(root, "_derived");
        kl_json *post = jobj(root, "post_agents_request_example");
        kl_json *get = jobj(jobj(root, "get_agent_response_example"), "results");

        (void)state;
        check_name(post, "aik_tpm", jstr(derived, "post_example_aik_name_hex"), "sha256");
        check_name(get, "aik_tpm", jstr(derived, "get_example_aik_name_hex"), "sha256");
        check_name(get, "ek_tpm", jstr(derived, "get_example_ek_name_hex"), "sha256");
        kl_json_free(root);
}

static void test_tpm_public_to_pkey_matches_ekcert(void **state)
{
        kl_json *root = kl_test_json_file("registrar/registrar-docs-example.json");
        kl_json *get = jobj(jobj(root, "get_agent_response_example"), "results");
        kl_json *aik_body = jobj(root, "post_agents_request_example");
        const char *cert_b64 = jstr(get, "ekcert");
        size_t len = 0, aik_len = 0;
        uint8_t *ek_buf = kl_test_unb64(jstr(get, "ek_tpm"), &len);
        uint8_t *aik_buf = kl_test_unb64(jstr(aik_body, "aik_tpm"), &aik_len);
        struct kl_tpm_public *ek = NULL, *aik = NULL;
        EVP_PKEY *ek_key = NULL, *aik_key = NULL, *cert_key;
        X509 *cert = NULL;
        unsigned bits = 0;

        (void)state;
        assert_int_equal(kl_tpm_public_parse(ek_buf, len, &ek), 0);
        assert_int_equal(kl_tpm_public_parse(aik_buf, aik_len, &aik), 0);
        assert_true(kl_tpm_public_is_rsa(ek));
        assert_int_equal(kl_tpm_public_sym_aes_bits(ek, &bits), 0);
        assert_int_equal(bits, 128);
        assert_int_equal(kl_tpm_public_to_pkey(ek, &ek_key), 0);
        assert_int_equal(kl_tpm_public_to_pkey(aik, &aik_key), 0);
        assert_int_equal(EVP_PKEY_get_bits(ek_key), 2048);
        assert_int_equal(kl_x509_parse_any((const uint8_t *)cert_b64, strlen(cert_b64), &cert), 0);
        cert_key = X509_get0_pubkey(cert);
        assert_non_null(cert_key);
        assert_true(kl_pubkey_equal(ek_key, cert_key));
        /* and the check can fail: the AK is not the certified key */
        assert_false(kl_pubkey_equal(aik_key, cert_key));
        X509_free(cert);
        EVP_PKEY_free(aik_key);
        EVP_PKEY_free(ek_key);
        kl_tpm_public_free(aik);
        kl_tpm_public_free(ek);
        free(aik_buf);
        free(ek_buf);
        kl_json_free(root);
}

static void test_tpm_public_parse_rejects_malformed(void **state)
{
        kl_json *root = kl_test_json_file("registrar/makecredential-vectors.json");
        kl_json *v = jobj(root, "ecc_p256");
        size_t len = 0;
        uint8_t *buf = kl_test_unhex(jstr(v, "ek_tpm_hex"), &len);
        uint8_t *longer = malloc(len + 1);
        struct kl_tpm_public *p = NULL;
        EVP_PKEY *key = NULL;

        (void)state;
        assert_non_null(longer);
        /* truncated, trailing byte, outer size not matching */
        assert_int_equal(kl_tpm_public_parse(buf, len - 1, &p), KL_ERR_INVAL);
        memcpy(longer, buf, len);
        longer[len] = 0;
        assert_int_equal(kl_tpm_public_parse(longer, len + 1, &p), KL_ERR_INVAL);
        longer[1]++;
        assert_int_equal(kl_tpm_public_parse(longer, len + 1, &p), KL_ERR_INVAL);
        assert_int_equal(kl_tpm_public_parse(buf, 1, &p), KL_ERR_INVAL);
        assert_null(p);
        /* a point that is not on the curve parses but does not become a key */
        buf[len - 1] ^= 1;
        assert_int_equal(kl_tpm_public_parse(buf, len, &p), 0);
        assert_int_equal(kl_tpm_public_to_pkey(p, &key), KL_ERR_INVAL);
        assert_null(key);
        kl_tpm_public_free(p);
        free(longer);
        free(buf);
        kl_json_free(root);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kdfa_matches_counter_mode_definition),
            cmocka_unit_test(test_kdfe_matches_single_block_definition),
            cmocka_unit_test(test_makecred_fixed_rsa_vector_prefix),
            cmocka_unit_test(test_makecred_fixed_rsa_secret_decrypts_to_seed),
            cmocka_unit_test(test_makecred_fixed_ecc_vector_whole_blob),
            cmocka_unit_test(test_makecred_random_rsa_and_ecc_layout),
            cmocka_unit_test(test_credblob_split_rejects_malformed),
            cmocka_unit_test(test_credblob_split_docs_example),
            cmocka_unit_test(test_tpm_public_name_docs_example),
            cmocka_unit_test(test_tpm_public_to_pkey_matches_ekcert),
            cmocka_unit_test(test_tpm_public_parse_rejects_malformed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
