/* Unit tests for the HTTP task's pure helpers (allow-list matching, query and
 * Idempotency-Key encoding), its config keys, and net/httpc against a real
 * TCP server on the same loop: a response, cancel (no callback) and close
 * with requests in flight (no callback, nothing leaked). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "asl/machine.h"
#include "core/config.h"
#include "handlers/http_invoke.h"
#include "net/httpc.h"

static void test_url_allowed(void **state)
{
    (void)state;
    const char *allow = "https://api.example.com/v1, http://127.0.0.1:8081/";
    static const struct {
        const char *url;
        int want;
    } cases[] = {
        {"https://api.example.com/v1", 1},
        {"https://api.example.com/v1/orders?x=1", 1},
        {"HTTPS://API.example.com:443/v1/x", 1},
        {"http://127.0.0.1:8081/anything", 1},
        /* Not under: another path, host, port or scheme, or tricks with them. */
        {"https://api.example.com/v10", 0},
        {"https://api.example.com/v1/../admin", 0},
        {"https://api.example.com/v1/%2e%2e/admin", 0},
        {"https://api.example.com/v1/%2E%2e%2Fadmin", 0},
        {"https://api.example.com/v1/..%5cadmin", 0},
        {"http://127.0.0.1:8081/%2e%2e/x", 1},   /* the whole host is allowed anyway */
        {"https://api.example.com/v1/a%20b", 1},
        {"https://api.example.com.evil.net/v1", 0},
        {"https://api.example.com@evil.net/v1", 0},
        {"https://api.example.com:8443/v1", 0},
        {"http://api.example.com/v1", 0},
        {"http://127.0.0.1:8082/", 0},
        {"http://127.0.0.1/", 0},
        /* No absolute http(s) URL. */
        {"ftp://api.example.com/v1", -1},
        {"not a url", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(http_invoke_url_allowed(allow, cases[i].url), cases[i].want);
    /* Nothing is allowed by an empty list. */
    assert_int_equal(http_invoke_url_allowed("", "https://api.example.com/v1"), 0);
    assert_int_equal(http_invoke_url_allowed(NULL, "https://api.example.com/v1"), 0);
}

static void test_escapes(void **state)
{
    (void)state;
    char *s = http_invoke_query_escape("a b&c=d/\xc3\xa9~._-");
    assert_string_equal(s, "a%20b%26c%3Dd%2F%C3%A9~._-");
    free(s);
    s = http_invoke_idempotency_key("0190-ab:State one:3:0");
    assert_string_equal(s, "0190-ab:State%20one:3:0");
    free(s);
    s = http_invoke_idempotency_key("x\r\nEvil: 1%");
    assert_string_equal(s, "x%0D%0AEvil:%201%25");
    free(s);
}

static void test_config_keys(void **state)
{
    (void)state;
    config_t c;
    char err[CONFIG_ERR_MAX];
    config_defaults(&c);
    assert_string_equal(c.http_task_allow, "");
    assert_int_equal(c.http_task_timeout_ms, 60000);
    assert_int_equal(config_set(&c, "http_task_allow", "https://a.example/v1, http://b:80",
                                "f", 1, err), 0);
    assert_string_equal(c.http_task_allow, "https://a.example/v1, http://b:80");
    assert_int_equal(config_set(&c, "http_task_allow", "", "f", 1, err), 0);
    const char *bad[] = {"ftp://a", "http://", "https:///x", "http://a,", ",http://a",
                         "http://a,,http://b", "http://a?q=1", "http://u@a", "http://a b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(config_set(&c, "http_task_allow", bad[i], "f", 3, err), -1);
        assert_non_null(strstr(err, "f:3: key 'http_task_allow'"));
    }
    assert_int_equal(config_set(&c, "http_task_timeout_ms", "1500", "f", 1, err), 0);
    assert_int_equal(c.http_task_timeout_ms, 1500);
    assert_int_equal(config_set(&c, "http_task_timeout_ms", "0", "f", 1, err), -1);
}

/* Retry and Catch may name the HTTP task's errors; other States.Http.* names
 * stay reserved. */
