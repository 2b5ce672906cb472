/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The optional ZeroMQ subscriber for revocation notices
 * (enable_revocation_notifications): a SUB socket connected to the
 * verifier's PUB endpoint, subscribed to everything, read by one thread that
 * hands single-frame messages to a callback (the revocation worker's).
 * ZeroMQ reconnects on its own when the publisher restarts
 * (lib/net/zeromq.h).
 */
#ifndef AGENT_REVOCATION_LISTENER_H
#define AGENT_REVOCATION_LISTENER_H

#include <stdint.h>

#include <stddef.h>

struct revocation_listener;

/* Receives each single-frame message (data[0..len), valid during the call only). */
typedef void (*revocation_deliver_fn)(void *ctx, const char *data, size_t len);

#define REVOCATION_RECONNECT_MS     100
#define REVOCATION_RECONNECT_MAX_MS 5000

/*
 * Connects to tcp://ip:port (IPv6 literals allowed) and starts the thread,
 * which calls deliver(ctx, ...) for every message.
 */
int revocation_listener_start(const char *ip, uint16_t port, revocation_deliver_fn deliver,
                              void *ctx, struct revocation_listener **ret);
/* Wakes the thread through its eventfd, joins, closes the socket and context. NULL-safe. */
void revocation_listener_stop(struct revocation_listener *l);

#endif
