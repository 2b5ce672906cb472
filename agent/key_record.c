/* SPDX-License-Identifier: Apache-2.0 */
/* The records of TPM-resident keys in keylime_dir (see key_record.h). */
#include "key_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "b64.h"
#include "err.h"
#include "fileio.h"
#include "log.h"

bool key_record_name_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > KEY_RECORD_NAME_MAX || s[0] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

int key_record_name_field(const kl_json *obj, char *out, char *err, size_t err_len)
{
        const char *name = NULL;

        if (kl_json_get_string(obj, "name", &name) < 0 || !key_record_name_ok(name)) {
                snprintf(err, err_len,
                         "'name' must be 1 to %d of A-Z a-z 0-9 . _ - (not starting with '.')",
                         KEY_RECORD_NAME_MAX);
                return 400;
        }
        snprintf(out, KEY_RECORD_NAME_MAX + 1, "%s", name);
        return 0;
}

int key_record_b64_field(const kl_json *obj, const char *key, size_t max, uint8_t **ret,
                         size_t *ret_len, char *err, size_t err_len)
{
        const char *s = NULL;
        size_t n;

        *ret = NULL;
        if (kl_json_get_string(obj, key, &s) == 0 && (n = strlen(s)) > 0 &&
            n <= (max + 2) / 3 * 4 && kl_b64_decode(s, n, ret, ret_len) == 0) {
                if (*ret_len > 0 && *ret_len <= max)
                        return 0;
                free(*ret);
                *ret = NULL;
        }
        snprintf(err, err_len, "'%s' must be base64 of 1 to %zu bytes", key, max);
        return 400;
}

static int record_path(const char *dir, const char *folder, const char *name, char *out, size_t len)
{
        int n = name != NULL ? snprintf(out, len, "%s/%s/%s.json", dir, folder, name)
                             : snprintf(out, len, "%s/%s", dir, folder);

        return n < 0 || (size_t)n >= len ? KL_ERR_TOO_LONG : 0;
}

int key_record_store(const char *keylime_dir, const char *folder, const char *name,
                     const kl_json *obj)
{
        char path[4096], *text = NULL;
        int r;

        if (!key_record_name_ok(name))
                return KL_ERR_INVAL;
        if ((r = record_path(keylime_dir, folder, NULL, path, sizeof(path))) < 0)
                return r;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                log_error("cannot create %s: %s", path, strerror(errno));
                return KL_ERR_IO;
        }
        if ((r = record_path(keylime_dir, folder, name, path, sizeof(path))) < 0)
                return r;
        if ((text = kl_json_to_string(obj)) == NULL)
                return KL_ERR_NOMEM;
        r = kl_file_write_atomic(path, text, strlen(text), 0600);
        free(text);
        return r;
}

int key_record_load(const char *keylime_dir, const char *folder, const char *name, size_t max,
                    kl_json **ret, char *path, size_t path_len)
{
        char *text = NULL;
        size_t len = 0;
        int r;

        if (!key_record_name_ok(name))
                return KL_ERR_INVAL;
        if ((r = record_path(keylime_dir, folder, name, path, path_len)) < 0 ||
            (r = kl_file_read(path, max, &text, &len)) < 0)
                return r;
        if (kl_json_parse_object(text, len, ret) < 0) {
                log_error("%s is not a JSON object", path);
                r = KL_ERR_INVAL;
        }
        free(text);
        return r;
}
