/* SPDX-License-Identifier: Apache-2.0 */
/* UEFI event log replay and measured-boot policy (stub; see uefi_log.h). */
#include "err.h"
#include "uefi_log.h"

int kl_uefi_log_replay(const uint8_t *log, size_t len, struct kl_uefi_pcrs *ret, char *why,
                       size_t why_len)
{
        (void)log;
        (void)len;
        (void)ret;
        (void)why;
        (void)why_len;
        return KL_ERR_UNSUPPORTED;
}

int kl_mb_policy_parse(const char *json, size_t len, struct kl_mb_policy **ret, char *why,
                       size_t why_len)
{
        (void)json;
        (void)len;
        (void)ret;
        (void)why;
        (void)why_len;
        return KL_ERR_UNSUPPORTED;
}

void kl_mb_policy_free(struct kl_mb_policy *p)
{
        (void)p;
}

int kl_mb_policy_check(const struct kl_mb_policy *p, const struct kl_uefi_pcrs *replay,
                       char *why, size_t why_len)
{
        (void)p;
        (void)replay;
        (void)why;
        (void)why_len;
        return KL_ERR_UNSUPPORTED;
}
