/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/crypto/platform_cert.c: TCG platform attribute certificates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "err.h"
#include "platform_cert.h"
#include "test_util.h"

/* A platform CA, an EK certificate (the holder) and a second one with another serial. */
struct pki {
        EVP_PKEY *ca_key, *other_ca_key, *ek_key;
        X509 *ca, *other_ca, *ek, *ek_twin;
        char ca_dir[256], other_dir[256];
        char path[300], other_path[300];
};

static void write_ca(X509 *ca, char *dir, size_t dir_len, char *path, size_t path_len)
{
        kl_test_tmpdir(dir, dir_len, "kl-pcert");
        snprintf(path, path_len, "%s/ca.pem", dir);
        assert_int_equal(kl_x509_save_pem(path, ca), 0);
}

static int pki_setup(void **state)
{
        struct pki *p = calloc(1, sizeof(*p));

        assert_non_null(p);
        assert_int_equal(kl_key_generate_ec_p256(&p->ca_key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&p->other_ca_key), 0);
        assert_int_equal(kl_key_generate_ec_p256(&p->ek_key), 0);
        assert_int_equal(kl_x509_self_signed(p->ca_key, "test platform CA", NULL, 30, &p->ca), 0);
        assert_int_equal(
            kl_x509_self_signed(p->other_ca_key, "other platform CA", NULL, 30, &p->other_ca), 0);
        /* self-signed: issuer = subject "EK", random serial numbers that differ */
        assert_int_equal(kl_x509_self_signed(p->ek_key, "EK", NULL, 30, &p->ek), 0);
        assert_int_equal(kl_x509_self_signed(p->ek_key, "EK", NULL, 30, &p->ek_twin), 0);
        write_ca(p->ca, p->ca_dir, sizeof(p->ca_dir), p->path, sizeof(p->path));
        write_ca(p->other_ca, p->other_dir, sizeof(p->other_dir), p->other_path,
                 sizeof(p->other_path));
        *state = p;
        return 0;
}

static int pki_teardown(void **state)
{
        struct pki *p = *state;

        unlink(p->path);
        unlink(p->other_path);
        rmdir(p->ca_dir);
        rmdir(p->other_dir);
        EVP_PKEY_free(p->ca_key);
        EVP_PKEY_free(p->other_ca_key);
        EVP_PKEY_free(p->ek_key);
        X509_free(p->ca);
        X509_free(p->other_ca);
        X509_free(p->ek);
        X509_free(p->ek_twin);
        free(p);
        return 0;
}

static const struct kl_platform_cert_spec good_spec = {
    .attrs = {.manufacturer = "kl-testbed",
              .model = "kl-testbed-platform",
              .version = "1.0",
              .serial = "PLAT-0001"},
    .serial_number = 7,
};

static uint8_t *make(struct pki *p, struct kl_platform_cert_spec spec, EVP_PKEY *key,
                     size_t *ret_len)
{
        uint8_t *der = NULL;
        time_t now = time(NULL);

        if (spec.not_before == 0)
                spec.not_before = now - 60;
        if (spec.not_after == 0)
                spec.not_after = now + 3600;
        assert_int_equal(kl_platform_cert_make(&spec, p->ek, key == p->ca_key ? p->ca : p->other_ca,
                                               key, &der, ret_len),
                         0);
        return der;
}

static void assert_check(struct pki *p, const uint8_t *der, size_t len, X509 *holder,
                         const char *dir, const char *reason_part)
{
        char why[512] = "";
        int r = kl_platform_cert_check(der, len, holder, dir, time(NULL), NULL, why, sizeof(why));

        if (reason_part == NULL) {
                assert_int_equal(r, 0);
                return;
        }
        assert_int_equal(r, KL_ERR_VERIFY);
        if (strstr(why, reason_part) == NULL)
                fail_msg("reason '%s' does not mention '%s'", why, reason_part);
        (void)p;
}

static void test_platform_cert_make_parse_roundtrip(void **state)
{
        struct pki *p = *state;
        struct kl_platform_cert *pc = NULL;
        const struct kl_platform_attrs *a;
        char nb[21], na[21], serial[41];
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->ca_key, &len);

        assert_int_equal(kl_platform_cert_parse(der, len, &pc), 0);
        a = kl_platform_cert_attrs(pc);
        assert_string_equal(a->manufacturer, "kl-testbed");
        assert_string_equal(a->model, "kl-testbed-platform");
        assert_string_equal(a->version, "1.0");
        assert_string_equal(a->serial, "PLAT-0001");
        assert_int_equal(kl_platform_cert_serial_hex(pc, serial, sizeof(serial)), 0);
        assert_string_equal(serial, "07");
        assert_int_equal(kl_platform_cert_validity(pc, nb, na), 0);
        assert_int_equal(strlen(nb), 20);
        assert_int_equal(nb[19], 'Z');
        kl_platform_cert_free(pc);
        assert_check(p, der, len, p->ek, p->ca_dir, NULL);
        free(der);
}

