/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier stub's pull-mode attestation (see poller.h), event driven so
 * one process holds thousands of agents:
 *
 * - one loop thread owns every agent's runtime state, a min-heap of due
 *   times and a lib/net/http_multi client: up to MAX_IN_FLIGHT requests run
 *   at once, each agent on its own kept-alive mTLS connection (a handshake
 *   only when it connects), each request bounded by timeout_ms;
 * - a 200 answer goes to a pool of worker threads sized to the cores, which
 *   run the full check (ver_check_answer: signature, nonce, PCR digest,
 *   policy, IMA delta). While a request or check is out the agent belongs to
 *   it (busy) and the loop does not touch its attestation state;
 * - outcomes are written to SQLite in batches, one transaction per batch
 *   (every BATCH_MS or BATCH_MAX updates; at once for a failed quote, before
 *   its revocation notice).
 *
 * States follow upstream's operational state names; "Invalid Quote" and
 * "Failed" stop polling until the agent is added again, as upstream does.
 *
 * One job past 600 lines: the loop, the heap, the workers and the batch
 * writer all touch the same per-agent state under one ownership rule
 * (busy = the request's or the worker's); split, that rule would span files.
 */
#include "poller.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "http_multi.h"
#include "ima.h"
#include "json.h"
#include "log.h"
#include "notifier.h"
#include "quote.h"
#include "rest.h"
#include "store.h"
#include "tenant.h"
#include "tpm_public.h"
#include "uefi_log.h"
#include "verify.h"

#define ST_START      "Start"
#define ST_GET        "Get Quote"
#define ST_RETRY      "Get Quote (retry)"
#define ST_INVALID    "Invalid Quote"
#define ST_FAILED     "Failed"
#define TICK_MS       50
#define MAX_IN_FLIGHT 1024u  /* requests at once; more due agents wait their turn */
#define BATCH_MAX     1024u  /* status updates per transaction */
#define BATCH_MS      200u   /* the longest a status waits for its transaction */
#define RESYNC_MS     10000u /* the table is re-read at least this often, changed or not */
#define RESYNC_MIN_MS 250u   /* and at most this often: a burst of adds costs one read */
#define STATS_MS      30000u /* an info line with quotes and connections this often */
#define WORKERS_MAX   8
#define WHY_MAX       512
#define NOT_QUEUED    SIZE_MAX

enum req_kind { REQ_VERSION, REQ_QUOTE, REQ_VKEY };

struct agent_rt {
        char id[81];
        int64_t gen;
        bool stopped;  /* not loadable, Invalid Quote or Failed: not polled until re-added */
        bool checking; /* its answer is on a worker: att is the worker's */
        bool gone;     /* dropped from the table while checking: freed when the check ends */
        uint64_t due;  /* monotonic ms of its next poll */
        size_t heap_i; /* its place in the due heap; NOT_QUEUED while busy or stopped */
        unsigned retries;
        char api_version[8];
        struct ver_attest_state att; /* policies, AK, NK, clock, IMA position */
        int64_t count;
        int64_t last_success;
        char *ca_path;  /* the agent's pinned certificate, NULL for plain HTTP */
        char *url_host; /* "ip:port" or "[v6]:port" */
        char *v_b64;    /* the tenant's V share, released after the first good quote */
        bool v_delivered;
        struct kl_http_peer *peer;
        enum req_kind kind;
        char nonce[VER_NONCE_LEN + 1];
        struct ver_quote_request q; /* what the quote in flight asked for */
};

/* One answer checked on a worker. */
struct job {
        struct job *next;
        struct agent_rt *rt;
        struct kl_http_response resp;
        int r;
        char why[WHY_MAX];
        long verify_us;
        struct ver_last_good good; /* what a good answer proved, for the batch */
};

struct job_queue {
        struct job *head, *tail;
};

