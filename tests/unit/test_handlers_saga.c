/* The order saga at handler level: sagas/order.asl.json is well formed for
 * these handlers (every Resource registered, every target a state, the
 * compensation entry points), and the saga's outcome table (which steps
 * ran, which were compensated, which event) holds when the handlers are called in the file's order with the
 * inputs its Parameters build. */
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
#include "events/outbox.h"
#include "handlers/handlers.h"
#include "order/handlers.h"
#include "store/db.h"
#include "order/domain.h"
#include "order/schema.h"
#include "testdb.h"

static cJSON *load_saga(void)
{
    FILE *f = fopen("sagas/order.asl.json", "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static const cJSON *state_of(const cJSON *saga, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(saga, "States"), name);
    if (!s)
        fail_msg("state '%s' is missing", name);
    return s;
}

static const char *catch_target(const cJSON *state, const char *error)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(state, "Catch"))
    {
        const cJSON *e;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(c, "ErrorEquals"))
        if (strcmp(e->valuestring, error) == 0)
            return cJSON_GetObjectItem(c, "Next")->valuestring;
    }
    return NULL;
}

static void check_target(const cJSON *saga, const cJSON *v)
{
    if (cJSON_IsString(v))
        state_of(saga, v->valuestring);
}

static void check_choice_targets(const cJSON *saga, const cJSON *rules)
{
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) check_target(saga, cJSON_GetObjectItem(r, "Next"));
}

static void test_structure(void **state)
{
    (void)state;
    handler_reset();
    assert_int_equal(handlers_register_builtin(), 0);
    assert_int_equal(order_handlers_register(NULL), 0);
    cJSON *saga = load_saga();
    assert_string_equal(cJSON_GetObjectItem(saga, "StartAt")->valuestring, "IsValidRequest");
    const char *spec_states[] = {"IsValidRequest", "CreateOrder", "ReserveItem", "ProcessPayment",
                                 "ConfirmOrder", "EmitSuccessEvent", "RefundPayment",
                                 "CancelReservation", "CancelOrder", "EmitFailureEvent",
                                 "DoNothing"};
    for (size_t i = 0; i < sizeof spec_states / sizeof spec_states[0]; i++)
        state_of(saga, spec_states[i]);
    assert_string_equal(cJSON_GetObjectItem(state_of(saga, "IsValidRequest"), "Type")->valuestring,
                        "Choice");
    assert_string_equal(cJSON_GetObjectItem(state_of(saga, "DoNothing"), "Type")->valuestring,
                        "Succeed");

    const cJSON *st;
    cJSON_ArrayForEach(st, cJSON_GetObjectItem(saga, "States"))
    {
        const char *type = cJSON_GetObjectItem(st, "Type")->valuestring;
        check_target(saga, cJSON_GetObjectItem(st, "Next"));
        check_target(saga, cJSON_GetObjectItem(st, "Default"));
        check_choice_targets(saga, cJSON_GetObjectItem(st, "Choices"));
        check_choice_targets(saga, cJSON_GetObjectItem(st, "Catch"));
        if (strcmp(type, "Task") == 0) {
            const char *res = cJSON_GetObjectItem(st, "Resource")->valuestring;
            if (!handler_lookup(res) || strncmp(res, "sagad:", 6) != 0)
                fail_msg("state %s: Resource %s is not a registered handler", st->string, res);
        }
    }
    /* Compensation enters at the right point. */
    assert_string_equal(catch_target(state_of(saga, "ReserveItem"), "OutOfStock"), "CancelOrder");
    assert_string_equal(catch_target(state_of(saga, "ProcessPayment"), "PaymentFailed"),
                        "CancelReservation");
    assert_string_equal(catch_target(state_of(saga, "ProcessPayment"), "States.ALL"),
                        "RefundPayment");
    assert_string_equal(cJSON_GetObjectItem(state_of(saga, "RefundPayment"), "Next")->valuestring,
                        "CancelReservation");
    assert_string_equal(cJSON_GetObjectItem(state_of(saga, "CancelReservation"), "Next")->valuestring,
                        "CancelOrder");
    assert_string_equal(cJSON_GetObjectItem(state_of(saga, "CancelOrder"), "Next")->valuestring,
                        "EmitFailureEvent");
    const cJSON *fail = state_of(saga, cJSON_GetObjectItem(state_of(saga, "EmitFailureEvent"),
                                                           "Next")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(fail, "Type")->valuestring, "Fail");
    assert_string_equal(cJSON_GetObjectItem(fail, "ErrorPath")->valuestring, "$.error.Error");
    cJSON_Delete(saga);
    handler_reset();
}

