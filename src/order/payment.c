/* payment.process and payment.refund against a simulated provider, and the
 * payments table every provider writes the same way: a charge is a row keyed
 * by the call's idempotency token, so however often a step is re-run the
 * order is charged at most once per attempt. */
#include "core/rand.h"
#include "order/payment.h"
#include "core/log.h"
#include "handlers/common.h"
#include "order/domain.h"
#include "payment_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

cJSON *payment_json(const char *payment_id, const char *order_id, int64_t amount,
                           const char *status)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(o, "paymentId", cJSON_CreateString(payment_id));
    cJSON_AddItemToObjectCS(o, "orderId", cJSON_CreateString(order_id));
    cJSON_AddItemToObjectCS(o, "amount", cJSON_CreateNumber((double)amount));
    cJSON_AddItemToObjectCS(o, "status", cJSON_CreateString(status));
    return o;
}

/* The payment recorded for this token: 1 with *out, 0 when none, -1 on error. */
static int payment_by_token(store_t *st, const char *token, cJSON **out)
{
    store_stmt_t *s = store_prepare(st, "SELECT payment_id, order_id, amount, status "
                                        "FROM payments WHERE token = ?1");
    *out = NULL;
    if (!s)
        return -1;
    store_bind_text(s, 1, token);
    int rc = store_step(s);
    if (rc == STORE_ROW)
        *out = payment_json(store_col_text(s, 0), store_col_text(s, 1), store_col_int64(s, 2),
                            store_col_text(s, 3));
    store_reset(s);
    return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

/* Records a charge unless the token already has one (or, from a provider
 * that reuses ids, another charge has its payment_id: the caller tells).
 * With `pending_only` (a charge not made yet) also unless the order is not
 * PENDING: no row then either, and the caller tells which. */
static int insert_charge(handler_call_t *call, const char *payment_id, const char *order_id,
                         int64_t amount, int pending_only)
{
    store_stmt_t *s = store_prepare(
        call->store, pending_only
                         ? "INSERT INTO payments (payment_id, order_id, execution_id, token, "
                           "amount, status, created_ms, updated_ms) "
                           "SELECT ?1, ?2, ?3, ?4, ?5, 'CHARGED', ?6, ?6 FROM orders "
                           "WHERE order_id = ?2 AND status = 'PENDING' ON CONFLICT DO NOTHING"
                         : "INSERT INTO payments (payment_id, order_id, execution_id, token, "
                           "amount, status, created_ms, updated_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, 'CHARGED', ?6, ?6) ON CONFLICT DO NOTHING");
    if (!s)
        return -1;
    store_bind_text(s, 1, payment_id);
    store_bind_text(s, 2, order_id);
    store_bind_text(s, 3, call->execution_id ? call->execution_id : "");
    store_bind_text(s, 4, call->token);
    store_bind_int64(s, 5, amount);
    store_bind_int64(s, 6, call->now_ms);
    return store_exec_stmt(s);
}

int payment_check_order(handler_call_t *call, const char *order_id, asl_error_t *err)
{
    store_stmt_t *s = store_prepare(call->store, "SELECT status FROM orders WHERE order_id = ?1");
    if (!s)
        return handlers_db_error(err, "payment.process", call->store);
    store_bind_text(s, 1, order_id);
    int rc = store_step(s);
    int pending = rc == STORE_ROW && strcmp(store_col_text(s, 0), "PENDING") == 0;
    char status[16];
    snprintf(status, sizeof status, "%s", rc == STORE_ROW ? store_col_text(s, 0) : "");
    store_reset(s);
    if (rc != STORE_ROW && rc != STORE_DONE)
        return handlers_db_error(err, "payment.process", call->store);
    if (rc == STORE_DONE)
        return asl_error_set(err, ORDER_E_NOT_FOUND, "payment.process: no order '%s'", order_id);
    if (!pending)
        return asl_error_set(err, ORDER_E_INVALID_STATE,
                             "payment.process: order '%s' is %s; only a PENDING order is charged",
                             order_id, status);
    return 0;
}

int payment_parse_charge(const handler_call_t *call, const cJSON *input, const char **order_id,
                         int64_t *amount, asl_error_t *err)
{
    if (!call->token || !*call->token)
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: the call has no idempotency token");
    if (handlers_get_string("payment.process", input, "orderId", true, order_id, err) < 0 ||
        handlers_get_int("payment.process", input, "amount", false, 0, 0, ORDER_QUANTITY_MAX,
                         amount, err) < 0)
        return -1;
    return 0;
}

/* The provider's verdict. */
static int provider_declines(const config_t *cfg)
{
    return cfg && rand_unit() < cfg->payment_failure_rate;
}

static int declined(asl_error_t *err, const char *order_id, const config_t *cfg)
{
    return asl_error_set(err, ORDER_E_PAYMENT_FAILED,
                         "the payment provider declined the payment of order '%s' "
                         "(simulated failure, payment_failure_rate=%g)",
                         order_id, cfg ? cfg->payment_failure_rate : 0.0);
}

static int process_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    const char *order_id;
    int64_t amount;
    *result = NULL;
    if (payment_parse_charge(call, input, &order_id, &amount, err) < 0)
        return -1;
    /* The charge first: a token already charged keeps its payment (the INSERT
     * changes nothing), which spares the lookup in the common case. A decline
     * fails the handler and the runtime's savepoint takes the row back. */
    char payment_id[RAND_UUID_LEN];
    rand_uuid(payment_id);
    if (insert_charge(call, payment_id, order_id, amount, 1) < 0)
        return handlers_db_error(err, "payment.process", call->store);
    if (store_changes(call->store) == 0) {
        int rc = payment_by_token(call->store, call->token, result);
        if (rc != 0)
            return rc > 0 ? 0 : handlers_db_error(err, "payment.process", call->store);
        return payment_check_order(call, order_id, err) < 0
                   ? -1
                   : handlers_db_error(err, "payment.process", call->store);
    }
    if (provider_declines(call->cfg))
        return declined(err, order_id, call->cfg);
    *result = payment_json(payment_id, order_id, amount, "CHARGED");
    return 0;
}

