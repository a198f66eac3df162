/* The order saga's domain tables (orders, stock) as JSON for the HTTP layer
 * and the handlers: one order, the newest orders, stock levels, setting stock.
 * A fresh database already holds "coffee-beans" = 5: the order schema's
 * version-1 step inserts it (order/schema.h), so nothing needs to be called
 * at start. */
#ifndef SAGAD_ORDER_DOMAIN_H
#define SAGAD_ORDER_DOMAIN_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

/* Results besides 0 (the store's negative code is logged, not returned). */
/* The order saga's state machine (sagas/order.asl.json): POST /order starts
 * it, and it is the one machine the order handlers serve unless
 * handler_allow grants them to others. */
#define ORDER_MACHINE "order"

/* Errors the order handlers fail with when an order is missing or not in a
 * state that allows the step (whichever machine asked). */
#define ORDER_E_NOT_FOUND     "OrderNotFound"
#define ORDER_E_INVALID_STATE "InvalidOrderState"

#define ORDER_ERR_DB        (-1) /* the database failed */
#define ORDER_ERR_NOT_FOUND (-2) /* no such order / item */
#define ORDER_ERR_INVALID   (-3) /* a value out of range (see each function) */

/* Largest quantity anywhere: 2^53 - 1, the largest integer a JSON number
 * (a double) carries exactly. */
#define ORDER_QUANTITY_MAX INT64_C(9007199254740991)

/* True when v is a JSON number holding an integer in [min, ORDER_QUANTITY_MAX]
 * (1.0 counts, 1.5 does not); stores it in *out. For PUT /stock use min 0. */
bool order_quantity_from_json(const cJSON *v, int64_t min, int64_t *out);

/* The order as JSON:
 *   {"orderId", "executionId", "itemId", "quantity", "firstname", "surname",
 *    "street", "zip", "city", "status", "createdAt", "updatedAt"}
 * status is PENDING, PROCESSED or CANCELLED; the address fields are null when
 * the order was created without them. 0 with *out (caller frees with
 * cJSON_Delete), ORDER_ERR_NOT_FOUND or ORDER_ERR_DB (*out NULL). */
int order_get(store_t *st, const char *order_id, cJSON **out);

/* An order's columns, for building its JSON without reading the row back:
 * text fields may be NULL (JSON null). */
typedef struct {
    const char *order_id, *execution_id, *item_id;
    int64_t quantity;
    const char *firstname, *surname, *street, *zip, *city;
    const char *status;
    int64_t created_ms, updated_ms;
} order_row_t;

/* The JSON of order_get for these values, byte for byte. Caller frees
 * with cJSON_Delete; NULL when out of memory. */
cJSON *order_json(const order_row_t *o);

/* The columns to select (or to RETURN) for order_from_row, in its order. */
#define ORDER_COLUMNS                                                           \
    "order_id, execution_id, item_id, quantity, firstname, surname, street, zip, city, " \
    "status, created_ms, updated_ms"
#define ORDER_N_COLUMNS 12

/* The order in the current row of a statement that yields ORDER_COLUMNS.
 * Caller frees with cJSON_Delete; NULL when out of memory. */
cJSON *order_from_row(store_stmt_t *s);

/* The same row's columns; the text pointers are the store's (borrowed),
 * valid until the statement is stepped or reset. */
void order_columns(store_stmt_t *s, order_row_t *out);

/* The order an execution created (the newest, should it have made several). */
int order_by_execution(store_t *st, const char *execution_id, cJSON **out);

/* Room for a nextCursor of order_list, with its NUL. */
#define ORDER_CURSOR_MAX 24

/* JSON array of orders, newest first, at most `limit` (1..1000; other values
 * mean 100), only those with `status` unless it is NULL, and only those
 * after the page that returned `cursor` unless it is NULL. `next` gets the
 * cursor of the following page, or "" on the last one. 0 with *out (caller
 * frees), ORDER_ERR_INVALID for a cursor this function did not return, or
 * ORDER_ERR_DB. */
int order_list(store_t *st, const char *status, int limit, const char *cursor, cJSON **out,
               char next[ORDER_CURSOR_MAX]);

/* {"itemId", "quantity", "updatedAt"}. 0 with *out (caller frees),
 * ORDER_ERR_NOT_FOUND or ORDER_ERR_DB. */
int order_stock_get(store_t *st, const char *item_id, cJSON **out);

/* JSON array of every item, by itemId. 0 with *out (caller frees) or ORDER_ERR_DB. */
int order_stock_list(store_t *st, cJSON **out);

/* Sets (creating it if new) the stock of `item_id` (non-empty) to
 * `quantity` (0..ORDER_QUANTITY_MAX). Runs in the caller's transaction when
 * one is open (then it is durable only once that commits), else commits on its
 * own. 0, ORDER_ERR_INVALID or ORDER_ERR_DB. */
int order_stock_set(store_t *st, const char *item_id, int64_t quantity, int64_t now_ms);

#endif
