/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload decryption, zip extraction (libzip behind lib/archive/zipfile.h)
 * and the payload script. The archive comes from the tenant and is treated as
 * hostile: names are checked before anything is written, every file is
 * created with openat(O_EXCL | O_NOFOLLOW) below a directory fd, sizes are
 * counted as the data streams out (headers can lie), and the whole result is
 * built in a temporary directory that is renamed into place only when
 * complete. The decrypted payload and K are wiped from memory after use.
 */
#include "payload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "keys.h"
#include "log.h"
#include "spawn.h"
#include "zipfile.h"

#define GCM_IV_LEN   16
#define GCM_TAG_LEN  16
#define CHUNK        (64u << 10)
#define RM_MAX_DEPTH 64

void payload_limits_default(struct payload_limits *lim, uint64_t max_total)
{
        lim->max_entries = PAYLOAD_MAX_ENTRIES;
        lim->max_total = PAYLOAD_MAX_TOTAL;
        if (max_total > 0 && max_total < lim->max_total)
                lim->max_total = max_total;
        lim->max_ratio = PAYLOAD_MAX_RATIO;
}

int payload_decrypt(const uint8_t *k, size_t k_len, const uint8_t *blob, size_t len,
                    uint8_t **ret_plain, size_t *ret_len)
{
        uint8_t *plain = NULL;
        size_t ct_len;
        int r;

        if ((k_len != 16 && k_len != 32) || len < GCM_IV_LEN + GCM_TAG_LEN)
                return KL_ERR_INVAL;
        ct_len = len - GCM_IV_LEN - GCM_TAG_LEN;
        if ((plain = malloc(ct_len + 1)) == NULL)
                return KL_ERR_NOMEM;
        r = kl_aes_gcm_decrypt(k, k_len, blob, GCM_IV_LEN, blob + GCM_IV_LEN, ct_len,
                               blob + len - GCM_TAG_LEN, plain);
        if (r < 0) {
                kl_secure_free(plain, ct_len + 1);
                return r == KL_ERR_CRYPTO ? KL_ERR_VERIFY : r;
        }
        *ret_plain = plain;
        *ret_len = ct_len;
        return 0;
}

/* ---- removal ---- */

static int remove_at(int parent, const char *name, unsigned depth)
{
        struct dirent *de;
        DIR *d = NULL;
        int fd, r = KL_ERR_IO;

        if (depth > RM_MAX_DEPTH)
                return KL_ERR_TOO_LONG;
        fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno != ENOTDIR && errno != ELOOP)
                        return KL_ERR_IO;
                /* a file or a symlink: remove the link itself, never its target */
                return unlinkat(parent, name, 0) == 0 || errno == ENOENT ? 0 : KL_ERR_IO;
        }
        if ((d = fdopendir(fd)) == NULL) {
                close(fd);
                return KL_ERR_IO;
        }
        while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN) {
                        if (remove_at(dirfd(d), de->d_name, depth + 1) < 0)
                                goto out;
                } else if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT) {
                        goto out;
                }
        }
        r = 0;
out:
        closedir(d);
        if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
                r = KL_ERR_IO;
        return r;
}

int payload_remove_tree(int dirfd, const char *name)
{
        return remove_at(dirfd, name, 0);
}

/* ---- zip ---- */

/*
 * A relative name of plain components: no leading '/', no '..', no
 * backslash (a Windows separator), no control characters, bounded length
 * and depth. '.' components and one trailing '/' (a directory) are allowed.
 */
