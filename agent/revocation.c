/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Revocation notices on the agent (see revocation.h). Order matters: parse,
 * load the certificate, verify the signature over the exact msg bytes, and
 * only then parse msg and run actions, so an unsigned or forged notice never
 * reaches an action. The certificate is read for every notice instead of
 * once at start: the tenant may deliver it later inside a payload
 * (secure/unzipped/RevocationNotifier-cert.crt). Unlike upstream, a
 * certificate outside its validity dates is refused, and a verified event
 * must pass revocation_admit (replay, age, addressee).
 */
#include "revocation.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "api.h"
#include "crypto.h"
#include "err.h"
#include "http_server.h"
#include "json.h"
#include "log.h"
#include "revocation_listener.h"
/* lib/ has a revocation.h too (the notice format): name it by its directory */
#include "revocation_notice.h"

#define DROP_WINDOW_S 10
#define DROP_BURST    10 /* drop messages logged per window; peers choose how many we see */

static pthread_mutex_t drop_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t drop_window;
static unsigned drop_count;
static unsigned long drop_suppressed;

/* True when a peer-triggered drop may be logged now (OpenSSH log_ratelimit style). */
static bool drop_log_allowed(void)
{
        time_t now = time(NULL);
        unsigned long suppressed = 0;
        bool ok;

        pthread_mutex_lock(&drop_lock);
        if (now - drop_window >= DROP_WINDOW_S) {
                suppressed = drop_suppressed;
                drop_window = now;
                drop_count = 0;
                drop_suppressed = 0;
        }
        ok = drop_count < DROP_BURST;
        if (ok)
                drop_count++;
        else
                drop_suppressed++;
        pthread_mutex_unlock(&drop_lock);
        if (suppressed > 0)
                log_warn("%lu more dropped revocation notices were not logged", suppressed);
        return ok;
}

#define log_drop(...)                                                                              \
        do {                                                                                       \
                if (drop_log_allowed())                                                            \
                        log_warn(__VA_ARGS__);                                                     \
        } while (0)

static long ms_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

int revocation_process(const struct revocation_opts *o, struct revocation_seen *seen,
                       const char *data, size_t len, const atomic_bool *cancel)
{
        struct kl_revocation *rv = NULL;
        kl_json *ev = NULL;
        const char *agent_id = NULL, *event_id = NULL;
        char *json = NULL, why[256];
        X509 *cert = NULL;
        struct timespec t0;
        size_t ran = 0, failed = 0;
        int r;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((r = kl_revocation_parse(data, len, &rv)) < 0) {
                log_drop("dropping a revocation notice: not {\"msg\": string, \"signature\": "
                         "string} (%s, %zu bytes)",
                         kl_err_str(r), len);
                goto out;
        }
        if ((r = kl_x509_load_file(o->cert_path, &cert)) < 0) {
                if (r == KL_ERR_NOT_FOUND)
                        log_drop("dropping a revocation notice: revocation certificate %s not "
                                 "yet available",
                                 o->cert_path);
                else
                        log_drop("dropping a revocation notice: cannot load the revocation "
                                 "certificate %s: %s",
                                 o->cert_path, kl_err_str(r));
                r = KL_ERR_NOT_FOUND;
                goto out;
        }
        if (!kl_revocation_cert_current(cert, time(NULL))) {
                log_drop("dropping a revocation notice: the revocation certificate %s is not "
                         "valid now (outside its notBefore..notAfter)",
                         o->cert_path);
                r = KL_ERR_VERIFY;
                goto out;
        }
        if ((r = kl_revocation_verify_cert(rv, cert)) < 0) {
                log_drop("dropping a revocation notice: %s signature does not verify with %s",
                         rv->sig_len == 0 ? "empty" : "its", o->cert_path);
                r = KL_ERR_VERIFY;
                goto out;
        }
        /* signed by the verifier from here on, but still checked as data */
        if ((r = kl_revocation_event(rv, &ev)) < 0) {
                log_drop("dropping a signed revocation notice: msg is not a JSON object");
                goto out;
        }
        if ((r = revocation_admit(seen, ev, o->agent_id, time(NULL), why, sizeof(why))) < 0) {
                log_drop("dropping a signed revocation notice: %s", why);
                goto out;
        }
        (void)kl_json_get_string(ev, "agent_id", &agent_id);
        (void)kl_json_get_string(ev, "event_id", &event_id);
        log_info("revocation notice verified: agent '%.80s', event '%.100s'",
                 agent_id != NULL ? agent_id : "?", event_id != NULL ? event_id : "-");
        r = KL_ERR_NOMEM;
        if ((json = kl_json_to_string(ev)) == NULL)
                goto out;
        if ((r = actions_run_all(&o->actions, json, cancel, &ran, &failed)) < 0) {
                log_error("revocation actions not run: %s", kl_err_str(r));
                goto out;
        }
        log_info("revocation actions done in %ld ms: %zu ran, %zu failed", ms_since(&t0), ran,
                 failed);
        r = 0;
out:
        free(json);
        kl_json_free(ev);
        kl_x509_free(cert);
        kl_revocation_free(rv);
        return r;
}

