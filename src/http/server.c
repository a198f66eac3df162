/* HTTP/1.1 server on libuv + llhttp. Each connection keeps a queue of its
 * requests in arrival order; a response leaves only when every earlier one has
 * left, so handlers may answer in any order and at any time. Limits (body,
 * headers, pipelined requests in flight, connections, idle time) keep one
 * client from making the daemon buffer without bound. */
#include "http/server.h"

#include "core/log.h"
#include "http/router.h"

#include <llhttp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

typedef struct conn_s conn_t;

typedef enum {
    REQ_PARSING,     /* being read */
    REQ_DISPATCHED,  /* waiting for an http_respond* */
    REQ_READY,       /* response built, waiting for earlier ones */
    REQ_WRITING      /* handed to uv_write */
} req_state_t;

struct http_request_s {
    http_server_t *srv;
    conn_t *conn;                /* NULL once the client is gone */
    http_request_t *next;        /* connection queue, oldest first */
    req_state_t state;
    unsigned close_after : 1;    /* the connection ends with this response */
    unsigned to_handler : 1;     /* counted in srv->outstanding */
    const char *method;          /* static (llhttp) or NULL */
    const http_route_t *route;
    const char *path;
    const char *query;           /* http_query_parse pairs */
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

struct conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;            /* idle timeout, then linger timeout */
    uv_shutdown_t shutdown;
    llhttp_t parser;
    http_server_t *srv;
    conn_t *prev, *next;         /* server's list */
    http_request_t *cur;         /* being parsed */
    http_request_t *head, *tail; /* answered in this order */
    http_request_t *unsent;      /* first request not handed to uv_write */
    int nqueue;
    int nclosed;                 /* handles closed; the conn is freed at 2 */
    struct wreq_s *spare;        /* a finished write request, reused */
    char *pend;                  /* unparsed input kept while paused */
    size_t pend_off, pend_len;
    uint64_t deadline;           /* loop time the request being read must be complete
                                    by (head, then body); 0: none */
    uint64_t idle_at;            /* loop time the connection last had nothing to do */
    uint64_t head_done_at;       /* loop time a request head last completed; 0: never */
    int err_status;              /* set by a parser callback before it fails */
    const char *err_why;         /* ...with the reason of a 400, static */
    unsigned in_parse : 1;       /* inside llhttp_execute: flush afterwards */
    unsigned paused : 1;         /* too many requests in flight */
    unsigned stop_parse : 1;     /* no further request will be read */
    unsigned reading : 1;
    unsigned lingering : 1;
    unsigned closing : 1;
    unsigned in_body : 1;        /* the request being read is past its headers */
};

struct http_server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_config_t cfg;
    http_router_t *router;
    conn_t *conns;
    int nconns;
    int nclosing;                /* in conns, closed but not yet freed */
    size_t outstanding;          /* requests a handler still has to answer */
    int closing, listener_closed;
    void (*done)(void *ud);
    void *done_ud;
    http_observer_fn obs;
    void *obs_ud;
    uint64_t last_warn;
    char rbuf[HTTP_READ_BUF];
};

typedef struct wreq_s {
    uv_write_t w;
    conn_t *c;
    int n;                       /* requests at the queue head this write carries */
    uv_buf_t bufs[HTTP_MAX_IOV];
} wreq_t;

static void conn_progress(conn_t *c);
static void conn_close(conn_t *c);
static void server_maybe_done(http_server_t *srv);
static void respond_internal(http_request_t *r, int status, const char *error,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- requests ---------------------------------------------------------- */

static http_request_t *req_new(conn_t *c)
{
    http_request_t *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, offsetof(http_request_t, inline_buf));
    r->srv = c->srv;
    r->conn = c;
    r->buf = r->inline_buf;
    r->cap = sizeof r->inline_buf;
    return r;
}

/* Frees what only parsing and the handler needed. */
static void req_drop_input(http_request_t *r)
{
    if (r->buf != r->inline_buf)
        free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
    free(r->body);
    r->body = NULL;
    free(r->extra);
    r->extra = NULL;
}

