/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The polling loop: one thread that asks every attested agent for an
 * integrity quote (Keylime agent API 2.x, GET /quotes/integrity) when it is
 * due, one agent after the other, checks it (verify.h) and writes the
 * outcome to the store. Runtime state that must not survive a re-add (NK,
 * clock, IMA replay position, negotiated version) lives here, keyed by the
 * record's generation.
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

/* Starts the thread; cfg strings must outlive the poller. */
int ver_poller_start(struct ver_store *store, const struct ver_poller_config *cfg,
                     struct ver_poller **ret);
/* Stops after the request in flight (bounded by timeout_ms) and joins. NULL-safe. */
void ver_poller_stop(struct ver_poller *p);

#endif
