/* Unit tests for the payment providers against a real SQLite file: which
 * handlers the config selects, and the activity flavour's start (what it
 * hands to the runtime's delegate hook) and finish (the payments rows it
 * writes from a worker's report). The HTTP flavour runs against a real
 * provider in tests/integration/test_payment_provider.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "core/config.h"
#include "engine/handler.h"
#include "order/payment.h"
#include "order/schema.h"
#include "store/db.h"
#include "testdb.h"

typedef struct {
    char path[64];
    store_t *st;
    config_t cfg;
    char delegated[128];   /* the activity start handed the call to */
    int refuse;            /* the delegate hook fails */
    cJSON *completed;      /* what a call answered by itself (complete) */
    int n_completed;
} ctx_t;

static ctx_t *current;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    char err[256];
    snprintf(c->path, sizeof c->path, "/tmp/sagad-payment-%d.db", (int)getpid());
    testdb_remove(c->path);
    if (order_schema_register() < 0 || store_open(c->path, &c->st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    config_defaults(&c->cfg);
    /* The orders these tests charge: PENDING, as orders.create leaves them
     * (payment.process charges no other). */
    if (sqlite3_exec(store_db(c->st),
                     "INSERT INTO orders (order_id, execution_id, item_id, quantity, status, "
                     "created_ms, updated_ms) SELECT column1, 'x', 'beans', 1, 'PENDING', 0, 0 "
                     "FROM (VALUES ('o'), ('o-1'), ('o-2'), ('o-3'), ('o-r'), ('o-h'))",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    current = c;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    current = NULL;
    store_close(c->st);
    testdb_remove(c->path);
    free(c);
    return 0;
}

static int64_t count(ctx_t *c, const char *sql)
{
    return testdb_int(c->st, sql);
}

static void test_config_selects_the_handlers(void **state)
{
    ctx_t *c = *state;
    const handler_def_t *p, *r;
    order_payment_handlers(NULL, &p, &r);
    assert_ptr_equal(p, &order_payment_process_sync);
    assert_ptr_equal(r, &order_payment_refund);
    c->cfg.payment_latency_ms = 5;
    order_payment_handlers(&c->cfg, &p, &r);
    assert_ptr_equal(p, &order_payment_process_async);
    assert_ptr_equal(r, &order_payment_refund);
    c->cfg.payment_provider = CONFIG_PAYMENT_HTTP;
    strcpy(c->cfg.payment_url, "http://127.0.0.1:1/pay");
    order_payment_handlers(&c->cfg, &p, &r);
    assert_ptr_equal(p, &order_payment_process_http);
    assert_ptr_equal(r, &order_payment_refund_http);
    c->cfg.payment_provider = CONFIG_PAYMENT_ACTIVITY;
    order_payment_handlers(&c->cfg, &p, &r);
    assert_ptr_equal(p, &order_payment_process_activity);
    assert_ptr_equal(r, &order_payment_refund_activity);
    /* Every outside flavour is asynchronous under the saga's names; only the
     * activity one delegates. */
    const handler_def_t *outside[] = {&order_payment_process_http, &order_payment_refund_http,
                                      &order_payment_process_activity,
                                      &order_payment_refund_activity};
    for (size_t i = 0; i < 4; i++) {
        assert_null(outside[i]->run);
        assert_non_null(outside[i]->start);
        assert_non_null(outside[i]->finish);
        assert_non_null(outside[i]->cancel);
        assert_int_equal(outside[i]->delegates, i >= 2);
        assert_string_equal(outside[i]->name, i % 2 ? "payment.refund" : "payment.process");
    }
}

static int record_delegate(handler_call_t *call, const char *activity)
{
    (void)call;
    if (current->refuse)
        return -1;
    snprintf(current->delegated, sizeof current->delegated, "%s", activity);
    return 0;
}

static void record_complete(handler_call_t *call, cJSON *result, const asl_error_t *err)
{
    (void)call;
    assert_null(err);
    current->completed = result;
    current->n_completed++;
}

/* Starts an activity flavour, then (when `report` is not NULL) finishes it
 * with that worker output, each in a transaction as the runtime does; a
 * start that did not delegate answers from the loop, and finish gets that.
 * Returns finish's result (caller frees) or NULL when start or finish
 * failed (then `e` says why). */
static cJSON *delegated(ctx_t *c, const handler_def_t *d, const char *token, const char *input,
                        const char *report, asl_error_t *e)
{
    cJSON *in = cJSON_Parse(input);
    assert_non_null(in);
    char exec_id[64];   /* the token's first part */
    snprintf(exec_id, sizeof exec_id, "%.*s", (int)strcspn(token, ":"), token);
    handler_call_t call = {.store = c->st, .cfg = &c->cfg, .execution_id = exec_id,
                           .state_name = "Pay", .token = token, .now_ms = store_now_ms(),
                           .delegate = record_delegate, .loop = uv_default_loop(),
                           .complete = record_complete};
    c->delegated[0] = '\0';
    c->completed = NULL;
    c->n_completed = 0;
    /* A start runs between the runtime's transactions. */
    int rc = d->start(&call, in, e);
    assert_false(store_in_txn(c->st));
    cJSON *out = NULL;
    if (rc == 0 && !c->delegated[0]) {
        uv_run(uv_default_loop(), UV_RUN_DEFAULT);
        assert_int_equal(c->n_completed, 1);
        assert_null(call.handler_data);
        out = c->completed;
    } else if (rc == 0 && report) {
        out = cJSON_Parse(report);
        assert_non_null(out);
    } else if (rc == 0) {
        d->cancel(&call);
        assert_null(call.handler_data);
    }
    if (out) {
        assert_int_equal(store_begin(c->st), 0);
        if (d->finish(&call, &out, e) < 0) {
            cJSON_Delete(out);
            out = NULL;
        }
        assert_int_equal(store_commit(c->st), 0);
    }
    cJSON_Delete(in);
    return out;
}

/* `got` equals the JSON text `want` (keys in any order). */
static void assert_json(const cJSON *got, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    assert_non_null(w);
    char *text = cJSON_PrintUnformatted(got);
    if (!cJSON_Compare(got, w, 1))
        fail_msg("got %s, want %s", text ? text : "(null)", want);
    free(text);
    cJSON_Delete(w);
}

/* The made-up paymentId of a charge result: a UUID. */
static void assert_uuid_payment(const cJSON *r)
{
    const char *pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "paymentId"));
    assert_non_null(pid);
    assert_int_equal(strlen(pid), 36);
}

static void test_activity_charge(void **state)
{
    ctx_t *c = *state;
    const handler_def_t *d = &order_payment_process_activity;
    asl_error_t e = {0};
    strcpy(c->cfg.payment_activity, "shop");
    cJSON *r = delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"o-1\",\"amount\":3}",
                         "{\"paymentId\":\"w-1\",\"extra\":true}", &e);
    assert_non_null(r);
    assert_string_equal(c->delegated, "shop.charge");
    assert_json(r, "{\"paymentId\":\"w-1\",\"orderId\":\"o-1\",\"amount\":3,"
                   "\"status\":\"CHARGED\"}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE payment_id = 'w-1' AND "
                              "token = 'exec-p:Pay:1:0' AND amount = 3 AND status = 'CHARGED'"),
                     1);

    /* The same token reported again keeps its first payment. */
    r = delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"o-1\",\"amount\":3}",
                  "{\"paymentId\":\"w-2\"}", &e);
    assert_non_null(r);
    assert_json(r, "{\"paymentId\":\"w-1\",\"orderId\":\"o-1\",\"amount\":3,"
                   "\"status\":\"CHARGED\"}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE order_id = 'o-1'"), 1);

    /* No usable paymentId (absent, not a string, empty, too long): a UUID. */
    char long_id[300] = "{\"paymentId\":\"";
    memset(long_id + strlen(long_id), 'x', 201);
    strcat(long_id, "\"}");
    const char *reports[] = {"null", "{}", "{\"paymentId\":7}", "{\"paymentId\":\"\"}", long_id};
    for (int i = 0; i < 5; i++) {
        char token[32];
        snprintf(token, sizeof token, "exec-p:Pay:%d:0", 10 + i);
        r = delegated(c, d, token, "{\"orderId\":\"o-2\",\"amount\":1}", reports[i], &e);
        assert_non_null(r);
        assert_uuid_payment(r);
        cJSON_Delete(r);
    }
    assert_int_equal(count(c, "SELECT count(DISTINCT payment_id) FROM payments "
                              "WHERE order_id = 'o-2'"), 5);

    /* A paymentId another charge has: refused, nothing written. */
    r = delegated(c, d, "exec-p:Pay:20:0", "{\"orderId\":\"o-3\",\"amount\":1}",
                  "{\"paymentId\":\"w-1\"}", &e);
    assert_null(r);
    assert_string_equal(e.error, "States.TaskFailed");
    assert_non_null(strstr(e.cause, "'w-1'"));
    asl_error_clear(&e);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE order_id = 'o-3'"), 0);
}

