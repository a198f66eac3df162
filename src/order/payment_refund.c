/* A refund through an outside provider, claimed before it goes out: the
 * order's CHARGED payments become REFUNDING under a refunds row keyed by the
 * claiming call's token, so one refund per charge reaches the provider,
 * however many machines ask, and a repeat answers what the first did. */
#include "handlers/common.h"
#include "order/payment.h"
#include "payment_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* The step a token belongs to: "<id>:<state>:<seq>:" of "<id>:<state>:<seq>:<attempt>",
 * the same for every attempt of it, before and after a restart. */
static void step_of(const char *token, char *out, size_t cap)
{
    const char *colon = strrchr(token, ':');
    size_t n = colon ? (size_t)(colon - token) + 1 : strlen(token);
    snprintf(out, cap, "%.*s", (int)n, token);
}

cJSON *payment_refund_json(const char *order_id, int64_t refunded, int64_t amount)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(o, "orderId", cJSON_CreateString(order_id));
    cJSON_AddItemToObjectCS(o, "refunded", cJSON_CreateNumber((double)refunded));
    cJSON_AddItemToObjectCS(o, "amount", cJSON_CreateNumber((double)amount));
    return o;
}

typedef enum refund_pick_e {
    PICK_IN_PROGRESS, /* the order's REFUNDING claim (one at most) */
    PICK_LAST_DONE,   /* the order's latest REFUNDED claim */
    PICK_OF_STEP      /* the latest claim of one step */
} refund_pick_t;

static const char *const pick_sql[] = {
    [PICK_IN_PROGRESS] = "SELECT token, status, refunded, amount, execution_id FROM refunds "
                         "WHERE order_id = ?1 AND status = 'REFUNDING'",
    [PICK_LAST_DONE] = "SELECT token, status, refunded, amount, execution_id FROM refunds "
                       "WHERE order_id = ?1 AND status = 'REFUNDED' "
                       "ORDER BY created_ms DESC, token DESC LIMIT 1",
    [PICK_OF_STEP] = "SELECT token, status, refunded, amount, execution_id FROM refunds "
                     "WHERE order_id = ?1 AND step = ?2 "
                     "ORDER BY created_ms DESC, token DESC LIMIT 1",
};

/* One refunds row of the order (`step` for PICK_OF_STEP): 1 with the claim
 * in *row and its status, 0 when none, -1 on error. */
static int refund_row(store_t *st, refund_pick_t pick, const char *order_id, const char *step,
                      payment_claim_t *row, char status[16])
{
    store_stmt_t *s = store_prepare(st, pick_sql[pick]);
    if (!s)
        return -1;
    store_bind_text(s, 1, order_id);
    if (pick == PICK_OF_STEP)
        store_bind_text(s, 2, step);
    int rc = store_step(s);
    if (rc == STORE_ROW) {
        snprintf(row->token, sizeof row->token, "%s", store_col_text(s, 0));
        snprintf(status, 16, "%s", store_col_text(s, 1));
        row->refunded = store_col_int64(s, 2);
        row->amount = store_col_int64(s, 3);
        snprintf(row->execution_id, sizeof row->execution_id, "%s", store_col_text(s, 4));
    }
    store_reset(s);
    return rc == STORE_ROW ? 1 : rc == STORE_DONE ? 0 : -1;
}

/* Whether the claim `token` is this call's to take over: the execution
 * holding it is this call's (a redrive, a step after a Catch) or no longer
 * running (it was stopped or timed out meanwhile), so nobody else will
 * finish it. Then the claim becomes this step's, and its holder this
 * execution: while that runs, nobody else takes it. 1 taken over, 0 not,
 * -1 on error. */
static int take_over(handler_call_t *call, const char *token, const char *step)
{
    store_stmt_t *s = store_prepare(call->store,
                                    "UPDATE refunds SET step = ?3, holder = ?2, updated_ms = ?4 "
                                    "WHERE token = ?1 AND status = 'REFUNDING' AND "
                                    "(holder = ?2 OR NOT EXISTS (SELECT 1 FROM executions "
                                    "WHERE id = refunds.holder AND status = 'RUNNING'))");
    if (!s)
        return -1;
    store_bind_text(s, 1, token);
    store_bind_text(s, 2, call->execution_id ? call->execution_id : "");
    store_bind_text(s, 3, step);
    store_bind_int64(s, 4, call->now_ms);
    if (store_exec_stmt(s) < 0)
        return -1;
    return store_changes(call->store) == 1;
}

/* What a refund that sends nothing answers: the order's last refund done,
 * or nothing refunded (as the simulator answers). *answer: caller frees. */
static int repeat_answer(store_t *st, const char *order_id, cJSON **answer)
{
    char status[16];
    payment_claim_t last = {.refunded = 0};
    if (refund_row(st, PICK_LAST_DONE, order_id, NULL, &last, status) < 0)
        return -1;
    *answer = payment_refund_json(order_id, last.refunded, last.amount);
    return *answer ? 0 : -1;
}

/* 1 when the order is PENDING (a charge of it may be in doubt), 0 when it
 * is not or does not exist, -1 on error. */
