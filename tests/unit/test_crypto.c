/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/crypto/crypto.c: digests and HMACs against tests/data/keys,
 * AES-GCM payload decryption, AES-CFB (SP 800-38A), RSA-OAEP round trips,
 * key files, X.509 parsing, self-signed certificates and CA-directory
 * verification of an EK-like certificate made at test time. No private key
 * is read from the repository: all are generated here.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "test_util.h"

static const char *jstr(kl_json *obj, const char *key)
{
        const char *s = NULL;

        assert_int_equal(kl_json_get_string(obj, key, &s), 0);
        return s;
}

static void rm_tree(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[1024];

        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                unlink(path);
        }
        closedir(d);
        rmdir(dir);
}

static void test_digest_sha256_abc(void **state)
{
        uint8_t out[KL_MAX_DIGEST_LEN];
        char out_hex[2 * KL_MAX_DIGEST_LEN + 1];
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_digest("sha256", "abc", 3, out, &len), 0);
        assert_int_equal(len, KL_SHA256_LEN);
        kl_hex_encode_to(out, len, out_hex);
        assert_string_equal(out_hex,
                            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(kl_digest("md5", "abc", 3, out, &len), KL_ERR_UNSUPPORTED);
}

static void test_hmac_sha384_hex_keys_vector(void **state)
{
        kl_json *v = kl_test_json_file("keys/keys-vector.json");
        const char *uuid = jstr(v, "agent_uuid");
        const char *challenge = jstr(v, "verify_challenge");
        size_t k_len = 0;
        uint8_t *k = kl_test_unhex(jstr(v, "K_hex"), &k_len);
        char tag[KL_HMAC_SHA384_HEX_LEN + 1];

        (void)state;
        assert_int_equal(kl_hmac_sha384_hex(k, k_len, (const uint8_t *)uuid, strlen(uuid), tag), 0);
        assert_string_equal(tag, jstr(v, "auth_tag"));
        assert_int_equal(
            kl_hmac_sha384_hex(k, k_len, (const uint8_t *)challenge, strlen(challenge), tag), 0);
        assert_string_equal(tag, jstr(v, "verify_hmac"));
        /* a different key must give a different tag */
        k[0] ^= 1;
        assert_int_equal(kl_hmac_sha384_hex(k, k_len, (const uint8_t *)uuid, strlen(uuid), tag), 0);
        assert_string_not_equal(tag, jstr(v, "auth_tag"));
        kl_secure_free(k, k_len);
        kl_json_free(v);
}

/* registrar-api §5: key = base64(credential) as text, msg = agent UUID */
static void test_hmac_sha384_hex_registrar_activation(void **state)
{
        kl_json *v = kl_test_json_file("keys/keys-vector.json");
        kl_json *act = NULL;
        const char *uuid = jstr(v, "agent_uuid");
        const char *cred;
        char *key_b64 = NULL;
        char tag[KL_HMAC_SHA384_HEX_LEN + 1];

        (void)state;
        assert_int_equal(kl_json_get_object(v, "registrar_activation", &act), 0);
        cred = jstr(act, "credential_ascii");
        assert_int_equal(kl_b64_encode((const uint8_t *)cred, strlen(cred), &key_b64), 0);
        assert_string_equal(key_b64, jstr(act, "registrar_key_base64_of_credential"));
        assert_int_equal(kl_hmac_sha384_hex((const uint8_t *)key_b64, strlen(key_b64),
                                            (const uint8_t *)uuid, strlen(uuid), tag),
                         0);
        assert_string_equal(tag,
                            jstr(act, "auth_tag_hmac_sha384_key_is_base64_string_msg_is_uuid"));
        free(key_b64);
        kl_json_free(v);
}

static void test_mem_equal_ct_lengths_and_contents(void **state)
{
        (void)state;
        assert_true(kl_mem_equal_ct("abc", 3, "abc", 3));
        assert_false(kl_mem_equal_ct("abc", 3, "abd", 3));
        assert_false(kl_mem_equal_ct("abc", 3, "abcd", 4));
        assert_true(kl_mem_equal_ct("", 0, "", 0));
}

