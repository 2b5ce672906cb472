/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/core/json_stream.c and kl_json_envelope_split: the streamed JSON text
 * must be byte for byte what kl_json_to_string gives for the whole value, for
 * every byte value, whatever the sizes of the source's pieces and of the
 * output pieces (escape sequences and multi-byte UTF-8 cut between them); a
 * source error must end the stream before its suffix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "json_stream.h"
#include "stream.h"

/* A source serving text in pieces of at most `piece` bytes, failing at `fail_at` if set. */
struct source {
        const char *text;
        size_t len, off, piece;
        size_t fail_at; /* 0 = never */
        int *freed;
};

static ssize_t source_read(void *cls, char *buf, size_t max)
{
        struct source *s = cls;
        size_t n = s->len - s->off;

        if (s->fail_at != 0 && s->off >= s->fail_at)
                return KL_ERR_IO;
        if (n > max)
                n = max;
        if (n > s->piece)
                n = s->piece;
        if (s->fail_at != 0 && n > s->fail_at - s->off)
                n = s->fail_at - s->off;
        memcpy(buf, s->text + s->off, n);
        s->off += n;
        return (ssize_t)n;
}

static void source_free(void *cls)
{
        struct source *s = cls;

        (*s->freed)++;
}

static struct kl_stream source_stream(struct source *s)
{
        return (struct kl_stream){.read = source_read, .free = source_free, .cls = s};
}

/* Reads the whole stream in output pieces of `out` bytes; returns the text (caller frees). */
static char *drain(struct kl_stream *st, size_t out, size_t *ret_len, int *ret_err)
{
        size_t cap = 1024, len = 0;
        char *text = malloc(cap);
        ssize_t n;

        assert_non_null(text);
        *ret_err = 0;
        for (;;) {
                if (cap - len < out + 1) {
                        cap = 2 * cap + out;
                        text = realloc(text, cap);
                        assert_non_null(text);
                }
                n = st->read(st->cls, text + len, out);
                if (n < 0) {
                        *ret_err = (int)n;
                        break;
                }
                if (n == 0)
                        break;
                assert_true((size_t)n <= out);
                len += (size_t)n;
        }
        text[len] = '\0';
        *ret_len = len;
        return text;
}

/* json-c's text for the string s[0..len), without its quotes. */
static char *reference(const char *s, size_t len, size_t *ret_len)
{
        kl_json *v = kl_json_string_len(s, len);
        char *text = kl_json_to_string(v);
        size_t n;

        assert_non_null(text);
        kl_json_free(v);
        n = strlen(text);
        assert_true(n >= 2 && text[0] == '"' && text[n - 1] == '"');
        memmove(text, text + 1, n - 2);
        text[n - 2] = '\0';
        *ret_len = n - 2;
        return text;
}

/* Streams text between prefix "<" and suffix ">" in the given pieces; checks against json-c. */
static void check(const char *text, size_t len, size_t in_piece, size_t out_piece)
{
        struct kl_stream st;
        struct source src = {.text = text, .len = len, .piece = in_piece};
        int freed = 0, err;
        size_t want_len, got_len;
        char *want = reference(text, len, &want_len), *got;

        src.freed = &freed;
        assert_int_equal(kl_json_stream_new(strdup("<"), strdup(">"), source_stream(&src), &st), 0);
        got = drain(&st, out_piece, &got_len, &err);
        assert_int_equal(err, 0);
        assert_int_equal(got_len, want_len + 2);
        assert_int_equal(got[0], '<');
        assert_int_equal(got[got_len - 1], '>');
        assert_memory_equal(got + 1, want, want_len);
        /* at the end it stays at the end */
        assert_int_equal(st.read(st.cls, got, 1), 0);
        kl_stream_close(&st);
        assert_int_equal(freed, 1);
        free(got);
        free(want);
}

static void test_json_stream_every_byte_like_json_c(void **state)
{
        char text[3 * 256];
        size_t pieces[] = {1, 2, 3, 5, 6, 7, 64, 100000};

        (void)state;
        for (size_t i = 0; i < sizeof(text); i++)
                text[i] = (char)(i % 256);
        for (size_t a = 0; a < sizeof(pieces) / sizeof(pieces[0]); a++) {
                for (size_t b = 0; b < sizeof(pieces) / sizeof(pieces[0]); b++)
                        check(text, sizeof(text), pieces[a], pieces[b]);
        }
}

static void test_json_stream_escape_cut_by_output_pieces(void **state)
{
        /* every escape form, back to back, read one to seven bytes at a time */
        static const char text[] = "\x01\"\\\n\x1f\t/\b\f\r\x7f";

        (void)state;
        for (size_t out = 1; out <= 7; out++)
                check(text, sizeof(text) - 1, sizeof(text), out);
        check(text, sizeof(text) - 1, 1, 1);
}

