/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP client on libcurl, one request per call. Each call uses a fresh easy
 * handle: the agent talks to the registrar a handful of times, so connection
 * reuse is not worth shared state here (http_multi.c keeps connections for
 * the verifier's polling).
 */
#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "http_easy.h"
#include "log.h"

size_t kl_http_collect_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct kl_http_body_sink *sink = userdata;
        size_t n = size * nmemb; /* curl guarantees this does not overflow */
        char *grown;

        if (n > KL_HTTP_CLIENT_MAX_BODY - sink->len) {
                sink->too_big = true;
                return 0; /* makes curl abort the transfer */
        }
        if (sink->len + n + 1 > sink->cap) {
                /* doubling: an 8 MiB body in 16 KiB chunks is copied about twice, not 500 times */
                size_t cap = sink->cap < 16384 ? 16384 : sink->cap;

                while (cap < sink->len + n + 1)
                        cap *= 2;
                if (cap > KL_HTTP_CLIENT_MAX_BODY + 1)
                        cap = KL_HTTP_CLIENT_MAX_BODY + 1;
                if ((grown = realloc(sink->data, cap)) == NULL)
                        return 0;
                sink->data = grown;
                sink->cap = cap;
        }
        memcpy(sink->data + sink->len, ptr, n);
        sink->len += n;
        sink->data[sink->len] = '\0';
        return n;
}

#define LOCATION_MAX    1024
#define RETRY_AFTER_MAX 86400

struct header_sink {
        char *location;
        long retry_after;
};

/* Case-insensitive "Name:" prefix of a header line; the value with blanks trimmed. */
static bool header_value(const char *line, size_t len, const char *name, const char **ret_v,
                         size_t *ret_len)
{
        size_t n = strlen(name);

        if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
                return false;
        line += n + 1;
        len -= n + 1;
        while (len > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                len--;
        }
        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
                len--;
        *ret_v = line;
        *ret_len = len;
        return true;
}

/* Keeps Location and Retry-After (seconds) of the last response; an HTTP-date is ignored. */
static size_t collect_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct header_sink *sink = userdata;
        size_t n = size * nmemb;
        const char *v;
        size_t vlen;

        if (header_value(ptr, n, "Location", &v, &vlen) && vlen > 0 && vlen <= LOCATION_MAX) {
                free(sink->location);
                sink->location = strndup(v, vlen);
        } else if (header_value(ptr, n, "Retry-After", &v, &vlen) && vlen > 0 && vlen <= 6) {
                long secs = 0;
                size_t i;

                for (i = 0; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
                        secs = secs * 10 + (v[i] - '0');
                if (i == vlen)
                        sink->retry_after = secs > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : secs;
        }
        return n;
}

int kl_http_client_global_init(void)
{
        return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : KL_ERR_HTTP;
}

int kl_http_apply_tls(CURL *c, const struct kl_http_tls *tls)
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
        return kl_http_request_with(method, url, body, NULL, tls, timeout_ms, ret);
}

/* Content-Type (and Accept), Authorization: the headers opts asks for. */
static int build_headers(const char *body, const struct kl_http_request_opts *opts,
                         struct curl_slist **ret)
{
        const char *type =
            opts != NULL && opts->content_type != NULL ? opts->content_type : "application/json";
        struct curl_slist *h = NULL, *next;
        char line[4096];
        int n;

        if (body != NULL || opts != NULL) {
                n = snprintf(line, sizeof(line), "%s: %s", body != NULL ? "Content-Type" : "Accept",
                             type);
                if (n < 0 || (size_t)n >= sizeof(line) ||
                    (next = curl_slist_append(h, line)) == NULL)
                        goto fail;
                h = next;
        }
        if (opts != NULL && opts->bearer != NULL) {
                n = snprintf(line, sizeof(line), "Authorization: Bearer %s", opts->bearer);
                if (n < 0 || (size_t)n >= sizeof(line) ||
                    (next = curl_slist_append(h, line)) == NULL) {
                        explicit_bzero(line, sizeof(line));
                        goto fail;
                }
                h = next;
                explicit_bzero(line, sizeof(line));
        }
        *ret = h;
        return 0;
fail:
        curl_slist_free_all(h);
        return KL_ERR_NOMEM;
}

int kl_http_request_with(const char *method, const char *url, const char *body,
                         const struct kl_http_request_opts *opts, const struct kl_http_tls *tls,
                         long timeout_ms, struct kl_http_response *ret)
{
        struct kl_http_body_sink sink = {0};
        struct header_sink hsink = {0};
        struct curl_slist *headers = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        CURL *c = NULL;
        CURLcode rc;
        long status = 0;
        int r = KL_ERR_NOMEM;

        if ((c = curl_easy_init()) == NULL || build_headers(body, opts, &headers) < 0)
                goto out;
        r = KL_ERR_HTTP;
        if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, kl_http_collect_body) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_HEADERDATA, &hsink) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK)
                goto out;
        if (body != NULL && curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
                goto out;
        if (tls != NULL && kl_http_apply_tls(c, tls) < 0)
                goto out;
        rc = curl_easy_perform(c);
        if (rc != CURLE_OK) {
                log_debug("%s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
                snprintf(ret->error, sizeof(ret->error), "%s",
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
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
        ret->location = hsink.location;
        ret->retry_after = hsink.retry_after;
        sink.data = NULL;
        hsink.location = NULL;
        r = 0;
out:
        free(sink.data);
        free(hsink.location);
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        return r;
}

void kl_http_response_clear(struct kl_http_response *r)
{
        if (r == NULL)
                return;
        free(r->body);
        free(r->location);
        r->body = NULL;
        r->location = NULL;
        r->retry_after = 0;
        r->body_len = 0;
        r->status = 0;
}
