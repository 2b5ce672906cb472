/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation actions (see actions.h). The action names come from the
 * configuration and from a payload the tenant delivered; a name is only ever
 * looked up as a plain file in two fixed directories, so a notice can choose
 * nothing: it only supplies the JSON the actions read. The child is run by
 * kl_spawn_run (lib/core/spawn.h): the agent's (dropped) privileges, nothing
 * else of the agent's.
 */
#include "actions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "log.h"
#include "spawn.h"

bool actions_name_ok(const char *name)
{
        if (name == NULL || name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
            strlen(name) > 255)
                return false;
        for (const char *p = name; *p != '\0'; p++) {
                if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
                        return false;
        }
        return true;
}

/* Appends the good names of list text s to v (n entries, at most ACTIONS_MAX). */
static int append_names(const char *s, const char *origin, char **v, size_t *n)
{
        char **items = NULL;
        size_t k = 0;
        int r;

        if ((r = kl_config_parse_list(s, &items, &k)) < 0)
                return r;
        for (size_t i = 0; i < k; i++) {
                if (!actions_name_ok(items[i])) {
                        log_warn("ignoring revocation action '%.100s' from %s: not a plain file "
                                 "name",
                                 items[i], origin);
                        continue;
                }
                if (*n >= ACTIONS_MAX) {
                        log_warn("more than %d revocation actions; ignoring the rest", ACTIONS_MAX);
                        break;
                }
                v[(*n)++] = items[i];
                items[i] = NULL;
        }
        /* not kl_strv_free: the moved entries left NULL holes before the end */
        for (size_t i = 0; i < k; i++)
                free(items[i]);
        free(items);
        return 0;
}

int actions_list(const struct actions_opts *o, char ***ret, size_t *ret_n)
{
        char **v = calloc(ACTIONS_MAX + 1, sizeof(*v));
        char path[4096];
        char *text = NULL;
        size_t n = 0, len = 0;
        int r = KL_ERR_NOMEM, w;

        if (v == NULL)
                goto out;
        if (o->actions != NULL && (r = append_names(o->actions, "revocation_actions", v, &n)) < 0)
                goto out;
        if (o->unzipped_dir != NULL && o->unzipped_dir[0] != '\0') {
                w = snprintf(path, sizeof(path), "%s/action_list", o->unzipped_dir);
                if (w < 0 || (size_t)w >= sizeof(path)) {
                        r = KL_ERR_TOO_LONG;
                        goto out;
                }
                r = kl_file_read(path, ACTIONS_LIST_MAX, &text, &len);
                if (r == 0) {
                        if ((r = append_names(text, "action_list", v, &n)) < 0)
                                goto out;
                } else if (r != KL_ERR_NOT_FOUND) {
                        log_warn("cannot read %s: %s; ignoring it", path, kl_err_str(r));
                }
        }
        *ret = v;
        *ret_n = n;
        v = NULL;
        r = 0;
out:
        free(text);
        kl_strv_free(v);
        return r;
}

