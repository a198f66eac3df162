/* Unit tests for the built-in handlers against a real SQLite file: each
 * handler's effect and result, stock never below zero (also across processes),
 * payment failure rates and idempotency, idempotent compensations, and the
 * outbox envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "core/config.h"
#include "engine/handler.h"
#include "events/outbox.h"
#include "handlers/handlers.h"
#include "handlers/publish.h"
#include "order/handlers.h"
#include "order/payment.h"
#include "store/db.h"
#include "order/domain.h"
#include "order/schema.h"
#include "testdb.h"

typedef struct {
    char path[64];
    store_t *st;
    config_t cfg;
    int seq;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    char err[256];
    snprintf(c->path, sizeof c->path, "/tmp/sagad-handlers-%d.db", (int)getpid());
    testdb_remove(c->path);
    if (store_open(c->path, &c->st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    config_defaults(&c->cfg);
    c->cfg.payment_failure_rate = 0;
    handler_reset();
    if (handlers_register_builtin() < 0 || order_handlers_register(&c->cfg) < 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    store_close(c->st);
    testdb_remove(c->path);
    handler_reset();
    free(c);
    return 0;
}

/* Runs a synchronous handler the way the runtime does: inside a savepoint of
 * an open transaction, rolled back when it fails. */
static int run_as(ctx_t *c, const handler_def_t *d, const char *token, const char *json,
                  cJSON **result, asl_error_t *err)
{
    assert_non_null(d);
    assert_non_null(d->run);
    cJSON *in = cJSON_Parse(json);
    assert_non_null(in);
    char tok[64];
    if (!token) {
        snprintf(tok, sizeof tok, "exec-1/State/%d", c->seq++);
        token = tok;
    }
    handler_call_t call = {.store = c->st, .cfg = &c->cfg, .execution_id = "exec-1",
                           .state_name = "State", .token = token, .now_ms = store_now_ms()};
    int began = !store_in_txn(c->st);
    if (began)
        assert_int_equal(store_begin(c->st), 0);
    assert_int_equal(store_savepoint(c->st), 0);
    *result = NULL;
    int rc = d->run(&call, in, result, err);
    if (rc == 0) {
        assert_non_null(*result);
        assert_int_equal(store_release(c->st), 0);
    } else {
        assert_null(*result);
        assert_non_null(err->error);
        assert_int_equal(store_rollback_to(c->st), 0);
    }
    if (began)
        assert_int_equal(store_commit(c->st), 0);
    cJSON_Delete(in);
    return rc;
}

static int run(ctx_t *c, const char *name, const char *json, cJSON **result, asl_error_t *err)
{
    return run_as(c, handler_lookup(name), NULL, json, result, err);
}

static int64_t query_int(ctx_t *c, const char *sql, const char *arg)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st), sql, -1, &s, NULL), SQLITE_OK);
    if (arg)
        sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void set_stock(ctx_t *c, const char *item, int64_t q)
{
    assert_int_equal(order_stock_set(c->st, item, q, store_now_ms()), 0);
}

static int64_t stock(ctx_t *c, const char *item)
{
    return query_int(c, "SELECT quantity FROM stock WHERE item_id = ?1", item);
}

/* Creates an order and returns its id (static buffer per call site is enough). */
static void create_order(ctx_t *c, const char *item, int qty, char *id_out)
{
    char in[256];
    cJSON *r;
    asl_error_t e = {0};
    snprintf(in, sizeof in, "{\"itemId\":\"%s\",\"quantity\":%d,\"firstname\":\"Laura\"}", item, qty);
    assert_int_equal(run(c, "orders.create", in, &r, &e), 0);
    strcpy(id_out, str(r, "orderId"));
    cJSON_Delete(r);
}

/* A PENDING order with a given id, as orders.create would leave it (the
 * payment handlers charge only such an order). */
static void pending_order(ctx_t *c, const char *id)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st),
                                        "INSERT INTO orders (order_id, execution_id, item_id, "
                                        "quantity, status, created_ms, updated_ms) "
                                        "VALUES (?1, 'x', 'beans', 1, 'PENDING', 0, 0)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

