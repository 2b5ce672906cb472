/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The add, status and delete subcommands: small HTTPS clients of a running
 * `keylime_verifier_stub serve`, whose API takes only clients with a
 * certificate from its CA. Each returns a process exit code.
 */
#ifndef VER_CLIENT_H
#define VER_CLIENT_H

#include <stddef.h>

#include "http_client.h"

struct ver_client_options {
        const char *verifier; /* base URL, e.g. https://127.0.0.1:8881 */
        const char *uuid;
        const char *agent; /* HOST:PORT; NULL = the registrar's */
        const char **pcrs; /* BANK:INDEX:HEX */
        size_t n_pcrs;
        const char *ima_policy_file;
        const char *mb_policy_file;
        /* tenant role (add --payload) */
        const char *payload;         /* file sent as is, or a directory sent zipped */
        const char *key_file;        /* K, U, V as three base64 lines; NULL = random K and V */
        const char *revocation_cert; /* added to a directory payload for the agent */
        const char *registrar;
        /* our client certificate for the verifier, the registrar and the agent */
        const char *client_cert;
        const char *client_key;
        const char *ca_file; /* CA of the verifier's and registrar's server certificates */
};

/* TLS to the verifier stub's API or the registrar's mTLS listener: o's CA and client cert. */
struct kl_http_tls ver_client_stub_tls(const struct ver_client_options *o);

int ver_client_add(const struct ver_client_options *o);
/* Prints the agent's results object as one line of JSON. */
int ver_client_status(const struct ver_client_options *o);
int ver_client_delete(const struct ver_client_options *o);

#endif
