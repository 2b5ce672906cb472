/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation notices from the verifier stub (proto-docs/revocation.md): when
 * the poller moves an agent to "Invalid Quote", build upstream's event,
 * sign it with the revocation key (RSA-PSS, lib/crypto/revocation_notice.h), publish it as
 * one frame on a ZeroMQ PUB socket bound at start-up (lib/net/zeromq.h),
 * and (optionally) POST it to every agent in the store, like upstream's
 * "agent" notifier.
 */
#ifndef VER_NOTIFIER_H
#define VER_NOTIFIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct ver_store;
struct ver_notifier;

#define VER_NOTIFIER_DEFAULT_PUB "tcp://127.0.0.1:8992"
#define VER_NOTIFIER_QUEUE_MAX   16 /* REST fan-outs waiting; more are dropped */

struct ver_notifier_config {
        const char *pub_endpoint; /* ZeroMQ bind endpoint; NULL or "" = no ZeroMQ */
        bool pub_optional;        /* a bind failure is logged, not fatal (the default) */
        const char *key_file;     /* revocation private key (PEM); NULL = unsigned notices */
        const char *cert_file;    /* its certificate; checked against the key when given */
        bool rest;                /* also POST /v{ver}/notifications/revocation to agents */
        const char *client_cert;  /* mTLS towards agents, as the poller */
        const char *client_key;
        long timeout_ms;     /* per REST request */
        const char *tmp_dir; /* private directory for pinned agent certificates */
};

/* The event (msg) fields; strings are copied. */
struct ver_revocation_event {
        const char *agent_id;
        const char *ip; /* NULL = null */
        int64_t port;   /* <= 0 = null */
        const char *tpm_policy;
        const char *meta_data; /* NULL = "{}" */
        const char *event_id;
        const char *severity_label;
        const char *reason; /* becomes context {"message": reason} */
        time_t when;
};

/* Loads the key, binds the PUB socket, starts the REST thread. Logs its errors. */
int ver_notifier_start(struct ver_store *store, const struct ver_notifier_config *cfg,
                       struct ver_notifier **ret);
/* Lets queued REST notices finish (bounded by timeout_ms each), closes ZeroMQ. NULL-safe. */
void ver_notifier_stop(struct ver_notifier *n);

/*
 * Called by the poller (one thread) when agent_id failed attestation for
 * reason why: reads the agent's record, publishes and queues the REST fan-out.
 */
int ver_notifier_revoke(struct ver_notifier *n, const char *agent_id, const char *why);

/* "pcr_validation.invalid_pcr_<N>", "measured_boot.invalid_pcr_<N>", "ima.invalid_entry"
 * or "quote_validation.quote_validation" from the poller's reason text. */
void ver_notifier_event_id(const char *why, char *buf, size_t len);

/* upstream's msg JSON text for ev; caller frees. Pure, for tests. */
int ver_notifier_build_msg(const struct ver_revocation_event *ev, char **ret);

#endif
