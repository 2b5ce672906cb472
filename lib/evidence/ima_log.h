/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental reader of the IMA ASCII measurement list
 * (/sys/kernel/security/ima/ascii_runtime_measurements) for
 * GET /quotes/integrity?ima_ml_entry=N (proto quote-format.md section 5).
 *
 * The file is opened once (while still root) and kept open; the kernel only
 * appends to it. A small bounded index of (line, offset) checkpoints makes a
 * request for the last k lines cost O(k) after the first request counted the
 * log once; memory stays constant whatever the log size. A slice (the text
 * from an entry to the end measured now) is either read piece by piece, at
 * constant memory whatever its length, or returned whole, then at most
 * KL_IMA_LOG_MAX_SLICE bytes.
 *
 * Not thread-safe: one kl_ima_log must be used by one thread at a time (the
 * agent serialises requests). A slice has its own descriptor and may be read
 * in another thread, also after the log is freed.
 */
#ifndef KL_IMA_LOG_H
#define KL_IMA_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stream.h"

/* Largest slice returned whole (kl_ima_log_read_from, kl_ima_slice_read_all). */
#define KL_IMA_LOG_MAX_SLICE (64u * 1024u * 1024u)

struct kl_ima_log;
struct kl_ima_slice;

/* Opens the IMA ASCII log (O_CLOEXEC, kept open). KL_ERR_NOT_FOUND if absent,
 * KL_ERR_IO if it cannot be opened for another reason. */
int kl_ima_log_open(const char *path, struct kl_ima_log **ret);
/* Closes the file. NULL-safe. */
void kl_ima_log_free(struct kl_ima_log *log);

/*
 * The text from 0-based line `entry` to the end of the file as it is now,
 * verbatim (a trailing partial line is included but not counted as a line).
 * Keylime semantics: entry == number of complete lines gives "" (even while
 * a partial line is being written) with entry = entry; entry beyond that gives
 * the whole log with entry = 0. The end is fixed here: lines the kernel
 * appends later are not part of the slice. A file that shrank since the
 * last call, or has no newline where the last known line ended (rewritten),
 * is re-indexed from the start; a rewrite that keeps both is not noticed
 * (the kernel's list never does either). KL_ERR_IO on a read error. The
 * caller owns *ret (kl_ima_slice_free).
 */
int kl_ima_log_slice(struct kl_ima_log *log, uint64_t entry, struct kl_ima_slice **ret);
/* The line the slice starts at (after the rule above). */
uint64_t kl_ima_slice_entry(const struct kl_ima_slice *s);
/* Its length in bytes. */
uint64_t kl_ima_slice_size(const struct kl_ima_slice *s);
/*
 * The slice's next bytes into buf (at most max): how many, 0 after its last
 * byte, KL_ERR_IO when the file no longer holds them (a read error, or it
 * shrank): never a silently shorter slice.
 */
ssize_t kl_ima_slice_read(struct kl_ima_slice *s, char *buf, size_t max);
/*
 * What is left of the slice, whole: NUL-terminated, owned by the caller
 * (free). KL_ERR_TOO_LONG beyond KL_IMA_LOG_MAX_SLICE bytes, KL_ERR_IO.
 */
int kl_ima_slice_read_all(struct kl_ima_slice *s, char **ret_text, size_t *ret_len);
/* The slice as a kl_stream (read with kl_ima_slice_read); takes s. */
struct kl_stream kl_ima_slice_stream(struct kl_ima_slice *s);
/* Closes its descriptor; NULL-safe. */
void kl_ima_slice_free(struct kl_ima_slice *s);

/*
 * kl_ima_log_slice read whole: *ret_text as kl_ima_slice_read_all gives it,
 * *ret_entry the line it starts at.
 */
int kl_ima_log_read_from(struct kl_ima_log *log, uint64_t entry, char **ret_text, size_t *ret_len,
                         uint64_t *ret_entry);

#endif
