/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 (RFC 4648 section 4, standard alphabet, padded); hex is in hex.h.
 * The decoder is strict: any character outside the alphabet or bad padding is
 * KL_ERR_INVAL. Outputs are heap-allocated and owned by the
 * caller; strings are NUL-terminated; decoded buffers get a trailing NUL that
 * is not counted in *ret_len (handy for text).
 */
#ifndef KL_B64_H
#define KL_B64_H

#include <stddef.h>
#include <stdint.h>

int kl_b64_encode(const uint8_t *in, size_t len, char **ret_str);
int kl_b64_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len);

#endif
