/* Unit tests for the read side of the executions store (engine/query.h) on a
 * real SQLite file: pruning commits all or nothing and says which, even when
 * BEGIN, a DELETE or the COMMIT fails (a second connection's lock, a trigger,
 * the fault-injection VFS); dates before 1970 print as RFC 3339; the list's
 * status filter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/machines.h"
#include "engine/query.h"
#include "store/db.h"
#include "store/fault.h"
#include "testdb.h"

typedef struct fixture_s {
    char path[64];
    store_t *st;
    machines_t *reg;
    query_src_t q;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    strcpy(f->path, "/tmp/sagad-query-XXXXXX");
    if (!f || store_fault_install() < 0 || testdb_path(f->path) < 0)
        return -1;
    char err[256];
    if (store_open(f->path, &f->st, err, sizeof err) < 0 || machines_open(f->st, &f->reg) < 0)
        return -1;
    f->q = (query_src_t){.store = f->st, .machines = f->reg};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    store_fault_disarm();
    machines_close(f->reg);
    store_close(f->st);
    testdb_remove(f->path);
    free(f);
    return 0;
}

static void sql(sqlite3 *db, const char *text)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", text, err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
}

static int64_t count(fixture_t *f, const char *table)
{
    char text[64];
    snprintf(text, sizeof text, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), text, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* One stored execution with one history row; stop_ms < 0: still RUNNING. */
static void add_exec(fixture_t *f, const char *id, int64_t start_ms, int64_t stop_ms)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
        "INSERT INTO executions (id, machine, machine_version, name, status, input, start_ms, "
        "stop_ms) VALUES (?1, 'm', 1, ?1, ?2, '{}', ?3, ?4)", -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, stop_ms < 0 ? "RUNNING" : "SUCCEEDED", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, start_ms);
    if (stop_ms >= 0)
        sqlite3_bind_int64(s, 4, stop_ms);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
        "INSERT INTO history (execution_id, first_id, last_id, ts_ms, frame, events) "
        "VALUES (?, 1, 1, ?, 'x', '[{\"type\":\"ExecutionStarted\",\"details\":{}}]')",
        -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, start_ms);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void add_three(fixture_t *f)
{
    add_exec(f, "a", 1000, 2000);
    add_exec(f, "b", 1000, 3000);
    add_exec(f, "r", 1000, -1);
}

static void test_prune_counts_what_it_deleted(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    assert_int_equal(query_prune(f->st, 1000, 10), 0);
    /* Oldest first, at most max, never a running one. */
    assert_int_equal(query_prune(f->st, 10000, 1), 1);
    assert_null(query_describe(&f->q, "a"));
    assert_int_equal(query_prune(f->st, 10000, 10), 1);
    assert_int_equal(query_prune(f->st, 10000, 10), 0);
    assert_int_equal(count(f, "executions"), 1);
    assert_int_equal(count(f, "history"), 1);
    assert_int_equal(store_in_txn(f->st), 0);
}

/* Another connection holds the write lock: BEGIN fails with SQLITE_BUSY, so
 * nothing is pruned, and that is what prune must say. */
static void test_prune_failed_begin_is_a_failure(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    sql(other, "BEGIN IMMEDIATE");
    sqlite3_busy_timeout(store_db(f->st), 0);
    /* With nothing to prune it does not need the lock. */
    assert_int_equal(query_prune(f->st, 1000, 10), 0);
    assert_true(query_prune(f->st, 10000, 10) < 0);
    sql(other, "ROLLBACK");
    sqlite3_close(other);
    assert_int_equal(count(f, "executions"), 3);
    assert_int_equal(query_prune(f->st, 10000, 10), 2);
}

/* A DELETE that fails rolls the whole prune back: no execution is left
 * without its history or the other way round, and prune reports failure. */
static void test_prune_failed_delete_deletes_nothing(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    sql(store_db(f->st), "CREATE TEMP TRIGGER no_delete BEFORE DELETE ON executions "
                         "BEGIN SELECT RAISE(ABORT, 'injected'); END");
    assert_true(query_prune(f->st, 10000, 10) < 0);
    assert_int_equal(store_in_txn(f->st), 0);
    assert_int_equal(count(f, "executions"), 3);
    assert_int_equal(count(f, "history"), 3);
    sql(store_db(f->st), "DROP TRIGGER no_delete");
    assert_int_equal(query_prune(f->st, 10000, 10), 2);
}

