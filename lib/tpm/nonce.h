/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nonce a verifier puts into a quote or a certification (TPM qualifying
 * data): what the agent accepts on its quote routes, what our verifier
 * generates, and the check that a signed TPMS_ATTEST carries the nonce sent.
 * Keylime's rule: 1..64 characters from [A-Za-z0-9].
 */
#ifndef KL_NONCE_H
#define KL_NONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_NONCE_MAX 64 /* characters; fits a TPM2B_DATA */
#define KL_NONCE_LEN 20 /* what our verifier sends, as Keylime's does */

enum kl_nonce_fault {
        KL_NONCE_OK = 0,
        KL_NONCE_MISSING,   /* NULL: the query had no nonce */
        KL_NONCE_NOT_ALNUM, /* empty, or a character outside [A-Za-z0-9] */
        KL_NONCE_TOO_LONG,  /* more than KL_NONCE_MAX characters */
};

/* What is wrong with a nonce received from outside, if anything. */
enum kl_nonce_fault kl_nonce_check(const char *nonce);

/* len (1..KL_NONCE_MAX) random characters from [A-Za-z0-9] into out[len + 1], unbiased. */
int kl_nonce_generate(char *out, size_t len);

/* The nonce a signed TPMS_ATTEST carries (got) is the non-empty one that was sent. */
bool kl_nonce_matches(const uint8_t *got, size_t got_len, const char *sent);

#endif
