/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Verifier stub REST API (plain HTTP; routes in api.c and
 * proto-docs/verifier-stub.md). Adding an agent fetches its AK and mTLS
 * certificate from the registrar; the poller picks the record up from the
 * store on its next pass.
 */
#ifndef VER_API_H
#define VER_API_H

#include "http_server.h"

struct ver_store;
struct ver_push;

#define VER_API_CURRENT_VERSION "2.6"

struct ver_api {
        struct ver_store *store;   /* lent */
        const char *registrar_url; /* e.g. http://127.0.0.1:8890; NULL = none configured */
        long timeout_ms;           /* for the registrar lookup */
        struct ver_push *push;     /* push mode: API 3.0 routes (push_api.h); NULL = pull */
};

/* kl_http_handler: ctx is a struct ver_api. */
void ver_api_handle(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply);

#endif