static void test_error_names_in_catch(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"States.Http.Socket", 1}, {"States.Http.Forbidden", 1},
        {"States.Http.StatusCode.503", 1}, {"States.Http.StatusCode.100", 1},
        {"States.Http.StatusCode.599", 1}, {"States.Http.StatusCode.600", 0},
        {"States.Http.StatusCode.50", 0}, {"States.Http.StatusCode.5031", 0},
        {"States.Http.StatusCode.", 0}, {"States.Http.StatusCode.5x3", 0},
        {"States.Http.Other", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char def[512];
        snprintf(def, sizeof def,
                 "{\"StartAt\": \"T\", \"States\": {\"T\": {\"Type\": \"Task\", "
                 "\"Resource\": \"sagad:http.invoke\", \"End\": true, \"Catch\": "
                 "[{\"ErrorEquals\": [\"%s\"], \"Next\": \"E\"}]}, "
                 "\"E\": {\"Type\": \"Succeed\"}}}", cases[i].name);
        asl_machine_t *m = NULL;
        int rc = asl_machine_compile_text(def, strlen(def), &m, NULL);
        assert_int_equal(rc, cases[i].ok ? 0 : -1);
        asl_machine_free(m);
    }
}

/* ---- httpc against a TCP server on the same loop --------------------------- */

typedef enum { SRV_ANSWER, SRV_SILENT } srv_mode_t;

typedef struct srv_s {
    uv_tcp_t tcp;
    srv_mode_t mode;
    int port;
    int conns;
} srv_t;

typedef struct client_conn_s {
    uv_tcp_t tcp;
    uv_write_t wr;
    srv_t *srv;
} client_conn_t;

/* No reason phrase: the client fills in the standard one. */
static const char answer[] = "HTTP/1.1 201 \r\nContent-Type: application/json\r\n"
                             "X-A: 1\r\nX-A: 2\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                             "{\"a\":1}";

static void conn_free(uv_handle_t *h)
{
    free(h->data);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    static char mem[4096];
    (void)hint;
    *buf = uv_buf_init(mem, sizeof mem);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    client_conn_t *cc = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, conn_free);
        return;
    }
    /* One read holds the whole small request head in these tests. */
    if (n > 0 && cc->srv->mode == SRV_ANSWER) {
        uv_buf_t out = uv_buf_init((char *)answer, sizeof answer - 1);
        uv_write(&cc->wr, s, &out, 1, NULL);
    }
}

static void on_conn(uv_stream_t *server, int status)
{
    srv_t *srv = server->data;
    assert_int_equal(status, 0);
    client_conn_t *cc = calloc(1, sizeof *cc);
    cc->srv = srv;
    uv_tcp_init(server->loop, &cc->tcp);
    cc->tcp.data = cc;
    assert_int_equal(uv_accept(server, (uv_stream_t *)&cc->tcp), 0);
    srv->conns++;
    uv_read_start((uv_stream_t *)&cc->tcp, on_alloc, on_read);
}

static void srv_start(uv_loop_t *loop, srv_t *srv, srv_mode_t mode)
{
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got;
    memset(srv, 0, sizeof *srv);
    srv->mode = mode;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(loop, &srv->tcp);
    srv->tcp.data = srv;
    assert_int_equal(uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&srv->tcp, 16, on_conn), 0);
    uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&got, &len);
    srv->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* What is left open is the listener (`arg`) and accepted connections. */
static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, h == arg ? NULL : conn_free);
}

typedef struct seen_s {
    int calls;
    int status;
    httpc_outcome_t outcome;
    char body[64];
    char text[32];
    int xa;
} seen_t;

static void on_done(const httpc_response_t *res, void *data)
{
    seen_t *s = data;
    s->calls++;
    s->outcome = res->outcome;
    s->status = res->status;
    if (res->outcome == HTTPC_OK) {
        snprintf(s->body, sizeof s->body, "%s", res->body);
        snprintf(s->text, sizeof s->text, "%s", res->status_text);
        for (size_t i = 0; i < res->n_headers; i++)
            s->xa += strcmp(res->headers[i].name, "x-a") == 0;
    }
}

