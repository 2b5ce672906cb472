/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/actions.c and agent/revocation.c: action names and
 * lookup, action_list, running actions (JSON file argument, a failing action
 * does not stop the next, timeout kills the group), and revocation_process
 * on the verifier-format vector: runs actions only when the signature
 * verifies with tests/data/revocation/test-cert.pem.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "revocation.h"

struct fx {
        char dir[256];
        char actions_dir[300];
        char unzipped[300];
        char marker[300];
        char cert[512];
        struct revocation_opts o;
};

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
        char path[600];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_int_equal(kl_file_write_atomic(path, text, strlen(text), mode), 0);
}

static int setup(void **state)
{
        struct fx *f = calloc(1, sizeof(*f));
        const char *data = getenv("KL_TEST_DATA");
        char script[1024];

        assert_non_null(f);
        assert_non_null(data);
        snprintf(f->dir, sizeof(f->dir), "%s/kl-revo-XXXXXX",
                 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->actions_dir, sizeof(f->actions_dir), "%s/actions", f->dir);
        snprintf(f->unzipped, sizeof(f->unzipped), "%s/unzipped", f->dir);
        snprintf(f->marker, sizeof(f->marker), "%s/marker", f->dir);
        snprintf(f->cert, sizeof(f->cert), "%s/revocation/test-cert.pem", data);
        assert_int_equal(mkdir(f->actions_dir, 0700), 0);
        assert_int_equal(mkdir(f->unzipped, 0700), 0);
        /* appends the JSON argument to the marker: order and content are visible */
        snprintf(script, sizeof(script), "#!/bin/sh\ncat \"$1\" >> %s\necho >> %s\n", f->marker,
                 f->marker);
        write_file(f->actions_dir, "marker_action", script, 0700);
        write_file(f->actions_dir, "fail_action", "#!/bin/sh\necho failing\nexit 3\n", 0700);
        write_file(f->actions_dir, "slow_action", "#!/bin/sh\nsleep 20\n", 0700);
        write_file(f->actions_dir, "not_executable", "#!/bin/sh\n", 0600);
        write_file(f->unzipped, "payload_action", script, 0700);
        f->o.cert_path = f->cert;
        f->o.actions = (struct actions_opts){
            .actions = "marker_action",
            .actions_dir = f->actions_dir,
            .unzipped_dir = f->unzipped,
            .allow_payload = true,
            .work_dir = f->dir,
            .timeout_s = 5,
        };
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fx *f = *state;
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        assert_int_equal(system(cmd), 0);
        free(f);
        return 0;
}

static char *marker(struct fx *f)
{
        char *text = NULL;
        size_t len;

        if (kl_file_read(f->marker, 1 << 20, &text, &len) < 0)
                return NULL;
        return text;
}

static void test_names(void **state)
{
        (void)state;
        assert_true(actions_name_ok("local_action_rev_script1.py"));
        assert_true(actions_name_ok("a..b"));
        assert_false(actions_name_ok(""));
        assert_false(actions_name_ok("."));
        assert_false(actions_name_ok(".."));
        assert_false(actions_name_ok("../x"));
        assert_false(actions_name_ok("/bin/sh"));
        assert_false(actions_name_ok("a\nb"));
        assert_false(actions_name_ok(NULL));
}

