/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's REST API (Keylime pull model, API 2.1-2.6): routing, version
 * scopes and the generic error answers, and the HTTPS server with mTLS.
 * Handlers live in api_<area>.c.
 */
#ifndef AGENT_API_H
#define AGENT_API_H

#include "agent.h"

struct kl_http_server;
struct kl_http_request;
struct kl_http_reply;

/* One request inside a version scope. */
struct api_call {
        struct agent *agent;
        const struct kl_http_request *req;
        const char *version; /* e.g. "2.6" */
        unsigned minor;      /* 6 for "2.6" */
};

/* Starts the server on cfg ip:port (HTTPS with client certificates unless
 * enable_agent_mtls = false). */
int api_start(struct agent *a, struct kl_http_server **ret);

/* Answers with the Keylime envelope; status text is printf-style. */
void api_error(struct kl_http_reply *reply, int code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Handlers (api_quotes.c, api_keys.c, api_info.c). */
void api_quotes_identity(const struct api_call *c, struct kl_http_reply *reply);
void api_quotes_integrity(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_pubkey(const struct api_call *c, struct kl_http_reply *reply);
void api_agent_info(const struct api_call *c, struct kl_http_reply *reply);

/* "rsa2048" style names from API 2.5 on, "rsa" before. */
bool api_sized_alg_names(const struct api_call *c);

#endif
