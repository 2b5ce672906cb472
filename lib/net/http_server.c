/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP(S) server on libmicrohttpd (GnuTLS). The only file that includes
 * microhttpd.h and gnutls. Each request body is gathered into per-connection
 * state up to max_body; beyond it the client gets 413 and the handler never
 * runs. A refused body is read and dropped (up to KL_HTTP_DISCARD_LIMIT)
 * before the 413, so the client has stopped sending and reads the answer;
 * only a client waiting for 100-continue, or one past the cap, gets it at
 * once. Under mTLS every request is checked against the client CA before
 * routing and a failing connection is closed without any answer, so an
 * unauthenticated peer learns nothing about the routes.
 * One job past 600 lines: libmicrohttpd's callbacks (connection, body,
 * completion, TLS peer check, streamed replies) share one per-connection
 * state, and the body budget spans them all.
 */
#include "http_server.h"
#include "http_request.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "err.h"
#include "json.h"
#include "log.h"
#include "tls_signer.h"

#define DEFAULT_MAX_BODY   (1024 * 1024)
#define DEFAULT_CONN_LIMIT 256
#define DEFAULT_TIMEOUT_S  30
/* Default server-wide body budget, in largest bodies. */
#define DEFAULT_BODY_TOTAL_MAX_BODIES 4
/* Per-connection MHD pool: headers and bookkeeping only; bodies live in our buffer. */
#define CONN_MEMORY_LIMIT (64 * 1024)
#define PEER_CN_MAX       256
/* A connection's verified client certificate is trusted again for this long (see conn_peer). */
#define PEER_RECHECK_S 60
/* Larger client certificates are verified on every request rather than remembered. */
#define PEER_DER_MAX (16 * 1024)
/*
 * TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy, our preference
 * first: what upstream Keylime's Python and Rust peers negotiate anyway.
 */
#define TLS_PRIORITIES                                                                             \
        "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"     \
        "+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:%SERVER_PRECEDENCE"

struct kl_http_server {
        struct MHD_Daemon *daemon;
        kl_http_handler handler;
        void *ctx;
        size_t max_body;
        struct kl_http_budget budget; /* request bodies of all connections together */
        bool mtls;
        atomic_bool running; /* MHD log lines matter during startup, are noise after */
        uint16_t port;
        struct kl_tls_signer_state *signer; /* the server key's holder, or NULL */
};

/* Per-request state, hung on MHD's con_cls. */
struct conn_state {
        struct kl_http_body body;
        char peer_cn[PEER_CN_MAX];
        bool has_peer_cn;
};

/*
 * What the client certificate of one TLS connection proved, for its later
 * requests (MHD's socket_context; keep-alive): verifying the chain costs
 * ~0.3 ms of CPU per request, a third of a keep-alive quote's own cost, and
 * the handshake fixed the certificate. The result is reused only for the
 * same certificate bytes, inside its validity, and for PEER_RECHECK_S at
 * most, so a CA that expires mid-connection is noticed within that time.
 */
struct conn_peer {
        unsigned char *der; /* NULL = nothing verified yet */
        size_t der_len;
        time_t not_before, not_after, checked_at;
        char cn[PEER_CN_MAX];
        bool has_cn;
};

struct kl_http_request {
        struct MHD_Connection *conn;
        const char *method;
        const char *path;
        const char *body;
        size_t body_len;
        const char *peer_cn;
};

__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
        struct kl_http_server *srv = cls;
        char msg[512];
        size_t n;

        if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
                return;
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
                msg[--n] = '\0';
        /* After startup these are mostly peers misbehaving: keep them out of the default log. */
        if (atomic_load(&srv->running))
                log_debug("libmicrohttpd: %s", msg);
        else
                log_warn("libmicrohttpd: %s", msg);
}