/* The COMMIT fails (fsync error): a failure, nothing deleted, no transaction
 * left open, and (under LeakSanitizer) nothing leaked. */
static void test_prune_failed_commit_deletes_nothing(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    store_fault_arm(STORE_FAULT_SYNC, 0, -1);
    assert_true(query_prune(f->st, 10000, 10) < 0);
    store_fault_disarm();
    assert_int_equal(store_in_txn(f->st), 0);
    assert_int_equal(count(f, "executions"), 3);
    assert_int_equal(count(f, "history"), 3);
    assert_int_equal(query_prune(f->st, 10000, 10), 2);
}

/* Times before 1970 round down to the millisecond below, as RFC 3339 needs:
 * -123 ms is 1969-12-31T23:59:59.877Z. */
static void test_dates_before_1970(void **state)
{
    fixture_t *f = *state;
    add_exec(f, "old", -123, 0);
    cJSON *d = query_describe(&f->q, "old");
    assert_non_null(d);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "startDate")),
                        "1969-12-31T23:59:59.877Z");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "stopDate")),
                        "1970-01-01T00:00:00.000Z");
    cJSON_Delete(d);
    cJSON *h = query_history(&f->q, "old");
    assert_non_null(h);
    const cJSON *ev = cJSON_GetArrayItem(cJSON_GetObjectItem(h, "events"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "timestamp")),
                        "1969-12-31T23:59:59.877Z");
    cJSON_Delete(h);
}

/* The status filter takes the names of core/exec_status.h and nothing else. */
static void test_list_by_status(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    const char *why = NULL;
    cJSON *l = query_list(&f->q, &(query_filter_t){.status = "SUCCEEDED"}, 10, NULL, &why);
    assert_non_null(l);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l, "executions")), 2);
    cJSON_Delete(l);
    l = query_list(&f->q, &(query_filter_t){.status = "RUNNING"}, 10, NULL, &why);
    const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(l, "executions"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(r, "executionId")), "r");
    cJSON_Delete(l);
    assert_null(query_list(&f->q, &(query_filter_t){.status = "running"}, 10, NULL, &why));
    assert_non_null(strstr(why, "TIMED_OUT"));
}

static int list_size(fixture_t *f, const query_filter_t *flt)
{
    const char *why = NULL;
    cJSON *l = query_list(&f->q, flt, 10, NULL, &why);
    assert_non_null(l);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(l, "executions"));
    cJSON_Delete(l);
    return n;
}

/* q matches an execution id or name by prefix, whole characters, nothing
 * else: not a substring, not a pattern. */
static void test_list_by_prefix(void **state)
{
    fixture_t *f = *state;
    add_exec(f, "order-1", 1000, 2000);
    add_exec(f, "order-12", 1000, 2000);
    add_exec(f, "refund-1", 1000, -1);
    add_exec(f, "caf\xc3\xa9-1", 1000, -1);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "order-1"}), 2);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "order-12"}), 1);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "der"}), 0);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "%"}), 0);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "caf\xc3\xa9"}), 1);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "r", .status = "RUNNING"}), 1);
    assert_int_equal(list_size(f, &(query_filter_t){.q = "order", .machine = "other"}), 0);
}

/* Every status is in the counts, 0 when none has it; the machine filter
 * counts that machine's executions only. */
static void test_counts(void **state)
{
    fixture_t *f = *state;
    add_three(f);
    cJSON *c = query_counts(&f->q, NULL);
    assert_non_null(c);
    assert_int_equal(cJSON_GetArraySize(c), 5);
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "SUCCEEDED")), 2);
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "RUNNING")), 1);
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "ABORTED")), 0);
    cJSON_Delete(c);
    c = query_counts(&f->q, "other");
    assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(c, "SUCCEEDED")), 0);
    cJSON_Delete(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prune_counts_what_it_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_by_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_failed_begin_is_a_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_failed_delete_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_failed_commit_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates_before_1970, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_by_status, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
