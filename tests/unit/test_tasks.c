/* Unit tests for task tokens, activities and reports (engine/tasks.h) on a
 * real SQLite file and libuv loop: a report whose commit fails leaves the
 * token waiting, a delegating handler gets its own report token and its
 * finish, polls follow the callback rules, and a new runtime on the same
 * database queues delivered tasks again with the same tokens. */
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
#include "engine/tasks.h"
#include "handlers/handlers.h"
#include "store/db.h"
#include "store/fault.h"
#include "testdb.h"

typedef struct tfix_s {
    char path[64];
    uv_loop_t loop;
    config_t cfg;
    store_t *st;
    machines_t *reg;
    runtime_t *rt;
} tfix_t;

typedef struct answer_s {
    int calls;
    runtime_status_t status;
} answer_t;

typedef struct polled_s {
    int calls;
    char token[64];
    char input[256];
    int refuse;   /* answer -1: the poller is gone */
} polled_t;

static int finish_calls;
static char finish_seen[256];

static void on_answer(void *ud, runtime_status_t status, const char *id)
{
    answer_t *a = ud;
    (void)id;
    a->calls++;
    a->status = status;
}

static int on_polled(void *ud, const char *token, const char *input)
{
    polled_t *p = ud;
    p->calls++;
    snprintf(p->token, sizeof p->token, "%s", token ? token : "");
    snprintf(p->input, sizeof p->input, "%s", input ? input : "");
    return p->refuse ? -1 : 0;
}

/* A handler that hands every call to activity "delegated"; finish records
 * what the worker reported and adds a field. */
static int deleg_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    (void)input;
    if (call->delegate(call, "delegated") < 0)
        return asl_error_set(err, ASL_E_TASK_FAILED, "cannot delegate");
    return 0;
}

static int deleg_finish(handler_call_t *call, cJSON **result, asl_error_t *err)
{
    (void)call;
    (void)err;
    finish_calls++;
    char *s = cJSON_PrintUnformatted(*result);
    snprintf(finish_seen, sizeof finish_seen, "%s", s ? s : "");
    free(s);
    cJSON_AddBoolToObject(*result, "finished", 1);
    return 0;
}

static const handler_def_t deleg_def = {.name = "deleg", .start = deleg_start,
                                        .finish = deleg_finish, .delegates = 1};

static void rt_open(tfix_t *f)
{
    runtime_opts_t o = {.loop = &f->loop, .store = f->st, .machines = f->reg, .cfg = &f->cfg};
    assert_int_equal(runtime_open(&o, &f->rt), 0);
}

static void flag_closed(void *ud)
{
    *(int *)ud = 1;
}

static void rt_close(tfix_t *f)
{
    int closed = 0;
    runtime_close(f->rt, flag_closed, &closed);
    while (!closed)
        uv_run(&f->loop, UV_RUN_ONCE);
    f->rt = NULL;
}

static int tsetup(void **state)
{
    tfix_t *f = calloc(1, sizeof *f);
    strcpy(f->path, "/tmp/sagad-tk-XXXXXX");
    if (testdb_path(f->path) < 0)
        return -1;
    uv_loop_init(&f->loop);
    config_defaults(&f->cfg);
    char err[256];
    if (store_open(f->path, &f->st, err, sizeof err) < 0 || machines_open(f->st, &f->reg) < 0)
        return -1;
    handler_reset();
    handlers_register_builtin();
    handler_register(&deleg_def);
    finish_calls = 0;
    rt_open(f);
    *state = f;
    return 0;
}

static int tteardown(void **state)
{
    tfix_t *f = *state;
    if (f->rt)
        rt_close(f);
    machines_close(f->reg);
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    testdb_remove(f->path);
    handler_reset();
    free(f);
    return 0;
}

static const machine_ver_t *define(tfix_t *f, const char *name, const char *def)
{
    const machine_ver_t *v = NULL;
    asl_problems_t p;
    asl_problems_init(&p);
    int rc = machines_put(f->reg, name, def, strlen(def), &p, &v);
    asl_problems_free(&p);
    assert_true(rc > 0);
    return v;
}

