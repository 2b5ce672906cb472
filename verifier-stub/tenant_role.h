/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tenant role of `add --payload`, as Keylime's tenant plays it: check
 * the agent's identity quote with the AK the registrar holds, split a
 * bootstrap key K into U and V, send U with the payload encrypted under K to
 * the agent, hand V to the verifier (which releases it after the first good
 * integrity quote), then prove delivery with /keys/verify.
 */
#ifndef VER_TENANT_ROLE_H
#define VER_TENANT_ROLE_H

#include "client.h"
#include "tenant.h"

struct ver_tenant;

/*
 * The agent as the registrar records it (address, AK, EK, pinned mTLS
 * certificate), with its API version negotiated; messages go to stderr.
 */
int ver_tenant_open(const struct ver_client_options *o, struct ver_tenant **ret);
/* The registrar's ek_tpm, borrowed from t; NULL when it has none. */
struct kl_tpm_public;
const struct kl_tpm_public *ver_tenant_ek(const struct ver_tenant *t);
/* The registrar's aik_tpm, borrowed from t. */
const struct kl_tpm_public *ver_tenant_ak(const struct ver_tenant *t);
/*
 * POSTs body to /v<version><resource> of the agent over its pinned mTLS;
 * anything but 200 is printed and KL_ERR_HTTP_STATUS. resp is the caller's to clear.
 */
struct kl_http_response;
int ver_tenant_post(struct ver_tenant *t, const char *resource, const char *body,
                    struct kl_http_response *resp);

/*
 * Looks the agent up at the registrar, checks its identity quote (AK
 * signature, nonce, PCR 16 bound to the served NK), then POSTs U and the
 * payload. On success *ret_v_b64 holds base64(V) for the verifier's add
 * request and *ret the session for ver_tenant_verify.
 */
int ver_tenant_send_u(const struct ver_client_options *o, struct ver_tenant **ret,
                      char **ret_v_b64);
/* Polls /keys/verify with a random challenge until the agent proves it holds K. */
int ver_tenant_verify(struct ver_tenant *t, unsigned timeout_s);
void ver_tenant_free(struct ver_tenant *t); /* NULL-safe; wipes K */

#endif
