/* SPDX-License-Identifier: Apache-2.0 */
/* Loading of a listener's PEM files (see tls_files.h). */
#include "tls_files.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "http_server.h"
#include "log.h"

#define PEM_FILE_MAX (1u << 20)

static int read_pem(const char *what, const char *path, char **ret)
{
        size_t len = 0;
        int r;

        if (path == NULL) {
                log_error("mTLS needs %s", what);
                return KL_ERR_CONFIG;
        }
        if ((r = kl_file_read(path, PEM_FILE_MAX, ret, &len)) < 0)
                log_error("cannot read %s '%s': %s", what, path, kl_err_str(r));
        return r;
}

int kl_tls_files_load(struct kl_tls_files *f, const char *cert_file, const char *key_file,
                      const char *client_ca_file, struct kl_http_server_options *o)
{
        int r;

        memset(f, 0, sizeof(*f));
        if ((r = read_pem("a server certificate", cert_file, &f->cert)) < 0 ||
            (r = read_pem("a server key", key_file, &f->key)) < 0 ||
            (r = read_pem("a client CA certificate", client_ca_file, &f->client_ca)) < 0)
                return r;
        o->tls_cert_pem = f->cert;
        o->tls_key_pem = f->key;
        o->tls_client_ca_pem = f->client_ca;
        return 0;
}

void kl_tls_files_clear(struct kl_tls_files *f)
{
        if (f->key != NULL)
                explicit_bzero(f->key, strlen(f->key));
        free(f->key);
        free(f->cert);
        free(f->client_ca);
        memset(f, 0, sizeof(*f));
}
