/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP client on libcurl; the only file that includes curl.h. Each call uses
 * a fresh easy handle: the agent talks to the registrar a handful of times,
 * so connection reuse is not worth shared state here.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

struct body_sink {
        char *data;
        size_t len;
        bool too_big;
};

static size_t collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct body_sink *sink = userdata;
        size_t n = size * nmemb; /* curl guarantees this does not overflow */
        char *grown;

        if (n > KL_HTTP_CLIENT_MAX_BODY - sink->len) {
                sink->too_big = true;
                return 0; /* makes curl abort the transfer */
        }
        if ((grown = realloc(sink->data, sink->len + n + 1)) == NULL)
                return 0;
        sink->data = grown;
        memcpy(sink->data + sink->len, ptr, n);
        sink->len += n;
        sink->data[sink->len] = '\0';
        return n;
}

int kl_http_client_global_init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : KL_ERR_HTTP;
}

static int apply_tls(CURL *c, const struct kl_http_tls *tls)
{
        CURLcode rc = CURLE_OK;

        if (tls->ca_file != NULL)
                rc = curl_easy_setopt(c, CURLOPT_CAINFO, tls->ca_file);
        if (rc == CURLE_OK && tls->cert_file != NULL)
                rc = curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert_file);
        if (rc == CURLE_OK && tls->key_file != NULL)
                rc = curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key_file);
        if (rc == CURLE_OK && tls->insecure) {
                rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
                if (rc == CURLE_OK)
                        rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (rc == CURLE_OK && tls->no_hostname_check)
                rc = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
        return rc == CURLE_OK ? 0 : KL_ERR_HTTP;
}

int kl_http_request(const char *method, const char *url, const char *body,
                    const struct kl_http_tls *tls, long timeout_ms, struct kl_http_response *ret)
{
        struct body_sink sink = {0};
        struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *c = NULL;
        CURLcode rc;
        long status = 0;
        int r = KL_ERR_NOMEM;

        if ((c = curl_easy_init()) == NULL)
                goto out;
        if (body != NULL &&
            (headers = curl_slist_append(headers, "Content-Type: application/json")) == NULL)
                goto out;
        r = KL_ERR_HTTP;
        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK)
                goto out;
        if (body != NULL && curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
                goto out;
        if (tls != NULL && apply_tls(c, tls) < 0)
                goto out;
        rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
                log_debug("%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
                r = sink.too_big ? KL_ERR_TOO_LONG : KL_ERR_HTTP;
                goto out;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (sink.data == NULL && (sink.data = strdup("")) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        ret->status = status;
        ret->body = sink.data;
        ret->body_len = sink.len;
        sink.data = NULL;
        r = 0;
out:
        free(sink.data);
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        return r;
}

void kl_http_response_clear(struct kl_http_response *r)
{
        if (r == NULL)
                return;
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
        r->status = 0;
}
