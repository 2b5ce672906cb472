/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/keys.c: U/V combination in both orders against
 * tests/data/keys/keys-vector.json (K, U, V, auth tag, verify HMAC need no
 * private key), a wrong auth tag, the bound on waiting shares, and request
 * parsing with an NK generated here (nothing private is committed).
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "hex.h"
#include "json.h"
#include "keys.h"

struct vec {
        kl_json *root;
        const char *uuid;
        uint8_t *k, *u, *v, *tag;
        size_t k_len, u_len, v_len, tag_len;
        const char *challenge;
        const char *verify_hmac;
};

static struct vec vec;

static const char *vstr(const char *key)
{
        const char *s = NULL;

        assert_int_equal(kl_json_get_string(vec.root, key, &s), 0);
        return s;
}

static int setup(void **state)
{
        const char *dir = getenv("KL_TEST_DATA");
        char path[4096], *text = NULL;
        size_t len = 0;

        (void)state;
        snprintf(path, sizeof(path), "%s/keys/keys-vector.json", dir != NULL ? dir : "tests/data");
        if (kl_file_read(path, 1u << 20, &text, &len) < 0 ||
            kl_json_parse_object(text, len, &vec.root) < 0)
                return -1;
        free(text);
        vec.uuid = vstr("agent_uuid");
        vec.challenge = vstr("verify_challenge");
        vec.verify_hmac = vstr("verify_hmac");
        if (kl_hex_decode(vstr("K_hex"), 64, &vec.k, &vec.k_len) < 0 ||
            kl_hex_decode(vstr("U_hex"), 64, &vec.u, &vec.u_len) < 0 ||
            kl_hex_decode(vstr("V_hex"), 64, &vec.v, &vec.v_len) < 0 ||
            kl_hex_decode(vstr("auth_tag"), 96, &vec.tag, &vec.tag_len) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        free(vec.k);
        free(vec.u);
        free(vec.v);
        free(vec.tag);
        kl_json_free(vec.root);
        return 0;
}

static struct keys_share *share(enum keys_kind kind, const uint8_t *key, size_t len,
                                const uint8_t *tag, bool with_payload)
{
        struct keys_share *s = calloc(1, sizeof(*s));

        assert_non_null(s);
        s->kind = kind;
        memcpy(s->key, key, len);
        s->key_len = len;
        if (tag != NULL)
                memcpy(s->auth_tag, tag, KL_SHA384_LEN);
        if (with_payload) {
                s->payload = malloc(40);
                assert_non_null(s->payload);
                memset(s->payload, 0x5a, 40);
                s->payload_len = 40;
        }
        return s;
}

static void add(struct keys_state *st, struct keys_share *s, bool want_match, bool want_payload)
{
        uint8_t k[KEYS_KEY_MAX], *payload = NULL;
        size_t payload_len = 0, k_len = 0;
        uint64_t seq = 99;
        bool matched = true;

        assert_int_equal(keys_add(st, s, &matched, &payload, &payload_len, k, &k_len, &seq), 0);
        assert_int_equal(matched, want_match);
        if (want_match)
                assert_true(seq > 0);
        else
                assert_int_equal(seq, 0);
        if (want_payload) {
                assert_non_null(payload);
                assert_int_equal(payload_len, 40);
                assert_int_equal(k_len, vec.k_len);
                assert_memory_equal(k, vec.k, vec.k_len);
        } else {
                assert_null(payload);
                assert_int_equal(k_len, 0);
        }
        kl_secure_free(payload, payload_len);
}

static void assert_verify_vector(struct keys_state *st)
{
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];

        assert_int_equal(keys_verify_hmac(st, vec.challenge, hex), 0);
        assert_string_equal(hex, vec.verify_hmac);
}

static void test_keys_vector_values_are_consistent(void **state)
{
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];

        (void)state;
        for (size_t i = 0; i < vec.k_len; i++)
                assert_int_equal(vec.k[i], vec.u[i] ^ vec.v[i]);
        assert_int_equal(
            kl_hmac_sha384_hex(vec.k, vec.k_len, (const uint8_t *)vec.uuid, strlen(vec.uuid), hex),
            0);
        assert_string_equal(hex, vstr("auth_tag"));
}

