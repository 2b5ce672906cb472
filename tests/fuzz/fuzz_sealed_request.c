/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POST /keys/sealed body parser the handler uses (sealed_parse_request):
 * JSON, the name, kind, bank and PCR list, base64, the TPM2B_PUBLIC and its
 * attributes. Input: the body.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sealed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct sealed_object *o = NULL;
        char err[256];

        if (sealed_parse_request((const char *)data, size, &o, err, sizeof(err)) == 0)
                sealed_object_free(o);
        return 0;
}
