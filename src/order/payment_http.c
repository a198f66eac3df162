/* payment.process and payment.refund against an HTTP payment provider: POST
 * <payment_url>/charges and /refunds with the call's token as Idempotency-Key,
 * on the loop; the answer is written to the payments table as the simulator
 * writes it. payment_url is the operator's, so http_task_allow does not apply. */
#include "order/payment.h"
#include "core/jsonin.h"
#include "core/rand.h"
#include "handlers/common.h"
#include "handlers/http_invoke.h"
#include "net/httpc.h"
#include "payment_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define CONNECT_TIMEOUT_MS 10000
#define ANSWER_MAX_BYTES ((size_t)64 * 1024)
#define CAUSE_BODY_BYTES 200
#define PROVIDER_PAYMENT_ID_MAX 200

typedef enum pay_op_e { PAY_CHARGE, PAY_REFUND } pay_op_t;

/* One request in flight, owned by call->handler_data until it ends. */
typedef struct pay_req_s {
    handler_call_t *call;
    httpc_req_t *req;
    payment_soon_t *soon;      /* a refund answered without asking (req NULL) */
    pay_op_t op;
    int64_t amount;
    char *order_id;
    char *url;
} pay_req_t;

static httpc_t *client;
static uv_loop_t *client_loop;

void order_payment_close(void)
{
    httpc_close(client);
    client = NULL;
    client_loop = NULL;
}

static const char *handler_name(pay_op_t op)
{
    return op == PAY_CHARGE ? "payment.process" : "payment.refund";
}

static void pay_req_free(pay_req_t *p)
{
    free(p->order_id);
    free(p->url);
    free(p);
}

/* The first bytes of a body for a Cause, printable ASCII only. */
static void body_start(const httpc_response_t *res, char out[CAUSE_BODY_BYTES + 4])
{
    size_t n = res->body_len < CAUSE_BODY_BYTES ? res->body_len : CAUSE_BODY_BYTES, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)res->body[i];
        out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    strcpy(out + i, n < res->body_len ? "..." : "");
}

/* The provider's paymentId when its JSON answer names one, else a UUID. */
static void provider_payment_id(const httpc_response_t *res, char *out, size_t cap)
{
    cJSON *body = NULL;
    jsonin_error_t jerr;
    const cJSON *pid = NULL;
    if (res->body_len && jsonin_parse(res->body, res->body_len, &body, &jerr) == JSONIN_OK)
        pid = cJSON_GetObjectItemCaseSensitive(body, "paymentId");
    if (cJSON_IsString(pid) && pid->valuestring[0] &&
        strlen(pid->valuestring) <= PROVIDER_PAYMENT_ID_MAX && strlen(pid->valuestring) < cap) {
        strcpy(out, pid->valuestring);
    } else {
        char uuid[RAND_UUID_LEN];
        snprintf(out, cap, "%s", rand_uuid(uuid));
    }
    cJSON_Delete(body);
}

/* What a 2xx answer completes the call with: the charge to record, or the
 * order whose charges finish marks refunded. */
static cJSON *success_result(const pay_req_t *p, const httpc_response_t *res)
{
    if (p->op == PAY_REFUND) {
        cJSON *o = cJSON_CreateObject();
        if (o && !cJSON_AddStringToObject(o, "orderId", p->order_id)) {
            cJSON_Delete(o);
            return NULL;
        }
        return o;
    }
    char pid[PROVIDER_PAYMENT_ID_MAX + 1];
    provider_payment_id(res, pid, sizeof pid);
    return payment_json(pid, p->order_id, p->amount, "CHARGED");
}

/* Sets err for an answer that is no success: 402 to a charge is a decline,
 * anything else an error of the exchange, so the saga refunds to be safe. */
