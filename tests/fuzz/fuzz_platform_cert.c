/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: a TCG platform attribute certificate (DER), then its attributes and dates. */
#include <stdint.h>

#include "platform_cert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_platform_cert *pc = NULL;
        char nb[21], na[21], serial[41];

        if (kl_platform_cert_parse(data, size, &pc) != 0)
                return 0;
        (void)kl_platform_cert_attrs(pc);
        (void)kl_platform_cert_validity(pc, nb, na);
        (void)kl_platform_cert_serial_hex(pc, serial, sizeof(serial));
        (void)kl_platform_cert_check_dates(pc, 0, NULL, 0);
        kl_platform_cert_free(pc);
        return 0;
}
