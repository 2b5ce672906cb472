/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The simulated agents' evidence and their agent API (Keylime API 2.x,
 * proto-docs agent-api.md): GET /version and GET /v2.x/quotes/integrity.
 * The IMA log is ima-ng lines, boot_aggregate first, then files cycling
 * through FLEET_IMA_FILES names; it grows by ima_growth lines before each
 * quote and PCR 10 (sha256 bank) follows it exactly, so the verifier's replay
 * checks real work. Lines are made on the fly from the precomputed table: an
 * agent holds only its line count and PCR 10.
 */
#include "fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h" /* the agent's query parser */
#include "b64.h"
#include "err.h"
#include "hex.h"
#include "http_server.h"
#include "json.h"
#include "nonce.h"
#include "quote.h"
#include "soft_tpm.h"

#define INITIAL_IMA_LINES 10u
#define DATA_PCR          16
#define IMA_PCR           10

int64_t fleet_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *fleet_bad_name(enum fleet_bad b)
{
        static const char *const names[FLEET_BAD_MODES] = {"good", "wrong-pcr", "bad-sig",
                                                           "stale-nonce", "silent"};

        return b < FLEET_BAD_MODES ? names[b] : "?";
}

static void put_le32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/*
 * One ima-ng line and the value it extends (what the kernel logs, Linux >= 5.8):
 * template data = u32le(len) "sha256:" NUL digest || u32le(len) path NUL;
 * column 2 = SHA-1 of it, the sha256 bank gets its SHA-256.
 */
static int ima_line(const uint8_t digest[32], const char *path, char *line, size_t line_len,
                    uint8_t extend[32])
{
        uint8_t td[4 + 8 + 32 + 4 + 128], sha1[KL_MAX_DIGEST_LEN], sha256[KL_MAX_DIGEST_LEN];
        char sha1_hex[41], dig_hex[65];
        size_t plen = strlen(path), off = 0, n = 0;
        int w;

        if (plen + 1 > 128)
                return KL_ERR_TOO_LONG;
        put_le32(td, 8 + 32);
        memcpy(td + 4, "sha256:", 8); /* with its NUL */
        memcpy(td + 12, digest, 32);
        off = 44;
        put_le32(td + off, (uint32_t)(plen + 1));
        memcpy(td + off + 4, path, plen + 1);
        off += 4 + plen + 1;
        if (kl_digest("sha1", td, off, sha1, &n) < 0 ||
            kl_digest("sha256", td, off, sha256, &n) < 0)
                return KL_ERR_CRYPTO;
        memcpy(extend, sha256, 32);
        kl_hex_encode_to(sha1, 20, sha1_hex);
        kl_hex_encode_to(digest, 32, dig_hex);
        w = snprintf(line, line_len, "10 %s ima-ng sha256:%s %s\n", sha1_hex, dig_hex, path);
        return w < 0 || (size_t)w >= line_len ? KL_ERR_TOO_LONG : 0;
}

static int digest_of(const char *text, uint8_t out[32])
{
        uint8_t d[KL_MAX_DIGEST_LEN];
        size_t n = 0;
        int r = kl_digest("sha256", text, strlen(text), d, &n);

        if (r == 0)
                memcpy(out, d, 32);
        return r;
}

