/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for lib/store/db.c's one-key statements and column migration,
 * which both stubs' stores build on: a row by its key (found, absent), a
 * change by key counting the rows it touched, and a column added once to a
 * table made without it, its old rows reading NULL.
 */
/* cmocka.h needs these four first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "err.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, n INTEGER)";

static struct kl_db *open_with(const char *const *keys)
{
        struct kl_db *db = NULL;

        assert_int_equal(kl_db_open(":memory:", schema, &db), 0);
        for (; *keys != NULL; keys++)
                assert_int_equal(kl_db_run_with(db, "INSERT INTO t (k, n) VALUES (?, 7)", *keys),
                                 1);
        return db;
}

static void test_db_get_row_found_and_absent(void **state)
{
        static const char *const keys[] = {"a", "b", NULL};
        struct kl_db *db = open_with(keys);
        struct kl_db_stmt *st = NULL;
        char *k = NULL;

        (void)state;
        assert_int_equal(kl_db_get_row(db, "SELECT k, n FROM t WHERE k = ?", "b", &st), 0);
        assert_int_equal(kl_db_column_dup_text(st, 0, &k), 0);
        assert_string_equal(k, "b");
        assert_int_equal(kl_db_column_int64(st, 1), 7);
        kl_db_finish(st);
        free(k);
        st = NULL;
        assert_int_equal(kl_db_get_row(db, "SELECT k FROM t WHERE k = ?", "c", &st),
                         KL_ERR_NOT_FOUND);
        assert_null(st);
        /* the absent case left the connection unlocked: a statement runs again */
        assert_int_equal(kl_db_run_with(db, "DELETE FROM t WHERE k = ?", "a"), 1);
        kl_db_close(db);
}

static void test_db_run_with_counts_rows(void **state)
{
        static const char *const keys[] = {"a", NULL};
        struct kl_db *db = open_with(keys);

        (void)state;
        assert_int_equal(kl_db_run_with(db, "UPDATE t SET n = 8 WHERE k = ?", "a"), 1);
        assert_int_equal(kl_db_run_with(db, "UPDATE t SET n = 8 WHERE k = ?", "zz"), 0);
        assert_int_equal(kl_db_run_with(db, "DELETE FROM t WHERE k = ?", "a"), 1);
        assert_int_equal(kl_db_run_with(db, "DELETE FROM t WHERE k = ?", "a"), 0);
        assert_int_equal(kl_db_run_with(db, "DELETE FROM nosuchtable WHERE k = ?", "a"), KL_ERR_DB);
        kl_db_close(db);
}

static void test_db_add_column_once(void **state)
{
        static const char *const keys[] = {"old", NULL};
        struct kl_db *db = open_with(keys);
        struct kl_db_stmt *st = NULL;

        (void)state;
        assert_int_equal(kl_db_add_column(db, "t", "extra", "TEXT"), 0);
        assert_int_equal(kl_db_add_column(db, "t", "extra", "TEXT"), 0); /* already there */
        assert_int_equal(kl_db_get_row(db, "SELECT extra FROM t WHERE k = ?", "old", &st), 0);
        assert_true(kl_db_column_is_null(st, 0));
        kl_db_finish(st);
        assert_int_equal(kl_db_run_with(db, "UPDATE t SET extra = 'x' WHERE k = ?", "old"), 1);
        assert_int_equal(kl_db_add_column(db, "nosuchtable", "extra", "TEXT"), KL_ERR_DB);
        kl_db_close(db);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_db_get_row_found_and_absent),
            cmocka_unit_test(test_db_run_with_counts_rows),
            cmocka_unit_test(test_db_add_column_once),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
