/* SPDX-License-Identifier: Apache-2.0 */
/* UUID helpers; randomness comes from getrandom(2). */
#include "uuid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "err.h"

#define KL_AGENT_ID_MAX 80

int kl_uuid_generate(char out[KL_UUID_STR_LEN + 1])
{
        uint8_t b[16];

        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
                return KL_ERR_SYSTEM;
        b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
        b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        snprintf(out, KL_UUID_STR_LEN + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                 b[15]);
        return 0;
}

bool kl_uuid_is_valid(const char *s)
{
        if (s == NULL || strlen(s) != KL_UUID_STR_LEN)
                return false;
        for (size_t i = 0; i < KL_UUID_STR_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
                        return false;
        }
        return true;
}

int kl_uuid_normalize(const char *s, char out[KL_UUID_STR_LEN + 1])
{
        if (!kl_uuid_is_valid(s))
                return KL_ERR_INVAL;
        for (size_t i = 0; i < KL_UUID_STR_LEN; i++)
                out[i] = (char)tolower((unsigned char)s[i]);
        out[KL_UUID_STR_LEN] = '\0';
        return 0;
}

bool kl_agent_id_is_valid(const char *s, size_t len)
{
        if (s == NULL || len == 0 || len > KL_AGENT_ID_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                if (!isalnum(c) && c != '-' && c != '_' && c != '.')
                        return false;
        }
        return true;
}
