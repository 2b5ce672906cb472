/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a push agent can send the verifier stub's API 3.0
 * routes (push_json.h). Every input goes through all four parsers: session
 * request, session proof, capabilities and evidence.
 */
#include <stdint.h>

#include "push_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char id[KL_REST_AGENT_ID_MAX + 1];
        char why[256];
        struct ver_push_pop pop = {0};
        struct ver_push_caps caps;
        struct ver_push_evidence ev = {0};

        (void)ver_push_parse_session_create(s, size, id, why, sizeof(why));
        (void)ver_push_parse_session_pop(s, size, &pop, why, sizeof(why));
        ver_push_pop_clear(&pop);
        (void)ver_push_parse_capabilities(s, size, &caps, why, sizeof(why));
        (void)ver_push_parse_evidence(s, size, &ev, why, sizeof(why));
        ver_push_evidence_clear(&ev);
        return 0;
}
