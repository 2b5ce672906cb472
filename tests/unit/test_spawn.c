/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/core/spawn.c: what a payload script or revocation action
 * gets from the agent (nothing but its privileges), and that the timeout
 * kills the child's whole process group.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "spawn.h"
#include "test_util.h"

static char dir[256];
static int dir_fd = -1;

static int setup(void **state)
{
        (void)state;
        kl_test_tmpdir(dir, sizeof(dir), "kl-spawn");
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return dir_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[300];

        (void)state;
        close(dir_fd);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

/* Runs sh -c script in dir with a 5 s timeout, capturing into out when it is not NULL. */
static struct kl_spawn_result run_sh(const char *script, char *out, size_t out_max,
                                     bool kill_leftovers)
{
        const char *argv[] = {"sh", "-c", script, NULL};
        struct kl_spawn_opts o = {.path = "/bin/sh",
                                  .argv = argv,
                                  .dir_fd = dir_fd,
                                  .timeout_s = 5,
                                  .out = out,
                                  .out_max = out_max,
                                  .kill_leftovers = kill_leftovers};
        struct kl_spawn_result res;

        assert_int_equal(kl_spawn_run(&o, &res), 0);
        return res;
}

/* The pid written into dir/name by a script. */
static pid_t read_pid(const char *name)
{
        char path[300];
        FILE *f;
        int pid = 0;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        assert_non_null(f = fopen(path, "r"));
        assert_int_equal(fscanf(f, "%d", &pid), 1);
        fclose(f);
        return (pid_t)pid;
}

/* True while pid exists and is not a zombie (an orphan is reaped by init soon after). */
static bool alive(pid_t pid)
{
        char path[64], state = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if ((f = fopen(path, "r")) == NULL)
                return false;
        if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
                state = 0;
        fclose(f);
        return state != 0 && state != 'Z';
}

static bool gone_within(pid_t pid, double ms)
{
        double end = kl_test_now_ms() + ms;

        while (kl_test_now_ms() < end) {
                if (!alive(pid))
                        return true;
                usleep(20000);
        }
        return false;
}

static void test_spawn_status_cwd_and_output(void **state)
{
        char out[64], path[300], cwd[PATH_MAX], real[PATH_MAX];
        FILE *f;
        struct kl_spawn_result res;

        (void)state;
        res = run_sh("pwd > cwd; echo out; echo err >&2; exit 3", out, sizeof(out), false);
        assert_false(res.timed_out);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 3);
        assert_int_equal(res.out_len, 8);
        assert_memory_equal(out, "out\nerr\n", 8);
        snprintf(path, sizeof(path), "%s/cwd", dir);
        assert_non_null(f = fopen(path, "r"));
        assert_non_null(fgets(cwd, sizeof(cwd), f));
        fclose(f);
        assert_non_null(realpath(dir, real));
        cwd[strcspn(cwd, "\n")] = '\0';
        assert_string_equal(cwd, real);
}

static void test_spawn_output_is_capped(void **state)
{
        char out[16];
        struct kl_spawn_result res;

        (void)state;
        res = run_sh("head -c 100000 /dev/zero; exit 0", out, sizeof(out), false);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 0);
        assert_int_equal(res.out_len, sizeof(out));
}

static void test_spawn_timeout_kills_the_group(void **state)
{
        const char *argv[] = {"sh", "-c", "sleep 30 & echo $! > bg; sleep 30", NULL};
        struct kl_spawn_opts o = {
            .path = "/bin/sh", .argv = argv, .dir_fd = dir_fd, .timeout_s = 1};
        struct kl_spawn_result res;
        double t0 = kl_test_now_ms();

        (void)state;
        assert_int_equal(kl_spawn_run(&o, &res), 0);
        assert_true(kl_test_now_ms() - t0 < 4000);
        assert_true(res.timed_out);
        assert_true(WIFSIGNALED(res.status));
        assert_int_equal(WTERMSIG(res.status), SIGKILL);
        assert_true(gone_within(read_pid("bg"), 2000)); /* the grandchild too */
}

static void test_spawn_cancel_kills_at_once(void **state)
{
        const char *argv[] = {"sh", "-c", "sleep 30", NULL};
        atomic_bool cancel = true;
        struct kl_spawn_opts o = {
            .path = "/bin/sh", .argv = argv, .dir_fd = dir_fd, .timeout_s = 30, .cancel = &cancel};
        struct kl_spawn_result res;
        double t0 = kl_test_now_ms();

        (void)state;
        assert_int_equal(kl_spawn_run(&o, &res), 0);
        assert_true(res.timed_out);
        assert_true(kl_test_now_ms() - t0 < 3000);
}

