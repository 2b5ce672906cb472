/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certified keys: the request bodies and the record kept in keylime_dir (see
 * certified_key.h). Input is untrusted; every field is checked before use.
 */
#include "certified_key.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "b64.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "log.h"

#define RECORD_MAX (64u * 1024u)
#define B64_MAX    4096 /* a TPM2B_PUBLIC or TPM2B_PRIVATE is < 1 KiB */

void certified_request_clear(struct certified_request *q)
{
        if (q == NULL)
                return;
        free(q->cert_pem);
        free(q->challenge);
        memset(q, 0, sizeof(*q));
}

void certified_key_free(struct certified_key *k)
{
        if (k == NULL)
                return;
        free(k->pub);
        if (k->priv != NULL)
                explicit_bzero(k->priv, k->priv_len); /* wrapped by the EK, but still key */
        free(k->priv);
        free(k->cert_pem);
        free(k);
}

static int name_field(const kl_json *obj, char *out, size_t out_len, char *err, size_t err_len)
{
        const char *name = NULL;

        if (kl_json_get_string(obj, "name", &name) < 0 || !sealed_name_ok(name)) {
                snprintf(err, err_len,
                         "'name' must be 1 to %d of A-Z a-z 0-9 . _ - (not starting with '.')",
                         SEALED_NAME_MAX);
                return 400;
        }
        snprintf(out, out_len, "%s", name);
        return 0;
}

static int alg_field(const kl_json *obj, bool *ecc, char *err, size_t err_len)
{
        const char *alg = NULL;

        if (kl_json_get_string(obj, "alg", &alg) < 0 ||
            (strcmp(alg, "rsa") != 0 && strcmp(alg, "ecc") != 0)) {
                snprintf(err, err_len, "'alg' must be \"rsa\" (RSA-2048) or \"ecc\" (P-256)");
                return 400;
        }
        *ecc = strcmp(alg, "ecc") == 0;
        return 0;
}

/* A base64 field of 1..max decoded bytes into *ret (caller frees). */
static int b64_field(const kl_json *obj, const char *key, size_t max, uint8_t **ret,
                     size_t *ret_len, char *err, size_t err_len)
{
        const char *s = NULL;
        size_t n;

        if (kl_json_get_string(obj, key, &s) < 0 || (n = strlen(s)) == 0 || n > (max + 2) / 3 * 4 ||
            kl_b64_decode(s, n, ret, ret_len) < 0) {
                snprintf(err, err_len, "'%s' must be base64 of 1 to %zu bytes", key, max);
                return 400;
        }
        if (*ret_len == 0 || *ret_len > max) {
                free(*ret);
                *ret = NULL;
                snprintf(err, err_len, "'%s' must be base64 of 1 to %zu bytes", key, max);
                return 400;
        }
        return 0;
}

static int route_fields(enum certified_route route, const kl_json *obj, struct certified_request *q,
                        char *err, size_t err_len)
{
        const char *s = NULL;
        size_t n;
        int code;

        if ((code = name_field(obj, q->name, sizeof(q->name), err, err_len)) != 0)
                return code;
        switch (route) {
        case CERTIFIED_CERTIFY:
                if ((code = alg_field(obj, &q->ecc, err, err_len)) != 0)
                        return code;
                if (kl_json_get_string(obj, "nonce", &s) < 0 || kl_nonce_check(s) != KL_NONCE_OK) {
                        snprintf(err, err_len, "'nonce' must be 1 to %d of A-Z a-z 0-9",
                                 KL_NONCE_MAX);
                        return 400;
                }
                snprintf(q->nonce, sizeof(q->nonce), "%s", s);
                return 0;
        case CERTIFIED_CERTIFICATE:
                if (kl_json_get_string(obj, "certificate", &s) < 0 || (n = strlen(s)) == 0 ||
                    n > CERTIFIED_CERT_MAX || strstr(s, "-----BEGIN CERTIFICATE-----") == NULL) {
                        snprintf(err, err_len,
                                 "'certificate' must be a PEM certificate of at most "
                                 "%d characters",
                                 CERTIFIED_CERT_MAX);
                        return 400;
                }
                if ((q->cert_pem = strdup(s)) == NULL) {
                        snprintf(err, err_len, "out of memory");
                        return 500;
                }
                return 0;
        case CERTIFIED_PROVE:
                return b64_field(obj, "challenge", CERTIFIED_CHALLENGE_MAX, &q->challenge,
                                 &q->challenge_len, err, err_len);
        }
        return 400;
}

