/* Unit tests for the order domain on a real SQLite file: its schema joined to
 * the store's migrations (the layout the build before the move wrote, the
 * 2 -> 3 step), the coffee-beans seed, stock get/list/set, orders by id, by
 * execution and newest first and quantity parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "engine/handler.h"
#include "handlers/handlers.h"
#include "order/handlers.h"
#include "store/db.h"
#include "order/domain.h"
#include "order/schema.h"
#include "testdb.h"

typedef struct {
    char path[64];
    store_t *st;
} ctx_t;


static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    char err[256];
    snprintf(c->path, sizeof c->path, "/tmp/sagad-domain-%d.db", (int)getpid());
    testdb_remove(c->path);
    if (store_open(c->path, &c->st, err, sizeof err) < 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx_t *c = *state;
    store_close(c->st);
    testdb_remove(c->path);
    free(c);
    return 0;
}

static void test_seed_once(void **state)
{
    ctx_t *c = *state;
    cJSON *o;
    assert_int_equal(order_stock_get(c->st, "coffee-beans", &o), 0);
    assert_int_equal(cJSON_GetObjectItem(o, "quantity")->valuedouble, 5);
    assert_string_equal(cJSON_GetObjectItem(o, "itemId")->valuestring, "coffee-beans");
    cJSON_Delete(o);

    /* reopening an existing database does not seed again */
    assert_int_equal(order_stock_set(c->st, "coffee-beans", 2, store_now_ms()), 0);
    store_close(c->st);
    char err[256];
    assert_int_equal(store_open(c->path, &c->st, err, sizeof err), 0);
    assert_int_equal(order_stock_get(c->st, "coffee-beans", &o), 0);
    assert_int_equal(cJSON_GetObjectItem(o, "quantity")->valuedouble, 2);
    cJSON_Delete(o);
}

static void test_stock_set_get_list(void **state)
{
    ctx_t *c = *state;
    cJSON *o;
    int64_t t = 1764072000123; /* 2025-11-25T12:00:00.123Z */
    assert_int_equal(order_stock_set(c->st, "tea", 12, t), 0);
    assert_int_equal(order_stock_set(c->st, "apples", 0, t), 0);
    assert_int_equal(order_stock_get(c->st, "tea", &o), 0);
    assert_int_equal(cJSON_GetObjectItem(o, "quantity")->valuedouble, 12);
    assert_string_equal(cJSON_GetObjectItem(o, "updatedAt")->valuestring, "2025-11-25T12:00:00.123Z");
    cJSON_Delete(o);
    assert_int_equal(order_stock_set(c->st, "tea", 3, t), 0); /* replaces */
    assert_int_equal(order_stock_get(c->st, "tea", &o), 0);
    assert_int_equal(cJSON_GetObjectItem(o, "quantity")->valuedouble, 3);
    cJSON_Delete(o);

    assert_int_equal(order_stock_get(c->st, "nope", &o), ORDER_ERR_NOT_FOUND);
    assert_null(o);
    assert_int_equal(order_stock_set(c->st, "tea", -1, t), ORDER_ERR_INVALID);
    assert_int_equal(order_stock_set(c->st, "", 1, t), ORDER_ERR_INVALID);
    assert_int_equal(order_stock_set(c->st, "tea", ORDER_QUANTITY_MAX + 1, t), ORDER_ERR_INVALID);

    assert_int_equal(order_stock_list(c->st, &o), 0);
    assert_int_equal(cJSON_GetArraySize(o), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 0), "itemId")->valuestring, "apples");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 1), "itemId")->valuestring,
                        "coffee-beans");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 2), "itemId")->valuestring, "tea");
    cJSON_Delete(o);
}

static void test_quantity_from_json(void **state)
{
    (void)state;
    const char *ok[] = {"0", "1", "1.0", "9007199254740991"};
    const char *bad[] = {"-1", "1.5", "\"3\"", "null", "9007199254740992", "1e300", "[1]"};
    int64_t q;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cJSON *v = cJSON_Parse(ok[i]);
        assert_true(order_quantity_from_json(v, 0, &q));
        cJSON_Delete(v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *v = cJSON_Parse(bad[i]);
        assert_false(order_quantity_from_json(v, 0, &q));
        cJSON_Delete(v);
    }
    cJSON *v = cJSON_Parse("0");
    assert_false(order_quantity_from_json(v, 1, &q));
    cJSON_Delete(v);
    v = cJSON_Parse("42");
    assert_true(order_quantity_from_json(v, 1, &q));
    assert_int_equal(q, 42);
    cJSON_Delete(v);
}

