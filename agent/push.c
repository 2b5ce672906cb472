/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The push-model client (see push.h). One thread: authenticate, negotiate,
 * submit, wait; each request retries transport errors, 5xx, 408 and 429
 * with upstream's exponential back-off (http_retry.h); a 401 anywhere drops
 * the token and authenticates again at once (once per cycle), a 429/503
 * left after the retries waits Retry-After, other refusals and exhausted
 * retries wait one interval, as upstream's agent does. While
 * waiting it polls the IMA log length and the watched PCRs four times a
 * second. The bearer token is a secret: never logged, wiped when dropped.
 * One job just past 600 lines: the cycle's steps share the token and back-off
 * state; the bodies are push_json.c's.
 */
#include "push.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "hex.h"
#include "http_client.h"
#include "http_retry.h"
#include "ima_log.h"
#include "log.h"
#include "push_json.h"
#include "quote_evidence.h"
#include "tpm.h"
#include "tpm_public.h"

#define TIMEOUT_MS    30000
#define POLL_MS       250
#define MIN_GAP_MS    1000 /* bounds event-driven submissions */
#define URL_MAX       1024
#define DETAIL_MAX    256
#define PUSH_API_PATH "/v3.0"

enum outcome { OK, REAUTH, WAIT };

struct push {
        struct agent *a;
        const struct kl_agent_config *cfg;
        const char *agent_id;
        int stop_fd;
        char base[URL_MAX]; /* verifier_url without a trailing '/' */
        size_t origin_len;  /* scheme://authority part of base */
        struct kl_http_tls tls;
        bool https;
        /* the AK as the verifier knows it */
        char *ak_pem;
        uint8_t ak_digest[64]; /* H(ak_pem): PCR 16 binds it */
        size_t ak_digest_len;
        char *ak_b64;
        char ak_name_hex[2 * (2 + 64) + 1];
        unsigned key_bits;
        bool rsa;
        char boot_time[32];
        /* session */
        char token[PUSH_TOKEN_MAX + 1];
        bool have_token;
        /* what changed since the last accepted evidence */
        uint64_t ima_total; /* lines in the IMA log when we last looked */
        uint32_t watch;     /* PCRs of the last request (not 16) */
        struct kl_pcr_set watched;
        bool triggers;        /* watch and ima_total describe accepted evidence */
        uint64_t last_submit; /* monotonic ms */
        long delay_ms;        /* how long to wait before the next cycle */
};

static uint64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool push_mode_selected(const char *argv0, const struct kl_agent_config *cfg)
{
        const char *base = argv0 != NULL ? strrchr(argv0, '/') : NULL;
        char **items = NULL;
        size_t n = 0;
        bool push = false;

        base = base != NULL ? base + 1 : argv0;
        if (base != NULL && (strcmp(base, "keylime_push_model_agent") == 0 ||
                             strcmp(base, "keylime-push-model-agent") == 0))
                return true;
        if (cfg->api_versions != NULL && kl_config_parse_list(cfg->api_versions, &items, &n) == 0) {
                push = n > 0;
                for (size_t i = 0; i < n; i++)
                        push = push && (strcmp(items[i], "3.0") == 0 || strcmp(items[i], "3") == 0);
                kl_strv_free(items);
        }
        return push;
}

