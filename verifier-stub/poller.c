/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's polling thread (see poller.h). Agents are polled
 * sequentially: each request is bounded by a timeout, and a stub attests a
 * handful of agents, so one thread keeps the state machine simple and free
 * of locks beyond the store's. States follow upstream's operational state
 * names; "Invalid Quote" and "Failed" stop polling until the agent is added
 * again, as upstream does.
 */
#include "poller.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ak_check.h"
#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "http_client.h"
#include "ima.h"
#include "json.h"
#include "log.h"
#include "notifier.h"
#include "quote.h"
#include "store.h"
#include "tenant.h"
#include "tpm_public.h"
#include "uefi_log.h"
#include "verify.h"

#define ST_START    "Start"
#define ST_GET      "Get Quote"
#define ST_RETRY    "Get Quote (retry)"
#define ST_INVALID  "Invalid Quote"
#define ST_FAILED   "Failed"
#define TICK_MS     100
#define BACKOFF_MAX 16u /* the longest retry delay is 16 intervals */
#define WHY_MAX     512

struct agent_rt {
        char id[81];
        int64_t gen;
        bool seen;
        bool dead; /* could not be loaded: stays as reported until re-added */
        uint64_t next_due;
        unsigned retries;
        char api_version[8];
        struct ver_attest_state att; /* policies, AK, NK, clock, IMA position */
        int64_t count;
        int64_t last_success;
        char ca_path[PATH_MAX];
        char *url_host; /* "ip:port" or "[v6]:port" */
        bool tls;
        char *v_b64; /* the tenant's V share, released after the first good quote */
        bool v_delivered;
};