/* The tenant's payload: base64(IV16 || AES-256-GCM(payload.zip) || tag16) with K. */
static void test_aes_gcm_decrypt_keys_vector_payload(void **state)
{
        kl_json *v = kl_test_json_file("keys/keys-vector.json");
        const char *p64 = jstr(v, "payload_b64");
        size_t k_len = 0, blob_len = 0, zip_len = 0, ct_len;
        uint8_t *k = kl_test_unhex(jstr(v, "K_hex"), &k_len);
        uint8_t *blob = NULL, *out, *again, tag[16];
        uint8_t *zip = (uint8_t *)kl_test_data_file("payload/payload.zip", &zip_len);

        (void)state;
        assert_int_equal(kl_b64_decode(p64, strlen(p64), &blob, &blob_len), 0);
        assert_true(blob_len > 32);
        ct_len = blob_len - 32;
        out = malloc(ct_len);
        again = malloc(ct_len);
        assert_non_null(out);
        assert_non_null(again);
        assert_int_equal(
            kl_aes_gcm_decrypt(k, k_len, blob, 16, blob + 16, ct_len, blob + 16 + ct_len, out), 0);
        assert_int_equal(ct_len, zip_len);
        assert_memory_equal(out, zip, zip_len);
        /* encryption with the same IV reproduces the vector exactly */
        assert_int_equal(kl_aes_gcm_encrypt(k, k_len, blob, 16, out, ct_len, again, tag), 0);
        assert_memory_equal(again, blob + 16, ct_len);
        assert_memory_equal(tag, blob + 16 + ct_len, 16);
        /* a flipped ciphertext bit fails authentication */
        blob[20] ^= 0x01;
        assert_int_equal(
            kl_aes_gcm_decrypt(k, k_len, blob, 16, blob + 16, ct_len, blob + 16 + ct_len, out),
            KL_ERR_VERIFY);
        assert_int_equal(
            kl_aes_gcm_decrypt(k, 20, blob, 16, blob + 16, ct_len, blob + 16 + ct_len, out),
            KL_ERR_INVAL);
        free(again);
        free(out);
        free(zip);
        free(blob);
        kl_secure_free(k, k_len);
        kl_json_free(v);
}

/* NIST SP 800-38A F.3.13 CFB128-AES128.Encrypt, first block */
static void test_aes_cfb_encrypt_sp800_38a(void **state)
{
        size_t kl = 0, il = 0, pl = 0, cl = 0;
        uint8_t *key = kl_test_unhex("2b7e151628aed2a6abf7158809cf4f3c", &kl);
        uint8_t *iv = kl_test_unhex("000102030405060708090a0b0c0d0e0f", &il);
        uint8_t *pt = kl_test_unhex("6bc1bee22e409f96e93d7e117393172a", &pl);
        uint8_t *ct = kl_test_unhex("3b3fd92eb72dad20333449f8e83cfb4a", &cl);
        uint8_t out[16];

        (void)state;
        assert_int_equal(kl_aes_cfb_encrypt(key, kl, iv, pt, pl, out), 0);
        assert_memory_equal(out, ct, 16);
        /* CFB is a stream mode: a partial block is the prefix of the full one */
        assert_int_equal(kl_aes_cfb_encrypt(key, kl, iv, pt, 5, out), 0);
        assert_memory_equal(out, ct, 5);
        assert_int_equal(kl_aes_cfb_encrypt(key, 15, iv, pt, pl, out), KL_ERR_INVAL);
        free(ct);
        free(pt);
        free(iv);
        free(key);
}

