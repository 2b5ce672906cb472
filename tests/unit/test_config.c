/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/core/config.c. Each test gets a fresh temporary root (under
 * $TMPDIR) holding usr/etc/keylime and etc/keylime, and a clean environment
 * (every KEYLIME_* variable unset). Error messages are checked by pointing
 * stderr, where lib/core/log.c writes, at a temporary file.
 */
/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

extern char **environ;

struct fixture {
        char root[PATH_MAX];
        char log_path[PATH_MAX];
        int saved_stderr;
        char log[16384];
};

/* ---- helpers ---- */

/* snprintf that fails the test instead of truncating. */
static void fmt(char *buf, size_t len, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t len, const char *format, ...)
{
        va_list ap;
        int n;

        va_start(ap, format);
        n = vsnprintf(buf, len, format, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= len)
                fail_msg("path too long: %s", buf);
}

static void clear_keylime_env(void)
{
        bool again = true;

        /* unsetenv changes environ, so start over after each removal. */
        while (again) {
                again = false;
                for (char **e = environ; *e != NULL; e++) {
                        char name[256];
                        const char *eq = strchr(*e, '=');
                        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);

                        if (strncmp(*e, "KEYLIME_", 8) != 0 || n >= sizeof(name))
                                continue;
                        memcpy(name, *e, n);
                        name[n] = '\0';
                        unsetenv(name);
                        again = true;
                        break;
                }
        }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        const char *tmp = getenv("TMPDIR");
        int n;

        if (f == NULL)
                return -1;
        if (tmp == NULL || tmp[0] == '\0')
                tmp = "/tmp";
        n = snprintf(f->root, sizeof(f->root), "%s/kl-test-config-XXXXXX", tmp);
        if (n < 0 || (size_t)n >= sizeof(f->root) || mkdtemp(f->root) == NULL) {
                free(f);
                return -1;
        }
        fmt(f->log_path, sizeof(f->log_path), "%s.log", f->root);
        f->saved_stderr = -1;
        clear_keylime_env();
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        if (f->saved_stderr >= 0) {
                dup2(f->saved_stderr, STDERR_FILENO);
                close(f->saved_stderr);
        }
        nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        unlink(f->log_path);
        clear_keylime_env();
        free(f);
        return 0;
}

/* Writes root/rel (creating directories) with the given text. */
static void put_file(struct fixture *f, const char *rel, const char *text)
{
        char path[PATH_MAX];
        FILE *fp;

        fmt(path, sizeof(path), "%s/%s", f->root, rel);
        for (char *p = path + strlen(f->root) + 1; *p != '\0'; p++) {
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(path, 0755) != 0 && errno != EEXIST)
                                fail_msg("mkdir %s: %s", path, strerror(errno));
                        *p = '/';
                }
        }
        fp = fopen(path, "w");
        assert_non_null(fp);
        assert_int_equal(fputs(text, fp) >= 0, 1);
        assert_int_equal(fclose(fp), 0);
}

static void make_dir(struct fixture *f, const char *rel)
{
        char path[PATH_MAX];

        fmt(path, sizeof(path), "%s/%s", f->root, rel);
        assert_int_equal(mkdir(path, 0755), 0);
}

static void set_env_path(struct fixture *f, const char *var, const char *rel)
{
        char path[PATH_MAX];

        fmt(path, sizeof(path), "%s/%s", f->root, rel);
        assert_int_equal(setenv(var, path, 1), 0);
}