/* The handler's result is byte for byte what reading the order back gives
 * (the handlers build it from the values they wrote). */
static void assert_same_as_stored(ctx_t *c, const cJSON *r)
{
    cJSON *stored;
    assert_int_equal(order_get(c->st, str(r, "orderId"), &stored), 0);
    char *a = cJSON_PrintUnformatted(r), *b = cJSON_PrintUnformatted(stored);
    assert_string_equal(a, b);
    free(a);
    free(b);
    cJSON_Delete(stored);
}

static void test_echo_and_fail(void **state)
{
    ctx_t *c = *state;
    cJSON *r;
    asl_error_t e = {0};
    assert_int_equal(run(c, "sagad:echo", "{\"a\":[1,{\"b\":null}],\"s\":\"x\"}", &r, &e), 0);
    cJSON *want = cJSON_Parse("{\"a\":[1,{\"b\":null}],\"s\":\"x\"}");
    assert_true(cJSON_Compare(r, want, 1));
    cJSON_Delete(want);
    cJSON_Delete(r);

    assert_int_equal(run(c, "fail", "{\"error\":\"Boom\",\"cause\":\"it broke\"}", &r, &e), -1);
    assert_string_equal(e.error, "Boom");
    assert_string_equal(e.cause, "it broke");
    asl_error_clear(&e);
    assert_int_equal(run(c, "fail", "{}", &r, &e), -1);
    assert_string_equal(e.error, "States.TaskFailed");
    assert_non_null(e.cause);
    asl_error_clear(&e);
    assert_int_equal(run(c, "fail", "\"not an object\"", &r, &e), -1);
    assert_string_equal(e.error, "States.TaskFailed");
    asl_error_clear(&e);
}

static void test_registration(void **state)
{
    ctx_t *c = *state;
    const char *names[] = {"echo", "fail", "orders.create", "stock.reserve", "payment.process",
                           "orders.confirm", "payment.refund", "stock.release", "orders.cancel",
                           "events.publish"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char res[64];
        snprintf(res, sizeof res, "sagad:%s", names[i]);
        assert_non_null(handler_lookup(res));
    }
    assert_ptr_equal(handler_lookup("payment.process"), &order_payment_process_sync);
    assert_int_equal(order_handlers_register(&c->cfg), -1); /* names are taken */
    handler_reset();
    c->cfg.payment_latency_ms = 5;
    assert_int_equal(handlers_register_builtin(), 0);
    assert_int_equal(order_handlers_register(&c->cfg), 0);
    const handler_def_t *p = handler_lookup("sagad:payment.process");
    assert_ptr_equal(p, &order_payment_process_async);
    assert_null(p->run);
    assert_non_null(p->start);
}

