/* The outbound HTTP client: libcurl's multi-socket API on the libuv loop.
 * curl says which sockets to watch (socket callback: one uv_poll_t each) and
 * when to call it back (timer callback: one uv_timer_t); both report to
 * curl_multi_socket_action, and finished transfers are collected after it. */
#include "net/httpc.h"
#include "core/grow.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

/* A doubly linked list's links, first in what is listed. */
typedef struct link_s {
    struct link_s *prev, *next;
} link_t;

typedef struct sock_s {
    link_t link;                  /* on the client's list until curl lets go */
    uv_poll_t poll;
    curl_socket_t fd;
    httpc_t *c;
} sock_t;

struct httpc_s {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    link_t *reqs;                 /* httpc_req_t in flight */
    size_t n_reqs;
    link_t *socks;                /* sock_t watched */
    int dispatching;              /* inside a done callback */
};

struct httpc_req_s {
    link_t link;
    httpc_t *c;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;                   /* the request body (curl does not copy it) */
    httpc_done_cb cb;
    void *data;
    uint64_t start_ns;
    size_t max_body;
    int too_large;
    int oom;
    int in_cb;                    /* its callback is running */
    /* The response as it arrives. */
    char *rbody;
    size_t rlen, rcap;
    char *status_text;
    httpc_header_t *rh;           /* names and values are malloc'd */
    size_t nrh, caprh;
    char errbuf[CURL_ERROR_SIZE];
};

/* curl_global_init/cleanup pair up across clients (one per daemon, but tests
 * open several). */
static int global_refs;

static void check_done(httpc_t *c);

static void link_push(link_t **head, link_t *l)
{
    l->prev = NULL;
    l->next = *head;
    if (*head)
        (*head)->prev = l;
    *head = l;
}

static void link_unlink(link_t **head, link_t *l)
{
    if (l->prev)
        l->prev->next = l->next;
    else
        *head = l->next;
    if (l->next)
        l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

/* ---- sockets and the timer ---------------------------------------------- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    sock_t *sk = h->data;
    httpc_t *c = sk->c;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    /* curl may let go of the socket inside: sk is not touched afterwards. */
    curl_multi_socket_action(c->multi, sk->fd, flags, &running);
    check_done(c);
}

static void sock_free(uv_handle_t *h)
{
    free(h->data);
}

/* Unlinks and closes; the memory goes when libuv is done with the handle. */
static void sock_destroy(httpc_t *c, sock_t *sk)
{
    link_unlink(&c->socks, &sk->link);
    uv_poll_stop(&sk->poll);
    uv_close((uv_handle_t *)&sk->poll, sock_free);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    httpc_t *c = userp;
    sock_t *sk = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_destroy(c, sk);
        }
        return 0;
    }
    if (!sk) {
        sk = calloc(1, sizeof *sk);
        if (!sk)
            return -1;
        if (uv_poll_init_socket(c->loop, &sk->poll, fd) < 0) {
            free(sk);
            return -1;
        }
        sk->fd = fd;
        sk->c = c;
        sk->poll.data = sk;
        link_push(&c->socks, &sk->link);
        curl_multi_assign(c->multi, fd, sk);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&sk->poll, events, on_poll) < 0 ? -1 : 0;
}

