/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Registrar stub request bodies: the first byte picks the handler (register
 * under a URL id, register with agent_id in the body, activate), the rest is
 * the body, fed to the same functions the HTTP routes call, with an
 * in-memory SQLite store that lives across inputs.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api.h"
#include "log.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct reg_store *store;
static struct reg_api api;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char id[] = "d432fbb3-d2f1-4a97-9ef7-75bd81c00000";
        struct kl_http_reply reply = {0};
        const char *body = (const char *)data + 1;

        if (store == NULL) {
                kl_log_set_level(KL_LOG_ERROR);
                if (reg_store_open(":memory:", &store) < 0 || reg_api_init(&api, store, NULL) < 0)
                        abort();
        }
        if (size < 1)
                return 0;
        switch (data[0] % 3) {
        case 0:
                reg_api_register(&api, id, body, size - 1, &reply);
                break;
        case 1:
                reg_api_register(&api, NULL, body, size - 1, &reply);
                break;
        default:
                reg_api_activate(&api, id, body, size - 1, &reply);
                break;
        }
        if (reply.status < 200 || reply.status > 599 || reply.body == NULL)
                abort(); /* every input gets an answer with an envelope */
        free(reply.body);
        return 0;
}
