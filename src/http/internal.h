/* Private to the files of the HTTP server (server.c, conn.c, request.c,
 * response.c): the server, connection and request objects they share, and
 * the calls between them. The public face stays include/http/server.h. */
#ifndef SAGAD_HTTP_INTERNAL_H
#define SAGAD_HTTP_INTERNAL_H

#include "http/router.h"
#include "http/server.h"

#include <llhttp.h>
#include <stdint.h>

#define HTTP_READ_BUF (64 * 1024)   /* one buffer shared by every connection */
#define HTTP_MAX_INFLIGHT 64        /* queued requests before reading pauses */
#define HTTP_RESUME_INFLIGHT 32     /* ...and resumes */
#define HTTP_LINGER_MS 1000         /* draining unread input before a close */
#define HTTP_REQ_INLINE 768         /* URL + headers of typical requests */
#define HTTP_OUT_INLINE 512         /* typical small JSON response */
#define HTTP_MAX_IOV 64
#define HTTP_BACKLOG 1024
#define HTTP_DEFAULT_MAX_HEADER (32 * 1024)
#define HTTP_MIN_BODY_RATE 65536    /* bytes/s a body may take on top of body_timeout_ms */
#define HTTP_DEFAULT_RECENT_MS 10000 /* "recently active" when header_timeout_ms is off */

typedef struct http_conn_s http_conn_t;

typedef enum {
    HTTP_REQ_HEAD,       /* being read: request line and headers */
    HTTP_REQ_BODY,       /* being read: body */
    HTTP_REQ_DISPATCHED, /* waiting for an http_respond* */
    HTTP_REQ_READY,      /* response built, waiting for earlier ones */
    HTTP_REQ_WRITING     /* handed to uv_write */
} http_req_state_t;

struct http_request_s {
    http_server_t *srv;
    http_conn_t *conn;           /* NULL once the client is gone */
    http_request_t *next;        /* connection queue, oldest first */
    http_req_state_t state;
    unsigned close_after : 1;    /* the connection ends with this response */
    unsigned to_handler : 1;     /* counted in srv->outstanding */
    const char *method;          /* static (llhttp) or NULL */
    const http_route_t *route;
    const char *path;
    const char *query;           /* http_query_parse pairs */
    const char *raw_query;       /* as received, without '?'; NULL when none */
    size_t nquery;
    int nparams;
    const char *pnames[HTTP_ROUTER_MAX_PARAMS];
    const char *pvals[HTTP_ROUTER_MAX_PARAMS];
    int nheaders;
    size_t hdr_off;              /* first header name in buf */
    size_t val_off;              /* the header value being read */
    size_t hdr_bytes;            /* request line + headers, for the 431 limit */
    char *buf;                   /* url\0 then name\0value\0 pairs, then scratch */
    size_t len, cap;
    char *body;
    size_t body_len, body_cap;
    char *extra;                 /* response headers "Name: value\r\n"... */
    size_t extra_len, extra_cap;
    char *out;                   /* the response bytes */
    size_t out_len;
    char inline_buf[HTTP_REQ_INLINE];
    char out_inline[HTTP_OUT_INLINE];
};

struct http_conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;            /* request deadline or idle timeout, then linger */
    uv_shutdown_t shutdown;
    llhttp_t parser;
    http_server_t *srv;
    http_conn_t *prev, *next;    /* server's list (see conns) */
    http_request_t *cur;         /* being parsed */
    http_request_t *head, *tail; /* answered in this order */
    http_request_t *unsent;      /* first request not handed to uv_write */
    int nqueue;
    int nclosed;                 /* handles closed; the conn is freed at 2 */
    struct http_write_s *spare;  /* a finished write request, reused */
    char *pend;                  /* unparsed input kept while paused */
    size_t pend_off, pend_len;
    uint64_t deadline;           /* loop time the request being read must be complete
                                    by (head, then body); 0: none */
    uint64_t idle_at;            /* loop time the connection last waited only on its
                                    client: nothing to do, or answers being written */
    size_t idle_wq;              /* bytes libuv still had to write at idle_at */
    uint64_t head_done_at;       /* loop time a request head last completed; 0: never */
    int err_status;              /* set by a parser callback before it fails */
    const char *err_why;         /* ...with the reason of a 400, static */
    unsigned in_parse : 1;       /* inside llhttp_execute: flush afterwards */
    unsigned paused : 1;         /* too many requests in flight */
    unsigned stop_parse : 1;     /* no further request will be read */
    unsigned reading : 1;
    unsigned lingering : 1;
    unsigned closing : 1;
};

struct http_server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_config_t cfg;
    http_router_t *router;
    http_conn_t *conns, *conns_tail; /* lingering first, then by last progress:
                                        the order in which newcomers take slots */
    int nconns;
    int nclosing;                /* in conns, closed but not yet freed */
    size_t outstanding;          /* requests a handler still has to answer */
    int closing, listener_closed;
    void (*done)(void *ud);
    void *done_ud;
    http_observer_fn obs;
    void *obs_ud;
    http_guard_fn guard;
    void *guard_ud;
    http_runner_fn runner;
    void *runner_ud;
    uint64_t last_warn;
    char rbuf[HTTP_READ_BUF];
};

/* ---- request.c: parsing and limits ---- */

/* llhttp callbacks: requests are built in c->cur, dispatched when complete. */
extern const llhttp_settings_t http_parser_settings;

/* A request read on `c`, or NULL when out of memory. */
http_request_t *http_req_new(http_conn_t *c);
/* Frees what only parsing and the handler needed (buffers, body, headers). */
void http_req_drop_input(http_request_t *r);
void http_req_free(http_request_t *r);
/* Answers `r`, the request its connection failed to read while in `phase`
 * (HTTP_REQ_HEAD or _BODY): parser error `err`, or a limit or deadline
 * recorded in the connection's err_status. */
void http_req_answer_failure(http_request_t *r, http_req_state_t phase, llhttp_errno_t err);

/* ---- conn.c: connection lifecycle ---- */

/* Accepts a pending connection from the listener `ls` and starts reading. */
void http_conn_accept(http_server_t *srv, uv_stream_t *ls);
/* A request head was read completely on `c`: a sign of a live client. */
void http_conn_head_done(http_conn_t *c);
/* Appends `r` to the answer queue of `c` as dispatched. */
void http_conn_enqueue(http_conn_t *c, http_request_t *r);
/* Moves `c` on after anything happened: resume parsing, write what is ready,
 * then arm the deadline or idle timer, or finish. */
void http_conn_progress(http_conn_t *c);
/* The server is closing: read nothing more; close at once when nothing is
 * owed, else after the last answer is written. */
void http_conn_stop(http_conn_t *c);
/* Closes at once (idempotent); unanswered requests outlive it as "gone". */
void http_conn_close(http_conn_t *c);

/* ---- server.c ---- */

/* Frees the server and runs its done callback once it is closing and nothing
 * (handle, connection, unanswered request) is left. */
void http_server_maybe_done(http_server_t *srv);

#endif
