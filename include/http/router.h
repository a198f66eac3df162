/* The HTTP route table and the pure string work around it: {param} and {rest*} pattern
 * matching, percent-decoding and query-string parsing. No I/O; the server
 * (http/server.c) uses it, and it is public so it can be tested alone. */
#ifndef SAGAD_HTTP_ROUTER_H
#define SAGAD_HTTP_ROUTER_H

#include <stddef.h>

#include "http/handler.h"

#define HTTP_ROUTER_MAX_PARAMS 8     /* {param} segments per pattern */
#define HTTP_ROUTER_MAX_SEGMENTS 32  /* longer paths match only a {rest*} */

enum {
    HTTP_ROUTER_FOUND = 0,
    HTTP_ROUTER_NOT_FOUND = -1,          /* no pattern matches the path */
    HTTP_ROUTER_METHOD_NOT_ALLOWED = -2  /* a pattern matches, not for this method */
};

typedef struct http_router_s http_router_t;
typedef struct http_route_s http_route_t;

typedef struct http_route_match_s {
    const http_route_t *route;
    int nparams;
    const char *names[HTTP_ROUTER_MAX_PARAMS];   /* owned by the route */
    const char *values[HTTP_ROUTER_MAX_PARAMS];  /* decoded, in the caller's scratch */
} http_route_match_t;

/* A new empty table; NULL when out of memory. Free with http_router_free. */
http_router_t *http_router_new(void);
void http_router_free(http_router_t *r);

/* Adds `method` (an upper-case token) on `pattern`: "/" or "/seg/{name}/...",
 * each {name} a whole segment of [A-Za-z0-9_]. The last segment may be a
 * catch-all {name*}: it takes one or more remaining segments, empty ones
 * included, so "/ui/{rest*}" matches "/ui/", "/ui/a" and "/ui/a/b/" (its
 * value: the decoded segments joined by '/'; a decoded %2F looks the same as
 * a separator, and the path depth is then unlimited). Returns 0, or -1 when the
 * pattern or method is malformed, has more than HTTP_ROUTER_MAX_PARAMS
 * params, or the same method and pattern exist already. */
int http_router_add(http_router_t *r, const char *method, const char *pattern,
                    http_handler_fn fn, void *ud);

/* Matches a raw (still percent-encoded) path without query. Literal segments
 * beat {param} segments, which beat a catch-all, leftmost first, so "/a/b"
 * wins over "/a/{x}", which wins over "/a/{x*}".
 * `scratch` receives the decoded segments and must hold strlen(path) + 2
 * bytes; match->values point into it. Returns HTTP_ROUTER_FOUND, or
 * HTTP_ROUTER_METHOD_NOT_ALLOWED with `allow` (if not NULL) filled with the
 * methods of the matching patterns ("GET, PUT"), or HTTP_ROUTER_NOT_FOUND. */
int http_router_match(const http_router_t *r, const char *method, const char *path,
                      char *scratch, http_route_match_t *match, char *allow, size_t allowlen);

const char *http_route_pattern(const http_route_t *route);
const char *http_route_method(const http_route_t *route);
http_handler_fn http_route_handler(const http_route_t *route, void **ud);

/* Decodes %XX escapes (and '+' as space when `plus_is_space`) from src[0..len)
 * into dst, which may equal src; dst gets the result NUL-terminated and needs
 * len + 1 bytes. A '%' not followed by two hex digits stays as is. Returns the
 * decoded length, or -1 when the result would contain a NUL byte (%00). */
long http_percent_decode(char *dst, const char *src, size_t len, int plus_is_space);

/* Parses a query string ("a=1&b=x%20y", no leading '?') into `out`, which
 * needs 2 * len + 2 bytes, as decoded "key\0value\0" pairs; a key without '='
 * has value "". Empty pieces and pairs that decode to a NUL byte are skipped.
 * Returns the number of pairs. */
size_t http_query_parse(const char *query, size_t len, char *out);

/* The value of the first pair named `name` in a http_query_parse result, or NULL. */
const char *http_query_lookup(const char *parsed, size_t npairs, const char *name);

#endif
