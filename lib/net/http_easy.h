/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the two libcurl clients of lib/net (http_client.c, one request per
 * call; http_multi.c, many in flight) share: the capped body sink and the TLS
 * options of an easy handle. Internal to lib/net: programs use
 * http_client.h and http_multi.h.
 */
#ifndef KL_HTTP_EASY_H
#define KL_HTTP_EASY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_client.h"

struct kl_http_body_sink {
        char *data;
        size_t len;
        size_t cap;   /* bytes allocated at data */
        bool too_big; /* the peer sent more than KL_HTTP_CLIENT_MAX_BODY */
};

/* CURLOPT_WRITEFUNCTION for a struct kl_http_body_sink (NUL-terminated, capped). */
size_t kl_http_collect_body(char *ptr, size_t size, size_t nmemb, void *userdata);
/* CAINFO, SSLCERT, SSLKEY and the verification switches of tls on c. */
int kl_http_apply_tls(CURL *c, const struct kl_http_tls *tls);

#endif