static void test_keys_add_u_then_v(void **state)
{
        struct keys_state *st = NULL;
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        assert_int_equal(keys_verify_hmac(st, vec.challenge, hex), KL_ERR_NOT_FOUND);
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, true), false, false);
        assert_int_equal(keys_verify_hmac(st, vec.challenge, hex), KL_ERR_NOT_FOUND);
        add(st, share(KEYS_V, vec.v, vec.v_len, NULL, false), true, true);
        assert_verify_vector(st);
        keys_state_free(st);
}

static void test_keys_add_v_then_u(void **state)
{
        struct keys_state *st = NULL;
        size_t nu = 9, nv = 9;

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        add(st, share(KEYS_V, vec.v, vec.v_len, NULL, false), false, false);
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, false), true, false);
        assert_verify_vector(st);
        keys_pending(st, &nu, &nv);
        assert_int_equal(nu, 0);
        assert_int_equal(nv, 0);
        keys_state_free(st);
}

static void test_keys_add_wrong_auth_tag_rejected(void **state)
{
        struct keys_state *st = NULL;
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];
        uint8_t bad[KL_SHA384_LEN];

        (void)state;
        memcpy(bad, vec.tag, sizeof(bad));
        bad[47] ^= 1;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        add(st, share(KEYS_U, vec.u, vec.u_len, bad, true), false, false);
        add(st, share(KEYS_V, vec.v, vec.v_len, NULL, false), false, false);
        /* no K, and the payload was never handed out to be decrypted */
        assert_int_equal(keys_verify_hmac(st, vec.challenge, hex), KL_ERR_NOT_FOUND);
        /* the right U still combines with the waiting V */
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, true), true, true);
        assert_verify_vector(st);
        keys_state_free(st);
}

static void test_keys_add_length_mismatch_rejected(void **state)
{
        struct keys_state *st = NULL;
        char hex[KL_HMAC_SHA384_HEX_LEN + 1];

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, false), false, false);
        add(st, share(KEYS_V, vec.v, 16, NULL, false), false, false);
        assert_int_equal(keys_verify_hmac(st, vec.challenge, hex), KL_ERR_NOT_FOUND);
        keys_state_free(st);
}

static void test_keys_pending_lists_are_bounded(void **state)
{
        struct keys_state *st = NULL;
        uint8_t junk[32];
        size_t nu = 0, nv = 0;

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        for (unsigned i = 0; i < 100; i++) {
                memset(junk, (int)i, sizeof(junk));
                add(st, share(KEYS_U, junk, 32, vec.tag, true), false, false);
                add(st, share(KEYS_V, junk, 32, NULL, false), false, false);
        }
        keys_pending(st, &nu, &nv);
        assert_int_equal(nu, KEYS_PENDING_MAX);
        assert_int_equal(nv, KEYS_PENDING_MAX);
        /* the newest shares are kept: a real pair still works after the flood */
        add(st, share(KEYS_V, vec.v, vec.v_len, NULL, false), false, false);
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, false), true, false);
        assert_verify_vector(st);
        keys_state_free(st);
}

static struct keys_share *from(struct keys_share *s, const char *sender)
{
        snprintf(s->sender, sizeof(s->sender), "%s", sender);
        return s;
}

/* keys_add's answer for a share that must be refused */
static int add_refused(struct keys_state *st, struct keys_share *s)
{
        uint8_t k[KEYS_KEY_MAX], *payload = NULL;
        size_t payload_len = 0, k_len = 0;
        uint64_t seq = 0;
        bool matched = true;
        int r = keys_add(st, s, &matched, &payload, &payload_len, k, &k_len, &seq);

        assert_false(matched);
        assert_null(payload);
        return r;
}