struct ver_poller {
        struct ver_store *store;
        struct ver_poller_config cfg;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        struct agent_rt **agents;
        size_t n_agents;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void rt_free(struct agent_rt *rt)
{
        if (rt == NULL)
                return;
        if (rt->ca_path[0] != '\0')
                unlink(rt->ca_path);
        free(rt->att.nk_pem);
        free(rt->url_host);
        if (rt->v_b64 != NULL)
                kl_secure_free(rt->v_b64, strlen(rt->v_b64));
        kl_ima_policy_free(rt->att.ima_policy);
        kl_mb_policy_free(rt->att.mb_policy);
        kl_tpm_public_free(rt->att.ak);
        free(rt);
}

/* Status write; a record re-added meanwhile (new gen) is left alone by the store. */
static void set_status(struct ver_poller *p, struct agent_rt *rt, const char *state,
                       const char *failure)
{
        int r = ver_store_set_status(p->store, rt->id, rt->gen, state, rt->count, failure,
                                     rt->last_success,
                                     rt->api_version[0] != '\0' ? rt->api_version : NULL);

        if (r < 0 && r != KL_ERR_NOT_FOUND)
                log_error("agent '%s': cannot record state '%s': %s", rt->id, state, kl_err_str(r));
}

/* Builds the runtime state of a freshly added record: AK, policies, pinned certificate. */
static int rt_load(struct ver_poller *p, const struct ver_agent *a, struct agent_rt **ret,
                   char *why, size_t why_len)
{
        struct agent_rt *rt = NULL;
        struct json_object *pol = NULL;
        size_t n;
        int r = KL_ERR_NOMEM;

        if ((rt = calloc(1, sizeof(*rt))) == NULL)
                goto out;
        n = strlen(a->agent_id);
        if (n >= sizeof(rt->id)) {
                r = KL_ERR_INVAL;
                goto out;
        }
        memcpy(rt->id, a->agent_id, n + 1);
        rt->att.agent_id = rt->id;
        rt->att.store = p->store;
        rt->gen = a->gen;
        rt->count = a->attestation_count;
        rt->last_success = a->last_success;
        r = KL_ERR_INVAL;
        if (a->aik_tpm == NULL ||
            kl_tpm_public_parse(a->aik_tpm, a->aik_tpm_len, &rt->att.ak) < 0) {
                snprintf(why, why_len, "stored aik_tpm is not a TPM2B_PUBLIC");
                goto out;
        }
        if (kl_ak_check(rt->att.ak, NULL, NULL, why, why_len) < 0)
                goto out; /* a quote signed by it proves nothing */
        if (kl_json_parse_object(a->tpm_policy, strlen(a->tpm_policy), &pol) < 0 ||
            ver_tpm_policy_from_json(pol, &rt->att.tpm, why, why_len) < 0)
                goto out;
        if (a->ima_policy != NULL && kl_ima_policy_parse(a->ima_policy, strlen(a->ima_policy),
                                                         &rt->att.ima_policy, why, why_len) < 0)
                goto out;
        if (a->mb_policy != NULL && kl_mb_policy_parse(a->mb_policy, strlen(a->mb_policy),
                                                       &rt->att.mb_policy, why, why_len) < 0)
                goto out;
        if (a->ip == NULL || a->port <= 0) {
                snprintf(why, why_len, "no agent address");
                goto out;
        }
        r = KL_ERR_NOMEM;
        if (asprintf(&rt->url_host, strchr(a->ip, ':') != NULL ? "[%s]:%lld" : "%s:%lld", a->ip,
                     (long long)a->port) < 0) {
                rt->url_host = NULL;
                goto out;
        }
        if (a->v != NULL && (rt->v_b64 = strdup(a->v)) == NULL)
                goto out;
        rt->tls = a->mtls_cert != NULL && strcmp(a->mtls_cert, "disabled") != 0;
        if (rt->tls) {
                int len =
                    snprintf(rt->ca_path, sizeof(rt->ca_path), "%s/%s.crt", p->cfg.tmp_dir, rt->id);

                if (len < 0 || (size_t)len >= sizeof(rt->ca_path)) {
                        rt->ca_path[0] = '\0';
                        r = KL_ERR_TOO_LONG;
                        goto out;
                }
                /* The agent's registered certificate is the only trust anchor: pinned. */
                if ((r = kl_file_write_atomic(rt->ca_path, a->mtls_cert, strlen(a->mtls_cert),
                                              0600)) < 0) {
                        snprintf(why, why_len, "cannot write the agent's certificate");
                        goto out;
                }
        }
        if (ver_attest_resume(&rt->att) > 0)
                log_info("agent '%s': resuming after its last good quote (IMA entry %llu)", rt->id,
                         (unsigned long long)(rt->att.ima_started ? rt->att.ima.entries : 0));
        *ret = rt;
        rt = NULL;
        r = 0;
out:
        json_object_put(pol);
        rt_free(rt);
        return r;
}

/* A request to the agent with the pinned certificate and our client certificate. */
static int agent_request(struct ver_poller *p, struct agent_rt *rt, const char *method,
                         const char *path, const char *body, struct kl_http_response *resp)
{
        struct kl_http_tls tls = {
            .ca_file = rt->ca_path,
            .cert_file = p->cfg.client_cert,
            .key_file = p->cfg.client_key,
            .no_hostname_check = true,
        };
        char url[1024];
        int n =
            snprintf(url, sizeof(url), "%s://%s%s", rt->tls ? "https" : "http", rt->url_host, path);

        if (n < 0 || (size_t)n >= sizeof(url))
                return KL_ERR_TOO_LONG;
        return kl_http_request(method, url, body, rt->tls ? &tls : NULL, p->cfg.timeout_ms, resp);
}

static int agent_get(struct ver_poller *p, struct agent_rt *rt, const char *path,
                     struct kl_http_response *resp)
{
        return agent_request(p, rt, "GET", path, NULL, resp);
}

/*
 * keys-and-payloads §3: after the first good quote, V goes to the agent
 * encrypted to the NK that quote carried (bound to the TPM by PCR 16).
 * A failed delivery is tried again after the next good quote.
 */
static void provide_v(struct ver_poller *p, struct agent_rt *rt)
{
        struct kl_http_response resp = {0};
        uint8_t *v = NULL;
        size_t v_len = 0;
        char *wrapped = NULL, *body = NULL;
        char path[64];
        int r;

        if ((r = kl_b64_decode(rt->v_b64, strlen(rt->v_b64), &v, &v_len)) < 0 ||
            (r = kl_tenant_wrap_share(rt->att.nk_pem, v, v_len, &wrapped)) < 0)
                goto out;
        if (asprintf(&body, "{\"encrypted_key\":\"%s\"}", wrapped) < 0) {
                body = NULL;
                r = KL_ERR_NOMEM;
                goto out;
        }
        snprintf(path, sizeof(path), "/v%s/keys/vkey", rt->api_version);
        if ((r = agent_request(p, rt, "POST", path, body, &resp)) < 0)
                goto out;
        if (resp.status != 200) {
                log_warn("agent '%s': POST %s answered %ld: %.200s", rt->id, path, resp.status,
                         resp.body);
                r = KL_ERR_HTTP_STATUS;
                goto out;
        }
        rt->v_delivered = true;
        log_info("agent '%s': V delivered after the first good quote", rt->id);
out:
        if (r < 0 && !rt->v_delivered)
                log_warn("agent '%s': cannot deliver V yet: %s", rt->id, kl_err_str(r));
        kl_http_response_clear(&resp);
        free(body);
        free(wrapped);
        kl_secure_free(v, v_len);
}

/* Highest of the agent's supported_versions that we know (2.1..2.6), quote-format §3.3. */
static int negotiate(struct ver_poller *p, struct agent_rt *rt, char *why, size_t why_len)
{
        struct kl_http_response resp = {0};
        struct json_object *obj = NULL;
        struct json_object *res = NULL;
        struct json_object *arr = NULL;
        int best = -1;
        int r;

        if ((r = agent_get(p, rt, "/version", &resp)) < 0) {
                snprintf(why, why_len, "agent unreachable (%s)", kl_err_str(r));
                goto out;
        }
        r = KL_ERR_HTTP_STATUS;
        if (resp.status != 200) {
                snprintf(why, why_len, "GET /version: HTTP %ld", resp.status);
                goto out;
        }
        if (kl_json_parse_object(resp.body, resp.body_len, &obj) < 0 ||
            kl_json_get_object(obj, "results", &res) < 0) {
                snprintf(why, why_len, "GET /version: malformed answer");
                goto out;
        }
        if (json_object_object_get_ex(res, "supported_versions", &arr) &&
            json_object_is_type(arr, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(arr); i++) {
                        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));

                        if (v != NULL && strlen(v) == 3 && v[0] == '2' && v[1] == '.' &&
                            v[2] >= '1' && v[2] <= '6' && v[2] - '0' > best)
                                best = v[2] - '0';
                }
        } else {
                const char *v = NULL;

                if (kl_json_get_string(res, "supported_version", &v) == 0 && strlen(v) == 3 &&
                    v[0] == '2' && v[1] == '.' && v[2] >= '1' && v[2] <= '6')
                        best = v[2] - '0';
        }
        if (best < 0) {
                snprintf(why, why_len, "agent supports no API version 2.1-2.6");
                goto out;
        }
        snprintf(rt->api_version, sizeof(rt->api_version), "2.%c", (char)('0' + best));
        log_info("agent '%s': API version %s", rt->id, rt->api_version);
        r = 0;
