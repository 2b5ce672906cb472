/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sealed transfer: the POST /keys/sealed body and the record kept in
 * keylime_dir (see sealed.h). Both are JSON with the same fields for what
 * they share; input is untrusted and every field is checked before use.
 */
#include "sealed.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hash_alg.h"
#include "json.h"
#include "key_record.h"
#include "log.h"
#include "tpm_public.h"

#include <tss2/tss2_tpm2_types.h>

#define RECORD_MAX (16u * 1024u)

void sealed_object_free(struct sealed_object *o)
{
        if (o == NULL)
                return;
        free(o->pub);
        if (o->priv != NULL)
                explicit_bzero(o->priv, o->priv_len); /* wrapped, but still key material */
        free(o->priv);
        free(o->seed);
        free(o->parent);
        free(o);
}

const char *sealed_kind_name(enum sealed_kind kind)
{
        return kind == SEALED_AES ? "aes" : "rsa";
}

void sealed_pcrs_str(const struct sealed_object *o, char *out, size_t len)
{
        const char *bank = kl_hash_alg_name(o->bank);
        size_t off = 0;
        int n = snprintf(out, len, "%s:", bank != NULL ? bank : "?");

        if (n < 0 || (size_t)n >= len)
                return;
        off = (size_t)n;
        for (unsigned i = 0; i < 24; i++) {
                if (!(o->mask & (1u << i)))
                        continue;
                n = snprintf(out + off, len - off, "%s%u", out[off - 1] == ':' ? "" : ",", i);
                if (n < 0 || (size_t)n >= len - off)
                        return;
                off += (size_t)n;
        }
}

/* "pcrs": [0, 7] into a mask: 1..24 distinct indices 0..23. */
static int pcrs_field(kl_json *obj, uint32_t *ret, char *err, size_t err_len)
{
        kl_json *arr = NULL;
        uint32_t mask = 0;
        size_t n;

        if (kl_json_get_array(obj, "pcrs", &arr) < 0 || (n = kl_json_length(arr)) == 0 || n > 24) {
                snprintf(err, err_len, "'pcrs' must be an array of 1 to 24 PCR indices");
                return 400;
        }
        for (size_t i = 0; i < n; i++) {
                kl_json *v = kl_json_at(arr, i);
                int64_t idx;

                if (!kl_json_is(v, KL_JSON_INT) || (idx = kl_json_int_value(v)) < 0 || idx > 23 ||
                    (mask & (1u << idx)) != 0) {
                        snprintf(err, err_len, "'pcrs' holds a bad or repeated PCR index");
                        return 400;
                }
                mask |= 1u << idx;
        }
        *ret = mask;
        return 0;
}

/* name, kind, bank, pcrs and public: the fields request and record share. */
static int common_fields(kl_json *obj, struct sealed_object *o, char *err, size_t err_len)
{
        const char *kind = NULL, *bank = NULL;
        struct kl_tpm_public *pub = NULL;
        const TPMT_PUBLIC *area;
        int code;

        if ((code = key_record_name_field(obj, o->name, err, err_len)) != 0)
                return code;
        if (kl_json_get_string(obj, "kind", &kind) < 0 ||
            (strcmp(kind, "aes") != 0 && strcmp(kind, "rsa") != 0)) {
                snprintf(err, err_len, "'kind' must be \"aes\" or \"rsa\"");
                return 400;
        }
        o->kind = strcmp(kind, "aes") == 0 ? SEALED_AES : SEALED_RSA;
        if (kl_json_get_string(obj, "bank", &bank) < 0 ||
            (o->bank = kl_hash_alg_from_name(bank)) == 0) {
                snprintf(err, err_len, "'bank' must name a PCR bank such as \"sha256\"");
                return 400;
        }
        if ((code = pcrs_field(obj, &o->mask, err, err_len)) != 0 ||
            (code = key_record_b64_field(obj, "public", SEALED_BLOB_MAX, &o->pub, &o->pub_len, err,
                                         err_len)) != 0)
                return code;
        if (kl_tpm_public_parse(o->pub, o->pub_len, &pub) < 0) {
                snprintf(err, err_len, "'public' is not a TPM2B_PUBLIC");
                return 400;
        }
        area = kl_tpm_public_area(pub);
        code = 400;
        if (area->type != (o->kind == SEALED_AES ? TPM2_ALG_KEYEDHASH : TPM2_ALG_RSA))
                snprintf(err, err_len, "'public' is not a %s object",
                         o->kind == SEALED_AES ? "sealed data" : "RSA key");
        else if ((area->objectAttributes & TPMA_OBJECT_USERWITHAUTH) != 0 ||
                 area->authPolicy.size == 0)
                snprintf(err, err_len, "'public' would be usable without its PCR policy");
        else
                code = 0;
        kl_tpm_public_free(pub);
        return code;
}

