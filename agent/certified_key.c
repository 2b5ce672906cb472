/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certified keys: the request bodies and the record kept in keylime_dir (see
 * certified_key.h). Input is untrusted; every field is checked before use.
 */
#include "certified_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "key_record.h"
#include "log.h"

#define RECORD_MAX (64u * 1024u)
#define BLOB_MAX   3072 /* bytes: a TPM2B_PUBLIC or TPM2B_PRIVATE is < 1 KiB */

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

static int route_fields(enum certified_route route, const kl_json *obj, struct certified_request *q,
                        char *err, size_t err_len)
{
        const char *s = NULL;
        size_t n;
        int code;

        if ((code = key_record_name_field(obj, q->name, err, err_len)) != 0)
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
                return key_record_b64_field(obj, "challenge", CERTIFIED_CHALLENGE_MAX,
                                            &q->challenge, &q->challenge_len, err, err_len);
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

int certified_record_store(const char *keylime_dir, const struct certified_key *k)
{
        kl_json *obj = kl_json_object();
        int r = KL_ERR_NOMEM;

        if (kl_json_set_string(obj, "name", k->name) == 0 &&
            kl_json_set_string(obj, "alg", k->ecc ? "ecc" : "rsa") == 0 &&
            kl_json_add_b64(obj, "public", k->pub, k->pub_len) == 0 &&
            kl_json_add_b64(obj, "private", k->priv, k->priv_len) == 0 &&
            (k->cert_pem == NULL || kl_json_set_string(obj, "certificate", k->cert_pem) == 0))
                r = key_record_store(keylime_dir, "certified", k->name, obj);
        kl_json_free(obj);
        return r;
}

int certified_record_load(const char *keylime_dir, const char *name, struct certified_key **ret)
{
        kl_json *obj = NULL;
        struct certified_key *k = NULL;
        const char *cert = NULL;
        char path[4096], err[256] = "it names another key";
        int r;

        if ((r = key_record_load(keylime_dir, "certified", name, RECORD_MAX, &obj, path,
                                 sizeof(path))) < 0)
                return r;
        r = KL_ERR_NOMEM;
        if ((k = calloc(1, sizeof(*k))) == NULL)
                goto out;
        r = KL_ERR_INVAL;
        if (key_record_name_field(obj, k->name, err, sizeof(err)) != 0 ||
            strcmp(k->name, name) != 0 || alg_field(obj, &k->ecc, err, sizeof(err)) != 0 ||
            key_record_b64_field(obj, "public", BLOB_MAX, &k->pub, &k->pub_len, err, sizeof(err)) !=
                0 ||
            key_record_b64_field(obj, "private", BLOB_MAX, &k->priv, &k->priv_len, err,
                                 sizeof(err)) != 0) {
                log_error("%s is not a certified key record: %s", path, err);
                goto out;
        }
        r = KL_ERR_NOMEM;
        if (kl_json_get_string(obj, "certificate", &cert) == 0 &&
            (k->cert_pem = strdup(cert)) == NULL)
                goto out;
        *ret = k;
        k = NULL;
        r = 0;
out:
        certified_key_free(k);
        kl_json_free(obj);
        return r;
}
