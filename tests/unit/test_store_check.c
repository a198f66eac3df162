/* Unit tests for the background integrity check: a real database file, a real
 * libuv loop and worker thread; a clean file checks ok, a file with garbage
 * over an index page checks corrupt, and a stopped check leaves the store
 * alone and frees itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/check.h"
#include "testdb.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/sagad-check-XXXXXX");
    return testdb_path(path);
}

static int teardown(void **state)
{
    (void)state;
    testdb_remove(path);
    return 0;
}

/* Opens a store on `path` with a table and an index big enough to span many
 * pages; sets the index's root page and the page size. */
static store_t *open_filled(int *root, int *page_size)
{
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    sqlite3 *db = store_db(st);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TABLE t (k TEXT, v TEXT);"
                                  "CREATE INDEX t_k ON t (k);"
                                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                                  " WHERE i < 3000) INSERT INTO t SELECT printf('key-%08d', i),"
                                  " zeroblob(200) FROM n;"
                                  "PRAGMA wal_checkpoint(TRUNCATE);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 't_k'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    *root = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    *page_size = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return st;
}

static store_integrity_t check(store_t *st)
{
    uv_loop_t loop;
    store_check_t *c = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(store_check_start(&loop, st, &c), 0);
    assert_int_equal(store_health(st)->integrity, STORE_INTEGRITY_CHECKING);
    uv_run(&loop, UV_RUN_DEFAULT);
    store_check_stop(c);
    assert_int_equal(uv_loop_close(&loop), 0);
    return store_health(st)->integrity;
}

static void test_clean_database_checks_ok(void **state)
{
    (void)state;
    int root, page_size;
    store_t *st = open_filled(&root, &page_size);
    assert_int_equal(check(st), STORE_INTEGRITY_OK);
    assert_string_equal(store_health(st)->integrity_detail, "");
    store_close(st);
}

static void test_garbage_in_an_index_checks_corrupt(void **state)
{
    (void)state;
    char err[256];
    int root, page_size;
    store_t *st = open_filled(&root, &page_size);
    store_close(st);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    char junk[1024];
    memset(junk, 0x5a, sizeof junk);
    /* Over the cell content, which sits at the end of a page. */
    assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)root * page_size - (off_t)sizeof junk),
                     (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(check(st), STORE_INTEGRITY_CORRUPT);
    assert_true(strlen(store_health(st)->integrity_detail) > 0);
    store_close(st);
}

/* A daemon stopping right after it started: the check is abandoned, never
 * writes into the (closing) store, and the loop still closes cleanly. */
static void test_stopped_check_leaves_the_store_alone(void **state)
{
    (void)state;
    int root, page_size;
    store_t *st = open_filled(&root, &page_size);
    uv_loop_t loop;
    store_check_t *c = NULL;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(store_check_start(&loop, st, &c), 0);
    store_check_stop(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(store_health(st)->integrity, STORE_INTEGRITY_CHECKING);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_database_checks_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_in_an_index_checks_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_check_leaves_the_store_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
