/* sagactl's HTTP/1.1 client: one blocking request per connection
 * (Connection: close) to the daemon, with connect and read deadlines. A CLI
 * may block; the daemon never uses this. */
#ifndef SAGAD_CLI_HTTP_H
#define SAGAD_CLI_HTTP_H

#include <stddef.h>

#define CLI_HTTP_ERR_MAX 256

/* Where the daemon is: parsed from "http://HOST[:PORT][/PREFIX]" (the
 * scheme may be omitted; IPv6 as [ADDR]). */
typedef struct cli_url_s {
    char host[256];
    char port[8];
    char prefix[512];     /* path prefix without the trailing '/', often "" */
} cli_url_t;

/* Parses `text`. Returns 0, or -1 with `err` saying what is wrong. */
int cli_url_parse(const char *text, cli_url_t *out, char err[CLI_HTTP_ERR_MAX]);

typedef struct cli_http_resp_s {
    int status;           /* 200, 404, ... */
    char *body;           /* NUL-terminated (len bytes before the NUL); owned */
    size_t len;
} cli_http_resp_t;

/* Sends METHOD PATH (PATH starts with '/', query included) with an optional
 * JSON body and extra header lines ("Name: value", NULL-terminated list or
 * NULL), and reads the whole reply. `timeout_s` bounds the connect and each
 * wait for bytes. Returns 0 with *resp filled (free with cli_http_resp_free),
 * or -1 when the daemon could not be reached or answered no valid HTTP, with
 * `err` naming the cause ("Connection refused"). */
int cli_http_request(const cli_url_t *url, const char *method, const char *path,
                     const char *body, size_t body_len, const char *const *headers,
                     int timeout_s, cli_http_resp_t *resp, char err[CLI_HTTP_ERR_MAX]);

void cli_http_resp_free(cli_http_resp_t *resp);

/* Appends `s` to `out` (capacity `cap`, NUL-terminated) percent-encoded as a
 * path segment or query value. Returns 0, or -1 when it does not fit. */
int cli_url_escape(char *out, size_t cap, const char *s);

/* Writes prefix + `segment` percent-encoded + suffix into `out` (capacity
 * `cap`): "/executions/" "a b" "/stop" -> "/executions/a%20b/stop". Returns
 * 0, or -1 when `segment` is empty or the result does not fit. */
int cli_url_path(char *out, size_t cap, const char *prefix, const char *segment,
                 const char *suffix);

#endif
