/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The running agent's state, shared by the API handlers. The TPM and the IMA
 * reader are not thread-safe, so every use of them holds tpm_lock; the rest
 * is read-only once the server starts.
 */
#ifndef AGENT_AGENT_H
#define AGENT_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "crypto.h"
#include "http_server.h"
#include "identity.h"

struct kl_tpm;
struct kl_ima_log;
struct keys_state;
struct payload_worker;
struct revocation_worker;
struct revocation_listener;
struct certified_key;

#define AGENT_MAX_VERSIONS 8

struct agent {
        const struct kl_agent_config *cfg;
        char agent_id[AGENT_ID_MAX + 1];

        pthread_mutex_t tpm_lock; /* guards tpm and ima */
        atomic_bool tpm_lost;     /* set once a TPM command found the TPM gone: exit non-zero */
        struct kl_tpm *tpm;
        struct kl_ima_log *ima; /* NULL when the IMA log is not available */
        int mb_fd;              /* UEFI event log, opened while root; -1 when absent */

        EVP_PKEY *nk;                         /* payload transport key (RSA-2048) */
        char *nk_pem;                         /* its public key as served in "pubkey" */
        uint8_t nk_digest[KL_MAX_DIGEST_LEN]; /* H_hash_alg(nk_pem), extended into PCR 16 */
        size_t nk_digest_len;

        const char *versions[AGENT_MAX_VERSIONS]; /* enabled API versions, ascending */
        size_t n_versions;

        /* U/V secret delivery (keys.c, payload.c); both thread-safe */
        struct keys_state *keys;
        struct payload_worker *payload; /* NULL: payloads are not processed */
        bool payload_allowed;           /* mTLS on, or enable_insecure_payload */

        /* certified_server_key (tls_key.c): the TLS key in the TPM, or NULL */
        struct certified_key *tls_key;
        struct kl_http_tls_signer tls_signer;

        /* revocation notices (revocation.c); the worker is thread-safe */
        struct revocation_worker *revocation;
        struct revocation_listener *revocation_listener; /* NULL: ZeroMQ off */
};

#endif
