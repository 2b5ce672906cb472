/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ZeroMQ SUB listener for revocation notices (see revocation_listener.h,
 * proto-docs/revocation.md §4). One thread polls the socket and an eventfd
 * that stop() writes, so shutdown never waits for a timeout. ZeroMQ itself
 * drops frames above ZMQ_MAXMSGSIZE (it closes that connection and
 * reconnects); multi-part messages are not upstream's format and are dropped
 * whole here. Everything that arrives goes to the callback; the worker behind it verifies.
 *
 * libzmq reconnects after a connection error but ends the session for good
 * after a protocol error, and an oversized frame is one: a single huge frame
 * would silence the listener forever. So the thread watches the socket's
 * disconnect events and connects again itself.
 */
#include "revocation_listener.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
/* the notice format's frame cap lives in lib/crypto/revocation_notice.h (same base name) */
#include "revocation_notice.h"

struct revocation_listener {
        void *ctx;
        void *sub;
        void *mon; /* PAIR receiving sub's disconnect events */
        int efd;
        pthread_t thread;
        bool started;
        revocation_deliver_fn deliver;
        void *deliver_ctx;
        char endpoint[300];
};

/* Reads every message waiting on the socket; false when the socket failed for good. */
static bool drain(struct revocation_listener *l)
{
        for (;;) {
                zmq_msg_t msg;
                int more = 0;
                size_t more_len = sizeof(more);
                bool multipart = false;

                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, l->sub, ZMQ_DONTWAIT) < 0) {
                        int e = zmq_errno();

                        zmq_msg_close(&msg);
                        return e == EAGAIN || e == EINTR;
                }
                zmq_getsockopt(l->sub, ZMQ_RCVMORE, &more, &more_len);
                while (more) {
                        /* the rest of a multi-part message arrives at once: discard it */
                        multipart = true;
                        zmq_msg_close(&msg);
                        zmq_msg_init(&msg);
                        if (zmq_msg_recv(&msg, l->sub, ZMQ_DONTWAIT) < 0)
                                break;
                        more_len = sizeof(more);
                        zmq_getsockopt(l->sub, ZMQ_RCVMORE, &more, &more_len);
                }
                if (multipart)
                        log_warn("dropping a multi-part ZeroMQ message on %s: notices are one "
                                 "frame",
                                 l->endpoint);
                else
                        l->deliver(l->deliver_ctx, zmq_msg_data(&msg), zmq_msg_size(&msg));
                zmq_msg_close(&msg);
        }
}

/* A disconnect event from the monitor: drop the (possibly dead) session, connect anew. */
static void on_monitor(struct revocation_listener *l)
{
        bool disconnected = false;
        int more = 1;

        while (more) {
                zmq_msg_t msg;
                size_t more_len = sizeof(more);

                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, l->mon, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&msg);
                        break;
                }
                /* first frame: 16-bit event number, then a 32-bit value */
                if (zmq_msg_size(&msg) >= 2) {
                        uint16_t ev;

                        memcpy(&ev, zmq_msg_data(&msg), sizeof(ev));
                        if (ev == ZMQ_EVENT_DISCONNECTED)
                                disconnected = true;
                }
                zmq_getsockopt(l->mon, ZMQ_RCVMORE, &more, &more_len);
                zmq_msg_close(&msg);
        }
        if (!disconnected)
                return;
        log_info("revocation publisher %s disconnected; connecting again", l->endpoint);
        (void)zmq_disconnect(l->sub, l->endpoint);
        if (zmq_connect(l->sub, l->endpoint) != 0)
                log_error("ZeroMQ connect %s: %s", l->endpoint, zmq_strerror(zmq_errno()));
}

static void *listen_run(void *arg)
{
        struct revocation_listener *l = arg;

        for (;;) {
                zmq_pollitem_t items[] = {
                    {.socket = l->sub, .events = ZMQ_POLLIN},
                    {.fd = l->efd, .events = ZMQ_POLLIN},
                    {.socket = l->mon, .events = ZMQ_POLLIN},
                };

                if (zmq_poll(items, 3, -1) < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        log_error("zmq_poll: %s; revocation listener stops",
                                  zmq_strerror(zmq_errno()));
                        break;
                }
                if (items[1].revents & ZMQ_POLLIN)
                        break;
                if (items[2].revents & ZMQ_POLLIN)
                        on_monitor(l);
                if ((items[0].revents & ZMQ_POLLIN) && !drain(l)) {
                        log_error("zmq_msg_recv: %s; revocation listener stops",
                                  zmq_strerror(zmq_errno()));
                        break;
                }
        }
        return NULL;
}

