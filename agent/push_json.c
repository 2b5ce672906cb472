/* SPDX-License-Identifier: Apache-2.0 */
/* See push_json.h. Field names: upstream's verifier API 3.0. */
#include "push_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "json.h"
#include "quote.h"

static int bad(char *why, size_t why_len, const char *what)
{
        snprintf(why, why_len, "%s", what);
        return KL_ERR_INVAL;
}

/*
 * obj with obj[key] = v, or NULL when obj is NULL or that fails; takes obj and
 * v either way, so a document is built in nested calls and freed once.
 */
static kl_json *with(kl_json *obj, const char *key, kl_json *v)
{
        if (kl_json_set(obj, key, v) < 0) {
                kl_json_free(obj);
                return NULL;
        }
        return obj;
}

static kl_json *with_str(kl_json *obj, const char *key, const char *s)
{
        return with(obj, key, kl_json_string(s));
}

/* arr with v appended, or NULL; takes both, as with() does. */
static kl_json *plus(kl_json *arr, kl_json *v)
{
        if (kl_json_append(arr, v) < 0) {
                kl_json_free(arr);
                return NULL;
        }
        return arr;
}

/* {"data": {"type": type, ["id": id,] "attributes": attrs}} serialised; takes attrs. */
static char *document(const char *type, const char *id, kl_json *attrs)
{
        kl_json *data = with_str(kl_json_object(), "type", type);
        kl_json *root;
        char *out = NULL;

        if (id != NULL)
                data = with_str(data, "id", id);
        if ((root = with(kl_json_object(), "data", with(data, "attributes", attrs))) != NULL)
                out = kl_json_to_string(root);
        kl_json_free(root);
        return out;
}

static kl_json *pop_method(void)
{
        kl_json *m = with_str(kl_json_object(), "authentication_class", "pop");

        return with_str(m, "authentication_type", "tpm_pop");
}

char *push_json_session_request(const char *agent_id)
{
        kl_json *attrs = with_str(kl_json_object(), "agent_id", agent_id);

        attrs = with(attrs, "authentication_supported", plus(kl_json_array(), pop_method()));
        return document("session", NULL, attrs);
}

char *push_json_session_proof(const char *session_id, const char *agent_id, const uint8_t *attest,
                              size_t attest_len, const uint8_t *sig, size_t sig_len)
{
        kl_json *proof = kl_json_object();
        kl_json *attrs;

        if (kl_json_add_b64(proof, "message", attest, attest_len) < 0 ||
            kl_json_add_b64(proof, "signature", sig, sig_len) < 0) {
                kl_json_free(proof);
                return NULL;
        }
        attrs = with_str(kl_json_object(), "agent_id", agent_id);
        attrs = with(attrs, "authentication_provided",
                     plus(kl_json_array(), with(pop_method(), "data", proof)));
        return document("session", session_id, attrs);
}

static kl_json *str_list(const char *s)
{
        return plus(kl_json_array(), kl_json_string(s));
}

static kl_json *all_pcrs(void)
{
        kl_json *l = kl_json_array();

        for (int i = 0; l != NULL && i < KL_PCR_COUNT; i++)
                l = plus(l, kl_json_int(i));
        return l;
}

static kl_json *item(const char *cls, const char *type, const char *member, kl_json *content)
{
        kl_json *o = with_str(kl_json_object(), "evidence_class", cls);

        o = with_str(o, "evidence_type", type);
        return with(o, member, content);
}

static kl_json *quote_caps(const struct push_caps *c)
{
        kl_json *key = with_str(kl_json_object(), "key_class", "asymmetric");
        kl_json *caps = with_str(kl_json_object(), "component_version", "2.0");

        key = with_str(key, "key_algorithm", c->rsa ? "rsa" : "ecc");
        key = with(key, "key_size", kl_json_int(c->key_bits));
        key = with_str(key, "server_identifier", c->server_identifier);
        key = with_str(key, "local_identifier", c->ak_name_hex);
        key = with_str(key, "public", c->ak_public_b64);
        key = with(key, "allowable_hash_algorithms", str_list(c->hash_alg));
        key = with(key, "allowable_signature_schemes", str_list(c->sign_alg));
        caps = with(caps, "hash_algorithms", str_list(c->hash_alg));
        caps = with(caps, "signature_schemes", str_list(c->sign_alg));
        caps = with(caps, "available_subjects", with(kl_json_object(), c->hash_alg, all_pcrs()));
        return with(caps, "certification_keys", plus(kl_json_array(), key));
}