static void test_orders_create(void **state)
{
    ctx_t *c = *state;
    cJSON *r;
    asl_error_t e = {0};
    assert_int_equal(run(c, "orders.create",
                         "{\"itemId\":\"coffee-beans\",\"quantity\":2,\"firstname\":\"Laura\","
                         "\"surname\":\"Becker\",\"street\":\"Main Avenue 1\",\"zip\":\"12345\","
                         "\"city\":\"Fancy Town\",\"extra\":true}",
                         &r, &e),
                     0);
    assert_int_equal(strlen(str(r, "orderId")), 36);
    assert_string_equal(str(r, "executionId"), "exec-1");
    assert_string_equal(str(r, "itemId"), "coffee-beans");
    assert_int_equal(num(r, "quantity"), 2);
    assert_string_equal(str(r, "city"), "Fancy Town");
    assert_string_equal(str(r, "status"), "PENDING");
    assert_non_null(strchr(str(r, "createdAt"), 'T'));
    assert_int_equal(query_int(c, "SELECT count(*) FROM orders WHERE order_id = ?1 AND "
                                  "status = 'PENDING' AND quantity = 2",
                               str(r, "orderId")),
                     1);
    assert_same_as_stored(c, r);
    cJSON_Delete(r);

    /* without the address: the fields are null */
    assert_int_equal(run(c, "orders.create", "{\"itemId\":\"tea\",\"quantity\":1.0}", &r, &e), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "zip")));
    assert_same_as_stored(c, r);
    cJSON_Delete(r);

    /* empty and non-ASCII strings come back as written */
    assert_int_equal(run(c, "orders.create",
                         "{\"itemId\":\"t\\u00e9\",\"quantity\":9007199254740991,\"firstname\":\"\","
                         "\"surname\":null,\"city\":\"K\\u00f6ln \\\"Mitte\\\"\"}",
                         &r, &e),
                     0);
    assert_same_as_stored(c, r);
    cJSON_Delete(r);

    const char *bad[] = {"{\"itemId\":\"tea\",\"quantity\":1.5}", "{\"itemId\":\"tea\",\"quantity\":0}",
                         "{\"itemId\":\"tea\",\"quantity\":\"1\"}", "{\"quantity\":1}",
                         "{\"itemId\":\"\",\"quantity\":1}", "{\"itemId\":\"tea\",\"quantity\":1,\"zip\":12345}",
                         "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(c, "orders.create", bad[i], &r, &e), -1);
        assert_string_equal(e.error, "InvalidInput");
        asl_error_clear(&e);
    }
    assert_int_equal(query_int(c, "SELECT count(*) FROM orders", NULL), 3);
}

static void test_reserve_and_out_of_stock(void **state)
{
    ctx_t *c = *state;
    char o1[40], o2[40], in[256];
    cJSON *r;
    asl_error_t e = {0};
    set_stock(c, "beans", 3);
    create_order(c, "beans", 2, o1);
    create_order(c, "beans", 2, o2);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":2}", o1);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), 0);
    assert_string_equal(str(r, "orderId"), o1);
    assert_int_equal(num(r, "quantity"), 2);
    assert_int_equal(num(r, "remaining"), 1);
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 1);

    /* the same order again: the first reservation, nothing more taken */
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), 0);
    assert_int_equal(num(r, "remaining"), 1);
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 1);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":2}", o2);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), -1);
    assert_string_equal(e.error, "OutOfStock");
    assert_non_null(strstr(e.cause, "only 1 of item 'beans' in stock, 2 requested"));
    asl_error_clear(&e);
    assert_int_equal(stock(c, "beans"), 1);
    assert_int_equal(query_int(c, "SELECT count(*) FROM reservations WHERE order_id = ?1", o2), 0);

    char o3[40];
    create_order(c, "unobtainium", 1, o3);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"unobtainium\",\"quantity\":1}", o3);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), -1);
    assert_string_equal(e.error, "OutOfStock");
    assert_non_null(strstr(e.cause, "unknown item"));
    asl_error_clear(&e);
    assert_int_equal(query_int(c, "SELECT count(*) FROM reservations WHERE order_id = ?1", o3), 0);

    /* An order of another item or quantity, or none: nothing is reserved. */
    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":1}", o2);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    asl_error_clear(&e);
    assert_int_equal(run(c, "stock.reserve", "{\"orderId\":\"made-up\",\"itemId\":\"beans\","
                                             "\"quantity\":1}", &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    asl_error_clear(&e);
    assert_int_equal(stock(c, "beans"), 1);

    assert_int_equal(run(c, "stock.reserve", "{\"orderId\":\"x\",\"itemId\":\"beans\",\"quantity\":-1}",
                         &r, &e),
                     -1);
    assert_string_equal(e.error, "InvalidInput");
    asl_error_clear(&e);
}

/* Many reserves of one unit on stock N: exactly N succeed, in one process... */
static void test_reserve_never_below_zero(void **state)
{
    ctx_t *c = *state;
    char id[40], in[256];
    int ok = 0;
    set_stock(c, "mugs", 7);
    for (int i = 0; i < 25; i++) {
        cJSON *r;
        asl_error_t e = {0};
        create_order(c, "mugs", 1 + i % 2, id);
        snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"mugs\",\"quantity\":%d}", id,
                 1 + i % 2);
        if (run(c, "stock.reserve", in, &r, &e) == 0) {
            ok += 1 + i % 2;
            cJSON_Delete(r);
        } else {
            assert_string_equal(e.error, "OutOfStock");
            asl_error_clear(&e);
        }
    }
    assert_int_equal(ok, 7);
    assert_int_equal(stock(c, "mugs"), 0);
    assert_int_equal(query_int(c, "SELECT sum(quantity) FROM reservations WHERE item_id = 'mugs'",
                               NULL),
                     7);
}

