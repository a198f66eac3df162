/* Graphviz DOT of a compiled state machine: one node per state, Choice
 * rules as edge labels, Catch edges dashed, Parallel branches and Map
 * processors as clusters, and an execution's trace painted on top. */
#include "cli/dot.h"
#include "cli/out.h"
#include "asl/json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growable string ------------------------------------------------------ */

typedef struct sb_s {
    char *p;
    size_t len, cap;
} sb_t;

static void sb_add(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sb_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            abort();
        b->p = np;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A DOT double-quoted string: quotes and backslashes escaped, newlines as
 * \n; other control characters escaped when f is a terminal (out_text). */
static void put_q(FILE *f, const char *s)
{
    sb_t b = {0};
    sb_add(&b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_add(&b, "\\%c", *s);
        else if (*s == '\n')
            sb_add(&b, "\\n");
        else if (*s != '\r')
            sb_add(&b, "%c", *s);
    }
    sb_add(&b, "\"");
    if (b.p)
        out_text(f, b.p, b.len, OUT_TEXT_LINE);
    free(b.p);
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
    FILE *f;
    const trace_t *tr;    /* NULL: no execution to paint */
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

static void node_id(char out[ID_MAX], const char *prefix, const char *name)
{
    cat3(out, prefix, name, "");
}

static void declare_node(gctx_t *g, const asl_machine_t *m, size_t i, const char *id, int indent)
{
    const asl_state_t *s = asl_machine_state(m, i);
    FILE *f = g->f;
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
        color = "#2e7d32";
        break;
    case ASL_STATE_FAIL:
        shape = "octagon";
        style = "solid";
        color = "#c62828";
        if (s->error)
            sb_add(&label, "\nFail: %s", s->error);
        else
            sb_add(&label, "\nFail");
        break;
    default:
        sb_add(&label, "\n%s", asl_state_type_name(s->type));
        break;
    }
    fprintf(f, "%*s", indent, "");
    put_q(f, id);
    fprintf(f, " [label=");
    put_q(f, label.p);
    fprintf(f, ", shape=%s", shape);
    int mark = trace_mark(g->tr, s->name);
    if (mark == TRACE_NONE) {
        fprintf(f, ", style=\"%s\"", style);
    } else {
        static const char *const fill[] = {"", "#cfe2ff", "#fff3b0", "#f8c4c4"};
        fprintf(f, ", style=\"%s,filled\", fillcolor=\"%s\"", style, fill[mark]);
        if (mark == TRACE_FAILED)
            color = "#c62828";
        if (mark != TRACE_VISITED)
            fprintf(f, ", penwidth=2");
    }
    if (color)
        fprintf(f, ", color=\"%s\"", color);
    fprintf(f, "];\n");
    free(label.p);
}

/* Declares every node of `m` (ids prefixed by `prefix`), Parallel and Map
 * states as clusters holding their branches. */
static void declare_machine(gctx_t *g, const asl_machine_t *m, const char *prefix, int indent)
{
    size_t n = asl_machine_state_count(m);
    char id[ID_MAX];
    for (size_t i = 0; i < n; i++) {
        const char *name = asl_machine_state_name(m, i);
        asl_state_type_t t = asl_machine_state_type(m, i);
        node_id(id, prefix, name);
        if (t != ASL_STATE_PARALLEL && t != ASL_STATE_MAP) {
            declare_node(g, m, i, id, indent);
            continue;
        }
        FILE *f = g->f;
        fprintf(f, "%*ssubgraph ", indent, "");
        char cl[ID_MAX];
        cat3(cl, "cluster_", id, "");
        put_q(f, cl);
        fprintf(f, " {\n%*slabel=", indent + 2, "");
        char lab[600];
        snprintf(lab, sizeof lab, "%s (%s)", name, t == ASL_STATE_MAP ? "Map: each item" : "Parallel");
        put_q(f, lab);
        fprintf(f, "; style=\"rounded\"; color=\"#7b7b7b\";\n");
        declare_node(g, m, i, id, indent + 2);
        size_t nb = asl_machine_state_branch_count(m, i);
        for (size_t k = 0; k < nb; k++) {
            char bp[ID_MAX], kk[32];
            snprintf(kk, sizeof kk, "/%zu/", k);
            cat3(bp, id, kk, "");
            if (t == ASL_STATE_PARALLEL) {
                fprintf(f, "%*ssubgraph ", indent + 2, "");
                cat3(cl, "cluster_", bp, "");
                put_q(f, cl);
                fprintf(f, " {\n%*slabel=\"branch %zu\"; style=\"dashed\";\n", indent + 4, "", k + 1);
                declare_machine(g, asl_machine_state_branch(m, i, k), bp, indent + 4);
                fprintf(f, "%*s}\n", indent + 2, "");
            } else {
                declare_machine(g, asl_machine_state_branch(m, i, k), bp, indent + 2);
            }
        }
        /* Where the branches meet before the state's own Next. */
        char join[ID_MAX];
        cat3(join, id, "/#join", "");
        fprintf(f, "%*s", indent + 2, "");
        put_q(f, join);
        fprintf(f, " [shape=point, width=0.08, label=\"\"];\n");
        fprintf(f, "%*s}\n", indent, "");
    }
}

/* One edge; `took` draws it as a transition the execution took. `attrs`
 * are extra attributes or NULL. */
static void edge(gctx_t *g, const char *from, const char *to, int took, const char *label,
                 const char *attrs)
{
    FILE *f = g->f;
    fprintf(f, "  ");
    put_q(f, from);
    fprintf(f, " -> ");
    put_q(f, to);
    int any = 0;
    if (label) {
        fprintf(f, " [label=");
        put_q(f, label);
        any = 1;
    }
    if (attrs) {
        fprintf(f, "%s%s", any ? ", " : " [", attrs);
        any = 1;
    }
    if (took) {
        fprintf(f, "%scolor=\"#1f5fbf\", penwidth=2.5", any ? ", " : " [");
        any = 1;
    }
    fprintf(f, "%s;\n", any ? "]" : "");
}

/* Every edge of `m`; End states lead to `exit_id`. */
static void edges_machine(gctx_t *g, const asl_machine_t *m, const char *prefix, const char *exit_id)
{
    size_t n = asl_machine_state_count(m);
    char id[ID_MAX], to[ID_MAX];
    for (size_t i = 0; i < n; i++) {
        const asl_state_t *s = asl_machine_state(m, i);
        node_id(id, prefix, s->name);
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
                node_id(to, bp, start);
                if (s->type == ASL_STATE_MAP)
                    snprintf(lab, sizeof lab, "each item");
                else
                    snprintf(lab, sizeof lab, "branch %zu", k + 1);
                edge(g, id, to, trace_mark(g->tr, s->name) && trace_mark(g->tr, start), lab, "style=\"bold\"");
                edges_machine(g, b, bp, join);
            }
            out_from = join;
        }
        if (s->next) {
            node_id(to, prefix, s->next);
            edge(g, out_from, to, trace_taken(g->tr, s->name, s->next), NULL, NULL);
        } else if (s->end && s->type != ASL_STATE_FAIL) {
            edge(g, out_from, exit_id, 0, NULL, NULL);
        }
        if (s->type == ASL_STATE_CHOICE) {
            const cJSON *rules = cJSON_GetObjectItemCaseSensitive(s->def, "Choices");
            for (size_t k = 0; k < asl_machine_state_choice_count(m, i); k++) {
                const char *next = asl_machine_state_choice_next(m, i, k);
                char lab[RULE_MAX + 8];
                rule_label(cJSON_GetArrayItem(rules, (int)k), lab, sizeof lab);
                node_id(to, prefix, next);
                edge(g, id, to, trace_taken(g->tr, s->name, next), lab, NULL);
            }
            if (s->default_next) {
                node_id(to, prefix, s->default_next);
                edge(g, id, to, trace_taken(g->tr, s->name, s->default_next), "Default", NULL);
            }
        }
        for (size_t k = 0; k < s->n_catch; k++) {
            const asl_catcher_t *c = &s->catch_[k];
            sb_t lab = {0};
            sb_add(&lab, "catch ");
            for (size_t e = 0; e < c->n_errors; e++)
                sb_add(&lab, "%s%s", e ? ", " : "", c->errors[e]);
            node_id(to, prefix, c->next);
            int took = trace_taken(g->tr, s->name, c->next);
            edge(g, id, to, took, lab.p,
                 took ? "style=\"dashed\"" : "style=\"dashed\", color=\"#c62828\", fontcolor=\"#c62828\"");
            free(lab.p);
        }
    }
}

void dot_print(FILE *f, const char *name, const asl_machine_t *m, const trace_t *tr,
               const char *title)
{
    gctx_t g = {f, tr};
    fprintf(f, "digraph ");
    put_q(f, name);
    fprintf(f, " {\n"
               "  graph [fontname=\"Helvetica\", labelloc=\"t\", label=");
    put_q(f, title ? title : name);
    fprintf(f, "];\n"
               "  node [fontname=\"Helvetica\", fontsize=11];\n"
               "  edge [fontname=\"Helvetica\", fontsize=9];\n"
               "  \"#start\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.2];\n"
               "  \"#end\" [shape=doublecircle, style=filled, fillcolor=black, label=\"\", width=0.12];\n");
    declare_machine(&g, m, "", 2);
    const char *start = asl_machine_state_name(m, asl_machine_start_index(m));
    edge(&g, "#start", start, trace_mark(tr, start) != TRACE_NONE, NULL, NULL);
    edges_machine(&g, m, "", "#end");
    fprintf(f, "}\n");
}
