/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The parts of request handling that the HTTP server does itself rather than
 * leave to libmicrohttpd, as pure functions (no socket, no library), so they
 * can be tested and fuzzed alone: percent-decoding of the path and query,
 * the Content-Length check, and the capped request body with a server-wide
 * memory budget shared by every connection.
 */
#ifndef KL_HTTP_REQUEST_H
#define KL_HTTP_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes %XX in place as libmicrohttpd would, except that "%00" stays
 * literal: a decoded NUL would silently cut the string short for every C
 * consumer ("/agents/id%00x" would become "id"). Returns the new length.
 */
size_t kl_http_unescape(char *s);

/* A Content-Length value: plain decimal only; false when NULL or anything else. */
bool kl_http_content_length(const char *v, unsigned long long *ret);

/*
 * Bytes of request bodies held by all connections together. A body grows
 * only while its new capacity fits under limit; otherwise the request gets a
 * 503, so many slow uploads cannot take the memory that one may use.
 */
struct kl_http_budget {
        atomic_size_t used;
        size_t limit;
};

enum kl_http_body_state {
        KL_HTTP_BODY_OK,
        KL_HTTP_BODY_TOO_LARGE, /* over max: answer 413 */
        KL_HTTP_BODY_BUSY,      /* over the budget: answer 503 */
        KL_HTTP_BODY_ABORT,     /* refused and still sending past the discard cap: close */
};

/* A chunked upload has no Content-Length to refuse up front: what comes past a
 * refusal is dropped, up to this much, so the answer can still be sent. */
#define KL_HTTP_DISCARD_LIMIT ((size_t)16 * 1024 * 1024)

struct kl_http_body {
        char *buf; /* NUL-terminated when not NULL; may hold NULs */
        size_t len;
        size_t cap;
        size_t discarded;
        enum kl_http_body_state state;
};

/*
 * Appends len bytes, keeping len <= max; a body over max or over the budget
 * is released and refused (state TOO_LARGE or BUSY), and later data only
 * counts against the discard cap. Returns the state.
 */
enum kl_http_body_state kl_http_body_append(struct kl_http_body *b, const char *data, size_t len,
                                            size_t max, struct kl_http_budget *budget);
/* Wipes (bodies may carry keys), frees and returns the memory to the budget. */
void kl_http_body_clear(struct kl_http_body *b, struct kl_http_budget *budget);

#endif
