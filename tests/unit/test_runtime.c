/* Unit tests for the durable runtime on a real SQLite file and a real libuv
 * loop: starts, group commit, idempotent names, recovery of a running
 * execution by a second runtime on the same database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/handler.h"
#include "engine/machines.h"
#include "engine/runtime.h"
#include "handlers/handlers.h"
#include "store/db.h"
#include "store/fault.h"
#include "testdb.h"

typedef struct fixture_s {
    char path[64];
    uv_loop_t loop;
    config_t cfg;
    store_t *st;
    machines_t *reg;
    runtime_t *rt;
} fixture_t;

typedef struct started_s {
    int calls;
    runtime_status_t status;
    char id[64];
} started_t;

static void on_started(void *ud, runtime_status_t status, const char *id)
{
    started_t *s = ud;
    s->calls++;
    s->status = status;
    snprintf(s->id, sizeof s->id, "%s", id);
}

static void open_runtime(fixture_t *f)
{
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    strcpy(f->path, "/tmp/sagad-rt-XXXXXX");
    if (testdb_path(f->path) < 0)
        return -1;
    uv_loop_init(&f->loop);
    config_defaults(&f->cfg);
    char err[256];
    if (store_open(f->path, &f->st, err, sizeof err) < 0 || machines_open(f->st, &f->reg) < 0)
        return -1;
    handler_reset();
    handlers_register_builtin();
    open_runtime(f);
    *state = f;
    return 0;
}

static void on_closed(void *ud)
{
    *(int *)ud = 1;
}

static void close_runtime(fixture_t *f)
{
    int closed = 0;
    runtime_close(f->rt, on_closed, &closed);
    while (!closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    f->rt = NULL;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    if (f->rt)
        close_runtime(f);
    machines_close(f->reg);
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    testdb_remove(f->path);
    handler_reset();
    free(f);
    return 0;
}

static const machine_ver_t *put(fixture_t *f, const char *name, const char *def)
{
    const machine_ver_t *v = NULL;
    asl_problems_t p;
    asl_problems_init(&p);
    int rc = machines_put(f->reg, name, def, strlen(def), &p, &v);
    if (rc < 0 && p.count)
        fprintf(stderr, "problem: %s %s %s\n", p.items[0].state, p.items[0].field, p.items[0].message);
    asl_problems_free(&p);
    assert_true(rc > 0);
    return v;
}

/* Runs the loop until the execution has ended (or ~5 s of turns). */
static const char *run_until_done(fixture_t *f, const char *id)
{
    static char status[32];
    for (int i = 0; i < 5000; i++) {
        cJSON *d = runtime_describe(f->rt, id);
        if (d) {
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(d, "status"));
            snprintf(status, sizeof status, "%s", s ? s : "?");
            cJSON_Delete(d);
            if (strcmp(status, "RUNNING") != 0)
                return status;
        }
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    return status;
}

/* Starts `v` with `input` (taken) and runs the loop until the start is
 * answered; returns the status and fills s. */
static runtime_status_t start_sync(fixture_t *f, const machine_ver_t *v, cJSON *input, started_t *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(runtime_start(f->rt, v, NULL, input, NULL, on_started, s), RUNTIME_OK);
    cJSON_Delete(input);
    for (int i = 0; i < 1000 && !s->calls; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s->calls, 1);
    return s->status;
}

/* {"xs": [0, 1, ..., n-1]} */
static cJSON *items(int n)
{
    cJSON *in = cJSON_CreateObject(), *xs = cJSON_AddArrayToObject(in, "xs");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(xs, cJSON_CreateNumber(i));
    return in;
}

/* The execution ended FAILED with the history-limit error. */
static void assert_history_limit_failure(fixture_t *f, const char *id)
{
    assert_string_equal(run_until_done(f, id), "FAILED");
    cJSON *d = runtime_describe(f->rt, id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "error")), "States.Runtime");
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(d, "cause")), "history_limit"));
    cJSON_Delete(d);
    assert_int_equal(runtime_stats(f->rt)->open_executions, 0);
}

#define MAP_OF_PASS(path)                                                                     \
    "{\"Type\":\"Map\",\"ItemsPath\":\"" path "\",\"ItemProcessor\":{\"StartAt\":\"P\","       \
    "\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}"

/* Runs a Map over `n` Pass iterations with the given history_limit; it must
 * end FAILED with the history-limit error. */
static void map_fails_history_limit(fixture_t *f, int limit, int n)
{
    f->cfg.history_limit = limit;
    const machine_ver_t *v = put(f, "map",
        "{\"StartAt\":\"M\",\"States\":{\"M\":" MAP_OF_PASS("$.xs") "}}");
    started_t s;
    assert_int_equal(start_sync(f, v, items(n), &s), RUNTIME_OK);
    assert_history_limit_failure(f, s.id);
}

