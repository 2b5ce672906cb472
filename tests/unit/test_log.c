/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/core/log.c: peer text cannot forge log lines. */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void test_log_escape_control_bytes(void **state)
{
        char out[64];

        (void)state;
        assert_int_equal(kl_log_escape(out, sizeof(out), "a\nb\r\x1b[0m\x7f"), 21);
        assert_string_equal(out, "a\\x0ab\\x0d\\x1b[0m\\x7f");
        kl_log_escape(out, sizeof(out), "plain text, 100% UTF-8 \xc3\xa9");
        assert_string_equal(out, "plain text, 100% UTF-8 \xc3\xa9");
}

static void test_log_escape_truncates_whole_escapes(void **state)
{
        char out[6];

        (void)state;
        /* "ab" fits, "\x0a" would need 4 more bytes plus the NUL: dropped whole */
        assert_int_equal(kl_log_escape(out, sizeof(out), "ab\ncd"), 2);
        assert_string_equal(out, "ab");
        assert_int_equal(kl_log_escape(out, 1, "abc"), 0);
        assert_string_equal(out, "");
}

/* What a peer would send to make the journal show a second, forged entry. */
static void test_log_line_cannot_be_forged(void **state)
{
        int fds[2];
        int saved;
        char buf[512];
        ssize_t n;
        const char *peer = "x\n<3>keylime_agent ERROR: forged\r\n";

        (void)state;
        assert_int_equal(pipe(fds), 0);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
        setenv("JOURNAL_STREAM", "8:1234", 1);
        log_error("registrar said '%s'", peer);
        unsetenv("JOURNAL_STREAM");
        log_warn("uuid %s", "\x1b]0;title\x07");
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        close(fds[1]);
        n = read(fds[0], buf, sizeof(buf) - 1);
        close(fds[0]);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "<3>registrar said 'x\\x0a<3>keylime_agent ERROR: "
                                 "forged\\x0d\\x0a'\n"
                                 "keylime WARN: uuid \\x1b]0;title\\x07\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_log_escape_control_bytes),
            cmocka_unit_test(test_log_escape_truncates_whole_escapes),
            cmocka_unit_test(test_log_line_cannot_be_forged),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
