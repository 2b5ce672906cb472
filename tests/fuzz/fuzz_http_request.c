/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the HTTP server does to a request itself (lib/net/http_request.c):
 * Content-Length check, percent-decoding of the path, and the body gathered
 * in chunks under a per-request cap and a server-wide budget. Input: byte 0
 * picks the cap (64 << (b & 7)) and the budget, then the Content-Length value
 * and the path, each up to a NUL, then chunks, each a length byte and data.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *take_string(const uint8_t *p, const uint8_t *end, char **ret)
{
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        size_t len = nul != NULL ? (size_t)(nul - p) : (size_t)(end - p);

        if ((*ret = malloc(len + 1)) == NULL)
                abort();
        memcpy(*ret, p, len);
        (*ret)[len] = '\0';
        return nul != NULL ? nul + 1 : end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *p = data + 1, *end = data + size;
        struct kl_http_budget budget = {.limit = 0};
        struct kl_http_body body = {0};
        char *clen_s = NULL, *path = NULL;
        unsigned long long clen;
        size_t max, before;

        if (size < 1)
                return 0;
        max = (size_t)64 << (data[0] & 7);
        budget.limit = (data[0] & 8) ? max / 2 : 4 * max;
        atomic_init(&budget.used, 0);
        p = take_string(p, end, &clen_s);
        p = take_string(p, end, &path);
        (void)kl_http_content_length(clen_s, &clen);
        before = strlen(path);
        if (kl_http_unescape(path) != strlen(path) || strlen(path) > before)
                abort();
        while (p < end) {
                size_t n = *p++;

                if (n > (size_t)(end - p))
                        n = (size_t)(end - p);
                if (kl_http_body_append(&body, (const char *)p, n, max, &budget) ==
                    KL_HTTP_BODY_ABORT)
                        break;
                p += n;
                if (body.len > max || atomic_load(&budget.used) != body.cap ||
                    (body.buf != NULL && body.buf[body.len] != '\0'))
                        abort();
        }
        kl_http_body_clear(&body, &budget);
        if (atomic_load(&budget.used) != 0)
                abort();
        free(clen_s);
        free(path);
        return 0;
}
