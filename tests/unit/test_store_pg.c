/* The store API on PostgreSQL (store/db.h): statements, values as text,
 * changes, error codes, savepoints, a lost connection. Needs a server: the
 * URI of an empty database comes from SAGAD_TEST_PG_URI, which
 * tests/integration/test_store_pg.py sets on a throwaway cluster; without
 * it only the tests that need no server run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"
#include "store/db.h"

#include <uv.h>

static store_t *open_pg(void)
{
    const char *uri = getenv("SAGAD_TEST_PG_URI");
    if (!uri || !*uri)
        return NULL;
    store_t *st = NULL;
    char err[512];
    if (store_open(uri, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    return st;
}

static int setup(void **state)
{
    store_t *st = open_pg();
    *state = st;
    if (st)
        assert_int_equal(store_exec_cached(st, "DELETE FROM activities"), 0);
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    return 0;
}

#define NEED_PG(st)                                                                               \
    do {                                                                                          \
        if (!(st))                                                                                \
            skip();                                                                               \
    } while (0)

static const char SQL_ADD[] = "INSERT INTO activities (name, created_ms) VALUES (?1, ?2)";
static const char SQL_GET[] = "SELECT name, created_ms, NULL, created_ms > 5 FROM activities "
                              "WHERE name = ?";

static int add(store_t *st, const char *name, int64_t ms)
{
    store_stmt_t *s = store_prepare(st, SQL_ADD);
    assert_non_null(s);
    store_bind_text(s, 1, name);
    store_bind_int64(s, 2, ms);
    int rc = store_step(s);
    store_reset(s);
    return rc;
}

static void test_values_round_trip_as_text(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(store_backend(st), STORE_BACKEND_POSTGRESQL);
    assert_int_equal(add(st, "a", 1733362245123LL), STORE_DONE);
    assert_int_equal(store_changes(st), 1);
    store_stmt_t *s = store_prepare(st, SQL_GET);
    store_bind_text_copy(s, 1, "a");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_string_equal(store_col_text(s, 0), "a");
    assert_int_equal(store_col_bytes(s, 0), 1);
    assert_int_equal(store_col_int64(s, 1), 1733362245123LL);   /* beyond int4 */
    assert_null(store_col_text(s, 2));
    assert_true(store_col_is_null(s, 2));
    assert_int_equal(store_col_int64(s, 2), 0);
    assert_int_equal(store_col_int(s, 3), 1);                   /* a boolean reads as 1 */
    assert_int_equal(store_step(s), STORE_DONE);
    store_reset(s);
    /* A SELECT leaves changes() at the last write, as on SQLite. */
    assert_int_equal(store_changes(st), 1);
    /* A taken text is freed by the store (ASan would see a leak otherwise). */
    s = store_prepare(st, SQL_GET);
    store_bind_text_taken(s, 1, strdup("missing"));
    assert_int_equal(store_step(s), STORE_DONE);
    store_reset(s);
    assert_int_equal(store_exec_cached(st, "UPDATE activities SET created_ms = created_ms + 1"), 0);
    assert_int_equal(store_changes(st), 1);
}

static void test_constraint_and_syntax_errors_are_mapped(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(add(st, "dup", 1), STORE_DONE);
    assert_int_equal(add(st, "dup", 2), STORE_ERR_CONSTRAINT);
    assert_non_null(strstr(store_errmsg(st), "duplicate key"));
    assert_null(store_prepare(st, "SELEKT 1"));
}

