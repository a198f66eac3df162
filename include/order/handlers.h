/* The order saga's handlers on the orders, stock and reservations tables. All
 * are synchronous: their SQL runs in the step's savepoint, so each takes
 * effect exactly once, together with the state transition that records it.
 * Orders are returned as order_get writes them (order/domain.h).
 * orders.create, .confirm and .cancel make at most one write, their last
 * fallible step: when they fail, nothing of theirs was written even without
 * the savepoint (stock.reserve and stock.release write twice and need it).
 *
 *   sagad:orders.create   {"itemId": str, "quantity": int >= 1, "firstname"?,
 *                          "surname"?, "street"?, "zip"?, "city"?: str}
 *                         -> the new order, status PENDING, a fresh UUID orderId
 *   sagad:orders.confirm  {"orderId"} -> the order, status PROCESSED;
 *                         fails OrderNotFound, or InvalidOrderState when CANCELLED
 *   sagad:orders.cancel   {"orderId"} -> the order, status CANCELLED (idempotent);
 *                         fails OrderNotFound
 *   sagad:stock.reserve   {"orderId", "itemId", "quantity": int >= 1}
 *                         -> {"orderId", "itemId", "quantity", "remaining"}
 *                         takes quantity from stock with one conditional UPDATE
 *                         (never below zero); fails OutOfStock when there is not
 *                         enough or the item is unknown (the cause says which).
 *                         A second call for the same order returns the first
 *                         reservation and takes nothing more.
 *   sagad:stock.release   {"orderId"} -> {"orderId", "itemId", "released"}
 *                         gives back what the order reserved, once; released 0
 *                         and itemId null when there is nothing to give back.
 * Malformed input fails with InvalidInput (handlers/common.h). */
#ifndef SAGAD_ORDER_HANDLERS_H
#define SAGAD_ORDER_HANDLERS_H

#include "core/config.h"
#include "engine/handler.h"
#include "order/domain.h"

/* The "source" of the order saga's events (events/outbox.h). */
#define ORDER_EVENT_SOURCE "sagad.order"

#define ORDER_E_OUT_OF_STOCK       "OutOfStock"

extern const handler_def_t order_orders_create;
extern const handler_def_t order_orders_confirm;
extern const handler_def_t order_orders_cancel;
extern const handler_def_t order_stock_reserve;
extern const handler_def_t order_stock_release;

/* Registers the order saga's eight handlers: the five above, payment.process
 * and payment.refund (order/payment.h), and events.publish with source
 * ORDER_EVENT_SOURCE (handlers/publish.h). The payment steps are those of
 * the provider cfg selects (order_payment_handlers; cfg may be NULL: the
 * synchronous simulator). With cfg->order_saga off, only events.publish:
 * the other seven are registered as switched off (handler_register_off), so
 * a definition naming them is refused saying so. Returns 0, or -1 when a
 * name is taken. */
int order_handlers_register(const config_t *cfg);

#endif