/* ...and across processes writing the same database file at once. */
static void test_reserve_concurrent_processes(void **state)
{
    ctx_t *c = *state;
    enum { PROCS = 4, TRIES = 12, STOCK = 17 };
    set_stock(c, "cups", STOCK);
    char ids[PROCS][TRIES][40];
    for (int p = 0; p < PROCS; p++)
        for (int i = 0; i < TRIES; i++)
            create_order(c, "cups", 1, ids[p][i]);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            store_t *st;
            char err[256];
            int won = 0;
            if (store_open(c->path, &st, err, sizeof err) < 0)
                _exit(255);
            for (int i = 0; i < TRIES; i++) {
                char tok[64], in[128];
                snprintf(tok, sizeof tok, "p%d/%d", p, i);
                snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"cups\",\"quantity\":1}",
                         ids[p][i]);
                cJSON *json = cJSON_Parse(in), *r = NULL;
                asl_error_t e = {0};
                handler_call_t call = {.store = st, .cfg = &c->cfg, .execution_id = tok,
                                       .token = tok, .now_ms = store_now_ms()};
                /* as the runtime runs it: in a savepoint, rolled back on failure */
                if (store_begin(st) < 0 || store_savepoint(st) < 0)
                    _exit(254);
                if (handler_lookup("stock.reserve")->run(&call, json, &r, &e) == 0) {
                    won++;
                    if (store_release(st) < 0)
                        _exit(252);
                } else if (store_rollback_to(st) < 0) {
                    _exit(252);
                }
                if (store_commit(st) < 0)
                    _exit(253);
                cJSON_Delete(json);
                cJSON_Delete(r);
                asl_error_clear(&e);
            }
            store_close(st);
            _exit(won);
        }
    }
    int total = 0;
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) <= TRIES);
        total += WEXITSTATUS(status);
    }
    assert_int_equal(total, STOCK);
    assert_int_equal(stock(c, "cups"), 0);
    assert_int_equal(query_int(c, "SELECT count(*) FROM reservations WHERE item_id = 'cups'", NULL),
                     STOCK);
}

static void test_release_idempotent(void **state)
{
    ctx_t *c = *state;
    char id[40], in[256];
    cJSON *r;
    asl_error_t e = {0};
    set_stock(c, "beans", 5);
    create_order(c, "beans", 3, id);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", id);

    /* nothing reserved yet: a no-op */
    assert_int_equal(run(c, "stock.release", in, &r, &e), 0);
    assert_int_equal(num(r, "released"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "itemId")));
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 5);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":3}", id);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 2);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", id);
    assert_int_equal(run(c, "stock.release", in, &r, &e), 0);
    assert_int_equal(num(r, "released"), 3);
    assert_string_equal(str(r, "itemId"), "beans");
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 5);

    assert_int_equal(run(c, "stock.release", in, &r, &e), 0);
    assert_int_equal(num(r, "released"), 0);
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 5);

    /* a released reservation is not silently re-taken */
    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":3}", id);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    asl_error_clear(&e);
    assert_int_equal(stock(c, "beans"), 5);
}