/* ---- the outcome table, handler by handler ---- */

typedef struct {
    char path[64];
    store_t *st;
    config_t cfg;
    int n;
} ctx_t;

static int setup(void **state)
{
    ctx_t *c = calloc(1, sizeof *c);
    char err[256];
    snprintf(c->path, sizeof c->path, "/tmp/sagad-saga-%d.db", (int)getpid());
    testdb_remove(c->path);
    if (store_open(c->path, &c->st, err, sizeof err) < 0)
        return -1;
    config_defaults(&c->cfg);
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

/* One Task step: its own committed transaction, like the runtime's. */
static int step(ctx_t *c, const char *resource, cJSON *input, cJSON **result, asl_error_t *err)
{
    char token[64];
    snprintf(token, sizeof token, "exec-s/%s/%d", resource, c->n++);
    handler_call_t call = {.store = c->st, .cfg = &c->cfg, .execution_id = "exec-s",
                           .token = token, .now_ms = store_now_ms()};
    assert_int_equal(store_begin(c->st), 0);
    int rc = handler_lookup(resource)->run(&call, input, result, err);
    assert_int_equal(rc == 0 ? store_commit(c->st) : store_rollback(c->st), 0);
    cJSON_Delete(input);
    return rc;
}

static cJSON *order_ref(const cJSON *order)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "orderId", cJSON_GetObjectItem(order, "orderId")->valuestring);
    return o;
}

static cJSON *event(const char *type, const cJSON *order)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detailType", type);
    cJSON_AddItemToObject(o, "detail", cJSON_Duplicate(order, 1));
    return o;
}

/* Runs the saga's Task chain for a valid input; returns the failing error name
 * (static) or NULL on success, and leaves the final order in *order_out. */
static const char *run_saga(ctx_t *c, int quantity, double failure_rate, cJSON **order_out)
{
    char in[256];
    cJSON *order, *r;
    asl_error_t e = {0};
    static char error[64];
    const char *failed = NULL;
    c->cfg.payment_failure_rate = failure_rate;
    snprintf(in, sizeof in,
             "{\"itemId\":\"coffee-beans\",\"quantity\":%d,\"firstname\":\"Laura\",\"surname\":"
             "\"Becker\",\"street\":\"Main Avenue 1\",\"zip\":\"12345\",\"city\":\"Fancy Town\"}",
             quantity);
    assert_int_equal(step(c, "sagad:orders.create", cJSON_Parse(in), &order, &e), 0);

    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "orderId", cJSON_GetObjectItem(order, "orderId")->valuestring);
    cJSON_AddStringToObject(res, "itemId", "coffee-beans");
    cJSON_AddNumberToObject(res, "quantity", quantity);
    if (step(c, "sagad:stock.reserve", res, &r, &e) < 0) {
        snprintf(error, sizeof error, "%s", e.error);
        failed = error;
        asl_error_clear(&e);
        goto cancel_order; /* Catch OutOfStock -> CancelOrder */
    }
    cJSON_Delete(r);
    cJSON *pay = order_ref(order);
    cJSON_AddNumberToObject(pay, "amount", quantity);
    if (step(c, "sagad:payment.process", pay, &r, &e) < 0) {
        snprintf(error, sizeof error, "%s", e.error);
        failed = error;
        asl_error_clear(&e);
        goto cancel_reservation; /* Catch PaymentFailed -> CancelReservation */
    }
    cJSON_Delete(r);
    cJSON *confirmed;
    assert_int_equal(step(c, "sagad:orders.confirm", order_ref(order), &confirmed, &e), 0);
    cJSON_Delete(order);
    order = confirmed;
    assert_int_equal(step(c, "sagad:events.publish", event("Processed", order), &r, &e), 0);
    cJSON_Delete(r);
    *order_out = order;
    return NULL;

    /* the compensation chain from its entry points; RefundPayment is the
     * entry for other payment errors and is a no-op here */
