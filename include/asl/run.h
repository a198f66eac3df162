/* A synchronous in-memory driver for the pure engine (asl/exec.h): runs a
 * machine to its end on a virtual clock with task handlers called in place,
 * for tests, the differential suite, the fuzzer and benchmarks. */
#ifndef SAGAD_ASL_RUN_H
#define SAGAD_ASL_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "asl/exec.h"

/* A task handler for asl_run. Return 0 with *result set (owned by the engine;
 * NULL = JSON null), -1 with err set (error NULL → States.TaskFailed), or 1
 * to fall back to the built-ins: "sagad:echo" returns its input and
 * "sagad:fail" fails with Error = input.error, Cause = input.cause (an
 * unknown resource fails with States.TaskFailed "no handler for ..."). */
typedef int (*asl_task_fn)(const char *resource, const cJSON *input, uint32_t attempt,
                           void *ud, cJSON **result, asl_error_t *err);

typedef struct asl_run_opts_s {
    asl_task_fn task;              /* NULL: built-ins only */
    void *task_ud;
    int64_t start_ms;              /* virtual clock start; 0 → 1700000000000 */
    uint64_t (*random64)(void *ud);/* NULL: a fixed xorshift sequence */
    void *random_ud;
    const asl_exec_info_t *info;   /* NULL: id "exec-1", name "exec-1", machine "machine" */
    /* Stop with FAILED States.Runtime "transition limit exceeded" after this
     * many state transitions in total, children included (0 = 25000). */
    size_t max_transitions;
    /* 0: children run one after another, by index; 1: round-robin one step
     * each, honouring MaxConcurrency. Results are by index either way. */
    int interleave;
    /* If non-NULL, an array every event is appended to (in order; children's
     * events appear where they happen). */
    cJSON *events;
} asl_run_opts_t;

typedef struct asl_run_result_s {
    asl_step_kind_t status;        /* ASL_STEP_SUCCEEDED or ASL_STEP_FAILED */
    cJSON *output;                 /* owned; SUCCEEDED */
    asl_error_t error;             /* owned; FAILED */
    size_t n_events;               /* history events, children included */
    size_t n_transitions;          /* states entered, children included */
    size_t n_tasks;                /* task attempts run */
    int64_t elapsed_ms;            /* virtual time spent in waits and retries */
} asl_run_result_t;

/* Runs `m` on `input` to completion, skipping waits with a virtual clock.
 * opts may be NULL. Returns 0 (status tells the outcome) or -1 on
 * out-of-memory. Clear the result with asl_run_result_clear. */
int asl_run(const asl_machine_t *m, const cJSON *input, const asl_run_opts_t *opts,
            asl_run_result_t *res);
void asl_run_result_clear(asl_run_result_t *res);

#endif
