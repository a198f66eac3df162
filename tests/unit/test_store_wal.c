/* Unit tests for store/wal: checkpoints leave the loop thread, the log is
 * copied into the database file and restarts, and stopping with a checkpoint
 * in flight neither leaks nor loses data. Real database files under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/db.h"
#include "store/wal.h"
#include "testdb.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    strcpy(path, "/tmp/sagad-wal-XXXXXX");
    return testdb_path(path);
}

static int teardown(void **state)
{
    (void)state;
    testdb_remove(path);
    return 0;
}

static const char SQL_PUT[] = "INSERT INTO outbox (event_id, payload, created_ms) VALUES (?, ?, 0)";

/* One transaction of `rows` rows of 4 KB: about `rows` pages in the log. */
static void write_batch(store_t *st, int first, int rows)
{
    static char blob[4000];
    memset(blob, 'x', sizeof blob - 1);
    assert_int_equal(store_begin(st), 0);
    for (int i = first; i < first + rows; i++) {
        char id[32];
        snprintf(id, sizeof id, "e-%08d", i);
        store_stmt_t *s = store_prepare(st, SQL_PUT);
        assert_non_null(s);
        store_bind_text_copy(s, 1, id);
        store_bind_text(s, 2, blob);
        assert_int_equal(store_exec_stmt(s), 0);
    }
    assert_int_equal(store_commit(st), 0);
}

static long file_size(const char *suffix)
{
    char p[96];
    snprintf(p, sizeof p, "%s%s", path, suffix);
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static long count_rows(store_t *st)
{
    store_stmt_t *s = store_prepare(st, "SELECT count(*) FROM outbox");
    assert_int_equal(store_step(s), STORE_ROW);
    long n = (long)store_col_int64(s, 0);
    store_reset(s);
    return n;
}

static void test_checkpoint_runs_on_thread_pool(void **state)
{
    (void)state;
    char err[256];
    store_t *st;
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_wal_t *w;
    assert_int_equal(store_wal_start(st, &loop, &w), 0);
    assert_non_null(w);
    /* Past the threshold: the commit queues a background checkpoint and
     * returns without copying anything itself. */
    write_batch(st, 0, STORE_WAL_CHECKPOINT_PAGES + 100);
    uint64_t bg, inl;
    store_wal_counts(w, &bg, &inl);
    assert_int_equal(bg, 0);
    assert_int_equal(inl, 0);
    uv_run(&loop, UV_RUN_DEFAULT); /* the worker ends */
    store_wal_counts(w, &bg, &inl);
    assert_int_equal(bg, 1);
    assert_int_equal(inl, 0);
    assert_true(file_size("") > (long)STORE_WAL_CHECKPOINT_PAGES * 4000);
    /* Everything was copied: the next write restarts the log from the top,
     * so it does not grow past what one more batch needs. */
    long wal = file_size("-wal");
    write_batch(st, 5000, 10);
    assert_int_equal(file_size("-wal"), wal);
    store_wal_stop(w);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(count_rows(st), STORE_WAL_CHECKPOINT_PAGES + 110);
    store_close(st);
}

static void test_log_is_bounded_without_the_loop(void **state)
{
    (void)state;
    char err[256];
    store_t *st;
    assert_int_equal(store_open(path, &st, err, sizeof err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_wal_t *w;
    assert_int_equal(store_wal_start(st, &loop, &w), 0);
    /* The loop never turns, so the worker's end is never seen: the commits
     * past the limit checkpoint on this thread instead of growing the log. */
    int n = 0;
    for (int i = 0; i < 12; i++, n += 1000)
        write_batch(st, n, 1000);
    uint64_t bg, inl;
    store_wal_counts(w, &bg, &inl);
    assert_true(inl >= 1);
    assert_true(file_size("-wal") < (long)(STORE_WAL_LIMIT_PAGES + 1100) * 4200);
    store_wal_stop(w); /* in flight: freed when it ends */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(count_rows(st), n);
    store_close(st);
}

static void test_memory_database_is_left_alone(void **state)
{
    (void)state;
    char err[256];
    store_t *st;
    assert_int_equal(store_open(":memory:", &st, err, sizeof err), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_wal_t *w = (store_wal_t *)&loop;
    assert_int_equal(store_wal_start(st, &loop, &w), 0);
    assert_null(w);
    store_wal_stop(w);
    assert_int_equal(uv_loop_close(&loop), 0);
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoint_runs_on_thread_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_is_bounded_without_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_database_is_left_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