cancel_reservation:
    assert_int_equal(step(c, "sagad:payment.refund", order_ref(order), &r, &e), 0);
    assert_int_equal(cJSON_GetObjectItem(r, "refunded")->valuedouble, 0);
    cJSON_Delete(r);
    assert_int_equal(step(c, "sagad:stock.release", order_ref(order), &r, &e), 0);
    cJSON_Delete(r);
cancel_order:;
    cJSON *cancelled;
    assert_int_equal(step(c, "sagad:orders.cancel", order_ref(order), &cancelled, &e), 0);
    cJSON_Delete(order);
    order = cancelled;
    assert_int_equal(step(c, "sagad:events.publish", event("Cancelled", order), &r, &e), 0);
    cJSON_Delete(r);
    *order_out = order;
    return failed;
}

static int64_t beans(ctx_t *c)
{
    cJSON *s;
    assert_int_equal(order_stock_get(c->st, "coffee-beans", &s), 0);
    int64_t q = (int64_t)cJSON_GetObjectItem(s, "quantity")->valuedouble;
    cJSON_Delete(s);
    return q;
}

/* The detail-type of the newest outbox event. */
static void last_event_is(ctx_t *c, const char *type, const cJSON *order)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st),
                                        "SELECT payload FROM outbox ORDER BY seq DESC LIMIT 1", -1,
                                        &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    cJSON *env = cJSON_Parse((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    assert_string_equal(cJSON_GetObjectItem(env, "detail-type")->valuestring, type);
    assert_true(cJSON_Compare(cJSON_GetObjectItem(env, "detail"), order, 1));
    cJSON_Delete(env);
}

static void test_outcomes(void **state)
{
    ctx_t *c = *state;
    cJSON *order;
    assert_int_equal(beans(c), 5); /* the seed */

    /* valid, in stock, payment ok */
    assert_null(run_saga(c, 2, 0.0, &order));
    assert_string_equal(cJSON_GetObjectItem(order, "status")->valuestring, "PROCESSED");
    assert_int_equal(beans(c), 3);
    last_event_is(c, "Processed", order);
    cJSON_Delete(order);

    /* not enough stock: nothing reserved, nothing charged */
    assert_string_equal(run_saga(c, 4, 0.0, &order), "OutOfStock");
    assert_string_equal(cJSON_GetObjectItem(order, "status")->valuestring, "CANCELLED");
    assert_int_equal(beans(c), 3);
    last_event_is(c, "Cancelled", order);
    cJSON_Delete(order);

    /* payment fails: stock restored */
    assert_string_equal(run_saga(c, 3, 1.0, &order), "PaymentFailed");
    assert_string_equal(cJSON_GetObjectItem(order, "status")->valuestring, "CANCELLED");
    assert_int_equal(beans(c), 3);
    last_event_is(c, "Cancelled", order);
    cJSON_Delete(order);

    assert_int_equal(outbox_backlog(c->st), 3);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(store_db(c->st),
                                        "SELECT count(*) FROM payments WHERE status = 'CHARGED'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
}

int main(void)
{
    if (order_schema_register() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test_setup_teardown(test_outcomes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
