/* Graphviz DOT of a compiled state machine: one node per state, Choice
 * rules as edge labels, Catch edges dashed, Parallel branches and Map
 * processors as clusters, and an execution's outcomes painted on top. */
#include "graph/dot.h"
#include "asl/json.h"
#include "core/grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string ------------------------------------------------------ */

typedef struct sb_s {
    char *p;
    size_t len, cap;
    int oom;              /* memory ran out: p is dropped at the end */
} sb_t;

static void sb_add(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || b->oom)
        return;
    if (grow_reserve(&b->p, &b->cap, b->len + (size_t)n + 1, 1) < 0) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The length of the UTF-8 sequence at s (1-4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
               : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && s[0] < 0xC2)
        return 0;    /* overlong */
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* `str` as the inside of a DOT double-quoted string (an escString in
 * Graphviz's terms) when `dot`: quotes and backslashes escaped, newlines as
 * \n (a line break in a label); other control characters and bytes that are
 * not UTF-8 as the text \xNN, which keeps the SVG well-formed XML. Without
 * `dot`, the text Graphviz makes of that in an id attribute. */
static void esc_add(sb_t *b, const char *str, int dot)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        size_t n = utf8_len(s);
        if (*s == '"' || *s == '\\')
            sb_add(b, "%s%c", dot ? "\\" : "", *s);
        else if (*s == '\n')
            sb_add(b, "\\n");
        else if (*s == '\t')
            sb_add(b, " ");
        else if (n == 0 || *s < 0x20 || *s == 0x7F)
            sb_add(b, "%s\\x%02x", dot ? "\\" : "", *s);
        else
            sb_add(b, "%.*s", (int)n, (const char *)s);
        s += n ? n : 1;
    }
}

/* A DOT double-quoted string. */
static void q_add(sb_t *b, const char *str)
{
    sb_add(b, "\"");
    esc_add(b, str, 1);
    sb_add(b, "\"");
}

/* ---- marks: what a trace changes in a drawing -------------------------------- */

typedef struct mark_s {
    char *id;       /* as the SVG's id attribute reads, entities decoded */
    char *value;
} mark_t;

struct graph_marks_s {
    mark_t *m;
    size_t n, cap;
    int oom;
};

void graph_marks_free(graph_marks_t *mk)
{
    for (size_t i = 0; mk && i < mk->n; i++) {
        free(mk->m[i].id);
        free(mk->m[i].value);
    }
    if (mk)
        free(mk->m);
    free(mk);
}

const char *graph_marks_get(const graph_marks_t *mk, const char *id)
{
    for (size_t i = 0; mk && i < mk->n; i++)
        if (strcmp(mk->m[i].id, id) == 0)
            return mk->m[i].value;
    return NULL;
}

/* Records prefix + (DOT node id `id` as Graphviz shows it) -> value. */
static void mark_add(graph_marks_t *mk, const char *prefix, const char *id, const char *value)
{
    sb_t b = {0};
    sb_add(&b, "%s", prefix);
    esc_add(&b, id, 0);
    char *v = strdup(value);
    if (b.oom || !v || grow_reserve(&mk->m, &mk->cap, mk->n + 1, sizeof *mk->m) < 0) {
        free(b.p);
        free(v);
        mk->oom = 1;
        return;
    }
    mk->m[mk->n++] = (mark_t){b.p, v};
}

static void rule_text(const cJSON *r, sb_t *b, int top);

static void rule_list(const cJSON *arr, const char *op, sb_t *b, int top)
{
    const cJSON *c;
    int first = 1;
    if (!top)
        sb_add(b, "(");
    cJSON_ArrayForEach(c, arr) {
        if (!first)
            sb_add(b, " %s ", op);
        rule_text(c, b, 0);
        first = 0;
    }
    if (!top)
        sb_add(b, ")");
}

/* A short text of a Choice rule: "$.qty > 0", "$.a == \"x\" && $.b is present";
 * nested And/Or in parentheses. */
