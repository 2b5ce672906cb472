/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/crypto/revocation_notice.c: the upstream vectors in
 * tests/data/revocation (test_ok.json signed in revocation.sig, and a full
 * verifier-format body) verify with the key of test-cert.pem, which itself
 * is refused since it expired (as is any certificate outside its dates); tampering,
 * unsigned, malformed and oversized bodies are refused; sign/verify round
 * trip with a key made here (no private key is committed).
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "revocation_notice.h"

static char *data_path(const char *name)
{
        const char *base = getenv("KL_TEST_DATA");
        char *p = NULL;

        assert_non_null(base);
        assert_true(asprintf(&p, "%s/revocation/%s", base, name) > 0);
        return p;
}

static char *read_data(const char *name, size_t *ret_len)
{
        char *path = data_path(name);
        char *text = NULL;

        assert_int_equal(kl_file_read(path, 1u << 20, &text, ret_len), 0);
        free(path);
        return text;
}

static X509 *test_cert(void)
{
        char *path = data_path("test-cert.pem");
        X509 *cert = NULL;

        assert_int_equal(kl_x509_load_file(path, &cert), 0);
        free(path);
        return cert;
}

/* {"msg": <test_ok.json>, "signature": <revocation.sig>} built as the upstream test does */
static char *upstream_body(void)
{
        size_t mlen, slen;
        char *msg = read_data("test_ok.json", &mlen);
        char *sig = read_data("revocation.sig", &slen);
        char *body = NULL;

        while (slen > 0 && (sig[slen - 1] == '\n' || sig[slen - 1] == '\r'))
                sig[--slen] = '\0';
        assert_int_equal(kl_revocation_body(msg, sig, &body), 0);
        free(msg);
        free(sig);
        return body;
}

static void test_upstream_vector(void **state)
{
        struct kl_revocation *rv = NULL;
        kl_json *ev = NULL;
        const char *hello = NULL;
        char *body = upstream_body();
        X509 *cert = test_cert();

        (void)state;
        assert_int_equal(kl_revocation_parse(body, strlen(body), &rv), 0);
        assert_int_equal(rv->msg_len, 25);
        assert_int_equal(rv->sig_len, 256);
        /* expired in 2023: the signature is good, the certificate no longer counts */
        assert_int_equal(kl_revocation_verify(rv, X509_get0_pubkey(cert)), 0);
        assert_int_equal(kl_revocation_verify_cert(rv, cert), KL_ERR_VERIFY);
        assert_false(kl_revocation_cert_current(cert, time(NULL)));
        assert_true(kl_revocation_cert_current(cert, 1650000000));  /* April 2022 */
        assert_false(kl_revocation_cert_current(cert, 1000000000)); /* 2001: not yet valid */
        assert_int_equal(kl_revocation_event(rv, &ev), 0);
        assert_int_equal(kl_json_get_string(ev, "hello", &hello), 0);
        assert_string_equal(hello, "there");
        /* one byte less (the final newline) is another message */
        rv->msg_len--;
        assert_int_equal(kl_revocation_verify(rv, X509_get0_pubkey(cert)), KL_ERR_VERIFY);
        rv->msg_len++;
        rv->sig[10] ^= 1;
        assert_int_equal(kl_revocation_verify(rv, X509_get0_pubkey(cert)), KL_ERR_VERIFY);
        kl_json_free(ev);
        kl_revocation_free(rv);
        X509_free(cert);
        free(body);
}

