/* Compiled JSONPath with the semantics Step Functions inherits from Jayway
 * JsonPath: definite paths select one node or fail, indefinite ones collect
 * an array of matches. Also the ResultPath writer. See asl/path.h. */
#include "asl/path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asl/json.h"

typedef enum {
    SEG_FIELD,
    SEG_INDEX,
    SEG_WILD,
    SEG_SLICE,
    SEG_UNION,
    SEG_FILTER
} seg_kind_t;

/* Bound on nested filters, parentheses and '!' (keeps recursion shallow). */
#define MAX_FILTER_DEPTH 32

typedef enum { FX_OR, FX_AND, FX_NOT, FX_EXISTS, FX_CMP } fx_kind_t;
typedef enum { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } fx_op_t;

typedef struct operand_s {
    asl_path_t *path;  /* "@..." (relative) or "$..." path, or NULL for a literal */
    cJSON *lit;
} operand_t;

typedef struct fexpr_s fexpr_t;
struct fexpr_s {
    fx_kind_t kind;
    fx_op_t op;
    fexpr_t *a, *b;
    operand_t l, r;
};

typedef struct seg_s {
    seg_kind_t kind;
    bool deep;
    char *name;
    long index;
    long *idx;
    size_t nidx;
    bool has_from, has_to;
    long from, to;
    fexpr_t *filter;
} seg_t;

struct asl_path_s {
    char *text;
    bool context;   /* "$$" */
    bool relative;  /* "@" (only inside filters) */
    bool definite;
    size_t first_indef;  /* index of the first indefinite segment, nseg if none */
    seg_t *segs;
    size_t nseg;
};

/* ---- compiling ----------------------------------------------------------- */

typedef struct parser_s {
    const char *s;
    size_t pos;
    bool in_filter;  /* names stop at operators and blanks */
    int depth;       /* filter nesting, bounded to keep recursion shallow */
    char *msg;
    size_t msglen;
    bool failed;
} parser_t;

static void fail(parser_t *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    if (!ps->msg || !ps->msglen)
        return;
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    snprintf(ps->msg, ps->msglen, "invalid JSONPath '%.60s': %s", ps->s, detail);
}

static void fexpr_free(fexpr_t *f);

static void seg_clear(seg_t *g)
{
    free(g->name);
    free(g->idx);
    fexpr_free(g->filter);
}

void asl_path_free(asl_path_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nseg; i++)
        seg_clear(&p->segs[i]);
    free(p->segs);
    free(p->text);
    free(p);
}

static void operand_clear(operand_t *o)
{
    asl_path_free(o->path);
    cJSON_Delete(o->lit);
}

static void fexpr_free(fexpr_t *f)
{
    if (!f)
        return;
    fexpr_free(f->a);
    fexpr_free(f->b);
    operand_clear(&f->l);
    operand_clear(&f->r);
    free(f);
}

static char peek(const parser_t *ps)
{
    return ps->s[ps->pos];
}

static void skip_ws(parser_t *ps)
{
    while (peek(ps) == ' ' || peek(ps) == '\t' || peek(ps) == '\n' || peek(ps) == '\r')
        ps->pos++;
}

static seg_t *add_seg(asl_path_t *p, parser_t *ps, seg_kind_t kind, bool deep)
{
    seg_t *segs = realloc(p->segs, (p->nseg + 1) * sizeof *segs);
    if (!segs) {
        fail(ps, "out of memory");
        return NULL;
    }
    p->segs = segs;
    seg_t *g = &segs[p->nseg++];
    memset(g, 0, sizeof *g);
    g->kind = kind;
    g->deep = deep;
    return g;
}

static bool name_char(const parser_t *ps, char c)
{
    if (c == '\0' || c == '.' || c == '[')
        return false;
    if (ps->in_filter)
        return !strchr(" \t\r\n()=!<>&|,]", c);
    return true;
}

/* Dot-notation name: up to '.', '[' or the end (blanks and '(' rejected as
 * Jayway does). */
static char *parse_dot_name(parser_t *ps)
{
    size_t start = ps->pos;
    while (name_char(ps, peek(ps))) {
        char c = peek(ps);
        if (c == ' ' || c == '\t') {
            fail(ps, "blank in a field name; use bracket notation ['my field']");
            return NULL;
        }
        if (c == '(') {
            fail(ps, "path functions are not supported");
            return NULL;
        }
        ps->pos++;
    }
    if (ps->pos == start) {
        fail(ps, "missing field name at position %zu", start);
        return NULL;
    }
    char *name = strndup(ps->s + start, ps->pos - start);
    if (!name)
        fail(ps, "out of memory");
    return name;
}