static kl_json *log_caps(int64_t entries, bool partial, const char *format, const char *version)
{
        kl_json *caps = kl_json_object();

        if (version != NULL)
                caps = with_str(caps, "evidence_version", version);
        if (entries >= 0)
                caps = with(caps, "entry_count", kl_json_int(entries));
        caps = with(caps, "supports_partial_access", kl_json_bool(partial));
        caps = with(caps, "appendable", kl_json_bool(partial));
        return with(caps, "formats", str_list(format));
}

char *push_json_capabilities(const struct push_caps *c)
{
        kl_json *list = plus(kl_json_array(),
                             item("certification", "tpm_quote", "capabilities", quote_caps(c)));
        kl_json *attrs;

        if (c->uefi)
                list = plus(list,
                            item("log", "uefi_log", "capabilities",
                                 log_caps(-1, false, "application/octet-stream", c->uefi_version)));
        if (c->ima_entries >= 0)
                list = plus(list, item("log", "ima_log", "capabilities",
                                       log_caps(c->ima_entries, true, "text/plain", NULL)));
        attrs = with(kl_json_object(), "evidence_supported", list);
        attrs = with(attrs, "system_info", with_str(kl_json_object(), "boot_time", c->boot_time));
        return document("attestation", NULL, attrs);
}

char *push_json_evidence(const struct push_evidence *e)
{
        const char *p1 = e->quote + 1, *p2, *p3;
        kl_json *q, *list;

        /* kl_quote_encode made it: "r" then three base64 parts separated by ':' */
        if (e->quote[0] != 'r' || (p2 = strchr(p1, ':')) == NULL ||
            (p3 = strchr(p2 + 1, ':')) == NULL)
                return NULL;
        q = with_str(kl_json_object(), "subject_data", p3 + 1);
        q = with(q, "message", kl_json_string_len(p1, (size_t)(p2 - p1)));
        q = with(q, "signature", kl_json_string_len(p2 + 1, (size_t)(p3 - p2 - 1)));
        list = plus(kl_json_array(), item("certification", "tpm_quote", "data", q));
        if (e->uefi_b64 != NULL)
                list = plus(list, item("log", "uefi_log", "data",
                                       with_str(kl_json_object(), "entries", e->uefi_b64)));
        if (e->ima != NULL) {
                kl_json *d =
                    with(kl_json_object(), "entry_count", kl_json_int((int64_t)e->ima_count));

                d = with(d, "entries", kl_json_string_len(e->ima, e->ima_len));
                list = plus(list, item("log", "ima_log", "data", d));
        }
        return document("attestation", NULL, with(kl_json_object(), "evidence_collected", list));
}

/* ---- parsers ------------------------------------------------------------ */

/* data (lent by *ret_root), data.attributes; data.type must be type. */
static int open_doc(const char *body, size_t len, const char *type, kl_json **ret_root,
                    kl_json **ret_data, kl_json **ret_attrs, char *why, size_t why_len)
{
        kl_json *root = NULL;
        const char *t = NULL;

        if (kl_json_parse_object(body, len, &root) < 0)
                return bad(why, why_len, "answer is not a JSON object");
        if (kl_json_get_object(root, "data", ret_data) < 0 ||
            kl_json_get_string(*ret_data, "type", &t) < 0 || strcmp(t, type) != 0 ||
            kl_json_get_object(*ret_data, "attributes", ret_attrs) < 0) {
                kl_json_free(root);
                snprintf(why, why_len, "answer has no data of type \"%s\" with attributes", type);
                return KL_ERR_INVAL;
        }
        *ret_root = root;
        return 0;
}

