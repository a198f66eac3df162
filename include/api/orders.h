/* The order saga's HTTP routes: POST /order, GET /orders, /orders/{orderId},
 * GET /stock, GET and PUT /stock/{itemId}. */
#ifndef SAGAD_API_ORDERS_H
#define SAGAD_API_ORDERS_H

#include "api/common.h"

/* Registers the routes on `srv`; `api` is borrowed and must outlive the
 * server. Returns 0 or -1. */
int api_orders_register(http_server_t *srv, api_t *api);

#endif