static void test_keys_add_other_verifier_cannot_replace_k(void **state)
{
        struct keys_state *st = NULL;
        uint8_t k2[32], v2[32], tag2[KL_SHA384_LEN];
        size_t nu = 0, nv = 0, tag_len = 0;

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        add(st, from(share(KEYS_U, vec.u, vec.u_len, vec.tag, false), "tenant"), false, false);
        add(st, from(share(KEYS_V, vec.v, vec.v_len, NULL, false), "verifier"), true, false);
        /* a complete, valid pair for a new K from another certificate of the same CA */
        memset(k2, 0x11, sizeof(k2));
        memset(v2, 0x22, sizeof(v2));
        assert_int_equal(
            kl_hmac("sha384", k2, 32, (const uint8_t *)vec.uuid, strlen(vec.uuid), tag2, &tag_len),
            0);
        for (size_t i = 0; i < 32; i++)
                k2[i] ^= v2[i]; /* now U */
        add(st, from(share(KEYS_U, k2, 32, tag2, false), "intruder"), false, false);
        assert_int_equal(add_refused(st, from(share(KEYS_V, v2, 32, NULL, false), "intruder")),
                         KL_ERR_EXISTS);
        /* nor may an unauthenticated client */
        assert_int_equal(add_refused(st, share(KEYS_V, v2, 32, NULL, false)), KL_ERR_EXISTS);
        assert_verify_vector(st);
        keys_pending(st, &nu, &nv);
        assert_int_equal(nv, 0);
        /* the verifier that delivered V resets it: its new V completes the waiting U */
        add(st, from(share(KEYS_V, v2, 32, NULL, false), "verifier"), true, false);
        keys_state_free(st);
}

static void test_keys_add_unauthenticated_k_is_final(void **state)
{
        struct keys_state *st = NULL;

        (void)state;
        assert_int_equal(keys_state_new(vec.uuid, &st), 0);
        add(st, share(KEYS_U, vec.u, vec.u_len, vec.tag, false), false, false);
        add(st, share(KEYS_V, vec.v, vec.v_len, NULL, false), true, false);
        /* no identity to match: no V is accepted until a restart */
        assert_int_equal(add_refused(st, share(KEYS_V, vec.v, vec.v_len, NULL, false)),
                         KL_ERR_EXISTS);
        assert_int_equal(add_refused(st, from(share(KEYS_V, vec.v, vec.v_len, NULL, false), "x")),
                         KL_ERR_EXISTS);
        assert_verify_vector(st);
        keys_state_free(st);
}

/* ---- parsing with a throwaway NK ---- */

static EVP_PKEY *nk;

static char *encrypt_b64(const uint8_t *data, size_t len)
{
        uint8_t *ct = NULL;
        size_t ct_len = 0;
        char *b64 = NULL;

        assert_int_equal(kl_rsa_oaep_encrypt(nk, "sha1", NULL, 0, data, len, &ct, &ct_len), 0);
        assert_int_equal(kl_b64_encode(ct, ct_len, &b64), 0);
        free(ct);
        return b64;
}

static int parse(enum keys_kind kind, const char *body, struct keys_share **ret, char *err)
{
        return keys_parse_request(nk, kind, body, strlen(body), ret, err, 256);
}

static void test_keys_parse_request_ukey_and_vkey(void **state)
{
        struct keys_share *s = NULL;
        char body[4096], err[256] = "";
        char *eu = encrypt_b64(vec.u, vec.u_len), *ev = encrypt_b64(vec.v, vec.v_len);

        (void)state;
        snprintf(body, sizeof(body),
                 "{\"auth_tag\":\"%s\",\"encrypted_key\":\"%s\","
                 "\"payload\":\"%s\"}",
                 vstr("auth_tag"), eu, vstr("payload_b64"));
        assert_int_equal(parse(KEYS_U, body, &s, err), 0);
        assert_int_equal(s->key_len, 32);
        assert_memory_equal(s->key, vec.u, 32);
        assert_memory_equal(s->auth_tag, vec.tag, 48);
        assert_non_null(s->payload);
        assert_true(s->payload_len > 32);
        keys_share_free(s);
        s = NULL;
        snprintf(body, sizeof(body), "{\"encrypted_key\":\"%s\"}", ev);
        assert_int_equal(parse(KEYS_V, body, &s, err), 0);
        assert_memory_equal(s->key, vec.v, 32);
        assert_null(s->payload);
        keys_share_free(s);
        free(eu);
        free(ev);
}

