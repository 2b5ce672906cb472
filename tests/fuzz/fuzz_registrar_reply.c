/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registrar answers the agent parses (agent/registration.c): a GET
 * /version body (the version picked must be one the agent enables) and a
 * POST /agents/{id} body with the challenge blob. The same bytes go to both.
 */
#include <stdint.h>
#include <stdlib.h>

#include "registration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *enabled[] = {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6"};
        const size_t n = sizeof(enabled) / sizeof(enabled[0]);
        const char *picked = NULL;
        uint8_t *blob = NULL;
        size_t blob_len = 0, i;

        if (registration_pick_version((const char *)data, size, enabled, n, &picked) == 0 &&
            picked != NULL) {
                for (i = 0; i < n && enabled[i] != picked; i++)
                        ;
                if (i == n)
                        abort();
        }
        if (registration_parse_challenge((const char *)data, size, &blob, &blob_len) == 0)
                free(blob);
        return 0;
}
