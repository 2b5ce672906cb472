/* SPDX-License-Identifier: Apache-2.0 */
/* Room-internal helpers of lib/crypto (see pem_io.c); not for other folders. */
#ifndef KL_PEM_IO_H
#define KL_PEM_IO_H

#include <openssl/types.h>
#include <stddef.h>
#include <stdint.h>

/* Certificates and key files are small; anything bigger is not ours. */
#define KL_PEM_FILE_MAX (1024 * 1024)

/* A whole certificate or key file (at most KL_PEM_FILE_MAX); KL_ERR_NOT_FOUND if missing. */
int kl_pem_read_small_file(const char *path, uint8_t **ret_buf, size_t *ret_len);
/* Copies a memory BIO's contents into a NUL-terminated heap string. */
int kl_pem_bio_to_string(BIO *bio, char **ret_str, size_t *ret_len);

/* PEM text of one OpenSSL object through a memory BIO (callers wipe private keys). */
typedef int (*kl_pem_writer)(BIO *bio, void *obj);
int kl_pem_string(kl_pem_writer write, void *obj, const char *what, char **ret_pem);

#endif
