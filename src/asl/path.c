/* Compiled JSONPath with the semantics Step Functions inherits from Jayway
 * JsonPath: definite paths select one node or fail, indefinite ones collect
 * an array of matches. This file: compiling a path (its segments and
 * brackets) and the compiled path's properties. See asl/path.h. */
#include "path_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- compiling ----------------------------------------------------------- */

void asl_path_fail(parser_t *ps, const char *fmt, ...)
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


static void seg_clear(seg_t *g)
{
    free(g->name);
    free(g->idx);
    asl_path_fexpr_free(g->filter);
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

void asl_path_fexpr_free(fexpr_t *f)
{
    if (!f)
        return;
    asl_path_fexpr_free(f->a);
    asl_path_fexpr_free(f->b);
    operand_clear(&f->l);
    operand_clear(&f->r);
    free(f);
}

char asl_path_peek(const parser_t *ps)
{
    return ps->s[ps->pos];
}

void asl_path_skip_ws(parser_t *ps)
{
    while (asl_path_peek(ps) == ' ' || asl_path_peek(ps) == '\t' || asl_path_peek(ps) == '\n' ||
           asl_path_peek(ps) == '\r')
        ps->pos++;
}

static seg_t *add_seg(asl_path_t *p, parser_t *ps, seg_kind_t kind, bool deep)
{
    seg_t *segs = realloc(p->segs, (p->nseg + 1) * sizeof *segs);
    if (!segs) {
        asl_path_fail(ps, "out of memory");
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
    while (name_char(ps, asl_path_peek(ps))) {
        char c = asl_path_peek(ps);
        if (c == ' ' || c == '\t') {
            asl_path_fail(ps, "blank in a field name; use bracket notation ['my field']");
            return NULL;
        }
        if (c == '(') {
            asl_path_fail(ps, "path functions are not supported");
            return NULL;
        }
        ps->pos++;
    }
    if (ps->pos == start) {
        asl_path_fail(ps, "missing field name at position %zu", start);
        return NULL;
    }
    char *name = strndup(ps->s + start, ps->pos - start);
    if (!name)
        asl_path_fail(ps, "out of memory");
    return name;
}

/* 'quoted' or "quoted" with backslash escapes; returns a new string. */
char *asl_path_parse_quoted(parser_t *ps)
{
    char q = asl_path_peek(ps);
    ps->pos++;
    size_t cap = 16, n = 0;
    char *out = malloc(cap);
    if (!out) {
        asl_path_fail(ps, "out of memory");
        return NULL;
    }
    for (;;) {
        char c = asl_path_peek(ps);
        if (c == '\0') {
            free(out);
            asl_path_fail(ps, "unterminated string");
            return NULL;
        }
        ps->pos++;
        if (c == q)
            break;
        if (c == '\\') {
            char e = asl_path_peek(ps);
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
                asl_path_fail(ps, "out of memory");
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

static int parse_bracket(parser_t *ps, asl_path_t *p, bool deep)
{
    asl_path_skip_ws(ps);
    char c = asl_path_peek(ps);
    seg_t *g;
    if (c == '\'' || c == '"') {
        char *name = asl_path_parse_quoted(ps);
        if (!name)
            return -1;
        asl_path_skip_ws(ps);
        if (asl_path_peek(ps) == ',') {
            free(name);
            asl_path_fail(ps, "several field names in one bracket are not supported");
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
        asl_path_skip_ws(ps);
        if (asl_path_peek(ps) != '(') {
            asl_path_fail(ps, "expected '(' after '?'");
            return -1;
        }
        ps->pos++;
        bool was = ps->in_filter;
        ps->in_filter = true;
        ps->depth++;
        fexpr_t *f = ps->depth > MAX_FILTER_DEPTH ? NULL : asl_path_parse_or(ps);
        if (ps->depth > MAX_FILTER_DEPTH)
            asl_path_fail(ps, "filter expression nested too deeply");
        ps->depth--;
        ps->in_filter = was;
        if (!f)
            return -1;
        asl_path_skip_ws(ps);
        if (asl_path_peek(ps) != ')') {
            asl_path_fexpr_free(f);
            asl_path_fail(ps, "missing ')' closing the filter");
            return -1;
        }
        ps->pos++;
        g = add_seg(p, ps, SEG_FILTER, deep);
        if (!g) {
            asl_path_fexpr_free(f);
            return -1;
        }
        g->filter = f;
    } else if (c == ':' || c == '-' || (c >= '0' && c <= '9')) {
        long a = 0, b = 0;
        bool has_a = false, has_b = false;
        if (c != ':') {
            if (!parse_long(ps, &a)) {
                asl_path_fail(ps, "bad array index");
                return -1;
            }
            has_a = true;
        }
        asl_path_skip_ws(ps);
        if (asl_path_peek(ps) == ':') {
            ps->pos++;
            asl_path_skip_ws(ps);
            if (asl_path_peek(ps) != ']') {
                if (!parse_long(ps, &b)) {
                    asl_path_fail(ps, "bad slice end");
                    return -1;
                }
                has_b = true;
                asl_path_skip_ws(ps);
                if (asl_path_peek(ps) == ':') {
                    asl_path_fail(ps, "slice steps are not supported");
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
        } else if (asl_path_peek(ps) == ',') {
            g = add_seg(p, ps, SEG_UNION, deep);
            if (!g)
                return -1;
            g->idx = malloc(sizeof(long));
            if (!g->idx) {
                asl_path_fail(ps, "out of memory");
                return -1;
            }
            g->idx[g->nidx++] = a;
            while (asl_path_peek(ps) == ',') {
                ps->pos++;
                asl_path_skip_ws(ps);
                long v;
                if (!parse_long(ps, &v)) {
                    asl_path_fail(ps, "bad array index in a list");
                    return -1;
                }
                long *idx = realloc(g->idx, (g->nidx + 1) * sizeof *idx);
                if (!idx) {
                    asl_path_fail(ps, "out of memory");
                    return -1;
                }
                g->idx = idx;
                g->idx[g->nidx++] = v;
                asl_path_skip_ws(ps);
            }
        } else {
            g = add_seg(p, ps, SEG_INDEX, deep);
            if (!g)
                return -1;
            g->index = a;
        }
    } else {
        asl_path_fail(ps, "unexpected '%c' after '['", c ? c : ' ');
        return -1;
    }
    asl_path_skip_ws(ps);
    if (asl_path_peek(ps) != ']') {
        asl_path_fail(ps, "missing ']'");
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
int asl_path_parse_path_into(parser_t *ps, asl_path_t *p)
{
    size_t start = ps->pos;
    char root = asl_path_peek(ps);
    if (root == '@' && ps->in_filter) {
        p->relative = true;
        ps->pos++;
    } else if (root == '$') {
        ps->pos++;
        if (asl_path_peek(ps) == '$') {
            p->context = true;
            ps->pos++;
        }
    } else {
        asl_path_fail(ps, "a path must start with '$'");
        return -1;
    }
    for (;;) {
        char c = asl_path_peek(ps);
        if (c == '.') {
            ps->pos++;
            bool deep = false;
            if (asl_path_peek(ps) == '.') {
                deep = true;
                ps->pos++;
                if (asl_path_peek(ps) == '[') {
                    ps->pos++;
                    if (parse_bracket(ps, p, true) < 0)
                        return -1;
                    continue;
                }
            }
            if (asl_path_peek(ps) == '*') {
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
        asl_path_fail(ps, "out of memory");
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
        asl_path_fail(&ps, "out of memory");
        return -1;
    }
    if (asl_path_parse_path_into(&ps, p) == 0 && asl_path_peek(&ps) != '\0')
        asl_path_fail(&ps, "unexpected '%c' at position %zu", asl_path_peek(&ps), ps.pos);
    if (!ps.failed && (flags & ASL_PATH_NO_CONTEXT) && p->context)
        asl_path_fail(&ps, "the context object ($$) cannot be used here");
    if (!ps.failed && (flags & ASL_PATH_REFERENCE) && !p->definite)
        asl_path_fail(&ps, "a reference path must select a single node "
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
