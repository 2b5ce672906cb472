/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite persistence for the verifier stub: one table, prepared statements
 * only, one connection guarded by a mutex. Errors are logged here once with
 * sqlite's message and become KL_ERR_DB.
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

struct ver_store {
        sqlite3 *db;
        pthread_mutex_t lock;
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
                                 "api_version TEXT)";

static int db_err(struct ver_store *s, const char *what)
{
        log_error("sqlite %s: %s", what, sqlite3_errmsg(s->db));
        return KL_ERR_DB;
}

int ver_store_open(const char *path, struct ver_store **ret)
{
        struct ver_store *s = NULL;
        char *errmsg = NULL;
        int r = KL_ERR_NOMEM;

        if ((s = calloc(1, sizeof(*s))) == NULL)
                goto out;
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
                free(s);
                s = NULL;
                r = KL_ERR_SYSTEM;
                goto out;
        }
        if (sqlite3_open_v2(path, &s->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL) != SQLITE_OK) {
                log_error("cannot open database '%.200s': %s", path,
                          s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
                r = KL_ERR_DB;
                goto out;
        }
        sqlite3_busy_timeout(s->db, 5000);
        if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &errmsg) != SQLITE_OK) {
                log_error("cannot create schema in '%.200s': %s", path,
                          errmsg != NULL ? errmsg : "?");
                sqlite3_free(errmsg);
                r = KL_ERR_DB;
                goto out;
        }
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
        sqlite3_close_v2(s->db);
        pthread_mutex_destroy(&s->lock);
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
        free(a);
}

