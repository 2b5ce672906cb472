/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs one child program for the agent (payload scripts, revocation
 * actions) and waits for it. The child is untrusted code supplied by a
 * tenant or an administrator, so it gets nothing of the agent but its
 * (dropped) privileges:
 * - its own process group, which is killed as a whole at the timeout;
 * - an empty signal mask and default signal dispositions (the agent blocks
 *   SIGTERM and ignores SIGPIPE);
 * - no descriptor other than 0, 1 and 2, even those opened without
 *   O_CLOEXEC (tpm2-tss keeps the TPM socket or device that way); stdin is
 *   /dev/null;
 * - exactly the environment kl_spawn_env, not the agent's, which may
 *   hold KEYLIME_AGENT_* overrides such as the TPM owner password.
 */
#ifndef KL_SPAWN_H
#define KL_SPAWN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* The whole environment of every child, NULL-terminated (documented in proto-docs). */
extern const char *const kl_spawn_env[];

struct kl_spawn_opts {
        const char *path;          /* executed as is (no PATH search) */
        const char *const *argv;   /* NULL-terminated; argv[0] is the name the child sees */
        int dir_fd;                /* the child's working directory (fchdir) */
        unsigned timeout_s;        /* the group is killed after this many seconds */
        const atomic_bool *cancel; /* ... or as soon as this turns true; NULL = never */
        char *out;                 /* stdout and stderr captured here (out_max bytes kept, the
                                      rest read and dropped); NULL = the agent's own */
        size_t out_max;
        bool kill_leftovers; /* also kill what the child left running in its group */
};

struct kl_spawn_result {
        int status;     /* waitpid status */
        bool timed_out; /* killed at the timeout or by cancel */
        size_t out_len; /* bytes captured into opts.out */
};

/* 0 once the child has ended (see res), KL_ERR_SYSTEM when it could not be started. */
int kl_spawn_run(const struct kl_spawn_opts *o, struct kl_spawn_result *res);

#endif
