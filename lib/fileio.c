/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded whole-file reads and atomic writes. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

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
                        if ((p = realloc(buf, grown + 1)) == NULL) {
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
        free(buf);
        close(fd);
        return r;
}

int kl_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        char tmp[4096];
        const char *p = data;
        int fd, n, r = KL_ERR_IO;

        n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(tmp))
                return KL_ERR_TOO_LONG;
        (void)unlink(tmp);
        if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
                return KL_ERR_IO;
        while (len > 0) {
                ssize_t w = write(fd, p, len);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        goto out;
                p += w;
                len -= (size_t)w;
        }
        if (fsync(fd) != 0)
                goto out;
        if (close(fd) != 0) {
                fd = -1;
                goto out;
        }
        fd = -1;
        if (rename(tmp, path) != 0)
                goto out;
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        if (r < 0)
                (void)unlink(tmp);
        return r;
}
