/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privilege drop for the agent: run_as parsing, the set*id sequence, the
 * proof that it held, and handing keylime_dir to the unprivileged user.
 * Never leaves the process half-dropped: any failure is fatal to the caller.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "privileges.h"

#define RUN_AS_MAX  256
#define CHOWN_DEPTH 8 /* keylime_dir/secure/unzipped/<payload dirs>: shallow by nature */

/* Splits "user:group" and looks both up. The group part is required, as upstream. */
static int lookup(const char *run_as, char *user, size_t user_len, uid_t *ret_uid, gid_t *ret_gid)
{
        const char *colon = strchr(run_as, ':');
        struct passwd *pw;
        struct group *gr;
        size_t ulen;

        if (colon == NULL || colon == run_as || colon[1] == '\0' ||
            strchr(colon + 1, ':') != NULL) {
                log_error("run_as '%.100s' is not of the form user:group", run_as);
                return KL_ERR_CONFIG;
        }
        ulen = (size_t)(colon - run_as);
        if (ulen >= user_len) {
                log_error("run_as user name is too long");
                return KL_ERR_CONFIG;
        }
        memcpy(user, run_as, ulen);
        user[ulen] = '\0';
        errno = 0;
        if ((pw = getpwnam(user)) == NULL) {
                log_error("run_as: no user '%.100s'%s%s", user, errno ? ": " : "",
                          errno ? strerror(errno) : "");
                return KL_ERR_CONFIG;
        }
        *ret_uid = pw->pw_uid;
        errno = 0;
        if ((gr = getgrnam(colon + 1)) == NULL) {
                log_error("run_as: no group '%.100s'%s%s", colon + 1, errno ? ": " : "",
                          errno ? strerror(errno) : "");
                return KL_ERR_CONFIG;
        }
        *ret_gid = gr->gr_gid;
        return 0;
}

static bool wanted(const char *run_as)
{
        if (run_as == NULL || run_as[0] == '\0')
                return false;
        return geteuid() == 0;
}

/* dfd is an open directory (owned by the caller); chowns its entries, then recurses. */
static int chown_entries(int dfd, uid_t uid, gid_t gid, int depth)
{
        DIR *d = NULL;
        struct dirent *e;
        int r = KL_ERR_SYSTEM;
        int fd = -1;

        if (depth > CHOWN_DEPTH) {
                r = 0; /* deeper content is payload data the agent never rewrites */
                goto out;
        }
        /* fdopendir takes ownership of the descriptor; keep the caller's one open */
        if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL)
                goto out;
        fd = -1;
        while ((errno = 0, e = readdir(d)) != NULL) {
                int sub;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (fchownat(dirfd(d), e->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
                        log_error("chown %s: %s", e->d_name, strerror(errno));
                        goto out;
                }
                sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue; /* a file, or a symlink we must not follow */
                r = chown_entries(sub, uid, gid, depth + 1);
                close(sub);
                if (r < 0)
                        goto out;
                r = KL_ERR_SYSTEM;
        }
        if (errno != 0)
                goto out;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        if (d != NULL)
                closedir(d);
        return r;
}

int privileges_chown_dir(const char *run_as, const char *dir)
{
        char user[RUN_AS_MAX];
        uid_t uid;
        gid_t gid;
        int dfd = -1;
        int r;

        if (!wanted(run_as) || dir == NULL)
                return 0;
        if ((r = lookup(run_as, user, sizeof(user), &uid, &gid)) < 0)
                return r;
        r = KL_ERR_SYSTEM;
        if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                log_error("cannot open keylime_dir %s: %s", dir, strerror(errno));
                goto out;
        }
        if (fchown(dfd, uid, gid) != 0) {
                log_error("chown %s: %s", dir, strerror(errno));
                goto out;
        }
        if ((r = chown_entries(dfd, uid, gid, 0)) < 0) {
                log_error("cannot give %s to %s", dir, run_as);
                goto out;
        }
        log_debug("%s and its files now belong to %s", dir, run_as);
        r = 0;
out:
        if (dfd >= 0)
                close(dfd);
        return r;
}

int privileges_drop(const char *run_as)
{
        char user[RUN_AS_MAX];
        uid_t uid;
        gid_t gid;
        int r;

        if (run_as == NULL || run_as[0] == '\0') {
                if (geteuid() == 0)
                        log_warn("run_as is empty: keeping root privileges");
                return 0;
        }
        if (geteuid() != 0) {
                log_warn("run_as '%.100s' ignored: not started as root", run_as);
                return 0;
        }
        if ((r = lookup(run_as, user, sizeof(user), &uid, &gid)) < 0)
                return r;
        if (initgroups(user, gid) != 0) {
                log_error("initgroups(%s): %s", user, strerror(errno));
                return KL_ERR_SYSTEM;
        }
        if (setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
                log_error("cannot switch to %s: %s", run_as, strerror(errno));
                return KL_ERR_SYSTEM;
        }
        /* as OpenSSH permanently_set_uid(): prove that the old ids cannot come back */
        if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
                log_error("root privileges could be regained after switching to %s", run_as);
                return KL_ERR_INTERNAL;
        }
        if (gid != 0 && uid != 0 && (setgid(0) != -1 || setegid(0) != -1)) {
                log_error("group 0 could be regained after switching to %s", run_as);
                return KL_ERR_INTERNAL;
        }
        /* no setuid binary (payload scripts, revocation actions) can raise us again */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
                log_error("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
                return KL_ERR_SYSTEM;
        }
        log_info("running as %s (uid %u, gid %u)", run_as, (unsigned)uid, (unsigned)gid);
        return 0;
}
