/* The order saga's HTTP routes: POST /order, GET /orders, /orders/{orderId},
 * GET /stock, GET and PUT /stock/{itemId}. */
#ifndef SAGAD_ORDER_ROUTES_H
#define SAGAD_ORDER_ROUTES_H

#include "api/common.h"

/* Registers the routes on `srv`; `api` is borrowed and must outlive the
 * server. Returns 0 or -1. */
int order_routes_register(http_server_t *srv, api_t *api);

#endif
