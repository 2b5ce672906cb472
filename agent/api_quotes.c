/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GET /v2.x/quotes/identity and /quotes/integrity (Keylime agent API 2.1+).
 * Each quote resets PCR 16 and extends it with H(NK PEM) first (quote_evidence.h), so the
 * verifier can bind the served pubkey to this TPM. The IMA list's end is
 * measured after the quote, so it holds at least every event folded into the
 * quoted PCR 10. A long list (the whole one, a verifier's first poll) is
 * streamed: the same JSON bytes, at constant memory whatever its length.
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
#include "json_stream.h"
#include "log.h"
#include "nonce.h"
#include "quote.h"
#include "quote_evidence.h"
#include "tpm.h"

#define PCR_MASK_ALLOWED 0x00ffffffu
/* IMA text up to this length is answered from a buffer, with a Content-Length (the
 * verifier's usual poll: the few lines since the last one); a longer one is streamed. */
#define IMA_INLINE_MAX (64u * 1024u)

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

/* The fields every quote answer carries. */
static kl_json *quote_results(const struct api_call *c, const char *quote, bool with_pubkey)
{
        struct kl_tpm *tpm = c->agent->tpm;
        kl_json *o = kl_json_object();

        if (kl_json_set_string(o, "quote", quote) < 0 ||
            kl_json_set_string(o, "hash_alg", kl_tpm_hash_alg_name(tpm)) < 0 ||
            kl_json_set_string(o, "enc_alg", kl_tpm_enc_alg_name(tpm, api_sized_alg_names(c))) <
                0 ||
            kl_json_set_string(o, "sign_alg", kl_tpm_sign_alg_name(tpm)) < 0 ||
            (with_pubkey && kl_json_set_string(o, "pubkey", c->agent->nk_pem) < 0)) {
                kl_json_free(o);
                return NULL;
        }
        return o;
}

void api_quotes_identity(const struct api_call *c, struct kl_http_reply *reply)
{
        const char *nonce = kl_http_request_query(c->req, "nonce");
        struct agent_quote q = {0};
        kl_json *results;
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

/*
 * Answers the envelope of results, whose ima_measurement_list is "" where the
 * list belongs, with the slice's text streamed into that string. Takes results
 * and *ima.
 */
static int reply_streamed(struct kl_http_reply *reply, kl_json *results, struct kl_ima_slice **ima)
{
        char *prefix = NULL, *suffix = NULL;
        int r;

        r = kl_json_envelope_split(200, "Success", results, "ima_measurement_list", &prefix,
                                   &suffix);
        if (r < 0) {
                kl_ima_slice_free(*ima);
                *ima = NULL;
                return r;
        }
        r = kl_json_stream_new(prefix, suffix, kl_ima_slice_stream(*ima), &reply->stream);
        *ima = NULL;
        if (r < 0)
                return r;
        reply->status = 200;
        reply->content_type = NULL;
        return 0;
}

void api_quotes_integrity(const struct api_call *c, struct kl_http_reply *reply)
{
        const char *nonce = kl_http_request_query(c->req, "nonce");
        struct api_integrity_query iq = {0};
        struct agent_quote q = {0};
        kl_json *results = NULL;
        char *mb = NULL, *ima = NULL;
        size_t ima_len = 0;
        bool stream = false;
        char err[256];
        int code, r;

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
        if (q.ima != NULL) {
                stream = kl_ima_slice_size(q.ima) > IMA_INLINE_MAX;
                if (!stream && (r = kl_ima_slice_read_all(q.ima, &ima, &ima_len)) < 0) {
                        log_error("cannot read the IMA log: %s", kl_err_str(r));
                        api_error(reply, 500, "Unable to retrieve quote");
                        goto out;
                }
                if (kl_json_set_string_len(results, "ima_measurement_list", stream ? "" : ima,
                                           ima_len) < 0 ||
                    kl_json_set_int(results, "ima_measurement_list_entry",
                                    (int64_t)kl_ima_slice_entry(q.ima)) < 0)
                        goto nomem;
        }
        if ((iq.mask & 1u) != 0 && c->agent->mb_fd >= 0 &&
            (mb = agent_read_mb_log(c->agent->mb_fd)) != NULL &&
            kl_json_set_string(results, "mb_measurement_list", mb) < 0)
                goto nomem;
        if (stream) {
                r = reply_streamed(reply, results, &q.ima);
                results = NULL;
                if (r < 0)
                        goto nomem;
                goto out;
        }
        kl_http_reply_json(reply, 200, "Success", results);
        results = NULL;
        goto out;
nomem:
        api_error(reply, 500, "Out of memory");
out:
        kl_json_free(results);
        free(mb);
        free(ima);
        agent_quote_clear(&q);
}
