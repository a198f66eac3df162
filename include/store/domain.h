/* The order saga's domain tables (orders, stock) as JSON for the HTTP layer
 * and the handlers: one order, the newest orders, stock levels, setting stock.
 * A fresh database already holds "coffee-beans" = 5: the version-1 migration
 * inserts it, so nothing needs to be called at start. */
#ifndef SAGAD_STORE_DOMAIN_H
#define SAGAD_STORE_DOMAIN_H

#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"

/* Results besides 0 (the negative SQLite code is logged, not returned). */
#define DOMAIN_ERR_DB        (-1) /* SQLite failed */
#define DOMAIN_ERR_NOT_FOUND (-2) /* no such order / item */
#define DOMAIN_ERR_INVALID   (-3) /* a value out of range (see each function) */

/* Largest quantity anywhere: 2^53 - 1, the largest integer a JSON number
 * (a double) carries exactly. */
#define DOMAIN_QUANTITY_MAX INT64_C(9007199254740991)

/* True when v is a JSON number holding an integer in [min, DOMAIN_QUANTITY_MAX]
 * (1.0 counts, 1.5 does not); stores it in *out. For PUT /stock use min 0. */
bool domain_quantity_from_json(const cJSON *v, int64_t min, int64_t *out);

/* The order as JSON:
 *   {"orderId", "executionId", "itemId", "quantity", "firstname", "surname",
 *    "street", "zip", "city", "status", "createdAt", "updatedAt"}
 * status is PENDING, PROCESSED or CANCELLED; the address fields are null when
 * the order was created without them. 0 with *out (caller frees with
 * cJSON_Delete), DOMAIN_ERR_NOT_FOUND or DOMAIN_ERR_DB (*out NULL). */
int domain_order_get(store_t *st, const char *order_id, cJSON **out);

/* An order's columns, for building its JSON without reading the row back:
 * text fields may be NULL (JSON null). */
typedef struct {
    const char *order_id, *execution_id, *item_id;
    int64_t quantity;
    const char *firstname, *surname, *street, *zip, *city;
    const char *status;
    int64_t created_ms, updated_ms;
} domain_order_t;

/* The JSON of domain_order_get for these values, byte for byte. Caller frees
 * with cJSON_Delete; NULL when out of memory. */
cJSON *domain_order_json(const domain_order_t *o);

/* The columns to select (or to RETURN) for domain_order_row, in its order. */
#define DOMAIN_ORDER_COLUMNS                                                           \
    "order_id, execution_id, item_id, quantity, firstname, surname, street, zip, city, " \
    "status, created_ms, updated_ms"

/* The order in the current row of a statement that yields DOMAIN_ORDER_COLUMNS.
 * Caller frees with cJSON_Delete; NULL when out of memory. */
cJSON *domain_order_row(sqlite3_stmt *s);

/* The same row's columns; the text pointers are SQLite's, valid until the
 * statement is stepped or reset. */
void domain_order_columns(sqlite3_stmt *s, domain_order_t *out);

/* The order an execution created (the newest, should it have made several). */
int domain_order_by_execution(store_t *st, const char *execution_id, cJSON **out);

/* JSON array of orders, newest first, at most `limit` (1..1000; other values
 * mean 100). 0 with *out (caller frees), or DOMAIN_ERR_DB. */
int domain_order_list(store_t *st, int limit, cJSON **out);

/* {"itemId", "quantity", "updatedAt"}. 0 with *out (caller frees),
 * DOMAIN_ERR_NOT_FOUND or DOMAIN_ERR_DB. */
int domain_stock_get(store_t *st, const char *item_id, cJSON **out);

/* JSON array of every item, by itemId. 0 with *out (caller frees) or DOMAIN_ERR_DB. */
int domain_stock_list(store_t *st, cJSON **out);

/* Sets (creating it if new) the stock of `item_id` (non-empty) to
 * `quantity` (0..DOMAIN_QUANTITY_MAX). Runs in the caller's transaction when
 * one is open (then it is durable only once that commits), else commits on its
 * own. 0, DOMAIN_ERR_INVALID or DOMAIN_ERR_DB. */
int domain_stock_set(store_t *st, const char *item_id, int64_t quantity, int64_t now_ms);

#endif