static void test_activity_start_refusals(void **state)
{
    ctx_t *c = *state;
    const handler_def_t *d = &order_payment_process_activity;
    asl_error_t e = {0};
    /* Malformed input fails before any worker sees it. */
    assert_null(delegated(c, d, "exec-p:Pay:1:0", "{\"amount\":3}", "{}", &e));
    assert_string_equal(e.error, "InvalidInput");
    assert_string_equal(c->delegated, "");
    asl_error_clear(&e);
    assert_null(delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"o\",\"amount\":-1}", "{}", &e));
    assert_string_equal(c->delegated, "");
    asl_error_clear(&e);
    /* No PENDING order of that id: refused before any worker sees it. */
    assert_null(delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"made-up\"}", "{}", &e));
    assert_string_equal(e.error, "OrderNotFound");
    assert_string_equal(c->delegated, "");
    asl_error_clear(&e);
    /* The runtime refusing the hand-over fails the call. */
    c->refuse = 1;
    assert_null(delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"o\"}", "{}", &e));
    assert_string_equal(e.error, "States.TaskFailed");
    assert_non_null(strstr(e.cause, "payment.charge"));
    asl_error_clear(&e);
    c->refuse = 0;
    /* Delegated, then given up on (timeout, stop): nothing written. */
    assert_null(delegated(c, d, "exec-p:Pay:1:0", "{\"orderId\":\"o\"}", NULL, &e));
    assert_string_equal(c->delegated, "payment.charge");
    assert_int_equal(count(c, "SELECT count(*) FROM payments"), 0);
}

