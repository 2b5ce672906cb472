/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request routing and answers the registrar and verifier stubs share: the
 * Keylime 2.x path shape /v2[.x]/agents[/{id}[/...]], agent ID checks,
 * refusals (a 4xx whose status text says why, logged as a warning), and the
 * /version and agent-list answers. Every answer is a Keylime
 * {"code","status","results"} envelope (kl_http_reply_json).
 */
#ifndef KL_REST_H
#define KL_REST_H

#include <stdbool.h>
#include <stddef.h>

#include "http_server.h"
#include "json.h"
#include "uuid.h"

#define KL_REST_AGENT_ID_MAX 80 /* kl_agent_id_is_valid() */

enum kl_rest_route {
        KL_REST_ROUTE_NONE,        /* not a path we serve: 404 */
        KL_REST_ROUTE_VERSION,     /* /version[/] */
        KL_REST_ROUTE_BAD_VERSION, /* /v<digit>...: a version other than v2, v2.0 .. v2.6 */
        KL_REST_ROUTE_AGENTS,      /* /v2[.x]/agents[/] */
        KL_REST_ROUTE_AGENT,       /* /v2[.x]/agents/{id}{tail} */
};

/* Pieces of a request path; the pointers point into it and are not NUL-terminated. */
struct kl_rest_path {
        enum kl_rest_route route;
        const char *version; /* "v2.6" (BAD_VERSION, AGENTS, AGENT) */
        size_t version_len;
        const char *id; /* AGENT: up to the next '/', not yet validated, may be empty */
        size_t id_len;
        const char *tail; /* AGENT: "" or what follows the id from its '/' on */
};

void kl_rest_path_parse(const char *path, struct kl_rest_path *ret);
/*
 * Copies id (len bytes) into out when it is a valid agent ID
 * (kl_agent_id_is_valid); false, and out untouched, otherwise.
 */
bool kl_rest_agent_id_copy(const char *id, size_t len, char out[KL_REST_AGENT_ID_MAX + 1]);

/* A refusal: the status text goes to the client and, as a warning, to the log. */
__attribute__((format(printf, 3, 4))) void kl_rest_refuse(struct kl_http_reply *reply, int code,
                                                          const char *fmt, ...);
/* 500 "Internal Server Error"; r is logged, never sent. */
void kl_rest_reply_internal(struct kl_http_reply *reply, int r);
void kl_rest_reply_not_found(struct kl_http_reply *reply);          /* 404 "Not Found" */
void kl_rest_reply_method_not_allowed(struct kl_http_reply *reply); /* 405 */
/* GET /version: current_version and the supported 2.1 .. 2.6. */
void kl_rest_reply_version(struct kl_http_reply *reply, const char *current);
/* 200 with {"uuids": [ids...]} once the store's list returned r (< 0: 500); ids stay the caller's.
 */
void kl_rest_reply_ids(struct kl_http_reply *reply, int r, char *const *ids, size_t n);

/*
 * What both stubs answer alike before their own routes: 404 for a path they
 * do not serve (KL_REST_ROUTE_NONE) and GET /version (405 for another
 * method). True when it answered; p's other routes are the caller's.
 */
bool kl_rest_reply_common(struct kl_http_reply *reply, const struct kl_rest_path *p,
                          const char *method, const char *current_version);
/* A store's failure r for agent id: 404 "Agent with ID '<id>' not found" for KL_ERR_NOT_FOUND, else
 * 500. */
void kl_rest_reply_agent_error(struct kl_http_reply *reply, int r, const char *id);
/* DELETE .../agents/{id} once the store's delete returned r: the error above, or 200 (logged). */
void kl_rest_reply_deleted(struct kl_http_reply *reply, int r, const char *id);

/*
 * Parses a request body that must be a JSON object; otherwise refuses with
 * 400 "Malformed JSON body: expected a JSON object". The caller owns *ret.
 */
int kl_rest_parse_body(struct kl_http_reply *reply, const char *body, size_t len, kl_json **ret);
/*
 * The agent API version to use from an agent's GET /version results: the
 * highest of its "supported_versions" in 2.1 .. 2.6, or, from an agent older
 * than 2.5 that lists none, its "supported_version". Writes "2.x" to out;
 * KL_ERR_UNSUPPORTED when it offers none of those.
 */
int kl_rest_pick_agent_version(const kl_json *results, char out[4]);

/*
 * obj's "port" as Keylime clients send it: a number, or its decimal text (as
 * in the upstream docs' example), in 0..65535. *ret is -1 when it is absent or
 * null; anything else is KL_ERR_INVAL.
 */
int kl_rest_get_port(const kl_json *obj, int64_t *ret);
/* Adds s as a string, or null when s is NULL; KL_ERR_NOMEM on failure. */
int kl_rest_add_str(kl_json *obj, const char *key, const char *s);

#endif
