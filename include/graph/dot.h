/* Graphviz DOT of a state machine: Choice edges labelled with a short text
 * of their rule, Default edges labelled, Catch edges dashed and labelled with
 * ErrorEquals, Parallel branches and Map processors as clusters
 * ("cluster_STATE", "cluster_STATE/K/", with id "cluster:STATE"); node ids
 * are paths ("STATE/K/INNER"). Every state node has the attributes
 * id="state:PATH" and class="state" (with a trace: "state outcome-X", X a
 * graph_outcome_name), which Graphviz's SVG output carries onto the node's
 * <g>. `dot -Tsvg` and graph_svg_render accept the output. */
#ifndef SAGAD_GRAPH_DOT_H
#define SAGAD_GRAPH_DOT_H

#include "asl/machine.h"
#include "graph/trace.h"

/* The DOT text of `m` (borrowed) as digraph `name` with graph label `title`
 * (NULL: the name). With a trace (may be NULL) each state is drawn by its
 * outcome (succeeded green, caught orange with a dashed border, running blue,
 * failed red with a thick border, not reached grey), a Map cluster's label
 * says how many iterations ran, and the transitions taken are drawn bold
 * blue. Caller frees; NULL when out of memory. */
char *graph_dot(const char *name, const asl_machine_t *m, const graph_trace_t *tr,
                const char *title);

#endif