/* A Map whose iterations cross history_limit in the second batch, while far
 * more than one batch (256) of iterations is still on the ready queue: the
 * execution is rebuilt and failed, its queued frames must not be touched
 * after they are freed. */
static void test_map_crossing_history_limit(void **state)
{
    map_fails_history_limit(*state, 1500, 2000);
}

/* Runs nested Maps (n x n Pass iterations) with the given history_limit; it
 * must end FAILED with the history-limit error. */
static void nested_maps_fail_history_limit(fixture_t *f, int limit, int n)
{
    f->cfg.history_limit = limit;
    const machine_ver_t *v = put(f, "nested",
        "{\"StartAt\":\"O\",\"States\":{\"O\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\","
        "\"ItemSelector\":{\"ys.$\":\"$.ys\"},\"ItemProcessor\":{\"StartAt\":\"I\","
        "\"States\":{\"I\":" MAP_OF_PASS("$.ys") "}},\"End\":true}}}");
    cJSON *in = items(n);
    cJSON_AddItemToObject(in, "ys", cJSON_Duplicate(cJSON_GetObjectItem(in, "xs"), 1));
    started_t s;
    assert_int_equal(start_sync(f, v, in, &s), RUNTIME_OK);
    assert_history_limit_failure(f, s.id);
}

/* Nested Maps (50 x 50): inner iterations queue up behind outer ones. */
static void test_nested_maps_crossing_history_limit(void **state)
{
    nested_maps_fail_history_limit(*state, 2000, 50);
}

/* A fan-out that cannot fit the history limit is refused before its
 * children are built: memory stays small. */
static void test_fan_out_refused_early(void **state)
{
    fixture_t *f = *state;
    uint64_t before = runtime_stats(f->rt)->frames_created;
    map_fails_history_limit(f, 1000, 5000);
    assert_int_equal(runtime_stats(f->rt)->frames_created - before, 1);   /* its own frame */
    /* 200 x 200: the inner Maps already started reserve their iterations. */
    before = runtime_stats(f->rt)->frames_created;
    nested_maps_fail_history_limit(f, 2000, 200);
    assert_true(runtime_stats(f->rt)->frames_created - before < 2000);
}

static void count_call(void *ud)
{
    (*(int *)ud)++;
}

/* before_commit and after_commit each get their own user data. */
static void test_commit_hooks_get_their_own_ud(void **state)
{
    fixture_t *f = *state;
    close_runtime(f);
    int before = 0, after = 0;
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg,
                        .before_commit = count_call, .before_commit_ud = &before,
                        .after_commit = count_call, .after_commit_ud = &after};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
    const machine_ver_t *v = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    started_t s;
    assert_int_equal(start_sync(f, v, cJSON_CreateObject(), &s), RUNTIME_OK);
    assert_int_equal(before, 1);
    assert_int_equal(after, 1);
}

/* Runs one SQL statement with one text parameter on the fixture's database. */
static void sql1(fixture_t *f, const char *sql, const char *arg)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void assert_failed_because(fixture_t *f, const char *id, const char *why)
{
    cJSON *d = runtime_describe(f->rt, id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "status")), "FAILED");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "error")), "States.Runtime");
    const char *cause = cJSON_GetStringValue(cJSON_GetObjectItem(d, "cause"));
    if (!strstr(cause, why))
        fail_msg("cause '%s' does not say '%s'", cause, why);
    cJSON_Delete(d);
    cJSON *h = runtime_history(f->rt, id);
    cJSON *evs = cJSON_GetObjectItem(h, "events");
    const cJSON *last = cJSON_GetArrayItem(evs, cJSON_GetArraySize(evs) - 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(last, "type")), "ExecutionFailed");
    cJSON_Delete(h);
}

/* Stored executions that cannot be restored (unreadable state, unknown
 * machine version, a cursor the engine refuses, a history already past a
 * lowered history_limit) are ended FAILED with the reason; the others
 * recover and run. */
static void test_unrestorable_executions_fail_others_recover(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "wait",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":1,\"End\":true}}}");
    const machine_ver_t *passes = put(f, "passes",
        "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"Next\":\"B\"},"
        "\"B\":{\"Type\":\"Pass\",\"Next\":\"C\"},\"C\":{\"Type\":\"Pass\",\"Next\":\"D\"},"
        "\"D\":{\"Type\":\"Pass\",\"Next\":\"W\"},"
        "\"W\":{\"Type\":\"Wait\",\"Seconds\":100,\"End\":true}}}");
    started_t s[5];
    for (int i = 0; i < 4; i++)
        assert_int_equal(start_sync(f, v, cJSON_CreateObject(), &s[i]), RUNTIME_OK);
    assert_int_equal(start_sync(f, passes, cJSON_CreateObject(), &s[4]), RUNTIME_OK);
    close_runtime(f);
    f->cfg.history_limit = 10;
    sql1(f, "UPDATE history SET state = '{\"c\": [' WHERE execution_id = ?", s[0].id);
    sql1(f, "UPDATE executions SET machine_version = 99 WHERE id = ?", s[1].id);
    sql1(f, "UPDATE history SET state = '{\"c\":{\"x\":1},\"p\":\"continue\"}' "
            "WHERE execution_id = ?", s[2].id);
    open_runtime(f);
    assert_failed_because(f, s[0].id, "not valid JSON");
    assert_failed_because(f, s[1].id, "version 99 is unavailable");
    assert_string_equal(run_until_done(f, s[2].id), "FAILED");
    assert_failed_because(f, s[2].id, "cannot resume");
    assert_failed_because(f, s[4].id, "history_limit");
    assert_string_equal(run_until_done(f, s[3].id), "SUCCEEDED");
}