int certified_parse_request(enum certified_route route, const char *body, size_t len,
                            struct certified_request *ret, char *err, size_t err_len)
{
        kl_json *obj = NULL;
        int code = 400;

        memset(ret, 0, sizeof(*ret));
        if (body == NULL || kl_json_parse_object(body, len, &obj) < 0)
                snprintf(err, err_len, "the body is not a JSON object");
        else
                code = route_fields(route, obj, ret, err, err_len);
        if (code != 0)
                certified_request_clear(ret);
        kl_json_free(obj);
        return code;
}

static int record_path(const char *dir, const char *name, char *out, size_t len)
{
        int n = name != NULL ? snprintf(out, len, "%s/certified/%s.json", dir, name)
                             : snprintf(out, len, "%s/certified", dir);

        return n < 0 || (size_t)n >= len ? KL_ERR_TOO_LONG : 0;
}

int certified_record_store(const char *keylime_dir, const struct certified_key *k)
{
        kl_json *obj = kl_json_object();
        char path[4096], *text = NULL;
        int r = KL_ERR_NOMEM;

        if (obj == NULL || kl_json_set_string(obj, "name", k->name) < 0 ||
            kl_json_set_string(obj, "alg", k->ecc ? "ecc" : "rsa") < 0 ||
            kl_json_add_b64(obj, "public", k->pub, k->pub_len) < 0 ||
            kl_json_add_b64(obj, "private", k->priv, k->priv_len) < 0 ||
            (k->cert_pem != NULL && kl_json_set_string(obj, "certificate", k->cert_pem) < 0))
                goto out;
        if ((r = record_path(keylime_dir, NULL, path, sizeof(path))) < 0)
                goto out;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                log_error("cannot create %s: %s", path, strerror(errno));
                r = KL_ERR_IO;
                goto out;
        }
        if ((r = record_path(keylime_dir, k->name, path, sizeof(path))) < 0)
                goto out;
        text = kl_json_to_string(obj);
        r = text != NULL ? kl_file_write_atomic(path, text, strlen(text), 0600) : KL_ERR_NOMEM;
out:
        free(text);
        kl_json_free(obj);
        return r;
}

int certified_record_load(const char *keylime_dir, const char *name, struct certified_key **ret)
{
        kl_json *obj = NULL;
        struct certified_key *k = NULL;
        const char *cert = NULL;
        char path[4096], *text = NULL, err[256];
        size_t len = 0;
        int r;

        if (!sealed_name_ok(name))
                return KL_ERR_INVAL;
        if ((r = record_path(keylime_dir, name, path, sizeof(path))) < 0 ||
            (r = kl_file_read(path, RECORD_MAX, &text, &len)) < 0)
                goto out;
        r = KL_ERR_INVAL;
        if (kl_json_parse_object(text, len, &obj) < 0)
                goto out;
        if ((k = calloc(1, sizeof(*k))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (name_field(obj, k->name, sizeof(k->name), err, sizeof(err)) != 0 ||
            strcmp(k->name, name) != 0 || alg_field(obj, &k->ecc, err, sizeof(err)) != 0 ||
            b64_field(obj, "public", B64_MAX, &k->pub, &k->pub_len, err, sizeof(err)) != 0 ||
            b64_field(obj, "private", B64_MAX, &k->priv, &k->priv_len, err, sizeof(err)) != 0 ||
            (kl_json_get_string(obj, "certificate", &cert) == 0 &&
             (k->cert_pem = strdup(cert)) == NULL)) {
                log_error("%s is not a certified key record", path);
                goto out;
        }
        *ret = k;
        k = NULL;
        r = 0;
out:
        certified_key_free(k);
        kl_json_free(obj);
        free(text);
        return r;
}
