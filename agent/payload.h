/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Encrypted payloads (keys-and-payloads.md §5, §7): AES-GCM decryption with
 * K, delivery into <secure>/unzipped (K, the plaintext and, for a zip, its
 * entries), then the payload script. The zip is outside input: every limit
 * below is enforced and a rejected archive leaves nothing behind. Owns the
 * worker thread that does all this after the HTTP handler has answered.
 */
#ifndef AGENT_PAYLOAD_H
#define AGENT_PAYLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_MAX_ENTRIES      1000
#define PAYLOAD_MAX_TOTAL        (64ull << 20) /* uncompressed bytes, all entries */
#define PAYLOAD_MAX_RATIO        100           /* uncompressed : compressed, per entry */
#define PAYLOAD_RATIO_MIN_SIZE   (64u << 10)   /* smaller entries may compress better */
#define PAYLOAD_MAX_NAME         1024
#define PAYLOAD_MAX_DEPTH        32
#define PAYLOAD_SCRIPT_TIMEOUT_S 60

struct payload_limits {
        unsigned max_entries;
        uint64_t max_total;
        unsigned max_ratio;
};

struct payload_opts {
        const char *secure_dir; /* the tmpfs (or 0700 directory); unzipped/ goes below */
        const char *enc_keyname;
        const char *dec_payload_file;
        bool extract_zip;
        const char *script; /* plain file name in unzipped/; "" = none */
        unsigned script_timeout_s;
        struct payload_limits lim;
};

/* The default limits, capped at max_total (e.g. the tmpfs size; 0 = no extra cap). */
void payload_limits_default(struct payload_limits *lim, uint64_t max_total);

/*
 * blob = IV(16) || ciphertext || tag(16), as the tenant's payload string
 * decodes; AES-128/256-GCM with K (16 or 32 bytes), no AAD. The plaintext is
 * the caller's (wipe with kl_secure_free). KL_ERR_INVAL when shorter than 32
 * bytes, KL_ERR_VERIFY when the tag does not match.
 */
int payload_decrypt(const uint8_t *k, size_t k_len, const uint8_t *blob, size_t len,
                    uint8_t **ret_plain, size_t *ret_len);

/*
 * Extracts the zip in zip[0..len) into the empty directory dirfd. Refuses
 * (KL_ERR_INVAL / KL_ERR_TOO_LONG) absolute names, '..' or backslashes,
 * symlinks and other special entries, too many entries, too much data or a
 * suspicious compression ratio, and never follows a symlink or replaces an
 * existing file. On failure dirfd may hold part of it: callers extract into a
 * temporary directory (payload_deliver does).
 */
int payload_unzip(const uint8_t *zip, size_t len, int dirfd, const struct payload_limits *lim);

/*
 * Replaces <secure_dir>/unzipped with a new one holding K (enc_keyname,
 * 0600), the plaintext (dec_payload_file, 0600) and, with extract_zip, the
 * zip's entries. Built in a temporary directory and renamed into place, so
 * on failure there is no unzipped/ at all (the old one is gone either way,
 * as upstream deletes it first).
 */
int payload_deliver(const struct payload_opts *o, const uint8_t *k, size_t k_len,
                    const uint8_t *plain, size_t plain_len);

/*
 * Runs unzipped/<script> with sh, cwd = unzipped/, in its own process group,
 * killed after script_timeout_s or when *cancel becomes true (NULL = never).
 * KL_ERR_NOT_FOUND when there is no script (not an error upstream); otherwise
 * 0 with the wait status in *ret_status.
 */
int payload_run_script(const struct payload_opts *o, const atomic_bool *cancel, int *ret_status,
                       bool *ret_timed_out);

/*
 * Removes what an interrupted payload_deliver left in secure_dir (its
 * temporary directories; unzipped/ itself only ever appears whole), logging
 * each. For start-up, before the worker runs.
 */
int payload_remove_interrupted(const char *secure_dir);

/* Removes dirfd/name recursively without following symlinks; absent is fine. */
int payload_remove_tree(int dirfd, const char *name);

struct payload_worker;

/* o's strings must outlive the worker. Starts one thread: call after the privilege drop. */
int payload_worker_start(const struct payload_opts *o, struct payload_worker **ret);
/*
 * Queues decrypt + deliver + script. Takes ownership of blob (wiped when
 * done); K is copied. seq is keys_add's *ret_seq: a job not started yet is
 * replaced by a newer one, and one older than the last submitted is dropped
 * (KL_ERR_EXISTS), so a payload never overtakes the K that replaced it.
 */
int payload_worker_submit(struct payload_worker *w, uint64_t seq, const uint8_t *k, size_t k_len,
                          uint8_t *blob, size_t blob_len);
/* Kills a running script, joins the thread, wipes what is queued. NULL-safe. */
void payload_worker_stop(struct payload_worker *w);

#endif
