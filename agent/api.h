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

typedef void (*api_handler)(const struct api_call *c, struct kl_http_reply *reply);

/* Where a request goes: a handler, GET /version, or an error answer. */
struct api_route {
        api_handler handler; /* NULL: answer code/error/allow */
        bool is_version;     /* GET /version */
        const char *version; /* the enabled version of the scope, e.g. "2.6" */
        unsigned minor;
        int code;
        const char *allow;
        char error[256];
};

/* Pure routing (no I/O), with the upstream agent's error answers. */
void api_route_resolve(const char *const *versions, size_t n_versions, const char *method,
                       const char *path, struct api_route *ret);

/* Starts the server on cfg ip:port (HTTPS with client certificates unless
 * enable_agent_mtls = false). */
int api_start(struct agent *a, struct kl_http_server **ret);

/* Answers with the Keylime envelope; status text is printf-style. */
void api_error(struct kl_http_reply *reply, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Validated /quotes/integrity parameters. */
struct api_integrity_query {
        uint32_t mask;
        bool with_pubkey; /* partial=0 */
        uint64_t ima_entry;
};
/* Upstream's checks and texts: 0, or the HTTP status with err filled. */
int api_parse_integrity_query(const char *nonce, const char *mask, const char *partial,
                              const char *ima_ml_entry, struct api_integrity_query *ret, char *err,
                              size_t err_len);

/* Handlers (api_quotes.c, api_keys.c, api_sealed.c, api_certified.c, api_info.c). */
void api_quotes_identity(const struct api_call *c, struct kl_http_reply *reply);
void api_quotes_integrity(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_pubkey(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_ukey(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_vkey(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_verify(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_sealed(const struct api_call *c, struct kl_http_reply *reply); /* api_sealed.c */
/* api_certified.c */
void api_keys_certify(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_certificate(const struct api_call *c, struct kl_http_reply *reply);
void api_keys_prove(const struct api_call *c, struct kl_http_reply *reply);
void api_agent_info(const struct api_call *c, struct kl_http_reply *reply);

/* "rsa2048" style names from API 2.5 on, "rsa" before. */
bool api_sized_alg_names(const struct api_call *c);

#endif
