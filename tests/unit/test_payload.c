/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/payload.c and the pure parts of agent/secure_mount.c:
 * the AES-GCM vector from tests/data/keys/keys-vector.json, delivery of
 * tests/data/payload/payload.zip, and hostile archives built here with libzip
 * (zip slip, absolute path, symlink, bomb, too much data, too many entries),
 * each of which must be refused with nothing left behind; the payload script
 * and its timeout.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "payload.h"
#include "secure_mount.h"

static char data_dir[2048];
static char dir[256]; /* the "secure" directory of each test */
static struct payload_opts opts;
static const uint8_t key[32] = {1, 2, 3};

static int setup(void **state)
{
        const char *d = getenv("KL_TEST_DATA");

        (void)state;
        snprintf(data_dir, sizeof(data_dir), "%s", d != NULL ? d : "tests/data");
        snprintf(dir, sizeof(dir), "/tmp/kl-test-payload.XXXXXX");
        if (mkdtemp(dir) == NULL)
                return -1;
        opts = (struct payload_opts){
            .secure_dir = dir,
            .enc_keyname = "derived_tci_key",
            .dec_payload_file = "decrypted_payload",
            .extract_zip = true,
            .script = "autorun.sh",
            .script_timeout_s = 10,
        };
        payload_limits_default(&opts.lim, 0);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        return payload_remove_tree(AT_FDCWD, dir) == 0 ? 0 : -1;
}

static void read_data(const char *rel, char **ret, size_t *ret_len)
{
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", data_dir, rel);
        assert_int_equal(kl_file_read(path, 16u << 20, ret, ret_len), 0);
}

static size_t count_entries(const char *path)
{
        DIR *d = opendir(path);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        n++;
        }
        closedir(d);
        return n;
}

static bool exists_in(const char *sub)
{
        char path[512];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, sub);
        return lstat(path, &st) == 0;
}

struct entry {
        const char *name;
        const void *data;
        size_t len;
        zip_uint32_t unix_mode; /* 0 = leave libzip's default attributes */
        bool store;
};

/* Builds an archive in memory (via a temporary file) with the given entries. */
static uint8_t *make_zip(const struct entry *e, size_t n, size_t *ret_len)
{
        char path[] = "/tmp/kl-test-zip.XXXXXX";
        char *bytes = NULL;
        int fd = mkstemp(path), err = 0;
        zip_t *za;

        assert_true(fd >= 0);
        close(fd);
        za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
        assert_non_null(za);
        for (size_t i = 0; i < n; i++) {
                zip_source_t *src = zip_source_buffer(za, e[i].data, e[i].len, 0);
                zip_int64_t idx;

                assert_non_null(src);
                idx = zip_file_add(za, e[i].name, src, ZIP_FL_ENC_RAW);
                assert_true(idx >= 0);
                if (e[i].unix_mode != 0)
                        assert_int_equal(zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0,
                                                                          ZIP_OPSYS_UNIX,
                                                                          e[i].unix_mode << 16),
                                         0);
                if (e[i].store)
                        assert_int_equal(
                            zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
        }
        assert_int_equal(zip_close(za), 0);
        assert_int_equal(kl_file_read(path, 64u << 20, &bytes, ret_len), 0);
        unlink(path);
        return (uint8_t *)bytes;
}

/* Delivers zip; expects refusal and an untouched, empty secure directory. */
static void expect_refused(const struct entry *e, size_t n)
{
        size_t len = 0;
        uint8_t *zip = make_zip(e, n, &len);

        assert_true(payload_deliver(&opts, key, sizeof(key), zip, len) < 0);
        assert_int_equal(count_entries(dir), 0);
        free(zip);
}