/* Runs the loop (~ms turns) until *flag is non-zero or about 5 s passed. */
static void spin_until(tfix_t *f, const int *flag)
{
    for (int i = 0; i < 5000 && !*flag; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void spin(tfix_t *f, int turns)
{
    for (int i = 0; i < turns; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

static void start(tfix_t *f, const machine_ver_t *v, char id[RUNTIME_ID_SIZE])
{
    answer_t a = {0};
    cJSON *in = cJSON_Parse("{\"n\":1}");
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_answer, &a), RUNTIME_OK);
    cJSON_Delete(in);
    spin_until(f, &a.calls);
    assert_int_equal(a.status, RUNTIME_OK);
}

static const char *status_of(tfix_t *f, const char *id)
{
    static char st[32];
    for (int i = 0; i < 5000; i++) {
        cJSON *d = runtime_describe(f->rt, id);
        snprintf(st, sizeof st, "%s",
                 d ? cJSON_GetStringValue(cJSON_GetObjectItem(d, "status")) : "?");
        cJSON_Delete(d);
        if (strcmp(st, "RUNNING") != 0)
            return st;
        spin(f, 1);
    }
    return st;
}

/* Defines machine `name` of one Task state with these fields (JSON members). */
static const machine_ver_t *one_task(tfix_t *f, const char *name, const char *fields)
{
    char def[512];
    snprintf(def, sizeof def,
             "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\",%s,\"End\":true}}}",
             fields);
    return define(f, name, def);
}

static const char ACT_DEF[] =
    "{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Task\","
    "\"Resource\":\"sagad:activity:work\",\"End\":true}}}";

/* Polls activity `name` and runs the loop until the poll is answered. */
static void poll_once(tfix_t *f, const char *name, int64_t wait_ms, polled_t *p)
{
    tasks_poll_t *h;
    int before = p->calls;
    assert_int_equal(tasks_poll(f->rt, name, "w", wait_ms, on_polled, p, &h), RUNTIME_OK);
    assert_int_equal(p->calls, before);   /* never from inside tasks_poll */
    for (int i = 0; i < 5000 && p->calls == before; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    assert_int_equal(p->calls, before + 1);
}

/* Reports success with `output` (JSON text) for `token`: answered OK once
 * committed, and execution `id` then SUCCEEDED. */
static void succeed_to_the_end(tfix_t *f, const char *token, const char *output, const char *id)
{
    answer_t a = {0};
    cJSON *out = cJSON_Parse(output);
    assert_int_equal(tasks_succeed(f->rt, token, out, on_answer, &a), RUNTIME_OK);
    cJSON_Delete(out);
    spin_until(f, &a.calls);
    assert_int_equal(a.status, RUNTIME_OK);
    assert_string_equal(status_of(f, id), "SUCCEEDED");
}

/* Starts an execution of ACT_DEF and takes its task with one poll. */
static void start_and_take(tfix_t *f, char id[RUNTIME_ID_SIZE], polled_t *p)
{
    const machine_ver_t *v = define(f, "act", ACT_DEF);
    start(f, v, id);
    poll_once(f, "work", 1000, p);
    assert_int_equal(strlen(p->token), 48);
}

static void test_failed_commit_leaves_the_token_waiting(void **state)
{
    tfix_t *f = *state;
    char id[RUNTIME_ID_SIZE];
    polled_t p = {0};
    start_and_take(f, id, &p);
    assert_string_equal(p.input, "{\"n\":1}");

    answer_t a = {0};
    cJSON *out = cJSON_Parse("{\"ok\":1}");
    store_fault_arm(STORE_FAULT_SYNC, 0, -1);
    assert_int_equal(tasks_succeed(f->rt, p.token, out, on_answer, &a), RUNTIME_OK);
    /* Taken off the table at once: a second report finds nothing. */
    assert_int_equal(tasks_succeed(f->rt, p.token, out, on_answer, &a), RUNTIME_ERR_UNKNOWN);
    spin_until(f, &a.calls);
    store_fault_disarm();
    assert_int_equal(a.status, RUNTIME_ERR_STORAGE);
    /* Rebuilt from the database: waiting again, with the same token. */
    assert_string_equal(status_of(f, id), "RUNNING");
    a.calls = 0;
    int rc = RUNTIME_ERR_UNKNOWN;
    for (int i = 0; i < 2000 && rc != RUNTIME_OK; i++) {
        rc = tasks_succeed(f->rt, p.token, out, on_answer, &a);
        if (rc != RUNTIME_OK)
            spin(f, 1);
    }
    assert_int_equal(rc, RUNTIME_OK);
    spin_until(f, &a.calls);
    assert_int_equal(a.status, RUNTIME_OK);
    assert_string_equal(status_of(f, id), "SUCCEEDED");
    cJSON_Delete(out);
}

static void test_delegated_call_gets_its_own_token_and_finish(void **state)
{
    tfix_t *f = *state;
    const machine_ver_t *v = define(
        f, "dg", "{\"StartAt\":\"D\",\"States\":{\"D\":{\"Type\":\"Task\","
                 "\"Resource\":\"sagad:deleg\",\"Parameters\":{\"tok.$\":\"$$.Task.Token\"},"
                 "\"End\":true}}}");
    char id[RUNTIME_ID_SIZE];
    start(f, v, id);
    assert_true(tasks_activity_exists(f->rt, "delegated"));
    polled_t p = {0};
    poll_once(f, "delegated", 1000, &p);
    assert_int_equal(strlen(p.token), 48);
    /* The report token is not the predictable $$.Task.Token the input holds. */
    assert_null(strstr(p.input, p.token));
    assert_non_null(strstr(p.input, id));

    /* A new runtime on the same database queues it again, same token. */
    rt_close(f);
    rt_open(f);
    polled_t again = {0};
    poll_once(f, "delegated", 1000, &again);
    assert_string_equal(again.token, p.token);

    succeed_to_the_end(f, p.token, "{\"paymentId\":\"p-1\"}", id);
    assert_int_equal(finish_calls, 1);
    assert_string_equal(finish_seen, "{\"paymentId\":\"p-1\"}");
    cJSON *d = runtime_describe(f->rt, id);
    char *o = cJSON_PrintUnformatted(cJSON_GetObjectItem(d, "output"));
    assert_string_equal(o, "{\"paymentId\":\"p-1\",\"finished\":true}");
    free(o);
    cJSON_Delete(d);
}

static void test_poll_rules(void **state)
{
    tfix_t *f = *state;
    polled_t p = {0};
    tasks_poll_t *h = NULL;
    /* Refusals never call back. */
    assert_int_equal(tasks_poll(f->rt, "nothing", NULL, 10, on_polled, &p, &h),
                     RUNTIME_ERR_UNKNOWN);
    int64_t created;
    assert_int_equal(tasks_activity_create(f->rt, "bad name", &created), RUNTIME_ERR_INPUT);
    assert_int_equal(tasks_activity_create(f->rt, "work", &created), 0);
    /* A cancelled poll is never answered. */
    assert_int_equal(tasks_poll(f->rt, "work", NULL, 20, on_polled, &p, &h), RUNTIME_OK);
    tasks_poll_cancel(h);
    spin(f, 60);
    assert_int_equal(p.calls, 0);
    /* Nothing in time: answered with no task. */
    poll_once(f, "work", 10, &p);
    assert_string_equal(p.token, "");
    /* A gone poller's task waits for the next one. */
    const machine_ver_t *v = define(f, "act", ACT_DEF);
    char id[RUNTIME_ID_SIZE];
    start(f, v, id);
    polled_t gone = {.refuse = 1};
    poll_once(f, "work", 1000, &gone);
    assert_int_equal(strlen(gone.token), 48);
    polled_t next = {0};
    poll_once(f, "work", 1000, &next);
    assert_string_equal(next.token, gone.token);
    assert_int_equal(runtime_stats(f->rt)->activity_running, 1);
    assert_int_equal(runtime_stats(f->rt)->activity_waiting, 0);
    /* Closing answers parked polls with nothing. */
    polled_t parked = {0};
    assert_int_equal(tasks_poll(f->rt, "work", NULL, 60000, on_polled, &parked, &h), RUNTIME_OK);
    rt_close(f);
    assert_int_equal(parked.calls, 1);
    assert_string_equal(parked.token, "");
}

/* Starts an execution of one_task(name, fields) and, `ms` later, finds its
 * task still queued and takes it with a poll of `activity` that waits up to
 * wait_ms. */
static void start_queued_take(tfix_t *f, const char *name, const char *fields,
                              char id[RUNTIME_ID_SIZE], int ms, const char *activity,
                              int64_t wait_ms, polled_t *p)
{
    start(f, one_task(f, name, fields), id);
    spin(f, ms);
    assert_int_equal(runtime_stats(f->rt)->activity_waiting, 1);
    poll_once(f, activity, wait_ms, p);
    assert_int_equal(strlen(p->token), 48);
}

/* A poll that does not wait still takes a task that is already queued. */
static void test_poll_without_wait_takes_a_queued_task(void **state)
{
    tfix_t *f = *state;
    char id[RUNTIME_ID_SIZE];
    polled_t p = {0};
    start_queued_take(f, "act", "\"Resource\":\"sagad:activity:work\"", id, 5, "work", 0, &p);
    assert_string_equal(p.input, "{\"n\":1}");
    assert_int_equal(runtime_stats(f->rt)->activity_waiting, 0);
}

#define MAP_N 300   /* more waiting frames of one execution than one batch takes */

/* Reports for many frames of one execution, in one turn: each is answered
 * once the advance that records it has committed, not before (a commit that
 * fails afterwards cannot bring back a token already answered) and not
 * after another batch (whose failure would answer it StorageError). */
static void test_report_answered_only_after_its_own_commit(void **state)
{
    tfix_t *f = *state;
    const machine_ver_t *v = define(
        f, "map", "{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\","
                  "\"ItemsPath\":\"$.items\",\"ItemProcessor\":{\"StartAt\":\"A\","
                  "\"States\":{\"A\":{\"Type\":\"Task\","
                  "\"Resource\":\"sagad:activity:work\",\"End\":true}}},\"End\":true}}}");
    cJSON *in = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(in, "items");
    for (int i = 0; i < MAP_N; i++)
        cJSON_AddItemToArray(items, cJSON_CreateNumber(i));
    char id[RUNTIME_ID_SIZE];
    answer_t started = {0};
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_answer, &started), RUNTIME_OK);
    cJSON_Delete(in);
    spin_until(f, &started.calls);
    for (int i = 0; i < 5000 && runtime_stats(f->rt)->activity_waiting < MAP_N; i++)
        spin(f, 1);
    assert_int_equal(runtime_stats(f->rt)->activity_waiting, MAP_N);

    static polled_t p[MAP_N];
    static answer_t a[MAP_N];
    memset(p, 0, sizeof p);
    memset(a, 0, sizeof a);
    for (int i = 0; i < MAP_N; i++) {
        poll_once(f, "work", 1000, &p[i]);
        assert_int_equal(strlen(p[i].token), 48);
    }
    cJSON *out = cJSON_Parse("{\"ok\":1}");
    for (int i = 0; i < MAP_N; i++)
        assert_int_equal(tasks_succeed(f->rt, p[i].token, out, on_answer, &a[i]), RUNTIME_OK);
    /* One batch (one loop turn) commits MAX_BATCH of the advances; then no
     * commit succeeds any more. */
    uv_run(&f->loop, UV_RUN_NOWAIT);
    int answered = 0;
    for (int i = 0; i < MAP_N; i++)
        answered += a[i].calls;
    assert_true(answered > 0 && answered < MAP_N);
    int ok_before[MAP_N];
    for (int i = 0; i < MAP_N; i++)
        ok_before[i] = a[i].calls == 1 && a[i].status == RUNTIME_OK;
    store_fault_arm(STORE_FAULT_SYNC, 0, -1);
    int all = 0;
    for (int t = 0; t < 5000 && !all; t++) {
        spin(f, 1);
        all = 1;
        for (int i = 0; i < MAP_N; i++)
            all &= a[i].calls == 1;
    }
    store_fault_disarm();
    assert_true(all);
    spin(f, 20);
    /* An answered report won: its token is gone for good. One answered
     * StorageError was not recorded: its token waits again. */
    static answer_t again[MAP_N];
    memset(again, 0, sizeof again);
    for (int i = 0; i < MAP_N; i++) {
        assert_true(a[i].status == RUNTIME_OK || a[i].status == RUNTIME_ERR_STORAGE);
        assert_int_equal(a[i].status == RUNTIME_OK, ok_before[i]);
        assert_int_equal(tasks_succeed(f->rt, p[i].token, out, on_answer, &again[i]),
                         ok_before[i] ? RUNTIME_ERR_UNKNOWN : RUNTIME_OK);
    }
    for (int i = 0; i < MAP_N; i++)
        if (!ok_before[i])
            spin_until(f, &again[i].calls);
    cJSON_Delete(out);
}

/* A report and a stop in the same turn: the stop ends the execution before
 * the report's advance, so the report is not recorded and must not be
 * answered as if it had been. */
static void test_report_overtaken_by_a_stop_is_not_answered_ok(void **state)
{
    tfix_t *f = *state;
    char id[RUNTIME_ID_SIZE];
    polled_t p = {0};
    start_and_take(f, id, &p);
    answer_t a = {0}, stopped = {0};
    cJSON *out = cJSON_Parse("{\"ok\":1}");
    assert_int_equal(tasks_succeed(f->rt, p.token, out, on_answer, &a), RUNTIME_OK);
    cJSON_Delete(out);
    assert_int_equal(runtime_stop(f->rt, id, "Stop", "by the test", on_answer, &stopped),
                     RUNTIME_OK);
    spin_until(f, &a.calls);
    spin_until(f, &stopped.calls);
    assert_string_equal(status_of(f, id), "ABORTED");
    cJSON *h = runtime_history(f->rt, id);
    char *text = cJSON_PrintUnformatted(h);
    int recorded = strstr(text, "TaskSucceeded") != NULL;
    free(text);
    cJSON_Delete(h);
    /* 200 only for a report that is in the history. */
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status == RUNTIME_OK, recorded);
    assert_int_equal(a.status, RUNTIME_ERR_UNKNOWN);
}