/* Recovery runs in chunks on the loop; an execution not recovered yet is
 * recovered when asked for. */
static void test_recovery_in_chunks(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "long",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":100,\"End\":true}}}");
    started_t s[40], st = {0};
    for (int i = 0; i < 40; i++)
        assert_int_equal(start_sync(f, v, cJSON_CreateObject(), &s[i]), RUNTIME_OK);
    close_runtime(f);
    open_runtime(f);
    assert_true(runtime_stats(f->rt)->open_executions < 40);
    assert_int_equal(runtime_stop(f->rt, s[39].id, "Stop", "now", on_started, &st), 0);
    assert_string_equal(run_until_done(f, s[39].id), "ABORTED");
    assert_int_equal(st.status, RUNTIME_OK);
    for (int i = 0; i < 100 && runtime_stats(f->rt)->open_executions < 39; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(runtime_stats(f->rt)->open_executions, 39);
}

/* The history limit is crossed inside the first batch of a new execution,
 * after its row was written by an earlier step of that batch: the start is
 * acknowledged (it is durable) and the execution ends FAILED, nothing is
 * left RUNNING. */
static void test_history_limit_in_first_batch(void **state)
{
    fixture_t *f = *state;
    map_fails_history_limit(f, 300, 100);
    cJSON *running = runtime_list(f->rt, &(query_filter_t){.status = "RUNNING"}, 10, NULL, &(const char *){NULL});
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(running, "executions")), 0);
    cJSON_Delete(running);
}

/* Makes the next COMMIT of the runtime fail (a failed fsync), running the
 * loop until it has. */
static void fail_next_commit(fixture_t *f)
{
    uint64_t failures = runtime_stats(f->rt)->commit_failures;
    store_fault_arm(STORE_FAULT_SYNC, 0, -1);
    for (int i = 0; i < 5000 && runtime_stats(f->rt)->commit_failures == failures; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    store_fault_disarm();
    assert_true(runtime_stats(f->rt)->commit_failures > failures);
}

static void count_status(void *ud, const char *machine, const char *status)
{
    (void)machine;
    if (strcmp(status, "SUCCEEDED") == 0)
        (*(int *)ud)++;
}

/* An end whose commit fails is not counted: the execution is rebuilt and
 * ends again, counted once. */
static void test_end_counted_once_after_failed_commit(void **state)
{
    fixture_t *f = *state;
    close_runtime(f);
    int succeeded = 0;
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg,
                        .on_count = count_status, .on_count_ud = &succeeded};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
    const machine_ver_t *v = put(f, "waitpass",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":1,\"Next\":\"P\"},"
        "\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    started_t s;
    assert_int_equal(start_sync(f, v, cJSON_CreateObject(), &s), RUNTIME_OK);
    fail_next_commit(f);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    assert_int_equal(runtime_stats(f->rt)->succeeded, 1);
    assert_int_equal(succeeded, 1);
}

/* A COMMIT that fails while more than 256 frames are ready: the execution is
 * rebuilt from the database and then completes. */
static void test_failed_commit_with_many_ready_frames(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "waitmap",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":0,\"Next\":\"M\"},"
        "\"M\":" MAP_OF_PASS("$.xs") "}}");
    started_t s;
    assert_int_equal(start_sync(f, v, items(600), &s), RUNTIME_OK);
    /* The start is committed; a batch of the Map's iterations fails to commit. */
    fail_next_commit(f);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    cJSON *d = runtime_describe(f->rt, s.id);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "output")), 600);
    cJSON_Delete(d);
}

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* While every commit fails (a full disk) the runtime retries with a growing
 * pause instead of spinning the loop at full speed, and once the disk is
 * mended the work goes through. */
