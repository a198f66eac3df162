/* Route table for the HTTP server: patterns split into literal, {param} and
 * trailing {rest*} segments, matched against a percent-decoded path; plus
 * query parsing. A handful of routes, so a linear scan beats anything cleverer. */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

/* In precedence order: at the first position where two matching routes
 * differ, the lower kind wins. */
typedef enum segment_kind_e {
    SEGMENT_LITERAL = 0,
    SEGMENT_PARAM,    /* {name}: one non-empty segment */
    SEGMENT_REST      /* {name*}: the last pattern segment, takes all the rest */
} segment_kind_t;

typedef struct segment_s {
    char *text;      /* literal text, or the param name */
    segment_kind_t kind;
} segment_t;

struct http_route_s {
    char *method;
    char *pattern;
    segment_t *segs;
    int nsegs;
    http_handler_fn fn;
    void *ud;
};

struct http_router_s {
    http_route_t *routes;
    int n, cap;
};

http_router_t *http_router_new(void)
{
    return calloc(1, sizeof(http_router_t));
}

static void route_clear(http_route_t *rt)
{
    for (int i = 0; i < rt->nsegs; i++)
        free(rt->segs[i].text);
    free(rt->segs);
    free(rt->method);
    free(rt->pattern);
}

void http_router_free(http_router_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        route_clear(&r->routes[i]);
    free(r->routes);
    free(r);
}

static int valid_method(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!(*m >= 'A' && *m <= 'Z') && *m != '-' && *m != '_')
            return 0;
    return 1;
}

static int valid_param_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Splits `pattern` into rt->segs. Returns 0 or -1 when malformed. */
static int parse_pattern(http_route_t *rt, const char *pattern)
{
    if (pattern[0] != '/')
        return -1;
    int nslash = 0;
    for (const char *p = pattern; *p; p++)
        nslash += *p == '/';
    if (nslash > HTTP_ROUTER_MAX_SEGMENTS)
        return -1;
    rt->segs = calloc((size_t)nslash, sizeof *rt->segs);
    if (!rt->segs)
        return -1;
    if (strcmp(pattern, "/") == 0)
        return 0;
    int nparams = 0;
    const char *p = pattern + 1;
    for (;;) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return -1;
        segment_t *sg = &rt->segs[rt->nsegs++];
        if (p[0] == '{') {
            int rest = len >= 3 && p[len - 2] == '*';
            size_t nl = len - 2 - (size_t)rest;
            if (p[len - 1] != '}' || !valid_param_name(p + 1, nl))
                return -1;
            if (rest && end)   /* a catch-all only ends a pattern */
                return -1;
            if (++nparams > HTTP_ROUTER_MAX_PARAMS)
                return -1;
            sg->kind = rest ? SEGMENT_REST : SEGMENT_PARAM;
            sg->text = strndup(p + 1, nl);
        } else {
            if (memchr(p, '{', len) || memchr(p, '}', len) || memchr(p, '%', len) ||
                memchr(p, '?', len))
                return -1;
            sg->text = strndup(p, len);
        }
        if (!sg->text)
            return -1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int http_router_add(http_router_t *r, const char *method, const char *pattern,
                    http_handler_fn fn, void *ud)
{
    if (!r || !method || !pattern || !fn || !valid_method(method))
        return -1;
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].pattern, pattern) == 0)
            return -1;
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        http_route_t *nr = realloc(r->routes, (size_t)cap * sizeof *nr);
        if (!nr)
            return -1;
        r->routes = nr;
        r->cap = cap;
    }
    http_route_t rt = {.fn = fn, .ud = ud};
    if (parse_pattern(&rt, pattern) < 0 || !(rt.method = strdup(method)) ||
        !(rt.pattern = strdup(pattern))) {
        route_clear(&rt);
        return -1;
    }
    r->routes[r->n++] = rt;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long http_percent_decode(char *dst, const char *src, size_t len, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < len) {
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (char)(hi * 16 + lo);
                if (c == '\0')
                    return -1;
                i += 2;
            }
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        } else if (c == '\0') {
            return -1;
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    return (long)o;
}

/* Decoded path segments, pointing into the caller's scratch, one after the
 * other (each NUL-terminated). Past HTTP_ROUTER_MAX_SEGMENTS the last slot
 * holds the whole undivided rest and `overflow` is set: only a catch-all
 * before that slot can match such a path. */
typedef struct path_segs_s {
    char *s[HTTP_ROUTER_MAX_SEGMENTS];
    int n;
    int overflow;
} path_segs_t;

static int split_path(const char *path, char *scratch, path_segs_t *ps)
{
    ps->n = 0;
    ps->overflow = 0;
    if (path[0] != '/')
        return -1;
    if (path[1] == '\0')
        return 0;
    const char *p = path + 1;
    char *o = scratch;
    for (;;) {
        const char *end = strchr(p, '/');
        if (end && ps->n == HTTP_ROUTER_MAX_SEGMENTS - 1) {
            ps->overflow = 1;
            end = NULL;
        }
        size_t len = end ? (size_t)(end - p) : strlen(p);
        long dl = http_percent_decode(o, p, len, 0);
        if (dl < 0)
            return -1;
        ps->s[ps->n++] = o;
        o += dl + 1;
        if (!end)
            return 0;
        p = end + 1;
    }
}