static void test_platform_cert_check_wrong_serial(void **state)
{
        struct pki *p = *state;
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->ca_key, &len);

        assert_check(p, der, len, p->ek_twin, p->ca_dir, "serial number");
        free(der);
}

static void test_platform_cert_check_wrong_issuer(void **state)
{
        struct pki *p = *state;
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->ca_key, &len);

        /* the CA certificate as holder: another issuer DN */
        assert_check(p, der, len, p->ca, p->ca_dir, "not the EK certificate's issuer");
        free(der);
}

static void test_platform_cert_check_expired(void **state)
{
        struct pki *p = *state;
        struct kl_platform_cert_spec spec = good_spec;
        time_t now = time(NULL);
        size_t len = 0;
        uint8_t *der;

        spec.not_before = now - 7200;
        spec.not_after = now - 3600;
        der = make(p, spec, p->ca_key, &len);
        assert_check(p, der, len, p->ek, p->ca_dir, "expired");
        free(der);
        spec.not_before = now + 3600;
        spec.not_after = now + 7200;
        der = make(p, spec, p->ca_key, &len);
        assert_check(p, der, len, p->ek, p->ca_dir, "not yet valid");
        free(der);
}

static void test_platform_cert_check_foreign_ca(void **state)
{
        struct pki *p = *state;
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->other_ca_key, &len);

        assert_check(p, der, len, p->ek, p->ca_dir, "not a trusted platform CA");
        assert_check(p, der, len, p->ek, p->other_dir, NULL);
        free(der);
}

static void test_platform_cert_check_tampered(void **state)
{
        struct pki *p = *state;
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->ca_key, &len);
        uint8_t *hit = memmem(der, len, "PLAT-0001", 9);

        assert_non_null(hit);
        hit[8] = '2'; /* still well-formed, no longer what was signed */
        assert_check(p, der, len, p->ek, p->ca_dir, "signature does not verify");
        free(der);
}

static void test_platform_cert_parse_garbage(void **state)
{
        struct pki *p = *state;
        struct kl_platform_cert *pc = NULL;
        uint8_t junk[64];
        uint8_t *ek_der = NULL, *der, *longer;
        size_t ek_len = 0, len = 0;

        memset(junk, 0x30, sizeof(junk));
        assert_int_equal(kl_platform_cert_parse(junk, sizeof(junk), &pc), KL_ERR_INVAL);
        assert_int_equal(kl_platform_cert_parse(NULL, 0, &pc), KL_ERR_INVAL);
        assert_check(p, junk, sizeof(junk), p->ek, p->ca_dir, "not a DER TCG platform");
        /* an X.509 public-key certificate is not an attribute certificate */
        assert_int_equal(kl_x509_to_der(p->ek, &ek_der, &ek_len), 0);
        assert_int_equal(kl_platform_cert_parse(ek_der, ek_len, &pc), KL_ERR_INVAL);
        free(ek_der);
        der = make(p, good_spec, p->ca_key, &len);
        /* every truncation, and one trailing byte */
        for (size_t cut = 0; cut < len; cut++)
                assert_int_equal(kl_platform_cert_parse(der, cut, &pc), KL_ERR_INVAL);
        longer = malloc(len + 1);
        assert_non_null(longer);
        memcpy(longer, der, len);
        longer[len] = 0;
        assert_int_equal(kl_platform_cert_parse(longer, len + 1, &pc), KL_ERR_INVAL);
        free(longer);
        free(der);
}

/* BER that is not DER (a long-form length where the short form fits) is refused. */
static void test_platform_cert_parse_not_der(void **state)
{
        struct pki *p = *state;
        struct kl_platform_cert *pc = NULL;
        size_t len = 0;
        uint8_t *der = make(p, good_spec, p->ca_key, &len);
        uint8_t *ber = malloc(len + 1);
        /* the version INTEGER 02 01 01 right inside the two outer SEQUENCE headers */
        uint8_t *v = memmem(der, len, "\x02\x01\x01", 3);

        assert_non_null(ber);
        assert_non_null(v);
        assert_true(der[1] == 0x82 && der[5] == 0x82); /* both lengths long-form, 2 bytes */
        memcpy(ber, der, (size_t)(v - der) + 1);
        ber[v - der + 1] = 0x81; /* 02 81 01 01 */
        memcpy(ber + (v - der) + 2, v + 1, len - (size_t)(v - der) - 1);
        /* fix both enclosing lengths (+1) */
        for (int at = 2; at <= 6; at += 4) {
                unsigned n = (unsigned)ber[at] << 8 | ber[at + 1];

                n++;
                ber[at] = (uint8_t)(n >> 8);
                ber[at + 1] = (uint8_t)n;
        }
        assert_int_equal(kl_platform_cert_parse(ber, len + 1, &pc), KL_ERR_INVAL);
        free(ber);
        free(der);
}