/* Orders made through orders.create, as the saga makes them. */
static char *make_order(ctx_t *c, const char *exec, int64_t now, const char *item)
{
    const handler_def_t *d = handler_lookup("orders.create");
    char in[128];
    snprintf(in, sizeof in, "{\"itemId\":\"%s\",\"quantity\":2,\"zip\":\"12345\"}", item);
    cJSON *json = cJSON_Parse(in), *r = NULL;
    asl_error_t e = {0};
    handler_call_t call = {.store = c->st, .execution_id = exec, .token = exec, .now_ms = now};
    assert_int_equal(store_begin(c->st), 0);
    assert_int_equal(d->run(&call, json, &r, &e), 0);
    assert_int_equal(store_commit(c->st), 0);
    char *id = strdup(cJSON_GetObjectItem(r, "orderId")->valuestring);
    cJSON_Delete(r);
    cJSON_Delete(json);
    return id;
}

static void test_orders(void **state)
{
    ctx_t *c = *state;
    handler_reset();
    assert_int_equal(handlers_register_builtin(), 0);
    assert_int_equal(order_handlers_register(NULL), 0);
    char *a = make_order(c, "exec-a", 1000, "tea");
    char *b = make_order(c, "exec-b", 3000, "beans");
    char *b2 = make_order(c, "exec-c", 2000, "cups");

    cJSON *o;
    assert_int_equal(order_get(c->st, a, &o), 0);
    assert_string_equal(cJSON_GetObjectItem(o, "orderId")->valuestring, a);
    assert_string_equal(cJSON_GetObjectItem(o, "executionId")->valuestring, "exec-a");
    assert_string_equal(cJSON_GetObjectItem(o, "itemId")->valuestring, "tea");
    assert_int_equal(cJSON_GetObjectItem(o, "quantity")->valuedouble, 2);
    assert_string_equal(cJSON_GetObjectItem(o, "zip")->valuestring, "12345");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "firstname")));
    assert_string_equal(cJSON_GetObjectItem(o, "status")->valuestring, "PENDING");
    assert_string_equal(cJSON_GetObjectItem(o, "createdAt")->valuestring, "1970-01-01T00:00:01.000Z");
    cJSON_Delete(o);
    assert_int_equal(order_get(c->st, "missing", &o), ORDER_ERR_NOT_FOUND);
    assert_null(o);

    assert_int_equal(order_by_execution(c->st, "exec-b", &o), 0);
    assert_string_equal(cJSON_GetObjectItem(o, "orderId")->valuestring, b);
    cJSON_Delete(o);
    assert_int_equal(order_by_execution(c->st, "exec-z", &o), ORDER_ERR_NOT_FOUND);

    /* Newest first in the order they were written (schema 3 lists by rowid),
     * whatever clock each handler call saw. */
    char next[ORDER_CURSOR_MAX];
    assert_int_equal(order_list(c->st, NULL, 10, NULL, &o, next), 0);
    assert_string_equal(next, "");
    assert_int_equal(cJSON_GetArraySize(o), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 0), "orderId")->valuestring, b2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 1), "orderId")->valuestring, b);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 2), "orderId")->valuestring, a);
    cJSON_Delete(o);
    assert_int_equal(order_list(c->st, NULL, 2, NULL, &o, next), 0);
    assert_int_equal(cJSON_GetArraySize(o), 2);
    cJSON_Delete(o);
    /* The next page starts after the last one shown. */
    assert_true(next[0] != '\0');
    char cur[ORDER_CURSOR_MAX];
    strcpy(cur, next);
    assert_int_equal(order_list(c->st, NULL, 2, cur, &o, next), 0);
    assert_int_equal(cJSON_GetArraySize(o), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(o, 0), "orderId")->valuestring, a);
    assert_string_equal(next, "");
    cJSON_Delete(o);
    assert_int_equal(order_list(c->st, "CANCELLED", 10, NULL, &o, next), 0);
    assert_int_equal(cJSON_GetArraySize(o), 0);
    cJSON_Delete(o);
    assert_int_equal(order_list(c->st, NULL, 10, "x", &o, next), ORDER_ERR_INVALID);
    assert_null(o);
    free(a);
    free(b);
    free(b2);
    handler_reset();
}