static void failure(const pay_req_t *p, const httpc_response_t *res, asl_error_t *err)
{
    const char *name = handler_name(p->op);
    char body[CAUSE_BODY_BYTES + 4];
    switch (res->outcome) {
    case HTTPC_OK:
        body_start(res, body);
        if (p->op == PAY_CHARGE && res->status == 402) {
            asl_error_set(err, ORDER_E_PAYMENT_FAILED,
                          "the payment provider declined the payment of order '%s' "
                          "(POST %.300s answered 402): %s",
                          p->order_id, p->url, body);
        } else {
            char code[64];
            snprintf(code, sizeof code, HTTP_INVOKE_E_STATUS "%d", res->status);
            asl_error_set(err, code, "%s: POST %.300s answered %d: %s", name, p->url,
                          res->status, body);
        }
        break;
    case HTTPC_SOCKET:
        asl_error_set(err, HTTP_INVOKE_E_SOCKET, "%s: POST %.300s: %s", name, p->url, res->error);
        break;
    case HTTPC_TIMEOUT:
        asl_error_set(err, ASL_E_TIMEOUT, "%s: POST %.300s: no answer within %d ms "
                      "(http_task_timeout_ms): %s", name, p->url,
                      p->call->cfg ? p->call->cfg->http_task_timeout_ms : 0, res->error);
        break;
    case HTTPC_TOO_LARGE:
    case HTTPC_FAILED:
        asl_error_set(err, ASL_E_TASK_FAILED, "%s: POST %.300s: %s", name, p->url, res->error);
        break;
    }
}

static void on_answer(const httpc_response_t *res, void *data)
{
    pay_req_t *p = data;
    handler_call_t *call = p->call;
    asl_error_t err = {0};
    cJSON *result = NULL;
    if (res->outcome == HTTPC_OK && res->status >= 200 && res->status <= 299) {
        if (!(result = success_result(p, res)))
            asl_error_set(&err, ASL_E_TASK_FAILED, "%s: out of memory reading the answer",
                          handler_name(p->op));
    } else {
        failure(p, res, &err);
    }
    /* Detached before completing: the runtime may free the call inside. */
    call->handler_data = NULL;
    pay_req_free(p);
    call->complete(call, result, err.error ? &err : NULL);
    asl_error_clear(&err);
}

/* "<payment_url>/<path>" without doubled slashes; caller frees. */
static char *provider_url(const config_t *cfg, const char *path)
{
    size_t n = strlen(cfg->payment_url);
    while (n && cfg->payment_url[n - 1] == '/')
        n--;
    char *url = malloc(n + strlen(path) + 2);
    if (url)
        sprintf(url, "%.*s/%s", (int)n, cfg->payment_url, path);
    return url;
}