static int order_pending(store_t *st, const char *order_id)
{
    return store_exists(st, "SELECT 1 FROM orders WHERE order_id = ?1 AND status = 'PENDING'",
                        order_id);
}

enum { CLAIM_NONE, CLAIM_TAKEN, CLAIM_TAKEN_BY_ANOTHER };

/* Claims the order's CHARGED payments for this call and records the claim
 * (with `in_doubt`, a claim of none too): CLAIM_TAKEN (*refunded, *amount),
 * CLAIM_NONE (nothing to claim), CLAIM_TAKEN_BY_ANOTHER (a refund of the
 * order in progress came first; the caller rolls back), or -1. */
static int claim_charges(handler_call_t *call, const char *order_id, const char *step,
                         int in_doubt, int64_t *refunded, int64_t *amount)
{
    store_t *st = call->store;
    store_stmt_t *s = store_prepare(st, "UPDATE payments SET status = 'REFUNDING', "
                                        "refund_token = ?2, updated_ms = ?3 "
                                        "WHERE order_id = ?1 AND status = 'CHARGED'");
    if (!s)
        return -1;
    store_bind_text(s, 1, order_id);
    store_bind_text(s, 2, call->token);
    store_bind_int64(s, 3, call->now_ms);
    if (store_exec_stmt(s) < 0)
        return -1;
    if (store_changes(st) == 0 && !in_doubt)
        return CLAIM_NONE;
    if (payment_sum(st, order_id, call->token, refunded, amount) < 0)
        return -1;
    s = store_prepare(st, "INSERT INTO refunds (token, step, execution_id, holder, order_id, "
                          "status, refunded, amount, created_ms, updated_ms) "
                          "VALUES (?1, ?2, ?7, ?7, ?3, 'REFUNDING', ?4, ?5, ?6, ?6) "
                          "ON CONFLICT DO NOTHING");
    if (!s)
        return -1;
    store_bind_text(s, 1, call->token);
    store_bind_text(s, 2, step);
    store_bind_text(s, 3, order_id);
    store_bind_int64(s, 4, *refunded);
    store_bind_int64(s, 5, *amount);
    store_bind_int64(s, 6, call->now_ms);
    store_bind_text(s, 7, call->execution_id ? call->execution_id : "");
    if (store_exec_stmt(s) < 0)
        return -1;
    /* Nothing inserted: another refund of the order is in progress (the
     * unique index on it) and took it first. */
    return store_changes(st) == 1 ? CLAIM_TAKEN : CLAIM_TAKEN_BY_ANOTHER;
}

/* The decision, inside a transaction (the caller's or its own). */
static int decide(handler_call_t *call, const char *order_id, payment_claim_t *claim,
                  cJSON **answer, asl_error_t *err)
{
    store_t *st = call->store;
    char step[PAYMENT_TOKEN_MAX], status[16];
    step_of(call->token, step, sizeof step);
    int rc = refund_row(st, PICK_IN_PROGRESS, order_id, NULL, claim, status);
    if (rc < 0)
        return handlers_db_error(err, "payment.refund", st);
    if (rc == 1) {
        char theirs[PAYMENT_TOKEN_MAX];
        step_of(claim->token, theirs, sizeof theirs);
        /* This step's own claim (an attempt before a restart or a retry), or
         * one nobody else will finish: sent again under the key sent first.
         * Another's in progress: not a second time. */
        if (strcmp(theirs, step) == 0)
            return PAYMENT_REFUND_SEND;
        rc = take_over(call, claim->token, step);
        if (rc < 0)
            return handlers_db_error(err, "payment.refund", st);
        if (rc == 1)
            return PAYMENT_REFUND_SEND;
        return asl_error_set(err, ORDER_E_REFUND_IN_PROGRESS,
                             "payment.refund: a refund of order '%s' is in progress (%s); "
                             "retry for its result", order_id, claim->token);
    }
    int pending = order_pending(st, order_id);
    if (pending < 0)
        return handlers_db_error(err, "payment.refund", st);
    /* A PENDING order never refunded may have a charge whose answer never
     * came: with nothing recorded as charged, the provider is asked once
     * all the same (for nothing, the amount 0). */
    int in_doubt = pending;
    if (in_doubt) {
        payment_claim_t last;
        rc = refund_row(st, PICK_LAST_DONE, order_id, NULL, &last, status);
        if (rc < 0)
            return handlers_db_error(err, "payment.refund", st);
        in_doubt = rc == 0;
    }
    rc = claim_charges(call, order_id, step, in_doubt, &claim->refunded, &claim->amount);
    if (rc < 0)
        return handlers_db_error(err, "payment.refund", st);
    if (rc == CLAIM_TAKEN) {
        snprintf(claim->token, sizeof claim->token, "%s", call->token);
        snprintf(claim->execution_id, sizeof claim->execution_id, "%s",
                 call->execution_id ? call->execution_id : "");
        return PAYMENT_REFUND_SEND;
    }
    /* Nothing to claim: on PostgreSQL (READ COMMITTED) that may be because
     * another refund claimed the payments since the first look. */
    if (rc == CLAIM_NONE) {
        payment_claim_t other;
        rc = refund_row(st, PICK_IN_PROGRESS, order_id, NULL, &other, status);
        if (rc < 0)
            return handlers_db_error(err, "payment.refund", st);
        rc = rc == 1 ? CLAIM_TAKEN_BY_ANOTHER : CLAIM_NONE;
    }
    if (rc == CLAIM_TAKEN_BY_ANOTHER)
        return asl_error_set(err, ORDER_E_REFUND_IN_PROGRESS,
                             "payment.refund: a refund of order '%s' is in progress; "
                             "retry for its result", order_id);
    if (repeat_answer(st, order_id, answer) < 0)
        return handlers_db_error(err, "payment.refund", st);
    return PAYMENT_REFUND_ANSWER;
}

