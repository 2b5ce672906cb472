/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Platform certificates at registration (see platform.h). Refusals: 400 for a
 * field that is not a platform certificate at all, 403 for one that is but is
 * not trusted for this EK (foreign CA, bad signature, dates, holder), as the EK
 * certificate checks answer.
 */
#include "platform.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "platform_cert.h"
#include "rest.h"

/* base64 of the largest certificate we accept, with slack for line breaks */
#define PLATFORM_TEXT_MAX (KL_PLATFORM_CERT_MAX / 3 * 4 + 1024)

static kl_json *attrs_json(const struct kl_platform_cert *pc)
{
        const struct kl_platform_attrs *a = kl_platform_cert_attrs(pc);
        kl_json *o = kl_json_object();
        char nb[21], na[21], serial[41];

        if (o == NULL || kl_platform_cert_validity(pc, nb, na) < 0 ||
            kl_platform_cert_serial_hex(pc, serial, sizeof(serial)) < 0 ||
            kl_rest_add_str(o, "manufacturer", a->manufacturer) < 0 ||
            kl_rest_add_str(o, "model", a->model) < 0 ||
            kl_rest_add_str(o, "version", a->version) < 0 ||
            kl_rest_add_str(o, "serial", a->serial) < 0 ||
            kl_rest_add_str(o, "serial_number", serial) < 0 ||
            kl_rest_add_str(o, "not_before", nb) < 0 || kl_rest_add_str(o, "not_after", na) < 0) {
                kl_json_free(o);
                return NULL;
        }
        return o;
}

int reg_platform_check(const struct reg_api_config *cfg, kl_json *req, const char *agent_id,
                       X509 *ek_cert, char **ret_json, struct kl_http_reply *reply)
{
        struct kl_platform_cert *pc = NULL;
        kl_json *attrs = NULL;
        const char *text = NULL;
        uint8_t *der = NULL;
        size_t len = 0;
        char why[512] = "";
        int r = kl_json_get_string(req, REG_PLATFORM_FIELD, &text);

        *ret_json = NULL;
        if (r == KL_ERR_NOT_FOUND || (r == 0 && text[0] == '\0')) {
                if (cfg->require_platform_cert) {
                        kl_rest_refuse(reply, 403, "Platform certificate required for agent '%s'",
                                       agent_id);
                        return KL_ERR_VERIFY;
                }
                return 0;
        }
        if (r < 0 || strlen(text) > PLATFORM_TEXT_MAX ||
            kl_b64_decode(text, strlen(text), &der, &len) < 0) {
                kl_rest_refuse(reply, 400, "Missing or invalid field '%s'", REG_PLATFORM_FIELD);
                r = KL_ERR_INVAL;
                goto out;
        }
        if (cfg->platform_ca_dir == NULL) {
                /* nothing to check it against: ignored, as upstream ignores it */
                log_debug("agent '%.80s' sent a platform certificate; no platform CA configured",
                          agent_id);
                r = 0;
                goto out;
        }
        if ((r = kl_platform_cert_parse(der, len, &pc)) < 0) {
                if (r == KL_ERR_NOMEM)
                        kl_rest_reply_internal(reply, r);
                else
                        kl_rest_refuse(reply, 400,
                                       "Invalid platform certificate of agent '%s': not a DER TCG "
                                       "platform attribute certificate",
                                       agent_id);
                goto out;
        }
        if (ek_cert == NULL) {
                kl_rest_refuse(reply, 403,
                               "Platform certificate of agent '%s' refused: no EK certificate to "
                               "bind it to",
                               agent_id);
                r = KL_ERR_VERIFY;
                goto out;
        }
        if ((r = kl_platform_cert_check_holder(pc, ek_cert, why, sizeof(why))) < 0 ||
            (r = kl_platform_cert_check_dates(pc, time(NULL), why, sizeof(why))) < 0 ||
            (r = kl_platform_cert_verify(pc, cfg->platform_ca_dir, why, sizeof(why))) < 0) {
                if (r == KL_ERR_VERIFY)
                        kl_rest_refuse(reply, 403, "Platform certificate of agent '%s' refused: %s",
                                       agent_id, why);
                else
                        kl_rest_reply_internal(reply, r);
                goto out;
        }
        if ((attrs = attrs_json(pc)) == NULL ||
            (*ret_json = kl_json_format(attrs, KL_JSON_ESCAPE_SLASH)) == NULL) {
                r = KL_ERR_NOMEM;
                kl_rest_reply_internal(reply, r);
                goto out;
        }
        r = 0;
out:
        kl_json_free(attrs);
        kl_platform_cert_free(pc);
        free(der);
        return r;
}

int reg_platform_show(kl_json *res, const char *stored_json)
{
        kl_json *o = NULL;

        if (stored_json != NULL && kl_json_parse_object(stored_json, strlen(stored_json), &o) < 0)
                o = NULL; /* our own text; unreadable only if the database was edited */
        return o != NULL ? kl_json_set(res, "platform_cert", o)
                         : kl_json_set_null(res, "platform_cert");
}