/* Sends stderr to a file until end_capture(), which returns what was written. */
static void begin_capture(struct fixture *f)
{
        int fd = open(f->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        f->saved_stderr = dup(STDERR_FILENO);
        assert_true(f->saved_stderr >= 0);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        close(fd);
}

static const char *end_capture(struct fixture *f)
{
        FILE *fp;
        size_t n;

        assert_true(dup2(f->saved_stderr, STDERR_FILENO) >= 0);
        close(f->saved_stderr);
        f->saved_stderr = -1;
        fp = fopen(f->log_path, "r");
        assert_non_null(fp);
        n = fread(f->log, 1, sizeof(f->log) - 1, fp);
        f->log[n] = '\0';
        fclose(fp);
        /* Echo it, so a failing test shows what the loader said. */
        if (n > 0)
                fprintf(stderr, "%s", f->log);
        return f->log;
}

static void assert_contains(const char *haystack, const char *needle)
{
        if (strstr(haystack, needle) == NULL)
                fail_msg("'%s' not found in:\n%s", needle, haystack);
}

/* Loads with root = the fixture's root and stderr captured. */
static int load(struct fixture *f, struct kl_agent_config **cfg)
{
        int r;

        *cfg = NULL;
        begin_capture(f);
        r = kl_agent_config_load(f->root, cfg);
        end_capture(f);
        return r;
}

static void expect_path(const char *got, struct fixture *f, const char *rel)
{
        char want[PATH_MAX];

        fmt(want, sizeof(want), "%s/%s", f->root, rel);
        assert_string_equal(got, want);
}

/* ---- tests ---- */

/* Options whose feature is not implemented yet (none since revocation notices). */
#define N_NOT_YET 0

static bool names_contain(const char *const *names, const char *name)
{
        for (; *names != NULL; names++) {
                if (strcmp(*names, name) == 0)
                        return true;
        }
        return false;
}

static void test_config_load_upstream_sample(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        const char *data = getenv("KL_TEST_DATA");
        const char *names[8];
        char path[PATH_MAX];

        if (data == NULL)
                data = "tests/data";
        fmt(path, sizeof(path), "%s/config/keylime-agent.conf", data);
        assert_int_equal(setenv("KEYLIME_AGENT_CONFIG", path, 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        /* Every key of the upstream file is known: not even a warning. */
        assert_string_equal(f->log, "");
        assert_int_equal(cfg->n_sources, 1);
        assert_string_equal(cfg->sources[0], path);

        assert_string_equal(cfg->version, "2.4");
        assert_string_equal(cfg->api_versions, "default");
        assert_string_equal(cfg->uuid, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000");
        assert_string_equal(cfg->ip, "127.0.0.1");
        assert_int_equal(cfg->port, 9002);
        assert_int_equal(cfg->contact_port, 9002);
        assert_int_equal(cfg->registrar_port, 8890);
        assert_int_equal(cfg->registrar_tls_port, 8891);
        assert_int_equal(cfg->revocation_notification_port, 8992);
        assert_false(cfg->registrar_tls_enabled);
        assert_true(cfg->enable_agent_mtls);
        assert_true(cfg->extract_payload_zip);
        assert_false(cfg->enable_revocation_notifications);
        assert_true(cfg->allow_payload_revocation_actions);
        assert_string_equal(cfg->keylime_dir, "/var/lib/keylime");
        assert_string_equal(cfg->agent_data_path, "/var/lib/keylime/agent_data.json");
        assert_string_equal(cfg->server_key, "/var/lib/keylime/server-private.pem");
        assert_string_equal(cfg->server_cert, "/var/lib/keylime/server-cert.crt");
        assert_string_equal(cfg->payload_key, "/var/lib/keylime/payload-private.pem");
        assert_string_equal(cfg->registrar_tls_ca_cert, "/var/lib/keylime/cv_ca/cacert.crt");
        assert_string_equal(cfg->verifier_tls_ca_cert, "/var/lib/keylime/cv_ca/cacert.crt");
        assert_string_equal(cfg->revocation_cert,
                            "/var/lib/keylime/secure/unzipped/RevocationNotifier-cert.crt");
        assert_string_equal(cfg->iak_cert, "/var/lib/keylime/iak-cert.crt");
        assert_string_equal(cfg->idevid_cert, "/var/lib/keylime/idevid-cert.crt");
        assert_string_equal(cfg->ima_ml_path,
                            "/sys/kernel/security/ima/ascii_runtime_measurements");
        assert_string_equal(cfg->measuredboot_ml_path,
                            "/sys/kernel/security/tpm0/binary_bios_measurements");
        assert_string_equal(cfg->trusted_client_ca, "default");
        assert_string_equal(cfg->revocation_actions, "");
        assert_string_equal(cfg->revocation_actions_dir, "/usr/libexec/keylime");
        assert_string_equal(cfg->secure_size, "1m");
        assert_string_equal(cfg->tpm_hash_alg, "sha256");
        assert_string_equal(cfg->tpm_encryption_alg, "rsa");
        assert_string_equal(cfg->tpm_signing_alg, "rsassa");
        assert_string_equal(cfg->ek_handle, "generate");
        assert_string_equal(cfg->iak_idevid_template, "detect");
        assert_string_equal(cfg->run_as, "keylime:tss");
        assert_string_equal(cfg->verifier_url, "https://localhost:8881");
        assert_int_equal(cfg->attestation_interval_seconds, 60);
        assert_int_equal(cfg->exponential_backoff_initial_delay, 10000);
        assert_int_equal(cfg->exponential_backoff_max_retries, 5);
        assert_int_equal(cfg->exponential_backoff_max_delay, 300000);
        /* Only the options of features not implemented yet are reported. */
        assert_int_equal(kl_agent_config_unsupported(cfg, names, 32), N_NOT_YET);
        assert_false(names_contain(names, "revocation_actions"));
        assert_false(names_contain(names, "payload_script"));
        assert_false(names_contain(names, "enable_iak_idevid"));
        kl_agent_config_free(cfg);
}

static void test_config_load_builtin_defaults(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(f->log, "");
        assert_int_equal(cfg->n_sources, 0);
        assert_string_equal(cfg->version, "2.0");
        assert_string_equal(cfg->uuid, "d432fbb3-d2f1-4a97-9ef7-75bd81c00000");
        assert_string_equal(cfg->contact_ip, "127.0.0.1");
        assert_string_equal(cfg->registrar_ip, "127.0.0.1");
        assert_int_equal(cfg->port, 9002);
        assert_int_equal(cfg->registrar_port, 8890);
        assert_string_equal(cfg->keylime_dir, "/var/lib/keylime");
        assert_string_equal(cfg->agent_data_path, "/var/lib/keylime/agent_data.json");
        assert_string_equal(cfg->run_as, geteuid() == 0 ? "keylime:tss" : "");
        assert_string_equal(cfg->iak_idevid_template, "H-1");
        assert_string_equal(cfg->enc_keyname, "derived_tci_key");
        assert_string_equal(cfg->dec_payload_file, "decrypted_payload");
        assert_string_equal(cfg->payload_script, "autorun.sh");
        assert_string_equal(cfg->certification_keys_server_identifier, "ak");
        assert_string_equal(cfg->uefi_logs_evidence_version, "2.1");
        assert_string_equal(cfg->registrar_api_versions, "default");
        assert_false(cfg->enable_insecure_payload);
        assert_false(cfg->tls_accept_invalid_certs);
        assert_false(cfg->tls_accept_invalid_hostnames);
        assert_int_equal(cfg->exponential_backoff_initial_delay, 10000);
        kl_agent_config_free(cfg);
}

static void test_config_dropin_order(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "usr/etc/keylime/agent.conf",
                 "[agent]\nport = 1000\nregistrar_port = 2000\ncontact_port = 3000\n"
                 "uuid = \"usr-main\"\n");
        put_file(f, "usr/etc/keylime/agent.conf.d/20-b.conf", "[agent]\nport = 1002\n");
        put_file(f, "usr/etc/keylime/agent.conf.d/10-a.conf",
                 "[agent]\nport = 1001\nregistrar_port = 2001\n");
        put_file(f, "etc/keylime/agent.conf", "[agent]\nregistrar_port = 2100\n");
        put_file(f, "etc/keylime/agent.conf.d/02.conf", "[agent]\ncontact_port = 3002\n");
        put_file(f, "etc/keylime/agent.conf.d/01.conf", "[agent]\ncontact_port = 3001\n");
        /* Hidden files and directories in agent.conf.d are not read. */
        put_file(f, "etc/keylime/agent.conf.d/.99-hidden.conf", "[agent]\nport = 1\n");
        make_dir(f, "etc/keylime/agent.conf.d/zz-dir");

        assert_int_equal(load(f, &cfg), 0);
        assert_int_equal(cfg->port, 1002);           /* later drop-in wins */
        assert_int_equal(cfg->registrar_port, 2100); /* /etc beats /usr/etc */
        assert_int_equal(cfg->contact_port, 3002);   /* 02 after 01 */
        assert_string_equal(cfg->uuid, "usr-main");  /* set once, kept */
        assert_int_equal(cfg->n_sources, 6);
        expect_path(cfg->sources[0], f, "usr/etc/keylime/agent.conf");
        expect_path(cfg->sources[1], f, "usr/etc/keylime/agent.conf.d/10-a.conf");
        expect_path(cfg->sources[2], f, "usr/etc/keylime/agent.conf.d/20-b.conf");
        expect_path(cfg->sources[3], f, "etc/keylime/agent.conf");
        expect_path(cfg->sources[4], f, "etc/keylime/agent.conf.d/01.conf");
        expect_path(cfg->sources[5], f, "etc/keylime/agent.conf.d/02.conf");
        kl_agent_config_free(cfg);
}

static void test_config_env_beats_file(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "etc/keylime/agent.conf",
                 "[agent]\nport = 1000\nenable_agent_mtls = true\nregistrar_ip = \"1.2.3.4\"\n"
                 "exponential_backoff_max_retries = 7\n");
        assert_int_equal(setenv("KEYLIME_AGENT_PORT", "2000", 1), 0);
        assert_int_equal(setenv("KEYLIME_AGENT_ENABLE_AGENT_MTLS", "FALSE", 1), 0);
        assert_int_equal(setenv("KEYLIME_AGENT_ENABLE_INSECURE_PAYLOAD", "True", 1), 0);
        assert_int_equal(setenv("KEYLIME_AGENT_REGISTRAR_IP", "10.0.0.5", 1), 0);
        assert_int_equal(setenv("KEYLIME_AGENT_API_VERSIONS", "latest", 1), 0);
        assert_int_equal(setenv("KEYLIME_AGENT_RUN_AS", "", 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_int_equal(cfg->port, 2000);
        assert_false(cfg->enable_agent_mtls);
        assert_true(cfg->enable_insecure_payload);
        assert_string_equal(cfg->registrar_ip, "10.0.0.5");
        assert_string_equal(cfg->api_versions, "latest");
        assert_string_equal(cfg->run_as, "");
        assert_int_equal(cfg->exponential_backoff_max_retries, 7); /* file, no env */
        kl_agent_config_free(cfg);
}

static void test_config_keylime_dir_precedence(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "etc/keylime/agent.conf", "[agent]\nkeylime_dir = \"/from/file\"\n");
        assert_int_equal(setenv("KEYLIME_AGENT_KEYLIME_DIR", "/from/agent/env", 1), 0);
        assert_int_equal(setenv("KEYLIME_DIR", "/from/keylime_dir/", 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(cfg->keylime_dir, "/from/keylime_dir");
        assert_string_equal(cfg->server_key, "/from/keylime_dir/server-private.pem");
        kl_agent_config_free(cfg);

        /* An empty KEYLIME_DIR does not count. */
        assert_int_equal(setenv("KEYLIME_DIR", "", 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(cfg->keylime_dir, "/from/agent/env");
        kl_agent_config_free(cfg);

        assert_int_equal(unsetenv("KEYLIME_AGENT_KEYLIME_DIR"), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(cfg->keylime_dir, "/from/file");
        assert_string_equal(cfg->agent_data_path, "/from/file/agent_data.json");
        kl_agent_config_free(cfg);
}

static void test_config_single_file_replaces_search(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "usr/etc/keylime/agent.conf", "[agent]\nport = 1000\nip = \"10.1.1.1\"\n");
        put_file(f, "etc/keylime/agent.conf", "[agent]\nport = 1001\n");
        put_file(f, "etc/keylime/agent.conf.d/x.conf", "[agent]\nport = 1002\n");
        put_file(f, "custom.conf", "[agent]\nport = 3000\n");
        set_env_path(f, "KEYLIME_AGENT_CONFIG", "custom.conf");
        assert_int_equal(load(f, &cfg), 0);
        assert_int_equal(cfg->port, 3000);
        assert_string_equal(cfg->ip, "127.0.0.1"); /* usr/etc was not read */
        assert_int_equal(cfg->n_sources, 1);
        expect_path(cfg->sources[0], f, "custom.conf");
        kl_agent_config_free(cfg);

        /* The named file must exist. */
        set_env_path(f, "KEYLIME_AGENT_CONFIG", "missing.conf");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_null(cfg);
        assert_contains(f->log, "KEYLIME_AGENT_CONFIG");
        assert_contains(f->log, "missing.conf");

        /* Empty means unset: back to the normal search. */
        assert_int_equal(setenv("KEYLIME_AGENT_CONFIG", "", 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_int_equal(cfg->port, 1002);
        assert_int_equal(cfg->n_sources, 3);
        kl_agent_config_free(cfg);
}

static void test_config_unknown_keys_only_warn(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        const char *data = getenv("KL_TEST_DATA");
        char path[PATH_MAX];

        if (data == NULL)
                data = "tests/data";
        fmt(path, sizeof(path), "%s/config/python-era.conf", data);
        assert_int_equal(setenv("KEYLIME_AGENT_CONFIG", path, 1), 0);
        assert_int_equal(load(f, &cfg), 0);
        assert_contains(f->log, "ignoring unknown option 'tls_dir' (");
        assert_contains(f->log, "python-era.conf:8)");
        assert_contains(f->log, "ignoring unknown option 'measure_payload_pcr'");
        assert_contains(f->log, "'receive_revocation_ip' in table [general]");
        assert_string_equal(cfg->uuid, "hash_ek");
        assert_string_equal(cfg->ip, "0.0.0.0");
        assert_string_equal(cfg->registrar_ip, "10.0.0.5");
        assert_string_equal(cfg->trusted_client_ca, "['default']"); /* raw list */
        assert_string_equal(cfg->api_versions, "2.1, 2.2");
        kl_agent_config_free(cfg);

        /* Keys outside any table warn too. */
        put_file(f, "etc/keylime/agent.conf", "port = 1\n[agent]\n");
        unsetenv("KEYLIME_AGENT_CONFIG");
        assert_int_equal(load(f, &cfg), 0);
        assert_contains(f->log, "ignoring 'port' outside the [agent] table");
        assert_int_equal(cfg->port, 9002);
        kl_agent_config_free(cfg);
}

struct bad_case {
        const char *body; /* after "[agent]\n" */
        const char *want; /* in the log, after the file path */
};

static void test_config_bad_values_name_the_option(void **state)
{
        static const struct bad_case cases[] = {
            {"port = 70000\n", ":2: option 'port': expected an integer in 1..65535"},
            {"\nport = -1\n", ":3: option 'port': expected an integer in 1..65535"},
            {"port = 0\n", ":2: option 'port': expected an integer in 1..65535"},
            {"port = \"9002\"\n", ":2: option 'port': expected an integer"},
            {"exponential_backoff_max_delay = 4294967296\n",
             "option 'exponential_backoff_max_delay': expected an integer in 0..4294967295"},
            {"enable_agent_mtls = \"true\"\n",
             ":2: option 'enable_agent_mtls': expected true or false"},
            {"enable_agent_mtls = 1\n", "option 'enable_agent_mtls': expected true or false"},
            {"ip = 5\n", ":2: option 'ip': expected a string"},
            {"uuid = [\"a\"]\n", ":2: option 'uuid': expected a string"},
            {"ip = \"bad host!\"\n", ":2: option 'ip': invalid value 'bad host!'"},
            {"registrar_ip = \"\"\n", "option 'registrar_ip': invalid value ''"},
            {"tpm_hash_alg = \"md5\"\n", ":2: option 'tpm_hash_alg': invalid value 'md5'"},
            {"tpm_encryption_alg = \"rsa999\"\n", "option 'tpm_encryption_alg'"},
            {"tpm_signing_alg = \"hmac\"\n", "option 'tpm_signing_alg'"},
            {"ek_handle = \"0xZZ\"\n", "option 'ek_handle'"},
            {"ek_handle = \"0x810100010\"\n", "option 'ek_handle'"},
            {"iak_handle = \"persistent\"\n", "option 'iak_handle'"},
            {"api_versions = \"2.x\"\n", "option 'api_versions': invalid value '2.x'"},
            {"api_versions = \"default, 2.1\"\n", "option 'api_versions'"},
            {"registrar_api_versions = \"'2.1\"\n", "option 'registrar_api_versions'"},
            {"trusted_client_ca = \"'unterminated\"\n", "option 'trusted_client_ca'"},
            {"keylime_dir = \"relative/dir\"\n",
             ":2: option 'keylime_dir': 'relative/dir' is not an absolute path"},
            {"secure_size = \"1m,exec\"\n", "option 'secure_size'"},
            {"enc_keyname = \"../key\"\n", "option 'enc_keyname'"},
            {"dec_payload_file = \"\"\n", "option 'dec_payload_file'"},
            {"tpm_ownerpassword = \"hex:abc\"\n",
             ":2: option 'tpm_ownerpassword': invalid value (a \"hex:\" value"},
            {"enable_revocation_notifications = true\nrevocation_cert = \"\"\n",
             ":3: option 'revocation_cert': must not be empty"},
            {"enable_revocation_notifications = true\nrevocation_notification_ip = \"\"\n",
             ":3: option 'revocation_notification_ip': must not be empty"},
            {"attestation_interval_seconds = 0\n", "option 'attestation_interval_seconds'"},
            /* Syntax errors: file and line, then the parser's message. */
            {"port = 9002\nport = 9003\n", ":3: duplicate key 'port'"},
            {"port = 9002.5\n", ":2: floats are not supported"},
            {"[[agent]]\n", ":2: arrays of tables"},
        };
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        char body[512], want[PATH_MAX + 256];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                fmt(body, sizeof(body), "[agent]\n%s", cases[i].body);
                put_file(f, "etc/keylime/agent.conf", body);
                if (load(f, &cfg) != KL_ERR_CONFIG)
                        fail_msg("case %zu (%s) was accepted", i, cases[i].body);
                assert_null(cfg);
                fmt(want, sizeof(want), "%s/etc/keylime/agent.conf", f->root);
                assert_contains(f->log, want);
                assert_contains(f->log, cases[i].want);
        }
        /* The secret itself never reaches the log. */
        put_file(f, "etc/keylime/agent.conf", "[agent]\ntpm_ownerpassword = \"hex:s3cr3t\"\n");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_null(strstr(f->log, "s3cr3t"));
}

static void test_config_bad_env_names_the_variable(void **state)
{
        static const char *const cases[][3] = {
            {"KEYLIME_AGENT_PORT", "abc", "option 'port'"},
            {"KEYLIME_AGENT_PORT", "", "option 'port'"},
            {"KEYLIME_AGENT_PORT", "-1", "option 'port'"},
            {"KEYLIME_AGENT_PORT", "+80", "option 'port'"},
            {"KEYLIME_AGENT_PORT", "65536", "option 'port'"},
            {"KEYLIME_AGENT_ENABLE_AGENT_MTLS", "yes", "option 'enable_agent_mtls'"},
            {"KEYLIME_AGENT_TPM_HASH_ALG", "md5", "option 'tpm_hash_alg'"},
            {"KEYLIME_AGENT_KEYLIME_DIR", "rel", "option 'keylime_dir'"},
        };
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        char want[128];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                assert_int_equal(setenv(cases[i][0], cases[i][1], 1), 0);
                if (load(f, &cfg) != KL_ERR_CONFIG)
                        fail_msg("%s=%s was accepted", cases[i][0], cases[i][1]);
                assert_null(cfg);
                fmt(want, sizeof(want), "environment variable %s: %s", cases[i][0], cases[i][2]);
                assert_contains(f->log, want);
                assert_int_equal(unsetenv(cases[i][0]), 0);
        }
        assert_int_equal(setenv("KEYLIME_DIR", "relative", 1), 0);
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_contains(f->log, "environment variable KEYLIME_DIR: option 'keylime_dir'");
}

static void test_config_reports_every_problem(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "etc/keylime/agent.conf",
                 "[agent]\nport = 0\ntpm_hash_alg = \"md4\"\nenable_iak_idevid = \"x\"\n");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_contains(f->log, ":2: option 'port'");
        assert_contains(f->log, ":3: option 'tpm_hash_alg'");
        assert_contains(f->log, ":4: option 'enable_iak_idevid'");
}

static void test_config_unreadable_sources(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        char name[64];

        /* agent.conf that is a directory */
        make_dir(f, "etc");
        make_dir(f, "etc/keylime");
        make_dir(f, "etc/keylime/agent.conf");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_contains(f->log, "not a regular file");
        make_dir(f, "etc/keylime/agent.conf/inside");
        put_file(f, "etc/keylime/agent.conf/inside/x", "");
        set_env_path(f, "KEYLIME_AGENT_CONFIG", "etc/keylime/agent.conf");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG); /* KEYLIME_AGENT_CONFIG too */
        assert_contains(f->log, "not a regular file");
        nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        assert_int_equal(mkdir(f->root, 0700), 0);
        unsetenv("KEYLIME_AGENT_CONFIG");

        /* more drop-ins than sources[] can record */
        for (int i = 0; i <= KL_CONFIG_MAX_SOURCES; i++) {
                fmt(name, sizeof(name), "usr/etc/keylime/agent.conf.d/%02d.conf", i);
                put_file(f, name, "[agent]\n");
        }
        set_env_path(f, "KEYLIME_AGENT_CONFIG", "usr/etc/keylime/agent.conf.d/00.conf");
        assert_int_equal(load(f, &cfg), 0); /* the single file alone is fine */
        kl_agent_config_free(cfg);
        unsetenv("KEYLIME_AGENT_CONFIG");
        assert_int_equal(load(f, &cfg), KL_ERR_CONFIG);
        assert_contains(f->log, "too many");
}

static void test_config_resolves_paths(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "etc/keylime/agent.conf",
                 "[agent]\n"
                 "keylime_dir = \"/kl/\"\n"
                 "server_key = \"keys/relative.pem\"\n"
                 "server_cert = \"/abs/cert.crt\"\n"
                 "payload_key = \"\"\n"
                 "iak_cert = \"\"\n"
                 "idevid_cert = \"default\"\n"
                 "revocation_cert = \"rev.crt\"\n"
                 "ima_ml_path = \"proc/ima\"\n"
                 "measuredboot_ml_path = \"default\"\n"
                 "agent_data_path = \"/state/agent.json\"\n");
        assert_int_equal(load(f, &cfg), 0);
        assert_contains(f->log, "option 'payload_key' is empty; using the default");
        assert_string_equal(cfg->keylime_dir, "/kl");
        assert_string_equal(cfg->server_key, "/kl/keys/relative.pem");
        assert_string_equal(cfg->server_cert, "/abs/cert.crt");
        assert_string_equal(cfg->payload_key, "/kl/payload-private.pem");
        assert_string_equal(cfg->iak_cert, ""); /* empty allowed: none */
        assert_string_equal(cfg->idevid_cert, "/kl/idevid-cert.crt");
        assert_string_equal(cfg->revocation_cert, "/kl/rev.crt");
        assert_string_equal(cfg->ima_ml_path, "/proc/ima");
        assert_string_equal(cfg->measuredboot_ml_path,
                            "/sys/kernel/security/tpm0/binary_bios_measurements");
        assert_string_equal(cfg->agent_data_path, "/state/agent.json");
        assert_string_equal(cfg->registrar_tls_ca_cert, "/kl/cv_ca/cacert.crt");
        kl_agent_config_free(cfg);

        /* keylime_dir "/" and an empty keylime_dir (= the default) */
        put_file(f, "etc/keylime/agent.conf", "[agent]\nkeylime_dir = \"/\"\n");
        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(cfg->server_key, "/server-private.pem");
        kl_agent_config_free(cfg);
        put_file(f, "etc/keylime/agent.conf", "[agent]\nkeylime_dir = \"\"\n");
        assert_int_equal(load(f, &cfg), 0);
        assert_string_equal(cfg->keylime_dir, "/var/lib/keylime");
        kl_agent_config_free(cfg);
}

static void test_config_accepts_valid_values(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;

        put_file(f, "etc/keylime/agent.conf",
                 "[agent]\n"
                 "ip = \"::\"\n"
                 "contact_ip = \"agent-1.example.org\"\n"
                 "registrar_ip = \"fe80::1\"\n"
                 "port = 65535\n"
                 "registrar_port = 1\n"
                 "tpm_hash_alg = \"sha384\"\n"
                 "tpm_encryption_alg = \"ecc_nist_p256\"\n"
                 "tpm_signing_alg = \"ecdsa\"\n"
                 "ek_handle = \"81010001\"\n"
                 "api_versions = \"[2.1 2.2,2.3]\"\n"
                 "registrar_api_versions = \"\"\n"
                 "tpm_ownerpassword = \"hex:00ff\"\n"
                 "secure_size = \"10%\"\n"
                 "exponential_backoff_max_delay = 4294967295\n"
                 "enable_revocation_notifications = true\n");
        assert_int_equal(load(f, &cfg), 0);
        assert_contains(f->log, "option 'registrar_api_versions' lists no version");
        assert_string_equal(cfg->ip, "::");
        assert_int_equal(cfg->port, 65535);
        assert_int_equal(cfg->registrar_port, 1);
        assert_string_equal(cfg->tpm_encryption_alg, "ecc_nist_p256");
        assert_string_equal(cfg->ek_handle, "81010001");
        assert_string_equal(cfg->api_versions, "[2.1 2.2,2.3]");
        assert_string_equal(cfg->registrar_api_versions, "default");
        assert_string_equal(cfg->tpm_ownerpassword, "hex:00ff");
        assert_int_equal(cfg->exponential_backoff_max_delay, 4294967295u);
        assert_true(cfg->enable_revocation_notifications);
        kl_agent_config_free(cfg);
}

static void test_config_unsupported(void **state)
{
        struct fixture *f = *state;
        struct kl_agent_config *cfg = NULL;
        const char *names[32];

        put_file(f, "etc/keylime/agent.conf",
                 "[agent]\nenable_iak_idevid = true\nregistrar_tls_enabled = true\n"
                 "iak_handle = \"0x81010002\"\nidevid_handle = \"\"\n");
        assert_int_equal(load(f, &cfg), 0);
        assert_int_equal(kl_agent_config_unsupported(cfg, names, 32), 3 + N_NOT_YET);
        assert_true(names_contain(names, "registrar_tls_enabled"));
        assert_true(names_contain(names, "enable_iak_idevid"));
        assert_true(names_contain(names, "iak_handle"));
        assert_false(names_contain(names, "idevid_handle"));
        assert_null(names[3 + N_NOT_YET]);
        assert_int_equal(kl_agent_config_unsupported(cfg, names, 2), 2);
        assert_int_equal(kl_agent_config_unsupported(cfg, names, 0), 0);
        kl_agent_config_free(cfg);
        kl_agent_config_free(NULL);
}

static void expect_list(const char *s, int want_r, const char *const *want)
{
        char **items = NULL;
        size_t n = 99, i;
        int r = kl_config_parse_list(s, &items, &n);

        if (r != want_r)
                fail_msg("parse_list(%s) = %d, want %d", s, r, want_r);
        if (r != 0)
                return;
        for (i = 0; want[i] != NULL; i++) {
                assert_non_null(items[i]);
                assert_string_equal(items[i], want[i]);
        }
        assert_null(items[i]);
        assert_int_equal(n, i);
        kl_strv_free(items);
}

static void test_config_parse_list(void **state)
{
        static const char *const none[] = {NULL};

        (void)state;
        expect_list("2.5, 2.6", 0, (const char *const[]){"2.5", "2.6", NULL});
        expect_list("[a b]", 0, (const char *const[]){"a", "b", NULL});
        expect_list("a,b,c", 0, (const char *const[]){"a", "b", "c", NULL});
        expect_list(" a\nb\tc\r\n", 0, (const char *const[]){"a", "b", "c", NULL});
        expect_list("['default']", 0, (const char *const[]){"default", NULL});
        expect_list("[\"x y\", 'z,w' v]", 0, (const char *const[]){"x y", "z,w", "v", NULL});
        expect_list("\"[\"", 0, (const char *const[]){"[", NULL});
        expect_list("[a,", 0, (const char *const[]){"[a", NULL});
        expect_list("a,,b,", 0, (const char *const[]){"a", "b", NULL});
        expect_list("", 0, none);
        expect_list("[]", 0, none);
        expect_list(" [ \n ] ", 0, none);
        expect_list(",,", 0, none);
        expect_list("'', \"\"", 0, none);
        expect_list("'unterminated", KL_ERR_INVAL, none);
        expect_list("'a'b", KL_ERR_INVAL, none);
        assert_int_equal(kl_config_parse_list(NULL, NULL, NULL), KL_ERR_INVAL);
        kl_strv_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_config_load_upstream_sample, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_load_builtin_defaults, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_dropin_order, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_env_beats_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_keylime_dir_precedence, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_single_file_replaces_search, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_config_unknown_keys_only_warn, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_bad_values_name_the_option, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_config_bad_env_names_the_variable, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_config_reports_every_problem, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_unreadable_sources, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_resolves_paths, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_accepts_valid_values, setup, teardown),
            cmocka_unit_test_setup_teardown(test_config_unsupported, setup, teardown),
            cmocka_unit_test(test_config_parse_list),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
