/* bench/loadgen: a small closed-loop HTTP/1.1 load generator for `make bench`.
 * N keep-alive connections on one epoll loop each send the same request, wait
 * for the whole response, record its latency and send again, for a fixed time.
 * `-p 8001,8002,8003` spreads the connections round robin over several
 * servers (the nodes of a cluster, bench/cluster.py). Prints one line of key=value pairs (counts, rate, latency percentiles). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536
#define MAX_PORTS 16

typedef struct conn_s {
    int fd;
    int connected;
    size_t sent;            /* bytes of the request written */
    size_t rlen;            /* bytes of the response read */
    uint64_t t0;            /* when the request started */
    int busy;               /* a request is outstanding */
    int server;             /* index into addrs */
    char rbuf[RBUF];
} conn_t;

typedef struct {
    uint32_t *v;
    size_t n, cap;
} lat_t;

static const char *host = "127.0.0.1";
static int port;            /* the first of -p, for the Host header */
static int nconn = 1;
static double duration = 5.0;
static const char *path = "/order";
static const char *method = "POST";
static char *body;
static size_t body_len;
static char *req;
static size_t req_len;
static int ep;
static struct sockaddr_in addrs[MAX_PORTS];
static int nports;
static uint64_t n_2xx, n_other, n_err, n_reconnect;
static lat_t lat;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen -p PORT[,PORT...] [-h HOST] [-c CONNS] [-d SECONDS] [-m METHOD] "
                    "[-u PATH] [-b BODYFILE]\n");
    exit(2);
}

static void lat_add(uint32_t us)
{
    if (lat.n == lat.cap) {
        lat.cap = lat.cap ? lat.cap * 2 : 1 << 16;
        lat.v = realloc(lat.v, lat.cap * sizeof *lat.v);
        if (!lat.v) {
            perror("realloc");
            exit(1);
        }
    }
    lat.v[lat.n++] = us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!lat.n)
        return 0;
    size_t i = (size_t)(p * (double)(lat.n - 1) + 0.5);
    return lat.v[i] / 1000.0;
}