/* 'quoted' or "quoted" with backslash escapes; returns a new string. */
static char *parse_quoted(parser_t *ps)
{
    char q = peek(ps);
    ps->pos++;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    if (!out) {
        fail(ps, "out of memory");
        return NULL;
    }
    for (;;) {
        char c = peek(ps);
        if (c == '\0') {
            free(out);
            fail(ps, "unterminated string");
            return NULL;
        }
        ps->pos++;
        if (c == q)
            break;
        if (c == '\\') {
            char e = peek(ps);
            if (e == '\0')
                continue;
            ps->pos++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            default: c = e;
            }
        }
        if (n + 2 > cap) {
            cap *= 2;
            char *o = realloc(out, cap);
            if (!o) {
                free(out);
                fail(ps, "out of memory");
                return NULL;
            }
            out = o;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return out;
}

static bool parse_long(parser_t *ps, long *out)
{
    const char *start = ps->s + ps->pos;
    char *end;
    if (!(*start == '-' || (*start >= '0' && *start <= '9')))
        return false;
    errno = 0;
    long v = strtol(start, &end, 10);
    if (end == start || errno)
        return false;
    ps->pos += (size_t)(end - start);
    *out = v;
    return true;
}

static int parse_path_into(parser_t *ps, asl_path_t *p);
static fexpr_t *parse_or(parser_t *ps);

static bool parse_operand(parser_t *ps, operand_t *o)
{
    skip_ws(ps);
    char c = peek(ps);
    if (c == '@' || c == '$') {
        asl_path_t *sub = calloc(1, sizeof *sub);
        if (!sub) {
            fail(ps, "out of memory");
            return false;
        }
        o->path = sub;
        if (parse_path_into(ps, sub) < 0)
            return false;
        if (!sub->definite) {
            fail(ps, "paths inside filters must be definite");
            return false;
        }
        return true;
    }
    if (c == '\'' || c == '"') {
        char *str = parse_quoted(ps);
        if (!str)
            return false;
        o->lit = cJSON_CreateString(str);
        free(str);
        return o->lit != NULL;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        const char *start = ps->s + ps->pos;
        char *end;
        double d = strtod(start, &end);
        if (end == start) {
            fail(ps, "bad number in filter");
            return false;
        }
        ps->pos += (size_t)(end - start);
        o->lit = cJSON_CreateNumber(d);
        return o->lit != NULL;
    }
    static const struct { const char *w; int t; } words[] = {
        {"true", cJSON_True}, {"false", cJSON_False}, {"null", cJSON_NULL}};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(words[i].w);
        if (strncmp(ps->s + ps->pos, words[i].w, n) == 0) {
            ps->pos += n;
            o->lit = words[i].t == cJSON_True    ? cJSON_CreateTrue()
                     : words[i].t == cJSON_False ? cJSON_CreateFalse()
                                                 : cJSON_CreateNull();
            return o->lit != NULL;
        }
    }
    fail(ps, "unexpected '%c' in filter at position %zu", c ? c : ' ', ps->pos);
    return false;
}

static fexpr_t *new_fx(parser_t *ps, fx_kind_t kind)
{
    fexpr_t *f = calloc(1, sizeof *f);
    if (!f)
        fail(ps, "out of memory");
    else
        f->kind = kind;
    return f;
}

