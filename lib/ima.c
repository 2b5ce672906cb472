/* SPDX-License-Identifier: Apache-2.0 */
/* IMA measurement list replay and runtime policy (stub; see ima.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "ima.h"

int kl_ima_policy_parse(const char *json, size_t len, struct kl_ima_policy **ret, char *why,
                        size_t why_len)
{
        (void)json;
        (void)len;
        (void)ret;
        (void)why;
        (void)why_len;
        return KL_ERR_UNSUPPORTED;
}

void kl_ima_policy_free(struct kl_ima_policy *p)
{
        (void)p;
}

void kl_ima_replay_init(struct kl_ima_replay *st, uint16_t bank_alg)
{
        memset(st, 0, sizeof(*st));
        st->bank_alg = bank_alg;
}

int kl_ima_replay(struct kl_ima_replay *st, const char *text, size_t len,
                  const struct kl_ima_policy *policy, const uint8_t *quoted_pcr10, char *why,
                  size_t why_len)
{
        (void)st;
        (void)text;
        (void)len;
        (void)policy;
        (void)quoted_pcr10;
        (void)why;
        (void)why_len;
        return KL_ERR_UNSUPPORTED;
}
