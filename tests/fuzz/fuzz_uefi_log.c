/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: arbitrary bytes as a binary UEFI event log. Must never crash or leak. */
#include <stdint.h>
#include <stdlib.h>

#include "uefi_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_uefi_pcrs pcrs;
        char why[256];

        (void)kl_uefi_log_replay(data, size, &pcrs, why, sizeof(why));
        return 0;
}