static void test_rsa_oaep_roundtrip_and_wrong_key(void **state)
{
        EVP_PKEY *key = NULL, *other = NULL;
        const uint8_t secret[32] = "a 32-byte secret for OAEP tests";
        const uint8_t label[] = "IDENTITY";
        uint8_t *ct = NULL, *pt = NULL;
        size_t ct_len = 0, pt_len = 0;

        (void)state;
        assert_int_equal(kl_key_generate_rsa(2048, &key), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &other), 0);
        assert_int_equal(kl_rsa_oaep_encrypt(key, "sha1", NULL, 0, secret, 32, &ct, &ct_len), 0);
        assert_int_equal(ct_len, 256);
        assert_int_equal(kl_rsa_oaep_decrypt(key, "sha1", ct, ct_len, &pt, &pt_len), 0);
        assert_int_equal(pt_len, 32);
        assert_memory_equal(pt, secret, 32);
        kl_secure_free(pt, pt_len);
        pt = NULL;
        /* wrong private key, wrong hash */
        assert_int_equal(kl_rsa_oaep_decrypt(other, "sha1", ct, ct_len, &pt, &pt_len),
                         KL_ERR_VERIFY);
        assert_int_equal(kl_rsa_oaep_decrypt(key, "sha256", ct, ct_len, &pt, &pt_len),
                         KL_ERR_VERIFY);
        free(ct);
        ct = NULL;
        /* with a label the unlabelled decrypt must fail: the label is bound in */
        assert_int_equal(
            kl_rsa_oaep_encrypt(key, "sha256", label, sizeof(label), secret, 32, &ct, &ct_len), 0);
        assert_int_equal(kl_rsa_oaep_decrypt(key, "sha256", ct, ct_len, &pt, &pt_len),
                         KL_ERR_VERIFY);
        assert_null(pt);
        assert_int_equal(kl_rsa_oaep_encrypt(key, "md5", NULL, 0, secret, 32, &ct, &ct_len),
                         KL_ERR_UNSUPPORTED);
        free(ct);
        EVP_PKEY_free(other);
        EVP_PKEY_free(key);
}

