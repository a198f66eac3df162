/* orders.create/confirm/cancel and stock.reserve/release: the order saga's
 * synchronous steps. Each runs inside the step's savepoint, so a failure after
 * a partial write is rolled back by the runtime. */
#include "order/handlers.h"
#include "core/rand.h"
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/publish.h"
#include "order/domain.h"
#include "order/payment.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* input[key]: absent/null -> NULL; a string (even empty) -> it; else an error. */
static int optional_text(const char *handler, const cJSON *input, const char *key,
                         const char **out, asl_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(input, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT, "%s: field '%s' must be a string",
                             handler, key);
    *out = v->valuestring;
    return 0;
}

/* Returns the order as the step result; a missing order is OrderNotFound. */
static int order_result(handler_call_t *call, const char *handler, const char *order_id,
                        cJSON **result, asl_error_t *err)
{
    int rc = order_get(call->store, order_id, result);
    if (rc == ORDER_ERR_NOT_FOUND)
        return asl_error_set(err, ORDER_E_NOT_FOUND, "%s: no order '%s'", handler,
                             order_id);
    if (rc < 0)
        return handlers_db_error(err, handler, call->store);
    return 0;
}

static int create_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    static const char *const name = "orders.create";
    static const char *const address[] = {"firstname", "surname", "street", "zip", "city"};
    const char *item, *addr[5];
    int64_t qty;
    *result = NULL;
    if (!cJSON_IsObject(input))
        return asl_error_set(err, HANDLERS_E_INVALID_INPUT, "%s: input must be an object", name);
    if (handlers_get_string(name, input, "itemId", true, &item, err) < 0 ||
        handlers_get_int(name, input, "quantity", true, 0, 1, ORDER_QUANTITY_MAX, &qty, err) < 0)
        return -1;
    for (int i = 0; i < 5; i++)
        if (optional_text(name, input, address[i], &addr[i], err) < 0)
            return -1;
    char order_id[RAND_UUID_LEN];
    rand_uuid(order_id);
    /* The result is built from the values written, not read back, and before
     * the INSERT: that one statement is the handler's only write and the last
     * thing that can fail, so a failure leaves nothing behind. */
    order_row_t row = {
        .order_id = order_id,
        .execution_id = call->execution_id ? call->execution_id : "",
        .item_id = item,
        .quantity = qty,
        .firstname = addr[0],
        .surname = addr[1],
        .street = addr[2],
        .zip = addr[3],
        .city = addr[4],
        .status = "PENDING",
        .created_ms = call->now_ms,
        .updated_ms = call->now_ms,
    };
    cJSON *order = order_json(&row);
    if (!order)
        return asl_error_set(err, ASL_E_TASK_FAILED, "%s: out of memory", name);
    store_stmt_t *s = store_prepare(
        call->store, "INSERT INTO orders (order_id, execution_id, item_id, quantity, firstname, "
                     "surname, street, zip, city, status, created_ms, updated_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'PENDING', ?10, ?10)");
    if (s) {
        store_bind_text(s, 1, order_id);
        store_bind_text(s, 2, row.execution_id);
        store_bind_text(s, 3, item);
        store_bind_int64(s, 4, qty);
        for (int i = 0; i < 5; i++)
            store_bind_text(s, 5 + i, addr[i]); /* NULL binds NULL */
        store_bind_int64(s, 10, call->now_ms);
    }
    if (!s || store_exec_stmt(s) < 0) {
        cJSON_Delete(order);
        return handlers_db_error(err, name, call->store);
    }
    *result = order;
    return 0;
}

/* The order `order_id` as JSON with `status` and updated `now_ms` when it may
 * move there (not already there, never CANCELLED to PROCESSED): 1 when it
 * may, 0 when it stays as it is, ORDER_ERR_NOT_FOUND / ORDER_ERR_DB. */
