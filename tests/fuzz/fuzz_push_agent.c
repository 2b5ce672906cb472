/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: what a verifier can answer a push agent (push_json.h):
 * session challenge, token, chosen parameters, 202 meta, error objects.
 */
#include <stdint.h>

#include "push_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char id[PUSH_ID_MAX + 1];
        char token[PUSH_TOKEN_MAX + 1];
        uint8_t challenge[PUSH_CHALLENGE_MAX];
        size_t clen = 0;
        char why[256], detail[256], evaluation[16];
        struct push_request req;
        long next = 0;

        (void)push_json_parse_challenge(s, size, id, challenge, &clen, why, sizeof(why));
        (void)push_json_parse_token(s, size, token, why, sizeof(why));
        if (push_json_parse_request(s, size, &req, why, sizeof(why)) == 0 &&
            (req.challenge_len == 0 || req.challenge_len > PUSH_CHALLENGE_MAX))
                __builtin_trap();
        (void)push_json_parse_accepted(s, size, &next, evaluation);
        push_json_error_detail(s, size, detail, sizeof(detail));
        return 0;
}
