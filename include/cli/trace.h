/* What an execution did, from its event history (GET /executions/{id}/history):
 * the states it entered, failed in or is in now, and the transitions it took.
 * States are known by name (ASL names are unique within a machine). */
#ifndef SAGAD_CLI_TRACE_H
#define SAGAD_CLI_TRACE_H

#include <cJSON.h>

#include "asl/machine.h"

typedef struct trace_s trace_t;

/* A state's mark; a higher one wins when a state is entered several times. */
enum {
    TRACE_NONE = 0,     /* not entered */
    TRACE_VISITED,      /* entered and left normally */
    TRACE_CURRENT,      /* the execution is RUNNING in it */
    TRACE_FAILED        /* its last attempt failed (caught or not), or a Fail state */
};

/* Reads `events` (the "events" array of a history) of an execution of `m`
 * whose status is `status`. A transition counts as taken when a state is
 * entered right after another was exited (or right after its Parallel/Map
 * was entered). Caller frees with trace_free. NULL when out of memory. */
trace_t *trace_from_history(const asl_machine_t *m, const cJSON *events, const char *status);

/* The mark of state `name`; TRACE_NONE when `t` is NULL. */
int trace_mark(const trace_t *t, const char *name);

/* 1 if the execution went from state `from` to state `to`; 0 when `t` is NULL. */
int trace_taken(const trace_t *t, const char *from, const char *to);

void trace_free(trace_t *t);

#endif
