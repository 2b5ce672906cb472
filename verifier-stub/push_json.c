/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON:API parsers of the push model (see push_json.h). Field names follow
 * upstream's verifier API 3.0; anything not needed by the stub's checks is
 * ignored, anything needed is checked for type and range.
 */
#include "push_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "err.h"
#include "json.h"
#include "quote.h"

#define B64_FIELD_MAX (KL_QUOTE_MAX_LEN)
#define UEFI_B64_MAX  (48u << 20)
#define IMA_TEXT_MAX  (64u << 20)

static int bad(char *why, size_t why_len, const char *what)
{
        snprintf(why, why_len, "%s", what);
        return KL_ERR_INVAL;
}

/* data.type must be `type`; *ret_attrs = data.attributes (lent by *ret_root, which the caller
 * puts). */
static int attributes(const char *body, size_t len, const char *type, struct json_object **ret_root,
                      struct json_object **ret_attrs, char *why, size_t why_len)
{
        struct json_object *root = NULL, *data = NULL;
        const char *t = NULL;

        if (kl_json_parse_object(body, len, &root) < 0)
                return bad(why, why_len, "body is not a JSON object");
        if (kl_json_get_object(root, "data", &data) < 0 ||
            kl_json_get_string(data, "type", &t) < 0 || strcmp(t, type) != 0 ||
            kl_json_get_object(data, "attributes", ret_attrs) < 0) {
                json_object_put(root);
                snprintf(why, why_len, "expected data.type \"%s\" and data.attributes", type);
                return KL_ERR_INVAL;
        }
        *ret_root = root;
        return 0;
}

static int agent_id(struct json_object *attrs, char out[KL_REST_AGENT_ID_MAX + 1], char *why,
                    size_t why_len)
{
        const char *id = NULL;

        if (kl_json_get_string(attrs, "agent_id", &id) < 0 ||
            !kl_rest_agent_id_copy(id, strlen(id), out))
                return bad(why, why_len, "agent_id is required and must be a valid agent ID");
        return 0;
}

/* The array member key (or NULL when absent or not an array). */
static struct json_object *array(struct json_object *obj, const char *key)
{
        struct json_object *v = NULL;

        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static bool str_is(struct json_object *obj, const char *key, const char *want)
{
        const char *s = NULL;

        return kl_json_get_string(obj, key, &s) == 0 && strcmp(s, want) == 0;
}

int ver_push_parse_session_create(const char *body, size_t len,
                                  char ret_agent_id[KL_REST_AGENT_ID_MAX + 1], char *why,
                                  size_t why_len)
{
        struct json_object *root = NULL, *attrs = NULL, *list;
        bool pop = false;
        int r;

        if ((r = attributes(body, len, "session", &root, &attrs, why, why_len)) < 0)
                return r;
        if ((r = agent_id(attrs, ret_agent_id, why, why_len)) < 0)
                goto out;
        r = bad(why, why_len, "authentication_supported must include tpm_pop");
        if ((list = array(attrs, "authentication_supported")) == NULL)
                goto out;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *m = json_object_array_get_idx(list, i);

                if (json_object_is_type(m, json_type_object) &&
                    str_is(m, "authentication_type", "tpm_pop"))
                        pop = true;
        }
        if (pop)
                r = 0;
out:
        json_object_put(root);
        return r;
}

static int b64_member(struct json_object *obj, const char *key, size_t max, uint8_t **ret,
                      size_t *ret_len)
{
        const char *s = NULL;

        if (kl_json_get_string(obj, key, &s) < 0 || s[0] == '\0' || strlen(s) > max ||
            kl_b64_decode(s, strlen(s), ret, ret_len) < 0)
                return KL_ERR_INVAL;
        return 0;
}

int ver_push_parse_session_pop(const char *body, size_t len, struct ver_push_pop *ret, char *why,
                               size_t why_len)
{
        struct json_object *root = NULL, *attrs = NULL, *list, *m, *data = NULL;
        struct ver_push_pop p = {0};
        int r;

        if ((r = attributes(body, len, "session", &root, &attrs, why, why_len)) < 0)
                return r;
        if ((r = agent_id(attrs, p.agent_id, why, why_len)) < 0)
                goto out;
        r = bad(why, why_len, "authentication_provided must hold one tpm_pop proof");
        if ((list = array(attrs, "authentication_provided")) == NULL ||
            json_object_array_length(list) < 1 ||
            !json_object_is_type(m = json_object_array_get_idx(list, 0), json_type_object) ||
            !str_is(m, "authentication_type", "tpm_pop") ||
            kl_json_get_object(m, "data", &data) < 0)
                goto out;
        if (b64_member(data, "message", B64_FIELD_MAX, &p.message, &p.message_len) < 0 ||
            b64_member(data, "signature", B64_FIELD_MAX, &p.signature, &p.signature_len) < 0) {
                r = bad(why, why_len, "proof data needs base64 message and signature");
                goto out;
        }
        *ret = p;
        memset(&p, 0, sizeof(p));
        r = 0;
out:
        ver_push_pop_clear(&p);
        json_object_put(root);
        return r;
}

