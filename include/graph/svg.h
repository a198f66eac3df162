/* SVG drawings of DOT text through Graphviz's library (libgvc): the dot
 * layout engine, rendered in-process; no `dot` program is run. Graphviz is
 * not thread-safe: call from one thread (the daemon's loop, the CLI). */
#ifndef SAGAD_GRAPH_SVG_H
#define SAGAD_GRAPH_SVG_H

#include <stddef.h>

/* Lays out `dot` (borrowed, NUL-terminated) and renders it as an SVG
 * document (UTF-8). The attributes of each node's <g> (id, class) carry
 * '-' as is, not as the entity &#45; Graphviz writes, so that they read as
 * written in the DOT. Returns the text (caller frees, NUL-terminated, its
 * length in *len when len is not NULL), or NULL when the text is not DOT
 * Graphviz can draw or memory ran out. The Graphviz context is made on the
 * first call and kept until graph_svg_shutdown. */
char *graph_svg_render(const char *dot, size_t *len);

/* Frees the Graphviz context; later renders return NULL. There is no second
 * context: Graphviz 2.43's pango plugin keeps a text-size cache across
 * contexts that points into the freed one. Registered with atexit by the
 * first render, so that leak checkers see no context. */
void graph_svg_shutdown(void);

#endif
