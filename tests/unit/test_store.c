/* Unit tests for the SQLite store: schema migrations, pragmas, the statement
 * cache and savepoint isolation. Real database files under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "testdb.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/sagad-store-XXXXXX");
    return testdb_path(path);
}

static int teardown(void **state)
{
    (void)state;
    testdb_remove(path);
    return 0;
}

static void test_open_migrates_and_sets_pragmas(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(testdb_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(testdb_int(st, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(testdb_int(st, "PRAGMA foreign_keys"), 1);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(store_db(st), "PRAGMA journal_mode", -1, &s, NULL);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    const char *tables[] = {"state_machines", "executions", "history", "timers", "outbox",
                            "activities", "state_machine_aliases"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char q[128];
        snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
                 tables[i]);
        assert_int_equal(testdb_int(st, q), 1);
    }
    /* The generic store has no domain tables of its own (order/schema.c adds them). */
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                   "AND name NOT LIKE 'sqlite_%'"),
                     (int64_t)(sizeof tables / sizeof *tables));
    store_close(st);
    /* Reopening applies nothing twice. */
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(testdb_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_close(st);
}

static void test_refuses_newer_schema(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    sqlite3_exec(store_db(st), "PRAGMA user_version = 999", NULL, NULL, NULL);
    store_close(st);
    assert_int_equal(store_open(path, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "newer"));
    assert_non_null(strstr(err, path));
}

/* Schema 1 -> 2 rebuilds the outbox without AUTOINCREMENT and keeps its rows
 * (seq, payload) as they were. Only the outbox matters to this migration, so
 * a version-1 file with just that table stands in for a real one. */
static void test_migration_2_keeps_outbox_rows(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL,"
        " payload TEXT NOT NULL, created_ms INTEGER NOT NULL);"
        "INSERT INTO outbox (event_id, payload, created_ms) VALUES ('a', '{\"n\":1}', 1),"
        " ('b', '{\"n\":2}', 2), ('c', '{\"n\":3}', 3);"
        "DELETE FROM outbox WHERE seq = 1;"
        /* What the later steps alter. */
        "CREATE TABLE state_machines (name TEXT NOT NULL, version INTEGER NOT NULL,"
        " definition TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY (name, version));"
        "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(testdb_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM outbox"), 2);
    assert_int_equal(testdb_int(st, "SELECT min(seq) FROM outbox"), 2);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM outbox WHERE seq = 3 AND event_id = 'c'"
                                   " AND payload = '{\"n\":3}' AND created_ms = 3"), 1);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'outbox'"
                                   " AND sql LIKE '%AUTOINCREMENT%'"), 0);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM sqlite_sequence WHERE name = 'outbox'"), 0);
    store_close(st);
}

static void test_statement_cache_reuses(void **state)
{
    (void)state;
    static const char sql[] = "SELECT ?1 + 1";
    store_t *st;
    char err[256];
    assert_int_equal(store_open(":memory:", &st, err, sizeof err), 0);
    store_stmt_t *a = store_prepare(st, sql);
    assert_non_null(a);
    store_bind_int(a, 1, 41);
    assert_int_equal(store_step(a), STORE_ROW);
    assert_int_equal(store_col_int(a, 0), 42);
    store_stmt_t *b = store_prepare(st, sql);
    assert_ptr_equal(a, b);
    /* Bindings were cleared: NULL + 1 is NULL. */
    assert_int_equal(store_step(b), STORE_ROW);
    assert_true(store_col_is_null(b, 0));
    store_reset(b);
    assert_null(store_prepare(st, "SELECT * FROM no_such_table"));
    store_close(st);
}

/* The statement API callers use instead of SQLite's: each binding's lifetime,
 * NULLs both ways, step results and the codes a failure is told apart by. */
