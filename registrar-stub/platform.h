/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registrar stub's platform-certificate policy (beyond Keylime): a
 * registration may carry a TCG platform attribute certificate in the extra
 * field "platform_cert" (base64 DER; Keylime's registrar ignores fields it does
 * not know). With a platform CA directory the certificate must be signed by one
 * of its CAs, be within its validity dates and name exactly the EK certificate
 * of the same registration as its holder; its attributes are then stored and
 * shown with the agent.
 */
#ifndef REG_PLATFORM_H
#define REG_PLATFORM_H

#include "api.h"
#include "json.h"
#include "x509.h"

#define REG_PLATFORM_FIELD "platform_cert"

/*
 * Applies cfg's policy to the registration req of agent_id with its (already
 * checked) EK certificate ek_cert (NULL = none). On success *ret_json is the
 * JSON text of the attributes to store, or NULL when there is nothing to store;
 * the caller frees it. On refusal fills reply with a 4xx naming the reason and
 * returns < 0.
 */
int reg_platform_check(const struct reg_api_config *cfg, kl_json *req, const char *agent_id,
                       X509 *ek_cert, char **ret_json, struct kl_http_reply *reply);
/* Adds "platform_cert" (the stored attributes, or null) to an agent's record. */
int reg_platform_show(kl_json *res, const char *stored_json);

#endif
