/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/tpm/certified.c (kl_certified_check): what a verifier
 * accepts before it issues a certificate to a key an agent says is in its
 * TPM. The certifications are built in software (lib/tpm/soft_tpm.c) as
 * TPM2_Certify makes them, so each case changes exactly one thing a check
 * looks at and everything else stays valid: each refusal comes from the
 * check it names, and the test fails if that check goes. One fixed vector
 * comes from a real TPM (tests/data/certify: swtpm's answer to POST
 * /keys/certify and its AK), so the checks and the software TPM cannot
 * share a misreading of TPM2_Certify.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "certified.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "json.h"
#include "soft_tpm.h"
#include "test_util.h"
#include "tpm_public.h"

#define NONCE "Xq7bR2kLm9PzT4vW8yNc"

/* What the agent's TPM key has (agent: lib/tpm/tpm_certified.c's template). */
#define TPM_KEY_ATTRS                                                                              \
        (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |        \
         TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT)

/* Keys made once: RSA generation is slow. */
struct keys {
        EVP_PKEY *ak_ecc, *ak_rsa, *other_ak, *key_ecc, *key_rsa, *soft;
};

static int keys_up(void **state)
{
        struct keys *k = calloc(1, sizeof(*k));

        assert_non_null(k);
        assert_int_equal(kl_key_generate_ec_p256(&k->ak_ecc), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &k->ak_rsa), 0);
        assert_int_equal(kl_key_generate_ec_p256(&k->other_ak), 0);
        assert_int_equal(kl_key_generate_ec_p256(&k->key_ecc), 0);
        assert_int_equal(kl_key_generate_rsa(2048, &k->key_rsa), 0);
        assert_int_equal(kl_key_generate_ec_p256(&k->soft), 0);
        *state = k;
        return 0;
}

static int keys_down(void **state)
{
        struct keys *k = *state;

        kl_pkey_free(k->ak_ecc);
        kl_pkey_free(k->ak_rsa);
        kl_pkey_free(k->other_ak);
        kl_pkey_free(k->key_ecc);
        kl_pkey_free(k->key_rsa);
        kl_pkey_free(k->soft);
        free(k);
        return 0;
}

/* An AK as the registrar holds it (aik_tpm), and its Name. */
struct ak {
        struct kl_tpm_public *pub;
        uint8_t name[2 + 64];
        size_t name_len;
};

static void ak_of(EVP_PKEY *key, struct ak *ret)
{
        uint8_t *buf = NULL;
        size_t len = 0;

        assert_int_equal(kl_soft_ak_public(key, &buf, &len), 0);
        assert_int_equal(kl_tpm_public_parse(buf, len, &ret->pub), 0);
        assert_int_equal(kl_tpm_public_name(ret->pub, ret->name, &ret->name_len), 0);
        free(buf);
}

/* What the agent answers POST /keys/certify with. */
struct answer {
        uint8_t *pub, *attest, *sig;
        size_t pub_len, attest_len, sig_len;
};

static void answer_clear(struct answer *a)
{
        free(a->pub);
        free(a->attest);
        free(a->sig);
        memset(a, 0, sizeof(*a));
}

static void name_of(const uint8_t *pub, size_t pub_len, uint8_t *name, size_t *name_len)
{
        struct kl_tpm_public *p = NULL;

        assert_int_equal(kl_tpm_public_parse(pub, pub_len, &p), 0);
        assert_int_equal(kl_tpm_public_name(p, name, name_len), 0);
        kl_tpm_public_free(p);
}

/*
 * signer (with signer_ak's Name as qualifiedSigner) certifies the key whose
 * public area is certified_pub over nonce; the answer carries pub (the
 * certified one unless another is given).
 */
static void certify(EVP_PKEY *signer, const struct ak *signer_ak, const char *nonce,
                    const uint8_t *certified_pub, size_t certified_len, struct answer *ret)
{
        uint8_t name[2 + 64];
        size_t name_len = 0;

        name_of(certified_pub, certified_len, name, &name_len);
        assert_int_equal(kl_soft_certify(signer, signer_ak->name, signer_ak->name_len,
                                         (const uint8_t *)nonce, strlen(nonce), name, name_len,
                                         &ret->attest, &ret->attest_len, &ret->sig, &ret->sig_len),
                         0);
        assert_non_null(ret->pub = malloc(certified_len));
        memcpy(ret->pub, certified_pub, certified_len);
        ret->pub_len = certified_len;
}