static void test_failing_disk_backs_off(void **state)
{
    fixture_t *f = *state;
    /* A Map of 600: its iterations take several batches (256 a turn). */
    const machine_ver_t *v = put(f, "waitmap",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":0,\"Next\":\"M\"},"
        "\"M\":" MAP_OF_PASS("$.xs") "}}");
    started_t s;
    assert_int_equal(start_sync(f, v, items(600), &s), RUNTIME_OK);
    uint64_t before = runtime_stats(f->rt)->commit_failures;
    store_fault_arm(STORE_FAULT_FULL, 0, -1);
    /* 400 ms of real time with a ready execution whose commits all fail. */
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    uv_timer_start(&t, stop_loop, 400, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uint64_t failed = runtime_stats(f->rt)->commit_failures - before;
    store_fault_disarm();
    assert_true(failed >= 2);
    assert_true(failed <= 12);   /* 10, 20, 40, 80, 160 ms ... not thousands */
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

typedef struct close_in_cb_s {
    fixture_t *f;
    int closed;
} close_in_cb_t;

static void close_from_waiter(void *ud)
{
    close_in_cb_t *c = ud;
    runtime_close(c->f->rt, on_closed, &c->closed);
}

/* Closing the runtime from inside one of its own callbacks (here a wait's)
 * is safe: the close happens once the callbacks of that turn are done. */
static void test_close_from_a_callback(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    started_t s = {0};
    char id[RUNTIME_ID_SIZE];
    cJSON *in = cJSON_CreateObject();
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_started, &s), RUNTIME_OK);
    cJSON_Delete(in);
    /* It ends in its first batch: the wait is answered in that batch's settling. */
    close_in_cb_t c = {f, 0};
    int rc = runtime_wait(f->rt, id, 0, close_from_waiter, &c);
    assert_int_equal(rc, RUNTIME_OK);
    for (int i = 0; i < 1000 && !c.closed; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(c.closed, 1);
    f->rt = NULL;
}

/* More synchronous Task steps in a row than one advance takes (64): the
 * frame goes on in the next turn instead of stopping for good. */
static void test_long_chain_of_sync_tasks(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "chain",
        "{\"StartAt\":\"Inc\",\"States\":{"
        "\"Inc\":{\"Type\":\"Pass\",\"Parameters\":{\"n.$\":\"States.MathAdd($.n, 1)\"},\"Next\":\"T\"},"
        "\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"Next\":\"C\"},"
        "\"C\":{\"Type\":\"Choice\",\"Choices\":[{\"Variable\":\"$.n\",\"NumericLessThan\":100,"
        "\"Next\":\"Inc\"}],\"Default\":\"Done\"},\"Done\":{\"Type\":\"Succeed\"}}}");
    started_t s;
    assert_int_equal(start_sync(f, v, cJSON_Parse("{\"n\":0}"), &s), RUNTIME_OK);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
}

typedef struct rewait_s {
    fixture_t *f;
    char id[RUNTIME_ID_SIZE];
    int calls, again, stop;
} rewait_t;

static void wait_again(void *ud)
{
    rewait_t *w = ud;
    w->calls++;
    w->again = runtime_wait(w->f->rt, w->id, 0, wait_again, w);
    w->stop = runtime_stop(w->f->rt, w->id, "E", "c", on_started, NULL);
}

/* A waiter's callback that waits for or stops the same execution again
 * learns it has ended (it aborted on an assertion before). */
static void test_wait_from_a_waiter(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "pass1",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    rewait_t w = {.f = f};
    started_t s = {0};
    cJSON *in = cJSON_CreateObject();
    assert_int_equal(runtime_start(f->rt, v, NULL, in, w.id, on_started, &s), RUNTIME_OK);
    cJSON_Delete(in);
    assert_int_equal(runtime_wait(f->rt, w.id, 0, wait_again, &w), RUNTIME_OK);
    for (int i = 0; i < 100 && !w.calls; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.again, RUNTIME_ENDED);
    assert_int_equal(w.stop, RUNTIME_ENDED);
}

/* When a Parallel fails fast, the Map iterations inside its other branch
 * stop too: nothing of them runs or is recorded after ParallelStateFailed. */
static void test_failed_branch_stops_its_grandchildren(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "zomb",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Parallel\",\"Branches\":["
        "{\"StartAt\":\"F\",\"States\":{\"F\":{\"Type\":\"Wait\",\"Seconds\":1,\"Next\":\"X\"},"
        "\"X\":{\"Type\":\"Fail\",\"Error\":\"Boom\"}}},"
        "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"ItemsPath\":\"$.xs\","
        "\"ItemProcessor\":{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":2,"
        "\"Next\":\"Q\"},\"Q\":{\"Type\":\"Pass\",\"End\":true}}},\"End\":true}}}],"
        "\"Catch\":[{\"ErrorEquals\":[\"States.ALL\"],\"Next\":\"Long\"}],\"Next\":\"Long\"},"
        "\"Long\":{\"Type\":\"Wait\",\"Seconds\":2,\"End\":true}}}");
    started_t s;
    assert_int_equal(start_sync(f, v, items(3), &s), RUNTIME_OK);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    cJSON *h = runtime_history(f->rt, s.id);
    int seen_fail = 0, after_fail = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(h, "events")) {
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(e, "type"));
        if (strcmp(t, "ParallelStateFailed") == 0)
            seen_fail = 1;
        else if (seen_fail && strstr(t, "MapIteration"))
            after_fail++;
    }
    cJSON_Delete(h);
    assert_int_equal(seen_fail, 1);
    assert_int_equal(after_fail, 0);
}

