/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite persistence for the registrar stub: one table on lib/store/db.c, which
 * owns the connection, its mutex (the HTTP thread pool shares it) and the
 * logging of SQLite errors.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "db.h"
#include "err.h"

struct reg_store {
        struct kl_db *db;
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
                                 "regcount INTEGER NOT NULL DEFAULT 0, "
                                 "platform TEXT)";

int reg_store_open(const char *path, struct reg_store **ret)
{
        struct reg_store *s = NULL;
        int r = KL_ERR_NOMEM;

        if ((s = calloc(1, sizeof(*s))) == NULL)
                goto out;
        /* a database made before platform certificates lacks their column */
        if ((r = kl_db_open(path, schema_sql, &s->db)) < 0 ||
            (r = kl_db_add_column(s->db, "agents", "platform", "TEXT")) < 0)
                goto out;
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
        kl_db_close(s->db);
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
        free(a->platform);
        if (a->key != NULL)
                kl_secure_free(a->key, strlen(a->key));
        free(a);
}

int reg_store_get(struct reg_store *s, const char *agent_id, struct reg_agent **ret)
{
        static const char sql[] =
            "SELECT agent_id, ek_tpm, ekcert, aik_tpm, mtls_cert, ip, "
            "port, key, active, regcount, platform FROM agents WHERE agent_id = ?";
        struct kl_db_stmt *st = NULL;
        struct reg_agent *a = NULL;
        int r;

        if ((r = kl_db_get_row(s->db, sql, agent_id, &st)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((a = calloc(1, sizeof(*a))) == NULL)
                goto out;
        if (kl_db_column_dup_text(st, 0, &a->agent_id) < 0 ||
            kl_db_column_dup_blob(st, 1, &a->ek_tpm, &a->ek_tpm_len) < 0 ||
            kl_db_column_dup_blob(st, 2, &a->ekcert, &a->ekcert_len) < 0 ||
            kl_db_column_dup_blob(st, 3, &a->aik_tpm, &a->aik_tpm_len) < 0 ||
            kl_db_column_dup_text(st, 4, &a->mtls_cert) < 0 ||
            kl_db_column_dup_text(st, 5, &a->ip) < 0 || kl_db_column_dup_text(st, 7, &a->key) < 0 ||
            kl_db_column_dup_text(st, 10, &a->platform) < 0)
                goto out;
        a->port = kl_db_column_is_null(st, 6) ? -1 : kl_db_column_int64(st, 6);
        a->active = kl_db_column_int64(st, 8) != 0;
        a->regcount = kl_db_column_int64(st, 9);
        if (a->agent_id == NULL) {
                r = KL_ERR_DB;
                goto out;
        }
        *ret = a;
        a = NULL;
        r = 0;
out:
        kl_db_finish(st);
        reg_agent_free(a);
        return r;
}

int reg_store_put(struct reg_store *s, const struct reg_agent *a)
{
        static const char sql[] = "INSERT OR REPLACE INTO agents (agent_id, ek_tpm, ekcert, "
                                  "aik_tpm, mtls_cert, ip, port, key, active, regcount, platform) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
        struct kl_db_stmt *st = NULL;
        int r;

        if ((r = kl_db_prepare(s->db, sql, &st)) < 0)
                goto out;
        if ((r = kl_db_bind_text(st, 1, a->agent_id)) < 0 ||
            (r = kl_db_bind_blob(st, 2, a->ek_tpm, a->ek_tpm_len)) < 0 ||
            (r = kl_db_bind_blob(st, 3, a->ekcert, a->ekcert_len)) < 0 ||
            (r = kl_db_bind_blob(st, 4, a->aik_tpm, a->aik_tpm_len)) < 0 ||
            (r = kl_db_bind_text(st, 5, a->mtls_cert)) < 0 ||
            (r = kl_db_bind_text(st, 6, a->ip)) < 0 ||
            (r = a->port < 0 ? kl_db_bind_null(st, 7) : kl_db_bind_int64(st, 7, a->port)) < 0 ||
            (r = kl_db_bind_text(st, 8, a->key)) < 0 ||
            (r = kl_db_bind_int64(st, 9, a->active ? 1 : 0)) < 0 ||
            (r = kl_db_bind_int64(st, 10, a->regcount)) < 0 ||
            (r = kl_db_bind_text(st, 11, a->platform)) < 0 || (r = kl_db_run(st)) < 0)
                goto out;
        r = 0;
out:
        kl_db_finish(st);
        return r;
}

/* 0 when a statement on one agent changed its row, KL_ERR_NOT_FOUND when there was none. */
static int changed_one(int r)
{
        return r < 0 ? r : r > 0 ? 0 : KL_ERR_NOT_FOUND;
}

int reg_store_set_active(struct reg_store *s, const char *agent_id, bool active)
{
        return changed_one(kl_db_run_with(s->db,
                                          active
                                              ? "UPDATE agents SET active = 1 WHERE agent_id = ?"
                                              : "UPDATE agents SET active = 0 WHERE agent_id = ?",
                                          agent_id));
}

int reg_store_delete(struct reg_store *s, const char *agent_id)
{
        return changed_one(
            kl_db_run_with(s->db, "DELETE FROM agents WHERE agent_id = ?", agent_id));
}

int reg_store_list(struct reg_store *s, char ***ret_ids, size_t *ret_count)
{
        return kl_db_list_text(s->db, "SELECT agent_id FROM agents ORDER BY rowid", ret_ids,
                               ret_count);
}
