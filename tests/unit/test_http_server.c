/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/http_server: a real server on an ephemeral loopback port, driven with
 * libcurl. Covers routing data (method, path, query, header, body), the body
 * cap (413 without calling the handler, by Content-Length and chunked), JSON
 * envelopes, streamed bodies (whole, broken by a read error, or never sent: each
 * released once), and mTLS with a throwaway PKI made by the openssl CLI at run time.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "err.h"
#include "http_request.h"
#include "http_server.h"
#include "json.h"

struct fixture {
        struct kl_http_server *srv;
        atomic_int calls;
        atomic_int streams_freed;
        char base[64];
};

/* A streamed body of STREAM_LEN bytes, byte i = 'a' + i % 26; fails at fail_at if not 0. */
#define STREAM_LEN (1000u * 1000u)
struct gen {
        struct fixture *f;
        size_t off, fail_at;
};

static ssize_t gen_read(void *cls, char *buf, size_t max)
{
        struct gen *g = cls;
        size_t n = 0, end = g->fail_at != 0 ? g->fail_at : STREAM_LEN;

        if (g->fail_at != 0 && g->off >= g->fail_at)
                return KL_ERR_IO;
        while (n < max && g->off < end)
                buf[n++] = (char)('a' + g->off++ % 26);
        return (ssize_t)n;
}

static void gen_free(void *cls)
{
        struct gen *g = cls;

        atomic_fetch_add(&g->f->streams_freed, 1);
        free(g);
}

struct resp {
        long code;
        char body[8192];
        size_t len;
        char ctype[128];
};

static size_t write_cb(char *p, size_t sz, size_t n, void *ud)
{
        struct resp *r = ud;
        size_t len = sz * n;

        if (len > sizeof(r->body) - 1 - r->len)
                len = sizeof(r->body) - 1 - r->len;
        memcpy(r->body + r->len, p, len);
        r->len += len;
        r->body[r->len] = '\0';
        return sz * n;
}

struct upload {
        size_t left;
};

static size_t read_cb(char *buf, size_t sz, size_t n, void *ud)
{
        struct upload *u = ud;
        size_t len = sz * n;

        if (len > u->left)
                len = u->left;
        memset(buf, 'A', len);
        u->left -= len;
        return len;
}

/* obj[key] = s, or null when s is NULL; the reply shows a failed set. */
static void set_or_null(kl_json *obj, const char *key, const char *s)
{
        (void)(s != NULL ? kl_json_set_string(obj, key, s) : kl_json_set_null(obj, key));
}

/* Echo handler: reports what the server parsed, so the test can check it. */
static void echo_handler(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct fixture *f = ctx;
        kl_json *res = kl_json_object();
        const char *q = kl_http_request_query(req, "x");
        const char *h = kl_http_request_header(req, "X-Test");
        const char *cn = kl_http_request_peer_cn(req);
        size_t blen = 0;
        const char *body = kl_http_request_body(req, &blen);

        atomic_fetch_add(&f->calls, 1);
        if (strncmp(kl_http_request_path(req), "/stream", 7) == 0) {
                struct gen *g = calloc(1, sizeof(*g));

                assert_non_null(g);
                g->f = f;
                g->fail_at = strcmp(kl_http_request_path(req), "/stream-fail") == 0 ? 100000 : 0;
                kl_json_free(res);
                reply->status = 200;
                reply->stream = (struct kl_stream){.read = gen_read, .free = gen_free, .cls = g};
                reply->close = strcmp(kl_http_request_path(req), "/stream-close") == 0;
                return;
        }
        if (strcmp(kl_http_request_path(req), "/empty") == 0) {
                kl_json_free(res);
                return; /* leaves the reply unset: the server must answer 500 */
        }
        (void)kl_json_set_string(res, "method", kl_http_request_method(req));
        (void)kl_json_set_string(res, "path", kl_http_request_path(req));
        set_or_null(res, "x", q);
        set_or_null(res, "hdr", h);
        set_or_null(res, "cn", cn);
        (void)kl_json_set_int(res, "len", (int64_t)blen);
        (void)kl_json_set_bool(res, "nul", body[blen] == '\0');
        kl_http_reply_json(reply, 200, "Success", res);
}

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        struct kl_http_server_options o = {.host = "127.0.0.1", .port = 0, .max_body = 1024};

        if (f == NULL || kl_http_server_start(&o, echo_handler, f, &f->srv) != 0)
                return -1;
        snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u",
                 (unsigned)kl_http_server_port(f->srv));
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;

        kl_http_server_stop(f->srv);
        free(f);
        return 0;
}