static void test_list_and_find(void **state)
{
        struct fx *f = *state;
        char **names = NULL;
        char path[600];
        size_t n = 0;

        f->o.actions.actions = "[marker_action, ../evil, fail_action]";
        write_file(f->unzipped, "action_list", "payload_action\n/bin/sh\nmarker_action\n", 0600);
        assert_int_equal(actions_list(&f->o.actions, &names, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(names[0], "marker_action");
        assert_string_equal(names[1], "fail_action");
        assert_string_equal(names[2], "payload_action");
        assert_string_equal(names[3], "marker_action");
        assert_null(names[4]);
        kl_strv_free(names);
        assert_int_equal(actions_find(&f->o.actions, "payload_action", path, sizeof(path)), 0);
        f->o.actions.allow_payload = false;
        assert_int_equal(actions_find(&f->o.actions, "payload_action", path, sizeof(path)),
                         KL_ERR_NOT_FOUND);
        assert_int_equal(actions_find(&f->o.actions, "not_executable", path, sizeof(path)),
                         KL_ERR_NOT_FOUND);
        assert_int_equal(actions_find(&f->o.actions, "..", path, sizeof(path)), KL_ERR_INVAL);
        assert_int_equal(actions_find(&f->o.actions, "marker_action", path, sizeof(path)), 0);
}

static void test_failure_does_not_stop_others(void **state)
{
        struct fx *f = *state;
        size_t ran = 0, failed = 0;
        char *m;

        f->o.actions.actions = "fail_action missing_action marker_action";
        assert_int_equal(actions_run_all(&f->o.actions, "{\"a\":1}", NULL, &ran, &failed), 0);
        assert_int_equal(ran, 2);
        assert_int_equal(failed, 2);
        m = marker(f);
        assert_non_null(m);
        assert_string_equal(m, "{\"a\":1}\n");
        free(m);
}

static void test_timeout(void **state)
{
        struct fx *f = *state;
        struct timespec t0, t1;
        size_t ran = 0, failed = 0;

        f->o.actions.actions = "slow_action";
        f->o.actions.timeout_s = 1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(actions_run_all(&f->o.actions, "{}", NULL, &ran, &failed), 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        assert_int_equal(failed, 1);
        assert_true(t1.tv_sec - t0.tv_sec < 5);
}

/* A descriptor the agent holds without O_CLOEXEC (the TCTI's TPM socket) stays with the agent. */
static void test_action_no_inherited_fds(void **state)
{
        struct fx *f = *state;
        char path[600];
        bool timed_out = true;
        int fd, status = -1;

        write_file(f->actions_dir, "fd_action",
                   "#!/bin/sh\n[ -e /proc/$$/fd/200 ] && exit 4\nexit 0\n", 0700);
        assert_int_equal(actions_find(&f->o.actions, "fd_action", path, sizeof(path)), 0);
        assert_true((fd = open("/dev/null", O_RDONLY)) >= 0); /* no O_CLOEXEC, on purpose */
        assert_int_equal(dup2(fd, 200), 200);
        close(fd);
        assert_int_equal(actions_run_one(path, "/dev/null", f->dir, 5, NULL, &status, &timed_out),
                         0);
        close(200);
        assert_false(timed_out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* The owner password an administrator set for the agent is not an action's business. */
static void test_action_clean_environment(void **state)
{
        struct fx *f = *state;
        char path[600];
        bool timed_out = true;
        int status = -1;

        write_file(f->actions_dir, "env_action",
                   "#!/bin/sh\n[ -n \"$KEYLIME_AGENT_TPM_OWNERPASSWORD\" ] && exit 4\n"
                   "env | grep -q '^KEYLIME' && exit 5\nexit 0\n",
                   0700);
        assert_int_equal(actions_find(&f->o.actions, "env_action", path, sizeof(path)), 0);
        setenv("KEYLIME_AGENT_TPM_OWNERPASSWORD", "owner-secret", 1);
        assert_int_equal(actions_run_one(path, "/dev/null", f->dir, 5, NULL, &status, &timed_out),
                         0);
        unsetenv("KEYLIME_AGENT_TPM_OWNERPASSWORD");
        assert_false(timed_out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_process_vector(void **state)
{
        struct fx *f = *state;
        char path[600];
        char *body = NULL, *m;
        size_t len;

        snprintf(path, sizeof(path), "%s/revocation/revocation-message.json",
                 getenv("KL_TEST_DATA"));
        assert_int_equal(kl_file_read(path, 1 << 20, &body, &len), 0);
        assert_int_equal(revocation_process(&f->o, body, len, NULL), 0);
        m = marker(f);
        assert_non_null(m);
        assert_non_null(strstr(m, "\"agent_id\":\"d432fbb3-d2f1-4a97-9ef7-75bd81c00000\""));
        assert_non_null(strstr(m, "\"event_id\":\"pcr_validation.invalid_pcr_10\""));
        free(m);
        unlink(f->marker);
        /* the same body with one signature character changed: nothing runs */
        body[len - 10] = body[len - 10] == 'A' ? 'B' : 'A';
        assert_int_equal(revocation_process(&f->o, body, len, NULL), KL_ERR_VERIFY);
        assert_null(marker(f));
        /* no certificate yet: dropped */
        f->o.cert_path = f->marker;
        assert_int_equal(revocation_process(&f->o, body, len, NULL), KL_ERR_NOT_FOUND);
        assert_int_equal(revocation_process(&f->o, "{}", 2, NULL), KL_ERR_INVAL);
        assert_null(marker(f));
        free(body);
}

static void test_worker(void **state)
{
        struct fx *f = *state;
        struct revocation_worker *w = NULL;
        char path[600];
        char *body = NULL, *m = NULL;
        size_t len;

        snprintf(path, sizeof(path), "%s/revocation/revocation-message.json",
                 getenv("KL_TEST_DATA"));
        assert_int_equal(kl_file_read(path, 1 << 20, &body, &len), 0);
        assert_int_equal(revocation_worker_start(&f->o, &w), 0);
        assert_int_equal(revocation_worker_submit(w, "junk", 4, "test"), 0);
        assert_int_equal(revocation_worker_submit(w, body, len, "test"), 0);
        for (int i = 0; i < 100 && m == NULL; i++) {
                usleep(50000);
                m = marker(f);
        }
        assert_non_null(m);
        revocation_worker_stop(w);
        free(m);
        free(body);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names),
            cmocka_unit_test_setup_teardown(test_list_and_find, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failure_does_not_stop_others, setup, teardown),
            cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
            cmocka_unit_test_setup_teardown(test_action_no_inherited_fds, setup, teardown),
            cmocka_unit_test_setup_teardown(test_action_clean_environment, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_vector, setup, teardown),
            cmocka_unit_test_setup_teardown(test_worker, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