static void test_confirm_cancel(void **state)
{
    ctx_t *c = *state;
    char a[40], b[40], in[128];
    cJSON *r;
    asl_error_t e = {0};
    create_order(c, "beans", 1, a);
    create_order(c, "beans", 1, b);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", a);
    assert_int_equal(run(c, "orders.confirm", in, &r, &e), 0);
    assert_string_equal(str(r, "status"), "PROCESSED");
    assert_string_equal(str(r, "orderId"), a);
    assert_same_as_stored(c, r);
    cJSON_Delete(r);
    assert_int_equal(run(c, "orders.confirm", in, &r, &e), 0); /* repeat: same */
    assert_string_equal(str(r, "status"), "PROCESSED");
    cJSON_Delete(r);

    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", b);
    assert_int_equal(run(c, "orders.cancel", in, &r, &e), 0);
    assert_string_equal(str(r, "status"), "CANCELLED");
    assert_same_as_stored(c, r);
    cJSON_Delete(r);
    assert_int_equal(run(c, "orders.cancel", in, &r, &e), 0);
    assert_string_equal(str(r, "status"), "CANCELLED");
    cJSON_Delete(r);
    assert_int_equal(run(c, "orders.confirm", in, &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    asl_error_clear(&e);
    assert_int_equal(query_int(c, "SELECT count(*) FROM orders WHERE order_id = ?1 AND "
                                  "status = 'CANCELLED'", b),
                     1);

    assert_int_equal(run(c, "orders.cancel", "{\"orderId\":\"nope\"}", &r, &e), -1);
    assert_string_equal(e.error, "OrderNotFound");
    asl_error_clear(&e);
    assert_int_equal(run(c, "orders.confirm", "{}", &r, &e), -1);
    assert_string_equal(e.error, "InvalidInput");
    asl_error_clear(&e);
}

static void test_payment_rates_and_token(void **state)
{
    ctx_t *c = *state;
    cJSON *r, *r2;
    asl_error_t e = {0};
    const handler_def_t *pay = handler_lookup("payment.process");
    const char *ids[] = {"o-ok", "o-bad", "o-tok", "o-half", "o"};
    for (size_t i = 0; i < 5; i++)
        pending_order(c, ids[i]);

    c->cfg.payment_failure_rate = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o-ok\",\"amount\":3}", &r, &e), 0);
        assert_string_equal(str(r, "status"), "CHARGED");
        assert_int_equal(num(r, "amount"), 3);
        assert_int_equal(strlen(str(r, "paymentId")), 36);
        cJSON_Delete(r);
    }
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-ok' AND "
                                  "status = 'CHARGED'", NULL),
                     20);

    c->cfg.payment_failure_rate = 1;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o-bad\"}", &r, &e), -1);
        assert_string_equal(e.error, "PaymentFailed");
        assert_non_null(strstr(e.cause, "o-bad"));
        asl_error_clear(&e);
    }
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-bad'", NULL), 0);

    /* Same token: the recorded charge comes back, even where the provider
     * would now decline, and nothing is charged twice. */
    c->cfg.payment_failure_rate = 0;
    assert_int_equal(run_as(c, pay, "exec-9/ProcessPayment/0", "{\"orderId\":\"o-tok\",\"amount\":5}",
                            &r, &e),
                     0);
    c->cfg.payment_failure_rate = 1;
    assert_int_equal(run_as(c, pay, "exec-9/ProcessPayment/0", "{\"orderId\":\"o-tok\",\"amount\":5}",
                            &r2, &e),
                     0);
    assert_string_equal(str(r, "paymentId"), str(r2, "paymentId"));
    assert_true(cJSON_Compare(r, r2, 1));
    cJSON_Delete(r);
    cJSON_Delete(r2);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-tok'", NULL), 1);

    /* A rate in between fails sometimes, not always. */
    c->cfg.payment_failure_rate = 0.5;
    int fails = 0;
    for (int i = 0; i < 200; i++) {
        if (run(c, "payment.process", "{\"orderId\":\"o-half\"}", &r, &e) < 0) {
            fails++;
            asl_error_clear(&e);
        } else {
            cJSON_Delete(r);
        }
    }
    assert_true(fails > 50 && fails < 150);

    assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o\",\"amount\":-1}", &r, &e), -1);
    assert_string_equal(e.error, "InvalidInput");
    asl_error_clear(&e);

    /* Whichever machine asks: no charge without a PENDING order. */
    c->cfg.payment_failure_rate = 0;
    assert_int_equal(run(c, "payment.process", "{\"orderId\":\"made-up\"}", &r, &e), -1);
    assert_string_equal(e.error, "OrderNotFound");
    asl_error_clear(&e);
    char done[40], in[128];
    create_order(c, "beans", 1, done);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", done);
    assert_int_equal(run(c, "orders.confirm", in, &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(run(c, "payment.process", in, &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    assert_non_null(strstr(e.cause, "is PROCESSED"));
    asl_error_clear(&e);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id IN ('made-up', ?1)",
                               done),
                     0);
}

/* A refund in progress (an outside provider's claim, REFUNDING) is not a
 * refund yet: a PROCESSED order is still not cancelled and its stock not
 * given back, whichever machine asks; once REFUNDED both go ahead. */
static void test_refunding_is_still_charged(void **state)
{
    ctx_t *c = *state;
    char id[40], in[256];
    cJSON *r;
    asl_error_t e = {0};
    set_stock(c, "beans", 5);
    create_order(c, "beans", 2, id);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"itemId\":\"beans\",\"quantity\":2}", id);
    assert_int_equal(run(c, "stock.reserve", in, &r, &e), 0);
    cJSON_Delete(r);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\",\"amount\":2}", id);
    assert_int_equal(run(c, "payment.process", in, &r, &e), 0);
    cJSON_Delete(r);
    snprintf(in, sizeof in, "{\"orderId\":\"%s\"}", id);
    assert_int_equal(run(c, "orders.confirm", in, &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(sqlite3_exec(store_db(c->st), "UPDATE payments SET status = 'REFUNDING'",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(run(c, "orders.cancel", in, &r, &e), -1);
    assert_string_equal(e.error, "InvalidOrderState");
    assert_non_null(strstr(e.cause, "with its payment charged"));
    asl_error_clear(&e);
    assert_int_equal(run(c, "stock.release", in, &r, &e), 0);
    assert_int_equal(num(r, "released"), 0);
    cJSON_Delete(r);
    assert_int_equal(stock(c, "beans"), 3);
    assert_int_equal(sqlite3_exec(store_db(c->st), "UPDATE payments SET status = 'REFUNDED'",
                                  NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(run(c, "stock.release", in, &r, &e), 0);
    assert_int_equal(num(r, "released"), 2);
    cJSON_Delete(r);
    assert_int_equal(run(c, "orders.cancel", in, &r, &e), 0);
    assert_string_equal(str(r, "status"), "CANCELLED");
    cJSON_Delete(r);
}

static void test_refund_idempotent(void **state)
{
    ctx_t *c = *state;
    cJSON *r;
    asl_error_t e = {0};
    pending_order(c, "o-r");
    pending_order(c, "o-m");
    assert_int_equal(run(c, "payment.refund", "{\"orderId\":\"o-none\"}", &r, &e), 0);
    assert_int_equal(num(r, "refunded"), 0);
    assert_int_equal(num(r, "amount"), 0);
    cJSON_Delete(r);

    assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o-r\",\"amount\":4}", &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(run(c, "payment.refund", "{\"orderId\":\"o-r\"}", &r, &e), 0);
    assert_int_equal(num(r, "refunded"), 1);
    assert_int_equal(num(r, "amount"), 4);
    cJSON_Delete(r);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-r' AND "
                                  "status = 'REFUNDED'", NULL),
                     1);
    /* a repeat refunds nothing more and answers the first refund's result */
    assert_int_equal(run(c, "payment.refund", "{\"orderId\":\"o-r\"}", &r, &e), 0);
    assert_int_equal(num(r, "refunded"), 1);
    assert_int_equal(num(r, "amount"), 4);
    cJSON_Delete(r);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-r'", NULL), 1);

    /* several charges (one per attempt): all refunded, amounts summed */
    assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o-m\",\"amount\":4}", &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(run(c, "payment.process", "{\"orderId\":\"o-m\",\"amount\":6}", &r, &e), 0);
    cJSON_Delete(r);
    assert_int_equal(run(c, "payment.refund", "{\"orderId\":\"o-m\"}", &r, &e), 0);
    assert_int_equal(num(r, "refunded"), 2);
    assert_int_equal(num(r, "amount"), 10);
    cJSON_Delete(r);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-m' AND "
                                  "status = 'CHARGED'", NULL),
                     0);
}

/* The asynchronous flavour: start, the loop completes it, finish records it. */
typedef struct {
    int calls;
    cJSON *result;
    asl_error_t err;
} outcome_t;

static void on_complete(handler_call_t *call, cJSON *result, const asl_error_t *err)
{
    outcome_t *o = call->runtime_data;
    o->calls++;
    o->result = result;
    if (err) {
        o->err.error = strdup(err->error);
        o->err.cause = strdup(err->cause);
    }
}

static void async_pay(ctx_t *c, uv_loop_t *loop, const char *token, outcome_t *o,
                      handler_call_t *call, int cancel)
{
    const handler_def_t *d = &order_payment_process_async;
    cJSON *in = cJSON_Parse("{\"orderId\":\"o-async\",\"amount\":2}");
    asl_error_t e = {0};
    memset(o, 0, sizeof *o);
    *call = (handler_call_t){.store = c->st, .cfg = &c->cfg, .execution_id = "exec-a",
                             .token = token, .now_ms = store_now_ms(), .loop = loop,
                             .complete = on_complete, .runtime_data = o};
    assert_int_equal(store_begin(c->st), 0);
    assert_int_equal(d->start(call, in, &e), 0);
    assert_int_equal(store_commit(c->st), 0);
    cJSON_Delete(in);
    assert_int_equal(o->calls, 0); /* never from inside start */
    if (cancel)
        d->cancel(call);
    uv_run(loop, UV_RUN_DEFAULT);
    if (cancel) {
        assert_int_equal(o->calls, 0);
        return;
    }
    assert_int_equal(o->calls, 1);
    if (o->result) {
        assert_int_equal(store_begin(c->st), 0);
        assert_int_equal(d->finish(call, &o->result, &e), 0);
        assert_int_equal(store_commit(c->st), 0);
    }
}

static void test_payment_async(void **state)
{
    ctx_t *c = *state;
    uv_loop_t loop;
    outcome_t o;
    handler_call_t call;
    uv_loop_init(&loop);
    c->cfg.payment_latency_ms = 30;
    c->cfg.payment_failure_rate = 0;
    pending_order(c, "o-async");

    uint64_t t0 = uv_hrtime();
    async_pay(c, &loop, "exec-a/Pay/0", &o, &call, 0);
    assert_true(uv_hrtime() - t0 >= 25 * 1000000ull);
    assert_non_null(o.result);
    assert_string_equal(str(o.result, "status"), "CHARGED");
    char first[40];
    strcpy(first, str(o.result, "paymentId"));
    cJSON_Delete(o.result);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE token = 'exec-a/Pay/0'", NULL), 1);

    /* a re-run with the same token (after a crash) answers with the same charge */
    c->cfg.payment_failure_rate = 1;
    async_pay(c, &loop, "exec-a/Pay/0", &o, &call, 0);
    assert_non_null(o.result);
    assert_string_equal(str(o.result, "paymentId"), first);
    cJSON_Delete(o.result);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-async'", NULL), 1);

    /* declined */
    async_pay(c, &loop, "exec-a/Pay/1", &o, &call, 0);
    assert_null(o.result);
    assert_string_equal(o.err.error, "PaymentFailed");
    asl_error_clear(&o.err);

    /* cancelled: never completes, frees everything */
    c->cfg.payment_failure_rate = 0;
    async_pay(c, &loop, "exec-a/Pay/2", &o, &call, 1);
    assert_null(call.handler_data);
    assert_int_equal(query_int(c, "SELECT count(*) FROM payments WHERE order_id = 'o-async'", NULL), 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_events_publish(void **state)
{
    ctx_t *c = *state;
    cJSON *r;
    asl_error_t e = {0};
    assert_int_equal(run(c, "events.publish",
                         "{\"detailType\":\"Processed\",\"detail\":{\"orderId\":\"o1\",\"quantity\":1}}",
                         &r, &e),
                     0);
    assert_string_equal(str(r, "detail-type"), "Processed");
    assert_null(cJSON_GetObjectItem(r, "detail"));
    char id1[40];
    strcpy(id1, str(r, "id"));
    cJSON_Delete(r);
    assert_int_equal(run(c, "events.publish",
                         "{\"detail-type\":\"Cancelled\",\"detail\":{\"orderId\":\"o2\"}}", &r, &e),
                     0);
    cJSON_Delete(r);
    assert_int_equal(outbox_backlog(c->st), 2);

    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st),
                                        "SELECT event_id, payload FROM outbox ORDER BY seq", -1, &s,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    cJSON *env = cJSON_Parse((const char *)sqlite3_column_text(s, 1));
    assert_non_null(env);
    assert_string_equal(str(env, "id"), id1);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), id1);
    assert_int_equal(strlen(id1), 36);
    assert_int_equal(id1[14], '7'); /* UUID version 7: time-ordered */
    assert_string_equal(str(env, "source"), "sagad.order");
    assert_string_equal(str(env, "detail-type"), "Processed");
    assert_string_equal(str(env, "executionId"), "exec-1");
    const char *t = str(env, "time");
    assert_int_equal(strlen(t), 24);
    assert_int_equal(t[10], 'T');
    assert_int_equal(t[23], 'Z');
    cJSON *want = cJSON_Parse("{\"orderId\":\"o1\",\"quantity\":1}");
    assert_true(cJSON_Compare(cJSON_GetObjectItem(env, "detail"), want, 1));
    cJSON_Delete(want);
    cJSON_Delete(env);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    env = cJSON_Parse((const char *)sqlite3_column_text(s, 1));
    assert_string_equal(str(env, "detail-type"), "Cancelled");
    assert_string_not_equal(str(env, "id"), id1);
    cJSON_Delete(env);
    sqlite3_finalize(s);

    /* a failing publish leaves no row */
    assert_int_equal(run(c, "events.publish", "{\"detail\":{}}", &r, &e), -1);
    assert_string_equal(e.error, "InvalidInput");
    asl_error_clear(&e);
    assert_int_equal(outbox_backlog(c->st), 2);
}

