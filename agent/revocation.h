/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation notices on the agent (proto-docs/revocation.md): the REST
 * route POST /v2.x/notifications/revocation and the worker thread that both
 * channels (REST and the ZeroMQ listener) hand notices to. The worker checks
 * the signature against the revocation certificate first and runs the
 * revocation actions (actions.h) only for a notice that verifies and is
 * admitted (revocation_replay.h: this agent, recent, not seen before).
 * Nothing a peer sends is logged unbounded: drops are rate-limited. Talks to
 * the ZeroMQ listener only through its start/stop and a delivery callback.
 */
#ifndef AGENT_REVOCATION_H
#define AGENT_REVOCATION_H

#include <stdatomic.h>
#include <stddef.h>

#include "actions.h"
#include "revocation_replay.h"

struct agent;
struct api_call;
struct kl_http_reply;

#define REVOCATION_QUEUE_MAX 8 /* notices waiting for the worker; more are dropped */

struct revocation_opts {
        const char *cert_path; /* revocation_cert, read for every notice */
        const char *agent_id;  /* this agent: notices for others are dropped */
        struct actions_opts actions;
};

/*
 * Verifies and acts on one body (data[0..len)). KL_ERR_NOT_FOUND when the
 * certificate is missing, KL_ERR_VERIFY for a bad signature or a certificate
 * outside its validity dates, KL_ERR_INVAL for a malformed body or an event
 * that is not for this agent or not recent, KL_ERR_EXISTS for an event in
 * seen (revocation_replay.h); 0 once the actions ran (failures inside are
 * logged). Synchronous: the worker's job, exported for tests.
 */
int revocation_process(const struct revocation_opts *o, struct revocation_seen *seen,
                       const char *data, size_t len, const atomic_bool *cancel);

struct revocation_worker;

/* o's strings must outlive the worker. */
int revocation_worker_start(const struct revocation_opts *o, struct revocation_worker **ret);
/* Copies data and queues it; KL_ERR_TOO_LONG when the queue is full (dropped). */
int revocation_worker_submit(struct revocation_worker *w, const char *data, size_t len,
                             const char *channel);
/* Kills a running action, joins, drops what is queued. NULL-safe. */
void revocation_worker_stop(struct revocation_worker *w);

/*
 * Starts the worker and, with enable_revocation_notifications, the ZeroMQ
 * listener for agent a (stored in a); secure_dir is the payload tmpfs. Stop
 * with revocation_agent_stop (safe on a half-started agent).
 */
int revocation_agent_start(struct agent *a, const char *secure_dir);
void revocation_agent_stop(struct agent *a);

/* POST /v2.x/notifications/revocation {"msg", "signature"}: 200 at once, acts later. */
void api_notifications_revocation(const struct api_call *c, struct kl_http_reply *reply);

#endif