static httpc_request_t request_to(const srv_t *srv, char *url, size_t cap)
{
    snprintf(url, cap, "http://127.0.0.1:%d/x", srv->port);
    static const httpc_header_t hdr[] = {{"Idempotency-Key", "k"}};
    return (httpc_request_t){.method = "POST", .url = url, .headers = hdr, .n_headers = 1,
                             .body = "{}", .body_len = 2, .timeout_ms = 5000};
}

static void on_stop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop for `ms` (a timer stops it: the server keeps it alive). */
static void run_for(uv_loop_t *loop, int ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_stop, (uint64_t)ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void finish_loop(uv_loop_t *loop, srv_t *srv)
{
    uv_walk(loop, close_walk, &srv->tcp);
    while (uv_run(loop, UV_RUN_DEFAULT))
        ;
    assert_int_equal(uv_loop_close(loop), 0);
}

/* A loop, a server in `mode`, a client and a request to the server. */
typedef struct fix_s {
    uv_loop_t loop;
    srv_t srv;
    httpc_t *c;
    char url[64];
    httpc_request_t q;
} fix_t;

static void fix_open(fix_t *f, srv_mode_t mode)
{
    uv_loop_init(&f->loop);
    srv_start(&f->loop, &f->srv, mode);
    assert_int_equal(httpc_open(&f->loop, &f->c), 0);
    f->q = request_to(&f->srv, f->url, sizeof f->url);
}

static void fix_close(fix_t *f)
{
    httpc_close(f->c);
    finish_loop(&f->loop, &f->srv);
}

/* Runs the loop until `*flag` is non-zero (at most 2 s). */
static void run_until(fix_t *f, const int *flag)
{
    for (int i = 0; i < 200 && !*flag; i++)
        run_for(&f->loop, 10);
}

static void test_httpc_response(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f, SRV_ANSWER);
    seen_t seen = {0};
    assert_int_equal(httpc_submit(f.c, &f.q, on_done, &seen, NULL), 0);
    assert_int_equal(seen.calls, 0);   /* never from inside submit */
    assert_int_equal(httpc_pending(f.c), 1);
    run_until(&f, &seen.calls);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.outcome, HTTPC_OK);
    assert_int_equal(seen.status, 201);
    assert_string_equal(seen.text, "Created");
    assert_string_equal(seen.body, "{\"a\":1}");
    assert_int_equal(seen.xa, 2);
    assert_int_equal(httpc_pending(f.c), 0);
    fix_close(&f);
}

static void test_httpc_cancel_and_close(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f, SRV_SILENT);
    seen_t a = {0}, b = {0};
    httpc_req_t *ra;
    assert_int_equal(httpc_submit(f.c, &f.q, on_done, &a, &ra), 0);
    assert_int_equal(httpc_submit(f.c, &f.q, on_done, &b, NULL), 0);
    for (int i = 0; i < 200 && f.srv.conns < 2; i++)
        run_for(&f.loop, 10);
    assert_int_equal(f.srv.conns, 2);
    httpc_cancel(ra);
    assert_int_equal(httpc_pending(f.c), 1);
    run_for(&f.loop, 50);
    fix_close(&f);   /* b still in flight: dropped without its callback */
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
}

static void test_httpc_refused(void **state)
{
    (void)state;
    fix_t f;
    fix_open(&f, SRV_ANSWER);
    uv_tcp_t other;   /* a port nobody listens on: bound, never listening */
    struct sockaddr_in addr;
    struct sockaddr_storage got;
    int len = sizeof got;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    uv_tcp_init(&f.loop, &other);
    assert_int_equal(uv_tcp_bind(&other, (const struct sockaddr *)&addr, 0), 0);
    uv_tcp_getsockname(&other, (struct sockaddr *)&got, &len);
    int port = ntohs(((struct sockaddr_in *)&got)->sin_port);
    snprintf(f.url, sizeof f.url, "http://127.0.0.1:%d/x", port);
    seen_t seen = {0};
    assert_int_equal(httpc_submit(f.c, &f.q, on_done, &seen, NULL), 0);
    run_until(&f, &seen.calls);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.outcome, HTTPC_SOCKET);
    uv_close((uv_handle_t *)&other, NULL);
    fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_allowed),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_error_names_in_catch),
        cmocka_unit_test(test_httpc_response),
        cmocka_unit_test(test_httpc_cancel_and_close),
        cmocka_unit_test(test_httpc_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
