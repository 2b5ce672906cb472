/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lower-case hex encoding; decoding accepts either case and nothing else (no
 * "0x", no whitespace, even length only), since decoders see outside input.
 * kl_hex_encode and kl_hex_decode allocate (caller frees; decoded buffers get
 * a trailing NUL not counted in *ret_len); the _to variants write into a
 * caller buffer, for hot paths such as one IMA line at a time.
 */
#ifndef KL_HEX_H
#define KL_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int kl_hex_encode(const uint8_t *in, size_t len, char **ret_str);
/* Encodes into a caller buffer of at least 2*len+1 bytes. */
void kl_hex_encode_to(const uint8_t *in, size_t len, char *out);
/* KL_ERR_INVAL for an odd length or a non-hex character. */
int kl_hex_decode(const char *in, size_t len, uint8_t **ret_buf, size_t *ret_len);
/* Decodes into out (len / 2 bytes); false for an odd length or a non-hex character. */
bool kl_hex_decode_to(const char *in, size_t len, uint8_t *out);
/* True when in is an even number of hex digits. */
bool kl_hex_is(const char *in, size_t len);
/* 0..15 for a hex digit (either case), -1 otherwise. */
int kl_hex_digit_value(int c);

#endif