void ver_push_pop_clear(struct ver_push_pop *p)
{
        if (p == NULL)
                return;
        free(p->message);
        free(p->signature);
        memset(p, 0, sizeof(*p));
}

int ver_push_bank_index(const char *name)
{
        static const char *const banks[VER_PUSH_BANKS] = {"sha1", "sha256", "sha384", "sha512"};

        for (int i = 0; i < VER_PUSH_BANKS; i++) {
                if (strcmp(name, banks[i]) == 0)
                        return i;
        }
        return -1;
}

/* available_subjects: {"bank": [pcr, ...]} (upstream also accepts a list: refused here). */
static int parse_subjects(struct json_object *caps, struct ver_push_caps *c, char *why,
                          size_t why_len)
{
        struct json_object *subj = NULL;

        if (kl_json_get_object(caps, "available_subjects", &subj) < 0)
                return bad(why, why_len, "tpm_quote needs available_subjects {bank: [PCRs]}");
        json_object_object_foreach(subj, bank, pcrs)
        {
                int b = ver_push_bank_index(bank);

                if (!json_object_is_type(pcrs, json_type_array))
                        return bad(why, why_len, "available_subjects values must be PCR lists");
                if (b < 0)
                        continue; /* a bank we cannot check, e.g. sm3_256 */
                for (size_t i = 0; i < json_object_array_length(pcrs); i++) {
                        struct json_object *n = json_object_array_get_idx(pcrs, i);
                        int64_t v;

                        if (!json_object_is_type(n, json_type_int) ||
                            (v = json_object_get_int64(n)) < 0 || v >= KL_PCR_COUNT)
                                return bad(why, why_len, "PCR numbers must be 0-23");
                        c->subjects[b] |= 1u << v;
                }
        }
        return 0;
}

static int parse_quote_caps(struct json_object *caps, struct ver_push_caps *c, char *why,
                            size_t why_len)
{
        struct json_object *list;

        if ((list = array(caps, "hash_algorithms")) == NULL)
                return bad(why, why_len, "tpm_quote needs hash_algorithms");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(list, i));
                int b = s != NULL ? ver_push_bank_index(s) : -1;

                if (b >= 0)
                        c->hash_algs |= 1u << b;
        }
        if ((list = array(caps, "signature_schemes")) == NULL)
                return bad(why, why_len, "tpm_quote needs signature_schemes");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(list, i));

                if (s == NULL)
                        continue;
                c->rsassa |= strcmp(s, "rsassa") == 0;
                c->rsapss |= strcmp(s, "rsapss") == 0;
                c->ecdsa |= strcmp(s, "ecdsa") == 0;
        }
        c->quote = true;
        return parse_subjects(caps, c, why, why_len);
}

static bool formats_has(struct json_object *caps, const char *format)
{
        struct json_object *list = array(caps, "formats");

        for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(list, i));

                if (s != NULL && strcmp(s, format) == 0)
                        return true;
        }
        return false;
}

