/* What an execution did, from its event history (GET /executions/{id}/history):
 * each state's outcome, the transitions it took and how many iterations each
 * Map ran. States are known by name (ASL names are unique within a machine);
 * inside a Map a state's outcome sums up all its iterations. */
#ifndef SAGAD_GRAPH_TRACE_H
#define SAGAD_GRAPH_TRACE_H

#include <cJSON.h>

#include "asl/machine.h"

typedef struct graph_trace_s graph_trace_t;

/* A state's outcome. When a state ran several times (a loop, Map iterations)
 * the higher value wins. */
typedef enum {
    GRAPH_OUTCOME_NOTREACHED = 0, /* never entered */
    GRAPH_OUTCOME_SUCCEEDED,      /* entered and left normally */
    GRAPH_OUTCOME_CAUGHT,         /* it failed and a Catch took the execution elsewhere */
    GRAPH_OUTCOME_RUNNING,        /* the execution is RUNNING in it */
    GRAPH_OUTCOME_FAILED          /* its failure ended the execution or its branch (not
                                     caught), a Fail state, or the execution ended
                                     (failed, aborted, timed out) while in it */
} graph_outcome_t;

/* How a transition was taken. */
typedef enum {
    GRAPH_VIA_NEXT = 0,   /* Next, a Choice rule or Default */
    GRAPH_VIA_CATCH       /* a Catch after the state failed */
} graph_via_t;

/* "notreached", "succeeded", "caught", "running", "failed" (static). */
const char *graph_outcome_name(graph_outcome_t o);

/* Reads `events` (borrowed: the "events" array of a history) of an execution
 * of `m` whose status is `status` ("RUNNING", "SUCCEEDED", ...). Caller frees
 * with graph_trace_free. NULL when out of memory. */
graph_trace_t *graph_trace_from_history(const asl_machine_t *m, const cJSON *events,
                                        const char *status);

/* The outcome of state `name`; NOTREACHED when `t` is NULL. */
graph_outcome_t graph_trace_outcome(const graph_trace_t *t, const char *name);

/* 1 if state `name` was entered at least once; 0 when `t` is NULL. */
int graph_trace_entered(const graph_trace_t *t, const char *name);

/* 1 if the execution went from state `from` to state `to` that way (a state
 * entered right after another was left); 0 when `t` is NULL. */
int graph_trace_taken(const graph_trace_t *t, const char *from, const char *to, graph_via_t via);

/* How many iterations Map state `name` started (over all its runs) and how
 * many of them failed; -1 in *started when it never started any (or `t` is
 * NULL). `failed` may be NULL. */
void graph_trace_iterations(const graph_trace_t *t, const char *name, long *started, long *failed);

void graph_trace_free(graph_trace_t *t);

#endif