static void test_key_save_pem_load_roundtrip(void **state)
{
        char dir[512], path[600];
        EVP_PKEY *key = NULL, *back = NULL;
        char *pem = NULL;
        struct stat st;

        (void)state;
        kl_test_tmpdir(dir, sizeof(dir), "kl-crypto");
        snprintf(path, sizeof(path), "%s/key.pem", dir);
        assert_int_equal(kl_key_load_pem(path, NULL, &back), KL_ERR_NOT_FOUND);
        assert_int_equal(kl_key_generate_ec_p256(&key), 0);
        assert_int_equal(kl_key_save_pem(path, key, NULL), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(kl_key_load_pem(path, NULL, &back), 0);
        assert_true(kl_pubkey_equal(key, back));
        EVP_PKEY_free(back);
        back = NULL;
        /* overwrite with an encrypted key: right password loads, none and wrong do not */
        assert_int_equal(kl_key_save_pem(path, key, "s3cret"), 0);
        assert_int_equal(kl_key_load_pem(path, "s3cret", &back), 0);
        assert_true(kl_pubkey_equal(key, back));
        EVP_PKEY_free(back);
        back = NULL;
        assert_int_equal(kl_key_load_pem(path, "wrong", &back), KL_ERR_CRYPTO);
        assert_int_equal(kl_key_load_pem(path, NULL, &back), KL_ERR_CRYPTO);
        assert_null(back);
        /* kl_crypto_err drained the queue: no stale error leaks into the next call */
        assert_int_equal(ERR_peek_error(), 0);
        assert_int_equal(kl_pubkey_to_pem(key, &pem), 0);
        assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----\n"));
        free(pem);
        EVP_PKEY_free(key);
        rm_tree(dir);
}

static void test_x509_parse_any_pem_b64_der(void **state)
{
        kl_json *v = kl_test_json_file("registrar/registrar-docs-example.json");
        kl_json *get = NULL, *res = NULL;
        const char *cert_b64;
        X509 *a = NULL, *b = NULL, *c = NULL;
        char *pem = NULL;
        uint8_t *der = NULL;
        size_t der_len = 0;

        (void)state;
        assert_int_equal(kl_json_get_object(v, "get_agent_response_example", &get), 0);
        assert_int_equal(kl_json_get_object(get, "results", &res), 0);
        cert_b64 = jstr(res, "ekcert");
        assert_int_equal(kl_x509_parse_any((const uint8_t *)cert_b64, strlen(cert_b64), &a), 0);
        assert_int_equal(kl_x509_to_pem(a, &pem), 0);
        assert_int_equal(kl_x509_to_der(a, &der, &der_len), 0);
        assert_int_equal(kl_x509_parse_any((const uint8_t *)pem, strlen(pem), &b), 0);
        assert_int_equal(kl_x509_parse_any(der, der_len, &c), 0);
        assert_int_equal(X509_cmp(a, b), 0);
        assert_int_equal(X509_cmp(a, c), 0);
        X509_free(b);
        b = NULL;
        /* garbage, a truncated DER and a broken PEM are refused */
        assert_int_equal(kl_x509_parse_any((const uint8_t *)"hello", 5, &b), KL_ERR_INVAL);
        assert_int_equal(kl_x509_parse_any(der, der_len / 2, &b), KL_ERR_INVAL);
        pem[40] = '!';
        assert_int_equal(kl_x509_parse_any((const uint8_t *)pem, strlen(pem), &b), KL_ERR_INVAL);
        assert_null(b);
        free(der);
        free(pem);
        X509_free(c);
        X509_free(a);
        kl_json_free(v);
}

static void test_x509_self_signed_fields(void **state)
{
        EVP_PKEY *key = NULL;
        X509 *cert = NULL, *dns = NULL;
        GENERAL_NAMES *san;
        BASIC_CONSTRAINTS *bc;
        const ASN1_INTEGER *serial;
        char cn[65];
        char dir[512], path[600];

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&key), 0);
        assert_int_equal(kl_x509_self_signed(key, "d432fbb3-agent", "127.0.0.1", 30, &cert), 0);
        assert_int_equal(X509_verify(cert, key), 1);
        assert_int_equal(X509_get_signature_nid(cert), NID_ecdsa_with_SHA256);
        assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                              sizeof(cn)) > 0);
        assert_string_equal(cn, "d432fbb3-agent");
        serial = X509_get0_serialNumber(cert);
        assert_true(ASN1_STRING_length(serial) >= 8);
        bc = X509_get_ext_d2i(cert, NID_basic_constraints, NULL, NULL);
        assert_non_null(bc);
        assert_int_equal(bc->ca, 0);
        BASIC_CONSTRAINTS_free(bc);
        san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        assert_non_null(san);
        assert_int_equal(sk_GENERAL_NAME_num(san), 1);
        assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_IPADD);
        GENERAL_NAMES_free(san);
        assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
        /* an agent id longer than the X.520 CN limit still gets a certificate */
        {
                char long_id[83];
                X509 *lc = NULL;

                memset(long_id, 'a', sizeof(long_id) - 1);
                long_id[sizeof(long_id) - 1] = '\0';
                assert_int_equal(kl_x509_self_signed(key, long_id, "", 1, &lc), 0);
                assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(lc),
                                                           NID_commonName, cn, sizeof(cn)),
                                 64);
                assert_null(X509_get_ext_d2i(lc, NID_subject_alt_name, NULL, NULL));
                X509_free(lc);
        }
        assert_int_equal(kl_x509_self_signed(key, "agent", "agent.example", 1, &dns), 0);
        assert_int_equal(X509_check_host(dns, "agent.example", 0, 0, NULL), 1);
        /* save and load back */
        kl_test_tmpdir(dir, sizeof(dir), "kl-crypto");
        snprintf(path, sizeof(path), "%s/cert.pem", dir);
        assert_int_equal(kl_x509_save_pem(path, dns), 0);
        X509_free(dns);
        dns = NULL;
        assert_int_equal(kl_x509_load_file(path, &dns), 0);
        assert_int_equal(X509_check_host(dns, "agent.example", 0, 0, NULL), 1);
        rm_tree(dir);
        X509_free(dns);
        X509_free(cert);
        EVP_PKEY_free(key);
}

static void add_ext(X509 *cert, int nid, int crit, void *value)
{
        assert_int_equal(X509_add1_ext_i2d(cert, nid, value, crit, X509V3_ADD_REPLACE), 1);
}