static void test_start_runs_to_success(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "echo",
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
        "\"ResultPath\":\"$.echoed\",\"End\":true}}}");
    cJSON *in = cJSON_Parse("{\"a\":1}");
    started_t s = {0};
    assert_int_equal(runtime_start(f->rt, v, NULL, in, NULL, on_started, &s), RUNTIME_OK);
    /* Durable acknowledgement: nothing is answered before the commit. */
    assert_int_equal(s.calls, 0);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, RUNTIME_OK);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    cJSON *d = runtime_describe(f->rt, s.id);
    cJSON *out = cJSON_GetObjectItem(d, "output");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "echoed"), "a")->valueint, 1);
    cJSON_Delete(d);
    cJSON *h = runtime_history(f->rt, s.id);
    cJSON *evs = cJSON_GetObjectItem(h, "events");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "type")->valuestring,
                        "ExecutionStarted");
    int n = cJSON_GetArraySize(evs);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, n - 1), "type")->valuestring,
                        "ExecutionSucceeded");
    cJSON_Delete(h);
    cJSON_Delete(in);
}

static void test_task_failure_is_caught(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "failing",
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":\"sagad:fail\","
        "\"Catch\":[{\"ErrorEquals\":[\"Boom\"],\"ResultPath\":\"$.err\",\"Next\":\"F\"}],\"End\":true},"
        "\"F\":{\"Type\":\"Fail\",\"Error\":\"Caught\",\"Cause\":\"as planned\"}}}");
    cJSON *in = cJSON_Parse("{\"error\":\"Boom\",\"cause\":\"bang\"}");
    started_t s = {0};
    assert_int_equal(runtime_start(f->rt, v, NULL, in, NULL, on_started, &s), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_string_equal(run_until_done(f, s.id), "FAILED");
    cJSON *d = runtime_describe(f->rt, s.id);
    assert_string_equal(cJSON_GetObjectItem(d, "error")->valuestring, "Caught");
    assert_string_equal(cJSON_GetObjectItem(d, "currentState")->valuestring, "F");
    cJSON_Delete(d);
    cJSON_Delete(in);
}

static void test_group_commit_batches_starts(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    started_t s[100];
    memset(s, 0, sizeof s);
    uint64_t before = runtime_stats(f->rt)->commits;
    for (int i = 0; i < 100; i++)
        assert_int_equal(runtime_start(f->rt, v, NULL, in, NULL, on_started, &s[i]), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 0; i < 100; i++)
        assert_int_equal(s[i].calls, 1);
    /* 100 starts and their whole executions in one transaction. */
    assert_int_equal(runtime_stats(f->rt)->commits - before, 1);
    assert_int_equal(runtime_stats(f->rt)->succeeded, 100);
    cJSON_Delete(in);
}

static void test_idempotent_name(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    cJSON *a = cJSON_Parse("{\"k\":1}"), *b = cJSON_Parse("{\"k\":2}");
    started_t s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0};
    char id3[RUNTIME_ID_SIZE], id4[RUNTIME_ID_SIZE], id5[RUNTIME_ID_SIZE];
    assert_int_equal(runtime_start(f->rt, v, "n", a, NULL, on_started, &s1), RUNTIME_OK);
    /* Same turn: answered with the first start, after its commit. */
    assert_int_equal(runtime_start(f->rt, v, "n", a, NULL, on_started, &s2), RUNTIME_OK);
    /* Same turn, other input: refused at once. */
    assert_int_equal(runtime_start(f->rt, v, "n", b, id3, on_started, &s3), RUNTIME_ERR_CONFLICT);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    /* After the commit: from the database, at once. */
    assert_int_equal(runtime_start(f->rt, v, "n", a, id4, on_started, &s4), RUNTIME_EXISTS);
    assert_int_equal(runtime_start(f->rt, v, "n", b, id5, on_started, &s4), RUNTIME_ERR_CONFLICT);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s1.calls, 1);
    assert_int_equal(s1.status, RUNTIME_OK);
    assert_int_equal(s2.calls, 1);
    assert_int_equal(s2.status, RUNTIME_EXISTS);
    assert_int_equal(s3.calls, 0);
    assert_int_equal(s4.calls, 0);
    assert_string_equal(s1.id, s2.id);
    assert_string_equal(s1.id, id3);
    assert_string_equal(s1.id, id4);
    assert_string_equal(s1.id, id5);
    cJSON_Delete(a);
    cJSON_Delete(b);
}

