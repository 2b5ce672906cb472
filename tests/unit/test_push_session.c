/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for verifier-stub/push_session.c: a challenge is answered once
 * (a replayed proof finds no session), tokens work only for their agent,
 * a new session revokes the agent's older token, and expired challenges are
 * refused.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "err.h"
#include "push_session.h"

struct fixture {
        struct ver_push_sessions *s;
};

static int setup(void **state)
{
        static struct fixture f;

        if (ver_push_sessions_new(&f.s) < 0)
                return -1;
        *state = &f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        ver_push_sessions_free(f->s);
        return 0;
}

/* create + take + activate: the token of a passing proof. */
static void login(struct ver_push_sessions *s, const char *agent,
                  char token[VER_PUSH_TOKEN_MAX + 1])
{
        char id[KL_UUID_STR_LEN + 1], nonce[VER_NONCE_LEN + 1], again[VER_NONCE_LEN + 1];
        time_t created, exp;

        assert_int_equal(ver_push_session_create(s, agent, id, nonce, &exp), 0);
        assert_int_equal(ver_push_session_take(s, id, agent, again, &created, &exp), 0);
        assert_string_equal(nonce, again);
        assert_int_equal(ver_push_session_activate(s, id, agent, token, &exp), 0);
}

static void test_push_session_take_replayed_proof(void **state)
{
        struct fixture *f = *state;
        char id[KL_UUID_STR_LEN + 1], nonce[VER_NONCE_LEN + 1];
        time_t created, exp;

        assert_int_equal(ver_push_session_create(f->s, "a1", id, nonce, &exp), 0);
        assert_int_equal(strlen(nonce), VER_NONCE_LEN);
        assert_int_equal(ver_push_session_take(f->s, id, "other", nonce, &created, &exp),
                         KL_ERR_NOT_FOUND);
        assert_int_equal(ver_push_session_take(f->s, id, "a1", nonce, &created, &exp), 0);
        /* the same challenge again: gone */
        assert_int_equal(ver_push_session_take(f->s, id, "a1", nonce, &created, &exp),
                         KL_ERR_NOT_FOUND);
        assert_int_equal(
            ver_push_session_take(f->s, "no-such-session", "a1", nonce, &created, &exp),
            KL_ERR_NOT_FOUND);
}

static void test_push_session_check_token_owner(void **state)
{
        struct fixture *f = *state;
        char token[VER_PUSH_TOKEN_MAX + 1];
        char forged[VER_PUSH_TOKEN_MAX + 1];

        login(f->s, "a1", token);
        assert_int_equal(ver_push_session_check(f->s, "a1", token), 0);
        assert_int_equal(ver_push_session_check(f->s, "a2", token), KL_ERR_VERIFY);
        memcpy(forged, token, sizeof(forged));
        forged[strlen(forged) - 1] ^= 1;
        assert_int_equal(ver_push_session_check(f->s, "a1", forged), KL_ERR_VERIFY);
        assert_int_equal(ver_push_session_check(f->s, "a1", ""), KL_ERR_VERIFY);
}

static void test_push_session_check_revoked_by_new_session(void **state)
{
        struct fixture *f = *state;
        char old[VER_PUSH_TOKEN_MAX + 1], fresh[VER_PUSH_TOKEN_MAX + 1];

        login(f->s, "a3", old);
        login(f->s, "a3", fresh);
        assert_string_not_equal(old, fresh);
        assert_int_equal(ver_push_session_check(f->s, "a3", old), KL_ERR_VERIFY);
        assert_int_equal(ver_push_session_check(f->s, "a3", fresh), 0);
}

static void test_push_session_activate_needs_answer(void **state)
{
        struct fixture *f = *state;
        char id[KL_UUID_STR_LEN + 1], nonce[VER_NONCE_LEN + 1], token[VER_PUSH_TOKEN_MAX + 1];
        time_t exp;

        /* a proof that was never taken (checked) cannot become a token */
        assert_int_equal(ver_push_session_create(f->s, "a4", id, nonce, &exp), 0);
        assert_int_equal(ver_push_session_activate(f->s, id, "a4", token, &exp), KL_ERR_NOT_FOUND);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_push_session_take_replayed_proof, setup, teardown),
            cmocka_unit_test_setup_teardown(test_push_session_check_token_owner, setup, teardown),
            cmocka_unit_test_setup_teardown(test_push_session_check_revoked_by_new_session, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_push_session_activate_needs_answer, setup,
                                            teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
