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

/* obj[key] = string s (NULL-safe for obj chains built below); false on ENOMEM. */
static bool put_str(struct json_object *obj, const char *key, const char *s)
{
        struct json_object *v = json_object_new_string(s);

        if (v == NULL || json_object_object_add(obj, key, v) != 0) {
                json_object_put(v);
                return false;
        }
        return true;
}

static bool put(struct json_object *obj, const char *key, struct json_object *v)
{
        if (obj == NULL || v == NULL || json_object_object_add(obj, key, v) != 0) {
                json_object_put(v);
                return false;
        }
        return true;
}

static bool push_item(struct json_object *list, struct json_object *v)
{
        if (list == NULL || v == NULL || json_object_array_add(list, v) != 0) {
                json_object_put(v);
                return false;
        }
        return true;
}

/* {"data": {"type": type, ["id": id,] "attributes": attrs}} serialised; takes attrs. */
static char *document(const char *type, const char *id, struct json_object *attrs)
{
        struct json_object *root = json_object_new_object();
        struct json_object *data = json_object_new_object();
        char *out = NULL;

        if (root == NULL || data == NULL || !put_str(data, "type", type) ||
            (id != NULL && !put_str(data, "id", id)) || !put(data, "attributes", attrs)) {
                attrs = NULL;
                goto out;
        }
        attrs = NULL;
        if (!put(root, "data", data)) {
                data = NULL;
                goto out;
        }
        data = NULL;
        out = kl_json_to_string(root);
out:
        json_object_put(attrs);
        json_object_put(data);
        json_object_put(root);
        return out;
}

static struct json_object *pop_method(void)
{
        struct json_object *m = json_object_new_object();

        if (m == NULL || !put_str(m, "authentication_class", "pop") ||
            !put_str(m, "authentication_type", "tpm_pop")) {
                json_object_put(m);
                return NULL;
        }
        return m;
}

char *push_json_session_request(const char *agent_id)
{
        struct json_object *attrs = json_object_new_object();
        struct json_object *list = json_object_new_array();

        if (attrs == NULL || !put_str(attrs, "agent_id", agent_id) ||
            !push_item(list, pop_method()) || !put(attrs, "authentication_supported", list)) {
                json_object_put(attrs);
                return NULL;
        }
        return document("session", NULL, attrs);
}

char *push_json_session_proof(const char *session_id, const char *agent_id, const uint8_t *attest,
                              size_t attest_len, const uint8_t *sig, size_t sig_len)
{
        struct json_object *attrs = json_object_new_object();
        struct json_object *list = json_object_new_array();
        struct json_object *m = pop_method();
        struct json_object *data = json_object_new_object();
        char *a = NULL, *s = NULL, *out = NULL;

        if (kl_b64_encode(attest, attest_len, &a) < 0 || kl_b64_encode(sig, sig_len, &s) < 0 ||
            data == NULL || !put_str(data, "message", a) || !put_str(data, "signature", s) ||
            !put(m, "data", data)) {
                data = NULL;
                goto out;
        }
        data = NULL;
        if (!push_item(list, m)) {
                m = NULL;
                goto out;
        }
        m = NULL;
        if (attrs == NULL || !put_str(attrs, "agent_id", agent_id) ||
            !put(attrs, "authentication_provided", list)) {
                list = NULL;
                goto out;
        }
        list = NULL;
        out = document("session", session_id, attrs);
        attrs = NULL;
out:
        json_object_put(data);
        json_object_put(m);
        json_object_put(list);
        json_object_put(attrs);
        free(a);
        free(s);
        return out;
}

static struct json_object *str_list(const char *s)
{
        struct json_object *l = json_object_new_array();

        if (!push_item(l, json_object_new_string(s))) {
                json_object_put(l);
                return NULL;
        }
        return l;
}

static struct json_object *all_pcrs(void)
{
        struct json_object *l = json_object_new_array();

        for (int i = 0; l != NULL && i < KL_PCR_COUNT; i++) {
                if (!push_item(l, json_object_new_int(i))) {
                        json_object_put(l);
                        return NULL;
                }
        }
        return l;
}

static struct json_object *item(const char *cls, const char *type, const char *member,
                                struct json_object *content)
{
        struct json_object *o = json_object_new_object();

