/* Evaluating a compiled JSONPath on a document: a definite path selects one
 * node or fails as on AWS, an indefinite one collects every match. */
#include "path_internal.h"
#include "asl/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluating ---------------------------------------------------------- */

static const cJSON empty_object = {.type = cJSON_Object};

static const cJSON *root_of(const asl_path_t *p, const cJSON *input, const cJSON *context)
{
    if (p->context)
        return context ? context : &empty_object;
    return input;
}

const cJSON *asl_path_array_at(const cJSON *arr, long i)
{
    long n = (long)cJSON_GetArraySize(arr);
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return NULL;
    /* cJSON_GetArrayItem walks the list; fine for our sizes. */
    return cJSON_GetArrayItem(arr, (int)i);
}

/* Definite lookup from a given root; NULL when it selects nothing. */
static const cJSON *lookup(const asl_path_t *p, const cJSON *node)
{
    for (size_t i = 0; node && i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        if (g->kind == SEG_FIELD)
            node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, g->name) : NULL;
        else
            node = cJSON_IsArray(node) ? asl_path_array_at(node, g->index) : NULL;
    }
    return node;
}

cJSON *asl_path_take(const asl_path_t *p, cJSON *doc)
{
    if (p->context || !p->definite || p->nseg == 0 || !doc)
        return NULL;
    cJSON *parent = NULL, *node = doc;
    for (size_t i = 0; node && i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        parent = node;
        if (g->kind == SEG_FIELD)
            node = cJSON_IsObject(node) ? cJSON_GetObjectItemCaseSensitive(node, g->name) : NULL;
        else
            node = cJSON_IsArray(node) ? (cJSON *)asl_path_array_at(node, g->index) : NULL;
    }
    return node ? cJSON_DetachItemViaPointer(parent, node) : NULL;
}

int asl_path_get(const asl_path_t *p, const cJSON *input, const cJSON *context,
                 const cJSON **out)
{
    *out = NULL;
    if (!p->definite)
        return -1;
    const cJSON *root = root_of(p, input, context);
    if (!root)
        return 0;
    *out = lookup(p, root);
    return *out ? 1 : 0;
}

typedef struct walk_s {
    const asl_path_t *p;
    const cJSON *input, *context;
    const cJSON **hits;
    size_t n, cap;
    bool hard_miss, oom;
} walk_t;

static void walk(walk_t *w, size_t i, const cJSON *node);

static const cJSON *operand_value(const walk_t *w, const operand_t *o, const cJSON *at)
{
    if (!o->path)
        return o->lit;
    if (o->path->relative)
        return lookup(o->path, at);
    return lookup(o->path, root_of(o->path, w->input, w->context));
}

static bool compare(fx_op_t op, const cJSON *l, const cJSON *r)
{
    if (!l || !r)
        return false;
    if (op == OP_EQ)
        return asl_json_equal(l, r);
    if (op == OP_NE)
        return !asl_json_equal(l, r);
    int c;
    if (cJSON_IsNumber(l) && cJSON_IsNumber(r))
        c = l->valuedouble < r->valuedouble ? -1 : l->valuedouble > r->valuedouble ? 1 : 0;
    else if (cJSON_IsString(l) && cJSON_IsString(r))
        c = strcmp(l->valuestring, r->valuestring);
    else
        return false;
    switch (op) {
    case OP_LT: return c < 0;
    case OP_LE: return c <= 0;
    case OP_GT: return c > 0;
    case OP_GE: return c >= 0;
    default: return false;
    }
}

static bool fx_eval(const walk_t *w, const fexpr_t *f, const cJSON *at)
{
    switch (f->kind) {
    case FX_OR: return fx_eval(w, f->a, at) || fx_eval(w, f->b, at);
    case FX_AND: return fx_eval(w, f->a, at) && fx_eval(w, f->b, at);
    case FX_NOT: return !fx_eval(w, f->a, at);
    case FX_EXISTS: return operand_value(w, &f->l, at) != NULL;
    case FX_CMP:
        return compare(f->op, operand_value(w, &f->l, at), operand_value(w, &f->r, at));
    }
    return false;
}

static void hit(walk_t *w, const cJSON *node)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        const cJSON **h = realloc(w->hits, cap * sizeof *h);
        if (!h) {
            w->oom = true;
            return;
        }
        w->hits = h;
        w->cap = cap;
    }
    w->hits[w->n++] = node;
}

