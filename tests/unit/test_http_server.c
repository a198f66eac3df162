/* Unit tests for the HTTP server in-process: a private libuv loop, handlers
 * that answer late and out of order, clients on plain sockets. Covers what
 * the daemon's routes cannot show: ordering with asynchronous answers,
 * requests outliving their client, back-pressure, graceful close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/server.h"

#define MAX_DEFERRED 512

typedef struct fixture_s {
    uv_loop_t loop;
    http_server_t *srv;
    http_request_t *deferred[MAX_DEFERRED];
    int ndeferred;
    int done_called;
    int observed;
    int last_status;
    char last_route[64];
} fixture_t;

static fixture_t *fx;
static int header_timeout_ms;  /* for the next start_server; 0: none */
static int max_connections = 100;

static void on_fast(http_request_t *req, void *ud)
{
    (void)ud;
    char body[256];
    int n = snprintf(body, sizeof body, "fast %s", http_request_path(req));
    http_respond(req, 200, "text/plain", body, (size_t)n);
}

static void on_slow(http_request_t *req, void *ud)
{
    (void)ud;
    assert_true(fx->ndeferred < MAX_DEFERRED);
    fx->deferred[fx->ndeferred++] = req;
}

static void answer_slow(http_request_t *req)
{
    char body[256];
    int n = snprintf(body, sizeof body, "slow %s", http_request_param(req, "id"));
    http_respond(req, 200, "text/plain", body, (size_t)n);
}

static void on_echo(http_request_t *req, void *ud)
{
    (void)ud;
    size_t len;
    const char *body = http_request_body(req, &len);
    const char *q = http_request_query(req, "q");
    const char *h = http_request_header(req, "x-test");
    assert_int_equal(strlen(body), len);  /* NUL-terminated */
    http_response_header(req, "X-Query", q ? q : "(none)");
    http_response_header(req, "X-Header", h ? h : "(none)");
    http_response_header(req, "X-Bad", "a\r\nInjected: 1");  /* dropped */
    http_respond(req, 200, "application/octet-stream", body, len);
}

static void on_info(http_request_t *req, void *ud)
{
    (void)ud;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", http_request_param(req, "name"));
    cJSON_AddStringToObject(j, "route", http_request_route(req));
    cJSON_AddStringToObject(j, "method", http_request_method(req));
    const char *a = http_request_query(req, "a");
    cJSON_AddStringToObject(j, "a", a ? a : "(none)");
    http_respond_json(req, 201, j);
    cJSON_Delete(j);
}

static void on_fail(http_request_t *req, void *ud)
{
    (void)ud;
    http_respond_error(req, 409, "Conflict", "item %s is \"taken\"", http_request_param(req, "id"));
}

static void observer(const char *method, const char *route, int status, void *ud)
{
    (void)method;
    fixture_t *f = ud;
    f->observed++;
    f->last_status = status;
    snprintf(f->last_route, sizeof f->last_route, "%s", route ? route : "(null)");
}

static void start_server(size_t max_body, int idle_ms)
{
    fx = calloc(1, sizeof *fx);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    http_config_t cfg = {
        .host = "127.0.0.1",
        .port = 0,
        .max_body_bytes = max_body,
        .max_header_bytes = 4096,
        .max_connections = max_connections,
        .idle_timeout_ms = idle_ms,
        .header_timeout_ms = header_timeout_ms,
    };
    char err[128];
    assert_int_equal(http_server_start(&fx->loop, &cfg, &fx->srv, err, sizeof err), 0);
    assert_int_equal(http_server_route(fx->srv, "GET", "/fast", on_fast, NULL), 0);
    assert_int_equal(http_server_route(fx->srv, "GET", "/slow/{id}", on_slow, NULL), 0);
    assert_int_equal(http_server_route(fx->srv, "POST", "/echo", on_echo, NULL), 0);
    assert_int_equal(http_server_route(fx->srv, "GET", "/info/{name}", on_info, NULL), 0);
    assert_int_equal(http_server_route(fx->srv, "PUT", "/fail/{id}", on_fail, NULL), 0);
    assert_int_equal(http_server_route(fx->srv, "GET", "/bad/{", on_fast, NULL), -1);
    http_server_set_observer(fx->srv, observer, fx);
    assert_true(http_server_port(fx->srv) > 0);
}

