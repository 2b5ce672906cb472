/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a client can send the verifier stub as policy. Input
 * starting with '{' is an add-agent request body (ver_add_request_parse, with
 * its tpm/IMA/mb policies); anything else is newline-separated --pcr strings.
 * A policy that parses must survive its own JSON round trip unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "add_request.h"
#include "json.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct ver_tpm_policy *p)
{
        struct ver_tpm_policy *again = calloc(1, sizeof(*again));
        kl_json *j = NULL;
        char why[256];

        if (again == NULL)
                return;
        if (ver_tpm_policy_to_json(p, &j) == 0) {
                if (ver_tpm_policy_from_json(j, again, why, sizeof(why)) != 0 ||
                    (p->mask != 0 && memcmp(p, again, sizeof(*p)) != 0))
                        abort();
        }
        kl_json_free(j);
        free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ver_add_request req = {0};
        struct ver_tpm_policy *p;
        char why[256];
        char *text;
        char *line;
        char *next;

        if (size > 0 && data[0] == '{') {
                if (ver_add_request_parse((const char *)data, size, &req, why, sizeof(why)) == 0)
                        roundtrip(&req.tpm_policy);
                ver_add_request_clear(&req);
                return 0;
        }
        if ((text = malloc(size + 1)) == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
                free(text);
                return 0;
        }
        memcpy(text, data, size);
        text[size] = '\0';
        for (line = text; line != NULL; line = next) {
                next = strchr(line, '\n');
                if (next != NULL)
                        *next++ = '\0';
                (void)ver_pcr_spec_add(p, line, why, sizeof(why));
        }
        roundtrip(p);
        free(p);
        free(text);
        return 0;
}