static int has_rest(const http_route_t *rt)
{
    return rt->nsegs > 0 && rt->segs[rt->nsegs - 1].kind == SEGMENT_REST;
}

/* Whether `rt` matches the segments; a param never matches an empty segment,
 * a catch-all takes one or more segments, empty ones included ("/ui/"). */
static int route_matches(const http_route_t *rt, const path_segs_t *ps)
{
    int fixed = rt->nsegs - has_rest(rt);
    if (has_rest(rt) ? ps->n < rt->nsegs : rt->nsegs != ps->n || ps->overflow)
        return 0;
    for (int i = 0; i < fixed; i++) {
        const segment_t *sg = &rt->segs[i];
        if (ps->overflow && i == ps->n - 1)
            return 0;
        if (sg->kind == SEGMENT_PARAM ? ps->s[i][0] == '\0' : strcmp(sg->text, ps->s[i]) != 0)
            return 0;
    }
    return 1;
}

/* > 0 when `a` is more specific than `b`, both matching one path: at the
 * leftmost position where they differ, a literal beats a param, which beats
 * a catch-all. */
static int more_specific(const http_route_t *a, const http_route_t *b)
{
    int n = a->nsegs < b->nsegs ? a->nsegs : b->nsegs;
    for (int i = 0; i < n; i++)
        if (a->segs[i].kind != b->segs[i].kind)
            return a->segs[i].kind < b->segs[i].kind;
    return 0;
}

static void allow_add(char *allow, size_t allowlen, const char *method)
{
    if (!allow || allowlen == 0)
        return;
    size_t ml = strlen(method), al = strlen(allow);
    /* Skip duplicates: the list is short, a scan is fine. */
    for (const char *p = allow; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == ml && memcmp(p, method, ml) == 0)
            return;
        p = e ? e + 2 : p + l;
    }
    if (al + (al ? 2 : 0) + ml + 1 > allowlen)
        return;
    if (al) {
        memcpy(allow + al, ", ", 2);
        al += 2;
    }
    memcpy(allow + al, method, ml + 1);
}

int http_router_match(const http_router_t *r, const char *method, const char *path,
                      char *scratch, http_route_match_t *match, char *allow, size_t allowlen)
{
    path_segs_t ps;
    memset(match, 0, sizeof *match);
    if (allow && allowlen)
        allow[0] = '\0';
    if (split_path(path, scratch, &ps) < 0)
        return HTTP_ROUTER_NOT_FOUND;
    const http_route_t *best = NULL;
    int any = 0;
    for (int i = 0; i < r->n; i++) {
        const http_route_t *rt = &r->routes[i];
        if (!route_matches(rt, &ps))
            continue;
        any = 1;
        if (strcmp(rt->method, method) != 0) {
            allow_add(allow, allowlen, rt->method);
            continue;
        }
        if (!best || more_specific(rt, best) > 0)
            best = rt;
    }
    if (!best)
        return any ? HTTP_ROUTER_METHOD_NOT_ALLOWED : HTTP_ROUTER_NOT_FOUND;
    match->route = best;
    for (int i = 0; i < best->nsegs; i++) {
        if (best->segs[i].kind == SEGMENT_LITERAL)
            continue;
        /* The rest's segments lie one after the other in scratch: joining
         * them back is turning their NULs into slashes. */
        if (best->segs[i].kind == SEGMENT_REST)
            for (int j = i; j < ps.n - 1; j++)
                ps.s[j][strlen(ps.s[j])] = '/';
        match->names[match->nparams] = best->segs[i].text;
        match->values[match->nparams++] = ps.s[i];
    }
    return HTTP_ROUTER_FOUND;
}

const char *http_route_pattern(const http_route_t *route)
{
    return route->pattern;
}

const char *http_route_method(const http_route_t *route)
{
    return route->method;
}

http_handler_fn http_route_handler(const http_route_t *route, void **ud)
{
    if (ud)
        *ud = route->ud;
    return route->fn;
}

size_t http_query_parse(const char *query, size_t len, char *out)
{
    size_t n = 0;
    const char *p = query, *end = query + len;
    char *o = out;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if (pe > p) {
            const char *eq = memchr(p, '=', (size_t)(pe - p));
            const char *ke = eq ? eq : pe;
            long kl = http_percent_decode(o, p, (size_t)(ke - p), 1);
            if (kl > 0) {
                char *v = o + kl + 1;
                long vl = eq ? http_percent_decode(v, eq + 1, (size_t)(pe - eq - 1), 1) : 0;
                if (!eq)
                    v[0] = '\0';
                if (vl >= 0) {
                    o = v + vl + 1;
                    n++;
                }
            }
        }
        p = amp ? amp + 1 : end;
    }
    return n;
}

const char *http_query_lookup(const char *parsed, size_t npairs, const char *name)
{
    const char *p = parsed;
    for (size_t i = 0; i < npairs; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}
