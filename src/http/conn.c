/* One HTTP connection from accept to close: reading and feeding the parser
 * (paused while 64 requests are in flight), writing answers in request
 * order, the request deadlines and idle timeout, and the lingering close. */
#include "internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct http_write_s {
    uv_write_t w;
    http_conn_t *c;
    int n;                       /* requests at the queue head this write carries */
    uv_buf_t bufs[HTTP_MAX_IOV];
} http_write_t;

static void conn_unlink(http_conn_t *c)
{
    http_server_t *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        srv->conns_tail = c->prev;
    c->prev = c->next = NULL;
}

/* Keeps the server's list in eviction order: a connection that made progress
 * goes last, one that is lingering first, so the newcomer's victim is usually
 * found at the front (see pick_victim in server.c). `after` NULL: first. */
static void conn_link_after(http_conn_t *c, http_conn_t *after)
{
    http_server_t *srv = c->srv;
    c->prev = after;
    c->next = after ? after->next : srv->conns;
    if (c->next)
        c->next->prev = c;
    else
        srv->conns_tail = c;
    if (after)
        after->next = c;
    else
        srv->conns = c;
}

static void conn_move(http_conn_t *c, int last)
{
    conn_unlink(c);
    conn_link_after(c, last ? c->srv->conns_tail : NULL);
}

/* From now on the connection waits only on its client (see conn_arm_timer). */
static void conn_mark_idle(http_conn_t *c)
{
    c->idle_at = uv_now(c->srv->loop);
    c->idle_wq = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

void http_conn_head_done(http_conn_t *c)
{
    c->head_done_at = uv_now(c->srv->loop);
    conn_move(c, 1);
}

void http_conn_enqueue(http_conn_t *c, http_request_t *r)
{
    assert((r->state == HTTP_REQ_HEAD || r->state == HTTP_REQ_BODY) && r->conn == c);
    r->next = NULL;
    if (c->tail)
        c->tail->next = r;
    else
        c->head = r;
    c->tail = r;
    if (!c->unsent)
        c->unsent = r;
    c->nqueue++;
    r->state = HTTP_REQ_DISPATCHED;
}

static void stop_reading(http_conn_t *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void drop_pending(http_conn_t *c)
{
    free(c->pend);
    c->pend = NULL;
    c->pend_off = c->pend_len = 0;
}

/* The request being read failed (parser error, limit, deadline): queue its
 * error response; the connection ends with it. */
static void conn_reject(http_conn_t *c, llhttp_errno_t err)
{
    http_request_t *r = c->cur;
    c->cur = NULL;
    c->stop_parse = 1;
    stop_reading(c);
    drop_pending(c);
    if (!r && !(r = http_req_new(c))) {
        http_conn_close(c);
        return;
    }
    http_req_state_t phase = r->state;
    r->close_after = 1;
    http_conn_enqueue(c, r);
    http_req_answer_failure(r, phase, err);
}

/* Parses `data`, which may lie inside c->pend. */
static void conn_feed(http_conn_t *c, const char *data, size_t len)
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
            conn_reject(c, err);
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
            http_conn_close(c);
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
    http_conn_t *c = h->data;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    http_conn_t *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {  /* EOF or error: the client is gone */
        http_conn_close(c);
        return;
    }
    if (c->lingering || c->stop_parse)
        return;  /* draining before close */
    conn_feed(c, buf->base, (size_t)nread);
    http_conn_progress(c);
}

static void start_reading(http_conn_t *c)
{
    if (!c->reading && !c->closing) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            http_conn_close(c);
            return;
        }
        c->reading = 1;
    }
}

static void on_written(uv_write_t *w, int status)
{
    http_write_t *wr = (http_write_t *)w;
    http_conn_t *c = wr->c;
    for (int i = 0; i < wr->n; i++) {
        http_request_t *r = c->head;
        assert(r && r->state == HTTP_REQ_WRITING);
        c->head = r->next;
        if (!c->head)
            c->tail = NULL;
        c->nqueue--;
        http_req_free(r);
    }
    assert(c->nqueue >= 0);
    conn_mark_idle(c);
    conn_move(c, 1);  /* answers left: progress */
    if (!c->spare)
        c->spare = wr;
    else
        free(wr);
    if (c->closing)
        return;
    if (status < 0) {
        http_conn_close(c);
        return;
    }
    http_conn_progress(c);
}

