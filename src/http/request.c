/* HTTP requests as they are read: llhttp callbacks build each request in
 * its own buffer, enforce the header, body and version limits, then route
 * and dispatch it; and the accessors handlers read requests with. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- requests ---------------------------------------------------------- */

http_request_t *http_req_new(http_conn_t *c)
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

void http_req_drop_input(http_request_t *r)
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

void http_req_free(http_request_t *r)
{
    http_req_drop_input(r);
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

static int fail(http_conn_t *c, int status)
{
    c->err_status = status;
    return -1;
}

static int fail_bad(http_conn_t *c, const char *why)
{
    c->err_why = why;
    return fail(c, 400);
}

static int on_message_begin(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (c->stop_parse)
        return HPE_PAUSED;
    if (!(c->cur = http_req_new(c)))
        return fail(c, 503);
    int ms = c->srv->cfg.header_timeout_ms;
    c->deadline = ms > 0 ? uv_now(c->srv->loop) + (uint64_t)ms : 0;
    return 0;
}

/* Allows `bytes` more of body at the minimum rate on top of the deadline. */
static void extend_body_deadline(http_conn_t *c, uint64_t bytes)
{
    if (c->deadline)
        c->deadline += bytes * 1000 / HTTP_MIN_BODY_RATE;
}

static int on_head_data(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
    http_request_t *r = c->cur;
    r->hdr_bytes += len;
    if (r->hdr_bytes > c->srv->cfg.max_header_bytes)
        return fail(c, 431);
    return req_append(r, at, len) < 0 ? fail(c, 503) : 0;
}

/* Ends the URL or a header name with a NUL; `*next` marks what follows it. */
static int end_part(http_conn_t *c, size_t *next)
{
    http_request_t *r = c->cur;
    if (req_append(r, "", 1) < 0)
        return fail(c, 503);
    *next = r->len;
    return 0;
}

static int on_url_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    return end_part(c, &c->cur->hdr_off);
}

static int on_header_field_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    http_request_t *r = c->cur;
    r->nheaders++;
    r->hdr_bytes += 4;  /* ": " and CRLF */
    if (r->hdr_bytes > c->srv->cfg.max_header_bytes)
        return fail(c, 431);
    return end_part(c, &r->val_off);
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
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
    http_conn_t *c = p->data;
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
    http_conn_head_done(c);
    r->state = HTTP_REQ_BODY;
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
    http_conn_t *c = p->data;
    /* body_len never exceeds the limit, so the subtraction cannot wrap. */
    if (p->content_length > c->srv->cfg.max_body_bytes - c->cur->body_len)
        return fail(c, 413);
    extend_body_deadline(c, p->content_length);
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    http_conn_t *c = p->data;
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

void http_request_run(http_request_t *r)
{
    void *ud;
    http_handler_fn fn = http_route_handler(r->route, &ud);
    fn(r, ud);
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
        http_respond_error(r, 503, "ServiceUnavailable", "out of memory");
        return;
    }
    url = r->buf;  /* may have moved */
    char *scratch = r->buf + r->len;
    r->len += plen + 2;
    char *qout = r->buf + r->len;
    r->len += 2 * qlen + 2;
    r->nquery = q ? http_query_parse(url + plen + 1, qlen, qout) : 0;
    r->query = qout;
    r->raw_query = q ? url + plen + 1 : NULL;
    r->path = url;

    http_route_match_t m;
    char allow[256];
    int rc = http_router_match(srv->router, r->method, url, scratch, &m, allow, sizeof allow);
    if (rc == HTTP_ROUTER_FOUND) {
        r->route = m.route;
        r->nparams = m.nparams;
        memcpy(r->pnames, m.names, sizeof m.names);
        memcpy(r->pvals, m.values, sizeof m.values);
        if (srv->guard && srv->guard(r, srv->guard_ud) != 0)
            return;   /* the guard answered */
        r->to_handler = 1;
        srv->outstanding++;
        if (!srv->runner)
            http_request_run(r);
        else if (srv->runner(r, srv->runner_ud) < 0)
            http_respond_error(r, 503, "ServiceUnavailable", "out of memory; retry shortly");
    } else if (rc == HTTP_ROUTER_METHOD_NOT_ALLOWED) {
        http_response_header(r, "Allow", allow);
        http_respond_error(r, 405, "MethodNotAllowed", "%s is not allowed on %s; allowed: %s",
                           r->method, url, allow);
    } else {
        http_respond_error(r, 404, "NotFound", "no route for %s %s", r->method, url);
    }
}

static int on_message_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    http_request_t *r = c->cur;
    int keep_alive = llhttp_should_keep_alive(p);
    c->cur = NULL;
    if (r->body)
        r->body[r->body_len] = '\0';
    r->close_after = !keep_alive;
    if (!keep_alive)
        c->stop_parse = 1;
    http_conn_enqueue(c, r);
    dispatch(c->srv, r);
    if (c->stop_parse)
        return HPE_PAUSED;
    if (c->nqueue >= HTTP_MAX_INFLIGHT) {
        c->paused = 1;
        return HPE_PAUSED;
    }
    return 0;
}

const llhttp_settings_t http_parser_settings = {
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

/* Answers `r`, the request its connection failed to read (a parser error, a
 * limit, a deadline), with the error recorded on the connection. */
void http_req_answer_failure(http_request_t *r, http_req_state_t phase, llhttp_errno_t err)
{
    const http_conn_t *c = r->conn;
    const http_config_t *cfg = &c->srv->cfg;
    http_req_drop_input(r);  /* a half-read request: only the method may be known */
    switch (c->err_status) {
    case 413:
        http_respond_error(r, 413, "PayloadTooLarge",
                           "request body is larger than max_body_bytes (%zu bytes)",
                           cfg->max_body_bytes);
        break;
    case 431:
        http_respond_error(r, 431, "HeadersTooLarge",
                           "request line and headers are larger than %zu bytes",
                           cfg->max_header_bytes);
        break;
    case 503:
        http_respond_error(r, 503, "ServiceUnavailable", "out of memory");
        break;
    case 400:
        http_respond_error(r, 400, "BadRequest", "malformed HTTP request: %s", c->err_why);
        break;
    case 408:
        if (phase == HTTP_REQ_BODY)
            http_respond_error(r, 408, "RequestTimeout", "the request body did not arrive within "
                               "body_timeout_ms (%d ms) plus 1 s per 64 KiB",
                               cfg->body_timeout_ms);
        else
            http_respond_error(r, 408, "RequestTimeout", "the request line and headers did not "
                               "arrive within header_timeout_ms (%d ms) of their first byte",
                               cfg->header_timeout_ms);
        break;
    default:
        http_respond_error(r, 400, "BadRequest", "malformed HTTP request: %s (%s)",
                           llhttp_get_error_reason(&c->parser), llhttp_errno_name(err));
        break;
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

const char *http_request_raw_query(const http_request_t *req)
{
    return req->raw_query ? req->raw_query : "";
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