int payment_refund_claim(handler_call_t *call, const char *order_id, payment_claim_t *claim,
                         cJSON **answer, asl_error_t *err)
{
    *answer = NULL;
    memset(claim, 0, sizeof *claim);
    if (!call->token || !*call->token || strlen(call->token) >= PAYMENT_TOKEN_MAX)
        return asl_error_set(err, ASL_E_TASK_FAILED,
                             "payment.refund: the call has no usable idempotency token");
    /* Outside the runtime's batch a start has no transaction: the claim is
     * one of its own, committed before the provider is asked. */
    int own = !store_in_txn(call->store);
    if (own && store_begin(call->store) < 0)
        return handlers_db_error(err, "payment.refund", call->store);
    int rc = decide(call, order_id, claim, answer, err);
    if (own && (rc < 0 ? store_rollback(call->store) : store_commit(call->store)) < 0) {
        cJSON_Delete(*answer);
        *answer = NULL;
        if (rc >= 0) {
            store_rollback(call->store);
            return handlers_db_error(err, "payment.refund", call->store);
        }
    }
    return rc;
}

int payment_refund_settle(handler_call_t *call, const char *order_id, cJSON **result,
                          asl_error_t *err)
{
    store_t *st = call->store;
    char step[PAYMENT_TOKEN_MAX], status[16];
    payment_claim_t ours;
    *result = NULL;
    step_of(call->token ? call->token : "", step, sizeof step);
    int rc = refund_row(st, PICK_OF_STEP, order_id, step, &ours, status);
    if (rc < 0)
        return handlers_db_error(err, "payment.refund", st);
    if (rc == 0) {
        /* Answered without asking the provider. */
        return repeat_answer(st, order_id, result) < 0
                   ? handlers_db_error(err, "payment.refund", st)
                   : 0;
    }
    /* The claim's payments, then the claim itself. */
    static const char *const done_sql[] = {
        "UPDATE payments SET status = 'REFUNDED', updated_ms = ?3 "
        "WHERE order_id = ?1 AND refund_token = ?2 AND status = 'REFUNDING'",
        "UPDATE refunds SET status = 'REFUNDED', updated_ms = ?3 "
        "WHERE order_id = ?1 AND token = ?2",
    };
    for (int i = 0; i < 2 && strcmp(status, "REFUNDING") == 0; i++) {
        store_stmt_t *s = store_prepare(st, done_sql[i]);
        if (!s)
            return handlers_db_error(err, "payment.refund", st);
        store_bind_text(s, 1, order_id);
        store_bind_text(s, 2, ours.token);
        store_bind_int64(s, 3, call->now_ms);
        if (store_exec_stmt(s) < 0)
            return handlers_db_error(err, "payment.refund", st);
    }
    *result = payment_refund_json(order_id, ours.refunded, ours.amount);
    return *result ? 0 : asl_error_set(err, ASL_E_TASK_FAILED, "payment.refund: out of memory");
}

/* ---- answering without calling out ---------------------------------------- */

struct payment_soon_s {
    uv_timer_t timer;
    handler_call_t *call;
    cJSON *answer;
    void (*detach)(handler_call_t *call);
};

static void soon_free(uv_handle_t *h)
{
    payment_soon_t *s = h->data;
    cJSON_Delete(s->answer);
    free(s);
}

static void on_soon(uv_timer_t *t)
{
    payment_soon_t *s = t->data;
    handler_call_t *call = s->call;
    cJSON *answer = s->answer;
    s->answer = NULL;
    /* Detached before completing: the runtime may free the call inside. */
    s->detach(call);
    uv_close((uv_handle_t *)&s->timer, soon_free);
    call->complete(call, answer, NULL);
}

payment_soon_t *payment_soon_start(handler_call_t *call, cJSON *answer,
                                   void (*detach)(handler_call_t *call))
{
    payment_soon_t *s = call->loop && call->complete ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        cJSON_Delete(answer);
        return NULL;
    }
    s->call = call;
    s->answer = answer;
    s->detach = detach;
    uv_timer_init(call->loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_soon, 0, 0);
    return s;
}

void payment_soon_cancel(payment_soon_t *s)
{
    if (!s)
        return;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, soon_free);
}
