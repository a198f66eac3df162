/* The pure ASL execution engine: advances one execution of a compiled machine
 * until it needs the outside world (run a task, wait, run children) or ends.
 * It does no I/O and reads no clock: time and randomness come from the
 * caller, and everything needed to continue is a small serializable cJSON
 * "cursor" the runtime persists after each step (so it can resume after a
 * crash). The synchronous in-memory driver built on it, for tests, the
 * differential suite, the fuzzer and benchmarks, is asl/run.h.
 *
 * Protocol, one execution (or one child: Parallel branch / Map iteration):
 *
 *   asl_exec_start(...)            -> step
 *   while step.kind is not SUCCEEDED/FAILED:
 *       persist step.cursor and append step.events (one transaction)
 *       do what step.kind asks, then
 *       asl_exec_resume(m, cursor, &outcome, ...)  -> next step
 *
 *   step.kind        the runtime does                          then resumes with
 *   ASL_STEP_RUN_TASK  run handler step.handler on step.task_input,
 *                      at most step.timeout_ms (0 = unlimited)   TASK_SUCCEEDED(result)
 *                                                                or TASK_FAILED(error, cause)
 *                                                                (timeout: error "States.Timeout")
 *   ASL_STEP_WAIT      sleep until step.wake_at_ms (Wait state)  TIMER
 *   ASL_STEP_RETRY     sleep until step.wake_at_ms (retry delay) TIMER (the engine then
 *                                                                re-issues RUN_TASK/RUN_CHILDREN)
 *   ASL_STEP_RUN_CHILDREN start every step.children[i] with      CHILDREN(results)
 *                      asl_exec_start_child, at most
 *                      step.max_concurrency at once (0 = all),
 *                      run each to its end like an execution;
 *                      their events belong in the same
 *                      history as the parent's
 *   ASL_STEP_CONTINUE  nothing (the engine yields after many     NONE
 *                      internal transitions for fairness)
 *   ASL_STEP_SUCCEEDED done: step.output
 *   ASL_STEP_FAILED    done: step.error
 *
 * Top-level TimeoutSeconds (asl_machine_timeout_seconds) and stopping an
 * execution are enforced by the runtime, not here (it fails the execution
 * with States.Timeout / marks it ABORTED and writes ExecutionTimedOut /
 * ExecutionAborted itself).
 *
 * After a crash: load the last committed cursor and call asl_exec_pending to
 * get the same request again (same task_token, same wake_at_ms), then go on.
 *
 * Error rules (AWS docs): Retry and Catch exist on Task, Parallel and Map and
 * see every error raised in the state (task failures, States.Timeout,
 * path/template/intrinsic errors, ResultPath failures, a failed branch or
 * iteration). The first retrier whose ErrorEquals matches decides: retry if
 * it has attempts left (delay = IntervalSeconds * BackoffRate^n, capped by
 * MaxDelaySeconds, FULL jitter = uniform [0, delay) from random64), else go
 * to the first matching catcher, else fail. States.Runtime is never retried
 * or caught; States.DataLimitExceeded only when named explicitly.
 */
#ifndef SAGAD_ASL_EXEC_H
#define SAGAD_ASL_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "asl/common.h"
#include "asl/machine.h"

/* ---- inputs from the caller ------------------------------------------- */

/* Injected time and randomness; the engine never reads a clock or a global RNG. */
typedef struct asl_env_s {
    int64_t now_ms;                     /* ms since the Unix epoch */
    /* Uniform 64-bit values for FULL jitter, States.UUID and States.MathRandom.
     * NULL: jitter uses 0 and those two intrinsics fail (States.IntrinsicFailure). */
    uint64_t (*random64)(void *ud);
    void *random_ud;
    /* Unpredictable 64-bit values (random_ud too) for the tokens of callback
     * and activity Tasks (asl_task_kind): three draws make the 48 hex
     * characters of $$.Task.Token. NULL: those Tasks get the same
     * deterministic token as any other Task (what histories recorded before
     * callback Tasks existed replay with). */
    uint64_t (*secure64)(void *ud);
    /* Non-zero: event payloads (input, output, parameters) are cJSON_Raw
     * items holding their compact JSON text, printed once, instead of deep
     * copies. For a runtime that only stores the events as text. */
    int raw_payloads;
    /* Non-zero: no event objects are built at all (step.events stays empty);
     * step.n_events and step.n_transitions still count them. For a runtime
     * that stores only the outcomes it fed in and rebuilds the events on
     * read by replaying them, the engine being deterministic. */
    int count_events;
} asl_env_t;