/* /proc/stat btime as ISO 8601 UTC (upstream's system_info.boot_time). */
static void boot_time(char out[32])
{
        FILE *f = fopen("/proc/stat", "re");
        char line[256];
        long long bt = -1;
        time_t t;
        struct tm tm;

        snprintf(out, 32, "1970-01-01T00:00:00Z");
        if (f == NULL)
                return;
        while (fgets(line, sizeof(line), f) != NULL) {
                if (strncmp(line, "btime ", 6) == 0) {
                        char *end;

                        errno = 0;
                        bt = strtoll(line + 6, &end, 10);
                        if (errno != 0 || end == line + 6)
                                bt = -1;
                        break;
                }
        }
        fclose(f);
        if (bt < 0)
                return;
        t = (time_t)bt;
        gmtime_r(&t, &tm);
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void push_clear(struct push *p)
{
        free(p->ak_pem);
        free(p->ak_b64);
        explicit_bzero(p->token, sizeof(p->token));
}

static void drop_token(struct push *p)
{
        explicit_bzero(p->token, sizeof(p->token));
        p->have_token = false;
}

static int setup(struct push *p, struct agent *a, const struct agent_identity *id, int stop_fd)
{
        const struct kl_agent_config *cfg = a->cfg;
        struct kl_tpm_public *ak = NULL;
        uint8_t name[2 + 64];
        size_t name_len = 0, n;
        const char *enc = kl_tpm_enc_alg_name(a->tpm, true), *slash;
        int r = KL_ERR_CONFIG;

        memset(p, 0, sizeof(*p));
        p->a = a;
        p->cfg = cfg;
        p->agent_id = id->agent_id;
        p->stop_fd = stop_fd;
        n = strlen(cfg->verifier_url);
        while (n > 0 && cfg->verifier_url[n - 1] == '/')
                n--;
        if (strncmp(cfg->verifier_url, "https://", 8) == 0) {
                p->https = true;
        } else if (strncmp(cfg->verifier_url, "http://", 7) != 0) {
                log_error("verifier_url '%s' must be an https:// URL", cfg->verifier_url);
                goto out;
        } else {
                log_warn("verifier_url '%s' is plain HTTP: evidence and session token travel "
                         "unprotected (use https:// outside tests)",
                         cfg->verifier_url);
        }
        if (n >= sizeof(p->base)) {
                log_error("verifier_url is too long");
                goto out;
        }
        memcpy(p->base, cfg->verifier_url, n);
        p->base[n] = '\0';
        slash = strchr(p->base + (p->https ? 8 : 7), '/');
        p->origin_len = slash != NULL ? (size_t)(slash - p->base) : n;
        p->tls.ca_file = cfg->verifier_tls_ca_cert;
        p->tls.insecure = cfg->tls_accept_invalid_certs;
        p->tls.no_hostname_check = cfg->tls_accept_invalid_hostnames;
        r = KL_ERR_INVAL;
        if (kl_tpm_public_parse(id->ak_public, id->ak_public_len, &ak) < 0 ||
            kl_tpm_public_name(ak, name, &name_len) < 0 ||
            kl_tpm_public_to_pem(ak, &p->ak_pem) < 0 ||
            kl_b64_encode(id->ak_public, id->ak_public_len, &p->ak_b64) < 0 ||
            kl_digest(kl_tpm_hash_alg_name(a->tpm), p->ak_pem, strlen(p->ak_pem), p->ak_digest,
                      &p->ak_digest_len) < 0) {
                log_error("cannot describe the AK for the verifier");
                goto out;
        }
        kl_hex_encode_to(name, name_len, p->ak_name_hex);
        p->rsa = kl_tpm_public_is_rsa(ak);
        p->key_bits = (unsigned)strtoul(enc + 3, NULL, 10);
        boot_time(p->boot_time);
        r = 0;
out:
        kl_tpm_public_free(ak);
        return r;
}

/* base + path, or (for a Location) an absolute path on the verifier's own origin. */
static int url_for(const struct push *p, const char *path, bool absolute_path, char out[URL_MAX])
{
        int n = absolute_path ? snprintf(out, URL_MAX, "%.*s%s", (int)p->origin_len, p->base, path)
                              : snprintf(out, URL_MAX, "%s%s", p->base, path);

        return n < 0 || n >= URL_MAX ? KL_ERR_TOO_LONG : 0;
}

static int call(struct push *p, const char *method, const char *url, const char *body, bool auth,
                struct kl_http_response *resp)
{
        struct kl_http_request_opts opts = {
            .content_type = PUSH_MEDIA_TYPE,
            .bearer = auth ? p->token : NULL,
        };
        const struct http_retry rt = {.cfg = p->cfg, .stop_fd = p->stop_fd, .peer = "verifier"};
        int r;

        memset(resp, 0, sizeof(*resp));
        r = http_retry_request(&rt, method, url, body, &opts, p->https ? &p->tls : NULL, TIMEOUT_MS,
                               resp);
        if (r < 0 && r != KL_ERR_CANCELED)
                log_error("cannot reach the verifier at %s: %s%s%s", url,
                          resp->error[0] ? resp->error : kl_err_str(r),
                          p->https ? "; verifier_tls_ca_cert = " : "",
                          p->https ? (p->tls.ca_file != NULL ? p->tls.ca_file : "(system)") : "");
        return r;
}

/* Logs a refusal with the verifier's detail; sets the wait (Retry-After, else one interval). */
static enum outcome refused(struct push *p, const char *what, const struct kl_http_response *resp)
{
        char detail[DETAIL_MAX];

        push_json_error_detail(resp->body, resp->body_len, detail, sizeof(detail));
        if (resp->status == 401) {
                log_info("%s: verifier answered 401 (%s); authenticating again", what,
                         detail[0] ? detail : "token not accepted");
                return REAUTH;
        }
        if ((resp->status == 429 || resp->status == 503) && resp->retry_after > 0) {
                log_info("%s: verifier answered %ld (%s); retrying in %ld s", what, resp->status,
                         detail, resp->retry_after);
                p->delay_ms = resp->retry_after * 1000L;
                return WAIT;
        }
        log_error("%s: verifier answered HTTP %ld%s%s", what, resp->status, detail[0] ? ": " : "",
                  detail);
        p->delay_ms = (long)p->cfg->attestation_interval_seconds * 1000L;
        return WAIT;
}

/* Section 3: POST /sessions, TPM2_Certify over the challenge, PATCH the proof. */
static enum outcome authenticate(struct push *p)
{
        struct kl_http_response resp = {0};
        char url[URL_MAX], sid[PUSH_ID_MAX + 1], why[DETAIL_MAX] = "";
        char path[PUSH_ID_MAX + 32];
        uint8_t challenge[PUSH_CHALLENGE_MAX];
        size_t clen = 0, attest_len = 0, sig_len = 0;
        uint8_t *attest = NULL, *sig = NULL;
        char *body = NULL;
        enum outcome o = WAIT;
        int r;

        p->delay_ms = (long)p->cfg->attestation_interval_seconds * 1000L;
        if (url_for(p, PUSH_API_PATH "/sessions", false, url) < 0 ||
            (body = push_json_session_request(p->agent_id)) == NULL)
                goto out;
        if (call(p, "POST", url, body, false, &resp) < 0)
                goto out;
        if (resp.status != 200 && resp.status != 201) {
                o = refused(p, "POST /sessions", &resp);
                o = o == REAUTH ? WAIT : o;
                goto out;
        }
        if (push_json_parse_challenge(resp.body, resp.body_len, sid, challenge, &clen, why,
                                      sizeof(why)) < 0) {
                log_error("POST /sessions: %s", why);
                goto out;
        }
        pthread_mutex_lock(&p->a->tpm_lock);
        r = kl_tpm_certify_ak(p->a->tpm, challenge, clen, &attest, &attest_len, &sig, &sig_len);
        agent_note_tpm_lost(p->a, r);
        pthread_mutex_unlock(&p->a->tpm_lock);
        if (r < 0) {
                log_error("TPM2_Certify of the AK failed: %s", kl_err_str(r));
                goto out;
        }
        free(body);
        kl_http_response_clear(&resp);
        snprintf(path, sizeof(path), PUSH_API_PATH "/sessions/%s", sid);
        if (url_for(p, path, false, url) < 0 ||
            (body = push_json_session_proof(sid, p->agent_id, attest, attest_len, sig, sig_len)) ==
                NULL)
                goto out;
        if (call(p, "PATCH", url, body, false, &resp) < 0)
                goto out;
        if (resp.status != 200) {
                o = refused(p, "PATCH /sessions", &resp);
                o = o == REAUTH ? WAIT : o; /* a refused proof: wait, do not loop */
                goto out;
        }
        if (push_json_parse_token(resp.body, resp.body_len, p->token, why, sizeof(why)) < 0) {
                log_error("PATCH /sessions: %s", why);
                goto out;
        }
        p->have_token = true;
        log_info("authenticated to the verifier with the TPM proof of possession (session %s)",
                 sid);
        o = OK;
out:
        free(body);
        free(attest);
        free(sig);
        kl_http_response_clear(&resp);
        return o;
}

static uint64_t count_lines(const char *s, size_t len)
{
        uint64_t n = 0;

        for (size_t i = 0; i < len; i++)
                n += s[i] == '\n';
        return n;
}

/* Lines in the IMA log now (incrementally from the last count). */
static uint64_t ima_lines(struct push *p)
{
        char *text = NULL;
        size_t len = 0;
        uint64_t from = 0, n = p->ima_total;

        if (p->a->ima == NULL)
                return 0;
        pthread_mutex_lock(&p->a->tpm_lock);
        if (kl_ima_log_read_from(p->a->ima, p->ima_total, &text, &len, &from) == 0)
                n = from + count_lines(text, len);
        pthread_mutex_unlock(&p->a->tpm_lock);
        free(text);
        return n;
}

static char *capabilities(struct push *p)
{
        struct push_caps c = {
            .hash_alg = kl_tpm_hash_alg_name(p->a->tpm),
            .sign_alg = kl_tpm_sign_alg_name(p->a->tpm),
            .rsa = p->rsa,
            .key_bits = p->key_bits,
            .ak_name_hex = p->ak_name_hex,
            .ak_public_b64 = p->ak_b64,
            .server_identifier = p->cfg->certification_keys_server_identifier,
            .ima_entries = p->a->ima != NULL ? (int64_t)ima_lines(p) : -1,
            .uefi = p->a->mb_fd >= 0,
            .uefi_version = p->cfg->uefi_logs_evidence_version,
            .boot_time = p->boot_time,
        };

        return push_json_capabilities(&c);
}

/* The first max lines of text (all when max is 0). */
static size_t cut_lines(const char *text, size_t len, uint64_t max, uint64_t *ret_count)
{
        uint64_t n = 0;
        size_t i;

        for (i = 0; i < len; i++) {
                if (text[i] == '\n' && ++n == max && max > 0) {
                        i++;
                        break;
                }
        }
        if (max == 0 || n < max) {
                /* a trailing partial line is not sent: it is not an entry yet */
                while (i > 0 && text[i - 1] != '\n')
                        i--;
        }
        *ret_count = n;
        return i;
}

/* Section 5: quote with the challenge, IMA from starting_offset, UEFI log; PATCH it. */
static enum outcome submit(struct push *p, const struct push_request *req, const char *url)
{
        struct agent_quote q = {0};
        struct kl_http_response resp = {0};
        struct push_evidence ev = {0};
        char *body = NULL, *uefi = NULL, *ima = NULL;
        size_t ima_len = 0;
        uint64_t ima_entry = 0;
        char evaluation[16];
        long next_s = 0;
        enum outcome o = WAIT;
        int r;

        p->delay_ms = (long)p->cfg->attestation_interval_seconds * 1000L;
        if ((r = agent_take_quote(p->a, req->challenge, req->challenge_len, p->ak_digest,
                                  p->ak_digest_len, req->mask & ~(1u << AGENT_DATA_PCR), req->ima,
                                  req->ima_offset, &q)) < 0) {
                log_error("cannot quote for attestation %s: %s", req->index, kl_err_str(r));
                goto out;
        }
        ev.quote = q.quote;
        if (q.ima != NULL) {
                ima_entry = kl_ima_slice_entry(q.ima);
                if ((r = kl_ima_slice_read_all(q.ima, &ima, &ima_len)) < 0) {
                        log_error("cannot read the IMA log for attestation %s: %s", req->index,
                                  kl_err_str(r));
                        goto out;
                }
                if (ima_entry != req->ima_offset)
                        log_warn("the IMA log has fewer than %" PRIu64
                                 " entries (starting_offset); sending all of it",
                                 req->ima_offset);
                ev.ima = ima;
                ev.ima_len = cut_lines(ima, ima_len, req->ima_max, &ev.ima_count);
        }
        if (req->uefi && p->a->mb_fd >= 0 && (uefi = agent_read_mb_log(p->a->mb_fd)) != NULL)
                ev.uefi_b64 = uefi;
        if ((body = push_json_evidence(&ev)) == NULL) {
                log_error("out of memory building the evidence");
                goto out;
        }
        p->last_submit = now_ms();
        if (call(p, "PATCH", url, body, true, &resp) < 0)
                goto out;
        if (resp.status != 202 && resp.status != 200) {
                o = refused(p, "evidence", &resp);
                goto out;
        }
        (void)push_json_parse_accepted(resp.body, resp.body_len, &next_s, evaluation);
        log_info("attestation %s accepted by the verifier (evaluation %s), %" PRIu64
                 " IMA entries from %" PRIu64 "; watching PCRs 0x%06x",
                 req->index, evaluation[0] ? evaluation : "pending", ev.ima_count, ima_entry,
                 (unsigned)(req->mask & ~(1u << AGENT_DATA_PCR)));
        /* baseline for the change triggers: exactly what this evidence showed */
        p->watch = req->mask & ~(1u << AGENT_DATA_PCR);
        p->watched = q.pcrs;
        p->ima_total = q.ima != NULL ? ima_entry + ev.ima_count : ima_lines(p);
        p->triggers = true;
        if (next_s * 1000L > p->delay_ms)
                p->delay_ms = next_s * 1000L;
        o = OK;
out:
        agent_quote_clear(&q);
        free(body);
        free(ima);
        free(uefi);
        kl_http_response_clear(&resp);
        return o;
}

/* Section 4, then 5: POST the capabilities, answer the chosen parameters. */
static enum outcome attest(struct push *p)
{
        struct kl_http_response resp = {0};
        struct push_request req;
        char url[URL_MAX], path[URL_MAX], why[DETAIL_MAX] = "";
        char *body = NULL;
        enum outcome o = WAIT;
        int n;

        p->delay_ms = (long)p->cfg->attestation_interval_seconds * 1000L;
        n = snprintf(path, sizeof(path), PUSH_API_PATH "/agents/%s/attestations", p->agent_id);
        if (n < 0 || (size_t)n >= sizeof(path) || url_for(p, path, false, url) < 0 ||
            (body = capabilities(p)) == NULL)
                goto out;
        if (call(p, "POST", url, body, true, &resp) < 0)
                goto out;
        if (resp.status != 201) {
                o = refused(p, "capabilities", &resp);
                goto out;
        }
        if (push_json_parse_request(resp.body, resp.body_len, &req, why, sizeof(why)) < 0) {
                log_error("capabilities: %s", why);
                log_debug("capabilities: the answer was %.1000s", resp.body);
                goto out;
        }
        if (strcmp(req.hash_alg, kl_tpm_hash_alg_name(p->a->tpm)) != 0 ||
            strcmp(req.sign_alg, kl_tpm_sign_alg_name(p->a->tpm)) != 0) {
                log_error("the verifier asks for %s/%s; the AK signs with %s/%s only", req.hash_alg,
                          req.sign_alg, kl_tpm_hash_alg_name(p->a->tpm),
                          kl_tpm_sign_alg_name(p->a->tpm));
                goto out;
        }
        /* the Location header names the resource; only paths on the verifier itself */
        if (resp.location != NULL && resp.location[0] == '/') {
                const char *last = strrchr(resp.location, '/') + 1;

                if (url_for(p, resp.location, true, url) < 0)
                        goto out;
                if (req.index[0] == '\0' && strlen(last) <= PUSH_ID_MAX)
                        memcpy(req.index, last, strlen(last) + 1); /* for log lines only */
        } else {
                n = snprintf(path, sizeof(path), PUSH_API_PATH "/agents/%s/attestations/%s",
                             p->agent_id, req.index[0] != '\0' ? req.index : "latest");
                if (n < 0 || (size_t)n >= sizeof(path) || url_for(p, path, false, url) < 0)
                        goto out;
        }
        o = submit(p, &req, url);
out:
        explicit_bzero(&req, sizeof(req));
        free(body);
        kl_http_response_clear(&resp);
        return o;
}

/* Something the verifier should learn about now: IMA grew or a watched PCR changed. */
static bool changed(struct push *p)
{
        struct kl_pcr_set cur;
        uint64_t lines;
        bool diff = false;
        int r;

        if (!p->triggers)
                return false;
        if (p->a->ima != NULL && (lines = ima_lines(p)) != p->ima_total) {
                log_info("IMA log grew (%" PRIu64 " -> %" PRIu64 " entries): attesting now",
                         p->ima_total, lines);
                return true;
        }
        if (p->watch == 0)
                return false;
        pthread_mutex_lock(&p->a->tpm_lock);
        if ((r = kl_tpm_pcr_read(p->a->tpm, p->watched.hash_alg, p->watch, &cur)) < 0) {
                log_debug("cannot read the watched PCRs 0x%06x; trying again", (unsigned)p->watch);
                cur = p->watched; /* a failed read is no news */
                agent_note_tpm_lost(p->a, r);
        }
        pthread_mutex_unlock(&p->a->tpm_lock);
        for (unsigned i = 0; i < KL_PCR_COUNT && !diff; i++) {
                if ((p->watch & (1u << i)) &&
                    memcmp(cur.values[i], p->watched.values[i], p->watched.digest_len) != 0) {
                        log_info("PCR %u changed: attesting now", i);
                        diff = true;
                }
        }
        return diff;
}

/* Waits delay_ms, or less when something changed; true when asked to stop. */
static bool wait_next(struct push *p)
{
        uint64_t deadline = now_ms() + (uint64_t)(p->delay_ms > 0 ? p->delay_ms : 0);

        for (;;) {
                struct pollfd pfd = {.fd = p->stop_fd, .events = POLLIN};
                uint64_t now = now_ms();
                int rc;

                if (now >= deadline)
                        return false;
                rc = poll(&pfd, 1, (int)(deadline - now < POLL_MS ? deadline - now : POLL_MS));
                if (rc > 0)
                        return true;
                if (rc < 0 && errno != EINTR)
                        return false;
                if (now_ms() >= p->last_submit + MIN_GAP_MS && changed(p))
                        return false;
        }
}

int push_run(struct agent *a, const struct agent_identity *id, int stop_fd)
{
        struct push p;
        bool fresh;
        int r;

        if ((r = setup(&p, a, id, stop_fd)) < 0)
                goto out;
        log_info("push mode: no port opened; attesting to %s every %u s (API 3.0)", p.base,
                 a->cfg->attestation_interval_seconds);
        for (;;) {
                enum outcome o = OK;

                fresh = false;
                if (!p.have_token) {
                        p.triggers = false;
                        o = authenticate(&p);
                        fresh = true;
                }
                if (o == OK)
                        o = attest(&p);
                if (o == REAUTH) {
                        drop_token(&p);
                        p.triggers = false;
                        /* at once, unless the token we just got was refused */
                        p.delay_ms = fresh ? (long)a->cfg->attestation_interval_seconds * 1000L : 0;
                }
                if (o != OK)
                        p.triggers = false;
                if (wait_next(&p))
                        break;
        }
        log_info("stopping the push-model client");
        /* a lost TPM stopped us (see agent_note_tpm_lost): exit non-zero to be restarted */
        r = atomic_load(&a->tpm_lost) ? KL_ERR_TPM_LOST : 0;
out:
        push_clear(&p);
        return r;
}
