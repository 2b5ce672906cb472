/* SPDX-License-Identifier: Apache-2.0 */
/* lib/net/rest.c: the stubs' request-path routing and agent ID checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rest.h"

static void test_rest_path_parse_version(void **state)
{
        struct kl_rest_path p;

        (void)state;
        kl_rest_path_parse("/version", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_VERSION);
        kl_rest_path_parse("/version/", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_VERSION);
        kl_rest_path_parse("/versions", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_NONE);
}

static void test_rest_path_parse_api_versions(void **state)
{
        struct kl_rest_path p;

        (void)state;
        kl_rest_path_parse("/v2/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENTS);
        kl_rest_path_parse("/v2.0/agents/", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENTS);
        kl_rest_path_parse("/v2.6/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENTS);
        kl_rest_path_parse("/v2.7/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_BAD_VERSION);
        assert_int_equal(p.version_len, 4);
        assert_memory_equal(p.version, "v2.7", 4);
        kl_rest_path_parse("/v1/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_BAD_VERSION);
        kl_rest_path_parse("/v2.10/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_BAD_VERSION);
        kl_rest_path_parse("/vx/agents", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_NONE);
        kl_rest_path_parse("/v2/quotes", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_NONE);
        kl_rest_path_parse("", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_NONE);
}

static void test_rest_path_parse_agent(void **state)
{
        struct kl_rest_path p;

        (void)state;
        kl_rest_path_parse("/v2.1/agents/abc-1", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENT);
        assert_int_equal(p.id_len, 5);
        assert_memory_equal(p.id, "abc-1", 5);
        assert_string_equal(p.tail, "");
        kl_rest_path_parse("/v2.1/agents/abc-1/activate", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENT);
        assert_int_equal(p.id_len, 5);
        assert_string_equal(p.tail, "/activate");
        kl_rest_path_parse("/v2/agents//", &p);
        assert_int_equal(p.route, KL_REST_ROUTE_AGENT);
        assert_int_equal(p.id_len, 0);
        assert_string_equal(p.tail, "/");
}

static void test_rest_agent_id_copy(void **state)
{
        char id[KL_REST_AGENT_ID_MAX + 1] = "unchanged";
        char long_id[KL_REST_AGENT_ID_MAX + 1];

        (void)state;
        assert_true(kl_rest_agent_id_copy("abc/def", 3, id));
        assert_string_equal(id, "abc");
        assert_false(kl_rest_agent_id_copy("a b", 3, id));
        assert_false(kl_rest_agent_id_copy("", 0, id));
        assert_string_equal(id, "abc");
        memset(long_id, 'a', sizeof(long_id));
        assert_true(kl_rest_agent_id_copy(long_id, KL_REST_AGENT_ID_MAX, id));
        assert_int_equal(strlen(id), KL_REST_AGENT_ID_MAX);
        assert_false(kl_rest_agent_id_copy(long_id, KL_REST_AGENT_ID_MAX + 1, id));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rest_path_parse_version),
            cmocka_unit_test(test_rest_path_parse_api_versions),
            cmocka_unit_test(test_rest_path_parse_agent),
            cmocka_unit_test(test_rest_agent_id_copy),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