void revocation_listener_stop(struct revocation_listener *l)
{
        if (l == NULL)
                return;
        if (l->started) {
                uint64_t one = 1;

                if (write(l->efd, &one, sizeof(one)) != sizeof(one))
                        log_warn("cannot wake the revocation listener: %s", strerror(errno));
                pthread_join(l->thread, NULL);
        }
        if (l->mon != NULL)
                zmq_close(l->mon);
        if (l->sub != NULL)
                zmq_close(l->sub);
        if (l->ctx != NULL)
                zmq_ctx_term(l->ctx);
        if (l->efd >= 0)
                close(l->efd);
        free(l);
}

int revocation_listener_start(const char *ip, uint16_t port, revocation_deliver_fn deliver,
                              void *ctx, struct revocation_listener **ret)
{
        struct revocation_listener *l = calloc(1, sizeof(*l));
        const int64_t max_size = KL_REVOCATION_MAX;
        const int reconnect = REVOCATION_RECONNECT_MS, reconnect_max = REVOCATION_RECONNECT_MAX_MS;
        const int zero = 0, one = 1;
        bool v6 = strchr(ip, ':') != NULL;
        char mon_ep[64];
        int n, r = KL_ERR_NOMEM;

        if (l == NULL)
                return r;
        l->efd = -1;
        l->deliver = deliver;
        l->deliver_ctx = ctx;
        r = KL_ERR_TOO_LONG;
        n = snprintf(l->endpoint, sizeof(l->endpoint), v6 ? "tcp://[%s]:%u" : "tcp://%s:%u", ip,
                     (unsigned)port);
        if (n < 0 || (size_t)n >= sizeof(l->endpoint))
                goto out;
        r = KL_ERR_SYSTEM;
        if ((l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
                goto out;
        if ((l->ctx = zmq_ctx_new()) == NULL || (l->sub = zmq_socket(l->ctx, ZMQ_SUB)) == NULL)
                goto zmq_fail;
        /* subscribe to all: upstream's notices carry no topic prefix */
        if (zmq_setsockopt(l->sub, ZMQ_SUBSCRIBE, "", 0) != 0 ||
            zmq_setsockopt(l->sub, ZMQ_MAXMSGSIZE, &max_size, sizeof(max_size)) != 0 ||
            zmq_setsockopt(l->sub, ZMQ_RECONNECT_IVL, &reconnect, sizeof(reconnect)) != 0 ||
            zmq_setsockopt(l->sub, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof(reconnect_max)) !=
                0 ||
            zmq_setsockopt(l->sub, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
            (v6 && zmq_setsockopt(l->sub, ZMQ_IPV6, &one, sizeof(one)) != 0))
                goto zmq_fail;
        n = snprintf(mon_ep, sizeof(mon_ep), "inproc://revocation-monitor-%p", (void *)l);
        if (n < 0 || (size_t)n >= sizeof(mon_ep) ||
            zmq_socket_monitor(l->sub, mon_ep, ZMQ_EVENT_DISCONNECTED) != 0 ||
            (l->mon = zmq_socket(l->ctx, ZMQ_PAIR)) == NULL || zmq_connect(l->mon, mon_ep) != 0)
                goto zmq_fail;
        /* connect never waits for the publisher: ZeroMQ keeps retrying in the background */
        if (zmq_connect(l->sub, l->endpoint) != 0)
                goto zmq_fail;
        if (pthread_create(&l->thread, NULL, listen_run, l) != 0)
                goto out;
        l->started = true;
        *ret = l;
        l = NULL;
        r = 0;
        goto out;
zmq_fail:
        log_error("ZeroMQ SUB on %s: %s", l->endpoint, zmq_strerror(zmq_errno()));
        r = KL_ERR_SYSTEM;
out:
        revocation_listener_stop(l);
        return r;
}