static void test_json_stream_utf8_cut_by_source_pieces(void **state)
{
        /* 2-, 3- and 4-byte sequences and an invalid byte pass through unchanged */
        static const char text[] = "a\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff\n";
        struct source src = {.text = text, .len = sizeof(text) - 1, .piece = 1};
        struct kl_stream st;
        int freed = 0, err;
        size_t len;
        char *got;

        (void)state;
        src.freed = &freed;
        for (size_t out = 1; out <= 5; out++)
                check(text, sizeof(text) - 1, 1, out);
        assert_int_equal(kl_json_stream_new(strdup(""), strdup(""), source_stream(&src), &st), 0);
        got = drain(&st, 3, &len, &err);
        assert_string_equal(got, "a\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff\\n");
        kl_stream_close(&st);
        free(got);
}

static void test_json_stream_source_error_ends_before_suffix(void **state)
{
        char text[10000];
        struct source src = {.text = text, .len = sizeof(text), .piece = 700, .fail_at = 5000};
        struct kl_stream st;
        int freed = 0, err;
        size_t len;
        char *got;

        (void)state;
        memset(text, 'x', sizeof(text));
        src.freed = &freed;
        assert_int_equal(
            kl_json_stream_new(strdup("{\"s\":\""), strdup("\"}"), source_stream(&src), &st), 0);
        got = drain(&st, 333, &len, &err);
        assert_int_equal(err, KL_ERR_IO);
        assert_true(len <= 5000 + 6);
        assert_null(strchr(got, '}'));
        /* the error sticks: no later read completes the text */
        assert_int_equal(st.read(st.cls, got, 16), KL_ERR_IO);
        kl_stream_close(&st);
        assert_int_equal(freed, 1);
        free(got);
}

static void test_json_stream_new_takes_everything_on_error(void **state)
{
        struct source src = {.text = "", .len = 0, .piece = 1};
        struct kl_stream st = {0};
        int freed = 0;

        (void)state;
        src.freed = &freed;
        assert_int_equal(kl_json_stream_new(NULL, strdup("x"), source_stream(&src), &st),
                         KL_ERR_INVAL);
        assert_int_equal(freed, 1);
        assert_null(st.read);
}

/* A results object as the integrity quote builds it, with the list as a value or a hole. */
static kl_json *results(const char *list)
{
        kl_json *o = kl_json_object();

        assert_int_equal(kl_json_set_string(o, "quote", "rAQ:AB/+=") |
                             kl_json_set_string(o, "pubkey", "-----BEGIN\n\"x\"\n") |
                             kl_json_set_string(o, "ima_measurement_list", list) |
                             kl_json_set_int(o, "ima_measurement_list_entry", 0) |
                             kl_json_set_string(o, "mb_measurement_list", "AAAA"),
                         0);
        return o;
}

static void test_json_envelope_split_streams_the_whole_envelope(void **state)
{
        static const char list[] = "10 abc ima-ng sha256:00 /usr/bin/a\"b\\c\n10 def ima-ng x \t\n";
        struct source src = {.text = list, .len = sizeof(list) - 1, .piece = 4};
        struct kl_stream st;
        char *prefix = NULL, *suffix = NULL, *want, *got;
        int freed = 0, err;
        size_t len;

        (void)state;
        src.freed = &freed;
        want = kl_json_envelope(200, "Success", results(list));
        assert_non_null(want);
        assert_int_equal(kl_json_envelope_split(200, "Success", results(""), "ima_measurement_list",
                                                &prefix, &suffix),
                         0);
        assert_int_equal(prefix[strlen(prefix) - 1], '"');
        assert_int_equal(suffix[0], '"');
        assert_int_equal(kl_json_stream_new(prefix, suffix, source_stream(&src), &st), 0);
        got = drain(&st, 9, &len, &err);
        assert_int_equal(err, 0);
        assert_string_equal(got, want);
        kl_stream_close(&st);
        free(got);
        free(want);
}

static void test_json_envelope_split_refuses_what_it_cannot_cut(void **state)
{
        kl_json *o;
        char *prefix = NULL, *suffix = NULL;

        (void)state;
        /* not the empty string */
        assert_int_equal(kl_json_envelope_split(200, "Success", results("x"),
                                                "ima_measurement_list", &prefix, &suffix),
                         KL_ERR_INVAL);
        /* absent */
        assert_int_equal(
            kl_json_envelope_split(200, "Success", results(""), "nothing", &prefix, &suffix),
            KL_ERR_INVAL);
        /* the same member text twice (a nested object) */
        o = results("");
        assert_int_equal(kl_json_set(o, "nested", results("")), 0);
        assert_int_equal(
            kl_json_envelope_split(200, "Success", o, "ima_measurement_list", &prefix, &suffix),
            KL_ERR_INVAL);
        assert_null(prefix);
        assert_null(suffix);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_json_stream_every_byte_like_json_c),
            cmocka_unit_test(test_json_stream_escape_cut_by_output_pieces),
            cmocka_unit_test(test_json_stream_utf8_cut_by_source_pieces),
            cmocka_unit_test(test_json_stream_source_error_ends_before_suffix),
            cmocka_unit_test(test_json_stream_new_takes_everything_on_error),
            cmocka_unit_test(test_json_envelope_split_streams_the_whole_envelope),
            cmocka_unit_test(test_json_envelope_split_refuses_what_it_cannot_cut),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
