/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The credential blob the registrar sends (tpm2-tools layout, checked by
 * kl_credblob_split before the TPM sees it): both parts must lie inside it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "makecred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *id = NULL, *secret = NULL;
        size_t id_len = 0, secret_len = 0;

        if (kl_credblob_split(data, size, &id, &id_len, &secret, &secret_len) != 0)
                return 0;
        if (id < data || id_len > size || id + id_len > data + size || secret < data ||
            secret_len > size || secret + secret_len > data + size)
                abort();
        return 0;
}