/* Applies segment i (its selector, not its deep scan) to node. */
static void apply(walk_t *w, size_t i, const cJSON *node)
{
    const seg_t *g = &w->p->segs[i];
    bool updef = i <= w->p->first_indef;  /* everything before i is definite */
    bool leaf = i + 1 == w->p->nseg;
    switch (g->kind) {
    case SEG_FIELD: {
        if (!cJSON_IsObject(node)) {
            if (updef && !g->deep)
                w->hard_miss = true;
            return;
        }
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(node, g->name);
        if (!c) {
            if (updef && !leaf && !g->deep)
                w->hard_miss = true;
            return;
        }
        walk(w, i + 1, c);
        return;
    }
    case SEG_INDEX: {
        if (!cJSON_IsArray(node)) {
            if (updef && !g->deep)
                w->hard_miss = true;
            return;
        }
        const cJSON *c = asl_path_array_at(node, g->index);
        if (c)
            walk(w, i + 1, c);
        return;
    }
    case SEG_WILD:
        if (cJSON_IsObject(node) || cJSON_IsArray(node))
            for (const cJSON *c = node->child; c; c = c->next)
                walk(w, i + 1, c);
        return;
    case SEG_SLICE: {
        if (!cJSON_IsArray(node))
            return;
        long n = (long)cJSON_GetArraySize(node);
        long from = g->has_from ? g->from : 0;
        long to = g->has_to ? g->to : n;
        if (from < 0)
            from = from + n < 0 ? 0 : from + n;
        if (to < 0)
            to += n;
        if (to > n)
            to = n;
        long k = 0;
        for (const cJSON *c = node->child; c && k < to; c = c->next, k++)
            if (k >= from)
                walk(w, i + 1, c);
        return;
    }
    case SEG_UNION:
        if (!cJSON_IsArray(node))
            return;
        for (size_t k = 0; k < g->nidx; k++) {
            const cJSON *c = asl_path_array_at(node, g->idx[k]);
            if (c)
                walk(w, i + 1, c);
        }
        return;
    case SEG_FILTER:
        /* A deep scan visits array elements itself; test only objects then,
         * or every element would be matched twice. */
        if (cJSON_IsArray(node) && !g->deep) {
            for (const cJSON *c = node->child; c; c = c->next)
                if (fx_eval(w, g->filter, c))
                    walk(w, i + 1, c);
        } else if (cJSON_IsObject(node) && fx_eval(w, g->filter, node)) {
            walk(w, i + 1, node);
        }
        return;
    }
}

static void scan(walk_t *w, size_t i, const cJSON *node)
{
    apply(w, i, node);
    if (cJSON_IsObject(node) || cJSON_IsArray(node))
        for (const cJSON *c = node->child; c; c = c->next)
            scan(w, i, c);
}

static void walk(walk_t *w, size_t i, const cJSON *node)
{
    if (w->oom)
        return;
    if (i == w->p->nseg) {
        hit(w, node);
        return;
    }
    if (w->p->segs[i].deep)
        scan(w, i, node);
    else
        apply(w, i, node);
}

/* "$['a'][0]" form of a definite path, as Jayway reports it. */
static void normalized(const asl_path_t *p, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "%s", p->context ? "$$" : "$");
    for (size_t i = 0; i < p->nseg && n < len; i++) {
        const seg_t *g = &p->segs[i];
        if (g->kind == SEG_FIELD)
            n += (size_t)snprintf(buf + n, len - n, "['%s']", g->name);
        else if (g->kind == SEG_INDEX)
            n += (size_t)snprintf(buf + n, len - n, "[%ld]", g->index);
        else {
            snprintf(buf, len, "%s", p->text);
            return;
        }
    }
}

static int no_results(const asl_path_t *p, asl_error_t *err)
{
    char norm[256];
    normalized(p, norm, sizeof norm);
    return asl_error_set(err, ASL_E_RUNTIME, "Invalid path '%s' : No results for path: %s",
                         p->text, norm);
}

int asl_path_eval(const asl_path_t *p, const cJSON *input, const cJSON *context,
                  cJSON **out, asl_error_t *err)
{
    *out = NULL;
    const cJSON *root = root_of(p, input, context);
    if (p->definite) {
        const cJSON *v = root ? lookup(p, root) : NULL;
        if (!v)
            return no_results(p, err);
        *out = cJSON_Duplicate(v, 1);
        if (!*out)
            return asl_error_set(err, ASL_E_RUNTIME, "out of memory evaluating '%s'", p->text);
        return 0;
    }
    walk_t w = {.p = p, .input = input, .context = context ? context : &empty_object};
    if (root)
        walk(&w, 0, root);
    else
        w.hard_miss = true;
    if (w.hard_miss) {
        free(w.hits);
        return no_results(p, err);
    }
    cJSON *arr = w.oom ? NULL : cJSON_CreateArray();
    for (size_t i = 0; arr && i < w.n; i++) {
        cJSON *c = cJSON_Duplicate(w.hits[i], 1);
        if (!c) {
            cJSON_Delete(arr);
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, c);
    }
    free(w.hits);
    if (!arr)
        return asl_error_set(err, ASL_E_RUNTIME, "out of memory evaluating '%s'", p->text);
    *out = arr;
    return 0;
}
