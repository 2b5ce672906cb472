/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TCG Platform Certificates: RFC 5755 attribute certificates (AttributeCertificate,
 * version 2) profiled by the TCG Platform Certificate Profile. The holder is the
 * platform's EK certificate, named by issuer and serial number
 * (Holder.baseCertificateID); the platform's manufacturer, model, version and
 * serial number travel as directoryName attributes of the subjectAltName
 * extension (OIDs 2.23.133.5.1.1, .4, .5, .6). OpenSSL 3.0 has no attribute
 * certificate API, so the structures are OpenSSL ASN.1 templates, used both to
 * build (test PKI) and to parse; there is no hand-written DER walking.
 *
 * Parsing is strict: DER only (the input must re-encode to itself), version v2,
 * a baseCertificateID holder, a v2Form issuer with a directoryName, the inner and
 * outer signature algorithms equal, no unknown critical extension, and the
 * manufacturer, model and version present as UTF8Strings of 1..255 bytes.
 * Checks that fail write one sentence into why and return KL_ERR_VERIFY; a parse
 * failure is KL_ERR_INVAL.
 */
#ifndef KL_PLATFORM_CERT_H
#define KL_PLATFORM_CERT_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A platform certificate bigger than this is not one (NV indices are small). */
#define KL_PLATFORM_CERT_MAX (64 * 1024)
/* strmax of the TCG profile: attribute strings hold at most 255 bytes. */
#define KL_PLATFORM_STR_MAX 255

struct kl_platform_cert; /* opaque: the parsed certificate */

/* The platform attributes; serial may be NULL (the profile makes it optional). */
struct kl_platform_attrs {
        const char *manufacturer;
        const char *model;
        const char *version;
        const char *serial;
};

int kl_platform_cert_parse(const uint8_t *der, size_t len, struct kl_platform_cert **ret);
void kl_platform_cert_free(struct kl_platform_cert *pc); /* NULL-safe */

/* Borrowed from pc: valid until kl_platform_cert_free. */
const struct kl_platform_attrs *kl_platform_cert_attrs(const struct kl_platform_cert *pc);
/* Validity period as UTC "YYYY-MM-DDTHH:MM:SSZ" (out holds 21 bytes each). */
int kl_platform_cert_validity(const struct kl_platform_cert *pc, char not_before[21],
                              char not_after[21]);
/* The certificate's own serial number as lower-case hex (out holds 2 * 20 + 1 bytes). */
int kl_platform_cert_serial_hex(const struct kl_platform_cert *pc, char *out, size_t len);

/* The holder names ek_cert exactly: issuer DN and serial number. */
int kl_platform_cert_check_holder(const struct kl_platform_cert *pc, X509 *ek_cert, char *why,
                                  size_t why_len);
/* now lies inside notBefore..notAfter. */
int kl_platform_cert_check_dates(const struct kl_platform_cert *pc, time_t now, char *why,
                                 size_t why_len);
/*
 * The signature was made by a CA certificate of ca_dir (PEM files, as for
 * kl_x509_verify_with_ca_dir) whose subject is the certificate's issuer, and
 * that CA certificate itself verifies against ca_dir.
 */
int kl_platform_cert_verify(const struct kl_platform_cert *pc, const char *ca_dir, char *why,
                            size_t why_len);
/*
 * All of the above in the order a registrar reports them: parse ("not a DER
 * platform attribute certificate"), holder, dates, signature. *ret (optional)
 * receives the parsed certificate on success.
 */
int kl_platform_cert_check(const uint8_t *der, size_t len, X509 *ek_cert, const char *ca_dir,
                           time_t now, struct kl_platform_cert **ret, char *why, size_t why_len);

/* What kl_platform_cert_make puts into a new certificate. */
struct kl_platform_cert_spec {
        struct kl_platform_attrs attrs;
        uint64_t serial_number; /* of the attribute certificate itself; not 0 */
        time_t not_before;
        time_t not_after;
};

/*
 * Builds and signs (SHA-256) a platform certificate for the EK certificate
 * holder, issued by issuer_cert with issuer_key. DER into *ret_der (caller frees).
 */
int kl_platform_cert_make(const struct kl_platform_cert_spec *spec, X509 *holder, X509 *issuer_cert,
                          EVP_PKEY *issuer_key, uint8_t **ret_der, size_t *ret_len);

#endif
