/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The multi-request HTTP client (see http_multi.h), on libcurl's socket
 * interface and one epoll set.
 *
 * Connections live in a multi handle's cache: a peer's easy handle is removed
 * from its multi when its request ends and added again for the next, and curl
 * hands it back its idle connection. Idle connections are not polled, so only
 * requests in flight cost a wakeup.
 *
 * Peers are spread over shards of at most SHARD_PEERS, one multi handle
 * each, because libcurl 7.88 walks a multi's whole connection cache (and
 * its DNS cache) once per finished request: with one multi for 10,000
 * agents that walk, not the quotes, was the verifier's main cost. A shard
 * bounds it; epoll tells which shard a ready socket belongs to, and each
 * shard's timer is kept here, so nothing per request is proportional to the
 * number of peers.
 */
#include "http_multi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "http_easy.h"
#include "log.h"

#define SHARD_PEERS 256u
#define EVENTS_MAX  256
#define WAKE_KEY    UINT64_MAX /* epoll data of the wakeup eventfd */

struct shard {
        struct kl_http_multi *m;
        CURLM *multi;
        uint32_t index;
        size_t peers;
        int64_t due_ms; /* curl's timer for this multi; -1 = none */
};

struct kl_http_multi {
        int epfd;
        int wakefd;
        struct shard **shards; /* pointers: curl's callbacks keep them */
        size_t n_shards;
        size_t max_connections;
        size_t in_flight;
};

struct kl_http_peer {
        struct shard *shard;
        CURL *easy;
        char *base_url;
        struct curl_slist *json_header;
        struct kl_http_body_sink sink;
        char errbuf[CURL_ERROR_SIZE];
        void *user;
        bool busy;
};

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* epoll data of a socket: its shard's index and the descriptor, so a socket
 * that went away between epoll_wait and its turn is only an unknown fd to curl */
static uint64_t sock_key(const struct shard *s, curl_socket_t fd)
{
        return (uint64_t)s->index << 32 | (uint32_t)fd;
}

/* CURLMOPT_SOCKETFUNCTION: which sockets of the shard to watch, for what. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct shard *s = userp;
        struct epoll_event ev = {.data.u64 = sock_key(s, fd)};

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                /* ENOENT/EBADF: never added, or already closed; either way not watched */
                (void)epoll_ctl(s->m->epfd, EPOLL_CTL_DEL, fd, NULL);
                return 0;
        }
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
        if (epoll_ctl(s->m->epfd, socketp != NULL ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 &&
            (errno != EEXIST || epoll_ctl(s->m->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)) {
                log_warn("epoll_ctl(%d): %s", (int)fd, strerror(errno));
                return -1;
        }
        /* any non-NULL pointer: "in the epoll set", handed back as socketp */
        return curl_multi_assign(s->multi, fd, s) == CURLM_OK ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: when the shard wants curl_multi_socket_action(TIMEOUT). */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
        struct shard *s = userp;

        (void)multi;
        s->due_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        return 0;
}

static void shard_free(struct shard *s)
{
        if (s == NULL)
                return;
        curl_multi_cleanup(s->multi); /* closes the idle connections */
        free(s);
}

static int shard_new(struct kl_http_multi *m, struct shard **ret)
{
        struct shard **grown;
        struct shard *s;
        long cap = (long)(m->max_connections < SHARD_PEERS ? m->max_connections : SHARD_PEERS);

        if (m->n_shards >= UINT32_MAX ||
            (grown = realloc(m->shards, (m->n_shards + 1) * sizeof(*grown))) == NULL)
                return KL_ERR_NOMEM;
        m->shards = grown;
        if ((s = calloc(1, sizeof(*s))) == NULL)
                return KL_ERR_NOMEM;
        s->m = m;
        s->index = (uint32_t)m->n_shards;
        s->due_ms = -1;
        if ((s->multi = curl_multi_init()) == NULL) {
                free(s);
                return KL_ERR_NOMEM;
        }
        /* curl sizes the cache at 4 x the handles added, which are only those in flight:
         * without this the idle connections of the other peers would be closed */
        if (curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, cap < 1 ? 1L : cap) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer) != CURLM_OK ||
            curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) != CURLM_OK) {
                shard_free(s);
                return KL_ERR_HTTP;
        }
        m->shards[m->n_shards++] = s;
        *ret = s;
        return 0;
}

/* The shard with room and the fewest peers; a new one when all are full. */
static int shard_pick(struct kl_http_multi *m, struct shard **ret)
{
        struct shard *best = NULL;

        for (size_t i = 0; i < m->n_shards; i++) {
                if (m->shards[i]->peers < SHARD_PEERS &&
                    (best == NULL || m->shards[i]->peers < best->peers))
                        best = m->shards[i];
        }
        if (best != NULL) {
                *ret = best;
                return 0;
        }
        return shard_new(m, ret);
}

int kl_http_multi_new(size_t max_connections, struct kl_http_multi **ret)
{
        struct kl_http_multi *m = calloc(1, sizeof(*m));
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_KEY};

        if (m == NULL)
                return KL_ERR_NOMEM;
        m->max_connections = max_connections;
        m->wakefd = -1;
        if ((m->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
            (m->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
            epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wakefd, &ev) != 0) {
                kl_http_multi_free(m);
                return KL_ERR_SYSTEM;
        }
        *ret = m;
        return 0;
}

