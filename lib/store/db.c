/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQLite behind kl_db (see db.h): the registrar and verifier stubs' stores
 * share this open/lock/prepare/bind/step/column code instead of each
 * carrying its own copy. The only file that includes sqlite3.h.
 */
#include "db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

struct kl_db {
        sqlite3 *db;
        pthread_mutex_t lock;
};

struct kl_db_stmt {
        struct kl_db *db;
        sqlite3_stmt *st;
};

static int db_err(struct kl_db *db, const char *what)
{
        log_error("sqlite %s: %s", what, sqlite3_errmsg(db->db));
        return KL_ERR_DB;
}

/* Recursive: a batch holds the lock from kl_db_begin to kl_db_commit around its statements. */
static int init_lock(pthread_mutex_t *lock)
{
        pthread_mutexattr_t attr;
        int rc;

        if (pthread_mutexattr_init(&attr) != 0)
                return -1;
        rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
        if (rc == 0)
                rc = pthread_mutex_init(lock, &attr);
        pthread_mutexattr_destroy(&attr);
        return rc;
}

int kl_db_open(const char *path, const char *schema_sql, struct kl_db **ret)
{
        struct kl_db *db = NULL;
        char *errmsg = NULL;
        int r = KL_ERR_NOMEM;

        if ((db = calloc(1, sizeof(*db))) == NULL)
                goto out;
        if (init_lock(&db->lock) != 0) {
                free(db);
                db = NULL;
                r = KL_ERR_SYSTEM;
                goto out;
        }
        if (sqlite3_open_v2(path, &db->db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            NULL) != SQLITE_OK) {
                log_error("cannot open database '%.200s': %s", path,
                          db->db != NULL ? sqlite3_errmsg(db->db) : "out of memory");
                r = KL_ERR_DB;
                goto out;
        }
        sqlite3_busy_timeout(db->db, 5000);
        /* A stub's state is cheap to rebuild (agents re-register, tenants re-add):
         * WAL with NORMAL sync keeps it consistent on a crash without an fsync per
         * request, which dominated a registration (measured 7.8 ms on disk). */
        (void)sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL,
                           NULL, NULL);
        if (sqlite3_exec(db->db, schema_sql, NULL, NULL, &errmsg) != SQLITE_OK) {
                log_error("cannot create schema in '%.200s': %s", path,
                          errmsg != NULL ? errmsg : "?");
                sqlite3_free(errmsg);
                r = KL_ERR_DB;
                goto out;
        }
        *ret = db;
        db = NULL;
        r = 0;
out:
        kl_db_close(db);
        return r;
}

void kl_db_close(struct kl_db *db)
{
        if (db == NULL)
                return;
        sqlite3_close_v2(db->db); /* NULL-safe; every statement is finalised after use */
        pthread_mutex_destroy(&db->lock);
        free(db);
}

int kl_db_prepare(struct kl_db *db, const char *sql, struct kl_db_stmt **ret)
{
        struct kl_db_stmt *st;

        if ((st = calloc(1, sizeof(*st))) == NULL)
                return KL_ERR_NOMEM;
        st->db = db;
        pthread_mutex_lock(&db->lock);
        if (sqlite3_prepare_v2(db->db, sql, -1, &st->st, NULL) != SQLITE_OK) {
                int r = db_err(db, "prepare");

                kl_db_finish(st);
                return r;
        }
        *ret = st;
        return 0;
}

void kl_db_finish(struct kl_db_stmt *st)
{
        if (st == NULL)
                return;
        sqlite3_finalize(st->st); /* NULL-safe */
        pthread_mutex_unlock(&st->db->lock);
        free(st);
}

int kl_db_begin(struct kl_db *db)
{
        pthread_mutex_lock(&db->lock);
        if (sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
                int r = db_err(db, "begin");

                pthread_mutex_unlock(&db->lock);
                return r;
        }
        return 0;
}

int kl_db_commit(struct kl_db *db)
{
        int r = 0;

        if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
                r = db_err(db, "commit");
                (void)sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        }
        pthread_mutex_unlock(&db->lock);
        return r;
}

int kl_db_reset(struct kl_db_stmt *st)
{
        if (sqlite3_reset(st->st) != SQLITE_OK || sqlite3_clear_bindings(st->st) != SQLITE_OK)
                return db_err(st->db, "reset");
        return 0;
}

/* One place turns a bind result into KL_ERR_DB, so callers can chain binds with ||. */
static int bind_result(struct kl_db_stmt *st, int rc)
{
        return rc == SQLITE_OK ? 0 : db_err(st->db, "bind");
}

int kl_db_bind_null(struct kl_db_stmt *st, int i)
{
        return bind_result(st, sqlite3_bind_null(st->st, i));
}

int kl_db_bind_int64(struct kl_db_stmt *st, int i, int64_t v)
{
        return bind_result(st, sqlite3_bind_int64(st->st, i, v));
}