/* libmicrohttpd's decoding, but "%00" stays literal (kl_http_unescape). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
        (void)cls;
        (void)conn;
        return kl_http_unescape(s);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
        struct kl_http_server *srv = cls;
        struct conn_state *st = *con_cls;

        (void)conn;
        (void)toe;
        if (st == NULL)
                return;
        kl_http_body_clear(&st->body, &srv->budget); /* bodies may carry auth tags or keys */
        free(st);
        *con_cls = NULL;
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
        struct conn_peer *cp;

        (void)cls;
        (void)conn;
        if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
                *socket_context = calloc(1, sizeof(struct conn_peer)); /* NULL: no memory */
                return;
        }
        if ((cp = *socket_context) != NULL) {
                free(cp->der);
                free(cp);
                *socket_context = NULL;
        }
}

static int add_retry_after(struct MHD_Response *resp, unsigned seconds)
{
        char v[16];

        snprintf(v, sizeof(v), "%u", seconds);
        return MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v) == MHD_YES ? 0 : -1;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct kl_stream *s = cls;
        ssize_t n;

        (void)pos;
        if (max > KL_HTTP_STREAM_PIECE)
                max = KL_HTTP_STREAM_PIECE;
        n = s->read(s->cls, buf, max);
        if (n > 0)
                return n;
        if (n == 0)
                return MHD_CONTENT_READER_END_OF_STREAM;
        log_warn("a streamed answer failed (%s); closing the connection", kl_err_str((int)n));
        return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
        kl_stream_close(cls);
        free(cls);
}

/* A response read from reply->stream, which it takes (also on failure). */
static struct MHD_Response *stream_response(struct kl_http_reply *reply)
{
        struct kl_stream *s = malloc(sizeof(*s));
        struct MHD_Response *resp;

        if (s == NULL) {
                kl_stream_close(&reply->stream);
                return NULL;
        }
        *s = reply->stream;
        reply->stream = (struct kl_stream){0};
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, KL_HTTP_STREAM_PIECE,
                                                 stream_read, s, stream_free);
        if (resp == NULL)
                stream_free(s);
        return resp;
}

/* Drops what a reply holds when it is not sent. */
static void reply_discard(struct kl_http_reply *reply)
{
        free(reply->body);
        reply->body = NULL;
        kl_stream_close(&reply->stream);
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct kl_http_reply *reply)
{
        struct MHD_Response *resp;
        enum MHD_Result ret;
        int status = reply->status;

        if (status < 100 || status > 599)
                status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (reply->stream.read != NULL) {
                free(reply->body);
                reply->body = NULL;
                if ((resp = stream_response(reply)) == NULL)
                        return MHD_NO;
        } else if (reply->body != NULL) {
                resp = MHD_create_response_from_buffer(strlen(reply->body), reply->body,
                                                       MHD_RESPMEM_MUST_FREE);
                if (resp == NULL) {
                        free(reply->body);
                        reply->body = NULL;
                        return MHD_NO;
                }
                reply->body = NULL; /* MHD frees it */
        } else {
                resp = MHD_create_response_from_buffer(0, (void *)(uintptr_t) "",
                                                       MHD_RESPMEM_PERSISTENT);
                if (resp == NULL)
                        return MHD_NO;
        }
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                    reply->content_type != NULL ? reply->content_type
                                                                : "application/json") != MHD_YES ||
            (reply->allow != NULL &&
             MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, reply->allow) != MHD_YES) ||
            (reply->location[0] != '\0' &&
             MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, reply->location) != MHD_YES) ||
            (reply->retry_after > 0 && add_retry_after(resp, reply->retry_after) < 0)) {
                MHD_destroy_response(resp);
                return MHD_NO;
        }
        ret = MHD_queue_response(conn, (unsigned int)status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result reply_simple(struct MHD_Connection *conn, int code, const char *status)
{
        struct kl_http_reply reply = {0};

        kl_http_reply_json(&reply, code, status, NULL);
        return queue_reply(conn, &reply);
}

/*
 * A peer can trigger refusals at will: say why at warning level at most once
 * a second, and at debug level otherwise.
 */
__attribute__((format(printf, 1, 2))) static void log_refusal(const char *fmt, ...)
{
        static atomic_llong last;
        long long now = (long long)time(NULL), prev = atomic_exchange(&last, now);
        char msg[256];
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (prev != now)
                log_warn("refusing TLS client: %s", msg);
        else
                log_debug("refusing TLS client: %s", msg);
}

/*
 * What GnuTLS's chain check leaves to us, said explicitly: the certificate is
 * valid now, and where it limits its use (key usage, extended key usage, both
 * optional: upstream Keylime's CA sets neither), it allows signing as a TLS client.
 */
static int check_client_cert(gnutls_x509_crt_t crt)
{
        time_t now = time(NULL);
        unsigned int ku = 0, critical = 0;
        bool eku_present = false, eku_client = false;
        char oid[128];
        size_t oid_len;
        int rc;

        if (gnutls_x509_crt_get_activation_time(crt) > now) {
                log_refusal("client certificate not valid yet");
                return KL_ERR_VERIFY;
        }
        if (gnutls_x509_crt_get_expiration_time(crt) < now) {
                log_refusal("client certificate expired");
                return KL_ERR_VERIFY;
        }
        rc = gnutls_x509_crt_get_key_usage(crt, &ku, &critical);
        if (rc >= 0 && (ku & GNUTLS_KEY_DIGITAL_SIGNATURE) == 0) {
                log_refusal("client certificate key usage lacks digitalSignature");
                return KL_ERR_VERIFY;
        }
        if (rc < 0 && rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                return KL_ERR_VERIFY;
        for (unsigned int i = 0;; i++) {
                oid_len = sizeof(oid);
                rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &oid_len, NULL);
                if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
                        break;
                if (rc < 0)
                        return KL_ERR_VERIFY;
                eku_present = true;
                if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0 || strcmp(oid, GNUTLS_KP_ANY) == 0)
                        eku_client = true;
        }
        if (eku_present && !eku_client) {
                log_refusal("client certificate extended key usage lacks clientAuth");
                return KL_ERR_VERIFY;
        }
        return 0;
}

