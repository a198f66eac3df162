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

/* The order's CHARGED payments (refund_token NULL) or those the claim
 * `refund_token` took: how many, and their sum. 0 or -1 (database). */
int payment_sum(store_t *st, const char *order_id, const char *refund_token, int64_t *count,
                int64_t *total);

/* A refund step's claim on the order's charges (order/payment_refund.c). */
#define PAYMENT_TOKEN_MAX 512
typedef struct payment_claim_s {
    char token[PAYMENT_TOKEN_MAX]; /* the claiming call's: the refund's idempotency key */
    char execution_id[PAYMENT_TOKEN_MAX]; /* the claiming call's: sent with the key */
    int64_t refunded, amount;      /* the payments claimed, their sum: what is sent */
} payment_claim_t;

enum { PAYMENT_REFUND_SEND = 1, PAYMENT_REFUND_ANSWER = 2 };

/* Before a refund goes out, in a transaction of its own when none is open:
 * PAYMENT_REFUND_SEND with *claim (the order's CHARGED payments now
 * REFUNDING under a refunds row; or this step's claim from an attempt
 * before, to send again under its key; or, for a PENDING order with
 * nothing recorded, a claim of none: its charge may be in doubt);
 * PAYMENT_REFUND_ANSWER with *answer (caller frees) when nothing goes out
 * (the order's last refund done, or nothing refunded); or -1 with err
 * (RefundInProgress when another step's refund of the order is out). */
int payment_refund_claim(handler_call_t *call, const char *order_id, payment_claim_t *claim,
                         cJSON **answer, asl_error_t *err);

/* A refund's finish: this step's claim becomes REFUNDED with its payments,
 * and *result (caller frees) is {"orderId", "refunded", "amount"}; without a
 * claim of this step, what a repeat answers. 0 or -1 with err. */
int payment_refund_settle(handler_call_t *call, const char *order_id, cJSON **result,
                          asl_error_t *err);

/* {"orderId", "refunded", "amount"}; caller frees. */
cJSON *payment_refund_json(const char *order_id, int64_t refunded, int64_t amount);

/* Completes `call` from the loop with `answer` (taken) without calling out:
 * `detach` runs first (it frees the provider's handler_data). NULL when out
 * of memory or without a loop (answer freed). */
typedef struct payment_soon_s payment_soon_t;
payment_soon_t *payment_soon_start(handler_call_t *call, cJSON *answer,
                                   void (*detach)(handler_call_t *call));
/* Stops a payment_soon_start that has not answered (NULL: nothing). */
void payment_soon_cancel(payment_soon_t *s);

#endif
