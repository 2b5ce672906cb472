/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secure tmpfs. A directory planted at <keylime_dir>/secure (a symlink to
 * somewhere else, or a mount of another file system) would put K and the
 * payload on a disk or in an attacker's hands (CVE-2022-23948), so what is
 * there is checked in /proc/self/mountinfo rather than trusted, and the mount
 * goes through an O_NOFOLLOW descriptor so a symlink swapped in between the
 * check and the mount cannot redirect it.
 */
#include "secure_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "log.h"

#define MOUNTINFO_MAX (8u << 20)

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
        char *w = s;

        for (char *r = s; *r != '\0'; r++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

static void copy_field(char *dst, size_t dst_len, const char *src)
{
        if (dst == NULL || dst_len == 0)
                return;
        snprintf(dst, dst_len, "%s", src);
}

bool secure_mount_lookup(const char *mountinfo, const char *path, char *ret_type, size_t type_len,
                         char *ret_opts, size_t opts_len)
{
        const char *line = mountinfo;
        bool found = false;

        /* the last match wins: it is the mount on top */
        while (line != NULL && *line != '\0') {
                const char *end = strchr(line, '\n');
                size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
                char *copy = strndup(line, len), *save = NULL, *tok, *fields[64];
                size_t n = 0, dash = 0;

                line = end != NULL ? end + 1 : NULL;
                if (copy == NULL)
                        continue;
                for (tok = strtok_r(copy, " ", &save); tok != NULL && n < 64;
                     tok = strtok_r(NULL, " ", &save))
                        fields[n++] = tok;
                for (size_t i = 6; i < n; i++) {
                        if (strcmp(fields[i], "-") == 0) {
                                dash = i;
                                break;
                        }
                }
                if (dash > 0 && dash + 1 < n) {
                        unescape(fields[4]);
                        if (strcmp(fields[4], path) == 0) {
                                found = true;
                                copy_field(ret_type, type_len, fields[dash + 1]);
                                copy_field(ret_opts, opts_len,
                                           dash + 3 < n ? fields[dash + 3] : "");
                        }
                }
                free(copy);
        }
        return found;
}

uint64_t secure_mount_size_bytes(const char *size)
{
        char *end = NULL;
        unsigned long long v;
        unsigned shift = 0;

        errno = 0;
        v = strtoull(size, &end, 10);
        if (errno != 0 || end == size)
                return 0;
        switch (*end) {
        case '\0':
                break;
        case 'k':
        case 'K':
                shift = 10;
                break;
        case 'm':
        case 'M':
                shift = 20;
                break;
        case 'g':
        case 'G':
                shift = 30;
                break;
        default:
                return 0; /* "%" of RAM: unknown here */
        }
        if (shift > 0 && end[1] != '\0')
                return 0;
        if (v > (UINT64_MAX >> shift))
                return 0;
        return (uint64_t)v << shift;
}

/* True when opts (comma-separated superblock options) hold mode=700. */
static bool has_mode_700(const char *opts)
{
        size_t len = strlen("mode=700");

        for (const char *p = opts; p != NULL; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
                if (strncmp(p, "mode=700", len) == 0 && (p[len] == ',' || p[len] == '\0'))
                        return true;
        }
        return false;
}

/* What is mounted at path now; false when not a mount point or unreadable. */
static bool mounted(const char *path, char *type, size_t type_len, char *opts, size_t opts_len)
{
        char *info = NULL;
        size_t len = 0;
        bool found;

        if (kl_file_read("/proc/self/mountinfo", MOUNTINFO_MAX, &info, &len) < 0)
                return false;
        found = secure_mount_lookup(info, path, type, type_len, opts, opts_len);
        free(info);
        return found;
}

static int check_existing(const char *path, const char *type, const char *opts)
{
        if (strcmp(type, "tmpfs") != 0) {
                log_error("%s is already a mount point of type %s, not tmpfs: refusing to keep "
                          "secrets there; unmount it or remove it",
                          path, type);
                return KL_ERR_CONFIG;
        }
        if (!has_mode_700(opts)) {
                log_error("%s is a tmpfs without mode=700 (%s): refusing to keep secrets where "
                          "others may look; remount it with mode=0700",
                          path, opts);
                return KL_ERR_CONFIG;
        }
        return 0;
}

int secure_mount_setup(const struct kl_agent_config *cfg, char *ret_path, size_t path_len)
{
        char path[PATH_MAX], real[PATH_MAX], fdpath[64], data[128];
        char type[64] = "", opts[1024] = "";
        struct stat st;
        int fd = -1, w, r = KL_ERR_CONFIG;

        w = snprintf(path, sizeof(path), "%s/secure", cfg->keylime_dir);
        if (w < 0 || (size_t)w >= sizeof(path))
                return KL_ERR_TOO_LONG;
        if (lstat(path, &st) != 0) {
                if (errno != ENOENT || mkdir(path, 0700) != 0) {
                        log_error("cannot create %s: %s", path, strerror(errno));
                        return KL_ERR_IO;
                }
        } else if (S_ISLNK(st.st_mode)) {
                log_error("%s is a symbolic link: refusing to follow it for secure storage", path);
                return KL_ERR_CONFIG;
        } else if (!S_ISDIR(st.st_mode)) {
                log_error("%s exists and is not a directory", path);
                return KL_ERR_CONFIG;
        }
        /* mountinfo names the canonical path */
        if (realpath(path, real) == NULL) {
                log_error("cannot resolve %s: %s", path, strerror(errno));
                return KL_ERR_IO;
        }
        if ((fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                log_error("cannot open %s: %s", real, strerror(errno));
                return KL_ERR_IO;
        }
        if (geteuid() != 0) {
                if (fchmod(fd, 0700) != 0) {
                        log_error("cannot make %s private: %s", real, strerror(errno));
                        r = KL_ERR_IO;
                        goto out;
                }
                if (mounted(real, type, sizeof(type), opts, sizeof(opts)) &&
                    (r = check_existing(real, type, opts)) < 0)
                        goto out;
                log_warn("not root: keeping keys and payloads in the directory %s, not in a "
                         "tmpfs; they may reach the disk",
                         real);
                goto done;
        }
        if (mounted(real, type, sizeof(type), opts, sizeof(opts))) {
                if ((r = check_existing(real, type, opts)) < 0)
                        goto out;
                log_info("using the tmpfs already mounted at %s", real);
                goto done;
        }
        w = snprintf(data, sizeof(data), "size=%s,mode=0700", cfg->secure_size);
        if (w < 0 || (size_t)w >= sizeof(data)) {
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
        if (mount("tmpfs", fdpath, "tmpfs", MS_NOSUID | MS_NODEV, data) != 0) {
                log_error("cannot mount a tmpfs (%s) at %s: %s", data, real, strerror(errno));
                r = KL_ERR_SYSTEM;
                goto out;
        }
        if (!mounted(real, type, sizeof(type), opts, sizeof(opts)) ||
            (r = check_existing(real, type, opts)) < 0) {
                log_error("the tmpfs mounted at %s does not show in /proc/self/mountinfo as "
                          "expected",
                          real);
                r = KL_ERR_SYSTEM;
                goto out;
        }
        log_info("mounted a tmpfs (size %s) at %s for keys and payloads", cfg->secure_size, real);
done:
        w = snprintf(ret_path, path_len, "%s", real);
        r = w < 0 || (size_t)w >= path_len ? KL_ERR_TOO_LONG : 0;
out:
        close(fd);
        return r;
}
