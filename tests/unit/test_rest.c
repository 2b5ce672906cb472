/* SPDX-License-Identifier: Apache-2.0 */
/* lib/net/rest.c: the stubs' request-path routing, agent ID checks and shared answers. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
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

/* Asserts reply holds the envelope with code and a status containing want, then frees it. */
static void expect_reply(struct kl_http_reply *reply, int code, const char *want)
{
        assert_int_equal(reply->status, code);
        assert_non_null(reply->body);
        assert_non_null(strstr(reply->body, want));
        free(reply->body);
        memset(reply, 0, sizeof(*reply));
}

static void test_rest_reply_common_routes(void **state)
{
        struct kl_http_reply reply = {0};
        struct kl_rest_path p;

        (void)state;
        kl_rest_path_parse("/nothing", &p);
        assert_true(kl_rest_reply_common(&reply, &p, "GET", "2.6"));
        expect_reply(&reply, 404, "\"Not Found\"");
        kl_rest_path_parse("/version", &p);
        assert_true(kl_rest_reply_common(&reply, &p, "GET", "2.6"));
        expect_reply(&reply, 200, "\"current_version\":\"2.6\",\"supported_versions\":[\"2.1\"");
        assert_true(kl_rest_reply_common(&reply, &p, "POST", "2.6"));
        expect_reply(&reply, 405, "Method Not Allowed");
        /* the routes that differ between the stubs stay theirs */
        kl_rest_path_parse("/v9.9/agents", &p);
        assert_false(kl_rest_reply_common(&reply, &p, "GET", "2.6"));
        kl_rest_path_parse("/v2.6/agents", &p);
        assert_false(kl_rest_reply_common(&reply, &p, "GET", "2.6"));
        kl_rest_path_parse("/v2.6/agents/a1", &p);
        assert_false(kl_rest_reply_common(&reply, &p, "DELETE", "2.6"));
        assert_null(reply.body);
}

static void test_rest_reply_store_results(void **state)
{
        static char a[] = "a1", b[] = "b2";
        char *ids[] = {a, b};
        struct kl_http_reply reply = {0};

        (void)state;
        kl_rest_reply_agent_error(&reply, KL_ERR_NOT_FOUND, "a1");
        expect_reply(&reply, 404, "Agent with ID 'a1' not found");
        kl_rest_reply_agent_error(&reply, KL_ERR_DB, "a1");
        expect_reply(&reply, 500, "Internal Server Error");
        kl_rest_reply_deleted(&reply, KL_ERR_NOT_FOUND, "a1");
        expect_reply(&reply, 404, "Agent with ID 'a1' not found");
        kl_rest_reply_deleted(&reply, 0, "a1");
        expect_reply(&reply, 200, "\"status\":\"Success\"");
        kl_rest_reply_ids(&reply, 0, ids, 2);
        expect_reply(&reply, 200, "{\"uuids\":[\"a1\",\"b2\"]}");
        kl_rest_reply_ids(&reply, KL_ERR_DB, NULL, 0);
        expect_reply(&reply, 500, "Internal Server Error");
}

/* "port" as a number or its decimal text in 0..65535; -1 when absent or null. */
static void test_rest_get_port_forms(void **state)
{
        static const char *const good[] = {"{\"port\": 9002}", "{\"port\": \"9002\"}",
                                           "{\"port\": 0}", "{\"port\": \"65535\"}"};
        static const int64_t want[] = {9002, 9002, 0, 65535};
        static const char *const bad[] = {
            "{\"port\": 65536}",   "{\"port\": -1}",         "{\"port\": \"\"}",
            "{\"port\": \"+80\"}", "{\"port\": \"123456\"}", "{\"port\": \"80 \"}",
            "{\"port\": 80.5}",    "{\"port\": true}",       "{\"port\": [80]}",
        };
        kl_json *obj = NULL;
        int64_t port = 7;

        (void)state;
        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
                assert_int_equal(kl_json_parse_object(good[i], strlen(good[i]), &obj), 0);
                assert_int_equal(kl_rest_get_port(obj, &port), 0);
                assert_int_equal(port, want[i]);
                kl_json_free(obj);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(kl_json_parse_object(bad[i], strlen(bad[i]), &obj), 0);
                assert_int_equal(kl_rest_get_port(obj, &port), KL_ERR_INVAL);
                kl_json_free(obj);
        }
        assert_int_equal(kl_json_parse_object("{\"port\": null}", 14, &obj), 0);
        assert_int_equal(kl_rest_get_port(obj, &port), 0);
        assert_int_equal(port, -1);
        kl_json_free(obj);
        assert_int_equal(kl_json_parse_object("{}", 2, &obj), 0);
        port = 7;
        assert_int_equal(kl_rest_get_port(obj, &port), 0);
        assert_int_equal(port, -1);
        kl_json_free(obj);
}

/* The highest known 2.x of an agent's /version, with the pre-2.5 single version as fallback. */
static void test_rest_pick_agent_version(void **state)
{
        static const struct {
                const char *results, *want;
        } cases[] = {
            {"{\"supported_versions\": [\"2.1\", \"2.6\", \"2.3\"]}", "2.6"},
            {"{\"supported_versions\": [\"3.0\", \"2.4\", \"2.10\", 2.5]}", "2.4"},
            {"{\"supported_version\": \"2.2\"}", "2.2"},
            /* a list, even one with nothing known, wins over the single version */
            {"{\"supported_versions\": [\"1.0\"], \"supported_version\": \"2.2\"}", NULL},
            {"{\"supported_version\": \"2.7\"}", NULL},
            {"{\"supported_versions\": \"2.6\"}", NULL},
            {"{}", NULL},
        };
        kl_json *obj = NULL;
        char v[4];

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(
                    kl_json_parse_object(cases[i].results, strlen(cases[i].results), &obj), 0);
                if (cases[i].want != NULL) {
                        assert_int_equal(kl_rest_pick_agent_version(obj, v), 0);
                        assert_string_equal(v, cases[i].want);
                } else {
                        assert_int_equal(kl_rest_pick_agent_version(obj, v), KL_ERR_UNSUPPORTED);
                }
                kl_json_free(obj);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rest_path_parse_version),
            cmocka_unit_test(test_rest_path_parse_api_versions),
            cmocka_unit_test(test_rest_path_parse_agent),
            cmocka_unit_test(test_rest_agent_id_copy),
            cmocka_unit_test(test_rest_reply_common_routes),
            cmocka_unit_test(test_rest_reply_store_results),
            cmocka_unit_test(test_rest_get_port_forms),
            cmocka_unit_test(test_rest_pick_agent_version),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
