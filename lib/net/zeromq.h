/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ZeroMQ PUB/SUB for revocation notices: the only file that includes zmq.h
 * (named zeromq.h so it cannot shadow it). Upstream's notices are one frame
 * with no topic, so the subscriber takes everything and hands on single-frame
 * messages only. Functions return 0 or KL_ERR_SYSTEM; kl_zmq_strerror()
 * says why the last call on this thread failed.
 */
#ifndef KL_ZEROMQ_H
#define KL_ZEROMQ_H

#include <stddef.h>
#include <stdint.h>

struct kl_zmq_pub;
struct kl_zmq_sub;

/* "tcp://ip:port", with brackets around an IPv6 literal; KL_ERR_TOO_LONG if it does not fit. */
int kl_zmq_tcp_endpoint(const char *ip, uint16_t port, char *out, size_t out_len);
const char *kl_zmq_strerror(void);

/*
 * Binds a PUB socket on endpoint (IPv6 when it holds '['). At close, what is
 * still queued gets up to linger_ms to leave.
 */
int kl_zmq_pub_open(const char *endpoint, int linger_ms, struct kl_zmq_pub **ret);
/* Queues one frame; never blocks (PUB drops what no subscriber takes). */
int kl_zmq_pub_send(struct kl_zmq_pub *p, const void *data, size_t len);
void kl_zmq_pub_close(struct kl_zmq_pub *p); /* NULL-safe */

struct kl_zmq_sub_opts {
        const char *endpoint;
        int64_t max_msg;      /* larger frames are dropped by ZeroMQ itself */
        int reconnect_ms;     /* first retry after a lost connection ... */
        int reconnect_max_ms; /* ... backing off up to this */
};

/* One single-frame message; data is valid during the call only. */
typedef void (*kl_zmq_msg_cb)(void *ctx, const void *data, size_t len);

/* Connects a SUB socket subscribed to everything; never waits for the publisher. */
int kl_zmq_sub_open(const struct kl_zmq_sub_opts *o, struct kl_zmq_sub **ret);
/*
 * Delivers every single-frame message to cb (multi-part ones are dropped
 * with a warning) until stop_fd becomes readable (0) or the socket fails
 * for good (KL_ERR_SYSTEM). After a disconnect it connects again itself:
 * libzmq ends a session for good after a protocol error such as an
 * oversized frame, which would otherwise silence the subscriber forever.
 */
int kl_zmq_sub_run(struct kl_zmq_sub *s, int stop_fd, kl_zmq_msg_cb cb, void *ctx);
void kl_zmq_sub_close(struct kl_zmq_sub *s); /* NULL-safe */

#endif