static void test_spawn_kill_leftovers(void **state)
{
        struct kl_spawn_result res;
        pid_t bg;

        (void)state;
        res = run_sh("sleep 30 & echo $! > left; exit 0", NULL, 0, true);
        assert_true(WIFEXITED(res.status));
        assert_true(gone_within(read_pid("left"), 2000));
        /* without it a background job survives (a payload script may start a service) */
        res = run_sh("sleep 30 & echo $! > kept; exit 0", NULL, 0, false);
        bg = read_pid("kept");
        assert_true(alive(bg));
        kill(bg, SIGKILL);
}

/* A descriptor the agent holds without O_CLOEXEC (the TCTI's TPM socket) stays with the agent. */
static void test_spawn_closes_inherited_fds(void **state)
{
        struct kl_spawn_result res;
        int fd;

        (void)state;
        assert_true((fd = open("/dev/null", O_RDONLY)) >= 0); /* no O_CLOEXEC, on purpose */
        assert_int_equal(dup2(fd, 200), 200);
        close(fd);
        res = run_sh("[ -e /proc/$$/fd/200 ] && exit 4;"
                     " [ \"$(readlink /proc/$$/fd/0)\" = /dev/null ] || exit 5; exit 0",
                     NULL, 0, false);
        close(200);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 0);
}

/* The agent's environment may hold KEYLIME_AGENT_TPM_OWNERPASSWORD; a child sees kl_spawn_env. */
static void test_spawn_clean_environment(void **state)
{
        const char *argv[] = {"env", NULL};
        char out[512], want[512] = "";
        struct kl_spawn_opts o = {.path = "/usr/bin/env",
                                  .argv = argv,
                                  .dir_fd = dir_fd,
                                  .timeout_s = 5,
                                  .out = out,
                                  .out_max = sizeof(out) - 1};
        struct kl_spawn_result res;
        size_t n = 0;

        (void)state;
        setenv("KEYLIME_AGENT_TPM_OWNERPASSWORD", "owner-secret", 1);
        setenv("HOME", "/root", 1);
        for (const char *const *e = kl_spawn_env; *e != NULL; e++)
                n += (size_t)snprintf(want + n, sizeof(want) - n, "%s\n", *e);
        assert_int_equal(kl_spawn_run(&o, &res), 0);
        unsetenv("KEYLIME_AGENT_TPM_OWNERPASSWORD");
        out[res.out_len] = '\0';
        assert_true(WIFEXITED(res.status));
        assert_null(strstr(out, "owner-secret"));
        assert_string_equal(out, want);
}

/* The agent blocks SIGTERM (its signal thread takes it) and ignores SIGPIPE; a child does not. */
static void test_spawn_signal_mask_and_dispositions_reset(void **state)
{
        struct kl_spawn_result res;
        sigset_t term, old;

        (void)state;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        assert_int_equal(sigprocmask(SIG_BLOCK, &term, &old), 0);
        signal(SIGPIPE, SIG_IGN);
        res = run_sh("kill -TERM $$; sleep 5; exit 0", NULL, 0, false);
        assert_true(WIFSIGNALED(res.status));
        assert_int_equal(WTERMSIG(res.status), SIGTERM);
        res = run_sh("grep -q '^SigIgn:[[:space:]]*0*$' /proc/$$/status", NULL, 0, false);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 0);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
}

static void test_spawn_exec_failure_is_127(void **state)
{
        const char *argv[] = {"nope", NULL};
        struct kl_spawn_opts o = {
            .path = "/nonexistent/nope", .argv = argv, .dir_fd = dir_fd, .timeout_s = 5};
        struct kl_spawn_result res;

        (void)state;
        assert_int_equal(kl_spawn_run(&o, &res), 0);
        assert_true(WIFEXITED(res.status));
        assert_int_equal(WEXITSTATUS(res.status), 127);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_spawn_status_cwd_and_output),
            cmocka_unit_test(test_spawn_output_is_capped),
            cmocka_unit_test(test_spawn_timeout_kills_the_group),
            cmocka_unit_test(test_spawn_cancel_kills_at_once),
            cmocka_unit_test(test_spawn_kill_leftovers),
            cmocka_unit_test(test_spawn_closes_inherited_fds),
            cmocka_unit_test(test_spawn_clean_environment),
            cmocka_unit_test(test_spawn_signal_mask_and_dispositions_reset),
            cmocka_unit_test(test_spawn_exec_failure_is_127),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