static fexpr_t *parse_unary(parser_t *ps)
{
    skip_ws(ps);
    if (ps->depth >= MAX_FILTER_DEPTH) {
        fail(ps, "filter expression nested too deeply");
        return NULL;
    }
    if (peek(ps) == '!' && ps->s[ps->pos + 1] != '=') {
        ps->pos++;
        fexpr_t *f = new_fx(ps, FX_NOT);
        if (!f)
            return NULL;
        ps->depth++;
        f->a = parse_unary(ps);
        ps->depth--;
        if (!f->a) {
            fexpr_free(f);
            return NULL;
        }
        return f;
    }
    if (peek(ps) == '(') {
        ps->pos++;
        ps->depth++;
        fexpr_t *f = parse_or(ps);
        ps->depth--;
        if (!f)
            return NULL;
        skip_ws(ps);
        if (peek(ps) != ')') {
            fexpr_free(f);
            fail(ps, "missing ')' in filter");
            return NULL;
        }
        ps->pos++;
        return f;
    }
    fexpr_t *f = new_fx(ps, FX_EXISTS);
    if (!f)
        return NULL;
    if (!parse_operand(ps, &f->l)) {
        fexpr_free(f);
        return NULL;
    }
    skip_ws(ps);
    static const struct { const char *t; fx_op_t op; } ops[] = {
        {"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"<", OP_LT}, {">", OP_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].t);
        if (strncmp(ps->s + ps->pos, ops[i].t, n) == 0) {
            ps->pos += n;
            f->kind = FX_CMP;
            f->op = ops[i].op;
            if (!parse_operand(ps, &f->r)) {
                fexpr_free(f);
                return NULL;
            }
            return f;
        }
    }
    if (!f->l.path) {
        fexpr_free(f);
        fail(ps, "a filter term must be a path or a comparison");
        return NULL;
    }
    return f;
}

static fexpr_t *parse_and(parser_t *ps)
{
    fexpr_t *l = parse_unary(ps);
    while (l) {
        skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "&&", 2) != 0)
            break;
        ps->pos += 2;
        fexpr_t *f = new_fx(ps, FX_AND);
        if (!f) {
            fexpr_free(l);
            return NULL;
        }
        f->a = l;
        f->b = parse_unary(ps);
        if (!f->b) {
            fexpr_free(f);
            return NULL;
        }
        l = f;
    }
    return l;
}

static fexpr_t *parse_or(parser_t *ps)
{
    fexpr_t *l = parse_and(ps);
    while (l) {
        skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "||", 2) != 0)
            break;
        ps->pos += 2;
        fexpr_t *f = new_fx(ps, FX_OR);
        if (!f) {
            fexpr_free(l);
            return NULL;
        }
        f->a = l;
        f->b = parse_and(ps);
        if (!f->b) {
            fexpr_free(f);
            return NULL;
        }
        l = f;
    }
    return l;
}

/* The inside of [...] after '['; consumes the closing ']'. */
static int parse_bracket(parser_t *ps, asl_path_t *p, bool deep)
{
    skip_ws(ps);
    char c = peek(ps);
    seg_t *g;
    if (c == '\'' || c == '"') {
        char *name = parse_quoted(ps);
        if (!name)
            return -1;
        skip_ws(ps);
        if (peek(ps) == ',') {
            free(name);
            fail(ps, "several field names in one bracket are not supported");
            return -1;
        }
        g = add_seg(p, ps, SEG_FIELD, deep);
        if (!g) {
            free(name);
            return -1;
        }
        g->name = name;
    } else if (c == '*') {
        ps->pos++;
        if (!add_seg(p, ps, SEG_WILD, deep))
            return -1;
    } else if (c == '?') {
        ps->pos++;
        skip_ws(ps);
        if (peek(ps) != '(') {
            fail(ps, "expected '(' after '?'");
            return -1;
        }
        ps->pos++;
        bool was = ps->in_filter;
        ps->in_filter = true;
        ps->depth++;
        fexpr_t *f = ps->depth > MAX_FILTER_DEPTH ? NULL : parse_or(ps);
        if (ps->depth > MAX_FILTER_DEPTH)
            fail(ps, "filter expression nested too deeply");
        ps->depth--;
        ps->in_filter = was;
        if (!f)
            return -1;
        skip_ws(ps);
        if (peek(ps) != ')') {
            fexpr_free(f);
            fail(ps, "missing ')' closing the filter");
            return -1;
        }
        ps->pos++;
        g = add_seg(p, ps, SEG_FILTER, deep);
        if (!g) {
            fexpr_free(f);
            return -1;
        }
        g->filter = f;
    } else if (c == ':' || c == '-' || (c >= '0' && c <= '9')) {
        long a = 0, b = 0;
        bool has_a = false, has_b = false;
        if (c != ':') {
            if (!parse_long(ps, &a)) {
                fail(ps, "bad array index");
                return -1;
            }
            has_a = true;
        }
        skip_ws(ps);
        if (peek(ps) == ':') {
            ps->pos++;
            skip_ws(ps);
            if (peek(ps) != ']') {
                if (!parse_long(ps, &b)) {
                    fail(ps, "bad slice end");
                    return -1;
                }
                has_b = true;
                skip_ws(ps);
                if (peek(ps) == ':') {
                    fail(ps, "slice steps are not supported");
                    return -1;
                }
            }
            g = add_seg(p, ps, SEG_SLICE, deep);
            if (!g)
                return -1;
            g->has_from = has_a;
            g->from = a;
            g->has_to = has_b;
            g->to = b;
        } else if (peek(ps) == ',') {
            g = add_seg(p, ps, SEG_UNION, deep);
            if (!g)
                return -1;
            g->idx = malloc(sizeof(long));
            if (!g->idx) {
                fail(ps, "out of memory");
                return -1;
            }
            g->idx[g->nidx++] = a;
            while (peek(ps) == ',') {
                ps->pos++;
                skip_ws(ps);
                long v;
                if (!parse_long(ps, &v)) {
                    fail(ps, "bad array index in a list");
                    return -1;
                }
                long *idx = realloc(g->idx, (g->nidx + 1) * sizeof *idx);
                if (!idx) {
                    fail(ps, "out of memory");
                    return -1;
                }
                g->idx = idx;
                g->idx[g->nidx++] = v;
                skip_ws(ps);
            }
        } else {
            g = add_seg(p, ps, SEG_INDEX, deep);
            if (!g)
                return -1;
            g->index = a;
        }
    } else {
        fail(ps, "unexpected '%c' after '['", c ? c : ' ');
        return -1;
    }
    skip_ws(ps);
    if (peek(ps) != ']') {
        fail(ps, "missing ']'");
        return -1;
    }
    ps->pos++;
    return 0;
}

