/* `sagactl graph`: a state machine as Graphviz DOT. The definition comes
 * from the daemon and is compiled here with the daemon's parser, so the
 * picture follows the same transitions the engine does: Choice rules as
 * labelled edges, Catch edges dashed, Parallel branches and Map processors
 * as clusters. With --execution the states of its history are filled in. */
#include "cli/cmd_graph.h"
#include "asl/machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_cmd_t GRAPH = {
    "graph", "graph MACHINE [--execution ID] [--json]",
    "Prints state machine MACHINE as Graphviz DOT, e.g.\n"
    "  sagactl graph order | dot -Tsvg > order.svg\n"
    "Choice edges carry their rule, Catch edges are dashed and carry their\n"
    "ErrorEquals, Parallel branches and Map processors are clusters.\n"
    "\n"
    "  --execution ID   fill the states execution ID went through (blue),\n"
    "                   the ones it failed in (red) and the ones it is in now\n"
    "                   (yellow), and draw the transitions it took in bold\n"
    "  --json           print the daemon's definition (GET /state-machines/MACHINE)\n"};

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

/* ---- marks from an execution's history -------------------------------------- */

enum { MARK_NONE = 0, MARK_VISITED, MARK_CURRENT, MARK_FAILED };

typedef struct mark_s {
    char *name;
    int mark;
} mark_t;

typedef struct taken_s {
    char *from, *to;
} taken_t;

/* A state entered and not yet exited. */
typedef struct open_s {
    char *name;
    char type[16];        /* "Task", "Parallel", ... from the event type */
    int failed;           /* its last attempt failed */
} open_t;

typedef struct marks_s {
    mark_t *m;
    size_t n, cap;
    taken_t *t;
    size_t nt, capt;
    open_t *o;
    size_t no, capo;
} marks_t;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 16;
    void *np = realloc(p, nc * size);
    if (!np)
        abort();
    *cap = nc;
    return np;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static int mark_of(const marks_t *mk, const char *name)
{
    for (size_t i = 0; mk && i < mk->n; i++)
        if (strcmp(mk->m[i].name, name) == 0)
            return mk->m[i].mark;
    return MARK_NONE;
}

/* Raises the mark of `name` (FAILED > CURRENT > VISITED). */
static void mark_set(marks_t *mk, const char *name, int mark)
{
    for (size_t i = 0; i < mk->n; i++)
        if (strcmp(mk->m[i].name, name) == 0) {
            if (mark > mk->m[i].mark)
                mk->m[i].mark = mark;
            return;
        }
    mk->m = grow(mk->m, &mk->cap, mk->n, sizeof *mk->m);
    mk->m[mk->n].name = xstrdup(name);
    mk->m[mk->n++].mark = mark;
}

static void taken_add(marks_t *mk, const char *from, const char *to)
{
    for (size_t i = 0; i < mk->nt; i++)
        if (strcmp(mk->t[i].from, from) == 0 && strcmp(mk->t[i].to, to) == 0)
            return;
    mk->t = grow(mk->t, &mk->capt, mk->nt, sizeof *mk->t);
    mk->t[mk->nt].from = xstrdup(from);
    mk->t[mk->nt++].to = xstrdup(to);
}

static int taken(const marks_t *mk, const char *from, const char *to)
{
    for (size_t i = 0; mk && i < mk->nt; i++)
        if (strcmp(mk->t[i].from, from) == 0 && strcmp(mk->t[i].to, to) == 0)
            return 1;
    return 0;
}

static void open_drop(marks_t *mk, size_t i)
{
    free(mk->o[i].name);
    memmove(&mk->o[i], &mk->o[i + 1], (mk->no - i - 1) * sizeof *mk->o);
    mk->no--;
}

static void marks_free(marks_t *mk)
{
    for (size_t i = 0; i < mk->n; i++)
        free(mk->m[i].name);
    for (size_t i = 0; i < mk->nt; i++) {
        free(mk->t[i].from);
        free(mk->t[i].to);
    }
    for (size_t i = 0; i < mk->no; i++)
        free(mk->o[i].name);
    free(mk->m);
    free(mk->t);
    free(mk->o);
}

