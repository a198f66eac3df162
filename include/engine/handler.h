/* In-process Task handlers: a Task with "Resource": "sagad:NAME" runs the
 * handler registered as NAME. A synchronous handler runs inside the step's
 * savepoint, so its SQL commits together with the state transition or not at
 * all. An asynchronous handler (something outside the database: a provider,
 * a socket) starts work and completes later from the event loop; it is
 * at-least-once, so it gets an idempotency token. */
#ifndef SAGAD_ENGINE_HANDLER_H
#define SAGAD_ENGINE_HANDLER_H

#include <cJSON.h>
#include <stdint.h>

#include "asl/common.h"
#include "core/config.h"
#include "store/db.h"

typedef struct handler_call_s handler_call_t;

struct handler_call_s {
    store_t *store;            /* a transaction is open; never BEGIN/COMMIT */
    const config_t *cfg;
    const char *execution_id;
    const char *state_name;
    int attempt;               /* 0 on the first try, then 1, 2... on retries */
    /* $$.Task.Token: "<execution or iteration id>:<state>:<seq>:<attempt>",
     * unique per attempt and stable across restarts (for a callback Task,
     * 48 hex characters instead). */
    const char *token;
    int64_t now_ms;
    void *loop;                /* uv_loop_t *, for asynchronous handlers */
    /* Asynchronous completion: called once, from the loop, with the result
     * (taken) or the error (copied). Set by the runtime. */
    void (*complete)(handler_call_t *call, cJSON *result, const asl_error_t *err);
    /* Asynchronous, for long work: "still making progress". With the Task's
     * HeartbeatSeconds set, a call that goes that long without one (or
     * without completing) fails with States.HeartbeatTimeout, as on AWS
     * (SendTaskHeartbeat). Set by the runtime; a no-op without the field. */
    void (*heartbeat)(handler_call_t *call);
    /* Asynchronous, for handlers with `delegates` set, from start only:
     * hands the call to the workers of activity `activity` (created if
     * new) instead of completing it itself. The task's input is queued for
     * them, and the first report (POST /tasks/success|failure with the
     * token the poll returned) completes the call as `complete` would; then
     * `finish` runs as usual. 0, or -1 (out of memory, bad name: start then
     * fails the call itself). */
    int (*delegate)(handler_call_t *call, const char *activity);
    void *runtime_data;        /* the runtime's, do not touch */
    void *handler_data;        /* the handler's, between start and finish */
};

typedef struct handler_def_s {
    const char *name;          /* e.g. "orders.create" */
    /* Synchronous: returns 0 with *result set (caller frees with cJSON_Delete),
     * or -1 with `err` set (the step's SQL is rolled back, the Task fails with
     * that Error/Cause and Retry/Catch apply). NULL for asynchronous handlers. */
    int (*run)(handler_call_t *call, const cJSON *input, cJSON **result, asl_error_t *err);
    /* Synchronous, optional: 1 when run makes at most one write statement and
     * can fail only before it or in it (a failed statement leaves nothing:
     * SQLite rolls it back, or the whole transaction). Such a handler runs
     * without the task savepoint. */
    int atomic;
    /* Asynchronous: starts the work and returns 0 (then call->complete runs
     * later exactly once, unless the runtime cancels first) or -1 with err.
     * `input` (borrowed) stays valid until finish has run or the call ended
     * otherwise, so start may keep it in handler_data. */
    int (*start)(handler_call_t *call, const cJSON *input, asl_error_t *err);
    /* Asynchronous, optional: frees what start left in handler_data when the
     * runtime gives up on the call (timeout, stop, shutdown, or a failure
     * reported for a delegated call). After it, complete must not be called.
     * The Task's input given to start stays valid until finish or cancel. */
    void (*cancel)(handler_call_t *call);
    /* Asynchronous, optional: runs inside the transaction that records the
     * outcome, to write its effects; may replace *result or turn it into an
     * error (return -1 with err). */
    int (*finish)(handler_call_t *call, cJSON **result, asl_error_t *err);
    /* Asynchronous, optional: start may call call->delegate. The runtime
     * then gives the task an unguessable report token of its own (kept
     * across restarts), since call->token is predictable. */
    int delegates;
    /* Optional: the one state machine that may use this handler ("order"
     * for the order saga's own steps), plus those handler_allow grants it
     * to; NULL: any machine may. A domain's handlers guard their invariants
     * anyway; this keeps other machines from reaching them at all. */
    const char *owner;
} handler_def_t;

/* Registers a handler (the definition is not copied: keep it static).
 * Returns 0, or -1 when the name is taken or the table is full. */
int handler_register(const handler_def_t *def);

/* The handler for a Resource ("sagad:NAME") or a bare NAME; NULL if none. */
const handler_def_t *handler_lookup(const char *resource);

/* Names a handler this daemon leaves out on purpose (a domain switched off
 * by configuration); `why` (static) says how to get it back. A definition
 * naming it is refused with that reason rather than "no handler". Returns 0,
 * or -1 when the table is full. */
int handler_register_off(const char *name, const char *why);

/* Why the handler a Resource or NAME names is switched off, or NULL. */
const char *handler_off_reason(const char *resource);

/* Forgets every registration (tests). */
void handler_reset(void);

#endif