static void test_activity_refund(void **state)
{
    ctx_t *c = *state;
    asl_error_t e = {0};
    cJSON *r = delegated(c, &order_payment_process_activity, "exec-p:Pay:1:0",
                         "{\"orderId\":\"o-r\",\"amount\":4}", "{\"paymentId\":\"w-r\"}", &e);
    cJSON_Delete(r);
    r = delegated(c, &order_payment_refund_activity, "exec-p:Refund:2:0", "{\"orderId\":\"o-r\"}",
                  "{\"whatever\":1}", &e);
    assert_non_null(r);
    assert_string_equal(c->delegated, "payment.refund");
    assert_json(r, "{\"orderId\":\"o-r\",\"refunded\":1,\"amount\":4}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE order_id = 'o-r' AND "
                              "status = 'REFUNDED'"), 1);
    assert_int_equal(count(c, "SELECT count(*) FROM refunds WHERE order_id = 'o-r' AND "
                              "status = 'REFUNDED' AND refunded = 1 AND amount = 4"), 1);
    /* Again, by a retry or by another step: the first answer, no worker. */
    const char *again[] = {"exec-p:Refund:2:1", "exec-q:Undo:7:0"};
    for (int i = 0; i < 2; i++) {
        r = delegated(c, &order_payment_refund_activity, again[i], "{\"orderId\":\"o-r\"}",
                      "null", &e);
        assert_string_equal(c->delegated, "");
        assert_json(r, "{\"orderId\":\"o-r\",\"refunded\":1,\"amount\":4}");
        cJSON_Delete(r);
    }
    /* Nothing charged, and no charge in doubt (no PENDING order): nothing
     * refunded, as the simulator answers, without a worker. */
    r = delegated(c, &order_payment_refund_activity, "exec-p:Refund:3:0",
                  "{\"orderId\":\"made-up\"}", "null", &e);
    assert_string_equal(c->delegated, "");
    assert_json(r, "{\"orderId\":\"made-up\",\"refunded\":0,\"amount\":0}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM refunds WHERE order_id = 'made-up'"), 0);
    assert_null(delegated(c, &order_payment_refund_activity, "exec-p:Refund:2:2", "{}", "{}", &e));
    assert_string_equal(e.error, "InvalidInput");
    asl_error_clear(&e);
}