/* An activity first named by a Task whose commit failed does not exist on
 * disk: creating it then must write it, so that it outlives a restart. */
static void test_activity_created_after_a_failed_commit_is_durable(void **state)
{
    tfix_t *f = *state;
    const machine_ver_t *v = one_task(f, "fresh", "\"Resource\":\"sagad:activity:fresh\"");
    answer_t a = {0};
    cJSON *in = cJSON_Parse("{}");
    char id[RUNTIME_ID_SIZE];
    store_fault_arm(STORE_FAULT_SYNC, 0, -1);
    assert_int_equal(runtime_start(f->rt, v, NULL, in, id, on_answer, &a), RUNTIME_OK);
    cJSON_Delete(in);
    spin_until(f, &a.calls);
    store_fault_disarm();
    assert_int_equal(a.status, RUNTIME_ERR_STORAGE);
    int64_t created = 0;
    assert_int_equal(tasks_activity_create(f->rt, "fresh", &created), 0);
    rt_close(f);
    rt_open(f);
    assert_true(tasks_activity_exists(f->rt, "fresh"));
}

/* A delegated call is an activity task like any other: its HeartbeatSeconds
 * count from when a worker takes it, not while it waits in the queue. */
static void test_delegated_call_heartbeat_counts_from_delivery(void **state)
{
    tfix_t *f = *state;
    char id[RUNTIME_ID_SIZE];
    polled_t p = {0};
    start_queued_take(f, "dgh", "\"Resource\":\"sagad:deleg\",\"HeartbeatSeconds\":1", id,
                      1500, "delegated", 1000, &p);
    succeed_to_the_end(f, p.token, "{\"paymentId\":\"p-2\"}", id);
}