int sealed_parse_request(const char *body, size_t len, struct sealed_object **ret, char *err,
                         size_t err_len)
{
        kl_json *obj = NULL;
        struct sealed_object *o = NULL;
        int code = 400;

        if (kl_json_parse_object(body, len, &obj) < 0) {
                snprintf(err, err_len, "the body is not a JSON object");
                goto out;
        }
        if ((o = calloc(1, sizeof(*o))) == NULL) {
                snprintf(err, err_len, "out of memory");
                code = 500;
                goto out;
        }
        if ((code = common_fields(obj, o, err, err_len)) != 0 ||
            (code = key_record_b64_field(obj, "duplicate", SEALED_BLOB_MAX, &o->priv, &o->priv_len,
                                         err, err_len)) != 0 ||
            (code = key_record_b64_field(obj, "seed", SEALED_BLOB_MAX, &o->seed, &o->seed_len, err,
                                         err_len)) != 0 ||
            (code = key_record_b64_field(obj, "parent", SEALED_BLOB_MAX, &o->parent, &o->parent_len,
                                         err, err_len)) != 0)
                goto out;
        *ret = o;
        o = NULL;
        code = 0;
out:
        sealed_object_free(o);
        kl_json_free(obj);
        return code;
}

int sealed_record_store(const char *keylime_dir, const struct sealed_object *o)
{
        kl_json *obj = kl_json_object(), *pcrs = kl_json_array();
        int r = KL_ERR_NOMEM;

        if (pcrs == NULL || kl_json_set_string(obj, "name", o->name) < 0 ||
            kl_json_set_string(obj, "kind", sealed_kind_name(o->kind)) < 0 ||
            kl_json_set_string(obj, "bank", kl_hash_alg_name(o->bank)) < 0)
                goto out;
        for (unsigned i = 0; i < 24; i++)
                if ((o->mask & (1u << i)) && kl_json_append_int(pcrs, i) < 0)
                        goto out;
        r = kl_json_set(obj, "pcrs", pcrs); /* takes pcrs, also when it fails */
        pcrs = NULL;
        if (r == 0 && (kl_json_add_b64(obj, "public", o->pub, o->pub_len) < 0 ||
                       kl_json_add_b64(obj, "private", o->priv, o->priv_len) < 0))
                r = KL_ERR_NOMEM;
        if (r == 0)
                r = key_record_store(keylime_dir, "sealed", o->name, obj);
out:
        kl_json_free(pcrs);
        kl_json_free(obj);
        return r;
}

int sealed_record_load(const char *keylime_dir, const char *name, struct sealed_object **ret)
{
        kl_json *obj = NULL;
        struct sealed_object *o = NULL;
        char path[4096], err[256] = "it names another object";
        int r;

        if ((r = key_record_load(keylime_dir, "sealed", name, RECORD_MAX, &obj, path,
                                 sizeof(path))) < 0)
                return r;
        r = KL_ERR_NOMEM;
        if ((o = calloc(1, sizeof(*o))) == NULL)
                goto out;
        r = KL_ERR_INVAL;
        if (common_fields(obj, o, err, sizeof(err)) != 0 ||
            key_record_b64_field(obj, "private", SEALED_BLOB_MAX, &o->priv, &o->priv_len, err,
                                 sizeof(err)) != 0 ||
            strcmp(o->name, name) != 0) {
                log_error("%s is not a sealed object record: %s", path, err);
                goto out;
        }
        *ret = o;
        o = NULL;
        r = 0;
out:
        sealed_object_free(o);
        kl_json_free(obj);
        return r;
}
