/* SPDX-License-Identifier: Apache-2.0 */
/* Zip archives through libzip (see zipfile.h). */
#include "zipfile.h"

#include <stdbool.h>
#include <stdlib.h>
#include <zip.h>

#include "err.h"
#include "log.h"

struct kl_zip {
        zip_t *za;
        uint64_t n;
};

struct kl_zip_writer {
        zip_t *za;
};

int kl_zip_open_buffer(const void *data, size_t len, struct kl_zip **ret, char *why, size_t why_len)
{
        struct kl_zip *z = calloc(1, sizeof(*z));
        zip_error_t ze;
        zip_source_t *src = NULL;
        zip_int64_t n;
        int r = KL_ERR_NOMEM;

        zip_error_init(&ze);
        if (z == NULL || (src = zip_source_buffer_create(data, len, 0, &ze)) == NULL)
                goto out;
        r = KL_ERR_INVAL;
        if ((z->za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze)) == NULL) {
                kl_why_set(why, why_len, "%s", zip_error_strerror(&ze));
                zip_source_free(src);
                goto out;
        }
        if ((n = zip_get_num_entries(z->za, 0)) < 0) {
                kl_why_set(why, why_len, "no entry count");
                goto out;
        }
        z->n = (uint64_t)n;
        *ret = z;
        z = NULL;
        r = 0;
out:
        kl_zip_close(z);
        zip_error_fini(&ze);
        return r;
}

uint64_t kl_zip_count(const struct kl_zip *z)
{
        return z->n;
}

int kl_zip_stat(struct kl_zip *z, uint64_t i, struct kl_zip_entry *ret)
{
        zip_uint8_t opsys = 0;
        zip_uint32_t attr = 0;
        zip_stat_t st;
        const char *name = zip_get_name(z->za, i, ZIP_FL_ENC_RAW);

        if (name == NULL || zip_stat_index(z->za, i, ZIP_FL_ENC_RAW, &st) != 0 ||
            !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE))
                return KL_ERR_INVAL;
        ret->name = name;
        ret->size = st.size;
        ret->comp_size = st.comp_size;
        ret->unix_mode = 0;
        if (zip_file_get_external_attributes(z->za, i, 0, &opsys, &attr) == 0 &&
            opsys == ZIP_OPSYS_UNIX)
                ret->unix_mode = attr >> 16;
        return 0;
}

int kl_zip_read_entry(struct kl_zip *z, uint64_t i, uint8_t *buf, size_t buf_len, kl_zip_sink sink,
                      void *ctx)
{
        zip_file_t *zf = zip_fopen_index(z->za, i, 0);
        int r = KL_ERR_INVAL;

        if (zf == NULL) {
                log_debug("zip entry %llu: %s", (unsigned long long)i, zip_strerror(z->za));
                return KL_ERR_INVAL; /* encrypted, unknown method, ... */
        }
        for (;;) {
                zip_int64_t n = zip_fread(zf, buf, buf_len);

                if (n < 0) {
                        log_debug("zip entry %llu: %s", (unsigned long long)i,
                                  zip_file_strerror(zf));
                        r = KL_ERR_INVAL; /* includes a CRC mismatch at the end */
                        break;
                }
                if (n == 0) {
                        r = 0;
                        break;
                }
                if ((r = sink(ctx, buf, (size_t)n)) < 0)
                        break;
        }
        zip_fclose(zf);
        return r;
}

void kl_zip_close(struct kl_zip *z)
{
        if (z == NULL)
                return;
        if (z->za != NULL)
                zip_discard(z->za);
        free(z);
}

int kl_zip_create(const char *path, struct kl_zip_writer **ret)
{
        struct kl_zip_writer *w = calloc(1, sizeof(*w));
        int err = 0;

        if (w == NULL)
                return KL_ERR_NOMEM;
        if ((w->za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err)) == NULL) {
                free(w);
                return KL_ERR_IO;
        }
        *ret = w;
        return 0;
}

int kl_zip_add_dir(struct kl_zip_writer *w, const char *name)
{
        return zip_dir_add(w->za, name, ZIP_FL_ENC_UTF_8) < 0 ? KL_ERR_IO : 0;
}

int kl_zip_add_file(struct kl_zip_writer *w, const char *name, const char *src_path,
                    bool executable)
{
        zip_source_t *src = zip_source_file(w->za, src_path, 0, -1);
        zip_int64_t idx;

        if (src == NULL)
                return KL_ERR_IO;
        if ((idx = zip_file_add(w->za, name, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE)) < 0) {
                zip_source_free(src);
                return KL_ERR_IO;
        }
        /* e.g. keeps the payload's autorun.sh executable */
        if (executable &&
            zip_file_set_external_attributes(w->za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                             (zip_uint32_t)(0100755u << 16)) != 0)
                return KL_ERR_IO;
        return 0;
}

int kl_zip_commit(struct kl_zip_writer *w)
{
        int r = 0;

        if (zip_close(w->za) < 0) {
                zip_discard(w->za);
                r = KL_ERR_IO;
        }
        free(w);
        return r;
}

void kl_zip_discard(struct kl_zip_writer *w)
{
        if (w == NULL)
                return;
        zip_discard(w->za);
        free(w);
}