static void on_uv_timeout(uv_timer_t *t)
{
    httpc_t *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    httpc_t *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else /* 0 means "now": the next turn of the loop, never from inside curl */
        uv_timer_start(&c->timer, on_uv_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- the response as it arrives ------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    httpc_req_t *r = ud;
    size_t len = size * n;
    if (r->rlen + len > r->max_body) {
        r->too_large = 1;
        return 0;   /* curl fails the transfer with CURLE_WRITE_ERROR */
    }
    if (grow_reserve(&r->rbody, &r->rcap, r->rlen + len + 1, 1) < 0) {
        r->oom = 1;
        return 0;
    }
    memcpy(r->rbody + r->rlen, p, len);
    r->rlen += len;
    r->rbody[r->rlen] = '\0';
    return len;
}

static void headers_clear(httpc_req_t *r)
{
    for (size_t i = 0; i < r->nrh; i++) {
        free((char *)r->rh[i].name);
        free((char *)r->rh[i].value);
    }
    r->nrh = 0;
    free(r->status_text);
    r->status_text = NULL;
}

static char *dup_trimmed(const char *p, size_t n)
{
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* A status line starts a response (interim 1xx ones included): the headers
 * kept are those of the last one. */
static int status_line(httpc_req_t *r, const char *p, size_t n)
{
    headers_clear(r);
    const char *sp = memchr(p, ' ', n);               /* after "HTTP/1.1" */
    const char *end = p + n;
    const char *text = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
    r->status_text = text ? dup_trimmed(text + 1, (size_t)(end - text - 1)) : dup_trimmed("", 0);
    return r->status_text ? 0 : -1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    httpc_req_t *r = ud;
    size_t len = size * n;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return status_line(r, p, len) < 0 ? (r->oom = 1, 0) : len;
    const char *colon = memchr(p, ':', len);
    if (!colon || colon == p)
        return len;   /* the blank line that ends the head, or a folded line */
    if (grow_reserve(&r->rh, &r->caprh, r->nrh + 1, sizeof *r->rh) < 0) {
        r->oom = 1;
        return 0;
    }
    char *name = dup_trimmed(p, (size_t)(colon - p));
    char *value = dup_trimmed(colon + 1, (size_t)(p + len - colon - 1));
    if (!name || !value) {
        free(name);
        free(value);
        r->oom = 1;
        return 0;
    }
    for (char *q = name; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    r->rh[r->nrh].name = name;
    r->rh[r->nrh].value = value;
    r->nrh++;
    return len;
}

/* ---- requests ------------------------------------------------------------- */

static void req_free(httpc_req_t *r)
{
    httpc_t *c = r->c;
    link_unlink(&c->reqs, &r->link);
    assert(c->n_reqs > 0);
    c->n_reqs--;
    if (r->easy) {
        curl_multi_remove_handle(c->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    headers_clear(r);
    free(r->rh);
    free(r->rbody);
    free(r->body);
    free(r);
}

static httpc_outcome_t outcome_of(const httpc_req_t *r, CURLcode rc)
{
    if (r->too_large || rc == CURLE_FILESIZE_EXCEEDED)
        return HTTPC_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return r->oom ? HTTPC_FAILED : HTTPC_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTPC_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_FAILED_INIT:
    case CURLE_WRITE_ERROR:
        return HTTPC_FAILED;
    default:
        return HTTPC_SOCKET;
    }
}

/* RFC 9110's reason phrases, for responses that carry none (HTTP/2). */
static const char *standard_reason(int status)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {
        {100, "Continue"}, {200, "OK"}, {201, "Created"}, {202, "Accepted"},
        {203, "Non-Authoritative Information"}, {204, "No Content"}, {206, "Partial Content"},
        {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"}, {304, "Not Modified"},
        {307, "Temporary Redirect"}, {308, "Permanent Redirect"}, {400, "Bad Request"},
        {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
        {404, "Not Found"}, {405, "Method Not Allowed"}, {406, "Not Acceptable"},
        {408, "Request Timeout"}, {409, "Conflict"}, {410, "Gone"},
        {412, "Precondition Failed"}, {413, "Content Too Large"},
        {415, "Unsupported Media Type"}, {422, "Unprocessable Content"},
        {429, "Too Many Requests"}, {500, "Internal Server Error"}, {501, "Not Implemented"},
        {502, "Bad Gateway"}, {503, "Service Unavailable"}, {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "";
}

static void finish(httpc_t *c, httpc_req_t *r, CURLcode rc)
{
    httpc_response_t res = {.outcome = outcome_of(r, rc)};
    res.elapsed_ms = (int64_t)((uv_hrtime() - r->start_ns) / 1000000);
    if (res.outcome == HTTPC_OK) {
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        res.status = (int)status;
        res.status_text = r->status_text && *r->status_text ? r->status_text
                                                            : standard_reason(res.status);
        res.headers = r->rh;
        res.n_headers = r->nrh;
        res.body = r->rbody ? r->rbody : "";
        res.body_len = r->rlen;
    } else if (res.outcome == HTTPC_TOO_LARGE) {
        res.error = "the response body is larger than the limit";
    } else if (r->oom) {
        res.error = "out of memory reading the response";
    } else {
        res.error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
    }
    c->dispatching++;
    r->in_cb = 1;
    r->cb(&res, r->data);
    c->dispatching--;
    req_free(r);
}

static void check_done(httpc_t *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        CURLcode rc = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        httpc_req_t *r = (httpc_req_t *)(void *)priv;
        assert(r && r->easy == msg->easy_handle);
        finish(c, r, rc);
    }
}

static int add_headers(httpc_req_t *r, const httpc_request_t *q)
{
    char line[8192];
    for (size_t i = 0; i < q->n_headers; i++) {
        const httpc_header_t *h = &q->headers[i];
        if (strpbrk(h->name, "\r\n:") || strpbrk(h->value, "\r\n") || !*h->name)
            return -1;
        /* "Name;" is curl's way to send a header with an empty value. */
        int n = *h->value ? snprintf(line, sizeof line, "%s: %s", h->name, h->value)
                          : snprintf(line, sizeof line, "%s;", h->name);
        if (n < 0 || (size_t)n >= sizeof line)
            return -1;
        struct curl_slist *l = curl_slist_append(r->hdrs, line);
        if (!l)
            return -1;
        r->hdrs = l;
    }
    /* No "Expect: 100-continue" round trip before large bodies. */
    struct curl_slist *l = curl_slist_append(r->hdrs, "Expect:");
    if (!l)
        return -1;
    r->hdrs = l;
    return 0;
}

static int set_method(httpc_req_t *r, const httpc_request_t *q)
{
    CURL *e = r->easy;
    if (strcmp(q->method, "HEAD") == 0)
        return curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK ? 0 : -1;
    if (q->body) {
        r->body = malloc(q->body_len ? q->body_len : 1);
        if (!r->body)
            return -1;
        memcpy(r->body, q->body, q->body_len);
        if (curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len) ||
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body))
            return -1;
    }
    if (strcmp(q->method, q->body ? "POST" : "GET") == 0)
        return 0;
    return curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method) == CURLE_OK ? 0 : -1;
}

static int configure(httpc_req_t *r, const httpc_request_t *q)
{
    CURL *e = r->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, q->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    /* Cancelling during a DNS lookup must not wait for the resolver thread. */
    bad |= curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "sagad") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_body) != CURLE_OK;
    if (q->timeout_ms > 0)
        bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms) != CURLE_OK;
    if (q->connect_timeout_ms > 0)
        bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)q->connect_timeout_ms) !=
               CURLE_OK;
    if (bad || add_headers(r, q) < 0 || set_method(r, q) < 0)
        return -1;
    return curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs) == CURLE_OK ? 0 : -1;
}