/* sqlite_master in rowid order, as the build before the move wrote it: the
 * order tables right after the store's version-1 tables. */
static void test_fresh_layout_as_before(void **state)
{
    ctx_t *c = *state;
    static const char *const names[] = {
        "state_machines", "sqlite_autoindex_state_machines_1", "executions",
        "sqlite_autoindex_executions_1", "sqlite_autoindex_executions_2", "executions_running",
        "history", "sqlite_autoindex_history_1", "timers", "timers_due", "sqlite_sequence",
        "orders", "sqlite_autoindex_orders_1", "orders_by_execution", "stock",
        "sqlite_autoindex_stock_1", "payments", "sqlite_autoindex_payments_1",
        "sqlite_autoindex_payments_2", "payments_by_order", "reservations", "outbox",
        "activities", "state_machine_aliases", "refunds",
        "refunds_by_order", "refunds_in_progress",
    };
    assert_int_equal(testdb_int(c->st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st), "SELECT name FROM sqlite_master ORDER BY rowid",
                                        -1, &s, NULL), SQLITE_OK);
    size_t n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        assert_true(n < sizeof names / sizeof *names);
        assert_string_equal((const char *)sqlite3_column_text(s, 0), names[n]);
        n++;
    }
    sqlite3_finalize(s);
    assert_int_equal(n, sizeof names / sizeof *names);
    assert_int_equal(testdb_int(c->st, "SELECT quantity FROM stock WHERE item_id = 'coffee-beans'"), 5);
}

static void test_stock_never_negative(void **state)
{
    ctx_t *c = *state;
    assert_int_not_equal(sqlite3_exec(store_db(c->st), "INSERT INTO stock VALUES ('n', -1, 0)",
                                      NULL, NULL, NULL), SQLITE_OK);
}

/* Schema 3 drops orders_by_created (GET /orders lists by rowid); a version-2
 * database loses the index and keeps its orders. */
static void test_step_3_drops_created_index(void **state)
{
    ctx_t *c = *state;
    char err[256];
    assert_int_equal(testdb_int(c->st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                   "name = 'orders_by_created'"), 0);
    assert_int_equal(testdb_int(c->st, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                   "name = 'orders_by_execution'"), 1);
    assert_int_equal(sqlite3_exec(store_db(c->st),
        "CREATE INDEX orders_by_created ON orders (created_ms);"
        "INSERT INTO orders (order_id, execution_id, item_id, quantity, status, created_ms,"
        " updated_ms) VALUES ('o1', 'e1', 'coffee-beans', 1, 'PENDING', 1, 1);"
        "DROP TABLE activities;"   /* as version 2 had it */
        "DROP TABLE state_machine_aliases;"
        "ALTER TABLE state_machines DROP COLUMN source;"
        "ALTER TABLE state_machines DROP COLUMN deleted_ms;"
        "ALTER TABLE executions DROP COLUMN redrive_count;"
        "ALTER TABLE executions DROP COLUMN redrive_ms;"
        "ALTER TABLE executions DROP COLUMN start_alias;"
        "ALTER TABLE executions DROP COLUMN start_version;"
        "DROP TABLE refunds;"
        "ALTER TABLE payments DROP COLUMN refund_token;"
        "PRAGMA user_version = 2;", NULL, NULL, NULL), SQLITE_OK);
    store_close(c->st);
    assert_int_equal(store_open(c->path, &c->st, err, sizeof err), 0);
    assert_int_equal(testdb_int(c->st, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(testdb_int(c->st, "SELECT count(*) FROM sqlite_master WHERE name = 'orders_by_created'"), 0);
    assert_int_equal(testdb_int(c->st, "SELECT count(*) FROM orders WHERE order_id = 'o1'"), 1);
}

int main(void)
{
    if (order_schema_register() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_seed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stock_set_get_list, setup, teardown),
        cmocka_unit_test(test_quantity_from_json),
        cmocka_unit_test_setup_teardown(test_orders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fresh_layout_as_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stock_never_negative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_3_drops_created_index, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
