/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for verifier-stub/store.c's last good quote: what a restarted
 * verifier resumes from survives closing and reopening the database, is
 * dropped when the agent is re-added or deleted, and a value SQLite cannot
 * hold is refused rather than stored wrong. The poller's batched writes
 * (one transaction) land in order, skip a record re-added meanwhile, and the
 * change counter and sorted ID list it syncs from follow adds and deletes.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "store.h"
#include "test_util.h"

#define AGENT "d432fbb3-d2f1-4a97-9ef7-75bd81c0e001"

struct fixture {
        char dir[256];
        char path[300];
        struct ver_store *s;
};

static int setup(void **state)
{
        static struct fixture f;
        static uint8_t aik[] = {0x00, 0x01, 0x02};
        static char id[] = AGENT, ip[] = "127.0.0.1", policy[] = "{}";
        struct ver_agent a = {
            .agent_id = id,
            .ip = ip,
            .port = 9002,
            .aik_tpm = aik,
            .aik_tpm_len = sizeof(aik),
            .tpm_policy = policy,
        };

        kl_test_tmpdir(f.dir, sizeof(f.dir), "kl-verstore");
        snprintf(f.path, sizeof(f.path), "%s/verifier.sqlite", f.dir);
        if (ver_store_open(f.path, &f.s) < 0 || ver_store_add(f.s, &a) < 0)
                return -1;
        *state = &f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        ver_store_close(f->s);
        remove(f->path);
        remove(f->dir);
        return 0;
}

/* A good quote over sha256 PCRs 0 and 10 after 7 IMA lines. */
static struct ver_last_good sample(void)
{
        struct ver_last_good g = {
            .at = 1764800000,
            .clock = 123456789,
            .reset_count = 3,
            .restart_count = 1,
            .has_ima = true,
        };

        g.pcrs.hash_alg = 0x000B;
        g.pcrs.mask = 1u << 0 | 1u << 10;
        g.pcrs.digest_len = 32;
        memset(g.pcrs.values[0], 0x11, 32);
        memset(g.pcrs.values[10], 0xaa, 32);
        kl_ima_replay_init(&g.ima, 0x000B);
        memset(g.ima.pcr10, 0xaa, 32);
        g.ima.entries = 7;
        return g;
}

static void test_survives_reopen(void **state)
{
        struct fixture *f = *state;
        struct ver_last_good in = sample(), out;

        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), KL_ERR_NOT_FOUND);
        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), 0);
        ver_store_close(f->s);
        assert_int_equal(ver_store_open(f->path, &f->s), 0);
        memset(&out, 0, sizeof(out));
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), 0);
        assert_int_equal(out.at, in.at);
        assert_true(out.clock == in.clock);
        assert_int_equal(out.reset_count, 3);
        assert_int_equal(out.restart_count, 1);
        assert_int_equal(out.pcrs.hash_alg, 0x000B);
        assert_int_equal(out.pcrs.mask, in.pcrs.mask);
        assert_memory_equal(out.pcrs.values[10], in.pcrs.values[10], 32);
        assert_true(out.has_ima);
        assert_int_equal(out.ima.bank_alg, 0x000B);
        assert_int_equal(out.ima.digest_len, 32);
        assert_memory_equal(out.ima.pcr10, in.ima.pcr10, 32);
        assert_true(out.ima.entries == 7);
}

static void test_without_ima(void **state)
{
        struct fixture *f = *state;
        struct ver_last_good in = sample(), out;

        in.has_ima = false;
        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), 0);
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), 0);
        assert_false(out.has_ima);
        assert_true(out.clock == in.clock);
}

static void test_dropped_by_readd_and_delete(void **state)
{
        struct fixture *f = *state;
        struct ver_last_good in = sample(), out;
        struct ver_agent *a = NULL;

        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), 0);
        assert_int_equal(ver_store_get(f->s, AGENT, &a), 0);
        assert_int_equal(ver_store_add(f->s, a), 0); /* a re-add starts from scratch */
        ver_agent_free(a);
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), KL_ERR_NOT_FOUND);
        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), 0);
        assert_int_equal(ver_store_delete(f->s, AGENT), 0);
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), KL_ERR_NOT_FOUND);
}

static void test_out_of_range_refused(void **state)
{
        struct fixture *f = *state;
        struct ver_last_good in = sample(), out;

        in.clock = UINT64_MAX;
        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), KL_ERR_TOO_LONG);
        in = sample();
        in.ima.entries = UINT64_MAX;
        assert_int_equal(ver_store_set_last_good(f->s, AGENT, &in), KL_ERR_TOO_LONG);
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), KL_ERR_NOT_FOUND);
}

static void test_write_batch(void **state)
{
        struct fixture *f = *state;
        struct ver_last_good good = sample(), out;
        struct ver_agent *a = NULL;
        struct ver_store_gen *g = NULL;
        size_t n = 0;
        uint64_t changes = ver_store_changes(f->s);
        struct ver_status_update u[3] = {
            {.state = "Get Quote", .attestation_count = 1, .last_success = 5, .last_good = &good},
            {.state = "Get Quote", .attestation_count = 2, .last_success = 6},
            {.state = "Failed", .attestation_count = 9}, /* an older gen: left alone */
        };
        char failure[] = "agent unreachable";

        assert_int_equal(ver_store_get(f->s, AGENT, &a), 0);
        for (int i = 0; i < 3; i++) {
                snprintf(u[i].agent_id, sizeof(u[i].agent_id), "%s", AGENT);
                u[i].gen = i < 2 ? a->gen : a->gen - 1;
                snprintf(u[i].api_version, sizeof(u[i].api_version), "2.2");
        }
        u[2].last_failure = failure;
        ver_agent_free(a);
        assert_int_equal(ver_store_write_batch(f->s, u, 3), 0);
        assert_int_equal(ver_store_get(f->s, AGENT, &a), 0);
        assert_string_equal(a->state, "Get Quote");
        assert_int_equal(a->attestation_count, 2);
        assert_int_equal(a->last_success, 6);
        assert_null(a->last_failure);
        assert_string_equal(a->api_version, "2.2");
        ver_agent_free(a);
        assert_int_equal(ver_store_get_last_good(f->s, AGENT, &out), 0);
        assert_true(out.clock == good.clock);

        /* adds and deletes move the counter; the list is sorted by ID */
        assert_int_equal(ver_store_get(f->s, AGENT, &a), 0);
        a->agent_id[0] = '0';
        assert_int_equal(ver_store_add(f->s, a), 0);
        ver_agent_free(a);
        assert_true(ver_store_changes(f->s) > changes);
        assert_int_equal(ver_store_list_gens(f->s, &g, &n), 0);
        assert_int_equal(n, 2);
        assert_true(strcmp(g[0].agent_id, g[1].agent_id) < 0);
        assert_true(g[0].gen != g[1].gen);
        ver_store_gens_free(g, n);
        changes = ver_store_changes(f->s);
        assert_int_equal(ver_store_delete(f->s, AGENT), 0);
        assert_true(ver_store_changes(f->s) > changes);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
            cmocka_unit_test_setup_teardown(test_without_ima, setup, teardown),
            cmocka_unit_test_setup_teardown(test_dropped_by_readd_and_delete, setup, teardown),
            cmocka_unit_test_setup_teardown(test_out_of_range_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_write_batch, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