void kl_http_multi_free(struct kl_http_multi *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n_shards; i++)
                shard_free(m->shards[i]);
        free(m->shards);
        if (m->wakefd >= 0)
                close(m->wakefd);
        if (m->epfd >= 0)
                close(m->epfd);
        free(m);
}

/* A literal address in base_url ("scheme://host:port", host maybe in brackets). */
static bool host_is_literal(const char *base_url)
{
        const char *h = strstr(base_url, "://");
        char host[64];
        size_t n;
        struct in6_addr a;

        if (h == NULL)
                return false;
        h += 3;
        n = *h == '[' ? strcspn(++h, "]") : strcspn(h, ":/");
        if (n == 0 || n >= sizeof(host))
                return false;
        memcpy(host, h, n);
        host[n] = '\0';
        return inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1;
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
        /* an address literal has no lookup to go stale: never pruning the DNS cache
         * spares curl a walk over it after every request */
        if (host_is_literal(base_url) &&
            curl_easy_setopt(p->easy, CURLOPT_DNS_CACHE_TIMEOUT, -1L) != CURLE_OK)
                goto out;
        if (tls != NULL && kl_http_apply_tls(p->easy, tls) < 0)
                goto out;
        if ((r = shard_pick(m, &p->shard)) < 0)
                goto out;
        p->shard->peers++;
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
        if (p->shard != NULL) {
                if (p->busy) {
                        curl_multi_remove_handle(p->shard->multi, p->easy);
                        p->shard->m->in_flight--;
                }
                p->shard->peers--;
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
        /* arms the shard's timer at 0: the next kl_http_multi_run starts it */
        if (curl_multi_add_handle(p->shard->multi, p->easy) != CURLM_OK)
                return KL_ERR_HTTP;
        p->user = user;
        p->busy = true;
        p->shard->m->in_flight++;
        return 0;
}

/* A finished transfer: the peer leaves its multi, its answer goes to done. */
static void finish(struct shard *s, CURL *easy, CURLcode rc, kl_http_multi_done_fn done, void *ctx)
{
        struct kl_http_peer *p = NULL;
        struct kl_http_multi_done d = {0};
        long connects = 0;

        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&p);
        curl_multi_remove_handle(s->multi, easy);
        s->m->in_flight--;
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

/* How long epoll may sleep: wait_ms, or less if a shard's timer is due sooner. */
static int epoll_wait_ms(const struct kl_http_multi *m, int wait_ms, int64_t now)
{
        int64_t w = wait_ms < 0 ? 0 : wait_ms;

        for (size_t i = 0; i < m->n_shards; i++) {
                int64_t due = m->shards[i]->due_ms;

                if (due >= 0 && due - now < w)
                        w = due <= now ? 0 : due - now;
        }
        return (int)w;
}

int kl_http_multi_run(struct kl_http_multi *m, int wait_ms, kl_http_multi_done_fn done, void *ctx)
{
        struct epoll_event ev[EVENTS_MAX];
        int64_t now;
        int n, running = 0;

        n = epoll_wait(m->epfd, ev, EVENTS_MAX, epoll_wait_ms(m, wait_ms, now_ms()));
        if (n < 0 && errno != EINTR)
                return KL_ERR_SYSTEM;
        for (int i = 0; i < n; i++) {
                uint64_t key = ev[i].data.u64;
                uint32_t idx = (uint32_t)(key >> 32);
                int flags = (ev[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                            (ev[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                            (ev[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);

                if (key == WAKE_KEY) {
                        uint64_t v;

                        (void)!read(m->wakefd, &v, sizeof(v));
                        continue;
                }
                if (idx < m->n_shards &&
                    curl_multi_socket_action(m->shards[idx]->multi, (curl_socket_t)(uint32_t)key,
                                             flags, &running) != CURLM_OK)
                        return KL_ERR_HTTP;
        }
        now = now_ms();
        for (size_t i = 0; i < m->n_shards; i++) {
                struct shard *s = m->shards[i];

                if (s->due_ms >= 0 && s->due_ms <= now) {
                        s->due_ms = -1; /* curl sets the next one from inside */
                        if (curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running) !=
                            CURLM_OK)
                                return KL_ERR_HTTP;
                }
        }
        /* done may add shards (peer_new): index, do not hold a pointer across it */
        for (size_t i = 0; i < m->n_shards; i++) {
                CURLMsg *msg;
                int left = 0;

                while ((msg = curl_multi_info_read(m->shards[i]->multi, &left)) != NULL) {
                        if (msg->msg == CURLMSG_DONE)
                                finish(m->shards[i], msg->easy_handle, msg->data.result, done, ctx);
                }
        }
        return 0;
}

void kl_http_multi_wakeup(struct kl_http_multi *m)
{
        uint64_t one = 1;

        /* EAGAIN: the counter is already non-zero, a wakeup is pending */
        (void)!write(m->wakefd, &one, sizeof(one));
}

size_t kl_http_multi_in_flight(const struct kl_http_multi *m)
{
        return m->in_flight;
}
