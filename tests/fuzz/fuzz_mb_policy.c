/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes as a measured-boot policy, checked (when it parses)
 * against an all-zero replay that extended PCRs 0-7.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uefi_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_mb_policy *p = NULL;
        struct kl_uefi_pcrs pcrs;
        char why[256];

        if (kl_mb_policy_parse((const char *)data, size, &p, why, sizeof(why)) != 0)
                return 0;
        memset(&pcrs, 0, sizeof(pcrs));
        pcrs.mask = 0xff;
        (void)kl_mb_policy_check(p, &pcrs, why, sizeof(why));
        kl_mb_policy_free(p);
        return 0;
}
