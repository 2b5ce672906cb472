/* SPDX-License-Identifier: Apache-2.0 */
/*
 * GnuTLS glue for a struct kl_http_tls_signer (http_server.h): an abstract
 * private key whose signatures come from the signer, and the certificate
 * callback libmicrohttpd hands to GnuTLS. Internal to lib/net.
 */
#ifndef KL_TLS_SIGNER_H
#define KL_TLS_SIGNER_H

#include "http_server.h"

struct kl_tls_signer_state;

/*
 * Parses cert_pem and wraps signer (which must outlive the state). GnuTLS's
 * certificate callback carries no user pointer, so one state is active per
 * process: KL_ERR_BUSY while another is.
 */
int kl_tls_signer_start(const struct kl_http_tls_signer *signer, const char *cert_pem,
                        struct kl_tls_signer_state **ret);
void kl_tls_signer_stop(struct kl_tls_signer_state *st); /* NULL-safe */
/* The gnutls_certificate_retrieve_function2 for MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *kl_tls_signer_callback(void);

#endif
