/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Many HTTP(S) requests in flight on one thread, on libcurl's multi
 * interface. A kl_http_peer is one server the caller asks again and again
 * (the verifier: one agent): its easy handle and TLS settings persist, and
 * its connection stays open in the multi's cache between requests, so
 * HTTP/1.1 keep-alive reuses it and the TLS handshake happens only when it
 * (re)connects. A peer has at most one request in flight. Reply bodies are
 * capped (KL_HTTP_CLIENT_MAX_BODY) as in http_client.h.
 *
 * Everything but kl_http_multi_wakeup runs on the thread that owns the multi.
 */
#ifndef KL_HTTP_MULTI_H
#define KL_HTTP_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include "http_client.h"

struct kl_http_multi;
struct kl_http_peer;

/* What a finished request hands its done callback; resp is the callee's to clear. */
struct kl_http_multi_done {
        struct kl_http_peer *peer;
        void *user; /* as given to kl_http_peer_start */
        int result; /* 0 (any HTTP status: see resp.status), KL_ERR_HTTP, KL_ERR_TOO_LONG */
        bool new_connection; /* the request opened a connection (and did a TLS handshake) */
        struct kl_http_response resp; /* body and status on success, error after KL_ERR_HTTP */
};

typedef void (*kl_http_multi_done_fn)(void *ctx, struct kl_http_multi_done *d);

/* max_connections: idle connections kept for reuse (one per peer is the aim). */
int kl_http_multi_new(size_t max_connections, struct kl_http_multi **ret);
/* NULL-safe; every peer must have been freed. */
void kl_http_multi_free(struct kl_http_multi *m);

/*
 * A peer at base_url ("https://host:port", no trailing slash); tls NULL =
 * plain HTTP. Strings are copied. The caller owns *ret (kl_http_peer_free).
 */
int kl_http_peer_new(struct kl_http_multi *m, const char *base_url, const struct kl_http_tls *tls,
                     struct kl_http_peer **ret);
/* NULL-safe; abandons its request in flight (no done callback for it). */
void kl_http_peer_free(struct kl_http_peer *p);

/*
 * Starts method base_url+path; body (NULL = none) is copied and sent as
 * application/json. KL_ERR_INTERNAL while the peer's previous request runs.
 * The request ends in a done callback from kl_http_multi_run.
 */
int kl_http_peer_start(struct kl_http_peer *p, const char *method, const char *path,
                       const char *body, long timeout_ms, void *user);
bool kl_http_peer_busy(const struct kl_http_peer *p);

/*
 * Waits up to wait_ms for network activity or a wakeup, moves every
 * transfer on, and calls done for each request that finished (done may
 * start new requests, on that peer too, or free peers).
 */
int kl_http_multi_run(struct kl_http_multi *m, int wait_ms, kl_http_multi_done_fn done, void *ctx);
/* Makes a kl_http_multi_run waiting now (or next) return early; any thread. */
void kl_http_multi_wakeup(struct kl_http_multi *m);
size_t kl_http_multi_in_flight(const struct kl_http_multi *m);

#endif