static void test_payload_decrypt_vector(void **state)
{
        kl_json *v = NULL;
        char *text = NULL, *zip = NULL;
        const char *b64 = NULL;
        uint8_t *blob = NULL, *plain = NULL, k[32];
        size_t len = 0, blob_len = 0, plain_len = 0, zip_len = 0;

        (void)state;
        for (unsigned i = 0; i < 32; i++)
                k[i] = (uint8_t)i; /* K_hex of the vector: 00 01 .. 1f */
        read_data("keys/keys-vector.json", &text, &len);
        assert_int_equal(kl_json_parse_object(text, len, &v), 0);
        assert_int_equal(kl_json_get_string(v, "payload_b64", &b64), 0);
        assert_int_equal(kl_b64_decode(b64, strlen(b64), &blob, &blob_len), 0);
        assert_int_equal(payload_decrypt(k, 32, blob, blob_len, &plain, &plain_len), 0);
        read_data("payload/payload.zip", &zip, &zip_len);
        assert_int_equal(plain_len, zip_len);
        assert_memory_equal(plain, zip, zip_len);
        kl_secure_free(plain, plain_len);
        /* a flipped tag bit or a wrong key: nothing decrypted */
        blob[blob_len - 1] ^= 1;
        assert_int_equal(payload_decrypt(k, 32, blob, blob_len, &plain, &plain_len), KL_ERR_VERIFY);
        blob[blob_len - 1] ^= 1;
        k[0] ^= 1;
        assert_int_equal(payload_decrypt(k, 32, blob, blob_len, &plain, &plain_len), KL_ERR_VERIFY);
        assert_int_equal(payload_decrypt(k, 32, blob, 31, &plain, &plain_len), KL_ERR_INVAL);
        assert_int_equal(payload_decrypt(k, 20, blob, blob_len, &plain, &plain_len), KL_ERR_INVAL);
        free(zip);
        free(blob);
        free(text);
        kl_json_free(v);
}

static void test_payload_deliver_vector_zip(void **state)
{
        char *zip = NULL, *got = NULL;
        size_t zip_len = 0, got_len = 0;
        char path[512];
        struct stat st;

        (void)state;
        read_data("payload/payload.zip", &zip, &zip_len);
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), (uint8_t *)zip, zip_len), 0);
        assert_true(exists_in("unzipped/autorun.sh"));
        snprintf(path, sizeof(path), "%s/unzipped/derived_tci_key", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(kl_file_read(path, 64, &got, &got_len), 0);
        assert_int_equal(got_len, sizeof(key));
        assert_memory_equal(got, key, sizeof(key));
        free(got);
        snprintf(path, sizeof(path), "%s/unzipped/decrypted_payload", dir);
        assert_int_equal(kl_file_read(path, 1u << 20, &got, &got_len), 0);
        assert_int_equal(got_len, zip_len);
        assert_memory_equal(got, zip, zip_len);
        free(got);
        /* only unzipped/ is left: no temporary directory */
        assert_int_equal(count_entries(dir), 1);
        free(zip);
}

static void test_payload_deliver_not_a_zip(void **state)
{
        const uint8_t text[] = "just a secret, not an archive";

        (void)state;
        assert_true(payload_deliver(&opts, key, sizeof(key), text, sizeof(text)) < 0);
        assert_int_equal(count_entries(dir), 0);
        opts.extract_zip = false;
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), text, sizeof(text)), 0);
        assert_true(exists_in("unzipped/decrypted_payload"));
        opts.extract_zip = true;
}

static void test_payload_deliver_zip_slip_refused(void **state)
{
        const struct entry good = {"ok.txt", "fine", 4, 0, false};
        const struct entry e[] = {good, {"../evil", "x", 1, 0, false}};
        const struct entry e2[] = {good, {"a/../../evil", "x", 1, 0, false}};

        (void)state;
        expect_refused(e, 2);
        expect_refused(e2, 2);
        assert_false(exists_in("evil"));
        assert_false(exists_in("../evil"));
}

static void test_payload_deliver_absolute_path_refused(void **state)
{
        const struct entry e[] = {{"/tmp/kl-test-payload-absolute", "x", 1, 0, false}};

        (void)state;
        expect_refused(e, 1);
        assert_int_equal(access("/tmp/kl-test-payload-absolute", F_OK), -1);
}

static void test_payload_deliver_backslash_refused(void **state)
{
        const struct entry e[] = {{"..\\evil", "x", 1, 0, false}};

        (void)state;
        expect_refused(e, 1);
}

static void test_payload_deliver_symlink_entry_refused(void **state)
{
        const struct entry e[] = {{"link", "/etc/passwd", 11, S_IFLNK | 0777, false},
                                  {"link/x", "y", 1, 0, false}};

        (void)state;
        expect_refused(e, 1);
        expect_refused(e, 2);
}

static void test_payload_deliver_zip_bomb_refused(void **state)
{
        size_t big = 8u << 20;
        uint8_t *zeros = calloc(1, big);
        struct entry e[] = {{"bomb", zeros, big, 0, false}};

        (void)state;
        assert_non_null(zeros);
        expect_refused(e, 1); /* 8 MiB of zeros deflate ~1000:1 */
        free(zeros);
}