/* An asynchronous payment in flight: the timer stands for the provider. */
typedef struct pending_s {
    uv_timer_t timer;
    handler_call_t *call;
    cJSON *known;        /* the recorded payment when the token was charged before */
    char *order_id;
    int64_t amount;
} pending_t;

static void pending_free(uv_handle_t *h)
{
    pending_t *p = h->data;
    cJSON_Delete(p->known);
    free(p->order_id);
    free(p);
}

static void on_provider_answer(uv_timer_t *t)
{
    pending_t *p = t->data;
    handler_call_t *call = p->call;
    asl_error_t err = {0};
    cJSON *result = NULL;
    if (p->known) {
        result = p->known;
        p->known = NULL;
    } else if (provider_declines(call->cfg)) {
        declined(&err, p->order_id, call->cfg);
    } else {
        char payment_id[RAND_UUID_LEN];
        rand_uuid(payment_id);
        result = payment_json(payment_id, p->order_id, p->amount, "CHARGED");
    }
    /* Detach before completing: the runtime may free the call inside complete. */
    call->handler_data = NULL;
    uv_close((uv_handle_t *)&p->timer, pending_free);
    call->complete(call, result, err.error ? &err : NULL);
    asl_error_clear(&err);
}

static int process_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    const char *order_id;
    int64_t amount;
    cJSON *known = NULL;
    if (payment_parse_charge(call, input, &order_id, &amount, err) < 0 ||
        payment_check_order(call, order_id, err) < 0)
        return -1;
    if (!call->loop || !call->complete)
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: no event loop to wait on");
    if (payment_by_token(call->store, call->token, &known) < 0)
        return handlers_db_error(err, "payment.process", call->store);
    pending_t *p = calloc(1, sizeof *p);
    if (!p || !(p->order_id = strdup(order_id))) {
        free(p);
        cJSON_Delete(known);
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: out of memory");
    }
    p->call = call;
    p->known = known;
    p->amount = amount;
    uv_timer_init(call->loop, &p->timer);
    p->timer.data = p;
    /* A payment already on record answers at once (but still from the loop). */
    uint64_t delay = known || !call->cfg ? 0 : (uint64_t)call->cfg->payment_latency_ms;
    uv_timer_start(&p->timer, on_provider_answer, delay, 0);
    call->handler_data = p;
    return 0;
}

static void process_cancel(handler_call_t *call)
{
    pending_t *p = call->handler_data;
    if (!p)
        return;
    call->handler_data = NULL;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, pending_free);
}

int payment_record_charge(handler_call_t *call, cJSON **result, asl_error_t *err)
{
    if (!*result)
        return 0;
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(*result, "paymentId");
    const cJSON *oid = cJSON_GetObjectItemCaseSensitive(*result, "orderId");
    const cJSON *amt = cJSON_GetObjectItemCaseSensitive(*result, "amount");
    if (!cJSON_IsString(pid) || !cJSON_IsString(oid) || !cJSON_IsNumber(amt))
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.process: malformed provider answer");
    if (insert_charge(call, pid->valuestring, oid->valuestring, (int64_t)amt->valuedouble, 0) < 0)
        return handlers_db_error(err, "payment.process", call->store);
    cJSON *recorded = NULL;
    int rc = payment_by_token(call->store, call->token, &recorded);
    if (rc < 0)
        return handlers_db_error(err, "payment.process", call->store);
    if (rc == 0)
        return asl_error_set(err, ASL_E_TASK_FAILED,
                             "payment.process: the provider's paymentId '%.200s' is already "
                             "recorded for another charge", pid->valuestring);
    cJSON_Delete(*result);
    *result = recorded;
    return 0;
}

/* count(*) and sum(amount) of the payments `sql` selects for ?1 (and ?2
 * when `token` is set). 0 or -1. */