/* The token of the last TaskScheduled of execution `id` ("" when none). */
static void token_from_history(tfix_t *f, const char *id, char out[64])
{
    out[0] = '\0';
    cJSON *h = runtime_history(f->rt, id);
    const cJSON *ev;
    cJSON_ArrayForEach(ev, cJSON_GetObjectItem(h, "events"))
    {
        const cJSON *t = cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "details"), "parameters"), "token");
        if (cJSON_IsString(t))
            snprintf(out, 64, "%s", t->valuestring);
    }
    cJSON_Delete(h);
}

/* A callback Task whose synchronous handler is left for the next turn by the
 * bound on steps per advance: that advance records no event, only the
 * frame's new state, and the report after it still commits. */
static void test_callback_after_the_chain_bound_can_be_reported(void **state)
{
    tfix_t *f = *state;
    char def[16384];
    size_t n = (size_t)snprintf(def, sizeof def, "{\"StartAt\":\"S0\",\"States\":{");
    for (int i = 0; i < 63; i++)
        n += (size_t)snprintf(def + n, sizeof def - n,
                              "\"S%d\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo\","
                              "\"Next\":\"S%d\"},", i, i + 1);
    snprintf(def + n, sizeof def - n,
             "\"S63\":{\"Type\":\"Task\",\"Resource\":\"sagad:echo.waitForTaskToken\","
             "\"Parameters\":{\"token.$\":\"$$.Task.Token\"},\"End\":true}}}");
    const machine_ver_t *v = define(f, "chain", def);
    char id[RUNTIME_ID_SIZE], token[64] = "";
    start(f, v, id);
    for (int i = 0; i < 2000 && runtime_stats(f->rt)->tokens_waiting == 0; i++)
        spin(f, 1);
    token_from_history(f, id, token);
    assert_int_equal(strlen(token), 48);
    /* Its saved state says the handler ran: a restart waits, same token. */
    store_stmt_t *q = store_prepare(f->st, "SELECT state FROM history WHERE execution_id = ? "
                                           "ORDER BY first_id DESC LIMIT 1");
    assert_non_null(q);
    store_bind_text(q, 1, id);
    assert_int_equal(store_step(q), STORE_ROW);
    assert_non_null(strstr(store_col_text(q, 0), "\"w\":true"));
    store_reset(q);
    rt_close(f);
    rt_open(f);
    spin(f, 20);
    succeed_to_the_end(f, token, "{\"done\":true}", id);
}

