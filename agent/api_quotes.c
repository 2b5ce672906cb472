/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v2.x/quotes/identity and /quotes/integrity (Keylime agent API 2.1+).
 * Each quote resets PCR 16 and extends it with H(NK PEM) first (quote_evidence.h), so the
 * verifier can bind the served pubkey to this TPM. The IMA list is read after
 * the quote, so it holds at least every event folded into the quoted PCR 10.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "b64.h"
#include "err.h"
#include "http_server.h"
#include "ima_log.h"
#include "json.h"
#include "log.h"
#include "nonce.h"
#include "quote.h"
#include "quote_evidence.h"
#include "tpm.h"

#define PCR_MASK_ALLOWED 0x00ffffffu

/*
 * The nonce check of both quote routes (nonce.h), in the words each upstream
 * route uses; 0 when the nonce is fine, else 400 with the reason in err.
 */
static int nonce_error(const char *nonce, bool integrity, char *err, size_t err_len)
{
        switch (kl_nonce_check(nonce)) {
        case KL_NONCE_OK:
                return 0;
        case KL_NONCE_MISSING:
                snprintf(err, err_len, "Query deserialize error: missing field `nonce`");
                break;
        case KL_NONCE_NOT_ALNUM:
                snprintf(err, err_len, "%s should be strictly alphanumeric: %.64s",
                         integrity ? "nonce" : "Parameters", nonce);
                break;
        case KL_NONCE_TOO_LONG:
                if (integrity)
                        snprintf(err, err_len, "Nonce is too long (max size: %d): %zu",
                                 KL_NONCE_MAX, strlen(nonce));
                else
                        snprintf(err, err_len, "Nonce is too long (max size %d): %.64s...",
                                 KL_NONCE_MAX, nonce);
                break;
        }
        return 400;
}

static bool is_alnum(const char *s)
{
        for (; *s != '\0'; s++) {
                if (!isalnum((unsigned char)*s))
                        return false;
        }
        return true;
}

static int add_string(struct json_object *o, const char *key, const char *value)
{
        struct json_object *v = json_object_new_string(value);

        if (v == NULL || json_object_object_add(o, key, v) != 0) {
                json_object_put(v);
                return KL_ERR_NOMEM;
        }
        return 0;
}