static CURLcode request(const char *url, const char *method, const char *body, size_t len,
                        bool chunked, struct curl_slist *extra, struct resp *r)
{
        CURL *c = curl_easy_init();
        struct curl_slist *hdrs = extra;
        struct upload up = {.left = len};
        char *ct = NULL;
        CURLcode rc;

        memset(r, 0, sizeof(*r));
        assert_non_null(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        if (chunked) {
                hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
                curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
                curl_easy_setopt(c, CURLOPT_READDATA, &up);
        } else if (body != NULL) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        }
        if (hdrs != NULL)
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
                snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(c);
        return rc;
}

static kl_json *results_of(const struct resp *r)
{
        kl_json *env = NULL;
        kl_json *res = NULL;
        int64_t code = 0;

        assert_int_equal(kl_json_parse_object(r->body, r->len, &env), 0);
        assert_int_equal(kl_json_get_int(env, "code", &code), 0);
        assert_int_equal(code, r->code);
        assert_int_equal(kl_json_get_object(env, "results", &res), 0);
        kl_json_ref(res);
        kl_json_free(env);
        return res;
}

static void test_http_server_port_is_ephemeral(void **state)
{
        struct fixture *f = *state;

        assert_int_not_equal(kl_http_server_port(f->srv), 0);
}