static void rule_text(const cJSON *r, sb_t *b, int top)
{
    static const struct { const char *suffix; const char *op; } cmp[] = {
        {"Equals", "=="}, {"LessThanEquals", "<="}, {"GreaterThanEquals", ">="},
        {"LessThan", "<"}, {"GreaterThan", ">"}, {"Matches", "matches"},
    };
    static const struct { const char *key; const char *yes; const char *no; } is[] = {
        {"IsNull", "is null", "is not null"}, {"IsPresent", "is present", "is absent"},
        {"IsNumeric", "is numeric", "is not numeric"}, {"IsString", "is a string", "is not a string"},
        {"IsBoolean", "is a boolean", "is not a boolean"},
        {"IsTimestamp", "is a timestamp", "is not a timestamp"},
    };
    const cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(r, "And"))) {
        rule_list(x, "&&", b, top);
        return;
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(r, "Or"))) {
        rule_list(x, "||", b, top);
        return;
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(r, "Not"))) {
        sb_add(b, "!");
        if (cJSON_GetObjectItemCaseSensitive(x, "Variable"))
            sb_add(b, "(");
        rule_text(x, b, 0);
        if (cJSON_GetObjectItemCaseSensitive(x, "Variable"))
            sb_add(b, ")");
        return;
    }
    const char *var = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "Variable"));
    sb_add(b, "%s", var ? var : "?");
    const cJSON *c;
    cJSON_ArrayForEach(c, r) {
        const char *k = c->string;
        if (!k || strcmp(k, "Variable") == 0 || strcmp(k, "Next") == 0 || strcmp(k, "Comment") == 0)
            continue;
        for (size_t i = 0; i < sizeof is / sizeof is[0]; i++)
            if (strcmp(k, is[i].key) == 0) {
                sb_add(b, " %s", cJSON_IsFalse(c) ? is[i].no : is[i].yes);
                return;
            }
        size_t kl = strlen(k);
        int path = kl > 4 && strcmp(k + kl - 4, "Path") == 0;
        for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
            size_t sl = strlen(cmp[i].suffix);
            size_t base = path ? kl - 4 : kl;
            if (base < sl || strncmp(k + base - sl, cmp[i].suffix, sl) != 0)
                continue;
            if (path && cJSON_IsString(c)) {
                sb_add(b, " %s %s", cmp[i].op, c->valuestring);
            } else {
                char *v = asl_json_print(c);
                sb_add(b, " %s %s", cmp[i].op, v ? v : "?");
                free(v);
            }
            return;
        }
        sb_add(b, " %s", k);
        return;
    }
}

#define RULE_MAX 60

static void rule_label(const cJSON *r, char *out, size_t cap)
{
    sb_t b = {0};
    rule_text(r, &b, 1);
    const char *s = b.p ? b.p : "";
    if (strlen(s) > RULE_MAX && cap > RULE_MAX + 4) {
        /* Cut at a character boundary. */
        size_t n = RULE_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        snprintf(out, cap, "%.*s...", (int)n, s);
    } else {
        snprintf(out, cap, "%s", s);
    }
    free(b.p);
}

typedef struct gctx_s {
    sb_t *b;
    const graph_trace_t *tr;    /* NULL: no execution to paint */
    graph_marks_t *mk;          /* NULL: not recording marks */
    size_t n_edges;             /* edges so far: edge K has id "edge:K" */
} gctx_t;

/* Node ids are paths ("P/0/Inner"); long ones are cut, which only matters
 * for names of hundreds of characters. */
#define ID_MAX 2048

/* out = a + b + c (any may be ""), cut to ID_MAX - 1 bytes. */
static void cat3(char out[ID_MAX], const char *a, const char *b, const char *c)
{
    size_t n = 0;
    const char *parts[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p && n < ID_MAX - 1; p++)
            out[n++] = *p;
    out[n] = '\0';
}

/* How each outcome is drawn: fill, border, border width, extra style.
 * Light fills keep the text readable; failed also has a thick border and
 * caught a dashed one, so that the outcome shows without telling colours. */
static const graph_look_t LOOK[] = {
    [GRAPH_OUTCOME_NOTREACHED] = {NULL, "#9e9e9e", NULL, 1},
    [GRAPH_OUTCOME_SUCCEEDED] = {"#d9f0d3", "#1b7837", NULL, 1},
    [GRAPH_OUTCOME_CAUGHT] = {"#fee0b6", "#e08214", "dashed", 2},
    [GRAPH_OUTCOME_RUNNING] = {"#d1e5f0", "#2166ac", NULL, 2},
    [GRAPH_OUTCOME_FAILED] = {"#f4c7c3", "#b2182b", NULL, 3},
};