static int sum_payments(store_t *st, const char *sql, const char *order_id, const char *token,
                        int64_t *count, int64_t *total)
{
    store_stmt_t *s = store_prepare(st, sql);
    if (!s)
        return -1;
    store_bind_text(s, 1, order_id);
    if (token)
        store_bind_text(s, 2, token);
    int rc = store_step(s);
    *count = rc == STORE_ROW ? store_col_int64(s, 0) : 0;
    *total = rc == STORE_ROW ? store_col_int64(s, 1) : 0; /* NULL: 0 */
    store_reset(s);
    return rc == STORE_ROW ? 0 : -1;
}

int payment_sum(store_t *st, const char *order_id, const char *refund_token, int64_t *count,
                int64_t *total)
{
    return sum_payments(st, refund_token ? "SELECT count(*), sum(amount) FROM payments "
                                           "WHERE order_id = ?1 AND refund_token = ?2"
                                         : "SELECT count(*), sum(amount) FROM payments "
                                           "WHERE order_id = ?1 AND status = 'CHARGED'",
                        order_id, refund_token, count, total);
}

/* The order's REFUNDED payments: how many and their sum. 0 or -1. */
static int payment_sum_refunded(store_t *st, const char *order_id, int64_t *count,
                                int64_t *total)
{
    return sum_payments(st, "SELECT count(*), sum(amount) FROM payments "
                            "WHERE order_id = ?1 AND status = 'REFUNDED'",
                        order_id, NULL, count, total);
}

int payment_parse_refund(const cJSON *input, const char **order_id, asl_error_t *err)
{
    return handlers_get_string("payment.refund", input, "orderId", true, order_id, err);
}

static int payment_record_refund(handler_call_t *call, const char *order_id, cJSON **result,
                          asl_error_t *err)
{
    *result = NULL;
    /* The charges, then flipping them (not UPDATE ... RETURNING: in SQLite
     * 3.40 that costs more than this SELECT and a plain UPDATE together). */
    int64_t count, total;
    if (payment_sum(call->store, order_id, NULL, &count, &total) < 0)
        return handlers_db_error(err, "payment.refund", call->store);
    store_stmt_t *s;
    if (count > 0) {
        s = store_prepare(call->store, "UPDATE payments SET status = 'REFUNDED', updated_ms = ?2 "
                                       "WHERE order_id = ?1 AND status = 'CHARGED'");
        if (s) {
            store_bind_text(s, 1, order_id);
            store_bind_int64(s, 2, call->now_ms);
        }
        if (!s || store_exec_stmt(s) < 0)
            return handlers_db_error(err, "payment.refund", call->store);
        /* Changed since the read only without the write lock: refuse rather
         * than report a wrong sum (the step can be retried). */
        if (store_changes(call->store) != count)
            return asl_error_set(err, HANDLERS_E_DATABASE,
                                 "payment.refund: the payments of order '%s' changed meanwhile",
                                 order_id);
    }
    /* A repeat refunds nothing and answers what was refunded before, as
     * the outside providers' repeats do. */
    if (count == 0 && payment_sum_refunded(call->store, order_id, &count, &total) < 0)
        return handlers_db_error(err, "payment.refund", call->store);
    *result = payment_refund_json(order_id, count, total);
    return 0;
}

static int refund_run(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err)
{
    const char *order_id;
    *result = NULL;
    if (payment_parse_refund(input, &order_id, err) < 0)
        return -1;
    return payment_record_refund(call, order_id, result, err);
}

const handler_def_t order_payment_process_sync = {.name = "payment.process",
                                                  .run = process_run, .owner = ORDER_MACHINE};
const handler_def_t order_payment_process_async = {.name = "payment.process",
                                                   .start = process_start,
                                                   .cancel = process_cancel,
                                                   .finish = payment_record_charge,
                                                   .owner = ORDER_MACHINE};
const handler_def_t order_payment_refund = {.name = "payment.refund", .run = refund_run,
                                            .owner = ORDER_MACHINE};

void order_payment_handlers(const config_t *cfg, const handler_def_t **process,
                            const handler_def_t **refund)
{
    config_payment_t provider = cfg ? cfg->payment_provider : CONFIG_PAYMENT_SIMULATOR;
    switch (provider) {
    case CONFIG_PAYMENT_HTTP:
        *process = &order_payment_process_http;
        *refund = &order_payment_refund_http;
        log_info("payment: HTTP provider at %s", cfg->payment_url);
        return;
    case CONFIG_PAYMENT_ACTIVITY:
        *process = &order_payment_process_activity;
        *refund = &order_payment_refund_activity;
        log_info("payment: activity workers of %s.charge and %s.refund", cfg->payment_activity,
                 cfg->payment_activity);
        return;
    case CONFIG_PAYMENT_SIMULATOR:
        break;
    }
    *process = cfg && cfg->payment_latency_ms > 0 ? &order_payment_process_async
                                                  : &order_payment_process_sync;
    *refund = &order_payment_refund;
    if (cfg)
        log_info("payment: simulated provider (payment_failure_rate %g, payment_latency_ms %d)",
                 cfg->payment_failure_rate, cfg->payment_latency_ms);
}