static void conn_open(conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        perror("socket");
        exit(1);
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->connected = 0;
    c->sent = c->rlen = 0;
    c->busy = 0;
    if (connect(c->fd, (struct sockaddr *)&addrs[c->server], sizeof addrs[0]) < 0 && errno != EINPROGRESS) {
        perror("connect");
        exit(1);
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void conn_reset(conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->busy)
        n_err++;
    n_reconnect++;
    conn_open(c);
}

static void want(conn_t *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void start_request(conn_t *c)
{
    c->busy = 1;
    c->sent = 0;
    c->rlen = 0;
    c->t0 = now_ns();
}

static int flush(conn_t *c)
{
    while (c->sent < req_len) {
        ssize_t w = send(c->fd, req + c->sent, req_len - c->sent, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN)
                return 0;
            return -1;
        }
        c->sent += (size_t)w;
    }
    return 1;
}

/* 1 when a whole response is in rbuf, 0 when more is needed, -1 on garbage. */
static int response_done(conn_t *c, int *status, int *close_after)
{
    c->rbuf[c->rlen < RBUF ? c->rlen : RBUF - 1] = '\0';
    char *end = strstr(c->rbuf, "\r\n\r\n");
    if (!end)
        return c->rlen >= RBUF - 1 ? -1 : 0;
    if (strncmp(c->rbuf, "HTTP/1.", 7) != 0)
        return -1;
    *status = atoi(c->rbuf + 9);
    size_t hdr = (size_t)(end - c->rbuf) + 4;
    size_t clen = 0;
    *close_after = 0;
    for (char *l = strstr(c->rbuf, "\r\n") + 2; l < end; l = strstr(l, "\r\n") + 2) {
        if (strncasecmp(l, "Content-Length:", 15) == 0)
            clen = (size_t)strtoul(l + 15, NULL, 10);
        else if (strncasecmp(l, "Connection: close", 17) == 0)
            *close_after = 1;
    }
    if (hdr + clen > RBUF - 1)
        return -1;
    return c->rlen >= hdr + clen;
}

int main(int argc, char **argv)
{
    int opt;
    const char *body_file = NULL;
    while ((opt = getopt(argc, argv, "h:p:c:d:m:u:b:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p':
            for (char *t = strtok(optarg, ","); t; t = strtok(NULL, ",")) {
                if (nports == MAX_PORTS || atoi(t) <= 0)
                    usage();
                addrs[nports++].sin_port = htons((uint16_t)atoi(t));
            }
            port = nports ? ntohs(addrs[0].sin_port) : 0;
            break;
        case 'c': nconn = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'm': method = optarg; break;
        case 'u': path = optarg; break;
        case 'b': body_file = optarg; break;
        default: usage();
        }
    }
    if (port <= 0 || nconn <= 0 || duration <= 0)
        usage();
    if (body_file) {
        FILE *f = fopen(body_file, "rb");
        if (!f) {
            perror(body_file);
            return 1;
        }
        body = malloc(RBUF);
        body_len = fread(body, 1, RBUF, f);
        fclose(f);
        while (body_len && (body[body_len - 1] == '\n' || body[body_len - 1] == '\r'))
            body_len--;
    }
    req = malloc(RBUF + 512);
    req_len = (size_t)snprintf(req, 512,
                               "%s %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                               "Content-Length: %zu\r\n\r\n",
                               method, path, host, port, body_len);
    if (body_len) {
        memcpy(req + req_len, body, body_len);
        req_len += body_len;
    }
    for (int i = 0; i < nports; i++) {
        addrs[i].sin_family = AF_INET;
        if (inet_pton(AF_INET, host, &addrs[i].sin_addr) != 1) {
            fprintf(stderr, "loadgen: %s is not an IPv4 address\n", host);
            return 2;
        }
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    conn_t *conns = calloc((size_t)nconn, sizeof *conns);
    if (!conns) {
        perror("calloc");
        return 1;
    }
    for (int i = 0; i < nconn; i++) {
        conns[i].server = i % nports;
        conn_open(&conns[i]);
    }

    uint64_t t_start = now_ns();
    uint64_t t_stop = t_start + (uint64_t)(duration * 1e9);
    uint64_t t_give_up = t_stop + 10ull * 1000000000u; /* outstanding answers after the stop */
    int stopping = 0;
    uint64_t outstanding = 0;
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (!stopping && t >= t_stop)
            stopping = 1;
        if (stopping && (outstanding == 0 || t >= t_give_up))
            break;
        int n = epoll_wait(ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
                if (c->busy)
                    outstanding--;
                conn_reset(c);
                continue;
            }
            if (!c->connected && (evs[i].events & EPOLLOUT)) {
                c->connected = 1;
                if (!stopping) {
                    start_request(c);
                    outstanding++;
                }
            }
            if (c->busy && c->sent < req_len) {
                int f = flush(c);
                if (f < 0) {
                    outstanding--;
                    conn_reset(c);
                    continue;
                }
                want(c, f ? EPOLLIN : EPOLLIN | EPOLLOUT);
            } else if (!c->busy) {
                want(c, EPOLLIN);
            }
            if (!(evs[i].events & EPOLLIN))
                continue;
            ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                if (c->busy)
                    outstanding--;
                conn_reset(c);
                continue;
            }
            c->rlen += (size_t)r;
            int status = 0, close_after = 0;
            int d = response_done(c, &status, &close_after);
            if (d < 0) {
                outstanding--;
                conn_reset(c);
                continue;
            }
            if (d == 0)
                continue;
            uint64_t us = (now_ns() - c->t0) / 1000;
            lat_add(us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
            if (status >= 200 && status < 300)
                n_2xx++;
            else
                n_other++;
            c->busy = 0;
            outstanding--;
            if (close_after) {
                conn_reset(c);
                continue;
            }
            if (!stopping) {
                start_request(c);
                outstanding++;
                int f = flush(c);
                if (f < 0) {
                    outstanding--;
                    conn_reset(c);
                    continue;
                }
                want(c, f ? EPOLLIN : EPOLLIN | EPOLLOUT);
            }
        }
    }
    double secs = (double)(now_ns() - t_start) / 1e9;
    qsort(lat.v, lat.n, sizeof *lat.v, cmp_u32);
    printf("conns=%d secs=%.3f ok=%llu non2xx=%llu errors=%llu reconnects=%llu rps=%.1f "
           "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
           nconn, secs, (unsigned long long)n_2xx, (unsigned long long)n_other,
           (unsigned long long)n_err, (unsigned long long)(n_reconnect),
           (double)n_2xx / secs, pct(0.50), pct(0.90), pct(0.99), pct(0.999),
           lat.n ? lat.v[lat.n - 1] / 1000.0 : 0.0);
    for (int i = 0; i < nconn; i++)
        close(conns[i].fd);
    free(conns);
    free(lat.v);
    free(req);
    free(body);
    close(ep);
    return n_2xx ? 0 : 1;
}
