/* Unit tests for the fault-injection VFS: armed faults make real SQLite
 * commits fail the way a full disk or a failing fsync does, and the database
 * works again once disarmed, with nothing of the failed commits in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/fault.h"
#include "testdb.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/sagad-fault-XXXXXX");
    assert_int_equal(store_fault_install(), 0);
    return testdb_path(path);
}

static int teardown(void **state)
{
    (void)state;
    store_fault_disarm();
    testdb_remove(path);
    return 0;
}

static int64_t count_rows(store_t *st)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM t", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static int insert_committed(store_t *st)
{
    if (store_begin(st) < 0)
        return -1;
    int rc = sqlite3_exec(store_db(st),
                          "INSERT INTO t VALUES (1)", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK) {
        store_rollback(st);
        return -rc;
    }
    rc = store_commit(st);
    if (rc < 0)
        store_rollback(st);
    return rc;
}

static void check_kind(store_fault_kind_t kind, int expect)
{
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(sqlite3_exec(store_db(st), "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(insert_committed(st), 0);
    uint64_t hits = store_fault_hits();
    store_fault_arm(kind, 0, -1);
    int rc = insert_committed(st);
    assert_true(rc < 0);
    assert_int_equal(-rc & 0xff, expect);
    assert_true(store_fault_hits() > hits);
    store_fault_disarm();
    assert_int_equal(insert_committed(st), 0);
    assert_int_equal(count_rows(st), 2);
    store_close(st);
    /* What failed never became durable, whatever SQLite kept in memory. */
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(count_rows(st), 2);
    store_close(st);
}

static void test_full_disk_fails_commit(void **state)
{
    (void)state;
    check_kind(STORE_FAULT_FULL, SQLITE_FULL);
}

static void test_failed_fsync_fails_commit(void **state)
{
    (void)state;
    check_kind(STORE_FAULT_SYNC, SQLITE_IOERR);
}

static void test_failed_write_fails_commit(void **state)
{
    (void)state;
    check_kind(STORE_FAULT_WRITE, SQLITE_IOERR);
}

static void test_skip_and_count(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(sqlite3_exec(store_db(st), "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    /* One commit's worth of syncs passes, then exactly one sync fails. */
    store_fault_arm(STORE_FAULT_SYNC, 1, 1);
    assert_int_equal(insert_committed(st), 0);
    assert_true(insert_committed(st) < 0);
    assert_int_equal(insert_committed(st), 0);
    store_close(st);
}

/* A daemon must not start on a disk that takes no writes: the exclusive
 * open proves it with a real commit and names the path and the error. */
static void test_open_exclusive_refuses_unwritable(void **state)
{
    (void)state;
    store_t *st;
    char err[512], lock[128];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    store_close(st);
    store_fault_arm(STORE_FAULT_FULL, 0, -1);
    assert_int_equal(store_open_exclusive(path, &st, err, sizeof err), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "cannot write"));
    assert_non_null(strstr(err, "full"));
    store_fault_disarm();
    assert_int_equal(store_open_exclusive(path, &st, err, sizeof err), 0);
    store_close(st);
    snprintf(lock, sizeof lock, "%s.lock", path);
    unlink(lock);
}

/* Failed commits are counted as a streak with its error; one good commit
 * (here the health check's probe write) ends it. */
static void test_health_tracks_failing_commits(void **state)
{
    (void)state;
    store_t *st;
    char err[256];
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    assert_int_equal(sqlite3_exec(store_db(st), "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    const store_health_t *h = store_health(st);
    store_fault_arm(STORE_FAULT_FULL, 0, -1);
    assert_true(insert_committed(st) < 0);
    assert_true(insert_committed(st) < 0);
    assert_int_equal(h->failing, 2);
    assert_int_equal(h->commit_failures, 2);
    assert_true(h->failing_since_ms > 0);
    assert_non_null(strstr(h->last_error, "full"));
    assert_true(store_probe_write(st) < 0);
    assert_int_equal(h->failing, 3);
    assert_false(store_in_txn(st));
    store_fault_disarm();
    assert_int_equal(store_probe_write(st), 0);
    assert_int_equal(h->failing, 0);
    assert_int_equal(insert_committed(st), 0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_disk_fails_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_fsync_fails_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_write_fails_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_and_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_exclusive_refuses_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_tracks_failing_commits, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
