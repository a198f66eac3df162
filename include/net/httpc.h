/* Outbound HTTP on a libuv loop: libcurl's multi-socket interface driven by
 * one uv_poll_t per socket and one uv_timer_t, so a request never blocks the
 * loop. TLS peers are verified, only http and https are spoken, redirects are
 * not followed, response bodies are capped. */
#ifndef SAGAD_NET_HTTPC_H
#define SAGAD_NET_HTTPC_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The response body cap when a request names none. */
#define HTTPC_MAX_RESPONSE_BYTES ((size_t)1 << 20)

typedef struct httpc_s httpc_t;
typedef struct httpc_req_s httpc_req_t;

/* How a request ended. */
typedef enum httpc_outcome_e {
    HTTPC_OK = 0,       /* a complete response arrived (whatever its status) */
    HTTPC_SOCKET,       /* no response: DNS, refused, reset, TLS, cut short */
    HTTPC_TIMEOUT,      /* the connect or the total timeout passed */
    HTTPC_TOO_LARGE,    /* the body went past max_response_bytes */
    HTTPC_FAILED,       /* anything else: out of memory, a URL curl refused */
} httpc_outcome_t;

typedef struct httpc_header_s {
    const char *name;
    const char *value;
} httpc_header_t;

/* Everything is borrowed for the call to httpc_submit only (it copies). */
typedef struct httpc_request_s {
    const char *method;             /* "GET", "POST", ...: sent as is */
    const char *url;                /* absolute http:// or https:// URL */
    const httpc_header_t *headers;  /* sent in order; none may contain CR or LF */
    size_t n_headers;
    const char *body;               /* NULL: no body */
    size_t body_len;
    int64_t timeout_ms;             /* the whole exchange; 0: none */
    int64_t connect_timeout_ms;     /* 0: curl's default */
    size_t max_response_bytes;      /* 0: HTTPC_MAX_RESPONSE_BYTES */
} httpc_request_t;

/* Everything is borrowed for the duration of the callback. */
typedef struct httpc_response_s {
    httpc_outcome_t outcome;
    const char *error;              /* outcome != HTTPC_OK: what went wrong */
    int status;                     /* HTTP status; 0 unless HTTPC_OK */
    const char *status_text;        /* reason phrase; without one (HTTP/2) the
                                       standard one, or "" */
    const httpc_header_t *headers;  /* of the final response, names lowercased */
    size_t n_headers;
    const char *body;               /* body_len bytes, then a NUL */
    size_t body_len;
    int64_t elapsed_ms;             /* from submit to the end */
} httpc_response_t;

/* Called once per submitted request that was not cancelled, from the loop,
 * never from inside httpc_submit. The request is freed when it returns. */
typedef void (*httpc_done_cb)(const httpc_response_t *res, void *data);

/* A client on `loop` (borrowed; it must outlive the client). Returns 0 with
 * *out, or -1 (out of memory, libcurl could not start). */
int httpc_open(uv_loop_t *loop, httpc_t **out);

/* Starts a request. Returns 0 with *out (may be NULL when not wanted) valid
 * until the callback runs or httpc_cancel; or -1 without calling cb. Calling
 * it from inside a callback is allowed. */
int httpc_submit(httpc_t *c, const httpc_request_t *req, httpc_done_cb cb, void *data,
                 httpc_req_t **out);

/* Abandons a request: its connection is closed, its callback never runs, it
 * is freed. Not for a request whose callback is running. */
void httpc_cancel(httpc_req_t *r);

/* Requests in flight. */
size_t httpc_pending(const httpc_t *c);

/* Cancels every request (no callbacks), then closes the handles; the memory
 * is freed from the loop once libuv has closed them. Not from a callback. */
void httpc_close(httpc_t *c);

#endif
