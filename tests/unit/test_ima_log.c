/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/evidence/ima_log.c: Keylime's ima_ml_entry semantics on the
 * upstream test logs (tests/data/ima), growth between reads, partial lines,
 * rewritten files, slices (an end fixed when taken, read in pieces, a file
 * that shrank under a slice is an error), and a generated 1,000,000-line log
 * in $TMPDIR (timings are printed, never asserted). Temporary files are
 * removed by each test.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "ima_log.h"
#include "test_util.h"

static void data_path(const char *rel, char *out, size_t len)
{
        const char *dir = getenv("KL_TEST_DATA");

        assert_non_null(dir);
        assert_true(snprintf(out, len, "%s/%s", dir, rel) < (int)len);
}

static void tmp_path(char *out, size_t len)
{
        const char *dir = getenv("TMPDIR");
        int fd;

        if (dir == NULL || *dir == '\0')
                dir = "/tmp";
        assert_true(snprintf(out, len, "%s/kl-ima-XXXXXX", dir) < (int)len);
        fd = mkstemp(out);
        assert_true(fd >= 0);
        close(fd);
}

static void write_file(const char *path, const char *mode, const char *text)
{
        FILE *f = fopen(path, mode);

        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
        assert_int_equal(fclose(f), 0);
}

/* Reads from entry and checks text and index. */
static void expect(struct kl_ima_log *log, uint64_t entry, const char *text, size_t len,
                   uint64_t want_entry)
{
        char *got = NULL;
        size_t got_len = 99;
        uint64_t got_entry = 99;

        assert_int_equal(kl_ima_log_read_from(log, entry, &got, &got_len, &got_entry), 0);
        assert_int_equal(got_entry, want_entry);
        assert_int_equal(got_len, len);
        assert_memory_equal(got, text, len);
        assert_int_equal(got[len], '\0');
        free(got);
}

static void expect_str(struct kl_ima_log *log, uint64_t entry, const char *text,
                       uint64_t want_entry)
{
        expect(log, entry, text, strlen(text), want_entry);
}

static void test_ima_log_read_from_upstream_entries(void **state)
{
        struct kl_ima_log *log = NULL;
        char path[1024];
        char *all = NULL;
        size_t len = 0, off;
        const char *p;

        (void)state;
        data_path("ima/ascii_runtime_measurements", path, sizeof(path));
        assert_int_equal(kl_file_read(path, 1 << 20, &all, &len), 0);
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect(log, 0, all, len, 0);
        p = strchr(all, '\n');
        p = strchr(p + 1, '\n');
        off = (size_t)(p + 1 - all);
        expect(log, 2, all + off, len - off, 2);
        expect_str(log, 826, "", 826);
        expect(log, 827, all, len, 0);
        expect(log, UINT64_MAX, all, len, 0);

        /* every line, in an order that uses both scan directions */
        for (uint64_t e = 825;; e -= 25) {
                const char *q = all;

                for (uint64_t i = 0; i < e; i++)
                        q = strchr(q, '\n') + 1;
                expect(log, e, q, len - (size_t)(q - all), e);
                if (e < 25)
                        break;
        }
        kl_ima_log_free(log);
        free(all);

        data_path("ima/ima_log.txt", path, sizeof(path));
        assert_int_equal(kl_file_read(path, 1 << 20, &all, &len), 0);
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect(log, 0, all, len, 0);
        expect_str(log, 1, "", 1);
        expect(log, 2, all, len, 0);
        kl_ima_log_free(log);
        free(all);
}

static void test_ima_log_read_from_appended_lines_only_delta(void **state)
{
        struct kl_ima_log *log = NULL;
        char path[1024];

        (void)state;
        tmp_path(path, sizeof(path));
        write_file(path, "w", "10 a ima-ng sha1:00 /a\n10 b ima-ng sha1:01 /b\n");
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect_str(log, 0, "10 a ima-ng sha1:00 /a\n10 b ima-ng sha1:01 /b\n", 0);
        expect_str(log, 2, "", 2);
        write_file(path, "a", "10 c ima-ng sha1:02 /c\n10 d ima-ng sha1:03 /d\n");
        expect_str(log, 2, "10 c ima-ng sha1:02 /c\n10 d ima-ng sha1:03 /d\n", 2);
        expect_str(log, 3, "10 d ima-ng sha1:03 /d\n", 3);
        expect_str(log, 4, "", 4);
        write_file(path, "a", "10 e ima-ng sha1:04 /e\n");
        expect_str(log, 4, "10 e ima-ng sha1:04 /e\n", 4);
        expect_str(log, 1,
                   "10 b ima-ng sha1:01 /b\n10 c ima-ng sha1:02 /c\n"
                   "10 d ima-ng sha1:03 /d\n10 e ima-ng sha1:04 /e\n",
                   1);
        kl_ima_log_free(log);
        unlink(path);
}