static void test_statement_api(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(":memory:", &st, err, sizeof err), 0);
    assert_int_equal(store_exec_cached(st, "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, n INTEGER)"), 0);
    static const char put[] = "INSERT INTO t (k, v, n) VALUES (?1, ?2, ?3)";
    char copied[] = "copied";
    store_stmt_t *s = store_prepare(st, put);
    store_bind_text(s, 1, "a");
    store_bind_text_copy(s, 2, copied);
    copied[0] = 'X'; /* the copy was made at bind time */
    store_bind_int64(s, 3, INT64_C(1) << 40);
    assert_int_equal(store_exec_stmt(s), 0);
    assert_int_equal(store_changes(st), 1);
    s = store_prepare(st, put);
    store_bind_text(s, 1, "b");
    store_bind_text_taken(s, 2, strdup("taken")); /* freed by the store: ASan checks */
    store_bind_null(s, 3);
    assert_int_equal(store_exec_stmt(s), 0);
    store_clear_bindings(s);
    s = store_prepare(st, put);
    store_bind_text(s, 1, "c");
    store_bind_text_copy(s, 2, NULL); /* a NULL text binds NULL */
    store_bind_text(s, 3, NULL);
    assert_int_equal(store_exec_stmt(s), 0);
    s = store_prepare(st, put);
    store_bind_text(s, 1, "a");
    assert_int_equal(store_step(s), STORE_ERR_CONSTRAINT);
    store_reset(s);
    assert_non_null(strstr(store_errmsg(st), "UNIQUE"));
    s = store_prepare(st, put);
    store_bind_text(s, 1, "a");
    assert_int_equal(store_exec_stmt(s), STORE_ERR_CONSTRAINT);
    assert_non_null(strstr(store_stmt_errmsg(s), "UNIQUE"));

    store_stmt_t *q = store_prepare(st, "SELECT k, v, n FROM t ORDER BY k");
    assert_int_equal(store_step(q), STORE_ROW);
    assert_string_equal(store_col_text(q, 1), "copied");
    assert_int_equal(store_col_bytes(q, 1), 6);
    assert_true(store_col_int64(q, 2) == INT64_C(1) << 40);
    assert_false(store_col_is_null(q, 2));
    assert_int_equal(store_step(q), STORE_ROW);
    assert_string_equal(store_col_text(q, 1), "taken");
    assert_true(store_col_is_null(q, 2));
    assert_int_equal(store_col_int(q, 2), 0);
    assert_int_equal(store_step(q), STORE_ROW);
    assert_null(store_col_text(q, 1));
    assert_true(store_col_is_null(q, 1));
    assert_true(store_col_is_null(q, 2));
    assert_int_equal(store_step(q), STORE_DONE);
    store_reset(q);
    assert_int_equal(store_exec_cached(st, "DELETE FROM t"), 0);
    assert_int_equal(store_changes(st), 3);
    store_close(st);
}

static void test_savepoint_rolls_back_alone(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(store_begin(st), 0);
    assert_true(store_in_txn(st));
    assert_int_equal(store_savepoint(st), 0);
    sqlite3_exec(store_db(st), "INSERT INTO timers VALUES ('a', '', 0)", NULL, NULL, NULL);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    sqlite3_exec(store_db(st), "INSERT INTO timers VALUES ('b', '', 0)", NULL, NULL, NULL);
    assert_int_equal(store_rollback_to(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_false(store_in_txn(st));
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM timers WHERE execution_id IN ('a','b')"), 1);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM timers WHERE execution_id = 'a'"), 1);
    store_close(st);
}