int kl_db_bind_text(struct kl_db_stmt *st, int i, const char *s)
{
        if (s == NULL)
                return kl_db_bind_null(st, i);
        return bind_result(st, sqlite3_bind_text(st->st, i, s, -1, SQLITE_STATIC));
}

int kl_db_bind_blob(struct kl_db_stmt *st, int i, const uint8_t *p, size_t len)
{
        if (p == NULL)
                return kl_db_bind_null(st, i);
        if (len > (size_t)INT32_MAX)
                return KL_ERR_TOO_LONG;
        return bind_result(st, sqlite3_bind_blob(st->st, i, p, (int)len, SQLITE_STATIC));
}

int kl_db_step(struct kl_db_stmt *st)
{
        int rc = sqlite3_step(st->st);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return db_err(st->db, "step");
}

int kl_db_run(struct kl_db_stmt *st)
{
        if (sqlite3_step(st->st) != SQLITE_DONE)
                return db_err(st->db, "step");
        return sqlite3_changes(st->db->db); /* ours: the mutex is held until kl_db_finish */
}

int kl_db_get_row(struct kl_db *db, const char *sql, const char *key, struct kl_db_stmt **ret)
{
        struct kl_db_stmt *st = NULL;
        int r;

        if ((r = kl_db_prepare(db, sql, &st)) < 0)
                return r;
        if ((r = kl_db_bind_text(st, 1, key)) < 0 || (r = kl_db_step(st)) <= 0) {
                kl_db_finish(st);
                return r == 0 ? KL_ERR_NOT_FOUND : r;
        }
        *ret = st;
        return 0;
}

int kl_db_run_with(struct kl_db *db, const char *sql, const char *key)
{
        struct kl_db_stmt *st = NULL;
        int r;

        if ((r = kl_db_prepare(db, sql, &st)) == 0 && (r = kl_db_bind_text(st, 1, key)) == 0)
                r = kl_db_run(st);
        kl_db_finish(st);
        return r;
}

int kl_db_add_column(struct kl_db *db, const char *table, const char *column, const char *decl)
{
        struct kl_db_stmt *st = NULL;
        char *sql = NULL;
        int r;

        /* pragma_table_info takes the table as a bound value; ALTER TABLE cannot */
        if ((r = kl_db_prepare(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", &st)) < 0)
                return r;
        if ((r = kl_db_bind_text(st, 1, table)) == 0 && (r = kl_db_bind_text(st, 2, column)) == 0)
                r = kl_db_step(st);
        kl_db_finish(st);
        if (r != 0) /* present (1), or an error */
                return r < 0 ? r : 0;
        if (asprintf(&sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, decl) < 0)
                return KL_ERR_NOMEM;
        st = NULL;
        if ((r = kl_db_prepare(db, sql, &st)) == 0)
                r = kl_db_run(st);
        kl_db_finish(st);
        free(sql);
        return r < 0 ? r : 0;
}

bool kl_db_column_is_null(struct kl_db_stmt *st, int col)
{
        return sqlite3_column_type(st->st, col) == SQLITE_NULL;
}

int64_t kl_db_column_int64(struct kl_db_stmt *st, int col)
{
        return sqlite3_column_int64(st->st, col);
}

int kl_db_column_dup_text(struct kl_db_stmt *st, int col, char **ret)
{
        const unsigned char *p = sqlite3_column_text(st->st, col);

        *ret = NULL;
        if (p == NULL)
                return 0;
        if ((*ret = strdup((const char *)p)) == NULL)
                return KL_ERR_NOMEM;
        return 0;
}

int kl_db_column_dup_blob(struct kl_db_stmt *st, int col, uint8_t **ret, size_t *ret_len)
{
        const void *p = sqlite3_column_blob(st->st, col);
        int n = sqlite3_column_bytes(st->st, col);

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

void kl_db_strv_free(char **strv, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(strv[i]);
        free(strv);
}

int kl_db_list_text(struct kl_db *db, const char *sql, char ***ret_strv, size_t *ret_count)
{
        struct kl_db_stmt *st = NULL;
        char **v = NULL;
        size_t n = 0;
        size_t cap = 0;
        int r;

        if ((r = kl_db_prepare(db, sql, &st)) < 0)
                goto out;
        while ((r = kl_db_step(st)) == 1) {
                char *s = NULL;

                if ((r = kl_db_column_dup_text(st, 0, &s)) < 0)
                        goto out;
                if (s == NULL)
                        continue;
                if (n == cap) {
                        size_t ncap = cap != 0 ? cap * 2 : 16;
                        char **nv = reallocarray(v, ncap, sizeof(*v));

                        if (nv == NULL) {
                                free(s);
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        v = nv;
                        cap = ncap;
                }
                v[n++] = s;
        }
        if (r < 0)
                goto out;
        *ret_strv = v;
        *ret_count = n;
        v = NULL;
        n = 0;
        r = 0;
out:
        kl_db_finish(st);
        kl_db_strv_free(v, n);
        return r;
}
