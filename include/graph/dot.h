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

/* How an outcome is drawn: fill (NULL: none), border colour, an extra
 * style ("dashed" or NULL) and the border width. Static. */
typedef struct graph_look_s {
    const char *fill, *border, *style;
    int pen;
} graph_look_t;
const graph_look_t *graph_outcome_look(graph_outcome_t o);

/* ---- marks: a trace painted onto a drawing without a new layout ----------- */

/* What graph_dot with trace `tr` draws differently from graph_dot without
 * one, keyed by the SVG id attributes of the drawing without (entities
 * decoded): "state:PATH" -> "outcome-X" (a class), "edge:K" -> "taken" (a
 * class; edges are numbered in DOT order, id "edge:K"), "cluster:PATH" ->
 * the label of a Map cluster. Caller frees with graph_marks_free; NULL when
 * out of memory. graph/paint.h applies them. */
typedef struct graph_marks_s graph_marks_t;
graph_marks_t *graph_dot_marks(const asl_machine_t *m, const graph_trace_t *tr);

/* The value for `id`, or NULL (borrowed from `mk`). */
const char *graph_marks_get(const graph_marks_t *mk, const char *id);

void graph_marks_free(graph_marks_t *mk);

#endif
