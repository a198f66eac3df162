/* HTTP/1.1 server on libuv + llhttp: route table with {param} patterns,
 * keep-alive, pipelining (responses leave in request order), limits, and
 * JSON errors. Handlers may answer at once or later (after a commit, or when
 * an execution ends): a request stays valid until it is answered.
 *
 * Behaviour the server owns (every error is {"error","message"} JSON):
 * - no route for the path: 404 NotFound; path known, method not: 405
 *   MethodNotAllowed with an Allow header;
 * - malformed request, or a version other than HTTP/1.0 and 1.1 (also none:
 *   HTTP/0.9 style): 400 BadRequest; request line + headers above
 *   max_header_bytes: 431 HeadersTooLarge; declared Content-Length or the
 *   chunked total above max_body_bytes: 413 PayloadTooLarge at once, before
 *   the body is read; a request head not complete within header_timeout_ms
 *   of its first byte, or a body not within body_timeout_ms (plus 1 s per
 *   64 KiB): 408 RequestTimeout. All of these end the connection after that
 *   response (FIN, then unread input is drained for up to a second, then close);
 * - at max_connections a newcomer replaces the connection that has waited
 *   longest for its client (closing, idle, sending a request or not reading
 *   its answers); never one with a request still at its handler or that
 *   completed a request head within header_timeout_ms;
 * - at most 64 requests per connection are in flight; beyond that the
 *   connection is not read until answers have gone out;
 * - "Connection: close", and HTTP/1.0 without keep-alive, end the connection
 *   after that response; later pipelined requests are ignored;
 * - "Expect: 100-continue" gets an interim 100 when nothing is queued ahead;
 * - EOF or a reset from the client closes the connection at once: requests
 *   not yet answered become "gone" (see http_request_gone). */
#ifndef SAGAD_HTTP_SERVER_H
#define SAGAD_HTTP_SERVER_H

#include <stddef.h>
#include <uv.h>
#include <cJSON.h>

#include "http/handler.h"

typedef struct http_server_s http_server_t;

/* Called for each response (also the server's own errors), for metrics. `route` is the matched
 * pattern ("/executions/{id}") or NULL when no route matched. */
typedef void (*http_observer_fn)(const char *method, const char *route, int status, void *ud);

typedef struct http_config_s {
    const char *host;          /* numeric IPv4 or IPv6 address */
    int port;                  /* 0 picks a free port */
    size_t max_body_bytes;     /* larger bodies: 413, connection closed */
    size_t max_header_bytes;   /* request line + headers above this: 431 */
    int max_connections;       /* open connections; at the limit a newcomer takes
                                  a slot as above, or is accepted and closed at
                                  once (no response); <= 0: no limit */
    int idle_timeout_ms;       /* a connection with nothing in flight that starts
                                  no request for this long is closed, and one
                                  whose client takes no byte of its written
                                  answers for this long; <= 0: never */
    int header_timeout_ms;     /* from the first byte of a request to the end of
                                  its headers; then 408, closed; <= 0: never */
    int body_timeout_ms;       /* from the end of the headers to the end of the
                                  body, plus 1 s per 64 KiB of it; then 408,
                                  closed; <= 0: never */
} http_config_t;

/* Binds and listens. On success *out is the server (free with
 * http_server_close). Returns 0 or a negative libuv error with `err` filled. */
int http_server_start(uv_loop_t *loop, const http_config_t *cfg, http_server_t **out,
                      char *err, size_t errlen);

/* Adds a route. `pattern` is a path with {name} segments. Two routes with the
 * same pattern but different methods make 405 (with Allow) possible for the
 * others. Returns 0, or -1 on a malformed pattern. */
int http_server_route(http_server_t *srv, const char *method, const char *pattern,
                      http_handler_fn fn, void *ud);

void http_server_set_observer(http_server_t *srv, http_observer_fn fn, void *ud);

/* Called for each request whose route matched, before its handler (the
 * route, params and headers are readable): returns 0 to let it through, or
 * answers the request itself (e.g. 401) and returns -1. */
