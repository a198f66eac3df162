/* Painting an execution onto its machine's SVG: class edits on the <g>
 * elements Graphviz wrote (state, edge, cluster ids), new Map labels, and a
 * style sheet made from the outcome looks of graph/dot.h. */
#include "graph/paint.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct out_s {
    char *p;
    size_t len, cap;
    int oom;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->oom || grow_reserve(&o->p, &o->cap, o->len + n + 1, 1) < 0) {
        o->oom = 1;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Text for XML character data or a double-quoted attribute. */
static void put_xml(out_t *o, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                        : *s == '"' ? "&quot;" : NULL;
        if (e)
            puts_(o, e);
        else
            put(o, s, 1);
    }
}

/* The `n` bytes of an attribute value with the entities Graphviz writes
 * decoded (named ones and ASCII character references). Caller frees. */
static char *decode(const char *s, size_t n)
{
    static const struct { const char *ent; char c; } named[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
    };
    char *d = malloc(n + 1);
    size_t k = 0;
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        if (s[i] == '&') {
            for (size_t e = 0; e < sizeof named / sizeof named[0] && j == i; e++) {
                size_t el = strlen(named[e].ent);
                if (n - i >= el && memcmp(s + i, named[e].ent, el) == 0) {
                    d[k++] = named[e].c;
                    j = i + el - 1;
                }
            }
            if (j == i && i + 2 < n && s[i + 1] == '#') {
                char *end;
                int hex = s[i + 2] == 'x';
                long c = strtol(s + i + 2 + hex, &end, hex ? 16 : 10);
                if (end < s + n && *end == ';' && c > 0 && c < 0x80) {
                    d[k++] = (char)c;
                    j = (size_t)(end - s);
                }
            }
        }
        if (j == i)
            d[k++] = s[i];
        i = j;
    }
    d[k] = '\0';
    return d;
}

/* The style sheet: each outcome's look (presentation attributes lose to
 * CSS), failed with its thick border, caught dashed, taken edges bold. */
static void style(out_t *o)
{
    puts_(o, "\n<style>\n");
    for (int x = GRAPH_OUTCOME_NOTREACHED; x <= GRAPH_OUTCOME_FAILED; x++) {
        const graph_look_t *l = graph_outcome_look((graph_outcome_t)x);
        const char *n = graph_outcome_name((graph_outcome_t)x);
        char rule[512];
        snprintf(rule, sizeof rule,
                 "g.outcome-%s>path,g.outcome-%s>polygon,g.outcome-%s>ellipse"
                 "{fill:%s;stroke:%s;stroke-width:%d%s}\n",
                 n, n, n, l->fill ? l->fill : "none", l->border, l->pen,
                 l->style ? ";stroke-dasharray:5,2" : "");
        puts_(o, rule);
        if (!l->fill) {
            snprintf(rule, sizeof rule, "g.outcome-%s>text{fill:#616161}\n", n);
            puts_(o, rule);
        }
    }
    puts_(o, "g.edge.taken>path{stroke:#2166ac;stroke-width:2.5}\n"
             "g.edge.taken>polygon{fill:#2166ac;stroke:#2166ac;stroke-width:2.5}\n"
             "</style>\n");
}

/* At `p` (just past `<g id="`): copies the tag with its mark applied and
 * returns where copying goes on. */
static const char *paint_g(out_t *o, const char *p, const char *end, const graph_marks_t *mk)
{
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q)
        return p;
    char *id = decode(p, (size_t)(q - p));
    if (!id) {
        o->oom = 1;
        return p;
    }
    const char *v = graph_marks_get(mk, id);
    int cluster = strncmp(id, "cluster:", 8) == 0;
    free(id);
    static const char CLS[] = "\" class=\"";
    if (!v || (size_t)(end - q) < sizeof CLS || memcmp(q, CLS, sizeof CLS - 1) != 0)
        return p;
    const char *c = q + sizeof CLS - 1;
    const char *ce = memchr(c, '"', (size_t)(end - c));
    if (!ce)
        return p;
    put(o, p, (size_t)(ce - p));
    if (!cluster) {
        puts_(o, " ");
        put_xml(o, v);
        return ce;
    }
    /* A Map cluster: its label is the first <text> before the next <g>. */
    const char *t = strstr(ce, "<text");
    const char *g = strstr(ce, "<g ");
    const char *te = t ? strchr(t, '>') : NULL;
    const char *tc = te ? strstr(te, "</text>") : NULL;
    if (!tc || (g && g < t))
        return ce;
    put(o, ce, (size_t)(te + 1 - ce));
    put_xml(o, v);
    return tc;
}

char *graph_paint(const char *svg, size_t len, const graph_marks_t *mk, size_t *out_len)
{
    const char *end = svg + len;
    const char *s = strstr(svg, "<svg");
    const char *se = s ? strchr(s, '>') : NULL;
    if (!se)
        return NULL;
    out_t o = {0};
    put(&o, svg, (size_t)(se + 1 - svg));
    style(&o);
    static const char G[] = "<g id=\"";
    const char *p = se + 1;
    while (p < end && !o.oom) {
        const char *g = strstr(p, G);
        if (!g) {
            put(&o, p, (size_t)(end - p));
            break;
        }
        put(&o, p, (size_t)(g - p) + sizeof G - 1);
        p = paint_g(&o, g + sizeof G - 1, end, mk);
    }
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    if (out_len)
        *out_len = o.len;
    return o.p;
}
