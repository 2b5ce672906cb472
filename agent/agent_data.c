/* SPDX-License-Identifier: Apache-2.0 */
/* Load and save agent_data.json (see agent_data.h for the format). */
#include "agent_data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "log.h"

#define AGENT_DATA_MAX_SIZE (64u * 1024)
#define AGENT_DATA_MAX_BLOB 4096

static int get_byte_array(const kl_json *obj, const char *key, uint8_t **ret, size_t *ret_len)
{
        kl_json *arr = NULL;
        uint8_t *buf = NULL;
        size_t n;

        if (kl_json_get_array(obj, key, &arr) < 0)
                return KL_ERR_INVAL;
        n = kl_json_length(arr);
        if (n == 0 || n > AGENT_DATA_MAX_BLOB)
                return KL_ERR_INVAL;
        if ((buf = malloc(n)) == NULL)
                return KL_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
                kl_json *v = kl_json_at(arr, i);
                int64_t b;

                if (!kl_json_is(v, KL_JSON_INT) || (b = kl_json_int_value(v)) < 0 || b > 255) {
                        kl_secure_free(buf, n);
                        return KL_ERR_INVAL;
                }
                buf[i] = (uint8_t)b;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int dup_string(const kl_json *obj, const char *key, char **ret)
{
        const char *s;
        int r = kl_json_get_string(obj, key, &s);

        if (r < 0)
                return KL_ERR_INVAL;
        if ((*ret = strdup(s)) == NULL)
                return KL_ERR_NOMEM;
        return 0;
}

int agent_data_load(const char *path, struct agent_data *ret)
{
        struct agent_data d = {0};
        kl_json *obj = NULL;
        uint8_t *ek_hash = NULL;
        size_t ek_hash_len = 0;
        char *text = NULL;
        size_t len = 0;
        int r;

        r = kl_file_read(path, AGENT_DATA_MAX_SIZE, &text, &len);
        if (r < 0)
                goto out;
        if ((r = kl_json_parse_object(text, len, &obj)) < 0)
                goto out;
        if ((r = dup_string(obj, "ak_hash_alg", &d.ak_hash_alg)) < 0 ||
            (r = dup_string(obj, "ak_sign_alg", &d.ak_sign_alg)) < 0 ||
            (r = get_byte_array(obj, "ak_public", &d.ak.pub, &d.ak.pub_len)) < 0 ||
            (r = get_byte_array(obj, "ak_private", &d.ak.priv, &d.ak.priv_len)) < 0 ||
            (r = get_byte_array(obj, "ek_hash", &ek_hash, &ek_hash_len)) < 0)
                goto out;
        /* ek_hash holds the ASCII of a hex string; keep it as text. */
        if ((d.ek_hash = strndup((const char *)ek_hash, ek_hash_len)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        *ret = d;
        memset(&d, 0, sizeof(d));
        r = 0;
out:
        agent_data_clear(&d);
        free(ek_hash);
        kl_json_free(obj);
        free(text);
        return r;
}

static int add_byte_array(kl_json *obj, const char *key, const uint8_t *buf, size_t len)
{
        kl_json *arr = kl_json_array();

        for (size_t i = 0; i < len; i++) {
                if (kl_json_append_int(arr, buf[i]) < 0) {
                        kl_json_free(arr);
                        return KL_ERR_NOMEM;
                }
        }
        return kl_json_set(obj, key, arr);
}

int agent_data_save(const char *path, const struct agent_data *data)
{
        kl_json *obj = kl_json_object();
        char *text = NULL;
        int r;

        if ((r = kl_json_set_string(obj, "ak_hash_alg", data->ak_hash_alg)) < 0 ||
            (r = kl_json_set_string(obj, "ak_sign_alg", data->ak_sign_alg)) < 0)
                goto out;
        if ((r = add_byte_array(obj, "ak_public", data->ak.pub, data->ak.pub_len)) < 0 ||
            (r = add_byte_array(obj, "ak_private", data->ak.priv, data->ak.priv_len)) < 0 ||
            (r = add_byte_array(obj, "ek_hash", (const uint8_t *)data->ek_hash,
                                strlen(data->ek_hash))) < 0)
                goto out;
        /* the layout the file has always had, '/' written as "\/" */
        text = kl_json_format(obj, KL_JSON_PRETTY | KL_JSON_ESCAPE_SLASH);
        r = text != NULL ? kl_file_write_atomic(path, text, strlen(text), 0600) : KL_ERR_NOMEM;
out:
        free(text);
        kl_json_free(obj);
        return r;
}

void agent_data_clear(struct agent_data *data)
{
        free(data->ak_hash_alg);
        free(data->ak_sign_alg);
        free(data->ek_hash);
        kl_tpm_ak_blob_clear(&data->ak);
        memset(data, 0, sizeof(*data));
}
