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
