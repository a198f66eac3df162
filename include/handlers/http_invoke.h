/* sagad:http.invoke: an outbound HTTP request as an asynchronous Task, in the
 * shape of AWS Step Functions' HTTP Task (docs/http-task.md).
 *
 *   Parameters {"ApiEndpoint": "http(s)://...", "Method": "GET"|"POST"|"PUT"|
 *               "DELETE"|"PATCH"|"HEAD"|"OPTIONS", "Headers"?: {name: scalar},
 *               "QueryParameters"?: {name: scalar or [scalars]},
 *               "RequestBody"?: a string (sent as is) or other JSON (sent as
 *               JSON, Content-Type application/json unless Headers say)}
 *   result     {"StatusCode": int, "StatusText": str,
 *               "Headers": {lowercased name: [values...]},
 *               "ResponseBody": parsed JSON when the response says JSON and
 *               parses, else the body as a string}
 *   errors     non-2xx                     States.Http.StatusCode.<code>
 *              refused, DNS, reset, TLS    States.Http.Socket
 *              URL under no prefix of the config key http_task_allow
 *                                          States.Http.Forbidden
 *              http_task_timeout_ms passed States.Timeout
 *              bad Parameters, a body over 1 MiB  States.TaskFailed
 * Every attempt sends "Idempotency-Key: <call->token>" (bytes outside
 * printable ASCII, space and '%' percent-encoded). */
#ifndef SAGAD_HANDLERS_HTTP_INVOKE_H
#define SAGAD_HANDLERS_HTTP_INVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/handler.h"

#define HTTP_INVOKE_E_FORBIDDEN "States.Http.Forbidden"
#define HTTP_INVOKE_E_SOCKET "States.Http.Socket"
#define HTTP_INVOKE_E_STATUS "States.Http.StatusCode." /* followed by the code */

/* Response bodies above this fail the task. */
#define HTTP_INVOKE_MAX_BODY ((size_t)1 << 20)

/* Upper bounds (seconds) of the latency histogram's finite buckets. */
#define HTTP_INVOKE_LATENCY_BUCKETS 12
extern const double http_invoke_latency_bounds_s[HTTP_INVOKE_LATENCY_BUCKETS];

/* Counters since the daemon started. */
typedef struct http_invoke_stats_s {
    uint64_t by_status[600];      /* responses by status code; [0]: outside 100-599 */
    uint64_t socket_errors;       /* States.Http.Socket */
    uint64_t timeouts;            /* States.Timeout from http_task_timeout_ms */
    uint64_t forbidden;           /* States.Http.Forbidden */
    uint64_t invalid;             /* refused Parameters, bodies too large, no memory */
    uint64_t cancelled;           /* given up by the runtime (TimeoutSeconds, stop) */
    uint64_t in_flight;
    /* Latency of the requests that ended (responses, socket errors, timeouts):
     * per bucket (not cumulative), the last one above every bound. */
    uint64_t latency_buckets[HTTP_INVOKE_LATENCY_BUCKETS + 1];
    double latency_sum_s;
    uint64_t latency_count;
} http_invoke_stats_t;

/* The handler (register it with handler_register or handlers_register_list). */
extern const handler_def_t http_invoke_handler;

/* The counters (borrowed; updated as requests end). */
const http_invoke_stats_t *http_invoke_stats(void);

/* Closes the HTTP client the handler opened on its first call (nothing when
 * it never ran). For shutdown, after the runtime has cancelled its calls;
 * its handles close on the next turn of the loop. */
void http_invoke_close(void);

/* Whether `url` is under one of the comma-separated prefixes of `allow`
 * (config key http_task_allow): same scheme, host and port, and a path equal
 * to the prefix's or below it. Both are compared after normalisation (case
 * of scheme and host, default ports, dot segments). Returns 1 (allowed),
 * 0 (not), or -1 when `url` is no absolute http(s) URL. */
int http_invoke_url_allowed(const char *allow, const char *url);

/* `s` percent-encoded for a query string (unreserved characters kept).
 * Returns a string the caller frees, or NULL when out of memory. */
char *http_invoke_query_escape(const char *s);

/* The Idempotency-Key header value for `token`: bytes outside '!'..'~' and
 * '%' percent-encoded. Returns a string the caller frees, or NULL. */
char *http_invoke_idempotency_key(const char *token);

#endif
