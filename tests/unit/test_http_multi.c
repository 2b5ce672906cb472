/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/net/http_multi: many requests in flight on one thread against a real
 * server on an ephemeral loopback port (lib/net/http_server). Covers
 * concurrency (every peer's request in flight at once), keep-alive (one
 * connection per peer, reused: TLS handshake on the first request only),
 * a reused handle switching between POST and GET, the body cap, timeouts
 * and a peer whose certificate does not match its pin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "fileio.h"
#include "http_multi.h"
#include "http_server.h"
#include "json.h"
#include "test_util.h"

#define PEERS  24
#define ROUNDS 3

struct served {
        atomic_int calls;
};

/* /big: past the client's body cap; /slow: answers after 1.5 s; else the method and body size. */
static void handler(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct served *s = ctx;
        const char *path = kl_http_request_path(req);
        size_t blen = 0;
        char *body;

        atomic_fetch_add(&s->calls, 1);
        (void)kl_http_request_body(req, &blen);
        if (strcmp(path, "/big") == 0) {
                size_t n = KL_HTTP_CLIENT_MAX_BODY + 1;

                if ((body = malloc(n + 1)) != NULL) {
                        memset(body, 'x', n);
                        body[n] = '\0';
                }
                reply->status = 200;
                reply->body = body;
                return;
        }
        if (strcmp(path, "/slow") == 0)
                usleep(1500 * 1000);
        if (asprintf(&body, "%s %zu", kl_http_request_method(req), blen) < 0)
                body = NULL;
        reply->status = 200;
        reply->content_type = "text/plain";
        reply->body = body;
}

struct results {
        int done;
        int ok;
        int new_connections;
        int last_result;
        char last_body[64];
};

static void on_done(void *ctx, struct kl_http_multi_done *d)
{
        struct results *r = ctx;

        r->done++;
        r->last_result = d->result;
        if (d->result == 0 && d->resp.status == 200) {
                r->ok++;
                snprintf(r->last_body, sizeof(r->last_body), "%s", d->resp.body);
        }
        if (d->new_connection)
                r->new_connections++;
        kl_http_response_clear(&d->resp);
}

static void run_until(struct kl_http_multi *m, struct results *r, int want)
{
        for (int i = 0; i < 2000 && r->done < want; i++)
                assert_int_equal(kl_http_multi_run(m, 50, on_done, r), 0);
        assert_int_equal(r->done, want);
}

static struct kl_http_server *start_server(struct served *s, const char *cert, const char *key,
                                           const char *ca, char *base, size_t base_len)
{
        struct kl_http_server_options o = {.host = "127.0.0.1",
                                           .threads = 4,
                                           .connection_limit = 2 * PEERS,
                                           .tls_cert_pem = cert,
                                           .tls_key_pem = key,
                                           .tls_client_ca_pem = ca};
        struct kl_http_server *srv = NULL;

        assert_int_equal(kl_http_server_start(&o, handler, s, &srv), 0);
        snprintf(base, base_len, "%s://127.0.0.1:%u", cert != NULL ? "https" : "http",
                 (unsigned)kl_http_server_port(srv));
        return srv;
}

static void test_http_multi_many_in_flight_keep_alive(void **state)
{
        struct served s = {0};
        struct results r = {0};
        struct kl_http_multi *m = NULL;
        struct kl_http_peer *peers[PEERS] = {0};
        char base[64];
        struct kl_http_server *srv = start_server(&s, NULL, NULL, NULL, base, sizeof(base));

        (void)state;
        assert_int_equal(kl_http_multi_new(PEERS, &m), 0);
        for (int i = 0; i < PEERS; i++)
                assert_int_equal(kl_http_peer_new(m, base, NULL, &peers[i]), 0);
        for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < PEERS; i++)
                        assert_int_equal(
                            kl_http_peer_start(peers[i], "GET", "/q", NULL, 5000, NULL), 0);
                /* one request per peer: a second one waits for the first */
                assert_int_equal(kl_http_peer_start(peers[0], "GET", "/q", NULL, 5000, NULL),
                                 KL_ERR_INTERNAL);
                assert_int_equal(kl_http_multi_in_flight(m), PEERS);
                run_until(m, &r, (round + 1) * PEERS);
                assert_int_equal(kl_http_multi_in_flight(m), 0);
        }
        assert_int_equal(r.ok, PEERS * ROUNDS);
        assert_int_equal(atomic_load(&s.calls), PEERS * ROUNDS);
        /* keep-alive: a connection per peer, opened in the first round only */
        assert_int_equal(r.new_connections, PEERS);

        /* a reused handle: POST with a body, then a GET without one */
        assert_int_equal(kl_http_peer_start(peers[1], "POST", "/p", "{\"a\":1}", 5000, NULL), 0);
        run_until(m, &r, PEERS * ROUNDS + 1);
        assert_string_equal(r.last_body, "POST 7");
        assert_int_equal(kl_http_peer_start(peers[1], "GET", "/p", NULL, 5000, NULL), 0);
        run_until(m, &r, PEERS * ROUNDS + 2);
        assert_string_equal(r.last_body, "GET 0");

        /* freeing a peer with a request in flight abandons it */
        assert_int_equal(kl_http_peer_start(peers[2], "GET", "/q", NULL, 5000, NULL), 0);
        kl_http_peer_free(peers[2]);
        peers[2] = NULL;
        assert_int_equal(kl_http_multi_in_flight(m), 0);
        for (int i = 0; i < PEERS; i++)
                kl_http_peer_free(peers[i]);
        kl_http_multi_free(m);
        kl_http_server_stop(srv);
}

