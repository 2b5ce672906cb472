/* SPDX-License-Identifier: Apache-2.0 */
/* ZeroMQ PUB/SUB (see zeromq.h). */
#include "zeromq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "err.h"
#include "log.h"

struct kl_zmq_pub {
        void *ctx;
        void *sock;
};

struct kl_zmq_sub {
        void *ctx;
        void *sock;
        void *mon; /* PAIR receiving sock's disconnect events */
        char endpoint[300];
};

int kl_zmq_tcp_endpoint(const char *ip, uint16_t port, char *out, size_t out_len)
{
        int n = snprintf(out, out_len, strchr(ip, ':') != NULL ? "tcp://[%s]:%u" : "tcp://%s:%u",
                         ip, (unsigned)port);

        return n < 0 || (size_t)n >= out_len ? KL_ERR_TOO_LONG : 0;
}

const char *kl_zmq_strerror(void)
{
        return zmq_strerror(zmq_errno());
}

static bool is_v6(const char *endpoint)
{
        return strchr(endpoint, '[') != NULL;
}

int kl_zmq_pub_open(const char *endpoint, int linger_ms, struct kl_zmq_pub **ret)
{
        struct kl_zmq_pub *p = calloc(1, sizeof(*p));
        const int one = 1;

        if (p == NULL)
                return KL_ERR_NOMEM;
        if ((p->ctx = zmq_ctx_new()) == NULL || (p->sock = zmq_socket(p->ctx, ZMQ_PUB)) == NULL ||
            zmq_setsockopt(p->sock, ZMQ_LINGER, &linger_ms, sizeof(linger_ms)) != 0 ||
            (is_v6(endpoint) && zmq_setsockopt(p->sock, ZMQ_IPV6, &one, sizeof(one)) != 0) ||
            zmq_bind(p->sock, endpoint) != 0) {
                int e = zmq_errno();

                kl_zmq_pub_close(p);
                errno = e; /* zmq_errno() is errno */
                return KL_ERR_SYSTEM;
        }
        *ret = p;
        return 0;
}

int kl_zmq_pub_send(struct kl_zmq_pub *p, const void *data, size_t len)
{
        return zmq_send(p->sock, data, len, ZMQ_DONTWAIT) < 0 ? KL_ERR_SYSTEM : 0;
}

void kl_zmq_pub_close(struct kl_zmq_pub *p)
{
        if (p == NULL)
                return;
        if (p->sock != NULL)
                zmq_close(p->sock);
        if (p->ctx != NULL)
                zmq_ctx_term(p->ctx);
        free(p);
}

void kl_zmq_sub_close(struct kl_zmq_sub *s)
{
        if (s == NULL)
                return;
        if (s->mon != NULL)
                zmq_close(s->mon);
        if (s->sock != NULL)
                zmq_close(s->sock);
        if (s->ctx != NULL)
                zmq_ctx_term(s->ctx);
        free(s);
}

static int sub_options(void *sock, const struct kl_zmq_sub_opts *o)
{
        const int zero = 0, one = 1;

        /* subscribe to all: upstream's notices carry no topic prefix */
        if (zmq_setsockopt(sock, ZMQ_SUBSCRIBE, "", 0) != 0 ||
            zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &o->max_msg, sizeof(o->max_msg)) != 0 ||
            zmq_setsockopt(sock, ZMQ_RECONNECT_IVL, &o->reconnect_ms, sizeof(o->reconnect_ms)) !=
                0 ||
            zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &o->reconnect_max_ms,
                           sizeof(o->reconnect_max_ms)) != 0 ||
            zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
            (is_v6(o->endpoint) && zmq_setsockopt(sock, ZMQ_IPV6, &one, sizeof(one)) != 0))
                return KL_ERR_SYSTEM;
        return 0;
}