static X509 *make_ca(EVP_PKEY *key, const char *cn)
{
        X509 *ca = X509_new();
        X509_NAME *name = X509_NAME_new();
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();

        assert_non_null(ca);
        assert_non_null(name);
        assert_non_null(bc);
        assert_non_null(ku);
        X509_set_version(ca, X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(ca), 1);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
        X509_set_subject_name(ca, name);
        X509_set_issuer_name(ca, name);
        X509_gmtime_adj(X509_getm_notBefore(ca), -60);
        X509_gmtime_adj(X509_getm_notAfter(ca), 3600);
        X509_set_pubkey(ca, key);
        bc->ca = 0xff;
        add_ext(ca, NID_basic_constraints, 1, bc);
        ASN1_BIT_STRING_set_bit(ku, 5, 1); /* keyCertSign */
        add_ext(ca, NID_key_usage, 1, ku);
        assert_true(X509_sign(ca, key, EVP_sha256()) > 0);
        ASN1_BIT_STRING_free(ku);
        BASIC_CONSTRAINTS_free(bc);
        X509_NAME_free(name);
        return ca;
}

/*
 * Shaped like an swtpm EK certificate: empty-ish subject, critical SAN with
 * only a directoryName (TPM manufacturer/model/version), TCG EKU
 * 2.23.133.8.1, Subject Directory Attributes, keyEncipherment only.
 */
static X509 *make_ek_cert(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *ek_key)
{
        /* SEQUENCE { SEQUENCE { OID 2.23.133.2.16, SET { SEQUENCE { "2.0", 0, 162 } } } } */
        static const uint8_t sda[] = {0x30, 0x19, 0x30, 0x17, 0x06, 0x05, 0x67, 0x81, 0x05,
                                      0x02, 0x10, 0x31, 0x0e, 0x30, 0x0c, 0x0c, 0x03, 0x32,
                                      0x2e, 0x30, 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0xa2};
        X509 *ek = X509_new();
        X509_NAME *dn = X509_NAME_new();
        GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
        GENERAL_NAME *gen = GENERAL_NAME_new();
        EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
        ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
        BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
        ASN1_OCTET_STRING *sda_os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *sda_ext;
        const char *oids[3] = {"2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3"};
        const char *vals[3] = {"id:00001014", "swtpm", "id:20191023"};

        assert_non_null(ek);
        assert_non_null(sda_os);
        X509_set_version(ek, X509_VERSION_3);
        ASN1_INTEGER_set(X509_get_serialNumber(ek), 5);
        X509_set_issuer_name(ek, X509_get_subject_name(ca));
        X509_gmtime_adj(X509_getm_notBefore(ek), -60);
        X509_gmtime_adj(X509_getm_notAfter(ek), 3600);
        X509_set_pubkey(ek, ek_key);
        for (int i = 0; i < 3; i++) {
                ASN1_OBJECT *obj = OBJ_txt2obj(oids[i], 1);

                assert_int_equal(X509_NAME_add_entry_by_OBJ(dn, obj, MBSTRING_UTF8,
                                                            (const unsigned char *)vals[i], -1, -1,
                                                            0),
                                 1);
                ASN1_OBJECT_free(obj);
        }
        GENERAL_NAME_set0_value(gen, GEN_DIRNAME, dn);
        sk_GENERAL_NAME_push(san, gen);
        add_ext(ek, NID_subject_alt_name, 1, san);
        sk_ASN1_OBJECT_push(eku, OBJ_txt2obj("2.23.133.8.1", 1));
        add_ext(ek, NID_ext_key_usage, 0, eku);
        ASN1_BIT_STRING_set_bit(ku, 2, 1); /* keyEncipherment */
        add_ext(ek, NID_key_usage, 1, ku);
        add_ext(ek, NID_basic_constraints, 1, bc);
        ASN1_OCTET_STRING_set(sda_os, sda, sizeof(sda));
        sda_ext = X509_EXTENSION_create_by_NID(NULL, NID_subject_directory_attributes, 0, sda_os);
        assert_non_null(sda_ext);
        assert_int_equal(X509_add_ext(ek, sda_ext, -1), 1);
        assert_true(X509_sign(ek, ca_key, EVP_sha256()) > 0);
        X509_EXTENSION_free(sda_ext);
        ASN1_OCTET_STRING_free(sda_os);
        BASIC_CONSTRAINTS_free(bc);
        ASN1_BIT_STRING_free(ku);
        sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
        GENERAL_NAMES_free(san);
        return ek;
}