static void test_verifier_format_vector(void **state)
{
        struct kl_revocation *rv = NULL;
        kl_json *ev = NULL;
        const char *s = NULL;
        int64_t port = 0;
        size_t len;
        char *body = read_data("revocation-message.json", &len);
        X509 *cert = test_cert();

        (void)state;
        assert_int_equal(kl_revocation_parse(body, len, &rv), 0);
        assert_int_equal(kl_revocation_verify(rv, X509_get0_pubkey(cert)), 0);
        assert_int_equal(kl_revocation_event(rv, &ev), 0);
        assert_int_equal(kl_json_get_string(ev, "type", &s), 0);
        assert_string_equal(s, "revocation");
        assert_int_equal(kl_json_get_string(ev, "agent_id", &s), 0);
        assert_string_equal(s, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000");
        assert_int_equal(kl_json_get_string(ev, "event_id", &s), 0);
        assert_string_equal(s, "pcr_validation.invalid_pcr_10");
        assert_int_equal(kl_json_get_int(ev, "port", &port), 0);
        assert_int_equal(port, 9002);
        /* a changed msg does not verify */
        rv->msg[rv->msg_len - 2] ^= 0x20;
        assert_int_equal(kl_revocation_verify(rv, X509_get0_pubkey(cert)), KL_ERR_VERIFY);
        kl_json_free(ev);
        kl_revocation_free(rv);
        X509_free(cert);
        free(body);
}

static void test_malformed(void **state)
{
        static const char *const bad[] = {
            "",
            "not json",
            "[]",
            "{\"msg\": \"x\"}",
            "{\"signature\": \"\"}",
            "{\"msg\": 1, \"signature\": \"\"}",
            "{\"msg\": \"x\", \"signature\": null}",
            "{\"msg\": \"x\", \"signature\": \"***\"}",
            "{\"msg\": \"x\", \"signature\": \"\"",
            "{\"msg\": \"x\", \"signature\": \"\"} trailing",
        };
        struct kl_revocation *rv = NULL;
        char *huge;

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(kl_revocation_parse(bad[i], strlen(bad[i]), &rv), KL_ERR_INVAL);
        assert_null(rv);
        huge = calloc(1, KL_REVOCATION_MAX + 2);
        assert_non_null(huge);
        memset(huge, ' ', KL_REVOCATION_MAX + 1);
        assert_int_equal(kl_revocation_parse(huge, KL_REVOCATION_MAX + 1, &rv), KL_ERR_TOO_LONG);
        free(huge);
}

static void test_unsigned(void **state)
{
        static const char body[] = "{\"msg\": \"{}\", \"signature\": \"\"}";
        struct kl_revocation *rv = NULL;
        X509 *cert = test_cert();

        (void)state;
        assert_int_equal(kl_revocation_parse(body, strlen(body), &rv), 0);
        assert_int_equal(rv->sig_len, 0);
        assert_int_equal(kl_revocation_verify_cert(rv, cert), KL_ERR_VERIFY);
        assert_int_equal(kl_revocation_verify_cert(rv, NULL), KL_ERR_VERIFY);
        kl_revocation_free(rv);
        X509_free(cert);
}

static void test_sign_round_trip(void **state)
{
        static const char msg[] = "{\"type\": \"revocation\", \"agent_id\": \"a\"}";
        struct kl_revocation *rv = NULL;
        EVP_PKEY *key = NULL, *other = NULL, *ec = NULL;
        char *sig = NULL, *body = NULL;
        X509 *cert = test_cert(), *mine = NULL;

        (void)state;
        assert_int_equal(kl_key_generate_rsa(2048, &key), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &other), 0);
        assert_int_equal(kl_key_generate_ec_p256(&ec), 0);
        assert_int_equal(kl_revocation_sign(key, msg, strlen(msg), &sig), 0);
        assert_int_equal(kl_revocation_body(msg, sig, &body), 0);
        assert_int_equal(kl_revocation_parse(body, strlen(body), &rv), 0);
        assert_int_equal(rv->msg_len, strlen(msg));
        assert_int_equal(kl_revocation_verify(rv, key), 0);
        assert_int_equal(kl_revocation_verify(rv, other), KL_ERR_VERIFY);
        assert_int_equal(kl_revocation_verify(rv, ec), KL_ERR_VERIFY);
        /* the wrong certificate */
        assert_int_equal(kl_revocation_verify_cert(rv, cert), KL_ERR_VERIFY);
        /* the right key in a current certificate, then in one that expired yesterday */
        assert_int_equal(kl_x509_self_signed(key, "RevocationNotifier", NULL, 30, &mine), 0);
        assert_int_equal(kl_revocation_verify_cert(rv, mine), 0);
        assert_non_null(X509_gmtime_adj(X509_getm_notBefore(mine), -2 * 86400));
        assert_non_null(X509_gmtime_adj(X509_getm_notAfter(mine), -86400));
        assert_true(X509_sign(mine, key, EVP_sha256()) > 0);
        assert_false(kl_revocation_cert_current(mine, time(NULL)));
        assert_int_equal(kl_revocation_verify_cert(rv, mine), KL_ERR_VERIFY);
        X509_free(mine);
        assert_int_equal(kl_revocation_sign(ec, msg, strlen(msg), &body), KL_ERR_INVAL);
        kl_revocation_free(rv);
        free(sig);
        free(body);
        EVP_PKEY_free(key);
        EVP_PKEY_free(other);
        EVP_PKEY_free(ec);
        X509_free(cert);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_upstream_vector), cmocka_unit_test(test_verifier_format_vector),
            cmocka_unit_test(test_malformed),       cmocka_unit_test(test_unsigned),
            cmocka_unit_test(test_sign_round_trip),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
