/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the TOML subset parser (lib/core/toml.c), which reads
 * agent.conf. Each string value also goes through the Keylime list parser
 * (kl_config_parse_list), the other parser config.c applies to file input.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_value(void *ctx, const char *table, const char *key,
                    const struct kl_toml_value *value, unsigned line)
{
        char **items = NULL;

        (void)ctx;
        (void)table;
        (void)key;
        (void)line;
        if (value->type == KL_TOML_STRING &&
            kl_config_parse_list(value->u.str.ptr, &items, NULL) == 0)
                kl_strv_free(items);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char err[128];

        (void)kl_toml_parse((const char *)data, size, on_value, NULL, err, sizeof(err));
        return 0;
}