static void test_payload_deliver_too_much_data_refused(void **state)
{
        uint8_t *rnd = malloc(4096);
        struct entry e[] = {{"a", NULL, 4096, 0, true}, {"b", NULL, 4096, 0, true}};

        (void)state;
        assert_non_null(rnd);
        assert_int_equal(kl_random_bytes(rnd, 4096), 0);
        e[0].data = rnd;
        e[1].data = rnd;
        payload_limits_default(&opts.lim, 6000); /* e.g. a small tmpfs */
        expect_refused(e, 2);
        payload_limits_default(&opts.lim, 0);
        free(rnd);
}

static void test_payload_deliver_too_many_entries_refused(void **state)
{
        size_t n = PAYLOAD_MAX_ENTRIES + 1;
        struct entry *e = calloc(n, sizeof(*e));
        char(*names)[16] = calloc(n, 16);

        (void)state;
        assert_non_null(e);
        assert_non_null(names);
        for (size_t i = 0; i < n; i++) {
                snprintf(names[i], 16, "f%zu", i);
                e[i] = (struct entry){names[i], "x", 1, 0, true};
        }
        expect_refused(e, n);
        /* one fewer is fine */
        {
                size_t len = 0;
                uint8_t *zip = make_zip(e, n - 1, &len);

                assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
                free(zip);
        }
        free(names);
        free(e);
}

