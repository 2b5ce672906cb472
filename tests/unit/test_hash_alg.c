/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "hash_alg.h"
#include "test_util.h"

/* What the agent's configuration makes of tpm_hash_alg = name (from the environment). */
static int config_with_hash(const char *name)
{
        struct kl_agent_config *cfg = NULL;
        char root[PATH_MAX];
        int r;

        kl_test_tmpdir(root, sizeof(root), "kl-hash-alg");
        assert_int_equal(setenv("KEYLIME_AGENT_TPM_HASH_ALG", name, 1), 0);
        r = kl_agent_config_load(root, &cfg);
        if (r == 0)
                assert_string_equal(cfg->tpm_hash_alg, name);
        kl_agent_config_free(cfg);
        assert_int_equal(unsetenv("KEYLIME_AGENT_TPM_HASH_ALG"), 0);
        assert_int_equal(rmdir(root), 0);
        return r;
}

/* Every spelling a configuration file or a quote may use, with its TPM_ALG_ID and size. */
static void test_every_spelling(void **state)
{
        static const struct {
                const char *name, *rust;
                uint16_t id;
                size_t len;
        } want[] = {
            {"sha1", "Sha1", 0x0004, 20},
            {"sha256", "Sha256", 0x000b, 32},
            {"sha384", "Sha384", 0x000c, 48},
            {"sha512", "Sha512", 0x000d, 64},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                const struct kl_hash_alg *h = kl_hash_alg_by_name(want[i].name);

                assert_non_null(h);
                assert_true(h->supported);
                assert_int_equal(h->id, want[i].id);
                assert_int_equal(h->digest_len, want[i].len);
                assert_string_equal(h->rust_name, want[i].rust);
                assert_ptr_equal(kl_hash_alg_by_id(want[i].id), h);
                assert_int_equal(kl_hash_alg_from_name(want[i].name), want[i].id);
                assert_string_equal(kl_hash_alg_name(want[i].id), want[i].name);
                assert_int_equal(kl_hash_alg_digest_len(want[i].id), want[i].len);
                assert_int_equal(config_with_hash(want[i].name), 0);
        }
}

/* sm3_256 is a name a configuration may hold, but nothing here can compute it. */
static void test_known_but_unsupported(void **state)
{
        const struct kl_hash_alg *h = kl_hash_alg_by_name("sm3_256");

        (void)state;
        assert_non_null(h);
        assert_false(h->supported);
        assert_int_equal(h->id, 0x0012);
        assert_ptr_equal(kl_hash_alg_by_id(0x0012), h);
        assert_int_equal(kl_hash_alg_from_name("sm3_256"), 0);
        assert_null(kl_hash_alg_name(0x0012));
        assert_int_equal(kl_hash_alg_digest_len(0x0012), 0);
        assert_int_equal(config_with_hash("sm3_256"), 0); /* refused later, by the TPM code */
}

/* One case rule: exact lower case; anything else is unknown. */
static void test_unknown_names_refused(void **state)
{
        static const char *const bad[] = {"SHA256", "Sha256", "sha-256", "sha 256",  "sha256 ",
                                          "sha",    "md5",    "",        "sha3_256", "sm3"};

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_null(kl_hash_alg_by_name(bad[i]));
                assert_int_equal(kl_hash_alg_from_name(bad[i]), 0);
                if (*bad[i] != '\0') /* an empty variable means "not set" to the config */
                        assert_int_equal(config_with_hash(bad[i]), KL_ERR_CONFIG);
        }
        assert_null(kl_hash_alg_by_name(NULL));
        assert_int_equal(kl_hash_alg_from_name(NULL), 0);
        assert_null(kl_hash_alg_by_id(0x0000));
        assert_null(kl_hash_alg_by_id(0x0010)); /* TPM_ALG_NULL */
        assert_null(kl_hash_alg_name(0x0005));  /* TPM_ALG_HMAC is not a hash */
        assert_int_equal(kl_hash_alg_digest_len(0xffff), 0);
}

/* The message lists every entry of the table, and nothing else. */
static void test_names_message_matches_table(void **state)
{
        const struct kl_hash_alg *h;
        size_t i, listed = 0;

        (void)state;
        for (i = 0; (h = kl_hash_alg_at(i)) != NULL; i++) {
                assert_non_null(strstr(KL_HASH_ALG_NAMES, h->name));
                listed += strlen(h->name);
        }
        assert_int_equal(i, 5);
        /* names, ", " between all but the last two, " or " before the last */
        assert_int_equal(strlen(KL_HASH_ALG_NAMES), listed + 2 * (i - 2) + 4);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_every_spelling),
            cmocka_unit_test(test_known_but_unsupported),
            cmocka_unit_test(test_unknown_names_refused),
            cmocka_unit_test(test_names_message_matches_table),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
