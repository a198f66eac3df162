/* Routes of the order saga's domain: POST /order starts the saga with the
 * body as input; orders and stock are read from their tables. */
#include "order/routes.h"
#include "api/executions.h"
#include "order/domain.h"

#include <stdlib.h>
#include <string.h>

static void on_order(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *input = api_body_json(req);
    if (!input)
        return;
    if (!cJSON_IsObject(input)) {
        http_respond_error(req, 400, "InvalidRequest",
                           "the order must be a JSON object like {\"itemId\": \"coffee-beans\", "
                           "\"quantity\": 1, ...}; nothing was started");
        cJSON_Delete(input);
        return;
    }
    const machine_ver_t *mv = machines_get(api->machines, ORDER_MACHINE);
    if (!mv) {
        http_respond_error(req, 503, "StateMachineDoesNotExist",
                           "the order saga is not loaded: put order.asl.json in sagas_dir (%s) "
                           "and send SIGHUP", api->cfg->sagas_dir);
        cJSON_Delete(input);
        return;
    }
    const char *key = http_request_header(req, "Idempotency-Key");
    if (key && strlen(key) > 80) {
        http_respond_error(req, 400, "InvalidIdempotencyKey",
                           "Idempotency-Key has at most 80 characters (it names the execution)");
        cJSON_Delete(input);
        return;
    }
    api_start_execution(api, req, mv, key && *key ? key : NULL, input);
    cJSON_Delete(input);
}

static void reply_domain(http_request_t *req, int rc, cJSON *o, const char *wrap,
                         const char *notfound, const char *what)
{
    if (rc == 0) {
        if (wrap) {
            cJSON *w = cJSON_CreateObject();
            cJSON_AddItemToObject(w, wrap, o);
            o = w;
        }
        http_respond_json(req, 200, o);
        cJSON_Delete(o);
    } else if (rc == ORDER_ERR_NOT_FOUND) {
        http_respond_error(req, 404, notfound, "no %s '%s'", what,
                           http_request_param(req, what[0] == 'o' ? "orderId" : "itemId"));
    } else {
        http_respond_error(req, 503, "StorageError", "the database could not be read; retry");
    }
}

static void on_get_order(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = NULL;
    int rc = order_get(api->store, http_request_param(req, "orderId"), &o);
    reply_domain(req, rc, o, NULL, "OrderDoesNotExist", "order");
}

static void on_list_orders(http_request_t *req, void *ud)
{
    static const char *const statuses[] = {"PENDING", "PROCESSED", "CANCELLED"};
    api_t *api = ud;
    int limit = 100;
    if (api_query_limit(req, &limit) < 0)
        return;
    const char *status = api_query_opt(req, "status");
    const char *cursor = api_query_opt(req, "cursor");
    size_t i = 0;
    while (status && i < 3 && strcmp(status, statuses[i]) != 0)
        i++;
    if (i == 3) {
        http_respond_error(req, 400, "InvalidParameter",
                           "status must be PENDING, PROCESSED or CANCELLED");
        return;
    }
    cJSON *o = NULL;
    char next[ORDER_CURSOR_MAX];
    int rc = order_list(api->store, status, limit, cursor, &o, next);
    if (rc == ORDER_ERR_INVALID) {
        http_respond_error(req, 400, "InvalidParameter",
                           "cursor must be the nextCursor of a previous page");
        return;
    }
    cJSON *w = rc == 0 ? cJSON_CreateObject() : NULL;
    if (rc == 0 && !w) {
        cJSON_Delete(o);
        api_respond_no_memory(req, "cannot list the orders now");
        return;
    }
    if (w) {
        cJSON_AddItemToObject(w, "orders", o);
        if (*next)
            cJSON_AddStringToObject(w, "nextCursor", next);
        else
            cJSON_AddNullToObject(w, "nextCursor");
    }
    reply_domain(req, rc, w, NULL, "OrderDoesNotExist", "order");
}

static void on_list_stock(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = NULL;
    int rc = order_stock_list(api->store, &o);
    reply_domain(req, rc, o, "stock", "ItemDoesNotExist", "item");
}

static void on_get_stock(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *o = NULL;
    int rc = order_stock_get(api->store, http_request_param(req, "itemId"), &o);
    reply_domain(req, rc, o, NULL, "ItemDoesNotExist", "item");
}

static void on_put_stock(http_request_t *req, void *ud)
{
    api_t *api = ud;
    cJSON *body = api_body_json(req);
    if (!body)
        return;
    static const char *const fields[] = {"quantity", NULL};
    if (api_body_only(req, body, fields) < 0) {
        cJSON_Delete(body);
        return;
    }
    int64_t q;
    const cJSON *qv = cJSON_GetObjectItemCaseSensitive(body, "quantity");
    if (!cJSON_IsObject(body) || !order_quantity_from_json(qv, 0, &q)) {
        http_respond_error(req, 400, "InvalidQuantity",
                           "the body must be {\"quantity\": N} with N a non-negative integer");
        cJSON_Delete(body);
        return;
    }
    cJSON_Delete(body);
    const char *item = http_request_param(req, "itemId");
    int rc = order_stock_set(api->store, item, q, store_now_ms());
    if (rc == ORDER_ERR_INVALID) {
        http_respond_error(req, 400, "InvalidItem", "the item id must not be empty");
        return;
    }
    cJSON *o = NULL;
    if (rc == 0)
        rc = order_stock_get(api->store, item, &o);
    reply_domain(req, rc, o, NULL, "ItemDoesNotExist", "item");
}

int order_routes_register(http_server_t *srv, api_t *api)
{
    int rc = 0;
    rc |= http_server_route(srv, "POST", "/order", on_order, api);
    rc |= http_server_route(srv, "GET", "/orders", on_list_orders, api);
    rc |= http_server_route(srv, "GET", "/orders/{orderId}", on_get_order, api);
    rc |= http_server_route(srv, "GET", "/stock", on_list_stock, api);
    rc |= http_server_route(srv, "GET", "/stock/{itemId}", on_get_stock, api);
    rc |= http_server_route(srv, "PUT", "/stock/{itemId}", on_put_stock, api);
    return rc ? -1 : 0;
}