static void req_free(http_request_t *r)
{
    req_drop_input(r);
    if (r->out != r->out_inline)
        free(r->out);
    free(r);
}

static int req_reserve(http_request_t *r, size_t more)
{
    if (r->len + more <= r->cap)
        return 0;
    size_t cap = r->cap * 2;
    if (cap < r->len + more)
        cap = r->len + more;
    char *nb;
    if (r->buf == r->inline_buf) {
        if (!(nb = malloc(cap)))
            return -1;
        memcpy(nb, r->buf, r->len);
    } else if (!(nb = realloc(r->buf, cap))) {
        return -1;
    }
    r->buf = nb;
    r->cap = cap;
    return 0;
}

static int req_append(http_request_t *r, const char *at, size_t len)
{
    if (req_reserve(r, len) < 0)
        return -1;
    memcpy(r->buf + r->len, at, len);
    r->len += len;
    return 0;
}

/* ---- llhttp callbacks -------------------------------------------------- */

static int fail(conn_t *c, int status)
{
    c->err_status = status;
    return -1;
}

static int fail_bad(conn_t *c, const char *why)
{
    c->err_why = why;
    return fail(c, 400);
}

static int on_message_begin(llhttp_t *p)
{
    conn_t *c = p->data;
    if (c->stop_parse)
        return HPE_PAUSED;
    if (!(c->cur = req_new(c)))
        return fail(c, 503);
    int ms = c->srv->cfg.header_timeout_ms;
    c->deadline = ms > 0 ? uv_now(c->srv->loop) + (uint64_t)ms : 0;
    c->in_body = 0;
    return 0;
}

/* Allows `bytes` more of body at the minimum rate on top of the deadline. */
static void extend_body_deadline(conn_t *c, uint64_t bytes)
{
    if (c->deadline)
        c->deadline += bytes * 1000 / HTTP_MIN_BODY_RATE;
}

static int on_head_data(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    r->hdr_bytes += len;
    if (r->hdr_bytes > c->srv->cfg.max_header_bytes)
        return fail(c, 431);
    return req_append(r, at, len) < 0 ? fail(c, 503) : 0;
}

static int on_url_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    if (req_append(r, "", 1) < 0)
        return fail(c, 503);
    r->hdr_off = r->len;
    return 0;
}

static int on_header_field_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    r->nheaders++;
    r->hdr_bytes += 4;  /* ": " and CRLF */
    if (r->hdr_bytes > c->srv->cfg.max_header_bytes)
        return fail(c, 431);
    if (req_append(r, "", 1) < 0)
        return fail(c, 503);
    r->val_off = r->len;
    return 0;
}

static int on_header_value_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    /* llhttp skips leading whitespace; trailing whitespace is ours to drop. */
    while (r->len > r->val_off && (r->buf[r->len - 1] == ' ' || r->buf[r->len - 1] == '\t'))
        r->len--;
    return req_append(r, "", 1) < 0 ? fail(c, 503) : 0;
}

static const char *find_header(const http_request_t *r, const char *name)
{
    if (!r->buf)
        return NULL;
    const char *p = r->buf + r->hdr_off;
    for (int i = 0; i < r->nheaders; i++) {
        const char *v = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

static void on_raw_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static int on_headers_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    size_t max = c->srv->cfg.max_body_bytes;
    r->method = llhttp_method_name((llhttp_method_t)p->method);
    /* llhttp reads a request line without a version as HTTP/0.9, which has
     * no headers and no status line in its answer: not ours to serve. */
    if (p->http_major == 0)
        return fail_bad(c, "the request line has no HTTP version");
    if (p->http_major != 1)
        return fail_bad(c, "only HTTP/1.0 and HTTP/1.1 are served");
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > max)
        return fail(c, 413);
    uint64_t now = uv_now(c->srv->loop);
    int ms = c->srv->cfg.body_timeout_ms;
    c->head_done_at = now;
    c->in_body = 1;
    c->deadline = ms > 0 ? now + (uint64_t)ms : 0;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0) {
        extend_body_deadline(c, p->content_length);
        r->body_cap = (size_t)p->content_length + 1;
        if (!(r->body = malloc(r->body_cap)))
            return fail(c, 503);
    }
    /* Only when nothing is queued ahead: the interim reply must not overtake
     * an earlier response. Otherwise the client sends after its own timeout. */
    const char *expect = find_header(r, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0 && c->nqueue == 0 &&
        ((p->flags & F_CHUNKED) || p->content_length > 0)) {
        static char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uv_write_t *w = malloc(sizeof *w);
        uv_buf_t b = uv_buf_init(cont, sizeof cont - 1);
        if (w && uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_raw_written) < 0)
            free(w);
    }
    return 0;
}

