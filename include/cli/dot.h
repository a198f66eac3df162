/* Graphviz DOT of a state machine (for `sagactl graph`): Choice edges
 * labelled with a short text of their rule, Default edges labelled, Catch
 * edges dashed and labelled with ErrorEquals, Parallel branches and Map
 * processors as clusters ("cluster_STATE", "cluster_STATE/K/"); node ids are
 * paths ("STATE/K/INNER"). `dot -Tsvg` accepts the output. */
#ifndef SAGAD_CLI_DOT_H
#define SAGAD_CLI_DOT_H

#include <stdio.h>

#include "asl/machine.h"
#include "cli/trace.h"

/* Writes `m` as digraph `name` to `f` with graph label `title` (NULL: the
 * name). With a trace (may be NULL) the states are filled by their mark
 * (visited blue, current yellow, failed red) and the transitions taken drawn
 * bold blue. */
void dot_print(FILE *f, const char *name, const asl_machine_t *m, const trace_t *tr,
               const char *title);

#endif