/* Finds the state called `name` anywhere in the machine (branches too). */
static const asl_state_t *find_state(const asl_machine_t *m, const char *name)
{
    long i = asl_machine_find_state(m, name);
    if (i >= 0)
        return asl_machine_state(m, (size_t)i);
    size_t n = asl_machine_state_count(m);
    for (size_t k = 0; k < n; k++)
        for (size_t b = 0; b < asl_machine_state_branch_count(m, k); b++) {
            const asl_state_t *s = find_state(asl_machine_state_branch(m, k, b), name);
            if (s)
                return s;
        }
    return NULL;
}

/* The newest open state of `type`, preferring one whose handler is
 * `handler` (a failure event names the handler, not the state). */
static open_t *open_find(marks_t *mk, const asl_machine_t *m, const char *type, const char *handler)
{
    for (int pass = handler ? 0 : 1; pass < 2; pass++)
        for (size_t i = mk->no; i-- > 0;) {
            if (strcmp(mk->o[i].type, type) != 0)
                continue;
            if (pass == 0 && handler) {
                const asl_state_t *s = find_state(m, mk->o[i].name);
                if (!s || !s->handler || strcmp(s->handler, handler) != 0)
                    continue;
            }
            return &mk->o[i];
        }
    return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Walks the history: states entered are visited; a state whose last attempt
 * failed (TaskFailed, ...StateFailed, a Fail state, or still open when the
 * execution failed) is failed; states open while it runs are current. A
 * transition counts as taken when a state is entered right after another
 * was exited (or right after its Parallel/Map was entered). */
static void marks_from_history(marks_t *mk, const asl_machine_t *m, const cJSON *events,
                               const char *status)
{
    char last_name[256] = "", last_type[16] = "";
    int last_exit = 0;
    const cJSON *ev;
    cJSON_ArrayForEach(ev, events) {
        const char *type = cli_str(ev, "type");
        const cJSON *det = cJSON_GetObjectItemCaseSensitive(ev, "details");
        const char *name = cli_str(det, "name");
        if (!type)
            continue;
        if (name && ends_with(type, "StateEntered")) {
            size_t tl = strlen(type) - strlen("StateEntered");
            mark_set(mk, name, MARK_VISITED);
            if (*last_name && (last_exit || strcmp(last_type, "Parallel") == 0 ||
                               strcmp(last_type, "Map") == 0))
                taken_add(mk, last_name, name);
            mk->o = grow(mk->o, &mk->capo, mk->no, sizeof *mk->o);
            open_t *o = &mk->o[mk->no++];
            o->name = xstrdup(name);
            snprintf(o->type, sizeof o->type, "%.*s", (int)tl, type);
            o->failed = strcmp(o->type, "Fail") == 0;
            snprintf(last_name, sizeof last_name, "%s", name);
            snprintf(last_type, sizeof last_type, "%s", o->type);
            last_exit = 0;
        } else if (name && ends_with(type, "StateExited")) {
            for (size_t i = mk->no; i-- > 0;)
                if (strcmp(mk->o[i].name, name) == 0) {
                    if (mk->o[i].failed)
                        mark_set(mk, name, MARK_FAILED);
                    open_drop(mk, i);
                    break;
                }
            snprintf(last_name, sizeof last_name, "%s", name);
            last_type[0] = '\0';
            last_exit = 1;
        } else if (strcmp(type, "TaskFailed") == 0 || strcmp(type, "TaskTimedOut") == 0) {
            open_t *o = open_find(mk, m, "Task", cli_str(det, "resource"));
            if (o)
                o->failed = 1;
        } else if (strcmp(type, "TaskScheduled") == 0) {
            /* A retry starts over; only the last attempt decides. */
            open_t *o = open_find(mk, m, "Task", cli_str(det, "resource"));
            if (o)
                o->failed = 0;
        } else if (strcmp(type, "ParallelStateFailed") == 0 || strcmp(type, "MapStateFailed") == 0) {
            open_t *o = open_find(mk, m, type[0] == 'P' ? "Parallel" : "Map", NULL);
            if (o)
                o->failed = 1;
        }
    }
    int running = status && strcmp(status, "RUNNING") == 0;
    int succeeded = status && strcmp(status, "SUCCEEDED") == 0;
    for (size_t i = 0; i < mk->no; i++) {
        if (mk->o[i].failed || (!running && !succeeded && strcmp(mk->o[i].type, "Succeed") != 0))
            mark_set(mk, mk->o[i].name, MARK_FAILED);
        else if (running)
            mark_set(mk, mk->o[i].name, MARK_CURRENT);
    }
}

/* ---- DOT ------------------------------------------------------------------------ */

/* A DOT double-quoted string: quotes and backslashes escaped, newlines as \n. */
static void put_q(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else if (*s != '\r')
            fputc(*s, f);
    }
    fputc('"', f);
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
    const char *var = cli_str(r, "Variable");
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
                char *v = cJSON_PrintUnformatted(c);
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
    const marks_t *mk;    /* NULL without --execution */
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
    int mark = mark_of(g->mk, s->name);
    if (mark == MARK_NONE) {
        fprintf(f, ", style=\"%s\"", style);
    } else {
        static const char *const fill[] = {"", "#cfe2ff", "#fff3b0", "#f8c4c4"};
        fprintf(f, ", style=\"%s,filled\", fillcolor=\"%s\"", style, fill[mark]);
        if (mark == MARK_FAILED)
            color = "#c62828";
        if (mark != MARK_VISITED)
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
                edge(g, id, to, mark_of(g->mk, s->name) && mark_of(g->mk, start), lab, "style=\"bold\"");
                edges_machine(g, b, bp, join);
            }
            out_from = join;
        }
        if (s->next) {
            node_id(to, prefix, s->next);
            edge(g, out_from, to, taken(g->mk, s->name, s->next), NULL, NULL);
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
                edge(g, id, to, taken(g->mk, s->name, next), lab, NULL);
            }
            if (s->default_next) {
                node_id(to, prefix, s->default_next);
                edge(g, id, to, taken(g->mk, s->name, s->default_next), "Default", NULL);
            }
        }
        for (size_t k = 0; k < s->n_catch; k++) {
            const asl_catcher_t *c = &s->catch_[k];
            sb_t lab = {0};
            sb_add(&lab, "catch ");
            for (size_t e = 0; e < c->n_errors; e++)
                sb_add(&lab, "%s%s", e ? ", " : "", c->errors[e]);
            node_id(to, prefix, c->next);
            int took = taken(g->mk, s->name, c->next);
            edge(g, id, to, took, lab.p,
                 took ? "style=\"dashed\"" : "style=\"dashed\", color=\"#c62828\", fontcolor=\"#c62828\"");
            free(lab.p);
        }
    }
}

