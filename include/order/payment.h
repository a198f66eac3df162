/* The simulated payment provider of the order saga.
 *
 *   sagad:payment.process  {"orderId": str, "amount"?: int >= 0 (default 0)}
 *       -> {"paymentId", "orderId", "amount", "status": "CHARGED"}
 *       fails PaymentFailed with probability cfg->payment_failure_rate.
 *       Idempotent per call->token: the charge is a payments row keyed by the
 *       token, written with the step; a call whose token already has a row
 *       returns that row and charges nothing new.
 *       Two flavours share the name: synchronous (the charge is written in the
 *       step's savepoint) and asynchronous (a libuv timer of
 *       cfg->payment_latency_ms on call->loop stands for the provider's answer;
 *       finish writes the charge). order_handlers_register picks the
 *       asynchronous one when payment_latency_ms > 0.
 *   sagad:payment.refund   {"orderId"} -> {"orderId", "refunded": count, "amount": total}
 *       marks every CHARGED payment of the order REFUNDED; refunded 0 when
 *       nothing was charged (safe to repeat). */
#ifndef SAGAD_ORDER_PAYMENT_H
#define SAGAD_ORDER_PAYMENT_H

#include "engine/handler.h"

#define ORDER_E_PAYMENT_FAILED "PaymentFailed"

extern const handler_def_t order_payment_process_sync;
extern const handler_def_t order_payment_process_async;
extern const handler_def_t order_payment_refund;

#endif