static void declare_node(gctx_t *g, const asl_machine_t *m, size_t i, const char *id, int indent)
{
    const asl_state_t *s = asl_machine_state(m, i);
    sb_t *b = g->b;
    sb_t label = {0};
    const char *shape = "box", *style = "rounded", *color = NULL;
    sb_add(&label, "%s", s->name);
    switch (s->type) {
    case ASL_STATE_TASK:
        sb_add(&label, "\n%s", s->resource ? s->resource : "Task");
        if (s->n_retry)
            sb_add(&label, "\nretry (%zu rule%s)", s->n_retry, s->n_retry == 1 ? "" : "s");
        break;
    case ASL_STATE_CHOICE:
        shape = "diamond";
        style = "solid";
        break;
    case ASL_STATE_WAIT:
        if (s->seconds.set && !s->seconds.path)
            sb_add(&label, "\nWait %gs", s->seconds.value);
        else
            sb_add(&label, "\nWait");
        break;
    case ASL_STATE_SUCCEED:
        shape = "oval";
        style = "solid";
        color = "#1b7837";
        break;
    case ASL_STATE_FAIL:
        shape = "octagon";
        style = "solid";
        color = "#b2182b";
        if (s->error)
            sb_add(&label, "\nFail: %s", s->error);
        else
            sb_add(&label, "\nFail");
        break;
    default:
        sb_add(&label, "\n%s", asl_state_type_name(s->type));
        break;
    }
    sb_add(b, "%*s", indent, "");
    q_add(b, id);
    sb_add(b, " [label=");
    q_add(b, label.oom ? s->name : label.p);
    free(label.p);
    char sid[ID_MAX];
    cat3(sid, "state:", id, "");
    sb_add(b, ", id=");
    q_add(b, sid);
    sb_add(b, ", shape=%s", shape);
    if (!g->tr) {
        sb_add(b, ", class=\"state\", style=\"%s\"", style);
    } else {
        graph_outcome_t o = graph_trace_outcome(g->tr, s->name);
        char cls[32];
        snprintf(cls, sizeof cls, "outcome-%s", graph_outcome_name(o));
        if (g->mk)
            mark_add(g->mk, "state:", id, cls);
        sb_add(b, ", class=\"state outcome-%s\", style=\"%s%s%s%s\"", graph_outcome_name(o), style,
               LOOK[o].fill ? ",filled" : "", LOOK[o].style ? "," : "",
               LOOK[o].style ? LOOK[o].style : "");
        if (LOOK[o].fill)
            sb_add(b, ", fillcolor=\"%s\"", LOOK[o].fill);
        else
            sb_add(b, ", fontcolor=\"#616161\"");
        if (LOOK[o].pen > 1)
            sb_add(b, ", penwidth=%d", LOOK[o].pen);
        color = LOOK[o].border;
    }
    if (color)
        sb_add(b, ", color=\"%s\"", color);
    sb_add(b, "];\n");
}

#define MAP_PAD "            "

/* The label of the cluster of Parallel or Map state `name`; on an execution
 * a Map's says how many iterations ran. */
static void cluster_label(gctx_t *g, const char *id, const char *name, asl_state_type_t t)
{
    char lab[600];
    long started = -1, failed = 0;
    if (t == ASL_STATE_MAP)
        graph_trace_iterations(g->tr, name, &started, &failed);
    if (t == ASL_STATE_PARALLEL)
        snprintf(lab, sizeof lab, "%s (Parallel)", name);
    else if (started < 0)
        /* Room for the longer label an execution paints in: padded on both
         * sides, so that it stays centred. */
        snprintf(lab, sizeof lab, "%s%s (Map: each item)%s", g->tr ? "" : MAP_PAD, name,
                 g->tr ? "" : MAP_PAD);
    else if (failed)
        snprintf(lab, sizeof lab, "%s (Map: %ld iteration%s, %ld failed)", name, started,
                 started == 1 ? "" : "s", failed);
    else
        snprintf(lab, sizeof lab, "%s (Map: %ld iteration%s)", name, started, started == 1 ? "" : "s");
    q_add(g->b, lab);
    if (g->mk && g->tr && t == ASL_STATE_MAP)
        mark_add(g->mk, "cluster:", id, lab);
}

/* Declares every node of `m` (ids prefixed by `prefix`), Parallel and Map
 * states as clusters holding their branches. */