int fleet_evidence_init(struct fleet *f)
{
        uint8_t d[32], zero[64] = {0}, nk_hash[KL_MAX_DIGEST_LEN], tmp[KL_MAX_DIGEST_LEN];
        char path[64], text[64];
        size_t n = 0;
        int r;

        if ((r = digest_of("fleet boot aggregate", d)) < 0 ||
            (r = ima_line(d, "boot_aggregate", f->ima_lines[0], sizeof(f->ima_lines[0]),
                          f->ima_extend[0])) < 0)
                return r;
        kl_hex_encode_to(d, 32, f->boot_aggregate_hex);
        for (unsigned i = 0; i < FLEET_IMA_FILES; i++) {
                snprintf(text, sizeof(text), "fleet file %u", i);
                snprintf(path, sizeof(path), "/usr/bin/fleet-file-%u", i);
                if ((r = digest_of(text, d)) < 0 ||
                    (r = ima_line(d, path, f->ima_lines[i + 1], sizeof(f->ima_lines[i + 1]),
                                  f->ima_extend[i + 1])) < 0)
                        return r;
                kl_hex_encode_to(d, 32, f->file_digest_hex[i]);
        }
        if ((r = digest_of("fleet PCR 15", f->pcr_policy)) < 0)
                return r;
        /* PCR 16 after reset and one extend with H(NK PEM), as the agent does per quote */
        if ((r = kl_digest("sha256", f->nk_pem, strlen(f->nk_pem), nk_hash, &n)) < 0)
                return r;
        memcpy(zero + 32, nk_hash, 32);
        if ((r = kl_digest("sha256", zero, 64, tmp, &n)) < 0)
                return r;
        memcpy(f->pcr16, tmp, 32);
        return 0;
}

void fleet_evidence_free(struct fleet *f)
{
        free(f->nk_pem);
        f->nk_pem = NULL;
}

static size_t line_index(uint64_t entry)
{
        return entry == 0 ? 0 : 1 + (size_t)((entry - 1) % FLEET_IMA_FILES);
}

/* Appends count lines to a's log and extends its PCR 10 (caller holds a->lock). */
static int ima_grow(const struct fleet *f, struct fleet_agent *a, unsigned count)
{
        uint8_t buf[64], out[KL_MAX_DIGEST_LEN];
        size_t n = 0;

        for (unsigned i = 0; i < count; i++) {
                memcpy(buf, a->pcr10, 32);
                memcpy(buf + 32, f->ima_extend[line_index(a->ima_entries)], 32);
                if (kl_digest("sha256", buf, sizeof(buf), out, &n) < 0)
                        return KL_ERR_CRYPTO;
                memcpy(a->pcr10, out, 32);
                a->ima_entries++;
        }
        return 0;
}

char *fleet_ima_policy(const struct fleet *f)
{
        kl_json *o = kl_json_object(), *dig = kl_json_object(), *meta = kl_json_object(), *arr;
        char path[64];
        char *s = NULL;

        if (o == NULL || dig == NULL || meta == NULL)
                goto out;
        kl_json_set_int(meta, "version", 1);
        kl_json_set(o, "meta", meta);
        meta = NULL;
        arr = kl_json_array();
        kl_json_append_string(arr, f->boot_aggregate_hex);
        kl_json_set(dig, "boot_aggregate", arr);
        for (unsigned i = 0; i < FLEET_IMA_FILES; i++) {
                snprintf(path, sizeof(path), "/usr/bin/fleet-file-%u", i);
                arr = kl_json_array();
                kl_json_append_string(arr, f->file_digest_hex[i]);
                kl_json_set(dig, path, arr);
        }
        kl_json_set(o, "digests", dig);
        dig = NULL;
        kl_json_set(o, "excludes", kl_json_array());
        s = kl_json_to_string(o);
out:
        kl_json_free(meta);
        kl_json_free(dig);
        kl_json_free(o);
        return s;
}

char *fleet_tpm_policy(const struct fleet *f)
{
        char hex[65], *s = NULL;

        kl_hex_encode_to(f->pcr_policy, 32, hex);
        if (asprintf(&s, "{\"hash_alg\": \"sha256\", \"%d\": \"%s\"}", FLEET_POLICY_PCR, hex) < 0)
                return NULL;
        return s;
}

struct fleet_agent *fleet_find(struct fleet *f, const char *ip)
{
        size_t lo = 0, hi = f->n_agents;

        /* addresses are handed out in ascending order: binary search on the numeric value */
        unsigned a0, a1, a2, a3;
        uint32_t want;

        if (sscanf(ip, "%u.%u.%u.%u", &a0, &a1, &a2, &a3) != 4)
                return NULL;
        want = a0 << 24 | a1 << 16 | a2 << 8 | a3;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                unsigned b0, b1, b2, b3;
                uint32_t got;

