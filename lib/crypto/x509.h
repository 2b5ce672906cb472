/* SPDX-License-Identifier: Apache-2.0 */
/* X.509 certificates (OpenSSL's X509, opaque to callers): parsing, files, chains. */
#ifndef KL_X509_H
#define KL_X509_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* STACK_OF(X509) below; declared here so the prototype does not get its own scope */
struct stack_st_X509;

void kl_x509_free(X509 *cert); /* NULL-safe */
/* Parses one certificate from PEM text, base64 DER text or raw DER (first object wins). */
int kl_x509_parse_any(const uint8_t *data, size_t len, X509 **ret_cert);
int kl_x509_load_file(const char *path, X509 **ret_cert);
/*
 * A certificate with the untrusted intermediates sent along with it (the EK
 * certificate as the Rust agent sends it): the NUL-terminated text is one
 * certificate as kl_x509_parse_any reads it and, when it is PEM, every
 * further PEM block is one link of *ret_chain (at most max_chain, else
 * KL_ERR_INVAL). The caller frees both (kl_x509_free, kl_x509_chain_free).
 */
int kl_x509_parse_bundle(const char *text, size_t max_chain, X509 **ret_cert,
                         STACK_OF(X509) * *ret_chain);
void kl_x509_chain_free(STACK_OF(X509) * chain); /* NULL-safe; frees every certificate */
int kl_x509_to_pem(X509 *cert, char **ret_pem);
int kl_x509_to_der(X509 *cert, uint8_t **ret_der, size_t *ret_len);
int kl_x509_save_pem(const char *path, X509 *cert);
/*
 * Self-signed certificate for key, CN = cn (cut to 64 bytes), subjectAltName
 * with the IP or DNS name san (NULL or "" for none), valid from now for `days`.
 */
int kl_x509_self_signed(EVP_PKEY *key, const char *cn, const char *san, unsigned days,
                        X509 **ret_cert);
/*
 * A certificate for key issued by ca_cert/ca_key (which must match): subject
 * "/CN=a/O=b" (openssl -subj style) or a bare CN, subjectAltName san (NULL
 * or "" for none), valid from now for days, basicConstraints CA:FALSE,
 * keyUsage digitalSignature, extendedKeyUsage serverAuth and clientAuth.
 * KL_ERR_INVAL for a bad subject or a CA key that is not the certificate's.
 */
int kl_x509_issue(EVP_PKEY *key, const char *subject, const char *san, unsigned days, X509 *ca_cert,
                  EVP_PKEY *ca_key, X509 **ret_cert);
/* The certificate's public key (caller kl_pkey_free()s); NULL if it has none. */
EVP_PKEY *kl_x509_public_key(X509 *cert);
/*
 * Verifies cert against the CA certificates (PEM files, any number of certs
 * each) found in directory ca_dir, with extra untrusted intermediates. TPM
 * EK certificate quirks are tolerated (unhandled critical SAN directoryName,
 * TCG EKU, no key usage for signing). On failure returns KL_ERR_VERIFY and
 * writes OpenSSL's reason into why.
 */
int kl_x509_verify_with_ca_dir(X509 *cert, const char *ca_dir, STACK_OF(X509) * untrusted,
                               char *why, size_t why_len);
/*
 * An X509_STORE of every certificate in the PEM files (.pem, .crt, .cer) of
 * ca_dir; caller frees. KL_ERR_VERIFY with a reason when there are none.
 */
int kl_x509_store_from_dir(const char *ca_dir, X509_STORE **ret_store, char *why, size_t why_len);

/* The certificate's public key equals key (the TLS certificate belongs to its key). */
bool kl_x509_matches_key(X509 *cert, EVP_PKEY *key);
/*
 * kl_x509_verify_with_ca_dir with the untrusted intermediates given as DER
 * (or PEM) blobs; a blob that does not parse is skipped.
 */
int kl_x509_verify_with_ca_dir_blobs(X509 *cert, const char *ca_dir, uint8_t *const *blobs,
                                     const size_t *lens, size_t n, char *why, size_t why_len);

#endif
