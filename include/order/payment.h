/* The order saga's payment steps, served by the provider the config key
 * payment_provider selects: the in-process simulator, an HTTP provider, or
 * activity workers. Every provider writes the payments table the same way,
 * so the saga and GET /orders do not depend on the choice.
 *
 *   sagad:payment.process  {"orderId": str, "amount"?: int >= 0 (default 0)}
 *       -> {"paymentId", "orderId", "amount", "status": "CHARGED"}
 *       fails PaymentFailed when the provider declines (the charge did not
 *       happen); any other failure may have charged.
 *       Idempotent per call->token: the charge is a payments row keyed by the
 *       token, written with the step; a call whose token already has a row
 *       returns that row and charges nothing new.
 *   sagad:payment.refund   {"orderId"} -> {"orderId", "refunded": count, "amount": total}
 *       refunds the order's CHARGED payments, each once whichever machine
 *       asks. Simulator: marks them REFUNDED; refunded 0 when there are
 *       none (safe to repeat). Outside providers: claims them first (status
 *       REFUNDING under a refunds row keyed by the call's token, committed
 *       before the provider is asked), and marks them REFUNDED when it
 *       answers. A refund with nothing to claim asks no provider and answers
 *       the order's last refund (the same result), or refunded 0 when there
 *       was none, except for a PENDING order never refunded, whose charge
 *       may be in doubt: the provider is asked once (amount 0). A refund
 *       that finds another step's claim in progress fails RefundInProgress
 *       and asks nothing (retry it: it then answers that refund's result);
 *       a step that finds its own claim (a retry, a restart) sends it again
 *       under the claim's key.
 *
 * simulator: declines with probability cfg->payment_failure_rate. Two
 *       flavours of payment.process: synchronous (the charge is written in the
 *       step's savepoint) and asynchronous (a libuv timer of
 *       cfg->payment_latency_ms stands for the provider; finish writes it),
 *       picked when payment_latency_ms > 0. The refund is synchronous.
 * http: POST <payment_url>/charges and <payment_url>/refunds, body
 *       {"orderId", "amount", "executionId"} (a refund's amount: the sum of
 *       the payments it claimed), header Idempotency-Key: call->token (a
 *       refund: the token of the attempt that claimed, and the body as that
 *       attempt sent it; the same when a call is sent again after a
 *       restart, a retry or a takeover). 2xx: done (a
 *       charge keeps the answer's "paymentId" when it is a JSON string, else
 *       gets a UUID); 402 to a charge: PaymentFailed; another status:
 *       States.Http.StatusCode.<code>; no answer: States.Http.Socket, or
 *       States.Timeout after http_task_timeout_ms.
 * activity: the call is delegated to activity "<payment_activity>.charge"
 *       or ".refund"; a worker polls it, gets the Task's input as above and
 *       reports with the token it got: success (a charge's output may name
 *       "paymentId") or failure (error "PaymentFailed" for a decline). */
#ifndef SAGAD_ORDER_PAYMENT_H
#define SAGAD_ORDER_PAYMENT_H

#include "core/config.h"
#include "engine/handler.h"
#include "engine/runtime.h"

#define ORDER_E_PAYMENT_FAILED "PaymentFailed"
#define ORDER_E_REFUND_IN_PROGRESS "RefundInProgress"

extern const handler_def_t order_payment_process_sync;
extern const handler_def_t order_payment_process_async;
extern const handler_def_t order_payment_refund;
extern const handler_def_t order_payment_process_http;
extern const handler_def_t order_payment_refund_http;
extern const handler_def_t order_payment_process_activity;
extern const handler_def_t order_payment_refund_activity;

/* The payment.process and payment.refund that `cfg` selects (NULL: the
 * synchronous simulator), and logs the choice. */
void order_payment_handlers(const config_t *cfg, const handler_def_t **process,
                            const handler_def_t **refund);

/* With payment_provider = activity, creates its two activities so that
 * workers can poll them before the first order (otherwise the first charge
 * and refund do). Logs a warning when it cannot. Once the runtime is open,
 * between loop callbacks. */
void order_payment_start(runtime_t *rt, const config_t *cfg);

/* Closes the HTTP provider's client (nothing when it never ran). For
 * shutdown, after the runtime has cancelled its calls. */
void order_payment_close(void);

#endif