/* Who is executing: the source of the context object $$ (all borrowed, may be
 * NULL/0 where unknown; the same values must be passed on every step of one
 * execution and of its children). */
typedef struct asl_exec_info_s {
    const char *execution_id;      /* $$.Execution.Id */
    const char *execution_name;    /* $$.Execution.Name */
    const cJSON *execution_input;  /* $$.Execution.Input (NULL: JSON null) */
    int64_t start_time_ms;         /* $$.Execution.StartTime (RFC 3339 with ms, UTC) */
    const char *state_machine_id;  /* $$.StateMachine.Id */
    const char *state_machine_name;/* $$.StateMachine.Name */
    /* Unique id of this (child) execution, used in task tokens; NULL = execution_id.
     * The runtime gives each child its own, e.g. "<execution_id>/<state>/<index>". */
    const char *instance_id;
} asl_exec_info_t;

/* ---- what the engine asks for ----------------------------------------- */

typedef enum {
    ASL_STEP_RUN_TASK = 1,
    ASL_STEP_WAIT,
    ASL_STEP_RETRY,
    ASL_STEP_RUN_CHILDREN,
    ASL_STEP_CONTINUE,
    ASL_STEP_SUCCEEDED,
    ASL_STEP_FAILED
} asl_step_kind_t;

typedef enum {
    ASL_CHILD_BRANCH = 1,       /* a Parallel branch */
    ASL_CHILD_ITERATION         /* a Map iteration */
} asl_child_kind_t;

/* One child to run (RUN_CHILDREN). */
typedef struct asl_child_s {
    asl_child_kind_t kind;
    const asl_machine_t *machine;  /* borrowed from the parent machine */
    const char *parent_state;      /* borrowed: the Parallel/Map state's name */
    size_t index;                  /* branch or item index */
    cJSON *input;                  /* owned by the step (asl_exec_start_child copies it) */
} asl_child_t;

/* The result of one call to start/resume. Clear with asl_step_clear. Fields
 * not listed for a kind are zero/NULL. */