/* A signing key's TPM2B_PUBLIC with attrs; caller frees. */
static uint8_t *key_public(EVP_PKEY *key, uint32_t attrs, size_t *ret_len)
{
        uint8_t *buf = NULL;

        assert_int_equal(kl_soft_signing_public(key, attrs, &buf, ret_len), 0);
        return buf;
}

/* kl_certified_check of ans against ak and nonce: its result, the reason in why. */
static int check(const struct ak *ak, const char *nonce, const struct answer *ans, char *why,
                 size_t why_len)
{
        struct kl_tpm_public *key = NULL;
        int r;

        why[0] = '\0';
        r = kl_certified_check(ak->pub, nonce, ans->pub, ans->pub_len, ans->attest, ans->attest_len,
                               ans->sig, ans->sig_len, &key, why, why_len);
        if (r == 0) {
                assert_non_null(key);
                kl_tpm_public_free(key);
        } else {
                assert_null(key);
                assert_true(why[0] != '\0');
        }
        return r;
}

static void assert_refused(const struct ak *ak, const char *nonce, const struct answer *ans,
                           const char *reason)
{
        char why[256];

        assert_int_equal(check(ak, nonce, ans, why, sizeof(why)), KL_ERR_VERIFY);
        if (strstr(why, reason) == NULL)
                fail_msg("reason '%s' does not say '%s'", why, reason);
}

static void test_certified_check_accepts_tpm_key(void **state)
{
        struct keys *k = *state;
        EVP_PKEY *aks[] = {k->ak_ecc, k->ak_rsa}, *keys[] = {k->key_ecc, k->key_rsa};

        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 2; j++) {
                        struct ak ak = {0};
                        struct answer ans = {0};
                        struct kl_tpm_public *got = NULL;
                        size_t len = 0;
                        uint8_t *pub = key_public(keys[j], TPM_KEY_ATTRS, &len);
                        char why[256] = "";

                        ak_of(aks[i], &ak);
                        certify(aks[i], &ak, NONCE, pub, len, &ans);
                        assert_int_equal(kl_certified_check(ak.pub, NONCE, ans.pub, ans.pub_len,
                                                            ans.attest, ans.attest_len, ans.sig,
                                                            ans.sig_len, &got, why, sizeof(why)),
                                         0);
                        assert_non_null(got);
                        assert_int_equal(kl_tpm_public_is_rsa(got), j == 1);
                        kl_tpm_public_free(got);
                        free(pub);
                        answer_clear(&ans);
                        kl_tpm_public_free(ak.pub);
                }
}

/*
 * A software key that claims TPM residence: the AK certified exactly this
 * public area, so the signature, nonce and Name hold, but its attributes say
 * what it is. Each attribute alone must refuse it.
 */
static void test_certified_check_refuses_attributes(void **state)
{
        static const struct {
                uint32_t attrs;
                const char *reason;
        } cases[] = {
            {TPM_KEY_ATTRS & ~TPMA_OBJECT_FIXEDTPM, "lacks fixedTPM"},
            {TPM_KEY_ATTRS & ~TPMA_OBJECT_FIXEDPARENT, "lacks fixedParent"},
            {TPM_KEY_ATTRS & ~TPMA_OBJECT_SENSITIVEDATAORIGIN, "lacks sensitiveDataOrigin"},
            {TPM_KEY_ATTRS & ~TPMA_OBJECT_SIGN_ENCRYPT, "lacks sign"},
            {TPM_KEY_ATTRS | TPMA_OBJECT_DECRYPT, "has decrypt"},
            /* what a key loaded from outside (TPM2_LoadExternal) has at most */
            {TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT, "lacks fixedTPM"},
        };
        struct keys *k = *state;
        struct ak ak = {0};

        ak_of(k->ak_ecc, &ak);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct answer ans = {0};
                size_t len = 0;
                uint8_t *pub = key_public(k->soft, cases[i].attrs, &len);

                certify(k->ak_ecc, &ak, NONCE, pub, len, &ans);
                assert_refused(&ak, NONCE, &ans, cases[i].reason);
                free(pub);
                answer_clear(&ans);
        }
        kl_tpm_public_free(ak.pub);
}