struct ver_poller {
        struct ver_store *store;
        struct ver_poller_config cfg;
        pthread_t thread;
        atomic_bool stop;
        struct kl_http_multi *multi;
        struct agent_rt **agents; /* sorted by id */
        size_t n_agents;
        struct agent_rt **heap; /* by due; heap[0] is due first */
        size_t n_heap, cap_heap;
        struct ver_status_update *batch;
        size_t n_batch, cap_batch;
        uint64_t last_flush;
        /* worker pool: jobs in, checked jobs out */
        pthread_t workers[WORKERS_MAX];
        size_t n_workers;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct job_queue todo, done;
        bool workers_stop;
        /* since the last stats line, and since the start */
        uint64_t stat_quotes, stat_connects, stat_at;
        uint64_t total_quotes, total_connects;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the due heap ---- */

static bool earlier(const struct ver_poller *p, size_t a, size_t b)
{
        return p->heap[a]->due < p->heap[b]->due;
}

static void heap_swap(struct ver_poller *p, size_t a, size_t b)
{
        struct agent_rt *t = p->heap[a];

        p->heap[a] = p->heap[b];
        p->heap[b] = t;
        p->heap[a]->heap_i = a;
        p->heap[b]->heap_i = b;
}

static void heap_fix(struct ver_poller *p, size_t i)
{
        while (i > 0 && earlier(p, i, (i - 1) / 2)) {
                heap_swap(p, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
        for (;;) {
                size_t l = 2 * i + 1, m = i;

                if (l < p->n_heap && earlier(p, l, m))
                        m = l;
                if (l + 1 < p->n_heap && earlier(p, l + 1, m))
                        m = l + 1;
                if (m == i)
                        return;
                heap_swap(p, i, m);
                i = m;
        }
}

static int heap_push(struct ver_poller *p, struct agent_rt *rt)
{
        if (p->n_heap == p->cap_heap) {
                size_t ncap = p->cap_heap != 0 ? p->cap_heap * 2 : 256;
                struct agent_rt **h = reallocarray(p->heap, ncap, sizeof(*h));

                if (h == NULL)
                        return KL_ERR_NOMEM;
                p->heap = h;
                p->cap_heap = ncap;
        }
        rt->heap_i = p->n_heap;
        p->heap[p->n_heap++] = rt;
        heap_fix(p, rt->heap_i);
        return 0;
}

static void heap_remove(struct ver_poller *p, struct agent_rt *rt)
{
        size_t i = rt->heap_i;

        if (i == NOT_QUEUED)
                return;
        rt->heap_i = NOT_QUEUED;
        if (i != --p->n_heap) {
                p->heap[i] = p->heap[p->n_heap];
                p->heap[i]->heap_i = i;
                heap_fix(p, i);
        }
}

/* ---- agents ---- */

static void rt_free(struct agent_rt *rt)
{
        if (rt == NULL)
                return;
        kl_http_peer_free(rt->peer); /* abandons a request in flight */
        if (rt->ca_path != NULL)
                unlink(rt->ca_path);
        free(rt->ca_path);
        free(rt->att.nk_pem);
        free(rt->url_host);
        if (rt->v_b64 != NULL)
                kl_secure_free(rt->v_b64, strlen(rt->v_b64));
        kl_ima_policy_free(rt->att.ima_policy);
        kl_mb_policy_free(rt->att.mb_policy);
        kl_tpm_public_free(rt->att.ak);
        free(rt);
}

/* Queues a status write for the next batch; a record re-added meanwhile is left alone. */
static void set_status(struct ver_poller *p, struct agent_rt *rt, const char *state,
                       const char *failure, struct ver_last_good *good)
{
        struct ver_status_update *u;

        if (p->n_batch == p->cap_batch) {
                size_t ncap = p->cap_batch != 0 ? p->cap_batch * 2 : 256;
                struct ver_status_update *b = reallocarray(p->batch, ncap, sizeof(*b));

                if (b == NULL) {
                        log_error("agent '%s': cannot record state '%s': %s", rt->id, state,
                                  kl_err_str(KL_ERR_NOMEM));
                        free(good);
                        return;
                }
                p->batch = b;
                p->cap_batch = ncap;
        }
        u = &p->batch[p->n_batch++];
        *u = (struct ver_status_update){
            .gen = rt->gen,
            .state = state,
            .attestation_count = rt->count,
            .last_success = rt->last_success,
            .last_good = good,
        };
        snprintf(u->agent_id, sizeof(u->agent_id), "%s", rt->id);
        snprintf(u->api_version, sizeof(u->api_version), "%s", rt->api_version);
        if (failure != NULL && (u->last_failure = strdup(failure)) == NULL)
                log_error("agent '%s': failure reason lost: out of memory", rt->id);
}

static void flush(struct ver_poller *p)
{
        int r;

        p->last_flush = now_ms();
        if (p->n_batch == 0)
                return;
        if ((r = ver_store_write_batch(p->store, p->batch, p->n_batch)) < 0)
                log_error("cannot record the state of %zu agents: %s", p->n_batch, kl_err_str(r));
        for (size_t i = 0; i < p->n_batch; i++) {
                free(p->batch[i].last_failure);
                free(p->batch[i].last_good);
        }
        p->n_batch = 0;
}

/* A runtime slot for record a, not yet queued, with its counters. */
static int rt_new(const struct ver_agent *a, struct agent_rt **ret)
{
        struct agent_rt *rt = NULL;
        size_t n = strlen(a->agent_id);

        if (n >= sizeof(rt->id))
                return KL_ERR_INVAL;
        if ((rt = calloc(1, sizeof(*rt))) == NULL)
                return KL_ERR_NOMEM;
        rt->heap_i = NOT_QUEUED;
        memcpy(rt->id, a->agent_id, n + 1);
        rt->att.agent_id = rt->id;
        rt->gen = a->gen;
        rt->count = a->attestation_count;
        rt->last_success = a->last_success;
        *ret = rt;
        return 0;
}

/*
 * The agent's registered certificate, written to a file of its own, is the
 * only trust anchor of its TLS connection: pinned. gen is in the name: a
 * re-added agent never reuses a connection verified against its old pin
 * (curl matches connections by these settings).
 */
static int rt_pin_certificate(struct ver_poller *p, struct agent_rt *rt, const char *pem, char *why,
                              size_t why_len)
{
        int r;

        if (asprintf(&rt->ca_path, "%s/%s.%lld.crt", p->cfg.tmp_dir, rt->id, (long long)rt->gen) <
            0) {
                rt->ca_path = NULL;
                return KL_ERR_NOMEM;
        }
        if ((r = kl_file_write_atomic(rt->ca_path, pem, strlen(pem), 0600)) < 0) {
                snprintf(why, why_len, "cannot write the agent's certificate");
                free(rt->ca_path);
                rt->ca_path = NULL;
        }
        return r;
}

/* The HTTP(S) peer at the record's address; HTTPS pinned to its mtls_cert unless "disabled". */
static int rt_connect(struct ver_poller *p, struct agent_rt *rt, const struct ver_agent *a,
                      char *why, size_t why_len)
{
        struct kl_http_tls tls = {
            .cert_file = p->cfg.client_cert,
            .key_file = p->cfg.client_key,
            .no_hostname_check = true,
        };
        bool use_tls = a->mtls_cert != NULL && strcmp(a->mtls_cert, "disabled") != 0;
        char url[300];
        int n, r;

        if (a->ip == NULL || a->port <= 0) {
                snprintf(why, why_len, "no agent address");
                return KL_ERR_INVAL;
        }
        if (asprintf(&rt->url_host, strchr(a->ip, ':') != NULL ? "[%s]:%lld" : "%s:%lld", a->ip,
                     (long long)a->port) < 0) {
                rt->url_host = NULL;
                return KL_ERR_NOMEM;
        }
        if (use_tls) {
                if ((r = rt_pin_certificate(p, rt, a->mtls_cert, why, why_len)) < 0)
                        return r;
                tls.ca_file = rt->ca_path;
        }
        n = snprintf(url, sizeof(url), "%s://%s", use_tls ? "https" : "http", rt->url_host);
        if (n < 0 || (size_t)n >= sizeof(url))
                return KL_ERR_TOO_LONG;
        return kl_http_peer_new(p->multi, url, use_tls ? &tls : NULL, &rt->peer);
}

/* Builds the runtime state of a freshly added record: AK, policies, V, pinned connection. */
static int rt_load(struct ver_poller *p, const struct ver_agent *a, struct agent_rt **ret,
                   char *why, size_t why_len)
{
        struct agent_rt *rt = NULL;
        int r;

        if ((r = rt_new(a, &rt)) < 0 || (r = ver_attest_load(&rt->att, a, why, why_len)) < 0)
                goto out;
        rt->att.store = p->store;
        r = KL_ERR_NOMEM;
        if (a->v != NULL && (rt->v_b64 = strdup(a->v)) == NULL)
                goto out;
        if ((r = rt_connect(p, rt, a, why, why_len)) < 0)
                goto out;
        if (ver_attest_resume(&rt->att) > 0)
                log_info("agent '%s': resuming after its last good quote (IMA entry %llu)", rt->id,
                         (unsigned long long)(rt->att.ima_started ? rt->att.ima.entries : 0));
        *ret = rt;
        rt = NULL;
        r = 0;
out:
        rt_free(rt);
        return r;
}

/* Back in the heap (unless stopped) once its request and check are over. */
static void schedule(struct ver_poller *p, struct agent_rt *rt)
{
        if (rt->stopped)
                return;
        if (heap_push(p, rt) < 0) {
                log_error("agent '%s': cannot schedule its next poll: out of memory", rt->id);
                rt->stopped = true;
        }
}

static int start(struct ver_poller *p, struct agent_rt *rt, enum req_kind kind, const char *method,
                 const char *path, const char *body)
{
        rt->kind = kind;
        return kl_http_peer_start(rt->peer, method, path, body, p->cfg.timeout_ms, rt);
}

/* A transport error, 408 or 500: retry with back-off, then give up as upstream does. */
static void retry_or_fail(struct ver_poller *p, struct agent_rt *rt, const char *why)
{
        unsigned shift;

        rt->retries++;
        if (rt->retries > p->cfg.max_retries) {
                log_warn("agent '%s': %s; giving up after %u retries", rt->id, why,
                         p->cfg.max_retries);
                set_status(p, rt, ST_FAILED, why, NULL);
                rt->stopped = true;
                return;
        }
        shift = rt->retries - 1 < 4 ? rt->retries - 1 : 4;
        rt->due = now_ms() + (uint64_t)p->cfg.interval_ms * (1u << shift);
        log_info("agent '%s': %s; retry %u of %u", rt->id, why, rt->retries, p->cfg.max_retries);
        set_status(p, rt, ST_RETRY, why, NULL);
}

/*
 * keys-and-payloads §3: after the first good quote, V goes to the agent
 * encrypted to the NK that quote carried (bound to the TPM by PCR 16).
 * A failed delivery is tried again after the next good quote. True when
 * the request went out (the agent stays busy until it ends).
 */
static bool provide_v(struct ver_poller *p, struct agent_rt *rt)
{
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
        r = start(p, rt, REQ_VKEY, "POST", path, body);
out:
        if (r < 0)
                log_warn("agent '%s': cannot deliver V yet: %s", rt->id, kl_err_str(r));
        free(body);
        free(wrapped);
        kl_secure_free(v, v_len);
        return r == 0;
}

static void vkey_done(struct agent_rt *rt, const struct kl_http_multi_done *d)
{
        if (d->result < 0) {
                log_warn("agent '%s': cannot deliver V yet: %s", rt->id, kl_err_str(d->result));
        } else if (d->resp.status != 200) {
                log_warn("agent '%s': POST /v%s/keys/vkey answered %ld: %.200s", rt->id,
                         rt->api_version, d->resp.status, d->resp.body);
                log_warn("agent '%s': cannot deliver V yet: %s", rt->id,
                         kl_err_str(KL_ERR_HTTP_STATUS));
        } else {
                rt->v_delivered = true;
                log_info("agent '%s': V delivered after the first good quote", rt->id);
        }
}

/* Highest of the agent's supported_versions that we know (2.1..2.6), quote-format §3.3. */
static int negotiate(struct agent_rt *rt, const struct kl_http_multi_done *d, char *why,
                     size_t why_len)
{
        kl_json *obj = NULL;
        kl_json *res = NULL;
        int r = KL_ERR_HTTP_STATUS;

        if (d->resp.status != 200) {
                snprintf(why, why_len, "GET /version: HTTP %ld", d->resp.status);
                goto out;
        }
        if (kl_json_parse_object(d->resp.body, d->resp.body_len, &obj) < 0 ||
            kl_json_get_object(obj, "results", &res) < 0) {
                snprintf(why, why_len, "GET /version: malformed answer");
                goto out;
        }
        if ((r = kl_rest_pick_agent_version(res, rt->api_version)) < 0) {
                snprintf(why, why_len, "agent supports no API version 2.1-2.6");
                goto out;
        }
        log_info("agent '%s': API version %s", rt->id, rt->api_version);
        r = 0;
out:
        kl_json_free(obj);
        return r;
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

/* Asks for a quote with a fresh nonce; false when it could not be sent. */
static bool start_quote(struct ver_poller *p, struct agent_rt *rt)
{
        char path[256];
        int r;

        rt->q = (struct ver_quote_request){
            .nonce = rt->nonce,
            .mask =
                ver_quote_mask(&rt->att.tpm, rt->att.ima_policy != NULL, rt->att.mb_policy != NULL),
            .partial = rt->att.nk_pem != NULL,
            .ima_entry = rt->att.ima_started ? rt->att.ima.entries : 0,
        };
        if (kl_nonce_generate(rt->nonce, VER_NONCE_LEN) < 0) {
                log_error("agent '%s': no randomness for a nonce", rt->id);
                return false;
        }
        if (quote_path(rt, &rt->q, path, sizeof(path)) < 0)
                return false;
        log_debug("agent '%s': GET %s", rt->id, path);
        if ((r = start(p, rt, REQ_QUOTE, "GET", path, NULL)) < 0) {
                log_error("agent '%s': cannot start a request: %s", rt->id, kl_err_str(r));
                return false;
        }
        return true;
}

/* One poll: the API version first if not known yet, then the quote. */
static void poll_start(struct ver_poller *p, struct agent_rt *rt, uint64_t now)
{
        bool sent;

        /* the interval runs from when the poll was due, so the schedule does not drift;
         * a poll more than an interval late restarts it from now */
        rt->due = rt->due + p->cfg.interval_ms > now ? rt->due + p->cfg.interval_ms
                                                     : now + p->cfg.interval_ms;
        if (rt->api_version[0] == '\0')
                sent = start(p, rt, REQ_VERSION, "GET", "/version", NULL) == 0;
        else
                sent = start_quote(p, rt);
        if (!sent)
                schedule(p, rt);
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
                set_status(p, rt, ST_FAILED, why, NULL);
                rt->stopped = true;
        }
        return true;
}

/* A 200 quote answer goes to the workers; rt stays busy until it comes back. */
static void submit(struct ver_poller *p, struct agent_rt *rt, struct kl_http_response *resp)
{
        struct job *j = calloc(1, sizeof(*j));

        if (j == NULL) {
                retry_or_fail(p, rt, "out of memory");
                schedule(p, rt);
                return;
        }
        j->rt = rt;
        j->resp = *resp;
        *resp = (struct kl_http_response){0};
        rt->checking = true;
        pthread_mutex_lock(&p->lock);
        if (p->todo.tail != NULL)
                p->todo.tail->next = j;
        else
                p->todo.head = j;
        p->todo.tail = j;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
}

/* A request of an agent ended (the http_multi done callback). */
static void http_done(void *ctx, struct kl_http_multi_done *d)
{
        struct ver_poller *p = ctx;
        struct agent_rt *rt = d->user;
        char why[WHY_MAX] = "";

        if (d->new_connection) {
                p->stat_connects++;
                p->total_connects++;
        }
        switch (rt->kind) {
        case REQ_VERSION:
                if (d->result < 0) {
                        snprintf(why, sizeof(why), "agent unreachable (%s)", kl_err_str(d->result));
                        retry_or_fail(p, rt, why);
                } else if (negotiate(rt, d, why, sizeof(why)) < 0) {
                        retry_or_fail(p, rt, why);
                } else if (start_quote(p, rt)) {
                        break; /* still busy */
                }
                schedule(p, rt);
                break;
        case REQ_QUOTE:
                if (d->result < 0) {
                        snprintf(why, sizeof(why), "agent unreachable (%s)", kl_err_str(d->result));
                        retry_or_fail(p, rt, why);
                } else if (!handle_not_ok(p, rt, &d->resp)) {
                        submit(p, rt, &d->resp);
                        break;
                }
                schedule(p, rt);
                break;
        case REQ_VKEY:
                vkey_done(rt, d);
                schedule(p, rt);
                break;
        }
        kl_http_response_clear(&d->resp);
}

/* A checked answer: Get Quote or Invalid Quote, then the next poll. */
static void checked(struct ver_poller *p, struct job *j)
{
        struct agent_rt *rt = j->rt;
        struct ver_last_good *good;

        rt->checking = false;
        rt->att.keep = NULL;
        if (rt->gone) {
                rt_free(rt);
                return;
        }
        rt->retries = 0;
        if (j->r < 0) {
                if (j->why[0] == '\0')
                        snprintf(j->why, sizeof(j->why), "%s", kl_err_str(j->r));
                /* CVE-2023-3674 class: any failed check is a state change, never just a log line */
                log_warn("agent '%s': invalid quote: %s", rt->id, j->why);
                set_status(p, rt, ST_INVALID, j->why, NULL);
                rt->stopped = true;
                flush(p); /* the state is in the store before anyone hears of it */
                /* upstream notifies on entering Invalid Quote (not on Failed) */
                (void)ver_notifier_revoke(p->cfg.notifier, rt->id, j->why);
                return;
        }
        log_debug("agent '%s': quote verified in %ld us", rt->id, j->verify_us);
        p->stat_quotes++;
        p->total_quotes++;
        rt->count++;
        rt->last_success = (int64_t)time(NULL);
        if ((good = malloc(sizeof(*good))) != NULL)
                *good = j->good;
        set_status(p, rt, ST_GET, NULL, good);
        if (rt->v_b64 != NULL && !rt->v_delivered && provide_v(p, rt))
                return; /* busy until V is delivered */
        schedule(p, rt);
}

static void job_free(struct job *j)
{
        kl_http_response_clear(&j->resp);
        free(j);
}

static void *worker(void *arg)
{
        struct ver_poller *p = arg;

        for (;;) {
                struct job *j;
                struct timespec t0, t1;

                pthread_mutex_lock(&p->lock);
                while (p->todo.head == NULL && !p->workers_stop)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (p->todo.head == NULL) {
                        pthread_mutex_unlock(&p->lock);
                        return NULL;
                }
                j = p->todo.head;
                if ((p->todo.head = j->next) == NULL)
                        p->todo.tail = NULL;
                pthread_mutex_unlock(&p->lock);

                j->next = NULL;
                j->rt->att.keep = &j->good; /* written in the loop's next batch */
                clock_gettime(CLOCK_MONOTONIC, &t0);
                j->r = ver_check_answer(&j->rt->att, &j->rt->q, j->resp.body, j->resp.body_len,
                                        j->why, sizeof(j->why));
                clock_gettime(CLOCK_MONOTONIC, &t1);
                j->verify_us =
                    (long)((t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000L);
                kl_http_response_clear(&j->resp);

                pthread_mutex_lock(&p->lock);
                if (p->done.tail != NULL)
                        p->done.tail->next = j;
                else
                        p->done.head = j;
                p->done.tail = j;
                pthread_mutex_unlock(&p->lock);
                kl_http_multi_wakeup(p->multi);
        }
}

static void drain_checked(struct ver_poller *p)
{
        struct job *j;

        pthread_mutex_lock(&p->lock);
        j = p->done.head;
        p->done.head = p->done.tail = NULL;
        pthread_mutex_unlock(&p->lock);
        while (j != NULL) {
                struct job *next = j->next;

                checked(p, j);
                job_free(j);
                j = next;
        }
}

/* ---- the agent table ---- */

/* Out of the table: freed now, or when its check comes back. */
static void drop_rt(struct ver_poller *p, struct agent_rt *rt)
{
        heap_remove(p, rt);
        if (rt->checking)
                rt->gone = true;
        else
                rt_free(rt);
}

/* A record new to the poller: attested, or remembered as not attestable. */
static struct agent_rt *load_one(struct ver_poller *p, const char *id)
{
        struct ver_agent *a = NULL;
        struct agent_rt *rt = NULL;
        char why[WHY_MAX] = "";

        if (ver_store_get(p->store, id, &a) < 0)
                return NULL;
        if (rt_load(p, a, &rt, why, sizeof(why)) < 0) {
                /* remember it so the failure is reported once, not every sync */
                if ((rt = calloc(1, sizeof(*rt))) == NULL) {
                        ver_agent_free(a);
                        return NULL;
                }
                snprintf(rt->id, sizeof(rt->id), "%s", a->agent_id);
                rt->gen = a->gen;
                rt->heap_i = NOT_QUEUED;
                rt->stopped = true;
                log_warn("agent '%s': cannot attest: %s", rt->id, why);
                set_status(p, rt, ST_FAILED, why[0] ? why : "cannot load agent", NULL);
        } else if (strcmp(a->state, ST_INVALID) == 0 || strcmp(a->state, ST_FAILED) == 0) {
                rt->stopped = true; /* as it was left: not polled until re-added */
        } else {
                rt->due = now_ms();
                schedule(p, rt);
        }
        ver_agent_free(a);
        return rt;
}

/* Brings the runtime table in line with the store: a merge of two lists sorted by id. */
static void sync_agents(struct ver_poller *p)
{
        struct ver_store_gen *g = NULL;
        struct agent_rt **next = NULL;
        size_t n = 0, i = 0, j = 0, k = 0;

        if (ver_store_list_gens(p->store, &g, &n) < 0)
                return;
        if ((next = calloc(n != 0 ? n : 1, sizeof(*next))) == NULL) {
                ver_store_gens_free(g, n);
                return;
        }
        while (i < p->n_agents || j < n) {
                int c = i == p->n_agents ? 1
                        : j == n         ? -1
                                         : strcmp(p->agents[i]->id, g[j].agent_id);

                if (c < 0) { /* deleted */
                        drop_rt(p, p->agents[i++]);
                        continue;
                }
                if (c == 0 && p->agents[i]->gen == g[j].gen) {
                        next[k++] = p->agents[i++];
                        j++;
                        continue;
                }
                if (c == 0) /* added again: starts afresh */
                        drop_rt(p, p->agents[i++]);
                if ((next[k] = load_one(p, g[j].agent_id)) != NULL)
                        k++;
                j++;
        }
        free(p->agents);
        p->agents = next;
        p->n_agents = k;
        ver_store_gens_free(g, n);
}

static void stats(struct ver_poller *p, uint64_t now)
{
        if (now - p->stat_at < STATS_MS)
                return;
        log_info("%zu agents: %llu quotes verified, %llu connections opened in %llu ms",
                 p->n_agents, (unsigned long long)p->stat_quotes,
                 (unsigned long long)p->stat_connects, (unsigned long long)(now - p->stat_at));
        p->stat_quotes = p->stat_connects = 0;
        p->stat_at = now;
}

static void *run(void *arg)
{
        struct ver_poller *p = arg;
        uint64_t seen = 0, last_sync = 0;
        bool first = true;

        p->stat_at = p->last_flush = now_ms();
        while (!atomic_load(&p->stop)) {
                uint64_t now = now_ms();
                uint64_t changes = ver_store_changes(p->store);
                int wait = TICK_MS;

                if (first || (changes != seen && now - last_sync >= RESYNC_MIN_MS) ||
                    now - last_sync >= RESYNC_MS) {
                        sync_agents(p);
                        seen = changes;
                        last_sync = now;
                        first = false;
                }
                while (p->n_heap > 0 && p->heap[0]->due <= now &&
                       kl_http_multi_in_flight(p->multi) < MAX_IN_FLIGHT) {
                        struct agent_rt *rt = p->heap[0];

                        heap_remove(p, rt);
                        poll_start(p, rt, now);
                }
                if (p->n_heap > 0 && kl_http_multi_in_flight(p->multi) < MAX_IN_FLIGHT)
                        wait = p->heap[0]->due <= now            ? 0
                               : p->heap[0]->due - now < TICK_MS ? (int)(p->heap[0]->due - now)
                                                                 : TICK_MS;
                if (kl_http_multi_run(p->multi, wait, http_done, p) < 0)
                        log_warn("polling: transfer error (ignoring)");
                drain_checked(p);
                now = now_ms();
                if (p->n_batch >= BATCH_MAX || now - p->last_flush >= BATCH_MS)
                        flush(p);
                stats(p, now);
        }
        return NULL;
}

/* Thousands of agents are thousands of sockets: the soft fd limit goes up to the hard one. */
static size_t raise_nofile(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
                return 1024;
        if (rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
                        (void)getrlimit(RLIMIT_NOFILE, &rl);
        }
        return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1u << 20 ? 1u << 20
                                                                      : (size_t)rl.rlim_cur;
}

static void stop_workers(struct ver_poller *p)
{
        pthread_mutex_lock(&p->lock);
        p->workers_stop = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (size_t i = 0; i < p->n_workers; i++)
                pthread_join(p->workers[i], NULL);
        p->n_workers = 0;
}

static void poller_free(struct ver_poller *p)
{
        struct job *j;

        stop_workers(p);
        /* checks that finished or never started: their agents are freed below */
        for (int q = 0; q < 2; q++) {
                for (j = q == 0 ? p->todo.head : p->done.head; j != NULL;) {
                        struct job *next = j->next;

                        j->rt->checking = false;
                        if (j->rt->gone) /* no longer in the table */
                                rt_free(j->rt);
                        job_free(j);
                        j = next;
                }
        }
        flush(p);
        log_info("poller stopped: %llu quotes verified, %llu connections opened",
                 (unsigned long long)p->total_quotes, (unsigned long long)p->total_connects);
        for (size_t i = 0; i < p->n_agents; i++)
                rt_free(p->agents[i]);
        free(p->agents);
        free(p->heap);
        free(p->batch);
        kl_http_multi_free(p->multi);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p);
}

int ver_poller_start(struct ver_store *store, const struct ver_poller_config *cfg,
                     struct ver_poller **ret)
{
        struct ver_poller *p = calloc(1, sizeof(*p));
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t n_workers = cores < 1 ? 1 : cores > WORKERS_MAX ? WORKERS_MAX : (size_t)cores;
        size_t fds;

        if (p == NULL)
                return KL_ERR_NOMEM;
        p->store = store;
        p->cfg = *cfg;
        atomic_init(&p->stop, false);
        if (pthread_mutex_init(&p->lock, NULL) != 0) {
                free(p);
                return KL_ERR_SYSTEM;
        }
        if (pthread_cond_init(&p->cond, NULL) != 0) {
                pthread_mutex_destroy(&p->lock);
                free(p);
                return KL_ERR_SYSTEM;
        }
        fds = raise_nofile();
        /* one idle connection per agent; the rest of the fds for the API, SQLite, ZeroMQ */
        if (kl_http_multi_new(fds > 512 ? fds - 256 : fds / 2, &p->multi) < 0) {
                poller_free(p);
                return KL_ERR_NOMEM;
        }
        for (; p->n_workers < n_workers; p->n_workers++) {
                if ((errno = pthread_create(&p->workers[p->n_workers], NULL, worker, p)) != 0) {
                        poller_free(p);
                        return KL_ERR_SYSTEM;
                }
        }
        if ((errno = pthread_create(&p->thread, NULL, run, p)) != 0) {
                poller_free(p);
                return KL_ERR_SYSTEM;
        }
        log_info("poller: %zu check workers, up to %u requests in flight, %zu connections",
                 n_workers, MAX_IN_FLIGHT, fds > 512 ? fds - 256 : fds / 2);
        *ret = p;
        return 0;
}

void ver_poller_stop(struct ver_poller *p)
{
        if (p == NULL)
                return;
        atomic_store(&p->stop, true);
        kl_http_multi_wakeup(p->multi);
        pthread_join(p->thread, NULL);
        poller_free(p);
}