/* Marks execution `id` RUNNING (1) or ended (0) in the engine's table. */
static void execution(ctx_t *c, const char *id, int running)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO executions (id, machine, machine_version, name, status, input, "
             "start_ms) VALUES ('%s', 'm', 1, '%s', '%s', '{}', 0) ON CONFLICT (id) DO "
             "UPDATE SET status = excluded.status", id, id, running ? "RUNNING" : "ABORTED");
    assert_int_equal(sqlite3_exec(store_db(c->st), sql, NULL, NULL, NULL), SQLITE_OK);
}

/* A refund claims the charges before a worker sees it: another step's
 * refund of the order meanwhile fails RefundInProgress and hands out
 * nothing; the claiming step's next attempt sends the claim again. */
static void test_activity_refund_in_progress(void **state)
{
    ctx_t *c = *state;
    asl_error_t e = {0};
    execution(c, "exec-a", 1);
    cJSON *r = delegated(c, &order_payment_process_activity, "exec-p:Pay:1:0",
                         "{\"orderId\":\"o-h\",\"amount\":3}", "{\"paymentId\":\"w-h\"}", &e);
    cJSON_Delete(r);
    /* Handed out, then given up on (the attempt timed out): still claimed. */
    assert_null(delegated(c, &order_payment_refund_activity, "exec-a:Refund:1:0",
                          "{\"orderId\":\"o-h\"}", NULL, &e));
    assert_string_equal(c->delegated, "payment.refund");
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE order_id = 'o-h' AND "
                              "status = 'REFUNDING' AND refund_token = 'exec-a:Refund:1:0'"), 1);
    assert_null(delegated(c, &order_payment_refund_activity, "exec-b:Refund:1:0",
                          "{\"orderId\":\"o-h\"}", "{}", &e));
    assert_string_equal(c->delegated, "");
    assert_string_equal(e.error, "RefundInProgress");
    assert_non_null(strstr(e.cause, "'o-h'"));
    asl_error_clear(&e);
    r = delegated(c, &order_payment_refund_activity, "exec-a:Refund:1:1", "{\"orderId\":\"o-h\"}",
                  "{}", &e);
    assert_string_equal(c->delegated, "payment.refund");
    assert_json(r, "{\"orderId\":\"o-h\",\"refunded\":1,\"amount\":3}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM refunds WHERE order_id = 'o-h' AND "
                              "token = 'exec-a:Refund:1:0' AND status = 'REFUNDED'"), 1);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE order_id = 'o-h' AND "
                              "status = 'REFUNDED'"), 1);
    /* A PENDING order with nothing recorded: its charge may be in doubt, so
     * the worker is asked once; a repeat answers that. */
    r = delegated(c, &order_payment_refund_activity, "exec-a:Refund:2:0", "{\"orderId\":\"o-3\"}",
                  "{}", &e);
    assert_string_equal(c->delegated, "payment.refund");
    assert_json(r, "{\"orderId\":\"o-3\",\"refunded\":0,\"amount\":0}");
    cJSON_Delete(r);
    r = delegated(c, &order_payment_refund_activity, "exec-b:Refund:2:0", "{\"orderId\":\"o-3\"}",
                  "{}", &e);
    assert_string_equal(c->delegated, "");
    assert_json(r, "{\"orderId\":\"o-3\",\"refunded\":0,\"amount\":0}");
    cJSON_Delete(r);
}

/* A claim nobody will finish is taken over, under its key: its execution
 * ended (stopped, timed out), or it is the caller's own (a redrive, a
 * step after a Catch). */
