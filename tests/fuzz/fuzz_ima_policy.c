/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: arbitrary bytes as a runtime policy; when one parses, a fixed two-line
 * list is checked against it so lookups and excludes run too.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ima.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char list[] = "10 1d8d532d463c9f8c205d0df7787669a85f93e260 ima-ng "
                           "sha1:0000000000000000000000000000000000000000 boot_aggregate\n"
                           "10 c156ebdcbfcd28fe1060ef4cdec0aab04d3a9b63 ima-ng "
                           "sha1:19f13b42c2745066347e76454788c0fe083643f3 /init\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_ima_policy *p = NULL;
        struct kl_ima_replay st;
        char why[256];

        if (kl_ima_policy_parse((const char *)data, size, &p, why, sizeof(why)) != 0)
                return 0;
        kl_ima_replay_init(&st, 0x0004);
        (void)kl_ima_replay(&st, list, sizeof(list) - 1, p, NULL, why, sizeof(why));
        kl_ima_policy_free(p);
        return 0;
}
