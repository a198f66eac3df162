/* Queries on the order saga's tables for the HTTP layer and the handlers:
 * rows of orders and stock turned into JSON, and setting stock levels. */
#include "order/domain.h"
#include "core/log.h"
#include "core/timefmt.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

bool order_quantity_from_json(const cJSON *v, int64_t min, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < (double)min || d > (double)ORDER_QUANTITY_MAX)
        return false;
    *out = (int64_t)d;
    return true;
}

/* Keys are string literals: added without a copy (cJSON's "CS" calls; cJSON
 * never frees such a key, and copies share it). An item that cannot be
 * allocated leaves its key out, as cJSON_Add*ToObject do. */
static void add_text_or_null(cJSON *o, const char *key, const char *t)
{
    cJSON *v = t ? cJSON_CreateString(t) : cJSON_CreateNull();
    if (v)
        cJSON_AddItemToObjectCS(o, key, v);
}

static void add_number(cJSON *o, const char *key, int64_t n)
{
    cJSON *v = cJSON_CreateNumber((double)n);
    if (v)
        cJSON_AddItemToObjectCS(o, key, v);
}

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[TIMEFMT_MAX];
    add_text_or_null(o, key, timefmt_utc_ms(ms, buf));
}

cJSON *order_json(const order_row_t *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_text_or_null(o, "orderId", r->order_id);
    add_text_or_null(o, "executionId", r->execution_id);
    add_text_or_null(o, "itemId", r->item_id);
    add_number(o, "quantity", r->quantity);
    add_text_or_null(o, "firstname", r->firstname);
    add_text_or_null(o, "surname", r->surname);
    add_text_or_null(o, "street", r->street);
    add_text_or_null(o, "zip", r->zip);
    add_text_or_null(o, "city", r->city);
    add_text_or_null(o, "status", r->status);
    add_time(o, "createdAt", r->created_ms);
    add_time(o, "updatedAt", r->updated_ms);
    return o;
}

void order_columns(store_stmt_t *s, order_row_t *out)
{
    *out = (order_row_t){
        .order_id = store_col_text(s, 0),
        .execution_id = store_col_text(s, 1),
        .item_id = store_col_text(s, 2),
        .quantity = store_col_int64(s, 3),
        .firstname = store_col_text(s, 4),
        .surname = store_col_text(s, 5),
        .street = store_col_text(s, 6),
        .zip = store_col_text(s, 7),
        .city = store_col_text(s, 8),
        .status = store_col_text(s, 9),
        .created_ms = store_col_int64(s, 10),
        .updated_ms = store_col_int64(s, 11),
    };
}

cJSON *order_from_row(store_stmt_t *s)
{
    order_row_t r;
    order_columns(s, &r);
    return order_json(&r);
}

static cJSON *stock_row(store_stmt_t *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    add_text_or_null(o, "itemId", store_col_text(s, 0));
    cJSON_AddNumberToObject(o, "quantity", (double)store_col_int64(s, 1));
    add_time(o, "updatedAt", store_col_int64(s, 2));
    return o;
}

/* Steps a bound statement expected to give at most one row. */
static int one_row(store_stmt_t *s, cJSON *(*row)(store_stmt_t *), cJSON **out)
{
    *out = NULL;
    int rc = store_step(s);
    int ret = 0;
    if (rc == STORE_ROW) {
        *out = row(s);
        ret = *out ? 0 : ORDER_ERR_DB;
    } else if (rc == STORE_DONE) {
        ret = ORDER_ERR_NOT_FOUND;
    } else {
        log_error("sqlite: %s", store_stmt_errmsg(s));
        ret = ORDER_ERR_DB;
    }
    store_reset(s);
    return ret;
}

static int all_rows(store_stmt_t *s, cJSON *(*row)(store_stmt_t *), cJSON **out)
{
    cJSON *arr = cJSON_CreateArray();
    int rc;
    while (arr && (rc = store_step(s)) == STORE_ROW)
        cJSON_AddItemToArray(arr, row(s));
    if (!arr || rc != STORE_DONE) {
        if (arr)
            log_error("sqlite: %s", store_stmt_errmsg(s));
        store_reset(s);
        cJSON_Delete(arr);
        *out = NULL;
        return ORDER_ERR_DB;
    }
    store_reset(s);
    *out = arr;
    return 0;
}