static int on_chunk_header(llhttp_t *p)
{
    conn_t *c = p->data;
    /* body_len never exceeds the limit, so the subtraction cannot wrap. */
    if (p->content_length > c->srv->cfg.max_body_bytes - c->cur->body_len)
        return fail(c, 413);
    extend_body_deadline(c, p->content_length);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    if (len > c->srv->cfg.max_body_bytes - r->body_len)
        return fail(c, 413);
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap * 2 : 1024;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *nb = realloc(r->body, cap);
        if (!nb)
            return fail(c, 503);
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len += len;
    return 0;
}

static void enqueue(conn_t *c, http_request_t *r)
{
    r->next = NULL;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    if (!c->unsent)
        c->unsent = r;
    c->nqueue++;
    r->state = REQ_DISPATCHED;
}

/* Splits the URL, routes, and runs the handler (or answers 404/405). */
static void dispatch(http_server_t *srv, http_request_t *r)
{
    char *url = r->buf;
    char *hash = strchr(url, '#');
    if (hash)
        *hash = '\0';
    char *q = strchr(url, '?');
    size_t qlen = 0;
    if (q) {
        *q = '\0';
        qlen = strlen(q + 1);
    }
    size_t plen = strlen(url);
    if (req_reserve(r, plen + 2 + 2 * qlen + 2) < 0) {
        respond_internal(r, 503, "ServiceUnavailable", "out of memory");
        return;
    }
    url = r->buf;  /* may have moved */
    char *scratch = r->buf + r->len;
    r->len += plen + 2;
    char *qout = r->buf + r->len;
    r->len += 2 * qlen + 2;
    r->nquery = q ? http_query_parse(url + plen + 1, qlen, qout) : 0;
    r->query = qout;
    r->path = url;

    http_route_match_t m;
    char allow[256];
    int rc = http_router_match(srv->router, r->method, url, scratch, &m, allow, sizeof allow);
    if (rc == HTTP_ROUTER_FOUND) {
        r->route = m.route;
        r->nparams = m.nparams;
        memcpy(r->pnames, m.names, sizeof m.names);
        memcpy(r->pvals, m.values, sizeof m.values);
        r->to_handler = 1;
        srv->outstanding++;
        void *ud;
        http_handler_fn fn = http_route_handler(m.route, &ud);
        fn(r, ud);
    } else if (rc == HTTP_ROUTER_METHOD_NOT_ALLOWED) {
        http_response_header(r, "Allow", allow);
        respond_internal(r, 405, "MethodNotAllowed", "%s is not allowed on %s; allowed: %s",
                         r->method, url, allow);
    } else {
        respond_internal(r, 404, "NotFound", "no route for %s %s", r->method, url);
    }
}

static int on_message_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    http_request_t *r = c->cur;
    int keep_alive = llhttp_should_keep_alive(p);
    c->cur = NULL;
    if (r->body)
        r->body[r->body_len] = '\0';
    r->close_after = !keep_alive;
    if (!keep_alive)
        c->stop_parse = 1;
    enqueue(c, r);
    dispatch(c->srv, r);
    if (c->stop_parse)
        return HPE_PAUSED;
    if (c->nqueue >= HTTP_MAX_INFLIGHT) {
        c->paused = 1;
        return HPE_PAUSED;
    }
    return 0;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_head_data,
    .on_url_complete = on_url_complete,
    .on_header_field = on_head_data,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_head_data,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_chunk_header = on_chunk_header,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- connections ------------------------------------------------------- */

