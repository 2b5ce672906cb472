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
static int attributes(const char *body, size_t len, const char *type, kl_json **ret_root,
                      kl_json **ret_attrs, char *why, size_t why_len)
{
        kl_json *root = NULL, *data = NULL;
        const char *t = NULL;

        if (kl_json_parse_object(body, len, &root) < 0)
                return bad(why, why_len, "body is not a JSON object");
        if (kl_json_get_object(root, "data", &data) < 0 ||
            kl_json_get_string(data, "type", &t) < 0 || strcmp(t, type) != 0 ||
            kl_json_get_object(data, "attributes", ret_attrs) < 0) {
                kl_json_free(root);
                snprintf(why, why_len, "expected data.type \"%s\" and data.attributes", type);
                return KL_ERR_INVAL;
        }
        *ret_root = root;
        return 0;
}

static int agent_id(kl_json *attrs, char out[KL_REST_AGENT_ID_MAX + 1], char *why, size_t why_len)
{
        const char *id = NULL;

        if (kl_json_get_string(attrs, "agent_id", &id) < 0 ||
            !kl_rest_agent_id_copy(id, strlen(id), out))
                return bad(why, why_len, "agent_id is required and must be a valid agent ID");
        return 0;
}

/* The array member key (or NULL when absent or not an array). */
static kl_json *array(const kl_json *obj, const char *key)
{
        kl_json *v = kl_json_member(obj, key);

        return kl_json_is(v, KL_JSON_ARRAY) ? v : NULL;
}

static bool str_is(kl_json *obj, const char *key, const char *want)
{
        const char *s = NULL;

        return kl_json_get_string(obj, key, &s) == 0 && strcmp(s, want) == 0;
}

int ver_push_parse_session_create(const char *body, size_t len,
                                  char ret_agent_id[KL_REST_AGENT_ID_MAX + 1], char *why,
                                  size_t why_len)
{
        kl_json *root = NULL, *attrs = NULL, *list;
        bool pop = false;
        int r;

        if ((r = attributes(body, len, "session", &root, &attrs, why, why_len)) < 0)
                return r;
        if ((r = agent_id(attrs, ret_agent_id, why, why_len)) < 0)
                goto out;
        r = bad(why, why_len, "authentication_supported must include tpm_pop");
        if ((list = array(attrs, "authentication_supported")) == NULL)
                goto out;
        for (size_t i = 0; i < kl_json_length(list); i++) {
                kl_json *m = kl_json_at(list, i);

                if (kl_json_is(m, KL_JSON_OBJECT) && str_is(m, "authentication_type", "tpm_pop"))
                        pop = true;
        }
        if (pop)
                r = 0;
out:
        kl_json_free(root);
        return r;
}

