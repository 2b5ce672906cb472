/* SPDX-License-Identifier: Apache-2.0 */
/* Bounded whole-file reads and atomic writes. */
#ifndef KL_FILEIO_H
#define KL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads the whole file (at most max bytes, else KL_ERR_TOO_LONG) into a
 * NUL-terminated heap buffer. KL_ERR_NOT_FOUND when it does not exist,
 * KL_ERR_IO otherwise (errno kept). On failure nothing read is left in
 * memory; on success the caller wipes the buffer if it is secret.
 */
int kl_file_read(const char *path, size_t max, char **ret_data, size_t *ret_len);
/*
 * Writes data to path through a temporary file in the same directory
 * (created with mode, fsync'ed, renamed over path), so readers never see a
 * half-written file and the mode holds from the first byte. KL_ERR_EXISTS if
 * the temporary name is taken (never follows a planted symlink).
 */
int kl_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);

#endif
