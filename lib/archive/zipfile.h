/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zip archives (libzip): reading the tenant's payload in the agent and
 * writing one in the verifier stub's tenant role. The only file that
 * includes zip.h (named zipfile.h so it cannot shadow it). Reading sees
 * hostile input: the caller decides what to accept from kl_zip_stat before
 * it extracts anything, and kl_zip_read_entry reports the real bytes as they
 * stream out (headers can lie).
 */
#ifndef KL_ZIPFILE_H
#define KL_ZIPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kl_zip;
struct kl_zip_writer;

struct kl_zip_entry {
        const char *name;   /* raw bytes as stored; valid until kl_zip_close */
        uint64_t size;      /* declared uncompressed size */
        uint64_t comp_size; /* declared compressed size */
        unsigned unix_mode; /* st_mode from Unix external attributes; 0 when not recorded */
};

/* Opens data[0..len) (not copied: it must outlive z). KL_ERR_INVAL with why when not a zip. */
int kl_zip_open_buffer(const void *data, size_t len, struct kl_zip **ret, char *why,
                       size_t why_len);
uint64_t kl_zip_count(const struct kl_zip *z);
/* KL_ERR_INVAL when entry i has no name or no recorded sizes. */
int kl_zip_stat(struct kl_zip *z, uint64_t i, struct kl_zip_entry *ret);

/* Gets each decoded chunk of an entry; a negative return stops the read and is returned. */
typedef int (*kl_zip_sink)(void *ctx, const uint8_t *data, size_t len);
/*
 * Streams entry i through buf (buf_len bytes) into sink. KL_ERR_INVAL when
 * it cannot be decoded (encrypted, unknown method, CRC mismatch at the end).
 */
int kl_zip_read_entry(struct kl_zip *z, uint64_t i, uint8_t *buf, size_t buf_len, kl_zip_sink sink,
                      void *ctx);
void kl_zip_close(struct kl_zip *z); /* NULL-safe */

/* A new archive at path (replacing what is there), written by kl_zip_commit. */
int kl_zip_create(const char *path, struct kl_zip_writer **ret);
int kl_zip_add_dir(struct kl_zip_writer *w, const char *name);
/* Adds the file at src_path as name (replacing an entry of that name); mode 0755 if executable. */
int kl_zip_add_file(struct kl_zip_writer *w, const char *name, const char *src_path,
                    bool executable);
/* Writes the archive and frees w, also on failure (KL_ERR_IO, nothing kept). */
int kl_zip_commit(struct kl_zip_writer *w);
void kl_zip_discard(struct kl_zip_writer *w); /* NULL-safe */

#endif