static int order_moved(store_t *st, const char *order_id, const char *status, int64_t now_ms,
                       cJSON **out)
{
    store_stmt_t *s = store_prepare(st, "SELECT " ORDER_COLUMNS " FROM orders "
                                        "WHERE order_id = ?1");
    *out = NULL;
    if (!s)
        return ORDER_ERR_DB;
    store_bind_text(s, 1, order_id);
    int rc = store_step(s);
    if (rc != STORE_ROW) {
        store_reset(s);
        return rc == STORE_DONE ? ORDER_ERR_NOT_FOUND : ORDER_ERR_DB;
    }
    order_row_t row;
    order_columns(s, &row);
    const char *was = row.status ? row.status : "";
    int move = strcmp(was, status) != 0 &&
               !(strcmp(status, "PROCESSED") == 0 && strcmp(was, "CANCELLED") == 0);
    if (move) {
        row.status = status;
        row.updated_ms = now_ms;
    }
    *out = order_json(&row);
    store_reset(s);
    return *out ? move : ORDER_ERR_DB;
}

/* Moves an order to `status`, never from CANCELLED to PROCESSED, and returns
 * the order as it is then (a missing order is OrderNotFound). The row is read
 * and the result made before the UPDATE, which is then the handler's only
 * write and the last thing that can fail. */
static int set_status(handler_call_t *call, const char *name, const char *order_id,
                      const char *status, cJSON **result, asl_error_t *err)
{
    int rc = order_moved(call->store, order_id, status, call->now_ms, result);
    if (rc == ORDER_ERR_NOT_FOUND)
        return asl_error_set(err, ORDER_E_NOT_FOUND, "%s: no order '%s'", name,
                             order_id);
    if (rc < 0)
        return handlers_db_error(err, name, call->store);
    if (rc == 0)
        return 0;
    /* The conditions stay in the UPDATE: they hold whatever ran in between. */
    store_stmt_t *s = store_prepare(call->store,
                                    "UPDATE orders SET status = ?2, updated_ms = ?3 "
                                    "WHERE order_id = ?1 AND status <> ?2 "
                                    "AND NOT (?2 = 'PROCESSED' AND status = 'CANCELLED') "
                                    "AND NOT (?2 = 'CANCELLED' AND status = 'PROCESSED' AND "
                                    "EXISTS (SELECT 1 FROM payments WHERE order_id = ?1 "
                                    "AND status IN ('CHARGED', 'REFUNDING')))");
    if (s) {
        store_bind_text(s, 1, order_id);
        store_bind_text(s, 2, status);
        store_bind_int64(s, 3, call->now_ms);
    }
    if (!s || store_exec_stmt(s) < 0) {
        cJSON_Delete(*result);
        *result = NULL;
        return handlers_db_error(err, name, call->store);
    }
    if (store_changes(call->store) == 1)
        return 0;
    /* Changed since the read (possible only without the write lock): nothing
     * was written, report the order as it is now. */
    cJSON_Delete(*result);
    *result = NULL;
    return order_result(call, name, order_id, result, err);
}

static int confirm_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    static const char *const name = "orders.confirm";
    const char *order_id;
    *result = NULL;
    if (handlers_get_string(name, input, "orderId", true, &order_id, err) < 0 ||
        set_status(call, name, order_id, "PROCESSED", result, err) < 0)
        return -1;
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(*result, "status");
    if (!cJSON_IsString(status) || strcmp(status->valuestring, "PROCESSED") != 0) {
        cJSON_Delete(*result);
        *result = NULL;
        return asl_error_set(err, ORDER_E_INVALID_STATE,
                             "%s: order '%s' is CANCELLED and cannot be confirmed", name, order_id);
    }
    return 0;
}

/* 1 when the order has a charge not refunded (a refund in progress is not
 * done), 0 when not, -1 on error. */
static int still_charged(store_t *st, const char *order_id)
{
    return store_exists(st, "SELECT 1 FROM payments WHERE order_id = ?1 "
                            "AND status IN ('CHARGED', 'REFUNDING') LIMIT 1", order_id);
}

/* A PENDING order may be cancelled; a PROCESSED one only once its payment
 * is refunded (or it was never charged), whichever machine asks. */