/* ---- worker ---- */

struct notice {
        char *data;
        size_t len;
};

struct revocation_worker {
        struct revocation_opts o;
        struct revocation_seen seen; /* the worker thread's alone */
        char *unzipped;              /* our copy of o.actions.unzipped_dir */
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        atomic_bool stop;
        struct notice queue[REVOCATION_QUEUE_MAX];
        size_t head, n;
        bool started;
};

static void *worker_run(void *arg)
{
        struct revocation_worker *w = arg;

        for (;;) {
                struct notice job;

                pthread_mutex_lock(&w->lock);
                while (w->n == 0 && !atomic_load(&w->stop))
                        pthread_cond_wait(&w->cond, &w->lock);
                if (atomic_load(&w->stop)) {
                        pthread_mutex_unlock(&w->lock);
                        break;
                }
                job = w->queue[w->head];
                w->queue[w->head] = (struct notice){0};
                w->head = (w->head + 1) % REVOCATION_QUEUE_MAX;
                w->n--;
                pthread_mutex_unlock(&w->lock);
                (void)revocation_process(&w->o, &w->seen, job.data, job.len, &w->stop);
                free(job.data);
        }
        return NULL;
}

int revocation_worker_start(const struct revocation_opts *o, struct revocation_worker **ret)
{
        struct revocation_worker *w = calloc(1, sizeof(*w));
        int r = KL_ERR_NOMEM;

        if (w == NULL)
                return r;
        w->o = *o;
        atomic_init(&w->stop, false);
        if (o->actions.unzipped_dir != NULL &&
            (w->unzipped = strdup(o->actions.unzipped_dir)) == NULL)
                goto out;
        w->o.actions.unzipped_dir = w->unzipped;
        r = KL_ERR_SYSTEM;
        if (pthread_mutex_init(&w->lock, NULL) != 0)
                goto out;
        if (pthread_cond_init(&w->cond, NULL) != 0) {
                pthread_mutex_destroy(&w->lock);
                goto out;
        }
        if (pthread_create(&w->thread, NULL, worker_run, w) != 0) {
                pthread_cond_destroy(&w->cond);
                pthread_mutex_destroy(&w->lock);
                goto out;
        }
        w->started = true;
        *ret = w;
        w = NULL;
        r = 0;
out:
        if (w != NULL)
                free(w->unzipped);
        free(w);
        return r;
}