static void on_waited(void *ud)
{
    (*(int *)ud)++;
}

/* The error convention: a refusal is only returned, its callback never runs;
 * an accepted start or wait is answered once, after the loop turn. */
static void test_refusals_never_call_back(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    started_t s = {0};
    int waited = 0;
    char id[RUNTIME_ID_SIZE];
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_started, &s), RUNTIME_OK);
    assert_int_equal(runtime_wait(f->rt, id, 0, on_waited, &waited), RUNTIME_OK);
    assert_int_equal(runtime_stop(f->rt, id, NULL, NULL, on_started, &s), RUNTIME_ERR_UNKNOWN);
    assert_int_equal(s.calls + waited, 0);
    for (int i = 0; i < 3; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, RUNTIME_OK);
    assert_string_equal(s.id, id);
    assert_int_equal(waited, 1);
    assert_int_equal(runtime_wait(f->rt, id, 0, on_waited, &waited), RUNTIME_ENDED);
    assert_int_equal(runtime_stop(f->rt, id, NULL, NULL, on_started, &s), RUNTIME_ENDED);
    assert_int_equal(runtime_wait(f->rt, "nope", 0, on_waited, &waited), RUNTIME_ERR_UNKNOWN);
    assert_int_equal(runtime_stop(f->rt, "nope", NULL, NULL, on_started, &s), RUNTIME_ERR_UNKNOWN);
    cJSON *big = cJSON_CreateArray();
    for (int i = 0; i <= ASL_PAYLOAD_LIMIT / 8; i++)
        cJSON_AddItemToArray(big, cJSON_CreateString("1234567"));
    assert_int_equal(runtime_start(f->rt, v, NULL, big, id, on_started, &s), RUNTIME_ERR_INPUT);
    runtime_quiesce(f->rt);
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_started, &s), RUNTIME_ERR_STOPPING);
    assert_int_equal(runtime_wait(f->rt, s.id, 0, on_waited, &waited), RUNTIME_ERR_STOPPING);
    assert_int_equal(runtime_stop(f->rt, s.id, NULL, NULL, on_started, &s), RUNTIME_ERR_STOPPING);
    close_runtime(f);
    assert_int_equal(s.calls, 1);
    assert_int_equal(waited, 1);
    cJSON_Delete(big);
    cJSON_Delete(in);
}

static void test_recovery_by_a_new_runtime(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "wait",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":1,\"Next\":\"E\"},"
        "\"E\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\",\"End\":true}}}");
    cJSON *in = cJSON_Parse("{\"x\":7}");
    started_t s = {0};
    assert_int_equal(runtime_start(f->rt, v, NULL, in, NULL, on_started, &s), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(s.status, RUNTIME_OK);
    /* The process "dies": this runtime is dropped, a new one opens the file. */
    close_runtime(f);
    open_runtime(f);
    assert_int_equal(runtime_stats(f->rt)->open_executions, 1);
    assert_string_equal(run_until_done(f, s.id), "SUCCEEDED");
    cJSON *d = runtime_describe(f->rt, s.id);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "output"), "x")->valueint, 7);
    cJSON_Delete(d);
    cJSON_Delete(in);
}

