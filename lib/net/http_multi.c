/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The multi-request HTTP client (see http_multi.h). Connections live in the
 * multi handle's cache, keyed by host, port and TLS settings: a peer's easy
 * handle is removed from the multi when its request ends and added again
 * for the next, and curl hands it back its idle connection. Idle
 * connections are not polled, so only requests in flight cost a wakeup.
 */
#include "http_multi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http_easy.h"
#include "log.h"

struct kl_http_multi {
        CURLM *multi;
        size_t in_flight;
};

struct kl_http_peer {
        struct kl_http_multi *m;
        CURL *easy;
        char *base_url;
        struct curl_slist *json_header;
        struct kl_http_body_sink sink;
        char errbuf[CURL_ERROR_SIZE];
        void *user;
        bool busy;
};

int kl_http_multi_new(size_t max_connections, struct kl_http_multi **ret)
{
        struct kl_http_multi *m = calloc(1, sizeof(*m));

        if (m == NULL)
                return KL_ERR_NOMEM;
        if ((m->multi = curl_multi_init()) == NULL) {
                free(m);
                return KL_ERR_NOMEM;
        }
        /* curl sizes the cache at 4 x the handles added, which are only those in flight:
         * without this the idle connections of the other peers would be closed */
        if (curl_multi_setopt(m->multi, CURLMOPT_MAXCONNECTS,
                              (long)(max_connections < 1 ? 1 : max_connections)) != CURLM_OK) {
                kl_http_multi_free(m);
                return KL_ERR_HTTP;
        }
        *ret = m;
        return 0;
}

void kl_http_multi_free(struct kl_http_multi *m)
{
        if (m == NULL)
                return;
        curl_multi_cleanup(m->multi); /* closes the idle connections */
        free(m);
}

int kl_http_peer_new(struct kl_http_multi *m, const char *base_url, const struct kl_http_tls *tls,
                     struct kl_http_peer **ret)
{
        struct kl_http_peer *p = NULL;
        int r = KL_ERR_NOMEM;

        if ((p = calloc(1, sizeof(*p))) == NULL || (p->base_url = strdup(base_url)) == NULL ||
            (p->easy = curl_easy_init()) == NULL ||
            (p->json_header = curl_slist_append(NULL, "Content-Type: application/json")) == NULL)
                goto out;
        p->m = m;
        r = KL_ERR_HTTP;
        if (curl_easy_setopt(p->easy, CURLOPT_PRIVATE, p) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_ERRORBUFFER, p->errbuf) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
            /* the agents speak HTTP/1.1: no ALPN round for h2 */
            curl_easy_setopt(p->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) !=
                CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, kl_http_collect_body) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, &p->sink) != CURLE_OK)
                goto out;
        if (tls != NULL && kl_http_apply_tls(p->easy, tls) < 0)
                goto out;
        *ret = p;
        p = NULL;
        r = 0;
out:
        kl_http_peer_free(p);
        return r;
}

void kl_http_peer_free(struct kl_http_peer *p)
{
        if (p == NULL)
                return;
        if (p->busy) {
                curl_multi_remove_handle(p->m->multi, p->easy);
                p->m->in_flight--;
        }
        curl_easy_cleanup(p->easy);
        curl_slist_free_all(p->json_header);
        free(p->sink.data);
        free(p->base_url);
        free(p);
}

bool kl_http_peer_busy(const struct kl_http_peer *p)
{
        return p->busy;
}

int kl_http_peer_start(struct kl_http_peer *p, const char *method, const char *path,
                       const char *body, long timeout_ms, void *user)
{
        char url[2048];
        int n;

        if (p->busy)
                return KL_ERR_INTERNAL;
        n = snprintf(url, sizeof(url), "%s%s", p->base_url, path);
        if (n < 0 || (size_t)n >= sizeof(url))
                return KL_ERR_TOO_LONG;
        free(p->sink.data);
        p->sink = (struct kl_http_body_sink){0};
        p->errbuf[0] = '\0';
        /* a reused handle keeps its last method: GET resets the POST fields */
        if (curl_easy_setopt(p->easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
            curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, NULL) != CURLE_OK)
                return KL_ERR_HTTP;
        if (body != NULL &&
            (curl_easy_setopt(p->easy, CURLOPT_COPYPOSTFIELDS, body) != CURLE_OK ||
             curl_easy_setopt(p->easy, CURLOPT_HTTPHEADER, p->json_header) != CURLE_OK))
                return KL_ERR_HTTP;
        if (curl_easy_setopt(p->easy, CURLOPT_CUSTOMREQUEST,
                             strcmp(method, body != NULL ? "POST" : "GET") == 0 ? NULL : method) !=
            CURLE_OK)
                return KL_ERR_HTTP;
        if (curl_multi_add_handle(p->m->multi, p->easy) != CURLM_OK)
                return KL_ERR_HTTP;
        p->user = user;
        p->busy = true;
        p->m->in_flight++;
        return 0;
}

/* A finished transfer: the peer leaves the multi, its answer goes to done. */
static void finish(struct kl_http_multi *m, CURL *easy, CURLcode rc, kl_http_multi_done_fn done,
                   void *ctx)
{
        struct kl_http_peer *p = NULL;
        struct kl_http_multi_done d = {0};
        long connects = 0;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p);
        curl_multi_remove_handle(m->multi, easy);
        m->in_flight--;
        p->busy = false;
        d.peer = p;
        d.user = p->user;
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
        d.new_connection = connects > 0;
        if (rc != CURLE_OK) {
                const char *why = p->errbuf[0] != '\0' ? p->errbuf : curl_easy_strerror(rc);

                log_debug("%s: %s", p->base_url, why);
                snprintf(d.resp.error, sizeof(d.resp.error), "%s", why);
                d.result = p->sink.too_big ? KL_ERR_TOO_LONG : KL_ERR_HTTP;
        } else if (p->sink.data == NULL && (p->sink.data = strdup("")) == NULL) {
                d.result = KL_ERR_NOMEM;
        } else {
                curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &d.resp.status);
                d.resp.body = p->sink.data;
                d.resp.body_len = p->sink.len;
                p->sink = (struct kl_http_body_sink){0};
        }
        done(ctx, &d); /* may start the peer's next request, or free it */
}

int kl_http_multi_run(struct kl_http_multi *m, int wait_ms, kl_http_multi_done_fn done, void *ctx)
{
        CURLMsg *msg;
        int running = 0;
        int left = 0;

        if (curl_multi_poll(m->multi, NULL, 0, wait_ms < 0 ? 0 : wait_ms, NULL) != CURLM_OK ||
            curl_multi_perform(m->multi, &running) != CURLM_OK)
                return KL_ERR_HTTP;
        while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
                if (msg->msg == CURLMSG_DONE)
                        finish(m, msg->easy_handle, msg->data.result, done, ctx);
        }
        return 0;
}

void kl_http_multi_wakeup(struct kl_http_multi *m)
{
        (void)curl_multi_wakeup(m->multi);
}

size_t kl_http_multi_in_flight(const struct kl_http_multi *m)
{
        return m->in_flight;
}
