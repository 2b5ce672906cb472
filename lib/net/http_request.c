/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Request decoding and body buffering for the HTTP server (see
 * http_request.h). Owns only the body buffer it grows; never logs peer data.
 */
#include "http_request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define BODY_MIN_CAP 4096

size_t kl_http_unescape(char *s)
{
        char *w = s;
        const char *r = s;
        int hi, lo;

        while (*r != '\0') {
                if (r[0] == '%' && (hi = kl_hex_digit_value(r[1])) >= 0 &&
                    (lo = kl_hex_digit_value(r[2])) >= 0 && (hi | lo) != 0) {
                        *w++ = (char)((hi << 4) | lo);
                        r += 3;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
        return (size_t)(w - s);
}

bool kl_http_content_length(const char *v, unsigned long long *ret)
{
        char *end = NULL;
        unsigned long long n;

        if (v == NULL || *v < '0' || *v > '9')
                return false;
        errno = 0;
        n = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
                return false;
        *ret = n;
        return true;
}

/* Takes add bytes from the budget unless that would pass its limit. */
static bool reserve(struct kl_http_budget *budget, size_t add)
{
        size_t used = atomic_load(&budget->used);

        do {
                if (add > budget->limit || used > budget->limit - add)
                        return false;
        } while (!atomic_compare_exchange_weak(&budget->used, &used, used + add));
        return true;
}

static void release(struct kl_http_budget *budget, size_t n)
{
        if (n != 0)
                atomic_fetch_sub(&budget->used, n);
}

static void drop(struct kl_http_body *b, struct kl_http_budget *budget)
{
        if (b->buf != NULL) {
                explicit_bzero(b->buf, b->cap);
                free(b->buf);
        }
        release(budget, b->cap);
        b->buf = NULL;
        b->len = b->cap = 0;
}

static enum kl_http_body_state refuse(struct kl_http_body *b, struct kl_http_budget *budget,
                                      enum kl_http_body_state why, size_t len)
{
        drop(b, budget);
        b->state = why;
        b->discarded += len;
        return why;
}

enum kl_http_body_state kl_http_body_append(struct kl_http_body *b, const char *data, size_t len,
                                            size_t max, struct kl_http_budget *budget)
{
        size_t want, cap;
        char *nb;

        if (b->state != KL_HTTP_BODY_OK) {
                if (len > KL_HTTP_DISCARD_LIMIT - b->discarded) /* discarded <= the limit */
                        b->state = KL_HTTP_BODY_ABORT;
                else
                        b->discarded += len;
                return b->state;
        }
        if (len > max - b->len) /* b->len <= max always holds */
                return refuse(b, budget, KL_HTTP_BODY_TOO_LARGE, len);
        want = b->len + len + 1;
        if (want > b->cap) {
                cap = b->cap != 0 ? b->cap : BODY_MIN_CAP;
                while (cap < want)
                        cap *= 2;
                if (cap > max + 1)
                        cap = max + 1;
                if (!reserve(budget, cap - b->cap))
                        return refuse(b, budget, KL_HTTP_BODY_BUSY, len);
                if ((nb = malloc(cap)) == NULL) {
                        release(budget, cap - b->cap);
                        return refuse(b, budget, KL_HTTP_BODY_BUSY, len);
                }
                /* Copy then wipe, rather than realloc, so no stale copy of the body survives. */
                if (b->buf != NULL) {
                        memcpy(nb, b->buf, b->len);
                        explicit_bzero(b->buf, b->cap);
                        free(b->buf);
                }
                b->buf = nb;
                b->cap = cap;
        }
        memcpy(b->buf + b->len, data, len);
        b->len += len;
        b->buf[b->len] = '\0';
        return KL_HTTP_BODY_OK;
}

void kl_http_body_clear(struct kl_http_body *b, struct kl_http_budget *budget)
{
        drop(b, budget);
        b->discarded = 0;
        b->state = KL_HTTP_BODY_OK;
}
