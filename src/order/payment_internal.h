/* Shared by the files of the payment module (order/payment.h): parsing its
 * input and writing the payments table, the same whoever the provider is. */
#ifndef SAGAD_ORDER_PAYMENT_INTERNAL_H
#define SAGAD_ORDER_PAYMENT_INTERNAL_H

#include "engine/handler.h"
#include "order/domain.h"

#include <stdint.h>

/* payment.process's input: orderId (borrowed from input) and amount. 0 or -1
 * with err (InvalidInput, or no idempotency token). */
int payment_parse_charge(const handler_call_t *call, const cJSON *input, const char **order_id,
                         int64_t *amount, asl_error_t *err);

/* Fails the charge unless `order_id` is a PENDING order (OrderNotFound or
 * InvalidOrderState), whichever machine asks: checked before a provider is
 * asked to charge. Returns 0 or -1 with err set. */
int payment_check_order(handler_call_t *call, const char *order_id, asl_error_t *err);

/* payment.refund's input: orderId (borrowed from input). 0 or -1 with err. */
int payment_parse_refund(const cJSON *input, const char **order_id, asl_error_t *err);

/* {"paymentId", "orderId", "amount", "status"}; caller frees. */
cJSON *payment_json(const char *payment_id, const char *order_id, int64_t amount,
                    const char *status);

/* A finish: records *result ({"paymentId", "orderId", "amount"}) as a CHARGED
 * row keyed by call->token, unless the token has one, and replaces *result
 * with the recorded row. NULL *result: nothing to do. 0 or -1 with err. */
int payment_record_charge(handler_call_t *call, cJSON **result, asl_error_t *err);

/* Marks every CHARGED payment of the order REFUNDED; *result (caller frees)
 * is {"orderId", "refunded": count, "amount": total}. 0 or -1 with err. */
int payment_record_refund(handler_call_t *call, const char *order_id, cJSON **result,
                          asl_error_t *err);

/* The order's CHARGED payments: how many, and their sum. 0 or -1 (database). */
int payment_charged(store_t *st, const char *order_id, int64_t *count, int64_t *total);

#endif
