/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: a quote string through kl_quote_decode, and the same
 * bytes as a TPMS_ATTEST and a PCR blob. Must never crash or leak on any input.
 */
#include <stdint.h>

#include "quote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_quote q = {0};
        struct kl_attest_info info;
        struct kl_pcr_set pcrs;
        uint8_t digest[64];
        size_t len = 0;

        if (kl_quote_decode((const char *)data, size, &q) == 0) {
                (void)kl_attest_parse(q.attest, q.attest_len, &info);
                (void)kl_pcr_set_digest(&q.pcrs, digest, &len);
                kl_quote_clear(&q);
        }
        (void)kl_attest_parse(data, size, &info);
        if (kl_pcrblob_decode(data, size, &pcrs) == 0)
                (void)kl_pcr_set_digest(&pcrs, digest, &len);
        return 0;
}
