/* Parsing the filter expressions of JSONPath brackets, [?(...)]: operands,
 * comparisons, !, && and ||, with bounded nesting. */
#include "path_internal.h"

#include <stdlib.h>
#include <string.h>

static bool parse_operand(parser_t *ps, operand_t *o)
{
    asl_path_skip_ws(ps);
    char c = asl_path_peek(ps);
    if (c == '@' || c == '$') {
        asl_path_t *sub = calloc(1, sizeof *sub);
        if (!sub) {
            asl_path_fail(ps, "out of memory");
            return false;
        }
        o->path = sub;
        if (asl_path_parse_path_into(ps, sub) < 0)
            return false;
        if (!sub->definite) {
            asl_path_fail(ps, "paths inside filters must be definite");
            return false;
        }
        return true;
    }
    if (c == '\'' || c == '"') {
        char *str = asl_path_parse_quoted(ps);
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
            asl_path_fail(ps, "bad number in filter");
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
    asl_path_fail(ps, "unexpected '%c' in filter at position %zu", c ? c : ' ', ps->pos);
    return false;
}

static fexpr_t *new_fx(parser_t *ps, fx_kind_t kind)
{
    fexpr_t *f = calloc(1, sizeof *f);
    if (!f)
        asl_path_fail(ps, "out of memory");
    else
        f->kind = kind;
    return f;
}

static fexpr_t *parse_unary(parser_t *ps)
{
    asl_path_skip_ws(ps);
    if (ps->depth >= MAX_FILTER_DEPTH) {
        asl_path_fail(ps, "filter expression nested too deeply");
        return NULL;
    }
    if (asl_path_peek(ps) == '!' && ps->s[ps->pos + 1] != '=') {
        ps->pos++;
        fexpr_t *f = new_fx(ps, FX_NOT);
        if (!f)
            return NULL;
        ps->depth++;
        f->a = parse_unary(ps);
        ps->depth--;
        if (!f->a) {
            asl_path_fexpr_free(f);
            return NULL;
        }
        return f;
    }
    if (asl_path_peek(ps) == '(') {
        ps->pos++;
        ps->depth++;
        fexpr_t *f = asl_path_parse_or(ps);
        ps->depth--;
        if (!f)
            return NULL;
        asl_path_skip_ws(ps);
        if (asl_path_peek(ps) != ')') {
            asl_path_fexpr_free(f);
            asl_path_fail(ps, "missing ')' in filter");
            return NULL;
        }
        ps->pos++;
        return f;
    }
    fexpr_t *f = new_fx(ps, FX_EXISTS);
    if (!f)
        return NULL;
    if (!parse_operand(ps, &f->l)) {
        asl_path_fexpr_free(f);
        return NULL;
    }
    asl_path_skip_ws(ps);
    static const struct { const char *t; fx_op_t op; } ops[] = {
        {"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"<", OP_LT}, {">", OP_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].t);
        if (strncmp(ps->s + ps->pos, ops[i].t, n) == 0) {
            ps->pos += n;
            f->kind = FX_CMP;
            f->op = ops[i].op;
            if (!parse_operand(ps, &f->r)) {
                asl_path_fexpr_free(f);
                return NULL;
            }
            return f;
        }
    }
    if (!f->l.path) {
        asl_path_fexpr_free(f);
        asl_path_fail(ps, "a filter term must be a path or a comparison");
        return NULL;
    }
    return f;
}

static fexpr_t *parse_and(parser_t *ps)
{
    fexpr_t *l = parse_unary(ps);
    while (l) {
        asl_path_skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "&&", 2) != 0)
            break;
        ps->pos += 2;
        fexpr_t *f = new_fx(ps, FX_AND);
        if (!f) {
            asl_path_fexpr_free(l);
            return NULL;
        }
        f->a = l;
        f->b = parse_unary(ps);
        if (!f->b) {
            asl_path_fexpr_free(f);
            return NULL;
        }
        l = f;
    }
    return l;
}

fexpr_t *asl_path_parse_or(parser_t *ps)
{
    fexpr_t *l = parse_and(ps);
    while (l) {
        asl_path_skip_ws(ps);
        if (strncmp(ps->s + ps->pos, "||", 2) != 0)
            break;
        ps->pos += 2;
        fexpr_t *f = new_fx(ps, FX_OR);
        if (!f) {
            asl_path_fexpr_free(l);
            return NULL;
        }
        f->a = l;
        f->b = parse_and(ps);
        if (!f->b) {
            asl_path_fexpr_free(f);
            return NULL;
        }
        l = f;
    }
    return l;
}

/* The inside of [...] after '['; consumes the closing ']'. */
