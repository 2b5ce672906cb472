/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary text as an IMA ASCII list, replayed without a policy in the
 * sha256 bank and (split at a fuzzer-chosen point) in two polls of the sha1 bank. Must never
 * crash or leak; a failed replay must leave the state untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ima.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_ima_replay st, before;
        char why[256];
        size_t cut = size ? data[0] % (size + 1) : 0;

        kl_ima_replay_init(&st, 0x000B);
        (void)kl_ima_replay(&st, (const char *)data, size, NULL, NULL, why, sizeof(why));
        kl_ima_replay_init(&st, 0x0004);
        if (kl_ima_replay(&st, (const char *)data, cut, NULL, NULL, why, sizeof(why)) != 0)
                return 0;
        before = st;
        if (kl_ima_replay(&st, (const char *)data + cut, size - cut, NULL, before.pcr10, why,
                          sizeof(why)) != 0 &&
            memcmp(&st, &before, sizeof(st)) != 0)
                abort();
        return 0;
}