static void stop_reading(conn_t *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void drop_pending(conn_t *c)
{
    free(c->pend);
    c->pend = NULL;
    c->pend_off = c->pend_len = 0;
}

/* The parser failed: queue the error response; the connection ends with it. */
static void parse_failed(conn_t *c, llhttp_errno_t err)
{
    http_request_t *r = c->cur;
    c->cur = NULL;
    c->stop_parse = 1;
    stop_reading(c);
    drop_pending(c);
    if (!r && !(r = req_new(c))) {
        conn_close(c);
        return;
    }
    req_drop_input(r);  /* a half-read request: only the method may be known */
    r->close_after = 1;
    enqueue(c, r);
    size_t maxh = c->srv->cfg.max_header_bytes, maxb = c->srv->cfg.max_body_bytes;
    switch (c->err_status) {
    case 413:
        respond_internal(r, 413, "PayloadTooLarge",
                         "request body is larger than max_body_bytes (%zu bytes)", maxb);
        break;
    case 431:
        respond_internal(r, 431, "HeadersTooLarge",
                         "request line and headers are larger than %zu bytes", maxh);
        break;
    case 503:
        respond_internal(r, 503, "ServiceUnavailable", "out of memory");
        break;
    case 400:
        respond_internal(r, 400, "BadRequest", "malformed HTTP request: %s", c->err_why);
        break;
    case 408:
        if (c->in_body)
            respond_internal(r, 408, "RequestTimeout", "the request body did not arrive within "
                             "body_timeout_ms (%d ms) plus 1 s per 64 KiB",
                             c->srv->cfg.body_timeout_ms);
        else
            respond_internal(r, 408, "RequestTimeout", "the request line and headers did not "
                             "arrive within header_timeout_ms (%d ms) of their first byte",
                             c->srv->cfg.header_timeout_ms);
        break;
    default:
        respond_internal(r, 400, "BadRequest", "malformed HTTP request: %s (%s)",
                         llhttp_get_error_reason(&c->parser), llhttp_errno_name(err));
        break;
    }
}

/* Parses `data`, which may lie inside c->pend. */
static void conn_feed(conn_t *c, const char *data, size_t len)
{
    int from_pend = c->pend && data >= c->pend && data < c->pend + c->pend_len;
    c->in_parse = 1;
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
    c->in_parse = 0;
    if (err == HPE_OK) {
        if (from_pend)
            drop_pending(c);
        return;
    }
    if (err == HPE_PAUSED_UPGRADE)
        c->stop_parse = 1;  /* no protocol switching here: answer, then close */
    if ((err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) || c->stop_parse) {
        if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE)
            parse_failed(c, err);
        stop_reading(c);
        drop_pending(c);
        return;
    }
    /* Paused with requests in flight: keep the rest until some are answered. */
    const char *pos = llhttp_get_error_pos(&c->parser);
    if (!pos || pos < data || pos > data + len)
        pos = data + len;
    size_t rest = (size_t)(data + len - pos);
    stop_reading(c);
    if (from_pend) {
        c->pend_off = (size_t)(pos - c->pend);
    } else if (rest) {
        if (!(c->pend = malloc(rest))) {
            conn_close(c);
            return;
        }
        memcpy(c->pend, pos, rest);
        c->pend_off = 0;
        c->pend_len = rest;
    }
    if (c->pend && c->pend_off == c->pend_len)
        drop_pending(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn_t *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {  /* EOF or error: the client is gone */
        conn_close(c);
        return;
    }
    if (c->lingering || c->stop_parse)
        return;  /* draining before close */
    conn_feed(c, buf->base, (size_t)nread);
    conn_progress(c);
}

static void start_reading(conn_t *c)
{
    if (!c->reading && !c->closing) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            conn_close(c);
            return;
        }
        c->reading = 1;
    }
}

