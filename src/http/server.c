/* The HTTP server's lifecycle: listening, admitting connections (the
 * max_connections policy), routes and observer, and a graceful close that
 * waits for every dispatched request to be answered. */
#include "internal.h"

#include "core/log.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * one that is idle, still sending a request or not reading its answers,
 * oldest progress (accepted, request head read, answers written) first. A
 * connection a handler owes an answer (c->unsent), or that completed a
 * request head within the last header_timeout_ms, is never taken: a client
 * that keeps up keeps its slot. The list is kept in that
 * order (conn.c), so the scan usually stops at once. NULL when every
 * connection is protected. */
static http_conn_t *pick_victim(http_server_t *srv)
{
    uint64_t now = uv_now(srv->loop);
    int ms = srv->cfg.header_timeout_ms > 0 ? srv->cfg.header_timeout_ms : HTTP_DEFAULT_RECENT_MS;
    for (http_conn_t *c = srv->conns; c; c = c->next) {
        if (c->closing)
            continue;
        if (c->lingering)
            return c;
        if (!c->unsent && (!c->head_done_at || now - c->head_done_at >= (uint64_t)ms))
            return c;
    }
    return NULL;
}

static void on_connection(uv_stream_t *ls, int status)
{
    http_server_t *srv = ls->data;
    if (status < 0) {
        warn_limited(srv, "http: accept failed: %s", uv_strerror(status));
        return;
    }
    http_conn_t *victim = NULL;
    int full = srv->cfg.max_connections > 0 &&
               srv->nconns - srv->nclosing >= srv->cfg.max_connections;
    if (full && (victim = pick_victim(srv))) {
        warn_limited(srv, "http: %s; closing the connection that waited longest for its client",
                     "max_connections reached");
        http_conn_close(victim);  /* its descriptor is closed now, its memory later */
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
    http_conn_accept(srv, ls);
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

void http_server_set_guard(http_server_t *srv, http_guard_fn fn, void *ud)
{
    srv->guard = fn;
    srv->guard_ud = ud;
}

void http_server_set_runner(http_server_t *srv, http_runner_fn fn, void *ud)
{
    srv->runner = fn;
    srv->runner_ud = ud;
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

void http_server_maybe_done(http_server_t *srv)
{
    assert(srv->nclosing >= 0 && srv->nclosing <= srv->nconns);
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
    http_server_maybe_done(srv);
}

int http_server_close(http_server_t *srv, void (*done)(void *ud), void *ud)
{
    if (!srv || srv->closing)
        return -1;
    srv->closing = 1;
    srv->done = done;
    srv->done_ud = ud;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    for (http_conn_t *c = srv->conns; c; c = c->next)
        http_conn_stop(c);  /* a close only unlinks c in its callback */
    return 0;
}