static void write_pem_certs(const char *path, X509 *a, X509 *b)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_int_equal(PEM_write_X509(f, a), 1);
        if (b != NULL)
                assert_int_equal(PEM_write_X509(f, b), 1);
        fclose(f);
}

static void test_x509_verify_with_ca_dir_ek_like_cert(void **state)
{
        EVP_PKEY *ca_key = NULL, *other_key = NULL, *ek_key = NULL;
        X509 *ca, *other, *ek;
        char good[512], bad[512], empty[512], path[600], why[256];

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&ca_key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&other_key), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &ek_key), 0);
        ca = make_ca(ca_key, "swtpm-localca");
        other = make_ca(other_key, "someone-else");
        ek = make_ek_cert(ca, ca_key, ek_key);
        kl_test_tmpdir(good, sizeof(good), "kl-crypto");
        kl_test_tmpdir(bad, sizeof(bad), "kl-crypto");
        kl_test_tmpdir(empty, sizeof(empty), "kl-crypto");
        /* the issuer is the second certificate of a bundle */
        snprintf(path, sizeof(path), "%s/bundle.pem", good);
        write_pem_certs(path, other, ca);
        snprintf(path, sizeof(path), "%s/ca.crt", bad);
        write_pem_certs(path, other, NULL);
        /* a right CA under a name we do not read must not count */
        snprintf(path, sizeof(path), "%s/ca.txt", empty);
        write_pem_certs(path, ca, NULL);

        assert_int_equal(kl_x509_verify_with_ca_dir(ek, good, NULL, why, sizeof(why)), 0);
        assert_string_equal(why, "");
        assert_int_equal(kl_x509_verify_with_ca_dir(ek, bad, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "issuer"));
        assert_int_equal(kl_x509_verify_with_ca_dir(ek, empty, NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        assert_non_null(strstr(why, "no CA"));
        rm_tree(good);
        rm_tree(bad);
        rm_tree(empty);
        X509_free(ek);
        X509_free(other);
        X509_free(ca);
        EVP_PKEY_free(ek_key);
        EVP_PKEY_free(other_key);
        EVP_PKEY_free(ca_key);
}

/* Keys rebuilt from raw public parameters (what a TPM public area carries) are the same keys. */
static void test_pubkey_from_raw_params(void **state)
{
        EVP_PKEY *rsa = NULL, *ec = NULL, *back = NULL;
        BIGNUM *n = NULL;
        uint8_t mod[512], pt[1 + 132];
        size_t pt_len = 0;
        int n_len;

        (void)state;
        assert_int_equal(kl_key_generate_rsa(2048, &rsa), 0);
        assert_int_equal(kl_key_generate_ec_p256(&ec), 0);
        assert_true(kl_pkey_is_rsa(rsa));
        assert_false(kl_pkey_is_rsa(ec));
        assert_int_equal(EVP_PKEY_get_bn_param(rsa, "n", &n), 1);
        n_len = BN_bn2bin(n, mod);
        assert_int_equal(kl_pubkey_from_rsa(mod, (size_t)n_len, 65537, &back), 0);
        assert_true(kl_pubkey_equal(back, rsa));
        kl_pkey_free(back);
        back = NULL;
        assert_int_equal(kl_pubkey_ec_point(ec, pt, sizeof(pt), &pt_len), 0);
        assert_int_equal(pt_len, 65);
        assert_int_equal(kl_pubkey_from_ec_point("P-256", pt, pt_len, &back), 0);
        assert_true(kl_pubkey_equal(back, ec));
        kl_pkey_free(back);
        back = NULL;
        pt[64] ^= 1; /* off the curve: outside input, refused as such */
        assert_int_equal(kl_pubkey_from_ec_point("P-256", pt, pt_len, &back), KL_ERR_INVAL);
        assert_null(back);
        BN_free(n);
        kl_pkey_free(rsa);
        kl_pkey_free(ec);
}

static size_t sign_digest(EVP_PKEY *key, int padding, const uint8_t *digest, uint8_t *sig,
                          size_t cap)
{
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
        size_t len = cap;

        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()), 1);
        if (padding != 0)
                assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, padding), 1);
        assert_int_equal(EVP_PKEY_sign(ctx, sig, &len, digest, 32), 1);
        EVP_PKEY_CTX_free(ctx);
        return len;
}