int revocation_worker_submit(struct revocation_worker *w, const char *data, size_t len,
                             const char *channel)
{
        char *copy;
        int r = 0;

        if (w == NULL)
                return KL_ERR_INVAL;
        if ((copy = malloc(len + 1)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(copy, data, len);
        copy[len] = '\0';
        pthread_mutex_lock(&w->lock);
        if (w->n >= REVOCATION_QUEUE_MAX) {
                r = KL_ERR_TOO_LONG;
        } else {
                w->queue[(w->head + w->n) % REVOCATION_QUEUE_MAX] =
                    (struct notice){.data = copy, .len = len};
                w->n++;
                copy = NULL;
                pthread_cond_signal(&w->cond);
        }
        pthread_mutex_unlock(&w->lock);
        if (r < 0)
                log_drop("dropping a revocation notice from %s: %d are already waiting", channel,
                         REVOCATION_QUEUE_MAX);
        else
                log_debug("revocation notice (%zu bytes) received over %s", len, channel);
        free(copy);
        return r;
}

void revocation_worker_stop(struct revocation_worker *w)
{
        if (w == NULL)
                return;
        pthread_mutex_lock(&w->lock);
        atomic_store(&w->stop, true); /* also kills a running action */
        pthread_cond_signal(&w->cond);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        for (size_t i = 0; i < REVOCATION_QUEUE_MAX; i++)
                free(w->queue[i].data);
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        free(w->unzipped);
        free(w);
}

/* ---- agent glue and REST ---- */

/* The listener's delivery callback: frames go to the worker like REST bodies. */
static void deliver_zmq(void *ctx, const char *data, size_t len)
{
        (void)revocation_worker_submit(ctx, data, len, "ZeroMQ");
}

int revocation_agent_start(struct agent *a, const char *secure_dir)
{
        const struct kl_agent_config *cfg = a->cfg;
        struct revocation_opts o = {0};
        char unzipped[4096];
        struct stat st;
        int n, r;

        if (secure_dir != NULL && secure_dir[0] != '\0')
                n = snprintf(unzipped, sizeof(unzipped), "%s/unzipped", secure_dir);
        else
                n = snprintf(unzipped, sizeof(unzipped), "%s/secure/unzipped", cfg->keylime_dir);
        if (n < 0 || (size_t)n >= sizeof(unzipped))
                return KL_ERR_TOO_LONG;
        o.cert_path = cfg->revocation_cert;
        o.agent_id = a->agent_id;
        o.actions = (struct actions_opts){
            .actions = cfg->revocation_actions,
            .actions_dir = cfg->revocation_actions_dir,
            .unzipped_dir = unzipped,
            .allow_payload = cfg->allow_payload_revocation_actions,
            .work_dir = cfg->keylime_dir,
            .timeout_s = ACTIONS_TIMEOUT_S,
        };
        if (cfg->enable_revocation_notifications &&
            (stat(cfg->revocation_actions_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
                /* as upstream: a listener that could never act is a configuration error */
                log_error("revocation_actions_dir %s is not a directory (%s)",
                          cfg->revocation_actions_dir, strerror(errno ? errno : ENOTDIR));
                return KL_ERR_CONFIG;
        }
        if ((r = revocation_worker_start(&o, &a->revocation)) < 0) {
                log_error("cannot start the revocation worker: %s", kl_err_str(r));
                return r;
        }
        if (!cfg->enable_revocation_notifications)
                return 0;
        if ((r = revocation_listener_start(cfg->revocation_notification_ip,
                                           cfg->revocation_notification_port, deliver_zmq,
                                           a->revocation, &a->revocation_listener)) < 0) {
                log_error("cannot start the revocation listener: %s", kl_err_str(r));
                return r;
        }
        log_info("listening for revocation notices from tcp://%s:%u (certificate %s)",
                 cfg->revocation_notification_ip, (unsigned)cfg->revocation_notification_port,
                 cfg->revocation_cert);
        return 0;
}

void revocation_agent_stop(struct agent *a)
{
        /* the listener feeds the worker: it goes first */
        revocation_listener_stop(a->revocation_listener);
        a->revocation_listener = NULL;
        revocation_worker_stop(a->revocation);
        a->revocation = NULL;
}

void api_notifications_revocation(const struct api_call *c, struct kl_http_reply *reply)
{
        struct kl_revocation *rv = NULL;
        size_t len = 0;
        const char *body = kl_http_request_body(c->req, &len);
        int r;

        /* the shape is checked here so the sender learns of a bad body; the rest is async */
        if ((r = kl_revocation_parse(body != NULL ? body : "", len, &rv)) < 0) {
                api_error(reply, 400,
                          "Invalid revocation notice: expected a JSON object with string "
                          "fields msg and signature");
                return;
        }
        kl_revocation_free(rv);
        if (revocation_worker_submit(c->agent->revocation, body, len, "REST") == KL_ERR_INVAL)
                log_drop("dropping a revocation notice from REST: no revocation worker");
        kl_http_reply_json_null(reply, 200, "Success");
}
