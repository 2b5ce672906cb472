/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Service lifecycle helpers shared by the registrar and verifier stubs.
 * Signals are blocked before libmicrohttpd starts its threads and read with
 * sigwait(), so no handler ever runs in signal context.
 */
#include "service.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"

int kl_parse_host_port(const char *s, char *host, size_t host_len, uint16_t *ret_port)
{
        const char *colon;
        const char *h = s;
        size_t hlen;
        char *end = NULL;
        unsigned long port;

        if (s[0] == '[') {
                const char *close = strchr(s, ']');

                if (close == NULL || close[1] != ':')
                        return KL_ERR_INVAL;
                h = s + 1;
                hlen = (size_t)(close - h);
                colon = close + 1;
        } else {
                colon = strrchr(s, ':');
                if (colon == NULL)
                        return KL_ERR_INVAL;
                hlen = (size_t)(colon - s);
        }
        if (hlen == 0 || hlen >= host_len)
                return KL_ERR_INVAL;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        /* strtoul alone would take " 1", "+1" and "-1" */
        if (colon[1] < '0' || colon[1] > '9' || errno != 0 || *end != '\0' || port > 65535)
                return KL_ERR_INVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        *ret_port = (uint16_t)port;
        return 0;
}

int kl_write_port_file(const char *path, uint16_t port)
{
        char text[8];
        int n = snprintf(text, sizeof(text), "%u\n", (unsigned)port);

        if (n < 0 || (size_t)n >= sizeof(text))
                return KL_ERR_INTERNAL;
        return kl_file_write_atomic(path, text, (size_t)n, 0644);
}

int kl_signals_block(sigset_t *ret_mask)
{
        sigemptyset(ret_mask);
        sigaddset(ret_mask, SIGINT);
        sigaddset(ret_mask, SIGTERM);
        if (pthread_sigmask(SIG_BLOCK, ret_mask, NULL) != 0)
                return KL_ERR_SYSTEM;
        /* a peer that hangs up must cost a failed write, not the process */
        signal(SIGPIPE, SIG_IGN);
        return 0;
}

int kl_signals_wait(const sigset_t *mask)
{
        int sig = 0;

        for (;;) {
                if (sigwait(mask, &sig) != 0)
                        continue;
                if (sig == SIGINT || sig == SIGTERM)
                        return sig;
        }
}