static void on_done(void *ud)
{
    fixture_t *f = ud;
    f->done_called++;
    f->srv = NULL;
}

static void stop_server(void)
{
    if (fx->srv)
        http_server_close(fx->srv, on_done, fx);
    for (int i = 0; i < 1000 && !fx->done_called; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(fx->done_called, 1);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    free(fx);
    fx = NULL;
}

static int client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_server_port(fx->srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) {
            uv_run(&fx->loop, UV_RUN_NOWAIT);
            continue;
        }
        assert_true(n > 0);
        s += n;
        len -= (size_t)n;
    }
}

static void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* Runs the loop briefly; returns bytes read into buf (appending at *len),
 * and -1 in *eof when the server closed. */
static void pump(int fd, char *buf, size_t cap, size_t *len, int *eof)
{
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    for (;;) {
        if (*len >= cap)
            return;
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n > 0) {
            *len += (size_t)n;
            continue;
        }
        if (n == 0 || (n < 0 && errno != EAGAIN))
            *eof = 1;
        return;
    }
}

typedef struct resp_s {
    int status;
    char head[1024];
    char body[1024];
} resp_t;

/* Parses one full response at the start of buf; returns its length or 0. */
static size_t parse_resp(const char *buf, size_t len, resp_t *r)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end)
        return 0;
    size_t hl = (size_t)(end - buf) + 4;
    const char *cl = memmem(buf, hl, "Content-Length: ", 16);
    assert_non_null(cl);
    size_t blen = strtoul(cl + 16, NULL, 10);
    if (len < hl + blen)
        return 0;
    assert_true(hl < sizeof r->head && blen < sizeof r->body);
    memcpy(r->head, buf, hl);
    r->head[hl] = '\0';
    memcpy(r->body, buf + hl, blen);
    r->body[blen] = '\0';
    r->status = atoi(buf + 9);
    return hl + blen;
}

/* Reads exactly n responses (failing after ~3 s). */
static void read_responses(int fd, resp_t *out, int n)
{
    static char buf[1 << 20];
    size_t len = 0, off = 0;
    int eof = 0, got = 0;
    for (int i = 0; i < 3000 && got < n; i++) {
        pump(fd, buf, sizeof buf, &len, &eof);
        size_t k;
        while (got < n && (k = parse_resp(buf + off, len - off, &out[got])) > 0) {
            off += k;
            got++;
        }
        if (got < n && eof)
            break;
        if (got < n)
            usleep(1000);
    }
    assert_int_equal(got, n);
    assert_int_equal(off, len);  /* nothing beyond */
}

/* Runs the loop for ~ms and asserts no byte arrives. */
static void expect_silence(int fd, int ms)
{
    char buf[64];
    size_t len = 0;
    int eof = 0;
    for (int i = 0; i < ms; i++) {
        pump(fd, buf, sizeof buf, &len, &eof);
        usleep(1000);
    }
    assert_int_equal(len, 0);
    assert_int_equal(eof, 0);
}

static int wait_eof(int fd)
{
    char buf[4096];
    int eof = 0;
    for (int i = 0; i < 3000 && !eof; i++) {
        size_t len = 0;
        pump(fd, buf, sizeof buf, &len, &eof);
        if (!eof)
            usleep(1000);
    }
    return eof;
}

static void run_until_deferred(int n)
{
    for (int i = 0; i < 3000 && fx->ndeferred < n; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(fx->ndeferred, n);
}

static void test_late_answers_leave_in_request_order(void **state)
{
    (void)state;
    start_server(1024, 10000);
    int fd = client();
    send_str(fd, "GET /slow/1 HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\n\r\n"
                 "GET /slow/2 HTTP/1.1\r\n\r\nGET /fast?x=1 HTTP/1.1\r\n\r\n");
    run_until_deferred(2);
    expect_silence(fd, 30);             /* /fast is answered but waits for /slow/1 */
    answer_slow(fx->deferred[1]);       /* slow/2 first: still nothing may leave */
    expect_silence(fd, 30);
    answer_slow(fx->deferred[0]);
    resp_t r[4];
    read_responses(fd, r, 4);
    assert_string_equal(r[0].body, "slow 1");
    assert_string_equal(r[1].body, "fast /fast");
    assert_string_equal(r[2].body, "slow 2");
    assert_string_equal(r[3].body, "fast /fast");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].status, 200);
        assert_non_null(strstr(r[i].head, "Connection: keep-alive\r\n"));
        assert_non_null(strstr(r[i].head, "Content-Type: text/plain\r\n"));
    }
    assert_int_equal(fx->observed, 4);
    assert_string_equal(fx->last_route, "/slow/{id}");
    close(fd);
    stop_server();
}

