/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one table of hash algorithms: TPM_ALG_ID (TPM 2.0 Part 2, 6.3), the
 * name Keylime and our configuration use ("sha256", which is also OpenSSL's
 * digest name), the name Keylime's Rust agent writes ("Sha256") and the digest
 * size. Names match exactly and in lower case only; that is the one case rule
 * for configuration files, TPM options, quotes and logs.
 */
#ifndef KL_HASH_ALG_H
#define KL_HASH_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_ALG_SHA1    0x0004u
#define KL_ALG_SHA256  0x000Bu
#define KL_ALG_SHA384  0x000Cu
#define KL_ALG_SHA512  0x000Du
#define KL_ALG_SM3_256 0x0012u

struct kl_hash_alg {
        uint16_t id;
        const char *name;      /* "sha256" */
        const char *rust_name; /* "Sha256" */
        size_t digest_len;
        bool supported; /* we can compute it; sm3_256 is only known by name */
};

/* Any known algorithm (sm3_256 included), NULL if unknown or name is NULL. */
const struct kl_hash_alg *kl_hash_alg_by_id(uint16_t id);
const struct kl_hash_alg *kl_hash_alg_by_name(const char *name);

/* Supported algorithms only: TPM_ALG_ID <-> name; 0 / NULL otherwise. */
uint16_t kl_hash_alg_from_name(const char *name);
const char *kl_hash_alg_name(uint16_t id);
/* Digest size of a supported algorithm, 0 otherwise. */
size_t kl_hash_alg_digest_len(uint16_t id);

/* The i-th entry of the table, NULL past the end (for listings and tests). */
const struct kl_hash_alg *kl_hash_alg_at(size_t i);

/* Every known name, for messages; test_hash_alg checks it against the table. */
#define KL_HASH_ALG_NAMES "sha1, sha256, sha384, sha512 or sm3_256"

#endif
