/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pull-mode attestation: asks every attested agent for an integrity quote
 * (Keylime agent API 2.x, GET /quotes/integrity) when it is due, checks it
 * (verify.h) and writes the outcome to the store. Event driven: one loop
 * thread keeps many requests in flight on kept-alive connections (one per
 * agent), a worker pool sized to the cores checks the answers, and states
 * reach SQLite in batched transactions (poller.c). Runtime state that must
 * not survive a re-add (NK, negotiated version, connection) lives here,
 * keyed by the record's generation.
 */
#ifndef VER_POLLER_H
#define VER_POLLER_H

struct ver_store;
struct ver_notifier;
struct ver_poller;

struct ver_poller_config {
        unsigned interval_ms;    /* between good quotes of one agent */
        unsigned max_retries;    /* for 408, 500 and transport errors before "Failed" */
        long timeout_ms;         /* per HTTP request */
        const char *client_cert; /* PEM file presented to agents (mTLS) */
        const char *client_key;
        const char *tmp_dir;           /* private directory for the agents' pinned certificates */
        struct ver_notifier *notifier; /* revocation notices; NULL = none */
};

/* Starts the threads (raising the fd limit to its hard limit); cfg strings must outlive it. */
int ver_poller_start(struct ver_store *store, const struct ver_poller_config *cfg,
                     struct ver_poller **ret);
/* Abandons the requests in flight, finishes the checks under way, writes the last batch. NULL-safe.
 */
void ver_poller_stop(struct ver_poller *p);

#endif