/* A restricted key signs only what the TPM made: it cannot answer a challenge. */
static void test_certified_check_refuses_restricted_key(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0};
        struct answer ans = {0};
        uint8_t *pub = NULL;
        size_t len = 0;

        ak_of(k->ak_ecc, &ak);
        assert_int_equal(kl_soft_ak_public(k->key_ecc, &pub, &len), 0);
        certify(k->ak_ecc, &ak, NONCE, pub, len, &ans);
        assert_refused(&ak, NONCE, &ans, "has restricted");
        free(pub);
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
}

/*
 * Only what the agent makes, RSA-2048 and P-256, is what a certificate may
 * promise: the same key with another size or curve in its (certified) public
 * area is refused. The TPM2B_PUBLIC is patched where Part 2 puts keyBits and
 * curveID (after size, type, nameAlg, attributes, an empty authPolicy, the
 * symmetric and scheme algorithms).
 */
static void test_certified_check_refuses_other_key_sizes(void **state)
{
        struct keys *k = *state;
        EVP_PKEY *keys[] = {k->key_rsa, k->key_ecc};
        const uint8_t was[][2] = {{0x08, 0x00}, {0x00, 0x03}}; /* 2048 bits, NIST P-256 */
        const uint8_t now[][2] = {{0x04, 0x00}, {0x00, 0x04}}; /* 1024 bits, NIST P-384 */
        struct ak ak = {0};

        ak_of(k->ak_ecc, &ak);
        for (size_t i = 0; i < 2; i++) {
                struct answer ans = {0};
                size_t len = 0;
                uint8_t *pub = key_public(keys[i], TPM_KEY_ATTRS, &len);

                assert_memory_equal(pub + 16, was[i], 2);
                memcpy(pub + 16, now[i], 2);
                certify(k->ak_ecc, &ak, NONCE, pub, len, &ans);
                assert_refused(&ak, NONCE, &ans, "neither RSA-2048 nor ECC P-256");
                free(pub);
                answer_clear(&ans);
        }
        kl_tpm_public_free(ak.pub);
}

/*
 * The AK certified a real TPM key, but the answer carries a software key's
 * public area claiming the same attributes: the certified Name is not its
 * Name, so nothing shows the software key is in the TPM.
 */
static void test_certified_check_refuses_other_public(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0};
        struct answer ans = {0};
        size_t tpm_len = 0, soft_len = 0;
        uint8_t *tpm_pub = key_public(k->key_ecc, TPM_KEY_ATTRS, &tpm_len);
        uint8_t *soft_pub = key_public(k->soft, TPM_KEY_ATTRS, &soft_len);

        ak_of(k->ak_ecc, &ak);
        certify(k->ak_ecc, &ak, NONCE, tpm_pub, tpm_len, &ans);
        free(ans.pub);
        ans.pub = soft_pub;
        ans.pub_len = soft_len;
        assert_refused(&ak, NONCE, &ans, "its Name differs");
        /* the same key under other attributes is another Name too */
        ans.pub = key_public(k->key_ecc, TPM_KEY_ATTRS | TPMA_OBJECT_NODA, &ans.pub_len);
        free(soft_pub);
        assert_refused(&ak, NONCE, &ans, "its Name differs");
        /* not a public area at all */
        ans.pub[0] ^= 0xff;
        assert_refused(&ak, NONCE, &ans, "is not a TPM2B_PUBLIC");
        free(tpm_pub);
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
}

/*
 * Certified by another AK (another agent's TPM, or a software key posing
 * as one): everything else is right, even qualifiedSigner names the
 * registrar's AK, but the signature is not the registrar's AK's.
 */