static void declare_machine(gctx_t *g, const asl_machine_t *m, const char *prefix, int indent)
{
    size_t n = asl_machine_state_count(m);
    char id[ID_MAX];
    sb_t *b = g->b;
    for (size_t i = 0; i < n; i++) {
        const char *name = asl_machine_state_name(m, i);
        asl_state_type_t t = asl_machine_state_type(m, i);
        cat3(id, prefix, name, "");
        if (t != ASL_STATE_PARALLEL && t != ASL_STATE_MAP) {
            declare_node(g, m, i, id, indent);
            continue;
        }
        char cl[ID_MAX];
        sb_add(b, "%*ssubgraph ", indent, "");
        cat3(cl, "cluster_", id, "");
        q_add(b, cl);
        sb_add(b, " {\n%*sid=", indent + 2, "");
        cat3(cl, "cluster:", id, "");
        q_add(b, cl);
        sb_add(b, "; label=");
        cluster_label(g, id, name, t);
        sb_add(b, "; style=\"rounded\"; color=\"#7b7b7b\";\n");
        declare_node(g, m, i, id, indent + 2);
        size_t nb = asl_machine_state_branch_count(m, i);
        for (size_t k = 0; k < nb; k++) {
            char bp[ID_MAX], kk[32];
            snprintf(kk, sizeof kk, "/%zu/", k);
            cat3(bp, id, kk, "");
            if (t == ASL_STATE_PARALLEL) {
                sb_add(b, "%*ssubgraph ", indent + 2, "");
                cat3(cl, "cluster_", bp, "");
                q_add(b, cl);
                sb_add(b, " {\n%*sid=", indent + 4, "");
                cat3(cl, "cluster:", bp, "");
                q_add(b, cl);
                sb_add(b, "; label=\"branch %zu\"; style=\"dashed\";\n", k + 1);
                declare_machine(g, asl_machine_state_branch(m, i, k), bp, indent + 4);
                sb_add(b, "%*s}\n", indent + 2, "");
            } else {
                declare_machine(g, asl_machine_state_branch(m, i, k), bp, indent + 2);
            }
        }
        /* Where the branches meet before the state's own Next. */
        char join[ID_MAX];
        cat3(join, id, "/#join", "");
        sb_add(b, "%*s", indent + 2, "");
        q_add(b, join);
        sb_add(b, " [shape=point, width=0.08, label=\"\"];\n");
        sb_add(b, "%*s}\n", indent, "");
    }
}

/* One edge; `took` draws it as a transition the execution took. `attrs`
 * are extra attributes or NULL. */
static void edge(gctx_t *g, const char *from, const char *to, int took, const char *label,
                 const char *attrs)
{
    sb_t *b = g->b;
    sb_add(b, "  ");
    q_add(b, from);
    sb_add(b, " -> ");
    q_add(b, to);
    int any = 0;
    if (label) {
        sb_add(b, " [label=");
        q_add(b, label);
        any = 1;
    }
    if (attrs) {
        sb_add(b, "%s%s", any ? ", " : " [", attrs);
        any = 1;
    }
    if (took)
        sb_add(b, "%sclass=\"taken\", color=\"#2166ac\", penwidth=2.5", any ? ", " : " [");
    char eid[32];
    snprintf(eid, sizeof eid, "edge:%zu", g->n_edges++);
    sb_add(b, "%sid=\"%s\"];\n", any || took ? ", " : " [", eid);
    if (took && g->mk)
        mark_add(g->mk, "", eid, "taken");
}

