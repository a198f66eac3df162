/* DOT to SVG with libgvc, in-process: one Graphviz context per process, made
 * on first use. Graphviz's warnings are dropped (its stderr output would
 * interleave with the daemon's log); a failed layout or render is NULL. */
#include "graph/svg.h"

#include <gvc.h>
#include <stdlib.h>
#include <string.h>

/* The plugins linked in (Makefile): the dot layout and the core renderers
 * (svg). Without pango, Graphviz estimates text sizes from its own font
 * metrics: the drawing does not depend on the fonts installed, and pango's
 * and fontconfig's caches (never freed) are not made at all. */
extern gvplugin_library_t gvplugin_dot_layout_LTX_library;
extern gvplugin_library_t gvplugin_core_LTX_library;
static const lt_symlist_t PLUGINS[] = {
    {"gvplugin_dot_layout_LTX_library", &gvplugin_dot_layout_LTX_library},
    {"gvplugin_core_LTX_library", &gvplugin_core_LTX_library},
    {0, 0},
};

static GVC_t *gvc;
static int closed;   /* graph_svg_shutdown ran: no second context */

static int quiet(char *msg)
{
    (void)msg;
    return 0;
}

void graph_svg_shutdown(void)
{
    if (gvc)
        gvFreeContext(gvc);
    gvc = NULL;
    closed = 1;
}

static GVC_t *context(void)
{
    static int registered;
    if (gvc || closed)
        return gvc;
    agseterrf(quiet);
    agseterr(AGMAX);
    gvc = gvContextPlugins(PLUGINS, 0);
    if (gvc && !registered && atexit(graph_svg_shutdown) == 0)
        registered = 1;
    return gvc;
}

/* A copy of the `n` bytes of svg with "&#45;" turned back into '-' inside
 * the tags of <g> elements (their id and class attributes). */
static char *unescape_g(const char *svg, size_t n, size_t *len)
{
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    int in_g = 0;
    for (size_t i = 0; i < n; i++) {
        if (!in_g && svg[i] == '<' && i + 2 < n && svg[i + 1] == 'g' && svg[i + 2] == ' ')
            in_g = 1;
        else if (in_g && svg[i] == '>')
            in_g = 0;
        if (in_g && svg[i] == '&' && n - i >= 5 && memcmp(svg + i, "&#45;", 5) == 0) {
            out[o++] = '-';
            i += 4;
            continue;
        }
        out[o++] = svg[i];
    }
    out[o] = '\0';
    if (len)
        *len = o;
    return out;
}

char *graph_svg_render(const char *dot, size_t *len)
{
    GVC_t *c = context();
    if (!c)
        return NULL;
    Agraph_t *g = agmemread(dot);
    if (!g)
        return NULL;
    char *out = NULL;
    if (gvLayout(c, g, "dot") == 0) {
        char *data = NULL;
        unsigned int n = 0;
        if (gvRenderData(c, g, "svg", &data, &n) == 0 && data)
            out = unescape_g(data, n, len);
        gvFreeRenderData(data);
        gvFreeLayout(c, g);
    }
    agclose(g);
    return out;
}