static int cancel_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    static const char *const name = "orders.cancel";
    const char *order_id;
    *result = NULL;
    if (handlers_get_string(name, input, "orderId", true, &order_id, err) < 0 ||
        set_status(call, name, order_id, "CANCELLED", result, err) < 0)
        return -1;
    const char *now = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(*result, "status"));
    char status[16];
    snprintf(status, sizeof status, "%s", now ? now : "?");
    if (strcmp(status, "CANCELLED") == 0)
        return 0;
    int charged = still_charged(call->store, order_id);
    cJSON_Delete(*result);   /* status is a copy: it outlives the result */
    *result = NULL;
    if (charged < 0)
        return handlers_db_error(err, name, call->store);
    return asl_error_set(err, ORDER_E_INVALID_STATE,
                         "%s: order '%s' is %s%s and cannot be cancelled%s", name, order_id,
                         status, charged ? " with its payment charged" : "",
                         charged ? "; refund it first" : "");
}

static cJSON *reservation_json(const char *order_id, const char *item, int64_t qty,
                               int64_t remaining)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(o, "orderId", cJSON_CreateString(order_id));
    cJSON_AddItemToObjectCS(o, "itemId", cJSON_CreateString(item));
    cJSON_AddItemToObjectCS(o, "quantity", cJSON_CreateNumber((double)qty));
    cJSON_AddItemToObjectCS(o, "remaining", cJSON_CreateNumber((double)remaining));
    return o;
}

/* Current stock of an item: 0 with *qty, 1 when the item is unknown, -1 on error. */
static int stock_of(store_t *st, const char *item, int64_t *qty)
{
    store_stmt_t *s = store_prepare(st, "SELECT quantity FROM stock WHERE item_id = ?1");
    if (!s)
        return -1;
    store_bind_text(s, 1, item);
    int rc = store_step(s);
    *qty = rc == STORE_ROW ? store_col_int64(s, 0) : 0;
    store_reset(s);
    return rc == STORE_ROW ? 0 : rc == STORE_DONE ? 1 : -1;
}

/* The order's existing reservation, so a repeated reserve takes nothing more. */
static int existing_reservation(handler_call_t *call, const char *name, const char *order_id,
                                cJSON **result, asl_error_t *err)
{
    store_stmt_t *s = store_prepare(call->store, "SELECT item_id, quantity, status "
                                                 "FROM reservations WHERE order_id = ?1");
    if (!s)
        return handlers_db_error(err, name, call->store);
    store_bind_text(s, 1, order_id);
    int rc = store_step(s);
    if (rc == STORE_DONE) {
        store_reset(s);
        return 0;
    }
    if (rc != STORE_ROW) {
        store_reset(s);
        return handlers_db_error(err, name, call->store);
    }
    char *item = strdup(store_col_text(s, 0));
    int64_t qty = store_col_int64(s, 1);
    int released = strcmp(store_col_text(s, 2), "RESERVED") != 0;
    store_reset(s);
    int64_t remaining = 0;
    if (!item || released || stock_of(call->store, item, &remaining) < 0) {
        free(item);
        if (released)
            return asl_error_set(err, ORDER_E_INVALID_STATE,
                                 "%s: the reservation of order '%s' was already released", name,
                                 order_id);
        return handlers_db_error(err, name, call->store);
    }
    *result = reservation_json(order_id, item, qty, remaining);
    free(item);
    return 1;
}

