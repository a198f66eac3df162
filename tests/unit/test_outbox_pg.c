/* The outbox with two writers on PostgreSQL (events/outbox.h): two
 * connections append in overlapping transactions, and seq order must be
 * commit order, or a relay reading past a larger seq skips a smaller one
 * committed later. Needs a server: SAGAD_TEST_PG_URI names an empty database
 * (tests/integration/test_outbox_pg.py sets it on a throwaway cluster);
 * without it only the SQLite test runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/fiber.h"
#include "events/outbox.h"
#include "store/db.h"

#include <uv.h>

static store_t *open_store(const char *where)
{
    store_t *st = NULL;
    char err[512];
    if (store_open(where, &st, err, sizeof err) < 0)
        fail_msg("store_open: %s", err);
    return st;
}

/* Appends one envelope; copies its id to `id`. */
static int append(store_t *st, char id[64])
{
    cJSON *e = outbox_envelope("sagad.test", "Appended", 1, NULL, NULL);
    assert_non_null(e);
    snprintf(id, 64, "%s", cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
    int rc = outbox_append(st, e, 1);
    cJSON_Delete(e);
    return rc;
}

static void test_sqlite_appends_as_before(void **state)
{
    (void)state;
    store_t *st = open_store(":memory:");
    char a[64], b[64];
    assert_int_equal(append(st, a), 0);
    assert_int_equal(append(st, b), 0);
    assert_int_equal(outbox_backlog(st), 2);
    store_close(st);
}

typedef struct writer_s {
    store_t *st;
    const char *name;
    char id[64];
    int64_t hold_ms;          /* how long the transaction stays open after its row */
    int appended, done, rc;
    const struct writer_s *after;  /* append only once this one has appended */
    char *commits;            /* shared: the names in commit order */
} writer_t;

static void write_one(void *ud)
{
    writer_t *w = ud;
    while (w->after && !w->after->appended)
        fiber_sleep(5);
    w->rc = store_begin(w->st);
    if (w->rc == 0)
        w->rc = append(w->st, w->id);
    w->appended = 1;
    if (w->rc == 0 && w->hold_ms)
        fiber_sleep(w->hold_ms);
    if (w->rc == 0)
        w->rc = store_commit(w->st);
    if (w->rc == 0)
        strcat(w->commits, w->name);
    w->done = 1;
}

/* A opens a transaction, appends and holds it open 300 ms; meanwhile B
 * appends and commits at once. Drawn at INSERT, B's seq would be larger yet
 * committed first: a relay reading then would publish B, move its cursor
 * past A's seq and never publish A. The writers take turns instead: B's
 * append waits for A's commit, so commit order is A, B and so is seq order. */
static void test_two_writers_commit_in_seq_order(void **state)
{
    (void)state;
    const char *uri = getenv("SAGAD_TEST_PG_URI");
    store_t *sa = open_store(uri), *sb = open_store(uri);
    assert_int_equal(store_exec_cached(sa, "DELETE FROM outbox"), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    char commits[8] = "";
    writer_t a = {.st = sa, .name = "A", .hold_ms = 300, .commits = commits};
    writer_t b = {.st = sb, .name = "B", .after = &a, .commits = commits};
    assert_int_equal(fiber_start(&loop, write_one, &a), 0);
    assert_int_equal(fiber_start(&loop, write_one, &b), 0);
    while (!a.done || !b.done)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_string_equal(commits, "AB");
    store_stmt_t *s = store_prepare(sa, "SELECT event_id FROM outbox ORDER BY seq");
    assert_non_null(s);
    assert_int_equal(store_step(s), STORE_ROW);
    assert_string_equal(store_col_text(s, 0), a.id);
    assert_int_equal(store_step(s), STORE_ROW);
    assert_string_equal(store_col_text(s, 0), b.id);
    assert_int_equal(store_step(s), STORE_DONE);
    store_reset(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    store_close(sa);
    store_close(sb);
}

/* A writer that rolls back gives its turn up at once and leaves no row. */
static void test_a_rolled_back_writer_releases_its_turn(void **state)
{
    (void)state;
    const char *uri = getenv("SAGAD_TEST_PG_URI");
    store_t *sa = open_store(uri), *sb = open_store(uri);
    assert_int_equal(store_exec_cached(sa, "DELETE FROM outbox"), 0);
    char a_id[64], b_id[64];
    assert_int_equal(store_begin(sa), 0);
    assert_int_equal(append(sa, a_id), 0);
    assert_int_equal(store_rollback(sa), 0);
    /* Off fibers the call waits in place: it would hang if the turn were kept. */
    assert_int_equal(store_begin(sb), 0);
    assert_int_equal(append(sb, b_id), 0);
    assert_int_equal(store_commit(sb), 0);
    assert_int_equal(outbox_backlog(sa), 1);
    store_close(sa);
    store_close(sb);
}

int main(void)
{
    const struct CMUnitTest offline[] = {
        cmocka_unit_test(test_sqlite_appends_as_before),
    };
    int failed = cmocka_run_group_tests(offline, NULL, NULL);
    if (!getenv("SAGAD_TEST_PG_URI"))
        return failed;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_writers_commit_in_seq_order),
        cmocka_unit_test(test_a_rolled_back_writer_releases_its_turn),
    };
    return failed + cmocka_run_group_tests(tests, NULL, NULL);
}
