/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keylime revocation notices (proto-docs/revocation.md): the body
 * {"msg": "<JSON text>", "signature": "<base64>"} that the verifier sends
 * over ZeroMQ and REST, and its RSA-PSS signature (SHA-256, MGF1-SHA-256,
 * maximum salt when signing, any salt when verifying) over the exact bytes
 * of msg. Parsing never trusts the content: nothing here looks at msg's
 * fields before kl_revocation_verify succeeded. No ZeroMQ in here.
 */
#ifndef KL_REVOCATION_NOTICE_H
#define KL_REVOCATION_NOTICE_H

#include <openssl/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "json.h"

#define KL_REVOCATION_MAX     (1u << 20) /* whole body, also the ZeroMQ frame cap */
#define KL_REVOCATION_SIG_MAX 2048u      /* base64 characters: RSA-8192 needs 1368 */

struct kl_revocation {
        char *msg; /* NUL-terminated copy of the msg string, msg_len bytes */
        size_t msg_len;
        uint8_t *sig; /* decoded signature; sig_len 0 for "" (unsigned notice) */
        size_t sig_len;
};

/*
 * Parses a body of len bytes (no NUL needed). Both members must be strings
 * (KL_ERR_INVAL otherwise, KL_ERR_TOO_LONG past the caps); the signature
 * must be valid base64 or "". The caller owns *ret (kl_revocation_free).
 */
int kl_revocation_parse(const char *data, size_t len, struct kl_revocation **ret);
void kl_revocation_free(struct kl_revocation *rv); /* NULL-safe */

/*
 * 0 when the signature verifies with pub (an RSA key), KL_ERR_VERIFY when it
 * does not (including an empty signature or a non-RSA key). The certificate
 * variant takes the key from cert and also refuses (KL_ERR_VERIFY) a
 * certificate that is not valid now (kl_revocation_cert_current); its issuer
 * is not looked at: the agent trusts exactly this certificate.
 */
int kl_revocation_verify(const struct kl_revocation *rv, EVP_PKEY *pub);
int kl_revocation_verify_cert(const struct kl_revocation *rv, X509 *cert);

/*
 * True when now lies within cert's notBefore..notAfter. Upstream ignores the
 * dates; here an expired signing certificate cannot keep signing notices.
 */
bool kl_revocation_cert_current(X509 *cert, time_t now);

/* Base64 signature of msg[0..len) with the RSA private key; caller frees. */
int kl_revocation_sign(EVP_PKEY *key, const char *msg, size_t len, char **ret_b64);

/* The body text {"msg": msg, "signature": sig_b64}; caller frees. */
int kl_revocation_body(const char *msg, const char *sig_b64, char **ret_body);

/* msg parsed as a JSON object (only after verification!); caller kl_json_frees it. */
int kl_revocation_event(const struct kl_revocation *rv, kl_json **ret);

#endif
