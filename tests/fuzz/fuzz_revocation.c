/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The revocation notice parser and verifier the agent runs on every ZeroMQ
 * frame and REST body: kl_revocation_parse, then kl_revocation_verify_cert
 * against a fixed certificate (tests/data/revocation/test-cert.pem, public,
 * built in so the target needs no files), then the event parse that only a
 * verified notice reaches in the agent.
 */
#include <openssl/x509.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "revocation_notice.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cert_pem[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIDBTCCAe2gAwIBAgIUMdvVLurhVJw+zgZU+tDkLs5Gzo0wDQYJKoZIhvcNAQEL\n"
                               "BQAwEjEQMA4GA1UEAwwHa2V5bGltZTAeFw0yMjAxMjYxNjM3NTRaFw0yMzAxMjYx\n"
                               "NjM3NTRaMBIxEDAOBgNVBAMMB2tleWxpbWUwggEiMA0GCSqGSIb3DQEBAQUAA4IB\n"
                               "DwAwggEKAoIBAQDtx7FvpgAvcF46+UwVoETA+KmWrzPtpzai8BTmF4oOOX3GXMtp\n"
                               "vtjDFCYVvmbUWeQN8LqMBKoJ0O9mzB82FtXZAggSMoIy8Gimcq0TqSNCWFRs61Ho\n"
                               "KlkeJk5gcmgG1DiMzQ6Cp+A71aKrgheaxe4t44KkP6YldF6UAWduzUL3oJQ7QsQj\n"
                               "IWA5i0fZu+ZyTqImo9NzN20KqMCawtvCXjwUmA4qVPGgne6S0GggCnTdd7LAb15/\n"
                               "XPexmu+OWMH8pcfzp4wTlqar/cfJpKnb5aaemOzwwIhEMfp4gTfXyVKMP+3qCp77\n"
                               "KwbUyXDIMXBWssig85z7aGwVUmA00rQz5REfAgMBAAGjUzBRMB0GA1UdDgQWBBTw\n"
                               "nW9LUu8SeBOQJcL0MHkxxiMhejAfBgNVHSMEGDAWgBTwnW9LUu8SeBOQJcL0MHkx\n"
                               "xiMhejAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQB7DSJa3I75\n"
                               "e4Zgdmvzt9CUqvgxTUb2gzevXBk3QZclBogNXDoQNYYm1eifZ8PGNj14kDBwPWQi\n"
                               "rt0hB99O0eety5qUj7ro8lRzd7uZ/TrDGyt/mUJt05DU4zeH9mLLspQFfQqq18sO\n"
                               "5ytnqfrLANV+a8WUgqj/e12pkIvPfzlm8UUKW8qniEdiyVvh1MW8lmnJnlGk0AJn\n"
                               "fpdJO1jc+1c+MTngHN/K81e8Irn+Z9pR6xOmGpZdypnQfLJpHzCyE5vpLQEVxd28\n"
                               "3kts+VSvxSz1kaKI15mZHykWZ+L1DGYRG9Oopz49uPb9VjqUrSiWjc2lviLbEPeb\n"
                               "pJmGJUTwt5ea\n"
                               "-----END CERTIFICATE-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static X509 *cert;
        struct kl_revocation *rv = NULL;
        kl_json *ev = NULL;

        if (cert == NULL &&
            kl_x509_parse_any((const uint8_t *)cert_pem, strlen(cert_pem), &cert) < 0)
                abort();
        if (kl_revocation_parse((const char *)data, size, &rv) < 0)
                return 0;
        /* the test certificate expired: verify with its key so the signature check runs */
        (void)kl_revocation_verify(rv, X509_get0_pubkey(cert));
        if (kl_revocation_event(rv, &ev) == 0)
                kl_json_free(ev);
        kl_revocation_free(rv);
        return 0;
}
