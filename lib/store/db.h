/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small typed layer over SQLite for the stubs' stores; db.c is the only
 * file that includes sqlite3.h. One connection per kl_db, serialised by a
 * mutex so HTTP worker threads and pollers may call in concurrently: a
 * statement holds that mutex from kl_db_prepare() to kl_db_finish(), so
 * kl_db_run()'s change count is always its own. Only prepared statements
 * with bound parameters touch the data. SQLite errors are logged here, once,
 * with sqlite's message, and become KL_ERR_DB.
 */
#ifndef KL_DB_H
#define KL_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kl_db;      /* opaque: connection + mutex */
struct kl_db_stmt; /* opaque: one prepared statement, holding its kl_db's mutex */

/*
 * Opens (creating when missing) the database at path (":memory:" keeps
 * nothing on disk) and runs schema_sql, which should be idempotent
 * ("CREATE TABLE IF NOT EXISTS ..."). The caller owns *ret (kl_db_close).
 */
int kl_db_open(const char *path, const char *schema_sql, struct kl_db **ret);
void kl_db_close(struct kl_db *db); /* NULL-safe; no statement may be open */

/*
 * Locks db and prepares sql. On success the caller must kl_db_finish(*ret),
 * which unlocks; on failure db is unlocked again. Never nest two statements
 * on one kl_db in a thread (kl_db_run's change count would mix them).
 */
int kl_db_prepare(struct kl_db *db, const char *sql, struct kl_db_stmt **ret);
void kl_db_finish(struct kl_db_stmt *st); /* finalises and unlocks; NULL-safe */

/*
 * One transaction around many statements (the verifier's batched status
 * writes): kl_db_begin locks db and runs BEGIN; the same thread then
 * prepares, runs and finishes statements as usual (the mutex is recursive
 * for this) and kl_db_commit runs COMMIT (ROLLBACK if that fails) and
 * unlocks. Other threads wait for the whole batch.
 */
int kl_db_begin(struct kl_db *db);
int kl_db_commit(struct kl_db *db);
/* Makes a run statement ready to be bound and run again (bindings cleared). */
int kl_db_reset(struct kl_db_stmt *st);

/* Parameters are numbered from 1. Text and blobs must outlive the statement. */
int kl_db_bind_null(struct kl_db_stmt *st, int i);
int kl_db_bind_int64(struct kl_db_stmt *st, int i, int64_t v);
int kl_db_bind_text(struct kl_db_stmt *st, int i, const char *s); /* NULL binds NULL */
/* NULL binds NULL; KL_ERR_TOO_LONG past INT32_MAX bytes. */
int kl_db_bind_blob(struct kl_db_stmt *st, int i, const uint8_t *p, size_t len);

/* 1 when a row is ready for the kl_db_column_* calls, 0 when done, or KL_ERR_DB. */
int kl_db_step(struct kl_db_stmt *st);
/* Steps a statement that returns no rows; the number of rows it changed, or KL_ERR_DB. */
int kl_db_run(struct kl_db_stmt *st);

/*
 * The stores' one-key statements. kl_db_get_row prepares sql, binds key as
 * its one parameter and steps: 0 with *ret on the first row (the caller
 * kl_db_finish()es it), KL_ERR_NOT_FOUND when there is none, or KL_ERR_DB.
 * kl_db_run_with runs such a statement that returns no rows: the number of
 * rows it changed, or KL_ERR_DB.
 */
int kl_db_get_row(struct kl_db *db, const char *sql, const char *key, struct kl_db_stmt **ret);
int kl_db_run_with(struct kl_db *db, const char *sql, const char *key);

/*
 * Adds column (with its SQL type and constraints in decl) to table when a
 * database made before it existed lacks it; a no-op otherwise. table, column
 * and decl are the caller's constants, never outside input.
 */
int kl_db_add_column(struct kl_db *db, const char *table, const char *column, const char *decl);

/* Columns of the current row, numbered from 0. */
bool kl_db_column_is_null(struct kl_db_stmt *st, int col);
int64_t kl_db_column_int64(struct kl_db_stmt *st, int col);
/* Heap copies the caller owns; *ret NULL (and 0 length) for SQL NULL or an empty blob. */
int kl_db_column_dup_text(struct kl_db_stmt *st, int col, char **ret);
int kl_db_column_dup_blob(struct kl_db_stmt *st, int col, uint8_t **ret, size_t *ret_len);

/*
 * Runs a parameterless query and copies the first column of every row
 * (rows where it is NULL are skipped). The caller frees each string and
 * the array (kl_db_strv_free).
 */
int kl_db_list_text(struct kl_db *db, const char *sql, char ***ret_strv, size_t *ret_count);
void kl_db_strv_free(char **strv, size_t n); /* NULL-safe */

#endif