/* The connection's remembered verification, when it still holds for this certificate. */
static bool peer_remembered(const struct conn_peer *cp, const gnutls_datum_t *der)
{
        time_t now = time(NULL);

        return cp != NULL && cp->der != NULL && cp->der_len == der->size &&
               memcmp(cp->der, der->data, der->size) == 0 && now >= cp->not_before &&
               now <= cp->not_after && now - cp->checked_at < PEER_RECHECK_S &&
               now >= cp->checked_at;
}

/* Keeps a successful verification for the connection's next requests (best effort). */
static void peer_remember(struct conn_peer *cp, const gnutls_datum_t *der, gnutls_x509_crt_t crt,
                          const struct conn_state *st)
{
        unsigned char *copy;

        if (cp == NULL || der->size > PEER_DER_MAX || (copy = malloc(der->size)) == NULL)
                return;
        memcpy(copy, der->data, der->size);
        free(cp->der);
        cp->der = copy;
        cp->der_len = der->size;
        cp->not_before = gnutls_x509_crt_get_activation_time(crt);
        cp->not_after = gnutls_x509_crt_get_expiration_time(crt);
        cp->checked_at = time(NULL);
        memcpy(cp->cn, st->peer_cn, sizeof(cp->cn));
        cp->has_cn = st->has_peer_cn;
}

/*
 * mTLS gate: the peer must have presented a certificate that chains to the
 * client CA given as MHD_OPTION_HTTPS_MEM_TRUST. GnuTLS only *requests* the
 * certificate during the handshake, so absence is caught here.
 */
