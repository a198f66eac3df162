/* A small blocking HTTP/1.1 client for sagactl: one request per connection,
 * non-blocking socket driven by poll() so that connect and every read have a
 * deadline. Understands Content-Length, chunked bodies and close-delimited ones. */
#include "cli/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_REPLY (64u * 1024 * 1024)

static void set_err(char err[CLI_HTTP_ERR_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_err(char err[CLI_HTTP_ERR_MAX], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CLI_HTTP_ERR_MAX, fmt, ap);
    va_end(ap);
}

int cli_url_parse(const char *text, cli_url_t *out, char err[CLI_HTTP_ERR_MAX])
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    if (strncasecmp(p, "https://", 8) == 0) {
        set_err(err, "https is not supported; use http://HOST:PORT");
        return -1;
    }
    if (strncasecmp(p, "http://", 7) == 0)
        p += 7;
    else if (strstr(p, "://")) {
        set_err(err, "only http:// URLs are supported");
        return -1;
    }
    const char *slash = strchr(p, '/');
    size_t authlen = slash ? (size_t)(slash - p) : strlen(p);
    const char *hend, *portp = NULL;
    const char *h = p;
    if (*p == '[') {
        const char *close = memchr(p, ']', authlen);
        if (!close) {
            set_err(err, "unterminated [IPv6] address");
            return -1;
        }
        h = p + 1;
        hend = close;
        if (close + 1 < p + authlen) {
            if (close[1] != ':') {
                set_err(err, "expected ':PORT' after the IPv6 address");
                return -1;
            }
            portp = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', authlen);
        hend = colon ? colon : p + authlen;
        if (colon)
            portp = colon + 1;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= sizeof out->host) {
        set_err(err, "no host");
        return -1;
    }
    memcpy(out->host, h, hl);
    if (portp) {
        size_t pl = (size_t)(p + authlen - portp);
        if (pl == 0 || pl >= sizeof out->port) {
            set_err(err, "bad port");
            return -1;
        }
        for (size_t i = 0; i < pl; i++)
            if (!isdigit((unsigned char)portp[i])) {
                set_err(err, "bad port");
                return -1;
            }
        memcpy(out->port, portp, pl);
        long n = strtol(out->port, NULL, 10);
        if (n < 1 || n > 65535) {
            set_err(err, "port must be 1-65535");
            return -1;
        }
    } else {
        strcpy(out->port, "80");
    }
    if (slash) {
        size_t pl = strlen(slash);
        while (pl > 0 && slash[pl - 1] == '/')
            pl--;
        if (pl >= sizeof out->prefix) {
            set_err(err, "path too long");
            return -1;
        }
        memcpy(out->prefix, slash, pl);
    }
    return 0;
}

int cli_url_escape(char *out, size_t cap, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
        size_t need = plain ? 1 : 3;
        if (n + need >= cap)
            return -1;
        if (plain) {
            out[n++] = (char)c;
        } else {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return 0;
}

/* Waits for `events` on fd; 0 when ready, -1 with err on timeout or error. */
static int wait_fd(int fd, short events, int timeout_s, char err[CLI_HTTP_ERR_MAX])
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int r = poll(&pfd, 1, timeout_s * 1000);
        if (r > 0)
            return 0;
        if (r == 0) {
            set_err(err, "no answer within %d s", timeout_s);
            return -1;
        }
        if (errno != EINTR) {
            set_err(err, "poll: %s", strerror(errno));
            return -1;
        }
    }
}

