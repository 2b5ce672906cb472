/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded whole-file reads and atomic writes. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "hex.h"
#include "mem.h"

int kl_file_read(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
        char *buf = NULL;
        size_t len = 0, cap = 0;
        int fd, r = KL_ERR_IO;

        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return errno == ENOENT ? KL_ERR_NOT_FOUND : KL_ERR_IO;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        size_t grown = cap == 0 ? 4096 : cap * 2;
                        char *p;

                        if (cap > max) {
                                r = KL_ERR_TOO_LONG;
                                goto out;
                        }
                        /* not realloc: callers read keys with this too */
                        if ((p = kl_mem_grow_wiped(buf, len, cap + 1, grown + 1)) == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        buf = p;
                        cap = grown;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        goto out;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max) {
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        if (buf == NULL && (buf = malloc(1)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        buf[len] = '\0';
        *ret_data = buf;
        *ret_len = len;
        buf = NULL;
        r = 0;
out:
        if (buf != NULL)
                explicit_bzero(buf, len); /* callers read keys with this too */
        free(buf);
        close(fd);
        return r;
}

/* KL_ERR_IO, or KL_ERR_NO_SPACE when errno says the file system is full (a clear message). */
static int io_err(void)
{
        return errno == ENOSPC || errno == EDQUOT ? KL_ERR_NO_SPACE : KL_ERR_IO;
}

/* Full write that survives EINTR and short writes. */
static int write_all(int fd, const void *data, size_t len)
{
        const uint8_t *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return io_err();
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/*
 * A new file next to the target (random name, O_EXCL|O_NOFOLLOW, so nobody
 * else's file or symlink is reused), fsync, rename, fsync of the directory.
 */
int kl_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char tmp[PATH_MAX], dir[PATH_MAX];
        uint8_t rnd[8];
        char rnd_hex[2 * sizeof(rnd) + 1];
        const char *slash;
        int fd = -1, dfd = -1, n, r;
        bool created = false;

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
                return KL_ERR_SYSTEM;
        kl_hex_encode_to(rnd, sizeof(rnd), rnd_hex);
        n = snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rnd_hex);
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return KL_ERR_TOO_LONG;
        slash = strrchr(path, '/');
        if (slash == NULL)
                n = snprintf(dir, sizeof(dir), ".");
        else if (slash == path)
                n = snprintf(dir, sizeof(dir), "/");
        else
                n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
        if (n < 0 || (size_t)n >= sizeof(dir))
                return KL_ERR_TOO_LONG;

        r = KL_ERR_IO;
        if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)) < 0) {
                r = errno == EEXIST ? KL_ERR_EXISTS : io_err();
                goto out;
        }
        created = true;
        /* the umask may have narrowed mode; make it exact */
        if (fchmod(fd, mode) != 0)
                goto out;
        if ((r = write_all(fd, data, len)) < 0)
                goto out;
        /* a full disk can surface only here (delayed allocation, NFS) */
        if (fsync(fd) != 0) {
                r = io_err();
                goto out;
        }
        if (close(fd) != 0) {
                fd = -1; /* closed even on error */
                r = io_err();
                goto out;
        }
        fd = -1;
        if (rename(tmp, path) != 0) {
                r = io_err();
                goto out;
        }
        created = false;
        if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
                (void)fsync(dfd); /* best effort: the data itself is already durable */
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        if (dfd >= 0)
                close(dfd);
        if (created)
                (void)unlink(tmp);
        return r;
}
