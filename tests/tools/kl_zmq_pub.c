/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_zmq_pub: a tiny ZeroMQ publisher for the revocation tests. Binds a PUB
 * socket on ENDPOINT, waits for subscribers to connect (PUB/SUB drops what
 * is sent before a subscriber is there), then sends the bytes of FILE as one
 * frame COUNT times, DELAY_MS apart. Lets tests send crafted frames
 * (forged, truncated, huge, not JSON) to an agent's revocation listener.
 *
 * Usage: kl_zmq_pub ENDPOINT FILE [COUNT [DELAY_MS [WAIT_MS]]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "fileio.h"
#include "zeromq.h"

#define FILE_MAX (64u << 20)

static void sleep_ms(unsigned long ms)
{
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
}

static int parse_ul(const char *s, unsigned long max, unsigned long *ret)
{
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
                return -1;
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        unsigned long count = 1, delay = 100, wait = 1000;
        struct kl_zmq_pub *pub = NULL;
        char *data = NULL;
        size_t len = 0;
        int status = 1;

        if (argc < 3 || argc > 6 || (argc > 3 && parse_ul(argv[3], 100000, &count) < 0) ||
            (argc > 4 && parse_ul(argv[4], 60000, &delay) < 0) ||
            (argc > 5 && parse_ul(argv[5], 60000, &wait) < 0)) {
                fprintf(stderr, "usage: kl_zmq_pub ENDPOINT FILE [COUNT [DELAY_MS [WAIT_MS]]]\n");
                return 2;
        }
        if (kl_file_read(argv[2], FILE_MAX, &data, &len) < 0) {
                fprintf(stderr, "kl_zmq_pub: cannot read %s\n", argv[2]);
                return 1;
        }
        if (kl_zmq_pub_open(argv[1], 2000, &pub) < 0) {
                fprintf(stderr, "kl_zmq_pub: %s: %s\n", argv[1], kl_zmq_strerror());
                goto out;
        }
        sleep_ms(wait);
        for (unsigned long i = 0; i < count; i++) {
                if (i > 0)
                        sleep_ms(delay);
                if (kl_zmq_pub_send(pub, data, len) < 0) {
                        fprintf(stderr, "kl_zmq_pub: send: %s\n", kl_zmq_strerror());
                        goto out;
                }
        }
        status = 0;
out:
        kl_zmq_pub_close(pub);
        free(data);
        return status;
}