/* Signatures over a digest: RSASSA, RSAPSS, ECDSA as r and s; a changed digest fails. */
static void test_verify_digest(void **state)
{
        EVP_PKEY *rsa = NULL, *ec = NULL;
        uint8_t digest[32], sig[512], r[32], s[32];
        const unsigned char *p = sig;
        ECDSA_SIG *es;
        size_t len;

        (void)state;
        memset(digest, 0x5a, sizeof(digest));
        assert_int_equal(kl_key_generate_rsa(2048, &rsa), 0);
        assert_int_equal(kl_key_generate_ec_p256(&ec), 0);
        len = sign_digest(rsa, RSA_PKCS1_PADDING, digest, sig, sizeof(sig));
        assert_int_equal(kl_rsa_verify_digest(rsa, "sha256", false, digest, 32, sig, len), 0);
        assert_int_equal(kl_rsa_verify_digest(rsa, "sha256", true, digest, 32, sig, len),
                         KL_ERR_VERIFY);
        len = sign_digest(rsa, RSA_PKCS1_PSS_PADDING, digest, sig, sizeof(sig));
        assert_int_equal(kl_rsa_verify_digest(rsa, "sha256", true, digest, 32, sig, len), 0);
        digest[0] ^= 1;
        assert_int_equal(kl_rsa_verify_digest(rsa, "sha256", true, digest, 32, sig, len),
                         KL_ERR_VERIFY);
        digest[0] ^= 1;
        len = sign_digest(ec, 0, digest, sig, sizeof(sig));
        assert_non_null(es = d2i_ECDSA_SIG(NULL, &p, (long)len));
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), r, 32), 32);
        assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), s, 32), 32);
        ECDSA_SIG_free(es);
        assert_int_equal(kl_ecdsa_verify_digest(ec, "sha256", digest, 32, r, 32, s, 32), 0);
        s[31] ^= 1;
        assert_int_equal(kl_ecdsa_verify_digest(ec, "sha256", digest, 32, r, 32, s, 32),
                         KL_ERR_VERIFY);
        assert_int_equal(kl_ecdsa_verify_digest(ec, "sha256", digest, 32, r, 0, s, 32),
                         KL_ERR_INVAL);
        kl_pkey_free(rsa);
        kl_pkey_free(ec);
}

/* Both sides of an ECDH get the same Z; an ephemeral key on another curve is refused. */
static void test_ecdh_ephemeral(void **state)
{
        EVP_PKEY *a = NULL, *b = NULL, *p384 = NULL;
        uint8_t z1[66], z2[66], a_xy[132], b_xy[132], xy[132];
        size_t c1 = 0, c2 = 0;

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&a), 0);
        assert_int_equal(kl_key_generate_ec_p256(&b), 0);
        assert_non_null(p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"));
        assert_int_equal(kl_ecdh_ephemeral(a, b, z1, b_xy, a_xy, &c1), 0);
        assert_int_equal(kl_ecdh_ephemeral(b, a, z2, xy, xy, &c2), 0);
        assert_int_equal(c1, 32);
        assert_int_equal(c2, 32);
        assert_memory_equal(z1, z2, 32);
        assert_int_equal(kl_ecdh_ephemeral(a, p384, z1, b_xy, a_xy, &c1), KL_ERR_INVAL);
        assert_int_equal(kl_ecdh_ephemeral(a, NULL, z1, b_xy, a_xy, &c1), 0); /* fresh key */
        kl_pkey_free(a);
        kl_pkey_free(b);
        kl_pkey_free(p384);
}

/* A TLS certificate belongs to its key and to no other. */
static void test_x509_matches_key(void **state)
{
        EVP_PKEY *key = NULL, *other = NULL;
        X509 *cert = NULL;

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&other), 0);
        assert_int_equal(kl_x509_self_signed(key, "agent", NULL, 1, &cert), 0);
        assert_true(kl_x509_matches_key(cert, key));
        assert_false(kl_x509_matches_key(cert, other));
        assert_false(kl_x509_matches_key(NULL, key));
        kl_x509_free(cert);
        kl_pkey_free(key);
        kl_pkey_free(other);
}