                if (sscanf(f->agents[mid].ip, "%u.%u.%u.%u", &b0, &b1, &b2, &b3) != 4)
                        return NULL;
                got = b0 << 24 | b1 << 16 | b2 << 8 | b3;
                if (got == want)
                        return &f->agents[mid];
                if (got < want)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static void reply_error(struct kl_http_reply *reply, int code, const char *status)
{
        kl_http_reply_json(reply, code, status, NULL);
}

static void serve_version(struct kl_http_reply *reply)
{
        kl_json *res = kl_json_object(), *list = kl_json_array();
        static const char *const versions[] = {"2.1", "2.2", "2.3", "2.4", "2.5", "2.6"};

        for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
                kl_json_append_string(list, versions[i]);
        kl_json_set_string(res, "supported_version", "2.6");
        kl_json_set(res, "supported_versions", list);
        kl_http_reply_json(reply, 200, "Success", res);
}

/* The log from line from on (at most what exists); caller frees. */
static char *ima_text(const struct fleet *f, uint64_t from, uint64_t to)
{
        size_t cap = 1, len = 0;
        char *s;

        for (uint64_t i = from; i < to; i++)
                cap += strlen(f->ima_lines[line_index(i)]);
        if ((s = malloc(cap)) == NULL)
                return NULL;
        for (uint64_t i = from; i < to; i++) {
                size_t n = strlen(f->ima_lines[line_index(i)]);

                memcpy(s + len, f->ima_lines[line_index(i)], n);
                len += n;
        }
        s[len] = '\0';
        return s;
}

static void count_lateness(struct fleet *f, struct fleet_agent *a, int64_t now)
{
        int64_t late;

        if (a->last_poll_ms != 0 && a->last_poll_ms >= f->measure_from_ms &&
            f->measure_from_ms != 0) {
                late = now - a->last_poll_ms - (int64_t)f->interval_ms;
                if (late < 0)
                        late = 0;
                if (late >= (int64_t)FLEET_LATE_BUCKETS)
                        late = FLEET_LATE_BUCKETS - 1;
                atomic_fetch_add(&f->late[late], 1);
        }
        a->last_poll_ms = now;
}

/* The quote answer's fields (agent-api.md, quote-format.md). */
static kl_json *quote_results(const struct fleet *f, const struct fleet_agent *a, const char *quote,
                              bool partial, const char *ima, uint64_t entry)
{
        kl_json *o = kl_json_object();
        bool rsa = kl_pkey_is_rsa(a->ak);

        kl_json_set_string(o, "quote", quote);
        kl_json_set_string(o, "hash_alg", "sha256");
        kl_json_set_string(o, "enc_alg", "ecc256");
        kl_json_set_string(o, "sign_alg", rsa ? "rsassa" : "ecdsa");
        if (!partial)
                kl_json_set_string(o, "pubkey", f->nk_pem);
        kl_json_set_string(o, "ima_measurement_list", ima);
        kl_json_set_int(o, "ima_measurement_list_entry", (int64_t)entry);
        return o;
}

static void serve_quote(struct fleet *f, struct fleet_agent *a, const struct kl_http_request *req,
                        struct kl_http_reply *reply)
{
        const char *nonce = kl_http_request_query(req, "nonce");
        struct kl_pcr_set pcrs = {.hash_alg = 0x000b, .digest_len = 32};
        struct kl_soft_clock clk = {.reset_count = 1};
        struct api_integrity_query q = {0};
        uint8_t *attest = NULL, *sig = NULL;
        size_t attest_len = 0, sig_len = 0;
        char *quote = NULL, *ima = NULL;
        char err[256];
        const char *quoted_nonce;
        uint64_t entry;
        int64_t now = fleet_now_ms();
        int code;
        bool bad;

