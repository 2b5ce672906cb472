/* SPDX-License-Identifier: Apache-2.0 */
/* lib/core/service.c: --listen parsing and the port file the integration tests wait for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "service.h"
#include "test_util.h"

static void test_parse_host_port_ipv4(void **state)
{
        char host[64];
        uint16_t port = 0;

        (void)state;
        assert_int_equal(kl_parse_host_port("127.0.0.1:8890", host, sizeof(host), &port), 0);
        assert_string_equal(host, "127.0.0.1");
        assert_int_equal(port, 8890);
        assert_int_equal(kl_parse_host_port("localhost:65535", host, sizeof(host), &port), 0);
        assert_string_equal(host, "localhost");
        assert_int_equal(port, 65535);
}

static void test_parse_host_port_ipv6_brackets(void **state)
{
        char host[64];
        uint16_t port = 0;

        (void)state;
        assert_int_equal(kl_parse_host_port("[::1]:9002", host, sizeof(host), &port), 0);
        assert_string_equal(host, "::1");
        assert_int_equal(port, 9002);
        assert_int_equal(kl_parse_host_port("[fe80::1:2]:1", host, sizeof(host), &port), 0);
        assert_string_equal(host, "fe80::1:2");
        assert_int_equal(port, 1);
        /* no closing bracket, or no colon right after it */
        assert_int_equal(kl_parse_host_port("[::1:9002", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("[::1]9002", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("[]:9002", host, sizeof(host), &port), KL_ERR_INVAL);
}

static void test_parse_host_port_zero_picks_any(void **state)
{
        char host[64];
        uint16_t port = 1;

        (void)state;
        assert_int_equal(kl_parse_host_port("0.0.0.0:0", host, sizeof(host), &port), 0);
        assert_string_equal(host, "0.0.0.0");
        assert_int_equal(port, 0);
}

static void test_parse_host_port_out_of_range(void **state)
{
        char host[64] = "unchanged";
        uint16_t port = 7;

        (void)state;
        assert_int_equal(kl_parse_host_port("127.0.0.1:65536", host, sizeof(host), &port),
                         KL_ERR_INVAL);
        assert_int_equal(
            kl_parse_host_port("127.0.0.1:99999999999999999999", host, sizeof(host), &port),
            KL_ERR_INVAL);
        assert_string_equal(host, "unchanged");
        assert_int_equal(port, 7);
}

static void test_parse_host_port_missing_port(void **state)
{
        char host[64];
        uint16_t port = 0;

        (void)state;
        assert_int_equal(kl_parse_host_port("127.0.0.1", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("127.0.0.1:", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("[::1]", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port(":8890", host, sizeof(host), &port), KL_ERR_INVAL);
}

static void test_parse_host_port_bad_digits(void **state)
{
        char host[64];
        uint16_t port = 0;

        (void)state;
        assert_int_equal(kl_parse_host_port("h:-1", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("h:+1", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("h: 1", host, sizeof(host), &port), KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("h:80x", host, sizeof(host), &port), KL_ERR_INVAL);
}

static void test_parse_host_port_host_too_long(void **state)
{
        char host[10];
        uint16_t port = 0;

        (void)state;
        /* the host and its NUL must fit */
        assert_int_equal(kl_parse_host_port("1234567890:1", host, sizeof(host), &port),
                         KL_ERR_INVAL);
        assert_int_equal(kl_parse_host_port("123456789:1", host, sizeof(host), &port), 0);
        assert_string_equal(host, "123456789");
}

static void test_write_port_file_contents(void **state)
{
        char dir[4096], path[4200];
        char *data = NULL;
        size_t len = 0;

        (void)state;
        kl_test_tmpdir(dir, sizeof(dir), "kl-service");
        snprintf(path, sizeof(path), "%s/port", dir);
        assert_int_equal(kl_write_port_file(path, 8890), 0);
        assert_int_equal(kl_file_read(path, 64, &data, &len), 0);
        assert_string_equal(data, "8890\n");
        free(data);
        /* a second write replaces the first */
        assert_int_equal(kl_write_port_file(path, 0), 0);
        assert_int_equal(kl_file_read(path, 64, &data, &len), 0);
        assert_string_equal(data, "0\n");
        free(data);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_host_port_ipv4),
            cmocka_unit_test(test_parse_host_port_ipv6_brackets),
            cmocka_unit_test(test_parse_host_port_zero_picks_any),
            cmocka_unit_test(test_parse_host_port_out_of_range),
            cmocka_unit_test(test_parse_host_port_missing_port),
            cmocka_unit_test(test_parse_host_port_bad_digits),
            cmocka_unit_test(test_parse_host_port_host_too_long),
            cmocka_unit_test(test_write_port_file_contents),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
