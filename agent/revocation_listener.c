/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ZeroMQ SUB listener for revocation notices (see revocation_listener.h,
 * proto-docs/revocation.md §4). One thread runs the subscriber
 * (lib/net/zeromq.h) until stop() writes the eventfd, so shutdown never
 * waits for a timeout. ZeroMQ itself drops frames above KL_REVOCATION_MAX;
 * everything that arrives goes to the callback; the worker behind it
 * verifies.
 */
#include "revocation_listener.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
/* the notice format's frame cap lives in lib/crypto/revocation_notice.h (same base name) */
#include "revocation_notice.h"
#include "zeromq.h"

struct revocation_listener {
        struct kl_zmq_sub *sub;
        int efd;
        pthread_t thread;
        bool started;
        revocation_deliver_fn deliver;
        void *ctx;
};

static void on_message(void *arg, const void *data, size_t len)
{
        struct revocation_listener *l = arg;

        l->deliver(l->ctx, data, len);
}

static void *listen_run(void *arg)
{
        struct revocation_listener *l = arg;

        if (kl_zmq_sub_run(l->sub, l->efd, on_message, l) < 0)
                log_error("revocation listener stops");
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
        kl_zmq_sub_close(l->sub);
        if (l->efd >= 0)
                close(l->efd);
        free(l);
}

int revocation_listener_start(const char *ip, uint16_t port, revocation_deliver_fn deliver,
                              void *ctx, struct revocation_listener **ret)
{
        struct revocation_listener *l = calloc(1, sizeof(*l));
        char endpoint[300];
        struct kl_zmq_sub_opts so = {
            .endpoint = endpoint,
            .max_msg = KL_REVOCATION_MAX,
            .reconnect_ms = REVOCATION_RECONNECT_MS,
            .reconnect_max_ms = REVOCATION_RECONNECT_MAX_MS,
        };
        int r = KL_ERR_NOMEM;

        if (l == NULL)
                return r;
        l->efd = -1;
        l->deliver = deliver;
        l->ctx = ctx;
        if ((r = kl_zmq_tcp_endpoint(ip, port, endpoint, sizeof(endpoint))) < 0)
                goto out;
        r = KL_ERR_SYSTEM;
        if ((l->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
                goto out;
        if ((r = kl_zmq_sub_open(&so, &l->sub)) < 0) {
                log_error("ZeroMQ SUB on %s: %s", endpoint, kl_zmq_strerror());
                goto out;
        }
        r = KL_ERR_SYSTEM;
        if (pthread_create(&l->thread, NULL, listen_run, l) != 0)
                goto out;
        l->started = true;
        *ret = l;
        l = NULL;
        r = 0;
out:
        revocation_listener_stop(l);
        return r;
}