static void print_dot(FILE *f, const char *name, const asl_machine_t *m, const marks_t *mk,
                      const char *exec_id, const char *status)
{
    gctx_t g = {f, mk};
    fprintf(f, "digraph ");
    put_q(f, name);
    fprintf(f, " {\n"
               "  graph [fontname=\"Helvetica\", labelloc=\"t\", label=");
    char title[512];
    if (exec_id)
        snprintf(title, sizeof title, "%s: execution %s (%s)", name, exec_id, status ? status : "?");
    else
        snprintf(title, sizeof title, "%s", name);
    put_q(f, title);
    fprintf(f, "];\n"
               "  node [fontname=\"Helvetica\", fontsize=11];\n"
               "  edge [fontname=\"Helvetica\", fontsize=9];\n"
               "  \"#start\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.2];\n"
               "  \"#end\" [shape=doublecircle, style=filled, fillcolor=black, label=\"\", width=0.12];\n");
    declare_machine(&g, m, "", 2);
    const char *start = asl_machine_state_name(m, asl_machine_start_index(m));
    edge(&g, "#start", start, mark_of(mk, start) != MARK_NONE, NULL, NULL);
    edges_machine(&g, m, "", "#end");
    fprintf(f, "}\n");
}

/* ---- the command ---------------------------------------------------------------- */

