/* payment.process and payment.refund served by activity workers: each call is
 * delegated to "<payment_activity>.charge" or ".refund", and the worker's
 * report is written to the payments table as the simulator writes it. */
#include "order/payment.h"
#include "core/log.h"
#include "core/rand.h"
#include "engine/tasks.h"
#include "payment_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest paymentId taken from a worker; a longer one is replaced by a UUID. */
#define WORKER_PAYMENT_ID_MAX 200

/* "<payment_activity>.<op>" into `name`. */
static void activity_name(const config_t *cfg, const char *op,
                          char name[CONFIG_PAYMENT_ACTIVITY_MAX + 16])
{
    snprintf(name, CONFIG_PAYMENT_ACTIVITY_MAX + 16, "%s.%s",
             cfg ? cfg->payment_activity : "payment", op);
}

void order_payment_start(runtime_t *rt, const config_t *cfg)
{
    static const char *const ops[] = {"charge", "refund"};
    if (!cfg || cfg->payment_provider != CONFIG_PAYMENT_ACTIVITY)
        return;
    for (int i = 0; i < 2; i++) {
        char name[CONFIG_PAYMENT_ACTIVITY_MAX + 16];
        int64_t created;
        activity_name(cfg, ops[i], name);
        if (tasks_activity_create(rt, name, &created) < 0)
            log_warn("payment: cannot create activity %s now; the first call will", name);
    }
}

/* Hands the call to the workers of "<payment_activity>.<op>". The input is
 * kept (borrowed) for finish: the runtime holds it until finish has run. */
static int delegate(handler_call_t *call, const cJSON *input, const char *handler,
                    const char *op, asl_error_t *err)
{
    char name[CONFIG_PAYMENT_ACTIVITY_MAX + 16];
    activity_name(call->cfg, op, name);
    if (!call->delegate || call->delegate(call, name) < 0)
        return asl_error_set(err, ASL_E_TASK_FAILED,
                             "%s: cannot hand the call to the workers of activity '%s'", handler,
                             name);
    call->handler_data = (void *)input;
    return 0;
}

static int charge_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    const char *order_id;
    int64_t amount;
    /* Checked here, so a malformed input fails before any worker sees it. */
    return payment_parse_charge(call, input, &order_id, &amount, err) < 0 ||
                   payment_check_order(call, order_id, err) < 0
               ? -1
               : delegate(call, input, "payment.process", "charge", err);
}

/* The worker said success: its paymentId (a UUID when it names none) is
 * recorded with the order and amount of the input. */
static int charge_finish(handler_call_t *call, cJSON **result, asl_error_t *err)
{
    const char *order_id;
    int64_t amount;
    if (!call->handler_data)
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: the charge lost its input");
    if (payment_parse_charge(call, call->handler_data, &order_id, &amount, err) < 0)
        return -1;
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(*result, "paymentId");
    char uuid[RAND_UUID_LEN];
    const char *payment_id = uuid;
    if (cJSON_IsString(pid) && pid->valuestring[0] &&
        strlen(pid->valuestring) <= WORKER_PAYMENT_ID_MAX)
        payment_id = pid->valuestring;
    else
        rand_uuid(uuid);
    cJSON *charge = payment_json(payment_id, order_id, amount, "CHARGED");
    if (!charge)
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: out of memory");
    cJSON_Delete(*result);
    *result = charge;
    return payment_record_charge(call, result, err);
}

/* A refund's handler_data: the input handed to the workers (borrowed), or
 * the answer given without them. */
typedef struct refund_s {
    const cJSON *input;
    payment_soon_t *soon;
} refund_t;

static void detach(handler_call_t *call)
{
    free(call->handler_data);
    call->handler_data = NULL;
}

/* Handed to the workers only when the claim has something to send. */
static int refund_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    const char *order_id;
    payment_claim_t claim;
    cJSON *answer;
    if (payment_parse_refund(input, &order_id, err) < 0)
        return -1;
    int rc = payment_refund_claim(call, order_id, &claim, &answer, err);
    if (rc < 0)
        return -1;
    refund_t *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(answer);
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.refund: out of memory");
    }
    r->input = input;
    if (rc == PAYMENT_REFUND_SEND) {
        if (delegate(call, input, "payment.refund", "refund", err) < 0) {
            free(r);
            return -1;
        }
        call->handler_data = r;
        return 0;
    }
    call->handler_data = r;
    if (!(r->soon = payment_soon_start(call, answer, detach))) {
        detach(call);
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.refund: out of memory");
    }
    return 0;
}

/* The worker refunded the order: the claim and its charges become REFUNDED.
 * Without handler_data the refund was answered without the workers. */
static int refund_finish(handler_call_t *call, cJSON **result, asl_error_t *err)
{
    const char *order_id;
    refund_t *r = call->handler_data;
    if (!r)
        return 0;
    int rc = payment_parse_refund(r->input, &order_id, err);
    detach(call);
    if (rc < 0)
        return -1;
    cJSON_Delete(*result);
    return payment_refund_settle(call, order_id, result, err);
}

static void refund_cancel(handler_call_t *call)
{
    refund_t *r = call->handler_data;
    if (r)
        payment_soon_cancel(r->soon);
    detach(call);
}

/* Nothing of the handler's to free: handler_data is the borrowed input. */
static void forget_input(handler_call_t *call)
{
    call->handler_data = NULL;
}

const handler_def_t order_payment_process_activity = {.name = "payment.process",
                                                      .start = charge_start,
                                                      .cancel = forget_input,
                                                      .finish = charge_finish,
                                                      .delegates = 1, .owner = ORDER_MACHINE};
const handler_def_t order_payment_refund_activity = {.name = "payment.refund",
                                                     .start = refund_start,
                                                     .cancel = refund_cancel,
                                                     .finish = refund_finish,
                                                     .delegates = 1, .owner = ORDER_MACHINE};