static int check_peer(struct MHD_Connection *conn, struct conn_state *st)
{
        const union MHD_ConnectionInfo *ci;
        struct conn_peer *cp = NULL;
        gnutls_session_t session;
        const gnutls_datum_t *certs;
        gnutls_x509_crt_t crt = NULL;
        unsigned int status = 0;
        unsigned int n = 0;
        size_t cn_len = sizeof(st->peer_cn);
        int r = KL_ERR_VERIFY;

        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        if (ci != NULL)
                cp = ci->socket_context;
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
        if (ci == NULL || ci->tls_session == NULL)
                goto out;
        session = (gnutls_session_t)ci->tls_session;
        if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
                goto out;
        certs = gnutls_certificate_get_peers(session, &n);
        if (certs == NULL || n == 0) {
                log_debug("mTLS: client sent no certificate");
                goto out;
        }
        if (peer_remembered(cp, &certs[0])) {
                memcpy(st->peer_cn, cp->cn, sizeof(st->peer_cn));
                st->has_peer_cn = cp->has_cn;
                r = 0;
                goto out;
        }
        if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0) {
                log_refusal("client certificate did not verify (%s)",
                            (status & GNUTLS_CERT_EXPIRED) != 0            ? "expired"
                            : (status & GNUTLS_CERT_NOT_ACTIVATED) != 0    ? "not valid yet"
                            : (status & GNUTLS_CERT_SIGNER_NOT_FOUND) != 0 ? "unknown issuer"
                                                                           : "invalid");
                goto out;
        }
        if (gnutls_x509_crt_init(&crt) != GNUTLS_E_SUCCESS)
                goto out;
        if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) != GNUTLS_E_SUCCESS ||
            check_client_cert(crt) < 0)
                goto out;
        if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, st->peer_cn,
                                          &cn_len) == GNUTLS_E_SUCCESS &&
            cn_len < sizeof(st->peer_cn) && strlen(st->peer_cn) == cn_len)
                st->has_peer_cn = true;
        else
                st->peer_cn[0] = '\0'; /* no CN (or one with a NUL): still authenticated */
        peer_remember(cp, &certs[0], crt, st);
        r = 0;
out:
        if (crt != NULL)
                gnutls_x509_crt_deinit(crt);
        return r;
}

static bool expects_continue(struct MHD_Connection *conn)
{
        const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

        return e != NULL && strcasecmp(e, "100-continue") == 0;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
        struct kl_http_server *srv = cls;
        struct conn_state *st = *con_cls;
        struct kl_http_reply reply = {0};
        struct kl_http_request req;
        unsigned long long clen;
        enum kl_http_body_state bs;

        (void)version;
        if (st == NULL) {
                /* First call: headers only. Authenticate and size-check before any body. */
                if ((st = calloc(1, sizeof(*st))) == NULL)
                        return MHD_NO;
                *con_cls = st;
                if (srv->mtls && check_peer(conn, st) < 0) {
                        log_debug("refusing request from unauthenticated TLS peer");
                        return MHD_NO; /* closes the connection, no response */
                }
                if (kl_http_content_length(
                        MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_LENGTH),
                        &clen) &&
                    clen > srv->max_body) {
                        st->body.state = KL_HTTP_BODY_TOO_LARGE;
                        /* A client that waits for 100-continue reads an answer now. One
                         * already sending would see our close as a reset that loses the
                         * answer: read and drop its body (up to the discard cap) first. */
                        if (clen > KL_HTTP_DISCARD_LIMIT || expects_continue(conn))
                                return reply_simple(conn, 413, "Request body too large");
                }
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                bs = kl_http_body_append(&st->body, upload_data, *upload_data_size, srv->max_body,
                                         &srv->budget);
                if (bs == KL_HTTP_BODY_ABORT)
                        return MHD_NO;
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (st->body.state == KL_HTTP_BODY_TOO_LARGE)
                return reply_simple(conn, 413, "Request body too large");
        if (st->body.state == KL_HTTP_BODY_BUSY) {
                log_refusal("request bodies in flight exceed %zu bytes", srv->budget.limit);
                return reply_simple(conn, 503, "Service Unavailable");
        }

        req.conn = conn;
        req.method = method;
        req.path = url;
        req.body = st->body.buf != NULL ? st->body.buf : "";
        req.body_len = st->body.len;
        req.peer_cn = st->has_peer_cn ? st->peer_cn : NULL;
        srv->handler(srv->ctx, &req, &reply);
        if (reply.close) {
                reply_discard(&reply);
                return MHD_NO;
        }
        if (reply.status == 0 && reply.body == NULL && reply.stream.read == NULL)
                kl_http_reply_json(&reply, 500, "Internal Server Error", NULL);
        return queue_reply(conn, &reply);
}