        /* the agent's own parameter checks and error texts */
        code = api_parse_integrity_query(
            nonce, kl_http_request_query(req, "mask"), kl_http_request_query(req, "partial"),
            kl_http_request_query(req, "ima_ml_entry"), &q, err, sizeof(err));
        if (code != 0) {
                reply_error(reply, code, err);
                return;
        }
        entry = q.ima_entry;
        pthread_mutex_lock(&a->lock);
        /* bad only once every agent was added, so the time to flag is the steady state's */
        bad = a->bad != FLEET_GOOD && a->quotes >= f->bad_after && f->measure_from_ms != 0 &&
              now >= f->measure_from_ms;
        if (bad && a->bad_since_ms == 0)
                a->bad_since_ms = now;
        if (bad && a->bad == FLEET_SILENT) {
                pthread_mutex_unlock(&a->lock);
                reply->close = true;
                return;
        }
        count_lateness(f, a, now);
        if (ima_grow(f, a, f->ima_growth) < 0)
                goto fail;
        pcrs.mask = q.mask | 1u << DATA_PCR;
        for (unsigned i = 0; i < KL_PCR_COUNT; i++) {
                if ((pcrs.mask & 1u << i) == 0)
                        continue;
                if (i == IMA_PCR)
                        memcpy(pcrs.values[i], a->pcr10, 32);
                else if (i == DATA_PCR)
                        memcpy(pcrs.values[i], f->pcr16, 32);
                else if (i == FLEET_POLICY_PCR)
                        memcpy(pcrs.values[i], f->pcr_policy, 32);
        }
        if (bad && a->bad == FLEET_WRONG_PCR)
                pcrs.values[FLEET_POLICY_PCR][0] ^= 0x01;
        quoted_nonce =
            bad && a->bad == FLEET_STALE_NONCE && a->prev_nonce[0] != '\0' ? a->prev_nonce : nonce;
        /* the TPM clock strictly increases between quotes */
        a->clock_ms = (uint64_t)now > a->clock_ms ? (uint64_t)now : a->clock_ms + 1;
        clk.clock = a->clock_ms;
        if (kl_soft_quote(a->ak, a->ak_name, a->ak_name_len, (const uint8_t *)quoted_nonce,
                          strlen(quoted_nonce), &clk, &pcrs, &attest, &attest_len, &sig,
                          &sig_len) < 0)
                goto fail;
        if (bad && a->bad == FLEET_BAD_SIG)
                sig[sig_len - 1] ^= 0x01;
        if (kl_quote_encode(attest, attest_len, sig, sig_len, &pcrs, &quote) < 0)
                goto fail;
        if (entry > a->ima_entries)
                entry = a->ima_entries;
        if ((ima = ima_text(f, entry, a->ima_entries)) == NULL)
                goto fail;
        snprintf(a->prev_nonce, sizeof(a->prev_nonce), "%s", nonce);
        a->quotes++;
        pthread_mutex_unlock(&a->lock);
        atomic_fetch_add(&f->polls, 1);
        kl_http_reply_json(reply, 200, "Success",
                           quote_results(f, a, quote, !q.with_pubkey, ima, entry));
        goto out;
fail:
        pthread_mutex_unlock(&a->lock);
        reply_error(reply, 500, "Unable to retrieve quote");
out:
        free(attest);
        free(sig);
        free(quote);
        free(ima);
}

void fleet_serve(void *ctx, const struct kl_http_request *req, struct kl_http_reply *reply)
{
        struct fleet *f = ctx;
        const char *path = kl_http_request_path(req);
        struct fleet_agent *a;
        char ip[64];

        if (kl_http_request_local_addr(req, ip, sizeof(ip)) < 0 ||
            (a = fleet_find(f, ip)) == NULL) {
                atomic_fetch_add(&f->refused, 1);
                reply->close = true; /* not one of ours */
                return;
        }
        if (strcmp(kl_http_request_method(req), "GET") != 0) {
                reply_error(reply, 405, "Method is not supported");
                return;
        }
        if (strcmp(path, "/version") == 0) {
                serve_version(reply);
                return;
        }
        /* /v2.N/quotes/integrity */
        if (strncmp(path, "/v2.", 4) == 0 && path[4] >= '1' && path[4] <= '6' &&
            strcmp(path + 5, "/quotes/integrity") == 0) {
                serve_quote(f, a, req, reply);
                return;
        }
        reply_error(reply, 400, "Not Implemented: Use /agent, /keys, or /quotes interfaces");
}