/* data.id as a string (upstream sends strings; an integer is accepted too). */
static int doc_id(const kl_json *data, char out[PUSH_ID_MAX + 1])
{
        kl_json *v = kl_json_member(data, "id");
        /* an integer id as it is written in JSON */
        char *num = kl_json_is(v, KL_JSON_INT) ? kl_json_to_string(v) : NULL;
        const char *s = num != NULL ? num : kl_json_string_value(v);
        int r = KL_ERR_INVAL;

        if (s == NULL || s[0] == '\0' || strlen(s) > PUSH_ID_MAX)
                goto out;
        for (const char *c = s; *c != '\0'; c++) {
                if (!(*c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
                      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                        goto out; /* it goes into a URL path */
        }
        memcpy(out, s, strlen(s) + 1);
        r = 0;
out:
        free(num);
        return r;
}

/* base64 challenge, or its raw bytes when it is not base64 (as upstream's agent). */
static int challenge(const kl_json *params, uint8_t out[PUSH_CHALLENGE_MAX], size_t *ret_len)
{
        const char *s = NULL;
        uint8_t *dec = NULL;
        size_t n = 0;

        if (kl_json_get_string(params, "challenge", &s) < 0 || s[0] == '\0')
                return KL_ERR_INVAL;
        if (kl_b64_decode(s, strlen(s), &dec, &n) == 0 && n > 0 && n <= PUSH_CHALLENGE_MAX) {
                memcpy(out, dec, n);
                free(dec);
                *ret_len = n;
                return 0;
        }
        free(dec);
        if ((n = strlen(s)) > PUSH_CHALLENGE_MAX)
                return KL_ERR_INVAL;
        memcpy(out, s, n);
        *ret_len = n;
        return 0;
}

int push_json_parse_challenge(const char *body, size_t len, char ret_id[PUSH_ID_MAX + 1],
                              uint8_t ret_challenge[PUSH_CHALLENGE_MAX], size_t *ret_len, char *why,
                              size_t why_len)
{
        kl_json *root = NULL, *data = NULL, *attrs = NULL, *list = NULL, *m, *params;
        int r;

        if ((r = open_doc(body, len, "session", &root, &data, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "session answer without id or tpm_pop challenge");
        if (doc_id(data, ret_id) < 0 ||
            kl_json_get_array(attrs, "authentication_requested", &list) < 0)
                goto out;
        for (size_t i = 0; i < kl_json_length(list); i++) {
                const char *t = NULL;

                m = kl_json_at(list, i);
                if (kl_json_get_string(m, "authentication_type", &t) == 0 &&
                    strcmp(t, "tpm_pop") == 0 &&
                    kl_json_get_object(m, "chosen_parameters", &params) == 0 &&
                    challenge(params, ret_challenge, ret_len) == 0) {
                        r = 0;
                        break;
                }
        }
out:
        kl_json_free(root);
        return r;
}

int push_json_parse_token(const char *body, size_t len, char ret_token[PUSH_TOKEN_MAX + 1],
                          char *why, size_t why_len)
{
        kl_json *root = NULL, *data = NULL, *attrs = NULL;
        const char *ev = NULL, *tok = NULL;
        int r;

        if ((r = open_doc(body, len, "session", &root, &data, &attrs, why, why_len)) < 0)
                return r;
        if (kl_json_get_string(attrs, "evaluation", &ev) < 0 || strcmp(ev, "pass") != 0) {
                r = bad(why, why_len, "the verifier did not accept the proof (evaluation fail)");
                goto out;
        }
        r = bad(why, why_len, "no usable token in the session answer");
        if (kl_json_get_string(attrs, "token", &tok) < 0 || tok[0] == '\0' ||
            strlen(tok) > PUSH_TOKEN_MAX || strpbrk(tok, "\r\n") != NULL)
                goto out;
        memcpy(ret_token, tok, strlen(tok) + 1);
        r = 0;
out:
        kl_json_free(root);
        return r;
}

static int copy_name(const kl_json *obj, const char *key, char *out, size_t cap)
{
        const char *s = NULL;

        if (kl_json_get_string(obj, key, &s) < 0 || strlen(s) >= cap)
                return KL_ERR_INVAL;
        memcpy(out, s, strlen(s) + 1);
        return 0;
}

static int parse_quote_params(const kl_json *params, struct push_request *r)
{
        kl_json *subj = NULL, *pcrs = NULL;

        if (challenge(params, r->challenge, &r->challenge_len) < 0 ||
            copy_name(params, "hash_algorithm", r->hash_alg, sizeof(r->hash_alg)) < 0 ||
            copy_name(params, "signature_scheme", r->sign_alg, sizeof(r->sign_alg)) < 0)
                return KL_ERR_INVAL;
        if (kl_json_get_object(params, "selected_subjects", &subj) < 0)
                return KL_ERR_INVAL;
        if ((pcrs = kl_json_member(subj, r->hash_alg)) == NULL)
                return 0; /* nothing asked in our bank: PCR 16 alone */
        if (!kl_json_is(pcrs, KL_JSON_ARRAY))
                return KL_ERR_INVAL;
        for (size_t i = 0; i < kl_json_length(pcrs); i++) {
                kl_json *n = kl_json_at(pcrs, i);
                int64_t v;

                if (!kl_json_is(n, KL_JSON_INT) || (v = kl_json_int_value(n)) < 0 ||
                    v >= KL_PCR_COUNT)
                        return KL_ERR_INVAL;
                r->mask |= 1u << v;
        }
        return 0;
}

static int get_u64(const kl_json *obj, const char *key, uint64_t *ret)
{
        int64_t v = 0;
        int r = kl_json_get_int(obj, key, &v);

        if (r == KL_ERR_NOT_FOUND)
                return 0;
        if (r < 0 || v < 0)
                return KL_ERR_INVAL;
        *ret = (uint64_t)v;
        return 0;
}

int push_json_parse_request(const char *body, size_t len, struct push_request *ret, char *why,
                            size_t why_len)
{
        kl_json *root = NULL, *data = NULL, *attrs = NULL, *list = NULL;
        struct push_request req = {0};
        bool quote = false;
        int r;

        if ((r = open_doc(body, len, "attestation", &root, &data, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "attestation answer without evidence_requested");
        /* upstream sends no data.id here (the Location header names the resource) */
        if ((kl_json_has(data, "id") && doc_id(data, req.index) < 0) ||
            kl_json_get_array(attrs, "evidence_requested", &list) < 0)
                goto out;
        for (size_t i = 0; i < kl_json_length(list); i++) {
                kl_json *it = kl_json_at(list, i), *params = NULL;
                const char *type = NULL;

                r = bad(why, why_len, "evidence_requested item without chosen_parameters");
                if (kl_json_get_string(it, "evidence_type", &type) < 0 ||
                    kl_json_get_object(it, "chosen_parameters", &params) < 0)
                        goto out;
                if (strcmp(type, "tpm_quote") == 0) {
                        r = bad(why, why_len, "tpm_quote parameters are malformed");
                        if (quote || parse_quote_params(params, &req) < 0)
                                goto out;
                        quote = true;
                } else if (strcmp(type, "ima_log") == 0) {
                        r = bad(why, why_len, "ima_log parameters are malformed");
                        if (get_u64(params, "starting_offset", &req.ima_offset) < 0 ||
                            get_u64(params, "entry_count", &req.ima_max) < 0)
                                goto out;
                        req.ima = true;
                } else if (strcmp(type, "uefi_log") == 0) {
                        req.uefi = true;
                }
        }
        r = bad(why, why_len, "the verifier asked for no tpm_quote");
        if (!quote)
                goto out;
        *ret = req;
        r = 0;
out:
        explicit_bzero(&req, sizeof(req));
        kl_json_free(root);
        return r;
}

int push_json_parse_accepted(const char *body, size_t len, long *ret_next_s,
                             char ret_evaluation[16])
{
        kl_json *root = NULL, *meta = NULL, *data = NULL, *attrs = NULL;
        const char *ev = NULL;
        int64_t next = 0;

        *ret_next_s = 0;
        ret_evaluation[0] = '\0';
        if (kl_json_parse_object(body, len, &root) < 0)
                return KL_ERR_INVAL;
        if (kl_json_get_object(root, "meta", &meta) == 0 &&
            kl_json_get_int(meta, "seconds_to_next_attestation", &next) == 0 && next > 0)
                *ret_next_s = next > 86400 ? 86400 : (long)next;
        if (kl_json_get_object(root, "data", &data) == 0 &&
            kl_json_get_object(data, "attributes", &attrs) == 0 &&
            kl_json_get_string(attrs, "evaluation", &ev) == 0 && strlen(ev) < 16)
                memcpy(ret_evaluation, ev, strlen(ev) + 1);
        kl_json_free(root);
        return 0;
}

void push_json_error_detail(const char *body, size_t len, char *out, size_t out_len)
{
        kl_json *root = NULL, *list = NULL;
        const char *d = NULL;

        out[0] = '\0';
        if (kl_json_parse_object(body, len, &root) < 0)
                return;
        /* kl_json_at is NULL for an empty list, and a non-object has no detail */
        if (kl_json_get_array(root, "errors", &list) == 0 &&
            kl_json_get_string(kl_json_at(list, 0), "detail", &d) == 0)
                snprintf(out, out_len, "%.200s", d);
        kl_json_free(root);
}
