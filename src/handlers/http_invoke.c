/* sagad:http.invoke: reads AWS-shaped Parameters into a request, checks the
 * URL against http_task_allow, sends it through one shared HTTP client on
 * the runtime's loop (net/httpc.h) and turns the response into the Task's
 * result or an AWS-named error. */
#include "handlers/http_invoke.h"
#include "core/grow.h"
#include "core/jsonin.h"
#include "net/httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define NAME "http.invoke"
/* The connect phase gets at most this much of the total timeout. */
#define CONNECT_TIMEOUT_MS 10000
/* How much of a failed response's body its cause quotes. */
#define CAUSE_BODY_BYTES 200
#define MAX_HEADERS 64

const double http_invoke_latency_bounds_s[HTTP_INVOKE_LATENCY_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

/* One daemon, one loop, one client and one set of counters. */
static httpc_t *client;
static uv_loop_t *client_loop;
static http_invoke_stats_t stats;

const http_invoke_stats_t *http_invoke_stats(void)
{
    return &stats;
}

void http_invoke_close(void)
{
    httpc_close(client);
    client = NULL;
    client_loop = NULL;
}

/* ---- pure helpers ------------------------------------------------------- */

static const char hexdigits[] = "0123456789ABCDEF";

static int is_unreserved(unsigned char ch)
{
    return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static int is_key_char(unsigned char ch)
{
    return ch > ' ' && ch < 0x7f && ch != '%';
}

static char *pct_encode(const char *s, int (*keep)(unsigned char))
{
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (keep(*p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hexdigits[*p >> 4];
            *o++ = hexdigits[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *http_invoke_query_escape(const char *s)
{
    return pct_encode(s, is_unreserved);
}

char *http_invoke_idempotency_key(const char *token)
{
    return pct_encode(token, is_key_char);
}

/* A parsed absolute http(s) URL's parts, normalised by curl. */
typedef struct url_parts_s {
    char *scheme, *host, *port, *path;
} url_parts_t;

static void parts_free(url_parts_t *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->port);
    curl_free(p->path);
    memset(p, 0, sizeof *p);
}

static int parts_of(const char *url, size_t len, url_parts_t *p)
{
    memset(p, 0, sizeof *p);
    char *copy = strndup(url, len);
    CURLU *u = curl_url();
    int rc = -1;
    if (copy && u && curl_url_set(u, CURLUPART_URL, copy, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PATH, &p->path, 0) == CURLUE_OK &&
        (strcasecmp(p->scheme, "http") == 0 || strcasecmp(p->scheme, "https") == 0))
        rc = 0;
    curl_url_cleanup(u);
    free(copy);
    if (rc < 0)
        parts_free(p);
    return rc;
}

/* Encoded dots, slashes and backslashes: a server that decodes them would
 * see a path curl did not normalise ("/v1/%2e%2e/admin"). */
static int has_encoded_separator(const char *path)
{
    for (const char *p = strchr(path, '%'); p; p = strchr(p + 1, '%'))
        if (strncasecmp(p, "%2e", 3) == 0 || strncasecmp(p, "%2f", 3) == 0 ||
            strncasecmp(p, "%5c", 3) == 0)
            return 1;
    return strchr(path, '\\') != NULL;
}

/* The path is the prefix's or below it: "/v1" admits "/v1" and "/v1/x", not
 * "/v10". Below a prefix with a path, the URL's path must say plainly where
 * it goes. */
static int under(const url_parts_t *pre, const url_parts_t *u)
{
    if (strcasecmp(pre->scheme, u->scheme) != 0 || strcasecmp(pre->host, u->host) != 0 ||
        strcmp(pre->port, u->port) != 0)
        return 0;
    size_t n = strlen(pre->path);
    if (strcmp(pre->path, "/") != 0 && has_encoded_separator(u->path))
        return 0;
    if (strncmp(pre->path, u->path, n) != 0)
        return 0;
    return n == 0 || pre->path[n - 1] == '/' || u->path[n] == '\0' || u->path[n] == '/';
}

int http_invoke_url_allowed(const char *allow, const char *url)
{
    url_parts_t u, pre;
    if (parts_of(url, strlen(url), &u) < 0)
        return -1;
    int ok = 0;
    for (const char *p = allow ? allow : ""; *p && !ok;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t len = n;
        while (len && p[len - 1] == ' ')
            len--;
        if (len && parts_of(p, len, &pre) == 0) {
            ok = under(&pre, &u);
            parts_free(&pre);
        }
        p += n;
    }
    parts_free(&u);
    return ok;
}

/* ---- Parameters ----------------------------------------------------------- */

typedef struct request_s {
    char *url;
    const char *method;
    httpc_header_t headers[MAX_HEADERS + 3];
    size_t n_headers;
    char *scalars[MAX_HEADERS];   /* header values printed from numbers */
    size_t n_scalars;
    char *body;
    size_t body_len;
    char *key;                     /* the Idempotency-Key value */
} request_t;

static void request_free(request_t *r)
{
    free(r->url);
    for (size_t i = 0; i < r->n_scalars; i++)
        free(r->scalars[i]);
    free(r->body);
    free(r->key);
}

static int bad(asl_error_t *err, const char *fmt, const char *field)
{
    return asl_error_set(err, ASL_E_TASK_FAILED, fmt, field);
}

/* A string, number or boolean as text (caller frees); NULL otherwise. */
static char *scalar_text(const cJSON *v)
{
    char buf[64];
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (!cJSON_IsNumber(v))
        return NULL;
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        snprintf(buf, sizeof buf, "%.0f", d);
    else
        snprintf(buf, sizeof buf, "%.17g", d);
    return strdup(buf);
}

static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static int read_method(const cJSON *in, request_t *r, asl_error_t *err)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(in, "Method");
    if (!cJSON_IsString(m))
        return bad(err, NAME ": Parameters.%s is required: GET, POST, PUT, DELETE, PATCH, "
                        "HEAD or OPTIONS", "Method");
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcasecmp(m->valuestring, methods[i]) == 0) {
            r->method = methods[i];
            return 0;
        }
    return bad(err, NAME ": Parameters.Method '%.40s' is not one of GET, POST, PUT, DELETE, "
                    "PATCH, HEAD, OPTIONS", m->valuestring);
}

/* Headers sagad sets itself, or that would let a caller split the request. */
static const char *const reserved_headers[] = {"Idempotency-Key", "Content-Length",
                                               "Transfer-Encoding", "Host", "Connection"};

static int header_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

static int read_headers(const cJSON *in, request_t *r, int *has_ctype, asl_error_t *err)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(in, "Headers");
    if (!h || cJSON_IsNull(h))
        return 0;
    if (!cJSON_IsObject(h))
        return bad(err, NAME ": Parameters.%s must be an object of header names to strings",
                   "Headers");
    const cJSON *v;
    cJSON_ArrayForEach(v, h)
    {
        if (!header_name_ok(v->string))
            return bad(err, NAME ": Parameters.Headers: '%.80s' is not a header name", v->string);
        for (size_t i = 0; i < sizeof reserved_headers / sizeof reserved_headers[0]; i++)
            if (strcasecmp(v->string, reserved_headers[i]) == 0)
                return bad(err, NAME ": Parameters.Headers may not set %s (sagad or the "
                                "HTTP client sets it)", reserved_headers[i]);
        if (r->n_scalars == MAX_HEADERS)
            return bad(err, NAME ": Parameters.Headers: more than %s headers", "64");
        char *text = scalar_text(v);
        if (!text)
            return bad(err, NAME ": Parameters.Headers.%.80s must be a string, number or boolean",
                       v->string);
        r->scalars[r->n_scalars++] = text;
        if (strpbrk(text, "\r\n"))
            return bad(err, NAME ": Parameters.Headers.%.80s holds a line break", v->string);
        if (strcasecmp(v->string, "Content-Type") == 0)
            *has_ctype = 1;
        r->headers[r->n_headers++] = (httpc_header_t){v->string, text};
    }
    return 0;
}

/* Appends "&name=value" (or "?..." first) to the URL being built. */
static int append_pair(char **url, size_t *cap, size_t *len, const char *name, const char *value)
{
    char *n = http_invoke_query_escape(name), *v = http_invoke_query_escape(value);
    int rc = -1;
    if (n && v) {
        size_t add = 1 + strlen(n) + 1 + strlen(v);
        if (grow_reserve(url, cap, *len + add + 1, 1) == 0) {
            *len += (size_t)sprintf(*url + *len, "%c%s=%s", strchr(*url, '?') ? '&' : '?', n, v);
            rc = 0;
        }
    }
    free(n);
    free(v);
    return rc;
}

static int read_url(const cJSON *in, request_t *r, asl_error_t *err)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(in, "ApiEndpoint");
    if (!cJSON_IsString(e) || !*e->valuestring)
        return bad(err, NAME ": Parameters.%s is required: an http:// or https:// URL",
                   "ApiEndpoint");
    if (strpbrk(e->valuestring, "#"))
        return bad(err, NAME ": Parameters.ApiEndpoint '%.200s' has a fragment (#)",
                   e->valuestring);
    size_t cap = 0, len = strlen(e->valuestring);
    if (grow_reserve(&r->url, &cap, len + 1, 1) < 0)
        return bad(err, NAME ": %s", "out of memory");
    memcpy(r->url, e->valuestring, len + 1);
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(in, "QueryParameters");
    if (!q || cJSON_IsNull(q))
        return 0;
    if (!cJSON_IsObject(q))
        return bad(err, NAME ": Parameters.%s must be an object", "QueryParameters");
    const cJSON *v;
    cJSON_ArrayForEach(v, q)
    {
        /* An array repeats the name: {"a": [1, 2]} is a=1&a=2. */
        const cJSON *item = cJSON_IsArray(v) ? v->child : v;
        for (; item; item = cJSON_IsArray(v) ? item->next : NULL) {
            char *text = scalar_text(item);
            if (!text)
                return bad(err, NAME ": Parameters.QueryParameters.%.80s must be a string, "
                                "number, boolean or an array of them", v->string);
            int rc = append_pair(&r->url, &cap, &len, v->string, text);
            free(text);
            if (rc < 0)
                return bad(err, NAME ": %s", "out of memory");
        }
    }
    return 0;
}

static int read_body(const cJSON *in, request_t *r, int has_ctype, asl_error_t *err)
{
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(in, "RequestBody");
    if (!b)
        return 0;
    r->body = cJSON_IsString(b) ? strdup(b->valuestring) : cJSON_PrintUnformatted(b);
    if (!r->body)
        return bad(err, NAME ": %s", "out of memory");
    r->body_len = strlen(r->body);
    if (!has_ctype)
        r->headers[r->n_headers++] = (httpc_header_t){
            "Content-Type", cJSON_IsString(b) ? "text/plain; charset=utf-8" : "application/json"};
    return 0;
}

static const char *const known_fields[] = {"ApiEndpoint", "Method", "Headers", "QueryParameters",
                                           "RequestBody"};

static int read_params(const handler_call_t *call, const cJSON *in, request_t *r,
                       asl_error_t *err)
{
    if (!cJSON_IsObject(in))
        return bad(err, NAME ": %s must be an object with ApiEndpoint and Method", "Parameters");
    const cJSON *f;
    cJSON_ArrayForEach(f, in)
    {
        size_t i = 0, n = sizeof known_fields / sizeof known_fields[0];
        while (i < n && strcmp(f->string, known_fields[i]) != 0)
            i++;
        if (i == n)
            return bad(err, NAME ": Parameters.%.80s is not supported (ApiEndpoint, Method, "
                            "Headers, QueryParameters, RequestBody)", f->string);
    }
    int has_ctype = 0;
    if (read_method(in, r, err) < 0 || read_url(in, r, err) < 0 ||
        read_headers(in, r, &has_ctype, err) < 0 || read_body(in, r, has_ctype, err) < 0)
        return -1;
    if (!call->token || !*call->token)
        return bad(err, NAME ": %s", "the call has no idempotency token");
    if (!(r->key = http_invoke_idempotency_key(call->token)))
        return bad(err, NAME ": %s", "out of memory");
    r->headers[r->n_headers++] = (httpc_header_t){"Idempotency-Key", r->key};
    return 0;
}

/* ---- the response ------------------------------------------------------------ */

/* `n` bytes as valid UTF-8 (caller frees): stray bytes and NULs become
 * U+FFFD, so that what is stored reads back the same. */
static char *utf8_clean(const char *p, size_t n)
{
    char *s = malloc(3 * n + 1), *o = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = p[i] ? jsonin_utf8_length(p + i, n - i) : 0;
        if (k) {
            memcpy(o, p + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return s;
}

static cJSON *utf8_string(const char *p, size_t n)
{
    char *s = utf8_clean(p, n);
    cJSON *str = s ? cJSON_CreateString(s) : NULL;
    free(s);
    return str;
}

/* A cause quoting the caller's text with %.Ns may end inside a character. */
static void clean_cause(asl_error_t *err)
{
    char *c = err->cause ? utf8_clean(err->cause, strlen(err->cause)) : NULL;
    if (c) {
        free(err->cause);
        err->cause = c;
    }
}

static const char *header_value(const httpc_response_t *res, const char *name)
{
    for (size_t i = 0; i < res->n_headers; i++)
        if (strcmp(res->headers[i].name, name) == 0)
            return res->headers[i].value;
    return NULL;
}

/* application/json, or any type with a +json suffix (application/problem+json). */
static int is_json_type(const char *ctype)
{
    if (!ctype)
        return 0;
    size_t n = strcspn(ctype, ";");
    while (n && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

static cJSON *response_body(const httpc_response_t *res)
{
    cJSON *parsed = NULL;
    jsonin_error_t jerr;
    if (is_json_type(header_value(res, "content-type")) &&
        jsonin_parse(res->body, res->body_len, &parsed, &jerr) == JSONIN_OK)
        return parsed;
    return utf8_string(res->body, res->body_len);
}

/* {"StatusCode", "StatusText", "Headers": {name: [values]}, "ResponseBody"}. */
static cJSON *result_of(const httpc_response_t *res)
{
    cJSON *o = cJSON_CreateObject(), *h = cJSON_CreateObject(), *body = response_body(res);
    cJSON *text = utf8_string(res->status_text, strlen(res->status_text));
    int ok = o && h && body && text;
    for (size_t i = 0; ok && i < res->n_headers; i++) {
        cJSON *list = cJSON_GetObjectItemCaseSensitive(h, res->headers[i].name);
        if (!list && !(list = cJSON_AddArrayToObject(h, res->headers[i].name)))
            ok = 0;
        cJSON *v = ok ? utf8_string(res->headers[i].value, strlen(res->headers[i].value)) : NULL;
        ok = v && cJSON_AddItemToArray(list, v);
    }
    if (!ok) {
        cJSON_Delete(o);
        cJSON_Delete(h);
        cJSON_Delete(body);
        cJSON_Delete(text);
        return NULL;
    }
    cJSON_AddItemToObjectCS(o, "StatusCode", cJSON_CreateNumber(res->status));
    cJSON_AddItemToObjectCS(o, "StatusText", text);
    cJSON_AddItemToObjectCS(o, "Headers", h);
    cJSON_AddItemToObjectCS(o, "ResponseBody", body);
    return o;
}

/* The cause of a non-2xx failure: the status and the start of the body. */
static void status_error(const httpc_response_t *res, const char *method, const char *url,
                         asl_error_t *err)
{
    char code[64];
    snprintf(code, sizeof code, HTTP_INVOKE_E_STATUS "%d", res->status);
    size_t n = res->body_len < CAUSE_BODY_BYTES ? res->body_len : CAUSE_BODY_BYTES;
    cJSON *start = utf8_string(res->body, n);
    asl_error_set(err, code, "%s %.300s answered %d %.80s%s%s%s", method, url, res->status,
                  res->status_text, n ? ": " : "", start ? start->valuestring : "",
                  n < res->body_len ? "..." : "");
    cJSON_Delete(start);
}

static void count_latency(int64_t ms)
{
    double s = (double)ms / 1000.0;
    size_t i = 0;
    while (i < HTTP_INVOKE_LATENCY_BUCKETS && s > http_invoke_latency_bounds_s[i])
        i++;
    stats.latency_buckets[i]++;
    stats.latency_sum_s += s;
    stats.latency_count++;
}

/* ---- the asynchronous call ------------------------------------------------- */

typedef struct pending_s {
    handler_call_t *call;
    httpc_req_t *req;
    const char *method;
    char *url;
} pending_t;

static void pending_free(pending_t *p)
{
    stats.in_flight--;
    free(p->url);
    free(p);
}

static void on_response(const httpc_response_t *res, void *data)
{
    pending_t *p = data;
    handler_call_t *call = p->call;
    asl_error_t err = {0};
    cJSON *result = NULL;
    count_latency(res->elapsed_ms);
    switch (res->outcome) {
    case HTTPC_OK:
        stats.by_status[res->status >= 100 && res->status < 600 ? res->status : 0]++;
        if (res->status < 200 || res->status > 299)
            status_error(res, p->method, p->url, &err);
        else if (!(result = result_of(res)))
            asl_error_set(&err, ASL_E_TASK_FAILED, NAME ": out of memory reading the response");
        break;
    case HTTPC_SOCKET:
        stats.socket_errors++;
        asl_error_set(&err, HTTP_INVOKE_E_SOCKET, "%s %.300s: %s", p->method, p->url, res->error);
        break;
    case HTTPC_TIMEOUT:
        stats.timeouts++;
        asl_error_set(&err, ASL_E_TIMEOUT, "%s %.300s: no complete answer within %d ms "
                      "(http_task_timeout_ms): %s", p->method, p->url,
                      call->cfg ? call->cfg->http_task_timeout_ms : 0, res->error);
        break;
    case HTTPC_TOO_LARGE:
    case HTTPC_FAILED:
        stats.invalid++;
        asl_error_set(&err, ASL_E_TASK_FAILED, "%s %.300s: %s%s", p->method, p->url, res->error,
                      res->outcome == HTTPC_TOO_LARGE ? " (1 MiB)" : "");
        break;
    }
    clean_cause(&err);
    /* Detached before completing: the runtime may free the call inside. */
    call->handler_data = NULL;
    pending_free(p);
    call->complete(call, result, err.error ? &err : NULL);
    asl_error_clear(&err);
}

static int http_start(handler_call_t *call, const cJSON *input, asl_error_t *err)
{
    request_t r = {0};
    int rc = read_params(call, input, &r, err);
    if (rc == 0 && (!call->loop || !call->complete))
        rc = bad(err, NAME ": %s", "no event loop to wait on");
    int allowed = rc == 0 ? http_invoke_url_allowed(call->cfg ? call->cfg->http_task_allow : "",
                                                    r.url)
                          : 0;
    if (rc == 0 && allowed < 0)
        rc = bad(err, NAME ": Parameters.ApiEndpoint with its query is no http:// or https:// "
                      "URL: '%.300s'", r.url);
    if (rc == 0 && !allowed) {
        stats.forbidden++;
        rc = asl_error_set(err, HTTP_INVOKE_E_FORBIDDEN,
                           "%.300s is not under any URL prefix of the config key "
                           "http_task_allow", r.url);
    }
    if (rc == 0 && client && client_loop != call->loop)
        rc = bad(err, NAME ": %s", "called from a second event loop");
    if (rc == 0 && !client && httpc_open(call->loop, &client) == 0)
        client_loop = call->loop;
    pending_t *p = rc == 0 ? calloc(1, sizeof *p) : NULL;
    if (rc == 0 && (!client || !p))
        rc = bad(err, NAME ": %s", "cannot start the HTTP client (out of memory)");
    if (rc < 0) {
        if (err->error && strcmp(err->error, ASL_E_TASK_FAILED) == 0)
            stats.invalid++;
        free(p);
        request_free(&r);
        clean_cause(err);
        return -1;
    }
    int64_t total = call->cfg ? call->cfg->http_task_timeout_ms : 60000;
    httpc_request_t q = {
        .method = r.method, .url = r.url, .headers = r.headers, .n_headers = r.n_headers,
        .body = r.body, .body_len = r.body_len, .timeout_ms = total,
        .connect_timeout_ms = total < CONNECT_TIMEOUT_MS ? total : CONNECT_TIMEOUT_MS,
        .max_response_bytes = HTTP_INVOKE_MAX_BODY};
    p->call = call;
    p->method = r.method;
    p->url = r.url;
    r.url = NULL;
    stats.in_flight++;
    if (httpc_submit(client, &q, on_response, p, &p->req) < 0) {
        stats.invalid++;
        pending_free(p);
        request_free(&r);
        return bad(err, NAME ": %s", "cannot start the request (out of memory)");
    }
    request_free(&r);
    call->handler_data = p;
    return 0;
}

static void http_cancel(handler_call_t *call)
{
    pending_t *p = call->handler_data;
    if (!p)
        return;
    call->handler_data = NULL;
    stats.cancelled++;
    httpc_cancel(p->req);
    pending_free(p);
}

const handler_def_t http_invoke_handler = {.name = "http.invoke",
                                           .start = http_start,
                                           .cancel = http_cancel};