int httpc_submit(httpc_t *c, const httpc_request_t *q, httpc_done_cb cb, void *data,
                 httpc_req_t **out)
{
    assert(c && q && q->method && q->url && cb);
    if (out)
        *out = NULL;
    httpc_req_t *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->c = c;
    r->cb = cb;
    r->data = data;
    r->max_body = q->max_response_bytes ? q->max_response_bytes : HTTPC_MAX_RESPONSE_BYTES;
    r->start_ns = uv_hrtime();
    link_push(&c->reqs, &r->link);
    c->n_reqs++;
    r->easy = curl_easy_init();
    if (!r->easy || configure(r, q) < 0) {
        req_free(r);
        return -1;
    }
    /* Adding only arms the timer: the transfer starts from the loop. */
    if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        req_free(r);
        return -1;
    }
    if (out)
        *out = r;
    return 0;
}

void httpc_cancel(httpc_req_t *r)
{
    if (!r)
        return;
    assert(!r->in_cb);
    req_free(r);
}

size_t httpc_pending(const httpc_t *c)
{
    return c ? c->n_reqs : 0;
}

/* ---- the client ------------------------------------------------------------ */

int httpc_open(uv_loop_t *loop, httpc_t **out)
{
    *out = NULL;
    if (global_refs == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    global_refs++;
    httpc_t *c = calloc(1, sizeof *c);
    if (!c || !(c->multi = curl_multi_init())) {
        free(c);
        if (--global_refs == 0)
            curl_global_cleanup();
        return -1;
    }
    c->loop = loop;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    *out = c;
    return 0;
}

static void client_free(uv_handle_t *h)
{
    free(h->data);
    if (--global_refs == 0)
        curl_global_cleanup();
}

void httpc_close(httpc_t *c)
{
    if (!c)
        return;
    assert(!c->dispatching);
    while (c->reqs)
        req_free((httpc_req_t *)(void *)c->reqs);   /* the link is the first member */
    /* Cached connections close here; curl may still report their sockets. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->socks)
        sock_destroy(c, (sock_t *)(void *)c->socks);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, client_free);
}