static void test_ima_log_read_from_partial_line_not_counted(void **state)
{
        struct kl_ima_log *log = NULL;
        char path[1024];

        (void)state;
        tmp_path(path, sizeof(path));
        write_file(path, "w", "a\nb\nc");
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect_str(log, 0, "a\nb\nc", 0);
        expect_str(log, 1, "b\nc", 1);
        expect_str(log, 2, "", 2); /* two complete lines */
        expect_str(log, 3, "a\nb\nc", 0);
        write_file(path, "a", "c\nd");
        expect_str(log, 2, "cc\nd", 2);
        expect_str(log, 3, "", 3);
        kl_ima_log_free(log);
        unlink(path);
}

static void test_ima_log_read_from_rewritten_file_reindexed(void **state)
{
        struct kl_ima_log *log = NULL;
        char path[1024];

        (void)state;
        tmp_path(path, sizeof(path));
        write_file(path, "w", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect_str(log, 8, "9\n10\n", 8);
        /* shorter: the kept fd sees the new content */
        write_file(path, "w", "x\ny\nz\n");
        expect_str(log, 1, "y\nz\n", 1);
        expect_str(log, 5, "x\ny\nz\n", 0);
        /* longer, but no newline where the old end was */
        write_file(path, "w", "abcdefg\nh\n");
        expect_str(log, 1, "h\n", 1);
        expect_str(log, 2, "", 2);
        /* emptied */
        write_file(path, "w", "");
        expect_str(log, 0, "", 0);
        expect_str(log, 3, "", 0);
        kl_ima_log_free(log);
        unlink(path);
}

static void test_ima_log_open_missing_not_found(void **state)
{
        struct kl_ima_log *log = NULL;

        (void)state;
        assert_int_equal(kl_ima_log_open("/nonexistent/ascii_runtime_measurements", &log),
                         KL_ERR_NOT_FOUND);
        assert_null(log);
        kl_ima_log_free(NULL);
}

static void test_ima_log_read_from_empty_file(void **state)
{
        struct kl_ima_log *log = NULL;
        char path[1024];

        (void)state;
        tmp_path(path, sizeof(path));
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        expect_str(log, 0, "", 0);
        expect_str(log, 7, "", 0);
        kl_ima_log_free(log);
        unlink(path);
}

/* The slice from entry read in pieces of `piece` bytes; returns the text (caller frees). */
static char *slice_text(struct kl_ima_slice *s, size_t piece, size_t *ret_len, int *ret_err)
{
        size_t cap = 256, len = 0;
        char *text = malloc(cap);
        ssize_t n;

        assert_non_null(text);
        *ret_err = 0;
        for (;;) {
                if (cap - len < piece + 1) {
                        cap = 2 * cap + piece;
                        assert_non_null(text = realloc(text, cap));
                }
                if ((n = kl_ima_slice_read(s, text + len, piece)) <= 0) {
                        *ret_err = (int)n;
                        break;
                }
                len += (size_t)n;
        }
        text[len] = '\0';
        *ret_len = len;
        return text;
}

static void test_ima_log_slice_end_fixed_when_taken(void **state)
{
        static const char two[] = "10 a ima-ng sha1:00 /a\n10 b ima-ng sha1:01 /b\n";
        struct kl_ima_log *log = NULL;
        struct kl_ima_slice *s = NULL, *tail = NULL;
        char path[1024];
        size_t len;
        char *text;
        int err;

        (void)state;
        tmp_path(path, sizeof(path));
        write_file(path, "w", two);
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        assert_int_equal(kl_ima_log_slice(log, 0, &s), 0);
        assert_int_equal(kl_ima_log_slice(log, 1, &tail), 0);
        assert_int_equal(kl_ima_slice_entry(s), 0);
        assert_int_equal(kl_ima_slice_size(s), strlen(two));
        assert_int_equal(kl_ima_slice_entry(tail), 1);
        /* lines written after the slice was taken are not part of it, also once the log is gone */
        write_file(path, "a", "10 c ima-ng sha1:02 /c\n");
        kl_ima_log_free(log);
        text = slice_text(s, 5, &len, &err);
        assert_int_equal(err, 0);
        assert_string_equal(text, two);
        free(text);
        text = slice_text(tail, 1000, &len, &err);
        assert_int_equal(err, 0);
        assert_string_equal(text, "10 b ima-ng sha1:01 /b\n");
        free(text);
        kl_ima_slice_free(s);
        kl_ima_slice_free(tail);
        unlink(path);
}

static void test_ima_log_slice_file_shrank_is_an_error(void **state)
{
        struct kl_ima_log *log = NULL;
        struct kl_ima_slice *s = NULL;
        char path[1024], *text = NULL;
        size_t len;
        int err;

        (void)state;
        tmp_path(path, sizeof(path));
        write_file(path, "w", "10 a ima-ng sha1:00 /a\n10 b ima-ng sha1:01 /b\n");
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        assert_int_equal(kl_ima_log_slice(log, 0, &s), 0);
        assert_int_equal(truncate(path, 30), 0);
        /* 30 bytes are still there, then the slice cannot go on: an error, not a short end */
        free(slice_text(s, 7, &len, &err));
        assert_int_equal(err, KL_ERR_IO);
        assert_int_equal(len, 30);
        kl_ima_slice_free(s);
        assert_int_equal(kl_ima_log_slice(log, 0, &s), 0);
        assert_int_equal(kl_ima_slice_size(s), 30);
        assert_int_equal(truncate(path, 0), 0);
        assert_int_equal(kl_ima_slice_read_all(s, &text, &len), KL_ERR_IO);
        assert_null(text);
        kl_ima_slice_free(s);
        kl_ima_log_free(log);
        unlink(path);
}

static int line_text(uint64_t i, char *out, size_t len)
{
        return snprintf(out, len, "10 %040llx ima-ng sha1:%040llx /usr/lib/file%07llu\n",
                        (unsigned long long)i * 7919u, (unsigned long long)i,
                        (unsigned long long)i);
}

/* Time of a read from entry; checks the first line and the line count. */
static double timed_read(struct kl_ima_log *log, uint64_t entry, uint64_t total)
{
        char *got = NULL, first[256];
        size_t got_len = 0, lines = 0;
        uint64_t got_entry = 0;
        double t0 = kl_test_now_ms(), dt;

        assert_int_equal(kl_ima_log_read_from(log, entry, &got, &got_len, &got_entry), 0);
        dt = kl_test_now_ms() - t0;
        assert_int_equal(got_entry, entry);
        line_text(entry, first, sizeof(first));
        assert_true(got_len >= strlen(first));
        assert_memory_equal(got, first, strlen(first));
        for (size_t i = 0; i < got_len; i++)
                lines += got[i] == '\n';
        assert_int_equal(lines, total - entry);
        free(got);
        return dt;
}

static void make_log(const char *path, uint64_t from, uint64_t to, const char *mode)
{
        FILE *f = fopen(path, mode);
        char line[256];

        assert_non_null(f);
        for (uint64_t i = from; i < to; i++) {
                int n = line_text(i, line, sizeof(line));

                assert_int_equal(fwrite(line, 1, (size_t)n, f), (size_t)n);
        }
        assert_int_equal(fclose(f), 0);
}

static void measure(uint64_t lines)
{
        struct kl_ima_log *log = NULL;
        char path[1024];
        double first, again, delta, mid;

        tmp_path(path, sizeof(path));
        make_log(path, 0, lines, "w");
        assert_int_equal(kl_ima_log_open(path, &log), 0);
        first = timed_read(log, lines - 10, lines); /* counts the whole log once */
        again = timed_read(log, lines - 10, lines);
        make_log(path, lines, lines + 10, "a");
        delta = timed_read(log, lines, lines + 10); /* the verifier's usual request */
        mid = timed_read(log, lines / 2 + 3, lines + 10);
        print_message("# IMA log %llu lines: last 10 first read %.3f ms, again %.3f ms, "
                      "10 appended %.3f ms, from the middle %.1f ms\n",
                      (unsigned long long)lines, first, again, delta, mid);
        if (lines * 100 > KL_IMA_LOG_MAX_SLICE) {
                char *got = NULL;
                size_t got_len = 0;
                uint64_t got_entry = 0;

                assert_int_equal(kl_ima_log_read_from(log, 0, &got, &got_len, &got_entry),
                                 KL_ERR_TOO_LONG);
                assert_null(got);
        }
        kl_ima_log_free(log);
        unlink(path);
}

static void test_ima_log_read_from_million_lines_last_entries(void **state)
{
        (void)state;
        measure(1000);
        measure(1000000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ima_log_read_from_upstream_entries),
            cmocka_unit_test(test_ima_log_read_from_appended_lines_only_delta),
            cmocka_unit_test(test_ima_log_read_from_partial_line_not_counted),
            cmocka_unit_test(test_ima_log_read_from_rewritten_file_reindexed),
            cmocka_unit_test(test_ima_log_open_missing_not_found),
            cmocka_unit_test(test_ima_log_read_from_empty_file),
            cmocka_unit_test(test_ima_log_slice_end_fixed_when_taken),
            cmocka_unit_test(test_ima_log_slice_file_shrank_is_an_error),
            cmocka_unit_test(test_ima_log_read_from_million_lines_last_entries),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
