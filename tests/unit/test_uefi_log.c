/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/evidence/uefi_log.c: the Keylime UEFI log vector (PCR values cross-checked once
 * against tpm2_eventlog 5.4's "pcrs:" summary, valid for this log: it has no StartupLocality
 * event), a synthetic two-bank log with StartupLocality 3, truncation and corruption, and the
 * measured-boot policy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "uefi_log.h"
#include "test_util.h"

#define VEC_PCR0 "5c4103d6dcf2a90c30a646cc090a8de10cbe1c4a1f21c0d7d4f2f4836b2055da"
#define VEC_PCR7 "7ab310d890fb86d2084bcf75a11172654fc4fbe5ec29f68afd864e22bd0e13ab"
/* tpm2_eventlog numbers 124 events, counting the Spec ID header */
#define VEC_EVENTS 123
#define VEC_MASK   0x43ffu /* PCRs 0-9 and 14 */

static uint8_t *vec;
static size_t vec_len;

static int load_vector(void **state)
{
        char path[4096];
        const char *dir = getenv("KL_TEST_DATA");

        (void)state;
        snprintf(path, sizeof(path), "%s/uefi/uefi_log.bin", dir ? dir : "tests/data");
        return kl_file_read(path, 1 << 20, (char **)&vec, &vec_len) == 0 ? 0 : -1;
}

static int free_vector(void **state)
{
        (void)state;
        free(vec);
        return 0;
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/* Offset of the first TCG_PCR_EVENT2 (after the SHA-1-format header event). */
static size_t first_event(void)
{
        return 32 + get32(vec + 28);
}

static void test_uefi_log_vector(void **state)
{
        struct kl_uefi_pcrs pcrs;
        char why[256];

        (void)state;
        assert_int_equal(kl_uefi_log_replay(vec, vec_len, &pcrs, why, sizeof(why)), 0);
        assert_int_equal(pcrs.n_events, VEC_EVENTS);
        assert_int_equal(pcrs.mask, VEC_MASK);
        kl_test_hex_eq(pcrs.sha256[0], 32, VEC_PCR0);
        kl_test_hex_eq(pcrs.sha256[7], 32, VEC_PCR7);
        /* the log has no SHA-1 bank: left at zero */
        assert_true(pcrs.sha1[0][0] == 0 && pcrs.sha1[7][19] == 0);
}

static void test_uefi_log_truncated(void **state)
{
        struct kl_uefi_pcrs pcrs;
        size_t cuts[] = {
            0, 1, 20, 31, 40, first_event() - 1, first_event() + 3, first_event() + 9, vec_len - 1};
        char why[256];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
                why[0] = '\0';
                assert_int_equal(kl_uefi_log_replay(vec, cuts[i], &pcrs, why, sizeof(why)),
                                 KL_ERR_INVAL);
                assert_true(why[0] != '\0');
        }
}

static void test_uefi_log_corrupted(void **state)
{
        uint8_t *copy = malloc(vec_len);
        struct kl_uefi_pcrs pcrs;
        size_t ev = first_event();
        char why[256];

        (void)state;
        assert_non_null(copy);
        /* PCR index out of range */
        memcpy(copy, vec, vec_len);
        put32(copy + ev, 24);
        assert_int_equal(kl_uefi_log_replay(copy, vec_len, &pcrs, why, sizeof(why)), KL_ERR_INVAL);
        assert_non_null(strstr(why, "PCR 24"));
        /* digest count that disagrees with the header */
        memcpy(copy, vec, vec_len);
        put32(copy + ev + 8, 0xffffffffu);
        assert_int_equal(kl_uefi_log_replay(copy, vec_len, &pcrs, why, sizeof(why)), KL_ERR_INVAL);
        /* event size beyond the end */
        memcpy(copy, vec, vec_len);
        put32(copy + ev + 12 + 2 + 32, 0xfffffff0u);
        assert_int_equal(kl_uefi_log_replay(copy, vec_len, &pcrs, why, sizeof(why)), KL_ERR_INVAL);
        /* unknown algorithm id in an event */
        memcpy(copy, vec, vec_len);
        copy[ev + 12] = 0x05;
        assert_int_equal(kl_uefi_log_replay(copy, vec_len, &pcrs, why, sizeof(why)), KL_ERR_INVAL);
        /* not a Spec ID Event03 header */
        memcpy(copy, vec, vec_len);
        copy[32 + 13] = '2';
        assert_int_equal(kl_uefi_log_replay(copy, vec_len, &pcrs, why, sizeof(why)), KL_ERR_INVAL);
        free(copy);
}

/* Appends a TCG_PCR_EVENT2 with sha1 and sha256 digests of data. */
static size_t add_event(uint8_t *log, size_t o, uint32_t pcr, uint32_t type, const void *data,
                        uint32_t size)
{
        size_t hl = 0;

        put32(log + o, pcr);
        put32(log + o + 4, type);
        put32(log + o + 8, 2);
        o += 12;
        log[o++] = 0x04;
        log[o++] = 0x00;
        assert_int_equal(kl_digest("sha1", data, size, log + o, &hl), 0);
        o += 20;
        log[o++] = 0x0b;
        log[o++] = 0x00;
        assert_int_equal(kl_digest("sha256", data, size, log + o, &hl), 0);
        o += 32;
        put32(log + o, size);
        memcpy(log + o + 4, data, size);
        return o + 4 + size;
}

