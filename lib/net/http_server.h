/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) server on libmicrohttpd; the only module that includes
 * microhttpd.h. It collects each request body up to a cap (413 beyond it),
 * then calls one handler with the whole request; the handler fills a reply,
 * whose body is a buffer or a stream read while it is sent.
 * With tls.client_ca_pem set, a connection without a client certificate
 * that verifies against that CA is refused before any handler runs (mTLS).
 * A connection's later requests reuse its verification while the same
 * certificate stays valid, re-verifying the chain at least once a minute.
 * Connection count, per-IP count, idle timeout, per-connection memory and
 * the memory of all request bodies together are bounded so slow clients
 * cannot starve the service (503 when the bodies in flight would pass it).
 * TLS is 1.2 or 1.3 with AEAD ciphers only; a client certificate must also
 * be valid now and, where it limits its use, allow TLS client signing.
 */
#ifndef KL_HTTP_SERVER_H
#define KL_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "stream.h"

struct kl_http_server;
struct kl_http_request; /* opaque; valid during the handler call only */

struct kl_http_reply {
        int status;
        char *body; /* heap; freed by the server after sending; NULL = empty */
        /*
         * Instead of body (when .read is set; body must be NULL): read in
         * pieces of at most KL_HTTP_STREAM_PIECE bytes while they are sent, with
         * chunked transfer encoding, so memory does not grow with the length.
         * A read error closes the connection before the last chunk, so the
         * client sees a broken answer, never a short one. The server closes it.
         */
        struct kl_stream stream;
        const char *content_type; /* NULL = "application/json" */
        const char *allow;        /* Allow header (for 405), NULL = none */
        char location[256];       /* Location header (for 201); "" = none */
        unsigned retry_after;     /* Retry-After seconds (for 429, 503); 0 = none */
        bool close;               /* close the connection without any answer (simulated faults) */
};

#define KL_HTTP_STREAM_PIECE (32u * 1024u)

typedef void (*kl_http_handler)(void *ctx, const struct kl_http_request *req,
                                struct kl_http_reply *reply);

/*
 * A TLS server key that never leaves its holder (a TPM): the server hands
 * sign a SHA-256 digest of what the handshake signs and sends what it
 * returns: a DER ECDSA-Sig-Value (ecc) or the RSA signature bytes.
 */
enum kl_tls_sign_scheme { KL_TLS_SIGN_ECDSA, KL_TLS_SIGN_RSA_PSS, KL_TLS_SIGN_RSA_PKCS1 };
struct kl_http_tls_signer {
        bool ecc; /* P-256; else RSA of rsa_bits */
        unsigned rsa_bits;
        int (*sign)(void *ctx, enum kl_tls_sign_scheme scheme, const uint8_t digest[32],
                    uint8_t **ret_sig, size_t *ret_len);
        void *ctx;
};

struct kl_http_server_options {
        const char *host;          /* bind address (IPv4/IPv6 literal or name); NULL = any */
        uint16_t port;             /* 0 = pick a free port (see kl_http_server_port) */
        size_t max_body;           /* 0 = 1 MiB */
        size_t max_body_total;     /* bodies of all connections together; 0 = 4 * max_body */
        unsigned connection_limit; /* 0 = 256 */
        unsigned per_ip_limit;     /* 0 = no limit */
        unsigned timeout_s;        /* idle timeout; 0 = 30 */
        unsigned threads;          /* worker threads; 0 = 1 */
        /* TLS: all NULL = plain HTTP. PEM text, not file names. */
        const char *tls_cert_pem;
        const char *tls_key_pem;
        /* instead of tls_key_pem: tls_cert_pem's key is held by a signer (one server at a time) */
        const struct kl_http_tls_signer *tls_signer;
        const char *tls_client_ca_pem; /* set = require and verify client certificates */
};

int kl_http_server_start(const struct kl_http_server_options *opts, kl_http_handler handler,
                         void *ctx, struct kl_http_server **ret);
void kl_http_server_stop(struct kl_http_server *srv); /* NULL-safe; waits for handlers */
uint16_t kl_http_server_port(const struct kl_http_server *srv);

const char *kl_http_request_method(const struct kl_http_request *req);
/* Path without the query string, percent-decoded by libmicrohttpd. */
const char *kl_http_request_path(const struct kl_http_request *req);
/* A query argument, or NULL when absent. */
const char *kl_http_request_query(const struct kl_http_request *req, const char *key);
const char *kl_http_request_header(const struct kl_http_request *req, const char *name);
/* The body (NUL-terminated for convenience; may hold NULs). */
const char *kl_http_request_body(const struct kl_http_request *req, size_t *ret_len);
/* The client certificate's subject CN under mTLS, NULL otherwise. */
const char *kl_http_request_peer_cn(const struct kl_http_request *req);
/*
 * The address the connection was accepted on, as text (IPv4 dotted or IPv6):
 * one server bound to the wildcard can serve many local addresses and tell
 * them apart. KL_ERR_TOO_LONG when out (len bytes) is too small.
 */
int kl_http_request_local_addr(const struct kl_http_request *req, char *out, size_t len);

/* Sets reply to a Keylime JSON envelope; takes ownership of results (NULL = {}). */
void kl_http_reply_json(struct kl_http_reply *reply, int code, const char *status,
                        kl_json *results);
/* The same with "results": null. */
void kl_http_reply_json_null(struct kl_http_reply *reply, int code, const char *status);

#endif