static int b64_member(kl_json *obj, const char *key, size_t max, uint8_t **ret, size_t *ret_len)
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
        kl_json *root = NULL, *attrs = NULL, *list, *m, *data = NULL;
        struct ver_push_pop p = {0};
        int r;

        if ((r = attributes(body, len, "session", &root, &attrs, why, why_len)) < 0)
                return r;
        if ((r = agent_id(attrs, p.agent_id, why, why_len)) < 0)
                goto out;
        r = bad(why, why_len, "authentication_provided must hold one tpm_pop proof");
        if ((list = array(attrs, "authentication_provided")) == NULL ||
            !kl_json_is(m = kl_json_at(list, 0), KL_JSON_OBJECT) ||
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
        kl_json_free(root);
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
static int parse_subjects(kl_json *caps, struct ver_push_caps *c, char *why, size_t why_len)
{
        kl_json *subj = NULL, *pcrs;
        const char *bank;

        if (kl_json_get_object(caps, "available_subjects", &subj) < 0)
                return bad(why, why_len, "tpm_quote needs available_subjects {bank: [PCRs]}");
        for (struct kl_json_iter it = kl_json_members(subj); kl_json_next(&it, &bank, &pcrs);) {
                int b = ver_push_bank_index(bank);

                if (!kl_json_is(pcrs, KL_JSON_ARRAY))
                        return bad(why, why_len, "available_subjects values must be PCR lists");
                if (b < 0)
                        continue; /* a bank we cannot check, e.g. sm3_256 */
                for (size_t i = 0; i < kl_json_length(pcrs); i++) {
                        kl_json *n = kl_json_at(pcrs, i);
                        int64_t v;

                        if (!kl_json_is(n, KL_JSON_INT) || (v = kl_json_int_value(n)) < 0 ||
                            v >= KL_PCR_COUNT)
                                return bad(why, why_len, "PCR numbers must be 0-23");
                        c->subjects[b] |= 1u << v;
                }
        }
        return 0;
}

static int parse_quote_caps(kl_json *caps, struct ver_push_caps *c, char *why, size_t why_len)
{
        kl_json *list;

        if ((list = array(caps, "hash_algorithms")) == NULL)
                return bad(why, why_len, "tpm_quote needs hash_algorithms");
        for (size_t i = 0; i < kl_json_length(list); i++) {
                const char *s = kl_json_string_value(kl_json_at(list, i));
                int b = s != NULL ? ver_push_bank_index(s) : -1;

                if (b >= 0)
                        c->hash_algs |= 1u << b;
        }
        if ((list = array(caps, "signature_schemes")) == NULL)
                return bad(why, why_len, "tpm_quote needs signature_schemes");
        for (size_t i = 0; i < kl_json_length(list); i++) {
                const char *s = kl_json_string_value(kl_json_at(list, i));

                if (s == NULL)
                        continue;
                c->rsassa |= strcmp(s, "rsassa") == 0;
                c->rsapss |= strcmp(s, "rsapss") == 0;
                c->ecdsa |= strcmp(s, "ecdsa") == 0;
        }
        c->quote = true;
        return parse_subjects(caps, c, why, why_len);
}

static bool formats_has(kl_json *caps, const char *format)
{
        kl_json *list = array(caps, "formats");

        for (size_t i = 0; i < kl_json_length(list); i++) {
                const char *s = kl_json_string_value(kl_json_at(list, i));

                if (s != NULL && strcmp(s, format) == 0)
                        return true;
        }
        return false;
}

int ver_push_parse_capabilities(const char *body, size_t len, struct ver_push_caps *ret, char *why,
                                size_t why_len)
{
        kl_json *root = NULL, *attrs = NULL, *list, *sys = NULL;
        struct ver_push_caps c = {0};
        const char *bt = NULL;
        int r;

        if ((r = attributes(body, len, "attestation", &root, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "evidence_supported must be a list");
        if ((list = array(attrs, "evidence_supported")) == NULL)
                goto out;
        for (size_t i = 0; i < kl_json_length(list); i++) {
                kl_json *item = kl_json_at(list, i);
                kl_json *caps = NULL;
                bool b = false;

                r = bad(why, why_len, "each evidence_supported item needs capabilities");
                if (kl_json_get_object(item, "capabilities", &caps) < 0)
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
        kl_json_free(root);
        return r;
}

/* A base64 member of at most max characters without ':' (it becomes a quote part). */
static int quote_part(kl_json *data, const char *key, const char **ret)
{
        const char *s = NULL;

        if (kl_json_get_string(data, key, &s) < 0 || s[0] == '\0' || strlen(s) > B64_FIELD_MAX ||
            strchr(s, ':') != NULL)
                return KL_ERR_INVAL;
        *ret = s;
        return 0;
}

static int parse_item(kl_json *item, struct ver_push_evidence *e, char *why, size_t why_len)
{
        kl_json *data = NULL;
        const char *a, *b, *c, *s = NULL;

        if (kl_json_get_object(item, "data", &data) < 0)
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
        kl_json *root = NULL, *attrs = NULL, *list;
        struct ver_push_evidence e = {0};
        int r;

        if ((r = attributes(body, len, "attestation", &root, &attrs, why, why_len)) < 0)
                return r;
        r = bad(why, why_len, "evidence_collected must be a list");
        if ((list = array(attrs, "evidence_collected")) == NULL)
                goto out;
        for (size_t i = 0; i < kl_json_length(list); i++) {
                if ((r = parse_item(kl_json_at(list, i), &e, why, why_len)) < 0)
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
        kl_json_free(root);
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
        kl_json *root = kl_json_object();
        kl_json *list = kl_json_array();
        kl_json *err = kl_json_object();
        char status[8];
        char *out = NULL;

        snprintf(status, sizeof(status), "%d", code);
        /* root takes list and list takes err, also when that fails; both are lent after */
        if (kl_json_set(root, "errors", list) < 0) {
                kl_json_free(err);
                goto out;
        }
        if (kl_json_append(list, err) < 0 || kl_json_set_string(err, "status", status) < 0 ||
            kl_json_set_string(err, "title", title(code)) < 0 ||
            kl_json_set_string(err, "detail", detail) < 0)
                goto out;
        out = kl_json_to_string(root);
out:
        kl_json_free(root);
        return out;
}
