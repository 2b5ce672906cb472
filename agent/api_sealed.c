/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POST /v2.x/keys/sealed (our extension; agent-api.md "Sealed objects"): a
 * key duplicated to this TPM's EK under a PCR policy. The TPM imports it
 * before anything is written, so a blob for another TPM or an altered one is
 * refused with 400 and leaves nothing behind; only Import's TPM2B_PRIVATE
 * (loadable by this TPM alone) and the public area are kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "err.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "quote_evidence.h"
#include "sealed.h"
#include "tpm.h"

void api_keys_sealed(const struct api_call *c, struct kl_http_reply *reply)
{
        struct agent *a = c->agent;
        struct sealed_object *o = NULL;
        kl_json *results = NULL;
        uint8_t *priv = NULL;
        size_t len = 0, priv_len = 0;
        const char *body = kl_http_request_body(c->req, &len);
        char err[256], pcrs[96];
        int code, r;

        /* as for payloads: without client authentication anyone could plant a key */
        if (!a->cfg->enable_agent_mtls) {
                api_error(reply, 403, "Sealed objects are accepted only with enable_agent_mtls");
                return;
        }
        if ((code = sealed_parse_request(body != NULL ? body : "", len, &o, err, sizeof(err))) !=
            0) {
                api_error(reply, code, "%s", err);
                return;
        }
        pthread_mutex_lock(&a->tpm_lock);
        r = kl_tpm_import(a->tpm, o->parent, o->parent_len, o->pub, o->pub_len, o->priv,
                          o->priv_len, o->seed, o->seed_len, &priv, &priv_len);
        agent_note_tpm_lost(a, r);
        pthread_mutex_unlock(&a->tpm_lock);
        sealed_pcrs_str(o, pcrs, sizeof(pcrs));
        if (r == KL_ERR_TPM_WRAP || r == KL_ERR_INVAL) {
                log_warn("refused sealed object '%s' from %.64s: %s", o->name,
                         kl_http_request_peer_cn(c->req) ? kl_http_request_peer_cn(c->req) : "?",
                         kl_err_str(r));
                api_error(reply, 400, "The TPM refused sealed object '%s': %s; nothing stored",
                          o->name,
                          r == KL_ERR_INVAL ? "public, duplicate or seed is not one TPM structure"
                                            : kl_err_str(r));
                goto out;
        }
        if (r < 0) {
                api_error(reply, 500, "TPM2_Import failed: %s", kl_err_str(r));
                goto out;
        }
        free(o->priv);
        o->priv = priv;
        o->priv_len = priv_len;
        priv = NULL;
        if ((r = sealed_record_store(a->cfg->keylime_dir, o)) < 0) {
                api_error(reply, 500, "Cannot store sealed object '%s': %s", o->name,
                          kl_err_str(r));
                goto out;
        }
        log_info("stored sealed %s object '%s' bound to PCRs %s", sealed_kind_name(o->kind),
                 o->name, pcrs);
        if ((results = kl_json_object()) == NULL ||
            kl_json_set_string(results, "name", o->name) < 0 ||
            kl_json_set_string(results, "kind", sealed_kind_name(o->kind)) < 0 ||
            kl_json_set_string(results, "pcrs", pcrs) < 0) {
                kl_json_free(results);
                api_error(reply, 500, "Out of memory");
                goto out;
        }
        kl_http_reply_json(reply, 200, "Success", results);
out:
        free(priv);
        sealed_object_free(o);
}
