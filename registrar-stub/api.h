/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registrar stub REST API (Keylime registrar API 2.1-2.6): routing and the
 * handlers for version, register, activate, list, show and delete. The
 * register and activate handlers are callable without HTTP so the fuzzer and
 * tests drive exactly the code the server runs.
 */
#ifndef REG_API_H
#define REG_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_server.h"

struct reg_store;

#define REG_API_CURRENT_VERSION "2.6"

struct reg_api_config {
        const char *ek_ca_dir;       /* NULL = no EK certificate chain check */
        bool require_ek_cert;        /* refuse registrations without an EK certificate */
        const char *platform_ca_dir; /* NULL = platform certificates are not checked */
        bool require_platform_cert;  /* refuse registrations without a platform certificate */
        const char *ak_hash_algs;    /* accepted AK name/scheme hashes; NULL = kl_ak_check's */
        const char *ak_sign_algs;    /* accepted AK signing schemes; NULL = kl_ak_check's */
};

struct reg_api {
        struct reg_store *store; /* lent */
        struct reg_api_config cfg;
        /* Serialises each read-check-write sequence (register, activate) on one agent. */
        pthread_mutex_t lock;
};

int reg_api_init(struct reg_api *api, struct reg_store *store, const struct reg_api_config *cfg);
void reg_api_fini(struct reg_api *api);

/* kl_http_handler: ctx is a struct reg_api. */
void reg_api_handle(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply);

/*
 * POST /v2.x/agents[/{id}]: agent_id NULL = take it from the body. Fills
 * reply (zero-initialised by the caller, who frees reply->body).
 */
void reg_api_register(struct reg_api *api, const char *agent_id, const char *body, size_t len,
                      struct kl_http_reply *reply);
/* PUT /v2.x/agents/{id}[/activate], POST /v2.x/agents/{id}/activate. */
void reg_api_activate(struct reg_api *api, const char *agent_id, const char *body, size_t len,
                      struct kl_http_reply *reply);

#endif