typedef struct asl_step_s {
    asl_step_kind_t kind;

    /* Every kind except SUCCEEDED/FAILED: the state to persist (owned; take it
     * with asl_step_take_cursor, or print it). It is a JSON object, < 1 KiB
     * plus the current state's raw input. */
    cJSON *cursor;

    /* Step Functions history events produced by this step, in order (owned
     * array, never NULL): each {"type": "TaskStateEntered", "details": {...}}.
     * Details use the AWS field names: name, input, output, resource,
     * resourceType, parameters, timeoutInSeconds, heartbeatInSeconds, error,
     * cause, index, length. input/output/parameters are JSON values, not
     * strings. The runtime adds id, previousEventId and timestamp. */
    cJSON *events;

    /* Name of the state the step is in (RUN_TASK, WAIT, RETRY, RUN_CHILDREN,
     * CONTINUE) or ended in (SUCCEEDED, FAILED; NULL if it never entered
     * one). Borrowed from the machine. */
    const char *state;

    /* RUN_TASK */
    const char *resource;     /* "sagad:NAME" (borrowed) */
    const char *handler;      /* "NAME" (borrowed) */
    cJSON *task_input;        /* owned: after InputPath and Parameters */
    int64_t timeout_ms;       /* TimeoutSeconds[Path] * 1000; 0 = none */
    int64_t heartbeat_ms;     /* HeartbeatSeconds[Path] * 1000; 0 = none */
    uint32_t attempt;         /* 0 for the first try, then 1, 2, ... (retries) */
    /* Owned. Unique per task attempt and stable across a crash/resume of the
     * same step: "<instance_id>:<state>:<transition>:<attempt>". Use it as
     * the handler's idempotency key; it is also $$.Task.Token, except for
     * callback and activity Tasks with env.secure64: 48 lowercase hex
     * characters drawn from it. */
    char *task_token;

    /* WAIT, RETRY: absolute wake-up time (ms). */
    int64_t wake_at_ms;

    /* RUN_CHILDREN */
    asl_child_t *children;    /* owned array */
    size_t n_children;
    uint32_t max_concurrency; /* 0 = unlimited */
    /* Map: failures tolerated before the state fails (from
     * ToleratedFailureCount/Percentage[Path]); Parallel: 0. The runtime may
     * stop launching/cancel children once failures exceed it. */
    size_t tolerated_failures;

    /* SUCCEEDED */
    cJSON *output;            /* owned */
    /* FAILED. error.error is NULL (and cause may be) only for a Fail state
     * without Error/ErrorPath (as on AWS, the failure then has no name);
     * in Retry/Catch matching such a failure has the name "". */
    asl_error_t error;        /* owned */
    /* Every kind: events produced by this call (also with count_events), and
     * how many of them are *StateEntered (state transitions). */
    size_t n_events;
    size_t n_transitions;
} asl_step_t;

void asl_step_clear(asl_step_t *s);
/* Transfers the cursor to the caller (caller frees with cJSON_Delete). */
cJSON *asl_step_take_cursor(asl_step_t *s);

/* ---- what the runtime feeds back -------------------------------------- */

typedef enum {
    ASL_OUTCOME_NONE = 0,           /* after CONTINUE */
    ASL_OUTCOME_TASK_SUCCEEDED,
    ASL_OUTCOME_TASK_FAILED,
    ASL_OUTCOME_TIMER,              /* after WAIT or RETRY: the time has come */
    ASL_OUTCOME_CHILDREN
} asl_outcome_kind_t;

typedef struct asl_outcome_s {
    asl_outcome_kind_t kind;
    /* TASK_SUCCEEDED: the handler's result. Ownership passes to the engine
     * (it is consumed even on error). NULL means JSON null. */
    cJSON *result;
    /* TASK_SUCCEEDED, optional: strlen of asl_json_print(result) when the
     * runtime has printed it anyway (e.g. to record it), else 0. It spares
     * the engine measuring the result for the payload limit, so it must be
     * exact. */
    size_t result_size;
    /* TASK_FAILED: borrowed. error NULL means "States.TaskFailed".
     * A task timeout is reported as error "States.Timeout". */
    const char *error;
    const char *cause;
    /* CHILDREN: consumed. A JSON array with one entry per child, by index:
     *   {"output": <value>}                    child succeeded
     *   {"error": "Name", "cause": "text"}     child failed
     *   null                                   not run / cancelled
     * The state fails with the failure of the lowest index (a runtime that
     * wants "first in time" reports only that one). Parallel fails on any
     * failure; Map fails when failures exceed tolerated_failures, with
     * States.ExceedToleratedFailureThreshold if a tolerance was set, else with
     * the iteration's error. A tolerated failed Map item's output is the
     * {"Error","Cause"} object. */
    cJSON *children;
} asl_outcome_t;

/* ---- stepping ---------------------------------------------------------- */

/* Starts an execution with `input` (borrowed; copied). Emits ExecutionStarted.
 * Returns 0 and fills *step (never fails for a compiled machine: problems at
 * run time come back as step->kind == ASL_STEP_FAILED). Returns -1 only on
 * out-of-memory, with *step zeroed. */
int asl_exec_start(const asl_machine_t *m, const cJSON *input,
                   const asl_exec_info_t *info, const asl_env_t *env,
                   asl_step_t *step);

