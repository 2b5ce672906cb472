/* SPDX-License-Identifier: Apache-2.0 */
/* Shared unit-test helpers (see test_util.h); linked into every unit test. */
/* cmocka.h needs these first; the blank line keeps clang-format from sorting it above */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "fileio.h"
#include "hex.h"
#include "json.h"
#include "test_util.h"
#include "tpm.h"
#include "tpm_public.h"

#define DATA_FILE_MAX (16 * 1024 * 1024)

char *kl_test_data_file(const char *rel, size_t *ret_len)
{
        const char *dir = getenv("KL_TEST_DATA");
        char path[1024];
        char *text = NULL;
        size_t len = 0;

        assert_non_null(dir);
        assert_true(snprintf(path, sizeof(path), "%s/%s", dir, rel) < (int)sizeof(path));
        assert_int_equal(kl_file_read(path, DATA_FILE_MAX, &text, &len), 0);
        assert_true(len > 0);
        if (ret_len != NULL)
                *ret_len = len;
        return text;
}

kl_json *kl_test_json_file(const char *rel)
{
        kl_json *obj = NULL;
        size_t len = 0;
        char *text = kl_test_data_file(rel, &len);

        assert_int_equal(kl_json_parse_object(text, len, &obj), 0);
        free(text);
        return obj;
}

uint8_t *kl_test_unhex(const char *hex, size_t *ret_len)
{
        uint8_t *buf = NULL;

        assert_int_equal(kl_hex_decode(hex, strlen(hex), &buf, ret_len), 0);
        return buf;
}

uint8_t *kl_test_unb64(const char *s, size_t *ret_len)
{
        uint8_t *buf = NULL;

        assert_int_equal(kl_b64_decode(s, strlen(s), &buf, ret_len), 0);
        return buf;
}

void kl_test_hex_eq(const uint8_t *got, size_t len, const char *want)
{
        char hex[129];

        assert_true(len <= 64);
        kl_hex_encode_to(got, len, hex);
        assert_string_equal(hex, want);
}

void kl_test_tmpdir(char *dir, size_t size, const char *prefix)
{
        const char *base = getenv("TMPDIR");

        if (base == NULL || base[0] == '\0')
                base = "/tmp";
        assert_true(snprintf(dir, size, "%s/%s-XXXXXX", base, prefix) < (int)size);
        assert_non_null(mkdtemp(dir));
}

double kl_test_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct kl_tpm_public *kl_test_ak_from_pem(const char *pem)
{
        static const uint8_t head[] = {
            0x00, 0x01,             /* type RSA */
            0x00, 0x0b,             /* nameAlg SHA-256 */
            0x00, 0x05, 0x00, 0x72, /* attributes: restricted signing AK */
            0x00, 0x00,             /* authPolicy: empty */
            0x00, 0x10,             /* symmetric NULL */
            0x00, 0x14, 0x00, 0x0b, /* scheme RSASSA, SHA-256 */
            0x08, 0x00,             /* keyBits 2048 */
            0x00, 0x00, 0x00, 0x00, /* exponent 0 = 65537 */
            0x01, 0x00,             /* unique: 256-byte modulus */
        };
        uint8_t buf[2 + sizeof(head) + 256];
        struct kl_tpm_public *ak = NULL;
        BIO *bio = BIO_new_mem_buf(pem, -1);
        EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        BIGNUM *n = NULL;

        assert_non_null(key);
        assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
        buf[0] = (uint8_t)((sizeof(buf) - 2) >> 8);
        buf[1] = (uint8_t)(sizeof(buf) - 2);
        memcpy(buf + 2, head, sizeof(head));
        assert_int_equal(BN_bn2binpad(n, buf + 2 + sizeof(head), 256), 256);
        assert_int_equal(kl_tpm_public_parse(buf, sizeof(buf), &ak), 0);
        BN_free(n);
        EVP_PKEY_free(key);
        BIO_free(bio);
        return ak;
}

struct kl_tpm *kl_test_tpm_open(const char *enc)
{
        /* never let tctildr probe /dev/tpm* or whatever listens on 127.0.0.1:2321 */
        struct kl_tpm_options o = {.tcti = getenv("TCTI"), .enc_alg = enc};
        struct kl_tpm *t = NULL;
        char why[256];
        int r;

        assert_non_null(o.tcti);
        r = kl_tpm_open(&o, &t, why, sizeof(why));
        if (r != 0)
                print_error("kl_tpm_open: %s\n", why);
        assert_int_equal(r, 0);
        assert_non_null(t);
        return t;
}

size_t kl_test_tool_output(const char *cmd, char *out, size_t out_len)
{
        FILE *f = popen(cmd, "r");
        size_t n;

        assert_non_null(f);
        n = fread(out, 1, out_len - 1, f);
        out[n] = '\0';
        assert_int_equal(pclose(f), 0);
        return n;
}

void kl_test_assert_no_tpm_leftovers(void)
{
        char out[512];

        assert_non_null(getenv("TPM2TOOLS_TCTI"));
        assert_int_equal(kl_test_tool_output("tpm2_getcap handles-transient", out, sizeof(out)), 0);
        assert_int_equal(
            kl_test_tool_output("tpm2_getcap handles-loaded-session", out, sizeof(out)), 0);
}

int kl_test_flush_tpm_leftovers(void **state)
{
        (void)state;
        if (system("tpm2_flushcontext -t >/dev/null 2>&1") != 0 ||
            system("tpm2_flushcontext -l >/dev/null 2>&1") != 0)
                return -1;
        return 0;
}