int order_get(store_t *st, const char *order_id, cJSON **out)
{
    store_stmt_t *s = store_prepare(st, "SELECT " ORDER_COLUMNS " FROM orders WHERE order_id = ?1");
    *out = NULL;
    if (!s)
        return ORDER_ERR_DB;
    store_bind_text(s, 1, order_id);
    return one_row(s, order_from_row, out);
}

int order_by_execution(store_t *st, const char *execution_id, cJSON **out)
{
    store_stmt_t *s = store_prepare(st, "SELECT " ORDER_COLUMNS " FROM orders "
                                        "WHERE execution_id = ?1 "
                                        "ORDER BY created_ms DESC, rowid DESC LIMIT 1");
    *out = NULL;
    if (!s)
        return ORDER_ERR_DB;
    store_bind_text(s, 1, execution_id);
    return one_row(s, order_from_row, out);
}

int order_list(store_t *st, const char *status, int limit, const char *cursor, cJSON **out,
               char next[ORDER_CURSOR_MAX])
{
    /* Newest first: rowids follow insertion (no index needed, schema 3); the
     * cursor is the rowid of the last order of the previous page. The extra
     * column after ORDER_COLUMNS carries it. */
    store_stmt_t *s = store_prepare(st, "SELECT " ORDER_COLUMNS ", rowid FROM orders "
                                        "WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) "
                                        "AND (CAST(?2 AS BIGINT) IS NULL OR rowid < ?2) "
                                        "ORDER BY rowid DESC LIMIT ?3");
    *out = NULL;
    next[0] = '\0';
    long long before = 0;
    if (cursor) {
        char *end;
        before = strtoll(cursor, &end, 10);
        if (!*cursor || *end || before <= 0)
            return ORDER_ERR_INVALID;
    }
    if (!s)
        return ORDER_ERR_DB;
    if (limit < 1 || limit > 1000)
        limit = 100;
    store_bind_text_copy(s, 1, status);
    if (cursor)
        store_bind_int64(s, 2, before);
    store_bind_int(s, 3, limit + 1);
    cJSON *arr = cJSON_CreateArray();
    int rc, n = 0;
    long long last = 0;
    while (arr && (rc = store_step(s)) == STORE_ROW) {
        if (n == limit) {
            snprintf(next, ORDER_CURSOR_MAX, "%lld", last);
            rc = STORE_DONE;
            break;
        }
        cJSON_AddItemToArray(arr, order_from_row(s));
        last = store_col_int64(s, ORDER_N_COLUMNS);
        n++;
    }
    if (!arr || rc != STORE_DONE) {
        if (arr)
            log_error("sqlite: %s", store_stmt_errmsg(s));
        store_reset(s);
        cJSON_Delete(arr);
        next[0] = '\0';
        return ORDER_ERR_DB;
    }
    store_reset(s);
    *out = arr;
    return 0;
}

int order_stock_get(store_t *st, const char *item_id, cJSON **out)
{
    store_stmt_t *s =
        store_prepare(st, "SELECT item_id, quantity, updated_ms FROM stock WHERE item_id = ?1");
    *out = NULL;
    if (!s)
        return ORDER_ERR_DB;
    store_bind_text(s, 1, item_id);
    return one_row(s, stock_row, out);
}

int order_stock_list(store_t *st, cJSON **out)
{
    store_stmt_t *s =
        store_prepare(st, "SELECT item_id, quantity, updated_ms FROM stock ORDER BY item_id");
    *out = NULL;
    if (!s)
        return ORDER_ERR_DB;
    return all_rows(s, stock_row, out);
}

int order_stock_set(store_t *st, const char *item_id, int64_t quantity, int64_t now_ms)
{
    if (!item_id || !*item_id || quantity < 0 || quantity > ORDER_QUANTITY_MAX)
        return ORDER_ERR_INVALID;
    store_stmt_t *s = store_prepare(st, "INSERT INTO stock (item_id, quantity, updated_ms) "
                                        "VALUES (?1, ?2, ?3) ON CONFLICT (item_id) DO UPDATE "
                                        "SET quantity = excluded.quantity, "
                                        "updated_ms = excluded.updated_ms");
    if (!s)
        return ORDER_ERR_DB;
    store_bind_text(s, 1, item_id);
    store_bind_int64(s, 2, quantity);
    store_bind_int64(s, 3, now_ms);
    return store_exec_stmt(s) < 0 ? ORDER_ERR_DB : 0;
}
