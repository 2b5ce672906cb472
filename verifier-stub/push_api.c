/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The push-model routes (see push_api.h). Each agent's attestation state is
 * one slot behind its own mutex: creating an attestation chooses the
 * challenge, PCRs and IMA offset; the evidence for the latest one is taken
 * once (a replay finds it consumed) and verified in the request, so the
 * answer already knows the outcome. State that must not survive a re-add
 * (AK, policies, clock, IMA position) is rebuilt when the record's gen changes.
 * One job past 600 lines: the push protocol's routes share that slot and its
 * lock, and each one's JSON:API errors; the checks themselves are verify.c's.
 */
#include "push_api.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "notifier.h"
#include "push_json.h"
#include "push_session.h"
#include "quote.h"
#include "rest.h"
#include "store.h"
#include "tpm_public.h"
#include "uefi_log.h"
#include "verify.h"

#define ST_GET     "Get Quote"
#define ST_INVALID "Invalid Quote"
#define WHY_MAX    512
#define AGENTS_MAX 1024
#define BANK_NONE  (-1)

enum stage { STAGE_NONE, STAGE_AWAITING, STAGE_DONE };

struct push_agent {
        pthread_mutex_t lock;
        char id[KL_REST_AGENT_ID_MAX + 1];
        int64_t gen; /* -1: not loaded */
        /* verify.h's running state; nk_pem holds the AK's PEM, which PCR 16 binds here */
        struct ver_attest_state att;
        char boot_time[40]; /* of the last verified evidence */
        bool failed;        /* attestations refused until the agent is added again */
        int64_t count;
        int64_t last_success;
        /* the latest attestation */
        int64_t index;
        enum stage stage;
        char nonce[VER_NONCE_LEN + 1];
        time_t challenge_expires;
        uint32_t mask;
        uint64_t ima_offset;
        char req_boot_time[40];
        uint64_t last_evidence_ms; /* 0 = never */
};

