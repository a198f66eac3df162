/* An execution painted onto the drawing of its state machine: the SVG that
 * graph_svg_render made of graph_dot without a trace gets the trace's marks
 * (graph_dot_marks) as classes and Map labels, and a style sheet that
 * colours the classes. No new layout: the execution's drawing has the
 * machine's geometry, costs no Graphviz work and is the same for the daemon
 * and sagactl. */
#ifndef SAGAD_GRAPH_PAINT_H
#define SAGAD_GRAPH_PAINT_H

#include <stddef.h>

#include "graph/dot.h"

/* The `len` bytes of `svg` (borrowed) with, for each <g> whose id has a
 * mark, the mark's class added ("node state outcome-failed", "edge taken")
 * or a Map cluster's first <text> replaced by its label, and a <style>
 * element after the <svg> start tag. Returns the text (caller frees,
 * NUL-terminated, its length in *out_len when not NULL) or NULL when out of
 * memory or `svg` has no <svg> element. */
char *graph_paint(const char *svg, size_t len, const graph_marks_t *mk, size_t *out_len);

#endif
