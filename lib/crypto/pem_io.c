/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the key and certificate files share inside the crypto room: reading a
 * small file and PEM text through a memory BIO. Not part of the kl_crypto
 * interface (pem_io.h is included only by this folder's files).
 */
#include "pem_io.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "err.h"
#include "fileio.h"
#include "primitives.h"

/* Reads a whole small file (key or certificate); KL_ERR_NOT_FOUND if missing. */
int kl_pem_read_small_file(const char *path, uint8_t **ret_buf, size_t *ret_len)
{
        return kl_file_read(path, KL_PEM_FILE_MAX, (char **)ret_buf, ret_len);
}

/* Copies a memory BIO's contents into a NUL-terminated heap string. */
int kl_pem_bio_to_string(BIO *bio, char **ret_str, size_t *ret_len)
{
        char *data = NULL, *s;
        long len = BIO_get_mem_data(bio, &data);

        if (len < 0 || data == NULL)
                return KL_ERR_INTERNAL;
        if ((s = malloc((size_t)len + 1)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(s, data, (size_t)len);
        s[len] = '\0';
        *ret_str = s;
        if (ret_len != NULL)
                *ret_len = (size_t)len;
        return 0;
}

int kl_pem_string(kl_pem_writer write, void *obj, const char *what, char **ret_pem)
{
        BIO *bio = NULL;
        int r;

        if (ret_pem == NULL)
                return KL_ERR_INVAL;
        if ((bio = BIO_new(BIO_s_mem())) == NULL)
                return KL_ERR_NOMEM;
        if (write(bio, obj) != 1) {
                r = kl_crypto_err(what);
                goto out;
        }
        r = kl_pem_bio_to_string(bio, ret_pem, NULL);
out:
        BIO_free(bio);
        return r;
}
