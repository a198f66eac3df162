/* The read side of the executions store: an execution's description, the
 * list of executions, an execution's history events (rebuilt from replay
 * logs where stored so), and pruning of finished executions. Reads the
 * database only; what the runtime knows in memory comes in through query_src_t. */
#ifndef SAGAD_ENGINE_QUERY_H
#define SAGAD_ENGINE_QUERY_H

#include <cJSON.h>
#include <stdint.h>

#include "engine/machines.h"
#include "store/db.h"

/* Where the reads come from. All borrowed for the call. */
typedef struct query_src_s {
    store_t *store;
    machines_t *machines;        /* the definitions histories are replayed with */
    /* May be NULL. The current state of an execution that is running in this
     * process (fresher than its stored row), or NULL; the string is borrowed
     * for the call. Never called after the query function returned. */
    const char *(*live_state)(void *ud, const char *execution_id);
    void *live_ud;
} query_src_t;

/* The description of an execution (executionId, stateMachine, status,
 * startDate, ...); NULL when no row is stored for it. Caller frees with
 * cJSON_Delete. */
cJSON *query_describe(const query_src_t *q, const char *execution_id);

/* The id of the execution of `machine` started with `name`, copied into
 * `id` (37 bytes). Returns 1 when found, 0 when not, -1 on a database error. */
int query_find_named(const query_src_t *q, const char *machine, const char *name, char id[37]);

/* Filters of a listing; each may be NULL. */
typedef struct query_filter_s {
    const char *status;          /* an exec_status_name (core/exec_status.h) */
    const char *machine;         /* a state machine's name */
    const char *q;               /* a prefix of the execution's id or name */
    const char *alias;           /* started through this alias (stateMachineAlias) */
    int version;                 /* started naming this version (stateMachineVersionNamed); 0: any */
} query_filter_t;

/* Newest first. `f` may be NULL (no filter). `cursor` is the nextCursor of
 * the previous page or NULL. Returns {"executions": [...], "nextCursor": ...}
 * (descriptions without input and output) or NULL with *why set (static) on
 * an unknown status, a bad cursor or a database error. Caller frees with
 * cJSON_Delete. */
cJSON *query_list(const query_src_t *q, const query_filter_t *f, int limit, const char *cursor,
                  const char **why);

/* {"RUNNING": n, "SUCCEEDED": n, ...}: how many stored executions have each
 * status (every status present, 0 when none), of `machine` only unless it is
 * NULL. NULL on a database error. Caller frees with cJSON_Delete. */
cJSON *query_counts(const query_src_t *q, const char *machine);

/* {"events": [...]} in order, each with id, previousEventId, timestamp, type
 * and details; NULL when no row is stored for the execution. A part of the
 * history that cannot be rebuilt is left out and logged. Caller frees with
 * cJSON_Delete. */
cJSON *query_history(const query_src_t *q, const char *execution_id);

/* As query_history, the events of one frame only: "" is the execution's
 * own (its states, not its Parallel branches' or Map iterations'). */
cJSON *query_frame_history(const query_src_t *q, const char *execution_id, const char *frame_id);

/* Deletes finished executions that stopped before older_than_ms, with their
 * history, at most `max` (> 0) of them, oldest first, in one transaction.
 * Returns the number deleted once that is committed, or a negative store
 * code (store/db.h) when anything failed (then nothing is deleted; logged). Not
 * inside another transaction. */
int query_prune(store_t *st, int64_t older_than_ms, int max);

#endif