static void on_written(uv_write_t *w, int status)
{
    wreq_t *wr = (wreq_t *)w;
    conn_t *c = wr->c;
    for (int i = 0; i < wr->n; i++) {
        http_request_t *r = c->head;
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        c->nqueue--;
        req_free(r);
    }
    if (c->nqueue == 0)
        c->idle_at = uv_now(c->srv->loop);
    if (!c->spare)
        c->spare = wr;
    else
        free(wr);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_progress(c);
}

/* Hands every ready response at the front of the queue to uv_write. */
static void conn_flush(conn_t *c)
{
    while (c->unsent && c->unsent->state == REQ_READY) {
        int n = 0;
        for (http_request_t *r = c->unsent; r && r->state == REQ_READY && n < HTTP_MAX_IOV; r = r->next)
            n++;
        wreq_t *wr = c->spare ? c->spare : malloc(sizeof *wr);
        c->spare = NULL;
        if (!wr) {
            conn_close(c);
            return;
        }
        wr->c = c;
        wr->n = n;
        http_request_t *r = c->unsent;
        for (int i = 0; i < n; i++, r = r->next) {
            wr->bufs[i] = uv_buf_init(r->out, (unsigned)r->out_len);
            r->state = REQ_WRITING;
        }
        c->unsent = r;
        if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, wr->bufs, (unsigned)n, on_written) < 0) {
            /* No callback will come: the close frees these requests. */
            free(wr);
            conn_close(c);
            return;
        }
    }
}

/* The request being read is late: answer 408 after what is queued, then end. */
static void conn_timed_out(conn_t *c)
{
    c->err_status = 408;
    parse_failed(c, HPE_OK);
    conn_progress(c);
}

static void on_timer(uv_timer_t *t)
{
    conn_t *c = t->data;
    if (c->lingering) {
        conn_close(c);
    } else if (c->cur && c->deadline && !c->stop_parse) {
        if (uv_now(c->srv->loop) >= c->deadline)
            conn_timed_out(c);
        else
            conn_progress(c);  /* re-arms */
    } else if (c->nqueue == 0) {
        conn_close(c);  /* idle */
    }
}

/* One timer per connection: the deadline of the request being read, else the
 * idle timeout counted from when the connection last had nothing to do (input
 * that starts no request does not extend it), else none while answers are
 * owed. Without a request deadline, any input restarts the idle timeout. */
static void conn_arm_timer(conn_t *c)
{
    int idle = c->srv->cfg.idle_timeout_ms;
    uint64_t now = uv_now(c->srv->loop), due = 0;
    if (c->cur && c->deadline && !c->stop_parse)
        due = c->deadline;
    else if (c->nqueue == 0 && idle > 0)
        due = (c->cur ? now : c->idle_at) + (uint64_t)idle;
    if (due)
        uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
    else
        uv_timer_stop(&c->timer);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    conn_t *c = req->data;
    if (status < 0 && !c->closing)
        conn_close(c);
}

/* Every response is out and no request will follow: send FIN, then drain what
 * the client still sends for a moment so our last response is not destroyed
 * by a reset, and close. */
static void conn_finish(conn_t *c)
{
    if (c->lingering || c->closing)
        return;
    if (c->srv->closing) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, HTTP_LINGER_MS, 0);
    start_reading(c);
}

/* Moves the connection on after anything happened: resume parsing when the
 * queue has room, write what is ready, then idle, finish or wait. */
