/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stubs' REST path parsing (kl_rest_path_parse) and agent ID check
 * (kl_rest_agent_id_copy) on any path: the pieces must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *p, size_t len, const char *s, size_t s_len)
{
        if (len != 0 && (p < s || p + len > s + s_len))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct kl_rest_path rp;
        char id[KL_REST_AGENT_ID_MAX + 1];
        char *path = malloc(size + 1);

        if (path == NULL)
                return 0;
        memcpy(path, data, size);
        path[size] = '\0'; /* libmicrohttpd hands over a C string */
        kl_rest_path_parse(path, &rp);
        size = strlen(path);
        if (rp.route == KL_REST_ROUTE_AGENT) {
                inside(rp.version, rp.version_len, path, size);
                inside(rp.id, rp.id_len, path, size);
                if (rp.tail == NULL || rp.tail < path || rp.tail > path + size)
                        abort();
                if (kl_rest_agent_id_copy(rp.id, rp.id_len, id) && strlen(id) != rp.id_len)
                        abort();
        } else if (rp.route == KL_REST_ROUTE_AGENTS || rp.route == KL_REST_ROUTE_BAD_VERSION) {
                inside(rp.version, rp.version_len, path, size);
        }
        free(path);
        return 0;
}
