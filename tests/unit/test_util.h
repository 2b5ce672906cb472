/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers the unit tests share: fixtures under $KL_TEST_DATA, hex and base64
 * literals, private temporary directories, and the swtpm boilerplate of the
 * TPM tests. They fail the running test (cmocka asserts) instead of
 * returning errors, so callers stay short. Include after cmocka.h.
 */
#ifndef KL_TEST_UTIL_H
#define KL_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct kl_tpm;
struct kl_tpm_public;

/* $KL_TEST_DATA/rel, NUL-terminated, not empty; the caller frees it. */
char *kl_test_data_file(const char *rel, size_t *ret_len);
/* $KL_TEST_DATA/rel parsed as a JSON object; the caller kl_json_frees it. */
kl_json *kl_test_json_file(const char *rel);
/* Decoded hex or base64 text; the caller frees it. */
uint8_t *kl_test_unhex(const char *hex, size_t *ret_len);
uint8_t *kl_test_unb64(const char *s, size_t *ret_len);
/* Asserts that len bytes (at most 64) at got read as the lower-case hex want. */
void kl_test_hex_eq(const uint8_t *got, size_t len, const char *want);
/* A new private directory $TMPDIR/<prefix>-XXXXXX (/tmp without TMPDIR) in dir. */
void kl_test_tmpdir(char *dir, size_t size, const char *prefix);
double kl_test_now_ms(void); /* CLOCK_MONOTONIC, for timing checks */

/*
 * The TPM2B_PUBLIC of the agent's RSA-2048 AK template around the modulus of
 * a PEM public key: test vectors carry the AK as PEM, Keylime as TPM2B_PUBLIC.
 */
struct kl_tpm_public *kl_test_ak_from_pem(const char *pem);

/* The swtpm that tests/testbed/with-tpm.sh started ($TCTI); enc as kl_tpm_options. */
struct kl_tpm *kl_test_tpm_open(const char *enc);
/* Output of a tpm2-tools command (via TPM2TOOLS_TCTI), so checks bypass the code under test. */
size_t kl_test_tool_output(const char *cmd, char *out, size_t out_len);
/* No transient object or loaded session left behind. */
void kl_test_assert_no_tpm_leftovers(void);
/*
 * Setup fixture: a failed assertion leaves the test's handles loaded, and
 * swtpm has only three object slots, so every test starts from an empty TPM
 * and one failure does not cascade into the next tests.
 */
int kl_test_flush_tpm_leftovers(void **state);

#endif