/* Resolves host (literal or name) into storage with the port filled in. */
static int resolve_bind(const char *host, uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *ret_len)
{
        struct addrinfo hints = {0};
        struct addrinfo *res = NULL;
        int rc;

        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0 || res == NULL) {
                log_error("cannot resolve listen address '%.100s': %s", host, gai_strerror(rc));
                return KL_ERR_INVAL;
        }
        if (res->ai_addrlen > sizeof(*ss)) {
                freeaddrinfo(res);
                return KL_ERR_INTERNAL;
        }
        memset(ss, 0, sizeof(*ss));
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *ret_len = (socklen_t)res->ai_addrlen;
        freeaddrinfo(res);
        if (ss->ss_family == AF_INET)
                ((struct sockaddr_in *)ss)->sin_port = htons(port);
        else if (ss->ss_family == AF_INET6)
                ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
        else
                return KL_ERR_UNSUPPORTED;
        return 0;
}

static struct MHD_Daemon *start_daemon(struct kl_http_server *srv,
                                       const struct kl_http_server_options *o, unsigned int flags,
                                       const struct sockaddr *sa)
{
        struct MHD_OptionItem opts[16];
        unsigned int threads = o->threads != 0 ? o->threads : 1;
        size_t i = 0;

        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_logger, srv};
        opts[i++] =
            (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_completed, srv};
        if (o->tls_client_ca_pem != NULL)
                opts[i++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                                    (intptr_t)notify_connection, NULL};
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL};
        opts[i++] = (struct MHD_OptionItem){
            MHD_OPTION_CONNECTION_LIMIT,
            o->connection_limit != 0 ? o->connection_limit : DEFAULT_CONN_LIMIT, NULL};
        if (o->per_ip_limit != 0)
                opts[i++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                                    o->per_ip_limit, NULL};
        opts[i++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                    o->timeout_s != 0 ? o->timeout_s : DEFAULT_TIMEOUT_S, NULL};
        opts[i++] =
            (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY_LIMIT, NULL};
        if (threads > 1)
                opts[i++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, threads, NULL};
        if (sa != NULL)
                opts[i++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)(uintptr_t)sa};
        if (o->tls_cert_pem != NULL) {
                if (o->tls_signer == NULL)
                        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                                            (void *)(uintptr_t)o->tls_cert_pem};
                if (o->tls_signer != NULL)
                        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK, 0,
                                                            kl_tls_signer_callback()};
                else
                        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                                            (void *)(uintptr_t)o->tls_key_pem};
                opts[i++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                                    (void *)(uintptr_t)TLS_PRIORITIES};
                if (o->tls_client_ca_pem != NULL)
                        opts[i++] = (struct MHD_OptionItem){
                            MHD_OPTION_HTTPS_MEM_TRUST, 0, (void *)(uintptr_t)o->tls_client_ca_pem};
        }
        opts[i++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

        return MHD_start_daemon(flags, o->port, NULL, NULL, access_handler, srv, MHD_OPTION_ARRAY,
                                opts, MHD_OPTION_END);
}

