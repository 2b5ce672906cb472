/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The child-process runner (see spawn.h). Between fork and exec only
 * async-signal-safe calls are made: the agent has threads, and another one
 * may hold the malloc or log lock at the fork.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define POLL_MS 50

const char *const kl_spawn_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C",
    NULL,
};

/* sysconf(_SC_OPEN_MAX), or a sane default; not async-signal-safe, so called before fork. */
static long fd_limit(void)
{
        long n = sysconf(_SC_OPEN_MAX);

        return n > 0 && n <= (1L << 20) ? n : 1L << 20;
}

/* Closes every descriptor >= lowfd; the loop is the fallback where close_range(2) is missing. */
static void close_from(int lowfd, long max_fd)
{
        if (close_range((unsigned)lowfd, ~0U, 0) == 0)
                return;
        for (long fd = lowfd; fd < max_fd; fd++)
                (void)close((int)fd);
}

/* In the child: never returns. 126 = the setup failed, 127 = exec failed. */
static void child(const struct kl_spawn_opts *o, int devnull, int out_fd, long max_fd)
{
        struct sigaction dfl;
        sigset_t none;

        setpgid(0, 0);
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++)
                (void)sigaction(sig, &dfl, NULL); /* SIGKILL, SIGSTOP and RT internals refuse */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (fchdir(o->dir_fd) != 0 || dup2(devnull, STDIN_FILENO) < 0)
                _exit(126);
        if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0))
                _exit(126);
        close_from(STDERR_FILENO + 1, max_fd);
        /* execve's prototype predates const; it does not write through these */
        execve(o->path, (char *const *)(uintptr_t)o->argv, (char *const *)(uintptr_t)kl_spawn_env);
        _exit(127);
}

static long elapsed_ms(const struct timespec *start)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static void sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

/* Keeps what fits of one read from the child's output; *eof when it closed it. */
static void read_output(int fd, const struct kl_spawn_opts *o, struct kl_spawn_result *res,
                        bool *eof)
{
        char buf[1024];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n == 0) {
                *eof = true;
        } else if (n > 0) {
                size_t keep = o->out_max - res->out_len;

                if ((size_t)n < keep)
                        keep = (size_t)n;
                memcpy(o->out + res->out_len, buf, keep);
                res->out_len += keep;
        }
}

/*
 * Waits for pid, collecting its output from out_fd (-1 = none), and kills
 * its group at the timeout or on cancel.
 */
static void wait_child(pid_t pid, int out_fd, const struct kl_spawn_opts *o,
                       const struct timespec *start, struct kl_spawn_result *res)
{
        bool eof = out_fd < 0;

        for (;;) {
                struct pollfd pfd = {.fd = out_fd, .events = POLLIN};
                pid_t got;

                if (!eof && poll(&pfd, 1, POLL_MS) > 0)
                        read_output(out_fd, o, res, &eof);
                else if (eof)
                        sleep_ms(POLL_MS);
                got = waitpid(pid, &res->status, WNOHANG);
                if (got == pid || (got < 0 && errno != EINTR))
                        break;
                if (elapsed_ms(start) > (long)o->timeout_s * 1000L ||
                    (o->cancel != NULL && atomic_load(o->cancel))) {
                        res->timed_out = true;
                        kill(-pid, SIGKILL);
                        while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
                                ;
                        break;
                }
        }
        /* what it wrote before it exited (a grandchild may still hold the pipe: no blocking) */
        while (!eof && res->out_len < o->out_max) {
                ssize_t n = read(out_fd, o->out + res->out_len, o->out_max - res->out_len);

                if (n <= 0)
                        break;
                res->out_len += (size_t)n;
        }
}

int kl_spawn_run(const struct kl_spawn_opts *o, struct kl_spawn_result *res)
{
        struct timespec start;
        int pipefd[2] = {-1, -1};
        int devnull = -1, r = KL_ERR_SYSTEM;
        long max_fd = fd_limit();
        pid_t pid;

        *res = (struct kl_spawn_result){0};
        if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
                goto out;
        if (o->out != NULL && pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0)
                goto out;
        clock_gettime(CLOCK_MONOTONIC, &start);
        if ((pid = fork()) < 0)
                goto out;
        if (pid == 0)
                child(o, devnull, pipefd[1], max_fd);
        setpgid(pid, pid); /* also here, so a kill of the group cannot miss it */
        log_debug("started %s (pid %d)", o->path, (int)pid);
        if (pipefd[1] >= 0) {
                close(pipefd[1]);
                pipefd[1] = -1;
        }
        wait_child(pid, pipefd[0], o, &start, res);
        if (o->kill_leftovers)
                kill(-pid, SIGKILL);
        r = 0;
out:
        if (devnull >= 0)
                close(devnull);
        if (pipefd[0] >= 0)
                close(pipefd[0]);
        if (pipefd[1] >= 0)
                close(pipefd[1]);
        return r;
}