/* Starts one child of a RUN_CHILDREN step (child->machine with child->input).
 * A Map iteration emits MapIterationStarted {index, name} first and ends with
 * MapIterationSucceeded/Failed instead of ExecutionSucceeded/Failed; a
 * Parallel branch emits no start/end events of its own. Its ending step is
 * SUCCEEDED/FAILED as for an execution; feed those, by index, to the
 * parent's resume as ASL_OUTCOME_CHILDREN. `info` must be the parent's (with
 * its own instance_id). */
int asl_exec_start_child(const asl_child_t *child, const asl_exec_info_t *info,
                         const asl_env_t *env, asl_step_t *step);

/* Continues from `cursor` (consumed: freed or reused, in every case) with
 * the outcome of what the previous step asked for (its owned parts are
 * consumed too). Pass the cursor back unmodified (printing it, or parsing
 * or cJSON_Duplicate-ing it is fine): the object also carries, in its
 * unprinted number slot, an upper bound of its input's size that spares
 * measuring payloads (a parsed cursor has none and measures once). `m` must be the machine the cursor belongs to (for a child:
 * the child's machine). An outcome that does not fit the cursor's phase is a
 * runtime bug: returns -1 with *step zeroed and err set (if non-NULL). */
int asl_exec_resume(const asl_machine_t *m, cJSON *cursor, asl_outcome_t *outcome,
                    const asl_exec_info_t *info, const asl_env_t *env,
                    asl_step_t *step, asl_error_t *err);

/* Rebuilds what a persisted cursor is waiting for, with no events: after a
 * restart the runtime calls this to learn again which task to run (same
 * handler, input, attempt and task_token), until when to sleep (same
 * wake_at_ms) or which children to run; kind CONTINUE for a cursor saved by
 * a CONTINUE step. `cursor` is borrowed; step->cursor is a copy of it.
 * Deterministic except for States.UUID/States.MathRandom in Parameters or
 * ItemSelector (a runtime that needs those stable stores task_input itself).
 * Returns 0, or -1 with err set if the cursor does not fit the machine. */
int asl_exec_pending(const asl_machine_t *m, const cJSON *cursor,
                     const asl_exec_info_t *info, const asl_env_t *env,
                     asl_step_t *step, asl_error_t *err);

/* A cursor that, resumed with ASL_OUTCOME_NONE, enters state `state` of `m`
 * with `input` (borrowed, copied) as the state after `seq` states entered
 * before it (its task tokens go on from there): how an execution that
 * ended is redriven from the state that failed. NULL when `m` has no such
 * state at its top level or memory runs out. Caller frees. */
cJSON *asl_exec_enter_cursor(const asl_machine_t *m, const char *state, const cJSON *input,
                             uint64_t seq);

/* The machine a child runs: branch `index` of Parallel state `parent_state`
 * of `m`, or the ItemProcessor of Map state `parent_state` (any index).
 * Borrowed from m; NULL if there is no such state or branch. The runtime uses
 * it to resume a child cursor after a restart (store parent_state, kind and
 * index with each child). */
const asl_machine_t *asl_exec_child_machine(const asl_machine_t *m, const char *parent_state,
                                            asl_child_kind_t kind, size_t index);

/* Name of the state a cursor is in (borrowed from the cursor) or NULL. For
 * `currentState` in the API without parsing the cursor yourself. */
const char *asl_cursor_state(const cJSON *cursor);

/* "RunTask", "Wait", ... for logs. Static string. */
const char *asl_step_kind_name(asl_step_kind_t k);

/* ---- error matching (exposed for tests and the runtime) ---------------- */

/* 1 if `error` is matched by the ErrorEquals name `pattern` in a state of type
 * `t`: exact name; States.ALL matches anything but States.Runtime and
 * States.DataLimitExceeded; States.TaskFailed matches anything but
 * States.Timeout, States.Runtime and States.DataLimitExceeded.
 * States.Runtime is never matched (not retriable, not catchable). */
int asl_error_matches(const char *pattern, const char *error, asl_state_type_t t);

#endif