static void test_savepoint_rollback_keeps_the_transaction(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(store_begin(st), 0);
    assert_true(store_in_txn(st));
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(add(st, "kept", 1), STORE_DONE);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(add(st, "gone", 1), STORE_DONE);
    assert_int_equal(add(st, "kept", 2), STORE_ERR_CONSTRAINT);
    /* The failed statement poisoned the transaction; ROLLBACK TO heals it. */
    assert_int_equal(store_rollback_to(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(add(st, "after", 1), STORE_DONE);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_false(store_in_txn(st));
    store_stmt_t *s = store_prepare(st, "SELECT string_agg(name, ',' ORDER BY name) FROM activities");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_string_equal(store_col_text(s, 0), "after,kept");
    store_reset(s);
}

static void test_commit_after_an_unhealed_error_is_abort(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    uint64_t failures = store_health(st)->commit_failures;
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(add(st, "x", 1), STORE_DONE);
    assert_int_equal(add(st, "x", 1), STORE_ERR_CONSTRAINT);
    assert_int_equal(store_commit(st), STORE_ERR_ABORT);
    assert_false(store_in_txn(st));
    assert_int_equal(store_health(st)->commit_failures, failures + 1);
    store_stmt_t *s = store_prepare(st, "SELECT count(*) FROM activities");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_int_equal(store_col_int64(s, 0), 0);
    store_reset(s);
    assert_int_equal(store_probe_write(st), 0);
}

/* Ends the server session of `st` from another session; returns its pid. */
static int64_t terminate_session(store_t *st)
{
    store_stmt_t *s = store_prepare(st, "SELECT pg_backend_pid()");
    assert_int_equal(store_step(s), STORE_ROW);
    int64_t pid = store_col_int64(s, 0);
    store_reset(s);
    store_t *other = open_pg();
    s = store_prepare(other, "SELECT pg_terminate_backend(?1)");
    store_bind_int64(s, 1, pid);
    assert_int_equal(store_step(s), STORE_ROW);
    store_reset(s);
    store_close(other);
    return pid;
}

static void test_lost_connection_is_lost_then_replaced(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(store_session_set(st, "sagad.node", "unit-node"), 0);
    int64_t pid = terminate_session(st);
    /* The statement that finds the session gone fails: nothing is retried. */
    assert_int_equal(store_begin(st), STORE_ERR_LOST);
    assert_int_equal(store_rollback(st), 0);
    /* The next one, outside a transaction, runs on a new session, with the
     * statement prepared again and the session's settings applied again. */
    store_stmt_t *s = store_prepare(st, "SELECT pg_backend_pid(), current_setting('sagad.node')");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_true(store_col_int64(s, 0) != pid);
    assert_string_equal(store_col_text(s, 1), "unit-node");
    store_reset(s);
    assert_int_equal(store_reconnects(st), 1);
    /* Inside a transaction a lost session stays lost until the rollback. */
    assert_int_equal(store_begin(st), 0);
    terminate_session(st);
    assert_int_equal(store_exec_cached(st, "SELECT 1"), STORE_ERR_LOST);
    assert_int_equal(store_commit(st), STORE_ERR_LOST);
    assert_int_equal(store_rollback(st), 0);
    assert_false(store_in_txn(st));
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_reconnects(st), 2);
}

/* store_exec_stmt of an INSERT, without reading anything. */
static int put(store_t *st, const char *name, int64_t ms)
{
    store_stmt_t *s = store_prepare(st, SQL_ADD);
    assert_non_null(s);
    store_bind_text(s, 1, name);
    store_bind_int64(s, 2, ms);
    return store_exec_stmt(s);
}

/* The names in activities, sorted and joined by commas ("" for none). */
static void assert_names(store_t *st, const char *want)
{
    store_stmt_t *s =
        store_prepare(st, "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM activities");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_string_equal(store_col_text(s, 0), want);
    store_reset(s);
}

static void test_writes_in_a_savepoint_fail_in_it_at_the_latest_at_release(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(put(st, "old", 1), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "b", 1), 0);
    /* Queued, not waited for: the duplicate's failure shows at the
     * release of its savepoint, and nothing after it ran. */
    assert_int_equal(put(st, "old", 2), 0);
    assert_int_equal(put(st, "c", 1), 0);
    assert_int_equal(store_release(st), STORE_ERR_CONSTRAINT);
    assert_non_null(strstr(store_errmsg(st), "duplicate key"));
    assert_int_equal(store_rollback_to(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "d", 1), 0);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_names(st, "a,d,old");
}

static void test_a_read_or_changes_collects_the_queued_writes_first(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_non_null(store_prepare(st, SQL_GET));   /* prepared before: only the step syncs */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(put(st, "b", 1), 0);
    assert_int_equal(store_exec_cached(st, "UPDATE activities SET created_ms = 9"), 0);
    assert_int_equal(store_changes(st), 2);
    assert_int_equal(put(st, "c", 1), 0);
    assert_names(st, "a,b,c");   /* the read sees the queued write */
    /* A failure collected by store_changes is reported by the next sync point. */
    assert_int_equal(put(st, "a", 2), 0);
    assert_int_equal(store_changes(st), 0);   /* the failed write changed nothing */
    assert_int_equal(put(st, "d", 1), STORE_ERR_CONSTRAINT);
    assert_int_equal(store_rollback_to(st), 0);
    /* And one before a read is the read's. */
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "e", 1), 0);
    assert_int_equal(put(st, "e", 2), 0);
    store_stmt_t *s = store_prepare(st, SQL_GET);
    store_bind_text(s, 1, "a");
    assert_int_equal(store_step(s), STORE_ERR_CONSTRAINT);
    store_reset(s);
    assert_int_equal(store_rollback_to(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_names(st, "");
}

static void test_statements_in_an_sql_savepoint_and_outside_savepoints_wait(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(put(st, "old", 1), 0);
    assert_int_equal(put(st, "old", 1), STORE_ERR_CONSTRAINT);   /* no transaction */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    /* A caller's own savepoint (the engine's per task) judges each statement. */
    assert_int_equal(store_exec_cached(st, "SAVEPOINT task"), 0);
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(put(st, "old", 2), STORE_ERR_CONSTRAINT);
    assert_int_equal(store_exec_cached(st, "ROLLBACK TO task"), 0);
    assert_int_equal(store_exec_cached(st, "RELEASE task"), 0);
    assert_int_equal(put(st, "b", 1), 0);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(put(st, "old", 3), STORE_ERR_CONSTRAINT);   /* in no savepoint */
    assert_int_equal(store_rollback(st), 0);
    assert_names(st, "old");
}

static void test_rollback_drops_the_queued_writes(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(store_rollback(st), 0);
    assert_false(store_in_txn(st));
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "b", 1), 0);
    assert_int_equal(store_release(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_names(st, "b");
}

static void test_a_session_lost_with_queued_writes_is_lost_once(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    uint64_t failures = store_health(st)->commit_failures;
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "a", 1), 0);
    int64_t pid = terminate_session(st);   /* its read is a sync point: nothing queued */
    assert_int_equal(put(st, "a", 1), 0);
    assert_int_equal(put(st, "b", 1), 0);
    assert_int_equal(store_release(st), STORE_ERR_LOST);
    /* COMMIT is never sent: the transaction is gone, and says so. */
    assert_int_equal(store_commit(st), STORE_ERR_LOST);
    assert_int_equal(store_health(st)->commit_failures, failures + 1);
    assert_int_equal(store_rollback(st), 0);
    store_stmt_t *s = store_prepare(st, "SELECT pg_backend_pid()");
    assert_int_equal(store_step(s), STORE_ROW);
    assert_true(store_col_int64(s, 0) != pid);
    store_reset(s);
    assert_names(st, "");
    /* The new session pipelines as the old one did. */
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_savepoint(st), 0);
    assert_int_equal(put(st, "c", 1), 0);
    assert_int_equal(put(st, "c", 1), 0);
    assert_int_equal(store_release(st), STORE_ERR_CONSTRAINT);
    assert_int_equal(store_rollback_to(st), 0);
    assert_int_equal(store_commit(st), 0);
}

