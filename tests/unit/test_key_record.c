/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/key_record.c: the names that may become file names,
 * the bounds of base64 fields, and records written 0600 in a 0700 folder
 * and read back, as sealed objects and certified keys keep them.
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
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "json.h"
#include "key_record.h"
#include "test_util.h"

static void test_key_record_name_ok_rules(void **state)
{
        char longest[KEY_RECORD_NAME_MAX + 2];

        (void)state;
        memset(longest, 'a', sizeof(longest));
        longest[KEY_RECORD_NAME_MAX] = '\0';
        assert_true(key_record_name_ok("tls-rsa"));
        assert_true(key_record_name_ok("A.b_c-9"));
        assert_true(key_record_name_ok(longest));
        longest[KEY_RECORD_NAME_MAX] = 'a';
        longest[KEY_RECORD_NAME_MAX + 1] = '\0';
        assert_false(key_record_name_ok(longest));
        assert_false(key_record_name_ok(""));
        assert_false(key_record_name_ok(".hidden"));
        assert_false(key_record_name_ok("../agent_data"));
        assert_false(key_record_name_ok("a/b"));
        assert_false(key_record_name_ok("a b"));
}

static void test_key_record_name_field_refusals(void **state)
{
        kl_json *obj = NULL;
        char name[KEY_RECORD_NAME_MAX + 1], err[256] = "";

        (void)state;
        assert_int_equal(kl_json_parse_object("{\"name\": \"disk\"}", 16, &obj), 0);
        assert_int_equal(key_record_name_field(obj, name, err, sizeof(err)), 0);
        assert_string_equal(name, "disk");
        kl_json_free(obj);
        assert_int_equal(kl_json_parse_object("{\"name\": 7}", 11, &obj), 0);
        assert_int_equal(key_record_name_field(obj, name, err, sizeof(err)), 400);
        assert_non_null(strstr(err, "'name' must be 1 to 64"));
        kl_json_free(obj);
}

static void test_key_record_b64_field_bounds(void **state)
{
        static const struct {
                const char *json;
                int code;
        } cases[] = {
            {"{\"k\": \"AAECAw==\"}", 0},   /* 4 bytes: the most */
            {"{\"k\": \"AAECAwQ=\"}", 400}, /* 5 bytes */
            {"{\"k\": \"AAECAwQFBgc=\"}", 400}, {"{\"k\": \"\"}", 400},
            {"{\"k\": \"A***\"}", 400},         {"{\"k\": 12}", 400},
            {"{\"other\": \"AAEC\"}", 400},
        };
        uint8_t *buf = NULL;
        size_t len = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                kl_json *obj = NULL;
                char err[256] = "";

                assert_int_equal(kl_json_parse_object(cases[i].json, strlen(cases[i].json), &obj),
                                 0);
                assert_int_equal(key_record_b64_field(obj, "k", 4, &buf, &len, err, sizeof(err)),
                                 cases[i].code);
                if (cases[i].code == 0) {
                        assert_int_equal(len, 4);
                        assert_memory_equal(buf, "\x00\x01\x02\x03", 4);
                        free(buf);
                } else {
                        assert_null(buf);
                        assert_string_equal(err, "'k' must be base64 of 1 to 4 bytes");
                }
                kl_json_free(obj);
        }
}

static void test_key_record_store_load(void **state)
{
        char dir[256], path[4096], file[4096];
        kl_json *obj = kl_json_object(), *got = NULL;
        const char *v = NULL;
        struct stat st;

        (void)state;
        kl_test_tmpdir(dir, sizeof(dir), "key-record");
        assert_int_equal(kl_json_set_string(obj, "name", "tls-rsa"), 0);
        assert_int_equal(key_record_store(dir, "certified", "tls-rsa", obj), 0);
        snprintf(file, sizeof(file), "%s/certified", dir);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        snprintf(file, sizeof(file), "%s/certified/tls-rsa.json", dir);
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(
            key_record_load(dir, "certified", "tls-rsa", 1024, &got, path, sizeof(path)), 0);
        assert_string_equal(path, file);
        assert_int_equal(kl_json_get_string(got, "name", &v), 0);
        assert_string_equal(v, "tls-rsa");
        kl_json_free(got);
        got = NULL;
        /* no such key, a name that is a path, a record that is not an object */
        assert_int_equal(key_record_load(dir, "certified", "other", 1024, &got, path, sizeof(path)),
                         KL_ERR_NOT_FOUND);
        assert_int_equal(key_record_load(dir, "certified", "../certified/tls-rsa", 1024, &got, path,
                                         sizeof(path)),
                         KL_ERR_INVAL);
        assert_int_equal(key_record_store(dir, "certified", "../x", obj), KL_ERR_INVAL);
        assert_int_equal(kl_file_write_atomic(file, "[1]", 3, 0600), 0);
        assert_int_equal(
            key_record_load(dir, "certified", "tls-rsa", 1024, &got, path, sizeof(path)),
            KL_ERR_INVAL);
        assert_null(got);
        unlink(file);
        snprintf(file, sizeof(file), "%s/certified", dir);
        rmdir(file);
        rmdir(dir);
        kl_json_free(obj);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_key_record_name_ok_rules),
            cmocka_unit_test(test_key_record_name_field_refusals),
            cmocka_unit_test(test_key_record_b64_field_bounds),
            cmocka_unit_test(test_key_record_store_load),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
