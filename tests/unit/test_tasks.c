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

static void test_failed_commit_leaves_the_token_waiting(void **state)
{
    tfix_t *f = *state;
    const machine_ver_t *v = define(f, "act", ACT_DEF);
    char id[RUNTIME_ID_SIZE];
    start(f, v, id);
    polled_t p = {0};
    poll_once(f, "work", 1000, &p);
    assert_int_equal(strlen(p.token), 48);
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

    answer_t a = {0};
    cJSON *out = cJSON_Parse("{\"paymentId\":\"p-1\"}");
    assert_int_equal(tasks_succeed(f->rt, p.token, out, on_answer, &a), RUNTIME_OK);
    cJSON_Delete(out);
    spin_until(f, &a.calls);
    assert_int_equal(a.status, RUNTIME_OK);
    assert_string_equal(status_of(f, id), "SUCCEEDED");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_commit_leaves_the_token_waiting, tsetup,
                                        tteardown),
        cmocka_unit_test_setup_teardown(test_delegated_call_gets_its_own_token_and_finish,
                                        tsetup, tteardown),
        cmocka_unit_test_setup_teardown(test_poll_rules, tsetup, tteardown),
    };
    if (store_fault_install() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