static int reserve_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    static const char *const name = "stock.reserve";
    const char *order_id, *item;
    int64_t qty;
    *result = NULL;
    if (handlers_get_string(name, input, "orderId", true, &order_id, err) < 0 ||
        handlers_get_string(name, input, "itemId", true, &item, err) < 0 ||
        handlers_get_int(name, input, "quantity", true, 0, 1, ORDER_QUANTITY_MAX, &qty, err) < 0)
        return -1;
    /* The reservation row first, and only for a PENDING order of this item
     * and quantity, whichever machine calls: no row written means the order
     * has one already or there is no such order (told apart only then, so
     * the common case needs no SELECT). When the stock below is short the
     * handler fails and the runtime's savepoint takes the row back. */
    store_stmt_t *s = store_prepare(call->store, "INSERT INTO reservations (order_id, item_id, "
                                                 "quantity, status, created_ms, updated_ms) "
                                                 "SELECT ?1, ?2, ?3, 'RESERVED', ?4, ?4 "
                                                 "FROM orders WHERE order_id = ?1 AND "
                                                 "item_id = ?2 AND quantity = ?3 AND "
                                                 "status = 'PENDING' "
                                                 "ON CONFLICT (order_id) DO NOTHING");
    if (!s)
        return handlers_db_error(err, name, call->store);
    store_bind_text(s, 1, order_id);
    store_bind_text(s, 2, item);
    store_bind_int64(s, 3, qty);
    store_bind_int64(s, 4, call->now_ms);
    if (store_exec_stmt(s) < 0)
        return handlers_db_error(err, name, call->store);
    if (store_changes(call->store) == 0) {
        int rc = existing_reservation(call, name, order_id, result, err);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        return asl_error_set(err, ORDER_E_INVALID_STATE,
                             "%s: no PENDING order '%s' of %" PRId64 " '%s' to reserve for", name,
                             order_id, qty, item);
    }

    int64_t have;
    int rc = stock_of(call->store, item, &have);
    if (rc < 0)
        return handlers_db_error(err, name, call->store);
    if (rc == 1)
        return asl_error_set(err, ORDER_E_OUT_OF_STOCK,
                             "item '%s' is not stocked (unknown item)", item);
    /* The condition stays in the UPDATE itself, so no interleaving of writers
     * (this process or another) can take stock below zero. */
    if (have >= qty) {
        s = store_prepare(call->store, "UPDATE stock SET quantity = quantity - ?2, updated_ms = ?3 "
                                       "WHERE item_id = ?1 AND quantity >= ?2");
        if (!s)
            return handlers_db_error(err, name, call->store);
        store_bind_text(s, 1, item);
        store_bind_int64(s, 2, qty);
        store_bind_int64(s, 3, call->now_ms);
        if (store_exec_stmt(s) < 0)
            return handlers_db_error(err, name, call->store);
        if (store_changes(call->store) == 1) {
            *result = reservation_json(order_id, item, qty, have - qty);
            return 0;
        }
        /* Changed between the SELECT and the UPDATE: only possible without
         * the write lock the INSERT above took; report what is there now. */
        rc = stock_of(call->store, item, &have);
        if (rc < 0)
            return handlers_db_error(err, name, call->store);
        if (rc == 1)
            return asl_error_set(err, ORDER_E_OUT_OF_STOCK,
                                 "item '%s' is not stocked (unknown item)", item);
    }
    return asl_error_set(err, ORDER_E_OUT_OF_STOCK,
                         "only %" PRId64 " of item '%s' in stock, %" PRId64 " requested", have,
                         item, qty);
}

/* A PROCESSED order's stock is shipped: no machine gives it back while the
 * order stays charged. Once its payment is refunded (the saga compensating
 * after ConfirmOrder), the release goes ahead as for a PENDING order. */
#define NOT_PROCESSED                                                                   \
    "NOT EXISTS (SELECT 1 FROM orders WHERE order_id = ?1 AND status = 'PROCESSED' AND " \
    "EXISTS (SELECT 1 FROM payments WHERE order_id = ?1 AND " \
    "status IN ('CHARGED', 'REFUNDING')))"

