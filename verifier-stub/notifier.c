/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation notices from the verifier stub (see notifier.h). The PUB socket
 * is bound once at start-up and kept (upstream's connect-per-notice through
 * an IPC broker loses messages to ZeroMQ's slow-joiner effect); it is only
 * used from the poller thread. REST delivery runs on its own thread so a
 * slow or dead agent never delays polling.
 */
#include "notifier.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "rest.h"
#include "revocation_notice.h"
#include "store.h"
#include "zeromq.h"

#define SEVERITY_DEFAULT "emergency" /* upstream's default severity_policy maps all here */

struct ver_notifier {
        struct ver_store *store;
        struct ver_notifier_config cfg;
        EVP_PKEY *key;
        struct kl_zmq_pub *pub;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        char *queue[VER_NOTIFIER_QUEUE_MAX];
        size_t head, n;
};

/* Reads "PCR <n>" at the start of why; -1 if absent. */
static int leading_pcr(const char *why)
{
        char *end = NULL;
        long v;

        if (strncmp(why, "PCR ", 4) != 0 || !isdigit((unsigned char)why[4]))
                return -1;
        v = strtol(why + 4, &end, 10);
        return v >= 0 && v <= 23 ? (int)v : -1;
}

void ver_notifier_event_id(const char *why, char *buf, size_t len)
{
        int pcr = why != NULL ? leading_pcr(why) : -1;

        if (why != NULL && pcr >= 0 && strstr(why, "boot event log") != NULL)
                snprintf(buf, len, "measured_boot.invalid_pcr_%d", pcr);
        else if (pcr >= 0)
                snprintf(buf, len, "pcr_validation.invalid_pcr_%d", pcr);
        else if (why != NULL && (strstr(why, "IMA") != NULL || strstr(why, "ima_") != NULL))
                snprintf(buf, len, "ima.invalid_entry");
        else
                snprintf(buf, len, "quote_validation.quote_validation");
}

int ver_notifier_build_msg(const struct ver_revocation_event *ev, char **ret)
{
        kl_json *o = kl_json_object();
        kl_json *ctx = kl_json_object();
        char *ctx_text = NULL, *text = NULL;
        char when[64];
        struct tm tm;
        int r = KL_ERR_NOMEM;

        if (o == NULL || ctx == NULL)
                goto out;
        /* Python's time.asctime(): "Mon Jan  5 10:00:00 2026" */
        if (localtime_r(&ev->when, &tm) == NULL ||
            strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
                snprintf(when, sizeof(when), "?");
        if (kl_rest_add_str(ctx, "message", ev->reason != NULL ? ev->reason : "") < 0 ||
            (ctx_text = kl_json_to_string(ctx)) == NULL)
                goto out;
        /* upstream's key order (cloud_verifier_common.prepare_error) */
        if (kl_rest_add_str(o, "type", "revocation") < 0 || kl_rest_add_str(o, "ip", ev->ip) < 0 ||
            kl_rest_add_str(o, "agent_id", ev->agent_id) < 0 ||
            (ev->port > 0 ? kl_json_set_int(o, "port", ev->port) : kl_json_set_null(o, "port")) <
                0 ||
            kl_rest_add_str(o, "tpm_policy", ev->tpm_policy != NULL ? ev->tpm_policy : "{}") < 0 ||
            kl_rest_add_str(o, "meta_data", ev->meta_data != NULL ? ev->meta_data : "{}") < 0 ||
            kl_rest_add_str(o, "event_time", when) < 0 ||
            kl_rest_add_str(o, "event_id", ev->event_id) < 0 ||
            kl_rest_add_str(o, "severity_label",
                            ev->severity_label != NULL ? ev->severity_label : SEVERITY_DEFAULT) <
                0 ||
            kl_rest_add_str(o, "context", ctx_text) < 0 || (text = kl_json_to_string(o)) == NULL)
                goto out;
        *ret = text;
        r = 0;
out:
        kl_json_free(o);
        kl_json_free(ctx);
        free(ctx_text);
        return r;
}

/* ---- REST fan-out ---- */

/* POSTs body to one agent record; logs the outcome. */
static void post_one(struct ver_notifier *n, const struct ver_agent *a, const char *body)
{
        struct kl_http_response resp = {0};
        struct kl_http_tls tls = {
            .cert_file = n->cfg.client_cert,
            .key_file = n->cfg.client_key,
            .no_hostname_check = true,
        };
        bool use_tls = a->mtls_cert != NULL && strcmp(a->mtls_cert, "disabled") != 0;
        char ca_path[4096] = "";
        char url[1024];
        int fd = -1, w, r;

        if (a->ip == NULL || a->port <= 0)
                return;
        w = snprintf(url, sizeof(url),
                     strchr(a->ip, ':') != NULL ? "%s://[%s]:%lld/v%s/notifications/revocation"
                                                : "%s://%s:%lld/v%s/notifications/revocation",
                     use_tls ? "https" : "http", a->ip, (long long)a->port,
                     a->api_version != NULL ? a->api_version : "2.1");
        if (w < 0 || (size_t)w >= sizeof(url))
                return;
        if (use_tls) {
                /* the agent's registered certificate is its only trust anchor (pinned) */
                w = snprintf(ca_path, sizeof(ca_path), "%s/notify-XXXXXX", n->cfg.tmp_dir);
                if (w < 0 || (size_t)w >= sizeof(ca_path) ||
                    (fd = mkostemp(ca_path, O_CLOEXEC)) < 0) {
                        log_warn("agent '%s': no temporary file for its certificate; not "
                                 "notified",
                                 a->agent_id);
                        return;
                }
                if (write(fd, a->mtls_cert, strlen(a->mtls_cert)) !=
                    (ssize_t)strlen(a->mtls_cert)) {
                        log_warn("agent '%s': cannot write its certificate; not notified",
                                 a->agent_id);
                        goto out;
                }
                close(fd);
                fd = -1;
                tls.ca_file = ca_path;
        }
        r = kl_http_request("POST", url, body, use_tls ? &tls : NULL, n->cfg.timeout_ms, &resp);
        if (r < 0)
                log_warn("agent '%s': revocation notice not delivered: %s", a->agent_id,
                         kl_err_str(r));
        else if (resp.status != 200)
                log_warn("agent '%s': revocation notice answered HTTP %ld: %.200s", a->agent_id,
                         resp.status, resp.body);
        else
                log_info("agent '%s': revocation notice delivered over REST", a->agent_id);
out:
        if (fd >= 0)
                close(fd);
        if (ca_path[0] != '\0')
                unlink(ca_path);
        kl_http_response_clear(&resp);
}

/* As upstream's "agent" notifier: every agent this verifier knows gets the notice. */
static void fan_out(struct ver_notifier *n, const char *body)
{
        char **ids = NULL;
        size_t count = 0;

        if (ver_store_list(n->store, &ids, &count) < 0)
                return;
        for (size_t i = 0; i < count; i++) {
                struct ver_agent *a = NULL;

                if (ver_store_get(n->store, ids[i], &a) == 0)
                        post_one(n, a, body);
                ver_agent_free(a);
                free(ids[i]);
        }
        free(ids);
}

static void *rest_run(void *arg)
{
        struct ver_notifier *n = arg;

        for (;;) {
                char *body;

                pthread_mutex_lock(&n->lock);
                while (n->n == 0 && !n->stop)
                        pthread_cond_wait(&n->cond, &n->lock);
                if (n->n == 0) { /* stop, and nothing left to deliver */
                        pthread_mutex_unlock(&n->lock);
                        break;
                }
                body = n->queue[n->head];
                n->queue[n->head] = NULL;
                n->head = (n->head + 1) % VER_NOTIFIER_QUEUE_MAX;
                n->n--;
                pthread_mutex_unlock(&n->lock);
                fan_out(n, body);
                free(body);
        }
        return NULL;
}

static void queue_rest(struct ver_notifier *n, const char *body)
{
        char *copy = strdup(body);
        bool queued = false;

        if (copy == NULL)
                return;
        pthread_mutex_lock(&n->lock);
        if (n->n < VER_NOTIFIER_QUEUE_MAX) {
                n->queue[(n->head + n->n) % VER_NOTIFIER_QUEUE_MAX] = copy;
                n->n++;
                queued = true;
                pthread_cond_signal(&n->cond);
        }
        pthread_mutex_unlock(&n->lock);
        if (!queued) {
                log_warn("REST revocation queue full; this notice goes over ZeroMQ only");
                free(copy);
        }
}

/* ---- lifecycle ---- */

int ver_notifier_revoke(struct ver_notifier *n, const char *agent_id, const char *why)
{
        struct ver_agent *a = NULL;
        struct ver_revocation_event ev = {0};
        char event_id[64];
        char *msg = NULL, *sig = NULL, *body = NULL;
        int r;

        if (n == NULL)
                return 0;
        if ((r = ver_store_get(n->store, agent_id, &a)) < 0)
                goto out;
        ver_notifier_event_id(why, event_id, sizeof(event_id));
        ev = (struct ver_revocation_event){
            .agent_id = a->agent_id,
            .ip = a->ip,
            .port = a->port,
            .tpm_policy = a->tpm_policy,
            .event_id = event_id,
            .reason = why,
            .when = time(NULL),
        };
        if ((r = ver_notifier_build_msg(&ev, &msg)) < 0)
                goto out;
        if (n->key != NULL && (r = kl_revocation_sign(n->key, msg, strlen(msg), &sig)) < 0)
                goto out;
        /* without a key upstream sends "" and agents drop the notice */
        if ((r = kl_revocation_body(msg, sig != NULL ? sig : "", &body)) < 0)
                goto out;
        if (n->pub != NULL) {
                if (kl_zmq_pub_send(n->pub, body, strlen(body)) < 0)
                        log_warn("agent '%s': revocation notice not published: %s", agent_id,
                                 kl_zmq_strerror());
                else
                        log_info("agent '%s': revocation notice published (%s)", agent_id,
                                 event_id);
        }
        if (n->cfg.rest)
                queue_rest(n, body);
        r = 0;
out:
        if (r < 0)
                log_error("agent '%s': no revocation notice: %s", agent_id, kl_err_str(r));
        free(body);
        free(sig);
        free(msg);
        ver_agent_free(a);
        return r;
}

static int load_key(struct ver_notifier *n)
{
        X509 *cert = NULL;
        int r;

        if (n->cfg.key_file == NULL) {
                log_warn("no --revocation-key: revocation notices go out unsigned and agents "
                         "will drop them");
                return 0;
        }
        if ((r = kl_key_load_pem(n->cfg.key_file, NULL, &n->key)) < 0) {
                log_error("cannot load the revocation key %s: %s", n->cfg.key_file, kl_err_str(r));
                return r;
        }
        if (!kl_pkey_is_rsa(n->key)) {
                log_error("the revocation key %s is not RSA (upstream signs with RSA-PSS)",
                          n->cfg.key_file);
                return KL_ERR_INVAL;
        }
        if (n->cfg.cert_file == NULL)
                return 0;
        if ((r = kl_x509_load_file(n->cfg.cert_file, &cert)) < 0) {
                log_error("cannot load the revocation certificate %s: %s", n->cfg.cert_file,
                          kl_err_str(r));
                return r;
        }
        if (!kl_x509_matches_key(cert, n->key)) {
                log_error("%s is not the certificate of %s: agents could not verify notices",
                          n->cfg.cert_file, n->cfg.key_file);
                r = KL_ERR_KEY_MISMATCH;
        }
        kl_x509_free(cert);
        return r;
}

static int bind_pub(struct ver_notifier *n)
{
        /* a notice sent just before shutdown still leaves */
        if (kl_zmq_pub_open(n->cfg.pub_endpoint, 1000, &n->pub) < 0) {
                log_error("ZeroMQ PUB on '%s': %s", n->cfg.pub_endpoint, kl_zmq_strerror());
                return KL_ERR_SYSTEM;
        }
        log_info("publishing revocation notices on %s", n->cfg.pub_endpoint);
        return 0;
}

int ver_notifier_start(struct ver_store *store, const struct ver_notifier_config *cfg,
                       struct ver_notifier **ret)
{
        struct ver_notifier *n = calloc(1, sizeof(*n));
        int r = KL_ERR_NOMEM;

        if (n == NULL)
                return r;
        n->store = store;
        n->cfg = *cfg;
        r = KL_ERR_SYSTEM;
        if (pthread_mutex_init(&n->lock, NULL) != 0) {
                free(n);
                return r;
        }
        if (pthread_cond_init(&n->cond, NULL) != 0) {
                pthread_mutex_destroy(&n->lock);
                free(n);
                return r;
        }
        if ((r = load_key(n)) < 0)
                goto out;
        if (cfg->pub_endpoint != NULL && cfg->pub_endpoint[0] != '\0' && (r = bind_pub(n)) < 0) {
                if (!cfg->pub_optional)
                        goto out;
                /* the default endpoint may be taken (another verifier): serve without it */
                log_warn("not publishing revocation notices on ZeroMQ; ignoring");
                kl_zmq_pub_close(n->pub);
                n->pub = NULL;
        }
        r = KL_ERR_SYSTEM;
        if (cfg->rest && pthread_create(&n->thread, NULL, rest_run, n) != 0)
                goto out;
        n->started = cfg->rest;
        *ret = n;
        n = NULL;
        r = 0;
out:
        ver_notifier_stop(n);
        return r;
}

void ver_notifier_stop(struct ver_notifier *n)
{
        if (n == NULL)
                return;
        if (n->started) {
                pthread_mutex_lock(&n->lock);
                n->stop = true;
                pthread_cond_signal(&n->cond);
                pthread_mutex_unlock(&n->lock);
                pthread_join(n->thread, NULL);
        }
        for (size_t i = 0; i < VER_NOTIFIER_QUEUE_MAX; i++)
                free(n->queue[i]);
        kl_zmq_pub_close(n->pub);
        kl_pkey_free(n->key);
        pthread_cond_destroy(&n->cond);
        pthread_mutex_destroy(&n->lock);
        free(n);
}