static int dup_blob(sqlite3_stmt *st, int col, uint8_t **ret, size_t *ret_len)
{
        const void *p = sqlite3_column_blob(st, col);
        int n = sqlite3_column_bytes(st, col);

        *ret = NULL;
        *ret_len = 0;
        if (p == NULL || n <= 0)
                return 0;
        if ((*ret = malloc((size_t)n)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(*ret, p, (size_t)n);
        *ret_len = (size_t)n;
        return 0;
}

static int dup_text(sqlite3_stmt *st, int col, char **ret)
{
        const unsigned char *p = sqlite3_column_text(st, col);

        *ret = NULL;
        if (p == NULL)
                return 0;
        if ((*ret = strdup((const char *)p)) == NULL)
                return KL_ERR_NOMEM;
        return 0;
}

int ver_store_get(struct ver_store *s, const char *agent_id, struct ver_agent **ret)
{
        static const char sql[] =
            "SELECT agent_id, ip, port, aik_tpm, mtls_cert, tpm_policy, ima_policy, mb_policy, "
            "gen, state, attestation_count, last_failure, last_success, api_version "
            "FROM agents WHERE agent_id = ?";
        sqlite3_stmt *st = NULL;
        struct ver_agent *a = NULL;
        int r = KL_ERR_DB;
        int rc;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = db_err(s, "prepare select");
                goto out;
        }
        if (sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC) != SQLITE_OK) {
                r = db_err(s, "bind");
                goto out;
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE) {
                r = KL_ERR_NOT_FOUND;
                goto out;
        }
        if (rc != SQLITE_ROW) {
                r = db_err(s, "select");
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((a = calloc(1, sizeof(*a))) == NULL)
                goto out;
        if (dup_text(st, 0, &a->agent_id) < 0 || dup_text(st, 1, &a->ip) < 0 ||
            dup_blob(st, 3, &a->aik_tpm, &a->aik_tpm_len) < 0 ||
            dup_text(st, 4, &a->mtls_cert) < 0 || dup_text(st, 5, &a->tpm_policy) < 0 ||
            dup_text(st, 6, &a->ima_policy) < 0 || dup_text(st, 7, &a->mb_policy) < 0 ||
            dup_text(st, 9, &a->state) < 0 || dup_text(st, 11, &a->last_failure) < 0 ||
            dup_text(st, 13, &a->api_version) < 0)
                goto out;
        a->port = sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
        a->gen = sqlite3_column_int64(st, 8);
        a->attestation_count = sqlite3_column_int64(st, 10);
        a->last_success = sqlite3_column_int64(st, 12);
        if (a->agent_id == NULL || a->tpm_policy == NULL || a->state == NULL) {
                r = KL_ERR_DB;
                goto out;
        }
        *ret = a;
        a = NULL;
        r = 0;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        ver_agent_free(a);
        return r;
}

static int bind_text(sqlite3_stmt *st, int i, const char *p)
{
        if (p == NULL)
                return sqlite3_bind_null(st, i);
        return sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
}

int ver_store_add(struct ver_store *s, const struct ver_agent *a)
{
        static const char sql[] =
            "INSERT OR REPLACE INTO agents (agent_id, ip, port, aik_tpm, mtls_cert, tpm_policy, "
            "ima_policy, mb_policy, gen, state, attestation_count, last_failure, last_success, "
            "api_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "(SELECT COALESCE(MAX(gen), 0) + 1 FROM agents), 'Start', 0, NULL, 0, NULL)";
        sqlite3_stmt *st = NULL;
        int r = KL_ERR_DB;

        if (a->aik_tpm_len > (size_t)INT32_MAX)
                return KL_ERR_TOO_LONG;
        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = db_err(s, "prepare insert");
                goto out;
        }
        if (bind_text(st, 1, a->agent_id) != SQLITE_OK || bind_text(st, 2, a->ip) != SQLITE_OK ||
            (a->port < 0 ? sqlite3_bind_null(st, 3) : sqlite3_bind_int64(st, 3, a->port)) !=
                SQLITE_OK ||
            sqlite3_bind_blob(st, 4, a->aik_tpm, (int)a->aik_tpm_len, SQLITE_STATIC) != SQLITE_OK ||
            bind_text(st, 5, a->mtls_cert) != SQLITE_OK ||
            bind_text(st, 6, a->tpm_policy) != SQLITE_OK ||
            bind_text(st, 7, a->ima_policy) != SQLITE_OK ||
            bind_text(st, 8, a->mb_policy) != SQLITE_OK) {
                r = db_err(s, "bind");
                goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
                r = db_err(s, "insert");
                goto out;
        }
        r = 0;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int ver_store_delete(struct ver_store *s, const char *agent_id)
{
        sqlite3_stmt *st = NULL;
        int r = KL_ERR_DB;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, "DELETE FROM agents WHERE agent_id = ?", -1, &st, NULL) !=
            SQLITE_OK) {
                r = db_err(s, "prepare delete");
                goto out;
        }
        if (sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_STATIC) != SQLITE_OK) {
                r = db_err(s, "bind");
                goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
                r = db_err(s, "delete");
                goto out;
        }
        r = sqlite3_changes(s->db) > 0 ? 0 : KL_ERR_NOT_FOUND;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int ver_store_set_status(struct ver_store *s, const char *agent_id, int64_t gen, const char *state,
                         int64_t attestation_count, const char *last_failure, int64_t last_success,
                         const char *api_version)
{
        static const char sql[] = "UPDATE agents SET state = ?, attestation_count = ?, "
                                  "last_failure = ?, last_success = ?, api_version = ? "
                                  "WHERE agent_id = ? AND gen = ?";
        sqlite3_stmt *st = NULL;
        int r = KL_ERR_DB;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = db_err(s, "prepare update");
                goto out;
        }
        if (bind_text(st, 1, state) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, attestation_count) != SQLITE_OK ||
            bind_text(st, 3, last_failure) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, last_success) != SQLITE_OK ||
            bind_text(st, 5, api_version) != SQLITE_OK || bind_text(st, 6, agent_id) != SQLITE_OK ||
            sqlite3_bind_int64(st, 7, gen) != SQLITE_OK) {
                r = db_err(s, "bind");
                goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
                r = db_err(s, "update");
                goto out;
        }
        r = sqlite3_changes(s->db) > 0 ? 0 : KL_ERR_NOT_FOUND;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

static void free_ids(char **ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}

int ver_store_list(struct ver_store *s, char ***ret_ids, size_t *ret_count)
{
        sqlite3_stmt *st = NULL;
        char **ids = NULL;
        size_t n = 0;
        size_t cap = 0;
        int r = KL_ERR_DB;
        int rc;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, "SELECT agent_id FROM agents ORDER BY rowid", -1, &st,
                               NULL) != SQLITE_OK) {
                r = db_err(s, "prepare list");
                goto out;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const unsigned char *id = sqlite3_column_text(st, 0);

                if (id == NULL)
                        continue;
                if (n == cap) {
                        size_t ncap = cap != 0 ? cap * 2 : 16;
                        char **nids = reallocarray(ids, ncap, sizeof(*ids));

                        if (nids == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        ids = nids;
                        cap = ncap;
                }
                if ((ids[n] = strdup((const char *)id)) == NULL) {
                        r = KL_ERR_NOMEM;
                        goto out;
                }
                n++;
        }
        if (rc != SQLITE_DONE) {
                r = db_err(s, "list");
                goto out;
        }
        *ret_ids = ids;
        *ret_count = n;
        ids = NULL;
        n = 0;
        r = 0;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        free_ids(ids, n);
        return r;
}