static void test_request_outlives_its_client(void **state)
{
    (void)state;
    start_server(1024, 10000);
    int fd = client();
    send_str(fd, "GET /slow/abc%20d?x=1 HTTP/1.1\r\nX-Test: kept\r\n\r\n");
    run_until_deferred(1);
    http_request_t *req = fx->deferred[0];
    assert_int_equal(http_request_gone(req), 0);
    close(fd);
    for (int i = 0; i < 2000 && http_server_connections(fx->srv) > 0; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(http_server_connections(fx->srv), 0);
    assert_int_equal(http_request_gone(req), 1);
    /* Still valid: everything readable until answered. */
    assert_string_equal(http_request_param(req, "id"), "abc d");
    assert_string_equal(http_request_query(req, "x"), "1");
    assert_string_equal(http_request_header(req, "x-test"), "kept");
    assert_string_equal(http_request_path(req), "/slow/abc%20d");
    /* Closing the server waits for the answer, which frees the request. */
    http_server_close(fx->srv, on_done, fx);
    for (int i = 0; i < 50; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(fx->done_called, 0);
    http_response_header(req, "X-Late", "1");
    answer_slow(req);
    assert_int_equal(fx->done_called, 1);
    assert_int_equal(fx->last_status, 200);
    stop_server();
}

static void count_call(void *ud)
{
    (*(int *)ud)++;
}

/* Closing twice: the second call is refused and its callback never runs;
 * the first one's runs once, later. */
static void test_second_close_is_refused(void **state)
{
    (void)state;
    int again = 0;
    assert_int_equal(http_server_close(NULL, count_call, &again), -1);
    start_server(1024, 10000);
    assert_int_equal(http_server_close(fx->srv, on_done, fx), 0);
    assert_int_equal(http_server_close(fx->srv, count_call, &again), -1);
    assert_int_equal(fx->done_called, 0);
    stop_server();
    assert_int_equal(again, 0);
}

static void test_client_leaves_with_answers_queued(void **state)
{
    (void)state;
    start_server(1024, 10000);
    int fd = client();
    send_str(fd, "GET /slow/1 HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\n\r\n"
                 "GET /slow/2 HTTP/1.1\r\n\r\nGET /slow/3 HTTP/1.1\r\n\r\n");
    run_until_deferred(3);
    answer_slow(fx->deferred[1]);  /* ready, but queued behind slow/1 */
    close(fd);
    for (int i = 0; i < 2000 && http_server_connections(fx->srv) > 0; i++)
        uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(1000);
    assert_int_equal(http_server_connections(fx->srv), 0);
    assert_int_equal(http_request_gone(fx->deferred[0]), 1);
    assert_int_equal(http_request_gone(fx->deferred[2]), 1);
    answer_slow(fx->deferred[2]);
    http_respond_error(fx->deferred[0], 500, "X", "late %d", 1);
    assert_int_equal(fx->observed, 4);
    stop_server();
}

static void test_bodies_query_params_headers(void **state)
{
    (void)state;
    start_server(100, 10000);
    int fd = client();
    send_str(fd, "POST /echo?q=a%26b+c HTTP/1.1\r\nX-Empty:\r\nX-Test: \t hi there \t \r\nContent-Length: 11\r\n\r\nhello world"
                 "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n"
                 "POST /echo HTTP/1.1\r\n\r\n"
                 "GET /info/n%C3%A9e?a=1&a=2 HTTP/1.1\r\n\r\n"
                 "PUT /fail/7 HTTP/1.1\r\nContent-Length: 0\r\n\r\n"
                 "GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n");
    resp_t r[6];
    read_responses(fd, r, 6);
    assert_int_equal(r[0].status, 200);
    assert_string_equal(r[0].body, "hello world");
    assert_non_null(strstr(r[0].head, "\r\nX-Query: a&b c\r\n"));
    assert_non_null(strstr(r[0].head, "\r\nX-Header: hi there\r\n"));
    assert_null(strstr(r[0].head, "Injected"));
    assert_string_equal(r[1].body, "abcdefg");
    assert_non_null(strstr(r[1].head, "\r\nX-Query: (none)\r\n"));
    assert_string_equal(r[2].body, "");
    assert_non_null(strstr(r[2].head, "Content-Length: 0\r\n"));
    assert_int_equal(r[3].status, 201);
    assert_non_null(strstr(r[3].head, "HTTP/1.1 201 Created\r\n"));
    assert_non_null(strstr(r[3].head, "Content-Type: application/json\r\n"));
    assert_string_equal(r[3].body, "{\"name\":\"n\xc3\xa9""e\",\"route\":\"/info/{name}\",\"method\":\"GET\",\"a\":\"1\"}\n");
    assert_int_equal(r[4].status, 409);
    assert_string_equal(r[4].body, "{\"error\":\"Conflict\",\"message\":\"item 7 is \\\"taken\\\"\"}\n");
    assert_non_null(strstr(r[5].head, "Connection: close\r\n"));
    assert_int_equal(wait_eof(fd), 1);
    close(fd);
    stop_server();
}

static void test_backpressure_pauses_at_64_in_flight(void **state)
{
    (void)state;
    start_server(1024, 10000);
    int fd = client();
    enum { N = 200 };
    static char reqs[N * 40];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(reqs + len, sizeof reqs - len, "GET /slow/%d HTTP/1.1\r\n\r\n", i);
    send_all(fd, reqs, len);
    int answered = 0;
    static resp_t r[N];
    while (answered < N) {
        int want = N - answered < 64 ? N - answered : 64;
        run_until_deferred(answered + want);
        /* No more than 64 dispatched while none is answered. */
        for (int i = 0; i < 20; i++)
            uv_run(&fx->loop, UV_RUN_NOWAIT), usleep(500);
        assert_int_equal(fx->ndeferred, answered + want);
        for (int i = answered + want - 1; i >= answered; i--)  /* answer newest first */
            answer_slow(fx->deferred[i]);
        read_responses(fd, r + answered, want);
        answered += want;
    }
    for (int i = 0; i < N; i++) {
        char expect[32];
        snprintf(expect, sizeof expect, "slow %d", i);
        assert_string_equal(r[i].body, expect);
    }
    close(fd);
    stop_server();
}

static void test_close_finishes_in_flight_and_drops_idle(void **state)
{
    (void)state;
    start_server(1024, 10000);
    int idle = client();
    send_str(idle, "GET /fast HTTP/1.1\r\n\r\n");
    resp_t r[2];
    read_responses(idle, r, 1);
    int busy = client();
    send_str(busy, "GET /slow/x HTTP/1.1\r\n\r\n");
    run_until_deferred(1);
    http_server_close(fx->srv, on_done, fx);
    assert_int_equal(wait_eof(idle), 1);
    assert_int_equal(fx->done_called, 0);
    answer_slow(fx->deferred[0]);
    read_responses(busy, r, 1);
    assert_string_equal(r[0].body, "slow x");
    assert_non_null(strstr(r[0].head, "Connection: close\r\n"));
    assert_int_equal(wait_eof(busy), 1);
    close(idle);
    close(busy);
    stop_server();
}

static void test_limits_and_errors(void **state)
{
    (void)state;
    start_server(10, 10000);
    resp_t r[3];
    int a = client();
    send_str(a, "POST /echo HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    read_responses(a, r, 1);
    assert_int_equal(r[0].status, 413);
    assert_non_null(strstr(r[0].body, "\"error\":\"PayloadTooLarge\""));
    assert_string_equal(fx->last_route, "(null)");
    assert_int_equal(wait_eof(a), 1);
    close(a);

    int b = client();
    char big[5000];
    memset(big, 'h', sizeof big);
    memcpy(big, "GET /fast HTTP/1.1\r\nX: ", 23);
    send_all(b, big, sizeof big);
    read_responses(b, r, 1);
    assert_int_equal(r[0].status, 431);
    assert_int_equal(wait_eof(b), 1);
    close(b);

    int c = client();
    send_str(c, "GET /fast HTTP/1.1\r\n\r\nBLAH\x01 / HTTP/1.1\r\n\r\n");
    read_responses(c, r, 2);
    assert_int_equal(r[0].status, 200);
    assert_int_equal(r[1].status, 400);
    assert_non_null(strstr(r[1].body, "\"error\":\"BadRequest\""));
    assert_int_equal(wait_eof(c), 1);
    close(c);
    stop_server();
}

static void test_idle_timeout(void **state)
{
    (void)state;
    start_server(1024, 100);
    int fd = client();
    send_str(fd, "GET /slow/1 HTTP/1.1\r\n\r\n");
    run_until_deferred(1);
    /* In flight: the idle timer does not run. */
    expect_silence(fd, 250);
    answer_slow(fx->deferred[0]);
    resp_t r[1];
    read_responses(fd, r, 1);
    assert_int_equal(wait_eof(fd), 1);
    close(fd);
    stop_server();
}

/* A request head that misses its deadline while an earlier request is in
 * flight: its 408 waits for the earlier answer, then the connection ends. */
static void test_head_deadline_answers_after_earlier_requests(void **state)
{
    (void)state;
    header_timeout_ms = 100;
    start_server(1024, 0);
    header_timeout_ms = 0;
    int fd = client();
    send_str(fd, "GET /slow/1 HTTP/1.1\r\n\r\nGET /fast HT");
    run_until_deferred(1);
    expect_silence(fd, 250);  /* past the deadline: the 408 is queued, not sent */
    answer_slow(fx->deferred[0]);
    resp_t r[2];
    read_responses(fd, r, 2);
    assert_int_equal(r[0].status, 200);
    assert_string_equal(r[0].body, "slow 1");
    assert_int_equal(r[1].status, 408);
    assert_non_null(strstr(r[1].body, "\"error\":\"RequestTimeout\""));
    assert_non_null(strstr(r[1].head, "Connection: close"));
    assert_int_equal(wait_eof(fd), 1);
    close(fd);
    stop_server();
}

static void get_fast(int fd)
{
    send_str(fd, "GET /fast HTTP/1.1\r\n\r\n");
    resp_t r[1];
    read_responses(fd, r, 1);
    assert_int_equal(r[0].status, 200);
}

/* At max_connections a newcomer replaces a lingering connection first, then
 * the one waiting longest for its client; never one owed an answer or that
 * sent a request head recently. When all are such, the newcomer is closed. */
static void test_newcomer_takes_the_slot_of_a_waiting_connection(void **state)
{
    (void)state;
    max_connections = 4;
    start_server(1024, 10000);
    max_connections = 100;
    int a = client();  /* owed an answer */
    send_str(a, "GET /slow/1 HTTP/1.1\r\n\r\n");
    run_until_deferred(1);
    int b = client();  /* silent since it connected */
    expect_silence(b, 20);
    int c = client();  /* keep-alive, answered just now */
    get_fast(c);
    int l = client();  /* answered and lingering before its close */
    send_str(l, "GET /fast HTTP/1.1\r\nConnection: close\r\n\r\n");
    resp_t r[1];
    read_responses(l, r, 1);
    int d = client();  /* takes the lingering one's slot */
    get_fast(d);
    expect_silence(b, 20);
    int e = client();  /* takes the silent one's slot */
    get_fast(e);
    assert_int_equal(wait_eof(b), 1);
    int f = client();  /* everyone is protected: closed at once */
    assert_int_equal(wait_eof(f), 1);
    answer_slow(fx->deferred[0]);
    read_responses(a, r, 1);
    assert_string_equal(r[0].body, "slow 1");
    get_fast(c);
    int fds[] = {a, b, c, l, d, e, f};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        close(fds[i]);
    stop_server();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_late_answers_leave_in_request_order),
        cmocka_unit_test(test_request_outlives_its_client),
        cmocka_unit_test(test_client_leaves_with_answers_queued),
        cmocka_unit_test(test_second_close_is_refused),
        cmocka_unit_test(test_bodies_query_params_headers),
        cmocka_unit_test(test_backpressure_pauses_at_64_in_flight),
        cmocka_unit_test(test_close_finishes_in_flight_and_drops_idle),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_head_deadline_answers_after_earlier_requests),
        cmocka_unit_test(test_newcomer_takes_the_slot_of_a_waiting_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