/* Resident memory in KiB (from /proc/self/statm). */
static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(fp);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Heartbeats push the HeartbeatSeconds deadline out without costing memory:
 * a worker that heartbeats often must not grow the daemon for as long as
 * HeartbeatSeconds. */
static void test_heartbeats_do_not_pile_up(void **state)
{
    tfix_t *f = *state;
    char id[RUNTIME_ID_SIZE];
    polled_t p = {0};
    start_queued_take(f, "hb", "\"Resource\":\"sagad:activity:work\",\"HeartbeatSeconds\":3600",
                      id, 5, "work", 1000, &p);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(tasks_heartbeat(f->rt, p.token), RUNTIME_OK);
    long before = rss_kib();
    for (int i = 0; i < 300000; i++)
        assert_int_equal(tasks_heartbeat(f->rt, p.token), RUNTIME_OK);
    long grown = rss_kib() - before;
    assert_true(grown < 2048);
    succeed_to_the_end(f, p.token, "{}", id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_commit_leaves_the_token_waiting, tsetup,
                                        tteardown),
        cmocka_unit_test_setup_teardown(test_delegated_call_gets_its_own_token_and_finish,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_poll_rules, tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_poll_without_wait_takes_a_queued_task, tsetup,
                                        tteardown),
        cmocka_unit_test_setup_teardown(test_report_answered_only_after_its_own_commit, tsetup,
                                        tteardown),
        cmocka_unit_test_setup_teardown(test_report_overtaken_by_a_stop_is_not_answered_ok,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_activity_created_after_a_failed_commit_is_durable,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_delegated_call_heartbeat_counts_from_delivery,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_callback_after_the_chain_bound_can_be_reported,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_heartbeats_do_not_pile_up, tsetup, tteardown),
    };
    if (store_fault_install() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