static void expect_error(enum keys_kind kind, const char *body, const char *prefix)
{
        struct keys_share *s = NULL;
        char err[256] = "";

        assert_int_equal(parse(kind, body, &s, err), 400);
        assert_null(s);
        if (strncmp(err, prefix, strlen(prefix)) != 0)
                fail_msg("got '%s', expected '%s...'", err, prefix);
}

static void test_keys_parse_request_errors(void **state)
{
        uint8_t twenty[20] = {0};
        char body[4096];
        char *eu = encrypt_b64(vec.u, vec.u_len), *e20 = encrypt_b64(twenty, 20);

        (void)state;
        expect_error(KEYS_U, "not json", "Json deserialize error");
        expect_error(KEYS_U, "{\"encrypted_key\":\"AAAA\"}",
                     "Json deserialize error: missing field `auth_tag`");
        expect_error(KEYS_V, "{}", "Json deserialize error: missing field `encrypted_key`");
        expect_error(KEYS_V, "{\"encrypted_key\":5}", "Json deserialize error: invalid type");
        expect_error(KEYS_V, "{\"encrypted_key\":\"a*b\"}",
                     "Invalid base64 encoding in encrypted_key: ");
        expect_error(KEYS_V, "{\"encrypted_key\":\"AAAA\"}", "Failed to decrypt encrypted_key: ");
        snprintf(body, sizeof(body), "{\"encrypted_key\":\"%s\"}", e20);
        expect_error(KEYS_V, body, "Decrypted key is invalid: invalid AES key size: 20");
        snprintf(body, sizeof(body), "{\"auth_tag\":\"%s\",\"encrypted_key\":\"%s\"}",
                 vstr("auth_tag"), e20);
        expect_error(KEYS_U, body, "Invalid decrypted key: invalid AES key size: 20");
        snprintf(body, sizeof(body), "{\"auth_tag\":\"xyz\",\"encrypted_key\":\"%s\"}", eu);
        expect_error(KEYS_U, body, "Invalid hex encoding in auth_tag: ");
        snprintf(body, sizeof(body), "{\"auth_tag\":\"abcd\",\"encrypted_key\":\"%s\"}", eu);
        expect_error(KEYS_U, body, "auth tag length 2 does not correspond to valid SHA-384 HMAC");
        snprintf(body, sizeof(body),
                 "{\"auth_tag\":\"%s\",\"encrypted_key\":\"%s\",\"payload\":\"!!\"}",
                 vstr("auth_tag"), eu);
        expect_error(KEYS_U, body, "Invalid base64 encoding in payload: ");
        free(eu);
        free(e20);
}

static int setup_nk(void **state)
{
        (void)state;
        return kl_key_generate_rsa(2048, &nk) == 0 ? 0 : -1;
}

static int teardown_nk(void **state)
{
        (void)state;
        EVP_PKEY_free(nk);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_keys_vector_values_are_consistent),
            cmocka_unit_test(test_keys_add_u_then_v),
            cmocka_unit_test(test_keys_add_v_then_u),
            cmocka_unit_test(test_keys_add_wrong_auth_tag_rejected),
            cmocka_unit_test(test_keys_add_length_mismatch_rejected),
            cmocka_unit_test(test_keys_add_other_verifier_cannot_replace_k),
            cmocka_unit_test(test_keys_add_unauthenticated_k_is_final),
            cmocka_unit_test(test_keys_pending_lists_are_bounded),
            cmocka_unit_test_setup_teardown(test_keys_parse_request_ukey_and_vkey, setup_nk,
                                            teardown_nk),
            cmocka_unit_test_setup_teardown(test_keys_parse_request_errors, setup_nk, teardown_nk),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