static void test_stop_aborts(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *v = put(f, "long",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":100,\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    started_t s = {0}, st = {0};
    assert_int_equal(runtime_start(f->rt, v, NULL, in, NULL, on_started, &s), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(runtime_stop(f->rt, s.id, "Why", "because", on_started, &st), 0);
    assert_string_equal(run_until_done(f, s.id), "ABORTED");
    assert_int_equal(st.status, RUNTIME_OK);
    assert_int_equal(runtime_stop(f->rt, "nope", NULL, NULL, on_started, &st), RUNTIME_ERR_UNKNOWN);
    assert_int_equal(st.calls, 1);
    cJSON_Delete(in);
}

/* What the on_status hook saw: each status, the commit count at the call,
 * whether a transaction was open; `fail_end` makes the next end's call fail. */
typedef struct statuses_s {
    fixture_t *f;
    int n, fail_end;
    char status[8][16];
    uint64_t commits[8];
    int64_t stop_ms[8];
} statuses_t;

static int record_status(void *ud, const runtime_status_change_t *c)
{
    statuses_t *r = ud;
    assert_true(store_in_txn(r->f->st));
    assert_true(r->n < 8);
    assert_true(c->start_ms > 0 && c->input && c->machine && c->name);
    snprintf(r->status[r->n], sizeof r->status[0], "%s", c->status);
    /* runtime_open recovers before it hands out the runtime */
    r->commits[r->n] = r->f->rt ? runtime_stats(r->f->rt)->commits : 0;
    r->stop_ms[r->n++] = c->stop_ms;
    if (strcmp(c->status, "RUNNING") != 0 && r->fail_end) {
        r->fail_end = 0;
        return -1;
    }
    return 0;
}

#define WAIT_1S "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":1,\"End\":true}}}"

static const char *run_with_status_hook(fixture_t *f, statuses_t *r, const char *def)
{
    close_runtime(f);
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg,
                        .on_status = record_status, .on_status_ud = r};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
    r->f = f;
    started_t s;
    assert_int_equal(start_sync(f, put(f, "hooked", def), cJSON_CreateObject(), &s), RUNTIME_OK);
    return run_until_done(f, s.id);
}

/* One advance that starts and ends: RUNNING then SUCCEEDED, in one
 * transaction; a Wait between them: two transactions. */
static void test_status_hook_order(void **state)
{
    fixture_t *f = *state;
    statuses_t r = {0};
    assert_string_equal(run_with_status_hook(f, &r,
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"),
        "SUCCEEDED");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.status[0], "RUNNING");
    assert_string_equal(r.status[1], "SUCCEEDED");
    assert_true(r.commits[0] == r.commits[1]);
    assert_true(r.stop_ms[0] == 0 && r.stop_ms[1] > 0);
    statuses_t w = {0};
    assert_string_equal(run_with_status_hook(f, &w, WAIT_1S), "SUCCEEDED");
    assert_int_equal(w.n, 2);
    assert_string_equal(w.status[0], "RUNNING");
    assert_string_equal(w.status[1], "SUCCEEDED");
    assert_true(w.commits[0] < w.commits[1]);
}

/* A hook that fails fails the step: it rolls back, the execution is rebuilt
 * and its end written (and reported) again, ending once. */
static void test_status_hook_failure_retries_the_step(void **state)
{
    fixture_t *f = *state;
    statuses_t r = {.fail_end = 1};
    assert_string_equal(run_with_status_hook(f, &r, WAIT_1S), "SUCCEEDED");
    assert_int_equal(r.n, 3);
    assert_string_equal(r.status[0], "RUNNING");
    assert_string_equal(r.status[1], "SUCCEEDED");
    assert_string_equal(r.status[2], "SUCCEEDED");
    assert_int_equal(runtime_stats(f->rt)->succeeded, 1);
}

/* An execution that cannot be restored is ended FAILED by recovery: that
 * status change is reported too, in its transaction. */
static void test_status_hook_on_unrestorable(void **state)
{
    fixture_t *f = *state;
    started_t s;
    assert_int_equal(start_sync(f, put(f, "wait", WAIT_1S), cJSON_CreateObject(), &s), RUNTIME_OK);
    close_runtime(f);
    sql1(f, "UPDATE history SET state = '{\"c\": [' WHERE execution_id = ?", s.id);
    statuses_t r = {.f = f};
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg,
                        .on_status = record_status, .on_status_ud = &r};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
    assert_failed_because(f, s.id, "not valid JSON");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.status[0], "FAILED");
    assert_true(r.stop_ms[0] > 0);
}

static void test_prune_deletes_only_finished(void **state)
{
    fixture_t *f = *state;
    const machine_ver_t *done = put(f, "pass",
        "{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}");
    const machine_ver_t *slow = put(f, "long",
        "{\"StartAt\":\"W\",\"States\":{\"W\":{\"Type\":\"Wait\",\"Seconds\":100,\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    started_t a = {0}, b = {0};
    assert_int_equal(runtime_start(f->rt, done, NULL, in, NULL, on_started, &a), RUNTIME_OK);
    assert_int_equal(runtime_start(f->rt, slow, NULL, in, NULL, on_started, &b), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(runtime_is_done(f->rt, a.id), 1);
    /* Nothing finished before the cut-off yet. */
    assert_int_equal(runtime_prune(f->rt, store_now_ms() - 60000, 100), 0);
    assert_int_equal(runtime_prune(f->rt, store_now_ms() + 1000, 100), 1);
    assert_int_equal(runtime_is_done(f->rt, a.id), -1);
    assert_null(runtime_history(f->rt, a.id));
    assert_int_equal(runtime_is_done(f->rt, b.id), 0);
    cJSON_Delete(in);
}

/* An asynchronous handler that answers after 1.5 s; "slow.beat" sends a
 * heartbeat every 300 ms meanwhile, "slow.silent" does not. */
typedef struct slow_s {
    uv_timer_t done, beat;
    handler_call_t *call;
    int open;
} slow_t;

static void slow_closed(uv_handle_t *h)
{
    slow_t *w = h->data;
    if (--w->open == 0)
        free(w);
}

static void slow_stop(slow_t *w)
{
    uv_close((uv_handle_t *)&w->done, slow_closed);
    uv_close((uv_handle_t *)&w->beat, slow_closed);
}

static void slow_done(uv_timer_t *t)
{
    slow_t *w = t->data;
    handler_call_t *call = w->call;
    call->handler_data = NULL;
    slow_stop(w);
    call->complete(call, cJSON_CreateString("done"), NULL);
}

static void slow_beat(uv_timer_t *t)
{
    slow_t *w = t->data;
    w->call->heartbeat(w->call);
}

static int slow_start(handler_call_t *call, int beat)
{
    slow_t *w = calloc(1, sizeof *w);
    w->call = call;
    w->open = 2;
    uv_timer_init(call->loop, &w->done);
    uv_timer_init(call->loop, &w->beat);
    w->done.data = w->beat.data = w;
    uv_timer_start(&w->done, slow_done, 1500, 0);
    if (beat)
        uv_timer_start(&w->beat, slow_beat, 300, 300);
    call->handler_data = w;
    return 0;
}

static int beat_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    (void)input, (void)err;
    return slow_start(call, 1);
}

static int silent_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    (void)input, (void)err;
    return slow_start(call, 0);
}