static bool seg_definite(const seg_t *g)
{
    return !g->deep && (g->kind == SEG_FIELD || g->kind == SEG_INDEX);
}

/* Parses a whole path starting at the root character into p. */
static int parse_path_into(parser_t *ps, asl_path_t *p)
{
    size_t start = ps->pos;
    char root = peek(ps);
    if (root == '@' && ps->in_filter) {
        p->relative = true;
        ps->pos++;
    } else if (root == '$') {
        ps->pos++;
        if (peek(ps) == '$') {
            p->context = true;
            ps->pos++;
        }
    } else {
        fail(ps, "a path must start with '$'");
        return -1;
    }
    for (;;) {
        char c = peek(ps);
        if (c == '.') {
            ps->pos++;
            bool deep = false;
            if (peek(ps) == '.') {
                deep = true;
                ps->pos++;
                if (peek(ps) == '[') {
                    ps->pos++;
                    if (parse_bracket(ps, p, true) < 0)
                        return -1;
                    continue;
                }
            }
            if (peek(ps) == '*') {
                ps->pos++;
                if (!add_seg(p, ps, SEG_WILD, deep))
                    return -1;
                continue;
            }
            char *name = parse_dot_name(ps);
            if (!name)
                return -1;
            seg_t *g = add_seg(p, ps, SEG_FIELD, deep);
            if (!g) {
                free(name);
                return -1;
            }
            g->name = name;
        } else if (c == '[') {
            ps->pos++;
            if (parse_bracket(ps, p, false) < 0)
                return -1;
        } else {
            break;
        }
    }
    p->text = strndup(ps->s + start, ps->pos - start);
    if (!p->text) {
        fail(ps, "out of memory");
        return -1;
    }
    p->first_indef = p->nseg;
    for (size_t i = 0; i < p->nseg; i++)
        if (!seg_definite(&p->segs[i])) {
            p->first_indef = i;
            break;
        }
    p->definite = p->first_indef == p->nseg;
    return 0;
}