static void test_open_error_names_path(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open("/nonexistent-dir/x/y.db", &st, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x/y.db"));
}

/* A domain's schema joins the numbered migrations: its step v runs in the
 * store's migration v -> v+1 after the store's own tables, the version is the
 * longest list, and reopening applies nothing twice. Registering is
 * process-wide, so this test runs last. */
static const char *const test_domain_steps[] = {
    "CREATE TABLE domain_a (x INTEGER);",
    NULL,
    NULL,
    "CREATE TABLE domain_b (x INTEGER);",
};
static const store_schema_t test_domain = {"test", test_domain_steps, 4, NULL, 0};

static void test_domain_schema_joins_migrations(void **state)
{
    (void)state;
    assert_int_equal(store_schema_add(&test_domain), 0);
    assert_int_equal(store_schema_add(&test_domain), 0); /* again: nothing */
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(testdb_int(st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'domain_b'"), 1);
    /* Version 1's domain table comes after the store's last table of version 1. */
    assert_true(testdb_int(st, "SELECT rowid FROM sqlite_master WHERE name = 'domain_a'") >
                testdb_int(st, "SELECT max(rowid) FROM sqlite_master WHERE name IN "
                              "('state_machines', 'executions', 'history', 'timers')"));
    store_close(st);
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(testdb_int(st, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'domain_%'"), 2);
    store_close(st);
}

static void remove_lock(void)
{
    char lock[128];
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
}

/* Two daemons on one database: the second open fails naming the holder. The
 * lock belongs to the open store, so a second open in this process conflicts
 * just as another process would. */
static void test_open_exclusive_names_the_holder(void **state)
{
    (void)state;
    store_t *a, *b;
    char err[512], pid[32];
    assert_int_equal(store_open_exclusive(path, &a, err, sizeof err), 0);
    assert_int_equal(store_open_exclusive(path, &b, err, sizeof err), -1);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err, pid));
    assert_non_null(strstr(err, path));
    /* Plain opens (tools, tests) are not excluded. */
    assert_int_equal(store_open(path, &b, err, sizeof err), 0);
    store_close(b);
    store_close(a);
    assert_int_equal(store_open_exclusive(path, &b, err, sizeof err), 0);
    store_close(b);
    remove_lock();
}

/* The start's probe write is a counted commit; commits feed the health. */
static void test_health_counts_commits(void **state)
{
    (void)state;
    store_t *st;
    char err[512];
    assert_int_equal(store_open_exclusive(path, &st, err, sizeof err), 0);
    const store_health_t *h = store_health(st);
    assert_int_equal(h->commits, 1);
    assert_int_equal(h->failing, 0);
    assert_int_equal(store_probe_write(st), 0);
    assert_int_equal(h->commits, 2);
    assert_int_equal(h->integrity, STORE_INTEGRITY_UNKNOWN);
    store_set_integrity(st, STORE_INTEGRITY_CORRUPT, "page 3: bad");
    assert_string_equal(h->integrity_detail, "page 3: bad");
    assert_string_equal(store_path(st), path);
    store_close(st);
    remove_lock();
}

/* A ROLLBACK after SQLite already ended the transaction is quiet and 0; the
 * savepoint helpers refuse to run outside the lost transaction. */
static void test_rollback_after_lost_transaction(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(store_begin(st), 0);
    /* What SQLite does itself after a full disk: the transaction is gone. */
    assert_int_equal(sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_true(store_savepoint(st) < 0);
    assert_true(store_rollback_to(st) < 0);
    assert_true(sqlite3_get_autocommit(store_db(st)));
    assert_true(store_commit(st) < 0);
    assert_int_equal(store_health(st)->failing, 1);
    assert_int_equal(store_rollback(st), 0);
    assert_false(store_in_txn(st));
    store_close(st);
}

/* No write transaction (here a foreign writer) counts as a failure: nothing
 * could commit. */
static void test_failed_begin_counts_as_failing(void **state)
{
    (void)state;
    store_t *st;
    sqlite3 *other;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_busy_timeout(store_db(st), 10);
    assert_true(store_begin(st) < 0);
    assert_int_equal(store_health(st)->failing, 1);
    assert_non_null(strstr(store_health(st)->last_error, "locked"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(store_probe_write(st), 0);
    assert_int_equal(store_health(st)->failing, 0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_migrates_and_sets_pragmas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_2_keeps_outbox_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_cache_reuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statement_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rolls_back_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_error_names_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_exclusive_names_the_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_counts_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_after_lost_transaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_begin_counts_as_failing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_domain_schema_joins_migrations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