/* A certificate with its chain links: PEM blocks after the first, capped; DER has none. */
static void test_x509_parse_bundle_links_and_cap(void **state)
{
        EVP_PKEY *key = NULL;
        X509 *c[3] = {NULL, NULL, NULL}, *cert = NULL;
        STACK_OF(X509) *chain = NULL;
        char *pem[3] = {NULL, NULL, NULL}, *bundle = NULL, *b64 = NULL;
        uint8_t *der = NULL;
        size_t der_len = 0;

        (void)state;
        assert_int_equal(kl_key_generate_ec_p256(&key), 0);
        for (int i = 0; i < 3; i++) {
                const char *cn[] = {"ek", "intermediate", "root"};

                assert_int_equal(kl_x509_self_signed(key, cn[i], NULL, 1, &c[i]), 0);
                assert_int_equal(kl_x509_to_pem(c[i], &pem[i]), 0);
        }
        assert_true(asprintf(&bundle, "%s%s%s", pem[0], pem[1], pem[2]) > 0);
        assert_int_equal(kl_x509_parse_bundle(bundle, 2, &cert, &chain), 0);
        assert_int_equal(X509_cmp(cert, c[0]), 0);
        assert_int_equal(sk_X509_num(chain), 2);
        assert_int_equal(X509_cmp(sk_X509_value(chain, 0), c[1]), 0);
        assert_int_equal(X509_cmp(sk_X509_value(chain, 1), c[2]), 0);
        kl_x509_free(cert);
        kl_x509_chain_free(chain);
        cert = NULL;
        chain = NULL;
        /* one link more than allowed, or a broken link, refuses the whole bundle */
        assert_int_equal(kl_x509_parse_bundle(bundle, 1, &cert, &chain), KL_ERR_INVAL);
        bundle[strlen(pem[0]) + strlen(pem[1]) + 40] = '!';
        assert_int_equal(kl_x509_parse_bundle(bundle, 2, &cert, &chain), KL_ERR_INVAL);
        assert_null(cert);
        assert_null(chain);
        /* base64 DER: the certificate alone */
        assert_int_equal(kl_x509_to_der(c[0], &der, &der_len), 0);
        assert_int_equal(kl_b64_encode(der, der_len, &b64), 0);
        assert_int_equal(kl_x509_parse_bundle(b64, 2, &cert, &chain), 0);
        assert_int_equal(sk_X509_num(chain), 0);
        kl_x509_free(cert);
        kl_x509_chain_free(chain);
        assert_int_equal(kl_x509_parse_bundle("hello", 2, &cert, &chain), KL_ERR_INVAL);
        free(b64);
        free(der);
        free(bundle);
        for (int i = 0; i < 3; i++) {
                free(pem[i]);
                kl_x509_free(c[i]);
        }
        kl_pkey_free(key);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_digest_sha256_abc),
            cmocka_unit_test(test_hmac_sha384_hex_keys_vector),
            cmocka_unit_test(test_hmac_sha384_hex_registrar_activation),
            cmocka_unit_test(test_mem_equal_ct_lengths_and_contents),
            cmocka_unit_test(test_aes_gcm_decrypt_keys_vector_payload),
            cmocka_unit_test(test_aes_cfb_encrypt_sp800_38a),
            cmocka_unit_test(test_rsa_oaep_roundtrip_and_wrong_key),
            cmocka_unit_test(test_key_save_pem_load_roundtrip),
            cmocka_unit_test(test_x509_parse_any_pem_b64_der),
            cmocka_unit_test(test_x509_self_signed_fields),
            cmocka_unit_test(test_x509_verify_with_ca_dir_ek_like_cert),
            cmocka_unit_test(test_pubkey_from_raw_params),
            cmocka_unit_test(test_verify_digest),
            cmocka_unit_test(test_ecdh_ephemeral),
            cmocka_unit_test(test_x509_matches_key),
            cmocka_unit_test(test_x509_parse_bundle_links_and_cap),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