int kl_http_server_start(const struct kl_http_server_options *opts, kl_http_handler handler,
                         void *ctx, struct kl_http_server **ret)
{
        struct kl_http_server *srv = NULL;
        struct sockaddr_storage ss;
        socklen_t ss_len = 0;
        const union MHD_DaemonInfo *di;
        unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
        int r = KL_ERR_INVAL;

        if (opts == NULL || handler == NULL || ret == NULL)
                goto out;
        if ((opts->tls_cert_pem == NULL) !=
                (opts->tls_key_pem == NULL && opts->tls_signer == NULL) ||
            (opts->tls_key_pem != NULL && opts->tls_signer != NULL) ||
            (opts->tls_client_ca_pem != NULL && opts->tls_cert_pem == NULL))
                goto out;
        r = KL_ERR_NOMEM;
        if ((srv = calloc(1, sizeof(*srv))) == NULL)
                goto out;
        srv->handler = handler;
        srv->ctx = ctx;
        srv->max_body = opts->max_body != 0 ? opts->max_body : DEFAULT_MAX_BODY;
        atomic_init(&srv->budget.used, 0);
        srv->budget.limit = opts->max_body_total != 0
                                ? opts->max_body_total
                                : DEFAULT_BODY_TOTAL_MAX_BODIES * srv->max_body;
        if (srv->budget.limit < srv->max_body + 1)
                srv->budget.limit = srv->max_body + 1; /* one whole body always fits */
        srv->mtls = opts->tls_client_ca_pem != NULL;
        atomic_init(&srv->running, false);
        if (opts->tls_cert_pem != NULL)
                flags |= MHD_USE_TLS;
        if (opts->tls_signer != NULL &&
            (r = kl_tls_signer_start(opts->tls_signer, opts->tls_cert_pem, &srv->signer)) < 0)
                goto out;

        if (opts->host != NULL) {
                if ((r = resolve_bind(opts->host, opts->port, &ss, &ss_len)) < 0)
                        goto out;
                if (ss.ss_family == AF_INET6)
                        flags |= MHD_USE_IPv6;
                srv->daemon = start_daemon(srv, opts, flags, (const struct sockaddr *)&ss);
        } else {
                srv->daemon = start_daemon(srv, opts, flags | MHD_USE_DUAL_STACK, NULL);
                /* Hosts without IPv6 cannot open a dual-stack socket: fall back to IPv4. */
                if (srv->daemon == NULL)
                        srv->daemon = start_daemon(srv, opts, flags, NULL);
        }
        if (srv->daemon == NULL) {
                log_error("cannot start HTTP server on %.100s port %u",
                          opts->host != NULL ? opts->host : "*", (unsigned)opts->port);
                r = KL_ERR_SYSTEM;
                goto out;
        }
        di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = di != NULL ? di->port : opts->port;
        atomic_store(&srv->running, true);
        *ret = srv;
        srv = NULL;
        r = 0;
out:
        kl_http_server_stop(srv);
        return r;
}

void kl_http_server_stop(struct kl_http_server *srv)
{
        if (srv == NULL)
                return;
        if (srv->daemon != NULL)
                MHD_stop_daemon(srv->daemon); /* joins the worker threads */
        kl_tls_signer_stop(srv->signer);
        free(srv);
}

uint16_t kl_http_server_port(const struct kl_http_server *srv)
{
        return srv != NULL ? srv->port : 0;
}

const char *kl_http_request_method(const struct kl_http_request *req)
{
        return req->method;
}

const char *kl_http_request_path(const struct kl_http_request *req)
{
        return req->path;
}

const char *kl_http_request_query(const struct kl_http_request *req, const char *key)
{
        return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *kl_http_request_header(const struct kl_http_request *req, const char *name)
{
        return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *kl_http_request_body(const struct kl_http_request *req, size_t *ret_len)
{
        if (ret_len != NULL)
                *ret_len = req->body_len;
        return req->body;
}

const char *kl_http_request_peer_cn(const struct kl_http_request *req)
{
        return req->peer_cn;
}

int kl_http_request_local_addr(const struct kl_http_request *req, char *out, size_t len)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct sockaddr_storage ss;
        socklen_t ss_len = sizeof(ss);
        const void *addr;
        int family;

        if (ci == NULL || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &ss_len) != 0)
                return KL_ERR_SYSTEM;
        if (ss.ss_family == AF_INET) {
                family = AF_INET;
                addr = &((const struct sockaddr_in *)&ss)->sin_addr;
        } else if (ss.ss_family == AF_INET6) {
                const struct in6_addr *a6 = &((const struct sockaddr_in6 *)&ss)->sin6_addr;

                /* a dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d */
                family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
                addr = family == AF_INET ? (const void *)&a6->s6_addr[12] : (const void *)a6;
        } else {
                return KL_ERR_UNSUPPORTED;
        }
        if (len > (size_t)INT32_MAX || inet_ntop(family, addr, out, (socklen_t)len) == NULL)
                return KL_ERR_TOO_LONG;
        return 0;
}

void kl_http_reply_json(struct kl_http_reply *reply, int code, const char *status, kl_json *results)
{
        reply_discard(reply);
        reply->content_type = NULL;
        reply->body = kl_json_envelope(code, status, results);
        reply->status = reply->body != NULL ? code : 500;
}

void kl_http_reply_json_null(struct kl_http_reply *reply, int code, const char *status)
{
        reply_discard(reply);
        reply->content_type = NULL;
        reply->body = kl_json_envelope_null(code, status);
        reply->status = reply->body != NULL ? code : 500;
}