static bool is_executable_file(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

int actions_find(const struct actions_opts *o, const char *name, char *ret_path, size_t len)
{
        const char *dirs[2] = {o->actions_dir, o->allow_payload ? o->unzipped_dir : NULL};

        if (!actions_name_ok(name))
                return KL_ERR_INVAL;
        for (size_t i = 0; i < 2; i++) {
                int w;

                if (dirs[i] == NULL || dirs[i][0] == '\0')
                        continue;
                w = snprintf(ret_path, len, "%s/%s", dirs[i], name);
                if (w < 0 || (size_t)w >= len)
                        return KL_ERR_TOO_LONG;
                if (is_executable_file(ret_path))
                        return 0;
        }
        return KL_ERR_NOT_FOUND;
}

int actions_run_one(const char *path, const char *json_file, const char *work_dir,
                    unsigned timeout_s, const atomic_bool *cancel, int *ret_status,
                    bool *ret_timed_out)
{
        char out[ACTIONS_OUTPUT_MAX];
        const char *argv[] = {path, json_file, NULL};
        struct kl_spawn_opts so = {
            .path = path,
            .argv = argv,
            .timeout_s = timeout_s != 0 ? timeout_s : ACTIONS_TIMEOUT_S,
            .cancel = cancel,
            .out = out,
            .out_max = sizeof(out),
            .kill_leftovers = true, /* an action has no business leaving processes behind */
        };
        struct kl_spawn_result res;
        int r;

        if ((so.dir_fd = open(work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return KL_ERR_SYSTEM;
        r = kl_spawn_run(&so, &res);
        close(so.dir_fd);
        if (r < 0)
                return r;
        if (res.out_len > 0)
                log_info("revocation action %s said: %.*s", path, (int)res.out_len, out);
        *ret_status = res.status;
        *ret_timed_out = res.timed_out;
        return 0;
}

/* Writes event_json to a new 0600 file in work_dir; its name in path ("" on failure). */
static int write_event_file(const char *work_dir, const char *event_json, char *path, size_t len)
{
        size_t n = strlen(event_json);
        int fd, w, r = 0;

        w = snprintf(path, len, "%s/revocation-XXXXXX.json", work_dir);
        if (w < 0 || (size_t)w >= len) {
                path[0] = '\0';
                return KL_ERR_TOO_LONG;
        }
        if ((fd = mkostemps(path, 5, O_CLOEXEC)) < 0) {
                log_error("cannot create a temporary file in %s: %s", work_dir, strerror(errno));
                path[0] = '\0';
                return KL_ERR_IO;
        }
        for (size_t off = 0; off < n;) {
                ssize_t k = write(fd, event_json + off, n - off);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = KL_ERR_IO;
                        break;
                }
                off += (size_t)k;
        }
        close(fd);
        return r;
}

/* Finds and runs one action on json_file; false when it is missing or did not exit 0. */
static bool run_named(const struct actions_opts *o, const char *name, const char *json_file,
                      const atomic_bool *cancel, bool *ret_ran)
{
        char path[4096];
        int status = 0, r;
        bool timed_out = false;

        *ret_ran = false;
        if (actions_find(o, name, path, sizeof(path)) < 0) {
                log_error("revocation action '%s' not found in %s%s%s", name, o->actions_dir,
                          o->allow_payload ? " or " : "", o->allow_payload ? o->unzipped_dir : "");
                return false;
        }
        *ret_ran = true;
        if ((r = actions_run_one(path, json_file, o->work_dir, o->timeout_s, cancel, &status,
                                 &timed_out)) < 0) {
                log_error("cannot start revocation action %s: %s", path, kl_err_str(r));
                return false;
        }
        if (timed_out) {
                log_error("revocation action %s killed after %u s", path,
                          o->timeout_s ? o->timeout_s : ACTIONS_TIMEOUT_S);
                return false;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                log_info("revocation action %s succeeded", path);
                return true;
        }
        if (WIFEXITED(status))
                log_error("revocation action %s exited with status %d", path, WEXITSTATUS(status));
        else
                log_error("revocation action %s died from signal %d", path,
                          WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return false;
}

int actions_run_all(const struct actions_opts *o, const char *event_json, const atomic_bool *cancel,
                    size_t *ret_ran, size_t *ret_failed)
{
        char **names = NULL;
        char json_file[4096] = "";
        size_t n = 0, ran = 0, failed = 0;
        int r;

        if ((r = actions_list(o, &names, &n)) < 0)
                goto out;
        if (n == 0) {
                log_info("no revocation actions configured");
                goto out;
        }
        if ((r = write_event_file(o->work_dir, event_json, json_file, sizeof(json_file))) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                bool started;

                if (cancel != NULL && atomic_load(cancel))
                        break;
                if (!run_named(o, names[i], json_file, cancel, &started))
                        failed++;
                if (started)
                        ran++;
        }
        r = 0;
out:
        if (json_file[0] != '\0')
                unlink(json_file);
        kl_strv_free(names);
        if (ret_ran != NULL)
                *ret_ran = ran;
        if (ret_failed != NULL)
                *ret_failed = failed;
        return r;
}