static void test_platform_cert_make_needs_attributes(void **state)
{
        struct pki *p = *state;
        struct kl_platform_cert_spec spec = good_spec;
        uint8_t *der = NULL;
        size_t len = 0;

        spec.attrs.model = NULL;
        assert_int_equal(kl_platform_cert_make(&spec, p->ek, p->ca, p->ca_key, &der, &len),
                         KL_ERR_INVAL);
        spec = good_spec;
        spec.attrs.version = "";
        spec.not_before = time(NULL);
        spec.not_after = spec.not_before + 60;
        assert_int_equal(kl_platform_cert_make(&spec, p->ek, p->ca, p->ca_key, &der, &len),
                         KL_ERR_INVAL);
        assert_null(der);
}

/* Made by `openssl asn1parse -genconf` (tests/data/platform_cert/make-thirdparty.sh). */
static void test_platform_cert_thirdparty_der(void **state)
{
        struct kl_platform_cert *pc = NULL;
        const struct kl_platform_attrs *a;
        char *der, *ek_pem, dir[512], nb[21], na[21], serial[41], why[256] = "";
        size_t len = 0, ek_len = 0;
        X509 *ek = NULL, *other = NULL;
        const char *data = getenv("KL_TEST_DATA");

        (void)state;
        assert_non_null(data);
        der = kl_test_data_file("platform_cert/thirdparty.der", &len);
        ek_pem = kl_test_data_file("platform_cert/ek.pem", &ek_len);
        assert_int_equal(kl_x509_parse_any((const uint8_t *)ek_pem, ek_len, &ek), 0);
        assert_int_equal(kl_platform_cert_parse((const uint8_t *)der, len, &pc), 0);
        a = kl_platform_cert_attrs(pc);
        assert_string_equal(a->manufacturer, "Third Party OEM");
        assert_string_equal(a->model, "TP-1000");
        assert_string_equal(a->version, "rev B");
        assert_string_equal(a->serial, "SN-000042");
        assert_int_equal(kl_platform_cert_serial_hex(pc, serial, sizeof(serial)), 0);
        assert_string_equal(serial, "2a");
        assert_int_equal(kl_platform_cert_validity(pc, nb, na), 0);
        assert_string_equal(nb, "2025-01-01T00:00:00Z");
        assert_string_equal(na, "2049-12-31T23:59:59Z");
        kl_platform_cert_free(pc);
        snprintf(dir, sizeof(dir), "%s/platform_cert/ca", data);
        assert_int_equal(kl_platform_cert_check((const uint8_t *)der, len, ek, dir, time(NULL),
                                                NULL, why, sizeof(why)),
                         0);
        /* its holder is this EK certificate only: the CA certificate of the EK is not it */
        free(ek_pem);
        ek_pem = kl_test_data_file("platform_cert/ek-ca.pem", &ek_len);
        assert_int_equal(kl_x509_parse_any((const uint8_t *)ek_pem, ek_len, &other), 0);
        assert_int_equal(kl_platform_cert_check((const uint8_t *)der, len, other, dir, time(NULL),
                                                NULL, why, sizeof(why)),
                         KL_ERR_VERIFY);
        X509_free(other);
        X509_free(ek);
        free(ek_pem);
        free(der);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_platform_cert_make_parse_roundtrip),
            cmocka_unit_test(test_platform_cert_check_wrong_serial),
            cmocka_unit_test(test_platform_cert_check_wrong_issuer),
            cmocka_unit_test(test_platform_cert_check_expired),
            cmocka_unit_test(test_platform_cert_check_foreign_ca),
            cmocka_unit_test(test_platform_cert_check_tampered),
            cmocka_unit_test(test_platform_cert_parse_garbage),
            cmocka_unit_test(test_platform_cert_parse_not_der),
            cmocka_unit_test(test_platform_cert_make_needs_attributes),
            cmocka_unit_test(test_platform_cert_thirdparty_der),
        };

        return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