static void test_certified_check_refuses_wrong_ak(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0}, other = {0}, rsa = {0};
        struct answer ans = {0};
        size_t len = 0;
        uint8_t *pub = key_public(k->key_ecc, TPM_KEY_ATTRS, &len);

        ak_of(k->ak_ecc, &ak);
        ak_of(k->other_ak, &other);
        ak_of(k->ak_rsa, &rsa);
        certify(k->other_ak, &ak, NONCE, pub, len, &ans);
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        answer_clear(&ans);
        certify(k->other_ak, &other, NONCE, pub, len, &ans);
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        /* an RSA AK's signature checked against an ECC AK, and the other way round */
        answer_clear(&ans);
        certify(k->ak_rsa, &rsa, NONCE, pub, len, &ans);
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        answer_clear(&ans);
        certify(k->ak_ecc, &ak, NONCE, pub, len, &ans);
        assert_refused(&rsa, NONCE, &ans, "not signed by the agent's AK");
        free(pub);
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
        kl_tpm_public_free(other.pub);
        kl_tpm_public_free(rsa.pub);
}

/* A certification over an earlier request's nonce: replayed, or made in advance. */
static void test_certified_check_refuses_stale_nonce(void **state)
{
        static const char *const others[] = {
            "Xq7bR2kLm9PzT4vW8yNd", /* the last character */
            "Xq7bR2kLm9PzT4vW8yN",  /* a prefix of the nonce signed */
            NONCE "0",              /* the nonce signed is a prefix */
            "",
        };
        struct keys *k = *state;
        struct ak ak = {0};
        struct answer ans = {0};
        size_t len = 0;
        uint8_t *pub = key_public(k->key_rsa, TPM_KEY_ATTRS, &len);

        ak_of(k->ak_rsa, &ak);
        certify(k->ak_rsa, &ak, NONCE, pub, len, &ans);
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
                assert_refused(&ak, others[i], &ans, "stale or replayed");
        free(pub);
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
}

/*
 * Every byte of the signed TPMS_ATTEST is covered: a change anywhere (name,
 * nonce, clock, firmware) breaks the AK's signature, as does one in the
 * signature or a shortened attest.
 */
static void test_certified_check_refuses_tampered_attest(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0};
        struct answer ans = {0};
        size_t len = 0;
        uint8_t *pub = key_public(k->key_ecc, TPM_KEY_ATTRS, &len);

        ak_of(k->ak_ecc, &ak);
        certify(k->ak_ecc, &ak, NONCE, pub, len, &ans);
        for (size_t i = 0; i < ans.attest_len; i++) {
                ans.attest[i] ^= 0x01;
                assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
                ans.attest[i] ^= 0x01;
        }
        ans.attest_len--;
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        ans.attest_len++;
        ans.sig[ans.sig_len - 1] ^= 0x01;
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        ans.sig[ans.sig_len - 1] ^= 0x01;
        ans.sig_len = 3;
        assert_refused(&ak, NONCE, &ans, "not signed by the agent's AK");
        free(pub);
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
}

/* A quote signed by the AK over the same nonce certifies no key. */
static void test_certified_check_refuses_quote(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0};
        struct answer ans = {0};
        struct kl_pcr_set pcrs = {.hash_alg = TPM2_ALG_SHA256, .mask = 1u, .digest_len = 32};
        struct kl_soft_clock clk = {.clock = 1};

        ak_of(k->ak_ecc, &ak);
        ans.pub = key_public(k->key_ecc, TPM_KEY_ATTRS, &ans.pub_len);
        assert_int_equal(kl_soft_quote(k->ak_ecc, ak.name, ak.name_len, (const uint8_t *)NONCE,
                                       strlen(NONCE), &clk, &pcrs, &ans.attest, &ans.attest_len,
                                       &ans.sig, &ans.sig_len),
                         0);
        assert_refused(&ak, NONCE, &ans, "not a TPMS_ATTEST of type CERTIFY");
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
}