struct ver_push {
        struct ver_store *store;
        struct ver_push_config cfg;
        struct ver_push_sessions *sessions;
        pthread_mutex_t lock; /* guards agents[] and n_agents, not the slots */
        struct push_agent *agents[AGENTS_MAX];
        size_t n_agents;
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void iso_time(time_t t, char out[32])
{
        struct tm tm;

        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* A JSON:API error object with code; logged as a warning like every refusal. */
static void refuse(struct kl_http_reply *reply, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refuse(struct kl_http_reply *reply, int code, const char *fmt, ...)
{
        char detail[WHY_MAX];
        va_list ap;

        va_start(ap, fmt);
        if (vsnprintf(detail, sizeof(detail), fmt, ap) < 0)
                detail[0] = '\0';
        va_end(ap);
        log_warn("refused (%d): %s", code, detail);
        reply->status = code;
        reply->body = ver_push_error_body(code, detail);
        reply->content_type = VER_PUSH_MEDIA_TYPE;
}

static void reply_json(struct kl_http_reply *reply, int code, kl_json *root)
{
        reply->body = root != NULL ? kl_json_to_string(root) : NULL;
        kl_json_free(root);
        if (reply->body == NULL) {
                refuse(reply, 500, "out of memory");
                return;
        }
        reply->status = code;
        reply->content_type = VER_PUSH_MEDIA_TYPE;
}

static void agent_unload(struct push_agent *a)
{
        kl_tpm_public_free(a->att.ak);
        free(a->att.nk_pem);
        kl_ima_policy_free(a->att.ima_policy);
        kl_mb_policy_free(a->att.mb_policy);
        memset(&a->att, 0, sizeof(a->att));
        a->att.agent_id = a->id;
}

/* Builds the slot's verification state from the stored record (AK, policies). */
static int agent_load(struct push_agent *a, const struct ver_agent *rec, char *why, size_t why_len)
{
        int r = KL_ERR_INVAL;

        agent_unload(a);
        a->boot_time[0] = '\0';
        a->stage = STAGE_NONE;
        a->index = -1;
        a->last_evidence_ms = 0;
        a->gen = -1;
        a->failed = strcmp(rec->state, ST_INVALID) == 0 || strcmp(rec->state, "Failed") == 0;
        a->count = rec->attestation_count;
        a->last_success = rec->last_success;
        if (ver_attest_load(&a->att, rec, why, why_len) < 0)
                goto out;
        /* no NK in the push model: PCR 16 binds the AK (see verify below) */
        if (kl_tpm_public_to_pem(a->att.ak, &a->att.nk_pem) < 0) {
                snprintf(why, why_len, "stored aik_tpm is not a usable TPM2B_PUBLIC");
                goto out;
        }
        a->att.nk_pem_len = strlen(a->att.nk_pem);
        a->gen = rec->gen;
        r = 0;
out:
        if (r < 0)
                agent_unload(a);
        return r;
}

/*
 * The agent's slot, locked and in step with the store; NULL with a reply
 * sent (404 unknown agent, 500). The caller unlocks.
 */
static struct push_agent *agent_get(struct ver_push *p, const char *id, struct kl_http_reply *reply)
{
        struct ver_agent *rec = NULL;
        struct push_agent *a = NULL;
        char why[WHY_MAX] = "";
        int r = ver_store_get(p->store, id, &rec);

        if (r == KL_ERR_NOT_FOUND) {
                refuse(reply, 404, "No enrolled agent with ID '%s'.", id);
                return NULL;
        }
        if (r < 0) {
                refuse(reply, 500, "cannot read the agent record");
                return NULL;
        }
        pthread_mutex_lock(&p->lock);
        for (size_t i = 0; i < p->n_agents && a == NULL; i++) {
                if (strcmp(p->agents[i]->id, id) == 0)
                        a = p->agents[i];
        }
        if (a == NULL && p->n_agents < AGENTS_MAX && (a = calloc(1, sizeof(*a))) != NULL) {
                if (pthread_mutex_init(&a->lock, NULL) != 0) {
                        free(a);
                        a = NULL;
                } else {
                        memcpy(a->id, id, strlen(id) + 1);
                        a->gen = -1;
                        p->agents[p->n_agents++] = a;
                }
        }
        pthread_mutex_unlock(&p->lock);
        if (a == NULL) {
                refuse(reply, 503, "too many agents");
                goto out;
        }
        pthread_mutex_lock(&a->lock);
        if (a->gen != rec->gen && agent_load(a, rec, why, sizeof(why)) < 0) {
                pthread_mutex_unlock(&a->lock);
                log_warn("agent '%s': cannot attest: %s", id, why);
                refuse(reply, 403, "Attestations for agent '%s' are disabled: %s", id, why);
                a = NULL;
        } else {
                a->att.store = p->store; /* good evidence keeps its PCRs for seal */
        }
out:
        ver_agent_free(rec);
        return a;
}

static void set_status(struct ver_push *p, struct push_agent *a, const char *state,
                       const char *failure)
{
        int r = ver_store_set_status(p->store, a->id, a->gen, state, a->count, failure,
                                     a->last_success, "3.0");

        if (r < 0 && r != KL_ERR_NOT_FOUND)
                log_error("agent '%s': cannot record state '%s': %s", a->id, state, kl_err_str(r));
}

/* ---- /sessions ---------------------------------------------------------- */

/*
 * The builders below hand each new member to its parent as soon as it is made
 * (kl_json_set and kl_json_append take it, also when they fail) and fill it
 * in afterwards, so freeing the root is the only cleanup.
 */
static kl_json *pop_method(const char *nonce)
{
        kl_json *m = kl_json_object();
        kl_json *params;

        if (kl_rest_add_str(m, "authentication_class", "pop") < 0 ||
            kl_rest_add_str(m, "authentication_type", "tpm_pop") < 0 ||
            kl_json_set(m, "chosen_parameters", params = kl_json_object()) < 0 ||
            kl_json_add_b64(params, "challenge", (const uint8_t *)nonce, strlen(nonce)) < 0) {
                kl_json_free(m);
                return NULL;
        }
        return m;
}

/* {"data": {"type": type, "id": id, "attributes": attrs}} (takes attrs) */
static kl_json *resource(const char *type, const char *id, kl_json *attrs)
{
        kl_json *root = kl_json_object();
        kl_json *data;

        if (kl_json_set(root, "data", data = kl_json_object()) < 0 ||
            kl_rest_add_str(data, "type", type) < 0 || kl_rest_add_str(data, "id", id) < 0) {
                kl_json_free(attrs);
                kl_json_free(root);
                return NULL;
        }
        if (kl_json_set(data, "attributes", attrs) < 0) {
                kl_json_free(root);
                return NULL;
        }
        return root;
}

static void session_create(struct ver_push *p, const char *body, size_t len,
                           struct kl_http_reply *reply)
{
        char agent_id[KL_REST_AGENT_ID_MAX + 1];
        char sid[KL_UUID_STR_LEN + 1];
        char nonce[VER_NONCE_LEN + 1];
        char created[32], expires[32];
        char why[WHY_MAX] = "";
        kl_json *attrs = NULL, *list;
        time_t exp = 0;
        int r;

        if (ver_push_parse_session_create(body, len, agent_id, why, sizeof(why)) < 0) {
                refuse(reply, 400, "%s", why);
                return;
        }
        if ((r = ver_push_session_create(p->sessions, agent_id, sid, nonce, &exp)) < 0) {
                if (r == KL_ERR_TOO_LONG) {
                        reply->retry_after = VER_PUSH_CHALLENGE_LIFE;
                        refuse(reply, 429, "too many open sessions; try again later");
                } else {
                        refuse(reply, 500, "cannot create a session");
                }
                return;
        }
        iso_time(exp - VER_PUSH_CHALLENGE_LIFE, created);
        iso_time(exp, expires);
        attrs = kl_json_object();
        if (kl_json_set(attrs, "authentication_requested", list = kl_json_array()) < 0 ||
            kl_json_append(list, pop_method(nonce)) < 0 ||
            kl_rest_add_str(attrs, "agent_id", agent_id) < 0 ||
            kl_rest_add_str(attrs, "created_at", created) < 0 ||
            kl_rest_add_str(attrs, "challenges_expire_at", expires) < 0)
                goto nomem;
        log_info("agent '%s': session %s created", agent_id, sid);
        reply_json(reply, 200, resource("session", sid, attrs));
        explicit_bzero(nonce, sizeof(nonce));
        return;
nomem:
        kl_json_free(attrs);
        refuse(reply, 500, "out of memory");
}

/* Upstream's Tpm.verify_tpm_object: CERTIFY of the AK by the AK over our challenge. */
static int check_pop(const struct push_agent *a, const struct ver_push_pop *pop, const char *nonce,
                     char *why, size_t why_len)
{
        struct kl_certify_info info;
        uint8_t name[2 + 64];
        size_t name_len = 0;
        uint16_t hash = a->att.tpm.hash_alg != 0 ? a->att.tpm.hash_alg : 0x000b;

        if (kl_attest_verify_signature(a->att.ak, hash, pop->message, pop->message_len,
                                       pop->signature, pop->signature_len) < 0) {
                snprintf(why, why_len, "proof does not verify with the agent's AK");
                return KL_ERR_VERIFY;
        }
        if (kl_certify_parse(pop->message, pop->message_len, &info) < 0) {
                snprintf(why, why_len, "proof message is not a TPMS_ATTEST of type CERTIFY");
                return KL_ERR_VERIFY;
        }
        if (!kl_nonce_matches(info.nonce, info.nonce_len, nonce)) {
                snprintf(why, why_len, "proof does not carry the session's challenge");
                return KL_ERR_VERIFY;
        }
        if (kl_tpm_public_name(a->att.ak, name, &name_len) < 0 || name_len != info.name_len ||
            memcmp(name, info.name, name_len) != 0) {
                snprintf(why, why_len, "proof certifies another key than the agent's AK");
                return KL_ERR_VERIFY;
        }
        return 0;
}

static void session_update(struct ver_push *p, const char *sid, const char *body, size_t len,
                           struct kl_http_reply *reply)
{
        struct ver_push_pop pop = {0};
        struct push_agent *a = NULL;
        kl_json *attrs = NULL;
        char nonce[VER_NONCE_LEN + 1] = "";
        char token[VER_PUSH_TOKEN_MAX + 1] = "";
        char why[WHY_MAX] = "";
        char expires[32];
        time_t created = 0, exp = 0;
        int r;

        if (ver_push_parse_session_pop(body, len, &pop, why, sizeof(why)) < 0) {
                refuse(reply, 400, "%s", why);
                goto out;
        }
        r = ver_push_session_take(p->sessions, sid, pop.agent_id, nonce, &created, &exp);
        if (r == KL_ERR_NOT_FOUND) {
                refuse(reply, 404, "Session not found (unknown, already answered or expired)");
                goto out;
        }
        if (r < 0) {
                refuse(reply, 401, "challenge of session %s expired", sid);
                goto out;
        }
        if ((a = agent_get(p, pop.agent_id, reply)) == NULL)
                goto out;
        if (check_pop(a, &pop, nonce, why, sizeof(why)) < 0) {
                refuse(reply, 401, "authentication failed: %s", why);
                goto out;
        }
        if (ver_push_session_activate(p->sessions, sid, pop.agent_id, token, &exp) < 0) {
                refuse(reply, 500, "cannot activate the session");
                goto out;
        }
        iso_time(exp, expires);
        attrs = kl_json_object();
        if (kl_rest_add_str(attrs, "agent_id", pop.agent_id) < 0 ||
            kl_rest_add_str(attrs, "evaluation", "pass") < 0 ||
            kl_rest_add_str(attrs, "token", token) < 0 ||
            kl_rest_add_str(attrs, "token_expires_at", expires) < 0) {
                kl_json_free(attrs);
                refuse(reply, 500, "out of memory");
                goto out;
        }
        log_info("agent '%s': authenticated (session %s)", pop.agent_id, sid);
        reply_json(reply, 200, resource("session", sid, attrs));
out:
        if (a != NULL)
                pthread_mutex_unlock(&a->lock);
        explicit_bzero(token, sizeof(token));
        explicit_bzero(nonce, sizeof(nonce));
        ver_push_pop_clear(&pop);
}

/* ---- /agents/{id}/attestations ---------------------------------------------------- */

/* Authorization: Bearer <the agent's live token>; else a 401 is sent. */
static bool authorized(struct ver_push *p, const struct kl_http_request *req, const char *id,
                       struct kl_http_reply *reply)
{
        const char *h = kl_http_request_header(req, "Authorization");

        if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
                refuse(reply, 401, "a bearer token from /sessions is required");
                return false;
        }
        if (ver_push_session_check(p->sessions, id, h + 7) < 0) {
                refuse(reply, 401, "token is unknown, expired or not this agent's");
                return false;
        }
        return true;
}

static kl_json *int_list(uint32_t mask)
{
        kl_json *l = kl_json_array();

        for (int i = 0; l != NULL && i < KL_PCR_COUNT; i++) {
                if ((mask & (1u << i)) && kl_json_append_int(l, i) < 0) {
                        kl_json_free(l);
                        return NULL;
                }
        }
        return l;
}

/* One evidence_requested item: {"evidence_class", "evidence_type", "chosen_parameters"}. */
static int add_requested(kl_json *list, const char *cls, const char *type, kl_json *params)
{
        kl_json *item;

        if (kl_json_append(list, item = kl_json_object()) < 0 ||
            kl_rest_add_str(item, "evidence_class", cls) < 0 ||
            kl_rest_add_str(item, "evidence_type", type) < 0) {
                kl_json_free(params);
                return KL_ERR_NOMEM;
        }
        return kl_json_set(item, "chosen_parameters", params);
}

static kl_json *quote_params(const struct push_agent *a, const char *bank, const char *scheme)
{
        kl_json *o = kl_json_object();
        kl_json *subj, *key;

        if (kl_json_add_b64(o, "challenge", (const uint8_t *)a->nonce, strlen(a->nonce)) < 0 ||
            kl_rest_add_str(o, "signature_scheme", scheme) < 0 ||
            kl_rest_add_str(o, "hash_algorithm", bank) < 0 ||
            kl_json_set(o, "selected_subjects", subj = kl_json_object()) < 0 ||
            kl_json_set(subj, bank, int_list(a->mask)) < 0 ||
            kl_json_set(o, "certification_key", key = kl_json_object()) < 0 ||
            kl_rest_add_str(key, "key_class", "asymmetric") < 0 ||
            kl_rest_add_str(key, "key_algorithm", kl_tpm_public_is_rsa(a->att.ak) ? "rsa" : "ecc") <
                0 ||
            kl_rest_add_str(key, "server_identifier", "ak") < 0) {
                kl_json_free(o);
                return NULL;
        }
        return o;
}

static kl_json *log_params(const char *format, bool ima, uint64_t offset)
{
        kl_json *o = kl_json_object();

        if (kl_rest_add_str(o, "format", format) < 0 ||
            (ima && kl_json_set_int(o, "starting_offset", (int64_t)offset) < 0)) {
                kl_json_free(o);
                return NULL;
        }
        return o;
}

/* Picks what to ask for from the capabilities; 422 reasons into why. */
static int choose(struct push_agent *a, const struct ver_push_caps *c, const char **ret_bank,
                  const char **ret_scheme, char *why, size_t why_len)
{
        uint16_t alg = a->att.tpm.hash_alg != 0 ? a->att.tpm.hash_alg : 0x000b;
        const char *bank = kl_hash_alg_name(alg);
        int b = bank != NULL ? ver_push_bank_index(bank) : BANK_NONE;
        bool rsa = kl_tpm_public_is_rsa(a->att.ak);

        a->mask = ver_quote_mask(&a->att.tpm, a->att.ima_policy != NULL, a->att.mb_policy != NULL);
        if (b == BANK_NONE || !(c->hash_algs & (1u << b)) ||
            (c->subjects[b] & a->mask) != a->mask) {
                snprintf(why, why_len, "tpm_quote must offer PCRs 0x%06x of bank %s",
                         (unsigned)a->mask, bank != NULL ? bank : "?");
                return KL_ERR_INVAL;
        }
        if (rsa ? !c->rsassa && !c->rsapss : !c->ecdsa) {
                snprintf(why, why_len, "signature_schemes offer none usable with the agent's AK");
                return KL_ERR_INVAL;
        }
        if (a->att.ima_policy != NULL && !c->ima) {
                snprintf(why, why_len, "an IMA policy is set: ima_log with partial access needed");
                return KL_ERR_INVAL;
        }
        if (a->att.mb_policy != NULL && !c->uefi) {
                snprintf(why, why_len, "a measured boot policy is set: uefi_log needed");
                return KL_ERR_INVAL;
        }
        /* upstream's _determine_ima_offset: go on after the last verified line on the same boot */
        a->ima_offset =
            a->att.ima_started && strcmp(c->boot_time, a->boot_time) == 0 ? a->att.ima.entries : 0;
        if (a->att.ima_policy != NULL && a->ima_offset > (uint64_t)c->ima_entry_count) {
                snprintf(why, why_len, "ima_log entry_count %lld is below the next entry %llu",
                         (long long)c->ima_entry_count, (unsigned long long)a->ima_offset);
                return KL_ERR_INVAL;
        }
        *ret_bank = bank;
        *ret_scheme = rsa ? (c->rsassa ? "rsassa" : "rsapss") : "ecdsa";
        return 0;
}

static void attestation_create(struct ver_push *p, const char *id, const char *body, size_t len,
                               struct kl_http_reply *reply)
{
        struct ver_push_caps caps;
        struct push_agent *a = NULL;
        kl_json *attrs = NULL, *list, *root;
        const char *bank = NULL, *scheme = NULL;
        char why[WHY_MAX] = "";
        char idx[24], expires[32];
        uint64_t now = now_ms();
        int n;

        if (ver_push_parse_capabilities(body, len, &caps, why, sizeof(why)) < 0) {
                refuse(reply, 400, "%s", why);
                return;
        }
        if ((a = agent_get(p, id, reply)) == NULL)
                return;
        if (a->failed) {
                refuse(reply, 403,
                       "Attestations for agent '%s' are disabled: a previous attestation failed "
                       "verification; add the agent again",
                       id);
                goto out;
        }
        if (a->last_evidence_ms != 0 && now < a->last_evidence_ms + p->cfg.interval_ms) {
                uint64_t wait = a->last_evidence_ms + p->cfg.interval_ms - now;

                reply->retry_after = (unsigned)((wait + 999) / 1000);
                refuse(reply, 429, "Wait %u seconds before the next attestation",
                       reply->retry_after);
                goto out;
        }
        if (choose(a, &caps, &bank, &scheme, why, sizeof(why)) < 0) {
                refuse(reply, 422, "%s", why);
                goto out;
        }
        if (kl_nonce_generate(a->nonce, VER_NONCE_LEN) < 0) {
                refuse(reply, 500, "no randomness for a challenge");
                goto out;
        }
        a->index++;
        a->stage = STAGE_AWAITING;
        a->challenge_expires = time(NULL) + VER_PUSH_CHALLENGE_LIFE;
        memcpy(a->req_boot_time, caps.boot_time, sizeof(caps.boot_time));
        snprintf(idx, sizeof(idx), "%lld", (long long)a->index);
        iso_time(a->challenge_expires, expires);
        attrs = kl_json_object();
        if (kl_json_set(attrs, "evidence_requested", list = kl_json_array()) < 0 ||
            add_requested(list, "certification", "tpm_quote", quote_params(a, bank, scheme)) < 0 ||
            (a->att.ima_policy != NULL &&
             add_requested(list, "log", "ima_log", log_params("text/plain", true, a->ima_offset)) <
                 0) ||
            (a->att.mb_policy != NULL &&
             add_requested(list, "log", "uefi_log",
                           log_params("application/octet-stream", false, 0)) < 0) ||
            kl_rest_add_str(attrs, "stage", "awaiting_evidence") < 0 ||
            kl_rest_add_str(attrs, "challenges_expire_at", expires) < 0)
                goto nomem;
        root = resource("attestation", idx, attrs); /* takes attrs */
        attrs = NULL;
        if (root == NULL)
                goto nomem;
        n = snprintf(reply->location, sizeof(reply->location), "/v3.0/agents/%s/attestations/%s",
                     id, idx);
        if (n < 0 || (size_t)n >= sizeof(reply->location))
                reply->location[0] = '\0';
        log_info("agent '%s': attestation %s created (PCRs 0x%06x, IMA from %llu)", id, idx,
                 (unsigned)a->mask, (unsigned long long)a->ima_offset);
        reply_json(reply, 201, root);
        goto out;
nomem:
        kl_json_free(attrs);
        refuse(reply, 500, "out of memory");
out:
        pthread_mutex_unlock(&a->lock);
}

/*
 * The evidence in the pull model's answer shape, checked by ver_check_answer
 * exactly as a polled quote: PCR 16 binds the AK (att.nk_pem), the IMA list
 * starts at the offset we asked for.
 */
static int verify(struct push_agent *a, const struct ver_push_evidence *e, char *why,
                  size_t why_len)
{
        uint16_t alg = a->att.tpm.hash_alg != 0 ? a->att.tpm.hash_alg : 0x000b;
        struct ver_quote_request q = {
            .nonce = a->nonce,
            .mask = a->mask,
            .partial = true,
            .ima_entry = a->ima_offset,
        };
        kl_json *root = kl_json_object();
        kl_json *res;
        char *body = NULL;
        int r = KL_ERR_NOMEM;

        if (kl_json_set(root, "results", res = kl_json_object()) < 0 ||
            kl_rest_add_str(res, "quote", e->quote) < 0 ||
            kl_rest_add_str(res, "hash_alg", kl_hash_alg_name(alg)) < 0 ||
            (e->ima_entries != NULL &&
             (kl_json_set_string_len(res, "ima_measurement_list", e->ima_entries, e->ima_len) < 0 ||
              kl_json_set_int(res, "ima_measurement_list_entry", (int64_t)a->ima_offset) < 0)) ||
            (e->uefi_log != NULL && kl_rest_add_str(res, "mb_measurement_list", e->uefi_log) < 0))
                goto out;
        if ((body = kl_json_to_string(root)) == NULL)
                goto out;
        r = ver_check_answer(&a->att, &q, body, strlen(body), why, why_len);
out:
        if (r == KL_ERR_NOMEM)
                snprintf(why, why_len, "out of memory");
        free(body);
        kl_json_free(root);
        return r;
}

static void attestation_update(struct ver_push *p, const char *id, const char *index,
                               const char *body, size_t len, struct kl_http_reply *reply)
{
        struct ver_push_evidence e = {0};
        struct push_agent *a = NULL;
        kl_json *attrs = NULL, *root = NULL, *meta;
        char why[WHY_MAX] = "";
        char idx[24];
        bool pass;
        unsigned next_s = (p->cfg.interval_ms + 999) / 1000;

        if ((a = agent_get(p, id, reply)) == NULL)
                return;
        snprintf(idx, sizeof(idx), "%lld", (long long)a->index);
        if (a->index < 0) {
                refuse(reply, 404, "No attestation exists for agent '%s'.", id);
                goto out;
        }
        if (strcmp(index, "latest") != 0 && strcmp(index, idx) != 0) {
                refuse(reply, 403, "Attestation %.24s is not the latest for agent '%s'.", index,
                       id);
                goto out;
        }
        if (a->stage != STAGE_AWAITING) {
                refuse(reply, 403, "Evidence for attestation %s was already received.", idx);
                goto out;
        }
        if (a->challenge_expires < time(NULL)) {
                a->stage = STAGE_DONE;
                refuse(reply, 403, "Challenges for attestation %s expired; create a new one.", idx);
                goto out;
        }
        if (ver_push_parse_evidence(body, len, &e, why, sizeof(why)) < 0) {
                refuse(reply, 400, "%s", why);
                goto out;
        }
        a->stage = STAGE_DONE; /* the challenge is spent whatever the outcome */
        a->last_evidence_ms = now_ms();
        pass = verify(a, &e, why, sizeof(why)) == 0;
        if (pass) {
                memcpy(a->boot_time, a->req_boot_time, sizeof(a->boot_time));
                a->count++;
                a->last_success = (int64_t)time(NULL);
                set_status(p, a, ST_GET, NULL);
                log_info("agent '%s': attestation %s passed", id, idx);
        } else {
                a->failed = true;
                log_warn("agent '%s': attestation %s failed: %s", id, idx, why);
                set_status(p, a, ST_INVALID, why);
                (void)ver_notifier_revoke(p->cfg.notifier, id, why);
        }
        attrs = kl_json_object();
        if (kl_rest_add_str(attrs, "stage", "verification_complete") < 0 ||
            kl_rest_add_str(attrs, "evaluation", pass ? "pass" : "fail") < 0 ||
            (!pass && kl_rest_add_str(attrs, "failure_reason", why) < 0))
                goto nomem;
        root = resource("attestation", idx, attrs); /* takes attrs */
        attrs = NULL;
        if (kl_json_set(root, "meta", meta = kl_json_object()) < 0 ||
            kl_json_set_int(meta, "seconds_to_next_attestation", next_s) < 0)
                goto nomem;
        reply_json(reply, 202, root);
        goto out;
nomem:
        kl_json_free(attrs);
        kl_json_free(root);
        refuse(reply, 500, "out of memory");
out:
        ver_push_evidence_clear(&e);
        pthread_mutex_unlock(&a->lock);
}

/* ---- routing ------------------------------------------------------------ */

bool ver_push_path(const char *path)
{
        return strncmp(path, "/v3/", 4) == 0 || strncmp(path, "/v3.0/", 6) == 0;
}

/* Splits what follows /v3[.0]/ into at most 4 segments (bounded copies); false if longer. */
static bool segments(const char *path, char seg[4][KL_REST_AGENT_ID_MAX + 1], size_t *ret_n)
{
        const char *s = path + (strncmp(path, "/v3/", 4) == 0 ? 4 : 6);
        size_t n = 0;

        while (*s != '\0') {
                const char *e = strchr(s, '/');
                size_t len = e != NULL ? (size_t)(e - s) : strlen(s);

                if (n == 4 || len == 0 || len > KL_REST_AGENT_ID_MAX)
                        return false;
                memcpy(seg[n], s, len);
                seg[n++][len] = '\0';
                s += len;
                if (*s == '/')
                        s++;
        }
        *ret_n = n;
        return true;
}

static bool media_ok(const struct kl_http_request *req)
{
        const char *t = kl_http_request_header(req, "Content-Type");

        return t != NULL &&
               (strncasecmp(t, VER_PUSH_MEDIA_TYPE, strlen(VER_PUSH_MEDIA_TYPE)) == 0 ||
                strncasecmp(t, "application/json", 16) == 0);
}

void ver_push_handle(struct ver_push *p, const struct kl_http_request *req,
                     struct kl_http_reply *reply)
{
        char seg[4][KL_REST_AGENT_ID_MAX + 1];
        const char *method = kl_http_request_method(req);
        bool post = strcmp(method, "POST") == 0, patch = strcmp(method, "PATCH") == 0;
        size_t n = 0, blen = 0;
        const char *body = kl_http_request_body(req, &blen);

        if (!segments(kl_http_request_path(req), seg, &n) || n == 0) {
                refuse(reply, 404, "Not Found");
                return;
        }
        if ((post || patch) && !media_ok(req)) {
                refuse(reply, 415, "Content-Type must be " VER_PUSH_MEDIA_TYPE);
                return;
        }
        if (strcmp(seg[0], "sessions") == 0 && n <= 2) {
                if (n == 1 && post)
                        session_create(p, body, blen, reply);
                else if (n == 2 && patch)
                        session_update(p, seg[1], body, blen, reply);
                else
                        refuse(reply, 405, "Method Not Allowed");
                return;
        }
        if (strcmp(seg[0], "agents") != 0 || n < 3 || strcmp(seg[2], "attestations") != 0) {
                refuse(reply, 404, "Not Found");
                return;
        }
        if (!kl_agent_id_is_valid(seg[1], strlen(seg[1]))) {
                refuse(reply, 400, "Invalid agent ID");
                return;
        }
        if (!(n == 3 && post) && !(n == 4 && patch)) {
                refuse(reply, 405, "Method Not Allowed");
                return;
        }
        if (!authorized(p, req, seg[1], reply))
                return;
        if (n == 3)
                attestation_create(p, seg[1], body, blen, reply);
        else
                attestation_update(p, seg[1], seg[3], body, blen, reply);
}

int ver_push_new(struct ver_store *store, const struct ver_push_config *cfg, struct ver_push **ret)
{
        struct ver_push *p = calloc(1, sizeof(*p));
        int r;

        if (p == NULL)
                return KL_ERR_NOMEM;
        if ((r = ver_push_sessions_new(&p->sessions)) < 0) {
                free(p);
                return r;
        }
        if (pthread_mutex_init(&p->lock, NULL) != 0) {
                ver_push_sessions_free(p->sessions);
                free(p);
                return KL_ERR_SYSTEM;
        }
        p->store = store;
        p->cfg = *cfg;
        *ret = p;
        return 0;
}

void ver_push_free(struct ver_push *p)
{
        if (p == NULL)
                return;
        for (size_t i = 0; i < p->n_agents; i++) {
                agent_unload(p->agents[i]);
                pthread_mutex_destroy(&p->agents[i]->lock);
                free(p->agents[i]);
        }
        ver_push_sessions_free(p->sessions);
        pthread_mutex_destroy(&p->lock);
        free(p);
}
