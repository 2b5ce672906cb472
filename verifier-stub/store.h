/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's agent table in SQLite, through lib/store/db.h (only lib/store/db.c
 * includes sqlite3.h). One connection behind a mutex: the HTTP worker threads
 * and the poller thread call in concurrently. The table is the source of
 * truth for what to attest and how it went. Of the poller's runtime state,
 * the last good quote's clock and IMA replay position are kept too, so a
 * restarted verifier goes on where it stopped (nonce and NK start afresh).
 */
#ifndef VER_STORE_H
#define VER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ima.h"
#include "quote.h"

struct ver_store; /* opaque */

struct ver_agent {
        char *agent_id;
        char *ip;
        int64_t port;
        uint8_t *aik_tpm; /* marshalled TPM2B_PUBLIC */
        size_t aik_tpm_len;
        char *mtls_cert;  /* PEM; NULL or "disabled" = plain HTTP */
        char *tpm_policy; /* JSON text, never NULL in a stored record */
        char *ima_policy; /* JSON text or NULL */
        char *mb_policy;  /* JSON text or NULL */
        int64_t gen;      /* bumped by every add: the poller restarts an agent it sees change */
        char *state;      /* operational_state name */
        int64_t attestation_count;
        char *last_failure;   /* NULL = none */
        int64_t last_success; /* epoch seconds, 0 = never */
        char *api_version;    /* negotiated with the agent; NULL = not yet */
        char *v;              /* base64 of the tenant's V share; NULL = none (secret) */
};

int ver_store_open(const char *path, struct ver_store **ret);
void ver_store_close(struct ver_store *s); /* NULL-safe */

/* KL_ERR_NOT_FOUND when absent; the caller owns *ret (ver_agent_free). */
int ver_store_get(struct ver_store *s, const char *agent_id, struct ver_agent **ret);
/* Inserts or replaces: state "Start", counters cleared, a new gen. */
int ver_store_add(struct ver_store *s, const struct ver_agent *a);
int ver_store_delete(struct ver_store *s, const char *agent_id);
/* Status written by the poller; ignored (KL_ERR_NOT_FOUND) when the record changed gen. */
int ver_store_set_status(struct ver_store *s, const char *agent_id, int64_t gen, const char *state,
                         int64_t attestation_count, const char *last_failure, int64_t last_success,
                         const char *api_version);
/*
 * What the agent's last good quote proved, replaced by every good quote and
 * dropped with the agent: its PCR values (one bank, the quote's selection),
 * kept for `seal`; its TPM clock, so a restarted verifier still refuses an
 * older quote; and the IMA replay position (entries and running PCR 10), so it
 * asks for the next entry instead of the whole list.
 */
struct ver_last_good {
        int64_t at; /* epoch seconds of the check */
        struct kl_pcr_set pcrs;
        uint64_t clock;
        uint32_t reset_count, restart_count;
        bool has_ima; /* false: no IMA policy, ima unused */
        struct kl_ima_replay ima;
};
int ver_store_set_last_good(struct ver_store *s, const char *agent_id,
                            const struct ver_last_good *g);
/* KL_ERR_NOT_FOUND before the first good quote. */
int ver_store_get_last_good(struct ver_store *s, const char *agent_id, struct ver_last_good *ret);
/*
 * One poller write: what ver_store_set_status writes, and (last_good not
 * NULL) what ver_store_set_last_good writes. A record re-added meanwhile (other
 * gen) is left alone.
 */
struct ver_status_update {
        char agent_id[81];
        int64_t gen;
        const char *state; /* static text */
        int64_t attestation_count;
        char *last_failure; /* NULL = none */
        int64_t last_success;
        char api_version[8]; /* "" = not negotiated */
        struct ver_last_good *last_good;
};
/* Writes n updates in order in one transaction: one commit for a whole batch of polls. */
int ver_store_write_batch(struct ver_store *s, const struct ver_status_update *u, size_t n);

/* Bumped by every add and delete: the poller re-reads the table only when it moved. */
uint64_t ver_store_changes(struct ver_store *s);
struct ver_store_gen {
        char *agent_id;
        int64_t gen;
};
/* Every agent ID with its gen, sorted by ID (strcmp order); free with ver_store_gens_free. */
int ver_store_list_gens(struct ver_store *s, struct ver_store_gen **ret, size_t *ret_count);
void ver_store_gens_free(struct ver_store_gen *g, size_t n); /* NULL-safe */

/* All agent IDs in insertion order; caller frees each string and the array. */
int ver_store_list(struct ver_store *s, char ***ret_ids, size_t *ret_count);

void ver_agent_free(struct ver_agent *a); /* NULL-safe */

#endif
