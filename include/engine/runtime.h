/* The durable execution runtime: drives executions of compiled machines with
 * the pure ASL engine and persists every step in SQLite.
 *
 * All steps that become ready in one loop turn run inside one transaction
 * (one savepoint per step, so a failing step rolls back alone), committed at
 * the end of the turn (group commit). A synchronous Task handler runs inside
 * its step's savepoint, so its effect, the transition, the history events
 * and any outbox rows commit together. Replies that report a change are
 * released only after that commit. After kill -9, runtime_open continues
 * every RUNNING execution from its last committed step. An execution whose
 * history would pass history_limit (a fan-out whose children cannot fit is
 * refused before they are built) ends FAILED. */
#ifndef SAGAD_ENGINE_RUNTIME_H
#define SAGAD_ENGINE_RUNTIME_H

#include <cJSON.h>
#include <stdint.h>
#include <uv.h>

#include "core/config.h"
#include "engine/machines.h"
#include "engine/query.h"
#include "store/db.h"
#include "core/serial.h"

typedef struct runtime_s runtime_t;

/* An execution's row got a status, inside the open transaction that writes
 * it. Everything is borrowed for the call. */
typedef struct runtime_status_change_s {
    const char *execution_id;
    const char *machine;
    int version;
    const char *name;              /* NULL when it was started without one */
    const char *status;            /* "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED" */
    int64_t start_ms;
    int64_t stop_ms;               /* 0 while RUNNING */
    const char *error, *cause;     /* NULL unless it ended with them */
    const cJSON *input;
    const cJSON *output;           /* NULL unless SUCCEEDED */
} runtime_status_change_t;

typedef struct runtime_opts_s {
    uv_loop_t *loop;
    store_t *store;
    machines_t *machines;
    const config_t *cfg;
    /* Called after every commit that may have added outbox rows. */
    void (*after_commit)(void *ud);
    void *after_commit_ud;
    /* Called inside each group-commit transaction just before COMMIT, to
     * let other writers ride it (the relay's deletes). May be NULL. */
    void (*before_commit)(void *ud);
    void *before_commit_ud;
    /* Optional, for per-machine metrics: called as an execution is started
     * (status "RUNNING") and as it ends (its final status), with the name of
     * its state machine. Both strings are borrowed for the call. */
    void (*on_count)(void *ud, const char *machine, const char *status);
    void *on_count_ud;
    /* Optional: called inside the transaction each time an execution's row
     * is written with a status, RUNNING as it is first written and its final
     * status as its end is; an execution that starts and ends in one advance
     * gets both, in that order. Writes made here commit or roll back with
     * the change. Returns 0, or -1 to fail the step like a failed write (it
     * rolls back and the execution is rebuilt from the database). */
    int (*on_status)(void *ud, const runtime_status_change_t *c);
    void *on_status_ud;
    /* Optional (borrowed, outlives the runtime): the daemon's serializer when
     * the store answers asynchronously (PostgreSQL). The runtime's batches
     * and timers then run as its entry points, on fibers; NULL: at once. */
    serial_t *serial;
    /* Optional, for several nodes on one database: called first in every
     * batch's transaction; -1 rolls the batch back (retried later, as after
     * a failed BEGIN). And the node whose executions this runtime recovers
     * (NULL: every RUNNING row, as on one node); borrowed. */
    int (*fence)(void *ud);
    void *fence_ud;
    const char *node;
} runtime_opts_t;

/* Takes over the RUNNING execution `execution_id` that this node has just
 * claimed (its row names this node now): rebuilds it from the database and
 * lets it continue, as recovery does after a restart. Between batches only
 * (as a serializer entry point). 0, or -1 when it could not be restored (it
 * was failed then, as recovery does). */
int runtime_adopt(runtime_t *rt, const char *execution_id);

/* Scans this node's RUNNING rows again (as recovery does) once the next
 * batch has committed, for executions that belong here but are not in
 * memory: after a claim whose COMMIT was lost, or one that could not be
 * read back. */
void runtime_rescan(runtime_t *rt);

/* Counters for /metrics and /healthz. */
typedef struct runtime_stats_s {
    uint64_t started;
    uint64_t succeeded, failed, timed_out, aborted;
    uint64_t transitions;          /* states entered */
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t open_executions;      /* RUNNING in memory */
    uint64_t frames_created;       /* executions and their Parallel branches / Map iterations */
    /* Step latency: time from a frame becoming ready to its commit. */
    uint64_t step_latency_buckets[12];   /* <= 0.5,1,2,5,10,25,50,100,250,500,1000,+Inf ms */
    double step_latency_sum_ms;
    uint64_t step_latency_count;
    double commit_latency_sum_ms;
    /* Callback and activity tasks (engine/tasks.h). */
    uint64_t tokens_waiting;       /* tasks that can be reported now */
    uint64_t activity_waiting;     /* activity tasks no worker has taken */
    uint64_t activity_running;     /* taken, not reported yet */
    uint64_t polls_parked;
    uint64_t task_reports;         /* successes and failures accepted */
    uint64_t activity_deliveries;
} runtime_stats_t;

