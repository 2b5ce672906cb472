/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The PEM files an mTLS listener of the stubs needs (its certificate, its
 * key, the CA its clients' certificates must chain to), read into the text
 * kl_http_server_options takes. The key is wiped when cleared.
 */
#ifndef KL_TLS_FILES_H
#define KL_TLS_FILES_H

struct kl_http_server_options;

struct kl_tls_files {
        char *cert;
        char *key;
        char *client_ca;
};

/*
 * Reads the three files (each at most 1 MiB) and points o's tls_* at them;
 * KL_ERR_* and a logged error naming the file otherwise. f must outlive the
 * server start; kl_tls_files_clear frees it (also after a failure).
 */
int kl_tls_files_load(struct kl_tls_files *f, const char *cert_file, const char *key_file,
                      const char *client_ca_file, struct kl_http_server_options *o);
void kl_tls_files_clear(struct kl_tls_files *f);

#endif