int asl_path_compile(const char *text, unsigned flags, asl_path_t **out,
                     char *msg, size_t msglen)
{
    *out = NULL;
    if (msg && msglen)
        msg[0] = '\0';
    parser_t ps = {.s = text ? text : "", .msg = msg, .msglen = msglen};
    asl_path_t *p = calloc(1, sizeof *p);
    if (!p) {
        fail(&ps, "out of memory");
        return -1;
    }
    if (parse_path_into(&ps, p) == 0 && peek(&ps) != '\0')
        fail(&ps, "unexpected '%c' at position %zu", peek(&ps), ps.pos);
    if (!ps.failed && (flags & ASL_PATH_NO_CONTEXT) && p->context)
        fail(&ps, "the context object ($$) cannot be used here");
    if (!ps.failed && (flags & ASL_PATH_REFERENCE) && !p->definite)
        fail(&ps, "a reference path must select a single node "
                  "(no wildcards, '..', slices, lists or filters)");
    if (ps.failed) {
        asl_path_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

const char *asl_path_text(const asl_path_t *p)
{
    return p->text;
}

bool asl_path_is_definite(const asl_path_t *p)
{
    return p->definite;
}

bool asl_path_is_context(const asl_path_t *p)
{
    return p->context;
}

bool asl_path_is_root(const asl_path_t *p)
{
    return p->nseg == 0;
}

/* ---- evaluating ---------------------------------------------------------- */

static const cJSON empty_object = {.type = cJSON_Object};

static const cJSON *root_of(const asl_path_t *p, const cJSON *input, const cJSON *context)
{
    if (p->context)
        return context ? context : &empty_object;
    return input;
}

static const cJSON *array_at(const cJSON *arr, long i)
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
            node = cJSON_IsArray(node) ? array_at(node, g->index) : NULL;
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
            node = cJSON_IsArray(node) ? (cJSON *)array_at(node, g->index) : NULL;
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
        const cJSON *c = array_at(node, g->index);
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
            const cJSON *c = array_at(node, g->idx[k]);
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

/* ---- writing (ResultPath) ------------------------------------------------ */

static int set_fail(const asl_path_t *p, const cJSON *doc, cJSON *value, asl_error_t *err)
{
    cJSON_Delete(value);
    char *text = doc ? asl_json_print(doc) : NULL;
    int rc = asl_error_set(err, ASL_E_RESULT_PATH, "Unable to apply ReferencePath %s to input %.1000s",
                           p->text, text ? text : "null");
    free(text);
    return rc;
}

bool asl_path_can_set(const asl_path_t *p, const cJSON *doc)
{
    if (p->context || !p->definite)
        return false;
    const cJSON *node = doc;
    for (size_t i = 0; i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        bool last = i + 1 == p->nseg;
        if (g->kind == SEG_FIELD) {
            if (!cJSON_IsObject(node))
                return false;
            if (last)
                return true;
            node = cJSON_GetObjectItemCaseSensitive(node, g->name);
            if (!node) {
                /* asl_path_set creates {} here: only fields can follow */
                for (size_t j = i + 1; j < p->nseg; j++)
                    if (p->segs[j].kind != SEG_FIELD)
                        return false;
                return true;
            }
        } else {
            node = cJSON_IsArray(node) ? array_at(node, g->index) : NULL;
            if (!node)
                return false;
        }
    }
    return true;
}

int asl_path_set(const asl_path_t *p, cJSON **doc, cJSON *value, asl_error_t *err)
{
    if (!value)
        return asl_error_set(err, ASL_E_RESULT_PATH, "no value to write at %s", p->text);
    if (p->context || !p->definite)
        return set_fail(p, *doc, value, err);
    if (p->nseg == 0) {
        cJSON_Delete(*doc);
        *doc = value;
        return 0;
    }
    cJSON *node = *doc;
    for (size_t i = 0; i < p->nseg; i++) {
        const seg_t *g = &p->segs[i];
        bool last = i + 1 == p->nseg;
        if (g->kind == SEG_FIELD) {
            if (!cJSON_IsObject(node))
                return set_fail(p, *doc, value, err);
            cJSON *c = cJSON_GetObjectItemCaseSensitive(node, g->name);
            if (last) {
                if (c)
                    cJSON_ReplaceItemInObjectCaseSensitive(node, g->name, value);
                else
                    cJSON_AddItemToObject(node, g->name, value);
                return 0;
            }
            if (!c) {
                c = cJSON_CreateObject();
                if (!c)
                    return set_fail(p, *doc, value, err);
                cJSON_AddItemToObject(node, g->name, c);
            }
            node = c;
        } else {
            cJSON *c = cJSON_IsArray(node) ? (cJSON *)array_at(node, g->index) : NULL;
            if (!c)
                return set_fail(p, *doc, value, err);
            if (last) {
                cJSON_ReplaceItemViaPointer(node, c, value);
                return 0;
            }
            node = c;
        }
    }
    return 0;
}