/* Hands every ready response at the front of the queue to uv_write. */
static void conn_flush(http_conn_t *c)
{
    while (c->unsent && c->unsent->state == HTTP_REQ_READY) {
        int n = 0;
        for (http_request_t *r = c->unsent; r && r->state == HTTP_REQ_READY && n < HTTP_MAX_IOV;
             r = r->next)
            n++;
        http_write_t *wr = c->spare ? c->spare : malloc(sizeof *wr);
        c->spare = NULL;
        if (!wr) {
            http_conn_close(c);
            return;
        }
        wr->c = c;
        wr->n = n;
        http_request_t *r = c->unsent;
        for (int i = 0; i < n; i++, r = r->next) {
            wr->bufs[i] = uv_buf_init(r->out, (unsigned)r->out_len);
            r->state = HTTP_REQ_WRITING;
        }
        c->unsent = r;
        if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, wr->bufs, (unsigned)n, on_written) < 0) {
            /* No callback will come: the close frees these requests. */
            free(wr);
            http_conn_close(c);
            return;
        }
        conn_mark_idle(c);  /* the stall check compares with what is queued now */
    }
}

/* The request being read is late: answer 408 after what is queued, then end. */
static void conn_timed_out(http_conn_t *c)
{
    c->err_status = 408;
    conn_reject(c, HPE_OK);
    http_conn_progress(c);
}

static void on_timer(uv_timer_t *t)
{
    http_conn_t *c = t->data;
    if (c->lingering) {
        http_conn_close(c);
    } else if (c->cur && c->deadline && !c->stop_parse) {
        if (uv_now(c->srv->loop) >= c->deadline)
            conn_timed_out(c);
        else
            http_conn_progress(c);  /* re-arms */
    } else if (c->nqueue == 0) {
        http_conn_close(c);  /* idle */
    } else if (!c->unsent) {
        /* Answers are being written: close only if the client took none of
         * their bytes for the whole idle timeout. */
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) < c->idle_wq) {
            conn_mark_idle(c);
            http_conn_progress(c);  /* re-arms */
        } else {
            http_conn_close(c);
        }
    }
}

/* One timer per connection: the deadline of the request being read, else the
 * idle timeout counted from when the connection last waited only on its
 * client: with nothing to do (input that starts no request does not extend
 * it), or with every answer handed to uv_write (a client that reads nothing
 * cannot hold the connection); none while a handler owes an answer. Without
 * a request deadline, any input restarts the idle timeout. */
static void conn_arm_timer(http_conn_t *c)
{
    int idle = c->srv->cfg.idle_timeout_ms;
    uint64_t now = uv_now(c->srv->loop), due = 0;
    if (c->cur && c->deadline && !c->stop_parse)
        due = c->deadline;
    else if ((c->nqueue == 0 || !c->unsent) && idle > 0)
        due = (c->cur ? now : c->idle_at) + (uint64_t)idle;
    if (due)
        uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
    else
        uv_timer_stop(&c->timer);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn_t *c = req->data;
    if (status < 0 && !c->closing)
        http_conn_close(c);
}

/* Every response is out and no request will follow: send FIN, then drain what
 * the client still sends for a moment so our last response is not destroyed
 * by a reset, and close. */
static void conn_finish(http_conn_t *c)
{
    if (c->lingering || c->closing)
        return;
    if (c->srv->closing) {
        http_conn_close(c);
        return;
    }
    c->lingering = 1;
    conn_move(c, 0);
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
        http_conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timer, HTTP_LINGER_MS, 0);
    start_reading(c);
}

void http_conn_progress(http_conn_t *c)
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
    http_conn_t *c = h->data;
    if (++c->nclosed < 2)
        return;
    assert(c->closing && c->nclosed == 2);
    http_server_t *srv = c->srv;
    /* Unanswered requests outlive the connection; the rest goes now. */
    for (http_request_t *r = c->head, *next; r; r = next) {
        next = r->next;
        if (r->state == HTTP_REQ_DISPATCHED) {
            r->conn = NULL;
            r->next = NULL;
        } else {
            http_req_free(r);
        }
    }
    if (c->cur)
        http_req_free(c->cur);
    free(c->spare);
    free(c->pend);
    conn_unlink(c);
    srv->nconns--;
    srv->nclosing--;
    free(c);
    http_server_maybe_done(srv);
}

void http_conn_close(http_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->srv->nclosing++;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}


void http_conn_accept(http_server_t *srv, uv_stream_t *ls)
{
    http_conn_t *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    llhttp_init(&c->parser, HTTP_REQUEST, &http_parser_settings);
    c->parser.data = c;
    conn_link_after(c, srv->conns_tail);
    srv->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) < 0) {
        http_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_mark_idle(c);
    start_reading(c);
    if (!c->closing)
        conn_arm_timer(c);
}

void http_conn_stop(http_conn_t *c)
{
    c->stop_parse = 1;
    c->paused = 0;
    stop_reading(c);
    if (!c->in_parse) {  /* else llhttp is reading pend; conn_feed drops it */
        drop_pending(c);
        if (c->cur) {
            http_req_free(c->cur);
            c->cur = NULL;
        }
    }
    if (c->nqueue == 0 || c->lingering)
        http_conn_close(c);
}