static void slow_cancel(handler_call_t *call)
{
    if (call->handler_data)
        slow_stop(call->handler_data);
    call->handler_data = NULL;
}

static const handler_def_t slow_beat_def = {.name = "slow.beat", .start = beat_start,
                                            .cancel = slow_cancel};
static const handler_def_t slow_silent_def = {.name = "slow.silent", .start = silent_start,
                                              .cancel = slow_cancel};

/* HeartbeatSeconds: a handler that keeps sending heartbeats runs past it; a
 * silent one fails with States.HeartbeatTimeout (a TaskTimedOut event, as on
 * AWS), which Catch sees, well before the handler would have answered. */
static void test_heartbeat_seconds(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(handler_register(&slow_beat_def), 0);
    assert_int_equal(handler_register(&slow_silent_def), 0);
    const machine_ver_t *beat = put(f, "beat",
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
        "\"sagad:slow.beat\",\"HeartbeatSeconds\":1,\"TimeoutSeconds\":10,\"End\":true}}}");
    const machine_ver_t *silent = put(f, "silent",
        "{\"StartAt\":\"T\",\"States\":{\"T\":{\"Type\":\"Task\",\"Resource\":"
        "\"sagad:slow.silent\",\"HeartbeatSeconds\":1,\"TimeoutSeconds\":10,"
        "\"Catch\":[{\"ErrorEquals\":[\"States.HeartbeatTimeout\"],\"Next\":\"C\"}],"
        "\"End\":true},\"C\":{\"Type\":\"Pass\",\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    started_t a = {0}, b = {0};
    int64_t t0 = store_now_ms();
    assert_int_equal(runtime_start(f->rt, beat, NULL, in, NULL, on_started, &a), RUNTIME_OK);
    assert_int_equal(runtime_start(f->rt, silent, NULL, in, NULL, on_started, &b), RUNTIME_OK);
    uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_string_equal(run_until_done(f, b.id), "SUCCEEDED");
    assert_true(store_now_ms() - t0 >= 1000); /* not before HeartbeatSeconds */
    assert_string_equal(run_until_done(f, a.id), "SUCCEEDED");
    assert_true(store_now_ms() - t0 >= 1500);
    cJSON *d = runtime_describe(f->rt, a.id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(d, "output")), "done");
    cJSON_Delete(d);
    d = runtime_describe(f->rt, b.id);
    const cJSON *out = cJSON_GetObjectItem(d, "output");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(out, "Error")),
                        "States.HeartbeatTimeout");
    cJSON_Delete(d);
    cJSON *h = runtime_history(f->rt, b.id);
    int timed_out = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events")) {
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type")), "TaskTimedOut") == 0) {
            const cJSON *det = cJSON_GetObjectItem(ev, "details");
            assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(det, "error")),
                                "States.HeartbeatTimeout");
            timed_out++;
        }
    }
    assert_int_equal(timed_out, 1);
    cJSON_Delete(h);
    cJSON_Delete(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_heartbeat_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_runs_to_success, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_hook_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_hook_failure_retries_the_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_hook_on_unrestorable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_task_failure_is_caught, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_batches_starts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_never_call_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_by_a_new_runtime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_aborts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_deletes_only_finished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_crossing_history_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nested_maps_crossing_history_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_with_many_ready_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_limit_in_first_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fan_out_refused_early, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unrestorable_executions_fail_others_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_in_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_hooks_get_their_own_ud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_counted_once_after_failed_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_disk_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_from_a_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_chain_of_sync_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_from_a_waiter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_branch_stops_its_grandchildren, setup, teardown),
    };
    /* Forwards only until a test arms a fault. */
    if (store_fault_install() != 0)
        return 1;
    /* RUNTIME_TEST=pattern runs only the matching tests. */
    if (getenv("RUNTIME_TEST"))
        cmocka_set_test_filter(getenv("RUNTIME_TEST"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
