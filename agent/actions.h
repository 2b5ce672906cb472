/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation actions (proto-docs/revocation.md §5): which executables a
 * verified revocation notice runs, where they are found, and running them
 * one after the other, each with the event as a JSON file argument, in its
 * own process group, killed at a timeout. Only ever called with an event
 * whose signature has been verified (revocation.c).
 */
#ifndef AGENT_ACTIONS_H
#define AGENT_ACTIONS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define ACTIONS_MAX        64          /* names per notice, config and action_list together */
#define ACTIONS_LIST_MAX   (64u << 10) /* bytes of secure/unzipped/action_list */
#define ACTIONS_TIMEOUT_S  30
#define ACTIONS_OUTPUT_MAX 4096 /* bytes of an action's output kept for the log */

struct actions_opts {
        const char *actions;      /* revocation_actions (Keylime list syntax) */
        const char *actions_dir;  /* revocation_actions_dir: pre-installed actions */
        const char *unzipped_dir; /* <secure>/unzipped: payload actions and action_list */
        bool allow_payload;       /* allow_payload_revocation_actions */
        const char *work_dir;     /* keylime_dir: cwd of actions, home of the temp JSON */
        unsigned timeout_s;       /* 0 = ACTIONS_TIMEOUT_S */
};

/* A plain file name: not empty, no '/', not "." or "..", no control characters. */
bool actions_name_ok(const char *name);

/*
 * The names to run, in order: revocation_actions, then the lines of
 * unzipped/action_list when it exists (same list syntax). Bad names are
 * dropped with a warning. *ret is NULL-terminated; free with kl_strv_free.
 */
int actions_list(const struct actions_opts *o, char ***ret, size_t *ret_n);

/*
 * The executable for name: actions_dir/name, else (allow_payload only)
 * unzipped/name. Must be a regular file with an execute bit.
 * KL_ERR_NOT_FOUND when neither exists.
 */
int actions_find(const struct actions_opts *o, const char *name, char *ret_path, size_t len);

/*
 * Runs path with the argument json_file, cwd work_dir, stdin /dev/null,
 * stdout and stderr captured (first ACTIONS_OUTPUT_MAX bytes logged), in a
 * new process group that is killed after timeout_s or when *cancel turns
 * true. 0 with the wait status, or an error if it could not be started.
 */
int actions_run_one(const char *path, const char *json_file, const char *work_dir,
                    unsigned timeout_s, const atomic_bool *cancel, int *ret_status,
                    bool *ret_timed_out);

/*
 * Writes event_json to a 0600 temporary file in work_dir and runs every
 * action of actions_list on it. A failing, missing or timed-out action is
 * logged and the next one still runs (upstream stops at the first failure;
 * one broken action must not keep the others from revoking). The file is
 * removed afterwards. *ret_failed counts the actions that did not exit 0.
 */
int actions_run_all(const struct actions_opts *o, const char *event_json, const atomic_bool *cancel,
                    size_t *ret_ran, size_t *ret_failed);

#endif
