/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite persistence for the verifier stub: one table on lib/store/db.c, which
 * owns the connection, its mutex (HTTP workers and the poller share it) and
 * the logging of SQLite errors.
 */
#include "store.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "err.h"
#include "quote.h"

struct ver_store {
        struct kl_db *db;
        atomic_uint_fast64_t changes;
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS agents ("
                                 "agent_id TEXT PRIMARY KEY, "
                                 "ip TEXT, "
                                 "port INTEGER, "
                                 "aik_tpm BLOB, "
                                 "mtls_cert TEXT, "
                                 "tpm_policy TEXT NOT NULL, "
                                 "ima_policy TEXT, "
                                 "mb_policy TEXT, "
                                 "gen INTEGER NOT NULL, "
                                 "state TEXT NOT NULL, "
                                 "attestation_count INTEGER NOT NULL DEFAULT 0, "
                                 "last_failure TEXT, "
                                 "last_success INTEGER NOT NULL DEFAULT 0, "
                                 "api_version TEXT, "
                                 "v TEXT); "
                                 /* struct ver_last_good */
                                 "CREATE TABLE IF NOT EXISTS last_good ("
                                 "agent_id TEXT PRIMARY KEY, "
                                 "at INTEGER NOT NULL, "
                                 "pcrblob BLOB NOT NULL, "
                                 "clock INTEGER NOT NULL, "
                                 "reset_count INTEGER NOT NULL, "
                                 "restart_count INTEGER NOT NULL, "
                                 "ima_alg INTEGER, "
                                 "ima_pcr10 BLOB, "
                                 "ima_entries INTEGER)";

int ver_store_open(const char *path, struct ver_store **ret)
{
        struct ver_store *s = NULL;
        int r = KL_ERR_NOMEM;

        if ((s = calloc(1, sizeof(*s))) == NULL)
                goto out;
        if ((r = kl_db_open(path, schema_sql, &s->db)) < 0)
                goto out;
        *ret = s;
        s = NULL;
        r = 0;
out:
        ver_store_close(s);
        return r;
}

void ver_store_close(struct ver_store *s)
{
        if (s == NULL)
                return;
        kl_db_close(s->db);
        free(s);
}

void ver_agent_free(struct ver_agent *a)
{
        if (a == NULL)
                return;
        free(a->agent_id);
        free(a->ip);
        free(a->aik_tpm);
        free(a->mtls_cert);
        free(a->tpm_policy);
        free(a->ima_policy);
        free(a->mb_policy);
        free(a->state);
        free(a->last_failure);
        free(a->api_version);
        if (a->v != NULL)
                kl_secure_free(a->v, strlen(a->v));
        free(a);
}

int ver_store_get(struct ver_store *s, const char *agent_id, struct ver_agent **ret)
{
        static const char sql[] =
            "SELECT agent_id, ip, port, aik_tpm, mtls_cert, tpm_policy, ima_policy, mb_policy, "
            "gen, state, attestation_count, last_failure, last_success, api_version, v "
            "FROM agents WHERE agent_id = ?";
        struct kl_db_stmt *st = NULL;
        struct ver_agent *a = NULL;
        int r;

        if ((r = kl_db_get_row(s->db, sql, agent_id, &st)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((a = calloc(1, sizeof(*a))) == NULL)
                goto out;
        if (kl_db_column_dup_text(st, 0, &a->agent_id) < 0 ||
            kl_db_column_dup_text(st, 1, &a->ip) < 0 ||
            kl_db_column_dup_blob(st, 3, &a->aik_tpm, &a->aik_tpm_len) < 0 ||
            kl_db_column_dup_text(st, 4, &a->mtls_cert) < 0 ||
            kl_db_column_dup_text(st, 5, &a->tpm_policy) < 0 ||
            kl_db_column_dup_text(st, 6, &a->ima_policy) < 0 ||
            kl_db_column_dup_text(st, 7, &a->mb_policy) < 0 ||
            kl_db_column_dup_text(st, 9, &a->state) < 0 ||
            kl_db_column_dup_text(st, 11, &a->last_failure) < 0 ||
            kl_db_column_dup_text(st, 13, &a->api_version) < 0 ||
            kl_db_column_dup_text(st, 14, &a->v) < 0)
                goto out;
        a->port = kl_db_column_is_null(st, 2) ? -1 : kl_db_column_int64(st, 2);
        a->gen = kl_db_column_int64(st, 8);
        a->attestation_count = kl_db_column_int64(st, 10);
        a->last_success = kl_db_column_int64(st, 12);
        if (a->agent_id == NULL || a->tpm_policy == NULL || a->state == NULL) {
                r = KL_ERR_DB;
                goto out;
        }
        *ret = a;
        a = NULL;
        r = 0;
out:
        kl_db_finish(st);
        ver_agent_free(a);
        return r;
}

int ver_store_add(struct ver_store *s, const struct ver_agent *a)
{
        static const char sql[] =
            "INSERT OR REPLACE INTO agents (agent_id, ip, port, aik_tpm, mtls_cert, tpm_policy, "
            "ima_policy, mb_policy, gen, state, attestation_count, last_failure, last_success, "
            "api_version, v) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "(SELECT COALESCE(MAX(gen), 0) + 1 FROM agents), 'Start', 0, NULL, 0, NULL, ?)";
        struct kl_db_stmt *st = NULL;
        int r;

        if (a->aik_tpm_len > (size_t)INT32_MAX)
                return KL_ERR_TOO_LONG;
        if ((r = kl_db_prepare(s->db, sql, &st)) < 0)
                goto out;
        if ((r = kl_db_bind_text(st, 1, a->agent_id)) < 0 ||
            (r = kl_db_bind_text(st, 2, a->ip)) < 0 ||
            (r = a->port < 0 ? kl_db_bind_null(st, 3) : kl_db_bind_int64(st, 3, a->port)) < 0 ||
            (r = kl_db_bind_blob(st, 4, a->aik_tpm, a->aik_tpm_len)) < 0 ||
            (r = kl_db_bind_text(st, 5, a->mtls_cert)) < 0 ||
            (r = kl_db_bind_text(st, 6, a->tpm_policy)) < 0 ||
            (r = kl_db_bind_text(st, 7, a->ima_policy)) < 0 ||
            (r = kl_db_bind_text(st, 8, a->mb_policy)) < 0 ||
            (r = kl_db_bind_text(st, 9, a->v)) < 0 || (r = kl_db_run(st)) < 0)
                goto out;
        r = 0;
out:
        kl_db_finish(st);
        /* a new record starts without attested PCRs: seal waits for its first good quote */
        if (r == 0 && (r = kl_db_run_with(s->db, "DELETE FROM last_good WHERE agent_id = ?",
                                          a->agent_id)) > 0)
                r = 0;
        atomic_fetch_add(&s->changes, 1); /* after last_good went: the poller starts afresh */
        return r;
}

int ver_store_delete(struct ver_store *s, const char *agent_id)
{
        int r = kl_db_run_with(s->db, "DELETE FROM agents WHERE agent_id = ?", agent_id);

        if (r < 0)
                return r;
        if (r == 0)
                return KL_ERR_NOT_FOUND;
        r = kl_db_run_with(s->db, "DELETE FROM last_good WHERE agent_id = ?", agent_id);
        atomic_fetch_add(&s->changes, 1);
        return r < 0 ? r : 0;
}

static const char last_good_sql[] =
    "INSERT OR REPLACE INTO last_good (agent_id, at, pcrblob, clock, reset_count, "
    "restart_count, ima_alg, ima_pcr10, ima_entries) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* Binds and runs last_good_sql on st. */
static int run_last_good(struct kl_db_stmt *st, const char *agent_id, const struct ver_last_good *g)
{
        uint8_t *blob = NULL;
        size_t len = 0;
        int r;

        /* SQLite integers are signed: a TPM clock or entry count past 2^63 cannot be kept */
        if (g->clock > INT64_MAX || (g->has_ima && g->ima.entries > INT64_MAX))
                return KL_ERR_TOO_LONG;
        if ((r = kl_pcrblob_encode(&g->pcrs, &blob, &len)) < 0)
                goto out;
        if ((r = kl_db_bind_text(st, 1, agent_id)) < 0 ||
            (r = kl_db_bind_int64(st, 2, g->at)) < 0 ||
            (r = kl_db_bind_blob(st, 3, blob, len)) < 0 ||
            (r = kl_db_bind_int64(st, 4, (int64_t)g->clock)) < 0 ||
            (r = kl_db_bind_int64(st, 5, g->reset_count)) < 0 ||
            (r = kl_db_bind_int64(st, 6, g->restart_count)) < 0)
                goto out;
        if (g->has_ima ? (r = kl_db_bind_int64(st, 7, g->ima.bank_alg)) < 0 ||
                             (r = kl_db_bind_blob(st, 8, g->ima.pcr10, g->ima.digest_len)) < 0 ||
                             (r = kl_db_bind_int64(st, 9, (int64_t)g->ima.entries)) < 0
                       : (r = kl_db_bind_null(st, 7)) < 0 || (r = kl_db_bind_null(st, 8)) < 0 ||
                             (r = kl_db_bind_null(st, 9)) < 0)
                goto out;
        if ((r = kl_db_run(st)) < 0)
                goto out;
        r = 0;
out:
        free(blob);
        return r;
}

int ver_store_set_last_good(struct ver_store *s, const char *agent_id,
                            const struct ver_last_good *g)
{
        struct kl_db_stmt *st = NULL;
        int r;

        if ((r = kl_db_prepare(s->db, last_good_sql, &st)) == 0)
                r = run_last_good(st, agent_id, g);
        kl_db_finish(st);
        return r;
}

/* Columns 5-7 of last_good into g->ima; a stored digest must fit its bank. */
static int column_ima(struct kl_db_stmt *st, struct ver_last_good *g)
{
        uint8_t *pcr10 = NULL;
        size_t len = 0;
        int64_t entries;
        int r;

        g->has_ima = !kl_db_column_is_null(st, 5);
        if (!g->has_ima)
                return 0;
        kl_ima_replay_init(&g->ima, (uint16_t)kl_db_column_int64(st, 5));
        entries = kl_db_column_int64(st, 7);
        if ((r = kl_db_column_dup_blob(st, 6, &pcr10, &len)) < 0)
                return r;
        r = KL_ERR_DB;
        if (pcr10 != NULL && g->ima.digest_len != 0 && len == g->ima.digest_len && entries >= 0) {
                memcpy(g->ima.pcr10, pcr10, len);
                g->ima.entries = (uint64_t)entries;
                r = 0;
        }
        free(pcr10);
        return r;
}

int ver_store_get_last_good(struct ver_store *s, const char *agent_id, struct ver_last_good *ret)
{
        static const char sql[] = "SELECT at, pcrblob, clock, reset_count, restart_count, "
                                  "ima_alg, ima_pcr10, ima_entries FROM last_good "
                                  "WHERE agent_id = ?";
        struct ver_last_good g = {0};
        struct kl_db_stmt *st = NULL;
        uint8_t *blob = NULL;
        size_t len = 0;
        int r;

        if ((r = kl_db_get_row(s->db, sql, agent_id, &st)) < 0)
                goto out;
        if ((r = kl_db_column_dup_blob(st, 1, &blob, &len)) < 0)
                goto out;
        g.at = kl_db_column_int64(st, 0);
        g.clock = (uint64_t)kl_db_column_int64(st, 2);
        g.reset_count = (uint32_t)kl_db_column_int64(st, 3);
        g.restart_count = (uint32_t)kl_db_column_int64(st, 4);
        if (blob == NULL || (r = kl_pcrblob_decode(blob, len, &g.pcrs)) < 0 ||
            (r = column_ima(st, &g)) < 0) {
                r = r < 0 ? r : KL_ERR_DB;
                goto out;
        }
        *ret = g;
        r = 0;
out:
        kl_db_finish(st);
        free(blob);
        return r;
}

static const char status_sql[] = "UPDATE agents SET state = ?, attestation_count = ?, "
                                 "last_failure = ?, last_success = ?, api_version = ? "
                                 "WHERE agent_id = ? AND gen = ?";

/* Binds and runs status_sql on st; KL_ERR_NOT_FOUND when no record of that gen. */
static int run_status(struct kl_db_stmt *st, const char *agent_id, int64_t gen, const char *state,
                      int64_t attestation_count, const char *last_failure, int64_t last_success,
                      const char *api_version)
{
        int r;

        if ((r = kl_db_bind_text(st, 1, state)) < 0 ||
            (r = kl_db_bind_int64(st, 2, attestation_count)) < 0 ||
            (r = kl_db_bind_text(st, 3, last_failure)) < 0 ||
            (r = kl_db_bind_int64(st, 4, last_success)) < 0 ||
            (r = kl_db_bind_text(st, 5, api_version)) < 0 ||
            (r = kl_db_bind_text(st, 6, agent_id)) < 0 || (r = kl_db_bind_int64(st, 7, gen)) < 0 ||
            (r = kl_db_run(st)) < 0)
                return r;
        return r > 0 ? 0 : KL_ERR_NOT_FOUND;
}

int ver_store_set_status(struct ver_store *s, const char *agent_id, int64_t gen, const char *state,
                         int64_t attestation_count, const char *last_failure, int64_t last_success,
                         const char *api_version)
{
        struct kl_db_stmt *st = NULL;
        int r;

        if ((r = kl_db_prepare(s->db, status_sql, &st)) == 0)
                r = run_status(st, agent_id, gen, state, attestation_count, last_failure,
                               last_success, api_version);
        kl_db_finish(st);
        return r;
}

int ver_store_write_batch(struct ver_store *s, const struct ver_status_update *u, size_t n)
{
        struct kl_db_stmt *status = NULL, *good = NULL;
        int r, rc;

        if (n == 0)
                return 0;
        if ((r = kl_db_begin(s->db)) < 0)
                return r;
        if ((r = kl_db_prepare(s->db, status_sql, &status)) < 0 ||
            (r = kl_db_prepare(s->db, last_good_sql, &good)) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                rc = run_status(status, u[i].agent_id, u[i].gen, u[i].state, u[i].attestation_count,
                                u[i].last_failure, u[i].last_success,
                                u[i].api_version[0] != '\0' ? u[i].api_version : NULL);
                if (rc == 0 && u[i].last_good != NULL)
                        rc = run_last_good(good, u[i].agent_id, u[i].last_good);
                if (rc < 0 && rc != KL_ERR_NOT_FOUND)
                        r = rc; /* the others still go in */
                if ((rc = kl_db_reset(status)) < 0 || (rc = kl_db_reset(good)) < 0) {
                        r = rc;
                        goto out;
                }
        }
out:
        kl_db_finish(good);
        kl_db_finish(status);
        rc = kl_db_commit(s->db);
        return r < 0 ? r : rc;
}

uint64_t ver_store_changes(struct ver_store *s)
{
        return atomic_load(&s->changes);
}

void ver_store_gens_free(struct ver_store_gen *g, size_t n)
{
        for (size_t i = 0; g != NULL && i < n; i++)
                free(g[i].agent_id);
        free(g);
}

int ver_store_list_gens(struct ver_store *s, struct ver_store_gen **ret, size_t *ret_count)
{
        struct kl_db_stmt *st = NULL;
        struct ver_store_gen *g = NULL;
        size_t n = 0, cap = 0;
        int r;

        if ((r = kl_db_prepare(s->db, "SELECT agent_id, gen FROM agents ORDER BY agent_id", &st)) <
            0)
                goto out;
        while ((r = kl_db_step(st)) == 1) {
                if (n == cap) {
                        size_t ncap = cap != 0 ? cap * 2 : 64;
                        struct ver_store_gen *ng = reallocarray(g, ncap, sizeof(*g));

                        if (ng == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        g = ng;
                        cap = ncap;
                }
                if ((r = kl_db_column_dup_text(st, 0, &g[n].agent_id)) < 0)
                        goto out;
                if (g[n].agent_id == NULL)
                        continue;
                g[n++].gen = kl_db_column_int64(st, 1);
        }
        if (r < 0)
                goto out;
        *ret = g;
        *ret_count = n;
        g = NULL;
        n = 0;
        r = 0;
out:
        kl_db_finish(st);
        ver_store_gens_free(g, n);
        return r;
}

int ver_store_list(struct ver_store *s, char ***ret_ids, size_t *ret_count)
{
        return kl_db_list_text(s->db, "SELECT agent_id FROM agents ORDER BY rowid", ret_ids,
                               ret_count);
}