typedef int (*http_guard_fn)(http_request_t *req, void *ud);

/* Sets the one guard (NULL: none). */
void http_server_set_guard(http_server_t *srv, http_guard_fn fn, void *ud);

/* Runs the handlers: called for each request that passed the guard, it
 * must make http_request_run(req) happen exactly once, now or later (e.g.
 * on a fiber, after other work); the request stays valid until answered.
 * Returns 0, or a negative code and then the server answers 503 itself. */
typedef int (*http_runner_fn)(http_request_t *req, void *ud);

/* Sets the one runner (NULL: handlers run at once, inside the server's read
 * callback). */
void http_server_set_runner(http_server_t *srv, http_runner_fn fn, void *ud);

/* Runs the request's route handler (for runners). */
void http_request_run(http_request_t *req);

/* The bound port (useful with port 0). */
int http_server_port(const http_server_t *srv);

/* Number of open connections. */
int http_server_connections(const http_server_t *srv);

/* Stops accepting and closes idle connections; connections with requests in
 * flight read nothing more and close once their responses are written. The
 * server waits for EVERY dispatched request to be answered, including those
 * whose client is gone: long waits must be cut short by their owner. When the
 * last handle is closed and the last request answered, the server is freed
 * and `done(ud)` runs (possibly from inside that last http_respond*, never
 * from inside this call). Returns 0, or -1 when `srv` is NULL or already
 * closing: then `done` is never called (the first close's reports the end). */
int http_server_close(http_server_t *srv, void (*done)(void *ud), void *ud);

/* Request accessors. Returned strings belong to the request and live until it
 * is answered. */
const char *http_request_method(const http_request_t *req);
const char *http_request_path(const http_request_t *req);   /* without query */
const char *http_request_route(const http_request_t *req);  /* matched pattern */
/* A {param} of the route, percent-decoded; NULL when absent. */
const char *http_request_param(const http_request_t *req, const char *name);
/* A query parameter, percent-decoded; NULL when absent. */
const char *http_request_query(const http_request_t *req, const char *name);
/* The query string as received (not decoded), without '?'; "" when none. */
const char *http_request_raw_query(const http_request_t *req);
/* A header value, name matched case-insensitively; NULL when absent. */
const char *http_request_header(const http_request_t *req, const char *name);
/* The body, NUL-terminated; `len` may be NULL. Empty string when none. */
const char *http_request_body(const http_request_t *req, size_t *len);
/* Non-zero once the client has gone (EOF, reset, write error, or the server
 * dropped the connection); answering is still required (it frees). */
int http_request_gone(const http_request_t *req);

/* Adds a response header (copied); call before http_respond*. A name that is
 * not a token or a value with CR or LF is dropped. The server itself writes
 * Content-Type, Content-Length and Connection. */
void http_response_header(http_request_t *req, const char *name, const char *value);

/* Answers the request; `body` is copied. After this `req` is invalid.
 * `content_type` NULL omits the header. */
void http_respond(http_request_t *req, int status, const char *content_type,
                  const char *body, size_t len);
/* 1 if the request's If-None-Match names `tag` (a quoted entity tag): "*",
 * or the same tag, weak or not, as If-None-Match compares weakly. */
int http_request_etag_fresh(const http_request_t *req, const char *tag);

/* Answers 200 with `body` (copied) as http_respond does; to a GET or HEAD
 * also with a strong ETag (a hash of the body) and "Cache-Control:
 * no-cache", or 304 without the body when If-None-Match names that tag, so
 * a client that polls pays only for what changed. */
void http_respond_tagged(http_request_t *req, const char *content_type, const char *body,
                         size_t len);
/* Answers with `json` printed unformatted; `json` stays the caller's. A 200
 * goes through http_respond_tagged. */
void http_respond_json(http_request_t *req, int status, const cJSON *json);
/* Answers {"error": error, "message": <formatted>} with `status`. */
void http_respond_error(http_request_t *req, int status, const char *error,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
