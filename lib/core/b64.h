/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Base64 (RFC 4648 section 4, standard alphabet, padded) and lower-case hex.
 * Decoders are strict: any character outside the alphabet, bad padding or an
 * odd hex length is KL_ERR_INVAL. Outputs are heap-allocated and owned by the
 * caller; strings are NUL-terminated; decoded buffers get a trailing NUL that
 * is not counted in *ret_len (handy for text).
 */
#ifndef KL_B64_H
#define KL_B64_H

#include <stddef.h>
#include <stdint.h>

int kl_b64_encode(const uint8_t *in, size_t len, char **ret_str);
int kl_b64_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len);
int kl_hex_encode(const uint8_t *in, size_t len, char **ret_str);
/* Accepts upper and lower case. */
int kl_hex_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len);
/* 0..15 for a hex digit (either case), -1 otherwise. */
int kl_hex_digit_value(int c);
/* Encodes into a caller buffer of at least 2*len+1 bytes. */
void kl_hex_encode_to(const uint8_t *in, size_t len, char *out);

#endif
