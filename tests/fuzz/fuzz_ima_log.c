/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: the input as an IMA ASCII log in a memfd, read from a few
 * entries (start, second line, near and past the end, grown by a line).
 * Must never crash, leak, or return text that is not a suffix of the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ima_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_at(struct kl_ima_log *log, uint64_t entry, const uint8_t *data, size_t size)
{
        char *text = NULL;
        size_t len = 0;
        uint64_t got = 0;

        if (kl_ima_log_read_from(log, entry, &text, &len, &got) != 0)
                return;
        /* the slice is the tail of what was written */
        if (len > size || memcmp(text, data + size - len, len) != 0)
                abort();
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_ima_log *log = NULL;
        char path[64];
        int fd = memfd_create("fuzz_ima_log", MFD_CLOEXEC);

        if (fd < 0)
                return 0;
        if (write(fd, data, size) != (ssize_t)size)
                goto out;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (kl_ima_log_open(path, &log) != 0)
                goto out;
        read_at(log, 0, data, size);
        read_at(log, 1, data, size);
        read_at(log, size / 64, data, size);
        read_at(log, UINT64_MAX, data, size);
        read_at(log, size / 128, data, size);
        if (size > 0 && write(fd, "x\n", 2) == 2) {
                char *text = NULL;
                size_t len = 0;
                uint64_t got = 0;

                /* grown since the last read: picked up from the known end */
                if (kl_ima_log_read_from(log, 1, &text, &len, &got) == 0)
                        free(text);
        }
out:
        kl_ima_log_free(log);
        close(fd);
        return 0;
}