static void test_activity_refund_takes_over_orphans(void **state)
{
    ctx_t *c = *state;
    asl_error_t e = {0};
    const char *orders[] = {"o-1", "o-2"};
    for (int i = 0; i < 2; i++) {
        char in[64];
        snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"amount\":5}", orders[i]);
        cJSON_Delete(delegated(c, &order_payment_process_activity, i ? "exec-c:Pay:1:0"
                                                                      : "exec-a:Pay:1:0",
                               in, "{}", &e));
    }
    execution(c, "exec-a", 1);
    execution(c, "exec-c", 1);
    assert_null(delegated(c, &order_payment_refund_activity, "exec-a:Refund:1:0",
                          "{\"orderId\":\"o-1\"}", NULL, &e));
    assert_null(delegated(c, &order_payment_refund_activity, "exec-c:Refund:1:0",
                          "{\"orderId\":\"o-2\"}", NULL, &e));
    /* exec-a stopped: exec-b finishes its refund. exec-c's own later step
     * finishes its own. */
    execution(c, "exec-a", 0);
    const char *tokens[] = {"exec-b:Refund:4:0", "exec-c:Undo:9:0"};
    for (int i = 0; i < 2; i++) {
        char in[64];
        snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", orders[i]);
        cJSON *r = delegated(c, &order_payment_refund_activity, tokens[i], in, "{}", &e);
        assert_string_equal(c->delegated, "payment.refund");
        assert_non_null(r);
        assert_int_equal(cJSON_GetObjectItem(r, "amount")->valueint, 5);
        cJSON_Delete(r);
    }
    assert_int_equal(count(c, "SELECT count(*) FROM refunds WHERE status = 'REFUNDED' AND "
                              "token IN ('exec-a:Refund:1:0', 'exec-c:Refund:1:0')"), 2);
    assert_int_equal(count(c, "SELECT count(*) FROM payments WHERE status = 'REFUNDED'"), 2);
}

/* A claim taken over belongs to its new holder: while that execution runs,
 * a third refund must not take it over again (it would send a second time
 * and leave the holder's answer unrecorded). */
static void test_activity_refund_taken_over_is_held(void **state)
{
    ctx_t *c = *state;
    asl_error_t e = {0};
    cJSON_Delete(delegated(c, &order_payment_process_activity, "exec-p:Pay:1:0",
                           "{\"orderId\":\"o-2\",\"amount\":7}", "{}", &e));
    execution(c, "exec-a", 1);
    execution(c, "exec-b", 1);
    execution(c, "exec-c", 1);
    assert_null(delegated(c, &order_payment_refund_activity, "exec-a:Refund:1:0",
                          "{\"orderId\":\"o-2\"}", NULL, &e));
    execution(c, "exec-a", 0);
    assert_null(delegated(c, &order_payment_refund_activity, "exec-b:Refund:1:0",
                          "{\"orderId\":\"o-2\"}", NULL, &e));
    assert_string_equal(c->delegated, "payment.refund");
    assert_null(delegated(c, &order_payment_refund_activity, "exec-c:Refund:1:0",
                          "{\"orderId\":\"o-2\"}", "{}", &e));
    assert_string_equal(c->delegated, "");
    assert_string_equal(e.error, "RefundInProgress");
    asl_error_clear(&e);
    /* The holder's next attempt finishes it under the first key. */
    cJSON *r = delegated(c, &order_payment_refund_activity, "exec-b:Refund:1:1",
                         "{\"orderId\":\"o-2\"}", "{}", &e);
    assert_json(r, "{\"orderId\":\"o-2\",\"refunded\":1,\"amount\":7}");
    cJSON_Delete(r);
    assert_int_equal(count(c, "SELECT count(*) FROM refunds WHERE order_id = 'o-2' AND "
                              "token = 'exec-a:Refund:1:0' AND status = 'REFUNDED'"), 1);
}

static void test_http_needs_a_url_and_a_loop(void **state)
{
    ctx_t *c = *state;
    asl_error_t e = {0};
    cJSON *in = cJSON_Parse("{\"orderId\":\"o-h\",\"amount\":1}");
    handler_call_t call = {.store = c->st, .cfg = &c->cfg, .execution_id = "exec-h",
                           .token = "exec-h:Pay:1:0", .now_ms = store_now_ms()};
    assert_int_equal(order_payment_process_http.start(&call, in, &e), -1);
    assert_string_equal(e.error, "States.TaskFailed");
    asl_error_clear(&e);
    assert_null(call.handler_data);
    cJSON_Delete(in);
    order_payment_close();   /* never opened: nothing to do */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_selects_the_handlers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_charge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_start_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_refund, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_refund_in_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_refund_takes_over_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activity_refund_taken_over_is_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_needs_a_url_and_a_loop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