static void test_http_server_get_query_header(void **state)
{
        struct fixture *f = *state;
        struct curl_slist *h = curl_slist_append(NULL, "X-Test: hello");
        kl_json *res;
        const char *s = NULL;
        char url[128];
        struct resp r;

        snprintf(url, sizeof(url), "%s/a/b%%20c?x=1%%262&y=2", f->base);
        assert_int_equal(request(url, "GET", NULL, 0, false, h, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_string_equal(r.ctype, "application/json");
        res = results_of(&r);
        assert_int_equal(kl_json_get_string(res, "method", &s), 0);
        assert_string_equal(s, "GET");
        assert_int_equal(kl_json_get_string(res, "path", &s), 0);
        assert_string_equal(s, "/a/b c");
        assert_int_equal(kl_json_get_string(res, "x", &s), 0);
        assert_string_equal(s, "1&2");
        assert_int_equal(kl_json_get_string(res, "hdr", &s), 0);
        assert_string_equal(s, "hello");
        assert_int_equal(kl_json_get_string(res, "cn", &s), KL_ERR_NOT_FOUND);
        kl_json_free(res);
}

static void test_http_server_nul_stays_escaped(void **state)
{
        struct fixture *f = *state;
        kl_json *res;
        const char *s = NULL;
        char url[128];
        struct resp r;

        snprintf(url, sizeof(url), "%s/a%%00b%%41?x=%%00%%7e", f->base);
        assert_int_equal(request(url, "GET", NULL, 0, false, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        res = results_of(&r);
        assert_int_equal(kl_json_get_string(res, "path", &s), 0);
        assert_string_equal(s, "/a%00bA");
        assert_int_equal(kl_json_get_string(res, "x", &s), 0);
        assert_string_equal(s, "%00~");
        kl_json_free(res);
}

static void test_http_server_post_body(void **state)
{
        struct fixture *f = *state;
        kl_json *res;
        char body[1024];
        char url[128];
        int64_t len = 0;
        bool nul = false;
        struct resp r;

        memset(body, 'b', sizeof(body));
        body[10] = '\0'; /* bodies may hold NULs; the length is what counts */
        snprintf(url, sizeof(url), "%s/post", f->base);
        assert_int_equal(request(url, "POST", body, sizeof(body), false, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        res = results_of(&r);
        assert_int_equal(kl_json_get_int(res, "len", &len), 0);
        assert_int_equal(len, 1024);
        assert_int_equal(kl_json_get_bool(res, "nul", &nul), 0);
        assert_true(nul);
        kl_json_free(res);
}

static void test_http_server_body_too_large(void **state)
{
        struct fixture *f = *state;
        char *body = malloc(4096);
        char url[128];
        struct resp r;
        int before = atomic_load(&f->calls);

        assert_non_null(body);
        memset(body, '{', 4096);
        snprintf(url, sizeof(url), "%s/post", f->base);
        assert_int_equal(request(url, "POST", body, 1025, false, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 413);
        kl_json_free(results_of(&r));
        assert_int_equal(atomic_load(&f->calls), before);
        free(body);
}

static void test_http_server_chunked_too_large(void **state)
{
        struct fixture *f = *state;
        char url[128];
        struct resp r;
        int before = atomic_load(&f->calls);

        snprintf(url, sizeof(url), "%s/chunked", f->base);
        assert_int_equal(request(url, "PUT", NULL, 200000, true, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 413);
        kl_json_free(results_of(&r));
        assert_int_equal(atomic_load(&f->calls), before);

        /* A chunked body under the cap reaches the handler whole. */
        assert_int_equal(request(url, "PUT", NULL, 1000, true, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        assert_int_equal(atomic_load(&f->calls), before + 1);
}

/*
 * A client that sends a body over the cap without waiting for 100-continue
 * reads the 413, and the connection goes on: the server drained the body
 * instead of closing on it (a close with unread data is a reset that can
 * destroy the answer before the client reads it). The second, pipelined
 * request is answered on the same connection.
 */
static void test_http_server_too_large_drained(void **state)
{
        struct fixture *f = *state;
        static const char head[] = "POST /post HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n";
        static const char next[] = "GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons(kl_http_server_port(f->srv))};
        struct timeval tv = {.tv_sec = 20};
        char req[sizeof(head) + 3000 + sizeof(next)], got[16384] = "";
        size_t len = 0, off = 0;
        int before = atomic_load(&f->calls), fd;
        ssize_t n;

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        memcpy(req, head, sizeof(head) - 1);
        len = sizeof(head) - 1;
        memset(req + len, '{', 3000);
        len += 3000;
        memcpy(req + len, next, sizeof(next) - 1);
        len += sizeof(next) - 1;
        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        while (off < len) {
                n = send(fd, req + off, len - off, MSG_NOSIGNAL);
                assert_true(n > 0);
                off += (size_t)n;
        }
        off = 0;
        while (off < sizeof(got) - 1 && strstr(got, "\"/next\"") == NULL) {
                n = recv(fd, got + off, sizeof(got) - 1 - off, 0);
                if (n <= 0)
                        break;
                off += (size_t)n;
                got[off] = '\0';
        }
        got[off] = '\0';
        close(fd);
        assert_true(strncmp(got, "HTTP/1.1 413 ", 13) == 0);
        assert_non_null(strstr(got, "HTTP/1.1 200 "));
        assert_non_null(strstr(got, "\"/next\""));
        assert_int_equal(atomic_load(&f->calls), before + 1); /* only /next reached it */
}

/* The server-wide body budget: a body that would pass it is refused (503), and
 * what a finished request held is given back. */
static void test_http_body_budget(void **state)
{
        struct kl_http_budget budget = {.limit = 10000};
        struct kl_http_body a = {0}, b = {0};
        char chunk[3000];

        (void)state;
        atomic_init(&budget.used, 0);
        memset(chunk, 'x', sizeof(chunk));
        assert_int_equal(kl_http_body_append(&a, chunk, sizeof(chunk), 8000, &budget),
                         KL_HTTP_BODY_OK);
        assert_int_equal(atomic_load(&budget.used), a.cap);
        assert_int_equal(kl_http_body_append(&a, chunk, sizeof(chunk), 8000, &budget),
                         KL_HTTP_BODY_OK); /* 6000 bytes in an 8001-byte buffer */
        assert_int_equal(kl_http_body_append(&b, chunk, sizeof(chunk), 8000, &budget),
                         KL_HTTP_BODY_BUSY); /* 4096 more would pass 10000 */
        assert_null(b.buf);
        assert_int_equal(atomic_load(&budget.used), a.cap);
        /* over the per-request cap: 413, and its memory is given back at once */
        assert_int_equal(kl_http_body_append(&a, chunk, sizeof(chunk), 8000, &budget),
                         KL_HTTP_BODY_TOO_LARGE);
        assert_int_equal(atomic_load(&budget.used), 0);
        assert_int_equal(kl_http_body_append(&a, chunk, 10, 8000, &budget),
                         KL_HTTP_BODY_TOO_LARGE); /* later data is only counted */
        kl_http_body_clear(&a, &budget);
        kl_http_body_clear(&b, &budget);
        assert_int_equal(kl_http_body_append(&b, chunk, sizeof(chunk), 8000, &budget),
                         KL_HTTP_BODY_OK);
        kl_http_body_clear(&b, &budget);
        assert_int_equal(atomic_load(&budget.used), 0);
}

static void test_http_server_empty_reply_is_500(void **state)
{
        struct fixture *f = *state;
        char url[128];
        struct resp r;

        snprintf(url, sizeof(url), "%s/empty", f->base);
        assert_int_equal(request(url, "GET", NULL, 0, false, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 500);
        kl_json_free(results_of(&r));
}

/* What a streamed answer delivered: its bytes checked against the pattern as they come. */
struct stream_seen {
        size_t len;
        bool pattern_ok;
};

static size_t stream_cb(char *p, size_t sz, size_t n, void *ud)
{
        struct stream_seen *seen = ud;

        for (size_t i = 0; i < sz * n; i++, seen->len++) {
                if (p[i] != (char)('a' + seen->len % 26))
                        seen->pattern_ok = false;
        }
        return sz * n;
}

static CURLcode get_stream(struct fixture *f, const char *path, struct stream_seen *seen, char *te,
                           size_t te_len)
{
        CURL *c = curl_easy_init();
        char url[128];
        CURLcode rc;

        *seen = (struct stream_seen){.pattern_ok = true};
        te[0] = '\0';
        snprintf(url, sizeof(url), "%s%s", f->base, path);
        assert_non_null(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, seen);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        rc = curl_easy_perform(c);
        {
                struct curl_header *hd = NULL;

                if (curl_easy_header(c, "Transfer-Encoding", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
                        snprintf(te, te_len, "%s", hd->value);
        }
        curl_easy_cleanup(c);
        return rc;
}

/* The stream's free runs when MHD lets go of the response, maybe just after the client is done. */
static void wait_freed(struct fixture *f, int want)
{
        for (int i = 0; i < 200 && atomic_load(&f->streams_freed) < want; i++)
                usleep(10000);
        assert_int_equal(atomic_load(&f->streams_freed), want);
}

static void test_http_server_stream_whole(void **state)
{
        struct fixture *f = *state;
        struct stream_seen seen;
        int freed = atomic_load(&f->streams_freed);
        char te[64];

        assert_int_equal(get_stream(f, "/stream", &seen, te, sizeof(te)), CURLE_OK);
        assert_int_equal(seen.len, STREAM_LEN);
        assert_true(seen.pattern_ok);
        assert_string_equal(te, "chunked");
        wait_freed(f, freed + 1);
}

static void test_http_server_stream_error_breaks_the_answer(void **state)
{
        struct fixture *f = *state;
        struct stream_seen seen;
        int freed = atomic_load(&f->streams_freed);
        char te[64];

        /* the client must see a transfer error, not a complete shorter answer */
        assert_int_not_equal(get_stream(f, "/stream-fail", &seen, te, sizeof(te)), CURLE_OK);
        assert_true(seen.len <= 100000);
        assert_true(seen.pattern_ok);
        wait_freed(f, freed + 1);
}

static void test_http_server_stream_not_sent_is_released(void **state)
{
        struct fixture *f = *state;
        struct stream_seen seen;
        int freed = atomic_load(&f->streams_freed);
        char te[64];

        assert_int_not_equal(get_stream(f, "/stream-close", &seen, te, sizeof(te)), CURLE_OK);
        assert_int_equal(seen.len, 0);
        wait_freed(f, freed + 1);
}

static void test_http_server_start_bad_host(void **state)
{
        struct kl_http_server_options o = {.host = "256.1.2.3.invalid.", .port = 0};
        struct kl_http_server *srv = NULL;

        (void)state;
        assert_true(kl_http_server_start(&o, echo_handler, NULL, &srv) < 0);
        assert_null(srv);
}

static void test_http_server_ipv6_loopback(void **state)
{
        struct kl_http_server_options o = {.host = "::1", .port = 0};
        struct kl_http_server *srv = NULL;
        struct fixture f = {0};
        char url[128];
        struct resp r;

        (void)state;
        if (kl_http_server_start(&o, echo_handler, &f, &srv) != 0) {
                skip(); /* no IPv6 on this host */
                return;
        }
        snprintf(url, sizeof(url), "http://[::1]:%u/v6", (unsigned)kl_http_server_port(srv));
        assert_int_equal(request(url, "GET", NULL, 0, false, NULL, &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        kl_http_server_stop(srv);
}

/* ---- mTLS ---- */

static char tmpdir[] = "/tmp/kl_test_http_XXXXXX";

static char *read_file(const char *name)
{
        char path[256];
        FILE *f;
        char *buf;
        long n;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        if ((f = fopen(path, "rb")) == NULL)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = calloc(1, (size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
                free(buf);
                buf = NULL;
        }
        fclose(f);
        return buf;
}

/* A CA, a server and a client certificate from it, and a rogue self-signed client. */
static bool make_pki(void)
{
        char cmd[4096];

        if (mkdtemp(tmpdir) == NULL)
                return false;
        snprintf(cmd, sizeof(cmd),
                 "exec >/dev/null 2>&1; cd %s && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout ca.key -out ca.pem -subj /CN=test-ca -days 1 "
                 "-addext basicConstraints=critical,CA:TRUE "
                 "-addext keyUsage=critical,keyCertSign,cRLSign && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout srv.key -out srv.csr -subj /CN=127.0.0.1 && "
                 "printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext && "
                 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                 "-out srv.pem -days 1 -extfile srv.ext && "
                 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout cli.key -out cli.csr -subj /CN=test-client && "
                 "printf 'extendedKeyUsage=clientAuth\\n' > cli.ext && "
                 "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                 "-out cli.pem -days 1 -extfile cli.ext && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout rogue.key -out rogue.pem -subj /CN=rogue -days 1 "
                 "",
                 tmpdir);
        return system(cmd) == 0;
}

/* A request on handle c, which keeps its connection (and TLS session) between calls. */
static CURLcode tls_request_on(CURL *c, uint16_t port, const char *cert, const char *key,
                               struct resp *r)
{
        char url[128];
        char path[256];
        CURLcode rc;

        memset(r, 0, sizeof(*r));
        snprintf(url, sizeof(url), "https://127.0.0.1:%u/secure", (unsigned)port);
        curl_easy_setopt(c, CURLOPT_URL, url);
        snprintf(path, sizeof(path), "%s/ca.pem", tmpdir);
        curl_easy_setopt(c, CURLOPT_CAINFO, path);
        if (cert != NULL) {
                snprintf(path, sizeof(path), "%s/%s", tmpdir, cert);
                curl_easy_setopt(c, CURLOPT_SSLCERT, path);
                snprintf(path, sizeof(path), "%s/%s", tmpdir, key);
                curl_easy_setopt(c, CURLOPT_SSLKEY, path);
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
        return rc;
}

static CURLcode tls_request(uint16_t port, const char *cert, const char *key, struct resp *r)
{
        CURL *c = curl_easy_init();
        CURLcode rc;

        assert_non_null(c);
        rc = tls_request_on(c, port, cert, key, r);
        curl_easy_cleanup(c);
        return rc;
}

/* Requests on one kept-alive connection: each is authenticated and sees the peer's CN. */
static void keepalive_requests(uint16_t port, int n)
{
        CURL *c = curl_easy_init();
        kl_json *res;
        const char *cn = NULL;
        long connects = -1;
        struct resp r;

        assert_non_null(c);
        for (int i = 0; i < n; i++) {
                assert_int_equal(tls_request_on(c, port, "cli.pem", "cli.key", &r), CURLE_OK);
                assert_int_equal(r.code, 200);
                assert_int_equal(curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects), CURLE_OK);
                assert_int_equal(connects,
                                 i == 0 ? 1 : 0); /* the same connection after the first */
                r.len = strlen(r.body);
                res = results_of(&r);
                assert_int_equal(kl_json_get_string(res, "cn", &cn), 0);
                assert_string_equal(cn, "test-client");
                kl_json_free(res);
        }
        curl_easy_cleanup(c);
}

static void test_http_server_mtls(void **state)
{
        struct kl_http_server_options o = {.host = "127.0.0.1", .port = 0};
        struct kl_http_server *srv = NULL;
        struct fixture f = {0};
        kl_json *res;
        const char *cn = NULL;
        char *ca = NULL, *cert = NULL, *key = NULL;
        char cmd[512];
        struct resp r;

        (void)state;
        if (!make_pki()) {
                skip(); /* no openssl CLI */
                return;
        }
        ca = read_file("ca.pem");
        cert = read_file("srv.pem");
        key = read_file("srv.key");
        assert_non_null(ca);
        assert_non_null(cert);
        assert_non_null(key);
        o.tls_cert_pem = cert;
        o.tls_key_pem = key;
        o.tls_client_ca_pem = ca;
        assert_int_equal(kl_http_server_start(&o, echo_handler, &f, &srv), 0);

        /* A client certificate from the CA: served, and its CN is visible to the handler. */
        assert_int_equal(tls_request(kl_http_server_port(srv), "cli.pem", "cli.key", &r), CURLE_OK);
        assert_int_equal(r.code, 200);
        r.len = strlen(r.body);
        res = results_of(&r);
        assert_int_equal(kl_json_get_string(res, "cn", &cn), 0);
        assert_string_equal(cn, "test-client");
        kl_json_free(res);
        assert_int_equal(atomic_load(&f.calls), 1);

        /* Keep-alive: later requests on the connection reuse its verification, CN included. */
        keepalive_requests(kl_http_server_port(srv), 3);
        assert_int_equal(atomic_load(&f.calls), 4);

        /* No client certificate, or one from elsewhere: no answer, handler never runs. */
        assert_int_not_equal(tls_request(kl_http_server_port(srv), NULL, NULL, &r), CURLE_OK);
        assert_int_not_equal(tls_request(kl_http_server_port(srv), "rogue.pem", "rogue.key", &r),
                             CURLE_OK);
        assert_int_equal(atomic_load(&f.calls), 4);

        kl_http_server_stop(srv);
        free(ca);
        free(cert);
        free(key);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_http_server_port_is_ephemeral),
            cmocka_unit_test(test_http_server_get_query_header),
            cmocka_unit_test(test_http_server_nul_stays_escaped),
            cmocka_unit_test(test_http_server_post_body),
            cmocka_unit_test(test_http_server_body_too_large),
            cmocka_unit_test(test_http_server_chunked_too_large),
            cmocka_unit_test(test_http_server_too_large_drained),
            cmocka_unit_test(test_http_body_budget),
            cmocka_unit_test(test_http_server_empty_reply_is_500),
            cmocka_unit_test(test_http_server_stream_whole),
            cmocka_unit_test(test_http_server_stream_error_breaks_the_answer),
            cmocka_unit_test(test_http_server_stream_not_sent_is_released),
        };
        const struct CMUnitTest standalone[] = {
            cmocka_unit_test(test_http_server_start_bad_host),
            cmocka_unit_test(test_http_server_ipv6_loopback),
            cmocka_unit_test(test_http_server_mtls),
        };
        int fails;

        curl_global_init(CURL_GLOBAL_DEFAULT);
        fails = cmocka_run_group_tests(tests, setup, teardown);
        fails += cmocka_run_group_tests(standalone, NULL, NULL);
        curl_global_cleanup();
        return fails;
}