int ver_push_parse_capabilities(const char *body, size_t len, struct ver_push_caps *ret, char *why,
                                size_t why_len)
{
        struct json_object *root = NULL, *attrs = NULL, *list, *sys = NULL;
        struct ver_push_caps c = {0};
        const char *bt = NULL;
        int r;

        if ((r = attributes(body, len, "attestation", &root, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "evidence_supported must be a list");
        if ((list = array(attrs, "evidence_supported")) == NULL)
                goto out;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                struct json_object *item = json_object_array_get_idx(list, i);
                struct json_object *caps = NULL;
                bool b = false;

                r = bad(why, why_len, "each evidence_supported item needs capabilities");
                if (!json_object_is_type(item, json_type_object) ||
                    kl_json_get_object(item, "capabilities", &caps) < 0)
                        goto out;
                if (str_is(item, "evidence_type", "tpm_quote")) {
                        if ((r = parse_quote_caps(caps, &c, why, why_len)) < 0)
                                goto out;
                } else if (str_is(item, "evidence_type", "ima_log")) {
                        r = bad(why, why_len, "ima_log needs entry_count >= 0");
                        if (kl_json_get_int(caps, "entry_count", &c.ima_entry_count) < 0 ||
                            c.ima_entry_count < 0)
                                goto out;
                        c.ima = kl_json_get_bool(caps, "supports_partial_access", &b) == 0 && b &&
                                formats_has(caps, "text/plain");
                } else if (str_is(item, "evidence_type", "uefi_log")) {
                        c.uefi = formats_has(caps, "application/octet-stream");
                }
        }
        if (kl_json_get_object(attrs, "system_info", &sys) == 0 &&
            kl_json_get_string(sys, "boot_time", &bt) == 0) {
                r = bad(why, why_len, "system_info.boot_time is too long");
                if (strlen(bt) >= sizeof(c.boot_time))
                        goto out;
                memcpy(c.boot_time, bt, strlen(bt) + 1);
        }
        r = bad(why, why_len, "evidence_supported must offer a tpm_quote");
        if (!c.quote)
                goto out;
        *ret = c;
        r = 0;
out:
        json_object_put(root);
        return r;
}

/* A base64 member of at most max characters without ':' (it becomes a quote part). */
static int quote_part(struct json_object *data, const char *key, const char **ret)
{
        const char *s = NULL;

        if (kl_json_get_string(data, key, &s) < 0 || s[0] == '\0' || strlen(s) > B64_FIELD_MAX ||
            strchr(s, ':') != NULL)
                return KL_ERR_INVAL;
        *ret = s;
        return 0;
}

static int parse_item(struct json_object *item, struct ver_push_evidence *e, char *why,
                      size_t why_len)
{
        struct json_object *data = NULL;
        const char *a, *b, *c, *s = NULL;

        if (!json_object_is_type(item, json_type_object) ||
            kl_json_get_object(item, "data", &data) < 0)
                return bad(why, why_len, "each evidence_collected item needs data");
        if (str_is(item, "evidence_type", "tpm_quote")) {
                if (e->quote != NULL)
                        return bad(why, why_len, "more than one tpm_quote");
                if (quote_part(data, "message", &a) < 0 || quote_part(data, "signature", &b) < 0 ||
                    quote_part(data, "subject_data", &c) < 0)
                        return bad(why, why_len,
                                   "tpm_quote needs base64 message, signature, subject_data");
                if (asprintf(&e->quote, "r%s:%s:%s", a, b, c) < 0) {
                        e->quote = NULL;
                        return KL_ERR_NOMEM;
                }
        } else if (str_is(item, "evidence_type", "ima_log")) {
                if (e->ima_entries != NULL)
                        return bad(why, why_len, "more than one ima_log");
                if (kl_json_get_string(data, "entries", &s) < 0 || strlen(s) > IMA_TEXT_MAX)
                        return bad(why, why_len, "ima_log needs entries as text");
                e->ima_len = strlen(s);
                if ((e->ima_entries = strdup(s)) == NULL)
                        return KL_ERR_NOMEM;
        } else if (str_is(item, "evidence_type", "uefi_log")) {
                if (e->uefi_log != NULL)
                        return bad(why, why_len, "more than one uefi_log");
                uint8_t *bin = NULL;
                size_t bin_len = 0;

                if (b64_member(data, "entries", UEFI_B64_MAX, &bin, &bin_len) < 0)
                        return bad(why, why_len, "uefi_log needs base64 entries");
                free(bin); /* checked here for a 400; the checks decode it again */
                (void)kl_json_get_string(data, "entries", &s);
                if ((e->uefi_log = strdup(s)) == NULL)
                        return KL_ERR_NOMEM;
        }
        return 0;
}

int ver_push_parse_evidence(const char *body, size_t len, struct ver_push_evidence *ret, char *why,
                            size_t why_len)
{
        struct json_object *root = NULL, *attrs = NULL, *list;
        struct ver_push_evidence e = {0};
        int r;

        if ((r = attributes(body, len, "attestation", &root, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "evidence_collected must be a list");
        if ((list = array(attrs, "evidence_collected")) == NULL)
                goto out;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                if ((r = parse_item(json_object_array_get_idx(list, i), &e, why, why_len)) < 0)
                        goto out;
        }
        r = bad(why, why_len, "evidence_collected must hold a tpm_quote");
        if (e.quote == NULL)
                goto out;
        *ret = e;
        memset(&e, 0, sizeof(e));
        r = 0;
out:
        ver_push_evidence_clear(&e);
        json_object_put(root);
        return r;
}

void ver_push_evidence_clear(struct ver_push_evidence *e)
{
        if (e == NULL)
                return;
        free(e->quote);
        free(e->ima_entries);
        free(e->uefi_log);
        memset(e, 0, sizeof(*e));
}

static const char *title(int code)
{
        switch (code) {
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 409:
                return "Conflict";
        case 410:
                return "Gone";
        case 415:
                return "Unsupported Media Type";
        case 422:
                return "Unprocessable Content";
        case 429:
                return "Too Many Requests";
        case 503:
                return "Service Unavailable";
        default:
                return code >= 500 ? "Internal Server Error" : "Error";
        }
}

char *ver_push_error_body(int code, const char *detail)
{
        struct json_object *root = json_object_new_object();
        struct json_object *list = json_object_new_array();
        struct json_object *err = json_object_new_object();
        char status[8];
        char *out = NULL;

        snprintf(status, sizeof(status), "%d", code);
        if (root == NULL || list == NULL || err == NULL ||
            json_object_object_add(err, "status", json_object_new_string(status)) != 0 ||
            json_object_object_add(err, "title", json_object_new_string(title(code))) != 0 ||
            json_object_object_add(err, "detail", json_object_new_string(detail)) != 0 ||
            json_object_array_add(list, err) != 0)
                goto out;
        err = NULL;
        if (json_object_object_add(root, "errors", list) != 0)
                goto out;
        list = NULL;
        out = kl_json_to_string(root);
out:
        json_object_put(err);
        json_object_put(list);
        json_object_put(root);
        return out;
}
