/* HTTP responses: the status line and headers around a handler's body, built
 * once into one buffer and handed to the connection, which sends it when
 * every earlier response on that connection has left. */
#include "internal.h"

#include "asl/json.h"
#include "core/log.h"

#include <nettle/sha2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (!req || req->state != HTTP_REQ_DISPATCHED || !header_token_ok(name) || strpbrk(value, "\r\n"))
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
    if (!req || req->state != HTTP_REQ_DISPATCHED) {
        log_error("http: a request was answered twice or never dispatched");
        return;
    }
    http_server_t *srv = req->srv;
    http_conn_t *c = req->conn;
    if (req->to_handler) {
        req->to_handler = 0;
        srv->outstanding--;
    }
    if (status < 100 || status > 999)
        status = 500;
    if (srv->obs)
        srv->obs(http_request_method(req), http_request_route(req), status, srv->obs_ud);
    if (!c) {  /* the client left; answering only frees */
        http_req_free(req);
        http_server_maybe_done(srv);
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
        http_req_free(req);  /* cannot answer: the connection must end */
        http_conn_close(c);
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
    /* 204 and 304 have no body by definition, and a Content-Length on a 204
     * is forbidden. */
    if (status == 204 || status == 304) {
        len = 0;
    } else {
        p = PUT_LIT(p, "Content-Length: ");
        p = put(p, num, (size_t)snprintf(num, sizeof num, "%zu", len));
        p = PUT_LIT(p, "\r\n");
    }
    p = close ? PUT_LIT(p, "Connection: close\r\n") : PUT_LIT(p, "Connection: keep-alive\r\n");
    if (req->extra_len)
        p = put(p, req->extra, req->extra_len);
    p = PUT_LIT(p, "\r\n");
    /* A HEAD answer carries the length of the body it would have, not the body. */
    if (len && !(req->method && strcmp(req->method, "HEAD") == 0))
        p = put(p, body, len);
    http_req_drop_input(req);
    req->path = NULL;
    req->query = NULL;
    req->nparams = 0;
    req->nheaders = 0;
    req->out = out;
    req->out_len = (size_t)(p - out);
    req->state = HTTP_REQ_READY;
    if (close)
        req->close_after = 1;
    http_conn_progress(c);
}

int http_request_etag_fresh(const http_request_t *req, const char *tag)
{
    const char *inm = http_request_header(req, "If-None-Match");
    if (!inm)
        return 0;
    size_t tl = strlen(tag);
    const char *p = inm;
    for (;;) {
        p += strspn(p, " \t,");
        if (!*p)
            return 0;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ",");
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == tl && memcmp(p, tag, tl) == 0)
            return 1;
        p += strcspn(p, ",");
    }
}

void http_respond_tagged(http_request_t *req, const char *content_type, const char *body,
                         size_t len)
{
    const char *m = req ? http_request_method(req) : NULL;
    if (!m || (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)) {
        http_respond(req, 200, content_type, body, len);
        return;
    }
    uint8_t d[SHA256_DIGEST_SIZE];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)body);
    sha256_digest(&ctx, sizeof d, d);
    char tag[2 + 2 * 16 + 1], *t = tag;
    *t++ = '"';
    for (int i = 0; i < 16; i++)
        t += snprintf(t, 3, "%02x", d[i]);
    *t++ = '"';
    *t = 0;
    http_response_header(req, "ETag", tag);
    http_response_header(req, "Cache-Control", "no-cache");
    if (http_request_etag_fresh(req, tag))
        http_respond(req, 304, NULL, NULL, 0);
    else
        http_respond(req, 200, content_type, body, len);
}

void http_respond_json(http_request_t *req, int status, const cJSON *json)
{
    /* asl_json_print, not cJSON's printer: cJSON prints 2^53 as
     * 9007199254740990 and 0.30000000000000004 as 0.3. */
    char *s = json ? asl_json_print(json) : NULL;   /* NULL: a handler ran out of memory */
    if (!s) {
        static const char oom[] = "{\"error\":\"InternalError\",\"message\":\"out of memory\"}\n";
        http_respond(req, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    /* A newline ends the body, so that `curl` output and logs end their line. */
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (t) {
        s = t;
        s[n++] = '\n';
        s[n] = 0;
    }
    if (status == 200)
        http_respond_tagged(req, "application/json", s, n);
    else
        http_respond(req, status, "application/json", s, n);
    free(s);
}

void http_respond_error(http_request_t *req, int status, const char *error, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    if (j) {
        cJSON_AddStringToObject(j, "error", error);
        cJSON_AddStringToObject(j, "message", msg);
    }
    http_respond_json(req, status, j);
    cJSON_Delete(j);
}
