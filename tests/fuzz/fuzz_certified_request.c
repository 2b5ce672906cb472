/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's parser of the certified-key request bodies
 * (certified_parse_request): POST /keys/certify, /keys/certificate and
 * /keys/prove, and the X.509 parse a certificate body then gets
 * (kl_x509_parse_any, as api_keys_certificate does). Input: one byte that
 * picks the route (0 certify, 1 certificate, 2 prove, modulo 3), then the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "certified_key.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const enum certified_route routes[] = {CERTIFIED_CERTIFY, CERTIFIED_CERTIFICATE,
                                                      CERTIFIED_PROVE};
        struct certified_request q;
        X509 *cert = NULL;
        char err[256];

        if (size == 0)
                return 0;
        if (certified_parse_request(routes[data[0] % 3], (const char *)data + 1, size - 1, &q, err,
                                    sizeof(err)) != 0)
                return 0;
        if (q.cert_pem != NULL &&
            kl_x509_parse_any((const uint8_t *)q.cert_pem, strlen(q.cert_pem), &cert) == 0)
                kl_x509_free(cert);
        certified_request_clear(&q);
        return 0;
}
