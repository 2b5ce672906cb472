/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for agent/actions.c and agent/revocation.c: action names and
 * lookup, action_list, running actions (JSON file argument, a failing action
 * does not stop the next, timeout kills the group), and revocation_process
 * on notices signed here: actions run only for a good signature from a
 * certificate within its dates, for this agent, recent and not seen before.
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

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "actions.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "revocation.h"
#include "revocation_notice.h"
#include "revocation_replay.h"

#define AGENT "d432fbb3-d2f1-4a97-9ef7-75bd81c0beef"

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
        snprintf(f->cert, sizeof(f->cert), "%s/revocation.crt", f->dir);
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
        f->o.agent_id = AGENT;
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

static EVP_PKEY *signer; /* the verifier's revocation key, made once */

/* A certificate for signer in f->cert, valid from now + from_s to now + to_s. */
static void write_cert(struct fx *f, long from_s, long to_s)
{
        X509 *cert = NULL;

        assert_int_equal(kl_x509_self_signed(signer, "RevocationNotifier", NULL, 1, &cert), 0);
        assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), from_s));
        assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), to_s));
        assert_true(X509_sign(cert, signer, EVP_sha256()) > 0);
        assert_int_equal(kl_x509_save_pem(f->cert, cert), 0);
        X509_free(cert);
}

/* A signed notice in the verifier's format; when NULL leaves event_time out. */
static char *notice(const char *agent_id, const char *event_id, const time_t *when)
{
        kl_json *ev = kl_json_object();
        char stamp[64], *msg, *sig = NULL, *body = NULL;
        struct tm tm;

        assert_non_null(ev);
        assert_int_equal(kl_json_set_string(ev, "type", "revocation"), 0);
        assert_int_equal(kl_json_set_string(ev, "agent_id", agent_id), 0);
        if (when != NULL) {
                assert_non_null(localtime_r(when, &tm));
                assert_true(strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm) > 0);
                assert_int_equal(kl_json_set_string(ev, "event_time", stamp), 0);
        }
        assert_int_equal(kl_json_set_string(ev, "event_id", event_id), 0);
        assert_non_null(msg = kl_json_to_string(ev));
        assert_int_equal(kl_revocation_sign(signer, msg, strlen(msg), &sig), 0);
        assert_int_equal(kl_revocation_body(msg, sig, &body), 0);
        free(msg);
        free(sig);
        kl_json_free(ev);
        return body;
}

/* revocation_process on body; asserts whether an action ran, returns the result. */
static int process(struct fx *f, struct revocation_seen *seen, char *body, bool want_action)
{
        int r = revocation_process(&f->o, seen, body, strlen(body), NULL);
        char *m = marker(f);

        if (want_action) {
                assert_non_null(m);
                assert_non_null(strstr(m, "\"agent_id\":\"" AGENT "\""));
        } else {
                assert_null(m);
        }
        free(m);
        unlink(f->marker);
        free(body);
        return r;
}

static void test_process_signed_notice(void **state)
{
        struct fx *f = *state;
        static struct revocation_seen seen;
        time_t now = time(NULL), later = now + 1;
        char *body = notice(AGENT, "pcr_validation.invalid_pcr_23", &now);

        write_cert(f, -60, 86400);
        assert_int_equal(process(f, &seen, body, true), 0);
        /* the same body with one signature character changed: nothing runs */
        body = notice(AGENT, "pcr_validation.invalid_pcr_23", &later);
        body[strlen(body) - 10] = body[strlen(body) - 10] == 'A' ? 'B' : 'A';
        assert_int_equal(process(f, &seen, body, false), KL_ERR_VERIFY);
        assert_int_equal(process(f, &seen, strdup("{}"), false), KL_ERR_INVAL);
        /* no certificate yet: dropped */
        f->o.cert_path = f->marker;
        assert_int_equal(process(f, &seen, notice(AGENT, "x", &now), false), KL_ERR_NOT_FOUND);
}

static void test_process_replay_refused(void **state)
{
        struct fx *f = *state;
        static struct revocation_seen seen;
        time_t now = time(NULL), later = now + 5;
        char *body = notice(AGENT, "pcr_validation.invalid_pcr_23", &now);
        char *copy = strdup(body);

        write_cert(f, -60, 86400);
        assert_int_equal(process(f, &seen, body, true), 0);
        assert_int_equal(process(f, &seen, copy, false), KL_ERR_EXISTS);
        /* the next failure of the same kind is a new event */
        assert_int_equal(
            process(f, &seen, notice(AGENT, "pcr_validation.invalid_pcr_23", &later), true), 0);
}