static void conn_progress(conn_t *c)
{
    if (c->closing || c->in_parse || c->lingering)
        return;
    while (c->paused && !c->stop_parse && c->nqueue <= HTTP_RESUME_INFLIGHT) {
        c->paused = 0;
        llhttp_resume(&c->parser);
        if (c->pend)
            conn_feed(c, c->pend + c->pend_off, c->pend_len - c->pend_off);
        if (c->closing)
            return;
        if (!c->paused && !c->stop_parse)
            start_reading(c);
    }
    conn_flush(c);
    if (c->closing)
        return;
    if (c->nqueue == 0 && c->stop_parse)
        conn_finish(c);
    else
        conn_arm_timer(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (++c->nclosed < 2)
        return;
    http_server_t *srv = c->srv;
    /* Unanswered requests outlive the connection; the rest goes now. */
    for (http_request_t *r = c->head, *next; r; r = next) {
        next = r->next;
        if (r->state == REQ_DISPATCHED) {
            r->conn = NULL;
            r->next = NULL;
        } else {
            req_free(r);
        }
    }
    if (c->cur)
        req_free(c->cur);
    free(c->spare);
    free(c->pend);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    srv->nclosing--;
    free(c);
    server_maybe_done(srv);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->srv->nclosing++;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

/* ---- server ------------------------------------------------------------ */

static void warn_limited(http_server_t *srv, const char *fmt, const char *arg)
{
    uint64_t now = uv_now(srv->loop);
    if (srv->last_warn && now - srv->last_warn < 1000)
        return;
    srv->last_warn = now ? now : 1;
    log_warn(fmt, arg);
}

static void free_handle(uv_handle_t *h)
{
    free(h);
}

/* At max_connections a newcomer takes the slot of the connection that has
 * waited longest for its client: one lingering after its last response, else
 * one that is idle or still sending a request, oldest progress first. A
 * connection owed answers, or that completed a request head within the last
 * header_timeout_ms, is never taken: a client that keeps up keeps its slot.
 * NULL when every connection is protected. */
static conn_t *pick_victim(http_server_t *srv)
{
    uint64_t now = uv_now(srv->loop);
    int ms = srv->cfg.header_timeout_ms > 0 ? srv->cfg.header_timeout_ms : HTTP_DEFAULT_RECENT_MS;
    conn_t *best = NULL;
    uint64_t best_at = 0;
    for (conn_t *c = srv->conns; c; c = c->next) {
        if (c->closing)
            continue;
        if (c->lingering)
            return c;
        if (c->nqueue > 0 || (c->head_done_at && now - c->head_done_at < (uint64_t)ms))
            continue;
        uint64_t at = c->head_done_at > c->idle_at ? c->head_done_at : c->idle_at;
        if (!best || at < best_at) {
            best = c;
            best_at = at;
        }
    }
    return best;
}

static void on_connection(uv_stream_t *ls, int status)
{
    http_server_t *srv = ls->data;
    if (status < 0) {
        warn_limited(srv, "http: accept failed: %s", uv_strerror(status));
        return;
    }
    conn_t *victim = NULL;
    int full = srv->cfg.max_connections > 0 &&
               srv->nconns - srv->nclosing >= srv->cfg.max_connections;
    if (full && (victim = pick_victim(srv))) {
        warn_limited(srv, "http: %s; closing the connection that waited longest for its client",
                     "max_connections reached");
        conn_close(victim);  /* its descriptor is closed now, its memory later */
    } else if (full) {
        uv_tcp_t *t = malloc(sizeof *t);
        if (!t)
            return;
        uv_tcp_init(srv->loop, t);
        if (uv_accept(ls, (uv_stream_t *)t) == 0)
            warn_limited(srv, "http: %s; closing new connections", "max_connections reached");
        uv_close((uv_handle_t *)t, free_handle);
        return;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = srv;
    c->idle_at = uv_now(srv->loop);
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    start_reading(c);
    if (!c->closing)
        conn_arm_timer(c);
}

static void free_server(http_server_t *srv)
{
    http_router_free(srv->router);
    free(srv);
}

static void on_failed_listener_closed(uv_handle_t *h)
{
    free_server(h->data);
}

int http_server_start(uv_loop_t *loop, const http_config_t *cfg, http_server_t **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage sa;
    int rc = strchr(cfg->host, ':') ? uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&sa)
                                    : uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&sa);
    if (rc < 0) {
        snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", cfg->host);
        return rc;
    }
    http_server_t *srv = calloc(1, sizeof *srv);
    if (!srv || !(srv->router = http_router_new())) {
        free(srv);
        snprintf(err, errlen, "out of memory");
        return UV_ENOMEM;
    }
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->cfg.host = NULL;  /* the caller's string; only needed here */
    if (srv->cfg.max_header_bytes == 0)
        srv->cfg.max_header_bytes = HTTP_DEFAULT_MAX_HEADER;
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    if ((rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&sa, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, HTTP_BACKLOG, on_connection)) < 0) {
        snprintf(err, errlen, "%s", uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, on_failed_listener_closed);
        return rc;
    }
    *out = srv;
    return 0;
}

