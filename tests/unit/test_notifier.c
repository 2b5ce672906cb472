/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for verifier-stub/notifier.c: event IDs from the poller's
 * failure reasons, and the event (msg) it signs: upstream's keys and types,
 * a null ip/port when unknown, and a notice that verifies with the key.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "notifier.h"
#include "revocation_notice.h"

static void test_event_id(void **state)
{
        char id[64];

        (void)state;
        ver_notifier_event_id("PCR 23 (sha256) is 00, policy allows 11", id, sizeof(id));
        assert_string_equal(id, "pcr_validation.invalid_pcr_23");
        ver_notifier_event_id("PCR 0 (sha256) is 00, the boot event log replays to 11", id,
                              sizeof(id));
        assert_string_equal(id, "measured_boot.invalid_pcr_0");
        ver_notifier_event_id("IMA entry 3: digest not allowed", id, sizeof(id));
        assert_string_equal(id, "ima.invalid_entry");
        ver_notifier_event_id("quote signature does not verify with the agent's AK", id,
                              sizeof(id));
        assert_string_equal(id, "quote_validation.quote_validation");
        ver_notifier_event_id("PCR 99 whatever", id, sizeof(id));
        assert_string_equal(id, "quote_validation.quote_validation");
        ver_notifier_event_id(NULL, id, sizeof(id));
        assert_string_equal(id, "quote_validation.quote_validation");
}

static void test_msg_signed(void **state)
{
        const struct ver_revocation_event ev = {
            .agent_id = "d432fbb3-d2f1-4a97-9ef7-75bd81c00000",
            .ip = "127.0.0.1",
            .port = 9002,
            .tpm_policy = "{\"23\": [\"00\"]}",
            .event_id = "pcr_validation.invalid_pcr_23",
            .reason = "PCR 23 \"changed\"",
            .when = 0,
        };
        struct ver_revocation_event anon = ev;
        kl_json *o = NULL, *ctx = NULL;
        struct kl_revocation *rv = NULL;
        const char *s = NULL;
        char *msg = NULL, *sig = NULL, *body = NULL;
        EVP_PKEY *key = NULL;
        int64_t port = 0;

        (void)state;
        assert_int_equal(ver_notifier_build_msg(&ev, &msg), 0);
        assert_int_equal(kl_json_parse_object(msg, strlen(msg), &o), 0);
        assert_int_equal(kl_json_get_string(o, "type", &s), 0);
        assert_string_equal(s, "revocation");
        assert_int_equal(kl_json_get_int(o, "port", &port), 0);
        assert_int_equal(port, 9002);
        assert_int_equal(kl_json_get_string(o, "tpm_policy", &s), 0);
        assert_string_equal(s, ev.tpm_policy);
        assert_int_equal(kl_json_get_string(o, "meta_data", &s), 0);
        assert_string_equal(s, "{}");
        assert_int_equal(kl_json_get_string(o, "severity_label", &s), 0);
        assert_string_equal(s, "emergency");
        assert_int_equal(kl_json_get_string(o, "event_time", &s), 0);
        assert_int_equal(strlen(s), 24); /* asctime without the newline */
        assert_int_equal(kl_json_get_string(o, "context", &s), 0);
        assert_int_equal(kl_json_parse_object(s, strlen(s), &ctx), 0);
        assert_int_equal(kl_json_get_string(ctx, "message", &s), 0);
        assert_string_equal(s, ev.reason);

        assert_int_equal(kl_key_generate_rsa(2048, &key), 0);
        assert_int_equal(kl_revocation_sign(key, msg, strlen(msg), &sig), 0);
        assert_int_equal(kl_revocation_body(msg, sig, &body), 0);
        assert_int_equal(kl_revocation_parse(body, strlen(body), &rv), 0);
        assert_int_equal(kl_revocation_verify(rv, key), 0);
        assert_int_equal(rv->sig_len, 256);

        kl_json_free(o);
        kl_json_free(ctx);
        free(msg);
        anon.ip = NULL;
        anon.port = 0;
        assert_int_equal(ver_notifier_build_msg(&anon, &msg), 0);
        assert_int_equal(kl_json_parse_object(msg, strlen(msg), &o), 0);
        /* present, as null */
        assert_true(kl_json_has(o, "ip") && kl_json_member(o, "ip") == NULL);
        assert_true(kl_json_has(o, "port") && kl_json_member(o, "port") == NULL);
        kl_json_free(o);
        free(msg);
        free(sig);
        free(body);
        kl_revocation_free(rv);
        EVP_PKEY_free(key);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_event_id),
            cmocka_unit_test(test_msg_signed),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