static int fetch(cli_t *cli, const char *path, const char *hint, cJSON **out)
{
    cli_http_resp_t r;
    int rc = cli_call(cli, "GET", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r, hint);
    if (rc)
        return rc;
    *out = cli_parse_body(&r);
    cli_http_resp_free(&r);
    return *out ? 0 : CLI_FAIL;
}

int cmd_graph(cli_t *cli, int argc, char **argv)
{
    const char *exec_id = NULL;
    const cli_opt_t opts[] = {{"--execution", CLI_OPT_VALUE, &exec_id, NULL}};
    char *pos[1];
    size_t np;
    int rc = cli_parse(cli, &GRAPH, argc, argv, opts, 1, pos, 1, 1, &np);
    if (rc >= 0)
        return rc;
    char path[1024] = "/state-machines/";
    if (cli_url_escape(path, sizeof path, pos[0]) < 0)
        return cli_usage_error(&GRAPH, "the machine name is too long");
    if (cli->json) {
        cli_http_resp_t r;
        rc = cli_call(cli, "GET", path, NULL, 0, NULL, CLI_TIMEOUT_S, &r,
                      "`curl $SAGAD_URL/state-machines` lists the machines");
        if (rc)
            return rc;
        cli_print_raw(&r);
        cli_http_resp_free(&r);
        return cli_finish(CLI_OK);
    }
    cJSON *mj = NULL, *desc = NULL, *hist = NULL;
    asl_machine_t *m = NULL;
    marks_t mk = {0};
    rc = fetch(cli, path, "`curl $SAGAD_URL/state-machines` lists the machines", &mj);
    if (rc)
        goto out;
    const char *status = NULL;
    if (exec_id) {
        char ep[1024] = "/executions/";
        if (cli_url_escape(ep, sizeof ep - 16, exec_id) < 0) {
            rc = cli_usage_error(&GRAPH, "the execution id is too long");
            goto out;
        }
        if ((rc = fetch(cli, ep, "`sagactl list` shows the executions there are", &desc)))
            goto out;
        const char *em = cli_str(desc, "stateMachine");
        if (!em || strcmp(em, pos[0]) != 0) {
            rc = cli_usage_error(&GRAPH, "execution %s belongs to state machine '%s', not '%s'",
                                 exec_id, em ? em : "?", pos[0]);
            goto out;
        }
        strcat(ep, "/history");
        if ((rc = fetch(cli, ep, NULL, &hist)))
            goto out;
        status = cli_str(desc, "status");
        const cJSON *ev = cJSON_GetObjectItemCaseSensitive(desc, "stateMachineVersion");
        const cJSON *mv = cJSON_GetObjectItemCaseSensitive(mj, "version");
        if (cJSON_IsNumber(ev) && cJSON_IsNumber(mv) && ev->valueint != mv->valueint)
            fprintf(stderr, "sagactl: note: the execution ran version %d of %s; this is version %d\n",
                    ev->valueint, pos[0], mv->valueint);
    }
    asl_problems_t probs;
    asl_problems_init(&probs);
    if (asl_machine_compile(cJSON_GetObjectItemCaseSensitive(mj, "definition"), &m, &probs) != 0) {
        const asl_problem_t *p = probs.count ? &probs.items[0] : NULL;
        cli_error("the daemon's definition of %s does not compile here (%s%s%s); is sagactl "
                  "older than sagad? `sagactl validate` shows every problem",
                  pos[0], p && p->state ? p->state : "", p && p->state ? ": " : "",
                  p ? p->message : "no details");
        asl_problems_free(&probs);
        rc = CLI_FAIL;
        goto out;
    }
    asl_problems_free(&probs);
    if (hist)
        marks_from_history(&mk, m, cJSON_GetObjectItemCaseSensitive(hist, "events"), status);
    print_dot(stdout, pos[0], m, hist ? &mk : NULL, exec_id, status);
    rc = cli_finish(CLI_OK);
out:
    marks_free(&mk);
    asl_machine_free(m);
    cJSON_Delete(mj);
    cJSON_Delete(desc);
    cJSON_Delete(hist);
    return rc;
}