/* The fields every quote answer carries. */
static struct json_object *quote_results(const struct api_call *c, const char *quote,
                                         bool with_pubkey)
{
        struct kl_tpm *tpm = c->agent->tpm;
        struct json_object *o = json_object_new_object();

        if (o == NULL || add_string(o, "quote", quote) < 0 ||
            add_string(o, "hash_alg", kl_tpm_hash_alg_name(tpm)) < 0 ||
            add_string(o, "enc_alg", kl_tpm_enc_alg_name(tpm, api_sized_alg_names(c))) < 0 ||
            add_string(o, "sign_alg", kl_tpm_sign_alg_name(tpm)) < 0 ||
            (with_pubkey && add_string(o, "pubkey", c->agent->nk_pem) < 0)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

void api_quotes_identity(const struct api_call *c, struct kl_http_reply *reply)
{
        const char *nonce = kl_http_request_query(c->req, "nonce");
        struct agent_quote q = {0};
        struct json_object *results;

        char err[256];

        if (nonce_error(nonce, false, err, sizeof(err)) != 0) {
                api_error(reply, 400, "%s", err);
                return;
        }
        if (agent_take_quote(c->agent, (const uint8_t *)nonce, strlen(nonce), c->agent->nk_digest,
                             c->agent->nk_digest_len, 0, false, 0, &q) < 0) {
                api_error(reply, 500, "Unable to retrieve quote");
                goto out;
        }
        if ((results = quote_results(c, q.quote, true)) == NULL) {
                api_error(reply, 500, "Out of memory");
                goto out;
        }
        kl_http_reply_json(reply, 200, "Success", results);
out:
        agent_quote_clear(&q);
}

/* "0x408400" or "408400": hexadecimal u32 as the verifier sends hex(int). */
static bool parse_mask(const char *s, uint32_t *ret)
{
        char *end;
        unsigned long v;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2;
        if (*s == '\0' || strlen(s) > 8)
                return false;
        errno = 0;
        v = strtoul(s, &end, 16);
        if (errno != 0 || *end != '\0')
                return false;
        *ret = (uint32_t)v;
        return true;
}

/* Absent or unparsable means 0, as upstream. */
static uint64_t parse_ima_entry(const char *s)
{
        char *end;
        unsigned long long v;

        if (s == NULL || *s < '0' || *s > '9')
                return 0;
        errno = 0;
        v = strtoull(s, &end, 10);
        return errno == 0 && *end == '\0' ? v : 0;
}

int api_parse_integrity_query(const char *nonce, const char *mask, const char *partial,
                              const char *ima_ml_entry, struct api_integrity_query *ret, char *err,
                              size_t err_len)
{
        if (nonce != NULL && mask == NULL) {
                snprintf(err, err_len, "Query deserialize error: missing field `mask`");
                return 400;
        }
        if (nonce_error(nonce, true, err, err_len) != 0)
                return 400;
        if (!is_alnum(mask)) {
                snprintf(err, err_len, "mask should be strictly alphanumeric: %.64s", mask);
                return 400;
        }
        if (!parse_mask(mask, &ret->mask)) {
                snprintf(err, err_len, "mask should be a hex encoded 32-bit integer: %.64s", mask);
                return 400;
        }
        if (partial == NULL || (strcmp(partial, "0") != 0 && strcmp(partial, "1") != 0)) {
                snprintf(err, err_len, "uri must contain key 'partial' and value '0' or '1'");
                return 400;
        }
        if ((ret->mask & ~PCR_MASK_ALLOWED) != 0) {
                /* Upstream fails the quote itself here, hence a 500. */
                snprintf(err, err_len, "Unable to retrieve quote");
                return 500;
        }
        ret->with_pubkey = partial[0] == '0';
        ret->ima_entry = parse_ima_entry(ima_ml_entry);
        return 0;
}

void api_quotes_integrity(const struct api_call *c, struct kl_http_reply *reply)
{
        const char *nonce = kl_http_request_query(c->req, "nonce");
        struct api_integrity_query iq = {0};
        struct agent_quote q = {0};
        struct json_object *results = NULL;
        char *mb = NULL;
        char err[256];
        int code;

        code = api_parse_integrity_query(
            nonce, kl_http_request_query(c->req, "mask"), kl_http_request_query(c->req, "partial"),
            kl_http_request_query(c->req, "ima_ml_entry"), &iq, err, sizeof(err));
        if (code != 0) {
                api_error(reply, code, "%s", err);
                return;
        }
        if (agent_take_quote(c->agent, (const uint8_t *)nonce, strlen(nonce), c->agent->nk_digest,
                             c->agent->nk_digest_len, iq.mask, true, iq.ima_entry, &q) < 0) {
                api_error(reply, 500, "Unable to retrieve quote");
                goto out;
        }
        if ((results = quote_results(c, q.quote, iq.with_pubkey)) == NULL)
                goto nomem;
        if (q.have_ima &&
            (add_string(results, "ima_measurement_list", q.ima_list) < 0 ||
             json_object_object_add(results, "ima_measurement_list_entry",
                                    json_object_new_int64((int64_t)q.ima_entry)) != 0))
                goto nomem;
        if ((iq.mask & 1u) != 0 && c->agent->mb_fd >= 0 &&
            (mb = agent_read_mb_log(c->agent->mb_fd)) != NULL &&
            add_string(results, "mb_measurement_list", mb) < 0)
                goto nomem;
        kl_http_reply_json(reply, 200, "Success", results);
        results = NULL;
        goto out;
nomem:
        api_error(reply, 500, "Out of memory");
out:
        json_object_put(results);
        free(mb);
        agent_quote_clear(&q);
}