        if (o == NULL || !put_str(o, "evidence_class", cls) || !put_str(o, "evidence_type", type) ||
            !put(o, member, content)) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static struct json_object *quote_caps(const struct push_caps *c)
{
        struct json_object *caps = json_object_new_object();
        struct json_object *subj = json_object_new_object();
        struct json_object *keys = json_object_new_array();
        struct json_object *key = json_object_new_object();

        if (key == NULL || !put_str(key, "key_class", "asymmetric") ||
            !put_str(key, "key_algorithm", c->rsa ? "rsa" : "ecc") ||
            !put(key, "key_size", json_object_new_int((int)c->key_bits)) ||
            !put_str(key, "server_identifier", c->server_identifier) ||
            !put_str(key, "local_identifier", c->ak_name_hex) ||
            !put_str(key, "public", c->ak_public_b64) ||
            !put(key, "allowable_hash_algorithms", str_list(c->hash_alg)) ||
            !put(key, "allowable_signature_schemes", str_list(c->sign_alg)) ||
            !push_item(keys, key)) {
                key = NULL;
                goto fail;
        }
        key = NULL;
        if (!put(subj, c->hash_alg, all_pcrs()) || caps == NULL ||
            !put_str(caps, "component_version", "2.0") ||
            !put(caps, "hash_algorithms", str_list(c->hash_alg)) ||
            !put(caps, "signature_schemes", str_list(c->sign_alg)) ||
            !put(caps, "available_subjects", subj)) {
                subj = NULL;
                goto fail;
        }
        subj = NULL;
        if (!put(caps, "certification_keys", keys)) {
                keys = NULL;
                goto fail;
        }
        return caps;
fail:
        json_object_put(key);
        json_object_put(keys);
        json_object_put(subj);
        json_object_put(caps);
        return NULL;
}

static struct json_object *log_caps(int64_t entries, bool partial, const char *format,
                                    const char *version)
{
        struct json_object *caps = json_object_new_object();

        if (caps == NULL || (version != NULL && !put_str(caps, "evidence_version", version)) ||
            (entries >= 0 && !put(caps, "entry_count", json_object_new_int64(entries))) ||
            !put(caps, "supports_partial_access", json_object_new_boolean(partial)) ||
            !put(caps, "appendable", json_object_new_boolean(partial)) ||
            !put(caps, "formats", str_list(format))) {
                json_object_put(caps);
                return NULL;
        }
        return caps;
}

char *push_json_capabilities(const struct push_caps *c)
{
        struct json_object *attrs = json_object_new_object();
        struct json_object *list = json_object_new_array();
        struct json_object *sys = json_object_new_object();

        if (!push_item(list, item("certification", "tpm_quote", "capabilities", quote_caps(c))) ||
            (c->uefi && !push_item(list, item("log", "uefi_log", "capabilities",
                                              log_caps(-1, false, "application/octet-stream",
                                                       c->uefi_version)))) ||
            (c->ima_entries >= 0 &&
             !push_item(list, item("log", "ima_log", "capabilities",
                                   log_caps(c->ima_entries, true, "text/plain", NULL)))) ||
            attrs == NULL || !put(attrs, "evidence_supported", list)) {
                list = NULL;
                goto fail;
        }
        list = NULL;
        if (sys == NULL || !put_str(sys, "boot_time", c->boot_time) ||
            !put(attrs, "system_info", sys)) {
                sys = NULL;
                goto fail;
        }
        return document("attestation", NULL, attrs);
fail:
        json_object_put(list);
        json_object_put(sys);
        json_object_put(attrs);
        return NULL;
}

char *push_json_evidence(const struct push_evidence *e)
{
        struct json_object *attrs = json_object_new_object();
        struct json_object *list = json_object_new_array();
        struct json_object *q = json_object_new_object();
        const char *p1 = e->quote + 1, *p2, *p3;
        char *parts[3] = {NULL, NULL, NULL};

        /* kl_quote_encode made it: "r" then three base64 parts separated by ':' */
        if (e->quote[0] != 'r' || (p2 = strchr(p1, ':')) == NULL ||
            (p3 = strchr(p2 + 1, ':')) == NULL)
                goto fail;
        if ((parts[0] = strndup(p1, (size_t)(p2 - p1))) == NULL ||
            (parts[1] = strndup(p2 + 1, (size_t)(p3 - p2 - 1))) == NULL ||
            (parts[2] = strdup(p3 + 1)) == NULL || q == NULL ||
            !put_str(q, "subject_data", parts[2]) || !put_str(q, "message", parts[0]) ||
            !put_str(q, "signature", parts[1]) ||
            !push_item(list, item("certification", "tpm_quote", "data", q))) {
                q = NULL;
                goto fail;
        }
        q = NULL;
        if (e->uefi_b64 != NULL) {
                struct json_object *d = json_object_new_object();

                if (d == NULL || !put_str(d, "entries", e->uefi_b64) ||
                    !push_item(list, item("log", "uefi_log", "data", d))) {
                        json_object_put(d);
                        goto fail;
                }
        }
        if (e->ima != NULL) {
                struct json_object *d = json_object_new_object();

                if (d == NULL ||
                    !put(d, "entry_count", json_object_new_int64((int64_t)e->ima_count)) ||
                    !put(d, "entries", json_object_new_string_len(e->ima, (int)e->ima_len)) ||
                    !push_item(list, item("log", "ima_log", "data", d))) {
                        json_object_put(d);
                        goto fail;
                }
        }
        for (int i = 0; i < 3; i++)
                free(parts[i]);
        if (attrs == NULL || !put(attrs, "evidence_collected", list)) {
                json_object_put(attrs);
                return NULL;
        }
        return document("attestation", NULL, attrs);
fail:
        for (int i = 0; i < 3; i++)
                free(parts[i]);
        json_object_put(q);
        json_object_put(list);
        json_object_put(attrs);
        return NULL;
}

/* ---- parsers ------------------------------------------------------------ */

/* data (lent by *ret_root), data.attributes; data.type must be type. */
static int open_doc(const char *body, size_t len, const char *type, struct json_object **ret_root,
                    struct json_object **ret_data, struct json_object **ret_attrs, char *why,
                    size_t why_len)
{
        struct json_object *root = NULL;
        const char *t = NULL;

        if (kl_json_parse_object(body, len, &root) < 0)
                return bad(why, why_len, "answer is not a JSON object");
        if (kl_json_get_object(root, "data", ret_data) < 0 ||
            kl_json_get_string(*ret_data, "type", &t) < 0 || strcmp(t, type) != 0 ||
            kl_json_get_object(*ret_data, "attributes", ret_attrs) < 0) {
                json_object_put(root);
                snprintf(why, why_len, "answer has no data of type \"%s\" with attributes", type);
                return KL_ERR_INVAL;
        }
        *ret_root = root;
        return 0;
}

/* data.id as a string (upstream sends strings; an integer is accepted too). */
static int doc_id(struct json_object *data, char out[PUSH_ID_MAX + 1])
{
        struct json_object *v = NULL;
        const char *s;

        if (!json_object_object_get_ex(data, "id", &v) ||
            !(json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)))
                return KL_ERR_INVAL;
        s = json_object_get_string(v);
        if (s == NULL || s[0] == '\0' || strlen(s) > PUSH_ID_MAX)
                return KL_ERR_INVAL;
        for (const char *c = s; *c != '\0'; c++) {
                if (!(*c == '-' || *c == '_' || *c == '.' || (*c >= '0' && *c <= '9') ||
                      (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                        return KL_ERR_INVAL; /* it goes into a URL path */
        }
        memcpy(out, s, strlen(s) + 1);
        return 0;
}

/* base64 challenge, or its raw bytes when it is not base64 (as upstream's agent). */
static int challenge(struct json_object *params, uint8_t out[PUSH_CHALLENGE_MAX], size_t *ret_len)
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
        struct json_object *root = NULL, *data = NULL, *attrs = NULL, *list = NULL, *m, *params;
        int r;

        if ((r = open_doc(body, len, "session", &root, &data, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "session answer without id or tpm_pop challenge");
        if (doc_id(data, ret_id) < 0 ||
            !json_object_object_get_ex(attrs, "authentication_requested", &list) ||
            !json_object_is_type(list, json_type_array))
                goto out;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                const char *t = NULL;

                m = json_object_array_get_idx(list, i);
                if (json_object_is_type(m, json_type_object) &&
                    kl_json_get_string(m, "authentication_type", &t) == 0 &&
                    strcmp(t, "tpm_pop") == 0 &&
                    kl_json_get_object(m, "chosen_parameters", &params) == 0 &&
                    challenge(params, ret_challenge, ret_len) == 0) {
                        r = 0;
                        break;
                }
        }
out:
        json_object_put(root);
        return r;
}

int push_json_parse_token(const char *body, size_t len, char ret_token[PUSH_TOKEN_MAX + 1],
                          char *why, size_t why_len)
{
        struct json_object *root = NULL, *data = NULL, *attrs = NULL;
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
        json_object_put(root);
        return r;
}

static int copy_name(struct json_object *obj, const char *key, char *out, size_t cap)
{
        const char *s = NULL;

        if (kl_json_get_string(obj, key, &s) < 0 || strlen(s) >= cap)
                return KL_ERR_INVAL;
        memcpy(out, s, strlen(s) + 1);
        return 0;
}

static int parse_quote_params(struct json_object *params, struct push_request *r)
{
        struct json_object *subj = NULL, *pcrs = NULL;

        if (challenge(params, r->challenge, &r->challenge_len) < 0 ||
            copy_name(params, "hash_algorithm", r->hash_alg, sizeof(r->hash_alg)) < 0 ||
            copy_name(params, "signature_scheme", r->sign_alg, sizeof(r->sign_alg)) < 0)
                return KL_ERR_INVAL;
        if (kl_json_get_object(params, "selected_subjects", &subj) < 0)
                return KL_ERR_INVAL;
        if (!json_object_object_get_ex(subj, r->hash_alg, &pcrs) || pcrs == NULL)
                return 0; /* nothing asked in our bank: PCR 16 alone */
        if (!json_object_is_type(pcrs, json_type_array))
                return KL_ERR_INVAL;
        for (size_t i = 0; i < json_object_array_length(pcrs); i++) {
                struct json_object *n = json_object_array_get_idx(pcrs, i);
                int64_t v;

                if (!json_object_is_type(n, json_type_int) || (v = json_object_get_int64(n)) < 0 ||
                    v >= KL_PCR_COUNT)
                        return KL_ERR_INVAL;
                r->mask |= 1u << v;
        }
        return 0;
}

static int get_u64(struct json_object *obj, const char *key, uint64_t *ret)
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
        struct json_object *root = NULL, *data = NULL, *attrs = NULL, *list = NULL;
        struct push_request req = {0};
        bool quote = false;
        int r;

        if ((r = open_doc(body, len, "attestation", &root, &data, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "attestation answer without evidence_requested");
        /* upstream sends no data.id here (the Location header names the resource) */
        if ((json_object_object_get_ex(data, "id", NULL) && doc_id(data, req.index) < 0) ||
            !json_object_object_get_ex(attrs, "evidence_requested", &list) ||
            !json_object_is_type(list, json_type_array))
                goto out;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *it = json_object_array_get_idx(list, i), *params = NULL;
                const char *type = NULL;

                r = bad(why, why_len, "evidence_requested item without chosen_parameters");
                if (!json_object_is_type(it, json_type_object) ||
                    kl_json_get_string(it, "evidence_type", &type) < 0 ||
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
        json_object_put(root);
        return r;
}

int push_json_parse_accepted(const char *body, size_t len, long *ret_next_s,
                             char ret_evaluation[16])
{
        struct json_object *root = NULL, *meta = NULL, *data = NULL, *attrs = NULL;
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
        json_object_put(root);
        return 0;
}

void push_json_error_detail(const char *body, size_t len, char *out, size_t out_len)
{
        struct json_object *root = NULL, *list = NULL, *e;
        const char *d = NULL;

        out[0] = '\0';
        if (kl_json_parse_object(body, len, &root) < 0)
                return;
        if (json_object_object_get_ex(root, "errors", &list) &&
            json_object_is_type(list, json_type_array) && json_object_array_length(list) > 0 &&
            json_object_is_type(e = json_object_array_get_idx(list, 0), json_type_object) &&
            kl_json_get_string(e, "detail", &d) == 0)
                snprintf(out, out_len, "%.200s", d);
        json_object_put(root);
}