int kl_zmq_sub_open(const struct kl_zmq_sub_opts *o, struct kl_zmq_sub **ret)
{
        struct kl_zmq_sub *s = calloc(1, sizeof(*s));
        char mon_ep[64];
        int n;

        if (s == NULL)
                return KL_ERR_NOMEM;
        n = snprintf(s->endpoint, sizeof(s->endpoint), "%s", o->endpoint);
        if (n < 0 || (size_t)n >= sizeof(s->endpoint)) {
                free(s);
                return KL_ERR_TOO_LONG;
        }
        n = snprintf(mon_ep, sizeof(mon_ep), "inproc://kl-zmq-monitor-%p", (void *)s);
        if ((s->ctx = zmq_ctx_new()) == NULL || (s->sock = zmq_socket(s->ctx, ZMQ_SUB)) == NULL ||
            sub_options(s->sock, o) < 0 || n < 0 || (size_t)n >= sizeof(mon_ep) ||
            zmq_socket_monitor(s->sock, mon_ep, ZMQ_EVENT_DISCONNECTED) != 0 ||
            (s->mon = zmq_socket(s->ctx, ZMQ_PAIR)) == NULL || zmq_connect(s->mon, mon_ep) != 0 ||
            /* connect never waits for the publisher: ZeroMQ keeps retrying in the background */
            zmq_connect(s->sock, s->endpoint) != 0) {
                int e = zmq_errno();

                kl_zmq_sub_close(s);
                errno = e;
                return KL_ERR_SYSTEM;
        }
        *ret = s;
        return 0;
}

/* Reads every message waiting on the socket; false when the socket failed for good. */
static bool drain(struct kl_zmq_sub *s, kl_zmq_msg_cb cb, void *ctx)
{
        for (;;) {
                zmq_msg_t msg;
                int more = 0;
                size_t more_len = sizeof(more);
                bool multipart = false;

                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
                        int e = zmq_errno();

                        zmq_msg_close(&msg);
                        return e == EAGAIN || e == EINTR;
                }
                zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &more_len);
                while (more) {
                        /* the rest of a multi-part message arrives at once: discard it */
                        multipart = true;
                        zmq_msg_close(&msg);
                        zmq_msg_init(&msg);
                        if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0)
                                break;
                        more_len = sizeof(more);
                        zmq_getsockopt(s->sock, ZMQ_RCVMORE, &more, &more_len);
                }
                if (multipart)
                        log_warn("dropping a multi-part ZeroMQ message on %s: notices are one "
                                 "frame",
                                 s->endpoint);
                else
                        cb(ctx, zmq_msg_data(&msg), zmq_msg_size(&msg));
                zmq_msg_close(&msg);
        }
}

/* A disconnect event from the monitor: drop the (possibly dead) session, connect anew. */
static void on_monitor(struct kl_zmq_sub *s)
{
        bool disconnected = false;
        int more = 1;

        while (more) {
                zmq_msg_t msg;
                size_t more_len = sizeof(more);

                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, s->mon, ZMQ_DONTWAIT) < 0) {
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
                zmq_getsockopt(s->mon, ZMQ_RCVMORE, &more, &more_len);
                zmq_msg_close(&msg);
        }
        if (!disconnected)
                return;
        log_info("revocation publisher %s disconnected; connecting again", s->endpoint);
        (void)zmq_disconnect(s->sock, s->endpoint);
        if (zmq_connect(s->sock, s->endpoint) != 0)
                log_error("ZeroMQ connect %s: %s", s->endpoint, zmq_strerror(zmq_errno()));
}

int kl_zmq_sub_run(struct kl_zmq_sub *s, int stop_fd, kl_zmq_msg_cb cb, void *ctx)
{
        for (;;) {
                zmq_pollitem_t items[] = {
                    {.socket = s->sock, .events = ZMQ_POLLIN},
                    {.fd = stop_fd, .events = ZMQ_POLLIN},
                    {.socket = s->mon, .events = ZMQ_POLLIN},
                };

                if (zmq_poll(items, 3, -1) < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
                        return KL_ERR_SYSTEM;
                }
                if (items[1].revents & ZMQ_POLLIN)
                        return 0;
                if (items[2].revents & ZMQ_POLLIN)
                        on_monitor(s);
                if ((items[0].revents & ZMQ_POLLIN) && !drain(s, cb, ctx)) {
                        log_error("zmq_msg_recv: %s", zmq_strerror(zmq_errno()));
                        return KL_ERR_SYSTEM;
                }
        }
}