/* Header (sha1 + sha256), StartupLocality 3, one event in PCR 0, one in PCR 7. */
static size_t synthetic_log(uint8_t *log)
{
        static const uint8_t loc[17] = "StartupLocality\0\3";
        size_t o = 0;

        memset(log, 0, 32);
        put32(log + 4, 3); /* EV_NO_ACTION */
        o = 32;
        memcpy(log + o, "Spec ID Event03", 16);
        o += 16;
        memset(log + o, 0, 8);
        log[o + 5] = 2; /* specVersionMajor */
        log[o + 7] = 2; /* uintnSize */
        o += 8;
        put32(log + o, 2);
        o += 4;
        memcpy(log + o, "\x04\x00\x14\x00\x0b\x00\x20\x00", 8);
        o += 8;
        log[o++] = 0; /* vendorInfoSize */
        put32(log + 28, (uint32_t)(o - 32));
        o = add_event(log, o, 0, 3, loc, sizeof(loc));
        o = add_event(log, o, 0, 0x8, "crtm", 4);
        o = add_event(log, o, 7, 0x80000001u, "secureboot", 10);
        return o;
}

static void test_uefi_log_startup_locality(void **state)
{
        uint8_t log[1024], buf[64], want[32];
        struct kl_uefi_pcrs pcrs;
        size_t len = synthetic_log(log), hl = 0;
        char why[256];

        (void)state;
        assert_int_equal(kl_uefi_log_replay(log, len, &pcrs, why, sizeof(why)), 0);
        assert_int_equal(pcrs.n_events, 3);
        assert_int_equal(pcrs.mask, 0x81);
        /* PCR 0 = H(00..03 || H("crtm")) */
        memset(buf, 0, 32);
        buf[31] = 3;
        assert_int_equal(kl_digest("sha256", "crtm", 4, buf + 32, &hl), 0);
        assert_int_equal(kl_digest("sha256", buf, 64, want, &hl), 0);
        assert_memory_equal(pcrs.sha256[0], want, 32);
        memset(buf, 0, 20);
        buf[19] = 3;
        assert_int_equal(kl_digest("sha1", "crtm", 4, buf + 20, &hl), 0);
        assert_int_equal(kl_digest("sha1", buf, 40, want, &hl), 0);
        assert_memory_equal(pcrs.sha1[0], want, 20);
}

static void test_mb_policy_pass_fail(void **state)
{
        struct kl_mb_policy *p = NULL;
        struct kl_uefi_pcrs pcrs;
        char why[512], json[512];

        (void)state;
        assert_int_equal(kl_uefi_log_replay(vec, vec_len, &pcrs, why, sizeof(why)), 0);
        snprintf(json, sizeof(json), "{\"sha256\": {\"0\": \"%s\", \"7\": \"%s\"}}", VEC_PCR0,
                 VEC_PCR7);
        assert_int_equal(kl_mb_policy_parse(json, strlen(json), &p, why, sizeof(why)), 0);
        assert_int_equal(kl_mb_policy_check(p, &pcrs, why, sizeof(why)), 0);
        kl_mb_policy_free(p);
        /* PCR 7 wrong */
        snprintf(json, sizeof(json), "{\"sha256\": {\"0\": \"%s\", \"7\": \"%s\"}}", VEC_PCR0,
                 VEC_PCR0);
        assert_int_equal(kl_mb_policy_parse(json, strlen(json), &p, why, sizeof(why)), 0);
        assert_int_equal(kl_mb_policy_check(p, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "PCR 7: event log gives sha256:7ab310d8"));
        assert_non_null(strstr(why, "policy expects 5c4103d6"));
        kl_mb_policy_free(p);
        /* a PCR the log never extends (sha1 bank is absent from this log) */
        snprintf(json, sizeof(json),
                 "{\"sha1\": {\"0\": \"0000000000000000000000000000000000000000\"}, "
                 "\"sha256\": {\"15\": \"%s\"}}",
                 VEC_PCR0);
        assert_int_equal(kl_mb_policy_parse(json, strlen(json), &p, why, sizeof(why)), 0);
        assert_int_equal(kl_mb_policy_check(p, &pcrs, why, sizeof(why)), KL_ERR_VERIFY);
        assert_non_null(strstr(why, "PCR 15"));
        kl_mb_policy_free(p);
        kl_mb_policy_free(NULL);
}

static void test_mb_policy_parse_errors(void **state)
{
        static const char *bad[] = {
            "[]",
            "{\"sha384\": {}}",
            "{\"sha256\": []}",
            "{\"sha256\": {\"24\": \"00\"}}",
            "{\"sha256\": {\"07\": \"00\"}}",
            "{\"sha256\": {\"-1\": \"00\"}}",
            "{\"sha256\": {\"0\": \"00\"}}",
            "{\"sha256\": {\"0\": 5}}",
            "{\"sha1\": {\"0\": \"zz00000000000000000000000000000000000000\"}}",
        };
        struct kl_mb_policy *p = NULL;
        char why[256];
        size_t i;

        (void)state;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                assert_int_equal(kl_mb_policy_parse(bad[i], strlen(bad[i]), &p, why, sizeof(why)),
                                 KL_ERR_INVAL);
                assert_null(p);
                assert_true(why[0] != '\0');
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_uefi_log_vector),
            cmocka_unit_test(test_uefi_log_truncated),
            cmocka_unit_test(test_uefi_log_corrupted),
            cmocka_unit_test(test_uefi_log_startup_locality),
            cmocka_unit_test(test_mb_policy_pass_fail),
            cmocka_unit_test(test_mb_policy_parse_errors),
        };

        return cmocka_run_group_tests(tests, load_vector, free_vector);
}