static void test_certified_check_missing_input(void **state)
{
        struct keys *k = *state;
        struct ak ak = {0};
        struct kl_tpm_public *got = NULL;
        char why[256];

        ak_of(k->ak_ecc, &ak);
        assert_int_equal(
            kl_certified_check(NULL, NONCE, NULL, 0, NULL, 0, NULL, 0, &got, why, sizeof(why)),
            KL_ERR_INVAL);
        assert_int_equal(
            kl_certified_check(ak.pub, NONCE, NULL, 0, NULL, 0, NULL, 0, &got, why, sizeof(why)),
            KL_ERR_VERIFY);
        assert_null(got);
        kl_tpm_public_free(ak.pub);
}

/* A real TPM's certification: accepted over its nonce, and only over it. */
static void test_certified_check_swtpm_vector(void **state)
{
        kl_json *env = kl_test_json_file("certify/swtpm-answer.json"), *res = NULL;
        const char *pub = NULL, *attest = NULL, *sig = NULL;
        struct answer ans = {0};
        struct ak ak = {0};
        char *hex = NULL, why[256];
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        hex = kl_test_data_file("certify/swtpm-ak.hex", &len);
        while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r'))
                len--;
        assert_int_equal(kl_hex_decode(hex, len, &buf, &len), 0);
        assert_int_equal(kl_tpm_public_parse(buf, len, &ak.pub), 0);
        assert_int_equal(kl_json_get_object(env, "results", &res), 0);
        assert_int_equal(kl_json_get_string(res, "public", &pub), 0);
        assert_int_equal(kl_json_get_string(res, "certify_info", &attest), 0);
        assert_int_equal(kl_json_get_string(res, "signature", &sig), 0);
        ans.pub = kl_test_unb64(pub, &ans.pub_len);
        ans.attest = kl_test_unb64(attest, &ans.attest_len);
        ans.sig = kl_test_unb64(sig, &ans.sig_len);
        assert_int_equal(check(&ak, "earlier0request", &ans, why, sizeof(why)), 0);
        assert_refused(&ak, "later0request", &ans, "stale or replayed");
        ans.pub[ans.pub_len - 1] ^= 0x01;
        assert_refused(&ak, "earlier0request", &ans, "its Name differs");
        ans.pub[ans.pub_len - 1] ^= 0x01;
        ans.attest[ans.attest_len - 1] ^= 0x01;
        assert_refused(&ak, "earlier0request", &ans, "not signed by the agent's AK");
        answer_clear(&ans);
        kl_tpm_public_free(ak.pub);
        kl_json_free(env);
        free(buf);
        free(hex);
}

/* What /keys/prove signs: the context, its NUL, then the challenge, nothing else. */
static void test_certified_prove_message_prefix(void **state)
{
        static const char ctx[] = "keylime-agent-c certified key proof v1";
        const uint8_t challenge[3] = {0x20, 0x00, 0xff};
        uint8_t *msg = NULL;
        size_t len = 0;

        (void)state;
        assert_int_equal(kl_certified_prove_message(challenge, sizeof(challenge), &msg, &len), 0);
        assert_int_equal(len, sizeof(ctx) + sizeof(challenge));
        assert_memory_equal(msg, ctx, sizeof(ctx));
        assert_memory_equal(msg + sizeof(ctx), challenge, sizeof(challenge));
        free(msg);
        assert_int_equal(kl_certified_prove_message(challenge, 0, &msg, &len), KL_ERR_INVAL);
        assert_int_equal(kl_certified_prove_message(NULL, 1, &msg, &len), KL_ERR_INVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_certified_check_accepts_tpm_key),
            cmocka_unit_test(test_certified_check_swtpm_vector),
            cmocka_unit_test(test_certified_check_refuses_attributes),
            cmocka_unit_test(test_certified_check_refuses_restricted_key),
            cmocka_unit_test(test_certified_check_refuses_other_key_sizes),
            cmocka_unit_test(test_certified_check_refuses_other_public),
            cmocka_unit_test(test_certified_check_refuses_wrong_ak),
            cmocka_unit_test(test_certified_check_refuses_stale_nonce),
            cmocka_unit_test(test_certified_check_refuses_tampered_attest),
            cmocka_unit_test(test_certified_check_refuses_quote),
            cmocka_unit_test(test_certified_check_missing_input),
            cmocka_unit_test(test_certified_prove_message_prefix),
        };

        return cmocka_run_group_tests(tests, keys_up, keys_down);
}