static bool name_ok(const char *name)
{
        size_t len = strlen(name), depth = 0;
        const char *p = name;

        if (len == 0 || len > PAYLOAD_MAX_NAME || name[0] == '/')
                return false;
        for (size_t i = 0; i < len; i++) {
                if (name[i] == '\\' || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
                        return false;
        }
        while (*p != '\0') {
                size_t n = strcspn(p, "/");

                if (n == 0)
                        return false; /* "a//b" */
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return false;
                if (++depth > PAYLOAD_MAX_DEPTH)
                        return false;
                p += n;
                if (*p == '/')
                        p++;
        }
        return true;
}

/*
 * Walks path (modified: '/' become NULs) below root, creating directories
 * (0700) as needed and opening each with O_NOFOLLOW, so a symlink anywhere is
 * an error rather than a way out. With all_dirs, every component is a
 * directory; otherwise the last one is returned in *ret_base. The returned
 * fd is root itself or one the caller closes.
 */
static int walk_dirs(int root, char *path, bool all_dirs, int *ret_fd, const char **ret_base)
{
        int cur = root;
        char *p = path;

        for (;;) {
                char *slash = strchr(p, '/');
                int nfd;

                if (slash == NULL && !all_dirs)
                        break;
                if (slash != NULL)
                        *slash = '\0';
                if (*p != '\0' && strcmp(p, ".") != 0) {
                        if (mkdirat(cur, p, 0700) != 0 && errno != EEXIST)
                                goto fail;
                        nfd = openat(cur, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (nfd < 0)
                                goto fail;
                        if (cur != root)
                                close(cur);
                        cur = nfd;
                }
                if (slash == NULL)
                        break;
                p = slash + 1;
                if (*p == '\0')
                        break; /* trailing '/' */
        }
        *ret_fd = cur;
        *ret_base = p;
        return 0;
fail:
        if (cur != root)
                close(cur);
        return KL_ERR_IO;
}

static int write_all(int fd, const uint8_t *data, size_t len)
{
        while (len > 0) {
                ssize_t w = write(fd, data, len);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return KL_ERR_IO;
                data += w;
                len -= (size_t)w;
        }
        return 0;
}

/* Where one entry's bytes go, and the caps they count against. */
struct sink {
        int fd;
        uint64_t declared;
        uint64_t got;
        uint64_t *total;
        const struct payload_limits *lim;
};

static int sink_write(void *ctx, const uint8_t *data, size_t len)
{
        struct sink *k = ctx;

        k->got += len;
        *k->total += len;
        if (k->got > k->declared || *k->total > k->lim->max_total)
                return KL_ERR_TOO_LONG;
        return write_all(k->fd, data, len);
}

/* Streams one entry into a new file, counting real bytes against both caps. */
static int extract_file(struct kl_zip *z, uint64_t i, int fd, uint64_t declared, uint64_t *total,
                        const struct payload_limits *lim, uint8_t *buf)
{
        struct sink k = {.fd = fd, .declared = declared, .total = total, .lim = lim};
        int r = kl_zip_read_entry(z, i, buf, CHUNK, sink_write, &k);

        if (r < 0)
                return r;
        return k.got == declared ? 0 : KL_ERR_INVAL;
}

/* Everything that can be decided from the central directory, before writing. */
static int check_entries(struct kl_zip *z, const struct payload_limits *lim)
{
        uint64_t total = 0, n = kl_zip_count(z);

        if (n > lim->max_entries) {
                log_warn("payload zip: %llu entries, at most %u allowed", (unsigned long long)n,
                         lim->max_entries);
                return KL_ERR_TOO_LONG;
        }
        for (uint64_t i = 0; i < n; i++) {
                struct kl_zip_entry e;
                unsigned type;

                if (kl_zip_stat(z, i, &e) < 0)
                        return KL_ERR_INVAL;
                type = e.unix_mode & S_IFMT;
                if (!name_ok(e.name)) {
                        log_warn("payload zip: refusing entry '%.100s' (absolute, '..' or "
                                 "unusual characters)",
                                 e.name);
                        return KL_ERR_INVAL;
                }
                if (type != 0 && type != S_IFREG && type != S_IFDIR) {
                        log_warn("payload zip: refusing entry '%.100s': %s", e.name,
                                 type == S_IFLNK ? "symbolic link" : "special file");
                        return KL_ERR_INVAL;
                }
                if (__builtin_add_overflow(total, e.size, &total) || total > lim->max_total) {
                        log_warn("payload zip: more than %llu bytes uncompressed",
                                 (unsigned long long)lim->max_total);
                        return KL_ERR_TOO_LONG;
                }
                if (e.size > PAYLOAD_RATIO_MIN_SIZE &&
                    (e.comp_size == 0 || e.size / e.comp_size >= lim->max_ratio)) {
                        log_warn("payload zip: entry '%.100s' expands %llu bytes to %llu "
                                 "(more than %u:1)",
                                 e.name, (unsigned long long)e.comp_size,
                                 (unsigned long long)e.size, lim->max_ratio);
                        return KL_ERR_TOO_LONG;
                }
        }
        return 0;
}

/* Creates entry e (index i) below dirfd: its directories, then the file unless it is one. */
static int extract_entry(struct kl_zip *z, uint64_t i, const struct kl_zip_entry *e, int dirfd,
                         uint64_t *total, const struct payload_limits *lim, uint8_t *buf)
{
        size_t name_len = strlen(e->name);
        bool is_dir =
            name_len > 0 && (e->name[name_len - 1] == '/' || (e->unix_mode & S_IFMT) == S_IFDIR);
        char path[PAYLOAD_MAX_NAME + 1];
        const char *base = NULL;
        int parent = -1, fd, r;

        if (name_len > PAYLOAD_MAX_NAME)
                return KL_ERR_INVAL;
        memcpy(path, e->name, name_len + 1);
        if ((r = walk_dirs(dirfd, path, is_dir, &parent, &base)) < 0) {
                log_warn("payload zip: cannot create the directories of '%.100s': %s", e->name,
                         strerror(errno));
                return r;
        }
        if (is_dir) {
                if (parent != dirfd)
                        close(parent);
                return 0;
        }
        fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    (e->unix_mode & 0111) != 0 ? 0700 : 0600);
        if (fd < 0) {
                log_warn("payload zip: cannot create '%.100s': %s", e->name, strerror(errno));
                if (parent != dirfd)
                        close(parent);
                return KL_ERR_IO;
        }
        r = extract_file(z, i, fd, e->size, total, lim, buf);
        if (close(fd) != 0 && r == 0)
                r = KL_ERR_IO;
        if (parent != dirfd)
                close(parent);
        if (r < 0)
                log_warn("payload zip: entry '%.100s' could not be extracted: %s", e->name,
                         kl_err_str(r));
        return r;
}

int payload_unzip(const uint8_t *zip, size_t len, int dirfd, const struct payload_limits *lim)
{
        struct kl_zip *z = NULL;
        uint8_t *buf = NULL;
        uint64_t total = 0;
        char why[200];
        int r;

        if ((r = kl_zip_open_buffer(zip, len, &z, why, sizeof(why))) < 0) {
                if (r == KL_ERR_INVAL)
                        log_warn("payload is not a usable zip archive: %s", why);
                return r;
        }
        if ((r = check_entries(z, lim)) < 0)
                goto out;
        if ((buf = malloc(CHUNK)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        for (uint64_t i = 0; i < kl_zip_count(z); i++) {
                struct kl_zip_entry e;

                if ((r = kl_zip_stat(z, i, &e)) < 0 ||
                    (r = extract_entry(z, i, &e, dirfd, &total, lim, buf)) < 0)
                        goto out;
        }
        r = 0;
out:
        free(buf);
        kl_zip_close(z);
        return r;
}

/* ---- delivery ---- */

static int write_file_at(int dirfd, const char *name, const uint8_t *data, size_t len)
{
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return KL_ERR_IO;
        r = write_all(fd, data, len);
        if (close(fd) != 0 && r == 0)
                r = KL_ERR_IO;
        return r;
}

#define TMP_PREFIX ".unzipped."

int payload_remove_interrupted(const char *secure_dir)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (secure_dir[0] == '\0')
                return 0;
        if ((d = opendir(secure_dir)) == NULL)
                return errno == ENOENT ? 0 : KL_ERR_IO;
        while ((de = readdir(d)) != NULL) {
                if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
                        continue;
                if (payload_remove_tree(dirfd(d), de->d_name) < 0) {
                        log_error("cannot remove %s/%s", secure_dir, de->d_name);
                        r = KL_ERR_IO;
                } else {
                        log_warn("removed %s/%s: an unfinished payload delivery (the agent "
                                 "was stopped while writing it)",
                                 secure_dir, de->d_name);
                }
        }
        closedir(d);
        return r;
}

int payload_deliver(const struct payload_opts *o, const uint8_t *k, size_t k_len,
                    const uint8_t *plain, size_t plain_len)
{
        char tmp[PATH_MAX];
        const char *tmp_name;
        int sfd = -1, tfd = -1, w, r = KL_ERR_IO;
        bool made = false;

        if (o->enc_keyname[0] == '\0' || o->dec_payload_file[0] == '\0' ||
            strchr(o->enc_keyname, '/') != NULL || strchr(o->dec_payload_file, '/') != NULL)
                return KL_ERR_CONFIG;
        w = snprintf(tmp, sizeof(tmp), "%s/" TMP_PREFIX "XXXXXX", o->secure_dir);
        if (w < 0 || (size_t)w >= sizeof(tmp))
                return KL_ERR_TOO_LONG;
        tmp_name = strrchr(tmp, '/') + 1;
        if ((sfd = open(o->secure_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
                log_error("cannot open %s: %s", o->secure_dir, strerror(errno));
                goto out;
        }
        /* As upstream: the previous payload goes first, whatever happens next. */
        if ((r = payload_remove_tree(sfd, "unzipped")) < 0) {
                log_error("cannot remove the previous %s/unzipped", o->secure_dir);
                goto out;
        }
        r = KL_ERR_IO;
        if (mkdtemp(tmp) == NULL) {
                log_error("cannot create a directory in %s: %s", o->secure_dir, strerror(errno));
                goto out;
        }
        made = true;
        if ((tfd = openat(sfd, tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                goto out;
        if ((r = write_file_at(tfd, o->enc_keyname, k, k_len)) < 0 ||
            (r = write_file_at(tfd, o->dec_payload_file, plain, plain_len)) < 0) {
                log_error("cannot write the key and payload into %s: %s", o->secure_dir,
                          strerror(errno));
                goto out;
        }
        if (o->extract_zip && (r = payload_unzip(plain, plain_len, tfd, &o->lim)) < 0) {
                log_error("payload rejected: its zip archive is unsafe or unreadable (%s)",
                          kl_err_str(r));
                goto out;
        }
        if (renameat(sfd, tmp_name, sfd, "unzipped") != 0) {
                log_error("cannot rename %s into place: %s", tmp, strerror(errno));
                r = KL_ERR_IO;
                goto out;
        }
        made = false;
        r = 0;
out:
        if (tfd >= 0)
                close(tfd);
        if (made && payload_remove_tree(sfd, tmp_name) < 0)
                log_error("cannot remove %s", tmp);
        if (sfd >= 0)
                close(sfd);
        return r;
}

/* ---- script ---- */

int payload_run_script(const struct payload_opts *o, const atomic_bool *cancel, int *ret_status,
                       bool *ret_timed_out)
{
        char dir[PATH_MAX], path[PATH_MAX];
        /* "$0" keeps the path one word; sh runs a script without a #! line itself */
        const char *argv[] = {"sh", "-c", "\"$0\"", path, NULL};
        struct kl_spawn_opts so = {
            .path = "/bin/sh",
            .argv = argv,
            .dir_fd = -1,
            .timeout_s = o->script_timeout_s,
            .cancel = cancel,
        };
        struct kl_spawn_result res;
        struct stat st;
        int w, r = KL_ERR_NOT_FOUND;

        if (o->script == NULL || o->script[0] == '\0')
                return KL_ERR_NOT_FOUND;
        if (strchr(o->script, '/') != NULL || strcmp(o->script, "..") == 0) {
                log_error("payload_script '%s' is not a plain file name; not running it",
                          o->script);
                return KL_ERR_CONFIG;
        }
        w = snprintf(dir, sizeof(dir), "%s/unzipped", o->secure_dir);
        if (w < 0 || (size_t)w >= sizeof(dir))
                return KL_ERR_TOO_LONG;
        w = snprintf(path, sizeof(path), "%s/%s", dir, o->script);
        if (w < 0 || (size_t)w >= sizeof(path))
                return KL_ERR_TOO_LONG;
        if ((so.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                goto out;
        if (fstatat(so.dir_fd, o->script, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
                goto out;
        r = KL_ERR_SYSTEM;
        if (fchmodat(so.dir_fd, o->script, 0700, 0) != 0)
                goto out;
        log_info("running payload script %s", path);
        if ((r = kl_spawn_run(&so, &res)) < 0)
                goto out;
        *ret_status = res.status;
        *ret_timed_out = res.timed_out;
out:
        if (so.dir_fd >= 0)
                close(so.dir_fd);
        return r;
}
