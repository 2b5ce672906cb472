/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: strict base64 decode; whatever decodes must re-encode to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *buf = NULL;
        char *again = NULL;
        size_t len = 0;

        if (kl_b64_decode((const char *)data, size, &buf, &len) == 0) {
                if (kl_b64_encode(buf, len, &again) != 0 || strlen(again) != size ||
                    memcmp(again, data, size) != 0)
                        abort(); /* the decoder accepted a non-canonical encoding */
        }
        free(again);
        free(buf);
        return 0;
}
