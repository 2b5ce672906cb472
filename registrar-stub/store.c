/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite persistence for the registrar stub: one table, prepared statements
 * only, one connection guarded by a mutex (the HTTP thread pool shares it).
 * Errors are logged here once with sqlite's message and become KL_ERR_DB.
 */
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "log.h"

struct reg_store {
        sqlite3 *db;
        pthread_mutex_t lock;
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS agents ("
                                 "agent_id TEXT PRIMARY KEY, "
                                 "ek_tpm BLOB, "
                                 "ekcert BLOB, "
                                 "aik_tpm BLOB, "
                                 "mtls_cert TEXT, "
                                 "ip TEXT, "
                                 "port INTEGER, "
                                 "key TEXT, "
                                 "active INTEGER NOT NULL DEFAULT 0, "
                                 "regcount INTEGER NOT NULL DEFAULT 0)";

static int db_err(struct reg_store *s, const char *what)
{
        log_error("sqlite %s: %s", what, sqlite3_errmsg(s->db));
        return KL_ERR_DB;
}

int reg_store_open(const char *path, struct reg_store **ret)
{
        struct reg_store *s = NULL;
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
        reg_store_close(s);
        return r;
}

void reg_store_close(struct reg_store *s)
{
        if (s == NULL)
                return;
        sqlite3_close_v2(s->db); /* NULL-safe; every statement is finalised after use */
        pthread_mutex_destroy(&s->lock);
        free(s);
}

void reg_agent_free(struct reg_agent *a)
{
        if (a == NULL)
                return;
        free(a->agent_id);
        free(a->ek_tpm);
        free(a->ekcert);
        free(a->aik_tpm);
        free(a->mtls_cert);
        free(a->ip);
        if (a->key != NULL)
                kl_secure_free(a->key, strlen(a->key));
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

int reg_store_get(struct reg_store *s, const char *agent_id, struct reg_agent **ret)
{
        static const char sql[] = "SELECT agent_id, ek_tpm, ekcert, aik_tpm, mtls_cert, ip, "
                                  "port, key, active, regcount FROM agents WHERE agent_id = ?";
        sqlite3_stmt *st = NULL;
        struct reg_agent *a = NULL;
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
        if (dup_text(st, 0, &a->agent_id) < 0 || dup_blob(st, 1, &a->ek_tpm, &a->ek_tpm_len) < 0 ||
            dup_blob(st, 2, &a->ekcert, &a->ekcert_len) < 0 ||
            dup_blob(st, 3, &a->aik_tpm, &a->aik_tpm_len) < 0 ||
            dup_text(st, 4, &a->mtls_cert) < 0 || dup_text(st, 5, &a->ip) < 0 ||
            dup_text(st, 7, &a->key) < 0)
                goto out;
        a->port = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 6);
        a->active = sqlite3_column_int(st, 8) != 0;
        a->regcount = sqlite3_column_int64(st, 9);
        if (a->agent_id == NULL) {
                r = KL_ERR_DB;
                goto out;
        }
        *ret = a;
        a = NULL;
        r = 0;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        reg_agent_free(a);
        return r;
}

static int bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t len)
{
        if (p == NULL)
                return sqlite3_bind_null(st, i);
        if (len > (size_t)INT32_MAX)
                return SQLITE_TOOBIG;
        return sqlite3_bind_blob(st, i, p, (int)len, SQLITE_STATIC);
}

static int bind_text(sqlite3_stmt *st, int i, const char *p)
{
        if (p == NULL)
                return sqlite3_bind_null(st, i);
        return sqlite3_bind_text(st, i, p, -1, SQLITE_STATIC);
}

int reg_store_put(struct reg_store *s, const struct reg_agent *a)
{
        static const char sql[] = "INSERT OR REPLACE INTO agents (agent_id, ek_tpm, ekcert, "
                                  "aik_tpm, mtls_cert, ip, port, key, active, regcount) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        sqlite3_stmt *st = NULL;
        int r = KL_ERR_DB;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = db_err(s, "prepare insert");
                goto out;
        }
        if (bind_text(st, 1, a->agent_id) != SQLITE_OK ||
            bind_blob(st, 2, a->ek_tpm, a->ek_tpm_len) != SQLITE_OK ||
            bind_blob(st, 3, a->ekcert, a->ekcert_len) != SQLITE_OK ||
            bind_blob(st, 4, a->aik_tpm, a->aik_tpm_len) != SQLITE_OK ||
            bind_text(st, 5, a->mtls_cert) != SQLITE_OK || bind_text(st, 6, a->ip) != SQLITE_OK ||
            (a->port < 0 ? sqlite3_bind_null(st, 7) : sqlite3_bind_int64(st, 7, a->port)) !=
                SQLITE_OK ||
            bind_text(st, 8, a->key) != SQLITE_OK ||
            sqlite3_bind_int(st, 9, a->active ? 1 : 0) != SQLITE_OK ||
            sqlite3_bind_int64(st, 10, a->regcount) != SQLITE_OK) {
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

/* Runs a one-parameter UPDATE/DELETE; KL_ERR_NOT_FOUND when no row changed. */
static int exec_on_id(struct reg_store *s, const char *sql, const char *agent_id, int flag,
                      bool bind_flag)
{
        sqlite3_stmt *st = NULL;
        int r = KL_ERR_DB;

        pthread_mutex_lock(&s->lock);
        if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
                r = db_err(s, "prepare");
                goto out;
        }
        if ((bind_flag && sqlite3_bind_int(st, 1, flag) != SQLITE_OK) ||
            sqlite3_bind_text(st, bind_flag ? 2 : 1, agent_id, -1, SQLITE_STATIC) != SQLITE_OK) {
                r = db_err(s, "bind");
                goto out;
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
                r = db_err(s, "step");
                goto out;
        }
        r = sqlite3_changes(s->db) > 0 ? 0 : KL_ERR_NOT_FOUND;
out:
        sqlite3_finalize(st);
        pthread_mutex_unlock(&s->lock);
        return r;
}

int reg_store_set_active(struct reg_store *s, const char *agent_id, bool active)
{
        return exec_on_id(s, "UPDATE agents SET active = ? WHERE agent_id = ?", agent_id,
                          active ? 1 : 0, true);
}

int reg_store_delete(struct reg_store *s, const char *agent_id)
{
        return exec_on_id(s, "DELETE FROM agents WHERE agent_id = ?", agent_id, 0, false);
}

static void free_ids(char **ids, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(ids[i]);
        free(ids);
}

int reg_store_list(struct reg_store *s, char ***ret_ids, size_t *ret_count)
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