static int release_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    static const char *const name = "stock.release";
    const char *order_id;
    *result = NULL;
    if (handlers_get_string(name, input, "orderId", true, &order_id, err) < 0)
        return -1;
    /* What the order holds, then flipping the status (its condition makes
     * the give-back happen at most once). Not UPDATE ... RETURNING: in SQLite
     * 3.40 that costs more than this SELECT and a plain UPDATE together. */
    store_stmt_t *s = store_prepare(call->store, "SELECT item_id, quantity FROM reservations "
                                                 "WHERE order_id = ?1 AND status = 'RESERVED' "
                                                 "AND " NOT_PROCESSED);
    if (!s)
        return handlers_db_error(err, name, call->store);
    store_bind_text(s, 1, order_id);
    int rc = store_step(s);
    char *item = NULL;
    int64_t qty = 0;
    if (rc == STORE_ROW) {
        item = strdup(store_col_text(s, 0));
        qty = store_col_int64(s, 1);
        rc = item ? STORE_DONE : STORE_ERR_NOMEM;
    }
    store_reset(s);
    if (rc != STORE_DONE) {
        free(item);
        return handlers_db_error(err, name, call->store);
    }
    if (qty > 0) {
        s = store_prepare(call->store,
                          "UPDATE reservations SET status = 'RELEASED', updated_ms = ?2 "
                          "WHERE order_id = ?1 AND status = 'RESERVED' AND " NOT_PROCESSED);
        if (s) {
            store_bind_text(s, 1, order_id);
            store_bind_int64(s, 2, call->now_ms);
        }
        if (!s || store_exec_stmt(s) < 0) {
            free(item);
            return handlers_db_error(err, name, call->store);
        }
        if (store_changes(call->store) == 0) {
            /* Released since the read (possible only without the write lock). */
            free(item);
            item = NULL;
            qty = 0;
        }
    }
    if (qty > 0) {
        s = store_prepare(call->store,
                          "INSERT INTO stock (item_id, quantity, updated_ms) VALUES (?1, ?2, ?3) "
                          "ON CONFLICT (item_id) DO UPDATE SET "
                          "quantity = stock.quantity + excluded.quantity, "
                          "updated_ms = excluded.updated_ms");
        if (s) {
            store_bind_text(s, 1, item);
            store_bind_int64(s, 2, qty);
            store_bind_int64(s, 3, call->now_ms);
        }
        if (!s || store_exec_stmt(s) < 0) {
            free(item);
            return handlers_db_error(err, name, call->store);
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(o, "orderId", cJSON_CreateString(order_id));
    if (qty > 0)
        cJSON_AddItemToObjectCS(o, "itemId", cJSON_CreateString(item));
    else
        cJSON_AddItemToObjectCS(o, "itemId", cJSON_CreateNull());
    cJSON_AddItemToObjectCS(o, "released", cJSON_CreateNumber((double)qty));
    free(item);
    *result = o;
    return 0;
}

const handler_def_t order_orders_create = {.name = "orders.create", .run = create_run,
                                           .atomic = 1, .owner = ORDER_MACHINE};
const handler_def_t order_orders_confirm = {.name = "orders.confirm", .run = confirm_run,
                                            .atomic = 1, .owner = ORDER_MACHINE};
const handler_def_t order_orders_cancel = {.name = "orders.cancel", .run = cancel_run,
                                           .atomic = 1, .owner = ORDER_MACHINE};
const handler_def_t order_stock_reserve = {.name = "stock.reserve", .run = reserve_run,
                                           .owner = ORDER_MACHINE};
const handler_def_t order_stock_release = {.name = "stock.release", .run = release_run,
                                           .owner = ORDER_MACHINE};

/* The order saga's events carry its source unless the Task names another. */
static int publish_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    return handlers_publish_run(call, input, ORDER_EVENT_SOURCE, result, err);
}

static const handler_def_t events_publish = {.name = "events.publish", .run = publish_run,
                                             .atomic = 1};

int order_handlers_register(const config_t *cfg)
{
    const handler_def_t *process, *refund;
    order_payment_handlers(cfg, &process, &refund);
    const handler_def_t *defs[] = {
        &order_orders_create,
        &order_stock_reserve,
        process,
        &order_orders_confirm,
        refund,
        &order_stock_release,
        &order_orders_cancel,
        &events_publish,
    };
    int n = (int)(sizeof defs / sizeof defs[0]);
    if (cfg && !cfg->order_saga) {
        /* events.publish is last, and general-purpose: it stays. */
        for (int i = 0; i < n - 1; i++)
            if (handler_register_off(defs[i]->name, "the order saga is switched off in this "
                                                    "daemon (order_saga = off)") < 0)
                return -1;
        return handlers_register_list(defs + n - 1, 1);
    }
    return handlers_register_list(defs, n);
}