int http_server_route(http_server_t *srv, const char *method, const char *pattern,
                      http_handler_fn fn, void *ud)
{
    return http_router_add(srv->router, method, pattern, fn, ud);
}

void http_server_set_observer(http_server_t *srv, http_observer_fn fn, void *ud)
{
    srv->obs = fn;
    srv->obs_ud = ud;
}

int http_server_port(const http_server_t *srv)
{
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    if (sa.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

int http_server_connections(const http_server_t *srv)
{
    return srv->nconns;
}

static void server_maybe_done(http_server_t *srv)
{
    if (!srv->closing || !srv->listener_closed || srv->nconns > 0 || srv->outstanding > 0)
        return;
    void (*done)(void *) = srv->done;
    void *ud = srv->done_ud;
    free_server(srv);
    if (done)
        done(ud);
}

static void on_listener_closed(uv_handle_t *h)
{
    http_server_t *srv = h->data;
    srv->listener_closed = 1;
    server_maybe_done(srv);
}

void http_server_close(http_server_t *srv, void (*done)(void *ud), void *ud)
{
    if (!srv || srv->closing)
        return;
    srv->closing = 1;
    srv->done = done;
    srv->done_ud = ud;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    for (conn_t *c = srv->conns; c; c = c->next) {
        c->stop_parse = 1;
        c->paused = 0;
        stop_reading(c);
        if (!c->in_parse) {  /* else llhttp is reading pend; conn_feed drops it */
            drop_pending(c);
            if (c->cur) {
                req_free(c->cur);
                c->cur = NULL;
            }
        }
        if (c->nqueue == 0 || c->lingering)
            conn_close(c);
    }
}

/* ---- request accessors ------------------------------------------------- */

const char *http_request_method(const http_request_t *req)
{
    return req->method ? req->method : "";
}

const char *http_request_path(const http_request_t *req)
{
    return req->path ? req->path : "";
}

const char *http_request_route(const http_request_t *req)
{
    return req->route ? http_route_pattern(req->route) : NULL;
}

const char *http_request_param(const http_request_t *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (strcmp(req->pnames[i], name) == 0)
            return req->pvals[i];
    return NULL;
}

const char *http_request_query(const http_request_t *req, const char *name)
{
    return req->query ? http_query_lookup(req->query, req->nquery, name) : NULL;
}

const char *http_request_header(const http_request_t *req, const char *name)
{
    return find_header(req, name);
}

const char *http_request_body(const http_request_t *req, size_t *len)
{
    if (len)
        *len = req->body ? req->body_len : 0;
    return req->body ? req->body : "";
}

int http_request_gone(const http_request_t *req)
{
    return !req->conn || req->conn->closing;
}

/* ---- responses --------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

static int header_token_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == ':' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

void http_response_header(http_request_t *req, const char *name, const char *value)
{
    if (!req || req->state != REQ_DISPATCHED || !header_token_ok(name) || strpbrk(value, "\r\n"))
        return;  /* a CR or LF would let a value forge headers */
    size_t nl = strlen(name), vl = strlen(value), need = nl + vl + 4;
    if (req->extra_len + need > req->extra_cap) {
        size_t cap = req->extra_cap ? req->extra_cap * 2 : 128;
        while (cap < req->extra_len + need)
            cap *= 2;
        char *ne = realloc(req->extra, cap);
        if (!ne)
            return;
        req->extra = ne;
        req->extra_cap = cap;
    }
    char *p = req->extra + req->extra_len;
    memcpy(p, name, nl);
    memcpy(p + nl, ": ", 2);
    memcpy(p + nl + 2, value, vl);
    memcpy(p + nl + 2 + vl, "\r\n", 2);
    req->extra_len += need;
}

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUT_LIT(p, s) put((p), (s), sizeof(s) - 1)

void http_respond(http_request_t *req, int status, const char *content_type,
                  const char *body, size_t len)
{
    if (!req || req->state != REQ_DISPATCHED) {
        log_error("http: a request was answered twice or never dispatched");
        return;
    }
    http_server_t *srv = req->srv;
    conn_t *c = req->conn;
    if (req->to_handler) {
        req->to_handler = 0;
        srv->outstanding--;
    }
    if (status < 100 || status > 999)
        status = 500;
    if (srv->obs)
        srv->obs(http_request_method(req), http_request_route(req), status, srv->obs_ud);
    if (!c) {  /* the client left; answering only frees */
        req_free(req);
        server_maybe_done(srv);
        return;
    }
    if (!body)
        len = 0;
    int close = req->close_after || (c->stop_parse && !req->next && !c->cur);
    const char *reason = reason_phrase(status);
    size_t rl = strlen(reason), cl = content_type ? strlen(content_type) : 0;
    size_t cap = 96 + rl + cl + req->extra_len + len;
    char *out = cap <= sizeof req->out_inline ? req->out_inline : malloc(cap);
    if (!out) {
        req_free(req);  /* cannot answer: the connection must end */
        conn_close(c);
        return;
    }
    char num[24];
    char *p = out;
    p = PUT_LIT(p, "HTTP/1.1 ");
    p = put(p, num, (size_t)snprintf(num, sizeof num, "%d ", status));
    p = put(p, reason, rl);
    p = PUT_LIT(p, "\r\n");
    if (content_type) {
        p = PUT_LIT(p, "Content-Type: ");
        p = put(p, content_type, cl);
        p = PUT_LIT(p, "\r\n");
    }
    p = PUT_LIT(p, "Content-Length: ");
    p = put(p, num, (size_t)snprintf(num, sizeof num, "%zu", len));
    p = close ? PUT_LIT(p, "\r\nConnection: close\r\n") : PUT_LIT(p, "\r\nConnection: keep-alive\r\n");
    if (req->extra_len)
        p = put(p, req->extra, req->extra_len);
    p = PUT_LIT(p, "\r\n");
    /* A HEAD answer carries the length of the body it would have, not the body. */
    if (len && !(req->method && strcmp(req->method, "HEAD") == 0))
        p = put(p, body, len);
    req_drop_input(req);
    req->path = NULL;
    req->query = NULL;
    req->nparams = 0;
    req->nheaders = 0;
    req->out = out;
    req->out_len = (size_t)(p - out);
    req->state = REQ_READY;
    if (close)
        req->close_after = 1;
    conn_progress(c);
}

void http_respond_json(http_request_t *req, int status, const cJSON *json)
{
    char *s = cJSON_PrintUnformatted(json);
    if (!s) {
        static const char oom[] = "{\"error\":\"InternalError\",\"message\":\"out of memory\"}";
        http_respond(req, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_respond(req, status, "application/json", s, strlen(s));
    cJSON_free(s);
}

static void respond_verror(http_request_t *req, int status, const char *error,
                           const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "error", error);
        cJSON_AddStringToObject(j, "message", msg);
    }
    http_respond_json(req, status, j);
    cJSON_Delete(j);
}

void http_respond_error(http_request_t *req, int status, const char *error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_verror(req, status, error, fmt, ap);
    va_end(ap);
}

static void respond_internal(http_request_t *r, int status, const char *error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    respond_verror(r, status, error, fmt, ap);
    va_end(ap);
}
