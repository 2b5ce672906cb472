/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) client on libcurl (OpenSSL backend). One request per call; the
 * reply body is capped (KL_HTTP_CLIENT_MAX_BODY) so a peer cannot make us
 * allocate without bound. Retries and back-off are the caller's business.
 */
#ifndef KL_HTTP_CLIENT_H
#define KL_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define KL_HTTP_CLIENT_MAX_BODY (8u << 20)

struct kl_http_tls {
        const char *ca_file;   /* trust anchors for the server; NULL = system store */
        const char *cert_file; /* client certificate (PEM) for mTLS; NULL = none */
        const char *key_file;  /* its private key (PEM) */
        bool insecure;         /* skip server verification (tests, pinned-by-other-means) */
        /* Verify the peer against ca_file but not its host name: for a pinned certificate
         * (the verifier trusts exactly the agent's registered mtls_cert, whatever its SAN). */
        bool no_hostname_check;
};

struct kl_http_response {
        long status;
        char *body; /* NUL-terminated; may be empty, never NULL after success */
        size_t body_len;
        char *location;   /* Location header (at most 1 KiB), NULL when absent */
        long retry_after; /* Retry-After in seconds (delta form only); 0 when absent */
        char error[256];  /* after KL_ERR_HTTP: curl's reason (e.g. a TLS verification failure) */
};

/* What a JSON:API client (push model, API 3.0) adds to a request. */
struct kl_http_request_opts {
        const char *content_type; /* of the body and Accept; NULL = application/json */
        const char *bearer;       /* Authorization: Bearer <token>; NULL = none. Never logged */
};

/*
 * method: "GET", "POST", "PUT", "PATCH", "DELETE". body (may be NULL) is sent with
 * Content-Type: application/json. tls NULL = plain HTTP. Any HTTP status is
 * success at this level (check ret->status); transport failures return
 * KL_ERR_HTTP and log curl's message at debug level.
 */
int kl_http_request(const char *method, const char *url, const char *body,
                    const struct kl_http_tls *tls, long timeout_ms, struct kl_http_response *ret);
/* The same with the additions of opts (NULL = none). */
int kl_http_request_with(const char *method, const char *url, const char *body,
                         const struct kl_http_request_opts *opts, const struct kl_http_tls *tls,
                         long timeout_ms, struct kl_http_response *ret);
void kl_http_response_clear(struct kl_http_response *r);
/* Call once at start-up before threads (curl_global_init). */
int kl_http_client_global_init(void);

#endif
