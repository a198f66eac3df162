/* The graph routes: a state machine drawn as SVG by Graphviz's library
 * (graph/dot.h, graph/svg.h), or an execution painted onto the drawing of
 * the version it ran (graph/paint.h):
 *   GET /state-machines/{name}/graph.svg[?version=N]
 *   GET /executions/{id}/graph.svg   (the version it ran, outcomes painted)
 * Answers are image/svg+xml with an ETag (If-None-Match gives 304); unknown
 * names, versions or ids are 404 JSON errors, a bad ?version 400. */
#ifndef SAGAD_API_GRAPH_H
#define SAGAD_API_GRAPH_H

#include "api/common.h"

/* Registers the routes on `srv`. `api` is borrowed and must outlive the
 * server. Drawings are kept in memory until the process exits: every
 * machine version's once drawn, the 32 last used executions' (per id and
 * last event). Returns 0 or -1. */
int api_graph_register(http_server_t *srv, api_t *api);

#endif