static void test_process_stale_or_future_refused(void **state)
{
        struct fx *f = *state;
        static struct revocation_seen seen;
        time_t now = time(NULL);
        time_t old = now - REVOCATION_MAX_AGE_S - 60, ahead = now + REVOCATION_MAX_AHEAD_S + 60;
        time_t recent = now - REVOCATION_MAX_AGE_S + 60;

        write_cert(f, -3600, 86400);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &old), false), KL_ERR_INVAL);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &ahead), false), KL_ERR_INVAL);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", NULL), false), KL_ERR_INVAL);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &recent), true), 0);
}

static void test_process_other_agent_refused(void **state)
{
        struct fx *f = *state;
        static struct revocation_seen seen;
        time_t now = time(NULL);

        write_cert(f, -60, 86400);
        assert_int_equal(
            process(f, &seen, notice("d432fbb3-d2f1-4a97-9ef7-75bd81c0f00d", "a", &now), false),
            KL_ERR_INVAL);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &now), true), 0);
}

static void test_process_certificate_dates(void **state)
{
        struct fx *f = *state;
        static struct revocation_seen seen;
        time_t now = time(NULL);

        write_cert(f, -2 * 86400, -86400); /* expired yesterday */
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &now), false), KL_ERR_VERIFY);
        write_cert(f, 3600, 86400); /* valid from in an hour */
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &now), false), KL_ERR_VERIFY);
        write_cert(f, -60, 86400);
        assert_int_equal(process(f, &seen, notice(AGENT, "a", &now), true), 0);
}

static void test_seen_forgets_oldest_when_full(void **state)
{
        static struct revocation_seen seen;
        time_t now = time(NULL);
        kl_json *ev = NULL;
        char text[300], why[256];

        (void)state;
        for (unsigned i = 0; i <= REVOCATION_SEEN_MAX; i++) {
                char stamp[64];
                struct tm tm;

                localtime_r(&now, &tm);
                strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm);
                snprintf(text, sizeof(text),
                         "{\"agent_id\":\"" AGENT "\",\"event_id\":\"e%u\",\"event_time\":\"%s\"}",
                         i, stamp);
                assert_int_equal(kl_json_parse_object(text, strlen(text), &ev), 0);
                assert_int_equal(revocation_admit(&seen, ev, AGENT, now, why, sizeof(why)), 0);
                assert_int_equal(revocation_admit(&seen, ev, AGENT, now, why, sizeof(why)),
                                 KL_ERR_EXISTS);
                kl_json_free(ev);
        }
        assert_int_equal(seen.n, REVOCATION_SEEN_MAX);
}

static void test_parse_asctime(void **state)
{
        time_t t = 0;
        struct tm tm = {.tm_year = 126,
                        .tm_mon = 2,
                        .tm_mday = 3,
                        .tm_hour = 14,
                        .tm_min = 2,
                        .tm_sec = 11,
                        .tm_isdst = -1};

        (void)state;
        assert_int_equal(revocation_parse_asctime("Tue Mar  3 14:02:11 2026", &t), 0);
        assert_int_equal(t, mktime(&tm));
        assert_int_equal(revocation_parse_asctime("Tue Mar 13 14:02:11 2026", &t), 0);
        assert_int_equal(revocation_parse_asctime("Tue Mar  3 14:02:11 2026x", &t), KL_ERR_INVAL);
        assert_int_equal(revocation_parse_asctime("2026-03-03T14:02:11Z", &t), KL_ERR_INVAL);
        assert_int_equal(revocation_parse_asctime("", &t), KL_ERR_INVAL);
}

static void test_worker(void **state)
{
        struct fx *f = *state;
        struct revocation_worker *w = NULL;
        time_t now = time(NULL);
        char *body = notice(AGENT, "ima.invalid_entry", &now), *m = NULL;

        write_cert(f, -60, 86400);
        assert_int_equal(revocation_worker_start(&f->o, &w), 0);
        assert_int_equal(revocation_worker_submit(w, "junk", 4, "test"), 0);
        assert_int_equal(revocation_worker_submit(w, body, strlen(body), "test"), 0);
        for (int i = 0; i < 100 && m == NULL; i++) {
                usleep(50000);
                m = marker(f);
        }
        assert_non_null(m);
        revocation_worker_stop(w);
        free(m);
        free(body);
}

static int group_setup(void **state)
{
        (void)state;
        return kl_key_generate_rsa(2048, &signer) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
        (void)state;
        EVP_PKEY_free(signer);
        return 0;
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
            cmocka_unit_test_setup_teardown(test_process_signed_notice, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_replay_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_stale_or_future_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_other_agent_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_process_certificate_dates, setup, teardown),
            cmocka_unit_test(test_seen_forgets_oldest_when_full),
            cmocka_unit_test(test_parse_asctime),
            cmocka_unit_test_setup_teardown(test_worker, setup, teardown),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
