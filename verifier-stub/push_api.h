/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Push-model routes of the verifier stub (Keylime verifier API 3.0, served
 * by `serve --mode push`, proto-docs/push-model.md):
 *   POST  /v3[.0]/sessions                            challenge for the TPM PoP
 *   PATCH /v3[.0]/sessions/{session_id}               proof -> bearer token
 *   POST  /v3[.0]/agents/{id}/attestations            capabilities -> chosen parameters
 *   PATCH /v3[.0]/agents/{id}/attestations/{i|latest} evidence -> verified at once
 * The attestation routes need the agent's bearer token. Evidence is checked
 * with verify_evidence.h, exactly as the pull poller checks a quote, and the
 * outcome goes to the store (status --uuid shows it). Every refusal is a
 * JSON:API error object with a 4xx.
 */
#ifndef VER_PUSH_API_H
#define VER_PUSH_API_H

#include <stdbool.h>

#include "http_server.h"

struct ver_store;
struct ver_notifier;
struct ver_push;

struct ver_push_config {
        unsigned interval_ms;          /* quote_interval: the shortest time between evidence */
        struct ver_notifier *notifier; /* revocation notices on failure; NULL = none */
};

int ver_push_new(struct ver_store *store, const struct ver_push_config *cfg, struct ver_push **ret);
void ver_push_free(struct ver_push *p); /* NULL-safe; after the server stopped */

/* True for a path under /v3 or /v3.0 (the whole API 3.0 is ours in push mode). */
bool ver_push_path(const char *path);
void ver_push_handle(struct ver_push *p, const struct kl_http_request *req,
                     struct kl_http_reply *reply);

#endif