typedef struct {
    store_t *st;
    int rc;
    int done;
} slow_t;

static void slow_query(void *ud)
{
    slow_t *q = ud;
    store_stmt_t *s = store_prepare(q->st, "SELECT pg_sleep(0.3), 7");
    q->rc = s ? store_step(s) : -1;
    if (q->rc == STORE_ROW && store_col_int64(s, 1) != 7)
        q->rc = -2;
    if (s)
        store_reset(s);
    q->done = 1;
}

static void on_tick(uv_timer_t *t)
{
    (*(int *)t->data)++;
}

static void test_on_a_fiber_a_slow_statement_leaves_the_loop_running(void **state)
{
    store_t *st = *state;
    NEED_PG(st);
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_timer_t tick;
    int ticks = 0;
    uv_timer_init(&loop, &tick);
    tick.data = &ticks;
    uv_timer_start(&tick, on_tick, 10, 10);
    slow_t q = {.st = st}, second = {.st = st};
    assert_int_equal(fiber_start(&loop, slow_query, &q), 0);
    assert_false(q.done);   /* it yielded at its first wait for the server */
    /* The session is the first fiber's until its result is in. */
    assert_int_equal(fiber_start(&loop, slow_query, &second), 0);
    assert_true(second.done);
    assert_int_equal(second.rc, -1);   /* its prepare was refused */
    assert_non_null(strstr(store_errmsg(st), "another fiber"));
    while (!q.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(q.rc, STORE_ROW);
    /* 300 ms of pg_sleep at a 10 ms tick: the loop ran meanwhile (loosely:
     * this box is shared). */
    assert_true(ticks >= 5);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_unreachable_server_is_named_without_password(void **state)
{
    (void)state;
    store_t *st = NULL;
    char err[512];
    /* Port 1 on loopback: nothing listens, the connection is refused at once. */
    assert_int_equal(store_open("postgresql://sagad:s3cret@127.0.0.1:1/db?password=s3cret&x=1",
                                &st, err, sizeof err),
                     STORE_ERR_LOST);
    assert_null(st);
    assert_non_null(strstr(err, "postgresql://sagad@127.0.0.1:1/db?x=1: cannot connect"));
    assert_null(strstr(err, "s3cret"));
    assert_true(store_is_pg_uri("postgres://h/db"));
    assert_false(store_is_pg_uri("var/postgresql://x.db"));
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_unreachable_server_is_named_without_password),
    };
    int failed = cmocka_run_group_tests(offline, NULL, NULL);
    if (!getenv("SAGAD_TEST_PG_URI"))
        return failed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values_round_trip_as_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constraint_and_syntax_errors_are_mapped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_rollback_keeps_the_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_commit_after_an_unhealed_error_is_abort, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_on_a_fiber_a_slow_statement_leaves_the_loop_running,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_connection_is_lost_then_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_writes_in_a_savepoint_fail_in_it_at_the_latest_at_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_read_or_changes_collects_the_queued_writes_first,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_statements_in_an_sql_savepoint_and_outside_savepoints_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_drops_the_queued_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_session_lost_with_queued_writes_is_lost_once, setup,
                                        teardown),
    };
    return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