out:
        json_object_put(obj);
        kl_http_response_clear(&resp);
        return r;
}

/* A transport error, 408 or 500: retry with back-off, then give up as upstream does. */
static void retry_or_fail(struct ver_poller *p, struct agent_rt *rt, const char *why)
{
        unsigned shift;

        rt->retries++;
        if (rt->retries > p->cfg.max_retries) {
                log_warn("agent '%s': %s; giving up after %u retries", rt->id, why,
                         p->cfg.max_retries);
                set_status(p, rt, ST_FAILED, why);
                return;
        }
        shift = rt->retries - 1 < 4 ? rt->retries - 1 : 4;
        rt->next_due = now_ms() + (uint64_t)p->cfg.interval_ms * (1u << shift);
        log_info("agent '%s': %s; retry %u of %u", rt->id, why, rt->retries, p->cfg.max_retries);
        set_status(p, rt, ST_RETRY, why);
}

/* The quote request URL for q; KL_ERR_TOO_LONG if it does not fit. */
static int quote_path(const struct agent_rt *rt, const struct ver_quote_request *q, char *path,
                      size_t len)
{
        int n = rt->att.ima_policy != NULL
                    ? snprintf(path, len,
                               "/v%s/quotes/integrity?nonce=%s&mask=0x%x&partial=%d&ima_ml_entry="
                               "%llu",
                               rt->api_version, q->nonce, (unsigned)q->mask, q->partial ? 1 : 0,
                               (unsigned long long)q->ima_entry)
                    : snprintf(path, len, "/v%s/quotes/integrity?nonce=%s&mask=0x%x&partial=%d",
                               rt->api_version, q->nonce, (unsigned)q->mask, q->partial ? 1 : 0);

        return n < 0 || (size_t)n >= len ? KL_ERR_TOO_LONG : 0;
}

