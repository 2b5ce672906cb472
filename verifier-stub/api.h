/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifier stub REST API (HTTPS, clients need a certificate from the
 * verifier/tenant CA; routes in api.c and proto-docs/verifier-stub.md). Adding an agent fetches its
 * AK and mTLS certificate from the registrar; the poller picks the record up from the store on its
 * next pass.
 */
#ifndef VER_API_H
#define VER_API_H

#include "http_client.h"
#include "http_server.h"

struct ver_store;
struct ver_push;

#define VER_API_CURRENT_VERSION "2.6"

struct ver_api {
        struct ver_store *store;   /* lent */
        const char *registrar_url; /* its mTLS listener, e.g. https://127.0.0.1:8891; NULL = none */
        struct kl_http_tls registrar_tls; /* our CA and client certificate for it */
        long timeout_ms;                  /* for the registrar lookup */
        struct ver_push *push;            /* push mode: API 3.0 routes (push_api.h); NULL = pull */
};

/* kl_http_handler for the mTLS listener (every route): ctx is a struct ver_api. */
void ver_api_handle(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply);
/*
 * The same for the push agents' listener (TLS without client certificates:
 * agents prove their TPM instead): only the API 3.0 push routes; the rest
 * answers 400.
 */
void ver_api_handle_push(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply);

#endif
