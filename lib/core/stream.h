/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A byte source read piece by piece, for bodies too large to hold in memory:
 * the IMA list a verifier asks for from entry 0, wrapped in its JSON answer
 * (json_stream.h), sent by the HTTP server (http_server.h). Whoever holds a
 * kl_stream owns it and ends it with kl_stream_close, also when it was never
 * read to the end.
 */
#ifndef KL_STREAM_H
#define KL_STREAM_H

#include <stddef.h>
#include <sys/types.h>

struct kl_stream {
        /*
         * Writes the next bytes (at most max, max > 0) into buf: how many (> 0),
         * 0 once the source is exhausted, or a negative KL_ERR_* when it cannot
         * go on; after an error the stream must not be read again.
         */
        ssize_t (*read)(void *cls, char *buf, size_t max);
        void (*free)(void *cls); /* releases cls; NULL when there is nothing to release */
        void *cls;
};

/* Releases the source and empties s; NULL-safe, and safe on an empty stream. */
static inline void kl_stream_close(struct kl_stream *s)
{
        if (s != NULL && s->free != NULL)
                s->free(s->cls);
        if (s != NULL)
                *s = (struct kl_stream){0};
}

#endif
