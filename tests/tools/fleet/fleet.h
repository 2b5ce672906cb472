/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_fleet: one process playing many Keylime agents (pull model) on loopback,
 * for the verifier's scale test and benchmarks. Each simulated agent has its
 * own 127.x.y.z address, software EK (ECC P-256) and AK (ECC P-256 or
 * RSA-2048), registers at a registrar through its real API, and answers
 * integrity quotes with real TPMS_ATTEST structures over a synthetic, growing
 * IMA log. Chosen agents go bad after a number of good quotes. Never installed.
 */
#ifndef KL_FLEET_H
#define KL_FLEET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "http_client.h"

#define FLEET_IP_MAX       16     /* "127.255.255.254" */
#define FLEET_LATE_BUCKETS 60001u /* 1 ms buckets up to 60 s; the last holds everything later */
#define FLEET_IMA_FILES    64u    /* distinct files the synthetic log cycles through */
#define FLEET_POLICY_PCR   15     /* the static PCR policy's one PCR */

enum fleet_bad {
        FLEET_GOOD = 0,
        FLEET_WRONG_PCR,   /* PCR 15 off the policy, quote consistent and signed */
        FLEET_BAD_SIG,     /* one bit of the signature flipped */
        FLEET_STALE_NONCE, /* quotes the previous request's nonce */
        FLEET_SILENT,      /* closes every connection without an answer */
        FLEET_BAD_MODES
};

struct fleet_agent {
        char uuid[37];
        char ip[FLEET_IP_MAX];
        enum fleet_bad bad;
        EVP_PKEY *ek;
        EVP_PKEY *ak;
        uint8_t *ak_public; /* marshalled TPM2B_PUBLIC */
        size_t ak_public_len;
        uint8_t ak_name[2 + 64];
        size_t ak_name_len;
        pthread_mutex_t lock;   /* what follows changes with each quote */
        uint64_t quotes;        /* integrity quotes answered */
        uint64_t quotes_before; /* of those, before every agent was added */
        uint64_t ima_entries;   /* lines in the log so far */
        uint8_t pcr10[32];      /* sha256 bank: PCR 10 after ima_entries lines */
        uint64_t clock_ms;      /* the simulated TPM clock */
        char prev_nonce[65];
        int64_t last_poll_ms; /* monotonic; 0 before the first quote */
        int64_t bad_since_ms; /* first bad answer (monotonic), 0 while good */
        int64_t flagged_ms;   /* when the verifier was seen to flag it, 0 before */
        char flag_state[64];  /* what the verifier said then */
        char flag_reason[256];
};

/* What every simulated agent shares. */
struct fleet {
        struct fleet_agent *agents;
        size_t n_agents;
        uint16_t port;          /* every agent listens on its own address, this port */
        unsigned interval_ms;   /* the verifier's interval, for lateness */
        unsigned bad_after;     /* good quotes before a bad agent goes bad */
        unsigned ima_growth;    /* IMA lines appended before each quote */
        char *nk_pem;           /* the NK public key every agent serves (PCR 16 binds it) */
        uint8_t pcr16[32];      /* H(0^32 || H(nk_pem)) */
        uint8_t pcr_policy[32]; /* PCR 15 of a good agent */
        char ima_lines[FLEET_IMA_FILES + 1][160]; /* [0] = boot_aggregate */
        uint8_t ima_extend[FLEET_IMA_FILES + 1][32];
        char boot_aggregate_hex[65];
        char file_digest_hex[FLEET_IMA_FILES][65];
        _Atomic int64_t
            measure_from_ms; /* lateness and bad answers start here (all agents added) */
        atomic_uint_fast64_t late[FLEET_LATE_BUCKETS];
        atomic_uint_fast64_t polls; /* integrity quotes answered, all agents */
        atomic_uint_fast64_t refused;
};

int64_t fleet_now_ms(void);

/* fleet_evidence.c: the synthetic IMA log and PCRs, the quote answers, the bad modes. */
int fleet_evidence_init(struct fleet *f);
void fleet_evidence_free(struct fleet *f);
/* The runtime policy (JSON) allowing exactly the synthetic log; caller frees. */
char *fleet_ima_policy(const struct fleet *f);
/* The static PCR policy (JSON) of the add request; caller frees. */
char *fleet_tpm_policy(const struct fleet *f);
const char *fleet_bad_name(enum fleet_bad b);
/* The agent at local address ip, or NULL. */
struct fleet_agent *fleet_find(struct fleet *f, const char *ip);
struct kl_http_request;
struct kl_http_reply;
/* The agent API of a simulated agent (the kl_http_handler; ctx = struct fleet). */
void fleet_serve(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply);

/* fleet_identity.c: keys, registration and activation at the registrar. */
int fleet_agent_keys(struct fleet_agent *a, bool rsa_ak);
void fleet_agent_clear(struct fleet_agent *a);
/* POST the identity, ActivateCredential in software, PUT the auth tag. */
int fleet_register(const struct fleet_agent *a, const char *registrar, const char *mtls_cert_pem,
                   uint16_t port, char *why, size_t why_len);

/* fleet_verifier.c: the verifier stub's REST API (add, status). */
struct fleet_verifier {
        const char *url; /* https://host:port */
        struct kl_http_tls tls;
};
int fleet_verifier_add(const struct fleet_verifier *v, const struct fleet *f,
                       const struct fleet_agent *a, const char *tpm_policy, const char *ima_policy,
                       char *why, size_t why_len);
/* operational_state and the failure reason ("" if none) of one agent. */
int fleet_verifier_status(const struct fleet_verifier *v, const struct fleet_agent *a, char *state,
                          size_t state_len, char *reason, size_t reason_len, int64_t *ret_count);

#endif