/* Every edge of `m`; End states lead to `exit_id`. */
static void edges_machine(gctx_t *g, const asl_machine_t *m, const char *prefix, const char *exit_id)
{
    size_t n = asl_machine_state_count(m);
    char id[ID_MAX], to[ID_MAX];
    for (size_t i = 0; i < n; i++) {
        const asl_state_t *s = asl_machine_state(m, i);
        cat3(id, prefix, s->name, "");
        const char *out_from = id;
        char join[ID_MAX];
        if (s->type == ASL_STATE_PARALLEL || s->type == ASL_STATE_MAP) {
            cat3(join, id, "/#join", "");
            for (size_t k = 0; k < s->n_branches; k++) {
                const asl_machine_t *b = s->branches[k];
                char bp[ID_MAX], lab[32], kk[32];
                snprintf(kk, sizeof kk, "/%zu/", k);
                cat3(bp, id, kk, "");
                const char *start = asl_machine_state_name(b, asl_machine_start_index(b));
                cat3(to, bp, start, "");
                if (s->type == ASL_STATE_MAP)
                    snprintf(lab, sizeof lab, "each item");
                else
                    snprintf(lab, sizeof lab, "branch %zu", k + 1);
                edge(g, id, to, graph_trace_entered(g->tr, s->name) && graph_trace_entered(g->tr, start),
                     lab, "style=\"bold\"");
                edges_machine(g, b, bp, join);
            }
            out_from = join;
        }
        if (s->next) {
            cat3(to, prefix, s->next, "");
            edge(g, out_from, to, graph_trace_taken(g->tr, s->name, s->next, GRAPH_VIA_NEXT), NULL, NULL);
        } else if (s->end && s->type != ASL_STATE_FAIL) {
            edge(g, out_from, exit_id, 0, NULL, NULL);
        }
        if (s->type == ASL_STATE_CHOICE) {
            const cJSON *rules = cJSON_GetObjectItemCaseSensitive(s->def, "Choices");
            for (size_t k = 0; k < asl_machine_state_choice_count(m, i); k++) {
                const char *next = asl_machine_state_choice_next(m, i, k);
                char lab[RULE_MAX + 8];
                rule_label(cJSON_GetArrayItem(rules, (int)k), lab, sizeof lab);
                cat3(to, prefix, next, "");
                edge(g, id, to, graph_trace_taken(g->tr, s->name, next, GRAPH_VIA_NEXT), lab, NULL);
            }
            if (s->default_next) {
                cat3(to, prefix, s->default_next, "");
                edge(g, id, to, graph_trace_taken(g->tr, s->name, s->default_next, GRAPH_VIA_NEXT),
                     "Default", NULL);
            }
        }
        for (size_t k = 0; k < s->n_catch; k++) {
            const asl_catcher_t *c = &s->catch_[k];
            sb_t lab = {0};
            sb_add(&lab, "catch ");
            for (size_t e = 0; e < c->n_errors; e++)
                sb_add(&lab, "%s%s", e ? ", " : "", c->errors[e]);
            cat3(to, prefix, c->next, "");
            int took = graph_trace_taken(g->tr, s->name, c->next, GRAPH_VIA_CATCH);
            edge(g, id, to, took, lab.oom ? "catch" : lab.p,
                 took ? "style=\"dashed\"" : "style=\"dashed\", color=\"#b2182b\", fontcolor=\"#b2182b\"");
            free(lab.p);
        }
    }
}

const graph_look_t *graph_outcome_look(graph_outcome_t o)
{
    return &LOOK[(size_t)o < sizeof LOOK / sizeof LOOK[0] ? o : GRAPH_OUTCOME_NOTREACHED];
}

/* The DOT text, and the marks of the trace when `mk` is not NULL. */
static char *generate(const char *name, const asl_machine_t *m, const graph_trace_t *tr,
                      const char *title, graph_marks_t *mk)
{
    sb_t b = {0};
    gctx_t g = {&b, tr, mk, 0};
    sb_add(&b, "digraph ");
    q_add(&b, name);
    sb_add(&b, " {\n"
               "  graph [fontname=\"Helvetica\", labelloc=\"t\", label=");
    q_add(&b, title ? title : name);
    sb_add(&b, "];\n"
               "  node [fontname=\"Helvetica\", fontsize=11];\n"
               "  edge [fontname=\"Helvetica\", fontsize=9];\n"
               "  \"#start\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.2];\n"
               "  \"#end\" [shape=doublecircle, style=filled, fillcolor=black, label=\"\", width=0.12];\n");
    declare_machine(&g, m, "", 2);
    const char *start = asl_machine_state_name(m, asl_machine_start_index(m));
    edge(&g, "#start", start, graph_trace_entered(tr, start), NULL, NULL);
    edges_machine(&g, m, "", "#end");
    sb_add(&b, "}\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *graph_dot(const char *name, const asl_machine_t *m, const graph_trace_t *tr, const char *title)
{
    return generate(name, m, tr, title, NULL);
}

graph_marks_t *graph_dot_marks(const asl_machine_t *m, const graph_trace_t *tr)
{
    graph_marks_t *mk = calloc(1, sizeof *mk);
    if (!mk)
        return NULL;
    char *dot = generate("", m, tr, NULL, mk);
    if (!dot || mk->oom) {
        graph_marks_free(mk);
        mk = NULL;
    }
    free(dot);
    return mk;
}