static void test_http_multi_cap_and_timeout(void **state)
{
        struct served s = {0};
        struct results r = {0};
        struct kl_http_multi *m = NULL;
        struct kl_http_peer *p = NULL;
        char base[64];
        struct kl_http_server *srv = start_server(&s, NULL, NULL, NULL, base, sizeof(base));

        (void)state;
        assert_int_equal(kl_http_multi_new(4, &m), 0);
        assert_int_equal(kl_http_peer_new(m, base, NULL, &p), 0);
        assert_int_equal(kl_http_peer_start(p, "GET", "/big", NULL, 10000, NULL), 0);
        run_until(m, &r, 1);
        assert_int_equal(r.last_result, KL_ERR_TOO_LONG);
        assert_int_equal(kl_http_peer_start(p, "GET", "/slow", NULL, 200, NULL), 0);
        run_until(m, &r, 2);
        assert_int_equal(r.last_result, KL_ERR_HTTP);
        /* the peer is usable after both */
        assert_int_equal(kl_http_peer_start(p, "GET", "/q", NULL, 5000, NULL), 0);
        run_until(m, &r, 3);
        assert_int_equal(r.ok, 1);
        kl_http_peer_free(p);
        kl_http_multi_free(m);
        kl_http_server_stop(srv);
}

static char pki[256];

static char *pki_file(const char *name)
{
        char path[512];
        char *data = NULL;
        size_t len = 0;

        snprintf(path, sizeof(path), "%s/%s", pki, name);
        assert_int_equal(kl_file_read(path, 1 << 20, &data, &len), 0);
        return data;
}

/* mTLS with the project's test PKI (certs/make-pki.sh): a handshake per connection only. */
static void test_http_multi_mtls_handshake_once(void **state)
{
        struct served s = {0};
        struct results r = {0};
        struct kl_http_multi *m = NULL;
        struct kl_http_peer *p = NULL, *wrong = NULL;
        char base[64], ca_path[512], cert_path[512], key_path[512], cmd[1024];
        char *cert, *key, *ca;
        struct kl_http_server *srv;
        const char *data = getenv("KL_TEST_DATA");

        (void)state;
        assert_non_null(data);
        kl_test_tmpdir(pki, sizeof(pki), "http-multi");
        snprintf(cmd, sizeof(cmd), "%s/../../certs/make-pki.sh %s >/dev/null 2>&1", data, pki);
        if (system(cmd) != 0) {
                skip(); /* no openssl CLI */
                return;
        }
        cert = pki_file("server-cert.crt");
        key = pki_file("server-private.pem");
        ca = pki_file("cacert.crt");
        srv = start_server(&s, cert, key, ca, base, sizeof(base));
        snprintf(ca_path, sizeof(ca_path), "%s/cacert.crt", pki);
        snprintf(cert_path, sizeof(cert_path), "%s/client-cert.crt", pki);
        snprintf(key_path, sizeof(key_path), "%s/client-private.pem", pki);
        struct kl_http_tls tls = {.ca_file = ca_path, .cert_file = cert_path, .key_file = key_path};
        struct kl_http_tls pinned_wrong = tls;

        pinned_wrong.ca_file = cert_path; /* the client's own certificate is no anchor for it */
        assert_int_equal(kl_http_multi_new(4, &m), 0);
        assert_int_equal(kl_http_peer_new(m, base, &tls, &p), 0);
        assert_int_equal(kl_http_peer_new(m, base, &pinned_wrong, &wrong), 0);
        for (int i = 0; i < 4; i++) {
                assert_int_equal(kl_http_peer_start(p, "GET", "/q", NULL, 5000, NULL), 0);
                run_until(m, &r, i + 1);
        }
        assert_int_equal(r.ok, 4);
        assert_int_equal(r.new_connections, 1);
        /* different TLS settings never share the verified connection */
        assert_int_equal(kl_http_peer_start(wrong, "GET", "/q", NULL, 5000, NULL), 0);
        run_until(m, &r, 5);
        assert_int_equal(r.last_result, KL_ERR_HTTP);
        assert_int_equal(r.ok, 4);
        kl_http_peer_free(p);
        kl_http_peer_free(wrong);
        kl_http_multi_free(m);
        kl_http_server_stop(srv);
        free(cert);
        free(key);
        free(ca);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", pki);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_http_multi_many_in_flight_keep_alive),
            cmocka_unit_test(test_http_multi_cap_and_timeout),
            cmocka_unit_test(test_http_multi_mtls_handshake_once),
        };

        if (kl_http_client_global_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
