/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental reader of the IMA ASCII measurement list
 * (/sys/kernel/security/ima/ascii_runtime_measurements) for
 * GET /quotes/integrity?ima_ml_entry=N (proto quote-format.md section 5).
 *
 * The file is opened once (while still root) and kept open; the kernel only
 * appends to it. A small bounded index of (line, offset) checkpoints makes a
 * request for the last k lines cost O(k) after the first request counted the
 * log once; memory stays constant whatever the log size. It never reads the
 * whole file into memory except to return it, and never returns more than
 * KL_IMA_LOG_MAX_SLICE bytes.
 *
 * Not thread-safe: one kl_ima_log must be used by one thread at a time (the
 * agent serialises requests).
 */
#ifndef KL_IMA_LOG_H
#define KL_IMA_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Largest slice kl_ima_log_read_from returns; beyond it KL_ERR_TOO_LONG. */
#define KL_IMA_LOG_MAX_SLICE (64u * 1024u * 1024u)

struct kl_ima_log;

/* Opens the IMA ASCII log (O_CLOEXEC, kept open). KL_ERR_NOT_FOUND if absent,
 * KL_ERR_IO if it cannot be opened for another reason. */
int kl_ima_log_open(const char *path, struct kl_ima_log **ret);
/* Closes the file. NULL-safe. */
void kl_ima_log_free(struct kl_ima_log *log);

/*
 * Text from 0-based line `entry` to the end of the file, verbatim (a trailing
 * partial line is included but not counted as a line). Keylime semantics:
 * entry == number of complete lines gives "" with *ret_entry = entry; entry
 * beyond that gives the whole log with *ret_entry = 0. *ret_text is
 * NUL-terminated and owned by the caller (free). A file that shrank since the
 * last call, or has no newline where the last known line ended (rewritten),
 * is re-indexed from the start; a rewrite that keeps both is not noticed
 * (the kernel's list never does either). KL_ERR_TOO_LONG if the
 * slice exceeds KL_IMA_LOG_MAX_SLICE, KL_ERR_IO on a read error.
 */
int kl_ima_log_read_from(struct kl_ima_log *log, uint64_t entry, char **ret_text, size_t *ret_len,
                         uint64_t *ret_entry);

#endif