/*
 * Acts on an answer that is not a 200 (retry, or Failed) and returns true;
 * false for a 200, which the caller checks.
 */
static bool handle_not_ok(struct ver_poller *p, struct agent_rt *rt,
                          const struct kl_http_response *resp)
{
        char why[WHY_MAX];

        if (resp->status == 200)
                return false;
        if (resp->status == 400 && strstr(resp->body, "API version not supported") != NULL) {
                rt->api_version[0] = '\0'; /* negotiate again on the next attempt */
                retry_or_fail(p, rt, "agent refused our API version");
        } else if (resp->status == 408 || resp->status == 500) {
                snprintf(why, sizeof(why), "agent answered HTTP %ld", resp->status);
                retry_or_fail(p, rt, why);
        } else {
                snprintf(why, sizeof(why), "agent answered HTTP %ld: %.200s", resp->status,
                         resp->body);
                log_warn("agent '%s': %s", rt->id, why);
                set_status(p, rt, ST_FAILED, why);
        }
        return true;
}

/* Checks a 200 answer and moves the agent to Get Quote or Invalid Quote. */
static void handle_answer(struct ver_poller *p, struct agent_rt *rt,
                          const struct ver_quote_request *q, const struct kl_http_response *resp)
{
        char why[WHY_MAX] = "";
        struct timespec t0, t1;
        int r;

        rt->retries = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        if ((r = ver_check_answer(&rt->att, q, resp->body, resp->body_len, why, sizeof(why))) < 0) {
                if (why[0] == '\0')
                        snprintf(why, sizeof(why), "%s", kl_err_str(r));
                /* CVE-2023-3674 class: any failed check is a state change, never just a log line */
                log_warn("agent '%s': invalid quote: %s", rt->id, why);
                set_status(p, rt, ST_INVALID, why);
                /* upstream notifies on entering Invalid Quote (not on Failed) */
                (void)ver_notifier_revoke(p->cfg.notifier, rt->id, why);
                return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        log_debug("agent '%s': quote verified in %ld us", rt->id,
                  (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000L));
        rt->count++;
        rt->last_success = (int64_t)time(NULL);
        set_status(p, rt, ST_GET, NULL);
        if (rt->v_b64 != NULL && !rt->v_delivered)
                provide_v(p, rt);
}

/* One poll: negotiate the API version if needed, ask for a quote, act on the answer. */
static void poll_one(struct ver_poller *p, struct agent_rt *rt)
{
        struct kl_http_response resp = {0};
        char nonce[VER_NONCE_LEN + 1];
        char path[256];
        char why[WHY_MAX] = "";
        struct ver_quote_request q = {
            .nonce = nonce,
            .mask =
                ver_quote_mask(&rt->att.tpm, rt->att.ima_policy != NULL, rt->att.mb_policy != NULL),
            .partial = rt->att.nk_pem != NULL,
            .ima_entry = rt->att.ima_started ? rt->att.ima.entries : 0,
        };
        int r;

        rt->next_due = now_ms() + p->cfg.interval_ms;
        if (rt->api_version[0] == '\0' && negotiate(p, rt, why, sizeof(why)) < 0) {
                retry_or_fail(p, rt, why);
                return;
        }
        if (kl_nonce_generate(nonce, VER_NONCE_LEN) < 0) {
                log_error("agent '%s': no randomness for a nonce", rt->id);
                return;
        }
        if (quote_path(rt, &q, path, sizeof(path)) < 0)
                return;
        log_debug("agent '%s': GET %s", rt->id, path);
        if ((r = agent_get(p, rt, path, &resp)) < 0) {
                snprintf(why, sizeof(why), "agent unreachable (%s)", kl_err_str(r));
                retry_or_fail(p, rt, why);
        } else if (!handle_not_ok(p, rt, &resp)) {
                handle_answer(p, rt, &q, &resp);
        }
        kl_http_response_clear(&resp);
}

static struct agent_rt *find_rt(struct ver_poller *p, const char *id)
{
        for (size_t i = 0; i < p->n_agents; i++) {
                if (strcmp(p->agents[i]->id, id) == 0)
                        return p->agents[i];
        }
        return NULL;
}

static void drop_rt(struct ver_poller *p, size_t i)
{
        rt_free(p->agents[i]);
        p->agents[i] = p->agents[--p->n_agents];
}

/* One pass: sync runtime state with the store, poll whoever is due. */
static void pass(struct ver_poller *p)
{
        char **ids = NULL;
        size_t n = 0;

        if (ver_store_list(p->store, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < p->n_agents; i++)
                p->agents[i]->seen = false;
        for (size_t i = 0; i < n; i++) {
                struct ver_agent *a = NULL;
                struct agent_rt *rt = find_rt(p, ids[i]);
                bool stopped;

                if (ver_store_get(p->store, ids[i], &a) < 0)
                        continue;
                if (rt != NULL && rt->gen != a->gen) {
                        for (size_t k = 0; k < p->n_agents; k++) {
                                if (p->agents[k] == rt) {
                                        drop_rt(p, k);
                                        break;
                                }
                        }
                        rt = NULL;
                }
                if (rt == NULL) {
                        char why[WHY_MAX] = "";
                        struct agent_rt **grown;

                        grown = reallocarray(p->agents, p->n_agents + 1, sizeof(*grown));
                        if (grown == NULL) {
                                ver_agent_free(a);
                                continue;
                        }
                        p->agents = grown;
                        if (rt_load(p, a, &rt, why, sizeof(why)) < 0) {
                                /* remember it so the failure is reported once, not every tick */
                                if ((rt = calloc(1, sizeof(*rt))) == NULL) {
                                        ver_agent_free(a);
                                        continue;
                                }
                                snprintf(rt->id, sizeof(rt->id), "%s", a->agent_id);
                                rt->gen = a->gen;
                                rt->dead = true;
                                log_warn("agent '%s': cannot attest: %s", rt->id, why);
                                set_status(p, rt, ST_FAILED, why[0] ? why : "cannot load agent");
                        }
                        p->agents[p->n_agents++] = rt;
                }
                rt->seen = true;
                stopped = rt->dead || strcmp(a->state, ST_INVALID) == 0 ||
                          strcmp(a->state, ST_FAILED) == 0;
                ver_agent_free(a);
                pthread_mutex_lock(&p->lock);
                if (p->stop)
                        stopped = true;
                pthread_mutex_unlock(&p->lock);
                if (!stopped && now_ms() >= rt->next_due)
                        poll_one(p, rt);
        }
        for (size_t i = p->n_agents; i-- > 0;) {
                if (!p->agents[i]->seen)
                        drop_rt(p, i); /* deleted */
        }
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}

static void *run(void *arg)
{
        struct ver_poller *p = arg;

        for (;;) {
                struct timespec ts;

                pass(p);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += TICK_MS * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_mutex_lock(&p->lock);
                if (!p->stop)
                        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
                if (p->stop) {
                        pthread_mutex_unlock(&p->lock);
                        break;
                }
                pthread_mutex_unlock(&p->lock);
        }
        return NULL;
}

int ver_poller_start(struct ver_store *store, const struct ver_poller_config *cfg,
                     struct ver_poller **ret)
{
        struct ver_poller *p = calloc(1, sizeof(*p));

        if (p == NULL)
                return KL_ERR_NOMEM;
        p->store = store;
        p->cfg = *cfg;
        if (pthread_mutex_init(&p->lock, NULL) != 0) {
                free(p);
                return KL_ERR_SYSTEM;
        }
        if (pthread_cond_init(&p->cond, NULL) != 0) {
                pthread_mutex_destroy(&p->lock);
                free(p);
                return KL_ERR_SYSTEM;
        }
        if ((errno = pthread_create(&p->thread, NULL, run, p)) != 0) {
                pthread_cond_destroy(&p->cond);
                pthread_mutex_destroy(&p->lock);
                free(p);
                return KL_ERR_SYSTEM;
        }
        *ret = p;
        return 0;
}

void ver_poller_stop(struct ver_poller *p)
{
        if (p == NULL)
                return;
        pthread_mutex_lock(&p->lock);
        p->stop = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        for (size_t i = 0; i < p->n_agents; i++)
                rt_free(p->agents[i]);
        free(p->agents);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
}