/* The envelope's source is the registering domain's: the order saga's
 * events.publish writes ORDER_EVENT_SOURCE, another domain's publisher (the
 * same run with its own source) writes that one, and a Task's "source" wins. */
static int shipping_publish(handler_call_t *call, const cJSON *input, cJSON **result,
                            asl_error_t *err)
{
    return handlers_publish_run(call, input, "sagad.shipping", result, err);
}

static void test_publish_source_is_the_domains(void **state)
{
    ctx_t *c = *state;
    static const handler_def_t shipping = {.name = "shipping.publish", .run = shipping_publish,
                                           .atomic = 1};
    cJSON *r;
    asl_error_t e = {0};
    assert_int_equal(run(c, "events.publish", "{\"detailType\":\"Processed\"}", &r, &e), 0);
    assert_string_equal(str(r, "source"), ORDER_EVENT_SOURCE);
    assert_string_equal(ORDER_EVENT_SOURCE, "sagad.order");
    cJSON_Delete(r);
    assert_int_equal(run_as(c, &shipping, NULL, "{\"detailType\":\"Shipped\"}", &r, &e), 0);
    assert_string_equal(str(r, "source"), "sagad.shipping");
    cJSON_Delete(r);
    assert_int_equal(run(c, "events.publish", "{\"detailType\":\"X\",\"source\":\"ops\"}", &r, &e), 0);
    assert_string_equal(str(r, "source"), "ops");
    cJSON_Delete(r);
    assert_int_equal(testdb_int(c->st, "SELECT count(*) FROM outbox WHERE "
                                       "json_extract(payload, '$.source') = 'sagad.shipping'"), 1);
}

int main(void)
{
    if (order_schema_register() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_and_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orders_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_and_out_of_stock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_never_below_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_concurrent_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_rates_and_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refund_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refunding_is_still_charged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_source_is_the_domains, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