/* Bounds of the step latency histogram buckets in ms (11 finite ones). */
extern const double runtime_latency_bounds_ms[11];

/* Creates the runtime and starts recovering every RUNNING execution: the
 * first few now, the rest a chunk per loop turn (runtime_stop and
 * runtime_wait recover theirs at once). One that cannot be restored is ended
 * FAILED with the reason, and logged. Close with runtime_close. Returns 0 or
 * -1 (logged). */
int runtime_open(const runtime_opts_t *opts, runtime_t **out);

/* First half of a graceful stop: commits what is ready, answers every
 * waiting request now, and refuses new starts (RUNTIME_ERR_STOPPING). The
 * runtime keeps its memory until runtime_close. */
void runtime_quiesce(runtime_t *rt);

/* Stops taking new work, commits what is ready, cancels asynchronous handlers
 * and timers (they resume after a restart), answers waiting requests, frees
 * everything and calls done(ud) once all handles are closed. May be called
 * from inside one of the runtime's callbacks: the close then happens when
 * that turn's callbacks are done. A second call does nothing. */
void runtime_close(runtime_t *rt, void (*done)(void *ud), void *ud);

/* ---- starting ----------------------------------------------------------- */

typedef enum {
    RUNTIME_OK = 0,
    RUNTIME_EXISTS = 1,            /* idempotent start: the same execution */
    RUNTIME_ENDED = 2,             /* stop or wait: it has already ended; nothing to do */
    RUNTIME_ERR_CONFLICT = -1,     /* the name is taken with another input */
    RUNTIME_ERR_STOPPING = -2,     /* the daemon is shutting down */
    RUNTIME_ERR_STORAGE = -3,      /* the commit failed or memory ran out; nothing changed */
    RUNTIME_ERR_INPUT = -4,        /* input larger than the payload limit */
    RUNTIME_ERR_UNKNOWN = -5,      /* no execution with this id */
    RUNTIME_ERR_RECOVERING = -6,   /* not found yet: executions are still being recovered */
    RUNTIME_ERR_REFUSED = -7,      /* redrive: it cannot be redriven (the reason says why) */
    RUNTIME_ERR_REMOTE = -8,       /* another node runs it (several nodes on PostgreSQL) */
    RUNTIME_ERR_NOT_ALLOWED = -9   /* start: the version uses a handler handler_allow does
                                    * not grant its machine (machines_denied says which) */
} runtime_status_t;

/* An execution id with its NUL. */
#define RUNTIME_ID_SIZE 37

/* Reports the outcome of a call that returned RUNTIME_OK, exactly once and
 * never from inside that call. `execution_id` is borrowed for the call. */
typedef void (*runtime_start_cb)(void *ud, runtime_status_t status, const char *execution_id);

/* Starts an execution of `mv` with `input` (borrowed, copied). With a `name`,
 * a start with the same machine, name and input is the same execution,
 * another input is a conflict. `id` (may be NULL) receives the execution's
 * id for RUNTIME_OK, RUNTIME_EXISTS and RUNTIME_ERR_CONFLICT. Returns:
 *  RUNTIME_OK       accepted; cb runs once, after the commit, with RUNTIME_OK,
 *                   RUNTIME_EXISTS (it joined the start of the same name and
 *                   input in this loop turn), RUNTIME_ERR_STORAGE (the commit
 *                   failed: nothing was started) or RUNTIME_ERR_STOPPING;
 *  RUNTIME_EXISTS   the named execution is already durable: nothing to do;
 *  RUNTIME_ERR_CONFLICT, RUNTIME_ERR_INPUT, RUNTIME_ERR_STOPPING,
 *  RUNTIME_ERR_NOT_ALLOWED (a new execution only: repeating the start of a
 *  named one that exists answers as above),
 *  RUNTIME_ERR_STORAGE (out of memory): refused, nothing was started.
 * Only after RUNTIME_OK is cb ever called. */
int runtime_start(runtime_t *rt, const machine_ver_t *mv, const char *name,
                  const cJSON *input, char id[RUNTIME_ID_SIZE], runtime_start_cb cb, void *ud);

/* What a start named besides the machine, kept in the execution's row (not
 * in its history) so descriptions show it. Texts borrowed for the call. */
typedef struct runtime_named_s {
    const char *alias;   /* NAME:ALIAS: the alias; NULL otherwise */
    int version;         /* NAME:N, ?version=N or NAME:ALIAS: mv's version; 0 for plain NAME */
} runtime_named_t;