static void test_payload_deliver_replaces_previous(void **state)
{
        const struct entry one[] = {{"old.txt", "1", 1, 0, false}};
        const struct entry bad[] = {{"../x", "1", 1, 0, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(one, 1, &len);

        (void)state;
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        assert_true(exists_in("unzipped/old.txt"));
        free(zip);
        /* a refused payload leaves neither the old nor a partial new one */
        expect_refused(bad, 1);
}

static void test_payload_deliver_nested_dirs(void **state)
{
        const struct entry e[] = {{"d/", "", 0, S_IFDIR | 0755, false},
                                  {"d/e/f.txt", "deep", 4, S_IFREG | 0644, false},
                                  {"./g.sh", "exit 0\n", 7, S_IFREG | 0755, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(e, 3, &len);
        char path[512];
        struct stat st;

        (void)state;
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        assert_true(exists_in("unzipped/d/e/f.txt"));
        snprintf(path, sizeof(path), "%s/unzipped/g.sh", dir);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        free(zip);
}

static void test_payload_run_script(void **state)
{
        const char script[] = "#!/bin/sh\necho ran > marker\nexit 3\n";
        const struct entry e[] = {{"autorun.sh", script, sizeof(script) - 1, 0, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(e, 1, &len);
        bool timed_out = true;
        int status = 0;

        (void)state;
        assert_int_equal(payload_run_script(&opts, NULL, &status, &timed_out), KL_ERR_NOT_FOUND);
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        assert_int_equal(payload_run_script(&opts, NULL, &status, &timed_out), 0);
        assert_false(timed_out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 3);
        assert_true(exists_in("unzipped/marker")); /* cwd was unzipped/ */
        free(zip);
}

static void test_payload_run_script_timeout_kills_group(void **state)
{
        const char script[] = "sleep 30 &\nsleep 30\n";
        const struct entry e[] = {{"autorun.sh", script, sizeof(script) - 1, 0, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(e, 1, &len);
        struct timespec a, b;
        bool timed_out = false;
        int status = 0;

        (void)state;
        opts.script_timeout_s = 1;
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        clock_gettime(CLOCK_MONOTONIC, &a);
        assert_int_equal(payload_run_script(&opts, NULL, &status, &timed_out), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_true(timed_out);
        assert_true(b.tv_sec - a.tv_sec < 5);
        opts.script_timeout_s = 10;
        free(zip);
}

/* A descriptor the agent holds without O_CLOEXEC (the TCTI's TPM socket) stays with the agent. */
static void test_payload_run_script_no_inherited_fds(void **state)
{
        const char script[] = "[ -e /proc/$$/fd/200 ] && exit 4\nexit 0\n";
        const struct entry e[] = {{"autorun.sh", script, sizeof(script) - 1, 0, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(e, 1, &len);
        bool timed_out = true;
        int fd, status = -1;

        (void)state;
        assert_true((fd = open("/dev/null", O_RDONLY)) >= 0); /* no O_CLOEXEC, on purpose */
        assert_int_equal(dup2(fd, 200), 200);
        close(fd);
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        assert_int_equal(payload_run_script(&opts, NULL, &status, &timed_out), 0);
        close(200);
        assert_false(timed_out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        free(zip);
}

/* The owner password an administrator set for the agent is not the tenant script's business. */
static void test_payload_run_script_clean_environment(void **state)
{
        const char script[] = "[ -n \"$KEYLIME_AGENT_TPM_OWNERPASSWORD\" ] && exit 4\n"
                              "env | grep -q '^KEYLIME' && exit 5\nexit 0\n";
        const struct entry e[] = {{"autorun.sh", script, sizeof(script) - 1, 0, false}};
        size_t len = 0;
        uint8_t *zip = make_zip(e, 1, &len);
        bool timed_out = true;
        int status = -1;

        (void)state;
        setenv("KEYLIME_AGENT_TPM_OWNERPASSWORD", "owner-secret", 1);
        assert_int_equal(payload_deliver(&opts, key, sizeof(key), zip, len), 0);
        assert_int_equal(payload_run_script(&opts, NULL, &status, &timed_out), 0);
        unsetenv("KEYLIME_AGENT_TPM_OWNERPASSWORD");
        assert_false(timed_out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        free(zip);
}

static uint8_t *junk_blob(size_t len)
{
        uint8_t *b = calloc(1, len);

        assert_non_null(b);
        return b;
}

/*
 * Two HTTP threads each match a K and submit after the keys lock is released:
 * the payload of the older K must not replace the newer one's.
 */
static void test_payload_worker_submit_drops_older_key(void **state)
{
        struct payload_worker *w = NULL;

        (void)state;
        assert_int_equal(payload_worker_start(&opts, &w), 0);
        /* junk blobs: they fail to decrypt in the worker, which is fine here */
        assert_int_equal(payload_worker_submit(w, 2, key, sizeof(key), junk_blob(40), 40), 0);
        assert_int_equal(payload_worker_submit(w, 1, key, sizeof(key), junk_blob(40), 40),
                         KL_ERR_EXISTS);
        assert_int_equal(payload_worker_submit(w, 2, key, sizeof(key), junk_blob(40), 40),
                         KL_ERR_EXISTS);
        assert_int_equal(payload_worker_submit(w, 3, key, sizeof(key), junk_blob(40), 40), 0);
        payload_worker_stop(w);
}

static void test_secure_mount_lookup(void **state)
{
        const char *info = "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
                           "40 27 0:39 / /var/lib/key\\040lime/secure rw,relatime - tmpfs tmpfs "
                           "rw,size=1024k,mode=700\n"
                           "41 27 8:1 /x /srv/secure rw,relatime shared:5 - ext4 /dev/sda1 rw\n"
                           "42 41 0:40 / /srv/secure rw - tmpfs tmpfs rw,mode=755\n";
        char type[32], opts_s[256];

        (void)state;
        assert_true(secure_mount_lookup(info, "/var/lib/key lime/secure", type, sizeof(type),
                                        opts_s, sizeof(opts_s)));
        assert_string_equal(type, "tmpfs");
        assert_string_equal(opts_s, "rw,size=1024k,mode=700");
        assert_true(
            secure_mount_lookup(info, "/srv/secure", type, sizeof(type), opts_s, sizeof(opts_s)));
        assert_string_equal(type, "tmpfs"); /* the top mount */
        assert_string_equal(opts_s, "rw,mode=755");
        assert_false(secure_mount_lookup(info, "/var/lib/keylime/secure", type, sizeof(type),
                                         opts_s, sizeof(opts_s)));
        assert_false(secure_mount_lookup("garbage\n\n - -\n", "/x", type, sizeof(type), opts_s,
                                         sizeof(opts_s)));
        assert_int_equal(secure_mount_size_bytes("1m"), 1u << 20);
        assert_int_equal(secure_mount_size_bytes("512K"), 512u << 10);
        assert_int_equal(secure_mount_size_bytes("4096"), 4096);
        assert_int_equal(secure_mount_size_bytes("50%"), 0);
        assert_int_equal(secure_mount_size_bytes("1mb"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
        const struct CMUnitTest tests[] = {
            T(test_payload_decrypt_vector),
            T(test_payload_deliver_vector_zip),
            T(test_payload_deliver_not_a_zip),
            T(test_payload_deliver_zip_slip_refused),
            T(test_payload_deliver_absolute_path_refused),
            T(test_payload_deliver_backslash_refused),
            T(test_payload_deliver_symlink_entry_refused),
            T(test_payload_deliver_zip_bomb_refused),
            T(test_payload_deliver_too_much_data_refused),
            T(test_payload_deliver_too_many_entries_refused),
            T(test_payload_deliver_replaces_previous),
            T(test_payload_deliver_nested_dirs),
            T(test_payload_run_script),
            T(test_payload_run_script_timeout_kills_group),
            T(test_payload_run_script_no_inherited_fds),
            T(test_payload_run_script_clean_environment),
            T(test_payload_worker_submit_drops_older_key),
            cmocka_unit_test(test_secure_mount_lookup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