static int connect_to(const cli_url_t *url, int timeout_s, char err[CLI_HTTP_ERR_MAX])
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(url->host, url->port, &hints, &res);
    if (rc != 0) {
        set_err(err, "cannot resolve %s: %s", url->host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            set_err(err, "socket: %s", strerror(errno));
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, timeout_s, err) == 0) {
            int so = 0;
            socklen_t sl = sizeof so;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0)
                break;
            set_err(err, "%s", strerror(so ? so : errno));
        } else if (errno != EINPROGRESS) {
            set_err(err, "%s", strerror(errno));
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int send_all(int fd, const char *p, size_t n, int timeout_s, char err[CLI_HTTP_ERR_MAX])
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, timeout_s, err) < 0)
                return -1;
        } else {
            set_err(err, "send: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

typedef struct buf_s {
    char *p;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 8192;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *np = realloc(b->p, cap);
    if (!np)
        return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

/* The head of a reply. */
typedef struct head_s {
    int status;
    size_t body_at;       /* offset of the body */
    long long clen;       /* -1: none */
    int chunked;
} head_t;

/* 1 when the head is complete and parsed, 0 when more is needed, -1 malformed. */
static int parse_head(const buf_t *b, head_t *h)
{
    b->p[b->len] = '\0';
    char *end = strstr(b->p, "\r\n\r\n");
    if (!end)
        return b->len > 65536 ? -1 : 0;
    h->body_at = (size_t)(end - b->p) + 4;
    h->clen = -1;
    h->chunked = 0;
    if (strncmp(b->p, "HTTP/1.", 7) != 0 || b->p[8] != ' ')
        return -1;
    char *q;
    long st = strtol(b->p + 9, &q, 10);
    if (st < 100 || st > 999)
        return -1;
    h->status = (int)st;
    for (char *line = strstr(b->p, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            h->clen = strtoll(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
            h->chunked = 1;
    }
    return 1;
}

/* Decodes a chunked body from `in` (n bytes) into `out`. 1 when the last
 * chunk was seen, 0 when more is needed, -1 malformed. */
static int dechunk(const char *in, size_t n, buf_t *out)
{
    size_t i = 0;
    out->len = 0;
    for (;;) {
        const char *nl = NULL;
        for (size_t k = i; k + 1 < n; k++)
            if (in[k] == '\r' && in[k + 1] == '\n') {
                nl = in + k;
                break;
            }
        if (!nl)
            return 0;
        char *q;
        unsigned long long sz = strtoull(in + i, &q, 16);
        if (q == in + i)
            return -1;
        i = (size_t)(nl - in) + 2;
        if (sz == 0)
            return 1;
        if (sz > MAX_REPLY)
            return -1;
        if (n - i < sz + 2)
            return 0;
        if (buf_reserve(out, (size_t)sz) < 0)
            return -1;
        memcpy(out->p + out->len, in + i, (size_t)sz);
        out->len += (size_t)sz;
        out->p[out->len] = '\0';
        i += (size_t)sz + 2;
    }
}

int cli_http_request(const cli_url_t *url, const char *method, const char *path,
                     const char *body, size_t body_len, const char *const *headers,
                     int timeout_s, cli_http_resp_t *resp, char err[CLI_HTTP_ERR_MAX])
{
    memset(resp, 0, sizeof *resp);
    buf_t req = {0}, in = {0};
    int fd = -1, rc = -1;
    int n = snprintf(NULL, 0, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: sagactl\r\n"
                     "Accept: application/json\r\nConnection: close\r\n",
                     method, url->prefix, path, url->host, url->port);
    if (buf_reserve(&req, (size_t)n + 256) < 0)
        goto oom;
    req.len = (size_t)sprintf(req.p, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: sagactl\r\n"
                              "Accept: application/json\r\nConnection: close\r\n",
                              method, url->prefix, path, url->host, url->port);
    for (size_t i = 0; headers && headers[i]; i++) {
        size_t hl = strlen(headers[i]);
        if (buf_reserve(&req, hl + 2) < 0)
            goto oom;
        memcpy(req.p + req.len, headers[i], hl);
        memcpy(req.p + req.len + hl, "\r\n", 2);
        req.len += hl + 2;
    }
    if (buf_reserve(&req, 96) < 0)
        goto oom;
    if (body)
        req.len += (size_t)sprintf(req.p + req.len, "Content-Type: application/json\r\n"
                                   "Content-Length: %zu\r\n", body_len);
    else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        req.len += (size_t)sprintf(req.p + req.len, "Content-Length: 0\r\n");
    req.len += (size_t)sprintf(req.p + req.len, "\r\n");

    fd = connect_to(url, timeout_s, err);
    if (fd < 0)
        goto out;
    if (send_all(fd, req.p, req.len, timeout_s, err) < 0 ||
        (body && send_all(fd, body, body_len, timeout_s, err) < 0))
        goto out;

    head_t h = {0};
    int have_head = 0, eof = 0;
    buf_t dec = {0};
    for (;;) {
        if (!have_head) {
            have_head = in.len ? parse_head(&in, &h) : 0;
            if (have_head < 0) {
                set_err(err, "the reply is not HTTP/1.1");
                goto out;
            }
        }
        if (have_head > 0) {
            size_t got = in.len - h.body_at;
            if (h.chunked) {
                int d = dechunk(in.p + h.body_at, got, &dec);
                if (d < 0) {
                    free(dec.p);
                    set_err(err, "malformed chunked reply");
                    goto out;
                }
                if (d == 1 || eof) {
                    if (d == 0) {
                        free(dec.p);
                        set_err(err, "the connection closed in the middle of the reply");
                        goto out;
                    }
                    resp->body = dec.p ? dec.p : strdup("");
                    resp->len = dec.len;
                    break;
                }
                free(dec.p);
                dec = (buf_t){0};
            } else if ((h.clen >= 0 && got >= (size_t)h.clen) || eof) {
                if (h.clen >= 0 && got < (size_t)h.clen) {
                    set_err(err, "the connection closed in the middle of the reply");
                    goto out;
                }
                size_t bl = h.clen >= 0 ? (size_t)h.clen : got;
                resp->body = malloc(bl + 1);
                if (!resp->body)
                    goto oom;
                memcpy(resp->body, in.p + h.body_at, bl);
                resp->body[bl] = '\0';
                resp->len = bl;
                break;
            }
        } else if (eof) {
            set_err(err, in.len ? "the reply ended before its headers" : "the connection closed without a reply");
            goto out;
        }
        if (in.len > MAX_REPLY) {
            set_err(err, "the reply is larger than %u bytes", MAX_REPLY);
            goto out;
        }
        if (buf_reserve(&in, 65536) < 0)
            goto oom;
        ssize_t r = recv(fd, in.p + in.len, in.cap - in.len - 1, 0);
        if (r > 0) {
            in.len += (size_t)r;
        } else if (r == 0) {
            eof = 1;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (wait_fd(fd, POLLIN, timeout_s, err) < 0)
                goto out;
        } else {
            set_err(err, "recv: %s", strerror(errno));
            goto out;
        }
    }
    resp->status = h.status;
    rc = 0;
    goto out;
oom:
    set_err(err, "out of memory");
out:
    if (fd >= 0)
        close(fd);
    free(req.p);
    free(in.p);
    return rc;
}

void cli_http_resp_free(cli_http_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

int cli_url_path(char *out, size_t cap, const char *prefix, const char *segment,
                 const char *suffix)
{
    if (!*segment || (size_t)snprintf(out, cap, "%s", prefix) >= cap ||
        cli_url_escape(out, cap, segment) < 0 || strlen(out) + strlen(suffix) >= cap)
        return -1;
    strcat(out, suffix);
    return 0;
}