/* runtime_start of the version `named` (may be NULL: plain NAME) names.
 * A start that joins an execution of the same name keeps what the first
 * start named. */
int runtime_start_named(runtime_t *rt, const machine_ver_t *mv, const runtime_named_t *named,
                        const char *name, const cJSON *input, char id[RUNTIME_ID_SIZE],
                        runtime_start_cb cb, void *ud);

/* ---- observing ---------------------------------------------------------- */

/* query_describe (engine/query.h) on the runtime's store, with the current
 * state of a running execution from memory. */
cJSON *runtime_describe(runtime_t *rt, const char *execution_id);

/* 1 if the execution exists and has ended, 0 if running, -1 if unknown. */
int runtime_is_done(runtime_t *rt, const char *execution_id);

/* Waits for the end of an execution. Returns RUNTIME_OK, and then calls
 * cb(ud) once, never from inside this call: when the end is committed, after
 * timeout_ms (0 = no limit), or when the runtime closes, whichever is first.
 * Otherwise cb is never called and it returns RUNTIME_ENDED (it has already
 * ended), RUNTIME_ERR_UNKNOWN, RUNTIME_ERR_STOPPING or RUNTIME_ERR_STORAGE
 * (out of memory, or it could not be read). */
int runtime_wait(runtime_t *rt, const char *execution_id, int64_t timeout_ms,
                 void (*cb)(void *ud), void *ud);

/* query_list (engine/query.h) on the runtime's store. */
cJSON *runtime_list(runtime_t *rt, const query_filter_t *f, int limit, const char *cursor,
                    const char **why);

/* query_counts (engine/query.h) on the runtime's store. */
cJSON *runtime_counts(runtime_t *rt, const char *machine);

/* query_history (engine/query.h) on the runtime's store. */
cJSON *runtime_history(runtime_t *rt, const char *execution_id);

/* ---- steering ----------------------------------------------------------- */

/* Aborts a running execution (status ABORTED). Returns RUNTIME_OK, and then
 * cb(ud, status, id) runs once after the commit with RUNTIME_OK,
 * RUNTIME_ERR_STORAGE or RUNTIME_ERR_STOPPING. Otherwise cb is never called
 * and it returns RUNTIME_ENDED (it had already ended: nothing changed),
 * RUNTIME_ERR_UNKNOWN (no such id, or its start is not committed yet),
 * RUNTIME_ERR_STOPPING or RUNTIME_ERR_STORAGE (out of memory). */
int runtime_stop(runtime_t *rt, const char *execution_id, const char *error,
                 const char *cause, runtime_start_cb cb, void *ud);

/* Why a redrive was refused (RUNTIME_ERR_REFUSED), for people. */
#define RUNTIME_WHY_SIZE 256

/* Redrives an execution that ended FAILED, TIMED_OUT or ABORTED: it runs
 * again from the state of its own top level that was running when it ended,
 * entered again with the input it had then (of a Parallel or Map state whose
 * children failed, only the children that did not succeed run again, from
 * their start); what ran before is kept, the history goes on with ExecutionRedriven
 * {redriveCount}, its row becomes RUNNING (redriveCount, redriveDate) and
 * its TimeoutSeconds count from now. One transaction, committed before
 * anything is answered; after a crash it is recovered RUNNING. Returns:
 *  RUNTIME_OK        committed; cb(ud, status, id) runs once, never from
 *                    inside this call, after the commit of its first step
 *                    again, with RUNTIME_OK (or RUNTIME_ERR_STOPPING when
 *                    the runtime closes first: the redrive stands);
 *  RUNTIME_ENDED     committed, but it could not be rebuilt and ended FAILED
 *                    again at once (logged); cb is not called;
 *  RUNTIME_ERR_REFUSED  nothing changed: it is running or succeeded, stopped
 *                    longer ago than retention_hours, its history or state
 *                    machine version is gone, or its history is full; `why`
 *                    (RUNTIME_WHY_SIZE bytes) says which;
 *  RUNTIME_ERR_UNKNOWN, RUNTIME_ERR_STOPPING, RUNTIME_ERR_STORAGE (the
 *                    commit failed, memory ran out, or it was called inside
 *                    an open transaction: nothing changed).
 * Call it between the runtime's batches (from a request handler): it runs
 * its own transaction. Only after RUNTIME_OK is cb ever called. */
int runtime_redrive(runtime_t *rt, const char *execution_id, char why[RUNTIME_WHY_SIZE],
                    runtime_start_cb cb, void *ud);

const runtime_stats_t *runtime_stats(const runtime_t *rt);

/* query_prune (engine/query.h) on the runtime's store. */
int runtime_prune(runtime_t *rt, int64_t older_than_ms, int max);

#endif