/* The request body: {"orderId", "amount", "executionId"}; caller frees. */
static char *request_body(const pay_req_t *p, const char *execution_id)
{
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    if (o && cJSON_AddStringToObject(o, "orderId", p->order_id) &&
        cJSON_AddNumberToObject(o, "amount", (double)p->amount) &&
        cJSON_AddStringToObject(o, "executionId", execution_id ? execution_id : ""))
        text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

/* POSTs the call's request with the Idempotency-Key of `key_token` and the
 * `execution_id` that first sent it (the same key, the same body); on
 * success the call waits for on_answer. */
static int post(handler_call_t *call, pay_op_t op, const char *order_id, int64_t amount,
                const char *key_token, const char *execution_id, asl_error_t *err)
{
    const char *name = handler_name(op);
    if (!call->loop || !call->complete || !call->cfg || !call->cfg->payment_url[0])
        return asl_error_set(err, ASL_E_TASK_FAILED, "%s: no event loop or no payment_url", name);
    if (client && client_loop != call->loop)
        return asl_error_set(err, ASL_E_TASK_FAILED, "%s: called from a second event loop", name);
    if (!client && httpc_open(call->loop, &client) == 0)
        client_loop = call->loop;
    pay_req_t *p = calloc(1, sizeof *p);
    char *body = NULL, *key = NULL;
    int rc = -1;
    if (client && p && (p->order_id = strdup(order_id)) &&
        (p->url = provider_url(call->cfg, op == PAY_CHARGE ? "charges" : "refunds"))) {
        p->call = call;
        p->op = op;
        p->amount = amount;
        body = request_body(p, execution_id);
        key = http_invoke_idempotency_key(key_token);
    }
    if (body && key) {
        httpc_header_t headers[] = {{"Content-Type", "application/json"},
                                    {"Accept", "application/json"},
                                    {"Idempotency-Key", key}};
        int64_t total = call->cfg->http_task_timeout_ms;
        httpc_request_t q = {
            .method = "POST", .url = p->url, .headers = headers,
            .n_headers = sizeof headers / sizeof headers[0], .body = body,
            .body_len = strlen(body), .timeout_ms = total,
            .connect_timeout_ms = total < CONNECT_TIMEOUT_MS ? total : CONNECT_TIMEOUT_MS,
            .max_response_bytes = ANSWER_MAX_BYTES};
        rc = httpc_submit(client, &q, on_answer, p, &p->req);
    }
    free(body);
    free(key);
    if (rc < 0) {
        if (p)
            pay_req_free(p);
        return asl_error_set(err, ASL_E_TASK_FAILED, "%s: cannot start the request to the "
                             "payment provider (out of memory)", name);
    }
    call->handler_data = p;
    return 0;
}

static int charge_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    const char *order_id;
    int64_t amount;
    if (payment_parse_charge(call, input, &order_id, &amount, err) < 0 ||
        payment_check_order(call, order_id, err) < 0)
        return -1;
    return post(call, PAY_CHARGE, order_id, amount, call->token, call->execution_id, err);
}

static void detach(handler_call_t *call)
{
    pay_req_t *p = call->handler_data;
    call->handler_data = NULL;
    pay_req_free(p);
}

/* The provider is asked to refund what the claim took, under the claim's
 * key; a refund that has nothing to send answers without asking. */
static int refund_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    const char *order_id;
    payment_claim_t claim;
    cJSON *answer;
    if (payment_parse_refund(input, &order_id, err) < 0)
        return -1;
    int rc = payment_refund_claim(call, order_id, &claim, &answer, err);
    if (rc == PAYMENT_REFUND_SEND)
        return post(call, PAY_REFUND, order_id, claim.amount, claim.token, claim.execution_id,
                    err);
    if (rc < 0)
        return -1;
    pay_req_t *p = calloc(1, sizeof *p);
    if (p)
        p->op = PAY_REFUND;
    call->handler_data = p;
    if (!p || !(p->soon = payment_soon_start(call, answer, detach))) {
        if (!p)
            cJSON_Delete(answer);
        call->handler_data = NULL;
        free(p);
        return asl_error_set(err, ASL_E_TASK_FAILED, "payment.refund: out of memory");
    }
    return 0;
}

static int refund_finish(handler_call_t *call, cJSON **result, asl_error_t *err)
{
    const char *order_id;
    int rc = payment_parse_refund(*result, &order_id, err);
    cJSON *done = NULL;
    if (rc == 0)
        rc = payment_refund_settle(call, order_id, &done, err);
    cJSON_Delete(*result);
    *result = done;
    return rc;
}

static void cancel(handler_call_t *call)
{
    pay_req_t *p = call->handler_data;
    if (!p)
        return;
    call->handler_data = NULL;
    if (p->soon)
        payment_soon_cancel(p->soon);
    else
        httpc_cancel(p->req);
    pay_req_free(p);
}

const handler_def_t order_payment_process_http = {.name = "payment.process",
                                                  .start = charge_start,
                                                  .cancel = cancel,
                                                  .finish = payment_record_charge,
                                                  .owner = ORDER_MACHINE};
const handler_def_t order_payment_refund_http = {.name = "payment.refund",
                                                 .start = refund_start,
                                                 .cancel = cancel,
                                                 .finish = refund_finish, .owner = ORDER_MACHINE};
